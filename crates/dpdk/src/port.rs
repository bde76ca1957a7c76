//! Ethernet ports (`rte_ethdev`): finding, probing and removing them,
//! configuring queues, RSS, MTU and offloads against the device's reported
//! capabilities, starting and stopping, link state, MAC address, statistics.
//!
//! Threads: a [`Port`] belongs to the control thread. The data path uses
//! [`RxQueue`](crate::RxQueue) and [`TxQueue`](crate::TxQueue) handles taken
//! from it, one owner thread each. The port stays open while any handle
//! lives; [`Port::stop`] and [`Port::close`] refuse while handles are out.

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dpdk_sys as sys;

use crate::eal::Eal;
use crate::error::{c_name, Errno, Error, Result};
use crate::mempool::Mempool;
use crate::queue::{RxQueue, TxQueue};

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

/// A ring of the ring PMD, freed after the ports using it are closed.
#[derive(Debug)]
pub(crate) struct Ring(core::ptr::NonNull<sys::rte_ring>);

// SAFETY: an rte_ring lives in shared memory; the ring PMD uses it in
// multi-producer/multi-consumer mode (flags 0), and we only free it.
unsafe impl Send for Ring {}
// SAFETY: as for Send; no method reads through &Ring.
unsafe impl Sync for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the ring came from rte_ring_create; it is dropped with the
        // last port using it, after that port was closed.
        unsafe { sys::rte_ring_free(self.0.as_ptr()) };
    }
}

/// What ports and their queue handles share. Its drop stops and closes the
/// port (and removes a device this crate probed).
#[derive(Debug)]
pub(crate) struct PortShared {
    /// The ethdev port id.
    pub(crate) id: u16,
    /// The ethdev name.
    pub(crate) name: String,
    /// Whether the port is started.
    started: AtomicBool,
    /// Whether the port is closed already.
    closed: AtomicBool,
    /// Whether `Port::probe` created the device (then closing removes it).
    probed: bool,
    /// Handed-out rx queues.
    pub(crate) rx_taken: Mutex<Vec<bool>>,
    /// Handed-out tx queues.
    pub(crate) tx_taken: Mutex<Vec<bool>>,
    /// Pools the rx queues fill from: kept until the port is closed.
    pools: Mutex<Vec<Mempool>>,
    /// Rings under a ring PMD port: kept until the port is closed.
    _rings: Vec<Arc<Ring>>,
    /// Keeps EAL alive while the port exists.
    _eal: Eal,
}

impl PortShared {
    /// Turns a negative return code into an error for `op`.
    pub(crate) fn check(&self, ret: i32, op: &'static str) -> Result<i32> {
        if ret < 0 {
            return Err(Error::Port {
                port: self.id,
                name: self.name.clone(),
                op,
                errno: Errno::from_ret(ret),
            });
        }
        Ok(ret)
    }

    /// Stops, closes and (if probed here) removes the device; idempotent.
    fn shut(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let device = dev_info(self.id).map(|i| i.device).ok();
        if self.started.swap(false, Ordering::SeqCst) {
            // SAFETY: valid port id (ours since open); no queue handle exists
            // (they hold this struct alive), so no thread is polling.
            let ret = unsafe { sys::rte_eth_dev_stop(self.id) };
            self.check(ret, "rte_eth_dev_stop")?;
        }
        // SAFETY: valid, stopped port with no queue users; it is not used
        // through this id after this call (closed is set).
        let ret = unsafe { sys::rte_eth_dev_close(self.id) };
        self.check(ret, "rte_eth_dev_close")?;
        if let (true, Some(dev)) = (self.probed, device) {
            // SAFETY: `dev` is the rte_device of the vdev we probed, obtained
            // before close; rte_dev_remove unplugs it exactly once.
            let ret = unsafe { sys::rte_dev_remove(dev) };
            self.check(ret, "rte_dev_remove")?;
        }
        log::info!("port {} ({}) closed", self.id, self.name);
        Ok(())
    }
}

impl Drop for PortShared {
    fn drop(&mut self) {
        if let Err(e) = self.shut() {
            log::warn!("{e}");
        }
    }
}

/// An ethdev port, owned by the control thread.
#[derive(Debug)]
pub struct Port {
    /// State shared with the queue handles.
    shared: Arc<PortShared>,
}

impl Port {
    /// Wraps an existing port id.
    fn open(eal: &Eal, id: u16, probed: bool, rings: Vec<Arc<Ring>>) -> Result<Port> {
        // SAFETY: checks any id; EAL is initialised.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(Error::NoSuchPort { port: id });
        }
        let name = port_name(id).ok_or(Error::NoSuchPort { port: id })?;
        Ok(Port {
            shared: Arc::new(PortShared {
                id,
                name,
                started: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                probed,
                rx_taken: Mutex::new(Vec::new()),
                tx_taken: Mutex::new(Vec::new()),
                pools: Mutex::new(Vec::new()),
                _rings: rings,
                _eal: eal.clone(),
            }),
        })
    }

    /// The port with id `id` (e.g. one created by `--vdev` on the EAL
    /// command line). Close it once: two `Port`s on one id would both close.
    pub fn by_id(eal: &Eal, id: u16) -> Result<Port> {
        Port::open(eal, id, false, Vec::new())
    }

    /// The port named `name` (a vdev name such as `net_vhost0`, or a PCI
    /// address).
    pub fn by_name(eal: &Eal, name: &str) -> Result<Port> {
        let c = CString::new(name).map_err(|_| Error::Nul {
            what: "port name",
            value: name.to_owned(),
        })?;
        let mut id = 0u16;
        // SAFETY: c is a valid C string; id is a valid out-pointer.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
        if ret < 0 {
            return Err(Error::PortNotFound {
                name: name.to_owned(),
            });
        }
        Port::open(eal, id, false, Vec::new())
    }

    /// The ids and names of every port.
    pub fn list(_eal: &Eal) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        let mut id = 0u16;
        loop {
            // SAFETY: iterates valid port ids from `id`; returns
            // RTE_MAX_ETHPORTS at the end.
            let next = unsafe { sys::rte_eth_find_next(id) };
            if u32::from(next) >= sys::RTE_MAX_ETHPORTS {
                return out;
            }
            if let Some(name) = port_name(next) {
                out.push((next, name));
            }
            id = next + 1;
        }
    }

    /// Creates a virtual device from `devargs` (`rte_dev_probe`, e.g.
    /// `net_vhost0,iface=/run/vm1.sock,queues=2`) and returns its port.
    /// Closing the port removes the device.
    pub fn probe(eal: &Eal, devargs: &str) -> Result<Port> {
        let c = CString::new(devargs).map_err(|_| Error::Nul {
            what: "devargs",
            value: devargs.to_owned(),
        })?;
        // SAFETY: c is a valid C string; EAL is initialised.
        let ret = unsafe { sys::rte_dev_probe(c.as_ptr()) };
        if ret < 0 {
            return Err(Error::Probe {
                devargs: devargs.to_owned(),
                errno: Errno::from_ret(ret),
            });
        }
        let name = devargs.split(',').next().unwrap_or(devargs);
        match Port::by_name(eal, name) {
            Ok(mut p) => {
                if let Some(s) = Arc::get_mut(&mut p.shared) {
                    s.probed = true;
                }
                log::info!("probed {devargs:?} as port {}", p.id());
                Ok(p)
            }
            Err(e) => Err(e),
        }
    }

    /// Two ports joined back to back by a pair of rings (the ring PMD): what
    /// one sends the other receives. A virtual cable for tests. The names
    /// must start with `net_ring` (the vdev bus picks the driver by prefix)
    /// and be unique; `queues` rx and tx queues each.
    pub fn ring_pair(eal: &Eal, name_a: &str, name_b: &str, queues: u16) -> Result<(Port, Port)> {
        let mut a_to_b = Vec::new();
        let mut b_to_a = Vec::new();
        for q in 0..queues {
            a_to_b.push(Arc::new(ring(&format!("{name_a}>{q}"), 1024)?));
            b_to_a.push(Arc::new(ring(&format!("{name_b}>{q}"), 1024)?));
        }
        let a = ring_port(eal, name_a, &b_to_a, &a_to_b)?;
        let b = ring_port(eal, name_b, &a_to_b, &b_to_a)?;
        Ok((a, b))
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.shared.id
    }

    /// The port name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The device's capabilities.
    pub fn info(&self) -> Result<PortInfo> {
        let i = dev_info(self.id()).map_err(|e| self.err(e, "rte_eth_dev_info_get"))?;
        // SAFETY: driver_name points to the driver's static name string.
        let driver = unsafe { CStr::from_ptr(i.driver_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: dev_flags points to the port's live flags word.
        let flags = unsafe { i.dev_flags.as_ref() }.copied().unwrap_or(0);
        Ok(PortInfo {
            driver,
            max_rx_queues: i.max_rx_queues,
            max_tx_queues: i.max_tx_queues,
            rx_offload_capa: i.rx_offload_capa,
            tx_offload_capa: i.tx_offload_capa,
            rss_hash_functions: i.flow_type_rss_offloads,
            rss_key_size: i.hash_key_size,
            min_mtu: i.min_mtu,
            max_mtu: i.max_mtu,
            rx_descriptors: (i.rx_desc_lim.nb_min, i.rx_desc_lim.nb_max),
            tx_descriptors: (i.tx_desc_lim.nb_min, i.tx_desc_lim.nb_max),
            link_events: flags & sys::RTE_ETH_DEV_INTR_LSC != 0,
        })
    }

    /// Configures queues, RSS, MTU and offloads, and sets up every queue,
    /// rx queues filling from `pool`. The port must be stopped. Settings
    /// beyond the device's capabilities are refused before reaching it.
    pub fn configure(&mut self, cfg: &PortConfig, pool: &Mempool) -> Result<()> {
        let info = self.info()?;
        self.check_capability(
            "rx queues",
            u64::from(cfg.rx_queues),
            u64::from(info.max_rx_queues),
            false,
        )?;
        self.check_capability(
            "tx queues",
            u64::from(cfg.tx_queues),
            u64::from(info.max_tx_queues),
            false,
        )?;
        self.check_capability("rx offloads", cfg.rx_offloads, info.rx_offload_capa, true)?;
        self.check_capability("tx offloads", cfg.tx_offloads, info.tx_offload_capa, true)?;
        if let Some(mtu) = cfg.mtu {
            if mtu < info.min_mtu {
                return Err(self.unsupported(
                    "mtu (below the minimum)",
                    u64::from(mtu),
                    u64::from(info.min_mtu),
                ));
            }
            self.check_capability("mtu", u64::from(mtu), u64::from(info.max_mtu), false)?;
        }
        if cfg.rx_queues == 0 && cfg.tx_queues == 0 {
            return Err(self.unsupported("queue count (zero rx and tx)", 0, 1));
        }

        // SAFETY: rte_eth_conf is plain data for which all-zero is "defaults".
        let mut conf: sys::rte_eth_conf = unsafe { core::mem::zeroed() };
        conf.rxmode.offloads = cfg.rx_offloads;
        conf.txmode.offloads = cfg.tx_offloads;
        let mut key = Vec::new();
        if let Some(rss) = &cfg.rss {
            self.check_capability(
                "RSS hash functions",
                rss.hash_functions,
                info.rss_hash_functions,
                true,
            )?;
            conf.rxmode.mq_mode = sys::rte_eth_rx_mq_mode::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss.hash_functions;
            if let Some(k) = &rss.key {
                if info.rss_key_size != 0 && k.len() != usize::from(info.rss_key_size) {
                    return Err(self.unsupported(
                        "RSS key length",
                        k.len() as u64,
                        u64::from(info.rss_key_size),
                    ));
                }
                key.clone_from(k);
                conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
                conf.rx_adv_conf.rss_conf.rss_key_len = key.len() as u8;
            }
            if info.rx_offload_capa & RX_OFFLOAD_RSS_HASH != 0 {
                conf.rxmode.offloads |= RX_OFFLOAD_RSS_HASH;
            }
        }
        if info.link_events {
            conf.intr_conf.set_lsc(1);
        }

        if self.shared.started.load(Ordering::SeqCst) {
            return Err(self.err(Errno::EBUSY, "rte_eth_dev_configure (port is started)"));
        }
        // SAFETY: valid stopped port; conf (and the key it points to) live
        // across the call; DPDK copies what it keeps.
        let ret =
            unsafe { sys::rte_eth_dev_configure(self.id(), cfg.rx_queues, cfg.tx_queues, &conf) };
        self.shared.check(ret, "rte_eth_dev_configure")?;

        let (mut nb_rx, mut nb_tx) = (cfg.rx_descriptors, cfg.tx_descriptors);
        // SAFETY: valid configured port; out-pointers to locals.
        let ret =
            unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id(), &mut nb_rx, &mut nb_tx) };
        self.shared.check(ret, "rte_eth_dev_adjust_nb_rx_tx_desc")?;
        if let Some(mtu) = cfg.mtu {
            self.set_mtu(mtu)?;
        }

        // SAFETY: valid port id.
        let socket = unsafe { sys::rte_eth_dev_socket_id(self.id()) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..cfg.rx_queues {
            // SAFETY: valid configured port, q < rx_queues; a null rxconf
            // takes the driver's defaults; the pool outlives the port (a
            // clone is kept in `pools` until close).
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(
                    self.id(),
                    q,
                    nb_rx,
                    socket,
                    core::ptr::null(),
                    pool.as_ptr(),
                )
            };
            self.shared.check(ret, "rte_eth_rx_queue_setup")?;
        }
        for q in 0..cfg.tx_queues {
            // SAFETY: valid configured port, q < tx_queues; null txconf:
            // driver defaults (with the port's tx offloads).
            let ret = unsafe {
                sys::rte_eth_tx_queue_setup(self.id(), q, nb_tx, socket, core::ptr::null())
            };
            self.shared.check(ret, "rte_eth_tx_queue_setup")?;
        }
        lock(&self.shared.pools).push(pool.clone());
        *lock(&self.shared.rx_taken) = vec![false; usize::from(cfg.rx_queues)];
        *lock(&self.shared.tx_taken) = vec![false; usize::from(cfg.tx_queues)];
        log::info!(
            "port {} ({}): {} rx x {nb_rx}, {} tx x {nb_tx} descriptors",
            self.id(),
            self.name(),
            cfg.rx_queues,
            cfg.tx_queues
        );
        Ok(())
    }

    /// Starts the port.
    pub fn start(&mut self) -> Result<()> {
        // SAFETY: valid configured port.
        let ret = unsafe { sys::rte_eth_dev_start(self.id()) };
        self.shared.check(ret, "rte_eth_dev_start")?;
        self.shared.started.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Stops the port. Refused while queue handles are out (a worker may be
    /// polling them).
    pub fn stop(&mut self) -> Result<()> {
        self.no_handles("stop")?;
        if self.shared.started.swap(false, Ordering::SeqCst) {
            // SAFETY: valid started port; no queue handle exists.
            let ret = unsafe { sys::rte_eth_dev_stop(self.id()) };
            self.shared.check(ret, "rte_eth_dev_stop")?;
        }
        Ok(())
    }

    /// Stops (if started) and closes the port, and removes the device if
    /// [`Port::probe`] created it. Refused while queue handles are out; the
    /// port is given back with the error then.
    pub fn close(self) -> core::result::Result<(), (Port, Error)> {
        if let Err(e) = self.no_handles("close") {
            return Err((self, e));
        }
        self.shared.shut().map_err(|e| {
            (
                Port {
                    shared: Arc::clone(&self.shared),
                },
                e,
            )
        })
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: u16) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_dev_set_mtu(self.id(), mtu) };
        self.shared.check(ret, "rte_eth_dev_set_mtu").map(|_| ())
    }

    /// The MTU.
    pub fn mtu(&self) -> Result<u16> {
        let mut mtu = 0u16;
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_dev_get_mtu(self.id(), &mut mtu) };
        self.shared.check(ret, "rte_eth_dev_get_mtu").map(|_| mtu)
    }

    /// Changes the RSS hash functions (and key) of a configured port.
    pub fn update_rss(&self, rss: &RssConfig) -> Result<()> {
        let mut key = rss.key.clone().unwrap_or_default();
        let mut conf = sys::rte_eth_rss_conf {
            rss_key: if key.is_empty() {
                core::ptr::null_mut()
            } else {
                key.as_mut_ptr()
            },
            rss_key_len: key.len() as u8,
            rss_hf: rss.hash_functions,
        };
        // SAFETY: valid port; conf and key live across the call.
        let ret = unsafe { sys::rte_eth_dev_rss_hash_update(self.id(), &mut conf) };
        self.shared
            .check(ret, "rte_eth_dev_rss_hash_update")
            .map(|_| ())
    }

    /// The link state, without waiting for it to settle.
    pub fn link(&self) -> Result<Link> {
        // SAFETY: rte_eth_link is plain data; zero is a valid value.
        let mut link: sys::rte_eth_link = unsafe { core::mem::zeroed() };
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.id(), &mut link) };
        self.shared.check(ret, "rte_eth_link_get_nowait")?;
        let up = link.link_status() != 0;
        Ok(Link {
            up,
            speed_mbps: if up && link.link_speed != u32::MAX {
                link.link_speed
            } else {
                0
            },
            full_duplex: link.link_duplex() != 0,
        })
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let mut mac = sys::rte_ether_addr::default();
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.id(), &mut mac) };
        self.shared
            .check(ret, "rte_eth_macaddr_get")
            .map(|_| mac.addr_bytes)
    }

    /// Turns promiscuous mode on or off.
    pub fn set_promiscuous(&self, on: bool) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.id())
            } else {
                sys::rte_eth_promiscuous_disable(self.id())
            }
        };
        self.shared
            .check(ret, "rte_eth_promiscuous_enable/disable")
            .map(|_| ())
    }

    /// Whether promiscuous mode is on.
    pub fn promiscuous(&self) -> bool {
        // SAFETY: valid port id.
        unsafe { sys::rte_eth_promiscuous_get(self.id()) == 1 }
    }

    /// The basic counters.
    pub fn stats(&self) -> Result<Stats> {
        // SAFETY: rte_eth_stats is plain counters; zero is valid.
        let mut s: sys::rte_eth_stats = unsafe { core::mem::zeroed() };
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_stats_get(self.id(), &mut s) };
        self.shared.check(ret, "rte_eth_stats_get")?;
        Ok(Stats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Zeroes the basic counters.
    pub fn reset_stats(&self) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_stats_reset(self.id()) };
        self.shared.check(ret, "rte_eth_stats_reset").map(|_| ())
    }

    /// The extended counters, names with values, in the driver's order.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>> {
        // SAFETY: valid port; a null array with size 0 asks for the count.
        let n = unsafe { sys::rte_eth_xstats_get_names(self.id(), core::ptr::null_mut(), 0) };
        let n = self.shared.check(n, "rte_eth_xstats_get_names")? as usize;
        let mut names = vec![sys::rte_eth_xstat_name { name: [0; 64] }; n];
        let mut values = vec![sys::rte_eth_xstat::default(); n];
        // SAFETY: both arrays have room for n entries, as told.
        let got_names =
            unsafe { sys::rte_eth_xstats_get_names(self.id(), names.as_mut_ptr(), n as u32) };
        let got_names = self.shared.check(got_names, "rte_eth_xstats_get_names")? as usize;
        // SAFETY: as above.
        let got = unsafe { sys::rte_eth_xstats_get(self.id(), values.as_mut_ptr(), n as u32) };
        let got = self.shared.check(got, "rte_eth_xstats_get")? as usize;
        let count = got.min(got_names).min(n);
        Ok(values[..count]
            .iter()
            .map(|v| {
                let name = names.get(v.id as usize).map(|x| {
                    // SAFETY: DPDK writes NUL-terminated names into the 64-byte
                    // arrays; the last byte is zero in every case (zeroed).
                    unsafe { CStr::from_ptr(x.name.as_ptr()) }
                        .to_string_lossy()
                        .into_owned()
                });
                (name.unwrap_or_else(|| format!("xstat{}", v.id)), v.value)
            })
            .collect())
    }

    /// Takes the handle of receive queue `queue` (once; dropping it returns it).
    pub fn rx_queue(&self, queue: u16) -> Result<RxQueue> {
        take(&self.shared, &self.shared.rx_taken, "rx", queue)?;
        Ok(RxQueue::new(Arc::clone(&self.shared), queue))
    }

    /// Takes the handle of transmit queue `queue` (once; dropping it returns it).
    pub fn tx_queue(&self, queue: u16) -> Result<TxQueue> {
        take(&self.shared, &self.shared.tx_taken, "tx", queue)?;
        Ok(TxQueue::new(Arc::clone(&self.shared), queue))
    }

    /// Error unless no queue handle is out.
    fn no_handles(&self, op: &'static str) -> Result<()> {
        let count = Arc::strong_count(&self.shared) - 1;
        if count > 0 {
            return Err(Error::QueuesInUse {
                port: self.id(),
                count,
                op,
            });
        }
        Ok(())
    }

    /// Refuses `requested` beyond `supported` (as a mask when `mask`).
    fn check_capability(
        &self,
        what: &'static str,
        requested: u64,
        supported: u64,
        mask: bool,
    ) -> Result<()> {
        let ok = if mask {
            requested & !supported == 0
        } else {
            requested <= supported
        };
        if ok {
            Ok(())
        } else {
            Err(self.unsupported(what, requested, supported))
        }
    }

    /// An Unsupported error for this port.
    fn unsupported(&self, what: &'static str, requested: u64, supported: u64) -> Error {
        Error::Unsupported {
            port: self.id(),
            name: self.name().to_owned(),
            what,
            requested,
            supported,
        }
    }

    /// A Port error for this port.
    fn err(&self, errno: Errno, op: &'static str) -> Error {
        Error::Port {
            port: self.id(),
            name: self.name().to_owned(),
            op,
            errno,
        }
    }
}

/// Marks queue `queue` of `taken` as handed out.
fn take(
    shared: &PortShared,
    taken: &Mutex<Vec<bool>>,
    dir: &'static str,
    queue: u16,
) -> Result<()> {
    let mut t = lock(taken);
    match t.get_mut(usize::from(queue)) {
        None => Err(Error::Queue {
            port: shared.id,
            dir,
            queue,
            reason: "does not exist (configure the port first)",
        }),
        Some(true) => Err(Error::Queue {
            port: shared.id,
            dir,
            queue,
            reason: "is already taken",
        }),
        Some(slot) => {
            *slot = true;
            Ok(())
        }
    }
}

/// Locks a control-path mutex, surviving a poisoned one (a panicking holder
/// cannot leave a Vec<bool> or Vec<Mempool> inconsistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// rte_eth_dev_info_get.
fn dev_info(id: u16) -> core::result::Result<sys::rte_eth_dev_info, Errno> {
    // SAFETY: rte_eth_dev_info is plain data; zero is valid.
    let mut info: sys::rte_eth_dev_info = unsafe { core::mem::zeroed() };
    // SAFETY: any id is checked by DPDK; out-pointer to a local.
    let ret = unsafe { sys::rte_eth_dev_info_get(id, &mut info) };
    if ret < 0 {
        return Err(Errno::from_ret(ret));
    }
    Ok(info)
}

/// The name of port `id`.
fn port_name(id: u16) -> Option<String> {
    let mut buf = [0 as core::ffi::c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size DPDK writes at most.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if ret < 0 {
        return None;
    }
    // SAFETY: DPDK wrote a NUL-terminated name into buf.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// A single-producer/consumer-agnostic ring of `count` slots.
fn ring(name: &str, count: u32) -> Result<Ring> {
    let c = c_name("ring", name, sys::RTE_RING_NAMESIZE as usize - 1)?;
    // SAFETY: c is a valid C string (copied by DPDK); flags 0: MP/MC ring.
    let raw = unsafe { sys::rte_ring_create(c.as_ptr(), count, sys::SOCKET_ID_ANY, 0) };
    core::ptr::NonNull::new(raw)
        .map(Ring)
        .ok_or_else(|| Error::RingCreate {
            name: name.to_owned(),
            count,
            errno: Errno::last(),
        })
}

/// A ring PMD port receiving from `rx` and sending into `tx`.
fn ring_port(eal: &Eal, name: &str, rx: &[Arc<Ring>], tx: &[Arc<Ring>]) -> Result<Port> {
    let c = c_name("port", name, sys::RTE_ETH_NAME_MAX_LEN as usize - 1)?;
    let rx_ptrs: Vec<*mut sys::rte_ring> = rx.iter().map(|r| r.0.as_ptr()).collect();
    let tx_ptrs: Vec<*mut sys::rte_ring> = tx.iter().map(|r| r.0.as_ptr()).collect();
    // SAFETY: the rings are live and outlive the port (kept in PortShared);
    // the arrays hold as many rings as told; the name is a valid C string.
    let id = unsafe {
        sys::rte_eth_from_rings(
            c.as_ptr(),
            rx_ptrs.as_ptr(),
            rx_ptrs.len() as u32,
            tx_ptrs.as_ptr(),
            tx_ptrs.len() as u32,
            0,
        )
    };
    if id < 0 {
        return Err(Error::Probe {
            devargs: format!("ring port {name}"),
            errno: Errno::last(),
        });
    }
    let rings = rx.iter().chain(tx).cloned().collect();
    // rte_eth_from_rings made a vdev: closing the port removes it.
    Port::open(eal, id as u16, true, rings)
}
