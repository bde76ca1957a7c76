//! "VMs" as kernel network stacks behind a real virtio_user device, and a
//! dpdk-testpmd stand-in for the switch.

use super::{require_hugepages, require_tools, wait_for_path, Daemon, Netns, VethPair};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Which side of the vhost-user socket listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VhostMode {
    /// The switch is the vhost-user server (nvo's default); the VM's
    /// virtio_user connects to the switch's socket.
    SwitchServer,
    /// The VM's virtio_user listens (`server=1`); the switch connects as a
    /// vhost-user client.
    SwitchClient,
}

/// A dpdk-testpmd command line for io forwarding between `vdevs`, lean on
/// memory, its output line-buffered so that its log can be waited on.
/// `--in-memory` leaves no runtime files; the memory stays shareable with a
/// vhost-user peer thanks to `--single-file-segments` (memfd).
fn testpmd(ns: Option<&Netns>, prefix: &str, vdevs: &[String]) -> Command {
    let mut cmd = match ns {
        Some(ns) => ns.cmd("stdbuf"),
        None => Command::new("stdbuf"),
    };
    cmd.args([
        "-oL",
        "-eL",
        "dpdk-testpmd",
        "-l",
        "0,1",
        "--no-pci",
        "--in-memory",
    ]);
    cmd.args(["--single-file-segments", "--file-prefix", prefix]);
    for v in vdevs {
        cmd.args(["--vdev", v]);
    }
    cmd.args([
        "--",
        "--forward-mode=io",
        "--auto-start",
        "--no-mlockall",
        "--total-num-mbufs=4096",
    ]);
    cmd
}

/// The line testpmd prints once its ports are started and it forwards.
const TESTPMD_READY: &str = "Press enter to exit";

fn dpdk_prefix(tag: &str) -> String {
    format!("nvot{}x{}{tag}", std::process::id(), super::next_id())
}

/// Removes what a DPDK process of this file prefix may leave behind.
fn remove_dpdk_files(prefix: &str) {
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    if let Ok(dir) = std::fs::read_dir("/dev/hugepages") {
        for e in dir.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{prefix}map_"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn check_testpmd_ports(d: &mut Daemon, ports: usize) -> Result<(), String> {
    d.wait_for_log(TESTPMD_READY, Duration::from_secs(30))?;
    let log = d.log();
    if log.contains("probe failed") || !log.contains(&format!("Port {}:", ports - 1)) {
        return Err(format!(
            "{}: a port failed to come up; log:\n{}",
            d.name(),
            d.tail(60)
        ));
    }
    Ok(())
}

/// A VM stand-in: namespace `<name>` whose interface `vm0` (the test's MAC
/// and addresses) is one end of a veth; the other end `wire0`, in the same
/// namespace, is bridged by a dpdk-testpmd (io forwarding) to a
/// `net_virtio_user0` on the switch's vhost-user socket. The testpmd runs
/// inside the namespace: DPDK 22.11's af_packet fanout group id is
/// pid ^ ifindex, unique only per namespace, and two bridges in one
/// namespace can collide (probe fails with EINVAL).
pub struct VmEndpoint {
    bridge: Option<Daemon>,
    pair: VethPair,
    ns: Netns,
    name: String,
    mac: String,
    socket: PathBuf,
    mode: VhostMode,
    prefix: String,
    log_dir: PathBuf,
}

impl VmEndpoint {
    /// Creates the VM and starts its bridge. With `SwitchServer`, waits (at
    /// most 30 s) for the switch's socket, then until the bridge forwards;
    /// with `SwitchClient`, returns once the VM's socket listens: call
    /// `wait_ready` after the switch is up. `addrs` are CIDRs (v4 or v6).
    pub fn start(
        log_dir: &Path,
        name: &str,
        socket: &Path,
        mode: VhostMode,
        mac: &str,
        addrs: &[&str],
    ) -> VmEndpoint {
        require_tools(&["dpdk-testpmd", "stdbuf"]);
        require_hugepages(32);
        let ns = Netns::new(name);
        let pair = VethPair::new(Some(&ns), "vm0", Some(&ns), "wire0");
        pair.b.quiet();
        pair.a.set_mac(mac);
        for a in addrs {
            pair.a.add_addr(a);
        }
        let mut vm = VmEndpoint {
            bridge: None,
            pair,
            ns,
            name: name.to_string(),
            mac: mac.to_string(),
            socket: socket.to_path_buf(),
            mode,
            prefix: dpdk_prefix("vm"),
            log_dir: log_dir.to_path_buf(),
        };
        vm.start_bridge();
        vm
    }

    fn start_bridge(&mut self) {
        if self.mode == VhostMode::SwitchServer {
            wait_for_path(&self.socket, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("the switch's vhost-user socket: {e}"));
        }
        let mut vdev = format!("net_virtio_user0,path={},queues=1", self.socket.display());
        if self.mode == VhostMode::SwitchClient {
            vdev.push_str(",server=1");
        }
        let af = "net_af_packet0,iface=wire0".to_string();
        let cmd = testpmd(Some(&self.ns), &self.prefix, &[vdev, af]);
        let d = Daemon::spawn(&format!("{}-bridge", self.name), cmd, &self.log_dir);
        self.bridge = Some(d);
        match self.mode {
            VhostMode::SwitchServer => self.wait_ready().unwrap_or_else(|e| panic!("{e}")),
            VhostMode::SwitchClient => wait_for_path(&self.socket, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{}: its vhost-user socket: {e}", self.name)),
        }
    }

    /// Waits (at most 30 s) until the bridge has both ports up and forwards.
    pub fn wait_ready(&mut self) -> Result<(), String> {
        let d = self.bridge.as_mut().expect("bridge started");
        check_testpmd_ports(d, 2)
    }

    /// Stops the bridge (the VM's virtio device goes away) and starts it
    /// again: for reconnection tests.
    pub fn restart_bridge(&mut self) {
        if let Some(mut d) = self.bridge.take() {
            d.stop();
        }
        remove_dpdk_files(&self.prefix);
        self.start_bridge();
    }

    /// The bridge process (its log, PID).
    pub fn bridge(&mut self) -> &mut Daemon {
        self.bridge.as_mut().expect("bridge started")
    }

    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    pub fn mac(&self) -> &str {
        &self.mac
    }

    /// The VM's interface name in its namespace (`vm0`), for captures.
    pub fn iface(&self) -> &str {
        self.pair.a.name()
    }

    /// Sets the MTU of the VM's interface and of the bridged veth end.
    pub fn set_mtu(&self, mtu: u32) {
        self.pair.set_mtu(mtu);
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Pings from the VM: `count` requests, all must be answered.
    pub fn ping(&self, addr: &str, count: u32) -> Result<String, String> {
        self.ns.ping(addr, count)
    }
}

impl Drop for VmEndpoint {
    fn drop(&mut self) {
        if let Some(mut d) = self.bridge.take() {
            d.stop();
        }
        remove_dpdk_files(&self.prefix);
    }
}

/// A dpdk-testpmd with one `net_vhost` port per socket, forwarding io
/// between ports 0 and 1 (2 and 3, ...): stands in for nvo to prove the VM
/// side works.
pub struct StandInSwitch {
    daemon: Daemon,
    prefix: String,
}

impl StandInSwitch {
    /// `vhost_client`: connect to the VMs' sockets (they run with
    /// `VhostMode::SwitchClient`) instead of listening on them.
    pub fn start(log_dir: &Path, sockets: &[&Path], vhost_client: bool) -> StandInSwitch {
        require_tools(&["dpdk-testpmd", "stdbuf"]);
        require_hugepages(32);
        let prefix = dpdk_prefix("sw");
        let vdevs: Vec<String> = sockets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let client = if vhost_client { ",client=1" } else { "" };
                format!("net_vhost{i},iface={},queues=1{client}", s.display())
            })
            .collect();
        let cmd = testpmd(None, &prefix, &vdevs);
        let mut daemon = Daemon::spawn("standin-switch", cmd, log_dir);
        check_testpmd_ports(&mut daemon, sockets.len()).unwrap_or_else(|e| panic!("{e}"));
        StandInSwitch { daemon, prefix }
    }

    /// A testpmd forwarding io between any `vdevs` (ports 0<->1, 2<->3,
    /// ...), run in `ns` if given: e.g. `net_af_packet0,iface=up0` and
    /// `net_pcap0,tx_pcap=FILE` to record what a DPDK uplink receives.
    /// The pcap file is complete once `stop` returned.
    pub fn with_vdevs(log_dir: &Path, ns: Option<&Netns>, vdevs: &[String]) -> StandInSwitch {
        require_tools(&["dpdk-testpmd", "stdbuf"]);
        require_hugepages(32);
        let prefix = dpdk_prefix("io");
        let mut daemon = Daemon::spawn("testpmd-io", testpmd(ns, &prefix, vdevs), log_dir);
        check_testpmd_ports(&mut daemon, vdevs.len()).unwrap_or_else(|e| panic!("{e}"));
        StandInSwitch { daemon, prefix }
    }

    /// Stops testpmd (it closes its ports: pcap files are flushed).
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    pub fn daemon(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

impl Drop for StandInSwitch {
    fn drop(&mut self) {
        self.daemon.stop();
        remove_dpdk_files(&self.prefix);
    }
}
