//! The device application end to end over its UART lines, and power cuts at every byte of
//! every write of a long scenario, checked against the states the device acknowledged.

use firmware_core::app::{App, REPLY_MAX};
use firmware_core::payg::PaygState;
use firmware_core::protocol::{
    challenge_mac, parse_response, Provision, Reply, Request, Serial, TokenDigits,
};
use firmware_core::storage::{MockStore, Store};
use firmware_core::token::{generate, TokenKind, TokenText, TokenType};
use firmware_core::Error;
use std::cell::RefCell;
use std::rc::Rc;

const C: usize = 512;
const KEY: [u8; 16] = *b"app-test-key-001";
const SC: u32 = 424_242_424;

/// One mock EEPROM shared between the app under test and the test itself.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<MockStore<C>>>);

impl Store for Shared {
    fn capacity(&self) -> usize {
        C
    }
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.0.borrow_mut().read(offset, buf)
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        self.0.borrow_mut().write(offset, data)
    }
}

impl Shared {
    fn snapshot(&self) -> Shared {
        let copy = Shared::default();
        *copy.0.borrow_mut().bytes_mut() = *self.0.borrow().bytes();
        copy
    }
}

fn send(app: &mut App<Shared>, line: &[u8], now: u32) -> String {
    let mut reply = [0u8; REPLY_MAX];
    let mut entropy = || 0x0123_4567_89ab_cdef_u64;
    let mut answer = None;
    for &b in line.iter().chain(b"\n") {
        if let Some(n) = app.receive(b, now, &mut entropy, &mut reply) {
            assert!(answer.is_none(), "two replies to one line");
            answer = Some(String::from_utf8(reply[..n].to_vec()).unwrap());
        }
    }
    answer.expect("every line gets a reply")
}

fn request(r: &Request<'_>) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let n = r.write(&mut buf).unwrap();
    buf[..n].trim_ascii_end().to_vec()
}

fn prov_line(count: u32) -> Vec<u8> {
    request(&Request::Prov(Provision {
        serial: Serial::new(b"APP-1").unwrap(),
        starting_code: SC,
        key: KEY,
        count,
        restricted: false,
        divider: 1,
    }))
}

fn token_line(number: u64) -> Vec<u8> {
    let text = TokenText::new(number, TokenKind::Standard, false);
    request(&Request::Token(TokenDigits::from_text(&text)))
}

fn issue(count: u32, t: TokenType, value: Option<u32>) -> (u64, u32) {
    let g = generate(&KEY, SC, count, t, value, TokenKind::Standard, None).unwrap();
    (g.number, g.count)
}

#[test]
fn provision_challenge_tokens_and_reboot() {
    let store = Shared::default();
    let mut app = App::boot(store.clone(), "test-1.0", 1_000).unwrap();
    assert!(send(&mut app, b"ID", 1_000).starts_with("OK ID 1 test-1.0 - 0 0*"));
    assert!(send(&mut app, b"STATUS", 1_000).starts_with("ERR NOT_PROVISIONED"));
    assert!(send(&mut app, &token_line(1), 1_000).starts_with("ERR NOT_PROVISIONED"));
    assert!(!app.power_on(1_000));

    assert!(send(&mut app, &prov_line(5), 1_000).starts_with("OK PROV APP-1*"));
    assert!(send(&mut app, &prov_line(5), 1_000).starts_with("ERR ALREADY_PROVISIONED"));
    let nonce = [7u8; 16];
    let chal = send(&mut app, &request(&Request::Chal(nonce)), 1_000);
    let want = challenge_mac(&KEY, &nonce, &Serial::new(b"APP-1").unwrap());
    assert_eq!(parse_response(chal.as_bytes()), Ok(Reply::Chal(want)));

    let (add, n) = issue(5, TokenType::AddTime, Some(3));
    assert!(
        send(&mut app, &token_line(add), 1_000).starts_with(&format!("OK TOKEN ADD_TIME 3 {n}*"))
    );
    assert!(send(&mut app, &token_line(add), 1_010)
        .starts_with(&format!("OK TOKEN ALREADY_USED - {n}*")));
    assert!(app.power_on(1_010));
    let status = send(&mut app, b"STATUS", 1_010);
    assert!(
        status.starts_with(&format!(
            "OK STATUS {n} ACTIVE {} 0 ALREADY_USED*",
            3 * 86_400 - 10
        )),
        "{status}"
    );

    // Reboot from the same EEPROM: the state is there, the last result is not (RAM only).
    drop(app);
    let mut app = App::boot(store, "test-1.0", 2_000).unwrap();
    assert!(send(&mut app, b"ID", 2_000).starts_with("OK ID 1 test-1.0 APP-1 1 0*"));
    let status = send(&mut app, b"STATUS", 2_000);
    assert!(
        status.starts_with(&format!(
            "OK STATUS {n} ACTIVE {} 0 NONE*",
            3 * 86_400 - 1_000
        )),
        "{status}"
    );
}

#[test]
fn corrupt_storage_boots_blank_and_reports_it() {
    let store = Shared::default();
    let mut app = App::boot(store.clone(), "t", 10).unwrap();
    send(&mut app, &prov_line(1), 10);
    drop(app);
    for b in store.0.borrow_mut().bytes_mut().iter_mut() {
        *b ^= 0x5a;
    }
    let mut app = App::boot(store, "t", 20).unwrap();
    assert_eq!(app.fault(), Some(Error::StorageCorrupt));
    assert!(!app.power_on(20));
    assert!(send(&mut app, b"ID", 20).contains(" - 0 0*"));
}

/// What a rebooted device holds: provisioned flag and PAYG state.
fn rebooted(store: &Shared, now: u32) -> (bool, PaygState) {
    let app = App::boot(store.snapshot(), "t", now).unwrap();
    (app.provisioned(), *app.state())
}

#[test]
fn power_cut_at_every_byte_of_every_write() {
    // A long life: provisioning, tokens of all kinds, replays, typos, lockout, time passing.
    let mut lines: Vec<(Vec<u8>, u32)> = vec![(prov_line(1), 100)];
    let mut count = 1;
    let mut now = 100;
    for i in 0..30u32 {
        now += 3_700; // crosses a persistence period every step
        let (t, v) = match i % 5 {
            0 | 1 => (TokenType::AddTime, Some(i % 7 + 1)),
            2 => (TokenType::SetTime, Some(2)),
            3 => (TokenType::AddTime, Some(1)),
            _ => (TokenType::CounterSync, None),
        };
        let (number, n) = issue(count, t, v);
        count = n;
        lines.push((token_line(number), now));
        if i % 4 == 0 {
            lines.push((token_line(number), now + 1)); // replay
        }
        if i % 6 == 0 {
            for k in 0..3 {
                lines.push((token_line(u64::from(111_111_111 + k + i)), now + 2));
                // wrong tokens
            }
        }
        lines.push((b"STATUS".to_vec(), now + 3));
    }
    let unlock = issue(count, TokenType::DisablePayg, None).0;
    lines.push((token_line(unlock), now + 200_000));

    let reference = Shared::default();
    let mut app = App::boot(reference.clone(), "t", 50).unwrap();
    let mut cuts = 0;
    for (line, at) in &lines {
        let before = rebooted(&reference, *at);
        // Run the step on copies with the power cut after k bytes, for every k the step writes.
        let probe = reference.snapshot();
        // Booting may itself save (a new persistence period began): that happens before
        // the cut in every copy, like on a device that was powered up earlier.
        let mut full = App::boot(probe.clone(), "t", *at).unwrap();
        let start = probe.0.borrow().bytes_written();
        send(&mut full, line, *at);
        let step_writes = probe.0.borrow().bytes_written() - start;
        for k in 0..step_writes {
            let cut = reference.snapshot();
            let mut app_cut = App::boot(cut.clone(), "t", *at).unwrap();
            cut.0.borrow_mut().cut_power_after(k);
            let reply = send(&mut app_cut, line, *at);
            cut.0.borrow_mut().restore_power();
            drop(app_cut);
            let after_cut = rebooted(&cut, *at);
            let after_full = rebooted(&probe, *at);
            assert!(
                after_cut == before || after_cut == after_full,
                "cut after {k} bytes of {:?}: state is neither the old nor the new one",
                String::from_utf8_lossy(line)
            );
            // An acknowledged change is never lost (a cut device sends no reply at all; the
            // mock lets it report the failure, which must then be an error).
            if after_cut != after_full {
                assert!(reply.starts_with("ERR") || after_full == before, "{reply}");
            }
            cuts += 1;
        }
        let reply = send(&mut app, line, *at);
        assert!(!reply.starts_with("ERR INTERNAL"), "{reply}");
    }
    assert!(cuts > 1_000, "only {cuts} cuts exercised");
    // The reference device ends unlocked, and says so after a reboot.
    let (provisioned, state) = rebooted(&reference, now + 300_000);
    assert!(provisioned && !state.payg_enabled());
}
