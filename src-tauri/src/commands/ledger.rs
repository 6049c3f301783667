//! The issuance ledger: create / unlock / lock it, list units, show a unit's history, issue.
//! The open [`Ledger`] lives in [`AppState`]; device keys stay inside it (sealed in the file,
//! unsealed only while issuing) and no response carries one.

use super::{blocking, trimmed, AppArc};
use crate::api::{
    IssueWarning, LedgerAction, LedgerIssueRequest, LedgerIssued, LedgerStatus, TokenRow,
    UnitDetail, UnitListPage, UnitRow,
};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::ledger::{
    self, IssueAction, IssueRequest, KdfParams, Ledger, NewUnit, Passphrase, Status, UnitQuery,
};
use paygo::token;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Overrides the ledger path (tests, a second ledger on a shared laptop).
pub const LEDGER_ENV: &str = "PAYGO_LEDGER";

/// The shortest passphrase [`create`] accepts.
pub const MIN_PASSPHRASE: usize = 8;

/// Rows per page when the UI asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// `PAYGO_LEDGER` if set and not empty, else the CLI's default path.
pub fn resolve_path() -> CmdResult<PathBuf> {
    match std::env::var_os(LEDGER_ENV) {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Ok(ledger::default_path()?),
    }
}

pub(crate) fn closed() -> CommandError {
    CommandError::new(
        "LEDGER_CLOSED",
        "the ledger is not open: create or unlock it first",
    )
}

/// Where the ledger is, whether it exists and whether the app holds it unlocked.
pub fn status(state: &AppState, path: &Path) -> LedgerStatus {
    let slot = state.ledger();
    let path = slot.as_ref().map_or(path, Ledger::path);
    LedgerStatus {
        path: path.display().to_string(),
        exists: path.is_file(),
        // Only ever holds a ledger opened or created with its passphrase.
        unlocked: slot.is_some(),
    }
}

/// Create a new ledger at `path` and keep it open, unlocked.
pub fn create(
    state: &AppState,
    path: &Path,
    pass: &str,
    params: KdfParams,
) -> CmdResult<LedgerStatus> {
    if pass.chars().count() < MIN_PASSPHRASE {
        return Err(CommandError::new(
            "WEAK_PASSPHRASE",
            format!("the passphrase needs at least {MIN_PASSPHRASE} characters"),
        ));
    }
    let l = Ledger::create(path, &Passphrase::new(pass), params)?;
    *state.ledger() = Some(l);
    Ok(status(state, path))
}

/// Open the ledger at `path` (or the one already open) with its passphrase.
pub fn unlock(state: &AppState, path: &Path, pass: &str) -> CmdResult<LedgerStatus> {
    let pass = Passphrase::new(pass);
    {
        let mut slot = state.ledger();
        match slot.as_mut() {
            Some(l) => l.unlock(&pass)?,
            None => *slot = Some(Ledger::open(path, Some(&pass))?),
        }
    }
    Ok(status(state, path))
}

/// Close the ledger (the sealing key is wiped with it).
pub fn lock(state: &AppState, path: &Path) -> LedgerStatus {
    *state.ledger() = None;
    status(state, path)
}

pub(crate) fn with_ledger<T>(
    state: &AppState,
    f: impl FnOnce(&mut Ledger) -> CmdResult<T>,
) -> CmdResult<T> {
    let mut slot = state.ledger();
    f(slot.as_mut().ok_or_else(closed)?)
}

/// A page of units, optionally filtered by status and a search text (serial or customer).
pub fn units(
    state: &AppState,
    search: Option<String>,
    status: Option<String>,
    page: u32,
    page_size: u32,
) -> CmdResult<UnitListPage> {
    let status = match status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(Status::parse(s)?),
    };
    let search = search
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let q = UnitQuery {
        status,
        search,
        page: page.max(1),
        page_size: if page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            page_size
        },
        ..UnitQuery::default()
    };
    with_ledger(state, |l| {
        let p = l.list_units(&q)?;
        Ok(UnitListPage {
            total: u32::try_from(p.total).unwrap_or(u32::MAX),
            page: p.page,
            page_size: p.page_size,
            units: p
                .units
                .into_iter()
                .map(|u| UnitRow {
                    serial: u.serial,
                    model: u.model,
                    status: u.status,
                    count: u.count,
                    customer: u.customer,
                })
                .collect(),
        })
    })
}

/// Thousandths as a decimal: 12 500 → "12.5".
pub fn format_milli(milli: i64) -> String {
    let (int, frac) = (milli / 1000, (milli % 1000).abs());
    if frac == 0 {
        int.to_string()
    } else {
        format!("{int}.{frac:03}").trim_end_matches('0').to_string()
    }
}

/// A unit and every token it was issued, newest first (no key).
pub fn detail(state: &AppState, serial: &str) -> CmdResult<UnitDetail> {
    with_ledger(state, |l| {
        let u = l.unit(serial)?;
        let mut tokens = l.tokens(serial)?;
        tokens.reverse();
        Ok(UnitDetail {
            serial: u.serial,
            model: u.model,
            status: u.status,
            count: u.count,
            device_count: u.device_count,
            restricted: u.restricted,
            divider: u.divider,
            payg_disabled: u.payg_disabled,
            customer: u.customer.map(|c| c.name),
            tokens_issued: u32::try_from(u.tokens_issued).unwrap_or(u32::MAX),
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow {
                    count: t.count,
                    token_type: t.token_type,
                    value: t.value,
                    days: t.days,
                    token: t.token,
                    payment_ref: t.payment_ref,
                    amount: t.amount_milli.map(format_milli),
                    operator: t.operator,
                    created_at: t.created_at,
                })
                .collect(),
        })
    })
}

fn days(text: &Option<String>) -> CmdResult<f64> {
    match trimmed(text.as_deref()) {
        Some(t) => Ok(token::parse_days(&t)?),
        None => Err(CommandError::new(
            "BAD_DAYS",
            "this action needs a number of days",
        )),
    }
}

/// Issue the next token for `req.serial`. Returns only after the ledger committed it.
pub fn issue(state: &AppState, req: &LedgerIssueRequest) -> CmdResult<LedgerIssued> {
    let amount_milli = trimmed(req.amount.as_deref())
        .map(|a| ledger::parse_milli(&a))
        .transpose()?;
    let action =
        match req.action {
            LedgerAction::AddTime => IssueAction::Add(days(&req.days)?),
            LedgerAction::SetTime => IssueAction::Set(days(&req.days)?),
            LedgerAction::AddAmount => IssueAction::Amount(amount_milli.ok_or_else(|| {
                CommandError::new("BAD_AMOUNT", "this action needs the amount paid")
            })?),
            LedgerAction::DisablePayg => IssueAction::Unlock,
            LedgerAction::CounterSync => IssueAction::Sync,
        };
    let issue_req = IssueRequest {
        action,
        payment_ref: trimmed(req.payment_ref.as_deref()),
        amount_milli,
        operator: trimmed(req.operator.as_deref()),
        reason: trimmed(req.reason.as_deref()),
        supervisor_pin: trimmed(req.supervisor_pin.as_deref()),
        extended: req.extended,
    };
    with_ledger(state, |l| {
        let o = l.issue(&req.serial, &issue_req)?;
        Ok(LedgerIssued {
            serial: o.unit,
            grouped: token::group_digits(&o.token),
            token: o.token,
            count: o.count,
            token_type: o.token_type,
            value: o.value,
            days: o.days,
            warnings: o
                .warnings
                .into_iter()
                .map(|w| IssueWarning {
                    code: w.code.to_string(),
                    message: w.message,
                    advice: w.advice,
                })
                .collect(),
            idempotent: o.idempotent,
        })
    })
}

/// Add a fresh unit (count 0, whole days, full keypad) and return it. The key goes into the
/// ledger sealed and never comes back out.
pub fn add(
    state: &AppState,
    serial: &str,
    key: &str,
    starting_code: Option<u32>,
    operator: Option<String>,
) -> CmdResult<UnitDetail> {
    let serial = serial.trim();
    let unit = NewUnit {
        serial: serial.to_string(),
        model: None,
        key: token::parse_key(key.trim())?,
        starting_code,
        count: 0,
        restricted: false,
        divider: 1,
    };
    let operator = trimmed(operator.as_deref());
    with_ledger(state, |l| Ok(l.add_unit(&unit, operator.as_deref())?))?;
    detail(state, serial)
}

/// `ledger_status`: see [`status`].
#[tauri::command]
pub async fn ledger_status(state: AppArc<'_>) -> CmdResult<LedgerStatus> {
    // Off the main thread: it waits for the ledger while an import or a batch holds it.
    let state = Arc::clone(&state);
    blocking(move || Ok(status(&state, &resolve_path()?))).await
}

/// `ledger_create`: see [`create`] (the real key-derivation cost).
#[tauri::command]
pub async fn ledger_create(state: AppArc<'_>, passphrase: String) -> CmdResult<LedgerStatus> {
    let state = Arc::clone(&state);
    blocking(move || create(&state, &resolve_path()?, &passphrase, KdfParams::DEFAULT)).await
}

/// `ledger_unlock`: see [`unlock`].
#[tauri::command]
pub async fn ledger_unlock(state: AppArc<'_>, passphrase: String) -> CmdResult<LedgerStatus> {
    let state = Arc::clone(&state);
    blocking(move || unlock(&state, &resolve_path()?, &passphrase)).await
}

/// `ledger_lock`: see [`lock`].
#[tauri::command]
pub async fn ledger_lock(state: AppArc<'_>) -> CmdResult<LedgerStatus> {
    let state = Arc::clone(&state);
    blocking(move || Ok(lock(&state, &resolve_path()?))).await
}

/// `units_list`: see [`units`].
#[tauri::command]
pub async fn units_list(
    state: AppArc<'_>,
    search: Option<String>,
    status: Option<String>,
    page: u32,
    page_size: u32,
) -> CmdResult<UnitListPage> {
    let state = Arc::clone(&state);
    blocking(move || units(&state, search, status, page, page_size)).await
}

/// `unit_detail`: see [`detail`].
#[tauri::command]
pub async fn unit_detail(state: AppArc<'_>, serial: String) -> CmdResult<UnitDetail> {
    let state = Arc::clone(&state);
    blocking(move || detail(&state, &serial)).await
}

/// `ledger_issue`: see [`issue`].
#[tauri::command]
pub async fn ledger_issue(state: AppArc<'_>, req: LedgerIssueRequest) -> CmdResult<LedgerIssued> {
    let state = Arc::clone(&state);
    blocking(move || issue(&state, &req)).await
}

/// `unit_add`: see [`add`].
#[tauri::command]
pub async fn unit_add(
    state: AppArc<'_>,
    serial: String,
    key: String,
    starting_code: Option<u32>,
    operator: Option<String>,
) -> CmdResult<UnitDetail> {
    let state = Arc::clone(&state);
    blocking(move || add(&state, &serial, &key, starting_code, operator)).await
}
