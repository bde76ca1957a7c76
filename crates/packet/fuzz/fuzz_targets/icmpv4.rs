#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nvo_packet_fuzz::icmpv4(data));
