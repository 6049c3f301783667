//! The one piece of state the app manages: the simulators it started, a lock that keeps
//! two commands from talking over each other on a serial line, and the open ledger.

use crate::api::{AutolockSource, SimInfo};
use paygo::ledger::Ledger;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Idle time after which the ledger locks itself (overridden by `PAYGO_AUTOLOCK_SECS`).
pub const DEFAULT_AUTOLOCK: Duration = Duration::from_secs(10 * 60);

fn autolock_from_env() -> Option<Duration> {
    std::env::var("PAYGO_AUTOLOCK_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A simulator thread and how to stop it.
#[derive(Debug)]
pub struct RunningSim {
    /// What the UI was told.
    pub info: SimInfo,
    /// Set to stop it.
    pub stop: Arc<AtomicBool>,
    /// The simulator thread.
    pub thread: Option<JoinHandle<()>>,
    /// The symlink it publishes (removed when it stops).
    pub link: PathBuf,
}

impl RunningSim {
    fn stop_and_join(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.link);
    }
}

/// Managed once by [`crate::build`].
#[derive(Debug, Default)]
pub struct AppState {
    sims: Mutex<Sims>,
    serial_io: Mutex<()>,
    /// The open ledger (one per app), unlocked or read-only; `None` until created or opened.
    ledger: Mutex<Option<Ledger>>,
    /// When a ledger command last ran (`None` before the first one).
    last_activity: Mutex<Option<Instant>>,
    /// Auto-lock time set by [`AppState::set_autolock`]; else the env or the default.
    autolock: Mutex<Option<Duration>>,
}

#[derive(Debug, Default)]
struct Sims {
    next_id: u32,
    running: BTreeMap<u32, RunningSim>,
}

impl AppState {
    /// A new id for a simulator about to start.
    pub fn next_sim_id(&self) -> u32 {
        let mut sims = lock(&self.sims);
        sims.next_id += 1;
        sims.next_id
    }

    /// Record a started simulator.
    pub fn add_sim(&self, sim: RunningSim) {
        lock(&self.sims).running.insert(sim.info.id, sim);
    }

    /// The simulators running now.
    pub fn sims(&self) -> Vec<SimInfo> {
        lock(&self.sims)
            .running
            .values()
            .map(|s| s.info.clone())
            .collect()
    }

    /// Stop one simulator and wait for its thread; `false` if there is no such id.
    pub fn stop_sim(&self, id: u32) -> bool {
        let sim = lock(&self.sims).running.remove(&id);
        match sim {
            Some(sim) => {
                sim.stop_and_join();
                true
            }
            None => false,
        }
    }

    /// Forget a simulator whose thread ended by itself.
    pub fn forget_sim(&self, id: u32) {
        if let Some(sim) = lock(&self.sims).running.remove(&id) {
            let _ = std::fs::remove_file(&sim.link);
        }
    }

    /// Stop every simulator (on exit).
    pub fn stop_all(&self) {
        let all = std::mem::take(&mut lock(&self.sims).running);
        for sim in all.into_values() {
            sim.stop_and_join();
        }
    }

    /// The ledger slot, held for the whole of a ledger command (SQLite calls are short; an
    /// unlock holds it for one key derivation).
    /// A ledger left idle longer than the auto-lock time is closed first (the command then
    /// sees `LEDGER_CLOSED` and the UI shows the unlock form).
    /// Idle time counts from when the command lets go of the ledger (a long import is not
    /// idleness).
    pub fn ledger(&self) -> LedgerGuard<'_> {
        let mut slot = lock(&self.ledger);
        let now = Instant::now();
        let mut last = lock(&self.last_activity);
        let (limit, _) = self.autolock_for(slot.as_ref());
        if last.is_some_and(|t| now.duration_since(t) >= limit) {
            *slot = None;
        }
        *last = Some(now);
        LedgerGuard {
            slot,
            last_activity: &self.last_activity,
        }
    }

    /// The auto-lock time in force and where it comes from: [`AppState::set_autolock`]
    /// (tests) or `PAYGO_AUTOLOCK_SECS`, else the open ledger's `autolock_minutes` setting
    /// (read each time, so a change applies at once), else [`DEFAULT_AUTOLOCK`].
    pub fn autolock_for(&self, ledger: Option<&Ledger>) -> (Duration, AutolockSource) {
        if let Some(d) = (*lock(&self.autolock)).or_else(autolock_from_env) {
            return (d, AutolockSource::Env);
        }
        match ledger.and_then(|l| l.autolock_minutes().ok().flatten()) {
            Some(m) => (
                Duration::from_secs(u64::from(m) * 60),
                AutolockSource::Ledger,
            ),
            None => (DEFAULT_AUTOLOCK, AutolockSource::Default),
        }
    }

    /// Lock the ledger after `idle` without a ledger command (instead of the env or default).
    pub fn set_autolock(&self, idle: Duration) {
        *lock(&self.autolock) = Some(idle);
    }

    /// Held while a command talks on a serial port.
    pub fn serial_io(&self) -> MutexGuard<'_, ()> {
        lock(&self.serial_io)
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A poisoned lock only means another command panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ledger slot held by one command; dropping it marks the end of ledger activity.
#[derive(Debug)]
pub struct LedgerGuard<'a> {
    slot: MutexGuard<'a, Option<Ledger>>,
    last_activity: &'a Mutex<Option<Instant>>,
}

impl std::ops::Deref for LedgerGuard<'_> {
    type Target = Option<Ledger>;
    fn deref(&self) -> &Option<Ledger> {
        &self.slot
    }
}

impl std::ops::DerefMut for LedgerGuard<'_> {
    fn deref_mut(&mut self) -> &mut Option<Ledger> {
        &mut self.slot
    }
}

impl Drop for LedgerGuard<'_> {
    fn drop(&mut self) {
        *lock(self.last_activity) = Some(Instant::now());
    }
}
