//! Ports against real DPDK virtual devices: ring PMD pairs as a cable,
//! net_null, probing, capabilities, queue handles, stats and error paths.
//! One EAL per process: see the harness in `common/mod.rs`.

mod common;

use std::time::{Duration, Instant};

use nvo_dpdk::{
    Burst, Eal, Error, Mbuf, Mempool, Port, PortConfig, RssConfig, RxQueue, TxQueue, BURST_SIZE,
    DEFAULT_DATA_ROOM,
};

fn main() {
    common::run(
        "nvo-test-ports",
        &["-l", "0", "--socket-limit", "512"],
        &[
            (
                "ring_pair_exchanges_bursts_byte_for_byte",
                ring_pair_exchanges_bursts_byte_for_byte,
            ),
            (
                "tx_refusal_leaves_unsent_frames_in_order",
                tx_refusal_leaves_unsent_frames_in_order,
            ),
            (
                "queue_handles_are_exclusive_and_hold_the_port",
                queue_handles_are_exclusive_and_hold_the_port,
            ),
            (
                "configure_refuses_what_the_device_cannot_do",
                configure_refuses_what_the_device_cannot_do,
            ),
            (
                "null_vdev_probe_stats_and_remove",
                null_vdev_probe_stats_and_remove,
            ),
            (
                "port_out_of_range_and_unknown_name",
                port_out_of_range_and_unknown_name,
            ),
            ("bad_devargs_are_errors", bad_devargs_are_errors),
        ],
    )
}

/// A frame of `len` bytes whose content depends on `seed`.
fn frame(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

/// An mbuf holding `bytes`.
fn mbuf(pool: &Mempool, bytes: &[u8]) -> Mbuf {
    let mut m = pool.alloc().expect("mbuf");
    m.append(bytes.len()).expect("fits").copy_from_slice(bytes);
    m
}

/// A started port with one rx and one tx queue, and its handles.
fn bring_up(port: &mut Port, pool: &Mempool) -> (RxQueue, TxQueue) {
    port.configure(&PortConfig::default(), pool)
        .expect("configure");
    port.start().expect("start");
    (
        port.rx_queue(0).expect("rx queue"),
        port.tx_queue(0).expect("tx queue"),
    )
}

/// Receives until `n` frames arrived or a second passed.
fn receive(rx: &mut RxQueue, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while got.len() < n && Instant::now() < deadline {
        let mut b = Burst::new();
        rx.rx_burst(&mut b);
        got.extend(b.drain().map(|m| m.data().to_vec()));
    }
    got
}

fn send_and_check(pool: &Mempool, tx: &mut TxQueue, rx: &mut RxQueue, seed: u8) {
    let sent: Vec<Vec<u8>> = (0..BURST_SIZE)
        .map(|i| frame(seed + i as u8, 60 + i * 7))
        .collect();
    let mut b = Burst::new();
    for f in &sent {
        b.push(mbuf(pool, f)).expect("room");
    }
    assert_eq!(tx.tx_burst(&mut b), BURST_SIZE);
    assert!(b.is_empty());
    assert_eq!(
        receive(rx, BURST_SIZE),
        sent,
        "frames differ after crossing the cable"
    );
}

fn ring_pair_exchanges_bursts_byte_for_byte(eal: &Eal) {
    let pool = Mempool::create(eal, "ports_pair", 1023, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (mut a, mut b) = Port::ring_pair(eal, "a", "b", 1).expect("ring pair");
    let (mut a_rx, mut a_tx) = bring_up(&mut a, &pool);
    let (mut b_rx, mut b_tx) = bring_up(&mut b, &pool);
    assert!(a.link().expect("link").up);
    send_and_check(&pool, &mut a_tx, &mut b_rx, 1);
    send_and_check(&pool, &mut b_tx, &mut a_rx, 100);
    let sa = a.stats().expect("stats");
    assert_eq!((sa.tx_packets, sa.rx_packets), (32, 32), "{sa:?}");
    assert_eq!(b.stats().expect("stats").rx_packets, 32);
    a.reset_stats().expect("reset");
    assert_eq!(a.stats().expect("stats").tx_packets, 0);
    drop((a_rx, a_tx, b_rx, b_tx));
    a.close().map_err(|(_, e)| e).expect("close a");
    b.close().map_err(|(_, e)| e).expect("close b");
    assert_eq!(pool.in_use(), 0, "every frame came back to the pool");
}

fn tx_refusal_leaves_unsent_frames_in_order(eal: &Eal) {
    let pool = Mempool::create(eal, "ports_full", 2047, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (mut a, mut b) = Port::ring_pair(eal, "fa", "fb", 1).expect("ring pair");
    let (_a_rx, mut a_tx) = bring_up(&mut a, &pool);
    let (_b_rx, _b_tx) = bring_up(&mut b, &pool);
    // Nobody drains b: the 1024-slot ring fills up.
    let mut seed = 0u8;
    let mut refused = None;
    for _ in 0..40 {
        let mut burst = Burst::new();
        for _ in 0..BURST_SIZE {
            seed = seed.wrapping_add(1);
            burst.push(mbuf(&pool, &frame(seed, 64))).expect("room");
        }
        let sent = a_tx.tx_burst(&mut burst);
        if sent < BURST_SIZE {
            refused = Some((sent, seed, burst));
            break;
        }
    }
    let (sent, last_seed, burst) = refused.expect("a full ring refuses frames");
    assert_eq!(burst.len(), BURST_SIZE - sent);
    let first_unsent = last_seed.wrapping_sub((BURST_SIZE - sent - 1) as u8);
    assert_eq!(
        burst.as_slice()[0].data(),
        &frame(first_unsent, 64)[..],
        "unsent frames keep their order"
    );
    let before = pool.in_use();
    drop(burst);
    assert_eq!(
        pool.in_use(),
        before - (BURST_SIZE - sent) as u32,
        "dropping the burst frees the unsent frames"
    );
}

fn queue_handles_are_exclusive_and_hold_the_port(eal: &Eal) {
    let pool = Mempool::create(eal, "ports_q", 1023, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (mut a, _b) = Port::ring_pair(eal, "qa", "qb", 2).expect("ring pair");
    assert!(
        matches!(a.rx_queue(0), Err(Error::Queue { .. })),
        "no queue before configure"
    );
    let cfg = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        ..PortConfig::default()
    };
    a.configure(&cfg, &pool).expect("configure");
    a.start().expect("start");
    let q0 = a.rx_queue(0).expect("rx 0");
    let _q1 = a.rx_queue(1).expect("rx 1");
    assert!(
        matches!(a.rx_queue(0), Err(Error::Queue { queue: 0, .. })),
        "taken twice"
    );
    assert!(
        matches!(a.rx_queue(2), Err(Error::Queue { queue: 2, .. })),
        "beyond the configured queues"
    );
    let t = a.tx_queue(1).expect("tx 1");
    assert_eq!((t.port(), t.queue()), (a.id(), 1));
    match a.stop() {
        Err(e @ Error::QueuesInUse { count: 3, .. }) => assert!(e.is_retryable()),
        other => panic!("stop with handles out: {other:?}"),
    }
    drop(q0);
    let q0 = a
        .rx_queue(0)
        .expect("a dropped handle gives the queue back");
    // A worker thread may own a queue (Send); the port stays open meanwhile.
    let worker = std::thread::spawn(move || {
        let mut q0 = q0;
        let mut b = Burst::new();
        q0.rx_burst(&mut b)
    });
    assert_eq!(worker.join().expect("worker"), 0);
    let (a, e) = a.close().expect_err("close with handles out");
    assert!(matches!(e, Error::QueuesInUse { .. }));
    drop((_q1, t));
    a.close().map_err(|(_, e)| e).expect("close");
}

fn configure_refuses_what_the_device_cannot_do(eal: &Eal) {
    let pool = Mempool::create(eal, "ports_cap", 1023, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (mut a, _b) = Port::ring_pair(eal, "ca", "cb", 1).expect("ring pair");
    let info = a.info().expect("info");
    assert_eq!(info.driver, "net_ring");
    assert_eq!(a.name(), "net_ring_ca", "the ring PMD prefixes the name");
    let too_many = PortConfig {
        rx_queues: info.max_rx_queues + 1,
        ..PortConfig::default()
    };
    match a.configure(&too_many, &pool) {
        Err(
            e @ Error::Unsupported {
                what: "rx queues", ..
            },
        ) => {
            assert!(
                e.to_string()
                    .contains(&format!("{:#x}", info.max_rx_queues + 1)),
                "{e}"
            )
        }
        other => panic!("too many rx queues: {other:?}"),
    }
    let lro = PortConfig {
        rx_offloads: 1 << 4,
        ..PortConfig::default()
    }; // TCP LRO
    assert!(matches!(
        a.configure(&lro, &pool),
        Err(Error::Unsupported {
            what: "rx offloads",
            ..
        })
    ));
    let rss = PortConfig {
        rss: Some(RssConfig {
            hash_functions: nvo_dpdk::port::RSS_IP,
            key: None,
        }),
        ..PortConfig::default()
    };
    if info.rss_hash_functions & nvo_dpdk::port::RSS_IP != nvo_dpdk::port::RSS_IP {
        assert!(matches!(
            a.configure(&rss, &pool),
            Err(Error::Unsupported {
                what: "RSS hash functions",
                ..
            })
        ));
    }
    let tiny_mtu = PortConfig {
        mtu: Some(info.min_mtu - 1),
        ..PortConfig::default()
    };
    match a.configure(&tiny_mtu, &pool) {
        Err(e @ Error::Unsupported { .. }) => assert!(e.to_string().contains("mtu"), "{e}"),
        other => panic!("mtu below {}: {other:?}", info.min_mtu),
    }
    a.configure(&PortConfig::default(), &pool)
        .expect("a plain configuration works");
    assert!(a.mtu().expect("mtu") >= info.min_mtu);
}

fn null_vdev_probe_stats_and_remove(eal: &Eal) {
    let pool = Mempool::create(eal, "ports_null", 1023, 32, DEFAULT_DATA_ROOM, None).expect("pool");
    let mut p = Port::probe(eal, "net_null7,size=64").expect("probe net_null");
    assert_eq!(p.name(), "net_null7");
    assert_eq!(
        Port::list(eal)
            .iter()
            .filter(|(_, n)| n == "net_null7")
            .count(),
        1
    );
    let (mut rx, mut tx) = bring_up(&mut p, &pool);
    assert_eq!(p.mac().expect("mac").len(), 6);
    p.set_promiscuous(true).expect("promiscuous");
    assert!(p.promiscuous());
    // net_null makes up frames on rx and swallows them on tx.
    let mut b = Burst::new();
    assert_eq!(rx.rx_burst(&mut b), BURST_SIZE);
    assert!(b.as_slice().iter().all(|m| m.len() == 64));
    assert_eq!(rx.rx_burst(&mut b), 0, "a full burst takes nothing");
    assert_eq!(tx.tx_burst(&mut b), BURST_SIZE);
    let stats = p.stats().expect("stats");
    assert_eq!((stats.rx_packets, stats.tx_packets), (32, 32), "{stats:?}");
    let xstats = p.xstats().expect("xstats");
    assert!(
        xstats
            .iter()
            .any(|(n, v)| n == "rx_good_packets" && *v == 32),
        "{xstats:?}"
    );
    drop((rx, tx));
    p.close().map_err(|(_, e)| e).expect("close");
    assert!(
        matches!(
            Port::by_name(eal, "net_null7"),
            Err(Error::PortNotFound { .. })
        ),
        "the vdev is removed"
    );
    assert_eq!(pool.in_use(), 0);
}

fn port_out_of_range_and_unknown_name(eal: &Eal) {
    for id in [999u16, 31, u16::MAX] {
        match Port::by_id(eal, id) {
            Err(e @ Error::NoSuchPort { .. }) => assert!(e.to_string().contains(&id.to_string())),
            other => panic!("port {id}: {other:?}"),
        }
    }
    assert!(matches!(
        Port::by_name(eal, "net_nothing9"),
        Err(Error::PortNotFound { .. })
    ));
    assert!(matches!(Port::by_name(eal, "a\0b"), Err(Error::Nul { .. })));
    let (a, _b) = Port::ring_pair(eal, "ua", "ub", 1).expect("ring pair");
    match Port::by_id(eal, a.id()) {
        Err(e @ Error::PortInUse { .. }) => assert!(e.to_string().contains("net_ring_ua"), "{e}"),
        other => panic!("a second Port on one id: {other:?}"),
    }
    let again = Port::by_name(eal, "net_ring_ua");
    assert!(matches!(again, Err(Error::PortInUse { .. })), "{again:?}");
}

fn bad_devargs_are_errors(eal: &Eal) {
    for devargs in [
        "net_nosuchdriver0",
        "net_null8,nosuchkey=1",
        "",
        "net_vhost5",
    ] {
        match Port::probe(eal, devargs) {
            Err(e @ Error::Probe { .. }) => assert!(e.to_string().contains(devargs), "{e}"),
            other => panic!("devargs {devargs:?}: {other:?}"),
        }
    }
    let bad_name = nvo_dpdk::VhostConfig::new("vhost0", "/tmp/nvo-test-never.sock");
    assert!(matches!(bad_name.probe(eal), Err(Error::Probe { .. })));
}
