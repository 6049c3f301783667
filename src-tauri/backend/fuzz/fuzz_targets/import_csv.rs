//! Arbitrary bytes as an OpenPAYGO device CSV: never panics, never imports part of a file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    paygo_fuzz::import_csv(data);
});
