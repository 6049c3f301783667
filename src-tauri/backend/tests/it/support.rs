//! Running the real `paygo` binary from tests.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

/// Run `paygo` with `args`, no passphrases from the environment, empty stdin.
pub fn paygo(args: &[&str]) -> Output {
    paygo_env(args, &[])
}

/// [`paygo`] with environment variables set.
pub fn paygo_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygo"));
    cmd.args(args)
        .env_remove("PAYGO_PASSPHRASE")
        .env_remove("PAYGO_BUNDLE_PASSPHRASE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run paygo")
}

/// stdout as JSON, with both streams in the panic message when it is not.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `paygo --ledger L --json ARGS` with env: (success, JSON).
pub fn paygo_ledger(
    ledger: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, Value) {
    let ledger = ledger.to_str().expect("utf-8 path");
    let mut all = vec!["--ledger", ledger, "--json"];
    all.extend_from_slice(args);
    let out = paygo_env(&all, env);
    (out.status.success(), json(&out))
}
