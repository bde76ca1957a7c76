//! Explicit Congestion Notification across a tunnel: RFC 3168 §5 code
//! points, and the encapsulation and decapsulation rules of RFC 6040.
//!
//! Departure: RFC 6040 is written for IP in IP. An Ethernet tunnel can carry
//! non-IP frames (ARP), which have no ECN field; nvo encapsulates them with
//! a Not-ECT outer and, on decapsulation, forwards them whatever the outer
//! field says, because there is nothing to mark and dropping ARP under
//! congestion would only make it worse.

/// The two-bit ECN field (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Ecn {
    /// Not ECN-capable transport.
    NotEct = 0b00,
    /// ECN-capable transport, code point 1.
    Ect1 = 0b01,
    /// ECN-capable transport, code point 0.
    Ect0 = 0b10,
    /// Congestion experienced.
    Ce = 0b11,
}

impl Ecn {
    /// The code point in the low two bits of `tos` (an IPv4 TOS byte or an
    /// IPv6 traffic class).
    #[inline(always)]
    pub const fn from_tos(tos: u8) -> Ecn {
        match tos & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }
}

/// How the encapsulator sets the outer ECN field (RFC 6040 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EcnMode {
    /// Normal mode: copy the inner field, CE included.
    #[default]
    Normal,
    /// Compatibility mode: the outer field is always Not-ECT, for
    /// decapsulators that do not implement RFC 6040 or RFC 4301.
    Compatibility,
}

/// The outer ECN field for an inner one (`None` for a non-IP inner frame).
#[inline(always)]
pub fn encap(mode: EcnMode, inner: Option<Ecn>) -> Ecn {
    match (mode, inner) {
        (EcnMode::Normal, Some(e)) => e,
        _ => Ecn::NotEct,
    }
}

/// What decapsulation does to the inner ECN field (RFC 6040 §4.2, figure 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Egress {
    /// Forward the inner packet unchanged.
    Keep,
    /// Rewrite the inner ECN field to this value, then forward.
    Set(Ecn),
    /// Drop: outer CE on an inner packet that cannot carry it.
    Drop,
}

/// Combines outer and inner ECN on decapsulation (RFC 6040 §4.2).
///
/// The RFC's table also asks to log the "(!!!)" combinations (outer ECT on
/// an inner Not-ECT, or outer ECT(0) on inner ECT(1)) as possible attacks;
/// nvo forwards them unchanged, as the table says, and leaves logging to the
/// caller.
#[inline(always)]
pub const fn decap(outer: Ecn, inner: Ecn) -> Egress {
    match (outer, inner) {
        (Ecn::Ce, Ecn::NotEct) => Egress::Drop,
        (Ecn::Ce, Ecn::Ect0 | Ecn::Ect1) => Egress::Set(Ecn::Ce),
        (Ecn::Ect1, Ecn::Ect0) => Egress::Set(Ecn::Ect1),
        _ => Egress::Keep,
    }
}

/// Rewrites the ECN field of the IP packet at the front of `ip` (IPv4 or
/// IPv6, told by the version nibble), keeping an IPv4 header checksum right
/// by RFC 1624 update. Does nothing to a buffer too short to hold the field.
pub fn rewrite(ip: &mut [u8], ecn: Ecn) {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 12 => {
            let old = crate::be16(ip, 0);
            ip[1] = (ip[1] & !3) | ecn as u8;
            let new = crate::be16(ip, 0);
            let c = crate::checksum::update(crate::be16(ip, 10), old, new);
            crate::put16(ip, 10, c);
        }
        // The ECN bits are bits 2-3 of the second byte of an IPv6 header.
        Some(6) if ip.len() >= 2 => ip[1] = (ip[1] & !0x30) | ((ecn as u8) << 4),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Ecn; 4] = [Ecn::NotEct, Ecn::Ect1, Ecn::Ect0, Ecn::Ce];

    #[test]
    fn normal_mode_copies_inner_including_ce() {
        for e in ALL {
            assert_eq!(encap(EcnMode::Normal, Some(e)), e);
        }
    }

    #[test]
    fn compatibility_mode_sends_not_ect() {
        for e in ALL {
            assert_eq!(encap(EcnMode::Compatibility, Some(e)), Ecn::NotEct);
        }
    }

    #[test]
    fn outer_ce_on_inner_not_ect_is_dropped() {
        assert_eq!(decap(Ecn::Ce, Ecn::NotEct), Egress::Drop);
    }

    #[test]
    fn decap_table_of_rfc6040_figure_4() {
        use Ecn::*;
        use Egress::*;
        // Rows: inner; columns: outer Not-ECT, ECT(0), ECT(1), CE.
        let table = [
            (NotEct, [Keep, Keep, Keep, Drop]),
            (Ect0, [Keep, Keep, Set(Ect1), Set(Ce)]),
            (Ect1, [Keep, Keep, Keep, Set(Ce)]),
            (Ce, [Keep, Keep, Keep, Keep]),
        ];
        for (inner, row) in table {
            for (outer, want) in [NotEct, Ect0, Ect1, Ce].into_iter().zip(row) {
                assert_eq!(decap(outer, inner), want, "outer {outer:?} inner {inner:?}");
            }
        }
    }

    #[test]
    fn rewrite_keeps_ipv4_checksum_valid() {
        let mut h = [
            0x45, 0x02, 0x00, 0x14, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = crate::checksum::checksum(&h);
        crate::put16(&mut h, 10, c);
        rewrite(&mut h, Ecn::Ce);
        assert_eq!(h[1], 0x03);
        assert_eq!(crate::checksum::checksum(&h), 0);
    }
}
