//! nvo against nvo (issue 5): two hosts, each an nvo in its own namespace
//! with an af_packet uplink on a veth between them, each with a VM of
//! domain 5000 ("blue") and a VM of domain 6000 ("red") that have the very
//! same MAC and IP addresses. For each tunnel kind and underlay family:
//! pings both ways in both tenants, a frame checked byte for byte across
//! the tunnel, the underlay frames dissected clean with the right VNI or
//! VSID, isolation, and frame conservation. Also: a VM whose vhost-user
//! peer goes and comes back, and path MTU.

mod common;

use common::frames;
use common::switch::{socket_path, tempdir, timed, uplink, Sniffer};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a path may take to come up (vhost-user, ARP, learning).
const UP: Duration = Duration::from_secs(30);

const MAC_A: &str = "02:00:00:00:00:01";
const MAC_B: &str = "02:00:00:00:00:02";
const IP_A: &str = "192.0.2.1";
const IP_B: &str = "192.0.2.2";
const IP6_A: &str = "2001:db8:100::1";
const IP6_B: &str = "2001:db8:100::2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Vxlan,
    Nvgre,
    Geneve,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Vxlan => "vxlan",
            Kind::Nvgre => "nvgre",
            Kind::Geneve => "geneve",
        }
    }

    fn encap(self) -> Encap {
        match self {
            Kind::Vxlan => Encap::Vxlan,
            Kind::Nvgre => Encap::Nvgre,
            Kind::Geneve => Encap::Geneve,
        }
    }

    /// Capture filter for the underlay.
    fn filter(self) -> &'static str {
        match self {
            Kind::Vxlan => "udp port 4789",
            Kind::Nvgre => "ip proto 47 or ip6 proto 47",
            Kind::Geneve => "udp port 6081",
        }
    }
}

/// The underlay addresses of hosts A and B for one family.
struct Underlay {
    a: &'static str,
    b: &'static str,
    a_cidr: &'static str,
    b_cidr: &'static str,
}

const V4: Underlay = Underlay {
    a: "198.18.0.1",
    b: "198.18.0.2",
    a_cidr: "198.18.0.1/24",
    b_cidr: "198.18.0.2/24",
};
const V6: Underlay = Underlay {
    a: "2001:db8:1::1",
    b: "2001:db8:1::2",
    a_cidr: "2001:db8:1::1/64",
    b_cidr: "2001:db8:1::2/64",
};

/// Two nvo hosts, A and B, each with a blue and a red VM; A's VMs are
/// 192.0.2.1, B's 192.0.2.2, the same in both tenants.
struct Pair {
    a_blue: VmEndpoint,
    a_red: VmEndpoint,
    b_blue: VmEndpoint,
    b_red: VmEndpoint,
    a: NvoHost,
    b: NvoHost,
    _link: VethPair,
}

/// Both uplinks carry an IPv4 and an IPv6 VTEP address; the domains'
/// flood lists name the peer in the family under test, so that the
/// tunnels run over that family.
fn pair(dir: &Path, kind: Kind, v6: bool) -> Pair {
    let na = Netns::new("hosta");
    let nb = Netns::new("hostb");
    let link = VethPair::new(Some(&na), "up0", Some(&nb), "up0");
    link.a.quiet();
    link.b.quiet();
    let spec = |me: &str, peer: &str| {
        let flood = if v6 {
            peer_of(peer, &V6)
        } else {
            peer_of(peer, &V4)
        };
        NvoSpec::new(
            Some(if me == "a" { V4.a_cidr } else { V4.b_cidr }),
            Some(if me == "a" { V6.a_cidr } else { V6.b_cidr }),
        )
        .domain(DomainSpec::new("blue", 5000, kind.name(), &[flood]))
        .domain(DomainSpec::new("red", 6000, kind.name(), &[flood]))
        .vm("blue-vm", "blue")
        .vm("red-vm", "red")
    };
    let a = NvoHost::start(na, "a", dir, &spec("a", "b"));
    let b = NvoHost::start(nb, "b", dir, &spec("b", "a"));
    let vm = |host: &NvoHost, name: &str, port: &str, mac: &str, ip: &str, ip6: &str| {
        let v4 = format!("{ip}/24");
        let v6 = format!("{ip6}/64");
        VmEndpoint::start(
            dir,
            name,
            &host.socket(port),
            VhostMode::SwitchServer,
            mac,
            &[&v4, &v6],
        )
    };
    Pair {
        a_blue: vm(&a, "a-blue", "blue-vm", MAC_A, IP_A, IP6_A),
        a_red: vm(&a, "a-red", "red-vm", MAC_A, IP_A, IP6_A),
        b_blue: vm(&b, "b-blue", "blue-vm", MAC_B, IP_B, IP6_B),
        b_red: vm(&b, "b-red", "red-vm", MAC_B, IP_B, IP6_B),
        a,
        b,
        _link: link,
    }
}

fn peer_of(peer: &str, u: &Underlay) -> &'static str {
    if peer == "a" {
        u.a
    } else {
        u.b
    }
}

/// A UDP frame from A's VM to B's VM (port 9), 100 bytes of payload
/// naming the tenant: what arrives must be exactly this.
fn probe(tenant: &str) -> Vec<u8> {
    let mut payload = format!("nvo byte for byte, tenant {tenant} ").into_bytes();
    payload.resize(100, b'.');
    let u = frames::udp(IP_A, IP_B, 40000, 9, &payload, true);
    let ip = frames::ipv4_packet(IP_A, IP_B, 17, &u);
    frames::ethernet(MAC_B, MAC_A, 0x0800, &ip)
}

/// Everything case 1 asks for one tunnel kind over one underlay family.
fn nvo_pair_case(kind: Kind, v6: bool, restart_vm: bool) {
    let start = Instant::now();
    let dir = tempdir();
    let family = if v6 { "IPv6" } else { "IPv4" };
    let what = format!("{} over {family}", kind.name());
    let mut p = pair(dir.path(), kind, v6);
    timed(&format!("{what}: setup"), start);
    // Tunnel frames from B, as they reach A, and from A, as they reach B.
    let cap_a = Capture::start(p.a.ns(), "up0", kind.filter(), 200, 60, dir.path());
    let cap_b = Capture::start(p.b.ns(), "up0", kind.filter(), 200, 60, dir.path());

    // Pings both ways, both tenants, IPv4 and IPv6 inside.
    p.a_blue.ns().ping_until(IP_B, UP).unwrap();
    p.a_red.ns().ping_until(IP_B, UP).unwrap();
    for (vm, dst) in [
        (&p.a_blue, IP_B),
        (&p.b_blue, IP_A),
        (&p.a_red, IP_B),
        (&p.b_red, IP_A),
        (&p.a_blue, IP6_B),
        (&p.b_red, IP6_A),
    ] {
        vm.ping(dst, 3)
            .unwrap_or_else(|e| panic!("{what}: {} -> {dst}: {e}", vm.ns().name()));
    }
    timed(&format!("{what}: pings"), start);

    // A frame crosses unchanged, into its own tenant only: blue's and red's
    // probes (identical but for the tenant's name in the payload) are sent
    // at once from A's VMs; each of B's VMs must receive its own tenant's,
    // byte for byte, and not the other's. A capture that missed its frame
    // (tshark under load) is retried, with the switches' counters shown;
    // three misses fail.
    let (blue_probe, red_probe) = (probe("blue"), probe("red"));
    let is_probe = |f: &Vec<u8>| f.len() > 42 && f[36..38] == [0, 9];
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sniff_blue = Sniffer::until(p.b_blue.ns(), "vm0", 8.0, b"tenant blue");
        let sniff_red = Sniffer::until(p.b_red.ns(), "vm0", 8.0, b"tenant red");
        let counters = |h: &NvoHost| {
            h.metrics()
                .into_iter()
                .filter(|(k, _)| k.starts_with("nvo_port_"))
                .map(|(k, v)| (k.trim_start_matches("nvo_port_").to_string(), v))
                .collect::<Vec<_>>()
        };
        let before = (counters(&p.a), counters(&p.b));
        p.a_blue
            .ns()
            .inject("vm0", std::slice::from_ref(&blue_probe));
        p.a_red.ns().inject("vm0", std::slice::from_ref(&red_probe));
        let a_to_b = |f: &Vec<u8>| f[..6] == frames::mac(MAC_B) && f[6..12] == frames::mac(MAC_A);
        let got_blue: Vec<_> = sniff_blue.finish().into_iter().filter(a_to_b).collect();
        let got_red: Vec<_> = sniff_red.finish().into_iter().filter(a_to_b).collect();
        for (got, own, other, tenant) in [
            (&got_blue, &blue_probe, &red_probe, "blue"),
            (&got_red, &red_probe, &blue_probe, "red"),
        ] {
            assert!(
                !got.contains(other),
                "{what}: {tenant}'s VM on B received the other tenant's probe"
            );
            for f in got.iter().filter(|f| is_probe(f)) {
                assert_eq!(
                    f,
                    own,
                    "{what}: {tenant}'s frame changed across the tunnel:\nsent {}\ngot  {}",
                    hex(own),
                    hex(f)
                );
            }
        }
        let arrived = [&got_blue, &got_red].map(|g| g.iter().filter(|f| is_probe(f)).count());
        if arrived == [1, 1] {
            break;
        }
        let diag = format!(
            "{what}: probes arrived (blue, red) {arrived:?} (attempt {attempt}); \
             port counters before/after, A: {:?} -> {:?}; B: {:?} -> {:?}; \
             frames at B's blue VM {:?}, at B's red VM {:?}; drops A:\n{}drops B:\n{}",
            before.0,
            counters(&p.a),
            before.1,
            counters(&p.b),
            got_blue.iter().map(|f| hex(f)).collect::<Vec<_>>(),
            got_red.iter().map(|f| hex(f)).collect::<Vec<_>>(),
            p.a.drops(),
            p.b.drops()
        );
        assert!(attempt < 3 && arrived.iter().all(|&n| n <= 1), "{diag}");
        eprintln!("e2e: {diag}");
    }

    // The underlay: clean tunnel frames of both VNIs, over the family
    // under test.
    let pcap_a = cap_a.stop();
    let pcap_b = cap_b.stop();
    for (pcap, from) in [(&pcap_a, "B"), (&pcap_b, "A")] {
        let d = assert_dissects_clean(pcap, kind.encap());
        let mut ids = d.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids, [5000, 6000], "{what}: VNIs/VSIDs from {from}");
        let ethertype = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let frames = read_pcap(pcap);
        assert!(
            frames.iter().all(|f| f[12..14] == ethertype),
            "{what}: tunnel frames from {from} not all over {family}"
        );
        eprintln!(
            "e2e: {what}: {} tunnel frames from {from}, clean",
            d.tunnelled
        );
    }

    // Isolation: red's VM on B goes down; red's pings from A go
    // unanswered, and blue's VM on B, with the same MAC and IP, sees none
    // of them although they reach B. Blue is idle over IPv4 meanwhile, so
    // every IPv4 or ARP frame from A's MAC there would be red's (blue's
    // VMs may still exchange IPv6 neighbour discovery, which is theirs).
    let iso = Instant::now();
    p.b_red.ns().ip(&["link", "set", "dev", "vm0", "down"]);
    timed(&format!("{what}: isolation: red's VM down"), iso);
    let red_in = "nvo_domain_from_tunnel_frames_total{domain=\"red\"}";
    let before = p.b.metric(red_in);
    let watch = Sniffer::start(p.b_blue.ns(), "vm0", 5.0);
    let red = p.a_red.ping(IP_B, 3);
    timed(&format!("{what}: isolation: red's pings"), iso);
    let seen: Vec<_> = watch
        .finish()
        .into_iter()
        .filter(|f| f[6..12] == frames::mac(MAC_A) && matches!(f[12..14], [8, 0] | [8, 6]))
        .collect();
    assert!(
        red.is_err(),
        "{what}: red reached {IP_B} with red's VM down: {red:?}"
    );
    assert!(
        seen.is_empty(),
        "{what}: blue's VM received {} IPv4/ARP frames from {MAC_A} while red pinged: {:?}",
        seen.len(),
        seen.iter().map(|f| hex(f)).collect::<Vec<_>>()
    );
    let after = p.b.metric(red_in);
    assert!(
        after >= before + 3,
        "{what}: red's pings did not reach B's red domain ({before} -> {after})"
    );
    p.b_red.ns().ip(&["link", "set", "dev", "vm0", "up"]);
    p.a_blue.ping(IP_B, 2).unwrap();
    timed(&format!("{what}: isolation"), iso);
    timed(
        &format!("{what}: byte for byte, dissection, isolation"),
        start,
    );

    if restart_vm {
        // Case 6: B's blue VM loses its vhost-user connection and comes
        // back; nvo keeps running and forwards to it again.
        let t = Instant::now();
        p.b_blue.restart_bridge();
        p.a_blue.ns().ping_until(IP_B, UP).unwrap_or_else(|e| {
            p.b.daemon().dump_log();
            panic!(
                "{what}: after B's blue VM came back: {e}; drops:\n{}",
                p.b.drops()
            )
        });
        p.a_blue.ping(IP_B, 3).unwrap();
        p.b_blue.ping(IP_A, 3).unwrap();
        p.b.daemon().check_running().unwrap();
        timed(&format!("{what}: VM reconnected and forwarding"), t);
    }

    // Case 8: frame conservation, live and in the exit summary.
    p.a.finish(&what);
    p.b.finish(&what);
    timed(&what, start);
    let t = Instant::now();
    drop(p);
    timed(&format!("{what}: teardown"), t);
}

impl Drop for Pair {
    /// The four bridges stop side by side (each takes a while to close its
    /// ports), not one after the other.
    fn drop(&mut self) {
        for vm in [
            &mut self.a_blue,
            &mut self.a_red,
            &mut self.b_blue,
            &mut self.b_red,
        ] {
            signal(vm.bridge().pid(), "TERM");
        }
        let t = Instant::now();
        for vm in [
            &mut self.a_blue,
            &mut self.a_red,
            &mut self.b_blue,
            &mut self.b_red,
        ] {
            let _ = vm.bridge().wait_exit(Duration::from_secs(10));
        }
        timed("bridges stopped", t);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn nvo_pair_vxlan() {
    let _serial = serial();
    nvo_pair_case(Kind::Vxlan, false, true);
    nvo_pair_case(Kind::Vxlan, true, false);
}

#[test]
fn nvo_pair_nvgre() {
    let _serial = serial();
    nvo_pair_case(Kind::Nvgre, false, false);
    nvo_pair_case(Kind::Nvgre, true, false);
}

#[test]
fn nvo_pair_geneve() {
    let _serial = serial();
    nvo_pair_case(Kind::Geneve, false, false);
    nvo_pair_case(Kind::Geneve, true, false);
}

/// Case 7: with an IPv4 underlay MTU of 1280, VXLAN leaves a VM 1230 bytes
/// of IP packet (1280 - 20 - 8 - 8 - 14). A packet of exactly 1230 bytes
/// crosses; one byte more with DF set comes back as "fragmentation needed,
/// mtu 1230" (and for IPv6 as Packet Too Big, mtu 1230), counted as
/// mtu_exceeded. The peer is the kernel's vxlan device.
#[test]
fn path_mtu() {
    let _serial = serial();
    let start = Instant::now();
    let dir = tempdir();
    let host = Netns::new("mtu");
    let peer_ns = Netns::new("kpeer");
    // The whole underlay has an MTU of 1280: the kernel's vxlan0 gets 1230.
    let link = uplink(&host, &peer_ns);
    link.set_mtu(1280);
    let mut spec = NvoSpec::new(Some(V4.a_cidr), Some(V6.a_cidr))
        .domain(DomainSpec::new("blue", 5000, "vxlan", &[V4.b]))
        .vm("blue-vm", "blue");
    spec.mtu = Some(1280);
    let mut nvo = NvoHost::start(host, "a", dir.path(), &spec);
    let peer = KernelVxlanPeer::start(
        peer_ns,
        "u0",
        KernelVxlan::unicast(5000, V4.b_cidr, V4.a, &format!("{IP_B}/24"), MAC_B),
    );
    peer.ns()
        .ip(&["link", "set", "dev", "vxlan0", "mtu", "1230"]);
    let vm = VmEndpoint::start(
        dir.path(),
        "vm",
        &socket_path(dir.path(), "a", "blue-vm"),
        VhostMode::SwitchServer,
        MAC_A,
        &[&format!("{IP_A}/24"), &format!("{IP6_A}/64")],
    );
    vm.set_mtu(1500);
    vm.ns().ping_until(IP_B, UP).unwrap();
    // 1202 bytes of ICMP data + 8 + 20 = 1230: fits exactly.
    vm.ns()
        .exec(&[
            "ping", "-n", "-c", "2", "-W", "2", "-M", "do", "-s", "1202", IP_B,
        ])
        .unwrap_or_else(|e| panic!("a 1230-byte packet must cross: {e}\n{}", nvo.drops()));
    let before = nvo.metric("nvo_drops_total{reason=\"mtu_exceeded\"}");
    let out = vm
        .ns()
        .cmd("ping")
        .args(["-n", "-c", "1", "-W", "2", "-M", "do", "-s", "1203", IP_B])
        .output()
        .expect("ping");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Frag needed and DF set (mtu = 1230)"),
        "a 1231-byte packet with DF: no 'Frag needed (mtu = 1230)':\n{text}\ndrops:\n{}",
        nvo.drops()
    );
    let after = nvo.metric("nvo_drops_total{reason=\"mtu_exceeded\"}");
    assert!(
        after > before,
        "mtu_exceeded not counted ({before} -> {after})"
    );

    // IPv6 inside: Packet Too Big with the same MTU. (An underlay of 1280
    // leaves IPv6 tenants less than IPv6's minimum MTU, so nothing of that
    // size can cross; the kernel peer, whose vxlan0 has MTU 1230, has no
    // IPv6 at all. The VM is given its neighbour so that the big packet
    // leaves at once, and nvo, which knows the MAC from the IPv4 pings,
    // must answer it.)
    vm.ns().ip(&[
        "-6",
        "neigh",
        "replace",
        IP6_B,
        "lladdr",
        MAC_B,
        "dev",
        "vm0",
        "nud",
        "permanent",
    ]);
    let out = vm
        .ns()
        .cmd("ping")
        .args(["-n", "-c", "1", "-W", "2", "-s", "1300", IP6_B])
        .output()
        .expect("ping");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Packet too big: mtu=1230"),
        "IPv6 1348-byte packet: no 'Packet too big: mtu=1230':\n{text}\ndrops:\n{}",
        nvo.drops()
    );
    nvo.finish("path MTU");
    timed("path MTU", start);
}
