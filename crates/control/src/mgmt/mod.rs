//! The management socket of `nvo ctl` (being written).
