//! firmware-core's one integration-test binary.
// Tests may panic and index: the no-panic rules guard the device code, not its tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_arithmetic
)]

mod props;
mod siphash;
mod text;
mod vectors;
