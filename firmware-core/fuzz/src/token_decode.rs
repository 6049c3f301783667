//! `token_decode`: a device with fuzzer-chosen provisioning and state receives a sequence of
//! token texts (real tokens, damaged tokens and arbitrary bytes) and parses and decodes each.
//!
//! Checked on every decode, besides "never panics" (the fuzz build has overflow checks on):
//! * the count never decreases, and a rejected token changes nothing;
//! * an accepted token's count lies in the window of spec §8: at most 64 above the count
//!   before (100 for a standard COUNTER_SYNC), more than 64 below for value 999, otherwise
//!   above the count or an unused even count less than 16 below it; it is marked used and
//!   its type matches its parity;
//! * entering the same accepted token again at once is not accepted, except a value-999
//!   token (re-enterable by design, see decode.rs `is_valid`) or a genuine repeat of the
//!   same number further up the chain (a hash collision, checked against the chain);
//! * while every checkpoint is a real chain position, decoding with checkpoints answers
//!   exactly what decoding without them (the reference's full walk) answers.
//!
//! Cost bound: the decoder walks a value's chain from position 0 unless a checkpoint lets it
//! start near the count, and walks below a checkpoint when nothing matches above it, so a
//! decode at a count near `u32::MAX` costs up to 2³² hashes. Counts up to [`CHEAP_COUNT`] are
//! decoded freely; above it (where checkpoints are arbitrary positions, since the real ones
//! cannot be computed) a token is only decoded when a usable checkpoint reaches it within the
//! jump window, which keeps every decode to a few hundred hashes.

use firmware_core::token::{
    self, Chain, ChainPos, Checkpoint, Key, Outcome, TokenKind, TokenText, TokenType, UsedCounts,
    VALUE_COUNTER_SYNC,
};

/// Counts up to here are cheap enough to walk from the chain start.
pub const CHEAP_COUNT: u32 = 4096;
/// Most tokens entered per input.
const MAX_TOKENS: usize = 24;
/// Most checkpoint slots a device is given.
const MAX_SLOTS: usize = 4;

/// Reads the input front to back; past its end every read gives zeros.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let src = self.take(N);
        out[..src.len()].copy_from_slice(src);
        out
    }
    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

/// Device provisioning.
struct Device {
    key: Key,
    starting_code: u32,
    restricted: bool,
}

impl Device {
    /// The value a token of `kind` with value field `field` carries (spec §8 step 1).
    fn value(&self, kind: TokenKind, field: u64) -> u64 {
        let m = kind.modulus();
        (field + m - u64::from(self.starting_code) % m) % m
    }
    fn field(&self, kind: TokenKind, value: u64) -> u64 {
        let m = kind.modulus();
        (u64::from(self.starting_code) % m + value % m) % m
    }
    fn chain(&self, kind: TokenKind, field: u64) -> Chain<'_> {
        Chain::new(&self.key, kind, self.starting_code, field)
    }
}

fn kind_of(bit: u8) -> TokenKind {
    if bit & 1 == 0 {
        TokenKind::Standard
    } else {
        TokenKind::Extended
    }
}

/// What one input exercised (for tests; the fuzzer only cares about panics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Token texts that parsed and were decoded.
    pub decoded: u32,
    /// Of those, accepted.
    pub accepted: u32,
    /// Accepted tokens accepted again when entered a second time (value 999 or collisions).
    pub reaccepted: u32,
    /// Of those, not value 999: the same number found again higher up the chain.
    pub collisions: u32,
    /// Parsed tokens skipped because decoding them would walk too far (high counts).
    pub skipped: u32,
}

/// Run one input. Panics when firmware-core panics or an invariant breaks.
pub fn run(data: &[u8]) -> Stats {
    let mut stats = Stats::default();
    let mut input = Bytes(data);
    let device = Device {
        key: input.array(),
        starting_code: input.u32(),
        restricted: false,
    };
    let mode = input.u8();
    let device = Device {
        restricted: mode & 0x40 != 0,
        ..device
    };
    let count = match mode & 3 {
        0 => u32::from(input.u8()),
        1 => u32::from(input.u16()) % 1024,
        2 => u32::MAX - u32::from(input.u8()),
        _ => input.u32(),
    };
    let mut state = UsedCounts::from_parts(count, input.u16());
    let slots = usize::from((mode >> 2) & 7) % (MAX_SLOTS + 1);

    // Checkpoints: empty, real chain positions (cheap counts only) or arbitrary positions
    // near the count (what a device restoring corrupted state would hold).
    let mut checkpoints = [None::<Checkpoint>; MAX_SLOTS];
    let mut all_real = true;
    for slot in checkpoints.iter_mut().take(slots) {
        let tag = input.u8();
        let kind = kind_of(tag >> 2);
        let field = u64::from(input.u32()) % kind.modulus();
        let at = count.saturating_sub(u32::from(input.u8()));
        *slot = match tag % 3 {
            0 => None,
            1 if count <= CHEAP_COUNT => {
                let mut c = device.chain(kind, field);
                c.seek(at);
                Some(Checkpoint {
                    kind,
                    field: field as u32,
                    pos: c.pos(),
                })
            }
            _ => {
                all_real = false;
                let code = input.u64();
                Some(Checkpoint {
                    kind,
                    field: field as u32,
                    pos: ChainPos {
                        count: at,
                        // Usually a code the chain could hold; sometimes any 64 bits, as
                        // from corrupted storage.
                        code: if tag & 0x80 != 0 {
                            code
                        } else {
                            code % (kind.max_number() + 1)
                        },
                    },
                })
            }
        };
    }
    let checkpoints = &mut checkpoints[..slots];

    for _ in 0..MAX_TOKENS {
        if input.is_empty() {
            break;
        }
        let Some(text) = token_text(&mut input, &device, &state, checkpoints) else {
            continue;
        };
        let Ok((number, kind)) = token::parse(text.as_slice(), device.restricted) else {
            continue;
        };
        if !bounded(&device, &state, checkpoints, number, kind) {
            stats.skipped += 1;
            continue;
        }
        enter(
            &device,
            &mut state,
            checkpoints,
            number,
            kind,
            all_real,
            &mut stats,
        );
    }
    stats
}

/// Token text bytes (at most 32).
struct Text {
    buf: [u8; 32],
    len: usize,
}

impl Text {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The next token text: arbitrary bytes, or a real token near the count (as printed for
/// this device), possibly damaged.
fn token_text(
    input: &mut Bytes<'_>,
    device: &Device,
    state: &UsedCounts,
    checkpoints: &[Option<Checkpoint>],
) -> Option<Text> {
    let op = input.u8();
    let mut text = Text {
        buf: [0; 32],
        len: 0,
    };
    if op & 3 == 0 {
        let raw = input.take(usize::from(op >> 2) % 25);
        text.buf[..raw.len()].copy_from_slice(raw);
        text.len = raw.len();
        return Some(text);
    }
    let kind = kind_of(op >> 2);
    let value = match (op >> 3) & 3 {
        0 => 999,
        1 => 998,
        2 => u64::from(input.u8()),
        _ => u64::from(input.u32()),
    };
    let field = device.field(kind, value);
    // -72 ..= +111 around the count.
    let delta = i64::from(input.u8() % 184) - 72;
    let n = (i64::from(state.count()) + delta).clamp(0, i64::from(u32::MAX)) as u32;
    let mut chain = device.chain(kind, field);
    if n > CHEAP_COUNT {
        // Only reachable from a checkpoint of this chain at or below n, close enough.
        let cp = checkpoints.iter().flatten().find(|c| {
            c.kind == kind
                && u64::from(c.field) == field
                && c.pos.count <= n
                && n - c.pos.count <= 512
        })?;
        chain = chain.resume(cp.pos);
    }
    chain.seek(n);
    let printed = TokenText::new(chain.token(), kind, device.restricted);
    let bytes = printed.as_bytes();
    text.buf[..bytes.len()].copy_from_slice(bytes);
    text.len = bytes.len();
    match (op >> 5) & 7 {
        // Mistype one character.
        1 => {
            let at = usize::from(input.u8()) % text.len.max(1);
            text.buf[at] = input.u8();
        }
        // Drop the last digit or add one.
        2 => text.len = text.len.saturating_sub(1),
        3 => {
            text.buf[text.len] = input.u8();
            text.len += 1;
        }
        _ => {}
    }
    Some(text)
}

/// Whether decoding `number` stays within a few thousand hashes (see the module docs).
fn bounded(
    device: &Device,
    state: &UsedCounts,
    checkpoints: &[Option<Checkpoint>],
    number: u64,
    kind: TokenKind,
) -> bool {
    let count = state.count();
    if count <= CHEAP_COUNT {
        return true;
    }
    // Upkeep moves every other checkpoint up to the new window.
    if checkpoints
        .iter()
        .flatten()
        .any(|c| count - c.pos.count > CHEAP_COUNT)
    {
        return false;
    }
    if number > kind.max_number() {
        return true; // rejected before any hashing
    }
    let field = number % kind.modulus();
    let sync = device.value(kind, field) == u64::from(VALUE_COUNTER_SYNC);
    let low = count.saturating_sub(if sync { 63 } else { 15 });
    let reach = if sync && kind == TokenKind::Standard {
        100
    } else {
        64
    };
    let limit = count.saturating_add(reach);
    // The decoder starts from the first checkpoint of this chain if it is at or below `low`,
    // and walks below it only when nothing matches between it and the limit.
    let Some(cp) = checkpoints
        .iter()
        .flatten()
        .find(|c| c.kind == kind && u64::from(c.field) == field)
    else {
        return false;
    };
    if cp.pos.count > low {
        return false;
    }
    let mut chain = device.chain(kind, field).resume(cp.pos);
    loop {
        if chain.token() == number {
            return true;
        }
        if chain.pos().count >= limit || !chain.advance() {
            return false;
        }
    }
}

/// Decode one token and check the invariants; enter an accepted token a second time.
fn enter(
    device: &Device,
    state: &mut UsedCounts,
    checkpoints: &mut [Option<Checkpoint>],
    number: u64,
    kind: TokenKind,
    all_real: bool,
    stats: &mut Stats,
) {
    stats.decoded += 1;
    let before = *state;
    let reference = all_real.then(|| {
        let mut s = before;
        let d = token::decode(
            &device.key,
            device.starting_code,
            &mut s,
            number,
            kind,
            &mut [],
        );
        (d.outcome, s)
    });
    let decoded = token::decode(
        &device.key,
        device.starting_code,
        state,
        number,
        kind,
        checkpoints,
    );
    check_one(device, &before, state, number, kind, decoded.outcome);
    if let Some((outcome, s)) = reference {
        assert_eq!(
            decoded.outcome, outcome,
            "checkpoints changed the answer for {number} ({kind:?}) at {before:?}"
        );
        assert_eq!(
            *state, s,
            "checkpoints changed the state for {number} ({kind:?})"
        );
    }

    let Outcome::Accepted {
        count: n, value, ..
    } = decoded.outcome
    else {
        return;
    };
    stats.accepted += 1;
    let after = *state;
    let again = token::decode(
        &device.key,
        device.starting_code,
        state,
        number,
        kind,
        checkpoints,
    );
    check_one(device, &after, state, number, kind, again.outcome);
    if let Outcome::Accepted { count: n2, .. } = again.outcome {
        stats.reaccepted += 1;
        if value != VALUE_COUNTER_SYNC {
            stats.collisions += 1;
            assert!(
                n2 > n,
                "replay of {number} ({kind:?}) accepted again at count {n2} (first at {n})"
            );
            if all_real && n2 <= CHEAP_COUNT + 200 {
                let mut c = device.chain(kind, number % kind.modulus());
                c.seek(n2);
                assert_eq!(
                    c.token(),
                    number,
                    "replay of {number} accepted at {n2}, where the chain has another token"
                );
            }
        }
    }
}

/// The invariants of one decode from `before` to `after`.
fn check_one(
    device: &Device,
    before: &UsedCounts,
    after: &UsedCounts,
    number: u64,
    kind: TokenKind,
    outcome: Outcome,
) {
    let last = before.count();
    assert!(
        after.count() >= last,
        "count went down from {last} to {} on {number}",
        after.count()
    );
    let Outcome::Accepted {
        token_type,
        value,
        count: n,
    } = outcome
    else {
        assert_eq!(
            after, before,
            "a rejected token ({outcome:?}) changed the state"
        );
        return;
    };
    let expected_value = device.value(kind, number % kind.modulus());
    assert_eq!(u64::from(value), expected_value, "value of {number}");
    let sync = value == VALUE_COUNTER_SYNC;
    let reach = if sync && kind == TokenKind::Standard {
        100
    } else {
        64
    };
    let (n64, last64) = (u64::from(n), u64::from(last));
    assert!(
        n64 <= last64 + reach,
        "{number} accepted at {n}, more than {reach} above {last}"
    );
    if sync {
        assert!(
            n64 + 64 > last64,
            "sync token accepted at {n}, 64+ below {last}"
        );
    } else if n <= last {
        assert!(
            n64 + 16 > last64 && n % 2 == 0 && n != 0 && !before.is_used(n),
            "old token accepted at {n} with count {last} (used: {})",
            before.is_used(n)
        );
    }
    assert_eq!(after.count(), last.max(n), "count after accepting at {n}");
    assert!(after.is_used(n), "accepted count {n} not marked used");
    let parity_ok = match token_type {
        TokenType::AddTime => n % 2 == 0,
        TokenType::SetTime | TokenType::DisablePayg | TokenType::CounterSync => n % 2 == 1,
    };
    assert!(parity_ok, "{token_type:?} at count {n}");
}

#[cfg(test)]
mod tests {
    use super::{run, Stats};

    /// xorshift64*: deterministic inputs without extra dependencies.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    #[test]
    fn empty_and_tiny_inputs() {
        for len in 0..64 {
            run(&vec![0u8; len]);
            run(&vec![0xFFu8; len]);
        }
    }

    #[test]
    fn generated_inputs_reach_the_decoder() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut total = Stats::default();
        for _ in 0..3000 {
            let len = (rng.next() % 160) as usize;
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let s = run(&data);
            total.decoded += s.decoded;
            total.accepted += s.accepted;
            total.reaccepted += s.reaccepted;
            total.skipped += s.skipped;
        }
        assert!(total.decoded > 1000, "{total:?}");
        assert!(total.accepted > 100, "{total:?}");
    }

    /// Key 0, starting code 0, count 0: ADD_TIME value 5 at count 2, then the value-999
    /// token at count 1, each entered twice. Only the 999 token is taken again.
    #[test]
    fn real_tokens_are_accepted_once() {
        let mut data = vec![0u8; 16 + 4];
        data.extend([0, 0, 0, 0]); // mode (count byte, no slots, decimal), count 0, mask 0
        data.extend([1 | 2 << 3, 5, 72 + 2]); // standard, value byte 5, count 0 + 2
        data.extend([1, 72 + 3]); // standard, value 999, count 2 + 1
        let s = run(&data);
        assert_eq!(
            s,
            Stats {
                decoded: 2,
                accepted: 2,
                reaccepted: 1,
                collisions: 0,
                skipped: 0
            }
        );
    }

    /// Replays the fuzzer's corpus through the same checks (every input re-checked with this
    /// build's invariants) and prints what it exercises. `cargo xtask ci` runs it right after
    /// its fuzz run; by hand: `cargo xtask fuzz`, then
    /// `cargo test --manifest-path firmware-core/fuzz/Cargo.toml -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs a corpus from `cargo xtask fuzz`"]
    fn corpus_replay() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/token_decode");
        let mut total = Stats::default();
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if let Ok(data) = std::fs::read(entry.path()) {
                let s = run(&data);
                files += 1;
                total.decoded += s.decoded;
                total.accepted += s.accepted;
                total.reaccepted += s.reaccepted;
                total.collisions += s.collisions;
                total.skipped += s.skipped;
            }
        }
        println!("{files} corpus inputs from {}: {total:?}", dir.display());
        assert!(
            files > 0,
            "no corpus in {}: run `cargo xtask fuzz` first",
            dir.display()
        );
        assert!(total.decoded > 0, "the corpus never reached the decoder");
    }

    /// Found by this target: a checkpoint whose code is near `u64::MAX` (corrupted
    /// storage) made `with_field` overflow (a panic in builds with overflow checks).
    #[test]
    fn corrupted_checkpoint_code_does_not_overflow() {
        let data: [u8; 89] = [
            0, 25, 57, 1, 25, 25, 201, 4, 0, 2, 29, 27, 52, 0, 0, 0, 0, 0, 0, 0, 239, 239, 239,
            239, 239, 239, 239, 239, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 36, 255, 255, 255, 255, 255,
            255, 255, 5, 143, 6, 65, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        run(&data);
    }
}
