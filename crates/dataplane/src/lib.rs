//! nvo-dataplane (being written).
