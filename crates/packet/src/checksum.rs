//! The Internet checksum (RFC 1071), its incremental update (RFC 1624) and
//! the pseudo-headers of UDP, TCP and ICMPv6 over IPv4 (RFC 768) and IPv6
//! (RFC 8200 §8.1).
//!
//! Sums are carried unfolded in a `u32` (a `u64` while summing a buffer)
//! and folded at the end: one's-complement addition is
//! associative, so partial sums of a template and of a frame can be added.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ip::Protocol;

/// One's-complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits; an odd last byte is padded with a zero byte (RFC 1071 §4.1).
///
/// Words are read in native order, which the compiler vectorises, and the
/// result is swapped once at the end: the one's-complement sum commutes
/// with byte swapping (RFC 1071 §2 (B)).
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut tail = [0u8; 4];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    acc += u64::from(u32::from_ne_bytes(tail));
    // Folded to 16 bits so that callers can add a few sums without care.
    u32::from(u16::from_be(fold(fold64(acc))))
}

/// Folds a 64-bit sum to a 32-bit one with the same 16-bit fold.
#[inline(always)]
fn fold64(mut acc: u64) -> u32 {
    acc = (acc >> 32) + (acc & 0xffff_ffff);
    acc = (acc >> 32) + (acc & 0xffff_ffff);
    acc as u32
}

/// Folds an unfolded sum into 16 bits (end-around carry).
#[inline(always)]
pub fn fold(mut sum: u32) -> u16 {
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    sum as u16
}

/// Adds two unfolded sums without overflow.
#[inline(always)]
pub fn add(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s + u32::from(carry)
}

/// The checksum field value for `data`: the complement of its folded sum.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Updates checksum `hc` after one 16-bit word changed from `old` to `new`:
/// RFC 1624 equation 3, `HC' = ~(~HC + ~m + m')`, which gets the one case
/// right where equation 2 of RFC 1141 answers 0xFFFF for 0x0000 (RFC 1624 §3).
#[inline(always)]
pub fn update(hc: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!hc) + u32::from(!old) + u32::from(new))
}

/// Unfolded sum of the IPv4 pseudo-header (RFC 768).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: Protocol, len: u16) -> u32 {
    let (s, d) = (src.to_bits(), dst.to_bits());
    (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + u32::from(protocol.0) + u32::from(len)
}

/// Unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1).
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: Protocol, len: u32) -> u32 {
    let mut addrs = [0u8; 32];
    addrs[..16].copy_from_slice(&src.octets());
    addrs[16..].copy_from_slice(&dst.octets());
    sum(&addrs) + u32::from(protocol.0) + (len >> 16) + (len & 0xffff)
}

/// Unfolded pseudo-header sum for either family; a mixed pair is summed as
/// IPv6 with the IPv4 address mapped, which no caller in nvo produces.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: Protocol, len: u32) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, protocol, len as u16),
        (s, d) => pseudo_header_v6(to_v6(s), to_v6(d), protocol, len),
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The UDP checksum field for a computed sum: zero means "no checksum" in
/// UDP, so a computed zero is sent as all ones (RFC 768).
#[inline(always)]
pub fn udp_field(sum: u32) -> u16 {
    match !fold(sum) {
        0 => 0xffff,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 1071 §3 works this example: the sum of these bytes is 0xddf2.
    #[test]
    fn rfc1071_example_sum() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn rfc1624_update_matches_recomputation() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let c = checksum(&hdr);
        assert_eq!(c, 0xb861);
        hdr[10..12].copy_from_slice(&c.to_be_bytes());
        // Change the TTL/protocol word and compare both ways.
        let old = u16::from_be_bytes([hdr[8], hdr[9]]);
        hdr[8] = 0x3f;
        let new = u16::from_be_bytes([hdr[8], hdr[9]]);
        let upd = update(c, old, new);
        hdr[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(upd, checksum(&hdr));
    }

    #[test]
    fn rfc1624_section3_example_gives_0x0000() {
        assert_eq!(update(0xdd2f, 0x5555, 0x3285), 0x0000);
    }
}
