//! The two failure types of the crate: [`Error`] for the wire layer (the
//! caller only drops), and [`DropReason`] for decapsulation and
//! encapsulation, where the reason indexes a per-core counter array.

use core::fmt;

/// Why a view could not be made or a representation parsed or emitted.
///
/// Deliberately tiny: on the data path the only thing a caller does with a
/// malformed header is drop it and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header or than a length field says.
    Truncated,
    /// A field has a value the format forbids (version, length, flags).
    Malformed,
    /// A checksum does not verify.
    Checksum,
    /// A well-formed header nvo does not handle (another hardware type, a
    /// message type without a representation).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Checksum => "bad checksum",
            Error::Unsupported => "unsupported",
        })
    }
}

/// Result of the wire layer.
pub type Result<T> = core::result::Result<T, Error>;

/// Why the data path refused a frame: the value is the index of a counter.
///
/// The discriminants are dense from zero so that `reason as usize` indexes
/// an array of [`DropReason::COUNT`] counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// A header, or a length field, runs past the end of the frame.
    Truncated = 0,
    /// The outer ethertype is neither IPv4 nor IPv6 (ARP lands here: punt it).
    NotIp,
    /// A version, header length or length field is impossible.
    MalformedIp,
    /// The outer IPv4 header checksum does not verify.
    BadIpChecksum,
    /// The outer packet is a fragment; VTEPs must not fragment (RFC 7348 §4.3).
    Fragment,
    /// The outer destination address is not one of our VTEP addresses.
    NotOurAddress,
    /// The outer IP protocol is neither UDP nor GRE (ICMP lands here: punt it).
    UnknownProtocol,
    /// UDP to a port that is not a configured tunnel port.
    NotOurTunnel,
    /// A UDP length field is impossible.
    MalformedUdp,
    /// A non-zero outer UDP checksum does not verify.
    BadUdpChecksum,
    /// Zero UDP checksum over IPv6 while zero-checksum mode is off (RFC 6936).
    ZeroUdpChecksum,
    /// VXLAN header with the I flag clear (RFC 7348 §5).
    VxlanIFlagClear,
    /// GRE flags other than K alone, or a GRE version other than 0 (RFC 7637 §3.2).
    NvgreBadFlags,
    /// GRE protocol type other than 0x6558 (transparent Ethernet bridging).
    NvgreBadProtocol,
    /// VSID 0-0xFFF or 0xFFFFFF, which RFC 7637 §3.2 reserves.
    ReservedVsid,
    /// Geneve version other than 0 (RFC 8926 §3.4).
    GeneveVersion,
    /// Geneve protocol type other than 0x6558.
    GeneveProtocol,
    /// Geneve options that do not tile the option area.
    GeneveBadOptions,
    /// A critical Geneve option nvo does not understand (RFC 8926 §3.5).
    GeneveCriticalOption,
    /// A Geneve control (O bit) packet: not data (RFC 8926 §3.4).
    GeneveOam,
    /// The inner frame carries an 802.1Q/802.1ad tag (RFC 7348 §6.1, RFC 7637 §4).
    InnerTagged,
    /// Outer CE over an inner Not-ECT packet (RFC 6040 §4.2).
    EcnCeOnNotEct,
    /// The inner frame is too large for the outer length fields.
    TooBig,
}

impl DropReason {
    /// Number of reasons: the length of a counter array.
    pub const COUNT: usize = DropReason::TooBig as usize + 1;

    /// Every reason, in counter order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::NotIp,
        DropReason::MalformedIp,
        DropReason::BadIpChecksum,
        DropReason::Fragment,
        DropReason::NotOurAddress,
        DropReason::UnknownProtocol,
        DropReason::NotOurTunnel,
        DropReason::MalformedUdp,
        DropReason::BadUdpChecksum,
        DropReason::ZeroUdpChecksum,
        DropReason::VxlanIFlagClear,
        DropReason::NvgreBadFlags,
        DropReason::NvgreBadProtocol,
        DropReason::ReservedVsid,
        DropReason::GeneveVersion,
        DropReason::GeneveProtocol,
        DropReason::GeneveBadOptions,
        DropReason::GeneveCriticalOption,
        DropReason::GeneveOam,
        DropReason::InnerTagged,
        DropReason::EcnCeOnNotEct,
        DropReason::TooBig,
    ];

    /// A stable snake_case name for counters and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::NotIp => "not_ip",
            DropReason::MalformedIp => "malformed_ip",
            DropReason::BadIpChecksum => "bad_ip_checksum",
            DropReason::Fragment => "fragment",
            DropReason::NotOurAddress => "not_our_address",
            DropReason::UnknownProtocol => "unknown_protocol",
            DropReason::NotOurTunnel => "not_our_tunnel",
            DropReason::MalformedUdp => "malformed_udp",
            DropReason::BadUdpChecksum => "bad_udp_checksum",
            DropReason::ZeroUdpChecksum => "zero_udp_checksum",
            DropReason::VxlanIFlagClear => "vxlan_i_flag_clear",
            DropReason::NvgreBadFlags => "nvgre_bad_flags",
            DropReason::NvgreBadProtocol => "nvgre_bad_protocol",
            DropReason::ReservedVsid => "reserved_vsid",
            DropReason::GeneveVersion => "geneve_version",
            DropReason::GeneveProtocol => "geneve_protocol",
            DropReason::GeneveBadOptions => "geneve_bad_options",
            DropReason::GeneveCriticalOption => "geneve_critical_option",
            DropReason::GeneveOam => "geneve_oam",
            DropReason::InnerTagged => "inner_tagged",
            DropReason::EcnCeOnNotEct => "ecn_ce_on_not_ect",
            DropReason::TooBig => "too_big",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_index_a_dense_counter_array() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r}");
        }
    }
}
