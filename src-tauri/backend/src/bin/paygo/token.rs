//! `paygo token generate|decode`.

use crate::print_json;
use clap::{ArgGroup, Args, Subcommand};
use paygo::token::{self, Action, Unit};
use paygo::Error;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Generate the token that follows COUNT.
    Generate(GenerateArgs),
    /// Decode a token as a device with the given state would.
    Decode(DecodeArgs),
}

#[derive(Args)]
pub struct UnitArgs {
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
pub struct GenerateArgs {
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
pub struct DecodeArgs {
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

pub fn run(command: TokenCommand, json: bool) -> Result<(), Error> {
    match command {
        TokenCommand::Generate(args) => {
            let unit = args.unit.unit()?;
            let action = match (&args.add, &args.set) {
                (Some(days), _) => Action::Add(token::parse_days(days)?),
                (_, Some(days)) => Action::Set(token::parse_days(days)?),
                _ if args.unlock => Action::Unlock,
                _ => Action::Sync,
            };
            let issued = token::generate(&unit, args.count, action, args.extended)?;
            if json {
                print_json(&issued);
            } else {
                println!("{}", token::group_digits(&issued.token));
            }
        }
        TokenCommand::Decode(args) => {
            let unit = args.unit.unit()?;
            let used = token::parse_used(&args.used)?;
            let report = token::decode(&unit, args.count, &used, &args.token)?;
            if json {
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
    }
    Ok(())
}
