#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aic_core::fuzzing::feedback(data));
