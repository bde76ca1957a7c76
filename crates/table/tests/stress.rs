//! A writer inserting, updating, displacing and removing at full speed near
//! full load, against readers that check every answer they get.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nvo_table::{Dest, Hit, Key, Lifetime, Reader, Writer, BURST};

const SLOTS: usize = 4096;
/// Keys present from start to end: a reader must always find them.
const STABLE: u32 = 1600;
/// Keys the writer inserts and removes.
const CHURN: u32 = 4000;
/// Keys never inserted: a reader must never find them.
const ABSENT: u32 = 1000;
const RUN: Duration = Duration::from_secs(2);

/// Key number `id`: stable ones first, then churn, then absent.
fn key(id: u32) -> Key {
    Key::new(
        (id % 5) as u16,
        [0x0a, 0, 0, (id >> 16) as u8, (id >> 8) as u8, id as u8],
    )
}

/// The value the writer gives key `id` in generation `gen`: the key's
/// number is in it, so a value read for the wrong key is caught.
fn dest(id: u32, gen: u8) -> Dest {
    Dest::Remote(id << 8 | u32::from(gen))
}

/// A small xorshift generator: the test needs speed, not quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (((self.0 >> 32) * u64::from(n)) >> 32) as u32
    }
}

fn check(id: u32, hit: Option<Hit>) {
    match (id, hit) {
        (id, Some(hit)) if id < STABLE => assert_eq!(hit.dest(), dest(id, 0), "stable {id}"),
        (id, None) if id < STABLE => panic!("stable key {id} missed"),
        (id, Some(hit)) if id < STABLE + CHURN => match hit.dest() {
            Dest::Remote(v) => assert_eq!(v >> 8, id, "churn key {id} got another key's value"),
            other => panic!("churn key {id} got {other:?}"),
        },
        (_, None) if id < STABLE + CHURN => {}
        (id, hit) => assert_eq!(hit, None, "absent key {id} found"),
    }
}

fn read_until(r: Reader, stop: Arc<AtomicBool>, seed: u64) -> u64 {
    let mut rng = Rng(seed);
    let mut checked = 0;
    let mut ids = [0u32; BURST];
    let mut keys = [Key::default(); BURST];
    let mut out = [None; BURST];
    while !stop.load(Ordering::Relaxed) {
        for (id, k) in ids.iter_mut().zip(&mut keys) {
            *id = rng.below(STABLE + CHURN + ABSENT);
            *k = key(*id);
        }
        r.get_bulk(&keys, &mut out);
        for (&id, &hit) in ids.iter().zip(&out) {
            check(id, hit);
        }
        check(ids[0], r.get(keys[0]));
        checked += BURST as u64 + 1;
    }
    checked
}

#[test]
fn readers_see_only_true_values_while_the_writer_churns_at_high_load() {
    let mut w = Writer::new(SLOTS).unwrap();
    for id in 0..STABLE {
        w.insert(key(id), dest(id, 0), Lifetime::Static).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (1..=2u64)
        .map(|seed| {
            let (r, stop) = (w.reader(), Arc::clone(&stop));
            thread::spawn(move || read_until(r, stop, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        })
        .collect();

    // Keep the load between 90% and 96% of the slots, so that most inserts
    // displace; refused inserts are expected near the top.
    let mut present = vec![None::<u8>; CHURN as usize];
    let mut rng = Rng(7);
    let started = Instant::now();
    let (low, high) = (SLOTS * 90 / 100, SLOTS * 96 / 100);
    let mut filling = true;
    while started.elapsed() < RUN {
        for _ in 0..256 {
            let i = rng.below(CHURN);
            let id = STABLE + i;
            filling = (filling && w.len() < high) || w.len() < low;
            match present[i as usize] {
                None if filling && w.insert(key(id), dest(id, 0), Lifetime::Learned).is_ok() => {
                    present[i as usize] = Some(0);
                }
                Some(gen) if filling => {
                    let gen = gen.wrapping_add(1);
                    w.insert(key(id), dest(id, gen), Lifetime::Learned).unwrap();
                    present[i as usize] = Some(gen);
                }
                Some(_) => {
                    assert!(w.remove(key(id)).is_some());
                    present[i as usize] = None;
                }
                None => {}
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let checked: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();

    let stats = w.stats();
    assert!(stats.moved > 1000, "{stats:?}");
    assert!(checked > 10_000, "{checked}");
    for id in 0..STABLE {
        assert_eq!(w.get(key(id)).map(|h| h.dest()), Some(dest(id, 0)));
    }
    for (i, gen) in present.iter().enumerate() {
        let id = STABLE + i as u32;
        assert_eq!(w.get(key(id)).map(|h| h.dest()), gen.map(|g| dest(id, g)));
    }
    eprintln!("{stats:?}, {checked} answers checked");
}
