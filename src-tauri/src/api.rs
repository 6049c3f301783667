//! The IPC contract: every payload and response type the UI sees. TypeScript twins are
//! generated into `ui/src/lib/bindings/` by `cargo test -p paygo-desktop` (see `bindings`).

use serde::{Deserialize, Serialize};

/// What a token should do (the Issue screen's action picker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenAction {
    /// Add days of credit.
    AddTime,
    /// Set the remaining credit.
    SetTime,
    /// Unlock for good.
    DisablePayg,
    /// Counter synchronisation.
    CounterSync,
}

/// A unit's token parameters as typed in a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnitParams {
    /// 32 hex characters.
    pub key: String,
    /// `None` derives the starting code from the key.
    pub starting_code: Option<u32>,
    /// Restricted digit set (keypads with keys 1-4 only).
    pub restricted: bool,
    /// Value divider, 1-255 (1 = whole days).
    pub divider: u32,
}

/// Issue one token (stateless for now: the caller says which count came last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IssueRequest {
    /// The unit.
    pub unit: UnitParams,
    /// The count of the last token issued to this unit.
    pub last_count: u32,
    /// What the token does.
    pub action: TokenAction,
    /// Days for ADD_TIME / SET_TIME, as typed ("7", "0.5").
    pub days: Option<String>,
    /// 12-digit extended token (larger values).
    pub extended: bool,
}

/// An issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The digits.
    pub token: String,
    /// The digits grouped for reading aloud ("123 456 789").
    pub grouped: String,
    /// The token's count: the unit's new last count.
    pub count: u32,
    /// ADD_TIME, SET_TIME, DISABLE_PAYG or COUNTER_SYNC.
    pub token_type: String,
    /// The embedded integer.
    pub value: u32,
}

/// Check what a device in a given state would do with a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DecodeRequest {
    /// The unit.
    pub unit: UnitParams,
    /// The device's last count.
    pub count: u32,
    /// Used counts, comma separated (may be empty).
    pub used: String,
    /// The token as typed (spaces and dashes allowed).
    pub token: String,
}

/// What the device would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DecodeResult {
    /// ADD_TIME, SET_TIME, DISABLE_PAYG, COUNTER_SYNC, INVALID or ALREADY_USED.
    pub result: String,
    /// Raw embedded value.
    pub value: Option<u32>,
    /// value ÷ divider for time tokens.
    pub days: Option<f64>,
    /// The matched count.
    pub count: Option<u32>,
    /// The device's count afterwards.
    pub count_after: u32,
    /// Used counts afterwards.
    pub used_after: Vec<u32>,
}

/// A serial port the OS reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PortInfo {
    /// Path to open (`/dev/ttyUSB0`, `COM3`).
    pub path: String,
    /// USB, PCI, Bluetooth or Unknown, with the USB product when known.
    pub kind: String,
}

/// What the device says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentity {
    /// Protocol version.
    pub protocol: u32,
    /// Firmware version text.
    pub firmware: String,
    /// Serial number, once provisioned.
    pub serial: Option<String>,
    /// Whether the device holds a key.
    pub provisioned: bool,
    /// Restricted digit set.
    pub restricted: bool,
}

/// The device's PAYG state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Token count.
    pub count: u32,
    /// ACTIVE, INACTIVE or UNLOCKED.
    pub state: String,
    /// Seconds of credit left.
    pub credit_seconds: u32,
    /// Seconds until token entry unlocks.
    pub lockout_seconds: u32,
    /// Result of the last token entered.
    pub last_result: Option<String>,
}

/// A device read over its service UART: the device card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The port it was read on.
    pub port: String,
    /// Identity.
    pub identity: DeviceIdentity,
    /// Status (absent on a blank, unprovisioned device).
    pub status: Option<DeviceStatus>,
}

/// The device's answer to a token, and its status afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TokenEntry {
    /// ADD_TIME, SET_TIME, DISABLE_PAYG, COUNTER_SYNC, INVALID, ALREADY_USED or LOCKED.
    pub result: String,
    /// Raw embedded value of an accepted token.
    pub value: Option<u32>,
    /// Seconds until entry unlocks, when locked.
    pub lockout_seconds: Option<u32>,
    /// The device afterwards.
    pub device: DeviceView,
}

/// A simulated device started by the app ("Try without hardware").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SimInfo {
    /// The app's id for it.
    pub id: u32,
    /// The port to talk to it on (a symlink to its pseudo-terminal).
    pub port: String,
    /// Its serial.
    pub serial: String,
    /// Its secret key (a fresh random one: this is a demo device), 32 hex characters.
    pub key: String,
    /// Its starting code.
    pub starting_code: u32,
    /// Started blank (unprovisioned, for the station): `serial` and `key` are empty and
    /// `starting_code` is 0 until it is provisioned (the key then lives only in the ledger).
    #[serde(default)]
    pub blank: bool,
}

/// `sim://stopped`: a simulator ended (asked to, or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SimStopped {
    /// The app's id for it.
    pub id: u32,
    /// Why, when it failed.
    pub error: Option<crate::error::CommandError>,
}

/// Where the ledger is and whether it is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LedgerStatus {
    /// The ledger file (`PAYGO_LEDGER`, else `<data dir>/openpaygo-station/ledger.sqlite`).
    pub path: String,
    /// Whether a file is there.
    pub exists: bool,
    /// Whether the app holds it open with its passphrase (can issue).
    pub unlocked: bool,
}

/// One row of the Units table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnitRow {
    /// Serial.
    pub serial: String,
    /// Model / board name.
    pub model: Option<String>,
    /// Lifecycle status (`in_stock`, `provisioned`, `assigned`, `active`, ...).
    pub status: String,
    /// Count of the last token issued.
    pub count: u32,
    /// The customer's name, when assigned.
    pub customer: Option<String>,
}

/// A page of units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnitListPage {
    /// Matching units in total.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// The rows, by serial.
    pub units: Vec<UnitRow>,
}

/// A token in a unit's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TokenRow {
    /// Its count.
    pub count: u32,
    /// ADD_TIME, SET_TIME, DISABLE_PAYG or COUNTER_SYNC.
    pub token_type: String,
    /// Embedded value.
    pub value: u32,
    /// Days, for time tokens.
    pub days: Option<f64>,
    /// The digits.
    pub token: String,
    /// Payment reference.
    pub payment_ref: Option<String>,
    /// Money received, as a decimal ("12.5").
    pub amount: Option<String>,
    /// Who issued it.
    pub operator: Option<String>,
    /// Unix seconds.
    #[cfg_attr(test, ts(type = "number"))]
    pub created_at: i64,
}

/// A unit with its token history (never its key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnitDetail {
    /// Serial.
    pub serial: String,
    /// Model / board name.
    pub model: Option<String>,
    /// Lifecycle status.
    pub status: String,
    /// Count of the last token issued.
    pub count: u32,
    /// Last count read from the device itself.
    pub device_count: Option<u32>,
    /// Restricted digit set.
    pub restricted: bool,
    /// Value divider.
    pub divider: u32,
    /// Unlocked for good.
    pub payg_disabled: bool,
    /// The customer's name, when assigned.
    pub customer: Option<String>,
    /// Tokens issued in total.
    pub tokens_issued: u32,
    /// Every token, newest first.
    pub tokens: Vec<TokenRow>,
}

/// What a ledger token should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerAction {
    /// Add days of credit.
    AddTime,
    /// Add what a payment buys under the unit's tariff.
    AddAmount,
    /// Set the remaining credit (needs an operator).
    SetTime,
    /// Unlock for good (needs an operator).
    DisablePayg,
    /// Counter synchronisation (needs an operator).
    CounterSync,
}

/// Issue the next token for a unit in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LedgerIssueRequest {
    /// The unit.
    pub serial: String,
    /// What the token does.
    pub action: LedgerAction,
    /// Days for ADD_TIME / SET_TIME, as typed.
    pub days: Option<String>,
    /// Money received, as typed ("12.50"); the amount for ADD_AMOUNT.
    pub amount: Option<String>,
    /// Payment reference: the same one on the same unit returns the same token.
    pub payment_ref: Option<String>,
    /// Who issues it.
    pub operator: Option<String>,
    /// Why (unlock / sync / set; required when a supervisor PIN is configured).
    pub reason: Option<String>,
    /// The supervisor PIN (unlock / sync / set, when one is configured).
    pub supervisor_pin: Option<String>,
    /// 12-digit extended token.
    pub extended: bool,
}

/// A device-twin warning: issuing went ahead, but the operator should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IssueWarning {
    /// DEVICE_JUMP_TOO_FAR, DEVICE_WOULD_REJECT, UNLOCKED_IGNORES_ADD_TIME, ...
    pub code: String,
    /// What the device would do.
    pub message: String,
    /// What to do about it.
    pub advice: String,
}

/// A token issued from the ledger (already committed when this is returned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LedgerIssued {
    /// The unit.
    pub serial: String,
    /// The digits.
    pub token: String,
    /// The digits grouped for reading aloud.
    pub grouped: String,
    /// Its count.
    pub count: u32,
    /// ADD_TIME, SET_TIME, DISABLE_PAYG or COUNTER_SYNC.
    pub token_type: String,
    /// Embedded value.
    pub value: u32,
    /// Days, for time tokens.
    pub days: Option<f64>,
    /// Device-twin warnings.
    pub warnings: Vec<IssueWarning>,
    /// True when the payment reference had already issued this token (nothing new issued).
    pub idempotent: bool,
}

/// Event names the back-end emits.
pub mod events {
    /// A simulator serves on its port (payload: [`super::SimInfo`]).
    pub const SIM_READY: &str = "sim://ready";
    /// A simulator ended (payload: [`super::SimStopped`]).
    pub const SIM_STOPPED: &str = "sim://stopped";
    /// Flashing moved (payload: [`super::FlashEvent`]).
    pub const STATION_FLASH: &str = "station://flash";
    /// A provisioning step (payload: [`super::StationStep`]).
    pub const STATION_PROGRESS: &str = "station://progress";
    /// A batch unit started or ended (payload: [`super::BatchUnit`]).
    pub const STATION_BATCH: &str = "station://batch";
    /// Import progress while `transfer_import` runs (payload: [`super::ImportProgressEvent`]).
    pub const TRANSFER_PROGRESS: &str = "transfer://progress";
}

// --- Station: flashing, provisioning, batches (commands::station) ---------------------------

/// A debug probe on USB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProbeView {
    /// Product name ("STLink V2").
    pub identifier: String,
    /// Driver family ("ST-LINK", "J-Link", "CMSIS-DAP").
    pub kind: String,
    /// USB vendor:product, 4 hex digits each ("0483:3748").
    pub usb_id: String,
    /// USB serial number, when the probe has one (what selects it).
    pub serial: Option<String>,
    /// False when the OS denies access (on Linux: the probe-rs udev rules are missing).
    pub accessible: bool,
}

/// A chip of probe-rs's registry, for the picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChipView {
    /// Registry name ("STM32F103C8").
    pub name: String,
    /// Family ("STM32F1 Series").
    pub family: String,
    /// Programmable flash, bytes.
    pub flash_bytes: u32,
    /// RAM, bytes.
    pub ram_bytes: u32,
}

/// A firmware ELF found in the firmware output folder (`cargo xtask firmware`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FirmwareImage {
    /// Full path.
    pub path: String,
    /// File name ("stm32f103c8.elf").
    pub name: String,
    /// File size, bytes.
    pub file_bytes: u32,
    /// The chip of the board the file is named after, when known ("STM32F103C8").
    pub chip: Option<String>,
}

/// What the Flash screen offers: probes, images, and the default chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FlashSetup {
    /// Connected debug probes.
    pub probes: Vec<ProbeView>,
    /// ELF files in the firmware folders that exist.
    pub images: Vec<FirmwareImage>,
    /// Folders looked in (for the "no image found" hint).
    pub image_dirs: Vec<String>,
    /// The chip to prefill (the first image's board, else STM32F103C8).
    pub default_chip: String,
}

/// Flash one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FlashImageRequest {
    /// Chip name as in the registry.
    pub chip: String,
    /// Path of the firmware ELF.
    pub image: String,
    /// USB serial of the probe; `None` = the only connected probe.
    pub probe_serial: Option<String>,
    /// Read the flash back and compare.
    pub verify: bool,
    /// Reset into the new firmware afterwards.
    pub reset: bool,
}

/// An image checked against a chip (nothing touched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImageCheck {
    /// The chip's registry name.
    pub chip: String,
    /// Bytes to program.
    pub image_bytes: u32,
    /// Loadable segments.
    pub segments: u32,
    /// The chip's flash, bytes.
    pub flash_bytes: u32,
}

/// `station://flash`: one step of flashing, for the progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FlashEvent {
    /// attached, layout, phase, message or reset.
    pub kind: String,
    /// fill, erase, program or verify (kind = phase).
    pub phase: Option<String>,
    /// started, progress, finished or failed (kind = phase).
    pub state: Option<String>,
    /// Bytes done in this phase.
    #[cfg_attr(test, ts(type = "number"))]
    pub done: u64,
    /// Bytes the phase covers, when known.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub total: Option<u64>,
    /// Probe (attached), plan (layout) or algorithm message text.
    pub text: Option<String>,
}

/// A finished flash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FlashDone {
    /// The chip.
    pub chip: String,
    /// The probe used.
    pub probe: Option<String>,
    /// Image bytes.
    pub image_bytes: u32,
    /// Bytes programmed (whole pages).
    pub programmed_bytes: u32,
    /// Verified by read-back.
    pub verified: bool,
    /// Reset afterwards.
    pub reset: bool,
    /// Wall time.
    pub seconds: f64,
}

/// Provision one device into the open ledger (key and starting code drawn by the back-end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProvisionRequest {
    /// The device's port.
    pub port: String,
    /// Model / board name for the ledger and the label.
    pub model: Option<String>,
    /// Who provisions (audit).
    pub operator: Option<String>,
}

/// A provisioned device: what its label shows. Never its key (nor its starting code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedUnit {
    /// The serial from the ledger's pattern.
    pub serial: String,
    /// The port.
    pub port: String,
    /// Model, when given.
    pub model: Option<String>,
    /// The count the device reports.
    pub count: u32,
    /// Firmware version the device reports (absent if it could not be read again).
    pub firmware: Option<String>,
    /// Protocol version the device reports.
    pub protocol: Option<u32>,
    /// When (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub provisioned_at: String,
    /// Completed from an interrupted earlier run.
    pub recovered: bool,
    /// Time for this device, ms.
    #[cfg_attr(test, ts(type = "number"))]
    pub duration_ms: u64,
}

/// `station://progress`: a step of provisioning (connecting, pending, writing, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StationStep {
    /// connecting, connected, recovered, ledger_pending, writing, completed, failed, ...
    pub step: String,
    /// The port.
    pub port: String,
    /// The serial, once known.
    pub serial: Option<String>,
    /// One line for people (English).
    pub text: String,
}

/// A port probed for the station's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DetectedPort {
    /// Port path.
    pub port: String,
    /// usb, pci, bluetooth, other, given or sim.
    pub source: String,
    /// device, busy, silent, not-a-device or error.
    pub state: String,
    /// Whether a device there holds a key.
    pub provisioned: bool,
    /// Its serial, when provisioned.
    pub serial: Option<String>,
    /// Its firmware version.
    pub firmware: Option<String>,
    /// The USB product, when known.
    pub label: Option<String>,
    /// The simulator's id, for a simulator this app started (the UI names it in its language).
    pub sim_id: Option<u32>,
    /// Why, for busy / not-a-device / error.
    pub message: Option<String>,
}

/// One unit of a batch (`station://batch`, and the batch's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BatchUnit {
    /// Position in the queue, from 0.
    pub index: u32,
    /// The port.
    pub port: String,
    /// queued, running, ok, error or cancelled (never started).
    pub result: String,
    /// The serial, when provisioned.
    pub serial: Option<String>,
    /// When it started (UTC, RFC 3339).
    pub started: Option<String>,
    /// Time for this unit, ms.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub duration_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<crate::error::CommandError>,
}

/// A finished (or cancelled) batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// Every queued unit, in queue order.
    pub units: Vec<BatchUnit>,
    /// Provisioned.
    pub ok: u32,
    /// Failed.
    pub failed: u32,
    /// Stopped by Cancel before these many units started.
    pub cancelled: u32,
    /// The report (the CLI's `--report` CSV) of the units that ran.
    pub report_csv: String,
}

// ---- Fleet (commands::fleet): sorted units, unit detail, overview charts, quotes. ----

/// Columns the Units table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FleetSort {
    /// Serial.
    Serial,
    /// Lifecycle status.
    Status,
    /// Customer name.
    Customer,
    /// When the credit ends.
    CreditUntil,
    /// When the last token was issued.
    LastToken,
}

/// What the Units table asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetUnitsQuery {
    /// Serial, customer name or phone (substring).
    pub search: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Sort column.
    pub sort: FleetSort,
    /// Descending.
    pub descending: bool,
    /// Page, from 1.
    pub page: u32,
    /// Rows per page (0: 50).
    pub page_size: u32,
}

/// One row of the sorted Units table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetUnitRow {
    /// Serial.
    pub serial: String,
    /// Model.
    pub model: Option<String>,
    /// Lifecycle status.
    pub status: String,
    /// Count of the last token issued.
    pub count: u32,
    /// Customer name.
    pub customer: Option<String>,
    /// Customer phone.
    pub phone: Option<String>,
    /// When the credit ends (ledger view), Unix seconds.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub credit_until: Option<i64>,
    /// When the last token was issued, Unix seconds.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub last_token_at: Option<i64>,
}

/// A sorted page of units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetUnitPage {
    /// Matching units in total.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Sort column.
    pub sort: FleetSort,
    /// Descending.
    pub descending: bool,
    /// The rows.
    pub units: Vec<FleetUnitRow>,
}

/// A customer as the unit detail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetCustomer {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Location.
    pub location: Option<String>,
}

/// A payment recorded with a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetPayment {
    /// The token's count.
    pub count: u32,
    /// Payment reference.
    pub payment_ref: Option<String>,
    /// Money received, as a decimal ("12.5").
    pub amount: Option<String>,
    /// Days the token carried.
    pub days: Option<f64>,
    /// Unix seconds.
    #[cfg_attr(test, ts(type = "number"))]
    pub created_at: i64,
}

/// What the unit detail shows besides its token history (`unit_detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetUnit {
    /// Serial.
    pub serial: String,
    /// Lifecycle status.
    pub status: String,
    /// Statuses it can be moved to by hand.
    pub next_statuses: Vec<String>,
    /// Restricted digits (15/20-digit tokens of 1-4).
    pub restricted: bool,
    /// The customer, when assigned.
    pub customer: Option<FleetCustomer>,
    /// Days per currency unit.
    pub tariff_days_per_unit: Option<f64>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// When the credit ends (ledger view), Unix seconds.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub credit_until: Option<i64>,
    /// When the last token was issued.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub last_token_at: Option<i64>,
    /// Tokens that recorded a payment (reference or amount), newest first.
    pub payments: Vec<FleetPayment>,
}

/// Assign a customer (and optionally a tariff) to a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetAssign {
    /// The unit.
    pub serial: String,
    /// Customer name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Days per currency unit, as typed ("7", "2.5"); empty keeps the current tariff.
    pub tariff: Option<String>,
    /// Who does it.
    pub operator: Option<String>,
}

/// Replace a unit's free-text notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetNotes {
    /// The unit.
    pub serial: String,
    /// The new notes; blank clears them.
    pub notes: String,
    /// Who does it.
    pub operator: Option<String>,
}

/// Move a unit to another lifecycle status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetStatusChange {
    /// The unit.
    pub serial: String,
    /// The new status.
    pub status: String,
    /// Who does it (required).
    pub operator: String,
    /// Why (required).
    pub reason: String,
}

/// The days a payment buys on a unit, before issuing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetQuote {
    /// The unit.
    pub serial: String,
    /// Days per currency unit.
    pub tariff_days_per_unit: f64,
    /// Days the token will carry.
    pub days: f64,
}

/// Units in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetStatusCount {
    /// Status.
    pub status: String,
    /// Units.
    pub units: u32,
}

/// One bar of the tokens / days-sold chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetBucket {
    /// Start of the day or week (local midnight), Unix seconds.
    #[cfg_attr(test, ts(type = "number"))]
    pub start: i64,
    /// Tokens issued.
    pub tokens: u32,
    /// Days sold (ADD_TIME tokens).
    pub days_sold: f64,
}

/// A unit whose credit ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetExpiring {
    /// Serial.
    pub serial: String,
    /// Customer name.
    pub customer: Option<String>,
    /// Customer phone.
    pub phone: Option<String>,
    /// When the credit ends, Unix seconds.
    #[cfg_attr(test, ts(type = "number"))]
    pub credit_until: i64,
}

/// Fleet › Overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FleetStats {
    /// Units in the ledger.
    pub total_units: u32,
    /// Every status, zeros included.
    pub by_status: Vec<FleetStatusCount>,
    /// True: one bar per week; false: per day.
    pub weekly: bool,
    /// Oldest first, the current day/week last.
    pub series: Vec<FleetBucket>,
    /// Credit ending in the next 7 days, soonest first (at most 100).
    pub expiring: Vec<FleetExpiring>,
    /// All units whose credit ends in the next 7 days.
    pub expiring_total: u32,
}

// ---- Ledger administration: import / export, verify, settings (commands::{transfer, settings}) ----

/// What file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    /// OpenPAYGO device CSV (spec §1 header).
    OpenpaygoCsv,
    /// Encrypted handover bundle (needs its own passphrase).
    Bundle,
}

/// What file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ExportKind {
    /// OpenPAYGO device CSV: holds the raw device keys.
    OpenpaygoCsv,
    /// Tokens and payments, for accounting (no keys).
    TokensCsv,
    /// Encrypted handover bundle under its own passphrase.
    Bundle,
}

/// An import (or its preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    /// The file's kind.
    pub kind: ImportKind,
    /// The file's path on this computer.
    pub path: String,
    /// Bundles: the bundle's passphrase.
    pub bundle_passphrase: Option<String>,
    /// Who imports (audit log).
    pub operator: Option<String>,
}

/// A row an import refuses (conflict or invalid), with its CSV line when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportProblem {
    /// CSV line (1 = header); `None` for bundles.
    pub line: Option<u32>,
    /// The serial, when known.
    pub serial: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What an import would do (a dry run: nothing written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    /// The file's kind.
    pub kind: ImportKind,
    /// Units the import would add.
    pub new_units: u32,
    /// Their serials.
    pub new_serials: Vec<String>,
    /// Units already in the ledger, identical: skipped.
    pub duplicates: u32,
    /// Tokens that would come with the new units (bundles).
    pub tokens: u32,
    /// Conflicting or invalid rows: any of them means the import is refused as a whole.
    pub problems: Vec<ImportProblem>,
    /// Worth knowing, not blocking.
    pub warnings: Vec<String>,
    /// The handover bundle's id.
    pub bundle_id: Option<String>,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportDone {
    /// Units added.
    pub imported: u32,
    /// Their serials.
    pub serials: Vec<String>,
    /// Identical units skipped.
    pub skipped: u32,
    /// Tokens added with them (bundles).
    pub tokens: u32,
    /// The handover bundle's id.
    pub bundle_id: Option<String>,
}

/// One step of a running import ([`events::TRANSFER_PROGRESS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportProgressEvent {
    /// `check` (comparing with the ledger) or `write` (inside the transaction).
    pub phase: String,
    /// Units handled in this phase.
    pub done: u32,
    /// Units this phase handles.
    pub total: u32,
}

/// An export to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// What to write.
    pub kind: ExportKind,
    /// Where (refused if it exists, unless `overwrite`).
    pub path: String,
    /// Replace an existing file.
    pub overwrite: bool,
    /// OpenPAYGO CSV: the supervisor PIN, needed when one is set.
    pub supervisor_pin: Option<String>,
    /// Bundle: its passphrase (at least 8 characters, not the ledger's)...
    pub bundle_passphrase: Option<String>,
    /// ...typed twice.
    pub bundle_passphrase_again: Option<String>,
    /// Bundle: include the units' tokens.
    pub with_tokens: bool,
    /// Who exports (audit log).
    pub operator: Option<String>,
    /// Only units in this lifecycle status; `None` for every status.
    pub status: Option<String>,
    /// Only these serials; empty for all (not together with `status`).
    pub serials: Vec<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportDone {
    /// What was written.
    pub kind: ExportKind,
    /// The file.
    pub path: String,
    /// Units in it.
    pub units: u32,
    /// Token rows in it.
    pub tokens: u32,
    /// Bytes written.
    pub bytes: u32,
    /// The bundle's id (logged on both sides of a handover).
    pub bundle_id: Option<String>,
    /// The file holds raw device keys (OpenPAYGO CSV).
    pub raw_keys: bool,
}

/// One thing `ledger_verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct VerifyProblem {
    /// BROKEN_CHAIN, DUPLICATE_COUNT, COUNT_MISMATCH, TOKEN_NOT_AUDITED, AUDITED_TOKEN_MISSING,
    /// DAMAGED_FILE.
    pub code: String,
    /// Explanation.
    pub message: String,
    /// The audit row concerned.
    pub seq: Option<u32>,
}

/// The result of `ledger_verify` (the audit hash chain and the token invariants).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    /// Nothing wrong.
    pub ok: bool,
    /// Audit rows checked.
    pub audit_rows: u32,
    /// Tokens checked.
    pub tokens: u32,
    /// Units counted.
    pub units: u32,
    /// The first audit row that breaks the hash chain.
    pub first_broken_seq: Option<u32>,
    /// That row as stored (action, unit, time), so a person can find it.
    pub first_broken: Option<AuditRowView>,
    /// Everything found (at most 100).
    pub problems: Vec<VerifyProblem>,
}

/// An audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditRowView {
    /// Position in the chain.
    pub seq: u32,
    /// Unix seconds.
    #[cfg_attr(test, ts(type = "number"))]
    pub at: i64,
    /// Who.
    pub actor: Option<String>,
    /// What (`issue`, `setting`, `import`...).
    pub action: String,
    /// The unit, if any.
    pub unit: Option<String>,
    /// The details (JSON text).
    pub detail: String,
}

/// A named tariff (days of use per currency unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TariffView {
    /// Unique name.
    pub name: String,
    /// Days per currency unit, a decimal ("0.5").
    pub days_per_unit: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// Where the auto-lock time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AutolockSource {
    /// `PAYGO_AUTOLOCK_SECS` (overrides the ledger setting).
    Env,
    /// The ledger's `autolock_minutes`.
    Ledger,
    /// The built-in 10 minutes.
    Default,
}

/// The Settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The ledger's `serial_pattern`, `None` when unset.
    pub serial_pattern: Option<String>,
    /// The pattern used when none is set.
    pub default_serial_pattern: String,
    /// The next serials of the effective pattern (a preview; nothing taken).
    pub next_serials: Vec<String>,
    /// Named tariffs.
    pub tariffs: Vec<TariffView>,
    /// The tariff new units get.
    pub default_tariff: Option<String>,
    /// The ledger's `autolock_minutes`, `None` when unset.
    pub autolock_minutes: Option<u32>,
    /// The auto-lock time in force, in seconds.
    pub autolock_effective_secs: u32,
    /// Where that comes from.
    pub autolock_source: AutolockSource,
    /// A supervisor PIN is configured.
    pub supervisor_pin_set: bool,
}

/// Set or change the supervisor PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SupervisorPinChange {
    /// The PIN in force (needed when one is set).
    pub current: Option<String>,
    /// The new PIN, 4-8 digits...
    pub pin: String,
    /// ...typed twice.
    pub pin_again: String,
}
