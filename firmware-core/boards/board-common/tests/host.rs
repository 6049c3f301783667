//! Host tests of the board-independent parts (run with the host target, e.g.
//! `cargo test --manifest-path firmware-core/boards/Cargo.toml -p board-common
//! --target x86_64-unknown-linux-gnu`).

use board_common::entropy::Mixer;
use board_common::ram::RamStore;
use board_common::{RxRing, STORE_BYTES};
use firmware_core::app::stored_last_seen;
use firmware_core::app::{App, REPLY_MAX};

const PROV: &[u8] = b"PROV SN-T 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*96\n";
/// ADD_TIME 1, count 2, for the key and starting code above (`paygo token generate`).
const TOKEN: &[u8] = b"TOKEN 662486790*35\n";

fn send<S: firmware_core::storage::Store>(app: &mut App<S>, line: &[u8], now: u32) -> String {
    let mut reply = [0u8; REPLY_MAX];
    let mut entropy = || 7u64;
    let mut out = None;
    for &b in line {
        if let Some(n) = app.receive(b, now, &mut entropy, &mut reply) {
            out = Some(String::from_utf8_lossy(&reply[..n]).into_owned());
        }
    }
    out.expect("a reply")
}

#[test]
fn stored_last_seen_reads_the_time_the_app_saved() {
    let mut store = RamStore::<STORE_BYTES>::new();
    assert_eq!(stored_last_seen(&mut store), None, "blank store");
    {
        let mut app = App::boot(&mut store, "test", 100).expect("boot");
        assert!(send(&mut app, PROV, 100).starts_with("OK PROV SN-T"));
        assert!(send(&mut app, TOKEN, 500).starts_with("OK TOKEN ADD_TIME 1 2"));
    }
    assert_eq!(stored_last_seen(&mut store), Some(500));

    // Resuming at the stored time keeps the credit whole (no rollback penalty).
    let mut app = App::boot(&mut store, "test", 500).expect("boot");
    let status = send(&mut app, b"STATUS\n", 510);
    assert!(
        status.starts_with("OK STATUS 2 ACTIVE 86390 0 NONE"),
        "{status}"
    );
}

#[test]
fn ring_is_fifo_and_drops_when_full() {
    let ring = RxRing::<4>::new();
    assert_eq!(ring.pop(), None);
    for b in 1..=4 {
        assert!(ring.push(b));
    }
    assert!(!ring.push(5));
    assert_eq!(ring.dropped(), 1);
    assert_eq!(ring.pop(), Some(1));
    assert!(ring.push(6));
    let rest: Vec<u8> = std::iter::from_fn(|| ring.pop()).collect();
    assert_eq!(rest, [2, 3, 4, 6]);
}

#[test]
fn mixer_does_not_repeat_with_constant_jitter() {
    let mut m = Mixer::new(0);
    let mut seen: Vec<u64> = (0..10_000).map(|_| m.next(0)).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 10_000);
}
