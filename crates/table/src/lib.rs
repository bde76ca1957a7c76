//! nvo-table: the MAC/domain table, a bucketized cuckoo hash with one
//! writer and lock-free readers.
//!
//! # Design
//!
//! **Layout.** A key is a 16-bit per-switch domain index and a 48-bit MAC
//! packed into one `u64` ([`Key`]). The table is one array of buckets,
//! allocated and zeroed once at creation and never resized. A bucket is
//! one 64-byte cache line of eight `AtomicU64` words: a header holding a
//! 32-bit version and four one-byte signatures, then four keys, four
//! 32-bit destinations and four 16-bit stamps: four slots of 16 bytes.
//! Every key has two candidate buckets, from the two halves of a 64-bit
//! hash reduced by multiply-and-shift (so the bucket count need not be a
//! power of two), and a signature from the same hash; signature 0 marks a
//! free slot. A lookup compares the four signatures in one word operation
//! and loads a key only where the signature matches.
//!
//! The array is asked to be backed by transparent huge pages, since
//! nearly every lookup would otherwise miss the TLB as well as the cache.
//!
//! **Keys at home.** A bulk lookup fetches a key's primary bucket first
//! and its alternative only when the key is not found there, so a table
//! whose keys sit in their primary bucket costs one cache line a hit. The
//! writer keeps them there: an insert takes its primary bucket when it has
//! room, or sends one of that bucket's guests (keys for which it is the
//! alternative) home to make room, before it settles for the alternative;
//! and of the shortest displacement paths it takes the one that leaves the
//! most keys at home. A fresh fill to 90% leaves 78% of the keys at home;
//! steady churn at 90% settles near 70% (50% with the first path found).
//!
//! **Who writes.** Only the [`Writer`], owned by the control thread, stores
//! anything: inserts, updates, removals, aging, and the displacement that
//! makes room when both of a key's buckets are full (a breadth-first search
//! of at most five moves for a key that can go to its other bucket, then
//! the moves made last-first). [`Reader`]s, one per data-plane worker,
//! only load: a hit dirties no cache line.
//!
//! **Reading (a seqlock over one bucket, then both).** A hit in the
//! primary bucket alone is read as a seqlock over that bucket: a key found
//! there while its version stood still was in the table with that value at
//! that instant, wherever else it may be moving. A miss there proves
//! nothing, so the key is then looked up in both buckets at once, as
//! follows. A reader loads both of a
//! key's bucket headers (Acquire), retries while either version is odd,
//! matches signatures, loads the key, destination and stamp of a matching
//! slot (Relaxed), issues an Acquire fence and reloads both headers
//! (Relaxed): if either changed, it starts over. The writer rewrites a
//! live slot by storing an odd version (Relaxed), a Release fence, the
//! slot words (Relaxed), then the next even version (Release). Any slot
//! word a reader loads that came from after the writer's fence makes the
//! fences synchronize, so the reload sees the odd version or a later one:
//! a torn read is always thrown away. Filling a free slot skips the odd
//! version (no reader looks at a slot whose signature is 0 in the header
//! it holds) but keeps the fence, which protects readers holding an older
//! header in which the slot was still occupied. Freeing slots is a single
//! header store.
//!
//! **Detecting a move.** A displaced key is first copied into a free slot
//! of its other bucket, then removed from the old one: two header stores
//! in that order, each changing a version. A reader could miss the key
//! only by reading the destination before the copy and the source after
//! the removal. If the source is the bucket it read second, its Acquire
//! load of that header synchronizes with the removal, so the copy into
//! the first bucket happens-before the reload of the first header, which
//! then differs and the reader retries. If the source is the bucket it
//! read first and it saw the key gone, that Acquire load synchronizes with
//! the removal, so the copy is visible in the second bucket. Either way
//! no false miss is confirmed. More generally, because each bucket stayed
//! unchanged from its first load to its reload and those intervals
//! overlap, both snapshots held at one instant, so every answer (hit or
//! miss) is one the table gave at some instant during the call. No shared
//! counter is read: a lookup touches only the two buckets.
//!
//! **Reclamation.** Nothing is freed while the table lives: removal clears
//! a signature and the slot's words stay as they were until a later fill
//! reuses them, which the version protocol above covers. The buckets are
//! dropped with the last of the writer and the readers (an `Arc`).
//!
//! **Limits.** Versions are 32 bits (two steps a change): a reader would
//! be fooled only by exactly 2^31 changes to one bucket during one probe.
//! Readers retry instead of blocking, so they are lock-free, not
//! wait-free; the writer keeps a bucket's version odd for a few stores
//! only, and only when rewriting a live slot.
//!
//! **Measured** (docs/benchmarks.md): a reader loses about 2% while the
//! writer applies a million inserts a second to the same table, both
//! measured on a table already settled by churn, since the placement, not
//! the writer's presence, is what changes a reader's speed.
//!
//! # Threads
//!
//! - Control thread: [`Writer::new`], then everything on the [`Writer`].
//! - Data-plane workers: [`Reader::get`], [`Reader::get_bulk`] and
//!   [`Reader::clock`]; they never block, lock, allocate or write.

#![deny(unsafe_code)]

mod bucket;
mod key;
mod memory;
mod reader;
mod shared;
mod sync;
mod value;
mod writer;

pub use key::Key;
pub use reader::{Reader, BURST};
pub use value::{Dest, Hit, Lifetime, Tick, MAX_VTEP_INDEX};
pub use writer::{CapacityError, InsertError, Stats, Writer, MAX_CAPACITY};

#[cfg(test)]
mod tests;
