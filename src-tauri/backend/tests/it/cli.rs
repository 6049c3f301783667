//! The `paygo token` contract, run through the real binary against every vector.

use crate::support::{json, paygo};
use serde_json::Value;

use test_support::{read, Row};

fn unit_args(row: &Row) -> Vec<String> {
    let mut args = vec!["--key".to_string(), row.get("key_hex").to_string()];
    if !row.flag("starting_code_derived") {
        args.extend([
            "--starting-code".to_string(),
            row.get("starting_code").to_string(),
        ]);
    }
    if row.flag("restricted") {
        args.push("--restricted".into());
    }
    args.extend([
        "--divider".to_string(),
        row.get("value_divider").to_string(),
    ]);
    args
}

#[test]
fn generate_every_vector_through_the_cli() {
    let rows = read("generate.csv");
    for row in &rows {
        let mut args: Vec<String> = ["token", "generate", "--json", "--count", row.get("count")]
            .map(String::from)
            .into();
        args.extend(unit_args(row));
        let flag = match row.get("type") {
            "ADD_TIME" => "--add",
            "SET_TIME" => "--set",
            "DISABLE_PAYG" => "--unlock",
            _ => "--sync",
        };
        args.push(flag.into());
        if let (Some(v), "--add" | "--set") = (row.opt("value"), flag) {
            args.push(v.into());
        }
        if row.flag("extended") {
            args.push("--extended".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = paygo(&refs);
        let v = json(&out);
        let at = format!("line {}", row.line);
        match row.opt("expected_error") {
            Some(code) if flag == "--add" || flag == "--set" => {
                assert!(!out.status.success(), "{at}");
                assert_eq!(v["error"]["code"], code, "{at}");
            }
            // The CLI has no way to pass a value with --unlock/--sync: clap refuses it.
            Some(_) => {}
            None => {
                assert!(out.status.success(), "{at}");
                assert_eq!(v["token"], row.get("expected_token"), "{at}");
                assert_eq!(v["count"], row.num::<u64>("expected_new_count"), "{at}");
                assert_eq!(v["type"], row.get("type"), "{at}");
                assert_eq!(v["value"], row.num::<u64>("encoded_value"), "{at}");
            }
        }
    }
}

#[test]
fn unlock_and_sync_refuse_a_value() {
    let key = ["--key", "a29ab82edc5fbbc41ec9530f6dac86b1", "--count", "1"];
    for flag in ["--unlock", "--sync"] {
        let out = paygo(&[&["token", "generate"], &key[..], &[flag, "5"]].concat());
        assert!(!out.status.success(), "{flag} 5 was accepted");
    }
}

/// Each scenario replayed step by step, feeding the state the CLI printed back into it.
#[test]
fn decode_every_scenario_through_the_cli() {
    let rows = read("decode.csv");
    let mut scenario = String::new();
    let (mut count, mut used) = (String::new(), String::new());
    for row in &rows {
        if row.get("scenario") != scenario {
            scenario = row.get("scenario").to_string();
            count = row.get("init_count").to_string();
            used.clear();
        }
        let at = format!("{scenario} step {}", row.get("step"));
        let mut args: Vec<String> = [
            "token",
            "decode",
            row.get("token"),
            "--json",
            "--count",
            &count,
            "--used",
            &used,
        ]
        .map(String::from)
        .into();
        args.extend(unit_args(row));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = paygo(&refs);
        assert!(
            out.status.success(),
            "{at}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        let alt = row.flag("cs_sensitive");
        let col = |main: &'static str, alt_col: &'static str| if alt { alt_col } else { main };
        assert_eq!(
            v["result"],
            row.get(col("expected_result", "alt_result")),
            "{at}"
        );
        match row.opt(col("expected_value_raw", "alt_value_raw")) {
            Some(raw) => {
                assert_eq!(v["value"], raw.parse::<u64>().expect("raw"), "{at}");
                assert_eq!(
                    v["count"],
                    row.num::<u64>(col("expected_count", "alt_count")),
                    "{at}"
                );
                let divider: f64 = row.num("value_divider");
                if matches!(v["result"].as_str(), Some("ADD_TIME" | "SET_TIME")) {
                    let days = raw.parse::<f64>().expect("raw") / divider;
                    assert_eq!(v["days"].as_f64(), Some(days), "{at}");
                } else {
                    assert!(v["days"].is_null(), "{at}");
                }
            }
            None => assert!(v["value"].is_null() && v["count"].is_null(), "{at}"),
        }
        assert_eq!(
            v["state"]["count"],
            row.num::<u64>(col("count_after", "alt_count_after")),
            "{at}"
        );
        count = v["state"]["count"].to_string();
        used = v["state"]["used"]
            .as_array()
            .expect("used list")
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(",");
    }
}

#[test]
fn human_output_groups_digits() {
    let out = paygo(&[
        "token",
        "generate",
        "--key",
        "a29ab82edc5fbbc41ec9530f6dac86b1",
        "--starting-code",
        "123456789",
        "--count",
        "0",
        "--add",
        "1",
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "662 486 790\n");
    let out = paygo(&[
        "token",
        "decode",
        "662-486-790",
        "--key",
        "a29ab82edc5fbbc41ec9530f6dac86b1",
        "--starting-code",
        "123456789",
        "--count",
        "0",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ADD_TIME 1 days (value 1, count 2)\ndevice count 2, used 0,2\n"
    );
}

#[test]
fn errors_are_clear_and_non_zero() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "token", "generate", "--key", "abc", "--count", "1", "--add", "1",
            ],
            "BAD_KEY",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86bz",
                "--count",
                "1",
                "--add",
                "1",
            ],
            "BAD_KEY",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
                "--add",
                "-1",
            ],
            "BAD_DAYS",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
                "--add",
                "NaN",
            ],
            "BAD_DAYS",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
                "--add",
                "996",
            ],
            "VALUE_TOO_HIGH",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
                "--add",
                "1",
                "--divider",
                "0",
            ],
            "BAD_DIVIDER",
        ),
        (
            &[
                "token",
                "generate",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "4294967295",
                "--add",
                "1",
            ],
            "COUNT_OVERFLOW",
        ),
        (
            &[
                "token",
                "decode",
                "12345678",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
            ],
            "BAD_TOKEN_LENGTH",
        ),
        (
            &[
                "token",
                "decode",
                "12345678x",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
            ],
            "BAD_TOKEN_CHARACTER",
        ),
        (
            &[
                "token",
                "decode",
                "123412341234125",
                "--restricted",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
            ],
            "BAD_RESTRICTED_DIGIT",
        ),
        (
            &[
                "token",
                "decode",
                "123456789",
                "--key",
                "a29ab82edc5fbbc41ec9530f6dac86b1",
                "--count",
                "1",
                "--used",
                "5",
            ],
            "BAD_USED_LIST",
        ),
    ];
    for (args, code) in cases {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let out = paygo(&with_json);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(json(&out)["error"]["code"], *code, "{args:?}");
        let out = paygo(args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.len() > 20,
            "{args:?}: {stderr}"
        );
    }
}
