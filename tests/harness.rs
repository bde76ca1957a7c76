//! Self-test of the end-to-end harness (tests/common): every peer proven
//! against another real peer, before nvo forwards. Cases take the serial
//! lock: they share two cores and the hugepages.

mod common;

use common::*;
use common::{capture, frames};
use std::time::{Duration, Instant};

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("nvo-e2e-")
        .tempdir()
        .expect("temp dir")
}

fn timed(what: &str, start: Instant) {
    eprintln!("harness: {what}: {:.1} s", start.elapsed().as_secs_f64());
}

const UP: Duration = Duration::from_secs(15);

#[test]
fn vm_endpoints_through_standin_switch() {
    let _serial = serial();
    let dir = tempdir();
    for mode in [VhostMode::SwitchServer, VhostMode::SwitchClient] {
        let start = Instant::now();
        let s1 = dir.path().join(format!("{mode:?}-1.sock"));
        let s2 = dir.path().join(format!("{mode:?}-2.sock"));
        let v1 = ["192.0.2.1/24", "2001:db8:100::1/64"];
        let v2 = ["192.0.2.2/24", "2001:db8:100::2/64"];
        let (mut vm1, mut vm2, _switch);
        if mode == VhostMode::SwitchServer {
            _switch = StandInSwitch::start(dir.path(), &[&s1, &s2], false);
            vm1 = VmEndpoint::start(dir.path(), "vm1", &s1, mode, "02:00:00:00:00:01", &v1);
            vm2 = VmEndpoint::start(dir.path(), "vm2", &s2, mode, "02:00:00:00:00:02", &v2);
        } else {
            vm1 = VmEndpoint::start(dir.path(), "vm1", &s1, mode, "02:00:00:00:00:01", &v1);
            vm2 = VmEndpoint::start(dir.path(), "vm2", &s2, mode, "02:00:00:00:00:02", &v2);
            _switch = StandInSwitch::start(dir.path(), &[&s1, &s2], true);
            vm1.wait_ready().unwrap();
            vm2.wait_ready().unwrap();
        }
        vm1.ns().ping_until("192.0.2.2", UP).unwrap();
        vm1.ping("192.0.2.2", 3).unwrap();
        vm2.ping("192.0.2.1", 3).unwrap();
        vm1.ping("2001:db8:100::2", 3).unwrap();
        // The VM goes away and comes back: the switch side must take it
        // again without a restart (as nvo must).
        vm2.restart_bridge();
        vm2.wait_ready().unwrap();
        vm1.ns().ping_until("192.0.2.2", UP).unwrap();
        timed(&format!("VMs across the stand-in switch, {mode:?}"), start);
    }
}

fn kernel_vs_ovs_vxlan(v6: bool) {
    let start = Instant::now();
    let dir = tempdir();
    let (k_ul, o_ul, k_ip, o_ip) = if v6 {
        (
            "2001:db8:1::1/64",
            "2001:db8:1::2/64",
            "2001:db8:1::1",
            "2001:db8:1::2",
        )
    } else {
        ("198.18.0.1/24", "198.18.0.2/24", "198.18.0.1", "198.18.0.2")
    };
    let k = Netns::new("kvx");
    let o = Netns::new("ovx");
    let _link = VethPair::new(Some(&k), "u0", Some(&o), "u0");
    let kernel = KernelVxlanPeer::start(
        k,
        "u0",
        KernelVxlan::unicast(5000, k_ul, o_ip, "192.0.2.1/24", "02:00:00:00:01:01"),
    );
    let tunnel = OvsTunnel::Vxlan {
        vni: 5000,
        dst_port: 4789,
    };
    let ovs = OvsPeer::start(
        o,
        "u0",
        dir.path(),
        OvsConfig::new(tunnel, o_ul, k_ip, "192.0.2.2/24", "02:00:00:00:02:02"),
    );
    let cap = Capture::start(kernel.ns(), "u0", "udp port 4789", 40, 20, dir.path());
    ovs.ns().ping_until("192.0.2.1", UP).unwrap();
    ovs.ping("192.0.2.1", 3).unwrap();
    kernel.ping("192.0.2.2", 3).unwrap();
    let d = assert_dissects_clean(&cap.stop(), Encap::Vxlan);
    assert!(d.ids.iter().all(|&v| v == 5000), "VNIs {:?}", d.ids);
    timed(
        &format!(
            "kernel vxlan <-> OVS vxlan, IPv{} underlay, {} tunnel frames",
            if v6 { 6 } else { 4 },
            d.tunnelled
        ),
        start,
    );
}

#[test]
fn kernel_vxlan_with_ovs_vxlan() {
    let _serial = serial();
    kernel_vs_ovs_vxlan(false);
    kernel_vs_ovs_vxlan(true);
}

/// Two OVS instances with a veth between their namespaces.
struct OvsPair {
    a: OvsPeer,
    b: OvsPeer,
    _link: VethPair,
}

fn ovs_pair(dir: &std::path::Path, v6: bool, ta: OvsTunnel, tb: OvsTunnel) -> OvsPair {
    let (a_ul, b_ul, a_ip, b_ip) = if v6 {
        (
            "2001:db8:2::1/64",
            "2001:db8:2::2/64",
            "2001:db8:2::1",
            "2001:db8:2::2",
        )
    } else {
        ("198.18.2.1/24", "198.18.2.2/24", "198.18.2.1", "198.18.2.2")
    };
    let na = Netns::new("ova");
    let nb = Netns::new("ovb");
    let link = VethPair::new(Some(&na), "u0", Some(&nb), "u0");
    let a = OvsPeer::start(
        na,
        "u0",
        dir,
        OvsConfig::new(ta, a_ul, b_ip, "192.0.2.1/24", "02:00:00:00:00:01"),
    );
    let b = OvsPeer::start(
        nb,
        "u0",
        dir,
        OvsConfig::new(tb, b_ul, a_ip, "192.0.2.2/24", "02:00:00:00:00:02"),
    );
    OvsPair { a, b, _link: link }
}

fn ovs_pair_pings(p: &OvsPair, filter: &str, encap: Encap, dir: &std::path::Path) -> Dissection {
    let cap = Capture::start(p.a.ns(), "u0", filter, 40, 20, dir);
    p.a.ns().ping_until("192.0.2.2", UP).unwrap();
    p.a.ping("192.0.2.2", 3).unwrap();
    p.b.ping("192.0.2.1", 3).unwrap();
    assert_dissects_clean(&cap.stop(), encap)
}

#[test]
fn ovs_geneve_pair() {
    let _serial = serial();
    for v6 in [false, true] {
        let start = Instant::now();
        let dir = tempdir();
        let t = OvsTunnel::Geneve { vni: 5000 };
        let p = ovs_pair(dir.path(), v6, t, t);
        let d = ovs_pair_pings(&p, "udp port 6081", Encap::Geneve, dir.path());
        assert!(d.ids.iter().all(|&v| v == 5000), "VNIs {:?}", d.ids);
        timed(
            &format!(
                "OVS geneve <-> OVS geneve, IPv6 {v6}, {} frames",
                d.tunnelled
            ),
            start,
        );
    }
}

/// An NVGRE frame from B's underlay port to A: inner ICMP echo from
/// 192.0.2.99 to A's overlay address, GRE key `key`.
fn nvgre_probe(p: &OvsPair, key: u32, seq: u16) -> Vec<u8> {
    let inner_ip = frames::ipv4_packet(
        "192.0.2.99",
        "192.0.2.1",
        1,
        &frames::icmp_echo(0x4e56, seq, b"nvgre"),
    );
    let inner = frames::ethernet("02:00:00:00:00:01", "02:00:00:00:00:99", 0x0800, &inner_ip);
    let outer_ip = frames::ipv4_packet(
        "198.18.2.2",
        "198.18.2.1",
        47,
        &frames::gre_eth(key, &inner),
    );
    frames::ethernet(&p.a.ns().mac("u0"), &p.b.ns().mac("u0"), 0x0800, &outer_ip)
}

/// Injects a probe with `key` and reports whether A's overlay port saw it.
fn nvgre_delivered(p: &OvsPair, key: u32, seq: u16, dir: &std::path::Path) -> bool {
    let cap = Capture::start(p.a.ns(), "vm0", "icmp and src host 192.0.2.99", 1, 3, dir);
    p.b.ns().inject("u0", &[nvgre_probe(p, key, seq)]);
    dissect(&cap.finish(), Encap::Nvgre).frames > 0
}

#[test]
fn ovs_nvgre_pair() {
    let _serial = serial();
    let vsid = 5000;
    for v6 in [false, true] {
        let start = Instant::now();
        let dir = tempdir();
        let t = OvsTunnel::Nvgre {
            vsid,
            any_flowid: false,
        };
        let p = ovs_pair(dir.path(), v6, t, t);
        let d = ovs_pair_pings(&p, "ip proto 47 or ip6 proto 47", Encap::Nvgre, dir.path());
        assert!(d.ids.iter().all(|&v| v == vsid), "VSIDs {:?}", d.ids);
        assert!(
            d.flow_ids.iter().all(|&f| f == 0),
            "FlowIDs {:?}",
            d.flow_ids
        );
        if !v6 {
            // OVS matches the whole 32-bit key: a non-zero FlowID is dropped.
            assert!(
                nvgre_delivered(&p, vsid << 8, 1, dir.path()),
                "FlowID 0 must arrive"
            );
            assert!(
                !nvgre_delivered(&p, vsid << 8 | 0x42, 2, dir.path()),
                "OVS took FlowID 0x42"
            );
        }
        timed(
            &format!(
                "OVS gre (NVGRE) <-> OVS gre, IPv6 {v6}, {} frames",
                d.tunnelled
            ),
            start,
        );
    }
    // With key=flow and a masked match, A accepts any FlowID of its VSID.
    let start = Instant::now();
    let dir = tempdir();
    let any = OvsTunnel::Nvgre {
        vsid,
        any_flowid: true,
    };
    let exact = OvsTunnel::Nvgre {
        vsid,
        any_flowid: false,
    };
    let p = ovs_pair(dir.path(), false, any, exact);
    let d = ovs_pair_pings(&p, "ip proto 47", Encap::Nvgre, dir.path());
    assert!(d.ids.iter().all(|&v| v == vsid), "VSIDs {:?}", d.ids);
    assert!(
        nvgre_delivered(&p, vsid << 8 | 0x42, 3, dir.path()),
        "any_flowid dropped FlowID 0x42"
    );
    assert!(
        !nvgre_delivered(&p, (vsid + 1) << 8, 4, dir.path()),
        "any_flowid took another VSID"
    );
    timed("OVS NVGRE any FlowID", start);
}

#[test]
fn kernel_vxlan_multicast_pair() {
    let _serial = serial();
    for (group, ul1, ul2) in [
        ("239.1.1.1", "198.18.3.1/24", "198.18.3.2/24"),
        ("ff05::100", "2001:db8:3::1/64", "2001:db8:3::2/64"),
    ] {
        let start = Instant::now();
        let dir = tempdir();
        let n1 = Netns::new("kmc1");
        let n2 = Netns::new("kmc2");
        let _link = VethPair::new(Some(&n1), "u0", Some(&n2), "u0");
        let cfg = |local: &str, overlay: &str, mac: &str| KernelVxlan {
            vni: 6000,
            local: local.into(),
            remotes: vec![],
            group: Some(group.into()),
            dstport: 4789,
            overlay: vec![overlay.into()],
            mac: mac.into(),
            learning: true,
        };
        let k1 = KernelVxlanPeer::start(n1, "u0", cfg(ul1, "192.0.2.1/24", "02:00:00:00:00:01"));
        let k2 = KernelVxlanPeer::start(n2, "u0", cfg(ul2, "192.0.2.2/24", "02:00:00:00:00:02"));
        let cap = Capture::start(k1.ns(), "u0", "udp port 4789", 40, 20, dir.path());
        k1.ns().ping_until("192.0.2.2", UP).unwrap();
        k2.ping("192.0.2.1", 3).unwrap();
        let d = assert_dissects_clean(&cap.stop(), Encap::Vxlan);
        assert!(d.ids.iter().all(|&v| v == 6000), "VNIs {:?}", d.ids);
        assert!(
            d.text.contains(&format!("Destination Address: {group}"))
                || d.text.contains(&format!("Destination: {group}")),
            "no frame to the group {group}"
        );
        timed(&format!("kernel vxlan multicast {group}"), start);
    }
}

#[test]
fn etcd_serves() {
    let _serial = serial();
    let start = Instant::now();
    let dir = tempdir();
    let etcd = Etcd::start(dir.path());
    assert!(etcd.healthy());
    etcd.put("/nvo/test/domain/5000/02:00:00:00:00:01", "198.18.0.1");
    assert_eq!(
        etcd.get("/nvo/test/domain/5000/02:00:00:00:00:01")
            .as_deref(),
        Some("198.18.0.1")
    );
    etcd.delete("/nvo/test/domain/5000/02:00:00:00:00:01");
    assert_eq!(etcd.get("/nvo/test/domain/5000/02:00:00:00:00:01"), None);
    // Inside a namespace, for switches that run in namespaces.
    let ns = Netns::new("etcd");
    let inside = Etcd::start_in(&ns, "127.0.0.1", dir.path());
    assert_eq!(inside.client_url(), "http://127.0.0.1:2379");
    timed(&format!("etcd at {}", etcd.client_url()), start);
}

/// The dissection check itself: a clean hand-made VXLAN frame passes, one
/// with a wrong UDP checksum or cut short fails.
#[test]
fn dissection_check_catches_bad_frames() {
    let dir = tempdir();
    let good = frames::vxlan_ipv4_probe("198.18.0.1", "198.18.0.2", 5000, true);
    let zero = frames::vxlan_ipv4_probe("198.18.0.1", "198.18.0.2", 5000, false);
    let pcap = dir.path().join("good.pcap");
    capture::write_pcap(&pcap, &[good.clone(), zero]);
    let d = assert_dissects_clean(&pcap, Encap::Vxlan);
    assert_eq!((d.tunnelled, d.ids.clone()), (2, vec![5000, 5000]));
    assert_eq!(capture::read_pcap(&pcap)[0], good);
    assert_eq!(capture::count(&pcap, "udp.checksum == 0"), 1);

    // Geneve with a critical option, IPv6 underlay with a UDP checksum.
    let opt = frames::geneve_option(0x0102, 0x80, &[0, 0, 0, 1]);
    let inner = &good[14 + 20 + 8 + 8..];
    let g = frames::geneve_with_options(6000, &opt, true, inner);
    let u = frames::udp("2001:db8::1", "2001:db8::2", 50000, 6081, &g, true);
    let ip = frames::ipv6_packet("2001:db8::1", "2001:db8::2", 17, &u);
    let f = frames::ethernet("02:00:00:00:aa:02", "02:00:00:00:aa:01", 0x86dd, &ip);
    let pcap = dir.path().join("geneve.pcap");
    capture::write_pcap(&pcap, &[f]);
    let d = assert_dissects_clean(&pcap, Encap::Geneve);
    assert_eq!(d.ids, vec![6000]);
    assert_eq!(capture::count(&pcap, "geneve.flags.critical == 1"), 1);

    let mut bad_csum = good.clone();
    let at = 14 + 20 + 6; // the outer UDP checksum
    bad_csum[at] ^= 0xff;
    let mut cut = good.clone();
    cut.truncate(14 + 20 + 8 + 8 + 14 + 10);
    let mut bad_ip = good;
    bad_ip[14 + 10] ^= 0x01; // the outer IPv4 header checksum
    for (name, frame) in [("bad-udp", bad_csum), ("cut", cut), ("bad-ip", bad_ip)] {
        let pcap = dir.path().join(format!("{name}.pcap"));
        capture::write_pcap(&pcap, &[frame]);
        let verdict = capture::check_dissects_clean(&pcap, Encap::Vxlan);
        assert!(verdict.is_err(), "{name}: the dissection check let it pass");
    }
}

/// nvo's future place: a host namespace whose veth end `up0` (kernel kept
/// quiet on it) is read by a DPDK af_packet port. Each peer, told that the
/// VTEP 198.18.0.1 / 2001:db8:4::1 is at a made-up MAC, tunnels a ping
/// toward it; testpmd records what DPDK receives into a pcap, which must
/// dissect clean.
#[test]
fn peers_tunnel_cleanly_to_a_dpdk_uplink() {
    let _serial = serial();
    const NVO_MAC: &str = "02:00:00:00:aa:01";
    for case in ["kernel-vxlan-v4", "ovs-geneve-v6", "ovs-nvgre-v4"] {
        let start = Instant::now();
        let dir = tempdir();
        let v6 = case.ends_with("v6");
        let (vtep, peer_ul) = if v6 {
            ("2001:db8:4::1", "2001:db8:4::2/64")
        } else {
            ("198.18.4.1", "198.18.4.2/24")
        };
        let host = Netns::new("host");
        let peer_ns = Netns::new("peer");
        let link = VethPair::new(Some(&host), "up0", Some(&peer_ns), "u0");
        link.a.quiet();
        let pcap = dir.path().join(format!("{case}-dpdk.pcap"));
        let vdevs = [
            "net_af_packet0,iface=up0".to_string(),
            format!("net_pcap0,tx_pcap={}", pcap.display()),
        ];
        let mut uplink = StandInSwitch::with_vdevs(dir.path(), Some(&host), &vdevs);
        // The peers stay up until testpmd has stopped.
        let (mut _kernel, mut _ovs) = (None, None);
        let encap = if case.starts_with("kernel") {
            let cfg =
                KernelVxlan::unicast(5000, peer_ul, vtep, "192.0.2.2/24", "02:00:00:00:00:02");
            let k = KernelVxlanPeer::start(peer_ns, "u0", cfg);
            k.set_neighbor(vtep, NVO_MAC);
            let _ = k.ping("192.0.2.1", 2);
            _kernel = Some(k);
            Encap::Vxlan
        } else {
            let (t, e) = if v6 {
                (OvsTunnel::Geneve { vni: 5000 }, Encap::Geneve)
            } else {
                (
                    OvsTunnel::Nvgre {
                        vsid: 5000,
                        any_flowid: false,
                    },
                    Encap::Nvgre,
                )
            };
            let cfg = OvsConfig::new(t, peer_ul, vtep, "192.0.2.2/24", "02:00:00:00:00:02");
            let o = OvsPeer::start(peer_ns, "u0", dir.path(), cfg);
            o.set_neighbor(vtep, NVO_MAC);
            let _ = o.ping("192.0.2.1", 2);
            _ovs = Some(o);
            e
        };
        uplink.stop();
        let d = assert_dissects_clean(&pcap, encap);
        assert!(d.ids.iter().all(|&v| v == 5000), "{case}: ids {:?}", d.ids);
        timed(
            &format!(
                "{case} -> DPDK af_packet uplink, {} tunnel frames",
                d.tunnelled
            ),
            start,
        );
    }
}
