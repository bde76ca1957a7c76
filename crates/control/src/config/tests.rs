//! One test per rule: each refused file marks the line the error must point
//! at with `# <-`, and the test checks that line, the key and the reason.

use std::net::IpAddr;
use std::path::Path;

use super::*;

/// An uplink with both families, used by most cases.
const UP: &str = r#"
[[uplink]]
name = "up0"
device = "net_null0"
ipv4 = "198.18.0.1/24"
ipv6 = "2001:db8::1/64"
"#;

const BLUE: &str = r#"
[[domain]]
name = "blue"
vni = 5000
"#;

const VM1: &str = r#"
[[vm_port]]
name = "vm1"
socket = "/tmp/vm1.sock"
domain = "blue"
"#;

fn parse(text: &str) -> Config {
    match Config::from_str(text, "t.toml") {
        Ok(c) => c,
        Err(e) => panic!("refused: {e}\n{text}"),
    }
}

#[track_caller]
fn assert_refused(text: &str, key: &str, reason: &str) {
    let e = match Config::from_str(text, "t.toml") {
        Ok(_) => panic!("accepted, should have been refused:\n{text}"),
        Err(e) => e,
    };
    let marked = text
        .lines()
        .position(|l| l.contains("# <-"))
        .map(|i| i + 1)
        .expect("the test text marks the bad line with # <-");
    assert_eq!(e.line(), marked, "wrong line for: {e}");
    assert_eq!(e.key(), key, "wrong key for: {e}");
    assert!(
        e.reason().contains(reason),
        "reason should contain {reason:?}: {e}"
    );
    assert!(
        e.to_string().starts_with(&format!("t.toml:{marked}:")),
        "{e}"
    );
}

/// `name: text => key, reason`.
macro_rules! refuse {
    ($($name:ident: $text:expr => $key:expr, $reason:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_refused(&$text, $key, $reason);
            }
        )*
    };
}

// --- the file as a whole -------------------------------------------------

#[test]
fn an_empty_file_is_an_idle_switch_with_defaults() {
    // No ports at all is a valid (idle) switch: useful for `nvo ctl` tests.
    let c = parse("");
    assert_eq!(c.cpu.workers, vec![1]);
}

#[test]
fn vni_out_of_range_message_has_file_line_column_scope_key_and_value() {
    let text = format!("{UP}\n[[domain]]\nname = \"blue\"\nvni = 16777216\n");
    let e = Config::from_str(&text, "nvo.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "nvo.toml:10:7: domain \"blue\": vni 16777216 is out of range (0..=16777215)"
    );
    assert_eq!(e.column(), 7);
}

#[test]
fn load_names_an_unreadable_file() {
    let e = Config::load("/nonexistent/nvo.toml").unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/nvo.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn load_reads_a_file_and_reports_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[switch]\nburst = 64\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2:9:", path.display())),
        "{e}"
    );
}

#[test]
fn unknown_key_names_its_table_header() {
    let text = format!("{UP}{BLUE}flood = [\n  \"198.18.0.2\",\n]\ncolour = \"blue\"\n");
    let e = Config::from_str(&text, "t.toml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.toml:14:1: [[domain]]: colour is not a known key"),
        "{e}"
    );
}

refuse! {
    unknown_top_level_key_is_refused:
        "ports = 3 # <-\n" => "ports", "is not a known key";
    unknown_key_in_a_table_is_refused_with_its_header:
        format!("{UP}{BLUE}colour = \"blue\" # <-\n") => "colour", "is not a known key";
    missing_required_key_points_at_the_table:
        "[[domain]] # <-\nname = \"blue\"\n" => "vni", "is required but missing";
    wrong_type_is_refused:
        "[[domain]]\nname = \"blue\"\nvni = \"5000\" # <-\n" => "vni", "is wrong: invalid type";
    untagged_value_of_wrong_type_names_its_key:
        "[switch]\nttl = 6.4 # <-\n" => "ttl", "is wrong: invalid type: floating point `6.4`, expected an integer or \"inherit\"";
    toml_syntax_error_is_located:
        "[switch]\nburst = # <-\n" => "burst", "invalid string";
}

// --- [eal] ----------------------------------------------------------------

refuse! {
    eal_args_may_not_set_the_cores:
        "[eal]\nargs = [\"--no-pci\",\n  \"-l\", # <-\n  \"0-1\"]\n" => "args", "[cpu]";
    eal_args_may_not_set_the_file_prefix:
        "[eal]\nargs = [\"--file-prefix=x\"] # <-\n" => "args", "file_prefix";
    eal_args_may_not_set_memory_glued:
        "[eal]\nargs = [\"-m512\"] # <-\n" => "args", "memory_mb";
    eal_file_prefix_is_a_plain_word:
        "[eal]\nfile_prefix = \"a/b\" # <-\n" => "file_prefix", "without '/'";
    eal_huge_dir_is_not_empty:
        "[eal]\nhuge_dir = \" \" # <-\n" => "huge_dir", "must not be empty";
    eal_memory_is_positive:
        "[eal]\nmemory_mb = 0 # <-\n" => "memory_mb", "0 is out of range";
}

// --- [cpu] ----------------------------------------------------------------

refuse! {
    cpu_workers_are_not_empty:
        "[cpu]\nworkers = [] # <-\n" => "workers", "at least one core";
    cpu_worker_is_not_the_control_core:
        "[cpu]\ncontrol = 1\nworkers = [2, 1] # <-\n" => "workers", "core 1 is the control core";
    cpu_workers_are_distinct:
        "[cpu]\nworkers = [1, 2, 1] # <-\n" => "workers", "listed twice";
    cpu_cores_fit_dpdk:
        "[cpu]\ncontrol = 128 # <-\n" => "control", "128 is out of range (0..=127)";
}

#[test]
fn cpu_defaults_pick_another_worker_core_than_control() {
    assert_eq!(parse("[cpu]\ncontrol = 0\n").cpu.workers, vec![1]);
    assert_eq!(parse("[cpu]\ncontrol = 3\n").cpu.workers, vec![0]);
}

// --- [switch] -------------------------------------------------------------

refuse! {
    switch_burst_is_at_most_32:
        "[switch]\nburst = 33 # <-\n" => "burst", "33 is out of range (1..=32)";
    switch_burst_is_at_least_1:
        "[switch]\nburst = 0 # <-\n" => "burst", "out of range";
    switch_mbuf_cache_fits_the_pool:
        "[switch]\nmbufs = 511\nmbuf_cache = 512 # <-\n" => "mbuf_cache", "mbufs / 1.5";
    switch_rx_desc_is_a_power_of_two:
        "[switch]\nrx_desc = 1000 # <-\n" => "rx_desc", "not a power of two";
    switch_tx_desc_range:
        "[switch]\ntx_desc = 8192 # <-\n" => "tx_desc", "out of range";
    switch_udp_src_range_is_ordered:
        "[switch]\nudp_src_range = [60000, 50000] # <-\n" => "udp_src_range", "not ordered";
    switch_udp_src_range_has_two_ports:
        "[switch]\nudp_src_range = [1] # <-\n" => "udp_src_range", "two ports";
    switch_udp_src_range_ports_are_ports:
        "[switch]\nudp_src_range = [0, 10] # <-\n" => "udp_src_range", "0 is out of range";
    switch_ttl_is_not_zero:
        "[switch]\nttl = 0 # <-\n" => "ttl", "0 is out of range (1..=255)";
    switch_ttl_word_is_inherit:
        "[switch]\nttl = \"copy\" # <-\n" => "ttl", "nor \"inherit\"";
    switch_dscp_is_six_bits:
        "[switch]\ndscp = 64 # <-\n" => "dscp", "64 is out of range (0..=63)";
    switch_ecn_mode_is_known:
        "[switch]\necn = \"full\" # <-\n" => "ecn", "\"full\" is not one of \"normal\", \"compat\"";
    switch_aging_has_a_ceiling:
        "[switch]\naging_secs = 2000000 # <-\n" => "aging_secs", "out of range (0..=1000000)";
    switch_mac_table_has_a_floor:
        "[switch]\nmac_table_size = 100 # <-\n" => "mac_table_size", "100 is out of range";
    switch_icmp_rate_is_not_negative:
        "[switch]\nicmp_rate = -1 # <-\n" => "icmp_rate", "-1 is out of range";
    switch_zero_checksum_is_a_boolean:
        "[switch]\nipv6_zero_udp_checksum = 1 # <-\n" => "ipv6_zero_udp_checksum", "expected a boolean";
    switch_ctl_socket_is_not_empty:
        "[switch]\nctl_socket = \"\" # <-\n" => "ctl_socket", "must not be empty";
    switch_mbufs_fill_the_uplink_rings:
        format!("[switch]\nmbufs = 1023 # <-\nmbuf_cache = 32\n{UP}\nqueues = 2\n")
            => "mbufs", "need 2112";
}

#[test]
fn switch_defaults_follow_the_rfcs() {
    let s = parse("").switch;
    assert_eq!(s.udp_src_range, (49152, 65535));
    assert_eq!(s.burst, 32);
    assert_eq!(s.ttl, Ttl::Fixed(64));
    assert_eq!(s.dscp, Dscp::Inherit);
    assert_eq!(s.ecn, EcnMode::Normal);
    assert!(!s.ipv6_zero_udp_checksum);
}

#[test]
fn switch_ttl_and_dscp_take_numbers_or_inherit() {
    let s = parse("[switch]\nttl = \"inherit\"\ndscp = 46\n").switch;
    assert_eq!(s.ttl, Ttl::Inherit);
    assert_eq!(s.dscp, Dscp::Fixed(46));
}

// --- [[uplink]] -----------------------------------------------------------

refuse! {
    uplink_name_is_plain:
        "[[uplink]]\nname = \"up 0\" # <-\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\n"
            => "name", "must be 1 to 32 letters";
    port_names_are_unique_across_kinds:
        format!("{UP}{BLUE}[[vm_port]]\nname = \"up0\" # <-\nsocket = \"/tmp/a\"\ndomain = \"blue\"\n")
            => "name", "already the name of the port at line 3";
    uplink_device_is_pci_or_vdev:
        "[[uplink]]\nname = \"u\"\ndevice = \"eth0\" # <-\nipv4 = \"10.0.0.1/24\"\n"
            => "device", "neither a PCI address";
    uplink_pci_device_conflicts_with_no_pci:
        "[eal]\nargs = [\"--no-pci\"]\n[[uplink]]\nname = \"u\"\ndevice = \"0000:01:00.0\" # <-\nipv4 = \"10.0.0.1/24\"\n"
            => "device", "--no-pci";
    uplink_devices_are_distinct:
        format!("{UP}[[uplink]]\nname = \"up1\"\ndevice = \"net_null0,size=64\" # <-\nipv4 = \"10.0.0.1/24\"\n")
            => "device", "already the device of uplink \"up0\"";
    uplink_address_needs_a_prefix:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1\" # <-\n"
            => "ipv4", "needs a prefix length";
    uplink_prefix_fits_the_family:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/33\" # <-\n"
            => "ipv4", "outside 1..=32";
    uplink_ipv4_is_ipv4:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"2001:db8::1/24\" # <-\n"
            => "ipv4", "not an IPv4 address";
    uplink_address_is_unicast:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv6 = \"ff02::1/64\" # <-\n"
            => "ipv6", "cannot be a VTEP address";
    uplink_addresses_are_distinct:
        format!("{UP}[[uplink]]\nname = \"up1\"\ndevice = \"net_null1\"\nipv4 = \"198.18.0.1/16\" # <-\n")
            => "ipv4", "already the address of uplink \"up0\"";
    uplink_gateway4_needs_ipv4:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv6 = \"2001:db8::1/64\"\ngateway4 = \"10.0.0.254\" # <-\n"
            => "gateway4", "needs an ipv4 address";
    uplink_gateway4_is_on_link:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\ngateway4 = \"10.0.1.254\" # <-\n"
            => "gateway4", "must be another address on 10.0.0.1/24";
    uplink_neighbor_is_on_link:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\nneighbors = { \"10.0.1.2\" = \"02:00:00:00:00:01\" } # <-\n"
            => "neighbors", "is not another address on one of this uplink's prefixes";
    uplink_neighbor_mac_is_unicast:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\nneighbors = { \"10.0.0.2\" = \"01:00:5e:00:00:01\" } # <-\n"
            => "neighbors", "is not a unicast MAC address";
    uplink_gateway6_is_on_link:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv6 = \"2001:db8::1/64\"\ngateway6 = \"2001:db9::1\" # <-\n"
            => "gateway6", "or a link-local address";
    uplink_ipv4_mtu_is_at_least_576:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\nmtu = 500 # <-\n"
            => "mtu", "500 is out of range (576..=9216)";
    uplink_ipv6_mtu_is_at_least_1280:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv6 = \"2001:db8::1/64\"\nmtu = 1000 # <-\n"
            => "mtu", "(1280..=9216)";
    uplink_queues_at_least_one:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\nqueues = 0 # <-\n"
            => "queues", "0 is out of range (1..=64)";
    uplink_queues_at_most_the_max:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\nqueues = 65 # <-\n"
            => "queues", "out of range";
    uplink_without_address_must_be_patched:
        "[[uplink]] # <-\nname = \"u\"\ndevice = \"net_null0\"\n"
            => "", "neither ipv4 nor ipv6";
}

#[test]
fn uplink_accepts_pci_vdev_and_link_local_gateway() {
    let c = parse(
        "[[uplink]]\nname = \"a\"\ndevice = \"01:00.1\"\nipv6 = \"2001:db8::1/64\"\ngateway6 = \"fe80::1\"\n\
         [[uplink]]\nname = \"b\"\ndevice = \"net_tap0,iface=nvo0\"\nipv4 = \"10.0.0.1/24\"\ngateway4 = \"10.0.0.254\"\n",
    );
    assert_eq!(c.uplinks[0].device, Device::Pci("01:00.1".into()));
    assert_eq!(
        c.uplinks[1].device,
        Device::Vdev("net_tap0,iface=nvo0".into())
    );
    assert_eq!(c.uplinks[0].mtu, 1500);
    assert!(c.uplinks[1]
        .ipv4
        .unwrap()
        .contains("10.0.0.77".parse().unwrap()));
}

// --- [[domain]] -----------------------------------------------------------

refuse! {
    domain_names_are_unique:
        format!("{BLUE}[[domain]]\nname = \"blue\" # <-\nvni = 5001\n")
            => "name", "already the name of the domain at line 3";
    domain_name_is_plain:
        "[[domain]]\nname = \"blue/red\" # <-\nvni = 1\n" => "name", "must be 1 to 32 letters";
    domain_vni_is_not_negative:
        "[[domain]]\nname = \"b\"\nvni = -1 # <-\n" => "vni", "-1 is out of range";
    domain_tunnel_is_known:
        "[[domain]]\nname = \"b\"\nvni = 1\ntunnel = \"gre\" # <-\n"
            => "tunnel", "\"gre\" is not one of \"vxlan\", \"nvgre\", \"geneve\"";
    nvgre_low_vsids_are_reserved:
        "[[domain]]\nname = \"b\"\nvni = 4095 # <-\ntunnel = \"nvgre\"\n"
            => "vni", "reserved NVGRE VSID";
    nvgre_vendor_vsid_is_reserved:
        "[[domain]]\nname = \"b\"\nvni = 16777215 # <-\ntunnel = \"nvgre\"\n"
            => "vni", "reserved NVGRE VSID";
    nvgre_has_no_udp_port:
        "[[domain]]\nname = \"b\"\nvni = 5000\ntunnel = \"nvgre\"\nudp_port = 4789 # <-\n"
            => "udp_port", "no UDP header";
    domain_udp_port_is_not_zero:
        "[[domain]]\nname = \"b\"\nvni = 5000\nudp_port = 0 # <-\n"
            => "udp_port", "0 is out of range (1..=65535)";
    vni_is_unique_per_tunnel_and_port:
        format!("{BLUE}[[domain]]\nname = \"red\"\nvni = 5000 # <-\ntunnel = \"vxlan\"\n")
            => "vni", "already used by domain \"blue\"";
    one_udp_port_carries_one_tunnel_type:
        format!("{BLUE}[[domain]]\nname = \"red\"\nvni = 6000\ntunnel = \"geneve\"\nudp_port = 4789 # <-\n")
            => "udp_port", "already carries vxlan";
    flood_and_group_are_exclusive:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"198.18.0.2\"]\ngroup = \"239.1.1.1\" # <-\n")
            => "group", "together with flood";
    group_is_multicast:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\ngroup = \"198.18.0.9\" # <-\n")
            => "group", "not a usable multicast group";
    group_is_not_link_local_control:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\ngroup = \"224.0.0.5\" # <-\n")
            => "group", "not a usable multicast group";
    group_family_needs_an_uplink:
        "[[uplink]]\nname = \"u\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\n\
         [[domain]]\nname = \"b\"\nvni = 1\ngroup = \"ff0e::1\" # <-\n"
            => "group", "no uplink has an IPv6 address";
    flood_excludes_our_own_address:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"198.18.0.2\",\n \"2001:db8::1\"] # <-\n")
            => "flood", "our own address (uplink \"up0\")";
    flood_entries_are_unicast:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"239.1.1.1\"] # <-\n")
            => "flood", "must be unicast";
    flood_entries_are_addresses:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"host-b\"] # <-\n")
            => "flood", "not an IPv4 or IPv6 address";
    flood_entries_are_listed_once:
        format!("{UP}[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"198.18.0.2\", \"198.18.0.2\"] # <-\n")
            => "flood", "listed twice";
    flood_family_needs_an_uplink:
        "[[domain]]\nname = \"b\"\nvni = 1\nflood = [\"198.18.0.2\"] # <-\n"
            => "flood", "no uplink has an IPv4 address";
    nvgre_does_not_keep_inner_tags:
        "[[domain]]\nname = \"b\"\nvni = 5000\ntunnel = \"nvgre\"\ninner_vlan = \"keep\" # <-\n"
            => "inner_vlan", "RFC 7637";
    vxlan_ports_are_few:
        "[[domain]]\nname = \"a\"\nvni = 1\n\
         [[domain]]\nname = \"b\"\nvni = 1\nudp_port = 4790\n\
         [[domain]]\nname = \"c\"\nvni = 1\nudp_port = 4791\n\
         [[domain]]\nname = \"d\"\nvni = 1\nudp_port = 4792\n\
         [[domain]]\nname = \"e\"\nvni = 1\nudp_port = 4793 # <-\n"
            => "udp_port", "vxlan domains may use at most 4 distinct UDP ports";
    uplink_addresses_of_a_family_are_few:
        (0..9).map(|i| format!("[[uplink]]\nname = \"u{i}\"\ndevice = \"net_null{i}\"\nipv4 = \"198.18.{i}.1/24\"{}\n",
            if i == 8 { " # <-" } else { "" })).collect::<String>()
            => "ipv4", "at most 8 uplinks";
    nvgre_flow_id_is_for_nvgre_only:
        "[[domain]]\nname = \"b\"\nvni = 5000\ntunnel = \"geneve\"\nnvgre_flow_id = false # <-\n"
            => "nvgre_flow_id", "only for tunnel \"nvgre\", not \"geneve\"";
}

#[test]
fn domain_defaults_are_vxlan_4789_learning_drop_tagged() {
    let d = &parse(BLUE).domains[0];
    assert_eq!(d.tunnel, Tunnel::Vxlan);
    assert_eq!(d.udp_port, Some(4789));
    assert!(d.learning);
    assert_eq!(d.flood, Flood::HeadEnd(vec![]));
    assert_eq!(d.inner_vlan, InnerVlan::Drop);
    assert!(d.nvgre_flow_id);
}

#[test]
fn nvgre_domains_may_send_flow_id_zero() {
    let c =
        parse("[[domain]]\nname = \"d\"\nvni = 5000\ntunnel = \"nvgre\"\nnvgre_flow_id = false\n");
    assert!(!c.domains[0].nvgre_flow_id);
}

#[test]
fn one_vni_may_serve_different_tunnels_and_ports() {
    let c = parse(
        "[[domain]]\nname = \"a\"\nvni = 5000\n\
         [[domain]]\nname = \"b\"\nvni = 5000\ntunnel = \"geneve\"\n\
         [[domain]]\nname = \"c\"\nvni = 5000\nudp_port = 8472\n\
         [[domain]]\nname = \"d\"\nvni = 5000\ntunnel = \"nvgre\"\n",
    );
    assert_eq!(c.domains[1].udp_port, Some(6081));
    assert_eq!(c.domain_by_vni(Tunnel::Vxlan, Some(8472), 5000), Some(2));
    assert_eq!(c.domain_by_vni(Tunnel::Nvgre, None, 5000), Some(3));
    assert_eq!(c.domain_by_vni(Tunnel::Geneve, Some(6081), 1), None);
}

// --- [[vm_port]] ----------------------------------------------------------

refuse! {
    vm_port_domain_must_exist:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"bleu\" # <-\n")
            => "domain", "\"bleu\" is not a [[domain]] name";
    vm_port_socket_is_not_the_ctl_socket:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/run/nvo/nvo.sock\" # <-\ndomain = \"blue\"\n")
            => "socket", "ctl_socket";
    vm_port_sockets_are_distinct:
        format!("{BLUE}{VM1}[[vm_port]]\nname = \"vm2\"\nsocket = \"/tmp/vm1.sock\" # <-\ndomain = \"blue\"\n")
            => "socket", "already the socket of vm_port \"vm1\"";
    vm_port_mode_is_server_or_client:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nmode = \"master\" # <-\n")
            => "mode", "is not one of \"server\", \"client\"";
    vm_port_queues_at_most_the_max:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nqueues = 65 # <-\n")
            => "queues", "65 is out of range (1..=64)";
    vm_port_queues_at_least_one:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nqueues = 0 # <-\n")
            => "queues", "out of range";
    vlan_ids_are_1_to_4094:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\nvlan_map = {{ 4095 = \"blue\" }} # <-\n")
            => "vlan_map", "VLAN id 4095 is outside 1..=4094";
    vlan_ids_are_numbers:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\nvlan_map = {{ x = \"blue\" }} # <-\n")
            => "vlan_map", "VLAN id x";
    vlan_map_domains_must_exist:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\nvlan_map = {{ 10 = \"red\" }} # <-\n")
            => "vlan_map", "\"red\" is not a [[domain]] name";
    vlan_map_maps_a_domain_once:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\nvlan_map = {{ 10 = \"blue\", 20 = \"blue\" }} # <-\n")
            => "vlan_map", "already mapped to VLAN 10";
    vlan_map_excludes_the_untagged_domain:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nvlan_map = {{ 10 = \"blue\" }} # <-\n")
            => "vlan_map", "already this port's untagged domain";
    vm_port_without_domain_must_be_patched:
        "[[vm_port]] # <-\nname = \"vm1\"\nsocket = \"/tmp/a\"\n"
            => "", "has no domain and no vlan_map";
    vm_port_learn_limit_is_not_negative:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nlearn_limit = -5 # <-\n")
            => "learn_limit", "-5 is out of range";
    vm_port_mac_limit_action_is_known:
        format!("{BLUE}[[vm_port]]\nname = \"vm1\"\nsocket = \"/tmp/a\"\ndomain = \"blue\"\nmac_limit_action = \"flood\" # <-\n")
            => "mac_limit_action", "\"forward\", \"drop\"";
}

// --- [[patch]] ------------------------------------------------------------

const TWO_FREE: &str = "[[vm_port]]\nname = \"a\"\nsocket = \"/tmp/a\"\n[[vm_port]]\nname = \"b\"\nsocket = \"/tmp/b\"\n";

refuse! {
    patched_vm_port_belongs_to_no_domain:
        format!("{BLUE}{VM1}[[vm_port]]\nname = \"b\"\nsocket = \"/tmp/b\"\n[[patch]]\nports = [\"b\",\n \"vm1\"] # <-\n")
            => "ports", "belongs to a domain (vm_port at line 6)";
    patched_uplink_has_no_address:
        format!("{UP}[[vm_port]]\nname = \"a\"\nsocket = \"/tmp/a\"\n[[patch]]\nports = [\"a\", \"up0\"] # <-\n")
            => "ports", "has a VTEP address";
    patch_names_existing_ports:
        format!("{TWO_FREE}[[patch]]\nports = [\"a\", \"c\"] # <-\n")
            => "ports", "\"c\" is not a vm_port or uplink name";
    patch_joins_exactly_two:
        format!("{TWO_FREE}[[patch]]\nports = [\"a\", \"b\", \"a\"] # <-\n")
            => "ports", "names 3 ports";
    port_is_in_one_patch_only:
        format!("{TWO_FREE}[[vm_port]]\nname = \"c\"\nsocket = \"/tmp/c\"\n[[patch]]\nports = [\"a\", \"b\"]\n[[patch]]\nports = [\"c\", \"a\"] # <-\n")
            => "ports", "already in patch #1";
    patch_does_not_join_a_port_to_itself:
        format!("{TWO_FREE}[[patch]]\nports = [\"a\", \"a\"] # <-\n")
            => "ports", "already in patch #1";
}

#[test]
fn patch_joins_a_vm_port_and_an_addressless_uplink() {
    let c = parse(
        "[[vm_port]]\nname = \"a\"\nsocket = \"/tmp/a\"\n\
         [[uplink]]\nname = \"ring\"\ndevice = \"net_ring0\"\n\
         [[patch]]\nports = [\"ring\", \"a\"]\n",
    );
    assert_eq!(c.patches[0].ports, [PortRef::Uplink(0), PortRef::Vm(0)]);
    assert_eq!(c.patched_to(PortRef::Vm(0)), Some(PortRef::Uplink(0)));
    assert_eq!(c.port_by_name("ring"), Some(PortRef::Uplink(0)));
}

// --- [[mac]] --------------------------------------------------------------

refuse! {
    mac_syntax_is_checked:
        format!("{BLUE}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:01\" # <-\nport = \"x\"\n")
            => "mac", "not a MAC address";
    mac_is_unicast:
        format!("{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"01:00:5e:00:00:01\" # <-\nport = \"vm1\"\n")
            => "mac", "not a unicast address";
    mac_is_not_zero:
        format!("{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"00:00:00:00:00:00\" # <-\nport = \"vm1\"\n")
            => "mac", "not a unicast address";
    mac_domain_must_exist:
        format!("{BLUE}[[mac]]\ndomain = \"red\" # <-\nmac = \"52:54:00:00:00:01\"\nport = \"vm1\"\n")
            => "domain", "not a [[domain]] name";
    mac_is_mapped_once_per_domain:
        format!("{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nport = \"vm1\"\n\
                 [[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\" # <-\nport = \"vm1\"\n")
            => "mac", "already mapped in domain \"blue\"";
    mac_has_vtep_or_port_not_both:
        format!("{UP}{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nvtep = \"198.18.0.2\"\nport = \"vm1\" # <-\n")
            => "port", "together with vtep";
    mac_has_vtep_or_port:
        format!("{BLUE}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\" # <-\n")
            => "", "needs either vtep or port";
    mac_port_is_a_vm_port:
        format!("{UP}{BLUE}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nport = \"up0\" # <-\n")
            => "port", "\"up0\" is not a vm_port name";
    mac_port_serves_the_domain:
        format!("{BLUE}{VM1}[[domain]]\nname = \"red\"\nvni = 6000\n[[mac]]\ndomain = \"red\"\nmac = \"52:54:00:00:00:01\"\nport = \"vm1\" # <-\n")
            => "port", "vm_port \"vm1\" is not in domain \"red\"";
    mac_vtep_is_not_ours:
        format!("{UP}{BLUE}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nvtep = \"198.18.0.1\" # <-\n")
            => "vtep", "our own address";
    mac_vtep_family_needs_an_uplink:
        format!("{BLUE}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nvtep = \"2001:db8::2\" # <-\n")
            => "vtep", "no uplink has an IPv6 address";
    mac_ip_is_a_host_address:
        format!("{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nport = \"vm1\"\nip = \"224.0.0.1\" # <-\n")
            => "ip", "not a host address";
    mac_ip_is_unique_in_its_domain:
        format!("{BLUE}{VM1}[[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nport = \"vm1\"\nip = \"10.0.0.1\"\n\
                 [[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:02\"\nport = \"vm1\"\nip = \"10.0.0.1\" # <-\n")
            => "ip", "already given to another MAC";
}

#[test]
fn same_mac_and_ip_may_live_in_two_domains() {
    let c = parse(&format!(
        "{UP}{BLUE}[[domain]]\nname = \"red\"\nvni = 6000\n\
         [[mac]]\ndomain = \"blue\"\nmac = \"52:54:00:00:00:01\"\nvtep = \"198.18.0.2\"\nip = \"10.0.0.1\"\n\
         [[mac]]\ndomain = \"red\"\nmac = \"52:54:00:00:00:01\"\nvtep = \"2001:db8::2\"\nip = \"10.0.0.1\"\n"
    ));
    assert_eq!(c.static_macs.len(), 2);
    assert_eq!(c.static_macs[1].domain, 1);
    let v6: IpAddr = "2001:db8::2".parse().unwrap();
    assert_eq!(c.static_macs[1].target, MacTarget::Vtep(v6));
}

// --- examples, helpers, diff ---------------------------------------------

fn examples_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_shipped_example_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            n += 1;
        }
    }
    assert!(n >= 3, "expected the shipped examples, found {n}");
}

#[test]
fn overlay_example_resolves_names_to_indices() {
    let c = Config::load(examples_dir().join("overlay.toml")).unwrap();
    let blue = c.domain_by_name("blue").unwrap();
    assert_eq!(c.vm_ports[0].domain, Some(blue));
    assert_eq!(c.domains[2].tunnel, Tunnel::Nvgre);
    assert_eq!(c.domains[2].udp_port, None);
    assert_eq!(c.static_macs[0].target, MacTarget::Port(0));
    assert_eq!(c.vm_ports[1].mac_limit_action, MacLimitAction::Drop);
}

#[test]
fn gateway_example_maps_vlans() {
    let c = Config::load(examples_dir().join("gateway.toml")).unwrap();
    let gw = &c.vm_ports[0];
    assert_eq!(gw.domain, None);
    assert_eq!(gw.vlan_map.get(&200), Some(&1));
    assert!(gw.serves(2));
    assert_eq!(c.domains[1].udp_port, Some(8472));
}

#[test]
fn eal_args_put_control_core_first_and_devices_before_passthrough() {
    let c = parse(&format!(
        "[eal]\nargs = [\"--log-level=7\"]\nmemory_mb = 256\n[cpu]\ncontrol = 2\nworkers = [3, 1]\n{UP}"
    ));
    assert_eq!(
        c.eal_args("nvo"),
        [
            "nvo",
            "-l",
            "2,3,1",
            "--main-lcore",
            "2",
            "--file-prefix",
            "nvo",
            "-m",
            "256",
            "--vdev",
            "net_null0",
            "--log-level=7"
        ]
    );
}

#[test]
fn diff_of_equal_configs_is_empty() {
    let text = format!("{UP}{BLUE}{VM1}");
    assert!(parse(&text).diff(&parse(&text)).is_empty());
}

#[test]
fn diff_names_what_changed() {
    let old = parse(&format!("{UP}{BLUE}{VM1}"));
    // A domain inserted before "blue" shifts indices: vm1 must not show as
    // changed for that alone.
    let new = parse(&format!(
        "{UP}[[domain]]\nname = \"red\"\nvni = 6000\n{BLUE}{VM1}learn_limit = 10\n[switch]\nburst = 16\n"
    ));
    let d = old.diff(&new);
    assert_eq!(d.restart, vec!["switch"]);
    assert_eq!(d.domains.added, vec!["red".to_string()]);
    assert!(d.domains.changed.is_empty());
    assert_eq!(d.vm_ports.changed, vec!["vm1".to_string()]);

    let moved = parse(&format!(
        "{UP}[[domain]]\nname = \"red\"\nvni = 6000\n{BLUE}{VM1}"
    ));
    assert!(old.diff(&moved).vm_ports.is_empty());
    assert!(moved.diff(&old).domains.removed == vec!["red".to_string()]);
}

#[test]
fn uplink_for_prefers_on_link_then_gateway_then_family() {
    let c = parse(
        "[[uplink]]\nname = \"a\"\ndevice = \"net_null0\"\nipv4 = \"10.0.0.1/24\"\n\
         [[uplink]]\nname = \"b\"\ndevice = \"net_null1\"\nipv4 = \"10.1.0.1/24\"\ngateway4 = \"10.1.0.254\"\n\
         [[uplink]]\nname = \"c\"\ndevice = \"net_null2\"\nipv6 = \"2001:db8::1/64\"\n",
    );
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(c.uplink_for(ip("10.0.0.9")), Some(0));
    assert_eq!(c.uplink_for(ip("10.1.0.9")), Some(1));
    assert_eq!(c.uplink_for(ip("192.0.2.1")), Some(1));
    assert_eq!(c.uplink_for(ip("2001:db9::1")), Some(2));
    assert_eq!(parse("").uplink_for(ip("10.0.0.9")), None);
}
