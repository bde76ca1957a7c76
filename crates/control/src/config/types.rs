//! The validated configuration: typed, defaulted, cross-checked, with every
//! name resolved to an index into the `Config`'s own vectors.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The most lcores DPDK is built for (RTE_MAX_LCORE in Debian's build).
pub const MAX_LCORE: u32 = 128;
/// The most queues a port may ask for (per direction).
pub const MAX_QUEUES: u16 = 64;
/// The most domains: the table packs a domain index and a MAC into 64 bits.
pub const MAX_DOMAINS: usize = 1 << 16;
/// The largest burst a worker polls for at once.
pub const MAX_BURST: u16 = 32;

/// Index of a domain in [`Config::domains`](super::Config::domains).
pub type DomainIdx = usize;

/// `[eal]`: how DPDK's environment is initialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eal {
    /// Extra EAL arguments, passed through after the ones nvo derives.
    pub args: Vec<String>,
    /// `--file-prefix`: keeps the hugepage files of two instances apart.
    pub file_prefix: String,
    /// `-m`: hugepage memory to reserve, in MiB; DPDK decides when `None`.
    pub memory_mb: Option<u32>,
    /// `--huge-dir`: the hugetlbfs mount to use.
    pub huge_dir: Option<PathBuf>,
}

/// `[cpu]`: which cores run what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    /// The control thread's core; it is also DPDK's main lcore.
    pub control: u32,
    /// One pinned worker per core, in this order; never empty, never
    /// containing `control`.
    pub workers: Vec<u32>,
}

/// Outer IP TTL / hop limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The same value on every tunnel packet (1..=255).
    Fixed(u8),
    /// Copied from the inner IP header; `64` when the inner frame is not IP.
    Inherit,
}

/// Outer DSCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dscp {
    /// The same code point on every tunnel packet (0..=63): the pipe model.
    Fixed(u8),
    /// Copied from the inner IP header: the uniform model (RFC 2983).
    Inherit,
}

/// ECN handling at the tunnel ends (RFC 6040).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcnMode {
    /// Inner ECN copied out on encapsulation, CE propagated in on
    /// decapsulation.
    Normal,
    /// Outer header is Not-ECT on encapsulation.
    Compat,
}

/// `[switch]`: switch-wide knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// Mbufs in the packet pool.
    pub mbufs: u32,
    /// Per-lcore mempool cache.
    pub mbuf_cache: u32,
    /// Receive descriptors per queue (a power of two).
    pub rx_desc: u16,
    /// Transmit descriptors per queue (a power of two).
    pub tx_desc: u16,
    /// Frames polled per rx burst (1..=32).
    pub burst: u16,
    /// Seconds after which a learned MAC not seen again is forgotten;
    /// 0 means never.
    pub aging_secs: u32,
    /// Capacity of the MAC/domain table, in entries.
    pub mac_table_size: u32,
    /// The management socket `nvo ctl` connects to.
    pub ctl_socket: PathBuf,
    /// Inclusive range of outer UDP source ports (entropy for the underlay).
    pub udp_src_range: (u16, u16),
    /// Outer TTL / hop limit.
    pub ttl: Ttl,
    /// Outer DSCP.
    pub dscp: Dscp,
    /// RFC 6040 mode.
    pub ecn: EcnMode,
    /// Send and accept zero UDP checksums over IPv6 (RFC 6935).
    pub ipv6_zero_udp_checksum: bool,
    /// ICMP errors (fragmentation needed, packet too big) sent per second
    /// at most; 0 sends none.
    pub icmp_rate: u32,
}

/// vhost-user socket role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VhostMode {
    /// nvo creates the socket and QEMU connects.
    Server,
    /// QEMU creates the socket and nvo connects (and reconnects).
    Client,
}

/// What happens to a frame from a new source MAC once a port has learned
/// `learn_limit` addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacLimitAction {
    /// Forward the frame without learning its source.
    Forward,
    /// Drop it (port security).
    Drop,
}

/// `[[vm_port]]`: a vhost-user port; nvo is the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPort {
    /// Unique among all ports.
    pub name: String,
    /// The vhost-user socket.
    pub socket: PathBuf,
    /// Who creates the socket.
    pub mode: VhostMode,
    /// Queue pairs.
    pub queues: u16,
    /// The domain of untagged frames; `None` drops them (a pure VLAN
    /// trunk) or, with no VLAN map either, means the port is patched.
    pub domain: Option<DomainIdx>,
    /// 802.1Q VLAN id -> domain, for gateway ports; the tag is removed on
    /// the way in and added on the way out.
    pub vlan_map: BTreeMap<u16, DomainIdx>,
    /// Most MACs learned on this port; 0 learns none.
    pub learn_limit: u32,
    /// What happens past `learn_limit`.
    pub mac_limit_action: MacLimitAction,
}

impl VmPort {
    /// Whether frames of `domain` may enter or leave through this port.
    pub fn serves(&self, domain: DomainIdx) -> bool {
        self.domain == Some(domain) || self.vlan_map.values().any(|&d| d == domain)
    }
}

/// An IPv4 address with its prefix length, as in `198.18.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address itself.
    pub addr: Ipv4Addr,
    /// The on-link prefix length, 1..=32.
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// Whether `ip` is on this address's link.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u32::from(self.addr) & mask == u32::from(ip) & mask
    }
}

/// An IPv6 address with its prefix length, as in `2001:db8::1/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Cidr {
    /// The address itself.
    pub addr: Ipv6Addr,
    /// The on-link prefix length, 1..=128.
    pub prefix_len: u8,
}

impl Ipv6Cidr {
    /// Whether `ip` is on this address's link.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u128::from(self.addr) & mask == u128::from(ip) & mask
    }
}

/// The DPDK device behind an uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A PCI address, possibly followed by `,devargs`: goes to `-a`.
    Pci(String),
    /// A virtual device string such as `net_af_packet0,iface=veth0`:
    /// goes to `--vdev`.
    Vdev(String),
}

impl Device {
    /// The string as written in the file.
    pub fn as_str(&self) -> &str {
        match self {
            Device::Pci(s) | Device::Vdev(s) => s,
        }
    }
}

/// `[[uplink]]`: an underlay port, carrying the tunnels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uplink {
    /// Unique among all ports.
    pub name: String,
    /// The DPDK device.
    pub device: Device,
    /// IPv4 VTEP address.
    pub ipv4: Option<Ipv4Cidr>,
    /// IPv6 VTEP address.
    pub ipv6: Option<Ipv6Cidr>,
    /// Next hop for IPv4 VTEPs off our prefix.
    pub gateway4: Option<Ipv4Addr>,
    /// Next hop for IPv6 VTEPs off our prefix.
    pub gateway6: Option<Ipv6Addr>,
    /// Next hops whose MAC is configured rather than resolved by ARP/ND
    /// (for underlays without neighbour discovery, and benchmarks).
    pub neighbors: BTreeMap<IpAddr, MacAddr>,
    /// The underlay MTU (IP packet size).
    pub mtu: u16,
    /// Receive queues, spread over workers by RSS.
    pub queues: u16,
}

impl Uplink {
    /// Whether `ip` is one of this uplink's VTEP addresses.
    pub fn owns(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.ipv4.is_some_and(|c| c.addr == a),
            IpAddr::V6(a) => self.ipv6.is_some_and(|c| c.addr == a),
        }
    }
}

/// Encapsulation of a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tunnel {
    /// RFC 7348.
    Vxlan,
    /// RFC 7637.
    Nvgre,
    /// RFC 8926.
    Geneve,
}

impl Tunnel {
    /// The IANA UDP port, or `None` for NVGRE, which has no UDP header.
    pub fn default_udp_port(self) -> Option<u16> {
        match self {
            Tunnel::Vxlan => Some(4789),
            Tunnel::Nvgre => None,
            Tunnel::Geneve => Some(6081),
        }
    }

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Tunnel::Vxlan => "vxlan",
            Tunnel::Nvgre => "nvgre",
            Tunnel::Geneve => "geneve",
        }
    }
}

impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where broadcast, unknown unicast and multicast of a domain go, besides
/// the domain's other local ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flood {
    /// One copy per listed VTEP (head-end replication); an empty list keeps
    /// BUM traffic local.
    HeadEnd(Vec<IpAddr>),
    /// One copy to an underlay multicast group.
    Group(IpAddr),
}

/// What to do with 802.1Q-tagged inner frames (RFC 7348 section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnerVlan {
    /// Drop them on both encapsulation and decapsulation.
    Drop,
    /// Carry them unchanged.
    Keep,
}

/// `[[domain]]`: a tenant's L2 segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Unique among domains.
    pub name: String,
    /// VNI (VXLAN, Geneve) or VSID (NVGRE), 24 bits.
    pub vni: u32,
    /// Encapsulation.
    pub tunnel: Tunnel,
    /// UDP destination port; `None` exactly when the tunnel is NVGRE.
    pub udp_port: Option<u16>,
    /// Learn inner source MACs (flood and learn); off means static and
    /// distributed mappings only.
    pub learning: bool,
    /// BUM destinations.
    pub flood: Flood,
    /// Tagged inner frames.
    pub inner_vlan: InnerVlan,
    /// NVGRE only: flow entropy in the FlowID (else FlowID 0).
    pub nvgre_flow_id: bool,
}

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Group bit set: broadcast or multicast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error of parsing a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address (six hex pairs separated by ':')")]
pub struct BadMac;

impl FromStr for MacAddr {
    type Err = BadMac;

    fn from_str(s: &str) -> Result<Self, BadMac> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let part = parts.next().ok_or(BadMac)?;
            if part.len() != 2 {
                return Err(BadMac);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| BadMac)?;
        }
        if parts.next().is_some() {
            return Err(BadMac);
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a static MAC lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacTarget {
    /// Behind a remote VTEP.
    Vtep(IpAddr),
    /// On a local VM port (index into `Config::vm_ports`).
    Port(usize),
}

/// `[[mac]]`: a static mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMac {
    /// The domain it belongs to.
    pub domain: DomainIdx,
    /// A unicast MAC.
    pub mac: MacAddr,
    /// Where it is.
    pub target: MacTarget,
    /// Its IP address, so ARP/ND for it can be answered locally.
    pub ip: Option<IpAddr>,
}

/// A port, by kind and index into `Config::vm_ports` or `Config::uplinks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// A vhost-user port.
    Vm(usize),
    /// An underlay port.
    Uplink(usize),
}

/// `[[patch]]`: two ports wired to each other, no overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    /// What enters one leaves the other, both ways.
    pub ports: [PortRef; 2],
}
