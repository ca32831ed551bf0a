//! `espboot demo`: the whole chain on a fresh virtual device, narrated.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use esp_image::Chip;
use espboot_sim::demo::{run_demo, DemoObserver, DemoOptions, Step};
use indicatif::{ProgressBar, ProgressStyle};

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

/// Prints each step as it happens; a progress bar during the power-cut
/// sweep when stderr is a terminal.
struct Narrator {
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl DemoObserver for Narrator {
    fn start(&mut self, number: usize, title: &str) {
        if !self.quiet {
            outln!("\n{number}. {title}");
        }
    }

    fn finish(&mut self, step: &Step) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        for line in &step.details {
            outln!("   {line}");
        }
        outln!("   {}", if step.ok { "ok" } else { "FAILED" });
    }

    fn sweep_progress(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
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
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("   power-cut sweep {bar:40} {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut narrator = Narrator { quiet, bar };
    if !quiet {
        outln!(
            "espboot demo: MCUboot with Secure Boot V2 and flash encryption on a virtual {chip}"
        );
    }
    let report = run_demo(
        &DemoOptions {
            chip,
            dir: dir.clone(),
        },
        &mut narrator,
    )
    .map_err(anyhow::Error::msg)?;
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
