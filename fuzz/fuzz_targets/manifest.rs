//! libFuzzer entry for [`portico_fuzz::manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::manifest(data));
