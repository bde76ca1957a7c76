//! Property tests: every representation round-trips through its wire form,
//! every tunnel round-trips through encap and decap, and no input of any
//! length or content panics a parser, decap, the flow hash or a builder.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nvo_packet::decap::{self, decap};
use nvo_packet::ecn::{Ecn, EcnMode};
use nvo_packet::ethernet::{self, EtherType, MacAddr, VlanTag};
use nvo_packet::flow::{self, PortRange, Symmetry};
use nvo_packet::ip::Protocol;
use nvo_packet::template::{Config, Dscp, GeneveOptions, Template, Ttl, TunnelKind};
use nvo_packet::toeplitz::DEFAULT;
use nvo_packet::{arp, geneve, gre, icmpv4, icmpv6, ipv4, ipv6, nvgre, reply, tcp, udp, vxlan};
use proptest::prelude::*;

fn ecn() -> impl Strategy<Value = Ecn> {
    prop_oneof![
        Just(Ecn::NotEct),
        Just(Ecn::Ect0),
        Just(Ecn::Ect1),
        Just(Ecn::Ce)
    ]
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn tag(tpid: u16) -> impl Strategy<Value = VlanTag> {
    (0u8..8, any::<bool>(), 0u16..4096).prop_map(move |(pcp, dei, vid)| VlanTag {
        tpid: EtherType(tpid),
        pcp,
        dei,
        vid,
    })
}

fn not_tpid() -> impl Strategy<Value = EtherType> {
    any::<u16>()
        .prop_filter("not a TPID", |t| !EtherType(*t).is_tag())
        .prop_map(EtherType)
}

fn ethernet_repr() -> impl Strategy<Value = ethernet::Repr> {
    let tags = prop_oneof![
        Just((None, None)),
        tag(0x8100).prop_map(|t| (Some(t), None)),
        (tag(0x88a8), tag(0x8100)).prop_map(|(o, i)| (Some(o), Some(i))),
    ];
    (mac(), mac(), tags, not_tpid()).prop_map(|(dst, src, (outer_tag, inner_tag), ethertype)| {
        ethernet::Repr {
            dst,
            src,
            outer_tag,
            inner_tag,
            ethertype,
        }
    })
}

fn ipv4_repr() -> impl Strategy<Value = ipv4::Repr> {
    (
        (
            any::<Ipv4Addr>(),
            any::<Ipv4Addr>(),
            any::<u8>(),
            0u16..=65515,
            any::<u8>(),
        ),
        (
            0u8..64,
            ecn(),
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
            0u16..0x2000,
        ),
    )
        .prop_map(
            |((src, dst, p, payload_len, ttl), (dscp, ecn, ident, df, mf, fo))| ipv4::Repr {
                src,
                dst,
                protocol: Protocol(p),
                payload_len,
                ttl,
                dscp,
                ecn,
                ident,
                dont_frag: df,
                more_frags: mf,
                frag_offset: fo,
            },
        )
}

fn ipv6_repr() -> impl Strategy<Value = ipv6::Repr> {
    // Next headers that end the walk at once, so the payload can be anything.
    let nh = any::<u8>().prop_filter("not an extension", |n| {
        !matches!(n, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
    });
    (
        any::<Ipv6Addr>(),
        any::<Ipv6Addr>(),
        nh,
        0u16..512,
        any::<u8>(),
        0u8..64,
        ecn(),
        0u32..0x10_0000,
    )
        .prop_map(
            |(src, dst, nh, payload_len, hop_limit, dscp, ecn, flow_label)| ipv6::Repr {
                src,
                dst,
                next_header: Protocol(nh),
                payload_len,
                hop_limit,
                dscp,
                ecn,
                flow_label,
            },
        )
}

fn kind() -> impl Strategy<Value = TunnelKind> {
    prop_oneof![
        Just(TunnelKind::Vxlan),
        Just(TunnelKind::Nvgre),
        Just(TunnelKind::Geneve)
    ]
}

/// An untagged inner frame: IPv4, IPv6 or something else, any payload.
fn inner_frame() -> impl Strategy<Value = Vec<u8>> {
    let l3 = prop_oneof![
        (ipv4_repr(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(mut r, pl)| {
            r.payload_len = pl.len() as u16;
            let mut b = vec![0u8; 20 + pl.len()];
            r.emit(&mut b).unwrap();
            b[20..].copy_from_slice(&pl);
            (EtherType::IPV4, b)
        }),
        (ipv6_repr(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(mut r, pl)| {
            r.payload_len = pl.len() as u16;
            let mut b = vec![0u8; 40 + pl.len()];
            r.emit(&mut b).unwrap();
            b[40..].copy_from_slice(&pl);
            (EtherType::IPV6, b)
        }),
        (not_tpid(), proptest::collection::vec(any::<u8>(), 0..64)),
    ];
    (mac(), mac(), l3).prop_map(|(d, s, (et, body))| {
        let mut f = vec![0u8; 14 + body.len()];
        f[..6].copy_from_slice(&d.0);
        f[6..12].copy_from_slice(&s.0);
        f[12..14].copy_from_slice(&et.0.to_be_bytes());
        f[14..].copy_from_slice(&body);
        f
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ethernet_parse_of_emit_is_identity(r in ethernet_repr()) {
        let mut b = [0u8; 22];
        let n = r.emit(&mut b).unwrap();
        prop_assert_eq!(ethernet::Repr::parse(&ethernet::Frame::new_checked(&b[..n]).unwrap()), Ok(r));
    }

    #[test]
    fn arp_parse_of_emit_is_identity(op in any::<u16>(), sm in mac(), si in any::<Ipv4Addr>(), tm in mac(), ti in any::<Ipv4Addr>()) {
        let r = arp::Repr { operation: arp::Operation(op), sender_mac: sm, sender_ip: si, target_mac: tm, target_ip: ti };
        let mut b = [0u8; 28];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(arp::Repr::parse(&arp::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn ipv4_parse_of_emit_is_identity(r in ipv4_repr()) {
        let mut b = vec![0u8; 20 + usize::from(r.payload_len)];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(ipv4::Repr::parse(&ipv4::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn ipv6_parse_of_emit_is_identity(r in ipv6_repr()) {
        let mut b = vec![0u8; 40 + usize::from(r.payload_len)];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(ipv6::Repr::parse(&ipv6::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn udp_parse_of_emit_is_identity_and_checksum_verifies(
        sp in any::<u16>(), dp in any::<u16>(), pl in proptest::collection::vec(any::<u8>(), 0..64),
        s in any::<Ipv6Addr>(), d in any::<Ipv6Addr>(),
    ) {
        let r = udp::Repr { src_port: sp, dst_port: dp, payload_len: pl.len() as u16 };
        let mut b = vec![0u8; 8 + pl.len()];
        b[8..].copy_from_slice(&pl);
        r.emit(&mut b, Some((IpAddr::V6(s), IpAddr::V6(d)))).unwrap();
        let p = udp::Packet::new_checked(&b[..]).unwrap();
        prop_assert!(p.checksum() != 0);
        prop_assert!(p.verify_checksum(IpAddr::V6(s), IpAddr::V6(d)));
        prop_assert_eq!(udp::Repr::parse(&p), Ok(r));
    }

    #[test]
    fn tcp_parse_of_emit_is_identity(sp in any::<u16>(), dp in any::<u16>(), seq in any::<u32>(), ack in any::<u32>(), flags in any::<u8>(), window in any::<u16>()) {
        let r = tcp::Repr { src_port: sp, dst_port: dp, seq, ack, flags, window };
        let mut b = [0u8; 20];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(tcp::Repr::parse(&tcp::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn icmpv4_parse_of_emit_is_identity(which in 0u8..4, a in any::<u16>(), b2 in any::<u16>(), t in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..40)) {
        let r = match which {
            0 => icmpv4::Repr::EchoRequest { ident: a, seq: b2, data: &data },
            1 => icmpv4::Repr::EchoReply { ident: a, seq: b2, data: &data },
            2 => icmpv4::Repr::FragNeeded { mtu: b2, data: &data },
            // Types that would parse as one of the above are left out.
            _ => icmpv4::Repr::Other { msg_type: t | 0x10, code: 1, rest: u32::from(a), data: &data },
        };
        let mut b = vec![0u8; r.len()];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(icmpv4::Repr::parse(&icmpv4::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn icmpv6_parse_of_emit_is_identity(
        which in 0u8..5, a in any::<u16>(), b2 in any::<u16>(), mtu in any::<u32>(), tgt in any::<Ipv6Addr>(),
        ll in proptest::option::of(mac()), fl in 0u32..8, data in proptest::collection::vec(any::<u8>(), 0..40),
        s in any::<Ipv6Addr>(), d in any::<Ipv6Addr>(),
    ) {
        let r = match which {
            0 => icmpv6::Repr::EchoRequest { ident: a, seq: b2, data: &data },
            1 => icmpv6::Repr::EchoReply { ident: a, seq: b2, data: &data },
            2 => icmpv6::Repr::PacketTooBig { mtu, data: &data },
            3 => icmpv6::Repr::NeighborSolicit { target: tgt, lladdr: ll },
            _ => icmpv6::Repr::NeighborAdvert { flags: fl << 29, target: tgt, lladdr: ll },
        };
        let mut b = vec![0u8; r.len()];
        r.emit(&mut b, s, d).unwrap();
        prop_assert_eq!(icmpv6::Repr::parse(&icmpv6::Packet::new_checked(&b[..]).unwrap(), s, d), Ok(r));
    }

    #[test]
    fn gre_parse_of_emit_is_identity(p in any::<u16>(), c in any::<bool>(), k in proptest::option::of(any::<u32>()), s in proptest::option::of(any::<u32>()), pl in proptest::collection::vec(any::<u8>(), 0..32)) {
        let r = gre::Repr { protocol: EtherType(p), checksum: c, key: k, sequence: s };
        let mut b = vec![0u8; r.header_len() + pl.len()];
        let h = r.header_len();
        b[h..].copy_from_slice(&pl);
        r.emit(&mut b).unwrap();
        prop_assert_eq!(gre::Repr::parse(&gre::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn vxlan_parse_of_emit_is_identity(vni in 0u32..0x100_0000) {
        let mut b = [0u8; 8];
        vxlan::Repr { vni }.emit(&mut b).unwrap();
        prop_assert_eq!(vxlan::Repr::parse(&vxlan::Packet::new_checked(&b[..]).unwrap()), Ok(vxlan::Repr { vni }));
    }

    #[test]
    fn nvgre_parse_of_emit_is_identity(vsid in nvgre::VSID_MIN..=nvgre::VSID_MAX, flow_id in any::<u8>()) {
        let r = nvgre::Repr { vsid, flow_id };
        let mut b = [0u8; 8];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(nvgre::Repr::parse(&nvgre::Packet::new_checked(&b[..]).unwrap()), Ok(r));
    }

    #[test]
    fn geneve_parse_of_emit_is_identity(
        oam in any::<bool>(), critical in any::<bool>(), p in any::<u16>(), vni in 0u32..0x100_0000,
        opts in proptest::collection::vec((any::<u16>(), any::<u8>(), 0usize..8), 0..6),
    ) {
        let mut ob = Vec::new();
        for (class, typ, words) in opts {
            let data = vec![0x5a; words * 4];
            let o = geneve::GeneveOption { class, typ, data: &data };
            let mut w = vec![0u8; o.wire_len()];
            o.emit(&mut w).unwrap();
            ob.extend_from_slice(&w);
        }
        let r = geneve::Repr { oam, critical, protocol: EtherType(p), vni, options: &ob };
        let mut b = vec![0u8; r.header_len()];
        r.emit(&mut b).unwrap();
        let pkt = geneve::Packet::new_checked(&b[..]).unwrap();
        prop_assert_eq!(geneve::Repr::parse(&pkt), Ok(r));
    }

    #[test]
    fn decap_of_encap_is_identity(
        kind in kind(), v6 in any::<bool>(), inner in inner_frame(), hash in any::<u32>(),
        vni in 0x1000u32..0xff_ffff, compat in any::<bool>(), inherit_ttl in any::<bool>(),
        zero6 in any::<bool>(), range in (0u16..=65535, 0u16..=65535), opt in any::<Option<[u8; 4]>>(),
    ) {
        let (local, remote): (IpAddr, IpAddr) = if v6 {
            ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap())
        } else {
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
        };
        let mut c = Config::new(kind, local, remote, MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]), vni);
        c.ecn = if compat { EcnMode::Compatibility } else { EcnMode::Normal };
        c.ttl = if inherit_ttl { Ttl::Inherit { non_ip: 9 } } else { Ttl::Fixed(64) };
        c.dscp = Dscp::Fixed(10);
        c.udp6_zero_checksum = zero6;
        c.src_ports = PortRange { min: range.0.min(range.1), max: range.0.max(range.1) };
        if let (TunnelKind::Geneve, Some(d)) = (kind, opt) {
            c.geneve_options = GeneveOptions::new(&[0, 1, 2, 1, d[0], d[1], d[2], d[3]]).unwrap();
        }
        let t = Template::new(&c).unwrap();
        let mut p = vec![0u8; t.len() + inner.len()];
        p[t.len()..].copy_from_slice(&inner);
        t.encap(&mut p, hash).unwrap();

        let mut rx = decap::Config::new(Some("192.0.2.2".parse().unwrap()), Some("2001:db8::2".parse().unwrap()));
        rx.udp6_zero_checksum = zero6;
        let d = decap(&rx, &p).unwrap();
        prop_assert_eq!(d.kind, kind);
        prop_assert_eq!(d.vni, vni);
        prop_assert_eq!(d.remote, local);
        prop_assert_eq!(d.inner(&p), &inner[..]);
        prop_assert_eq!(d.ecn_rewrite, None);
        if kind != TunnelKind::Nvgre {
            let at = t.len() - 16 - c.geneve_options.as_bytes().len();
            let sport = u16::from_be_bytes([p[at], p[at + 1]]);
            prop_assert!((c.src_ports.min..=c.src_ports.max).contains(&sport));
        }
    }

    #[test]
    fn no_input_panics_a_parser(b in bytes()) {
        if let Ok(f) = ethernet::Frame::new_checked(&b[..]) {
            let _ = (ethernet::Repr::parse(&f), f.tag(0), f.tag(1), f.payload());
        }
        if let Ok(p) = arp::Packet::new_checked(&b[..]) {
            let _ = arp::Repr::parse(&p);
        }
        if let Ok(p) = ipv4::Packet::new_checked(&b[..]) {
            let _ = (ipv4::Repr::parse(&p), p.payload(), p.options(), p.verify_checksum());
        }
        if let Ok(p) = ipv6::Packet::new_checked(&b[..]) {
            let _ = (ipv6::Repr::parse(&p), p.payload(), p.upper_payload());
        }
        if let Ok(p) = udp::Packet::new_checked(&b[..]) {
            let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let _ = (udp::Repr::parse(&p), p.payload(), p.verify_checksum(a, a));
        }
        if let Ok(p) = tcp::Packet::new_checked(&b[..]) {
            let _ = (tcp::Repr::parse(&p), p.header_len(), p.urgent(), p.checksum());
        }
        if let Ok(p) = icmpv4::Packet::new_checked(&b[..]) {
            let _ = icmpv4::Repr::parse(&p);
        }
        if let Ok(p) = icmpv6::Packet::new_checked(&b[..]) {
            let a = Ipv6Addr::LOCALHOST;
            let _ = (icmpv6::Repr::parse(&p, a, a), p.target());
        }
        if let Ok(p) = gre::Packet::new_checked(&b[..]) {
            let _ = (gre::Repr::parse(&p), p.payload());
        }
        if let Ok(p) = vxlan::Packet::new_checked(&b[..]) {
            let _ = (vxlan::Repr::parse(&p), p.payload());
        }
        if let Ok(p) = nvgre::Packet::new_checked(&b[..]) {
            let _ = (nvgre::Repr::parse(&p), p.payload());
        }
        if let Ok(p) = geneve::Packet::new_checked(&b[..]) {
            let _ = (geneve::Repr::parse(&p), p.iter_options().count(), p.payload());
        }
    }

    #[test]
    fn no_input_panics_decap_hash_or_builders(b in bytes(), v6 in any::<bool>()) {
        let mut c = decap::Config::new(Some("192.0.2.2".parse().unwrap()), Some("2001:db8::2".parse().unwrap()));
        c.allow_inner_tags = v6;
        c.verify_udp4_checksum = !v6;
        if let Ok(d) = decap(&c, &b) {
            let mut m = b.clone();
            d.apply_ecn(&mut m);
            let _ = d.inner(&b);
        }
        let _ = flow::hash(&DEFAULT, &b, Symmetry::Directional);
        let _ = flow::hash(&DEFAULT, &b, Symmetry::Symmetric);
        let mut out = [0u8; 1600];
        let m = MacAddr([2, 0, 0, 0, 0, 1]);
        let _ = reply::arp_reply(&b, m, &mut out);
        let _ = reply::neighbor_advert(&b, m, &mut out);
        let _ = reply::icmpv4_frag_needed(&b, 1400, Ipv4Addr::LOCALHOST, m, &mut out);
        let _ = reply::icmpv6_packet_too_big(&b, 1400, Ipv6Addr::LOCALHOST, m, &mut out[..100]);
    }

    /// Tunnel-shaped frames with random tails reach deeper than random bytes.
    #[test]
    fn no_tunnel_shaped_input_panics_decap(kind in kind(), v6 in any::<bool>(), tail in bytes(), cut in any::<prop::sample::Index>(), flip in any::<(usize, u8)>()) {
        let (local, remote): (IpAddr, IpAddr) = if v6 {
            ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap())
        } else {
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
        };
        let t = Template::new(&Config::new(kind, local, remote, MacAddr::default(), MacAddr::default(), 0x4000)).unwrap();
        let mut p = t.bytes().to_vec();
        p.extend_from_slice(&tail);
        let i = flip.0 % p.len();
        p[i] ^= flip.1;
        let n = cut.index(p.len() + 1);
        let c = decap::Config::new(Some("192.0.2.2".parse().unwrap()), Some("2001:db8::2".parse().unwrap()));
        let _ = decap(&c, &p[..n]);
    }

    #[test]
    fn symmetric_flow_hash_ignores_direction(s in any::<Ipv4Addr>(), d in any::<Ipv4Addr>(), sp in any::<u16>(), dp in any::<u16>()) {
        let frame = |s: Ipv4Addr, d: Ipv4Addr, sp: u16, dp: u16| {
            let mut f = vec![0u8; 42];
            f[12..14].copy_from_slice(&[8, 0]);
            let r = ipv4::Repr { src: s, dst: d, protocol: Protocol::UDP, payload_len: 8, ttl: 1, dscp: 0, ecn: Ecn::NotEct, ident: 0, dont_frag: false, more_frags: false, frag_offset: 0 };
            r.emit(&mut f[14..]).unwrap();
            f[34..36].copy_from_slice(&sp.to_be_bytes());
            f[36..38].copy_from_slice(&dp.to_be_bytes());
            f
        };
        prop_assert_eq!(
            flow::hash(&DEFAULT, &frame(s, d, sp, dp), Symmetry::Symmetric),
            flow::hash(&DEFAULT, &frame(d, s, dp, sp), Symmetry::Symmetric)
        );
        prop_assert_eq!(flow::hash(&DEFAULT, &frame(s, d, sp, dp), Symmetry::Directional), DEFAULT.ipv4_ports(s, d, sp, dp));
    }
}
