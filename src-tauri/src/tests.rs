//! Command tests without a window: the plain functions behind each command, one IPC round
//! trip through Tauri's mock runtime, and the generated TypeScript bindings.

use crate::api::*;
use crate::commands::{devices, ledger, sim, tokens};
use crate::error::CommandError;
use crate::state::AppState;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// The key and starting code of the reference vectors' first unit.
const KEY: &str = "a29ab82edc5fbbc41ec9530f6dac86b1";

fn unit(key: &str, starting_code: Option<u32>) -> UnitParams {
    UnitParams {
        key: key.into(),
        starting_code,
        restricted: false,
        divider: 1,
    }
}

fn issue_req(action: TokenAction, days: Option<&str>) -> IssueRequest {
    IssueRequest {
        unit: unit(KEY, None),
        last_count: 0,
        action,
        days: days.map(str::to_string),
        extended: false,
    }
}

#[test]
fn issue_matches_the_cli_example() {
    // README: `paygo token generate --key a29a… --count 0 --add 7`.
    let t = tokens::issue(&issue_req(TokenAction::AddTime, Some("7"))).unwrap();
    let cli = paygo::token::generate(
        &paygo::token::Unit {
            key: paygo::token::parse_key(KEY).unwrap(),
            starting_code: None,
            restricted: false,
            divider: 1,
        },
        0,
        paygo::token::Action::Add(7.0),
        false,
    )
    .unwrap();
    assert_eq!(t.token, cli.token);
    assert_eq!(t.token.len(), 9);
    assert_eq!(t.grouped, paygo::token::group_digits(&cli.token));
    assert_eq!(
        (t.count, t.token_type.as_str(), t.value),
        (cli.count, "ADD_TIME", 7)
    );
}

#[test]
fn issued_token_decodes_back() {
    let t = tokens::issue(&issue_req(TokenAction::AddTime, Some("2.5"))).unwrap();
    let mut req = DecodeRequest {
        unit: UnitParams {
            divider: 1,
            ..unit(KEY, None)
        },
        count: 0,
        used: String::new(),
        token: t.grouped.clone(),
    };
    // 2.5 days at divider 1 rounds half to even: 2.
    let r = tokens::check(&req).unwrap();
    assert_eq!(r.result, "ADD_TIME");
    assert_eq!(
        (r.value, r.count, r.count_after),
        (Some(2), Some(t.count), t.count)
    );
    req.count = r.count_after;
    req.used = r
        .used_after
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(tokens::check(&req).unwrap().result, "ALREADY_USED");
}

#[test]
fn errors_carry_stable_codes() {
    let code = |r: Result<IssuedToken, CommandError>| r.unwrap_err().code;
    let mut bad_key = issue_req(TokenAction::AddTime, Some("1"));
    bad_key.unit.key = "xyz".into();
    assert_eq!(code(tokens::issue(&bad_key)), "BAD_KEY");
    assert_eq!(
        code(tokens::issue(&issue_req(TokenAction::AddTime, None))),
        "BAD_DAYS"
    );
    assert_eq!(
        code(tokens::issue(&issue_req(TokenAction::SetTime, Some("-1")))),
        "BAD_DAYS"
    );
    let mut bad_div = issue_req(TokenAction::DisablePayg, None);
    bad_div.unit.divider = 0;
    assert_eq!(code(tokens::issue(&bad_div)), "BAD_DIVIDER");
    let decode = DecodeRequest {
        unit: unit(KEY, None),
        count: 0,
        used: String::new(),
        token: "12345".into(),
    };
    assert_eq!(tokens::check(&decode).unwrap_err().code, "BAD_TOKEN_LENGTH");
    // Serialised exactly as the UI expects.
    let json = serde_json::to_value(CommandError::from(paygo::Error::BadKey)).unwrap();
    assert_eq!(json["code"], "BAD_KEY");
    assert!(json["message"].as_str().unwrap().contains("32 hexadecimal"));
}

#[test]
fn listing_ports_works_without_hardware() {
    // The list depends on the machine (often /dev/ttyS0); it must just not fail.
    assert!(devices::ports().is_ok());
}

#[test]
fn a_port_with_nothing_on_it_fails_clearly() {
    let state = AppState::default();
    let e = devices::read(&state, "/nonexistent/port").unwrap_err();
    assert_eq!(e.code, "PORT", "{e}");
}

#[test]
fn simulator_start_read_token_stop() {
    let state = Arc::new(AppState::default());
    let (tx, stopped) = mpsc::channel();
    let info = sim::start(&state, move |s| {
        let _ = tx.send(s);
    })
    .unwrap();
    assert_eq!(state.sims(), vec![info.clone()]);

    let before = devices::read(&state, &info.port).unwrap();
    assert_eq!(
        before.identity.serial.as_deref(),
        Some(info.serial.as_str())
    );
    assert!(before.identity.provisioned);
    let status = before.status.clone().unwrap();
    assert_eq!(status.credit_seconds, 0);

    let t = tokens::issue(&IssueRequest {
        unit: unit(&info.key, Some(info.starting_code)),
        last_count: status.count,
        action: TokenAction::AddTime,
        days: Some("3".into()),
        extended: false,
    })
    .unwrap();
    let entry = devices::enter(&state, &info.port, &t.grouped).unwrap();
    assert_eq!(entry.result, "ADD_TIME");
    let after = entry.device.status.unwrap();
    assert_eq!(after.state, "ACTIVE");
    assert_eq!(after.count, t.count);
    assert!(after.credit_seconds > 2 * 86_400, "{after:?}");
    // The same token again is refused.
    let again = devices::enter(&state, &info.port, &t.token).unwrap();
    assert_eq!(again.result, "ALREADY_USED");

    sim::stop(&state, info.id).unwrap();
    let s = stopped.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((s.id, s.error), (info.id, None));
    assert!(state.sims().is_empty());
    assert!(!std::path::Path::new(&info.port).exists());
    assert_eq!(
        sim::stop(&state, info.id).unwrap_err().code,
        "SIM_NOT_FOUND"
    );
}

#[test]
fn stop_all_stops_every_simulator() {
    let state = Arc::new(AppState::default());
    let a = sim::start(&state, |_| {}).unwrap();
    let b = sim::start(&state, |_| {}).unwrap();
    assert_ne!(a.port, b.port);
    state.stop_all();
    assert!(state.sims().is_empty());
    assert!(!std::path::Path::new(&a.port).exists());
}

#[cfg(unix)]
#[test]
fn stale_simulator_links_are_removed() {
    let dir = std::env::temp_dir().join(format!("paygo-desktop-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A pid above Linux's maximum (4 194 304) never runs; ours does.
    let stale = dir.join("openpaygo-station-99999999-0000abcd-sim1");
    let live = dir.join(format!(
        "openpaygo-station-{}-0000abcd-sim1",
        std::process::id()
    ));
    let other = dir.join("something-else");
    for link in [&stale, &live, &other] {
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink("/dev/null", link).unwrap();
    }
    assert_eq!(sim::remove_stale_links(&dir), 1);
    assert!(!stale.exists() && live.exists() && other.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

mod ledger_commands {
    use super::*;
    use crate::test_support::TempDir;
    use paygo::ledger::{KdfParams, Ledger, NewUnit, Passphrase};
    use std::path::PathBuf;

    const PASS: &str = "correct horse battery";

    /// A ledger file with `n` units U-0001.. (KEY as every unit's key).
    fn seeded(dir: &TempDir, n: u32) -> PathBuf {
        let path = dir.join("ledger.sqlite");
        let mut l =
            Ledger::create(&path, &Passphrase::new(PASS), KdfParams::INSECURE_FOR_TESTS).unwrap();
        for i in 1..=n {
            l.add_unit(
                &NewUnit {
                    serial: format!("U-{i:04}"),
                    model: Some("SHS-20".into()),
                    key: paygo::token::parse_key(KEY).unwrap(),
                    starting_code: None,
                    count: 0,
                    restricted: false,
                    divider: 1,
                },
                Some("test"),
            )
            .unwrap();
        }
        path
    }

    fn add_time(serial: &str, days: &str, payment_ref: Option<&str>) -> LedgerIssueRequest {
        LedgerIssueRequest {
            serial: serial.into(),
            action: LedgerAction::AddTime,
            days: Some(days.into()),
            amount: Some("12.50".into()),
            payment_ref: payment_ref.map(str::to_string),
            operator: Some("amina".into()),
            reason: None,
            supervisor_pin: None,
            extended: false,
        }
    }

    #[test]
    fn an_idle_ledger_locks_itself() {
        let dir = TempDir::new("ledger", "autolock");
        let path = dir.join("ledger.sqlite");
        let state = AppState::default();
        state.set_autolock(std::time::Duration::from_secs(1));
        ledger::create(&state, &path, PASS, KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert_eq!(ledger::units(&state, None, None, 1, 0).unwrap().total, 0);
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Activity keeps it open.
        assert_eq!(ledger::units(&state, None, None, 1, 0).unwrap().total, 0);
        std::thread::sleep(std::time::Duration::from_millis(1200));
        assert_eq!(
            ledger::units(&state, None, None, 1, 0).unwrap_err().code,
            "LEDGER_CLOSED"
        );
        assert!(!ledger::status(&state, &path).unlocked);
        assert!(ledger::unlock(&state, &path, PASS).unwrap().unlocked);
        assert_eq!(ledger::units(&state, None, None, 1, 0).unwrap().total, 0);
        // A command that holds the ledger longer than the auto-lock time (a big import) is
        // activity, not idleness: the next command still finds it open.
        {
            let _busy = state.ledger();
            std::thread::sleep(std::time::Duration::from_millis(1200));
        }
        assert_eq!(ledger::units(&state, None, None, 1, 0).unwrap().total, 0);
    }

    #[test]
    fn unlock_tokens_pass_the_supervisor_pin_and_reason() {
        let dir = TempDir::new("ledger", "superpin");
        let path = dir.join("ledger.sqlite");
        let state = AppState::default();
        ledger::create(&state, &path, PASS, KdfParams::INSECURE_FOR_TESTS).unwrap();
        {
            let mut slot = state.ledger();
            let l = slot.as_mut().unwrap();
            l.add_unit(
                &paygo::ledger::NewUnit {
                    serial: "PIN-1".into(),
                    model: None,
                    key: [7; 16],
                    starting_code: None,
                    count: 0,
                    restricted: false,
                    divider: 1,
                },
                None,
            )
            .unwrap();
            l.set_supervisor_pin("2468", None).unwrap();
        }
        let mut req = add_time("PIN-1", "1", None);
        req.action = LedgerAction::DisablePayg;
        req.days = None;
        assert_eq!(
            ledger::issue(&state, &req).unwrap_err().code,
            "SUPERVISOR_PIN_REQUIRED"
        );
        req.supervisor_pin = Some("2468".into());
        assert_eq!(
            ledger::issue(&state, &req).unwrap_err().code,
            "REASON_REQUIRED"
        );
        req.reason = Some("paid off".into());
        assert_eq!(
            ledger::issue(&state, &req).unwrap().token_type,
            "DISABLE_PAYG"
        );
    }

    #[test]
    fn create_then_lock_then_unlock() {
        let dir = TempDir::new("ledger", "create");
        let path = dir.join("ledger.sqlite");
        let state = AppState::default();
        let st = ledger::status(&state, &path);
        assert_eq!((st.exists, st.unlocked), (false, false));
        assert_eq!(
            ledger::create(&state, &path, "short", KdfParams::INSECURE_FOR_TESTS)
                .unwrap_err()
                .code,
            "WEAK_PASSPHRASE"
        );
        assert!(!path.exists());
        let st = ledger::create(&state, &path, PASS, KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert_eq!((st.exists, st.unlocked), (true, true));
        assert_eq!(st.path, path.display().to_string());
        // Never over an existing file.
        let again = AppState::default();
        assert_eq!(
            ledger::create(&again, &path, PASS, KdfParams::INSECURE_FOR_TESTS)
                .unwrap_err()
                .code,
            "LEDGER_EXISTS"
        );

        let st = ledger::lock(&state, &path);
        assert_eq!((st.exists, st.unlocked), (true, false));
        assert_eq!(
            ledger::units(&state, None, None, 1, 0).unwrap_err().code,
            "LEDGER_CLOSED"
        );
        let e = ledger::unlock(&state, &path, "wrong passphrase").unwrap_err();
        assert_eq!(e.code, "WRONG_PASSPHRASE");
        assert!(!ledger::status(&state, &path).unlocked);
        assert!(ledger::unlock(&state, &path, PASS).unwrap().unlocked);
        assert_eq!(ledger::units(&state, None, None, 1, 0).unwrap().total, 0);
    }

    #[test]
    fn unlocking_a_missing_ledger_says_so() {
        let dir = TempDir::new("ledger", "missing");
        let state = AppState::default();
        let e = ledger::unlock(&state, &dir.join("ledger.sqlite"), PASS).unwrap_err();
        assert_eq!(e.code, "NO_LEDGER", "{e}");
    }

    #[test]
    fn list_pages_searches_and_filters() {
        let dir = TempDir::new("ledger", "list");
        let path = seeded(&dir, 120);
        let state = AppState::default();
        ledger::unlock(&state, &path, PASS).unwrap();
        let p1 = ledger::units(&state, None, None, 1, 0).unwrap();
        assert_eq!((p1.total, p1.page, p1.page_size), (120, 1, 50));
        assert_eq!(p1.units.len(), 50);
        assert_eq!(p1.units[0].serial, "U-0001");
        let p3 = ledger::units(&state, None, Some(String::new()), 3, 50).unwrap();
        assert_eq!(p3.units.len(), 20);
        assert_eq!(p3.units[0].serial, "U-0101");
        let found = ledger::units(&state, Some(" U-011 ".into()), None, 1, 50).unwrap();
        assert_eq!(found.total, 10);
        let status = p1.units[0].status.clone();
        let same = ledger::units(&state, None, Some(status), 1, 50).unwrap();
        assert_eq!(same.total, 120);
        let none = ledger::units(&state, None, Some("written_off".into()), 1, 50).unwrap();
        assert_eq!(none.total, 0);
        assert_eq!(
            ledger::units(&state, None, Some("sold".into()), 1, 50)
                .unwrap_err()
                .code,
            "BAD_STATUS"
        );
    }

    #[test]
    fn issue_is_recorded_and_a_payment_ref_issues_once() {
        let dir = TempDir::new("ledger", "issue");
        let path = seeded(&dir, 2);
        let state = AppState::default();
        ledger::unlock(&state, &path, PASS).unwrap();

        let first = ledger::issue(&state, &add_time("U-0001", "7", Some("MPESA-1"))).unwrap();
        assert!(!first.idempotent);
        assert_eq!((first.token_type.as_str(), first.value), ("ADD_TIME", 7));
        assert_eq!(first.token.len(), 9);
        assert_eq!(first.grouped, paygo::token::group_digits(&first.token));
        // The ledger's token is the stateless tool's token for the same unit and count.
        let stateless = tokens::issue(&issue_req(TokenAction::AddTime, Some("7"))).unwrap();
        assert_eq!(
            (first.token.as_str(), first.count),
            (stateless.token.as_str(), stateless.count)
        );

        let repeat = ledger::issue(&state, &add_time("U-0001", "7", Some("MPESA-1"))).unwrap();
        assert!(repeat.idempotent);
        assert_eq!(
            (repeat.token.as_str(), repeat.count),
            (first.token.as_str(), first.count)
        );
        let next = ledger::issue(&state, &add_time("U-0001", "3", Some("MPESA-2"))).unwrap();
        assert!(next.count > first.count);

        // Committed: a second connection (another app instance, the CLI) sees both tokens.
        let other = AppState::default();
        ledger::unlock(&other, &path, PASS).unwrap();
        let d = ledger::detail(&other, "U-0001").unwrap();
        assert_eq!(d.tokens_issued, 2);
        assert_eq!(d.count, next.count);
        assert_eq!(
            d.tokens
                .iter()
                .map(|t| t.token.as_str())
                .collect::<Vec<_>>(),
            vec![next.token.as_str(), first.token.as_str()]
        );
        assert_eq!(d.tokens[1].payment_ref.as_deref(), Some("MPESA-1"));
        assert_eq!(d.tokens[1].amount.as_deref(), Some("12.5"));
        assert_eq!(d.tokens[1].operator.as_deref(), Some("amina"));
        assert!(ledger::detail(&other, "U-0002").unwrap().tokens.is_empty());

        let code = |r: Result<LedgerIssued, CommandError>| r.unwrap_err().code;
        assert_eq!(
            code(ledger::issue(&state, &add_time("NOPE", "1", None))),
            "UNKNOWN_UNIT"
        );
        assert_eq!(
            code(ledger::issue(&state, &add_time("U-0002", "-1", None))),
            "BAD_DAYS"
        );
        let mut no_amount = add_time("U-0002", "1", None);
        no_amount.action = LedgerAction::AddAmount;
        no_amount.amount = None;
        assert_eq!(code(ledger::issue(&state, &no_amount)), "BAD_AMOUNT");
        ledger::lock(&state, &path);
        assert_eq!(
            code(ledger::issue(&state, &add_time("U-0002", "1", None))),
            "LEDGER_CLOSED"
        );
    }

    #[test]
    fn no_response_carries_a_key() {
        let dir = TempDir::new("ledger", "nokey");
        let path = seeded(&dir, 1);
        let state = AppState::default();
        let mut json =
            vec![serde_json::to_string(&ledger::unlock(&state, &path, PASS).unwrap()).unwrap()];
        let issued = ledger::issue(&state, &add_time("U-0001", "7", Some("R1"))).unwrap();
        json.push(serde_json::to_string(&issued).unwrap());
        json.push(
            serde_json::to_string(&ledger::units(&state, None, None, 1, 50).unwrap()).unwrap(),
        );
        json.push(serde_json::to_string(&ledger::detail(&state, "U-0001").unwrap()).unwrap());
        json.push(serde_json::to_string(&ledger::status(&state, &path)).unwrap());
        for j in &json {
            assert!(!j.to_lowercase().contains(KEY), "{j}");
            assert!(!j.contains("\"key\""), "{j}");
            assert!(!j.contains(PASS), "{j}");
        }
    }

    #[test]
    fn a_unit_added_from_the_app_issues_like_the_tool() {
        let dir = TempDir::new("ledger", "add");
        let path = dir.join("ledger.sqlite");
        let state = AppState::default();
        ledger::create(&state, &path, PASS, KdfParams::INSECURE_FOR_TESTS).unwrap();
        let d = ledger::add(&state, " SHS-1 ", KEY, None, Some("amina".into())).unwrap();
        assert_eq!(
            (d.serial.as_str(), d.count, d.tokens_issued),
            ("SHS-1", 0, 0)
        );
        assert!(!serde_json::to_string(&d).unwrap().contains(KEY));
        assert_eq!(
            ledger::add(&state, "SHS-1", KEY, None, None)
                .unwrap_err()
                .code,
            "DUPLICATE_SERIAL"
        );
        assert_eq!(
            ledger::add(&state, "SHS-2", "xyz", None, None)
                .unwrap_err()
                .code,
            "BAD_KEY"
        );
        let t = ledger::issue(&state, &add_time("SHS-1", "7", None)).unwrap();
        let stateless = tokens::issue(&issue_req(TokenAction::AddTime, Some("7"))).unwrap();
        assert_eq!(t.token, stateless.token);
    }

    #[test]
    fn device_twin_warnings_reach_the_ui() {
        let dir = TempDir::new("ledger", "warn");
        let path = seeded(&dir, 1);
        let state = AppState::default();
        ledger::unlock(&state, &path, PASS).unwrap();
        let mut unlock = add_time("U-0001", "0", None);
        unlock.action = LedgerAction::DisablePayg;
        unlock.operator = Some("  ".into());
        assert_eq!(
            ledger::issue(&state, &unlock).unwrap_err().code,
            "OPERATOR_REQUIRED"
        );
        unlock.operator = Some("supervisor".into());
        let u = ledger::issue(&state, &unlock).unwrap();
        assert_eq!((u.token_type.as_str(), u.days), ("DISABLE_PAYG", None));
        assert!(u.warnings.is_empty(), "{:?}", u.warnings);
        let after = ledger::issue(&state, &add_time("U-0001", "7", None)).unwrap();
        let codes: Vec<&str> = after.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, vec!["UNLOCKED_IGNORES_ADD_TIME"]);
        assert!(!after.warnings[0].advice.is_empty());
    }

    #[test]
    fn amounts_read_back_as_typed() {
        assert_eq!(ledger::format_milli(12_500), "12.5");
        assert_eq!(ledger::format_milli(3_000), "3");
        assert_eq!(ledger::format_milli(1), "0.001");
        assert_eq!(ledger::format_milli(1_230), "1.23");
    }
}

mod ipc {
    use super::*;

    use crate::test_support::ipc::{invoke, window};

    #[test]
    fn commands_answer_over_ipc() {
        let (_app, webview) = window();
        let ok = invoke(
            &webview,
            "issue_token",
            serde_json::json!({"req": {
                "unit": {"key": KEY, "startingCode": null, "restricted": false, "divider": 1},
                "lastCount": 0, "action": "ADD_TIME", "days": "7", "extended": false
            }}),
        )
        .unwrap();
        assert_eq!(ok["tokenType"], "ADD_TIME");
        assert!(ok["count"].as_u64().unwrap() > 0);
        let err = invoke(
            &webview,
            "issue_token",
            serde_json::json!({"req": {
                "unit": {"key": "nope", "startingCode": null, "restricted": false, "divider": 1},
                "lastCount": 0, "action": "DISABLE_PAYG", "days": null, "extended": false
            }}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "BAD_KEY");
        assert!(err["message"].is_string());
        let sims = invoke(&webview, "list_sims", serde_json::json!({})).unwrap();
        assert_eq!(sims, serde_json::json!([]));
        // The ledger commands take the UI's argument names (no ledger open here).
        let err = invoke(
            &webview,
            "units_list",
            serde_json::json!({"search": "", "status": "", "page": 1, "pageSize": 50}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "LEDGER_CLOSED");
        let err = invoke(
            &webview,
            "unit_detail",
            serde_json::json!({"serial": "U-1"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "LEDGER_CLOSED");
        let err = invoke(
            &webview,
            "ledger_issue",
            serde_json::json!({"req": {
                "serial": "U-1", "action": "ADD_TIME", "days": "7", "amount": null,
                "paymentRef": "R1", "operator": null, "extended": false
            }}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "LEDGER_CLOSED");
    }
}

mod bindings {
    use super::*;
    use std::path::{Path, PathBuf};
    use ts_rs::TS;

    fn generated() -> Vec<(String, String)> {
        macro_rules! all {
            ($($t:ty),* $(,)?) => {
                vec![$((format!("{}.ts", <$t as TS>::name()), <$t as TS>::export_to_string().unwrap())),*]
            };
        }
        all![
            CommandError,
            TokenAction,
            UnitParams,
            IssueRequest,
            IssuedToken,
            DecodeRequest,
            DecodeResult,
            PortInfo,
            DeviceIdentity,
            DeviceStatus,
            DeviceView,
            TokenEntry,
            SimInfo,
            SimStopped,
            LedgerStatus,
            UnitRow,
            UnitListPage,
            TokenRow,
            UnitDetail,
            LedgerAction,
            LedgerIssueRequest,
            IssueWarning,
            LedgerIssued,
            // Station (commands::station).
            ProbeView,
            ChipView,
            FirmwareImage,
            FlashSetup,
            FlashImageRequest,
            ImageCheck,
            FlashEvent,
            FlashDone,
            ProvisionRequest,
            ProvisionedUnit,
            StationStep,
            DetectedPort,
            BatchUnit,
            BatchResult,
            // Fleet (commands::fleet).
            FleetSort,
            FleetUnitsQuery,
            FleetUnitRow,
            FleetUnitPage,
            FleetCustomer,
            FleetPayment,
            FleetUnit,
            FleetAssign,
            FleetStatusChange,
            FleetNotes,
            FleetQuote,
            FleetStatusCount,
            FleetBucket,
            FleetExpiring,
            FleetStats,
            // Ledger administration.
            ImportKind,
            ExportKind,
            ImportRequest,
            ImportProblem,
            ImportPreview,
            ImportDone,
            ImportProgressEvent,
            ExportRequest,
            ExportDone,
            VerifyProblem,
            VerifyView,
            AuditRowView,
            TariffView,
            AutolockSource,
            SettingsView,
            SupervisorPinChange,
        ]
    }

    fn committed_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings")
    }

    /// Regenerates `ui/src/lib/bindings/*.ts` and fails if the committed files differed
    /// (commit the regenerated files then).
    #[test]
    fn typescript_bindings_are_up_to_date() {
        let dir = committed_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let files = generated();
        let mut stale = Vec::new();
        for (name, text) in &files {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&path, text).unwrap();
                stale.push(name.clone());
            }
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(n, _)| *n == name) {
                std::fs::remove_file(dir.join(&name)).unwrap();
                stale.push(format!("{name} (removed)"));
            }
        }
        assert!(
            stale.is_empty(),
            "TypeScript bindings were out of date and have been regenerated; commit them: {stale:?}"
        );
    }

    /// Every type `api.rs` derives `TS` for is in the list above (a forgotten one would
    /// leave the UI without its type).
    #[test]
    fn every_ts_type_in_api_is_generated() {
        let api = include_str!("api.rs");
        let marker = "#[cfg_attr(test, derive(ts_rs::TS))]";
        let declared: Vec<String> = api
            .split(marker)
            .skip(1)
            .filter_map(|rest| {
                rest.lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("pub struct ") || l.starts_with("pub enum "))
                    .and_then(|l| l.split_whitespace().nth(2))
                    .map(|name| format!("{}.ts", name.trim_end_matches(['{', '(', ';'])))
            })
            .collect();
        assert!(declared.len() > 40, "{declared:?}");
        let files: Vec<String> = generated().into_iter().map(|(n, _)| n).collect();
        let missing: Vec<&String> = declared.iter().filter(|d| !files.contains(d)).collect();
        assert!(
            missing.is_empty(),
            "add these to `all!` in tests.rs: {missing:?}"
        );
    }
}
