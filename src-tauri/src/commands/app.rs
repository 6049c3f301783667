//! The front end's startup report: when the first screen was drawn and the back-end answered,
//! the app is interactive. Logged on every start; `PAYGO_STARTUP_PROBE` makes it measurable
//! from outside (`cargo xtask bench-app` spawns the app and reads the line).

use std::sync::OnceLock;
use std::time::Instant;
use tauri::{AppHandle, Runtime};

/// `print`: write `interactive_ms=<ms>` on stdout; `exit`: the same, then quit.
pub const STARTUP_PROBE_ENV: &str = "PAYGO_STARTUP_PROBE";

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Called first thing in [`crate::run`]: the zero of the startup time.
pub fn mark_start() {
    let _ = STARTED.set(Instant::now());
}

/// What to do with the report, from the probe variable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Log on stderr only (normal runs).
    Log,
    /// Also print the machine-readable line.
    Print,
    /// Print it and quit (a start-up benchmark run).
    Exit,
}

impl Probe {
    pub fn from_env_value(v: Option<&str>) -> Probe {
        match v.map(str::trim) {
            Some("exit") => Probe::Exit,
            Some("print" | "1") => Probe::Print,
            _ => Probe::Log,
        }
    }
}

/// The machine-readable line: milliseconds from `run()` to interactive, and the page's own
/// first paint (milliseconds since its navigation started).
pub fn report_line(interactive_ms: f64, first_paint_ms: f64) -> String {
    format!("interactive_ms={interactive_ms:.1} first_paint_ms={first_paint_ms:.1}")
}

/// Milliseconds since [`mark_start`] (0 if it was never called, e.g. in tests).
pub fn since_start_ms() -> f64 {
    STARTED
        .get()
        .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0)
}

#[tauri::command]
pub fn app_ready<R: Runtime>(app: AppHandle<R>, first_paint_ms: f64) {
    let line = report_line(since_start_ms(), first_paint_ms);
    eprintln!("OpenPAYGO Station: {line}");
    let probe = Probe::from_env_value(std::env::var(STARTUP_PROBE_ENV).ok().as_deref());
    if probe != Probe::Log {
        println!("{line}");
    }
    if probe == Probe::Exit {
        app.exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_values() {
        assert_eq!(Probe::from_env_value(None), Probe::Log);
        assert_eq!(Probe::from_env_value(Some("")), Probe::Log);
        assert_eq!(Probe::from_env_value(Some("1")), Probe::Print);
        assert_eq!(Probe::from_env_value(Some("print")), Probe::Print);
        assert_eq!(Probe::from_env_value(Some(" exit\n")), Probe::Exit);
    }

    #[test]
    fn the_report_line_is_what_bench_app_parses() {
        // xtask bench_app reads `interactive_ms=` and `first_paint_ms=` as numbers.
        assert_eq!(
            report_line(412.345, 98.0),
            "interactive_ms=412.3 first_paint_ms=98.0"
        );
    }
}
