//! `espboot provision`: seed 003's security workflows as a plan
//! (library: `espboot-provision`; this module maps arguments and prints).

use std::path::PathBuf;
use std::process::ExitCode;

use espboot_provision::plan::Plan;
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
    }
}
