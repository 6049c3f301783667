//! `paygo ledger init|verify|setting|export|import`, and opening the ledger for the other commands.

use crate::print_json;
use clap::{Args, Subcommand, ValueEnum};
use paygo::ledger::{
    self, BundleError, ImportOptions, ImportReport, KdfParams, Ledger, LedgerError, Selection,
    Status,
};
use paygo::Error;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Create a new ledger (asks for the passphrase twice, or reads PAYGO_PASSPHRASE).
    Init,
    /// Recompute the audit hash chain and check the token invariants.
    Verify,
    /// Write units or tokens to a file: the OpenPAYGO device CSV (raw keys!), a tokens CSV
    /// for accounting, or an encrypted handover bundle for another ledger.
    Export(ExportArgs),
    /// Read units from an OpenPAYGO device CSV or a handover bundle (all or nothing).
    Import(ImportArgs),
    /// Show or change a ledger-wide setting: serial_pattern, tariffs (JSON), autolock_minutes.
    Setting {
        /// The setting's name.
        name: String,
        /// The new value; without it (and without --clear) the current one is shown.
        value: Option<String>,
        /// Remove the setting (back to the default).
        #[arg(long, conflicts_with = "value")]
        clear: bool,
    },
    /// Set the supervisor PIN (4-8 digits) that unlock, sync and set-time tokens then need.
    /// The PIN comes from --pin or PAYGO_SUPERVISOR_PIN; it is stored only as a hash.
    SupervisorPin {
        /// The new PIN.
        #[arg(long)]
        pin: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OpenPAYGO device CSV. Holds the raw device keys: keep it like a key file.
    OpenpaygoCsv,
    /// Tokens and payments, for accounting (no keys).
    TokensCsv,
    /// Encrypted handover bundle (PAYGO_BUNDLE_PASSPHRASE or prompt).
    Bundle,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// OpenPAYGO device CSV.
    OpenpaygoCsv,
    /// Encrypted handover bundle.
    Bundle,
}

#[derive(Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The file to write (refused if it exists, unless --force).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Only these units (repeatable).
    #[arg(long, value_name = "S", conflicts_with = "status")]
    serial: Vec<String>,
    /// Only units in this state.
    #[arg(long, value_name = "S")]
    status: Option<String>,
    /// Bundle: include the units' tokens.
    #[arg(long)]
    tokens: bool,
    /// Overwrite FILE.
    #[arg(long)]
    force: bool,
    /// Who exports (audit log).
    #[arg(long)]
    operator: Option<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// What the file is.
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// The file to read.
    file: PathBuf,
    /// Check everything and report what would happen; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Who imports (audit log).
    #[arg(long)]
    operator: Option<String>,
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
        LedgerCommand::SupervisorPin { pin } => {
            let pin = pin
                .or_else(|| std::env::var("PAYGO_SUPERVISOR_PIN").ok())
                .ok_or(ledger::LedgerError::BadSupervisorPin)?;
            let mut l = open_path(&path, true)?;
            l.set_supervisor_pin(&pin, None)?;
            if json {
                print_json(&serde_json::json!({"supervisor_pin": "set"}));
            } else {
                println!("supervisor PIN set");
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
        LedgerCommand::Export(a) => export(a, json, &path)?,
        LedgerCommand::Import(a) => import(a, json, &path)?,
    }
    Ok(())
}

/// Write an export file (owner-only, through a temporary file; see
/// [`ledger::write_export_file`]).
fn write_file(out: &Path, bytes: &[u8], force: bool) -> Result<(), Error> {
    Ok(ledger::write_export_file(out, bytes, force)?)
}

fn export(a: ExportArgs, json: bool, path: &Path) -> Result<(), Error> {
    let sel = if !a.serial.is_empty() {
        Selection::Serials(a.serial.clone())
    } else if let Some(s) = &a.status {
        Selection::Status(Status::parse(s)?)
    } else {
        Selection::All
    };
    if a.out.exists() && !a.force {
        return Err(Error::io(
            format!("writing {}", a.out.display()),
            "the file exists (pass --force to overwrite it)",
        ));
    }
    let op = a.operator.as_deref();
    let summary = match a.format {
        ExportFormat::TokensCsv => {
            let mut l = open_path(path, false)?;
            let (bytes, summary) = l.export_tokens_csv(&sel, op)?;
            write_file(&a.out, &bytes, a.force)?;
            summary
        }
        ExportFormat::OpenpaygoCsv => {
            let mut l = open_path(path, true)?;
            let (bytes, summary) = l.export_openpaygo_csv(&sel, op)?;
            write_file(&a.out, &bytes, a.force)?;
            if !json {
                eprintln!(
                    "warning: {} holds the raw device keys: anyone with it can make tokens for these units",
                    a.out.display()
                );
            }
            summary
        }
        ExportFormat::Bundle => {
            let mut l = Ledger::open(path, None)?;
            let pass = ledger::passphrase_from_env_or_prompt(false)?;
            l.unlock(&pass)?;
            let bundle_pass = ledger::bundle_passphrase_from_env_or_prompt(true)?;
            if bundle_pass.matches(&pass) {
                return Err(LedgerError::Bundle(BundleError::SamePassphrase).into());
            }
            let (bytes, summary) =
                l.export_bundle(&sel, a.tokens, &bundle_pass, KdfParams::DEFAULT, op)?;
            write_file(&a.out, &bytes, a.force)?;
            summary
        }
    };
    if json {
        let mut v = serde_json::to_value(&summary).map_err(|e| Error::io("JSON", e))?;
        v["out"] = serde_json::json!(a.out);
        v["exported"] = serde_json::json!(summary.serials.len());
        if a.format == ExportFormat::OpenpaygoCsv {
            v["warning"] = serde_json::json!("the file holds the raw device keys");
        }
        print_json(&v);
    } else {
        println!(
            "exported {} unit{}{} to {}",
            summary.serials.len(),
            if summary.serials.len() == 1 { "" } else { "s" },
            if summary.tokens > 0 {
                format!(" ({} tokens)", summary.tokens)
            } else {
                String::new()
            },
            a.out.display()
        );
    }
    Ok(())
}

fn import(a: ImportArgs, json: bool, path: &Path) -> Result<(), Error> {
    let data = std::fs::read(&a.file)
        .map_err(|e| Error::io(format!("reading {}", a.file.display()), e))?;
    let data = zeroize::Zeroizing::new(data);
    let mut l = open_path(path, true)?;
    let opts = ImportOptions {
        dry_run: a.dry_run,
        operator: a.operator.clone(),
        ..ImportOptions::default()
    };
    let report = match a.format {
        ImportFormat::OpenpaygoCsv => l.import_openpaygo_csv(&data, &opts)?,
        ImportFormat::Bundle => {
            let pass = ledger::bundle_passphrase_from_env_or_prompt(false)?;
            l.import_bundle(&data, &pass, &opts)?
        }
    };
    if json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &ImportReport) {
    let verb = if r.dry_run {
        "would import"
    } else {
        "imported"
    };
    println!(
        "{verb} {} unit{}{}",
        r.imported,
        if r.imported == 1 { "" } else { "s" },
        if r.tokens > 0 {
            format!(" and {} tokens", r.tokens)
        } else {
            String::new()
        }
    );
    for s in &r.skipped {
        match s.line {
            Some(line) => println!("skipped {} (line {line}): {}", s.serial, s.reason),
            None => println!("skipped {}: {}", s.serial, s.reason),
        }
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
}
