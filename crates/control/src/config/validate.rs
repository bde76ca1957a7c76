//! From the raw file to a `Config`: every rule of docs/configuration.md,
//! each refusal pointing at the value that breaks it.
//!
//! Order matters only for which error is reported first: sections are
//! checked in dependency order (uplinks before domains, which need their
//! addresses; domains before ports, which name them; ports before patches
//! and static MACs), and the first broken rule stops validation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use super::error::{line_column, ConfigError};
use super::raw::*;
use super::types::*;
use super::Config;

type Result<T> = std::result::Result<T, ConfigError>;

/// EAL options nvo derives from the file; passing them again in `[eal]
/// args` would contradict it.
const RESERVED_EAL_OPTIONS: &[(&str, &str)] = &[
    ("-l", "[cpu]"),
    ("-c", "[cpu]"),
    ("--lcores", "[cpu]"),
    ("--main-lcore", "[cpu] control"),
    ("--master-lcore", "[cpu] control"),
    ("--file-prefix", "[eal] file_prefix"),
    ("-m", "[eal] memory_mb"),
    ("--huge-dir", "[eal] huge_dir"),
];

/// Turns a serde/TOML error into a located `ConfigError`. The scope is the
/// nearest table header above the error, so that an unknown key in the
/// third `[[domain]]` is reported with its header.
pub(crate) fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let scope = header_above(text, span.start);
    // serde names an unknown key in its message; the span covers it.
    let key = if e.message().starts_with("unknown field") {
        text.get(span.clone()).unwrap_or("").trim_matches('"')
    } else {
        ""
    };
    let mut reason = e.message().replace('\n', ": ");
    if !key.is_empty() {
        reason = format!("is not a known key ({reason})");
    }
    ConfigError::at(path, text, span, &scope, key, reason)
}

/// The `[table]` or `[[array]]` header governing byte `offset`, or "".
fn header_above(text: &str, offset: usize) -> String {
    let (line, _) = line_column(text, offset);
    text.lines()
        .take(line)
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .last()
        .map(|l| l.split('#').next().unwrap_or(l).trim().to_string())
        .unwrap_or_default()
}

/// Validation state: where we are, and what earlier sections resolved.
struct V<'a> {
    path: &'a Path,
    text: &'a str,
    /// Port name -> what it is and where it was first defined.
    ports: HashMap<String, (PortRef, Range<usize>)>,
    /// Domain name -> index and where it was defined.
    domains: HashMap<String, (DomainIdx, Range<usize>)>,
}

impl V<'_> {
    fn err<T>(&self, span: Range<usize>, scope: &str, key: &str, reason: String) -> Result<T> {
        Err(ConfigError::at(
            self.path, self.text, span, scope, key, reason,
        ))
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }

    /// An integer in `range`, converted to the field's type.
    fn int<T: TryFrom<i64>>(
        &self,
        v: &S<i64>,
        range: RangeInclusive<i64>,
        scope: &str,
        key: &str,
    ) -> Result<T> {
        let n = *v.get_ref();
        if !range.contains(&n) {
            return self.err(
                v.span(),
                scope,
                key,
                format!("{n} is out of range ({}..={})", range.start(), range.end()),
            );
        }
        match T::try_from(n) {
            Ok(t) => Ok(t),
            // Unreachable when the range fits T; kept as an error, not a panic.
            Err(_) => self.err(v.span(), scope, key, format!("{n} does not fit")),
        }
    }

    fn opt_int<T: TryFrom<i64>>(
        &self,
        v: &Option<S<i64>>,
        range: RangeInclusive<i64>,
        default: T,
        scope: &str,
        key: &str,
    ) -> Result<T> {
        match v {
            Some(v) => self.int(v, range, scope, key),
            None => Ok(default),
        }
    }

    /// One of a fixed set of words.
    fn word<T: Copy>(
        &self,
        v: &Option<S<String>>,
        choices: &[(&str, T)],
        default: T,
        scope: &str,
        key: &str,
    ) -> Result<T> {
        let Some(v) = v else { return Ok(default) };
        if let Some((_, t)) = choices.iter().find(|(w, _)| w == v.get_ref()) {
            return Ok(*t);
        }
        let names: Vec<String> = choices.iter().map(|(w, _)| format!("\"{w}\"")).collect();
        self.err(
            v.span(),
            scope,
            key,
            format!("\"{}\" is not one of {}", v.get_ref(), names.join(", ")),
        )
    }

    /// A number in `range`, or `"inherit"` (returned as `None`).
    fn fixed_or_inherit(
        &self,
        v: &S<IntOrWord>,
        range: RangeInclusive<i64>,
        scope: &str,
        key: &str,
    ) -> Result<Option<u8>> {
        match v.get_ref() {
            IntOrWord::Word(w) if w == "inherit" => Ok(None),
            IntOrWord::Int(n) => self.int(&S::new(v.span(), *n), range, scope, key).map(Some),
            IntOrWord::Word(w) => self.err(
                v.span(),
                scope,
                key,
                format!(
                    "\"{w}\" is neither {}..={} nor \"inherit\"",
                    range.start(),
                    range.end()
                ),
            ),
        }
    }

    /// Names appear in `nvo ctl` output, Prometheus labels and DPDK device
    /// names, so they are kept plain.
    fn name(&self, v: &S<String>, scope: &str) -> Result<String> {
        let s = v.get_ref();
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        if s.is_empty() || s.len() > 32 || !s.chars().all(plain) {
            return self.err(
                v.span(),
                scope,
                "name",
                format!("\"{s}\" must be 1 to 32 letters, digits, '-', '_' or '.'"),
            );
        }
        Ok(s.clone())
    }

    fn non_empty_path(&self, v: &S<String>, scope: &str, key: &str) -> Result<PathBuf> {
        if v.get_ref().trim().is_empty() {
            return self.err(v.span(), scope, key, "must not be empty".into());
        }
        Ok(PathBuf::from(v.get_ref()))
    }

    fn ip(&self, v: &S<String>, scope: &str, key: &str) -> Result<IpAddr> {
        v.get_ref().parse().or_else(|_| {
            self.err(
                v.span(),
                scope,
                key,
                format!("\"{}\" is not an IPv4 or IPv6 address", v.get_ref()),
            )
        })
    }

    /// A remote unicast address: something a tunnel packet can be sent to.
    fn remote_unicast(&self, v: &S<String>, scope: &str, key: &str) -> Result<IpAddr> {
        let ip = self.ip(v, scope, key)?;
        let bad = match ip {
            IpAddr::V4(a) if a.is_multicast() => Some("a multicast address"),
            IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
            IpAddr::V6(a) if a.is_multicast() => Some("a multicast address"),
            _ if ip.is_unspecified() => Some("the unspecified address"),
            _ if ip.is_loopback() => Some("a loopback address"),
            _ => None,
        };
        match bad {
            Some(what) => self.err(
                v.span(),
                scope,
                key,
                format!("{ip} is {what}; a VTEP address must be unicast"),
            ),
            None => Ok(ip),
        }
    }

    fn domain_ref(&self, v: &S<String>, scope: &str, key: &str) -> Result<DomainIdx> {
        match self.domains.get(v.get_ref()) {
            Some((i, _)) => Ok(*i),
            None => self.err(
                v.span(),
                scope,
                key,
                format!("\"{}\" is not a [[domain]] name", v.get_ref()),
            ),
        }
    }
}

pub(crate) fn validate(raw: RawConfig, path: &Path, text: &str) -> Result<Config> {
    let mut v = V {
        path,
        text,
        ports: HashMap::new(),
        domains: HashMap::new(),
    };
    let cpu = cpu(&v, raw.cpu.as_ref())?;
    let eal = eal(&v, raw.eal.as_ref())?;
    let switch = switch(&v, raw.switch.as_ref())?;
    let uplinks = uplinks(&mut v, &raw.uplink, &eal)?;
    let domains = domains(&mut v, &raw.domain, &uplinks)?;
    let mut vm_ports = vm_ports(&mut v, &raw.vm_port, &switch)?;
    let patches = patches(&v, &raw.patch, &raw.vm_port, &raw.uplink, &mut vm_ports)?;
    every_port_has_a_role(&v, &raw, &vm_ports, &uplinks, &patches)?;
    let static_macs = static_macs(&v, &raw.mac, &vm_ports, &uplinks)?;
    let config = Config {
        eal,
        cpu,
        switch,
        vm_ports,
        uplinks,
        domains,
        static_macs,
        patches,
    };
    enough_mbufs(&v, raw.switch.as_ref(), &config)?;
    Ok(config)
}

fn eal(v: &V, raw: Option<&S<RawEal>>) -> Result<Eal> {
    let sc = "eal";
    let mut eal = Eal {
        args: Vec::new(),
        file_prefix: "nvo".into(),
        memory_mb: None,
        huge_dir: None,
    };
    let Some(raw) = raw else { return Ok(eal) };
    let raw = raw.get_ref();
    if let Some(args) = &raw.args {
        for arg in args.get_ref() {
            let a = arg.get_ref();
            for (opt, instead) in RESERVED_EAL_OPTIONS {
                let long = opt.starts_with("--");
                let clash = a == opt
                    || (long && a.starts_with(&format!("{opt}=")))
                    || (!long && !a.starts_with("--") && a.starts_with(opt));
                if clash {
                    return v.err(
                        arg.span(),
                        sc,
                        "args",
                        format!("\"{a}\" is set by nvo from {instead}; set it there"),
                    );
                }
            }
            eal.args.push(a.clone());
        }
    }
    if let Some(p) = &raw.file_prefix {
        let s = p.get_ref();
        if s.is_empty() || s.contains('/') || s.contains(char::is_whitespace) {
            return v.err(
                p.span(),
                sc,
                "file_prefix",
                format!("\"{s}\" must be a non-empty word without '/' or spaces"),
            );
        }
        eal.file_prefix = s.clone();
    }
    if let Some(m) = &raw.memory_mb {
        eal.memory_mb = Some(v.int(m, 1..=1 << 20, sc, "memory_mb")?);
    }
    if let Some(d) = &raw.huge_dir {
        eal.huge_dir = Some(v.non_empty_path(d, sc, "huge_dir")?);
    }
    Ok(eal)
}

fn cpu(v: &V, raw: Option<&S<RawCpu>>) -> Result<Cpu> {
    let sc = "cpu";
    let max = i64::from(MAX_LCORE) - 1;
    let Some(raw) = raw else {
        return Ok(Cpu {
            control: 0,
            workers: vec![1],
        });
    };
    let control = v.opt_int(&raw.get_ref().control, 0..=max, 0, sc, "control")?;
    let Some(ws) = &raw.get_ref().workers else {
        let worker = if control == 0 { 1 } else { 0 };
        return Ok(Cpu {
            control,
            workers: vec![worker],
        });
    };
    if ws.get_ref().is_empty() {
        return v.err(
            ws.span(),
            sc,
            "workers",
            "must name at least one core".into(),
        );
    }
    let mut workers = Vec::new();
    for w in ws.get_ref() {
        let core: u32 = v.int(w, 0..=max, sc, "workers")?;
        if core == control {
            return v.err(
                w.span(),
                sc,
                "workers",
                format!("core {core} is the control core; a worker needs a core of its own"),
            );
        }
        if workers.contains(&core) {
            return v.err(
                w.span(),
                sc,
                "workers",
                format!("core {core} is listed twice"),
            );
        }
        workers.push(core);
    }
    Ok(Cpu { control, workers })
}

fn switch(v: &V, raw: Option<&S<RawSwitch>>) -> Result<Switch> {
    let sc = "switch";
    let mut sw = Switch {
        mbufs: 16383,
        mbuf_cache: 256,
        rx_desc: 1024,
        tx_desc: 1024,
        burst: MAX_BURST,
        aging_secs: 300,
        mac_table_size: 65536,
        ctl_socket: PathBuf::from("/run/nvo/nvo.sock"),
        udp_src_range: (49152, 65535),
        ttl: Ttl::Fixed(64),
        dscp: Dscp::Inherit,
        ecn: EcnMode::Normal,
        ipv6_zero_udp_checksum: false,
        icmp_rate: 100,
    };
    let Some(raw) = raw else { return Ok(sw) };
    let r = raw.get_ref();
    sw.mbufs = v.opt_int(&r.mbufs, 255..=(1 << 24) - 1, sw.mbufs, sc, "mbufs")?;
    sw.mbuf_cache = v.opt_int(&r.mbuf_cache, 0..=512, sw.mbuf_cache, sc, "mbuf_cache")?;
    // DPDK refuses a cache larger than the pool size divided by 1.5.
    if u64::from(sw.mbuf_cache) * 3 > u64::from(sw.mbufs) * 2 {
        let span = r.mbuf_cache.as_ref().or(r.mbufs.as_ref()).map(S::span);
        return v.err(
            span.unwrap_or(raw.span()),
            sc,
            "mbuf_cache",
            format!(
                "{} is more than mbufs / 1.5 ({}), which DPDK refuses",
                sw.mbuf_cache,
                u64::from(sw.mbufs) * 2 / 3
            ),
        );
    }
    for (key, field, out) in [
        ("rx_desc", &r.rx_desc, &mut sw.rx_desc),
        ("tx_desc", &r.tx_desc, &mut sw.tx_desc),
    ] {
        if let Some(n) = field {
            let d: u16 = v.int(n, 64..=4096, sc, key)?;
            if !d.is_power_of_two() {
                return v.err(n.span(), sc, key, format!("{d} is not a power of two"));
            }
            *out = d;
        }
    }
    sw.burst = v.opt_int(&r.burst, 1..=i64::from(MAX_BURST), sw.burst, sc, "burst")?;
    sw.aging_secs = v.opt_int(
        &r.aging_secs,
        0..=1_000_000,
        sw.aging_secs,
        sc,
        "aging_secs",
    )?;
    sw.mac_table_size = v.opt_int(
        &r.mac_table_size,
        1024..=1 << 24,
        sw.mac_table_size,
        sc,
        "mac_table_size",
    )?;
    if let Some(p) = &r.ctl_socket {
        sw.ctl_socket = v.non_empty_path(p, sc, "ctl_socket")?;
    }
    if let Some(range) = &r.udp_src_range {
        let [lo, hi] = range.get_ref().as_slice() else {
            return v.err(
                range.span(),
                sc,
                "udp_src_range",
                "must be two ports, [low, high]".into(),
            );
        };
        let lo: u16 = v.int(lo, 1..=65535, sc, "udp_src_range")?;
        let hi_port: u16 = v.int(hi, 1..=65535, sc, "udp_src_range")?;
        if lo > hi_port {
            return v.err(
                range.span(),
                sc,
                "udp_src_range",
                format!("[{lo}, {hi_port}] is not ordered (low <= high)"),
            );
        }
        sw.udp_src_range = (lo, hi_port);
    }
    if let Some(t) = &r.ttl {
        sw.ttl = v
            .fixed_or_inherit(t, 1..=255, sc, "ttl")?
            .map_or(Ttl::Inherit, Ttl::Fixed);
    }
    if let Some(d) = &r.dscp {
        sw.dscp = v
            .fixed_or_inherit(d, 0..=63, sc, "dscp")?
            .map_or(Dscp::Inherit, Dscp::Fixed);
    }
    sw.ecn = v.word(
        &r.ecn,
        &[("normal", EcnMode::Normal), ("compat", EcnMode::Compat)],
        sw.ecn,
        sc,
        "ecn",
    )?;
    if let Some(b) = &r.ipv6_zero_udp_checksum {
        sw.ipv6_zero_udp_checksum = *b.get_ref();
    }
    sw.icmp_rate = v.opt_int(&r.icmp_rate, 0..=100_000, sw.icmp_rate, sc, "icmp_rate")?;
    Ok(sw)
}

/// A port name, unique across VM ports and uplinks (patches name either).
fn port_name(v: &mut V, name: &S<String>, kind: &str, port: PortRef) -> Result<(String, String)> {
    let scope = format!("{kind} #{}", index_of(port) + 1);
    let n = v.name(name, &scope)?;
    let scope = format!("{kind} \"{n}\"");
    if let Some((_, first)) = v.ports.get(&n) {
        return v.err(
            name.span(),
            &scope,
            "name",
            format!(
                "\"{n}\" is already the name of the port at line {}",
                v.line_of(first)
            ),
        );
    }
    v.ports.insert(n.clone(), (port, name.span()));
    Ok((n, scope))
}

fn index_of(port: PortRef) -> usize {
    match port {
        PortRef::Vm(i) | PortRef::Uplink(i) => i,
    }
}

fn uplinks(v: &mut V, raw: &[S<RawUplink>], eal: &Eal) -> Result<Vec<Uplink>> {
    let mut out: Vec<Uplink> = Vec::new();
    let mut devices: HashMap<String, usize> = HashMap::new();
    let mut addrs: HashMap<IpAddr, usize> = HashMap::new();
    let no_pci = eal.args.iter().any(|a| a == "--no-pci");
    for (i, r) in raw.iter().enumerate() {
        let r = r.get_ref();
        let (name, sc) = port_name(v, &r.name, "uplink", PortRef::Uplink(i))?;
        let sc = sc.as_str();

        let dev = r.device.get_ref().trim();
        let device = if is_pci(dev) {
            if no_pci {
                return v.err(
                    r.device.span(),
                    sc,
                    "device",
                    format!("\"{dev}\" is a PCI device but [eal] args has --no-pci"),
                );
            }
            Device::Pci(dev.to_string())
        } else if is_vdev(dev) {
            Device::Vdev(dev.to_string())
        } else {
            return v.err(
                r.device.span(),
                sc,
                "device",
                format!(
                    "\"{dev}\" is neither a PCI address (0000:01:00.0) nor a DPDK vdev (net_...)"
                ),
            );
        };
        // DPDK identifies a device by its address or vdev name, before any ','.
        let id = dev.split(',').next().unwrap_or(dev).to_ascii_lowercase();
        if let Some(&j) = devices.get(&id) {
            return v.err(
                r.device.span(),
                sc,
                "device",
                format!(
                    "\"{id}\" is already the device of uplink \"{}\"",
                    out[j].name
                ),
            );
        }
        devices.insert(id, i);

        let ipv4 = match &r.ipv4 {
            Some(s) => Some(cidr4(v, s, sc)?),
            None => None,
        };
        let ipv6 = match &r.ipv6 {
            Some(s) => Some(cidr6(v, s, sc)?),
            None => None,
        };
        for (ip, field) in [
            (ipv4.map(|c| IpAddr::V4(c.addr)), &r.ipv4),
            (ipv6.map(|c| IpAddr::V6(c.addr)), &r.ipv6),
        ] {
            let (Some(ip), Some(field)) = (ip, field) else {
                continue;
            };
            if let Some(&j) = addrs.get(&ip) {
                return v.err(
                    field.span(),
                    sc,
                    if ip.is_ipv4() { "ipv4" } else { "ipv6" },
                    format!("{ip} is already the address of uplink \"{}\"", out[j].name),
                );
            }
            addrs.insert(ip, i);
        }

        let gateway4 = match &r.gateway4 {
            None => None,
            Some(g) => {
                let own = ipv4.map(|c| (IpAddr::V4(c.addr), c.prefix_len));
                let on_link =
                    |ip| matches!(ip, IpAddr::V4(a) if ipv4.is_some_and(|c| c.contains(a)));
                match gateway(v, g, sc, "gateway4", own, on_link)? {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                }
            }
        };
        let gateway6 = match &r.gateway6 {
            None => None,
            Some(g) => {
                let own = ipv6.map(|c| (IpAddr::V6(c.addr), c.prefix_len));
                // Routers often advertise themselves by link-local address.
                let on_link = |ip| {
                    matches!(ip, IpAddr::V6(a)
                        if a.segments()[0] & 0xffc0 == 0xfe80
                            || ipv6.is_some_and(|c| c.contains(a)))
                };
                match gateway(v, g, sc, "gateway6", own, on_link)? {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None,
                }
            }
        };

        // IPv6 requires every link to carry 1280-byte packets (RFC 8200 s5).
        let min_mtu = if ipv6.is_some() { 1280 } else { 576 };
        let mtu = v.opt_int(&r.mtu, min_mtu..=9216, 1500, sc, "mtu")?;
        let queues = v.opt_int(&r.queues, 1..=i64::from(MAX_QUEUES), 1, sc, "queues")?;
        out.push(Uplink {
            name,
            device,
            ipv4,
            ipv6,
            gateway4,
            gateway6,
            mtu,
            queues,
        });
    }
    Ok(out)
}

/// A next hop: another address of the family of `key`'s own address
/// (`own`, with its prefix length), on its link.
fn gateway(
    v: &V,
    g: &S<String>,
    sc: &str,
    key: &str,
    own: Option<(IpAddr, u8)>,
    on_link: impl Fn(IpAddr) -> bool,
) -> Result<IpAddr> {
    let (fam, field) = if key == "gateway4" {
        ("IPv4", "ipv4")
    } else {
        ("IPv6", "ipv6")
    };
    let Some((own, len)) = own else {
        return v.err(
            g.span(),
            sc,
            key,
            format!("needs an {field} address on the uplink"),
        );
    };
    let gw = match g.get_ref().parse::<IpAddr>() {
        Ok(ip) if ip.is_ipv4() == own.is_ipv4() => ip,
        _ => {
            return v.err(
                g.span(),
                sc,
                key,
                format!("\"{}\" is not an {fam} address", g.get_ref()),
            )
        }
    };
    if gw == own || !on_link(gw) {
        let also = if fam == "IPv6" {
            " or a link-local address"
        } else {
            ""
        };
        return v.err(
            g.span(),
            sc,
            key,
            format!("{gw} must be another address on {own}/{len}{also}"),
        );
    }
    Ok(gw)
}

/// `DDDD:BB:DD.F` or `BB:DD.F`, optionally followed by `,devargs`.
fn is_pci(s: &str) -> bool {
    let addr = s.split(',').next().unwrap_or(s);
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = addr.split(':').collect();
    let (bus, devfn) = match parts.as_slice() {
        [dom, bus, devfn] if hex(dom, 4) => (*bus, *devfn),
        [bus, devfn] => (*bus, *devfn),
        _ => return false,
    };
    let Some((dev, func)) = devfn.split_once('.') else {
        return false;
    };
    hex(bus, 2) && hex(dev, 2) && func.len() == 1 && matches!(func.as_bytes()[0], b'0'..=b'7')
}

/// `net_<driver><n>[,args]`: what `--vdev` takes for a network device.
fn is_vdev(s: &str) -> bool {
    let name = s.split(',').next().unwrap_or(s);
    name.len() > 4
        && name.starts_with("net_")
        && name[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn split_cidr<'s>(v: &V, s: &'s S<String>, sc: &str, key: &str, max: u8) -> Result<(&'s str, u8)> {
    let text = s.get_ref();
    let Some((addr, len)) = text.split_once('/') else {
        return v.err(
            s.span(),
            sc,
            key,
            format!("\"{text}\" needs a prefix length, as in address/len"),
        );
    };
    match len.parse::<u8>() {
        Ok(l) if (1..=max).contains(&l) => Ok((addr, l)),
        _ => v.err(
            s.span(),
            sc,
            key,
            format!("\"{text}\" has a prefix length outside 1..={max}"),
        ),
    }
}

fn cidr4(v: &V, s: &S<String>, sc: &str) -> Result<Ipv4Cidr> {
    let (addr, prefix_len) = split_cidr(v, s, sc, "ipv4", 32)?;
    let Ok(addr) = addr.parse::<Ipv4Addr>() else {
        return v.err(
            s.span(),
            sc,
            "ipv4",
            format!("\"{addr}\" is not an IPv4 address"),
        );
    };
    if addr.is_multicast() || addr.is_broadcast() || addr.is_unspecified() || addr.is_loopback() {
        return v.err(
            s.span(),
            sc,
            "ipv4",
            format!("{addr} cannot be a VTEP address"),
        );
    }
    Ok(Ipv4Cidr { addr, prefix_len })
}

fn cidr6(v: &V, s: &S<String>, sc: &str) -> Result<Ipv6Cidr> {
    let (addr, prefix_len) = split_cidr(v, s, sc, "ipv6", 128)?;
    let Ok(addr) = addr.parse::<Ipv6Addr>() else {
        return v.err(
            s.span(),
            sc,
            "ipv6",
            format!("\"{addr}\" is not an IPv6 address"),
        );
    };
    if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
        return v.err(
            s.span(),
            sc,
            "ipv6",
            format!("{addr} cannot be a VTEP address"),
        );
    }
    Ok(Ipv6Cidr { addr, prefix_len })
}

/// Whether some uplink has an address of `ip`'s family.
fn family_served(uplinks: &[Uplink], ip: IpAddr) -> bool {
    uplinks.iter().any(|u| match ip {
        IpAddr::V4(_) => u.ipv4.is_some(),
        IpAddr::V6(_) => u.ipv6.is_some(),
    })
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// A tunnel destination: unicast, not ours, reachable by some uplink.
fn remote_vtep(v: &V, s: &S<String>, sc: &str, key: &str, uplinks: &[Uplink]) -> Result<IpAddr> {
    let ip = v.remote_unicast(s, sc, key)?;
    if let Some(u) = uplinks.iter().find(|u| u.owns(ip)) {
        return v.err(
            s.span(),
            sc,
            key,
            format!("{ip} is our own address (uplink \"{}\")", u.name),
        );
    }
    if !family_served(uplinks, ip) {
        return v.err(
            s.span(),
            sc,
            key,
            format!(
                "{ip} is {}, but no uplink has an {} address",
                family(ip),
                family(ip)
            ),
        );
    }
    Ok(ip)
}

fn domains(v: &mut V, raw: &[S<RawDomain>], uplinks: &[Uplink]) -> Result<Vec<Domain>> {
    if let Some(d) = raw.get(MAX_DOMAINS) {
        return v.err(
            d.span(),
            "",
            "domain",
            format!("more than {MAX_DOMAINS} domains"),
        );
    }
    let mut out: Vec<Domain> = Vec::new();
    // (tunnel, udp port, vni) -> domain index: decapsulation must find one.
    let mut by_vni: HashMap<(Tunnel, Option<u16>, u32), usize> = HashMap::new();
    // A UDP port can only be parsed as one tunnel header.
    let mut port_kind: HashMap<u16, (Tunnel, usize)> = HashMap::new();
    for (i, d) in raw.iter().enumerate() {
        let d = d.get_ref();
        let name = v.name(&d.name, &format!("domain #{}", i + 1))?;
        let scope = format!("domain \"{name}\"");
        let sc = scope.as_str();
        if let Some((_, first)) = v.domains.get(&name) {
            return v.err(
                d.name.span(),
                sc,
                "name",
                format!(
                    "\"{name}\" is already the name of the domain at line {}",
                    v.line_of(first)
                ),
            );
        }

        let tunnel = v.word(
            &d.tunnel,
            &[
                ("vxlan", Tunnel::Vxlan),
                ("nvgre", Tunnel::Nvgre),
                ("geneve", Tunnel::Geneve),
            ],
            Tunnel::Vxlan,
            sc,
            "tunnel",
        )?;
        let vni: u32 = v.int(&d.vni, 0..=0xFF_FFFF, sc, "vni")?;
        // RFC 7637 s3.2: VSIDs 0-0xFFF are reserved, 0xFFFFFF is for vendors.
        if tunnel == Tunnel::Nvgre && (vni <= 0xFFF || vni == 0xFF_FFFF) {
            return v.err(
                d.vni.span(),
                sc,
                "vni",
                format!("{vni} is a reserved NVGRE VSID (0..=4095 and 16777215, RFC 7637)"),
            );
        }
        let udp_port = match (&d.udp_port, tunnel.default_udp_port()) {
            (Some(p), None) => {
                return v.err(
                    p.span(),
                    sc,
                    "udp_port",
                    format!("is not allowed with tunnel \"{tunnel}\", which has no UDP header"),
                );
            }
            (Some(p), Some(_)) => Some(v.int(p, 1..=65535, sc, "udp_port")?),
            (None, default) => default,
        };
        let vni_span = d.vni.span();
        if let Some(&j) = by_vni.get(&(tunnel, udp_port, vni)) {
            return v.err(
                vni_span,
                sc,
                "vni",
                format!(
                    "{vni} is already used by domain \"{}\" with the same tunnel and port",
                    out[j].name
                ),
            );
        }
        by_vni.insert((tunnel, udp_port, vni), i);
        if let Some(port) = udp_port {
            match port_kind.get(&port) {
                Some(&(other, j)) if other != tunnel => {
                    let span = d.udp_port.as_ref().map_or(d.name.span(), S::span);
                    return v.err(
                        span,
                        sc,
                        "udp_port",
                        format!(
                            "{port} already carries {other} for domain \"{}\"; one port, one tunnel type",
                            out[j].name
                        ),
                    );
                }
                _ => {
                    port_kind.insert(port, (tunnel, i));
                }
            }
        }

        let learning = d.learning.as_ref().map_or(true, |b| *b.get_ref());
        let flood = match (&d.flood, &d.group) {
            (Some(_), Some(g)) => {
                return v.err(
                    g.span(),
                    sc,
                    "group",
                    "cannot be given together with flood; choose one".into(),
                );
            }
            (_, Some(g)) => Flood::Group(group(v, g, sc, uplinks)?),
            (Some(list), None) => {
                let mut ips = Vec::new();
                for entry in list.get_ref() {
                    let ip = remote_vtep(v, entry, sc, "flood", uplinks)?;
                    if ips.contains(&ip) {
                        return v.err(entry.span(), sc, "flood", format!("{ip} is listed twice"));
                    }
                    ips.push(ip);
                }
                Flood::HeadEnd(ips)
            }
            (None, None) => Flood::HeadEnd(Vec::new()),
        };
        let inner_vlan = v.word(
            &d.inner_vlan,
            &[("drop", InnerVlan::Drop), ("keep", InnerVlan::Keep)],
            InnerVlan::Drop,
            sc,
            "inner_vlan",
        )?;
        if tunnel == Tunnel::Nvgre && inner_vlan == InnerVlan::Keep {
            let span = d.inner_vlan.as_ref().map_or(d.name.span(), S::span);
            return v.err(
                span,
                sc,
                "inner_vlan",
                "\"keep\" is not allowed with nvgre: RFC 7637 forbids tagged inner frames".into(),
            );
        }
        v.domains.insert(name.clone(), (i, d.name.span()));
        out.push(Domain {
            name,
            vni,
            tunnel,
            udp_port,
            learning,
            flood,
            inner_vlan,
        });
    }
    Ok(out)
}

fn group(v: &V, g: &S<String>, sc: &str, uplinks: &[Uplink]) -> Result<IpAddr> {
    let ip = v.ip(g, sc, "group")?;
    let ok = match ip {
        // 224.0.0.0/24 is link-local control traffic (IGMP itself, OSPF...).
        IpAddr::V4(a) => a.is_multicast() && a.octets()[..3] != [224, 0, 0],
        // Scope (low nibble of the second byte) at least link-local.
        IpAddr::V6(a) => a.is_multicast() && a.octets()[1] & 0x0f >= 2,
    };
    if !ok {
        return v.err(
            g.span(),
            sc,
            "group",
            format!("{ip} is not a usable multicast group (224.0.1.0 and up, or ff02:: and wider)"),
        );
    }
    if !family_served(uplinks, ip) {
        return v.err(
            g.span(),
            sc,
            "group",
            format!(
                "{ip} is {}, but no uplink has an {} address",
                family(ip),
                family(ip)
            ),
        );
    }
    Ok(ip)
}

fn vm_ports(v: &mut V, raw: &[S<RawVmPort>], sw: &Switch) -> Result<Vec<VmPort>> {
    let mut out: Vec<VmPort> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let r = r.get_ref();
        let (name, scope) = port_name(v, &r.name, "vm_port", PortRef::Vm(i))?;
        let sc = scope.as_str();
        let socket = v.non_empty_path(&r.socket, sc, "socket")?;
        if socket == sw.ctl_socket {
            return v.err(
                r.socket.span(),
                sc,
                "socket",
                "is the [switch] ctl_socket".into(),
            );
        }
        if let Some(other) = out.iter().find(|p| p.socket == socket) {
            return v.err(
                r.socket.span(),
                sc,
                "socket",
                format!(
                    "\"{}\" is already the socket of vm_port \"{}\"",
                    socket.display(),
                    other.name
                ),
            );
        }
        let mode = v.word(
            &r.mode,
            &[("server", VhostMode::Server), ("client", VhostMode::Client)],
            VhostMode::Server,
            sc,
            "mode",
        )?;
        let queues = v.opt_int(&r.queues, 1..=i64::from(MAX_QUEUES), 1, sc, "queues")?;
        let domain = match &r.domain {
            Some(d) => Some(v.domain_ref(d, sc, "domain")?),
            None => None,
        };
        let mut vlan_map = BTreeMap::new();
        if let Some(map) = &r.vlan_map {
            for (vid, dom) in map.get_ref() {
                let id = match vid.parse::<u16>() {
                    Ok(id) if (1..=4094).contains(&id) => id,
                    _ => {
                        return v.err(
                            dom.span(),
                            sc,
                            "vlan_map",
                            format!("VLAN id {vid} is outside 1..=4094"),
                        )
                    }
                };
                let d = v.domain_ref(dom, sc, "vlan_map")?;
                // The egress tag of a domain must be unambiguous.
                if domain == Some(d) {
                    return v.err(
                        dom.span(),
                        sc,
                        "vlan_map",
                        format!(
                            "\"{}\" is already this port's untagged domain",
                            dom.get_ref()
                        ),
                    );
                }
                if let Some((other, _)) = vlan_map.iter().find(|(_, &x)| x == d) {
                    return v.err(
                        dom.span(),
                        sc,
                        "vlan_map",
                        format!("\"{}\" is already mapped to VLAN {other}", dom.get_ref()),
                    );
                }
                vlan_map.insert(id, d);
            }
        }
        let learn_limit = v.opt_int(&r.learn_limit, 0..=1 << 20, 1024, sc, "learn_limit")?;
        let mac_limit_action = v.word(
            &r.mac_limit_action,
            &[
                ("forward", MacLimitAction::Forward),
                ("drop", MacLimitAction::Drop),
            ],
            MacLimitAction::Forward,
            sc,
            "mac_limit_action",
        )?;
        out.push(VmPort {
            name,
            socket,
            mode,
            queues,
            domain,
            vlan_map,
            learn_limit,
            mac_limit_action,
        });
    }
    Ok(out)
}

fn patches(
    v: &V,
    raw: &[S<RawPatch>],
    raw_vm: &[S<RawVmPort>],
    raw_up: &[S<RawUplink>],
    vm_ports: &mut [VmPort],
) -> Result<Vec<Patch>> {
    let mut out: Vec<Patch> = Vec::new();
    let mut used: HashMap<PortRef, usize> = HashMap::new();
    for (i, p) in raw.iter().enumerate() {
        let scope = format!("patch #{}", i + 1);
        let sc = scope.as_str();
        let list = p.get_ref().ports.get_ref();
        if list.len() != 2 {
            return v.err(
                p.get_ref().ports.span(),
                sc,
                "ports",
                format!("names {} ports; a patch joins exactly two", list.len()),
            );
        }
        let mut ports = [PortRef::Vm(0); 2];
        for (slot, name) in ports.iter_mut().zip(list) {
            let Some(&(port, _)) = v.ports.get(name.get_ref()) else {
                return v.err(
                    name.span(),
                    sc,
                    "ports",
                    format!("\"{}\" is not a vm_port or uplink name", name.get_ref()),
                );
            };
            if let Some(&j) = used.get(&port) {
                return v.err(
                    name.span(),
                    sc,
                    "ports",
                    format!("\"{}\" is already in patch #{}", name.get_ref(), j + 1),
                );
            }
            // A patched port carries raw frames: it cannot also switch.
            match port {
                PortRef::Vm(k) => {
                    let vm = &vm_ports[k];
                    if vm.domain.is_some() || !vm.vlan_map.is_empty() {
                        let line = v.line_of(&raw_vm[k].span());
                        return v.err(
                            name.span(),
                            sc,
                            "ports",
                            format!(
                                "\"{}\" belongs to a domain (vm_port at line {line}); a patched port must not",
                                name.get_ref()
                            ),
                        );
                    }
                }
                PortRef::Uplink(k) => {
                    let r = raw_up[k].get_ref();
                    if r.ipv4.is_some() || r.ipv6.is_some() {
                        let line = v.line_of(&raw_up[k].span());
                        return v.err(
                            name.span(),
                            sc,
                            "ports",
                            format!(
                                "\"{}\" has a VTEP address (uplink at line {line}); a patched uplink must not",
                                name.get_ref()
                            ),
                        );
                    }
                }
            }
            used.insert(port, i);
            *slot = port;
        }
        if ports[0] == ports[1] {
            return v.err(
                p.get_ref().ports.span(),
                sc,
                "ports",
                "joins a port to itself".into(),
            );
        }
        out.push(Patch { ports });
    }
    Ok(out)
}

/// A port that neither switches nor is patched would silently drop
/// everything; refuse it instead.
fn every_port_has_a_role(
    v: &V,
    raw: &RawConfig,
    vm_ports: &[VmPort],
    uplinks: &[Uplink],
    patches: &[Patch],
) -> Result<()> {
    let patched = |p: PortRef| patches.iter().any(|x| x.ports.contains(&p));
    for (i, vm) in vm_ports.iter().enumerate() {
        if vm.domain.is_none() && vm.vlan_map.is_empty() && !patched(PortRef::Vm(i)) {
            return v.err(
                raw.vm_port[i].span(),
                &format!("vm_port \"{}\"", vm.name),
                "",
                "has no domain and no vlan_map, and is in no [[patch]]".into(),
            );
        }
    }
    for (i, up) in uplinks.iter().enumerate() {
        if up.ipv4.is_none() && up.ipv6.is_none() && !patched(PortRef::Uplink(i)) {
            return v.err(
                raw.uplink[i].span(),
                &format!("uplink \"{}\"", up.name),
                "",
                "has neither ipv4 nor ipv6, and is in no [[patch]]".into(),
            );
        }
    }
    Ok(())
}

fn static_macs(
    v: &V,
    raw: &[S<RawMac>],
    vm_ports: &[VmPort],
    uplinks: &[Uplink],
) -> Result<Vec<StaticMac>> {
    let mut out: Vec<StaticMac> = Vec::new();
    let mut seen: HashMap<(DomainIdx, MacAddr), usize> = HashMap::new();
    let mut seen_ip: HashSet<(DomainIdx, IpAddr)> = HashSet::new();
    for (i, m) in raw.iter().enumerate() {
        let m = m.get_ref();
        let scope = format!("mac \"{}\"", m.mac.get_ref());
        let sc = scope.as_str();
        let domain = v.domain_ref(&m.domain, sc, "domain")?;
        let Ok(mac) = m.mac.get_ref().parse::<MacAddr>() else {
            return v.err(
                m.mac.span(),
                &format!("mac #{}", i + 1),
                "mac",
                format!(
                    "\"{}\" is not a MAC address (six hex pairs separated by ':')",
                    m.mac.get_ref()
                ),
            );
        };
        if mac.is_multicast() || mac.0 == [0; 6] {
            return v.err(
                m.mac.span(),
                sc,
                "mac",
                format!("{mac} is not a unicast address"),
            );
        }
        if let Some(&j) = seen.get(&(domain, mac)) {
            return v.err(
                m.mac.span(),
                sc,
                "mac",
                format!(
                    "{mac} is already mapped in domain \"{}\" (mac #{})",
                    m.domain.get_ref(),
                    j + 1
                ),
            );
        }
        seen.insert((domain, mac), i);
        let target = match (&m.vtep, &m.port) {
            (Some(_), Some(p)) => {
                return v.err(
                    p.span(),
                    sc,
                    "port",
                    "cannot be given together with vtep".into(),
                );
            }
            (None, None) => {
                return v.err(m.mac.span(), sc, "", "needs either vtep or port".into());
            }
            (Some(t), None) => MacTarget::Vtep(remote_vtep(v, t, sc, "vtep", uplinks)?),
            (None, Some(p)) => {
                let Some(k) = vm_ports.iter().position(|vm| &vm.name == p.get_ref()) else {
                    return v.err(
                        p.span(),
                        sc,
                        "port",
                        format!("\"{}\" is not a vm_port name", p.get_ref()),
                    );
                };
                if !vm_ports[k].serves(domain) {
                    return v.err(
                        p.span(),
                        sc,
                        "port",
                        format!(
                            "vm_port \"{}\" is not in domain \"{}\"",
                            p.get_ref(),
                            m.domain.get_ref()
                        ),
                    );
                }
                MacTarget::Port(k)
            }
        };
        let ip = match &m.ip {
            None => None,
            Some(s) => {
                let ip = v.ip(s, sc, "ip")?;
                if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
                    return v.err(s.span(), sc, "ip", format!("{ip} is not a host address"));
                }
                if !seen_ip.insert((domain, ip)) {
                    return v.err(
                        s.span(),
                        sc,
                        "ip",
                        format!(
                            "{ip} is already given to another MAC in domain \"{}\"",
                            m.domain.get_ref()
                        ),
                    );
                }
                Some(ip)
            }
        };
        out.push(StaticMac {
            domain,
            mac,
            target,
            ip,
        });
    }
    Ok(out)
}

/// Every uplink receive ring is filled with mbufs at start, and every lcore
/// may hold a full cache: a smaller pool starves the NICs from the start.
fn enough_mbufs(v: &V, raw: Option<&S<RawSwitch>>, c: &Config) -> Result<()> {
    let rings: u64 = c
        .uplinks
        .iter()
        .map(|u| u64::from(u.queues) * u64::from(c.switch.rx_desc))
        .sum();
    let caches = (c.cpu.workers.len() as u64 + 1) * u64::from(c.switch.mbuf_cache);
    let need = rings + caches;
    if u64::from(c.switch.mbufs) >= need {
        return Ok(());
    }
    let span = raw
        .and_then(|r| r.get_ref().mbufs.as_ref().map(S::span).or(Some(r.span())))
        .unwrap_or(0..0);
    v.err(
        span,
        "switch",
        "mbufs",
        format!(
            "{} is too few: the uplinks' receive rings ({rings}) and the per-core caches ({caches}) need {need}",
            c.switch.mbufs
        ),
    )
}
