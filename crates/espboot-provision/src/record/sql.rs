//! The SQL both backends run: one schema, one set of statements.
//!
//! Parameters are written `$1`, `$2`, … in order of first use: PostgreSQL
//! numbers them so, and SQLite takes `$1` as a named parameter whose index
//! is its order of first appearance, so positional values bind the same way
//! on both. Every integer column is `BIGINT` because PostgreSQL checks the
//! Rust type of each value against the column (`i64` is `BIGINT`), while
//! SQLite stores any integer the same.

/// The tables; `{ID}` is the backend's auto-numbered key column type.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    mac         TEXT PRIMARY KEY,
    chip        TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    first_ms    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id          {ID},
    mac         TEXT NOT NULL REFERENCES devices(mac),
    plan_sha256 TEXT NOT NULL,
    station     TEXT NOT NULL,
    operator    TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    finished_ms BIGINT,
    outcome     TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id      BIGINT NOT NULL REFERENCES runs(id),
    step_index  BIGINT NOT NULL,
    seed_step   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    command     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    result      TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    PRIMARY KEY (run_id, step_index)
);
CREATE TABLE IF NOT EXISTS claims (
    mac         TEXT PRIMARY KEY REFERENCES devices(mac),
    station     TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES runs(id),
    claimed_ms  BIGINT NOT NULL
);
";

/// The schema with the backend's key column.
pub(super) fn schema(id_column: &str) -> String {
    SCHEMA.replace("{ID}", id_column)
}

pub(super) const INSERT_DEVICE: &str =
    "INSERT INTO devices (mac, chip, plan_sha256, first_ms) VALUES ($1, $2, $3, $4)
     ON CONFLICT (mac) DO NOTHING";
pub(super) const DEVICE_PLAN: &str = "SELECT plan_sha256 FROM devices WHERE mac = $1";
pub(super) const INSERT_RUN: &str =
    "INSERT INTO runs (mac, plan_sha256, station, operator, started_ms) VALUES ($1, $2, $3, $4, $5)
     RETURNING id";
/// The claim: the `claims` primary key lets one run hold a MAC at a time.
pub(super) const INSERT_CLAIM: &str =
    "INSERT INTO claims (mac, station, pid, run_id, claimed_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (mac) DO NOTHING";
pub(super) const CLAIM_HOLDER: &str = "SELECT station, pid, run_id FROM claims WHERE mac = $1";
/// Takes over a claim whose holder is known gone; the old holder in the
/// `WHERE` makes two takers race on one row: one updates it, the other none.
pub(super) const TAKE_OVER_CLAIM: &str = "UPDATE claims SET pid = $1, run_id = $2, claimed_ms = $3
     WHERE mac = $4 AND station = $5 AND pid = $6 AND run_id = $7";
pub(super) const RELEASE_CLAIM: &str = "DELETE FROM claims WHERE mac = $1 AND run_id = $2";
pub(super) const INSERT_STEP: &str =
    "INSERT INTO steps (run_id, step_index, seed_step, kind, command, detail, result, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(super) const FINISH_RUN: &str = "UPDATE runs SET finished_ms = $1, outcome = $2 WHERE id = $3";
pub(super) const RUN_STEPS: &str =
    "SELECT step_index, seed_step, kind, result, detail FROM steps WHERE run_id = $1 ORDER BY step_index";
/// Every device with its latest run (the highest id) and the counts of it.
pub(super) const REPORT: &str = "
SELECT d.mac, d.chip, d.plan_sha256,
       (SELECT COUNT(*) FROM runs r WHERE r.mac = d.mac),
       l.id, l.station, l.operator, d.first_ms, l.started_ms, l.finished_ms, l.outcome,
       (SELECT COUNT(*) FROM steps s WHERE s.run_id = l.id AND s.result = 'done'),
       (SELECT COUNT(*) FROM steps s WHERE s.run_id = l.id AND s.result = 'already_done')
FROM devices d
JOIN runs l ON l.id = (SELECT MAX(r.id) FROM runs r WHERE r.mac = d.mac)
ORDER BY d.mac";
