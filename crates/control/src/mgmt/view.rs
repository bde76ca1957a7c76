//! The configured part of `show` answers, built from a [`Config`]: the
//! switch adds what only it knows (link state, table sizes, learned
//! entries) through the closures it passes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{DomainInfo, MacInfo, MacOrigin, PortInfo, PortKind, VtepInfo};
use crate::config::{Config, DomainIdx, Flood, MacTarget, PortRef};

/// Every port, VM ports first, in file order; `up` says whether a port's
/// link is up (or its guest connected).
pub fn ports_of(config: &Config, up: impl Fn(PortRef) -> bool) -> Vec<PortInfo> {
    let patched = |p| {
        config
            .patched_to(p)
            .map(|q| config.port_name(q).to_string())
    };
    let vms = config.vm_ports.iter().enumerate().map(|(i, p)| {
        let mut domains: Vec<DomainIdx> = p.domain.into_iter().collect();
        domains.extend(p.vlan_map.values());
        PortInfo {
            name: p.name.clone(),
            kind: PortKind::Vm,
            device: p.socket.display().to_string(),
            up: up(PortRef::Vm(i)),
            domains: domains
                .iter()
                .map(|&d| config.domains[d].name.clone())
                .collect(),
            patched_to: patched(PortRef::Vm(i)),
        }
    });
    let uplinks = config.uplinks.iter().enumerate().map(|(i, u)| PortInfo {
        name: u.name.clone(),
        kind: PortKind::Uplink,
        device: u.device.as_str().to_string(),
        up: up(PortRef::Uplink(i)),
        domains: Vec::new(),
        patched_to: patched(PortRef::Uplink(i)),
    });
    vms.chain(uplinks).collect()
}

/// Every domain, in file order; `macs` gives its entry count in the table.
pub fn domains_of(config: &Config, macs: impl Fn(DomainIdx) -> u64) -> Vec<DomainInfo> {
    config
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (flood, group) = match &d.flood {
                Flood::HeadEnd(list) => (list.clone(), None),
                Flood::Group(g) => (Vec::new(), Some(*g)),
            };
            DomainInfo {
                name: d.name.clone(),
                vni: d.vni,
                tunnel: d.tunnel,
                udp_port: d.udp_port,
                learning: d.learning,
                ports: config
                    .vm_ports
                    .iter()
                    .filter(|p| p.serves(i))
                    .map(|p| p.name.clone())
                    .collect(),
                flood,
                group,
                macs: macs(i),
            }
        })
        .collect()
}

/// The VTEPs the configuration names (flood lists and static MACs),
/// sorted by address, without next-hop MACs (only the switch resolves
/// those).
pub fn vteps_of(config: &Config) -> Vec<VtepInfo> {
    let mut by_ip: BTreeMap<IpAddr, Vec<DomainIdx>> = BTreeMap::new();
    let mut note = |ip: IpAddr, d: DomainIdx| {
        let ds = by_ip.entry(ip).or_default();
        if !ds.contains(&d) {
            ds.push(d);
        }
    };
    for (i, d) in config.domains.iter().enumerate() {
        if let Flood::HeadEnd(list) = &d.flood {
            list.iter().for_each(|&ip| note(ip, i));
        }
    }
    for m in &config.static_macs {
        if let MacTarget::Vtep(ip) = m.target {
            note(ip, m.domain);
        }
    }
    by_ip
        .into_iter()
        .map(|(ip, mut ds)| {
            ds.sort_unstable();
            VtepInfo {
                ip,
                uplink: config
                    .uplink_for(ip)
                    .map_or_else(String::new, |u| config.uplinks[u].name.clone()),
                next_hop_mac: None,
                stale: false,
                domains: ds.iter().map(|&d| config.domains[d].name.clone()).collect(),
            }
        })
        .collect()
}

/// The static MACs of one domain (by name) or of all, sorted by domain
/// and MAC; `None` when the domain does not exist.
pub fn static_macs_of(config: &Config, domain: Option<&str>) -> Option<Vec<MacInfo>> {
    let only = match domain {
        Some(name) => Some(config.domain_by_name(name)?),
        None => None,
    };
    let mut out: Vec<(DomainIdx, MacInfo)> = config
        .static_macs
        .iter()
        .filter(|m| only.map_or(true, |d| d == m.domain))
        .map(|m| {
            let (port, vtep) = match m.target {
                MacTarget::Port(p) => (Some(config.vm_ports[p].name.clone()), None),
                MacTarget::Vtep(ip) => (None, Some(ip)),
            };
            let info = MacInfo {
                domain: config.domains[m.domain].name.clone(),
                mac: m.mac,
                port,
                vtep,
                ip: m.ip,
                origin: MacOrigin::Static,
                age_secs: None,
            };
            (m.domain, info)
        })
        .collect();
    out.sort_by_key(|(d, m)| (*d, m.mac));
    Some(out.into_iter().map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn overlay() -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/overlay.toml");
        Config::load(path).unwrap()
    }

    #[test]
    fn ports_list_vm_ports_then_uplinks_with_their_domains() {
        let c = overlay();
        let ports = ports_of(&c, |p| p == PortRef::Uplink(0));
        let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["blue1", "red1", "up0"]);
        assert_eq!(ports[0].domains, ["blue"]);
        assert!(!ports[0].up && ports[2].up);
        assert_eq!(ports[2].kind, PortKind::Uplink);
    }

    #[test]
    fn domains_show_flooding_and_local_ports() {
        let c = overlay();
        let ds = domains_of(&c, |d| d as u64 * 10);
        assert_eq!(ds[0].ports, ["blue1"]);
        assert_eq!(ds[0].flood, ["198.18.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(ds[2].group, Some("239.1.1.7".parse().unwrap()));
        assert_eq!(ds[2].macs, 20);
    }

    #[test]
    fn vteps_gather_flood_lists_and_static_macs_once() {
        let c = overlay();
        let v = vteps_of(&c);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].ip, "198.18.0.2".parse::<IpAddr>().unwrap());
        // Named by blue's flood list and by a static MAC of blue: once.
        assert_eq!(v[0].domains, ["blue"]);
        assert_eq!(v[1].domains, ["red"]);
        assert_eq!(v[1].uplink, "up0");
    }

    #[test]
    fn static_macs_filter_by_domain() {
        let c = overlay();
        assert_eq!(static_macs_of(&c, None).unwrap().len(), 2);
        let blue = static_macs_of(&c, Some("blue")).unwrap();
        assert_eq!(blue[0].port.as_deref(), Some("blue1"));
        assert!(static_macs_of(&c, Some("red")).unwrap().is_empty());
        assert!(static_macs_of(&c, Some("nope")).is_none());
    }
}
