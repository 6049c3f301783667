use serde::Serialize;

/// Back-end errors. Each has a stable `code` that scripts and the UI can branch on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key that is not 32 hex characters.
    #[error("the key must be 32 hexadecimal characters (16 bytes)")]
    BadKey,
    /// A value the days argument cannot take.
    #[error("days must be a number of at least 0 (got {0})")]
    BadDays(String),
    /// Divider outside 1-255.
    #[error("the divider must be between 1 and 255 (got {0})")]
    BadDivider(u32),
    /// A used-count list that cannot be read.
    #[error("the used counts must be a comma-separated list of counts (got {0:?})")]
    BadUsedList(String),
    /// The token engine refused (value too high, malformed token, ...).
    #[error("{0}")]
    Token(#[from] firmware_core::Error),
}

impl Error {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use firmware_core::Error as E;
        match self {
            Error::BadKey => "BAD_KEY",
            Error::BadDays(_) => "BAD_DAYS",
            Error::BadDivider(_) => "BAD_DIVIDER",
            Error::BadUsedList(_) => "BAD_USED_LIST",
            Error::Token(e) => match e {
                E::ValueTooHigh => "VALUE_TOO_HIGH",
                E::ValueNotAllowed => "VALUE_NOT_ALLOWED",
                E::CountOverflow => "COUNT_OVERFLOW",
                E::BadLength => "BAD_TOKEN_LENGTH",
                E::NotADigit => "BAD_TOKEN_CHARACTER",
                E::RestrictedDigit => "BAD_RESTRICTED_DIGIT",
                _ => "TOKEN_ERROR",
            },
        }
    }

    /// The `{code, message}` form the UI and `--json` callers receive.
    pub fn to_json(&self) -> ErrorJson {
        ErrorJson {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

/// Serialised error: `{"code": "...", "message": "..."}`.
#[derive(Debug, Serialize)]
pub struct ErrorJson {
    /// Stable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}
