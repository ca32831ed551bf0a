//! `espboot demo`: the whole chain on a fresh virtual device, narrated.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use esp_image::Chip;
use espboot_sim::demo::{run_demo, DemoObserver, DemoOptions, Step, DEMO_STEPS};

use crate::progress::{Progress, Unit};

/// Arguments of `espboot demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Chip to simulate.
    #[arg(long, default_value = "esp32c3")]
    target: String,
    /// Keep the keys, images and device in DIR (created; must be empty)
    /// instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Print one JSON report on stdout instead of the narration.
    #[arg(long)]
    json: bool,
}

/// Prints each step as it happens, and on a terminal keeps one bar over
/// all the steps below the narration, the power-cut sweep's count in its
/// message while the sweep runs.
struct Narrator {
    quiet: bool,
    bar: Progress,
}

impl DemoObserver for Narrator {
    fn start(&mut self, number: usize, title: &str) {
        if !self.quiet {
            self.bar.suspend(|| outln!("\n{number}. {title}"));
        }
        self.bar.set_message("");
    }

    fn finish(&mut self, step: &Step) {
        self.bar.inc();
        if self.quiet {
            return;
        }
        self.bar.suspend(|| {
            for line in &step.details {
                outln!("   {line}");
            }
            outln!("   {}", if step.ok { "ok" } else { "FAILED" });
        });
    }

    fn sweep_progress(&self, done: u64, total: u64) {
        self.bar
            .set_message(format!("(power-cut sweep {done}/{total})"));
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let chip: Chip = args.target.parse().context("--target")?;
    let temp;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--keep: cannot create {}", dir.display()))?;
            let mut entries = std::fs::read_dir(dir)
                .with_context(|| format!("--keep: cannot read {}", dir.display()))?;
            if entries.next().is_some() {
                bail!("--keep: {} is not empty", dir.display());
            }
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let quiet = args.json;
    if !quiet {
        outln!(
            "espboot demo: MCUboot with Secure Boot V2 and flash encryption on a virtual {chip}"
        );
    }
    let bar = if quiet {
        Progress::hidden()
    } else {
        Progress::new(Unit::Items, Some(DEMO_STEPS as u64), "demo steps")
    };
    let mut narrator = Narrator { quiet, bar };
    let report = run_demo(
        &DemoOptions {
            chip,
            dir: dir.clone(),
        },
        &mut narrator,
    )
    .map_err(anyhow::Error::msg)?;
    narrator.bar.finish();
    if quiet {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.ok {
        outln!("\nEvery step behaved as documented.");
        if args.keep.is_some() {
            outln!(
                "Keys, images and the device are in {} (try `espboot sim boot {}`).",
                dir.display(),
                dir.join("device").display()
            );
        }
    } else {
        outln!("\nA step did not behave as documented (see FAILED above).");
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
