//! The value of an entry: where frames go, and what aging needs.

use core::fmt;
use core::num::NonZeroU32;

/// A coarse clock reading in ticks of the control thread's choosing (a
/// second, say). It wraps, so ages are computed with wrapping subtraction.
pub type Tick = u16;

/// The largest remote VTEP index a value can hold (29 bits).
pub const MAX_VTEP_INDEX: u32 = (1 << 29) - 1;

/// Where frames for a key go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dest {
    /// Out of the local port with this index.
    Local(u16),
    /// Into the tunnel to the remote VTEP with this index (at most
    /// [`MAX_VTEP_INDEX`]).
    Remote(u32),
    /// Nowhere: the frame is dropped (and counted by the caller).
    Drop,
}

/// Whether an entry ages out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lifetime {
    /// Learned from traffic: removed by [`crate::Writer::age`] when not
    /// refreshed in time.
    Learned,
    /// Configured (static or from the mapping store): never aged.
    Static,
}

/// What a lookup found: eight bytes, and `Option<Hit>` too, so that a
/// burst of answers is four cache lines. The destination stays packed as
/// the slot stores it and is unpacked by [`Hit::dest`] when the caller
/// asks, since the lookup itself has no use for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    /// The slot's destination word; never 0 (see `encode`).
    word: NonZeroU32,
    stamp: Tick,
}

impl Hit {
    /// A hit as a lookup would return it, or `None` when a remote index
    /// exceeds [`MAX_VTEP_INDEX`]: for callers that keep their own copy of
    /// what the table holds.
    pub fn new(dest: Dest, lifetime: Lifetime, stamp: Tick) -> Option<Hit> {
        encode(dest, lifetime).map(|word| decode(word, stamp))
    }

    /// Where frames for the key go.
    #[inline]
    pub fn dest(&self) -> Dest {
        let word = self.word.get();
        let index = word & MAX_VTEP_INDEX;
        match word >> KIND_SHIFT {
            KIND_LOCAL => Dest::Local(index as u16),
            KIND_REMOTE => Dest::Remote(index),
            _ => Dest::Drop,
        }
    }

    /// Whether the entry ages.
    #[inline]
    pub fn lifetime(&self) -> Lifetime {
        if self.word.get() & STATIC_BIT != 0 {
            Lifetime::Static
        } else {
            Lifetime::Learned
        }
    }

    /// The writer's clock when it last inserted or refreshed the entry.
    #[inline]
    pub fn stamp(&self) -> Tick {
        self.stamp
    }

    /// Ticks since the entry was last stamped, as of `now`.
    #[inline]
    pub fn age(&self, now: Tick) -> Tick {
        now.wrapping_sub(self.stamp)
    }

    /// Whether a learned entry was stamped `after` or more ticks before
    /// `now`: the data path reports a refresh for those only, so a busy
    /// flow costs the control thread one event per `after` ticks.
    #[inline]
    pub fn needs_refresh(&self, now: Tick, after: Tick) -> bool {
        self.word.get() & STATIC_BIT == 0 && self.age(now) >= after
    }

    /// The same hit stamped `stamp`.
    pub fn restamped(self, stamp: Tick) -> Hit {
        Hit { stamp, ..self }
    }
}

impl fmt::Debug for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hit")
            .field("dest", &self.dest())
            .field("stamp", &self.stamp)
            .field("lifetime", &self.lifetime())
            .finish()
    }
}

// The destination word of a slot: two bits of kind, one bit of lifetime and
// 29 bits of index. Kind 0 never appears in a published slot, so the word
// is never 0.
const KIND_SHIFT: u32 = 30;
const KIND_LOCAL: u32 = 1;
const KIND_REMOTE: u32 = 2;
const KIND_DROP: u32 = 3;
const STATIC_BIT: u32 = 1 << 29;
const DROP_WORD: NonZeroU32 = match NonZeroU32::new(KIND_DROP << KIND_SHIFT) {
    Some(word) => word,
    None => unreachable!(),
};

/// Packs a destination and lifetime into 32 bits, or `None` when a remote
/// index does not fit.
pub(crate) fn encode(dest: Dest, lifetime: Lifetime) -> Option<u32> {
    let word = match dest {
        Dest::Local(port) => KIND_LOCAL << KIND_SHIFT | u32::from(port),
        Dest::Remote(vtep) if vtep <= MAX_VTEP_INDEX => KIND_REMOTE << KIND_SHIFT | vtep,
        Dest::Remote(_) => return None,
        Dest::Drop => KIND_DROP << KIND_SHIFT,
    };
    Some(match lifetime {
        Lifetime::Learned => word,
        Lifetime::Static => word | STATIC_BIT,
    })
}

/// Wraps a destination word. Only words that [`encode`] made are ever
/// validated by a reader, so 0 cannot occur; it reads as a learned drop
/// rather than a panic should that argument ever break.
#[inline]
pub(crate) fn decode(word: u32, stamp: Tick) -> Hit {
    Hit {
        word: NonZeroU32::new(word).unwrap_or(DROP_WORD),
        stamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for dest in [
            Dest::Local(0),
            Dest::Local(u16::MAX),
            Dest::Remote(0),
            Dest::Remote(MAX_VTEP_INDEX),
            Dest::Drop,
        ] {
            for lifetime in [Lifetime::Learned, Lifetime::Static] {
                let word = encode(dest, lifetime).unwrap();
                assert_ne!(word >> KIND_SHIFT, 0);
                let hit = decode(word, 9);
                assert_eq!(
                    (hit.dest(), hit.stamp(), hit.lifetime()),
                    (dest, 9, lifetime)
                );
                assert_eq!(Hit::new(dest, lifetime, 9), Some(hit));
            }
        }
        assert_eq!(
            encode(Dest::Remote(MAX_VTEP_INDEX + 1), Lifetime::Static),
            None
        );
    }

    #[test]
    fn a_hit_and_its_option_are_eight_bytes() {
        assert_eq!(core::mem::size_of::<Option<Hit>>(), 8);
        assert_eq!(decode(0, 1).dest(), Dest::Drop);
    }

    #[test]
    fn refresh_due_after_threshold_across_wrap() {
        let hit = decode(encode(Dest::Drop, Lifetime::Learned).unwrap(), 65530);
        assert!(!hit.needs_refresh(65535, 10));
        assert!(hit.needs_refresh(4, 10));
        assert_eq!(hit.age(4), 10);
        let pinned = Hit::new(Dest::Drop, Lifetime::Static, 65530).unwrap();
        assert!(!pinned.needs_refresh(4, 10));
    }
}
