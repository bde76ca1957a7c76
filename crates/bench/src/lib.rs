//! Cross-crate benchmarks that need DPDK (see benches/).
