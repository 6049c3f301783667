//! Developer tasks for OpenPAYGO Station, run as `cargo xtask <task>` (see `cargo xtask help`).
//!
//! Every task shells out to the same `cargo` that runs xtask, so the toolchain pinned in
//! `rust-toolchain.toml` and `CARGO_TARGET_DIR` apply to the nested builds too.

mod app;
mod bench_app;
mod ci;
mod cost;
mod e2e_ui;
mod elf;
mod firmware;
mod fuzz;
mod size;
mod thumb;

use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
usage: cargo xtask <task> [options]

tasks:
  app [-- APP_ARGS...]  set up (Debian build packages, npm packages), build the UI and run the
                        desktop app
  ci                    set up what is missing (thumb targets, Debian packages, cargo-fuzz,
                        tauri-driver), build ui/ and run its tests, then fmt check, clippy
                        -D warnings, thumb builds, all tests, size report, fuzz, e2e-ui
  cost                  decoder work in SipHash steps for the worst valid and invalid tokens at
                        counts 10 and 60 000 (host model of the device code)
  thumb                 build firmware-core (release) for thumbv6m-none-eabi and thumbv7m-none-eabi
  size [--json] [--check] [--symbols N]
                        build the size-probe firmware (baseline / decoder / device) at opt-level
                        s and z, print flash sizes, the SipHash + decoder delta (budget 2 KiB,
                        enforced), the device-logic delta (target 4 KiB), the device's RAM state
                        (target 256 B) and any core::fmt code in the device image; --check fails
                        only over an enforced budget, --symbols N lists the N largest symbols
                        not in the baseline (shown anyway when over a budget or target)
  firmware              build the board images in release (micro:bit, LM3S6965, STM32F103C8) into
                        <target>/firmware/BOARD.elf (<target> = $CARGO_TARGET_DIR or target/)
                        and print their flash / RAM sizes
  qemu BOARD [--state-dir DIR]
                        build and run an emulated board (microbit, lm3s6965evb) in QEMU with its
                        UART on a pty (path printed) and its EEPROM in DIR/eeprom.bin
                        (default <target>/firmware/state-BOARD)
  fuzz [--seconds N] [--target NAME] [-- LIBFUZZER_ARGS...]
                        run each cargo-fuzz target (or only NAME) for N seconds (default 10)
                        with the pinned stable toolchain (RUSTC_BOOTSTRAP=1, --sanitizer none)
  e2e-ui                the desktop app end to end in its real window under Xvfb + tauri-driver:
                        installs what is missing, builds ui/ and the app (debug), starts a
                        simulated device from the UI, issues and enters a token, checks the
                        status; screenshots + timings.json into <target>/ui-artifacts/
  bench-app [--runs N] [--units N] [--debug]
                        benchmark (reports, never fails on a number): release app cold start to
                        interactive (N runs, default 10) and the fleet view over a ledger of N
                        units (default 100 000, seeded once through the CLI), timed inside the
                        real window; report in <target>/bench-app/report.json
  help                  this text
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole context chain on one line; no backtrace noise even with RUST_BACKTRACE.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("app") => app::run(rest.strip_prefix(&["--".to_string()][..]).unwrap_or(&rest)),
        Some("ci") => {
            no_args("ci", &rest)?;
            ci::run()
        }
        Some("cost") => {
            no_args("cost", &rest)?;
            cost::run()
        }
        Some("thumb") => {
            no_args("thumb", &rest)?;
            thumb::run()
        }
        Some("size") => size::run(size::Options::parse(&rest)?),
        Some("firmware") => firmware::run_firmware(&rest),
        Some("qemu") => firmware::run_qemu(&rest),
        Some("fuzz") => fuzz::run(fuzz::Options::parse(&rest)?),
        Some("bench-app") => bench_app::run(bench_app::Options::parse(&rest)?),
        Some("e2e-ui") => {
            no_args("e2e-ui", &rest)?;
            e2e_ui::run()
        }
        None | Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => {
            eprint!("{HELP}");
            bail!("unknown task `{other}`")
        }
    }
}

fn no_args(task: &str, rest: &[String]) -> Result<()> {
    if let Some(a) = rest.first() {
        bail!("`{task}` takes no arguments (got `{a}`)");
    }
    Ok(())
}

/// The root of the host workspace (the parent of this crate).
pub(crate) fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The cargo that runs us (so the pinned toolchain is used), or `cargo` on PATH.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
}

/// `CARGO_TARGET_DIR`, or `target/` in the workspace root.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Echo and run a command; fail with the command line when it does not exit with 0.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<()> {
    let line = show(cmd);
    eprintln!("$ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// A command as a shell-like line (environment overrides first), for messages.
pub(crate) fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
        .collect();
    parts.push(lossy(cmd.get_program()));
    parts.extend(cmd.get_args().map(lossy));
    parts.join(" ")
}

fn lossy(s: &OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// Parse the value following a flag as a number.
pub(crate) fn flag_value<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T> {
    let Some(v) = value else {
        bail!("{flag} needs a value");
    };
    v.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: `{v}` is not a valid value"))
}
