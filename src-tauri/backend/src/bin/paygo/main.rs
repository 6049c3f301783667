//! `paygo`: the command line of OpenPAYGO Station, for scripts, factory lines and tests.
//!
//! One module per command area; each parses its arguments and calls the `paygo` library.

mod device;
mod devices;
#[cfg(feature = "flash")]
mod flash;
mod issue;
mod ledger;
mod provision;
mod sim;
mod token;
mod unit;

use clap::{Parser, Subcommand};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "paygo",
    version,
    about = "OpenPAYGO Station: tokens, devices and ledger"
)]
struct Cli {
    /// Print JSON (errors as {"error":{"code","message"}}).
    #[arg(long, global = true)]
    json: bool,
    /// The ledger file (default: <data dir>/openpaygo-station/ledger.sqlite).
    #[arg(long, global = true, value_name = "FILE")]
    ledger: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate and decode OpenPAYGO tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Talk to a device over its serial port (USB-UART, simulator pty or QEMU).
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Find devices: probe USB serial ports (and --port ones) in parallel.
    Devices(devices::DevicesArgs),
    /// Factory provisioning against the ledger: key, serial, device, verification.
    Provision(provision::ProvisionArgs),
    /// Run a simulated device on a pseudo-terminal.
    Sim(sim::SimArgs),
    /// Create and verify the ledger.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Units in the ledger.
    #[command(subcommand)]
    Unit(unit::UnitCommand),
    /// Issue a token from the ledger.
    Issue(issue::IssueArgs),
    /// List the debug probes on USB.
    #[cfg(feature = "flash")]
    Probes,
    /// Search the chip registry (or show one chip with --info).
    #[cfg(feature = "flash")]
    Chips(flash::ChipsArgs),
    /// Flash a firmware ELF into a chip through a debug probe.
    #[cfg(feature = "flash")]
    Flash(flash::FlashArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Token(c) => token::run(c, json),
        Command::Device(c) => device::run(c, json, cli.ledger),
        Command::Devices(args) => devices::run(args, json),
        Command::Provision(args) => match provision::run(args, json, cli.ledger) {
            // A batch printed its report; some device failed.
            Ok(false) => return ExitCode::FAILURE,
            other => other.map(|_| ()),
        },
        Command::Sim(args) => sim::run(args),
        Command::Ledger(c) => ledger::run(c, json, cli.ledger),
        Command::Unit(c) => unit::run(c, json, cli.ledger),
        Command::Issue(args) => issue::run(args, json, cli.ledger),
        #[cfg(feature = "flash")]
        Command::Probes => flash::probes(json),
        #[cfg(feature = "flash")]
        Command::Chips(args) => flash::chips(args, json),
        #[cfg(feature = "flash")]
        Command::Flash(args) => flash::run(args, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                // A refused import prints its whole report (every problem) with the error.
                if let paygo::Error::Ledger(paygo::ledger::LedgerError::ImportRefused(r)) = &e {
                    if let Ok(mut v) = serde_json::to_value(r) {
                        v["error"] = serde_json::json!(e.to_json());
                        print_json(&v);
                        return ExitCode::FAILURE;
                    }
                }
                print_json(&serde_json::json!({ "error": e.to_json() }));
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Print one JSON document on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}
