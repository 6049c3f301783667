//! firmware-core's one integration-test binary.

// Tests may panic: that is how they fail. The crate's deny list is for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_arithmetic
)]

mod csv;
mod props;
mod protocol;
mod siphash;
mod text;
mod vectors;
