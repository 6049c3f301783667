//! Token text in, decoder out: never panics, never breaks the count rules.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    firmware_core_fuzz::token_decode::run(data);
});
