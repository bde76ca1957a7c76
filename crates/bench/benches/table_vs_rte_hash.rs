//! nvo-table's bulk lookup against DPDK's rte_hash (cuckoo, lock-free
//! reader/writer concurrency, `rte_hash_lookup_bulk_data`), side by side
//! in one run with the same keys: one reader thread, bursts of 32, tables
//! sized for 1M and 16M entries and filled to 90%; each measured freshly
//! filled, then again after as many churn steps (insert a fresh key, remove
//! the one inserted 10,000 steps before) as the table has slots, since a
//! table that displaces keys to make room ends up placed differently.
//!
//! `cargo bench -p nvo-bench --bench table_vs_rte_hash -- --warm-up-time 1
//! --measurement-time 3`; `NVO_BENCH_SIZES=1M` picks the sizes. EAL runs in
//! memory on lcore 0 (either CPU) with hugepages from /dev/hugepages; 16M needs about
//! 1 GiB of them for rte_hash.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nvo_dpdk::{Eal, RteHash};
use nvo_table::{Dest, Hit, Key, Lifetime, Writer, BURST, MAX_VTEP_INDEX};

#[path = "../../table/benches/inputs.rs"]
mod inputs;
use inputs::{keys, picks, size_label, sizes, Bursts, Churn};

/// Lookups walk this many random picks of the present keys.
const PICKS: usize = 1 << 20;

/// lcore 0 may run on either CPU: pinned to one, the bench would share it
/// with whatever else the scheduler put there while the other sat idle.
const EAL_ARGS: [&str; 7] = [
    "nvo-bench",
    "--no-pci",
    "--in-memory",
    "--file-prefix",
    "nvo-bench-table",
    "--lcores=0@(0,1)",
    "--log-level=lib.eal:error",
];

fn value(key: Key) -> u32 {
    key.raw() as u32 & MAX_VTEP_INDEX
}

fn side_by_side(c: &mut Criterion) {
    let eal = Eal::init(EAL_ARGS).expect("EAL init (hugepages mounted?)");
    for capacity in sizes("1M,16M") {
        let label = size_label(capacity);
        let present = keys(1, capacity * 9 / 10);
        let picks = picks(&present, PICKS);
        let mut g = c.benchmark_group(format!("table_vs_rte_hash/{label}"));
        g.throughput(Throughput::Elements(BURST as u64));

        let mut w = Writer::new(capacity).expect("capacity");
        let started = Instant::now();
        for &k in &present {
            w.insert(k, Dest::Remote(value(k)), Lifetime::Learned)
                .expect("nvo-table fill");
        }
        eprintln!(
            "nvo-table {label}: {} entries, {:.1}% of {} slots, {:.1} MiB, filled in {:?}",
            w.len(),
            100.0 * w.len() as f64 / w.slots() as f64,
            w.slots(),
            w.bytes() as f64 / f64::from(1 << 20),
            started.elapsed()
        );
        let r = w.reader();
        let bench = |g: &mut criterion::BenchmarkGroup<_>, name: &str| {
            g.bench_function(name, |b| {
                let mut bursts = Bursts::new(&picks);
                let mut out = [None::<Hit>; BURST];
                b.iter(|| black_box(r.get_bulk(bursts.next(), &mut out)));
            });
        };
        bench(&mut g, "nvo-table bulk");
        let (mut churn, started) = (Churn::new(), Instant::now());
        for _ in 0..capacity {
            let (k, old) = churn.step();
            if let Some(old) = old {
                w.remove(old);
            }
            // A full table refuses the odd key; the churn goes on without it.
            let _ = w.insert(k, Dest::Remote(value(k)), Lifetime::Learned);
        }
        eprintln!(
            "nvo-table {label}: churned in {:?}, {} moves, {:.1}% of entries in their primary bucket",
            started.elapsed(),
            w.stats().moved,
            100.0 * w.at_home() as f64 / w.len() as f64
        );
        bench(&mut g, "nvo-table bulk, churned");
        drop((r, w));

        let entries = u32::try_from(capacity).expect("fits rte_hash");
        let mut h = RteHash::create(&eal, &format!("bench{label}"), entries, None)
            .expect("rte_hash_create (enough hugepages?)");
        let started = Instant::now();
        let refused = present
            .iter()
            .filter(|k| h.add(k.raw(), u64::from(value(**k))).is_err())
            .count();
        eprintln!(
            "rte_hash {label}: {} entries for {entries} asked, {refused} refused, filled in {:?}",
            h.len(),
            started.elapsed()
        );
        let raw: Vec<u64> = picks.iter().map(|k| k.raw()).collect();
        let r = h.reader();
        let bench = |g: &mut criterion::BenchmarkGroup<_>, name: &str| {
            g.bench_function(name, |b| {
                let mut bursts = Bursts::new(&raw);
                let mut values = [0u64; BURST];
                b.iter(|| black_box(r.lookup_bulk(bursts.next(), &mut values)));
            });
        };
        bench(&mut g, "rte_hash bulk");
        let (mut churn, started) = (Churn::new(), Instant::now());
        for _ in 0..capacity {
            let (k, old) = churn.step();
            if let Some(old) = old {
                // No reader runs during the churn, so the slot is free at once.
                if let Some(slot) = h.del(old.raw()).expect("rte_hash_del_key") {
                    h.reclaim(slot).expect("rte_hash_free_key_with_position");
                }
            }
            let _ = h.add(k.raw(), u64::from(value(k)));
        }
        eprintln!("rte_hash {label}: churned in {:?}", started.elapsed());
        bench(&mut g, "rte_hash bulk, churned");
        drop((r, h));
        g.finish();
    }
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
