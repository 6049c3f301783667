//! Every row of generate.csv and every scenario of decode.csv.

use firmware_core::token::{
    decode, generate, parse, starting_code_from_key, Checkpoint, Outcome, TokenKind, TokenText,
    TokenType, UsedCounts,
};
use firmware_core::Error;
use test_support::{read, Row};

fn token_type(name: &str) -> TokenType {
    match name {
        "ADD_TIME" => TokenType::AddTime,
        "SET_TIME" => TokenType::SetTime,
        "DISABLE_PAYG" => TokenType::DisablePayg,
        "COUNTER_SYNC" => TokenType::CounterSync,
        other => panic!("unknown type {other}"),
    }
}

/// days × divider, rounded half to even, as the reference encoder does (float semantics).
fn scaled(row: &Row) -> Option<u32> {
    let days: f64 = row.opt("value")?.parse().expect("value");
    let divider: f64 = row.num("value_divider");
    Some((days * divider).round_ties_even() as u32)
}

#[test]
fn generate_csv() {
    let rows = read("generate.csv");
    assert!(rows.len() > 400);
    for row in &rows {
        let key = row.key();
        let sc: u32 = row.num("starting_code");
        if row.flag("starting_code_derived") {
            assert_eq!(starting_code_from_key(&key), sc, "line {}", row.line);
        }
        let kind = if row.flag("extended") {
            TokenKind::Extended
        } else {
            TokenKind::Standard
        };
        let restricted = row.flag("restricted");
        let got = generate(
            &key,
            sc,
            row.num("count"),
            token_type(row.get("type")),
            scaled(row),
            kind,
            None,
        );
        match row.opt("expected_error") {
            Some(err) => {
                let want = match err {
                    "VALUE_TOO_HIGH" => Error::ValueTooHigh,
                    "VALUE_NOT_ALLOWED" => Error::ValueNotAllowed,
                    other => panic!("unknown error {other}"),
                };
                assert_eq!(got, Err(want), "line {}", row.line);
            }
            None => {
                let g = got.unwrap_or_else(|e| panic!("line {}: {e}", row.line));
                let text = TokenText::new(g.number, kind, restricted);
                assert_eq!(
                    text.as_str(),
                    row.get("expected_token"),
                    "line {}",
                    row.line
                );
                assert_eq!(
                    g.count,
                    row.num::<u32>("expected_new_count"),
                    "line {}",
                    row.line
                );
                assert_eq!(
                    g.value,
                    row.num::<u32>("encoded_value"),
                    "line {}",
                    row.line
                );
                assert_eq!(parse(text.as_bytes(), restricted), Ok((g.number, kind)));
            }
        }
    }
}

/// Resuming from a cached chain position gives the same token for a fraction of the work.
#[test]
fn generate_resumed_equals_cold() {
    let key = [7u8; 16];
    let sc = 123_456_789;
    let mut pos = None;
    let mut count = 0;
    for _ in 0..200 {
        let warm = generate(
            &key,
            sc,
            count,
            TokenType::AddTime,
            Some(30),
            TokenKind::Standard,
            pos,
        )
        .expect("generate");
        let cold = generate(
            &key,
            sc,
            count,
            TokenType::AddTime,
            Some(30),
            TokenKind::Standard,
            None,
        )
        .expect("generate");
        assert_eq!(warm, cold);
        pos = Some(warm.pos);
        count = warm.count;
    }
    // A cached position beyond the requested count is ignored rather than trusted.
    let back = generate(
        &key,
        sc,
        10,
        TokenType::AddTime,
        Some(30),
        TokenKind::Standard,
        pos,
    )
    .expect("generate");
    assert_eq!(
        back,
        generate(
            &key,
            sc,
            10,
            TokenType::AddTime,
            Some(30),
            TokenKind::Standard,
            None
        )
        .expect("generate")
    );
}

fn result_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted { token_type, .. } => token_type.name(),
        Outcome::Invalid => "INVALID",
        Outcome::AlreadyUsed => "ALREADY_USED",
    }
}

/// Runs decode.csv with the C count policy (`alt_*` columns where `cs_sensitive`), with
/// `slots` checkpoint slots. Returns the number of rows checked.
fn run_decode_scenarios(slots: usize) -> usize {
    let rows = read("decode.csv");
    let mut checked = 0;
    let mut scenario = String::new();
    let mut state = UsedCounts::new(0);
    let mut cps: Vec<Option<Checkpoint>> = Vec::new();
    let mut diverged = false;
    for row in &rows {
        if row.get("scenario") != scenario {
            scenario = row.get("scenario").to_string();
            state = UsedCounts::new(row.num("init_count"));
            cps = vec![None; slots];
            diverged = false;
        }
        let at = format!("{} step {} (line {})", scenario, row.get("step"), row.line);
        let key = row.key();
        let sc: u32 = row.num("starting_code");
        let (number, kind) = parse(row.get("token").as_bytes(), row.flag("restricted")).expect(&at);
        assert_eq!(kind == TokenKind::Extended, row.flag("extended"), "{at}");
        let decoded = decode(&key, sc, &mut state, number, kind, &mut cps);
        let alt = row.flag("cs_sensitive");
        diverged |= alt;
        let col = |main: &'static str, alt_col: &'static str| if alt { alt_col } else { main };
        let want_result = row.get(col("expected_result", "alt_result"));
        assert_eq!(result_name(&decoded.outcome), want_result, "{at}");
        if let Outcome::Accepted { value, count, .. } = decoded.outcome {
            assert_eq!(
                value,
                row.num::<u32>(col("expected_value_raw", "alt_value_raw")),
                "{at}"
            );
            assert_eq!(
                count,
                row.num::<u32>(col("expected_count", "alt_count")),
                "{at}"
            );
        }
        assert_eq!(
            state.count(),
            row.num::<u32>(col("count_after", "alt_count_after")),
            "{at}"
        );
        if !diverged {
            // The reference's list, restricted to the window the mask covers.
            let low = state.count().saturating_sub(15);
            let want: Vec<u32> = row
                .get("used_counts_after")
                .split(';')
                .filter_map(|c| c.parse::<i64>().ok())
                .filter(|&c| c >= i64::from(low))
                .map(|c| c as u32)
                .collect();
            let got: Vec<u32> = state.used().filter(|&c| c >= low).collect();
            assert_eq!(got, want, "{at}");
        }
        checked += 1;
    }
    checked
}

#[test]
fn decode_csv_reference_walk() {
    assert_eq!(run_decode_scenarios(0), 254);
}

#[test]
fn decode_csv_with_checkpoints() {
    assert_eq!(run_decode_scenarios(1), 254);
    assert_eq!(run_decode_scenarios(4), 254);
}
