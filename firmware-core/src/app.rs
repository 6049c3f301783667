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
    store: RecordStore<S, RECORD_LEN>,
    prov: Option<Provisioning>,
    device: Device,
    line: LineBuffer,
    last: Option<TokenResult>,
    reset_nonce: Option<u64>,
    fault: Option<Error>,
    firmware: &'static str,
}

impl<S: Store> core::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App")
            .field("provisioned", &self.prov.is_some())
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

impl<S: Store> App<S> {
    /// Start the device: load the record from `store` (a blank store is a blank device).
    ///
    /// A store whose records are all corrupt boots as a blank device with
    /// [`App::fault`] set: the key is gone, so nothing could be verified anyway, and the
    /// output stays off until the unit is provisioned again.
    pub fn boot(store: S, firmware: &'static str, now: u32) -> Result<Self, Error> {
        let mut store = RecordStore::new(store, SLOTS)?;
        let (prov, state, fault) = match store.load() {
            Ok(Some(record)) => match decode_record(&record) {
                Ok((prov, state)) => (prov, state, None),
                Err(e) => (None, PaygState::new(0), Some(e)),
            },
            Ok(None) => (None, PaygState::new(0), None),
            Err(e) => (None, PaygState::new(0), Some(e)),
        };
        let mut app = App {
            store,
            prov,
            device: Device::new(state),
            line: LineBuffer::new(),
            last: None,
            reset_nonce: None,
            fault,
            firmware,
        };
        let _ = app.event(Event::PowerUp, now);
        Ok(app)
    }

    /// The storage problem found at boot, if any.
    pub fn fault(&self) -> Option<Error> {
        self.fault
    }

    /// Whether the device is provisioned.
    pub fn provisioned(&self) -> bool {
        self.prov.is_some()
    }

    /// The persisted PAYG state.
    pub fn state(&self) -> &PaygState {
        &self.device.state
    }

    /// Whether the load should be powered.
    pub fn power_on(&self, now: u32) -> bool {
        self.prov.is_some() && self.device.state.is_active(now)
    }

    /// Let time pass (call at least once per second of `now`).
    pub fn tick(&mut self, now: u32) -> Output {
        self.event(Event::Tick, now)
    }

    /// A keypad press.
    pub fn key(&mut self, key: Keypress, now: u32) -> Output {
        self.event(Event::Key(key), now)
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
        let mut line = [0u8; MAX_LINE];
        let len = match self.line.push(byte)? {
            LineEvent::TooLong => return write(&Reply::Error(ProtoError::TooLong), reply),
            LineEvent::Line(l) => {
                for (d, s) in line.iter_mut().zip(l) {
                    *d = *s;
                }
                l.len()
            }
        };
        let answer = self.request(line.get(..len).unwrap_or_default(), now, entropy);
        // `answer` may borrow the serial from `self`; it is written out before anything else.
        write(&answer, reply)
    }

    fn request(&mut self, line: &[u8], now: u32, entropy: &mut impl Entropy) -> Reply<'_> {
        let request = match parse_request(line) {
            Ok(r) => r,
            Err(e) => return Reply::Error(e),
        };
        match request {
            Request::Id => {}
            Request::Prov(p) => {
                return match self.provision(&p, now) {
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
                let restricted = self.prov.is_some_and(|p| p.cfg.restricted);
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
                    return Reply::Chal(challenge_mac(&p.cfg.key, &nonce, &serial));
                }
                return Reply::Error(ProtoError::Internal);
            }
            Request::Nonce => {
                let nonce = entropy.next_u64();
                self.reset_nonce = Some(nonce);
                return Reply::Nonce(nonce);
            }
            Request::Reset(mac) => return self.reset(mac, now),
        }
        match (request, &self.prov) {
            (Request::Id, prov) => Reply::Id(IdReport::new(
                self.firmware,
                prov.as_ref().and_then(Provisioning::serial),
                prov.is_some_and(|p| p.cfg.restricted),
            )),
            _ => Reply::Status(self.status(now)),
        }
    }

    /// The `STATUS` report for `now`.
    pub fn status(&self, now: u32) -> StatusReport {
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

    fn provision(
        &mut self,
        p: &crate::protocol::Provision<'_>,
        now: u32,
    ) -> Result<(), ProtoError> {
        if self.prov.is_some() {
            return Err(ProtoError::AlreadyProvisioned);
        }
        let divider = NonZeroU8::new(p.divider).ok_or(ProtoError::BadArg)?;
        let mut serial = [0u8; SERIAL_MAX];
        for (d, s) in serial.iter_mut().zip(p.serial.as_bytes()) {
            *d = *s;
        }
        let prov = Provisioning {
            serial,
            serial_len: p.serial.as_bytes().len() as u8,
            cfg: DeviceConfig {
                key: p.key,
                starting_code: p.starting_code,
                restricted: p.restricted,
                divider,
            },
        };
        let previous = (self.device.state, self.fault);
        self.prov = Some(prov);
        self.device = Device::new(PaygState::new(p.count));
        let _ = self.event(Event::PowerUp, now);
        if self.save().is_err() {
            // Nothing half-done: the device stays blank and says so.
            self.prov = None;
            self.device = Device::new(previous.0);
            self.fault = previous.1;
            return Err(ProtoError::Internal);
        }
        self.fault = None;
        self.last = None;
        Ok(())
    }

    fn reset(&mut self, mac: u64, now: u32) -> Reply<'static> {
        let Some(p) = self.prov else {
            return Reply::Error(ProtoError::NotProvisioned);
        };
        let Some(serial) = p.serial() else {
            return Reply::Error(ProtoError::Internal);
        };
        if let Err(e) = verify_reset(&p.cfg.key, &mut self.reset_nonce, &serial, mac) {
            return Reply::Error(e);
        }
        let kept = (self.prov, self.device.state);
        self.prov = None;
        self.device = Device::new(PaygState::new(0));
        let _ = self.event(Event::PowerUp, now);
        if self.save().is_err() {
            self.prov = kept.0;
            self.device = Device::new(kept.1);
            return Reply::Error(ProtoError::Internal);
        }
        self.last = None;
        Reply::Reset
    }

    fn event(&mut self, event: Event, now: u32) -> Output {
        let Some(p) = self.prov else {
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

    fn save(&mut self) -> Result<(), Error> {
        let record = encode_record(self.prov.as_ref(), &self.device.state);
        self.store.save(&record).map(|_| ())
    }
}

fn write(reply: &Reply<'_>, out: &mut [u8; REPLY_MAX]) -> Option<usize> {
    reply.write(out).ok()
}

fn encode_record(prov: Option<&Provisioning>, state: &PaygState) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    if let Some(p) = prov {
        let mut w = r.iter_mut();
        let mut put = |bytes: &[u8]| {
            for b in bytes {
                if let Some(slot) = w.next() {
                    *slot = *b;
                }
            }
        };
        put(&[1, p.serial_len]);
        put(&p.serial);
        put(&p.cfg.key);
        put(&p.cfg.starting_code.to_le_bytes());
        put(&[u8::from(p.cfg.restricted), p.cfg.divider.get()]);
    }
    for (d, s) in r.iter_mut().skip(STATE_AT).zip(state.to_bytes()) {
        *d = s;
    }
    r
}

fn decode_record(r: &[u8; RECORD_LEN]) -> Result<(Option<Provisioning>, PaygState), Error> {
    let mut state = [0u8; STATE_LEN];
    for (d, s) in state.iter_mut().zip(r.iter().skip(STATE_AT)) {
        *d = *s;
    }
    let state = PaygState::from_bytes(&state)?;
    let field = |at: usize, len: usize| r.get(at..at + len).ok_or(Error::CorruptState);
    match r.first() {
        Some(0) => return Ok((None, state)),
        Some(1) => {}
        _ => return Err(Error::CorruptState),
    }
    let serial_len = *r.get(1).ok_or(Error::CorruptState)?;
    let serial_bytes = field(2, usize::from(serial_len))?;
    if Serial::new(serial_bytes).is_err() {
        return Err(Error::CorruptState);
    }
    let mut serial = [0u8; SERIAL_MAX];
    for (d, s) in serial.iter_mut().zip(field(2, SERIAL_MAX)?) {
        *d = *s;
    }
    let mut key: Key = [0; 16];
    for (d, s) in key.iter_mut().zip(field(18, 16)?) {
        *d = *s;
    }
    let mut sc = [0u8; 4];
    for (d, s) in sc.iter_mut().zip(field(34, 4)?) {
        *d = *s;
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
    let cfg = DeviceConfig {
        key,
        starting_code: u32::from_le_bytes(sc),
        restricted,
        divider,
    };
    Ok((
        Some(Provisioning {
            serial,
            serial_len,
            cfg,
        }),
        state,
    ))
}

/// The last-seen time in the record held by `store`, without booting: boards whose clock
/// restarts at zero on every boot resume their clock from it (so the device never sees
/// time going backwards). `None` for a blank or unreadable store.
pub fn stored_last_seen<S: Store>(store: S) -> Option<u32> {
    let record = RecordStore::<S, RECORD_LEN>::new(store, SLOTS)
        .ok()?
        .load()
        .ok()??;
    decode_record(&record)
        .ok()
        .map(|(_, state)| state.last_seen())
}
