//! What the writer and every reader share: the buckets and two counters.

use crate::bucket::{probe_pair, Bucket};
use crate::key::{Key, Loc};
use crate::sync::AtomicU64;
use crate::value::Hit;

/// Keeps the clock on its own pair of cache lines, so that the writer
/// advancing it does not evict anything else from the readers' caches
/// (128 bytes: the adjacent-line prefetcher pulls lines in pairs).
#[cfg_attr(not(loom), repr(align(128)))]
pub(crate) struct Padded(pub(crate) AtomicU64);

pub(crate) struct Shared {
    /// The table proper, allocated once at creation.
    pub(crate) buckets: Box<[Bucket]>,
    /// `buckets.len()`, as the hash reduction wants it.
    pub(crate) n: u32,
    /// The writer's coarse clock, for readers to age their hits against.
    pub(crate) clock: Padded,
}

impl Shared {
    pub(crate) fn new(n: u32) -> Shared {
        Shared {
            buckets: crate::memory::buckets(n as usize),
            n,
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

    /// A lookup that is right at some instant during the call.
    #[inline]
    pub(crate) fn get(&self, key: Key) -> Option<Hit> {
        self.probe(key, Loc::of(key, self.n))
    }
}
