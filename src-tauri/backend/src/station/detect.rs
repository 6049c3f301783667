//! Which serial ports have a device on them: the ports the OS lists (with USB identity where
//! the OS gives it) plus ports named explicitly (ptys, symlinks), each probed with `ID` in its
//! own thread with a short patience. Every port ends up in one of five states; a port that
//! misbehaves never crashes or hangs the scan.
//!
//! USB identity on Linux: `serialport` is built without `libudev` and then reads the same
//! attributes (idVendor, idProduct, manufacturer, product, serial) from sysfs, so VID/PID,
//! product and USB serial are available without libudev-dev at build time or libudev at run
//! time. (libudev would add nothing used here.)

use super::Progress;
use crate::device::{DeviceClient, Identity, Status};
use crate::Error;
use crate::ErrorJson;
use serde::Serialize;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Default patience per port: enough for an emulator to notice its client (~1 s).
pub const PROBE_PATIENCE: Duration = Duration::from_millis(2_500);

/// USB identity of a port's adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbIdentity {
    /// Vendor id, 4 hex digits.
    pub vid: String,
    /// Product id, 4 hex digits.
    pub pid: String,
    /// Manufacturer string.
    pub manufacturer: Option<String>,
    /// Product string.
    pub product: Option<String>,
    /// The adapter's USB serial number (not the device's serial).
    pub serial_number: Option<String>,
}

/// A port to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    /// Path.
    pub port: String,
    /// usb, pci, bluetooth, other (listed by the OS) or given (named by the user).
    pub source: &'static str,
    /// USB identity, for USB adapters.
    pub usb: Option<UsbIdentity>,
}

impl PortInfo {
    /// A port named by the user.
    pub fn given(path: &str) -> PortInfo {
        PortInfo {
            port: path.to_string(),
            source: "given",
            usb: None,
        }
    }
}

/// What answered on a port.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Probe {
    /// An OpenPAYGO device.
    Device {
        /// Its `ID`.
        identity: Identity,
        /// Its `STATUS` (provisioned devices only).
        status: Option<Status>,
        /// Why STATUS could not be read, if it could not.
        status_error: Option<ErrorJson>,
    },
    /// Another program holds the port's exclusive lock.
    Busy {
        /// Explanation.
        message: String,
    },
    /// Nothing answered.
    Silent,
    /// Something answered, but not in the service protocol.
    NotADevice {
        /// What it sent (escaped, shortened).
        sent: String,
    },
    /// The port could not be used.
    Error {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
}

impl Probe {
    /// The state name.
    pub fn state(&self) -> &'static str {
        match self {
            Probe::Device { .. } => "device",
            Probe::Busy { .. } => "busy",
            Probe::Silent => "silent",
            Probe::NotADevice { .. } => "not-a-device",
            Probe::Error { .. } => "error",
        }
    }
}

/// One probed port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detected {
    /// The port.
    #[serde(flatten)]
    pub port: PortInfo,
    /// What answered.
    #[serde(flatten)]
    pub probe: Probe,
    /// Time spent on this port.
    pub elapsed_ms: u64,
}

/// The serial ports the OS lists. Without `all`, only USB ports: factory devices sit on USB
/// adapters, and opening a PC's built-in ports (often 4-32 `ttyS*` with nothing behind
/// them, or a modem) only adds noise and seconds.
pub fn list_ports(all: bool) -> Result<Vec<PortInfo>, Error> {
    // serialport panics on Linux when /sys/class/tty is missing (some containers).
    if cfg!(target_os = "linux") && !Path::new("/sys/class/tty").is_dir() {
        return Ok(Vec::new());
    }
    let ports = serialport::available_ports().map_err(|e| Error::Port {
        path: "(port list)".into(),
        message: e.to_string(),
    })?;
    let mut out: Vec<PortInfo> = ports
        .into_iter()
        .filter_map(|p| {
            let (source, usb) = match p.port_type {
                serialport::SerialPortType::UsbPort(u) => (
                    "usb",
                    Some(UsbIdentity {
                        vid: format!("{:04x}", u.vid),
                        pid: format!("{:04x}", u.pid),
                        manufacturer: u.manufacturer,
                        product: u.product,
                        serial_number: u.serial_number,
                    }),
                ),
                serialport::SerialPortType::PciPort => ("pci", None),
                serialport::SerialPortType::BluetoothPort => ("bluetooth", None),
                serialport::SerialPortType::Unknown => ("other", None),
            };
            (all || source == "usb").then_some(PortInfo {
                port: p.port_name,
                source,
                usb,
            })
        })
        .collect();
    out.sort_by(|a, b| a.port.cmp(&b.port));
    Ok(out)
}

/// The listed ports (see [`list_ports`]) plus `given` ones, each path once (a given path that
/// resolves to a listed port replaces it, keeping the USB identity).
pub fn ports_to_probe(given: &[String], all: bool) -> Result<Vec<PortInfo>, Error> {
    let listed = if given.is_empty() || all {
        list_ports(all)?
    } else {
        Vec::new()
    };
    let canonical = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
    let mut out: Vec<PortInfo> = Vec::new();
    for p in listed {
        if !given.iter().any(|g| canonical(g) == canonical(&p.port)) {
            out.push(p);
        }
    }
    for g in given {
        if out.iter().any(|p| canonical(&p.port) == canonical(g)) {
            continue;
        }
        out.push(PortInfo::given(g));
    }
    Ok(out)
}

/// Probe one port: connect with `ID` (retried within `patience`), then `STATUS`.
pub fn probe(path: &str, patience: Duration) -> Probe {
    match DeviceClient::connect_with(path, patience) {
        Ok(mut client) => {
            let (status, status_error) = if client.identity().provisioned {
                match client.status() {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e.to_json())),
                }
            } else {
                (None, None)
            };
            Probe::Device {
                identity: client.identity().clone(),
                status,
                status_error,
            }
        }
        Err(e @ Error::PortBusy { .. }) => Probe::Busy {
            message: e.to_string(),
        },
        Err(Error::Timeout { .. }) => Probe::Silent,
        Err(Error::Garbage { line, .. }) => Probe::NotADevice { sent: line },
        Err(e) => Probe::Error {
            code: e.code(),
            message: e.to_string(),
        },
    }
}

/// Probe every port in parallel (one thread each) and return them in the given order.
/// Returns after at most `patience` + 3 s whatever the ports do: a probe that has not
/// finished by then is reported as an error and its thread left to end on its own.
pub fn detect(
    ports: &[PortInfo],
    patience: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Vec<Detected> {
    let (tx, rx) = mpsc::channel::<(usize, Probe, u64)>();
    for (i, p) in ports.iter().enumerate() {
        progress(&Progress::Probing {
            port: p.port.clone(),
        });
        let thread_tx = tx.clone();
        let path = p.port.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("probe {path}"))
            .spawn(move || {
                let start = Instant::now();
                let probe =
                    std::panic::catch_unwind(|| probe(&path, patience)).unwrap_or_else(|_| {
                        Probe::Error {
                            code: "INTERNAL",
                            message: "the probe of this port failed unexpectedly".into(),
                        }
                    });
                let _ = thread_tx.send((i, probe, start.elapsed().as_millis() as u64));
            });
        if let Err(e) = spawned {
            let _ = tx.send((
                i,
                Probe::Error {
                    code: "INTERNAL",
                    message: format!("cannot start a thread: {e}"),
                },
                0,
            ));
        }
    }
    drop(tx);
    let mut results: Vec<Option<(Probe, u64)>> = vec![None; ports.len()];
    let deadline = Instant::now() + patience + Duration::from_secs(3);
    let mut left = ports.len();
    while left > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, probe, ms)) => {
                if let (Some(slot), Some(p)) = (results.get_mut(i), ports.get(i)) {
                    progress(&Progress::Probed {
                        port: p.port.clone(),
                        state: probe.state(),
                    });
                    if slot.is_none() {
                        left -= 1;
                    }
                    *slot = Some((probe, ms));
                }
            }
            Err(_) => break,
        }
    }
    ports
        .iter()
        .zip(results)
        .map(|(p, r)| {
            let (probe, elapsed_ms) = r.unwrap_or_else(|| {
                (
                    Probe::Error {
                        code: "TIMEOUT",
                        message: "the probe did not finish in time".into(),
                    },
                    (patience + Duration::from_secs(3)).as_millis() as u64,
                )
            });
            Detected {
                port: p.clone(),
                probe,
                elapsed_ms,
            }
        })
        .collect()
}
