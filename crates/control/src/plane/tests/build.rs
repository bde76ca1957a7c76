//! The first snapshot, built from the configuration.

use std::net::IpAddr;

use nvo_dataplane::state::{Member, PortKind};
use nvo_packet::ethernet::MacAddr;
use nvo_packet::template::TunnelKind;
use nvo_table::{Dest, Key, Lifetime};

use super::*;
use crate::config::PortRef;
use crate::mgmt::{MacSpec, Request, Response};
use crate::plane::{Layout, PlaneError, VTEP_COUNTERS};

#[test]
fn layout_numbers_vm_ports_then_uplinks() {
    let rig = Rig::new();
    let l: &Layout = rig.plane.layout();
    assert_eq!(l.len(), 4);
    assert_eq!(l.port_index(PortRef::Vm(2)), GW);
    assert_eq!(l.port_index(PortRef::Uplink(0)), UP);
    assert_eq!(l.port_ref(UP), Some(PortRef::Uplink(0)));
    assert_eq!(l.port_ref(BLUE1), Some(PortRef::Vm(0)));
    assert_eq!(l.port_ref(4), None);
    assert_eq!(rig.links.len(), 2);
    assert_eq!(rig.links[0].counters.ports.len(), 4);
    assert_eq!(rig.links[0].counters.domains.len(), 4);
    assert_eq!(rig.links[0].counters.vteps.len(), VTEP_COUNTERS);
}

#[test]
fn ports_start_down_except_uplinks_and_carry_domains_and_sorted_vlans() {
    let rig = Rig::new();
    let snap = rig.plane.snapshot();
    assert_eq!(snap.ports.len(), 4);
    assert!(snap.ports[..3].iter().all(|p| !p.up));
    assert!(snap.ports[3].up);
    let PortKind::Vm(blue1) = &snap.ports[0].kind else {
        panic!("{:?}", snap.ports[0])
    };
    assert_eq!(blue1.domain, Some(BLUE));
    let PortKind::Vm(gw) = &snap.ports[2].kind else {
        panic!("{:?}", snap.ports[2])
    };
    assert_eq!(gw.domain, None);
    assert_eq!(gw.vlans, vec![(100, BLUE), (200, RED)]);
    let PortKind::Uplink(up) = &snap.ports[3].kind else {
        panic!("{:?}", snap.ports[3])
    };
    assert_eq!((up.mtu, up.mac), (1600, OUR_MAC));
}

#[test]
fn domains_have_members_flood_tunnels_and_vni_index() {
    let rig = Rig::new();
    let snap = rig.plane.snapshot();
    assert_eq!(snap.domains.len(), 4);
    let blue = &snap.domains[0];
    assert_eq!(
        (blue.vni, blue.kind, blue.learning),
        (5000, TunnelKind::Vxlan, true)
    );
    assert!(!blue.keep_inner_tags);
    assert_eq!(
        blue.members,
        vec![
            Member {
                port: BLUE1,
                vlan: None
            },
            Member {
                port: GW,
                vlan: Some(100)
            }
        ]
    );
    assert_eq!(snap.domains[1].members[1].vlan, Some(200));
    assert_eq!(snap.domains[1].kind, TunnelKind::Geneve);
    assert_eq!(blue.flood.len(), 2);
    for (d, remote) in [
        (BLUE, IpAddr::V4(peer4())),
        (BLUE, "203.0.113.9".parse().unwrap()),
        (RED, IpAddr::V6(peer6())),
    ] {
        let t = snap.tunnel_to(d, remote).unwrap();
        assert!(snap.domains[usize::from(d)].flood.contains(&t));
        let tun = snap.tunnel(t).unwrap();
        assert_eq!((tun.domain, tun.remote, tun.uplink), (d, remote, UP));
        assert!(tun.template.is_none(), "unresolved next hop: no template");
    }
    assert_eq!(
        snap.domain_of_vni(TunnelKind::Vxlan, 4789, 5000),
        Some(BLUE)
    );
    assert_eq!(
        snap.domain_of_vni(TunnelKind::Geneve, 6081, 6000),
        Some(RED)
    );
    assert_eq!(snap.domain_of_vni(TunnelKind::Nvgre, 0, 7000), Some(2));
    assert_eq!(snap.domain_of_vni(TunnelKind::Vxlan, 4789, 6000), None);
    assert_eq!(snap.domain_of_vni(TunnelKind::Vxlan, 8472, 5000), None);
}

#[test]
fn group_tunnels_go_to_the_groups_multicast_mac_at_once() {
    let rig = Rig::new();
    let snap = rig.plane.snapshot();
    let green = snap.tunnel_to(2, "239.1.1.7".parse().unwrap()).unwrap();
    assert_eq!(snap.domains[2].flood, vec![green]);
    let tpl = snap.tunnel(green).unwrap().template.as_ref().unwrap();
    assert_eq!(tpl.config().next_hop_mac, MacAddr([1, 0, 0x5e, 1, 1, 7]));
    assert_eq!(tpl.config().kind, TunnelKind::Nvgre);
    assert_eq!(tpl.config().local, IpAddr::V4(our4()));
    let violet = snap.tunnel_to(3, "ff0e::1:7".parse().unwrap()).unwrap();
    let tpl = snap.tunnel(violet).unwrap().template.as_ref().unwrap();
    assert_eq!(tpl.config().next_hop_mac, MacAddr([0x33, 0x33, 0, 1, 0, 7]));
    assert_eq!(tpl.config().local, IpAddr::V6(our6()));
    assert_eq!(tpl.config().dst_port, 4789);
}

#[test]
fn decap_accepts_our_addresses_and_the_domains_ports() {
    let rig = Rig::new();
    let snap = rig.plane.snapshot();
    let d = &snap.decap;
    assert_eq!(d.local_v4.as_slice(), &[our4().to_bits()]);
    assert_eq!(d.local_v6.as_slice(), &[our6().to_bits()]);
    assert_eq!(d.vxlan_ports.as_slice(), &[4789]);
    assert_eq!(d.geneve_ports.as_slice(), &[6081]);
    assert!(d.nvgre);
    assert!(!d.udp6_zero_checksum);
    assert_eq!(snap.refresh_after, 10);
    assert_eq!(snap.icmp_per_sec, 50);
}

#[test]
fn decap_takes_every_uplinks_address_and_every_domains_port() {
    let cfg = crate::config::Config::from_str(
        "[[uplink]]\nname = \"a\"\ndevice = \"net_null0\"\nipv4 = \"198.18.0.1/24\"\n\
         [[uplink]]\nname = \"b\"\ndevice = \"net_null1\"\nipv4 = \"198.18.1.1/24\"\n\
         ipv6 = \"2001:db8::1/64\"\n\
         [[domain]]\nname = \"x\"\nvni = 5000\n\
         [[domain]]\nname = \"y\"\nvni = 5000\nudp_port = 8472\n\
         [[domain]]\nname = \"z\"\nvni = 5001\nudp_port = 8472\n",
        "t.toml",
    )
    .unwrap();
    let d = super::super::build::decap_config(&cfg);
    let v4 = |s: &str| s.parse::<std::net::Ipv4Addr>().unwrap().to_bits();
    assert_eq!(d.local_v4.as_slice(), &[v4("198.18.0.1"), v4("198.18.1.1")]);
    assert_eq!(d.local_v6.as_slice().len(), 1);
    assert_eq!(d.vxlan_ports.as_slice(), &[4789, 8472]);
    assert!(d.geneve_ports.is_empty());
    assert!(!d.nvgre);
}

#[test]
fn static_macs_are_in_the_table_per_domain() {
    let rig = Rig::new();
    let table = &rig.links[0].table;
    let snap = rig.plane.snapshot();
    let blue = table.get(Key::new(BLUE, STATIC1.0)).unwrap();
    assert_eq!(
        (blue.dest(), blue.lifetime()),
        (Dest::Local(BLUE1), Lifetime::Static)
    );
    let red = table.get(Key::new(RED, STATIC1.0)).unwrap();
    assert_eq!(red.dest(), Dest::Local(RED1));
    let t = snap.tunnel_to(BLUE, peer4().into()).unwrap();
    assert_eq!(
        table.get(Key::new(BLUE, STATIC2.0)).unwrap().dest(),
        Dest::Remote(t)
    );
    assert!(table.get(Key::new(RED, STATIC2.0)).is_none());
}

#[test]
fn one_mac_per_uplink_and_one_worker_are_needed() {
    let cfg = Config::from_str(CONFIG, "t.toml").unwrap();
    let tx = || Recorder {
        sent: Sent::default(),
    };
    let e = Plane::new(cfg.clone(), 1, &[], tx()).err().unwrap();
    assert!(
        matches!(
            e,
            PlaneError::UplinkMacs {
                expected: 1,
                got: 0
            }
        ),
        "{e}"
    );
    let e = Plane::new(cfg, 0, &[OUR_MAC], tx()).err().unwrap();
    assert!(matches!(e, PlaneError::NoWorkers), "{e}");
}

#[test]
fn link_changes_republish() {
    let mut rig = Rig::new();
    let before = rig.plane.snapshot();
    rig.plane.set_link(BLUE1, true);
    let after = rig.plane.snapshot();
    assert!(!std::sync::Arc::ptr_eq(&before, &after));
    assert!(after.ports[0].up);
    rig.plane.set_link(BLUE1, true);
    assert!(
        std::sync::Arc::ptr_eq(&after, &rig.plane.snapshot()),
        "no change, no publication"
    );
    rig.plane.set_link(9, true);
}

#[test]
fn static_macs_with_an_ip_let_the_workers_answer_arp() {
    let mut rig = Rig::new();
    let snap = rig.plane.snapshot();
    let blue = &snap.domains[usize::from(BLUE)];
    let ip: IpAddr = "10.0.0.1".parse().unwrap();
    assert_eq!(blue.neighbor(ip), Some(MacAddr([0x52, 0x54, 0, 0, 0, 1])));
    assert!(snap.domains[usize::from(RED)].neighbors.is_empty());
    // One added at run time is published too.
    let spec = MacSpec {
        domain: "red".into(),
        mac: "52:54:00:00:00:09".parse().unwrap(),
        vtep: None,
        port: Some("red1".into()),
        ip: Some("10.0.0.9".parse().unwrap()),
    };
    assert_eq!(rig.plane.handle(Request::AddMac(spec)), Response::Done);
    let snap = rig.plane.snapshot();
    let red = &snap.domains[usize::from(RED)];
    assert_eq!(
        red.neighbor("10.0.0.9".parse().unwrap()),
        Some(MacAddr([0x52, 0x54, 0, 0, 0, 9]))
    );
}
