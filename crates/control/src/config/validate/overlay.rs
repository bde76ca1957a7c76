//! `[[domain]]` and `[[mac]]`: VNIs, flooding, and static mappings, checked
//! against the uplinks' addresses and the VM ports.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{Result, V};
use crate::config::raw::*;
use crate::config::types::*;

/// Whether some uplink has an address of `ip`'s family.
fn family_served(uplinks: &[Uplink], ip: IpAddr) -> bool {
    uplinks.iter().any(|u| match ip {
        IpAddr::V4(_) => u.ipv4.is_some(),
        IpAddr::V6(_) => u.ipv6.is_some(),
    })
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// A tunnel destination: unicast, not ours, reachable by some uplink.
fn remote_vtep(v: &V, s: &S<String>, sc: &str, key: &str, uplinks: &[Uplink]) -> Result<IpAddr> {
    let ip = v.remote_unicast(s, sc, key)?;
    if let Some(u) = uplinks.iter().find(|u| u.owns(ip)) {
        return v.err(
            s.span(),
            sc,
            key,
            format!("{ip} is our own address (uplink \"{}\")", u.name),
        );
    }
    if !family_served(uplinks, ip) {
        return v.err(
            s.span(),
            sc,
            key,
            format!(
                "{ip} is {}, but no uplink has an {} address",
                family(ip),
                family(ip)
            ),
        );
    }
    Ok(ip)
}

pub(super) fn domains(v: &mut V, raw: &[S<RawDomain>], uplinks: &[Uplink]) -> Result<Vec<Domain>> {
    if let Some(d) = raw.get(MAX_DOMAINS) {
        return v.err(
            d.span(),
            "",
            "domain",
            format!("more than {MAX_DOMAINS} domains"),
        );
    }
    let mut out: Vec<Domain> = Vec::new();
    // (tunnel, udp port, vni) -> domain index: decapsulation must find one.
    let mut by_vni: HashMap<(Tunnel, Option<u16>, u32), usize> = HashMap::new();
    // A UDP port can only be parsed as one tunnel header.
    let mut port_kind: HashMap<u16, (Tunnel, usize)> = HashMap::new();
    for (i, d) in raw.iter().enumerate() {
        let d = d.get_ref();
        let name = v.name(&d.name, &format!("domain #{}", i + 1))?;
        let scope = format!("domain \"{name}\"");
        let sc = scope.as_str();
        if let Some((_, first)) = v.domains.get(&name) {
            return v.err(
                d.name.span(),
                sc,
                "name",
                format!(
                    "\"{name}\" is already the name of the domain at line {}",
                    v.line_of(first)
                ),
            );
        }

        let tunnel = v.word(
            &d.tunnel,
            &[
                ("vxlan", Tunnel::Vxlan),
                ("nvgre", Tunnel::Nvgre),
                ("geneve", Tunnel::Geneve),
            ],
            Tunnel::Vxlan,
            sc,
            "tunnel",
        )?;
        let vni: u32 = v.int(&d.vni, 0..=0xFF_FFFF, sc, "vni")?;
        // RFC 7637 s3.2: VSIDs 0-0xFFF are reserved, 0xFFFFFF is for vendors.
        if tunnel == Tunnel::Nvgre && (vni <= 0xFFF || vni == 0xFF_FFFF) {
            return v.err(
                d.vni.span(),
                sc,
                "vni",
                format!("{vni} is a reserved NVGRE VSID (0..=4095 and 16777215, RFC 7637)"),
            );
        }
        let udp_port = match (&d.udp_port, tunnel.default_udp_port()) {
            (Some(p), None) => {
                return v.err(
                    p.span(),
                    sc,
                    "udp_port",
                    format!("is not allowed with tunnel \"{tunnel}\", which has no UDP header"),
                );
            }
            (Some(p), Some(_)) => Some(v.int(p, 1..=65535, sc, "udp_port")?),
            (None, default) => default,
        };
        let vni_span = d.vni.span();
        if let Some(&j) = by_vni.get(&(tunnel, udp_port, vni)) {
            return v.err(
                vni_span,
                sc,
                "vni",
                format!(
                    "{vni} is already used by domain \"{}\" with the same tunnel and port",
                    out[j].name
                ),
            );
        }
        by_vni.insert((tunnel, udp_port, vni), i);
        if let Some(port) = udp_port {
            let used = port_kind.values().filter(|&&(t, _)| t == tunnel).count();
            let refusal = match port_kind.get(&port) {
                Some(&(other, j)) if other != tunnel => Some(format!(
                    "{port} already carries {other} for domain \"{}\"; one port, one tunnel type",
                    out[j].name
                )),
                None if used == nvo_packet::decap::MAX_PORTS => Some(format!(
                    "{tunnel} domains may use at most {} distinct UDP ports",
                    nvo_packet::decap::MAX_PORTS
                )),
                _ => None,
            };
            if let Some(reason) = refusal {
                let span = d.udp_port.as_ref().map_or(d.name.span(), S::span);
                return v.err(span, sc, "udp_port", reason);
            }
            port_kind.entry(port).or_insert((tunnel, i));
        }

        let learning = d.learning.as_ref().map_or(true, |b| *b.get_ref());
        let flood = match (&d.flood, &d.group) {
            (Some(_), Some(g)) => {
                return v.err(
                    g.span(),
                    sc,
                    "group",
                    "cannot be given together with flood; choose one".into(),
                );
            }
            (_, Some(g)) => Flood::Group(group(v, g, sc, uplinks)?),
            (Some(list), None) => {
                let mut ips = Vec::new();
                for entry in list.get_ref() {
                    let ip = remote_vtep(v, entry, sc, "flood", uplinks)?;
                    if ips.contains(&ip) {
                        return v.err(entry.span(), sc, "flood", format!("{ip} is listed twice"));
                    }
                    ips.push(ip);
                }
                Flood::HeadEnd(ips)
            }
            (None, None) => Flood::HeadEnd(Vec::new()),
        };
        let inner_vlan = v.word(
            &d.inner_vlan,
            &[("drop", InnerVlan::Drop), ("keep", InnerVlan::Keep)],
            InnerVlan::Drop,
            sc,
            "inner_vlan",
        )?;
        if tunnel == Tunnel::Nvgre && inner_vlan == InnerVlan::Keep {
            let span = d.inner_vlan.as_ref().map_or(d.name.span(), S::span);
            return v.err(
                span,
                sc,
                "inner_vlan",
                "\"keep\" is not allowed with nvgre: RFC 7637 forbids tagged inner frames".into(),
            );
        }
        let nvgre_flow_id = match &d.nvgre_flow_id {
            Some(b) if tunnel != Tunnel::Nvgre => {
                return v.err(
                    b.span(),
                    sc,
                    "nvgre_flow_id",
                    format!("is only for tunnel \"nvgre\", not \"{tunnel}\""),
                );
            }
            Some(b) => *b.get_ref(),
            None => true,
        };
        v.domains.insert(name.clone(), (i, d.name.span()));
        out.push(Domain {
            name,
            vni,
            tunnel,
            udp_port,
            learning,
            flood,
            inner_vlan,
            nvgre_flow_id,
        });
    }
    Ok(out)
}

fn group(v: &V, g: &S<String>, sc: &str, uplinks: &[Uplink]) -> Result<IpAddr> {
    let ip = v.ip(g, sc, "group")?;
    let ok = match ip {
        // 224.0.0.0/24 is link-local control traffic (IGMP itself, OSPF...).
        IpAddr::V4(a) => a.is_multicast() && a.octets()[..3] != [224, 0, 0],
        // Scope (low nibble of the second byte) at least link-local.
        IpAddr::V6(a) => a.is_multicast() && a.octets()[1] & 0x0f >= 2,
    };
    if !ok {
        return v.err(
            g.span(),
            sc,
            "group",
            format!("{ip} is not a usable multicast group (224.0.1.0 and up, or ff02:: and wider)"),
        );
    }
    if !family_served(uplinks, ip) {
        return v.err(
            g.span(),
            sc,
            "group",
            format!(
                "{ip} is {}, but no uplink has an {} address",
                family(ip),
                family(ip)
            ),
        );
    }
    Ok(ip)
}

pub(super) fn static_macs(
    v: &V,
    raw: &[S<RawMac>],
    vm_ports: &[VmPort],
    uplinks: &[Uplink],
) -> Result<Vec<StaticMac>> {
    let mut out: Vec<StaticMac> = Vec::new();
    let mut seen: HashMap<(DomainIdx, MacAddr), usize> = HashMap::new();
    let mut seen_ip: HashSet<(DomainIdx, IpAddr)> = HashSet::new();
    for (i, m) in raw.iter().enumerate() {
        let m = m.get_ref();
        let scope = format!("mac \"{}\"", m.mac.get_ref());
        let sc = scope.as_str();
        let domain = v.domain_ref(&m.domain, sc, "domain")?;
        let Ok(mac) = m.mac.get_ref().parse::<MacAddr>() else {
            return v.err(
                m.mac.span(),
                &format!("mac #{}", i + 1),
                "mac",
                format!(
                    "\"{}\" is not a MAC address (six hex pairs separated by ':')",
                    m.mac.get_ref()
                ),
            );
        };
        if mac.is_multicast() || mac.0 == [0; 6] {
            return v.err(
                m.mac.span(),
                sc,
                "mac",
                format!("{mac} is not a unicast address"),
            );
        }
        if let Some(&j) = seen.get(&(domain, mac)) {
            return v.err(
                m.mac.span(),
                sc,
                "mac",
                format!(
                    "{mac} is already mapped in domain \"{}\" (mac #{})",
                    m.domain.get_ref(),
                    j + 1
                ),
            );
        }
        seen.insert((domain, mac), i);
        let target = match (&m.vtep, &m.port) {
            (Some(_), Some(p)) => {
                return v.err(
                    p.span(),
                    sc,
                    "port",
                    "cannot be given together with vtep".into(),
                );
            }
            (None, None) => {
                return v.err(m.mac.span(), sc, "", "needs either vtep or port".into());
            }
            (Some(t), None) => MacTarget::Vtep(remote_vtep(v, t, sc, "vtep", uplinks)?),
            (None, Some(p)) => {
                let Some(k) = vm_ports.iter().position(|vm| &vm.name == p.get_ref()) else {
                    return v.err(
                        p.span(),
                        sc,
                        "port",
                        format!("\"{}\" is not a vm_port name", p.get_ref()),
                    );
                };
                if !vm_ports[k].serves(domain) {
                    return v.err(
                        p.span(),
                        sc,
                        "port",
                        format!(
                            "vm_port \"{}\" is not in domain \"{}\"",
                            p.get_ref(),
                            m.domain.get_ref()
                        ),
                    );
                }
                MacTarget::Port(k)
            }
        };
        let ip = match &m.ip {
            None => None,
            Some(s) => {
                let ip = v.ip(s, sc, "ip")?;
                if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
                    return v.err(s.span(), sc, "ip", format!("{ip} is not a host address"));
                }
                if !seen_ip.insert((domain, ip)) {
                    return v.err(
                        s.span(),
                        sc,
                        "ip",
                        format!(
                            "{ip} is already given to another MAC in domain \"{}\"",
                            m.domain.get_ref()
                        ),
                    );
                }
                Some(ip)
            }
        };
        out.push(StaticMac {
            domain,
            mac,
            target,
            ip,
        });
    }
    Ok(out)
}
