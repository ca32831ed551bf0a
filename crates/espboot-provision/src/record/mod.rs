//! Run records: which device (MAC, chip) got which plan (SHA-256), on which
//! station and by which operator, and every step with its time, result and
//! what it burned or wrote (eFuse values, key purposes and Secure Boot key
//! digests, firmware hashes and versions).
//!
//! One schema and one set of statements ([`sql`]) over two small backends:
//! an SQLite file ([`Sqlite`], the default `provision.db`) and a PostgreSQL
//! database shared by several stations ([`Postgres`], `postgres://…`);
//! [`open`] picks one from `--db`. Every write is one transaction.
//!
//! A MAC is provisioned by one run at a time: starting a run claims the
//! device in the `claims` table (its primary key is the MAC), ending it
//! releases the claim. A second station finds the claim and is refused with
//! the station holding it; the same station takes over a claim whose process
//! is gone (a killed run being resumed).
//!
//! Never a private key or a flash-encryption key: key steps record the
//! block and purpose, and Secure Boot steps the public key digest.

mod postgres;
mod sql;
mod sqlite;

pub use self::postgres::Postgres;
pub use self::sqlite::Sqlite;

use std::path::Path;
use std::time::Duration;

use crate::events::now_ms;
use crate::steps::{Action, Step};

/// How long a station waits for a locked database or a connection.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a record could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The database refused an operation.
    #[error("record database {db}")]
    Database {
        /// The database (a URL without its password).
        db: String,
        /// What the database said.
        #[source]
        source: DbError,
    },
    /// The database stayed locked by another process past the timeout.
    #[error("record database {db} is locked by another process (gave up after waiting); try again when it is free")]
    Locked {
        /// The database.
        db: String,
    },
    /// The database server could not be reached.
    #[error("record database {db} cannot be reached")]
    Unreachable {
        /// The database (a URL without its password).
        db: String,
        /// What the client said.
        #[source]
        source: DbError,
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
    /// Another run holds the device.
    #[error(
        "device {mac} is being provisioned by station {station} (process {pid}, run {run}); \
             it is provisioned once: finish or resume it there"
    )]
    Claimed {
        /// The device.
        mac: String,
        /// The station holding it.
        station: String,
        /// Its process.
        pid: i64,
        /// Its run.
        run: i64,
    },
    /// A row did not have the shape the schema gives it.
    #[error("record database {db}: unexpected {what} in the records")]
    Corrupt {
        /// The database.
        db: String,
        /// What was wrong.
        what: &'static str,
    },
}

/// A backend's own error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL.
    #[error(transparent)]
    Postgres(#[from] ::postgres::Error),
}

/// A column value crossing the backend boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `BIGINT`.
    Int(i64),
    /// `TEXT`.
    Text(String),
    /// `NULL`.
    Null,
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

/// Statements inside one transaction.
pub trait Exec {
    /// Several statements without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), RecordError>;
    /// One statement; the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, RecordError>;
    /// One query; its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, RecordError>;
}

/// A database that runs [`sql`] in transactions.
pub trait Backend {
    /// The database's name for messages.
    fn name(&self) -> &str;
    /// The auto-numbered key column type.
    fn id_column(&self) -> &'static str;
    /// A statement that serialises schema creation across stations, if needed.
    fn schema_lock(&self) -> Option<String> {
        None
    }
    /// Runs `f` in one transaction, committed when it returns `Ok`.
    fn transaction<T>(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Exec) -> Result<T, RecordError>,
    ) -> Result<T, RecordError>;
}

/// Who records: the station's name, the operator, this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// The station (default: the host name).
    pub name: String,
    /// The operator (default: the login name).
    pub operator: String,
}

impl Station {
    /// This host and user.
    pub fn local() -> Station {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let operator = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        Station {
            name: if host.is_empty() {
                "unknown".to_owned()
            } else {
                host
            },
            operator,
        }
    }
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
    /// What it burned or wrote ([`step_detail`]).
    pub detail: String,
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
    /// The latest run's station.
    pub station: String,
    /// The latest run's operator.
    pub operator: String,
    /// When the device was first recorded (Unix milliseconds).
    pub first_ms: i64,
    /// When the latest run started.
    pub started_ms: i64,
    /// When it ended (none: still running or killed).
    pub finished_ms: Option<i64>,
    /// The latest run's outcome (`complete`, `interrupted`, `failed: …`;
    /// none: still running or killed).
    pub outcome: Option<String>,
    /// Steps of the latest run done now.
    pub done: u32,
    /// Steps of the latest run found already done.
    pub already_done: u32,
    /// eFuses burned and write-protected (`FIELD=0x…`, `FIELD write-protected`).
    pub efuses: Vec<String>,
    /// Keys: block and purpose, with the public key digest for Secure Boot.
    pub keys: Vec<String>,
    /// Firmware written: address, SHA-256 and MCUboot version.
    pub firmware: Vec<String>,
    /// The latest run's step journal.
    pub steps: Vec<StepRecord>,
}

/// Where records go.
pub trait RecordStore {
    /// Starts a run of `plan_sha256` on device `mac` and claims the device;
    /// refuses a device on record with another plan or claimed by another run.
    fn begin_run(&mut self, mac: &str, chip: &str, plan_sha256: &str) -> Result<i64, RecordError>;
    /// Records a step's result.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        run: i64,
        index: usize,
        seed_step: &str,
        kind: &str,
        command: &str,
        detail: &str,
        result: StepResult,
    ) -> Result<(), RecordError>;
    /// Ends a run with its outcome (`complete`, `failed: …`) and releases
    /// its claim.
    fn finish_run(&mut self, run: i64, outcome: &str) -> Result<(), RecordError>;
    /// Ends every run this store began and did not finish (a run that
    /// stopped on an error) with `outcome`.
    fn abandon(&mut self, outcome: &str) -> Result<(), RecordError>;
    /// The steps recorded for a run.
    fn run_steps(&mut self, run: i64) -> Result<Vec<StepRecord>, RecordError>;
    /// Every device with its latest run, by MAC.
    fn report(&mut self) -> Result<Vec<DeviceReport>, RecordError>;
}

/// Records in a [`Backend`]: the one code path of both databases.
#[derive(Debug)]
pub struct Store<B> {
    backend: B,
    station: Station,
    /// Runs begun here and not finished, with their MAC.
    open_runs: Vec<(i64, String)>,
}

/// Records in an SQLite file.
pub type SqliteStore = Store<Sqlite>;
/// Records in a PostgreSQL database.
pub type PostgresStore = Store<Postgres>;

/// Whether process `pid` on this host is gone.
fn process_gone(pid: i64) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

impl Store<Sqlite> {
    /// Opens (creating) the SQLite file at `path` as this host and user.
    pub fn open(path: &Path) -> Result<SqliteStore, RecordError> {
        Store::new(Sqlite::open(path, DEFAULT_TIMEOUT)?, Station::local())
    }
}

/// Opens the records named by `--db`: a `postgres://` or `postgresql://`
/// URL, else an SQLite file path. Checks that the database can be written
/// (creating the tables), so a locked or unreachable database fails here,
/// before anything is burned.
pub fn open(
    db: &str,
    station: Station,
    timeout: Duration,
) -> Result<Box<dyn RecordStore>, RecordError> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        Ok(Box::new(Store::new(
            Postgres::connect(db, timeout)?,
            station,
        )?))
    } else {
        Ok(Box::new(Store::new(
            Sqlite::open(Path::new(db), timeout)?,
            station,
        )?))
    }
}

fn int(db: &str, v: Option<&Value>) -> Result<i64, RecordError> {
    match v {
        Some(Value::Int(i)) => Ok(*i),
        _ => Err(RecordError::Corrupt {
            db: db.to_owned(),
            what: "non-integer",
        }),
    }
}

fn opt_int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

fn text(db: &str, v: Option<&Value>) -> Result<String, RecordError> {
    match v {
        Some(Value::Text(s)) => Ok(s.clone()),
        _ => Err(RecordError::Corrupt {
            db: db.to_owned(),
            what: "non-text",
        }),
    }
}

fn opt_text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

fn count(db: &str, v: Option<&Value>) -> Result<u32, RecordError> {
    Ok(u32::try_from(int(db, v)?).unwrap_or(u32::MAX))
}

impl<B: Backend> Store<B> {
    /// Creates the tables in `backend` (one transaction).
    pub fn new(mut backend: B, station: Station) -> Result<Store<B>, RecordError> {
        let schema = sql::schema(backend.id_column());
        let lock = backend.schema_lock();
        backend.transaction(&mut |tx| {
            if let Some(lock) = &lock {
                tx.execute(lock, &[])?;
            }
            tx.batch(&schema)
        })?;
        Ok(Store {
            backend,
            station,
            open_runs: Vec::new(),
        })
    }

    fn steps_of(tx: &mut dyn Exec, db: &str, run: i64) -> Result<Vec<StepRecord>, RecordError> {
        tx.query(sql::RUN_STEPS, &[run.into()])?
            .iter()
            .map(|r| {
                Ok(StepRecord {
                    index: usize::try_from(int(db, r.first())?).unwrap_or(0),
                    seed_step: text(db, r.get(1))?,
                    kind: text(db, r.get(2))?,
                    result: text(db, r.get(3))?,
                    detail: text(db, r.get(4))?,
                })
            })
            .collect()
    }
}

impl<B: Backend> RecordStore for Store<B> {
    fn begin_run(&mut self, mac: &str, chip: &str, plan_sha256: &str) -> Result<i64, RecordError> {
        let db = self.backend.name().to_owned();
        let station = self.station.clone();
        let pid = i64::from(std::process::id());
        let run = self.backend.transaction(&mut |tx| {
            let now = now_ms();
            tx.execute(
                sql::INSERT_DEVICE,
                &[mac.into(), chip.into(), plan_sha256.into(), now.into()],
            )?;
            let recorded = tx.query(sql::DEVICE_PLAN, &[mac.into()])?;
            let recorded = text(&db, recorded.first().and_then(|r| r.first()))?;
            if recorded != plan_sha256 {
                return Err(RecordError::OtherPlan {
                    mac: mac.to_owned(),
                    recorded,
                    plan: plan_sha256.to_owned(),
                });
            }
            let run = tx.query(
                sql::INSERT_RUN,
                &[
                    mac.into(),
                    plan_sha256.into(),
                    station.name.as_str().into(),
                    station.operator.as_str().into(),
                    now.into(),
                ],
            )?;
            let run = int(&db, run.first().and_then(|r| r.first()))?;
            let claimed = tx.execute(
                sql::INSERT_CLAIM,
                &[
                    mac.into(),
                    station.name.as_str().into(),
                    pid.into(),
                    run.into(),
                    now.into(),
                ],
            )?;
            if claimed == 1 {
                return Ok(run);
            }
            let holder = tx.query(sql::CLAIM_HOLDER, &[mac.into()])?;
            let holder = holder.first().ok_or(RecordError::Corrupt {
                db: db.clone(),
                what: "claim without a row",
            })?;
            let (held_by, held_pid, held_run) = (
                text(&db, holder.first())?,
                int(&db, holder.get(1))?,
                int(&db, holder.get(2))?,
            );
            // this station's own claim whose process is gone: a killed run
            if held_by == station.name && process_gone(held_pid) {
                let taken = tx.execute(
                    sql::TAKE_OVER_CLAIM,
                    &[
                        pid.into(),
                        run.into(),
                        now.into(),
                        mac.into(),
                        held_by.as_str().into(),
                        held_pid.into(),
                        held_run.into(),
                    ],
                )?;
                if taken == 1 {
                    return Ok(run);
                }
            }
            Err(RecordError::Claimed {
                mac: mac.to_owned(),
                station: held_by,
                pid: held_pid,
                run: held_run,
            })
        })?;
        self.open_runs.push((run, mac.to_owned()));
        Ok(run)
    }

    fn step(
        &mut self,
        run: i64,
        index: usize,
        seed_step: &str,
        kind: &str,
        command: &str,
        detail: &str,
        result: StepResult,
    ) -> Result<(), RecordError> {
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        self.backend.transaction(&mut |tx| {
            tx.execute(
                sql::INSERT_STEP,
                &[
                    run.into(),
                    index.into(),
                    seed_step.into(),
                    kind.into(),
                    command.into(),
                    detail.into(),
                    result.as_str().into(),
                    now_ms().into(),
                ],
            )
            .map(drop)
        })
    }

    fn finish_run(&mut self, run: i64, outcome: &str) -> Result<(), RecordError> {
        let mac = self
            .open_runs
            .iter()
            .find(|(id, _)| *id == run)
            .map(|(_, mac)| mac.clone());
        self.backend.transaction(&mut |tx| {
            tx.execute(
                sql::FINISH_RUN,
                &[now_ms().into(), outcome.into(), run.into()],
            )?;
            if let Some(mac) = &mac {
                tx.execute(sql::RELEASE_CLAIM, &[mac.as_str().into(), run.into()])?;
            }
            Ok(())
        })?;
        self.open_runs.retain(|(id, _)| *id != run);
        Ok(())
    }

    fn abandon(&mut self, outcome: &str) -> Result<(), RecordError> {
        let open: Vec<i64> = self.open_runs.iter().map(|(id, _)| *id).collect();
        for run in open {
            self.finish_run(run, outcome)?;
        }
        Ok(())
    }

    fn run_steps(&mut self, run: i64) -> Result<Vec<StepRecord>, RecordError> {
        let db = self.backend.name().to_owned();
        self.backend
            .transaction(&mut |tx| Self::steps_of(tx, &db, run))
    }

    fn report(&mut self) -> Result<Vec<DeviceReport>, RecordError> {
        let db = self.backend.name().to_owned();
        self.backend.transaction(&mut |tx| {
            let rows = tx.query(sql::REPORT, &[])?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let latest = int(&db, r.get(4))?;
                let steps = Self::steps_of(tx, &db, latest)?;
                let mut device = DeviceReport {
                    mac: text(&db, r.first())?,
                    chip: text(&db, r.get(1))?,
                    plan_sha256: text(&db, r.get(2))?,
                    runs: count(&db, r.get(3))?,
                    station: text(&db, r.get(5))?,
                    operator: text(&db, r.get(6))?,
                    first_ms: int(&db, r.get(7))?,
                    started_ms: int(&db, r.get(8))?,
                    finished_ms: opt_int(r.get(9)),
                    outcome: opt_text(r.get(10)),
                    done: count(&db, r.get(11))?,
                    already_done: count(&db, r.get(12))?,
                    efuses: Vec::new(),
                    keys: Vec::new(),
                    firmware: Vec::new(),
                    steps: Vec::new(),
                };
                for s in &steps {
                    let list = match s.kind.as_str() {
                        "BurnEfuse" | "WriteProtect" => &mut device.efuses,
                        "BurnKey" | "BurnKeyDigest" => &mut device.keys,
                        "FlashWrite" => &mut device.firmware,
                        _ => continue,
                    };
                    if s.result != StepResult::Host.as_str() && !s.detail.is_empty() {
                        list.push(s.detail.clone());
                    }
                }
                device.steps = steps;
                out.push(device);
            }
            Ok(out)
        })
    }
}

/// What a step burned or wrote, for the record: eFuse values, key blocks and
/// purposes (never key bytes), Secure Boot public key digests, firmware
/// addresses with their SHA-256 and MCUboot version.
pub fn step_detail(step: &Step, digests: &[[u8; 32]]) -> String {
    let hex = |b: &[u8]| esp_efuse::hexify(b, "");
    match &step.action {
        Action::BurnEfuse { field, value } => format!("{field}={value:#x}"),
        Action::WriteProtect { field } => format!("{field} write-protected"),
        Action::BurnKey {
            block,
            purpose,
            with_digest,
            ..
        } => {
            let key = match purpose {
                Some(p) => format!("{block} {p} (flash encryption)"),
                None => format!("{block} (flash encryption)"),
            };
            match (with_digest, digests.first()) {
                (Some(_), Some(d)) => format!("{key}; secure boot digest0 sha256:{}", hex(d)),
                _ => key,
            }
        }
        Action::BurnKeyDigest {
            index,
            block,
            purpose,
        } => {
            let digest = digests.get(*index).map_or(String::new(), |d| hex(d));
            match purpose {
                Some(p) => format!("{block} {p} sha256:{digest}"),
                None => format!("{block} digest{index} sha256:{digest}"),
            }
        }
        Action::FlashWrite {
            kind,
            file,
            address,
            encrypt,
        } => {
            use sha2::Digest;
            let encrypted = if *encrypt { " encrypted" } else { "" };
            match std::fs::read(file) {
                Ok(data) => {
                    let version = mcuboot_image::ImageHeader::parse(&data)
                        .map(|h| format!(" version {}", h.version))
                        .unwrap_or_default();
                    format!(
                        "{kind:?} {address:#x} sha256:{}{version}{encrypted}",
                        hex(&sha2::Sha256::digest(&data))
                    )
                }
                Err(_) => format!("{kind:?} {address:#x} {}{encrypted}", file.display()),
            }
        }
        Action::EraseFlash
        | Action::GenerateFlashKey { .. }
        | Action::DeleteFlashKey
        | Action::DigestKey { .. } => String::new(),
    }
}
