//! `espboot provision`: seed 003's security workflows as a plan
//! (library: `espboot-provision`; this module maps arguments and prints).

use std::path::PathBuf;

use anyhow::Context;
use std::process::ExitCode;

use espboot_provision::device::{Device, VirtualDevice};
use espboot_provision::plan::Plan;
use espboot_provision::port::PortDevice;
use espboot_provision::record::{RecordStore, SqliteStore};
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
        /// The record database (SQLite).
        #[arg(long, default_value = "provision.db")]
        record: PathBuf,
        /// The result as JSON.
        #[arg(long)]
        json: bool,
        /// Fault injection: stop after this many device actions, before
        /// recording the last (what a killed run leaves).
        #[arg(long, hide = true)]
        stop_after: Option<usize>,
    },
    /// List the recorded devices with their latest run.
    Report {
        /// The record database (SQLite).
        #[arg(long, default_value = "provision.db")]
        record: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
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
                    let stage = match step.stage {
                        espboot_provision::plan::Stage::FlashEncryption => "FE",
                        espboot_provision::plan::Stage::SecureBoot => "SB",
                    };
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
            record,
            json,
            stop_after,
        } => {
            let plan = Plan::load(&file)?;
            let mut store = SqliteStore::open(&record)?;
            let (mut dev, name): (Box<dyn Device>, String) = match (device, port) {
                (Some(device), _) => (
                    Box::new(VirtualDevice::new(&device)),
                    device.display().to_string(),
                ),
                (None, Some(port)) => (
                    Box::new(
                        PortDevice::connect(&port, baud)
                            .with_context(|| format!("--port {port}: connecting"))?,
                    ),
                    port,
                ),
                (None, None) => anyhow::bail!("--device or --port is required"),
            };
            let report = executor::run(&plan, dev.as_mut(), &mut store, RunOptions { stop_after })?;
            if json {
                let doc = serde_json::json!({
                    "run_id": report.run_id,
                    "mac": report.mac,
                    "done": report.done,
                    "already_done": report.already_done,
                    "outcome": "complete",
                });
                outln!("{doc}");
            } else {
                outln!(
                    "{}: {} ({}): complete, {} step(s) done, {} found already done",
                    name,
                    plan.chip.name(),
                    report.mac,
                    report.done,
                    report.already_done
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ProvisionCommand::Report { record, format } => {
            if !record.exists() {
                anyhow::bail!("record database {}: no such file", record.display());
            }
            let store = SqliteStore::open(&record)?;
            let rows = store.report()?;
            match format {
                ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
                ReportFormat::Csv => {
                    outln!("mac,chip,plan_sha256,runs,outcome,done,already_done");
                    for r in &rows {
                        outln!(
                            "{},{},{},{},{},{},{}",
                            r.mac,
                            r.chip,
                            r.plan_sha256,
                            r.runs,
                            r.outcome.as_deref().unwrap_or(""),
                            r.done,
                            r.already_done
                        );
                    }
                }
                ReportFormat::Table => {
                    outln!(
                        "{:<17}  {:<8}  {:<12}  {:>4}  {:<11}  {:>4}  {:>12}",
                        "MAC",
                        "CHIP",
                        "PLAN",
                        "RUNS",
                        "OUTCOME",
                        "DONE",
                        "ALREADY DONE"
                    );
                    for r in &rows {
                        outln!(
                            "{:<17}  {:<8}  {:<12}  {:>4}  {:<11}  {:>4}  {:>12}",
                            r.mac,
                            r.chip,
                            r.plan_sha256.get(..12).unwrap_or(&r.plan_sha256),
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
