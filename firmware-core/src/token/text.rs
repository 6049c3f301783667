//! Token text: decimal or restricted (digits 1-4) digits, without `core::fmt`.

use super::TokenKind;
use crate::Error;

/// The digits of a token, zero padded to the full width (at most 20 ASCII digits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenText {
    buf: [u8; 20],
    len: usize,
}

impl core::fmt::Debug for TokenText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TokenText {
    /// Format token `number` of `kind`. Numbers wider than the kind are truncated to it,
    /// which never happens for numbers the chain produced.
    pub fn new(number: u64, kind: TokenKind, restricted: bool) -> Self {
        let len = kind.digits(restricted);
        let mut buf = [b'0'; 20];
        if restricted {
            // Two bits per digit, most significant pair first, digit = pair + 1 (spec §6).
            let mut n = number;
            for slot in buf.iter_mut().take(len).rev() {
                *slot = b'1' + (n & 3) as u8;
                n >>= 2;
            }
        } else {
            let mut n = number;
            for slot in buf.iter_mut().take(len).rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        TokenText { buf, len }
    }

    /// The digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written into `buf`.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// Parse token digits (spaces and other separators must already be removed).
///
/// Decimal tokens have 9 (standard) or 12 (extended) digits; restricted tokens 15 or 20
/// digits of 1-4. Anything else is a typed error, never a guess.
pub fn parse(digits: &[u8], restricted: bool) -> Result<(u64, TokenKind), Error> {
    let kind = match (digits.len(), restricted) {
        (9, false) | (15, true) => TokenKind::Standard,
        (12, false) | (20, true) => TokenKind::Extended,
        _ => {
            // Report a stray character before a length problem: it is the likelier typo.
            if digits.iter().any(|d| !d.is_ascii_digit()) {
                return Err(Error::NotADigit);
            }
            return Err(Error::BadLength);
        }
    };
    // Decimal digits go into two 32-bit halves, the last 9 digits and the (at most 3)
    // before them, joined as `hi * 10^9 + lo` = `(hi * 5^9) << 9 + lo` (`hi * 5^9` <
    // 1000 * 1 953 125 fits 32 bits): no 64-bit multiplication, which the Cortex-M0 lacks.
    let split = digits.len().saturating_sub(9);
    let (mut n, mut hi, mut lo) = (0u64, 0u32, 0u32);
    for (i, &d) in digits.iter().enumerate() {
        if !d.is_ascii_digit() {
            return Err(Error::NotADigit);
        }
        if restricted {
            if !matches!(d, b'1'..=b'4') {
                return Err(Error::RestrictedDigit);
            }
            n = (n << 2) | u64::from(d - b'1');
        } else if i < split {
            hi = hi * 10 + u32::from(d - b'0');
        } else {
            lo = lo * 10 + u32::from(d - b'0');
        }
    }
    if !restricted {
        n = (u64::from(hi * 1_953_125) << 9) + u64::from(lo);
    }
    Ok((n, kind))
}
