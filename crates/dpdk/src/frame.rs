//! [`Mbuf`] as the data plane's [`Frame`]: the pipeline in nvo-dataplane
//! forwards DPDK buffers through this impl, without knowing DPDK.
//!
//! The pipeline only ever holds exclusive, single-segment mbufs: the worker
//! drops chained frames before the pipeline sees them (see
//! [`Mbuf::is_contiguous`]), and flood copies are deep copies, never shared
//! references. Should a shared buffer reach a mutator anyway, it gets an
//! empty slice or `None`/`false`, never a write into bytes another handle
//! reads.

use dpdk_sys as sys;
use nvo_dataplane::Frame;

use crate::mbuf::Mbuf;

impl Frame for Mbuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        Mbuf::data(self)
    }

    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        Mbuf::data_mut(self).unwrap_or(&mut [])
    }

    #[inline(always)]
    fn len(&self) -> usize {
        Mbuf::len(self)
    }

    #[inline(always)]
    fn headroom(&self) -> usize {
        Mbuf::headroom(self)
    }

    #[inline(always)]
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        // Mbuf::prepend returns the new bytes only; the trait wants the
        // whole frame, new bytes first.
        Mbuf::prepend(self, n)?;
        Mbuf::data_mut(self)
    }

    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        Mbuf::adj(self, n)
    }

    #[inline(always)]
    fn trim(&mut self, n: usize) -> bool {
        Mbuf::trim(self, n)
    }

    #[inline(always)]
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        Mbuf::append(self, n)
    }

    #[inline(always)]
    fn rss_hash(&self) -> Option<u32> {
        Mbuf::rss_hash(self)
    }

    fn try_copy(&self) -> Option<Mbuf> {
        let pool = self.pool();
        // SAFETY: `pool` is the live mempool this mbuf came from (DPDK sets
        // it at allocation and it outlives its buffers); the returned
        // pointer, when not null, is a fresh mbuf whose one reference we
        // take over.
        let raw = unsafe { sys::nvo_rte_pktmbuf_alloc(pool) };
        let raw = core::ptr::NonNull::new(raw)?;
        // SAFETY: as above: a fresh, exclusively owned mbuf.
        let mut copy = unsafe { Mbuf::from_raw(raw) };
        let src = Mbuf::data(self);
        copy.append(src.len())?.copy_from_slice(src);
        Some(copy)
    }
}
