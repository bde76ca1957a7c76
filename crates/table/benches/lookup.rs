//! Lookup throughput of nvo-table against hashbrown behind an RwLock and
//! std's HashMap, with the same keys, at 1M and 16M entries and 90% load;
//! then nvo-table's reader, on the table settled by churn, with and without
//! a writer applying about a million inserts a second.
//!
//! `cargo bench -p nvo-table --bench lookup -- --warm-up-time 1
//! --measurement-time 3`; `NVO_BENCH_SIZES=1M` (or `16M`, `64K`, a list) picks the sizes.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nvo_table::{Dest, Hit, Key, Lifetime, Reader, Writer, BURST};
use parking_lot::RwLock;

mod inputs;
use inputs::{keys, picks, size_label, sizes, Bursts, Churn};

/// Lookups are drawn from this many random picks of the present keys, so
/// that successive bursts touch unrelated buckets.
const PICKS: usize = 1 << 20;
/// Inserts a second the interfering writer aims at.
const WRITER_RATE: f64 = 1e6;

fn value(key: Key) -> Dest {
    Dest::Remote((key.raw() as u32) & nvo_table::MAX_VTEP_INDEX)
}

fn lookups(c: &mut Criterion) {
    for capacity in sizes("1M,16M") {
        let label = size_label(capacity);
        let present = keys(1, capacity * 9 / 10);
        let picks = picks(&present, PICKS);

        let mut w = Writer::new(capacity).unwrap();
        let started = Instant::now();
        for &k in &present {
            w.insert(k, value(k), Lifetime::Learned).unwrap();
        }
        eprintln!(
            "nvo-table {label}: {} entries in {} slots ({:.1}% load), {:.1} bytes/slot, \
             {:.1} bytes/entry, {} moves, {:.1}% in their primary bucket, filled in {:?}",
            w.len(),
            w.slots(),
            100.0 * w.len() as f64 / w.slots() as f64,
            w.bytes() as f64 / w.slots() as f64,
            w.bytes() as f64 / w.len() as f64,
            w.stats().moved,
            100.0 * w.at_home() as f64 / w.len() as f64,
            started.elapsed()
        );

        let mut g = c.benchmark_group(format!("lookup/{label}"));
        g.throughput(Throughput::Elements(BURST as u64));
        let r = w.reader();
        g.bench_function("nvo-table bulk", |b| {
            let mut bursts = Bursts::new(&picks);
            let mut out = [None::<Hit>; BURST];
            b.iter(|| black_box(r.get_bulk(bursts.next(), &mut out)));
        });
        g.bench_function("nvo-table single", |b| {
            let mut bursts = Bursts::new(&picks);
            b.iter(|| {
                for &k in bursts.next() {
                    black_box(r.get(k));
                }
            });
        });
        g.finish();
        interference(c, &label, &mut w, &picks);
        drop((w, r));

        let mut g = c.benchmark_group(format!("lookup/{label}"));
        g.throughput(Throughput::Elements(BURST as u64));
        let map: hashbrown::HashMap<u64, Dest> =
            present.iter().map(|k| (k.raw(), value(*k))).collect();
        let map = RwLock::new(map);
        g.bench_function("hashbrown+RwLock", |b| {
            let mut bursts = Bursts::new(&picks);
            b.iter(|| {
                let map = map.read();
                for k in bursts.next() {
                    black_box(map.get(&k.raw()));
                }
            });
        });
        drop(map);
        let map: HashMap<u64, Dest> = present.iter().map(|k| (k.raw(), value(*k))).collect();
        g.bench_function("std HashMap", |b| {
            let mut bursts = Bursts::new(&picks);
            b.iter(|| {
                for k in bursts.next() {
                    black_box(map.get(&k.raw()));
                }
            });
        });
        g.finish();
    }
}

/// Reader throughput on the table settled by churn (as many steps as it
/// has slots), alone, then while another thread goes on churning at
/// `WRITER_RATE` inserts a second; then the two alternated in short rounds,
/// whose median ratio is printed: on a shared machine that ratio drifts far
/// less than two separate runs.
fn interference(c: &mut Criterion, label: &str, w: &mut Writer, picks: &[Key]) {
    let r = w.reader();
    let mut churn = Churn::new();
    let started = Instant::now();
    for _ in 0..w.slots() {
        step(w, &mut churn);
    }
    eprintln!(
        "interference/{label}: settled by {} churn steps in {:?}: {:.1}% of entries in their \
         primary bucket",
        w.slots(),
        started.elapsed(),
        100.0 * w.at_home() as f64 / w.len() as f64
    );
    let mut g = c.benchmark_group(format!("interference/{label}"));
    g.throughput(Throughput::Elements(BURST as u64));
    let read = |g: &mut criterion::BenchmarkGroup<_>, name| {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut bursts = Bursts::new(picks);
            let mut out = [None::<Hit>; BURST];
            b.iter(|| black_box(r.get_bulk(bursts.next(), &mut out)));
        });
    };
    read(&mut g, "alone");
    let stop = AtomicBool::new(false);
    let active = AtomicBool::new(true);
    // NVO_INTERFERENCE_CONTROL=1: the writer churns a second table of the
    // same size and load instead, so that the ratio shows what sharing the
    // CPU and memory costs, apart from sharing the table.
    let mut other = std::env::var_os("NVO_INTERFERENCE_CONTROL").map(|_| {
        let mut other = Writer::new(w.slots()).unwrap();
        for k in keys(3, w.len()) {
            other.insert(k, value(k), Lifetime::Learned).unwrap();
        }
        eprintln!("interference/{label}: control run, the writer churns another table");
        other
    });
    let w = other.as_mut().unwrap_or(w);
    thread::scope(|s| {
        let writer = s.spawn(|| writer(w, &mut churn, &active, &stop));
        read(&mut g, "with writer");
        let mut ratios: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                active.store(false, Ordering::Relaxed);
                let alone = lookups_per_second(&r, picks);
                active.store(true, Ordering::Relaxed);
                lookups_per_second(&r, picks) / alone
            })
            .collect();
        stop.store(true, Ordering::Relaxed);
        let (inserts, moves, elapsed) = writer.join().unwrap();
        ratios.sort_by(f64::total_cmp);
        eprintln!(
            "interference/{label}: writer did {:.2}M inserts/s and {:.2}M moves/s while on; \
             reader with writer / alone, median of {ROUNDS} rounds: {:.3} (range {:.3}..{:.3})",
            inserts as f64 / elapsed.as_secs_f64() / 1e6,
            moves as f64 / elapsed.as_secs_f64() / 1e6,
            ratios[ROUNDS / 2],
            ratios[0],
            ratios[ROUNDS - 1],
        );
    });
    g.finish();
}

/// One churn step on `w`.
fn step(w: &mut Writer, churn: &mut Churn) {
    let (k, old) = churn.step();
    if let Some(old) = old {
        w.remove(old);
    }
    // A full table refuses the odd key; the churn goes on without it.
    let _ = w.insert(k, value(k), Lifetime::Learned);
}

/// Alternations of [`interference`].
const ROUNDS: usize = 11;

/// Bulk lookups a second over a quarter of a second.
fn lookups_per_second(r: &Reader, picks: &[Key]) -> f64 {
    let mut bursts = Bursts::new(picks);
    let mut out = [None::<Hit>; BURST];
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < Duration::from_millis(250) {
        for _ in 0..64 {
            black_box(r.get_bulk(bursts.next(), &mut out));
        }
        done += 64 * BURST as u64;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// While `active`, churns at `WRITER_RATE` inserts a second; stops at
/// `stop`. Returns inserts, moves and the time spent active.
fn writer(
    w: &mut Writer,
    churn: &mut Churn,
    active: &AtomicBool,
    stop: &AtomicBool,
) -> (u64, u64, Duration) {
    let moved = w.stats().moved;
    let mut on = Duration::ZERO;
    let mut last = Instant::now();
    let mut done = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if !active.load(Ordering::Relaxed) {
            last = now;
            thread::sleep(Duration::from_micros(500));
            continue;
        }
        on += now - last;
        last = now;
        if done as f64 >= on.as_secs_f64() * WRITER_RATE {
            thread::sleep(Duration::from_micros(100));
            continue;
        }
        for _ in 0..1000 {
            step(w, churn);
        }
        done += 1000;
    }
    (done, w.stats().moved - moved, on)
}

criterion_group!(benches, lookups);
criterion_main!(benches);
