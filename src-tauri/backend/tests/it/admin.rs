//! What the desktop app's Import / export, Verify and Settings screens need from the ledger:
//! import progress and cancel (rolled back), previews that count duplicates next to
//! conflicts, the typed settings (tariffs, auto-lock), the serial preview and the passphrase
//! comparison.

use crate::transfer::{bundle_pass, new_ledger, pass, snapshot, test_limits, unit};
use paygo::ledger::{
    ImportOptions, ImportPhase, ImportProgress, KdfParams, LedgerError, Selection, Tariff, Tariffs,
};
use std::ops::ControlFlow;

fn opts() -> ImportOptions {
    ImportOptions {
        operator: Some("ops".into()),
        limits: test_limits(),
        ..ImportOptions::default()
    }
}

#[test]
fn import_reports_progress_per_unit_in_both_phases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    let units: Vec<_> = (1..=5).map(|i| unit(&format!("SN-{i}"), i)).collect();
    a.add_units(&units, None).expect("add");
    let (csv, _) = a
        .export_openpaygo_csv(&Selection::All, None)
        .expect("export");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    b.add_units(&units[..2], None).expect("add two");
    let mut seen: Vec<ImportProgress> = Vec::new();
    let report = b
        .import_openpaygo_csv_with_progress(&csv, &opts(), &mut |p| {
            seen.push(p);
            ControlFlow::Continue(())
        })
        .expect("import");
    assert_eq!((report.imported, report.skipped.len()), (3, 2));
    let checks: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == ImportPhase::Check)
        .map(|p| (p.done, p.total))
        .collect();
    assert_eq!(checks, [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]);
    let writes: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == ImportPhase::Write)
        .map(|p| (p.done, p.total))
        .collect();
    assert_eq!(writes, [(0, 3), (1, 3), (2, 3), (3, 3)]);
    // A dry run only checks.
    let mut c = new_ledger(dir.path(), "c.sqlite");
    let mut phases = Vec::new();
    c.import_openpaygo_csv_with_progress(
        &csv,
        &ImportOptions {
            dry_run: true,
            ..opts()
        },
        &mut |p| {
            phases.push(p.phase);
            ControlFlow::Continue(())
        },
    )
    .expect("dry run");
    assert!(phases.iter().all(|p| *p == ImportPhase::Check));
}

#[test]
fn cancelling_an_import_midway_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    let units: Vec<_> = (1..=6).map(|i| unit(&format!("SN-{i}"), i)).collect();
    a.add_units(&units, None).expect("add");
    let (csv, _) = a
        .export_openpaygo_csv(&Selection::All, None)
        .expect("export");
    let bundle_params = KdfParams::INSECURE_FOR_TESTS;
    let (bundle, _) = a
        .export_bundle(&Selection::All, true, &bundle_pass(), bundle_params, None)
        .expect("bundle");
    for stop_at in [
        (ImportPhase::Check, 3),
        (ImportPhase::Write, 0),
        (ImportPhase::Write, 4),
        // After the last unit was written, before COMMIT.
        (ImportPhase::Write, 6),
    ] {
        for use_bundle in [false, true] {
            let mut b = new_ledger(dir.path(), &format!("b-{}-{use_bundle}.sqlite", stop_at.1));
            let before = snapshot(&b);
            let mut stop = |p: ImportProgress| {
                if (p.phase, p.done) == stop_at {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            let r = if use_bundle {
                b.import_bundle_with_progress(&bundle, &bundle_pass(), &opts(), &mut stop)
            } else {
                b.import_openpaygo_csv_with_progress(&csv, &opts(), &mut stop)
            };
            match r {
                Err(e @ LedgerError::Cancelled) => assert_eq!(e.code(), "CANCELLED"),
                other => panic!("expected CANCELLED at {stop_at:?}, got {other:?}"),
            }
            assert_eq!(
                snapshot(&b),
                before,
                "cancelled at {stop_at:?}: nothing written"
            );
            assert!(b.verify().expect("verify").ok);
            // The ledger is usable afterwards and the same import goes through.
            let report = b.import_openpaygo_csv(&csv, &opts()).expect("import");
            assert_eq!(report.imported, 6);
        }
    }
}

#[test]
fn a_refused_import_still_counts_the_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    a.add_units(&[unit("SN-1", 1), unit("SN-2", 2), unit("SN-3", 3)], None)
        .expect("add");
    let (csv, _) = a
        .export_openpaygo_csv(&Selection::All, None)
        .expect("export");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    // SN-1 identical (duplicate), SN-2 with another key (conflict), SN-3 new.
    b.add_units(&[unit("SN-1", 1), unit("SN-2", 9)], None)
        .expect("add");
    let before = snapshot(&b);
    let dry = ImportOptions {
        dry_run: true,
        ..opts()
    };
    let report = match b.import_openpaygo_csv(&csv, &dry) {
        Err(LedgerError::ImportRefused(r)) => *r,
        other => panic!("expected IMPORT_REFUSED, got {other:?}"),
    };
    assert_eq!(report.imported, 0);
    assert_eq!(report.would_import, ["SN-3"]);
    assert_eq!(
        report
            .skipped
            .iter()
            .map(|s| (s.serial.as_str(), s.line))
            .collect::<Vec<_>>(),
        [("SN-1", Some(2))]
    );
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, Some(3));
    assert!(report.errors[0].message.contains("different key"));
    assert_eq!(snapshot(&b), before);
}

fn tariff(name: &str, days: &str, currency: &str) -> Tariff {
    Tariff {
        name: name.into(),
        days_per_unit: days.into(),
        currency: currency.into(),
    }
}

#[test]
fn tariffs_are_checked_canonicalised_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = new_ledger(dir.path(), "t.sqlite");
    assert_eq!(l.tariffs().expect("read"), Tariffs::default());
    let stored = l
        .set_tariffs(
            &Tariffs {
                default: Some("daily".into()),
                list: vec![
                    tariff(" Daily ", "0.500", "KES"),
                    tariff("Weekly", "7", "XOF"),
                ],
            },
            Some("ops"),
        )
        .expect("set");
    assert_eq!(stored.default.as_deref(), Some("Daily"));
    assert_eq!(stored.list[0], tariff("Daily", "0.5", "KES"));
    assert_eq!(l.tariffs().expect("read"), stored);
    assert_eq!(
        stored.default_tariff().map(|t| t.currency.as_str()),
        Some("KES")
    );
    let row = l.audit_rows().expect("audit").pop().expect("row");
    assert_eq!(
        (row.action.as_str(), row.actor.as_deref()),
        ("setting", Some("ops"))
    );
    assert!(
        row.detail.contains("\"name\":\"tariffs\""),
        "{}",
        row.detail
    );
    // Every way of being wrong is refused with BAD_SETTING and changes nothing.
    let audit_len = l.audit_rows().expect("audit").len();
    for (bad, why) in [
        (vec![tariff("A", "0", "KES")], "above 0"),
        (vec![tariff("A", "1.2345", "KES")], "up to 3 decimals"),
        (vec![tariff("A", "x", "KES")], "number"),
        (vec![tariff("A", "1", "kes")], "ISO 4217"),
        (vec![tariff("", "1", "KES")], "1-32"),
        (
            vec![tariff("A", "1", "KES"), tariff("a", "2", "KES")],
            "twice",
        ),
    ] {
        let e = l
            .set_tariffs(
                &Tariffs {
                    default: None,
                    list: bad,
                },
                None,
            )
            .expect_err(why);
        assert_eq!(e.code(), "BAD_SETTING");
        assert!(e.to_string().contains(why), "{e}");
    }
    let e = l
        .set_tariffs(
            &Tariffs {
                default: Some("Monthly".into()),
                list: vec![tariff("Daily", "1", "KES")],
            },
            None,
        )
        .expect_err("unknown default");
    assert!(e.to_string().contains("not in the list"), "{e}");
    // Raw JSON through the generic setter is checked the same way.
    let e = l
        .set_setting("tariffs", Some("[1,2]"), None)
        .expect_err("not json");
    assert_eq!(e.code(), "BAD_SETTING");
    assert_eq!(l.audit_rows().expect("audit").len(), audit_len);
    assert_eq!(l.tariffs().expect("read"), stored);
}

#[test]
fn autolock_minutes_is_a_checked_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = new_ledger(dir.path(), "a.sqlite");
    assert_eq!(l.autolock_minutes().expect("read"), None);
    l.set_setting("autolock_minutes", Some("15"), None)
        .expect("set");
    assert_eq!(l.autolock_minutes().expect("read"), Some(15));
    for bad in ["0", "1441", "-3", "ten", ""] {
        let e = l
            .set_setting("autolock_minutes", Some(bad), None)
            .expect_err(bad);
        assert_eq!(e.code(), "BAD_SETTING", "{bad}");
    }
    assert_eq!(l.autolock_minutes().expect("read"), Some(15));
    l.set_setting("autolock_minutes", None, None)
        .expect("clear");
    assert_eq!(l.autolock_minutes().expect("read"), None);
}

#[test]
fn peek_serials_previews_without_taking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = new_ledger(dir.path(), "s.sqlite");
    let pattern = "PV-{seq:03}";
    l.add_units(&[unit("PV-002", 2)], None).expect("add");
    let peek = l.peek_serials(pattern, 3).expect("peek");
    assert_eq!(peek, ["PV-001", "PV-003", "PV-004"]);
    assert_eq!(
        l.peek_serials(pattern, 3).expect("again"),
        peek,
        "nothing taken"
    );
    assert_eq!(l.next_serial(pattern).expect("next"), "PV-001");
    assert_eq!(l.next_serial(pattern).expect("next"), "PV-003");
    assert_eq!(
        l.peek_serials(pattern, 2).expect("peek"),
        ["PV-004", "PV-005"]
    );
    assert_eq!(
        l.peek_serials("no-seq", 1).expect_err("bad").code(),
        "BAD_SERIAL_PATTERN"
    );
    assert_eq!(
        l.peek_serials("THIS-IS-TOO-LONG-{seq}", 1)
            .expect_err("long")
            .code(),
        "BAD_SERIAL"
    );
}

#[test]
fn is_passphrase_compares_without_changing_the_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = new_ledger(dir.path(), "p.sqlite");
    assert!(l.is_passphrase(&pass()).expect("same"));
    assert!(!l.is_passphrase(&bundle_pass()).expect("other"));
}

#[test]
fn export_files_are_written_whole_and_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("units.csv");
    paygo::ledger::write_export_file(&out, b"a,b\n", false).expect("write");
    assert_eq!(std::fs::read(&out).expect("read"), b"a,b\n");
    let e = paygo::ledger::write_export_file(&out, b"x", false).expect_err("exists");
    assert_eq!(e.code(), "IO");
    assert_eq!(std::fs::read(&out).expect("read"), b"a,b\n");
    paygo::ledger::write_export_file(&out, b"x", true).expect("overwrite");
    assert_eq!(std::fs::read(&out).expect("read"), b"x");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let partials = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(partials, 0);
    // A world-readable leftover partial file is not reused: the export is still owner-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let again = dir.path().join("again.csv");
        let stale = dir.path().join(".again.csv.partial");
        std::fs::write(&stale, b"old").expect("stale");
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        paygo::ledger::write_export_file(&again, b"keys", false).expect("write");
        let mode = std::fs::metadata(&again)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&again).expect("read"), b"keys");
    }
}

#[test]
fn assigning_a_unit_without_a_tariff_uses_the_default_tariff() {
    use paygo::ledger::Customer;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = new_ledger(dir.path(), "d.sqlite");
    l.add_units(&[unit("D-1", 0), unit("D-2", 0), unit("D-3", 0)], None)
        .expect("add");
    let awa = Customer {
        name: "Awa".into(),
        phone: None,
        location: None,
    };
    // No default yet: no tariff.
    l.assign("D-1", &awa, None, None).expect("assign");
    assert_eq!(l.unit("D-1").expect("unit").tariff_days_per_unit, None);
    l.set_tariffs(
        &Tariffs {
            default: Some("Daily".into()),
            list: vec![tariff("Daily", "0.5", "KES"), tariff("Weekly", "7", "KES")],
        },
        None,
    )
    .expect("tariffs");
    l.assign("D-2", &awa, None, None).expect("assign");
    assert_eq!(l.unit("D-2").expect("unit").tariff_days_per_unit, Some(0.5));
    let row = l.audit_rows().expect("audit").pop().expect("row");
    assert!(
        row.detail.contains("\"default_tariff\":\"Daily\""),
        "{}",
        row.detail
    );
    // An explicit tariff wins; a unit that has one keeps it on reassignment.
    l.assign("D-3", &awa, Some(7.0), None).expect("assign");
    assert_eq!(l.unit("D-3").expect("unit").tariff_days_per_unit, Some(7.0));
    l.assign("D-3", &awa, None, None).expect("reassign");
    assert_eq!(l.unit("D-3").expect("unit").tariff_days_per_unit, Some(7.0));
}
