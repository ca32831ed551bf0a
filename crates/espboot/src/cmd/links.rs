//! Multi-call support: `imgtool`, `espsecure`, `espefuse`, `esptool`,
//! `mcumgr` and `smpmgr` personalities.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// A reference tool espboot stands in for when invoked under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// imgtool 2.5.0 (`espboot image`).
    Imgtool,
    /// espsecure 5.6.0 (`espboot secure`).
    Espsecure,
    /// espefuse 5.6.0 (`espboot efuse`).
    Espefuse,
    /// esptool 5.6.0 (`espboot flash`).
    Esptool,
    /// Go mcumgr's serial commands (`espboot recover`).
    Mcumgr,
    /// smpmgr 0.19.1's serial commands (`espboot recover`).
    Smpmgr,
}

impl Personality {
    /// Every personality, in the order `install-links` creates them.
    pub const ALL: [Personality; 6] = [
        Personality::Imgtool,
        Personality::Espsecure,
        Personality::Espefuse,
        Personality::Esptool,
        Personality::Mcumgr,
        Personality::Smpmgr,
    ];

    /// The tool's own name, which is also the link's name.
    pub fn name(self) -> &'static str {
        match self {
            Personality::Imgtool => "imgtool",
            Personality::Espsecure => "espsecure",
            Personality::Espefuse => "espefuse",
            Personality::Esptool => "esptool",
            Personality::Mcumgr => "mcumgr",
            Personality::Smpmgr => "smpmgr",
        }
    }

    /// The personality the program name stands for, if espboot was invoked
    /// through a link (`imgtool`, `imgtool.py`, `espsecure.exe`, ...).
    pub fn of(argv: &[OsString]) -> Option<Personality> {
        let program = Path::new(argv.first()?).file_name()?.to_str()?;
        let stem = program
            .strip_suffix(".py")
            .or_else(|| program.strip_suffix(".exe"))
            .unwrap_or(program);
        Personality::ALL.into_iter().find(|p| p.name() == stem)
    }

    /// The `.py` names build systems and seed scripts call, where the
    /// pinned tools install one (esptool 5.6.0 ships `esptool.py`,
    /// `espsecure.py`, `espefuse.py`; MCUboot's `scripts/imgtool.py`).
    pub fn has_py_name(self) -> bool {
        matches!(
            self,
            Personality::Imgtool
                | Personality::Espsecure
                | Personality::Espefuse
                | Personality::Esptool
        )
    }

    /// Runs the tool's command line (argv\[0\] is the tool's name).
    pub fn main(self, argv: Vec<OsString>) -> ExitCode {
        // esptool's `check_deprecated_py_suffix` (esptool/util.py), which
        // esptool, espsecure and espefuse call first: run as `NAME.py`,
        // they warn on stderr.
        let called_py = argv
            .first()
            .and_then(|a| a.to_str())
            .is_some_and(|a| a.ends_with(&format!("{}.py", self.name())));
        if called_py && self != Personality::Imgtool && self.has_py_name() {
            eprintln!(
                "WARNING: DEPRECATED: '{0}.py' is deprecated. Please use '{0}' instead. The '.py' suffix will be removed in a future major release.",
                self.name()
            );
        }
        match self {
            Personality::Imgtool => super::image::personality(argv),
            Personality::Espsecure => super::secure::personality(argv),
            Personality::Espefuse => super::efuse::personality(argv),
            Personality::Esptool => super::flash::personality(argv),
            Personality::Mcumgr => super::recover::mcumgr::personality(argv),
            Personality::Smpmgr => super::recover::smpmgr::personality(argv),
        }
    }
}

/// Arguments of `espboot install-links`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create the links in (created if missing).
    dir: PathBuf,
    /// Replace existing files of the same names.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot locate the espboot executable")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create directory {}", args.dir.display()))?;
    for personality in Personality::ALL {
        let link = args.dir.join(personality.name());
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
    for personality in Personality::ALL.into_iter().filter(|p| p.has_py_name()) {
        let script = args.dir.join(format!("{}.py", personality.name()));
        if script.symlink_metadata().is_ok() && !args.force {
            anyhow::bail!(
                "{} already exists (pass --force to replace it)",
                script.display()
            );
        }
        write_py_script(&exe, &script)?;
        outln!("{} -> {}", script.display(), exe.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `NAME.py`: a Python script, because build systems run it as
/// `${PYTHON} imgtool.py …` (Zephyr, NCS) as well as directly, and Python
/// cannot run the espboot binary itself. It replaces itself with espboot,
/// keeping its own path as argv\[0\] so espboot picks the personality
/// (and the tools' `.py` deprecation warning) from it.
fn write_py_script(exe: &Path, script: &Path) -> anyhow::Result<()> {
    let exe_text = exe.to_str().with_context(|| {
        format!(
            "{}: the espboot path is not UTF-8, which a Python script cannot name",
            exe.display()
        )
    })?;
    // A JSON string is a valid Python string literal.
    let literal = serde_json::to_string(exe_text).context("cannot quote the espboot path")?;
    let text = format!(
        "#!/usr/bin/env python3\n\
         # Written by `espboot install-links`: runs espboot under this tool's name.\n\
         import os\n\
         import sys\n\
         \n\
         os.execv({literal}, [sys.argv[0]] + sys.argv[1:])\n"
    );
    crate::fsutil::write_atomic(script, text.as_bytes(), false)?;
    set_executable(script)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
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
