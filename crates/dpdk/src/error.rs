//! The one error type of nvo-dpdk: every C return code becomes a variant here,
//! at the call site that produced it, with the value that was refused.

use core::fmt;
use std::ffi::CStr;

use dpdk_sys as sys;

/// A DPDK or libc error number, always positive (DPDK returns `-errno` or sets
/// `rte_errno`; both end up here as the positive code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// No such entry (a key, a device).
    pub const ENOENT: Errno = Errno(2);
    /// Try again.
    pub const EAGAIN: Errno = Errno(11);
    /// Out of (hugepage) memory.
    pub const ENOMEM: Errno = Errno(12);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// Already exists (a name in use).
    pub const EEXIST: Errno = Errno(17);
    /// No such device.
    pub const ENODEV: Errno = Errno(19);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// No space left (a full table).
    pub const ENOSPC: Errno = Errno(28);
    /// Not supported by this device.
    pub const ENOTSUP: Errno = Errno(95);
    /// No buffer space.
    pub const ENOBUFS: Errno = Errno(105);

    /// The calling thread's `rte_errno`.
    pub(crate) fn last() -> Errno {
        // SAFETY: reads a thread-local integer; no pointer or EAL state involved.
        Errno(unsafe { sys::nvo_rte_errno() })
    }

    /// Turns a negative return code into its positive errno.
    pub(crate) fn from_ret(ret: i32) -> Errno {
        Errno(ret.saturating_abs())
    }

    /// Whether trying again later may succeed (a resource is busy or
    /// temporarily short), as opposed to a configuration that can never work.
    pub fn is_retryable(self) -> bool {
        matches!(self, Errno::EAGAIN | Errno::EBUSY | Errno::ENOBUFS)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: rte_strerror accepts any integer and returns a pointer to a
        // NUL-terminated string, static or in a thread-local buffer; it is
        // copied out before this thread can call rte_strerror again.
        let text = unsafe { CStr::from_ptr(sys::rte_strerror(self.0)) };
        write!(f, "{} (errno {})", text.to_string_lossy(), self.0)
    }
}

/// Everything that can go wrong on the control path of nvo-dpdk. Data-path
/// functions (rx/tx bursts, mbuf accessors) do not return errors: they return
/// counts and `Option`s.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `Eal::init` was called again in this process: DPDK supports one
    /// initialisation per process, and none after cleanup.
    #[error("EAL was already {0} in this process; it can be initialised once per process")]
    EalOnce(&'static str),
    /// `rte_eal_init` refused the argument list.
    #[error("EAL initialisation with {args:?} failed: {errno}")]
    EalInit {
        /// The arguments given, program name first.
        args: Vec<String>,
        /// Why.
        errno: Errno,
    },
    /// A string meant for C contains a NUL byte.
    #[error("{what} {value:?} contains a NUL byte")]
    Nul {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// A name is longer than DPDK's fixed-size name field allows.
    #[error("{what} name {name:?} is {len} bytes long; DPDK allows at most {max}")]
    NameTooLong {
        /// What is being named (mempool, hash, ring).
        what: &'static str,
        /// The name.
        name: String,
        /// Its length.
        len: usize,
        /// The limit (without the NUL).
        max: usize,
    },
    /// An lcore is not enabled, is the main lcore, or is busy.
    #[error("lcore {lcore} cannot run work: {reason}")]
    Lcore {
        /// The lcore id.
        lcore: u32,
        /// Why not.
        reason: &'static str,
    },
    /// Work launched on an lcore panicked.
    #[error("the work launched on lcore {lcore} panicked")]
    WorkerPanicked {
        /// The lcore id.
        lcore: u32,
    },
    /// A mempool could not be created.
    #[error("cannot create mempool {name:?} of {count} mbufs with {data_room} bytes of data room: {errno}")]
    MempoolCreate {
        /// Pool name.
        name: String,
        /// Requested mbuf count.
        count: u32,
        /// Requested data room per mbuf.
        data_room: u16,
        /// Why (ENOMEM: not enough hugepage memory; EEXIST: name taken).
        errno: Errno,
    },
    /// A ring could not be created.
    #[error("cannot create ring {name:?} of {count} slots: {errno}")]
    RingCreate {
        /// Ring name.
        name: String,
        /// Requested size.
        count: u32,
        /// Why.
        errno: Errno,
    },
    /// No port has this id.
    #[error("no ethdev port has id {port}")]
    NoSuchPort {
        /// The id given.
        port: u16,
    },
    /// Another `Port` already wraps this port id.
    #[error("port {port} ({name}) is already open in this process")]
    PortInUse {
        /// The id.
        port: u16,
        /// Its name.
        name: String,
    },
    /// No port has this name.
    #[error("no ethdev port is named {name:?}")]
    PortNotFound {
        /// The name given.
        name: String,
    },
    /// `rte_dev_probe` refused a devargs string.
    #[error("probing device {devargs:?} failed: {errno}")]
    Probe {
        /// The devargs given.
        devargs: String,
        /// Why.
        errno: Errno,
    },
    /// An ethdev call on a port failed.
    #[error("{op} on port {port} ({name}) failed: {errno}")]
    Port {
        /// Port id.
        port: u16,
        /// Port name.
        name: String,
        /// The operation, e.g. `rte_eth_dev_configure`.
        op: &'static str,
        /// Why.
        errno: Errno,
    },
    /// A requested setting is beyond what the device reports it can do.
    #[error("port {port} ({name}): {what} {requested:#x} is beyond the device's capability {supported:#x}")]
    Unsupported {
        /// Port id.
        port: u16,
        /// Port name.
        name: String,
        /// What was asked (rx queues, rx offloads, RSS hash functions...).
        what: &'static str,
        /// The value asked for.
        requested: u64,
        /// What the device supports (a maximum or a capability mask).
        supported: u64,
    },
    /// A port still has queue handles out, so it cannot be stopped or closed.
    #[error("port {port}: {count} queue handle(s) still in use; drop them before {op}")]
    QueuesInUse {
        /// Port id.
        port: u16,
        /// How many handles are out.
        count: usize,
        /// What was attempted.
        op: &'static str,
    },
    /// A queue does not exist or its handle was already taken.
    #[error("port {port}: {dir} queue {queue} {reason}")]
    Queue {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queue id.
        queue: u16,
        /// Why it cannot be handed out.
        reason: &'static str,
    },
    /// An rte_hash call failed.
    #[error("hash table {name:?}: {op} failed: {errno}")]
    Hash {
        /// Table name.
        name: String,
        /// The operation.
        op: &'static str,
        /// Why (ENOSPC: full).
        errno: Errno,
    },
    /// A vhost or virtio device call failed.
    #[error("vhost port {port}: {op} failed: {errno}")]
    Vhost {
        /// Port id.
        port: u16,
        /// The operation.
        op: &'static str,
        /// Why.
        errno: Errno,
    },
}

impl Error {
    /// Whether the same call may succeed later without a configuration change
    /// (a busy device, a pool or table momentarily short).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::EalInit { errno, .. }
            | Error::MempoolCreate { errno, .. }
            | Error::Probe { errno, .. }
            | Error::Port { errno, .. }
            | Error::Vhost { errno, .. } => errno.is_retryable(),
            Error::Hash { errno, .. } => errno.is_retryable() || *errno == Errno::ENOSPC,
            Error::QueuesInUse { .. } => true,
            Error::Lcore { reason, .. } => *reason == LCORE_BUSY,
            _ => false,
        }
    }
}

/// The reason given when an lcore is running other work.
pub(crate) const LCORE_BUSY: &str = "it is running other work";

/// Result with this crate's error.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Copies `name` into a C string after checking DPDK's length limit `max`
/// (bytes, without the NUL).
pub(crate) fn c_name(what: &'static str, name: &str, max: usize) -> Result<std::ffi::CString> {
    if name.len() > max {
        return Err(Error::NameTooLong {
            what,
            name: name.to_owned(),
            len: name.len(),
            max,
        });
    }
    std::ffi::CString::new(name).map_err(|_| Error::Nul {
        what,
        value: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_short_resources_are_retryable_bad_values_are_not() {
        assert!(Errno::EAGAIN.is_retryable());
        assert!(Errno::EBUSY.is_retryable());
        assert!(!Errno::EINVAL.is_retryable());
        assert!(!Errno::ENOTSUP.is_retryable());
        let full = Error::Hash {
            name: "t".into(),
            op: "add",
            errno: Errno::ENOSPC,
        };
        assert!(full.is_retryable());
        let bad = Error::NoSuchPort { port: 9 };
        assert!(!bad.is_retryable());
    }

    #[test]
    fn messages_name_the_bad_value() {
        assert!(Error::NoSuchPort { port: 977 }.to_string().contains("977"));
        let e = Error::Probe {
            devargs: "net_bogus0".into(),
            errno: Errno::ENODEV,
        };
        let text = e.to_string();
        assert!(
            text.contains("net_bogus0") && text.contains("errno 19"),
            "{text}"
        );
    }

    #[test]
    fn the_dpdk_version_is_known_without_eal() {
        assert!(
            crate::dpdk_version().starts_with("DPDK "),
            "{}",
            crate::dpdk_version()
        );
    }

    #[test]
    fn names_are_checked_for_length_and_nul() {
        assert!(c_name("ring", "abc", 3).is_ok());
        assert!(matches!(
            c_name("ring", "abcd", 3),
            Err(Error::NameTooLong { len: 4, max: 3, .. })
        ));
        assert!(matches!(c_name("ring", "a\0", 3), Err(Error::Nul { .. })));
    }
}
