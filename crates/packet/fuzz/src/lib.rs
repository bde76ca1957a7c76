//! What each fuzz target does with its input: build the view, and if it
//! is accepted, call every accessor and parse the representation, so that
//! any index the construction-time check missed panics here.

#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nvo_packet::decap::{self, decap as run_decap};
use nvo_packet::ethernet::{self, MacAddr};
use nvo_packet::flow::{self, Symmetry};
use nvo_packet::toeplitz::DEFAULT;
use nvo_packet::{arp, geneve, gre, icmpv4, icmpv6, ipv4, ipv6, nvgre, reply, tcp, udp, vxlan};

/// Ethernet with tags.
pub fn ethernet(data: &[u8]) {
    if let Ok(f) = ethernet::Frame::new_checked(data) {
        let r = ethernet::Repr::parse(&f).unwrap();
        let mut out = [0u8; 22];
        // A parsed header emits back to its own bytes (ethertype permitting).
        if let Ok(n) = r.emit(&mut out) {
            assert_eq!(&out[..n], &data[..n]);
        }
        let _ = (f.tag(0), f.tag(1), f.payload().len());
    }
}

/// ARP.
pub fn arp(data: &[u8]) {
    if let Ok(p) = arp::Packet::new_checked(data) {
        let r = arp::Repr::parse(&p).unwrap();
        let mut out = [0u8; 28];
        r.emit(&mut out).unwrap();
        assert_eq!(&out[..], &data[..28]);
    }
}

/// IPv4.
pub fn ipv4(data: &[u8]) {
    if let Ok(p) = ipv4::Packet::new_checked(data) {
        let _ = (
            p.payload().len(),
            p.options().len(),
            p.is_fragment(),
            p.dscp(),
            p.ecn(),
        );
        if let Ok(r) = ipv4::Repr::parse(&p) {
            let mut out = vec![0u8; 20];
            r.emit(&mut out).unwrap();
        }
    }
}

/// IPv6 with the extension-header walk.
pub fn ipv6(data: &[u8]) {
    if let Ok(p) = ipv6::Packet::new_checked(data) {
        let _ = (
            p.payload().len(),
            p.upper_payload().len(),
            p.upper_protocol(),
            p.flow_label(),
        );
        let mut out = [0u8; 40];
        ipv6::Repr::parse(&p).unwrap().emit(&mut out).unwrap();
        assert_eq!(&out[..], &data[..40]);
    }
}

/// UDP, with checksum verification.
pub fn udp(data: &[u8]) {
    if let Ok(p) = udp::Packet::new_checked(data) {
        let a = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let _ = (
            p.payload().len(),
            p.verify_checksum(a, a),
            udp::Repr::parse(&p),
        );
    }
}

/// TCP.
pub fn tcp(data: &[u8]) {
    if let Ok(p) = tcp::Packet::new_checked(data) {
        let _ = (
            tcp::Repr::parse(&p),
            p.header_len(),
            p.checksum(),
            p.urgent(),
        );
    }
}

/// ICMPv4.
pub fn icmpv4(data: &[u8]) {
    if let Ok(p) = icmpv4::Packet::new_checked(data) {
        if let Ok(r) = icmpv4::Repr::parse(&p) {
            let mut out = vec![0u8; r.len()];
            r.emit(&mut out).unwrap();
        }
    }
}

/// ICMPv6 and NDP options.
pub fn icmpv6(data: &[u8]) {
    if let Ok(p) = icmpv6::Packet::new_checked(data) {
        let a = Ipv6Addr::LOCALHOST;
        let _ = p.target();
        // The checksum gate would hide the option walk: parse with the
        // checksum fixed up first.
        let mut fixed = data.to_vec();
        fixed[2..4].copy_from_slice(&[0, 0]);
        let ph = nvo_packet::checksum::pseudo_header_v6(
            a,
            a,
            nvo_packet::ip::Protocol::ICMPV6,
            fixed.len() as u32,
        );
        let c = !nvo_packet::checksum::fold(nvo_packet::checksum::add(
            ph,
            nvo_packet::checksum::sum(&fixed),
        ));
        fixed[2..4].copy_from_slice(&c.to_be_bytes());
        let p = icmpv6::Packet::new_checked(&fixed[..]).unwrap();
        if let Ok(r) = icmpv6::Repr::parse(&p, a, a) {
            let mut out = vec![0u8; r.len()];
            r.emit(&mut out, a, a).unwrap();
        }
    }
}

/// GRE.
pub fn gre(data: &[u8]) {
    if let Ok(p) = gre::Packet::new_checked(data) {
        let _ = (
            gre::Repr::parse(&p),
            p.key(),
            p.sequence(),
            p.payload().len(),
        );
    }
}

/// VXLAN.
pub fn vxlan(data: &[u8]) {
    if let Ok(p) = vxlan::Packet::new_checked(data) {
        let _ = (vxlan::Repr::parse(&p), p.payload().len());
    }
}

/// NVGRE.
pub fn nvgre(data: &[u8]) {
    if let Ok(p) = nvgre::Packet::new_checked(data) {
        let _ = (nvgre::Repr::parse(&p), p.flow_id(), p.payload().len());
    }
}

/// Geneve and its option walk.
pub fn geneve(data: &[u8]) {
    if let Ok(p) = geneve::Packet::new_checked(data) {
        let n: usize = p.iter_options().map(|o| o.wire_len()).sum();
        assert_eq!(n, p.options_len());
        let _ = (p.first_unknown_critical(|_, _| false), p.payload().len());
        if let Ok(r) = geneve::Repr::parse(&p) {
            // Reserved bits are not represented: compare representations.
            let mut out = vec![0u8; r.header_len()];
            r.emit(&mut out).unwrap();
            let again = geneve::Packet::new_checked(&out[..]).unwrap();
            assert_eq!(geneve::Repr::parse(&again).unwrap(), r);
        }
    }
}

/// Decapsulation, with every option of the configuration exercised by the
/// first input byte.
pub fn decap(data: &[u8]) {
    let Some((&knobs, frame)) = data.split_first() else {
        return;
    };
    let mut c = decap::Config::new(
        Some(Ipv4Addr::new(192, 0, 2, 2)),
        Some("2001:db8::2".parse().unwrap()),
    );
    c.verify_udp4_checksum = knobs & 1 != 0;
    c.verify_udp6_checksum = knobs & 2 != 0;
    c.udp6_zero_checksum = knobs & 4 != 0;
    c.allow_inner_tags = knobs & 8 != 0;
    c.nvgre = knobs & 16 != 0;
    if knobs & 32 != 0 {
        c.geneve_option_known = |_, _| true;
    }
    if let Ok(d) = run_decap(&c, frame) {
        assert!(usize::from(d.inner_offset) + usize::from(d.inner_len) <= frame.len());
        assert!(d.inner(frame).len() >= 14);
        let mut m = frame.to_vec();
        d.apply_ecn(&mut m);
    }
}

/// The flow hash over anything.
pub fn flow_hash(data: &[u8]) {
    let _ = flow::hash(&DEFAULT, data, Symmetry::Directional);
    let _ = flow::hash(&DEFAULT, data, Symmetry::Symmetric);
}

/// The reply builders over anything, into a buffer of any size.
pub fn reply(data: &[u8]) {
    let Some((&size, frame)) = data.split_first() else {
        return;
    };
    let mut out = vec![0u8; usize::from(size) * 8];
    let m = MacAddr([2, 0, 0, 0, 0, 1]);
    let _ = reply::arp_reply(frame, m, &mut out);
    let _ = reply::neighbor_advert(frame, m, &mut out);
    let _ = reply::icmpv4_frag_needed(frame, 1400, Ipv4Addr::LOCALHOST, m, &mut out);
    let _ = reply::icmpv6_packet_too_big(frame, 1400, Ipv6Addr::LOCALHOST, m, &mut out);
}
