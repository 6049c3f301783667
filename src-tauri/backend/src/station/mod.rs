//! The factory station: find devices on serial ports, provision them closed-loop against the
//! ledger (one, a queue of ports, or one after another on one port), and read them out in the
//! field. Plain back-end code: the CLI prints what it returns, the desktop app forwards the
//! [`Progress`] events of long work to its window.

pub mod batch;
pub mod detect;
pub mod provision;
pub mod readout;

use serde::Serialize;

/// A step of long work, for a progress display. Serialised with an `event` tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Progress {
    /// A port is being probed (detection).
    Probing {
        /// Port path.
        port: String,
    },
    /// A port's probe finished (`state` as in [`detect::Probe`]).
    Probed {
        /// Port path.
        port: String,
        /// device, busy, silent, not-a-device or error.
        state: &'static str,
    },
    /// Opening the port and asking `ID`.
    Connecting {
        /// Port path.
        port: String,
    },
    /// The device answered `ID`.
    Connected {
        /// Port path.
        port: String,
        /// Its serial, when provisioned.
        serial: Option<String>,
    },
    /// A pending provisioning was resolved.
    Recovered {
        /// Port path.
        port: String,
        /// The pending unit's serial.
        serial: String,
        /// completed, aborted or left_pending.
        outcome: &'static str,
    },
    /// The unit is in the ledger as pending (committed) before the device is written.
    LedgerPending {
        /// Port path.
        port: String,
        /// The new serial.
        serial: String,
    },
    /// PROV sent; checking the key by challenge and the count by STATUS.
    Writing {
        /// Port path.
        port: String,
        /// The new serial.
        serial: String,
    },
    /// The device holds the key and the ledger has the unit as provisioned.
    Completed {
        /// Port path.
        port: String,
        /// The new serial.
        serial: String,
        /// Time for this device.
        duration_ms: u64,
    },
    /// This device failed (a batch goes on with the next one).
    Failed {
        /// Port path.
        port: String,
        /// Stable error code.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Progress {
    /// One line for people (the CLI's stderr).
    pub fn describe(&self) -> String {
        match self {
            Progress::Probing { port } => format!("{port}: probing"),
            Progress::Probed { port, state } => format!("{port}: {state}"),
            Progress::Connecting { port } => format!("{port}: connecting"),
            Progress::Connected { port, serial } => match serial {
                Some(s) => format!("{port}: device {s}"),
                None => format!("{port}: blank device"),
            },
            Progress::Recovered {
                port,
                serial,
                outcome,
            } => format!("{port}: pending provisioning of {serial}: {outcome}"),
            Progress::LedgerPending { port, serial } => {
                format!("{port}: {serial} recorded in the ledger (pending)")
            }
            Progress::Writing { port, serial } => {
                format!("{port}: writing {serial}, verifying key and count")
            }
            Progress::Completed {
                port,
                serial,
                duration_ms,
            } => format!("{port}: {serial} provisioned ({duration_ms} ms)"),
            Progress::Failed {
                port,
                code,
                message,
            } => format!("{port}: FAILED {code}: {message}"),
        }
    }
}

/// A progress callback that ignores everything.
pub fn no_progress(_: &Progress) {}
