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
    /// A serial port could not be opened, read or written.
    #[error("serial port {path}: {message}")]
    Port {
        /// Port path.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// Another program (or another window of this one) has the port open exclusively.
    #[error(
        "serial port {path} is in use by another program (it holds the port's exclusive lock)"
    )]
    PortBusy {
        /// Port path.
        path: String,
    },
    /// Nothing answered in time.
    #[error(
        "no answer from the device on {path} (is it powered and connected, and is the port right?)"
    )]
    Timeout {
        /// Port path.
        path: String,
    },
    /// Something answered, but not in the OpenPAYGO service protocol.
    #[error(
        "the device on {path} does not speak the OpenPAYGO service protocol (it sent {line:?})"
    )]
    Garbage {
        /// Port path.
        path: String,
        /// What it sent, escaped and shortened.
        line: String,
    },
    /// The device refused the request.
    #[error("the device refused: {code} ({message})")]
    Device {
        /// The protocol's error code (e.g. ALREADY_PROVISIONED).
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// Token text that cannot be sent.
    #[error("token text: {0}")]
    BadTokenText(&'static str),
    /// A serial number outside the allowed form.
    #[error("serial {0:?} must be 1-16 characters of A-Z, a-z, 0-9 and -")]
    BadSerial(String),
    /// The device failed the key challenge.
    #[error("device {serial} failed the key challenge: it does not hold the expected key")]
    ChallengeFailed {
        /// The device's serial.
        serial: String,
    },
    /// The OS random generator failed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// The ledger refused or failed (see [`crate::ledger::LedgerError::code`]).
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// Debug probe, chip or firmware image trouble (see [`crate::flash::FlashError::code`]).
    #[error(transparent)]
    #[cfg(feature = "flash")]
    Flash(#[from] crate::flash::FlashError),
    /// Station work (provisioning, read-out) that cannot go on; `code` says why
    /// (ALREADY_PROVISIONED, COUNT_MISMATCH, PROVISION_PENDING, NOT_PROVISIONED...).
    #[error("{message}")]
    Station {
        /// Stable code.
        code: &'static str,
        /// What happened and what to do.
        message: String,
    },
    /// Local file or pty trouble (simulator state, links).
    #[error("{context}: {message}")]
    Io {
        /// What was being done.
        context: String,
        /// What the OS said.
        message: String,
    },
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
            Error::Port { .. } => "PORT",
            Error::PortBusy { .. } => "PORT_BUSY",
            Error::Timeout { .. } => "TIMEOUT",
            Error::Garbage { .. } => "NOT_A_DEVICE",
            Error::Device { code, .. } => code,
            Error::BadTokenText(_) => "BAD_TOKEN_TEXT",
            Error::BadSerial(_) => "BAD_SERIAL",
            Error::ChallengeFailed { .. } => "CHALLENGE_FAILED",
            Error::Random(_) => "RANDOM",
            Error::Io { .. } => "IO",
            Error::Station { code, .. } => code,
            Error::Ledger(e) => e.code(),
            #[cfg(feature = "flash")]
            Error::Flash(e) => e.code(),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorJson {
    /// Stable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Error::Io {
            context: context.into(),
            message: e.to_string(),
        }
    }
}
