//! "Try without hardware": simulated devices (`paygo::sim`) on pseudo-terminals, run on
//! threads the app owns and stops (on request and on exit).

use super::blocking;
use crate::api::{events, SimInfo, SimStopped};
use crate::error::{CmdResult, CommandError};
use crate::state::{AppState, RunningSim};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime, State};

/// How long a simulator may take to open its pseudo-terminal.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

fn random_bytes<const N: usize>() -> CmdResult<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| paygo::Error::Random(e.to_string()))?;
    Ok(b)
}

/// Start a pre-provisioned simulated device with a fresh random key (a demo device: the
/// key is shown to the user). `on_stopped` runs on the simulator's thread when it ends.
pub fn start(
    state: &Arc<AppState>,
    on_stopped: impl FnOnce(SimStopped) + Send + 'static,
) -> CmdResult<SimInfo> {
    start_with(state, false, on_stopped)
}

/// [`start`], or with `blank` a simulated device with no key at all, as a new board comes
/// off the line: the station provisions it (and the key then lives only in the ledger).
pub fn start_with(
    state: &Arc<AppState>,
    blank: bool,
    on_stopped: impl FnOnce(SimStopped) + Send + 'static,
) -> CmdResult<SimInfo> {
    let id = state.next_sim_id();
    let key = random_bytes::<16>()?;
    let starting_code = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000_000;
    let serial = format!("SIM-{id:04}");
    // Unique per app instance too (two app states in one process must not share a link).
    let tag = u32::from_le_bytes(random_bytes::<4>()?);
    let link = std::env::temp_dir().join(format!(
        "{LINK_PREFIX}{}-{tag:08x}-sim{id}",
        std::process::id()
    ));
    let opts = paygo::sim::SimOptions {
        link: link.clone(),
        state: None,
        clock_speed: 1.0,
        provision: if blank {
            None
        } else {
            Some(paygo::device::prov_line(
                &serial,
                &key,
                starting_code,
                1,
                false,
                1,
            )?)
        },
    };
    let info = if blank {
        SimInfo {
            id,
            port: link.display().to_string(),
            serial: String::new(),
            key: String::new(),
            starting_code: 0,
            blank: true,
        }
    } else {
        SimInfo {
            id,
            port: link.display().to_string(),
            serial,
            key: key.iter().map(|b| format!("{b:02x}")).collect(),
            starting_code,
            blank: false,
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let thread = {
        let stop = Arc::clone(&stop);
        let weak: Weak<AppState> = Arc::downgrade(state);
        std::thread::Builder::new()
            .name(format!("sim-{id}"))
            .spawn(move || {
                #[cfg(unix)]
                let result = paygo::sim::run(&opts, &stop, |_| {
                    let _ = ready_tx.send(());
                });
                // The simulator serves on a pseudo-terminal: Unix only (as `paygo sim`).
                #[cfg(not(unix))]
                let result: Result<(), paygo::Error> = {
                    let _ = (&opts, &stop, ready_tx);
                    Err(paygo::Error::io(
                        "simulated device",
                        "pseudo-terminals need a Unix system",
                    ))
                };
                if let Some(state) = weak.upgrade() {
                    state.forget_sim(id);
                }
                on_stopped(SimStopped {
                    id,
                    error: result.err().map(CommandError::from),
                });
            })
            .map_err(|e| CommandError::new("SIM_FAILED", format!("starting a thread: {e}")))?
    };
    state.add_sim(RunningSim {
        info: info.clone(),
        stop,
        thread: Some(thread),
        link,
    });
    match ready_rx.recv_timeout(READY_TIMEOUT) {
        Ok(()) => Ok(info),
        Err(_) => {
            state.stop_sim(id);
            Err(CommandError::new(
                "SIM_FAILED",
                "the simulated device did not start (see the sim://stopped event for why)",
            ))
        }
    }
}

/// The prefix of every simulator link this app publishes in `dir`: `openpaygo-station-PID-`.
const LINK_PREFIX: &str = "openpaygo-station-";

/// Remove simulator links in `dir` left by app processes that no longer run (killed before
/// they could clean up). Returns how many were removed. Linux only (`/proc`); elsewhere a
/// no-op.
pub fn remove_stale_links(dir: &std::path::Path) -> usize {
    if !std::path::Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(LINK_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if is_link
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Stop simulator `id`.
pub fn stop(state: &AppState, id: u32) -> CmdResult<()> {
    if state.stop_sim(id) {
        Ok(())
    } else {
        Err(CommandError::new(
            "SIM_NOT_FOUND",
            format!("no simulated device {id} is running"),
        ))
    }
}

/// `start_sim`: see [`start`] (`blank: true`: see [`start_with`]); emits `sim://ready` once
/// it serves, `sim://stopped` when it ends.
#[tauri::command]
pub async fn start_sim<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, Arc<AppState>>,
    blank: Option<bool>,
) -> CmdResult<SimInfo> {
    let state = Arc::clone(&state);
    let events = app.clone();
    let blank = blank.unwrap_or(false);
    let info = blocking(move || {
        start_with(&state, blank, move |stopped| {
            let _ = events.emit(events::SIM_STOPPED, stopped);
        })
    })
    .await?;
    let _ = app.emit(events::SIM_READY, &info);
    Ok(info)
}

/// `list_sims`: the simulators running now.
#[tauri::command]
pub fn list_sims(state: State<'_, Arc<AppState>>) -> Vec<SimInfo> {
    state.sims()
}

/// `stop_sim`: see [`stop`].
#[tauri::command]
pub async fn stop_sim(state: State<'_, Arc<AppState>>, id: u32) -> CmdResult<()> {
    let state = Arc::clone(&state);
    blocking(move || stop(&state, id)).await
}
