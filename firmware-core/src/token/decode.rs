//! The device-side decoder (spec §8-§9) with the C count policy: the count never decreases.
//!
//! Cost: the reference walks every chain from position 0, so a token at count 60 000 costs
//! 60 000 hashes. Each value field has its own chain, so a single checkpoint cannot serve
//! every value: the device keeps a few [`Checkpoint`]s (most recently used value fields,
//! each parked at the lowest position that can still be valid). A token whose value field
//! is checkpointed resolves in at most 80 steps (164 for counter sync). When the walk from
//! the checkpoint finds no valid match, the positions below the checkpoint are walked
//! too, so that INVALID versus ALREADY_USED is exactly the reference's answer.

use super::{
    field_of, next_code, value_of, with_field, ChainPos, Key, TokenKind, TokenType,
    VALUE_COUNTER_SYNC, VALUE_DISABLE_PAYG,
};

/// How far ahead of the count a token may be (spec §8).
const MAX_JUMP: u32 = 64;
/// How far ahead a counter-sync token may be (standard tokens only).
const MAX_JUMP_SYNC: u32 = 100;
/// Older ADD_TIME tokens are accepted when `n > count - WINDOW`.
const WINDOW: u32 = 16;

/// The device's count and which of the 16 counts below it were used.
///
/// Bit k of `mask` set ⇔ count `count - 1 - k` was used; `count` itself always counts as
/// used. This is the spec's corrected 16-bit mask, equal to the reference's used-count list
/// as long as the count never decreases (which our device guarantees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsedCounts {
    count: u32,
    mask: u16,
}

impl UsedCounts {
    /// A fresh device provisioned with `count`.
    pub const fn new(count: u32) -> Self {
        UsedCounts { count, mask: 0 }
    }

    /// Restore persisted state.
    pub const fn from_parts(count: u32, mask: u16) -> Self {
        UsedCounts { count, mask }
    }

    /// The last (highest) count.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The used mask (see the type's documentation).
    pub const fn mask(&self) -> u16 {
        self.mask
    }

    /// Whether count `n` is used. Counts above the last count are not; counts more than 16
    /// below it are.
    pub fn is_used(&self, n: u32) -> bool {
        if n > self.count {
            return false;
        }
        if n == self.count {
            return true;
        }
        let d = self.count - 1 - n;
        d >= WINDOW || self.mask & (1 << d) != 0
    }

    /// Mark an older count as used (for restoring a used-count list). Counts outside the
    /// 16-count window are ignored: they are used by definition.
    pub fn mark_used(&mut self, n: u32) {
        if n < self.count {
            let d = self.count - 1 - n;
            if d < WINDOW {
                self.mask |= 1 << d;
            }
        }
    }

    /// The used counts in the window, ascending, the last count included.
    pub fn used(&self) -> impl Iterator<Item = u32> + '_ {
        (0..WINDOW)
            .rev()
            .filter(move |d| self.mask & (1 << d) != 0 && self.count > *d)
            .map(move |d| self.count - 1 - d)
            .chain(core::iter::once(self.count))
    }

    /// Whether a match at position `n` may be accepted (spec §8 `valid(n)`).
    fn is_valid(&self, n: u32, sync: bool) -> bool {
        if sync {
            return n >= lowest_valid(self.count, true);
        }
        if n > self.count {
            return true;
        }
        // Position 0 is the starting code itself: never accepted (the C reference's rule).
        n != 0 && n.is_multiple_of(2) && n >= lowest_valid(self.count, false) && !self.is_used(n)
    }

    /// Record an accepted token (spec §9, corrected mask recipe).
    fn accept(&mut self, n: u32, value: u32, token_type: TokenType) {
        let special = value == VALUE_DISABLE_PAYG || value == VALUE_COUNTER_SYNC;
        if token_type != TokenType::AddTime || special {
            self.mask = u16::MAX;
            self.count = self.count.max(n);
        } else if n > self.count {
            let j = n - self.count;
            self.mask = if j > WINDOW {
                0
            } else {
                ((u32::from(self.mask) << j) | (1 << (j - 1))) as u16
            };
            self.count = n;
        } else {
            self.mark_used(n);
        }
    }
}

/// The lowest position a token can be accepted at with last count `count`.
fn lowest_valid(count: u32, sync: bool) -> u32 {
    // n > count - 64 for sync tokens, n > count - 16 for older ADD_TIME tokens.
    count.saturating_sub(if sync { 63 } else { WINDOW - 1 })
}

/// A cached chain position for one value field, persisted by the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Which chain family.
    pub kind: TokenKind,
    /// The value field (last 3 or 6 digits) the chain belongs to.
    pub field: u32,
    /// Position on that chain.
    pub pos: ChainPos,
}

/// The decoder's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A valid token; the state was updated.
    Accepted {
        /// Type by parity and value (spec §8 `type(n)`).
        token_type: TokenType,
        /// The raw embedded value.
        value: u32,
        /// The matched count.
        count: u32,
    },
    /// Matches no usable position and no older one.
    Invalid,
    /// Matches only positions that are used or too old.
    AlreadyUsed,
}

/// [`Outcome`] plus what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The answer.
    pub outcome: Outcome,
    /// Hash steps spent reaching the answer.
    pub steps: u32,
    /// Hash steps spent afterwards moving checkpoints up to the new window.
    pub upkeep_steps: u32,
}

/// Decode token `number` of `kind` on a device with `state`, updating `state` on success.
///
/// `checkpoints` is the device's checkpoint cache (most recently used first; may be empty,
/// which gives the reference's cost). It is updated on success.
pub fn decode(
    key: &Key,
    starting_code: u32,
    state: &mut UsedCounts,
    number: u64,
    kind: TokenKind,
    checkpoints: &mut [Option<Checkpoint>],
) -> Decoded {
    let mut decoded = Decoded {
        outcome: Outcome::Invalid,
        steps: 0,
        upkeep_steps: 0,
    };
    if number > kind.max_number() {
        // No chain position can print as this number.
        return decoded;
    }
    let field = field_of(kind, number);
    // `chain.token() == number` <=> the code without its value field is `head`, that is
    // `head <= code < head + modulus`: a comparison instead of a remainder per step.
    let head = number - field;
    let is_match = |code: u64| code >= head && code - head < kind.modulus();
    // `field` < modulus ≤ 10^6: the cast keeps every bit.
    let value = value_of(kind, field as u32, starting_code);
    let sync = value == VALUE_COUNTER_SYNC;
    let reach = if sync && kind == TokenKind::Standard {
        MAX_JUMP_SYNC
    } else {
        MAX_JUMP
    };
    let limit = state.count.saturating_add(reach);
    let low = lowest_valid(state.count, sync);

    // The walk works on bare chain positions rather than a `Chain`, so that it and the
    // checkpoint upkeep below share one hash step (`next_code`) and no chain state.
    let chain_start = ChainPos {
        count: 0,
        code: with_field(kind, u64::from(starting_code), field),
    };
    let slot = checkpoints
        .iter()
        .position(|c| matches!(c, Some(c) if c.kind == kind && u64::from(c.field) == field));
    let start = match slot.and_then(|i| checkpoints.get(i)) {
        Some(Some(cp)) if cp.pos.count <= low => cp.pos,
        _ => chain_start,
    };

    // Walk up to `limit`. When that finds no valid match, walk the positions below the
    // checkpoint too (the same loop, from the chain start): nothing there is valid, but a
    // match there is a replay.
    let mut pos = start;
    let mut older_seen = false;
    let mut accepted = None;
    let mut stop = limit;
    // The walk passes `low` (every valid position is at or above it): remember the code
    // there, so parking this chain afterwards costs at most the jump, never a re-walk.
    let mut parked = start;
    loop {
        if pos.count == low {
            parked = pos;
        }
        if is_match(pos.code) {
            if state.is_valid(pos.count, sync) {
                accepted = Some(pos.count);
                break;
            }
            older_seen = true;
            if pos.count < start.count {
                break;
            }
        }
        match pos.count.checked_add(1) {
            Some(next) if pos.count < stop => {
                pos = ChainPos {
                    count: next,
                    code: next_code(key, kind, pos.code),
                };
                decoded.steps = decoded.steps.saturating_add(1);
            }
            // The end of a walk.
            _ => {
                if older_seen || start.count == 0 || stop == start.count {
                    break;
                }
                stop = start.count;
                pos = chain_start;
            }
        }
    }

    let Some(n) = accepted else {
        decoded.outcome = if older_seen {
            Outcome::AlreadyUsed
        } else {
            Outcome::Invalid
        };
        return decoded;
    };

    let token_type = match (n.is_multiple_of(2), kind, value) {
        (true, _, _) => TokenType::AddTime,
        (false, TokenKind::Standard, VALUE_COUNTER_SYNC) => TokenType::CounterSync,
        (false, TokenKind::Standard, VALUE_DISABLE_PAYG) => TokenType::DisablePayg,
        (false, _, _) => TokenType::SetTime,
    };
    state.accept(n, value, token_type);
    decoded.outcome = Outcome::Accepted {
        token_type,
        value,
        count: n,
    };

    if checkpoints.is_empty() {
        return decoded;
    }
    // Most recently used first; the least recently used slot is dropped. The chain goes in
    // at `low` (or where this walk started); the loop below parks it (and every other cached chain) at its
    // lowest valid position. A swap loop rather than `rotate_right`, which pulls in
    // `memmove` (~1.3 KB on thumbv6m).
    let fresh = Checkpoint {
        kind,
        field: field as u32,
        pos: parked,
    };
    let end = slot.unwrap_or(checkpoints.len() - 1);
    let mut carry = Some(fresh);
    for slot in checkpoints.iter_mut().take(end.saturating_add(1)) {
        core::mem::swap(slot, &mut carry);
    }
    // Move every cached chain up to its new lowest valid position: this token's chain from
    // the old `low` (at most the jump), the others as far as the count moved (amortised),
    // so that each of them still resolves within the bound.
    let count = state.count;
    for cp in checkpoints.iter_mut().flatten() {
        // A corrupted field >= modulus gives some value other than counter sync; such a
        // checkpoint matches no token anyway.
        let cp_sync = value_of(cp.kind, cp.field, starting_code) == VALUE_COUNTER_SYNC;
        let target = lowest_valid(count, cp_sync);
        while cp.pos.count < target {
            cp.pos = ChainPos {
                count: cp.pos.count + 1,
                code: next_code(key, cp.kind, cp.pos.code),
            };
            decoded.upkeep_steps = decoded.upkeep_steps.saturating_add(1);
        }
    }
    decoded
}
