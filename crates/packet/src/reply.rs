//! Whole frames the control thread sends on a VM's behalf or to it: ARP
//! replies (RFC 826), Neighbor Advertisements (RFC 4861 §7.2.4), and the
//! path MTU messages the seed asks for, ICMPv4 "fragmentation needed"
//! (RFC 1191 §4) and ICMPv6 Packet Too Big (RFC 4443 §3.2, RFC 8201).
//!
//! Each builder reads the frame that provoked it and writes a complete
//! untagged Ethernet frame at the front of `out`, returning its length.
//! Rate limiting is the caller's (RFC 4443 §2.4 (f)).

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::ecn::Ecn;
use crate::ethernet::{self, EtherType, Frame, MacAddr};
use crate::ip::Protocol;
use crate::{arp, icmpv4, icmpv6, ipv4, ipv6, Error, Result};

/// TTL / hop limit of the messages built here.
const TTL: u8 = 64;

/// RFC 1812 §4.3.2.3: an ICMPv4 error should hold as much of the original
/// as fits in 576 bytes.
const ICMPV4_ERROR_MAX: usize = 576;

/// RFC 4443 §2.4 (c): an ICMPv6 error must fit the IPv6 minimum MTU.
const ICMPV6_ERROR_MAX: usize = 1280;

fn eth(out: &mut [u8], dst: MacAddr, src: MacAddr, ethertype: EtherType) -> Result<usize> {
    ethernet::Repr {
        dst,
        src,
        outer_tag: None,
        inner_tag: None,
        ethertype,
    }
    .emit(out)
}

/// Answers the ARP request in `request` (an Ethernet frame) on behalf of
/// the owner of its target address, whose MAC is `mac`.
pub fn arp_reply(request: &[u8], mac: MacAddr, out: &mut [u8]) -> Result<usize> {
    let f = Frame::new_checked(request)?;
    if f.ethertype() != EtherType::ARP {
        return Err(Error::Unsupported);
    }
    let req = arp::Repr::parse(&arp::Packet::new_checked(f.payload())?)?;
    if req.operation != arp::Operation::REQUEST {
        return Err(Error::Unsupported);
    }
    let at = eth(out, req.sender_mac, mac, EtherType::ARP)?;
    Ok(at + req.reply(mac).emit(&mut out[at..])?)
}

/// Answers the Neighbor Solicitation in `solicit` (an Ethernet frame) for
/// its target, whose MAC is `mac`, with a solicited, overriding advert.
pub fn neighbor_advert(solicit: &[u8], mac: MacAddr, out: &mut [u8]) -> Result<usize> {
    let f = Frame::new_checked(solicit)?;
    let ip = ipv6::Packet::new_checked(f.payload())?;
    // RFC 4861 §7.1.1: hop limit 255 proves the solicitation is on-link.
    if ip.upper_protocol() != Protocol::ICMPV6 || ip.hop_limit() != 255 {
        return Err(Error::Unsupported);
    }
    let icmp = icmpv6::Packet::new_checked(ip.upper_payload())?;
    let icmpv6::Repr::NeighborSolicit { target, lladdr } =
        icmpv6::Repr::parse(&icmp, ip.src(), ip.dst())?
    else {
        return Err(Error::Unsupported);
    };
    // RFC 4861 §7.2.4: to the all-nodes address, unsolicited, when the
    // solicitation came from the unspecified address.
    let (dst, flags) = if ip.src().is_unspecified() {
        (
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            icmpv6::NA_OVERRIDE,
        )
    } else {
        (ip.src(), icmpv6::NA_SOLICITED | icmpv6::NA_OVERRIDE)
    };
    let na = icmpv6::Repr::NeighborAdvert {
        flags,
        target,
        lladdr: Some(mac),
    };
    let dst_mac = if ip.src().is_unspecified() {
        MacAddr([0x33, 0x33, 0, 0, 0, 1])
    } else {
        lladdr.unwrap_or(f.src())
    };
    icmpv6_frame(out, dst_mac, mac, target, dst, 255, &na)
}

/// Tells the sender of `frame` (an Ethernet frame holding an IPv4 packet
/// with DF set that did not fit) that the path MTU is `mtu`; sent from
/// `from_ip`/`from_mac`, the VM's gateway as seen by the switch.
pub fn icmpv4_frag_needed(
    frame: &[u8],
    mtu: u16,
    from_ip: Ipv4Addr,
    from_mac: MacAddr,
    out: &mut [u8],
) -> Result<usize> {
    let f = Frame::new_checked(frame)?;
    let ip = ipv4::Packet::new_checked(f.payload())?;
    let quoted = &f.payload()[..usize::from(ip.total_len())];
    let max = ICMPV4_ERROR_MAX - ipv4::HEADER_LEN - icmpv4::HEADER_LEN;
    let icmp = icmpv4::Repr::FragNeeded {
        mtu,
        data: &quoted[..quoted.len().min(max)],
    };
    let at = eth(out, f.src(), from_mac, EtherType::IPV4)?;
    let r = ipv4::Repr {
        src: from_ip,
        dst: ip.src(),
        protocol: Protocol::ICMP,
        payload_len: icmp.len() as u16,
        ttl: TTL,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let at = at + r.emit(&mut out[at..])?;
    Ok(at + icmp.emit(&mut out[at..])?)
}

/// The IPv6 counterpart of [`icmpv4_frag_needed`]: Packet Too Big.
pub fn icmpv6_packet_too_big(
    frame: &[u8],
    mtu: u32,
    from_ip: Ipv6Addr,
    from_mac: MacAddr,
    out: &mut [u8],
) -> Result<usize> {
    let f = Frame::new_checked(frame)?;
    let ip = ipv6::Packet::new_checked(f.payload())?;
    let quoted = &f.payload()[..ipv6::HEADER_LEN + usize::from(ip.payload_len())];
    let max = ICMPV6_ERROR_MAX - ipv6::HEADER_LEN - icmpv6::HEADER_LEN;
    let ptb = icmpv6::Repr::PacketTooBig {
        mtu,
        data: &quoted[..quoted.len().min(max)],
    };
    icmpv6_frame(out, f.src(), from_mac, from_ip, ip.src(), TTL, &ptb)
}

/// Writes an untagged Ethernet frame holding an IPv6 header and the ICMPv6
/// message `msg` (checksum filled) at the front of `out`; returns its length.
/// The building block of the builders above, for other ICMPv6 messages.
pub fn icmpv6_frame(
    out: &mut [u8],
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    msg: &icmpv6::Repr<'_>,
) -> Result<usize> {
    let at = eth(out, dst_mac, src_mac, EtherType::IPV6)?;
    let r = ipv6::Repr {
        src,
        dst,
        next_header: Protocol::ICMPV6,
        payload_len: msg.len() as u16,
        hop_limit,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label: 0,
    };
    let at = at + r.emit(out.get_mut(at..).ok_or(Error::Truncated)?)?;
    Ok(at + msg.emit(out.get_mut(at..).ok_or(Error::Truncated)?, src, dst)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const GW: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xfe]);

    #[test]
    fn arp_request_gets_a_reply_to_the_sender() {
        let mut req = [0u8; 42];
        eth(&mut req, MacAddr::BROADCAST, VM, EtherType::ARP).unwrap();
        let r = arp::Repr {
            operation: arp::Operation::REQUEST,
            sender_mac: VM,
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr::default(),
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        r.emit(&mut req[14..]).unwrap();
        let mut out = [0u8; 64];
        assert_eq!(arp_reply(&req, GW, &mut out), Ok(42));
        let f = Frame::new_checked(&out[..42]).unwrap();
        assert_eq!(f.dst(), VM);
        let a = arp::Repr::parse(&arp::Packet::new_checked(f.payload()).unwrap()).unwrap();
        assert_eq!(a, r.reply(GW));
    }

    #[test]
    fn neighbor_solicit_gets_a_solicited_advert() {
        let (vm, tgt): (Ipv6Addr, Ipv6Addr) =
            ("fe80::1".parse().unwrap(), "fe80::2".parse().unwrap());
        let ns = icmpv6::Repr::NeighborSolicit {
            target: tgt,
            lladdr: Some(VM),
        };
        let mut req = [0u8; 86];
        let n = icmpv6_frame(
            &mut req,
            MacAddr([0x33, 0x33, 0xff, 0, 0, 2]),
            VM,
            vm,
            "ff02::1:ff00:2".parse().unwrap(),
            255,
            &ns,
        )
        .unwrap();
        let mut out = [0u8; 128];
        let len = neighbor_advert(&req[..n], GW, &mut out).unwrap();
        let f = Frame::new_checked(&out[..len]).unwrap();
        assert_eq!(f.dst(), VM);
        let ip = ipv6::Packet::new_checked(f.payload()).unwrap();
        assert_eq!((ip.src(), ip.dst(), ip.hop_limit()), (tgt, vm, 255));
        let icmp = icmpv6::Packet::new_checked(ip.upper_payload()).unwrap();
        let want = icmpv6::Repr::NeighborAdvert {
            flags: icmpv6::NA_SOLICITED | icmpv6::NA_OVERRIDE,
            target: tgt,
            lladdr: Some(GW),
        };
        assert_eq!(icmpv6::Repr::parse(&icmp, tgt, vm), Ok(want));
    }

    #[test]
    fn frag_needed_quotes_the_original_and_goes_back_to_its_source() {
        let mut big = [0u8; 1514];
        eth(&mut big, GW, VM, EtherType::IPV4).unwrap();
        let r = ipv4::Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 1, 1),
            protocol: Protocol::TCP,
            payload_len: 1480,
            ttl: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut big[14..]).unwrap();
        let mut out = [0u8; 600];
        let n = icmpv4_frag_needed(&big, 1450, Ipv4Addr::new(10, 0, 0, 254), GW, &mut out).unwrap();
        assert_eq!(n, 14 + ICMPV4_ERROR_MAX);
        let ip = ipv4::Packet::new_checked(&out[14..n]).unwrap();
        assert_eq!(ip.dst(), r.src);
        let icmp = icmpv4::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (icmp.msg_type(), icmp.code(), icmp.seq_or_mtu()),
            (3, 4, 1450)
        );
        assert!(icmp.verify_checksum());
    }

    #[test]
    fn packet_too_big_fits_the_minimum_mtu() {
        let mut big = [0u8; 1514];
        eth(&mut big, GW, VM, EtherType::IPV6).unwrap();
        let r = ipv6::Repr {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8:1::1".parse().unwrap(),
            next_header: Protocol::UDP,
            payload_len: 1460,
            hop_limit: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            flow_label: 0,
        };
        r.emit(&mut big[14..]).unwrap();
        let mut out = [0u8; 1400];
        let n = icmpv6_packet_too_big(&big, 1450, "2001:db8::fe".parse().unwrap(), GW, &mut out)
            .unwrap();
        assert_eq!(n, 14 + ICMPV6_ERROR_MAX);
        let ip = ipv6::Packet::new_checked(&out[14..n]).unwrap();
        let icmp = icmpv6::Packet::new_checked(ip.upper_payload()).unwrap();
        assert_eq!(icmp.word(), 1450);
        assert!(icmp.verify_checksum(ip.src(), ip.dst()));
    }
}
