//! Run records: which device (MAC, chip) got which plan (SHA-256), and
//! every step with its time and result.
//!
//! The schema is plain SQL with no SQLite-only types (integers, text;
//! times as Unix milliseconds), so a PostgreSQL store can implement
//! [`RecordStore`] with the same tables. Never a private key or a
//! flash-encryption key: steps are recorded by type, seed number and the
//! equivalent command line, which names key files, not key bytes.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// The tables (SQLite and PostgreSQL alike).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    mac         TEXT PRIMARY KEY,
    chip        TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    first_ms    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    mac         TEXT NOT NULL REFERENCES devices(mac),
    plan_sha256 TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    finished_ms BIGINT,
    outcome     TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    step_index  INTEGER NOT NULL,
    seed_step   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    command     TEXT NOT NULL,
    result      TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    PRIMARY KEY (run_id, step_index)
);
";

/// Why a record could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The database could not be opened, is locked, or refused a statement.
    #[error("record database {path}")]
    Sqlite {
        /// The database.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The device was provisioned with another plan.
    #[error("device {mac} is recorded with plan {recorded}, this plan is {plan}")]
    OtherPlan {
        /// The device.
        mac: String,
        /// The plan hash on record.
        recorded: String,
        /// This plan's hash.
        plan: String,
    },
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepResult {
    /// Done now and verified on the device.
    Done,
    /// Found done on the device (an earlier, interrupted run), not repeated.
    AlreadyDone,
    /// A host step.
    Host,
}

impl StepResult {
    /// The text stored.
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Done => "done",
            StepResult::AlreadyDone => "already_done",
            StepResult::Host => "host",
        }
    }
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepRecord {
    /// Position in the plan.
    pub index: usize,
    /// The seed's step number.
    pub seed_step: String,
    /// The step type.
    pub kind: String,
    /// `done`, `already_done` or `host`.
    pub result: String,
}

/// One device's line of `provision report`: its latest run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceReport {
    /// The MAC.
    pub mac: String,
    /// The chip.
    pub chip: String,
    /// The plan's SHA-256.
    pub plan_sha256: String,
    /// Runs recorded (more than one: resumed).
    pub runs: u32,
    /// The latest run's outcome (`complete`, `interrupted`, none: still running or killed).
    pub outcome: Option<String>,
    /// Steps of the latest run done now.
    pub done: u32,
    /// Steps of the latest run found already done.
    pub already_done: u32,
}

/// Where records go.
pub trait RecordStore {
    /// Starts a run of `plan_sha256` on device `mac`; refuses a device on
    /// record with another plan.
    fn begin_run(&mut self, mac: &str, chip: &str, plan_sha256: &str) -> Result<i64, RecordError>;
    /// Records a step's result.
    fn step(
        &mut self,
        run: i64,
        index: usize,
        seed_step: &str,
        kind: &str,
        command: &str,
        result: StepResult,
    ) -> Result<(), RecordError>;
    /// Ends a run with its outcome (`complete`, `failed: …`).
    fn finish_run(&mut self, run: i64, outcome: &str) -> Result<(), RecordError>;
    /// The steps recorded for a run.
    fn run_steps(&self, run: i64) -> Result<Vec<StepRecord>, RecordError>;
    /// Every device with its latest run, by MAC.
    fn report(&self) -> Result<Vec<DeviceReport>, RecordError>;
}

/// Records in an SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Connection,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SqliteStore {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, RecordError> {
        let name = path.display().to_string();
        let err = |source| RecordError::Sqlite {
            path: name.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        // another station writing: wait rather than fail at once
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(SqliteStore { path: name, conn })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> RecordError + '_ {
        |source| RecordError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

impl RecordStore for SqliteStore {
    fn begin_run(&mut self, mac: &str, chip: &str, plan_sha256: &str) -> Result<i64, RecordError> {
        let path = self.path.clone();
        let err = |source| RecordError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let recorded: Option<String> = tx
            .query_row(
                "SELECT plan_sha256 FROM devices WHERE mac = ?1",
                params![mac],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        match recorded {
            Some(recorded) if recorded != plan_sha256 => {
                return Err(RecordError::OtherPlan {
                    mac: mac.to_owned(),
                    recorded,
                    plan: plan_sha256.to_owned(),
                })
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO devices (mac, chip, plan_sha256, first_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![mac, chip, plan_sha256, now_ms()],
                )
                .map_err(err)?;
            }
        }
        tx.execute(
            "INSERT INTO runs (mac, plan_sha256, started_ms) VALUES (?1, ?2, ?3)",
            params![mac, plan_sha256, now_ms()],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(err)?;
        Ok(id)
    }

    fn step(
        &mut self,
        run: i64,
        index: usize,
        seed_step: &str,
        kind: &str,
        command: &str,
        result: StepResult,
    ) -> Result<(), RecordError> {
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO steps (run_id, step_index, seed_step, kind, command, result, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run,
                    index,
                    seed_step,
                    kind,
                    command,
                    result.as_str(),
                    now_ms()
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn finish_run(&mut self, run: i64, outcome: &str) -> Result<(), RecordError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_ms = ?1, outcome = ?2 WHERE id = ?3",
                params![now_ms(), outcome, run],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn run_steps(&self, run: i64) -> Result<Vec<StepRecord>, RecordError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT step_index, seed_step, kind, result FROM steps WHERE run_id = ?1 ORDER BY step_index",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok(StepRecord {
                    index: usize::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    seed_step: r.get(1)?,
                    kind: r.get(2)?,
                    result: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    fn report(&self) -> Result<Vec<DeviceReport>, RecordError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.mac, d.chip, d.plan_sha256,
                        (SELECT COUNT(*) FROM runs r WHERE r.mac = d.mac),
                        l.outcome,
                        (SELECT COUNT(*) FROM steps s WHERE s.run_id = l.id AND s.result = 'done'),
                        (SELECT COUNT(*) FROM steps s WHERE s.run_id = l.id AND s.result = 'already_done')
                 FROM devices d
                 JOIN runs l ON l.id = (SELECT MAX(id) FROM runs r WHERE r.mac = d.mac)
                 ORDER BY d.mac",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DeviceReport {
                    mac: r.get(0)?,
                    chip: r.get(1)?,
                    plan_sha256: r.get(2)?,
                    runs: r.get(3)?,
                    outcome: r.get(4)?,
                    done: r.get(5)?,
                    already_done: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }
}
