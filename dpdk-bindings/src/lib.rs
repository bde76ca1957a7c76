//! Raw bindings to DPDK 22.11, generated at build time by bindgen over the
//! headers pkg-config finds (see `build.rs` for the allowlist), and the
//! `nvo_rte_*` exports of DPDK's static inline functions (`src/shim`).
//!
//! Nothing here is safe to call casually: use `nvo-dpdk`, the only safe
//! layer, which turns C return codes into typed errors once.
//!
//! The shim's calls cross a real function call (they cannot be inlined into
//! Rust). Per-burst calls (rx/tx, bulk alloc/free) go through it; per-frame
//! work (data pointer, lengths, headroom, RSS hash) reads `rte_mbuf` fields
//! directly in Rust.

#![no_std]

/// The generated bindings. Lints that bindgen's output trips are allowed here
/// and nowhere else.
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    unsafe_op_in_unsafe_fn,
    improper_ctypes,
    unnecessary_transmutes,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    clippy::cast_lossless,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::invalid_rust_codeblocks
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub use generated::*;
