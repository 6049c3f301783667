//! Schema migrations: `PRAGMA user_version` = number of steps applied.

use super::LedgerError;
use rusqlite::Connection;

/// Migration steps, in order. Never edit a released step: append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    phone      TEXT,
    location   TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE units (
    id               INTEGER PRIMARY KEY,
    serial           TEXT NOT NULL UNIQUE,
    model            TEXT,
    starting_code    INTEGER NOT NULL,
    key_sealed       BLOB NOT NULL,
    key_nonce        BLOB NOT NULL,
    count            INTEGER NOT NULL CHECK (count >= 0),
    used_mask        INTEGER NOT NULL DEFAULT 0,
    device_count     INTEGER,
    device_mask      INTEGER NOT NULL DEFAULT 0,
    restricted       INTEGER NOT NULL,
    divider          INTEGER NOT NULL CHECK (divider BETWEEN 1 AND 255),
    payg_disabled    INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL CHECK (status IN ('provisioning', 'in_stock', 'provisioned',
                         'assigned', 'active', 'unlocked', 'returned', 'written_off')),
    customer_id      INTEGER REFERENCES customers(id),
    tariff_millidays INTEGER CHECK (tariff_millidays IS NULL OR tariff_millidays >= 0),
    notes            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX units_by_status ON units(status, serial);
CREATE INDEX units_by_customer ON units(customer_id);
CREATE TABLE chain_cache (
    unit_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    kind      INTEGER NOT NULL,
    field     INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    code      INTEGER NOT NULL,
    lag_count INTEGER NOT NULL,
    lag_code  INTEGER NOT NULL,
    PRIMARY KEY (unit_id, kind, field)
) WITHOUT ROWID;
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    count        INTEGER NOT NULL,
    type         TEXT NOT NULL,
    value        INTEGER NOT NULL,
    days         REAL,
    extended     INTEGER NOT NULL DEFAULT 0,
    token        TEXT NOT NULL,
    payment_ref  TEXT,
    amount_milli INTEGER,
    operator     TEXT,
    reason       TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (unit_id, count)
);
CREATE UNIQUE INDEX tokens_payment_ref ON tokens(unit_id, payment_ref) WHERE payment_ref IS NOT NULL;
-- For the "reference already used on another unit" warning.
CREATE INDEX tokens_by_payment_ref ON tokens(payment_ref) WHERE payment_ref IS NOT NULL;
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    unit      TEXT,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 2: fleet views. Sort keys kept on the unit row (credit end, last token, customer
    // name), each indexed with the serial as tie-breaker so every sort of the Units table is
    // an index walk + LIMIT/OFFSET, and a token-date index for the per-day charts. Triggers
    // keep the keys current whoever writes tokens or customers (issue, import).
    r#"
ALTER TABLE units ADD COLUMN credit_until INTEGER;
ALTER TABLE units ADD COLUMN last_token_at INTEGER;
ALTER TABLE units ADD COLUMN customer_name TEXT;
UPDATE units SET customer_name = (SELECT name FROM customers c WHERE c.id = units.customer_id),
                 last_token_at = (SELECT MAX(created_at) FROM tokens t WHERE t.unit_id = units.id);
-- Credit end as the ledger sees it (each token entered when issued): ADD_TIME extends from
-- the later of the old end and the issue time, SET_TIME restarts from the issue time.
CREATE TEMP TABLE credit_fold AS
WITH RECURSIVE seq AS (
    SELECT unit_id, type, COALESCE(days, 0) AS days, created_at,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY count) AS n
    FROM tokens
), fold(unit_id, n, credit) AS (
    SELECT unit_id, n, CASE type
        WHEN 'ADD_TIME' THEN created_at + CAST(ROUND(days * 86400) AS INTEGER)
        WHEN 'SET_TIME' THEN created_at + CAST(ROUND(days * 86400) AS INTEGER)
        ELSE NULL END
    FROM seq WHERE n = 1
    UNION ALL
    SELECT s.unit_id, s.n, CASE s.type
        WHEN 'ADD_TIME' THEN MAX(COALESCE(f.credit, 0), s.created_at) + CAST(ROUND(s.days * 86400) AS INTEGER)
        WHEN 'SET_TIME' THEN s.created_at + CAST(ROUND(s.days * 86400) AS INTEGER)
        ELSE f.credit END
    FROM fold f JOIN seq s ON s.unit_id = f.unit_id AND s.n = f.n + 1
)
SELECT unit_id, credit FROM fold f
WHERE n = (SELECT MAX(n) FROM fold g WHERE g.unit_id = f.unit_id);
UPDATE units SET credit_until = (SELECT credit FROM credit_fold c WHERE c.unit_id = units.id);
DROP TABLE credit_fold;
CREATE TRIGGER tokens_fleet_keys AFTER INSERT ON tokens BEGIN
    UPDATE units SET
        last_token_at = MAX(COALESCE(last_token_at, NEW.created_at), NEW.created_at),
        credit_until = CASE NEW.type
            WHEN 'ADD_TIME' THEN MAX(COALESCE(credit_until, 0), NEW.created_at)
                                 + CAST(ROUND(COALESCE(NEW.days, 0) * 86400) AS INTEGER)
            WHEN 'SET_TIME' THEN NEW.created_at + CAST(ROUND(COALESCE(NEW.days, 0) * 86400) AS INTEGER)
            ELSE credit_until END
    WHERE id = NEW.unit_id;
END;
CREATE TRIGGER units_customer_name_insert AFTER INSERT ON units WHEN NEW.customer_id IS NOT NULL BEGIN
    UPDATE units SET customer_name = (SELECT name FROM customers WHERE id = NEW.customer_id) WHERE id = NEW.id;
END;
CREATE TRIGGER units_customer_name_update AFTER UPDATE OF customer_id ON units BEGIN
    UPDATE units SET customer_name = (SELECT name FROM customers WHERE id = NEW.customer_id) WHERE id = NEW.id;
END;
CREATE TRIGGER customers_name_update AFTER UPDATE OF name ON customers BEGIN
    UPDATE units SET customer_name = NEW.name WHERE customer_id = NEW.id;
END;
CREATE INDEX units_by_credit_until ON units(credit_until, serial);
CREATE INDEX units_by_last_token ON units(last_token_at, serial);
CREATE INDEX units_by_customer_name ON units(customer_name COLLATE NOCASE, serial);
CREATE INDEX tokens_by_created ON tokens(created_at);
"#,
    // 3: where each cached chain repeats (firmware_core::token::find_cycle): cycle_start and
    // cycle_period NULL mean no cycle with max(start + 1, period) <= cycle_checked.
    r#"
ALTER TABLE chain_cache ADD COLUMN cycle_start INTEGER;
ALTER TABLE chain_cache ADD COLUMN cycle_period INTEGER;
ALTER TABLE chain_cache ADD COLUMN cycle_checked INTEGER NOT NULL DEFAULT 0;
"#,
];

/// Latest schema version this build knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Apply the missing steps in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), LedgerError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if migrate_in(&tx)? {
        tx.commit()?;
    }
    Ok(())
}

/// Apply the missing steps inside the caller's transaction; true when something changed.
pub(crate) fn migrate_in(tx: &rusqlite::Transaction<'_>) -> Result<bool, LedgerError> {
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(false);
    }
    for step in MIGRATIONS.iter().skip(version as usize) {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(true)
}
