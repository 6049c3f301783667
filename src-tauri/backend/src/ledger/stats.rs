//! Fleet views over the ledger: units by status, tokens and days sold per day or week,
//! units whose credit ends soon, a unit's credit end, and what a payment buys before issuing.
//!
//! Credit end (`units.credit_until`) is the ledger's view: every token entered on the day it
//! was issued. It is kept by a trigger (schema step 2), so these are plain indexed reads.

use super::{load_unit, LedgerError, Result, Status};
use crate::ledger::Ledger;
use rusqlite::params;
use serde::Serialize;

const DAY: i64 = 86_400;

/// Days bought by `amount_milli` (thousandths of the currency unit) at `tariff_millidays`
/// (thousandths of a day per currency unit): integer maths to the milli-day, as issuing does.
pub fn amount_days(amount_milli: i64, tariff_millidays: i64) -> f64 {
    let milli_days = i128::from(amount_milli) * i128::from(tariff_millidays) / 1000;
    milli_days as f64 / 1000.0
}

/// What a payment buys on a unit, exactly as [`Ledger::issue`] would embed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// The unit.
    pub serial: String,
    /// Days per currency unit.
    pub tariff_days_per_unit: f64,
    /// Days the token will carry (after rounding to the unit's divider).
    pub days: f64,
    /// The embedded value.
    pub value: u32,
}

/// Units in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    /// Stored status name.
    pub status: String,
    /// Units in it.
    pub units: u64,
}

/// Bucket size of the token series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Calendar days.
    #[default]
    Day,
    /// Weeks from Monday.
    Week,
}

/// What [`Ledger::fleet_stats`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsQuery {
    /// "Now", Unix seconds (a parameter so tests and the UI agree on the day).
    pub now: i64,
    /// The viewer's offset from UTC in seconds (east positive): days start at local midnight.
    pub tz_offset_secs: i64,
    /// How many weeks back the series goes, this one included (1-52).
    pub weeks: u32,
    /// Per day or per week.
    pub granularity: Granularity,
    /// "Expiring soon": credit ending within this many seconds from `now`.
    pub expiring_within_secs: i64,
    /// At most this many expiring units listed (all are counted).
    pub expiring_limit: u32,
}

impl StatsQuery {
    /// Last `weeks` weeks per day, credit ending in the next 7 days, UTC.
    pub fn new(now: i64, weeks: u32, granularity: Granularity) -> Self {
        StatsQuery {
            now,
            tz_offset_secs: 0,
            weeks,
            granularity,
            expiring_within_secs: 7 * DAY,
            expiring_limit: 100,
        }
    }
}

/// One bar of the token series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesBucket {
    /// Start of the day or week (local midnight), Unix seconds.
    pub start: i64,
    /// Tokens issued (every type).
    pub tokens: u64,
    /// Days sold: the days of ADD_TIME tokens.
    pub days_sold: f64,
}

/// A unit whose credit ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiringUnit {
    /// Serial.
    pub serial: String,
    /// Customer name.
    pub customer: Option<String>,
    /// Customer phone.
    pub phone: Option<String>,
    /// When the credit ends, Unix seconds.
    pub credit_until: i64,
}

/// The Fleet › Overview numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetStats {
    /// Units in the ledger.
    pub total_units: u64,
    /// Every status, in lifecycle order, zeros included.
    pub by_status: Vec<StatusCount>,
    /// Bucket size of `series`.
    pub granularity: Granularity,
    /// Oldest first, empty buckets included, the current day/week last.
    pub series: Vec<SeriesBucket>,
    /// Units on pay-as-you-go (assigned/active, not unlocked) whose credit ends within the
    /// window, soonest first (at most `expiring_limit`).
    pub expiring: Vec<ExpiringUnit>,
    /// How many such units in total.
    pub expiring_total: u64,
}

/// A unit's credit end and last token date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnitCredit {
    /// When its credit ends (ledger view), Unix seconds; `None` before any time token.
    pub credit_until: Option<i64>,
    /// When its last token was issued.
    pub last_token_at: Option<i64>,
}

/// The local day number of `t` (days since 1970-01-01 at local midnight).
fn local_day(t: i64, tz: i64) -> i64 {
    (t + tz).div_euclid(DAY)
}

/// The Monday starting the week of local day `d` (1970-01-01 was a Thursday).
fn week_start(d: i64) -> i64 {
    d - (d + 3).rem_euclid(7)
}

impl Ledger {
    /// Units by status, tokens and days sold per day/week, units whose credit ends soon.
    pub fn fleet_stats(&self, q: &StatsQuery) -> Result<FleetStats> {
        let conn = &self.conn;
        let mut by_status: Vec<StatusCount> = Status::ALL
            .iter()
            .map(|s| StatusCount {
                status: s.as_str().to_string(),
                units: 0,
            })
            .collect();
        let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM units GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            if let Some(c) = by_status.iter_mut().find(|c| c.status == status) {
                c.units = n as u64;
            }
        }
        let total_units = by_status.iter().map(|c| c.units).sum();

        let weeks = i64::from(q.weeks.clamp(1, 52));
        let tz = q.tz_offset_secs;
        let today = local_day(q.now, tz);
        let (first_day, step) = match q.granularity {
            Granularity::Day => (today - 7 * weeks + 1, 1),
            Granularity::Week => (week_start(today) - 7 * (weeks - 1), 7),
        };
        let buckets = ((today - first_day) / step + 1) as usize;
        let mut series: Vec<SeriesBucket> = (0..buckets as i64)
            .map(|i| SeriesBucket {
                start: (first_day + i * step) * DAY - tz,
                tokens: 0,
                days_sold: 0.0,
            })
            .collect();
        // Per local day through the created_at index; weeks are summed here.
        let mut stmt = conn.prepare(
            "SELECT (created_at + ?1) / 86400 AS d, COUNT(*), \
             COALESCE(SUM(CASE WHEN type = 'ADD_TIME' THEN days END), 0) \
             FROM tokens WHERE created_at >= ?2 AND created_at < ?3 GROUP BY d",
        )?;
        let from = first_day * DAY - tz;
        let to = (today + 1) * DAY - tz;
        let rows = stmt.query_map(params![tz, from, to], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for row in rows {
            let (d, n, days) = row?;
            let i = (d - first_day) / step;
            if let Some(b) = usize::try_from(i).ok().and_then(|i| series.get_mut(i)) {
                b.tokens += n as u64;
                b.days_sold += days;
            }
        }

        let filter = "FROM units u LEFT JOIN customers c ON c.id = u.customer_id \
             WHERE u.credit_until >= ?1 AND u.credit_until < ?2 AND u.payg_disabled = 0 \
             AND u.status IN ('assigned', 'active')";
        let until = q.now.saturating_add(q.expiring_within_secs.max(0));
        let expiring_total = conn.query_row(
            &format!("SELECT COUNT(*) {filter}"),
            params![q.now, until],
            |r| r.get::<_, i64>(0),
        )? as u64;
        let mut stmt = conn.prepare(&format!(
            "SELECT u.serial, c.name, c.phone, u.credit_until {filter} \
             ORDER BY u.credit_until, u.serial LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![q.now, until, q.expiring_limit], |r| {
            Ok(ExpiringUnit {
                serial: r.get(0)?,
                customer: r.get(1)?,
                phone: r.get(2)?,
                credit_until: r.get(3)?,
            })
        })?;
        Ok(FleetStats {
            total_units,
            by_status,
            granularity: q.granularity,
            series,
            expiring: rows.collect::<rusqlite::Result<_>>()?,
            expiring_total,
        })
    }

    /// A unit's credit end and last token date.
    pub fn unit_credit(&self, serial: &str) -> Result<UnitCredit> {
        let row = load_unit(&self.conn, serial)?;
        Ok(self.conn.query_row(
            "SELECT credit_until, last_token_at FROM units WHERE id = ?1",
            [row.id],
            |r| {
                Ok(UnitCredit {
                    credit_until: r.get(0)?,
                    last_token_at: r.get(1)?,
                })
            },
        )?)
    }

    /// The days `amount_milli` buys on `serial` under its tariff, as issuing would embed them
    /// (no passphrase needed, nothing written).
    pub fn quote_amount(&self, serial: &str, amount_milli: i64) -> Result<Quote> {
        if amount_milli < 0 {
            return Err(LedgerError::BadAmount(amount_milli.to_string()));
        }
        let row = load_unit(&self.conn, serial)?;
        let tariff = row
            .tariff_millidays
            .ok_or_else(|| LedgerError::NoTariff(row.serial.clone()))?;
        let value = crate::token::scale_days(amount_days(amount_milli, tariff), row.divider)?;
        Ok(Quote {
            serial: row.serial,
            tariff_days_per_unit: tariff as f64 / 1000.0,
            days: f64::from(value) / f64::from(row.divider),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{
        Customer, IssueAction, IssueRequest, KdfParams, NewUnit, Passphrase, UnitQuery, UnitSort,
    };

    fn ledger(dir: &std::path::Path) -> Ledger {
        Ledger::create(
            &dir.join("l.sqlite"),
            &Passphrase::new("correct horse battery"),
            KdfParams::INSECURE_FOR_TESTS,
        )
        .expect("create")
    }

    fn unit(serial: &str, i: u32) -> NewUnit {
        let mut key = [7u8; 16];
        key[..4].copy_from_slice(&i.to_le_bytes());
        NewUnit {
            serial: serial.into(),
            model: None,
            key,
            starting_code: None,
            count: 0,
            restricted: false,
            divider: 1,
        }
    }

    fn customer(name: &str, phone: &str) -> Customer {
        Customer {
            name: name.into(),
            phone: Some(phone.into()),
            location: None,
        }
    }

    fn add(l: &mut Ledger, serial: &str, days: f64) {
        l.issue(serial, &IssueRequest::new(IssueAction::Add(days)))
            .expect("issue");
    }

    /// Move the tokens `serial` has so far back by `secs`, as if issued then.
    fn age(l: &Ledger, serial: &str, secs: i64) {
        let c = l.connection();
        c.execute(
            "UPDATE tokens SET created_at = created_at - ?2 \
             WHERE unit_id = (SELECT id FROM units WHERE serial = ?1)",
            params![serial, secs],
        )
        .expect("age");
    }

    #[test]
    fn amount_days_is_integer_maths_to_the_milli_day() {
        assert_eq!(amount_days(2_000, 7_000), 14.0);
        assert_eq!(amount_days(1_500, 3_333), 4.999);
        assert_eq!(amount_days(0, 7_000), 0.0);
    }

    #[test]
    fn quote_matches_what_issue_embeds() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        l.add_unit(&unit("Q-1", 1), None).expect("add");
        assert_eq!(
            l.quote_amount("Q-1", 1000).expect_err("no tariff").code(),
            "NO_TARIFF"
        );
        l.assign("Q-1", &customer("Awa", "+221 1"), Some(2.5), None)
            .expect("assign");
        // 3 units × 2.5 = 7.5 days, rounded half to even on divider 1 = 8.
        let q = l.quote_amount("Q-1", 3000).expect("quote");
        assert_eq!(q.tariff_days_per_unit, 2.5);
        let issued = l
            .issue("Q-1", &IssueRequest::new(IssueAction::Amount(3000)))
            .expect("issue");
        assert_eq!(Some(q.days), issued.days);
        assert_eq!(q.value, issued.value);
        assert_eq!(q.days, 8.0);
        assert_eq!(
            l.quote_amount("Q-1", -1).expect_err("negative").code(),
            "BAD_AMOUNT"
        );
    }

    #[test]
    fn credit_until_follows_add_and_set_tokens() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        l.add_unit(&unit("C-1", 1), None).expect("add");
        assert_eq!(l.unit_credit("C-1").expect("credit").credit_until, None);
        add(&mut l, "C-1", 3.0);
        let first = l.unit_credit("C-1").expect("credit");
        let issued_at = first.last_token_at.expect("last token");
        assert_eq!(first.credit_until, Some(issued_at + 3 * DAY));
        // A second ADD_TIME extends the still-running credit.
        add(&mut l, "C-1", 2.0);
        let second = l.unit_credit("C-1").expect("credit");
        assert_eq!(second.credit_until, Some(issued_at + 5 * DAY));
        // SET_TIME restarts from its issue time.
        let mut set = IssueRequest::new(IssueAction::Set(1.0));
        set.operator = Some("sup".into());
        l.issue("C-1", &set).expect("set");
        let third = l.unit_credit("C-1").expect("credit");
        assert_eq!(
            third.credit_until,
            Some(third.last_token_at.expect("last") + DAY)
        );
        assert_eq!(
            l.unit_credit("NOPE").expect_err("unknown").code(),
            "UNKNOWN_UNIT"
        );
    }

    #[test]
    fn migration_backfills_credit_from_existing_tokens() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        l.add_unit(&unit("M-1", 1), None).expect("add");
        l.assign("M-1", &customer("Binta", "+223 5"), None, None)
            .expect("assign");
        add(&mut l, "M-1", 4.0);
        add(&mut l, "M-1", 1.0);
        let expected = l.unit_credit("M-1").expect("credit");
        // Forget the keys and re-run step 2's backfill the way a step-1 ledger would get it.
        let c = l.connection();
        c.execute_batch(
            "DROP TRIGGER tokens_fleet_keys; DROP TRIGGER units_customer_name_insert; \
             DROP TRIGGER units_customer_name_update; DROP TRIGGER customers_name_update; \
             DROP INDEX units_by_credit_until; DROP INDEX units_by_last_token; \
             DROP INDEX units_by_customer_name; DROP INDEX tokens_by_created; \
             ALTER TABLE units DROP COLUMN credit_until; ALTER TABLE units DROP COLUMN last_token_at; \
             ALTER TABLE units DROP COLUMN customer_name;",
        )
        .expect("back to step 1");
        c.execute_batch(crate::ledger::schema::MIGRATIONS[1])
            .expect("step 2");
        assert_eq!(l.unit_credit("M-1").expect("credit"), expected);
        let page = l
            .list_units(&UnitQuery {
                sort: UnitSort::Customer,
                ..UnitQuery::default()
            })
            .expect("list");
        assert_eq!(page.units[0].customer.as_deref(), Some("Binta"));
    }

    #[test]
    fn stats_count_statuses_series_and_expiring_units() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        for (i, s) in ["S-1", "S-2", "S-3", "S-4"].iter().enumerate() {
            l.add_unit(&unit(s, i as u32), None).expect("add");
        }
        l.assign("S-1", &customer("Awa", "+221 1"), None, None)
            .expect("assign");
        l.assign("S-2", &customer("Binta", "+221 2"), None, None)
            .expect("assign");
        l.set_status("S-4", Status::WrittenOff, "ops", "stolen")
            .expect("status");
        // S-1: 3 days today, and 10 days issued 8 days ago (credit since ended).
        add(&mut l, "S-1", 10.0);
        age(&l, "S-1", 8 * DAY);
        add(&mut l, "S-1", 3.0);
        // S-2: 30 days today (not expiring within 7 days).
        add(&mut l, "S-2", 30.0);
        // Pin "now" to noon UTC and move the tokens with it, so that a run across midnight
        // sees the same days.
        let real = super::super::now();
        let now = real.div_euclid(DAY) * DAY + DAY / 2;
        l.connection()
            .execute(
                "UPDATE tokens SET created_at = created_at + ?1",
                [now - real],
            )
            .expect("shift");
        // The trigger saw the first token at its real issue time; recompute as the ledger
        // would have if it had been issued 8 days ago: 3 days from now.
        l.connection()
            .execute(
                "UPDATE units SET credit_until = ?1 + 3 * 86400 WHERE serial = 'S-1'",
                [now],
            )
            .expect("credit");

        let stats = l
            .fleet_stats(&StatsQuery::new(now, 2, Granularity::Day))
            .expect("stats");
        assert_eq!(stats.total_units, 4);
        let of = |s: &str| {
            stats
                .by_status
                .iter()
                .find(|c| c.status == s)
                .map(|c| c.units)
        };
        assert_eq!(of("active"), Some(2));
        assert_eq!(of("provisioned"), Some(1));
        assert_eq!(of("written_off"), Some(1));
        assert_eq!(of("returned"), Some(0));
        assert_eq!(stats.by_status.len(), Status::ALL.len());

        assert_eq!(stats.series.len(), 14);
        let today = stats.series.last().expect("today");
        assert_eq!(today.tokens, 2);
        assert_eq!(today.days_sold, 33.0);
        assert!(today.start <= now && now < today.start + DAY);
        let eight_ago = &stats.series[stats.series.len() - 9];
        assert_eq!((eight_ago.tokens, eight_ago.days_sold), (1, 10.0));
        let total: u64 = stats.series.iter().map(|b| b.tokens).sum();
        assert_eq!(total, 3);
        for w in stats.series.windows(2) {
            assert_eq!(w[1].start - w[0].start, DAY);
        }

        assert_eq!(stats.expiring_total, 1);
        assert_eq!(stats.expiring[0].serial, "S-1");
        assert_eq!(stats.expiring[0].customer.as_deref(), Some("Awa"));
        assert_eq!(stats.expiring[0].phone.as_deref(), Some("+221 1"));

        // Per week: the 3 tokens fall in this week or the one before, split by the calendar.
        let weekly = l
            .fleet_stats(&StatsQuery::new(now, 3, Granularity::Week))
            .expect("weekly");
        assert_eq!(weekly.series.len(), 3);
        let sum: u64 = weekly.series.iter().map(|b| b.tokens).sum();
        let days: f64 = weekly.series.iter().map(|b| b.days_sold).sum();
        assert_eq!((sum, days), (3, 43.0));
        for b in &weekly.series {
            // Every bucket starts on a Monday at midnight UTC.
            assert_eq!(week_start(b.start / DAY), b.start / DAY);
            assert_eq!(b.start % DAY, 0);
        }
        assert!(weekly.series.last().expect("this week").tokens >= 2);
    }

    #[test]
    fn series_follows_the_local_day() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        l.add_unit(&unit("T-1", 1), None).expect("add");
        add(&mut l, "T-1", 1.0);
        let issued = l
            .unit_credit("T-1")
            .expect("credit")
            .last_token_at
            .expect("at");
        // Pin the token at 23:30 UTC: the next day for a viewer at UTC+2.
        let midnight = issued.div_euclid(DAY) * DAY;
        l.connection()
            .execute("UPDATE tokens SET created_at = ?1", [midnight - 1800])
            .expect("pin");
        let mut q = StatsQuery::new(midnight + 3600, 1, Granularity::Day);
        let utc = l.fleet_stats(&q).expect("utc");
        assert_eq!(utc.series[utc.series.len() - 2].tokens, 1);
        q.tz_offset_secs = 2 * 3600;
        let east = l.fleet_stats(&q).expect("east");
        let last = east.series.last().expect("today");
        assert_eq!(last.tokens, 1);
        assert_eq!(last.start, midnight - 2 * 3600);
    }

    #[test]
    fn week_start_is_monday() {
        // 1970-01-05 was a Monday (day 4); 1970-01-01 (day 0) a Thursday.
        assert_eq!(week_start(0), -3);
        assert_eq!(week_start(4), 4);
        assert_eq!(week_start(10), 4);
        assert_eq!(week_start(11), 11);
    }

    /// 20 000 units with scattered keys: every sort, both directions, matches an in-memory
    /// sort of the same rows across page boundaries, and is an index walk (no sort step).
    #[test]
    fn list_units_sorts_many_units_by_index_across_pages() {
        const N: u32 = 20_000;
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = ledger(dir.path());
        let units: Vec<NewUnit> = (0..N)
            .map(|i| unit(&format!("SN-{:05}", (i * 7919) % N), i))
            .collect();
        l.add_units(&units, None).expect("bulk add");
        let statuses = ["provisioned", "assigned", "active", "returned"];
        {
            // Scatter the sort keys in one transaction (issuing 20 000 tokens one by one
            // would measure fsync, not sorting); the customer-name trigger runs as usual.
            let c = l.connection();
            c.execute_batch("BEGIN").expect("begin");
            for i in 0..N / 4 {
                c.execute(
                    "INSERT INTO customers (id, name, phone, created_at) VALUES (?1, ?2, ?3, 0)",
                    params![
                        i + 1,
                        format!(
                            "{}ustomer {:04}",
                            if i % 2 == 0 { "c" } else { "C" },
                            (i * 31) % 997
                        ),
                        format!("+221 {i:06}")
                    ],
                )
                .expect("customer");
            }
            c.execute(
                "UPDATE units SET \
                 status = CASE id % 4 WHEN 0 THEN ?1 WHEN 1 THEN ?2 WHEN 2 THEN ?3 ELSE ?4 END, \
                 customer_id = CASE WHEN id % 4 = 0 THEN NULL ELSE (id % 5000) + 1 END, \
                 credit_until = CASE WHEN id % 7 = 0 THEN NULL ELSE 1700000000 + (id * 104729) % 50000 END, \
                 last_token_at = CASE WHEN id % 9 = 0 THEN NULL ELSE 1600000000 + (id * 7727) % 3000 END",
                params![statuses[0], statuses[1], statuses[2], statuses[3]],
            )
            .expect("keys");
            c.execute_batch("COMMIT").expect("commit");
        }
        // Every row as stored, for the reference sort.
        type Row = (String, String, Option<String>, Option<i64>, Option<i64>);
        let mut all: Vec<Row> = {
            let c = l.connection();
            let mut st = c
                .prepare(
                    "SELECT u.serial, u.status, c.name, u.credit_until, u.last_token_at \
                     FROM units u LEFT JOIN customers c ON c.id = u.customer_id",
                )
                .expect("prepare");
            let rows = st
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .expect("rows");
            rows.collect::<rusqlite::Result<_>>().expect("all")
        };
        assert_eq!(all.len(), N as usize);
        for sort in UnitSort::ALL {
            all.sort_by(|a, b| {
                let key = match sort {
                    UnitSort::Serial => std::cmp::Ordering::Equal,
                    UnitSort::Status => a.1.cmp(&b.1),
                    UnitSort::Customer => {
                        a.2.as_ref()
                            .map(|s| s.to_ascii_lowercase())
                            .cmp(&b.2.as_ref().map(|s| s.to_ascii_lowercase()))
                    }
                    UnitSort::CreditUntil => a.3.cmp(&b.3),
                    UnitSort::LastToken => a.4.cmp(&b.4),
                };
                key.then_with(|| a.0.cmp(&b.0))
            });
            for descending in [false, true] {
                let expected: Vec<&str> = if descending {
                    all.iter().rev().map(|r| r.0.as_str()).collect()
                } else {
                    all.iter().map(|r| r.0.as_str()).collect()
                };
                let mut got = Vec::new();
                let mut page = 1;
                loop {
                    let p = l
                        .list_units(&UnitQuery {
                            page,
                            page_size: 999,
                            sort,
                            descending,
                            ..UnitQuery::default()
                        })
                        .expect("page");
                    assert_eq!(p.total, u64::from(N));
                    if p.units.is_empty() {
                        break;
                    }
                    // A full page unless it is the last one.
                    assert!(p.units.len() == 999 || got.len() + p.units.len() == N as usize);
                    got.extend(p.units.into_iter().map(|u| u.serial));
                    page += 1;
                }
                assert_eq!(page, N.div_ceil(999) + 1, "{sort:?}");
                assert_eq!(got, expected, "{sort:?} descending={descending}");
            }
            // The plan walks an index in order: no temporary B-tree to sort 100 000 rows.
            let plan: Vec<String> = {
                let c = l.connection();
                let mut st = c
                    .prepare(&format!(
                        "EXPLAIN QUERY PLAN SELECT u.serial FROM units u \
                         LEFT JOIN customers c ON c.id = u.customer_id \
                         WHERE (?1 IS NULL OR u.status = ?1) ORDER BY {} LIMIT 50 OFFSET 100",
                        sort.order_by(true)
                    ))
                    .expect("plan");
                let rows = st
                    .query_map([None::<String>], |r| r.get::<_, String>(3))
                    .expect("plan rows");
                rows.collect::<rusqlite::Result<_>>().expect("plan")
            };
            assert!(
                !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                "{sort:?}: {plan:?}"
            );
        }
        // Search covers the customer's phone as well as serial and name; filter + sort.
        let p = l
            .list_units(&UnitQuery {
                search: Some("+221 000123".into()),
                sort: UnitSort::CreditUntil,
                ..UnitQuery::default()
            })
            .expect("phone search");
        assert!(p.total >= 1);
        assert!(p
            .units
            .iter()
            .all(|u| u.phone.as_deref() == Some("+221 000123")));
        let active = l
            .list_units(&UnitQuery {
                status: Some(Status::Active),
                sort: UnitSort::LastToken,
                descending: true,
                page_size: 1000,
                ..UnitQuery::default()
            })
            .expect("active");
        assert_eq!(active.total, u64::from(N / 4));
        assert!(active.units.iter().all(|u| u.status == "active"));
        assert!(active
            .units
            .windows(2)
            .all(|w| (w[0].last_token_at, &w[0].serial) >= (w[1].last_token_at, &w[1].serial)));
    }
}
