//! The key (domain index and MAC packed into 64 bits) and where it lives.

use core::fmt;

/// A per-switch domain index and a MAC address, packed as
/// `domain << 48 | mac`: one word, so that a slot compares it in one load.
///
/// The domain is the switch's own index of the tenant domain, not the
/// 24-bit VNI: a switch serves far fewer than 65,536 domains, and the
/// narrower index is what lets the key fit one machine word.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(u64);

const MAC_MASK: u64 = (1 << 48) - 1;

impl Key {
    /// The key of `mac` in the domain with index `domain`.
    pub const fn new(domain: u16, mac: [u8; 6]) -> Key {
        let [a, b, c, d, e, f] = mac;
        Key((domain as u64) << 48 | u64::from_be_bytes([0, 0, a, b, c, d, e, f]))
    }

    /// The key whose packed form is `raw`; every u64 is a valid key.
    pub const fn from_raw(raw: u64) -> Key {
        Key(raw)
    }

    /// The packed form, `domain << 48 | mac`.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The domain index.
    pub const fn domain(self) -> u16 {
        (self.0 >> 48) as u16
    }

    /// The MAC address.
    pub const fn mac(self) -> [u8; 6] {
        let [_, _, a, b, c, d, e, f] = (self.0 & MAC_MASK).to_be_bytes();
        [a, b, c, d, e, f]
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.mac();
        write!(
            f,
            "Key({}/{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x})",
            self.domain()
        )
    }
}

/// Where a key may live: its two candidate buckets and its signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Loc {
    /// The primary bucket: inserts try it first, lookups probe it first.
    pub(crate) primary: u32,
    /// The alternative bucket, always different from `primary`.
    pub(crate) alt: u32,
    /// The one-byte signature, never 0 (0 marks a free slot).
    pub(crate) tag: u8,
}

/// One 64×64→128-bit multiply folded back to 64 bits: the high half
/// carries every input bit into every output bit, the low half keeps the
/// low bits distinct, and the xor of the two serves both bucket indices.
#[inline]
fn mix(raw: u64) -> u64 {
    const SEED: u64 = 0x2d35_8dcc_aa6c_78a5;
    const M: u64 = 0x8bb8_4b93_962e_acc9;
    let p = u128::from(raw ^ SEED) * u128::from(M);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Maps 32 hash bits onto `0..n` by a multiply and a shift (no division),
/// so that the bucket count need not be a power of two.
#[inline]
fn reduce(bits: u32, n: u32) -> u32 {
    ((u64::from(bits) * u64::from(n)) >> 32) as u32
}

impl Loc {
    /// Where `key` lives in a table of `n >= 2` buckets.
    ///
    /// The buckets come from the two 32-bit halves of the hash, taken by
    /// their high bits; the signature is the low byte, which the reduction
    /// hardly uses, so keys sharing a bucket still differ in signature.
    #[inline]
    pub(crate) fn of(key: Key, n: u32) -> Loc {
        let h = mix(key.0);
        let primary = reduce(h as u32, n);
        let mut alt = reduce((h >> 32) as u32, n);
        if alt == primary {
            alt = if primary + 1 == n { 0 } else { primary + 1 };
        }
        let tag = (h as u8).max(1);
        Loc { primary, alt, tag }
    }

    /// The candidate bucket that is not `bucket`.
    #[inline]
    pub(crate) fn other(&self, bucket: u32) -> u32 {
        if bucket == self.primary {
            self.alt
        } else {
            self.primary
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_packs_domain_above_mac() {
        let k = Key::new(0x1234, [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
        assert_eq!(k.raw(), 0x1234_0200_5e10_2030);
        assert_eq!(k.domain(), 0x1234);
        assert_eq!(k.mac(), [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
        assert_eq!(format!("{k:?}"), "Key(4660/02:00:5e:10:20:30)");
    }

    #[test]
    fn loc_is_in_range_with_distinct_buckets_and_nonzero_tag() {
        for n in [2u32, 3, 7, 1000, 1 << 20] {
            for raw in 0..2000u64 {
                let l = Loc::of(Key::from_raw(raw.wrapping_mul(0x9e37_79b9)), n);
                assert!(l.primary < n && l.alt < n && l.primary != l.alt);
                assert_ne!(l.tag, 0);
                assert_eq!(l.other(l.primary), l.alt);
                assert_eq!(l.other(l.alt), l.primary);
            }
        }
    }

    #[test]
    fn sequential_macs_spread_over_buckets() {
        let n = 1024u32;
        let mut count = vec![0u32; n as usize];
        for i in 0..(n * 16) {
            let k = Key::new(7, [0x52, 0x54, 0, 0, (i >> 8) as u8, i as u8]);
            count[Loc::of(k, n).primary as usize] += 1;
        }
        // 16 expected per bucket; a poor mix would leave many empty or pile up.
        assert!(
            count.iter().all(|&c| c < 48),
            "max {:?}",
            count.iter().max()
        );
        assert!(count.iter().filter(|&&c| c == 0).count() < 8);
    }
}
