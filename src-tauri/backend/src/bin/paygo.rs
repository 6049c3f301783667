//! `paygo`: the command line of OpenPAYGO Station, for scripts, factory lines and tests.

use clap::{ArgGroup, Args, Parser, Subcommand};
use paygo::device::{DeviceClient, ProvisionData};
use paygo::token::{self, Action, Unit};
use paygo::Error;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "paygo",
    version,
    about = "OpenPAYGO Station: tokens, devices and ledger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate and decode OpenPAYGO tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Talk to a device over its serial port (USB-UART, simulator pty or QEMU).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Run a simulated device on a pseudo-terminal.
    Sim(SimArgs),
}

#[derive(Subcommand)]
enum DeviceCommand {
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
}

#[derive(Args)]
struct PortArgs {
    /// Serial port (e.g. /dev/ttyUSB0, or the simulator's link).
    #[arg(long)]
    port: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProvisionArgs {
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

#[derive(Args)]
struct SimArgs {
    /// Where to publish the pty (a symlink, replaced if it exists).
    #[arg(long)]
    link: PathBuf,
    /// EEPROM file; the device keeps its state across restarts. In memory without it.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Start pre-provisioned with this serial (needs --key and --starting-code).
    #[arg(long, requires_all = ["key", "starting_code"])]
    serial: Option<String>,
    /// Key for a pre-provisioned simulator.
    #[arg(long)]
    key: Option<String>,
    /// Starting code for a pre-provisioned simulator.
    #[arg(long)]
    starting_code: Option<u32>,
    /// Clock speed factor: 3600 makes an hour pass every second.
    #[arg(long, default_value_t = 1.0)]
    clock_speed: f64,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Generate the token that follows COUNT.
    Generate(GenerateArgs),
    /// Decode a token as a device with the given state would.
    Decode(DecodeArgs),
}

#[derive(Args)]
struct UnitArgs {
    /// Secret key, 32 hex characters.
    #[arg(long)]
    key: String,
    /// Starting code; derived from the key when absent.
    #[arg(long)]
    starting_code: Option<u32>,
    /// Restricted digit set (digits 1-4).
    #[arg(long)]
    restricted: bool,
    /// Value divider (1-255): days × divider is embedded.
    #[arg(long, default_value_t = 1)]
    divider: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl UnitArgs {
    fn unit(&self) -> Result<Unit, Error> {
        Ok(Unit {
            key: token::parse_key(&self.key)?,
            starting_code: self.starting_code,
            restricted: self.restricted,
            divider: token::check_divider(self.divider)?,
        })
    }
}

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["add", "set", "unlock", "sync"])))]
struct GenerateArgs {
    #[command(flatten)]
    unit: UnitArgs,
    /// The unit's last count (the count of the last token issued).
    #[arg(long)]
    count: u32,
    /// Add DAYS (may be fractional).
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    add: Option<String>,
    /// Set the remaining time to DAYS.
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    set: Option<String>,
    /// Unlock for good (DISABLE_PAYG).
    #[arg(long)]
    unlock: bool,
    /// Counter synchronisation token.
    #[arg(long)]
    sync: bool,
    /// Extended token (12 digits, 20 restricted).
    #[arg(long)]
    extended: bool,
}

#[derive(Args)]
struct DecodeArgs {
    /// The token; spaces and dashes are ignored.
    token: String,
    #[command(flatten)]
    unit: UnitArgs,
    /// The device's last count.
    #[arg(long)]
    count: u32,
    /// Used counts below the last count, comma separated.
    #[arg(long, default_value = "")]
    used: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = match &cli.command {
        Command::Token(TokenCommand::Generate(a)) => a.unit.json,
        Command::Token(TokenCommand::Decode(a)) => a.unit.json,
        Command::Device(DeviceCommand::Info(p) | DeviceCommand::Token { port: p, .. }) => p.json,
        Command::Device(DeviceCommand::Provision(a)) => a.port.json,
        Command::Sim(_) => false,
    };
    match run(cli.command) {
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

fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Token(TokenCommand::Generate(args)) => {
            let unit = args.unit.unit()?;
            let action = match (&args.add, &args.set) {
                (Some(days), _) => Action::Add(token::parse_days(days)?),
                (_, Some(days)) => Action::Set(token::parse_days(days)?),
                _ if args.unlock => Action::Unlock,
                _ => Action::Sync,
            };
            let issued = token::generate(&unit, args.count, action, args.extended)?;
            if args.unit.json {
                print_json(&issued);
            } else {
                println!("{}", token::group_digits(&issued.token));
            }
        }
        Command::Token(TokenCommand::Decode(args)) => {
            let unit = args.unit.unit()?;
            let used = token::parse_used(&args.used)?;
            let report = token::decode(&unit, args.count, &used, &args.token)?;
            if args.unit.json {
                print_json(&report);
            } else {
                match (report.value, report.count) {
                    (Some(value), Some(count)) => match report.days {
                        Some(days) => println!(
                            "{} {days} days (value {value}, count {count})",
                            report.result
                        ),
                        None => println!("{} (count {count})", report.result),
                    },
                    _ => println!("{}", report.result),
                }
                let used: Vec<String> = report.state.used.iter().map(u32::to_string).collect();
                println!(
                    "device count {}, used {}",
                    report.state.count,
                    used.join(",")
                );
            }
        }
        Command::Device(command) => device(command)?,
        Command::Sim(args) => sim(args)?,
    }
    Ok(())
}

fn device(command: DeviceCommand) -> Result<(), Error> {
    match command {
        DeviceCommand::Info(port) => {
            let mut client = DeviceClient::connect(&port.port)?;
            let status = if client.identity().provisioned {
                Some(client.status()?)
            } else {
                None
            };
            let id = client.identity().clone();
            if port.json {
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
            if port.json {
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
            if args.port.json {
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
    }
    Ok(())
}

#[cfg(unix)]
fn sim(args: SimArgs) -> Result<(), Error> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    if !(args.clock_speed.is_finite() && args.clock_speed > 0.0) {
        return Err(Error::io("--clock-speed", "must be a positive number"));
    }
    let provision = match (&args.serial, &args.key, args.starting_code) {
        (Some(serial), Some(key), Some(sc)) => Some(paygo::device::prov_line(
            serial,
            &token::parse_key(key)?,
            sc,
            1,
            false,
            1,
        )?),
        _ => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
        .map_err(|e| Error::io("installing the signal handler", e))?;
    let opts = paygo::sim::SimOptions {
        link: args.link.clone(),
        state: args.state,
        clock_speed: args.clock_speed,
        provision,
    };
    paygo::sim::run(&opts, &stop, |pty| {
        println!(
            "simulated device on {} (link {})",
            pty.display(),
            args.link.display()
        );
    })
}

#[cfg(not(unix))]
fn sim(_: SimArgs) -> Result<(), Error> {
    Err(Error::io(
        "paygo sim",
        "pseudo-terminals need a Unix system",
    ))
}

fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}
