//! Tests of the control thread over `VecFrame`s and a recording transmitter.
