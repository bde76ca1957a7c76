//! Resolving the underlay next hops by ARP and ND.

use std::net::IpAddr;
use std::sync::Arc;

use nvo_packet::ethernet::Frame as EthFrame;

use super::*;

/// The ARP targets and ND targets of the frames sent.
fn solicited(sent: &[(u16, Vec<u8>)]) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for (port, f) in sent {
        assert_eq!(*port, UP);
        let e = EthFrame::new_checked(&f[..]).unwrap();
        if e.ethertype() == EtherType::ARP {
            let a = arp::Repr::parse(&arp::Packet::new_checked(e.payload()).unwrap()).unwrap();
            v4.push(a.target_ip);
        } else if e.ethertype() == EtherType::IPV6 {
            let ip = ipv6::Packet::new_checked(e.payload()).unwrap();
            if ip.upper_protocol() != Protocol::ICMPV6 {
                continue;
            }
            let Ok(icmp) = icmpv6::Packet::new_checked(ip.upper_payload()) else {
                continue;
            };
            if let Ok(icmpv6::Repr::NeighborSolicit { target, .. }) =
                icmpv6::Repr::parse(&icmp, ip.src(), ip.dst())
            {
                v6.push(target);
            }
        }
    }
    (v4, v6)
}

#[test]
fn arp_request_for_a_next_hop_is_broadcast_from_our_vtep() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    let sent = rig.take();
    let req = sent
        .iter()
        .map(|(_, f)| f)
        .find(|f| f[12..14] == [8, 6] && f[38..42] == peer4().octets())
        .expect("an ARP request for the peer VTEP");
    let expect = arp_frame(
        arp::Operation::REQUEST,
        MacAddr::BROADCAST,
        (OUR_MAC, our4()),
        (MacAddr::default(), peer4()),
    );
    assert_eq!(req, &expect);
    // The VTEP off-link is reached through the gateway: it is the
    // gateway that is asked for.
    let (v4, v6) = solicited(&sent);
    assert_eq!(v4, vec![peer4(), router4()]);
    assert_eq!(v6, vec![peer6()]);
}

#[test]
fn neighbor_solicitation_goes_to_the_solicited_node_address() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    let sent = rig.take();
    let ns = sent
        .iter()
        .map(|(_, f)| f)
        .find(|f| f[12..14] == [0x86, 0xdd] && f[14 + 40] == icmpv6::NEIGHBOR_SOLICIT)
        .expect("a Neighbor Solicitation");
    let e = EthFrame::new_checked(&ns[..]).unwrap();
    assert_eq!(e.dst(), MacAddr([0x33, 0x33, 0xff, 0, 0, 2]));
    assert_eq!(e.src(), OUR_MAC);
    let ip = ipv6::Packet::new_checked(e.payload()).unwrap();
    assert_eq!(ip.src(), our6());
    assert_eq!(ip.dst(), "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap());
    assert_eq!(ip.hop_limit(), 255);
    let icmp = icmpv6::Packet::new_checked(ip.upper_payload()).unwrap();
    assert_eq!(
        icmpv6::Repr::parse(&icmp, ip.src(), ip.dst()).unwrap(),
        icmpv6::Repr::NeighborSolicit {
            target: peer6(),
            lladdr: Some(OUR_MAC)
        }
    );
}

#[test]
fn unresolved_next_hops_are_asked_again_every_second() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    assert_eq!(solicited(&rig.take()).0.len(), 2);
    rig.poll_at(0.5);
    assert_eq!(solicited(&rig.take()).0.len(), 0);
    rig.poll_at(1.05);
    assert_eq!(solicited(&rig.take()).0.len(), 2);
}

#[test]
fn arp_reply_resolves_the_next_hop_and_republishes_the_template() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    rig.take();
    assert_eq!(next_hop_of(&rig.plane, BLUE, peer4().into()), None);
    let before = rig.plane.snapshot();
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    rig.poll_at(0.2);
    let after = rig.plane.snapshot();
    assert!(
        !Arc::ptr_eq(&before, &after),
        "a new snapshot was published"
    );
    assert_eq!(
        next_hop_of(&rig.plane, BLUE, peer4().into()),
        Some(PEER_MAC)
    );
    let t = after.tunnel_to(BLUE, peer4().into()).unwrap();
    let tpl = after.tunnel(t).unwrap().template.as_ref().unwrap();
    assert_eq!(tpl.config().local_mac, OUR_MAC);
    assert_eq!(tpl.config().local, IpAddr::V4(our4()));
    assert_eq!(tpl.config().vni, 5000);
    // The off-link VTEP waits for the gateway.
    let far: IpAddr = "203.0.113.9".parse().unwrap();
    assert_eq!(next_hop_of(&rig.plane, BLUE, far), None);
    rig.punt(UP, &arp_reply_from(ROUTER_MAC, router4()));
    rig.poll_at(0.4);
    assert_eq!(next_hop_of(&rig.plane, BLUE, far), Some(ROUTER_MAC));
    // Resolved: not asked again until the refresh.
    rig.poll_at(2.0);
    assert_eq!(solicited(&rig.take()).0, Vec::<Ipv4Addr>::new());
    rig.poll_at(31.0);
    assert_eq!(solicited(&rig.take()).0.len(), 2);
}

/// Whether `show vteps` calls the peer VTEP's next hop stale.
fn peer_stale(rig: &mut Rig) -> bool {
    let crate::mgmt::Response::Vteps { vteps } = rig.plane.handle(crate::mgmt::Request::ShowVteps)
    else {
        panic!("show vteps failed");
    };
    let v = vteps.iter().find(|v| v.ip == IpAddr::V4(peer4())).unwrap();
    assert!(v.next_hop_mac.is_some());
    v.stale
}

#[test]
fn an_unanswered_refresh_is_repeated_then_the_next_hop_is_stale_but_kept() {
    let mut rig = Rig::new();
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    rig.poll_at(0.0);
    rig.take();
    let asked = |rig: &Rig| solicited(&rig.take()).0.contains(&peer4());
    rig.poll_at(29.0);
    assert!(!asked(&rig));
    // The refresh, then two more requests a second apart.
    for at in [30.1, 31.2, 32.3] {
        rig.poll_at(at);
        assert!(asked(&rig), "asked at {at}");
        assert!(!peer_stale(&mut rig));
    }
    rig.poll_at(32.8);
    assert!(!asked(&rig));
    rig.poll_at(33.4);
    assert!(asked(&rig));
    assert!(peer_stale(&mut rig), "three requests went unanswered");
    assert_eq!(
        next_hop_of(&rig.plane, BLUE, peer4().into()),
        Some(PEER_MAC)
    );
    // Stale: asked at the refresh period, no more every second.
    rig.poll_at(35.0);
    assert!(!asked(&rig));
    rig.poll_at(63.5);
    assert!(asked(&rig));
    // An answer ends it.
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    rig.poll_at(63.6);
    assert!(!peer_stale(&mut rig));
}

#[test]
fn a_changed_next_hop_mac_rebuilds_the_template() {
    let mut rig = Rig::new();
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    rig.poll_at(0.0);
    let moved = MacAddr([2, 0, 0, 0, 0, 0x33]);
    // A gratuitous ARP from the peer announces its new MAC.
    rig.punt(
        UP,
        &arp_frame(
            arp::Operation::REQUEST,
            MacAddr::BROADCAST,
            (moved, peer4()),
            (MacAddr::default(), peer4()),
        ),
    );
    rig.poll_at(0.1);
    assert_eq!(next_hop_of(&rig.plane, BLUE, peer4().into()), Some(moved));
}

#[test]
fn arp_not_about_us_teaches_nothing() {
    let mut rig = Rig::new();
    let other = Ipv4Addr::new(198, 18, 0, 77);
    rig.punt(
        UP,
        &arp_frame(
            arp::Operation::REPLY,
            OUR_MAC,
            (PEER_MAC, peer4()),
            (OUR_MAC, other),
        ),
    );
    rig.poll_at(0.0);
    assert_eq!(next_hop_of(&rig.plane, BLUE, peer4().into()), None);
}

#[test]
fn neighbor_advert_resolves_an_ipv6_next_hop() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    assert_eq!(next_hop_of(&rig.plane, RED, peer6().into()), None);
    rig.punt(UP, &neighbor_advert_from(PEER_MAC, peer6()));
    rig.poll_at(0.1);
    assert_eq!(next_hop_of(&rig.plane, RED, peer6().into()), Some(PEER_MAC));
    let snap = rig.plane.snapshot();
    let t = snap.tunnel_to(RED, peer6().into()).unwrap();
    let cfg = *snap.tunnel(t).unwrap().template.as_ref().unwrap().config();
    assert_eq!(cfg.local, IpAddr::V6(our6()));
    assert_eq!(cfg.dst_port, 6081);
}

#[test]
fn neighbor_solicitation_from_a_next_hop_teaches_its_mac() {
    let mut rig = Rig::new();
    let ns = icmpv6::Repr::NeighborSolicit {
        target: our6(),
        lladdr: Some(PEER_MAC),
    };
    let sn = super::super::neighbours::solicited_node(our6());
    let f = icmpv6_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        PEER_MAC,
        peer6(),
        sn,
        255,
        &ns,
    );
    rig.punt(UP, &f);
    rig.poll_at(0.0);
    assert_eq!(next_hop_of(&rig.plane, RED, peer6().into()), Some(PEER_MAC));
}

#[test]
fn membership_reports_go_out_at_start_and_every_minute() {
    let mut rig = Rig::new();
    let reports = |sent: &[(u16, Vec<u8>)]| -> Vec<Vec<u8>> {
        sent.iter()
            .filter(|(p, f)| {
                *p == UP && (f[..3] == [1, 0, 0x5e] || f[..6] == [0x33, 0x33, 0, 0, 0, 0x16])
            })
            .map(|(_, f)| f.clone())
            .collect()
    };
    rig.poll_at(0.0);
    let first = reports(&rig.take());
    assert_eq!(first.len(), 2, "one IGMPv3 and one MLDv2 report");
    let mut igmp = [0u8; 64];
    let n =
        crate::plane::igmpv3_report(OUR_MAC, our4(), &["239.1.1.7".parse().unwrap()], &mut igmp)
            .unwrap();
    assert_eq!(first[0], igmp[..n]);
    rig.poll_at(30.0);
    assert!(reports(&rig.take()).is_empty());
    rig.poll_at(60.0);
    assert_eq!(reports(&rig.take()).len(), 2);
}

#[test]
fn an_igmp_query_is_answered_at_the_next_poll() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    rig.take();
    // A general query (RFC 3376 §4.1) from the router, TTL 1.
    let mut q = vec![0u8; 14 + 24 + 12];
    eth(
        &mut q,
        MacAddr([1, 0, 0x5e, 0, 0, 1]),
        ROUTER_MAC,
        EtherType::IPV4,
    )
    .unwrap();
    let ip = [
        0x46, 0xc0, 0, 36, 0, 0, 0, 0, 1, 2, 0, 0, 198, 18, 0, 254, 224, 0, 0, 1, 0x94, 4, 0, 0,
    ];
    q[14..38].copy_from_slice(&ip);
    let c = nvo_packet::checksum::checksum(&q[14..38]);
    q[24..26].copy_from_slice(&c.to_be_bytes());
    q[38] = 0x11;
    q[39] = 100;
    let c = nvo_packet::checksum::checksum(&q[38..]);
    q[40..42].copy_from_slice(&c.to_be_bytes());
    rig.punt(UP, &q);
    rig.poll_at(5.0);
    rig.poll_at(6.05);
    let sent = rig.take();
    assert!(
        sent.iter().any(|(_, f)| f[..3] == [1, 0, 0x5e]),
        "a report answers the query"
    );
}

#[test]
fn configured_neighbours_resolve_at_once_and_are_never_asked_for() {
    let text = CONFIG.replace(
        "gateway4 = \"198.18.0.254\"\n",
        "gateway4 = \"198.18.0.254\"\nneighbors = { \"198.18.0.2\" = \"02:00:00:00:00:99\" }\n",
    );
    let mut rig = Rig::with(&text);
    rig.poll_at(0.0);
    let (v4, _) = solicited(&rig.take());
    assert_eq!(v4, vec![router4()], "only the gateway is asked for");
    let fixed = MacAddr([2, 0, 0, 0, 0, 0x99]);
    assert_eq!(next_hop_of(&rig.plane, BLUE, peer4().into()), Some(fixed));
    // An answer from elsewhere does not move a configured neighbour.
    rig.punt(UP, &arp_reply_from(PEER_MAC, peer4()));
    rig.poll_at(40.0);
    assert_eq!(next_hop_of(&rig.plane, BLUE, peer4().into()), Some(fixed));
    assert!(!solicited(&rig.take()).0.contains(&peer4()));
}
