//! The whole device minus its hardware: PAYG state machine + persistent record + UART
//! service protocol, wired together. Board firmware and the host simulator both run this,
//! feeding it received bytes, key presses and the time, and acting on what it returns.
//!
//! The persisted record ([`RECORD_LEN`] bytes, little-endian) is:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | provisioned (0/1) |
//! | 1 | 1 | serial length (0-16) |
//! | 2 | 16 | serial, zero padded |
//! | 18 | 16 | key |
//! | 34 | 4 | starting code |
//! | 38 | 1 | restricted (0/1) |
//! | 39 | 1 | divider (1-255) |
//! | 40 | 46 | [`PaygState::to_bytes`] |
//! | 86 | 2 | zero (pads to a multiple of 8 for flash backends) |
//!
//! Every state change is saved before its reply is sent, so a reply the host saw is never
//! undone by a power cut.

use crate::le::{get32, put32};
use crate::payg::{
    Device, DeviceConfig, Event, Feedback, Keypad, Keypress, Output, PaygState, STATE_LEN,
};
use crate::protocol::{
    challenge_mac, command, decimal, digits_into, flag, hex_into, hex_u64, verify_reset,
    LineBuffer, LineEvent, Out, PaygState as WireState, ProtoError, Serial, StatusReport,
    TokenResult, Words, CHAL, CHALLENGE_NONCE_LEN, ID, MAX_LINE, NONCE, PACKED_CODES,
    PACKED_COMMANDS, PROTOCOL_VERSION, PROV, RESET, SERIAL_MAX, STATUS, TOKEN,
};
use crate::storage::{RecordStore, Store};
use crate::token::{self, Key, Outcome};
use crate::Error;
use core::num::NonZeroU8;

/// Bytes of the persisted record.
pub const RECORD_LEN: usize = 88;
/// Size of a reply buffer that always suffices.
pub const REPLY_MAX: usize = MAX_LINE + 2;
/// Record slots kept in the store (the store is split evenly between them).
pub const SLOTS: usize = 2;

const STATE_AT: usize = 40;

/// A source of nonces (a hardware RNG, or a counter that never repeats across resets).
pub trait Entropy {
    /// A fresh 64-bit value.
    fn next_u64(&mut self) -> u64;
}

impl<F: FnMut() -> u64> Entropy for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

#[derive(Clone, Copy)]
struct Provisioning {
    serial: [u8; SERIAL_MAX],
    serial_len: u8,
    cfg: DeviceConfig,
}

impl Provisioning {
    /// Not provisioned.
    const fn blank() -> Self {
        Provisioning {
            serial: [0; SERIAL_MAX],
            serial_len: 0,
            cfg: DeviceConfig {
                key: [0; 16],
                starting_code: 0,
                restricted: false,
                divider: NonZeroU8::MIN,
            },
        }
    }

    /// The serial (`None` when not provisioned). Not validated again: only validated
    /// serials are stored (`PROV` and the record decode check them).
    fn serial(&self) -> Option<Serial<'_>> {
        let serial = self.serial.get(..usize::from(self.serial_len))?;
        (!serial.is_empty()).then_some(Serial::checked(serial))
    }
}

/// The device application over a store `S`.
pub struct App<S: Store> {
    unit: Unit<S>,
    line: LineBuffer,
}

/// Everything but the line buffer: a line borrowed from the buffer is handled without a
/// copy (the borrows are disjoint).
struct Unit<S: Store> {
    store: RecordStore<S, RECORD_LEN>,
    /// Provisioned when `serial_len` is not 0 (valid serials are not empty). Not an
    /// `Option`: a `Provisioning` built and moved into one is a 40-byte copy.
    prov: Provisioning,
    device: Device,
    /// The last token result since boot or provisioning, as its position in the packed
    /// names (`TokenResult::NO_RESULT`: none): the reply writes it without a lookup.
    last: u8,
    /// The pending `NONCE` as two 32-bit halves (low first): 12 bytes of 4-byte aligned
    /// RAM, where an `Option<u64>` takes 16 and makes the whole state 8-byte aligned.
    reset_nonce: Option<[u32; 2]>,
    fault: Option<Error>,
    firmware: &'static str,
}

impl<S: Store> core::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App")
            .field("provisioned", &self.unit.provisioned())
            .field("fault", &self.unit.fault)
            .finish_non_exhaustive()
    }
}

impl<S: Store> App<S> {
    /// Start the device: load the record from `store` (a blank store is a blank device).
    ///
    /// A store whose records are all corrupt boots as a blank device with
    /// [`App::fault`] set: the key is gone, so nothing could be verified anyway, and the
    /// output stays off until the unit is provisioned again.
    ///
    /// [`App::new`] + [`App::start`]. Returning the started app moves its 252 bytes,
    /// which links `memcpy`: device firmware calls those two where the app stays.
    pub fn boot(store: S, firmware: &'static str, now: u32) -> Result<Self, Error> {
        let mut app = App::new(store, firmware)?;
        app.start(now);
        Ok(app)
    }

    /// A blank device over `store`, not started yet: call [`App::start`] before anything
    /// else. Fails only for a store too small for the record slots.
    #[inline(never)]
    pub fn new(store: S, firmware: &'static str) -> Result<Self, Error> {
        Ok(App {
            unit: Unit {
                store: RecordStore::new(store, SLOTS)?,
                prov: Provisioning::blank(),
                device: Device::new(PaygState::new(0)),
                last: TokenResult::NO_RESULT,
                reset_nonce: None,
                fault: None,
                firmware,
            },
            line: LineBuffer::new(),
        })
    }

    /// Load the record from the store and power up at `now` (see [`App::boot`]).
    pub fn start(&mut self, now: u32) {
        self.unit.start(now);
    }

    /// The storage problem found at boot, if any.
    pub fn fault(&self) -> Option<Error> {
        self.unit.fault
    }

    /// Whether the device is provisioned.
    pub fn provisioned(&self) -> bool {
        self.unit.provisioned()
    }

    /// The persisted PAYG state.
    pub fn state(&self) -> &PaygState {
        &self.unit.device.state
    }

    /// Whether the load should be powered.
    pub fn power_on(&self, now: u32) -> bool {
        self.unit.provisioned() && self.unit.device.state.is_active(now)
    }

    /// Let time pass (call at least once per second of `now`).
    pub fn tick(&mut self, now: u32) -> Output {
        self.unit.event(Event::Tick, now)
    }

    /// A keypad press.
    pub fn key(&mut self, key: Keypress, now: u32) -> Output {
        self.unit.event(Event::Key(key), now)
    }

    /// One byte from the UART. When it completes a line, the reply is written into
    /// `reply` and its length returned.
    ///
    /// The reply is written straight into `reply` (no `Request`/`Reply` values: moving
    /// them around linked `memcpy` and cost a copy at every step); the host-side
    /// `protocol::parse_response` reads it like any other reply.
    pub fn receive(
        &mut self,
        byte: u8,
        now: u32,
        entropy: &mut impl Entropy,
        reply: &mut [u8; REPLY_MAX],
    ) -> Option<usize> {
        let event = self.line.push(byte)?;
        let mut w = Out::new(reply);
        let done = match event {
            LineEvent::TooLong => Err(ProtoError::TooLong),
            LineEvent::Line(line) => self.unit.request(line, now, entropy, &mut w),
        };
        if let Err(e) = done {
            w.clear();
            w.word("ERR");
            w.packed(PACKED_CODES, e as usize);
        }
        w.finish().ok()
    }

    /// The `STATUS` report for `now`.
    pub fn status(&self, now: u32) -> StatusReport {
        self.unit.status(now)
    }
}

impl<S: Store> Unit<S> {
    /// Carry out one request line, writing its `OK` reply (or `ERR LOCKED`) into `w`; an
    /// error is the `ERR` code to reply with instead (whatever `w` holds is dropped).
    ///
    /// Check order as `protocol::parse_request`: framing and command word, then the
    /// arguments (a malformed request is `BAD_ARG` whatever the device's state), then the
    /// device's state.
    #[inline(never)]
    fn request(
        &mut self,
        line: &[u8],
        now: u32,
        entropy: &mut impl Entropy,
        w: &mut Out<'_>,
    ) -> Result<(), ProtoError> {
        let (cmd, mut words) = command(line)?;
        // One zeroed buffer for the arguments: CHAL's nonce, TOKEN's digits or PROV's
        // new record.
        let mut record = [0u8; RECORD_LEN];
        let mut len = 0;
        let mut mac = 0;
        let args = match cmd {
            CHAL => words
                .only()
                .and_then(|a| hex_into(a, record.get_mut(..CHALLENGE_NONCE_LEN)?)),
            TOKEN => record
                .first_chunk_mut()
                .and_then(|digits| digits_into(words.rest(), digits))
                .map(|n| len = n),
            PROV => prov_record(&mut words, &mut record, now),
            RESET => words.only().and_then(hex_u64).map(|m| mac = m),
            _ => words.done(),
        };
        args.ok_or(ProtoError::BadArg)?;
        if cmd == PROV {
            if self.provisioned() {
                return Err(ProtoError::AlreadyProvisioned);
            }
            self.commit(&record)?;
            self.fault = None;
        } else if cmd != ID && !self.provisioned() {
            return Err(ProtoError::NotProvisioned);
        }
        let restricted = self.provisioned() && self.prov.cfg.restricted;
        let mut outcome = Outcome::Invalid;
        // CHAL's MAC or NONCE's nonce.
        let mut hex = 0;
        match cmd {
            STATUS => {
                let _ = self.event(Event::Tick, now);
            }
            TOKEN => {
                let digits = record.get(..len).unwrap_or(&[]);
                let (number, kind) =
                    token::parse(digits, restricted).map_err(|_| ProtoError::BadArg)?;
                let out = self.event(Event::Token { number, kind }, now);
                if out.persist && self.save().is_err() {
                    return Err(ProtoError::Internal);
                }
                let Some(decoded) = out.decoded else {
                    w.word("ERR");
                    w.packed(PACKED_CODES, ProtoError::Locked as usize);
                    w.num(self.device.state.lock_remaining(now));
                    return Ok(());
                };
                outcome = decoded;
                self.last = TokenResult::outcome_index(&outcome);
            }
            CHAL => {
                let p = &self.prov;
                let serial = p.serial().ok_or(ProtoError::Internal)?;
                let nonce = record.first_chunk().ok_or(ProtoError::Internal)?;
                hex = challenge_mac(&p.cfg.key, nonce, &serial);
            }
            NONCE => {
                hex = entropy.next_u64();
                self.reset_nonce = Some([hex as u32, (hex >> 32) as u32]);
            }
            RESET => self.reset(mac)?,
            _ => {}
        }
        w.word("OK");
        w.packed(PACKED_COMMANDS, cmd);
        let serial = self.prov.serial();
        match cmd {
            ID => {
                w.num(PROTOCOL_VERSION);
                w.firmware(self.firmware);
                w.word_bytes(serial.map_or(b"-", |s| s.as_bytes()));
                w.flag(serial.is_some());
                w.flag(restricted);
            }
            STATUS => {
                let s = self.status(now);
                w.num(s.count);
                w.packed(WireState::PACKED, s.state as usize);
                w.num(s.credit_seconds);
                w.num(s.lockout_seconds);
                w.packed(TokenResult::PACKED, usize::from(self.last));
            }
            TOKEN => {
                w.packed(TokenResult::PACKED, usize::from(self.last));
                match outcome {
                    Outcome::Accepted { value, count, .. } => {
                        w.num(value);
                        w.num(count);
                    }
                    _ => {
                        w.word("-");
                        w.num(self.device.state.used_counts().count());
                    }
                }
            }
            PROV => w.word_bytes(serial.ok_or(ProtoError::Internal)?.as_bytes()),
            CHAL | NONCE => w.hex(&hex.to_be_bytes()),
            _ => {}
        }
        Ok(())
    }

    /// Load the stored record and power up.
    #[inline(never)]
    fn start(&mut self, now: u32) {
        let mut record = [0u8; RECORD_LEN];
        self.fault = match self.store.load_into(&mut record) {
            Ok(true) => self.apply(&record).err(),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        let _ = self.event(Event::PowerUp, now);
    }

    fn provisioned(&self) -> bool {
        self.prov.serial_len != 0
    }

    fn status(&self, now: u32) -> StatusReport {
        let s = &self.device.state;
        let state = if !s.payg_enabled() {
            WireState::Unlocked
        } else if s.is_active(now) {
            WireState::Active
        } else {
            WireState::Inactive
        };
        StatusReport {
            count: s.used_counts().count(),
            state,
            credit_seconds: if s.payg_enabled() {
                s.active_until().saturating_sub(now)
            } else {
                0
            },
            lockout_seconds: s.lock_remaining(now),
            last: TokenResult::from_index(self.last),
        }
    }

    /// `RESET`: the blank record (all zero: not provisioned, `PaygState::new(0)`) is saved,
    /// then taken over.
    fn reset(&mut self, mac: u64) -> Result<(), ProtoError> {
        if !self.provisioned() {
            return Err(ProtoError::NotProvisioned);
        }
        let p = &self.prov;
        let serial = p.serial().ok_or(ProtoError::Internal)?;
        let mut pending = self
            .reset_nonce
            .take()
            .map(|[lo, hi]| u64::from(hi) << 32 | u64::from(lo));
        verify_reset(&p.cfg.key, &mut pending, &serial, mac)?;
        // Zeroed on the stack: a `&[0; RECORD_LEN]` literal would be 88 bytes of flash.
        let blank = [0u8; RECORD_LEN];
        self.commit(&blank)
    }

    /// Save `record` and make it the live state (keypad idle, no last result).
    #[inline(never)]
    fn commit(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), ProtoError> {
        if self.store.save(record).is_err() || self.apply(record).is_err() {
            return Err(ProtoError::Internal);
        }
        self.last = TokenResult::NO_RESULT;
        Ok(())
    }

    /// Take over a stored record (see the module docs for the layout). On error the device
    /// is blank: not provisioned, `PaygState::new(0)`.
    #[inline(never)]
    fn apply(&mut self, r: &[u8; RECORD_LEN]) -> Result<(), Error> {
        self.device.keypad = Keypad::new();
        // Decoded in place; `read_bytes` leaves the state alone on error.
        let state = r.get(STATE_AT..).and_then(|t| t.first_chunk::<STATE_LEN>());
        let done = decode_prov(r, &mut self.prov).and_then(|()| {
            state.map_or(Err(Error::CorruptState), |b| {
                self.device.state.read_bytes(b)
            })
        });
        if done.is_err() {
            self.prov.serial_len = 0;
            self.device.state.clear();
        }
        done
    }

    fn event(&mut self, event: Event, now: u32) -> Output {
        if !self.provisioned() {
            return Output {
                feedback: Feedback::None,
                power_on: false,
                persist: false,
                tamper: false,
                decoded: None,
            };
        };
        let out = self.device.handle(&self.prov.cfg, event, now);
        if out.persist && !matches!(event, Event::Token { .. }) {
            // Periodic and keypad saves: a failure is retried at the next persist point.
            let _ = self.save();
        }
        out
    }

    #[inline(never)]
    fn save(&mut self) -> Result<(), Error> {
        let mut r = [0u8; RECORD_LEN];
        if self.provisioned() {
            let p = &self.prov;
            put(&mut r, 0, &[1, p.serial_len]);
            put(&mut r, 2, &p.serial);
            put_cfg(
                &mut r,
                &p.cfg.key,
                p.cfg.starting_code,
                p.cfg.restricted,
                p.cfg.divider.get(),
            );
        }
        if let Some(state) = r.get_mut(STATE_AT..).and_then(|t| t.first_chunk_mut()) {
            self.device.state.write_bytes(state);
        }
        self.store.save(&r).map(|_| ())
    }
}

/// The `PROV` arguments straight into a new record (layout in the module docs), whose
/// state is a fresh `PaygState::new(count)` after its power-up at `now`: the count and the
/// last seen time, all other fields zero. `None` is `BAD_ARG`.
fn prov_record(words: &mut Words<'_>, r: &mut [u8; RECORD_LEN], now: u32) -> Option<()> {
    let serial = Serial::parse(words.next()?)?.as_bytes();
    put(r, 0, &[1, serial.len() as u8]);
    put(r, 2, serial);
    let starting_code = words.next()?;
    if starting_code.len() > 9 {
        return None;
    }
    put32(r, 34, decimal(starting_code, 999_999_999)?);
    hex_into(words.next()?, r.get_mut(18..34)?)?;
    put32(r, STATE_AT, decimal(words.next()?, u32::MAX)?);
    let restricted = flag(words.next()?)?;
    let divider = decimal(words.next()?, 255).filter(|d| *d != 0)?;
    put(r, 38, &[u8::from(restricted), divider as u8]);
    put32(r, STATE_AT + 16, now);
    words.done()
}

/// Copy `src` into the record at `at` (the layout's offsets always fit).
#[inline(never)]
fn put(r: &mut [u8; RECORD_LEN], at: usize, src: &[u8]) {
    for (d, s) in r.iter_mut().skip(at).zip(src) {
        *d = *s;
    }
}

/// The device configuration fields of the record (offsets 18-39).
fn put_cfg(r: &mut [u8; RECORD_LEN], key: &Key, starting_code: u32, restricted: bool, divider: u8) {
    put(r, 18, key);
    put32(r, 34, starting_code);
    put(r, 38, &[u8::from(restricted), divider]);
}

fn decode_state(r: &[u8; RECORD_LEN]) -> Result<PaygState, Error> {
    let state = r
        .get(STATE_AT..)
        .and_then(|t| t.first_chunk::<STATE_LEN>())
        .ok_or(Error::CorruptState)?;
    PaygState::from_bytes(state)
}

/// The provisioning part of a record, decoded into `out` (blank for an unprovisioned
/// record; possibly half-filled on error).
fn decode_prov(r: &[u8; RECORD_LEN], out: &mut Provisioning) -> Result<(), Error> {
    match r.first() {
        Some(0) => {
            out.serial_len = 0;
            return Ok(());
        }
        Some(1) => {}
        _ => return Err(Error::CorruptState),
    }
    let serial_len = *r.get(1).ok_or(Error::CorruptState)?;
    let serial = r.get(2..2 + usize::from(serial_len));
    if serial.and_then(Serial::parse).is_none() {
        return Err(Error::CorruptState);
    }
    let restricted = match r.get(38) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(Error::CorruptState),
    };
    let divider = r
        .get(39)
        .copied()
        .and_then(NonZeroU8::new)
        .ok_or(Error::CorruptState)?;
    get(r, 2, &mut out.serial);
    out.serial_len = serial_len;
    get(r, 18, &mut out.cfg.key);
    out.cfg.starting_code = get32(r, 34);
    out.cfg.restricted = restricted;
    out.cfg.divider = divider;
    Ok(())
}

/// Copy the record bytes at `at` into `dst`.
#[inline(never)]
fn get(r: &[u8; RECORD_LEN], at: usize, dst: &mut [u8]) {
    for (d, s) in dst.iter_mut().zip(r.iter().skip(at)) {
        *d = *s;
    }
}

/// The last-seen time in the record held by `store`, without booting: boards whose clock
/// restarts at zero on every boot resume their clock from it (so the device never sees
/// time going backwards). `None` for a blank or unreadable store.
pub fn stored_last_seen<S: Store>(store: S) -> Option<u32> {
    let mut record = [0u8; RECORD_LEN];
    let mut store = RecordStore::<S, RECORD_LEN>::new(store, SLOTS).ok()?;
    if !store.load_into(&mut record).ok()? {
        return None;
    }
    let state = decode_state(&record).ok()?;
    decode_prov(&record, &mut Provisioning::blank()).ok()?;
    Some(state.last_seen())
}
