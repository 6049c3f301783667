//! `LedgerError`: everything the ledger can refuse, each with a stable code.

use std::path::PathBuf;

/// Ledger errors. `code()` is stable; scripts and the UI branch on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// No ledger file at the path.
    #[error("no ledger at {0} (create one with `paygo ledger init`)")]
    NotFound(PathBuf),
    /// `init` on a path that already holds a file.
    #[error("{0} already exists; refusing to overwrite a ledger")]
    AlreadyExists(PathBuf),
    /// The file is not an SQLite database, or is damaged (truncated, overwritten).
    #[error("the ledger file is damaged or not a database: {0}")]
    Corrupt(String),
    /// An SQLite database, but not an OpenPAYGO Station ledger.
    #[error("{0} is not an OpenPAYGO Station ledger")]
    NotALedger(PathBuf),
    /// Written by a newer version of this program.
    #[error("the ledger has schema version {found}; this program knows up to {known}")]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Latest version this build knows.
        known: u32,
    },
    /// The passphrase does not open this ledger.
    #[error("wrong passphrase for this ledger")]
    WrongPassphrase,
    /// No passphrase available (no env var, no terminal).
    #[error("a passphrase is needed: set PAYGO_PASSPHRASE or run in a terminal")]
    NoPassphrase,
    /// The two entries of a new passphrase differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// The ledger was opened without a passphrase and the operation needs keys.
    #[error("this operation needs the ledger passphrase")]
    Locked,
    /// No unit with this serial.
    #[error("no unit with serial {0:?}")]
    UnknownUnit(String),
    /// A unit with this serial already exists.
    #[error("a unit with serial {0:?} already exists")]
    DuplicateSerial(String),
    /// Serial outside the allowed form.
    #[error("serial {0:?} must be 1-16 characters of A-Z, a-z, 0-9 and -")]
    BadSerial(String),
    /// The unit's lifecycle state forbids this.
    #[error("unit {serial} is {status}: {what} is not allowed")]
    BadState {
        /// Unit serial.
        serial: String,
        /// Its status.
        status: String,
        /// What was attempted.
        what: &'static str,
    },
    /// Unknown lifecycle status name.
    #[error("unknown status {0:?} (in_stock, provisioned, assigned, active, unlocked, returned, written_off)")]
    BadStatus(String),
    /// Unknown sort column for the units list.
    #[error("unknown sort {0:?} (serial, status, customer, credit_until, last_token)")]
    BadSort(String),
    /// Unlock, sync and set-time tokens need a named operator.
    #[error("{0} tokens need an operator (--operator NAME)")]
    OperatorRequired(&'static str),
    /// A supervisor PIN is configured and this token needs it.
    #[error("{0} tokens need the supervisor PIN (--supervisor-pin or PAYGO_SUPERVISOR_PIN)")]
    SupervisorPinRequired(&'static str),
    /// The supervisor PIN given is not the configured one.
    #[error("wrong supervisor PIN")]
    WrongSupervisorPin,
    /// A supervised token needs a reason.
    #[error("{0} tokens need a reason (--reason TEXT)")]
    ReasonRequired(&'static str),
    /// A supervisor PIN that is not 4-8 digits.
    #[error("the supervisor PIN must be 4-8 digits")]
    BadSupervisorPin,
    /// An amount was given but the unit has no tariff.
    #[error("unit {0} has no tariff; assign one (paygo unit assign --tariff) or issue days")]
    NoTariff(String),
    /// An amount or tariff that is not a non-negative decimal.
    #[error("{0:?} is not a valid amount (a non-negative decimal with up to 3 decimals)")]
    BadAmount(String),
    /// A serial pattern without `{seq}` or with unknown fields.
    #[error("serial pattern {0:?}: use {{seq}} or {{seq:0N}} and optionally {{yyyy}}")]
    BadPattern(String),
    /// The token would lie on the repeating part of its hash chain, where the device accepts
    /// it again later (see `firmware_core::token::find_cycle`); nothing was issued.
    #[error("unit {serial}: this {what} token (count {count}) lies on a repeating stretch of its hash chain: its digits come back every {period} counts, so the device would accept it again later, for free. Nothing was issued. {advice}")]
    TokenWouldRepeat {
        /// The unit.
        serial: String,
        /// How many counts later the same digits come back.
        period: u32,
        /// What was asked ("10-day ADD_TIME", "DISABLE_PAYG", ...).
        what: String,
        /// The count it would have had.
        count: u32,
        /// What to issue instead (values named in it were checked).
        advice: String,
    },
    /// Unit notes longer than [`super::NOTES_MAX`] characters.
    #[error("notes are limited to {max} characters ({got} given)")]
    NotesTooLong {
        /// The limit.
        max: usize,
        /// What was given.
        got: usize,
    },
    /// A setting name the ledger does not know.
    #[error("unknown setting {0:?} (known: serial_pattern, tariffs, autolock_minutes)")]
    UnknownSetting(String),
    /// No pending provisioning with this id.
    #[error("no pending provisioning with id {0}")]
    UnknownPending(i64),
    /// Token or input trouble reported by the token layer (bad key, days, divider...).
    #[error("{0}")]
    Invalid(Box<crate::Error>),
    /// `verify` found problems (listed in the message).
    #[error("the ledger failed verification: {0}")]
    VerifyFailed(String),
    /// Another process holds the ledger for longer than the busy timeout.
    #[error("the ledger is busy (another program is writing); try again")]
    Busy,
    /// Any other database failure.
    #[error("ledger database: {0}")]
    Db(String),
    /// Encryption failure (should not happen) or a sealed key that does not open.
    #[error("key sealing: {0}")]
    Crypto(String),
    /// An import stopped by its progress callback (the user cancelled); nothing was imported.
    #[error("import cancelled: nothing was imported")]
    Cancelled,
    /// A setting value the ledger does not accept (the message says why).
    #[error("setting {name}: {message}")]
    BadSetting {
        /// The setting.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An import found problems (every one is listed); nothing was imported.
    #[error("{0}")]
    ImportRefused(Box<super::ImportReport>),
    /// A handover bundle that cannot be opened (see [`super::BundleError::code`]).
    #[error(transparent)]
    Bundle(super::BundleError),
    /// File-system trouble.
    #[error("{context}: {message}")]
    Io {
        /// What was being done.
        context: String,
        /// What the OS said.
        message: String,
    },
}

impl LedgerError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::NotFound(_) => "NO_LEDGER",
            LedgerError::AlreadyExists(_) => "LEDGER_EXISTS",
            LedgerError::Corrupt(_) => "LEDGER_CORRUPT",
            LedgerError::NotALedger(_) => "NOT_A_LEDGER",
            LedgerError::TooNew { .. } => "LEDGER_TOO_NEW",
            LedgerError::WrongPassphrase => "WRONG_PASSPHRASE",
            LedgerError::NoPassphrase => "NO_PASSPHRASE",
            LedgerError::PassphraseMismatch => "PASSPHRASE_MISMATCH",
            LedgerError::Locked => "LEDGER_LOCKED",
            LedgerError::UnknownUnit(_) => "UNKNOWN_UNIT",
            LedgerError::DuplicateSerial(_) => "DUPLICATE_SERIAL",
            LedgerError::BadSerial(_) => "BAD_SERIAL",
            LedgerError::BadState { .. } => "BAD_UNIT_STATE",
            LedgerError::BadStatus(_) => "BAD_STATUS",
            LedgerError::BadSort(_) => "BAD_SORT",
            LedgerError::OperatorRequired(_) => "OPERATOR_REQUIRED",
            LedgerError::SupervisorPinRequired(_) => "SUPERVISOR_PIN_REQUIRED",
            LedgerError::WrongSupervisorPin => "WRONG_SUPERVISOR_PIN",
            LedgerError::ReasonRequired(_) => "REASON_REQUIRED",
            LedgerError::BadSupervisorPin => "BAD_SUPERVISOR_PIN",
            LedgerError::NoTariff(_) => "NO_TARIFF",
            LedgerError::BadAmount(_) => "BAD_AMOUNT",
            LedgerError::BadPattern(_) => "BAD_SERIAL_PATTERN",
            LedgerError::TokenWouldRepeat { .. } => "TOKEN_WOULD_REPEAT",
            LedgerError::NotesTooLong { .. } => "NOTES_TOO_LONG",
            LedgerError::UnknownPending(_) => "UNKNOWN_PENDING",
            LedgerError::UnknownSetting(_) => "UNKNOWN_SETTING",
            LedgerError::Invalid(e) => e.code(),
            LedgerError::VerifyFailed(_) => "VERIFY_FAILED",
            LedgerError::Busy => "LEDGER_BUSY",
            LedgerError::Db(_) => "LEDGER_DB",
            LedgerError::Crypto(_) => "CRYPTO",
            LedgerError::ImportRefused(_) => "IMPORT_REFUSED",
            LedgerError::Cancelled => "CANCELLED",
            LedgerError::BadSetting { .. } => "BAD_SETTING",
            LedgerError::Bundle(e) => e.code(),
            LedgerError::Io { .. } => "IO",
        }
    }
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        if matches!(
            e,
            rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::FromSqlConversionFailure(..)
        ) {
            // A ledger column holding a value of the wrong type: damage or tampering.
            return LedgerError::Corrupt(format!("unexpected data in the ledger: {e}"));
        }
        match e.sqlite_error_code() {
            Some(C::NotADatabase | C::DatabaseCorrupt) => LedgerError::Corrupt(e.to_string()),
            Some(C::DatabaseBusy | C::DatabaseLocked) => LedgerError::Busy,
            _ => LedgerError::Db(e.to_string()),
        }
    }
}

impl From<crate::Error> for LedgerError {
    fn from(e: crate::Error) -> Self {
        LedgerError::Invalid(Box::new(e))
    }
}

impl From<firmware_core::Error> for LedgerError {
    fn from(e: firmware_core::Error) -> Self {
        LedgerError::Invalid(Box::new(crate::Error::Token(e)))
    }
}
