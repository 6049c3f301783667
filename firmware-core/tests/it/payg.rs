//! The PAYG device state machine: decode.csv replayed through the device, scenarios with a
//! moving clock, keypad flows, persistence and properties.

use std::num::NonZeroU8;

use firmware_core::payg::{
    Blinks, Credit, Device, DeviceConfig, Event, Feedback, Keypress, Led, Output, PaygState,
    ENTRY_TIMEOUT, MAX_FAILURES, PERSIST_PERIOD, SECONDS_PER_DAY, STATE_LEN, TAMPER_PENALTY,
};
use firmware_core::token::{generate, parse, Chain, Key, Outcome, TokenKind, TokenText, TokenType};
use firmware_core::Error;
use proptest::prelude::*;
use test_support::read;

const KEY: Key = [
    0xa2, 0x9a, 0xb8, 0x2e, 0xdc, 0x5f, 0xbb, 0xc4, 0x1e, 0xc9, 0x53, 0x0f, 0x6d, 0xac, 0x86, 0xb1,
];
const SC: u32 = 123_456_789;
/// Some RTC reading in 2023.
const T0: u32 = 1_700_000_000;
const DAY: u32 = SECONDS_PER_DAY;
const MIN: u32 = 60;

fn cfg_with(divider: u8, restricted: bool) -> DeviceConfig {
    DeviceConfig {
        key: KEY,
        starting_code: SC,
        restricted,
        divider: NonZeroU8::new(divider).unwrap(),
    }
}

fn cfg() -> DeviceConfig {
    cfg_with(1, false)
}

/// The back office: issues tokens for one device.
struct Server {
    count: u32,
}

impl Server {
    fn new(count: u32) -> Self {
        Server { count }
    }

    fn issue(&mut self, token_type: TokenType, value: Option<u32>) -> u64 {
        let g = generate(
            &KEY,
            SC,
            self.count,
            token_type,
            value,
            TokenKind::Standard,
            None,
        )
        .unwrap();
        self.count = g.count;
        g.number
    }

    fn add(&mut self, days: u32) -> u64 {
        self.issue(TokenType::AddTime, Some(days))
    }

    fn set(&mut self, days: u32) -> u64 {
        self.issue(TokenType::SetTime, Some(days))
    }

    fn disable(&mut self) -> u64 {
        self.issue(TokenType::DisablePayg, None)
    }

    fn sync(&mut self) -> u64 {
        self.issue(TokenType::CounterSync, None)
    }

    /// A token the public encoder refuses: raw `value` at the next odd/even `count`.
    fn raw(&mut self, value: u32, odd: bool) -> u64 {
        let mut count = self.count + 1;
        if (count % 2 == 1) != odd {
            count += 1;
        }
        let field = (u64::from(SC) % 1000 + u64::from(value)) % 1000;
        let mut chain = Chain::new(&KEY, TokenKind::Standard, SC, field);
        chain.seek(count);
        self.count = count;
        chain.token()
    }
}

fn fresh(count: u32) -> Device {
    let mut dev = Device::new(PaygState::new(count));
    let _ = dev.handle(&cfg(), Event::PowerUp, T0);
    dev
}

fn enter(dev: &mut Device, cfg: &DeviceConfig, number: u64, now: u32) -> Output {
    dev.handle(
        cfg,
        Event::Token {
            number,
            kind: TokenKind::Standard,
        },
        now,
    )
}

fn press(dev: &mut Device, cfg: &DeviceConfig, keys: &str, now: u32) -> Output {
    let mut last = None;
    for c in keys.bytes() {
        last = Some(dev.handle(cfg, Event::Key(Keypress::from_ascii(c).unwrap()), now));
    }
    last.unwrap()
}

fn credit(dev: &Device, now: u32) -> u32 {
    match dev.state.credit(now) {
        Credit::Seconds(s) => s,
        Credit::Unlimited => panic!("PAYG disabled"),
    }
}

// ---------------------------------------------------------------------------------------
// decode.csv through the device (frozen clock)

fn expected_feedback(result: &str, raw: Option<u32>, extended: bool) -> Feedback {
    match (result, raw) {
        ("INVALID", _) => Feedback::Invalid,
        ("ALREADY_USED", _) => Feedback::AlreadyUsed,
        (_, Some(value)) if extended => Feedback::Extended { value },
        (_, Some(998)) => Feedback::PaygDisabled,
        (_, Some(996 | 997 | 999)) => Feedback::CounterSynced,
        ("ADD_TIME", _) => Feedback::TimeAdded,
        ("SET_TIME", _) => Feedback::TimeSet,
        other => panic!("unexpected {other:?}"),
    }
}

/// Replays every scenario; standard tokens go through the keypad when `keypad` is set.
/// The clock stays frozen except to wait out a lockout, which the vector model does not
/// have; that only ever happens while there is no credit to lose, which is checked.
fn replay_decode_csv(keypad: bool) -> (usize, usize) {
    let rows = read("decode.csv");
    let mut scenario = String::new();
    let mut dev = fresh(0);
    let mut now = T0;
    let (mut checked, mut waits) = (0, 0);
    for row in &rows {
        let restricted = row.flag("restricted");
        let cfg = DeviceConfig {
            key: row.key(),
            starting_code: row.num("starting_code"),
            restricted,
            divider: NonZeroU8::new(row.num("value_divider")).unwrap(),
        };
        if row.get("scenario") != scenario {
            scenario = row.get("scenario").to_string();
            now = T0;
            dev = Device::new(PaygState::new(row.num("init_count")));
            let out = dev.handle(&cfg, Event::PowerUp, now);
            assert!(!out.power_on && !out.tamper);
        }
        let at = format!("{} step {} (line {})", scenario, row.get("step"), row.line);
        let (number, kind) = parse(row.get("token").as_bytes(), restricted).unwrap();

        if dev.state.is_locked(now) {
            assert!(
                matches!(
                    dev.state.credit(now),
                    Credit::Seconds(0) | Credit::Unlimited
                ),
                "{at}: waiting would cost credit"
            );
            let out = enter(&mut dev, &cfg, number, now);
            assert!(matches!(out.feedback, Feedback::Locked { .. }), "{at}");
            assert_eq!(out.decoded, None, "{at}");
            now = dev.state.locked_until();
            waits += 1;
        }

        let out = if keypad && kind == TokenKind::Standard {
            let out = press(&mut dev, &cfg, &format!("*{}", row.get("token")), now);
            assert!(!dev.keypad.is_entering(), "{at}");
            out
        } else {
            dev.handle(&cfg, Event::Token { number, kind }, now)
        };

        let alt = row.flag("cs_sensitive");
        let col = |main: &'static str| {
            if alt {
                row.get(&format!("alt_{}", main.trim_start_matches("expected_")))
                    .to_string()
            } else {
                row.get(main).to_string()
            }
        };
        let result = col("expected_result");
        let raw = col("expected_value_raw").parse::<u32>().ok();
        assert_eq!(
            out.feedback,
            expected_feedback(&result, raw, kind == TokenKind::Extended),
            "{at}"
        );
        match out.decoded {
            Some(Outcome::Accepted { value, count, .. }) => {
                assert_eq!(Some(value), raw, "{at}");
                assert_eq!(count.to_string(), col("expected_count"), "{at}");
            }
            other => assert!(
                matches!(other, Some(Outcome::Invalid | Outcome::AlreadyUsed)),
                "{at}"
            ),
        }
        assert_eq!(
            dev.state.used_counts().count().to_string(),
            col("count_after"),
            "{at}"
        );
        assert_eq!(
            dev.state.payg_enabled(),
            col("payg_enabled_after") == "1",
            "{at}"
        );
        let units = col("active_units_after");
        match dev.state.credit(now) {
            Credit::Unlimited => assert_eq!(units, "inf", "{at}"),
            Credit::Seconds(s) => {
                let units: u64 = units.parse().unwrap();
                let divider = u64::from(cfg.divider.get());
                assert_eq!(u64::from(s) * divider, units * u64::from(DAY), "{at}");
            }
        }
        assert_eq!(out.power_on, dev.state.is_active(now), "{at}");
        // Whatever happened, the state survives a save and a restore.
        assert_eq!(
            PaygState::from_bytes(&dev.state.to_bytes()),
            Ok(dev.state),
            "{at}"
        );
        checked += 1;
    }
    (checked, waits)
}

#[test]
fn decode_csv_through_the_device() {
    // pub_invalid_tokens: 12 invalid tokens in a row lock the device from the 3rd on.
    assert_eq!(replay_decode_csv(false), (254, 10));
}

#[test]
fn decode_csv_through_the_keypad() {
    assert_eq!(replay_decode_csv(true), (254, 10));
}

// ---------------------------------------------------------------------------------------
// Activation with a moving clock

#[test]
fn add_time_stacks() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    assert!(!dev.state.is_active(T0));
    let out = enter(&mut dev, &cfg, srv.add(3), T0);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert!(out.power_on && out.persist);
    assert_eq!(dev.state.active_until(), T0 + 3 * DAY);
    let out = enter(&mut dev, &cfg, srv.add(2), T0 + DAY);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert_eq!(dev.state.active_until(), T0 + 5 * DAY);
    assert_eq!(credit(&dev, T0 + DAY), 4 * DAY);
    assert!(dev.handle(&cfg, Event::Tick, T0 + 5 * DAY - 1).power_on);
    assert!(!dev.handle(&cfg, Event::Tick, T0 + 5 * DAY).power_on);
}

#[test]
fn add_after_expiry_counts_from_now() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(1), T0);
    let later = T0 + 3 * DAY;
    assert!(!dev.handle(&cfg, Event::Tick, later).power_on);
    let _ = enter(&mut dev, &cfg, srv.add(1), later);
    assert_eq!(dev.state.active_until(), later + DAY);
    assert_eq!(credit(&dev, later), DAY);
}

#[test]
fn set_replaces_then_add_stacks() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(30), T0);
    let t = T0 + 2 * DAY;
    let out = enter(&mut dev, &cfg, srv.set(5), t);
    assert_eq!(out.feedback, Feedback::TimeSet);
    assert_eq!(dev.state.active_until(), t + 5 * DAY);
    let _ = enter(&mut dev, &cfg, srv.add(2), t + DAY);
    assert_eq!(dev.state.active_until(), t + 7 * DAY);
    // SET 0 turns the device off now.
    let out = enter(&mut dev, &cfg, srv.set(0), t + 2 * DAY);
    assert_eq!(out.feedback, Feedback::TimeSet);
    assert!(!out.power_on);
}

#[test]
fn disable_then_set_re_enables() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let out = enter(&mut dev, &cfg, srv.disable(), T0);
    assert_eq!(out.feedback, Feedback::PaygDisabled);
    assert_eq!(
        out.feedback.blinks(),
        Some(Blinks {
            led: Led::Green,
            count: 5
        })
    );
    assert!(out.power_on && out.persist);
    assert_eq!(dev.state.credit(T0), Credit::Unlimited);
    assert!(dev.state.is_active(u32::MAX));

    // ADD while disabled: accepted (count moves), no visible change.
    let before = dev.state.active_until();
    let out = enter(&mut dev, &cfg, srv.add(10), T0 + DAY);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert_eq!(dev.state.credit(T0 + DAY), Credit::Unlimited);
    assert_eq!(dev.state.active_until(), before);

    let t = T0 + 100 * DAY;
    let out = enter(&mut dev, &cfg, srv.set(1), t);
    assert_eq!(out.feedback, Feedback::TimeSet);
    assert!(dev.state.payg_enabled());
    assert_eq!(credit(&dev, t), DAY);
    assert!(!dev.handle(&cfg, Event::Tick, t + DAY).power_on);
}

#[test]
fn counter_sync_changes_only_the_count() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(3), T0);
    let before = dev.state;
    let out = enter(&mut dev, &cfg, srv.sync(), T0 + 10);
    assert_eq!(out.feedback, Feedback::CounterSynced);
    assert_eq!(
        out.feedback.blinks(),
        Some(Blinks {
            led: Led::Green,
            count: 3
        })
    );
    assert!(dev.state.used_counts().count() > before.used_counts().count());
    assert_eq!(dev.state.active_until(), before.active_until());
    assert_eq!(dev.state.payg_enabled(), before.payg_enabled());
    assert_eq!(dev.state.failures(), 0);
}

#[test]
fn reserved_values_and_odd_parity_specials_act_on_the_value() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(3), T0);
    let end = dev.state.active_until();
    for (value, odd) in [
        (996, false),
        (996, true),
        (997, false),
        (997, true),
        (999, false),
    ] {
        let out = enter(&mut dev, &cfg, srv.raw(value, odd), T0);
        assert_eq!(out.feedback, Feedback::CounterSynced, "{value} odd={odd}");
        assert_eq!(dev.state.active_until(), end);
        assert!(dev.state.payg_enabled());
    }
    // 998 at an even count still disables.
    let out = enter(&mut dev, &cfg, srv.raw(998, false), T0);
    assert!(matches!(
        out.decoded,
        Some(Outcome::Accepted {
            token_type: TokenType::AddTime,
            value: 998,
            ..
        })
    ));
    assert_eq!(out.feedback, Feedback::PaygDisabled);
    assert!(!dev.state.payg_enabled());
}

#[test]
fn divider_scales_seconds() {
    let mut srv = Server::new(1);
    let cfg4 = cfg_with(4, false);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg4, srv.add(2), T0);
    assert_eq!(credit(&dev, T0), DAY / 2);
    // 86 400 / 7 is not whole: rounded down per token, as the C reference.
    let cfg7 = cfg_with(7, false);
    assert_eq!(cfg7.seconds(1), 12_342);
    assert_eq!(cfg7.seconds(7), DAY);
    let _ = enter(&mut dev, &cfg7, srv.add(1), T0);
    assert_eq!(credit(&dev, T0), DAY / 2 + 12_342);
    assert_eq!(cfg_with(255, false).seconds(995), 995 * DAY / 255);
}

#[test]
fn extended_tokens_do_not_change_activation() {
    let cfg = cfg();
    let mut dev = fresh(1);
    let g = generate(
        &KEY,
        SC,
        1,
        TokenType::AddTime,
        Some(123_456),
        TokenKind::Extended,
        None,
    )
    .unwrap();
    let out = dev.handle(
        &cfg,
        Event::Token {
            number: g.number,
            kind: TokenKind::Extended,
        },
        T0,
    );
    assert_eq!(out.feedback, Feedback::Extended { value: 123_456 });
    assert!(out.persist && !out.power_on);
    assert_eq!(dev.state.used_counts().count(), g.count);
    assert_eq!(credit(&dev, T0), 0);
}

// ---------------------------------------------------------------------------------------
// Lockout

/// Lock length after the n-th consecutive invalid token.
fn lock_minutes(n: u32) -> u32 {
    if n <= 2 {
        0
    } else {
        1 << (n.min(11) - 2)
    }
}

#[test]
fn lockout_sequence_and_cap() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let mut now = T0;
    let want = [0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512];
    for (i, &minutes) in want.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(minutes, lock_minutes(n));
        let out = enter(&mut dev, &cfg, 111_111_111, now);
        assert_eq!(out.feedback, Feedback::Invalid, "failure {n}");
        assert_eq!(
            out.feedback.blinks(),
            Some(Blinks {
                led: Led::Red,
                count: 10
            })
        );
        assert!(out.persist);
        assert_eq!(u32::from(dev.state.failures()), n.min(11));
        assert_eq!(dev.state.lock_remaining(now), minutes * MIN, "failure {n}");
        if minutes > 0 {
            // Locked: even a valid token is refused without reaching the decoder.
            let before = dev.state;
            let issued = srv.count;
            let valid = srv.add(1);
            let out = enter(&mut dev, &cfg, valid, now + minutes * MIN - 1);
            assert_eq!(out.feedback, Feedback::Locked { remaining: 1 });
            assert_eq!(out.decoded, None);
            assert_eq!(dev.state.used_counts(), before.used_counts());
            assert_eq!(dev.state.failures(), before.failures());
            // `*` blinks red once and starts no entry.
            let out = press(&mut dev, &cfg, "*", now + minutes * MIN - 1);
            assert_eq!(out.feedback, Feedback::Locked { remaining: 1 });
            assert_eq!(
                out.feedback.blinks(),
                Some(Blinks {
                    led: Led::Red,
                    count: 1
                })
            );
            assert!(!dev.keypad.is_entering());
            srv.count = issued; // that token never reached the device
        }
        now += minutes * MIN;
        assert!(!dev.state.is_locked(now));
    }
    assert_eq!(dev.state.failures(), MAX_FAILURES);
    // Any valid token resets.
    let out = enter(&mut dev, &cfg, srv.add(1), now);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert_eq!((dev.state.failures(), dev.state.locked_until()), (0, 0));
    let _ = enter(&mut dev, &cfg, 111_111_111, now);
    let _ = enter(&mut dev, &cfg, 111_111_111, now);
    assert!(!dev.state.is_locked(now));
    let _ = enter(&mut dev, &cfg, 111_111_111, now);
    assert_eq!(dev.state.lock_remaining(now), 2 * MIN);
}

#[test]
fn already_used_neither_counts_nor_resets() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let used = srv.add(1);
    let _ = enter(&mut dev, &cfg, used, T0);
    for _ in 0..5 {
        let out = enter(&mut dev, &cfg, used, T0);
        assert_eq!(out.feedback, Feedback::AlreadyUsed);
        assert_eq!(
            out.feedback.blinks(),
            Some(Blinks {
                led: Led::Green,
                count: 1
            })
        );
        assert!(!out.persist);
    }
    assert_eq!(dev.state.failures(), 0);
    let _ = enter(&mut dev, &cfg, 111_111_111, T0);
    let _ = enter(&mut dev, &cfg, 111_111_111, T0);
    let out = enter(&mut dev, &cfg, used, T0);
    assert_eq!(out.feedback, Feedback::AlreadyUsed);
    assert_eq!(dev.state.failures(), 2);
    let _ = enter(&mut dev, &cfg, 111_111_111, T0);
    assert_eq!(dev.state.lock_remaining(T0), 2 * MIN);
}

#[test]
fn lockout_survives_a_power_cycle() {
    let cfg = cfg();
    let mut dev = fresh(1);
    for _ in 0..3 {
        let _ = enter(&mut dev, &cfg, 111_111_111, T0);
    }
    // The 4th is refused: it does not even count.
    let out = enter(&mut dev, &cfg, 111_111_111, T0);
    assert_eq!(out.feedback, Feedback::Locked { remaining: 2 * MIN });
    assert_eq!(dev.state.failures(), 3);
    let saved = dev.state.to_bytes();
    let mut dev = Device::new(PaygState::from_bytes(&saved).unwrap());
    let out = dev.handle(&cfg, Event::PowerUp, T0 + MIN);
    assert!(!out.tamper);
    let out = enter(&mut dev, &cfg, 111_111_111, T0 + MIN);
    assert_eq!(out.feedback, Feedback::Locked { remaining: MIN });
    assert_eq!(dev.state.failures(), 3);
    // The next failure after the lock doubles it.
    let out = enter(&mut dev, &cfg, 111_111_111, T0 + 2 * MIN);
    assert_eq!(out.feedback, Feedback::Invalid);
    assert_eq!(dev.state.lock_remaining(T0 + 2 * MIN), 4 * MIN);
    // A reset RTC does not lift the lock either: it keeps its remaining length.
    let mut dev = Device::new(PaygState::from_bytes(&saved).unwrap());
    let out = dev.handle(&cfg, Event::PowerUp, 10);
    assert!(out.tamper && out.persist);
    assert_eq!(dev.state.lock_remaining(10), 2 * MIN);
}

// ---------------------------------------------------------------------------------------
// Time keeping and tampering

#[test]
fn power_loss_with_a_running_rtc_counts_calendar_time() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(10), T0);
    let saved = dev.state.to_bytes();
    let mut dev = Device::new(PaygState::from_bytes(&saved).unwrap());
    let out = dev.handle(&cfg, Event::PowerUp, T0 + 2 * DAY);
    assert!(!out.tamper && out.power_on);
    assert_eq!(credit(&dev, T0 + 2 * DAY), 8 * DAY);
}

#[test]
fn clock_going_backwards_rebases_and_charges_one_period() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(10), T0);
    let out = dev.handle(&cfg, Event::Tick, T0 + DAY);
    assert!(!out.tamper);
    let saved = dev.state.to_bytes();

    // Battery removed: the RTC restarts at 0. The far-future end time is not honoured.
    let mut dev = Device::new(PaygState::from_bytes(&saved).unwrap());
    let out = dev.handle(&cfg, Event::PowerUp, 5);
    assert!(out.tamper && out.persist && out.power_on);
    assert_eq!(credit(&dev, 5), 9 * DAY - TAMPER_PENALTY);
    assert_eq!(dev.state.last_seen(), 5);
    // From there on the clock runs normally.
    let out = dev.handle(&cfg, Event::Tick, 5 + DAY);
    assert!(!out.tamper);
    assert_eq!(credit(&dev, 5 + DAY), 8 * DAY - TAMPER_PENALTY);

    // Rolling back while running is charged too, and repeating it only burns credit.
    let mut now = 5 + DAY;
    let mut last = credit(&dev, now);
    for _ in 0..10 {
        now += 600;
        let _ = dev.handle(&cfg, Event::Tick, now);
        now -= 1200;
        let out = dev.handle(&cfg, Event::Tick, now);
        assert!(out.tamper);
        let c = credit(&dev, now);
        assert_eq!(c, last - 600 - TAMPER_PENALTY);
        last = c;
    }

    // Less credit than the penalty (divider 48: one unit is half an hour): off.
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg_with(48, false), Server::new(1).add(1), T0);
    let _ = dev.handle(&cfg, Event::Tick, T0 + 100);
    assert_eq!(credit(&dev, T0 + 100), 1_700);
    let out = dev.handle(&cfg, Event::Tick, T0);
    assert!(out.tamper && !out.power_on);
    assert_eq!(credit(&dev, T0), 0);
}

#[test]
fn disabled_device_stays_on_through_a_rollback() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.disable(), T0);
    let out = dev.handle(&cfg, Event::PowerUp, 0);
    assert!(out.tamper && out.power_on);
    assert_eq!(dev.state.credit(0), Credit::Unlimited);
}

#[test]
fn persistence_hint_every_period() {
    let cfg = cfg();
    let mut dev = fresh(1);
    let start = T0 - T0 % PERSIST_PERIOD + PERSIST_PERIOD + 1;
    let _ = dev.handle(&cfg, Event::Tick, start);
    let mut persisted = start;
    let mut hints = 0;
    for now in (start..start + 5 * PERSIST_PERIOD).step_by(7) {
        let will = dev.state.time_to_persist(now);
        let out = dev.handle(&cfg, Event::Tick, now);
        assert_eq!(out.persist, will);
        if out.persist {
            hints += 1;
            persisted = now;
        }
        // What is in flash is never more than a period (plus one tick) behind.
        assert!(now - persisted < PERSIST_PERIOD + 7);
    }
    assert_eq!(hints, 4);
}

// ---------------------------------------------------------------------------------------
// Keypad

#[test]
fn keypad_enters_a_standard_token() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let text = TokenText::new(srv.add(2), TokenKind::Standard, false);
    let out = press(&mut dev, &cfg, "*", T0);
    assert_eq!(out.feedback, Feedback::None);
    assert!(dev.keypad.is_entering());
    for (i, c) in text.as_str().bytes().enumerate() {
        let out = press(&mut dev, &cfg, &(c as char).to_string(), T0 + i as u32);
        if i < 8 {
            assert_eq!(out.feedback, Feedback::None);
            assert_eq!(usize::from(dev.keypad.digits()), i + 1);
        } else {
            assert_eq!(out.feedback, Feedback::TimeAdded);
            assert!(out.power_on && out.persist);
        }
    }
    assert!(!dev.keypad.is_entering());
    assert_eq!(credit(&dev, T0 + 8), 2 * DAY);
}

#[test]
fn keypad_restricted_rejects_other_digits() {
    let cfg = cfg_with(1, true);
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let text = TokenText::new(srv.add(1), TokenKind::Standard, true);
    let digits = text.as_str();
    assert_eq!(digits.len(), 15);
    let _ = press(&mut dev, &cfg, "*", T0);
    let (head, tail) = digits.split_at(7);
    let _ = press(&mut dev, &cfg, head, T0);
    for bad in ["0", "5", "9"] {
        let out = press(&mut dev, &cfg, bad, T0);
        assert_eq!(out.feedback, Feedback::KeyRejected);
        assert_eq!(
            out.feedback.blinks(),
            Some(Blinks {
                led: Led::Red,
                count: 1
            })
        );
        assert_eq!(dev.keypad.digits(), 7);
    }
    let out = dev.handle(&cfg, Event::Key(Keypress::Digit(42)), T0);
    assert_eq!(out.feedback, Feedback::KeyRejected);
    let out = press(&mut dev, &cfg, tail, T0);
    assert_eq!(out.feedback, Feedback::TimeAdded);
}

#[test]
fn keypad_star_restarts_and_hash_cancels() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let text = TokenText::new(srv.add(1), TokenKind::Standard, false);
    // Typo, restart with `*`, then the right token.
    let out = press(&mut dev, &cfg, &format!("*1234*{}", text.as_str()), T0);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert_eq!(dev.state.failures(), 0);
    // `#` inside an entry cancels it without touching the decoder.
    let out = press(&mut dev, &cfg, "*1234#", T0);
    assert_eq!(out.feedback, Feedback::EntryAborted);
    assert_eq!(
        out.feedback.blinks(),
        Some(Blinks {
            led: Led::Red,
            count: 2
        })
    );
    assert_eq!(out.decoded, None);
    assert!(!dev.keypad.is_entering());
    // `#` outside shows the status; digits outside an entry are rejected.
    let out = press(&mut dev, &cfg, "#", T0);
    assert_eq!(out.feedback, Feedback::Status { active: true });
    assert_eq!(
        out.feedback.blinks(),
        Some(Blinks {
            led: Led::Green,
            count: 1
        })
    );
    let out = press(&mut dev, &cfg, "#", T0 + 2 * DAY);
    assert_eq!(out.feedback, Feedback::Status { active: false });
    assert_eq!(
        out.feedback.blinks(),
        Some(Blinks {
            led: Led::Red,
            count: 1
        })
    );
    assert_eq!(
        press(&mut dev, &cfg, "7", T0 + 2 * DAY).feedback,
        Feedback::KeyRejected
    );
}

#[test]
fn keypad_timeout() {
    let cfg = cfg();
    let mut dev = fresh(1);
    let _ = press(&mut dev, &cfg, "*123", T0);
    // Each key restarts the timer.
    let out = dev.handle(&cfg, Event::Tick, T0 + ENTRY_TIMEOUT - 1);
    assert_eq!(out.feedback, Feedback::None);
    let _ = press(&mut dev, &cfg, "4", T0 + ENTRY_TIMEOUT - 1);
    let out = dev.handle(&cfg, Event::Tick, T0 + 2 * ENTRY_TIMEOUT - 2);
    assert_eq!(out.feedback, Feedback::None);
    assert_eq!(dev.keypad.digits(), 4);
    let out = dev.handle(&cfg, Event::Tick, T0 + 2 * ENTRY_TIMEOUT - 1);
    assert_eq!(out.feedback, Feedback::EntryAborted);
    assert!(!dev.keypad.is_entering());
    // Without a tick in between, the next key finds the entry gone.
    let _ = press(&mut dev, &cfg, "*12", T0 + 100);
    let out = press(&mut dev, &cfg, "3", T0 + 100 + ENTRY_TIMEOUT);
    assert_eq!(out.feedback, Feedback::KeyRejected);
    assert_eq!(dev.state.failures(), 0);
    // A power cycle drops a half-typed token.
    let _ = press(&mut dev, &cfg, "*12", T0 + 200);
    let _ = dev.handle(&cfg, Event::PowerUp, T0 + 201);
    assert!(!dev.keypad.is_entering());
}

#[test]
fn keypress_from_ascii() {
    assert_eq!(Keypress::from_ascii(b'*'), Some(Keypress::Star));
    assert_eq!(Keypress::from_ascii(b'#'), Some(Keypress::Hash));
    assert_eq!(Keypress::from_ascii(b'0'), Some(Keypress::Digit(0)));
    assert_eq!(Keypress::from_ascii(b'9'), Some(Keypress::Digit(9)));
    assert_eq!(Keypress::from_ascii(b'a'), None);
}

#[test]
fn blink_table() {
    let g = |count| {
        Some(Blinks {
            led: Led::Green,
            count,
        })
    };
    let r = |count| {
        Some(Blinks {
            led: Led::Red,
            count,
        })
    };
    assert_eq!(Feedback::None.blinks(), None);
    assert_eq!(Feedback::Invalid.blinks(), r(10));
    assert_eq!(Feedback::AlreadyUsed.blinks(), g(1));
    assert_eq!(Feedback::CounterSynced.blinks(), g(3));
    assert_eq!(Feedback::PaygDisabled.blinks(), g(5));
    assert_eq!(Feedback::TimeAdded.blinks(), g(2));
    assert_eq!(Feedback::TimeSet.blinks(), g(2));
    assert_eq!(Feedback::Extended { value: 7 }.blinks(), g(2));
    assert_eq!(Feedback::Status { active: true }.blinks(), g(1));
    assert_eq!(Feedback::Status { active: false }.blinks(), r(1));
    assert_eq!(Feedback::Locked { remaining: 5 }.blinks(), r(1));
    assert_eq!(Feedback::KeyRejected.blinks(), r(1));
    assert_eq!(Feedback::EntryAborted.blinks(), r(2));
}

// ---------------------------------------------------------------------------------------
// Serialization

#[test]
fn byte_layout() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = enter(&mut dev, &cfg, srv.add(1), T0);
    let _ = enter(&mut dev, &cfg, srv.set(2), T0);
    for _ in 0..3 {
        let _ = enter(&mut dev, &cfg, 111_111_111, T0 + 5);
    }
    let b = dev.state.to_bytes();
    assert_eq!(b.len(), STATE_LEN);
    assert_eq!(b[0..4], srv.count.to_le_bytes());
    assert_eq!(b[4..6], dev.state.used_counts().mask().to_le_bytes());
    assert_eq!(b[6], 0);
    assert_eq!(b[7], 3);
    assert_eq!(b[8..12], (T0 + 2 * DAY).to_le_bytes());
    assert_eq!(b[12..16], (T0 + 5 + 2 * MIN).to_le_bytes());
    assert_eq!(b[16..20], (T0 + 5).to_le_bytes());
    // Two checkpoints, most recent (the SET chain) first.
    let cps = dev.state.checkpoints();
    let first = cps[0].unwrap();
    assert_eq!(b[20], 1);
    assert_eq!(u32::from_le_bytes([b[21], b[22], b[23], 0]), first.field);
    assert_eq!(b[24..28], first.pos.count.to_le_bytes());
    assert_eq!(b[28..33], first.pos.code.to_le_bytes()[..5]);
    assert_eq!(b[33], 1);
    assert!(cps[1].is_some());

    let _ = enter(&mut dev, &cfg, srv.disable(), T0 + 10 * MIN);
    assert_eq!(dev.state.to_bytes()[6], 1);
    // All zeros is a locked device with nothing in it.
    let zero = PaygState::from_bytes(&[0; STATE_LEN]).unwrap();
    assert!(zero.payg_enabled() && !zero.is_active(0));
    assert_eq!(zero, PaygState::new(0));
}

#[test]
fn from_bytes_rejects_out_of_range_fields() {
    let good = {
        let cfg = cfg();
        let mut srv = Server::new(1);
        let mut dev = fresh(1);
        let _ = enter(&mut dev, &cfg, srv.add(1), T0);
        let _ = enter(&mut dev, &cfg, srv.set(2), T0);
        dev.state.to_bytes()
    };
    assert!(PaygState::from_bytes(&good).is_ok());
    let bad = |offset: usize, byte: u8| {
        let mut b = good;
        b[offset] = byte;
        PaygState::from_bytes(&b)
    };
    assert_eq!(bad(6, 2), Err(Error::CorruptState)); // unknown flag
    assert_eq!(bad(7, MAX_FAILURES + 1), Err(Error::CorruptState));
    assert_eq!(bad(20, 3), Err(Error::CorruptState)); // kind neither standard nor extended
    assert_eq!(bad(33, 0xff), Err(Error::CorruptState));
    // Standard field ≥ 1000, standard code above 32 bits.
    assert_eq!(bad(23, 1), Err(Error::CorruptState));
    assert_eq!(bad(32, 1), Err(Error::CorruptState));
    // The same bytes are fine as an extended checkpoint (field < 10^6, code < 10^12).
    let mut b = good;
    b[20] = 2;
    b[32] = 1;
    assert!(PaygState::from_bytes(&b).is_ok());
    b[32] = 0xff;
    assert_eq!(PaygState::from_bytes(&b), Err(Error::CorruptState));
    // An empty slot must be all zeros.
    let mut b = PaygState::new(5).to_bytes();
    assert!(PaygState::from_bytes(&b).is_ok());
    b[40] = 1;
    assert_eq!(PaygState::from_bytes(&b), Err(Error::CorruptState));
}

// ---------------------------------------------------------------------------------------
// Properties

/// Arbitrary bytes turned into a valid encoding (flags, counter and slots in range).
fn valid_bytes() -> impl Strategy<Value = [u8; STATE_LEN]> {
    (any::<[u8; STATE_LEN]>(), any::<[bool; 2]>()).prop_map(|(mut b, empty)| {
        b[6] &= 1;
        b[7] %= MAX_FAILURES + 1;
        for (slot, empty) in [20usize, 33].into_iter().zip(empty) {
            if empty {
                b[slot..slot + 13].fill(0);
                continue;
            }
            let extended = b[slot] & 1 == 1;
            b[slot] = if extended { 2 } else { 1 };
            let field = u32::from_le_bytes([b[slot + 1], b[slot + 2], b[slot + 3], 0])
                % if extended { 1_000_000 } else { 1_000 };
            b[slot + 1..slot + 4].copy_from_slice(&field.to_le_bytes()[..3]);
            let mut code = [0u8; 8];
            code[..5].copy_from_slice(&b[slot + 8..slot + 13]);
            let code =
                u64::from_le_bytes(code) % if extended { 1_000_000_000_000 } else { 1 << 32 };
            b[slot + 8..slot + 13].copy_from_slice(&code.to_le_bytes()[..5]);
        }
        b
    })
}

#[derive(Debug, Clone)]
enum Step {
    Wait(u32),
    Rewind(u32),
    PowerUp,
    Tick,
    Valid(u8, u16),
    Replay,
    Random(u64),
    Key(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u32..3 * DAY).prop_map(Step::Wait),
        1 => (0u32..2 * DAY).prop_map(Step::Rewind),
        1 => Just(Step::PowerUp),
        1 => Just(Step::Tick),
        4 => (0u8..4, 0u16..1000).prop_map(|(t, v)| Step::Valid(t, v)),
        1 => Just(Step::Replay),
        2 => (0u64..1_000_000_000).prop_map(Step::Random),
        4 => prop_oneof![Just(b'*'), Just(b'#'), b'0'..=b'9', Just(200)].prop_map(Step::Key),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn bytes_round_trip(b in valid_bytes()) {
        let state = PaygState::from_bytes(&b).unwrap();
        prop_assert_eq!(state.to_bytes(), b);
        prop_assert_eq!(PaygState::from_bytes(&state.to_bytes()), Ok(state));
    }

    #[test]
    fn from_bytes_never_panics(b in any::<[u8; STATE_LEN]>()) {
        // Whatever is accepted is canonical.
        if let Ok(state) = PaygState::from_bytes(&b) {
            prop_assert_eq!(state.to_bytes(), b);
        }
    }

    #[test]
    fn restored_state_never_panics(b in valid_bytes(), now in any::<u32>(), n in any::<u64>()) {
        let mut dev = Device::new(PaygState::from_bytes(&b).unwrap());
        let cfg = cfg();
        let _ = dev.handle(&cfg, Event::PowerUp, now);
        let _ = dev.handle(&cfg, Event::Token { number: n, kind: TokenKind::Standard }, now);
        let _ = dev.handle(&cfg, Event::Token { number: n, kind: TokenKind::Extended }, now);
        let _ = dev.handle(&cfg, Event::Tick, now.wrapping_add(1));
    }

    /// A random life: never panics, the count never decreases, credit only comes from
    /// accepted time tokens, locks keep tokens away from the decoder, and the state always
    /// survives a save and restore.
    #[test]
    fn random_life(steps in proptest::collection::vec(step(), 1..40), divider in 1u8..=255) {
        let cfg = cfg_with(divider, false);
        let mut srv = Server::new(1);
        let mut dev = fresh(1);
        let mut now = T0;
        let mut last_token = None;
        for s in steps {
            let before = dev.state;
            let before_credit = before.credit(before.last_seen());
            let out = match s {
                Step::Wait(d) => { now = now.saturating_add(d); dev.handle(&cfg, Event::Tick, now) }
                Step::Rewind(d) => { now = now.saturating_sub(d); dev.handle(&cfg, Event::Tick, now) }
                Step::PowerUp => {
                    dev = Device::new(PaygState::from_bytes(&dev.state.to_bytes()).unwrap());
                    dev.handle(&cfg, Event::PowerUp, now)
                }
                Step::Tick => dev.handle(&cfg, Event::Tick, now),
                Step::Valid(t, v) => {
                    let n = match t {
                        0 => srv.add(u32::from(v) % 996),
                        1 => srv.set(u32::from(v) % 996),
                        2 => if v % 8 == 0 { srv.disable() } else { srv.add(1) },
                        _ => srv.sync(),
                    };
                    if dev.state.is_locked(now) { srv.count = dev.state.used_counts().count().max(1); }
                    last_token = Some(n);
                    enter(&mut dev, &cfg, n, now)
                }
                Step::Replay => enter(&mut dev, &cfg, last_token.unwrap_or(1), now),
                Step::Random(n) => enter(&mut dev, &cfg, n, now),
                Step::Key(c) => {
                    let key = Keypress::from_ascii(c).unwrap_or(Keypress::Digit(c));
                    dev.handle(&cfg, Event::Key(key), now)
                }
            };
            let after = dev.state;
            prop_assert!(after.used_counts().count() >= before.used_counts().count());
            prop_assert!(after.failures() <= MAX_FAILURES);
            prop_assert_eq!(after.last_seen(), now);
            prop_assert_eq!(out.power_on, after.is_active(now));
            prop_assert_eq!(out.tamper, now < before.last_seen());
            prop_assert_eq!(PaygState::from_bytes(&after.to_bytes()), Ok(after));
            if before.is_locked(now) && !out.tamper {
                prop_assert!(out.decoded.is_none());
                prop_assert_eq!(after.used_counts(), before.used_counts());
            }
            if let Some(Outcome::Accepted { .. }) = out.decoded {
                prop_assert!(out.persist);
                prop_assert_eq!(after.failures(), 0);
            }
            let granted = matches!(
                out.feedback,
                Feedback::TimeAdded | Feedback::TimeSet | Feedback::PaygDisabled
            );
            if !granted {
                // No credit from nowhere: what is left at `now` is at most what was left
                // when the device last looked at the clock.
                let ok = match (before_credit, after.credit(now)) {
                    (Credit::Seconds(b), Credit::Seconds(a)) => a <= b,
                    (Credit::Unlimited, c) => c == Credit::Unlimited,
                    (Credit::Seconds(_), Credit::Unlimited) => false,
                };
                prop_assert!(ok, "credit from nowhere: {:?} -> {:?}", before_credit, after.credit(now));
            }
        }
    }
}

#[test]
fn ram_footprint() {
    // Host layout; thumbv6m aligns u64 to 8 as well, so the numbers carry over
    // (72 / 88 / 24 bytes today), far below the 256-byte budget.
    assert!(std::mem::size_of::<PaygState>() <= 80);
    assert!(std::mem::size_of::<Device>() <= 96);
    assert!(std::mem::size_of::<Output>() <= 24);
}

#[test]
fn uart_token_leaves_a_keypad_entry_alone() {
    let cfg = cfg();
    let mut srv = Server::new(1);
    let mut dev = fresh(1);
    let _ = press(&mut dev, &cfg, "*12", T0);
    let out = enter(&mut dev, &cfg, srv.add(1), T0 + 1);
    assert_eq!(out.feedback, Feedback::TimeAdded);
    assert_eq!(dev.keypad.digits(), 2);
}

#[test]
fn time_to_persist_hint() {
    let cfg = cfg();
    let mut dev = fresh(1);
    let base = T0 - T0 % PERSIST_PERIOD;
    let _ = dev.handle(&cfg, Event::Tick, base + 10);
    assert!(!dev.state.time_to_persist(base + PERSIST_PERIOD - 1));
    assert!(dev.state.time_to_persist(base + PERSIST_PERIOD));
    assert!(dev.state.time_to_persist(base + 9)); // a rollback
}
