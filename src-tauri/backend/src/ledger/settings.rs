//! Typed views of the ledger-wide settings that are more than a string (see [`super::SETTINGS`]):
//!
//! * `tariffs`: JSON `{"default": "Daily" | null, "list": [{"name": "Daily",
//!   "days_per_unit": "0.5", "currency": "KES"}, ...]}`: named tariffs in days of use per
//!   currency unit (the unit of `paygo unit assign --tariff`), and the one new units get;
//! * `autolock_minutes`: a whole number 1-1440, how long the desktop app keeps an idle ledger
//!   unlocked.
//!
//! Values are checked by [`super::Ledger::set_setting`] like every setting (and audited there).
//! Also here: a read-only preview of the next serials, and a passphrase comparison that needs
//! no copy of the ledger passphrase.

use super::{
    format_milli, format_serial, meta_get, meta_u32, parse_milli, year_now, KdfParams, Ledger,
    LedgerError, Passphrase, Result, SealKey,
};
use serde::{Deserialize, Serialize};

/// The longest auto-lock time (a day).
pub const MAX_AUTOLOCK_MINUTES: u32 = 24 * 60;
const MAX_TARIFFS: usize = 100;
const MAX_NAME: usize = 32;

/// One named tariff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// Shown to operators; unique (ignoring case).
    pub name: String,
    /// Days of use per currency unit, a decimal with up to 3 decimals, above 0 ("0.5").
    pub days_per_unit: String,
    /// ISO 4217 code ("KES", "XOF").
    pub currency: String,
}

/// The `tariffs` setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariffs {
    /// The tariff new units get (one of `list`'s names), if any.
    #[serde(default)]
    pub default: Option<String>,
    /// Every tariff.
    #[serde(default)]
    pub list: Vec<Tariff>,
}

fn bad(name: &str, message: impl Into<String>) -> LedgerError {
    LedgerError::BadSetting {
        name: name.to_string(),
        message: message.into(),
    }
}

impl Tariffs {
    /// Check every field and return the canonical form (names and currencies trimmed,
    /// days as `format_milli` writes them).
    pub fn checked(&self) -> Result<Tariffs> {
        let b = |m: String| bad("tariffs", m);
        if self.list.len() > MAX_TARIFFS {
            return Err(b(format!("at most {MAX_TARIFFS} tariffs")));
        }
        let mut list: Vec<Tariff> = Vec::with_capacity(self.list.len());
        for (i, t) in self.list.iter().enumerate() {
            let n = i + 1;
            let name = t.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME {
                return Err(b(format!(
                    "tariff {n}: the name must be 1-{MAX_NAME} characters"
                )));
            }
            if name.chars().any(char::is_control) {
                return Err(b(format!(
                    "tariff {n}: the name must not hold control characters"
                )));
            }
            if list.iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
                return Err(b(format!("tariff {name:?} appears twice")));
            }
            let days = parse_milli(&t.days_per_unit).map_err(|_| {
                b(format!(
                    "tariff {name:?}: days per currency unit {:?} must be a number above 0 with up to 3 decimals",
                    t.days_per_unit
                ))
            })?;
            if days == 0 {
                return Err(b(format!(
                    "tariff {name:?}: days per currency unit must be above 0"
                )));
            }
            let currency = t.currency.trim();
            if currency.len() != 3 || !currency.bytes().all(|c| c.is_ascii_uppercase()) {
                return Err(b(format!(
                    "tariff {name:?}: currency {currency:?} must be a 3-letter ISO 4217 code such as KES"
                )));
            }
            list.push(Tariff {
                name: name.to_string(),
                days_per_unit: format_milli(days),
                currency: currency.to_string(),
            });
        }
        let default = match self.default.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(
                list.iter()
                    .find(|t| t.name.eq_ignore_ascii_case(d))
                    .map(|t| t.name.clone())
                    .ok_or_else(|| b(format!("the default tariff {d:?} is not in the list")))?,
            ),
        };
        Ok(Tariffs { default, list })
    }

    /// The default tariff, if one is set.
    pub fn default_tariff(&self) -> Option<&Tariff> {
        let d = self.default.as_deref()?;
        self.list.iter().find(|t| t.name == d)
    }
}

/// Parse and check a `tariffs` value.
pub(super) fn parse_tariffs(text: &str) -> Result<Tariffs> {
    let t: Tariffs = serde_json::from_str(text)
        .map_err(|e| bad("tariffs", format!("not the expected JSON: {e}")))?;
    t.checked()
}

/// Parse and check an `autolock_minutes` value.
pub(super) fn parse_autolock(text: &str) -> Result<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=MAX_AUTOLOCK_MINUTES).contains(m))
        .ok_or_else(|| {
            bad(
                "autolock_minutes",
                format!(
                    "{text:?} must be a whole number of minutes from 1 to {MAX_AUTOLOCK_MINUTES}"
                ),
            )
        })
}

impl Ledger {
    /// The `tariffs` setting (empty when unset).
    pub fn tariffs(&self) -> Result<Tariffs> {
        match self.setting("tariffs")? {
            Some(text) => parse_tariffs(&text),
            None => Ok(Tariffs::default()),
        }
    }

    /// Check, canonicalise and store the tariffs (audited as a `setting` row).
    pub fn set_tariffs(&mut self, tariffs: &Tariffs, operator: Option<&str>) -> Result<Tariffs> {
        let checked = tariffs.checked()?;
        let text = serde_json::to_string(&checked)
            .map_err(|e| bad("tariffs", format!("cannot be written: {e}")))?;
        self.set_setting("tariffs", Some(&text), operator)?;
        Ok(checked)
    }

    /// The `autolock_minutes` setting, `None` when unset.
    pub fn autolock_minutes(&self) -> Result<Option<u32>> {
        self.setting("autolock_minutes")?
            .map(|v| parse_autolock(&v))
            .transpose()
    }

    /// The next `n` serials [`Ledger::next_serial`] would hand out for `pattern`, without
    /// taking them (a preview: another program may take them first).
    pub fn peek_serials(&self, pattern: &str, n: usize) -> Result<Vec<String>> {
        let mut seq: u64 = meta_get(&self.conn, &format!("serial_seq:{pattern}"))?
            .and_then(|v| String::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        let year = year_now();
        let mut out = Vec::with_capacity(n);
        let mut stmt = self
            .conn
            .prepare("SELECT EXISTS(SELECT 1 FROM units WHERE serial = ?1)")?;
        while out.len() < n {
            seq += 1;
            let s = format_serial(pattern, seq, year)?;
            super::check_serial(&s)?;
            if !stmt.query_row([&s], |r| r.get::<_, bool>(0))? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Whether `pass` is this ledger's passphrase (one key derivation), e.g. to refuse a
    /// bundle passphrase equal to it when the caller only holds the open ledger.
    pub fn is_passphrase(&self, pass: &Passphrase) -> Result<bool> {
        Ok(self.derive_if_matches(pass)?.is_some())
    }

    /// The sealing key `pass` derives, if it passes the verifier.
    pub(super) fn derive_if_matches(&self, pass: &Passphrase) -> Result<Option<SealKey>> {
        let params = KdfParams {
            m_kib: meta_u32(&self.conn, "kdf_m_kib")?,
            t: meta_u32(&self.conn, "kdf_t")?,
            p: meta_u32(&self.conn, "kdf_p")?,
        };
        let missing = |k: &str| LedgerError::Corrupt(format!("meta {k} missing"));
        let salt = meta_get(&self.conn, "kdf_salt")?.ok_or_else(|| missing("kdf_salt"))?;
        let verifier = meta_get(&self.conn, "verifier")?.ok_or_else(|| missing("verifier"))?;
        let vnonce =
            meta_get(&self.conn, "verifier_nonce")?.ok_or_else(|| missing("verifier_nonce"))?;
        let key = SealKey::derive(pass, &salt, params)?;
        Ok(key.check_verifier(&verifier, &vnonce).then_some(key))
    }
}
