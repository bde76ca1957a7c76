//! Ethernet II frames (IEEE 802.3 clause 3.2.6 "Length/Type") with up to two
//! VLAN tags: 802.1Q customer tags (TPID 0x8100) and 802.1ad service tags
//! (TPID 0x88A8), IEEE 802.1Q-2018 §9.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   destination MAC (6 bytes)                   |
//! +                               +-------------------------------+
//! |                               |                               |
//! +-------------------------------+                               +
//! |                      source MAC (6 bytes)                     |
//! +-------------------------------+-------------------------------+
//! |  TPID 0x88A8 or 0x8100 (opt.) | PCP |D|        VID            |
//! +-------------------------------+-------------------------------+
//! |  TPID 0x8100 (optional)       | PCP |D|        VID            |
//! +-------------------------------+-------------------------------+
//! |          ethertype            |  payload ...
//! +-------------------------------+
//! ```
//!
//! Departures: at most two tags are read, so a third tag is seen as the
//! ethertype 0x8100 with the rest as payload; frames with an 802.3 length
//! instead of a type (< 0x0600) are representable but carry that length as
//! their "ethertype". The frame check sequence is not part of the buffer
//! (NICs strip it).

use core::fmt;

use crate::{be16, put16, Error, Result};

/// Field offsets of the untagged header.
pub mod field {
    use core::ops::Range;
    /// Destination MAC.
    pub const DST: Range<usize> = 0..6;
    /// Source MAC.
    pub const SRC: Range<usize> = 6..12;
    /// Ethertype, or the first tag's TPID.
    pub const ETHERTYPE: usize = 12;
    /// Untagged header length.
    pub const HEADER_LEN: usize = 14;
    /// Length of one VLAN tag.
    pub const TAG_LEN: usize = 4;
}

/// Header length without tags.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Group bit set: broadcast or multicast (IEEE 802 §8.2).
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// The MAC as the low 48 bits of a `u64`, for packed table keys.
    #[inline]
    pub const fn to_u64(self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    fn from_slice(b: &[u8]) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&b[..6]);
        MacAddr(m)
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An ethertype; unknown values stay representable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// Transparent Ethernet bridging: the payload is an Ethernet frame.
    pub const TEB: EtherType = EtherType(0x6558);
    /// 802.1Q customer VLAN tag.
    pub const VLAN: EtherType = EtherType(0x8100);
    /// 802.1ad service VLAN tag.
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// IPv6.
    pub const IPV6: EtherType = EtherType(0x86dd);

    /// Whether this value is a VLAN tag protocol identifier.
    #[inline]
    pub const fn is_tag(self) -> bool {
        self.0 == 0x8100 || self.0 == 0x88a8
    }
}

impl fmt::Debug for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EtherType({:#06x})", self.0)
    }
}

/// One VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// 0x8100 or 0x88A8.
    pub tpid: EtherType,
    /// Priority code point, 3 bits.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 12 bits.
    pub vid: u16,
}

impl VlanTag {
    fn tci(&self) -> u16 {
        (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }

    fn from_tci(tpid: EtherType, tci: u16) -> VlanTag {
        VlanTag {
            tpid,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }
}

/// A view of an Ethernet frame; the tags are counted at construction.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    tags: u8,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks that the header, with its tags, fits in `buffer`.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let b = buffer.as_ref();
        let tags = count_tags(b)?;
        Ok(Frame { buffer, tags })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header length including tags: 14, 18 or 22.
    #[inline]
    pub fn header_len(&self) -> usize {
        field::HEADER_LEN + usize::from(self.tags) * field::TAG_LEN
    }

    /// Destination MAC.
    #[inline]
    pub fn dst(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::DST])
    }

    /// Source MAC.
    #[inline]
    pub fn src(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::SRC])
    }

    /// Number of VLAN tags read (0, 1 or 2).
    #[inline]
    pub fn tag_count(&self) -> usize {
        usize::from(self.tags)
    }

    /// The `i`th tag from the outside, if there is one.
    pub fn tag(&self, i: usize) -> Option<VlanTag> {
        if i >= self.tag_count() {
            return None;
        }
        let b = self.buffer.as_ref();
        let at = field::ETHERTYPE + i * field::TAG_LEN;
        Some(VlanTag::from_tci(EtherType(be16(b, at)), be16(b, at + 2)))
    }

    /// The ethertype after the tags.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(be16(self.buffer.as_ref(), self.header_len() - 2))
    }

    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC.
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&mac.0);
    }

    /// Sets the source MAC.
    pub fn set_src(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&mac.0);
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

/// Counts the tags at the front of `b` (at most two) and checks the header fits.
fn count_tags(b: &[u8]) -> Result<u8> {
    if b.len() < field::HEADER_LEN {
        return Err(Error::Truncated);
    }
    let mut tags = 0u8;
    while tags < 2 && EtherType(be16(b, field::ETHERTYPE + usize::from(tags) * 4)).is_tag() {
        tags += 1;
        if b.len() < field::HEADER_LEN + usize::from(tags) * field::TAG_LEN {
            return Err(Error::Truncated);
        }
    }
    Ok(tags)
}

/// The owned form of an Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// Outer tag (802.1ad service tag or a lone 802.1Q tag).
    pub outer_tag: Option<VlanTag>,
    /// Inner tag; only meaningful with an outer tag.
    pub inner_tag: Option<VlanTag>,
    /// Ethertype after the tags; must not itself be a TPID.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        Ok(Repr {
            dst: frame.dst(),
            src: frame.src(),
            outer_tag: frame.tag(0),
            inner_tag: frame.tag(1),
            ethertype: frame.ethertype(),
        })
    }

    /// Header length when emitted.
    pub fn header_len(&self) -> usize {
        field::HEADER_LEN
            + field::TAG_LEN
                * (usize::from(self.outer_tag.is_some()) + usize::from(self.inner_tag.is_some()))
    }

    /// Writes the header at the front of `buf` and returns its length.
    ///
    /// Refuses shapes that would not parse back the same: an inner tag
    /// without an outer one, a tag whose TPID is not a TPID, or a TPID as
    /// the final ethertype while fewer than two tags are present.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.header_len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let tags = [self.outer_tag, self.inner_tag];
        if (self.inner_tag.is_some() && self.outer_tag.is_none())
            || tags.iter().flatten().any(|t| !t.tpid.is_tag())
            || (self.ethertype.is_tag() && self.inner_tag.is_none())
        {
            return Err(Error::Malformed);
        }
        buf[field::DST].copy_from_slice(&self.dst.0);
        buf[field::SRC].copy_from_slice(&self.src.0);
        let mut at = field::ETHERTYPE;
        for t in tags.iter().flatten() {
            put16(buf, at, t.tpid.0);
            put16(buf, at + 2, t.tci());
            at += field::TAG_LEN;
        }
        put16(buf, at, self.ethertype.0);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTAGGED: [u8; 16] = [
        0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0x00,
    ];

    #[test]
    fn untagged_header_is_14_bytes() {
        let f = Frame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.header_len(), 14);
        assert_eq!(f.ethertype(), EtherType::IPV4);
        assert_eq!(f.dst(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.payload(), &[0x45, 0x00]);
    }

    #[test]
    fn qinq_reads_service_then_customer_tag() {
        let b = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0x20, 0x64, 0x81,
            0x00, 0x00, 0x0a, 0x08, 0x06,
        ];
        let f = Frame::new_checked(&b[..]).unwrap();
        assert_eq!(f.header_len(), 22);
        let r = Repr::parse(&f).unwrap();
        assert_eq!(r.outer_tag.unwrap().vid, 100);
        assert_eq!(r.outer_tag.unwrap().pcp, 1);
        assert_eq!(r.inner_tag.unwrap().vid, 10);
        assert_eq!(r.ethertype, EtherType::ARP);
        let mut out = [0u8; 22];
        assert_eq!(r.emit(&mut out), Ok(22));
        assert_eq!(out, b);
    }

    #[test]
    fn tag_running_past_the_end_is_truncated() {
        let b = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00, 0x00, 0x01];
        assert_eq!(Frame::new_checked(&b[..]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn short_frame_is_truncated() {
        assert_eq!(
            Frame::new_checked(&UNTAGGED[..13]).unwrap_err(),
            Error::Truncated
        );
    }
}
