//! nvo-table (being written).
