//! ARP for IPv4 over Ethernet, RFC 826 ("Packet format").
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Hardware type (1)         |     Protocol type (0x0800)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HLEN (6)     |  PLEN (4)     |          Operation            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Sender hardware address (6) | Sender protocol address (4)     |
//! | Target hardware address (6) | Target protocol address (4)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Departure: only Ethernet/IPv4 ARP is accepted by the view; other
//! hardware or protocol types are [`Error::Unsupported`], since a virtual
//! switch answers ARP for IPv4 VMs and nothing else.

use core::net::Ipv4Addr;

use crate::ethernet::{EtherType, MacAddr};
use crate::{be16, put16, Error, Result};

/// Field offsets.
pub mod field {
    use core::ops::Range;
    /// Hardware type.
    pub const HTYPE: usize = 0;
    /// Protocol type.
    pub const PTYPE: usize = 2;
    /// Hardware address length.
    pub const HLEN: usize = 4;
    /// Protocol address length.
    pub const PLEN: usize = 5;
    /// Operation.
    pub const OPER: usize = 6;
    /// Sender hardware address.
    pub const SHA: Range<usize> = 8..14;
    /// Sender protocol address.
    pub const SPA: Range<usize> = 14..18;
    /// Target hardware address.
    pub const THA: Range<usize> = 18..24;
    /// Target protocol address.
    pub const TPA: Range<usize> = 24..28;
    /// Packet length for Ethernet/IPv4.
    pub const LEN: usize = 28;
}

/// Packet length for Ethernet/IPv4.
pub const PACKET_LEN: usize = field::LEN;

/// An ARP operation; unknown values stay representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation(pub u16);

impl Operation {
    /// Request.
    pub const REQUEST: Operation = Operation(1);
    /// Reply.
    pub const REPLY: Operation = Operation(2);
}

/// A view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

fn mac(b: &[u8]) -> MacAddr {
    let mut m = [0; 6];
    m.copy_from_slice(&b[..6]);
    MacAddr(m)
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the length and that this is Ethernet/IPv4 ARP.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        if be16(b, field::HTYPE) != 1
            || be16(b, field::PTYPE) != EtherType::IPV4.0
            || b[field::HLEN] != 6
            || b[field::PLEN] != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(Packet { buffer })
    }

    /// Operation.
    pub fn operation(&self) -> Operation {
        Operation(be16(self.buffer.as_ref(), field::OPER))
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::SHA])
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        ip(&self.buffer.as_ref()[field::SPA])
    }

    /// Target hardware address.
    pub fn target_mac(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::THA])
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        ip(&self.buffer.as_ref()[field::TPA])
    }
}

/// The owned form of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Operation.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        Ok(Repr {
            operation: p.operation(),
            sender_mac: p.sender_mac(),
            sender_ip: p.sender_ip(),
            target_mac: p.target_mac(),
            target_ip: p.target_ip(),
        })
    }

    /// The reply a host owning `target_ip` with `mac` sends to this request
    /// (RFC 826 "Packet Reception": swap sender and target, fill our MAC).
    pub fn reply(&self, mac: MacAddr) -> Repr {
        Repr {
            operation: Operation::REPLY,
            sender_mac: mac,
            sender_ip: self.target_ip,
            target_mac: self.sender_mac,
            target_ip: self.sender_ip,
        }
    }

    /// Writes the 28-byte packet at the front of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        put16(buf, field::HTYPE, 1);
        put16(buf, field::PTYPE, EtherType::IPV4.0);
        buf[field::HLEN] = 6;
        buf[field::PLEN] = 4;
        put16(buf, field::OPER, self.operation.0);
        buf[field::SHA].copy_from_slice(&self.sender_mac.0);
        buf[field::SPA].copy_from_slice(&self.sender_ip.octets());
        buf[field::THA].copy_from_slice(&self.target_mac.0);
        buf[field::TPA].copy_from_slice(&self.target_ip.octets());
        Ok(PACKET_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // who-has 10.0.0.2 tell 10.0.0.1, from 02:00:00:00:00:01.
    const REQUEST: [u8; 28] = [
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
    ];

    #[test]
    fn request_fields_follow_rfc826() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.operation(), Operation::REQUEST);
        assert_eq!(p.sender_ip(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.target_ip(), Ipv4Addr::new(10, 0, 0, 2));
        let mut out = [0u8; 28];
        Repr::parse(&p).unwrap().emit(&mut out).unwrap();
        assert_eq!(out, REQUEST);
    }

    #[test]
    fn reply_swaps_sender_and_target() {
        let req = Repr::parse(&Packet::new_checked(&REQUEST[..]).unwrap()).unwrap();
        let r = req.reply(MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(r.operation, Operation::REPLY);
        assert_eq!(r.sender_ip, req.target_ip);
        assert_eq!(r.target_mac, req.sender_mac);
    }

    #[test]
    fn non_ethernet_hardware_is_unsupported() {
        let mut b = REQUEST;
        b[1] = 6;
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Unsupported);
    }
}
