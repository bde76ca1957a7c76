//! The per-frame steps of the pipeline that look at one frame alone:
//! classifying a tenant frame, VLAN tags, recognising control frames and
//! multicast tunnel packets, answering ARP/ND for known tenant addresses.

use std::net::IpAddr;

use nvo_packet::ethernet::{EtherType, MacAddr};
use nvo_packet::reply;

use crate::counters::Discard;
use crate::frame::Frame;
use crate::state::{Domain, Snapshot, VmPort};

pub(crate) const ETH_LEN: usize = 14;
const TAG_LEN: usize = 4;
const TPID_8021Q: u16 = 0x8100;

/// Stage 1 for a tenant frame: its domain, with the selecting VLAN tag
/// removed.
#[inline]
pub(crate) fn classify_vm<F: Frame>(
    snap: &Snapshot,
    vm: &VmPort,
    frame: &mut F,
) -> Result<u16, Discard> {
    let data = frame.data();
    if data.len() < ETH_LEN {
        return Err(Discard::Runt);
    }
    if data[6] & 1 != 0 {
        return Err(Discard::BadSourceMac);
    }
    let et = u16::from_be_bytes([data[12], data[13]]);
    if EtherType(et).is_tag() {
        if !vm.vlans.is_empty() && et == TPID_8021Q {
            if data.len() < ETH_LEN + TAG_LEN {
                return Err(Discard::Runt);
            }
            let vid = u16::from_be_bytes([data[14], data[15]]) & 0x0fff;
            let domain = vm.domain_of_vlan(vid).ok_or(Discard::NoDomain)?;
            if !pop_tag(frame) {
                return Err(Discard::Runt);
            }
            return Ok(domain);
        }
        let domain = vm.domain.ok_or(Discard::NoDomain)?;
        if !snap.domains[usize::from(domain)].keep_inner_tags {
            return Err(Discard::VmTagged);
        }
        return Ok(domain);
    }
    vm.domain.ok_or(Discard::NoDomain)
}

/// Rewrites an ARP request or Neighbor Solicitation for an address of
/// `dom` whose MAC configuration gives into the answer, in the same
/// buffer. False, and the frame untouched, for anything else.
#[cold]
pub(crate) fn answer_locally<F: Frame>(dom: &Domain, frame: &mut F) -> bool {
    let mut out = [0u8; 128];
    let data = frame.data();
    let n = match (data.get(12), data.get(13)) {
        (Some(0x08), Some(0x06)) => {
            let Some(t) = data.get(ETH_LEN + 24..ETH_LEN + 28) else {
                return false;
            };
            let target = IpAddr::from([t[0], t[1], t[2], t[3]]);
            match dom.neighbor(target) {
                Some(mac) => reply::arp_reply(data, mac, &mut out),
                None => return false,
            }
        }
        // ICMPv6 type 135 right after the IPv6 header: a solicitation.
        (Some(0x86), Some(0xdd))
            if data.get(ETH_LEN + 6) == Some(&58) && data.get(ETH_LEN + 40) == Some(&135) =>
        {
            let Some(t) = data.get(ETH_LEN + 48..ETH_LEN + 64) else {
                return false;
            };
            let mut a = [0u8; 16];
            a.copy_from_slice(t);
            match dom.neighbor(IpAddr::from(a)) {
                Some(mac) => reply::neighbor_advert(data, mac, &mut out),
                None => return false,
            }
        }
        _ => return false,
    };
    let Ok(n) = n else {
        return false;
    };
    let len = frame.len();
    let fits = if n <= len {
        frame.trim(len - n)
    } else {
        frame.append(n - len).is_some()
    };
    match frame.data_mut().get_mut(..n) {
        Some(d) if fits => {
            d.copy_from_slice(&out[..n]);
            true
        }
        _ => false,
    }
}

/// Removes the outer 802.1Q tag: the MACs move up four bytes. False when
/// the frame cannot be written.
#[inline]
fn pop_tag<F: Frame>(frame: &mut F) -> bool {
    let d = frame.data_mut();
    if d.len() < ETH_LEN + TAG_LEN {
        return false;
    }
    d.copy_within(0..12, TAG_LEN);
    frame.adj(TAG_LEN)
}

/// Inserts an 802.1Q tag with `vid` after the MACs.
#[inline]
pub(crate) fn push_tag<F: Frame>(frame: &mut F, vid: u16) -> bool {
    let Some(d) = frame.prepend(TAG_LEN) else {
        return false;
    };
    d.copy_within(TAG_LEN..TAG_LEN + 12, 0);
    d[12..14].copy_from_slice(&TPID_8021Q.to_be_bytes());
    d[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
    true
}

#[inline(always)]
pub(crate) fn mac_at(data: &[u8], at: usize) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&data[at..at + 6]);
    MacAddr(m)
}

#[inline(always)]
pub(crate) fn is_tagged(data: &[u8]) -> bool {
    data.len() >= ETH_LEN && EtherType(u16::from_be_bytes([data[12], data[13]])).is_tag()
}

#[inline(always)]
pub(crate) fn is_multicast_src(data: &[u8]) -> bool {
    data.len() < ETH_LEN || data[6] & 1 != 0
}

/// Whether an uplink frame that is not a tunnel frame is for the control
/// plane: ARP, ICMP, IGMP (queries for the domains' groups) or ICMPv6
/// (neighbour discovery and MLD included).
#[inline]
pub(crate) fn is_control(data: &[u8]) -> bool {
    if data.len() < ETH_LEN {
        return false;
    }
    match u16::from_be_bytes([data[12], data[13]]) {
        0x0806 => true,
        0x0800 => matches!(data.get(ETH_LEN + 9), Some(&1 | &2)),
        // MLD queries come behind a hop-by-hop header (router alert).
        0x86dd => match data.get(ETH_LEN + 6) {
            Some(&58) => true,
            Some(&0) => data.get(ETH_LEN + 40) == Some(&58),
            _ => false,
        },
        _ => false,
    }
}

/// The outer destination of an untagged IPv4 or IPv6 packet, when it is a
/// multicast address.
#[cold]
pub(crate) fn multicast_dst(data: &[u8]) -> Option<IpAddr> {
    let dst = match (data.get(12)?, data.get(13)?) {
        (0x08, 0x00) => {
            let a: [u8; 4] = data.get(ETH_LEN + 16..ETH_LEN + 20)?.try_into().ok()?;
            IpAddr::from(a)
        }
        (0x86, 0xdd) => {
            let a: [u8; 16] = data.get(ETH_LEN + 24..ETH_LEN + 40)?.try_into().ok()?;
            IpAddr::from(a)
        }
        _ => return None,
    };
    dst.is_multicast().then_some(dst)
}
