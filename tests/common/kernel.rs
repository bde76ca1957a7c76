//! The Linux kernel's vxlan device as a peer VTEP.

use super::{require_tools, Netns};

/// What the kernel VTEP looks like.
#[derive(Clone, Debug)]
pub struct KernelVxlan {
    pub vni: u32,
    /// Underlay address of this VTEP on the underlay interface, CIDR
    /// (`198.18.0.2/24` or `2001:db8::2/64`).
    pub local: String,
    /// Remote VTEPs for unicast: each gets a static all-zeros fdb entry,
    /// so BUM is replicated to each (head-end replication).
    pub remotes: Vec<String>,
    /// Multicast group for BUM instead (or as well), e.g. `239.1.1.1` or
    /// `ff05::100`, joined on the underlay interface.
    pub group: Option<String>,
    pub dstport: u16,
    /// Overlay addresses on the vxlan device, CIDR.
    pub overlay: Vec<String>,
    /// MAC of the vxlan device (the tenant's MAC).
    pub mac: String,
    /// Kernel learning of remote MACs (off: only the fdb entries are used).
    pub learning: bool,
}

impl KernelVxlan {
    /// Unicast VTEP with one remote, learning on, port 4789.
    pub fn unicast(vni: u32, local: &str, remote: &str, overlay: &str, mac: &str) -> KernelVxlan {
        KernelVxlan {
            vni,
            local: local.into(),
            remotes: vec![remote.into()],
            group: None,
            dstport: 4789,
            overlay: vec![overlay.into()],
            mac: mac.into(),
            learning: true,
        }
    }
}

/// A namespace whose kernel terminates VXLAN: the underlay interface (one
/// end of a veth the test created in this namespace) carries `local`, and
/// `vxlan0` carries the overlay addresses, so `ping` from this namespace
/// crosses the tunnel.
pub struct KernelVxlanPeer {
    ns: Netns,
    underlay_if: String,
    cfg: KernelVxlan,
}

impl KernelVxlanPeer {
    pub fn start(ns: Netns, underlay_if: &str, cfg: KernelVxlan) -> KernelVxlanPeer {
        require_tools(&["ip", "bridge"]);
        let nodad = |cidr: &str| {
            if cidr.contains(':') {
                vec!["nodad"]
            } else {
                vec![]
            }
        };
        let mut args = vec!["addr", "add", &cfg.local, "dev", underlay_if];
        args.extend(nodad(&cfg.local));
        ns.ip(&args);
        ns.ip(&["link", "set", "dev", underlay_if, "up"]);
        let local_ip = cfg.local.split('/').next().unwrap().to_string();
        let vni = cfg.vni.to_string();
        let port = cfg.dstport.to_string();
        let mut args = vec![
            "link", "add", "vxlan0", "type", "vxlan", "id", &vni, "local", &local_ip, "dstport",
            &port,
        ];
        if let Some(g) = &cfg.group {
            args.extend(["group", g.as_str(), "dev", underlay_if]);
        }
        if !cfg.learning {
            args.push("nolearning");
        }
        ns.ip(&args);
        ns.ip(&["link", "set", "dev", "vxlan0", "address", &cfg.mac]);
        ns.ip(&["link", "set", "dev", "vxlan0", "up"]);
        let peer = KernelVxlanPeer {
            ns,
            underlay_if: underlay_if.to_string(),
            cfg,
        };
        for r in peer.cfg.remotes.clone() {
            peer.add_remote(&r);
        }
        for o in &peer.cfg.overlay {
            let mut args = vec!["addr", "add", o.as_str(), "dev", "vxlan0"];
            args.extend(nodad(o));
            peer.ns.ip(&args);
        }
        peer
    }

    /// Adds a remote VTEP to the flood list (all-zeros fdb entry).
    pub fn add_remote(&self, remote: &str) {
        self.ns.must(&[
            "bridge",
            "fdb",
            "append",
            "00:00:00:00:00:00",
            "dev",
            "vxlan0",
            "dst",
            remote,
        ]);
    }

    /// A static entry: `mac` is behind the VTEP `remote`.
    pub fn add_static(&self, mac: &str, remote: &str) {
        self.ns.must(&[
            "bridge", "fdb", "append", mac, "dev", "vxlan0", "dst", remote,
        ]);
    }

    /// A permanent neighbour entry for a remote VTEP's underlay address,
    /// for when the remote does not answer ARP/ND (yet).
    pub fn set_neighbor(&self, ip: &str, mac: &str) {
        let dev = self.underlay_if.as_str();
        self.ns.ip(&[
            "neigh",
            "replace",
            ip,
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ]);
    }

    /// The vxlan device's forwarding database (what it learned).
    pub fn fdb(&self) -> String {
        self.ns.must(&["bridge", "fdb", "show", "dev", "vxlan0"])
    }

    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    pub fn config(&self) -> &KernelVxlan {
        &self.cfg
    }

    pub fn ping(&self, addr: &str, count: u32) -> Result<String, String> {
        self.ns.ping(addr, count)
    }
}
