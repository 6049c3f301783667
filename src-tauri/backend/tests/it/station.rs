//! The station back-end in-process, against the simulator running in a thread: recovery
//! decisions, settings, the pending row's port, reconciliation texts, random draws.

use paygo::device::{prov_line, DeviceClient};
use paygo::ledger::{KdfParams, Ledger, NewUnit, Passphrase};
use paygo::sim::SimThread;
use paygo::station::provision::{
    provision_device, random_starting_code, recover, ProvisionOptions,
};
use paygo::station::readout::{readout, reconcile};
use paygo::station::{no_progress, Progress};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const KEY: [u8; 16] = *b"0123456789abcdef";

/// A simulated device in a thread (`paygo::sim::SimThread`), stopped on drop.
fn start_sim(dir: &Path, provision: Option<String>) -> SimThread {
    SimThread::spawn_in(dir, provision).expect("simulator")
}

fn ledger(dir: &Path) -> Ledger {
    Ledger::create(
        &dir.join("ledger.sqlite"),
        &Passphrase::new("station tests"),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .expect("ledger")
}

fn unit(serial: &str) -> NewUnit {
    NewUnit {
        serial: serial.into(),
        model: None,
        key: KEY,
        starting_code: Some(42),
        count: 1,
        restricted: false,
        divider: 1,
    }
}

const QUICK: Duration = Duration::from_secs(3);

#[test]
fn provisions_with_the_ledger_setting_and_reports_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());
    l.set_setting("serial_pattern", Some("ST{yyyy}-{seq:03}"), Some("ana"))
        .expect("setting");
    let sim = start_sim(dir.path(), None);
    let mut events = Vec::new();
    let p = provision_device(
        &mut l,
        sim.port(),
        &ProvisionOptions {
            count: 5,
            model: Some("SHS-10".into()),
            ..Default::default()
        },
        &mut |e: &Progress| events.push(e.clone()),
    )
    .expect("provision");
    assert!(
        p.serial.starts_with("ST20") && p.serial.ends_with("-001"),
        "{p:?}"
    );
    assert_eq!(p.count, 5);
    let names: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_value(e).expect("json")["event"].to_string())
        .collect();
    assert_eq!(
        names,
        [
            "\"connecting\"",
            "\"connected\"",
            "\"ledger_pending\"",
            "\"writing\"",
            "\"completed\""
        ]
    );
    let info = l.unit(&p.serial).expect("unit");
    assert_eq!(
        (
            info.status.as_str(),
            info.device_count,
            info.model.as_deref()
        ),
        ("provisioned", Some(5), Some("SHS-10"))
    );
    // The key in the ledger is the one the device holds.
    let key = l.unit_key(&p.serial).expect("key");
    let mut c = DeviceClient::connect(sim.port()).expect("connect");
    c.verify_key(key.expose()).expect("challenge");
    assert!(l.pending_provisionings().expect("pending").is_empty());
}

#[test]
fn settings_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());
    assert_eq!(l.setting("serial_pattern").expect("get"), None);
    let bad = l.set_setting("serial_pattern", Some("no-seq"), None);
    assert_eq!(bad.expect_err("bad").code(), "BAD_SERIAL_PATTERN");
    let long = l.set_setting("serial_pattern", Some("MUCH-TOO-LONG-{seq:08}"), None);
    assert_eq!(long.expect_err("long").code(), "BAD_SERIAL");
    let unknown = l.set_setting("colour", Some("blue"), None);
    assert_eq!(unknown.expect_err("unknown").code(), "UNKNOWN_SETTING");
    l.set_setting("serial_pattern", Some("A-{seq}"), None)
        .expect("set");
    assert_eq!(
        l.setting("serial_pattern").expect("get").as_deref(),
        Some("A-{seq}")
    );
    l.set_setting("serial_pattern", None, None).expect("clear");
    assert_eq!(l.setting("serial_pattern").expect("get"), None);
    assert!(l.verify().expect("verify").ok);
}

#[test]
fn recovery_completes_aborts_or_leaves_pending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());

    // 1. The device took the key, the ledger row stayed pending: completed.
    let written = start_sim(
        dir.path(),
        Some(prov_line("REC-1", &KEY, 42, 1, false, 1).expect("line")),
    );
    l.begin_provisioning_on(&unit("REC-1"), Some(written.port()), None)
        .expect("begin");
    // 2. The row was committed, the device stayed blank: aborted.
    let blank = start_sim(dir.path(), None);
    l.begin_provisioning_on(&unit("REC-2"), Some(blank.port()), None)
        .expect("begin");
    // 3. The device has the serial but another key: aborted.
    let other_key = start_sim(
        dir.path(),
        Some(prov_line("REC-3", &[7; 16], 42, 1, false, 1).expect("line")),
    );
    l.begin_provisioning_on(&unit("REC-3"), Some(other_key.port()), None)
        .expect("begin");
    // 4. Started on the port of case 1, but that device is REC-1: left pending.
    l.begin_provisioning_on(&unit("REC-4"), Some(written.port()), None)
        .expect("begin");
    let detail = l.pending_provisionings_detail().expect("pending");
    assert_eq!(detail.len(), 4);
    assert_eq!(detail[1].port.as_deref(), Some(blank.port()));

    let r = recover(&mut l, written.port(), QUICK, None, &mut no_progress).expect("recover");
    let outcomes: Vec<(&str, &str)> = r.iter().map(|r| (r.serial.as_str(), r.outcome)).collect();
    assert_eq!(
        outcomes,
        [("REC-1", "completed"), ("REC-4", "left_pending")]
    );
    assert_eq!(l.unit("REC-1").expect("unit").status, "provisioned");

    let r = recover(&mut l, blank.port(), QUICK, None, &mut no_progress).expect("recover");
    assert_eq!((r.len(), r[0].outcome), (1, "aborted"));
    assert!(l.unit("REC-2").is_err(), "the aborted row is gone");

    let r = recover(&mut l, other_key.port(), QUICK, None, &mut no_progress).expect("recover");
    assert_eq!((r.len(), r[0].outcome), (1, "aborted"));

    let left: Vec<String> = l
        .pending_provisionings()
        .expect("pending")
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(left, ["REC-4"]);
    assert!(l.verify().expect("verify").ok);
}

#[test]
fn already_provisioned_device_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());
    let sim = start_sim(
        dir.path(),
        Some(prov_line("MINE-1", &KEY, 42, 1, false, 1).expect("line")),
    );
    let e = provision_device(
        &mut l,
        sim.port(),
        &ProvisionOptions::default(),
        &mut no_progress,
    )
    .expect_err("refused");
    assert_eq!(e.code(), "ALREADY_PROVISIONED");
    assert!(e.to_string().contains("MINE-1"), "{e}");
    assert_eq!(l.list_units(&Default::default()).expect("list").total, 0);
}

#[test]
fn readout_refuses_a_device_without_the_ledgers_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());
    let mut u = unit("FIELD-1");
    u.key = [9; 16];
    l.add_unit(&u, None).expect("add");
    let sim = start_sim(
        dir.path(),
        Some(prov_line("FIELD-1", &KEY, 42, 1, false, 1).expect("line")),
    );
    let e = readout(&mut l, sim.port(), QUICK, None).expect_err("not the ledger's device");
    assert_eq!(e.code(), "CHALLENGE_FAILED");
    // Nothing recorded from a device that is not the unit.
    assert_eq!(l.unit("FIELD-1").expect("unit").device_count, Some(1));
}

#[test]
fn reconcile_says_what_a_difference_means() {
    assert_eq!(reconcile("S", 4, 4, 0).code, "IN_SYNC");
    let behind = reconcile("S", 8, 2, 3);
    assert_eq!(behind.code, "DEVICE_BEHIND");
    assert!(behind.message.contains("3 token(s)"), "{}", behind.message);
    assert!(behind
        .suggest
        .as_deref()
        .is_some_and(|s| s.starts_with("paygo issue --unit S --sync")));
    assert!(reconcile("S", 200, 2, 99)
        .message
        .contains("reject every new token"));
    let ahead = reconcile("S", 2, 9, 0);
    assert_eq!(ahead.code, "DEVICE_AHEAD");
    assert!(ahead.message.contains("outside this ledger"));
}

#[test]
fn starting_codes_cover_the_range() {
    let draws: Vec<u32> = (0..2_000)
        .map(|_| random_starting_code().expect("random"))
        .collect();
    assert!(draws.iter().all(|&c| (1..=999_999_999).contains(&c)));
    // Uniform over 1..=999 999 999: both halves show up, and no repeats in 2 000 draws
    // (a repeat has probability ~2e-3).
    assert!(draws.iter().any(|&c| c < 500_000_000));
    assert!(draws.iter().any(|&c| c > 500_000_000));
    let mut sorted = draws.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert!(sorted.len() >= 1_998);
}

#[test]
fn factory_reset_needs_the_key_and_leaves_a_blank_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(
        dir.path(),
        Some(prov_line("RESET-1", &KEY, 42, 1, false, 1).expect("line")),
    );
    let mut c = DeviceClient::connect(sim.port()).expect("connect");
    let e = c.factory_reset(&[1; 16]).expect_err("wrong key");
    assert_eq!(e.code(), "BAD_AUTH");
    assert_eq!(c.identity().serial.as_deref(), Some("RESET-1"));
    c.factory_reset(&KEY).expect("reset");
    assert_eq!(c.identity().serial, None);
    assert!(!c.identify().expect("id").provisioned);
    // Blank again: it can be provisioned anew.
    drop(c);
    let mut l = ledger(dir.path());
    let p = provision_device(
        &mut l,
        sim.port(),
        &ProvisionOptions::default(),
        &mut no_progress,
    )
    .expect("provision again");
    assert_eq!(p.serial, "SN-000001");
}

/// A device whose STATUS reports one count more than it holds (firmware-core's app behind
/// a pty, its STATUS replies rewritten): provisioning must notice, reset it and drop the unit.
struct LyingDevice {
    path: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LyingDevice {
    fn start() -> LyingDevice {
        use firmware_core::app::{App, REPLY_MAX};
        use firmware_core::protocol::{parse_response, Reply};
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        use std::os::fd::AsRawFd;
        let pair = nix::pty::openpty(None, None).expect("openpty");
        let mut t = tcgetattr(&pair.slave).expect("termios");
        cfmakeraw(&mut t);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &t).expect("raw");
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .expect("nonblock");
        let path = nix::unistd::ttyname(&pair.slave)
            .expect("ttyname")
            .to_string_lossy()
            .into_owned();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let _slave = pair.slave;
            let master = pair.master;
            let mut app =
                App::boot(paygo::sim::FileStore::memory(), "liar-1", 1_000).expect("boot");
            let mut n = 0u64;
            let mut entropy = || {
                n += 1;
                n
            };
            let mut reply = [0u8; REPLY_MAX];
            let mut buf = [0u8; 256];
            while !flag.load(Ordering::Relaxed) {
                let got = match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                    Ok(got) => got,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                for &b in &buf[..got] {
                    let Some(len) = app.receive(b, 1_000, &mut entropy, &mut reply) else {
                        continue;
                    };
                    let mut out = reply[..len].to_vec();
                    if let Ok(Reply::Status(mut s)) = parse_response(out.trim_ascii_end()) {
                        s.count += 1;
                        let mut lie = [0u8; REPLY_MAX];
                        let n = Reply::Status(s).write(&mut lie).expect("write");
                        out = lie[..n].to_vec();
                    }
                    let _ = nix::unistd::write(&master, &out);
                }
            }
        });
        LyingDevice {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LyingDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_wrong_count_after_prov_resets_the_device_and_drops_the_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = ledger(dir.path());
    let liar = LyingDevice::start();
    let e = provision_device(
        &mut l,
        &liar.path,
        &ProvisionOptions::default(),
        &mut no_progress,
    )
    .expect_err("count mismatch");
    assert_eq!(e.code(), "COUNT_MISMATCH", "{e}");
    assert!(e.to_string().contains("factory-reset"), "{e}");
    assert_eq!(l.list_units(&Default::default()).expect("list").total, 0);
    assert!(l.pending_provisionings().expect("pending").is_empty());
    let c = DeviceClient::connect(&liar.path).expect("connect");
    assert!(!c.identity().provisioned, "the device is blank again");
    assert!(l.verify().expect("verify").ok);
}
