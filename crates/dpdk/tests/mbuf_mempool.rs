//! Mempools, mbufs and bursts against real DPDK memory.
//! One EAL per process: see the harness in `common/mod.rs`.

mod common;

use nvo_dpdk::{Burst, Eal, Error, Mempool, BURST_SIZE, DEFAULT_DATA_ROOM, HEADROOM};

fn main() {
    common::run(
        "nvo-test-mbuf",
        // The socket limit keeps the oversized-pool case from taking every
        // free hugepage of the machine (other processes use them too).
        &["-l", "0", "--socket-limit", "256"],
        &[
            (
                "mempool_exhausts_and_counts_come_back",
                mempool_exhausts_and_counts_come_back,
            ),
            (
                "mempool_errors_name_the_value",
                mempool_errors_name_the_value,
            ),
            (
                "fresh_mbuf_has_default_headroom",
                fresh_mbuf_has_default_headroom,
            ),
            (
                "prepend_uses_headroom_up_to_its_limit",
                prepend_uses_headroom_up_to_its_limit,
            ),
            (
                "adj_strips_the_front_up_to_data_len",
                adj_strips_the_front_up_to_data_len,
            ),
            (
                "append_and_trim_respect_tailroom_and_length",
                append_and_trim_respect_tailroom_and_length,
            ),
            (
                "shared_mbuf_is_read_only_until_alone",
                shared_mbuf_is_read_only_until_alone,
            ),
            (
                "raw_round_trip_keeps_ownership",
                raw_round_trip_keeps_ownership,
            ),
            (
                "rss_hash_absent_on_fresh_mbuf",
                rss_hash_absent_on_fresh_mbuf,
            ),
            (
                "burst_push_pop_drain_and_drop_free_everything",
                burst_push_pop_drain_and_drop_free_everything,
            ),
            (
                "burst_bulk_alloc_is_all_or_nothing",
                burst_bulk_alloc_is_all_or_nothing,
            ),
        ],
    )
}

fn pool(eal: &Eal, name: &str, n: u32) -> Mempool {
    Mempool::create(eal, name, n, 0, DEFAULT_DATA_ROOM, None).expect("mempool")
}

fn mempool_exhausts_and_counts_come_back(eal: &Eal) {
    let p = pool(eal, "p_exhaust", 127);
    assert_eq!(p.name(), "p_exhaust");
    assert_eq!(p.capacity(), 127);
    assert_eq!(p.available(), 127);
    assert_eq!(p.in_use(), 0);
    assert_eq!(p.data_room(), DEFAULT_DATA_ROOM);
    let mut held = Vec::new();
    while let Some(m) = p.alloc() {
        held.push(m);
        assert!(
            held.len() <= 127,
            "allocated more mbufs than the pool holds"
        );
    }
    assert_eq!(held.len(), 127);
    assert_eq!(p.available(), 0);
    assert_eq!(p.in_use(), 127);
    assert!(p.alloc().is_none(), "an empty pool stays empty");
    held.truncate(27);
    assert_eq!(p.available(), 100);
    drop(held);
    assert_eq!(p.available(), 127);
    assert_eq!(p.in_use(), 0);
}

fn mempool_errors_name_the_value(eal: &Eal) {
    let _a = pool(eal, "p_dup", 63);
    let dup = Mempool::create(eal, "p_dup", 63, 0, DEFAULT_DATA_ROOM, None);
    match dup {
        Err(e @ Error::MempoolCreate { .. }) => assert!(e.to_string().contains("p_dup"), "{e}"),
        other => panic!("duplicate name: {other:?}"),
    }
    let long = Mempool::create(eal, &"p".repeat(64), 63, 0, DEFAULT_DATA_ROOM, None);
    assert!(
        matches!(
            long,
            Err(Error::NameTooLong {
                what: "mempool",
                ..
            })
        ),
        "{long:?}"
    );
    // A million 2 KiB mbufs (over 2 GiB) exceed this process's 256 MiB limit.
    let huge = Mempool::create(eal, "p_huge", 1 << 20, 0, DEFAULT_DATA_ROOM, None);
    match huge {
        Err(
            e @ Error::MempoolCreate {
                errno: nvo_dpdk::Errno::ENOMEM,
                ..
            },
        ) => {
            assert!(e.to_string().contains("1048576"), "{e}")
        }
        other => panic!("oversized pool: {other:?}"),
    }
}

fn fresh_mbuf_has_default_headroom(eal: &Eal) {
    let p = pool(eal, "p_fresh", 63);
    let m = p.alloc().expect("mbuf");
    assert_eq!(m.len(), 0);
    assert!(m.is_empty());
    assert!(m.data().is_empty());
    assert_eq!(m.headroom(), usize::from(HEADROOM));
    assert_eq!(m.tailroom(), usize::from(DEFAULT_DATA_ROOM - HEADROOM));
    assert_eq!(m.segments(), 1);
    assert!(m.is_contiguous());
    assert!(m.is_exclusive());
    assert_eq!(m.refcount(), 1);
    m.prefetch_data();
}

fn prepend_uses_headroom_up_to_its_limit(eal: &Eal) {
    let p = pool(eal, "p_prepend", 63);
    let mut m = p.alloc().expect("mbuf");
    m.append(4).expect("append").copy_from_slice(b"body");
    let outer = m.prepend(50).expect("50 bytes fit in 128 of headroom");
    outer.fill(0xee);
    assert_eq!(m.len(), 54);
    assert_eq!(m.headroom(), 128 - 50);
    assert_eq!(&m.data()[..50], &[0xee; 50][..]);
    assert_eq!(&m.data()[50..], b"body");
    assert!(m.prepend(79).is_none(), "79 > 78 bytes of headroom left");
    assert_eq!(m.len(), 54, "a refused prepend changes nothing");
    assert_eq!(m.prepend(78).map(|h| h.len()), Some(78));
    assert_eq!(m.headroom(), 0);
    assert!(m.prepend(1).is_none());
    assert_eq!(m.prepend(0).map(|h| h.len()), Some(0));
}

fn adj_strips_the_front_up_to_data_len(eal: &Eal) {
    let p = pool(eal, "p_adj", 63);
    let mut m = p.alloc().expect("mbuf");
    m.append(64).expect("append").copy_from_slice(&[7u8; 64]);
    m.data_mut().expect("exclusive")[..14].copy_from_slice(b"outer-header..");
    assert!(m.adj(14));
    assert_eq!(m.len(), 50);
    assert_eq!(m.headroom(), 128 + 14);
    assert_eq!(m.data(), &[7u8; 50][..]);
    // What adj removed, prepend gives back (the bytes are still there).
    assert_eq!(
        m.prepend(14).map(|h| h.to_vec()),
        Some(b"outer-header..".to_vec())
    );
    assert!(m.adj(14));
    assert!(!m.adj(51), "cannot strip more than the frame");
    assert_eq!(m.len(), 50);
    assert!(m.adj(50));
    assert!(m.is_empty());
}

fn append_and_trim_respect_tailroom_and_length(eal: &Eal) {
    let p = pool(eal, "p_append", 63);
    let mut m = p.alloc().expect("mbuf");
    let room = m.tailroom();
    assert!(m.append(room + 1).is_none());
    assert_eq!(m.append(room).map(|t| t.len()), Some(room));
    assert_eq!(m.tailroom(), 0);
    assert!(m.append(1).is_none());
    assert!(!m.trim(room + 1));
    assert!(m.trim(room - 60));
    assert_eq!(m.len(), 60);
    assert_eq!(m.tailroom(), room - 60);
}

fn shared_mbuf_is_read_only_until_alone(eal: &Eal) {
    let p = pool(eal, "p_share", 63);
    let mut m = p.alloc().expect("mbuf");
    m.append(60).expect("append").fill(0x42);
    let copies: Vec<_> = (0..3).map(|_| m.share()).collect();
    assert_eq!(m.refcount(), 4);
    assert_eq!(p.in_use(), 1, "sharing copies no buffer");
    assert!(!m.is_exclusive());
    assert!(m.data_mut().is_none());
    assert!(m.prepend(14).is_none());
    assert!(!m.adj(1));
    assert!(m.append(1).is_none());
    assert!(!m.trim(1));
    assert!(!m.set_port(3));
    for c in &copies {
        assert_eq!(c.data(), &[0x42; 60][..]);
    }
    drop(copies);
    assert_eq!(m.refcount(), 1);
    assert!(m.is_exclusive());
    assert!(m.prepend(14).is_some());
    assert!(m.set_port(3));
    assert_eq!(m.port(), 3);
    drop(m);
    assert_eq!(p.in_use(), 0, "the last handle frees the buffer");
}

fn raw_round_trip_keeps_ownership(eal: &Eal) {
    let p = pool(eal, "p_raw", 63);
    let m = p.alloc().expect("mbuf");
    let raw = m.into_raw();
    assert_eq!(p.in_use(), 1, "into_raw does not free");
    // SAFETY: raw came from into_raw just above and is handed back once.
    let m = unsafe { nvo_dpdk::Mbuf::from_raw(raw) };
    drop(m);
    assert_eq!(p.in_use(), 0);
}

fn rss_hash_absent_on_fresh_mbuf(eal: &Eal) {
    let p = pool(eal, "p_rss", 63);
    let m = p.alloc().expect("mbuf");
    assert_eq!(m.rss_hash(), None);
}

fn burst_push_pop_drain_and_drop_free_everything(eal: &Eal) {
    let p = pool(eal, "p_burst", 127);
    let mut b = Burst::new();
    assert!(b.is_empty());
    for i in 0..BURST_SIZE {
        let mut m = p.alloc().expect("mbuf");
        m.append(1).expect("append")[0] = i as u8;
        assert!(b.push(m).is_ok());
    }
    assert!(b.is_full());
    assert_eq!(b.room(), 0);
    let extra = p.alloc().expect("mbuf");
    let back = b
        .push(extra)
        .expect_err("a full burst gives the frame back");
    drop(back);
    assert_eq!(b.as_slice()[5].data(), &[5]);
    assert_eq!(b.pop().expect("pop").data(), &[31]);
    assert_eq!(b.swap_remove(0).expect("swap_remove").data(), &[0]);
    assert_eq!(
        b.as_slice()[0].data(),
        &[30],
        "the last frame moved into the hole"
    );
    assert_eq!(b.len(), 30);
    assert_eq!(p.in_use(), 30);
    let firsts: Vec<u8> = b.drain().take(3).map(|m| m.data()[0]).collect();
    assert_eq!(firsts, vec![30, 1, 2]);
    assert!(b.is_empty());
    assert_eq!(p.in_use(), 0, "the drain freed what it did not yield");
    assert!(b.alloc_from(&p, 20));
    drop(b);
    assert_eq!(p.in_use(), 0, "dropping a burst frees its frames");
}

fn burst_bulk_alloc_is_all_or_nothing(eal: &Eal) {
    let p = pool(eal, "p_bulk", 40);
    let mut b = Burst::new();
    assert!(
        !p.alloc_into(&mut b, BURST_SIZE + 1),
        "more than a burst holds"
    );
    assert!(p.alloc_into(&mut b, BURST_SIZE));
    let mut b2 = Burst::new();
    assert!(!p.alloc_into(&mut b2, 9), "only 8 left");
    assert!(b2.is_empty());
    assert!(p.alloc_into(&mut b2, 8));
    assert_eq!(p.available(), 0);
    b.clear();
    assert_eq!(p.available(), 32);
}
