//! The harness shared by nvo-dpdk's integration tests.
//!
//! # One EAL per process
//!
//! DPDK's EAL can be initialised once per process and never again after
//! `rte_eal_cleanup`. libtest runs `#[test]` functions on several threads of
//! one process, so it cannot give each test its own EAL. Each file in
//! `crates/dpdk/tests/` is therefore its own test binary declared with
//! `harness = false` in Cargo.toml: its `main` checks the preconditions (root,
//! free 2 MiB hugepages), initialises EAL once with its own `--file-prefix`
//! and `--no-pci` (so test binaries never share DPDK runtime files and never
//! touch a real NIC), runs its cases one after the other on the main lcore,
//! drops EAL, removes `/var/run/dpdk/<prefix>`, and prints
//! `N passed, M failed`. Cargo runs the binaries one after another.
//! Cases that need a fresh or broken EAL (no hugepages, too little memory)
//! run in a child process: the test binary re-executes itself with an
//! environment variable naming the case.
//!
//! Run them all with
//! `cargo test -p nvo-dpdk --tests` as root on a machine with free
//! hugepages (`scripts/setup.sh` reserves them). A missing precondition
//! fails the run with a message saying what is missing; nothing is skipped.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use nvo_dpdk::Eal;

/// The environment variable that makes a test binary run one child case.
pub const CHILD_CASE: &str = "NVO_DPDK_TEST_CHILD";

/// One test case: a name and a body that panics on failure.
pub type Case = (&'static str, fn(&Eal));

/// Fails the whole binary, with `why`, when root or hugepages are missing.
pub fn require_root_and_hugepages() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        fail_precondition(&format!(
            "the DPDK integration tests need root (effective uid is {uid})"
        ));
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let free: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if free < 32 {
        fail_precondition(&format!(
            "the DPDK integration tests need at least 32 free 2 MiB hugepages, {free} are free \
             (run scripts/setup.sh)"
        ));
    }
}

/// Prints why the binary cannot run and exits non-zero.
fn fail_precondition(why: &str) -> ! {
    eprintln!("FAILED precondition: {why}");
    println!("0 passed, 1 failed");
    std::process::exit(1);
}

/// The EAL arguments of test binary `prefix`, with `extra` appended.
pub fn eal_args(prefix: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "nvo-dpdk-test",
        "--no-pci",
        "--file-prefix",
        prefix,
        "--log-level",
        "lib.eal:warning",
        "--log-level",
        "lib.vhost.config:warning",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Removes what DPDK leaves behind for `prefix`.
pub fn clean_runtime(prefix: &str) {
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    if let Ok(entries) = std::fs::read_dir("/dev/hugepages") {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{prefix}map_"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Initialises EAL for this binary, runs `cases` in order, cleans up, prints
/// the tally and exits with 0 only if every case passed.
pub fn run(prefix: &str, extra_eal_args: &[&str], cases: &[Case]) -> ! {
    require_root_and_hugepages();
    clean_runtime(prefix);
    // One line per failed assertion, not a backtrace per case.
    std::panic::set_hook(Box::new(|info| eprintln!("    {info}")));
    let eal = match Eal::init(eal_args(prefix, extra_eal_args)) {
        Ok(eal) => eal,
        Err(e) => fail_precondition(&format!("EAL init for the tests failed: {e}")),
    };
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let start = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| case(&eal))) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.0?})", start.elapsed());
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    drop(eal);
    clean_runtime(prefix);
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
