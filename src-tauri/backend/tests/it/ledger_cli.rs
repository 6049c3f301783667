//! `paygo ledger|unit|issue` through the real binary: JSON shapes and error codes.

use serde_json::Value;
use std::path::Path;

const KEY: &str = "A29AB82EDC5FBBC41EC9530F6DAC86B1";

fn paygo(ledger: &Path, pass: Option<&str>, args: &[&str]) -> (bool, Value) {
    let env: Vec<(&str, &str)> = pass.map(|p| ("PAYGO_PASSPHRASE", p)).into_iter().collect();
    crate::support::paygo_ledger(ledger, &env, args)
}

#[test]
fn ledger_commands_print_json_and_stable_error_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = dir.path().join("sub").join("ledger.sqlite");
    let p = Some("pw");
    let (ok, v) = paygo(&l, None, &["ledger", "init"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "NO_PASSPHRASE");
    let (ok, v) = paygo(&l, None, &["unit", "list"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "NO_LEDGER");
    assert!(paygo(&l, p, &["ledger", "init"]).0);
    let (ok, v) = paygo(&l, p, &["ledger", "init"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "LEDGER_EXISTS");
    let (ok, v) = paygo(
        &l,
        p,
        &[
            "unit",
            "add",
            "SN-1",
            "--key",
            KEY,
            "--starting-code",
            "123456789",
        ],
    );
    assert!(ok, "{v}");
    let (ok, v) = paygo(&l, Some("nope"), &["issue", "--unit", "SN-1", "--add", "1"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "WRONG_PASSPHRASE");
    let args = [
        "issue",
        "--unit",
        "SN-1",
        "--add",
        "7",
        "--payment-ref",
        "R1",
    ];
    let (ok, first) = paygo(&l, p, &args);
    assert!(ok, "{first}");
    for field in ["token", "count", "unit", "type", "warnings", "idempotent"] {
        assert!(first.get(field).is_some(), "{field} missing: {first}");
    }
    assert_eq!(first["type"], "ADD_TIME");
    assert_eq!(first["idempotent"], false);
    let (_, again) = paygo(&l, p, &args);
    assert_eq!(
        (again["token"].clone(), again["idempotent"].clone()),
        (first["token"].clone(), Value::Bool(true))
    );
    let (ok, v) = paygo(&l, p, &["issue", "--unit", "SN-1", "--sync"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "OPERATOR_REQUIRED");
    let (ok, v) = paygo(
        &l,
        p,
        &["issue", "--unit", "SN-1", "--sync", "--operator", "sup"],
    );
    assert!(ok, "{v}");
    // Reading needs no passphrase; the key is never shown.
    let (ok, show) = paygo(&l, None, &["unit", "show", "SN-1"]);
    assert!(ok, "{show}");
    assert_eq!(show["tokens_issued"], 2);
    assert!(!show
        .to_string()
        .to_lowercase()
        .contains(&KEY.to_lowercase()));
    let (ok, v) = paygo(
        &l,
        None,
        &[
            "unit",
            "assign",
            "SN-1",
            "--customer",
            "Amina",
            "--tariff",
            "0.5",
        ],
    );
    assert!(ok, "{v}");
    let (ok, v) = paygo(
        &l,
        None,
        &["unit", "list", "--status", "assigned", "--page-size", "10"],
    );
    assert!(ok, "{v}");
    assert_eq!(v["total"], 1);
    let (ok, v) = paygo(
        &l,
        None,
        &[
            "unit",
            "notes",
            "SN-1",
            "  Behind the school; call Amina first. ",
            "--operator",
            "ana",
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(v["notes"], "Behind the school; call Amina first.");
    let too_long = "x".repeat(2_001);
    let (ok, v) = paygo(&l, None, &["unit", "notes", "SN-1", &too_long]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "NOTES_TOO_LONG");
    let (ok, v) = paygo(&l, None, &["unit", "show", "SN-1"]);
    assert!(ok, "{v}");
    assert_eq!(v["notes"], "Behind the school; call Amina first.");
    let (ok, v) = paygo(&l, None, &["unit", "notes", "SN-1", ""]);
    assert!(ok, "{v}");
    assert_eq!(v["notes"], Value::Null);
    let (ok, v) = paygo(&l, None, &["ledger", "verify"]);
    assert!(ok, "{v}");
    assert_eq!(v["ok"], true);
}

#[test]
fn the_supervisor_pin_guards_unlock_tokens_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = dir.path().join("ledger.sqlite");
    let p = Some("pw");
    assert!(paygo(&l, p, &["ledger", "init"]).0);
    assert!(paygo(&l, p, &["unit", "add", "SN-1", "--key", KEY]).0);
    let (ok, v) = paygo(&l, p, &["ledger", "supervisor-pin", "--pin", "12"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "BAD_SUPERVISOR_PIN");
    let (ok, v) = paygo(&l, p, &["ledger", "supervisor-pin", "--pin", "5791"]);
    assert!(ok, "{v}");
    let unlock = ["issue", "--unit", "SN-1", "--unlock", "--operator", "amina"];
    let (ok, v) = paygo(&l, p, &unlock);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "SUPERVISOR_PIN_REQUIRED");
    let mut args = unlock.to_vec();
    args.extend(["--supervisor-pin", "5791"]);
    let (ok, v) = paygo(&l, p, &args);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "REASON_REQUIRED");
    args.extend(["--reason", "paid off"]);
    let (ok, v) = paygo(&l, p, &args);
    assert!(ok, "{v}");
    assert_eq!(v["type"], "DISABLE_PAYG");
}

#[test]
fn unit_list_sorts_both_ways_and_refuses_unknown_sorts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = dir.path().join("ledger.sqlite");
    let p = Some("pw");
    assert!(paygo(&l, p, &["ledger", "init"]).0);
    for serial in ["SN-1", "SN-2"] {
        let (ok, v) = paygo(&l, p, &["unit", "add", serial, "--key", KEY]);
        assert!(ok, "{v}");
    }
    let (ok, v) = paygo(&l, p, &["issue", "--unit", "SN-1", "--add", "3"]);
    assert!(ok, "{v}");
    let serials = |v: &Value| -> Vec<String> {
        v["units"]
            .as_array()
            .expect("units")
            .iter()
            .map(|u| u["serial"].as_str().expect("serial").to_string())
            .collect()
    };
    let (ok, asc) = paygo(&l, None, &["unit", "list", "--sort", "credit_until"]);
    assert!(ok, "{asc}");
    assert_eq!(serials(&asc), ["SN-2", "SN-1"]);
    assert!(asc["units"][1]["credit_until"].as_i64().is_some());
    assert!(asc["units"][0]["credit_until"].is_null());
    let (ok, desc) = paygo(
        &l,
        None,
        &["unit", "list", "--sort", "credit_until", "--desc"],
    );
    assert!(ok, "{desc}");
    assert_eq!(serials(&desc), ["SN-1", "SN-2"]);
    let (ok, v) = paygo(&l, None, &["unit", "list", "--sort", "price"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "BAD_SORT");
}
