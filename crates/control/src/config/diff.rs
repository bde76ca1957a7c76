//! What changed between two configurations, for a reload: the switch keeps
//! running on the old one while it decides what it can apply in place.

use super::{Config, Domain, MacTarget, PortRef, StaticMac, VmPort};

/// Names added, removed and changed in one kind of object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedChanges {
    /// In the new configuration only.
    pub added: Vec<String>,
    /// In the old configuration only.
    pub removed: Vec<String>,
    /// In both, with different settings.
    pub changed: Vec<String>,
}

impl NamedChanges {
    /// Nothing added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Compares two lists of `(name, view)` pairs. Views hold names
    /// instead of indices, so that a domain inserted earlier in the file
    /// does not show every port that names a later one as changed.
    fn compare<K: PartialEq>(old: Vec<(String, K)>, new: Vec<(String, K)>) -> NamedChanges {
        let mut c = NamedChanges::default();
        for (name, view) in &old {
            match new.iter().find(|(n, _)| n == name) {
                None => c.removed.push(name.clone()),
                Some((_, v)) if v != view => c.changed.push(name.clone()),
                Some(_) => {}
            }
        }
        for (name, _) in &new {
            if !old.iter().any(|(n, _)| n == name) {
                c.added.push(name.clone());
            }
        }
        c
    }
}

/// The differences between a running configuration and a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Sections whose change needs a restart of nvo: `eal`, `cpu`,
    /// `switch` and `uplink` are fixed once DPDK has started.
    pub restart: Vec<&'static str>,
    /// VM ports, by name.
    pub vm_ports: NamedChanges,
    /// Domains, by name.
    pub domains: NamedChanges,
    /// Static MACs, named `domain/mac`.
    pub static_macs: NamedChanges,
    /// Patches, named `a<->b`.
    pub patches: NamedChanges,
}

impl ConfigDiff {
    /// The two configurations are the same.
    pub fn is_empty(&self) -> bool {
        self.restart.is_empty()
            && self.vm_ports.is_empty()
            && self.domains.is_empty()
            && self.static_macs.is_empty()
            && self.patches.is_empty()
    }
}

impl Config {
    /// What would change in going from `self` to `new`.
    pub fn diff(&self, new: &Config) -> ConfigDiff {
        let mut restart = Vec::new();
        if self.eal != new.eal {
            restart.push("eal");
        }
        if self.cpu != new.cpu {
            restart.push("cpu");
        }
        if self.switch != new.switch {
            restart.push("switch");
        }
        if self.uplinks != new.uplinks {
            restart.push("uplink");
        }
        ConfigDiff {
            restart,
            vm_ports: NamedChanges::compare(vm_views(self), vm_views(new)),
            domains: NamedChanges::compare(domain_views(self), domain_views(new)),
            static_macs: NamedChanges::compare(mac_views(self), mac_views(new)),
            patches: NamedChanges::compare(patch_views(self), patch_views(new)),
        }
    }
}

fn domain_views(c: &Config) -> Vec<(String, Domain)> {
    c.domains
        .iter()
        .map(|d| (d.name.clone(), d.clone()))
        .collect()
}

/// A VM port with its domains by name.
type VmView = (VmPort, Option<String>, Vec<(u16, String)>);

fn vm_views(c: &Config) -> Vec<(String, VmView)> {
    let dom = |d: usize| c.domains[d].name.clone();
    c.vm_ports
        .iter()
        .map(|p| {
            let mut bare = p.clone();
            bare.domain = None;
            bare.vlan_map.clear();
            let vlans = p.vlan_map.iter().map(|(&v, &d)| (v, dom(d))).collect();
            (p.name.clone(), (bare, p.domain.map(dom), vlans))
        })
        .collect()
}

fn mac_views(c: &Config) -> Vec<(String, (String, Option<std::net::IpAddr>))> {
    c.static_macs
        .iter()
        .map(|m: &StaticMac| {
            let target = match m.target {
                MacTarget::Vtep(ip) => ip.to_string(),
                MacTarget::Port(i) => format!("port {}", c.vm_ports[i].name),
            };
            (
                format!("{}/{}", c.domains[m.domain].name, m.mac),
                (target, m.ip),
            )
        })
        .collect()
}

fn patch_views(c: &Config) -> Vec<(String, ())> {
    c.patches
        .iter()
        .map(|p| {
            let n = |r: PortRef| c.port_name(r).to_string();
            (format!("{}<->{}", n(p.ports[0]), n(p.ports[1])), ())
        })
        .collect()
}
