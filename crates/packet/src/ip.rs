//! What IPv4 and IPv6 share: the protocol number (IANA "Assigned Internet
//! Protocol Numbers", the IPv4 protocol and IPv6 next-header field).

use core::fmt;

/// An IP protocol / IPv6 next-header number; unknown numbers stay representable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    /// IPv6 hop-by-hop options (RFC 8200 §4.3).
    pub const HOP_BY_HOP: Protocol = Protocol(0);
    /// ICMP for IPv4 (RFC 792).
    pub const ICMP: Protocol = Protocol(1);
    /// TCP (RFC 9293).
    pub const TCP: Protocol = Protocol(6);
    /// UDP (RFC 768).
    pub const UDP: Protocol = Protocol(17);
    /// IPv6 routing header (RFC 8200 §4.4).
    pub const ROUTING: Protocol = Protocol(43);
    /// IPv6 fragment header (RFC 8200 §4.5).
    pub const FRAGMENT: Protocol = Protocol(44);
    /// GRE (RFC 2784).
    pub const GRE: Protocol = Protocol(47);
    /// Encapsulating security payload (RFC 4303).
    pub const ESP: Protocol = Protocol(50);
    /// Authentication header (RFC 4302).
    pub const AH: Protocol = Protocol(51);
    /// ICMPv6 (RFC 4443).
    pub const ICMPV6: Protocol = Protocol(58);
    /// IPv6 "no next header" (RFC 8200 §4.7).
    pub const NO_NEXT: Protocol = Protocol(59);
    /// IPv6 destination options (RFC 8200 §4.6).
    pub const DEST_OPTS: Protocol = Protocol(60);
    /// SCTP (RFC 9260): has ports where TCP and UDP have them.
    pub const SCTP: Protocol = Protocol(132);

    /// Whether the first four bytes of the payload are source and
    /// destination ports.
    #[inline]
    pub const fn has_ports(self) -> bool {
        matches!(self.0, 6 | 17 | 132)
    }
}

impl fmt::Debug for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol({})", self.0)
    }
}
