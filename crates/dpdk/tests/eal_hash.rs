//! EAL lifecycle, lcore launching and the rte_hash wrapper.
//! One EAL per process: see the harness in `common/mod.rs`.

mod common;

use nvo_dpdk::{Eal, Error, RteHash};

fn main() {
    common::run(
        "nvo-test-eal",
        &["-l", "0,1"],
        &[
            ("second_eal_init_is_an_error", second_eal_init_is_an_error),
            ("lcores_are_enumerated", lcores_are_enumerated),
            (
                "launch_runs_closure_on_worker_and_joins",
                launch_runs_closure_on_worker_and_joins,
            ),
            ("launch_reports_panic", launch_reports_panic),
            (
                "launch_on_main_or_unknown_lcore_is_refused",
                launch_on_main_or_unknown_lcore_is_refused,
            ),
            ("tsc_advances", tsc_advances),
            ("hash_add_lookup_delete", hash_add_lookup_delete),
            ("hash_bulk_lookup", hash_bulk_lookup),
            ("hash_full_and_bad_name", hash_full_and_bad_name),
            (
                "hash_readers_on_worker_while_writing",
                hash_readers_on_worker_while_writing,
            ),
        ],
    )
}

fn second_eal_init_is_an_error(_eal: &Eal) {
    let again = Eal::init(common::eal_args("nvo-test-eal-again", &[]));
    assert!(matches!(again, Err(Error::EalOnce(_))), "{again:?}");
}

fn lcores_are_enumerated(eal: &Eal) {
    assert_eq!(eal.lcore_count(), 2);
    assert_eq!(eal.main_lcore(), 0);
    assert_eq!(eal.worker_lcores(), vec![1]);
    assert_eq!(nvo_dpdk::current_lcore(), Some(0));
    assert!(eal.lcore_socket(0).is_some());
    assert_eq!(eal.lcore_socket(100_000), None);
    // A plain thread gets an lcore id once registered.
    let eal2 = eal.clone();
    let (before, id, after) = std::thread::spawn(move || {
        let before = nvo_dpdk::current_lcore();
        let id = eal2.register_current_thread().expect("register");
        (before, id, nvo_dpdk::current_lcore())
    })
    .join()
    .expect("thread");
    assert_eq!(before, None);
    assert_eq!(after, Some(id));
    assert!(
        id > 1,
        "a registered thread gets an id beyond the enabled lcores: {id}"
    );
}

fn launch_runs_closure_on_worker_and_joins(eal: &Eal) {
    let work = eal
        .launch(1, || (nvo_dpdk::current_lcore(), 6 * 7))
        .expect("launch");
    assert_eq!(work.lcore(), 1);
    assert_eq!(work.join().expect("join"), (Some(1), 42));
    // Finished but not joined: the lcore is still taken until the join.
    let quick = eal.launch(1, || 1).expect("launch");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(matches!(
        eal.launch(1, || 2),
        Err(Error::Lcore { lcore: 1, .. })
    ));
    assert_eq!(quick.join().expect("join"), 1);
    // The lcore is free again.
    let again = eal.launch(1, || "again").expect("second launch");
    assert_eq!(again.join().expect("join"), "again");
}

fn launch_reports_panic(eal: &Eal) {
    let work = eal
        .launch(1, || -> u32 {
            panic!("deliberate panic on a worker lcore")
        })
        .expect("launch");
    assert!(matches!(
        work.join(),
        Err(Error::WorkerPanicked { lcore: 1 })
    ));
}

fn launch_on_main_or_unknown_lcore_is_refused(eal: &Eal) {
    assert!(matches!(
        eal.launch(0, || ()),
        Err(Error::Lcore { lcore: 0, .. })
    ));
    assert!(matches!(
        eal.launch(7, || ()),
        Err(Error::Lcore { lcore: 7, .. })
    ));
    let busy = eal
        .launch(1, || {
            std::thread::sleep(std::time::Duration::from_millis(200))
        })
        .expect("launch");
    let second = eal.launch(1, || ());
    assert!(
        matches!(&second, Err(e @ Error::Lcore { lcore: 1, .. }) if e.is_retryable()),
        "{second:?}"
    );
    busy.join().expect("join");
}

fn tsc_advances(_eal: &Eal) {
    let hz = nvo_dpdk::tsc_hz();
    assert!(hz > 100_000_000, "tsc_hz {hz}");
    let a = nvo_dpdk::tsc();
    std::thread::sleep(std::time::Duration::from_millis(10));
    let ticks = nvo_dpdk::tsc() - a;
    assert!(
        ticks > hz / 200 && ticks < hz,
        "10 ms took {ticks} ticks at {hz} Hz"
    );
}

fn hash_add_lookup_delete(eal: &Eal) {
    let mut h = RteHash::create(eal, "t_basic", 1024, None).expect("create");
    assert!(h.is_empty());
    for k in 0..500u64 {
        h.add(k * 7919, k + 1).expect("add");
    }
    assert_eq!(h.len(), 500);
    assert_eq!(h.lookup(7919 * 3), Some(4));
    assert_eq!(h.lookup(1), None);
    h.add(0, 99).expect("replace");
    assert_eq!(h.lookup(0), Some(99));
    assert_eq!(h.len(), 500);
    let slot = h.del(7919 * 3).expect("del").expect("was present");
    assert_eq!(h.del(7919 * 3).expect("del again"), None);
    assert_eq!(h.lookup(7919 * 3), None);
    h.reclaim(slot).expect("reclaim");
    assert_eq!(h.len(), 499);
    h.reset();
    assert!(h.is_empty());
}

fn hash_bulk_lookup(eal: &Eal) {
    let mut h = RteHash::create(eal, "t_bulk", 256, None).expect("create");
    for k in (0..64u64).step_by(2) {
        h.add(k, k * 10).expect("add");
    }
    let keys: Vec<u64> = (0..64).collect();
    let mut values = [u64::MAX; 64];
    let hits = h.reader().lookup_bulk(&keys, &mut values);
    assert_eq!(hits, 0x5555_5555_5555_5555);
    for (k, v) in values.iter().enumerate() {
        if k % 2 == 0 {
            assert_eq!(*v, k as u64 * 10);
        } else {
            assert_eq!(*v, u64::MAX, "a miss leaves the value alone");
        }
    }
    assert_eq!(h.reader().lookup_bulk(&[], &mut values), 0);
}

fn hash_full_and_bad_name(eal: &Eal) {
    let mut h = RteHash::create(eal, "t_full", 64, None).expect("create");
    let mut full = None;
    for k in 0..10_000u64 {
        if let Err(e) = h.add(k, k) {
            full = Some(e);
            break;
        }
    }
    let e = full.expect("a 64-entry table refuses 10000 keys");
    assert!(
        matches!(
            e,
            Error::Hash {
                errno: nvo_dpdk::Errno::ENOSPC,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("t_full"), "{e}");
    let dup = RteHash::create(eal, "t_full", 64, None);
    assert!(dup.is_err(), "a second table with the same name");
    let long = RteHash::create(eal, &"x".repeat(100), 64, None);
    assert!(matches!(long, Err(Error::NameTooLong { .. })));
}

fn hash_readers_on_worker_while_writing(eal: &Eal) {
    let mut h = RteHash::create(eal, "t_concurrent", 4096, None).expect("create");
    for k in 0..1000u64 {
        h.add(k, k ^ 0xabcd).expect("add");
    }
    let reader = h.reader();
    let work = eal
        .launch(1, move || {
            let mut wrong = 0;
            for round in 0..200u64 {
                for k in 0..1000u64 {
                    if let Some(v) = reader.lookup(k) {
                        wrong += u64::from(v != k ^ 0xabcd && v != round);
                    }
                }
            }
            wrong
        })
        .expect("launch");
    for k in 1000..3000u64 {
        h.add(k, k ^ 0xabcd).expect("add while reading");
    }
    assert_eq!(
        work.join().expect("join"),
        0,
        "a reader saw a torn or wrong value"
    );
}
