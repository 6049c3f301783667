//! Board firmware under QEMU, driven through the same CLI and serial code as the simulator
//! and real USB-UART devices: provision, tokens, power cut, state kept in the emulated EEPROM.

use crate::harness::{paygo, paygo_json, token, Qemu, KEY, STARTING_CODE};

fn board_lifecycle(board: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut qemu = Qemu::start(board, dir.path());
    let port = qemu.pty.clone();
    // The first exchange is retried inside `paygo` until QEMU notices its client.
    let info = paygo_json(&["device", "info", "--json", "--port", &port]);
    assert_eq!(info["identity"]["provisioned"], false, "{board}: {info}");
    let firmware = info["identity"]["firmware"].as_str().unwrap_or_default();
    assert!(firmware.contains(&board[..6]), "{board}: {info}");

    let sc = STARTING_CODE.to_string();
    let serial = format!("QEMU-{}", &board[..3]);
    let v = paygo_json(&[
        "device",
        "provision",
        "--json",
        "--port",
        &port,
        "--serial",
        &serial,
        "--key",
        KEY,
        "--starting-code",
        &sc,
        "--count",
        "0",
    ]);
    assert_eq!(v["verified"], true);
    let add = token(0, &["--add", "1"]);
    let v = paygo_json(&["device", "token", "--json", "--port", &port, &add]);
    assert_eq!(
        (v["result"].as_str(), v["count"].as_u64()),
        (Some("ADD_TIME"), Some(2)),
        "{board}: {v}"
    );
    let v = paygo_json(&["device", "token", "--json", "--port", &port, "987 654 321"]);
    assert_eq!(v["result"], "INVALID");
    let v = paygo_json(&["device", "token", "--json", "--port", &port, &add]);
    assert_eq!(v["result"], "ALREADY_USED");

    // Kill QEMU (a power cut) and start it again on the same EEPROM file.
    qemu.kill();
    let qemu = Qemu::start(board, dir.path());
    let info = paygo_json(&["device", "info", "--json", "--port", &qemu.pty]);
    assert_eq!(info["identity"]["serial"], serial.as_str());
    assert_eq!(info["status"]["count"], 2);
    assert_eq!(info["status"]["state"], "ACTIVE");
    let credit = info["status"]["credit_seconds"].as_u64().expect("credit");
    assert!(
        (86_400 - 120..=86_400).contains(&credit),
        "{board}: credit {credit}"
    );
    let v = paygo_json(&["device", "token", "--json", "--port", &qemu.pty, &add]);
    assert_eq!(v["result"], "ALREADY_USED");
    // Provisioning is one-time on the board too.
    let out = paygo(&[
        "device",
        "provision",
        "--json",
        "--port",
        &qemu.pty,
        "--serial",
        "X",
        "--key",
        KEY,
        "--starting-code",
        &sc,
    ]);
    assert!(!out.status.success());
}

#[test]
fn microbit_lifecycle() {
    board_lifecycle("microbit");
}

#[test]
fn lm3s6965evb_lifecycle() {
    board_lifecycle("lm3s6965evb");
}
