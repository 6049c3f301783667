//! OpenPAYGO Token: the hash chain, generation, token text and the device decoder.
//!
//! Normative description: `docs/token-spec.md`. All arithmetic is integer; values are the
//! raw integers embedded in tokens (the divider is applied by the caller).

mod cycle;
mod decode;
mod encode;
mod text;

pub use cycle::{find_cycle, Cycle};
pub use decode::{decode, Checkpoint, Decoded, Outcome, UsedCounts};
pub use encode::{generate, next_count, Generated};
pub use text::{parse, TokenText};

/// A device's 16-byte secret key.
pub type Key = [u8; 16];

/// Embedded value of a DISABLE_PAYG token.
pub const VALUE_DISABLE_PAYG: u32 = 998;
/// Embedded value of a COUNTER_SYNC token.
pub const VALUE_COUNTER_SYNC: u32 = 999;

/// Standard (3-digit value field, 9 digits) or extended (6-digit value field, 12 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// 9 digits (15 restricted).
    Standard,
    /// 12 digits (20 restricted).
    Extended,
}

impl TokenKind {
    /// Size of the value field: tokens carry `value mod modulus` in their last digits.
    pub const fn modulus(self) -> u64 {
        match self {
            TokenKind::Standard => 1_000,
            TokenKind::Extended => 1_000_000,
        }
    }

    /// Largest time value that may be issued (ADD_TIME / SET_TIME).
    pub const fn max_time_value(self) -> u32 {
        match self {
            TokenKind::Standard => 995,
            TokenKind::Extended => 999_999,
        }
    }

    /// Largest token number of this kind.
    pub const fn max_number(self) -> u64 {
        match self {
            TokenKind::Standard => 999_999_999,
            TokenKind::Extended => 999_999_999_999,
        }
    }

    /// Number of digits printed for this kind.
    pub const fn digits(self, restricted: bool) -> usize {
        match (self, restricted) {
            (TokenKind::Standard, false) => 9,
            (TokenKind::Standard, true) => 15,
            (TokenKind::Extended, false) => 12,
            (TokenKind::Extended, true) => 20,
        }
    }
}

/// What a token does, as the decoder reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// Add days (even counts).
    AddTime,
    /// Set days (odd counts); re-enables PAYG.
    SetTime,
    /// Unlock for good (value 998, odd count).
    DisablePayg,
    /// Resynchronise the count only (value 999, odd count).
    CounterSync,
}

impl TokenType {
    /// The name used in the vectors, the CLI and the UART protocol.
    pub const fn name(self) -> &'static str {
        match self {
            TokenType::AddTime => "ADD_TIME",
            TokenType::SetTime => "SET_TIME",
            TokenType::DisablePayg => "DISABLE_PAYG",
            TokenType::CounterSync => "COUNTER_SYNC",
        }
    }
}

/// SipHash-2-4 of `msg` under `key` (k0/k1 little-endian from the key bytes).
///
/// Written out here rather than taken from `siphasher` (which the tests use as the
/// reference): siphasher unrolls its rounds, which costs ~1.1 KB of Cortex-M0 code, while
/// one shared round loop costs a fifth of that (see ARCHITECTURE.md, "Decoder cost and
/// checkpoints"). Not inlined: the protocol's MACs and the starting code share this copy.
#[inline(never)]
pub fn siphash24(key: &Key, msg: &[u8]) -> u64 {
    let mut v = sip_init(key);
    let mut blocks = msg.chunks_exact(8);
    for block in &mut blocks {
        sip_rounds(&mut v, le_word(block), 2);
    }
    // The length byte is the message length mod 256 (spec §2).
    let last = le_word(blocks.remainder()) | (msg.len() as u64) << 56;
    sip_finish(v, last)
}

/// SipHash-2-4 of an 8-byte message given as the halves of its little-endian word: the
/// same hash as `siphash24(key, &m.to_le_bytes())` for `m = hi << 32 | lo`, without the
/// byte handling. The chain steps hash only 8-byte messages. (Halves, because next9's
/// `m | m << 32` is folded into a multiplication by 2^32 + 1, a libcall on the M0.)
#[inline(never)]
fn siphash24_u64(key: &Key, lo: u32, hi: u32) -> u64 {
    let m = u64::from(hi) << 32 | u64::from(lo);
    let mut v = sip_init(key);
    sip_rounds(&mut v, m, 2);
    sip_finish(v, 8 << 56)
}

/// The little-endian word of up to 8 bytes (missing high bytes are zero).
fn le_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0, |w, &b| w << 8 | u64::from(b))
}

/// The initial state for `key`.
fn sip_init(key: &Key) -> [u64; 4] {
    let k0 = le_word(key.get(..8).unwrap_or_default());
    let k1 = le_word(key.get(8..).unwrap_or_default());
    [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]
}

/// The last block (tail bytes and length byte) and the four finalisation rounds.
fn sip_finish(mut v: [u64; 4], last: u64) -> u64 {
    sip_rounds(&mut v, last, 2);
    v[2] ^= 0xff;
    sip_rounds(&mut v, 0, 4);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Message word `m` in, `n` SipRounds, `m` out (a block is `n = 2`; the finalisation
/// rounds take `m = 0`). One loop body in flash for every round of every hash.
#[inline(never)]
fn sip_rounds(v: &mut [u64; 4], m: u64, n: u32) {
    let [mut v0, mut v1, mut v2, mut v3] = *v;
    v3 ^= m;
    for _ in 0..n {
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13) ^ v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16) ^ v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21) ^ v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17) ^ v2;
        v2 = v2.rotate_left(32);
    }
    *v = [v0 ^ m, v1, v2, v3];
}

/// Fold a 64-bit hash to the 30-bit number the standard token uses (spec §3.1 steps 3-5).
fn fold30(h: u64) -> u32 {
    let f = ((h >> 32) ^ (h & 0xFFFF_FFFF)) as u32;
    let t = f >> 2;
    if t > 999_999_999 {
        t - 73_741_825
    } else {
        t
    }
}

/// One step of the standard chain: `next9(x)` (spec §3.1).
pub fn next9(key: &Key, x: u32) -> u32 {
    // The message is the 4 big-endian bytes of x twice; as a little-endian word that is
    // the byte-swapped x in both halves.
    let m = x.swap_bytes();
    fold30(siphash24_u64(key, m, m))
}

/// One step of the extended chain: `next12(x)` (spec §7).
pub fn next12(key: &Key, x: u64) -> u64 {
    // The message is the 8 big-endian bytes of x: as a little-endian word, x byte-swapped.
    let m = x.swap_bytes();
    let t = siphash24_u64(key, m as u32, (m >> 32) as u32) >> 24;
    if t > 999_999_999_999 {
        t - 99_511_627_777
    } else {
        t
    }
}

/// The starting code derived from the key when none is provisioned (spec §3.3).
pub fn starting_code_from_key(key: &Key) -> u32 {
    fold30(siphash24(key, key))
}

/// A position on one value's hash chain: the raw chain code at `count`.
///
/// The host caches these per unit and value so that issuing the next token costs a few
/// hashes instead of `count`; the device keeps a few as decoder checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainPos {
    /// Position on the chain (the token count).
    pub count: u32,
    /// Raw chain code at that position (before the value field is forced in).
    pub code: u64,
}

/// Walks the chain of one value field (`field` = the token's last 3 or 6 digits).
#[derive(Debug, Clone)]
pub struct Chain<'k> {
    key: &'k Key,
    kind: TokenKind,
    field: u64,
    start: u64,
    pos: ChainPos,
    steps: u32,
}

impl<'k> Chain<'k> {
    /// The chain of value field `field` for a device with `starting_code`, at count 0.
    pub fn new(key: &'k Key, kind: TokenKind, starting_code: u32, field: u64) -> Self {
        let start = with_field(kind, u64::from(starting_code), field);
        Chain {
            key,
            kind,
            field,
            start,
            pos: ChainPos {
                count: 0,
                code: start,
            },
            steps: 0,
        }
    }

    /// Continue from a cached position. A position that does not belong to this chain gives
    /// wrong tokens, so callers only pass positions this chain produced.
    pub fn resume(mut self, pos: ChainPos) -> Self {
        self.pos = pos;
        self
    }

    /// Current position.
    pub fn pos(&self) -> ChainPos {
        self.pos
    }

    /// The token number at the current position.
    pub fn token(&self) -> u64 {
        with_field(self.kind, self.pos.code, self.field)
    }

    /// Hash steps taken so far (for cost accounting in tests and benchmarks).
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Move one position forward. Returns false (and stays) at the end of the count range.
    pub fn advance(&mut self) -> bool {
        let Some(count) = self.pos.count.checked_add(1) else {
            return false;
        };
        self.pos.code = next_code(self.key, self.kind, self.pos.code);
        self.pos.count = count;
        self.steps = self.steps.saturating_add(1);
        true
    }

    /// Move to `count`, going back to the chain start if it lies behind.
    pub fn seek(&mut self, count: u32) {
        if count < self.pos.count {
            self.pos = ChainPos {
                count: 0,
                code: self.start,
            };
        }
        while self.pos.count < count && self.advance() {}
    }
}

/// The chain code after `code` on a chain of `kind`: one hash step.
pub(crate) fn next_code(key: &Key, kind: TokenKind, code: u64) -> u64 {
    match kind {
        // Standard codes are < 10^9, so the cast keeps every bit.
        TokenKind::Standard => u64::from(next9(key, code as u32)),
        TokenKind::Extended => next12(key, code),
    }
}

/// The value field of a token number.
///
/// Binary long division (restoring, one bit per step, most significant first): the
/// Cortex-M0 has no divider, and a `u64 % m` would link the 64-bit division routines
/// (~1.3 KB of thumbv6m code) for the few remainders a decode needs. The remainder stays
/// below `2 * m < 2^21`, so it is kept in 32 bits, as are the two halves of `x`.
pub(crate) fn field_of(kind: TokenKind, x: u64) -> u64 {
    let m = kind.modulus() as u32;
    let mut r = 0u32;
    for mut half in [(x >> 32) as u32, x as u32] {
        for _ in 0..32 {
            r = (r << 1) | (half >> 31);
            half <<= 1;
            if r >= m {
                r -= m;
            }
        }
    }
    u64::from(r)
}

/// The value carried by value field `field` (< modulus) for a device with `starting_code`:
/// `(field - field_of(starting_code)) mod modulus`, without a division.
/// In 32 bits: fields and moduli are below 2^20.
pub(crate) fn value_of(kind: TokenKind, field: u32, starting_code: u32) -> u32 {
    let base = field_of(kind, u64::from(starting_code)) as u32;
    if field >= base {
        field - base
    } else {
        (field + kind.modulus() as u32).wrapping_sub(base)
    }
}

/// The value field (a token's last 3 or 6 digits) of every token that embeds `value` for a
/// device with `starting_code`: the inverse of `value_of`, and what names a value's chain.
pub fn field_for(kind: TokenKind, starting_code: u32, value: u32) -> u64 {
    (field_of(kind, u64::from(starting_code)) + field_of(kind, u64::from(value))) % kind.modulus()
}

/// `x` with its value field replaced by `field`. Saturates for codes no chain produces
/// (a corrupted checkpoint near `u64::MAX`), which then match no token.
pub(crate) fn with_field(kind: TokenKind, x: u64, field: u64) -> u64 {
    (x - field_of(kind, x)).saturating_add(field_of(kind, field))
}
