//! `cargo xtask ci`: set up what is missing, then every check and test, in the order that
//! fails fastest. The README's test command and `.ci/run` are this task.

use crate::{cargo, run_checked, show, workspace_root};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Debian packages the tests need: QEMU for the board firmware end-to-end tests.
const APT_PACKAGES: [&str; 1] = ["qemu-system-arm"];

pub(crate) fn run() -> Result<()> {
    setup()?;
    let root = workspace_root();
    // The desktop app embeds ui/dist; the UI's own unit tests run here too.
    crate::e2e_ui::build_ui(&root)?;
    run_checked(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["test"]),
    )?;
    run_checked(
        cargo()
            .current_dir(&root)
            .args(["fmt", "--all", "--", "--check"]),
    )
    .context("formatting differs: run `cargo fmt --all`")?;
    run_checked(cargo().current_dir(&root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    crate::thumb::run()?;
    boards_checks()?;
    // The end-to-end tests run these images under QEMU.
    crate::firmware::run_firmware(&[])?;
    let (passed, failed) = test_workspace()?;
    for manifest in [
        "firmware-core/fuzz/Cargo.toml",
        "src-tauri/backend/fuzz/Cargo.toml",
    ] {
        // Own workspaces: `cargo fmt --all` above does not reach them.
        run_checked(cargo().current_dir(&root).args([
            "fmt",
            "--manifest-path",
            manifest,
            "--",
            "--check",
        ]))?;
        run_checked(
            cargo()
                .current_dir(&root)
                .args(["test", "--manifest-path", manifest]),
        )?;
    }
    crate::size::run(crate::size::Options::parse(&[])?)?;
    crate::cost::run()?;
    crate::fuzz::run(crate::fuzz::Options::parse(&[
        "--seconds".into(),
        "10".into(),
    ])?)?;
    // What the fuzzer kept, replayed through the decoder target's invariant checks.
    run_checked(cargo().current_dir(&root).args([
        "test",
        "--manifest-path",
        "firmware-core/fuzz/Cargo.toml",
        "corpus_replay",
        "--",
        "--ignored",
        "--nocapture",
    ]))?;
    // The desktop app in its real window (Xvfb + tauri-driver): the main user flow.
    crate::e2e_ui::run()?;
    // The plain closing line CI reads: every Rust test of the workspace.
    println!("ci: {passed} passed, {failed} failed");
    Ok(())
}

/// The board workspace: clippy on each board's target, host tests of the shared loop.
fn boards_checks() -> Result<()> {
    let boards = workspace_root().join("firmware-core").join("boards");
    let target_dir = crate::target_dir().join("boards");
    for (package, target) in [
        ("microbit", "thumbv6m-none-eabi"),
        ("lm3s6965evb", "thumbv7m-none-eabi"),
        ("stm32f103c8", "thumbv7m-none-eabi"),
    ] {
        run_checked(
            cargo()
                .current_dir(&boards)
                .args([
                    "clippy",
                    "--package",
                    package,
                    "--target",
                    target,
                    "--target-dir",
                ])
                .arg(&target_dir)
                .args(["--", "-D", "warnings"]),
        )?;
    }
    run_checked(
        cargo()
            .current_dir(&boards)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    run_checked(
        cargo()
            .current_dir(&boards)
            .args([
                "test",
                "--package",
                "board-common",
                "--target",
                "x86_64-unknown-linux-gnu",
                "--target-dir",
            ])
            .arg(&target_dir),
    )?;
    Ok(())
}

/// Install what the checks need and is not there yet.
fn setup() -> Result<()> {
    run_checked(Command::new("rustup").args([
        "target",
        "add",
        crate::thumb::TARGETS[0],
        crate::thumb::TARGETS[1],
    ]))
    .context("rustup must be installed (https://rustup.rs)")?;
    let mut packages = APT_PACKAGES.to_vec();
    // The desktop app (a workspace member) builds against WebKitGTK.
    packages.extend(crate::e2e_ui::APT_PACKAGES);
    apt_install(&packages)
}

/// Install the Debian packages of `packages` that are missing (apt-get as root, else sudo -n).
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg")
                .args(["-s", p])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let apt = |args: &[&str]| -> Command {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !root {
            c.args(["-n", "apt-get"]);
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_checked(&mut apt(&["update", "-qq"])).with_context(|| {
        format!(
            "cannot install {}: install them and run again",
            missing.join(" ")
        )
    })?;
    run_checked(apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(&missing))
        .with_context(|| format!("cannot install {}", missing.join(" ")))?;
    Ok(())
}

/// `cargo test --workspace`, streamed, with its results counted.
fn test_workspace() -> Result<(u64, u64)> {
    let mut cmd = cargo();
    cmd.current_dir(workspace_root())
        .args(["test", "--workspace"])
        .stdout(Stdio::piped());
    let line = show(&cmd);
    eprintln!("$ {line}");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for l in BufReader::new(out).lines() {
            let l = l?;
            println!("{l}");
            if let Some((p, f)) = parse_result(&l) {
                passed += p;
                failed += f;
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{line}` failed ({status}): {failed} failed");
    }
    Ok((passed, failed))
}

/// `test result: ok. 12 passed; 0 failed; ...` → (12, 0).
fn parse_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("test result: ")?;
    let mut passed = None;
    let mut failed = None;
    for part in rest.split(['.', ';']).map(str::trim) {
        if let Some(n) = part.strip_suffix(" passed") {
            passed = n.trim().parse().ok();
        } else if let Some(n) = part.strip_suffix(" failed") {
            failed = n.trim().parse().ok();
        }
    }
    Some((passed?, failed?))
}

#[cfg(test)]
mod tests {
    use super::parse_result;

    #[test]
    fn reads_cargo_test_summaries() {
        assert_eq!(
            parse_result("test result: ok. 111 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 9.78s"),
            Some((111, 0))
        );
        assert_eq!(
            parse_result("test result: FAILED. 8 passed; 3 failed; 0 ignored"),
            Some((8, 3))
        );
        assert_eq!(parse_result("running 3 tests"), None);
    }
}
