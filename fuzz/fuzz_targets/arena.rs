//! libFuzzer entry for [`portico_fuzz::arena`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::arena(data));
