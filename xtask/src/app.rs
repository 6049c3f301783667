//! `cargo xtask app`: set up what the desktop app needs on a fresh Debian machine (its
//! Debian build packages, the UI's npm packages), build the UI and run the app. The README's
//! first command.

use crate::{cargo, run_checked, workspace_root};
use anyhow::Result;

/// Debian packages the app needs to build and run (WebKitGTK and friends).
const APT_PACKAGES: [&str; 5] = [
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libudev-dev",
    "libssl-dev",
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    crate::ci::apt_install(&APT_PACKAGES)?;
    let root = workspace_root();
    crate::e2e_ui::build_ui(&root)?;
    // The ledger defaults to an SQLite file in the user's data directory.
    run_checked(
        cargo()
            .current_dir(&root)
            .args(["run", "-p", "paygo-desktop", "--"])
            .args(args),
    )
}
