//! Runs a pinned Python reference tool without paying its start-up per run.
//!
//! A Python tool spends most of a short run importing itself (espefuse: about
//! half a second on a CI machine). A [`ToolServer`] starts the venv's Python
//! once, imports what the tool's console script imports, and then forks one
//! child per run that becomes the console script as a fresh process would:
//! the same `sys.argv` (the script's path first, so prog names are
//! unchanged), working directory, stdin and output files, exit status and
//! traceback. Children share no state (each is a fork of the pristine
//! server), so runs stay independent. The environment is the server's, fixed
//! when it starts: rich reads `COLUMNS` when its consoles are created.
//!
//! [`run_pooled`] keeps one idle server per tool and environment for each
//! test thread, so code that runs a tool now and then (the serial tests'
//! clients) shares a server without holding one; a test thread's servers
//! end with it.
//!
//! `ESPBOOT_FORK_SERVER=0` runs every request as a plain process instead,
//! and `ESPBOOT_REFERENCE_LOG=DIR` appends every reference run (arguments,
//! status and output) to `DIR/<test thread>.log`: the two together show
//! that the server prints what separate processes print.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// The server's Python side.
const SERVER: &str = include_str!("fork_server.py");

/// How many children of one batch run at once (CI has two cores).
const JOBS: usize = 2;

/// One run of a tool: its arguments, working directory, stdin and whether
/// stdout and stderr go to one file (the order a terminal shows).
#[derive(Clone, Debug)]
pub struct Request {
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub stdin: Option<Vec<u8>>,
    pub merged: bool,
}

impl Request {
    /// A run with `args`, in the test's working directory, stdin empty.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            cwd: None,
            stdin: None,
            merged: false,
        }
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn stdin(mut self, bytes: Option<&[u8]>) -> Self {
        self.stdin = bytes.map(<[u8]>::to_vec);
        self
    }

    /// stdout and stderr into one file: [`Output::stdout`] holds both.
    pub fn merged(mut self) -> Self {
        self.merged = true;
        self
    }
}

/// Environment changes applied to a run: set (`Some`) or removed (`None`).
pub type Env = Vec<(String, Option<String>)>;

/// `program` with `req`'s arguments and working directory, `env` applied.
fn command(program: &Path, env: &Env, req: &Request) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(&req.args);
    if let Some(dir) = &req.cwd {
        cmd.current_dir(dir);
    }
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// Runs `program` with `req` as a plain process, with `env` applied.
pub fn run_process(program: &Path, env: &Env, req: &Request) -> Output {
    let mut cmd = command(program, env, req);
    let stdin = tempfile::NamedTempFile::new().expect("stdin file");
    std::fs::write(stdin.path(), req.stdin.as_deref().unwrap_or_default()).expect("stdin");
    cmd.stdin(std::fs::File::open(stdin.path()).expect("stdin"));
    if req.merged {
        let out = tempfile::NamedTempFile::new().expect("output file");
        let file = out.reopen().expect("output file");
        cmd.stdout(file.try_clone().expect("clone")).stderr(file);
        let status = cmd.status().expect("run the tool");
        let stdout = std::fs::read(out.path()).expect("output");
        Output {
            status,
            stdout,
            stderr: Vec::new(),
        }
    } else {
        cmd.output().expect("run the tool")
    }
}

/// A pinned Python tool's fork server (see the module documentation).
pub struct ToolServer {
    script: PathBuf,
    env: Env,
    server: Option<Server>,
    scratch: tempfile::TempDir,
    runs: usize,
}

struct Server {
    child: Child,
    requests: Option<ChildStdin>,
    replies: BufReader<ChildStdout>,
}

impl ToolServer {
    /// A server for reference tool `name` (`"espefuse"`), its runs with
    /// `env` applied; `None` when interop tests are deliberately skipped.
    pub fn start(name: &str, env: &[(&str, Option<&str>)]) -> Option<Self> {
        super::reference_tool(name)?;
        let script = super::reference_bin_dir().join(name);
        let env: Env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
        let scratch = tempfile::tempdir().expect("tempdir");
        let server = (std::env::var("ESPBOOT_FORK_SERVER").as_deref() != Ok("0"))
            .then(|| Server::start(&script, &env, scratch.path()));
        Some(Self {
            script,
            env,
            server,
            scratch,
            runs: 0,
        })
    }

    /// The console script the runs execute.
    pub fn script(&self) -> &Path {
        &self.script
    }

    /// The environment changes of every run.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// One run.
    pub fn run(&mut self, req: &Request) -> Output {
        self.batch(std::slice::from_ref(req))
            .pop()
            .expect("one output")
    }

    /// One run that must end within `limit`: past it, the run (and the
    /// server, whose process group it is in) is killed and the test fails.
    pub fn run_within(&mut self, req: &Request, limit: Duration) -> Output {
        let out = match &mut self.server {
            Some(server) => {
                let first = self.runs;
                self.runs += 1;
                let reqs = std::slice::from_ref(req);
                server
                    .batch_within(&self.script, self.scratch.path(), first, reqs, Some(limit))
                    .pop()
                    .expect("one output")
            }
            None => run_process_within(&self.script, &self.env, req, limit),
        };
        log_run(&self.script, req, &out);
        out
    }

    /// Runs that do not depend on each other (they may run at the same
    /// time); their outputs in order.
    pub fn batch(&mut self, reqs: &[Request]) -> Vec<Output> {
        let outputs = match &mut self.server {
            Some(server) => {
                let first = self.runs;
                self.runs += reqs.len();
                server.batch_within(&self.script, self.scratch.path(), first, reqs, None)
            }
            None => reqs
                .iter()
                .map(|r| run_process(&self.script, &self.env, r))
                .collect(),
        };
        for (req, out) in reqs.iter().zip(&outputs) {
            log_run(&self.script, req, out);
        }
        outputs
    }

    /// `req` as a plain process of the tool (what the server stands in for).
    pub fn run_process(&self, req: &Request) -> Output {
        run_process(&self.script, &self.env, req)
    }
}

impl Server {
    fn start(script: &Path, env: &Env, scratch: &Path) -> Self {
        let code = scratch.join("fork_server.py");
        std::fs::write(&code, SERVER).expect("write the fork server");
        let python = super::reference_bin_dir().join("python");
        let mut cmd = Command::new(python);
        // its own process group, which its children join: a run past its
        // deadline is killed with the server (`batch_within`)
        cmd.process_group(0)
            .arg(&code)
            .arg(script)
            .arg(JOBS.to_string())
            .args(console_script_modules(script))
            .current_dir(scratch)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(scratch.join("server.log")).expect("server log"));
        for (key, value) in env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let mut child = cmd.spawn().expect("start the reference tool's Python");
        let requests = child.stdin.take();
        let replies = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            requests,
            replies,
        }
    }

    fn batch_within(
        &mut self,
        script: &Path,
        scratch: &Path,
        first: usize,
        reqs: &[Request],
        limit: Option<Duration>,
    ) -> Vec<Output> {
        let cwd = std::env::current_dir().expect("working directory");
        let mut files = Vec::new();
        let mut runs = Vec::new();
        for (k, req) in reqs.iter().enumerate() {
            let base = scratch.join(format!("run{}", first + k));
            let stdin = base.with_extension("in");
            std::fs::write(&stdin, req.stdin.as_deref().unwrap_or_default()).expect("stdin");
            let (stdout, stderr) = (base.with_extension("out"), base.with_extension("err"));
            let args: Vec<&str> = req
                .args
                .iter()
                .map(|a| a.to_str().expect("UTF-8 arguments"))
                .collect();
            runs.push(serde_json::json!({
                "args": args,
                "cwd": req.cwd.as_deref().unwrap_or(&cwd),
                "stdin": stdin,
                "stdout": stdout,
                "stderr": (!req.merged).then_some(&stderr),
            }));
            files.push((stdin, stdout, (!req.merged).then_some(stderr)));
        }
        let line = serde_json::to_string(&runs).expect("JSON");
        let requests = self.requests.as_mut().expect("fork server running");
        writeln!(requests, "{line}").expect("send the runs to the fork server");
        requests.flush().expect("flush");
        let (finished, finish) = std::sync::mpsc::channel::<()>();
        let group = rustix::process::Pid::from_child(&self.child);
        let watchdog = limit.map(|limit| {
            std::thread::spawn(move || {
                let expired =
                    finish.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
                if expired {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                expired
            })
        });
        let mut reply = String::new();
        let read = self.replies.read_line(&mut reply);
        drop(finished);
        if let Some((watchdog, limit)) = watchdog.zip(limit) {
            if watchdog.join().unwrap_or(false) {
                let args: Vec<_> = reqs.iter().map(|r| &r.args).collect();
                panic!("{} {args:?} did not finish in {limit:?}", script.display());
            }
        }
        read.expect("fork server reply");
        let statuses: Vec<i32> = serde_json::from_str(&reply).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(scratch.join("server.log")).unwrap_or_default();
            panic!(
                "fork server for {} failed ({e}): {reply:?}\n{log}",
                script.display()
            )
        });
        assert_eq!(statuses.len(), reqs.len(), "fork server reply: {reply}");
        statuses
            .into_iter()
            .zip(files)
            .map(|(status, (stdin, stdout, stderr))| {
                let out = Output {
                    status: ExitStatus::from_raw(status),
                    stdout: std::fs::read(&stdout).expect("run's stdout"),
                    stderr: stderr
                        .as_ref()
                        .map_or_else(Vec::new, |p| std::fs::read(p).expect("run's stderr")),
                };
                for path in [Some(stdin), Some(stdout), stderr].into_iter().flatten() {
                    let _ = std::fs::remove_file(path);
                }
                out
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // the end of its input ends the server
        drop(self.requests.take());
        let _ = self.child.wait();
    }
}

/// Runs `program` as [`run_process`] does, killed (by its process id) and
/// failing the test if it does not finish within `limit`.
pub fn run_process_within(program: &Path, env: &Env, req: &Request, limit: Duration) -> Output {
    let mut child = command(program, env, req)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(req.stdin.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{}: stdin: {e}", program.display()));
    }
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} {:?} did not finish in {limit:?}",
                    program.display(),
                    req.args
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("{e}"),
        }
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

thread_local! {
    /// This thread's idle servers ([`run_pooled`]), stopped when it ends.
    static POOL: std::cell::RefCell<Vec<(String, ToolServer)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The tools [`run_pooled`] runs through a fork server: those whose served
/// runs `tests/interop/tool_server.rs` compares with plain processes, and
/// whose start-up is worth saving (espefuse's is half a second; esptool's
/// a fifth, so it stays a plain process, as the serial tests have always
/// run it). smpmgr stays a plain process too: the recovery tests run it
/// right after a reset request, counting on its start-up outlasting the
/// device's 250 ms reset delay; a forked client's first request would
/// reach the device before the reset, which drops it.
const POOLED_TOOLS: [&str; 3] = ["espefuse", "espsecure", "imgtool"];

/// One run of reference tool `name` with `env` applied, within `limit`,
/// through an idle server of this thread for the same tool and
/// environment (started on first use). Other tools than [`POOLED_TOOLS`]
/// run as plain processes, and so do scripts that are not console scripts
/// (`espefuse.py`, a wrapper that imports the tool itself). `None` when
/// interop tests are deliberately skipped.
pub fn run_pooled(
    name: &str,
    env: &[(&str, Option<&str>)],
    req: &Request,
    limit: Duration,
) -> Option<Output> {
    let tool = super::reference_tool(name)?;
    let script = PathBuf::from(tool.get_program());
    let key = format!("{name} {env:?}");
    if !POOLED_TOOLS.contains(&name) || console_script_modules(&script).is_empty() {
        let env: Env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
        let out = run_process_within(&script, &env, req, limit);
        log_run(&script, req, &out);
        return Some(out);
    }
    let idle = POOL.with_borrow_mut(|pool| {
        let k = pool.iter().position(|(k, _)| *k == key)?;
        Some(pool.swap_remove(k).1)
    });
    let mut server = match idle {
        Some(server) => server,
        None => ToolServer::start(name, env)?,
    };
    let out = server.run_within(req, limit);
    POOL.with_borrow_mut(|pool| pool.push((key, server)));
    Some(out)
}

/// The modules a console script imports (`from espefuse.__init__ import
/// _main`): what the server imports before it forks.
fn console_script_modules(script: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(script).expect("read the console script");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("from ")?;
            let (module, _) = rest.split_once(" import ")?;
            Some(module.trim().to_owned())
        })
        .collect()
}

thread_local! {
    /// The log this thread's runs go to, when not its own name's.
    static LOG_NAME: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Sends this thread's runs to the log `name` from now on (a worker thread
/// of a test: its runs in an order that does not depend on scheduling).
pub fn log_as(name: String) {
    LOG_NAME.with(|n| *n.borrow_mut() = Some(name));
}

/// `ESPBOOT_REFERENCE_LOG`: the run appended to the test thread's log.
fn log_run(script: &Path, req: &Request, out: &Output) {
    let Some(dir) = std::env::var_os("ESPBOOT_REFERENCE_LOG") else {
        return;
    };
    let thread = std::thread::current();
    let name = LOG_NAME
        .with(|n| n.borrow().clone())
        .unwrap_or_else(|| thread.name().unwrap_or("main").to_owned())
        .replace("::", "-");
    let path = Path::new(&dir).join(format!("{name}.log"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("reference log");
    let args: Vec<String> = req
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let text = format!(
        "=== {} {}\n--- stdin {:?} merged {}\n--- status {:?}\n--- stdout\n{}--- stderr\n{}",
        script.display(),
        args.join(" "),
        req.stdin.as_deref().map(String::from_utf8_lossy),
        req.merged,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    file.write_all(text.as_bytes()).expect("reference log");
}
