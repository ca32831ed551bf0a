//! `espboot efuse`.

use std::process::ExitCode;

/// Arguments of `espboot efuse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`espboot efuse` is not available in this build yet")
}
