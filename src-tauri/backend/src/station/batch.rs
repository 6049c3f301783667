//! Batches: many devices, one report row each with timings. A failure on one device is
//! recorded and the batch goes on.

use super::provision::{provision_device, ProvisionOptions, Provisioned};
use super::Progress;
use crate::ledger::Ledger;
use crate::{Error, ErrorJson};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One device of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRow {
    /// The port.
    pub port: String,
    /// The serial, when provisioned.
    pub serial: Option<String>,
    /// Its starting code, when provisioned.
    pub starting_code: Option<u32>,
    /// Its count, when provisioned.
    pub count: Option<u32>,
    /// When this device started (UTC, RFC 3339).
    pub started: String,
    /// Time for this device.
    pub duration_ms: u64,
    /// ok or error.
    pub result: &'static str,
    /// Why it failed.
    pub error: Option<ErrorJson>,
}

impl BatchRow {
    /// Whether the device was provisioned.
    pub fn ok(&self) -> bool {
        self.result == "ok"
    }
}

/// Provision the device on `port` and make a report row of whatever happened.
pub fn provision_row(
    ledger: &mut Ledger,
    port: &str,
    opts: &ProvisionOptions,
    progress: &mut dyn FnMut(&Progress),
) -> BatchRow {
    let started = rfc3339_now();
    let t = Instant::now();
    let result = provision_device(ledger, port, opts, progress);
    row(port, started, t, result, progress)
}

fn row(
    port: &str,
    started: String,
    t: Instant,
    result: Result<Provisioned, Error>,
    progress: &mut dyn FnMut(&Progress),
) -> BatchRow {
    let duration_ms = t.elapsed().as_millis() as u64;
    match result {
        Ok(p) => BatchRow {
            port: port.to_string(),
            serial: Some(p.serial),
            starting_code: Some(p.starting_code),
            count: Some(p.count),
            started,
            duration_ms,
            result: "ok",
            error: None,
        },
        Err(e) => {
            progress(&Progress::Failed {
                port: port.to_string(),
                code: e.code(),
                message: e.to_string(),
            });
            BatchRow {
                port: port.to_string(),
                serial: None,
                starting_code: None,
                count: None,
                started,
                duration_ms,
                result: "error",
                error: Some(e.to_json()),
            }
        }
    }
}

/// Provision the device on each port in turn; one row per port, failures included.
pub fn provision_ports(
    ledger: &mut Ledger,
    ports: &[String],
    opts: &ProvisionOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Vec<BatchRow> {
    ports
        .iter()
        .map(|port| provision_row(ledger, port, opts, progress))
        .collect()
}

/// The report as CSV: serial, port, started, duration_ms, result, error_code, error_message.
pub fn report_csv(rows: &[BatchRow]) -> String {
    let mut out = String::from("serial,port,started,duration_ms,result,error_code,error_message\n");
    for r in rows {
        let fields = [
            r.serial.clone().unwrap_or_default(),
            r.port.clone(),
            r.started.clone(),
            r.duration_ms.to_string(),
            r.result.to_string(),
            r.error
                .as_ref()
                .map(|e| e.code.to_string())
                .unwrap_or_default(),
            r.error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Write the CSV report to `path` (replaced whole: written beside it, then renamed).
pub fn write_report(path: &Path, rows: &[BatchRow]) -> Result<(), Error> {
    let context = || format!("writing the report {}", path.display());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(context(), e))?;
    f.write_all(report_csv(rows).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(context(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(context(), e))
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_millis())
}

/// Unix seconds (and milliseconds) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(secs: i64, millis: u32) -> String {
    crate::time::iso_utc_millis(secs, millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_798_761_599, 999), "2026-12-31T23:59:59.999Z");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
    }
}
