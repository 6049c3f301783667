//! The ledger: units, customers, every token ever issued and a hash-chained audit log, in one
//! SQLite file; device keys sealed under the ledger passphrase.
//!
//! Invariants (checked by [`Ledger::verify`]):
//! * a token is committed before anyone sees it ([`Ledger::issue`] returns after COMMIT);
//! * no (unit, count) is issued twice; a unit's `count` equals its highest token count;
//! * a payment reference issues at most one token per unit (a repeat returns that token);
//! * device keys exist in the file only sealed (XChaCha20-Poly1305 under an Argon2id key,
//!   the serial as associated data); they never appear in Debug output or logs;
//! * the audit log is append-only and hash-chained.
//!
//! For colleagues building on this: [`Ledger::add_units`] (bulk import),
//! [`Ledger::begin_provisioning`] / [`Ledger::complete_provisioning`] /
//! [`Ledger::abort_provisioning`] (with [`Ledger::begin_provisioning_on`] and
//! [`Ledger::pending_provisionings_detail`] recording and returning the port),
//! [`Ledger::setting`] / [`Ledger::set_setting`], [`Ledger::next_serial`], [`Ledger::unit_key`],
//! [`Ledger::record_device_count`], [`Ledger::tokens`], [`Ledger::record_event`].

mod audit;
mod error;
mod schema;
mod seal;
mod settings;
mod stats;
mod transfer;

pub use audit::{AuditRow, Problem, VerifyReport};
pub use error::LedgerError;
pub use schema::SCHEMA_VERSION;
pub use seal::{
    bundle_passphrase_from_env_or_prompt, passphrase_from_env_or_prompt, DeviceKey, KdfParams,
    Passphrase, SealKey,
};
pub use settings::{Tariff, Tariffs, MAX_AUTOLOCK_MINUTES};
pub use stats::{
    amount_days, ExpiringUnit, FleetStats, Granularity, Quote, SeriesBucket, StatsQuery,
    StatusCount, UnitCredit,
};
pub use transfer::{
    format_milli, iso_utc, write_export_file, BundleError, BundleLimits, ExportSummary,
    ImportOptions, ImportPhase, ImportProgress, ImportProgressFn, ImportReport, RowError,
    Selection, Skipped, BUNDLE_MAGIC,
};

use firmware_core::token::{
    self as ft, ChainPos, Checkpoint, Key, Outcome, TokenKind, TokenText, TokenType, UsedCounts,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

type Result<T> = std::result::Result<T, LedgerError>;

const FORMAT: &str = "openpaygo-station-ledger";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The default ledger path: `<data dir>/openpaygo-station/ledger.sqlite`.
pub fn default_path() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("openpaygo-station").join("ledger.sqlite"))
        .ok_or_else(|| LedgerError::Io {
            context: "finding the data directory".into(),
            message: "the system reports no user data directory; pass --ledger FILE".into(),
        })
}

/// Check a serial: 1-16 of A-Z, a-z, 0-9 and '-' (what the device protocol accepts).
pub fn check_serial(serial: &str) -> Result<()> {
    let ok = (1..=16).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LedgerError::BadSerial(serial.to_string()))
    }
}

/// Parse a non-negative decimal with up to 3 decimals into thousandths ("12.5" → 12 500).
pub fn parse_milli(text: &str) -> Result<i64> {
    let bad = || LedgerError::BadAmount(text.to_string());
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty()
        || frac.len() > 3
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    for _ in frac.len()..3 {
        f *= 10;
    }
    int.checked_mul(1000)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(bad)
}

/// A unit's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Row written before the device is provisioned (see [`Ledger::begin_provisioning`]).
    Provisioning,
    /// Known but not yet holding a key.
    InStock,
    /// Holds its key; not assigned to a customer.
    Provisioned,
    /// Assigned to a customer; no token yet.
    Assigned,
    /// Tokens issued for its customer.
    Active,
    /// Unlocked for good (DISABLE_PAYG issued).
    Unlocked,
    /// Back from the customer.
    Returned,
    /// Lost, stolen or scrapped.
    WrittenOff,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 8] = [
        Status::Provisioning,
        Status::InStock,
        Status::Provisioned,
        Status::Assigned,
        Status::Active,
        Status::Unlocked,
        Status::Returned,
        Status::WrittenOff,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Provisioning => "provisioning",
            Status::InStock => "in_stock",
            Status::Provisioned => "provisioned",
            Status::Assigned => "assigned",
            Status::Active => "active",
            Status::Unlocked => "unlocked",
            Status::Returned => "returned",
            Status::WrittenOff => "written_off",
        }
    }

    /// Parse a stored name.
    pub fn parse(text: &str) -> Result<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| LedgerError::BadStatus(text.to_string()))
    }
}

/// A unit to add: by hand, by import, or through provisioning.
#[derive(Clone)]
pub struct NewUnit {
    /// Serial (1-16 of A-Z, a-z, 0-9, '-').
    pub serial: String,
    /// Model / board name.
    pub model: Option<String>,
    /// The device's secret key.
    pub key: Key,
    /// Starting code; `None` derives it from the key.
    pub starting_code: Option<u32>,
    /// The device's count (0 for a fresh device).
    pub count: u32,
    /// Restricted digit set.
    pub restricted: bool,
    /// Value divider (1-255).
    pub divider: u32,
}

impl std::fmt::Debug for NewUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUnit")
            .field("serial", &self.serial)
            .field("model", &self.model)
            .field("key", &"<redacted>")
            .field("starting_code", &self.starting_code)
            .field("count", &self.count)
            .field("restricted", &self.restricted)
            .field("divider", &self.divider)
            .finish()
    }
}

/// A pending provisioning (the row id of the unit in state `provisioning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PendingId(pub i64);

/// A pending provisioning, with the port it was started on when that was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingProvisioning {
    /// Row id.
    pub id: PendingId,
    /// The serial being provisioned.
    pub serial: String,
    /// The serial port the device was on.
    pub port: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
}

/// Ledger-wide settings: name and what it means.
pub const SETTINGS: [(&str, &str); 3] = [
    (
        "serial_pattern",
        "serial pattern for new devices, e.g. SN-{seq:06} or OPG{yyyy}-{seq:05}",
    ),
    (
        "tariffs",
        "named tariffs and the default for new units, JSON: {\"default\":\"Daily\",\"list\":[{\"name\":\"Daily\",\"days_per_unit\":\"0.01\",\"currency\":\"KES\"}]}",
    ),
    (
        "autolock_minutes",
        "minutes without activity after which the desktop app locks the ledger (1-1440)",
    ),
];

/// The serial pattern used when neither the command nor the ledger names one.
pub const DEFAULT_SERIAL_PATTERN: &str = "SN-{seq:06}";

fn check_setting(name: &str, value: Option<&str>) -> Result<()> {
    match (name, value) {
        ("serial_pattern", Some(p)) => check_serial(&format_serial(p, 1, year_now())?),
        ("tariffs", Some(v)) => settings::parse_tariffs(v).map(drop),
        ("autolock_minutes", Some(v)) => settings::parse_autolock(v).map(drop),
        (n, _) if SETTINGS.iter().any(|(s, _)| *s == n) => Ok(()),
        _ => Err(LedgerError::UnknownSetting(name.to_string())),
    }
}

/// What a token should do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IssueAction {
    /// Add days.
    Add(f64),
    /// Set the remaining days (needs an operator).
    Set(f64),
    /// Add the days a payment buys under the unit's tariff (money in thousandths).
    Amount(i64),
    /// Unlock for good (needs an operator).
    Unlock,
    /// Counter synchronisation (needs an operator).
    Sync,
}

/// An issuing request.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRequest {
    /// What the token does.
    pub action: IssueAction,
    /// Payment reference: the same one on the same unit returns the same token.
    pub payment_ref: Option<String>,
    /// Money received, in thousandths of the currency unit (recorded; `Amount` uses its own).
    pub amount_milli: Option<i64>,
    /// Who issues it.
    pub operator: Option<String>,
    /// Why (for unlock / sync / set; required with the supervisor PIN).
    pub reason: Option<String>,
    /// The supervisor PIN, required for unlock / sync / set when one is configured.
    pub supervisor_pin: Option<String>,
    /// Extended (12-digit) token.
    pub extended: bool,
}

impl IssueRequest {
    /// A plain request for `action`.
    pub fn new(action: IssueAction) -> Self {
        IssueRequest {
            action,
            payment_ref: None,
            amount_milli: None,
            operator: None,
            reason: None,
            supervisor_pin: None,
            extended: false,
        }
    }
}

/// A warning from the device twin, with advice for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// DEVICE_JUMP_TOO_FAR, DEVICE_WOULD_REJECT, UNLOCKED_IGNORES_ADD_TIME, TWIN_MISMATCH,
    /// PAYMENT_REF_REUSED.
    pub code: &'static str,
    /// What the device would do.
    pub message: String,
    /// What to do about it.
    pub advice: String,
}

/// An issued (or re-returned) token, as `paygo issue --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueOutcome {
    /// Token digits.
    pub token: String,
    /// Its count (the unit's new last count).
    pub count: u32,
    /// The unit's serial.
    pub unit: String,
    /// ADD_TIME, SET_TIME, DISABLE_PAYG or COUNTER_SYNC.
    #[serde(rename = "type")]
    pub token_type: String,
    /// Embedded value.
    pub value: u32,
    /// Days for time tokens.
    pub days: Option<f64>,
    /// Device-twin warnings.
    pub warnings: Vec<Warning>,
    /// True when the payment reference had already issued this token.
    pub idempotent: bool,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRecord {
    /// Count.
    pub count: u32,
    /// Type name.
    #[serde(rename = "type")]
    pub token_type: String,
    /// Embedded value.
    pub value: u32,
    /// Days for time tokens.
    pub days: Option<f64>,
    /// Digits.
    pub token: String,
    /// Payment reference.
    pub payment_ref: Option<String>,
    /// Money, thousandths.
    pub amount_milli: Option<i64>,
    /// Operator.
    pub operator: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Location.
    pub location: Option<String>,
}

/// One row of `paygo unit list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitSummary {
    /// Serial.
    pub serial: String,
    /// Model.
    pub model: Option<String>,
    /// Lifecycle state.
    pub status: String,
    /// Last issued count.
    pub count: u32,
    /// Customer name.
    pub customer: Option<String>,
    /// Customer phone.
    pub phone: Option<String>,
    /// When the credit ends if every token was entered when issued (Unix seconds).
    pub credit_until: Option<i64>,
    /// When the last token was issued (Unix seconds).
    pub last_token_at: Option<i64>,
}

/// `paygo unit show` (never the key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitInfo {
    /// Serial.
    pub serial: String,
    /// Model.
    pub model: Option<String>,
    /// Lifecycle state.
    pub status: String,
    /// Last issued count.
    pub count: u32,
    /// Last count confirmed by the device itself (provisioning, field read-out).
    pub device_count: Option<u32>,
    /// Starting code.
    pub starting_code: u32,
    /// Restricted digits.
    pub restricted: bool,
    /// Value divider.
    pub divider: u32,
    /// Whether the last state-changing token unlocked the device.
    pub payg_disabled: bool,
    /// Customer.
    pub customer: Option<Customer>,
    /// Days per currency unit.
    pub tariff_days_per_unit: Option<f64>,
    /// Notes.
    pub notes: Option<String>,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// The last (up to 10) tokens, newest first.
    pub recent_tokens: Vec<TokenRecord>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Filter and page for [`Ledger::list_units`].
#[derive(Debug, Clone, Default)]
pub struct UnitQuery {
    /// Only this status.
    pub status: Option<Status>,
    /// Substring of the serial, the customer's name or phone.
    pub search: Option<String>,
    /// Page, from 1.
    pub page: u32,
    /// Rows per page (1-1000; 0 means 50).
    pub page_size: u32,
    /// Sort column (ties broken by serial, in the same direction).
    pub sort: UnitSort,
    /// Descending order.
    pub descending: bool,
}

/// Columns [`Ledger::list_units`] sorts by; each has an index ending in the serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitSort {
    /// Serial.
    #[default]
    Serial,
    /// Lifecycle status (by its stored name).
    Status,
    /// Customer name, case-insensitive (unassigned units first when ascending).
    Customer,
    /// Credit end (units that never had a time token first when ascending).
    CreditUntil,
    /// Last token issued (units without tokens first when ascending).
    LastToken,
}

impl UnitSort {
    /// Every sort key.
    pub const ALL: [UnitSort; 5] = [
        UnitSort::Serial,
        UnitSort::Status,
        UnitSort::Customer,
        UnitSort::CreditUntil,
        UnitSort::LastToken,
    ];

    /// The name the CLI and the app use.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitSort::Serial => "serial",
            UnitSort::Status => "status",
            UnitSort::Customer => "customer",
            UnitSort::CreditUntil => "credit_until",
            UnitSort::LastToken => "last_token",
        }
    }

    /// Parse a name.
    pub fn parse(text: &str) -> Result<UnitSort> {
        UnitSort::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| LedgerError::BadSort(text.to_string()))
    }

    /// The ORDER BY terms (matching an index: never built from user text).
    fn order_by(self, descending: bool) -> String {
        let dir = if descending { "DESC" } else { "ASC" };
        let column = match self {
            UnitSort::Serial => return format!("u.serial {dir}"),
            UnitSort::Status => "u.status",
            UnitSort::Customer => "u.customer_name COLLATE NOCASE",
            UnitSort::CreditUntil => "u.credit_until",
            UnitSort::LastToken => "u.last_token_at",
        };
        format!("{column} {dir}, u.serial {dir}")
    }
}

/// A page of units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitPage {
    /// Matching units in total.
    pub total: u64,
    /// This page.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// Rows, by serial.
    pub units: Vec<UnitSummary>,
}

/// The open ledger. Opened with a passphrase it can seal and unseal keys; without, it can
/// read, verify, list and assign but not issue.
pub struct Ledger {
    conn: Connection,
    key: Option<SealKey>,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("unlocked", &self.key.is_some())
            .finish()
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // FULL: a committed token survives a power cut, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

const PIN_HASH_KEY: &str = "supervisor_pin_hash";
const PIN_SALT_KEY: &str = "supervisor_pin_salt";

/// Argon2id of `pin` under `salt`, with the ledger's own cost parameters.
fn pin_hash(conn: &Connection, pin: &str, salt: &[u8]) -> Result<Vec<u8>> {
    let params = KdfParams {
        m_kib: meta_u32(conn, "kdf_m_kib")?,
        t: meta_u32(conn, "kdf_t")?,
        p: meta_u32(conn, "kdf_p")?,
    };
    let key = SealKey::derive(&Passphrase::new(pin), salt, params)?;
    Ok(key.bytes().to_vec())
}

/// Whether `pin` matches the stored supervisor PIN (false when none is set).
fn pin_matches(conn: &Connection, pin: &str) -> Result<bool> {
    let (Some(hash), Some(salt)) = (meta_get(conn, PIN_HASH_KEY)?, meta_get(conn, PIN_SALT_KEY)?)
    else {
        return Ok(false);
    };
    let got = pin_hash(conn, pin, &salt)?;
    // Constant-time comparison.
    Ok(
        got.len() == hash.len()
            && got.iter().zip(&hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0,
    )
}

fn meta_u32(conn: &Connection, key: &str) -> Result<u32> {
    let raw =
        meta_get(conn, key)?.ok_or_else(|| LedgerError::Corrupt(format!("meta {key} missing")))?;
    String::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LedgerError::Corrupt(format!("meta {key} unreadable")))
}

/// Owner-only file permissions (defence in depth: the keys are sealed anyway). SQLite gives
/// the -wal and -shm files the database file's permissions.
fn restrict_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            LedgerError::Io {
                context: format!("restricting the permissions of {}", path.display()),
                message: e.to_string(),
            }
        })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A unit row as issuing needs it.
struct UnitRow {
    id: i64,
    serial: String,
    status: Status,
    starting_code: u32,
    key_sealed: Vec<u8>,
    key_nonce: Vec<u8>,
    count: u32,
    used_mask: u16,
    device_count: Option<u32>,
    device_mask: u16,
    restricted: bool,
    divider: u32,
    payg_disabled: bool,
    tariff_millidays: Option<i64>,
}

const UNIT_COLUMNS: &str = "id, serial, status, starting_code, key_sealed, key_nonce, count, \
    used_mask, device_count, device_mask, restricted, divider, payg_disabled, tariff_millidays";

fn unit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(UnitRow, String)> {
    let status: String = r.get(2)?;
    Ok((
        UnitRow {
            id: r.get(0)?,
            serial: r.get(1)?,
            status: Status::Provisioning,
            starting_code: r.get(3)?,
            key_sealed: r.get(4)?,
            key_nonce: r.get(5)?,
            count: r.get(6)?,
            used_mask: r.get::<_, i64>(7)? as u16,
            device_count: r.get(8)?,
            device_mask: r.get::<_, i64>(9)? as u16,
            restricted: r.get(10)?,
            divider: r.get(11)?,
            payg_disabled: r.get(12)?,
            tariff_millidays: r.get(13)?,
        },
        status,
    ))
}

fn load_unit(conn: &Connection, serial: &str) -> Result<UnitRow> {
    let found = conn
        .query_row(
            &format!("SELECT {UNIT_COLUMNS} FROM units WHERE serial = ?1"),
            [serial],
            unit_row,
        )
        .optional()?;
    let (mut row, status) = found.ok_or_else(|| LedgerError::UnknownUnit(serial.to_string()))?;
    row.status = Status::parse(&status)?;
    Ok(row)
}

fn kind_of(extended: bool) -> TokenKind {
    if extended {
        TokenKind::Extended
    } else {
        TokenKind::Standard
    }
}

fn kind_code(kind: TokenKind) -> i64 {
    match kind {
        TokenKind::Standard => 0,
        TokenKind::Extended => 1,
    }
}

/// Keep the lagging chain position between 128 and 256 counts behind the head, so that the
/// device twin can resume the decoder from it (the decoder only resumes below its window).
const LAG_MIN: u32 = 128;
const LAG_MAX: u32 = 256;

/// What the ledger knows of where a chain repeats: the cycle once found (it never changes),
/// or that no cycle with `max(start + 1, period) <= checked` exists.
#[derive(Debug, Clone, Copy, Default)]
struct ChainCycle {
    found: Option<ft::Cycle>,
    checked: u32,
}

/// Longest unit notes, in characters (a few paragraphs: where the unit is, who to call).
pub const NOTES_MAX: usize = 2_000;

/// How many counts later a repeat still matters. A device's count moves by one or two per
/// token, so 10 000 counts is a token a day for over 13 years; a token that comes back only
/// after that is as good as unique (chains typically repeat after tens of thousands of counts).
const REPEAT_HORIZON: u32 = 10_000;

impl ChainCycle {
    /// `self`, or a new search when `self` does not cover a token at `count`: its count + 100
    /// (a counter-sync token's reach) and `REPEAT_HORIZON`. A new search covers at least
    /// twice that count, so a growing count re-searches a value's chain only at each doubling.
    fn known_to(self, count: u32, find: impl FnOnce(u32) -> Option<ft::Cycle>) -> ChainCycle {
        let need = count.saturating_add(100).max(REPEAT_HORIZON);
        if self.found.is_some() || self.checked >= need {
            return self;
        }
        // Brent needs 3 steps a count (`find_cycle`); what it covers is what it was given.
        let cover = count.saturating_add(100).saturating_mul(2).max(need);
        let budget = cover.saturating_mul(3);
        ChainCycle {
            found: find(budget),
            checked: budget / 3,
        }
    }

    /// The cycle a token at `count` would lie on, if its digits come back within
    /// `REPEAT_HORIZON` counts.
    fn repeats_at(self, count: u32) -> Option<ft::Cycle> {
        self.found
            .filter(|c| c.start <= count && c.period <= REPEAT_HORIZON)
    }
}

impl Ledger {
    /// Create a new ledger at `path` (which must not exist) protected by `pass`.
    pub fn create(path: &Path, pass: &Passphrase, params: KdfParams) -> Result<Ledger> {
        if path.exists() {
            return Err(LedgerError::AlreadyExists(path.to_path_buf()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LedgerError::Io {
                context: format!("creating {}", dir.display()),
                message: e.to_string(),
            })?;
        }
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        restrict_permissions(path)?;
        configure(&conn)?;
        let mut salt = [0u8; 16];
        seal::random(&mut salt)?;
        let key = SealKey::derive(pass, &salt, params)?;
        let (verifier, vnonce) = key.make_verifier()?;
        // Schema, meta and the first audit row in one transaction: a crash during `init`
        // leaves an empty file (NOT_A_LEDGER), never a ledger without its key parameters.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::migrate_in(&tx)?;
        let put = |k: &str, v: &[u8]| -> Result<()> {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
            Ok(())
        };
        put("format", FORMAT.as_bytes())?;
        put("kdf", b"argon2id")?;
        put("kdf_m_kib", params.m_kib.to_string().as_bytes())?;
        put("kdf_t", params.t.to_string().as_bytes())?;
        put("kdf_p", params.p.to_string().as_bytes())?;
        put("kdf_salt", &salt)?;
        put("verifier", &verifier)?;
        put("verifier_nonce", &vnonce)?;
        audit::append(
            &tx,
            None,
            "ledger_init",
            None,
            &json!({"schema": SCHEMA_VERSION, "kdf": {"m_kib": params.m_kib, "t": params.t, "p": params.p}}),
        )?;
        tx.commit()?;
        Ok(Ledger {
            conn,
            key: Some(key),
            path: path.to_path_buf(),
        })
    }

    /// Open an existing ledger; with `pass` it can seal and unseal keys.
    pub fn open(path: &Path, pass: Option<&Passphrase>) -> Result<Ledger> {
        if !path.is_file() {
            return Err(LedgerError::NotFound(path.to_path_buf()));
        }
        let mut conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        configure(&conn)?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            return Err(LedgerError::NotALedger(path.to_path_buf()));
        }
        schema::migrate(&mut conn)?;
        if meta_get(&conn, "format")?.as_deref() != Some(FORMAT.as_bytes()) {
            return Err(LedgerError::NotALedger(path.to_path_buf()));
        }
        let mut ledger = Ledger {
            conn,
            key: None,
            path: path.to_path_buf(),
        };
        if let Some(pass) = pass {
            ledger.unlock(pass)?;
        }
        Ok(ledger)
    }

    /// Derive the sealing key from `pass` and check it against the verifier.
    pub fn unlock(&mut self, pass: &Passphrase) -> Result<()> {
        let key = self
            .derive_if_matches(pass)?
            .ok_or(LedgerError::WrongPassphrase)?;
        self.key = Some(key);
        Ok(())
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn seal_key(&self) -> Result<&SealKey> {
        self.key.as_ref().ok_or(LedgerError::Locked)
    }

    /// Recompute the audit chain and check the token invariants.
    pub fn verify(&self) -> Result<VerifyReport> {
        audit::verify(&self.conn)
    }

    /// Append an audit event (for colleagues' features: import, export, flashing...).
    pub fn record_event(
        &mut self,
        actor: Option<&str>,
        action: &str,
        unit: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<i64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = audit::append(&tx, actor, action, unit, detail)?;
        tx.commit()?;
        Ok(seq)
    }

    /// The audit log, in order.
    pub fn audit_rows(&self) -> Result<Vec<AuditRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, actor, action, unit, detail FROM audit ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(AuditRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                unit: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_unit(
        key: Option<&SealKey>,
        tx: &rusqlite::Transaction<'_>,
        unit: &NewUnit,
        status: Status,
        device_count: Option<u32>,
    ) -> Result<i64> {
        check_serial(&unit.serial)?;
        crate::token::check_divider(unit.divider)?;
        let key = key.ok_or(LedgerError::Locked)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM units WHERE serial = ?1)",
            [&unit.serial],
            |r| r.get(0),
        )?;
        if exists {
            return Err(LedgerError::DuplicateSerial(unit.serial.clone()));
        }
        let (sealed, nonce) = key.seal_device_key(&unit.serial, &unit.key)?;
        let starting_code = unit
            .starting_code
            .unwrap_or_else(|| ft::starting_code_from_key(&unit.key));
        let t = now();
        tx.execute(
            "INSERT INTO units (serial, model, starting_code, key_sealed, key_nonce, count, \
             used_mask, device_count, device_mask, restricted, divider, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 65535, ?7, 65535, ?8, ?9, ?10, ?11, ?11)",
            params![
                unit.serial,
                unit.model,
                starting_code,
                sealed,
                nonce.to_vec(),
                unit.count,
                device_count,
                unit.restricted,
                unit.divider,
                status.as_str(),
                t
            ],
        )?;
        Ok(tx.last_insert_rowid())
    }

    /// Add one existing device (already holding `unit.key`) as `provisioned`.
    pub fn add_unit(&mut self, unit: &NewUnit, operator: Option<&str>) -> Result<()> {
        self.add_units(std::slice::from_ref(unit), operator)
            .map(|_| ())
    }

    /// Add many existing devices in one transaction (all or none); one audit row each.
    /// Returns how many were added. For imports.
    pub fn add_units(&mut self, units: &[NewUnit], operator: Option<&str>) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for unit in units {
            Self::insert_unit(
                self.key.as_ref(),
                &tx,
                unit,
                Status::Provisioned,
                Some(unit.count),
            )?;
            audit::append(
                &tx,
                operator,
                "unit_add",
                Some(&unit.serial),
                &json!({"count": unit.count, "restricted": unit.restricted, "divider": unit.divider, "model": unit.model}),
            )?;
        }
        tx.commit()?;
        Ok(units.len())
    }

    /// Step 1 of provisioning: store the unit (state `provisioning`) with its sealed key and
    /// COMMIT, before anything is written to the device. A crash after this never loses a
    /// key the device may hold.
    pub fn begin_provisioning(
        &mut self,
        unit: &NewUnit,
        operator: Option<&str>,
    ) -> Result<PendingId> {
        self.begin_provisioning_on(unit, None, operator)
    }

    /// [`Ledger::begin_provisioning`], remembering (in the audit row) the serial port the
    /// device is on, so that recovery after a crash knows which port to look at.
    pub fn begin_provisioning_on(
        &mut self,
        unit: &NewUnit,
        port: Option<&str>,
        operator: Option<&str>,
    ) -> Result<PendingId> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = Self::insert_unit(self.key.as_ref(), &tx, unit, Status::Provisioning, None)?;
        let mut detail = json!({"id": id, "count": unit.count, "model": unit.model});
        if let Some(port) = port {
            detail["port"] = json!(port);
        }
        audit::append(
            &tx,
            operator,
            "provision_begin",
            Some(&unit.serial),
            &detail,
        )?;
        tx.commit()?;
        Ok(PendingId(id))
    }

    fn pending_serial(tx: &rusqlite::Transaction<'_>, id: PendingId) -> Result<String> {
        tx.query_row(
            "SELECT serial FROM units WHERE id = ?1 AND status = 'provisioning'",
            [id.0],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(LedgerError::UnknownPending(id.0))
    }

    /// Step 2: the device confirmed its key (challenge passed) and reported `device_count`.
    pub fn complete_provisioning(
        &mut self,
        id: PendingId,
        device_count: u32,
        operator: Option<&str>,
    ) -> Result<String> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let serial = Self::pending_serial(&tx, id)?;
        tx.execute(
            "UPDATE units SET status = 'provisioned', device_count = ?2, count = MAX(count, ?2), \
             updated_at = ?3 WHERE id = ?1",
            params![id.0, device_count, now()],
        )?;
        audit::append(
            &tx,
            operator,
            "provision_complete",
            Some(&serial),
            &json!({"id": id.0, "device_count": device_count}),
        )?;
        tx.commit()?;
        Ok(serial)
    }

    /// Provisioning failed before the device took the key: delete the pending row (audited).
    pub fn abort_provisioning(
        &mut self,
        id: PendingId,
        reason: &str,
        operator: Option<&str>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let serial = Self::pending_serial(&tx, id)?;
        tx.execute("DELETE FROM units WHERE id = ?1", [id.0])?;
        audit::append(
            &tx,
            operator,
            "provision_abort",
            Some(&serial),
            &json!({"id": id.0, "reason": reason}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Pending provisionings (e.g. left by a crash), oldest first.
    pub fn pending_provisionings(&self) -> Result<Vec<(PendingId, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, serial FROM units WHERE status = 'provisioning' ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((PendingId(r.get(0)?), r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Pending provisionings with the port each was started on (when it was recorded by
    /// [`Ledger::begin_provisioning_on`]), oldest first.
    pub fn pending_provisionings_detail(&self) -> Result<Vec<PendingProvisioning>> {
        let mut stmt = self.conn.prepare(
            "SELECT u.id, u.serial, u.created_at, \
             (SELECT json_extract(a.detail, '$.port') FROM audit a \
              WHERE a.action = 'provision_begin' AND a.unit = u.serial \
              AND json_extract(a.detail, '$.id') = u.id ORDER BY a.seq DESC LIMIT 1) \
             FROM units u WHERE u.status = 'provisioning' ORDER BY u.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingProvisioning {
                id: PendingId(r.get(0)?),
                serial: r.get(1)?,
                started_at: r.get(2)?,
                port: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A ledger-wide setting (see [`SETTINGS`]), `None` when unset.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        check_setting(name, None)?;
        Ok(meta_get(&self.conn, &format!("setting:{name}"))?
            .and_then(|v| String::from_utf8(v).ok()))
    }

    /// Set (or with `None` clear) a ledger-wide setting; the value is checked and audited.
    pub fn set_setting(
        &mut self,
        name: &str,
        value: Option<&str>,
        operator: Option<&str>,
    ) -> Result<()> {
        check_setting(name, value)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = format!("setting:{name}");
        match value {
            Some(v) => tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v.as_bytes()],
            )?,
            None => tx.execute("DELETE FROM meta WHERE key = ?1", [&key])?,
        };
        audit::append(
            &tx,
            operator,
            "setting",
            None,
            &json!({"name": name, "value": value}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Set the supervisor PIN (4-8 digits) that unlock, sync and set-time tokens then need.
    /// Stored as an Argon2id hash with its own salt; the audit row never holds the PIN.
    pub fn set_supervisor_pin(&mut self, pin: &str, operator: Option<&str>) -> Result<()> {
        if self.key.is_none() {
            return Err(LedgerError::Locked);
        }
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LedgerError::BadSupervisorPin);
        }
        let mut salt = [0u8; 16];
        seal::random(&mut salt)?;
        let hash = pin_hash(&self.conn, pin, &salt)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let replaced = meta_get(&tx, PIN_HASH_KEY)?.is_some();
        for (k, v) in [(PIN_SALT_KEY, &salt[..]), (PIN_HASH_KEY, &hash[..])] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        audit::append(
            &tx,
            operator,
            "supervisor_pin",
            None,
            &json!({"set": true, "replaced": replaced}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether `pin` is the configured supervisor PIN (false when none is set).
    pub fn verify_supervisor_pin(&self, pin: &str) -> Result<bool> {
        pin_matches(&self.conn, pin)
    }

    /// Whether a supervisor PIN is configured.
    pub fn has_supervisor_pin(&self) -> Result<bool> {
        Ok(meta_get(&self.conn, PIN_HASH_KEY)?.is_some())
    }

    /// The next serial for `pattern` (`SN-{seq:06}`, `OPG{yyyy}-{seq:05}`). Each pattern has
    /// its own sequence in `meta`; a number is never handed out twice, and serials already in
    /// the ledger are skipped.
    pub fn next_serial(&mut self, pattern: &str) -> Result<String> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let meta_key = format!("serial_seq:{pattern}");
        let mut seq: u64 = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [&meta_key], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .and_then(|v| String::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        let serial = loop {
            seq += 1;
            let s = format_serial(pattern, seq, year_now())?;
            check_serial(&s)?;
            let taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM units WHERE serial = ?1)",
                [&s],
                |r| r.get(0),
            )?;
            if !taken {
                break s;
            }
        };
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![meta_key, seq.to_string().into_bytes()],
        )?;
        tx.commit()?;
        Ok(serial)
    }

    /// The unsealed key of a unit (for provisioning and challenge checks). Never print it.
    pub fn unit_key(&self, serial: &str) -> Result<DeviceKey> {
        let row = load_unit(&self.conn, serial)?;
        self.seal_key()?
            .open_device_key(&row.serial, &row.key_sealed, &row.key_nonce)
    }

    /// Record the count (and used mask) read from the device itself.
    pub fn record_device_count(
        &mut self,
        serial: &str,
        count: u32,
        used_mask: u16,
        operator: Option<&str>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_unit(&tx, serial)?;
        tx.execute(
            "UPDATE units SET device_count = ?2, device_mask = ?3, updated_at = ?4 WHERE id = ?1",
            params![row.id, count, used_mask, now()],
        )?;
        audit::append(
            &tx,
            operator,
            "device_count",
            Some(serial),
            &json!({"count": count, "ledger_count": row.count}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Assign a unit to a (new) customer, optionally with a tariff (days per currency unit).
    pub fn assign(
        &mut self,
        serial: &str,
        customer: &Customer,
        tariff_days_per_unit: Option<f64>,
        operator: Option<&str>,
    ) -> Result<()> {
        let tariff = match tariff_days_per_unit {
            Some(d) if d.is_finite() && d >= 0.0 => Some((d * 1000.0).round() as i64),
            Some(d) => return Err(LedgerError::BadAmount(d.to_string())),
            None => None,
        };
        // A unit without a tariff of its own gets the ledger's default tariff (settings).
        let default = match (tariff, self.tariffs()?.default_tariff()) {
            (None, Some(d)) => Some((d.name.clone(), parse_milli(&d.days_per_unit)?)),
            _ => None,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_unit(&tx, serial)?;
        let default = default.filter(|_| row.tariff_millidays.is_none());
        let tariff = tariff.or(default.as_ref().map(|d| d.1));
        if !matches!(
            row.status,
            Status::InStock
                | Status::Provisioned
                | Status::Assigned
                | Status::Returned
                | Status::Active
        ) {
            return Err(LedgerError::BadState {
                serial: serial.to_string(),
                status: row.status.as_str().to_string(),
                what: "assigning",
            });
        }
        let t = now();
        tx.execute(
            "INSERT INTO customers (name, phone, location, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![customer.name, customer.phone, customer.location, t],
        )?;
        let cid = tx.last_insert_rowid();
        let status = if row.status == Status::Active {
            Status::Active
        } else {
            Status::Assigned
        };
        tx.execute(
            "UPDATE units SET customer_id = ?2, tariff_millidays = COALESCE(?3, tariff_millidays), \
             status = ?4, updated_at = ?5 WHERE id = ?1",
            params![row.id, cid, tariff, status.as_str(), t],
        )?;
        audit::append(
            &tx,
            operator,
            "assign",
            Some(serial),
            &json!({"customer": customer.name, "customer_id": cid, "tariff_millidays": tariff,
                    "default_tariff": default.map(|d| d.0)}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Move a unit to `returned`, `written_off`, `in_stock`... (audited, with a reason).
    pub fn set_status(
        &mut self,
        serial: &str,
        status: Status,
        operator: &str,
        reason: &str,
    ) -> Result<()> {
        if status == Status::Provisioning {
            return Err(LedgerError::BadStatus(status.as_str().into()));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_unit(&tx, serial)?;
        if row.status == Status::Provisioning {
            return Err(LedgerError::BadState {
                serial: serial.into(),
                status: row.status.as_str().into(),
                what: "changing the status",
            });
        }
        tx.execute(
            "UPDATE units SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![row.id, status.as_str(), now()],
        )?;
        audit::append(
            &tx,
            Some(operator),
            "status",
            Some(serial),
            &json!({"from": row.status.as_str(), "to": status.as_str(), "reason": reason}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replace a unit's free-text notes (blank clears them). Audited with who changed them and
    /// the lengths, not the text: the audit log is append-only and notes may name people.
    pub fn set_notes(&mut self, serial: &str, notes: &str, operator: Option<&str>) -> Result<()> {
        let notes = notes.trim();
        let got = notes.chars().count();
        if got > NOTES_MAX {
            return Err(LedgerError::NotesTooLong {
                max: NOTES_MAX,
                got,
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_unit(&tx, serial)?;
        let before: Option<String> =
            tx.query_row("SELECT notes FROM units WHERE id = ?1", [row.id], |r| {
                r.get(0)
            })?;
        let notes = (!notes.is_empty()).then_some(notes);
        if before.as_deref() == notes {
            return Ok(());
        }
        tx.execute(
            "UPDATE units SET notes = ?2, updated_at = ?3 WHERE id = ?1",
            params![row.id, notes, now()],
        )?;
        audit::append(
            &tx,
            operator,
            "notes",
            Some(serial),
            &json!({
                "from_chars": before.as_deref().map_or(0, |b| b.chars().count()),
                "to_chars": got,
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Issue a token: in one IMMEDIATE transaction read the unit, compute the token (resuming
    /// the chain from the cache), store it, move the unit's count and cache, audit, COMMIT;
    /// only then return it. A payment reference already used on this unit returns the token
    /// it issued (`idempotent: true`) and issues nothing.
    pub fn issue(&mut self, serial: &str, req: &IssueRequest) -> Result<IssueOutcome> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_unit(&tx, serial)?;
        if let Some(pref) = &req.payment_ref {
            let found = tx
                .query_row(
                    "SELECT count, type, value, days, token, amount_milli FROM tokens WHERE unit_id = ?1 AND payment_ref = ?2",
                    params![row.id, pref],
                    |r| {
                        Ok((
                            r.get::<_, u32>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, Option<f64>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                        ))
                    },
                )
                .optional()?;
            if let Some((count, token_type, value, days, token, _amount)) = found {
                return Ok(IssueOutcome {
                    token,
                    count,
                    unit: row.serial,
                    token_type,
                    value,
                    days,
                    warnings: Vec::new(),
                    idempotent: true,
                });
            }
        }
        if matches!(
            row.status,
            Status::Provisioning | Status::Returned | Status::WrittenOff
        ) {
            return Err(LedgerError::BadState {
                serial: row.serial,
                status: row.status.as_str().into(),
                what: "issuing tokens",
            });
        }
        let needs_operator = match req.action {
            IssueAction::Unlock => Some("DISABLE_PAYG"),
            IssueAction::Sync => Some("COUNTER_SYNC"),
            IssueAction::Set(_) => Some("SET_TIME"),
            _ => None,
        };
        if let Some(what) = needs_operator {
            if req.operator.as_deref().is_none_or(|o| o.trim().is_empty()) {
                return Err(LedgerError::OperatorRequired(what));
            }
        }
        let supervised = match needs_operator {
            Some(what) if meta_get(&tx, PIN_HASH_KEY)?.is_some() => {
                let pin = req
                    .supervisor_pin
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .ok_or(LedgerError::SupervisorPinRequired(what))?;
                if !pin_matches(&tx, pin)? {
                    return Err(LedgerError::WrongSupervisorPin);
                }
                if req.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    return Err(LedgerError::ReasonRequired(what));
                }
                true
            }
            _ => false,
        };
        let (token_type, days) = match req.action {
            IssueAction::Add(d) => (TokenType::AddTime, Some(d)),
            IssueAction::Set(d) => (TokenType::SetTime, Some(d)),
            IssueAction::Amount(milli) => {
                if milli < 0 {
                    return Err(LedgerError::BadAmount(milli.to_string()));
                }
                let tariff = row
                    .tariff_millidays
                    .ok_or_else(|| LedgerError::NoTariff(row.serial.clone()))?;
                (TokenType::AddTime, Some(amount_days(milli, tariff)))
            }
            IssueAction::Unlock => (TokenType::DisablePayg, None),
            IssueAction::Sync => (TokenType::CounterSync, None),
        };
        let value = days
            .map(|d| crate::token::scale_days(d, row.divider))
            .transpose()?;
        let kind = kind_of(req.extended);
        let key = self
            .key
            .as_ref()
            .ok_or(LedgerError::Locked)?
            .open_device_key(&row.serial, &row.key_sealed, &row.key_nonce)?;
        let key = key.expose();
        let sc = row.starting_code;
        let embedded = match token_type {
            TokenType::DisablePayg => ft::VALUE_DISABLE_PAYG,
            TokenType::CounterSync => ft::VALUE_COUNTER_SYNC,
            _ => value.unwrap_or(0),
        };
        let field = ft::field_for(kind, sc, embedded);
        let cached: Option<(ChainPos, ChainPos, ChainCycle)> = tx
            .query_row(
                "SELECT count, code, lag_count, lag_code, cycle_start, cycle_period, cycle_checked FROM chain_cache WHERE unit_id = ?1 AND kind = ?2 AND field = ?3",
                params![row.id, kind_code(kind), field as i64],
                |r| {
                    Ok((
                        ChainPos { count: r.get(0)?, code: r.get::<_, i64>(1)? as u64 },
                        ChainPos { count: r.get(2)?, code: r.get::<_, i64>(3)? as u64 },
                        ChainCycle {
                            found: match (r.get(4)?, r.get(5)?) {
                                (Some(start), Some(period)) => Some(ft::Cycle { start, period }),
                                _ => None,
                            },
                            checked: r.get(6)?,
                        },
                    ))
                },
            )
            .optional()?;
        let g = ft::generate(
            key,
            sc,
            row.count,
            token_type,
            value,
            kind,
            cached.map(|c| c.0),
        )?;
        let cycle =
            ChainCycle::known_to(cached.map(|c| c.2).unwrap_or_default(), g.count, |budget| {
                ft::find_cycle(key, kind, sc, field, budget)
            });
        if let Some(c) = cycle.repeats_at(g.count) {
            // Whether another value's token at `count` would be safe (a fresh search: refusals
            // are rare, so their alternatives are not cached).
            let safe = |value: u32, count: u32| {
                let field = ft::field_for(kind, sc, value);
                ChainCycle::default()
                    .known_to(count, |budget| ft::find_cycle(key, kind, sc, field, budget))
                    .repeats_at(count)
                    .is_none()
            };
            let day = row.divider;
            let v = g.value;
            let days_of = |raw: u32| f64::from(raw) / f64::from(day);
            let advice = match token_type {
                TokenType::AddTime
                    if v > day
                        && safe(v - day, g.count)
                        && ft::next_count(g.count, TokenType::AddTime)
                            .is_ok_and(|next| safe(day, next)) =>
                {
                    format!(
                        "Issue {} days now, then 1 day as a second token (both checked).",
                        days_of(v - day)
                    )
                }
                TokenType::SetTime if v > day && safe(v - day, g.count) => {
                    format!("Set {} days instead (checked).", days_of(v - day))
                }
                TokenType::SetTime if v + day <= kind.max_time_value() && safe(v + day, g.count) => {
                    format!("Set {} days instead (checked).", days_of(v + day))
                }
                TokenType::AddTime | TokenType::SetTime => {
                    "Issue a slightly different number of days: each value has its own chain.".into()
                }
                TokenType::DisablePayg => {
                    "This unit cannot take an unlock token safely (every later unlock token lies on the same chain); issue the longest SET_TIME instead (995 ÷ the unit's divider days).".into()
                }
                TokenType::CounterSync => {
                    "Read the device's count over UART instead (paygo device readout) and record it; no sync token is needed for that.".into()
                }
            };
            return Err(LedgerError::TokenWouldRepeat {
                serial: row.serial,
                period: c.period,
                what: match days {
                    Some(d) => format!("{d}-day {}", token_type.name()),
                    None => token_type.name().to_string(),
                },
                count: g.count,
                advice,
            });
        }
        let text = TokenText::new(g.number, kind, row.restricted)
            .as_str()
            .to_string();
        let lag_before = cached
            .map(|c| c.1)
            .unwrap_or_else(|| ft::Chain::new(key, kind, sc, field).pos());
        let mut lag = lag_before;
        if g.count >= lag.count.saturating_add(LAG_MAX) {
            let mut c = ft::Chain::new(key, kind, sc, field).resume(lag);
            c.seek(g.count - LAG_MIN);
            lag = c.pos();
        }

        // The device twin.
        let mut warnings = Vec::new();
        let checkpoint = Checkpoint {
            kind,
            field: field as u32,
            pos: lag_before,
        };
        let mut ledger_state = UsedCounts::from_parts(row.count, row.used_mask);
        let d = ft::decode(
            key,
            sc,
            &mut ledger_state,
            g.number,
            kind,
            &mut [Some(checkpoint)],
        );
        let (new_count, new_mask) = match d.outcome {
            Outcome::Accepted { count, .. } if count == g.count => {
                (ledger_state.count(), ledger_state.mask())
            }
            other => {
                warnings.push(Warning {
                    code: "TWIN_MISMATCH",
                    message: format!("a device that entered every earlier token would not accept this one ({other:?})"),
                    advice: "read the device's count over UART and record it; issue a counter-sync token if it differs".into(),
                });
                (g.count, 0)
            }
        };
        if let Some(dc) = row.device_count.filter(|&dc| dc != row.count) {
            let sync = token_type == TokenType::CounterSync;
            let reach = if sync && kind == TokenKind::Standard {
                100
            } else {
                64
            };
            if g.count > dc.saturating_add(reach) {
                warnings.push(Warning {
                    code: "DEVICE_JUMP_TOO_FAR",
                    message: format!(
                        "the device was last seen at count {dc}; this token's count {} is {} ahead (the device accepts at most {reach}) so it is rejected unless the tokens issued since were entered",
                        g.count,
                        g.count - dc
                    ),
                    advice: "ask whether the earlier tokens were entered, read the device count over UART (paygo device status) or issue a counter-sync token (--sync)".into(),
                });
            } else {
                let mut device_state = UsedCounts::from_parts(dc, row.device_mask);
                let d = ft::decode(
                    key,
                    sc,
                    &mut device_state,
                    g.number,
                    kind,
                    &mut [Some(checkpoint)],
                );
                if !matches!(d.outcome, Outcome::Accepted { .. }) {
                    warnings.push(Warning {
                        code: "DEVICE_WOULD_REJECT",
                        message: format!("a device at count {dc} (its last read-out) would reject this token ({:?})", d.outcome),
                        advice: if dc > row.count {
                            "the device is ahead of the ledger, so tokens were issued outside it: find them before issuing more, and read the device count over UART".into()
                        } else {
                            "read the device count over UART, or issue a counter-sync token (--sync)".into()
                        },
                    });
                }
            }
        }
        if row.payg_disabled && token_type == TokenType::AddTime {
            warnings.push(Warning {
                code: "UNLOCKED_IGNORES_ADD_TIME",
                message: "the unit was unlocked (DISABLE_PAYG): the device accepts ADD_TIME but it changes nothing".into(),
                advice: "issue a SET_TIME token (--set DAYS, needs an operator) to put the unit back on pay-as-you-go".into(),
            });
        }
        if let Some(pref) = &req.payment_ref {
            let elsewhere: Option<String> = tx
                .query_row(
                    "SELECT u.serial FROM tokens t JOIN units u ON u.id = t.unit_id WHERE t.payment_ref = ?1 LIMIT 1",
                    [pref],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(other) = elsewhere {
                warnings.push(Warning {
                    code: "PAYMENT_REF_REUSED",
                    message: format!(
                        "payment reference {pref:?} already issued a token for unit {other}"
                    ),
                    advice: "check that the payment is not counted twice".into(),
                });
            }
        }

        let days_out = match token_type {
            TokenType::AddTime | TokenType::SetTime => {
                Some(f64::from(g.value) / f64::from(row.divider))
            }
            _ => None,
        };
        let amount = match req.action {
            IssueAction::Amount(m) => Some(m),
            _ => req.amount_milli,
        };
        let t = now();
        tx.execute(
            "INSERT INTO tokens (unit_id, count, type, value, days, extended, token, payment_ref, \
             amount_milli, operator, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![row.id, g.count, token_type.name(), g.value, days_out, req.extended, text, req.payment_ref, amount, req.operator, req.reason, t],
        )?;
        tx.execute(
            "INSERT INTO chain_cache (unit_id, kind, field, count, code, lag_count, lag_code, cycle_start, cycle_period, cycle_checked) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (unit_id, kind, field) DO UPDATE SET \
             count = excluded.count, code = excluded.code, lag_count = excluded.lag_count, lag_code = excluded.lag_code, \
             cycle_start = excluded.cycle_start, cycle_period = excluded.cycle_period, cycle_checked = excluded.cycle_checked",
            params![row.id, kind_code(kind), field as i64, g.pos.count, g.pos.code as i64, lag.count, lag.code as i64,
                    cycle.found.map(|c| c.start), cycle.found.map(|c| c.period), cycle.checked],
        )?;
        let (payg_disabled, status) = match token_type {
            TokenType::DisablePayg => (true, Status::Unlocked),
            TokenType::SetTime if row.status == Status::Unlocked => (false, Status::Active),
            TokenType::SetTime => (false, row.status),
            _ => (row.payg_disabled, row.status),
        };
        let status = if status == Status::Assigned {
            Status::Active
        } else {
            status
        };
        tx.execute(
            "UPDATE units SET count = ?2, used_mask = ?3, payg_disabled = ?4, status = ?5, updated_at = ?6 WHERE id = ?1",
            params![row.id, new_count.max(g.count), new_mask, payg_disabled, status.as_str(), t],
        )?;
        audit::append(
            &tx,
            req.operator.as_deref(),
            "issue",
            Some(&row.serial),
            &json!({"count": g.count, "token": text, "type": token_type.name(), "value": g.value,
                    "payment_ref": req.payment_ref, "amount_milli": amount, "reason": req.reason,
                    "supervised": supervised,
                    "warnings": warnings.iter().map(|w| w.code).collect::<Vec<_>>()}),
        )?;
        tx.commit()?;
        Ok(IssueOutcome {
            token: text,
            count: g.count,
            unit: row.serial,
            token_type: token_type.name().to_string(),
            value: g.value,
            days: days_out,
            warnings,
            idempotent: false,
        })
    }

    /// Every token of a unit, by count.
    pub fn tokens(&self, serial: &str) -> Result<Vec<TokenRecord>> {
        let row = load_unit(&self.conn, serial)?;
        self.token_rows(row.id, u32::MAX, false)
    }

    fn token_rows(&self, unit_id: i64, limit: u32, newest_first: bool) -> Result<Vec<TokenRecord>> {
        let order = if newest_first { "DESC" } else { "ASC" };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT count, type, value, days, token, payment_ref, amount_milli, operator, created_at \
             FROM tokens WHERE unit_id = ?1 ORDER BY count {order} LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![unit_id, i64::from(limit)], |r| {
            Ok(TokenRecord {
                count: r.get(0)?,
                token_type: r.get(1)?,
                value: r.get(2)?,
                days: r.get(3)?,
                token: r.get(4)?,
                payment_ref: r.get(5)?,
                amount_milli: r.get(6)?,
                operator: r.get(7)?,
                created_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One unit, without its key.
    pub fn unit(&self, serial: &str) -> Result<UnitInfo> {
        let row = load_unit(&self.conn, serial)?;
        let (model, notes, created_at, updated_at, customer): (
            Option<String>,
            Option<String>,
            i64,
            i64,
            Option<Customer>,
        ) = self.conn.query_row(
            "SELECT u.model, u.notes, u.created_at, u.updated_at, c.name, c.phone, c.location \
                 FROM units u LEFT JOIN customers c ON c.id = u.customer_id WHERE u.id = ?1",
            [row.id],
            |r| {
                let name: Option<String> = r.get(4)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    match name {
                        Some(name) => Some(Customer {
                            name,
                            phone: r.get(5)?,
                            location: r.get(6)?,
                        }),
                        None => None,
                    },
                ))
            },
        )?;
        let tokens_issued = self.conn.query_row(
            "SELECT COUNT(*) FROM tokens WHERE unit_id = ?1",
            [row.id],
            |r| r.get::<_, i64>(0),
        )? as u64;
        Ok(UnitInfo {
            recent_tokens: self.token_rows(row.id, 10, true)?,
            serial: row.serial,
            model,
            status: row.status.as_str().into(),
            count: row.count,
            device_count: row.device_count,
            starting_code: row.starting_code,
            restricted: row.restricted,
            divider: row.divider,
            payg_disabled: row.payg_disabled,
            customer,
            tariff_days_per_unit: row.tariff_millidays.map(|t| t as f64 / 1000.0),
            notes,
            tokens_issued,
            created_at,
            updated_at,
        })
    }

    /// A page of units filtered by status and/or a search string (serial, customer name or
    /// phone), sorted by `q.sort` through its index.
    pub fn list_units(&self, q: &UnitQuery) -> Result<UnitPage> {
        let page = q.page.max(1);
        let page_size = match q.page_size {
            0 => 50,
            n => n.min(1000),
        };
        let status = q.status.map(Status::as_str);
        let search = q.search.as_ref().filter(|s| !s.is_empty()).map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let filter = "FROM units u LEFT JOIN customers c ON c.id = u.customer_id \
             WHERE (?1 IS NULL OR u.status = ?1) \
             AND (?2 IS NULL OR u.serial LIKE ?2 ESCAPE '\\' OR c.name LIKE ?2 ESCAPE '\\' \
             OR c.phone LIKE ?2 ESCAPE '\\')";
        let total = self.conn.query_row(
            &format!("SELECT COUNT(*) {filter}"),
            params![status, search],
            |r| r.get::<_, i64>(0),
        )? as u64;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT u.serial, u.model, u.status, u.count, c.name, c.phone, u.credit_until, \
             u.last_token_at {filter} ORDER BY {} LIMIT ?3 OFFSET ?4",
            q.sort.order_by(q.descending)
        ))?;
        let offset = i64::from(page - 1) * i64::from(page_size);
        let rows = stmt.query_map(params![status, search, page_size, offset], |r| {
            Ok(UnitSummary {
                serial: r.get(0)?,
                model: r.get(1)?,
                status: r.get(2)?,
                count: r.get(3)?,
                customer: r.get(4)?,
                phone: r.get(5)?,
                credit_until: r.get(6)?,
                last_token_at: r.get(7)?,
            })
        })?;
        Ok(UnitPage {
            total,
            page,
            page_size,
            units: rows.collect::<rusqlite::Result<_>>()?,
        })
    }

    #[doc(hidden)]
    /// The raw connection, for bulk tools and benchmarks in this crate's tests. Writes through
    /// it bypass the invariants; `verify` will report them.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The current year (UTC).
fn year_now() -> i64 {
    crate::time::year_utc(now())
}

/// Expand a serial pattern: `{seq}`, `{seq:0N}` (zero padded to N) and `{yyyy}`.
pub fn format_serial(pattern: &str, seq: u64, year: i64) -> Result<String> {
    let bad = || LedgerError::BadPattern(pattern.to_string());
    let mut out = String::new();
    let mut rest = pattern;
    let mut has_seq = false;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(bad)? + open;
        let field = &rest[open + 1..close];
        match field {
            "yyyy" => out.push_str(&format!("{year:04}")),
            "seq" => {
                has_seq = true;
                out.push_str(&seq.to_string());
            }
            f if f.starts_with("seq:0") => {
                let width: usize = f["seq:0".len()..].parse().map_err(|_| bad())?;
                // No serial is longer than 16 characters (and a huge width would allocate it).
                if width > 16 {
                    return Err(bad());
                }
                has_seq = true;
                out.push_str(&format!("{seq:0width$}"));
            }
            _ => return Err(bad()),
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') || !has_seq {
        return Err(bad());
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{ft, ChainCycle, REPEAT_HORIZON};
    use std::cell::RefCell;

    /// When the cached answer covers a token and when a new search runs (and with what
    /// budget), without hashing: `find` records its budgets.
    #[test]
    fn cycle_searches_run_once_then_at_each_doubling() {
        let budgets = RefCell::new(Vec::new());
        let none = |b: u32| {
            budgets.borrow_mut().push(b);
            None
        };
        let first = ChainCycle::default().known_to(20, none);
        assert_eq!((first.found, first.checked), (None, REPEAT_HORIZON));
        // Covered: the same count, and counts up to the horizon - 100.
        let again = first.known_to(9_900, none);
        assert_eq!(again.checked, REPEAT_HORIZON);
        // Past it: a search over twice the count + 100 (3 steps a count).
        let grown = again.known_to(10_000, none);
        assert_eq!(grown.checked, 20_200);
        let still = grown.known_to(20_100, none);
        assert_eq!(still.checked, 20_200);
        assert_eq!(*budgets.borrow(), [30_000, 60_600]);
        // Near the top of the count range the budget saturates, and `checked` says only
        // what was searched.
        let top = still.known_to(u32::MAX - 50, none);
        assert_eq!(top.checked, u32::MAX / 3);
        // A cycle once found is final.
        let cycle = ft::Cycle {
            start: 34,
            period: 2,
        };
        let found = ChainCycle::default().known_to(2, |_| Some(cycle));
        let later = found.known_to(1_000_000, |_| panic!("no second search"));
        assert_eq!(later.found, Some(cycle));
        assert_eq!(later.repeats_at(33), None);
        assert_eq!(later.repeats_at(34), Some(cycle));
        let long = ft::Cycle {
            start: 10,
            period: REPEAT_HORIZON + 1,
        };
        let far = ChainCycle::default().known_to(2, |_| Some(long));
        assert_eq!(far.repeats_at(1_000), None, "a period past the horizon");
    }
}
