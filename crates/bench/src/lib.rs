//! Cross-crate benchmarks that need DPDK: see benches/. The library itself
//! is empty; the inputs the benchmarks share with nvo-table's own live in
//! crates/table/benches/inputs.rs.

#![forbid(unsafe_code)]
