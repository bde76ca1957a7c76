//! ICMPv6, RFC 4443 §2.1 and §3.2 (Packet Too Big) and §4 (echo), with the
//! Neighbor Solicitation and Advertisement of RFC 4861 §4.3, §4.4 and their
//! link-layer address options (§4.6.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | echo: Identifier | Sequence;  PTB: MTU;  NA: R|S|O|reserved   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | NS/NA: Target Address (16 bytes), then options:               |
//! |   Type (1 source / 2 target) | Length (8-byte units) | MAC    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3), so parsing
//! and emitting take the addresses. Departures: NDP options other than the
//! link-layer address are skipped (walked, bounded by the message length);
//! a zero-length option is malformed, as RFC 4861 §4.6 asks; messages
//! without a representation are [`Error::Unsupported`] (the view still
//! reads them).

use core::net::Ipv6Addr;

use crate::checksum;
use crate::ethernet::MacAddr;
use crate::ip::Protocol;
use crate::{be16, be32, put16, put32, Error, Result};

/// Field offsets.
pub mod field {
    use core::ops::Range;
    /// Type.
    pub const TYPE: usize = 0;
    /// Code.
    pub const CODE: usize = 1;
    /// Checksum.
    pub const CHECKSUM: usize = 2;
    /// Second word: identifier and sequence, MTU, or NA flags.
    pub const WORD: usize = 4;
    /// NS/NA target address.
    pub const TARGET: Range<usize> = 8..24;
    /// Header length (type, code, checksum, second word).
    pub const HEADER_LEN: usize = 8;
    /// NS/NA length before options.
    pub const ND_LEN: usize = 24;
}

/// Header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// Packet Too Big.
pub const PACKET_TOO_BIG: u8 = 2;
/// Echo request.
pub const ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const ECHO_REPLY: u8 = 129;
/// Neighbor Solicitation.
pub const NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbor Advertisement.
pub const NEIGHBOR_ADVERT: u8 = 136;

const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// Router flag of a Neighbor Advertisement.
pub const NA_ROUTER: u32 = 0x8000_0000;
/// Solicited flag.
pub const NA_SOLICITED: u32 = 0x4000_0000;
/// Override flag.
pub const NA_OVERRIDE: u32 = 0x2000_0000;

/// A view of an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the header fits, and for NS and NA the target address.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if matches!(b[field::TYPE], NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT) && b.len() < field::ND_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The second word (identifier and sequence, MTU, or NA flags).
    pub fn word(&self) -> u32 {
        be32(self.buffer.as_ref(), field::WORD)
    }

    /// NS/NA target address; the unspecified address for other messages.
    pub fn target(&self) -> Ipv6Addr {
        match self.msg_type() {
            NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT => {
                let mut a = [0; 16];
                a.copy_from_slice(&self.buffer.as_ref()[field::TARGET]);
                Ipv6Addr::from(a)
            }
            _ => Ipv6Addr::UNSPECIFIED,
        }
    }

    /// Whether the checksum verifies with this pseudo-header.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v6(src, dst, Protocol::ICMPV6, b.len() as u32);
        checksum::fold(checksum::add(ph, checksum::sum(b))) == 0xffff
    }

    /// The bytes after the second word.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// Finds the link-layer address option `want` among NDP options.
fn lladdr_option(mut opts: &[u8], want: u8) -> Result<Option<MacAddr>> {
    let mut found = None;
    // Each option is at least 8 bytes, so the loop ends.
    while !opts.is_empty() {
        if opts.len() < 2 {
            return Err(Error::Truncated);
        }
        let len = usize::from(opts[1]) * 8;
        if len == 0 {
            return Err(Error::Malformed);
        }
        if opts.len() < len {
            return Err(Error::Truncated);
        }
        if opts[0] == want && len == 8 && found.is_none() {
            let mut m = [0; 6];
            m.copy_from_slice(&opts[2..8]);
            found = Some(MacAddr(m));
        }
        opts = &opts[len..];
    }
    Ok(found)
}

/// The owned form of the ICMPv6 messages nvo sends and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    /// Echo request.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Packet Too Big.
    PacketTooBig {
        /// MTU of the next hop.
        mtu: u32,
        /// As much of the invoking packet as fits the minimum MTU.
        data: &'a [u8],
    },
    /// Neighbor Solicitation.
    NeighborSolicit {
        /// The address being resolved.
        target: Ipv6Addr,
        /// Source link-layer address option.
        lladdr: Option<MacAddr>,
    },
    /// Neighbor Advertisement.
    NeighborAdvert {
        /// R, S and O flags in the high bits of the second word.
        flags: u32,
        /// The address advertised.
        target: Ipv6Addr,
        /// Target link-layer address option.
        lladdr: Option<MacAddr>,
    },
}

impl<'a> Repr<'a> {
    /// Reads a checked message, verifying its checksum with `src` and `dst`.
    pub fn parse(p: &Packet<&'a [u8]>, src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr<'a>> {
        if !p.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let b: &'a [u8] = p.buffer;
        let w = p.word();
        let (ident, seq) = ((w >> 16) as u16, w as u16);
        Ok(match (p.msg_type(), p.code()) {
            (ECHO_REQUEST, 0) => Repr::EchoRequest {
                ident,
                seq,
                data: &b[HEADER_LEN..],
            },
            (ECHO_REPLY, 0) => Repr::EchoReply {
                ident,
                seq,
                data: &b[HEADER_LEN..],
            },
            (PACKET_TOO_BIG, 0) => Repr::PacketTooBig {
                mtu: w,
                data: &b[HEADER_LEN..],
            },
            (NEIGHBOR_SOLICIT, 0) if w == 0 => Repr::NeighborSolicit {
                target: p.target(),
                lladdr: lladdr_option(&b[field::ND_LEN..], OPT_SOURCE_LLADDR)?,
            },
            (NEIGHBOR_ADVERT, 0) if w & 0x1fff_ffff == 0 => Repr::NeighborAdvert {
                flags: w,
                target: p.target(),
                lladdr: lladdr_option(&b[field::ND_LEN..], OPT_TARGET_LLADDR)?,
            },
            _ => return Err(Error::Unsupported),
        })
    }

    /// Message length when emitted.
    pub fn len(&self) -> usize {
        match *self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::PacketTooBig { data, .. } => HEADER_LEN + data.len(),
            Repr::NeighborSolicit { lladdr, .. } | Repr::NeighborAdvert { lladdr, .. } => {
                field::ND_LEN + if lladdr.is_some() { 8 } else { 0 }
            }
        }
    }

    /// Never true: the header alone is 8 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the message with its checksum for `src` and `dst`.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<usize> {
        let len = self.len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let echo = |ident: u16, seq: u16| (u32::from(ident) << 16) | u32::from(seq);
        let (t, word) = match *self {
            Repr::EchoRequest { ident, seq, data } => {
                buf[HEADER_LEN..len].copy_from_slice(data);
                (ECHO_REQUEST, echo(ident, seq))
            }
            Repr::EchoReply { ident, seq, data } => {
                buf[HEADER_LEN..len].copy_from_slice(data);
                (ECHO_REPLY, echo(ident, seq))
            }
            Repr::PacketTooBig { mtu, data } => {
                buf[HEADER_LEN..len].copy_from_slice(data);
                (PACKET_TOO_BIG, mtu)
            }
            Repr::NeighborSolicit { target, lladdr } => {
                emit_nd(buf, target, lladdr, OPT_SOURCE_LLADDR);
                (NEIGHBOR_SOLICIT, 0)
            }
            Repr::NeighborAdvert {
                flags,
                target,
                lladdr,
            } => {
                if flags & 0x1fff_ffff != 0 {
                    return Err(Error::Malformed);
                }
                emit_nd(buf, target, lladdr, OPT_TARGET_LLADDR);
                (NEIGHBOR_ADVERT, flags)
            }
        };
        buf[field::TYPE] = t;
        buf[field::CODE] = 0;
        put16(buf, field::CHECKSUM, 0);
        put32(buf, field::WORD, word);
        let ph = checksum::pseudo_header_v6(src, dst, Protocol::ICMPV6, len as u32);
        let c = !checksum::fold(checksum::add(ph, checksum::sum(&buf[..len])));
        put16(buf, field::CHECKSUM, c);
        Ok(len)
    }
}

fn emit_nd(buf: &mut [u8], target: Ipv6Addr, lladdr: Option<MacAddr>, opt: u8) {
    buf[field::TARGET].copy_from_slice(&target.octets());
    if let Some(m) = lladdr {
        buf[field::ND_LEN] = opt;
        buf[field::ND_LEN + 1] = 1;
        buf[field::ND_LEN + 2..field::ND_LEN + 8].copy_from_slice(&m.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (Ipv6Addr, Ipv6Addr) {
        (
            "fe80::1".parse().unwrap(),
            "ff02::1:ff00:2".parse().unwrap(),
        )
    }

    #[test]
    fn neighbor_solicit_with_source_lladdr_round_trips() {
        let (s, d) = addrs();
        let r = Repr::NeighborSolicit {
            target: "fe80::2".parse().unwrap(),
            lladdr: Some(MacAddr([2, 0, 0, 0, 0, 1])),
        };
        let mut b = [0u8; 32];
        assert_eq!(r.emit(&mut b, s, d), Ok(32));
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p, s, d), Ok(r));
    }

    #[test]
    fn neighbor_advert_flags_are_the_high_three_bits() {
        let (s, d) = addrs();
        let r = Repr::NeighborAdvert {
            flags: NA_SOLICITED | NA_OVERRIDE,
            target: "fe80::2".parse().unwrap(),
            lladdr: Some(MacAddr([2, 0, 0, 0, 0, 2])),
        };
        let mut b = [0u8; 32];
        r.emit(&mut b, s, d).unwrap();
        assert_eq!(b[4], 0x60);
        assert_eq!(b[24..26], [2, 1]);
    }

    #[test]
    fn zero_length_ndp_option_is_malformed() {
        let (s, d) = addrs();
        let mut b = [0u8; 32];
        b[0] = NEIGHBOR_SOLICIT;
        b[24] = 1;
        let ph = checksum::pseudo_header_v6(s, d, Protocol::ICMPV6, 32);
        let c = !checksum::fold(checksum::add(ph, checksum::sum(&b)));
        put16(&mut b, 2, c);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p, s, d), Err(Error::Malformed));
    }

    #[test]
    fn checksum_covers_the_pseudo_header() {
        let (s, d) = addrs();
        let r = Repr::PacketTooBig {
            mtu: 1280,
            data: &[0x60; 40],
        };
        let mut b = [0u8; 48];
        r.emit(&mut b, s, d).unwrap();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(s, d));
        assert_eq!(
            Repr::parse(&p, "fe80::9".parse().unwrap(), d),
            Err(Error::Checksum)
        );
    }
}
