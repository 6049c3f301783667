//! Arbitrary bytes (or edits of a valid bundle) as a handover bundle: never panics, never
//! imports anything from an altered bundle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    paygo_fuzz::import_bundle(data);
});
