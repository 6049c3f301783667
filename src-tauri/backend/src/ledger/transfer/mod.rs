//! Moving units in and out of the ledger: the OpenPAYGO device CSV (both ways), a tokens and
//! payments CSV for accounting, and an encrypted handover bundle between two ledgers.
//!
//! Imports are all or nothing: every row is checked (all problems are reported, with line
//! numbers for CSV), then everything is written in one IMMEDIATE transaction. A serial already
//! in the ledger is skipped when the incoming unit is identical (same key, starting code,
//! count, divider, restricted mode) and refused otherwise; a count is never changed.

mod bundle;
mod opcsv;

pub use bundle::{BundleError, BundleLimits, BUNDLE_MAGIC};

use super::{audit, load_unit, LedgerError, Passphrase, Status};
use super::{KdfParams, Ledger, NewUnit, Result};
use firmware_core::token::Key;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;
use std::ops::ControlFlow;
use zeroize::Zeroizing;

/// Which units an export covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every unit except those still being provisioned.
    #[default]
    All,
    /// These serials (each must exist and not be provisioning).
    Serials(Vec<String>),
    /// Units in this state.
    Status(Status),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSummary {
    /// `openpaygo-csv`, `tokens-csv` or `bundle`.
    pub format: &'static str,
    /// Units covered, by serial.
    pub serials: Vec<String>,
    /// Token rows written (tokens CSV, or bundle with tokens).
    pub tokens: usize,
    /// Bundle id (random, logged on both sides of a handover).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
}

/// Options for an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Check everything and report what would happen; write nothing.
    pub dry_run: bool,
    /// Who imports (audit actor).
    pub operator: Option<String>,
    /// Bundle only: the most expensive key derivation a bundle header may ask for.
    pub limits: BundleLimits,
}

/// Which part of an import a [`ImportProgress`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportPhase {
    /// Comparing each incoming unit with the ledger (duplicates, conflicts).
    Check,
    /// Writing the new units (inside the transaction; stopping rolls everything back).
    Write,
}

/// Where an import stands, passed to the progress callback of
/// [`Ledger::import_openpaygo_csv_with_progress`] / [`Ledger::import_bundle_with_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    /// Checking or writing.
    pub phase: ImportPhase,
    /// Units handled so far in this phase.
    pub done: usize,
    /// Units this phase will handle.
    pub total: usize,
}

/// The callback of the `*_with_progress` imports: called once per unit, inside the
/// transaction; `ControlFlow::Break` stops the import, rolls back and returns
/// [`LedgerError::Cancelled`].
pub type ImportProgressFn<'a> = &'a mut dyn FnMut(ImportProgress) -> ControlFlow<()>;

/// A problem with one row (CSV line) or one bundle unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// CSV line (1 = header); `None` for bundles and whole-file problems of bundles.
    pub line: Option<u64>,
    /// The serial, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A unit that was already in the ledger, identical, and so left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// CSV line, if any.
    pub line: Option<u64>,
    /// Serial.
    pub serial: String,
    /// Why.
    pub reason: String,
}

/// The outcome of an import (or of a dry run, or of a refused import: see
/// [`LedgerError::ImportRefused`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// `openpaygo-csv` or `bundle`.
    pub format: &'static str,
    /// True when nothing was written on purpose.
    pub dry_run: bool,
    /// Units imported (or that would be, in a dry run); 0 when refused.
    pub imported: usize,
    /// Their serials.
    pub serials: Vec<String>,
    /// Tokens imported with them (bundles).
    pub tokens: usize,
    /// Identical units already in the ledger (in a refused import: those that would have
    /// been skipped, so a preview can count them).
    pub skipped: Vec<Skipped>,
    /// Problems; any problem means nothing was imported.
    pub errors: Vec<RowError>,
    /// Refused imports only: the units that would have been new without the problems (so a
    /// preview can count them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_import: Vec<String>,
    /// Things worth knowing that did not stop the import.
    pub warnings: Vec<String>,
    /// The handover bundle's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "import refused, nothing imported; {} problem{}:",
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// A token travelling in a bundle.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize)]
pub(crate) struct TransferToken {
    pub count: u32,
    #[serde(rename = "type")]
    pub token_type: String,
    pub value: u32,
    pub days: Option<f64>,
    pub extended: bool,
    pub token: String,
    pub payment_ref: Option<String>,
    pub amount_milli: Option<i64>,
    pub operator: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

/// A unit on its way in, checked field by field.
pub(crate) struct Incoming {
    pub line: Option<u64>,
    pub unit: NewUnit,
    pub status: Status,
    pub device_count: Option<u32>,
    pub notes: Option<String>,
    pub payg_disabled: bool,
    pub tokens: Vec<TransferToken>,
}

/// A unit on its way out, key unsealed.
pub(crate) struct Outgoing {
    pub serial: String,
    pub model: Option<String>,
    pub starting_code: u32,
    pub key: Zeroizing<Key>,
    pub count: u32,
    pub device_count: Option<u32>,
    pub restricted: bool,
    pub divider: u32,
    pub status: Status,
    pub notes: Option<String>,
    pub payg_disabled: bool,
    pub tokens: Vec<TransferToken>,
}

pub use crate::time::iso_utc;

/// Thousandths → "12.5", "3", "0.125".
pub fn format_milli(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let m = milli.unsigned_abs();
    let (int, frac) = (m / 1000, m % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// Write an export to `out` with owner-only permissions (the file may hold keys) through a
/// temporary file renamed into place, so a failed export leaves no half file. An existing
/// `out` is refused unless `overwrite`.
pub fn write_export_file(out: &std::path::Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    use std::io::Write;
    let io = |message: String| LedgerError::Io {
        context: format!("writing {}", out.display()),
        message,
    };
    if out.exists() && !overwrite {
        return Err(io("the file exists (pass --force to overwrite it)".into()));
    }
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = out.file_name().map_or_else(
        || "export".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = dir.join(format!(".{name}.partial"));
    // A leftover (or planted) partial file is removed, never reused: a fresh file gets the
    // owner-only mode, and a symlink there is not followed.
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e.to_string()));
    }
    Ok(())
}

impl Ledger {
    /// The serials an export covers, in serial order.
    fn select(&self, sel: &Selection) -> Result<Vec<String>> {
        match sel {
            Selection::Serials(list) => {
                let mut out = Vec::new();
                for s in list {
                    let row = load_unit(&self.conn, s)?;
                    if row.status == Status::Provisioning {
                        return Err(LedgerError::BadState {
                            serial: row.serial,
                            status: row.status.as_str().into(),
                            what: "exporting",
                        });
                    }
                    if !out.contains(&row.serial) {
                        out.push(row.serial);
                    }
                }
                out.sort();
                Ok(out)
            }
            Selection::All | Selection::Status(_) => {
                let status = match sel {
                    Selection::Status(s) => Some(s.as_str()),
                    _ => None,
                };
                let mut stmt = self.conn.prepare(
                    "SELECT serial FROM units WHERE status != 'provisioning' \
                     AND (?1 IS NULL OR status = ?1) ORDER BY serial",
                )?;
                let rows = stmt.query_map(params![status], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            }
        }
    }

    fn transfer_tokens(&self, unit_id: i64) -> Result<Vec<TransferToken>> {
        let mut stmt = self.conn.prepare(
            "SELECT count, type, value, days, extended, token, payment_ref, amount_milli, \
             operator, reason, created_at FROM tokens WHERE unit_id = ?1 ORDER BY count",
        )?;
        let rows = stmt.query_map([unit_id], |r| {
            Ok(TransferToken {
                count: r.get(0)?,
                token_type: r.get(1)?,
                value: r.get(2)?,
                days: r.get(3)?,
                extended: r.get(4)?,
                token: r.get(5)?,
                payment_ref: r.get(6)?,
                amount_milli: r.get(7)?,
                operator: r.get(8)?,
                reason: r.get(9)?,
                created_at: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Load units for export; `with_keys` unseals them (needs the passphrase).
    fn outgoing(
        &self,
        serials: &[String],
        with_keys: bool,
        with_tokens: bool,
    ) -> Result<Vec<Outgoing>> {
        let mut out = Vec::with_capacity(serials.len());
        for s in serials {
            let row = load_unit(&self.conn, s)?;
            let (model, notes): (Option<String>, Option<String>) = self.conn.query_row(
                "SELECT model, notes FROM units WHERE id = ?1",
                [row.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let key = if with_keys {
                let k = self.seal_key()?.open_device_key(
                    &row.serial,
                    &row.key_sealed,
                    &row.key_nonce,
                )?;
                Zeroizing::new(*k.expose())
            } else {
                Zeroizing::new([0u8; 16])
            };
            let tokens = if with_tokens {
                self.transfer_tokens(row.id)?
            } else {
                Vec::new()
            };
            out.push(Outgoing {
                serial: row.serial,
                model,
                starting_code: row.starting_code,
                key,
                count: row.count,
                device_count: row.device_count,
                restricted: row.restricted,
                divider: row.divider,
                status: row.status,
                notes,
                payg_disabled: row.payg_disabled,
                tokens,
            });
        }
        Ok(out)
    }

    /// The OpenPAYGO device CSV of the selected units. **The result holds the raw device
    /// keys**: whoever has the file can make tokens for these units. Needs the passphrase;
    /// audited as `export` with the serials.
    pub fn export_openpaygo_csv(
        &mut self,
        sel: &Selection,
        operator: Option<&str>,
    ) -> Result<(Zeroizing<Vec<u8>>, ExportSummary)> {
        self.seal_key()?;
        let serials = self.select(sel)?;
        let units = self.outgoing(&serials, true, false)?;
        let bytes = opcsv::write_units(&units)?;
        self.record_event(
            operator,
            "export",
            None,
            &json!({"format": "openpaygo-csv", "raw_keys": true, "serials": serials}),
        )?;
        Ok((
            bytes,
            ExportSummary {
                format: "openpaygo-csv",
                serials,
                tokens: 0,
                bundle_id: None,
            },
        ))
    }

    /// The tokens and payments of the selected units as CSV, for accounting (no keys, no
    /// passphrase needed). Audited as `export`.
    pub fn export_tokens_csv(
        &mut self,
        sel: &Selection,
        operator: Option<&str>,
    ) -> Result<(Vec<u8>, ExportSummary)> {
        let serials = self.select(sel)?;
        let units = self.outgoing(&serials, false, true)?;
        let (bytes, tokens) = opcsv::write_tokens(&units)?;
        self.record_event(
            operator,
            "export",
            None,
            &json!({"format": "tokens-csv", "serials": serials, "tokens": tokens}),
        )?;
        Ok((
            bytes,
            ExportSummary {
                format: "tokens-csv",
                serials,
                tokens,
                bundle_id: None,
            },
        ))
    }

    /// An encrypted handover bundle of the selected units (and their tokens when
    /// `with_tokens`), under `bundle_pass`. Needs the ledger passphrase; audited as
    /// `handover_out` with the serials and the bundle id.
    pub fn export_bundle(
        &mut self,
        sel: &Selection,
        with_tokens: bool,
        bundle_pass: &Passphrase,
        params: KdfParams,
        operator: Option<&str>,
    ) -> Result<(Vec<u8>, ExportSummary)> {
        self.seal_key()?;
        let serials = self.select(sel)?;
        let units = self.outgoing(&serials, true, with_tokens)?;
        let tokens = units.iter().map(|u| u.tokens.len()).sum();
        let (bytes, id) = bundle::seal(&units, bundle_pass, params)?;
        self.record_event(
            operator,
            "handover_out",
            None,
            &json!({"bundle_id": id, "serials": serials, "tokens": tokens}),
        )?;
        Ok((
            bytes,
            ExportSummary {
                format: "bundle",
                serials,
                tokens,
                bundle_id: Some(id),
            },
        ))
    }

    /// Import an OpenPAYGO device CSV (keys sealed on the way in). All or nothing: any bad
    /// row, duplicate or conflict gives [`LedgerError::ImportRefused`] listing every problem.
    pub fn import_openpaygo_csv(
        &mut self,
        data: &[u8],
        opts: &ImportOptions,
    ) -> Result<ImportReport> {
        self.import_openpaygo_csv_with_progress(data, opts, &mut |_| ControlFlow::Continue(()))
    }

    /// [`Ledger::import_openpaygo_csv`] reporting progress once per unit; the callback can
    /// stop the import ([`LedgerError::Cancelled`], nothing imported).
    pub fn import_openpaygo_csv_with_progress(
        &mut self,
        data: &[u8],
        opts: &ImportOptions,
        progress: ImportProgressFn<'_>,
    ) -> Result<ImportReport> {
        self.seal_key()?;
        let parsed = opcsv::parse_units(data);
        let mut report = new_report("openpaygo-csv", opts.dry_run);
        report.warnings = parsed.warnings;
        self.apply(parsed.units, parsed.errors, report, opts, progress)
    }

    /// Import a handover bundle made by [`Ledger::export_bundle`]. Wrong passphrase,
    /// truncation or tampering give a typed [`LedgerError::Bundle`] error; duplicates and
    /// conflicts [`LedgerError::ImportRefused`]; either way nothing is imported.
    pub fn import_bundle(
        &mut self,
        data: &[u8],
        bundle_pass: &Passphrase,
        opts: &ImportOptions,
    ) -> Result<ImportReport> {
        self.import_bundle_with_progress(
            data,
            bundle_pass,
            opts,
            &mut |_| ControlFlow::Continue(()),
        )
    }

    /// [`Ledger::import_bundle`] reporting progress once per unit; the callback can stop the
    /// import ([`LedgerError::Cancelled`], nothing imported).
    pub fn import_bundle_with_progress(
        &mut self,
        data: &[u8],
        bundle_pass: &Passphrase,
        opts: &ImportOptions,
        progress: ImportProgressFn<'_>,
    ) -> Result<ImportReport> {
        self.seal_key()?;
        let opened = bundle::open(data, bundle_pass, &opts.limits)?;
        let mut report = new_report("bundle", opts.dry_run);
        report.bundle_id = Some(opened.id);
        self.apply(opened.units, opened.errors, report, opts, progress)
    }

    fn apply(
        &mut self,
        items: Vec<Incoming>,
        mut errors: Vec<RowError>,
        mut report: ImportReport,
        opts: &ImportOptions,
        progress: ImportProgressFn<'_>,
    ) -> Result<ImportReport> {
        // Stopping drops `tx` uncommitted: SQLite rolls back everything written so far.
        let mut step = |phase, done, total| match progress(ImportProgress { phase, done, total }) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(LedgerError::Cancelled),
        };
        let seal = self.key.as_ref().ok_or(LedgerError::Locked)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seen: std::collections::HashMap<String, Option<u64>> =
            std::collections::HashMap::new();
        let mut fresh: Vec<&Incoming> = Vec::new();
        for (done, item) in items.iter().enumerate() {
            step(ImportPhase::Check, done, items.len())?;
            let u = &item.unit;
            let err = |message: String| RowError {
                line: item.line,
                serial: Some(u.serial.clone()),
                message,
            };
            if let Some(first) = seen.get(&u.serial) {
                errors.push(err(match first {
                    Some(l) => format!("serial {} appears twice (first on line {l})", u.serial),
                    None => format!("serial {} appears twice", u.serial),
                }));
                continue;
            }
            seen.insert(u.serial.clone(), item.line);
            let existing = tx
                .query_row(
                    "SELECT starting_code, key_sealed, key_nonce, count, restricted, divider \
                     FROM units WHERE serial = ?1",
                    [&u.serial],
                    |r| {
                        Ok((
                            r.get::<_, u32>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, u32>(3)?,
                            r.get::<_, bool>(4)?,
                            r.get::<_, u32>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((sc, sealed, nonce, count, restricted, divider)) = existing else {
                fresh.push(item);
                continue;
            };
            let have = seal.open_device_key(&u.serial, &sealed, &nonce)?;
            if have.expose() != &u.key {
                errors.push(err(format!(
                    "unit {} is already in the ledger with a different key; refusing to replace it",
                    u.serial
                )));
                continue;
            }
            let want_sc = u
                .starting_code
                .unwrap_or_else(|| firmware_core::token::starting_code_from_key(&u.key));
            let mut differs = Vec::new();
            if sc != want_sc {
                // Never the numbers: the ledger's starting code is as secret as its key.
                differs.push("starting code differs".to_string());
            }
            if divider != u.divider {
                differs.push(format!("divider {divider} vs {}", u.divider));
            }
            if restricted != u.restricted {
                differs.push(format!(
                    "restricted digit mode {} vs {}",
                    u8::from(restricted),
                    u8::from(u.restricted)
                ));
            }
            if !differs.is_empty() {
                errors.push(err(format!(
                    "unit {} is already in the ledger with other parameters (ledger vs file: {}); refusing to change them",
                    u.serial,
                    differs.join(", ")
                )));
                continue;
            }
            if count != u.count {
                errors.push(err(format!(
                    "unit {}: count conflict: the ledger has count {count}, the file has count {}; refusing to change a count (it is never lowered)",
                    u.serial, u.count
                )));
                continue;
            }
            report.skipped.push(Skipped {
                line: item.line,
                serial: u.serial.clone(),
                reason: "already in the ledger with the same key, parameters and count".into(),
            });
        }
        step(ImportPhase::Check, items.len(), items.len())?;
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line.unwrap_or(0));
            report.errors = errors;
            report.would_import = fresh.iter().map(|i| i.unit.serial.clone()).collect();
            return Err(LedgerError::ImportRefused(Box::new(report)));
        }
        report.serials = fresh.iter().map(|i| i.unit.serial.clone()).collect();
        report.imported = fresh.len();
        report.tokens = fresh.iter().map(|i| i.tokens.len()).sum();
        if opts.dry_run {
            return Ok(report);
        }
        let op = opts.operator.as_deref();
        let source = report.format;
        for (done, item) in fresh.iter().enumerate() {
            step(ImportPhase::Write, done, fresh.len())?;
            let id =
                Ledger::insert_unit(Some(seal), &tx, &item.unit, item.status, item.device_count)?;
            if item.notes.is_some() || item.payg_disabled {
                tx.execute(
                    "UPDATE units SET notes = ?2, payg_disabled = ?3 WHERE id = ?1",
                    params![id, item.notes, item.payg_disabled],
                )?;
            }
            let u = &item.unit;
            audit::append(
                &tx,
                op,
                "unit_import",
                Some(&u.serial),
                &json!({"source": source, "count": u.count, "device_count": item.device_count,
                        "status": item.status.as_str(), "restricted": u.restricted,
                        "divider": u.divider, "model": u.model, "tokens": item.tokens.len()}),
            )?;
            for t in &item.tokens {
                tx.execute(
                    "INSERT INTO tokens (unit_id, count, type, value, days, extended, token, \
                     payment_ref, amount_milli, operator, reason, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        id,
                        t.count,
                        t.token_type,
                        t.value,
                        t.days,
                        t.extended,
                        t.token,
                        t.payment_ref,
                        t.amount_milli,
                        t.operator,
                        t.reason,
                        t.created_at
                    ],
                )?;
                // `verify` matches every token against an `issue` or `token_import` row.
                audit::append(
                    &tx,
                    op,
                    "token_import",
                    Some(&u.serial),
                    &json!({"count": t.count, "token": t.token, "type": t.token_type,
                            "value": t.value, "payment_ref": t.payment_ref,
                            "amount_milli": t.amount_milli, "issued_at": t.created_at,
                            "bundle_id": report.bundle_id}),
                )?;
            }
        }
        let skipped: Vec<&str> = report.skipped.iter().map(|s| s.serial.as_str()).collect();
        let (action, detail) = match &report.bundle_id {
            Some(id) => (
                "handover_in",
                json!({"bundle_id": id, "serials": report.serials, "skipped": skipped, "tokens": report.tokens}),
            ),
            None => (
                "import",
                json!({"format": source, "serials": report.serials, "skipped": skipped}),
            ),
        };
        audit::append(&tx, op, action, None, &detail)?;
        // The last chance to stop: after COMMIT the import has happened.
        step(ImportPhase::Write, fresh.len(), fresh.len())?;
        tx.commit()?;
        Ok(report)
    }
}

fn new_report(format: &'static str, dry_run: bool) -> ImportReport {
    ImportReport {
        format,
        dry_run,
        imported: 0,
        serials: Vec::new(),
        tokens: 0,
        skipped: Vec::new(),
        errors: Vec::new(),
        would_import: Vec::new(),
        warnings: Vec::new(),
        bundle_id: None,
    }
}
