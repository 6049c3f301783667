//! paygo's one integration-test binary.

mod admin;
mod cli;
#[cfg(feature = "flash")]
mod flash;
mod ledger;
mod ledger_cli;
#[cfg(unix)]
mod ledger_crash;
#[cfg(unix)]
mod station;
mod support;
mod token;
mod transfer;
mod transfer_cli;
mod transfer_fuzz;
