//! Management requests, answered on the control thread between its other
//! duties: the live state (link states, the MAC table, next hops), the
//! counters summed over workers, static MACs at run time, reload and
//! shutdown.
//!
//! Adding and removing domains and ports at run time is not supported yet
//! (`AddDomain`, `DelDomain`, `AddPort`, `DelPort` answer
//! `unsupported`): a new port needs queues set up by the DPDK side, and
//! the per-worker counters are sized once at start.

use std::collections::BTreeMap;
use std::net::IpAddr;

use nvo_dataplane::{Frame, Totals};
use nvo_table::{Dest, Key};

use super::learning::Origin;
use super::{ControlPlane, Transmit};
use crate::config::{self, MacTarget, PortRef};
use crate::mgmt::{
    domains_of, ports_of, ErrorKind, MacInfo, MacOrigin, MacSpec, Request, Response, VtepInfo,
};

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Answers one management request. Called by the control thread with
    /// the requests it takes from `Requests::try_next`. `AddDomain`,
    /// `DelDomain`, `AddPort` and `DelPort` answer `unsupported` for now;
    /// `Reload` needs [`ControlPlane::set_config_path`].
    pub fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Version => Response::Version {
                version: format!("nvo {}", env!("CARGO_PKG_VERSION")),
            },
            Request::ShowPorts => Response::Ports {
                ports: ports_of(&self.cfg, |p| {
                    self.links[usize::from(self.layout.port_index(p))]
                }),
            },
            Request::ShowDomains => Response::Domains {
                domains: domains_of(&self.cfg, |d| self.macs.count_domain(d as u16)),
            },
            Request::ShowVteps => Response::Vteps {
                vteps: self.vteps(),
            },
            Request::ShowMacs { domain } => self.show_macs(domain.as_deref()),
            Request::ShowCounters => Response::Counters {
                counters: self.counters(),
            },
            Request::AddMac(spec) => self.add_mac(spec),
            Request::DelMac { domain, mac } => self.del_mac(&domain, mac),
            Request::AddDomain(_) => Response::unsupported("adding a domain at run time"),
            Request::DelDomain { .. } => Response::unsupported("removing a domain at run time"),
            Request::AddPort(_) => Response::unsupported("adding a port at run time"),
            Request::DelPort { .. } => Response::unsupported("removing a port at run time"),
            Request::Reload => self.reload(),
            Request::Shutdown => {
                log::info!("shutdown requested over the management socket");
                self.shutdown = true;
                Response::Done
            }
        }
    }

    /// Totals summed over workers.
    pub fn totals(&self) -> Totals {
        self.workers
            .iter()
            .map(|w| w.counters.totals())
            .fold(Totals::default(), |a, b| a + b)
    }

    /// Every remote VTEP and group with a tunnel, configured or learned,
    /// sorted by address, with its next-hop MAC once resolved.
    fn vteps(&self) -> Vec<VtepInfo> {
        let mut by_ip: BTreeMap<IpAddr, (u16, Vec<u16>)> = BTreeMap::new();
        for (_, t) in self.tunnels.iter() {
            let e = by_ip.entry(t.remote).or_insert((t.uplink, Vec::new()));
            if !e.1.contains(&t.domain) {
                e.1.push(t.domain);
            }
        }
        by_ip
            .into_iter()
            .map(|(ip, (uplink, mut ds))| {
                ds.sort_unstable();
                let hop = self
                    .layout
                    .uplink(uplink)
                    .and_then(|u| self.next_hop(u, ip));
                let (mac, stale) = if ip.is_multicast() {
                    (Some(super::build::multicast_mac(ip)), false)
                } else {
                    hop.map_or((None, false), |hop| {
                        (
                            self.neighbours.mac(uplink, hop),
                            self.neighbours.stale(uplink, hop),
                        )
                    })
                };
                VtepInfo {
                    ip,
                    uplink: self.port_name(uplink),
                    next_hop_mac: mac.map(|m| config::MacAddr(m.0)),
                    stale,
                    domains: ds
                        .iter()
                        .map(|&d| self.cfg.domains[usize::from(d)].name.clone())
                        .collect(),
                }
            })
            .collect()
    }

    /// The live table, of one domain or all, sorted by domain then MAC.
    fn show_macs(&self, domain: Option<&str>) -> Response {
        let range = match domain {
            None => Key::new(0, [0; 6])..=Key::new(u16::MAX, [0xff; 6]),
            Some(name) => match self.cfg.domain_by_name(name) {
                Some(d) => Key::new(d as u16, [0; 6])..=Key::new(d as u16, [0xff; 6]),
                None => return not_found(format!("no domain named {name:?}")),
            },
        };
        let macs = self
            .macs
            .map
            .range(range)
            .map(|(k, e)| {
                let (port, vtep) = match e.dest {
                    Dest::Local(p) => (Some(self.port_name(p)), None),
                    Dest::Remote(t) => (None, self.tunnels.get(t).map(|t| t.remote)),
                    // A source blocked by its port's limit: show the port.
                    Dest::Drop => (e.port.map(|p| self.port_name(p)), None),
                };
                let age = match (e.origin, e.seen, self.now) {
                    (Origin::Learned, Some(s), Some(now)) => {
                        Some(now.saturating_duration_since(s).as_secs())
                    }
                    _ => None,
                };
                MacInfo {
                    domain: self.cfg.domains[usize::from(k.domain())].name.clone(),
                    mac: config::MacAddr(k.mac()),
                    port,
                    vtep,
                    ip: e.ip,
                    origin: match e.origin {
                        Origin::Learned => MacOrigin::Learned,
                        Origin::File | Origin::Api => MacOrigin::Static,
                    },
                    age_secs: age,
                }
            })
            .collect();
        Response::Macs { macs }
    }

    /// Adds a static MAC at run time; it outlives reloads.
    fn add_mac(&mut self, spec: MacSpec) -> Response {
        let Some(d) = self.cfg.domain_by_name(&spec.domain) else {
            return not_found(format!("no domain named {:?}", spec.domain));
        };
        if spec.mac.is_multicast() {
            return invalid(format!(
                "{} is a group address, not a unicast MAC",
                spec.mac
            ));
        }
        let target = match (&spec.port, spec.vtep) {
            (Some(name), None) => match self.cfg.port_by_name(name) {
                Some(PortRef::Vm(i)) if self.cfg.vm_ports[i].serves(d) => MacTarget::Port(i),
                Some(PortRef::Vm(_)) => {
                    return invalid(format!("port {name:?} is not in domain {:?}", spec.domain))
                }
                Some(PortRef::Uplink(_)) => {
                    return invalid(format!("{name:?} is an uplink, not a VM port"))
                }
                None => return not_found(format!("no port named {name:?}")),
            },
            (None, Some(ip)) => MacTarget::Vtep(ip),
            _ => return invalid("give exactly one of port and vtep"),
        };
        let dest = match target {
            MacTarget::Port(i) => Dest::Local(self.layout.port_index(PortRef::Vm(i))),
            MacTarget::Vtep(ip) => {
                if self.cfg.uplinks.iter().any(|u| u.owns(ip)) || ip.is_multicast() {
                    return invalid(format!("{ip} is not a remote VTEP address"));
                }
                match self.configured_tunnel(d as u16, ip) {
                    Some(t) => Dest::Remote(t),
                    None => return invalid(format!("no uplink reaches VTEP {ip}")),
                }
            }
        };
        let key = Key::new(d as u16, spec.mac.0);
        match self.put_static(key, dest, spec.ip, Origin::Api) {
            Ok(()) => {
                log::info!("static MAC {} added in domain {}", spec.mac, spec.domain);
                // A new tunnel, or an address the workers now answer ARP
                // for, needs a new snapshot.
                if spec.ip.is_some() {
                    self.dirty = true;
                }
                if self.dirty {
                    self.publish();
                }
                Response::Done
            }
            Err(e) => Response::error(ErrorKind::Unavailable, format!("MAC table: {e}")),
        }
    }

    /// Removes a static or learned MAC.
    fn del_mac(&mut self, domain: &str, mac: config::MacAddr) -> Response {
        let Some(d) = self.cfg.domain_by_name(domain) else {
            return not_found(format!("no domain named {domain:?}"));
        };
        match self.remove_entry(Key::new(d as u16, mac.0)) {
            Some(_) => {
                log::info!("MAC {mac} removed from domain {domain}");
                Response::Done
            }
            None => not_found(format!("no entry for {mac} in domain {domain:?}")),
        }
    }
}

fn not_found(msg: impl Into<String>) -> Response {
    Response::error(ErrorKind::NotFound, msg)
}

fn invalid(msg: impl Into<String>) -> Response {
    Response::error(ErrorKind::Invalid, msg)
}
