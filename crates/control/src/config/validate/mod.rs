//! From the raw file to a `Config`: every rule of docs/configuration.md,
//! each refusal pointing at the value that breaks it.
//!
//! Order matters only for which error is reported first: sections are
//! checked in dependency order (uplinks before domains, which need their
//! addresses; domains before ports, which name them; ports before patches
//! and static MACs), and the first broken rule stops validation.

mod globals;
mod overlay;
mod ports;

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use super::error::{line_column, ConfigError};
use super::raw::*;
use super::types::*;
use super::Config;

type Result<T> = std::result::Result<T, ConfigError>;

/// Turns a serde/TOML error into a located `ConfigError`. The scope is the
/// nearest table header above the error, so that an unknown key in the
/// third `[[domain]]` is reported with its header; the key is recovered
/// from the message or from the `key = value` line the span points into.
pub(crate) fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let scope = header_above(text, span.start);
    let msg = e.message().replace('\n', ": ");
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').nth(1))
            .map(str::to_string)
    };
    let (key, reason) = if let Some(key) = quoted("unknown field") {
        (key, format!("is not a known key ({msg})"))
    } else if let Some(key) = quoted("missing field") {
        (key, "is required but missing".to_string())
    } else if let Some(key) = key_of_value_at(text, span.start) {
        (key, format!("is wrong: {msg}"))
    } else {
        (String::new(), msg)
    };
    ConfigError::at(path, text, span, &scope, &key, reason)
}

/// The key of a `key = value` line when `offset` lies in its value.
fn key_of_value_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text.get(start..offset)?.split_once('=')?;
    let key = key.trim();
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| key.to_string())
}

/// The `[table]` or `[[array]]` header governing byte `offset`, or "".
/// Only plain headers count, so that a line of a multi-line array that
/// happens to start with `[` is not taken for one.
fn header_above(text: &str, offset: usize) -> String {
    let (line, _) = line_column(text, offset);
    let is_header = |l: &&str| {
        let name = l.trim_start_matches('[').trim_end_matches(']');
        l.starts_with('[')
            && l.ends_with(']')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    text.lines()
        .take(line)
        .map(|l| l.split('#').next().unwrap_or(l).trim())
        .filter(is_header)
        .last()
        .map(str::to_string)
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

/// Checks every rule and builds the `Config`.
pub(crate) fn validate(raw: RawConfig, path: &Path, text: &str) -> Result<Config> {
    let mut v = V {
        path,
        text,
        ports: HashMap::new(),
        domains: HashMap::new(),
    };
    let cpu = globals::cpu(&v, raw.cpu.as_ref())?;
    let eal = globals::eal(&v, raw.eal.as_ref())?;
    let switch = globals::switch(&v, raw.switch.as_ref())?;
    let uplinks = ports::uplinks(&mut v, &raw.uplink, &eal)?;
    let domains = overlay::domains(&mut v, &raw.domain, &uplinks)?;
    let vm_ports = ports::vm_ports(&mut v, &raw.vm_port, &switch)?;
    let patches = ports::patches(&v, &raw.patch, &raw.vm_port, &raw.uplink, &vm_ports)?;
    ports::every_port_has_a_role(&v, &raw, &vm_ports, &uplinks, &patches)?;
    let static_macs = overlay::static_macs(&v, &raw.mac, &vm_ports, &uplinks)?;
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
    globals::enough_mbufs(&v, raw.switch.as_ref(), &config)?;
    Ok(config)
}
