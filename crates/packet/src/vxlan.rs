//! VXLAN, RFC 7348 §5.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The I flag must be set; the R bits and reserved fields are sent as zero
//! and ignored on receipt. UDP destination port 4789 (§5).

use crate::{be32, put32, Error, Result};

/// IANA UDP port for VXLAN.
pub const UDP_PORT: u16 = 4789;

/// Field offsets.
pub mod field {
    /// Flags byte.
    pub const FLAGS: usize = 0;
    /// VNI (high 24 bits of the second word).
    pub const VNI: usize = 4;
    /// Header length.
    pub const HEADER_LEN: usize = 8;
}

/// Header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// The I flag: the VNI is valid.
pub const FLAG_I: u8 = 0x08;

/// A view of a VXLAN header and the frame after it.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the length only; the I flag is checked by [`Repr::parse`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Whether the I flag is set.
    #[inline]
    pub fn i_flag(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The 24-bit VNI.
    #[inline]
    pub fn vni(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VNI) >> 8
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// The owned form of a VXLAN header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The 24-bit VNI.
    pub vni: u32,
}

impl Repr {
    /// Reads a checked header; the I flag must be set (RFC 7348 §5).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        if !p.i_flag() {
            return Err(Error::Malformed);
        }
        Ok(Repr { vni: p.vni() })
    }

    /// Writes the 8-byte header with only the I flag set.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.vni > 0xff_ffff {
            return Err(Error::Malformed);
        }
        put32(buf, 0, u32::from(FLAG_I) << 24);
        put32(buf, field::VNI, self.vni << 8);
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_flag_must_be_set() {
        let b = [0u8, 0, 0, 0, 0, 0, 1, 0];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn reserved_bits_are_ignored_on_receipt() {
        let b = [0xff, 0xff, 0xff, 0xff, 0x12, 0x34, 0x56, 0xff];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), Repr { vni: 0x123456 });
    }

    #[test]
    fn reserved_bits_are_sent_as_zero() {
        let mut b = [0xffu8; 8];
        Repr { vni: 0xabcdef }.emit(&mut b).unwrap();
        assert_eq!(b, [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0]);
    }
}
