//! `espboot provision`: the command lines `provision plan` prints do, run
//! by the pinned espefuse, exactly what `provision run` does.
#![allow(clippy::unwrap_used)]

use espboot_provision::fixtures::{self, FeSbPlan};

use crate::support::{espboot, run_ok};

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
