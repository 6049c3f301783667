//! `cargo xtask firmware`: build every board image in release and report its size;
//! `cargo xtask qemu BOARD [--state-dir DIR]`: run a QEMU board for a human.
//!
//! Images land in `<target>/firmware/BOARD.elf`, where `<target>` is `$CARGO_TARGET_DIR`
//! or the workspace's `target/`. The board workspace (`firmware-core/boards`) is built into
//! `<target>/boards`, like `cargo xtask size` does.

use crate::elf::{self, Sizes};
use crate::{cargo, run_checked, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One board image.
#[derive(Debug)]
struct Board {
    /// Crate in the board workspace, and the image's file stem.
    name: &'static str,
    target: &'static str,
    /// QEMU `-M` machine, for the emulated boards.
    machine: Option<&'static str>,
    /// Flash available to the image, bytes.
    flash: u64,
    /// RAM, bytes (static data; the stack takes the rest).
    ram: u64,
}

const BOARDS: &[Board] = &[
    Board {
        name: "microbit",
        target: "thumbv6m-none-eabi",
        machine: Some("microbit"),
        flash: 256 * 1024,
        ram: 16 * 1024,
    },
    Board {
        name: "lm3s6965evb",
        target: "thumbv7m-none-eabi",
        machine: Some("lm3s6965evb"),
        flash: 256 * 1024,
        ram: 64 * 1024,
    },
    Board {
        name: "stm32f103c8",
        target: "thumbv7m-none-eabi",
        machine: None,
        // 64K less the two EEPROM pages.
        flash: 62 * 1024,
        ram: 20 * 1024,
    },
];

fn boards_dir() -> PathBuf {
    workspace_root().join("firmware-core").join("boards")
}

/// Where `cargo xtask firmware` puts the images.
pub(crate) fn firmware_dir() -> PathBuf {
    target_dir().join("firmware")
}

/// Build `board` in release and copy its ELF to [`firmware_dir`].
fn build(board: &Board) -> Result<PathBuf> {
    let boards = boards_dir();
    let out_dir = target_dir().join("boards");
    let mut cmd = cargo();
    cmd.current_dir(&boards)
        .args(["build", "--release", "--package", board.name])
        .args(["--target", board.target])
        .arg("--manifest-path")
        .arg(boards.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&out_dir);
    run_checked(&mut cmd)?;
    let built = out_dir.join(board.target).join("release").join(board.name);
    let dir = firmware_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let elf = dir.join(format!("{}.elf", board.name));
    std::fs::copy(&built, &elf)
        .with_context(|| format!("copying {} to {}", built.display(), elf.display()))?;
    Ok(elf)
}

pub(crate) fn run_firmware(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("`firmware` takes no arguments (got `{a}`)");
    }
    let mut rows = Vec::new();
    for board in BOARDS {
        let elf = build(board)?;
        let sizes = Sizes::of(&elf::sections(&elf)?);
        rows.push((board, elf, sizes));
    }
    println!(
        "\nboard images (release: opt-level z, lto, panic=abort)\n\
         flash = .vector_table + .text + .rodata + .data; ram = .data + .bss (no stack)\n"
    );
    println!(
        "{:<12} {:<19} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8}",
        "board", "target", ".text", ".rodata", "flash", "of", "ram", "of"
    );
    for (board, elf, s) in &rows {
        println!(
            "{:<12} {:<19} {:>8} {:>8} {:>12} {:>7}K {:>8} {:>7}K   {}",
            board.name,
            board.target,
            s.text,
            s.rodata,
            format!("{} ({}%)", s.flash, s.flash * 100 / board.flash),
            board.flash / 1024,
            s.ram,
            board.ram / 1024,
            elf.display()
        );
    }
    Ok(())
}

pub(crate) fn run_qemu(args: &[String]) -> Result<()> {
    let mut name = None;
    let mut state_dir = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--state-dir" => match it.next() {
                Some(d) => state_dir = Some(PathBuf::from(d)),
                None => bail!("--state-dir needs a directory"),
            },
            other if other.starts_with('-') => bail!("qemu: unknown option `{other}`"),
            other if name.is_none() => name = Some(other.to_string()),
            other => bail!("qemu: unexpected argument `{other}`"),
        }
    }
    let emulated = || {
        BOARDS
            .iter()
            .filter(|b| b.machine.is_some())
            .map(|b| b.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(name) = name else {
        bail!(
            "usage: cargo xtask qemu BOARD [--state-dir DIR]; BOARD is one of {}",
            emulated()
        );
    };
    let Some((board, machine)) = BOARDS
        .iter()
        .find(|b| b.name == name)
        .and_then(|b| Some((b, b.machine?)))
    else {
        bail!("`{name}` is not an emulated board (one of {})", emulated());
    };
    let elf = build(board)?;
    let state = state_dir.unwrap_or_else(|| firmware_dir().join(format!("state-{}", board.name)));
    std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
    let state = state.canonicalize().unwrap_or(state);
    qemu(machine, &elf, &state)
}

/// Run QEMU in `state` (where semihosting puts `eeprom.bin`) until it exits or Ctrl-C.
fn qemu(machine: &str, elf: &Path, state: &Path) -> Result<()> {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.current_dir(state)
        .args(["-M", machine, "-display", "none", "-monitor", "none"])
        .args(["-serial", "pty"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    eprintln!("$ (cd {} && {})", state.display(), crate::show(&cmd));
    let mut child = cmd
        .spawn()
        .context("could not start qemu-system-arm (Debian: apt-get install qemu-system-arm)")?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.context("reading QEMU's output")?;
            match line.split_once("char device redirected to ") {
                Some((_, rest)) => {
                    let pty = rest.split_whitespace().next().unwrap_or(rest);
                    println!("{machine}: UART on {pty}");
                    println!("  EEPROM file: {}", state.join("eeprom.bin").display());
                    println!(
                        "  connect with e.g. `picocom -b 115200 --omap crlf {pty}` and type `ID`"
                    );
                    println!(
                        "  (QEMU notices a new client within about a second; Ctrl-C stops QEMU)"
                    );
                }
                None => println!("{line}"),
            }
        }
    }
    let status = child.wait().context("waiting for QEMU")?;
    if !status.success() {
        bail!("QEMU exited with {status}");
    }
    Ok(())
}
