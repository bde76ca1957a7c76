//! Answers for our VTEP addresses.

use nvo_packet::ethernet::Frame as EthFrame;

use super::*;

/// The one frame sent, on the uplink.
fn only_answer(rig: &Rig) -> Vec<u8> {
    let mut sent = rig.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (port, f) = sent.pop().unwrap();
    assert_eq!(port, UP);
    f
}

/// Punts `frame` from the uplink and checks that nothing answers it.
#[track_caller]
fn unanswered(frame: &[u8]) {
    let mut rig = started();
    rig.punt(UP, frame);
    rig.poll_at(0.01);
    assert!(rig.take().is_empty());
    assert_eq!(rig.plane.stats.ignored, 1);
}

/// A rig past its first poll, with nothing sent yet.
fn started() -> Rig {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    rig.take();
    rig
}

#[test]
fn arp_request_for_our_vtep_address_is_answered_byte_for_byte() {
    let mut rig = started();
    let req = arp_frame(
        arp::Operation::REQUEST,
        MacAddr::BROADCAST,
        (PEER_MAC, peer4()),
        (MacAddr::default(), our4()),
    );
    rig.punt(UP, &req);
    rig.poll_at(0.01);
    #[rustfmt::skip]
    let expect: [u8; 42] = [
        // Ethernet: to the asker, from us, ARP.
        2, 0, 0, 0, 0, 0x22,  2, 0, 0, 0, 0, 4,  0x08, 0x06,
        // Ethernet/IPv4, 6/4, reply.
        0, 1, 0x08, 0, 6, 4, 0, 2,
        // Sender: us.
        2, 0, 0, 0, 0, 4,  198, 18, 0, 1,
        // Target: the asker.
        2, 0, 0, 0, 0, 0x22,  198, 18, 0, 2,
    ];
    assert_eq!(only_answer(&rig), expect);
    assert_eq!(rig.plane.stats.answers, 1);
}

#[test]
fn arp_request_for_another_address_is_dropped() {
    unanswered(&arp_frame(
        arp::Operation::REQUEST,
        MacAddr::BROADCAST,
        (PEER_MAC, peer4()),
        (MacAddr::default(), Ipv4Addr::new(198, 18, 0, 9)),
    ));
}

#[test]
fn frames_punted_from_a_vm_port_are_dropped() {
    let mut rig = started();
    let req = arp_frame(
        arp::Operation::REQUEST,
        MacAddr::BROADCAST,
        (PEER_MAC, peer4()),
        (MacAddr::default(), our4()),
    );
    rig.punt(BLUE1, &req);
    rig.poll_at(0.01);
    assert!(rig.take().is_empty());
}

#[test]
fn neighbor_solicitation_for_our_vtep_address_gets_an_advert() {
    let mut rig = started();
    let ns = icmpv6::Repr::NeighborSolicit {
        target: our6(),
        lladdr: Some(PEER_MAC),
    };
    let dst = "ff02::1:ff00:1".parse().unwrap();
    let f = icmpv6_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        PEER_MAC,
        peer6(),
        dst,
        255,
        &ns,
    );
    rig.punt(UP, &f);
    rig.poll_at(0.01);
    let na = icmpv6::Repr::NeighborAdvert {
        flags: icmpv6::NA_SOLICITED | icmpv6::NA_OVERRIDE,
        target: our6(),
        lladdr: Some(OUR_MAC),
    };
    let expect = icmpv6_frame(PEER_MAC, OUR_MAC, our6(), peer6(), 255, &na);
    assert_eq!(only_answer(&rig), expect);
}

#[test]
fn neighbor_solicitation_for_another_address_is_dropped() {
    let ns = icmpv6::Repr::NeighborSolicit {
        target: "2001:db8::99".parse().unwrap(),
        lladdr: Some(PEER_MAC),
    };
    unanswered(&icmpv6_frame(OUR_MAC, PEER_MAC, peer6(), our6(), 255, &ns));
}

#[test]
fn icmp_echo_to_our_vtep_gets_an_echo_reply() {
    let mut rig = started();
    let data = b"abcdefgh01234567";
    let req = icmpv4::Repr::EchoRequest {
        ident: 0x4242,
        seq: 3,
        data,
    };
    rig.punt(UP, &icmpv4_frame(OUR_MAC, PEER_MAC, peer4(), our4(), &req));
    rig.poll_at(0.01);
    let f = only_answer(&rig);
    let e = EthFrame::new_checked(&f[..]).unwrap();
    assert_eq!((e.dst(), e.src()), (PEER_MAC, OUR_MAC));
    let ip = ipv4::Packet::new_checked(e.payload()).unwrap();
    let r = ipv4::Repr::parse(&ip).unwrap();
    assert_eq!(
        (r.src, r.dst, r.protocol),
        (our4(), peer4(), Protocol::ICMP)
    );
    let icmp = icmpv4::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        icmpv4::Repr::parse(&icmp).unwrap(),
        icmpv4::Repr::EchoReply {
            ident: 0x4242,
            seq: 3,
            data
        }
    );
    assert_eq!(f.len(), 14 + 20 + 8 + data.len());
}

#[test]
fn icmp_echo_to_another_address_is_dropped() {
    let req = icmpv4::Repr::EchoRequest {
        ident: 1,
        seq: 1,
        data: b"x",
    };
    let other = Ipv4Addr::new(198, 18, 0, 9);
    unanswered(&icmpv4_frame(OUR_MAC, PEER_MAC, peer4(), other, &req));
}

#[test]
fn icmpv6_echo_to_our_vtep_gets_an_echo_reply() {
    let mut rig = started();
    let data = b"ping6";
    let req = icmpv6::Repr::EchoRequest {
        ident: 9,
        seq: 10,
        data,
    };
    rig.punt(
        UP,
        &icmpv6_frame(OUR_MAC, PEER_MAC, peer6(), our6(), 64, &req),
    );
    rig.poll_at(0.01);
    let reply = icmpv6::Repr::EchoReply {
        ident: 9,
        seq: 10,
        data,
    };
    let expect = icmpv6_frame(PEER_MAC, OUR_MAC, our6(), peer6(), 64, &reply);
    assert_eq!(only_answer(&rig), expect);
}

#[test]
fn a_refused_answer_is_counted() {
    struct Refuser;
    impl Transmit<VecFrame> for Refuser {
        fn alloc(&mut self) -> Option<VecFrame> {
            Some(VecFrame::new(&[]))
        }
        fn send(&mut self, _: u16, _: VecFrame) -> bool {
            false
        }
    }
    let cfg = Config::from_str(CONFIG, "t.toml").unwrap();
    let (mut plane, links) = ControlPlane::new(cfg, 1, &[OUR_MAC], Refuser).unwrap();
    let req = arp_frame(
        arp::Operation::REQUEST,
        MacAddr::BROADCAST,
        (PEER_MAC, peer4()),
        (MacAddr::default(), our4()),
    );
    let punted = Punted {
        port: UP,
        frame: VecFrame::new(&req),
    };
    assert!(links[0].chan.punt.push(punted).is_ok());
    plane.poll(Instant::now());
    assert_eq!(plane.stats.answers, 0);
    assert!(plane.stats.tx_refused >= 1);
}
