//! Network namespaces and veth pairs that clean up after themselves.

use super::{next_id, require_root, require_tools, run, terminate, wait_until, Daemon};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A uniquely named network namespace (`nvo-t-<pid>-<n>-<tag>`), deleted on
/// drop together with its links; processes still running in it are ended
/// first, by PID.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace with its loopback up.
    pub fn new(tag: &str) -> Netns {
        require_root();
        require_tools(&["ip", "ethtool", "ping"]);
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(sweep_stale);
        let name = format!("nvo-t-{}-{}-{tag}", std::process::id(), next_id());
        run(Command::new("ip").args(["netns", "add", &name])).unwrap_or_else(|e| panic!("{e}"));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec NAME program`: add arguments and run or spawn it. The
    /// program keeps ip's PID (ip execs it), so the PID is the program's.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs a command line in the namespace: its stdout or the error.
    pub fn exec(&self, args: &[&str]) -> Result<String, String> {
        run(self.cmd(args[0]).args(&args[1..]))
    }

    /// Runs a command line in the namespace, panicking on failure.
    pub fn must(&self, args: &[&str]) -> String {
        self.exec(args)
            .unwrap_or_else(|e| panic!("in {}: {e}", self.name))
    }

    /// `ip -n NAME args`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        self.must(&["sysctl", "-qw", &format!("{key}={value}")]);
    }

    /// The MAC address of an interface in this namespace.
    pub fn mac(&self, iface: &str) -> String {
        let out = self.ip(&["-o", "link", "show", "dev", iface]);
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_else(|| panic!("{iface} in {} has no MAC: {out}", self.name))
            .to_string()
    }

    /// `count` echo requests 200 ms apart, each waiting at most 1 s: Ok when
    /// every one was answered, else the output of ping.
    pub fn ping(&self, addr: &str, count: u32) -> Result<String, String> {
        let count = count.clamp(1, 100).to_string();
        let deadline = (count.parse::<u32>().unwrap() / 5 + 3).to_string();
        let out = run(self.cmd("ping").args([
            "-n", "-c", &count, "-i", "0.2", "-W", "1", "-w", &deadline, addr,
        ]))?;
        if out.contains(&format!("{count} received")) {
            Ok(out)
        } else {
            Err(out)
        }
    }

    /// Single pings until one is answered, for at most `timeout`: used to
    /// wait for a path to come up (ARP, learning, OVS route cache).
    pub fn ping_until(&self, addr: &str, timeout: Duration) -> Result<(), String> {
        let mut last = String::new();
        wait_until(
            timeout,
            &format!("ping {addr} from {}", self.name),
            || match run(self.cmd("ping").args(["-n", "-c", "1", "-W", "1", addr])) {
                Ok(_) => true,
                Err(e) => {
                    last = e;
                    false
                }
            },
        )
        .map_err(|e| format!("{e}; last attempt: {last}"))
    }

    /// Sends raw Ethernet frames out of an interface of this namespace
    /// (through a python3 AF_PACKET socket: std has no raw sockets and
    /// cannot enter a namespace).
    pub fn inject(&self, iface: &str, frames: &[Vec<u8>]) {
        const SEND: &str = "import socket,sys\n\
            s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n\
            s.bind((sys.argv[1],0))\n\
            for h in sys.argv[2:]: s.send(bytes.fromhex(h))\n";
        let hex: Vec<String> = frames
            .iter()
            .map(|f| f.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        let mut c = self.cmd("python3");
        c.args(["-c", SEND, iface]).args(&hex);
        run(&mut c).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts a long-running program in the namespace as a `Daemon` (log
    /// in `log_dir`, stopped on drop).
    pub fn spawn(&self, name: &str, args: &[&str], log_dir: &Path) -> Daemon {
        let mut c = self.cmd(args[0]);
        c.args(&args[1..]);
        Daemon::spawn(name, c, log_dir)
    }

    /// PIDs of the processes running in this namespace.
    pub fn pids(&self) -> Vec<u32> {
        run(Command::new("ip").args(["netns", "pids", &self.name]))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Only processes this harness started can be in a namespace it named.
        for pid in self.pids() {
            terminate(pid, Duration::from_secs(3));
        }
        if let Err(e) = run(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("harness: {e}");
        }
    }
}

/// Removes what earlier harness runs that were killed left behind: the
/// namespaces `nvo-t-<pid>-...` of test processes no longer alive, after
/// ending the processes still running in them (started by those runs).
fn sweep_stale() {
    let list = run(Command::new("ip").args(["netns", "list"])).unwrap_or_default();
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix("nvo-t-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || super::alive(pid) {
            continue;
        }
        eprintln!("harness: removing stale namespace {name}");
        let pids = run(Command::new("ip").args(["netns", "pids", name])).unwrap_or_default();
        for p in pids.split_whitespace().filter_map(|p| p.parse().ok()) {
            terminate(p, Duration::from_secs(3));
        }
        let _ = run(Command::new("ip").args(["netns", "del", name]));
    }
}

/// One end of a veth pair: its namespace (None: the root namespace) and
/// its name there.
pub struct VethEnd {
    ns: Option<String>,
    name: String,
}

impl VethEnd {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's name, None for the root namespace.
    pub fn ns_name(&self) -> Option<&str> {
        self.ns.as_deref()
    }

    fn ip_cmd(&self) -> Command {
        let mut c = Command::new("ip");
        if let Some(ns) = &self.ns {
            c.args(["-n", ns]);
        }
        c
    }

    fn in_ns(&self, program: &str) -> Command {
        match &self.ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }

    /// `ip [-n NS] args`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        run(self.ip_cmd().args(args)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds an IPv4 or IPv6 address in CIDR form (IPv6 without DAD, so it
    /// is usable at once).
    pub fn add_addr(&self, cidr: &str) {
        if cidr.contains(':') {
            self.ip(&["addr", "add", cidr, "dev", &self.name, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", &self.name]);
        }
    }

    pub fn set_mac(&self, mac: &str) {
        self.ip(&["link", "set", "dev", &self.name, "address", mac]);
    }

    pub fn set_mtu(&self, mtu: u32) {
        self.ip(&["link", "set", "dev", &self.name, "mtu", &mtu.to_string()]);
    }

    pub fn mac(&self) -> String {
        let out = self.ip(&["-o", "link", "show", "dev", &self.name]);
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or("")
            .to_string()
    }

    /// Stops the kernel of this end's namespace from speaking on it (no
    /// IPv6 link-local, router or listener traffic): for an end that a DPDK
    /// port or OVS owns, whose frames the kernel must not also answer.
    pub fn quiet(&self) {
        let key = format!("net.ipv6.conf.{}.disable_ipv6=1", self.name);
        run(self.in_ns("sysctl").args(["-qw", &key])).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Turns transmit checksum offload off: af_packet readers of the peer
    /// end would otherwise see unfinished checksums.
    fn tx_offload_off(&self) {
        run(self.in_ns("ethtool").args(["-K", &self.name, "tx", "off"]))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A veth pair between two namespaces (or one and the root namespace),
/// with transmit checksum offload off on both ends and both ends up.
/// Removed on drop (or with its namespaces).
pub struct VethPair {
    pub a: VethEnd,
    pub b: VethEnd,
}

impl VethPair {
    /// Ends named `a_name` in `a` and `b_name` in `b` (None: root
    /// namespace, where the name must be unique on the machine; prefer
    /// namespaces).
    pub fn new(a: Option<&Netns>, a_name: &str, b: Option<&Netns>, b_name: &str) -> VethPair {
        require_root();
        require_tools(&["ip", "ethtool"]);
        assert!(
            a_name.len() <= 15 && b_name.len() <= 15,
            "interface names are at most 15 bytes"
        );
        // Create under temporary names unique on the machine, then move and
        // rename, so that the wanted names may repeat across namespaces.
        let id = next_id();
        let tmp_a = format!("nvt{}x{id}a", std::process::id() % 100_000);
        let tmp_b = format!("nvt{}x{id}b", std::process::id() % 100_000);
        let must =
            |args: &[&str]| run(Command::new("ip").args(args)).unwrap_or_else(|e| panic!("{e}"));
        must(&[
            "link", "add", &tmp_a, "type", "veth", "peer", "name", &tmp_b,
        ]);
        let place = |tmp: &str, ns: Option<&Netns>, name: &str| -> VethEnd {
            match ns {
                Some(ns) => {
                    must(&["link", "set", "dev", tmp, "netns", ns.name()]);
                    must(&["-n", ns.name(), "link", "set", "dev", tmp, "name", name]);
                }
                None => {
                    must(&["link", "set", "dev", tmp, "name", name]);
                }
            }
            VethEnd {
                ns: ns.map(|n| n.name().to_string()),
                name: name.to_string(),
            }
        };
        let pair = VethPair {
            a: place(&tmp_a, a, a_name),
            b: place(&tmp_b, b, b_name),
        };
        for end in [&pair.a, &pair.b] {
            end.tx_offload_off();
            end.ip(&["link", "set", "dev", &end.name, "up"]);
        }
        pair
    }

    /// Sets the MTU of both ends.
    pub fn set_mtu(&self, mtu: u32) {
        self.a.set_mtu(mtu);
        self.b.set_mtu(mtu);
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting one end deletes both; it may already be gone with its
        // namespace.
        let _ = self
            .a
            .ip_cmd()
            .args(["link", "del", "dev", &self.a.name])
            .output();
    }
}
