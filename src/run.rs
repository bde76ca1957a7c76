//! `nvo run`: brings the switch up from its configuration, runs the control
//! loop on the main lcore until SIGINT, SIGTERM or a `shutdown` request,
//! then stops the workers, frees every buffer and removes its sockets.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use log::{info, warn};
use nvo_control::config::{Config, Device, PortRef, VhostMode};
use nvo_control::mgmt::{self, Server};
use nvo_control::plane::{ControlPlane, Inject, Layout, WorkerLink};
use nvo_dataplane::{Counters, Pipeline};
use nvo_dpdk::{
    Eal, Mempool, Port, PortConfig, PortEvent, PortEvents, RssConfig, VhostConfig,
    DEFAULT_DATA_ROOM,
};

use crate::report;
use crate::worker::Worker;

/// Frames one burst may queue for one port, flood copies included.
const OUT_CAPACITY: usize = 256;

/// How long the control loop sleeps when a round found nothing to do.
const IDLE_SLEEP: Duration = Duration::from_millis(1);

/// Runs the switch described by the file at `path`.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let cfg = Config::load(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }

    let eal = Eal::init(cfg.eal_args("nvo")).context("DPDK EAL initialisation")?;
    // Subscribed before any port exists, so no link event is missed.
    let events = PortEvents::subscribe(&eal)?;
    let workers = cfg.cpu.workers.len();
    let pool = Mempool::create(
        &eal,
        "nvo",
        cfg.switch.mbufs,
        cfg.switch.mbuf_cache,
        DEFAULT_DATA_ROOM,
        None,
    )?;
    let mut ports = open_ports(&eal, &cfg, &pool, workers)?;

    let uplink_macs: Vec<_> = ports[cfg.vm_ports.len()..]
        .iter()
        .map(|p| p.mac().map(nvo_packet::ethernet::MacAddr))
        .collect::<Result<_, _>>()?;
    // The control thread's own frames go out through the workers' inject
    // queues, so that no transmit queue has two owners.
    let alloc_pool = pool.clone();
    let tx = Inject::new(move || alloc_pool.alloc());
    let (mut plane, links) = ControlPlane::new(cfg.clone(), workers, &uplink_macs, tx)?;
    plane.transmit_mut().attach(&links);
    plane.set_config_path(path);
    let counters: Vec<Arc<Counters>> = links.iter().map(|l| Arc::clone(&l.counters)).collect();

    let mut launched = Vec::new();
    let mut assignments = assign_queues(&cfg, &ports, workers)?;
    for (w, (lcore, link)) in cfg.cpu.workers.iter().zip(links).enumerate() {
        let WorkerLink {
            shared,
            table,
            counters,
            chan,
        } = link;
        let worker = Worker {
            pipe: Pipeline::new(shared, table, counters, chan, OUT_CAPACITY),
            rx: std::mem::take(&mut assignments[w]),
            tx: ports
                .iter()
                .map(|p| p.tx_queue(w as u16).map(Some))
                .collect::<Result<_, _>>()?,
            stop: Arc::clone(&stop),
        };
        launched.push(eal.launch(*lcore, move || worker.run())?);
    }
    for (i, p) in ports.iter().enumerate() {
        plane.set_link(i as u16, p.link().map(|l| l.up).unwrap_or(false));
    }

    if let Some(dir) = cfg.switch.ctl_socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    let (handler, requests) = mgmt::channel();
    let server = Server::start(&cfg.switch.ctl_socket, handler)?;
    info!(
        "nvo running: {} ports, {} workers, control socket {}",
        ports.len(),
        workers,
        cfg.switch.ctl_socket.display()
    );

    while !stop.load(Ordering::Relaxed) && !plane.shutdown_requested() {
        let mut work = plane.poll(Instant::now());
        while let Some(ev) = events.try_next() {
            work += 1;
            if let PortEvent::Link { port } = ev {
                if let Some(i) = ports.iter().position(|p| p.id() == port) {
                    let up = ports[i].link().map(|l| l.up).unwrap_or(false);
                    info!(
                        "port {}: link {}",
                        ports[i].name(),
                        if up { "up" } else { "down" }
                    );
                    plane.set_link(i as u16, up);
                }
            }
        }
        while let Some(pending) = requests.try_next() {
            work += 1;
            let answer = plane.handle(pending.request.clone());
            pending.respond(answer);
        }
        if work == 0 {
            std::thread::sleep(IDLE_SLEEP);
        }
    }

    info!("stopping");
    stop.store(true, Ordering::Relaxed);
    for l in launched {
        if let Err(e) = l.join() {
            warn!("worker: {e}");
        }
    }
    drop(server);
    report::print(&cfg, &counters);
    // The control plane holds the queues between threads; dropping it frees
    // the frames still in them, before the ports and the pool go.
    drop(plane);
    for p in &mut ports {
        if let Err(e) = p.stop() {
            warn!("port {}: {e}", p.name());
        }
    }
    drop(ports);
    drop(events);
    Ok(())
}

/// Creates, configures and starts every port, in switch port order: VM
/// ports, then uplinks.
fn open_ports(
    eal: &Eal,
    cfg: &Config,
    pool: &Mempool,
    workers: usize,
) -> anyhow::Result<Vec<Port>> {
    let mut ports = Vec::new();
    let desc = |rx_queues, tx_queues| PortConfig {
        rx_queues,
        tx_queues,
        rx_descriptors: cfg.switch.rx_desc,
        tx_descriptors: cfg.switch.tx_desc,
        ..PortConfig::default()
    };
    for (i, vm) in cfg.vm_ports.iter().enumerate() {
        // TODO: a guest with fewer queue pairs than there are workers would
        // need transmit queues shared between workers (vhost locks each
        // vring, so that is safe, but nvo-dpdk hands each queue to one
        // owner); until then such a port is refused.
        if usize::from(vm.queues) < workers {
            bail!(
                "vm_port {:?}: {} queue pair(s) for {} workers: each worker transmits on a queue of its own",
                vm.name,
                vm.queues,
                workers
            );
        }
        let mut v = VhostConfig::new(format!("net_vhost{i}"), &vm.socket);
        v.queues = vm.queues;
        v.client = vm.mode == VhostMode::Client;
        if !v.client {
            // A socket left by a switch that died would make the bind fail.
            let _ = std::fs::remove_file(&vm.socket);
        }
        let mut p = v
            .probe(eal)
            .with_context(|| format!("vm_port {:?}", vm.name))?;
        p.configure(&desc(vm.queues, workers as u16), pool)
            .with_context(|| format!("vm_port {:?}", vm.name))?;
        p.start()
            .with_context(|| format!("vm_port {:?}", vm.name))?;
        ports.push(p);
    }
    for up in &cfg.uplinks {
        let name = match &up.device {
            Device::Pci(s) | Device::Vdev(s) => s.split(',').next().unwrap_or(s),
        };
        let mut p = Port::by_name(eal, name).with_context(|| format!("uplink {:?}", up.name))?;
        let info = p.info()?;
        let mut c = desc(up.queues, workers as u16);
        if up.queues > 1 {
            c.rss = Some(RssConfig {
                hash_functions: info.rss_hash_functions
                    & (nvo_dpdk::port::RSS_IP | nvo_dpdk::port::RSS_UDP),
                key: None,
            });
        }
        p.configure(&c, pool)
            .with_context(|| format!("uplink {:?} ({name})", up.name))?;
        // Tunnel frames are up to the underlay MTU; a device that cannot be
        // told so still carries them when its own MTU is large enough.
        if let Err(e) = p.set_mtu(up.mtu) {
            warn!("uplink {:?}: MTU {} not set: {e}", up.name, up.mtu);
        }
        // Multicast groups and the neighbours' frames must reach us.
        if let Err(e) = p.set_promiscuous(true) {
            warn!("uplink {:?}: promiscuous mode: {e}", up.name);
        }
        p.start().with_context(|| format!("uplink {:?}", up.name))?;
        ports.push(p);
    }
    Ok(ports)
}

/// Spreads every (port, receive queue) over the workers, round robin.
fn assign_queues(
    cfg: &Config,
    ports: &[Port],
    workers: usize,
) -> anyhow::Result<Vec<Vec<(u16, nvo_dpdk::RxQueue)>>> {
    let layout = Layout::of(cfg);
    let mut out: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
    let mut next = 0;
    for (i, p) in ports.iter().enumerate() {
        let queues = match layout.port_ref(i as u16) {
            Some(PortRef::Vm(v)) => cfg.vm_ports[v].queues,
            Some(PortRef::Uplink(u)) => cfg.uplinks[u].queues,
            None => 0,
        };
        for q in 0..queues {
            out[next % workers].push((i as u16, p.rx_queue(q)?));
            next += 1;
        }
    }
    Ok(out)
}
