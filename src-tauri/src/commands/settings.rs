//! Ledger › Settings: the ledger-wide settings (`Ledger::setting` / `set_setting`, each change
//! checked and written to the audit log by the back-end): serial pattern with a preview of
//! the next serials, tariffs and the default one, auto-lock minutes (applied at once: the
//! app reads it on every ledger command), and the supervisor PIN. Language and theme are
//! the UI's own (kept in the webview's storage).

use super::ledger::with_ledger;
use super::{blocking, AppArc};
use crate::api::{SettingsView, SupervisorPinChange, TariffView};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::ledger::{Ledger, LedgerError, Tariff, Tariffs, DEFAULT_SERIAL_PATTERN};
use std::sync::Arc;

/// How many upcoming serials the preview shows.
pub const SERIAL_PREVIEW: usize = 3;

fn view(state: &AppState, l: &Ledger) -> CmdResult<SettingsView> {
    let pattern = l.setting("serial_pattern")?;
    let effective = pattern.as_deref().unwrap_or(DEFAULT_SERIAL_PATTERN);
    let tariffs = l.tariffs()?;
    let (limit, source) = state.autolock_for(Some(l));
    Ok(SettingsView {
        next_serials: l.peek_serials(effective, SERIAL_PREVIEW)?,
        serial_pattern: pattern,
        default_serial_pattern: DEFAULT_SERIAL_PATTERN.to_string(),
        tariffs: tariffs
            .list
            .into_iter()
            .map(|t| TariffView {
                name: t.name,
                days_per_unit: t.days_per_unit,
                currency: t.currency,
            })
            .collect(),
        default_tariff: tariffs.default,
        autolock_minutes: l.autolock_minutes()?,
        autolock_effective_secs: u32::try_from(limit.as_secs()).unwrap_or(u32::MAX),
        autolock_source: source,
        supervisor_pin_set: l.has_supervisor_pin()?,
    })
}

fn blank_to_none(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// Every setting as the Settings screen shows it.
pub fn get(state: &AppState) -> CmdResult<SettingsView> {
    with_ledger(state, |l| view(state, l))
}

/// The next serials `pattern` would give (empty: the default pattern), without taking any;
/// a bad pattern is `BAD_SERIAL_PATTERN`, one giving too long a serial `BAD_SERIAL`.
pub fn serial_preview(state: &AppState, pattern: &str) -> CmdResult<Vec<String>> {
    let pattern = match pattern.trim() {
        "" => DEFAULT_SERIAL_PATTERN,
        p => p,
    };
    with_ledger(state, |l| Ok(l.peek_serials(pattern, SERIAL_PREVIEW)?))
}

/// Set the serial pattern (`None` or blank: back to the default).
pub fn set_serial_pattern(
    state: &AppState,
    pattern: Option<String>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let pattern = blank_to_none(pattern);
    let operator = blank_to_none(operator);
    with_ledger(state, |l| {
        l.set_setting("serial_pattern", pattern.as_deref(), operator.as_deref())?;
        view(state, l)
    })
}

/// Replace the tariffs and the default one (checked by the back-end: unique names, days
/// above 0 with up to 3 decimals, ISO 4217 currency, a default from the list).
pub fn set_tariffs(
    state: &AppState,
    tariffs: Vec<TariffView>,
    default: Option<String>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let t = Tariffs {
        default: blank_to_none(default),
        list: tariffs
            .into_iter()
            .map(|t| Tariff {
                name: t.name,
                days_per_unit: t.days_per_unit,
                currency: t.currency,
            })
            .collect(),
    };
    let operator = blank_to_none(operator);
    with_ledger(state, |l| {
        l.set_tariffs(&t, operator.as_deref())?;
        view(state, l)
    })
}

/// Set the auto-lock minutes (1-1440; `None`: back to the default). Applies from the next
/// ledger command on, unless `PAYGO_AUTOLOCK_SECS` overrides it.
pub fn set_autolock(
    state: &AppState,
    minutes: Option<u32>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let operator = blank_to_none(operator);
    with_ledger(state, |l| {
        l.set_setting(
            "autolock_minutes",
            minutes.map(|m| m.to_string()).as_deref(),
            operator.as_deref(),
        )?;
        view(state, l)
    })
}

/// Set the supervisor PIN, or change it (then the PIN in force is needed). The new PIN is
/// typed twice; the back-end stores only its hash and audits the change.
pub fn set_supervisor_pin(
    state: &AppState,
    change: &SupervisorPinChange,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let operator = blank_to_none(operator);
    with_ledger(state, |l| {
        if l.has_supervisor_pin()? {
            let current = change.current.as_deref().map(str::trim).unwrap_or("");
            if current.is_empty() {
                return Err(CommandError::new(
                    "SUPERVISOR_PIN_REQUIRED",
                    "changing the supervisor PIN needs the PIN in force",
                ));
            }
            if !l.verify_supervisor_pin(current)? {
                return Err(LedgerError::WrongSupervisorPin.into());
            }
        }
        if change.pin != change.pin_again {
            return Err(CommandError::new(
                "PIN_MISMATCH",
                "the two entries of the new PIN differ",
            ));
        }
        l.set_supervisor_pin(change.pin.trim(), operator.as_deref())?;
        view(state, l)
    })
}

/// `settings_get`: see [`get`].
#[tauri::command]
pub async fn settings_get(state: AppArc<'_>) -> CmdResult<SettingsView> {
    let state = Arc::clone(&state);
    blocking(move || get(&state)).await
}

/// `settings_serial_preview`: see [`serial_preview`].
#[tauri::command]
pub async fn settings_serial_preview(state: AppArc<'_>, pattern: String) -> CmdResult<Vec<String>> {
    let state = Arc::clone(&state);
    blocking(move || serial_preview(&state, &pattern)).await
}

/// `settings_set_serial_pattern`: see [`set_serial_pattern`].
#[tauri::command]
pub async fn settings_set_serial_pattern(
    state: AppArc<'_>,
    pattern: Option<String>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let state = Arc::clone(&state);
    blocking(move || set_serial_pattern(&state, pattern, operator)).await
}

/// `settings_set_tariffs`: see [`set_tariffs`].
#[tauri::command]
pub async fn settings_set_tariffs(
    state: AppArc<'_>,
    tariffs: Vec<TariffView>,
    default: Option<String>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let state = Arc::clone(&state);
    blocking(move || set_tariffs(&state, tariffs, default, operator)).await
}

/// `settings_set_autolock`: see [`set_autolock`].
#[tauri::command]
pub async fn settings_set_autolock(
    state: AppArc<'_>,
    minutes: Option<u32>,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let state = Arc::clone(&state);
    blocking(move || set_autolock(&state, minutes, operator)).await
}

/// `settings_set_supervisor_pin`: see [`set_supervisor_pin`] (one key derivation).
#[tauri::command]
pub async fn settings_set_supervisor_pin(
    state: AppArc<'_>,
    change: SupervisorPinChange,
    operator: Option<String>,
) -> CmdResult<SettingsView> {
    let state = Arc::clone(&state);
    blocking(move || set_supervisor_pin(&state, &change, operator)).await
}
