//! An owned packet buffer over `rte_mbuf`, with the per-frame accessors
//! written in Rust over the mbuf's fields so they inline into the data path
//! (the C inline helpers cannot be inlined across the FFI boundary).
//!
//! Ownership: an [`Mbuf`] owns one reference to its mbuf and drops it with
//! `rte_pktmbuf_free` (which follows chains and honours reference counts).
//! [`Mbuf::share`] takes another reference to the same buffer, for sending
//! one frame to several ports. A shared (or indirect, or externally
//! attached) buffer is read-only: every mutator checks
//! [`Mbuf::is_exclusive`] and refuses otherwise, so no two handles can write
//! or read-while-writing the same bytes.
//!
//! Segments: single-segment frames are the fast path. [`Mbuf::data`] is the
//! first segment; [`Mbuf::is_contiguous`] tells whether that is the whole
//! frame. `prepend` and `adj` work at the front of any chain (as in DPDK);
//! `append` and `trim` refuse chained frames.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, Ordering};

use dpdk_sys as sys;

/// Flags marking an mbuf whose data belongs to another buffer.
const ATTACHED: u64 = sys::RTE_MBUF_F_INDIRECT | sys::RTE_MBUF_F_EXTERNAL;

/// One owned reference to an `rte_mbuf` (possibly a chain of segments).
///
/// Send: it may move to another thread (a worker hands frames to the control
/// thread); freeing from a non-lcore thread goes to the pool's shared ring.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf {
    /// The head segment. Invariant: a live mbuf of which we own one reference.
    raw: NonNull<sys::rte_mbuf>,
}

// SAFETY: an Mbuf is the owner of one reference; the buffer lives in shared
// hugepage memory, and pool put/get and reference counts are MT-safe. Shared
// buffers are never written (see the module documentation).
unsafe impl Send for Mbuf {}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own one reference to a live mbuf chain; after the free
        // the pointer is never used again (self is going away).
        unsafe { sys::nvo_rte_pktmbuf_free(self.raw.as_ptr()) };
    }
}

impl Mbuf {
    /// Takes ownership of one reference to a raw mbuf.
    ///
    /// # Safety
    /// `raw` must point to a live mbuf (head of a valid chain) whose one
    /// reference is handed over to the new `Mbuf` (and not freed or used
    /// as owned elsewhere).
    #[inline]
    pub unsafe fn from_raw(raw: NonNull<sys::rte_mbuf>) -> Mbuf {
        Mbuf { raw }
    }

    /// Gives the reference back to C (e.g. to enqueue on a ring): the caller
    /// must free it or turn it back with [`Mbuf::from_raw`].
    #[inline]
    pub fn into_raw(self) -> NonNull<sys::rte_mbuf> {
        let raw = self.raw;
        core::mem::forget(self);
        raw
    }

    /// The raw mbuf, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.raw.as_ptr()
    }

    /// The head segment's header.
    #[inline]
    fn head(&self) -> &sys::rte_mbuf {
        // SAFETY: `raw` is live for as long as self (invariant); shared
        // buffers are never written, so no one writes it while we read.
        unsafe { self.raw.as_ref() }
    }

    /// The head segment's header, for writing. Callers check exclusivity.
    #[inline]
    fn head_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: live (invariant); the callers checked is_exclusive, so this
        // handle is the only reference to the header.
        unsafe { self.raw.as_mut() }
    }

    /// The first segment's data: the whole frame when [`is_contiguous`](Self::is_contiguous).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let m = self.head();
        // SAFETY: DPDK keeps data_off + data_len <= buf_len within the
        // buffer at buf_addr; the bytes stay valid while self holds its
        // reference and are not written while shared.
        unsafe {
            core::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    /// The first segment's data, writable; `None` when the buffer is shared.
    #[inline]
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        if !self.is_exclusive() {
            return None;
        }
        let m = self.head_mut();
        // SAFETY: as in data(), and the buffer is exclusively ours.
        Some(unsafe {
            core::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        })
    }

    /// Hints the CPU to fetch the first cache line of the data, a few frames
    /// ahead of the one being parsed. No effect off x86-64.
    #[inline]
    pub fn prefetch_data(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            let m = self.head();
            let p = m
                .buf_addr
                .cast::<u8>()
                .wrapping_add(usize::from(m.data_off));
            // SAFETY: SSE is part of the x86-64 baseline; a prefetch is only
            // a hint and never faults, whatever the address.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
            };
        }
    }

    /// The frame length over all segments (`pkt_len`).
    #[inline]
    pub fn len(&self) -> usize {
        self.head().pkt_len as usize
    }

    /// Whether the frame is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head().pkt_len == 0
    }

    /// The number of segments.
    #[inline]
    pub fn segments(&self) -> u16 {
        self.head().nb_segs
    }

    /// Whether the whole frame is in the first segment (the fast path).
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.head().nb_segs == 1
    }

    /// Free bytes in front of the data (room for [`prepend`](Self::prepend)).
    #[inline]
    pub fn headroom(&self) -> usize {
        usize::from(self.head().data_off)
    }

    /// Free bytes after the first segment's data (room for [`append`](Self::append)).
    #[inline]
    pub fn tailroom(&self) -> usize {
        let m = self.head();
        usize::from(m.buf_len) - usize::from(m.data_off) - usize::from(m.data_len)
    }

    /// Whether this handle is the only one on a buffer of its own: reference
    /// count 1, not attached to another mbuf's or an external buffer.
    #[inline]
    pub fn is_exclusive(&self) -> bool {
        // SAFETY: refcnt is a live, naturally aligned u16 that DPDK updates
        // atomically; reading it atomically is what rte_mbuf_refcnt_read does.
        let refcnt =
            unsafe { AtomicU16::from_ptr(core::ptr::addr_of_mut!((*self.raw.as_ptr()).refcnt)) };
        // Acquire pairs with the release of another handle's free, so its
        // reads of the data happen before our writes.
        refcnt.load(Ordering::Acquire) == 1 && self.head().ol_flags & ATTACHED == 0
    }

    /// Grows the frame by `n` bytes at the front and returns them (to write
    /// an outer header into). `None`, with nothing changed, when the
    /// headroom is smaller than `n` or the buffer is shared.
    #[inline]
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.headroom() || !self.is_exclusive() {
            return None;
        }
        let m = self.head_mut();
        let n16 = n as u16; // n <= data_off, a u16.
        m.data_off -= n16;
        m.data_len += n16;
        m.pkt_len += u32::from(n16);
        self.data_mut().map(|d| &mut d[..n])
    }

    /// Removes `n` bytes from the front (to strip an outer header). False,
    /// with nothing changed, when the first segment is shorter than `n` or
    /// the buffer is shared.
    #[inline]
    #[must_use = "false means nothing was removed"]
    pub fn adj(&mut self, n: usize) -> bool {
        if n > usize::from(self.head().data_len) || !self.is_exclusive() {
            return false;
        }
        let m = self.head_mut();
        let n16 = n as u16; // n <= data_len, a u16.
        m.data_off += n16;
        m.data_len -= n16;
        m.pkt_len -= u32::from(n16);
        true
    }

    /// Grows a single-segment frame by `n` bytes at the end and returns them.
    /// `None`, with nothing changed, when the tailroom is smaller, the frame
    /// is chained, or the buffer is shared.
    #[inline]
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() || !self.is_contiguous() || !self.is_exclusive() {
            return None;
        }
        let m = self.head_mut();
        let n16 = n as u16; // n <= tailroom, a u16.
        m.data_len += n16;
        m.pkt_len += u32::from(n16);
        self.data_mut().map(|d| {
            let len = d.len();
            &mut d[len - n..]
        })
    }

    /// Removes `n` bytes from the end of a single-segment frame. False, with
    /// nothing changed, when the frame is shorter, chained, or shared.
    #[inline]
    #[must_use = "false means nothing was removed"]
    pub fn trim(&mut self, n: usize) -> bool {
        if n > usize::from(self.head().data_len) || !self.is_contiguous() || !self.is_exclusive() {
            return false;
        }
        let m = self.head_mut();
        let n16 = n as u16; // n <= data_len, a u16.
        m.data_len -= n16;
        m.pkt_len -= u32::from(n16);
        true
    }

    /// The RSS hash the receiving port computed, if it did.
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        let m = self.head();
        if m.ol_flags & u64::from(sys::RTE_MBUF_F_RX_RSS_HASH) == 0 {
            return None;
        }
        // SAFETY: with RX_RSS_HASH set, the driver wrote the `rss` member of
        // the hash union; any u32 bit pattern is valid anyway.
        Some(unsafe { m.__bindgen_anon_2.hash.rss })
    }

    /// The input port the driver recorded.
    #[inline]
    pub fn port(&self) -> u16 {
        self.head().port
    }

    /// Records a port in the mbuf (e.g. the output port chosen). False when
    /// the buffer is shared (the header is common to all its handles).
    #[inline]
    #[must_use = "false means the port was not set"]
    pub fn set_port(&mut self, port: u16) -> bool {
        if !self.is_exclusive() {
            return false;
        }
        self.head_mut().port = port;
        true
    }

    /// Another handle on the same buffer, by reference count (for flooding
    /// one frame to several ports without copying). Both handles become
    /// read-only until one is dropped.
    pub fn share(&self) -> Mbuf {
        // SAFETY: the chain is live; adding one reference on each segment
        // is what the new handle's eventual free will drop again.
        unsafe { sys::nvo_rte_pktmbuf_refcnt_update(self.raw.as_ptr(), 1) };
        Mbuf { raw: self.raw }
    }

    /// The data of every segment, in order (one slice for a contiguous
    /// frame). For the slow paths that must see a chained frame whole.
    pub fn segment_data(&self) -> Segments<'_> {
        Segments {
            next: self.raw.as_ptr(),
            _frame: core::marker::PhantomData,
        }
    }

    /// Copies the whole frame, all segments, into `out` (cleared first).
    pub fn copy_to(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.len());
        for seg in self.segment_data() {
            out.extend_from_slice(seg);
        }
    }

    /// The mempool the head segment was allocated from.
    #[inline]
    pub(crate) fn pool(&self) -> *mut sys::rte_mempool {
        self.head().pool
    }

    /// The reference count of the head segment.
    pub fn refcount(&self) -> u16 {
        // SAFETY: the mbuf is live; the read is atomic in C.
        unsafe { sys::nvo_rte_mbuf_refcnt_read(self.raw.as_ptr()) }
    }
}

/// The segments of a frame, from [`Mbuf::segment_data`].
#[derive(Debug)]
pub struct Segments<'a> {
    /// The next segment to yield, null at the end.
    next: *mut sys::rte_mbuf,
    /// Borrows the frame the segments belong to.
    _frame: core::marker::PhantomData<&'a Mbuf>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // SAFETY: `next` is null or a segment of a chain the borrowed Mbuf
        // keeps alive for 'a; segments are not written while borrowed (the
        // Mbuf is borrowed shared).
        let m = unsafe { self.next.as_ref() }?;
        self.next = m.next;
        // SAFETY: as in Mbuf::data: data_off + data_len lie within the
        // segment's buffer, alive for 'a.
        Some(unsafe {
            core::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        })
    }
}
