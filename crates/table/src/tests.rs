//! Unit tests of the whole table and a property test against a HashMap.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::{CapacityError, Dest, Hit, InsertError, Key, Lifetime, Writer, BURST};

/// A key from a counter, spread over domains and MACs like real traffic.
fn key(i: u64) -> Key {
    Key::new(
        (i % 7) as u16,
        [0x52, 0x54, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8],
    )
}

fn dest(i: u64) -> Dest {
    match i % 3 {
        0 => Dest::Local(i as u16),
        1 => Dest::Remote((i % 100_000) as u32),
        _ => Dest::Drop,
    }
}

#[test]
fn capacity_out_of_range_is_an_error() {
    assert_eq!(Writer::new(0).err(), Some(CapacityError::OutOfRange(0)));
    assert!(Writer::new(usize::MAX).is_err());
    let w = Writer::new(1).unwrap();
    assert_eq!(w.slots(), 8);
}

#[test]
fn insert_get_update_remove() {
    let mut w = Writer::new(64).unwrap();
    let r = w.reader();
    let k = key(1);
    assert_eq!(r.get(k), None);
    w.set_clock(10);
    assert_eq!(w.insert(k, Dest::Local(4), Lifetime::Learned), Ok(None));
    let hit = Hit::new(Dest::Local(4), Lifetime::Learned, 10).unwrap();
    assert_eq!(r.get(k), Some(hit));
    w.set_clock(12);
    assert_eq!(
        w.insert(k, Dest::Remote(9), Lifetime::Static),
        Ok(Some(hit))
    );
    assert_eq!(w.len(), 1);
    let hit = Hit::new(Dest::Remote(9), Lifetime::Static, 12).unwrap();
    assert_eq!(w.get(k), Some(hit));
    assert_eq!(r.clock(), 12);
    assert_eq!(w.remove(k), Some(hit));
    assert_eq!(w.remove(k), None);
    assert_eq!(r.get(k), None);
    assert!(w.is_empty());
    let s = w.stats();
    assert_eq!((s.inserted, s.updated, s.removed), (1, 1, 1));
}

#[test]
fn too_large_vtep_index_is_refused() {
    let mut w = Writer::new(64).unwrap();
    let err = w.insert(key(1), Dest::Remote(1 << 29), Lifetime::Learned);
    assert_eq!(err, Err(InsertError::VtepIndex(1 << 29)));
    assert!(w.is_empty());
}

#[test]
fn fills_past_ninety_percent_then_refuses_without_losing_anything() {
    let mut w = Writer::new(40_000).unwrap();
    let slots = w.slots() as u64;
    let mut i = 0;
    let full = loop {
        match w.insert(key(i), dest(i), Lifetime::Learned) {
            Ok(None) => i += 1,
            Ok(Some(_)) => unreachable!("keys are distinct"),
            Err(e) => break e,
        }
        assert!(i <= slots);
    };
    let load = w.len() as f64 / slots as f64;
    assert!(load > 0.95, "full at {load}");
    assert_eq!(
        full,
        InsertError::Full {
            len: w.len(),
            slots: w.slots()
        }
    );
    assert_eq!(w.stats().full, 1);
    assert!(w.stats().moved > 0);
    let r = w.reader();
    for j in 0..i {
        assert_eq!(r.get(key(j)).map(|h| h.dest()), Some(dest(j)), "key {j}");
    }
    assert_eq!(r.get(key(i)), None);
    // Room made by a removal is found again.
    w.remove(key(0));
    assert_eq!(w.insert(key(0), dest(0), Lifetime::Learned), Ok(None));
}

#[test]
fn bulk_matches_single_lookups_for_any_lengths() {
    let mut w = Writer::new(1000).unwrap();
    for i in (0..900).step_by(2) {
        w.insert(key(i), dest(i), Lifetime::Learned).unwrap();
    }
    let r = w.reader();
    let keys: Vec<Key> = (0..100).map(key).collect();
    let mut out = vec![None; 100];
    assert_eq!(r.get_bulk(&keys, &mut out), 50);
    for (k, o) in keys.iter().zip(&out) {
        assert_eq!(*o, r.get(*k));
    }
    // A shorter output slice bounds the work; nothing panics.
    let mut short = [None; BURST + 3];
    assert_eq!(r.get_bulk(&keys, &mut short), (BURST + 3).div_ceil(2));
    assert_eq!(r.get_bulk(&[], &mut short), 0);
}

#[test]
fn bulk_repeats_answer_like_single_lookups() {
    let mut w = Writer::new(1000).unwrap();
    for i in 0..10 {
        w.insert(key(i), dest(i), Lifetime::Learned).unwrap();
    }
    let r = w.reader();
    let ids = [1, 1, 2, 2, 2, 50, 50, 1, 3, 3, 50, 1];
    let keys: Vec<Key> = ids.iter().map(|&i| key(i)).collect();
    let mut out = vec![None; keys.len()];
    assert_eq!(r.get_bulk(&keys, &mut out), 9);
    for (k, o) in keys.iter().zip(&out) {
        assert_eq!(*o, r.get(*k));
    }
}

#[test]
fn aging_removes_old_learned_entries_only() {
    let mut w = Writer::new(100).unwrap();
    w.set_clock(65_530);
    w.insert(key(1), Dest::Local(1), Lifetime::Learned).unwrap();
    w.insert(key(2), Dest::Local(2), Lifetime::Static).unwrap();
    w.insert(key(3), Dest::Local(3), Lifetime::Learned).unwrap();
    w.set_clock(5);
    assert!(w.refresh(key(3)));
    assert!(!w.refresh(key(4)));
    let r = w.reader();
    let hit = r.get(key(1)).unwrap();
    assert!(hit.needs_refresh(r.clock(), 10));
    assert!(!r.get(key(3)).unwrap().needs_refresh(r.clock(), 10));
    // Age 11 across the wrap: not older than 11, then older than 10.
    assert_eq!(w.age(11, usize::MAX), 0);
    assert_eq!(w.age(10, usize::MAX), 1);
    assert_eq!(r.get(key(1)), None);
    assert!(r.get(key(2)).is_some() && r.get(key(3)).is_some());
    assert_eq!((w.len(), w.stats().aged), (2, 1));
}

#[test]
fn aging_in_slices_visits_every_bucket() {
    let mut w = Writer::new(1000).unwrap();
    for i in 0..500 {
        w.insert(key(i), dest(i), Lifetime::Learned).unwrap();
    }
    w.set_clock(100);
    let buckets = w.slots() / 4;
    let mut removed = 0;
    for _ in 0..buckets.div_ceil(7) {
        removed += w.age(50, 7);
    }
    assert_eq!((removed, w.len()), (500, 0));
}

#[test]
fn churn_at_ninety_percent_keeps_most_keys_in_their_primary_bucket() {
    // Readers look in a key's primary bucket first, so where the writer
    // leaves keys is what the bulk lookup costs. A light table keeps every
    // key at home; under steady churn at 90% the displacement that prefers
    // homing paths keeps two thirds there (half, with the first path found).
    let mut w = Writer::new(1 << 14).unwrap();
    let target = w.slots() * 9 / 10;
    for i in 0..w.slots() as u64 / 4 {
        w.insert(key(i), dest(i), Lifetime::Learned).unwrap();
    }
    assert!(
        w.at_home() * 100 >= w.len() * 97,
        "{} of {}",
        w.at_home(),
        w.len()
    );
    let mut next = w.len() as u64;
    while w.len() < target {
        w.insert(key(next), dest(next), Lifetime::Learned).unwrap();
        next += 1;
    }
    let mut oldest = 0;
    for _ in 0..4 * w.slots() {
        w.remove(key(oldest));
        oldest += 1;
        w.insert(key(next), dest(next), Lifetime::Learned).unwrap();
        next += 1;
    }
    assert_eq!(w.len(), target);
    let home = w.at_home() as f64 / w.len() as f64;
    assert!(home > 0.6, "{home:.3} at home");
    let r = w.reader();
    let keys: Vec<Key> = (oldest..next).map(key).collect();
    let mut out = vec![None; keys.len()];
    assert_eq!(r.get_bulk(&keys, &mut out), keys.len());
    for (i, o) in (oldest..next).zip(&out) {
        assert_eq!(o.map(|h| h.dest()), Some(dest(i)), "key {i}");
    }
}

#[test]
fn memory_is_sixteen_bytes_a_slot() {
    let w = Writer::new(1 << 16).unwrap();
    assert_eq!(w.slots(), 1 << 16);
    let per_slot = w.bytes() as f64 / w.slots() as f64;
    assert!(per_slot < 16.2, "{per_slot}");
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, u32, bool),
    Remove(u8),
    Refresh(u8),
    Get(u8),
    Clock(u16),
    Age(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), 0..1u32 << 30, any::<bool>()).prop_map(|(k, d, s)| Op::Insert(k, d, s)),
        2 => any::<u8>().prop_map(Op::Remove),
        1 => any::<u8>().prop_map(Op::Refresh),
        2 => any::<u8>().prop_map(Op::Get),
        1 => any::<u16>().prop_map(Op::Clock),
        1 => any::<u16>().prop_map(Op::Age),
    ]
}

fn dest_of(d: u32) -> Dest {
    match d % 3 {
        0 => Dest::Local(d as u16),
        1 => Dest::Remote(d >> 2),
        _ => Dest::Drop,
    }
}

proptest! {
    /// Any sequence of operations on a small table (so that it fills and
    /// displaces) leaves it agreeing with a HashMap of the same history.
    #[test]
    fn agrees_with_a_hashmap(ops in proptest::collection::vec(op(), 1..400)) {
        let mut w = Writer::new(200).unwrap();
        let r = w.reader();
        let mut model: HashMap<Key, Hit> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(k, d, pinned) => {
                    let lifetime = if pinned { Lifetime::Static } else { Lifetime::Learned };
                    let hit = Hit::new(dest_of(d), lifetime, w.clock()).unwrap();
                    match w.insert(key(k.into()), hit.dest(), lifetime) {
                        Ok(old) => prop_assert_eq!(old, model.insert(key(k.into()), hit)),
                        Err(InsertError::Full { len, .. }) => {
                            prop_assert!(!model.contains_key(&key(k.into())));
                            prop_assert_eq!(len, model.len());
                        }
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
                Op::Remove(k) => prop_assert_eq!(w.remove(key(k.into())), model.remove(&key(k.into()))),
                Op::Refresh(k) => {
                    let now = w.clock();
                    let m = model.get_mut(&key(k.into()));
                    prop_assert_eq!(w.refresh(key(k.into())), m.is_some());
                    if let Some(hit) = m {
                        *hit = hit.restamped(now);
                    }
                }
                Op::Get(k) => prop_assert_eq!(r.get(key(k.into())), model.get(&key(k.into())).copied()),
                Op::Clock(now) => w.set_clock(now),
                Op::Age(max_age) => {
                    let now = w.clock();
                    let before = model.len();
                    model.retain(|_, h| h.lifetime() == Lifetime::Static || h.age(now) <= max_age);
                    prop_assert_eq!(w.age(max_age, usize::MAX), before - model.len());
                }
            }
            prop_assert_eq!(w.len(), model.len());
        }
        let keys: Vec<Key> = (0..=255u64).map(key).collect();
        let mut out = vec![None; keys.len()];
        let hits = r.get_bulk(&keys, &mut out);
        prop_assert_eq!(hits, model.len());
        for (k, o) in keys.iter().zip(&out) {
            prop_assert_eq!(*o, model.get(k).copied());
        }
    }
}
