//! The configuration file of `nvo run --config FILE`.
//!
//! The file is read in two steps. serde reads it into raw structs that keep
//! the span of every value (`raw`); `validate` then checks every rule,
//! fills in defaults, and resolves names into indices. Nothing is started
//! before the whole file has passed, so a refused file leaves a running
//! switch exactly as it was. Every key is documented in
//! docs/configuration.md.

mod diff;
mod error;
mod raw;
mod types;
mod validate;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::Path;

pub use diff::{ConfigDiff, NamedChanges};
pub use error::ConfigError;
pub use types::*;

/// A validated configuration. Indices in it (`DomainIdx`, `PortRef`,
/// `MacTarget::Port`) point into its own vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[eal]`.
    pub eal: Eal,
    /// `[cpu]`.
    pub cpu: Cpu,
    /// `[switch]`.
    pub switch: Switch,
    /// `[[vm_port]]`, in file order.
    pub vm_ports: Vec<VmPort>,
    /// `[[uplink]]`, in file order.
    pub uplinks: Vec<Uplink>,
    /// `[[domain]]`, in file order.
    pub domains: Vec<Domain>,
    /// `[[mac]]`, in file order.
    pub static_macs: Vec<StaticMac>,
    /// `[[patch]]`, in file order.
    pub patches: Vec<Patch>,
}

impl Config {
    /// Parses and validates `text`; `path` only names the file in errors.
    #[allow(clippy::should_implement_trait)] // FromStr has no room for the path.
    pub fn from_str(text: &str, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let raw: raw::RawConfig =
            toml::from_str(text).map_err(|e| validate::syntax_error(path, text, &e))?;
        validate::validate(raw, path, text)
    }

    /// Reads, parses and validates the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str(&text, path)
    }

    /// The index of the domain called `name`.
    pub fn domain_by_name(&self, name: &str) -> Option<DomainIdx> {
        self.domains.iter().position(|d| d.name == name)
    }

    /// The port called `name`, VM port or uplink.
    pub fn port_by_name(&self, name: &str) -> Option<PortRef> {
        if let Some(i) = self.vm_ports.iter().position(|p| p.name == name) {
            return Some(PortRef::Vm(i));
        }
        self.uplinks
            .iter()
            .position(|u| u.name == name)
            .map(PortRef::Uplink)
    }

    /// The name of a port.
    pub fn port_name(&self, port: PortRef) -> &str {
        match port {
            PortRef::Vm(i) => &self.vm_ports[i].name,
            PortRef::Uplink(i) => &self.uplinks[i].name,
        }
    }

    /// The domain that receives tunnel packets of `tunnel` on `udp_port`
    /// (`None` for NVGRE) with `vni`. Validation made this unique.
    pub fn domain_by_vni(
        &self,
        tunnel: Tunnel,
        udp_port: Option<u16>,
        vni: u32,
    ) -> Option<DomainIdx> {
        self.domains
            .iter()
            .position(|d| d.tunnel == tunnel && d.udp_port == udp_port && d.vni == vni)
    }

    /// The uplink that sends to VTEP `ip`: the first whose prefix holds
    /// it, else the first with a gateway of its family, else the first
    /// with an address of its family. Validation made sure one exists for
    /// every configured VTEP.
    pub fn uplink_for(&self, ip: IpAddr) -> Option<usize> {
        let on_link = |u: &Uplink| match ip {
            IpAddr::V4(a) => u.ipv4.is_some_and(|c| c.contains(a)),
            IpAddr::V6(a) => u.ipv6.is_some_and(|c| c.contains(a)),
        };
        let routed = |u: &Uplink| match ip {
            IpAddr::V4(_) => u.gateway4.is_some(),
            IpAddr::V6(_) => u.gateway6.is_some(),
        };
        let family = |u: &Uplink| match ip {
            IpAddr::V4(_) => u.ipv4.is_some(),
            IpAddr::V6(_) => u.ipv6.is_some(),
        };
        let ups = &self.uplinks;
        ups.iter()
            .position(on_link)
            .or_else(|| ups.iter().position(routed))
            .or_else(|| ups.iter().position(family))
    }

    /// The patch partner of `port`, if it is patched.
    pub fn patched_to(&self, port: PortRef) -> Option<PortRef> {
        self.patches.iter().find_map(|p| match p.ports {
            [a, b] if a == port => Some(b),
            [a, b] if b == port => Some(a),
            _ => None,
        })
    }

    /// The EAL argument vector, program name first: cores (`-l`, with the
    /// control core as `--main-lcore`), `--file-prefix`, `-m`,
    /// `--huge-dir`, one `-a` per PCI uplink and one `--vdev` per virtual
    /// uplink, then `[eal] args` as given. vhost-user ports are not in it:
    /// nvo-dpdk attaches them itself, so that they can come and go at run
    /// time.
    pub fn eal_args(&self, program: &str) -> Vec<String> {
        let mut cores = vec![self.cpu.control];
        cores.extend(&self.cpu.workers);
        let cores: Vec<String> = cores.iter().map(u32::to_string).collect();
        let mut args = vec![
            program.to_string(),
            "-l".into(),
            cores.join(","),
            "--main-lcore".into(),
            self.cpu.control.to_string(),
            "--file-prefix".into(),
            self.eal.file_prefix.clone(),
        ];
        if let Some(mb) = self.eal.memory_mb {
            args.extend(["-m".into(), mb.to_string()]);
        }
        if let Some(dir) = &self.eal.huge_dir {
            args.extend(["--huge-dir".into(), dir.display().to_string()]);
        }
        for uplink in &self.uplinks {
            match &uplink.device {
                Device::Pci(s) => args.extend(["-a".into(), s.clone()]),
                Device::Vdev(s) => args.extend(["--vdev".into(), s.clone()]),
            }
        }
        args.extend(self.eal.args.iter().cloned());
        args
    }
}
