//! The OpenPAYGO device CSV (spec §1) and the tokens CSV.
//!
//! Device CSV header: `Serial Number, Starting Code, Key, Count, Time Divider, Restricted
//! Digit Mode, Hardware Model, Version, Test Code` (`Firmware Version` is accepted for
//! `Version`; column names are matched without regard to case or spacing, in any order).

use super::{format_milli, iso_utc, Incoming, Outgoing, RowError};
use crate::ledger::{check_serial, LedgerError, NewUnit, Result, Status};
use zeroize::Zeroizing;

/// The header written on export.
pub(crate) const HEADER: [&str; 9] = [
    "Serial Number",
    "Starting Code",
    "Key",
    "Count",
    "Time Divider",
    "Restricted Digit Mode",
    "Hardware Model",
    "Version",
    "Test Code",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Serial,
    StartingCode,
    Key,
    Count,
    Divider,
    Restricted,
    Model,
    Version,
    TestCode,
}

const REQUIRED: [(Col, &str); 6] = [
    (Col::Serial, "Serial Number"),
    (Col::StartingCode, "Starting Code"),
    (Col::Key, "Key"),
    (Col::Count, "Count"),
    (Col::Divider, "Time Divider"),
    (Col::Restricted, "Restricted Digit Mode"),
];

fn column(name: &str) -> Option<Col> {
    let norm: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    Some(match norm.as_str() {
        "serial number" => Col::Serial,
        "starting code" => Col::StartingCode,
        "key" => Col::Key,
        "count" => Col::Count,
        "time divider" => Col::Divider,
        "restricted digit mode" => Col::Restricted,
        "hardware model" => Col::Model,
        "version" | "firmware version" => Col::Version,
        "test code" => Col::TestCode,
        _ => return None,
    })
}

/// Line numbers from byte offsets. (The csv crate's own count is one short after a CRLF: it
/// starts the next record on the '\n' of the "\r\n".) Offsets only grow, so this is linear.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, data: &[u8], byte: u64) -> u64 {
        let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(data.len());
        // A record "starting" on line breaks starts after them.
        while at < data.len() && matches!(data[at], b'\r' | b'\n') {
            at += 1;
        }
        if at < self.offset {
            self.offset = 0;
            self.line = 0;
        }
        self.line += data[self.offset..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = at;
        self.line + 1
    }
}

pub(crate) struct Parsed {
    pub units: Vec<Incoming>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<String>,
}

fn err(line: u64, serial: Option<&str>, message: String) -> RowError {
    RowError {
        line: Some(line),
        serial: serial.map(str::to_string),
        message,
    }
}

fn parse_num(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&v| v <= max)
}

/// Parse a 32-hex key; the message never repeats the key text.
fn parse_key(text: &str) -> std::result::Result<[u8; 16], String> {
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "Key: expected 32 hexadecimal characters, found {} character{}{}",
            text.chars().count(),
            if text.chars().count() == 1 { "" } else { "s" },
            if text.len() == 32 {
                " that are not all hexadecimal"
            } else {
                ""
            }
        ));
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| "Key: bad hex")?;
    }
    Ok(key)
}

/// Parse a device CSV into checked units and every problem found (no early exit).
pub(crate) fn parse_units(data: &[u8]) -> Parsed {
    let mut out = Parsed {
        units: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut records = rdr.byte_records();
    let header = match records.next() {
        None => {
            out.errors.push(err(
                1,
                None,
                format!(
                    "the file is empty; expected the header {}",
                    HEADER.join(", ")
                ),
            ));
            return out;
        }
        Some(Err(e)) => {
            out.errors
                .push(err(1, None, format!("unreadable header: {e}")));
            return out;
        }
        Some(Ok(h)) => h,
    };
    let mut cols: Vec<Option<Col>> = Vec::new();
    for name in header.iter() {
        let name = String::from_utf8_lossy(name);
        let c = column(&name);
        if let Some(c) = c {
            if cols.contains(&Some(c)) {
                out.errors
                    .push(err(1, None, format!("column {name:?} appears twice")));
            }
        }
        cols.push(c);
    }
    for (c, name) in REQUIRED {
        if !cols.contains(&Some(c)) {
            out.errors
                .push(err(1, None, format!("missing column {name:?}")));
        }
    }
    if !out.errors.is_empty() {
        return out;
    }
    let mut test_codes = 0usize;
    let mut lines = LineCounter::default();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(data, p.byte()));
                out.errors.push(err(line, None, format!("unreadable: {e}")));
                break;
            }
        };
        let line = rec.position().map_or(0, |p| lines.line_at(data, p.byte()));
        if rec.iter().all(<[u8]>::is_empty) {
            continue; // a blank spreadsheet row
        }
        if rec.len() != cols.len() {
            out.errors.push(err(
                line,
                None,
                format!("expected {} fields, found {}", cols.len(), rec.len()),
            ));
            continue;
        }
        let mut fields: Vec<(Col, String)> = Vec::new();
        let mut bad_utf8 = false;
        for (c, raw) in cols.iter().zip(rec.iter()) {
            let Some(c) = c else { continue };
            match std::str::from_utf8(raw) {
                Ok(s) => fields.push((*c, s.to_string())),
                Err(_) => bad_utf8 = true,
            }
        }
        if bad_utf8 {
            out.errors
                .push(err(line, None, "the row is not valid UTF-8 text".into()));
            continue;
        }
        let get = |c: Col| {
            fields
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let serial = get(Col::Serial);
        let sref = Some(serial).filter(|s| !s.is_empty());
        let before = out.errors.len();
        let mut push = |m: String| out.errors.push(err(line, sref, m));
        if check_serial(serial).is_err() {
            push(format!(
                "Serial Number: {serial:?} must be 1-16 characters of A-Z, a-z, 0-9 and -"
            ));
        }
        let key_text = Zeroizing::new(get(Col::Key).to_string());
        let key = match parse_key(&key_text) {
            Ok(k) => Some(Zeroizing::new(k)),
            Err(m) => {
                push(m);
                None
            }
        };
        let sc_text = get(Col::StartingCode);
        let starting_code = if sc_text.is_empty() {
            None // derived from the key (spec §3.3)
        } else {
            match parse_num(sc_text, 999_999_999) {
                Some(v) => Some(v as u32),
                None => {
                    push(format!(
                        "Starting Code: {sc_text:?} is not a whole number from 0 to 999999999"
                    ));
                    None
                }
            }
        };
        let count_text = get(Col::Count);
        let count = parse_num(count_text, u64::from(u32::MAX)).map(|v| v as u32);
        if count.is_none() {
            push(format!(
                "Count: {count_text:?} is not a whole number from 0 to 4294967295"
            ));
        }
        let div_text = get(Col::Divider);
        let divider = parse_num(div_text, 255)
            .filter(|&d| d >= 1)
            .map(|v| v as u32);
        if divider.is_none() {
            push(format!(
                "Time Divider: {div_text:?} is not a whole number from 1 to 255"
            ));
        }
        let r_text = get(Col::Restricted);
        let restricted = match r_text {
            "0" => Some(false),
            "1" => Some(true),
            _ => {
                push(format!("Restricted Digit Mode: {r_text:?} must be 0 or 1"));
                None
            }
        };
        let test_code = get(Col::TestCode);
        if !test_code.is_empty() {
            if test_code.len() > 9 || !test_code.bytes().all(|b| b.is_ascii_digit()) {
                push("Test Code: must be empty or up to 9 digits".into());
            } else {
                test_codes += 1;
            }
        }
        let model = get(Col::Model);
        let version = get(Col::Version);
        for (name, v) in [("Hardware Model", model), ("Version", version)] {
            if v.chars().count() > 64 || v.chars().any(char::is_control) {
                push(format!(
                    "{name}: must be at most 64 characters without control characters"
                ));
            }
        }
        if out.errors.len() != before {
            continue;
        }
        let (Some(key), Some(count), Some(divider), Some(restricted)) =
            (key, count, divider, restricted)
        else {
            continue;
        };
        out.units.push(Incoming {
            line: Some(line),
            unit: NewUnit {
                serial: serial.to_string(),
                model: Some(model.to_string()).filter(|m| !m.is_empty()),
                key: *key,
                starting_code,
                count,
                restricted,
                divider,
            },
            status: Status::Provisioned,
            device_count: Some(count),
            notes: Some(version)
                .filter(|v| !v.is_empty())
                .map(|v| format!("firmware version {v}")),
            payg_disabled: false,
            tokens: Vec::new(),
        });
    }
    if test_codes > 0 {
        out.warnings.push(format!(
            "{test_codes} row{} had a test code; the ledger does not keep test codes",
            if test_codes == 1 { "" } else { "s" }
        ));
    }
    out
}

fn csv_error(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Io {
        context: "writing CSV".into(),
        message: e.to_string(),
    }
}

fn hex(key: &[u8]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(2 * key.len()));
    for b in key {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// The device CSV of `units` (raw keys!).
pub(crate) fn write_units(units: &[Outgoing]) -> Result<Zeroizing<Vec<u8>>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADER).map_err(csv_error)?;
    for u in units {
        let key = hex(u.key.as_slice());
        let version = u
            .notes
            .as_deref()
            .and_then(|n| n.strip_prefix("firmware version "))
            .unwrap_or("");
        w.write_record([
            u.serial.as_str(),
            &u.starting_code.to_string(),
            key.as_str(),
            &u.count.to_string(),
            &u.divider.to_string(),
            if u.restricted { "1" } else { "0" },
            u.model.as_deref().unwrap_or(""),
            version,
            "",
        ])
        .map_err(csv_error)?;
    }
    let bytes = w.into_inner().map_err(csv_error)?;
    Ok(Zeroizing::new(bytes))
}

/// Spreadsheets run cells starting with these as formulas: neutralise free text.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The tokens CSV: `serial, count, type, value, days, token, payment_ref, amount, operator,
/// time` (time in UTC, ISO 8601; amount as a decimal).
pub(crate) fn write_tokens(units: &[Outgoing]) -> Result<(Vec<u8>, usize)> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        "serial",
        "count",
        "type",
        "value",
        "days",
        "token",
        "payment_ref",
        "amount",
        "operator",
        "time",
    ])
    .map_err(csv_error)?;
    let mut n = 0;
    for u in units {
        for t in &u.tokens {
            n += 1;
            w.write_record([
                u.serial.clone(),
                t.count.to_string(),
                t.token_type.clone(),
                t.value.to_string(),
                t.days.map(|d| d.to_string()).unwrap_or_default(),
                t.token.clone(),
                t.payment_ref.as_deref().map(cell).unwrap_or_default(),
                t.amount_milli.map(format_milli).unwrap_or_default(),
                t.operator.as_deref().map(cell).unwrap_or_default(),
                iso_utc(t.created_at),
            ])
            .map_err(csv_error)?;
        }
    }
    Ok((w.into_inner().map_err(csv_error)?, n))
}
