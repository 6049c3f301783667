//! firmware-core's one integration-test binary.

mod csv;
mod props;
mod siphash;
mod text;
mod vectors;
