//! Station command tests without a window: flashing (no probe, bad images, unknown chips, and
//! the progress / cancel plumbing through probe-rs's fake probe), provisioning blank
//! simulators into temp ledgers, batches with cancel, detection, labels and reports.

use crate::api::*;
use crate::commands::{devices, ledger, sim, station};
use crate::state::AppState;
use crate::test_support::TempDir;
use paygo::ledger::KdfParams;
use station::StationState;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PASS: &str = "correct horse battery";

/// The committed firmware image (linked for the nRF51822, flash at 0).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("backend/tests/fixtures/size-probe-nrf51.elf")
}

/// App state with a new ledger open (serial pattern `pattern` when given).
fn open_ledger(dir: &TempDir, pattern: Option<&str>) -> Arc<AppState> {
    let state = Arc::new(AppState::default());
    ledger::create(
        &state,
        &dir.join("ledger.sqlite"),
        PASS,
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    if let Some(p) = pattern {
        state
            .ledger()
            .as_mut()
            .unwrap()
            .set_setting("serial_pattern", Some(p), Some("test"))
            .unwrap();
    }
    state
}

fn blank_sim(state: &Arc<AppState>) -> SimInfo {
    sim::start_with(state, true, |_| {}).unwrap()
}

fn req(port: &str) -> ProvisionRequest {
    ProvisionRequest {
        port: port.into(),
        model: Some("SHS-10".into()),
        operator: Some("amina".into()),
    }
}

// --- "Try without hardware": blank simulators ------------------------------------------------

#[test]
fn a_blank_simulator_has_no_key_and_the_default_stays_provisioned() {
    let state = Arc::new(AppState::default());
    let blank = blank_sim(&state);
    assert!(blank.blank);
    assert_eq!((blank.serial.as_str(), blank.key.as_str()), ("", ""));
    let v = devices::read(&state, &blank.port).unwrap();
    assert!(!v.identity.provisioned);
    assert_eq!((v.identity.serial, v.status), (None, None));

    let demo = sim::start(&state, |_| {}).unwrap();
    assert!(!demo.blank);
    assert_eq!(demo.key.len(), 32);
    let v = devices::read(&state, &demo.port).unwrap();
    assert!(v.identity.provisioned);
    assert_eq!(v.identity.serial.as_deref(), Some(demo.serial.as_str()));
}

// --- provisioning ------------------------------------------------------------------------------

#[test]
fn provision_a_blank_simulator_into_the_open_ledger() {
    let dir = TempDir::new("station", "provision");
    let state = open_ledger(&dir, Some("ST-{seq:04}"));
    let station = StationState::default();
    let dev = blank_sim(&state);

    let mut steps = Vec::new();
    let unit =
        station::provision_one(&state, &station, &req(&dev.port), &mut |s| steps.push(s)).unwrap();
    // Serial from the ledger's pattern, count 1, versions read back for the label.
    assert_eq!(unit.serial, "ST-0001");
    assert_eq!(unit.port, dev.port);
    assert_eq!(unit.count, 1);
    assert_eq!(unit.model.as_deref(), Some("SHS-10"));
    assert_eq!(unit.firmware.as_deref(), Some(paygo::sim::FIRMWARE));
    assert!(unit.protocol.is_some());
    assert!(!unit.recovered);
    assert_eq!(unit.provisioned_at.len(), "2026-01-01T00:00:00Z".len());
    // The ledger row is committed (pending) before the device is written.
    let order: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    let pos = |name: &str| order.iter().position(|s| *s == name).unwrap();
    assert!(pos("connecting") < pos("ledger_pending"), "{order:?}");
    assert!(pos("ledger_pending") < pos("writing"), "{order:?}");
    assert_eq!(order.last(), Some(&"completed"));

    // The device now holds the serial; the unit is in the ledger, no key typed anywhere.
    let v = devices::read(&state, &dev.port).unwrap();
    assert_eq!(v.identity.serial.as_deref(), Some("ST-0001"));
    assert_eq!(v.status.unwrap().count, 1);
    let units = ledger::units(&state, None, None, 1, 50).unwrap();
    assert_eq!(units.total, 1);
    assert_eq!(units.units[0].serial, "ST-0001");
    assert_eq!(units.units[0].model.as_deref(), Some("SHS-10"));
    // Tokens issued from the ledger are accepted by the device: the key went in for real.
    let t = ledger::issue(
        &state,
        &LedgerIssueRequest {
            serial: "ST-0001".into(),
            action: LedgerAction::AddTime,
            days: Some("3".into()),
            amount: None,
            payment_ref: Some("R1".into()),
            operator: None,
            reason: None,
            supervisor_pin: None,
            extended: false,
        },
    )
    .unwrap();
    assert_eq!(
        devices::enter(&state, &dev.port, &t.token).unwrap().result,
        "ADD_TIME"
    );

    // Once only: the same device again is refused and left as it is.
    let e = station::provision_one(&state, &station, &req(&dev.port), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, "ALREADY_PROVISIONED", "{e}");
    assert_eq!(ledger::units(&state, None, None, 1, 50).unwrap().total, 1);

    // A second blank device takes the next serial.
    let dev2 = blank_sim(&state);
    let unit2 = station::provision_one(&state, &station, &req(&dev2.port), &mut |_| {}).unwrap();
    assert_eq!(unit2.serial, "ST-0002");

    // Label lines of the session, as CSV and as a file.
    let csv = station::session_labels_csv(&station);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "serial,model,provisioned_at,firmware,protocol,port"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("ST-0001,SHS-10,"), "{csv}");
    assert!(lines[2].starts_with("ST-0002,SHS-10,"), "{csv}");
    let out = dir.join("labels.csv");
    let written = station::save_labels(&station, out.to_str().unwrap()).unwrap();
    assert_eq!(std::fs::read_to_string(&written).unwrap(), csv);
    assert_eq!(
        station::save_labels(&station, "labels.csv")
            .unwrap_err()
            .code,
        "BAD_PATH"
    );

    // Nothing the UI receives carries a key or a starting code.
    let key_hex: String = {
        let slot = state.ledger();
        let k = slot.as_ref().unwrap().unit_key("ST-0001").unwrap();
        k.expose().iter().map(|b| format!("{b:02x}")).collect()
    };
    let starting_code = state
        .ledger()
        .as_ref()
        .unwrap()
        .unit("ST-0001")
        .unwrap()
        .starting_code
        .to_string();
    let json = [
        serde_json::to_string(&unit).unwrap(),
        serde_json::to_string(&steps).unwrap(),
        csv.clone(),
    ];
    for j in &json {
        assert!(!j.to_lowercase().contains(&key_hex), "{j}");
        assert!(!j.contains("\"key\""), "{j}");
        assert!(!j.contains(&starting_code), "{j}");
    }
}

#[test]
fn provisioning_errors_are_clear() {
    let dir = TempDir::new("station", "provision-errors");
    let station = StationState::default();

    // No ledger open.
    let closed = Arc::new(AppState::default());
    let dev = blank_sim(&closed);
    let e = station::provision_one(&closed, &station, &req(&dev.port), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, "LEDGER_CLOSED", "{e}");
    assert!(
        !devices::read(&closed, &dev.port)
            .unwrap()
            .identity
            .provisioned
    );

    let state = open_ledger(&dir, None);
    // No device chosen.
    let e = station::provision_one(&state, &station, &req("  "), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, "NO_DEVICE");
    // A port that is not there.
    let e = station::provision_one(
        &state,
        &station,
        &req("/dev/nonexistent-paygo"),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(e.code, "PORT", "{e}");
    // A device already provisioned (the demo simulator holds its own key).
    let demo = sim::start(&state, |_| {}).unwrap();
    let e = station::provision_one(&state, &station, &req(&demo.port), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, "ALREADY_PROVISIONED", "{e}");
    assert!(e.message.contains(&demo.serial), "{e}");
    // Nothing was added for any of them.
    assert_eq!(ledger::units(&state, None, None, 1, 50).unwrap().total, 0);
}

#[cfg(unix)]
#[test]
fn a_silent_device_times_out_and_leaves_no_unit() {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let dir = TempDir::new("station", "silent");
    let state = open_ledger(&dir, None);
    let station = StationState::default();
    // A pseudo-terminal nobody answers on: a powered-off board behind its USB-UART adapter.
    let pair = nix::pty::openpty(None, None).unwrap();
    let mut t = tcgetattr(&pair.slave).unwrap();
    cfmakeraw(&mut t);
    tcsetattr(&pair.slave, SetArg::TCSANOW, &t).unwrap();
    let port = nix::unistd::ttyname(&pair.slave).unwrap();
    let e = station::provision_one(&state, &station, &req(port.to_str().unwrap()), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code, "TIMEOUT", "{e}");
    assert_eq!(ledger::units(&state, None, None, 1, 50).unwrap().total, 0);
    drop(pair);
}

// --- batches -----------------------------------------------------------------------------------

#[test]
fn a_batch_provisions_each_port_and_a_failure_does_not_stop_it() {
    let dir = TempDir::new("station", "batch");
    let state = open_ledger(&dir, Some("B-{seq:03}"));
    let station = StationState::default();
    let sims: Vec<SimInfo> = (0..3).map(|_| blank_sim(&state)).collect();
    let ports = vec![
        sims[0].port.clone(),
        sims[1].port.clone(),
        "/dev/nonexistent-paygo".to_string(),
        sims[2].port.clone(),
    ];
    let mut seen: Vec<BatchUnit> = Vec::new();
    let r = station::run_batch(
        &state,
        &station,
        &ports,
        &None,
        &Some("line-2".into()),
        &mut |u| seen.push(u.clone()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((r.ok, r.failed, r.cancelled), (3, 1, 0));
    let results: Vec<&str> = r.units.iter().map(|u| u.result.as_str()).collect();
    assert_eq!(results, ["ok", "ok", "error", "ok"]);
    let serials: Vec<Option<&str>> = r.units.iter().map(|u| u.serial.as_deref()).collect();
    assert_eq!(serials, [Some("B-001"), Some("B-002"), None, Some("B-003")]);
    assert_eq!(r.units[2].error.as_ref().unwrap().code, "PORT");
    assert!(r.units.iter().all(|u| u.started.is_some()));
    // Live: every unit was reported running, then with its result, in queue order.
    let live: Vec<(u32, &str)> = seen.iter().map(|u| (u.index, u.result.as_str())).collect();
    assert_eq!(
        live,
        [
            (0, "running"),
            (0, "ok"),
            (1, "running"),
            (1, "ok"),
            (2, "running"),
            (2, "error"),
            (3, "running"),
            (3, "ok")
        ]
    );
    // The report is the CLI's CSV, one row per unit.
    let lines: Vec<&str> = r.report_csv.lines().collect();
    assert_eq!(
        lines[0],
        "serial,port,started,duration_ms,result,error_code,error_message"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with(&format!("B-001,{},", sims[0].port)));
    assert!(lines[3].contains(",error,PORT,"), "{}", lines[3]);
    let out = dir.join("report.csv");
    station::save_report(&station, out.to_str().unwrap()).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), r.report_csv);
    // Every provisioned device holds its serial; the ledger has the three units.
    for (s, serial) in sims.iter().zip(["B-001", "B-002", "B-003"]) {
        let v = devices::read(&state, &s.port).unwrap();
        assert_eq!(v.identity.serial.as_deref(), Some(serial));
    }
    assert_eq!(ledger::units(&state, None, None, 1, 50).unwrap().total, 3);
    // Their label lines too.
    assert_eq!(station::session_labels_csv(&station).lines().count(), 4);
}

#[test]
fn cancel_stops_a_batch_after_the_current_unit() {
    let dir = TempDir::new("station", "batch-cancel");
    let state = open_ledger(&dir, None);
    let station = StationState::default();
    let sims: Vec<SimInfo> = (0..3).map(|_| blank_sim(&state)).collect();
    let ports: Vec<String> = sims.iter().map(|s| s.port.clone()).collect();
    let mut seen = Vec::new();
    let mut busy = None;
    let r = station::run_batch(
        &state,
        &station,
        &ports,
        &None,
        &None,
        &mut |u| {
            seen.push((u.index, u.result.clone()));
            if u.index == 0 && u.result == "running" {
                // Cancel while the first unit is in hand: it still finishes.
                assert!(station::cancel_batch(&station));
                // And a second batch is refused while this one runs.
                busy = Some(
                    station::run_batch(
                        &state,
                        &station,
                        &ports,
                        &None,
                        &None,
                        &mut |_| {},
                        &mut |_| {},
                    )
                    .unwrap_err()
                    .code,
                );
            }
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(busy.as_deref(), Some("BATCH_BUSY"));
    assert_eq!((r.ok, r.failed, r.cancelled), (1, 0, 2));
    let results: Vec<&str> = r.units.iter().map(|u| u.result.as_str()).collect();
    assert_eq!(results, ["ok", "cancelled", "cancelled"]);
    assert_eq!(r.units[1].port, ports[1]);
    assert_eq!(r.report_csv.lines().count(), 2, "only the unit that ran");
    // The first device is provisioned; the others were never touched.
    assert!(
        devices::read(&state, &ports[0])
            .unwrap()
            .identity
            .provisioned
    );
    for p in &ports[1..] {
        assert!(!devices::read(&state, p).unwrap().identity.provisioned);
    }
    // Nothing is running now: cancel says so, and a new batch may start.
    assert!(!station::cancel_batch(&station));
    let again = station::run_batch(
        &state,
        &station,
        &ports[1..],
        &None,
        &None,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.ok, 2);
}

#[test]
fn batch_errors_are_clear() {
    let station = StationState::default();
    let closed = AppState::default();
    let e = station::run_batch(
        &closed,
        &station,
        &["/dev/x".into()],
        &None,
        &None,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(e.code, "LEDGER_CLOSED");
    let e = station::run_batch(
        &closed,
        &station,
        &[" ".into()],
        &None,
        &None,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(e.code, "NO_DEVICE");
    let e = station::save_report(&station, "/tmp/never-written.csv").unwrap_err();
    assert_eq!(e.code, "NO_REPORT");
}

#[test]
fn detection_sees_blank_and_provisioned_simulators() {
    let state = Arc::new(AppState::default());
    let blank = blank_sim(&state);
    let demo = sim::start(&state, |_| {}).unwrap();
    let found = station::detect_ports(&state).unwrap();
    let b = found.iter().find(|d| d.port == blank.port).unwrap();
    assert_eq!(
        (b.source.as_str(), b.state.as_str(), b.provisioned),
        ("sim", "device", false)
    );
    assert_eq!((b.sim_id, b.label.as_deref()), (Some(blank.id), None));
    assert_eq!(b.firmware.as_deref(), Some(paygo::sim::FIRMWARE));
    let d = found.iter().find(|d| d.port == demo.port).unwrap();
    assert!(d.provisioned);
    assert_eq!(d.serial.as_deref(), Some(demo.serial.as_str()));
}

// --- flashing ----------------------------------------------------------------------------------

fn flash_req(chip: &str, image: &Path) -> FlashImageRequest {
    FlashImageRequest {
        chip: chip.into(),
        image: image.display().to_string(),
        probe_serial: None,
        verify: true,
        reset: true,
    }
}

#[test]
fn flashing_without_a_probe_says_so() {
    let station = StationState::default();
    let mut events = Vec::new();
    let e = station::flash_image(
        &station,
        &flash_req("nRF51822_xxAA", &fixture()),
        &mut |e| events.push(e),
    )
    .unwrap_err();
    // Whatever this machine has: none → NO_PROBE; several → PROBE_AMBIGUOUS; one → it
    // cannot flash an nRF51 without a board on it.
    let probes = paygo::flash::list_probes();
    if probes.is_empty() {
        assert_eq!(e.code, "NO_PROBE", "{e}");
        assert!(e.message.contains("udev"), "{e}");
        assert!(events.is_empty());
    } else {
        assert_ne!(e.code, "BAD_IMAGE");
    }
    assert!(!station::cancel_flash(&station), "nothing runs any more");
    let setup = station::setup();
    assert_eq!(setup.probes.len(), probes.len());
}

#[test]
fn bad_images_and_unknown_chips_fail_before_any_probe() {
    let dir = TempDir::new("station", "images");
    let station = StationState::default();
    let code = |r: &FlashImageRequest| {
        let flashed = station::flash_image(&station, r, &mut |_| {})
            .unwrap_err()
            .code;
        let checked = station::check_image(r).unwrap_err().code;
        assert_eq!(flashed, checked, "flash and check agree");
        flashed
    };
    let text = dir.join("firmware.bin");
    std::fs::write(&text, b"\x00\x01 not an ELF").unwrap();
    assert_eq!(code(&flash_req("nRF51822_xxAA", &text)), "BAD_IMAGE");
    assert_eq!(
        code(&flash_req("nRF51822_xxAA", &dir.join("missing.elf"))),
        "BAD_IMAGE"
    );
    assert_eq!(
        code(&flash_req("nRF51822_xxAA", Path::new(" "))),
        "BAD_IMAGE"
    );
    assert_eq!(
        code(&flash_req("NOT-A-CHIP-9000", &fixture())),
        "UNKNOWN_CHIP"
    );
    assert_eq!(code(&flash_req("  ", &fixture())), "UNKNOWN_CHIP");
    // Linked for flash at 0: the STM32's flash is at 0x0800_0000.
    let e = station::check_image(&flash_req("STM32F103C8", &fixture())).unwrap_err();
    assert_eq!(e.code, "IMAGE_DOES_NOT_FIT");
    assert!(e.message.contains("STM32F103C8"), "{e}");
    // The right chip: it fits.
    let ok = station::check_image(&flash_req("nrf51822_xxaa", &fixture())).unwrap();
    assert_eq!(ok.chip, "nRF51822_xxAA");
    assert_eq!(ok.segments, 2);
    assert!(ok.image_bytes > 0 && ok.image_bytes < ok.flash_bytes);
}

#[test]
fn flash_progress_reaches_the_ui_and_cancel_really_cancels() {
    use probe_rs::integration::FakeProbe;
    let station = StationState::default();
    let req = flash_req("nRF51822_xxAA", &fixture());
    let fake = |r: &paygo::flash::FlashRequest,
                p: &mut dyn FnMut(paygo::flash::FlashProgress),
                c: &std::sync::atomic::AtomicBool| {
        paygo::flash::flash_with_probe(FakeProbe::with_mocked_core().into_probe(), r, p, c)
    };

    // Uncancelled: attached, the plan, then the erase phase with its byte total; the mocked
    // core cannot run a flash algorithm, so it ends in a typed error.
    let mut events: Vec<FlashEvent> = Vec::new();
    let e = station::flash_image_with(&station, &req, &mut |e| events.push(e), fake).unwrap_err();
    assert_eq!(e.code, "FLASH_FAILED", "{e}");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[..2], ["attached", "layout"], "{kinds:?}");
    let erase = events
        .iter()
        .find(|e| e.phase.as_deref() == Some("erase"))
        .expect("an erase event");
    assert_eq!(erase.state.as_deref(), Some("started"));
    assert_eq!(erase.total, Some(8 * 1024));

    // Cancel as soon as the probe is attached: stopped before erasing, nothing erased.
    let mut events: Vec<FlashEvent> = Vec::new();
    let mut busy = None;
    let e = station::flash_image_with(
        &station,
        &req,
        &mut |e| {
            if e.kind == "attached" {
                assert!(station::cancel_flash(&station));
                busy = Some(
                    station::flash_image(&station, &req, &mut |_| {})
                        .unwrap_err()
                        .code,
                );
            }
            events.push(e);
        },
        fake,
    )
    .unwrap_err();
    assert_eq!(e.code, "CANCELLED", "{e}");
    assert!(e.message.contains("before erasing"), "{e}");
    assert_eq!(busy.as_deref(), Some("FLASH_BUSY"));
    assert!(events.iter().all(|e| e.kind != "phase"), "{events:?}");
    // Over: cancel finds nothing to stop.
    assert!(!station::cancel_flash(&station));
}

#[test]
fn firmware_images_are_offered_with_their_board_chip() {
    let dir = TempDir::new("station", "firmware");
    for name in ["stm32f103c8.elf", "microbit.elf", "custom.elf", "notes.txt"] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    std::fs::create_dir_all(dir.join("sub.elf")).unwrap();
    let images = station::images_in(std::slice::from_ref(&dir.0));
    let names: Vec<(&str, Option<&str>)> = images
        .iter()
        .map(|i| (i.name.as_str(), i.chip.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("custom.elf", None),
            ("microbit.elf", Some("nRF51822_xxAA")),
            ("stm32f103c8.elf", Some("STM32F103C8"))
        ]
    );
    assert_eq!(images[0].file_bytes, 1);
    let setup = station::setup_with(&[], std::slice::from_ref(&dir.0));
    assert_eq!(setup.default_chip, "STM32F103C8");
    assert!(setup.probes.is_empty());
    std::fs::remove_file(dir.join("stm32f103c8.elf")).unwrap();
    assert_eq!(
        station::setup_with(&[], std::slice::from_ref(&dir.0)).default_chip,
        "nRF51822_xxAA"
    );
    assert_eq!(
        station::setup_with(&[], &[]).default_chip,
        station::DEFAULT_CHIP
    );
    // Every board chip is in probe-rs's registry (with its flash).
    for (_, chip) in station::BOARD_CHIPS {
        let c = station::chip(chip).unwrap();
        assert_eq!(c.name, chip);
        assert!(c.flash_bytes > 0 && c.ram_bytes > 0, "{c:?}");
    }
    assert_eq!(
        station::chip("NOT-A-CHIP-9000").unwrap_err().code,
        "UNKNOWN_CHIP"
    );
}

#[test]
fn chip_search_is_bounded_and_finds_the_reference_board() {
    let found = station::chips("stm32f103");
    assert!(found.iter().any(|c| c == "STM32F103C8"), "{found:?}");
    assert!(found.iter().all(|c| c.to_lowercase().contains("stm32f103")));
    assert_eq!(station::chips("").len(), station::MAX_CHIPS);
    assert!(station::chips("no-such-chip-at-all").is_empty());
}

#[test]
fn label_csv_quotes_what_needs_it() {
    let unit = ProvisionedUnit {
        serial: "SN-1".into(),
        port: "/dev/ttyUSB0".into(),
        model: Some("SHS, 10\" panel".into()),
        count: 1,
        firmware: None,
        protocol: Some(1),
        provisioned_at: "2026-11-28T13:00:00Z".into(),
        recovered: false,
        duration_ms: 12,
    };
    assert_eq!(
        station::labels_csv(&[unit]),
        "serial,model,provisioned_at,firmware,protocol,port\n\
         SN-1,\"SHS, 10\"\" panel\",2026-11-28T13:00:00Z,,1,/dev/ttyUSB0\n"
    );
}

// --- IPC argument names ------------------------------------------------------------------------

mod ipc {

    use crate::test_support::ipc::{invoke, window};

    #[test]
    fn station_commands_take_the_uis_argument_names() {
        let (_app, webview) = window();
        let err = invoke(
            &webview,
            "station_provision",
            serde_json::json!({"req": {"port": "", "model": null, "operator": null}}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "NO_DEVICE");
        let err = invoke(
            &webview,
            "station_batch",
            serde_json::json!({"ports": ["/dev/x"], "model": null, "operator": null}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "LEDGER_CLOSED");
        let err = invoke(
            &webview,
            "station_check_image",
            serde_json::json!({"req": {"chip": "NOT-A-CHIP-9000", "image": super::fixture(),
                "probeSerial": null, "verify": true, "reset": true}}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "UNKNOWN_CHIP");
        let chips = invoke(
            &webview,
            "station_chips",
            serde_json::json!({"query": "stm32f103c"}),
        )
        .unwrap();
        assert!(chips.as_array().unwrap().iter().any(|c| c == "STM32F103C8"));
        assert_eq!(
            invoke(&webview, "station_flash_cancel", serde_json::json!({})).unwrap(),
            false
        );
        assert_eq!(
            invoke(&webview, "station_batch_cancel", serde_json::json!({})).unwrap(),
            false
        );
        let err = invoke(
            &webview,
            "station_save_report",
            serde_json::json!({"path": "/tmp/x.csv"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "NO_REPORT");
        let csv = invoke(&webview, "station_labels_csv", serde_json::json!({})).unwrap();
        assert_eq!(csv, "serial,model,provisioned_at,firmware,protocol,port\n");
        // Simulators serve on pseudo-terminals (Unix).
        if cfg!(unix) {
            let info = invoke(&webview, "start_sim", serde_json::json!({"blank": true})).unwrap();
            assert_eq!(info["blank"], true);
            assert_eq!(info["key"], "");
            invoke(&webview, "stop_sim", serde_json::json!({"id": info["id"]})).unwrap();
            // Existing callers pass no argument: a provisioned demo device, as before.
            let info = invoke(&webview, "start_sim", serde_json::json!({})).unwrap();
            assert_eq!(info["blank"], false);
            assert_eq!(info["key"].as_str().map(str::len), Some(32));
            invoke(&webview, "stop_sim", serde_json::json!({"id": info["id"]})).unwrap();
        }
    }
}
