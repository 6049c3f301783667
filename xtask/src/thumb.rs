//! `cargo xtask thumb`: prove that firmware-core builds for the device targets.

use crate::{cargo, run_checked, workspace_root};
use anyhow::{Context, Result};

/// The Cortex-M targets the firmware ships for (M0 micro:bit, M3 LM3S6965).
pub(crate) const TARGETS: [&str; 2] = ["thumbv6m-none-eabi", "thumbv7m-none-eabi"];

pub(crate) fn run() -> Result<()> {
    for target in TARGETS {
        run_checked(
            cargo()
                .current_dir(workspace_root())
                .args(["build", "--release", "-p", "firmware-core", "--target"])
                .arg(target),
        )
        .with_context(|| format!("firmware-core does not build for {target}"))?;
    }
    eprintln!("firmware-core builds for {}", TARGETS.join(" and "));
    Ok(())
}
