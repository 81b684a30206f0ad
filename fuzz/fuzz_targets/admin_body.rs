//! libFuzzer entry for [`portico_fuzz::admin_body`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::admin_body(data));
