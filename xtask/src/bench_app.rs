//! `cargo xtask bench-app`: the desktop app's speed as its users feel it (a benchmark: it
//! measures and reports, it never fails on a number).
//!
//! - Cold start to interactive: the release app spawned N times under Xvfb; the time from
//!   spawn until the front end reports its first screen drawn and the back-end answering
//!   (`commands::app::app_ready`, `PAYGO_STARTUP_PROBE=exit`), plus the in-process share.
//! - Fleet view with 100 000 units: a ledger seeded through the `paygo` CLI (OpenPAYGO CSV
//!   import, cached under `<target>/bench-app/`), driven in the real window over WebDriver by
//!   `ui/e2e/bench-fleet.mjs`, which times each interaction inside the page (click → table
//!   updated) and reports median / p95 / max.
//!
//! Results: `<target>/bench-app/report.json` and a table on stdout.

use crate::e2e_ui::{build_ui, wait_until, Guard, Headless, APT_PACKAGES};
use crate::{cargo, flag_value, run_checked, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "bench passphrase 100k";

pub(crate) struct Options {
    runs: usize,
    units: u32,
    debug: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut o = Options {
            runs: 10,
            units: 100_000,
            debug: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--runs" => o.runs = flag_value("--runs", it.next())?,
                "--units" => o.units = flag_value("--units", it.next())?,
                // Try the harness without a release build (numbers are not the product's).
                "--debug" => o.debug = true,
                other => bail!("bench-app: unknown option `{other}`"),
            }
        }
        if o.runs == 0 || o.units == 0 {
            bail!("bench-app: --runs and --units must be at least 1");
        }
        Ok(o)
    }
}

pub(crate) fn run(o: Options) -> Result<()> {
    let root = workspace_root();
    crate::ci::apt_install(&APT_PACKAGES)?;
    build_ui(&root)?;
    let profile = if o.debug { "debug" } else { "release" };
    // One invocation for both binaries: one feature resolution, one build.
    let mut build = cargo();
    build
        .current_dir(&root)
        .args(["build", "-p", "paygo-desktop", "-p", "paygo"]);
    if !o.debug {
        build.arg("--release");
    }
    run_checked(&mut build)?;
    let bin = target_dir().join(profile);
    let app = bin.join("paygo-desktop");
    let out = target_dir().join("bench-app");
    std::fs::create_dir_all(&out)?;

    let seeded = seed(&bin.join("paygo"), &out, o.units)?;
    // Each run gets a copy: the benchmark never writes to the cached ledger.
    let ledger = out.join("run-ledger.sqlite");
    std::fs::copy(&seeded, &ledger).context("copying the seeded ledger")?;

    let cold = cold_starts(&app, &ledger, o.runs)?;
    let fleet_json = out.join("fleet.json");
    let _ = std::fs::remove_file(&fleet_json);
    {
        let headless = Headless::start(&[("PAYGO_LEDGER", ledger.as_os_str())])?;
        let status = headless.run_node(
            &root.join("ui").join("e2e").join("bench-fleet.mjs"),
            &[
                ("APP_PATH", app.as_os_str()),
                ("BENCH_OUT", fleet_json.as_os_str()),
                ("BENCH_PASSPHRASE", OsStr::new(PASSPHRASE)),
                ("BENCH_UNITS", OsStr::new(&o.units.to_string())),
                ("ARTIFACTS", out.as_os_str()),
            ],
            Duration::from_secs(600),
        )?;
        if !status.success() {
            bail!("the fleet benchmark script failed ({status})");
        }
    }
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&fleet_json).with_context(|| format!("reading {}", fleet_json.display()))?,
    )?;
    let mut ops = serde_json::Map::new();
    for (name, samples) in raw["samples"].as_object().into_iter().flatten() {
        let xs: Vec<f64> = samples
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        ops.insert(name.clone(), stats(&xs));
    }
    let fleet = serde_json::json!({ "ops": ops, "samples": raw["samples"], "notes": raw["notes"] });

    let report = serde_json::json!({
        "profile": profile,
        "units": o.units,
        "cold_start": cold,
        "fleet": fleet,
    });
    let path = out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    print_table(&report);
    println!("bench-app: report in {}", path.display());
    Ok(())
}

/// A ledger with `units` units, made once through the CLI and cached (keyed by the count).
fn seed(paygo: &Path, out: &Path, units: u32) -> Result<PathBuf> {
    let ledger = out.join(format!("ledger-{units}.sqlite"));
    let done = out.join(format!("ledger-{units}.done"));
    if ledger.is_file() && done.is_file() {
        eprintln!("bench-app: using the seeded ledger {}", ledger.display());
        // Opening it migrates it to this build's schema, so the app's unlock is measured
        // without a one-off migration of 100 000 rows.
        run_checked(
            Command::new(paygo)
                .arg("--ledger")
                .arg(&ledger)
                .args(["ledger", "verify"])
                .env("PAYGO_PASSPHRASE", PASSPHRASE)
                .stdout(Stdio::null()),
        )?;
        return Ok(ledger);
    }
    for ext in ["", "-wal", "-shm"] {
        let mut p = ledger.clone().into_os_string();
        p.push(ext);
        let _ = std::fs::remove_file(p);
    }
    let t = Instant::now();
    let cli = |args: &[&OsStr]| {
        let mut c = Command::new(paygo);
        c.arg("--ledger")
            .arg(&ledger)
            .args(args)
            .env("PAYGO_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::null());
        c
    };
    run_checked(&mut cli(&[OsStr::new("ledger"), OsStr::new("init")]))?;
    let csv = out.join(format!("units-{units}.csv"));
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(
            w,
            "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model"
        )?;
        for i in 0..units {
            // Distinct, reproducible keys and starting codes (never real devices).
            let key = u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ 0x5a;
            let model = ["SHS-10", "SHS-20", "TV-32"][i as usize % 3];
            writeln!(
                w,
                "BN-{i:06},{},{key:032x},{},1,0,{model}",
                100_000_000 + (i.wrapping_mul(7919) % 800_000_000),
                i % 40
            )?;
        }
    }
    run_checked(&mut cli(&[
        OsStr::new("ledger"),
        OsStr::new("import"),
        OsStr::new("--format"),
        OsStr::new("openpaygo-csv"),
        csv.as_os_str(),
    ]))?;
    let _ = std::fs::remove_file(&csv);
    std::fs::write(&done, b"")?;
    eprintln!(
        "bench-app: seeded {units} units in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(ledger)
}

/// Spawn the app `runs` times; each reports when it is interactive and quits.
fn cold_starts(app: &Path, ledger: &Path, runs: usize) -> Result<serde_json::Value> {
    let (display, _xvfb) = Headless::display()?;
    let mut wall = Vec::new();
    let mut inside = Vec::new();
    let mut paint = Vec::new();
    for run in 0..runs {
        let t0 = Instant::now();
        let mut cmd = Command::new(app);
        cmd.env("DISPLAY", &display)
            .env("PAYGO_LEDGER", ledger)
            .env("PAYGO_STARTUP_PROBE", "exit")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = Guard::spawn("app", &mut cmd)?;
        let stdout = child
            .stdout()
            .context("the app's stdout was not captured")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("interactive_ms=") {
                    let _ = tx.send((Instant::now(), line));
                    return;
                }
            }
        });
        let (at, line) = rx
            .recv_timeout(Duration::from_secs(60))
            .with_context(|| format!("run {run}: the app did not report interactive in 60 s"))?;
        let ms = at.duration_since(t0).as_secs_f64() * 1000.0;
        let field = |name: &str| -> Result<f64> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .context("malformed startup line")?
                .parse()
                .with_context(|| format!("malformed {name} in `{line}`"))
        };
        wall.push(ms);
        inside.push(field("interactive_ms")?);
        paint.push(field("first_paint_ms")?);
        wait_until(Duration::from_secs(10), "the app to quit", || {
            child.exited().is_some()
        })?;
        eprintln!("bench-app: cold start {run}: {ms:.0} ms to interactive");
    }
    Ok(serde_json::json!({
        "runs": runs,
        "spawn_to_interactive_ms": stats(&wall),
        "main_to_interactive_ms": stats(&inside),
        "page_first_paint_ms": stats(&paint),
        "first_run_ms": wall.first(),
    }))
}

/// min / median / p95 / max of `xs`, in the unit given.
fn stats(xs: &[f64]) -> serde_json::Value {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v.get(i).copied().unwrap_or(f64::NAN)
    };
    let r = |x: f64| (x * 10.0).round() / 10.0;
    serde_json::json!({
        "n": v.len(),
        "min": r(at(0.0)),
        "median": r(at(0.5)),
        "p95": r(at(0.95)),
        "max": r(at(1.0)),
    })
}

fn print_table(report: &serde_json::Value) {
    let row = |name: &str, s: &serde_json::Value| {
        let f = |k: &str| s[k].to_string();
        println!(
            "{name:<44} {:>8} {:>8} {:>8} {:>8} {:>4}",
            f("min"),
            f("median"),
            f("p95"),
            f("max"),
            f("n")
        );
    };
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8} {:>4}",
        format!(
            "ms ({} build, {} units)",
            report["profile"].as_str().unwrap_or("?"),
            report["units"]
        ),
        "min",
        "median",
        "p95",
        "max",
        "n"
    );
    let cold = &report["cold_start"];
    row(
        "cold start: spawn → interactive",
        &cold["spawn_to_interactive_ms"],
    );
    row(
        "cold start: main() → interactive",
        &cold["main_to_interactive_ms"],
    );
    row("cold start: page first paint", &cold["page_first_paint_ms"]);
    if let Some(ops) = report["fleet"]["ops"].as_object() {
        for (name, s) in ops {
            row(&format!("fleet: {name}"), s);
        }
    }
}
