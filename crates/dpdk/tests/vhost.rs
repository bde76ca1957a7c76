//! A vhost-user port (nvo's side of a VM) and a virtio-user port (the VM
//! stand-in) in the same process, on one socket, exchanging frames both ways,
//! with link and vring events delivered to the control thread.
//! One EAL per process: see the harness in `common/mod.rs`.

mod common;

use std::time::{Duration, Instant};

use nvo_dpdk::vhost::virtio_user_devargs;
use nvo_dpdk::{
    Burst, Eal, Mempool, Port, PortConfig, PortEvent, PortEvents, RxQueue, TxQueue, VhostConfig,
    BURST_SIZE, DEFAULT_DATA_ROOM,
};

fn main() {
    common::run(
        "nvo-test-vhost",
        // virtio-user shares its memory with the vhost side one file per
        // segment list; single-file segments keep that within vhost-user's
        // limit of 8 memory regions.
        &["-l", "0", "--single-file-segments", "--socket-limit", "512"],
        &[
            (
                "vhost_and_virtio_user_exchange_frames_both_ways",
                vhost_and_virtio_user_exchange_frames_both_ways,
            ),
            (
                "vhost_devargs_carry_the_options",
                vhost_devargs_carry_the_options,
            ),
        ],
    )
}

/// Waits up to five seconds for an event matching `want`, keeping the others.
fn wait_event(
    events: &PortEvents,
    seen: &mut Vec<PortEvent>,
    want: impl Fn(&PortEvent) -> bool,
) -> bool {
    if seen.iter().any(&want) {
        return true;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(e) = events.next_timeout(Duration::from_millis(50)) {
            seen.push(e);
            if want(&e) {
                return true;
            }
        }
    }
    false
}

/// Sends a burst of distinct frames on `tx` and checks that `rx` gets the
/// same bytes, polling both sides' rx meanwhile (`other_rx`, as a switch
/// would: the vhost PMD makes progress only when polled).
fn exchange(pool: &Mempool, tx: &mut TxQueue, rx: &mut RxQueue, seed: u8) {
    let sent: Vec<Vec<u8>> = (0..BURST_SIZE)
        .map(|i| {
            (0..60 + i * 11)
                .map(|j| seed.wrapping_add((i * 7 + j) as u8))
                .collect()
        })
        .collect();
    let mut b = Burst::new();
    for f in &sent {
        let mut m = pool.alloc().expect("mbuf");
        m.append(f.len()).expect("fits").copy_from_slice(f);
        b.push(m).expect("room");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while (got.len() < sent.len() || !b.is_empty()) && Instant::now() < deadline {
        tx.tx_burst(&mut b);
        let mut r = Burst::new();
        rx.rx_burst(&mut r);
        got.extend(r.drain().map(|m| m.data().to_vec()));
    }
    assert!(b.is_empty(), "{} frames never left", b.len());
    assert_eq!(got.len(), sent.len(), "frames lost on the way");
    assert_eq!(got, sent, "frames differ after crossing vhost-user");
}

fn vhost_and_virtio_user_exchange_frames_both_ways(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let events = PortEvents::subscribe(eal).expect("subscribe");
    let pool = Mempool::create(eal, "vhost_pool", 4095, 64, DEFAULT_DATA_ROOM, None).expect("pool");

    let mut vhost = VhostConfig::new("net_vhost0", &sock)
        .probe(eal)
        .expect("probe vhost");
    vhost
        .configure(&PortConfig::default(), &pool)
        .expect("configure vhost");
    vhost.start().expect("start vhost");
    assert!(!vhost.link().expect("link").up, "no guest yet");

    let mut virtio = Port::probe(
        eal,
        &virtio_user_devargs("net_virtio_user0", &sock, 1, false),
    )
    .expect("probe virtio_user");
    virtio
        .configure(&PortConfig::default(), &pool)
        .expect("configure virtio_user");
    virtio.start().expect("start virtio_user");

    let mut seen = Vec::new();
    let vid = vhost.id();
    assert!(
        wait_event(&events, &mut seen, |e| *e == PortEvent::Link { port: vid }),
        "no link event: {seen:?}"
    );
    assert!(vhost.link().expect("link").up, "the guest is connected");
    assert!(
        wait_event(
            &events,
            &mut seen,
            |e| matches!(e, PortEvent::QueueState { port, enabled: true, .. } if *port == vid)
        ),
        "no vring event: {seen:?}"
    );

    let (mut h_rx, mut h_tx) = (
        vhost.rx_queue(0).expect("rx"),
        vhost.tx_queue(0).expect("tx"),
    );
    let (mut g_rx, mut g_tx) = (
        virtio.rx_queue(0).expect("rx"),
        virtio.tx_queue(0).expect("tx"),
    );
    exchange(&pool, &mut g_tx, &mut h_rx, 3);
    exchange(&pool, &mut h_tx, &mut g_rx, 77);
    let hs = vhost.stats().expect("stats");
    assert_eq!((hs.rx_packets, hs.tx_packets), (32, 32), "{hs:?}");
    assert!(!vhost.xstats().expect("xstats").is_empty());

    // The guest goes away: the vhost link goes down.
    drop((g_rx, g_tx));
    seen.clear();
    virtio
        .close()
        .map_err(|(_, e)| e)
        .expect("close virtio_user");
    assert!(
        wait_event(&events, &mut seen, |e| *e == PortEvent::Link { port: vid }),
        "no link-down event: {seen:?}"
    );
    assert!(!vhost.link().expect("link").up);

    drop((h_rx, h_tx));
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    drop(events);
    let _ = std::fs::remove_file(&sock);
    assert_eq!(pool.in_use(), 0, "every frame came back to the pool");
}

fn vhost_devargs_carry_the_options(_eal: &Eal) {
    let mut c = VhostConfig::new("net_vhost3", "/run/vm.sock");
    assert_eq!(c.devargs(), "net_vhost3,iface=/run/vm.sock,queues=1");
    c.queues = 4;
    c.client = true;
    c.iommu_support = true;
    assert_eq!(
        c.devargs(),
        "net_vhost3,iface=/run/vm.sock,queues=4,client=1,iommu-support=1"
    );
    assert_eq!(
        virtio_user_devargs("net_virtio_user1", "/s", 2, true),
        "net_virtio_user1,path=/s,queues=2,server=1"
    );
}
