//! nvo-packet: the bytes nvo reads and writes on the wire.
//!
//! Three layers, each usable alone:
//!
//! - **Wire views and representations**, one module per protocol (the layout
//!   of smoltcp's `wire`): a view such as [`ipv4::Packet`] borrows a byte
//!   slice, checks its length and the fields that decide its shape once, in
//!   `new_checked`, and afterwards no accessor can panic. An owned `Repr`
//!   parses a view and emits into one. Unknown codes (ethertypes, protocol
//!   numbers, ICMP types) stay representable as newtypes.
//! - **Overlay hot path**: [`template::Template`] prepends a prebuilt outer
//!   header (VXLAN, NVGRE or Geneve over IPv4 or IPv6) by copy and patch;
//!   [`decap::decap`] validates a received frame and says where its inner
//!   frame starts or why it must be dropped ([`DropReason`], a counter index).
//! - **Flow hashing**: [`toeplitz::Toeplitz`] is the RSS hash, table driven;
//!   [`flow`] feeds it the inner 5-tuple, falling back to L3 and then L2.
//!
//! Nothing here allocates, locks or logs, and every function may be called
//! from any thread: the types are plain data.
//!
//! The data path in a nutshell (templates and the decap config are built on
//! the control thread and published to workers):
//!
//! ```
//! use nvo_packet::{decap, flow, template, toeplitz, ethernet::MacAddr};
//!
//! let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
//! let cfg = template::Config::new(
//!     template::TunnelKind::Vxlan, a, b, MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]), 5000,
//! );
//! let t = template::Template::new(&cfg).unwrap();
//!
//! // A frame with `t.len()` bytes of room in front (an mbuf after prepend).
//! let inner = [0u8; 60];
//! let mut pkt = vec![0u8; t.len() + inner.len()];
//! pkt[t.len()..].copy_from_slice(&inner);
//! // The inner flow hash, or the NIC's RSS hash when there is one.
//! let hash = flow::hash(&toeplitz::DEFAULT, &pkt[t.len()..], flow::Symmetry::Directional);
//! t.encap(&mut pkt, hash).unwrap();
//!
//! // The receiving VTEP.
//! let rx = decap::Config::new(Some("192.0.2.2".parse().unwrap()), None);
//! let d = decap::decap(&rx, &pkt).unwrap();
//! assert_eq!((d.vni, d.inner(&pkt)), (5000, &inner[..]));
//! ```

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
pub mod checksum;
pub mod decap;
pub mod ecn;
mod error;
pub mod ethernet;
pub mod flow;
pub mod geneve;
pub mod gre;
pub mod icmpv4;
pub mod icmpv6;
mod inner;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod nvgre;
pub mod reply;
pub mod tcp;
pub mod template;
pub mod toeplitz;
pub mod udp;
pub mod vxlan;

pub use error::{DropReason, Error, Result};

/// Reads a big-endian `u16` at `at`; callers have checked the length.
#[inline(always)]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a big-endian `u32` at `at`; callers have checked the length.
#[inline(always)]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Writes a big-endian `u16` at `at`; callers have checked the length.
#[inline(always)]
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`; callers have checked the length.
#[inline(always)]
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
