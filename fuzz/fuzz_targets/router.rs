//! libFuzzer entry for [`portico_fuzz::router`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::router(data));
