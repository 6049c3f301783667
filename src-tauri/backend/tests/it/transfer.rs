//! Import and export: the OpenPAYGO device CSV both ways, the tokens CSV, the encrypted
//! handover bundle; duplicates, conflicts, bad rows, wrong passphrases, damaged bundles.

use paygo::ledger::{
    BundleLimits, ImportOptions, IssueAction, IssueRequest, KdfParams, Ledger, LedgerError,
    NewUnit, Passphrase, Selection, Status, UnitQuery,
};
use paygo::token;
use std::path::Path;

pub const KEY_HEX: &str = "A29AB82EDC5FBBC41EC9530F6DAC86B1";

pub fn pass() -> Passphrase {
    Passphrase::new("ledger pass")
}

pub fn bundle_pass() -> Passphrase {
    Passphrase::new("bundle pass")
}

pub fn new_ledger(dir: &Path, name: &str) -> Ledger {
    Ledger::create(&dir.join(name), &pass(), KdfParams::INSECURE_FOR_TESTS).expect("create")
}

pub fn key(i: u8) -> [u8; 16] {
    let mut k = token::parse_key(KEY_HEX).expect("key");
    k[15] ^= i;
    k
}

pub fn unit(serial: &str, i: u8) -> NewUnit {
    NewUnit {
        serial: serial.into(),
        model: Some("SHS-10".into()),
        key: key(i),
        starting_code: Some(100_000_000 + u32::from(i)),
        count: u32::from(i),
        restricted: i % 2 == 1,
        divider: 1 + u32::from(i),
    }
}

/// Everything an import could change, for "nothing happened" checks.
pub fn snapshot(l: &Ledger) -> (String, usize, usize) {
    let page = l
        .list_units(&UnitQuery {
            page_size: 1000,
            ..UnitQuery::default()
        })
        .expect("list");
    let tokens: usize = page
        .units
        .iter()
        .map(|u| l.tokens(&u.serial).expect("tokens").len())
        .sum();
    (
        format!("{:?}", page.units),
        l.audit_rows().expect("audit").len(),
        tokens,
    )
}

fn refused(r: Result<paygo::ledger::ImportReport, LedgerError>) -> paygo::ledger::ImportReport {
    match r {
        Err(LedgerError::ImportRefused(report)) => *report,
        other => panic!("expected IMPORT_REFUSED, got {other:?}"),
    }
}

fn messages(report: &paygo::ledger::ImportReport) -> Vec<(Option<u64>, String)> {
    report
        .errors
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect()
}

fn opts() -> ImportOptions {
    ImportOptions {
        operator: Some("ops".into()),
        ..ImportOptions::default()
    }
}

pub fn test_limits() -> BundleLimits {
    BundleLimits {
        max_m_kib: 4096,
        max_t: 4,
        max_p: 4,
    }
}

#[test]
fn openpaygo_csv_round_trip_a_to_b() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    a.add_units(&[unit("SN-1", 1), unit("SN-2", 2), unit("SN-3", 3)], None)
        .expect("add");
    a.issue("SN-2", &IssueRequest::new(IssueAction::Add(3.0)))
        .expect("issue");
    let (csv, summary) = a
        .export_openpaygo_csv(&Selection::All, Some("ops"))
        .expect("export");
    assert_eq!(summary.serials, ["SN-1", "SN-2", "SN-3"]);
    let text = String::from_utf8(csv.to_vec()).expect("utf8");
    assert!(text.starts_with(
        "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code\r\n"
    ));
    assert!(
        text.contains(&KEY_HEX[..30].to_lowercase()),
        "raw keys in the CSV"
    );
    let export_row = a.audit_rows().expect("audit").pop().expect("row");
    assert_eq!(export_row.action, "export");
    assert!(export_row.detail.contains("SN-3"));

    let mut b = new_ledger(dir.path(), "b.sqlite");
    let report = b.import_openpaygo_csv(&csv, &opts()).expect("import");
    assert_eq!(report.imported, 3);
    assert!(report.errors.is_empty() && report.skipped.is_empty());
    for s in ["SN-1", "SN-2", "SN-3"] {
        let (ua, ub) = (a.unit(s).expect("a"), b.unit(s).expect("b"));
        assert_eq!(
            (
                ua.count,
                ua.starting_code,
                ua.restricted,
                ua.divider,
                &ua.model
            ),
            (
                ub.count,
                ub.starting_code,
                ub.restricted,
                ub.divider,
                &ub.model
            )
        );
        assert_eq!(ub.status, "provisioned");
        assert_eq!(ub.device_count, Some(ua.count));
        assert_eq!(
            a.unit_key(s).expect("key").expose(),
            b.unit_key(s).expect("key").expose()
        );
    }
    assert!(b.verify().expect("verify").ok);
    // The next token is the same on both sides.
    let req = IssueRequest::new(IssueAction::Add(2.0));
    assert_eq!(
        a.issue("SN-2", &req).expect("a").token,
        b.issue("SN-2", &req).expect("b").token
    );
    // Importing the same file again: identical units are skipped and reported, no error.
    let again = b
        .import_openpaygo_csv(
            &a.export_openpaygo_csv(&Selection::Serials(vec!["SN-1".into()]), None)
                .expect("export")
                .0,
            &opts(),
        )
        .expect("again");
    assert_eq!(again.imported, 0);
    assert_eq!(again.skipped.len(), 1);
    assert_eq!(again.skipped[0].serial, "SN-1");
    assert_eq!(again.skipped[0].line, Some(2));
    assert_eq!(
        again.skipped[0].reason,
        "already in the ledger with the same key, parameters and count"
    );
}

#[test]
fn csv_with_bom_crlf_quoting_spaces_and_firmware_version_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    let csv = format!(
        "\u{feff}serial number , Starting Code,KEY, Count ,Time Divider,Restricted Digit Mode,Hardware Model,Firmware Version,Test Code\r\n\
         \" SN-10 \",123456789, {KEY_HEX} ,4,2,1,\"Lamp, \"\"big\"\"\",v1.2,123456789\r\n\
         ,,,,,,,,\r\n\
         SN-11,,{},0,1,0,,,\r\n",
        KEY_HEX.to_lowercase().replace('a', "A")
    );
    let report = b
        .import_openpaygo_csv(csv.as_bytes(), &opts())
        .expect("import");
    assert_eq!(report.serials, ["SN-10", "SN-11"]);
    assert_eq!(
        report.warnings,
        ["1 row had a test code; the ledger does not keep test codes"]
    );
    let u = b.unit("SN-10").expect("unit");
    assert_eq!(u.model.as_deref(), Some("Lamp, \"big\""));
    assert_eq!(
        (u.starting_code, u.count, u.divider, u.restricted),
        (123_456_789, 4, 2, true)
    );
    assert_eq!(u.notes.as_deref(), Some("firmware version v1.2"));
    // An empty starting code is derived from the key (spec §3.3).
    let k = token::parse_key(KEY_HEX).expect("key");
    assert_eq!(
        b.unit("SN-11").expect("unit").starting_code,
        firmware_core::token::starting_code_from_key(&k)
    );
    // Exported again, the quoting survives and the version comes back.
    let (out, _) = b
        .export_openpaygo_csv(&Selection::Serials(vec!["SN-10".into()]), None)
        .expect("export");
    let text = String::from_utf8(out.to_vec()).expect("utf8");
    assert!(text.contains("\"Lamp, \"\"big\"\"\",v1.2,\r\n"), "{text}");
}

#[test]
fn bad_rows_are_all_reported_with_line_numbers_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    b.add_unit(&unit("SN-1", 1), None).expect("add");
    let before = snapshot(&b);
    let csv = format!(
        "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code\n\
         OK-1,1,{KEY_HEX},0,1,0,,,\n\
         BAD SERIAL,1000000000,abc,-1,0,2,,,12345678901\n\
         OK-2,1,{KEY_HEX},0,1,0\n\
         OK-1,1,{KEY_HEX},0,1,0,,,\n\
         OK-3,5,{KEY_HEX}Z,0,256,1,,,\n"
    );
    let report = refused(b.import_openpaygo_csv(csv.as_bytes(), &opts()));
    assert_eq!(report.imported, 0);
    assert_eq!(
        messages(&report),
        vec![
            (
                Some(3),
                "Serial Number: \"BAD SERIAL\" must be 1-16 characters of A-Z, a-z, 0-9 and -"
                    .to_string()
            ),
            (
                Some(3),
                "Key: expected 32 hexadecimal characters, found 3 characters".into()
            ),
            (
                Some(3),
                "Starting Code: \"1000000000\" is not a whole number from 0 to 999999999".into()
            ),
            (
                Some(3),
                "Count: \"-1\" is not a whole number from 0 to 4294967295".into()
            ),
            (
                Some(3),
                "Time Divider: \"0\" is not a whole number from 1 to 255".into()
            ),
            (
                Some(3),
                "Restricted Digit Mode: \"2\" must be 0 or 1".into()
            ),
            (Some(3), "Test Code: must be empty or up to 9 digits".into()),
            (Some(4), "expected 9 fields, found 6".into()),
            (
                Some(5),
                "serial OK-1 appears twice (first on line 2)".into()
            ),
            (
                Some(6),
                "Key: expected 32 hexadecimal characters, found 33 characters".into()
            ),
            (
                Some(6),
                "Time Divider: \"256\" is not a whole number from 1 to 255".into()
            ),
        ]
    );
    // The key is never echoed back.
    let all = format!("{report}");
    assert!(!all.to_lowercase().contains(&KEY_HEX.to_lowercase()));
    assert!(all.starts_with("import refused, nothing imported; 11 problems:\n  line 3: "));
    assert_eq!(snapshot(&b), before);
    // Header problems.
    let report = refused(b.import_openpaygo_csv(b"Serial Number,Key\nSN-1,00\n", &opts()));
    assert_eq!(
        messages(&report),
        vec![
            (Some(1), "missing column \"Starting Code\"".to_string()),
            (Some(1), "missing column \"Count\"".into()),
            (Some(1), "missing column \"Time Divider\"".into()),
            (Some(1), "missing column \"Restricted Digit Mode\"".into()),
        ]
    );
    let report = refused(b.import_openpaygo_csv(b"", &opts()));
    assert_eq!(report.errors[0].line, Some(1));
    assert!(report.errors[0].message.starts_with("the file is empty"));
    assert_eq!(snapshot(&b), before);
}

#[test]
fn duplicates_and_conflicting_counts_are_refused_with_both_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    b.add_units(&[unit("SN-1", 1), unit("SN-2", 2), unit("SN-3", 3)], None)
        .expect("add");
    for _ in 0..4 {
        b.issue("SN-1", &IssueRequest::new(IssueAction::Add(1.0)))
            .expect("issue");
    }
    let count1 = b.unit("SN-1").expect("unit").count;
    let hex = |i: u8| {
        key(i)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let csv = format!(
        "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code\n\
         SN-1,100000001,{},1,2,1,,,\n\
         SN-2,100000002,{},2,3,0,,,\n\
         SN-3,100000003,{},3,9,1,,,\n\
         SN-5,999999999,{},5,6,1,,,\n\
         SN-4,1,{},0,1,0,,,\n",
        hex(1),
        hex(9),
        hex(3),
        hex(5),
        hex(4)
    );
    b.add_unit(&unit("SN-5", 5), None).expect("add");
    let before = snapshot(&b);
    let report = refused(b.import_openpaygo_csv(csv.as_bytes(), &opts()));
    assert_eq!(
        messages(&report),
        vec![
            (Some(2), format!("unit SN-1: count conflict: the ledger has count {count1}, the file has count 1; refusing to change a count (it is never lowered)")),
            (Some(3), "unit SN-2 is already in the ledger with a different key; refusing to replace it".into()),
            (Some(4), "unit SN-3 is already in the ledger with other parameters (ledger vs file: divider 4 vs 9); refusing to change them".into()),
            // The ledger's starting code is as secret as the key: named, never shown.
            (Some(5), "unit SN-5 is already in the ledger with other parameters (ledger vs file: starting code differs); refusing to change them".into()),
        ]
    );
    assert!(!format!("{report:?}").contains("100000005"));
    assert_eq!(report.errors[0].serial.as_deref(), Some("SN-1"));
    assert_eq!(snapshot(&b), before, "SN-4 must not be imported either");
    // Dry run of a good file: reported, nothing written.
    let good = format!(
        "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code\n\
         SN-2,100000002,{},2,3,0,SHS-10,,\n\
         SN-4,1,{},0,1,0,,,\n",
        hex(2),
        hex(4)
    );
    let dry = b
        .import_openpaygo_csv(
            good.as_bytes(),
            &ImportOptions {
                dry_run: true,
                ..opts()
            },
        )
        .expect("dry run");
    assert!(dry.dry_run);
    assert_eq!(
        (dry.imported, dry.serials.clone()),
        (1, vec!["SN-4".to_string()])
    );
    assert_eq!(dry.skipped[0].serial, "SN-2");
    assert_eq!(snapshot(&b), before);
    let real = b
        .import_openpaygo_csv(good.as_bytes(), &opts())
        .expect("import");
    assert_eq!(real.imported, 1);
    let last = b.audit_rows().expect("audit").pop().expect("row");
    assert_eq!(last.action, "import");
    assert!(
        last.detail.contains("\"skipped\":[\"SN-2\"]"),
        "{}",
        last.detail
    );
    assert!(b.verify().expect("verify").ok);
}

#[test]
fn bundle_round_trip_with_tokens_and_audit_on_both_sides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    a.add_units(&[unit("SN-1", 1), unit("SN-2", 2)], None)
        .expect("add");
    let mut req = IssueRequest::new(IssueAction::Add(5.0));
    req.payment_ref = Some("PAY-1".into());
    req.amount_milli = Some(12_500);
    a.issue("SN-1", &req).expect("issue");
    a.issue("SN-1", &IssueRequest::new(IssueAction::Add(1.0)))
        .expect("issue");
    a.set_status("SN-2", Status::InStock, "ops", "back on the shelf")
        .expect("status");
    let mut unlock = IssueRequest::new(IssueAction::Unlock);
    unlock.operator = Some("supervisor".into());
    a.add_unit(&unit("SN-3", 3), None).expect("add");
    a.issue("SN-3", &unlock).expect("unlock");
    let (bytes, summary) = a
        .export_bundle(
            &Selection::All,
            true,
            &bundle_pass(),
            KdfParams::INSECURE_FOR_TESTS,
            Some("factory"),
        )
        .expect("bundle");
    assert_eq!(summary.tokens, 3);
    let id = summary.bundle_id.clone().expect("id");
    let out_row = a.audit_rows().expect("audit").pop().expect("row");
    assert_eq!(out_row.action, "handover_out");
    assert!(out_row.detail.contains(&id) && out_row.detail.contains("\"SN-1\",\"SN-2\",\"SN-3\""));

    // No key, serial or token in cleartext.
    for k in [key(1), key(2)] {
        assert!(!bytes.windows(16).any(|w| w == k));
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        for h in [hex.clone(), hex.to_uppercase()] {
            assert!(!bytes.windows(32).any(|w| w == h.as_bytes()));
        }
    }
    assert!(!bytes.windows(4).any(|w| w == b"SN-1"));
    assert_eq!(&bytes[..8], paygo::ledger::BUNDLE_MAGIC);

    let mut b = new_ledger(dir.path(), "b.sqlite");
    let o = ImportOptions {
        limits: test_limits(),
        ..opts()
    };
    let report = b.import_bundle(&bytes, &bundle_pass(), &o).expect("import");
    assert_eq!((report.imported, report.tokens), (3, 3));
    let u3 = b.unit("SN-3").expect("SN-3");
    assert_eq!((u3.status.as_str(), u3.payg_disabled), ("unlocked", true));
    assert_eq!(report.bundle_id.as_deref(), Some(id.as_str()));
    assert_eq!(a.tokens("SN-1").expect("a"), b.tokens("SN-1").expect("b"));
    let (ua, ub) = (a.unit("SN-2").expect("a"), b.unit("SN-2").expect("b"));
    assert_eq!(ub.status, "in_stock");
    assert_eq!(
        (
            ua.count,
            ua.device_count,
            ua.starting_code,
            ua.divider,
            ua.restricted
        ),
        (
            ub.count,
            ub.device_count,
            ub.starting_code,
            ub.divider,
            ub.restricted
        )
    );
    assert_eq!(
        a.unit_key("SN-2").expect("a").expose(),
        b.unit_key("SN-2").expect("b").expose()
    );
    let in_row = b.audit_rows().expect("audit").pop().expect("row");
    assert_eq!(in_row.action, "handover_in");
    assert!(in_row.detail.contains(&id));
    let v = b.verify().expect("verify");
    assert!(v.ok, "{:?}", v.problems);
    // The payment reference came along: the same payment returns the same token.
    let again = b.issue("SN-1", &req).expect("idempotent");
    assert!(again.idempotent);
    // The same bundle again: identical units skipped, nothing new.
    let before = snapshot(&b);
    let again = b.import_bundle(&bytes, &bundle_pass(), &o).expect("again");
    assert_eq!((again.imported, again.skipped.len()), (0, 3));
    assert_eq!(snapshot(&b).0, before.0);
    // Issuing on A moves its count: its next bundle conflicts with B.
    a.issue("SN-1", &IssueRequest::new(IssueAction::Add(1.0)))
        .expect("issue");
    let (newer, _) = a
        .export_bundle(
            &Selection::Serials(vec!["SN-1".into()]),
            false,
            &bundle_pass(),
            KdfParams::INSECURE_FOR_TESTS,
            None,
        )
        .expect("bundle");
    let before = snapshot(&b);
    let report = refused(b.import_bundle(&newer, &bundle_pass(), &o));
    let (cb, ca) = (
        b.unit("SN-1").expect("b").count,
        a.unit("SN-1").expect("a").count,
    );
    assert!(ca > cb);
    assert_eq!(
        messages(&report),
        vec![(None, format!("unit SN-1: count conflict: the ledger has count {cb}, the file has count {ca}; refusing to change a count (it is never lowered)"))]
    );
    assert_eq!(snapshot(&b), before);
}

#[test]
fn wrong_passphrase_truncated_and_tampered_bundles_import_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    a.add_units(&[unit("SN-1", 1)], None).expect("add");
    let (bytes, _) = a
        .export_bundle(
            &Selection::All,
            false,
            &bundle_pass(),
            KdfParams::INSECURE_FOR_TESTS,
            None,
        )
        .expect("bundle");
    let mut b = new_ledger(dir.path(), "b.sqlite");
    let before = snapshot(&b);
    let o = ImportOptions {
        limits: test_limits(),
        ..opts()
    };
    let code = |b: &mut Ledger, data: &[u8], p: &Passphrase| -> (String, String) {
        let e = b.import_bundle(data, p, &o).expect_err("must fail");
        (e.code().to_string(), e.to_string())
    };
    assert_eq!(
        code(&mut b, &bytes, &Passphrase::new("nope")),
        (
            "WRONG_BUNDLE_PASSPHRASE".into(),
            "wrong bundle passphrase (or the bundle's header was altered)".into()
        )
    );
    // The ledger passphrase is not the bundle passphrase.
    assert_eq!(code(&mut b, &bytes, &pass()).0, "WRONG_BUNDLE_PASSPHRASE");
    let n = bytes.len();
    assert_eq!(
        code(&mut b, &bytes[..n - 1], &bundle_pass()),
        (
            "BUNDLE_TRUNCATED".into(),
            format!(
                "the handover bundle is truncated: {} bytes, expected {n}",
                n - 1
            )
        )
    );
    assert_eq!(
        code(&mut b, &bytes[..40], &bundle_pass()).0,
        "BUNDLE_TRUNCATED"
    );
    let mut tampered = bytes.clone();
    tampered[n - 20] ^= 1;
    assert_eq!(
        code(&mut b, &tampered, &bundle_pass()),
        (
            "BUNDLE_TAMPERED".into(),
            "the handover bundle was altered or damaged: its contents fail authentication".into()
        )
    );
    let mut header = bytes.clone();
    header[25] ^= 1; // the salt
    assert_eq!(
        code(&mut b, &header, &bundle_pass()).0,
        "WRONG_BUNDLE_PASSPHRASE"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(code(&mut b, &longer, &bundle_pass()).0, "BUNDLE_MALFORMED");
    let mut costly = bytes.clone();
    costly[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(code(&mut b, &costly, &bundle_pass()).0, "BUNDLE_MALFORMED");
    let mut version = bytes.clone();
    version[8] = 2;
    assert_eq!(code(&mut b, &version, &bundle_pass()).0, "BUNDLE_VERSION");
    assert_eq!(
        code(&mut b, b"Serial Number,Key", &bundle_pass()).0,
        "NOT_A_BUNDLE"
    );
    assert_eq!(snapshot(&b), before);
    // A locked ledger cannot import (keys must be sealed on the way in).
    let mut locked = Ledger::open(&dir.path().join("b.sqlite"), None).expect("open");
    assert_eq!(code(&mut locked, &bytes, &bundle_pass()).0, "LEDGER_LOCKED");
}

#[test]
fn tokens_csv_for_accounting_quotes_free_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = new_ledger(dir.path(), "a.sqlite");
    a.add_units(&[unit("SN-1", 0)], None).expect("add");
    let mut req = IssueRequest::new(IssueAction::Add(2.5));
    req.payment_ref = Some("M-PESA \"QX1\", 2".into());
    req.amount_milli = Some(1_250);
    req.operator = Some("=cmd|' /C calc'!A0".into());
    let t = a.issue("SN-1", &req).expect("issue");
    let mut unlocked = Ledger::open(&dir.path().join("a.sqlite"), None).expect("open");
    let (bytes, summary) = unlocked
        .export_tokens_csv(&Selection::All, None)
        .expect("export");
    assert_eq!(summary.tokens, 1);
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "serial",
            "count",
            "type",
            "value",
            "days",
            "token",
            "payment_ref",
            "amount",
            "operator",
            "time"
        ]
    );
    let row = r.records().next().expect("row").expect("record");
    assert_eq!(&row[0], "SN-1");
    assert_eq!(row[1].parse::<u32>().expect("count"), t.count);
    assert_eq!(&row[2], "ADD_TIME");
    assert_eq!(&row[4], "2"); // 2.5 days × divider 1, rounded half to even
    assert_eq!(&row[5], t.token);
    assert_eq!(&row[6], "M-PESA \"QX1\", 2");
    assert_eq!(&row[7], "1.25");
    assert_eq!(&row[8], "'=cmd|' /C calc'!A0", "formula neutralised");
    assert!(row[9].ends_with('Z') && row[9].len() == 20, "{}", &row[9]);
    assert_eq!(paygo::ledger::iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        paygo::ledger::iso_utc(1_700_000_000),
        "2023-11-14T22:13:20Z"
    );
}
