//! `espboot provision`: the command lines `provision plan` prints do, run
//! by the pinned espefuse, exactly what `provision run` does; what
//! `provision run --json` says each step burned is what espefuse reads.
#![allow(clippy::unwrap_used)]

use espboot_provision::fixtures::{self, FeSbPlan};

use crate::support::{espboot, provision_events, run_ok};

/// For each chip's FE + SB plan: `provision run` on a virtual device, and
/// every espefuse line of `provision plan` run by the real espefuse on a
/// fresh virtual eFuse file, leave byte-identical eFuse files.
#[test]
fn provision_plan_espefuse_lines_burn_what_provision_run_burns() {
    for (chip, key_bits, scheme, final_fe, final_sb) in [
        (
            "esp32c3",
            256,
            "ecdsa256",
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }\nwrite_protect = true",
            "efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }\nwrite_protect_rd_dis = true\ndownload_mode = \"secure\"",
        ),
        (
            "esp32s3",
            512,
            "rsa3072",
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_DOWNLOAD_DCACHE = true }\nwrite_protect = true",
            "write_protect_rd_dis = true",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("fe.bin"),
            fixtures::flash_encryption_key(key_bits / 8),
        )
        .unwrap();
        run_ok(
            espboot()
                .args(["secure", "generate-signing-key", "--version", "2", "--scheme", scheme])
                .arg(d.join("sb0.pem")),
        );
        let plan = d.join("plan.toml");
        let fe = format!("mode = \"release\"\nkey_bits = {key_bits}");
        let text = FeSbPlan {
            chip,
            flash_encryption: &fe,
            flash_encryption_final: final_fe,
            secure_boot_scheme: scheme,
            secure_boot_final: final_sb,
            firmware: "",
        }
        .text();
        std::fs::write(&plan, text).unwrap();
        let dev = d.join("dev");
        run_ok(espboot().args(["sim", "new", "--target", chip]).arg(&dev));
        // espefuse starts from the device's factory eFuses (its own MAC)
        let reference = d.join("reference.bin");
        std::fs::copy(dev.join("efuse.bin"), &reference).unwrap();
        run_ok(
            espboot()
                .args(["provision", "run"])
                .arg(&plan)
                .arg("--device")
                .arg(&dev)
                .arg("--record")
                .arg(d.join("r.db")),
        );
        let out = run_ok(espboot().args(["provision", "plan", "--json"]).arg(&plan));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

        // the seed's host files: the digest, the split key halves
        let mut espsecure = crate::reference_tool!("espsecure");
        run_ok(
            espsecure
                .args(["digest-sbv2-public-key", "--keyfile"])
                .arg(d.join("sb0.pem"))
                .arg("--output")
                .arg(d.join("digest0.bin")),
        );
        let key = std::fs::read(d.join("fe.bin")).unwrap();
        std::fs::write(d.join("fe.bin.aa"), &key[..key.len().min(32)]).unwrap();
        std::fs::write(d.join("fe.bin.ab"), &key[key.len().min(32)..]).unwrap();

        let mut lines = 0;
        for step in doc["steps"].as_array().unwrap() {
            let command = step["command"].as_str().unwrap();
            let Some(args) = command.strip_prefix("espefuse --port PORT ") else {
                continue;
            };
            let mut espefuse = crate::reference_tool!("espefuse");
            espefuse
                .current_dir(d)
                .args(["--virt", "--path-efuse-file"])
                .arg(&reference)
                .arg("--do-not-confirm")
                .args(
                    args.split_whitespace()
                        .map(|a| a.replace("my_flash_encryption_key.bin", "fe.bin")),
                );
            run_ok(&mut espefuse);
            lines += 1;
        }
        assert!(lines >= 8, "{chip}: {lines} espefuse lines");
        assert_eq!(
            std::fs::read(&reference).unwrap(),
            std::fs::read(dev.join("efuse.bin")).unwrap(),
            "{chip}: espefuse running the plan's lines differs from provision run"
        );
    }
}

/// `provision run --json` on an ESP32-C3 FE + SB plan: every step event
/// that says it burned something names what the pinned espefuse then reads
/// from the device: each field's value, each write protection, each key
/// block's purpose, the Secure Boot digest's bytes.
#[test]
fn provision_run_json_events_name_what_espefuse_reads_on_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("fe.bin"), fixtures::flash_encryption_key(32)).unwrap();
    run_ok(
        espboot()
            .args([
                "secure",
                "generate-signing-key",
                "--version",
                "2",
                "--scheme",
                "ecdsa256",
            ])
            .arg(d.join("sb0.pem")),
    );
    let plan = d.join("plan.toml");
    let text = FeSbPlan {
        chip: "esp32c3",
        flash_encryption: "mode = \"release\"\nkey_bits = 256",
        flash_encryption_final:
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true }\nwrite_protect = true",
        secure_boot_scheme: "ecdsa256",
        secure_boot_final:
            "efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }\nwrite_protect_rd_dis = true",
        firmware: "",
    }
    .text();
    std::fs::write(&plan, text).unwrap();
    let dev = d.join("dev");
    run_ok(
        espboot()
            .args(["sim", "new", "--target", "esp32c3"])
            .arg(&dev),
    );
    let out = run_ok(
        espboot()
            .args(["provision", "run", "--json"])
            .arg(&plan)
            .arg("--device")
            .arg(&dev)
            .arg("--record")
            .arg(d.join("r.db")),
    );
    let events = provision_events(&out.stdout);

    let mut espefuse = crate::reference_tool!("espefuse");
    let out = run_ok(
        espefuse
            .args(["--chip", "esp32c3", "--virt", "--path-efuse-file"])
            .arg(dev.join("efuse.bin"))
            .arg("summary"),
    );
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    // a field's line: `NAME (BLOCKn)  description  = value R/W (0bBITS)`
    let line = |name: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing:\n{summary}"))
            .to_owned()
    };
    // a block's value: the first line starting with `=` after its name
    let value = |name: &str| {
        summary
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{name} ")))
            .skip(1)
            .map(str::trim)
            .find(|l| l.starts_with('='))
            .unwrap_or_else(|| panic!("{name} has no value:\n{summary}"))
            .to_owned()
    };
    let mut checked = 0;
    for e in events.iter().filter(|e| e["state"] == "done") {
        let detail = e["detail"].as_str().unwrap();
        match e["kind"].as_str().unwrap() {
            "BurnEfuse" => {
                let (field, v) = detail.split_once('=').unwrap();
                let v = u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap();
                let bits = format!("(0b{v:b})");
                assert!(line(field).ends_with(&bits), "{detail}: {}", line(field));
            }
            "WriteProtect" => {
                let field = detail.strip_suffix(" write-protected").unwrap();
                assert!(line(field).contains(" R/- "), "{detail}: {}", line(field));
            }
            "BurnKey" | "BurnKeyDigest" => {
                // `BLOCK_KEYn PURPOSE …`: the purpose in KEY_PURPOSE_n
                let mut words = detail.split_whitespace();
                let block = words.next().unwrap();
                let purpose = words.next().unwrap();
                let n = block.strip_prefix("BLOCK_KEY").unwrap();
                let purpose_line = line(&format!("KEY_PURPOSE_{n}"));
                assert!(
                    purpose_line.contains(&format!("= {purpose} ")),
                    "{detail}: {purpose_line}"
                );
                if let Some(digest) = detail.split("sha256:").nth(1) {
                    let bytes: Vec<&str> = (0..digest.len())
                        .step_by(2)
                        .map(|i| &digest[i..i + 2])
                        .collect();
                    assert_eq!(
                        value(block),
                        format!("= {} R/-", bytes.join(" ")),
                        "{detail}"
                    );
                } else {
                    // the flash-encryption key: unreadable
                    assert_eq!(
                        value(block),
                        format!("= {}-/-", "?? ".repeat(32)),
                        "{detail}"
                    );
                }
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} burns checked");
}
