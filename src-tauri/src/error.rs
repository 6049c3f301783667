//! The one error type commands return: serialised as `{code, message}` so the UI can show
//! the message and branch on the stable code (see `ui/src/lib/backend.ts`).

use serde::{Deserialize, Serialize};

/// A command failure as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandError {
    /// Stable machine-readable code: the back-end's codes (`BAD_KEY`, `TIMEOUT`, ...) plus
    /// the ledger's (`WRONG_PASSPHRASE`, `UNKNOWN_UNIT`, ...) and the app's own
    /// (`SIM_NOT_FOUND`, `SIM_FAILED`, `LEDGER_CLOSED`, `WEAK_PASSPHRASE`, `INTERNAL`).
    pub code: String,
    /// Human-readable explanation (English).
    pub message: String,
}

impl CommandError {
    /// An app-level error with its own code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl From<paygo::Error> for CommandError {
    fn from(e: paygo::Error) -> Self {
        let json = e.to_json();
        CommandError {
            code: json.code.to_string(),
            message: json.message,
        }
    }
}

impl From<paygo::ledger::LedgerError> for CommandError {
    fn from(e: paygo::ledger::LedgerError) -> Self {
        paygo::Error::from(e).into()
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CommandError {}

/// What commands return.
pub type CmdResult<T> = Result<T, CommandError>;
