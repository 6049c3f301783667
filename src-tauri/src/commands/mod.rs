//! Thin `#[tauri::command]`s, one module per area. Each unpacks its state and arguments and
//! calls a plain function (tested without a window) that calls the `paygo` back-end.
//!
//! Areas still to come slot in as siblings (`flash`, probe-rs), each registered in
//! [`crate::build`].

pub mod app;
pub mod devices;
pub mod fleet;
pub mod ledger;
pub mod settings;
pub mod sim;
pub mod station;
pub mod tokens;
pub mod transfer;

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use std::sync::Arc;

/// The app's managed state as commands take it.
pub(crate) type AppArc<'a> = tauri::State<'a, Arc<AppState>>;

/// An optional text field as typed: trimmed, and `None` when blank.
pub(crate) fn trimmed(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Run blocking I/O (serial ports, waiting for a simulator) off the main thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CmdResult<T> + Send + 'static,
) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| CommandError::new("INTERNAL", format!("background task failed: {e}")))?
}
