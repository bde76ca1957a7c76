//! Frames the workers punt from the uplinks: ARP, ICMP and ICMPv6. The
//! control thread answers, on the uplink they came from, ARP requests and
//! Neighbor Solicitations for our VTEP addresses (RFC 826, RFC 4861
//! §7.2.4) and echo requests to them (RFC 792, RFC 4443 §4.2); it learns
//! next-hop MACs from ARP and ND addressed to us; everything else is
//! dropped (and counted).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use nvo_dataplane::Frame;
use nvo_packet::ecn::Ecn;
use nvo_packet::ethernet::{EtherType, Frame as EthFrame, MacAddr};
use nvo_packet::ip::Protocol;
use nvo_packet::{arp, icmpv4, icmpv6, ipv4, ipv6, reply};

use super::neighbours::eth;
use super::{ControlPlane, Transmit};

/// TTL / hop limit of echo replies.
const TTL: u8 = 64;
/// IP protocol number of IGMP.
const IGMP: Protocol = Protocol(2);
/// IGMP membership query (RFC 3376 §4.1).
const IGMP_QUERY: u8 = 0x11;
/// MLD listener query (RFC 3810 §5.1).
const MLD_QUERY: u8 = 130;

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Handles one punted frame from switch port `port`; the frame is
    /// dropped (its buffer freed) on return.
    pub(crate) fn punted(&mut self, port: u16, frame: F, now: Instant) {
        let answered = match self.layout.uplink(port) {
            Some(u) => self.answer(port, u, frame.data(), now),
            None => None,
        };
        match answered {
            Some(len) => {
                if self.send_scratch(port, len) {
                    self.stats.answers += 1;
                }
            }
            None => self.stats.ignored += 1,
        }
    }

    /// Learns from `data` and builds the answer, if any, in the scratch
    /// buffer; returns its length.
    fn answer(&mut self, port: u16, u: usize, data: &[u8], now: Instant) -> Option<usize> {
        let f = EthFrame::new_checked(data).ok()?;
        if f.tag_count() != 0 {
            return None;
        }
        let mac = self.uplink_macs[u];
        match f.ethertype() {
            EtherType::ARP => self.on_arp(port, u, data, f.payload(), now),
            EtherType::IPV4 => {
                let ours = self.cfg.uplinks[u].ipv4?.addr;
                self.on_ipv4(f.src(), f.payload(), ours, mac, now)
            }
            EtherType::IPV6 => {
                let ours = self.cfg.uplinks[u].ipv6?.addr;
                self.on_ipv6(port, data, f.src(), f.payload(), ours, mac, now)
            }
            _ => None,
        }
    }

    fn on_arp(
        &mut self,
        port: u16,
        u: usize,
        data: &[u8],
        payload: &[u8],
        now: Instant,
    ) -> Option<usize> {
        let a = arp::Repr::parse(&arp::Packet::new_checked(payload).ok()?).ok()?;
        let ours = self.cfg.uplinks[u].ipv4?.addr;
        // A request or reply to us, or a gratuitous announcement, tells
        // where its sender is.
        if a.target_ip == ours || a.target_ip == a.sender_ip {
            self.neighbour_seen(port, IpAddr::V4(a.sender_ip), a.sender_mac, now);
        }
        if a.operation != arp::Operation::REQUEST || a.target_ip != ours {
            return None;
        }
        reply::arp_reply(data, self.uplink_macs[u], &mut self.scratch).ok()
    }

    fn on_ipv4(
        &mut self,
        src_mac: MacAddr,
        payload: &[u8],
        ours: Ipv4Addr,
        mac: MacAddr,
        now: Instant,
    ) -> Option<usize> {
        let ip = ipv4::Packet::new_checked(payload).ok()?;
        if ip.protocol() == IGMP && ip.payload().first() == Some(&IGMP_QUERY) {
            self.query_heard(now);
            return None;
        }
        if ip.dst() != ours || ip.protocol() != Protocol::ICMP || ip.is_fragment() {
            return None;
        }
        let icmp = icmpv4::Packet::new_checked(ip.payload()).ok()?;
        let icmpv4::Repr::EchoRequest { ident, seq, data } = icmpv4::Repr::parse(&icmp).ok()?
        else {
            return None;
        };
        let reply = icmpv4::Repr::EchoReply { ident, seq, data };
        let out = &mut self.scratch;
        let at = eth(out, src_mac, mac, EtherType::IPV4).ok()?;
        let r = ipv4::Repr {
            src: ours,
            dst: ip.src(),
            protocol: Protocol::ICMP,
            payload_len: u16::try_from(reply.len()).ok()?,
            ttl: TTL,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        let at = at + r.emit(out.get_mut(at..)?).ok()?;
        Some(at + reply.emit(out.get_mut(at..)?).ok()?)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_ipv6(
        &mut self,
        port: u16,
        data: &[u8],
        src_mac: MacAddr,
        payload: &[u8],
        ours: Ipv6Addr,
        mac: MacAddr,
        now: Instant,
    ) -> Option<usize> {
        let ip = ipv6::Packet::new_checked(payload).ok()?;
        if ip.upper_protocol() != Protocol::ICMPV6 || ip.is_fragment() {
            return None;
        }
        let icmp = icmpv6::Packet::new_checked(ip.upper_payload()).ok()?;
        if icmp.msg_type() == MLD_QUERY {
            self.query_heard(now);
            return None;
        }
        match icmpv6::Repr::parse(&icmp, ip.src(), ip.dst()).ok()? {
            icmpv6::Repr::NeighborSolicit { target, lladdr } if target == ours => {
                if let Some(l) = lladdr {
                    self.neighbour_seen(port, IpAddr::V6(ip.src()), l, now);
                }
                reply::neighbor_advert(data, mac, &mut self.scratch).ok()
            }
            icmpv6::Repr::NeighborAdvert { target, lladdr, .. } => {
                // RFC 4861 §7.1.2: an advert must come with hop limit 255.
                if ip.hop_limit() == 255 {
                    let l = lladdr.unwrap_or(src_mac);
                    self.neighbour_seen(port, IpAddr::V6(target), l, now);
                }
                None
            }
            icmpv6::Repr::EchoRequest { ident, seq, data } if ip.dst() == ours => {
                let reply = icmpv6::Repr::EchoReply { ident, seq, data };
                reply::icmpv6_frame(&mut self.scratch, src_mac, mac, ours, ip.src(), TTL, &reply)
                    .ok()
            }
            _ => None,
        }
    }

    /// A membership query was heard: report within a second (at most one
    /// report a second however many queries come).
    fn query_heard(&mut self, now: Instant) {
        let soon = now + std::time::Duration::from_secs(1);
        if self.next_report.map_or(true, |t| t > soon) {
            self.next_report = Some(soon);
        }
    }
}
