//! Learning and aging: the control thread applies the workers' learn
//! events to the table, enforces each port's learn limit, keeps static
//! entries, and removes learned entries not seen within `aging_secs`.
//!
//! The table cannot list its keys, and [`nvo_table::Writer::age`] does not
//! say which keys it removed, so the control thread keeps a shadow map of
//! every entry it wrote (a `BTreeMap`, sorted as `show macs` wants). Aging
//! walks the shadow map in slices and removes with
//! [`nvo_table::Writer::remove`], so that the per-port learned counts stay
//! exact when entries age out or move; `Writer::age` is never called. The
//! cost is a second copy of the table's keys on the control thread (about
//! 60 bytes an entry), and the age seen is that of the last learn event,
//! which workers send at most once every `refresh_after` seconds for a
//! busy source: an entry may live up to that much longer than
//! `aging_secs`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Bound;
use std::time::Instant;

use nvo_dataplane::events::{Learn, Location};
use nvo_dataplane::Frame;
use nvo_table::{Dest, InsertError, Key, Lifetime};

use super::{ControlPlane, Transmit};
use crate::config::{MacLimitAction, PortRef};

/// Shadow entries looked at per aging slice.
const AGE_SLICE: usize = 1024;

/// How an entry came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// From a learn event; ages.
    Learned,
    /// From the configuration file.
    File,
    /// From `add_mac`; kept across reloads.
    Api,
}

/// The control thread's copy of one table entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MacEntry {
    pub(crate) dest: Dest,
    pub(crate) origin: Origin,
    /// Last learn event (or insertion).
    pub(crate) seen: Option<Instant>,
    /// For statics: the IP it answers ARP/ND for.
    pub(crate) ip: Option<IpAddr>,
    /// The port the source was seen on: the port of `Dest::Local`, or the
    /// port whose limit made it `Dest::Drop`.
    pub(crate) port: Option<u16>,
    /// Whether the entry counts toward `port`'s learn limit.
    pub(crate) charged: bool,
}

/// The shadow map, the per-port learned counts and the per-tunnel
/// reference counts.
#[derive(Debug)]
pub(crate) struct Macs {
    pub(crate) map: BTreeMap<Key, MacEntry>,
    /// Learned entries charged to each port, by port index.
    pub(crate) per_port: Vec<u32>,
    /// Entries naming each tunnel, by tunnel index: a tunnel named by none
    /// may be retired.
    per_tunnel: Vec<u32>,
    /// Where the next aging slice starts.
    cursor: Option<Key>,
}

impl Macs {
    pub(crate) fn new(ports: usize) -> Macs {
        Macs {
            map: BTreeMap::new(),
            per_port: vec![0; ports],
            per_tunnel: Vec::new(),
            cursor: None,
        }
    }

    /// Entries of domain `d`.
    pub(crate) fn count_domain(&self, d: u16) -> u64 {
        let lo = Key::new(d, [0; 6]);
        let hi = Key::new(d, [0xff; 6]);
        self.map.range(lo..=hi).count() as u64
    }

    /// Records `key`'s shadow entry (the table already holds it), charging
    /// its port and referencing its tunnel.
    pub(crate) fn record(&mut self, key: Key, e: MacEntry) {
        self.forget(key);
        self.tally(&e, true);
        self.map.insert(key, e);
    }

    /// Forgets `key`'s shadow entry, releasing its charge and reference.
    pub(crate) fn forget(&mut self, key: Key) -> Option<MacEntry> {
        let e = self.map.remove(&key)?;
        self.tally(&e, false);
        Some(e)
    }

    /// Counts `e` in (or out of) its port's charge and its tunnel's
    /// references.
    fn tally(&mut self, e: &MacEntry, add: bool) {
        let step = |c: &mut u32| *c = if add { *c + 1 } else { c.saturating_sub(1) };
        if let (true, Some(p)) = (e.charged, e.port) {
            if let Some(c) = self.per_port.get_mut(usize::from(p)) {
                step(c);
            }
        }
        if let Dest::Remote(t) = e.dest {
            let t = t as usize;
            if add && self.per_tunnel.len() <= t {
                self.per_tunnel.resize(t + 1, 0);
            }
            if let Some(c) = self.per_tunnel.get_mut(t) {
                step(c);
            }
        }
    }

    /// Entries that name tunnel `t`.
    pub(crate) fn refs(&self, t: u32) -> u32 {
        self.per_tunnel.get(t as usize).copied().unwrap_or(0)
    }
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Applies one learn event.
    pub(crate) fn learn(&mut self, ev: Learn, now: Instant) {
        let Some(dom) = self.cfg.domains.get(usize::from(ev.domain)) else {
            return;
        };
        if !dom.learning || ev.mac.is_multicast() {
            return;
        }
        let key = Key::new(ev.domain, ev.mac.0);
        let old = self.macs.map.get(&key).copied();
        if old.is_some_and(|e| e.origin != Origin::Learned) {
            self.stats.static_kept += 1;
            return;
        }
        match ev.at {
            Location::Port(p) => self.learn_port(key, p, old, now),
            Location::Vtep { addr, via } => self.learn_vtep(key, addr, via, old, now),
        }
    }

    /// A source seen on local port `p`, within the port's limit.
    fn learn_port(&mut self, key: Key, p: u16, old: Option<MacEntry>, now: Instant) {
        let Some(PortRef::Vm(i)) = self.layout.port_ref(p) else {
            return;
        };
        let (limit, action) = {
            let vm = &self.cfg.vm_ports[i];
            (vm.learn_limit, vm.mac_limit_action)
        };
        if let Some(e) = old {
            if e.dest == Dest::Local(p) {
                self.refresh(key, now);
                return;
            }
        }
        let held = self.macs.per_port[usize::from(p)];
        if held >= limit {
            match action {
                MacLimitAction::Forward => self.stats.limit_refused += 1,
                MacLimitAction::Drop => {
                    if old.is_some_and(|e| e.dest == Dest::Drop && e.port == Some(p)) {
                        self.refresh(key, now);
                    } else if self.put(key, Dest::Drop, Some(p), false, now) {
                        self.stats.limit_dropped += 1;
                    }
                }
            }
            return;
        }
        self.put(key, Dest::Local(p), Some(p), true, now);
    }

    /// A source seen behind the VTEP `addr`, through uplink port `via`.
    fn learn_vtep(
        &mut self,
        key: Key,
        addr: IpAddr,
        via: u16,
        old: Option<MacEntry>,
        now: Instant,
    ) {
        if self.layout.uplink(via).is_none() {
            return;
        }
        let (t, new) = self.tunnels.get_or_add(key.domain(), addr, via, now);
        if new {
            log::info!(
                "learned VTEP {addr} in domain {} on {}",
                self.cfg.domains[usize::from(key.domain())].name,
                self.port_name(via)
            );
            self.watch_next_hop(via, addr);
            self.dirty = true;
        }
        if old.is_some_and(|e| e.dest == Dest::Remote(t)) {
            self.refresh(key, now);
            return;
        }
        self.put(key, Dest::Remote(t), None, false, now);
    }

    /// Stamps a present learned entry again.
    fn refresh(&mut self, key: Key, now: Instant) {
        self.table.refresh(key);
        if let Some(e) = self.macs.map.get_mut(&key) {
            e.seen = Some(now);
        }
        self.stats.learned += 1;
    }

    /// Writes a learned entry to the table and the shadow map; false (and
    /// no change) when the table refused it.
    fn put(
        &mut self,
        key: Key,
        dest: Dest,
        port: Option<u16>,
        charged: bool,
        now: Instant,
    ) -> bool {
        if let Err(e) = self.table.insert(key, dest, Lifetime::Learned) {
            self.count_refusal(e);
            return false;
        }
        self.macs.record(
            key,
            MacEntry {
                dest,
                origin: Origin::Learned,
                seen: Some(now),
                ip: None,
                port,
                charged,
            },
        );
        self.stats.learned += 1;
        true
    }

    pub(crate) fn count_refusal(&mut self, e: InsertError) {
        match e {
            InsertError::Full { .. } => self.stats.table_full += 1,
            InsertError::VtepIndex(_) => self.stats.insert_refused += 1,
        }
    }

    /// Writes a static entry, replacing whatever the key held.
    pub(crate) fn put_static(
        &mut self,
        key: Key,
        dest: Dest,
        ip: Option<IpAddr>,
        origin: Origin,
    ) -> Result<(), InsertError> {
        if let Err(e) = self.table.insert(key, dest, Lifetime::Static) {
            self.count_refusal(e);
            return Err(e);
        }
        let port = match dest {
            Dest::Local(p) => Some(p),
            _ => None,
        };
        self.macs.record(
            key,
            MacEntry {
                dest,
                origin,
                seen: None,
                ip,
                port,
                charged: false,
            },
        );
        Ok(())
    }

    /// Removes `key` from the table and the shadow map.
    pub(crate) fn remove_entry(&mut self, key: Key) -> Option<MacEntry> {
        self.table.remove(key);
        self.macs.forget(key)
    }

    /// Removes the learned entries not seen for `aging_secs`, looking at up
    /// to [`AGE_SLICE`] entries from where the last slice stopped; returns
    /// the number removed.
    pub(crate) fn age_slice(&mut self, now: Instant) -> usize {
        let max = u64::from(self.cfg.switch.aging_secs);
        if max == 0 || self.macs.map.is_empty() {
            return 0;
        }
        let start = match self.macs.cursor {
            Some(k) => Bound::Excluded(k),
            None => Bound::Unbounded,
        };
        let mut last = None;
        let mut seen = 0;
        let mut stale = Vec::new();
        for (&k, e) in self
            .macs
            .map
            .range((start, Bound::Unbounded))
            .take(AGE_SLICE)
        {
            last = Some(k);
            seen += 1;
            let old = e
                .seen
                .is_some_and(|s| now.saturating_duration_since(s).as_secs() > max);
            if e.origin == Origin::Learned && old {
                stale.push(k);
            }
        }
        // A short slice reached the end: the next one starts over.
        self.macs.cursor = if seen < AGE_SLICE { None } else { last };
        for &k in &stale {
            self.remove_entry(k);
        }
        self.stats.aged += stale.len() as u64;
        stale.len()
    }

    /// Forgets what was learned on local port `p`, whose peer went away:
    /// frames for those addresses flood again until they are seen
    /// elsewhere (a VM that moved to another host) or back on `p`.
    pub(crate) fn flush_port(&mut self, p: u16) {
        let keys: Vec<Key> = self
            .macs
            .map
            .iter()
            .filter(|(_, e)| e.origin == Origin::Learned && e.port == Some(p))
            .map(|(&k, _)| k)
            .collect();
        for k in keys {
            self.remove_entry(k);
        }
    }

    /// Forgets every learned entry of domain `d` (learning turned off).
    pub(crate) fn flush_learned(&mut self, d: u16) {
        let lo = Key::new(d, [0; 6]);
        let hi = Key::new(d, [0xff; 6]);
        let keys: Vec<Key> = self
            .macs
            .map
            .range(lo..=hi)
            .filter(|(_, e)| e.origin == Origin::Learned)
            .map(|(&k, _)| k)
            .collect();
        for k in keys {
            self.remove_entry(k);
        }
    }
}
