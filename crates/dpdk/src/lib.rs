//! nvo-dpdk: the only safe layer over `dpdk-sys`, and with it the only crate
//! of nvo that contains `unsafe` code (besides justified spots in the table).
//!
//! C return codes become [`Error`] here, once. Which thread may call what is
//! stated on each type: the data-path types ([`Mbuf`], [`Burst`],
//! [`RxQueue`], [`TxQueue`]) belong to one thread at a time and never block.

pub mod eal;
pub mod error;
pub mod hash;

pub use eal::{current_lcore, tsc, tsc_hz, Eal, Launched};
pub use error::{Errno, Error, Result};
pub use hash::{RteHash, RteHashReader, Slot, LOOKUP_BULK_MAX};
