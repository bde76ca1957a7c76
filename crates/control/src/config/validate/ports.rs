//! `[[uplink]]`, `[[vm_port]]` and `[[patch]]`: names, devices, VTEP
//! addresses, and which ports switch and which are patched.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Result, V};
use crate::config::raw::*;
use crate::config::types::*;

/// A port name, unique across VM ports and uplinks (patches name either).
fn port_name(v: &mut V, name: &S<String>, kind: &str, port: PortRef) -> Result<(String, String)> {
    let scope = format!("{kind} #{}", index_of(port) + 1);
    let n = v.name(name, &scope)?;
    let scope = format!("{kind} \"{n}\"");
    if let Some((_, first)) = v.ports.get(&n) {
        return v.err(
            name.span(),
            &scope,
            "name",
            format!(
                "\"{n}\" is already the name of the port at line {}",
                v.line_of(first)
            ),
        );
    }
    v.ports.insert(n.clone(), (port, name.span()));
    Ok((n, scope))
}

fn index_of(port: PortRef) -> usize {
    match port {
        PortRef::Vm(i) | PortRef::Uplink(i) => i,
    }
}

pub(super) fn uplinks(v: &mut V, raw: &[S<RawUplink>], eal: &Eal) -> Result<Vec<Uplink>> {
    let mut out: Vec<Uplink> = Vec::new();
    let mut devices: HashMap<String, usize> = HashMap::new();
    let mut addrs: HashMap<IpAddr, usize> = HashMap::new();
    let no_pci = eal.args.iter().any(|a| a == "--no-pci");
    for (i, r) in raw.iter().enumerate() {
        let r = r.get_ref();
        let (name, sc) = port_name(v, &r.name, "uplink", PortRef::Uplink(i))?;
        let sc = sc.as_str();

        let dev = r.device.get_ref().trim();
        let device = if is_pci(dev) {
            if no_pci {
                return v.err(
                    r.device.span(),
                    sc,
                    "device",
                    format!("\"{dev}\" is a PCI device but [eal] args has --no-pci"),
                );
            }
            Device::Pci(dev.to_string())
        } else if is_vdev(dev) {
            Device::Vdev(dev.to_string())
        } else {
            return v.err(
                r.device.span(),
                sc,
                "device",
                format!(
                    "\"{dev}\" is neither a PCI address (0000:01:00.0) nor a DPDK vdev (net_...)"
                ),
            );
        };
        // DPDK identifies a device by its address or vdev name, before any ','.
        let id = dev.split(',').next().unwrap_or(dev).to_ascii_lowercase();
        if let Some(&j) = devices.get(&id) {
            return v.err(
                r.device.span(),
                sc,
                "device",
                format!(
                    "\"{id}\" is already the device of uplink \"{}\"",
                    out[j].name
                ),
            );
        }
        devices.insert(id, i);

        let ipv4 = match &r.ipv4 {
            Some(s) => Some(cidr4(v, s, sc)?),
            None => None,
        };
        let ipv6 = match &r.ipv6 {
            Some(s) => Some(cidr6(v, s, sc)?),
            None => None,
        };
        for (ip, field) in [
            (ipv4.map(|c| IpAddr::V4(c.addr)), &r.ipv4),
            (ipv6.map(|c| IpAddr::V6(c.addr)), &r.ipv6),
        ] {
            let (Some(ip), Some(field)) = (ip, field) else {
                continue;
            };
            if let Some(&j) = addrs.get(&ip) {
                return v.err(
                    field.span(),
                    sc,
                    if ip.is_ipv4() { "ipv4" } else { "ipv6" },
                    format!("{ip} is already the address of uplink \"{}\"", out[j].name),
                );
            }
            let family = addrs.keys().filter(|a| a.is_ipv4() == ip.is_ipv4()).count();
            if family == nvo_packet::decap::MAX_LOCAL {
                return v.err(
                    field.span(),
                    sc,
                    if ip.is_ipv4() { "ipv4" } else { "ipv6" },
                    format!(
                        "at most {} uplinks may have an address of one family",
                        nvo_packet::decap::MAX_LOCAL
                    ),
                );
            }
            addrs.insert(ip, i);
        }

        let gateway4 = match &r.gateway4 {
            None => None,
            Some(g) => {
                let own = ipv4.map(|c| (IpAddr::V4(c.addr), c.prefix_len));
                let on_link =
                    |ip| matches!(ip, IpAddr::V4(a) if ipv4.is_some_and(|c| c.contains(a)));
                match gateway(v, g, sc, "gateway4", own, on_link)? {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                }
            }
        };
        let gateway6 = match &r.gateway6 {
            None => None,
            Some(g) => {
                let own = ipv6.map(|c| (IpAddr::V6(c.addr), c.prefix_len));
                // Routers often advertise themselves by link-local address.
                let on_link = |ip| {
                    matches!(ip, IpAddr::V6(a)
                        if a.segments()[0] & 0xffc0 == 0xfe80
                            || ipv6.is_some_and(|c| c.contains(a)))
                };
                match gateway(v, g, sc, "gateway6", own, on_link)? {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None,
                }
            }
        };

        let mut neighbors = BTreeMap::new();
        if let Some(map) = &r.neighbors {
            for (ip, mac) in map.get_ref() {
                let on_link = match ip.parse::<IpAddr>() {
                    Ok(IpAddr::V4(a)) if ipv4.is_some_and(|c| c.contains(a) && c.addr != a) => {
                        Some(IpAddr::V4(a))
                    }
                    Ok(IpAddr::V6(a)) if ipv6.is_some_and(|c| c.contains(a) && c.addr != a) => {
                        Some(IpAddr::V6(a))
                    }
                    _ => None,
                };
                let Some(ip) = on_link else {
                    return v.err(
                        mac.span(),
                        sc,
                        "neighbors",
                        format!("{ip} is not another address on one of this uplink's prefixes"),
                    );
                };
                let m = match mac.get_ref().parse::<MacAddr>() {
                    Ok(m) if !m.is_multicast() && m.0 != [0; 6] => m,
                    _ => {
                        return v.err(
                            mac.span(),
                            sc,
                            "neighbors",
                            format!("\"{}\" is not a unicast MAC address", mac.get_ref()),
                        )
                    }
                };
                neighbors.insert(ip, m);
            }
        }

        // IPv6 requires every link to carry 1280-byte packets (RFC 8200 s5).
        let min_mtu = if ipv6.is_some() { 1280 } else { 576 };
        let mtu = v.opt_int(&r.mtu, min_mtu..=9216, 1500, sc, "mtu")?;
        let queues = v.opt_int(&r.queues, 1..=i64::from(MAX_QUEUES), 1, sc, "queues")?;
        out.push(Uplink {
            name,
            device,
            ipv4,
            ipv6,
            gateway4,
            gateway6,
            neighbors,
            mtu,
            queues,
        });
    }
    Ok(out)
}

/// A next hop: another address of the family of `key`'s own address
/// (`own`, with its prefix length), on its link.
fn gateway(
    v: &V,
    g: &S<String>,
    sc: &str,
    key: &str,
    own: Option<(IpAddr, u8)>,
    on_link: impl Fn(IpAddr) -> bool,
) -> Result<IpAddr> {
    let (fam, field) = if key == "gateway4" {
        ("IPv4", "ipv4")
    } else {
        ("IPv6", "ipv6")
    };
    let Some((own, len)) = own else {
        return v.err(
            g.span(),
            sc,
            key,
            format!("needs an {field} address on the uplink"),
        );
    };
    let gw = match g.get_ref().parse::<IpAddr>() {
        Ok(ip) if ip.is_ipv4() == own.is_ipv4() => ip,
        _ => {
            return v.err(
                g.span(),
                sc,
                key,
                format!("\"{}\" is not an {fam} address", g.get_ref()),
            )
        }
    };
    if gw == own || !on_link(gw) {
        let also = if fam == "IPv6" {
            " or a link-local address"
        } else {
            ""
        };
        return v.err(
            g.span(),
            sc,
            key,
            format!("{gw} must be another address on {own}/{len}{also}"),
        );
    }
    Ok(gw)
}

/// `DDDD:BB:DD.F` or `BB:DD.F`, optionally followed by `,devargs`.
fn is_pci(s: &str) -> bool {
    let addr = s.split(',').next().unwrap_or(s);
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = addr.split(':').collect();
    let (bus, devfn) = match parts.as_slice() {
        [dom, bus, devfn] if hex(dom, 4) => (*bus, *devfn),
        [bus, devfn] => (*bus, *devfn),
        _ => return false,
    };
    let Some((dev, func)) = devfn.split_once('.') else {
        return false;
    };
    hex(bus, 2) && hex(dev, 2) && func.len() == 1 && matches!(func.as_bytes()[0], b'0'..=b'7')
}

/// `net_<driver><n>[,args]`: what `--vdev` takes for a network device.
fn is_vdev(s: &str) -> bool {
    let name = s.split(',').next().unwrap_or(s);
    name.len() > 4
        && name.starts_with("net_")
        && name[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn split_cidr<'s>(v: &V, s: &'s S<String>, sc: &str, key: &str, max: u8) -> Result<(&'s str, u8)> {
    let text = s.get_ref();
    let Some((addr, len)) = text.split_once('/') else {
        return v.err(
            s.span(),
            sc,
            key,
            format!("\"{text}\" needs a prefix length, as in address/len"),
        );
    };
    match len.parse::<u8>() {
        Ok(l) if (1..=max).contains(&l) => Ok((addr, l)),
        _ => v.err(
            s.span(),
            sc,
            key,
            format!("\"{text}\" has a prefix length outside 1..={max}"),
        ),
    }
}

fn cidr4(v: &V, s: &S<String>, sc: &str) -> Result<Ipv4Cidr> {
    let (addr, prefix_len) = split_cidr(v, s, sc, "ipv4", 32)?;
    let Ok(addr) = addr.parse::<Ipv4Addr>() else {
        return v.err(
            s.span(),
            sc,
            "ipv4",
            format!("\"{addr}\" is not an IPv4 address"),
        );
    };
    if addr.is_multicast() || addr.is_broadcast() || addr.is_unspecified() || addr.is_loopback() {
        return v.err(
            s.span(),
            sc,
            "ipv4",
            format!("{addr} cannot be a VTEP address"),
        );
    }
    Ok(Ipv4Cidr { addr, prefix_len })
}

fn cidr6(v: &V, s: &S<String>, sc: &str) -> Result<Ipv6Cidr> {
    let (addr, prefix_len) = split_cidr(v, s, sc, "ipv6", 128)?;
    let Ok(addr) = addr.parse::<Ipv6Addr>() else {
        return v.err(
            s.span(),
            sc,
            "ipv6",
            format!("\"{addr}\" is not an IPv6 address"),
        );
    };
    if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
        return v.err(
            s.span(),
            sc,
            "ipv6",
            format!("{addr} cannot be a VTEP address"),
        );
    }
    Ok(Ipv6Cidr { addr, prefix_len })
}

pub(super) fn vm_ports(v: &mut V, raw: &[S<RawVmPort>], sw: &Switch) -> Result<Vec<VmPort>> {
    let mut out: Vec<VmPort> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let r = r.get_ref();
        let (name, scope) = port_name(v, &r.name, "vm_port", PortRef::Vm(i))?;
        let sc = scope.as_str();
        let socket = v.non_empty_path(&r.socket, sc, "socket")?;
        if socket == sw.ctl_socket {
            return v.err(
                r.socket.span(),
                sc,
                "socket",
                "is the [switch] ctl_socket".into(),
            );
        }
        if let Some(other) = out.iter().find(|p| p.socket == socket) {
            return v.err(
                r.socket.span(),
                sc,
                "socket",
                format!(
                    "\"{}\" is already the socket of vm_port \"{}\"",
                    socket.display(),
                    other.name
                ),
            );
        }
        let mode = v.word(
            &r.mode,
            &[("server", VhostMode::Server), ("client", VhostMode::Client)],
            VhostMode::Server,
            sc,
            "mode",
        )?;
        let queues = v.opt_int(&r.queues, 1..=i64::from(MAX_QUEUES), 1, sc, "queues")?;
        let domain = match &r.domain {
            Some(d) => Some(v.domain_ref(d, sc, "domain")?),
            None => None,
        };
        let mut vlan_map = BTreeMap::new();
        if let Some(map) = &r.vlan_map {
            for (vid, dom) in map.get_ref() {
                let id = match vid.parse::<u16>() {
                    Ok(id) if (1..=4094).contains(&id) => id,
                    _ => {
                        return v.err(
                            dom.span(),
                            sc,
                            "vlan_map",
                            format!("VLAN id {vid} is outside 1..=4094"),
                        )
                    }
                };
                let d = v.domain_ref(dom, sc, "vlan_map")?;
                // The egress tag of a domain must be unambiguous.
                if domain == Some(d) {
                    return v.err(
                        dom.span(),
                        sc,
                        "vlan_map",
                        format!(
                            "\"{}\" is already this port's untagged domain",
                            dom.get_ref()
                        ),
                    );
                }
                if let Some((other, _)) = vlan_map.iter().find(|(_, &x)| x == d) {
                    return v.err(
                        dom.span(),
                        sc,
                        "vlan_map",
                        format!("\"{}\" is already mapped to VLAN {other}", dom.get_ref()),
                    );
                }
                vlan_map.insert(id, d);
            }
        }
        let learn_limit = v.opt_int(&r.learn_limit, 0..=1 << 20, 1024, sc, "learn_limit")?;
        let mac_limit_action = v.word(
            &r.mac_limit_action,
            &[
                ("forward", MacLimitAction::Forward),
                ("drop", MacLimitAction::Drop),
            ],
            MacLimitAction::Forward,
            sc,
            "mac_limit_action",
        )?;
        out.push(VmPort {
            name,
            socket,
            mode,
            queues,
            domain,
            vlan_map,
            learn_limit,
            mac_limit_action,
        });
    }
    Ok(out)
}

pub(super) fn patches(
    v: &V,
    raw: &[S<RawPatch>],
    raw_vm: &[S<RawVmPort>],
    raw_up: &[S<RawUplink>],
    vm_ports: &[VmPort],
) -> Result<Vec<Patch>> {
    let mut out: Vec<Patch> = Vec::new();
    let mut used: HashMap<PortRef, usize> = HashMap::new();
    for (i, p) in raw.iter().enumerate() {
        let scope = format!("patch #{}", i + 1);
        let sc = scope.as_str();
        let list = p.get_ref().ports.get_ref();
        if list.len() != 2 {
            return v.err(
                p.get_ref().ports.span(),
                sc,
                "ports",
                format!("names {} ports; a patch joins exactly two", list.len()),
            );
        }
        let mut ports = [PortRef::Vm(0); 2];
        for (slot, name) in ports.iter_mut().zip(list) {
            let Some(&(port, _)) = v.ports.get(name.get_ref()) else {
                return v.err(
                    name.span(),
                    sc,
                    "ports",
                    format!("\"{}\" is not a vm_port or uplink name", name.get_ref()),
                );
            };
            if let Some(&j) = used.get(&port) {
                return v.err(
                    name.span(),
                    sc,
                    "ports",
                    format!("\"{}\" is already in patch #{}", name.get_ref(), j + 1),
                );
            }
            // A patched port carries raw frames: it cannot also switch.
            match port {
                PortRef::Vm(k) => {
                    let vm = &vm_ports[k];
                    if vm.domain.is_some() || !vm.vlan_map.is_empty() {
                        let line = v.line_of(&raw_vm[k].span());
                        return v.err(
                            name.span(),
                            sc,
                            "ports",
                            format!(
                                "\"{}\" belongs to a domain (vm_port at line {line}); a patched port must not",
                                name.get_ref()
                            ),
                        );
                    }
                }
                PortRef::Uplink(k) => {
                    let r = raw_up[k].get_ref();
                    if r.ipv4.is_some() || r.ipv6.is_some() {
                        let line = v.line_of(&raw_up[k].span());
                        return v.err(
                            name.span(),
                            sc,
                            "ports",
                            format!(
                                "\"{}\" has a VTEP address (uplink at line {line}); a patched uplink must not",
                                name.get_ref()
                            ),
                        );
                    }
                }
            }
            used.insert(port, i);
            *slot = port;
        }
        if ports[0] == ports[1] {
            return v.err(
                p.get_ref().ports.span(),
                sc,
                "ports",
                "joins a port to itself".into(),
            );
        }
        out.push(Patch { ports });
    }
    Ok(out)
}

/// A port that neither switches nor is patched would silently drop
/// everything; refuse it instead.
pub(super) fn every_port_has_a_role(
    v: &V,
    raw: &RawConfig,
    vm_ports: &[VmPort],
    uplinks: &[Uplink],
    patches: &[Patch],
) -> Result<()> {
    let patched = |p: PortRef| patches.iter().any(|x| x.ports.contains(&p));
    for (i, vm) in vm_ports.iter().enumerate() {
        if vm.domain.is_none() && vm.vlan_map.is_empty() && !patched(PortRef::Vm(i)) {
            return v.err(
                raw.vm_port[i].span(),
                &format!("vm_port \"{}\"", vm.name),
                "",
                "has no domain and no vlan_map, and is in no [[patch]]".into(),
            );
        }
    }
    for (i, up) in uplinks.iter().enumerate() {
        if up.ipv4.is_none() && up.ipv6.is_none() && !patched(PortRef::Uplink(i)) {
            return v.err(
                raw.uplink[i].span(),
                &format!("uplink \"{}\"", up.name),
                "",
                "has neither ipv4 nor ipv6, and is in no [[patch]]".into(),
            );
        }
    }
    Ok(())
}
