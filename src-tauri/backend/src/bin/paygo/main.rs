//! `paygo`: the command line of OpenPAYGO Station, for scripts, factory lines and tests.
//!
//! One module per command area; each parses its arguments and calls the `paygo` library.

mod device;
mod devices;
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
    Probes,
    /// Search the chip registry (or show one chip with --info).
    Chips(flash::ChipsArgs),
    /// Flash a firmware ELF into a chip through a debug probe.
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
        Command::Probes => flash::probes(json),
        Command::Chips(args) => flash::chips(args, json),
        Command::Flash(args) => flash::run(args, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
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
