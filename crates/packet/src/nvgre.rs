//! NVGRE, RFC 7637 §3.2: GRE with only the key present, carrying
//! transparent Ethernet bridging.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |0| |1|0|   Reserved0     | Ver |   Protocol Type 0x6558        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Virtual Subnet ID (VSID)        |    FlowID     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! C and S must be zero and K one; VSIDs 0-0xFFF are reserved for future
//! use and 0xFFFFFF for vendor use (§3.2), so nvo refuses them both ways.
//! Departure: the Reserved0 bits 6-12 are ignored on receipt, as RFC 2784
//! allows, rather than required to be zero.

use crate::ethernet::EtherType;
use crate::gre::field as gre;
use crate::{be16, be32, put16, put32, Error, Result};

/// Field offsets.
pub mod field {
    /// Flags and version.
    pub const FLAGS: usize = 0;
    /// Protocol type.
    pub const PROTOCOL: usize = 2;
    /// VSID (24 bits) and FlowID (8 bits).
    pub const KEY: usize = 4;
    /// Header length.
    pub const HEADER_LEN: usize = 8;
}

/// Header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// The lowest VSID not reserved.
pub const VSID_MIN: u32 = 0x1000;
/// The highest VSID not reserved.
pub const VSID_MAX: u32 = 0xff_fffe;

/// Whether RFC 7637 §3.2 reserves `vsid`.
#[inline]
pub const fn is_reserved(vsid: u32) -> bool {
    vsid < VSID_MIN || vsid > VSID_MAX
}

/// A view of an NVGRE header and the frame after it.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the length only; flags, protocol and VSID are for [`Repr::parse`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The GRE flags and version word.
    #[inline]
    pub fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS)
    }

    /// Whether C=0, K=1, S=0, the RFC 2784 must-be-zero bits are clear and
    /// the version is 0.
    #[inline]
    pub fn flags_ok(&self) -> bool {
        let f = self.flags();
        f & (gre::C | gre::K | gre::S | gre::MUST_BE_ZERO | gre::VERSION) == gre::K
    }

    /// Protocol type.
    #[inline]
    pub fn protocol(&self) -> EtherType {
        EtherType(be16(self.buffer.as_ref(), field::PROTOCOL))
    }

    /// Virtual subnet ID, 24 bits.
    #[inline]
    pub fn vsid(&self) -> u32 {
        be32(self.buffer.as_ref(), field::KEY) >> 8
    }

    /// FlowID, the low byte of the key.
    #[inline]
    pub fn flow_id(&self) -> u8 {
        self.buffer.as_ref()[field::KEY + 3]
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// The owned form of an NVGRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Virtual subnet ID, 24 bits, not reserved.
    pub vsid: u32,
    /// Flow entropy for the underlay's ECMP.
    pub flow_id: u8,
}

impl Repr {
    /// Reads a checked header: flags, protocol 0x6558 and VSID are enforced.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        if !p.flags_ok() || p.protocol() != EtherType::TEB || is_reserved(p.vsid()) {
            return Err(Error::Malformed);
        }
        Ok(Repr {
            vsid: p.vsid(),
            flow_id: p.flow_id(),
        })
    }

    /// Writes the 8-byte header.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if is_reserved(self.vsid) {
            return Err(Error::Malformed);
        }
        put16(buf, field::FLAGS, gre::K);
        put16(buf, field::PROTOCOL, EtherType::TEB.0);
        put32(buf, field::KEY, (self.vsid << 8) | u32::from(self.flow_id));
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_word_is_0x2000_6558() {
        let mut b = [0u8; 8];
        Repr {
            vsid: 0x123456,
            flow_id: 0x9a,
        }
        .emit(&mut b)
        .unwrap();
        assert_eq!(b, [0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0x9a]);
    }

    #[test]
    fn reserved_vsids_are_refused() {
        for vsid in [0, 0xfff, 0xff_ffff] {
            let b = [
                0x20,
                0x00,
                0x65,
                0x58,
                (vsid >> 16) as u8,
                (vsid >> 8) as u8,
                vsid as u8,
                0,
            ];
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(Repr::parse(&p).unwrap_err(), Error::Malformed, "{vsid:#x}");
            assert!(Repr { vsid, flow_id: 0 }.emit(&mut [0; 8]).is_err());
        }
    }

    #[test]
    fn checksum_or_sequence_present_is_refused() {
        for flags in [0xa0u8, 0x30, 0x00] {
            let b = [flags, 0x00, 0x65, 0x58, 0x01, 0x00, 0x00, 0];
            let p = Packet::new_checked(&b[..]).unwrap();
            assert!(!p.flags_ok(), "{flags:#x}");
        }
    }

    #[test]
    fn protocol_must_be_transparent_ethernet_bridging() {
        let b = [0x20, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Malformed);
    }
}
