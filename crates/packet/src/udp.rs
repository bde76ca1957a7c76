//! UDP, RFC 768, with its checksum over the IPv4 pseudo-header (RFC 768) or
//! the IPv6 one (RFC 8200 §8.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Length             |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A zero checksum means "none" over IPv4; over IPv6 it is allowed only for
//! tunnels that opt in (RFC 6935, RFC 6936), which [`crate::decap`] decides.
//! Departure: the length field bounds the payload, so bytes past it are
//! ignored rather than refused. Callers pass the addresses of the
//! pseudo-header; behind an IPv6 routing header that is the final
//! destination (RFC 8200 §8.1), which nvo never needs and does not find.

use core::net::IpAddr;

use crate::checksum;
use crate::ip::Protocol;
use crate::{be16, put16, Error, Result};

/// Field offsets.
pub mod field {
    /// Source port.
    pub const SRC_PORT: usize = 0;
    /// Destination port.
    pub const DST_PORT: usize = 2;
    /// Length of header and payload.
    pub const LENGTH: usize = 4;
    /// Checksum.
    pub const CHECKSUM: usize = 6;
    /// Header length.
    pub const HEADER_LEN: usize = 8;
}

/// Header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// A view of a UDP datagram whose length field was checked.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks `8 <= length <= buffer`.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(be16(b, field::LENGTH));
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if b.len() < len {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Length field.
    #[inline]
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Whether the datagram has no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LEN as u16
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The payload, bounded by the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum verifies against the pseudo-header of `src` and
    /// `dst`. A zero field verifies trivially: the caller decides whether
    /// zero is acceptable.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let b = &self.buffer.as_ref()[..usize::from(self.len())];
        let ph = checksum::pseudo_header(src, dst, Protocol::UDP, u32::from(self.len()));
        checksum::fold(checksum::add(ph, checksum::sum(b))) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Computes and writes the checksum over header and payload.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        let len = self.len();
        let b = self.buffer.as_mut();
        put16(b, field::CHECKSUM, 0);
        let ph = checksum::pseudo_header(src, dst, Protocol::UDP, u32::from(len));
        let c = checksum::udp_field(checksum::add(ph, checksum::sum(&b[..usize::from(len)])));
        put16(b, field::CHECKSUM, c);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }
}

/// The owned form of a UDP header; the checksum is computed on emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length.
    pub payload_len: u16,
}

impl Repr {
    /// Reads a checked datagram (the checksum is the caller's to verify).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        Ok(Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload_len: p.len() - HEADER_LEN as u16,
        })
    }

    /// Writes the header at the front of `buf`, whose payload must already
    /// follow it. With `addrs` the checksum is computed, else it is zero.
    pub fn emit(&self, buf: &mut [u8], addrs: Option<(IpAddr, IpAddr)>) -> Result<usize> {
        let len = self
            .payload_len
            .checked_add(HEADER_LEN as u16)
            .ok_or(Error::Malformed)?;
        if buf.len() < usize::from(len) {
            return Err(Error::Truncated);
        }
        put16(buf, field::SRC_PORT, self.src_port);
        put16(buf, field::DST_PORT, self.dst_port);
        put16(buf, field::LENGTH, len);
        put16(buf, field::CHECKSUM, 0);
        if let Some((src, dst)) = addrs {
            Packet { buffer: &mut *buf }.fill_checksum(src, dst);
        }
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A DNS query from 10.0.0.1:53000 to 10.0.0.2:53; checksum by hand.
    #[test]
    fn ipv4_pseudo_header_checksum_verifies() {
        let mut b = [0u8; 12];
        let r = Repr {
            src_port: 53000,
            dst_port: 53,
            payload_len: 4,
        };
        b[8..].copy_from_slice(b"abcd");
        let (s, d) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        r.emit(&mut b, Some((s, d))).unwrap();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_ne!(p.checksum(), 0);
        assert!(p.verify_checksum(s, d));
        assert!(!p.verify_checksum(s, "10.0.0.3".parse().unwrap()));
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn length_below_header_is_malformed() {
        let b = [0u8, 1, 0, 2, 0, 7, 0, 0];
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn computed_zero_is_sent_as_all_ones() {
        assert_eq!(checksum::udp_field(0xffff), 0xffff);
    }
}
