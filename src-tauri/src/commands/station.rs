//! Station: flash firmware through a debug probe, provision devices into the open ledger (one,
//! or a batch over a queue of ports), and see what is on the ports. Long work reports progress
//! as events (`station://flash`, `station://progress`, `station://batch`) and can be
//! cancelled: a flash through the back-end's cancel flag (honoured before the probe is opened,
//! before erasing and before the reset), a batch after the unit in hand (never mid-device).
//!
//! Keys and starting codes are drawn and kept by `paygo::station::provision`; nothing here
//! returns either.

use super::{blocking, trimmed, AppArc};
use crate::api::{
    events, BatchResult, BatchUnit, ChipView, DetectedPort, FirmwareImage, FlashDone, FlashEvent,
    FlashImageRequest, FlashSetup, ImageCheck, ProbeView, ProvisionRequest, ProvisionedUnit,
    StationStep,
};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::device::DeviceClient;
use paygo::flash::{self, FlashError, FlashProgress, FlashReport, FlashRequest, ProbeSelector};
use paygo::station::batch::{self, BatchRow};
use paygo::station::provision::{self, ProvisionOptions};
use paygo::station::{detect, Progress};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tauri::{AppHandle, Emitter, Runtime, State};

/// The chip the Flash screen starts with: the factory's reference board.
pub const DEFAULT_CHIP: &str = "STM32F103C8";

/// Overrides where firmware images are looked for.
pub const FIRMWARE_DIR_ENV: &str = "PAYGO_FIRMWARE_DIR";

/// The boards `cargo xtask firmware` builds (`<board>.elf`) and their chips in probe-rs's
/// registry. The LM3S6965 is QEMU-only here (probe-rs has no flash algorithm for it).
pub const BOARD_CHIPS: [(&str, &str); 2] = [
    ("stm32f103c8", "STM32F103C8"),
    ("microbit", "nRF51822_xxAA"),
];

/// At most this many chip names per search (the registry holds thousands).
pub const MAX_CHIPS: usize = 100;

/// How long a device may take to answer `ID` when provisioning (an emulator attaching needs
/// about a second; a wrong port fails while the technician watches).
const PATIENCE: Duration = Duration::from_secs(4);

/// The station's own state, managed beside [`AppState`] by [`crate::build`].
#[derive(Debug, Default)]
pub struct StationState {
    /// The running flash's cancel flag.
    flash: Mutex<Option<Arc<AtomicBool>>>,
    /// The running batch's cancel flag.
    batch: Mutex<Option<Arc<AtomicBool>>>,
    /// Units provisioned in this session, for the label export.
    labels: Mutex<Vec<ProvisionedUnit>>,
    /// The last batch's rows (kept current after every unit), for saving its report.
    last_batch: Mutex<Vec<BatchRow>>,
}

/// A poisoned lock only means another command panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One running job (flash or batch): holds its slot while alive, frees it when dropped.
struct Job<'a> {
    slot: &'a Mutex<Option<Arc<AtomicBool>>>,
    cancel: Arc<AtomicBool>,
}

impl<'a> Job<'a> {
    fn begin(slot: &'a Mutex<Option<Arc<AtomicBool>>>, code: &str, what: &str) -> CmdResult<Self> {
        let mut s = lock(slot);
        if s.is_some() {
            return Err(CommandError::new(
                code,
                format!("{what} is already running: wait for it or cancel it"),
            ));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        *s = Some(Arc::clone(&cancel));
        Ok(Job { slot, cancel })
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        *lock(self.slot) = None;
    }
}

fn request_cancel(slot: &Mutex<Option<Arc<AtomicBool>>>) -> bool {
    match lock(slot).as_ref() {
        Some(flag) => {
            flag.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

fn clamp32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------------
// Flash

/// The folders that may hold firmware images, existing ones only, each once:
/// `PAYGO_FIRMWARE_DIR`; `$CARGO_TARGET_DIR/firmware`; `firmware/` beside the app's build
/// folder (a development build runs from `<target>/debug`); the workspace's `target/firmware`.
pub fn firmware_dirs() -> Vec<PathBuf> {
    let env_dir = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut candidates = Vec::new();
    candidates.extend(env_dir(FIRMWARE_DIR_ENV));
    candidates.extend(env_dir("CARGO_TARGET_DIR").map(|t| t.join("firmware")));
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(
            exe.parent()
                .and_then(Path::parent)
                .map(|t| t.join("firmware")),
        );
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/firmware"));
    let mut out: Vec<PathBuf> = Vec::new();
    for c in candidates {
        let Ok(c) = std::fs::canonicalize(&c) else {
            continue;
        };
        if c.is_dir() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The chip of the board an image is named after (`stm32f103c8.elf` → STM32F103C8).
pub fn board_chip(file_name: &str) -> Option<&'static str> {
    let stem = file_name.strip_suffix(".elf").unwrap_or(file_name);
    BOARD_CHIPS
        .iter()
        .find(|(board, _)| stem.eq_ignore_ascii_case(board))
        .map(|(_, chip)| *chip)
}

/// The `.elf` files directly in `dirs`, by folder then name.
pub fn images_in(dirs: &[PathBuf]) -> Vec<FirmwareImage> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<FirmwareImage> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let meta = e.metadata().ok()?;
                (meta.is_file() && name.to_ascii_lowercase().ends_with(".elf")).then(|| {
                    FirmwareImage {
                        path: e.path().display().to_string(),
                        chip: board_chip(&name).map(str::to_string),
                        name,
                        file_bytes: clamp32(meta.len()),
                    }
                })
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(found);
    }
    out
}

fn probe_view(p: &flash::ProbeInfo) -> ProbeView {
    ProbeView {
        identifier: p.identifier.clone(),
        kind: p.kind.clone(),
        usb_id: format!("{:04x}:{:04x}", p.vid, p.pid),
        serial: p.serial.clone(),
        accessible: p.accessible,
    }
}

/// Probes, images in `dirs` and the chip to prefill.
pub fn setup_with(probes: &[flash::ProbeInfo], dirs: &[PathBuf]) -> FlashSetup {
    let images = images_in(dirs);
    // The reference board's image when there is one, else the first known board's.
    let default_chip = images
        .iter()
        .filter_map(|i| i.chip.clone())
        .find(|c| c == DEFAULT_CHIP)
        .or_else(|| images.iter().find_map(|i| i.chip.clone()))
        .unwrap_or_else(|| DEFAULT_CHIP.to_string());
    FlashSetup {
        probes: probes.iter().map(probe_view).collect(),
        images,
        image_dirs: dirs.iter().map(|d| d.display().to_string()).collect(),
        default_chip,
    }
}

/// What the Flash screen needs: this machine's probes and firmware images.
pub fn setup() -> FlashSetup {
    setup_with(&flash::list_probes(), &firmware_dirs())
}

/// Chip names matching `query` (prefix matches first), at most [`MAX_CHIPS`].
pub fn chips(query: &str) -> Vec<String> {
    let mut found = flash::search_chips(query);
    found.truncate(MAX_CHIPS);
    found
}

/// One chip's name, family, flash and RAM.
pub fn chip(name: &str) -> CmdResult<ChipView> {
    let info = flash::chip_info(name.trim()).map_err(paygo::Error::from)?;
    Ok(ChipView {
        flash_bytes: clamp32(info.flash_bytes()),
        ram_bytes: clamp32(info.ram.iter().map(|r| r.end - r.start).sum()),
        name: info.name,
        family: info.family,
    })
}

fn flash_request(req: &FlashImageRequest) -> CmdResult<FlashRequest> {
    let chip = req.chip.trim();
    if chip.is_empty() {
        return Err(CommandError::new(
            "UNKNOWN_CHIP",
            "choose the chip to flash (e.g. STM32F103C8)",
        ));
    }
    let image = req.image.trim();
    if image.is_empty() {
        return Err(CommandError::new(
            "BAD_IMAGE",
            "choose a firmware image: the board's ELF file (e.g. target/firmware/stm32f103c8.elf)",
        ));
    }
    Ok(FlashRequest {
        probe: match trimmed(req.probe_serial.as_deref()) {
            Some(serial) => ProbeSelector::Serial(serial),
            None => ProbeSelector::Any,
        },
        chip: chip.to_string(),
        image: PathBuf::from(image),
        verify: req.verify,
        reset: req.reset,
    })
}

/// Read the image and check it fits the chip, touching no probe.
pub fn check_image(req: &FlashImageRequest) -> CmdResult<ImageCheck> {
    let r = flash_request(req)?;
    let run = || -> Result<ImageCheck, FlashError> {
        let image = flash::load_image(&r.image)?;
        let chip = flash::chip_info(&r.chip)?;
        flash::check_fits(&image, &chip)?;
        Ok(ImageCheck {
            image_bytes: clamp32(image.bytes()),
            segments: u32::try_from(image.segments.len()).unwrap_or(u32::MAX),
            flash_bytes: clamp32(chip.flash_bytes()),
            chip: chip.name,
        })
    };
    run().map_err(|e| paygo::Error::from(e).into())
}

/// The UI's form of a back-end flash event.
pub fn flash_event(p: &FlashProgress) -> FlashEvent {
    let base = |kind: &str| FlashEvent {
        kind: kind.into(),
        phase: None,
        state: None,
        done: 0,
        total: None,
        text: None,
    };
    match p {
        FlashProgress::Attached { probe, chip } => FlashEvent {
            text: Some(format!("{chip} through {probe}")),
            ..base("attached")
        },
        FlashProgress::Layout {
            sectors,
            erase_bytes,
            pages,
            program_bytes,
        } => FlashEvent {
            text: Some(format!(
                "erase {sectors} sector(s) ({erase_bytes} B), program {pages} page(s) ({program_bytes} B)"
            )),
            ..base("layout")
        },
        FlashProgress::Phase {
            phase,
            state,
            done,
            total,
        } => FlashEvent {
            phase: Some(phase.name().into()),
            state: Some(
                match state {
                    flash::PhaseState::Started => "started",
                    flash::PhaseState::Progress => "progress",
                    flash::PhaseState::Finished => "finished",
                    flash::PhaseState::Failed => "failed",
                }
                .into(),
            ),
            done: *done,
            total: *total,
            ..base("phase")
        },
        FlashProgress::Message { text } => FlashEvent {
            text: Some(text.clone()),
            ..base("message")
        },
        FlashProgress::Reset => base("reset"),
    }
}

/// Flash through whatever `run` does with the request, the progress sink and the cancel flag
/// (the real probe-rs path, or a fake probe in tests). One flash at a time (`FLASH_BUSY`).
pub fn flash_image_with(
    station: &StationState,
    req: &FlashImageRequest,
    emit: &mut dyn FnMut(FlashEvent),
    run: impl FnOnce(
        &FlashRequest,
        &mut dyn FnMut(FlashProgress),
        &AtomicBool,
    ) -> Result<FlashReport, FlashError>,
) -> CmdResult<FlashDone> {
    let request = flash_request(req)?;
    let job = Job::begin(&station.flash, "FLASH_BUSY", "a flash")?;
    let report =
        run(&request, &mut |p| emit(flash_event(&p)), &job.cancel).map_err(paygo::Error::from)?;
    Ok(FlashDone {
        chip: report.chip,
        probe: report.probe.map(|p| p.to_string()),
        image_bytes: clamp32(report.image_bytes),
        programmed_bytes: clamp32(report.programmed_bytes),
        verified: report.verified,
        reset: report.reset,
        seconds: report.seconds,
    })
}

/// Flash `req.image` into `req.chip` through the selected probe.
pub fn flash_image(
    station: &StationState,
    req: &FlashImageRequest,
    emit: &mut dyn FnMut(FlashEvent),
) -> CmdResult<FlashDone> {
    flash_image_with(station, req, emit, |r, p, c| flash::flash(r, p, c))
}

/// Ask the running flash to stop at its next safe point; `false` if none runs.
pub fn cancel_flash(station: &StationState) -> bool {
    request_cancel(&station.flash)
}

// ---------------------------------------------------------------------------------------------
// Provisioning

fn closed() -> CommandError {
    CommandError::new(
        "LEDGER_CLOSED",
        "the ledger is not open: create or unlock it first (Fleet › Units)",
    )
}

fn no_device() -> CommandError {
    CommandError::new(
        "NO_DEVICE",
        "choose a device: a detected port, a port path or a simulated device",
    )
}

fn options(model: &Option<String>, operator: &Option<String>) -> ProvisionOptions {
    ProvisionOptions {
        model: trimmed(model.as_deref()),
        operator: trimmed(operator.as_deref()),
        patience: PATIENCE,
        // Serial from the ledger's `serial_pattern` setting (else the default), count 1.
        ..ProvisionOptions::default()
    }
}

/// The UI's form of a back-end provisioning step.
pub fn station_step(p: &Progress) -> StationStep {
    let (step, port, serial) = match p {
        Progress::Probing { port } => ("probing", port, None),
        Progress::Probed { port, .. } => ("probed", port, None),
        Progress::Connecting { port } => ("connecting", port, None),
        Progress::Connected { port, serial } => ("connected", port, serial.clone()),
        Progress::Recovered { port, serial, .. } => ("recovered", port, Some(serial.clone())),
        Progress::LedgerPending { port, serial } => ("ledger_pending", port, Some(serial.clone())),
        Progress::Writing { port, serial } => ("writing", port, Some(serial.clone())),
        Progress::Completed { port, serial, .. } => ("completed", port, Some(serial.clone())),
        Progress::Failed { port, .. } => ("failed", port, None),
        _ => ("other", &String::new(), None),
    };
    StationStep {
        step: step.into(),
        port: port.clone(),
        serial,
        text: p.describe(),
    }
}

fn now_iso() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    paygo::time::iso_utc(i64::try_from(secs).unwrap_or(0))
}

/// Read the device's firmware and protocol versions for its label (best effort: the unit is
/// provisioned and committed whatever this says).
fn versions(state: &AppState, port: &str) -> (Option<String>, Option<u32>) {
    let _line = state.serial_io();
    match DeviceClient::connect_with(port, Duration::from_secs(2)) {
        Ok(c) => (
            Some(c.identity().firmware.clone()),
            Some(c.identity().protocol),
        ),
        Err(_) => (None, None),
    }
}

/// Provision the blank device on `req.port` into the open ledger: serial from the ledger's
/// pattern, key from the OS generator, verified by challenge and STATUS (see
/// `paygo::station::provision`).
pub fn provision_one(
    state: &AppState,
    station: &StationState,
    req: &ProvisionRequest,
    progress: &mut dyn FnMut(StationStep),
) -> CmdResult<ProvisionedUnit> {
    let port = req.port.trim();
    if port.is_empty() {
        return Err(no_device());
    }
    let opts = options(&req.model, &req.operator);
    let started = Instant::now();
    let p = {
        let mut slot = state.ledger();
        let ledger = slot.as_mut().ok_or_else(closed)?;
        let _line = state.serial_io();
        provision::provision_device(ledger, port, &opts, &mut |p| progress(station_step(p)))?
    };
    let (firmware, protocol) = versions(state, port);
    let unit = ProvisionedUnit {
        serial: p.serial,
        port: p.port,
        model: opts.model,
        count: p.count,
        firmware,
        protocol,
        provisioned_at: now_iso(),
        recovered: p.recovered,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    lock(&station.labels).push(unit.clone());
    Ok(unit)
}

/// Label lines of the units provisioned in this session as CSV:
/// `serial,model,provisioned_at,firmware,protocol,port`.
pub fn labels_csv(units: &[ProvisionedUnit]) -> String {
    let mut out = String::from("serial,model,provisioned_at,firmware,protocol,port\n");
    for u in units {
        let fields = [
            u.serial.clone(),
            u.model.clone().unwrap_or_default(),
            u.provisioned_at.clone(),
            u.firmware.clone().unwrap_or_default(),
            u.protocol.map(|p| p.to_string()).unwrap_or_default(),
            u.port.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// This session's label lines as CSV.
pub fn session_labels_csv(station: &StationState) -> String {
    labels_csv(&lock(&station.labels))
}

fn output_path(path: &str) -> CmdResult<PathBuf> {
    let p = PathBuf::from(path.trim());
    if path.trim().is_empty() || !p.is_absolute() {
        return Err(CommandError::new(
            "BAD_PATH",
            format!(
                "give the full path of the file to write (got {:?})",
                path.trim()
            ),
        ));
    }
    Ok(p)
}

/// Write this session's label lines to `path` (a full path); returns the path written.
pub fn save_labels(station: &StationState, path: &str) -> CmdResult<String> {
    let path = output_path(path)?;
    let text = session_labels_csv(station);
    let context = || format!("writing the labels {}", path.display());
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(|e| paygo::Error::io(context(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| paygo::Error::io(context(), e))?;
    Ok(path.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Detection and batches

/// Probe the USB serial ports and every running simulator (in parallel, ~2.5 s at most).
pub fn detect_ports(state: &AppState) -> CmdResult<Vec<DetectedPort>> {
    let sims = state.sims();
    let mut ports = detect::list_ports(false)?;
    ports.extend(sims.iter().map(|s| detect::PortInfo::given(&s.port)));
    let _line = state.serial_io();
    let found = detect::detect(&ports, detect::PROBE_PATIENCE, &mut |_| {});
    Ok(found
        .into_iter()
        .map(|d| {
            let sim = sims.iter().find(|s| s.port == d.port.port);
            let (provisioned, serial, firmware, message) = match &d.probe {
                detect::Probe::Device { identity, .. } => (
                    identity.provisioned,
                    identity.serial.clone(),
                    Some(identity.firmware.clone()),
                    None,
                ),
                detect::Probe::Busy { message } | detect::Probe::Error { message, .. } => {
                    (false, None, None, Some(message.clone()))
                }
                detect::Probe::NotADevice { sent } => (false, None, None, Some(sent.clone())),
                detect::Probe::Silent => (false, None, None, None),
            };
            DetectedPort {
                source: if sim.is_some() {
                    "sim".into()
                } else {
                    d.port.source.into()
                },
                label: d.port.usb.as_ref().and_then(|u| u.product.clone()),
                sim_id: sim.map(|s| s.id),
                state: d.probe.state().into(),
                port: d.port.port,
                provisioned,
                serial,
                firmware,
                message,
            }
        })
        .collect())
}

fn batch_unit(index: usize, row: &BatchRow) -> BatchUnit {
    BatchUnit {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        port: row.port.clone(),
        result: row.result.into(),
        serial: row.serial.clone(),
        started: Some(row.started.clone()),
        duration_ms: Some(row.duration_ms),
        error: row
            .error
            .as_ref()
            .map(|e| CommandError::new(e.code, &e.message)),
    }
}

fn queued(index: usize, port: &str, result: &str) -> BatchUnit {
    BatchUnit {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        port: port.to_string(),
        result: result.into(),
        serial: None,
        started: None,
        duration_ms: None,
        error: None,
    }
}

/// Provision the device on each port in turn. Every unit is reported to `on_unit` when it
/// starts and when it ends; a failed unit never stops the others. Cancel ([`cancel_batch`])
/// takes effect between units: the unit in hand always finishes. One batch at a time
/// (`BATCH_BUSY`).
pub fn run_batch(
    state: &AppState,
    station: &StationState,
    ports: &[String],
    model: &Option<String>,
    operator: &Option<String>,
    on_unit: &mut dyn FnMut(&BatchUnit),
    progress: &mut dyn FnMut(StationStep),
) -> CmdResult<BatchResult> {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if ports.is_empty() {
        return Err(no_device());
    }
    if state.ledger().is_none() {
        return Err(closed());
    }
    let job = Job::begin(&station.batch, "BATCH_BUSY", "a batch")?;
    let opts = options(model, operator);
    let mut units: Vec<BatchUnit> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| queued(i, p, "queued"))
        .collect();
    let mut rows: Vec<BatchRow> = Vec::new();
    lock(&station.last_batch).clear();
    for (i, port) in ports.iter().enumerate() {
        if job.cancel.load(Ordering::Relaxed) {
            for (j, u) in units.iter_mut().enumerate().skip(i) {
                let port = std::mem::take(&mut u.port);
                *u = queued(j, &port, "cancelled");
                on_unit(u);
            }
            break;
        }
        units[i] = queued(i, port, "running");
        on_unit(&units[i]);
        let started = Instant::now();
        let row = {
            let mut slot = state.ledger();
            match slot.as_mut() {
                Some(ledger) => {
                    let _line = state.serial_io();
                    batch::provision_row(ledger, port, &opts, &mut |p| progress(station_step(p)))
                }
                // Locked during the batch: this unit fails, clearly, like any other failure.
                None => BatchRow {
                    port: port.clone(),
                    serial: None,
                    starting_code: None,
                    count: None,
                    started: batch::rfc3339_now(),
                    duration_ms: 0,
                    result: "error",
                    error: Some(paygo::ErrorJson {
                        code: "LEDGER_CLOSED",
                        message: closed().message,
                    }),
                },
            }
        };
        if let (true, Some(serial)) = (row.ok(), &row.serial) {
            let (firmware, protocol) = versions(state, port);
            lock(&station.labels).push(ProvisionedUnit {
                serial: serial.clone(),
                port: port.clone(),
                model: opts.model.clone(),
                count: row.count.unwrap_or_default(),
                firmware,
                protocol,
                provisioned_at: now_iso(),
                recovered: false,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        units[i] = batch_unit(i, &row);
        on_unit(&units[i]);
        rows.push(row);
        // Kept current after every unit, so a report can be saved whatever happens next.
        lock(&station.last_batch).clone_from(&rows);
    }
    let count =
        |r: &str| u32::try_from(units.iter().filter(|u| u.result == r).count()).unwrap_or(0);
    Ok(BatchResult {
        ok: count("ok"),
        failed: count("error"),
        cancelled: count("cancelled"),
        report_csv: batch::report_csv(&rows),
        units,
    })
}

/// Stop the running batch after the unit in hand; `false` if none runs.
pub fn cancel_batch(station: &StationState) -> bool {
    request_cancel(&station.batch)
}

/// Write the last batch's report (the CLI's `--report` CSV) to `path` (a full path).
pub fn save_report(station: &StationState, path: &str) -> CmdResult<String> {
    let path = output_path(path)?;
    let rows = lock(&station.last_batch).clone();
    if rows.is_empty() {
        return Err(CommandError::new(
            "NO_REPORT",
            "no batch has run yet: start a batch first",
        ));
    }
    batch::write_report(&path, &rows)?;
    Ok(path.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Commands

type StationArc<'a> = State<'a, Arc<StationState>>;

/// `station_flash_setup`: see [`setup`].
#[tauri::command]
pub async fn station_flash_setup() -> CmdResult<FlashSetup> {
    blocking(|| Ok(setup())).await
}

/// `station_chips`: see [`chips`].
#[tauri::command]
pub async fn station_chips(query: String) -> CmdResult<Vec<String>> {
    blocking(move || Ok(chips(&query))).await
}

/// `station_chip`: see [`chip`].
#[tauri::command]
pub async fn station_chip(name: String) -> CmdResult<ChipView> {
    blocking(move || chip(&name)).await
}

/// `station_check_image`: see [`check_image`].
#[tauri::command]
pub async fn station_check_image(req: FlashImageRequest) -> CmdResult<ImageCheck> {
    blocking(move || check_image(&req)).await
}

/// `station_flash`: see [`flash_image`]; emits `station://flash` events.
#[tauri::command]
pub async fn station_flash<R: Runtime>(
    app: AppHandle<R>,
    station: StationArc<'_>,
    req: FlashImageRequest,
) -> CmdResult<FlashDone> {
    let station = Arc::clone(&station);
    blocking(move || {
        flash_image(&station, &req, &mut |e| {
            let _ = app.emit(events::STATION_FLASH, e);
        })
    })
    .await
}

/// `station_flash_cancel`: see [`cancel_flash`].
#[tauri::command]
pub fn station_flash_cancel(station: StationArc<'_>) -> bool {
    cancel_flash(&station)
}

/// `station_detect`: see [`detect_ports`].
#[tauri::command]
pub async fn station_detect(state: AppArc<'_>) -> CmdResult<Vec<DetectedPort>> {
    let state = Arc::clone(&state);
    blocking(move || detect_ports(&state)).await
}

/// `station_provision`: see [`provision_one`]; emits `station://progress` events.
#[tauri::command]
pub async fn station_provision<R: Runtime>(
    app: AppHandle<R>,
    state: AppArc<'_>,
    station: StationArc<'_>,
    req: ProvisionRequest,
) -> CmdResult<ProvisionedUnit> {
    let (state, station) = (Arc::clone(&state), Arc::clone(&station));
    blocking(move || {
        provision_one(&state, &station, &req, &mut |s| {
            let _ = app.emit(events::STATION_PROGRESS, s);
        })
    })
    .await
}

/// `station_batch`: see [`run_batch`]; emits `station://batch` and `station://progress`.
#[tauri::command]
pub async fn station_batch<R: Runtime>(
    app: AppHandle<R>,
    state: AppArc<'_>,
    station: StationArc<'_>,
    ports: Vec<String>,
    model: Option<String>,
    operator: Option<String>,
) -> CmdResult<BatchResult> {
    let (state, station) = (Arc::clone(&state), Arc::clone(&station));
    let steps = app.clone();
    blocking(move || {
        run_batch(
            &state,
            &station,
            &ports,
            &model,
            &operator,
            &mut |u| {
                let _ = app.emit(events::STATION_BATCH, u);
            },
            &mut |s| {
                let _ = steps.emit(events::STATION_PROGRESS, s);
            },
        )
    })
    .await
}

/// `station_batch_cancel`: see [`cancel_batch`].
#[tauri::command]
pub fn station_batch_cancel(station: StationArc<'_>) -> bool {
    cancel_batch(&station)
}

/// `station_save_report`: see [`save_report`].
#[tauri::command]
pub async fn station_save_report(station: StationArc<'_>, path: String) -> CmdResult<String> {
    let station = Arc::clone(&station);
    blocking(move || save_report(&station, &path)).await
}

/// `station_labels_csv`: see [`session_labels_csv`].
#[tauri::command]
pub fn station_labels_csv(station: StationArc<'_>) -> String {
    session_labels_csv(&station)
}

/// `station_save_labels`: see [`save_labels`].
#[tauri::command]
pub async fn station_save_labels(station: StationArc<'_>, path: String) -> CmdResult<String> {
    let station = Arc::clone(&station);
    blocking(move || save_labels(&station, &path)).await
}
