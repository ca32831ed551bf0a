//! `espboot provision`: seed 003's security workflows as a plan
//! (library: `espboot-provision`; this module maps arguments and prints).

use std::path::PathBuf;

use anyhow::Context;
use std::process::ExitCode;

use crate::progress::{Progress, Unit};

use espboot_provision::device::{Device, VirtualDevice};
use espboot_provision::events::{Event, StepState};
use espboot_provision::plan::Plan;
use espboot_provision::port::PortDevice;
use espboot_provision::record::{self, DeviceReport, Station};
use espboot_provision::run::{self as executor, RunOptions};
use espboot_provision::steps;

/// Arguments of `espboot provision`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ProvisionCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ProvisionCommand {
    /// Print the plan's steps in seed 003's order, each with the
    /// espefuse/esptool command line that does the same.
    Plan {
        /// The plan file (TOML).
        file: PathBuf,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the plan and its files before anything is burned (file-only):
    /// step order, key blocks and lengths, app signing and load segments,
    /// the bootloader's chip, download mode before the last write.
    Check {
        /// The plan file (TOML).
        file: PathBuf,
        /// Findings as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Also read the chip on this serial port (download mode) and check
        /// it is the plan's chip with its eFuses in a state the plan starts
        /// or resumes from.
        #[arg(long)]
        port: Option<String>,
        /// The port's baud rate.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
    },
    /// Run the plan on a device: checks first, then each step that the
    /// device does not already show done, verified and recorded. Run it
    /// again after an interruption to resume.
    Run {
        /// The plan file (TOML).
        file: PathBuf,
        /// A virtual device directory (`espboot sim new`).
        #[arg(long, required_unless_present = "port", conflicts_with = "port")]
        device: Option<PathBuf>,
        /// A chip in download mode on this serial port.
        #[arg(long)]
        port: Option<String>,
        /// The port's baud rate.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        #[command(flatten)]
        db: DbArgs,
        /// This station's name in the records (default: the host name).
        #[arg(long)]
        station: Option<String>,
        /// The operator's name in the records (default: the login name).
        #[arg(long)]
        operator: Option<String>,
        /// One JSON event per line on stdout as the run goes (`run`, `step`
        /// as each starts and ends, then `summary`, or `error`), for factory
        /// systems; no progress bar.
        #[arg(long)]
        json: bool,
        /// Fault injection: stop after this many device actions, before
        /// recording the last (what a killed run leaves).
        #[arg(long, hide = true)]
        stop_after: Option<usize>,
        /// Fault injection: kill this process (SIGKILL) after this many
        /// device actions, before recording the last.
        #[arg(long, hide = true, conflicts_with = "stop_after")]
        kill_after: Option<usize>,
    },
    /// List the recorded devices with their latest run.
    Report {
        #[command(flatten)]
        db: DbArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
        /// Short for `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
}

/// Where the records are.
#[derive(Debug, clap::Args)]
struct DbArgs {
    /// The record database: an SQLite file, or a PostgreSQL URL
    /// (`postgres://user@host/db`) shared by several stations.
    #[arg(long = "db", visible_alias = "record", default_value = "provision.db")]
    db: String,
    /// Seconds to wait for a locked database or a connection.
    #[arg(long, default_value_t = 5)]
    db_timeout: u64,
}

impl DbArgs {
    fn is_url(&self) -> bool {
        self.db.starts_with("postgres://") || self.db.starts_with("postgresql://")
    }

    fn open(&self, station: Station) -> anyhow::Result<Box<dyn record::RecordStore>> {
        Ok(record::open(
            &self.db,
            station,
            std::time::Duration::from_secs(self.db_timeout),
        )?)
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Table,
    Json,
    Csv,
}

/// Runs `espboot provision`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ProvisionCommand::Plan { file, json } => {
            let plan = Plan::load(&file)?;
            let steps = steps::steps(&plan)?;
            if json {
                let doc = serde_json::json!({
                    "chip": plan.chip.name(),
                    "steps": steps.iter().map(|s| s.to_json(plan.chip)).collect::<Vec<_>>(),
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                for (i, step) in steps.iter().enumerate() {
                    let stage = stage_abbrev(step.stage.key());
                    let host = if step.action.on_device() {
                        ""
                    } else {
                        " (host)"
                    };
                    outln!(
                        "{:>2}. {stage} {:<5} {}{host}: {}",
                        i + 1,
                        step.seed_step,
                        step.action.kind(),
                        step.command(plan.chip)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ProvisionCommand::Check {
            file,
            json,
            port,
            baud,
        } => {
            let plan = Plan::load(&file)?;
            let mut findings = espboot_provision::check::check(&plan);
            if let Some(port) = port {
                let efuses = PortDevice::connect(&port, baud)
                    .and_then(|mut dev| dev.efuses())
                    .with_context(|| format!("--port {port}: reading the chip"))?;
                findings.extend(espboot_provision::check::check_device(&plan, &efuses));
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&findings)?);
            } else if findings.is_empty() {
                outln!("{}: no problems found", file.display());
            }
            if !json {
                for finding in &findings {
                    eprintln!("error: {}", finding.message);
                }
            }
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ProvisionCommand::Run {
            file,
            device,
            port,
            baud,
            db,
            station,
            operator,
            json,
            stop_after,
            kill_after,
        } => {
            let name = match (&device, &port) {
                (Some(device), _) => device.display().to_string(),
                (None, Some(port)) => port.clone(),
                (None, None) => anyhow::bail!("--device or --port is required"),
            };
            let mut seen = Seen::default();
            let target = Target { device, port, baud };
            let opts = RunOptions {
                stop_after: stop_after.or(kill_after),
                kill: kill_after.is_some(),
            };
            let local = Station::local();
            let station = Station {
                name: station.unwrap_or(local.name),
                operator: operator.unwrap_or(local.operator),
            };
            match provision_run(&file, &target, &name, &db, station, opts, json, &mut seen) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(err) => {
                    if json {
                        // the factory system's stream ends with the error too
                        let step = err
                            .downcast_ref::<executor::RunError>()
                            .and_then(executor::RunError::step)
                            .or(seen.step);
                        let event = Event::error(&name, seen.mac, step, crate::one_line(&err));
                        outln!("{}", serde_json::to_string(&event)?);
                    }
                    Err(err)
                }
            }
        }
        ProvisionCommand::Report { db, format, json } => {
            if !db.is_url() && !std::path::Path::new(&db.db).exists() {
                anyhow::bail!("record database {}: no such file", db.db);
            }
            let rows = db.open(Station::local())?.report()?;
            let format = if json { ReportFormat::Json } else { format };
            match format {
                ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
                ReportFormat::Csv => {
                    outln!("{}", CSV_COLUMNS.join(","));
                    for r in &rows {
                        let line: Vec<String> = csv_row(r).iter().map(|f| csv_field(f)).collect();
                        outln!("{}", line.join(","));
                    }
                }
                ReportFormat::Table => {
                    outln!(
                        "{:<17}  {:<8}  {:<12}  {:<10}  {:<20}  {:>4}  {:<11}  {:>4}  {:>12}",
                        "MAC",
                        "CHIP",
                        "STATION",
                        "OPERATOR",
                        "FINISHED (UTC)",
                        "RUNS",
                        "OUTCOME",
                        "DONE",
                        "ALREADY DONE"
                    );
                    for r in &rows {
                        outln!(
                            "{:<17}  {:<8}  {:<12}  {:<10}  {:<20}  {:>4}  {:<11}  {:>4}  {:>12}",
                            r.mac,
                            r.chip,
                            r.station,
                            r.operator,
                            r.finished_ms.map_or_else(|| "-".to_owned(), utc),
                            r.runs,
                            r.outcome.as_deref().unwrap_or("-"),
                            r.done,
                            r.already_done
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where `provision run` finds its device.
struct Target {
    /// A virtual device directory.
    device: Option<PathBuf>,
    /// A serial port.
    port: Option<String>,
    /// The port's baud rate.
    baud: u32,
}

/// What the events of a run showed so far, for its error event.
#[derive(Debug, Default)]
struct Seen {
    /// The device's MAC, once read.
    mac: Option<String>,
    /// The last step that started.
    step: Option<usize>,
}

/// `FE` or `SB`, as `provision plan` prints a step's workflow.
fn stage_abbrev(stage: &str) -> &'static str {
    match stage {
        "flash_encryption" => "FE",
        _ => "SB",
    }
}

/// `provision run`: the records, the device, then the run, its events shown
/// as a progress bar on a terminal or printed one JSON line each.
#[allow(clippy::too_many_arguments)]
fn provision_run(
    file: &std::path::Path,
    target: &Target,
    name: &str,
    db: &DbArgs,
    station: Station,
    opts: RunOptions,
    json: bool,
    seen: &mut Seen,
) -> anyhow::Result<()> {
    let plan = Plan::load(file)?;
    // the database first: locked or unreachable fails before the device is touched
    let mut store = db.open(station)?;
    let mut dev: Box<dyn Device> = match (&target.device, &target.port) {
        (Some(device), _) => Box::new(VirtualDevice::new(device)),
        (None, Some(port)) => Box::new(
            PortDevice::connect(port, target.baud)
                .with_context(|| format!("--port {port}: connecting"))?,
        ),
        (None, None) => anyhow::bail!("--device or --port is required"),
    };
    let progress = if json {
        Progress::hidden()
    } else {
        Progress::new(Unit::Items, None, name)
    };
    let mut observer = |event: &Event| {
        match event {
            Event::Run { mac, steps, .. } => {
                seen.mac = Some(mac.clone());
                progress.set_length(u64::try_from(*steps).unwrap_or(u64::MAX));
            }
            Event::Step {
                index,
                stage,
                seed_step,
                kind,
                name,
                state,
                ..
            } => match state {
                StepState::Started => {
                    seen.step = Some(*index);
                    // the step as `provision plan` names it
                    progress.set_message(format!(
                        "{} {seed_step} {kind}: {name}",
                        stage_abbrev(stage)
                    ));
                }
                StepState::Failed => {}
                _ => progress.set_position(u64::try_from(*index).unwrap_or(u64::MAX)),
            },
            _ => {}
        }
        if json {
            if let Ok(line) = serde_json::to_string(event) {
                outln!("{line}");
            }
        }
    };
    let report = match executor::run_observed(
        &plan,
        dev.as_mut(),
        store.as_mut(),
        opts,
        name,
        &mut observer,
    ) {
        Ok(report) => report,
        Err(err) => {
            progress.abandon();
            // the run's record ends with why, and its claim is released;
            // the run's own error is the one reported
            let _ = store.abandon(&format!("failed: {err}"));
            return Err(err.into());
        }
    };
    progress.finish();
    if !json {
        outln!(
            "{}: {} ({}): complete, {} step(s) done, {} found already done",
            name,
            plan.chip.name(),
            report.mac,
            report.done,
            report.already_done
        );
    }
    Ok(())
}

/// `provision report --format csv` columns.
const CSV_COLUMNS: [&str; 15] = [
    "mac",
    "chip",
    "station",
    "operator",
    "first_recorded",
    "started",
    "finished",
    "efuses",
    "keys",
    "firmware",
    "plan_sha256",
    "runs",
    "outcome",
    "done",
    "already_done",
];

fn csv_row(r: &DeviceReport) -> [String; 15] {
    [
        r.mac.clone(),
        r.chip.clone(),
        r.station.clone(),
        r.operator.clone(),
        utc(r.first_ms),
        utc(r.started_ms),
        r.finished_ms.map(utc).unwrap_or_default(),
        r.efuses.join("; "),
        r.keys.join("; "),
        r.firmware.join("; "),
        r.plan_sha256.clone(),
        r.runs.to_string(),
        r.outcome.clone().unwrap_or_default(),
        r.done.to_string(),
        r.already_done.to_string(),
    ]
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), by the days-to-civil
/// conversion of H. Hinnant's "chrono-Compatible Low-Level Date Algorithms".
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}
