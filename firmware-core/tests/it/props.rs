//! Property tests: generate → decode round trips, and checkpointed decoding equals the
//! reference walk on random token streams.

use firmware_core::token::{
    decode, field_for, find_cycle, generate, parse, Chain, Checkpoint, Cycle, Outcome, TokenKind,
    TokenText, TokenType, UsedCounts,
};
use proptest::prelude::*;

fn token_type() -> impl Strategy<Value = TokenType> {
    prop_oneof![
        Just(TokenType::AddTime),
        Just(TokenType::SetTime),
        Just(TokenType::DisablePayg),
        Just(TokenType::CounterSync),
    ]
}

fn value_for(t: TokenType, raw: u32, kind: TokenKind) -> Option<u32> {
    match t {
        TokenType::AddTime | TokenType::SetTime => Some(raw % (kind.max_time_value() + 1)),
        _ => None,
    }
}

/// Whether `number` is the token at `count` of its value's chain (a walk from count 0).
fn is_on_chain(key: &[u8; 16], sc: u32, kind: TokenKind, number: u64, count: u32) -> bool {
    let mut chain = Chain::new(key, kind, sc, number % kind.modulus());
    chain.seek(count);
    chain.token() == number
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any token the encoder issues is accepted by a device at the previous count, with the
    /// same type, value and count, and is ALREADY_USED (or a re-usable sync) right after.
    #[test]
    fn generate_then_decode_round_trips(
        key in any::<[u8; 16]>(),
        sc in 0u32..=999_999_999,
        last in 0u32..3_000,
        t in token_type(),
        raw in any::<u32>(),
        extended in any::<bool>(),
        restricted in any::<bool>(),
    ) {
        let kind = if extended { TokenKind::Extended } else { TokenKind::Standard };
        let value = value_for(t, raw, kind);
        let g = generate(&key, sc, last, t, value, kind, None).unwrap();
        let text = TokenText::new(g.number, kind, restricted);
        prop_assert_eq!(text.as_bytes().len(), kind.digits(restricted));
        let (number, parsed_kind) = parse(text.as_bytes(), restricted).unwrap();
        prop_assert_eq!((number, parsed_kind), (g.number, kind));

        // The token's digits may also come up at other counts of its chain: by chance (the
        // hash part is only 6 digits, ~1e-6 per count) or because the chain has entered a
        // cycle. Spec §8 then accepts it at the first valid match (pinned by the tests
        // below); here the decoder may only ever accept at a count that gives these digits.
        let field = number % kind.modulus();
        prop_assert_eq!(field_for(kind, sc, g.value), field);
        let mut chain = Chain::new(&key, kind, sc, field);
        let mut twins = Vec::new();
        while chain.pos().count <= g.count + 100 {
            if chain.token() == number && chain.pos().count != g.count {
                twins.push(chain.pos().count);
            }
            chain.advance();
        }
        let mut state = UsedCounts::new(last);
        let d = decode(&key, sc, &mut state, number, kind, &mut []);
        let again = decode(&key, sc, &mut state, number, kind, &mut []);
        if !twins.is_empty() {
            for outcome in [d.outcome, again.outcome] {
                if let Outcome::Accepted { count, .. } = outcome {
                    prop_assert!(count == g.count || twins.contains(&count), "{:?} {:?}", outcome, twins);
                }
            }
            return Ok(());
        }
        // Extended tokens type by parity only (spec §7).
        let want_type = match (kind, t) {
            (TokenKind::Extended, TokenType::DisablePayg | TokenType::CounterSync) => TokenType::SetTime,
            _ => t,
        };
        prop_assert_eq!(d.outcome, Outcome::Accepted { token_type: want_type, value: g.value, count: g.count });
        if g.value == 999 {
            let reaccepted = matches!(again.outcome, Outcome::Accepted { .. });
            prop_assert!(reaccepted, "a sync token may be entered again");
        } else {
            prop_assert_eq!(again.outcome, Outcome::AlreadyUsed);
        }
        prop_assert_eq!(state.count(), g.count);
    }

    /// A random stream of issued, replayed, skipped and garbage tokens gives exactly the same
    /// answers and state with checkpoints as with the reference walk from position 0.
    #[test]
    fn checkpoints_never_change_an_answer(
        key in any::<[u8; 16]>(),
        sc in 0u32..=999_999_999,
        start in 0u32..200,
        slots in 1usize..4,
        ops in proptest::collection::vec((0u8..10, any::<u32>(), 0u32..6), 1..40),
    ) {
        let mut server_count = start;
        let mut issued: Vec<u64> = Vec::new();
        let mut reference = UsedCounts::new(start);
        let mut fast = UsedCounts::new(start);
        let mut cps: Vec<Option<Checkpoint>> = vec![None; slots];
        for (op, raw, pick) in ops {
            let number = match op {
                // Issue and enter a token; a few distinct values so chains repeat.
                0..=5 => {
                    let t = match op { 0..=3 => TokenType::AddTime, 4 => TokenType::SetTime, _ => TokenType::CounterSync };
                    let v = value_for(t, pick, TokenKind::Standard);
                    let g = generate(&key, sc, server_count, t, v, TokenKind::Standard, None).unwrap();
                    server_count = g.count;
                    issued.push(g.number);
                    g.number
                }
                // Issue but lose the token (a jump for the next one).
                6 => {
                    let g = generate(&key, sc, server_count, TokenType::AddTime, Some(pick), TokenKind::Standard, None).unwrap();
                    server_count = g.count;
                    continue;
                }
                // Replay an earlier token.
                7 | 8 if !issued.is_empty() => issued[raw as usize % issued.len()],
                // Garbage.
                _ => u64::from(raw % 1_000_000_000),
            };
            let a = decode(&key, sc, &mut reference, number, TokenKind::Standard, &mut []);
            let b = decode(&key, sc, &mut fast, number, TokenKind::Standard, &mut cps);
            prop_assert_eq!(a.outcome, b.outcome);
            prop_assert_eq!(reference, fast);
        }
    }

    /// The parser never panics and accepts only what the formatter can produce.
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24), restricted in any::<bool>()) {
        if let Ok((n, kind)) = parse(&bytes, restricted) {
            let text = TokenText::new(n, kind, restricted);
            prop_assert_eq!(text.as_bytes(), &bytes[..]);
        }
    }
}

/// With a checkpoint, a valid token resolves within 80 hash steps at any count (the
/// reference needs count + 64).
#[test]
fn checkpointed_valid_tokens_cost_at_most_80_steps() {
    let key = [0x5a; 16];
    let sc = 987_654_321;
    for count in [10u32, 1_000, 60_000] {
        let mut state = UsedCounts::new(count);
        let mut cps: [Option<Checkpoint>; 2] = [None; 2];
        let first = generate(
            &key,
            sc,
            count,
            TokenType::AddTime,
            Some(7),
            TokenKind::Standard,
            None,
        )
        .unwrap();
        let cold = decode(
            &key,
            sc,
            &mut state,
            first.number,
            TokenKind::Standard,
            &mut cps,
        );
        assert!(matches!(cold.outcome, Outcome::Accepted { .. }));
        assert!(
            cold.steps > count,
            "the first token of a value walks from 0"
        );
        // The longest possible jump for the next token of the same value.
        let far = generate(
            &key,
            sc,
            state.count() + 62,
            TokenType::AddTime,
            Some(7),
            TokenKind::Standard,
            None,
        )
        .unwrap();
        assert_eq!(far.count, state.count() + 64);
        let warm = decode(
            &key,
            sc,
            &mut state,
            far.number,
            TokenKind::Standard,
            &mut cps,
        );
        assert!(matches!(warm.outcome, Outcome::Accepted { .. }));
        assert!(warm.steps <= 80, "count {count}: {} steps", warm.steps);
        // Other cached values are kept up to date too.
        let other = generate(
            &key,
            sc,
            state.count(),
            TokenType::AddTime,
            Some(30),
            TokenKind::Standard,
            None,
        )
        .unwrap();
        let _ = decode(
            &key,
            sc,
            &mut state,
            other.number,
            TokenKind::Standard,
            &mut cps,
        );
        let again = generate(
            &key,
            sc,
            state.count(),
            TokenType::AddTime,
            Some(7),
            TokenKind::Standard,
            None,
        )
        .unwrap();
        let d = decode(
            &key,
            sc,
            &mut state,
            again.number,
            TokenKind::Standard,
            &mut cps,
        );
        assert!(matches!(d.outcome, Outcome::Accepted { .. }));
        assert!(
            d.steps <= 80,
            "count {count}: {} steps after another value",
            d.steps
        );
    }
}

/// A replay far below the window still answers ALREADY_USED (not INVALID), as the reference.
#[test]
fn very_old_replays_are_already_used_with_checkpoints() {
    let key = [0x33; 16];
    let sc = 42;
    let mut state = UsedCounts::new(0);
    let mut cps: [Option<Checkpoint>; 2] = [None; 2];
    let mut count = 0;
    let mut first = None;
    for _ in 0..60 {
        let g = generate(
            &key,
            sc,
            count,
            TokenType::AddTime,
            Some(1),
            TokenKind::Standard,
            None,
        )
        .unwrap();
        count = g.count;
        first.get_or_insert(g.number);
        let d = decode(
            &key,
            sc,
            &mut state,
            g.number,
            TokenKind::Standard,
            &mut cps,
        );
        assert!(matches!(d.outcome, Outcome::Accepted { .. }));
    }
    let old = first.unwrap();
    let d = decode(&key, sc, &mut state, old, TokenKind::Standard, &mut cps);
    assert_eq!(d.outcome, Outcome::AlreadyUsed);
    let d = decode(
        &key,
        sc,
        &mut state,
        111_111_111,
        TokenKind::Standard,
        &mut cps,
    );
    assert_eq!(d.outcome, Outcome::Invalid);
}

/// The case CI's property run found (seed in tests/proptest-regressions/props.txt): the chain
/// of this key and value enters a 2-cycle (codes at 34, 36, 38, ... are equal), so the token
/// issued at count 34 matches every later even count. Spec §8 step 3 keeps searching past a
/// used match, so each entry is accepted two counts further on, as in the reference
/// implementations. The ledger refuses to issue such a token (paygo's `TOKEN_WOULD_REPEAT`).
#[test]
fn a_token_on_a_chain_cycle_is_accepted_again() {
    let key = [
        15, 5, 12, 87, 23, 159, 9, 228, 107, 159, 52, 52, 138, 182, 73, 116,
    ];
    let sc = 171_199_660;
    let value = 2_056_572_541 % 996;
    let g = generate(
        &key,
        sc,
        33,
        TokenType::AddTime,
        Some(value),
        TokenKind::Standard,
        None,
    )
    .unwrap();
    assert_eq!((g.count, g.value), (34, 865));
    assert!(is_on_chain(&key, sc, TokenKind::Standard, g.number, 36));
    assert!(is_on_chain(&key, sc, TokenKind::Standard, g.number, 38));

    let mut state = UsedCounts::new(33);
    let counts: Vec<Outcome> = (0..3)
        .map(|_| decode(&key, sc, &mut state, g.number, TokenKind::Standard, &mut []).outcome)
        .collect();
    let accepted = |count| Outcome::Accepted {
        token_type: TokenType::AddTime,
        value: 865,
        count,
    };
    assert_eq!(counts, [accepted(34), accepted(36), accepted(38)]);
    assert_eq!(state.count(), 38);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Brent's constant-memory search agrees with a walk that remembers every code: it finds
    /// each cycle its budget promises, and never reports one that is not there.
    #[test]
    fn find_cycle_agrees_with_a_remembering_walk(
        key in any::<[u8; 16]>(),
        sc in 0u32..=999_999_999,
        field in 0u64..1000,
        extended in any::<bool>(),
    ) {
        const STEPS: u32 = 6_000;
        let kind = if extended { TokenKind::Extended } else { TokenKind::Standard };
        let field = if extended { field * 997 } else { field };
        let mut chain = Chain::new(&key, kind, sc, field);
        let mut seen = std::collections::HashMap::new();
        let mut walked = None;
        // Brent's hare reaches count STEPS itself, so the walk includes it.
        for _ in 0..=STEPS {
            let pos = chain.pos();
            if let Some(first) = seen.insert(pos.code, pos.count) {
                walked = Some(Cycle { start: first, period: pos.count - first });
                break;
            }
            chain.advance();
        }
        let found = find_cycle(&key, kind, sc, field, STEPS);
        match walked {
            Some(c) if 3 * (c.start + 1).max(c.period) <= STEPS => prop_assert_eq!(found, Some(c)),
            Some(c) => prop_assert!(found.is_none() || found == Some(c)),
            None => prop_assert_eq!(found, None),
        }
    }
}

#[test]
fn find_cycle_on_the_ci_chain_and_budget_edges() {
    let key = [
        15, 5, 12, 87, 23, 159, 9, 228, 107, 159, 52, 52, 138, 182, 73, 116,
    ];
    let (sc, field) = (171_199_660, 525);
    let cycle = Cycle {
        start: 34,
        period: 2,
    };
    assert_eq!(
        find_cycle(&key, TokenKind::Standard, sc, field, 105),
        Some(cycle)
    );
    // Another starting code with the same upper six digits starts the same chain (only
    // those digits and the field make the first code).
    assert_eq!(
        find_cycle(&key, TokenKind::Standard, 171_199_526, field, 1_000),
        Some(cycle)
    );
    assert_eq!(find_cycle(&key, TokenKind::Standard, sc, field, 0), None);
    assert_eq!(find_cycle(&key, TokenKind::Standard, sc, field, 20), None);
    // An ordinary chain: no cycle in the first few thousand counts.
    assert_eq!(find_cycle(&key, TokenKind::Standard, sc, 526, 3_000), None);
}

/// The stress run's case: this key's DISABLE_PAYG chain has a 13-count cycle, so the unlock
/// token issued at 179 first matches count 166, an even (ADD_TIME) count within 16 below the
/// device's 177 and never used: spec §8 accepts it there as 998 days, not as an unlock.
#[test]
fn an_unlock_token_on_an_odd_cycle_reads_as_add_time() {
    let key = [
        234, 211, 38, 115, 179, 185, 179, 67, 55, 182, 85, 161, 120, 254, 193, 128,
    ];
    let sc = 965_967_392;
    let g = generate(
        &key,
        sc,
        177,
        TokenType::DisablePayg,
        None,
        TokenKind::Standard,
        None,
    )
    .unwrap();
    assert_eq!(g.count, 179);
    let field = g.number % 1000;
    let cycle = find_cycle(&key, TokenKind::Standard, sc, field, 1_000).unwrap();
    assert_eq!(cycle.period, 13);
    assert!(cycle.start <= 166);
    let mut state = UsedCounts::new(177);
    let d = decode(&key, sc, &mut state, g.number, TokenKind::Standard, &mut []);
    assert_eq!(
        d.outcome,
        Outcome::Accepted {
            token_type: TokenType::AddTime,
            value: 998,
            count: 166
        }
    );
}

/// The stress run's other case: no cycle, just chance. This extended ADD_TIME token's six
/// hash digits come up again at count 1262, so a second entry is accepted there once (as
/// likely as guessing a token; the wrong-token lockout bounds guessing).
#[test]
fn a_chance_collision_is_accepted_once_more() {
    let key = [
        77, 73, 215, 175, 126, 128, 78, 193, 73, 78, 62, 109, 137, 234, 237, 224,
    ];
    let (sc, kind) = (368_504_102, TokenKind::Extended);
    let g = generate(
        &key,
        sc,
        1256,
        TokenType::AddTime,
        Some(893_257),
        kind,
        None,
    )
    .unwrap();
    assert_eq!(g.count, 1258);
    let field = g.number % kind.modulus();
    assert_eq!(find_cycle(&key, kind, sc, field, 30_000), None);
    let mut state = UsedCounts::new(1256);
    let outcomes: Vec<Outcome> = (0..3)
        .map(|_| decode(&key, sc, &mut state, g.number, kind, &mut []).outcome)
        .collect();
    let accepted = |count| Outcome::Accepted {
        token_type: TokenType::AddTime,
        value: 893_257,
        count,
    };
    assert_eq!(
        outcomes,
        [accepted(1258), accepted(1262), Outcome::AlreadyUsed]
    );
}
