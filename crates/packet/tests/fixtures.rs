//! Known-answer tests against frames built by scapy (and dissected clean by
//! tshark): see fixtures/make_fixtures.py for how each was made.
//!
//! Every frame is parsed layer by layer and re-emitted from the owned
//! representations into a zeroed buffer; only the bytes no representation
//! covers (IP and TCP options, extension headers, opaque payloads) are
//! copied. The result must equal scapy's bytes.

use std::collections::HashMap;
use std::net::IpAddr;

use nvo_packet::decap::{self, decap};
use nvo_packet::ethernet::{self, EtherType, MacAddr};
use nvo_packet::ip::Protocol;
use nvo_packet::template::{Config, GeneveOptions, Template, TunnelKind};
use nvo_packet::{arp, geneve, gre, icmpv4, icmpv6, ipv4, ipv6, tcp, udp, vxlan};
use nvo_packet::{flow::PortRange, DropReason};

fn fixtures() -> HashMap<&'static str, Vec<u8>> {
    include_str!("fixtures/fixtures.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name, bytes)
        })
        .collect()
}

/// Re-emits the Ethernet frame `orig` into `out` (same length, zeroed).
fn reemit_ethernet(orig: &[u8], out: &mut [u8]) {
    let f = ethernet::Frame::new_checked(orig).unwrap();
    let r = ethernet::Repr::parse(&f).unwrap();
    let h = r.emit(out).unwrap();
    match r.ethertype {
        EtherType::ARP => {
            let a = arp::Repr::parse(&arp::Packet::new_checked(&orig[h..]).unwrap()).unwrap();
            a.emit(&mut out[h..]).unwrap();
        }
        EtherType::IPV4 => reemit_ipv4(&orig[h..], &mut out[h..]),
        EtherType::IPV6 => reemit_ipv6(&orig[h..], &mut out[h..]),
        other => panic!("unexpected {other:?}"),
    }
}

fn reemit_ipv4(orig: &[u8], out: &mut [u8]) {
    let p = ipv4::Packet::new_checked(orig).unwrap();
    let mut r = ipv4::Repr::parse(&p).unwrap();
    let h = p.header_len();
    r.payload_len += (h - ipv4::HEADER_LEN) as u16;
    r.emit(out).unwrap();
    if h > ipv4::HEADER_LEN {
        // Options are not represented: copy them and fix IHL and checksum.
        out[0] = orig[0];
        out[ipv4::HEADER_LEN..h].copy_from_slice(p.options());
        ipv4::Packet::new_checked(&mut *out)
            .unwrap()
            .fill_checksum();
    }
    let end = usize::from(p.total_len());
    let addrs = (IpAddr::V4(p.src()), IpAddr::V4(p.dst()));
    reemit_upper(p.protocol(), addrs, &orig[h..end], &mut out[h..end]);
}

fn reemit_ipv6(orig: &[u8], out: &mut [u8]) {
    let p = ipv6::Packet::new_checked(orig).unwrap();
    ipv6::Repr::parse(&p).unwrap().emit(out).unwrap();
    // Extension headers are walked, not represented: copy them.
    let up = p.upper_offset();
    out[ipv6::HEADER_LEN..up].copy_from_slice(&orig[ipv6::HEADER_LEN..up]);
    let end = ipv6::HEADER_LEN + usize::from(p.payload_len());
    let addrs = (IpAddr::V6(p.src()), IpAddr::V6(p.dst()));
    reemit_upper(p.upper_protocol(), addrs, &orig[up..end], &mut out[up..end]);
}

fn reemit_upper(proto: Protocol, addrs: (IpAddr, IpAddr), orig: &[u8], out: &mut [u8]) {
    match proto {
        Protocol::UDP => {
            let p = udp::Packet::new_checked(orig).unwrap();
            let r = udp::Repr::parse(&p).unwrap();
            let body = udp::HEADER_LEN..usize::from(p.len());
            match p.dst_port() {
                vxlan::UDP_PORT => reemit_vxlan(&orig[body.clone()], &mut out[body]),
                geneve::UDP_PORT => reemit_geneve(&orig[body.clone()], &mut out[body]),
                _ => out[body.clone()].copy_from_slice(&orig[body]),
            }
            let sum = (p.checksum() != 0).then_some(addrs);
            r.emit(out, sum).unwrap();
            assert!(p.verify_checksum(addrs.0, addrs.1), "{addrs:?}");
        }
        Protocol::TCP => {
            let p = tcp::Packet::new_checked(orig).unwrap();
            tcp::Repr::parse(&p).unwrap().emit(out).unwrap();
            // Options, checksum and data are the VM's: copy them.
            out[12] = orig[12];
            out[16..18].copy_from_slice(&orig[16..18]);
            out[tcp::HEADER_LEN..].copy_from_slice(&orig[tcp::HEADER_LEN..]);
        }
        Protocol::ICMP => {
            let p = icmpv4::Packet::new_checked(orig).unwrap();
            icmpv4::Repr::parse(&p).unwrap().emit(out).unwrap();
        }
        Protocol::ICMPV6 => {
            let (IpAddr::V6(s), IpAddr::V6(d)) = addrs else {
                panic!("ICMPv6 over IPv4")
            };
            let p = icmpv6::Packet::new_checked(orig).unwrap();
            icmpv6::Repr::parse(&p, s, d)
                .unwrap()
                .emit(out, s, d)
                .unwrap();
        }
        Protocol::GRE => {
            let p = gre::Packet::new_checked(orig).unwrap();
            let r = gre::Repr::parse(&p).unwrap();
            let h = p.header_len();
            reemit_ethernet(&orig[h..], &mut out[h..]);
            r.emit(out).unwrap();
        }
        Protocol::NO_NEXT => assert!(orig.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}

fn reemit_vxlan(orig: &[u8], out: &mut [u8]) {
    let p = vxlan::Packet::new_checked(orig).unwrap();
    vxlan::Repr::parse(&p).unwrap().emit(out).unwrap();
    reemit_ethernet(p.payload(), &mut out[vxlan::HEADER_LEN..]);
}

fn reemit_geneve(orig: &[u8], out: &mut [u8]) {
    let p = geneve::Packet::new_checked(orig).unwrap();
    let r = geneve::Repr::parse(&p).unwrap();
    let h = r.emit(out).unwrap();
    reemit_ethernet(p.payload(), &mut out[h..]);
}

fn reemit(orig: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; orig.len()];
    reemit_ethernet(orig, &mut out);
    out
}

#[test]
fn every_scapy_frame_reemits_byte_for_byte() {
    let all = fixtures();
    assert!(all.len() >= 28);
    for (name, frame) in &all {
        if *name == "rx_vxlan_v4" {
            continue; // Carries reserved bits; see the next test.
        }
        assert_eq!(reemit(frame), *frame, "{name}");
    }
}

#[test]
fn vxlan_reserved_bits_are_ignored_on_receipt_and_sent_as_zero() {
    let f = &fixtures()["rx_vxlan_v4"];
    let vx = &f[42..50];
    assert_ne!(
        vx,
        [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0],
        "scapy sets GPE bits here"
    );
    let out = reemit(f);
    assert_eq!(&out[42..50], [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
    assert_eq!(out[50..], f[50..]);
}

const VNI: u32 = 0x123456;
const FLOW_HASH: u32 = 0xabcd_e000;

/// The template configuration make_fixtures.py mirrors.
fn config(kind: TunnelKind, v6: bool) -> Config {
    let (l, r): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    } else {
        ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
    };
    let mut c = Config::new(
        kind,
        l,
        r,
        MacAddr([2, 0, 0, 0, 0, 1]),
        MacAddr([2, 0, 0, 0, 0, 2]),
        VNI,
    );
    c.src_ports = PortRange {
        min: 50000,
        max: 50000,
    };
    c
}

/// Encapsulates the fixtures' inner frame with `c`.
fn encap(c: &Config, inner: &[u8]) -> Vec<u8> {
    let t = Template::new(c).unwrap();
    let mut p = vec![0u8; t.len() + inner.len()];
    p[t.len()..].copy_from_slice(inner);
    t.encap(&mut p, FLOW_HASH).unwrap();
    p
}

#[test]
fn encapsulation_matches_scapy_for_every_kind_and_family() {
    let all = fixtures();
    let inner = &all["inner"];
    for (kind, name) in [
        (TunnelKind::Vxlan, "vxlan"),
        (TunnelKind::Geneve, "geneve"),
        (TunnelKind::Nvgre, "nvgre"),
    ] {
        for (v6, fam) in [(false, "v4"), (true, "v6")] {
            let p = encap(&config(kind, v6), inner);
            let want = &all[format!("encap_{name}_{fam}").as_str()];
            assert_eq!(p, *want, "{name} over IP{fam}");
        }
    }
}

#[test]
fn geneve_template_options_match_scapy() {
    let all = fixtures();
    let mut c = config(TunnelKind::Geneve, true);
    c.geneve_options = GeneveOptions::new(&[0x01, 0x02, 0x83, 0x01, 0, 0, 0, 0x2a]).unwrap();
    assert_eq!(encap(&c, &all["inner"]), all["encap_geneve_v6_option"]);
}

fn rx_config() -> decap::Config {
    decap::Config::new(
        Some("192.0.2.1".parse().unwrap()),
        Some("2001:db8::1".parse().unwrap()),
    )
}

#[test]
fn scapy_tunnel_frames_decapsulate_to_the_inner_frame() {
    let all = fixtures();
    let inner = &all["inner"];
    let cases = [
        ("rx_vxlan_v4", TunnelKind::Vxlan, "192.0.2.2"),
        ("rx_vxlan_v4_with_checksum", TunnelKind::Vxlan, "192.0.2.2"),
        ("rx_vxlan_v6", TunnelKind::Vxlan, "2001:db8::2"),
        ("rx_nvgre_v4", TunnelKind::Nvgre, "192.0.2.2"),
        ("rx_nvgre_v6", TunnelKind::Nvgre, "2001:db8::2"),
        ("rx_geneve_v4_options", TunnelKind::Geneve, "192.0.2.2"),
    ];
    for (name, kind, remote) in cases {
        let f = &all[name];
        let d = decap(&rx_config(), f).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.kind, d.vni), (kind, VNI), "{name}");
        assert_eq!(d.remote, remote.parse::<IpAddr>().unwrap(), "{name}");
        assert_eq!(d.inner(f), &inner[..], "{name}");
        assert_eq!(d.ecn_rewrite, None, "{name}");
    }
}

#[test]
fn geneve_critical_option_not_understood_makes_the_frame_undeliverable() {
    let f = &fixtures()["rx_geneve_v6_critical"];
    assert_eq!(
        decap(&rx_config(), f),
        Err(DropReason::GeneveCriticalOption)
    );
    let mut c = rx_config();
    c.geneve_option_known = |class, typ| class == 0x0102 && typ == 0x83;
    assert_eq!(decap(&c, f).unwrap().vni, VNI);
}

#[test]
fn our_own_encapsulations_decapsulate() {
    let all = fixtures();
    // Swap the roles: we are 192.0.2.2 / 2001:db8::2 receiving them.
    let c = decap::Config::new(
        Some("192.0.2.2".parse().unwrap()),
        Some("2001:db8::2".parse().unwrap()),
    );
    for name in ["vxlan", "geneve", "nvgre"] {
        for fam in ["v4", "v6"] {
            let f = &all[format!("encap_{name}_{fam}").as_str()];
            let d = decap(&c, f).unwrap();
            assert_eq!(d.inner(f), &all["inner"][..]);
        }
    }
    let f = &all["encap_geneve_v6_option"];
    assert_eq!(decap(&c, f), Err(DropReason::GeneveCriticalOption));
}

#[test]
fn ipv6_extension_chain_is_walked_to_udp() {
    let f = &fixtures()["ipv6_udp_ext_chain"];
    let p = ipv6::Packet::new_checked(&f[14..]).unwrap();
    assert_eq!(p.next_header(), Protocol::HOP_BY_HOP);
    assert_eq!(p.upper_protocol(), Protocol::UDP);
    assert_eq!(p.upper_offset(), 40 + 8 + 16);
}

#[test]
fn neighbor_solicit_from_scapy_is_answered() {
    let f = &fixtures()["icmpv6_neighbor_solicit"];
    let mut out = [0u8; 128];
    let mac = MacAddr([2, 0, 0, 0, 0, 0xbb]);
    let n = nvo_packet::reply::neighbor_advert(f, mac, &mut out).unwrap();
    // The advert scapy built for the same exchange is byte for byte ours.
    assert_eq!(&out[..n], &fixtures()["icmpv6_neighbor_advert"][..]);
}
