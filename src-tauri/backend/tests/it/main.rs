//! paygo's one integration-test binary.

mod cli;
mod ledger;
#[cfg(unix)]
mod ledger_crash;
mod token;
