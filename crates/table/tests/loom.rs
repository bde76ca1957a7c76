//! loom models of the reader/writer protocol on a three-bucket table.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p nvo-table --release
//! --test loom` (scripts/loom-table.sh). Each model prefills the table
//! single-threaded, then lets one reader race one writer operation, and
//! checks every answer against what the table could hold at that moment.
//!
//! Preemptions are bounded at 3 unless LOOM_MAX_PREEMPTIONS says otherwise:
//! every known way to break the protocol (see the module comment of the
//! crate) needs at most two, and the bulk model grows past minutes at 4.

#![cfg(loom)]

use loom::thread;
use nvo_table::{Dest, Key, Lifetime, Writer};

/// Runs `f` under loom with the preemption bound described above.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// A three-bucket table: twelve slots.
fn table() -> Writer {
    let w = Writer::new(12).unwrap();
    assert_eq!(w.slots(), 12);
    w
}

/// Distinct keys whose buckets are `[primary, alt]`, skipping `taken`.
fn keys(
    w: &Writer,
    primary: usize,
    alt: Option<usize>,
    count: usize,
    taken: &mut Vec<Key>,
) -> Vec<Key> {
    let found: Vec<Key> = (0u64..)
        .map(|i| Key::new(1, [2, 0, 0, 0, (i >> 8) as u8, i as u8]))
        .filter(|k| !taken.contains(k))
        .filter(|k| {
            let [p, a] = w.buckets_of(*k);
            p == primary && alt.map_or(true, |alt| a == alt)
        })
        .take(count)
        .collect();
    taken.extend(&found);
    found
}

fn insert(w: &mut Writer, key: Key, port: u16) {
    w.insert(key, Dest::Local(port), Lifetime::Learned).unwrap();
}

/// The table before `Y` is inserted: `X` sits in `A`, its alternative
/// bucket; `A` and `B` are full and `C`, `X`'s primary, has one free slot.
/// Inserting `Y` (buckets `A` and `B`) must move `X` from `A` to `C`: the
/// direction in which a reader probing `C` then `A` can miss it.
struct Displacing {
    w: Writer,
    x: Key,
    y: Key,
    absent: Key,
}

fn displacing() -> Displacing {
    let mut w = table();
    let mut taken = Vec::new();
    let in_c = keys(&w, C, None, 4, &mut taken);
    let x = keys(&w, C, Some(A), 1, &mut taken)[0];
    let in_a = keys(&w, A, None, 3, &mut taken);
    let in_b = keys(&w, B, None, 4, &mut taken);
    let y = keys(&w, A, Some(B), 1, &mut taken)[0];
    let absent = keys(&w, C, Some(A), 1, &mut taken)[0];
    for &k in &in_c {
        insert(&mut w, k, 1);
    }
    insert(&mut w, x, 7);
    for &k in in_a.iter().chain(&in_b) {
        insert(&mut w, k, 2);
    }
    w.remove(in_c[0]);
    Displacing { w, x, y, absent }
}

#[test]
fn a_key_displaced_during_a_lookup_is_found() {
    model(|| {
        let Displacing { mut w, x, y, .. } = displacing();
        let r = w.reader();
        let t = thread::spawn(move || r.get(x).map(|h| h.dest()));
        insert(&mut w, y, 9);
        assert_eq!(w.stats().moved, 1);
        assert_eq!(t.join().unwrap(), Some(Dest::Local(7)));
    });
}

#[test]
fn a_bulk_lookup_during_displacement_is_right_for_every_key() {
    model(|| {
        let Displacing {
            mut w,
            x,
            y,
            absent,
        } = displacing();
        let r = w.reader();
        let t = thread::spawn(move || {
            let mut out = [None; 3];
            r.get_bulk(&[x, y, absent], &mut out);
            out.map(|h| h.map(|h| h.dest()))
        });
        insert(&mut w, y, 9);
        let [hx, hy, habsent] = t.join().unwrap();
        assert_eq!(hx, Some(Dest::Local(7)));
        assert!(hy.is_none() || hy == Some(Dest::Local(9)));
        assert_eq!(habsent, None);
    });
}

#[test]
fn an_update_is_seen_whole_or_not_at_all() {
    model(|| {
        let mut w = table();
        let x = keys(&w, A, None, 1, &mut Vec::new())[0];
        w.set_clock(1);
        insert(&mut w, x, 1);
        w.set_clock(2);
        let r = w.reader();
        let t = thread::spawn(move || r.get(x).map(|h| (h.dest(), h.stamp())));
        w.insert(x, Dest::Remote(5), Lifetime::Learned).unwrap();
        let seen = t.join().unwrap();
        assert!(
            seen == Some((Dest::Local(1), 1)) || seen == Some((Dest::Remote(5), 2)),
            "{seen:?}"
        );
    });
}

#[test]
fn a_reused_slot_never_lends_its_value_to_the_old_key() {
    model(|| {
        let mut w = table();
        let mut taken = Vec::new();
        let old = keys(&w, A, None, 1, &mut taken)[0];
        let new = keys(&w, A, None, 1, &mut taken)[0];
        insert(&mut w, old, 1);
        let r = w.reader();
        let t = thread::spawn(move || (r.get(old).map(|h| h.dest()), r.get(new).map(|h| h.dest())));
        w.remove(old);
        insert(&mut w, new, 2);
        let (seen_old, seen_new) = t.join().unwrap();
        assert!(seen_old.is_none() || seen_old == Some(Dest::Local(1)));
        assert!(seen_new.is_none() || seen_new == Some(Dest::Local(2)));
    });
}
