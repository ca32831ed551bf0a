//! `espboot provision` records shared by concurrent stations: PostgreSQL
//! (the throw-away server `scripts/test` starts, `$ESPBOOT_POSTGRES_URL`)
//! and one SQLite file, the one-claim-per-MAC rule, and a locked or
//! unreachable database refused before anything is burned.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{
    assert_one_line_error, espboot, interop_skipped, provision_summary, run_fail, run_ok,
};

/// Flash encryption with a few final eFuses: a short plan on an ESP32-C3.
const PLAN: &str = r#"
chip = "esp32c3"
[flash_encryption]
mode = "release"
key_bits = 256
[flash_encryption.final]
efuses = { DIS_PAD_JTAG = true, DIS_DOWNLOAD_ICACHE = true }
write_protect = true
"#;

/// A fresh database on the test server, dropped at the end; `None` when
/// interop is skipped on purpose.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn new(tag: &str) -> Option<PgDatabase> {
        let admin = match std::env::var("ESPBOOT_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) if interop_skipped() => {
                eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the PostgreSQL records check");
                return None;
            }
            Err(_) => panic!(
                "ESPBOOT_POSTGRES_URL is not set: scripts/test starts a PostgreSQL server \
                 for these tests (or set ESPBOOT_SKIP_INTEROP=1 on purpose)"
            ),
        };
        let name = format!("espboot_{tag}_{}", std::process::id());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        // one statement each: DROP/CREATE DATABASE refuse a transaction block
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        Some(PgDatabase { admin, name, url })
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Child processes killed and reaped when the test ends, also on failure.
#[derive(Default)]
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Children {
    /// Waits for each; (success, stdout, stderr) in start order.
    fn finish(&mut self) -> Vec<(bool, String, String)> {
        self.0
            .iter_mut()
            .map(|child| {
                let (mut out, mut err) = (String::new(), String::new());
                child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                let ok = child.wait().unwrap().success();
                (ok, out, err)
            })
            .collect()
    }
}

fn new_device(path: &Path) {
    run_ok(
        espboot()
            .args(["sim", "new", "--target", "esp32c3"])
            .arg(path),
    );
}

fn provision(plan: &Path, dev: &Path, db: &str, station: &str) -> Command {
    let mut c = espboot();
    c.args(["provision", "run"])
        .arg(plan)
        .arg("--device")
        .arg(dev)
        .args([
            "--db",
            db,
            "--station",
            station,
            "--operator",
            "tester",
            "--json",
        ]);
    c
}

/// Every file of a device directory but its lock.
fn device_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != ".device.lock")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The plan's step count (`provision plan --json`).
fn step_count(plan: &Path) -> usize {
    let out = run_ok(espboot().args(["provision", "plan", "--json"]).arg(plan));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["steps"].as_array().unwrap().len()
}

/// Provisions `devices` devices at once, device `i` by station `i % stations`,
/// each station's devices one after another (a station is one process at a
/// time), and checks the report: one complete record per device, no
/// duplicates, every step journaled. Returns the MACs.
fn provision_concurrently(dir: &Path, db: &str, devices: usize, stations: usize) -> Vec<String> {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let steps = step_count(&plan);
    let devs: Vec<PathBuf> = (0..devices).map(|i| dir.join(format!("dev{i}"))).collect();
    for dev in &devs {
        new_device(dev);
    }
    // each station: its devices in turn, all stations at once
    let threads: Vec<_> = (0..stations)
        .map(|s| {
            let mine: Vec<PathBuf> = devs.iter().skip(s).step_by(stations).cloned().collect();
            let (plan, db) = (plan.clone(), db.to_owned());
            std::thread::spawn(move || {
                let mut outs = Vec::new();
                for dev in mine {
                    let mut children = Children::default();
                    children.0.push(
                        provision(&plan, &dev, &db, &format!("station{s}"))
                            .stdout(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .unwrap(),
                    );
                    outs.extend(children.finish());
                }
                outs
            })
        })
        .collect();
    let mut macs = Vec::new();
    for t in threads {
        for (ok, out, err) in t.join().unwrap() {
            assert!(ok, "provision run failed: {err}");
            let doc = provision_summary(out.as_bytes());
            assert_eq!(doc["outcome"], "complete", "{out}");
            assert_eq!(doc["already_done"], 0, "{out}");
            macs.push(doc["mac"].as_str().unwrap().to_owned());
        }
    }
    macs.sort();
    let mut unique = macs.clone();
    unique.dedup();
    assert_eq!(unique.len(), devices, "devices share a MAC: {macs:?}");

    let out = run_ok(espboot().args(["provision", "report", "--json", "--db", db]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = report.as_array().unwrap();
    let reported: Vec<&str> = report.iter().map(|r| r["mac"].as_str().unwrap()).collect();
    assert_eq!(reported, macs, "one record per device, by MAC");
    for r in report {
        assert_eq!(r["outcome"], "complete", "{r}");
        assert_eq!(r["runs"], 1, "{r}");
        assert_eq!(r["operator"], "tester", "{r}");
        assert!(r["station"].as_str().unwrap().starts_with("station"), "{r}");
        assert_eq!(
            r["steps"].as_array().unwrap().len(),
            steps,
            "lost steps: {r}"
        );
        let efuses: Vec<&str> = r["efuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(efuses.contains(&"SPI_BOOT_CRYPT_CNT=0x7"), "{r}");
        assert!(efuses.contains(&"DIS_PAD_JTAG=0x1"), "{r}");
        assert_eq!(
            r["keys"],
            serde_json::json!(["BLOCK_KEY0 XTS_AES_128_KEY (flash encryption)"]),
            "{r}"
        );
        assert!(r["finished_ms"].as_i64().unwrap() >= r["started_ms"].as_i64().unwrap());
    }
    // the table and CSV forms list the same devices
    let out = run_ok(espboot().args(["provision", "report", "--db", db]));
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), devices + 1, "{table}");
    assert!(table.lines().next().unwrap().starts_with("MAC "), "{table}");
    let out = run_ok(espboot().args(["provision", "report", "--format", "csv", "--db", db]));
    let csv = String::from_utf8(out.stdout).unwrap();
    for (line, mac) in csv.lines().skip(1).zip(&macs) {
        assert!(line.starts_with(&format!("{mac},esp32c3,station")), "{csv}");
        assert!(line.contains(",tester,"), "{csv}");
        // the eFuse list holds "; " and no comma: unquoted
        assert!(line.contains("SPI_BOOT_CRYPT_CNT=0x7; "), "{csv}");
    }
    macs
}

#[test]
fn provision_records_eight_concurrent_runs_share_one_postgres_database() {
    let Some(pg) = PgDatabase::new("eight") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    provision_concurrently(dir.path(), &pg.url, 8, 8);
    let steps = i64::try_from(step_count(&dir.path().join("plan.toml"))).unwrap();
    // no lost updates: every run and every step row is there, no claim left
    assert_eq!(pg.count("SELECT COUNT(*) FROM devices"), 8);
    assert_eq!(pg.count("SELECT COUNT(*) FROM runs"), 8);
    assert_eq!(pg.count("SELECT COUNT(*) FROM steps"), 8 * steps);
    assert_eq!(pg.count("SELECT COUNT(*) FROM claims"), 0);
    assert_eq!(
        pg.count(
            "SELECT COUNT(*) FROM runs WHERE outcome = 'complete' AND finished_ms IS NOT NULL"
        ),
        8
    );
}

#[test]
fn provision_records_two_stations_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let db = db.to_str().unwrap();
    provision_concurrently(dir.path(), db, 4, 2);
    let conn = rusqlite::Connection::open(db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let steps = i64::try_from(step_count(&dir.path().join("plan.toml"))).unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM runs"), 4);
    assert_eq!(count("SELECT COUNT(*) FROM steps"), 4 * steps);
    assert_eq!(count("SELECT COUNT(DISTINCT station) FROM runs"), 2);
    assert_eq!(count("SELECT COUNT(*) FROM claims"), 0);
}

/// A process id that is no longer running.
fn dead_pid() -> i64 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = i64::from(child.id());
    child.wait().unwrap();
    pid
}

#[test]
fn provision_records_a_claimed_mac_is_refused_to_another_station() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = d.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let db = d.join("r.db");
    let db = db.to_str().unwrap();
    let dev = d.join("dev");
    new_device(&dev);

    // station A starts and is interrupted: the device is on record, unclaimed
    let out = run_fail(provision(&plan, &dev, db, "A").args(["--stop-after", "3"]));
    assert_one_line_error(&out, "interrupted after 3 device action(s)");
    let conn = rusqlite::Connection::open(db).unwrap();
    let (mac, run): (String, i64) = conn
        .query_row("SELECT mac, MAX(id) FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    // station A is (again) at work on it: this process holds the claim
    let live = i64::from(std::process::id());
    conn.execute(
        "INSERT INTO claims (mac, station, pid, run_id, claimed_ms) VALUES (?1, 'A', ?2, ?3, 0)",
        rusqlite::params![mac, live, run],
    )
    .unwrap();
    let before = device_files(&dev);
    let out = run_fail(&mut provision(&plan, &dev, db, "B"));
    assert_one_line_error(
        &out,
        &format!("device {mac} is being provisioned by station A (process {live}, run {run})"),
    );
    assert_eq!(device_files(&dev), before, "station B touched the device");
    // station B's attempt left no run behind
    let runs: i64 = conn
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1);

    // the claim's process on station A died: station A resumes and finishes
    conn.execute("UPDATE claims SET pid = ?1", [dead_pid()])
        .unwrap();
    let out = run_ok(&mut provision(&plan, &dev, db, "A"));
    let doc = provision_summary(&out.stdout);
    assert_eq!(doc["already_done"], 3, "{doc}");
    let claims: i64 = conn
        .query_row("SELECT COUNT(*) FROM claims", [], |r| r.get(0))
        .unwrap();
    assert_eq!(claims, 0);
}

#[test]
fn provision_records_two_stations_racing_on_one_mac_never_both_hold_it() {
    let Some(pg) = PgDatabase::new("race") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = d.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    // two device directories with one set of eFuses: one MAC
    let (a, b) = (d.join("a"), d.join("b"));
    new_device(&a);
    new_device(&b);
    std::fs::copy(a.join("efuse.bin"), b.join("efuse.bin")).unwrap();
    let mut children = Children::default();
    for (dev, station) in [(&a, "A"), (&b, "B")] {
        children.0.push(
            provision(&plan, dev, &pg.url, station)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let results = children.finish();
    let ok = results.iter().filter(|r| r.0).count();
    assert!(ok >= 1, "{results:?}");
    for (success, _, err) in &results {
        if !success {
            // the loser: refused with the MAC and the winner's station
            assert!(err.contains("is being provisioned by station"), "{err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    // every run that began ended, and nothing holds the MAC
    assert_eq!(pg.count("SELECT COUNT(*) FROM claims"), 0);
    assert_eq!(
        pg.count("SELECT COUNT(*) FROM runs WHERE outcome = 'complete'"),
        i64::try_from(ok).unwrap()
    );
}

#[test]
fn provision_records_a_locked_or_unreachable_database_burns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = d.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let dev = d.join("dev");
    new_device(&dev);
    let before = device_files(&dev);

    // another process holds the SQLite file's write lock
    let db = d.join("locked.db");
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("CREATE TABLE x (y INTEGER); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1);")
        .unwrap();
    let out =
        run_fail(provision(&plan, &dev, db.to_str().unwrap(), "A").args(["--db-timeout", "1"]));
    assert_one_line_error(
        &out,
        &format!(
            "record database {} is locked by another process",
            db.display()
        ),
    );
    drop(lock);

    // no server on this port; the password is not printed
    let url = "postgres://espboot:s3cret@127.0.0.1:1/records";
    let out = run_fail(provision(&plan, &dev, url, "A").args(["--db-timeout", "2"]));
    assert_one_line_error(
        &out,
        "record database postgres://espboot:***@127.0.0.1:1/records cannot be reached",
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
    assert_eq!(
        device_files(&dev),
        before,
        "something was burned or written"
    );

    // a table locked by another session on the server
    let Some(pg) = PgDatabase::new("locked") else {
        return;
    };
    // the tables exist (a report creates them)
    run_ok(espboot().args(["provision", "report", "--db", &pg.url]));
    let mut holder = pg.client();
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE claims IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let out = run_fail(provision(&plan, &dev, &pg.url, "A").args(["--db-timeout", "1"]));
    assert_one_line_error(&out, "is locked by another process");
    tx.rollback().unwrap();
    assert_eq!(
        device_files(&dev),
        before,
        "something was burned or written"
    );
}
