//! Open vSwitch in userspace (netdev datapath) as a peer VTEP: VXLAN,
//! Geneve, and GRE with a key (NVGRE).

use super::{require_tools, run, wait_for_path, Daemon, Netns};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

#[derive(Clone, Copy, Debug)]
pub enum OvsTunnel {
    Vxlan {
        vni: u32,
        dst_port: u16,
    },
    Geneve {
        vni: u32,
    },
    /// NVGRE: an OVS gre port whose 32-bit key is `vsid << 8` (FlowID 0).
    /// OVS matches the whole key on receive, so a frame with a non-zero
    /// FlowID is dropped; with `any_flowid`, the port uses `key=flow` and
    /// OpenFlow rules that match the VSID under mask 0xffffff00 and send
    /// with FlowID 0 (one remote only).
    Nvgre {
        vsid: u32,
        any_flowid: bool,
    },
    /// A gre port with this raw 32-bit key.
    Gre {
        key: u32,
    },
}

#[derive(Clone, Debug)]
pub struct OvsConfig {
    /// Underlay address (CIDR) set on br-phy.
    pub underlay: String,
    /// One tunnel port per remote VTEP (`tun0`, `tun1`, ...).
    pub remotes: Vec<String>,
    pub tunnel: OvsTunnel,
    /// Overlay addresses (CIDR) on the internal port `vm0`.
    pub overlay: Vec<String>,
    /// MAC of `vm0`.
    pub mac: String,
    /// `options:csum` of the tunnel ports (None: OVS default, which is a
    /// zero UDP checksum over IPv4 and a computed one over IPv6).
    pub csum: Option<bool>,
}

impl OvsConfig {
    pub fn new(
        tunnel: OvsTunnel,
        underlay: &str,
        remote: &str,
        overlay: &str,
        mac: &str,
    ) -> OvsConfig {
        OvsConfig {
            underlay: underlay.into(),
            remotes: vec![remote.into()],
            tunnel,
            overlay: vec![overlay.into()],
            mac: mac.into(),
            csum: None,
        }
    }
}

/// ovsdb-server and ovs-vswitchd of their own, in a namespace, with the
/// standard userspace tunnelling layout: `br-phy` holds the underlay
/// interface and the underlay address (on its internal port), `br-int`
/// holds the tunnel port(s) and the internal port `vm0` with the overlay
/// addresses. Each instance has a private run/db/log directory, so several
/// run side by side.
pub struct OvsPeer {
    vswitchd: Daemon,
    ovsdb: Daemon,
    ns: Netns,
    rundir: PathBuf,
    cfg: OvsConfig,
}

fn ovs_env(cmd: &mut Command, rundir: &Path) {
    // Nothing may touch the system's /etc/openvswitch or /var/run/openvswitch.
    for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
        cmd.env(var, rundir);
    }
}

impl OvsPeer {
    /// Starts OVS in `ns`, whose interface `underlay_if` (a veth end the
    /// test created there) becomes br-phy's port. Logs and sockets go under
    /// `dir`.
    pub fn start(ns: Netns, underlay_if: &str, dir: &Path, cfg: OvsConfig) -> OvsPeer {
        require_tools(&[
            "ovsdb-tool",
            "ovsdb-server",
            "ovs-vswitchd",
            "ovs-vsctl",
            "ovs-ofctl",
        ]);
        assert!(
            Path::new(SCHEMA).exists(),
            "{SCHEMA} missing (Debian package openvswitch-common)"
        );
        let rundir = dir.join(format!("ovs-{}", ns.name()));
        std::fs::create_dir_all(&rundir).expect("create OVS run directory");
        let db = rundir.join("conf.db");
        let r = |p: &str| rundir.join(p).display().to_string();
        run(Command::new("ovsdb-tool").args(["create", &db.display().to_string(), SCHEMA]))
            .unwrap_or_else(|e| panic!("{e}"));

        let mut c = ns.cmd("ovsdb-server");
        c.arg(&db)
            .arg(format!("--remote=punix:{}", r("db.sock")))
            .arg(format!("--pidfile={}", r("ovsdb-server.pid")))
            .arg(format!("--unixctl={}", r("ovsdb-server.ctl")))
            .arg("-vconsole:info");
        ovs_env(&mut c, &rundir);
        let tag = ns.name().rsplit('-').next().unwrap_or("ovs").to_string();
        let ovsdb = Daemon::spawn(&format!("{tag}-ovsdb-server"), c, dir);
        if let Err(e) = wait_for_path(&rundir.join("db.sock"), Duration::from_secs(10)) {
            ovsdb.dump_log();
            panic!("ovsdb-server: {e}");
        }

        let mut c = ns.cmd("ovs-vswitchd");
        c.arg(format!("unix:{}", r("db.sock")))
            .arg(format!("--pidfile={}", r("ovs-vswitchd.pid")))
            .arg(format!("--unixctl={}", r("ovs-vswitchd.ctl")))
            .arg("-vconsole:info");
        ovs_env(&mut c, &rundir);
        let vswitchd = Daemon::spawn(&format!("{tag}-ovs-vswitchd"), c, dir);
        let peer = OvsPeer {
            vswitchd,
            ovsdb,
            ns,
            rundir,
            cfg,
        };
        peer.vsctl(&["--no-wait", "init"]);
        if let Err(e) = wait_for_path(
            &peer.rundir.join("ovs-vswitchd.ctl"),
            Duration::from_secs(10),
        ) {
            panic!("ovs-vswitchd: {e}");
        }
        peer.configure(underlay_if);
        peer
    }

    fn configure(&self, underlay_if: &str) {
        let ns = &self.ns;
        let cfg = &self.cfg;
        let mac = ns.mac(underlay_if);
        self.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=netdev",
        ]);
        // br-phy takes the underlay interface's MAC: peers ARP for the
        // underlay address and the replies leave through that interface.
        let hw = format!("other_config:hwaddr={mac}");
        self.vsctl(&[
            "add-br",
            "br-phy",
            "--",
            "set",
            "bridge",
            "br-phy",
            "datapath_type=netdev",
            &hw,
        ]);
        self.vsctl(&["add-port", "br-phy", underlay_if]);
        // OVS reads the underlay interface through a packet socket, but the
        // namespace's kernel sees those frames too and, the underlay
        // address being local (on br-phy), would answer tunnel packets with
        // ICMP port/protocol unreachable. Make the kernel ignore that
        // interface: no IPv6 there, strict reverse-path filter for IPv4
        // (the route back is via br-phy), no ARP replies.
        ns.ip(&["addr", "flush", "dev", underlay_if]);
        ns.sysctl(&format!("net.ipv6.conf.{underlay_if}.disable_ipv6"), "1");
        ns.sysctl("net.ipv4.conf.all.rp_filter", "1");
        ns.sysctl(&format!("net.ipv4.conf.{underlay_if}.rp_filter"), "1");
        ns.sysctl(&format!("net.ipv4.conf.{underlay_if}.arp_ignore"), "1");
        let mut args = vec!["addr", "add", cfg.underlay.as_str(), "dev", "br-phy"];
        if cfg.underlay.contains(':') {
            args.push("nodad");
        }
        ns.ip(&args);
        ns.ip(&["link", "set", "dev", "br-phy", "up"]);

        let (kind, key, extra): (&str, String, Option<String>) = match cfg.tunnel {
            OvsTunnel::Vxlan { vni, dst_port } => (
                "vxlan",
                vni.to_string(),
                Some(format!("options:dst_port={dst_port}")),
            ),
            OvsTunnel::Geneve { vni } => ("geneve", vni.to_string(), None),
            OvsTunnel::Nvgre {
                any_flowid: true, ..
            } => ("gre", "flow".into(), None),
            OvsTunnel::Nvgre { vsid, .. } => ("gre", (vsid << 8).to_string(), None),
            OvsTunnel::Gre { key } => ("gre", key.to_string(), None),
        };
        for (i, remote) in cfg.remotes.iter().enumerate() {
            let port = format!("tun{i}");
            let mut args = vec![
                "add-port".to_string(),
                "br-int".into(),
                port.clone(),
                "--".into(),
                "set".into(),
                "interface".into(),
                port,
                format!("type={kind}"),
                format!("options:remote_ip={remote}"),
                format!("options:key={key}"),
            ];
            args.extend(extra.clone());
            if let Some(c) = cfg.csum {
                args.push(format!("options:csum={c}"));
            }
            let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            self.vsctl(&args);
        }
        self.vsctl(&[
            "add-port",
            "br-int",
            "vm0",
            "--",
            "set",
            "interface",
            "vm0",
            "type=internal",
        ]);
        // vm0 is a tap read by OVS: finish checksums in the kernel.
        ns.must(&["ethtool", "-K", "vm0", "tx", "off"]);
        ns.ip(&["link", "set", "dev", "vm0", "address", &cfg.mac]);
        ns.ip(&["link", "set", "dev", "vm0", "up"]);
        for o in &cfg.overlay {
            let mut args = vec!["addr", "add", o.as_str(), "dev", "vm0"];
            if o.contains(':') {
                args.push("nodad");
            }
            ns.ip(&args);
        }
        if let OvsTunnel::Nvgre {
            vsid,
            any_flowid: true,
        } = cfg.tunnel
        {
            assert_eq!(cfg.remotes.len(), 1, "any_flowid supports one remote");
            let key = u64::from(vsid) << 8;
            self.ofctl(&["del-flows", "br-int"]);
            self.ofctl(&[
                "add-flow",
                "br-int",
                &format!("in_port=tun0,tun_id={key:#x}/0xffffff00,actions=output:vm0"),
            ]);
            self.ofctl(&[
                "add-flow",
                "br-int",
                &format!("in_port=vm0,actions=set_field:{key:#x}->tun_id,output:tun0"),
            ]);
        }
    }

    /// A static tunnel neighbour (OVS's own ARP/ND cache for tunnel
    /// next hops), for when the remote VTEP does not answer ARP/ND (yet).
    pub fn set_neighbor(&self, ip: &str, mac: &str) {
        self.appctl(&["tnl/neigh/set", "br-phy", ip, mac]);
    }

    /// `ovs-vsctl` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let mut c = Command::new("ovs-vsctl");
        c.arg(format!(
            "--db=unix:{}",
            self.rundir.join("db.sock").display()
        ))
        .arg("--timeout=10")
        .args(args);
        ovs_env(&mut c, &self.rundir);
        run(&mut c).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `ovs-appctl` to this instance's ovs-vswitchd (e.g. `ovs/route/show`,
    /// `tnl/neigh/show`, `dpctl/dump-flows`).
    pub fn appctl(&self, args: &[&str]) -> String {
        let mut c = Command::new("ovs-appctl");
        c.arg("-t")
            .arg(self.rundir.join("ovs-vswitchd.ctl"))
            .args(args);
        ovs_env(&mut c, &self.rundir);
        run(&mut c).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `ovs-ofctl CMD BRIDGE ...`, the bridge reached through its socket in
    /// this instance's run directory.
    pub fn ofctl(&self, args: &[&str]) -> String {
        let mut c = Command::new("ovs-ofctl");
        c.arg(args[0]);
        if let Some(bridge) = args.get(1) {
            c.arg(format!(
                "unix:{}",
                self.rundir.join(format!("{bridge}.mgmt")).display()
            ));
            c.args(&args[2..]);
        }
        ovs_env(&mut c, &self.rundir);
        run(&mut c).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    pub fn config(&self) -> &OvsConfig {
        &self.cfg
    }

    pub fn rundir(&self) -> &Path {
        &self.rundir
    }

    pub fn vswitchd(&mut self) -> &mut Daemon {
        &mut self.vswitchd
    }

    pub fn ovsdb(&mut self) -> &mut Daemon {
        &mut self.ovsdb
    }

    pub fn ping(&self, addr: &str, count: u32) -> Result<String, String> {
        self.ns.ping(addr, count)
    }
}
