//! libFuzzer entry for [`portico_fuzz::expression`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::expression(data));
