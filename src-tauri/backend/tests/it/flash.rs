//! Probes, chips, images and flashing, without hardware: the real probe list (whatever this
//! machine has), probe-rs's chip registry, a committed firmware ELF, hand-made ELFs, and
//! probe-rs's fake probe for the flashing path.

use crate::support::{json, paygo};
use paygo::flash::{
    self, check_fits, chip_info, list_probes, load_image, parse_image, search_chips, FlashError,
    FlashProgress, FlashRequest, ProbeSelector,
};
use proptest::prelude::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The size-probe board image, linked for the nRF51822 (flash at 0); see fixtures/README.md.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/size-probe-nrf51.elf")
}

/// A serial no probe has.
const NO_SUCH_SERIAL: &str = "PAYGO-TEST-NO-SUCH-PROBE-7F3A";

/// A minimal little-endian ELF32 executable: one PT_LOAD per `(load address, bytes)`.
fn elf32(machine: u16, entry: u32, segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let phnum = segments.len() as u16;
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0");
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&machine.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&52u32.to_le_bytes()); // program headers right after
    out.extend_from_slice(&0u32.to_le_bytes()); // no section headers
    out.extend_from_slice(&0x0500_0200u32.to_le_bytes()); // EABI5, soft float
    for v in [52u16, 32, phnum, 40, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut offset = 52 + 32 * u32::from(phnum);
    for (address, data) in segments {
        let len = data.len() as u32;
        for v in [1, offset, *address, *address, len, len, 5, 4] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        offset += len;
    }
    for (_, data) in segments {
        out.extend_from_slice(data);
    }
    out
}

const EM_ARM: u16 = 40;

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paygo-flash-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

fn request(chip: &str, image: PathBuf, probe: ProbeSelector) -> FlashRequest {
    FlashRequest {
        probe,
        chip: chip.into(),
        image,
        verify: true,
        reset: true,
    }
}

fn flash_err(req: &FlashRequest, cancel: bool) -> FlashError {
    let mut events = Vec::new();
    let result = flash::flash(req, &mut |e| events.push(e), &AtomicBool::new(cancel));
    match result {
        Err(e) => e,
        Ok(report) => panic!("flashing without hardware succeeded?! {report:?}"),
    }
}

// --- probes --------------------------------------------------------------------------------

#[test]
fn probe_listing_works_with_or_without_probes() {
    let started = Instant::now();
    let probes = list_probes();
    eprintln!(
        "list_probes: {} probe(s) in {:?}",
        probes.len(),
        started.elapsed()
    );
    for p in &probes {
        assert!(!p.identifier.is_empty() && !p.kind.is_empty(), "{p:?}");
    }
}

#[test]
fn flashing_through_a_missing_probe_is_a_typed_error() {
    let want = if list_probes().is_empty() {
        "NO_PROBE"
    } else {
        "PROBE_NOT_FOUND"
    };
    let req = request(
        "nRF51822_xxAA",
        fixture(),
        ProbeSelector::Serial(NO_SUCH_SERIAL.into()),
    );
    let e = flash_err(&req, false);
    assert_eq!(e.code(), want, "{e}");
    if want == "NO_PROBE" {
        assert!(e.to_string().contains("udev"), "the hint is missing: {e}");
        let any = request("nRF51822_xxAA", fixture(), ProbeSelector::Any);
        assert_eq!(flash_err(&any, false).code(), "NO_PROBE");
    }
    // Through the crate's error type, the code is the same.
    assert_eq!(paygo::Error::from(e).code(), want);
}

#[test]
fn flash_requests_come_from_json() {
    let req: FlashRequest = serde_json::from_str(
        r#"{"probe":{"serial":"0671FF52"},"chip":"STM32F103C8","image":"fw.elf","verify":true,"reset":false}"#,
    )
    .expect("request");
    assert_eq!(req.probe, ProbeSelector::Serial("0671FF52".into()));
    let req: FlashRequest = serde_json::from_str(
        r#"{"probe":"any","chip":"STM32F103C8","image":"fw.elf","verify":true,"reset":true}"#,
    )
    .expect("request");
    assert_eq!(req.probe, ProbeSelector::Any);
}

#[test]
fn a_cancelled_flash_stops_before_the_probe() {
    let req = request("nRF51822_xxAA", fixture(), ProbeSelector::Any);
    assert_eq!(flash_err(&req, true).code(), "CANCELLED");
}

// --- chips ---------------------------------------------------------------------------------

#[test]
fn registry_load_time() {
    // A fresh decode (the crate's own copy is cached once per process).
    let started = Instant::now();
    let registry = probe_rs::config::Registry::from_builtin_families();
    let chips: usize = registry.families().iter().map(|f| f.variants.len()).sum();
    eprintln!(
        "Registry::from_builtin_families: {chips} chips in {} families, {:?}",
        registry.families().len(),
        started.elapsed()
    );
    assert!(chips > 1000);
}

#[test]
fn stm32f103c8_has_64k_of_1k_sectors() {
    let chip = chip_info("STM32F103C8").expect("STM32F103C8");
    assert_eq!(chip.name, "STM32F103C8");
    assert_eq!(chip.flash.len(), 1, "{chip:?}");
    let f = &chip.flash[0];
    assert_eq!((f.start, f.end), (0x0800_0000, 0x0801_0000));
    assert_eq!(f.sector_size, Some(1024));
    assert_eq!(chip.flash_bytes(), 64 * 1024);
    assert!(chip
        .ram
        .iter()
        .any(|r| r.start == 0x2000_0000 && r.end == 0x2000_5000));
    assert_eq!(chip.cores, ["armv7m"]);
    // Any case.
    assert_eq!(
        chip_info("stm32f103c8").expect("lower case").name,
        chip.name
    );
}

#[test]
fn nrf51822_xxaa_has_256k_at_zero() {
    let chip = chip_info("nRF51822_xxAA").expect("nRF51822_xxAA");
    let f = &chip.flash[0];
    assert_eq!((f.start, f.end), (0, 0x4_0000));
    assert_eq!(f.sector_size, Some(1024));
    assert_eq!(chip.cores, ["armv6m"]);
}

#[test]
fn a_chip_with_sectors_of_several_sizes_lists_them() {
    // STM32F407: 4 x 16 KiB, 1 x 64 KiB, then 128 KiB sectors.
    let chip = chip_info("STM32F407VG").expect("STM32F407VG");
    let main = chip
        .flash
        .iter()
        .find(|r| r.start == 0x0800_0000)
        .expect("main flash");
    let sizes: Vec<u64> = main.sectors.iter().map(|g| g.size).collect();
    assert_eq!(sizes, [16 * 1024, 64 * 1024, 128 * 1024], "{main:?}");
    assert_eq!(main.sectors[1].start, 0x0801_0000);
}

#[test]
fn unknown_and_ambiguous_chips() {
    let e = chip_info("NOT-A-CHIP-9000").unwrap_err();
    assert_eq!(e.code(), "UNKNOWN_CHIP");
    let e = chip_info("STM32F10").unwrap_err();
    assert_eq!(e.code(), "AMBIGUOUS_CHIP");
    assert!(e.to_string().len() < 300, "keep it short: {e}");
    for odd in [
        "",
        " ",
        "ééééééééé",
        "STM32F103C8\0",
        "x".repeat(10_000).as_str(),
    ] {
        let e = chip_info(odd).unwrap_err();
        assert!(
            matches!(e.code(), "UNKNOWN_CHIP" | "AMBIGUOUS_CHIP"),
            "{odd:?}: {e}"
        );
    }
    let req = request("NOT-A-CHIP-9000", fixture(), ProbeSelector::Any);
    assert_eq!(flash_err(&req, false).code(), "UNKNOWN_CHIP");
}

#[test]
fn chip_search_for_the_picker() {
    let found = search_chips("stm32f103");
    assert!(found.iter().any(|c| c == "STM32F103C8"), "{found:?}");
    assert!(
        found.iter().all(|c| c.starts_with("STM32F103")),
        "{found:?}"
    );
    let mut unique = found.clone();
    unique.dedup();
    assert_eq!(unique.len(), found.len());
    // Substring matches come after prefix matches.
    let found = search_chips("F103C8");
    assert!(found.iter().any(|c| c == "STM32F103C8"), "{found:?}");
    assert!(search_chips("zzzz-no-chip").is_empty());
    assert!(search_chips("").len() > 1000);
}

// --- images --------------------------------------------------------------------------------

#[test]
fn the_firmware_fixture_loads() {
    let image = load_image(fixture()).expect("fixture");
    assert_eq!(
        image.entry, 0xc1,
        "Thumb reset handler just after the vector table"
    );
    let seg: Vec<(u64, u64, &str)> = image
        .segments
        .iter()
        .map(|s| (s.address, s.size, s.flags.as_str()))
        .collect();
    // .bss (no file content) is not a segment to program.
    assert_eq!(seg, [(0, 0xc0, "r--"), (0xc0, 0x1dd4, "r-x")]);
    assert_eq!(image.bytes(), 0xc0 + 0x1dd4);
    check_fits(&image, &chip_info("nRF51822_xxAA").expect("chip")).expect("fits");
}

#[test]
fn not_images_are_bad_images() {
    let data = std::fs::read(fixture()).expect("fixture");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello, I am not firmware\n".to_vec()),
        ("intel hex", b":020000040800F2\n:00000001FF\n".to_vec()),
        ("header only", data[..52].to_vec()),
        ("64-bit", {
            let mut d = data.clone();
            d[4] = 2;
            d
        }),
        ("x86", elf32(3, 0, &[(0, vec![0; 16])])),
        ("no loadable segment", elf32(EM_ARM, 0, &[])),
        ("segment past the end", {
            let mut d = elf32(EM_ARM, 0, &[(0, vec![0; 64])]);
            d.truncate(d.len() - 1);
            d
        }),
    ];
    for (what, bytes) in cases {
        let path = temp_file(&format!("bad-{}.elf", what.replace(' ', "-")), &bytes);
        let e = load_image(&path).unwrap_err();
        assert_eq!(e.code(), "BAD_IMAGE", "{what}: {e}");
        let req = request("nRF51822_xxAA", path, ProbeSelector::Any);
        assert_eq!(flash_err(&req, false).code(), "BAD_IMAGE", "{what}");
    }
    let missing = Path::new("/nonexistent/firmware.elf");
    assert_eq!(load_image(missing).unwrap_err().code(), "BAD_IMAGE");
}

#[test]
fn every_truncation_of_the_fixture_is_refused_until_the_code_is_complete() {
    let data = std::fs::read(fixture()).expect("fixture");
    let image = parse_image(Path::new("fixture"), &data).expect("whole");
    // File offset of the end of the last programmed byte: 0x1c0 + 0x1dd4 in this fixture.
    let needed = 0x1c0 + 0x1dd4;
    assert!(data.len() >= needed);
    for len in 0..data.len() {
        let r = parse_image(Path::new("fixture"), &data[..len]);
        if len < needed {
            assert!(r.is_err(), "accepted a file cut at {len} bytes");
        } else {
            assert_eq!(r.expect("complete code").segments, image.segments);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_image(Path::new("random"), &bytes);
    }

    #[test]
    fn random_bytes_after_an_elf_magic_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut data = b"\x7fELF\x01\x01\x01\0".to_vec();
        data.extend(bytes);
        let _ = parse_image(Path::new("random"), &data);
    }

    #[test]
    fn a_damaged_fixture_never_panics(
        edits in proptest::collection::vec((0usize..0x300, any::<u8>()), 1..8),
    ) {
        // Damage the headers and program headers, where a parser could trip.
        let mut data = std::fs::read(fixture()).expect("fixture");
        for (at, byte) in edits {
            data[at] = byte;
        }
        if let Ok(image) = parse_image(Path::new("damaged"), &data) {
            for s in &image.segments {
                prop_assert!(s.size > 0 && s.address + s.size <= 1 << 32);
            }
        }
    }
}

#[test]
fn images_that_do_not_fit_are_refused_before_any_probe() {
    let f103 = chip_info("STM32F103C8").expect("chip");
    // Linked for the nRF51 (flash at 0): no flash there on the STM32.
    let image = load_image(fixture()).expect("fixture");
    let e = check_fits(&image, &f103).unwrap_err();
    assert_eq!(e.code(), "IMAGE_DOES_NOT_FIT");
    assert!(e.to_string().contains("0x08000000..0x08010000"), "{e}");
    // Exactly 64 KiB at 0x0800_0000 fits; one byte more does not.
    let full = elf32(EM_ARM, 0x0800_0101, &[(0x0800_0000, vec![0xa5; 64 * 1024])]);
    let image = parse_image(Path::new("full"), &full).expect("64 KiB image");
    check_fits(&image, &f103).expect("64 KiB fits");
    let over = elf32(
        EM_ARM,
        0x0800_0101,
        &[
            (0x0800_0000, vec![0; 1024]),
            (0x0800_0400, vec![0; 63 * 1024 + 1]),
        ],
    );
    let path = temp_file("over.elf", &over);
    let image = load_image(&path).expect("image");
    let e = check_fits(&image, &f103).unwrap_err();
    assert_eq!(e.code(), "IMAGE_DOES_NOT_FIT");
    assert!(e.to_string().contains("1 bytes past the end"), "{e}");
    // flash() refuses it too, whatever probes this machine has.
    let req = request(
        "STM32F103C8",
        path,
        ProbeSelector::Serial(NO_SUCH_SERIAL.into()),
    );
    assert_eq!(flash_err(&req, false).code(), "IMAGE_DOES_NOT_FIT");
}

// --- flashing against probe-rs's fake probe ---------------------------------------------------

#[test]
fn the_fake_probe_gets_a_flash_layout_and_the_mock_failure_is_typed() {
    use probe_rs::integration::FakeProbe;
    let probe = FakeProbe::with_mocked_core().into_probe();
    let req = request("nRF51822_xxAA", fixture(), ProbeSelector::Any);
    let mut events = Vec::new();
    let result = flash::flash_with_probe(
        probe,
        &req,
        &mut |e| events.push(e),
        &AtomicBool::new(false),
    );
    eprintln!("fake probe: {result:?}");
    for e in &events {
        eprintln!("  {}", serde_json::to_string(e).unwrap_or_default());
    }
    // The mocked core cannot run a flash algorithm: the run ends in a typed error, not a panic.
    let e = result.expect_err("the mock cannot really flash");
    assert!(
        matches!(e.code(), "FLASH_FAILED" | "ATTACH_FAILED" | "RESET_FAILED"),
        "{e}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FlashProgress::Attached { .. })),
        "{events:?}"
    );
    let layout = events.iter().find_map(|e| match e {
        FlashProgress::Layout {
            sectors,
            erase_bytes,
            pages,
            program_bytes,
        } => Some((*sectors, *erase_bytes, *pages, *program_bytes)),
        _ => None,
    });
    assert!(
        events.contains(&FlashProgress::Phase {
            phase: flash::Phase::Erase,
            state: flash::PhaseState::Started,
            done: 0,
            total: Some(8 * 1024),
        }),
        "{events:?}"
    );
    // 0x1e94 bytes from address 0 on 1 KiB sectors and pages: 8 of each.
    assert_eq!(layout, Some((8, 8 * 1024, 8, 8 * 1024)), "{events:?}");
}

// --- CLI -----------------------------------------------------------------------------------

fn error_code(out: &Output) -> String {
    assert!(!out.status.success());
    json(out)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn cli_probes_json() {
    let out = paygo(&["probes", "--json"]);
    assert!(out.status.success());
    let v = json(&out);
    let probes = v["probes"].as_array().expect("probes array");
    for p in probes {
        assert!(
            p["vid"].is_u64() && p["pid"].is_u64() && p["kind"].is_string(),
            "{p}"
        );
    }
}

#[test]
fn cli_chips_json() {
    let out = paygo(&["chips", "stm32f103", "--json"]);
    assert!(out.status.success());
    let v = json(&out);
    let chips = v["chips"].as_array().expect("chips array");
    assert!(chips.iter().any(|c| c == "STM32F103C8"), "{v}");

    let out = paygo(&["chips", "STM32F103C8", "--info", "--json"]);
    let v = json(&out);
    assert_eq!(v["flash"][0]["start"], 0x0800_0000);
    assert_eq!(v["flash"][0]["end"], 0x0801_0000);
    assert_eq!(v["flash"][0]["sector_size"], 1024);

    let out = paygo(&["chips", "NOT-A-CHIP-9000", "--info", "--json"]);
    assert_eq!(error_code(&out), "UNKNOWN_CHIP");
}

#[test]
fn cli_flash_errors() {
    let image = fixture();
    let image = image.to_str().expect("utf-8 path");
    let code = |args: &[&str]| {
        let mut all = vec!["flash", "--json"];
        all.extend_from_slice(args);
        error_code(&paygo(&all))
    };
    assert_eq!(
        code(&["--chip", "nRF51822_xxAA", "--image", "/nonexistent.elf"]),
        "BAD_IMAGE"
    );
    assert_eq!(
        code(&["--chip", "NOT-A-CHIP-9000", "--image", image]),
        "UNKNOWN_CHIP"
    );
    assert_eq!(
        code(&["--chip", "STM32F103C8", "--image", image]),
        "IMAGE_DOES_NOT_FIT"
    );
    let want = if list_probes().is_empty() {
        "NO_PROBE"
    } else {
        "PROBE_NOT_FOUND"
    };
    assert_eq!(
        code(&[
            "--chip",
            "nRF51822_xxAA",
            "--image",
            image,
            "--probe",
            NO_SUCH_SERIAL
        ]),
        want
    );
    // --check reads and checks the image without a probe.
    let out = paygo(&[
        "flash",
        "--json",
        "--check",
        "--chip",
        "nRF51822_xxAA",
        "--image",
        image,
    ]);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["fits"], true);
    assert_eq!(v["image"]["segments"].as_array().map(Vec::len), Some(2));
    // Plain text errors go to stderr.
    let out = paygo(&["flash", "--chip", "STM32F103C8", "--image", image]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fit STM32F103C8"));
}

// --- the whole flash() path, with probe-rs's lister serving fake probes ---------------------

mod fake_usb {
    //! Two "USB" probes: FAKE-OK opens as probe-rs's mocked core; FAKE-DENIED is listed
    //! as access denied (as a probe without udev rules is on Linux).
    use probe_rs::integration::{FakeProbe, ProbeLister};
    use probe_rs::probe::list::{Accessibility, ProbeListItem};
    use probe_rs::probe::{
        DebugProbe, DebugProbeError, DebugProbeInfo, DebugProbeSelector, Probe, ProbeCreationError,
        ProbeFactory,
    };

    #[derive(Debug)]
    pub struct Factory;

    impl std::fmt::Display for Factory {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("FakeUSB")
        }
    }

    impl ProbeFactory for Factory {
        fn open(&self, _: &DebugProbeSelector) -> Result<Box<dyn DebugProbe>, DebugProbeError> {
            Ok(Box::new(FakeProbe::with_mocked_core()))
        }

        fn list_probes(&self) -> Vec<ProbeListItem> {
            Vec::new()
        }
    }

    static FACTORY: Factory = Factory;

    #[derive(Debug)]
    pub struct Lister;

    fn item(serial: &str, accessibility: Accessibility) -> ProbeListItem {
        ProbeListItem {
            info: DebugProbeInfo::new(
                "Fake probe",
                0x1209,
                0x0001,
                Some(serial.into()),
                &FACTORY,
                None,
                false,
            ),
            accessibility,
        }
    }

    impl ProbeLister for Lister {
        fn open(&self, selector: &DebugProbeSelector) -> Result<Probe, DebugProbeError> {
            match selector.serial_number.as_deref() {
                Some("FAKE-OK") => Ok(FakeProbe::with_mocked_core().into_probe()),
                _ => Err(ProbeCreationError::NotFound.into()),
            }
        }

        fn list_with_access(&self, _: Option<&DebugProbeSelector>) -> Vec<ProbeListItem> {
            vec![
                item("FAKE-OK", Accessibility::Accessible),
                item("FAKE-DENIED", Accessibility::PermissionDenied),
            ]
        }
    }
}

#[test]
fn flash_through_a_lister_of_fake_usb_probes() {
    let lister = probe_rs::probe::list::Lister::with_lister(Box::new(fake_usb::Lister));
    let probes = flash::list_probes_with(&lister);
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0].kind, "FakeUSB");
    assert_eq!(probes[0].serial.as_deref(), Some("FAKE-OK"));
    assert!(probes[0].accessible && !probes[1].accessible);

    let cancel = AtomicBool::new(false);
    let run = |probe: ProbeSelector| {
        let mut events = Vec::new();
        let req = request("nRF51822_xxAA", fixture(), probe);
        let r = flash::flash_with_lister(&lister, &req, &mut |e| events.push(e), &cancel);
        (r.expect_err("fake probes cannot flash"), events)
    };
    // Two probes and no choice.
    assert_eq!(run(ProbeSelector::Any).0.code(), "PROBE_AMBIGUOUS");
    assert_eq!(run(ProbeSelector::Index(2)).0.code(), "PROBE_NOT_FOUND");
    let (e, _) = run(ProbeSelector::Serial(NO_SUCH_SERIAL.into()));
    assert_eq!(e.code(), "PROBE_NOT_FOUND");
    assert!(
        e.to_string().contains("FAKE-OK"),
        "lists what is connected: {e}"
    );
    // No access: the udev hint.
    let (e, _) = run(ProbeSelector::Serial("FAKE-DENIED".into()));
    assert_eq!(e.code(), "PROBE_OPEN");
    assert!(e.to_string().contains("udev"), "{e}");
    // The accessible one goes all the way to the mocked core's failure.
    let (e, events) = run(ProbeSelector::Serial("fake-ok".into()));
    assert_eq!(e.code(), "FLASH_FAILED", "{e}");
    assert!(
        matches!(&events[0], FlashProgress::Attached { probe, .. } if probe.contains("FAKE-OK")),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, FlashProgress::Layout { sectors: 8, .. })));
    let (e, _) = run(ProbeSelector::Index(0));
    assert_eq!(e.code(), "FLASH_FAILED");
}
