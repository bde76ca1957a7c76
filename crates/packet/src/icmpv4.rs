//! ICMP for IPv4, RFC 792: echo request and reply, and destination
//! unreachable with "fragmentation needed and DF set" carrying the next-hop
//! MTU (RFC 1191 §4), which nvo sends for path MTU discovery.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Identifier / unused          |  Sequence / Next-hop MTU      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data (echo) / original IP header + 8 bytes (errors)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Departure: other messages parse to [`Repr::Other`] with their raw
//! second word, so nothing is refused for being unknown.

use crate::checksum;
use crate::{be16, be32, put16, put32, Error, Result};

/// Field offsets.
pub mod field {
    /// Type.
    pub const TYPE: usize = 0;
    /// Code.
    pub const CODE: usize = 1;
    /// Checksum.
    pub const CHECKSUM: usize = 2;
    /// Identifier, or unused.
    pub const IDENT: usize = 4;
    /// Sequence number, or next-hop MTU.
    pub const SEQ_MTU: usize = 6;
    /// Header length.
    pub const HEADER_LEN: usize = 8;
}

/// Header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// Echo reply type.
pub const ECHO_REPLY: u8 = 0;
/// Destination unreachable type.
pub const DEST_UNREACHABLE: u8 = 3;
/// Echo request type.
pub const ECHO_REQUEST: u8 = 8;
/// "Fragmentation needed and DF set" code of destination unreachable.
pub const CODE_FRAG_NEEDED: u8 = 4;

/// A view of an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the 8-byte header fits.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
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

    /// Echo identifier.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }

    /// Echo sequence number, or next-hop MTU of "fragmentation needed".
    pub fn seq_or_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SEQ_MTU)
    }

    /// Whether the checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(self.buffer.as_ref())) == 0xffff
    }

    /// The data after the header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// The owned form of an ICMPv4 message.
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
    /// Destination unreachable, fragmentation needed (RFC 1191 §4).
    FragNeeded {
        /// MTU of the next hop.
        mtu: u16,
        /// The original IP header and at least 8 bytes of its payload.
        data: &'a [u8],
    },
    /// Any other message.
    Other {
        /// Type.
        msg_type: u8,
        /// Code.
        code: u8,
        /// The second word as is.
        rest: u32,
        /// Data.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Reads a checked message, verifying its checksum.
    pub fn parse(p: &Packet<&'a [u8]>) -> Result<Repr<'a>> {
        if !p.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = &p.buffer[HEADER_LEN..];
        let (ident, seq) = (p.ident(), p.seq_or_mtu());
        Ok(match (p.msg_type(), p.code()) {
            (ECHO_REQUEST, 0) => Repr::EchoRequest { ident, seq, data },
            (ECHO_REPLY, 0) => Repr::EchoReply { ident, seq, data },
            (DEST_UNREACHABLE, CODE_FRAG_NEEDED) if ident == 0 => {
                Repr::FragNeeded { mtu: seq, data }
            }
            (msg_type, code) => Repr::Other {
                msg_type,
                code,
                rest: be32(p.buffer, 4),
                data,
            },
        })
    }

    /// Message length when emitted.
    pub fn len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Never true: the header alone is 8 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::FragNeeded { data, .. }
            | Repr::Other { data, .. } => data,
        }
    }

    /// Writes the message with its checksum at the front of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let (t, c, rest) = match *self {
            Repr::EchoRequest { ident, seq, .. } => {
                (ECHO_REQUEST, 0, (u32::from(ident) << 16) | u32::from(seq))
            }
            Repr::EchoReply { ident, seq, .. } => {
                (ECHO_REPLY, 0, (u32::from(ident) << 16) | u32::from(seq))
            }
            Repr::FragNeeded { mtu, .. } => (DEST_UNREACHABLE, CODE_FRAG_NEEDED, u32::from(mtu)),
            Repr::Other {
                msg_type,
                code,
                rest,
                ..
            } => (msg_type, code, rest),
        };
        buf[field::TYPE] = t;
        buf[field::CODE] = c;
        put16(buf, field::CHECKSUM, 0);
        put32(buf, field::IDENT, rest);
        buf[HEADER_LEN..len].copy_from_slice(self.data());
        let sum = checksum::checksum(&buf[..len]);
        put16(buf, field::CHECKSUM, sum);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_round_trips_with_checksum() {
        let r = Repr::EchoRequest {
            ident: 0x1234,
            seq: 1,
            data: b"ping",
        };
        let mut b = [0u8; 12];
        r.emit(&mut b).unwrap();
        assert_eq!(&b[..2], &[8, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn frag_needed_carries_next_hop_mtu_in_the_low_half_word() {
        let orig = [0x45u8; 28];
        let r = Repr::FragNeeded {
            mtu: 1450,
            data: &orig,
        };
        let mut b = [0u8; 36];
        r.emit(&mut b).unwrap();
        assert_eq!(&b[..2], &[3, 4]);
        assert_eq!(&b[4..8], &[0, 0, 0x05, 0xaa]);
    }

    #[test]
    fn corrupted_message_is_refused() {
        let mut b = [0u8; 8];
        Repr::EchoReply {
            ident: 1,
            seq: 2,
            data: &[],
        }
        .emit(&mut b)
        .unwrap();
        b[7] ^= 1;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Checksum);
    }
}
