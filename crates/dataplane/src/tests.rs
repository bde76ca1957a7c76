//! Pipeline tests over `VecFrame`s: one switch with two domains that use
//! the very same MAC and IP addresses, an uplink toward two remote VTEPs.
//!
//! Ports: 0 vm-a (blue), 1 vm-b (blue), 2 vm-a' (red), 3 vm-b' (red),
//! 4 uplink, 5 a gateway port carrying blue as VLAN 100 and red as 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arc_swap::ArcSwap;
use nvo_packet::decap;
use nvo_packet::ecn::Ecn;
use nvo_packet::ethernet::{EtherType, MacAddr, Repr as Eth};
use nvo_packet::ip::Protocol;
use nvo_packet::template::{Config as TplConfig, Template, TunnelKind};
use nvo_packet::{ipv4, ipv6, udp};
use nvo_table::{Dest, Key, Lifetime, Writer};

use crate::counters::{Counters, Discard};
use crate::events::{Channels, Location};
use crate::frame::{Frame, VecFrame};
use crate::pipeline::Pipeline;
use crate::state::{Domain, Member, Port, PortKind, Snapshot, Tunnel, Uplink, VmPort};

const BLUE: u16 = 0;
const RED: u16 = 1;
const UPLINK: u16 = 4;
const GATEWAY: u16 = 5;
const A: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x0a]);
const B: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x0b]);
const R: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x0c]); // behind a remote VTEP
const UNKNOWN: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0xee]);
const UPLINK_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);
const GW_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xfe]);

fn local() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 1)
}

fn remote(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, n)
}

struct Switch {
    pipe: Pipeline<VecFrame>,
    table: Writer,
    counters: Arc<Counters>,
    chan: Arc<Channels<VecFrame>>,
    snap: Snapshot,
    shared: Arc<ArcSwap<Snapshot>>,
}

fn template(kind: TunnelKind, vni: u32, from: Ipv4Addr, to: Ipv4Addr) -> Template {
    let cfg = TplConfig::new(kind, from.into(), to.into(), UPLINK_MAC, GW_MAC, vni);
    Template::new(&cfg).unwrap()
}

fn tunnel(domain: u16, vni: u32, kind: TunnelKind, n: u8) -> Tunnel {
    Tunnel {
        domain,
        remote: remote(n).into(),
        vtep: u32::from(n),
        uplink: UPLINK,
        template: Some(template(kind, vni, local(), remote(n))),
    }
}

fn switch(kind: TunnelKind) -> Switch {
    let mut snap = Snapshot::new(decap::Config::new(Some(local()), None));
    let vm = |domain| Port {
        kind: PortKind::Vm(VmPort {
            domain: Some(domain),
            vlans: vec![],
        }),
        up: true,
    };
    snap.ports = vec![
        vm(BLUE),
        vm(BLUE),
        vm(RED),
        vm(RED),
        Port {
            kind: PortKind::Uplink(Uplink {
                mtu: 1500,
                mac: UPLINK_MAC,
            }),
            up: true,
        },
        Port {
            kind: PortKind::Vm(VmPort {
                domain: None,
                vlans: vec![(100, BLUE), (200, RED)],
            }),
            up: true,
        },
    ];
    let member = |port| Member { port, vlan: None };
    snap.domains = vec![
        Domain {
            vni: 5000,
            kind,
            port: kind.default_port(),
            learning: true,
            keep_inner_tags: false,
            members: vec![
                member(0),
                member(1),
                Member {
                    port: GATEWAY,
                    vlan: Some(100),
                },
            ],
            flood: vec![0, 1],
            neighbors: vec![],
        },
        Domain {
            vni: 6000,
            kind,
            port: kind.default_port(),
            learning: true,
            keep_inner_tags: false,
            members: vec![
                member(2),
                member(3),
                Member {
                    port: GATEWAY,
                    vlan: Some(200),
                },
            ],
            flood: vec![2],
            neighbors: vec![],
        },
    ];
    snap.tunnels = vec![
        Some(tunnel(BLUE, 5000, kind, 2)),
        Some(tunnel(BLUE, 5000, kind, 3)),
        Some(tunnel(RED, 6000, kind, 2)),
    ];
    snap.reindex();
    let shared = Arc::new(ArcSwap::from_pointee(snap.clone()));
    let table = Writer::new(1024).unwrap();
    let counters = Arc::new(Counters::new(8, 4, 8));
    let chan = Arc::new(Channels::new(64, 64));
    let pipe = Pipeline::new(
        Arc::clone(&shared),
        table.reader(),
        Arc::clone(&counters),
        Arc::clone(&chan),
        64,
    );
    Switch {
        pipe,
        table,
        counters,
        chan,
        snap,
        shared,
    }
}

impl Switch {
    fn map(&mut self, domain: u16, mac: MacAddr, dest: Dest) {
        self.table
            .insert(Key::new(domain, mac.0), dest, Lifetime::Static)
            .unwrap();
    }

    fn send(&mut self, port: u16, frames: Vec<VecFrame>) {
        self.pipe.process(port, frames, 0);
    }

    /// Takes what the burst queued for `port`, accounting it as sent.
    fn take(&mut self, port: u16) -> Vec<VecFrame> {
        let out = std::mem::take(self.pipe.output(port).unwrap());
        let bytes = out.iter().map(|f| f.len() as u64).sum();
        self.pipe.finish_port(port, out.len() as u64, bytes);
        out
    }

    fn take_all(&mut self) -> Vec<(u16, VecFrame)> {
        let ports: Vec<u16> = self.pipe.ports_with_output().collect();
        let mut all = vec![];
        for p in ports {
            all.extend(self.take(p).into_iter().map(|f| (p, f)));
        }
        all
    }

    fn dropped(&self, reason: Discard) -> u64 {
        self.counters.drops[reason.index()].get()
    }

    fn assert_conserved(&self) {
        let t = self.counters.totals();
        assert!(t.conserved(), "frames not conserved: {t:?}");
    }

    fn publish(&mut self) {
        self.snap.reindex();
        self.shared.store(Arc::new(self.snap.clone()));
        self.pipe.refresh();
    }
}

/// An IPv4/UDP frame between the tenant addresses 10.0.0.1 and 10.0.0.2,
/// `payload` bytes of UDP payload, DF as given.
fn udp4(dst: MacAddr, src: MacAddr, payload: usize, df: bool) -> VecFrame {
    let tenant = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    ip4(dst, src, tenant, Protocol::UDP, payload, df)
}

/// An IPv4 frame with a UDP header (whatever `protocol` says) and
/// `payload` bytes after it.
fn ip4(
    dst: MacAddr,
    src: MacAddr,
    addrs: (Ipv4Addr, Ipv4Addr),
    protocol: Protocol,
    payload: usize,
    df: bool,
) -> VecFrame {
    let mut buf = vec![0u8; 14 + 20 + 8 + payload];
    Eth {
        dst,
        src,
        outer_tag: None,
        inner_tag: None,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut buf)
    .unwrap();
    let ip = ipv4::Repr {
        src: addrs.0,
        dst: addrs.1,
        protocol,
        payload_len: (8 + payload) as u16,
        ttl: 64,
        dscp: 0,
        ecn: Ecn::Ect0,
        ident: 7,
        dont_frag: df,
        more_frags: false,
        frag_offset: 0,
    };
    ip.emit(&mut buf[14..]).unwrap();
    for (i, b) in buf[42..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let u = udp::Repr {
        src_port: 1000,
        dst_port: 2000,
        payload_len: payload as u16,
    };
    let addrs = Some((IpAddr::from(ip.src), IpAddr::from(ip.dst)));
    u.emit(&mut buf[34..], addrs).unwrap();
    VecFrame::new(&buf)
}

fn udp6(dst: MacAddr, src: MacAddr, payload: usize) -> VecFrame {
    let mut buf = vec![0u8; 14 + 40 + 8 + payload];
    Eth {
        dst,
        src,
        outer_tag: None,
        inner_tag: None,
        ethertype: EtherType::IPV6,
    }
    .emit(&mut buf)
    .unwrap();
    let (s, d): (Ipv6Addr, Ipv6Addr) = (
        "2001:db8:100::1".parse().unwrap(),
        "2001:db8:100::2".parse().unwrap(),
    );
    ipv6::Repr {
        src: s,
        dst: d,
        next_header: Protocol::UDP,
        payload_len: (8 + payload) as u16,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label: 0,
    }
    .emit(&mut buf[14..])
    .unwrap();
    let u = udp::Repr {
        src_port: 1000,
        dst_port: 2000,
        payload_len: payload as u16,
    };
    u.emit(&mut buf[54..], Some((s.into(), d.into()))).unwrap();
    VecFrame::new(&buf)
}

/// Encapsulates `inner` as remote VTEP `n` would toward us.
fn from_remote(kind: TunnelKind, vni: u32, n: u8, inner: &VecFrame) -> VecFrame {
    let tpl = template(kind, vni, remote(n), local());
    let mut f = inner.clone();
    let buf = f.prepend(tpl.len()).unwrap();
    tpl.encap(buf, 0x1234_5678).unwrap();
    // The remote's outer Ethernet header is addressed to our uplink.
    f.data_mut()[..6].copy_from_slice(&UPLINK_MAC.0);
    f
}

fn tag(frame: &VecFrame, vid: u16) -> VecFrame {
    let d = frame.data();
    let mut t = d[..12].to_vec();
    t.extend_from_slice(&[0x81, 0x00]);
    t.extend_from_slice(&vid.to_be_bytes());
    t.extend_from_slice(&d[12..]);
    VecFrame::new(&t)
}

const KINDS: [TunnelKind; 3] = [TunnelKind::Vxlan, TunnelKind::Nvgre, TunnelKind::Geneve];

#[test]
fn known_local_unicast_goes_to_its_port_only() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, B, Dest::Local(1));
    let f = udp4(B, A, 18, false);
    s.send(0, vec![f.clone()]);
    assert_eq!(s.take_all(), vec![(1, f)]);
    s.assert_conserved();
}

#[test]
fn domains_with_identical_addresses_never_leak() {
    let mut s = switch(TunnelKind::Vxlan);
    // The same MAC B lives in both domains, on different ports.
    s.map(BLUE, B, Dest::Local(1));
    s.map(RED, B, Dest::Local(3));
    let f = udp4(B, A, 18, false);
    s.send(0, vec![f.clone()]);
    assert_eq!(s.take_all(), vec![(1, f.clone())]);
    s.send(2, vec![f.clone()]);
    assert_eq!(s.take_all(), vec![(3, f.clone())]);
    // Unknown unicast from red floods red's members and tunnels only.
    let u = udp4(UNKNOWN, A, 18, false);
    s.send(2, vec![u]);
    let out = s.take_all();
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports, vec![3, UPLINK, GATEWAY]);
    let tunnelled = &out[1].1;
    let d = decap::decap(&decap::Config::new(Some(remote(2)), None), tunnelled.data());
    // Seen from the remote VTEP, the copy is for red's VNI, from us.
    let d = d.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.vni, 6000);
    assert_eq!(d.remote, IpAddr::from(local()));
    s.assert_conserved();
}

#[test]
fn remote_unicast_is_encapsulated_and_decapsulates_to_the_same_frame() {
    for kind in KINDS {
        let mut s = switch(kind);
        s.map(BLUE, R, Dest::Remote(1));
        let f = udp4(R, A, 100, false);
        s.send(0, vec![f.clone()]);
        let out = s.take_all();
        assert_eq!(out.len(), 1, "{kind:?}");
        assert_eq!(out[0].0, UPLINK);
        let cfg = decap::Config::new(Some(remote(3)), None);
        let d = decap::decap(&cfg, out[0].1.data()).unwrap();
        assert_eq!((d.kind, d.vni), (kind, 5000));
        assert_eq!(d.inner(out[0].1.data()), f.data(), "{kind:?}");
        assert_eq!(s.counters.vteps[3].tx_frames.get(), 1);
        s.assert_conserved();
    }
}

#[test]
fn broadcast_from_a_vm_floods_its_domain_with_head_end_replication() {
    let mut s = switch(TunnelKind::Geneve);
    let f = udp4(MacAddr::BROADCAST, A, 18, false);
    s.send(0, vec![f.clone()]);
    let out = s.take_all();
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    // Port 1, two tunnel copies, the gateway (tagged 100); never port 0.
    assert_eq!(ports, vec![1, UPLINK, UPLINK, GATEWAY]);
    assert_eq!(out[0].1, f);
    assert_eq!(out[3].1, tag(&f, 100));
    let mut remotes = vec![];
    for n in [2, 3] {
        let cfg = decap::Config::new(Some(remote(n)), None);
        for (_, o) in &out[1..3] {
            if let Ok(d) = decap::decap(&cfg, o.data()) {
                assert_eq!(d.inner(o.data()), f.data());
                remotes.push(n);
            }
        }
    }
    assert_eq!(remotes, vec![2, 3]);
    assert_eq!(s.counters.copies.get(), 3);
    s.assert_conserved();
}

#[test]
fn tunnel_frames_are_delivered_and_floods_obey_split_horizon() {
    for kind in KINDS {
        let mut s = switch(kind);
        s.map(BLUE, A, Dest::Local(0));
        let inner = udp4(A, R, 18, false);
        s.send(UPLINK, vec![from_remote(kind, 5000, 2, &inner)]);
        assert_eq!(s.take_all(), vec![(0, inner.clone())], "{kind:?}");
        assert_eq!(
            s.counters.vteps[2].rx_frames.get(),
            1,
            "counted against the sender"
        );
        // A broadcast out of the tunnel reaches the local members only.
        let bcast = udp4(MacAddr::BROADCAST, R, 18, false);
        s.send(UPLINK, vec![from_remote(kind, 5000, 2, &bcast)]);
        let ports: Vec<u16> = s.take_all().iter().map(|(p, _)| *p).collect();
        assert_eq!(ports, vec![0, 1, GATEWAY], "{kind:?}");
        // A unicast for a MAC behind another VTEP is not sent back.
        s.map(BLUE, B, Dest::Remote(1));
        s.send(
            UPLINK,
            vec![from_remote(kind, 5000, 2, &udp4(B, R, 18, false))],
        );
        assert!(s.take_all().is_empty());
        assert_eq!(s.dropped(Discard::SplitHorizon), 1);
        s.assert_conserved();
    }
}

#[test]
fn unknown_vni_is_dropped_and_counted() {
    let mut s = switch(TunnelKind::Vxlan);
    let inner = udp4(A, R, 18, false);
    s.send(
        UPLINK,
        vec![from_remote(TunnelKind::Vxlan, 7777, 2, &inner)],
    );
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::UnknownVni), 1);
    s.assert_conserved();
}

#[test]
fn the_same_vni_on_another_udp_port_or_address_is_another_domain() {
    let mut s = switch(TunnelKind::Vxlan);
    // Red carries VNI 5000 too, on port 8472; a second uplink address.
    let second = Ipv4Addr::new(198, 18, 9, 1);
    s.snap.domains[usize::from(RED)].vni = 5000;
    s.snap.domains[usize::from(RED)].port = 8472;
    s.snap.decap.vxlan_ports.insert(8472).unwrap();
    s.snap.decap.add_local(second.into()).unwrap();
    s.publish();
    s.map(BLUE, A, Dest::Local(0));
    s.map(RED, A, Dest::Local(2));
    let inner = udp4(A, R, 18, false);
    let on_port = |port, to| {
        let mut cfg = TplConfig::new(
            TunnelKind::Vxlan,
            remote(3).into(),
            to,
            UPLINK_MAC,
            GW_MAC,
            5000,
        );
        cfg.dst_port = port;
        let tpl = Template::new(&cfg).unwrap();
        let mut f = inner.clone();
        tpl.encap(f.prepend(tpl.len()).unwrap(), 0x1234_5678)
            .unwrap();
        f.data_mut()[..6].copy_from_slice(&UPLINK_MAC.0);
        f
    };
    s.send(UPLINK, vec![on_port(4789, local().into())]);
    assert_eq!(s.take_all(), vec![(0, inner.clone())]);
    s.send(UPLINK, vec![on_port(8472, second.into())]);
    assert_eq!(s.take_all(), vec![(2, inner.clone())]);
    s.send(UPLINK, vec![on_port(4790, local().into())]);
    assert!(s.take_all().is_empty());
    assert_eq!(
        s.dropped(Discard::Wire(nvo_packet::DropReason::NotOurTunnel)),
        1
    );
    s.assert_conserved();
}

#[test]
fn the_same_vni_by_another_tunnel_kind_is_another_domain() {
    let mut s = switch(TunnelKind::Vxlan);
    let inner = udp4(A, R, 18, false);
    s.send(
        UPLINK,
        vec![from_remote(TunnelKind::Geneve, 5000, 2, &inner)],
    );
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::UnknownVni), 1);
}

#[test]
fn sources_are_learned_from_ports_and_from_vteps() {
    let mut s = switch(TunnelKind::Vxlan);
    s.send(0, vec![udp4(B, A, 18, false)]);
    let ev = s.chan.learn.pop().unwrap();
    assert_eq!((ev.domain, ev.mac, ev.at), (BLUE, A, Location::Port(0)));
    s.take_all();
    s.send(
        UPLINK,
        vec![from_remote(
            TunnelKind::Vxlan,
            6000,
            3,
            &udp4(A, R, 18, false),
        )],
    );
    let ev = s.chan.learn.pop().unwrap();
    let at = Location::Vtep {
        addr: remote(3).into(),
        via: UPLINK,
    };
    assert_eq!((ev.domain, ev.mac, ev.at), (RED, R, at));
    // Once the table knows it, a fresh entry is not reported again.
    s.table
        .insert(Key::new(BLUE, A.0), Dest::Local(0), Lifetime::Learned)
        .unwrap();
    s.send(0, vec![udp4(B, A, 18, false)]);
    assert!(s.chan.learn.pop().is_none());
}

#[test]
fn too_big_ipv4_with_df_gets_fragmentation_needed_with_the_usable_mtu() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, R, Dest::Remote(0));
    // 1450 bytes of IP fit a 1500 underlay after 50 bytes of VXLAN over IPv4.
    let fits = udp4(R, A, 1450 - 28, true);
    s.send(0, vec![fits]);
    assert_eq!(s.take(UPLINK).len(), 1);
    let big = udp4(R, A, 1451 - 28, true);
    s.send(0, vec![big.clone()]);
    assert!(s.take(UPLINK).is_empty());
    let back = s.take(0);
    assert_eq!(back.len(), 1);
    let icmp = back[0].data();
    assert_eq!(&icmp[0..6], &A.0, "to the sender");
    assert_eq!(icmp[14 + 20], 3, "destination unreachable");
    assert_eq!(icmp[14 + 20 + 1], 4, "fragmentation needed");
    assert_eq!(u16::from_be_bytes([icmp[40], icmp[41]]), 1450);
    assert_eq!(s.dropped(Discard::MtuExceeded), 1);
    // Without DF the frame is only dropped.
    s.send(0, vec![udp4(R, A, 1451 - 28, false)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::MtuExceeded), 2);
    s.assert_conserved();
}

#[test]
fn too_big_ipv6_gets_packet_too_big() {
    let mut s = switch(TunnelKind::Geneve);
    s.map(BLUE, R, Dest::Remote(0));
    s.send(0, vec![udp6(R, A, 1451 - 48)]);
    assert!(s.take(UPLINK).is_empty());
    let back = s.take(0);
    assert_eq!(back.len(), 1);
    let icmp = back[0].data();
    assert_eq!(icmp[14 + 40], 2, "packet too big");
    let mtu = u32::from_be_bytes(icmp[14 + 44..14 + 48].try_into().unwrap());
    assert_eq!(mtu, 1450);
    s.assert_conserved();
}

#[test]
fn vlan_map_selects_the_domain_and_is_restored_on_the_way_back() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(RED, B, Dest::Local(3));
    s.map(RED, A, Dest::Local(GATEWAY));
    let f = udp4(B, A, 18, false);
    s.send(GATEWAY, vec![tag(&f, 200)]);
    assert_eq!(s.take_all(), vec![(3, f)]);
    let back = udp4(A, B, 18, false);
    s.send(3, vec![back.clone()]);
    assert_eq!(s.take_all(), vec![(GATEWAY, tag(&back, 200))]);
    s.send(GATEWAY, vec![tag(&back, 300)]);
    assert_eq!(s.dropped(Discard::NoDomain), 1);
    s.assert_conserved();
}

#[test]
fn tagged_frames_from_a_vm_are_dropped_as_rfc_7348_asks() {
    let mut s = switch(TunnelKind::Vxlan);
    s.send(0, vec![tag(&udp4(B, A, 18, false), 5)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::VmTagged), 1);
    let inner = tag(&udp4(A, R, 18, false), 5);
    let mut f = inner.clone();
    let tpl = {
        let mut cfg = TplConfig::new(
            TunnelKind::Vxlan,
            remote(2).into(),
            local().into(),
            UPLINK_MAC,
            GW_MAC,
            5000,
        );
        cfg.allow_inner_tags = true;
        Template::new(&cfg).unwrap()
    };
    tpl.encap(f.prepend(tpl.len()).unwrap(), 1).unwrap();
    s.send(UPLINK, vec![f]);
    assert!(s.take_all().is_empty());
    assert!(s.dropped(Discard::Wire(nvo_packet::DropReason::InnerTagged)) == 1);
    s.assert_conserved();
}

#[test]
fn hairpin_and_multicast_sources_are_dropped() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, B, Dest::Local(0));
    s.send(
        0,
        vec![
            udp4(B, A, 18, false),
            udp4(B, MacAddr::BROADCAST, 18, false),
        ],
    );
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::Hairpin), 1);
    assert_eq!(s.dropped(Discard::BadSourceMac), 1);
    s.assert_conserved();
}

#[test]
fn arp_and_icmp_on_the_uplink_go_to_the_control_thread() {
    let mut s = switch(TunnelKind::Vxlan);
    let mut arp = udp4(MacAddr::BROADCAST, R, 28, false);
    arp.data_mut()[12..14].copy_from_slice(&[0x08, 0x06]);
    let ping = ip4(
        UPLINK_MAC,
        R,
        (remote(2), local()),
        Protocol::ICMP,
        18,
        false,
    );
    s.send(UPLINK, vec![arp, ping]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.chan.punt.len(), 2);
    assert_eq!(s.chan.punt.pop().unwrap().port, UPLINK);
    s.assert_conserved();
}

#[test]
fn ports_that_are_down_and_unresolved_tunnels_drop_and_count() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, B, Dest::Local(1));
    s.map(BLUE, R, Dest::Remote(0));
    s.snap.ports[1].up = false;
    s.snap.tunnels[0].as_mut().unwrap().template = None;
    s.publish();
    s.send(0, vec![udp4(B, A, 18, false), udp4(R, A, 18, false)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::PortDown), 1);
    assert_eq!(s.dropped(Discard::UnknownVtep), 1);
    s.assert_conserved();
}

#[test]
fn a_tunnel_of_another_domain_is_never_sent_into() {
    let mut s = switch(TunnelKind::Vxlan);
    // Tunnel 2 belongs to red; a stale blue entry names it.
    assert_eq!(s.snap.tunnels[2].as_ref().unwrap().domain, RED);
    s.map(BLUE, R, Dest::Remote(2));
    s.send(0, vec![udp4(R, A, 18, false)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::UnknownVtep), 1);
    s.assert_conserved();
}

#[test]
fn refused_transmissions_are_counted_as_tx_full() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, B, Dest::Local(1));
    s.send(0, vec![udp4(B, A, 18, false), udp4(B, A, 18, false)]);
    // The transmit queue took one of the two.
    let q = s.pipe.output(1).unwrap();
    let first = q.remove(0);
    s.pipe.finish_port(1, 1, first.len() as u64);
    assert_eq!(s.dropped(Discard::TxFull), 1);
    s.assert_conserved();
}

#[test]
fn patch_ports_cross_connect_unchanged() {
    let mut s = switch(TunnelKind::Vxlan);
    s.snap.ports[0].kind = PortKind::Patch { peer: 1 };
    s.publish();
    let f = udp4(MacAddr::BROADCAST, MacAddr::BROADCAST, 5, false);
    s.send(0, vec![f.clone()]);
    assert_eq!(s.take_all(), vec![(1, f)]);
    s.assert_conserved();
}

#[test]
fn frames_injected_by_the_control_thread_are_sent_and_counted() {
    let mut s = switch(TunnelKind::Vxlan);
    let f = udp4(MacAddr::BROADCAST, UPLINK_MAC, 28, false);
    s.chan.inject.push((UPLINK, f.clone())).unwrap();
    assert_eq!(s.pipe.take_injected(), 1);
    assert_eq!(s.take_all(), vec![(UPLINK, f)]);
    assert_eq!(s.counters.generated.get(), 1);
    s.assert_conserved();
}

#[test]
fn a_source_mapped_to_drop_is_blocked() {
    let mut s = switch(TunnelKind::Vxlan);
    s.map(BLUE, A, Dest::Drop);
    s.map(BLUE, B, Dest::Local(1));
    s.send(0, vec![udp4(B, A, 18, false)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::SourceBlocked), 1);
    s.assert_conserved();
}

#[test]
fn a_blocked_source_is_reported_when_its_refresh_is_due_not_per_frame() {
    let mut s = switch(TunnelKind::Vxlan);
    s.snap.refresh_after = 5;
    s.publish();
    s.map(BLUE, B, Dest::Local(1));
    s.table
        .insert(Key::new(BLUE, A.0), Dest::Drop, Lifetime::Learned)
        .unwrap();
    s.send(0, vec![udp4(B, A, 18, false), udp4(B, A, 18, false)]);
    assert!(s.take_all().is_empty());
    assert_eq!(s.dropped(Discard::SourceBlocked), 2);
    assert!(s.chan.learn.pop().is_none());
    s.table.set_clock(5);
    s.send(0, vec![udp4(B, A, 18, false)]);
    let ev = s.chan.learn.pop().unwrap();
    assert_eq!((ev.domain, ev.mac, ev.at), (BLUE, A, Location::Port(0)));
    assert!(s.chan.learn.pop().is_none());
    s.assert_conserved();
}

#[test]
fn tunnel_packets_to_the_domains_group_are_accepted_and_others_refused() {
    let mut s = switch(TunnelKind::Vxlan);
    let group = Ipv4Addr::new(239, 1, 1, 1);
    s.snap.tunnels.push(Some(Tunnel {
        domain: RED,
        remote: group.into(),
        vtep: 7,
        uplink: UPLINK,
        template: Some(template(TunnelKind::Vxlan, 6000, local(), group)),
    }));
    s.snap.domains[usize::from(RED)].flood = vec![3];
    s.publish();
    s.map(RED, A, Dest::Local(2));
    let to_group = |vni| {
        let tpl = template(TunnelKind::Vxlan, vni, remote(2), group);
        let mut f = udp4(A, R, 18, false);
        tpl.encap(f.prepend(tpl.len()).unwrap(), 7).unwrap();
        // RFC 1112 section 6.4: the group's MAC.
        f.data_mut()[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x01, 0x01, 0x01]);
        f
    };
    s.send(UPLINK, vec![to_group(6000)]);
    assert_eq!(s.take_all(), vec![(2, udp4(A, R, 18, false))]);
    // Blue does not flood to that group: its VNI sent there is refused.
    s.send(UPLINK, vec![to_group(5000)]);
    assert!(s.take_all().is_empty());
    assert_eq!(
        s.dropped(Discard::Wire(nvo_packet::DropReason::NotOurAddress)),
        1
    );
    s.assert_conserved();
}

#[test]
fn arp_for_a_configured_address_is_answered_by_the_switch() {
    use nvo_packet::arp;
    let mut s = switch(TunnelKind::Vxlan);
    let known = Ipv4Addr::new(10, 0, 0, 2);
    s.snap.domains[usize::from(BLUE)].neighbors = vec![(known.into(), R)];
    s.publish();
    let request = |target: Ipv4Addr| {
        let mut buf = vec![0u8; 42];
        Eth {
            dst: MacAddr::BROADCAST,
            src: A,
            outer_tag: None,
            inner_tag: None,
            ethertype: EtherType::ARP,
        }
        .emit(&mut buf)
        .unwrap();
        arp::Repr {
            operation: arp::Operation::REQUEST,
            sender_mac: A,
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr::default(),
            target_ip: target,
        }
        .emit(&mut buf[14..])
        .unwrap();
        VecFrame::new(&buf)
    };
    s.send(0, vec![request(known)]);
    let out = s.take_all();
    assert_eq!(out.len(), 1, "answered, not flooded");
    assert_eq!(out[0].0, 0, "back to the asking port");
    let reply = out[0].1.data();
    assert_eq!(&reply[0..6], &A.0);
    let a = arp::Repr::parse(&arp::Packet::new_checked(&reply[14..]).unwrap()).unwrap();
    assert_eq!(a.operation, arp::Operation::REPLY);
    assert_eq!((a.sender_mac, a.sender_ip), (R, known));
    // An address nobody configured is flooded as usual.
    s.send(0, vec![request(Ipv4Addr::new(10, 0, 0, 9))]);
    assert_eq!(s.take_all().len(), 4);
    s.assert_conserved();
}

#[test]
fn runs_of_equal_keys_are_answered_like_single_lookups() {
    let mut w = Writer::new(64).unwrap();
    let k = |m: u8| Key::new(BLUE, [2, 0, 0, 0, 0, m]);
    w.insert(k(1), Dest::Local(1), Lifetime::Learned).unwrap();
    w.insert(k(2), Dest::Remote(7), Lifetime::Static).unwrap();
    let r = w.reader();
    for ids in [
        vec![1, 1, 1, 1],
        vec![1, 2, 3, 1],
        vec![3, 3, 1, 2, 2, 2, 3, 1, 1],
        vec![2; 32],
        vec![],
    ] {
        let keys: Vec<Key> = ids.iter().map(|&m| k(m)).collect();
        let mut out =
            vec![Some(nvo_table::Hit::new(Dest::Drop, Lifetime::Static, 9).unwrap()); keys.len()];
        crate::pipeline::lookup_runs(&r, &keys, &mut out);
        let want: Vec<Option<nvo_table::Hit>> = keys.iter().map(|&key| r.get(key)).collect();
        assert_eq!(out, want, "{ids:?}");
    }
}
