//! Inputs shared by the lookup benchmarks: this crate's (lookup.rs) and
//! the comparison with rte_hash in crates/bench, which includes this file
//! by path so that both walk the same keys in the same order.

use nvo_table::{Key, BURST};

/// A splitmix64 stream of `count` keys from `seed`: spread over every bit,
/// as hashed MACs and domains would be.
pub fn keys(seed: u64, count: usize) -> Vec<Key> {
    let mut x = seed;
    (0..count)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Key::from_raw(z ^ (z >> 31))
        })
        .collect()
}

/// `count` keys drawn at random (with repeats) from `present`, so that
/// successive lookups touch unrelated buckets.
pub fn picks(present: &[Key], count: usize) -> Vec<Key> {
    keys(0x5eed, count)
        .iter()
        .map(|k| present[(k.raw() % present.len() as u64) as usize])
        .collect()
}

/// Table sizes to run, from `NVO_BENCH_SIZES` (e.g. `1M,16M`, `64K`), or
/// `default`.
pub fn sizes(default: &str) -> Vec<usize> {
    let wanted = std::env::var("NVO_BENCH_SIZES").unwrap_or_else(|_| default.into());
    wanted
        .split(',')
        .filter_map(|s| {
            let s = s.trim();
            let (n, shift) = match s.strip_suffix('M') {
                Some(n) => (n, 20),
                None => (s.strip_suffix('K')?, 10),
            };
            Some(n.parse::<usize>().ok()? << shift)
        })
        .collect()
}

/// `16M` for 16 << 20, `64K` for 64 << 10.
pub fn size_label(entries: usize) -> String {
    if entries >= 1 << 20 {
        format!("{}M", entries >> 20)
    } else {
        format!("{}K", entries >> 10)
    }
}

/// An endless walk over `items`, a burst at a time.
pub struct Bursts<'a, T> {
    items: &'a [T],
    at: usize,
}

impl<'a, T> Bursts<'a, T> {
    pub fn new(items: &'a [T]) -> Self {
        Bursts { items, at: 0 }
    }

    /// The next [`BURST`] items; `items.len()` must be a multiple of it.
    #[inline]
    pub fn next(&mut self) -> &'a [T] {
        let burst = &self.items[self.at..self.at + BURST];
        self.at = (self.at + BURST) % self.items.len();
        burst
    }
}

/// Keys the churn keeps in the table before removing them again.
pub const CHURN_WINDOW: usize = 10_000;

/// A steady churn of fresh keys, as learning and aging make at full
/// table: each step inserts a new key and removes the one inserted
/// [`CHURN_WINDOW`] steps before. A table that displaces keys to make room
/// ends up with another placement than a fresh fill gives it, so lookups
/// are measured again after `count` steps of this.
pub struct Churn {
    fresh: Vec<Key>,
    window: std::collections::VecDeque<Key>,
    done: usize,
}

impl Churn {
    pub fn new() -> Churn {
        Churn {
            fresh: keys(2, 1 << 22),
            window: std::collections::VecDeque::with_capacity(CHURN_WINDOW),
            done: 0,
        }
    }

    /// The next step: the key to insert, and the key to remove first.
    pub fn step(&mut self) -> (Key, Option<Key>) {
        let key = self.fresh[self.done % self.fresh.len()];
        self.done += 1;
        let old = (self.window.len() == CHURN_WINDOW)
            .then(|| self.window.pop_front())
            .flatten();
        self.window.push_back(key);
        (key, old)
    }
}
