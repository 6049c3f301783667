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
use crate::payg::{Device, DeviceConfig, Event, Feedback, Keypress, Output, PaygState, STATE_LEN};
use crate::protocol::{
    challenge_mac, parse_request, verify_reset, IdReport, LineBuffer, LineEvent,
    PaygState as WireState, ProtoError, Reply, Request, Serial, StatusReport, TokenReport,
    TokenResult, MAX_LINE, SERIAL_MAX,
};
use crate::storage::{RecordStore, Store};
use crate::token::{self, Key};
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
    /// Only validated serials are stored, so this is `None` only for a corrupt record.
    fn serial(&self) -> Option<Serial<'_>> {
        Serial::new(self.serial.get(..usize::from(self.serial_len))?).ok()
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
    prov: Option<Provisioning>,
    device: Device,
    last: Option<TokenResult>,
    /// The pending `NONCE` as two 32-bit halves (low first): 12 bytes of 4-byte aligned
    /// RAM, where an `Option<u64>` takes 16 and makes the whole state 8-byte aligned.
    reset_nonce: Option<[u32; 2]>,
    fault: Option<Error>,
    firmware: &'static str,
}

impl<S: Store> core::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App")
            .field("provisioned", &self.unit.prov.is_some())
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
    #[inline(never)]
    pub fn boot(store: S, firmware: &'static str, now: u32) -> Result<Self, Error> {
        let mut app = App {
            unit: Unit {
                store: RecordStore::new(store, SLOTS)?,
                prov: None,
                device: Device::new(PaygState::new(0)),
                last: None,
                reset_nonce: None,
                fault: None,
                firmware,
            },
            line: LineBuffer::new(),
        };
        let u = &mut app.unit;
        let mut record = [0u8; RECORD_LEN];
        let loaded = u.store.load_into(&mut record);
        u.fault = match loaded {
            Ok(true) => u.apply(&record).err(),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        let _ = u.event(Event::PowerUp, now);
        Ok(app)
    }

    /// The storage problem found at boot, if any.
    pub fn fault(&self) -> Option<Error> {
        self.unit.fault
    }

    /// Whether the device is provisioned.
    pub fn provisioned(&self) -> bool {
        self.unit.prov.is_some()
    }

    /// The persisted PAYG state.
    pub fn state(&self) -> &PaygState {
        &self.unit.device.state
    }

    /// Whether the load should be powered.
    pub fn power_on(&self, now: u32) -> bool {
        self.unit.prov.is_some() && self.unit.device.state.is_active(now)
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
    pub fn receive(
        &mut self,
        byte: u8,
        now: u32,
        entropy: &mut impl Entropy,
        reply: &mut [u8; REPLY_MAX],
    ) -> Option<usize> {
        let answer = match self.line.push(byte)? {
            LineEvent::TooLong => Reply::Error(ProtoError::TooLong),
            LineEvent::Line(line) => self.unit.request(line, now, entropy),
        };
        // `answer` may borrow the serial from `self`; it is written out before anything else.
        write(&answer, reply)
    }

    /// The `STATUS` report for `now`.
    pub fn status(&self, now: u32) -> StatusReport {
        self.unit.status(now)
    }
}

impl<S: Store> Unit<S> {
    #[inline(never)]
    fn request(&mut self, line: &[u8], now: u32, entropy: &mut impl Entropy) -> Reply<'_> {
        let request = match parse_request(line) {
            Ok(r) => r,
            Err(e) => return Reply::Error(e),
        };
        // Matched by reference: moving the request's fields out costs copies.
        match &request {
            Request::Id => {}
            Request::Prov(p) => {
                return match self.provision(p, now) {
                    Ok(()) => self
                        .prov
                        .as_ref()
                        .and_then(Provisioning::serial)
                        .map_or(Reply::Error(ProtoError::Internal), Reply::Prov),
                    Err(e) => Reply::Error(e),
                }
            }
            _ if self.prov.is_none() => return Reply::Error(ProtoError::NotProvisioned),
            Request::Status => {
                let _ = self.event(Event::Tick, now);
            }
            Request::Token(digits) => {
                let restricted = self.prov.as_ref().is_some_and(|p| p.cfg.restricted);
                let Ok((number, kind)) = token::parse(digits.as_bytes(), restricted) else {
                    return Reply::Error(ProtoError::BadArg);
                };
                let out = self.event(Event::Token { number, kind }, now);
                if out.persist && self.save().is_err() {
                    return Reply::Error(ProtoError::Internal);
                }
                return match out.decoded {
                    Some(outcome) => {
                        self.last = Some(TokenResult::from_outcome(&outcome));
                        Reply::Token(TokenReport::from_outcome(
                            &outcome,
                            self.device.state.used_counts().count(),
                        ))
                    }
                    None => Reply::Locked(self.device.state.lock_remaining(now)),
                };
            }
            Request::Chal(nonce) => {
                if let Some((p, serial)) = self.prov.as_ref().and_then(|p| Some((p, p.serial()?))) {
                    return Reply::Chal(challenge_mac(&p.cfg.key, nonce, &serial));
                }
                return Reply::Error(ProtoError::Internal);
            }
            Request::Nonce => {
                let nonce = entropy.next_u64();
                self.reset_nonce = Some([nonce as u32, (nonce >> 32) as u32]);
                return Reply::Nonce(nonce);
            }
            Request::Reset(mac) => return self.reset(*mac),
        }
        match (&request, &self.prov) {
            (Request::Id, prov) => Reply::Id(IdReport::new(
                self.firmware,
                prov.as_ref().and_then(Provisioning::serial),
                prov.as_ref().is_some_and(|p| p.cfg.restricted),
            )),
            _ => Reply::Status(self.status(now)),
        }
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
            last: self.last,
        }
    }

    /// `PROV`: the new record is built from the request, saved, and only then taken over
    /// (decoded into the live state), so a failed save leaves nothing half-done.
    fn provision(
        &mut self,
        p: &crate::protocol::Provision<'_>,
        now: u32,
    ) -> Result<(), ProtoError> {
        if self.prov.is_some() {
            return Err(ProtoError::AlreadyProvisioned);
        }
        if p.divider == 0 {
            return Err(ProtoError::BadArg);
        }
        let serial = p.serial.as_bytes();
        let mut r = [0u8; RECORD_LEN];
        put(&mut r, 0, &[1, serial.len() as u8]);
        put(&mut r, 2, serial);
        put_cfg(&mut r, &p.key, p.starting_code, p.restricted, p.divider);
        // A fresh `PaygState::new(count)` after its power-up at `now`: the count and the
        // last seen time; all other fields are zero.
        put32(&mut r, STATE_AT, p.count);
        put32(&mut r, STATE_AT + 16, now);
        self.commit(&r)?;
        self.fault = None;
        Ok(())
    }

    /// `RESET`: the blank record (all zero: not provisioned, `PaygState::new(0)`) is saved,
    /// then taken over.
    fn reset(&mut self, mac: u64) -> Reply<'static> {
        let Some(p) = &self.prov else {
            return Reply::Error(ProtoError::NotProvisioned);
        };
        let Some(serial) = p.serial() else {
            return Reply::Error(ProtoError::Internal);
        };
        let mut pending = self
            .reset_nonce
            .take()
            .map(|[lo, hi]| u64::from(hi) << 32 | u64::from(lo));
        if let Err(e) = verify_reset(&p.cfg.key, &mut pending, &serial, mac) {
            return Reply::Error(e);
        }
        // Zeroed on the stack: a `&[0; RECORD_LEN]` literal would be 88 bytes of flash.
        let blank = [0u8; RECORD_LEN];
        match self.commit(&blank) {
            Ok(()) => Reply::Reset,
            Err(e) => Reply::Error(e),
        }
    }

    /// Save `record` and make it the live state (keypad idle, no last result).
    #[inline(never)]
    fn commit(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), ProtoError> {
        if self.store.save(record).is_err() || self.apply(record).is_err() {
            return Err(ProtoError::Internal);
        }
        self.last = None;
        Ok(())
    }

    /// Take over a stored record (see the module docs for the layout). On error the device
    /// is blank: not provisioned, `PaygState::new(0)`.
    #[inline(never)]
    fn apply(&mut self, r: &[u8; RECORD_LEN]) -> Result<(), Error> {
        self.prov = None;
        self.device = Device::new(PaygState::new(0));
        // `decode_prov` sets the provisioning only on success, `read_bytes` the state.
        decode_prov(r, &mut self.prov)?;
        let state = r.get(STATE_AT..).and_then(|t| t.first_chunk::<STATE_LEN>());
        let read = state.map_or(Err(Error::CorruptState), |b| {
            self.device.state.read_bytes(b)
        });
        if read.is_err() {
            self.prov = None;
        }
        read
    }

    fn event(&mut self, event: Event, now: u32) -> Output {
        let Some(p) = &self.prov else {
            return Output {
                feedback: Feedback::None,
                power_on: false,
                persist: false,
                tamper: false,
                decoded: None,
            };
        };
        let out = self.device.handle(&p.cfg, event, now);
        if out.persist && !matches!(event, Event::Token { .. }) {
            // Periodic and keypad saves: a failure is retried at the next persist point.
            let _ = self.save();
        }
        out
    }

    #[inline(never)]
    fn save(&mut self) -> Result<(), Error> {
        let mut r = [0u8; RECORD_LEN];
        if let Some(p) = &self.prov {
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

fn write(reply: &Reply<'_>, out: &mut [u8; REPLY_MAX]) -> Option<usize> {
    reply.write(out).ok()
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

/// The provisioning part of a record, decoded into `out` (left `None` for an unprovisioned
/// record; possibly half-filled on error).
fn decode_prov(r: &[u8; RECORD_LEN], out: &mut Option<Provisioning>) -> Result<(), Error> {
    let field = |at: usize, len: usize| r.get(at..at + len).ok_or(Error::CorruptState);
    match r.first() {
        Some(0) => return Ok(()),
        Some(1) => {}
        _ => return Err(Error::CorruptState),
    }
    let serial_len = *r.get(1).ok_or(Error::CorruptState)?;
    let serial_bytes = field(2, usize::from(serial_len))?;
    if Serial::new(serial_bytes).is_err() {
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
    let chunk = |at: usize| {
        r.get(at..)
            .and_then(|t| t.first_chunk::<16>())
            .copied()
            .ok_or(Error::CorruptState)
    };
    *out = Some(Provisioning {
        serial: chunk(2)?,
        serial_len,
        cfg: DeviceConfig {
            key: chunk(18)?,
            starting_code: get32(r, 34),
            restricted,
            divider,
        },
    });
    Ok(())
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
    decode_prov(&record, &mut None).ok()?;
    Some(state.last_seen())
}
