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
                "vhost_chains_frames_larger_than_the_data_room",
                vhost_chains_frames_larger_than_the_data_room,
            ),
            (
                "vhost_multiqueue_carries_frames_on_every_queue",
                vhost_multiqueue_carries_frames_on_every_queue,
            ),
            (
                "vhost_serves_a_testpmd_guest_in_another_process",
                vhost_serves_a_testpmd_guest_in_another_process,
            ),
            (
                "vhost_server_on_a_stale_socket_file",
                vhost_server_on_a_stale_socket_file,
            ),
            (
                "vhost_client_mode_connects_to_a_listening_guest",
                vhost_client_mode_connects_to_a_listening_guest,
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
    let deadline = Instant::now() + Duration::from_secs(10);
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

/// Sends a burst from the guest to the host and another back, on queue `q`
/// of both ports.
fn exchange_both_ways(pool: &Mempool, vhost: &Port, guest: &Port, q: u16, seed: u8) {
    let (mut h_rx, mut h_tx) = (
        vhost.rx_queue(q).expect("rx"),
        vhost.tx_queue(q).expect("tx"),
    );
    let (mut g_rx, mut g_tx) = (
        guest.rx_queue(q).expect("rx"),
        guest.tx_queue(q).expect("tx"),
    );
    exchange(pool, &mut g_tx, &mut h_rx, seed);
    exchange(pool, &mut h_tx, &mut g_rx, seed.wrapping_add(100));
}

/// Starts vhost port `net_vhost<n>` (server, filling from `host_pool`) and
/// then virtio-user port `net_virtio_user<n>` (the guest, from `guest_pool`)
/// on socket `sock`. The vhost port is started first so that its socket
/// exists when the guest connects.
fn connect(
    eal: &Eal,
    n: u8,
    queues: u16,
    sock: &str,
    host_pool: &Mempool,
    guest_pool: &Mempool,
) -> (Port, Port) {
    let cfg = PortConfig {
        rx_queues: queues,
        tx_queues: queues,
        ..PortConfig::default()
    };
    let mut host = VhostConfig::new(format!("net_vhost{n}"), sock);
    host.queues = queues;
    let mut vhost = host.probe(eal).expect("probe vhost");
    vhost.configure(&cfg, host_pool).expect("configure vhost");
    vhost.start().expect("start vhost");
    assert!(!vhost.link().expect("link").up, "no guest yet");
    let guest = virtio_user_devargs(&format!("net_virtio_user{n}"), sock, queues, false);
    let mut virtio = Port::probe(eal, &guest).expect("probe virtio_user");
    virtio
        .configure(&cfg, guest_pool)
        .expect("configure virtio_user");
    virtio.start().expect("start virtio_user");
    (vhost, virtio)
}

fn vhost_and_virtio_user_exchange_frames_both_ways(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let events = PortEvents::subscribe(eal).expect("subscribe");
    let pool = Mempool::create(eal, "vhost_pool", 4095, 64, DEFAULT_DATA_ROOM, None).expect("pool");

    let (vhost, virtio) = connect(eal, 0, 1, &sock, &pool, &pool);

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

    exchange_both_ways(&pool, &vhost, &virtio, 0, 3);
    let hs = vhost.stats().expect("stats");
    assert_eq!((hs.rx_packets, hs.tx_packets), (32, 32), "{hs:?}");
    assert!(!vhost.xstats().expect("xstats").is_empty());

    // The guest goes away: the vhost link goes down.
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

    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    drop(events);
    let _ = std::fs::remove_file(&sock);
    assert_eq!(pool.in_use(), 0, "every frame came back to the pool");
}

/// Waits up to five seconds for the link of `port` to come up.
fn wait_link_up(port: &Port) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if port.link().map(|l| l.up).unwrap_or(false) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn vhost_chains_frames_larger_than_the_data_room(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-seg-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    // 512 bytes of data per mbuf on the host side: a 1400-byte frame needs 3.
    let small = Mempool::create(eal, "vhost_small", 1023, 0, 128 + 512, None).expect("small pool");
    let guest_pool =
        Mempool::create(eal, "vhost_guest", 2047, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (vhost, virtio) = connect(eal, 1, 1, &sock, &small, &guest_pool);
    assert!(wait_link_up(&vhost), "the guest never connected");

    let (mut h_rx, mut h_tx) = (
        vhost.rx_queue(0).expect("rx"),
        vhost.tx_queue(0).expect("tx"),
    );
    let (mut g_rx, mut g_tx) = (
        virtio.rx_queue(0).expect("rx"),
        virtio.tx_queue(0).expect("tx"),
    );
    let original: Vec<u8> = (0..1400u32).map(|i| (i * 13 % 251) as u8).collect();
    let mut b = Burst::new();
    b.push(guest_pool.alloc_with(&original).expect("mbuf"))
        .expect("room");

    // Guest to host: the frame arrives in a chain of small segments.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Burst::new();
    while got.is_empty() && Instant::now() < deadline {
        g_tx.tx_burst(&mut b);
        h_rx.rx_burst(&mut got);
    }
    let mut m = got.pop().expect("the large frame arrived");
    assert!(m.segments() >= 3, "{} segments", m.segments());
    assert!(!m.is_contiguous());
    assert_eq!(m.len(), 1400);
    assert!(m.data().len() <= 512, "data() is the first segment only");
    let mut whole = Vec::new();
    m.copy_to(&mut whole);
    assert_eq!(whole, original, "segments concatenate to the frame sent");
    assert!(m.append(1).is_none(), "append refuses a chained frame");
    assert!(!m.trim(1), "trim refuses a chained frame");
    assert!(
        m.prepend(14).is_some(),
        "prepend works at the front of a chain"
    );
    assert_eq!(m.len(), 1414);
    assert!(m.adj(14));
    assert_eq!(m.len(), 1400);

    // Host to guest: the chain is sent whole.
    b.push(m).expect("room");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut back = Burst::new();
    while back.is_empty() && Instant::now() < deadline {
        h_tx.tx_burst(&mut b);
        g_rx.rx_burst(&mut back);
    }
    let echoed = back.pop().expect("the chain crossed back");
    let mut whole = Vec::new();
    echoed.copy_to(&mut whole);
    assert_eq!(whole, original);
    drop(echoed);

    drop((h_rx, h_tx, g_rx, g_tx));
    virtio
        .close()
        .map_err(|(_, e)| e)
        .expect("close virtio_user");
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    let _ = std::fs::remove_file(&sock);
    assert_eq!(small.in_use(), 0, "every segment came back to the pool");
    assert_eq!(guest_pool.in_use(), 0);
}

fn vhost_multiqueue_carries_frames_on_every_queue(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-mq-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let events = PortEvents::subscribe(eal).expect("subscribe");
    let pool = Mempool::create(eal, "vhost_mq", 4095, 64, DEFAULT_DATA_ROOM, None).expect("pool");
    let (vhost, virtio) = connect(eal, 2, 2, &sock, &pool, &pool);
    assert!(wait_link_up(&vhost), "the guest never connected");
    let vid = vhost.id();
    let mut seen = Vec::new();
    for q in 0..2 {
        for rx in [true, false] {
            let want = PortEvent::QueueState {
                port: vid,
                queue: q,
                rx,
                enabled: true,
            };
            assert!(
                wait_event(&events, &mut seen, |e| *e == want),
                "no {want:?} in {seen:?}"
            );
        }
    }
    for q in 0..2u16 {
        exchange_both_ways(&pool, &vhost, &virtio, q, 10 + q as u8);
    }
    virtio
        .close()
        .map_err(|(_, e)| e)
        .expect("close virtio_user");
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    drop(events);
    let _ = std::fs::remove_file(&sock);
    assert_eq!(pool.in_use(), 0);
}

/// The guest in another process: dpdk-testpmd on a virtio-user port in io
/// forwarding mode sends back every frame it receives on it, untouched.
fn vhost_serves_a_testpmd_guest_in_another_process(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-tp-{}.sock", std::process::id());
    let prefix = format!("nvo-test-testpmd-{}", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let events = PortEvents::subscribe(eal).expect("subscribe");
    let pool = Mempool::create(eal, "vhost_tp", 2047, 64, DEFAULT_DATA_ROOM, None).expect("pool");
    let mut vhost = VhostConfig::new("net_vhost3", &sock)
        .probe(eal)
        .expect("probe vhost");
    vhost
        .configure(&PortConfig::default(), &pool)
        .expect("configure vhost");
    vhost.start().expect("start vhost");

    let testpmd = std::process::Command::new("stdbuf")
        .args(["-oL", "dpdk-testpmd"])
        .args([
            "-l",
            "0,1",
            "--no-pci",
            "--single-file-segments",
            "--file-prefix",
            &prefix,
        ])
        .args(["--log-level", "lib.eal:warning", "--vdev"])
        .arg(virtio_user_devargs("net_virtio_user0", &sock, 1, false))
        .args([
            "--",
            "--forward-mode=io",
            "--port-topology=loop",
            // Frames we send before testpmd starts forwarding must not be
            // flushed away (testpmd drains its rx queues at start otherwise).
            "--no-flush-rx",
            "--auto-start",
            "--total-num-mbufs=2048",
        ])
        .stdin(std::process::Stdio::piped())
        // Line-buffered (stdbuf), so that its progress shows in the file.
        .stdout(std::fs::File::create(format!("/tmp/{prefix}.log")).expect("testpmd log file"))
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut testpmd = match testpmd {
        Ok(child) => child,
        Err(e) => panic!("cannot run dpdk-testpmd (package dpdk, see scripts/setup.sh): {e}"),
    };
    // The virtio PMD brings its device up once at probe and again when
    // testpmd configures it, dropping whatever its rings held: wait until
    // testpmd says it forwards before sending.
    let log = format!("/tmp/{prefix}.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut forwarding = false;
    while !forwarding && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        forwarding = std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Press enter to exit"));
    }
    let up = wait_link_up(&vhost);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(
            forwarding,
            "testpmd never started forwarding (is dpdk-testpmd installed? its output is in {log})"
        );
        assert!(up, "testpmd's virtio-user port never connected");
        let (mut rx, mut tx) = (
            vhost.rx_queue(0).expect("rx"),
            vhost.tx_queue(0).expect("tx"),
        );
        exchange(&pool, &mut tx, &mut rx, 42);
    }));
    // Enter stops testpmd: it stops forwarding and closes its port.
    if let Some(mut stdin) = testpmd.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"\n");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(testpmd.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if matches!(testpmd.try_wait(), Ok(None)) {
        let _ = testpmd.kill();
        let _ = testpmd.wait();
    }
    common::clean_runtime(&prefix);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    let _ = std::fs::remove_file(&log);
    // testpmd closed its port on the way out: the guest is gone.
    let mut seen = Vec::new();
    let vid = vhost.id();
    assert!(
        wait_event(&events, &mut seen, |e| *e == PortEvent::Link { port: vid }),
        "no link event when the guest went away: {seen:?}"
    );
    assert!(!vhost.link().expect("link").up);
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    let _ = std::fs::remove_file(&sock);
    assert_eq!(pool.in_use(), 0);
}

/// What a crashed switch leaves behind: a socket file nobody listens on,
/// which the vhost port replaces. A socket someone listens on is not taken.
fn vhost_server_on_a_stale_socket_file(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-stale-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
    assert!(std::path::Path::new(&sock).exists());
    let pool = Mempool::create(eal, "vhost_stale", 1023, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    let (vhost, virtio) = connect(eal, 4, 1, &sock, &pool, &pool);
    let up = wait_link_up(&vhost);
    virtio
        .close()
        .map_err(|(_, e)| e)
        .expect("close virtio_user");
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    let _ = std::fs::remove_file(&sock);
    assert!(up, "a guest could not connect over a stale socket file");

    let live = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let mut busy = VhostConfig::new("net_vhost5", &sock)
        .probe(eal)
        .expect("probe");
    let refused = busy.configure(&PortConfig::default(), &pool);
    assert!(
        matches!(refused, Err(nvo_dpdk::Error::Port { .. })),
        "{refused:?}"
    );
    drop(busy);
    drop(live);
    let _ = std::fs::remove_file(&sock);
}

/// Client mode: the guest side listens (as QEMU does with `server=on`) and
/// the vhost port connects to it.
fn vhost_client_mode_connects_to_a_listening_guest(eal: &Eal) {
    let sock = format!("/tmp/nvo-test-vhost-client-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let pool =
        Mempool::create(eal, "vhost_client", 2047, 0, DEFAULT_DATA_ROOM, None).expect("pool");
    // The client port starts first and keeps retrying in the background:
    // a listening virtio-user port blocks in its probe until a client comes.
    let mut cfg = VhostConfig::new("net_vhost6", &sock);
    cfg.client = true;
    let mut vhost = cfg.probe(eal).expect("probe vhost client");
    vhost
        .configure(&PortConfig::default(), &pool)
        .expect("configure vhost");
    vhost.start().expect("start vhost");
    let guest = virtio_user_devargs("net_virtio_user6", &sock, 1, true);
    let mut virtio = Port::probe(eal, &guest).expect("probe listening virtio_user");
    virtio
        .configure(&PortConfig::default(), &pool)
        .expect("configure virtio_user");
    virtio.start().expect("start virtio_user");
    assert!(
        wait_link_up(&vhost),
        "the vhost client never reached the guest"
    );
    exchange_both_ways(&pool, &vhost, &virtio, 0, 5);
    virtio
        .close()
        .map_err(|(_, e)| e)
        .expect("close virtio_user");
    vhost.close().map_err(|(_, e)| e).expect("close vhost");
    let _ = std::fs::remove_file(&sock);
    assert_eq!(pool.in_use(), 0);
}
