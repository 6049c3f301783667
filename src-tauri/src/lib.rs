//! OpenPAYGO Station desktop app: a Tauri v2 shell over the `paygo` back-end.
//!
//! - [`commands`]: thin `#[tauri::command]`s, one module per area;
//! - [`api`]: the IPC contract (TypeScript twins generated into `ui/src/lib/bindings/`);
//! - [`state::AppState`]: managed once; simulators stopped on exit;
//! - [`error::CommandError`]: every failure reaches the UI as `{code, message}`.

pub mod api;
pub mod commands;
pub mod error;
pub mod state;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admin;
#[cfg(test)]
mod tests_fleet;
#[cfg(test)]
mod tests_station;

use state::AppState;
use std::sync::Arc;
use tauri::{Builder, Manager, RunEvent, Runtime};

/// Register the state and every command on `builder` (the real app and the tests' mock
/// builder alike).
pub fn build<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .manage(Arc::new(AppState::default()))
        .manage(Arc::new(commands::station::StationState::default()))
        .manage(Arc::new(commands::transfer::TransferControl::default()))
        .invoke_handler(tauri::generate_handler![
            commands::app::app_ready,
            commands::tokens::issue_token,
            commands::tokens::decode_token,
            commands::devices::list_ports,
            commands::devices::read_device,
            commands::devices::enter_token,
            commands::sim::start_sim,
            commands::sim::stop_sim,
            commands::sim::list_sims,
            commands::ledger::ledger_status,
            commands::ledger::ledger_create,
            commands::ledger::ledger_unlock,
            commands::ledger::ledger_lock,
            commands::ledger::units_list,
            commands::ledger::unit_detail,
            commands::ledger::ledger_issue,
            commands::ledger::unit_add,
            // Station: flashing, provisioning, batches.
            commands::station::station_flash_setup,
            commands::station::station_chips,
            commands::station::station_chip,
            commands::station::station_check_image,
            commands::station::station_flash,
            commands::station::station_flash_cancel,
            commands::station::station_detect,
            commands::station::station_provision,
            commands::station::station_batch,
            commands::station::station_batch_cancel,
            commands::station::station_save_report,
            commands::station::station_labels_csv,
            commands::station::station_save_labels,
            // Fleet views (commands::fleet).
            commands::fleet::fleet_units,
            commands::fleet::fleet_unit,
            commands::fleet::fleet_assign,
            commands::fleet::fleet_set_status,
            commands::fleet::fleet_set_notes,
            commands::fleet::fleet_quote,
            commands::fleet::fleet_stats,
            // Ledger administration: import / export, verify, settings.
            commands::transfer::transfer_preview,
            commands::transfer::transfer_import,
            commands::transfer::transfer_cancel,
            commands::transfer::transfer_export,
            commands::transfer::ledger_verify,
            commands::settings::settings_get,
            commands::settings::settings_serial_preview,
            commands::settings::settings_set_serial_pattern,
            commands::settings::settings_set_tariffs,
            commands::settings::settings_set_autolock,
            commands::settings::settings_set_supervisor_pin,
        ])
}

/// Stop what the app started when it exits.
pub fn on_event<R: Runtime>(app: &tauri::AppHandle<R>, event: RunEvent) {
    if let RunEvent::Exit = event {
        if let Some(state) = app.try_state::<Arc<AppState>>() {
            state.stop_all();
        }
    }
}

/// Start the desktop app.
pub fn run() {
    commands::app::mark_start();
    commands::sim::remove_stale_links(&std::env::temp_dir());
    let app = build(Builder::default())
        .build(tauri::generate_context!("../tauri.conf.json"))
        .unwrap_or_else(|e| {
            eprintln!("OpenPAYGO Station could not start: {e}");
            std::process::exit(1)
        });
    // Interrupted rather than closed (Ctrl-C in a terminal, SIGTERM at logout): exit through
    // the normal path so simulators are stopped too. A SIGKILL (as WebKitWebDriver ends its
    // session) skips every exit path: `remove_stale_links` above tidies up at the next start.
    let handle = app.handle().clone();
    if let Err(e) = ctrlc::set_handler(move || handle.exit(0)) {
        eprintln!(
            "OpenPAYGO Station: no signal handler ({e}); simulators stop only on a normal exit"
        );
    }
    app.run(on_event);
}
