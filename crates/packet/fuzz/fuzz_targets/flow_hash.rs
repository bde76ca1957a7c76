#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nvo_packet_fuzz::flow_hash(data));
