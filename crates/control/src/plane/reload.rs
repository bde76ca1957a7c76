//! Static MACs from the configuration, and reloading the configuration
//! file while the switch runs.
//!
//! A reload applies in place only what needs no new port, queue, worker
//! or table: static MACs, domains' flood lists and learning flags, and the
//! aging time. Any other change is refused with the names of what differs,
//! and the switch keeps running on the old configuration, as it does when
//! the new file is refused.

use nvo_dataplane::Frame;
use nvo_table::{Dest, Key};

use super::learning::Origin;
use super::{ControlPlane, Transmit};
use crate::config::{Config, MacTarget, PortRef};
use crate::mgmt::{ErrorKind, Response};

/// What in `new` cannot be applied to a switch running `old`, in words;
/// `None` when everything can.
pub(crate) fn needs_restart(old: &Config, new: &Config) -> Option<String> {
    // Mask what can be applied; whatever still differs needs a restart.
    let mut masked = new.clone();
    masked.switch.aging_secs = old.switch.aging_secs;
    masked.static_macs = old.static_macs.clone();
    let same_names = old.domains.len() == new.domains.len()
        && old
            .domains
            .iter()
            .zip(&new.domains)
            .all(|(o, n)| o.name == n.name);
    if same_names {
        for (m, o) in masked.domains.iter_mut().zip(&old.domains) {
            m.flood = o.flood.clone();
            m.learning = o.learning;
        }
    }
    if masked == *old {
        return None;
    }
    let diff = old.diff(&masked);
    let mut what: Vec<String> = diff.restart.iter().map(|s| format!("[{s}]")).collect();
    let mut named = |kind: &str, c: &crate::config::NamedChanges| {
        for (verb, names) in [
            ("added", &c.added),
            ("removed", &c.removed),
            ("changed", &c.changed),
        ] {
            what.extend(names.iter().map(|n| format!("{kind} {n:?} {verb}")));
        }
    };
    named("vm_port", &diff.vm_ports);
    named("domain", &diff.domains);
    named("patch", &diff.patches);
    if what.is_empty() {
        // Same names and settings in another order: indices would move.
        what.push("the order of domains or ports".into());
    }
    Some(what.join(", "))
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Writes the configuration's static MACs to the table, making the
    /// tunnels they need. A MAC the table refuses is logged and skipped.
    pub(crate) fn install_statics(&mut self) {
        let statics = self.cfg.static_macs.clone();
        for m in statics {
            let key = Key::new(m.domain as u16, m.mac.0);
            let dest = match m.target {
                MacTarget::Port(i) => Dest::Local(self.layout.port_index(PortRef::Vm(i))),
                MacTarget::Vtep(ip) => match self.configured_tunnel(m.domain as u16, ip) {
                    Some(t) => Dest::Remote(t),
                    None => {
                        log::warn!("static MAC {}: no uplink reaches VTEP {ip}", m.mac);
                        continue;
                    }
                },
            };
            if let Err(e) = self.put_static(key, dest, m.ip, Origin::File) {
                log::warn!("static MAC {} not installed: {e}", m.mac);
            }
        }
    }

    /// Reads the configuration file again and applies it, or answers why
    /// not (the running state is then unchanged).
    pub(crate) fn reload(&mut self) -> Response {
        let Some(path) = self.path.clone() else {
            return Response::error(
                ErrorKind::Unavailable,
                "no configuration file to read again: the switch was not given one",
            );
        };
        let new = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => return Response::error(ErrorKind::Invalid, e.to_string()),
        };
        if let Some(what) = needs_restart(&self.cfg, &new) {
            return Response::error(
                ErrorKind::Invalid,
                format!(
                    "{}: nothing applied; these changes need a restart of nvo: {what}",
                    path.display()
                ),
            );
        }
        if new == self.cfg {
            log::info!("reload of {}: no change", path.display());
            return Response::Done;
        }
        self.apply(new);
        log::info!("configuration reloaded from {}", path.display());
        Response::Done
    }

    /// Switches to `new`, which [`needs_restart`] accepted.
    fn apply(&mut self, new: Config) {
        let old = std::mem::replace(&mut self.cfg, new);
        let stopped: Vec<u16> = (old.domains.iter().zip(&self.cfg.domains))
            .enumerate()
            .filter(|(_, (o, n))| o.learning && !n.learning)
            .map(|(d, _)| d as u16)
            .collect();
        for d in stopped {
            self.flush_learned(d);
        }
        // Statics the file no longer names go; those added with `add_mac`
        // stay unless the file now names the same key.
        let keep: std::collections::HashSet<Key> = self
            .cfg
            .static_macs
            .iter()
            .map(|m| Key::new(m.domain as u16, m.mac.0))
            .collect();
        let gone: Vec<Key> = self
            .macs
            .map
            .iter()
            .filter(|(k, e)| e.origin == Origin::File && !keep.contains(k))
            .map(|(&k, _)| k)
            .collect();
        for k in gone {
            self.remove_entry(k);
        }
        // Tunnels of VTEPs dropped from flood lists are retired by the next
        // timer round once no entry names them either.
        self.configure_tunnels();
        self.install_statics();
        self.publish();
    }
}
