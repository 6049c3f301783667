//! `paygo device info|token|provision|readout`: one device over its serial port.

use crate::print_json;
use clap::{Args, Subcommand};
use paygo::device::{DeviceClient, ProvisionData};
use paygo::token;
use paygo::Error;

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Identify the device and read its status.
    Info(PortArgs),
    /// Enter a token on the device.
    Token {
        #[command(flatten)]
        port: PortArgs,
        /// The token; spaces and dashes are ignored.
        token: String,
    },
    /// Write factory data to a blank device and verify it by challenge.
    Provision(ProvisionArgs),
    /// Field read-out: ID and STATUS, the key checked against the ledger by challenge, the
    /// device count recorded and reconciled with the ledger's.
    Readout {
        #[command(flatten)]
        port: PortArgs,
        /// Who reads it out (audit log).
        #[arg(long)]
        operator: Option<String>,
    },
}

#[derive(Args)]
pub struct PortArgs {
    /// Serial port (e.g. /dev/ttyUSB0, or the simulator's link).
    #[arg(long)]
    pub port: String,
}

#[derive(Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    port: PortArgs,
    /// Serial number (1-16 of A-Z a-z 0-9 -).
    #[arg(long)]
    serial: String,
    /// Secret key, 32 hex characters.
    #[arg(long)]
    key: String,
    /// Starting code.
    #[arg(long)]
    starting_code: u32,
    /// Initial count.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Restricted digit set (keypad 1-4).
    #[arg(long)]
    restricted: bool,
    /// Value divider (1-255).
    #[arg(long, default_value_t = 1)]
    divider: u32,
}

pub fn run(
    command: DeviceCommand,
    json: bool,
    ledger_arg: Option<std::path::PathBuf>,
) -> Result<(), Error> {
    match command {
        DeviceCommand::Info(port) => {
            let mut client = DeviceClient::connect(&port.port)?;
            let status = if client.identity().provisioned {
                Some(client.status()?)
            } else {
                None
            };
            let id = client.identity().clone();
            if json {
                print_json(
                    &serde_json::json!({ "port": port.port, "identity": id, "status": status }),
                );
            } else {
                println!(
                    "{}: protocol {}, firmware {}",
                    port.port, id.protocol, id.firmware
                );
                match &id.serial {
                    Some(serial) => println!(
                        "serial {serial}{}",
                        if id.restricted {
                            " (restricted digits)"
                        } else {
                            ""
                        }
                    ),
                    None => println!("not provisioned"),
                }
                if let Some(s) = status {
                    println!(
                        "{} count {}, credit {}, lockout {} s, last token {}",
                        s.state,
                        s.count,
                        paygo::device::format_duration(s.credit_seconds),
                        s.lockout_seconds,
                        s.last_result.unwrap_or("none")
                    );
                }
            }
        }
        DeviceCommand::Token { port, token } => {
            let mut client = DeviceClient::connect(&port.port)?;
            let answer = client.enter_token(&token)?;
            if json {
                print_json(&answer);
            } else {
                match (answer.value, answer.count, answer.lockout_seconds) {
                    (_, _, Some(s)) => println!("LOCKED for {s} s after wrong tokens"),
                    (Some(v), Some(c), _) => println!("{} value {v} (count {c})", answer.result),
                    (_, Some(c), _) => println!("{} (device count {c})", answer.result),
                    _ => println!("{}", answer.result),
                }
            }
        }
        DeviceCommand::Provision(args) => {
            let divider = token::check_divider(args.divider)?;
            let data = ProvisionData {
                serial: args.serial.clone(),
                key: token::parse_key(&args.key)?,
                starting_code: args.starting_code,
                count: args.count,
                restricted: args.restricted,
                divider: u8::try_from(divider).map_err(|_| Error::BadDivider(divider))?,
            };
            let mut client = DeviceClient::connect(&args.port.port)?;
            client.provision(&data)?;
            if json {
                print_json(
                    &serde_json::json!({ "serial": args.serial, "starting_code": args.starting_code, "verified": true }),
                );
            } else {
                println!(
                    "provisioned {} and verified its key by challenge",
                    args.serial
                );
            }
        }
        DeviceCommand::Readout { port, operator } => {
            let mut l = crate::ledger::open(ledger_arg, true)?;
            let r = paygo::station::readout::readout(
                &mut l,
                &port.port,
                paygo::link::CONNECT_PATIENCE,
                operator.as_deref(),
            )?;
            if json {
                print_json(&r);
            } else {
                println!(
                    "{} on {}: key verified, {} count {}, credit {}{}",
                    r.identity.serial.as_deref().unwrap_or("-"),
                    r.port,
                    r.status.state,
                    r.status.count,
                    paygo::device::format_duration(r.status.credit_seconds),
                    r.customer
                        .as_deref()
                        .map(|c| format!(", customer {c}"))
                        .unwrap_or_default()
                );
                println!(
                    "ledger: {}, last issued count {}; device count {} recorded",
                    r.ledger_status, r.ledger_count, r.device_count
                );
                println!("{}: {}", r.reconcile.code, r.reconcile.message);
                if let Some(a) = &r.reconcile.advice {
                    println!("advice: {a}");
                }
                if let Some(cmd) = &r.reconcile.suggest {
                    println!("suggested: {cmd}");
                }
            }
        }
    }
    Ok(())
}
