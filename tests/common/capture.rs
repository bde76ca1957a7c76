//! tshark captures in a namespace and strict dissection of tunnel frames.

use super::{require_tools, run, Daemon, Netns};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running tshark writing a pcap; it stops by itself after `max_packets`
/// or `max_secs`, whichever comes first.
pub struct Capture {
    daemon: Daemon,
    pcap: PathBuf,
    max_secs: u32,
}

impl Capture {
    /// Captures on `iface` in `ns` with a capture (BPF) filter such as
    /// `udp port 4789` or `ip proto 47`; returns once tshark captures.
    pub fn start(
        ns: &Netns,
        iface: &str,
        filter: &str,
        max_packets: u32,
        max_secs: u32,
        dir: &Path,
    ) -> Capture {
        require_tools(&["tshark"]);
        let name = format!("capture-{}-{iface}-{}", ns.name(), super::next_id());
        let pcap = dir.join(format!("{name}.pcap"));
        let mut c = ns.cmd("tshark");
        c.args(["-i", iface, "-f", filter, "-F", "pcap", "-q"])
            .args(["-c", &max_packets.to_string()])
            .args(["-a", &format!("duration:{max_secs}")])
            .arg("-w")
            .arg(&pcap);
        let mut daemon = Daemon::spawn(&name, c, dir).with_stop_signal("INT");
        daemon
            .wait_for_log("Capturing on", Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("{e}"));
        // dumpcap says so just before its socket is live: leave it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Capture {
            daemon,
            pcap,
            max_secs,
        }
    }

    /// Waits for tshark to finish by itself (count or duration reached).
    pub fn finish(mut self) -> PathBuf {
        let limit = Duration::from_secs(u64::from(self.max_secs) + 5);
        if self.daemon.wait_exit(limit).is_none() {
            self.daemon.stop();
        }
        self.pcap.clone()
    }

    /// Stops now (SIGINT: tshark closes the file properly).
    pub fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(300));
        self.daemon.stop();
        self.pcap.clone()
    }
}

/// The tunnel a capture should hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// VXLAN on UDP 4789.
    Vxlan,
    /// VXLAN on another UDP port (decoded with `-d udp.port==N,vxlan`).
    VxlanPort(u16),
    /// Geneve on UDP 6081.
    Geneve,
    /// NVGRE: tshark has no NVGRE dissector; it is GRE with protocol
    /// 0x6558 (Transparent Ethernet bridging) and the key bit.
    Nvgre,
}

impl Encap {
    fn layer(self) -> &'static str {
        match self {
            Encap::Vxlan | Encap::VxlanPort(_) => ":vxlan:eth",
            Encap::Geneve => ":geneve:eth",
            Encap::Nvgre => ":gre:eth",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Encap::Vxlan | Encap::VxlanPort(_) => "vxlan.vni",
            Encap::Geneve => "geneve.vni",
            Encap::Nvgre => "gre.key",
        }
    }
}

/// What a capture held.
#[derive(Clone, Debug, Default)]
pub struct Dissection {
    /// Frames in the file.
    pub frames: usize,
    /// Frames carrying the tunnel (ICMP errors quoting one excluded).
    pub tunnelled: usize,
    /// Per tunnelled frame: VNI (VXLAN, Geneve) or VSID (NVGRE: key >> 8).
    pub ids: Vec<u32>,
    /// Per NVGRE frame: the FlowID (low byte of the key).
    pub flow_ids: Vec<u8>,
    /// Per NVGRE frame: GRE flags and version word (0x2000 expected).
    pub gre_flags: Vec<u16>,
    /// `tshark -V` output, for messages.
    pub text: String,
}

fn tshark_read(pcap: &Path, encap: Encap) -> Command {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap);
    // Validate the checksums tshark leaves unchecked by default (ICMP is
    // always checked).
    for p in ["ip", "udp", "tcp"] {
        c.args(["-o", &format!("{p}.check_checksum:TRUE")]);
    }
    if let Encap::VxlanPort(port) = encap {
        c.args(["-d", &format!("udp.port=={port},vxlan")]);
    }
    c
}

fn parse_num(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Dissects a capture (no assertions).
pub fn dissect(pcap: &Path, encap: Encap) -> Dissection {
    require_tools(&["tshark"]);
    let text = run(tshark_read(pcap, encap).arg("-V")).unwrap_or_else(|e| panic!("{e}"));
    let mut c = tshark_read(pcap, encap);
    c.args(["-T", "fields", "-E", "separator=;", "-e", "frame.protocols"])
        .args([
            "-e",
            encap.id_field(),
            "-e",
            "gre.proto",
            "-e",
            "gre.flags_and_version",
        ]);
    let fields = run(&mut c).unwrap_or_else(|e| panic!("{e}"));
    let mut d = Dissection {
        text,
        ..Default::default()
    };
    for line in fields.lines() {
        d.frames += 1;
        let f: Vec<&str> = line.split(';').collect();
        let protocols = f[0];
        let layer = protocols.find(encap.layer());
        // An ICMP error quoting a tunnel packet is not a tunnel frame.
        let icmp = protocols.find(":icmp");
        if layer.is_none() || icmp.is_some_and(|i| i < layer.unwrap()) {
            continue;
        }
        if encap == Encap::Nvgre && parse_num(f.get(2).unwrap_or(&"")) != Some(0x6558) {
            continue;
        }
        d.tunnelled += 1;
        // The first value is the outer header's (inner ones follow).
        let id = f
            .get(1)
            .and_then(|v| parse_num(v.split(',').next().unwrap_or("")));
        match encap {
            Encap::Nvgre => {
                let key = id.unwrap_or(0);
                d.ids.push(key >> 8);
                d.flow_ids.push((key & 0xff) as u8);
                let fl = f
                    .get(3)
                    .and_then(|v| parse_num(v.split(',').next().unwrap_or("")));
                d.gre_flags.push(fl.unwrap_or(0) as u16);
            }
            _ => d.ids.push(id.unwrap_or(0)),
        }
    }
    d
}

/// Checks that the capture holds tunnel frames of `encap` and that tshark,
/// with IP/UDP/TCP checksum validation on, reports nothing malformed and no
/// bad or incorrect checksum anywhere (any expert info of severity Error).
pub fn check_dissects_clean(pcap: &Path, encap: Encap) -> Result<Dissection, String> {
    check_dissects_clean_with(pcap, encap, false)
}

/// `check_dissects_clean`, optionally accepting a zero UDP checksum over
/// IPv6 (RFC 6935 tunnels that opted in; tshark calls it an illegal value).
pub fn check_dissects_clean_with(
    pcap: &Path,
    encap: Encap,
    allow_zero_udp6_checksum: bool,
) -> Result<Dissection, String> {
    let d = dissect(pcap, encap);
    let zero6 = |l: &str| {
        allow_zero_udp6_checksum
            && (l.contains("zero-value illegal")
                || l.contains("Illegal checksum value (0)")
                || l.contains("Checksum Status: Illegal"))
    };
    let bad: Vec<&str> = d
        .text
        .lines()
        .filter(|l| !zero6(l))
        .filter(|l| {
            l.contains("Malformed")
                || l.contains("[incorrect")
                || l.contains("Status: Bad")
                || l.contains("Illegal")
                || l.contains("Expert Info (Error")
        })
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "{}: tshark complains:\n{}\n----- full dissection -----\n{}",
            pcap.display(),
            bad.join("\n"),
            d.text
        ));
    }
    if d.tunnelled == 0 {
        return Err(format!(
            "{}: no {encap:?} frame among {} frames:\n{}",
            pcap.display(),
            d.frames,
            d.text
        ));
    }
    if encap == Encap::Nvgre && d.gre_flags.iter().any(|&f| f != 0x2000) {
        return Err(format!(
            "NVGRE wants GRE flags 0x2000 (K=1, C=S=0, version 0): {:x?}",
            d.gre_flags
        ));
    }
    Ok(d)
}

/// `check_dissects_clean`, panicking with tshark's complaints.
pub fn assert_dissects_clean(pcap: &Path, encap: Encap) -> Dissection {
    check_dissects_clean(pcap, encap).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes Ethernet frames to a pcap file (for dissecting hand-made frames).
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    // Classic pcap: magic, version 2.4, zone, accuracy, snaplen, Ethernet.
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        out.extend(v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let len = f.len() as u32;
        for v in [i as u32, 0, len, len] {
            out.extend(v.to_le_bytes());
        }
        out.extend(f);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The frames of a classic pcap file (as `Capture` writes), bytes as they
/// were on the wire: for byte-for-byte comparisons.
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(data.len() >= 24, "{}: not a pcap file", path.display());
    let le = match &data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{}: not a classic pcap file (pcapng?)", path.display()),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = data[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32_at(at + 8) as usize;
        let end = (at + 16 + caplen).min(data.len());
        frames.push(data[at + 16..end].to_vec());
        at = end;
    }
    frames
}

/// How many frames of a capture match a tshark display filter (e.g.
/// `vxlan.vni == 6000`, `icmp.type == 8 && ip.dst == 192.0.2.2`).
pub fn count(pcap: &Path, display_filter: &str) -> usize {
    require_tools(&["tshark"]);
    let mut c = Command::new("tshark");
    c.arg("-r")
        .arg(pcap)
        .args(["-Y", display_filter, "-T", "fields", "-e", "frame.number"]);
    run(&mut c)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .count()
}
