//! The simulated device through the real CLI and back-end: provisioning, tokens, state that
//! survives power cuts, lockout, bad input.

use crate::harness::{paygo, paygo_json, token, Sim, KEY, STARTING_CODE};
use paygo::device::DeviceClient;
use std::io::Write;

fn provision(sim: &Sim, serial: &str, count: &str) {
    let sc = STARTING_CODE.to_string();
    let v = paygo_json(&[
        "device",
        "provision",
        "--json",
        "--port",
        sim.port(),
        "--serial",
        serial,
        "--key",
        KEY,
        "--starting-code",
        &sc,
        "--count",
        count,
    ]);
    assert_eq!(v["verified"], true);
}

fn enter(sim: &Sim, token: &str) -> serde_json::Value {
    paygo_json(&["device", "token", "--json", "--port", sim.port(), token])
}

fn status(sim: &Sim) -> serde_json::Value {
    paygo_json(&["device", "info", "--json", "--port", sim.port()])["status"].clone()
}

#[test]
fn provision_tokens_and_power_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::start(dir.path(), &[]);
    let info = paygo_json(&["device", "info", "--json", "--port", sim.port()]);
    assert_eq!(info["identity"]["provisioned"], false);
    assert!(info["status"].is_null());

    provision(&sim, "SN-0001", "0");
    // One-time: a second provisioning is refused with a clear code, and changes nothing.
    let sc = STARTING_CODE.to_string();
    let out = paygo(&[
        "device",
        "provision",
        "--json",
        "--port",
        sim.port(),
        "--serial",
        "SN-0002",
        "--key",
        KEY,
        "--starting-code",
        &sc,
    ]);
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(err["error"]["code"], "ALREADY_PROVISIONED");

    let add7 = token(0, &["--add", "7"]);
    let v = enter(&sim, &add7);
    assert_eq!(
        (
            v["result"].as_str(),
            v["value"].as_u64(),
            v["count"].as_u64()
        ),
        (Some("ADD_TIME"), Some(7), Some(2))
    );
    assert_eq!(enter(&sim, &add7)["result"], "ALREADY_USED");
    assert_eq!(enter(&sim, "111 111 111")["result"], "INVALID");
    let s = status(&sim);
    assert_eq!(s["count"], 2);
    assert_eq!(s["state"], "ACTIVE");
    let credit = s["credit_seconds"].as_u64().expect("credit");
    assert!((7 * 86_400 - 60..=7 * 86_400).contains(&credit), "{credit}");

    // Power cut, then power back: everything is still there.
    sim.kill();
    let sim = Sim::start(dir.path(), &[]);
    let info = paygo_json(&["device", "info", "--json", "--port", sim.port()]);
    assert_eq!(info["identity"]["serial"], "SN-0001");
    assert_eq!(info["status"]["count"], 2);
    assert_eq!(info["status"]["state"], "ACTIVE");
    assert_eq!(enter(&sim, &add7)["result"], "ALREADY_USED");
    // The next token issued after the cut is accepted.
    let set1 = token(2, &["--set", "1"]);
    let v = enter(&sim, &set1);
    assert_eq!(
        (v["result"].as_str(), v["count"].as_u64()),
        (Some("SET_TIME"), Some(3))
    );
}

#[test]
fn wrong_tokens_lock_entry_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::start(dir.path(), &[]);
    provision(&sim, "LOCK-1", "1");
    for _ in 0..2 {
        assert_eq!(enter(&sim, "123 123 123")["result"], "INVALID");
    }
    // The third consecutive wrong token locks entry for 2 minutes.
    assert_eq!(enter(&sim, "321 321 321")["result"], "INVALID");
    let v = enter(&sim, &token(1, &["--add", "1"]));
    assert_eq!(v["result"], "LOCKED");
    assert!(
        (100..=120).contains(&v["lockout_seconds"].as_u64().expect("seconds")),
        "{v}"
    );
    sim.kill();
    let sim = Sim::start(dir.path(), &[]);
    let v = enter(&sim, &token(1, &["--add", "1"]));
    assert_eq!(
        v["result"], "LOCKED",
        "a power cycle must not lift the lockout"
    );
}

#[test]
fn accelerated_clock_expires_credit() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One simulated day per real second.
    let sim = Sim::start(dir.path(), &["--clock-speed", "86400"]);
    provision(&sim, "CLOCK-1", "1");
    assert_eq!(
        enter(&sim, &token(1, &["--add", "1"]))["result"],
        "ADD_TIME"
    );
    let mut state = status(&sim)["state"].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while state == "ACTIVE" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
        state = status(&sim)["state"].clone();
    }
    assert_eq!(state, "INACTIVE");
}

#[test]
fn pre_provisioned_simulator_and_garbage_on_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = STARTING_CODE.to_string();
    let sim = Sim::start(
        dir.path(),
        &["--serial", "DEMO-1", "--key", KEY, "--starting-code", &sc],
    );
    let mut client = DeviceClient::connect(sim.port()).expect("connect");
    assert_eq!(client.identity().serial.as_deref(), Some("DEMO-1"));
    client
        .verify_key(&paygo::token::parse_key(KEY).expect("key"))
        .expect("challenge");
    let wrong = paygo::token::parse_key("000102030405060708090a0b0c0d0e0f").expect("key");
    assert!(matches!(
        client.verify_key(&wrong),
        Err(paygo::Error::ChallengeFailed { .. })
    ));
    let before = client.status().expect("status");
    drop(client); // the port is opened exclusively

    // Noise, a NUL, an over-long line and a state change without checksum: all refused.
    let mut raw = std::fs::OpenOptions::new()
        .write(true)
        .open(&sim.link)
        .expect("open pty");
    raw.write_all(b"\x00\xff garbage\n").expect("write");
    raw.write_all(&[b'7'; 300]).expect("write");
    raw.write_all(b"\nTOKEN 662486790\nPROV X 1 00 1 0 1*00\n")
        .expect("write");
    drop(raw);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut client = DeviceClient::connect(sim.port()).expect("reconnect");
    let after = client.status().expect("status");
    assert_eq!(
        (after.count, after.state, after.last_result),
        (before.count, before.state, before.last_result)
    );
    assert_eq!(
        client
            .enter_token(&token(1, &["--add", "1"]))
            .expect("token")
            .result,
        "ADD_TIME"
    );
}
