//! `paygo issue`: a token from the ledger (stored and committed before it is printed).

use crate::print_json;
use clap::{ArgGroup, Args};
use paygo::ledger::{parse_milli, IssueAction, IssueRequest};
use paygo::{token, Error};
use std::path::PathBuf;

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["add", "set", "amount", "unlock", "sync"])))]
pub struct IssueArgs {
    /// The unit's serial.
    #[arg(long)]
    unit: String,
    /// Add DAYS.
    #[arg(long, value_name = "DAYS")]
    add: Option<String>,
    /// Set the remaining time to DAYS (needs --operator).
    #[arg(long, value_name = "DAYS")]
    set: Option<String>,
    /// Add the days AMOUNT buys under the unit's tariff.
    #[arg(long, value_name = "AMOUNT")]
    amount: Option<String>,
    /// Unlock for good (needs --operator).
    #[arg(long)]
    unlock: bool,
    /// Counter synchronisation (needs --operator).
    #[arg(long)]
    sync: bool,
    /// Payment reference: issuing again with the same one returns the same token.
    #[arg(long)]
    payment_ref: Option<String>,
    /// Who issues it.
    #[arg(long)]
    operator: Option<String>,
    /// Why (unlock / sync / set).
    #[arg(long)]
    reason: Option<String>,
    /// The supervisor PIN (unlock / sync / set, when one is configured); or PAYGO_SUPERVISOR_PIN.
    #[arg(long, value_name = "PIN")]
    supervisor_pin: Option<String>,
    /// Extended token (12 digits).
    #[arg(long)]
    extended: bool,
}

pub fn run(a: IssueArgs, json: bool, ledger_arg: Option<PathBuf>) -> Result<(), Error> {
    let action = match (&a.add, &a.set, &a.amount) {
        (Some(d), _, _) => IssueAction::Add(token::parse_days(d)?),
        (_, Some(d), _) => IssueAction::Set(token::parse_days(d)?),
        (_, _, Some(m)) => IssueAction::Amount(parse_milli(m)?),
        _ if a.unlock => IssueAction::Unlock,
        _ => IssueAction::Sync,
    };
    let req = IssueRequest {
        action,
        payment_ref: a.payment_ref,
        amount_milli: None,
        operator: a.operator,
        reason: a.reason,
        supervisor_pin: a
            .supervisor_pin
            .or_else(|| std::env::var("PAYGO_SUPERVISOR_PIN").ok()),
        extended: a.extended,
    };
    let mut l = crate::ledger::open(ledger_arg, true)?;
    // issue() returns after COMMIT: what is printed below is already in the ledger.
    let out = l.issue(&a.unit, &req)?;
    if json {
        print_json(&out);
    } else {
        println!("{}", token::group_digits(&out.token));
        println!(
            "{} count {}{}",
            out.token_type,
            out.count,
            if out.idempotent {
                " (already issued for this payment)"
            } else {
                ""
            }
        );
        for w in &out.warnings {
            eprintln!("warning: {} {}\n  advice: {}", w.code, w.message, w.advice);
        }
    }
    Ok(())
}
