//! The data-plane side: lookups that never block and never write.

use crate::bucket::{probe_one, probe_pair, Bucket};
use crate::key::{Key, Loc};
use crate::shared::Shared;
use crate::sync::{Arc, Ordering};
use crate::value::{Hit, Tick};

/// The largest burst [`Reader::get_bulk`] works on at once.
pub const BURST: usize = 32;

/// A handle for the data-plane workers: any number of them, on any thread.
///
/// Cloning is one reference-count increment; clone once per worker at
/// start, not per burst. Lookups load and never store, so a hit leaves no
/// cache line dirty and workers do not slow each other down.
#[derive(Clone)]
pub struct Reader {
    shared: Arc<Shared>,
}

/// Asks the cache for a bucket ahead of use; a hint that costs a slot in
/// the load queue and cannot fault.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch(bucket: &Bucket) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: _mm_prefetch only needs SSE, which every x86_64 CPU has; a
    // prefetch never faults and reads nothing the program can observe, and
    // the pointer is to a live bucket borrowed for this call in any case.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(bucket.as_ptr().cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = bucket;
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>) -> Reader {
        Reader { shared }
    }

    /// Looks one key up. The answer held at some instant during the call.
    #[inline]
    pub fn get(&self, key: Key) -> Option<Hit> {
        self.shared.get(key)
    }

    /// Looks up `keys` into `out` (up to the shorter of the two), [`BURST`]
    /// at a time, and returns the number of hits.
    ///
    /// For each burst, the primary buckets of all keys are prefetched
    /// before any is compared, then the alternative buckets of the keys not
    /// found there, so that the cache misses overlap instead of queueing
    /// one after the other and most hits cost one cache line. Each answer
    /// held at some instant during the call (not the same instant for all).
    pub fn get_bulk(&self, keys: &[Key], out: &mut [Option<Hit>]) -> usize {
        keys.chunks(BURST)
            .zip(out.chunks_mut(BURST))
            .map(|(keys, out)| self.burst(keys, out))
            .sum()
    }

    #[inline]
    fn burst(&self, keys: &[Key], out: &mut [Option<Hit>]) -> usize {
        let shared = &*self.shared;
        let count = keys.len().min(out.len()).min(BURST);
        // Stage 1: hash every key and prefetch its primary bucket, keeping
        // the bucket references so that later stages neither hash nor
        // index.
        let first = shared.bucket(0);
        let mut pairs = [(first, first, 0u8); BURST];
        for (pair, &key) in pairs.iter_mut().zip(&keys[..count]) {
            let loc = Loc::of(key, shared.n);
            *pair = (shared.bucket(loc.primary), shared.bucket(loc.alt), loc.tag);
            prefetch(pair.0);
        }

        // Stage 2: probe the primary buckets, in order, so that the buckets
        // prefetched first are used first. The inserts put most keys in
        // their primary bucket; for the others, prefetch the alternative
        // now and note the key. The prefetch address is selected rather
        // than branched on, since which keys miss is unpredictable.
        let mut again = [0u8; BURST];
        let mut misses = 0;
        for (i, ((key, &(a, b, tag)), slot)) in keys
            .iter()
            .zip(&pairs)
            .zip(out.iter_mut())
            .take(count)
            .enumerate()
        {
            *slot = probe_one(a, key.raw(), tag);
            again[misses] = i as u8;
            misses += usize::from(slot.is_none());
            prefetch(if slot.is_none() { b } else { a });
        }

        // Stage 3: the keys not found in their primary bucket, against both
        // buckets at once, which also settles keys moving between them.
        let mut hits = count - misses;
        for &i in &again[..misses] {
            let (a, b, tag) = pairs[usize::from(i)];
            let hit = probe_pair(a, b, keys[usize::from(i)].raw(), tag);
            out[usize::from(i)] = hit;
            hits += usize::from(hit.is_some());
        }
        hits
    }

    /// The writer's clock, to compare hits' stamps against.
    #[inline]
    pub fn clock(&self) -> Tick {
        // Relaxed: the clock is advisory; a reader that sees it a tick late
        // reports a refresh a tick late.
        self.shared.clock.0.load(Ordering::Relaxed) as Tick
    }

    /// The number of slots, for statistics.
    pub fn slots(&self) -> usize {
        self.shared.buckets.len() * crate::bucket::SLOTS
    }
}
