//! Closed-loop provisioning of one device, and recovery of provisionings a crash left pending.
//!
//! Order of work, so that no key a device may hold is ever lost and nothing half-done stays:
//! 1. connect and identify; resolve pending rows of this port or this device ([`recover`]);
//! 2. key from the OS generator, random starting code, serial from the ledger's pattern;
//! 3. `begin_provisioning` COMMITs the unit (sealed key) as `provisioning`, port recorded;
//! 4. `PROV`, then `ID` + `CHAL` (the device proves it holds the key), then `STATUS` (the count
//!    must be the one provisioned);
//! 5. `complete_provisioning`.
//!
//! A failure after step 3 is settled by looking at the device again: blank or someone
//! else's → abort; ours and sound → complete; ours but wrong (count) → authorised factory
//! reset with the key we hold, then abort; unreachable → the row stays pending, for
//! [`recover`] once the device is back.

use super::Progress;
use crate::device::{DeviceClient, ProvisionData};
use crate::ledger::{Ledger, NewUnit, PendingId, PendingProvisioning, DEFAULT_SERIAL_PATTERN};
use crate::link::CONNECT_PATIENCE;
use crate::Error;
use firmware_core::token::Key;
use serde::Serialize;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Largest starting code the protocol carries (9 decimal digits).
pub const MAX_STARTING_CODE: u32 = 999_999_999;

/// What to provision.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// Model / board name recorded in the ledger.
    pub model: Option<String>,
    /// Serial pattern; `None` uses the ledger's `serial_pattern` setting, else
    /// [`DEFAULT_SERIAL_PATTERN`].
    pub serial_pattern: Option<String>,
    /// Initial token count.
    pub count: u32,
    /// Restricted digit set.
    pub restricted: bool,
    /// Value divider (1-255).
    pub divider: u8,
    /// Who provisions (audit).
    pub operator: Option<String>,
    /// How long to wait for the device to answer `ID` (QEMU needs about a second).
    pub patience: Duration,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        ProvisionOptions {
            model: None,
            serial_pattern: None,
            count: 1,
            restricted: false,
            divider: 1,
            operator: None,
            patience: CONNECT_PATIENCE,
        }
    }
}

/// A provisioned device (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    /// Its serial.
    pub serial: String,
    /// Its starting code.
    pub starting_code: u32,
    /// The port it was on.
    pub port: String,
    /// The count it reported after provisioning.
    pub count: u32,
    /// True when this device's provisioning was started by an earlier, interrupted run and
    /// completed now by recovery.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// How a pending provisioning was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// The pending unit's serial.
    pub serial: String,
    /// The port it was started on (when recorded).
    pub port: Option<String>,
    /// completed, aborted or left_pending.
    pub outcome: &'static str,
    /// Why.
    pub reason: String,
    /// The device's count, when completed.
    pub count: Option<u32>,
}

/// The serial pattern to use: the option, else the ledger's setting, else the default.
pub fn serial_pattern(ledger: &Ledger, opts: &ProvisionOptions) -> Result<String, Error> {
    if let Some(p) = &opts.serial_pattern {
        return Ok(p.clone());
    }
    Ok(ledger
        .setting("serial_pattern")?
        .unwrap_or_else(|| DEFAULT_SERIAL_PATTERN.to_string()))
}

/// A fresh device key from the OS generator.
pub fn random_key() -> Result<Zeroizing<Key>, Error> {
    let mut key = Zeroizing::new([0u8; 16]);
    getrandom::fill(key.as_mut()).map_err(|e| Error::Random(e.to_string()))?;
    Ok(key)
}

/// A starting code drawn uniformly from 1..=999 999 999 (rejection sampling on 30 bits).
pub fn random_starting_code() -> Result<u32, Error> {
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
        let v = u32::from_le_bytes(b) & ((1 << 30) - 1);
        if (1..=MAX_STARTING_CODE).contains(&v) {
            return Ok(v);
        }
    }
}

/// Provision the blank device on `port` (see the module docs for the order of work).
pub fn provision_device(
    ledger: &mut Ledger,
    port: &str,
    opts: &ProvisionOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Provisioned, Error> {
    let start = Instant::now();
    let op = opts.operator.as_deref();
    let pattern = serial_pattern(ledger, opts)?;
    // Check the pattern before touching anything.
    crate::ledger::format_serial(&pattern, 1, 2000)?;
    progress(&Progress::Connecting {
        port: port.to_string(),
    });
    let mut client = DeviceClient::connect_with(port, opts.patience)?;
    progress(&Progress::Connected {
        port: port.to_string(),
        serial: client.identity().serial.clone(),
    });

    // Rows an interrupted run left for this port or this device.
    let recovered = recover_with(ledger, &mut client, op, progress)?;
    if let Some(serial) = client.identity().serial.clone() {
        if let Some(r) = recovered
            .iter()
            .find(|r| r.serial == serial && r.outcome == "completed")
        {
            let unit = ledger.unit(&serial)?;
            let p = Provisioned {
                serial,
                starting_code: unit.starting_code,
                port: port.to_string(),
                count: r.count.unwrap_or(unit.count),
                recovered: true,
            };
            progress(&Progress::Completed {
                port: port.to_string(),
                serial: p.serial.clone(),
                duration_ms: start.elapsed().as_millis() as u64,
            });
            return Ok(p);
        }
        let known = match ledger.unit(&serial) {
            Ok(u) => format!(" (in this ledger, status {})", u.status),
            Err(_) => " (a serial this ledger does not know)".to_string(),
        };
        return Err(Error::Station {
            code: "ALREADY_PROVISIONED",
            message: format!(
                "the device on {port} is already provisioned as {serial}{known}; nothing was \
                 changed. A device is provisioned once: take the next device, or factory-reset \
                 this one first"
            ),
        });
    }

    let key = random_key()?;
    let starting_code = random_starting_code()?;
    let serial = ledger.next_serial(&pattern)?;
    let unit = NewUnit {
        serial: serial.clone(),
        model: opts.model.clone(),
        key: *key,
        starting_code: Some(starting_code),
        count: opts.count,
        restricted: opts.restricted,
        divider: u32::from(opts.divider),
    };
    let pending = ledger.begin_provisioning_on(&unit, Some(port), op)?;
    drop(unit);
    progress(&Progress::LedgerPending {
        port: port.to_string(),
        serial: serial.clone(),
    });
    let data = ProvisionData {
        serial: serial.clone(),
        key: *key,
        starting_code,
        count: opts.count,
        restricted: opts.restricted,
        divider: opts.divider,
    };
    progress(&Progress::Writing {
        port: port.to_string(),
        serial: serial.clone(),
    });
    let count = match write_and_check(&mut client, &data) {
        Ok(count) => {
            ledger
                .complete_provisioning(pending, count, op)
                .map_err(|e| left_pending(port, &serial, e.into()))?;
            count
        }
        Err(e) => settle_failure(ledger, client, pending, &data, e, opts.patience, op)?,
    };
    progress(&Progress::Completed {
        port: port.to_string(),
        serial: serial.clone(),
        duration_ms: start.elapsed().as_millis() as u64,
    });
    Ok(Provisioned {
        serial,
        starting_code,
        port: port.to_string(),
        count,
        recovered: false,
    })
}

/// PROV + challenge, then STATUS: the device's count must be the one provisioned.
fn write_and_check(client: &mut DeviceClient, data: &ProvisionData) -> Result<u32, Error> {
    client
        .provision(data)
        .and_then(|()| check_count(client, data.count))
        .map_err(|e| redact_key(e, &data.key))
}

/// A line that does not parse is quoted in the error; if the device (or an echo on the line)
/// sent our PROV line back, the key would be in it: never let it reach a screen or report.
fn redact_key(e: Error, key: &Key) -> Error {
    match e {
        Error::Garbage { path, line } => {
            // An echoed PROV line also carries the starting code, and the quote is cut at 80
            // bytes (a cut key no longer matches): withhold the whole line.
            if line.to_ascii_uppercase().contains("PROV") {
                return Error::Garbage {
                    path,
                    line: "<PROV line withheld>".into(),
                };
            }
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let line = line
                .replace(&hex, "<key>")
                .replace(&hex.to_ascii_uppercase(), "<key>");
            Error::Garbage { path, line }
        }
        e => e,
    }
}

fn check_count(client: &mut DeviceClient, expected: u32) -> Result<u32, Error> {
    let status = client.status()?;
    if status.count != expected {
        return Err(Error::Station {
            code: "COUNT_MISMATCH",
            message: format!(
                "the device on {} reports count {} after provisioning, expected {expected}",
                client.port(),
                status.count
            ),
        });
    }
    Ok(status.count)
}

/// After a failure past `begin_provisioning`: look at the device again and complete (the
/// device is sound and only a reply was lost: `Ok(count)`), abort (resetting the device first
/// when it holds our key but is wrong) or leave the row pending.
fn settle_failure(
    ledger: &mut Ledger,
    client: DeviceClient,
    pending: PendingId,
    data: &ProvisionData,
    err: Error,
    patience: Duration,
    op: Option<&str>,
) -> Result<u32, Error> {
    let port = client.port().to_string();
    let serial = data.serial.as_str();
    let mut client = Some(client);
    // The same link first; if it broke, reopen the port.
    let mut identified = client.as_mut().map(|c| c.identify().map(|_| ()));
    if !matches!(identified, Some(Ok(()))) {
        drop(client.take());
        match DeviceClient::connect_with(&port, patience.min(Duration::from_secs(3))) {
            Ok(c) => {
                client = Some(c);
                identified = Some(Ok(()));
            }
            Err(e) => identified = Some(Err(e)),
        }
    }
    let (Some(mut c), Some(Ok(()))) = (client, identified) else {
        return Err(left_pending(&port, serial, err));
    };
    let abort = |ledger: &mut Ledger, reason: &str, err: Error| -> Error {
        match ledger.abort_provisioning(pending, reason, op) {
            Ok(()) => err,
            Err(e) => Error::Station {
                code: "PROVISION_PENDING",
                message: format!(
                    "{err}; and the ledger could not drop the pending unit {serial}: {e}"
                ),
            },
        }
    };
    match c.identity().serial.clone() {
        None => Err(abort(ledger, &format!("device blank after: {err}"), err)),
        Some(s) if s != serial => Err(abort(
            ledger,
            &format!("the device is {s}, not {serial}: {err}"),
            err,
        )),
        Some(_) => {
            // The device took our serial. Does it hold our key, with the right count?
            if let Err(e) = c.verify_key(&data.key) {
                return Err(match e {
                    Error::ChallengeFailed { .. } => {
                        abort(ledger, "the device holds this serial but not its key", err)
                    }
                    _ => left_pending(&port, serial, err),
                });
            }
            let count_failed = matches!(
                &err,
                Error::Station {
                    code: "COUNT_MISMATCH",
                    ..
                }
            );
            if !count_failed {
                // Only a reply was lost: the device is sound.
                if let Ok(count) = check_count(&mut c, data.count) {
                    return match ledger.complete_provisioning(pending, count, op) {
                        Ok(_) => Ok(count),
                        Err(e) => Err(left_pending(&port, serial, e.into())),
                    };
                }
            }
            // Ours but not trustworthy: undo on the device (we hold the key), then drop it.
            Err(match c.factory_reset(&data.key) {
                Ok(()) => abort(
                    ledger,
                    &format!("device reset after: {err}"),
                    Error::Station {
                        code: err.code(),
                        message: format!("{err}; the device was factory-reset and is blank again"),
                    },
                ),
                Err(_) => left_pending(&port, serial, err),
            })
        }
    }
}

fn left_pending(port: &str, serial: &str, err: Error) -> Error {
    Error::Station {
        code: "PROVISION_PENDING",
        message: format!(
            "{err}. The device may hold the key of {serial}, so the ledger keeps {serial} as \
             pending: reconnect the device and run `paygo provision --recover --port {port}`"
        ),
    }
}

/// Resolve the pending provisionings that concern the device on `port`: connect, then
/// see [`recover_with`]. Without pending rows the port is not even opened.
pub fn recover(
    ledger: &mut Ledger,
    port: &str,
    patience: Duration,
    operator: Option<&str>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Recovery>, Error> {
    if ledger.pending_provisionings()?.is_empty() {
        return Ok(Vec::new());
    }
    progress(&Progress::Connecting {
        port: port.to_string(),
    });
    let mut client = DeviceClient::connect_with(port, patience)?;
    progress(&Progress::Connected {
        port: port.to_string(),
        serial: client.identity().serial.clone(),
    });
    recover_with(ledger, &mut client, operator, progress)
}

/// Resolve pending rows against the connected device:
/// * a row with the device's serial: challenge with the row's key; it verifies → complete
///   (with the count from STATUS), it does not → abort;
/// * a row started on this port while the device here is blank → abort (the key never
///   reached it);
/// * a row started on this port while another provisioned device is here → left pending
///   (its device was swapped out before it could be checked; connect it and recover);
/// * rows of other ports are not touched.
pub fn recover_with(
    ledger: &mut Ledger,
    client: &mut DeviceClient,
    operator: Option<&str>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Recovery>, Error> {
    let pending = ledger.pending_provisionings_detail()?;
    let port = client.port().to_string();
    let device_serial = client.identity().serial.clone();
    let mut out = Vec::new();
    for p in pending {
        let here = p.port.as_deref() == Some(port.as_str());
        let recovery = if device_serial.as_deref() == Some(p.serial.as_str()) {
            resolve_on_device(ledger, client, &p, operator)?
        } else if !here {
            continue;
        } else if device_serial.is_none() {
            ledger.abort_provisioning(
                p.id,
                &format!("recovery: the device on {port} is blank"),
                operator,
            )?;
            Recovery {
                serial: p.serial.clone(),
                port: p.port.clone(),
                outcome: "aborted",
                reason: format!("the device on {port} is blank: the key never reached it"),
                count: None,
            }
        } else {
            Recovery {
                serial: p.serial.clone(),
                port: p.port.clone(),
                outcome: "left_pending",
                reason: format!(
                    "the device on {port} is {}, not {}: connect {}'s device and recover again",
                    device_serial.as_deref().unwrap_or("-"),
                    p.serial,
                    p.serial
                ),
                count: None,
            }
        };
        progress(&Progress::Recovered {
            port: port.clone(),
            serial: recovery.serial.clone(),
            outcome: recovery.outcome,
        });
        out.push(recovery);
    }
    Ok(out)
}

fn resolve_on_device(
    ledger: &mut Ledger,
    client: &mut DeviceClient,
    p: &PendingProvisioning,
    operator: Option<&str>,
) -> Result<Recovery, Error> {
    let key = ledger.unit_key(&p.serial)?;
    let port = client.port().to_string();
    match client.verify_key(key.expose()) {
        Ok(()) => {
            let status = client.status()?;
            ledger.complete_provisioning(p.id, status.count, operator)?;
            Ok(Recovery {
                serial: p.serial.clone(),
                port: p.port.clone(),
                outcome: "completed",
                reason: format!("the device on {port} holds the key (challenge verified)"),
                count: Some(status.count),
            })
        }
        Err(Error::ChallengeFailed { .. }) => {
            ledger.abort_provisioning(
                p.id,
                "recovery: the device has this serial but not the key",
                operator,
            )?;
            Ok(Recovery {
                serial: p.serial.clone(),
                port: p.port.clone(),
                outcome: "aborted",
                reason: format!(
                    "the device on {port} has serial {} but fails the challenge with its key",
                    p.serial
                ),
                count: None,
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echoed_prov_line_loses_its_key() {
        let key: Key = *b"\xa2\x9a\xb8\x2e\xdc\x5f\xbb\xc4\x1e\xc9\x53\x0f\x6d\xac\x86\xb1";
        let e = Error::Garbage {
            path: "p".into(),
            line: "PROV SN-1 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 1 0 1*24".into(),
        };
        let text = redact_key(e, &key).to_string();
        assert!(text.contains("<PROV line withheld>"), "{text}");
        // Neither the key nor the starting code (123456789) reaches a screen or report.
        assert!(!text.to_ascii_lowercase().contains("a29ab82e"), "{text}");
        // A cut-off echo (noise first, the key cut at the quote's 80 bytes) is withheld too.
        let cut = Error::Garbage {
            path: "p".into(),
            line: "~~~~~~~~~~~~~~~~~~~~~~~PROV SN-1 123456789 a29ab82edc5fbbc41ec9530f6dac…".into(),
        };
        let text = redact_key(cut, &key).to_string();
        assert!(
            !text.contains("123456789") && !text.contains("a29ab82e"),
            "{text}"
        );
        // Other garbage is quoted as it came (it helps the technician).
        let other = Error::Garbage {
            path: "p".into(),
            line: "BOOT v1.2".into(),
        };
        assert!(redact_key(other, &key).to_string().contains("BOOT v1.2"));
    }
}
