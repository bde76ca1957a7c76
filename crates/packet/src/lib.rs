//! nvo-packet (being written).
