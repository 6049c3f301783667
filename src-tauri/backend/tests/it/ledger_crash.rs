//! The real `paygo issue`, killed at random moments: the ledger stays consistent, no count is
//! issued twice, and every token printed before the kill is in the ledger.

use paygo::ledger::{KdfParams, Ledger, NewUnit, Passphrase};
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASS: &str = "crash test passphrase";

#[test]
fn issue_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let mut l = Ledger::create(&path, &Passphrase::new(PASS), KdfParams::INSECURE_FOR_TESTS)
        .expect("create");
    let key = paygo::token::parse_key("0102030405060708090A0B0C0D0E0F10").expect("key");
    l.add_unit(
        &NewUnit {
            serial: "CR-1".into(),
            model: None,
            key,
            starting_code: None,
            count: 0,
            restricted: false,
            divider: 1,
        },
        None,
    )
    .expect("add");
    drop(l);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = test_support::Rng(seed);
    let mut printed: Vec<(u64, String)> = Vec::new();
    let mut killed = 0;
    for run in 0..40 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygo"));
        cmd.arg("--ledger")
            .arg(&path)
            .args(["--json", "issue", "--unit", "CR-1", "--add", "1"])
            .env("PAYGO_PASSPHRASE", PASS)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if run % 3 == 0 {
            cmd.args(["--payment-ref", &format!("PAY-{}", run % 9)]);
        }
        let mut child = cmd.spawn().expect("spawn paygo");
        std::thread::sleep(Duration::from_micros(rng.next_u64() % 20_000));
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        if out.status.signal() == Some(9) {
            killed += 1;
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if let (Some(c), Some(t)) = (v["count"].as_u64(), v["token"].as_str()) {
                    printed.push((c, t.to_string()));
                }
            }
        }
    }
    eprintln!(
        "{killed} of 40 runs died of SIGKILL, {} tokens printed",
        printed.len()
    );

    let verify = Command::new(env!("CARGO_BIN_EXE_paygo"))
        .arg("--ledger")
        .arg(&path)
        .args(["--json", "ledger", "verify"])
        .output()
        .expect("verify");
    let report: Value = serde_json::from_slice(&verify.stdout).expect("verify JSON");
    assert_eq!(report["ok"], Value::Bool(true), "{report}");

    let l = Ledger::open(&path, None).expect("open");
    let tokens = l.tokens("CR-1").expect("tokens");
    let mut counts: Vec<u32> = tokens.iter().map(|t| t.count).collect();
    counts.dedup();
    assert_eq!(counts.len(), tokens.len(), "a count was issued twice");
    for (count, text) in &printed {
        assert!(
            tokens
                .iter()
                .any(|t| u64::from(t.count) == *count && &t.token == text),
            "printed token {text} (count {count}) is not in the ledger"
        );
    }
    // Payment references stayed unique per unit.
    let mut refs: Vec<&str> = tokens
        .iter()
        .filter_map(|t| t.payment_ref.as_deref())
        .collect();
    let n = refs.len();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), n);
}
