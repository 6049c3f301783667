//! Property tests of both importers on random bytes and on mutated valid files: they never
//! panic, and any error leaves the ledger exactly as it was (all or nothing).

use crate::transfer::{bundle_pass, new_ledger, snapshot, test_limits, unit};
use paygo::ledger::{ImportOptions, KdfParams, Ledger, Selection};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A valid device CSV and a valid bundle (with tokens), made once.
fn valid_files() -> &'static (Vec<u8>, Vec<u8>) {
    static FILES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = new_ledger(dir.path(), "a.sqlite");
        a.add_units(&[unit("SN-1", 1), unit("SN-2", 2), unit("SN-3", 3)], None)
            .expect("add");
        let req = paygo::ledger::IssueRequest::new(paygo::ledger::IssueAction::Add(1.0));
        a.issue("SN-2", &req).expect("issue");
        let csv = a
            .export_openpaygo_csv(&Selection::All, None)
            .expect("csv")
            .0
            .to_vec();
        let bundle = a
            .export_bundle(
                &Selection::All,
                true,
                &bundle_pass(),
                KdfParams::INSECURE_FOR_TESTS,
                None,
            )
            .expect("bundle")
            .0;
        (csv, bundle)
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Mutations biased towards the bytes that matter in a CSV.
fn csv_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b','),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b' '),
        Just(b'0'),
        Just(b'9'),
        Just(b'f'),
        any::<u8>()
    ]
}

fn apply(data: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut d = data.to_vec();
    for m in muts {
        let n = d.len().max(1);
        match *m {
            Mutation::Flip(i, x) if !d.is_empty() => d[i % n] ^= x,
            Mutation::Insert(i, b) => d.insert(i % (d.len() + 1), b),
            Mutation::Delete(i) if !d.is_empty() => {
                d.remove(i % n);
            }
            Mutation::Truncate(i) => d.truncate(i % (d.len() + 1)),
            _ => {}
        }
    }
    d
}

fn opts() -> ImportOptions {
    ImportOptions {
        limits: test_limits(),
        ..ImportOptions::default()
    }
}

/// Import into a ledger that already holds SN-1 (so duplicates and conflicts are exercised).
fn check(csv: bool, data: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l: Ledger = new_ledger(dir.path(), "b.sqlite");
    l.add_unit(&unit("SN-1", 1), None).expect("add");
    let before = snapshot(&l);
    let result = if csv {
        l.import_openpaygo_csv(data, &opts())
    } else {
        l.import_bundle(data, &bundle_pass(), &opts())
    };
    match result {
        Ok(report) => {
            prop_assert!(report.errors.is_empty());
            let v = l.verify().expect("verify");
            prop_assert!(v.ok, "{:?}", v.problems);
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty() && !e.code().is_empty());
            prop_assert_eq!(snapshot(&l), before, "changed on error {}", e);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn csv_import_random_bytes(data in proptest::collection::vec(csv_byte(), 0..400)) {
        let mut with_header = b"Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode\n".to_vec();
        with_header.extend_from_slice(&data);
        check(true, &data)?;
        check(true, &with_header)?;
    }

    #[test]
    fn csv_import_mutated_valid_file(
        muts in proptest::collection::vec(mutation(), 1..6),
        bytes in proptest::collection::vec(csv_byte(), 6),
    ) {
        let muts: Vec<Mutation> = muts
            .into_iter()
            .zip(bytes)
            .map(|(m, b)| match m { Mutation::Insert(i, _) => Mutation::Insert(i, b), m => m })
            .collect();
        check(true, &apply(&valid_files().0, &muts))?;
    }

    #[test]
    fn bundle_import_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        let mut data = data;
        if magic {
            let mut d = paygo::ledger::BUNDLE_MAGIC.to_vec();
            d.push(1);
            d.extend_from_slice(&data);
            data = d;
        }
        check(false, &data)?;
    }

    #[test]
    fn bundle_import_mutated_valid_bundle(muts in proptest::collection::vec(mutation(), 1..4)) {
        let data = apply(&valid_files().1, &muts);
        // Any change to an authenticated bundle must be refused.
        if data != valid_files().1 {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut l = new_ledger(dir.path(), "c.sqlite");
            let before = snapshot(&l);
            let e = l.import_bundle(&data, &bundle_pass(), &opts());
            prop_assert!(e.is_err(), "a modified bundle was accepted");
            prop_assert_eq!(snapshot(&l), before);
        }
        check(false, &data)?;
    }
}
