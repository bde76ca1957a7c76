//! The per-burst forwarding pipeline of one worker.
//!
//! A worker hands [`Pipeline::process`] the frames one receive queue gave
//! it; the pipeline decides the fate of every frame and leaves the frames
//! to send in per-port output buffers ([`Pipeline::output`]), which the
//! worker then hands to the transmit queues. Each burst goes in stages, so
//! that the table sees all of a burst's keys at once:
//!
//! 1. classify: find each frame's domain and its MAC keys, dropping what
//!    is malformed (from an uplink, this is decapsulation);
//! 2. look up destinations (and sources, for learning) in one bulk call
//!    each, which prefetches every bucket before comparing;
//! 3. report new or stale sources to the control thread;
//! 4. forward: deliver locally, encapsulate toward a remote VTEP, or flood.
//!
//! Nothing here allocates (the flood copies come from the frame pool),
//! locks, logs or makes a system call; every drop is counted by reason.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use arrayvec::ArrayVec;
use nvo_packet::decap;
use nvo_packet::flow::{self, Symmetry};
use nvo_packet::toeplitz::Toeplitz;
use nvo_packet::DropReason as Wire;
use nvo_table::{Dest, Hit, Key, Reader, Tick};

use crate::classify::{
    answer_locally, classify_vm, is_control, is_multicast_src, is_tagged, mac_at, multicast_dst,
    push_tag, ETH_LEN,
};
use crate::counters::{Counters, Discard};
use crate::events::{Channels, Learn, Location, Punted};
use crate::frame::Frame;
use crate::mtu;
use crate::state::{PortKind, Snapshot, Tunnel, VmPort};

/// The most frames one call of [`Pipeline::process`] takes.
pub const BURST: usize = nvo_table::BURST;

/// One worker's pipeline: its view of the shared state, its counters and
/// its queues toward the control thread.
pub struct Pipeline<F: Frame> {
    /// The state the current burst is forwarded by.
    snap: Arc<Snapshot>,
    /// Where the control thread publishes new states.
    shared: Arc<ArcSwap<Snapshot>>,
    /// Everything else, apart so that the snapshot can be borrowed while
    /// this is mutated.
    eng: Engine<F>,
}

/// The worker-owned parts of a pipeline.
struct Engine<F: Frame> {
    table: Reader,
    counters: Arc<Counters>,
    chan: Arc<Channels<F>>,
    toeplitz: Toeplitz,
    out: Outputs<F>,
    icmp: mtu::RateLimit,
}

/// Frames waiting for transmission, per port.
pub struct Outputs<F> {
    ports: Vec<Vec<F>>,
    capacity: usize,
}

impl<F> Outputs<F> {
    fn new(ports: usize, capacity: usize) -> Outputs<F> {
        Outputs {
            ports: (0..ports).map(|_| Vec::with_capacity(capacity)).collect(),
            capacity,
        }
    }

    /// Queues `frame` for `port`; gives it back when the buffer is full
    /// (it never grows: the hot path does not allocate).
    #[inline]
    fn push(&mut self, port: u16, frame: F) -> Result<(), F> {
        match self.ports.get_mut(usize::from(port)) {
            Some(q) if q.len() < self.capacity => {
                q.push(frame);
                Ok(())
            }
            _ => Err(frame),
        }
    }
}

/// The fate of one frame after classification.
struct Classified<F> {
    frame: F,
    domain: u16,
    /// The sending VTEP and the uplink, for frames that came out of a tunnel.
    from_vtep: Option<(IpAddr, u16)>,
    /// Length on the wire, outer header included, of a tunnel frame.
    wire_len: u32,
}

impl<F: Frame> Pipeline<F> {
    /// A pipeline over the state published in `shared`, reading `table`,
    /// counting into `counters` and reporting through `chan`. `out_capacity`
    /// bounds the frames one burst may queue for one port, flood copies
    /// included.
    pub fn new(
        shared: Arc<ArcSwap<Snapshot>>,
        table: Reader,
        counters: Arc<Counters>,
        chan: Arc<Channels<F>>,
        out_capacity: usize,
    ) -> Pipeline<F> {
        let snap = shared.load_full();
        let ports = counters.ports.len().max(snap.ports.len());
        let icmp = mtu::RateLimit::new(snap.icmp_per_sec);
        Pipeline {
            snap,
            shared,
            eng: Engine {
                table,
                counters,
                chan,
                toeplitz: Toeplitz::new(&nvo_packet::toeplitz::MICROSOFT_KEY),
                out: Outputs::new(ports, out_capacity),
                icmp,
            },
        }
    }

    /// Tells the ICMP rate limit how fast the `tsc` passed to
    /// [`Pipeline::process`] runs.
    pub fn set_tsc_hz(&mut self, hz: u64) {
        self.eng.icmp.set_hz(hz);
    }

    /// Picks up a newly published state, if any. Call between bursts.
    #[inline]
    pub fn refresh(&mut self) {
        let current = self.shared.load();
        if !Arc::ptr_eq(&current, &self.snap) {
            self.snap = arc_swap::Guard::into_inner(current);
            self.eng.icmp.set_rate(self.snap.icmp_per_sec);
        }
    }

    /// The state the pipeline forwards by.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snap
    }

    /// This worker's counters.
    pub fn counters(&self) -> &Counters {
        &self.eng.counters
    }

    /// The frames queued for `port`, for the worker to transmit. Frames it
    /// leaves in the vector are dropped by [`Pipeline::finish_port`].
    #[inline]
    pub fn output(&mut self, port: u16) -> Option<&mut Vec<F>> {
        self.eng.out.ports.get_mut(usize::from(port))
    }

    /// Ports with frames waiting.
    pub fn ports_with_output(&self) -> impl Iterator<Item = u16> + '_ {
        self.eng
            .out
            .ports
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.is_empty())
            .map(|(i, _)| i as u16)
    }

    /// Accounts for a transmission on `port`: `sent` frames and `bytes`
    /// went out; whatever is still queued is dropped as refused.
    #[inline]
    pub fn finish_port(&mut self, port: u16, sent: u64, bytes: u64) {
        let eng = &mut self.eng;
        if let Some(pc) = eng.counters.port(port) {
            pc.tx_frames.add(sent);
            pc.tx_bytes.add(bytes);
        }
        if let Some(q) = eng.out.ports.get_mut(usize::from(port)) {
            eng.counters.discard_n(Discard::TxFull, q.len() as u64);
            q.clear();
        }
    }

    /// Queues the frames the control thread asked this worker to send.
    /// Call between bursts, before transmitting. Returns how many.
    pub fn take_injected(&mut self) -> usize {
        let (snap, eng) = (&*self.snap, &mut self.eng);
        let mut n = 0;
        while let Some((port, frame)) = eng.chan.inject.pop() {
            eng.counters.generated.inc();
            eng.send_port(snap, port, frame);
            n += 1;
        }
        n
    }

    /// Forwards a burst of at most [`BURST`] frames received on `port`.
    /// `tsc` is the cycle counter (for the ICMP rate limit).
    pub fn process<I>(&mut self, port: u16, frames: I, tsc: u64)
    where
        I: IntoIterator<Item = F>,
    {
        let (snap, eng) = (&*self.snap, &mut self.eng);
        let now = eng.table.clock();
        let mut burst: ArrayVec<F, BURST> = ArrayVec::new();
        let mut bytes = 0u64;
        let mut extra = 0u64;
        for f in frames {
            bytes += f.len() as u64;
            if burst.try_push(f).is_err() {
                // Callers pass at most BURST frames; count any excess as
                // received and dropped, so that conservation still holds.
                extra += 1;
            }
        }
        eng.counters.discard_n(Discard::OutputFull, extra);
        if let Some(pc) = eng.counters.port(port) {
            pc.rx_frames.add(burst.len() as u64 + extra);
            pc.rx_bytes.add(bytes);
        }
        let Some(p) = snap.ports.get(usize::from(port)) else {
            eng.counters
                .discard_n(Discard::PortDown, burst.len() as u64);
            return;
        };
        match &p.kind {
            PortKind::Patch { peer } => {
                for f in burst {
                    eng.send_port(snap, *peer, f);
                }
            }
            PortKind::Vm(vm) => eng.vm_burst(snap, port, vm, burst, now, tsc),
            PortKind::Uplink(_) => eng.uplink_burst(snap, port, burst, now),
        }
    }
}

impl<F: Frame> Engine<F> {
    /// Frames from a tenant port.
    fn vm_burst(
        &mut self,
        snap: &Snapshot,
        port: u16,
        vm: &VmPort,
        burst: ArrayVec<F, BURST>,
        now: Tick,
        tsc: u64,
    ) {
        let mut items: ArrayVec<Classified<F>, BURST> = ArrayVec::new();
        for mut frame in burst {
            match classify_vm(snap, vm, &mut frame) {
                Ok(domain) => items.push(Classified {
                    frame,
                    domain,
                    from_vtep: None,
                    wire_len: 0,
                }),
                Err(reason) => self.counters.discard(reason),
            }
        }
        for it in &items {
            if let Some(dc) = self.counters.domain(it.domain) {
                dc.from_vm.inc();
            }
        }
        self.forward(snap, port, items, now, tsc);
    }

    /// Frames from an uplink: tunnel frames for us, or control frames.
    fn uplink_burst(&mut self, snap: &Snapshot, port: u16, burst: ArrayVec<F, BURST>, now: Tick) {
        let mut items: ArrayVec<Classified<F>, BURST> = ArrayVec::new();
        for mut frame in burst {
            // Tunnel packets to a domain's underlay group come to a
            // multicast MAC; they are decapsulated as if the group were our
            // address, and must then belong to a domain of that group.
            let group = if frame.data().first().is_some_and(|b| b & 1 != 0) {
                multicast_dst(frame.data()).filter(|&g| snap.is_group(g))
            } else {
                None
            };
            let verdict = match group {
                None => decap::decap(&snap.decap, frame.data()),
                Some(g) => decap::decap(&snap.decap.only_local(g), frame.data()),
            };
            let d = match verdict {
                Ok(d) => d,
                Err(Wire::NotIp | Wire::UnknownProtocol) if is_control(frame.data()) => {
                    self.punt(port, frame);
                    continue;
                }
                // Neighbor Solicitations come to a solicited-node address,
                // membership queries to all-nodes: multicast, not our
                // address, yet for the control thread.
                Err(Wire::NotOurAddress)
                    if group.is_none()
                        && is_control(frame.data())
                        && multicast_dst(frame.data()).is_some() =>
                {
                    self.punt(port, frame);
                    continue;
                }
                Err(reason) => {
                    self.counters.discard(Discard::Wire(reason));
                    continue;
                }
            };
            let Some(domain) = snap.domain_of_vni(d.kind, d.port, d.vni) else {
                self.counters.discard(Discard::UnknownVni);
                continue;
            };
            if group.is_some_and(|g| !snap.floods_to(domain, g)) {
                self.counters.discard(Discard::Wire(Wire::NotOurAddress));
                continue;
            }
            let dom = &snap.domains[usize::from(domain)];
            let wire_len = frame.len() as u32;
            d.apply_ecn(frame.data_mut());
            let inner = usize::from(d.inner_offset);
            let trailer = frame.len() - inner - usize::from(d.inner_len);
            if !frame.adj(inner) || !frame.trim(trailer) {
                self.counters.discard(Discard::Wire(Wire::Truncated));
                continue;
            }
            if !dom.keep_inner_tags && is_tagged(frame.data()) {
                self.counters.discard(Discard::Wire(Wire::InnerTagged));
                continue;
            }
            if is_multicast_src(frame.data()) {
                self.counters.discard(Discard::BadSourceMac);
                continue;
            }
            if let Some(dc) = self.counters.domain(domain) {
                dc.from_tunnel.inc();
            }
            items.push(Classified {
                frame,
                domain,
                from_vtep: Some((d.remote, port)),
                wire_len,
            });
        }
        self.forward(snap, port, items, now, 0);
    }

    /// Stages 2 to 4 for classified frames: look up, learn, forward.
    fn forward(
        &mut self,
        snap: &Snapshot,
        port: u16,
        items: ArrayVec<Classified<F>, BURST>,
        now: Tick,
        tsc: u64,
    ) {
        let n = items.len();
        if n == 0 {
            return;
        }
        let mut dst_keys = [Key::default(); BURST];
        let mut src_keys = [Key::default(); BURST];
        for (i, it) in items.iter().enumerate() {
            let data = it.frame.data();
            dst_keys[i] = Key::new(it.domain, mac_at(data, 0).0);
            src_keys[i] = Key::new(it.domain, mac_at(data, 6).0);
        }
        let mut dst: [Option<Hit>; BURST] = [None; BURST];
        let mut src: [Option<Hit>; BURST] = [None; BURST];
        lookup_runs(&self.table, &dst_keys[..n], &mut dst[..n]);
        lookup_runs(&self.table, &src_keys[..n], &mut src[..n]);

        for (i, it) in items.iter().enumerate() {
            self.learn(snap, port, it, src[i], now);
            if let Some((addr, _)) = it.from_vtep {
                self.count_vtep_rx(snap, it, addr, src[i]);
            }
        }

        for (i, it) in items.into_iter().enumerate() {
            if src[i].is_some_and(|h| h.dest() == Dest::Drop) {
                self.counters.discard(Discard::SourceBlocked);
                continue;
            }
            let bum = it.frame.data()[0] & 1 != 0;
            let hit = if bum { None } else { dst[i] };
            match hit.map(|h| h.dest()) {
                Some(Dest::Local(p)) if p == port => self.counters.discard(Discard::Hairpin),
                Some(Dest::Local(p)) => self.deliver(snap, it.domain, p, it.frame),
                Some(Dest::Remote(_)) if it.from_vtep.is_some() => {
                    // Split horizon: what came out of the underlay never
                    // goes back into it.
                    self.counters.discard(Discard::SplitHorizon)
                }
                Some(Dest::Remote(t)) => self.encap(snap, port, it.domain, t, it.frame, Some(tsc)),
                Some(Dest::Drop) => self.counters.discard(Discard::DestDrop),
                None if it.from_vtep.is_none() && bum => {
                    let mut it = it;
                    let dom = &snap.domains[usize::from(it.domain)];
                    if !dom.neighbors.is_empty() && answer_locally(dom, &mut it.frame) {
                        self.deliver(snap, it.domain, port, it.frame);
                    } else {
                        self.flood(snap, port, it);
                    }
                }
                None => self.flood(snap, port, it),
            }
        }
    }

    /// Counts a tunnel frame against the VTEP that sent it. The source's
    /// table entry names the tunnel, so the usual case costs no search;
    /// a source not (yet) known behind that VTEP takes the slow way.
    #[inline]
    fn count_vtep_rx(&self, snap: &Snapshot, it: &Classified<F>, addr: IpAddr, src: Option<Hit>) {
        let known = match src.map(|h| h.dest()) {
            Some(Dest::Remote(t)) => snap.tunnel(t).filter(|t| t.remote == addr),
            _ => None,
        };
        let tunnel = known.or_else(|| snap.tunnel_to(it.domain, addr).and_then(|t| snap.tunnel(t)));
        if let Some(vc) = tunnel.and_then(|t| self.counters.vtep(t.vtep)) {
            vc.rx_frames.inc();
            vc.rx_bytes.add(u64::from(it.wire_len));
        }
    }

    /// Stage 3 for one frame: report its source when the table does not
    /// know it there yet, or when the entry is due for a refresh.
    #[inline]
    fn learn(&self, snap: &Snapshot, port: u16, it: &Classified<F>, hit: Option<Hit>, now: Tick) {
        let dom = &snap.domains[usize::from(it.domain)];
        if !dom.learning {
            return;
        }
        let at = match it.from_vtep {
            None => Location::Port(port),
            Some((addr, via)) => Location::Vtep { addr, via },
        };
        let fresh = match hit {
            None => false,
            Some(h) => {
                let same = match (h.dest(), at) {
                    (Dest::Local(p), Location::Port(q)) => p == q,
                    (Dest::Remote(t), Location::Vtep { addr, .. }) => {
                        snap.tunnel(t).is_some_and(|t| t.remote == addr)
                    }
                    // A learned drop is a source its port's learn limit
                    // blocked. The control thread looks at it again when
                    // its refresh is due (and unblocks it if the port has
                    // room by then), not for every frame it sends. The
                    // drop does not say which port it was blocked on, so a
                    // blocked MAC that moves is learned at that refresh too.
                    (Dest::Drop, _) => true,
                    _ => false,
                };
                // A static entry is never moved by learning; the control
                // thread would refuse it anyway, so don't ask.
                h.lifetime() == nvo_table::Lifetime::Static
                    || (same && !h.needs_refresh(now, snap.refresh_after))
            }
        };
        if fresh {
            return;
        }
        let ev = Learn {
            domain: it.domain,
            mac: mac_at(it.frame.data(), 6),
            at,
        };
        if self.chan.learn.push(ev).is_err() {
            self.counters.learn_lost.inc();
        } else if let Some(dc) = self.counters.domain(it.domain) {
            dc.learned.inc();
        }
    }

    /// Floods a frame within its domain: to every other local member and,
    /// for frames from a local port, into the domain's flood tunnels.
    fn flood(&mut self, snap: &Snapshot, port: u16, it: Classified<F>) {
        let dom = &snap.domains[usize::from(it.domain)];
        let tunnels: &[u32] = if it.from_vtep.is_some() {
            &[]
        } else {
            &dom.flood
        };
        let members = dom.members.iter().filter(|m| {
            m.port != port && snap.ports.get(usize::from(m.port)).is_some_and(|p| p.up)
        });
        let targets = members.clone().count() + tunnels.len();
        if targets == 0 {
            self.counters.discard(Discard::NoDestination);
            return;
        }
        if let Some(dc) = self.counters.domain(it.domain) {
            dc.flooded.inc();
        }
        let mut original = Some(it.frame);
        let mut left = targets;
        let mut next = |this: &mut Self| -> Option<F> {
            left -= 1;
            if left == 0 {
                return original.take();
            }
            let copy = original.as_ref()?.try_copy();
            match copy {
                Some(c) => {
                    this.counters.copies.inc();
                    Some(c)
                }
                None => {
                    this.counters.discard(Discard::NoBuffer);
                    this.counters.copies.inc();
                    None
                }
            }
        };
        for m in members {
            if let Some(f) = next(self) {
                self.send_member(snap, m.vlan, m.port, f);
            }
        }
        for &t in tunnels {
            if let Some(f) = next(self) {
                self.encap(snap, port, it.domain, t, f, None);
            }
        }
    }

    /// Delivers a frame of `domain` to its member port `port`, tagging it
    /// when the port carries the domain in a VLAN.
    #[inline]
    fn deliver(&mut self, snap: &Snapshot, domain: u16, port: u16, frame: F) {
        match snap.domains[usize::from(domain)].member_vlan(port) {
            Some(vlan) => self.send_member(snap, vlan, port, frame),
            // The table points outside the domain (a stale entry for a
            // port that left it): never leak across domains.
            None => self.counters.discard(Discard::NoDestination),
        }
    }

    #[inline]
    fn send_member(&mut self, snap: &Snapshot, vlan: Option<u16>, port: u16, mut frame: F) {
        if let Some(vid) = vlan {
            if !push_tag(&mut frame, vid) {
                self.counters.discard(Discard::NoHeadroom);
                return;
            }
        }
        self.send_port(snap, port, frame);
    }

    /// Queues a frame for a port that must be up.
    #[inline]
    fn send_port(&mut self, snap: &Snapshot, port: u16, frame: F) {
        if !snap.ports.get(usize::from(port)).is_some_and(|p| p.up) {
            self.counters.discard(Discard::PortDown);
            return;
        }
        if self.out.push(port, frame).is_err() {
            self.counters.discard(Discard::OutputFull);
        }
    }

    /// Encapsulates a frame into tunnel `t` and queues it on the uplink.
    /// Unicast frames that are too big earn the sender an ICMP error, rate
    /// limited by the cycle counter `icmp_tsc`; flooded copies pass `None`.
    #[inline]
    fn encap(
        &mut self,
        snap: &Snapshot,
        port: u16,
        domain: u16,
        t: u32,
        mut frame: F,
        icmp_tsc: Option<u64>,
    ) {
        // A tunnel of another domain is one whose index the table held from
        // before the tunnel was retired and the index reused: never leak
        // across domains.
        let Some(tunnel) = snap.tunnel(t).filter(|x| x.domain == domain) else {
            self.counters.discard(Discard::UnknownVtep);
            return;
        };
        let Some(tpl) = &tunnel.template else {
            self.counters.discard(Discard::UnknownVtep);
            return;
        };
        let mtu = uplink_mtu(snap, tunnel);
        let outer_ip = tpl.len() - ETH_LEN + frame.len();
        if outer_ip > usize::from(mtu) {
            self.counters.discard(Discard::MtuExceeded);
            if let Some(tsc) = icmp_tsc {
                let inner_mtu = usize::from(mtu) - (tpl.len() - ETH_LEN) - ETH_LEN;
                self.too_big(snap, port, &frame, inner_mtu, tsc);
            }
            return;
        }
        let hash = match frame.rss_hash() {
            Some(h) => h,
            None => flow::hash(&self.toeplitz, frame.data(), Symmetry::Directional),
        };
        let Some(buf) = frame.prepend(tpl.len()) else {
            self.counters.discard(Discard::NoHeadroom);
            return;
        };
        if let Err(reason) = tpl.encap(buf, hash) {
            self.counters.discard(Discard::Wire(reason));
            return;
        }
        if let Some(vc) = self.counters.vtep(tunnel.vtep) {
            vc.tx_frames.inc();
            vc.tx_bytes.add(frame.len() as u64);
        }
        if let Some(dc) = self.counters.domain(tunnel.domain) {
            dc.to_tunnel.inc();
        }
        self.send_port(snap, tunnel.uplink, frame);
    }

    /// Answers a frame too big for the tunnel with an ICMP error telling
    /// the sender the MTU it can use, when the frame allows one and the
    /// rate limit has a token.
    #[cold]
    fn too_big(&mut self, snap: &Snapshot, port: u16, frame: &F, inner_mtu: usize, tsc: u64) {
        if !mtu::wants_error(frame.data()) || !self.icmp.take(tsc) {
            return;
        }
        let Some(mut reply) = frame.try_copy() else {
            return;
        };
        if mtu::build_error(&mut reply, inner_mtu) {
            self.counters.generated.inc();
            self.send_port(snap, port, reply);
        }
    }

    /// Hands a frame to the control thread.
    #[cold]
    fn punt(&mut self, port: u16, frame: F) {
        match self.chan.punt.push(Punted { port, frame }) {
            Ok(()) => self.counters.punted.inc(),
            Err(_) => self.counters.discard(Discard::PuntFull),
        }
    }
}

/// Looks up `keys` (at most [`BURST`]) into `out`, each run of equal keys
/// once. A burst from one VM carries one source MAC, and often one
/// destination (its gateway); such a burst costs one probe instead of 32.
/// Bursts without repeats, found with a compare a key, go to the table as
/// they are.
#[inline]
pub(crate) fn lookup_runs(table: &Reader, keys: &[Key], out: &mut [Option<Hit>]) {
    let repeats = keys.windows(2).filter(|w| w[0] == w[1]).count();
    if repeats == 0 {
        table.get_bulk(keys, out);
        return;
    }
    let mut once = [Key::default(); BURST];
    let mut u = 0;
    for (i, &k) in keys.iter().enumerate().take(BURST) {
        if i == 0 || k != keys[i - 1] {
            once[u] = k;
            u += 1;
        }
    }
    let mut answers = [None; BURST];
    table.get_bulk(&once[..u], &mut answers[..u]);
    let mut j = 0;
    for (i, slot) in out.iter_mut().enumerate().take(keys.len()) {
        j += usize::from(i > 0 && keys[i] != keys[i - 1]);
        *slot = answers[j];
    }
}

fn uplink_mtu(snap: &Snapshot, t: &Tunnel) -> u16 {
    match snap.ports.get(usize::from(t.uplink)).map(|p| &p.kind) {
        Some(PortKind::Uplink(u)) => u.mtu,
        _ => 1500,
    }
}
