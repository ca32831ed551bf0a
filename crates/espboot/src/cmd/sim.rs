//! `espboot sim`.

use std::process::ExitCode;

/// Arguments of `espboot sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`espboot sim` is not available in this build yet")
}
