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
//! - outer destination is one of our VTEP addresses;
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

/// The most local addresses of one family [`Config`] holds.
pub const MAX_LOCAL: usize = 8;
/// The most UDP ports of one tunnel kind [`Config`] holds.
pub const MAX_PORTS: usize = 4;

/// A handful of values, searched in order: a switch has one VTEP address
/// per uplink and one UDP port per tunnel kind, rarely more, and scanning
/// a few words beats any lookup structure at that size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Few<T, const N: usize> {
    items: [T; N],
    len: u8,
}

/// [`Few::insert`] found no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl<T: Copy + Default + PartialEq, const N: usize> Few<T, N> {
    /// None.
    pub fn new() -> Self {
        Few {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// Just `v`.
    pub fn one(v: T) -> Self {
        let mut few = Self::new();
        few.items[0] = v;
        few.len = 1;
        few
    }

    /// Adds `v` unless present; [`Full`] when `N` values are already held.
    pub fn insert(&mut self, v: T) -> Result<(), Full> {
        if self.contains(v) {
            return Ok(());
        }
        let slot = self.items.get_mut(usize::from(self.len)).ok_or(Full)?;
        *slot = v;
        self.len += 1;
        Ok(())
    }

    /// Whether `v` is held.
    #[inline(always)]
    pub fn contains(&self, v: T) -> bool {
        self.as_slice().contains(&v)
    }

    /// The values, in insertion order.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        &self.items[..usize::from(self.len)]
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// What the receive side accepts.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Our IPv4 VTEP addresses, as [`Ipv4Addr::to_bits`] (one per uplink).
    pub local_v4: Few<u32, MAX_LOCAL>,
    /// Our IPv6 VTEP addresses, as [`Ipv6Addr::to_bits`].
    pub local_v6: Few<u128, MAX_LOCAL>,
    /// UDP ports for VXLAN; none refuses VXLAN.
    pub vxlan_ports: Few<u16, MAX_PORTS>,
    /// UDP ports for Geneve; none refuses Geneve.
    pub geneve_ports: Few<u16, MAX_PORTS>,
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
        let mut c = Config {
            local_v4: Few::new(),
            local_v6: Few::new(),
            vxlan_ports: Few::one(vxlan::UDP_PORT),
            geneve_ports: Few::one(geneve::UDP_PORT),
            nvgre: true,
            verify_udp4_checksum: true,
            verify_udp6_checksum: true,
            udp6_zero_checksum: false,
            allow_inner_tags: false,
            geneve_option_known: |_, _| false,
        };
        if let Some(a) = local_v4 {
            c.local_v4 = Few::one(a.to_bits());
        }
        if let Some(a) = local_v6 {
            c.local_v6 = Few::one(a.to_bits());
        }
        c
    }

    /// Accepts tunnels to `addr` as well; [`Full`] past [`MAX_LOCAL`] of a
    /// family.
    pub fn add_local(&mut self, addr: IpAddr) -> Result<(), Full> {
        match addr {
            IpAddr::V4(a) => self.local_v4.insert(a.to_bits()),
            IpAddr::V6(a) => self.local_v6.insert(a.to_bits()),
        }
    }

    /// The same settings with `addr` as the only local address of its
    /// family: for packets to an underlay multicast group we joined.
    pub fn only_local(&self, addr: IpAddr) -> Config {
        let mut c = *self;
        match addr {
            IpAddr::V4(a) => c.local_v4 = Few::one(a.to_bits()),
            IpAddr::V6(a) => c.local_v6 = Few::one(a.to_bits()),
        }
        c
    }
}

/// A frame that passed decapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decapsulated {
    /// Tunnel kind it arrived by.
    pub kind: TunnelKind,
    /// The UDP destination port it arrived on; 0 for NVGRE. With the kind
    /// and the VNI it names the domain.
    pub port: u16,
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

    let (kind, port, vni, inner_rel, inner_len) = match outer.protocol {
        Protocol::UDP => tunnel_udp(cfg, &outer)?,
        Protocol::GRE if cfg.nvgre => {
            let (kind, vni, inner_rel, inner_len) = tunnel_nvgre(outer.l4)?;
            (kind, 0, vni, inner_rel, inner_len)
        }
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
        port,
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
    if !cfg.local_v4.contains(ip.dst().to_bits()) {
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
    if !cfg.local_v6.contains(ip.dst().to_bits()) {
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

/// VXLAN or Geneve: returns kind, destination port, VNI, inner offset from
/// the UDP header and inner length.
#[inline(always)]
fn tunnel_udp(
    cfg: &Config,
    o: &Outer<'_>,
) -> Result<(TunnelKind, u16, u32, usize, usize), DropReason> {
    let u = udp::Packet::new_checked(o.l4).map_err(|e| match e {
        Error::Truncated => DropReason::Truncated,
        _ => DropReason::MalformedUdp,
    })?;
    let dport = u.dst_port();
    let kind = if cfg.vxlan_ports.contains(dport) {
        TunnelKind::Vxlan
    } else if cfg.geneve_ports.contains(dport) {
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
    Ok((kind, dport, vni, inner_rel, payload.len() - hlen))
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
    fn any_of_our_addresses_and_ports_is_accepted_and_the_port_reported() {
        for kind in [TunnelKind::Vxlan, TunnelKind::Geneve] {
            for v6 in [false, true] {
                let p = received(kind, v6, &inner(0));
                // Our address second in the list, the IANA port not listed.
                let mut c = Config::new(Some("192.0.2.77".parse().unwrap()), None);
                c.add_local(if v6 { L6 } else { L4 }.parse().unwrap())
                    .unwrap();
                c.vxlan_ports = Few::one(8472);
                c.geneve_ports = Few::one(6082);
                assert_eq!(decap(&c, &p), Err(DropReason::NotOurTunnel));
                let port = kind.default_port();
                match kind {
                    TunnelKind::Vxlan => c.vxlan_ports.insert(port).unwrap(),
                    _ => c.geneve_ports.insert(port).unwrap(),
                }
                let d = decap(&c, &p).unwrap();
                assert_eq!((d.kind, d.port, d.vni), (kind, port, 0x4242));
            }
        }
        let p = received(TunnelKind::Nvgre, false, &inner(0));
        assert_eq!(decap(&cfg(), &p).unwrap().port, 0);
    }

    #[test]
    fn few_holds_n_distinct_values_then_is_full() {
        let mut f: Few<u16, 2> = Few::new();
        assert!(f.is_empty() && !f.contains(0));
        assert_eq!(f.insert(4789), Ok(()));
        assert_eq!(f.insert(4789), Ok(()));
        assert_eq!(f.insert(8472), Ok(()));
        assert_eq!(f.insert(6081), Err(Full));
        assert_eq!(f.as_slice(), &[4789, 8472]);
        let mut c = cfg();
        for i in 0..MAX_LOCAL as u8 - 1 {
            c.add_local(IpAddr::V4(Ipv4Addr::new(198, 18, 0, i)))
                .unwrap();
        }
        assert_eq!(c.add_local("198.18.1.0".parse().unwrap()), Err(Full));
        assert_eq!(
            c.only_local(L6.parse().unwrap()).local_v6.as_slice().len(),
            1
        );
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
