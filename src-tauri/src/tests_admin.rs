//! Ledger administration without a window: import previews, imports (refused, cancelled,
//! bundles with a wrong passphrase), exports (supervisor PIN, bundle passphrase rules),
//! verify on a tampered file, settings round trips and validation; one IPC round trip.

use crate::api::*;
use crate::commands::{ledger, settings, transfer};
use crate::state::AppState;
use crate::test_support::TempDir;
use paygo::ledger::{KdfParams, NewUnit};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

const PASS: &str = "correct horse battery";
const KEY: &str = "a29ab82edc5fbbc41ec9530f6dac86b1";
const CSV_HEADER: &str = "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code";

fn key(i: u8) -> [u8; 16] {
    let mut k = paygo::token::parse_key(KEY).unwrap();
    k[15] ^= i;
    k
}

fn new_unit(serial: &str, i: u8) -> NewUnit {
    NewUnit {
        serial: serial.into(),
        model: Some("SHS-20".into()),
        key: key(i),
        starting_code: None,
        count: 0,
        restricted: false,
        divider: 1,
    }
}

/// An app state holding a new unlocked ledger `name` in `dir` with units `serials`.
fn app(dir: &TempDir, name: &str, serials: &[(&str, u8)]) -> (AppState, PathBuf) {
    let state = AppState::default();
    let path = dir.join(name);
    ledger::create(&state, &path, PASS, KdfParams::INSECURE_FOR_TESTS).unwrap();
    {
        let mut slot = state.ledger();
        let l = slot.as_mut().unwrap();
        let units: Vec<_> = serials.iter().map(|(s, i)| new_unit(s, *i)).collect();
        l.add_units(&units, Some("test")).unwrap();
    }
    (state, path)
}

/// Ledger "a.sqlite" with units `PREFIX-01`..=`PREFIX-n`, exported as an OpenPAYGO CSV.
fn exported_units(dir: &TempDir, prefix: &str, n: u8) -> PathBuf {
    let serials: Vec<(String, u8)> = (1..=n).map(|i| (format!("{prefix}-{i:02}"), i)).collect();
    let refs: Vec<(&str, u8)> = serials.iter().map(|(s, i)| (s.as_str(), *i)).collect();
    let (a, _) = app(dir, "a.sqlite", &refs);
    let csv = dir.join("units.csv");
    transfer::export(
        &a,
        &export_req(ExportKind::OpenpaygoCsv, &csv),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    csv
}

/// Units and audit rows: what an import that did nothing leaves alone.
fn snapshot(state: &AppState) -> (u32, usize) {
    let total = ledger::units(state, None, None, 1, 0).unwrap().total;
    let audit = state.ledger().as_ref().unwrap().audit_rows().unwrap().len();
    (total, audit)
}

fn csv_req(path: &Path) -> ImportRequest {
    ImportRequest {
        kind: ImportKind::OpenpaygoCsv,
        path: path.display().to_string(),
        bundle_passphrase: None,
        operator: Some("amina".into()),
    }
}

fn export_req(kind: ExportKind, path: &Path) -> ExportRequest {
    ExportRequest {
        kind,
        path: path.display().to_string(),
        overwrite: false,
        supervisor_pin: None,
        bundle_passphrase: None,
        bundle_passphrase_again: None,
        with_tokens: false,
        operator: Some("amina".into()),
        status: None,
        serials: Vec::new(),
    }
}

fn no_progress(_: ImportProgressEvent) {}

#[test]
fn preview_counts_new_duplicate_and_conflicting_rows_with_lines() {
    let dir = TempDir::new("admin", "preview");
    let (a, _) = app(
        &dir,
        "a.sqlite",
        &[("SN-1", 1), ("SN-2", 2), ("SN-3", 3), ("SN-4", 4)],
    );
    let csv = dir.join("units.csv");
    let done = transfer::export(
        &a,
        &export_req(ExportKind::OpenpaygoCsv, &csv),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    assert_eq!((done.units, done.raw_keys), (4, true));
    // B has SN-1 identical, SN-3 under another key: one duplicate, one conflict, two new.
    let (b, _) = app(&dir, "b.sqlite", &[("SN-1", 1), ("SN-3", 9)]);
    let before = snapshot(&b);
    let p = transfer::preview(&b, &csv_req(&csv)).unwrap();
    assert_eq!((p.new_units, p.duplicates), (2, 1));
    assert_eq!(p.new_serials, ["SN-2", "SN-4"]);
    assert_eq!(p.problems.len(), 1);
    // Line 1 is the header; SN-3 is the third unit, on line 4.
    assert_eq!(
        (p.problems[0].line, p.problems[0].serial.as_deref()),
        (Some(4), Some("SN-3"))
    );
    assert!(
        p.problems[0].message.contains("different key"),
        "{}",
        p.problems[0].message
    );
    assert_eq!(snapshot(&b), before, "a preview writes nothing");
    // The import itself is refused as a whole, naming the line.
    let e = transfer::import(&b, &AtomicBool::new(false), &csv_req(&csv), no_progress).unwrap_err();
    assert_eq!(e.code, "IMPORT_REFUSED");
    assert!(e.message.contains("line 4"), "{}", e.message);
    assert_eq!(snapshot(&b), before);
    // Invalid rows are problems too, each with its line.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        format!("{CSV_HEADER}\nSN-7,1,{KEY},0,1,0,,,\nSN-8,1,not-a-key,0,1,0,,,\nSN-9,1,{KEY},0,0,0,,,\n"),
    )
    .unwrap();
    let p = transfer::preview(&b, &csv_req(&bad)).unwrap();
    let lines: Vec<_> = p.problems.iter().map(|x| x.line).collect();
    assert_eq!(lines, [Some(3), Some(4)]);
    assert_eq!(
        p.new_serials,
        ["SN-7"],
        "what would be new once the file is fixed"
    );
}

#[test]
fn import_reports_progress_then_everything_again_is_duplicates() {
    let dir = TempDir::new("admin", "import");
    let csv = exported_units(&dir, "SN", 30);
    let (b, _) = app(&dir, "b.sqlite", &[]);
    let mut events = Vec::new();
    let done = transfer::import(&b, &AtomicBool::new(false), &csv_req(&csv), |e| {
        events.push(e)
    })
    .unwrap();
    assert_eq!((done.imported, done.skipped), (30, 0));
    assert_eq!(ledger::units(&b, None, None, 1, 0).unwrap().total, 30);
    let last = events.last().unwrap();
    assert_eq!(
        (last.phase.as_str(), last.done, last.total),
        ("write", 30, 30)
    );
    assert!(events.iter().any(|e| e.phase == "check" && e.done == 0));
    // Progress only moves forward within a phase.
    for w in events.windows(2) {
        if w[0].phase == w[1].phase {
            assert!(w[1].done >= w[0].done);
        }
    }
    let again = transfer::import(&b, &AtomicBool::new(false), &csv_req(&csv), no_progress).unwrap();
    assert_eq!((again.imported, again.skipped), (0, 30));
    let audit = b.ledger().as_ref().unwrap().audit_rows().unwrap();
    assert_eq!(audit.last().unwrap().action, "import");
    assert_eq!(audit.last().unwrap().actor.as_deref(), Some("amina"));
}

#[test]
fn cancel_during_an_import_rolls_everything_back() {
    let dir = TempDir::new("admin", "cancel");
    let csv = exported_units(&dir, "C", 50);
    let (b, _) = app(&dir, "b.sqlite", &[("OTHER-1", 77)]);
    let before = snapshot(&b);
    let cancel = AtomicBool::new(true);
    // A Cancel left over from an earlier import does not stop the next one before it starts...
    let flag = &cancel;
    let mut seen = 0;
    let e = transfer::import(&b, flag, &csv_req(&csv), |ev| {
        seen += 1;
        // ...the user presses Cancel halfway through writing.
        if ev.phase == "write" && ev.done >= 25 {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .unwrap_err();
    assert_eq!(e.code, "CANCELLED");
    assert!(seen > 25);
    assert_eq!(
        snapshot(&b),
        before,
        "nothing of a cancelled import remains"
    );
    assert!(transfer::verify(&b, Path::new("/nonexistent")).unwrap().ok);
    let done = transfer::import(&b, &AtomicBool::new(false), &csv_req(&csv), no_progress).unwrap();
    assert_eq!(done.imported, 50);
}

#[test]
fn cancel_from_another_thread_stops_a_running_import() {
    use std::sync::{mpsc, Arc};
    let dir = TempDir::new("admin", "cancel-thread");
    let csv = exported_units(&dir, "T", 40);
    let (b, _) = app(&dir, "b.sqlite", &[]);
    let before = snapshot(&b);
    let (state, control) = (Arc::new(b), Arc::new(transfer::TransferControl::default()));
    let (writing_tx, writing_rx) = mpsc::channel();
    let (go_on_tx, go_on_rx) = mpsc::channel::<()>();
    let worker = {
        let (state, control, req) = (Arc::clone(&state), Arc::clone(&control), csv_req(&csv));
        std::thread::spawn(move || {
            transfer::import(&state, control.flag(), &req, |e| {
                // Halfway through writing, let the UI thread press Cancel, then go on.
                if e.phase == "write" && e.done == 20 {
                    writing_tx.send(()).unwrap();
                    go_on_rx.recv().unwrap();
                }
            })
        })
    };
    writing_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    // What `transfer_cancel` does; it never waits for the ledger the import holds.
    control.cancel();
    go_on_tx.send(()).unwrap();
    assert_eq!(worker.join().unwrap().unwrap_err().code, "CANCELLED");
    assert_eq!(snapshot(&state), before);
}

#[test]
fn bundles_round_trip_and_refuse_a_wrong_passphrase() {
    let dir = TempDir::new("admin", "bundle");
    let (a, _) = app(&dir, "a.sqlite", &[("B-1", 1), ("B-2", 2)]);
    let out = dir.join("handover.bin");
    let mut req = export_req(ExportKind::Bundle, &out);
    // The bundle passphrase: long enough, typed twice the same, not the ledger's.
    req.bundle_passphrase = Some("short".into());
    req.bundle_passphrase_again = Some("short".into());
    let kdf = KdfParams::INSECURE_FOR_TESTS;
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "WEAK_PASSPHRASE"
    );
    req.bundle_passphrase = Some("handover 2026".into());
    req.bundle_passphrase_again = Some("handover 2027".into());
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "PASSPHRASE_MISMATCH"
    );
    req.bundle_passphrase = Some(PASS.into());
    req.bundle_passphrase_again = Some(PASS.into());
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "BUNDLE_PASSPHRASE_REUSED"
    );
    assert!(!out.exists());
    req.bundle_passphrase = Some("handover 2026".into());
    req.bundle_passphrase_again = Some("handover 2026".into());
    let done = transfer::export(&a, &req, kdf).unwrap();
    assert_eq!((done.units, done.raw_keys), (2, false));
    assert!(done.bundle_id.is_some());
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        u64::from(done.bytes)
    );

    let (b, _) = app(&dir, "b.sqlite", &[]);
    let before = snapshot(&b);
    let mut imp = ImportRequest {
        kind: ImportKind::Bundle,
        path: out.display().to_string(),
        bundle_passphrase: None,
        operator: None,
    };
    assert_eq!(
        transfer::preview(&b, &imp).unwrap_err().code,
        "NO_BUNDLE_PASSPHRASE"
    );
    imp.bundle_passphrase = Some("handover 2025".into());
    assert_eq!(
        transfer::preview(&b, &imp).unwrap_err().code,
        "WRONG_BUNDLE_PASSPHRASE"
    );
    assert_eq!(
        transfer::import(&b, &AtomicBool::new(false), &imp, no_progress)
            .unwrap_err()
            .code,
        "WRONG_BUNDLE_PASSPHRASE"
    );
    assert_eq!(snapshot(&b), before);
    imp.bundle_passphrase = Some("handover 2026".into());
    let p = transfer::preview(&b, &imp).unwrap();
    assert_eq!(
        (p.new_units, p.duplicates, p.bundle_id.clone()),
        (2, 0, done.bundle_id.clone())
    );
    let got = transfer::import(&b, &AtomicBool::new(false), &imp, no_progress).unwrap();
    assert_eq!(got.serials, ["B-1", "B-2"]);
    // A CSV is not a bundle, a bundle is not a CSV.
    let csv = dir.join("units.csv");
    std::fs::write(&csv, format!("{CSV_HEADER}\n")).unwrap();
    imp.path = csv.display().to_string();
    assert_eq!(
        transfer::preview(&b, &imp).unwrap_err().code,
        "NOT_A_BUNDLE"
    );
    let p = transfer::preview(&b, &csv_req(&out)).unwrap();
    assert_eq!(p.new_units, 0);
    assert!(!p.problems.is_empty(), "a bundle read as CSV is refused");
}

#[test]
fn unreadable_files_and_a_closed_ledger_are_clear_errors() {
    let dir = TempDir::new("admin", "files");
    let (a, path) = app(&dir, "a.sqlite", &[]);
    let missing = dir.join("missing.csv");
    assert_eq!(
        transfer::preview(&a, &csv_req(&missing)).unwrap_err().code,
        "BAD_FILE"
    );
    let mut empty = csv_req(&missing);
    empty.path = "  ".into();
    assert_eq!(transfer::preview(&a, &empty).unwrap_err().code, "BAD_PATH");
    assert_eq!(
        transfer::preview(&a, &csv_req(&dir.0)).unwrap_err().code,
        "BAD_FILE"
    );
    ledger::lock(&a, &path);
    std::fs::write(&missing, format!("{CSV_HEADER}\n")).unwrap();
    assert_eq!(
        transfer::preview(&a, &csv_req(&missing)).unwrap_err().code,
        "LEDGER_CLOSED"
    );
    assert_eq!(settings::get(&a).unwrap_err().code, "LEDGER_CLOSED");
    let out = dir.join("t.csv");
    assert_eq!(
        transfer::export(
            &a,
            &export_req(ExportKind::TokensCsv, &out),
            KdfParams::INSECURE_FOR_TESTS
        )
        .unwrap_err()
        .code,
        "LEDGER_CLOSED"
    );
}

#[test]
fn device_csv_export_needs_the_supervisor_pin_once_set() {
    let dir = TempDir::new("admin", "pin-export");
    let (a, _) = app(&dir, "a.sqlite", &[("P-1", 1)]);
    a.ledger()
        .as_mut()
        .unwrap()
        .set_supervisor_pin("2468", None)
        .unwrap();
    let out = dir.join("units.csv");
    let kdf = KdfParams::INSECURE_FOR_TESTS;
    let mut req = export_req(ExportKind::OpenpaygoCsv, &out);
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "SUPERVISOR_PIN_REQUIRED"
    );
    req.supervisor_pin = Some("1111".into());
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "WRONG_SUPERVISOR_PIN"
    );
    assert!(!out.exists());
    req.supervisor_pin = Some("2468".into());
    let done = transfer::export(&a, &req, kdf).unwrap();
    assert_eq!(done.path, out.display().to_string());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(CSV_HEADER));
    assert_eq!(text.lines().count(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never over an existing file unless asked.
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "FILE_EXISTS"
    );
    req.overwrite = true;
    transfer::export(&a, &req, kdf).unwrap();
    // The tokens CSV holds no keys and needs no PIN.
    let tokens = dir.join("tokens.csv");
    let done = transfer::export(&a, &export_req(ExportKind::TokensCsv, &tokens), kdf).unwrap();
    assert!(!done.raw_keys);
    assert!(!std::fs::read_to_string(&tokens)
        .unwrap()
        .contains(&KEY[..24]));
}

/// A handover of some units: by serial (as pasted, duplicates and blanks ignored) or by
/// status; never both, never an unknown serial, never an empty file.
#[test]
fn exports_take_all_units_a_status_or_a_list_of_serials() {
    let dir = TempDir::new("admin", "selection");
    let (a, _) = app(&dir, "a.sqlite", &[("S-1", 1), ("S-2", 2), ("S-3", 3)]);
    a.ledger()
        .as_mut()
        .unwrap()
        .set_status("S-3", paygo::ledger::Status::Returned, "ana", "came back")
        .unwrap();
    let kdf = KdfParams::INSECURE_FOR_TESTS;
    let serials_in = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    let out = |name: &str| dir.join(name);

    let mut req = export_req(ExportKind::OpenpaygoCsv, &out("listed.csv"));
    req.serials = vec![" S-2 ".into(), "".into(), "S-1".into(), "S-2".into()];
    let done = transfer::export(&a, &req, kdf).unwrap();
    assert_eq!(done.units, 2);
    assert_eq!(serials_in(&out("listed.csv")), ["S-1", "S-2"]);

    let mut req = export_req(ExportKind::TokensCsv, &out("returned.csv"));
    req.status = Some("returned".into());
    assert_eq!(transfer::export(&a, &req, kdf).unwrap().units, 1);

    let mut req = export_req(ExportKind::OpenpaygoCsv, &out("all.csv"));
    assert_eq!(transfer::export(&a, &req, kdf).unwrap().units, 3);

    req.path = out("both.csv").display().to_string();
    req.status = Some("returned".into());
    req.serials = vec!["S-1".into()];
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "BAD_SELECTION"
    );
    req.status = None;
    req.serials = vec!["S-1".into(), "S-9".into()];
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "UNKNOWN_UNIT"
    );
    req.serials = Vec::new();
    req.status = Some("unlocked".into());
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "NOTHING_TO_EXPORT"
    );
    req.status = Some("gone".into());
    assert_eq!(
        transfer::export(&a, &req, kdf).unwrap_err().code,
        "BAD_STATUS"
    );
    assert!(!out("both.csv").exists(), "a refused export writes nothing");
}

#[test]
fn verify_finds_the_first_tampered_row() {
    let dir = TempDir::new("admin", "verify");
    let (a, path) = app(&dir, "a.sqlite", &[("V-1", 1), ("V-2", 2)]);
    let ok = transfer::verify(&a, &path).unwrap();
    assert!(ok.ok && ok.problems.is_empty() && ok.first_broken.is_none());
    assert_eq!(ok.units, 2);
    assert!(ok.audit_rows >= 2);
    // Tamper around the triggers, as someone with the file could.
    let target = {
        let slot = a.ledger();
        let l = slot.as_ref().unwrap();
        let rows = l.audit_rows().unwrap();
        let target = rows[1].seq;
        l.connection()
            .execute_batch(&format!(
                "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; \
                 UPDATE audit SET actor = 'mallory' WHERE seq = {target};"
            ))
            .unwrap();
        target
    };
    let bad = transfer::verify(&a, &path).unwrap();
    assert!(!bad.ok);
    assert_eq!(bad.first_broken_seq, Some(u32::try_from(target).unwrap()));
    let row = bad.first_broken.unwrap();
    assert_eq!(row.actor.as_deref(), Some("mallory"));
    assert_eq!(bad.problems[0].code, "BROKEN_CHAIN");
    // Locked, the app still verifies the file (no passphrase needed).
    ledger::lock(&a, &path);
    let locked = transfer::verify(&a, &path).unwrap();
    assert_eq!(locked.first_broken_seq, bad.first_broken_seq);
}

#[test]
fn settings_round_trip_with_validation_and_audit() {
    let dir = TempDir::new("admin", "settings");
    let (a, _) = app(&dir, "a.sqlite", &[("SN-000002", 2)]);
    let s = settings::get(&a).unwrap();
    assert_eq!(s.serial_pattern, None);
    assert_eq!(s.default_serial_pattern, "SN-{seq:06}");
    // SN-000002 is taken: the preview skips it, as provisioning would.
    assert_eq!(s.next_serials, ["SN-000001", "SN-000003", "SN-000004"]);
    assert!(s.tariffs.is_empty() && s.default_tariff.is_none() && !s.supervisor_pin_set);

    assert_eq!(
        settings::serial_preview(&a, "OPG-{seq:04}").unwrap(),
        ["OPG-0001", "OPG-0002", "OPG-0003"]
    );
    assert_eq!(settings::serial_preview(&a, "").unwrap()[0], "SN-000001");
    assert_eq!(
        settings::serial_preview(&a, "OPG-{sq}").unwrap_err().code,
        "BAD_SERIAL_PATTERN"
    );
    assert_eq!(
        settings::serial_preview(&a, "NO-SEQUENCE")
            .unwrap_err()
            .code,
        "BAD_SERIAL_PATTERN"
    );
    assert_eq!(
        settings::serial_preview(&a, "A-VERY-LONG-PREFIX-{seq}")
            .unwrap_err()
            .code,
        "BAD_SERIAL"
    );
    let s = settings::set_serial_pattern(&a, Some("OPG-{seq:04}".into()), Some("amina".into()))
        .unwrap();
    assert_eq!(s.serial_pattern.as_deref(), Some("OPG-{seq:04}"));
    assert_eq!(s.next_serials[0], "OPG-0001");
    assert_eq!(
        settings::set_serial_pattern(&a, Some("bad {x}".into()), None)
            .unwrap_err()
            .code,
        "BAD_SERIAL_PATTERN"
    );
    assert_eq!(
        settings::get(&a).unwrap().serial_pattern.as_deref(),
        Some("OPG-{seq:04}")
    );

    let tariffs = vec![
        TariffView {
            name: "Daily".into(),
            days_per_unit: "0.010".into(),
            currency: "KES".into(),
        },
        TariffView {
            name: "Weekly".into(),
            days_per_unit: "7".into(),
            currency: "XOF".into(),
        },
    ];
    let s = settings::set_tariffs(&a, tariffs.clone(), Some("Weekly".into()), None).unwrap();
    assert_eq!(s.tariffs.len(), 2);
    assert_eq!(s.tariffs[0].days_per_unit, "0.01");
    assert_eq!(s.default_tariff.as_deref(), Some("Weekly"));
    let e = settings::set_tariffs(&a, tariffs.clone(), Some("Monthly".into()), None).unwrap_err();
    assert_eq!(e.code, "BAD_SETTING");
    let mut dup = tariffs.clone();
    dup[1].name = "daily".into();
    assert_eq!(
        settings::set_tariffs(&a, dup, None, None).unwrap_err().code,
        "BAD_SETTING"
    );
    assert_eq!(
        settings::get(&a).unwrap().default_tariff.as_deref(),
        Some("Weekly")
    );

    let s = settings::set_autolock(&a, Some(3), None).unwrap();
    assert_eq!(s.autolock_minutes, Some(3));
    if std::env::var_os("PAYGO_AUTOLOCK_SECS").is_none() {
        assert_eq!(
            (s.autolock_effective_secs, s.autolock_source),
            (180, AutolockSource::Ledger)
        );
        let (limit, _) = a.autolock_for(a.ledger().as_ref());
        assert_eq!(
            limit.as_secs(),
            180,
            "the app's idle lock follows the setting"
        );
    }
    assert_eq!(
        settings::set_autolock(&a, Some(0), None).unwrap_err().code,
        "BAD_SETTING"
    );
    assert_eq!(
        settings::set_autolock(&a, Some(5000), None)
            .unwrap_err()
            .code,
        "BAD_SETTING"
    );
    let s = settings::set_autolock(&a, None, None).unwrap();
    assert_eq!(s.autolock_minutes, None);
    if std::env::var_os("PAYGO_AUTOLOCK_SECS").is_none() {
        assert_eq!(
            (s.autolock_effective_secs, s.autolock_source),
            (600, AutolockSource::Default)
        );
    }

    // Every accepted change is in the audit log, by name.
    let audit = a.ledger().as_ref().unwrap().audit_rows().unwrap();
    let changed: Vec<String> = audit
        .iter()
        .filter(|r| r.action == "setting")
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.detail).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        changed,
        [
            "serial_pattern",
            "tariffs",
            "autolock_minutes",
            "autolock_minutes"
        ]
    );
    assert_eq!(
        audit
            .iter()
            .find(|r| r.action == "setting")
            .unwrap()
            .actor
            .as_deref(),
        Some("amina")
    );
}

#[test]
fn supervisor_pin_set_then_changed_with_the_old_one() {
    let dir = TempDir::new("admin", "pin");
    let (a, _) = app(&dir, "a.sqlite", &[]);
    let change = |current: Option<&str>, pin: &str, again: &str| SupervisorPinChange {
        current: current.map(str::to_string),
        pin: pin.into(),
        pin_again: again.into(),
    };
    assert_eq!(
        settings::set_supervisor_pin(&a, &change(None, "1234", "1243"), None)
            .unwrap_err()
            .code,
        "PIN_MISMATCH"
    );
    assert_eq!(
        settings::set_supervisor_pin(&a, &change(None, "12", "12"), None)
            .unwrap_err()
            .code,
        "BAD_SUPERVISOR_PIN"
    );
    assert!(
        settings::set_supervisor_pin(&a, &change(None, "1234", "1234"), None)
            .unwrap()
            .supervisor_pin_set
    );
    assert_eq!(
        settings::set_supervisor_pin(&a, &change(None, "5678", "5678"), None)
            .unwrap_err()
            .code,
        "SUPERVISOR_PIN_REQUIRED"
    );
    assert_eq!(
        settings::set_supervisor_pin(&a, &change(Some("4321"), "5678", "5678"), None)
            .unwrap_err()
            .code,
        "WRONG_SUPERVISOR_PIN"
    );
    settings::set_supervisor_pin(&a, &change(Some("1234"), "5678", "5678"), None).unwrap();
    let slot = a.ledger();
    let l = slot.as_ref().unwrap();
    assert!(l.verify_supervisor_pin("5678").unwrap());
    assert!(!l.verify_supervisor_pin("1234").unwrap());
    let rows = l.audit_rows().unwrap();
    assert_eq!(
        rows.iter().filter(|r| r.action == "supervisor_pin").count(),
        2
    );
    assert!(
        rows.iter().all(|r| !r.detail.contains("5678")),
        "the PIN is never logged"
    );
}

mod ipc {

    use crate::test_support::ipc::{invoke, window};

    #[test]
    fn admin_commands_are_registered_with_the_uis_argument_names() {
        let (_app, webview) = window();
        assert_eq!(
            invoke(&webview, "transfer_cancel", serde_json::json!({})).unwrap(),
            serde_json::Value::Null
        );
        let err = invoke(
            &webview,
            "transfer_preview",
            serde_json::json!({"req": {"kind": "openpaygo-csv", "path": "", "bundlePassphrase": null, "operator": null}}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "BAD_PATH");
        let err = invoke(
            &webview,
            "transfer_import",
            serde_json::json!({"req": {"kind": "bundle", "path": "/x", "bundlePassphrase": null, "operator": null}}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "NO_BUNDLE_PASSPHRASE");
        for (cmd, args) in [
            ("settings_get", serde_json::json!({})),
            (
                "settings_serial_preview",
                serde_json::json!({"pattern": "X-{seq}"}),
            ),
            (
                "settings_set_serial_pattern",
                serde_json::json!({"pattern": null, "operator": null}),
            ),
            (
                "settings_set_tariffs",
                serde_json::json!({"tariffs": [], "default": null, "operator": null}),
            ),
            (
                "settings_set_autolock",
                serde_json::json!({"minutes": 5, "operator": null}),
            ),
            (
                "settings_set_supervisor_pin",
                serde_json::json!({"change": {"current": null, "pin": "1234", "pinAgain": "1234"}, "operator": null}),
            ),
        ] {
            let err = invoke(&webview, cmd, args).unwrap_err();
            assert_eq!(err["code"], "LEDGER_CLOSED", "{cmd}: {err}");
        }
    }
}
