//! The PAYG device: a pure state machine that turns tokens, key presses and time into a
//! power decision and LED feedback (spec §10).
//!
//! Nothing here reads a clock, a keypad or flash. The caller passes `now`, a `u32` count of
//! seconds from an RTC-style counter that only has to move forward, with every [`Event`],
//! and acts on the returned [`Output`]: drive the load from [`Output::power_on`], blink
//! [`Feedback::blinks`], and save [`PaygState::to_bytes`] whenever [`Output::persist`] is
//! set (the storage layer adds versioning, CRC and slots).
//!
//! ```text
//! loop {
//!     let now = rtc.seconds();
//!     let event = keypad.poll().map(Event::Key).unwrap_or(Event::Tick);
//!     let out = device.handle(&cfg, event, now);
//!     relay.set(out.power_on);
//!     if let Some(b) = out.feedback.blinks() { leds.blink(b.led, b.count) }
//!     if out.persist { storage.save(&device.state.to_bytes()) }
//! }
//! ```
//!
//! # Tokens (spec §10.1)
//!
//! The device acts on the raw value first, then on the parity the decoder reports:
//!
//! * 998 (any parity): PAYG disabled, the device stays on until a SET_TIME re-enables it.
//! * 999 (any parity): counter synchronisation, nothing but the count changes.
//! * 996 / 997 are reserved by the protocol. **Choice:** they act like 999 (the count
//!   moves, nothing else). The neutral C example grants them as time; granting time for a
//!   value no server issues on purpose is the riskier reading, and the vectors' device
//!   model ignores them too.
//! * otherwise SET_TIME (odd): PAYG re-enabled, end = now + value × 86 400 ÷ divider.
//!   ADD_TIME (even): end = max(end, now) + value × 86 400 ÷ divider, so days spent
//!   inactive are never charged. An ADD_TIME while PAYG is disabled is accepted (the count
//!   moves) but changes no time: only SET_TIME re-locks, and it sets the time anyway.
//! * Extended tokens are accepted by the decoder (the count moves) but never change the
//!   activation: their meaning is manufacturer-defined, so they are reported as
//!   [`Feedback::Extended`] with the raw value for the product layer to act on.
//!
//! Active ⇔ PAYG disabled, or end > now.
//!
//! # Wrong-token lockout (spec §10.3, neutral C)
//!
//! Each INVALID token increments a consecutive-failure counter (capped at
//! [`MAX_FAILURES`] = 11). The first [`FREE_FAILURES`] = 2 are free; from the 3rd on, entry
//! is locked for 2^(failures − 2) minutes: 2, 4, 8 … 512 minutes, then 512 for good.
//! ALREADY_USED neither counts nor resets; any accepted token resets. While locked, tokens
//! are refused with [`Feedback::Locked`] *before* they reach the decoder. Counter and lock
//! end are persisted, so a power cycle does not lift the lock.
//!
//! # Time keeping and tampering (spec §10.2)
//!
//! The state remembers the last `now` it saw. Normal operation, including a long power-off
//! with a battery-backed RTC, counts calendar time: the end time is absolute. The counter
//! must keep running across power loss; with one that restarts at every boot, every boot
//! is a rollback (below) and costs one [`TAMPER_PENALTY`].
//!
//! If `now` is ever *below* the last seen time, the RTC was reset (battery removed) or set
//! back. Taking the stored absolute end time at face value would either hand out years of
//! credit (the end time is now far in the future) or be meaningless, and clearing all credit
//! (Arduino reference) punishes an honest battery swap. **Policy:** the remaining credit
//! and the remaining lock are *rebased* onto the new clock (they keep their length measured
//! at the last seen time), and the credit is charged [`TAMPER_PENALTY`] (one
//! [`PERSIST_PERIOD`]) on top:
//!
//! * fraud-safe: the last-seen time is exact while running and at most one persistence
//!   period old after a power cycle, so the time that may have elapsed unrecorded before a
//!   rollback is at most one period; charging a full period means a detected rollback
//!   never gains credit, and repeating it only burns credit faster. The lock keeps its remaining length (rolling the clock back never
//!   shortens a lock);
//! * user-fair: an honest RTC reset costs at most one period of credit (default one hour),
//!   not the whole balance. The event is reported as [`Output::tamper`] for logging.
//!
//! Limits (documented, not solvable with one untrusted clock): a rollback smaller than the
//! staleness of the persisted last-seen time across a power cycle goes unnoticed (at most
//! one period gained per power cycle); a clock moved *forward* expires credit (the user's
//! loss) and lifts a lock early (slows down guessing less than intended; an independent
//! clock is needed to detect it, see the audit's recommendation). A glitchy RTC read below
//! the previous one is charged as a rollback: callers must validate RTC reads.
//!
//! # Persistence
//!
//! [`Output::persist`] is set when anything that must survive a power loss changed (an
//! accepted or invalid token, a tamper rebase) and whenever `now` crosses a multiple of
//! [`PERSIST_PERIOD`], so the stored last-seen time is never more than one period (plus one
//! event interval) behind. Without a rollback, power loss neither gains nor loses time (the
//! end time is absolute); with one, the loss is bounded by [`TAMPER_PENALTY`].
//!
//! [`PaygState::to_bytes`] layout, [`STATE_LEN`] = 46 bytes, integers little-endian:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | last count |
//! | 4 | 2 | used mask (bit k ⇔ count − 1 − k used) |
//! | 6 | 1 | flags: bit 0 = PAYG disabled; bits 1-7 zero (so all-zero bytes decode to a PAYG device without credit, never to an unlocked one) |
//! | 7 | 1 | consecutive invalid tokens, 0 ..= 11 |
//! | 8 | 4 | activation end time (s) |
//! | 12 | 4 | token entry locked until (s), 0 when never locked since the last valid token |
//! | 16 | 4 | last seen time (s) |
//! | 20 | 13 | checkpoint slot 0 (most recently used) |
//! | 33 | 13 | checkpoint slot 1 |
//!
//! A checkpoint slot is: kind (1 byte: 0 = empty, then all 12 other bytes are zero;
//! 1 = standard, 2 = extended), value field (3 bytes, < 1 000 / < 1 000 000), chain position
//! (4 bytes), raw chain code (5 bytes, ≤ 2^32 − 1 standard, < 10^12 extended).
//! [`PaygState::from_bytes`] rejects anything else with [`Error::CorruptState`], so every
//! accepted byte string re-encodes to itself.
//!
//! # Keypad (spec §10.4)
//!
//! `*` starts an entry (refused with [`Feedback::Locked`] while locked) and restarts one
//! in progress; digits append (0-9, or only 1-4 on restricted devices: any other digit is
//! ignored with [`Feedback::KeyRejected`], the entry goes on); the entry completes by
//! itself at 9 digits (15 restricted) and goes to the decoder as a standard token. `#`
//! outside an entry shows the status, inside one cancels it ([`Feedback::EntryAborted`]);
//! [`ENTRY_TIMEOUT`] seconds without a key abort the entry. Extended tokens cannot be typed
//! (a 9-digit prefix completes first); they come in as [`Event::Token`] (UART, app). The
//! keypad is not persisted: a power-up drops a half-typed token.

use core::num::NonZeroU8;

use crate::le::{get32, put32};
use crate::token::{
    self, ChainPos, Checkpoint, Key, Outcome, TokenKind, TokenType, UsedCounts, VALUE_COUNTER_SYNC,
    VALUE_DISABLE_PAYG,
};
use crate::Error;

/// Seconds in one activation day.
pub const SECONDS_PER_DAY: u32 = 86_400;
/// The caller persists at least this often (signalled through [`Output::persist`]).
pub const PERSIST_PERIOD: u32 = 3_600;
const _: () = assert!(PERSIST_PERIOD <= u16::MAX as u32);
/// Credit charged when the clock is found to have gone backwards.
pub const TAMPER_PENALTY: u32 = PERSIST_PERIOD;
/// Consecutive invalid tokens that cost no waiting time.
pub const FREE_FAILURES: u8 = 2;
/// Cap of the failure counter: 2^(11 − 2) minutes = 512 minutes is the longest lock.
pub const MAX_FAILURES: u8 = 11;
/// Seconds without a key press after which a keypad entry is dropped.
pub const ENTRY_TIMEOUT: u32 = 20;
/// Decoder checkpoints kept in the state.
pub const CHECKPOINT_SLOTS: usize = 2;
/// Length of [`PaygState::to_bytes`].
pub const STATE_LEN: usize = 46;

const CHECKPOINT_LEN: usize = 13;
const _: () = assert!(STATE_LEN == SLOTS_AT + CHECKPOINT_SLOTS * CHECKPOINT_LEN);
const SLOTS_AT: usize = 20;
const KIND_STANDARD: u8 = 1;
const KIND_EXTENDED: u8 = 2;

/// Factory parameters of one device (spec §1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The device's secret key.
    pub key: Key,
    /// The device's starting code.
    pub starting_code: u32,
    /// Restricted digit set (keys 1-4 only, 15-digit tokens).
    pub restricted: bool,
    /// Value divider: a token value of `v` is worth `v ÷ divider` days.
    pub divider: NonZeroU8,
}

impl core::fmt::Debug for DeviceConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.debug_struct("DeviceConfig")
            .field("starting_code", &self.starting_code)
            .field("restricted", &self.restricted)
            .field("divider", &self.divider)
            .finish_non_exhaustive()
    }
}

impl DeviceConfig {
    /// Seconds of activation a time value is worth: `value × 86 400 ÷ divider`, rounded
    /// down, saturating.
    pub const fn seconds(&self, value: u32) -> u32 {
        // Compare instead of `saturating_mul`, which costs a 64-bit multiply on thumbv6m.
        let days = if value > u32::MAX / SECONDS_PER_DAY {
            u32::MAX
        } else {
            value * SECONDS_PER_DAY
        };
        div_u32(days, self.divider.get() as u16)
    }
}

/// `n / d`, rounded down, by shift-and-subtract: the Cortex-M0 has no divider, and the two
/// divisions here would link compiler-builtins' u32 division (~0.4 KB of thumbv6m code).
/// The remainder stays below `d < 2^16`, so nothing overflows; `d = 0` gives `u32::MAX`.
const fn div_u32(n: u32, d: u16) -> u32 {
    let d = d as u32;
    let (mut q, mut r, mut i) = (0u32, 0u32, 32);
    while i > 0 {
        i -= 1;
        r = (r << 1) | ((n >> i) & 1);
        if r >= d {
            r -= d;
            q |= 1 << i;
        }
    }
    q
}

/// A key of the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keypress {
    /// `*`: start or restart token entry.
    Star,
    /// `#`: status outside an entry, cancel inside one.
    Hash,
    /// A digit key; values above 9 are rejected.
    Digit(u8),
}

impl Keypress {
    /// The key for an ASCII character (`*`, `#`, `0`-`9`), for serial or PS/2 input.
    pub const fn from_ascii(c: u8) -> Option<Self> {
        match c {
            b'*' => Some(Keypress::Star),
            b'#' => Some(Keypress::Hash),
            b'0'..=b'9' => Some(Keypress::Digit(c - b'0')),
            _ => None,
        }
    }
}

/// Something that happened to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The device (re)started; `now` is the first clock reading.
    PowerUp,
    /// Periodic call (at least every few seconds: keypad timeout, power decision).
    Tick,
    /// A complete, parsed token from a non-keypad source (UART, app).
    Token {
        /// The token number ([`token::parse`]).
        number: u64,
        /// Standard or extended.
        kind: TokenKind,
    },
    /// A key press.
    Key(Keypress),
}

/// The LED to blink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Led {
    /// Green.
    Green,
    /// Red.
    Red,
}

/// A blink pattern: `count` blinks of `led`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blinks {
    /// Which LED.
    pub led: Led,
    /// How many times.
    pub count: u8,
}

/// What the user should be shown after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// Nothing to show.
    None,
    /// `#` status: active or not.
    Status {
        /// Whether the device is active.
        active: bool,
    },
    /// Token entry is locked after repeated invalid tokens.
    Locked {
        /// Seconds until entry is possible again.
        remaining: u32,
    },
    /// A key that does nothing here (digit outside an entry, or outside 1-4 on a
    /// restricted device).
    KeyRejected,
    /// A keypad entry was dropped (timeout or `#`); nothing was decoded.
    EntryAborted,
    /// The token is invalid (counts towards the lockout).
    Invalid,
    /// The token was valid once but is used (or too old).
    AlreadyUsed,
    /// ADD_TIME accepted.
    TimeAdded,
    /// SET_TIME accepted.
    TimeSet,
    /// DISABLE_PAYG accepted: the device is on for good.
    PaygDisabled,
    /// COUNTER_SYNC (or a reserved value) accepted: only the count moved.
    CounterSynced,
    /// An extended token was accepted; its value has no built-in meaning.
    Extended {
        /// The raw value (0 ..= 999 999).
        value: u32,
    },
}

impl Feedback {
    /// The neutral C reference's blink pattern (spec §10.4); `None` shows nothing.
    ///
    /// Additions: a rejected key blinks red once (like a locked `*`), an aborted entry
    /// red twice, an extended token green twice (like add/set).
    pub const fn blinks(self) -> Option<Blinks> {
        let (led, count) = match self {
            Feedback::None => return None,
            Feedback::Status { active: true } => (Led::Green, 1),
            Feedback::Status { active: false } => (Led::Red, 1),
            Feedback::Locked { .. } | Feedback::KeyRejected => (Led::Red, 1),
            Feedback::EntryAborted => (Led::Red, 2),
            Feedback::Invalid => (Led::Red, 10),
            Feedback::AlreadyUsed => (Led::Green, 1),
            Feedback::TimeAdded | Feedback::TimeSet | Feedback::Extended { .. } => (Led::Green, 2),
            Feedback::CounterSynced => (Led::Green, 3),
            Feedback::PaygDisabled => (Led::Green, 5),
        };
        Some(Blinks { led, count })
    }
}

/// The result of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Output {
    /// What to show the user.
    pub feedback: Feedback,
    /// Whether the load must be powered now.
    pub power_on: bool,
    /// Save [`PaygState::to_bytes`] now.
    pub persist: bool,
    /// The clock was found below the last seen time; credit and lock were rebased.
    pub tamper: bool,
    /// The decoder's answer, when a token reached it.
    pub decoded: Option<Outcome>,
}

/// What [`PaygState::observe`] found.
#[derive(Clone, Copy)]
struct Seen {
    persist: bool,
    tamper: bool,
}

/// Remaining activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credit {
    /// PAYG is disabled.
    Unlimited,
    /// Seconds until the device turns off (0: off).
    Seconds(u32),
}

/// Everything the device must persist (see the module docs for the byte layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaygState {
    used: UsedCounts,
    /// Stored inverted, as on the media: a fresh state is all zeros but the count, which
    /// the optimiser clears with aligned stores.
    payg_disabled: bool,
    failures: u8,
    active_until: u32,
    locked_until: u32,
    last_seen: u32,
    /// The decoder checkpoints in their stored form ([`CHECKPOINT_LEN`] bytes each, see the
    /// layout): 26 bytes of RAM instead of 48 as `Option<Checkpoint>`s, unpacked only
    /// around a decode.
    checkpoints: [Slot; CHECKPOINT_SLOTS],
}

/// A checkpoint slot in its stored form.
type Slot = [u8; CHECKPOINT_LEN];

/// Empty slots, as a constant: a repeat expression in `new` becomes a loop of unaligned
/// 13-byte clears, which links compiler-builtins' unaligned `memclr` (~190 B).
const NO_CHECKPOINTS: [Slot; CHECKPOINT_SLOTS] = [[0; CHECKPOINT_LEN]; CHECKPOINT_SLOTS];

impl PaygState {
    /// A freshly provisioned device: count `count`, PAYG enabled, no credit.
    #[inline(never)]
    pub const fn new(count: u32) -> Self {
        PaygState {
            used: UsedCounts::new(count),
            payg_disabled: false,
            failures: 0,
            active_until: 0,
            locked_until: 0,
            last_seen: 0,
            checkpoints: NO_CHECKPOINTS,
        }
    }

    /// Back to `PaygState::new(0)` in place (no state-sized copy).
    #[inline(never)]
    pub(crate) fn clear(&mut self) {
        self.used = UsedCounts::new(0);
        self.payg_disabled = false;
        self.failures = 0;
        self.active_until = 0;
        self.locked_until = 0;
        self.last_seen = 0;
        for slot in &mut self.checkpoints {
            copy(slot, 0, &[0; CHECKPOINT_LEN]);
        }
    }

    /// Count and used mask.
    pub const fn used_counts(&self) -> UsedCounts {
        self.used
    }

    /// Whether PAYG is enabled (false after DISABLE_PAYG until the next SET_TIME).
    pub const fn payg_enabled(&self) -> bool {
        !self.payg_disabled
    }

    /// Activation end time (meaningful while PAYG is enabled).
    pub const fn active_until(&self) -> u32 {
        self.active_until
    }

    /// Consecutive invalid tokens (capped at [`MAX_FAILURES`]).
    pub const fn failures(&self) -> u8 {
        self.failures
    }

    /// End of the current or last lock (0: none since the last valid token).
    pub const fn locked_until(&self) -> u32 {
        self.locked_until
    }

    /// The latest time seen.
    pub const fn last_seen(&self) -> u32 {
        self.last_seen
    }

    /// The decoder checkpoint cache, most recently used first.
    pub fn checkpoints(&self) -> [Option<Checkpoint>; CHECKPOINT_SLOTS] {
        let mut cps = [None; CHECKPOINT_SLOTS];
        self.unpack(&mut cps);
        cps
    }

    /// The checkpoints into `cps` (all `None` slots already).
    #[inline(never)]
    fn unpack(&self, cps: &mut [Option<Checkpoint>; CHECKPOINT_SLOTS]) {
        for (cp, slot) in cps.iter_mut().zip(&self.checkpoints) {
            // Slots in the state are valid (checked by `from_bytes` or written by `pack`).
            let _ = checkpoint_at(slot, cp);
        }
    }

    /// Whether the load may be powered at `now`.
    pub const fn is_active(&self, now: u32) -> bool {
        self.payg_disabled || self.active_until > now
    }

    /// Remaining activation at `now`.
    pub const fn credit(&self, now: u32) -> Credit {
        if !self.payg_disabled {
            Credit::Seconds(self.active_until.saturating_sub(now))
        } else {
            Credit::Unlimited
        }
    }

    /// Seconds token entry stays locked at `now` (0: not locked).
    pub const fn lock_remaining(&self, now: u32) -> u32 {
        self.locked_until.saturating_sub(now)
    }

    /// Whether token entry is locked at `now`.
    pub const fn is_locked(&self, now: u32) -> bool {
        self.locked_until > now
    }

    /// Whether an event at `now` will ask for persistence because of time alone (a
    /// [`PERSIST_PERIOD`] boundary crossed since the last seen time, or a rollback).
    pub const fn time_to_persist(&self, now: u32) -> bool {
        now < self.last_seen
            || div_u32(now, PERSIST_PERIOD as u16) != div_u32(self.last_seen, PERSIST_PERIOD as u16)
    }

    /// Take `now` into account: rebase on a rollback, note period boundaries.
    fn observe(&mut self, now: u32) -> Seen {
        let mut seen = Seen {
            persist: self.time_to_persist(now),
            tamper: false,
        };
        if now < self.last_seen {
            seen.tamper = true;
            let credit = self
                .active_until
                .saturating_sub(self.last_seen)
                .saturating_sub(TAMPER_PENALTY);
            self.active_until = now.saturating_add(credit);
            let lock = self.locked_until.saturating_sub(self.last_seen);
            self.locked_until = if lock > 0 {
                now.saturating_add(lock)
            } else {
                0
            };
        }
        self.last_seen = now;
        seen
    }

    /// The output of an event that decoded nothing, built in the caller's return slot
    /// (an `Output` passed along and returned again is a 24-byte copy each time).
    #[inline(never)]
    fn output(&self, seen: Seen, feedback: Feedback, now: u32) -> Output {
        Output {
            feedback,
            power_on: self.is_active(now),
            persist: seen.persist,
            tamper: seen.tamper,
            decoded: None,
        }
    }

    /// Device start: check the clock against the persisted last seen time.
    pub fn power_up(&mut self, now: u32) -> Output {
        self.tick(now)
    }

    /// Periodic update.
    pub fn tick(&mut self, now: u32) -> Output {
        self.event(Feedback::None, now)
    }

    /// An event without a token: `feedback` is what it shows.
    #[inline(never)]
    fn event(&mut self, feedback: Feedback, now: u32) -> Output {
        let seen = self.observe(now);
        self.output(seen, feedback, now)
    }

    /// `#` status.
    pub fn status(&mut self, now: u32) -> Output {
        let seen = self.observe(now);
        let active = self.is_active(now);
        self.output(seen, Feedback::Status { active }, now)
    }

    /// Enter token `number` of `kind` (refused without decoding while locked).
    pub fn enter_token(
        &mut self,
        cfg: &DeviceConfig,
        number: u64,
        kind: TokenKind,
        now: u32,
    ) -> Output {
        let seen = self.observe(now);
        if self.is_locked(now) {
            let remaining = self.lock_remaining(now);
            return self.output(seen, Feedback::Locked { remaining }, now);
        }
        let mut checkpoints = [None; CHECKPOINT_SLOTS];
        self.unpack(&mut checkpoints);
        let decoded = token::decode(
            &cfg.key,
            cfg.starting_code,
            &mut self.used,
            number,
            kind,
            &mut checkpoints,
        );
        for (slot, cp) in self.checkpoints.iter_mut().zip(&checkpoints) {
            pack(cp, slot);
        }
        let mut persist = true;
        let feedback = match decoded.outcome {
            Outcome::Invalid => {
                self.failures = self.failures.saturating_add(1).min(MAX_FAILURES);
                if self.failures > FREE_FAILURES {
                    // failures ≤ 11: at most 60 << 9 seconds (512 minutes).
                    let lock = 60u32 << (self.failures - FREE_FAILURES);
                    self.locked_until = now.saturating_add(lock);
                }
                Feedback::Invalid
            }
            Outcome::AlreadyUsed => {
                persist = seen.persist;
                Feedback::AlreadyUsed
            }
            Outcome::Accepted {
                token_type, value, ..
            } => {
                self.failures = 0;
                self.locked_until = 0;
                self.apply(cfg, kind, token_type, value, now)
            }
        };
        Output {
            feedback,
            power_on: self.is_active(now),
            persist,
            tamper: seen.tamper,
            decoded: Some(decoded.outcome),
        }
    }

    /// Act on an accepted token (spec §10.1, value first, then parity).
    fn apply(
        &mut self,
        cfg: &DeviceConfig,
        kind: TokenKind,
        token_type: TokenType,
        value: u32,
        now: u32,
    ) -> Feedback {
        if kind == TokenKind::Extended {
            return Feedback::Extended { value };
        }
        if value == VALUE_DISABLE_PAYG {
            self.payg_disabled = true;
            return Feedback::PaygDisabled;
        }
        if value == VALUE_COUNTER_SYNC || value > TokenKind::Standard.max_time_value() {
            return Feedback::CounterSynced;
        }
        let seconds = cfg.seconds(value);
        if token_type == TokenType::AddTime {
            if !self.payg_disabled {
                self.active_until = self.active_until.max(now).saturating_add(seconds);
            }
            Feedback::TimeAdded
        } else {
            self.payg_disabled = false;
            self.active_until = now.saturating_add(seconds);
            Feedback::TimeSet
        }
    }

    /// The fixed little-endian layout of the module docs.
    pub fn to_bytes(&self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        self.write_bytes(&mut b);
        b
    }

    /// [`Self::to_bytes`] into the caller's buffer (every byte is written), e.g. straight
    /// into a record, without a state-sized copy.
    pub fn write_bytes(&self, b: &mut [u8; STATE_LEN]) {
        // In layout order: each u32 write may spill zeros into the next field.
        put32(b, 0, self.used.count());
        put32(b, 4, u32::from(self.used.mask()));
        put32(
            b,
            6,
            u32::from(self.payg_disabled) | u32::from(self.failures) << 8,
        );
        put32(b, 8, self.active_until);
        put32(b, 12, self.locked_until);
        put32(b, 16, self.last_seen);
        for (i, slot) in self.checkpoints.iter().enumerate() {
            copy(b, SLOTS_AT + i * CHECKPOINT_LEN, slot);
        }
    }

    /// Decode [`Self::to_bytes`], rejecting out-of-range fields with
    /// [`Error::CorruptState`].
    pub fn from_bytes(b: &[u8; STATE_LEN]) -> Result<Self, Error> {
        let mut state = PaygState::new(0);
        state.read_bytes(b)?;
        Ok(state)
    }

    /// [`Self::from_bytes`] into `self` (no state-sized copy); on error `self` is unchanged.
    pub fn read_bytes(&mut self, b: &[u8; STATE_LEN]) -> Result<(), Error> {
        let flags = get32(b, 6);
        let (failures, flags) = ((flags >> 8) as u8, flags as u8);
        if flags > 1 || failures > MAX_FAILURES {
            return Err(Error::CorruptState);
        }
        for i in 0..CHECKPOINT_SLOTS {
            slot_at(b, SLOTS_AT + i * CHECKPOINT_LEN)?;
        }
        self.used = UsedCounts::from_parts(get32(b, 0), get32(b, 4) as u16);
        self.payg_disabled = flags != 0;
        self.failures = failures;
        self.active_until = get32(b, 8);
        self.locked_until = get32(b, 12);
        self.last_seen = get32(b, 16);
        for (i, slot) in self.checkpoints.iter_mut().enumerate() {
            copy(
                slot,
                0,
                b.get(SLOTS_AT + i * CHECKPOINT_LEN..).unwrap_or(&[]),
            );
        }
        Ok(())
    }
}

/// `src` into `b` at `at` (the layout's offsets always fit).
fn copy(b: &mut [u8], at: usize, src: &[u8]) {
    for (d, s) in b.iter_mut().skip(at).zip(src) {
        *d = *s;
    }
}

/// Validate the checkpoint slot at offset `at`.
#[inline(never)]
fn slot_at(b: &[u8; STATE_LEN], at: usize) -> Result<(), Error> {
    let slot = b
        .get(at..)
        .and_then(|t| t.first_chunk::<CHECKPOINT_LEN>())
        .ok_or(Error::CorruptState)?;
    checkpoint_at(slot, &mut None)
}

/// A checkpoint in its stored form: kind, field (3 bytes), count, code (5 bytes). Every
/// checkpoint the decoder produces fits (field < 10^6, code < 2^40).
#[inline(never)]
fn pack(cp: &Option<Checkpoint>, slot: &mut Slot) {
    let (kind, field, count, code) = match cp {
        None => (0, 0, 0, 0),
        Some(cp) => (
            match cp.kind {
                TokenKind::Standard => KIND_STANDARD,
                TokenKind::Extended => KIND_EXTENDED,
            },
            cp.field,
            cp.pos.count,
            cp.pos.code,
        ),
    };
    // In layout order: each u32 write spills zeros that the next one overwrites.
    put32(slot, 0, u32::from(kind) | field << 8);
    put32(slot, 4, count);
    put32(slot, 8, code as u32);
    put32(slot, 12, (code >> 32) as u32);
}

/// The checkpoint in a slot into `out` (`None` for an empty slot); [`Error::CorruptState`]
/// for anything [`pack`] does not write, leaving `out` alone.
#[inline(never)]
fn checkpoint_at(slot: &Slot, out: &mut Option<Checkpoint>) -> Result<(), Error> {
    let head = get32(slot, 0);
    let (kind, field) = (head as u8, head >> 8);
    let count = get32(slot, 4);
    // 40 bits: the fifth code byte is the last of the slot.
    let code = u64::from(get32(slot, 8)) | u64::from(get32(slot, 12)) << 32;
    let (kind, max_code) = match kind {
        0 if field == 0 && count == 0 && code == 0 => {
            *out = None;
            return Ok(());
        }
        KIND_STANDARD => (TokenKind::Standard, u64::from(u32::MAX)),
        KIND_EXTENDED => (TokenKind::Extended, TokenKind::Extended.max_number()),
        _ => return Err(Error::CorruptState),
    };
    if u64::from(field) >= kind.modulus() || code > max_code {
        return Err(Error::CorruptState);
    }
    *out = Some(Checkpoint {
        kind,
        field,
        pos: ChainPos { count, code },
    });
    Ok(())
}

/// Keypad entry in progress (not persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keypad {
    entering: bool,
    digits: u8,
    /// The digits so far. 32 bits suffice: the keypad takes standard tokens only, at most
    /// 9 decimal digits (< 10^9) or 15 restricted ones (30 bits); and a u64 multiply by 10
    /// would link a multiplication routine on the Cortex-M0.
    number: u32,
    last_key: u32,
}

/// What a key press did to the keypad.
enum KeyAction {
    Feedback(Feedback),
    Status,
    Start,
    Token(u64),
}

impl Keypad {
    /// Idle keypad.
    pub const fn new() -> Self {
        Keypad {
            entering: false,
            digits: 0,
            number: 0,
            last_key: 0,
        }
    }

    /// Whether a token is being typed.
    pub const fn is_entering(&self) -> bool {
        self.entering
    }

    /// Digits typed so far.
    pub const fn digits(&self) -> u8 {
        self.digits
    }

    fn reset(&mut self) {
        *self = Keypad::new();
    }

    fn start(&mut self, now: u32) {
        *self = Keypad {
            entering: true,
            digits: 0,
            number: 0,
            last_key: now,
        };
    }

    /// Drop an entry idle for [`ENTRY_TIMEOUT`] seconds (or whose key time lies in the
    /// future: the clock went back). Returns whether one was dropped.
    fn expire(&mut self, now: u32) -> bool {
        if self.entering && now.wrapping_sub(self.last_key) >= ENTRY_TIMEOUT {
            self.reset();
            return true;
        }
        false
    }

    fn press(&mut self, key: Keypress, restricted: bool, now: u32) -> KeyAction {
        match key {
            Keypress::Star => KeyAction::Start,
            Keypress::Hash if self.entering => {
                self.reset();
                KeyAction::Feedback(Feedback::EntryAborted)
            }
            Keypress::Hash => KeyAction::Status,
            Keypress::Digit(d) => {
                if !self.entering {
                    return KeyAction::Feedback(Feedback::KeyRejected);
                }
                self.last_key = now;
                let number = match (restricted, d) {
                    (true, 1..=4) => (self.number << 2) | u32::from(d - 1),
                    (false, 0..=9) => self.number.wrapping_mul(10).wrapping_add(u32::from(d)),
                    _ => return KeyAction::Feedback(Feedback::KeyRejected),
                };
                self.number = number;
                self.digits = self.digits.saturating_add(1);
                if usize::from(self.digits) >= TokenKind::Standard.digits(restricted) {
                    self.reset();
                    return KeyAction::Token(u64::from(number));
                }
                KeyAction::Feedback(Feedback::None)
            }
        }
    }
}

/// The whole device: persisted state plus the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// What is persisted.
    pub state: PaygState,
    /// Token entry in progress.
    pub keypad: Keypad,
}

impl Device {
    /// A device with restored (or fresh) state and an idle keypad.
    pub const fn new(state: PaygState) -> Self {
        Device {
            state,
            keypad: Keypad::new(),
        }
    }

    /// Handle one event at time `now`.
    #[inline(never)]
    pub fn handle(&mut self, cfg: &DeviceConfig, event: Event, now: u32) -> Output {
        match event {
            Event::PowerUp => {
                self.keypad.reset();
                self.state.power_up(now)
            }
            Event::Tick => {
                let feedback = if self.keypad.expire(now) {
                    Feedback::EntryAborted
                } else {
                    Feedback::None
                };
                self.state.event(feedback, now)
            }
            Event::Token { number, kind } => self.state.enter_token(cfg, number, kind, now),
            Event::Key(key) => {
                // A stale entry is dropped silently: this key's feedback wins.
                self.keypad.expire(now);
                match self.keypad.press(key, cfg.restricted, now) {
                    KeyAction::Feedback(feedback) => self.state.event(feedback, now),
                    KeyAction::Status => self.state.status(now),
                    KeyAction::Start => {
                        // The clock first: a rollback rebases the lock.
                        let seen = self.state.observe(now);
                        let feedback = if self.state.is_locked(now) {
                            self.keypad.reset();
                            Feedback::Locked {
                                remaining: self.state.lock_remaining(now),
                            }
                        } else {
                            self.keypad.start(now);
                            Feedback::None
                        };
                        self.state.output(seen, feedback, now)
                    }
                    KeyAction::Token(number) => {
                        self.state
                            .enter_token(cfg, number, TokenKind::Standard, now)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::div_u32;

    #[test]
    fn div_u32_is_division() {
        let mut x = 0x2545_f491u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let edges = [
            0,
            1,
            2,
            3599,
            3600,
            3601,
            86_399,
            86_400,
            u32::MAX - 1,
            u32::MAX,
        ];
        for d in [1u16, 2, 3, 7, 10, 255, 3600, u16::MAX] {
            for n in edges.into_iter().chain((0..1000).map(|_| next())) {
                assert_eq!(div_u32(n, d), n / u32::from(d), "{n} / {d}");
            }
        }
        assert_eq!(div_u32(5, 0), u32::MAX);
    }
}
