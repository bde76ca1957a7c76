//! nvo's control path, without DPDK: the configuration file
//! ([`config`]) and the management socket that `nvo ctl` talks to
//! ([`mgmt`]), with the Prometheus rendering of counters.
//!
//! Everything here runs on the control thread or threads of its own; nothing
//! in this crate is meant for the data path.

#![forbid(unsafe_code)]

pub mod config;
pub mod mgmt;
pub mod plane;
