//! Token issuance and decoding for hosts: the `paygo token` commands and the device twin.

use crate::Error;
use firmware_core::token::{self, Key, Outcome, TokenKind, TokenText, TokenType, UsedCounts};
use serde::Serialize;

/// Parse a 16-byte key given as 32 hex characters (either case).
pub fn parse_key(hex: &str) -> Result<Key, Error> {
    let hex = hex.trim();
    if hex.len() != 32 || !hex.is_ascii() {
        return Err(Error::BadKey);
    }
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| Error::BadKey)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| Error::BadKey)?;
    }
    Ok(key)
}

/// Parse a number of days as typed by a person ("7", "0.5", "2.25").
pub fn parse_days(text: &str) -> Result<f64, Error> {
    let days: f64 = text
        .trim()
        .parse()
        .map_err(|_| Error::BadDays(text.to_string()))?;
    if !days.is_finite() || days < 0.0 {
        return Err(Error::BadDays(text.to_string()));
    }
    Ok(days)
}

/// Check a value divider (1-255, spec §1).
pub fn check_divider(divider: u32) -> Result<u32, Error> {
    if (1..=255).contains(&divider) {
        Ok(divider)
    } else {
        Err(Error::BadDivider(divider))
    }
}

/// days × divider rounded half to even: what the reference encoder embeds (spec §5).
pub fn scale_days(days: f64, divider: u32) -> Result<u32, Error> {
    if !days.is_finite() || days < 0.0 {
        return Err(Error::BadDays(days.to_string()));
    }
    let scaled = (days * f64::from(divider)).round_ties_even();
    if scaled > f64::from(u32::MAX) {
        return Err(firmware_core::Error::ValueTooHigh.into());
    }
    Ok(scaled as u32)
}

/// Token text without the spaces and dashes people type between groups.
pub fn clean_token_text(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\t'))
        .collect()
}

/// Group token digits for reading aloud: threes, or fours for 20-digit tokens.
pub fn group_digits(digits: &str) -> String {
    let size = if digits.len() == 20 { 4 } else { 3 };
    let mut out = String::with_capacity(digits.len() + digits.len() / size);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % size == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// What a token should do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Add this many days.
    Add(f64),
    /// Set the remaining time to this many days.
    Set(f64),
    /// Unlock for good (DISABLE_PAYG).
    Unlock,
    /// Counter synchronisation.
    Sync,
}

/// A unit's token parameters.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// Secret key.
    pub key: Key,
    /// Starting code; `None` derives it from the key (spec §3.3).
    pub starting_code: Option<u32>,
    /// Restricted digit set (1-4).
    pub restricted: bool,
    /// Value divider (1-255).
    pub divider: u32,
}

impl Unit {
    /// The starting code in force.
    pub fn starting_code(&self) -> u32 {
        self.starting_code
            .unwrap_or_else(|| token::starting_code_from_key(&self.key))
    }
}

/// A generated token, as `paygo token generate --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issued {
    /// Digits, zero padded (restricted: 1-4).
    pub token: String,
    /// The token's count: the unit's new last count.
    pub count: u32,
    /// ADD_TIME, SET_TIME, DISABLE_PAYG or COUNTER_SYNC.
    #[serde(rename = "type")]
    pub token_type: &'static str,
    /// The embedded integer.
    pub value: u32,
}

/// Generate the token that follows `last_count` for `unit`.
pub fn generate(
    unit: &Unit,
    last_count: u32,
    action: Action,
    extended: bool,
) -> Result<Issued, Error> {
    let divider = check_divider(unit.divider)?;
    let (token_type, value) = match action {
        Action::Add(days) => (TokenType::AddTime, Some(scale_days(days, divider)?)),
        Action::Set(days) => (TokenType::SetTime, Some(scale_days(days, divider)?)),
        Action::Unlock => (TokenType::DisablePayg, None),
        Action::Sync => (TokenType::CounterSync, None),
    };
    let kind = if extended {
        TokenKind::Extended
    } else {
        TokenKind::Standard
    };
    let g = token::generate(
        &unit.key,
        unit.starting_code(),
        last_count,
        token_type,
        value,
        kind,
        None,
    )?;
    Ok(Issued {
        token: TokenText::new(g.number, kind, unit.restricted)
            .as_str()
            .to_string(),
        count: g.count,
        token_type: g.token_type.name(),
        value: g.value,
    })
}

/// Device state as `paygo token decode --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateReport {
    /// Count after the token.
    pub count: u32,
    /// Used counts in the window after the token, ascending.
    pub used: Vec<u32>,
}

/// What a device in a given state would do with a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeReport {
    /// ADD_TIME, SET_TIME, DISABLE_PAYG, COUNTER_SYNC, INVALID or ALREADY_USED.
    pub result: &'static str,
    /// Raw embedded integer.
    pub value: Option<u32>,
    /// value ÷ divider for time tokens.
    pub days: Option<f64>,
    /// The matched count.
    pub count: Option<u32>,
    /// The device state afterwards.
    pub state: StateReport,
}

/// Decode `text` on a device of `unit` with last count `count` and `used` counts.
pub fn decode(unit: &Unit, count: u32, used: &[u32], text: &str) -> Result<DecodeReport, Error> {
    let divider = check_divider(unit.divider)?;
    let digits = clean_token_text(text);
    let (number, kind) = token::parse(digits.as_bytes(), unit.restricted)?;
    let mut state = UsedCounts::new(count);
    for &c in used {
        if c > count {
            return Err(Error::BadUsedList(format!(
                "{c} is above the count {count}"
            )));
        }
        state.mark_used(c);
    }
    let decoded = token::decode(
        &unit.key,
        unit.starting_code(),
        &mut state,
        number,
        kind,
        &mut [],
    );
    let (result, value, days, matched) = match decoded.outcome {
        Outcome::Accepted {
            token_type,
            value,
            count,
        } => {
            let days = match token_type {
                TokenType::DisablePayg | TokenType::CounterSync => None,
                _ => Some(f64::from(value) / f64::from(divider)),
            };
            (token_type.name(), Some(value), days, Some(count))
        }
        Outcome::Invalid => ("INVALID", None, None, None),
        Outcome::AlreadyUsed => ("ALREADY_USED", None, None, None),
    };
    Ok(DecodeReport {
        result,
        value,
        days,
        count: matched,
        state: StateReport {
            count: state.count(),
            used: state.used().collect(),
        },
    })
}

/// Parse a `--used` list: comma separated counts; negative entries (as in the reference
/// library's lists) are below every window and ignored.
pub fn parse_used(text: &str) -> Result<Vec<u32>, Error> {
    let mut out = Vec::new();
    for part in text
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let n: i64 = part
            .parse()
            .map_err(|_| Error::BadUsedList(text.to_string()))?;
        if n >= 0 {
            out.push(u32::try_from(n).map_err(|_| Error::BadUsedList(text.to_string()))?);
        }
    }
    Ok(out)
}
