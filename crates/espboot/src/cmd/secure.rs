//! `espboot secure`.

use std::process::ExitCode;

/// Arguments of `espboot secure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`espboot secure` is not available in this build yet")
}
