//! Finds DPDK with pkg-config, generates the bindings with bindgen and
//! compiles the C shim with the same flags DPDK's own users get.
//!
//! A machine without libdpdk-dev or libclang stops here with one line
//! naming `scripts/setup.sh`, never with a page of compiler noise.

use std::env;
use std::path::PathBuf;

/// What to run on a machine that lacks a build dependency.
const SETUP_HINT: &str = "run scripts/setup.sh (as root) to install libdpdk-dev, libclang-dev \
                          and pkg-config";

/// Functions nvo-dpdk calls. Regexes, anchored by bindgen.
const FUNCTIONS: &[&str] = &[
    // EAL, lcores, launching, cycles, errors.
    "rte_eal_init",
    "rte_eal_cleanup",
    "rte_eal_remote_launch",
    "rte_eal_wait_lcore",
    "rte_eal_mp_wait_lcore",
    "rte_eal_get_lcore_state",
    "rte_lcore_count",
    "rte_get_main_lcore",
    "rte_get_next_lcore",
    "rte_lcore_is_enabled",
    "rte_lcore_to_socket_id",
    "rte_socket_id",
    "rte_thread_register",
    "rte_thread_unregister",
    "rte_get_tsc_hz",
    "rte_strerror",
    "rte_version",
    "rte_log_set_global_level",
    // Devices.
    "rte_dev_probe",
    "rte_dev_remove",
    "rte_eal_hotplug_remove",
    "rte_dev_name",
    // Mempools and mbufs.
    "rte_pktmbuf_pool_create",
    "rte_mempool_free",
    "rte_mempool_lookup",
    "rte_mempool_avail_count",
    "rte_mempool_in_use_count",
    "rte_pktmbuf_free_bulk",
    "rte_pktmbuf_clone",
    // Rings (and ports made of rings, the tests' virtual cable).
    "rte_ring_create",
    "rte_ring_free",
    "rte_ring_lookup",
    "rte_eth_from_rings",
    // Ethdev control path.
    "rte_eth_dev_.*",
    "rte_eth_rx_queue_setup",
    "rte_eth_tx_queue_setup",
    "rte_eth_link_get",
    "rte_eth_link_get_nowait",
    "rte_eth_link_to_str",
    "rte_eth_macaddr_get",
    "rte_eth_stats_get",
    "rte_eth_stats_reset",
    "rte_eth_xstats_get",
    "rte_eth_xstats_get_names",
    "rte_eth_xstats_reset",
    "rte_eth_promiscuous_.*",
    "rte_eth_find_next",
    // Hash tables.
    "rte_hash_.*",
    // vhost-user.
    "rte_vhost_.*",
    "rte_eth_vhost_.*",
    // The shim.
    "nvo_rte_.*",
];

/// Types nvo-dpdk names that no allowlisted function reaches.
const TYPES: &[&str] = &[
    "rte_mbuf",
    "rte_mempool",
    "rte_eth_event_type",
    "rte_lcore_state_t",
    "rte_rmt_call_main_t",
    "rte_eth_fc_mode",
];

/// Constants nvo-dpdk uses.
const VARS: &[&str] = &[
    "RTE_MAX_ETHPORTS",
    "RTE_MAX_LCORE",
    "RTE_MAX_QUEUES_PER_PORT",
    "RTE_ETHDEV_QUEUE_STAT_CNTRS",
    "RTE_PKTMBUF_HEADROOM",
    "RTE_MBUF_DEFAULT_.*",
    "RTE_MBUF_F_.*",
    "RTE_ETH_RSS_.*",
    "RTE_ETH_RX_OFFLOAD_.*",
    "RTE_ETH_TX_OFFLOAD_.*",
    "RTE_ETH_LINK_.*",
    "RTE_ETH_SPEED_NUM_.*",
    "RTE_ETH_XSTATS_NAME_SIZE",
    "RTE_ETH_NAME_MAX_LEN",
    "RTE_ETH_DEV_.*",
    "RTE_ETH_ALL",
    "RTE_ETHER_.*",
    "RTE_HASH_EXTRA_FLAGS_.*",
    "RTE_HASH_LOOKUP_BULK_MAX",
    "RTE_HASH_NAMESIZE",
    "RTE_MEMPOOL_NAMESIZE",
    "RTE_RING_NAMESIZE",
    "RING_F_.*",
    "LCORE_ID_ANY",
    "SOCKET_ID_ANY",
    "RTE_LOG_.*",
    "E_RTE_.*",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/shim");

    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(true)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => {
            // pkg-config's own explanation, when it has a short one.
            let text = e.to_string();
            let why = text
                .lines()
                .find(|l| l.contains("Requested") || l.contains("was not found"))
                .map(|l| format!(" ({})", l.trim()))
                .unwrap_or_default();
            println!(
                "cargo::error=DPDK >= 22.11 (libdpdk) not found by pkg-config{why}: {SETUP_HINT}"
            );
            return;
        }
    };

    // The vhost PMD's own API (rte_eth_vhost_*) is not in pkg-config's list: it
    // is a plugin, reachable as a library through a symlink into the pmds dir.
    // EAL's plugin loader dlopens that same file, so the driver registers once.
    // The ring PMD likewise provides rte_eth_from_rings.
    println!("cargo::rustc-link-lib=dylib=rte_net_vhost");
    println!("cargo::rustc-link-lib=dylib=rte_net_ring");
    println!("cargo::metadata=version={}", dpdk.version);

    compile_shim(&dpdk);
    if let Err(msg) = generate_bindings(&dpdk) {
        println!("cargo::error={msg}: {SETUP_HINT}");
    }
}

/// Compiles src/shim/shim.c with DPDK's cflags (its `-include rte_config.h`
/// and `-march` included).
fn compile_shim(dpdk: &pkg_config::Library) {
    let mut build = cc::Build::new();
    build.file("src/shim/shim.c").opt_level(3).warnings(true);
    for dir in &dpdk.include_paths {
        build.include(dir);
    }
    for flag in cflags_without_includes() {
        build.flag(&flag);
    }
    build.compile("nvo_dpdk_shim");
}

/// The cflags pkg-config gives besides `-I` (which `Library` already has).
fn cflags_without_includes() -> Vec<String> {
    let out = std::process::Command::new(env::var("PKG_CONFIG").unwrap_or("pkg-config".into()))
        .args(["--cflags", "libdpdk"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut flags = Vec::new();
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-include" {
            if let Some(file) = words.next() {
                flags.push(format!("-include{file}"));
            }
        } else if !w.starts_with("-I") {
            flags.push(w.to_owned());
        }
    }
    flags
}

/// Runs bindgen over src/shim/wrapper.h into $OUT_DIR/bindings.rs.
fn generate_bindings(dpdk: &pkg_config::Library) -> Result<(), String> {
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let mut builder = bindgen::Builder::default()
        .header("src/shim/wrapper.h")
        .clang_args(
            dpdk.include_paths
                .iter()
                .map(|p| format!("-I{}", p.display())),
        )
        .clang_args(cflags_without_includes())
        .use_core()
        .derive_default(true)
        .derive_debug(true)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::ModuleConsts)
        .clang_macro_fallback()
        // rte_flow.h comes with rte_ethdev.h; its packed protocol headers
        // (l2tpv2, gtp_psc) break derived impls. nvo uses no rte_flow, so
        // whatever of it an allowlisted item reaches stays an opaque blob.
        .opaque_type("rte_flow.*")
        .opaque_type("rte_l2tpv2.*")
        .opaque_type("rte_gtp.*")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    for v in VARS {
        builder = builder.allowlist_var(v);
    }

    // bindgen panics when it cannot load libclang; turn that into one line.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    std::panic::set_hook(default_hook);
    let bindings = match generated {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(format!("bindgen failed on the DPDK headers ({e})")),
        Err(_) => return Err("bindgen could not load libclang".to_owned()),
    };
    bindings
        .write_to_file(out.join("bindings.rs"))
        .map_err(|e| format!("cannot write bindings.rs: {e}"))
}
