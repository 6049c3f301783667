//! `cargo xtask fuzz`: run the cargo-fuzz targets of `firmware-core/fuzz` (token decoder,
//! UART) and `src-tauri/backend/fuzz` (ledger importers) for a while each.
//!
//! cargo-fuzz wants nightly for sanitizers; with `--sanitizer none` it only needs the
//! SanitizerCoverage passes, which are stable codegen options, plus a few `-Z` flags that
//! `RUSTC_BOOTSTRAP=1` unlocks on the pinned stable toolchain. Overflow checks and debug
//! assertions are on (`--debug-assertions`), so arithmetic slips show up as panics.

use crate::{cargo, flag_value, run_checked, show, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Debug)]
pub(crate) struct Options {
    seconds: u64,
    target: Option<String>,
    /// Passed to libFuzzer after `--`.
    extra: Vec<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut o = Options {
            seconds: 10,
            target: None,
            extra: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--seconds" => o.seconds = flag_value("--seconds", it.next())?,
                "--target" => o.target = Some(flag_value("--target", it.next())?),
                "--" => o.extra = it.by_ref().cloned().collect(),
                other => bail!("fuzz: unknown option `{other}`"),
            }
        }
        if o.seconds == 0 {
            bail!("--seconds must be at least 1");
        }
        Ok(o)
    }
}

/// The crates with a `fuzz/` directory, in the order their targets run.
const CRATES: [&str; 2] = ["firmware-core", "src-tauri/backend"];

fn fuzz_dir(krate: &str) -> PathBuf {
    workspace_root().join(krate).join("fuzz")
}

/// `cargo fuzz` from the crate's directory (cargo-fuzz looks for the crate there).
fn cargo_fuzz(krate: &str) -> Command {
    let mut cmd = cargo();
    cmd.current_dir(workspace_root().join(krate))
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz");
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let ok = cargo_fuzz(CRATES[0])
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    eprintln!("cargo-fuzz is not installed; installing it (`cargo install cargo-fuzz --locked`, ~1-2 min)");
    run_checked(cargo().args(["install", "cargo-fuzz", "--locked"])).context(
        "could not install cargo-fuzz; install it by hand with `cargo install cargo-fuzz --locked`",
    )
}

fn list_targets(krate: &str) -> Result<Vec<String>> {
    let mut cmd = cargo_fuzz(krate);
    cmd.arg("list").arg("--fuzz-dir").arg(fuzz_dir(krate));
    let out = cmd
        .output()
        .with_context(|| format!("running `{}`", show(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed:\n{}",
            show(&cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// What libFuzzer reported at the end of a run (`-print_final_stats=1`).
#[derive(Debug, Default)]
struct Stats {
    runs: Option<u64>,
    exec_per_sec: Option<u64>,
    new_units: Option<u64>,
    peak_rss_mb: Option<u64>,
    corpus: Option<String>,
    /// Where libFuzzer saved a crashing input.
    artifact: Option<String>,
}

impl Stats {
    fn read(&mut self, line: &str) {
        let num = |key: &str| -> Option<u64> {
            line.strip_prefix(key)?
                .trim_start_matches(':')
                .trim()
                .parse()
                .ok()
        };
        if let Some(v) = num("stat::number_of_executed_units") {
            self.runs = Some(v);
        } else if let Some(v) = num("stat::average_exec_per_sec") {
            self.exec_per_sec = Some(v);
        } else if let Some(v) = num("stat::new_units_added") {
            self.new_units = Some(v);
        } else if let Some(v) = num("stat::peak_rss_mb") {
            self.peak_rss_mb = Some(v);
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            self.artifact = Some(path.trim().to_string());
        } else if line.contains(" DONE ") || line.starts_with("#") && line.contains("corp:") {
            // e.g. "#123456 DONE   cov: 310 ft: 1200 corp: 180/9Kb lim: 4096 exec/s: 12345 ..."
            if let Some(c) = line.split("corp: ").nth(1) {
                self.corpus = c.split_whitespace().next().map(str::to_string);
            }
        }
    }
}

pub(crate) fn run(opts: Options) -> Result<()> {
    ensure_cargo_fuzz()?;
    let mut available = Vec::new();
    for krate in CRATES {
        for t in list_targets(krate)? {
            available.push((krate, t));
        }
    }
    let targets: Vec<(&str, String)> = match &opts.target {
        Some(t) => {
            let found: Vec<_> = available.iter().filter(|(_, n)| n == t).cloned().collect();
            if found.is_empty() {
                let names: Vec<&str> = available.iter().map(|(_, n)| n.as_str()).collect();
                bail!("no fuzz target `{t}` (available: {})", names.join(", "));
            }
            found
        }
        None => available,
    };
    if targets.is_empty() {
        bail!("no fuzz targets in {}", CRATES.join(", "));
    }

    let mut summary = Vec::new();
    for (krate, target) in &targets {
        let mut cmd = cargo_fuzz(krate);
        cmd.args(["run", "--sanitizer", "none", "--debug-assertions"])
            .arg("--fuzz-dir")
            .arg(fuzz_dir(krate))
            .arg("--target-dir")
            .arg(target_dir().join("fuzz"))
            .arg(target)
            .arg("--")
            .arg(format!("-max_total_time={}", opts.seconds))
            .arg("-print_final_stats=1")
            .args(&opts.extra)
            .stderr(Stdio::piped());
        let line = show(&cmd);
        eprintln!("$ {line}");
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start `{line}`"))?;
        let mut stats = Stats::default();
        if let Some(err) = child.stderr.take() {
            for l in BufReader::new(err).lines() {
                let l = l.context("reading fuzzer output")?;
                eprintln!("{l}");
                stats.read(&l);
            }
        }
        let status = child.wait().context("waiting for the fuzzer")?;
        if !status.success() {
            let input = stats
                .artifact
                .clone()
                .unwrap_or_else(|| format!("{}/artifacts/{target}/", fuzz_dir(krate).display()));
            bail!(
                "fuzz target `{target}` failed ({status}); crashing input: {input}\n\
                 reproduce: cd {krate} && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none \
                 --debug-assertions {target} {input}"
            );
        }
        summary.push((target.clone(), stats));
    }

    let opt = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    println!(
        "\n{:<20} {:>8} {:>12} {:>10} {:>9} {:>10} {:>8}",
        "fuzz target", "seconds", "runs", "exec/s", "new units", "corpus", "rss MB"
    );
    for (target, s) in &summary {
        println!(
            "{:<20} {:>8} {:>12} {:>10} {:>9} {:>10} {:>8}",
            target,
            opts.seconds,
            opt(s.runs),
            opt(s.exec_per_sec),
            opt(s.new_units),
            s.corpus.as_deref().unwrap_or("?"),
            opt(s.peak_rss_mb)
        );
    }
    println!("no crashes");
    Ok(())
}
