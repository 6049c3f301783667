//! Token engine speed: generation cold vs resumed, and decoder worst cases.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use firmware_core::token::{
    decode, find_cycle, generate, Checkpoint, Outcome, TokenKind, TokenType, UsedCounts,
};
use std::hint::black_box;

const KEY: [u8; 16] = *b"bench-key-012345";
const SC: u32 = 123_456_789;

fn add(
    count: u32,
    resume: Option<firmware_core::token::ChainPos>,
) -> firmware_core::token::Generated {
    generate(
        &KEY,
        SC,
        count,
        TokenType::AddTime,
        Some(7),
        TokenKind::Standard,
        resume,
    )
    .expect("generate")
}

fn bench_generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    for count in [1u32, 1_000, 60_000] {
        group.bench_with_input(BenchmarkId::new("cold", count), &count, |b, &n| {
            b.iter(|| add(black_box(n), None))
        });
        // The ledger caches the chain position of the previous token of the same value.
        let cached = add(count.saturating_sub(2), None).pos;
        group.bench_with_input(BenchmarkId::new("resumed", count), &count, |b, &n| {
            b.iter(|| add(black_box(n), Some(cached)))
        });
    }
    group.finish();
}

/// What the ledger pays once per unit and value: Brent's search over at least 10 000
/// counts (30 000 steps), or less when the cycle shows up earlier.
fn bench_find_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("find_cycle");
    group.sample_size(20);
    for (name, kind) in [
        ("standard", TokenKind::Standard),
        ("extended", TokenKind::Extended),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| find_cycle(&KEY, kind, SC, black_box(7), 30_000))
        });
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for count in [10u32, 60_000] {
        // Worst case: an invalid token walks the whole chain up to count + 64.
        group.bench_with_input(BenchmarkId::new("invalid", count), &count, |b, &n| {
            b.iter(|| {
                let mut state = UsedCounts::new(n);
                decode(
                    &KEY,
                    SC,
                    &mut state,
                    black_box(111_111_111),
                    TokenKind::Standard,
                    &mut [],
                )
            })
        });
        // Worst valid case: the largest forward jump (64), with and without a checkpoint.
        let token = add(n_for_jump(count), None);
        assert_eq!(token.count, count + 64);
        group.bench_with_input(
            BenchmarkId::new("valid_max_jump_no_checkpoint", count),
            &count,
            |b, &n| {
                b.iter(|| {
                    let mut state = UsedCounts::new(n);
                    decode(
                        &KEY,
                        SC,
                        &mut state,
                        black_box(token.number),
                        TokenKind::Standard,
                        &mut [],
                    )
                })
            },
        );
        // Prime the checkpoint the way a device does: accept the previous token of this value.
        let mut warm_state = UsedCounts::new(count - 2);
        let mut slots: [Option<Checkpoint>; 2] = [None; 2];
        let earlier = add(count - 2, None);
        let primed = decode(
            &KEY,
            SC,
            &mut warm_state,
            earlier.number,
            TokenKind::Standard,
            &mut slots,
        );
        assert!(matches!(primed.outcome, Outcome::Accepted { .. }));
        group.bench_with_input(
            BenchmarkId::new("valid_max_jump_checkpoint", count),
            &count,
            |b, _| {
                b.iter(|| {
                    let mut state = warm_state;
                    let mut cps = slots;
                    decode(
                        &KEY,
                        SC,
                        &mut state,
                        black_box(token.number),
                        TokenKind::Standard,
                        &mut cps,
                    )
                })
            },
        );
    }
    group.finish();
}

/// The last count from which an ADD_TIME lands exactly 64 above `count`.
fn n_for_jump(count: u32) -> u32 {
    count + 62
}

criterion_group!(benches, bench_generate, bench_find_cycle, bench_decode);
criterion_main!(benches);
