//! GRE, RFC 2784 §2 with the key and sequence number extensions of RFC 2890 §2.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C| |K|S| Reserved0       | Ver |         Protocol Type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Checksum (optional)      |       Reserved1 (Optional)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Key (optional)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Sequence Number (Optional)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 2784 §2.3: a receiver must discard a packet with any of bits 1-5 set
//! unless it implements RFC 1701; with RFC 2890, bits 2 (K) and 3 (S) are
//! allowed, so bits 1, 4 and 5 must be zero; bits 6-12 are ignored. The
//! version must be 0 (§2.3.1). The checksum covers header and payload (§2.5).

use crate::checksum;
use crate::ethernet::EtherType;
use crate::{be16, be32, put16, put32, Error, Result};

/// Field offsets and flag bits.
pub mod field {
    /// Flags and version.
    pub const FLAGS: usize = 0;
    /// Protocol type.
    pub const PROTOCOL: usize = 2;
    /// First optional word.
    pub const OPTIONAL: usize = 4;
    /// Fixed header length.
    pub const BASE_LEN: usize = 4;
    /// Checksum present.
    pub const C: u16 = 0x8000;
    /// Key present.
    pub const K: u16 = 0x2000;
    /// Sequence number present.
    pub const S: u16 = 0x1000;
    /// Bits 1, 4 and 5: routing present, strict source route, recursion
    /// (RFC 1701); must be zero.
    pub const MUST_BE_ZERO: u16 = 0x4000 | 0x0800 | 0x0400;
    /// Version mask.
    pub const VERSION: u16 = 0x0007;
}

/// A view of a GRE header whose optional fields fit the buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the version, the must-be-zero bits and the header length.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < field::BASE_LEN {
            return Err(Error::Truncated);
        }
        let flags = be16(b, field::FLAGS);
        if flags & (field::MUST_BE_ZERO | field::VERSION) != 0 {
            return Err(Error::Malformed);
        }
        let p = Packet { buffer };
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    #[inline(always)]
    fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS)
    }

    /// Checksum present (C).
    #[inline]
    pub fn has_checksum(&self) -> bool {
        self.flags() & field::C != 0
    }

    /// Key present (K).
    #[inline]
    pub fn has_key(&self) -> bool {
        self.flags() & field::K != 0
    }

    /// Sequence number present (S).
    #[inline]
    pub fn has_sequence(&self) -> bool {
        self.flags() & field::S != 0
    }

    /// Header length: 4 plus 4 per optional field present.
    #[inline]
    pub fn header_len(&self) -> usize {
        field::BASE_LEN
            + 4 * (usize::from(self.has_checksum())
                + usize::from(self.has_key())
                + usize::from(self.has_sequence()))
    }

    /// Protocol type of the payload.
    #[inline]
    pub fn protocol(&self) -> EtherType {
        EtherType(be16(self.buffer.as_ref(), field::PROTOCOL))
    }

    /// The key, if present.
    #[inline]
    pub fn key(&self) -> Option<u32> {
        let at = field::OPTIONAL + 4 * usize::from(self.has_checksum());
        self.has_key().then(|| be32(self.buffer.as_ref(), at))
    }

    /// The sequence number, if present.
    pub fn sequence(&self) -> Option<u32> {
        let at =
            field::OPTIONAL + 4 * (usize::from(self.has_checksum()) + usize::from(self.has_key()));
        self.has_sequence().then(|| be32(self.buffer.as_ref(), at))
    }

    /// Whether the checksum (if present) verifies over header and payload.
    pub fn verify_checksum(&self) -> bool {
        !self.has_checksum() || checksum::fold(checksum::sum(self.buffer.as_ref())) == 0xffff
    }

    /// The payload after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// The owned form of a GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Protocol type of the payload.
    pub protocol: EtherType,
    /// Whether a checksum is carried.
    pub checksum: bool,
    /// Key (RFC 2890 §2.1).
    pub key: Option<u32>,
    /// Sequence number (RFC 2890 §2.2).
    pub sequence: Option<u32>,
}

impl Repr {
    /// Reads a checked header, verifying the checksum if there is one.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        if !p.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            protocol: p.protocol(),
            checksum: p.has_checksum(),
            key: p.key(),
            sequence: p.sequence(),
        })
    }

    /// Header length when emitted.
    pub fn header_len(&self) -> usize {
        field::BASE_LEN
            + 4 * (usize::from(self.checksum)
                + usize::from(self.key.is_some())
                + usize::from(self.sequence.is_some()))
    }

    /// Writes the header at the front of `buf`; the payload must follow it
    /// already, because the checksum covers it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.header_len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let mut flags = 0;
        let mut at = field::OPTIONAL;
        if self.checksum {
            flags |= field::C;
            put32(buf, at, 0);
            at += 4;
        }
        if let Some(k) = self.key {
            flags |= field::K;
            put32(buf, at, k);
            at += 4;
        }
        if let Some(s) = self.sequence {
            flags |= field::S;
            put32(buf, at, s);
        }
        put16(buf, field::FLAGS, flags);
        put16(buf, field::PROTOCOL, self.protocol.0);
        if self.checksum {
            let c = checksum::checksum(buf);
            put16(buf, field::OPTIONAL, c);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_follow_in_c_k_s_order() {
        let r = Repr {
            protocol: EtherType::TEB,
            checksum: true,
            key: Some(0x01020304),
            sequence: Some(7),
        };
        let mut b = [0u8; 20];
        assert_eq!(r.emit(&mut b), Ok(16));
        assert_eq!(&b[..4], &[0xb0, 0x00, 0x65, 0x58]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.key(), Some(0x01020304));
        assert_eq!(p.sequence(), Some(7));
        assert_eq!(Repr::parse(&p), Ok(r));
    }

    #[test]
    fn routing_bit_must_be_discarded() {
        let b = [0x40u8, 0, 0x65, 0x58];
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn version_other_than_zero_is_discarded() {
        let b = [0x00u8, 0x01, 0x65, 0x58];
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn reserved0_bits_6_to_12_are_ignored() {
        let b = [0x03u8, 0xf8, 0x08, 0x00];
        assert!(Packet::new_checked(&b[..]).is_ok());
    }

    #[test]
    fn corrupted_checksummed_packet_is_refused() {
        let r = Repr {
            protocol: EtherType::IPV4,
            checksum: true,
            key: None,
            sequence: None,
        };
        let mut b = [0u8; 12];
        r.emit(&mut b).unwrap();
        b[10] ^= 0x40;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Checksum);
    }
}
