//! nvo-dpdk (being written).
