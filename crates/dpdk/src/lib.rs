//! nvo-dpdk: the only safe layer over `dpdk-sys`, and with it the only crate
//! of nvo that contains `unsafe` code (besides justified spots in the table).
//!
//! C return codes become [`Error`] here, once. Which thread may call what is
//! stated on each type: [`Eal`], [`Port`], [`Mempool`] creation and
//! [`PortEvents`] belong to the control thread; the data-path types
//! ([`Mbuf`], [`Burst`], [`RxQueue`], [`TxQueue`]) belong to one thread at a
//! time and never block, allocate on the heap or log.

pub mod burst;
pub mod eal;
pub mod error;
pub mod frame;
pub mod hash;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod queue;
pub mod vhost;

pub use burst::{Burst, Drain, BURST_SIZE};
pub use eal::{current_lcore, dpdk_version, tsc, tsc_hz, Eal, Launched};
pub use error::{Errno, Error, Result};
pub use hash::{RteHash, RteHashReader, Slot, LOOKUP_BULK_MAX};
pub use mbuf::{Mbuf, Segments};
pub use mempool::{Mempool, DEFAULT_DATA_ROOM, HEADROOM};
pub use port::{Link, Port, PortConfig, PortInfo, RssConfig, Stats};
pub use queue::{RxQueue, TxQueue};
pub use vhost::{PortEvent, PortEvents, VhostConfig};
