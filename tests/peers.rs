//! nvo against independent peer VTEPs (issue 5): the Linux kernel's vxlan
//! device (unicast with a static fdb, and with a multicast group, IPv4 and
//! IPv6 underlays), Open vSwitch in userspace as NVGRE and Geneve peer,
//! and head-end replication with split horizon among three VTEPs.

mod common;

use common::frames;
use common::switch::{tempdir, timed, uplink, Sniffer};
use common::*;
use std::time::{Duration, Instant};

/// How long a path may take to come up (vhost-user, ARP/ND, learning).
const UP: Duration = Duration::from_secs(30);

const MAC_VM: &str = "02:00:00:00:00:01";
const MAC_PEER: &str = "02:00:00:00:00:02";
const IP_VM: &str = "192.0.2.1";
const IP_PEER: &str = "192.0.2.2";

/// (nvo's VTEP, nvo's CIDR, peer's VTEP, peer's CIDR)
fn underlay(v6: bool) -> (&'static str, &'static str, &'static str, &'static str) {
    if v6 {
        (
            "2001:db8:1::1",
            "2001:db8:1::1/64",
            "2001:db8:1::2",
            "2001:db8:1::2/64",
        )
    } else {
        ("198.18.0.1", "198.18.0.1/24", "198.18.0.2", "198.18.0.2/24")
    }
}

/// An ARP request (broadcast) from `src_mac`/`src_ip` for `target`.
fn arp_request(src_mac: &str, src_ip: &str, target: &str) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend(frames::mac(src_mac));
    a.extend(frames::ipv4(src_ip));
    a.extend([0u8; 6]);
    a.extend(frames::ipv4(target));
    a.resize(46, 0);
    frames::ethernet("ff:ff:ff:ff:ff:ff", src_mac, 0x0806, &a)
}

/// One nvo with a blue VM (domain 5000) and a red VM (domain 6000) with
/// the same MAC and IP, facing the kernel's vxlan device for VNI 5000:
/// unicast with static fdb entries, or a multicast group on both sides.
/// Pings both ways; red's VM receives nothing of it.
fn kernel_case(v6: bool, group: Option<&str>) {
    let start = Instant::now();
    let dir = tempdir();
    let (vtep, vtep_cidr, peer_ip, peer_cidr) = underlay(v6);
    let what = format!(
        "kernel vxlan, IPv{}, {}",
        if v6 { 6 } else { 4 },
        group.map_or("unicast, static fdb".to_string(), |g| format!("group {g}"))
    );
    let host = Netns::new("nvo");
    let kns = Netns::new("kvx");
    let _link = uplink(&host, &kns);
    let domain = |name: &str, vni: u32| match group {
        Some(g) => DomainSpec::with_group(name, vni, "vxlan", g),
        None => DomainSpec::new(name, vni, "vxlan", &[peer_ip]),
    };
    let spec = if v6 {
        NvoSpec::new(None, Some(vtep_cidr))
    } else {
        NvoSpec::new(Some(vtep_cidr), None)
    }
    .domain(domain("blue", 5000))
    .domain(domain("red", 6000))
    .vm("blue-vm", "blue")
    .vm("red-vm", "red");
    let mut nvo = NvoHost::start(host, "nvo", dir.path(), &spec);
    let cfg = KernelVxlan {
        vni: 5000,
        local: peer_cidr.into(),
        remotes: if group.is_some() {
            vec![]
        } else {
            vec![vtep.into()]
        },
        group: group.map(Into::into),
        dstport: 4789,
        overlay: vec![format!("{IP_PEER}/24")],
        mac: MAC_PEER.into(),
        // Unicast: only the static entries; multicast: flood and learn.
        learning: group.is_some(),
    };
    let kernel = KernelVxlanPeer::start(kns, "u0", cfg);
    if group.is_none() {
        kernel.add_static(MAC_VM, vtep);
    }
    let vm = |name: &str, port: &str| {
        VmEndpoint::start(
            dir.path(),
            name,
            &nvo.socket(port),
            VhostMode::SwitchServer,
            MAC_VM,
            &[&format!("{IP_VM}/24")],
        )
    };
    let blue = vm("blue", "blue-vm");
    let red = vm("red", "red-vm");
    let watch = Capture::start(
        red.ns(),
        "vm0",
        &format!("ether src {MAC_PEER}"),
        50,
        90,
        dir.path(),
    );
    let cap = Capture::start(kernel.ns(), "u0", "udp port 4789", 200, 90, dir.path());
    timed(&format!("{what}: setup"), start);

    if group.is_some() {
        // The kernel speaks first: its ARP request goes to the group, and
        // nvo must take tunnel packets addressed to the group.
        let t = Instant::now();
        let up = kernel.ns().ping_until(IP_VM, UP);
        timed(
            &format!("{what}: first kernel -> VM ping through the group"),
            t,
        );
        if let Err(e) = up {
            let fdb = kernel.fdb();
            let drops = nvo.drops();
            nvo.daemon().dump_log();
            panic!("{what}: kernel -> VM: {e}\nkernel fdb:\n{fdb}\nnvo drops:\n{drops}");
        }
    }
    let t = Instant::now();
    let up = blue.ns().ping_until(IP_PEER, UP);
    timed(&format!("{what}: first VM -> kernel ping"), t);
    if let Err(e) = up {
        let fdb = kernel.fdb();
        let drops = nvo.drops();
        nvo.daemon().dump_log();
        panic!("{what}: VM -> kernel: {e}\nkernel fdb:\n{fdb}\nnvo drops:\n{drops}");
    }
    blue.ping(IP_PEER, 3)
        .unwrap_or_else(|e| panic!("{what}: VM -> kernel: {e}"));
    kernel
        .ping(IP_VM, 3)
        .unwrap_or_else(|e| panic!("{what}: kernel -> VM: {e}"));
    let seen = read_pcap(&watch.stop());
    assert!(
        seen.is_empty(),
        "{what}: red's VM (same MAC and IP as blue's) received {} frames of the kernel's VNI 5000",
        seen.len()
    );
    let pcap = cap.stop();
    let d = assert_dissects_clean(&pcap, Encap::Vxlan);
    // nvo also floods red's own BUM (IPv6 neighbour discovery of red's VM)
    // to the same VTEP or group under VNI 6000, which the kernel drops;
    // nothing of the blue conversation may travel under VNI 6000.
    assert!(
        d.ids.iter().all(|&v| v == 5000 || v == 6000),
        "{what}: VNIs {:?}",
        d.ids
    );
    let ipf = if v6 { "ipv6" } else { "ip" };
    assert_eq!(
        count(
            &pcap,
            &format!("{ipf}.src == {peer_ip} && vxlan.vni != 5000")
        ),
        0,
        "{what}: the kernel sent another VNI"
    );
    assert_eq!(
        count(
            &pcap,
            &format!("vxlan.vni == 6000 && eth.addr == {MAC_PEER}")
        ),
        0,
        "{what}: blue's conversation with the kernel leaked into VNI 6000"
    );
    assert!(
        count(&pcap, &format!("{ipf}.src == {vtep} && vxlan.vni == 5000")) > 0,
        "{what}: no VXLAN from nvo"
    );
    if let Some(g) = group {
        assert!(
            count(
                &pcap,
                &format!("{ipf}.src == {peer_ip} && {ipf}.dst == {g}")
            ) > 0,
            "{what}: the kernel sent nothing to the group"
        );
        // A broadcast from the VM goes to the group, once.
        let sniff = Sniffer::until(kernel.ns(), "u0", 8.0, &frames::ipv4("192.0.2.77"));
        blue.ns()
            .inject("vm0", &[arp_request(MAC_VM, IP_VM, "192.0.2.77")]);
        let got = dir.path().join("broadcast.pcap");
        write_pcap(&got, &sniff.finish());
        assert_eq!(
            count(
                &got,
                &format!("{ipf}.src == {vtep} && {ipf}.dst == {g} && vxlan.vni == 5000 && arp.dst.proto_ipv4 == 192.0.2.77")
            ),
            1,
            "{what}: the VM's broadcast must reach the group once"
        );
    }
    eprintln!("peers: {what}: {} clean tunnel frames", d.tunnelled);
    nvo.finish(&what);
    timed(&what, start);
}

#[test]
fn kernel_vxlan_unicast() {
    let _serial = serial();
    kernel_case(false, None);
    kernel_case(true, None);
}

#[test]
fn kernel_vxlan_multicast() {
    let _serial = serial();
    kernel_case(false, Some("239.1.1.1"));
    kernel_case(true, Some("ff05::100"));
}

/// One nvo with a blue VM facing OVS userspace as the peer VTEP.
fn ovs_case(tunnel: OvsTunnel, v6: bool) {
    let start = Instant::now();
    let dir = tempdir();
    let (vtep, vtep_cidr, peer_ip, peer_cidr) = underlay(v6);
    let (kind, encap, filter) = match tunnel {
        OvsTunnel::Nvgre { .. } => ("nvgre", Encap::Nvgre, "ip proto 47 or ip6 proto 47"),
        OvsTunnel::Geneve { .. } => ("geneve", Encap::Geneve, "udp port 6081"),
        _ => unreachable!(),
    };
    let what = format!("OVS {kind}, IPv{}", if v6 { 6 } else { 4 });
    let host = Netns::new("nvo");
    let ons = Netns::new("ovs");
    let _link = uplink(&host, &ons);
    let spec = if v6 {
        NvoSpec::new(None, Some(vtep_cidr))
    } else {
        NvoSpec::new(Some(vtep_cidr), None)
    }
    .domain(DomainSpec {
        // A plain OVS gre port matches the whole GRE key: FlowID 0 only.
        nvgre_flow_id: matches!(
            tunnel,
            OvsTunnel::Nvgre {
                any_flowid: false,
                ..
            }
        )
        .then_some(false),
        ..DomainSpec::new("blue", 5000, kind, &[peer_ip])
    })
    .vm("blue-vm", "blue");
    let mut nvo = NvoHost::start(host, "nvo", dir.path(), &spec);
    let ovs = OvsPeer::start(
        ons,
        "u0",
        dir.path(),
        OvsConfig::new(tunnel, peer_cidr, vtep, &format!("{IP_PEER}/24"), MAC_PEER),
    );
    let vm = VmEndpoint::start(
        dir.path(),
        "blue",
        &nvo.socket("blue-vm"),
        VhostMode::SwitchServer,
        MAC_VM,
        &[&format!("{IP_VM}/24")],
    );
    let cap = Capture::start(ovs.ns(), "u0", filter, 200, 90, dir.path());
    timed(&format!("{what}: setup"), start);
    if let Err(e) = vm.ns().ping_until(IP_PEER, UP) {
        let drops = nvo.drops();
        let neigh = ovs.appctl(&["tnl/neigh/show"]);
        let flows = ovs.appctl(&["dpctl/dump-flows"]);
        nvo.daemon().dump_log();
        panic!("{what}: VM -> OVS: {e}\nnvo drops:\n{drops}\nOVS neighbours:\n{neigh}\nflows:\n{flows}");
    }
    vm.ping(IP_PEER, 3)
        .unwrap_or_else(|e| panic!("{what}: VM -> OVS: {e}"));
    ovs.ping(IP_VM, 3)
        .unwrap_or_else(|e| panic!("{what}: OVS -> VM: {e}"));
    let pcap = cap.stop();
    let d = assert_dissects_clean(&pcap, encap);
    assert!(d.ids.iter().all(|&v| v == 5000), "{what}: ids {:?}", d.ids);
    let ipf = if v6 { "ipv6" } else { "ip" };
    assert!(
        count(&pcap, &format!("{ipf}.src == {vtep}")) > 0,
        "{what}: no tunnel frame from nvo"
    );
    if let OvsTunnel::Nvgre { any_flowid, .. } = tunnel {
        let seen = d.flow_ids.iter().collect::<std::collections::BTreeSet<_>>();
        eprintln!("peers: {what}: FlowIDs seen {seen:?}");
        assert!(
            any_flowid || seen.iter().all(|&&f| f == 0),
            "{what}: FlowIDs {seen:?} on a plain gre port"
        );
    }
    eprintln!("peers: {what}: {} clean tunnel frames", d.tunnelled);
    nvo.finish(&what);
    timed(&what, start);
}

/// OVS takes nvo's per-flow FlowIDs through a masked key match (over
/// IPv4 here), and a plain gre port, which matches the whole key, once nvo
/// sends FlowID 0 (over IPv6).
#[test]
fn ovs_nvgre() {
    let _serial = serial();
    let t = |any_flowid| OvsTunnel::Nvgre {
        vsid: 5000,
        any_flowid,
    };
    ovs_case(t(true), false);
    ovs_case(t(false), true);
}

#[test]
fn ovs_geneve() {
    let _serial = serial();
    let t = OvsTunnel::Geneve { vni: 5000 };
    ovs_case(t, false);
    ovs_case(t, true);
}

/// Case 2: head-end replication among three VTEPs on one underlay segment
/// (a Linux bridge): nvo A (one VM) floods to the kernel vxlan devices B
/// and C; B and C flood to each other and to A. A broadcast from the VM
/// reaches B and C once each; a broadcast B replicates to A and C is
/// delivered to the VM once and never sent on by nvo (split horizon).
#[test]
fn head_end_replication() {
    let _serial = serial();
    let start = Instant::now();
    let dir = tempdir();
    let (a, b, c) = ("198.18.0.1", "198.18.0.2", "198.18.0.3");
    let ul = Netns::new("ul");
    let host = Netns::new("nvo");
    let nb = Netns::new("kb");
    let nc = Netns::new("kc");
    ul.ip(&[
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "mcast_snooping",
        "0",
    ]);
    ul.sysctl("net.ipv6.conf.br0.disable_ipv6", "1");
    let la = VethPair::new(Some(&ul), "pa", Some(&host), "up0");
    la.b.quiet();
    let lb = VethPair::new(Some(&ul), "pb", Some(&nb), "u0");
    let lc = VethPair::new(Some(&ul), "pc", Some(&nc), "u0");
    for l in [&la, &lb, &lc] {
        l.a.quiet();
        l.a.ip(&["link", "set", "dev", l.a.name(), "master", "br0"]);
    }
    ul.ip(&["link", "set", "dev", "br0", "up"]);
    let spec = NvoSpec::new(Some("198.18.0.1/24"), None)
        .domain(DomainSpec::new("blue", 5000, "vxlan", &[b, c]))
        .vm("blue-vm", "blue");
    let mut nvo = NvoHost::start(host, "nvo", dir.path(), &spec);
    let kcfg = |local: &str, remotes: [&str; 2], ip: &str, mac: &str| KernelVxlan {
        remotes: remotes.iter().map(|r| r.to_string()).collect(),
        ..KernelVxlan::unicast(5000, local, remotes[0], ip, mac)
    };
    let kb = KernelVxlanPeer::start(
        nb,
        "u0",
        kcfg("198.18.0.2/24", [a, c], "192.0.2.2/24", "02:00:00:00:00:02"),
    );
    let kc = KernelVxlanPeer::start(
        nc,
        "u0",
        kcfg("198.18.0.3/24", [a, b], "192.0.2.3/24", "02:00:00:00:00:03"),
    );
    let vm = VmEndpoint::start(
        dir.path(),
        "vm",
        &nvo.socket("blue-vm"),
        VhostMode::SwitchServer,
        MAC_VM,
        &["192.0.2.1/24"],
    );
    timed("head-end replication: setup", start);
    vm.ns().ping_until("192.0.2.2", UP).unwrap();
    vm.ns().ping_until("192.0.2.3", UP).unwrap();
    vm.ping("192.0.2.2", 2).unwrap();
    vm.ping("192.0.2.3", 2).unwrap();
    kb.ping("192.0.2.1", 2).unwrap();
    kc.ping("192.0.2.1", 2).unwrap();

    // What reaches B and C (and what they send), and what reaches the VM.
    // (Packet sockets, live at once: a tshark capture comes up late.)
    let sniff_b = Sniffer::start(kb.ns(), "u0", 3.0);
    let sniff_c = Sniffer::start(kc.ns(), "u0", 3.0);
    let sniff_vm = Sniffer::start(vm.ns(), "vm0", 3.0);
    let copies_before = nvo.metric("nvo_flood_copies_total");
    vm.ns()
        .inject("vm0", &[arp_request(MAC_VM, "192.0.2.1", "192.0.2.77")]);
    kb.ns().inject(
        "vxlan0",
        &[arp_request("02:00:00:00:00:02", "192.0.2.2", "192.0.2.88")],
    );
    let pcap = |name: &str, frames: Vec<Vec<u8>>| {
        let path = dir.path().join(format!("{name}.pcap"));
        write_pcap(&path, &frames);
        path
    };
    let pb = pcap("at-b", sniff_b.finish());
    let pc = pcap("at-c", sniff_c.finish());
    let pvm = pcap("at-vm", sniff_vm.finish());
    let from_vm = "arp.dst.proto_ipv4 == 192.0.2.77";
    let from_b = "arp.dst.proto_ipv4 == 192.0.2.88";
    for (pcap, name) in [(&pb, "B"), (&pc, "C")] {
        assert_dissects_clean(pcap, Encap::Vxlan);
        assert_eq!(
            count(
                pcap,
                &format!("ip.src == {a} && {from_vm} && vxlan.vni == 5000")
            ),
            1,
            "the VM's broadcast must reach {name} exactly once"
        );
        assert_eq!(
            count(pcap, &format!("ip.src == {a} && {from_b}")),
            0,
            "split horizon: nvo sent B's broadcast back into the underlay (seen at {name})"
        );
    }
    assert_eq!(
        count(&pc, &format!("ip.src == {b} && {from_b}")),
        1,
        "B's own replication to C"
    );
    assert_eq!(
        count(&pvm, from_vm),
        0,
        "the VM's own broadcast came back to it"
    );
    assert_eq!(
        count(&pvm, from_b),
        1,
        "B's broadcast must reach the VM exactly once"
    );
    let copies = nvo.metric("nvo_flood_copies_total") - copies_before;
    eprintln!(
        "peers: head-end: flood copies for the VM's broadcast: {copies}; split_horizon drops {}",
        nvo.metric("nvo_drops_total{reason=\"split_horizon\"}")
    );
    nvo.finish("head-end replication");
    drop((kb, kc, la, lb, lc));
    timed("head-end replication", start);
}
