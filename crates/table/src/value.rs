//! The value of an entry: where frames go, and what aging needs.

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

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Where frames for the key go.
    pub dest: Dest,
    /// The writer's clock when it last inserted or refreshed the entry.
    pub stamp: Tick,
    /// Whether the entry ages.
    pub lifetime: Lifetime,
}

impl Hit {
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
        self.lifetime == Lifetime::Learned && self.age(now) >= after
    }
}

// The destination word of a slot: two bits of kind, one bit of lifetime and
// 29 bits of index. Kind 0 never appears in a published slot.
const KIND_SHIFT: u32 = 30;
const KIND_LOCAL: u32 = 1;
const KIND_REMOTE: u32 = 2;
const KIND_DROP: u32 = 3;
const STATIC_BIT: u32 = 1 << 29;

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

/// Unpacks a destination word. Only words that [`encode`] made are ever
/// validated by a reader, so kind 0 cannot occur; it reads as a drop rather
/// than a panic should that argument ever break.
#[inline]
pub(crate) fn decode(word: u32, stamp: Tick) -> Hit {
    let index = word & MAX_VTEP_INDEX;
    let dest = match word >> KIND_SHIFT {
        KIND_LOCAL => Dest::Local(index as u16),
        KIND_REMOTE => Dest::Remote(index),
        _ => Dest::Drop,
    };
    let lifetime = if word & STATIC_BIT != 0 {
        Lifetime::Static
    } else {
        Lifetime::Learned
    };
    Hit {
        dest,
        stamp,
        lifetime,
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
                assert_eq!(
                    decode(word, 9),
                    Hit {
                        dest,
                        stamp: 9,
                        lifetime
                    }
                );
            }
        }
        assert_eq!(
            encode(Dest::Remote(MAX_VTEP_INDEX + 1), Lifetime::Static),
            None
        );
    }

    #[test]
    fn refresh_due_after_threshold_across_wrap() {
        let hit = decode(encode(Dest::Drop, Lifetime::Learned).unwrap(), 65530);
        assert!(!hit.needs_refresh(65535, 10));
        assert!(hit.needs_refresh(4, 10));
        assert_eq!(hit.age(4), 10);
        let pinned = Hit {
            lifetime: Lifetime::Static,
            ..hit
        };
        assert!(!pinned.needs_refresh(4, 10));
    }
}
