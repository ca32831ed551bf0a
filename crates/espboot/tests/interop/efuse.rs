//! `espboot efuse` against espefuse 5.6.0 on virtual eFuse files: the seed
//! 003 flash-encryption and Secure Boot V2 sequences for every chip, run by
//! both tools on separate files, must leave byte-identical files after every
//! step; `summary --format json` from either tool on either file must agree;
//! each refusal must fail in both tools and leave both files untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::tool_server::{run_pooled, Request};
use crate::support::{espboot, run_fail, run_ok};
use esp_efuse::{Chip, ChipEfuses, FieldType};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/efuse");

fn data(name: &str) -> String {
    format!("{DATA}/{name}")
}

/// Two virtual eFuse files for one chip, one per tool.
struct Pair {
    _dir: tempfile::TempDir,
    chip: Chip,
    ours: PathBuf,
    theirs: PathBuf,
    dir: PathBuf,
}

impl Pair {
    fn new(chip: Chip) -> Pair {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().to_path_buf();
        Pair {
            chip,
            ours: p.join("ours.bin"),
            theirs: p.join("theirs.bin"),
            dir: p,
            _dir: dir,
        }
    }

    fn ours_cmd(&self, file: &Path, args: &[&str]) -> Command {
        let mut c = espboot();
        c.arg("efuse");
        c.args(["--chip", self.chip.name(), "--virt", "--path-efuse-file"])
            .arg(file)
            .arg("--do-not-confirm");
        c.args(args);
        c
    }

    /// A run of espefuse on `file` (through this thread's fork server);
    /// `None` when interop tests are deliberately skipped.
    fn theirs(&self, file: &Path, args: &[&str]) -> Option<Output> {
        let req = Request::new(["--chip", self.chip.name(), "--virt", "--path-efuse-file"])
            .args([file.as_os_str()])
            .args(["--do-not-confirm"])
            .args(args);
        run_pooled("espefuse", &[], &req, Duration::from_secs(60))
    }

    /// As [`Pair::theirs`], asserting that espefuse succeeded.
    fn theirs_ok(&self, file: &Path, args: &[&str]) -> Option<Output> {
        let out = self.theirs(file, args)?;
        assert!(
            out.status.success(),
            "{}: espefuse {args:?} failed: {}\n{}",
            self.chip,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(out)
    }

    /// One step of a sequence: both tools succeed and the files stay identical.
    fn step(&self, args: &[&str]) {
        let ours = run_ok(&mut self.ours_cmd(&self.ours, args));
        let Some(theirs) = self.theirs_ok(&self.theirs, args) else {
            return;
        };
        // The console output matches too, line for line after the banner.
        let body = |o: &Output| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .skip(1)
                .map(|l| l.trim_end().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            body(&ours),
            body(&theirs),
            "{}: output of {args:?} differs",
            self.chip
        );
        let a = std::fs::read(&self.ours).expect("ours");
        let b = std::fs::read(&self.theirs).expect("theirs");
        assert!(
            a == b,
            "{}: files differ after {args:?}\nours:   {}\ntheirs: {}",
            self.chip,
            hex::encode(&a),
            hex::encode(&b)
        );
    }

    /// A refusal: both tools fail and neither file changes.
    fn refuse(&self, args: &[&str]) -> Output {
        let before_ours = std::fs::read(&self.ours).expect("ours");
        let out = run_fail(&mut self.ours_cmd(&self.ours, args));
        assert_eq!(
            std::fs::read(&self.ours).expect("ours"),
            before_ours,
            "{}: {args:?} changed our file",
            self.chip
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.lines().filter(|l| !l.trim().is_empty()).count(),
            1,
            "{args:?}: not a one-line error: {stderr}"
        );
        let before = std::fs::read(&self.theirs).ok();
        if let Some(o) = self.theirs(&self.theirs, args) {
            assert!(
                !o.status.success(),
                "{}: espefuse accepted {args:?}:\n{}",
                self.chip,
                String::from_utf8_lossy(&o.stdout)
            );
            assert_eq!(
                std::fs::read(&self.theirs).ok(),
                before,
                "{}: {args:?} changed espefuse's file",
                self.chip
            );
        }
        out
    }

    /// `summary --format json` from both tools on both files agree.
    fn json_agrees(&self) {
        let ours_json = |file: &Path| -> serde_json::Value {
            let out = self.dir.join("o.json");
            run_ok(&mut self.ours_cmd(
                file,
                &[
                    "summary",
                    "--format",
                    "json",
                    "--file",
                    out.to_str().unwrap_or_default(),
                ],
            ));
            serde_json::from_slice(&std::fs::read(&out).expect("json")).expect("our json parses")
        };
        let a = ours_json(&self.ours);
        let b = ours_json(&self.theirs);
        assert!(
            a == b,
            "{}: our summary differs between the two files: {}",
            self.chip,
            json_diff(&a, &b)
        );
        // The files are byte-identical after every step, so one espefuse run
        // (on its own file) covers both; its text summary must match ours too.
        let out = self.dir.join("t.json");
        let Some(_) = self.theirs_ok(
            &self.theirs,
            &[
                "summary",
                "--format",
                "json",
                "--file",
                out.to_str().unwrap_or_default(),
            ],
        ) else {
            return;
        };
        let theirs: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("json")).expect("espefuse json");
        assert!(
            a == theirs,
            "{}: summary json differs from espefuse's: {}",
            self.chip,
            json_diff(&a, &theirs)
        );
    }

    /// The text `summary` matches espefuse's line for line (after the banner).
    fn text_agrees(&self) {
        let ours = run_ok(&mut self.ours_cmd(&self.ours, &["summary"]));
        let Some(theirs) = self.theirs_ok(&self.theirs, &["summary"]) else {
            return;
        };
        let body = |o: &Output| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let (a, b) = (body(&ours), body(&theirs));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "{}: summary line {i} differs", self.chip);
        }
        assert_eq!(a.len(), b.len(), "{}: summary lengths differ", self.chip);
    }
}

/// The entries that differ between two summaries (ours, espefuse's).
fn json_diff(a: &serde_json::Value, b: &serde_json::Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return format!("{a} vs {b}");
    };
    let mut out = Vec::new();
    for (k, va) in a {
        match b.get(k) {
            None => out.push(format!("only ours: {k}")),
            Some(vb) if vb != va => out.push(format!("{k}: ours {va} espefuse {vb}")),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("only espefuse: {k}"));
    }
    out.join("\n")
}

/// The "burn security eFuses" step of seed 003, restricted to the bool
/// fields this chip has.
fn security_efuses(chip: Chip) -> Vec<String> {
    let wanted = [
        "DIS_BOOT_REMAP",
        "DIS_DOWNLOAD_ICACHE",
        "DIS_DOWNLOAD_DCACHE",
        "HARD_DIS_JTAG",
        "DIS_DIRECT_BOOT",
        "DIS_LEGACY_SPI_BOOT",
        "DIS_USB_JTAG",
        "DIS_PAD_JTAG",
        "DIS_DOWNLOAD_MANUAL_ENCRYPT",
        "DIS_DOWNLOAD_MSPI",
    ];
    let t = chip.table();
    let mut args = vec!["burn-efuse".to_string()];
    for name in wanted {
        if t.field_index(name)
            .is_some_and(|i| t.fields[i].ty == FieldType::Bool)
        {
            args.push(name.to_string());
            args.push("1".to_string());
        }
    }
    args
}

fn has(chip: Chip, name: &str) -> bool {
    chip.table().field_index(name).is_some()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Seed 003 on S2/S3/C3/C6/H2: flash encryption, then Secure Boot V2.
fn generic_sequence(chip: Chip, full_refusals: bool) {
    let p = Pair::new(chip);
    let k256 = data("key256.bin");
    let k512 = data("key512.bin");
    let digest = data("rsa3072.digest");
    let rsa = data("rsa3072.pem");
    // Flash encryption: key (with confirmation prompt path covered elsewhere), counter, security bits.
    p.step(&["burn-key", "BLOCK_KEY0", &k256, "XTS_AES_128_KEY"]);
    p.step(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"]);
    p.step(&strs(&security_efuses(chip)));
    // Secure Boot V2: digests, enable, revoke the unused slot, lock RD_DIS.
    p.step(&["burn-key", "BLOCK_KEY1", &digest, "SECURE_BOOT_DIGEST0"]);
    p.step(&["burn-key-digest", "BLOCK_KEY2", &rsa, "SECURE_BOOT_DIGEST1"]);
    p.step(&["burn-efuse", "SECURE_BOOT_EN"]);
    p.step(&["burn-efuse", "SECURE_BOOT_KEY_REVOKE2"]);
    if has(chip, "SECURE_BOOT_AGGRESSIVE_REVOKE") {
        p.step(&["burn-efuse", "SECURE_BOOT_AGGRESSIVE_REVOKE"]);
    }
    p.step(&["write-protect-efuse", "RD_DIS"]);
    if has(chip, "DIS_ICACHE") {
        p.step(&["write-protect-efuse", "DIS_ICACHE"]);
    }
    p.json_agrees();

    // Refusals on the protected state (issue list + bad input list).
    p.refuse(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "8"]);
    p.refuse(&["burn-key", "BLOCK_KEY0", &k256, "XTS_AES_128_KEY"]); // read-protected, already used
    p.refuse(&["burn-key", "BLOCK_KEY3", &k512, "HMAC_UP"]); // wrong key size
    if full_refusals {
        p.refuse(&["burn-efuse", "SECURE_BOOT_KEY_REVOKE0", "0"]);
        p.refuse(&["burn-efuse", "KEY_PURPOSE_1", "4"]); // bits cannot be cleared
        p.refuse(&["burn-efuse", "RD_DIS", "2"]); // RD_DIS write-protected
        p.refuse(&["read-protect-efuse", "BLOCK_KEY1"]); // digest must stay readable
        p.refuse(&["burn-key", "BLOCK_KEY1", &k256, "SECURE_BOOT_DIGEST0"]); // block already used
        p.refuse(&["burn-efuse", "SPI_BOOT_CRYPTCNT", "7"]); // unknown field
        p.refuse(&["burn-key", "BLOCK_KEY3", &k256, "NOT_A_PURPOSE"]); // unknown purpose
    }
    if chip.block9_refuses(esp_efuse::KeyPurpose::XtsAes128Key) {
        p.refuse(&["burn-key", "BLOCK_KEY5", &k256, "XTS_AES_128_KEY"]); // BLOCK9 quirk
    }
    // Download mode locked last; the virtual file stays readable for both tools.
    p.step(&["burn-efuse", "ENABLE_SECURITY_DOWNLOAD"]);
    p.json_agrees();
    p.text_agrees();
}

#[test]
fn esp32c3_seed_sequences_match_espefuse() {
    generic_sequence(Chip::Esp32c3, true);
}

#[test]
fn esp32s2_seed_sequences_match_espefuse() {
    generic_sequence(Chip::Esp32s2, false);
}

#[test]
fn esp32s3_seed_sequences_match_espefuse() {
    generic_sequence(Chip::Esp32s3, false);
}

#[test]
fn esp32c6_seed_sequences_match_espefuse() {
    generic_sequence(Chip::Esp32c6, false);
}

#[test]
fn esp32h2_seed_sequences_match_espefuse() {
    generic_sequence(Chip::Esp32h2, false);
}

/// AES-256 XTS: a 512-bit key split over two free key blocks (S2/S3), with
/// the second half skipping a block named in the same command.
#[test]
fn xts_aes_256_key_split_matches_espefuse() {
    for chip in [Chip::Esp32s3, Chip::Esp32s2] {
        let p = Pair::new(chip);
        p.step(&[
            "burn-key",
            "BLOCK_KEY1",
            &data("key512.bin"),
            "XTS_AES_256_KEY",
            "--no-read-protect",
        ]);
        p.json_agrees();
    }
}

#[test]
fn esp32_seed_sequences_match_espefuse() {
    let p = Pair::new(Chip::Esp32);
    p.step(&["burn-key", "flash_encryption", &data("key256.bin")]);
    p.step(&["burn-efuse", "FLASH_CRYPT_CNT", "127"]);
    p.step(&["burn-efuse", "FLASH_CRYPT_CONFIG", "0xF"]);
    p.step(&[
        "burn-efuse",
        "DISABLE_DL_ENCRYPT",
        "1",
        "DISABLE_DL_DECRYPT",
        "1",
        "DISABLE_DL_CACHE",
        "1",
        "JTAG_DISABLE",
        "1",
    ]);
    p.step(&["burn-key", "secure_boot_v2", &data("rsa3072.digest")]);
    p.step(&["burn-efuse", "ABS_DONE_1"]);
    p.step(&["write-protect-efuse", "RD_DIS"]);
    p.step(&["write-protect-efuse", "MAC"]);
    p.json_agrees();
    p.refuse(&["burn-efuse", "FLASH_CRYPT_CNT", "128"]);
    p.refuse(&["burn-key", "secure_boot_v2", &data("key256.bin")]); // block written and protected
    p.step(&["burn-efuse", "UART_DOWNLOAD_DIS"]);
    p.json_agrees();
    p.text_agrees();
}

/// ESP32 with the 3/4 coding scheme: 24-byte keys, 6-byte chunks that can
/// only be written once each.
#[test]
fn esp32_three_quarter_coding_matches_espefuse() {
    let p = Pair::new(Chip::Esp32);
    p.step(&["burn-efuse", "CODING_SCHEME", "1"]);
    p.step(&["burn-key", "flash_encryption", &data("key192.bin")]);
    p.step(&[
        "burn-block-data",
        "BLOCK3",
        &data("key128.bin"),
        "--offset",
        "8",
    ]);
    p.refuse(&["burn-bit", "BLOCK3", "176"]); // chunk already written
    p.refuse(&["burn-key", "secure_boot_v2", &data("rsa3072.digest")]); // 32 bytes, block holds 24
    p.step(&["burn-bit", "BLOCK3", "3"]); // the empty first chunk is still writable
    p.json_agrees();
}

#[test]
fn esp32_burn_key_digest_matches_espefuse() {
    let p = Pair::new(Chip::Esp32);
    // Secure Boot V2 needs chip revision 3 (espefuse's own test setup burns these).
    p.step(&["burn-efuse", "CHIP_VER_REV1", "1", "CHIP_VER_REV2", "1"]);
    p.step(&["burn-key-digest", &data("rsa3072.pem")]);
    p.json_agrees();
}

#[test]
fn esp32c2_seed_sequences_match_espefuse() {
    let p = Pair::new(Chip::Esp32c2);
    // Seed 003: both keys together (chained commands, batch mode).
    p.step(&[
        "burn-key-digest",
        &data("ecdsa256.pem"),
        "burn-key",
        "BLOCK_KEY0",
        &data("key128.bin"),
        "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
    ]);
    p.step(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"]);
    p.step(&strs(&security_efuses(Chip::Esp32c2)));
    p.step(&["burn-efuse", "SECURE_BOOT_EN"]);
    p.step(&["write-protect-efuse", "RD_DIS"]);
    p.json_agrees();
    p.refuse(&["read-protect-efuse", "BLOCK_KEY0_HI_128"]);
    p.refuse(&[
        "burn-key",
        "BLOCK_KEY0",
        &data("key256.bin"),
        "XTS_AES_128_KEY",
    ]);
    p.step(&["burn-efuse", "ENABLE_SECURITY_DOWNLOAD"]);
    p.json_agrees();

    let q = Pair::new(Chip::Esp32c2);
    q.step(&[
        "burn-key",
        "BLOCK_KEY0",
        &data("key256.bin"),
        "XTS_AES_128_KEY",
    ]);
    q.json_agrees();
}

/// ESP32-C6 accepts unused 4-bit purpose values as CUSTOM_<n> / CUSTOM_DIGEST_<n>.
#[test]
fn esp32c6_custom_key_purposes_match_espefuse() {
    let p = Pair::new(Chip::Esp32c6);
    p.step(&[
        "burn-key",
        "BLOCK_KEY3",
        &data("key256.bin"),
        "CUSTOM_13",
        "burn-key-digest",
        "BLOCK_KEY4",
        &data("rsa3072.pem"),
        "CUSTOM_DIGEST_14",
    ]);
    p.json_agrees();
}
