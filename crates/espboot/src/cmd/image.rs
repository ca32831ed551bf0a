//! `espboot image`.

use std::process::ExitCode;

/// Arguments of `espboot image`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`espboot image` is not available in this build yet")
}
