//! `espboot recover` and the `mcumgr` / `smpmgr` personalities against
//! `espboot sim serve --boot recovery` on every modelled chip, each upload
//! also done by the pinned smpmgr on a twin device: the two flash files
//! must end byte-identical, the image lists agree with smpmgr's, the seed's
//! mcumgr lines run verbatim through the `mcumgr` link, and the uploaded
//! image boots after a reset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support as common;
use crate::support::serve::{new_device, tool, wait_file_slice, wait_files_equal, Served};

/// The primary slot of the port's default layout.
const PRIMARY: usize = 0x20000;

const CHIPS: [&str; 5] = ["esp32", "esp32s3", "esp32c3", "esp32c2", "esp32c6"];

/// The seed's serial recovery lines (`000_b14e26da2b907e72.txt`, "MCUMGR
/// image upload example"), placeholders as written there.
const SEED_LINES: [&str; 3] = [
    r#"mcumgr conn add esp type="serial" connstring="dev=<PORT>,baud=115200,mtu=256""#,
    "mcumgr -c esp image upload <IMAGE_BIN>",
    "mcumgr -c esp reset",
];

/// A signing key and a bootloader configuration with serial recovery.
pub(super) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(super) dir: PathBuf,
    key: PathBuf,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path().to_path_buf();
        let key = dir.join("root.pem");
        tool(
            "imgtool",
            &[
                "keygen".into(),
                "-t".into(),
                "ecdsa-p256".into(),
                "-k".into(),
                key.display().to_string(),
            ],
        )
        .ok();
        Fixture {
            _tmp: tmp,
            dir,
            key,
        }
    }

    /// A device `name` for `chip` with serial recovery and `extra` keys.
    pub(super) fn device(&self, name: &str, chip: &str, extra: &str) -> PathBuf {
        let conf = self.dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_SIGN_EC256=y\nCONFIG_ESP_SIGN_KEY_FILE={}\n{extra}",
                self.key.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let dev = self.dir.join(name);
        new_device(&dev, chip, Some(&conf));
        dev
    }

    /// An app of `size` payload bytes signed by imgtool as the README says.
    pub(super) fn signed_app(&self, chip: &str, version: &str, size: usize) -> PathBuf {
        let raw = self.dir.join(format!("{chip}-{version}-raw.bin"));
        common::run_ok(
            common::espboot()
                .args(["sim", "build-app", "--target", chip, "--version", version])
                .args(["--size", &size.to_string(), "-o"])
                .arg(&raw),
        );
        let signed = self.dir.join(format!("{chip}-{version}.bin"));
        tool(
            "imgtool",
            &[
                "sign".into(),
                "-k".into(),
                self.key.display().to_string(),
                "-H".into(),
                "32".into(),
                "--pad-header".into(),
                "--align".into(),
                "4".into(),
                "-S".into(),
                "0x1C0000".into(),
                "-v".into(),
                version.into(),
                raw.display().to_string(),
                signed.display().to_string(),
            ],
        )
        .ok();
        signed
    }

    /// `espboot install-links` into the fixture: the personalities' names.
    pub(super) fn links(&self) -> PathBuf {
        let dir = self.dir.join("bin");
        common::run_ok(common::espboot().arg("install-links").arg(&dir));
        dir
    }
}

pub(super) fn rec_port(served: &Served) -> String {
    served
        .recovery
        .as_ref()
        .unwrap_or(&served.port)
        .display()
        .to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(slot, version)` of each `ImageState(...)` line smpmgr printed.
fn smpmgr_images(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("ImageState("))
        .map(|l| {
            let field = |name: &str| {
                l.split(", ")
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_default()
                    .trim_matches(|c| c == '\'' || c == ')')
                    .to_owned()
            };
            (
                field("slot=").parse().unwrap_or(u32::MAX),
                field("version="),
            )
        })
        .collect()
}

/// `(slot, version)` of each line `espboot recover list` printed.
fn espboot_images(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("image ")?;
            let (_, rest) = rest.split_once(" slot ")?;
            let (slot, rest) = rest.split_once(": version ")?;
            let version = rest.split_whitespace().next()?;
            Some((slot.parse().ok()?, version.to_owned()))
        })
        .collect()
}

/// Asserts the device's next normal boot runs `version` from the primary
/// slot (`espboot sim boot --json`, the server stopped).
#[track_caller]
pub(super) fn boots(dev: &Path, version: &str) {
    let report = common::run_ok(common::espboot().args(["sim", "boot", "--json"]).arg(dev));
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["booted"], true, "{json}");
    assert_eq!(
        json["images"][0]["version"],
        format!("{version}+0"),
        "{json}"
    );
}

/// Releases the detect pin so the next reset boots normally.
pub(super) fn normal_boot_mode(served: &Served, dev: &Path) {
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(dev)
            .arg("normal"),
    );
    served.wait_log("boot mode: normal");
}

/// On each chip: `espboot recover upload` on device A and the pinned
/// smpmgr's upload of the same file on twin B leave identical flash;
/// `recover list` and the `smpmgr` link list what smpmgr lists; `recover
/// reset` boots the image. ESP32-C6 uses progressive erase.
#[test]
fn recover_upload_list_reset_match_smpmgr_on_every_chip() {
    if common::interop_skipped() {
        return;
    }
    let fx = Fixture::new();
    let links = fx.links();
    for chip in CHIPS {
        let extra = if chip == "esp32c6" {
            "CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY=y\n"
        } else {
            ""
        };
        let a = fx.device(&format!("{chip}-a"), chip, extra);
        let b = fx.device(&format!("{chip}-b"), chip, extra);
        // big enough for a few hundred chunks, not 4-byte aligned
        let app = fx.signed_app(chip, "1.2.3", 40_001);
        let app_arg = app.display().to_string();
        let app_bytes = std::fs::read(&app).unwrap_or_default();
        let served_a = Served::start(&a, &fx.dir, "recovery", true);
        let served_b = Served::start(&b, &fx.dir, "recovery", true);
        served_a.wait_log("reset: serial recovery");
        served_b.wait_log("reset: serial recovery");
        let (port_a, port_b) = (rec_port(&served_a), rec_port(&served_b));

        // empty primary slots: both list nothing
        let out = common::run_ok(common::espboot().args(["recover", "-p", &port_a, "list"]));
        assert!(espboot_images(&stdout(&out)).is_empty(), "{}", text(&out));
        let theirs = tool(
            "smpmgr",
            &[
                "--port".into(),
                port_b.clone(),
                "image".into(),
                "state-read".into(),
            ],
        )
        .ok();
        assert!(theirs.contains("No images on device!"), "{theirs}");

        let out =
            common::run_ok(common::espboot().args(["recover", "-p", &port_a, "upload", &app_arg]));
        assert!(stdout(&out).contains("Uploaded"), "{}", text(&out));
        tool(
            "smpmgr",
            &[
                "--port".into(),
                port_b.clone(),
                "image".into(),
                "upload".into(),
                app_arg.clone(),
            ],
        )
        .ok();
        wait_file_slice(&a.join("flash.bin"), PRIMARY, &app_bytes);
        wait_file_slice(&b.join("flash.bin"), PRIMARY, &app_bytes);
        wait_files_equal(&a.join("flash.bin"), &b.join("flash.bin"));

        // image lists: ours, smpmgr's, and the smpmgr link's lines
        let ours = common::run_ok(common::espboot().args(["recover", "-p", &port_a, "list"]));
        let theirs = tool(
            "smpmgr",
            &[
                "--port".into(),
                port_b.clone(),
                "image".into(),
                "state-read".into(),
            ],
        )
        .ok();
        let expected = smpmgr_images(&theirs);
        assert_eq!(expected, vec![(0, "1.2.3".to_owned())], "{chip}: {theirs}");
        assert_eq!(espboot_images(&stdout(&ours)), expected, "{chip}");
        let link = common::run_ok(
            Command::new(links.join("smpmgr"))
                .args(["--port", &port_a, "image", "state-read"])
                .env("COLUMNS", "300"),
        );
        let state_lines = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.starts_with("ImageState(") || l.starts_with("No images"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(state_lines(&stdout(&link)), state_lines(&theirs), "{chip}");

        // reset with the detect pin released: the uploaded image boots
        normal_boot_mode(&served_a, &a);
        common::run_ok(common::espboot().args(["recover", "-p", &port_a, "reset"]));
        served_a.wait_log("reset: normal boot");
        drop(served_a);
        drop(served_b);
        boots(&a, "1.2.3");
    }
}

/// The smpmgr link's echo, reset and upgrade print what the pinned
/// smpmgr prints for the same requests (the Espressif build: echo answers
/// ENOTSUP), and `espboot recover echo` says so in one line.
#[test]
fn smpmgr_link_prints_what_smpmgr_prints() {
    if common::interop_skipped() {
        return;
    }
    let fx = Fixture::new();
    let links = fx.links();
    let dev = fx.device("c3", "esp32c3", "");
    let app = fx.signed_app("esp32c3", "1.2.3", 3000);
    let app_arg = app.display().to_string();
    let served = Served::start(&dev, &fx.dir, "recovery", true);
    served.wait_log("reset: serial recovery");
    let port = rec_port(&served);
    // rich lays reply models out for the console width (COLUMNS when
    // piped); `tool` runs smpmgr with 300 columns
    let ours = |args: &[&str]| {
        let out = Command::new(links.join("smpmgr"))
            .arg("--port")
            .arg(&port)
            .args(args)
            .env("COLUMNS", "300")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (out.status.code(), stdout(&out), text(&out))
    };
    let theirs = |args: &[&str]| {
        let mut all = vec!["--port".to_owned(), port.clone()];
        all.extend(args.iter().map(|s| s.to_string()));
        tool("smpmgr", &all)
    };
    // the reply models smpmgr prints; smpclient's log lines (WARNING and
    // their continuations) and rich's spinner lines (how many frames a
    // spinner shows depends on the machine's load) aside
    let printed = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("WARNING") && !l.starts_with(&" ".repeat(10)))
            .filter(|l| !l.starts_with(|c: char| ('\u{2800}'..='\u{28ff}').contains(&c)))
            .map(|l| l.trim_end().to_owned())
            .collect::<Vec<_>>()
    };
    for args in [&["os", "echo", "hello"][..], &["os", "reset"][..]] {
        let (code, out, all) = ours(args);
        let reference = theirs(args);
        assert_eq!(code, Some(reference.code), "{args:?}: {all}");
        assert_eq!(printed(&out), printed(&reference.out), "{args:?}");
        if args[1] == "echo" {
            assert!(all.contains("does not support it (ENOTSUP"), "{all}");
        }
    }
    // and at 80 columns, where rich breaks the model over lines
    let narrow = |program: &Path| {
        let out = Command::new(program)
            .args(["--port", &port, "os", "echo", "hello"])
            .env("COLUMNS", "80")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        printed(&stdout(&out))
    };
    let reference = narrow(&common::reference_bin_dir().join("smpmgr"));
    assert!(reference.len() > 10, "{reference:?}");
    assert_eq!(narrow(&links.join("smpmgr")), reference);
    let (code, out, all) = ours(&["upgrade", &app_arg]);
    assert_eq!(code, Some(0), "{all}");
    let reference = theirs(&["upgrade", &app_arg]);
    assert_eq!(reference.code, 0, "{}", reference.out);
    assert!(out.ends_with("Upgrade complete.\n"), "{out}");
    assert!(
        reference.out.contains("Upgrade complete."),
        "{}",
        reference.out
    );
    let out = common::run_fail(common::espboot().args(["recover", "-p", &port, "echo", "hi"]));
    common::assert_one_line_error(&out, "ENOTSUP");
    assert!(text(&out).contains(&port), "{}", text(&out));
}

/// The seed's mcumgr lines, placeholders filled, run verbatim by `sh`
/// through the `mcumgr` link with HOME in a temporary directory: the
/// profile lands in mcumgr's file, the upload lands in the primary slot,
/// `image list` shows it in mcumgr's layout, and after the reset the
/// device boots it.
#[test]
fn seed_mcumgr_lines_run_verbatim_through_the_link() {
    if common::interop_skipped() {
        return;
    }
    let fx = Fixture::new();
    let links = fx.links();
    let home = fx.dir.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let dev = fx.device("s3", "esp32s3", "");
    let app = fx.signed_app("esp32s3", "2.0.1", 25_000);
    let app_bytes = std::fs::read(&app).unwrap_or_default();
    let served = Served::start(&dev, &fx.dir, "recovery", true);
    served.wait_log("reset: serial recovery");
    let port = rec_port(&served);
    let path = format!(
        "{}:{}",
        links.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sh = |line: &str| {
        let line = line
            .replace("<PORT>", &port)
            .replace("<IMAGE_BIN>", &app.display().to_string());
        let out = Command::new("sh")
            .args(["-c", &line])
            .env("HOME", &home)
            .env("PATH", &path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{line}: {}", text(&out));
        stdout(&out)
    };
    let [add, upload, reset] = SEED_LINES;
    assert_eq!(sh(add), "Connection profile esp successfully added\n");
    let profile = std::fs::read_to_string(home.join(".mcumgr.cp.json")).unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_str(&profile).unwrap_or_else(|e| panic!("{e}: {profile}"));
    assert_eq!(json[0]["MyName"], "esp", "{profile}");
    assert_eq!(json[0]["MyType"], "serial", "{profile}");
    assert_eq!(
        json[0]["MyConnString"],
        format!("dev={port},baud=115200,mtu=256")
    );
    assert!(sh(upload).ends_with("Done\n"));
    wait_file_slice(&dev.join("flash.bin"), PRIMARY, &app_bytes);
    let list = sh("mcumgr -c esp image list");
    // Go mcumgr cannot run on this machine (serial.md §8.3): the layout is
    // `imageStatePrintRsp`'s (newtmgr/cli/image.go); the slot and version
    // it shows are checked against the pinned smpmgr below
    assert_eq!(
        list,
        "Images:\n image=0 slot=0\n    version: 2.0.1\n    bootable: false\n    flags: \n    hash: Unavailable\nSplit status: N/A (0)\n"
    );
    // the same list through smpmgr, as a cross-check of what the device holds
    let theirs = tool(
        "smpmgr",
        &[
            "--port".into(),
            port.clone(),
            "image".into(),
            "state-read".into(),
        ],
    )
    .ok();
    assert_eq!(smpmgr_images(&theirs), vec![(0, "2.0.1".to_owned())]);
    // without a profile, inline
    let inline = sh(&format!(
        "mcumgr --conntype serial --connstring \"dev={port},baud=115200,mtu=256\" image list"
    ));
    assert_eq!(inline, list);
    normal_boot_mode(&served, &dev);
    assert_eq!(sh(reset), "Done\n");
    served.wait_log("reset: normal boot");
    drop(served);
    boots(&dev, "2.0.1");
}
