//! Factory provisioning and field read-out through the real `paygo` binary, against the
//! simulator and the board firmware under QEMU: provision → issue → enter → read out;
//! batches; port detection; SIGKILL at random moments during provisioning.

use crate::harness::{paygo, paygo_with, Qemu, Sim, KEY, STARTING_CODE};
use paygo::device::DeviceClient;
use paygo::ledger::{KdfParams, Ledger, Passphrase};
use serde_json::Value;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PASS: &str = "provisioning test passphrase";

/// A fresh ledger (cheap KDF) in `dir`.
fn ledger(dir: &Path) -> PathBuf {
    let path = dir.join("ledger.sqlite");
    Ledger::create(&path, &Passphrase::new(PASS), KdfParams::INSECURE_FOR_TESTS).expect("ledger");
    path
}

/// `paygo --ledger L --json ARGS` with the passphrase; the output and whether it succeeded.
fn run(ledger: &Path, args: &[&str], stdin: Option<&str>) -> (bool, Value) {
    let mut all = vec!["--ledger", ledger.to_str().expect("utf-8"), "--json"];
    all.extend_from_slice(args);
    let out = paygo_with(&all, &[("PAYGO_PASSPHRASE", PASS)], stdin);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "paygo {all:?}: no JSON: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

fn ok(ledger: &Path, args: &[&str]) -> Value {
    let (success, v) = run(ledger, args, None);
    assert!(success, "paygo {args:?} failed: {v}");
    v
}

/// Provision → issue → enter the token → read out: device and ledger agree.
fn lifecycle(port: &str, ledger: &Path) {
    let p = ok(ledger, &["provision", "--port", port, "--model", "e2e"]);
    let serial = p["serial"].as_str().expect("serial").to_string();
    assert_eq!(p["port"], port);
    assert_eq!(p["count"], 1);
    let sc = p["starting_code"].as_u64().expect("starting code");
    assert!((1..=999_999_999).contains(&sc), "{p}");
    let keys: Vec<&String> = p.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["count", "port", "serial", "starting_code"], "{p}");

    let unit = ok(ledger, &["unit", "show", &serial]);
    assert_eq!(unit["status"], "provisioned");
    assert_eq!(unit["device_count"], 1);
    assert_eq!(unit["starting_code"].as_u64(), Some(sc));

    let issued = ok(ledger, &["issue", "--unit", &serial, "--add", "2"]);
    let token = issued["token"].as_str().expect("token");
    let entered = paygo_with(
        &["--json", "device", "token", "--port", port, token],
        &[],
        None,
    );
    let entered: Value = serde_json::from_slice(&entered.stdout).expect("json");
    assert_eq!(entered["result"], "ADD_TIME", "{entered}");
    assert_eq!(entered["count"], issued["count"]);

    let r = ok(ledger, &["device", "readout", "--port", port]);
    assert_eq!(r["identity"]["serial"], serial.as_str());
    assert_eq!(r["key_verified"], true);
    assert_eq!(r["status"]["count"], issued["count"], "{r}");
    assert_eq!(r["device_count"], r["ledger_count"], "{r}");
    assert_eq!(r["reconcile"]["code"], "IN_SYNC", "{r}");
    assert_eq!(r["status"]["state"], "ACTIVE");
    let unit = ok(ledger, &["unit", "show", &serial]);
    assert_eq!(unit["device_count"], issued["count"]);

    // A token the customer never enters: the read-out says so and suggests a counter sync.
    ok(ledger, &["issue", "--unit", &serial, "--add", "1"]);
    let r = ok(ledger, &["device", "readout", "--port", port]);
    assert_eq!(r["reconcile"]["code"], "DEVICE_BEHIND", "{r}");
    let suggest = r["reconcile"]["suggest"].as_str().expect("suggestion");
    assert!(
        suggest.starts_with(&format!("paygo issue --unit {serial} --sync")),
        "{suggest}"
    );
    // Once is enough: a second provisioning is refused and changes nothing.
    let (success, v) = run(ledger, &["provision", "--port", port], None);
    assert!(!success);
    assert_eq!(v["error"]["code"], "ALREADY_PROVISIONED", "{v}");
    assert_eq!(ok(ledger, &["ledger", "verify"])["ok"], true);
}

#[test]
fn provision_issue_enter_readout_on_the_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = ledger(dir.path());
    let sim = Sim::start(dir.path(), &[]);
    lifecycle(sim.port(), &l);
}

#[test]
fn provision_issue_enter_readout_on_microbit_under_qemu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = ledger(dir.path());
    let qemu = Qemu::start("microbit", dir.path());
    lifecycle(&qemu.pty, &l);
}

#[test]
fn batch_of_three_with_one_already_provisioned() {
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let l = ledger(dirs[0].path());
    // The ledger's serial pattern setting is used when the command names none.
    ok(&l, &["ledger", "setting", "serial_pattern", "FAC-{seq:03}"]);
    let sc = STARTING_CODE.to_string();
    let sims = [
        Sim::start(dirs[0].path(), &[]),
        Sim::start(
            dirs[1].path(),
            &["--serial", "OLD-1", "--key", KEY, "--starting-code", &sc],
        ),
        Sim::start(dirs[2].path(), &[]),
    ];
    let report = dirs[0].path().join("report.csv");
    let (success, v) = run(
        &l,
        &[
            "provision",
            "--port",
            sims[0].port(),
            "--port",
            sims[1].port(),
            "--port",
            sims[2].port(),
            "--report",
            report.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(!success, "one device failed, so the batch exits non-zero");
    assert_eq!((v["ok"].as_u64(), v["failed"].as_u64()), (Some(2), Some(1)));
    let results = v["results"].as_array().expect("results");
    assert_eq!(results[0]["serial"], "FAC-001");
    assert_eq!(results[1]["error"]["code"], "ALREADY_PROVISIONED");
    assert_eq!(results[2]["serial"], "FAC-002");

    let csv = std::fs::read_to_string(&report).expect("report");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "serial,port,started,duration_ms,result,error_code,error_message"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    let ok_rows = lines[1..].iter().filter(|l| l.contains(",ok,")).count();
    let already = lines[1..]
        .iter()
        .filter(|l| l.contains(",error,ALREADY_PROVISIONED,"))
        .count();
    assert_eq!((ok_rows, already), (2, 1), "{csv}");
    assert!(lines[1].starts_with(&format!("FAC-001,{},20", sims[0].port())));
    // The pre-provisioned device was left alone.
    let c = DeviceClient::connect(sims[1].port()).expect("connect");
    assert_eq!(c.identity().serial.as_deref(), Some("OLD-1"));
}

#[test]
fn next_loop_on_one_port_until_q() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = ledger(dir.path());
    let sim = Sim::start(dir.path(), &[]);
    // Enter: the blank device is provisioned; Enter again: the same (now provisioned) device
    // is refused; q ends the loop.
    let (success, v) = run(
        &l,
        &[
            "provision",
            "--next",
            "--port",
            sim.port(),
            "--serial-pattern",
            "N-{seq}",
        ],
        Some("\n\nq\n"),
    );
    assert!(!success);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{v}");
    assert_eq!(results[0]["serial"], "N-1");
    assert_eq!(results[1]["error"]["code"], "ALREADY_PROVISIONED");
}

/// A pseudo-terminal whose other end nobody serves (silent) or that chatters in another
/// protocol (not a device), until dropped.
struct FakePort {
    _master: Arc<OwnedFd>,
    _slave: OwnedFd,
    path: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakePort {
    fn open(chatty: bool) -> FakePort {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let pair = nix::pty::openpty(None, None).expect("openpty");
        let path = nix::unistd::ttyname(&pair.slave)
            .expect("ttyname")
            .to_string_lossy()
            .into_owned();
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .expect("nonblock");
        let master = Arc::new(pair.master);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = chatty.then(|| {
            let (master, stop) = (Arc::clone(&master), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while !stop.load(Ordering::Relaxed) {
                    // Swallow what the host sends, answer in another language.
                    let _ = nix::unistd::read(master.as_raw_fd(), &mut buf);
                    let _ = nix::unistd::write(&*master, b"$GPGGA,123519,4807.038,N*47\r\n");
                    std::thread::sleep(Duration::from_millis(40));
                }
            })
        });
        FakePort {
            _master: master,
            _slave: pair.slave,
            path,
            stop,
            thread,
        }
    }
}

impl Drop for FakePort {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn detection_device_silent_not_a_device_busy() {
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let device = Sim::start(dirs[0].path(), &[]);
    let held = Sim::start(dirs[1].path(), &[]);
    let _holder = DeviceClient::connect(held.port()).expect("hold the port");
    let silent = FakePort::open(false);
    let chatty = FakePort::open(true);
    let missing = dirs[0].path().join("no-such-port");
    let missing = missing.to_str().expect("utf-8");
    let started = std::time::Instant::now();
    let out = paygo(&[
        "--json",
        "devices",
        "--patience-ms",
        "2000",
        "--port",
        device.port(),
        "--port",
        &silent.path,
        "--port",
        &chatty.path,
        "--port",
        held.port(),
        "--port",
        missing,
    ]);
    let elapsed = started.elapsed();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let states: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["state"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        states,
        ["device", "silent", "not-a-device", "busy", "error"],
        "{v}"
    );
    assert_eq!(v[0]["identity"]["provisioned"], false);
    assert!(v[2]["sent"].as_str().unwrap_or("").contains("GPGGA"), "{v}");
    // In parallel: about one patience, not five.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

/// The units of the ledger with their status.
fn units(l: &Ledger) -> Vec<(String, String)> {
    let page = l
        .list_units(&paygo::ledger::UnitQuery {
            page_size: 1000,
            ..Default::default()
        })
        .expect("list");
    page.units
        .into_iter()
        .map(|u| (u.serial, u.status))
        .collect()
}

/// Whether the device on `port` proves it holds the ledger's key for `serial`.
fn holds_key(l: &Ledger, port: &str, serial: &str) -> bool {
    let key = l.unit_key(serial).expect("key");
    let mut c = DeviceClient::connect(port).expect("connect");
    c.verify_key(key.expose()).is_ok()
}

#[test]
fn sigkill_during_provisioning_never_loses_a_key() {
    let base = tempfile::tempdir().expect("tempdir");
    let l_path = ledger(base.path());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("provisioning crash test seed {seed}");
    let mut rng = test_support::Rng(seed);
    // Kill moments spread over what a whole run takes here (at most 150 ms): measured once.
    let full_run = {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = Sim::start(dir.path(), &[]);
        let t = std::time::Instant::now();
        ok(&l_path, &["provision", "--port", sim.port()]);
        t.elapsed().min(Duration::from_millis(150))
    };
    let window = full_run.as_micros() as u64 + 1;
    eprintln!("a whole provisioning run takes {full_run:?}: kills within that");
    let (mut provisioned_devices, mut recovered, mut automatic) = (0, 0, 0);
    let mut cases = [0; 4];
    for run_no in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = Sim::start(dir.path(), &[]);
        let before: Vec<String> = {
            let l = Ledger::open(&l_path, None).expect("open");
            units(&l).into_iter().map(|u| u.0).collect()
        };
        let mut child = std::process::Command::new(crate::harness::bin("paygo"))
            .arg("--ledger")
            .arg(&l_path)
            .args(["--json", "provision", "--port", sim.port()])
            .env("PAYGO_PASSPHRASE", PASS)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Half the runs anywhere in the window, half in its second half (past the process
        // start and ledger unlock, where the device and ledger writes are).
        let at = if run_no % 4 < 2 {
            rng.next_u64() % window
        } else {
            window / 2 + rng.next_u64() % (window / 2 + 1)
        };
        std::thread::sleep(Duration::from_micros(at));
        let _ = child.kill();
        let _ = child.wait();

        let device_serial = DeviceClient::connect(sim.port())
            .expect("connect")
            .identity()
            .serial
            .clone();
        let l = Ledger::open(&l_path, Some(&Passphrase::new(PASS))).expect("open");
        let new: Vec<(String, String)> = units(&l)
            .into_iter()
            .filter(|u| !before.contains(&u.0))
            .collect();
        assert!(new.len() <= 1, "run {run_no}: {new:?}");
        for (serial, status) in &new {
            if status == "provisioned" {
                // Never a completed unit whose device is blank or someone else.
                assert_eq!(
                    device_serial.as_deref(),
                    Some(serial.as_str()),
                    "run {run_no}"
                );
                assert!(holds_key(&l, sim.port(), serial), "run {run_no}: {serial}");
            } else {
                assert_eq!(status, "provisioning", "run {run_no}");
            }
        }
        let pending = new.iter().any(|u| u.1 == "provisioning");
        let case = match (pending, device_serial.is_some(), new.is_empty()) {
            (true, true, _) => 0,      // device written, ledger not completed
            (true, false, _) => 1,     // ledger pending, device not written
            (false, true, _) => 2,     // complete
            (false, false, true) => 3, // killed before the ledger
            (false, false, false) => unreachable!("a completed unit with a blank device"),
        };
        cases[case] += 1;
        drop(l);
        if device_serial.is_some() {
            provisioned_devices += 1;
        }
        if pending {
            // Half the time the explicit --recover, half the time the next run does it.
            if (recovered + automatic) % 2 == 0 {
                let v = ok(&l_path, &["provision", "--recover", "--port", sim.port()]);
                let outcome = v["recovered"][0]["outcome"].as_str().unwrap_or("?");
                let expected = if device_serial.is_some() {
                    "completed"
                } else {
                    "aborted"
                };
                assert_eq!(outcome, expected, "run {run_no}: {v}");
                recovered += 1;
            } else {
                let v = ok(&l_path, &["provision", "--port", sim.port()]);
                if device_serial.is_some() {
                    assert_eq!(v["recovered"], true, "run {run_no}: {v}");
                    assert_eq!(v["serial"].as_str(), device_serial.as_deref());
                }
                automatic += 1;
            }
            let l = Ledger::open(&l_path, Some(&Passphrase::new(PASS))).expect("open");
            assert!(
                l.pending_provisionings().expect("pending").is_empty(),
                "run {run_no}: still pending"
            );
            let now = DeviceClient::connect(sim.port())
                .expect("connect")
                .identity()
                .serial
                .clone();
            if let Some(serial) = now {
                assert_eq!(l.unit(&serial).expect("unit").status, "provisioned");
                assert!(holds_key(&l, sim.port(), &serial), "run {run_no}");
            }
        }
    }
    eprintln!(
        "{provisioned_devices} of 20 devices took their key before the kill; {recovered} \
         pending rows resolved by --recover, {automatic} by the next run; killed with the \
         device written but the ledger pending {}, with the ledger pending and the device \
         blank {}, after completion {}, before the ledger {}",
        cases[0], cases[1], cases[2], cases[3]
    );
    assert_eq!(ok(&l_path, &["ledger", "verify"])["ok"], true);
}
