//! `paygo unit list|show|assign|add|notes`.

use crate::print_json;
use clap::{Args, Subcommand};
use paygo::ledger::{Customer, NewUnit, Status, UnitQuery, UnitSort};
use paygo::{token, Error};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum UnitCommand {
    /// List units, a page at a time.
    List(ListArgs),
    /// Show one unit (never its key).
    Show {
        /// Serial.
        serial: String,
    },
    /// Assign a unit to a customer.
    Assign(AssignArgs),
    /// Add an existing device (it already holds the key).
    Add(AddArgs),
    /// Replace a unit's notes (an empty text clears them).
    Notes {
        /// Serial.
        serial: String,
        /// The new notes.
        text: String,
        /// Who does it.
        #[arg(long)]
        operator: Option<String>,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// Only units in this state (in_stock, provisioned, assigned, active, unlocked, returned, written_off, provisioning).
    #[arg(long)]
    status: Option<String>,
    /// Substring of the serial, the customer's name or phone.
    #[arg(long)]
    search: Option<String>,
    /// Sort by serial, status, customer, credit_until or last_token.
    #[arg(long, default_value = "serial")]
    sort: String,
    /// Descending order.
    #[arg(long)]
    desc: bool,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Rows per page (max 1000).
    #[arg(long, default_value_t = 50)]
    page_size: u32,
}

#[derive(Args)]
pub struct AssignArgs {
    /// Serial.
    serial: String,
    /// Customer name.
    #[arg(long)]
    customer: String,
    /// Phone.
    #[arg(long)]
    phone: Option<String>,
    /// Location.
    #[arg(long)]
    location: Option<String>,
    /// Days of use per currency unit paid.
    #[arg(long, value_name = "DAYS_PER_UNIT")]
    tariff: Option<String>,
    /// Who does it.
    #[arg(long)]
    operator: Option<String>,
}

#[derive(Args)]
pub struct AddArgs {
    /// Serial.
    serial: String,
    /// Secret key, 32 hex characters.
    #[arg(long)]
    key: String,
    /// Starting code; derived from the key when absent.
    #[arg(long)]
    starting_code: Option<u32>,
    /// The device's current count.
    #[arg(long, default_value_t = 0)]
    count: u32,
    /// Restricted digit set.
    #[arg(long)]
    restricted: bool,
    /// Value divider (1-255).
    #[arg(long, default_value_t = 1)]
    divider: u32,
    /// Model / board.
    #[arg(long)]
    model: Option<String>,
    /// Who does it.
    #[arg(long)]
    operator: Option<String>,
}

pub fn run(command: UnitCommand, json: bool, ledger_arg: Option<PathBuf>) -> Result<(), Error> {
    match command {
        UnitCommand::List(a) => {
            let l = crate::ledger::open(ledger_arg, false)?;
            let q = UnitQuery {
                status: a.status.as_deref().map(Status::parse).transpose()?,
                search: a.search,
                page: a.page,
                page_size: a.page_size,
                sort: UnitSort::parse(&a.sort)?,
                descending: a.desc,
            };
            let page = l.list_units(&q)?;
            if json {
                print_json(&page);
            } else {
                for u in &page.units {
                    println!(
                        "{:<16} {:<12} count {:>6}  {}",
                        u.serial,
                        u.status,
                        u.count,
                        u.customer.as_deref().unwrap_or("")
                    );
                }
                println!("page {} of {} units", page.page, page.total);
            }
        }
        UnitCommand::Show { serial } => {
            let l = crate::ledger::open(ledger_arg, false)?;
            let info = l.unit(&serial)?;
            if json {
                print_json(&info);
            } else {
                println!("{} ({})", info.serial, info.status);
                println!(
                    "count {} (device last seen at {:?})",
                    info.count, info.device_count
                );
                if let Some(c) = &info.customer {
                    println!("customer {}", c.name);
                }
                if let Some(n) = &info.notes {
                    println!("notes {n}");
                }
                for t in &info.recent_tokens {
                    println!(
                        "  #{} {} {}",
                        t.count,
                        t.token_type,
                        token::group_digits(&t.token)
                    );
                }
            }
        }
        UnitCommand::Assign(a) => {
            let mut l = crate::ledger::open(ledger_arg, false)?;
            let tariff = a.tariff.as_deref().map(token::parse_days).transpose()?;
            let customer = Customer {
                name: a.customer,
                phone: a.phone,
                location: a.location,
            };
            l.assign(&a.serial, &customer, tariff, a.operator.as_deref())?;
            if json {
                print_json(
                    &serde_json::json!({"unit": a.serial, "customer": customer.name, "status": "assigned"}),
                );
            } else {
                println!("{} assigned to {}", a.serial, customer.name);
            }
        }
        UnitCommand::Add(a) => {
            let mut l = crate::ledger::open(ledger_arg, true)?;
            let unit = NewUnit {
                serial: a.serial.clone(),
                model: a.model,
                key: token::parse_key(&a.key)?,
                starting_code: a.starting_code,
                count: a.count,
                restricted: a.restricted,
                divider: token::check_divider(a.divider)?,
            };
            l.add_unit(&unit, a.operator.as_deref())?;
            if json {
                print_json(&serde_json::json!({"unit": a.serial, "status": "provisioned"}));
            } else {
                println!("{} added", a.serial);
            }
        }
        UnitCommand::Notes {
            serial,
            text,
            operator,
        } => {
            let mut l = crate::ledger::open(ledger_arg, false)?;
            l.set_notes(&serial, &text, operator.as_deref())?;
            let notes = l.unit(&serial)?.notes;
            if json {
                print_json(&serde_json::json!({"unit": serial, "notes": notes}));
            } else {
                println!(
                    "{serial}: notes {}",
                    if notes.is_some() { "saved" } else { "cleared" }
                );
            }
        }
    }
    Ok(())
}
