//! The token tool: issue and check tokens (stateless; the ledger will add issuance records).

use crate::api::{DecodeRequest, DecodeResult, IssueRequest, IssuedToken, TokenAction, UnitParams};
use crate::error::{CmdResult, CommandError};
use paygo::token::{self, Action, Unit};

fn unit(p: &UnitParams) -> CmdResult<Unit> {
    Ok(Unit {
        key: token::parse_key(&p.key)?,
        starting_code: p.starting_code,
        restricted: p.restricted,
        divider: token::check_divider(p.divider)?,
    })
}

fn days(text: &Option<String>) -> CmdResult<f64> {
    match text {
        Some(t) => Ok(token::parse_days(t)?),
        None => Err(CommandError::new(
            "BAD_DAYS",
            "this action needs a number of days",
        )),
    }
}

/// Issue the token that follows `req.last_count`.
pub fn issue(req: &IssueRequest) -> CmdResult<IssuedToken> {
    let unit = unit(&req.unit)?;
    let action = match req.action {
        TokenAction::AddTime => Action::Add(days(&req.days)?),
        TokenAction::SetTime => Action::Set(days(&req.days)?),
        TokenAction::DisablePayg => Action::Unlock,
        TokenAction::CounterSync => Action::Sync,
    };
    let issued = token::generate(&unit, req.last_count, action, req.extended)?;
    Ok(IssuedToken {
        grouped: token::group_digits(&issued.token),
        token: issued.token,
        count: issued.count,
        token_type: issued.token_type.to_string(),
        value: issued.value,
    })
}

/// What a device in the given state would do with the token.
pub fn check(req: &DecodeRequest) -> CmdResult<DecodeResult> {
    let unit = unit(&req.unit)?;
    let used = token::parse_used(&req.used)?;
    let r = token::decode(&unit, req.count, &used, &req.token)?;
    Ok(DecodeResult {
        result: r.result.to_string(),
        value: r.value,
        days: r.days,
        count: r.count,
        count_after: r.state.count,
        used_after: r.state.used,
    })
}

/// `issue_token`: see [`issue`].
#[tauri::command]
pub fn issue_token(req: IssueRequest) -> CmdResult<IssuedToken> {
    issue(&req)
}

/// `decode_token`: see [`check`].
#[tauri::command]
pub fn decode_token(req: DecodeRequest) -> CmdResult<DecodeResult> {
    check(&req)
}
