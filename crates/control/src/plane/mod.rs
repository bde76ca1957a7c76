//! The control thread: the one writer of the MAC table and the one
//! publisher of [`Snapshot`]s, generic over the frame type and free of DPDK.
//!
//! The switch binary makes one [`ControlPlane`] on its control lcore with
//! [`ControlPlane::new`], hands each worker the [`WorkerLink`] it returns,
//! and then loops: [`ControlPlane::poll`] for the periodic duties,
//! [`ControlPlane::handle`] for each management request, and
//! [`ControlPlane::set_link`] when a vhost-user peer or a NIC link comes or
//! goes. Everything on a `ControlPlane` takes `&mut self` and belongs to
//! that one thread; workers only see what it publishes (snapshots, table
//! entries) and only talk back through their [`Channels`].
//!
//! Files by role: `build` (the snapshot from the configuration and the
//! tunnel registry), `neighbours` (underlay next hops by ARP/ND),
//! `responder` (answers for our VTEP addresses), `learning` (learn events,
//! limits, aging), `multicast` (IGMPv3/MLDv2 reports), `mgmt` and `reload`
//! (management requests).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use nvo_dataplane::events::Channels;
use nvo_dataplane::{Counters, Frame, Snapshot};
use nvo_packet::ethernet::MacAddr;

use crate::config::{Config, PortRef};

mod build;
mod inject;
mod learning;
mod mgmt;
mod multicast;
mod neighbours;
mod reload;
mod responder;
mod stats;

#[cfg(test)]
mod tests;

pub use inject::Inject;
pub use multicast::{igmpv3_report, link_local, mldv2_report};

use build::Tunnels;
use learning::Macs;
use neighbours::Neighbours;

/// Learn events one worker's queue holds.
pub const LEARN_QUEUE: usize = 4096;
/// Punted frames one worker's queue holds.
pub const PUNT_QUEUE: usize = 256;
/// Remote VTEPs counted per VTEP; tunnels to VTEPs past this many still
/// forward, they are only missing from the per-VTEP counters (the
/// counters are allocated once, before the workers start).
pub const VTEP_COUNTERS: usize = 1024;

/// Learn events taken from one worker in one [`ControlPlane::poll`], so
/// that a learning storm cannot starve the other duties.
const LEARN_BUDGET: usize = 1024;
/// Punted frames taken from one worker in one poll.
const PUNT_BUDGET: usize = 64;
/// How often neighbour timers and aging run.
const TIMER_PERIOD: Duration = Duration::from_millis(100);

/// How the control thread sends its own frames: through a transmit queue
/// of its own on every port, or through the workers' inject queues
/// ([`Inject`]), so that it never shares a transmit queue with a worker.
/// Called only from the control thread.
pub trait Transmit<F: Frame> {
    /// An empty frame (length 0) with headroom, to build a frame in with
    /// [`Frame::append`]; `None` when no buffer is free.
    fn alloc(&mut self) -> Option<F>;
    /// Sends `frame` out of switch port `port`; false when refused (the
    /// frame is dropped).
    fn send(&mut self, port: u16, frame: F) -> bool;
}

/// Switch port indices: VM ports `0..V` in configuration order, then
/// uplinks `V..V+U`. These are the indices of `Snapshot::ports`, of the
/// per-port counters and of `Dest::Local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    vm_ports: u16,
    uplinks: u16,
}

impl Layout {
    /// The layout of `cfg`'s ports.
    pub fn of(cfg: &Config) -> Layout {
        Layout {
            vm_ports: cfg.vm_ports.len() as u16,
            uplinks: cfg.uplinks.len() as u16,
        }
    }

    /// The switch port index of a configured port.
    pub fn port_index(&self, port: PortRef) -> u16 {
        match port {
            PortRef::Vm(i) => i as u16,
            PortRef::Uplink(i) => self.vm_ports + i as u16,
        }
    }

    /// The configured port at switch port index `port`.
    pub fn port_ref(&self, port: u16) -> Option<PortRef> {
        if port < self.vm_ports {
            Some(PortRef::Vm(usize::from(port)))
        } else if port < self.vm_ports + self.uplinks {
            Some(PortRef::Uplink(usize::from(port - self.vm_ports)))
        } else {
            None
        }
    }

    /// The uplink index (into `Config::uplinks`) of switch port `port`.
    pub fn uplink(&self, port: u16) -> Option<usize> {
        match self.port_ref(port) {
            Some(PortRef::Uplink(u)) => Some(u),
            _ => None,
        }
    }

    /// Number of ports.
    pub fn len(&self) -> usize {
        usize::from(self.vm_ports) + usize::from(self.uplinks)
    }

    /// Whether the switch has no port at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one worker needs: give each to
/// `Pipeline::new(shared, table, counters, chan, out_capacity)`.
pub struct WorkerLink<F> {
    /// Where the control thread publishes snapshots.
    pub shared: Arc<ArcSwap<Snapshot>>,
    /// The worker's handle on the MAC table.
    pub table: nvo_table::Reader,
    /// The worker's own counters.
    pub counters: Arc<Counters>,
    /// The worker's queues toward the control thread.
    pub chan: Arc<Channels<F>>,
}

/// Why a control plane could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlaneError {
    /// One MAC per uplink is needed, in configuration order.
    #[error("{got} uplink MAC addresses given for {expected} uplinks")]
    UplinkMacs {
        /// Uplinks in the configuration.
        expected: usize,
        /// MACs given.
        got: usize,
    },
    /// At least one worker is needed.
    #[error("no worker: the switch needs at least one")]
    NoWorkers,
    /// The MAC table could not be made with the configured size.
    #[error("MAC table: {0}")]
    Table(#[from] nvo_table::CapacityError),
}

/// One worker's parts the control thread keeps.
struct WorkerSide<F> {
    counters: Arc<Counters>,
    chan: Arc<Channels<F>>,
}

/// The control thread's state. See the module documentation for who calls
/// what; every method belongs to the control thread.
pub struct ControlPlane<F: Frame, T: Transmit<F>> {
    /// The running configuration.
    cfg: Config,
    /// The file [`Request::Reload`](crate::mgmt::Request::Reload) reads.
    path: Option<PathBuf>,
    layout: Layout,
    /// Our MAC on each uplink, by uplink index.
    uplink_macs: Vec<MacAddr>,
    tx: T,
    table: nvo_table::Writer,
    shared: Arc<ArcSwap<Snapshot>>,
    workers: Vec<WorkerSide<F>>,
    /// Link state by port index.
    links: Vec<bool>,
    tunnels: Tunnels,
    neighbours: Neighbours,
    macs: Macs,
    /// When the next IGMP/MLD reports are due (`None`: at the next poll).
    next_report: Option<Instant>,
    /// When neighbour timers and aging next run.
    next_timers: Option<Instant>,
    /// The first poll's time: the table clock counts seconds from it.
    epoch: Option<Instant>,
    /// The latest poll's time.
    now: Option<Instant>,
    /// The snapshot must be rebuilt and published.
    dirty: bool,
    shutdown: bool,
    stats: stats::PlaneStats,
    /// Where frames are built before being copied into a frame buffer.
    scratch: Vec<u8>,
}

impl<F: Frame, T: Transmit<F>> ControlPlane<F, T> {
    /// Builds the table, the first snapshot (VM ports down, uplinks up,
    /// static MACs in the table, tunnels waiting for their next hop) and
    /// one [`WorkerLink`] per worker. `uplink_macs` holds the MAC of each
    /// uplink in configuration order; `tx` is the control thread's own
    /// transmit side. Called once, on the control thread, before the
    /// workers start.
    pub fn new(
        cfg: Config,
        workers: usize,
        uplink_macs: &[MacAddr],
        tx: T,
    ) -> Result<(Self, Vec<WorkerLink<F>>), PlaneError> {
        if uplink_macs.len() != cfg.uplinks.len() {
            return Err(PlaneError::UplinkMacs {
                expected: cfg.uplinks.len(),
                got: uplink_macs.len(),
            });
        }
        if workers == 0 {
            return Err(PlaneError::NoWorkers);
        }
        let layout = Layout::of(&cfg);
        let table = nvo_table::Writer::new(cfg.switch.mac_table_size as usize)?;
        let links = (0..layout.len())
            .map(|p| matches!(layout.port_ref(p as u16), Some(PortRef::Uplink(_))))
            .collect();
        let sides: Vec<WorkerSide<F>> = (0..workers)
            .map(|_| WorkerSide {
                counters: Arc::new(Counters::new(
                    layout.len(),
                    cfg.domains.len(),
                    VTEP_COUNTERS,
                )),
                chan: Arc::new(Channels::new(LEARN_QUEUE, PUNT_QUEUE)),
            })
            .collect();
        let mut plane = ControlPlane {
            macs: Macs::new(layout.len()),
            path: None,
            layout,
            uplink_macs: uplink_macs.to_vec(),
            tx,
            table,
            shared: Arc::new(ArcSwap::from_pointee(Snapshot::new(
                nvo_packet::decap::Config::new(None, None),
            ))),
            workers: sides,
            links,
            tunnels: Tunnels::default(),
            neighbours: Neighbours::default(),
            next_report: None,
            next_timers: None,
            epoch: None,
            now: None,
            dirty: true,
            shutdown: false,
            stats: stats::PlaneStats::default(),
            scratch: vec![0; 10_240],
            cfg,
        };
        plane.configure_tunnels();
        plane.install_statics();
        plane.publish();
        let links = plane
            .workers
            .iter()
            .map(|w| WorkerLink {
                shared: Arc::clone(&plane.shared),
                table: plane.table.reader(),
                counters: Arc::clone(&w.counters),
                chan: Arc::clone(&w.chan),
            })
            .collect();
        Ok((plane, links))
    }

    /// Names the configuration file that a reload request reads again.
    pub fn set_config_path(&mut self, path: impl Into<PathBuf>) {
        self.path = Some(path.into());
    }

    /// The control thread's transmit side, to finish setting it up once
    /// the worker links exist (see [`Inject::attach`]).
    pub fn transmit_mut(&mut self) -> &mut T {
        &mut self.tx
    }

    /// The port numbering.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The snapshot the workers currently forward by.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.load_full()
    }

    /// Records that the link of `port` went up or down (a vhost-user peer
    /// connected or left, a NIC link changed) and publishes at once, so
    /// that workers stop sending to a port that is gone. What was learned
    /// on a port that goes down is forgotten.
    pub fn set_link(&mut self, port: u16, up: bool) {
        let Some(l) = self.links.get_mut(usize::from(port)) else {
            return;
        };
        if *l != up {
            *l = up;
            if !up {
                self.flush_port(port);
            }
            log::info!(
                "port {} is {}",
                self.port_name(port),
                if up { "up" } else { "down" }
            );
            self.publish();
        }
    }

    /// One round of duties; returns how much work it found (0: idle, the
    /// caller may sleep a little). Each round: advance the table clock,
    /// drain learn events and punted frames from every worker (bounded per
    /// worker), every 100 ms run the neighbour timers, an aging slice and
    /// the retirement of unused tunnels,
    /// every 60 s send the multicast membership reports, and publish a new
    /// snapshot when anything it holds changed.
    pub fn poll(&mut self, now: Instant) -> usize {
        let epoch = *self.epoch.get_or_insert(now);
        self.now = Some(now);
        // Ticks are seconds; they wrap as the table expects.
        let tick = now.saturating_duration_since(epoch).as_secs() as u16;
        if tick != self.table.clock() {
            self.table.set_clock(tick);
        }
        let mut work = 0;
        for w in 0..self.workers.len() {
            work += self.drain_learn(w, now);
            work += self.drain_punted(w, now);
        }
        if self.next_timers.map_or(true, |t| now >= t) {
            self.next_timers = Some(now + TIMER_PERIOD);
            work += self.neighbour_timers(now);
            work += self.age_slice(now);
            work += self.retire_tunnels(now);
        }
        if self.next_report.map_or(true, |t| now >= t) {
            self.next_report = Some(now + multicast::REPORT_PERIOD);
            work += self.send_reports();
        }
        if self.dirty {
            self.publish();
            work += 1;
        }
        work
    }

    /// Whether a shutdown was requested over the management socket.
    pub fn shutdown_requested(&self) -> bool {
        self.shutdown
    }

    /// Rebuilds the snapshot from the current state and publishes it.
    fn publish(&mut self) {
        let snap = self.build_snapshot();
        self.shared.store(Arc::new(snap));
        self.dirty = false;
    }

    /// Learn events of worker `w`.
    fn drain_learn(&mut self, w: usize, now: Instant) -> usize {
        let mut n = 0;
        while n < LEARN_BUDGET {
            let Some(ev) = self.workers[w].chan.learn.pop() else {
                break;
            };
            self.learn(ev, now);
            n += 1;
        }
        n
    }

    /// Punted frames of worker `w`; each is answered or dropped here.
    fn drain_punted(&mut self, w: usize, now: Instant) -> usize {
        let mut n = 0;
        while n < PUNT_BUDGET {
            let Some(p) = self.workers[w].chan.punt.pop() else {
                break;
            };
            self.punted(p.port, p.frame, now);
            n += 1;
        }
        n
    }

    /// The configured name of switch port `port`.
    fn port_name(&self, port: u16) -> String {
        match self.layout.port_ref(port) {
            Some(r) => self.cfg.port_name(r).to_string(),
            None => format!("port{port}"),
        }
    }

    /// Copies `len` bytes of the scratch buffer into a new frame and sends
    /// it out of `port`.
    fn send_scratch(&mut self, port: u16, len: usize) -> bool {
        let Some(mut frame) = self.tx.alloc() else {
            self.stats.no_buffer += 1;
            return false;
        };
        let Some(buf) = frame.append(len) else {
            self.stats.no_buffer += 1;
            return false;
        };
        buf.copy_from_slice(&self.scratch[..len]);
        if self.tx.send(port, frame) {
            self.stats.sent += 1;
            true
        } else {
            self.stats.tx_refused += 1;
            false
        }
    }

    /// Our VTEP address of `ip`'s family on uplink `u`.
    fn local_addr(&self, u: usize, family_of: IpAddr) -> Option<IpAddr> {
        let up = &self.cfg.uplinks[u];
        match family_of {
            IpAddr::V4(_) => up.ipv4.map(|c| IpAddr::V4(c.addr)),
            IpAddr::V6(_) => up.ipv6.map(|c| IpAddr::V6(c.addr)),
        }
    }
}
