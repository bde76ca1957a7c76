//! nvo-control (being written).
