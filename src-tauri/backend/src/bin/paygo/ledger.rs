//! `paygo ledger init|verify|setting`, and opening the ledger for the other commands.

use crate::print_json;
use clap::Subcommand;
use paygo::ledger::{self, KdfParams, Ledger, LedgerError};
use paygo::Error;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Create a new ledger (asks for the passphrase twice, or reads PAYGO_PASSPHRASE).
    Init,
    /// Recompute the audit hash chain and check the token invariants.
    Verify,
    /// Show or change a ledger-wide setting (serial_pattern).
    Setting {
        /// The setting's name.
        name: String,
        /// The new value; without it (and without --clear) the current one is shown.
        value: Option<String>,
        /// Remove the setting (back to the default).
        #[arg(long, conflicts_with = "value")]
        clear: bool,
    },
}

/// The ledger path: `--ledger FILE` or the default in the user's data directory.
pub fn path(arg: Option<PathBuf>) -> Result<PathBuf, Error> {
    match arg {
        Some(p) => Ok(p),
        None => Ok(ledger::default_path()?),
    }
}

/// Open the ledger; with `unlock`, ask for the passphrase (env or prompt).
pub fn open(arg: Option<PathBuf>, unlock: bool) -> Result<Ledger, Error> {
    let path = path(arg)?;
    open_path(&path, unlock)
}

fn open_path(path: &Path, unlock: bool) -> Result<Ledger, Error> {
    // Check the file before asking for a passphrase nobody can use.
    let mut l = Ledger::open(path, None)?;
    if unlock {
        let pass = ledger::passphrase_from_env_or_prompt(false)?;
        l.unlock(&pass)?;
    }
    Ok(l)
}

pub fn run(command: LedgerCommand, json: bool, ledger_arg: Option<PathBuf>) -> Result<(), Error> {
    let path = path(ledger_arg)?;
    match command {
        LedgerCommand::Init => {
            if path.exists() {
                return Err(LedgerError::AlreadyExists(path).into());
            }
            let pass = ledger::passphrase_from_env_or_prompt(true)?;
            Ledger::create(&path, &pass, KdfParams::DEFAULT)?;
            if json {
                print_json(&serde_json::json!({"created": path, "schema": ledger::SCHEMA_VERSION}));
            } else {
                println!("created {}", path.display());
            }
        }
        LedgerCommand::Setting { name, value, clear } => {
            if value.is_some() || clear {
                let mut l = open_path(&path, false)?;
                l.set_setting(&name, value.as_deref(), None)?;
            }
            let l = open_path(&path, false)?;
            let current = l.setting(&name)?;
            if json {
                print_json(&serde_json::json!({"name": name, "value": current}));
            } else {
                println!("{name} = {}", current.as_deref().unwrap_or("(default)"));
            }
        }
        LedgerCommand::Verify => {
            let l = open_path(&path, false)?;
            let report = l.verify()?;
            if !report.ok {
                let list: Vec<String> = report
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.code, p.message))
                    .collect();
                return Err(LedgerError::VerifyFailed(list.join("; ")).into());
            }
            if json {
                print_json(&report);
            } else {
                println!(
                    "OK: {} audit rows, {} tokens, {} units",
                    report.audit_rows, report.tokens, report.units
                );
            }
        }
    }
    Ok(())
}
