//! Decapsulation: the receive half of the hot path.
//!
//! [`decap`] takes a whole frame from the uplink, validates the outer
//! Ethernet, IP (v4 or v6), UDP or GRE and tunnel headers, and returns a
//! small [`Decapsulated`] (tunnel kind, VNI/VSID, the sending VTEP, where the
//! inner frame is, and what RFC 6040 says to do to its ECN field) or the
//! [`DropReason`] to count. It reads and allocates nothing beyond the frame.
//!
//! Checks, in order, with what requires them:
//! - outer IPv4 header checksum; fragments refused (RFC 7348 §4.3);
//! - outer destination is our VTEP address;
//! - UDP: a non-zero checksum must be right (RFC 7348 §5; RFC 8200 §8.1 over
//!   IPv6); zero over IPv6 only in the RFC 6936 mode;
//! - VXLAN I flag (RFC 7348 §5); NVGRE flags, protocol and VSID (RFC 7637
//!   §3.2); Geneve version, O bit, protocol and critical options (RFC 8926
//!   §3.4, §3.5.1);
//! - inner frame untagged (RFC 7348 §6.1, RFC 7637 §4) unless configured;
//! - ECN combination (RFC 6040 §4.2).
//!
//! Departures: the outer Ethernet may carry up to two VLAN tags, which are
//! skipped. The NotIp and UnknownProtocol reasons cover ARP, ICMP and ND
//! addressed to the VTEP: the caller punts those to the control thread
//! instead of dropping them.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ecn::{self, Ecn, Egress};
use crate::ethernet::{self, EtherType};
use crate::ip::Protocol;
use crate::template::TunnelKind;
use crate::{checksum, geneve, inner, ipv4, ipv6, nvgre, udp, vxlan};
use crate::{DropReason, Error};

/// What the receive side accepts.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Our IPv4 VTEP address, if any.
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 VTEP address, if any.
    pub local_v6: Option<Ipv6Addr>,
    /// UDP port for VXLAN, or `None` to refuse VXLAN.
    pub vxlan_port: Option<u16>,
    /// UDP port for Geneve, or `None` to refuse Geneve.
    pub geneve_port: Option<u16>,
    /// Accept NVGRE.
    pub nvgre: bool,
    /// Verify non-zero UDP checksums over IPv4 (RFC 7348 §5 lets a receiver
    /// skip it; one that checks must drop a wrong one).
    pub verify_udp4_checksum: bool,
    /// Verify UDP checksums over IPv6; turn off only when the NIC did.
    pub verify_udp6_checksum: bool,
    /// Accept zero UDP checksums over IPv6 (RFC 6935 §5, RFC 6936 §5).
    pub udp6_zero_checksum: bool,
    /// Accept 802.1Q-tagged inner frames.
    pub allow_inner_tags: bool,
    /// Whether nvo understands the Geneve option `(class, type)`; a critical
    /// option for which this is false makes the frame undeliverable.
    pub geneve_option_known: fn(u16, u8) -> bool,
}

impl Config {
    /// Accepts all three kinds on their IANA ports for these addresses,
    /// verifies every non-zero checksum, refuses zero UDP checksums over
    /// IPv6, tagged inner frames and every critical Geneve option.
    pub fn new(local_v4: Option<Ipv4Addr>, local_v6: Option<Ipv6Addr>) -> Config {
        Config {
            local_v4,
            local_v6,
            vxlan_port: Some(vxlan::UDP_PORT),
            geneve_port: Some(geneve::UDP_PORT),
            nvgre: true,
            verify_udp4_checksum: true,
            verify_udp6_checksum: true,
            udp6_zero_checksum: false,
            allow_inner_tags: false,
            geneve_option_known: |_, _| false,
        }
    }
}

/// A frame that passed decapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decapsulated {
    /// Tunnel kind it arrived by.
    pub kind: TunnelKind,
    /// VNI (VXLAN, Geneve) or VSID (NVGRE), 24 bits.
    pub vni: u32,
    /// The sending VTEP: the outer source address.
    pub remote: IpAddr,
    /// Offset of the inner Ethernet frame in the received frame.
    pub inner_offset: u16,
    /// Length of the inner frame.
    pub inner_len: u16,
    /// RFC 6040: the inner IP header's offset in the received frame and
    /// the ECN value to write there, when it must change.
    pub ecn_rewrite: Option<(u16, Ecn)>,
}

// Returned by value per frame: keep it within half a cache line.
const _: () = assert!(core::mem::size_of::<Decapsulated>() <= 32);

impl Decapsulated {
    /// The inner frame within the received `frame`.
    #[inline]
    pub fn inner<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = usize::from(self.inner_offset);
        frame
            .get(start..start + usize::from(self.inner_len))
            .unwrap_or(&[])
    }

    /// Applies the ECN rewrite, if any, to the received `frame` in place.
    #[inline]
    pub fn apply_ecn(&self, frame: &mut [u8]) {
        if let Some((at, e)) = self.ecn_rewrite {
            if let Some(ip) = frame.get_mut(usize::from(at)..) {
                ecn::rewrite(ip, e);
            }
        }
    }
}

/// The outer IP facts decap needs.
struct Outer<'a> {
    remote: IpAddr,
    /// Source and destination address bytes, contiguous in both families:
    /// the address part of the UDP pseudo-header.
    addrs: &'a [u8],
    protocol: Protocol,
    ecn: Ecn,
    /// Offset of the upper-layer header in the frame.
    l4_offset: usize,
    /// The upper-layer bytes, bounded by the IP length.
    l4: &'a [u8],
}

/// Validates `frame` and finds its inner frame.
#[inline]
pub fn decap(cfg: &Config, frame: &[u8]) -> Result<Decapsulated, DropReason> {
    let eth = ethernet::Frame::new_checked(frame).map_err(|_| DropReason::Truncated)?;
    let l3 = eth.header_len();
    let outer = match eth.ethertype() {
        EtherType::IPV4 => outer_v4(cfg, &frame[l3..], l3)?,
        EtherType::IPV6 => outer_v6(cfg, &frame[l3..], l3)?,
        _ => return Err(DropReason::NotIp),
    };

    let (kind, vni, inner_rel, inner_len) = match outer.protocol {
        Protocol::UDP => tunnel_udp(cfg, &outer)?,
        Protocol::GRE if cfg.nvgre => tunnel_nvgre(outer.l4)?,
        _ => return Err(DropReason::UnknownProtocol),
    };
    let inner_offset = outer.l4_offset + inner_rel;
    let inner = &frame[inner_offset..inner_offset + inner_len];

    let ecn_rewrite = match inner::inspect(inner, cfg.allow_inner_tags)? {
        Some(ip) => match ecn::decap(outer.ecn, Ecn::from_tos(ip.tos)) {
            Egress::Keep => None,
            Egress::Set(e) => Some(((inner_offset + ip.offset) as u16, e)),
            Egress::Drop => return Err(DropReason::EcnCeOnNotEct),
        },
        None => None,
    };
    Ok(Decapsulated {
        kind,
        vni,
        remote: outer.remote,
        inner_offset: inner_offset as u16,
        inner_len: inner_len as u16,
        ecn_rewrite,
    })
}

#[inline(always)]
fn ip_error(e: Error) -> DropReason {
    match e {
        Error::Truncated => DropReason::Truncated,
        _ => DropReason::MalformedIp,
    }
}

#[inline(always)]
fn outer_v4<'a>(cfg: &Config, b: &'a [u8], at: usize) -> Result<Outer<'a>, DropReason> {
    let ip = ipv4::Packet::new_checked(b).map_err(ip_error)?;
    if !ip.verify_checksum() {
        return Err(DropReason::BadIpChecksum);
    }
    if ip.is_fragment() {
        return Err(DropReason::Fragment);
    }
    if cfg.local_v4.map(Ipv4Addr::to_bits) != Some(ip.dst().to_bits()) {
        return Err(DropReason::NotOurAddress);
    }
    let hlen = ip.header_len();
    let end = usize::from(ip.total_len());
    Ok(Outer {
        remote: IpAddr::V4(ip.src()),
        addrs: &b[ipv4::field::SRC.start..ipv4::field::DST.end],
        protocol: ip.protocol(),
        ecn: ip.ecn(),
        l4_offset: at + hlen,
        l4: &b[hlen..end],
    })
}

#[inline(always)]
fn outer_v6<'a>(cfg: &Config, b: &'a [u8], at: usize) -> Result<Outer<'a>, DropReason> {
    let ip = ipv6::Packet::new_checked(b).map_err(ip_error)?;
    if ip.is_fragment() {
        return Err(DropReason::Fragment);
    }
    // Compared as u128: one or two register compares, not a memcmp call.
    if cfg.local_v6.map(Ipv6Addr::to_bits) != Some(ip.dst().to_bits()) {
        return Err(DropReason::NotOurAddress);
    }
    let up = ip.upper_offset();
    let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    Ok(Outer {
        remote: IpAddr::V6(ip.src()),
        addrs: &b[ipv6::field::SRC.start..ipv6::field::DST.end],
        protocol: ip.upper_protocol(),
        ecn: ip.ecn(),
        l4_offset: at + up,
        l4: &b[up..end],
    })
}

/// VXLAN or Geneve: returns kind, VNI, inner offset from the UDP header and
/// inner length.
#[inline(always)]
fn tunnel_udp(cfg: &Config, o: &Outer<'_>) -> Result<(TunnelKind, u32, usize, usize), DropReason> {
    let u = udp::Packet::new_checked(o.l4).map_err(|e| match e {
        Error::Truncated => DropReason::Truncated,
        _ => DropReason::MalformedUdp,
    })?;
    let dport = Some(u.dst_port());
    let kind = if dport == cfg.vxlan_port {
        TunnelKind::Vxlan
    } else if dport == cfg.geneve_port {
        TunnelKind::Geneve
    } else {
        return Err(DropReason::NotOurTunnel);
    };

    let v6 = o.remote.is_ipv6();
    if u.checksum() == 0 {
        if v6 && !cfg.udp6_zero_checksum {
            return Err(DropReason::ZeroUdpChecksum);
        }
    } else if (v6 && cfg.verify_udp6_checksum || !v6 && cfg.verify_udp4_checksum)
        && !udp_checksum_ok(o.addrs, &o.l4[..usize::from(u.len())])
    {
        return Err(DropReason::BadUdpChecksum);
    }

    let payload = u.payload();
    let (vni, hlen) = match kind {
        TunnelKind::Vxlan => {
            let v = vxlan::Packet::new_checked(payload).map_err(|_| DropReason::Truncated)?;
            if !v.i_flag() {
                return Err(DropReason::VxlanIFlagClear);
            }
            (v.vni(), vxlan::HEADER_LEN)
        }
        _ => geneve_check(cfg, payload)?,
    };
    let inner_rel = udp::HEADER_LEN + hlen;
    Ok((kind, vni, inner_rel, payload.len() - hlen))
}

/// Verifies a UDP checksum from the raw address bytes of the outer header,
/// which sum the same as the pseudo-header's addresses in either family.
#[inline(always)]
fn udp_checksum_ok(addrs: &[u8], datagram: &[u8]) -> bool {
    let ph = checksum::sum(addrs) + u32::from(Protocol::UDP.0) + datagram.len() as u32;
    checksum::fold(checksum::add(ph, checksum::sum(datagram))) == 0xffff
}

#[inline(always)]
fn geneve_check(cfg: &Config, payload: &[u8]) -> Result<(u32, usize), DropReason> {
    let g = geneve::Packet::new_checked(payload).map_err(|e| match e {
        Error::Truncated => DropReason::Truncated,
        _ => DropReason::GeneveBadOptions,
    })?;
    if g.version() != 0 {
        return Err(DropReason::GeneveVersion);
    }
    if g.oam() {
        return Err(DropReason::GeneveOam);
    }
    if g.protocol() != EtherType::TEB {
        return Err(DropReason::GeneveProtocol);
    }
    if g.first_unknown_critical(cfg.geneve_option_known).is_some() {
        return Err(DropReason::GeneveCriticalOption);
    }
    Ok((g.vni(), g.header_len()))
}

#[inline(always)]
fn tunnel_nvgre(l4: &[u8]) -> Result<(TunnelKind, u32, usize, usize), DropReason> {
    let g = nvgre::Packet::new_checked(l4).map_err(|_| DropReason::Truncated)?;
    if !g.flags_ok() {
        return Err(DropReason::NvgreBadFlags);
    }
    if g.protocol() != EtherType::TEB {
        return Err(DropReason::NvgreBadProtocol);
    }
    if nvgre::is_reserved(g.vsid()) {
        return Err(DropReason::ReservedVsid);
    }
    Ok((
        TunnelKind::Nvgre,
        g.vsid(),
        nvgre::HEADER_LEN,
        l4.len() - nvgre::HEADER_LEN,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethernet::MacAddr;
    use crate::template::{self, Template};

    const L4: &str = "192.0.2.1";
    const R4: &str = "192.0.2.2";
    const L6: &str = "2001:db8::1";
    const R6: &str = "2001:db8::2";

    fn inner(tos: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let r = ipv4::Repr {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            protocol: Protocol::UDP,
            payload_len: 26,
            ttl: 64,
            dscp: 0,
            ecn: Ecn::from_tos(tos),
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut f[14..]).unwrap();
        f
    }

    /// A frame sent by the remote VTEP to us.
    fn received(kind: TunnelKind, v6: bool, inner: &[u8]) -> Vec<u8> {
        let (l, r) = if v6 { (R6, L6) } else { (R4, L4) };
        let c = template::Config::new(
            kind,
            l.parse().unwrap(),
            r.parse().unwrap(),
            MacAddr([2, 0, 0, 0, 0, 2]),
            MacAddr([2, 0, 0, 0, 0, 1]),
            0x4242,
        );
        let t = Template::new(&c).unwrap();
        let mut p = vec![0u8; t.len() + inner.len()];
        p[t.len()..].copy_from_slice(inner);
        t.encap(&mut p, 0x1234_5678).unwrap();
        p
    }

    fn cfg() -> Config {
        Config::new(Some(L4.parse().unwrap()), Some(L6.parse().unwrap()))
    }

    #[test]
    fn every_kind_and_family_decapsulates_to_the_inner_frame() {
        for kind in [TunnelKind::Vxlan, TunnelKind::Nvgre, TunnelKind::Geneve] {
            for v6 in [false, true] {
                let f = inner(0);
                let p = received(kind, v6, &f);
                let d = decap(&cfg(), &p).unwrap();
                assert_eq!((d.kind, d.vni), (kind, 0x4242));
                assert_eq!(d.inner(&p), &f[..]);
                let want: IpAddr = if v6 {
                    R6.parse().unwrap()
                } else {
                    R4.parse().unwrap()
                };
                assert_eq!(d.remote, want);
            }
        }
    }

    #[test]
    fn vxlan_i_flag_clear_is_dropped() {
        let mut p = received(TunnelKind::Vxlan, false, &inner(0));
        p[42] = 0;
        assert_eq!(decap(&cfg(), &p), Err(DropReason::VxlanIFlagClear));
    }

    #[test]
    fn wrong_nonzero_udp_checksum_is_dropped() {
        let mut p = received(TunnelKind::Vxlan, true, &inner(0));
        p[61] ^= 1;
        assert_eq!(decap(&cfg(), &p), Err(DropReason::BadUdpChecksum));
    }

    #[test]
    fn zero_udp_checksum_over_ipv6_is_dropped_unless_opted_in() {
        let mut p = received(TunnelKind::Geneve, true, &inner(0));
        p[60..62].copy_from_slice(&[0, 0]);
        assert_eq!(decap(&cfg(), &p), Err(DropReason::ZeroUdpChecksum));
        let mut c = cfg();
        c.udp6_zero_checksum = true;
        assert!(decap(&c, &p).is_ok());
    }

    #[test]
    fn not_our_address_is_dropped() {
        let p = received(TunnelKind::Vxlan, false, &inner(0));
        let c = Config::new(Some("192.0.2.9".parse().unwrap()), None);
        assert_eq!(decap(&c, &p), Err(DropReason::NotOurAddress));
    }

    #[test]
    fn outer_ce_over_not_ect_inner_is_dropped() {
        let mut p = received(TunnelKind::Vxlan, true, &inner(0));
        p[15] |= 0x30;
        assert_eq!(decap(&cfg(), &p), Err(DropReason::EcnCeOnNotEct));
    }

    #[test]
    fn outer_ce_over_ect0_inner_marks_the_inner_ce() {
        // Normal mode copies ECT(0) out; the underlay then marks CE.
        let mut p = received(TunnelKind::Nvgre, true, &inner(0b10));
        p[15] |= 0x30;
        let d = decap(&cfg(), &p).unwrap();
        d.apply_ecn(&mut p);
        let ip = ipv4::Packet::new_checked(&d.inner(&p)[14..]).unwrap();
        assert_eq!(ip.ecn(), Ecn::Ce);
        assert!(ip.verify_checksum());
    }

    #[test]
    fn geneve_critical_option_nvo_does_not_know_is_dropped() {
        // Rebuild a Geneve header with one critical option by hand.
        let f = inner(0);
        let mut p = received(TunnelKind::Geneve, false, &f);
        let opt = [0x01, 0x02, 0x80, 0x00];
        p.splice(50..50, opt);
        p[42] = 1;
        let total = (p.len() - 14) as u16;
        p[16..18].copy_from_slice(&total.to_be_bytes());
        p[24..26].copy_from_slice(&[0, 0]);
        let c = crate::checksum::checksum(&p[14..34]);
        p[24..26].copy_from_slice(&c.to_be_bytes());
        p[38..40].copy_from_slice(&(total - 20).to_be_bytes());
        assert_eq!(decap(&cfg(), &p), Err(DropReason::GeneveCriticalOption));
        let mut known = cfg();
        known.geneve_option_known = |c, t| c == 0x0102 && t == 0x80;
        assert_eq!(decap(&known, &p).unwrap().inner(&p), &f[..]);
    }

    #[test]
    fn nvgre_reserved_vsid_is_dropped() {
        let mut p = received(TunnelKind::Nvgre, false, &inner(0));
        p[38..41].copy_from_slice(&[0, 0x0f, 0xff]);
        assert_eq!(decap(&cfg(), &p), Err(DropReason::ReservedVsid));
    }

    #[test]
    fn arp_on_the_uplink_is_not_ip() {
        let mut f = inner(0);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(decap(&cfg(), &f), Err(DropReason::NotIp));
    }
}
