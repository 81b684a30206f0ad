//! libFuzzer entry for [`portico_fuzz::event`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::event(data));
