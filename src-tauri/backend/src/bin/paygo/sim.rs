//! `paygo sim`: a simulated device on a pseudo-terminal.

use clap::Args;
use paygo::token;
use paygo::Error;
use std::path::PathBuf;

#[derive(Args)]
pub struct SimArgs {
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

#[cfg(unix)]
pub fn run(args: SimArgs) -> Result<(), Error> {
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
pub fn run(_: SimArgs) -> Result<(), Error> {
    Err(Error::io(
        "paygo sim",
        "pseudo-terminals need a Unix system",
    ))
}
