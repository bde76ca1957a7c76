//! nvo-dataplane: the forwarding pipeline of one worker core, with no DPDK
//! in sight.
//!
//! - [`frame::Frame`] is what the pipeline forwards: DPDK's mbuf in the
//!   switch, a `Vec` in tests and benches.
//! - [`state::Snapshot`] is the slowly changing state (ports, domains,
//!   tunnels and their outer headers) the control thread publishes and
//!   the workers pick up between bursts.
//! - [`pipeline::Pipeline`] forwards a burst: classify, bulk table lookup,
//!   learn, then deliver, encapsulate or flood; it leaves frames in
//!   per-port outputs for the worker to transmit.
//! - [`counters::Counters`] are the worker's counters, [`events`] its
//!   queues to the control thread.
//!
//! Threads: a `Pipeline` belongs to one worker; the `Snapshot` publisher,
//! the table writer and the event consumer are the control thread.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod classify;
pub mod counters;
pub mod events;
pub mod frame;
pub mod mtu;
pub mod pipeline;
pub mod state;

pub use counters::{Counters, Discard, Totals};
pub use frame::{Frame, VecFrame};
pub use pipeline::{Pipeline, BURST};
pub use state::Snapshot;

#[cfg(test)]
mod tests;
