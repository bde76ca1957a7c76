//! The flow hash of an inner Ethernet frame, for the outer UDP source port,
//! the NVGRE FlowID and the IPv6 flow label.
//!
//! The hash input falls back in three steps, as RSS does: the IPv4 or IPv6
//! addresses and ports when the packet is TCP, UDP or SCTP and not a
//! fragment; else the addresses alone; else (ARP, anything not IP) the
//! MAC addresses and ethertype. Fragments use addresses only, so that all
//! fragments of a datagram take one underlay path.
//!
//! A NIC that computed an RSS hash of the inner frame makes all this
//! unnecessary: the encapsulation API takes a `u32` hash and does not care
//! where it came from. Note that NICs select the queue with the hash's low
//! bits, so every frame on one queue shares them; the template therefore
//! draws entropy from the high bits.

use crate::ethernet::{EtherType, Frame};
use crate::ip::Protocol;
use crate::toeplitz::Toeplitz;
use crate::{ipv4, ipv6};

/// Whether both directions of a flow hash alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Symmetry {
    /// Plain RSS: the hash of A->B differs from that of B->A.
    #[default]
    Directional,
    /// The endpoints are put in a canonical order before hashing, so that
    /// A->B and B->A hash alike with any key.
    Symmetric,
}

/// Hashes the inner frame `frame` with the fall-backs above. Never fails:
/// a frame too short for even the L2 input hashes what there is.
#[inline]
pub fn hash(t: &Toeplitz, frame: &[u8], symmetry: Symmetry) -> u32 {
    let Ok(eth) = Frame::new_checked(frame) else {
        return t.hash(frame);
    };
    let l3 = eth.payload();
    let sym = symmetry == Symmetry::Symmetric;
    match eth.ethertype() {
        EtherType::IPV4 => {
            if let Ok(ip) = ipv4::Packet::new_checked(l3) {
                let (mut s, mut d) = (ip.src(), ip.dst());
                if let Some((mut sp, mut dp)) = ports(ip.protocol(), ip.payload(), ip.is_fragment())
                {
                    if sym && (s, sp) > (d, dp) {
                        (s, d, sp, dp) = (d, s, dp, sp);
                    }
                    return t.ipv4_ports(s, d, sp, dp);
                }
                if sym && s > d {
                    (s, d) = (d, s);
                }
                return t.ipv4(s, d);
            }
        }
        EtherType::IPV6 => {
            if let Ok(ip) = ipv6::Packet::new_checked(l3) {
                let (mut s, mut d) = (ip.src(), ip.dst());
                let up = ip.upper_protocol();
                if let Some((mut sp, mut dp)) =
                    ports(up, ip.upper_payload(), up == Protocol::FRAGMENT)
                {
                    if sym && (s, sp) > (d, dp) {
                        (s, d, sp, dp) = (d, s, dp, sp);
                    }
                    return t.ipv6_ports(s, d, sp, dp);
                }
                if sym && s > d {
                    (s, d) = (d, s);
                }
                return t.ipv6(s, d);
            }
        }
        _ => {}
    }
    l2(t, frame, sym)
}

/// The ports of a TCP, UDP or SCTP header, unless fragmented or short.
#[inline(always)]
fn ports(p: Protocol, l4: &[u8], fragment: bool) -> Option<(u16, u16)> {
    if fragment || !p.has_ports() || l4.len() < 4 {
        return None;
    }
    Some((crate::be16(l4, 0), crate::be16(l4, 2)))
}

/// L2 input: destination MAC, source MAC, ethertype (the first 14 bytes,
/// with the MACs swapped into order when symmetric).
fn l2(t: &Toeplitz, frame: &[u8], sym: bool) -> u32 {
    let mut input = [0u8; 14];
    input.copy_from_slice(&frame[..14]);
    if sym && input[6..12] < input[..6] {
        input.copy_within(6..12, 0);
        input[6..12].copy_from_slice(&frame[..6]);
    }
    t.hash(&input)
}

/// A range of outer UDP source ports, RFC 7348 §5 recommends 49152-65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// Lowest port.
    pub min: u16,
    /// Highest port, at least `min`.
    pub max: u16,
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange {
            min: 49152,
            max: 65535,
        }
    }
}

impl PortRange {
    /// The port for `hash`: the hash's high bits scaled into the range by a
    /// multiply and shift (no division, and uniform for a uniform hash).
    #[inline(always)]
    pub fn pick(&self, hash: u32) -> u16 {
        let span = u64::from(self.max.saturating_sub(self.min)) + 1;
        self.min + ((u64::from(hash) * span) >> 32) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toeplitz::DEFAULT;

    fn frame_v4(proto: u8, frag: u16) -> [u8; 42] {
        let mut f = [0u8; 42];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&28u16.to_be_bytes());
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[9] = proto;
        ip[12..16].copy_from_slice(&[66, 9, 149, 187]);
        ip[16..20].copy_from_slice(&[161, 142, 100, 80]);
        ip[20..24].copy_from_slice(&[0x0a, 0xea, 0x06, 0xe6]);
        f
    }

    #[test]
    fn tcp_over_ipv4_hashes_the_four_tuple() {
        assert_eq!(
            hash(&DEFAULT, &frame_v4(6, 0), Symmetry::Directional),
            0x51ccc178
        );
    }

    #[test]
    fn fragment_falls_back_to_addresses() {
        assert_eq!(
            hash(&DEFAULT, &frame_v4(17, 0x2000), Symmetry::Directional),
            0x323e8fc2
        );
    }

    #[test]
    fn protocol_without_ports_falls_back_to_addresses() {
        assert_eq!(
            hash(&DEFAULT, &frame_v4(1, 0), Symmetry::Directional),
            0x323e8fc2
        );
    }

    #[test]
    fn symmetric_hash_ignores_direction() {
        let f = frame_v4(6, 0);
        let mut r = f;
        r[26..30].copy_from_slice(&f[30..34]);
        r[30..34].copy_from_slice(&f[26..30]);
        r[34..36].copy_from_slice(&f[36..38]);
        r[36..38].copy_from_slice(&f[34..36]);
        assert_eq!(
            hash(&DEFAULT, &f, Symmetry::Symmetric),
            hash(&DEFAULT, &r, Symmetry::Symmetric)
        );
        assert_ne!(
            hash(&DEFAULT, &f, Symmetry::Directional),
            hash(&DEFAULT, &r, Symmetry::Directional)
        );
    }

    #[test]
    fn arp_falls_back_to_l2() {
        let mut f = [0u8; 42];
        f[..6].fill(0xff);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            hash(&DEFAULT, &f, Symmetry::Directional),
            DEFAULT.hash(&f[..14])
        );
    }

    #[test]
    fn port_range_covers_both_ends() {
        let r = PortRange::default();
        assert_eq!(r.pick(0), 49152);
        assert_eq!(r.pick(u32::MAX), 65535);
        let one = PortRange { min: 7, max: 7 };
        assert_eq!(one.pick(0xdead_beef), 7);
    }
}
