//! firmware-core's one integration-test binary.
//!
//! The crate's no-panic lints guard device code; tests assert by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_arithmetic
)]

mod app;
mod payg;
mod props;
mod protocol;
mod siphash;
mod storage;
mod text;
mod vectors;
