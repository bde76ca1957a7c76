//! Outer-header templates: the encapsulation half of the hot path.
//!
//! A [`Template`] is built once per (tunnel kind, underlay family, local and
//! remote VTEP, next-hop MACs, VNI) on the control path and applied to every
//! frame by copying its bytes in front of the inner frame and patching:
//!
//! | field | how |
//! |---|---|
//! | IPv4 total length, TOS, TTL | written; header checksum by RFC 1624 update |
//! | IPv6 payload length, traffic class, hop limit | written |
//! | IPv6 flow label | high 20 bits of the flow hash (RFC 6438 §4) |
//! | UDP source port | flow hash scaled into the port range (RFC 7348 §5, RFC 8926 §3.3) |
//! | UDP length | written |
//! | UDP checksum | 0 over IPv4 (RFC 7348 §5); over IPv6 computed from a precomputed sum, or 0 in the RFC 6935/6936 mode |
//! | NVGRE FlowID | high 8 bits of the flow hash (RFC 7637 §3.2), or 0 when the peer cannot take it |
//! | DSCP | fixed, or copied from the inner IP header (RFC 2983 uniform model) |
//! | ECN | RFC 6040 §4.1 normal or compatibility mode |
//! | TTL | fixed, or copied from the inner IP header |
//!
//! The outer IPv4 header carries DF and identification 0: VTEPs must not
//! fragment (RFC 7348 §4.3), and RFC 6864 §4.1 lets atomic datagrams carry
//! any identification.
//!
//! Entropy comes from the hash's high bits because a NIC-supplied RSS hash
//! has equal low bits for every frame of one receive queue.
//!
//! Geneve templates may carry up to [`MAX_GENEVE_OPTIONS`] bytes of options,
//! fixed per template; options that change per frame are not supported.
//!
//! Known shortcomings: the underlay cannot be VLAN-tagged, and tagged inner frames are refused rather than
//! stripped (RFC 7637 §4 asks NVGRE encapsulators to strip the tag; the
//! data plane must do that before calling [`Template::encap`]).

use core::fmt;
use core::net::IpAddr;

use crate::checksum;
use crate::ecn::{self, Ecn, EcnMode};
use crate::ethernet::{self, EtherType, MacAddr};
use crate::flow::PortRange;
use crate::inner;
use crate::ip::Protocol;
use crate::{geneve, ipv4, ipv6, nvgre, udp, vxlan};
use crate::{put16, put32, DropReason};

/// Which overlay encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TunnelKind {
    /// VXLAN over UDP (RFC 7348).
    Vxlan,
    /// NVGRE over IP protocol 47 (RFC 7637).
    Nvgre,
    /// Geneve over UDP (RFC 8926).
    Geneve,
}

impl TunnelKind {
    /// The IANA UDP destination port; 0 for NVGRE, which has no UDP.
    pub const fn default_port(self) -> u16 {
        match self {
            TunnelKind::Vxlan => vxlan::UDP_PORT,
            TunnelKind::Geneve => geneve::UDP_PORT,
            TunnelKind::Nvgre => 0,
        }
    }

    /// Length of the tunnel header after the outer IP header (UDP included).
    pub const fn header_len(self) -> usize {
        match self {
            TunnelKind::Vxlan => udp::HEADER_LEN + vxlan::HEADER_LEN,
            TunnelKind::Geneve => udp::HEADER_LEN + geneve::HEADER_LEN,
            TunnelKind::Nvgre => nvgre::HEADER_LEN,
        }
    }
}

/// Outer TTL / hop limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// Always this value.
    Fixed(u8),
    /// The inner IP header's TTL or hop limit; `non_ip` for other frames.
    Inherit {
        /// Used for frames that are not IP.
        non_ip: u8,
    },
}

/// Outer DSCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dscp {
    /// Always this value (RFC 2983 pipe model).
    Fixed(u8),
    /// The inner IP header's DSCP (uniform model); `non_ip` for other frames.
    Inherit {
        /// Used for frames that are not IP.
        non_ip: u8,
    },
}

/// Everything a template is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// Tunnel kind.
    pub kind: TunnelKind,
    /// Our VTEP address (outer source).
    pub local: IpAddr,
    /// The remote VTEP address (outer destination); same family as `local`.
    pub remote: IpAddr,
    /// Our uplink MAC (outer source).
    pub local_mac: MacAddr,
    /// The underlay next hop's MAC (outer destination).
    pub next_hop_mac: MacAddr,
    /// VNI or VSID, 24 bits.
    pub vni: u32,
    /// UDP destination port (ignored for NVGRE).
    pub dst_port: u16,
    /// UDP source port range.
    pub src_ports: PortRange,
    /// Outer TTL.
    pub ttl: Ttl,
    /// Outer DSCP.
    pub dscp: Dscp,
    /// ECN mode.
    pub ecn: EcnMode,
    /// Send a zero UDP checksum over IPv6 (RFC 6935 §5, RFC 6936 §5); only
    /// when the remote VTEP is configured to accept it.
    pub udp6_zero_checksum: bool,
    /// Encapsulate 802.1Q-tagged inner frames instead of refusing them.
    pub allow_inner_tags: bool,
    /// Geneve options sent with every frame (Geneve only).
    pub geneve_options: GeneveOptions,
    /// Put flow entropy in the NVGRE FlowID (NVGRE only). Off sends
    /// FlowID 0, which RFC 7637 §3.2 allows, for peers that match the
    /// whole 32-bit GRE key (Open vSwitch's gre ports do).
    pub nvgre_flow_id: bool,
}

/// The most Geneve option bytes a template carries.
pub const MAX_GENEVE_OPTIONS: usize = 56;

/// Encoded Geneve option TLVs that a template sends with every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveOptions {
    bytes: [u8; MAX_GENEVE_OPTIONS],
    len: u8,
    critical: bool,
}

impl Default for GeneveOptions {
    fn default() -> Self {
        GeneveOptions {
            bytes: [0; MAX_GENEVE_OPTIONS],
            len: 0,
            critical: false,
        }
    }
}

impl GeneveOptions {
    /// Takes options already encoded (see [`geneve::GeneveOption::emit`]);
    /// they must tile `encoded` exactly and fit [`MAX_GENEVE_OPTIONS`].
    pub fn new(encoded: &[u8]) -> Result<GeneveOptions, ConfigError> {
        if encoded.len() > MAX_GENEVE_OPTIONS || encoded.len() % 4 != 0 {
            return Err(ConfigError::BadGeneveOptions);
        }
        // Reuse the receive-side walk: a header with these options must parse.
        let mut probe = [0u8; geneve::HEADER_LEN + MAX_GENEVE_OPTIONS];
        let end = geneve::HEADER_LEN + encoded.len();
        probe[0] = (encoded.len() / 4) as u8;
        probe[geneve::HEADER_LEN..end].copy_from_slice(encoded);
        let p = geneve::Packet::new_checked(&probe[..end])
            .map_err(|_| ConfigError::BadGeneveOptions)?;
        let critical = p.iter_options().any(|o| o.critical());
        let mut bytes = [0u8; MAX_GENEVE_OPTIONS];
        bytes[..encoded.len()].copy_from_slice(encoded);
        Ok(GeneveOptions {
            bytes,
            len: encoded.len() as u8,
            critical,
        })
    }

    /// The encoded options.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether any option is critical, which sets the header's C bit.
    pub fn critical(&self) -> bool {
        self.critical
    }
}

impl Config {
    /// A configuration with the defaults: IANA port, source ports
    /// 49152-65535, TTL 64, DSCP inherited, ECN normal mode, UDP checksum
    /// computed over IPv6, tagged inner frames refused.
    pub fn new(
        kind: TunnelKind,
        local: IpAddr,
        remote: IpAddr,
        local_mac: MacAddr,
        next_hop_mac: MacAddr,
        vni: u32,
    ) -> Config {
        Config {
            kind,
            local,
            remote,
            local_mac,
            next_hop_mac,
            vni,
            dst_port: kind.default_port(),
            src_ports: PortRange::default(),
            ttl: Ttl::Fixed(64),
            dscp: Dscp::Inherit { non_ip: 0 },
            ecn: EcnMode::Normal,
            udp6_zero_checksum: false,
            allow_inner_tags: false,
            geneve_options: GeneveOptions::default(),
            nvgre_flow_id: true,
        }
    }
}

/// Why a template could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigError {
    /// Local and remote addresses are of different families.
    MixedFamilies,
    /// The VNI does not fit 24 bits.
    VniTooLarge(u32),
    /// NVGRE with a VSID that RFC 7637 reserves.
    ReservedVsid(u32),
    /// Source port range with `min > max`.
    BadPortRange(PortRange),
    /// A DSCP above 63.
    BadDscp(u8),
    /// Geneve options that do not tile, are too long, or are given for
    /// another tunnel kind.
    BadGeneveOptions,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MixedFamilies => f.write_str("local and remote VTEP families differ"),
            ConfigError::VniTooLarge(v) => write!(f, "VNI {v:#x} does not fit 24 bits"),
            ConfigError::ReservedVsid(v) => write!(f, "VSID {v:#x} is reserved by RFC 7637"),
            ConfigError::BadPortRange(r) => {
                write!(f, "source port range {}-{} is empty", r.min, r.max)
            }
            ConfigError::BadDscp(d) => write!(f, "DSCP {d} is above 63"),
            ConfigError::BadGeneveOptions => {
                f.write_str("Geneve options are malformed or misplaced")
            }
        }
    }
}

/// The longest template: Ethernet, IPv6, UDP, Geneve with options.
pub const MAX_LEN: usize = ethernet::HEADER_LEN
    + ipv6::HEADER_LEN
    + udp::HEADER_LEN
    + geneve::HEADER_LEN
    + MAX_GENEVE_OPTIONS;

/// Offset of the outer IP header in a template.
const IP: usize = ethernet::HEADER_LEN;

/// A prebuilt outer header and the precomputed parts of its checksums.
#[derive(Debug, Clone)]
pub struct Template {
    // Hot: read for every frame.
    header: [u8; MAX_LEN],
    len: u8,
    v6: bool,
    udp: bool,
    udp_checksum: bool,
    allow_inner_tags: bool,
    flow_id: bool,
    ecn: EcnMode,
    ttl: Ttl,
    dscp: Dscp,
    src_ports: PortRange,
    /// IPv4: unfolded sum of the header with TOS, length, TTL and checksum zero.
    ip_sum: u32,
    /// IPv6 with checksum: pseudo-header addresses and protocol, the UDP
    /// destination port and the tunnel header, unfolded.
    udp_sum: u32,
    // Cold.
    config: Config,
}

impl Template {
    /// Builds the template for `cfg` (control path).
    pub fn new(cfg: &Config) -> Result<Template, ConfigError> {
        let v6 = match (cfg.local, cfg.remote) {
            (IpAddr::V4(_), IpAddr::V4(_)) => false,
            (IpAddr::V6(_), IpAddr::V6(_)) => true,
            _ => return Err(ConfigError::MixedFamilies),
        };
        if cfg.vni > 0xff_ffff {
            return Err(ConfigError::VniTooLarge(cfg.vni));
        }
        if cfg.kind == TunnelKind::Nvgre && nvgre::is_reserved(cfg.vni) {
            return Err(ConfigError::ReservedVsid(cfg.vni));
        }
        if cfg.src_ports.min > cfg.src_ports.max {
            return Err(ConfigError::BadPortRange(cfg.src_ports));
        }
        let (Dscp::Fixed(d) | Dscp::Inherit { non_ip: d }) = cfg.dscp;
        if d > 63 {
            return Err(ConfigError::BadDscp(d));
        }
        let options = cfg.geneve_options.as_bytes();
        if cfg.kind != TunnelKind::Geneve && !options.is_empty() {
            return Err(ConfigError::BadGeneveOptions);
        }

        let udp = cfg.kind != TunnelKind::Nvgre;
        let ip_len = if v6 {
            ipv6::HEADER_LEN
        } else {
            ipv4::HEADER_LEN
        };
        let l4 = IP + ip_len;
        let len = l4 + cfg.kind.header_len() + options.len();
        let mut h = [0u8; MAX_LEN];
        let wire = |r: crate::Result<usize>| r.expect("template fields were validated above");

        // Ethernet, then the IP header with every per-frame field zero.
        let ethertype = if v6 { EtherType::IPV6 } else { EtherType::IPV4 };
        let eth = ethernet::Repr {
            dst: cfg.next_hop_mac,
            src: cfg.local_mac,
            outer_tag: None,
            inner_tag: None,
            ethertype,
        };
        wire(eth.emit(&mut h));
        let protocol = if udp { Protocol::UDP } else { Protocol::GRE };
        let mut ip_sum = 0;
        match (cfg.local, cfg.remote) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let r = ipv4::Repr {
                    src,
                    dst,
                    protocol,
                    payload_len: 0,
                    ttl: 0,
                    dscp: 0,
                    ecn: Ecn::NotEct,
                    ident: 0,
                    dont_frag: true,
                    more_frags: false,
                    frag_offset: 0,
                };
                wire(r.emit(&mut h[IP..]));
                put16(&mut h, IP + ipv4::field::CHECKSUM, 0);
                put16(&mut h, IP + ipv4::field::LENGTH, 0);
                ip_sum = checksum::sum(&h[IP..l4]);
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let r = ipv6::Repr {
                    src,
                    dst,
                    next_header: protocol,
                    payload_len: 0,
                    hop_limit: 0,
                    dscp: 0,
                    ecn: Ecn::NotEct,
                    flow_label: 0,
                };
                wire(r.emit(&mut h[IP..]));
            }
            _ => unreachable!("families were matched above"),
        }

        // The tunnel header, constant but for the source port and lengths.
        let tunnel = if udp { l4 + udp::HEADER_LEN } else { l4 };
        let u = udp::Repr {
            src_port: 0,
            dst_port: cfg.dst_port,
            payload_len: 0,
        };
        match cfg.kind {
            TunnelKind::Vxlan => {
                wire(u.emit(&mut h[l4..], None));
                wire(vxlan::Repr { vni: cfg.vni }.emit(&mut h[tunnel..]));
            }
            TunnelKind::Geneve => {
                wire(u.emit(&mut h[l4..], None));
                let g = geneve::Repr {
                    oam: false,
                    critical: cfg.geneve_options.critical(),
                    protocol: EtherType::TEB,
                    vni: cfg.vni,
                    options,
                };
                wire(g.emit(&mut h[tunnel..]));
            }
            TunnelKind::Nvgre => {
                wire(
                    nvgre::Repr {
                        vsid: cfg.vni,
                        flow_id: 0,
                    }
                    .emit(&mut h[tunnel..]),
                );
            }
        }
        // Zero length fields keep the sums free of per-frame values.
        if udp {
            put16(&mut h, l4 + udp::field::LENGTH, 0);
        }

        let udp_checksum = v6 && udp && !cfg.udp6_zero_checksum;
        let udp_sum = if udp_checksum {
            let ph = checksum::pseudo_header(cfg.local, cfg.remote, Protocol::UDP, 0);
            checksum::add(ph, checksum::sum(&h[l4..len]))
        } else {
            0
        };

        Ok(Template {
            header: h,
            len: len as u8,
            v6,
            udp,
            udp_checksum,
            allow_inner_tags: cfg.allow_inner_tags,
            flow_id: cfg.kind == TunnelKind::Nvgre && cfg.nvgre_flow_id,
            ecn: cfg.ecn,
            ttl: cfg.ttl,
            dscp: cfg.dscp,
            src_ports: cfg.src_ports,
            ip_sum,
            udp_sum,
            config: *cfg,
        })
    }

    /// Length of the outer header this template writes.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Never true: a template always has a header. Present for clippy's
    /// `len_without_is_empty`.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The configuration the template was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The outer header bytes as built (per-frame fields zero).
    pub fn bytes(&self) -> &[u8] {
        &self.header[..self.len()]
    }

    /// Encapsulates in place: `packet` is the outer header's room (exactly
    /// [`Template::len`] bytes, e.g. just prepended to a DPDK mbuf)
    /// followed by the inner frame.
    #[inline]
    pub fn encap(&self, packet: &mut [u8], flow_hash: u32) -> Result<(), DropReason> {
        if packet.len() < self.len() {
            return Err(DropReason::Truncated);
        }
        let (outer, inner) = packet.split_at_mut(self.len());
        self.write_outer(outer, inner, flow_hash)
    }

    /// Writes the outer header for `inner` into `outer`, which must be
    /// exactly [`Template::len`] bytes. `flow_hash` is the inner flow's hash,
    /// from [`crate::flow::hash`] or from the NIC.
    #[inline]
    pub fn write_outer(
        &self,
        outer: &mut [u8],
        inner: &[u8],
        flow_hash: u32,
    ) -> Result<(), DropReason> {
        let len = self.len();
        if outer.len() != len {
            return Err(DropReason::Truncated);
        }
        let ip = inner::inspect(inner, self.allow_inner_tags)?;
        let l4 = if self.v6 {
            IP + ipv6::HEADER_LEN
        } else {
            IP + ipv4::HEADER_LEN
        };
        // Bytes after the outer IP header: tunnel header plus inner frame.
        let l4_len = len - l4 + inner.len();
        if l4_len + ipv4::HEADER_LEN > usize::from(u16::MAX) {
            return Err(DropReason::TooBig);
        }
        let l4_len = l4_len as u16;
        // Constant lengths let the copy compile to a few vector moves.
        match len {
            42 => outer[..42].copy_from_slice(&self.header[..42]),
            50 => outer[..50].copy_from_slice(&self.header[..50]),
            62 => outer[..62].copy_from_slice(&self.header[..62]),
            70 => outer[..70].copy_from_slice(&self.header[..70]),
            _ => outer.copy_from_slice(&self.header[..len]),
        }

        let tos = self.tos(ip.map(|i| i.tos));
        let ttl = match self.ttl {
            Ttl::Fixed(t) => t,
            Ttl::Inherit { non_ip } => ip.map_or(non_ip, |i| i.ttl),
        };
        if self.v6 {
            let word = (6 << 28) | (u32::from(tos) << 20) | (flow_hash >> 12);
            put32(outer, IP, word);
            put16(outer, IP + ipv6::field::LENGTH, l4_len);
            outer[IP + ipv6::field::HOP_LIMIT] = ttl;
        } else {
            let total = l4_len + ipv4::HEADER_LEN as u16;
            outer[IP + ipv4::field::TOS] = tos;
            put16(outer, IP + ipv4::field::LENGTH, total);
            outer[IP + ipv4::field::TTL] = ttl;
            // RFC 1624 eq. 3 with every changed word's old value zero:
            // HC' = ~(~HC + m'), and ~HC is the template's sum.
            let sum = self.ip_sum + u32::from(tos) + u32::from(total) + (u32::from(ttl) << 8);
            put16(outer, IP + ipv4::field::CHECKSUM, !checksum::fold(sum));
        }

        if self.udp {
            let sport = self.src_ports.pick(flow_hash);
            put16(outer, l4 + udp::field::SRC_PORT, sport);
            put16(outer, l4 + udp::field::LENGTH, l4_len);
            if self.udp_checksum {
                // The length counts twice: pseudo-header and UDP header.
                let fixed = self.udp_sum + u32::from(sport) + 2 * u32::from(l4_len);
                let sum = checksum::add(fixed, checksum::sum(inner));
                put16(outer, l4 + udp::field::CHECKSUM, checksum::udp_field(sum));
            }
        } else if self.flow_id {
            outer[l4 + nvgre::field::KEY + 3] = (flow_hash >> 24) as u8;
        }
        Ok(())
    }

    #[inline(always)]
    fn tos(&self, inner_tos: Option<u8>) -> u8 {
        let dscp = match self.dscp {
            Dscp::Fixed(d) => d,
            Dscp::Inherit { non_ip } => inner_tos.map_or(non_ip, |t| t >> 2),
        };
        (dscp << 2) | ecn::encap(self.ecn, inner_tos.map(Ecn::from_tos)) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ipv4, udp};

    fn cfg(kind: TunnelKind, v6: bool) -> Config {
        let (l, r): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )
        } else {
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
        };
        Config::new(
            kind,
            l,
            r,
            MacAddr([2, 0, 0, 0, 0, 1]),
            MacAddr([2, 0, 0, 0, 0, 2]),
            0x12345,
        )
    }

    fn inner_v4(tos: u8, ttl: u8) -> [u8; 64] {
        let mut f = [0u8; 64];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let r = ipv4::Repr {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            protocol: Protocol::UDP,
            payload_len: 30,
            ttl,
            dscp: tos >> 2,
            ecn: Ecn::from_tos(tos),
            ident: 1,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut f[14..]).unwrap();
        f
    }

    fn encap(t: &Template, inner: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; t.len() + inner.len()];
        p[t.len()..].copy_from_slice(inner);
        t.encap(&mut p, 0xdead_beef).unwrap();
        p
    }

    #[test]
    fn lengths_of_each_kind_and_family() {
        let want = [
            (TunnelKind::Vxlan, 50, 70),
            (TunnelKind::Geneve, 50, 70),
            (TunnelKind::Nvgre, 42, 62),
        ];
        for (k, l4, l6) in want {
            assert_eq!(Template::new(&cfg(k, false)).unwrap().len(), l4);
            assert_eq!(Template::new(&cfg(k, true)).unwrap().len(), l6);
        }
    }

    #[test]
    fn ipv4_header_checksum_is_valid_after_patching() {
        let t = Template::new(&cfg(TunnelKind::Vxlan, false)).unwrap();
        let p = encap(&t, &inner_v4(0xb9, 17));
        let ip = ipv4::Packet::new_checked(&p[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(usize::from(ip.total_len()), p.len() - 14);
        assert!(ip.dont_frag());
    }

    #[test]
    fn vxlan_over_ipv4_sends_zero_udp_checksum() {
        let t = Template::new(&cfg(TunnelKind::Vxlan, false)).unwrap();
        let p = encap(&t, &inner_v4(0, 64));
        assert_eq!(&p[40..42], &[0, 0]);
    }

    #[test]
    fn udp_checksum_over_ipv6_verifies() {
        for k in [TunnelKind::Vxlan, TunnelKind::Geneve] {
            let c = cfg(k, true);
            let t = Template::new(&c).unwrap();
            let p = encap(&t, &inner_v4(0, 64));
            let u = udp::Packet::new_checked(&p[54..]).unwrap();
            assert_ne!(u.checksum(), 0);
            assert!(u.verify_checksum(c.local, c.remote));
        }
    }

    #[test]
    fn rfc6935_zero_checksum_mode_sends_zero() {
        let mut c = cfg(TunnelKind::Vxlan, true);
        c.udp6_zero_checksum = true;
        let p = encap(&Template::new(&c).unwrap(), &inner_v4(0, 64));
        assert_eq!(&p[60..62], &[0, 0]);
    }

    #[test]
    fn source_port_is_in_the_dynamic_range() {
        let t = Template::new(&cfg(TunnelKind::Geneve, false)).unwrap();
        let p = encap(&t, &inner_v4(0, 64));
        assert!(u16::from_be_bytes([p[34], p[35]]) >= 49152);
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), 6081);
    }

    #[test]
    fn ecn_normal_mode_copies_ce_and_dscp_is_inherited() {
        let t = Template::new(&cfg(TunnelKind::Vxlan, false)).unwrap();
        let p = encap(&t, &inner_v4(0xbb, 9));
        assert_eq!(p[15], 0xbb);
        assert_eq!(p[22], 64);
    }

    #[test]
    fn ecn_compatibility_mode_and_inherited_ttl() {
        let mut c = cfg(TunnelKind::Nvgre, true);
        c.ecn = EcnMode::Compatibility;
        c.ttl = Ttl::Inherit { non_ip: 64 };
        c.dscp = Dscp::Fixed(46);
        let p = encap(&Template::new(&c).unwrap(), &inner_v4(0x03, 9));
        let ip = ipv6::Packet::new_checked(&p[14..]).unwrap();
        assert_eq!(ip.ecn(), Ecn::NotEct);
        assert_eq!(ip.dscp(), 46);
        assert_eq!(ip.hop_limit(), 9);
        assert_eq!(ip.flow_label(), 0xdead_beef >> 12);
        assert_eq!(p[14 + 40 + 7], 0xde, "FlowID is the hash's high byte");
        c.nvgre_flow_id = false;
        let p = encap(&Template::new(&c).unwrap(), &inner_v4(0x03, 9));
        assert_eq!(p[14 + 40 + 7], 0, "FlowID 0 when asked");
        assert_eq!(p[14 + 40 + 4..14 + 40 + 7], [0x01, 0x23, 0x45], "VSID kept");
    }

    #[test]
    fn tagged_inner_frame_is_refused() {
        let t = Template::new(&cfg(TunnelKind::Vxlan, false)).unwrap();
        let mut f = inner_v4(0, 64);
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        let mut p = vec![0u8; t.len() + f.len()];
        p[t.len()..].copy_from_slice(&f);
        assert_eq!(t.encap(&mut p, 0), Err(DropReason::InnerTagged));
    }

    #[test]
    fn geneve_options_are_sent_and_set_the_c_bit_when_critical() {
        let mut c = cfg(TunnelKind::Geneve, true);
        c.geneve_options = GeneveOptions::new(&[0x01, 0x02, 0x83, 0x01, 0, 0, 0, 42]).unwrap();
        let t = Template::new(&c).unwrap();
        assert_eq!(t.len(), 78);
        let p = encap(&t, &inner_v4(0, 64));
        let g = geneve::Packet::new_checked(&p[62..]).unwrap();
        assert!(g.critical());
        assert_eq!(g.options(), c.geneve_options.as_bytes());
        let u = udp::Packet::new_checked(&p[54..]).unwrap();
        assert!(u.verify_checksum(c.local, c.remote));
    }

    #[test]
    fn geneve_options_that_do_not_tile_are_refused() {
        assert_eq!(
            GeneveOptions::new(&[0, 1, 2, 2, 0, 0, 0, 0]),
            Err(ConfigError::BadGeneveOptions)
        );
        assert_eq!(
            GeneveOptions::new(&[0; 60]),
            Err(ConfigError::BadGeneveOptions)
        );
        let mut c = cfg(TunnelKind::Vxlan, false);
        c.geneve_options = GeneveOptions::new(&[0, 1, 2, 0]).unwrap();
        assert_eq!(
            Template::new(&c).unwrap_err(),
            ConfigError::BadGeneveOptions
        );
    }

    #[test]
    fn reserved_vsid_and_mixed_families_are_refused() {
        let mut c = cfg(TunnelKind::Nvgre, false);
        c.vni = 0xfff;
        assert_eq!(
            Template::new(&c).unwrap_err(),
            ConfigError::ReservedVsid(0xfff)
        );
        c.remote = "2001:db8::2".parse().unwrap();
        assert_eq!(Template::new(&c).unwrap_err(), ConfigError::MixedFamilies);
    }
}
