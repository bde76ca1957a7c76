//! A safe `rte_hash` with 64-bit keys and 64-bit values, created in
//! lock-free read/write concurrency mode (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF):
//! one writer, any number of readers that never block.
//!
//! The writer is [`RteHash`] (Send, not Clone: exactly one thread adds and
//! deletes); readers are [`RteHashReader`] handles (Send + Sync + Clone).
//! DPDK's own cuckoo table is here mostly as a yardstick for nvo-table.
//!
//! In LF mode without an RCU variable, deleting a key does not free its slot:
//! a reader may still be looking at it. [`RteHash::del`] hands back the slot
//! position, and the writer frees it with [`RteHash::reclaim`] once every
//! reader has passed a quiescent point (e.g. finished the burst in flight).

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys as sys;

use crate::eal::Eal;
use crate::error::{c_name, Errno, Error, Result};

/// The most keys [`RteHashReader::lookup_bulk`] takes in one call.
pub const LOOKUP_BULK_MAX: usize = 64;

/// The table itself; freed when the writer and every reader are gone.
#[derive(Debug)]
struct Table {
    /// The rte_hash, created by rte_hash_create and freed in drop.
    raw: NonNull<sys::rte_hash>,
    /// Its name, for errors.
    name: String,
    /// Keeps EAL alive while the table lives in its memory.
    _eal: Eal,
}

// SAFETY: the table lives in DPDK shared memory, not thread-local storage;
// rte_hash in LF mode allows lookups from any thread concurrently with one
// writer, and the type system keeps writes to the single RteHash value.
unsafe impl Send for Table {}
// SAFETY: see Send: every &Table method is a lock-free lookup.
unsafe impl Sync for Table {}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rte_hash_create and this is the last owner
        // (Arc), so no reader or writer can touch it afterwards.
        unsafe { sys::rte_hash_free(self.raw.as_ptr()) };
    }
}

/// The single writer of an rte_hash of `u64 -> u64`.
#[derive(Debug)]
pub struct RteHash {
    /// The shared table.
    table: Arc<Table>,
}

/// A reader of an rte_hash: clone one per worker.
#[derive(Clone, Debug)]
pub struct RteHashReader {
    /// The shared table.
    table: Arc<Table>,
}

/// A deleted key's slot, to hand back to [`RteHash::reclaim`] once readers
/// are past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot(i32);

impl RteHash {
    /// Creates a table named `name` (unique per process, at most
    /// RTE_HASH_NAMESIZE - 1 bytes) for `entries` keys on NUMA socket
    /// `socket` (`None`: any). The default hash function of DPDK is used
    /// (CRC32 on x86).
    pub fn create(eal: &Eal, name: &str, entries: u32, socket: Option<i32>) -> Result<RteHash> {
        let c = c_name("hash", name, sys::RTE_HASH_NAMESIZE as usize - 1)?;
        let params = sys::rte_hash_parameters {
            name: c.as_ptr(),
            entries,
            reserved: 0,
            key_len: 8,
            hash_func: None,
            hash_func_init_val: 0,
            socket_id: socket.unwrap_or(sys::SOCKET_ID_ANY),
            extra_flag: sys::RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF as u8,
        };
        // SAFETY: EAL is initialised (eal exists); params and the name it
        // points to are valid for the call (DPDK copies the name).
        let raw = unsafe { sys::rte_hash_create(&params) };
        let raw = NonNull::new(raw).ok_or_else(|| Error::Hash {
            name: name.to_owned(),
            op: "rte_hash_create",
            errno: Errno::last(),
        })?;
        let table = Arc::new(Table {
            raw,
            name: name.to_owned(),
            _eal: eal.clone(),
        });
        Ok(RteHash { table })
    }

    /// A reader handle for another thread.
    pub fn reader(&self) -> RteHashReader {
        RteHashReader {
            table: Arc::clone(&self.table),
        }
    }

    /// Adds `key` with `value`, or replaces the value of an existing key.
    /// A full table is an error with ENOSPC.
    pub fn add(&mut self, key: u64, value: u64) -> Result<()> {
        // SAFETY: the table is alive (Arc); key points to 8 readable bytes
        // (key_len is 8); &mut self makes this the only writer. The value is
        // stored as a pointer-sized integer that DPDK never dereferences.
        let ret = unsafe {
            sys::rte_hash_add_key_data(
                self.table.raw.as_ptr(),
                (&key as *const u64).cast(),
                value as usize as *mut c_void,
            )
        };
        self.check(ret, "rte_hash_add_key_data").map(|_| ())
    }

    /// Deletes `key`. Returns its slot to reclaim later, or `None` if the key
    /// was absent.
    pub fn del(&mut self, key: u64) -> Result<Option<Slot>> {
        // SAFETY: as in add: live table, 8 readable key bytes, sole writer.
        let ret =
            unsafe { sys::rte_hash_del_key(self.table.raw.as_ptr(), (&key as *const u64).cast()) };
        if Errno::from_ret(ret) == Errno::ENOENT {
            return Ok(None);
        }
        self.check(ret, "rte_hash_del_key")
            .map(|pos| Some(Slot(pos)))
    }

    /// Frees the slot of a deleted key for reuse. Call it only when no reader
    /// can still be looking at that key (a reader racing with reuse may read
    /// the new key's value for the old key: memory-safe, logically wrong).
    pub fn reclaim(&mut self, slot: Slot) -> Result<()> {
        // SAFETY: live table, sole writer; DPDK validates the position.
        let ret = unsafe { sys::rte_hash_free_key_with_position(self.table.raw.as_ptr(), slot.0) };
        self.check(ret, "rte_hash_free_key_with_position")
            .map(|_| ())
    }

    /// Empties the table. Readers must not be looking at it meanwhile.
    pub fn reset(&mut self) {
        // SAFETY: live table, sole writer.
        unsafe { sys::rte_hash_reset(self.table.raw.as_ptr()) };
    }

    /// Looks `key` up (the writer may read too).
    #[inline]
    pub fn lookup(&self, key: u64) -> Option<u64> {
        lookup(&self.table, key)
    }

    /// The number of keys in the table.
    pub fn len(&self) -> usize {
        // SAFETY: live table; a count is a read.
        let n = unsafe { sys::rte_hash_count(self.table.raw.as_ptr()) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Whether the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns a negative return into an error naming the table.
    fn check(&self, ret: i32, op: &'static str) -> Result<i32> {
        if ret < 0 {
            return Err(Error::Hash {
                name: self.table.name.clone(),
                op,
                errno: Errno::from_ret(ret),
            });
        }
        Ok(ret)
    }
}

impl RteHashReader {
    /// Looks `key` up.
    #[inline]
    pub fn lookup(&self, key: u64) -> Option<u64> {
        lookup(&self.table, key)
    }

    /// Looks up `keys` (at most [`LOOKUP_BULK_MAX`]; more are ignored) in one
    /// call; `values[i]` receives the value of `keys[i]` when bit `i` of the
    /// returned mask is set. `values` must be at least as long as `keys`
    /// (extra keys beyond it are ignored).
    #[inline]
    pub fn lookup_bulk(&self, keys: &[u64], values: &mut [u64]) -> u64 {
        let n = keys.len().min(values.len()).min(LOOKUP_BULK_MAX);
        if n == 0 {
            return 0;
        }
        let mut key_ptrs = [core::ptr::null::<c_void>(); LOOKUP_BULK_MAX];
        for (p, k) in key_ptrs.iter_mut().zip(&keys[..n]) {
            *p = (k as *const u64).cast();
        }
        let mut data = [core::ptr::null_mut::<c_void>(); LOOKUP_BULK_MAX];
        let mut hits = 0u64;
        // SAFETY:
        // - the table is alive; LF mode allows lookups concurrent with the
        //   single writer;
        // - key_ptrs[..n] point to n live u64 keys, 1 <= n <= 64 (DPDK's
        //   bulk maximum); data has room for n results, hits for the mask.
        unsafe {
            sys::rte_hash_lookup_bulk_data(
                self.table.raw.as_ptr(),
                key_ptrs.as_mut_ptr(),
                n as u32,
                &mut hits,
                data.as_mut_ptr(),
            );
        }
        for (i, v) in values[..n].iter_mut().enumerate() {
            if hits & (1 << i) != 0 {
                *v = data[i] as usize as u64;
            }
        }
        hits
    }
}

/// A single lookup in a live table.
#[inline]
fn lookup(table: &Table, key: u64) -> Option<u64> {
    let mut data: *mut c_void = core::ptr::null_mut();
    // SAFETY: the table is alive; key is 8 readable bytes; data is a valid
    // out-pointer. LF mode allows this concurrently with the writer.
    let ret = unsafe {
        sys::rte_hash_lookup_data(table.raw.as_ptr(), (&key as *const u64).cast(), &mut data)
    };
    (ret >= 0).then_some(data as usize as u64)
}
