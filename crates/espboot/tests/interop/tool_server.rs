//! The reference-tool fork server (`tests/support/tool_server.rs`) against
//! plain processes of the same tools: a handful of runs that exercise what
//! a forked child must reproduce (stdin at end of file under a prompt, a
//! traceback, a usage error, a burn that writes the eFuse file, data on
//! stdin, both streams into one file, a batch, every chip's eFuse table)
//! print the same bytes, exit with the same status and leave the same files.

use std::path::Path;
use std::process::Output;

use crate::support::espefuse::text;
use crate::support::tool_server::{Request, ToolServer};

/// What a run left: status, both streams (directory normalized), the
/// eFuse file.
fn outcome(out: &Output, dir: &Path) -> (Option<i32>, String, String, Option<Vec<u8>>) {
    (
        out.status.code(),
        venv_normalized(text(&out.stdout, dir)),
        venv_normalized(text(&out.stderr, dir)),
        std::fs::read(dir.join("efuse.bin")).ok(),
    )
}

/// A traceback names the tool's modules by path. When the venv is reached
/// through a symbolic link, a plain process's interpreter resolves the
/// link for its imports and the server's pre-imported modules keep it, so
/// the same frame can be written two ways: both become the link's path.
fn venv_normalized(text: String) -> String {
    let bin = crate::support::reference_bin_dir();
    let Some(venv) = bin.parent() else {
        return text;
    };
    // the link itself in canonical form: its directory resolved, its name kept
    let link = venv
        .parent()
        .zip(venv.file_name())
        .and_then(|(dir, name)| Some(std::fs::canonicalize(dir).ok()?.join(name)));
    match (std::fs::canonicalize(venv), link) {
        (Ok(real), Some(link)) if real != link => {
            text.replace(&real.display().to_string(), &link.display().to_string())
        }
        _ => text,
    }
}

/// Runs each request (in its own fresh directory) through the server and
/// as a plain process and asserts they agree; returns the server's
/// outcomes. `batch`: the server gets all of them at once.
fn compare(server: &mut ToolServer, reqs: &[Request], batch: bool) -> Vec<Output> {
    let served_dirs: Vec<_> = reqs
        .iter()
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let plain_dirs: Vec<_> = reqs
        .iter()
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let placed = |dirs: &[tempfile::TempDir]| -> Vec<Request> {
        reqs.iter()
            .zip(dirs)
            .map(|(r, d)| r.clone().cwd(d.path()))
            .collect()
    };
    let served = if batch {
        server.batch(&placed(&served_dirs))
    } else {
        placed(&served_dirs).iter().map(|r| server.run(r)).collect()
    };
    let plain: Vec<Output> = placed(&plain_dirs)
        .iter()
        .map(|r| server.run_process(r))
        .collect();
    for (k, req) in reqs.iter().enumerate() {
        assert_eq!(
            outcome(&served[k], served_dirs[k].path()),
            outcome(&plain[k], plain_dirs[k].path()),
            "{} {:?}",
            server.script().display(),
            req.args
        );
    }
    served
}

#[test]
fn fork_server_runs_match_plain_processes_of_the_tool() {
    let env = [
        ("COLUMNS", Some("80")),
        ("ESPTOOL_PORT", None),
        ("ESPTOOL_CHIP", None),
    ];
    let Some(mut espefuse) = ToolServer::start("espefuse", &env) else {
        return;
    };
    let virt = ["--virt", "-c", "esp32c3"];
    let file = ["--path-efuse-file", "efuse.bin"];
    let reqs = [
        // a confirmation prompt that reads end of file: Aborted, exit 1
        Request::new(virt)
            .args(file)
            .args(["burn-efuse", "WR_DIS", "1"]),
        // the same prompt answered on stdin: the burn happens
        Request::new(virt)
            .args(file)
            .args(["burn-efuse", "WR_DIS", "1"])
            .stdin(Some(b"BURN\n")),
        // an uncaught exception: Python's traceback, exit 1
        Request::new(virt).args(["--do-not-confirm", "burn-efuse", "WR_DIS", "abc"]),
        // a usage error: rich-click's box, exit 2
        Request::new(virt).args(["burn-efuse", "NO_SUCH_EFUSE", "1"]),
        // a burn that writes the eFuse file, then its summary
        Request::new(virt).args(file).args([
            "--do-not-confirm",
            "burn-efuse",
            "SPI_BOOT_CRYPT_CNT",
            "7",
            "summary",
        ]),
        // the banner, a deprecation warning and an error in one file
        Request::new(virt)
            .args(["burn_efuse", "WR_DIS", "1", "check_error", "--bogus"])
            .merged(),
        // the traceback after the banner, in one file
        Request::new(virt)
            .args(["--do-not-confirm", "burn-efuse", "WR_DIS", "abc"])
            .merged(),
    ];
    let served = compare(&mut espefuse, &reqs, false);
    let codes: Vec<Option<i32>> = served.iter().map(|o| o.status.code()).collect();
    assert_eq!(
        codes,
        [
            Some(1),
            Some(0),
            Some(1),
            Some(2),
            Some(0),
            Some(2),
            Some(1)
        ]
    );
    assert!(String::from_utf8_lossy(&served[2].stderr).starts_with("Traceback"));
    // a batch: the runs are independent (a burn in one leaves the next
    // one's chip blank), so the same run twice prints the same
    let burn = Request::new(virt).args(["--do-not-confirm", "burn-efuse", "WR_DIS", "1"]);
    let twice = compare(&mut espefuse, &[burn.clone(), burn, reqs[3].clone()], true);
    assert_eq!(twice[0].stdout, twice[1].stdout);

    // every chip's eFuse table, which the server parses once and hands
    // its children (a summary prints every field of it)
    let summaries: Vec<Request> = crate::support::espefuse::CHIPS
        .iter()
        .map(|chip| {
            Request::new(["--virt", "-c", chip])
                .args(file)
                .args(["summary"])
        })
        .collect();
    let served = compare(&mut espefuse, &summaries, true);
    assert!(served.iter().all(|o| o.status.success()));

    // the server is the tool's own: espsecure, imgtool and esptool too
    let Some(mut espsecure) = ToolServer::start("espsecure", &env) else {
        return;
    };
    compare(
        &mut espsecure,
        &[
            Request::new(["digest-sbv2-public-key", "-k", "nofile.pem", "-o", "d.bin"]),
            Request::new(["bogus-command"]),
        ],
        true,
    );
    let Some(mut imgtool) = ToolServer::start("imgtool", &env) else {
        return;
    };
    compare(
        &mut imgtool,
        &[
            Request::new(["version"]),
            Request::new(["getpub", "-k", "nofile.pem"]),
        ],
        false,
    );
    let Some(mut esptool) = ToolServer::start("esptool", &env) else {
        return;
    };
    compare(
        &mut esptool,
        &[
            Request::new(["version"]),
            Request::new(["--chip", "esp32c3", "image-info", "nofile.bin"]),
            // a port that cannot be opened: esptool's serial error path
            Request::new(["--port", "/nonexistent/tty", "chip-id"]),
        ],
        false,
    );
}

/// A served run past its deadline is killed with its server, by the
/// server's process group, and fails the test with the run's arguments;
/// without a server (`ESPBOOT_FORK_SERVER=0`) the plain process is killed
/// the same way. The run that hangs: imgtool opening a key file that is a
/// FIFO nobody writes to.
#[test]
fn a_run_past_its_deadline_is_killed_and_fails_the_test() {
    let Some(mut imgtool) = ToolServer::start("imgtool", &[]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("key.pem");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success(), "mkfifo {}", fifo.display());
    let hang = Request::new(["getpub", "-k"]).args([fifo.as_os_str()]);
    let limit = std::time::Duration::from_secs(2);
    let start = std::time::Instant::now();
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        imgtool.run_within(&hang, limit)
    }))
    .expect_err("a run that never ends returned");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("did not finish in 2s"), "{message}");
    assert!(message.contains("key.pem"), "{message}");
    // killed at the deadline, not left to run
    assert!(start.elapsed() < limit * 5, "{:?}", start.elapsed());
    drop(imgtool);
    // the plain-process path has the same deadline
    let script = crate::support::reference_bin_dir().join("imgtool");
    let failure = std::panic::catch_unwind(|| {
        crate::support::tool_server::run_process_within(&script, &Vec::new(), &hang, limit)
    })
    .expect_err("a plain run that never ends returned");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("did not finish in 2s"), "{message}");
}
