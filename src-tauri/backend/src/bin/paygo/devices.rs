//! `paygo devices`: which ports have a device, probed in parallel.

use crate::print_json;
use clap::Args;
use paygo::station::detect::{self, Probe};
use paygo::Error;
use std::time::Duration;

#[derive(Args)]
pub struct DevicesArgs {
    /// Also probe this port (a pty, a symlink...); repeatable. With --port, only the named
    /// ports are probed unless --all is given.
    #[arg(long)]
    port: Vec<String>,
    /// Probe every serial port the OS lists, not only USB ones.
    #[arg(long)]
    all: bool,
    /// How long each port may take to answer, in milliseconds.
    #[arg(long, default_value_t = 2_500)]
    patience_ms: u64,
}

pub fn run(args: DevicesArgs, json: bool) -> Result<(), Error> {
    let ports = detect::ports_to_probe(&args.port, args.all)?;
    let found = detect::detect(&ports, Duration::from_millis(args.patience_ms), &mut |_| {});
    if json {
        print_json(&found);
        return Ok(());
    }
    if found.is_empty() {
        println!("no USB serial ports found (name ports with --port, or --all for every port)");
    }
    for d in &found {
        let usb = d
            .port
            .usb
            .as_ref()
            .map(|u| {
                format!(
                    " [USB {}:{}{}{}]",
                    u.vid,
                    u.pid,
                    u.product
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    u.serial_number
                        .as_deref()
                        .map(|s| format!(" #{s}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let what = match &d.probe {
            Probe::Device {
                identity, status, ..
            } => {
                let who = match &identity.serial {
                    Some(s) => format!("device {s}"),
                    None => "blank device".to_string(),
                };
                let state = status
                    .as_ref()
                    .map(|s| format!(", {} count {}", s.state, s.count))
                    .unwrap_or_default();
                format!("{who} (firmware {}){state}", identity.firmware)
            }
            Probe::Busy { .. } => "busy (another program has it open)".to_string(),
            Probe::Silent => "silent (nothing answered)".to_string(),
            Probe::NotADevice { sent } => format!("not a device (it sent {sent:?})"),
            Probe::Error { code, message } => format!("error {code}: {message}"),
        };
        println!("{}{usb}: {what}", d.port.port);
    }
    Ok(())
}
