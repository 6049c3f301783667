//! `paygo provision`: closed-loop factory provisioning against the ledger, for one port, a
//! queue of ports or one device after another on one port (`--next`); `--recover` resolves
//! provisionings an interrupted run left pending.

use crate::print_json;
use clap::Args;
use paygo::station::batch::{self, BatchRow};
use paygo::station::provision::{self, ProvisionOptions};
use paygo::station::Progress;
use paygo::{token, Error};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ProvisionArgs {
    /// Serial port of the device; repeat for a batch (provisioned one after the other).
    #[arg(long, required = true)]
    port: Vec<String>,
    /// Model / board name recorded in the ledger.
    #[arg(long)]
    model: Option<String>,
    /// Serial pattern ({seq}, {seq:0N}, {yyyy}); default: the ledger's serial_pattern
    /// setting, else SN-{seq:06}.
    #[arg(long)]
    serial_pattern: Option<String>,
    /// Initial token count written to the device.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Restricted digit set (keypad 1-4).
    #[arg(long)]
    restricted: bool,
    /// Value divider (1-255).
    #[arg(long, default_value_t = 1)]
    divider: u32,
    /// Who provisions (audit log).
    #[arg(long)]
    operator: Option<String>,
    /// One device after another on one port: wait for Enter before each (q or end of input
    /// finishes).
    #[arg(long, conflicts_with = "recover")]
    next: bool,
    /// Write the batch report (CSV: serial, port, started, duration_ms, result, error) here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Only resolve provisionings an interrupted run left pending, with the device on the
    /// port: complete if it proves it holds the key, abort otherwise.
    #[arg(long)]
    recover: bool,
    /// How long to wait for a device to answer, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    patience_ms: u64,
}

/// Returns whether everything succeeded (a batch prints its report either way).
pub fn run(a: ProvisionArgs, json: bool, ledger_arg: Option<PathBuf>) -> Result<bool, Error> {
    let divider = token::check_divider(a.divider)?;
    let opts = ProvisionOptions {
        model: a.model.clone(),
        serial_pattern: a.serial_pattern.clone(),
        count: a.count,
        restricted: a.restricted,
        divider: u8::try_from(divider).map_err(|_| Error::BadDivider(divider))?,
        operator: a.operator.clone(),
        patience: Duration::from_millis(a.patience_ms),
    };
    let mut l = crate::ledger::open(ledger_arg, true)?;
    let mut progress = |p: &Progress| {
        if !json {
            eprintln!("{}", p.describe());
        }
    };

    if a.recover {
        let mut all = Vec::new();
        for port in &a.port {
            all.extend(provision::recover(
                &mut l,
                port,
                opts.patience,
                opts.operator.as_deref(),
                &mut progress,
            )?);
        }
        if json {
            print_json(&serde_json::json!({ "recovered": all }));
        } else if all.is_empty() {
            println!("nothing pending for the device on {}", a.port.join(", "));
        } else {
            for r in &all {
                println!("{} {}: {}", r.serial, r.outcome, r.reason);
            }
        }
        return Ok(all.iter().all(|r| r.outcome != "left_pending"));
    }

    if a.port.len() == 1 && !a.next && a.report.is_none() {
        let p = provision::provision_device(&mut l, &a.port[0], &opts, &mut progress)?;
        if json {
            print_json(&p);
        } else {
            println!(
                "provisioned {} on {} (starting code {}, count {}){}",
                p.serial,
                p.port,
                p.starting_code,
                p.count,
                if p.recovered {
                    ", completed from an interrupted run"
                } else {
                    ""
                }
            );
        }
        return Ok(true);
    }

    let rows: Vec<BatchRow> = if a.next {
        let port = match a.port.as_slice() {
            [one] => one.clone(),
            _ => return Err(Error::io("--next", "works on one port; give --port once")),
        };
        let mut rows = Vec::new();
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        loop {
            eprintln!(
                "connect the next device to {port} and press Enter (q then Enter, or end of input, to finish)"
            );
            match lines.next() {
                Some(Ok(line)) if line.trim().eq_ignore_ascii_case("q") => break,
                Some(Ok(_)) => {}
                _ => break,
            }
            let row = batch::provision_row(&mut l, &port, &opts, &mut progress);
            if !json {
                print_row(&row);
            }
            rows.push(row);
            if let Some(path) = &a.report {
                // Kept current after every device, so an interrupted batch keeps its report.
                batch::write_report(path, &rows)?;
            }
        }
        rows
    } else {
        let mut rows = Vec::new();
        for port in &a.port {
            let row = batch::provision_row(&mut l, port, &opts, &mut progress);
            if !json {
                print_row(&row);
            }
            rows.push(row);
            if let Some(path) = &a.report {
                batch::write_report(path, &rows)?;
            }
        }
        rows
    };
    if let Some(path) = &a.report {
        batch::write_report(path, &rows)?;
    }
    let ok = rows.iter().filter(|r| r.ok()).count();
    let failed = rows.len() - ok;
    if json {
        print_json(&serde_json::json!({ "results": rows, "ok": ok, "failed": failed }));
    } else {
        println!("{ok} provisioned, {failed} failed");
    }
    Ok(failed == 0)
}

fn print_row(r: &BatchRow) {
    match (&r.serial, &r.error) {
        (Some(s), _) => println!(
            "ok    {} {s} (starting code {}, {} ms)",
            r.port,
            r.starting_code.unwrap_or_default(),
            r.duration_ms
        ),
        (None, Some(e)) => println!("error {} {}: {}", r.port, e.code, e.message),
        (None, None) => println!("error {}", r.port),
    }
}
