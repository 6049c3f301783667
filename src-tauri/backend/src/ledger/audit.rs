//! The append-only, hash-chained audit log and `verify`.
//!
//! Row `seq` stores `hash = SHA-256(prev_hash || canonical(row))`; the first row's
//! `prev_hash` is 32 zero bytes. Canonical bytes: `b"audit-v1"`, seq and time as big-endian
//! i64, then actor, action, unit and detail each as a big-endian u32 length (0xFFFFFFFF for
//! NULL) followed by UTF-8 bytes. Triggers refuse UPDATE and DELETE on the table; the chain
//! catches edits made around them (a raw SQLite tool can drop triggers).

use super::LedgerError;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who did it (operator name), if known.
    pub actor: Option<String>,
    /// What: ledger_init, unit_add, issue, assign, provision_begin, ...
    pub action: String,
    /// The unit's serial, if any.
    pub unit: Option<String>,
    /// JSON details.
    pub detail: String,
}

fn push_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(t) => {
            out.extend_from_slice(&(t.len() as u32).to_be_bytes());
            out.extend_from_slice(t.as_bytes());
        }
    }
}

/// The canonical bytes of a row (what the hash covers besides the previous hash).
pub fn canonical(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + row.detail.len());
    out.extend_from_slice(b"audit-v1");
    out.extend_from_slice(&row.seq.to_be_bytes());
    out.extend_from_slice(&row.at.to_be_bytes());
    push_text(&mut out, row.actor.as_deref());
    push_text(&mut out, Some(&row.action));
    push_text(&mut out, row.unit.as_deref());
    push_text(&mut out, Some(&row.detail));
    out
}

/// `SHA-256(prev || canonical(row))`.
pub fn chain_hash(prev: &[u8], row: &AuditRow) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(row));
    h.finalize().into()
}

/// Append a row inside the caller's transaction.
pub(crate) fn append(
    tx: &Transaction<'_>,
    actor: Option<&str>,
    action: &str,
    unit: Option<&str>,
    detail: &serde_json::Value,
) -> Result<i64, LedgerError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_seq, prev_hash) = last.unwrap_or((0, vec![0u8; 32]));
    let row = AuditRow {
        seq: prev_seq + 1,
        at: super::now(),
        actor: actor.map(str::to_string),
        action: action.to_string(),
        unit: unit.map(str::to_string),
        detail: detail.to_string(),
    };
    let hash = chain_hash(&prev_hash, &row);
    tx.execute(
        "INSERT INTO audit (seq, at, actor, action, unit, detail, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.unit,
            row.detail,
            prev_hash,
            hash.to_vec()
        ],
    )?;
    Ok(row.seq)
}

/// One thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// BROKEN_CHAIN, DUPLICATE_COUNT, COUNT_MISMATCH, TOKEN_NOT_AUDITED, AUDITED_TOKEN_MISSING,
    /// DAMAGED_FILE.
    pub code: &'static str,
    /// Explanation.
    pub message: String,
    /// The audit row concerned, if any.
    pub seq: Option<i64>,
}

/// What `paygo ledger verify` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Audit rows checked.
    pub audit_rows: u64,
    /// Tokens checked.
    pub tokens: u64,
    /// Units checked.
    pub units: u64,
    /// The first audit row whose hash does not match (tampered or reordered), if any.
    pub first_broken_seq: Option<i64>,
    /// Everything found (at most 100 listed).
    pub problems: Vec<Problem>,
}

/// Recompute the chain and check the token invariants.
pub(crate) fn verify(conn: &rusqlite::Connection) -> Result<VerifyReport, LedgerError> {
    let mut problems = Vec::new();
    let add = |p: Problem, problems: &mut Vec<Problem>| {
        if problems.len() < 100 {
            problems.push(p);
        }
    };
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        add(
            Problem {
                code: "DAMAGED_FILE",
                message: format!("SQLite quick_check: {check}"),
                seq: None,
            },
            &mut problems,
        );
        // Reading on through damaged pages would only report the damage again.
        return Ok(VerifyReport {
            ok: false,
            audit_rows: 0,
            tokens: 0,
            units: 0,
            first_broken_seq: None,
            problems,
        });
    }
    // 1. The hash chain.
    let mut first_broken = None;
    let mut audited: HashMap<(String, u32), String> = HashMap::new();
    let mut rows = 0u64;
    {
        let mut stmt = conn.prepare(
            "SELECT seq, at, actor, action, unit, detail, prev_hash, hash FROM audit ORDER BY seq",
        )?;
        let mut q = stmt.query([])?;
        let mut prev = vec![0u8; 32];
        let mut expect_seq = 1i64;
        while let Some(r) = q.next()? {
            let row = AuditRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                unit: r.get(4)?,
                detail: r.get(5)?,
            };
            let stored_prev: Vec<u8> = r.get(6)?;
            let stored: Vec<u8> = r.get(7)?;
            rows += 1;
            let good = row.seq == expect_seq
                && stored_prev == prev
                && stored.as_slice() == chain_hash(&prev, &row).as_slice();
            if !good && first_broken.is_none() {
                first_broken = Some(row.seq);
                add(
                    Problem {
                        code: "BROKEN_CHAIN",
                        message: format!(
                            "audit row {} does not match the hash chain (edited, inserted or a row before it deleted)",
                            row.seq
                        ),
                        seq: Some(row.seq),
                    },
                    &mut problems,
                );
            }
            prev = stored;
            expect_seq = row.seq + 1;
            // Tokens come from `issue`, or from a handover bundle (`token_import`).
            if row.action == "issue" || row.action == "token_import" {
                if let (Some(unit), Ok(v)) = (
                    row.unit.clone(),
                    serde_json::from_str::<serde_json::Value>(&row.detail),
                ) {
                    let count = v.get("count").and_then(|c| c.as_u64()).unwrap_or(0) as u32;
                    let token = v
                        .get("token")
                        .and_then(|t| t.as_str())
                        .unwrap_or("")
                        .to_string();
                    audited.insert((unit, count), token);
                }
            }
        }
    }
    // 2. Counts: never twice per unit; unit count = highest token count.
    {
        let mut stmt = conn.prepare(
            "SELECT u.serial, t.count, COUNT(*) FROM tokens t JOIN units u ON u.id = t.unit_id \
             GROUP BY t.unit_id, t.count HAVING COUNT(*) > 1",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let serial: String = r.get(0)?;
            let count: u32 = r.get(1)?;
            add(
                Problem {
                    code: "DUPLICATE_COUNT",
                    message: format!("unit {serial}: count {count} issued more than once"),
                    seq: None,
                },
                &mut problems,
            );
        }
        let mut stmt = conn.prepare(
            "SELECT u.serial, u.count, m.mx FROM units u \
             JOIN (SELECT unit_id, MAX(count) AS mx FROM tokens GROUP BY unit_id) m ON m.unit_id = u.id \
             WHERE u.count != m.mx",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let serial: String = r.get(0)?;
            let count: u32 = r.get(1)?;
            let mx: u32 = r.get(2)?;
            add(
                Problem {
                    code: "COUNT_MISMATCH",
                    message: format!(
                        "unit {serial}: count {count} but the highest token count is {mx}"
                    ),
                    seq: None,
                },
                &mut problems,
            );
        }
    }
    // 3. Every token is audited with the same text, and every audited token exists.
    let mut tokens = 0u64;
    {
        let mut stmt = conn.prepare(
            "SELECT u.serial, t.count, t.token FROM tokens t JOIN units u ON u.id = t.unit_id",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            tokens += 1;
            let serial: String = r.get(0)?;
            let count: u32 = r.get(1)?;
            let token: String = r.get(2)?;
            match audited.remove(&(serial.clone(), count)) {
                Some(t) if t == token => {}
                Some(_) => add(
                    Problem {
                        code: "TOKEN_NOT_AUDITED",
                        message: format!(
                            "unit {serial} count {count}: token text differs from the audit log"
                        ),
                        seq: None,
                    },
                    &mut problems,
                ),
                None => add(
                    Problem {
                        code: "TOKEN_NOT_AUDITED",
                        message: format!("unit {serial} count {count}: token has no audit row"),
                        seq: None,
                    },
                    &mut problems,
                ),
            }
        }
    }
    let mut missing: Vec<_> = audited.into_keys().collect();
    missing.sort();
    for (serial, count) in missing {
        add(
            Problem {
                code: "AUDITED_TOKEN_MISSING",
                message: format!(
                    "unit {serial} count {count}: audited token missing from the tokens table"
                ),
                seq: None,
            },
            &mut problems,
        );
    }
    let units = conn.query_row("SELECT COUNT(*) FROM units", [], |r| r.get::<_, i64>(0))? as u64;
    Ok(VerifyReport {
        ok: problems.is_empty(),
        audit_rows: rows,
        tokens,
        units,
        first_broken_seq: first_broken,
        problems,
    })
}
