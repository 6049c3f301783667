//! The encrypted handover bundle: one file that moves units (keys included) from one ledger
//! to another under a bundle passphrase of its own.
//!
//! Layout (integers little-endian), 85-byte header then ciphertext:
//!
//! | bytes | field |
//! | --- | --- |
//! | 8 | magic `PAYGOHND` |
//! | 1 | version (1) |
//! | 4 + 4 + 4 | Argon2id m (KiB), t, p |
//! | 16 | salt |
//! | 24 | XChaCha20-Poly1305 nonce |
//! | 16 | key check: SHA-256("openpaygo-station handover check v1" ‖ derived key), first 16 bytes |
//! | 8 | ciphertext length (incl. the 16-byte tag) |
//! | n | ciphertext of the JSON payload; the whole header is the associated data |
//!
//! The key check tells a wrong passphrase (or an altered header) from an altered payload.

use super::{Incoming, Outgoing, RowError, TransferToken};
use crate::ledger::seal::{random, SealKey};
use crate::ledger::{check_serial, KdfParams, LedgerError, NewUnit, Passphrase, Result, Status};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// The first 8 bytes of every bundle.
pub const BUNDLE_MAGIC: &[u8; 8] = b"PAYGOHND";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 12 + 16 + 24 + 16 + 8;
const TAG_LEN: usize = 16;
const PAYLOAD_FORMAT: &str = "openpaygo-station-handover";
const CHECK_DOMAIN: &[u8] = b"openpaygo-station handover check v1";

/// Why a bundle cannot be opened. Nothing is imported in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a handover bundle at all.
    #[error("not a handover bundle (the file does not start with the bundle signature)")]
    NotABundle,
    /// Made by a newer program.
    #[error("handover bundle version {0} is not supported (this program reads version 1)")]
    UnsupportedVersion(u8),
    /// Shorter than its header says.
    #[error("the handover bundle is truncated: {found} bytes, expected {expected}")]
    Truncated {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Malformed header (bad lengths, trailing bytes, key derivation parameters out of range).
    #[error("the handover bundle is malformed: {0}")]
    Malformed(String),
    /// The passphrase does not open the bundle (or its header was altered).
    #[error("wrong bundle passphrase (or the bundle's header was altered)")]
    WrongPassphrase,
    /// The payload fails authentication: altered or damaged.
    #[error("the handover bundle was altered or damaged: its contents fail authentication")]
    Tampered,
    /// Authentic, but its contents cannot be read.
    #[error("the handover bundle's contents cannot be read: {0}")]
    BadPayload(String),
    /// No bundle passphrase (no env var, no terminal).
    #[error("a bundle passphrase is needed: set PAYGO_BUNDLE_PASSPHRASE or run in a terminal")]
    NoPassphrase,
    /// The bundle passphrase equals the ledger passphrase.
    #[error("the bundle passphrase must differ from the ledger passphrase")]
    SamePassphrase,
}

impl BundleError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::NotABundle => "NOT_A_BUNDLE",
            BundleError::UnsupportedVersion(_) => "BUNDLE_VERSION",
            BundleError::Truncated { .. } => "BUNDLE_TRUNCATED",
            BundleError::Malformed(_) => "BUNDLE_MALFORMED",
            BundleError::WrongPassphrase => "WRONG_BUNDLE_PASSPHRASE",
            BundleError::Tampered => "BUNDLE_TAMPERED",
            BundleError::BadPayload(_) => "BAD_BUNDLE_PAYLOAD",
            BundleError::NoPassphrase => "NO_BUNDLE_PASSPHRASE",
            BundleError::SamePassphrase => "BUNDLE_PASSPHRASE_REUSED",
        }
    }
}

impl From<BundleError> for LedgerError {
    fn from(e: BundleError) -> Self {
        LedgerError::Bundle(e)
    }
}

/// The most expensive Argon2id a bundle header may ask for (a hostile header must not make
/// the importer allocate gigabytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Memory, KiB.
    pub max_m_kib: u32,
    /// Passes.
    pub max_t: u32,
    /// Lanes.
    pub max_p: u32,
}

impl Default for BundleLimits {
    fn default() -> Self {
        BundleLimits {
            max_m_kib: 1024 * 1024,
            max_t: 16,
            max_p: 16,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    format: String,
    version: u32,
    id: String,
    created_at: i64,
    units: Vec<BundleUnit>,
}

#[derive(Serialize, Deserialize)]
struct BundleUnit {
    serial: String,
    model: Option<String>,
    starting_code: u32,
    /// 32 hex characters (inside the encryption only).
    key: String,
    count: u32,
    device_count: Option<u32>,
    restricted: bool,
    divider: u32,
    status: String,
    notes: Option<String>,
    /// The last state-changing token unlocked the device (DISABLE_PAYG).
    #[serde(default)]
    payg_disabled: bool,
    #[serde(default)]
    tokens: Vec<TransferToken>,
}

impl Drop for BundleUnit {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

fn check_value(key: &SealKey) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(CHECK_DOMAIN);
    h.update(key.bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encrypt `units` into a bundle; returns the bytes and the bundle id.
pub(crate) fn seal(
    units: &[Outgoing],
    pass: &Passphrase,
    params: KdfParams,
) -> Result<(Vec<u8>, String)> {
    let mut id = [0u8; 16];
    random(&mut id)?;
    let id = hex(&id);
    let payload = Payload {
        format: PAYLOAD_FORMAT.into(),
        version: 1,
        id: id.clone(),
        created_at: crate::ledger::now(),
        units: units
            .iter()
            .map(|u| BundleUnit {
                serial: u.serial.clone(),
                model: u.model.clone(),
                starting_code: u.starting_code,
                key: hex(u.key.as_slice()),
                count: u.count,
                device_count: u.device_count,
                restricted: u.restricted,
                divider: u.divider,
                status: u.status.as_str().into(),
                notes: u.notes.clone(),
                payg_disabled: u.payg_disabled,
                tokens: u.tokens.clone(),
            })
            .collect(),
    };
    let plain = Zeroizing::new(
        serde_json::to_vec(&payload).map_err(|e| LedgerError::Crypto(e.to_string()))?,
    );
    drop(payload);
    let mut salt = [0u8; 16];
    random(&mut salt)?;
    let mut nonce = [0u8; 24];
    random(&mut nonce)?;
    let key = SealKey::derive(pass, &salt, params)?;
    let ct_len = (plain.len() + TAG_LEN) as u64;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(BUNDLE_MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&params.m_kib.to_le_bytes());
    header.extend_from_slice(&params.t.to_le_bytes());
    header.extend_from_slice(&params.p.to_le_bytes());
    header.extend_from_slice(&salt);
    header.extend_from_slice(&nonce);
    header.extend_from_slice(&check_value(&key));
    header.extend_from_slice(&ct_len.to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);
    let ct = key.seal_with_nonce(&plain, &header, &nonce)?;
    let mut out = header;
    out.extend_from_slice(&ct);
    Ok((out, id))
}

pub(crate) struct Opened {
    pub id: String,
    pub units: Vec<Incoming>,
    pub errors: Vec<RowError>,
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Check, decrypt and parse a bundle; per-unit problems come back in `errors`.
pub(crate) fn open(data: &[u8], pass: &Passphrase, limits: &BundleLimits) -> Result<Opened> {
    if data.len() < BUNDLE_MAGIC.len() || &data[..8] != BUNDLE_MAGIC {
        return Err(BundleError::NotABundle.into());
    }
    if data.len() < 9 {
        return Err(BundleError::Truncated {
            expected: HEADER_LEN as u64,
            found: data.len() as u64,
        }
        .into());
    }
    if data[8] != VERSION {
        return Err(BundleError::UnsupportedVersion(data[8]).into());
    }
    if data.len() < HEADER_LEN {
        return Err(BundleError::Truncated {
            expected: HEADER_LEN as u64,
            found: data.len() as u64,
        }
        .into());
    }
    let params = KdfParams {
        m_kib: u32_at(data, 9),
        t: u32_at(data, 13),
        p: u32_at(data, 17),
    };
    let salt = &data[21..37];
    let nonce = &data[37..61];
    let check = &data[61..77];
    let mut len = [0u8; 8];
    len.copy_from_slice(&data[77..85]);
    let ct_len = u64::from_le_bytes(len);
    let found = (data.len() - HEADER_LEN) as u64;
    if ct_len < TAG_LEN as u64 {
        return Err(BundleError::Malformed("the ciphertext length is too small".into()).into());
    }
    if found < ct_len {
        return Err(BundleError::Truncated {
            expected: (HEADER_LEN as u64).saturating_add(ct_len),
            found: data.len() as u64,
        }
        .into());
    }
    if found > ct_len {
        return Err(BundleError::Malformed(format!(
            "{} unexpected bytes after the end",
            found - ct_len
        ))
        .into());
    }
    if !(8..=limits.max_m_kib).contains(&params.m_kib)
        || !(1..=limits.max_t).contains(&params.t)
        || !(1..=limits.max_p).contains(&params.p)
        || params.m_kib < 8 * params.p
    {
        return Err(BundleError::Malformed(format!(
            "key derivation parameters out of range (m={} KiB, t={}, p={})",
            params.m_kib, params.t, params.p
        ))
        .into());
    }
    let key = SealKey::derive(pass, salt, params)?;
    if check_value(&key) != check {
        return Err(BundleError::WrongPassphrase.into());
    }
    let plain = key
        .open(&data[HEADER_LEN..], nonce, &data[..HEADER_LEN])
        .ok_or(BundleError::Tampered)?;
    let payload: Payload = serde_json::from_slice(&plain)
        .map_err(|e| BundleError::BadPayload(format!("not the expected JSON ({e})")))?;
    if payload.format != PAYLOAD_FORMAT || payload.version != 1 {
        return Err(BundleError::BadPayload(format!(
            "unknown payload {:?} version {}",
            payload.format, payload.version
        ))
        .into());
    }
    let mut units = Vec::new();
    let mut errors = Vec::new();
    for (i, u) in payload.units.iter().enumerate() {
        let mut problems = Vec::new();
        if check_serial(&u.serial).is_err() {
            problems.push(format!(
                "unit {} of the bundle: serial {:?} must be 1-16 characters of A-Z, a-z, 0-9 and -",
                i + 1,
                u.serial
            ));
        }
        let key = crate::token::parse_key(&u.key).ok();
        if key.is_none() {
            problems.push(format!(
                "unit {}: the key is not 32 hexadecimal characters",
                u.serial
            ));
        }
        if u.starting_code > 999_999_999 {
            problems.push(format!(
                "unit {}: starting code {} is above 999999999",
                u.serial, u.starting_code
            ));
        }
        if !(1..=255).contains(&u.divider) {
            problems.push(format!(
                "unit {}: divider {} is not from 1 to 255",
                u.serial, u.divider
            ));
        }
        let status = match Status::parse(&u.status) {
            Ok(Status::Provisioning) | Err(_) => {
                problems.push(format!(
                    "unit {}: status {:?} cannot be imported",
                    u.serial, u.status
                ));
                Status::Provisioned
            }
            Ok(s) => s,
        };
        let mut counts = std::collections::HashSet::new();
        for t in &u.tokens {
            if t.count > u.count || !counts.insert(t.count) {
                problems.push(format!(
                    "unit {}: token count {} is repeated or above the unit's count {}",
                    u.serial, t.count, u.count
                ));
            }
            if !["ADD_TIME", "SET_TIME", "DISABLE_PAYG", "COUNTER_SYNC"]
                .contains(&t.token_type.as_str())
            {
                problems.push(format!(
                    "unit {}: unknown token type {:?}",
                    u.serial, t.token_type
                ));
            }
        }
        if !problems.is_empty() {
            errors.extend(problems.into_iter().map(|message| RowError {
                line: None,
                serial: Some(u.serial.clone()),
                message,
            }));
            continue;
        }
        let Some(key) = key else { continue };
        units.push(Incoming {
            line: None,
            unit: NewUnit {
                serial: u.serial.clone(),
                model: u.model.clone(),
                key,
                starting_code: Some(u.starting_code),
                count: u.count,
                restricted: u.restricted,
                divider: u.divider,
            },
            status,
            device_count: u.device_count,
            notes: u.notes.clone(),
            payg_disabled: u.payg_disabled,
            tokens: u.tokens.clone(),
        });
    }
    Ok(Opened {
        id: payload.id.clone(),
        units,
        errors,
    })
}
