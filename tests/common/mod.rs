//! End-to-end test harness for nvo: network namespaces, veth pairs, child
//! daemons with logs, virtio_user "VMs", kernel VXLAN and Open vSwitch peer
//! VTEPs, tshark captures and dissection, and a private etcd.
//!
//! Every integration test that needs it says `mod common;`. Everything here
//! needs root and the tools of `scripts/setup.sh`; a missing prerequisite is
//! a panic that names it, never a silent skip. All traffic stays inside
//! namespaces this harness creates and removes.

// Each test binary uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod capture;
pub mod daemon;
pub mod etcd;
pub mod frames;
pub mod kernel;
pub mod netns;
pub mod ovs;
pub mod switch;
pub mod vm;

pub use capture::{
    assert_dissects_clean, check_dissects_clean, check_dissects_clean_with, count, dissect,
    read_pcap, write_pcap, Capture, Dissection, Encap,
};
pub use daemon::Daemon;
pub use etcd::Etcd;
pub use kernel::{KernelVxlan, KernelVxlanPeer};
pub use netns::{Netns, VethEnd, VethPair};
pub use ovs::{OvsConfig, OvsPeer, OvsTunnel};
pub use switch::{DomainSpec, NvoHost, NvoSpec};
pub use vm::{StandInSwitch, VhostMode, VmEndpoint};

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Heavy end-to-end cases share two cores and hugepages: tests of one binary
/// take this lock so that cargo's parallel test threads run them in turn.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A failed case must not fail every later one: ignore poisoning.
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A number unique within this process, for names of namespaces, links,
/// DPDK file prefixes.
pub fn next_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The Debian package that provides a tool, for error messages.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "ip" | "bridge" => "iproute2",
        "ethtool" => "ethtool",
        "dpdk-testpmd" => "dpdk-dev",
        "tshark" => "tshark",
        "ping" => "iputils-ping",
        "etcd" => "etcd-server",
        "stdbuf" | "kill" => "coreutils",
        "python3" => "python3",
        t if t.starts_with("ovs") => "openvswitch-switch",
        _ => "?",
    }
}

fn in_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

/// Panics naming every missing tool (and its Debian package).
pub fn require_tools(tools: &[&str]) {
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| !in_path(t))
        .map(|t| format!("{t} (Debian package {})", package_of(t)))
        .collect();
    assert!(
        missing.is_empty(),
        "end-to-end test prerequisites missing: {}; run scripts/setup.sh",
        missing.join(", ")
    );
}

/// Panics unless running as root (namespaces, veths, hugepages need it).
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    assert_eq!(
        uid, "0",
        "end-to-end tests need root (network namespaces, veth pairs, hugepages); uid is {uid}"
    );
}

/// Panics unless at least `pages` free 2 MiB hugepages are reserved.
pub fn require_hugepages(pages: u64) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let free = meminfo
        .lines()
        .find(|l| l.starts_with("HugePages_Free:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        free >= pages,
        "DPDK needs {pages} free hugepages, {free} are free; run scripts/setup.sh"
    );
}

/// A command line as text, for messages.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command to completion: its stdout, or an error with everything
/// needed to understand the failure.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", show(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "`{}` failed ({}):\n{}{}",
            show(cmd),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `run` over an argument list, panicking on failure.
pub fn must(args: &[&str]) -> String {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    run(&mut cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `ready` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends a signal to one process by PID (only PIDs this harness started).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Whether a PID names a live process (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// SIGTERM, then SIGKILL after `grace`, for a process that is not our child.
pub fn terminate(pid: u32, grace: Duration) {
    if !alive(pid) {
        return;
    }
    signal(pid, "TERM");
    if wait_until(grace, "exit", || !alive(pid)).is_err() {
        signal(pid, "KILL");
        let _ = wait_until(Duration::from_secs(2), "exit", || !alive(pid));
    }
}

/// Waits for a path (a Unix socket, a pid file) to appear.
pub fn wait_for_path(path: &Path, timeout: Duration) -> Result<(), String> {
    wait_until(timeout, &path.display().to_string(), || path.exists())
}

/// The `nvo` binary cargo built for this test run.
pub fn nvo_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nvo")
}

/// Writes `config` to `<log_dir>/<name>.toml` and starts
/// `nvo run --config` on it inside `ns` (nvo's uplink veth end and the
/// vhost-user sockets it serves are reachable from there), as a `Daemon`.
pub fn start_nvo(ns: &Netns, name: &str, config: &str, log_dir: &Path) -> Daemon {
    let path = log_dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let path = path.display().to_string();
    ns.spawn(name, &[nvo_bin(), "run", "--config", &path], log_dir)
}
