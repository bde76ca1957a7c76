//! The snapshot the workers forward by, built whole from the running
//! configuration, the link states, the tunnel registry and the resolved
//! neighbours. Rebuilding everything on each change is cheap at control
//! plane rates (a few domains and tunnels, a few changes a second) and
//! leaves no room for a half-updated index.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use nvo_dataplane::state::{Domain, Member, Port, PortKind, Tunnel, Uplink, VmPort};
use nvo_dataplane::{Frame, Snapshot};
use nvo_packet::decap;
use nvo_packet::ethernet::MacAddr;
use nvo_packet::flow::PortRange;
use nvo_packet::template::{self, Template, TunnelKind};

use super::{ControlPlane, Transmit};
use crate::config::{self, Config, Flood, InnerVlan, PortRef};

/// A (domain, remote VTEP or group) pair the switch sends to. Its index in
/// [`Tunnels::list`] is the value of `Dest::Remote` in the table and the
/// index of `Snapshot::tunnels`.
#[derive(Debug, Clone)]
pub(crate) struct TunnelEntry {
    pub(crate) domain: u16,
    pub(crate) remote: IpAddr,
    /// VTEP index for counters, shared by all tunnels to one address.
    pub(crate) vtep: u32,
    /// The uplink's switch port index.
    pub(crate) uplink: u16,
}

/// The tunnels in use, by index.
///
/// A tunnel lives while a table entry names it or its domain floods to it
/// (see `ControlPlane::retire_tunnels`); then its index is freed, and
/// reused only [`REUSE_AFTER`] later. By then no worker still holds a
/// snapshot in which the index meant the old tunnel, and workers check a
/// tunnel's domain before they send into it in any case, so a stale index
/// can never carry a frame into another domain.
#[derive(Debug, Default)]
pub(crate) struct Tunnels {
    pub(crate) list: Vec<Option<TunnelEntry>>,
    by_key: HashMap<(u16, IpAddr), u32>,
    /// Retired indices, oldest first, with when they were retired.
    free: VecDeque<(u32, Instant)>,
    /// VTEP addresses by VTEP index.
    pub(crate) vteps: Vec<IpAddr>,
    vtep_index: HashMap<IpAddr, u32>,
}

impl Tunnels {
    /// The tunnel of `domain` to `remote`, if it exists.
    pub(crate) fn find(&self, domain: u16, remote: IpAddr) -> Option<u32> {
        self.by_key.get(&(domain, remote)).copied()
    }

    /// The tunnel of `domain` to `remote` through `uplink`, made if need
    /// be (at `now`); the flag says whether it is new.
    pub(crate) fn get_or_add(
        &mut self,
        domain: u16,
        remote: IpAddr,
        uplink: u16,
        now: Instant,
    ) -> (u32, bool) {
        if let Some(t) = self.find(domain, remote) {
            return (t, false);
        }
        let next = self.vteps.len() as u32;
        let vtep = *self.vtep_index.entry(remote).or_insert(next);
        if vtep == next {
            self.vteps.push(remote);
        }
        let entry = Some(TunnelEntry {
            domain,
            remote,
            vtep,
            uplink,
        });
        let t = match self.free.front() {
            Some(&(t, at)) if now.saturating_duration_since(at) >= REUSE_AFTER => {
                self.free.pop_front();
                self.list[t as usize] = entry;
                t
            }
            _ => {
                self.list.push(entry);
                self.list.len() as u32 - 1
            }
        };
        self.by_key.insert((domain, remote), t);
        (t, true)
    }

    /// The tunnel with index `t`, if it is in use.
    pub(crate) fn get(&self, t: u32) -> Option<&TunnelEntry> {
        self.list.get(t as usize)?.as_ref()
    }

    /// The tunnels in use, with their indices.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &TunnelEntry)> {
        self.list
            .iter()
            .enumerate()
            .filter_map(|(t, e)| Some((t as u32, e.as_ref()?)))
    }

    /// Frees tunnel `t` (at `now`); nothing may name it any more.
    pub(crate) fn retire(&mut self, t: u32, now: Instant) {
        if let Some(e) = self.list.get_mut(t as usize).and_then(Option::take) {
            self.by_key.remove(&(e.domain, e.remote));
            self.free.push_back((t, now));
        }
    }
}

/// How long a retired tunnel index rests before it is reused: far longer
/// than a worker holds one snapshot (a burst).
pub(crate) const REUSE_AFTER: Duration = Duration::from_secs(1);

/// The tunnel kind of a configured domain.
pub(crate) fn kind_of(t: config::Tunnel) -> TunnelKind {
    match t {
        config::Tunnel::Vxlan => TunnelKind::Vxlan,
        config::Tunnel::Nvgre => TunnelKind::Nvgre,
        config::Tunnel::Geneve => TunnelKind::Geneve,
    }
}

/// The Ethernet address an IP multicast group maps to: RFC 1112 §6.4
/// (01:00:5e and the low 23 bits) and RFC 2464 §7 (33:33 and the low 32
/// bits).
pub(crate) fn multicast_mac(group: IpAddr) -> MacAddr {
    match group {
        IpAddr::V4(g) => {
            let o = g.octets();
            MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        }
        IpAddr::V6(g) => {
            let o = g.octets();
            MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
        }
    }
}

/// The decapsulation settings for `cfg`: every uplink's VTEP addresses,
/// and the UDP ports of every VXLAN and Geneve domain. Validation keeps
/// both within what `decap::Config` holds, so nothing is left out here.
pub(crate) fn decap_config(cfg: &Config) -> decap::Config {
    let mut d = decap::Config::new(None, None);
    let addrs = cfg.uplinks.iter().flat_map(|u| {
        let v4 = u.ipv4.map(|c| IpAddr::V4(c.addr));
        v4.into_iter().chain(u.ipv6.map(|c| IpAddr::V6(c.addr)))
    });
    for a in addrs {
        if d.add_local(a).is_err() {
            log::error!(
                "VTEP address {a} left out: more than {} of its family",
                decap::MAX_LOCAL
            );
        }
    }
    d.vxlan_ports = decap::Few::new();
    d.geneve_ports = decap::Few::new();
    for dom in &cfg.domains {
        let ports = match dom.tunnel {
            config::Tunnel::Vxlan => &mut d.vxlan_ports,
            config::Tunnel::Geneve => &mut d.geneve_ports,
            config::Tunnel::Nvgre => continue,
        };
        if let Some(p) = dom.udp_port {
            if ports.insert(p).is_err() {
                log::error!(
                    "UDP port {p} left out: more than {} for {}",
                    decap::MAX_PORTS,
                    dom.tunnel
                );
            }
        }
    }
    d.nvgre = cfg
        .domains
        .iter()
        .any(|d| d.tunnel == config::Tunnel::Nvgre);
    d.udp6_zero_checksum = cfg.switch.ipv6_zero_udp_checksum;
    // Tagged inner frames are refused per domain by the pipeline; the wire
    // layer lets them through when any domain keeps them.
    d.allow_inner_tags = cfg.domains.iter().any(|d| d.inner_vlan == InnerVlan::Keep);
    d
}

/// A learned entry is reported again when older than this many seconds:
/// a third of the aging time, so that two refreshes may be lost before a
/// live address ages out.
pub(crate) fn refresh_after(aging_secs: u32) -> u16 {
    if aging_secs == 0 {
        return 60;
    }
    (aging_secs / 3).clamp(1, 3600) as u16
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Makes the tunnels the configuration names: flood lists, groups and
    /// static MACs behind VTEPs; starts resolving their next hops.
    pub(crate) fn configure_tunnels(&mut self) {
        let floods: Vec<(u16, IpAddr)> = self
            .cfg
            .domains
            .iter()
            .enumerate()
            .flat_map(|(d, dom)| {
                let remotes: Vec<IpAddr> = match &dom.flood {
                    Flood::HeadEnd(list) => list.clone(),
                    Flood::Group(g) => vec![*g],
                };
                remotes.into_iter().map(move |r| (d as u16, r))
            })
            .collect();
        for (d, r) in floods {
            self.configured_tunnel(d, r);
        }
        let statics: Vec<(u16, IpAddr)> = self
            .cfg
            .static_macs
            .iter()
            .filter_map(|m| match m.target {
                config::MacTarget::Vtep(ip) => Some((m.domain as u16, ip)),
                config::MacTarget::Port(_) => None,
            })
            .collect();
        for (d, ip) in statics {
            self.configured_tunnel(d, ip);
        }
    }

    /// The tunnel of a configured domain to a configured VTEP or group,
    /// made if need be; `None` when no uplink reaches it.
    pub(crate) fn configured_tunnel(&mut self, domain: u16, remote: IpAddr) -> Option<u32> {
        let u = self.cfg.uplink_for(remote)?;
        let port = self.layout.port_index(PortRef::Uplink(u));
        let now = self.now.unwrap_or_else(Instant::now);
        let (t, new) = self.tunnels.get_or_add(domain, remote, port, now);
        if new {
            self.watch_next_hop(port, remote);
            self.dirty = true;
        }
        Some(t)
    }

    /// The outer-header template of tunnel `t`, or `None` while its next
    /// hop is unresolved (or when the configuration cannot make one).
    fn template(&self, t: &TunnelEntry) -> Option<Template> {
        let u = self.layout.uplink(t.uplink)?;
        let local = self.local_addr(u, t.remote)?;
        let next_hop_mac = if t.remote.is_multicast() {
            multicast_mac(t.remote)
        } else {
            self.neighbours.mac(t.uplink, self.next_hop(u, t.remote)?)?
        };
        let dom = self.cfg.domains.get(usize::from(t.domain))?;
        let sw = &self.cfg.switch;
        let kind = kind_of(dom.tunnel);
        let mut c = template::Config::new(
            kind,
            local,
            t.remote,
            self.uplink_macs[u],
            next_hop_mac,
            dom.vni,
        );
        c.dst_port = dom.udp_port.unwrap_or(0);
        c.src_ports = PortRange {
            min: sw.udp_src_range.0,
            max: sw.udp_src_range.1,
        };
        c.ttl = match sw.ttl {
            config::Ttl::Fixed(v) => template::Ttl::Fixed(v),
            config::Ttl::Inherit => template::Ttl::Inherit { non_ip: 64 },
        };
        c.dscp = match sw.dscp {
            config::Dscp::Fixed(v) => template::Dscp::Fixed(v),
            config::Dscp::Inherit => template::Dscp::Inherit { non_ip: 0 },
        };
        c.ecn = match sw.ecn {
            config::EcnMode::Normal => nvo_packet::ecn::EcnMode::Normal,
            config::EcnMode::Compat => nvo_packet::ecn::EcnMode::Compatibility,
        };
        c.udp6_zero_checksum = sw.ipv6_zero_udp_checksum;
        c.allow_inner_tags = dom.inner_vlan == InnerVlan::Keep;
        c.nvgre_flow_id = dom.nvgre_flow_id;
        Template::new(&c).ok()
    }

    /// The whole snapshot for the current state.
    pub(crate) fn build_snapshot(&self) -> Snapshot {
        let cfg = &self.cfg;
        let mut snap = Snapshot::new(decap_config(cfg));
        snap.refresh_after = refresh_after(cfg.switch.aging_secs);
        snap.icmp_per_sec = cfg.switch.icmp_rate;
        snap.ports = (0..self.layout.len() as u16)
            .map(|p| self.port(p))
            .collect();
        snap.domains = cfg
            .domains
            .iter()
            .enumerate()
            .map(|(d, dom)| Domain {
                vni: dom.vni,
                kind: kind_of(dom.tunnel),
                port: dom.udp_port.unwrap_or(0),
                learning: dom.learning,
                keep_inner_tags: dom.inner_vlan == InnerVlan::Keep,
                members: self.members(d),
                flood: self.flood_list(d),
                neighbors: self.tenant_neighbors(d),
            })
            .collect();
        snap.tunnels = self
            .tunnels
            .list
            .iter()
            .map(|t| {
                t.as_ref().map(|t| Tunnel {
                    domain: t.domain,
                    remote: t.remote,
                    vtep: t.vtep,
                    uplink: t.uplink,
                    template: self.template(t),
                })
            })
            .collect();
        snap.reindex();
        snap
    }

    /// The snapshot's view of switch port `p`.
    fn port(&self, p: u16) -> Port {
        let up = self.links[usize::from(p)];
        let r = self.layout.port_ref(p);
        let kind = match r.and_then(|r| self.cfg.patched_to(r)) {
            Some(peer) => PortKind::Patch {
                peer: self.layout.port_index(peer),
            },
            None => match r {
                Some(PortRef::Uplink(u)) => PortKind::Uplink(Uplink {
                    mtu: self.cfg.uplinks[u].mtu,
                    mac: self.uplink_macs[u],
                }),
                Some(PortRef::Vm(i)) => {
                    let vm = &self.cfg.vm_ports[i];
                    PortKind::Vm(VmPort {
                        domain: vm.domain.map(|d| d as u16),
                        // A BTreeMap iterates sorted by VLAN id.
                        vlans: vm.vlan_map.iter().map(|(&v, &d)| (v, d as u16)).collect(),
                    })
                }
                None => PortKind::Vm(VmPort::default()),
            },
        };
        Port { kind, up }
    }

    /// The local members of domain `d`: untagged on ports whose default
    /// domain it is, tagged on ports that map a VLAN to it.
    fn members(&self, d: usize) -> Vec<Member> {
        let mut out = Vec::new();
        for (i, vm) in self.cfg.vm_ports.iter().enumerate() {
            if self.cfg.patched_to(PortRef::Vm(i)).is_some() {
                continue;
            }
            let port = self.layout.port_index(PortRef::Vm(i));
            if vm.domain == Some(d) {
                out.push(Member { port, vlan: None });
            }
            for (&v, _) in vm.vlan_map.iter().filter(|(_, &md)| md == d) {
                out.push(Member {
                    port,
                    vlan: Some(v),
                });
            }
        }
        out
    }

    /// The tenant addresses of domain `d` whose MAC a static mapping gives
    /// (from the file or the management socket), sorted, for the workers
    /// to answer ARP and ND with.
    fn tenant_neighbors(&self, d: usize) -> Vec<(IpAddr, MacAddr)> {
        let mut v: Vec<(IpAddr, MacAddr)> = self
            .macs
            .map
            .iter()
            .filter(|(k, _)| usize::from(k.domain()) == d)
            .filter_map(|(k, e)| e.ip.map(|ip| (ip, MacAddr(k.mac()))))
            .collect();
        v.sort_unstable();
        v.dedup_by_key(|e| e.0);
        v
    }

    /// Retires the tunnels that no table entry names and no domain floods
    /// to: learned VTEPs whose addresses all aged out, VTEPs a reload took
    /// out of a flood list. Returns how many.
    pub(crate) fn retire_tunnels(&mut self, now: Instant) -> usize {
        let flooded: HashSet<u32> = (0..self.cfg.domains.len())
            .flat_map(|d| self.flood_list(d))
            .collect();
        let idle: Vec<u32> = self
            .tunnels
            .iter()
            .map(|(t, _)| t)
            .filter(|&t| self.macs.refs(t) == 0 && !flooded.contains(&t))
            .collect();
        for &t in &idle {
            let Some(e) = self.tunnels.get(t).cloned() else {
                continue;
            };
            log::info!(
                "retired the tunnel to {} in domain {}: nothing names it",
                e.remote,
                self.cfg.domains[usize::from(e.domain)].name
            );
            self.tunnels.retire(t, now);
            self.unwatch_next_hop(e.uplink, e.remote);
            self.dirty = true;
        }
        idle.len()
    }

    /// The flood tunnels of domain `d`: one per head-end VTEP, or the one
    /// to its group.
    fn flood_list(&self, d: usize) -> Vec<u32> {
        let remotes: Vec<IpAddr> = match &self.cfg.domains[d].flood {
            Flood::HeadEnd(list) => list.clone(),
            Flood::Group(g) => vec![*g],
        };
        remotes
            .into_iter()
            .filter_map(|r| self.tunnels.find(d as u16, r))
            .collect()
    }
}
