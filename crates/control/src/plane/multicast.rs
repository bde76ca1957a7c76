//! Underlay multicast membership: for every domain that floods to a group,
//! the switch joins the group on the group's uplink with an IGMPv3 report
//! (RFC 3376 §4.2) or an MLDv2 report (RFC 3810 §5.2), each group as one
//! record of type CHANGE_TO_EXCLUDE_MODE with no source (a join of all
//! sources).
//!
//! Reports go out at start and every [`REPORT_PERIOD`], well inside the
//! default membership timeout of 260 s (RFC 3376 §8.4, RFC 3810 §9.4), and
//! within a second of a query the workers punt. Departures: a query's
//! maximum response time and group-specific queries are not looked at
//! (every query gets the full report), and the switch never sends a leave:
//! groups dropped by a reload time out. MLD queries come behind a
//! Hop-by-Hop header, which the workers do not punt today, so MLDv2
//! membership rests on the periodic reports alone.
//!
//! IGMPv3 report in an IPv4 header with the Router Alert option (RFC 2113),
//! TTL 1, to 224.0.0.22:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type = 0x22  |    Reserved   |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Reserved            |  Number of Group Records (M)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Record Type  |  Aux Data Len |     Number of Sources (N)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Multicast Address                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! MLDv2 report (ICMPv6 type 143) behind a Hop-by-Hop header with the
//! Router Alert option (RFC 2711, value 0: MLD), hop limit 1, to ff02::16,
//! from our link-local address (RFC 3810 §5.2.13), here derived from the
//! uplink MAC (RFC 4291 appendix A). Its records have the layout above
//! with a 16-byte address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use nvo_dataplane::Frame;
use nvo_packet::checksum;
use nvo_packet::ecn::Ecn;
use nvo_packet::ethernet::{EtherType, MacAddr};
use nvo_packet::ip::Protocol;
use nvo_packet::{ipv6, Error, Result};

use super::neighbours::eth;
use super::{ControlPlane, Transmit};
use crate::config::Flood;

/// How often membership reports are sent.
pub const REPORT_PERIOD: Duration = Duration::from_secs(60);

/// IGMPv3 membership report type (RFC 3376 §4.2).
const IGMPV3_REPORT: u8 = 0x22;
/// MLDv2 listener report type (RFC 3810 §5.2).
const MLDV2_REPORT: u8 = 143;
/// CHANGE_TO_EXCLUDE_MODE (RFC 3376 §4.2.12, RFC 3810 §5.2.12).
const CHANGE_TO_EXCLUDE: u8 = 4;
/// All IGMPv3-capable routers (RFC 3376 §4.2.14).
const IGMPV3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// All MLDv2-capable routers (RFC 3810 §5.2.14).
const MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
/// IP protocol number of IGMP.
const IGMP_PROTOCOL: u8 = 2;
/// Precedence "internetwork control", as routers expect for IGMP.
const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;
/// IPv4 Router Alert option, value 0 (RFC 2113 §2.1).
const IPV4_ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];
/// Hop-by-Hop header: next header ICMPv6, length 0 (8 bytes), Router Alert
/// with value 0 (RFC 2711 §2.1), and a two-byte PadN to fill the 8 bytes.
const HOP_BY_HOP_MLD: [u8; 8] = [58, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];

/// Writes an IGMPv3 report joining `groups` from `mac`/`src` into `out`;
/// returns the frame's length.
pub fn igmpv3_report(
    mac: MacAddr,
    src: Ipv4Addr,
    groups: &[Ipv4Addr],
    out: &mut [u8],
) -> Result<usize> {
    let igmp_len = 8 + 8 * groups.len();
    let ip_len = 24 + igmp_len;
    let dst_mac = super::build::multicast_mac(IGMPV3_ROUTERS.into());
    let at = eth(out, dst_mac, mac, EtherType::IPV4)?;
    let total = u16::try_from(ip_len).map_err(|_| Error::Malformed)?;
    let n = u16::try_from(groups.len()).map_err(|_| Error::Malformed)?;
    let buf = out.get_mut(at..at + ip_len).ok_or(Error::Truncated)?;
    let (ip, igmp) = buf.split_at_mut(24);

    // IPv4 header with a 4-byte option: IHL 6.
    ip.fill(0);
    ip[0] = 0x46;
    ip[1] = TOS_INTERNETWORK_CONTROL;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 1;
    ip[9] = IGMP_PROTOCOL;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&IGMPV3_ROUTERS.octets());
    ip[20..24].copy_from_slice(&IPV4_ROUTER_ALERT);
    let c = checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());

    igmp.fill(0);
    igmp[0] = IGMPV3_REPORT;
    igmp[6..8].copy_from_slice(&n.to_be_bytes());
    for (rec, g) in igmp[8..].chunks_exact_mut(8).zip(groups) {
        rec[0] = CHANGE_TO_EXCLUDE;
        rec[4..8].copy_from_slice(&g.octets());
    }
    let c = checksum::checksum(igmp);
    igmp[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(at + ip_len)
}

/// Our IPv6 link-local address on a link where our MAC is `mac`: the
/// modified EUI-64 interface identifier (RFC 4291 appendix A).
pub fn link_local(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// Writes an MLDv2 report joining `groups` from `mac` (and its link-local
/// address) into `out`; returns the frame's length.
pub fn mldv2_report(mac: MacAddr, groups: &[Ipv6Addr], out: &mut [u8]) -> Result<usize> {
    let src = link_local(mac);
    let mld_len = 8 + 20 * groups.len();
    let payload = HOP_BY_HOP_MLD.len() + mld_len;
    let dst_mac = super::build::multicast_mac(MLDV2_ROUTERS.into());
    let at = eth(out, dst_mac, mac, EtherType::IPV6)?;
    let r = ipv6::Repr {
        src,
        dst: MLDV2_ROUTERS,
        next_header: Protocol::HOP_BY_HOP,
        payload_len: u16::try_from(payload).map_err(|_| Error::Malformed)?,
        hop_limit: 1,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label: 0,
    };
    let n = u16::try_from(groups.len()).map_err(|_| Error::Malformed)?;
    let at = at + r.emit(out.get_mut(at..).ok_or(Error::Truncated)?)?;
    let buf = out.get_mut(at..at + payload).ok_or(Error::Truncated)?;
    let (hbh, mld) = buf.split_at_mut(HOP_BY_HOP_MLD.len());
    hbh.copy_from_slice(&HOP_BY_HOP_MLD);

    mld.fill(0);
    mld[0] = MLDV2_REPORT;
    mld[6..8].copy_from_slice(&n.to_be_bytes());
    for (rec, g) in mld[8..].chunks_exact_mut(20).zip(groups) {
        rec[0] = CHANGE_TO_EXCLUDE;
        rec[4..20].copy_from_slice(&g.octets());
    }
    let ph = checksum::pseudo_header_v6(src, MLDV2_ROUTERS, Protocol::ICMPV6, mld_len as u32);
    let c = !checksum::fold(checksum::add(ph, checksum::sum(mld)));
    mld[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(at + payload)
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Sends one IGMPv3 and one MLDv2 report per uplink that carries
    /// groups of that family; returns the reports sent.
    pub(crate) fn send_reports(&mut self) -> usize {
        let mut sent = 0;
        for u in 0..self.cfg.uplinks.len() {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for d in &self.cfg.domains {
                let Flood::Group(g) = d.flood else { continue };
                if self.cfg.uplink_for(g) != Some(u) {
                    continue;
                }
                match g {
                    IpAddr::V4(a) if !v4.contains(&a) => v4.push(a),
                    IpAddr::V6(a) if !v6.contains(&a) => v6.push(a),
                    _ => {}
                }
            }
            let mac = self.uplink_macs[u];
            let port = self.layout.port_index(crate::config::PortRef::Uplink(u));
            // A report with more records than fit one underlay packet
            // would have to be split; configurations name a few groups.
            if let (false, Some(c)) = (v4.is_empty(), self.cfg.uplinks[u].ipv4) {
                if let Ok(len) = igmpv3_report(mac, c.addr, &v4, &mut self.scratch) {
                    sent += usize::from(self.send_scratch(port, len));
                }
            }
            if !v6.is_empty() {
                if let Ok(len) = mldv2_report(mac, &v6, &mut self.scratch) {
                    sent += usize::from(self.send_scratch(port, len));
                }
            }
        }
        self.stats.reports += sent as u64;
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// scapy: `Ether(dst="01:00:5e:00:00:16", src=MAC) / IP(src="198.18.0.1",
    /// dst="224.0.0.22", ttl=1, tos=0xc0, id=0,
    /// options=[IPOption_Router_Alert()]) / IGMPv3(type=0x22) /
    /// IGMPv3mr(records=[IGMPv3gr(rtype=4, maddr="239.1.1.7"),
    /// IGMPv3gr(rtype=4, maddr="239.1.1.8")])`.
    const IGMPV3_SCAPY: &str = "01005e000016020000000004080046c000300000000001027ddec6120001\
        e0000016940400002200f5ea0000000204000000ef01010704000000ef010108";

    /// scapy: `Ether(dst="33:33:00:00:00:16", src=MAC) /
    /// IPv6(src="fe80::ff:fe00:4", dst="ff02::16", hlim=1) /
    /// IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) /
    /// ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff0e::1:7")])`.
    const MLDV2_SCAPY: &str = "33330000001602000000000486dd6000000000240001fe800000000000\
        00000000fffe000004ff0200000000000000000000000000163a000502000001008f0070f3000000\
        0104000000ff0e0000000000000000000000010007";

    #[test]
    fn igmpv3_join_is_a_change_to_exclude_record_per_group_as_scapy_builds_it() {
        let mut out = [0u8; 128];
        let groups = [Ipv4Addr::new(239, 1, 1, 7), Ipv4Addr::new(239, 1, 1, 8)];
        let n = igmpv3_report(MAC, Ipv4Addr::new(198, 18, 0, 1), &groups, &mut out).unwrap();
        assert_eq!(out[..n], hex(IGMPV3_SCAPY)[..]);
    }

    #[test]
    fn mldv2_join_from_the_link_local_address_as_scapy_builds_it() {
        let mut out = [0u8; 128];
        let g: Ipv6Addr = "ff0e::1:7".parse().unwrap();
        let n = mldv2_report(MAC, &[g], &mut out).unwrap();
        assert_eq!(out[..n], hex(MLDV2_SCAPY)[..]);
    }

    #[test]
    fn link_local_address_is_the_modified_eui64() {
        let ll = link_local(MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        assert_eq!(ll, "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn a_short_buffer_is_refused() {
        let mut out = [0u8; 40];
        let g = [Ipv4Addr::new(239, 1, 1, 7)];
        assert!(igmpv3_report(MAC, Ipv4Addr::LOCALHOST, &g, &mut out).is_err());
        let g6: [Ipv6Addr; 1] = ["ff0e::1".parse().unwrap()];
        assert!(mldv2_report(MAC, &g6, &mut out).is_err());
    }
}
