//! paygo's one integration-test binary.

mod cli;
mod flash;
mod ledger;
mod ledger_cli;
#[cfg(unix)]
mod ledger_crash;
#[cfg(unix)]
mod station;
mod token;
