//! What a port is configured with and what it reports: plain data, no FFI
//! calls.

use dpdk_sys as sys;

/// How to configure a port. `Default` is one rx and one tx queue of 1024
/// descriptors, no RSS, the device's MTU, no offloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Receive queues (each polled by one worker).
    pub rx_queues: u16,
    /// Transmit queues (one per worker that sends on this port).
    pub tx_queues: u16,
    /// Descriptors per receive queue (rounded to the device's limits).
    pub rx_descriptors: u16,
    /// Descriptors per transmit queue (rounded likewise).
    pub tx_descriptors: u16,
    /// MTU to set, `None` to keep the device's.
    pub mtu: Option<u16>,
    /// Receive-side scaling across the rx queues, `None` for none.
    pub rss: Option<RssConfig>,
    /// Receive offloads (`RTE_ETH_RX_OFFLOAD_*`), checked against the device.
    pub rx_offloads: u64,
    /// Transmit offloads (`RTE_ETH_TX_OFFLOAD_*`), checked likewise.
    pub tx_offloads: u64,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            mtu: None,
            rss: None,
            rx_offloads: 0,
            tx_offloads: 0,
        }
    }
}

/// Receive-side scaling settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RssConfig {
    /// Hash functions (`RTE_ETH_RSS_*`, e.g. [`RSS_IP`] | [`RSS_UDP`]);
    /// must be within the device's `flow_type_rss_offloads`.
    pub hash_functions: u64,
    /// The Toeplitz key, `None` for the device's default; its length must be
    /// the device's `hash_key_size`.
    pub key: Option<Vec<u8>>,
}

/// RSS over IPv4/IPv6 addresses.
pub const RSS_IP: u64 = sys::RTE_ETH_RSS_IP as u64;
/// RSS over UDP ports as well.
pub const RSS_UDP: u64 = sys::RTE_ETH_RSS_UDP as u64;
/// RSS over TCP ports as well.
pub const RSS_TCP: u64 = sys::RTE_ETH_RSS_TCP as u64;
/// The rx offload that delivers the RSS hash in each mbuf.
pub const RX_OFFLOAD_RSS_HASH: u64 = sys::RTE_ETH_RX_OFFLOAD_RSS_HASH as u64;

/// What a device says it can do (a digest of `rte_eth_dev_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfo {
    /// The driver's name, e.g. `net_vhost`.
    pub driver: String,
    /// Most receive queues.
    pub max_rx_queues: u16,
    /// Most transmit queues.
    pub max_tx_queues: u16,
    /// Receive offload capabilities.
    pub rx_offload_capa: u64,
    /// Transmit offload capabilities.
    pub tx_offload_capa: u64,
    /// RSS hash functions supported.
    pub rss_hash_functions: u64,
    /// RSS key size in bytes (0: not reported).
    pub rss_key_size: u8,
    /// Smallest MTU.
    pub min_mtu: u16,
    /// Largest MTU.
    pub max_mtu: u16,
    /// Receive descriptor limits (min, max).
    pub rx_descriptors: (u16, u16),
    /// Transmit descriptor limits (min, max).
    pub tx_descriptors: (u16, u16),
    /// Whether the device raises link-state-change events.
    pub link_events: bool,
}

/// Link state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Whether the link is up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown or down).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Basic counters of a port (`rte_eth_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received.
    pub rx_packets: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Frames the device dropped for lack of rx descriptors.
    pub rx_missed: u64,
    /// Erroneous frames received.
    pub rx_errors: u64,
    /// Failed transmissions.
    pub tx_errors: u64,
    /// Receive allocation failures (pool empty).
    pub rx_nombuf: u64,
}
