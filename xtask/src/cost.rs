//! `cargo xtask cost`: the decoder's work in SipHash steps for the worst cases, on the host
//! model (the same code the device runs; each step is one SipHash-2-4 of 8 bytes).

use crate::{cargo, run_checked, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use firmware_core::token::{
    decode, generate, Checkpoint, Outcome, TokenKind, TokenType, UsedCounts,
};
use std::process::{Command, Stdio};

const KEY: [u8; 16] = *b"cost-model-key-1";
const SC: u32 = 123_456_789;

/// One measured case.
struct Case {
    name: &'static str,
    count: u32,
    steps: u32,
    upkeep: u32,
}

pub(crate) fn run() -> Result<()> {
    let mut rows = Vec::new();
    for count in [10u32, 60_000] {
        // Worst valid: the largest forward jump (64) for a value whose chain is checkpointed.
        let mut state = UsedCounts::new(count - 2);
        let mut slots: [Option<Checkpoint>; 2] = [None; 2];
        let prev = add(count - 2)?;
        decode(&KEY, SC, &mut state, prev, TokenKind::Standard, &mut slots);
        let far = add(count + 62)?;
        // Each case decodes on a copy of the same device state.
        let mut case = |name, token, mut cache: [Option<Checkpoint>; 2], want_valid: bool| {
            let d = decode(
                &KEY,
                SC,
                &mut state.clone(),
                token,
                TokenKind::Standard,
                &mut cache,
            );
            if want_valid {
                check(d.outcome)?;
            } else if d.outcome != Outcome::Invalid {
                bail!("the invalid probe token matched");
            }
            rows.push(Case {
                name,
                count,
                steps: d.steps,
                upkeep: d.upkeep_steps,
            });
            Ok(())
        };
        case("valid, jump 64, checkpointed", far, slots, true)?;
        // The same token on a device that has not seen this value: the reference's walk.
        case("valid, jump 64, value not cached", far, [None, None], true)?;
        // Worst invalid: walks the whole chain up to count + 64 (and below the checkpoint).
        case("invalid", 111_111_111, slots, false)?;
    }
    println!(
        "{:<34} {:>7} {:>11} {:>13}",
        "case", "count", "hash steps", "upkeep steps"
    );
    for r in rows {
        println!(
            "{:<34} {:>7} {:>11} {:>13}",
            r.name, r.count, r.steps, r.upkeep
        );
    }
    on_cortex_m0()
}

/// The same cases on the micro:bit's Cortex-M0 under `qemu-system-arm -icount shift=0`
/// (one instruction = one virtual ns; SysTick counts the 16 MHz clock: 62.5 instructions
/// per tick). Instructions include the checkpoint upkeep done inside `decode`.
fn on_cortex_m0() -> Result<()> {
    let boards = workspace_root().join("firmware-core").join("boards");
    let target_dir = target_dir().join("boards");
    run_checked(
        cargo()
            .current_dir(&boards)
            .args([
                "build",
                "--release",
                "--package",
                "cost-probe",
                "--target",
                "thumbv6m-none-eabi",
                "--target-dir",
            ])
            .arg(&target_dir),
    )?;
    let elf = target_dir
        .join("thumbv6m-none-eabi")
        .join("release")
        .join("cost-probe");
    let out = Command::new("qemu-system-arm")
        .args([
            "-M", "microbit", "-display", "none", "-monitor", "none", "-serial", "null", "-icount",
            "shift=0",
        ])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(&elf)
        .stdin(Stdio::null())
        .output()
        .context("running qemu-system-arm (Debian package qemu-system-arm)")?;
    // QEMU prints the semihosting console on stderr (stdout in some versions): read both.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("\nCortex-M0 (QEMU microbit, -icount shift=0):");
    println!(
        "{:<34} {:>7} {:>11} {:>14} {:>10}",
        "case", "count", "hash steps", "instructions", "per step"
    );
    let mut seen = 0;
    for line in text.lines().filter_map(|l| l.strip_prefix("cost ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [case, count, steps, ticks] = f.as_slice() else {
            bail!("cost-probe printed {line:?}")
        };
        let ticks: u64 = ticks.parse()?;
        let steps: u64 = steps.parse()?;
        let instructions = ticks * 125 / 2;
        println!(
            "{:<34} {:>7} {:>11} {:>14} {:>10}",
            case,
            count,
            steps,
            instructions,
            instructions / steps.max(1)
        );
        seen += 1;
    }
    if seen != 6 {
        bail!("cost-probe under QEMU reported {seen} of 6 cases:\n{text}");
    }
    Ok(())
}

fn add(last: u32) -> Result<u64> {
    generate(
        &KEY,
        SC,
        last,
        TokenType::AddTime,
        Some(7),
        TokenKind::Standard,
        None,
    )
    .map(|g| g.number)
    .map_err(|e| anyhow::anyhow!("generate: {e}"))
}

fn check(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Accepted { .. } => Ok(()),
        other => bail!("expected an accepted token, got {other:?}"),
    }
}
