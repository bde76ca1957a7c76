//! Tests of the control thread over `VecFrame`s. What the control thread
//! transmits is captured by [`Recorder`] for assertions.
//!
//! The switch: VM ports blue1 (0), red1 (1) and a gateway port gw (2)
//! carrying blue on VLAN 100 and red on VLAN 200, then the uplink up0 (3).
//! blue and red hold the same MAC addresses.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use nvo_dataplane::events::Punted;
use nvo_dataplane::{Frame, VecFrame};
use nvo_packet::ecn::Ecn;
use nvo_packet::ethernet::{EtherType, MacAddr};
use nvo_packet::ip::Protocol;
use nvo_packet::{arp, icmpv4, icmpv6, ipv4, ipv6, reply};

use super::neighbours::eth;
use super::{ControlPlane, Transmit, WorkerLink};
use crate::config::Config;

mod build;
mod learning;
mod mgmt;
mod neighbours;
mod pipeline;
mod responder;

pub(super) const CONFIG: &str = r#"
[switch]
aging_secs = 30
icmp_rate = 50

[[uplink]]
name = "up0"
device = "net_null0"
ipv4 = "198.18.0.1/24"
ipv6 = "2001:db8::1/64"
gateway4 = "198.18.0.254"
mtu = 1600

[[vm_port]]
name = "blue1"
socket = "/tmp/blue1.sock"
domain = "blue"
learn_limit = 2

[[vm_port]]
name = "red1"
socket = "/tmp/red1.sock"
domain = "red"
learn_limit = 2
mac_limit_action = "drop"

[[vm_port]]
name = "gw"
socket = "/tmp/gw.sock"
vlan_map = { 200 = "red", 100 = "blue" }

[[domain]]
name = "blue"
vni = 5000
flood = ["198.18.0.2", "203.0.113.9"]

[[domain]]
name = "red"
vni = 6000
tunnel = "geneve"
flood = ["2001:db8::2"]

[[domain]]
name = "green"
vni = 7000
tunnel = "nvgre"
group = "239.1.1.7"

[[domain]]
name = "violet"
vni = 8000
group = "ff0e::1:7"

[[mac]]
domain = "blue"
mac = "52:54:00:00:00:01"
port = "blue1"
ip = "10.0.0.1"

[[mac]]
domain = "red"
mac = "52:54:00:00:00:01"
port = "red1"

[[mac]]
domain = "blue"
mac = "52:54:00:00:00:02"
vtep = "198.18.0.2"
"#;

pub(super) const BLUE: u16 = 0;
pub(super) const RED: u16 = 1;
pub(super) const BLUE1: u16 = 0;
pub(super) const RED1: u16 = 1;
pub(super) const GW: u16 = 2;
pub(super) const UP: u16 = 3;
pub(super) const OUR_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);
pub(super) const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x22]);
pub(super) const ROUTER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xfe]);
pub(super) const STATIC1: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
pub(super) const STATIC2: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 2]);

pub(super) fn our4() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 1)
}
pub(super) fn peer4() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 2)
}
pub(super) fn router4() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 254)
}
pub(super) fn our6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}
pub(super) fn peer6() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}
pub(super) fn mac(n: u8) -> MacAddr {
    MacAddr([0x52, 0x54, 0, 0, 1, n])
}

/// Frames the control thread sent, by port.
pub(super) type Sent = Rc<RefCell<Vec<(u16, VecFrame)>>>;

/// Records every frame the control thread sends; refuses them all when
/// `refuse` is set, as a full transmit queue would.
pub(super) struct Recorder {
    pub(super) sent: Sent,
}

impl Transmit<VecFrame> for Recorder {
    fn alloc(&mut self) -> Option<VecFrame> {
        Some(VecFrame::new(&[]))
    }

    fn send(&mut self, port: u16, frame: VecFrame) -> bool {
        self.sent.borrow_mut().push((port, frame));
        true
    }
}

pub(super) type Plane = ControlPlane<VecFrame, Recorder>;

pub(super) struct Rig {
    pub(super) plane: Plane,
    pub(super) links: Vec<WorkerLink<VecFrame>>,
    pub(super) sent: Sent,
    pub(super) t0: Instant,
}

impl Rig {
    pub(super) fn new() -> Rig {
        Rig::with(CONFIG)
    }

    pub(super) fn with(text: &str) -> Rig {
        let cfg = Config::from_str(text, "test.toml").unwrap();
        let sent = Sent::default();
        let tx = Recorder { sent: sent.clone() };
        let (plane, links) = ControlPlane::new(cfg, 2, &[OUR_MAC], tx).unwrap();
        Rig {
            plane,
            links,
            sent,
            t0: Instant::now(),
        }
    }

    /// Polls at `secs` seconds after the rig's start.
    pub(super) fn poll_at(&mut self, secs: f64) -> usize {
        self.plane.poll(self.t0 + Duration::from_secs_f64(secs))
    }

    /// Takes the frames sent so far.
    pub(super) fn take(&self) -> Vec<(u16, Vec<u8>)> {
        self.sent
            .borrow_mut()
            .drain(..)
            .map(|(p, f)| (p, f.data().to_vec()))
            .collect()
    }

    /// Hands `frame` to the control thread as worker 1 would.
    pub(super) fn punt(&self, port: u16, frame: &[u8]) {
        let p = Punted {
            port,
            frame: VecFrame::new(frame),
        };
        assert!(self.links[1].chan.punt.push(p).is_ok());
    }
}

/// An ARP message in an Ethernet frame.
pub(super) fn arp_frame(
    op: arp::Operation,
    dst: MacAddr,
    sender: (MacAddr, Ipv4Addr),
    target: (MacAddr, Ipv4Addr),
) -> Vec<u8> {
    let mut out = vec![0; 42];
    let at = eth(&mut out, dst, sender.0, EtherType::ARP).unwrap();
    arp::Repr {
        operation: op,
        sender_mac: sender.0,
        sender_ip: sender.1,
        target_mac: target.0,
        target_ip: target.1,
    }
    .emit(&mut out[at..])
    .unwrap();
    out
}

/// An ICMPv6 message in an IPv6 packet in an Ethernet frame.
pub(super) fn icmpv6_frame(
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    msg: &icmpv6::Repr<'_>,
) -> Vec<u8> {
    let mut out = vec![0; 200];
    let len = reply::icmpv6_frame(&mut out, dst_mac, src_mac, src, dst, hop_limit, msg).unwrap();
    out.truncate(len);
    out
}

/// An ICMPv4 message in an IPv4 packet in an Ethernet frame.
pub(super) fn icmpv4_frame(
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    msg: &icmpv4::Repr<'_>,
) -> Vec<u8> {
    let mut out = vec![0; 14 + 20 + msg.len()];
    let at = eth(&mut out, dst_mac, src_mac, EtherType::IPV4).unwrap();
    let r = ipv4::Repr {
        src,
        dst,
        protocol: Protocol::ICMP,
        payload_len: msg.len() as u16,
        ttl: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 7,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let at = at + r.emit(&mut out[at..]).unwrap();
    msg.emit(&mut out[at..]).unwrap();
    out
}

/// The ARP reply of the peer VTEP (or the router) to our request.
pub(super) fn arp_reply_from(mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    arp_frame(arp::Operation::REPLY, OUR_MAC, (mac, ip), (OUR_MAC, our4()))
}

/// The peer's Neighbor Advertisement for `target` with `mac`.
pub(super) fn neighbor_advert_from(mac: MacAddr, target: Ipv6Addr) -> Vec<u8> {
    let na = icmpv6::Repr::NeighborAdvert {
        flags: icmpv6::NA_SOLICITED | icmpv6::NA_OVERRIDE,
        target,
        lladdr: Some(mac),
    };
    icmpv6_frame(OUR_MAC, mac, target, our6(), 255, &na)
}

/// The template's next-hop MAC of the tunnel of `domain` to `remote`, in
/// the published snapshot; `None` while unresolved.
pub(super) fn next_hop_of(plane: &Plane, domain: u16, remote: IpAddr) -> Option<MacAddr> {
    let snap = plane.snapshot();
    let t = snap.tunnel_to(domain, remote).expect("tunnel exists");
    snap.tunnel(t)?
        .template
        .as_ref()
        .map(|tpl| tpl.config().next_hop_mac)
}
