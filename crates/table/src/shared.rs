//! What the writer and every reader share: the buckets and two counters.

use crate::bucket::{probe_pair, Bucket};
use crate::key::{Key, Loc};
use crate::sync::{fence, AtomicU64, Ordering};
use crate::value::Hit;

/// Keeps a counter on its own pair of cache lines, so that the writer
/// bumping it does not evict the bucket array's neighbours, nor the other
/// counter, from the readers' caches (128 bytes: the adjacent-line
/// prefetcher pulls lines in pairs).
#[cfg_attr(not(loom), repr(align(128)))]
pub(crate) struct Padded(pub(crate) AtomicU64);

pub(crate) struct Shared {
    /// The table proper, allocated once at creation.
    pub(crate) buckets: Box<[Bucket]>,
    /// `buckets.len()`, as the hash reduction wants it.
    pub(crate) n: u32,
    /// Bumped by the writer before it takes a key out of the bucket it was
    /// moved from; a reader that misses re-reads it to tell a real miss
    /// from one caused by a move.
    pub(crate) moves: Padded,
    /// The writer's coarse clock, for readers to age their hits against.
    pub(crate) clock: Padded,
}

impl Shared {
    pub(crate) fn new(n: u32) -> Shared {
        Shared {
            buckets: crate::memory::buckets(n as usize),
            n,
            moves: Padded(AtomicU64::new(0)),
            clock: Padded(AtomicU64::new(0)),
        }
    }

    #[inline]
    pub(crate) fn bucket(&self, index: u32) -> &Bucket {
        // `Loc::of` reduces into 0..n, so the index is in range.
        &self.buckets[index as usize]
    }

    /// Probes both candidate buckets once.
    #[inline(always)]
    pub(crate) fn probe(&self, key: Key, loc: Loc) -> Option<Hit> {
        probe_pair(
            self.bucket(loc.primary),
            self.bucket(loc.alt),
            key.raw(),
            loc.tag,
        )
    }

    /// The count of moves so far, read before a probe.
    #[inline]
    pub(crate) fn moves_before(&self) -> u64 {
        // Acquire: pairs with the writer's Release store of the count, which
        // follows the copy of the moved key into its new bucket; a reader
        // that sees the new count therefore finds the copy.
        self.moves.0.load(Ordering::Acquire)
    }

    /// Whether no key moved since `before` was read, after a miss.
    #[inline]
    pub(crate) fn no_move_since(&self, before: u64) -> bool {
        // Acquire fence: keeps this load after the bucket loads of the
        // probe. A probe that saw a key gone from a bucket it was moved out
        // of read that bucket's header with Acquire, after the writer's
        // bump of the count: the bump happens-before this load.
        fence(Ordering::Acquire);
        self.moves.0.load(Ordering::Relaxed) == before
    }

    /// A lookup that is right at some instant during the call.
    #[inline]
    pub(crate) fn get(&self, key: Key) -> Option<Hit> {
        let loc = Loc::of(key, self.n);
        loop {
            let before = self.moves_before();
            let hit = self.probe(key, loc);
            if hit.is_some() || self.no_move_since(before) {
                return hit;
            }
        }
    }
}
