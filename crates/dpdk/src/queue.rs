//! Receive and transmit queue handles: the data path's view of a port.
//!
//! Each handle is owned by exactly one thread (Send, not Sync), which is what
//! DPDK requires of a queue: rx/tx bursts on one queue must not run
//! concurrently. A handle keeps its port open; dropping it hands the queue
//! back to the [`Port`](crate::Port).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;

use dpdk_sys as sys;

use crate::burst::Burst;
use crate::port::{lock, PortShared};

/// Makes a handle Send but not Sync.
type NotSync = PhantomData<Cell<()>>;

/// What both handles hold: the ids used on every burst, and the port kept
/// open. Dropping it hands the queue back.
#[derive(Debug)]
struct Handle {
    /// Port id (hot).
    port: u16,
    /// Queue id (hot).
    queue: u16,
    /// Whether this is an rx queue (else tx).
    rx: bool,
    /// Keeps the port open while the handle lives.
    shared: Arc<PortShared>,
    /// One owner thread at a time.
    _not_sync: NotSync,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let taken = if self.rx {
            &self.shared.rx_taken
        } else {
            &self.shared.tx_taken
        };
        if let Some(t) = lock(taken).get_mut(usize::from(self.queue)) {
            *t = false;
        }
    }
}

/// A receive queue, polled by its one owner thread. It can move to a worker
/// (Send) but not be shared between threads (not Sync):
///
/// ```compile_fail
/// fn shared_between_threads<T: Sync>() {}
/// shared_between_threads::<nvo_dpdk::RxQueue>();
/// ```
#[derive(Debug)]
pub struct RxQueue(Handle);

/// A transmit queue, used by its one owner thread (Send, not Sync):
///
/// ```compile_fail
/// fn shared_between_threads<T: Sync>() {}
/// shared_between_threads::<nvo_dpdk::TxQueue>();
/// ```
#[derive(Debug)]
pub struct TxQueue(Handle);

impl RxQueue {
    /// A handle on queue `queue` (already marked taken).
    pub(crate) fn new(shared: Arc<PortShared>, queue: u16) -> RxQueue {
        RxQueue(Handle {
            port: shared.id,
            queue,
            rx: true,
            shared,
            _not_sync: PhantomData,
        })
    }

    /// The port id.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// The queue id.
    pub fn queue(&self) -> u16 {
        self.0.queue
    }

    /// Receives up to `burst.room()` frames, appended to `burst`; returns
    /// how many arrived. Never blocks.
    #[inline]
    pub fn rx_burst(&mut self, burst: &mut Burst) -> usize {
        let room = burst.room();
        if room == 0 {
            return 0;
        }
        let base = burst.len();
        // SAFETY:
        // - the port is configured with this queue and kept open by `shared`;
        //   this handle is the queue's only user (taken once, !Sync, &mut);
        // - the burst has `room` free slots after `base`, and the driver
        //   writes at most `room` (<= 32) mbuf pointers there, ownership of
        //   which passes to us.
        let n = unsafe {
            sys::nvo_rte_eth_rx_burst(
                self.0.port,
                self.0.queue,
                burst.raw_ptr().add(base),
                room as u16,
            )
        };
        let n = usize::from(n);
        // SAFETY: the driver filled exactly n slots after base, n <= room.
        unsafe { burst.grow(n) };
        n
    }
}

impl TxQueue {
    /// A handle on queue `queue` (already marked taken).
    pub(crate) fn new(shared: Arc<PortShared>, queue: u16) -> TxQueue {
        TxQueue(Handle {
            port: shared.id,
            queue,
            rx: false,
            shared,
            _not_sync: PhantomData,
        })
    }

    /// The port id.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// The queue id.
    pub fn queue(&self) -> u16 {
        self.0.queue
    }

    /// Sends the burst's frames from the front; returns how many the queue
    /// took. Those leave the burst; the ones refused stay in it, in order,
    /// for the caller to retry, count or drop (dropping the burst frees
    /// them). Never blocks.
    #[inline]
    pub fn tx_burst(&mut self, burst: &mut Burst) -> usize {
        let len = burst.len();
        if len == 0 {
            return 0;
        }
        // SAFETY:
        // - the port is configured with this queue and kept open by `shared`;
        //   this handle is the queue's only user;
        // - the first `len` slots hold owned mbufs; the driver takes
        //   ownership of the first `sent` of them and leaves the rest.
        let sent = unsafe {
            sys::nvo_rte_eth_tx_burst(self.0.port, self.0.queue, burst.raw_ptr(), len as u16)
        };
        let sent = usize::from(sent).min(len);
        // SAFETY: the first `sent` mbufs now belong to the driver.
        unsafe { burst.consume_front(sent) };
        sent
    }
}

/// Queue handles, frames and bursts must be able to move to a worker thread.
const _: () = {
    fn movable_to_a_worker<T: Send>() {}
    fn check() {
        movable_to_a_worker::<RxQueue>();
        movable_to_a_worker::<TxQueue>();
        movable_to_a_worker::<crate::Mbuf>();
        movable_to_a_worker::<Burst>();
    }
    let _ = check;
};
