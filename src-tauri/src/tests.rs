//! Command tests without a window: the plain functions behind each command, one IPC round
//! trip through Tauri's mock runtime, and the generated TypeScript bindings.

use crate::api::*;
use crate::commands::{devices, sim, tokens};
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

mod ipc {
    use super::*;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
    use tauri::webview::InvokeRequest;

    fn invoke(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::from(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|r| r.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn commands_answer_over_ipc() {
        let app = crate::build(mock_builder())
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
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
}
