//! Counters for `show counters` and Prometheus: the workers' counters
//! summed, and the control thread's own (plain integers: only the control
//! thread writes or reads them).

use nvo_dataplane::counters::{Counter, Counters, DomainCounters, PortCounters, VtepCounters};
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

/// Reads one counter of one object (port, domain, VTEP) of a worker.
type Field<C> = fn(&C) -> &Counter;

const PORT_FAMILIES: [(&str, &str, Field<PortCounters>); 4] = [
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

const DOMAIN_FAMILIES: [(&str, &str, Field<DomainCounters>); 5] = [
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

const VTEP_FAMILIES: [(&str, &str, Field<VtepCounters>); 4] = [
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

const WORKER_FAMILIES: [(&str, &str, Field<Counters>); 7] = [
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
        "Frames built or injected for workers to send.",
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

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Every counter, summed over workers, as metric families: per port,
    /// per domain, per VTEP, per drop reason, totals, busy cycles, and the
    /// control thread's own.
    pub fn counters(&self) -> Vec<CounterSet> {
        let mut out = Vec::new();
        let ports: Vec<String> = (0..self.layout.len() as u16)
            .map(|p| self.port_name(p))
            .collect();
        for (name, help, field) in PORT_FAMILIES {
            out.push(self.family(name, help, "port", &ports, |c, i| field(&c.ports[i])));
        }
        let domains: Vec<String> = self.cfg.domains.iter().map(|d| d.name.clone()).collect();
        for (name, help, field) in DOMAIN_FAMILIES {
            out.push(self.family(name, help, "domain", &domains, |c, i| field(&c.domains[i])));
        }
        let mut macs = CounterSet::new(
            "nvo_domain_mac_entries",
            "MAC table entries.",
            MetricKind::Gauge,
        );
        for (d, name) in domains.iter().enumerate() {
            macs.push(&[("domain", name)], self.macs.count_domain(d as u16));
        }
        out.push(macs);
        let counted = self.tunnels.vteps.len().min(super::VTEP_COUNTERS);
        let vteps: Vec<String> = self.tunnels.vteps[..counted]
            .iter()
            .map(|ip| ip.to_string())
            .collect();
        for (name, help, field) in VTEP_FAMILIES {
            out.push(self.family(name, help, "vtep", &vteps, |c, i| field(&c.vteps[i])));
        }
        let reasons: Vec<String> = (0..Discard::COUNT)
            .filter_map(Discard::from_index)
            .map(|r| r.name().to_string())
            .collect();
        out.push(self.family(
            "nvo_drops_total",
            "Frames dropped, by reason.",
            "reason",
            &reasons,
            |c, i| &c.drops[i],
        ));
        for (name, help, field) in WORKER_FAMILIES {
            let mut set = CounterSet::new(name, help, MetricKind::Counter);
            set.push(&[], self.sum(|c| field(c)));
            out.push(set);
        }
        out.push(self.totals_family());
        out.push(self.control_family());
        let mut entries =
            CounterSet::new("nvo_mac_entries", "MAC table entries.", MetricKind::Gauge);
        entries.push(&[], self.table.len() as u64);
        out.push(entries);
        out
    }

    /// One counter summed over workers.
    fn sum(&self, read: impl Fn(&Counters) -> &Counter) -> u64 {
        self.workers.iter().map(|w| read(&w.counters).get()).sum()
    }

    /// A family with one sample per object, labelled `label`=its name;
    /// `read(c, i)` is object `i`'s counter in one worker's counters.
    fn family(
        &self,
        name: &str,
        help: &str,
        label: &str,
        names: &[String],
        read: impl Fn(&Counters, usize) -> &Counter,
    ) -> CounterSet {
        let mut set = CounterSet::new(name, help, MetricKind::Counter);
        for (i, n) in names.iter().enumerate() {
            set.push(&[(label, n)], self.sum(|c| read(c, i)));
        }
        set
    }

    /// Frame totals over ports and workers.
    fn totals_family(&self) -> CounterSet {
        let t = self.totals();
        let mut set = CounterSet::new(
            "nvo_frames_total",
            "Frame totals over all ports and workers.",
            MetricKind::Counter,
        );
        for (what, v) in [
            ("rx", t.rx),
            ("tx", t.tx),
            ("dropped", t.dropped),
            ("punted", t.punted),
            ("copies", t.copies),
            ("generated", t.generated),
        ] {
            set.push(&[("what", what)], v);
        }
        set
    }

    /// The control thread's own counts.
    fn control_family(&self) -> CounterSet {
        let s = &self.stats;
        let mut set = CounterSet::new(
            "nvo_control_events_total",
            "What the control thread did, by event.",
            MetricKind::Counter,
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
            set.push(&[("event", what)], v);
        }
        set
    }
}
