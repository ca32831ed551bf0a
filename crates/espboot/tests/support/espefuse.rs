//! The `espefuse` personality beside the pinned espefuse 5.6.0: the chips
//! both cover, the two tools (espefuse through a [`ToolServer`], the
//! personality through a link to espboot) and the comparison of command
//! sequences run step by step on twin virtual eFuse files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use super::tool_server::{run_process, Request, ToolServer};

/// The chips of the every-chip matrices.
pub const CHIPS: [&str; 7] = [
    "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
];

/// The chip's flash-encryption counter (ESP32: FLASH_CRYPT_CNT).
pub fn crypt_cnt(chip: &str) -> &'static str {
    if chip == "esp32" {
        "FLASH_CRYPT_CNT"
    } else {
        "SPI_BOOT_CRYPT_CNT"
    }
}

/// Printed text with the temporary directory `dir` shown as `<dir>`.
pub fn text(bytes: &[u8], dir: &Path) -> String {
    String::from_utf8_lossy(bytes).replace(&dir.display().to_string(), "<dir>")
}

/// Printed text with a Python traceback cut to its last line, the
/// exception (the personality prints that line alone, exit status 1).
pub fn last_line_of_traceback(text: &str) -> String {
    match text.find("Traceback (most recent call last):") {
        Some(at) => format!(
            "{}{}\n",
            &text[..at],
            text.lines().last().unwrap_or_default()
        ),
        None => text.to_owned(),
    }
}

/// A link named `name` to the espboot binary under test, in a temporary
/// directory (the personality is chosen by the name it runs under).
pub fn personality_link(name: &str) -> (tempfile::TempDir, PathBuf) {
    let links = tempfile::tempdir().expect("tempdir");
    let link = links.path().join(name);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).expect("link");
    (links, link)
}

/// espefuse and the `espefuse` personality, both run with the console
/// width fixed (`COLUMNS=80`, no terminal) and no port or chip from the
/// environment.
pub struct Espefuse {
    reference: ToolServer,
    ours: PathBuf,
    _links: tempfile::TempDir,
}

impl Espefuse {
    /// `None` when interop tests are deliberately skipped.
    pub fn start() -> Option<Self> {
        Self::with_columns("80")
    }

    /// As [`Espefuse::start`], at another console width.
    pub fn with_columns(columns: &str) -> Option<Self> {
        let reference = ToolServer::start(
            "espefuse",
            &[
                ("COLUMNS", Some(columns)),
                ("ESPTOOL_PORT", None),
                ("ESPTOOL_CHIP", None),
            ],
        )?;
        let (_links, ours) = personality_link("espefuse");
        Some(Self {
            reference,
            ours,
            _links,
        })
    }

    /// The personality's link.
    pub fn ours_path(&self) -> &Path {
        &self.ours
    }

    /// A run of espefuse.
    pub fn theirs(&mut self, req: &Request) -> Output {
        self.reference.run(req)
    }

    /// Runs of espefuse that do not depend on each other.
    pub fn theirs_batch(&mut self, reqs: &[Request]) -> Vec<Output> {
        self.reference.batch(reqs)
    }

    /// A run of the personality, in the same environment.
    pub fn ours(&self, req: &Request) -> Output {
        run_process(&self.ours, self.reference.env(), req)
    }

    /// A run of espefuse (`theirs`) or of the personality.
    pub fn run(&mut self, theirs: bool, req: &Request) -> Output {
        if theirs {
            self.theirs(req)
        } else {
            self.ours(req)
        }
    }

    /// The same run through both tools: espefuse's output, then ours.
    pub fn both(&mut self, req: &Request) -> [Output; 2] {
        [self.theirs(req), self.ours(req)]
    }

    /// Runs espefuse alone and asserts it succeeded; returns its stdout.
    #[track_caller]
    pub fn theirs_ok(&mut self, args: &[&str]) -> String {
        let out = self.theirs(&Request::new(args));
        assert_eq!(out.status.code(), Some(0), "espefuse {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// How many chips of a matrix run at once (CI has two cores; a matrix is
/// often the last test still running).
const CHIP_WORKERS: usize = 2;

/// Runs `each(tools, chip)` for every chip of `chips`, on a few threads
/// (each with its own tools: the chips' runs share nothing); returns the
/// sum of what `each` returned, or 0 when interop is skipped. A failure on
/// one chip fails the test with that chip's message.
pub fn per_chip<F>(chips: &[&str], each: F) -> usize
where
    F: Fn(&mut Espefuse, &str) -> usize + Sync,
{
    if super::interop_skipped() {
        return 0;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let test = std::thread::current().name().unwrap_or("main").to_owned();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CHIP_WORKERS.min(chips.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut tools = Espefuse::start().expect("espefuse");
                    let mut sum = 0;
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chip) = chips.get(k) else { break sum };
                        super::tool_server::log_as(format!("{test}-{chip}"));
                        sum += each(&mut tools, chip);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum()
    })
}

/// One step of a sequence: arguments after the global options, stdin
/// (None: empty) and whether `--do-not-confirm` is given.
pub struct Step {
    pub args: Vec<String>,
    pub stdin: Option<&'static str>,
    pub confirm: bool,
}

/// A confirmed step with empty stdin.
pub fn step(args: &[&str]) -> Step {
    Step {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        confirm: true,
    }
}

/// How the steps of a sequence run: the global options after
/// `--path-efuse-file DIR/efuse.bin` (`{dir}` stands for the run's own
/// directory), the files each directory starts with, and the files besides
/// `efuse.bin` that a step may write (removed before each step, compared
/// after it).
#[derive(Default)]
pub struct Twins<'a> {
    pub global: &'a [&'a str],
    pub files: &'a [(&'a str, &'a [u8])],
    pub outputs: &'a [&'a str],
}

impl Espefuse {
    /// Runs `steps` on `chip` through both tools, each in its own fresh
    /// directory (its working directory too) with its own eFuse file, and
    /// asserts that every step agrees: exit status, stdout, stderr (the
    /// directory normalized), the eFuse file and the output files. `what`
    /// names the sequence in failures. Returns the steps compared.
    pub fn compare_steps(
        &mut self,
        chip: &str,
        what: &str,
        twins: &Twins,
        steps: &[Step],
    ) -> usize {
        let dirs = [
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        ];
        for dir in &dirs {
            for (name, content) in twins.files {
                std::fs::write(dir.path().join(name), content).expect("write a twin's file");
            }
        }
        let files: Vec<&str> = std::iter::once("efuse.bin")
            .chain(twins.outputs.iter().copied())
            .collect();
        for st in steps {
            let mut outcomes = Vec::new();
            for (k, dir) in dirs.iter().enumerate() {
                let dir = dir.path();
                for file in twins.outputs {
                    let _ = std::fs::remove_file(dir.join(file));
                }
                let dir_text = dir.display().to_string();
                let req = Request::new(["--virt", "-c", chip, "--path-efuse-file"])
                    .args([dir.join("efuse.bin")])
                    .args(twins.global.iter().map(|a| a.replace("{dir}", &dir_text)))
                    .args(st.confirm.then_some("--do-not-confirm"))
                    .args(&st.args)
                    .cwd(dir)
                    .stdin(st.stdin.map(str::as_bytes));
                let out = self.run(k == 0, &req);
                let written: Vec<Option<Vec<u8>>> = files
                    .iter()
                    .map(|f| std::fs::read(dir.join(f)).ok())
                    .collect();
                outcomes.push((
                    out.status.code(),
                    text(&out.stdout, dir),
                    last_line_of_traceback(&text(&out.stderr, dir)),
                    written,
                ));
            }
            let what = format!("{chip} {what}: espefuse {}", st.args.join(" "));
            let (r, o) = (&outcomes[0], &outcomes[1]);
            assert_eq!(r.0, o.0, "{what}: exit status\n{}\n{}", r.2, o.2);
            assert_eq!(r.1, o.1, "{what}: stdout");
            assert_eq!(r.2, o.2, "{what}: stderr");
            assert!(r.3 == o.3, "{what}: the eFuse or output files differ");
        }
        steps.len()
    }
}
