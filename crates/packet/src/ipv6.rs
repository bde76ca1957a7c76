//! IPv6 headers, RFC 8200 §3, and the walk of the extension-header chain to
//! the upper layer, RFC 8200 §4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Source Address (16 bytes)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Destination Address (16 bytes)                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Extension headers walked: hop-by-hop (0), routing (43), fragment (44),
//! destination options (60), AH (51, RFC 4302 §2.2, length in 4-byte units)
//! and mobility/HIP/shim6 (135, 139, 140). The walk stops at any other
//! number, at "no next header" (59), at ESP (50) and at a fragment header
//! whose offset is not zero (a later fragment has no upper-layer header).
//!
//! Departures: the walk is bounded by [`MAX_EXT_HEADERS`]; a longer chain is
//! refused as malformed (RFC 8200 sets no bound; RFC 7112 lets
//! intermediate systems refuse long chains). Jumbograms (payload length 0,
//! RFC 2675) are refused. The owned [`Repr`] is the fixed header only;
//! extension headers stay in the payload.

use core::net::Ipv6Addr;

use crate::ecn::Ecn;
use crate::ip::Protocol;
use crate::{be16, be32, put16, put32, Error, Result};

/// Field offsets.
pub mod field {
    use core::ops::Range;
    /// Version, traffic class and flow label.
    pub const VER_TC_FLOW: usize = 0;
    /// Payload length.
    pub const LENGTH: usize = 4;
    /// Next header.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC: Range<usize> = 8..24;
    /// Destination address.
    pub const DST: Range<usize> = 24..40;
    /// Fixed header length.
    pub const HEADER_LEN: usize = 40;
}

/// Fixed header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// The most extension headers walked before the packet is refused.
pub const MAX_EXT_HEADERS: usize = 8;

/// A view of an IPv6 packet whose length and extension chain were checked.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    /// Offset of the upper-layer header from the start of the packet.
    upper_offset: u16,
    /// Protocol at `upper_offset`.
    upper: Protocol,
    /// Whether a fragment header was crossed.
    fragment: bool,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks version 6, a payload length within the buffer, and walks the
    /// extension chain (bounded) to the upper layer.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let plen = usize::from(be16(b, field::LENGTH));
        if b[0] >> 4 != 6 || plen == 0 && b[field::NEXT_HEADER] == Protocol::HOP_BY_HOP.0 {
            return Err(Error::Malformed);
        }
        let end = HEADER_LEN + plen;
        if b.len() < end {
            return Err(Error::Truncated);
        }
        // The common case, no extension header, stays in registers; going
        // through the walk's returned tuple cost a store-forwarding stall.
        let next = Protocol(b[field::NEXT_HEADER]);
        let (upper_offset, upper, fragment) = if is_extension(next) {
            walk(&b[..end], next)?
        } else {
            (HEADER_LEN as u16, next, false)
        };
        Ok(Packet {
            buffer,
            upper_offset,
            upper,
            fragment,
        })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline(always)]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Traffic class: DSCP in the high six bits, ECN in the low two.
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (be16(self.b(), 0) >> 4) as u8
    }

    /// DSCP.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// ECN field.
    #[inline]
    pub fn ecn(&self) -> Ecn {
        Ecn::from_tos(self.traffic_class())
    }

    /// Flow label, 20 bits.
    #[inline]
    pub fn flow_label(&self) -> u32 {
        be32(self.b(), 0) & 0x000f_ffff
    }

    /// Payload length (extension headers included).
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.b(), field::LENGTH)
    }

    /// The next-header field of the fixed header.
    #[inline]
    pub fn next_header(&self) -> Protocol {
        Protocol(self.b()[field::NEXT_HEADER])
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(addr(&self.b()[field::SRC]))
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(addr(&self.b()[field::DST]))
    }

    /// The protocol the chain ended at: the upper layer, or FRAGMENT for a
    /// non-first fragment, ESP, NO_NEXT or an unknown extension.
    #[inline]
    pub fn upper_protocol(&self) -> Protocol {
        self.upper
    }

    /// Offset of the upper-layer header within the packet.
    #[inline]
    pub fn upper_offset(&self) -> usize {
        usize::from(self.upper_offset)
    }

    /// Whether the chain holds a fragment header.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.fragment
    }

    /// Everything after the fixed header, extension headers included.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }

    /// The upper-layer header and data, after the extension chain.
    #[inline]
    pub fn upper_payload(&self) -> &[u8] {
        &self.b()[self.upper_offset()..HEADER_LEN + usize::from(self.payload_len())]
    }
}

fn addr(s: &[u8]) -> [u8; 16] {
    let mut a = [0; 16];
    a.copy_from_slice(&s[..16]);
    a
}

/// Whether the walk continues past `p`.
#[inline(always)]
fn is_extension(p: Protocol) -> bool {
    matches!(p.0, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

/// Walks the extension chain inside `pkt` (cut at the payload's end) from
/// `next`; apart and cold so that the common case of none stays inline.
#[cold]
fn walk(pkt: &[u8], mut next: Protocol) -> Result<(u16, Protocol, bool)> {
    let mut at = HEADER_LEN;
    let mut fragment = false;
    for _ in 0..=MAX_EXT_HEADERS {
        let len = match next.0 {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let l = pkt.get(at + 1).ok_or(Error::Truncated)?;
                (usize::from(*l) + 1) * 8
            }
            51 => {
                let l = pkt.get(at + 1).ok_or(Error::Truncated)?;
                (usize::from(*l) + 2) * 4
            }
            44 => {
                fragment = true;
                if pkt.len() < at + 8 {
                    return Err(Error::Truncated);
                }
                if be16(pkt, at + 2) & 0xfff8 != 0 {
                    // A later fragment: the upper layer is not here.
                    return Ok((at as u16, Protocol::FRAGMENT, true));
                }
                8
            }
            _ => return Ok((at as u16, next, fragment)),
        };
        if pkt.len() < at + len {
            return Err(Error::Truncated);
        }
        next = Protocol(pkt[at]);
        at += len;
    }
    Err(Error::Malformed)
}

/// The owned form of the fixed IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next header of the fixed header (the first extension, if any).
    pub next_header: Protocol,
    /// Payload length, extension headers included.
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
    /// DSCP, six bits.
    pub dscp: u8,
    /// ECN.
    pub ecn: Ecn,
    /// Flow label, 20 bits.
    pub flow_label: u32,
}

impl Repr {
    /// Reads the fixed header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        Ok(Repr {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            hop_limit: p.hop_limit(),
            dscp: p.dscp(),
            ecn: p.ecn(),
            flow_label: p.flow_label(),
        })
    }

    /// Writes the 40-byte fixed header at the front of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.dscp > 63 || self.flow_label > 0xf_ffff {
            return Err(Error::Malformed);
        }
        let tc = u32::from((self.dscp << 2) | self.ecn as u8);
        put32(
            buf,
            field::VER_TC_FLOW,
            (6 << 28) | (tc << 20) | self.flow_label,
        );
        put16(buf, field::LENGTH, self.payload_len);
        buf[field::NEXT_HEADER] = self.next_header.0;
        buf[field::HOP_LIMIT] = self.hop_limit;
        buf[field::SRC].copy_from_slice(&self.src.octets());
        buf[field::DST].copy_from_slice(&self.dst.octets());
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(next: u8, payload: &[u8]) -> [u8; 128] {
        let mut b = [0u8; 128];
        let r = Repr {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            next_header: Protocol(next),
            payload_len: payload.len() as u16,
            hop_limit: 64,
            dscp: 10,
            ecn: Ecn::Ect0,
            flow_label: 0x12345,
        };
        r.emit(&mut b).unwrap();
        b[40..40 + payload.len()].copy_from_slice(payload);
        b
    }

    #[test]
    fn fixed_header_round_trips() {
        let b = packet(17, &[0; 8]);
        let p = Packet::new_checked(&b[..48]).unwrap();
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.dscp(), 10);
        assert_eq!(p.ecn(), Ecn::Ect0);
        assert_eq!(p.upper_protocol(), Protocol::UDP);
        assert_eq!(p.upper_offset(), 40);
        let mut out = [0u8; 40];
        Repr::parse(&p).unwrap().emit(&mut out).unwrap();
        assert_eq!(out, b[..40]);
    }

    #[test]
    fn hop_by_hop_then_dest_opts_then_udp_is_walked() {
        // HBH (8 bytes, next 60), DestOpts (16 bytes, next 17), UDP header.
        let mut pl = [0u8; 32];
        pl[0] = 60;
        pl[8] = 17;
        pl[9] = 1;
        let b = packet(0, &pl);
        let p = Packet::new_checked(&b[..72]).unwrap();
        assert_eq!(p.upper_protocol(), Protocol::UDP);
        assert_eq!(p.upper_offset(), 64);
        assert_eq!(p.upper_payload().len(), 8);
    }

    #[test]
    fn later_fragment_has_no_upper_layer() {
        let pl = [17, 0, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let b = packet(44, &pl);
        let p = Packet::new_checked(&b[..56]).unwrap();
        assert!(p.is_fragment());
        assert_eq!(p.upper_protocol(), Protocol::FRAGMENT);
    }

    #[test]
    fn first_fragment_reaches_the_upper_layer() {
        let pl = [17, 0, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let b = packet(44, &pl);
        let p = Packet::new_checked(&b[..56]).unwrap();
        assert!(p.is_fragment());
        assert_eq!(p.upper_protocol(), Protocol::UDP);
        assert_eq!(p.upper_offset(), 48);
    }

    #[test]
    fn chain_longer_than_the_bound_is_refused() {
        let mut pl = [0u8; 80];
        for h in pl.chunks_mut(8) {
            h[0] = 60;
        }
        let b = packet(60, &pl);
        assert_eq!(
            Packet::new_checked(&b[..120]).unwrap_err(),
            Error::Malformed
        );
    }

    #[test]
    fn extension_past_payload_length_is_truncated() {
        let pl = [17, 4, 0, 0, 0, 0, 0, 0];
        let b = packet(60, &pl);
        assert_eq!(Packet::new_checked(&b[..48]).unwrap_err(), Error::Truncated);
    }
}
