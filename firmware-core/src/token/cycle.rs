//! Where a value's hash chain starts to repeat: the issuer's guard against replayable tokens.
//!
//! A chain is a walk of a random map on 10^9 (extended: 10^12) codes, so it enters a cycle
//! after about 40 000 (1.3 million) steps on average, and now and then after a few dozen. A
//! token issued at a count on the cycle matches again every `period` counts, and spec §8
//! (keep searching past a used match) accepts it there: the device takes it again for free.
//! The device cannot tell, so the issuer must not issue on a cycle short enough for the
//! device's count to get there (the ledger's horizon: 10 000 counts).

use super::{next_code, Chain, Key, TokenKind};

/// The repeating part of a chain: the code at count `start + period` equals the one at
/// `start`, and no earlier count repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// First count on the cycle (the tail before it never repeats).
    pub start: u32,
    /// Length of the cycle in counts.
    pub period: u32,
}

/// Brent's cycle detection from count 0, in constant memory, giving up after `max_steps`
/// hash steps of its first phase. It finds every cycle with
/// `3 × max(start + 1, period) ≤ max_steps`; so `None` means that a token issued before count
/// `max_steps / 3` either never repeats or repeats only more than `max_steps / 3` counts later.
pub fn find_cycle(
    key: &Key,
    kind: TokenKind,
    starting_code: u32,
    field: u64,
    max_steps: u32,
) -> Option<Cycle> {
    let step = |code| next_code(key, kind, code);
    let origin = Chain::new(key, kind, starting_code, field).pos().code;
    let mut budget = max_steps.checked_sub(1)?;
    // Phase 1: the tortoise waits at counts 2^k - 1 while the hare runs up to 2^k ahead.
    let mut power: u32 = 1;
    let mut period: u32 = 1;
    let mut tortoise = origin;
    let mut hare = step(origin);
    while tortoise != hare {
        budget = budget.checked_sub(1)?;
        if power == period {
            tortoise = hare;
            power = power.checked_mul(2)?;
            period = 0;
        }
        hare = step(hare);
        period += 1;
    }
    // Phase 2: two walkers `period` apart meet at the cycle's first count.
    let mut behind = origin;
    let mut ahead = origin;
    for _ in 0..period {
        ahead = step(ahead);
    }
    let mut start: u32 = 0;
    while behind != ahead {
        behind = step(behind);
        ahead = step(ahead);
        start += 1;
    }
    Some(Cycle { start, period })
}
