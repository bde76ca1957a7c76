//! Per-worker counters: written by one worker, summed by the control thread.
//!
//! Each worker owns one [`Counters`] in an allocation of its own, so no two
//! workers ever write the same cache line. A counter is an `AtomicU64`
//! updated with a relaxed load and store, not a read-modify-write: there is
//! one writer, so no increment can be lost, and on x86 this compiles to a
//! plain `add` to memory. The control thread reads with relaxed loads; a
//! sum over workers is a snapshot that may lag by the frames in flight.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use nvo_packet::DropReason as WireReason;

/// One counter with a single writer.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker may call this.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Adds one. Only the owning worker may call this.
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value; any thread.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Why the pipeline dropped a frame: the wire layer's reasons, then the
/// pipeline's own. `index()` is dense from zero and indexes [`Counters::drops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Discard {
    /// Decapsulation or encapsulation refused the frame.
    Wire(WireReason),
    /// Shorter than an Ethernet header.
    Runt,
    /// A source MAC address that is multicast or broadcast.
    BadSourceMac,
    /// A frame from a VM port that maps to no domain (untagged on a port
    /// without a default domain, or a VLAN id the port does not map).
    NoDomain,
    /// A tagged frame from a VM port that carries no VLAN map (RFC 7348
    /// section 6.1: the encapsulator should not send tagged frames).
    VmTagged,
    /// A tunnel frame whose VNI/VSID maps to no domain on this switch.
    UnknownVni,
    /// The table says frames for this destination are dropped.
    DestDrop,
    /// The destination is the port the frame came in on.
    Hairpin,
    /// The table names a remote VTEP that has no usable outer header yet
    /// (its next hop is unresolved) or that the snapshot does not know.
    UnknownVtep,
    /// Too big for the underlay MTU once encapsulated (an ICMP error was
    /// sent back when the frame allowed one).
    MtuExceeded,
    /// No headroom for the outer header.
    NoHeadroom,
    /// No buffer for a flood copy or a generated reply.
    NoBuffer,
    /// More frames for one port in a burst than its output buffer holds.
    OutputFull,
    /// The port's transmit queue refused the frame.
    TxFull,
    /// The control thread's queue was full.
    PuntFull,
    /// The frame was sent to a port that is not up.
    PortDown,
    /// A frame out of a tunnel whose destination is behind another tunnel:
    /// split horizon forbids sending it back into the underlay.
    SplitHorizon,
    /// Nowhere to send it: a flood with no other member, or a table entry
    /// pointing at a port outside the frame's domain.
    NoDestination,
    /// Its source MAC maps to "drop": a port over its learning limit with
    /// the drop action, or a source blocked by configuration.
    SourceBlocked,
    /// A frame in several buffer segments, which the pipeline does not take.
    Chained,
}

/// Pipeline reasons after the wire ones, in counter order.
const LOCAL: [Discard; 19] = [
    Discard::Runt,
    Discard::BadSourceMac,
    Discard::NoDomain,
    Discard::VmTagged,
    Discard::UnknownVni,
    Discard::DestDrop,
    Discard::Hairpin,
    Discard::UnknownVtep,
    Discard::MtuExceeded,
    Discard::NoHeadroom,
    Discard::NoBuffer,
    Discard::OutputFull,
    Discard::TxFull,
    Discard::PuntFull,
    Discard::PortDown,
    Discard::SplitHorizon,
    Discard::NoDestination,
    Discard::SourceBlocked,
    Discard::Chained,
];

impl Discard {
    /// Number of drop reasons: the length of [`Counters::drops`].
    pub const COUNT: usize = WireReason::COUNT + LOCAL.len();

    /// The counter index of this reason.
    #[inline(always)]
    pub const fn index(self) -> usize {
        match self {
            Discard::Wire(r) => r as usize,
            Discard::Runt => WireReason::COUNT,
            Discard::BadSourceMac => WireReason::COUNT + 1,
            Discard::NoDomain => WireReason::COUNT + 2,
            Discard::VmTagged => WireReason::COUNT + 3,
            Discard::UnknownVni => WireReason::COUNT + 4,
            Discard::DestDrop => WireReason::COUNT + 5,
            Discard::Hairpin => WireReason::COUNT + 6,
            Discard::UnknownVtep => WireReason::COUNT + 7,
            Discard::MtuExceeded => WireReason::COUNT + 8,
            Discard::NoHeadroom => WireReason::COUNT + 9,
            Discard::NoBuffer => WireReason::COUNT + 10,
            Discard::OutputFull => WireReason::COUNT + 11,
            Discard::TxFull => WireReason::COUNT + 12,
            Discard::PuntFull => WireReason::COUNT + 13,
            Discard::PortDown => WireReason::COUNT + 14,
            Discard::SplitHorizon => WireReason::COUNT + 15,
            Discard::NoDestination => WireReason::COUNT + 16,
            Discard::SourceBlocked => WireReason::COUNT + 17,
            Discard::Chained => WireReason::COUNT + 18,
        }
    }

    /// The reason at counter index `i`.
    pub fn from_index(i: usize) -> Option<Discard> {
        if i < WireReason::COUNT {
            return Some(Discard::Wire(WireReason::ALL[i]));
        }
        let local = i - WireReason::COUNT;
        LOCAL.get(local).copied()
    }

    /// A stable snake_case name for metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Discard::Wire(r) => r.name(),
            Discard::Runt => "runt",
            Discard::BadSourceMac => "bad_source_mac",
            Discard::NoDomain => "no_domain",
            Discard::VmTagged => "vm_tagged",
            Discard::UnknownVni => "unknown_vni",
            Discard::DestDrop => "dest_drop",
            Discard::Hairpin => "hairpin",
            Discard::UnknownVtep => "unknown_vtep",
            Discard::MtuExceeded => "mtu_exceeded",
            Discard::NoHeadroom => "no_headroom",
            Discard::NoBuffer => "no_buffer",
            Discard::OutputFull => "output_full",
            Discard::TxFull => "tx_full",
            Discard::PuntFull => "punt_full",
            Discard::PortDown => "port_down",
            Discard::SplitHorizon => "split_horizon",
            Discard::NoDestination => "no_destination",
            Discard::SourceBlocked => "source_blocked",
            Discard::Chained => "chained",
        }
    }
}

/// Counters of one port, as seen by one worker.
#[derive(Default, Debug)]
pub struct PortCounters {
    /// Frames received.
    pub rx_frames: Counter,
    /// Bytes received.
    pub rx_bytes: Counter,
    /// Frames the transmit queue accepted.
    pub tx_frames: Counter,
    /// Bytes the transmit queue accepted.
    pub tx_bytes: Counter,
}

/// Counters of one domain, as seen by one worker.
#[derive(Default, Debug)]
pub struct DomainCounters {
    /// Frames received from the domain's VM ports.
    pub from_vm: Counter,
    /// Frames received from the domain's tunnels.
    pub from_tunnel: Counter,
    /// Frames sent into the domain's tunnels (flood copies included).
    pub to_tunnel: Counter,
    /// Frames flooded (counted once per frame, not per copy).
    pub flooded: Counter,
    /// Learn and refresh events sent to the control thread.
    pub learned: Counter,
}

/// Counters of one remote VTEP, as seen by one worker.
#[derive(Default, Debug)]
pub struct VtepCounters {
    /// Tunnel frames sent to the VTEP.
    pub tx_frames: Counter,
    /// Bytes of those frames, outer headers included.
    pub tx_bytes: Counter,
    /// Tunnel frames received from the VTEP.
    pub rx_frames: Counter,
    /// Bytes of those frames, outer headers included.
    pub rx_bytes: Counter,
}

/// All counters of one worker. Allocate one per worker with [`Counters::new`].
///
/// Frame conservation, exact at any instant the worker is between bursts:
/// `rx + copies + generated == tx + dropped + punted`, where `rx` and `tx`
/// sum over ports, `dropped` over reasons, `copies` counts the extra frames
/// flooding made and `generated` the ICMP errors the worker built.
#[derive(Debug)]
#[repr(align(64))]
pub struct Counters {
    /// Drops by reason, indexed by [`Discard::index`].
    pub drops: [Counter; Discard::COUNT],
    /// Frames handed to the control thread.
    pub punted: Counter,
    /// Extra frames made by flooding (copies beyond the first).
    pub copies: Counter,
    /// Frames the worker built itself (ICMP errors for path MTU).
    pub generated: Counter,
    /// Learn or refresh events that found the control queue full.
    pub learn_lost: Counter,
    /// TSC cycles spent in polls that returned frames.
    pub busy_cycles: Counter,
    /// Frames processed in those polls.
    pub busy_frames: Counter,
    /// Polls that returned no frame.
    pub idle_polls: Counter,
    /// Per port, indexed by port index.
    pub ports: Box<[PortCounters]>,
    /// Per domain, indexed by domain index.
    pub domains: Box<[DomainCounters]>,
    /// Per remote VTEP, indexed by VTEP index.
    pub vteps: Box<[VtepCounters]>,
}

impl Counters {
    /// Zeroed counters for `ports` ports, `domains` domains and `vteps`
    /// remote VTEPs. Indices beyond these are not counted per object (the
    /// drop and total counters still are).
    pub fn new(ports: usize, domains: usize, vteps: usize) -> Counters {
        Counters {
            drops: core::array::from_fn(|_| Counter::default()),
            punted: Counter::default(),
            copies: Counter::default(),
            generated: Counter::default(),
            learn_lost: Counter::default(),
            busy_cycles: Counter::default(),
            busy_frames: Counter::default(),
            idle_polls: Counter::default(),
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
            domains: (0..domains).map(|_| DomainCounters::default()).collect(),
            vteps: (0..vteps).map(|_| VtepCounters::default()).collect(),
        }
    }

    /// Counts one dropped frame.
    #[inline(always)]
    pub fn discard(&self, reason: Discard) {
        self.drops[reason.index()].inc();
    }

    /// Counts `n` dropped frames.
    #[inline(always)]
    pub fn discard_n(&self, reason: Discard, n: u64) {
        self.drops[reason.index()].add(n);
    }

    /// Per-port counters, or `None` for an index beyond the allocation.
    #[inline(always)]
    pub fn port(&self, port: u16) -> Option<&PortCounters> {
        self.ports.get(usize::from(port))
    }

    /// Per-domain counters, or `None` for an index beyond the allocation.
    #[inline(always)]
    pub fn domain(&self, domain: u16) -> Option<&DomainCounters> {
        self.domains.get(usize::from(domain))
    }

    /// Per-VTEP counters, or `None` for an index beyond the allocation.
    #[inline(always)]
    pub fn vtep(&self, vtep: u32) -> Option<&VtepCounters> {
        self.vteps.get(vtep as usize)
    }

    /// Totals for the conservation check and for reports.
    pub fn totals(&self) -> Totals {
        Totals {
            rx: self.ports.iter().map(|p| p.rx_frames.get()).sum(),
            tx: self.ports.iter().map(|p| p.tx_frames.get()).sum(),
            dropped: self.drops.iter().map(Counter::get).sum(),
            punted: self.punted.get(),
            copies: self.copies.get(),
            generated: self.generated.get(),
        }
    }
}

/// Frame totals of one or more workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Frames received on all ports.
    pub rx: u64,
    /// Frames transmitted on all ports.
    pub tx: u64,
    /// Frames dropped, all reasons.
    pub dropped: u64,
    /// Frames handed to the control thread.
    pub punted: u64,
    /// Extra frames made by flooding.
    pub copies: u64,
    /// Frames built by the worker.
    pub generated: u64,
}

impl Totals {
    /// Whether every frame that came in went out, was dropped or was punted.
    pub fn conserved(&self) -> bool {
        self.rx + self.copies + self.generated == self.tx + self.dropped + self.punted
    }
}

impl core::ops::Add for Totals {
    type Output = Totals;
    fn add(self, o: Totals) -> Totals {
        Totals {
            rx: self.rx + o.rx,
            tx: self.tx + o.tx,
            dropped: self.dropped + o.dropped,
            punted: self.punted + o.punted,
            copies: self.copies + o.copies,
            generated: self.generated + o.generated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_indices_are_dense_and_round_trip() {
        for i in 0..Discard::COUNT {
            let d = Discard::from_index(i).unwrap();
            assert_eq!(d.index(), i, "{}", d.name());
        }
        assert_eq!(Discard::from_index(Discard::COUNT), None);
    }

    #[test]
    fn counters_of_a_worker_start_at_zero_and_conserve() {
        let c = Counters::new(2, 1, 1);
        c.ports[0].rx_frames.add(3);
        c.ports[1].tx_frames.add(2);
        c.discard(Discard::Hairpin);
        assert!(c.totals().conserved());
        assert_eq!(c.drops[Discard::Hairpin.index()].get(), 1);
        assert!(c.port(2).is_none());
    }
}
