//! Talking to one device over its service UART: identify, status, tokens, provisioning and
//! the key challenge. Works the same for USB-UART, the simulator's pty and QEMU.

use crate::link::{printable, Link, CONNECT_PATIENCE};
use crate::Error;
use firmware_core::protocol::{
    challenge_mac, parse_response, reset_mac, PaygState, Provision, Reply, Request, Serial,
    TokenDigits, TokenResult, CHALLENGE_NONCE_LEN,
};
use firmware_core::token::Key;
use serde::Serialize;
use std::time::Duration;

/// What `ID` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Protocol version.
    pub protocol: u32,
    /// Firmware version text.
    pub firmware: String,
    /// Serial number, once provisioned.
    pub serial: Option<String>,
    /// Whether the device holds a key.
    pub provisioned: bool,
    /// Restricted digit set (keypad 1-4).
    pub restricted: bool,
}

/// What `STATUS` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The device's token count.
    pub count: u32,
    /// ACTIVE, INACTIVE or UNLOCKED.
    pub state: &'static str,
    /// Seconds of credit left.
    pub credit_seconds: u32,
    /// Seconds until token entry unlocks.
    pub lockout_seconds: u32,
    /// Result of the last token entered, if any.
    pub last_result: Option<&'static str>,
}

/// The device's answer to a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenAnswer {
    /// ADD_TIME, SET_TIME, DISABLE_PAYG, COUNTER_SYNC, INVALID, ALREADY_USED or LOCKED.
    pub result: &'static str,
    /// Raw embedded value of an accepted token.
    pub value: Option<u32>,
    /// Matched count, or the device's count when rejected (absent when locked).
    pub count: Option<u32>,
    /// Seconds until entry unlocks, when locked.
    pub lockout_seconds: Option<u32>,
}

/// Factory data written to a blank device.
#[derive(Debug, Clone)]
pub struct ProvisionData {
    /// Serial number (1-16 of `A-Z a-z 0-9 -`).
    pub serial: String,
    /// Secret key.
    pub key: Key,
    /// Starting code.
    pub starting_code: u32,
    /// Initial count.
    pub count: u32,
    /// Restricted digit set.
    pub restricted: bool,
    /// Value divider (1-255).
    pub divider: u8,
}

/// A connected device.
#[derive(Debug)]
pub struct DeviceClient {
    link: Link,
    identity: Identity,
}

impl DeviceClient {
    /// Open `port` and identify the device (retrying while an emulator attaches).
    pub fn connect(port: &str) -> Result<Self, Error> {
        Self::connect_with(port, CONNECT_PATIENCE)
    }

    /// [`DeviceClient::connect`] with a chosen patience.
    pub fn connect_with(port: &str, patience: Duration) -> Result<Self, Error> {
        let (link, line) = Link::connect(port, patience)?;
        let identity = identity_from(&line, port)?;
        Ok(DeviceClient { link, identity })
    }

    /// The identity read when connecting (or refreshed by [`DeviceClient::identify`]).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The port path.
    pub fn port(&self) -> &str {
        self.link.path()
    }

    /// Ask `ID` again.
    pub fn identify(&mut self) -> Result<&Identity, Error> {
        let line = self.link.exchange(&Request::Id)?;
        self.identity = identity_from(&line, self.link.path())?;
        Ok(&self.identity)
    }

    /// Ask `STATUS`.
    pub fn status(&mut self) -> Result<Status, Error> {
        let line = self.link.exchange(&Request::Status)?;
        match self.reply(&line)? {
            Reply::Status(s) => Ok(Status {
                count: s.count,
                state: match s.state {
                    PaygState::Active => "ACTIVE",
                    PaygState::Inactive => "INACTIVE",
                    PaygState::Unlocked => "UNLOCKED",
                },
                credit_seconds: s.credit_seconds,
                lockout_seconds: s.lockout_seconds,
                last_result: s.last.map(TokenResult::name),
            }),
            other => Err(self.unexpected(&line, &other)),
        }
    }

    /// Enter a token (digits; spaces and dashes are removed first).
    pub fn enter_token(&mut self, text: &str) -> Result<TokenAnswer, Error> {
        let digits = crate::token::clean_token_text(text);
        let digits =
            TokenDigits::new(digits.as_bytes()).map_err(|e| Error::BadTokenText(e.reason()))?;
        let line = self.link.exchange(&Request::Token(digits))?;
        match self.reply(&line)? {
            Reply::Token(t) => Ok(TokenAnswer {
                result: t.result.name(),
                value: t.value,
                count: Some(t.count),
                lockout_seconds: None,
            }),
            Reply::Locked(seconds) => Ok(TokenAnswer {
                result: "LOCKED",
                value: None,
                count: None,
                lockout_seconds: Some(seconds),
            }),
            other => Err(self.unexpected(&line, &other)),
        }
    }

    /// Write factory data to a blank device, then prove by challenge that it holds the key.
    pub fn provision(&mut self, data: &ProvisionData) -> Result<(), Error> {
        let serial = Serial::new(data.serial.as_bytes())
            .map_err(|_| Error::BadSerial(data.serial.clone()))?;
        let request = Request::Prov(Provision {
            serial,
            starting_code: data.starting_code,
            key: data.key,
            count: data.count,
            restricted: data.restricted,
            divider: data.divider,
        });
        let line = self.link.exchange(&request)?;
        match self.reply(&line)? {
            Reply::Prov(s) if s.as_bytes() == data.serial.as_bytes() => {}
            other => return Err(self.unexpected(&line, &other)),
        }
        self.identify()?;
        self.verify_key(&data.key)
    }

    /// Challenge the device with a fresh random nonce and check its MAC against `key`.
    pub fn verify_key(&mut self, key: &Key) -> Result<(), Error> {
        let serial_text = self.identity.serial.clone().ok_or(Error::Device {
            code: "NOT_PROVISIONED",
            message: "the device has no serial, so it holds no key".into(),
        })?;
        let mut nonce = [0u8; CHALLENGE_NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| Error::Random(e.to_string()))?;
        let line = self.link.exchange(&Request::Chal(nonce))?;
        let serial = Serial::new(serial_text.as_bytes())
            .map_err(|_| Error::BadSerial(serial_text.clone()))?;
        match self.reply(&line)? {
            Reply::Chal(mac) if mac == challenge_mac(key, &nonce, &serial) => Ok(()),
            Reply::Chal(_) => Err(Error::ChallengeFailed {
                serial: serial_text,
            }),
            other => Err(self.unexpected(&line, &other)),
        }
    }

    /// Authorised factory reset (`NONCE`, then `RESET` with the MAC under `key`): the device
    /// forgets its provisioning and is blank again. For undoing a provisioning that the
    /// back-end could not complete.
    pub fn factory_reset(&mut self, key: &Key) -> Result<(), Error> {
        let serial_text = self.identity.serial.clone().ok_or(Error::Device {
            code: "NOT_PROVISIONED",
            message: "the device is already blank".into(),
        })?;
        let serial = Serial::new(serial_text.as_bytes())
            .map_err(|_| Error::BadSerial(serial_text.clone()))?;
        let line = self.link.exchange(&Request::Nonce)?;
        let nonce = match self.reply(&line)? {
            Reply::Nonce(n) => n,
            other => return Err(self.unexpected(&line, &other)),
        };
        let line = self
            .link
            .exchange(&Request::Reset(reset_mac(key, nonce, &serial)))?;
        match self.reply(&line)? {
            Reply::Reset => {}
            other => return Err(self.unexpected(&line, &other)),
        }
        self.identify()?;
        Ok(())
    }

    /// Parse a reply; `ERR` replies become [`Error::Device`].
    fn reply<'l>(&self, line: &'l [u8]) -> Result<Reply<'l>, Error> {
        match parse_response(line) {
            Ok(Reply::Error(e)) => Err(Error::Device {
                code: e.code(),
                message: e.reason().to_string(),
            }),
            Ok(reply) => Ok(reply),
            Err(_) => Err(Error::Garbage {
                path: self.link.path().to_string(),
                line: printable(line),
            }),
        }
    }

    fn unexpected(&self, line: &[u8], _reply: &Reply<'_>) -> Error {
        Error::Garbage {
            path: self.link.path().to_string(),
            line: printable(line),
        }
    }
}

fn identity_from(line: &[u8], path: &str) -> Result<Identity, Error> {
    match parse_response(line) {
        Ok(Reply::Id(id)) => Ok(Identity {
            protocol: id.protocol,
            firmware: id.firmware.to_string(),
            serial: id.serial.map(|s| s.as_str().to_string()),
            provisioned: id.provisioned(),
            restricted: id.restricted,
        }),
        Ok(Reply::Error(e)) => Err(Error::Device {
            code: e.code(),
            message: e.reason().to_string(),
        }),
        _ => Err(Error::Garbage {
            path: path.to_string(),
            line: printable(line),
        }),
    }
}

/// The `PROV` request line for `data` (checksummed), e.g. for a pre-provisioned simulator.
pub fn prov_line(
    serial: &str,
    key: &Key,
    starting_code: u32,
    count: u32,
    restricted: bool,
    divider: u8,
) -> Result<String, Error> {
    let serial_ok =
        Serial::new(serial.as_bytes()).map_err(|_| Error::BadSerial(serial.to_string()))?;
    let request = Request::Prov(Provision {
        serial: serial_ok,
        starting_code,
        key: *key,
        count,
        restricted,
        divider,
    });
    let mut buf = [0u8; firmware_core::protocol::MAX_LINE + 2];
    let len = request.write(&mut buf)?;
    Ok(String::from_utf8_lossy(buf.get(..len).unwrap_or_default())
        .trim_end()
        .to_string())
}

/// Seconds as days, hours and minutes for people ("3 d 4 h 5 min").
pub fn format_duration(seconds: u32) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}
