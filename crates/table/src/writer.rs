//! The control-thread side: the one writer, and displacement.

use crate::bucket::{Bucket, Slot, SLOTS};
use crate::key::{Key, Loc};
use crate::reader::Reader;
use crate::shared::Shared;
use crate::sync::{Arc, Ordering};
use crate::value::{decode, encode, Dest, Hit, Lifetime, Tick, MAX_VTEP_INDEX};

/// The largest capacity [`Writer::new`] accepts: 2^32 buckets' worth.
pub const MAX_CAPACITY: usize = (u32::MAX as usize) * SLOTS;

/// Buckets the breadth-first search for a free slot may visit. With four
/// slots a bucket and two roots, 682 buckets hold every path of up to five
/// moves; the last level is not all reached when the queue fills.
const SEARCH_NODES: usize = 512;

/// Why an insert was refused. Both leave the table as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// No free slot within reach of the key's buckets: retryable once
    /// entries are removed or aged.
    #[error("table full: no free slot within reach ({len} entries in {slots} slots)")]
    Full {
        /// Entries in the table.
        len: usize,
        /// Slots in the table.
        slots: usize,
    },
    /// The destination cannot be stored: fatal for this value.
    #[error("remote VTEP index {0} exceeds the table's limit of {MAX_VTEP_INDEX}")]
    VtepIndex(u32),
}

/// Why a table could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// The capacity asked for is 0 or above [`MAX_CAPACITY`].
    #[error("capacity {0} is outside 1..={MAX_CAPACITY}")]
    OutOfRange(usize),
}

/// What the writer has done so far, for the control thread's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Keys added.
    pub inserted: u64,
    /// Values of present keys rewritten (inserts of a present key, refreshes).
    pub updated: u64,
    /// Keys removed by [`Writer::remove`].
    pub removed: u64,
    /// Keys removed by [`Writer::age`].
    pub aged: u64,
    /// Keys moved to their other bucket to make room.
    pub moved: u64,
    /// Inserts refused with [`InsertError::Full`].
    pub full: u64,
}

/// A bucket reached by the search, and how.
#[derive(Clone, Copy, Debug, Default)]
struct Node {
    bucket: u32,
    /// The node this one was reached from; `NO_PARENT` for the two roots.
    parent: u16,
    /// The slot of the parent's bucket whose key would move here.
    slot: u8,
}

const NO_PARENT: u16 = u16::MAX;

/// What [`Writer::search`] found: the queue index of the node whose bucket
/// holds a key that can move, its slot there, and the free slot (bucket,
/// slot) it can move to.
#[derive(Clone, Copy, Debug)]
struct Path {
    node: usize,
    slot: usize,
    free: (u32, usize),
}

/// The one writer of a table: the control thread owns it.
///
/// There is exactly one per table, made with the table by [`Writer::new`];
/// it is not `Clone` and every change takes `&mut self`, so the type system
/// keeps the one-writer rule. It is `Send`, to be moved to the control
/// thread. Readers come from [`Writer::reader`].
pub struct Writer {
    shared: Arc<Shared>,
    len: usize,
    clock: Tick,
    /// The next bucket [`Writer::age`] looks at.
    cursor: u32,
    /// The search queue, allocated once with the table.
    queue: Vec<Node>,
    stats: Stats,
}

impl Writer {
    /// Makes a table that holds at least `capacity` entries and returns its
    /// writer. All memory is allocated here (16 bytes a slot) and zeroed.
    ///
    /// Inserts succeed up to a load of about 95% of the slots; past that
    /// some keys find no free slot within reach.
    pub fn new(capacity: usize) -> Result<Writer, CapacityError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(CapacityError::OutOfRange(capacity));
        }
        // At least two buckets, so that every key has two distinct ones.
        let n = capacity.div_ceil(SLOTS).max(2) as u32;
        Ok(Writer {
            shared: Arc::new(Shared::new(n)),
            len: 0,
            clock: 0,
            cursor: 0,
            queue: Vec::with_capacity(SEARCH_NODES),
            stats: Stats::default(),
        })
    }

    /// A handle for readers; clone it for each worker.
    pub fn reader(&self) -> Reader {
        Reader::new(Arc::clone(&self.shared))
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots in the table: the most it could ever hold.
    pub fn slots(&self) -> usize {
        self.shared.buckets.len() * SLOTS
    }

    /// Bytes allocated for the table (buckets, counters, search queue).
    pub fn bytes(&self) -> usize {
        core::mem::size_of_val(&*self.shared.buckets)
            + core::mem::size_of::<Shared>()
            + self.queue.capacity() * core::mem::size_of::<Node>()
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The two buckets `key` may live in, primary first (for diagnostics
    /// and tests).
    pub fn buckets_of(&self, key: Key) -> [usize; 2] {
        let loc = Loc::of(key, self.shared.n);
        [loc.primary as usize, loc.alt as usize]
    }

    /// Entries that sit in their primary bucket, which readers look in
    /// first (a diagnostic: it walks the whole table).
    pub fn at_home(&self) -> usize {
        (0..self.shared.n)
            .map(|b| {
                let bucket = self.shared.bucket(b);
                let header = bucket.header();
                (0..SLOTS)
                    .filter(|&s| Bucket::tag(header, s) != 0)
                    .filter(|&s| self.primary_of(b, s) == b)
                    .count()
            })
            .sum()
    }

    /// Looks one key up, as a reader would.
    pub fn get(&self, key: Key) -> Option<Hit> {
        self.shared.get(key)
    }

    /// The clock that inserts and refreshes stamp.
    pub fn clock(&self) -> Tick {
        self.clock
    }

    /// Advances the clock that inserts and refreshes stamp, and that readers
    /// see through [`Reader::clock`].
    pub fn set_clock(&mut self, now: Tick) {
        self.clock = now;
        // Relaxed: readers use it only to decide whether to report a
        // refresh; nothing they read depends on it.
        self.shared.clock.0.store(u64::from(now), Ordering::Relaxed);
    }

    /// Where `key` is, if present.
    fn find(&self, key: Key, loc: Loc) -> Option<(u32, usize)> {
        [loc.primary, loc.alt].into_iter().find_map(|b| {
            let s = self.shared.bucket(b).find(key.raw(), loc.tag)?;
            Some((b, s))
        })
    }

    /// Inserts `key` or replaces its value, stamping it with the clock, and
    /// returns the value it replaces.
    ///
    /// A full table refuses with [`InsertError::Full`] and is left as it
    /// was; [`Stats::full`] counts the refusals.
    pub fn insert(
        &mut self,
        key: Key,
        dest: Dest,
        lifetime: Lifetime,
    ) -> Result<Option<Hit>, InsertError> {
        let Some(word) = encode(dest, lifetime) else {
            return Err(InsertError::VtepIndex(match dest {
                Dest::Remote(vtep) => vtep,
                _ => 0,
            }));
        };
        let loc = Loc::of(key, self.shared.n);
        if let Some((b, s)) = self.find(key, loc) {
            let bucket = self.shared.bucket(b);
            let old = bucket.slot(s);
            bucket.update(s, word, self.clock);
            self.stats.updated += 1;
            return Ok(Some(decode(old.dest, old.stamp)));
        }
        let Some((b, s)) = self.make_room(loc) else {
            self.stats.full += 1;
            return Err(InsertError::Full {
                len: self.len,
                slots: self.slots(),
            });
        };
        let slot = Slot {
            key: key.raw(),
            tag: loc.tag,
            dest: word,
            stamp: self.clock,
        };
        self.shared.bucket(b).fill(s, slot);
        self.len += 1;
        self.stats.inserted += 1;
        Ok(None)
    }

    /// Stamps `key` with the clock again; false when absent.
    pub fn refresh(&mut self, key: Key) -> bool {
        let loc = Loc::of(key, self.shared.n);
        let Some((b, s)) = self.find(key, loc) else {
            return false;
        };
        let bucket = self.shared.bucket(b);
        bucket.update(s, bucket.slot(s).dest, self.clock);
        self.stats.updated += 1;
        true
    }

    /// Removes `key` and returns its value, if present.
    pub fn remove(&mut self, key: Key) -> Option<Hit> {
        let loc = Loc::of(key, self.shared.n);
        let (b, s) = self.find(key, loc)?;
        let bucket = self.shared.bucket(b);
        let old = bucket.slot(s);
        bucket.clear(1 << s);
        self.len -= 1;
        self.stats.removed += 1;
        Some(decode(old.dest, old.stamp))
    }

    /// Removes learned entries older than `max_age` ticks, looking at up to
    /// `buckets` buckets from where the previous call stopped (so that a
    /// large table is aged in slices between other work). Returns the
    /// number removed.
    ///
    /// Stamps wrap at 65,536 ticks: each bucket must be visited at least
    /// once every `65,536 - max_age` ticks, or an old entry looks young.
    pub fn age(&mut self, max_age: Tick, buckets: usize) -> usize {
        let n = self.shared.n;
        let mut removed = 0;
        for _ in 0..buckets.min(n as usize) {
            let bucket = self.shared.bucket(self.cursor);
            let stale = self.stale_slots(bucket, max_age);
            if stale != 0 {
                bucket.clear(stale);
                removed += stale.count_ones() as usize;
            }
            self.cursor = if self.cursor + 1 == n {
                0
            } else {
                self.cursor + 1
            };
        }
        self.len -= removed;
        self.stats.aged += removed as u64;
        removed
    }

    /// The learned, occupied slots of `bucket` older than `max_age`.
    fn stale_slots(&self, bucket: &Bucket, max_age: Tick) -> u32 {
        let header = bucket.header();
        (0..SLOTS)
            .filter(|&s| Bucket::tag(header, s) != 0)
            .filter(|&s| {
                let slot = bucket.slot(s);
                let hit = decode(slot.dest, slot.stamp);
                hit.lifetime() == Lifetime::Learned && hit.age(self.clock) > max_age
            })
            .fold(0, |mask, s| mask | 1 << s)
    }

    /// A free slot in one of `loc`'s buckets, moving other keys to their
    /// other bucket if need be; `None` when no free slot is within reach.
    fn make_room(&mut self, loc: Loc) -> Option<(u32, usize)> {
        if let Some(s) = self.shared.bucket(loc.primary).free_slot() {
            return Some((loc.primary, s));
        }
        if let Some(s) = self.send_guest_home(loc.primary) {
            return Some((loc.primary, s));
        }
        if let Some(s) = self.shared.bucket(loc.alt).free_slot() {
            return Some((loc.alt, s));
        }
        let path = self.search(loc)?;
        Some(self.shift_path(path))
    }

    /// Frees a slot of the full bucket `b` by moving one of its guests (a
    /// key for which `b` is the alternative bucket) back to a free slot of
    /// its primary bucket, if one has room. Readers look in a key's
    /// primary bucket first, so every key kept at home saves them a cache
    /// line; without this, displacement under churn at 90% load leaves half
    /// the keys away from home.
    fn send_guest_home(&mut self, b: u32) -> Option<usize> {
        let (s, home) = (0..SLOTS).find_map(|s| {
            let home = self.primary_of(b, s);
            if home == b {
                return None;
            }
            Some((s, (home, self.shared.bucket(home).free_slot()?)))
        })?;
        self.move_key((b, s), home);
        Some(s)
    }

    /// The primary bucket of the key in slot `s` of bucket `b`.
    fn primary_of(&self, b: u32, s: usize) -> u32 {
        Loc::of(Key::from_raw(self.shared.bucket(b).key(s)), self.shared.n).primary
    }

    /// Breadth-first search from both of `loc`'s (full) buckets for a key
    /// that can move to a free slot of its other bucket.
    ///
    /// Of the shortest paths, it takes the one that leaves the most keys in
    /// their primary bucket (see [`Writer::homing`]): the first found would
    /// push a home key out as often as not, and under steady churn half the
    /// keys would end up away from home, where readers look second.
    fn search(&mut self, loc: Loc) -> Option<Path> {
        self.queue.clear();
        for bucket in [loc.primary, loc.alt] {
            self.queue.push(Node {
                bucket,
                parent: NO_PARENT,
                slot: 0,
            });
        }
        let mut head = 0;
        let mut level_end = self.queue.len();
        let mut best: Option<(i32, Path)> = None;
        while head < self.queue.len() {
            if head == level_end {
                if let Some((_, found)) = best {
                    return Some(found);
                }
                level_end = self.queue.len();
            }
            let bucket = self.queue[head].bucket;
            for s in 0..SLOTS {
                let key = Key::from_raw(self.shared.bucket(bucket).key(s));
                let target = Loc::of(key, self.shared.n).other(bucket);
                if self.on_path(head, target) {
                    continue;
                }
                if let Some(free) = self.shared.bucket(target).free_slot() {
                    let score = self.homing(loc, head, s, target);
                    if best.map_or(true, |(b, _)| score > b) {
                        let path = Path {
                            node: head,
                            slot: s,
                            free: (target, free),
                        };
                        best = Some((score, path));
                    }
                } else if best.is_none() && self.queue.len() < SEARCH_NODES {
                    self.queue.push(Node {
                        bucket: target,
                        parent: head as u16,
                        slot: s as u8,
                    });
                }
            }
            head += 1;
        }
        best.map(|(_, found)| found)
    }

    /// How many more keys a path leaves in their primary bucket than it
    /// takes out: each move counts +1 into the key's primary bucket and -1
    /// out of it, and the new key +1 when its root is its primary.
    fn homing(&self, loc: Loc, mut index: usize, slot: usize, target: u32) -> i32 {
        let into_primary = |bucket: u32, slot: usize, to: u32| {
            if self.primary_of(bucket, slot) == to {
                1
            } else {
                -1
            }
        };
        let mut score = into_primary(self.queue[index].bucket, slot, target);
        loop {
            let node = self.queue[index];
            if node.parent == NO_PARENT {
                return score + i32::from(node.bucket == loc.primary);
            }
            let parent = self.queue[usize::from(node.parent)];
            score += into_primary(parent.bucket, usize::from(node.slot), node.bucket);
            index = usize::from(node.parent);
        }
    }

    /// Whether `bucket` is already on the path from a root to node `index`;
    /// paths through distinct buckets can be shifted without surprises.
    fn on_path(&self, mut index: usize, bucket: u32) -> bool {
        loop {
            let node = self.queue[index];
            if node.bucket == bucket {
                return true;
            }
            if node.parent == NO_PARENT {
                return false;
            }
            index = usize::from(node.parent);
        }
    }

    /// Moves keys along the path found by [`Writer::search`], last first,
    /// so that each move fills the slot the previous one emptied. Returns
    /// the freed slot in the root bucket.
    fn shift_path(&mut self, path: Path) -> (u32, usize) {
        let Path {
            node: mut index,
            slot,
            free,
        } = path;
        self.move_key((self.queue[index].bucket, slot), free);
        let mut freed = (self.queue[index].bucket, slot);
        while self.queue[index].parent != NO_PARENT {
            let node = self.queue[index];
            let parent = self.queue[usize::from(node.parent)];
            let from = (parent.bucket, usize::from(node.slot));
            self.move_key(from, freed);
            freed = from;
            index = usize::from(node.parent);
        }
        freed
    }

    /// Moves one key to the free slot `to` of its other bucket: copy, then
    /// remove. Both steps change a bucket version, and the copy's header
    /// store comes first; a reader that sees the key gone from `from`
    /// (through its Acquire load of that header) therefore sees the new
    /// version of `to` when it validates, and looks again.
    fn move_key(&mut self, from: (u32, usize), to: (u32, usize)) {
        let slot = self.shared.bucket(from.0).slot(from.1);
        self.shared.bucket(to.0).fill(to.1, slot);
        self.shared.bucket(from.0).clear(1 << from.1);
        self.stats.moved += 1;
    }
}
