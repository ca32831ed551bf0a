//! Multi-call support: `imgtool`, `espsecure` and `espefuse` personalities.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// Link names and the `espboot` subcommand each one stands for.
pub const PERSONALITIES: &[(&str, &str)] = &[
    ("imgtool", "image"),
    ("espsecure", "secure"),
    ("espefuse", "efuse"),
];

/// Arguments of `espboot install-links`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create the links in (created if missing).
    dir: PathBuf,
    /// Replace existing files of the same names.
    #[arg(long)]
    force: bool,
}

/// The subcommand the program name stands for, if it was invoked through a
/// link (`imgtool`, `imgtool.py`, `espsecure.exe`, ...).
pub fn personality(argv: &[OsString]) -> Option<&'static str> {
    let program = Path::new(argv.first()?).file_name()?.to_str()?;
    let stem = program
        .strip_suffix(".py")
        .or_else(|| program.strip_suffix(".exe"))
        .unwrap_or(program);
    PERSONALITIES
        .iter()
        .find(|(name, _)| *name == stem)
        .map(|(_, sub)| *sub)
}

/// Rewrites `imgtool sign ...` into `espboot image sign ...`.
pub fn as_espboot_argv(subcommand: &str, argv: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len() + 1);
    out.push(OsString::from("espboot"));
    out.push(OsString::from(subcommand));
    out.extend(argv.into_iter().skip(1));
    out
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot locate the espboot executable")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create directory {}", args.dir.display()))?;
    for (name, _) in PERSONALITIES {
        let link = args.dir.join(name);
        if link.symlink_metadata().is_ok() {
            if !args.force {
                anyhow::bail!(
                    "{} already exists (pass --force to replace it)",
                    link.display()
                );
            }
            std::fs::remove_file(&link)
                .with_context(|| format!("cannot replace {}", link.display()))?;
        }
        make_link(&exe, &link)?;
        outln!("{} -> {}", link.display(), exe.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn make_link(target: &Path, link: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("cannot create link {}", link.display()))
}

#[cfg(not(unix))]
fn make_link(target: &Path, link: &Path) -> anyhow::Result<()> {
    std::fs::copy(target, link)
        .map(|_| ())
        .with_context(|| format!("cannot copy espboot to {}", link.display()))
}
