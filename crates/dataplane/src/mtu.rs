//! Path MTU for tunnelled traffic. nvo never fragments a tunnel packet
//! (RFC 7348 section 4.3); a frame too big once encapsulated is dropped,
//! and when it is an IPv4 packet with DF set, or an IPv6 packet, the
//! sending VM is told the MTU it can use (ICMP "fragmentation needed",
//! RFC 1191; ICMPv6 Packet Too Big, RFC 8201), at most so many a second.
//! The message comes from the packet's own destination, so that it reaches
//! the sender the way an answer from its peer would.

use std::net::{Ipv4Addr, Ipv6Addr};

use nvo_packet::ethernet::MacAddr;
use nvo_packet::reply;

use crate::frame::Frame;

const ETH_LEN: usize = 14;

/// Whether the frame is one that may be answered with an ICMP error:
/// IPv4 with DF, or IPv6; never an ICMP error itself (RFC 1122 section
/// 3.2.2, RFC 4443 section 2.4 (e)) nor a non-first fragment.
#[inline]
pub fn wants_error(frame: &[u8]) -> bool {
    let Some(ip) = frame.get(ETH_LEN..) else {
        return false;
    };
    match (frame[12], frame[13]) {
        (0x08, 0x00) if ip.len() >= 20 => {
            let df = ip[6] & 0x40 != 0;
            let offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let icmp_error = ip[9] == 1 && ip.get(ihl).is_some_and(|&t| is_icmpv4_error(t));
            df && offset == 0 && !icmp_error
        }
        (0x86, 0xdd) if ip.len() >= 40 => !(ip[6] == 58 && ip.get(40).is_some_and(|&t| t < 128)),
        _ => false,
    }
}

fn is_icmpv4_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// Turns `frame`, a copy of the frame that did not fit, into the ICMP error
/// for its sender announcing `mtu` (the largest IP packet the VM can send).
/// Returns `false` when the frame cannot be answered.
pub fn build_error<F: Frame>(frame: &mut F, mtu: usize) -> bool {
    let mut out = [0u8; 1400];
    let data = frame.data();
    if data.len() < ETH_LEN + 20 {
        return false;
    }
    let mut from_mac = [0u8; 6];
    from_mac.copy_from_slice(&data[0..6]);
    let from_mac = MacAddr(from_mac);
    let ip = &data[ETH_LEN..];
    let n = match (data[12], data[13]) {
        (0x08, 0x00) => {
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
            reply::icmpv4_frag_needed(data, mtu, dst, from_mac, &mut out)
        }
        (0x86, 0xdd) if ip.len() >= 40 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&ip[24..40]);
            let mtu = u32::try_from(mtu).unwrap_or(u32::MAX);
            reply::icmpv6_packet_too_big(data, mtu, Ipv6Addr::from(a), from_mac, &mut out)
        }
        _ => return false,
    };
    let Ok(n) = n else {
        return false;
    };
    let len = frame.len();
    let resized = if n <= len {
        frame.trim(len - n)
    } else {
        frame.append(n - len).is_some()
    };
    if !resized {
        return false;
    }
    match frame.data_mut().get_mut(..n) {
        Some(d) => {
            d.copy_from_slice(&out[..n]);
            true
        }
        None => false,
    }
}

/// A token bucket over the cycle counter: at most `rate` tokens a second,
/// with a burst of the same size.
#[derive(Debug)]
pub struct RateLimit {
    rate: u32,
    tokens: u32,
    last: u64,
    /// Cycles per token; 0 until the first `take` calibrates nothing: the
    /// caller's cycle counter runs at `hz`.
    cycles_per_token: u64,
}

/// The cycle counter's assumed frequency when none is given: the pipeline
/// is told the real one by [`RateLimit::set_hz`].
const DEFAULT_HZ: u64 = 2_000_000_000;

impl RateLimit {
    /// At most `rate` events a second.
    pub fn new(rate: u32) -> RateLimit {
        let mut r = RateLimit {
            rate,
            tokens: rate,
            last: 0,
            cycles_per_token: 0,
        };
        r.set_hz(DEFAULT_HZ);
        r
    }

    /// Tells the limiter how fast the cycle counter passed to `take` runs.
    pub fn set_hz(&mut self, hz: u64) {
        self.cycles_per_token = hz / u64::from(self.rate.max(1));
    }

    /// Changes the rate, keeping the tokens already earned.
    pub fn set_rate(&mut self, rate: u32) {
        let hz = self.cycles_per_token * u64::from(self.rate.max(1));
        self.rate = rate;
        self.tokens = self.tokens.min(rate);
        self.set_hz(hz);
    }

    /// Takes a token at cycle count `now`, if there is one.
    pub fn take(&mut self, now: u64) -> bool {
        if self.rate == 0 {
            return false;
        }
        let earned = now.saturating_sub(self.last) / self.cycles_per_token.max(1);
        if earned > 0 {
            self.tokens = (u64::from(self.tokens) + earned).min(u64::from(self.rate)) as u32;
            self.last = now;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_refills_with_time() {
        let mut r = RateLimit::new(2);
        r.set_hz(1000);
        assert!(r.take(0));
        assert!(r.take(0));
        assert!(!r.take(0));
        assert!(r.take(500));
        assert!(!r.take(500));
        assert!(r.take(5000));
    }

    #[test]
    fn zero_rate_never_allows() {
        let mut r = RateLimit::new(0);
        assert!(!r.take(u64::MAX));
    }
}
