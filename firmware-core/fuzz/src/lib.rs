//! Fuzz target bodies for firmware-core, as plain functions.
//!
//! Each `run(data)` turns arbitrary bytes into a scenario, drives the public API and panics
//! when an invariant breaks. libFuzzer calls them from `fuzz_targets/`; the tests below call
//! them on generated inputs, so the same checks run under `cargo test` on stable.

pub mod token_decode;
pub mod uart;
