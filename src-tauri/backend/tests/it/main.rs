//! paygo's one integration-test binary.

mod cli;
mod flash;
mod token;
