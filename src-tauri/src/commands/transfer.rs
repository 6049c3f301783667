//! Ledger › Import / export and Verify: the OpenPAYGO device CSV both ways, the tokens CSV,
//! the encrypted handover bundle, and the audit chain check. Everything is `paygo`'s
//! (`ledger/transfer/`, `Ledger::verify`); this module reads and writes the files, checks
//! what only the app asks for (supervisor PIN before raw keys leave, a bundle passphrase typed
//! twice) and turns the back-end's progress callback into events and a Cancel.

use super::ledger::{resolve_path, with_ledger, MIN_PASSPHRASE};
use super::{blocking, trimmed, AppArc};
use crate::api::{
    events, AuditRowView, ExportDone, ExportKind, ExportRequest, ImportDone, ImportKind,
    ImportPreview, ImportProblem, ImportProgressEvent, ImportRequest, VerifyProblem, VerifyView,
};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::ledger::{
    BundleError, ImportOptions, ImportPhase, ImportProgress, ImportReport, KdfParams, Ledger,
    LedgerError, Passphrase, Selection, Status,
};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Runtime, State};
use zeroize::Zeroizing;

/// The largest file an import reads (a CSV of ~500 000 units).
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

/// Managed next to [`AppState`]: the Cancel of the running import. Kept apart from the
/// ledger slot, which the import holds while it runs.
#[derive(Debug, Default)]
pub struct TransferControl {
    cancel: AtomicBool,
}

impl TransferControl {
    /// Ask the running import to stop (it rolls back).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The flag [`import`] watches.
    pub fn flag(&self) -> &AtomicBool {
        &self.cancel
    }
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn path_of(text: &str) -> CmdResult<PathBuf> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CommandError::new("BAD_PATH", "type the file's path"));
    }
    Ok(PathBuf::from(t))
}

/// The file's bytes, or `BAD_FILE` saying why not.
/// (Wiped from memory when dropped: a device CSV holds raw keys.)
fn read_file(path: &Path) -> CmdResult<Zeroizing<Vec<u8>>> {
    let bad = |why: String| CommandError::new("BAD_FILE", format!("{}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a file".into()));
    }
    if meta.len() > MAX_IMPORT_BYTES {
        return Err(bad(format!(
            "{} bytes; an import reads at most {MAX_IMPORT_BYTES}",
            meta.len()
        )));
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| bad(e.to_string()))
}

fn bundle_pass(req: &ImportRequest) -> CmdResult<Passphrase> {
    match req.bundle_passphrase.as_deref() {
        Some(p) if !p.is_empty() => Ok(Passphrase::new(p)),
        _ => Err(CommandError::new(
            "NO_BUNDLE_PASSPHRASE",
            "type the bundle's passphrase",
        )),
    }
}

fn problems(report: &ImportReport) -> Vec<ImportProblem> {
    report
        .errors
        .iter()
        .map(|e| ImportProblem {
            line: e.line.map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
            serial: e.serial.clone(),
            message: e.message.clone(),
        })
        .collect()
}

/// The bundle passphrase a request needs (bundles only), checked before any work.
fn pass_for(req: &ImportRequest) -> CmdResult<Option<Passphrase>> {
    match req.kind {
        ImportKind::OpenpaygoCsv => Ok(None),
        ImportKind::Bundle => bundle_pass(req).map(Some),
    }
}

fn run_import(
    l: &mut Ledger,
    pass: Option<&Passphrase>,
    data: &[u8],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress) -> ControlFlow<()>,
) -> Result<ImportReport, LedgerError> {
    match pass {
        None => l.import_openpaygo_csv_with_progress(data, opts, progress),
        Some(pass) => l.import_bundle_with_progress(data, pass, opts, progress),
    }
}

/// What importing `req.path` would do: new units, identical ones (skipped), and every
/// conflicting or invalid row with its line. Writes nothing. A file the import would refuse
/// is a preview with `problems`, not an error; unreadable files and wrong bundle
/// passphrases are errors (`BAD_FILE`, `WRONG_BUNDLE_PASSPHRASE`, ...).
pub fn preview(state: &AppState, req: &ImportRequest) -> CmdResult<ImportPreview> {
    let pass = pass_for(req)?;
    let data = read_file(&path_of(&req.path)?)?;
    let opts = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    with_ledger(state, |l| {
        let mut go = |_| ControlFlow::Continue(());
        let report = run_import(l, pass.as_ref(), &data, &opts, &mut go);
        let report = match report {
            Ok(r) => r,
            Err(LedgerError::ImportRefused(r)) => *r,
            Err(e) => return Err(e.into()),
        };
        // A refused file still says what would be new once its problems are fixed.
        let new_serials = if report.errors.is_empty() {
            report.serials.clone()
        } else {
            report.would_import.clone()
        };
        Ok(ImportPreview {
            kind: req.kind,
            new_units: u32_of(new_serials.len()),
            new_serials,
            duplicates: u32_of(report.skipped.len()),
            tokens: u32_of(report.tokens),
            problems: problems(&report),
            warnings: report.warnings.clone(),
            bundle_id: report.bundle_id.clone(),
        })
    })
}

/// Import `req.path` for real: all or nothing, in one transaction. `progress` gets about a
/// hundred updates per phase; setting `cancel` stops the import and rolls it back
/// (`CANCELLED`). A refused file is `IMPORT_REFUSED` with every problem and its line.
pub fn import(
    state: &AppState,
    cancel: &AtomicBool,
    req: &ImportRequest,
    mut progress: impl FnMut(ImportProgressEvent),
) -> CmdResult<ImportDone> {
    cancel.store(false, Ordering::SeqCst);
    let pass = pass_for(req)?;
    let data = read_file(&path_of(&req.path)?)?;
    let opts = ImportOptions {
        operator: req
            .operator
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        ..ImportOptions::default()
    };
    with_ledger(state, |l| {
        let mut hook = |p: ImportProgress| {
            let every = (p.total / 100).max(1);
            if p.done == 0 || p.done == p.total || p.done.is_multiple_of(every) {
                progress(ImportProgressEvent {
                    phase: match p.phase {
                        ImportPhase::Check => "check",
                        ImportPhase::Write => "write",
                    }
                    .into(),
                    done: u32_of(p.done),
                    total: u32_of(p.total),
                });
            }
            if cancel.load(Ordering::SeqCst) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let report = run_import(l, pass.as_ref(), &data, &opts, &mut hook)?;
        Ok(ImportDone {
            imported: u32_of(report.imported),
            serials: report.serials,
            skipped: u32_of(report.skipped.len()),
            tokens: u32_of(report.tokens),
            bundle_id: report.bundle_id,
        })
    })
}

/// Write an export to `req.path` (owner-only, never half a file). The OpenPAYGO CSV holds
/// the raw device keys: it needs the supervisor PIN when one is set. A bundle needs its own
/// passphrase, typed twice, of at least 8 characters and not the ledger's.
pub fn export(
    state: &AppState,
    req: &ExportRequest,
    bundle_kdf: KdfParams,
) -> CmdResult<ExportDone> {
    let out = path_of(&req.path)?;
    if out.exists() && !req.overwrite {
        return Err(CommandError::new(
            "FILE_EXISTS",
            format!(
                "{} exists; choose another name or allow overwriting",
                out.display()
            ),
        ));
    }
    let op = trimmed(req.operator.as_deref());
    let sel = selection(req)?;
    with_ledger(state, |l| {
        let (bytes, summary, raw_keys) = match req.kind {
            ExportKind::OpenpaygoCsv => {
                if l.has_supervisor_pin()? {
                    let pin = trimmed(req.supervisor_pin.as_deref()).ok_or_else(|| {
                        CommandError::new(
                            "SUPERVISOR_PIN_REQUIRED",
                            "exporting the raw device keys needs the supervisor PIN",
                        )
                    })?;
                    if !l.verify_supervisor_pin(&pin)? {
                        return Err(LedgerError::WrongSupervisorPin.into());
                    }
                }
                let (bytes, summary) = l.export_openpaygo_csv(&sel, op.as_deref())?;
                (bytes, summary, true)
            }
            ExportKind::TokensCsv => {
                let (bytes, summary) = l.export_tokens_csv(&sel, op.as_deref())?;
                (Zeroizing::new(bytes), summary, false)
            }
            ExportKind::Bundle => {
                let pass = req.bundle_passphrase.as_deref().unwrap_or("");
                if pass.chars().count() < MIN_PASSPHRASE {
                    return Err(CommandError::new(
                        "WEAK_PASSPHRASE",
                        format!("the bundle passphrase needs at least {MIN_PASSPHRASE} characters"),
                    ));
                }
                if req.bundle_passphrase_again.as_deref() != Some(pass) {
                    return Err(LedgerError::PassphraseMismatch.into());
                }
                let pass = Passphrase::new(pass);
                if l.is_passphrase(&pass)? {
                    return Err(LedgerError::Bundle(BundleError::SamePassphrase).into());
                }
                let (bytes, summary) =
                    l.export_bundle(&sel, req.with_tokens, &pass, bundle_kdf, op.as_deref())?;
                (Zeroizing::new(bytes), summary, false)
            }
        };
        if summary.serials.is_empty() {
            return Err(CommandError::new(
                "NOTHING_TO_EXPORT",
                "no unit matches this choice; nothing was written",
            ));
        }
        paygo::ledger::write_export_file(&out, &bytes, req.overwrite)?;
        Ok(ExportDone {
            kind: req.kind,
            path: out.display().to_string(),
            units: u32_of(summary.serials.len()),
            tokens: u32_of(summary.tokens),
            bytes: u32_of(bytes.len()),
            bundle_id: summary.bundle_id,
            raw_keys,
        })
    })
}

/// Which units an export takes: all, one status, or a list of serials.
fn selection(req: &ExportRequest) -> CmdResult<Selection> {
    let status = trimmed(req.status.as_deref());
    let serials: Vec<String> = req
        .serials
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    match (status, serials.is_empty()) {
        (Some(_), false) => Err(CommandError::new(
            "BAD_SELECTION",
            "choose the units by status or by serial, not both",
        )),
        (Some(status), true) => Ok(Selection::Status(Status::parse(&status)?)),
        (None, false) => Ok(Selection::Serials(serials)),
        (None, true) => Ok(Selection::All),
    }
}

/// Recompute the audit hash chain and the token invariants. Needs no passphrase: when the
/// app holds no ledger, the file at `path` is opened read-only for the check.
pub fn verify(state: &AppState, path: &Path) -> CmdResult<VerifyView> {
    let slot = state.ledger();
    let opened;
    let l: &Ledger = match slot.as_ref() {
        Some(l) => l,
        None => {
            opened = Ledger::open(path, None)?;
            &opened
        }
    };
    let r = l.verify()?;
    let seq32 = |s: i64| u32::try_from(s).unwrap_or(u32::MAX);
    let first_broken = match r.first_broken_seq {
        Some(seq) => l
            .audit_rows()?
            .into_iter()
            .find(|row| row.seq == seq)
            .map(|row| AuditRowView {
                seq: seq32(row.seq),
                at: row.at,
                actor: row.actor,
                action: row.action,
                unit: row.unit,
                detail: row.detail,
            }),
        None => None,
    };
    Ok(VerifyView {
        ok: r.ok,
        audit_rows: u32::try_from(r.audit_rows).unwrap_or(u32::MAX),
        tokens: u32::try_from(r.tokens).unwrap_or(u32::MAX),
        units: u32::try_from(r.units).unwrap_or(u32::MAX),
        first_broken_seq: r.first_broken_seq.map(seq32),
        first_broken,
        problems: r
            .problems
            .into_iter()
            .map(|p| VerifyProblem {
                code: p.code.to_string(),
                message: p.message,
                seq: p.seq.map(seq32),
            })
            .collect(),
    })
}

type Control<'a> = State<'a, Arc<TransferControl>>;

/// `transfer_preview`: see [`preview`].
#[tauri::command]
pub async fn transfer_preview(state: AppArc<'_>, req: ImportRequest) -> CmdResult<ImportPreview> {
    let state = Arc::clone(&state);
    blocking(move || preview(&state, &req)).await
}

/// `transfer_import`: see [`import`]; emits `transfer://progress` ([`ImportProgressEvent`]).
#[tauri::command]
pub async fn transfer_import<R: Runtime>(
    app: AppHandle<R>,
    state: AppArc<'_>,
    control: Control<'_>,
    req: ImportRequest,
) -> CmdResult<ImportDone> {
    let state = Arc::clone(&state);
    let control = Arc::clone(&control);
    blocking(move || {
        import(&state, control.flag(), &req, |p| {
            let _ = app.emit(events::TRANSFER_PROGRESS, p);
        })
    })
    .await
}

/// `transfer_cancel`: stop the running import (it rolls back and fails with `CANCELLED`).
#[tauri::command]
pub fn transfer_cancel(control: Control<'_>) {
    control.cancel();
}

/// `transfer_export`: see [`export`] (the real key-derivation cost for bundles).
#[tauri::command]
pub async fn transfer_export(state: AppArc<'_>, req: ExportRequest) -> CmdResult<ExportDone> {
    let state = Arc::clone(&state);
    blocking(move || export(&state, &req, KdfParams::DEFAULT)).await
}

/// `ledger_verify`: see [`verify`].
#[tauri::command]
pub async fn ledger_verify(state: AppArc<'_>) -> CmdResult<VerifyView> {
    let state = Arc::clone(&state);
    blocking(move || verify(&state, &resolve_path()?)).await
}
