//! The slowly changing state the workers forward by: ports, domains,
//! tunnels. The control thread builds a new [`Snapshot`] for every change
//! and publishes it whole; a worker picks the new one up between two
//! bursts (read-copy-update), so a burst is forwarded by one consistent
//! state and no worker ever waits for the control thread.
//!
//! Everything here is indexed by small dense numbers: a port index (`u16`),
//! a domain index (`u16`, the same one the MAC table's key carries) and a
//! tunnel index (`u32`, the value of `Dest::Remote` in the MAC table). A
//! tunnel is one (domain, remote VTEP) pair with its prebuilt outer header,
//! so a table hit leads to the header in one array access.

use std::collections::HashMap;
use std::net::IpAddr;

use nvo_packet::decap;
use nvo_packet::ethernet::MacAddr;
use nvo_packet::template::{Template, TunnelKind};

/// Everything the workers need besides the MAC table.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Ports by port index.
    pub ports: Vec<Port>,
    /// Domains by domain index.
    pub domains: Vec<Domain>,
    /// Tunnels by tunnel index; `None` for a retired index.
    pub tunnels: Vec<Option<Tunnel>>,
    /// (tunnel kind, UDP port, VNI) to domain index, sorted by key, for
    /// decapsulation.
    vni_index: Vec<(u64, u16)>,
    /// (domain, remote VTEP address) to tunnel index, for learning.
    tunnel_index: HashMap<(u16, IpAddr), u32>,
    /// The underlay multicast groups of the domains: tunnel packets sent
    /// to one of them are ours too.
    groups: Vec<IpAddr>,
    /// What decapsulation accepts: our VTEP addresses, tunnel ports,
    /// checksum policy.
    pub decap: decap::Config,
    /// A learned entry is refreshed when older than this many table ticks.
    pub refresh_after: u16,
    /// The most ICMP errors (path MTU) one worker sends a second.
    pub icmp_per_sec: u32,
}

impl Snapshot {
    /// An empty state: no port, no domain, no tunnel.
    pub fn new(decap: decap::Config) -> Snapshot {
        Snapshot {
            ports: Vec::new(),
            domains: Vec::new(),
            tunnels: Vec::new(),
            vni_index: Vec::new(),
            tunnel_index: HashMap::new(),
            groups: Vec::new(),
            decap,
            refresh_after: 1,
            icmp_per_sec: 100,
        }
    }

    /// Rebuilds the lookup indexes after `domains` or `tunnels` changed.
    pub fn reindex(&mut self) {
        self.vni_index = self
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| (vni_key(d.kind, d.port, d.vni), i as u16))
            .collect();
        self.vni_index.sort_unstable();
        self.tunnel_index = self
            .tunnels
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| ((t.domain, t.remote), i as u32)))
            .collect();
        self.groups = self
            .tunnels
            .iter()
            .flatten()
            .map(|t| t.remote)
            .filter(IpAddr::is_multicast)
            .collect();
        self.groups.sort_unstable();
        self.groups.dedup();
    }

    /// Whether `group` is the underlay multicast group of a domain.
    #[inline]
    pub fn is_group(&self, group: IpAddr) -> bool {
        self.groups.binary_search(&group).is_ok()
    }

    /// Whether `domain` floods to the underlay multicast group `group`.
    pub fn floods_to(&self, domain: u16, group: IpAddr) -> bool {
        self.domains.get(usize::from(domain)).is_some_and(|d| {
            d.flood
                .iter()
                .any(|&t| self.tunnel(t).is_some_and(|t| t.remote == group))
        })
    }

    /// The domain carried in tunnels of `kind` to UDP port `port` (0 for
    /// NVGRE) with identifier `vni`.
    #[inline]
    pub fn domain_of_vni(&self, kind: TunnelKind, port: u16, vni: u32) -> Option<u16> {
        let key = vni_key(kind, port, vni);
        self.vni_index
            .binary_search_by_key(&key, |&(k, _)| k)
            .ok()
            .map(|i| self.vni_index[i].1)
    }

    /// The tunnel of `domain` toward the VTEP at `remote`, if there is one.
    #[inline]
    pub fn tunnel_to(&self, domain: u16, remote: IpAddr) -> Option<u32> {
        self.tunnel_index.get(&(domain, remote)).copied()
    }

    /// The tunnel with index `t`.
    #[inline]
    pub fn tunnel(&self, t: u32) -> Option<&Tunnel> {
        self.tunnels.get(t as usize)?.as_ref()
    }
}

fn vni_key(kind: TunnelKind, port: u16, vni: u32) -> u64 {
    u64::from(kind as u8) << 40 | u64::from(port) << 24 | u64::from(vni & 0xff_ffff)
}

/// A port of the switch.
#[derive(Debug, Clone)]
pub struct Port {
    /// What the port is attached to.
    pub kind: PortKind,
    /// Whether the link is up (a vhost-user peer is connected); frames for
    /// a port that is down are dropped and counted.
    pub up: bool,
}

/// What a port is attached to.
#[derive(Debug, Clone)]
pub enum PortKind {
    /// A VM (vhost-user) or any tenant-facing port.
    Vm(VmPort),
    /// An underlay port carrying tunnels.
    Uplink(Uplink),
    /// A raw cross-connect: every frame goes out of `peer` unchanged.
    Patch {
        /// The port frames are sent to.
        peer: u16,
    },
}

/// A tenant-facing port.
#[derive(Debug, Clone, Default)]
pub struct VmPort {
    /// The domain of untagged frames, if any.
    pub domain: Option<u16>,
    /// 802.1Q VLAN id to domain, sorted by VLAN id (gateway ports). A
    /// frame tagged with a mapped VLAN belongs to that domain and loses
    /// its tag; frames sent to the port in that domain get it back.
    pub vlans: Vec<(u16, u16)>,
}

impl VmPort {
    /// The domain of a frame tagged with `vid`.
    #[inline]
    pub fn domain_of_vlan(&self, vid: u16) -> Option<u16> {
        self.vlans
            .binary_search_by_key(&vid, |&(v, _)| v)
            .ok()
            .map(|i| self.vlans[i].1)
    }
}

/// An underlay port.
#[derive(Debug, Clone)]
pub struct Uplink {
    /// IP MTU of the underlay: the largest outer IP packet it carries.
    pub mtu: u16,
    /// The port's MAC address.
    pub mac: MacAddr,
}

/// A tenant domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// VNI (VXLAN, Geneve) or VSID (NVGRE), 24 bits.
    pub vni: u32,
    /// How the domain is carried between VTEPs.
    pub kind: TunnelKind,
    /// The UDP destination port of its tunnels; 0 for NVGRE.
    pub port: u16,
    /// Whether source MACs are learned.
    pub learning: bool,
    /// Carry 802.1Q-tagged inner frames instead of dropping them.
    pub keep_inner_tags: bool,
    /// The local ports of the domain, each with the VLAN id frames carry
    /// on that port (`None`: untagged).
    pub members: Vec<Member>,
    /// Where broadcast, multicast and unknown unicast go besides the local
    /// members: one tunnel per remote VTEP (head-end replication), or a
    /// single tunnel to the domain's underlay multicast group.
    pub flood: Vec<u32>,
    /// Tenant addresses whose MAC is known from configuration, sorted: ARP
    /// requests and Neighbor Solicitations for them are answered by the
    /// worker instead of flooded.
    pub neighbors: Vec<(IpAddr, MacAddr)>,
}

impl Domain {
    /// The MAC of tenant address `ip`, when configuration gives it.
    #[inline]
    pub fn neighbor(&self, ip: IpAddr) -> Option<MacAddr> {
        self.neighbors
            .binary_search_by_key(&ip, |&(a, _)| a)
            .ok()
            .map(|i| self.neighbors[i].1)
    }

    /// The VLAN id frames of this domain carry on `port`, or `None` when
    /// the port is not a member.
    #[inline]
    pub fn member_vlan(&self, port: u16) -> Option<Option<u16>> {
        self.members.iter().find(|m| m.port == port).map(|m| m.vlan)
    }
}

/// A local port of a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Port index.
    pub port: u16,
    /// VLAN id on that port, `None` for untagged.
    pub vlan: Option<u16>,
}

/// One domain's tunnel to one remote VTEP (or multicast group).
#[derive(Debug, Clone)]
pub struct Tunnel {
    /// The domain whose frames it carries.
    pub domain: u16,
    /// The remote VTEP address (or the multicast group).
    pub remote: IpAddr,
    /// VTEP index for counters: all tunnels to one VTEP share it.
    pub vtep: u32,
    /// The uplink the tunnel leaves by.
    pub uplink: u16,
    /// The outer header; `None` while the underlay next hop is unresolved.
    pub template: Option<Template>,
}
