//! `cargo xtask cost`: the decoder's work in SipHash steps for the worst cases, on the host
//! model (the same code the device runs; each step is one SipHash-2-4 of 8 bytes).

use anyhow::{bail, Result};
use firmware_core::token::{
    decode, generate, Checkpoint, Outcome, TokenKind, TokenType, UsedCounts,
};

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
        let mut s = state;
        let d = decode(
            &KEY,
            SC,
            &mut s,
            far,
            TokenKind::Standard,
            &mut slots.clone(),
        );
        check(d.outcome)?;
        rows.push(Case {
            name: "valid, jump 64, checkpointed",
            count,
            steps: d.steps,
            upkeep: d.upkeep_steps,
        });
        // The same token on a device that has not seen this value: the reference's walk.
        let mut s = state;
        let d = decode(
            &KEY,
            SC,
            &mut s,
            far,
            TokenKind::Standard,
            &mut [None, None],
        );
        check(d.outcome)?;
        rows.push(Case {
            name: "valid, jump 64, value not cached",
            count,
            steps: d.steps,
            upkeep: d.upkeep_steps,
        });
        // Worst invalid: walks the whole chain up to count + 64 (and below the checkpoint).
        let mut s = state;
        let d = decode(
            &KEY,
            SC,
            &mut s,
            111_111_111,
            TokenKind::Standard,
            &mut slots.clone(),
        );
        if d.outcome != Outcome::Invalid {
            bail!("the invalid probe token matched");
        }
        rows.push(Case {
            name: "invalid",
            count,
            steps: d.steps,
            upkeep: d.upkeep_steps,
        });
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
