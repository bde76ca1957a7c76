//! `[eal]`, `[cpu]` and `[switch]`, and the pool sizing that depends on
//! the ports.

use std::path::PathBuf;

use super::{Result, V};
use crate::config::raw::*;
use crate::config::types::*;
use crate::config::Config;

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

pub(super) fn eal(v: &V, raw: Option<&S<RawEal>>) -> Result<Eal> {
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

pub(super) fn cpu(v: &V, raw: Option<&S<RawCpu>>) -> Result<Cpu> {
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

pub(super) fn switch(v: &V, raw: Option<&S<RawSwitch>>) -> Result<Switch> {
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

/// Every uplink receive ring is filled with mbufs at start, and every lcore
/// may hold a full cache: a smaller pool starves the NICs from the start.
pub(super) fn enough_mbufs(v: &V, raw: Option<&S<RawSwitch>>, c: &Config) -> Result<()> {
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
