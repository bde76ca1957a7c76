//! The snapshot the workers forward by, built whole from the running
//! configuration, the link states, the tunnel registry and the resolved
//! neighbours. Rebuilding everything on each change is cheap at control
//! plane rates (a few domains and tunnels, a few changes a second) and
//! leaves no room for a half-updated index.

use std::collections::HashMap;
use std::net::IpAddr;

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

/// Every tunnel ever made. Tunnels are never retired: a tunnel index in
/// the table must stay valid while any entry may still name it.
#[derive(Debug, Default)]
pub(crate) struct Tunnels {
    pub(crate) list: Vec<TunnelEntry>,
    by_key: HashMap<(u16, IpAddr), u32>,
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
    /// be; the flag says whether it is new.
    pub(crate) fn get_or_add(&mut self, domain: u16, remote: IpAddr, uplink: u16) -> (u32, bool) {
        if let Some(t) = self.find(domain, remote) {
            return (t, false);
        }
        let next = self.vteps.len() as u32;
        let vtep = *self.vtep_index.entry(remote).or_insert(next);
        if vtep == next {
            self.vteps.push(remote);
        }
        let t = self.list.len() as u32;
        self.list.push(TunnelEntry {
            domain,
            remote,
            vtep,
            uplink,
        });
        self.by_key.insert((domain, remote), t);
        (t, true)
    }
}

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
        let (t, new) = self.tunnels.get_or_add(domain, remote, port);
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
                Some(Tunnel {
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
