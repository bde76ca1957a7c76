//! Management requests: show, static MACs, reload, version, shutdown.

use nvo_dataplane::events::{Learn, Location};
use nvo_table::{Dest, Key};

use super::*;
use crate::config;
use crate::mgmt::{ErrorKind, MacOrigin, MacSpec, Request, Response};

fn cmac(m: MacAddr) -> config::MacAddr {
    config::MacAddr(m.0)
}

#[track_caller]
fn error_kind(r: &Response) -> (ErrorKind, String) {
    match r {
        Response::Error { kind, message } => (*kind, message.clone()),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn show_ports_has_live_link_state() {
    let mut rig = Rig::new();
    rig.plane.set_link(RED1, true);
    let Response::Ports { ports } = rig.plane.handle(Request::ShowPorts) else {
        panic!()
    };
    let up: Vec<(&str, bool)> = ports.iter().map(|p| (p.name.as_str(), p.up)).collect();
    assert_eq!(
        up,
        [
            ("blue1", false),
            ("red1", true),
            ("gw", false),
            ("up0", true)
        ]
    );
}

#[test]
fn show_domains_counts_entries_per_domain() {
    let mut rig = Rig::new();
    let ev = Learn {
        domain: BLUE,
        mac: mac(5),
        at: Location::Port(BLUE1),
    };
    rig.links[0].chan.learn.push(ev).unwrap();
    rig.poll_at(0.0);
    let Response::Domains { domains } = rig.plane.handle(Request::ShowDomains) else {
        panic!()
    };
    let counts: Vec<u64> = domains.iter().map(|d| d.macs).collect();
    assert_eq!(counts, [3, 1, 0, 0]);
    assert_eq!(domains[0].ports, ["blue1", "gw"]);
}

#[test]
fn show_vteps_lists_configured_and_learned_with_next_hops() {
    let mut rig = Rig::new();
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    let learned: IpAddr = "198.18.0.77".parse().unwrap();
    let ev = Learn {
        domain: RED,
        mac: mac(5),
        at: Location::Vtep {
            addr: learned,
            via: UP,
        },
    };
    rig.links[1].chan.learn.push(ev).unwrap();
    rig.poll_at(0.0);
    let Response::Vteps { vteps } = rig.plane.handle(Request::ShowVteps) else {
        panic!()
    };
    let ips: Vec<String> = vteps.iter().map(|v| v.ip.to_string()).collect();
    assert_eq!(
        ips,
        [
            "198.18.0.2",
            "198.18.0.77",
            "203.0.113.9",
            "239.1.1.7",
            "2001:db8::2",
            "ff0e::1:7"
        ]
    );
    assert_eq!(vteps[0].next_hop_mac, Some(cmac(PEER_MAC)));
    assert_eq!(vteps[0].domains, ["blue"]);
    assert_eq!(vteps[0].uplink, "up0");
    assert_eq!(vteps[1].next_hop_mac, None);
    assert_eq!(vteps[1].domains, ["red"]);
    assert_eq!(
        vteps[3].next_hop_mac,
        Some(config::MacAddr([1, 0, 0x5e, 1, 1, 7]))
    );
}

#[test]
fn show_macs_lists_static_and_learned_entries_with_where() {
    let mut rig = Rig::new();
    let ev = Learn {
        domain: BLUE,
        mac: mac(5),
        at: Location::Port(GW),
    };
    rig.links[0].chan.learn.push(ev).unwrap();
    rig.poll_at(0.0);
    rig.poll_at(4.0);
    let Response::Macs { macs } = rig.plane.handle(Request::ShowMacs {
        domain: Some("blue".into()),
    }) else {
        panic!()
    };
    assert_eq!(macs.len(), 3);
    let m1 = &macs[0];
    assert_eq!((m1.mac, m1.port.as_deref()), (cmac(STATIC1), Some("blue1")));
    assert_eq!(m1.origin, MacOrigin::Static);
    assert_eq!(m1.ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(macs[1].vtep, Some(peer4().into()));
    let l = &macs[2];
    assert_eq!((l.mac, l.port.as_deref()), (cmac(mac(5)), Some("gw")));
    assert_eq!((l.origin, l.age_secs), (MacOrigin::Learned, Some(4)));
    let Response::Macs { macs } = rig.plane.handle(Request::ShowMacs { domain: None }) else {
        panic!()
    };
    assert_eq!(macs.len(), 4);
    assert_eq!(macs[3].domain, "red");
    let r = rig.plane.handle(Request::ShowMacs {
        domain: Some("nope".into()),
    });
    assert_eq!(error_kind(&r).0, ErrorKind::NotFound);
}

#[test]
fn show_counters_names_every_family_and_drop_reason() {
    let mut rig = Rig::new();
    rig.links[0].counters.ports[0].rx_frames.add(5);
    rig.links[1].counters.ports[0].rx_frames.add(2);
    rig.links[1]
        .counters
        .discard(nvo_dataplane::Discard::UnknownVni);
    rig.poll_at(0.0);
    let Response::Counters { counters } = rig.plane.handle(Request::ShowCounters) else {
        panic!()
    };
    let find = |name: &str| counters.iter().find(|c| c.name == name).unwrap();
    let rx = find("nvo_port_rx_frames_total");
    assert_eq!(
        rx.samples[0].labels,
        [("port".to_string(), "blue1".to_string())]
    );
    assert_eq!(rx.samples[0].value, 7);
    let drops = find("nvo_drops_total");
    assert_eq!(drops.samples.len(), nvo_dataplane::Discard::COUNT);
    let vni = drops
        .samples
        .iter()
        .find(|s| s.labels[0].1 == "unknown_vni")
        .unwrap();
    assert_eq!(vni.value, 1);
    for name in [
        "nvo_domain_from_vm_frames_total",
        "nvo_vtep_tx_frames_total",
        "nvo_busy_cycles_total",
        "nvo_frames_total",
        "nvo_control_events_total",
    ] {
        find(name);
    }
    assert_eq!(find("nvo_vtep_rx_bytes_total").samples.len(), 5);
    let t = rig.plane.totals();
    assert_eq!((t.rx, t.dropped), (7, 1));
    let text = crate::mgmt::render_prometheus(&counters);
    assert!(
        text.contains("nvo_drops_total{reason=\"unknown_vni\"} 1\n"),
        "{text}"
    );
}

#[test]
fn add_and_delete_a_static_mac_at_run_time() {
    let mut rig = Rig::new();
    let vtep: IpAddr = "198.18.0.3".parse().unwrap();
    let spec = MacSpec {
        domain: "red".into(),
        mac: cmac(mac(9)),
        vtep: Some(vtep),
        port: None,
        ip: None,
    };
    assert_eq!(
        rig.plane.handle(Request::AddMac(spec.clone())),
        Response::Done
    );
    let snap = rig.plane.snapshot();
    let t = snap
        .tunnel_to(RED, vtep)
        .expect("published with its tunnel");
    let key = Key::new(RED, mac(9).0);
    assert_eq!(rig.links[0].table.get(key).unwrap().dest(), Dest::Remote(t));
    let on_port = MacSpec {
        vtep: None,
        port: Some("blue1".into()),
        ..spec.clone()
    };
    let (kind, msg) = error_kind(&rig.plane.handle(Request::AddMac(on_port)));
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(msg.contains("not in domain"), "{msg}");
    let both = MacSpec {
        port: Some("red1".into()),
        ..spec.clone()
    };
    assert_eq!(
        error_kind(&rig.plane.handle(Request::AddMac(both))).0,
        ErrorKind::Invalid
    );
    let del = Request::DelMac {
        domain: "red".into(),
        mac: cmac(mac(9)),
    };
    assert_eq!(rig.plane.handle(del.clone()), Response::Done);
    assert!(rig.links[0].table.get(key).is_none());
    assert_eq!(error_kind(&rig.plane.handle(del)).0, ErrorKind::NotFound);
}

#[test]
fn version_shutdown_and_unsupported_requests() {
    let mut rig = Rig::new();
    let Response::Version { version } = rig.plane.handle(Request::Version) else {
        panic!()
    };
    assert!(version.starts_with("nvo "));
    let r = rig.plane.handle(Request::DelDomain { name: "red".into() });
    assert_eq!(error_kind(&r).0, ErrorKind::Unsupported);
    assert!(!rig.plane.shutdown_requested());
    assert_eq!(rig.plane.handle(Request::Shutdown), Response::Done);
    assert!(rig.plane.shutdown_requested());
}

/// A rig whose configuration file is `text`, in a temporary directory.
fn rig_with_file(text: &str) -> (Rig, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.toml");
    std::fs::write(&path, text).unwrap();
    let mut rig = Rig::with(text);
    rig.plane.set_config_path(&path);
    (rig, dir, path)
}

#[test]
fn reload_applies_statics_flood_lists_learning_and_aging() {
    let (mut rig, _dir, path) = rig_with_file(CONFIG);
    let ev = Learn {
        domain: RED,
        mac: mac(5),
        at: Location::Port(RED1),
    };
    rig.links[0].chan.learn.push(ev).unwrap();
    rig.poll_at(0.0);
    let new = CONFIG
        .replace("aging_secs = 30", "aging_secs = 90")
        .replace("\"203.0.113.9\"", "\"198.18.0.3\"")
        .replace("vni = 6000\n", "vni = 6000\nlearning = false\n")
        .replace("mac = \"52:54:00:00:00:02\"", "mac = \"52:54:00:00:00:03\"");
    std::fs::write(&path, new).unwrap();
    assert_eq!(rig.plane.handle(Request::Reload), Response::Done);
    let snap = rig.plane.snapshot();
    assert_eq!(snap.refresh_after, 30);
    let t = snap.tunnel_to(BLUE, "198.18.0.3".parse().unwrap()).unwrap();
    assert!(snap.domains[0].flood.contains(&t));
    assert_eq!(snap.domains[0].flood.len(), 2);
    assert!(!snap.domains[1].learning);
    let table = &rig.links[0].table;
    assert!(table.get(Key::new(BLUE, STATIC2.0)).is_none());
    assert!(table
        .get(Key::new(BLUE, [0x52, 0x54, 0, 0, 0, 3]))
        .is_some());
    assert!(table.get(Key::new(BLUE, STATIC1.0)).is_some());
    assert!(
        table.get(Key::new(RED, mac(5).0)).is_none(),
        "learning off flushes"
    );
}

#[test]
fn reload_of_a_bad_file_keeps_the_running_state() {
    let (mut rig, _dir, path) = rig_with_file(CONFIG);
    let bad = CONFIG.replace("vni = 6000", "vni = 99999999");
    std::fs::write(&path, bad).unwrap();
    let before = rig.plane.snapshot();
    let (kind, msg) = error_kind(&rig.plane.handle(Request::Reload));
    assert_eq!(kind, ErrorKind::Invalid);
    let line = CONFIG.lines().position(|l| l == "vni = 6000").unwrap() + 1;
    assert!(
        msg.starts_with(&format!("{}:{line}:", path.display())),
        "{msg}"
    );
    assert!(msg.contains("vni"), "{msg}");
    assert!(std::sync::Arc::ptr_eq(&before, &rig.plane.snapshot()));
}

#[test]
fn reload_that_needs_a_restart_says_what_and_changes_nothing() {
    let (mut rig, _dir, path) = rig_with_file(CONFIG);
    let new = CONFIG.replace("mtu = 1600", "mtu = 1500").replace(
        "learn_limit = 2\nmac_limit_action",
        "learn_limit = 3\nmac_limit_action",
    );
    std::fs::write(&path, new).unwrap();
    let (kind, msg) = error_kind(&rig.plane.handle(Request::Reload));
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(msg.contains("[uplink]"), "{msg}");
    assert!(msg.contains("vm_port \"red1\" changed"), "{msg}");
    assert!(msg.contains("restart"), "{msg}");
    assert_eq!(rig.plane.config().uplinks[0].mtu, 1600);
    let without = CONFIG.replace(
        "[[domain]]\nname = \"violet\"",
        "[[domain]]\nname = \"indigo\"",
    );
    std::fs::write(&path, without).unwrap();
    let (_, msg) = error_kind(&rig.plane.handle(Request::Reload));
    assert!(msg.contains("domain \"indigo\" added"), "{msg}");
}

#[test]
fn reload_without_a_file_is_unavailable() {
    let mut rig = Rig::new();
    assert_eq!(
        error_kind(&rig.plane.handle(Request::Reload)).0,
        ErrorKind::Unavailable
    );
}
