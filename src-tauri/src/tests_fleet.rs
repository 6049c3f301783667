//! The fleet commands' plain functions against temp ledgers: sorting and paging, phone
//! search, customer + tariff assignment, status changes, payments, quotes that match what
//! is issued, and the Overview numbers.

use crate::api::*;
use crate::commands::{fleet, ledger};
use crate::state::AppState;
use crate::test_support::TempDir;
use paygo::ledger::{KdfParams, Ledger, NewUnit, Passphrase};

const PASS: &str = "correct horse battery";
const KEY: &str = "a29ab82edc5fbbc41ec9530f6dac86b1";

/// An unlocked app state over a ledger with units F-001..F-`n` (F-003 restricted).
fn open(dir: &TempDir, n: u32) -> AppState {
    let path = dir.join("ledger.sqlite");
    let mut l =
        Ledger::create(&path, &Passphrase::new(PASS), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let units: Vec<NewUnit> = (1..=n)
        .map(|i| NewUnit {
            serial: format!("F-{i:03}"),
            model: None,
            key: paygo::token::parse_key(KEY).unwrap(),
            starting_code: None,
            count: 0,
            restricted: i == 3,
            divider: 1,
        })
        .collect();
    l.add_units(&units, Some("test")).unwrap();
    drop(l);
    let state = AppState::default();
    ledger::unlock(&state, &path, PASS).unwrap();
    state
}

fn query(sort: FleetSort, descending: bool) -> FleetUnitsQuery {
    FleetUnitsQuery {
        search: None,
        status: None,
        sort,
        descending,
        page: 1,
        page_size: 0,
    }
}

fn assign(state: &AppState, serial: &str, name: &str, phone: &str, tariff: Option<&str>) {
    fleet::assign(
        state,
        &FleetAssign {
            serial: serial.into(),
            name: name.into(),
            phone: Some(phone.into()),
            tariff: tariff.map(str::to_string),
            operator: Some("amina".into()),
        },
    )
    .unwrap();
}

fn issue(
    state: &AppState,
    serial: &str,
    action: LedgerAction,
    days: Option<&str>,
    amount: Option<&str>,
    pref: &str,
) -> LedgerIssued {
    ledger::issue(
        state,
        &LedgerIssueRequest {
            serial: serial.into(),
            action,
            days: days.map(str::to_string),
            amount: amount.map(str::to_string),
            payment_ref: Some(pref.into()),
            operator: Some("amina".into()),
            reason: None,
            supervisor_pin: None,
            extended: false,
        },
    )
    .unwrap()
}

#[test]
fn units_sort_both_ways_and_page() {
    let dir = TempDir::new("fleet", "sort");
    let state = open(&dir, 120);
    assign(&state, "F-002", "zara", "+221 700", None);
    assign(&state, "F-050", "Awa", "+221 555", None);
    issue(
        &state,
        "F-050",
        LedgerAction::AddTime,
        Some("30"),
        None,
        "P1",
    );
    issue(
        &state,
        "F-002",
        LedgerAction::AddTime,
        Some("2"),
        None,
        "P2",
    );

    // Serial: pages of 50 in order, the last page partial.
    let mut serials = Vec::new();
    for page in 1..=3 {
        let mut q = query(FleetSort::Serial, false);
        q.page = page;
        let p = fleet::units(&state, &q).unwrap();
        assert_eq!((p.total, p.page_size), (120, 50));
        serials.extend(p.units.into_iter().map(|u| u.serial));
    }
    let expected: Vec<String> = (1..=120).map(|i| format!("F-{i:03}")).collect();
    assert_eq!(serials, expected);

    // Customer, case-insensitive; descending puts the named ones first.
    let p = fleet::units(&state, &query(FleetSort::Customer, true)).unwrap();
    let firsts: Vec<_> = p.units.iter().take(2).map(|u| u.customer.clone()).collect();
    assert_eq!(
        firsts,
        vec![Some("zara".to_string()), Some("Awa".to_string())]
    );
    assert_eq!(p.units[0].phone.as_deref(), Some("+221 700"));

    // Credit end: F-050 (30 days) last ascending, first descending; F-002 before it.
    let asc = fleet::units(&state, &query(FleetSort::CreditUntil, true)).unwrap();
    assert_eq!(asc.units[0].serial, "F-050");
    assert_eq!(asc.units[1].serial, "F-002");
    let d = asc.units[0].credit_until.unwrap() - asc.units[1].credit_until.unwrap();
    assert!((28 * 86_400 - 2..=28 * 86_400).contains(&d), "{d}");
    let last = fleet::units(&state, &query(FleetSort::LastToken, true)).unwrap();
    assert!(last.units[0].last_token_at.is_some());
    assert!(last.units[2].last_token_at.is_none());

    // Status sort and filter + phone search.
    let st = fleet::units(&state, &query(FleetSort::Status, false)).unwrap();
    assert_eq!(st.units[0].status, "active");
    let mut q = query(FleetSort::Serial, false);
    q.search = Some(" 555".into());
    let found = fleet::units(&state, &q).unwrap();
    assert_eq!(
        found
            .units
            .iter()
            .map(|u| u.serial.as_str())
            .collect::<Vec<_>>(),
        ["F-050"]
    );
    q.search = None;
    q.status = Some("nope".into());
    assert_eq!(fleet::units(&state, &q).unwrap_err().code, "BAD_STATUS");
}

#[test]
fn assign_with_tariff_then_quote_matches_the_issued_days() {
    let dir = TempDir::new("fleet", "assign");
    let state = open(&dir, 3);
    let before = fleet::unit(&state, "F-001").unwrap();
    assert!(before.customer.is_none() && before.tariff_days_per_unit.is_none());
    assert_eq!(
        fleet::quote(&state, "F-001", "10").unwrap_err().code,
        "NO_TARIFF"
    );

    let bad = fleet::assign(
        &state,
        &FleetAssign {
            serial: "F-001".into(),
            name: "  ".into(),
            phone: None,
            tariff: None,
            operator: None,
        },
    );
    assert_eq!(bad.unwrap_err().code, "BAD_CUSTOMER");
    let bad = fleet::assign(
        &state,
        &FleetAssign {
            serial: "F-001".into(),
            name: "Awa".into(),
            phone: None,
            tariff: Some("seven".into()),
            operator: None,
        },
    );
    assert_eq!(bad.unwrap_err().code, "BAD_TARIFF");

    assign(&state, "F-001", "Awa Diop", "+221 77 000", Some("2.5"));
    let u = fleet::unit(&state, "F-001").unwrap();
    let c = u.customer.clone().unwrap();
    assert_eq!(
        (c.name.as_str(), c.phone.as_deref()),
        ("Awa Diop", Some("+221 77 000"))
    );
    assert_eq!(u.tariff_days_per_unit, Some(2.5));
    assert_eq!(u.status, "assigned");

    // 4 units × 2.5 = 10 days; the quote is what the token carries.
    let q = fleet::quote(&state, "F-001", "4").unwrap();
    assert_eq!((q.days, q.tariff_days_per_unit), (10.0, 2.5));
    let issued = issue(
        &state,
        "F-001",
        LedgerAction::AddAmount,
        None,
        Some("4"),
        "MPESA-9",
    );
    assert_eq!(issued.days, Some(q.days));
    assert_eq!(
        fleet::quote(&state, "F-001", "x").unwrap_err().code,
        "BAD_AMOUNT"
    );

    // Payments: the reference, the amount as typed, the days; the credit end follows.
    let u = fleet::unit(&state, "F-001").unwrap();
    assert_eq!(u.status, "active");
    assert_eq!(u.payments.len(), 1);
    let p = &u.payments[0];
    assert_eq!(
        (p.payment_ref.as_deref(), p.amount.as_deref(), p.days),
        (Some("MPESA-9"), Some("4"), Some(10.0))
    );
    assert_eq!(u.credit_until, u.last_token_at.map(|t| t + 10 * 86_400));

    // Re-assigning without a tariff keeps the old one.
    assign(&state, "F-001", "Awa D.", "+221 77 001", None);
    let u = fleet::unit(&state, "F-001").unwrap();
    assert_eq!(u.tariff_days_per_unit, Some(2.5));
    assert_eq!(u.customer.unwrap().name, "Awa D.");
}

#[test]
fn status_changes_need_who_and_why_and_follow_the_lifecycle() {
    let dir = TempDir::new("fleet", "status");
    let state = open(&dir, 2);
    let u = fleet::unit(&state, "F-001").unwrap();
    assert_eq!(u.status, "provisioned");
    assert!(u.next_statuses.contains(&"returned".to_string()));
    assert!(!u.next_statuses.contains(&"unlocked".to_string()));
    assert!(!u.next_statuses.contains(&"provisioned".to_string()));
    let change = |status: &str, operator: &str, reason: &str| {
        fleet::set_status(
            &state,
            &FleetStatusChange {
                serial: "F-001".into(),
                status: status.into(),
                operator: operator.into(),
                reason: reason.into(),
            },
        )
    };
    assert_eq!(
        change("returned", "", "why").unwrap_err().code,
        "OPERATOR_REQUIRED"
    );
    assert_eq!(
        change("returned", "ops", " ").unwrap_err().code,
        "REASON_REQUIRED"
    );
    assert_eq!(
        change("unlocked", "ops", "x").unwrap_err().code,
        "BAD_UNIT_STATE"
    );
    assert_eq!(change("bogus", "ops", "x").unwrap_err().code, "BAD_STATUS");
    let u = change("written_off", "ops", "stolen").unwrap();
    assert_eq!(u.status, "written_off");
    // The ledger refuses to issue for it.
    let err = ledger::issue(
        &state,
        &LedgerIssueRequest {
            serial: "F-001".into(),
            action: LedgerAction::AddTime,
            days: Some("1".into()),
            amount: None,
            payment_ref: None,
            operator: None,
            reason: None,
            supervisor_pin: None,
            extended: false,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "BAD_UNIT_STATE");
    assert_eq!(fleet::next_statuses("provisioning"), Vec::<String>::new());
}

#[test]
fn overview_counts_tokens_days_and_expiring_units() {
    let dir = TempDir::new("fleet", "stats");
    let state = open(&dir, 4);
    assign(&state, "F-001", "Awa", "+221 1", None);
    assign(&state, "F-002", "Binta", "+221 2", None);
    issue(&state, "F-001", LedgerAction::AddTime, Some("3"), None, "A");
    issue(
        &state,
        "F-002",
        LedgerAction::AddTime,
        Some("20"),
        None,
        "B",
    );
    issue(
        &state,
        "F-002",
        LedgerAction::AddTime,
        Some("1.5"),
        None,
        "C",
    );
    let now = fleet::unit(&state, "F-002").unwrap().last_token_at.unwrap();

    let s = fleet::stats(&state, now, 4, false, 0).unwrap();
    assert_eq!(s.total_units, 4);
    let of = |st: &str| s.by_status.iter().find(|c| c.status == st).unwrap().units;
    assert_eq!((of("active"), of("provisioned")), (2, 2));
    assert_eq!(s.series.len(), 28);
    let today = s.series.last().unwrap();
    // 1.5 days on divider 1 is embedded as 2 (half to even): days sold are what was issued.
    assert_eq!((today.tokens, today.days_sold), (3, 25.0));
    assert!(!s.weekly);
    assert_eq!(s.expiring_total, 1);
    assert_eq!(s.expiring[0].serial, "F-001");
    assert_eq!(s.expiring[0].phone.as_deref(), Some("+221 1"));

    let w = fleet::stats(&state, now, 4, true, 3600).unwrap();
    assert!(w.weekly);
    assert_eq!(w.series.len(), 4);
    assert_eq!(w.series.iter().map(|b| b.tokens).sum::<u32>(), 3);
    // Weeks clamp to 1..=52.
    assert_eq!(
        fleet::stats(&state, now, 0, true, 0).unwrap().series.len(),
        1
    );
    assert_eq!(
        fleet::stats(&state, now, 500, false, 0)
            .unwrap()
            .series
            .len(),
        52 * 7
    );
}

#[test]
fn restricted_units_are_flagged_and_issue_digits_1_to_4() {
    let dir = TempDir::new("fleet", "restricted");
    let state = open(&dir, 3);
    let u = fleet::unit(&state, "F-003").unwrap();
    assert!(u.restricted);
    let issued = issue(&state, "F-003", LedgerAction::AddTime, Some("1"), None, "R");
    assert_eq!(issued.token.len(), 15);
    assert!(issued.token.chars().all(|c| ('1'..='4').contains(&c)));
    assert_eq!(issued.grouped.split(' ').count(), 5);
}

#[test]
fn fleet_commands_need_the_ledger_open() {
    let state = AppState::default();
    let err = fleet::units(&state, &query(FleetSort::Serial, false)).unwrap_err();
    assert_eq!(err.code, "LEDGER_CLOSED");
    assert_eq!(
        fleet::stats(&state, 0, 1, false, 0).unwrap_err().code,
        "LEDGER_CLOSED"
    );
    let notes = FleetNotes {
        serial: "F-001".into(),
        notes: "x".into(),
        operator: None,
    };
    assert_eq!(
        fleet::set_notes(&state, &notes).unwrap_err().code,
        "LEDGER_CLOSED"
    );
}

#[test]
fn notes_are_saved_trimmed_bounded_and_cleared() {
    let dir = TempDir::new("fleet", "notes");
    let state = open(&dir, 2);
    let set = |notes: &str| {
        fleet::set_notes(
            &state,
            &FleetNotes {
                serial: "F-002".into(),
                notes: notes.into(),
                operator: Some(" amina ".into()),
            },
        )
    };
    let fu = set("  Behind the mosque.\nCall Binta before 18:00.  ").unwrap();
    assert_eq!(
        fu.notes.as_deref(),
        Some("Behind the mosque.\nCall Binta before 18:00.")
    );
    assert_eq!(fleet::unit(&state, "F-002").unwrap().notes, fu.notes);
    assert_eq!(set(&"n".repeat(2_001)).unwrap_err().code, "NOTES_TOO_LONG");
    assert_eq!(fleet::unit(&state, "F-002").unwrap().notes, fu.notes);
    assert_eq!(set("").unwrap().notes, None);
    // Only F-002 changed, and the change is in the audit log under the operator's name.
    assert_eq!(fleet::unit(&state, "F-001").unwrap().notes, None);
    let rows = crate::commands::ledger::with_ledger(&state, |l| Ok(l.audit_rows()?)).unwrap();
    let notes_rows: Vec<_> = rows.iter().filter(|r| r.action == "notes").collect();
    assert_eq!(notes_rows.len(), 2);
    assert!(notes_rows
        .iter()
        .all(|r| r.actor.as_deref() == Some("amina") && r.unit.as_deref() == Some("F-002")));
}

/// A token whose digits would come back on its chain (the ledger's TOKEN_WOULD_REPEAT)
/// reaches the UI as a coded error, and nothing is recorded; another number of days works.
#[test]
fn a_repeating_token_is_a_coded_error_and_leaves_no_trace() {
    let dir = TempDir::new("fleet", "repeat");
    let path = dir.join("ledger.sqlite");
    let mut l =
        Ledger::create(&path, &Passphrase::new(PASS), KdfParams::INSECURE_FOR_TESTS).unwrap();
    // The 865-day chain of this key and starting code repeats every 2 counts from count 34
    // (see firmware-core's `a_token_on_a_chain_cycle_is_accepted_again`).
    l.add_unit(
        &NewUnit {
            serial: "CY-1".into(),
            model: None,
            key: [
                15, 5, 12, 87, 23, 159, 9, 228, 107, 159, 52, 52, 138, 182, 73, 116,
            ],
            starting_code: Some(171_199_660),
            count: 32,
            restricted: false,
            divider: 1,
        },
        Some("test"),
    )
    .unwrap();
    drop(l);
    let state = AppState::default();
    ledger::unlock(&state, &path, PASS).unwrap();
    let request = |days: &str| LedgerIssueRequest {
        serial: "CY-1".into(),
        action: LedgerAction::AddTime,
        days: Some(days.into()),
        amount: None,
        payment_ref: Some(format!("PAY-{days}")),
        operator: Some("amina".into()),
        reason: None,
        supervisor_pin: None,
        extended: false,
    };
    let err = ledger::issue(&state, &request("865")).unwrap_err();
    assert_eq!(err.code, "TOKEN_WOULD_REPEAT");
    assert!(err.message.contains("every 2 counts"), "{}", err.message);
    let unit = ledger::detail(&state, "CY-1").unwrap();
    assert_eq!(
        (unit.count, unit.tokens_issued, unit.tokens.len()),
        (32, 0, 0)
    );
    let issued = ledger::issue(&state, &request("864")).unwrap();
    assert_eq!(issued.count, 34);
}
