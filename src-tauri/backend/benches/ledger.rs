//! Ledger at scale: 100 000 units and 1 000 000 tokens in a temp dir.
//!
//! Measures: Argon2id unlock (default parameters), issuing one token (criterion, plus p50/p99
//! over 500 timed issues printed below), and listing a page of units (target < 50 ms).

use criterion::{criterion_group, criterion_main, Criterion};
use paygo::ledger::{
    Granularity, IssueAction, IssueRequest, KdfParams, Ledger, NewUnit, Passphrase, StatsQuery,
    UnitQuery, UnitSort,
};
use std::time::Instant;

const UNITS: u32 = 100_000;
const TOKENS_PER_UNIT: u32 = 10;

fn serial(i: u32) -> String {
    format!("SN-{i:06}")
}

fn build(dir: &std::path::Path) -> (Ledger, Passphrase) {
    let path = dir.join("ledger.sqlite");
    let pass = Passphrase::new("bench passphrase");
    let t = Instant::now();
    let mut l = Ledger::create(&path, &pass, KdfParams::DEFAULT).expect("create");
    eprintln!(
        "create (one Argon2id derivation, m=19 MiB t=2 p=1): {:?}",
        t.elapsed()
    );

    let t = Instant::now();
    let units: Vec<NewUnit> = (0..UNITS)
        .map(|i| {
            let mut key = [0u8; 16];
            key[..4].copy_from_slice(&i.to_be_bytes());
            key[15] = 0x5a;
            NewUnit {
                serial: serial(i),
                model: Some("SHS-10".into()),
                key,
                starting_code: None,
                count: 0,
                restricted: false,
                divider: 1,
            }
        })
        .collect();
    l.add_units(&units, Some("bench")).expect("add units");
    eprintln!(
        "{UNITS} units (sealed keys, audited) in one transaction: {:?}",
        t.elapsed()
    );

    // Bulk history straight into the tables (not audited: this ledger is never verified).
    let t = Instant::now();
    {
        let conn = l.connection();
        let tx = conn.unchecked_transaction().expect("tx");
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO tokens (unit_id, count, type, value, days, token, payment_ref, created_at) \
                     VALUES (?1, ?2, 'ADD_TIME', 7, 7.0, ?3, ?4, 0)",
                )
                .expect("prepare");
            for u in 1..=i64::from(UNITS) {
                for k in 1..=TOKENS_PER_UNIT {
                    let count = 2 * k;
                    ins.execute(rusqlite::params![
                        u,
                        count,
                        format!("{:09}", (u as u64 * 7919 + u64::from(k)) % 1_000_000_000),
                        format!("PAY-{u}-{k}")
                    ])
                    .expect("insert");
                }
            }
        }
        tx.execute(
            "UPDATE units SET count = ?1, device_count = ?1",
            [2 * TOKENS_PER_UNIT],
        )
        .expect("update");
        tx.commit().expect("commit");
    }
    eprintln!(
        "{} tokens in one transaction: {:?}",
        UNITS * TOKENS_PER_UNIT,
        t.elapsed()
    );
    drop(l);
    let t = Instant::now();
    let l = Ledger::open(&path, Some(&pass)).expect("open");
    eprintln!("open + unlock (Argon2id): {:?}", t.elapsed());
    (l, pass)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Issue, counting the rare value chains the ledger refuses (their digits come back within
/// 10 000 counts); a refusal does as much work as an issue up to the check.
fn issue_or_refuse(l: &mut Ledger, serial: &str, req: &IssueRequest, refused: &mut u32) {
    match l.issue(serial, req) {
        Ok(_) => {}
        Err(e) if e.code() == "TOKEN_WOULD_REPEAT" => *refused += 1,
        Err(e) => panic!("issue: {e}"),
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut l, _pass) = build(dir.path());
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_unit = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        serial((rng % u64::from(UNITS)) as u32)
    };

    // Own timing: 500 issues on random units, p50 / p99.
    let mut times = Vec::new();
    let mut refused = 0;
    for i in 0..500 {
        let mut req = IssueRequest::new(IssueAction::Add(f64::from(i % 30 + 1)));
        req.payment_ref = Some(format!("BENCH-{i}"));
        let s = next_unit();
        let t = Instant::now();
        issue_or_refuse(&mut l, &s, &req, &mut refused);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "issue one token (500 random units, each its own committed transaction): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );

    c.bench_function("issue_one_token", |b| {
        b.iter(|| {
            let s = next_unit();
            let req = IssueRequest::new(IssueAction::Add(3.0));
            issue_or_refuse(&mut l, &s, &req, &mut refused)
        })
    });
    eprintln!("refused because the value's chain repeats within the horizon (TOKEN_WOULD_REPEAT): {refused}");
    c.bench_function("list_units_page_50_of_100k", |b| {
        let mut page = 0u32;
        b.iter(|| {
            page = page % 2000 + 1;
            l.list_units(&UnitQuery {
                page,
                page_size: 50,
                ..UnitQuery::default()
            })
            .expect("list")
        })
    });
    // The Units table's sortable columns: an index walk each (schema step 2).
    for sort in UnitSort::ALL {
        c.bench_function(
            &format!("list_units_page_50_of_100k_by_{}_desc", sort.as_str()),
            |b| {
                let mut page = 0u32;
                b.iter(|| {
                    page = page % 2000 + 1;
                    l.list_units(&UnitQuery {
                        page,
                        page_size: 50,
                        sort,
                        descending: true,
                        ..UnitQuery::default()
                    })
                    .expect("list")
                })
            },
        );
    }
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    c.bench_function("fleet_stats_4_weeks", |b| {
        b.iter(|| {
            l.fleet_stats(&StatsQuery::new(unix_now, 4, Granularity::Day))
                .expect("stats")
        })
    });
    c.bench_function("list_units_search_page", |b| {
        b.iter(|| {
            l.list_units(&UnitQuery {
                search: Some("SN-0421".into()),
                page_size: 50,
                ..UnitQuery::default()
            })
            .expect("list")
        })
    });
    c.bench_function("unit_show", |b| {
        b.iter(|| l.unit(&next_unit()).expect("show"))
    });
}

criterion_group! {
    name = ledger;
    config = Criterion::default().sample_size(50);
    targets = benches
}
criterion_main!(ledger);
