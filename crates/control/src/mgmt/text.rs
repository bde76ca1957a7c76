//! Responses as plain-text tables, for `nvo ctl` in a terminal.

use super::{render_prometheus, ErrorKind, MacInfo, Response};

/// Renders a response for people: one aligned table per `show`, `ok` for
/// `Done`, `error (kind): message` for failures. Counters are shown in the
/// Prometheus text format, which is already meant to be read.
pub fn render_text(r: &Response) -> String {
    match r {
        Response::Done => "ok\n".into(),
        Response::Version { version } => format!("{version}\n"),
        Response::Ports { ports } => table(
            &["NAME", "KIND", "UP", "DEVICE", "DOMAINS"],
            ports
                .iter()
                .map(|p| {
                    let domains = match &p.patched_to {
                        Some(peer) => format!("patched to {peer}"),
                        None => join(&p.domains),
                    };
                    let kind = format!("{:?}", p.kind).to_lowercase();
                    vec![
                        p.name.clone(),
                        kind,
                        yes_no(p.up),
                        p.device.clone(),
                        domains,
                    ]
                })
                .collect(),
        ),
        Response::Domains { domains } => table(
            &[
                "NAME", "VNI", "TUNNEL", "UDP", "LEARN", "MACS", "PORTS", "FLOOD",
            ],
            domains
                .iter()
                .map(|d| {
                    let flood = match d.group {
                        Some(g) => format!("group {g}"),
                        None => join(&d.flood),
                    };
                    vec![
                        d.name.clone(),
                        d.vni.to_string(),
                        d.tunnel.to_string(),
                        d.udp_port.map_or_else(|| "-".into(), |p| p.to_string()),
                        yes_no(d.learning),
                        d.macs.to_string(),
                        join(&d.ports),
                        flood,
                    ]
                })
                .collect(),
        ),
        Response::Vteps { vteps } => table(
            &["VTEP", "UPLINK", "NEXT-HOP MAC", "DOMAINS"],
            vteps
                .iter()
                .map(|v| {
                    vec![
                        v.ip.to_string(),
                        v.uplink.clone(),
                        match (v.next_hop_mac, v.stale) {
                            (None, _) => "unresolved".into(),
                            (Some(m), false) => m.to_string(),
                            (Some(m), true) => format!("{m} (stale)"),
                        },
                        join(&v.domains),
                    ]
                })
                .collect(),
        ),
        Response::Macs { macs } => table(
            &["DOMAIN", "MAC", "WHERE", "IP", "ORIGIN", "AGE"],
            macs.iter().map(mac_row).collect(),
        ),
        Response::Counters { counters } => render_prometheus(counters),
        Response::Error { kind, message } => {
            let kind = match kind {
                ErrorKind::BadRequest => "bad request",
                ErrorKind::Unsupported => "unsupported",
                ErrorKind::NotFound => "not found",
                ErrorKind::Invalid => "invalid",
                ErrorKind::Unavailable => "unavailable",
            };
            format!("error ({kind}): {message}\n")
        }
    }
}

fn mac_row(m: &MacInfo) -> Vec<String> {
    let place = match (&m.port, m.vtep) {
        (Some(p), _) => format!("port {p}"),
        (None, Some(v)) => format!("vtep {v}"),
        (None, None) => "-".into(),
    };
    vec![
        m.domain.clone(),
        m.mac.to_string(),
        place,
        m.ip.map_or_else(|| "-".into(), |ip| ip.to_string()),
        format!("{:?}", m.origin).to_lowercase(),
        m.age_secs.map_or_else(|| "-".into(), |s| format!("{s}s")),
    ]
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn join<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = width[i] - cell.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MacAddr, Tunnel};
    use crate::mgmt::{DomainInfo, MacOrigin, PortInfo, PortKind, VtepInfo};

    #[test]
    fn ports_render_as_an_aligned_table() {
        let r = Response::Ports {
            ports: vec![
                PortInfo {
                    name: "vm1".into(),
                    kind: PortKind::Vm,
                    device: "/run/nvo/vm1.sock".into(),
                    up: true,
                    domains: vec!["blue".into(), "red".into()],
                    patched_to: None,
                },
                PortInfo {
                    name: "uplink0".into(),
                    kind: PortKind::Uplink,
                    device: "net_null0".into(),
                    up: false,
                    domains: vec![],
                    patched_to: Some("vm1".into()),
                },
            ],
        };
        assert_eq!(
            render_text(&r),
            "NAME     KIND    UP   DEVICE             DOMAINS\n\
             vm1      vm      yes  /run/nvo/vm1.sock  blue,red\n\
             uplink0  uplink  no   net_null0          patched to vm1\n"
        );
    }

    #[test]
    fn domains_show_dash_for_nvgre_port_and_empty_flood() {
        let r = Response::Domains {
            domains: vec![DomainInfo {
                name: "g".into(),
                vni: 7000,
                tunnel: Tunnel::Nvgre,
                udp_port: None,
                learning: false,
                ports: vec![],
                flood: vec![],
                group: None,
                macs: 0,
            }],
        };
        let text = render_text(&r);
        assert!(
            text.ends_with("g     7000  nvgre   -    no     0     -      -\n"),
            "{text}"
        );
    }

    #[test]
    fn vteps_say_unresolved_and_stale() {
        let vtep = |ip: &str, mac, stale| VtepInfo {
            ip: ip.parse().unwrap(),
            uplink: "up0".into(),
            next_hop_mac: mac,
            stale,
            domains: vec!["blue".into()],
        };
        let r = Response::Vteps {
            vteps: vec![
                vtep("198.18.0.2", None, false),
                vtep("198.18.0.3", Some(MacAddr([2, 0, 0, 0, 0, 3])), true),
            ],
        };
        let text = render_text(&r);
        assert!(text.contains("198.18.0.2  up0     unresolved"), "{text}");
        assert!(text.contains("02:00:00:00:00:03 (stale)  blue"), "{text}");
    }

    #[test]
    fn macs_say_where_and_how_old() {
        let r = Response::Macs {
            macs: vec![MacInfo {
                domain: "blue".into(),
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                port: None,
                vtep: Some("198.18.0.2".parse().unwrap()),
                ip: None,
                origin: MacOrigin::Learned,
                age_secs: Some(5),
            }],
        };
        assert!(render_text(&r)
            .contains("blue    02:00:00:00:00:01  vtep 198.18.0.2  -   learned  5s\n"));
    }

    #[test]
    fn errors_and_done_are_one_line() {
        assert_eq!(render_text(&Response::Done), "ok\n");
        assert_eq!(
            render_text(&Response::unsupported("x")),
            "error (unsupported): x is not supported by this version of nvo\n"
        );
    }
}
