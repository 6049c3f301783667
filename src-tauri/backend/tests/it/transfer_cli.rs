//! `paygo ledger export|import` through the real binary: JSON summaries, refusals with every
//! problem listed, dry runs, bundles with their own passphrase.

use serde_json::Value;
use std::path::Path;

const KEY: &str = "a29ab82edc5fbbc41ec9530f6dac86b1";

fn paygo(ledger: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, Value) {
    crate::support::paygo_ledger(ledger, env, args)
}

#[test]
fn export_and_import_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
    let pa = [("PAYGO_PASSPHRASE", "pass-a")];
    let pb = [("PAYGO_PASSPHRASE", "pass-b")];
    assert!(paygo(&a, &pa, &["ledger", "init"]).0);
    assert!(paygo(&b, &pb, &["ledger", "init"]).0);
    for s in ["SN-1", "SN-2"] {
        let (ok, v) = paygo(&a, &pa, &["unit", "add", s, "--key", KEY, "--count", "3"]);
        assert!(ok, "{v}");
    }
    let csv = dir.path().join("units.csv");
    let csv_s = csv.to_str().expect("path");
    let (ok, v) = paygo(
        &a,
        &pa,
        &[
            "ledger",
            "export",
            "--format",
            "openpaygo-csv",
            "--out",
            csv_s,
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(v["exported"], 2);
    assert_eq!(v["warning"], "the file holds the raw device keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&csv).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No overwrite without --force.
    let (ok, v) = paygo(
        &a,
        &pa,
        &[
            "ledger",
            "export",
            "--format",
            "openpaygo-csv",
            "--out",
            csv_s,
        ],
    );
    assert!(!ok);
    assert_eq!(v["error"]["code"], "IO");

    let (ok, v) = paygo(
        &b,
        &pb,
        &[
            "ledger",
            "import",
            "--format",
            "openpaygo-csv",
            csv_s,
            "--dry-run",
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(
        (v["imported"].clone(), v["dry_run"].clone()),
        (2.into(), true.into())
    );
    let (_, list) = paygo(&b, &[], &["unit", "list"]);
    assert_eq!(list["total"], 0, "a dry run changes nothing");
    let (ok, v) = paygo(
        &b,
        &pb,
        &["ledger", "import", "--format", "openpaygo-csv", csv_s],
    );
    assert!(ok, "{v}");
    assert_eq!(v["imported"], 2);
    assert_eq!(v["skipped"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
    let (ok, v) = paygo(
        &b,
        &pb,
        &["ledger", "import", "--format", "openpaygo-csv", csv_s],
    );
    assert!(ok, "{v}");
    assert_eq!(v["imported"], 0);
    assert_eq!(v["skipped"][1]["serial"], "SN-2");

    // A refused import prints the summary with every problem, and exits non-zero.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode,Hardware Model,Version,Test Code\n\
             SN-9,1,{KEY},0,1,0,,,\nSN-10,1,{KEY},0,0,0,,,\n"
        ),
    )
    .expect("write");
    let (ok, v) = paygo(
        &b,
        &pb,
        &[
            "ledger",
            "import",
            "--format",
            "openpaygo-csv",
            bad.to_str().expect("p"),
        ],
    );
    assert!(!ok);
    assert_eq!(v["error"]["code"], "IMPORT_REFUSED");
    assert_eq!(v["imported"], 0);
    assert_eq!(
        v["errors"],
        serde_json::json!([{"line": 3, "serial": "SN-10", "message": "Time Divider: \"0\" is not a whole number from 1 to 255"}])
    );
    let (_, list) = paygo(&b, &[], &["unit", "list"]);
    assert_eq!(list["total"], 2);

    // Bundle: its own passphrase, refused when it is the ledger's.
    let bundle = dir.path().join("handover.bin");
    let bundle_s = bundle.to_str().expect("p");
    let same = [
        ("PAYGO_PASSPHRASE", "pass-a"),
        ("PAYGO_BUNDLE_PASSPHRASE", "pass-a"),
    ];
    let (ok, v) = paygo(
        &a,
        &same,
        &["ledger", "export", "--format", "bundle", "--out", bundle_s],
    );
    assert!(!ok);
    assert_eq!(v["error"]["code"], "BUNDLE_PASSPHRASE_REUSED");
    let (ok, v) = paygo(
        &a,
        &pa,
        &["ledger", "export", "--format", "bundle", "--out", bundle_s],
    );
    assert!(!ok);
    assert_eq!(v["error"]["code"], "NO_BUNDLE_PASSPHRASE");
    let ea = [
        ("PAYGO_PASSPHRASE", "pass-a"),
        ("PAYGO_BUNDLE_PASSPHRASE", "handover"),
    ];
    let (ok, v) = paygo(
        &a,
        &ea,
        &[
            "ledger", "export", "--format", "bundle", "--out", bundle_s, "--serial", "SN-2",
            "--tokens",
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(v["serials"], serde_json::json!(["SN-2"]));
    let c = dir.path().join("c.sqlite");
    let pc = [("PAYGO_PASSPHRASE", "pass-c")];
    assert!(paygo(&c, &pc, &["ledger", "init"]).0);
    let wrong = [
        ("PAYGO_PASSPHRASE", "pass-c"),
        ("PAYGO_BUNDLE_PASSPHRASE", "nope"),
    ];
    let (ok, v) = paygo(
        &c,
        &wrong,
        &["ledger", "import", "--format", "bundle", bundle_s],
    );
    assert!(!ok);
    assert_eq!(v["error"]["code"], "WRONG_BUNDLE_PASSPHRASE");
    let ec = [
        ("PAYGO_PASSPHRASE", "pass-c"),
        ("PAYGO_BUNDLE_PASSPHRASE", "handover"),
    ];
    let (ok, v) = paygo(
        &c,
        &ec,
        &["ledger", "import", "--format", "bundle", bundle_s],
    );
    assert!(ok, "{v}");
    assert_eq!(v["imported"], 1);
    let (ok, v) = paygo(&c, &[], &["ledger", "verify"]);
    assert!(ok, "{v}");

    // Tokens CSV needs no passphrase.
    let tokens = dir.path().join("tokens.csv");
    let (ok, v) = paygo(
        &a,
        &[],
        &[
            "ledger",
            "export",
            "--format",
            "tokens-csv",
            "--out",
            tokens.to_str().expect("p"),
            "--status",
            "provisioned",
        ],
    );
    assert!(ok, "{v}");
    let text = std::fs::read_to_string(&tokens).expect("read");
    assert!(
        text.starts_with("serial,count,type,value,days,token,payment_ref,amount,operator,time\r\n")
    );
}
