//! Token generation (the back office side; also used by the device twin and tests).

use super::{
    field_for, Chain, ChainPos, Key, TokenKind, TokenType, VALUE_COUNTER_SYNC, VALUE_DISABLE_PAYG,
};
use crate::Error;

/// A generated token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    /// The token as a number (format it with [`super::TokenText`]).
    pub number: u64,
    /// The token's count; the server stores it as the unit's new last count.
    pub count: u32,
    /// The integer embedded in the token (998 / 999 for disable / sync).
    pub value: u32,
    /// What the token does.
    pub token_type: TokenType,
    /// Chain position of this token, to resume from next time for the same value.
    pub pos: ChainPos,
}

/// The count the next token of `token_type` gets after `last_count` (spec §3.4: parity
/// carries the type; ADD_TIME is even, everything else odd).
pub fn next_count(last_count: u32, token_type: TokenType) -> Result<u32, Error> {
    let even = last_count.is_multiple_of(2);
    let step = match (token_type, even) {
        (TokenType::AddTime, true) => 2,
        (TokenType::AddTime, false) => 1,
        (_, true) => 1,
        (_, false) => 2,
    };
    last_count.checked_add(step).ok_or(Error::CountOverflow)
}

/// The integer a token of this type embeds, checking the caller's (already scaled) value.
fn embedded_value(
    token_type: TokenType,
    value: Option<u32>,
    kind: TokenKind,
) -> Result<u32, Error> {
    match (token_type, value) {
        (TokenType::AddTime | TokenType::SetTime, Some(v)) if v <= kind.max_time_value() => Ok(v),
        (TokenType::AddTime | TokenType::SetTime, _) => Err(Error::ValueTooHigh),
        (TokenType::DisablePayg, None) => Ok(VALUE_DISABLE_PAYG),
        (TokenType::CounterSync, None) => Ok(VALUE_COUNTER_SYNC),
        (TokenType::DisablePayg | TokenType::CounterSync, Some(_)) => Err(Error::ValueNotAllowed),
    }
}

/// Generate the token that follows `last_count`.
///
/// `value` is the scaled integer (days × divider, rounded by the caller); it must be `None`
/// for DISABLE_PAYG and COUNTER_SYNC. `resume` is a cached chain position for the same
/// value (from an earlier [`Generated::pos`]); with it, the cost is the distance from that
/// position instead of the whole count. A position beyond the new count is ignored.
pub fn generate(
    key: &Key,
    starting_code: u32,
    last_count: u32,
    token_type: TokenType,
    value: Option<u32>,
    kind: TokenKind,
    resume: Option<ChainPos>,
) -> Result<Generated, Error> {
    let value = embedded_value(token_type, value, kind)?;
    let count = next_count(last_count, token_type)?;
    let field = field_for(kind, starting_code, value);
    let mut chain = Chain::new(key, kind, starting_code, field);
    if let Some(pos) = resume.filter(|p| p.count <= count) {
        chain = chain.resume(pos);
    }
    chain.seek(count);
    Ok(Generated {
        number: chain.token(),
        count,
        value,
        token_type,
        pos: chain.pos(),
    })
}
