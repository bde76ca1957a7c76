//! nvo itself in a host namespace: configuration text, start, `nvo ctl`,
//! counters and the frame balance.

use super::{run, start_nvo, Daemon, Netns, VethPair};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One `[[domain]]` table.
#[derive(Clone, Debug)]
pub struct DomainSpec {
    pub name: String,
    pub vni: u32,
    /// `vxlan`, `nvgre` or `geneve`.
    pub tunnel: String,
    /// Head-end replication list.
    pub flood: Vec<String>,
    /// Underlay multicast group instead.
    pub group: Option<String>,
    /// `nvgre_flow_id`, when set.
    pub nvgre_flow_id: Option<bool>,
}

impl DomainSpec {
    pub fn new(name: &str, vni: u32, tunnel: &str, flood: &[&str]) -> DomainSpec {
        DomainSpec {
            name: name.into(),
            vni,
            tunnel: tunnel.into(),
            flood: flood.iter().map(|s| s.to_string()).collect(),
            group: None,
            nvgre_flow_id: None,
        }
    }

    pub fn with_group(name: &str, vni: u32, tunnel: &str, group: &str) -> DomainSpec {
        DomainSpec {
            group: Some(group.into()),
            ..DomainSpec::new(name, vni, tunnel, &[])
        }
    }
}

/// What one nvo instance is given.
#[derive(Clone, Debug)]
pub struct NvoSpec {
    /// VTEP IPv4 address, CIDR.
    pub ipv4: Option<String>,
    /// VTEP IPv6 address, CIDR.
    pub ipv6: Option<String>,
    /// Underlay MTU (`[[uplink]] mtu`).
    pub mtu: Option<u32>,
    pub domains: Vec<DomainSpec>,
    /// VM ports: (name, domain); the socket is `<dir>/<host>-<name>.sock`.
    pub vms: Vec<(String, String)>,
    /// The core of the worker (the control thread takes the other one).
    pub worker_core: u32,
}

impl NvoSpec {
    pub fn new(ipv4: Option<&str>, ipv6: Option<&str>) -> NvoSpec {
        NvoSpec {
            ipv4: ipv4.map(Into::into),
            ipv6: ipv6.map(Into::into),
            mtu: None,
            domains: Vec::new(),
            vms: Vec::new(),
            worker_core: 0,
        }
    }

    pub fn domain(mut self, d: DomainSpec) -> NvoSpec {
        self.domains.push(d);
        self
    }

    pub fn vm(mut self, port: &str, domain: &str) -> NvoSpec {
        self.vms.push((port.into(), domain.into()));
        self
    }
}

/// An nvo running in a namespace of its own whose `up0` is its uplink
/// (a `net_af_packet` port): the other end of the underlay veth is wherever
/// the test put it.
pub struct NvoHost {
    // Dropped (stopped) before the namespace goes.
    nvo: Option<Daemon>,
    ns: Netns,
    name: String,
    dir: PathBuf,
    ctl: PathBuf,
    config: String,
}

impl NvoHost {
    /// The namespace, for the uplink veth to be created in, before `start`.
    pub fn netns(tag: &str) -> Netns {
        Netns::new(tag)
    }

    /// Writes the configuration and starts nvo in `ns` (whose `up0` must
    /// exist); returns once its control socket answers.
    pub fn start(ns: Netns, name: &str, dir: &Path, spec: &NvoSpec) -> NvoHost {
        let ctl = dir.join(format!("{name}.ctl"));
        let config = config_text(name, dir, &ctl, spec);
        let mut nvo = start_nvo(&ns, name, &config, dir);
        nvo.wait_for_log("nvo running", Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        NvoHost {
            nvo: Some(nvo),
            ns,
            name: name.into(),
            dir: dir.into(),
            ctl,
            config,
        }
    }

    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    pub fn config(&self) -> &str {
        &self.config
    }

    /// The vhost-user socket of VM port `port`.
    pub fn socket(&self, port: &str) -> PathBuf {
        socket_path(&self.dir, &self.name, port)
    }

    pub fn daemon(&mut self) -> &mut Daemon {
        self.nvo.as_mut().expect("nvo running")
    }

    /// `nvo ctl --socket S args...`: its output, or the error.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut c = Command::new(super::nvo_bin());
        c.arg("ctl").arg("--socket").arg(&self.ctl).args(args);
        run(&mut c)
    }

    /// Prometheus counters: every sample as (metric{labels}, value).
    pub fn metrics(&self) -> Vec<(String, u64)> {
        let text = self
            .ctl(&["counters", "--prometheus"])
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect()
    }

    /// One sample of the Prometheus counters (`nvo_drops_total{reason="mtu_exceeded"}`),
    /// 0 when absent.
    pub fn metric(&self, sample: &str) -> u64 {
        self.metrics()
            .into_iter()
            .find(|(k, _)| k == sample)
            .map_or(0, |(_, v)| v)
    }

    /// Checks that the frame totals balance (`rx + copies + generated ==
    /// tx + dropped + punted`) in `nvo ctl counters --prometheus`. Workers
    /// may be in the middle of a burst: a few reads are allowed.
    pub fn check_balance(&self) -> Result<String, String> {
        let mut last = String::new();
        for _ in 0..20 {
            let m = self.metrics();
            let get = |w: &str| {
                m.iter()
                    .find(|(k, _)| k == &format!("nvo_frames_total{{what=\"{w}\"}}"))
                    .map(|(_, v)| *v)
            };
            let (Some(rx), Some(tx), Some(dr), Some(pu), Some(co), Some(ge)) = (
                get("rx"),
                get("tx"),
                get("dropped"),
                get("punted"),
                get("copies"),
                get("generated"),
            ) else {
                return Err(format!("{}: no nvo_frames_total samples: {m:?}", self.name));
            };
            last = format!(
                "rx {rx} + copies {co} + generated {ge} vs tx {tx} + dropped {dr} + punted {pu}"
            );
            if rx + co + ge == tx + dr + pu && rx > 0 {
                return Ok(last);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("{}: frames not balanced: {last}", self.name))
    }

    /// Drops that are not zero, by reason, for messages.
    pub fn drops(&self) -> String {
        self.metrics()
            .into_iter()
            .filter(|(k, v)| k.starts_with("nvo_drops_total") && *v > 0)
            .map(|(k, v)| format!("{k} {v}\n"))
            .collect()
    }

    /// Stops nvo with SIGINT and checks the summary it prints on the way
    /// out: the frame balance line says `(balanced)`. Returns that line.
    pub fn stop_balanced(&mut self) -> String {
        let mut d = self.nvo.take().expect("nvo running");
        super::signal(d.pid(), "INT");
        let t = std::time::Instant::now();
        let status = d.wait_exit(Duration::from_secs(15));
        eprintln!(
            "e2e: {}: stopped in {:.1} s",
            self.name,
            t.elapsed().as_secs_f64()
        );
        let log = d.log();
        let line = log
            .lines()
            .find(|l| l.starts_with("frames: rx"))
            .unwrap_or_else(|| {
                d.dump_log();
                panic!(
                    "{}: no `frames: rx` summary on exit ({status:?})",
                    self.name
                )
            })
            .to_string();
        assert!(
            line.ends_with("(balanced)"),
            "{}: frame conservation broken: {line}\n{}",
            self.name,
            d.tail(60)
        );
        assert!(
            status.is_some_and(|s| s.success()),
            "{}: exit {status:?}\n{}",
            self.name,
            d.tail(60)
        );
        line
    }
}

/// The vhost-user socket nvo `host` serves for VM port `port`.
pub fn socket_path(dir: &Path, host: &str, port: &str) -> PathBuf {
    dir.join(format!("{host}-{port}.sock"))
}

/// The configuration file of one nvo instance (uplink `up0` in its namespace).
pub fn config_text(name: &str, dir: &Path, ctl: &Path, spec: &NvoSpec) -> String {
    let control = 1 - spec.worker_core.min(1);
    let mut c = format!(
        "[eal]\nfile_prefix = \"nvot{}x{}{name}\"\n\
         args = [\"--no-pci\", \"--in-memory\", \"--single-file-segments\"]\n\
         memory_mb = 256\n\n\
         [cpu]\ncontrol = {control}\nworkers = [{}]\n\n\
         [switch]\nmbufs = 8191\nctl_socket = \"{}\"\n\n\
         [[uplink]]\nname = \"up0\"\ndevice = \"net_af_packet0,iface=up0\"\n",
        std::process::id(),
        super::next_id(),
        spec.worker_core,
        ctl.display()
    );
    if let Some(a) = &spec.ipv4 {
        c += &format!("ipv4 = \"{a}\"\n");
    }
    if let Some(a) = &spec.ipv6 {
        c += &format!("ipv6 = \"{a}\"\n");
    }
    if let Some(m) = spec.mtu {
        c += &format!("mtu = {m}\n");
    }
    for d in &spec.domains {
        c += &format!(
            "\n[[domain]]\nname = \"{}\"\nvni = {}\ntunnel = \"{}\"\n",
            d.name, d.vni, d.tunnel
        );
        if let Some(g) = &d.group {
            c += &format!("group = \"{g}\"\n");
        } else if !d.flood.is_empty() {
            let list: Vec<String> = d.flood.iter().map(|f| format!("\"{f}\"")).collect();
            c += &format!("flood = [{}]\n", list.join(", "));
        }
        if let Some(f) = d.nvgre_flow_id {
            c += &format!("nvgre_flow_id = {f}\n");
        }
    }
    for (port, domain) in &spec.vms {
        c += &format!(
            "\n[[vm_port]]\nname = \"{port}\"\nsocket = \"{}\"\ndomain = \"{domain}\"\n",
            socket_path(dir, name, port).display()
        );
    }
    c
}

/// An underlay veth from an nvo host namespace (`up0`, kernel kept quiet on
/// it) to a peer namespace (`u0`).
pub fn uplink(host: &Netns, peer: &Netns) -> VethPair {
    let link = VethPair::new(Some(host), "up0", Some(peer), "u0");
    link.a.quiet();
    link
}

/// A temporary directory for one case's configuration, sockets, logs and
/// captures.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("nvo-e2e-")
        .tempdir()
        .expect("temp dir")
}

/// Prints how long something took since `start`, for the suite's timings.
pub fn timed(what: &str, start: std::time::Instant) {
    eprintln!("e2e: {what}: {:.1} s", start.elapsed().as_secs_f64());
}

impl NvoHost {
    /// Case 8, frame conservation, at the end of a case: the balance holds
    /// live in `nvo ctl counters --prometheus`, and in the summary nvo
    /// prints when it stops.
    pub fn finish(&mut self, what: &str) {
        let live = self
            .check_balance()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        eprintln!("e2e: {what}: {}: balance {live}", self.name);
        let line = self.stop_balanced();
        eprintln!("e2e: {what}: {}: on exit: {line}", self.name);
    }
}

/// A packet socket listening on one interface of a namespace for a fixed
/// time, live before `start` returns (unlike a tshark capture, whose
/// socket comes up some time after it says so): every frame the interface
/// receives (not those it sends), as bytes.
pub struct Sniffer {
    child: std::process::Child,
    what: String,
}

const SNIFF: &str = "import socket,sys,time,select\n\
    s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n\
    s.bind((sys.argv[1],3))\n\
    print('ready',flush=True)\n\
    end=time.time()+float(sys.argv[2])\n\
    while True:\n\
    \x20t=end-time.time()\n\
    \x20if t<=0: break\n\
    \x20r,_,_=select.select([s],[],[],t)\n\
    \x20if not r: continue\n\
    \x20d,a=s.recvfrom(65535)\n\
    \x20if a[0]!=sys.argv[1] or a[2]==socket.PACKET_OUTGOING: continue\n\
    \x20print(d.hex(),flush=True)\n\
    \x20if len(sys.argv)>3 and sys.argv[3] in d.hex(): break\n";

impl Sniffer {
    /// Listens on `iface` in `ns` for `secs` seconds.
    pub fn start(ns: &Netns, iface: &str, secs: f64) -> Sniffer {
        Sniffer::until(ns, iface, secs, &[])
    }

    /// Listens on `iface` in `ns` until a frame holding the bytes `needle`
    /// arrives, or for `secs` seconds at most (frames under a loaded CPU
    /// may take a while: every DPDK process on the way polls).
    pub fn until(ns: &Netns, iface: &str, secs: f64, needle: &[u8]) -> Sniffer {
        use std::io::Read;
        let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
        let mut c = ns.cmd("python3");
        c.args(["-c", SNIFF, iface, &secs.to_string()]);
        if !hex.is_empty() {
            c.arg(&hex);
        }
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut child = c.spawn().unwrap_or_else(|e| panic!("python3 sniffer: {e}"));
        let mut line = String::new();
        let out = child.stdout.as_mut().expect("piped");
        // One byte at a time: the frames that follow must stay unread.
        let mut byte = [0u8; 1];
        while !line.ends_with('\n') {
            match out.read(&mut byte) {
                Ok(1) => line.push(byte[0] as char),
                _ => break,
            }
        }
        assert_eq!(line.trim(), "ready", "sniffer on {iface} in {}", ns.name());
        Sniffer {
            child,
            what: format!("{iface} in {}", ns.name()),
        }
    }

    /// Waits for the listening time to end: the frames received.
    pub fn finish(self) -> Vec<Vec<u8>> {
        let out = self
            .child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("sniffer on {}: {e}", self.what));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                (0..l.len() / 2)
                    .map(|i| u8::from_str_radix(&l[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect()
            })
            .collect()
    }
}
