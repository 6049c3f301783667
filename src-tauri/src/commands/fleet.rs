//! Fleet views over the open ledger: the sorted Units table, a unit's customer / tariff /
//! status / payments, assigning and status changes, the Overview charts and what a payment
//! buys before issuing. Plain functions over [`AppState`] (tested in `tests_fleet`), each
//! `#[tauri::command]` only unpacks and delegates.

use super::ledger::{format_milli, with_ledger, DEFAULT_PAGE_SIZE};
use super::{blocking, trimmed, AppArc};
use crate::api::{
    FleetAssign, FleetBucket, FleetCustomer, FleetExpiring, FleetNotes, FleetPayment, FleetQuote,
    FleetSort, FleetStats, FleetStatusChange, FleetStatusCount, FleetUnit, FleetUnitPage,
    FleetUnitRow, FleetUnitsQuery,
};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::ledger::{
    self, Customer, Granularity, StatsQuery, Status, TokenRecord, UnitQuery, UnitSort,
};
use paygo::token;
use std::sync::Arc;

/// Overview: how many weeks back the chart goes at most.
pub const MAX_WEEKS: u32 = 52;

fn sort_of(s: FleetSort) -> UnitSort {
    match s {
        FleetSort::Serial => UnitSort::Serial,
        FleetSort::Status => UnitSort::Status,
        FleetSort::Customer => UnitSort::Customer,
        FleetSort::CreditUntil => UnitSort::CreditUntil,
        FleetSort::LastToken => UnitSort::LastToken,
    }
}

fn u32_of(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A sorted, filtered page of units.
pub fn units(state: &AppState, q: &FleetUnitsQuery) -> CmdResult<FleetUnitPage> {
    let status = trimmed(q.status.as_deref())
        .map(|s| Status::parse(&s))
        .transpose()?;
    let query = UnitQuery {
        status,
        search: trimmed(q.search.as_deref()),
        page: q.page.max(1),
        page_size: if q.page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            q.page_size
        },
        sort: sort_of(q.sort),
        descending: q.descending,
    };
    with_ledger(state, |l| {
        let p = l.list_units(&query)?;
        Ok(FleetUnitPage {
            total: u32_of(p.total),
            page: p.page,
            page_size: p.page_size,
            sort: q.sort,
            descending: q.descending,
            units: p
                .units
                .into_iter()
                .map(|u| FleetUnitRow {
                    serial: u.serial,
                    model: u.model,
                    status: u.status,
                    count: u.count,
                    customer: u.customer,
                    phone: u.phone,
                    credit_until: u.credit_until,
                    last_token_at: u.last_token_at,
                })
                .collect(),
        })
    })
}

/// Statuses a unit in `status` can be moved to by hand: not `provisioning` (provisioning
/// owns it) nor `unlocked` (only a DISABLE_PAYG token unlocks), and nothing out of
/// `provisioning`.
pub fn next_statuses(status: &str) -> Vec<String> {
    if status == Status::Provisioning.as_str() {
        return Vec::new();
    }
    Status::ALL
        .into_iter()
        .filter(|s| !matches!(s, Status::Provisioning | Status::Unlocked))
        .map(Status::as_str)
        .filter(|s| *s != status)
        .map(str::to_string)
        .collect()
}

/// Tokens that recorded a payment (a reference or an amount), newest first.
pub fn payments(tokens: &[TokenRecord]) -> Vec<FleetPayment> {
    tokens
        .iter()
        .rev()
        .filter(|t| t.payment_ref.is_some() || t.amount_milli.is_some())
        .map(|t| FleetPayment {
            count: t.count,
            payment_ref: t.payment_ref.clone(),
            amount: t.amount_milli.map(format_milli),
            days: t.days,
            created_at: t.created_at,
        })
        .collect()
}

/// A unit's customer, tariff, status choices, credit and payments (no key).
pub fn unit(state: &AppState, serial: &str) -> CmdResult<FleetUnit> {
    with_ledger(state, |l| {
        let u = l.unit(serial)?;
        let credit = l.unit_credit(serial)?;
        let tokens = l.tokens(serial)?;
        Ok(FleetUnit {
            next_statuses: next_statuses(&u.status),
            serial: u.serial,
            status: u.status,
            restricted: u.restricted,
            customer: u.customer.map(|c| FleetCustomer {
                name: c.name,
                phone: c.phone,
                location: c.location,
            }),
            tariff_days_per_unit: u.tariff_days_per_unit,
            notes: u.notes,
            credit_until: credit.credit_until,
            last_token_at: credit.last_token_at,
            payments: payments(&tokens),
        })
    })
}

/// Assign a (new) customer and optionally a tariff, through `Ledger::assign`.
pub fn assign(state: &AppState, req: &FleetAssign) -> CmdResult<FleetUnit> {
    let name = trimmed(Some(&req.name))
        .ok_or_else(|| CommandError::new("BAD_CUSTOMER", "the customer needs a name"))?;
    let tariff = trimmed(req.tariff.as_deref())
        .map(|t| {
            token::parse_days(&t).map_err(|_| {
                CommandError::new(
                    "BAD_TARIFF",
                    format!("the tariff is days per currency unit, e.g. 7 or 2.5 (got {t:?})"),
                )
            })
        })
        .transpose()?;
    let customer = Customer {
        name,
        phone: trimmed(req.phone.as_deref()),
        location: None,
    };
    let operator = trimmed(req.operator.as_deref());
    with_ledger(state, |l| {
        Ok(l.assign(&req.serial, &customer, tariff, operator.as_deref())?)
    })?;
    unit(state, &req.serial)
}

/// Replace a unit's notes through `Ledger::set_notes` (trimmed, bounded, audited).
pub fn set_notes(state: &AppState, req: &FleetNotes) -> CmdResult<FleetUnit> {
    let operator = trimmed(req.operator.as_deref());
    with_ledger(state, |l| {
        Ok(l.set_notes(&req.serial, &req.notes, operator.as_deref())?)
    })?;
    unit(state, &req.serial)
}

/// Move a unit to another status (audited with who and why; both required).
pub fn set_status(state: &AppState, req: &FleetStatusChange) -> CmdResult<FleetUnit> {
    let status = Status::parse(req.status.trim())?;
    let operator = trimmed(Some(&req.operator)).ok_or_else(|| {
        CommandError::new("OPERATOR_REQUIRED", "a status change needs an operator")
    })?;
    let reason = trimmed(Some(&req.reason))
        .ok_or_else(|| CommandError::new("REASON_REQUIRED", "a status change needs a reason"))?;
    with_ledger(state, |l| {
        let current = l.unit(&req.serial)?.status;
        if !next_statuses(&current).iter().any(|s| s == status.as_str()) {
            return Err(CommandError::new(
                "BAD_UNIT_STATE",
                format!(
                    "unit {} cannot be moved from {current} to {} by hand",
                    req.serial,
                    status.as_str()
                ),
            ));
        }
        Ok(l.set_status(&req.serial, status, &operator, &reason)?)
    })?;
    unit(state, &req.serial)
}

/// The days `amount` (as typed, "12.50") buys on `serial`, as issuing would embed them.
pub fn quote(state: &AppState, serial: &str, amount: &str) -> CmdResult<FleetQuote> {
    let milli = ledger::parse_milli(amount.trim())?;
    with_ledger(state, |l| {
        let q = l.quote_amount(serial, milli)?;
        Ok(FleetQuote {
            serial: q.serial,
            tariff_days_per_unit: q.tariff_days_per_unit,
            days: q.days,
        })
    })
}

/// Overview numbers at `now` for a viewer `tz_offset_secs` east of UTC.
pub fn stats(
    state: &AppState,
    now: i64,
    weeks: u32,
    weekly: bool,
    tz_offset_secs: i64,
) -> CmdResult<FleetStats> {
    let mut q = StatsQuery::new(
        now,
        weeks.clamp(1, MAX_WEEKS),
        if weekly {
            Granularity::Week
        } else {
            Granularity::Day
        },
    );
    // Real offsets lie within ±14 h; anything else is a caller bug, not a time zone.
    q.tz_offset_secs = tz_offset_secs.clamp(-14 * 3600, 14 * 3600);
    with_ledger(state, |l| {
        let s = l.fleet_stats(&q)?;
        Ok(FleetStats {
            total_units: u32_of(s.total_units),
            by_status: s
                .by_status
                .into_iter()
                .map(|c| FleetStatusCount {
                    status: c.status,
                    units: u32_of(c.units),
                })
                .collect(),
            weekly,
            series: s
                .series
                .into_iter()
                .map(|b| FleetBucket {
                    start: b.start,
                    tokens: u32_of(b.tokens),
                    days_sold: b.days_sold,
                })
                .collect(),
            expiring: s
                .expiring
                .into_iter()
                .map(|e| FleetExpiring {
                    serial: e.serial,
                    customer: e.customer,
                    phone: e.phone,
                    credit_until: e.credit_until,
                })
                .collect(),
            expiring_total: u32_of(s.expiring_total),
        })
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `fleet_units`: see [`units`].
#[tauri::command]
pub async fn fleet_units(state: AppArc<'_>, query: FleetUnitsQuery) -> CmdResult<FleetUnitPage> {
    let state = Arc::clone(&state);
    blocking(move || units(&state, &query)).await
}

/// `fleet_unit`: see [`unit`].
#[tauri::command]
pub async fn fleet_unit(state: AppArc<'_>, serial: String) -> CmdResult<FleetUnit> {
    let state = Arc::clone(&state);
    blocking(move || unit(&state, &serial)).await
}

/// `fleet_assign`: see [`assign`].
#[tauri::command]
pub async fn fleet_assign(state: AppArc<'_>, req: FleetAssign) -> CmdResult<FleetUnit> {
    let state = Arc::clone(&state);
    blocking(move || assign(&state, &req)).await
}

/// `fleet_set_notes`: see [`set_notes`].
#[tauri::command]
pub async fn fleet_set_notes(state: AppArc<'_>, req: FleetNotes) -> CmdResult<FleetUnit> {
    let state = Arc::clone(&state);
    blocking(move || set_notes(&state, &req)).await
}

/// `fleet_set_status`: see [`set_status`].
#[tauri::command]
pub async fn fleet_set_status(state: AppArc<'_>, req: FleetStatusChange) -> CmdResult<FleetUnit> {
    let state = Arc::clone(&state);
    blocking(move || set_status(&state, &req)).await
}

/// `fleet_quote`: see [`quote`].
#[tauri::command]
pub async fn fleet_quote(
    state: AppArc<'_>,
    serial: String,
    amount: String,
) -> CmdResult<FleetQuote> {
    let state = Arc::clone(&state);
    blocking(move || quote(&state, &serial, &amount)).await
}

/// `fleet_stats`: see [`stats`] (now = the machine's clock).
#[tauri::command]
pub async fn fleet_stats(
    state: AppArc<'_>,
    weeks: u32,
    weekly: bool,
    tz_offset_secs: i64,
) -> CmdResult<FleetStats> {
    let state = Arc::clone(&state);
    blocking(move || stats(&state, unix_now(), weeks, weekly, tz_offset_secs)).await
}
