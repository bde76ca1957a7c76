//! A fixed-size burst of owned mbufs that lives on the stack: what rx fills,
//! what the pipeline walks, what tx drains. Dropping or clearing a burst
//! frees what it still holds with one bulk free.

use core::mem::MaybeUninit;
use core::ptr::NonNull;

use dpdk_sys as sys;

use crate::mbuf::Mbuf;
use crate::mempool::Mempool;

/// The number of frames a burst holds: DPDK's customary burst size.
pub const BURST_SIZE: usize = 32;

/// Up to [`BURST_SIZE`] owned mbufs, in order. Owned by one thread at a time.
pub struct Burst {
    /// Invariant: `frames[..len]` are initialised, owned mbufs.
    frames: [MaybeUninit<Mbuf>; BURST_SIZE],
    /// How many leading entries of `frames` are initialised.
    len: usize,
}

impl Default for Burst {
    fn default() -> Self {
        Burst::new()
    }
}

impl core::fmt::Debug for Burst {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Burst").field("len", &self.len).finish()
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Burst {
    /// An empty burst.
    #[inline]
    pub const fn new() -> Burst {
        Burst {
            frames: [const { MaybeUninit::uninit() }; BURST_SIZE],
            len: 0,
        }
    }

    /// How many frames the burst holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the burst holds no frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the burst is full.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == BURST_SIZE
    }

    /// How many more frames fit.
    #[inline]
    pub fn room(&self) -> usize {
        BURST_SIZE - self.len
    }

    /// The frames, in order.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: frames[..len] are initialised (invariant); MaybeUninit<Mbuf>
        // has Mbuf's layout.
        unsafe { core::slice::from_raw_parts(self.frames.as_ptr().cast::<Mbuf>(), self.len) }
    }

    /// The frames, in order, mutable (to rewrite headers in place).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in as_slice, and &mut self makes the borrow unique.
        unsafe {
            core::slice::from_raw_parts_mut(self.frames.as_mut_ptr().cast::<Mbuf>(), self.len)
        }
    }

    /// Adds a frame at the end; gives it back when the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == BURST_SIZE {
            return Err(m);
        }
        self.frames[self.len].write(m);
        self.len += 1;
        Ok(())
    }

    /// Takes the last frame out.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: frames[len] was initialised and is now outside the
        // initialised prefix, so it is read out exactly once.
        Some(unsafe { self.frames[self.len].assume_init_read() })
    }

    /// Takes frame `i` out, moving the last frame into its place (order is
    /// not kept). `None` when `i` is out of range.
    #[inline]
    pub fn swap_remove(&mut self, i: usize) -> Option<Mbuf> {
        if i >= self.len {
            return None;
        }
        let last = self.len - 1;
        self.as_mut_slice().swap(i, last);
        self.pop()
    }

    /// Takes every frame out, in order, leaving the burst empty. Frames the
    /// iterator does not yield are freed when it is dropped.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_> {
        let len = self.len;
        // Leak-safe: if the Drain is forgotten, the frames leak, never double-free.
        self.len = 0;
        Drain {
            burst: self,
            next: 0,
            end: len,
        }
    }

    /// Frees every frame (one bulk free).
    #[inline]
    pub fn clear(&mut self) {
        let len = self.len;
        if len == 0 {
            return;
        }
        self.len = 0;
        // SAFETY: frames[..len] were owned mbufs, laid out as *mut rte_mbuf
        // (Mbuf is a transparent NonNull); len was reset first so they are
        // never touched again; len <= 32 fits in u32.
        unsafe { sys::rte_pktmbuf_free_bulk(self.raw_ptr(), len as u32) };
    }

    /// Allocates `n` fresh mbufs from `pool` at the end of the burst, all or
    /// nothing. False when `n` exceeds the room or the pool has fewer.
    #[inline]
    pub fn alloc_from(&mut self, pool: &Mempool, n: usize) -> bool {
        if n > self.room() {
            return false;
        }
        // SAFETY: the n slots after len are free and writable as *mut
        // rte_mbuf; on success DPDK filled all n with mbufs we now own, on
        // failure it wrote nothing we own. The pool is alive (borrowed).
        let ret = unsafe {
            sys::nvo_rte_pktmbuf_alloc_bulk(pool.as_ptr(), self.raw_ptr().add(self.len), n as u32)
        };
        if ret != 0 {
            return false;
        }
        self.len += n;
        true
    }

    /// The array as C sees it: `struct rte_mbuf *[BURST_SIZE]`.
    #[inline]
    pub(crate) fn raw_ptr(&mut self) -> *mut *mut sys::rte_mbuf {
        self.frames.as_mut_ptr().cast()
    }

    /// Records that C wrote `n` more owned mbufs after the current ones.
    ///
    /// # Safety
    /// `frames[len..len + n]` must now hold live mbufs owned by this burst,
    /// and `len + n <= BURST_SIZE`.
    #[inline]
    pub(crate) unsafe fn grow(&mut self, n: usize) {
        debug_assert!(self.len + n <= BURST_SIZE);
        self.len += n;
    }

    /// Forgets the first `n` frames (C took them) and moves the rest to the
    /// front.
    ///
    /// # Safety
    /// The first `n <= len` frames must have been handed over to C.
    #[inline]
    pub(crate) unsafe fn consume_front(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        let rest = self.len - n;
        if rest > 0 && n > 0 {
            // Moving the pointers (not dropping): ownership of the remaining
            // frames moves to the front slots.
            // SAFETY: both ranges lie within the array; ptr::copy allows overlap.
            unsafe { core::ptr::copy(self.frames.as_ptr().add(n), self.frames.as_mut_ptr(), rest) };
        }
        self.len = rest;
    }
}

/// Yields a burst's frames in order; frees the ones not taken when dropped.
pub struct Drain<'a> {
    /// The drained burst (its len is already 0).
    burst: &'a mut Burst,
    /// Next index to yield.
    next: usize,
    /// One past the last owned index.
    end: usize,
}

impl Iterator for Drain<'_> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next == self.end {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // SAFETY: frames[next..end] are owned mbufs, each read out once.
        Some(unsafe { self.burst.frames[i].assume_init_read() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        let n = self.end - self.next;
        if n == 0 {
            return;
        }
        // SAFETY: frames[next..end] are owned mbufs not yet yielded; the
        // burst's len is 0 so nothing else will free them; n <= 32.
        unsafe { sys::rte_pktmbuf_free_bulk(self.burst.raw_ptr().add(self.next), n as u32) };
    }
}

// A NonNull and a `*mut rte_mbuf` must have one layout for the casts above.
const _: () = assert!(core::mem::size_of::<Mbuf>() == core::mem::size_of::<*mut sys::rte_mbuf>());
const _: () = assert!(core::mem::size_of::<Option<NonNull<sys::rte_mbuf>>>() == 8);

#[cfg(test)]
mod tests {
    use super::*;

    // Only what needs no DPDK memory: an empty burst never calls into C.
    #[test]
    fn an_empty_burst_has_full_room_and_yields_nothing() {
        let mut b = Burst::new();
        assert_eq!((b.len(), b.room()), (0, BURST_SIZE));
        assert!(b.is_empty() && !b.is_full());
        assert!(b.pop().is_none());
        assert!(b.swap_remove(0).is_none());
        assert_eq!(b.drain().count(), 0);
        assert!(b.as_slice().is_empty());
        b.clear();
    }

    #[test]
    fn a_burst_fits_in_a_few_cache_lines() {
        assert!(core::mem::size_of::<Burst>() <= BURST_SIZE * 8 + 8);
    }
}
