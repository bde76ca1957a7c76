//! Pools of packet mbufs (`rte_pktmbuf_pool_create`).
//!
//! A [`Mempool`] is a cheap, cloneable handle (an `Arc`): ports keep a clone
//! for the rx queues they fill from it. When the last handle goes away the
//! pool is freed, unless mbufs from it are still out (in a burst, a queue, a
//! ring): then it is leaked, with its EAL handle, so that freeing those mbufs
//! later stays sound. A leak is logged; it means a port or burst outlived
//! its pool, which only happens at shutdown.

use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys as sys;

use crate::eal::Eal;
use crate::error::{c_name, Errno, Error, Result};
use crate::mbuf::Mbuf;

/// The default data room of an mbuf: 2048 bytes of frame plus the headroom.
pub const DEFAULT_DATA_ROOM: u16 = sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

/// The headroom DPDK reserves in front of received data (128 bytes here):
/// room to prepend outer headers without copying.
pub const HEADROOM: u16 = sys::RTE_PKTMBUF_HEADROOM as u16;

/// The pool itself; see the module documentation for its drop.
#[derive(Debug)]
struct Pool {
    /// The rte_mempool from rte_pktmbuf_pool_create.
    raw: NonNull<sys::rte_mempool>,
    /// Its name.
    name: String,
    /// Keeps EAL alive while the pool's memory is in use.
    eal: Eal,
}

// SAFETY: an rte_mempool lives in shared hugepage memory and its get/put
// operations (ring_mp_mc, the default ops) are multi-producer and
// multi-consumer safe; per-lcore caches are indexed by the caller's lcore id.
unsafe impl Send for Pool {}
// SAFETY: as for Send; &Pool only reads counters or allocates, both MT-safe.
unsafe impl Sync for Pool {}

impl Drop for Pool {
    fn drop(&mut self) {
        let in_use = in_use(self.raw);
        if in_use != 0 {
            log::warn!(
                "mempool {:?} leaked: {in_use} mbufs still out when its last handle went",
                self.name
            );
            std::mem::forget(self.eal.clone());
            return;
        }
        // SAFETY: `raw` came from rte_pktmbuf_pool_create; no handle is left
        // and no mbuf is out, so nothing references the pool any more.
        unsafe { sys::rte_mempool_free(self.raw.as_ptr()) };
    }
}

/// A pool of packet mbufs. Allocation is safe from any thread (lcores use a
/// per-lcore cache; other threads go to the shared ring).
#[derive(Clone, Debug)]
pub struct Mempool {
    /// The shared pool.
    pool: Arc<Pool>,
}

impl Mempool {
    /// Creates a pool named `name` (unique per process, at most
    /// RTE_MEMPOOL_NAMESIZE - 1 bytes) of `count` mbufs (best as 2^q - 1),
    /// with a per-lcore cache of `cache` mbufs and `data_room` bytes of
    /// buffer per mbuf, headroom included ([`DEFAULT_DATA_ROOM`] for
    /// standard frames), on NUMA socket `socket` (`None`: any).
    pub fn create(
        eal: &Eal,
        name: &str,
        count: u32,
        cache: u32,
        data_room: u16,
        socket: Option<i32>,
    ) -> Result<Mempool> {
        let c = c_name("mempool", name, sys::RTE_MEMPOOL_NAMESIZE as usize - 1)?;
        // SAFETY: EAL is initialised (eal exists); the name is a valid C
        // string for the call (DPDK copies it); DPDK validates the sizes.
        let raw = unsafe {
            sys::rte_pktmbuf_pool_create(
                c.as_ptr(),
                count,
                cache,
                0,
                data_room,
                socket.unwrap_or(sys::SOCKET_ID_ANY),
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| Error::MempoolCreate {
            name: name.to_owned(),
            count,
            data_room,
            errno: Errno::last(),
        })?;
        log::debug!("mempool {name:?}: {count} mbufs of {data_room} bytes");
        Ok(Mempool {
            pool: Arc::new(Pool {
                raw,
                name: name.to_owned(),
                eal: eal.clone(),
            }),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.pool.name
    }

    /// The raw pool, for rx queue setup.
    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.pool.raw.as_ptr()
    }

    /// Mbufs available for allocation (approximate while others allocate).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is alive (Arc); counting is a read of its ring and
        // caches.
        unsafe { sys::rte_mempool_avail_count(self.pool.raw.as_ptr()) }
    }

    /// Mbufs allocated and not yet freed (approximate likewise).
    pub fn in_use(&self) -> u32 {
        in_use(self.pool.raw)
    }

    /// The total number of mbufs of the pool.
    pub fn capacity(&self) -> u32 {
        // SAFETY: the pool is alive; `size` is set at creation and constant.
        unsafe { (*self.pool.raw.as_ptr()).size }
    }

    /// The data room of each mbuf (headroom included).
    pub fn data_room(&self) -> u16 {
        // SAFETY: the pool is alive and is a pktmbuf pool (made by create).
        unsafe { sys::nvo_rte_pktmbuf_data_room_size(self.pool.raw.as_ptr()) }
    }

    /// Allocates one mbuf (reset: empty, headroom [`HEADROOM`]), or `None`
    /// when the pool is empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is alive; allocation is MT-safe (module docs).
        let m = unsafe { sys::nvo_rte_pktmbuf_alloc(self.pool.raw.as_ptr()) };
        // SAFETY: a non-null result is a fresh mbuf that we now own alone.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Allocates one mbuf holding a copy of `frame`; `None` when the pool is
    /// empty or the frame is longer than the data room after the headroom.
    pub fn alloc_with(&self, frame: &[u8]) -> Option<Mbuf> {
        let mut m = self.alloc()?;
        m.append(frame.len())?.copy_from_slice(frame);
        Some(m)
    }

    /// Allocates `n` mbufs at once into `burst` (all or nothing: false and
    /// nothing added when the pool has fewer, or the burst less room).
    #[inline]
    pub fn alloc_into(&self, burst: &mut crate::burst::Burst, n: usize) -> bool {
        burst.alloc_from(self, n)
    }
}

/// rte_mempool_in_use_count of a live pool.
fn in_use(raw: NonNull<sys::rte_mempool>) -> u32 {
    // SAFETY: callers hold the pool alive; counting is a read.
    unsafe { sys::rte_mempool_in_use_count(raw.as_ptr()) }
}
