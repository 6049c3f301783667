//! Fuzz target bodies for the ledger importers, as plain functions.
//!
//! One ledger (in a temporary directory) lives for the whole fuzzing run and already holds
//! unit SN-1, so that duplicates and conflicts are reached. After every input: on error the
//! ledger must be exactly as before (all or nothing); on success it must still verify.

use paygo::ledger::{
    BundleLimits, ImportOptions, IssueAction, IssueRequest, KdfParams, Ledger, NewUnit, Passphrase,
    Selection, UnitQuery, BUNDLE_MAGIC,
};
use std::sync::{Mutex, OnceLock};

struct State {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    bundle: Vec<u8>,
}

fn unit(serial: &str, i: u8) -> NewUnit {
    let mut key = [0x5au8; 16];
    key[15] ^= i;
    NewUnit {
        serial: serial.into(),
        model: Some("fuzz".into()),
        key,
        starting_code: Some(1000 + u32::from(i)),
        count: u32::from(i),
        restricted: i % 2 == 1,
        divider: 1 + u32::from(i),
    }
}

fn bundle_pass() -> Passphrase {
    Passphrase::new("bundle")
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let pass = Passphrase::new("ledger");
        let p = KdfParams::INSECURE_FOR_TESTS;
        let mut source = Ledger::create(&dir.path().join("a.sqlite"), &pass, p).expect("create");
        source
            .add_units(&[unit("SN-1", 1), unit("SN-2", 2)], None)
            .expect("add");
        source
            .issue("SN-2", &IssueRequest::new(IssueAction::Add(1.0)))
            .expect("issue");
        let (bundle, _) = source
            .export_bundle(&Selection::All, true, &bundle_pass(), p, None)
            .expect("bundle");
        let mut ledger = Ledger::create(&dir.path().join("b.sqlite"), &pass, p).expect("create");
        ledger.add_unit(&unit("SN-1", 1), None).expect("add");
        Mutex::new(State {
            _dir: dir,
            ledger,
            bundle,
        })
    })
}

fn snapshot(l: &Ledger) -> (String, usize) {
    let units = l
        .list_units(&UnitQuery {
            page_size: 1000,
            ..UnitQuery::default()
        })
        .expect("list");
    (format!("{units:?}"), l.audit_rows().expect("audit").len())
}

fn opts() -> ImportOptions {
    ImportOptions {
        limits: BundleLimits {
            max_m_kib: 1024,
            max_t: 2,
            max_p: 2,
        },
        ..ImportOptions::default()
    }
}

fn check(
    l: &mut Ledger,
    import: impl FnOnce(&mut Ledger) -> Result<paygo::ledger::ImportReport, paygo::ledger::LedgerError>,
) -> bool {
    let before = snapshot(l);
    match import(l) {
        Ok(report) => {
            assert!(report.errors.is_empty());
            assert!(
                l.verify().expect("verify").ok,
                "ledger fails verify after an import"
            );
            true
        }
        Err(e) => {
            assert!(!e.code().is_empty() && !e.to_string().is_empty());
            assert_eq!(snapshot(l), before, "the ledger changed on error {e}");
            false
        }
    }
}

/// Import `data` as an OpenPAYGO device CSV.
pub fn import_csv(data: &[u8]) {
    let mut s = state().lock().unwrap_or_else(|e| e.into_inner());
    check(&mut s.ledger, |l| l.import_openpaygo_csv(data, &opts()));
}

/// First byte even: `data` as a bundle (behind the magic and version when the second byte is
/// odd). Odd: the valid bundle edited by (position, xor) triples from `data`; any real edit
/// must be refused.
pub fn import_bundle(data: &[u8]) {
    let mut s = state().lock().unwrap_or_else(|e| e.into_inner());
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (bytes, edited) = if mode % 2 == 0 {
        let mut b = Vec::new();
        if rest.first().is_some_and(|m| m % 2 == 1) {
            b.extend_from_slice(BUNDLE_MAGIC);
            b.push(1);
        }
        b.extend_from_slice(rest);
        (b, false)
    } else {
        let mut b = s.bundle.clone();
        for t in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([t[0], t[1]])) % b.len();
            b[at] ^= t[2];
        }
        if rest.len() % 3 == 1 {
            b.truncate(usize::from(rest[rest.len() - 1]) * 8);
        }
        let changed = b != s.bundle;
        (b, changed)
    };
    let ok = check(&mut s.ledger, |l| {
        l.import_bundle(&bytes, &bundle_pass(), &opts())
    });
    assert!(!(ok && edited), "an altered bundle was accepted");
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_run_on_sample_inputs() {
        super::import_csv(b"");
        super::import_csv(b"Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode\nSN-9,1,00112233445566778899aabbccddeeff,0,1,0\n");
        super::import_bundle(&[1]);
        super::import_bundle(&[1, 90, 0, 1]);
        super::import_bundle(&[0, 1, 2, 3]);
    }
}
