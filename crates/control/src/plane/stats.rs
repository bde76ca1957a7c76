//! Counters for `show counters` and Prometheus: the workers' counters
//! summed, and the control thread's own (plain integers: only the control
//! thread writes or reads them).

use nvo_dataplane::counters::{Counter, Counters};
use nvo_dataplane::{Discard, Frame};

use super::{ControlPlane, Transmit};
use crate::mgmt::{CounterSet, MetricKind};

/// Counts kept by the control thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PlaneStats {
    /// Frames the control thread sent (replies, requests, reports).
    pub(crate) sent: u64,
    /// Frames a transmit queue refused.
    pub(crate) tx_refused: u64,
    /// Frames not built for want of a buffer.
    pub(crate) no_buffer: u64,
    /// ARP requests and Neighbor Solicitations sent.
    pub(crate) solicits: u64,
    /// ARP replies, Neighbor Advertisements and echo replies sent.
    pub(crate) answers: u64,
    /// Punted frames dropped without an answer.
    pub(crate) ignored: u64,
    /// IGMPv3 and MLDv2 reports sent.
    pub(crate) reports: u64,
    /// Learn events applied (new entries, moves and refreshes).
    pub(crate) learned: u64,
    /// Learn events refused because the port reached its learn limit.
    pub(crate) limit_refused: u64,
    /// Sources entered as `Dest::Drop` by a port's limit.
    pub(crate) limit_dropped: u64,
    /// Learn events that would have moved a static entry.
    pub(crate) static_kept: u64,
    /// Inserts the table refused because it was full.
    pub(crate) table_full: u64,
    /// Inserts the table refused for another reason.
    pub(crate) insert_refused: u64,
    /// Learned entries removed by aging.
    pub(crate) aged: u64,
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Every counter, summed over workers, as metric families: per port,
    /// per domain, per VTEP, per drop reason, totals, busy cycles, and the
    /// control thread's own.
    pub fn counters(&self) -> Vec<CounterSet> {
        let sum = |f: &dyn Fn(&Counters) -> &Counter| -> u64 {
            self.workers.iter().map(|w| f(&w.counters).get()).sum()
        };
        let mut out = Vec::new();
        let counter = |name: &str, help: &str| CounterSet::new(name, help, MetricKind::Counter);

        let ports: Vec<String> = (0..self.layout.len() as u16)
            .map(|p| self.port_name(p))
            .collect();
        type PortField = fn(&nvo_dataplane::counters::PortCounters) -> &Counter;
        let port_sets: [(&str, &str, PortField); 4] = [
            ("nvo_port_rx_frames_total", "Frames received.", |c| {
                &c.rx_frames
            }),
            ("nvo_port_rx_bytes_total", "Bytes received.", |c| {
                &c.rx_bytes
            }),
            ("nvo_port_tx_frames_total", "Frames transmitted.", |c| {
                &c.tx_frames
            }),
            ("nvo_port_tx_bytes_total", "Bytes transmitted.", |c| {
                &c.tx_bytes
            }),
        ];
        for (name, help, field) in port_sets {
            let mut set = counter(name, help);
            for (p, pname) in ports.iter().enumerate() {
                let v = sum(&|c| field(&c.ports[p]));
                set.push(&[("port", pname)], v);
            }
            out.push(set);
        }

        type DomainField = fn(&nvo_dataplane::counters::DomainCounters) -> &Counter;
        let domain_sets: [(&str, &str, DomainField); 5] = [
            (
                "nvo_domain_from_vm_frames_total",
                "Frames from the domain's VM ports.",
                |c| &c.from_vm,
            ),
            (
                "nvo_domain_from_tunnel_frames_total",
                "Frames from the domain's tunnels.",
                |c| &c.from_tunnel,
            ),
            (
                "nvo_domain_to_tunnel_frames_total",
                "Frames sent into the domain's tunnels.",
                |c| &c.to_tunnel,
            ),
            (
                "nvo_domain_flooded_frames_total",
                "Frames flooded (once per frame).",
                |c| &c.flooded,
            ),
            (
                "nvo_domain_learn_events_total",
                "Learn events sent to the control thread.",
                |c| &c.learned,
            ),
        ];
        for (name, help, field) in domain_sets {
            let mut set = counter(name, help);
            for (d, dom) in self.cfg.domains.iter().enumerate() {
                let v = sum(&|c| field(&c.domains[d]));
                set.push(&[("domain", &dom.name)], v);
            }
            out.push(set);
        }
        let mut macs = CounterSet::new(
            "nvo_domain_mac_entries",
            "MAC table entries.",
            MetricKind::Gauge,
        );
        for (d, dom) in self.cfg.domains.iter().enumerate() {
            macs.push(&[("domain", &dom.name)], self.macs.count_domain(d as u16));
        }
        out.push(macs);

        type VtepField = fn(&nvo_dataplane::counters::VtepCounters) -> &Counter;
        let vtep_sets: [(&str, &str, VtepField); 4] = [
            (
                "nvo_vtep_tx_frames_total",
                "Tunnel frames sent to the VTEP.",
                |c| &c.tx_frames,
            ),
            (
                "nvo_vtep_tx_bytes_total",
                "Tunnel bytes sent to the VTEP.",
                |c| &c.tx_bytes,
            ),
            (
                "nvo_vtep_rx_frames_total",
                "Tunnel frames received from the VTEP.",
                |c| &c.rx_frames,
            ),
            (
                "nvo_vtep_rx_bytes_total",
                "Tunnel bytes received from the VTEP.",
                |c| &c.rx_bytes,
            ),
        ];
        let counted = self.tunnels.vteps.len().min(super::VTEP_COUNTERS);
        for (name, help, field) in vtep_sets {
            let mut set = counter(name, help);
            for (v, ip) in self.tunnels.vteps[..counted].iter().enumerate() {
                let n = sum(&|c| field(&c.vteps[v]));
                set.push(&[("vtep", &ip.to_string())], n);
            }
            out.push(set);
        }

        let mut drops = counter("nvo_drops_total", "Frames dropped, by reason.");
        for i in 0..Discard::COUNT {
            if let Some(r) = Discard::from_index(i) {
                drops.push(&[("reason", r.name())], sum(&|c| &c.drops[i]));
            }
        }
        out.push(drops);

        type Field = fn(&Counters) -> &Counter;
        let singles: [(&str, &str, Field); 7] = [
            (
                "nvo_punted_frames_total",
                "Frames handed to the control thread.",
                |c| &c.punted,
            ),
            (
                "nvo_flood_copies_total",
                "Extra frames made by flooding.",
                |c| &c.copies,
            ),
            (
                "nvo_generated_frames_total",
                "ICMP errors built by workers.",
                |c| &c.generated,
            ),
            (
                "nvo_learn_lost_total",
                "Learn events lost to a full queue.",
                |c| &c.learn_lost,
            ),
            (
                "nvo_busy_cycles_total",
                "Cycles spent in polls that returned frames.",
                |c| &c.busy_cycles,
            ),
            (
                "nvo_busy_frames_total",
                "Frames processed in those polls.",
                |c| &c.busy_frames,
            ),
            (
                "nvo_idle_polls_total",
                "Polls that returned no frame.",
                |c| &c.idle_polls,
            ),
        ];
        for (name, help, field) in singles {
            let mut set = counter(name, help);
            set.push(&[], sum(&|c| field(c)));
            out.push(set);
        }
        let t = self.totals();
        let mut totals = counter(
            "nvo_frames_total",
            "Frame totals over all ports and workers.",
        );
        for (what, v) in [
            ("rx", t.rx),
            ("tx", t.tx),
            ("dropped", t.dropped),
            ("punted", t.punted),
            ("copies", t.copies),
            ("generated", t.generated),
        ] {
            totals.push(&[("what", what)], v);
        }
        out.push(totals);

        let s = &self.stats;
        let mut control = counter(
            "nvo_control_events_total",
            "What the control thread did, by event.",
        );
        for (what, v) in [
            ("sent", s.sent),
            ("tx_refused", s.tx_refused),
            ("no_buffer", s.no_buffer),
            ("solicits", s.solicits),
            ("answers", s.answers),
            ("ignored", s.ignored),
            ("reports", s.reports),
            ("learned", s.learned),
            ("limit_refused", s.limit_refused),
            ("limit_dropped", s.limit_dropped),
            ("static_kept", s.static_kept),
            ("table_full", s.table_full),
            ("insert_refused", s.insert_refused),
            ("aged", s.aged),
        ] {
            control.push(&[("event", what)], v);
        }
        out.push(control);
        let mut entries =
            CounterSet::new("nvo_mac_entries", "MAC table entries.", MetricKind::Gauge);
        entries.push(&[], self.table.len() as u64);
        out.push(entries);
        out
    }
}
