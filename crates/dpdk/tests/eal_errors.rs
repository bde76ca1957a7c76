//! EAL initialisation failures: each case needs a fresh process (EAL can be
//! initialised once per process), so this binary re-executes itself once per
//! case with the case's name in an environment variable; the child tries the
//! failing initialisation, prints what it got and exits. The parent checks
//! that every child reported an error and exited normally (no abort, no
//! panic). See `common/mod.rs` for the one-EAL-per-process organisation.

mod common;

use std::process::Command;

use nvo_dpdk::{Eal, Error, Mempool, DEFAULT_DATA_ROOM};

/// The child cases: name, extra EAL arguments, what the child must print.
const CASES: &[(&str, &[&str], &str)] = &[
    (
        "hugepage_dir_missing",
        &["--huge-dir", "/nonexistent/nvo-hugepages"],
        "init error: EalInit",
    ),
    (
        "unknown_eal_option",
        &["--no-such-eal-option"],
        "init error: EalInit",
    ),
    (
        "pool_beyond_memory_limit",
        &["--socket-limit", "16"],
        "pool error: MempoolCreate ENOMEM",
    ),
    (
        "nul_in_argument",
        &["--file-prefix", "nul\0here"],
        "init error: Nul",
    ),
];

fn main() {
    if let Ok(case) = std::env::var(common::CHILD_CASE) {
        child(&case);
    }
    common::require_root_and_hugepages();
    let exe = std::env::current_exe().expect("own path");
    let (mut passed, mut failed) = (0, 0);
    for (name, _, expected) in CASES {
        let prefix = format!("nvo-test-err-{name}");
        let out = Command::new(&exe)
            .env(common::CHILD_CASE, name)
            .output()
            .expect("spawn child");
        common::clean_runtime(&prefix);
        let stdout = String::from_utf8_lossy(&out.stdout);
        // A Nul error never reaches EAL, which therefore stays available.
        let again = if *name == "nul_in_argument" {
            "again: not attempted"
        } else {
            "again: EalOnce"
        };
        let ok = out.status.success() && stdout.contains(expected) && stdout.contains(again);
        if ok {
            passed += 1;
            println!("test {name} ... ok");
        } else {
            failed += 1;
            println!(
                "test {name} ... FAILED (status {:?}, expected {expected:?})",
                out.status
            );
            println!("  child stdout: {stdout}");
            println!("  child stderr: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// Runs one failing case in this (child) process and exits 0 if it got
/// errors where errors were due.
fn child(case: &str) -> ! {
    let (_, extra, _) = CASES
        .iter()
        .find(|(n, _, _)| *n == case)
        .expect("known case");
    let prefix = format!("nvo-test-err-{case}");
    let mut args = common::eal_args(&prefix, &["-l", "0"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    match Eal::init(&args) {
        Err(e) => {
            let kind = match e {
                Error::EalInit { .. } => "EalInit",
                Error::Nul { .. } => "Nul",
                _ => "other",
            };
            println!("init error: {kind}: {e}");
        }
        Ok(eal) => match Mempool::create(&eal, "err_pool", 65535, 0, DEFAULT_DATA_ROOM, None) {
            Err(
                e @ Error::MempoolCreate {
                    errno: nvo_dpdk::Errno::ENOMEM,
                    ..
                },
            ) => {
                println!("pool error: MempoolCreate ENOMEM: {e}");
                // The handle stays alive until the second init below.
                std::mem::forget(eal);
            }
            other => println!("pool: unexpected {other:?}"),
        },
    }
    // After a failed or successful init, EAL cannot be initialised a second
    // time; asking must be an error, not an abort. A Nul error never reached
    // EAL, so there is nothing to check.
    if case == "nul_in_argument" {
        println!("again: not attempted");
    } else {
        match Eal::init(common::eal_args(&format!("{prefix}-again"), &["-l", "0"])) {
            Err(Error::EalOnce(state)) => println!("again: EalOnce ({state})"),
            other => println!("again: unexpected {other:?}"),
        }
    }
    std::process::exit(0);
}
