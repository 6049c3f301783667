//! Field read-out: what the device says (ID, STATUS), checked against the ledger (the key by
//! challenge), recorded (`record_device_count`) and reconciled with the ledger's count.

use crate::device::{DeviceClient, Identity, Status};
use crate::ledger::Ledger;
use crate::Error;
use serde::Serialize;
use std::time::Duration;

/// How far ahead of its count a device accepts a token (the decoder's window).
const DEVICE_REACH: u32 = 64;

/// What device and ledger say, and what it means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readout {
    /// The port.
    pub port: String,
    /// The device's `ID`.
    pub identity: Identity,
    /// The device's `STATUS`.
    pub status: Status,
    /// The unit's lifecycle state in the ledger.
    pub ledger_status: String,
    /// The customer, if assigned.
    pub customer: Option<String>,
    /// The device proved by challenge that it holds the ledger's key.
    pub key_verified: bool,
    /// The count of the last token the ledger issued.
    pub ledger_count: u32,
    /// The count the device reports (now recorded in the ledger).
    pub device_count: u32,
    /// What the difference means.
    pub reconcile: Reconcile,
}

/// The device count against the ledger's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconcile {
    /// IN_SYNC, DEVICE_BEHIND or DEVICE_AHEAD.
    pub code: &'static str,
    /// What it means.
    pub message: String,
    /// What to do.
    pub advice: Option<String>,
    /// A command that does it.
    pub suggest: Option<String>,
}

/// Compare the device's count with the ledger's for unit `serial`; `unentered` is how many
/// of the ledger's tokens have a count above the device's.
pub fn reconcile(
    serial: &str,
    ledger_count: u32,
    device_count: u32,
    unentered: usize,
) -> Reconcile {
    let sync = format!(
        "paygo issue --unit {serial} --sync --operator NAME --reason \"count {device_count} read out\""
    );
    if device_count == ledger_count {
        return Reconcile {
            code: "IN_SYNC",
            message: format!(
                "device and ledger agree at count {device_count}: every token issued was entered"
            ),
            advice: None,
            suggest: None,
        };
    }
    if device_count < ledger_count {
        let gap = ledger_count - device_count;
        let reach = if gap > DEVICE_REACH {
            format!(
                " The gap is beyond the {DEVICE_REACH} counts a device looks ahead, so it will \
                 reject every new token until it is synchronised."
            )
        } else {
            String::new()
        };
        return Reconcile {
            code: "DEVICE_BEHIND",
            message: format!(
                "the ledger has issued tokens up to count {ledger_count}, the device is at \
                 {device_count}: {unentered} token(s) issued were not entered (the customer may \
                 still hold them, or they were lost).{reach}"
            ),
            advice: Some(
                "enter the customer's unused tokens if they still have them; if they are lost, \
                 issue a counter-sync token so the device follows the ledger again"
                    .into(),
            ),
            suggest: Some(sync),
        };
    }
    Reconcile {
        code: "DEVICE_AHEAD",
        message: format!(
            "the device accepted tokens up to count {device_count}, but this ledger only issued \
             up to {ledger_count}: tokens were issued outside this ledger (another copy of it, \
             another system, or a leaked key)"
        ),
        advice: Some(format!(
            "find where those tokens came from before issuing more; this ledger's next tokens \
             (counts up to {device_count}) would be rejected as already used. A counter-sync \
             token from this ledger is accepted once its count passes {device_count}"
        )),
        suggest: Some(sync),
    }
}

/// Read out the device on `port`: ID + STATUS, find its unit in the ledger, verify the key by
/// challenge, record the device count, reconcile. The count is recorded only after the
/// challenge passed (a device without the key is not the ledger's unit).
pub fn readout(
    ledger: &mut Ledger,
    port: &str,
    patience: Duration,
    operator: Option<&str>,
) -> Result<Readout, Error> {
    let mut client = DeviceClient::connect_with(port, patience)?;
    let identity = client.identity().clone();
    let Some(serial) = identity.serial.clone() else {
        return Err(Error::Station {
            code: "NOT_PROVISIONED",
            message: format!(
                "the device on {port} is blank (not provisioned): provision it with \
                 `paygo provision --port {port}`"
            ),
        });
    };
    let status = client.status()?;
    let unit = ledger.unit(&serial)?;
    if unit.status == "provisioning" {
        return Err(Error::Station {
            code: "PROVISION_PENDING",
            message: format!(
                "{serial}'s provisioning was interrupted and is still pending: run \
                 `paygo provision --recover --port {port}`"
            ),
        });
    }
    let key = ledger.unit_key(&serial)?;
    client.verify_key(key.expose())?;
    let unentered = ledger
        .tokens(&serial)?
        .iter()
        .filter(|t| t.count > status.count)
        .count();
    // STATUS carries no used-count mask: recorded as none used below the count.
    ledger.record_device_count(&serial, status.count, 0, operator)?;
    Ok(Readout {
        port: port.to_string(),
        reconcile: reconcile(&serial, unit.count, status.count, unentered),
        device_count: status.count,
        ledger_count: unit.count,
        ledger_status: unit.status,
        customer: unit.customer.map(|c| c.name),
        key_verified: true,
        identity,
        status,
    })
}
