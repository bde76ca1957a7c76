//! One bucket: a cache line of eight atomic words holding four slots.
//!
//! ```text
//! word 0     header: version (bits 0..32, odd while a slot is rewritten)
//!                    and the four one-byte signatures (bits 32..64, 0 = free)
//! words 1-4  the four keys
//! words 5-6  the four destination words, two to a word
//! word 7     the four stamps, 16 bits each
//! ```
//!
//! A slot is 15 bytes and a share of the header: 16 bytes a slot in all.

use crate::sync::{fence, spin, AtomicU64, Ordering};
use crate::value::{decode, Hit, Tick};

/// Slots in a bucket.
pub(crate) const SLOTS: usize = 4;

const HEADER: usize = 0;
const KEYS: usize = 1;
const DESTS: usize = 5;
const STAMPS: usize = 7;
const TAG_SHIFT: u32 = 32;

/// The contents of one slot as the writer moves it around.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) key: u64,
    pub(crate) tag: u8,
    pub(crate) dest: u32,
    pub(crate) stamp: Tick,
}

/// Four slots in one cache line; see the module comment for the layout.
#[cfg_attr(not(loom), repr(C, align(64)))]
pub(crate) struct Bucket {
    words: [AtomicU64; 8],
}

#[cfg(not(loom))]
const _: () = assert!(core::mem::size_of::<Bucket>() == 64);

/// A mask with bit 7 of byte `s` set for each slot `s` whose signature in
/// `header` equals `tag`. Exact (no false bytes), by the usual
/// has-zero-byte trick on `tags ^ tag×0x01010101` with the carry kept in
/// each byte.
#[inline]
fn matching(header: u64, tag: u8) -> u32 {
    let x = ((header >> TAG_SHIFT) as u32) ^ (u32::from(tag) * 0x0101_0101);
    let low7 = (x & 0x7f7f_7f7f) + 0x7f7f_7f7f;
    !(low7 | x | 0x7f7f_7f7f)
}

/// The slot of the lowest bit in a [`matching`] mask.
#[inline]
fn first(mask: u32) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

#[inline]
fn version(header: u64) -> u32 {
    header as u32
}

#[inline]
fn with_version(header: u64, version: u32) -> u64 {
    (header & !u64::from(u32::MAX)) | u64::from(version)
}

impl Bucket {
    pub(crate) fn new() -> Bucket {
        Bucket {
            words: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The address of the bucket, for prefetching.
    #[cfg(not(loom))]
    pub(crate) fn as_ptr(&self) -> *const u8 {
        (self as *const Bucket).cast()
    }

    /// The value of `key` among the slots of `mask` (a [`matching`] mask),
    /// read without validation: for [`probe_pair`], which validates.
    #[inline]
    fn search(&self, mut mask: u32, key: u64) -> Option<(u32, Tick)> {
        while mask != 0 {
            let s = first(mask);
            mask &= mask - 1;
            // Relaxed: may race with the writer; the caller's version check
            // throws away whatever a race produced.
            if self.words[KEYS + s].load(Ordering::Relaxed) == key {
                return Some(self.value(s));
            }
        }
        None
    }

    /// The destination word and stamp of slot `s`, for a reader that will
    /// validate them.
    #[inline(always)]
    fn value(&self, s: usize) -> (u32, Tick) {
        // Relaxed: validated by the caller's version check.
        let dests = self.words[DESTS + s / 2].load(Ordering::Relaxed);
        let stamps = self.words[STAMPS].load(Ordering::Relaxed);
        (
            (dests >> (32 * (s % 2))) as u32,
            (stamps >> (16 * s)) as Tick,
        )
    }

    // Writer side. Only the one `Writer` calls what follows, so its own
    // Relaxed loads see its own latest stores.

    /// The header, as the writer last stored it.
    #[inline]
    pub(crate) fn header(&self) -> u64 {
        self.words[HEADER].load(Ordering::Relaxed)
    }

    /// The signature of slot `s`, 0 when free.
    #[inline]
    pub(crate) fn tag(header: u64, s: usize) -> u8 {
        (header >> (TAG_SHIFT + 8 * s as u32)) as u8
    }

    /// The first free slot, if any.
    #[inline]
    pub(crate) fn free_slot(&self) -> Option<usize> {
        let mask = matching(self.header(), 0);
        (mask != 0).then(|| first(mask))
    }

    /// The slot holding `key`, for the writer (no validation needed).
    #[inline]
    pub(crate) fn find(&self, key: u64, tag: u8) -> Option<usize> {
        let mut mask = matching(self.header(), tag);
        while mask != 0 {
            let s = first(mask);
            mask &= mask - 1;
            if self.words[KEYS + s].load(Ordering::Relaxed) == key {
                return Some(s);
            }
        }
        None
    }

    /// The key of slot `s`.
    #[inline]
    pub(crate) fn key(&self, s: usize) -> u64 {
        self.words[KEYS + s].load(Ordering::Relaxed)
    }

    /// The whole of occupied slot `s`.
    pub(crate) fn slot(&self, s: usize) -> Slot {
        let dests = self.words[DESTS + s / 2].load(Ordering::Relaxed);
        let stamps = self.words[STAMPS].load(Ordering::Relaxed);
        Slot {
            key: self.key(s),
            tag: Self::tag(self.header(), s),
            dest: (dests >> (32 * (s % 2))) as u32,
            stamp: (stamps >> (16 * s)) as Tick,
        }
    }

    /// Writes the destination and stamp of slot `s` (not the header).
    fn write_value(&self, s: usize, dest: u32, stamp: Tick) {
        let shift = 32 * (s % 2);
        let word = &self.words[DESTS + s / 2];
        let old = word.load(Ordering::Relaxed);
        let new = (old & !(u64::from(u32::MAX) << shift)) | u64::from(dest) << shift;
        word.store(new, Ordering::Relaxed);
        let shift = 16 * s;
        let word = &self.words[STAMPS];
        let old = word.load(Ordering::Relaxed);
        let new = (old & !(u64::from(u16::MAX) << shift)) | u64::from(stamp) << shift;
        word.store(new, Ordering::Relaxed);
    }

    /// Ends a change: the next even version and the new signatures.
    #[inline]
    fn publish(&self, version: u32, tags: u64) {
        let new = (tags << TAG_SHIFT) | u64::from(version);
        debug_assert_eq!(version & 1, 0);
        // Release: a reader that loads this header (Acquire) sees every slot
        // word written before it.
        self.words[HEADER].store(new, Ordering::Release);
    }

    /// Puts `slot` into free slot `s`, in place of nothing: no odd version
    /// is needed, since no reader looks at a slot whose signature is 0.
    pub(crate) fn fill(&self, s: usize, slot: Slot) {
        let header = self.header();
        debug_assert_eq!(Self::tag(header, s), 0);
        // Release fence: orders the previous header store of this bucket
        // (the one that freed `s`, or an even later one) before the slot
        // stores, so that a reader still holding an older header, which
        // may show `s` occupied, fails its validation if it read them.
        fence(Ordering::Release);
        self.words[KEYS + s].store(slot.key, Ordering::Relaxed);
        self.write_value(s, slot.dest, slot.stamp);
        let tags = (header >> TAG_SHIFT) | u64::from(slot.tag) << (8 * s);
        self.publish(version(header).wrapping_add(2), tags);
    }

    /// Rewrites the value of occupied slot `s`, seqlock style.
    pub(crate) fn update(&self, s: usize, dest: u32, stamp: Tick) {
        let header = self.header();
        let odd = version(header).wrapping_add(1);
        // Relaxed store then Release fence: the fence orders the odd
        // version before the value stores, so a reader that read any of
        // them sees the odd version (or later) when it validates.
        self.words[HEADER].store(with_version(header, odd), Ordering::Relaxed);
        fence(Ordering::Release);
        self.write_value(s, dest, stamp);
        self.publish(odd.wrapping_add(1), header >> TAG_SHIFT);
    }

    /// Frees the slots in `slots` (a bit per slot) with one header store;
    /// their words are left as they are, unreachable.
    pub(crate) fn clear(&self, slots: u32) {
        let header = self.header();
        let mut tags = header >> TAG_SHIFT;
        for s in 0..SLOTS {
            if slots & (1 << s) != 0 {
                tags &= !(0xff << (8 * s));
            }
        }
        self.publish(version(header).wrapping_add(2), tags);
    }
}

/// Looks `key` up in its two buckets, for any thread, without writing
/// anything: a seqlock read of both buckets at once.
///
/// Both headers are loaded (Acquire), the slots read (Relaxed), then after
/// an Acquire fence both headers are loaded again (Relaxed): the answer
/// stands only if neither changed. Each bucket is then a consistent
/// snapshot, and, because the two intervals overlap, both snapshots held
/// at one same instant, so a miss is a true miss even while the key moves
/// between its buckets: every move writes both of them. See the crate
/// documentation for the argument.
///
/// The common case (no write under way, at most one signature match per
/// bucket) takes no branch that depends on where the key is: a lookup
/// whose key sits in the alternative bucket a third of the time would
/// otherwise mispredict that often.
#[inline(always)]
pub(crate) fn probe_pair(a: &Bucket, b: &Bucket, key: u64, tag: u8) -> Option<Hit> {
    loop {
        // Acquire: pairs with the writer's Release store of each header, so
        // the slot words read below are at least as new as these versions,
        // and (for `b`) so that every change the writer made to `a` before
        // the change of `b` seen here is visible to the reload of `a`.
        let ha = a.words[HEADER].load(Ordering::Acquire);
        let hb = b.words[HEADER].load(Ordering::Acquire);
        if (ha | hb) & 1 == 1 {
            spin();
            continue;
        }
        let (ma, mb) = (matching(ha, tag), matching(hb, tag));
        let found = if (ma & ma.wrapping_sub(1)) | (mb & mb.wrapping_sub(1)) == 0 {
            // At most one candidate a bucket. With no match, `first` names
            // slot 0: loading its key is harmless and `& (m != 0)` discards
            // the comparison.
            let (sa, sb) = (first(ma) % SLOTS, first(mb) % SLOTS);
            // Relaxed: validated below.
            let in_a = (ma != 0) & (a.words[KEYS + sa].load(Ordering::Relaxed) == key);
            let in_b = (mb != 0) & (b.words[KEYS + sb].load(Ordering::Relaxed) == key);
            let value = if in_a { a.value(sa) } else { b.value(sb) };
            (in_a | in_b).then_some(value)
        } else {
            a.search(ma, key).or_else(|| b.search(mb, key))
        };
        // Acquire fence: if any load above read a store that the writer made
        // after its Release fence (see `Bucket::update` and `Bucket::fill`),
        // the header store before that fence happens-before these reloads,
        // which then see a newer version, and the read is retried.
        fence(Ordering::Acquire);
        let same = (a.words[HEADER].load(Ordering::Relaxed) == ha)
            & (b.words[HEADER].load(Ordering::Relaxed) == hb);
        if same {
            return found.map(|(dest, stamp)| decode(dest, stamp));
        }
    }
}

/// Looks `key` up in bucket `a` alone. A hit, validated against `a`'s
/// version, is a true answer: the key sat in `a` with that value at some
/// instant. A miss proves nothing (the key may live in, or be moving to,
/// its other bucket), so the caller then asks [`probe_pair`].
///
/// This is the bulk lookup's first pass: most present keys sit in their
/// primary bucket, so most lookups fetch one cache line instead of two.
#[inline(always)]
pub(crate) fn probe_one(a: &Bucket, key: u64, tag: u8) -> Option<Hit> {
    loop {
        // Acquire: as in `probe_pair`.
        let ha = a.words[HEADER].load(Ordering::Acquire);
        if ha & 1 == 1 {
            spin();
            continue;
        }
        let ma = matching(ha, tag);
        let found = if ma & ma.wrapping_sub(1) == 0 {
            // At most one candidate: no branch on the data, as in
            // `probe_pair`.
            let sa = first(ma) % SLOTS;
            // Relaxed: validated below.
            let hit = (ma != 0) & (a.words[KEYS + sa].load(Ordering::Relaxed) == key);
            hit.then(|| a.value(sa))
        } else {
            a.search(ma, key)
        };
        // Acquire fence and Relaxed reload: as in `probe_pair`. A miss needs
        // no validation, since the caller probes again.
        fence(Ordering::Acquire);
        if a.words[HEADER].load(Ordering::Relaxed) == ha {
            return found.map(|(dest, stamp)| decode(dest, stamp));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{encode, Dest, Lifetime};

    #[test]
    fn matching_is_exact_per_byte() {
        let header = 0x00_7f_80_01u64 << 32;
        assert_eq!(matching(header, 0x01), 0x80);
        assert_eq!(matching(header, 0x80), 0x8000);
        assert_eq!(matching(header, 0x7f), 0x80_0000);
        assert_eq!(matching(header, 0x00), 0x8000_0000);
        assert_eq!(matching(0, 0), 0x8080_8080);
        assert_eq!(matching(u64::MAX, 0xff), 0x8080_8080);
        assert_eq!(matching(0x0100_0000u64 << 32, 0), 0x0080_8080);
    }

    #[test]
    fn fill_update_clear_keep_the_version_even_and_growing() {
        let (b, other) = (Bucket::new(), Bucket::new());
        let probe = |key, tag| probe_pair(&other, &b, key, tag);
        let dest = encode(Dest::Local(3), Lifetime::Learned).unwrap();
        let slot = Slot {
            key: 42,
            tag: 7,
            dest,
            stamp: 5,
        };
        b.fill(2, slot);
        assert_eq!(probe(42, 7).map(|h| h.dest()), Some(Dest::Local(3)));
        assert_eq!(probe(42, 8), None);
        assert_eq!(b.find(42, 7), Some(2));
        assert_eq!(b.free_slot(), Some(0));
        b.update(2, encode(Dest::Drop, Lifetime::Static).unwrap(), 9);
        let hit = probe(42, 7).unwrap();
        assert_eq!(
            (hit.dest(), hit.stamp(), hit.lifetime()),
            (Dest::Drop, 9, Lifetime::Static)
        );
        assert_eq!(version(b.header()), 4);
        b.clear(1 << 2);
        assert_eq!(probe(42, 7), None);
        assert_eq!(version(b.header()), 6);
        assert_eq!(b.header() >> TAG_SHIFT, 0);
    }
}
