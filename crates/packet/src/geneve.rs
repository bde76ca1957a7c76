//! Geneve, RFC 8926 §3.4 (header) and §3.5 (options).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Virtual Network Identifier (VNI)       |    Reserved   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Variable-Length Options                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Each option (§3.5):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Option Class         |      Type     |R|R|R| Length  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Variable-Length Option Data                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Opt Len and the option Length count 4-byte words; the high bit of the
//! option Type marks it critical. UDP destination port 6081. The options
//! are walked once at construction (at most 63 steps, since each option is
//! at least one word) and must tile the option area exactly.
//!
//! Departure: a receiver must drop a packet with a critical option it does
//! not understand (§3.5.1); [`Packet::first_unknown_critical`] finds one
//! and the caller decides, so that a later version of nvo can understand
//! options without changing the view.

use crate::ethernet::EtherType;
use crate::{be16, be32, put16, put32, Error, Result};

/// IANA UDP port for Geneve.
pub const UDP_PORT: u16 = 6081;

/// Field offsets.
pub mod field {
    /// Version and option length.
    pub const VER_OPTLEN: usize = 0;
    /// O and C flags.
    pub const FLAGS: usize = 1;
    /// Protocol type.
    pub const PROTOCOL: usize = 2;
    /// VNI (high 24 bits of the second word).
    pub const VNI: usize = 4;
    /// Fixed header length.
    pub const HEADER_LEN: usize = 8;
    /// Control-packet flag.
    pub const O: u8 = 0x80;
    /// Critical-options-present flag.
    pub const C: u8 = 0x40;
    /// Option header length.
    pub const OPT_HEADER_LEN: usize = 4;
    /// Critical bit of the option type.
    pub const OPT_CRITICAL: u8 = 0x80;
}

/// Fixed header length.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// The most option bytes a header can carry (63 words).
pub const MAX_OPTIONS_LEN: usize = 63 * 4;

/// A view of a Geneve header whose options tile the option area.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the header and options fit and that the options tile the
    /// option area. The version is reported by [`Packet::version`], not
    /// checked, so that the caller can count it apart.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let end = HEADER_LEN + usize::from(b[field::VER_OPTLEN] & 0x3f) * 4;
        if b.len() < end {
            return Err(Error::Truncated);
        }
        let mut at = HEADER_LEN;
        while at < end {
            // The option header fits: both at and end are multiples of 4.
            at += field::OPT_HEADER_LEN + usize::from(b[at + 3] & 0x1f) * 4;
        }
        if at != end {
            return Err(Error::Malformed);
        }
        Ok(Packet { buffer })
    }

    #[inline(always)]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version (0 is the only one defined).
    #[inline]
    pub fn version(&self) -> u8 {
        self.b()[field::VER_OPTLEN] >> 6
    }

    /// Length of the options in bytes.
    #[inline]
    pub fn options_len(&self) -> usize {
        usize::from(self.b()[field::VER_OPTLEN] & 0x3f) * 4
    }

    /// Header length, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// O flag: a control packet.
    #[inline]
    pub fn oam(&self) -> bool {
        self.b()[field::FLAGS] & field::O != 0
    }

    /// C flag: critical options present.
    #[inline]
    pub fn critical(&self) -> bool {
        self.b()[field::FLAGS] & field::C != 0
    }

    /// Protocol type of the payload.
    #[inline]
    pub fn protocol(&self) -> EtherType {
        EtherType(be16(self.b(), field::PROTOCOL))
    }

    /// The 24-bit VNI.
    #[inline]
    pub fn vni(&self) -> u32 {
        be32(self.b(), field::VNI) >> 8
    }

    /// The raw option bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.b()[HEADER_LEN..self.header_len()]
    }

    /// The options, one by one.
    pub fn iter_options(&self) -> Options<'_> {
        Options {
            rest: self.options(),
        }
    }

    /// The first critical option for which `known(class, type)` is false.
    pub fn first_unknown_critical(
        &self,
        known: impl Fn(u16, u8) -> bool,
    ) -> Option<GeneveOption<'_>> {
        self.iter_options()
            .find(|o| o.critical() && !known(o.class, o.typ))
    }

    /// The inner frame after the options.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }
}

/// One Geneve option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveOption<'a> {
    /// Option class.
    pub class: u16,
    /// Type; the high bit marks it critical.
    pub typ: u8,
    /// Option data, a multiple of 4 bytes.
    pub data: &'a [u8],
}

impl GeneveOption<'_> {
    /// Whether the receiver must understand this option.
    #[inline]
    pub fn critical(&self) -> bool {
        self.typ & field::OPT_CRITICAL != 0
    }

    /// Bytes this option takes on the wire.
    pub fn wire_len(&self) -> usize {
        field::OPT_HEADER_LEN + self.data.len()
    }

    /// Writes the option at the front of `buf`; the data must be a multiple
    /// of 4 bytes and at most 124.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.wire_len();
        if self.data.len() % 4 != 0 || self.data.len() > 31 * 4 {
            return Err(Error::Malformed);
        }
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        put16(buf, 0, self.class);
        buf[2] = self.typ;
        buf[3] = (self.data.len() / 4) as u8;
        buf[4..len].copy_from_slice(self.data);
        Ok(len)
    }
}

/// Iterator over the options of a checked packet; cannot fail, since the
/// walk was done at construction.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = GeneveOption<'a>;

    fn next(&mut self) -> Option<GeneveOption<'a>> {
        if self.rest.len() < field::OPT_HEADER_LEN {
            return None;
        }
        let len = field::OPT_HEADER_LEN + usize::from(self.rest[3] & 0x1f) * 4;
        let (opt, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        Some(GeneveOption {
            class: be16(opt, 0),
            typ: opt[2],
            data: &opt[field::OPT_HEADER_LEN..],
        })
    }
}

/// The owned form of a Geneve header; options are kept as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// O flag.
    pub oam: bool,
    /// C flag.
    pub critical: bool,
    /// Protocol type (0x6558 for Ethernet).
    pub protocol: EtherType,
    /// 24-bit VNI.
    pub vni: u32,
    /// Option TLVs, already encoded, a multiple of 4 bytes, at most 252.
    pub options: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Reads a checked header; version 0 only.
    pub fn parse(p: &Packet<&'a [u8]>) -> Result<Repr<'a>> {
        if p.version() != 0 {
            return Err(Error::Unsupported);
        }
        let b: &'a [u8] = p.buffer;
        Ok(Repr {
            oam: p.oam(),
            critical: p.critical(),
            protocol: p.protocol(),
            vni: p.vni(),
            options: &b[HEADER_LEN..p.header_len()],
        })
    }

    /// Header length when emitted.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Writes the header and options at the front of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.header_len();
        if self.options.len() % 4 != 0
            || self.options.len() > MAX_OPTIONS_LEN
            || self.vni > 0xff_ffff
        {
            return Err(Error::Malformed);
        }
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        buf[field::VER_OPTLEN] = (self.options.len() / 4) as u8;
        buf[field::FLAGS] =
            if self.oam { field::O } else { 0 } | if self.critical { field::C } else { 0 };
        put16(buf, field::PROTOCOL, self.protocol.0);
        put32(buf, field::VNI, self.vni << 8);
        buf[HEADER_LEN..len].copy_from_slice(self.options);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One critical option (class 0x0102, type 0x80, 4 bytes of data) and
    // one plain option with no data.
    const WITH_OPTIONS: [u8; 24] = [
        0x03, 0x40, 0x65, 0x58, 0x00, 0x00, 0x2a, 0x00, 0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe,
        0xef, 0x01, 0x03, 0x05, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
    ];

    #[test]
    fn options_are_walked_to_the_option_length() {
        let p = Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.vni(), 42);
        let opts: Vec<_> = p.iter_options().collect();
        assert_eq!(opts.len(), 2);
        assert!(opts[0].critical() && !opts[1].critical());
        assert_eq!(opts[0].data, &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(p.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn unknown_critical_option_is_found() {
        let p = Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        assert_eq!(
            p.first_unknown_critical(|_, _| false).unwrap().class,
            0x0102
        );
        assert!(p
            .first_unknown_critical(|c, t| c == 0x0102 && t == 0x80)
            .is_none());
    }

    #[test]
    fn option_overrunning_the_option_area_is_malformed() {
        let mut b = WITH_OPTIONS;
        b[11] = 0x03;
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn option_length_past_the_buffer_is_truncated() {
        assert_eq!(
            Packet::new_checked(&WITH_OPTIONS[..16]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn parse_then_emit_is_byte_identical() {
        let p = Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        let mut out = [0u8; 20];
        r.emit(&mut out).unwrap();
        assert_eq!(out, WITH_OPTIONS[..20]);
    }

    #[test]
    fn version_other_than_zero_is_unsupported() {
        let mut b = WITH_OPTIONS;
        b[0] |= 0x40;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
    }
}
