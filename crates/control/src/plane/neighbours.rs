//! Underlay next hops: every tunnel needs the MAC of the next hop toward
//! its VTEP (the VTEP itself when on-link, else the uplink's gateway). The
//! control thread resolves them with ARP requests (RFC 826) and Neighbor
//! Solicitations to the solicited-node address (RFC 4861 §7.2.2), retries
//! every second while unresolved, and asks again periodically once
//! resolved, so that a changed next hop is noticed.
//!
//! A refresh that goes unanswered is repeated every second, up to
//! [`PROBES`] times in all (as RFC 4861 §7.3.3 probes a neighbour); after
//! that the next hop is stale, which `show vteps` says, and it is asked
//! for again at the refresh period. Its MAC is kept meanwhile: a stale next
//! hop is a better guess than none, and the tunnel keeps forwarding.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use nvo_dataplane::Frame;
use nvo_packet::ethernet::{self, EtherType, MacAddr};
use nvo_packet::{arp, icmpv6, reply};

use super::{ControlPlane, Transmit};

/// Retry period of an unresolved next hop.
pub(crate) const RETRY: Duration = Duration::from_secs(1);
/// Refresh period of a resolved next hop.
pub(crate) const REFRESH: Duration = Duration::from_secs(30);

/// Unanswered requests, a second apart, after which a resolved next hop is
/// stale (RFC 4861's MAX_UNICAST_SOLICIT).
pub(crate) const PROBES: u8 = 3;

/// One next hop on one uplink.
#[derive(Debug, Clone)]
pub(crate) struct Neighbour {
    /// Its MAC, once an answer came.
    pub(crate) mac: Option<MacAddr>,
    /// When to ask next; `None`: at the next timer round.
    next_ask: Option<Instant>,
    /// Refresh requests sent since the last answer; past [`PROBES`], the
    /// next hop is stale.
    unanswered: u8,
    /// Configured (`neighbors` of the uplink): never asked, never moved.
    fixed: bool,
}

/// The next hops being resolved or kept, by (uplink port, address).
#[derive(Debug, Default)]
pub(crate) struct Neighbours {
    map: BTreeMap<(u16, IpAddr), Neighbour>,
}

impl Neighbours {
    /// The MAC of `ip` on uplink port `uplink`, if resolved.
    pub(crate) fn mac(&self, uplink: u16, ip: IpAddr) -> Option<MacAddr> {
        self.map.get(&(uplink, ip))?.mac
    }

    /// Starts resolving `ip` on `uplink` (no change if already watched);
    /// a configured MAC resolves it for good at once.
    fn watch(&mut self, uplink: u16, ip: IpAddr, fixed: Option<MacAddr>) {
        self.map.entry((uplink, ip)).or_insert(Neighbour {
            mac: fixed,
            next_ask: None,
            unanswered: 0,
            fixed: fixed.is_some(),
        });
    }

    /// Whether the resolved `ip` on `uplink` left [`PROBES`] requests in a
    /// row unanswered.
    pub(crate) fn stale(&self, uplink: u16, ip: IpAddr) -> bool {
        self.map
            .get(&(uplink, ip))
            .is_some_and(|n| n.mac.is_some() && n.unanswered > PROBES)
    }

    /// Stops resolving `ip` on `uplink`.
    fn unwatch(&mut self, uplink: u16, ip: IpAddr) {
        self.map.remove(&(uplink, ip));
    }
}

/// The solicited-node multicast address of `ip` (RFC 4291 §2.7.1).
pub(crate) fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// An ARP request from `mac`/`ip` for `target`, broadcast; returns its
/// length in `out`.
pub(crate) fn arp_request(
    mac: MacAddr,
    ip: Ipv4Addr,
    target: Ipv4Addr,
    out: &mut [u8],
) -> nvo_packet::Result<usize> {
    let at = eth(out, MacAddr::BROADCAST, mac, EtherType::ARP)?;
    let r = arp::Repr {
        operation: arp::Operation::REQUEST,
        sender_mac: mac,
        sender_ip: ip,
        target_mac: MacAddr::default(),
        target_ip: target,
    };
    Ok(at + r.emit(&mut out[at..])?)
}

/// A Neighbor Solicitation from `mac`/`ip` for `target`, to its
/// solicited-node address, with our link-layer address (RFC 4861 §4.3).
pub(crate) fn neighbor_solicit(
    mac: MacAddr,
    ip: Ipv6Addr,
    target: Ipv6Addr,
    out: &mut [u8],
) -> nvo_packet::Result<usize> {
    let dst = solicited_node(target);
    let ns = icmpv6::Repr::NeighborSolicit {
        target,
        lladdr: Some(mac),
    };
    let dst_mac = super::build::multicast_mac(dst.into());
    reply::icmpv6_frame(out, dst_mac, mac, ip, dst, 255, &ns)
}

/// An untagged Ethernet header.
pub(crate) fn eth(
    out: &mut [u8],
    dst: MacAddr,
    src: MacAddr,
    ethertype: EtherType,
) -> nvo_packet::Result<usize> {
    ethernet::Repr {
        dst,
        src,
        outer_tag: None,
        inner_tag: None,
        ethertype,
    }
    .emit(out)
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// The next hop toward `remote` from uplink `u`: the address itself
    /// when the uplink's prefix holds it, else the gateway of its family.
    pub(crate) fn next_hop(&self, u: usize, remote: IpAddr) -> Option<IpAddr> {
        let up = &self.cfg.uplinks[u];
        match remote {
            IpAddr::V4(a) if up.ipv4.is_some_and(|c| c.contains(a)) => Some(remote),
            IpAddr::V4(_) => up.gateway4.map(IpAddr::V4),
            IpAddr::V6(a) if up.ipv6.is_some_and(|c| c.contains(a)) => Some(remote),
            IpAddr::V6(_) => up.gateway6.map(IpAddr::V6),
        }
    }

    /// Starts resolving the next hop of a new tunnel to `remote` out of
    /// uplink port `port`. Groups need none: their MAC is derived.
    pub(crate) fn watch_next_hop(&mut self, port: u16, remote: IpAddr) {
        if remote.is_multicast() {
            return;
        }
        let Some(u) = self.layout.uplink(port) else {
            return;
        };
        match self.next_hop(u, remote) {
            Some(hop) => {
                let fixed = self.cfg.uplinks[u]
                    .neighbors
                    .get(&hop)
                    .map(|m| MacAddr(m.0));
                self.neighbours.watch(port, hop, fixed);
            }
            None => log::warn!(
                "VTEP {remote}: uplink {} has no route to it (no gateway of its family)",
                self.cfg.uplinks[u].name
            ),
        }
    }

    /// Stops resolving the next hop toward `remote` on uplink port `port`
    /// when no tunnel in use goes through it any more.
    pub(crate) fn unwatch_next_hop(&mut self, port: u16, remote: IpAddr) {
        let Some(u) = self.layout.uplink(port) else {
            return;
        };
        let Some(hop) = self.next_hop(u, remote) else {
            return;
        };
        let still_used = self
            .tunnels
            .iter()
            .any(|(_, t)| t.uplink == port && self.next_hop(u, t.remote) == Some(hop));
        if !still_used {
            self.neighbours.unwatch(port, hop);
        }
    }

    /// Records that `ip` on uplink port `uplink` is at `mac`, when `ip` is
    /// a watched next hop; a new or changed MAC rebuilds the templates.
    pub(crate) fn neighbour_seen(&mut self, uplink: u16, ip: IpAddr, mac: MacAddr, now: Instant) {
        if mac.is_multicast() || mac == MacAddr::default() {
            return;
        }
        let Some(n) = self.neighbours.map.get_mut(&(uplink, ip)) else {
            return;
        };
        if n.fixed {
            return;
        }
        n.next_ask = Some(now + REFRESH);
        if n.unanswered > PROBES && n.mac.is_some() {
            log::info!("next hop {ip} answers again");
        }
        n.unanswered = 0;
        if n.mac != Some(mac) {
            match n.mac {
                None => log::info!("next hop {ip} resolved to {mac:?}"),
                Some(old) => log::info!("next hop {ip} moved from {old:?} to {mac:?}"),
            }
            n.mac = Some(mac);
            self.dirty = true;
        }
    }

    /// Asks for every next hop whose timer is due; returns the requests
    /// sent.
    pub(crate) fn neighbour_timers(&mut self, now: Instant) -> usize {
        let due: Vec<(u16, IpAddr)> = self
            .neighbours
            .map
            .iter()
            .filter(|(_, n)| !n.fixed && n.next_ask.map_or(true, |t| now >= t))
            .map(|(&k, _)| k)
            .collect();
        for &(port, ip) in &due {
            if let Some(n) = self.neighbours.map.get_mut(&(port, ip)) {
                // Unresolved: every second. Resolved: at the refresh period,
                // then every second while the refresh goes unanswered, up
                // to PROBES requests; stale when the last of them went
                // unanswered too, and asked at the refresh period again.
                let wait = match n.mac {
                    None => RETRY,
                    Some(_) if n.unanswered < PROBES => {
                        n.unanswered += 1;
                        RETRY
                    }
                    Some(_) => {
                        if n.unanswered == PROBES {
                            n.unanswered += 1;
                            log::warn!("next hop {ip}: {PROBES} requests unanswered, stale");
                        }
                        REFRESH
                    }
                };
                n.next_ask = Some(now + wait);
            }
            self.solicit(port, ip);
        }
        due.len()
    }

    /// Sends one ARP request or Neighbor Solicitation for `ip` on `port`.
    fn solicit(&mut self, port: u16, ip: IpAddr) {
        let Some(u) = self.layout.uplink(port) else {
            return;
        };
        let mac = self.uplink_macs[u];
        let up = &self.cfg.uplinks[u];
        let len = match ip {
            IpAddr::V4(target) => {
                let Some(c) = up.ipv4 else { return };
                arp_request(mac, c.addr, target, &mut self.scratch)
            }
            IpAddr::V6(target) => {
                let Some(c) = up.ipv6 else { return };
                neighbor_solicit(mac, c.addr, target, &mut self.scratch)
            }
        };
        if let Ok(len) = len {
            self.stats.solicits += 1;
            self.send_scratch(port, len);
        }
    }
}
