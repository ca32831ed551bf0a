//! Seed 003's host-based security workflows (`003_3022dd20a89f669b.txt`:
//! flash encryption, Secure Boot V2, and both) run start to end against
//! `espboot sim serve`, every line of the seed in its order, placeholders
//! filled in and otherwise verbatim (the old `.py` names, underscore
//! commands, the default reset, `BURN` typed at the prompt, `$ESPPORT`
//! expanded by `sh`). Each workflow runs twice on twin devices: device A
//! with the pinned esptool/espsecure/espefuse/imgtool (issue 12), device B
//! through espboot's multi-call names (issue 13). At the end both device
//! directories are byte-identical, the real `espefuse summary` shows every
//! field the seed's lines burned or protected, and each device boots the
//! image the seed flashed (the ROM decrypting and verifying the
//! bootloader, MCUboot the app).
//!
//! Where a seed line cannot run as written, the test says so: two of its
//! espefuse lines are usage errors for espefuse 5.6.0 (`burn_efuse --port`
//! after the command, `burn_key BLOCK SECURE_BOOT_DIGEST0 digest.bin` with
//! the purpose before the file); both tools must refuse them with click's
//! exit status 2, and the corrected line follows. The ESP32-C3 bootloader
//! encryption line names `build/my-app.bin` as its input (a typo of the
//! seed): the bootloader is used. With both features the signed binaries
//! are the ones encrypted (step 5 of flash encryption after step 6 of
//! Secure Boot V2), as a device that boots both needs.
//!
//! Host lines whose output is random (key generation, RSA-PSS signatures,
//! imgtool's ECDSA) are checked on B (the signature verified by the pinned
//! espsecure/imgtool) and then replaced by A's file, so that the port lines
//! of both devices get the same inputs; every other host output must be
//! byte-identical between the two tool sets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support as common;
use crate::support::serve::{new_device, tool, Served};

/// One workflow's lines on one chip.
struct Flow {
    chip: &'static str,
    name: &'static str,
    /// The bootloader's security options (what the seed says to select in
    /// menuconfig for this workflow).
    config: &'static str,
    lines: Vec<String>,
    /// The flash offset of the bootloader (the ROM reads it there).
    bootloader: u32,
    secure_boot: bool,
    flash_encryption: bool,
}

const FE_CONFIG: &str =
    "CONFIG_SECURE_FLASH_ENC_ENABLED=y\nCONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y\n";
const SB_CONFIG: &str = "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n";

/// The seed's `espefuse.py burn_efuse --port PORT EFUSE_NAME 0x1` as
/// written: espefuse 5.6.0 wants `--port` before the command (exit 2).
const BURN_EFUSE_PORT_AFTER: &str = "espefuse.py burn_efuse --port PORT JTAG_DISABLE 0x1";

fn flows() -> Vec<Flow> {
    let c3_fe: &[&str] = &[
        "esptool.py --port PORT erase_flash",
        "espsecure.py generate_flash_encryption_key my_flash_encryption_key.bin",
        "espefuse.py --port PORT burn_key BLOCK_KEY0 my_flash_encryption_key.bin XTS_AES_128_KEY",
        "espefuse.py --port PORT --chip esp32c3 burn_efuse SPI_BOOT_CRYPT_CNT 7",
    ];
    let c3_sb: &[&str] = &[
        "espsecure.py generate_signing_key --version 2 --scheme rsa3072 secure_boot_signing_key.pem",
        "espsecure.py digest_sbv2_public_key --keyfile secure_boot_signing_key.pem --output digest.bin",
    ];
    let c3_sign: &[&str] = &[
        "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output bootloader-signed.bin build/bootloader/bootloader.bin",
        "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output my-app-signed.bin build/my-app.bin",
        "espsecure.py signature_info_v2 bootloader-signed.bin",
    ];
    let c3_fe_burns: &[&str] = &[
        "espefuse.py burn_efuse --port PORT DIS_PAD_JTAG 0x1",
        "espefuse.py --port PORT burn_efuse DIS_DOWNLOAD_ICACHE 0x1 DIS_PAD_JTAG 0x1 DIS_USB_JTAG 0x1 DIS_DIRECT_BOOT 0x1 DIS_DOWNLOAD_MANUAL_ENCRYPT 0x1",
        "espefuse.py --port PORT write_protect_efuse DIS_ICACHE",
    ];
    let c3_sb_burns: &[&str] = &[
        "espefuse.py --port PORT burn_efuse SOFT_DIS_JTAG 0x1 SECURE_BOOT_AGGRESSIVE_REVOKE 0x1",
        "espefuse.py -p $ESPPORT write_protect_efuse RD_DIS",
        "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_KEY_REVOKE1",
        "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_KEY_REVOKE2",
    ];
    let c3_sdm = "espefuse.py --port PORT burn_efuse ENABLE_SECURITY_DOWNLOAD";
    let c3_digest = |block: &'static str| -> [&'static str; 4] {
        match block {
            "BLOCK_KEY0" => [
                "espefuse.py --port PORT --chip esp32c3 burn_key BLOCK_KEY0 SECURE_BOOT_DIGEST0 digest.bin",
                "espefuse.py --port PORT --chip esp32c3 burn_key BLOCK_KEY0 digest.bin SECURE_BOOT_DIGEST0",
                "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_EN",
                "",
            ],
            _ => [
                "espefuse.py --port PORT --chip esp32c3 burn_key BLOCK_KEY1 SECURE_BOOT_DIGEST0 digest.bin",
                "espefuse.py --port PORT --chip esp32c3 burn_key BLOCK_KEY1 digest.bin SECURE_BOOT_DIGEST0",
                "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_EN",
                "",
            ],
        }
    };
    let c3_encrypt = |boot: &'static str, app: &'static str| -> Vec<&'static str> {
        match (boot, app) {
            ("bootloader-signed.bin", _) => vec![
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x0 --output bootloader-enc.bin bootloader-signed.bin",
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x8000 --output partition-table-enc.bin build/partition_table/partition-table.bin",
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x20000 --output my-app-enc.bin my-app-signed.bin",
            ],
            _ => vec![
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x0 --output bootloader-enc.bin build/bootloader/bootloader.bin",
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x8000 --output partition-table-enc.bin build/partition_table/partition-table.bin",
                "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x20000 --output my-app-enc.bin build/my-app.bin",
            ],
        }
    };
    let write_enc_c3 = "esptool.py --port PORT write_flash 0x0 bootloader-enc.bin 0x8000 partition-table-enc.bin 0x20000 my-app-enc.bin";
    let cat = |parts: &[&[&'static str]]| -> Vec<String> {
        parts
            .iter()
            .flat_map(|p| p.iter().copied())
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    };

    let e32_fe: &[&str] = &[
        "esptool.py --port PORT erase_flash",
        "espsecure.py generate_flash_encryption_key my_flash_encryption_key.bin",
        "espefuse.py --port PORT burn_key flash_encryption my_flash_encryption_key.bin",
        "espefuse.py --port PORT --chip esp32 burn_efuse FLASH_CRYPT_CNT 127",
        "espefuse.py --port PORT --chip esp32 burn_efuse FLASH_CRYPT_CONFIG 0xF",
    ];
    let e32_sb: &[&str] = &[
        "espsecure.py generate_signing_key --version 2 --scheme rsa3072 secure_boot_signing_key.pem",
        "espsecure.py digest_sbv2_public_key --keyfile secure_boot_signing_key.pem --output digest.bin",
        "espefuse.py --port PORT --chip esp32 burn_key secure_boot_v2 digest.bin",
        "espefuse.py --port PORT --chip esp32 burn_efuse ABS_DONE_1",
    ];
    let e32_encrypt = |signed: bool| -> Vec<&'static str> {
        if signed {
            vec![
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x1000 --output bootloader-enc.bin bootloader-signed.bin",
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x8000 --output partition-table-enc.bin build/partition_table/partition-table.bin",
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x20000 --output my-app-enc.bin my-app-signed.bin",
            ]
        } else {
            vec![
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x1000 --output bootloader-enc.bin build/bootloader/bootloader.bin",
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x8000 --output partition-table-enc.bin build/partition_table/partition-table.bin",
                "espsecure.py encrypt_flash_data --keyfile my_flash_encryption_key.bin --address 0x20000 --output my-app-enc.bin build/my-app.bin",
            ]
        }
    };
    let write_enc_e32 = "esptool.py --port PORT write_flash 0x1000 bootloader-enc.bin 0x8000 partition-table-enc.bin 0x20000 my-app-enc.bin";
    let e32_fe_burns: &[&str] = &[
        BURN_EFUSE_PORT_AFTER,
        "espefuse.py --port PORT burn_efuse DISABLE_DL_ENCRYPT 0x1 DISABLE_DL_DECRYPT 0x1 DISABLE_DL_CACHE 0x1 JTAG_DISABLE 0x1",
        "espefuse.py --port PORT write_protect_efuse MAC",
    ];
    let e32_dl_dis = "espefuse.py --port PORT burn_efuse UART_DOWNLOAD_DIS";
    let e32_rd_dis = "espefuse.py -p $ESPPORT write_protect_efuse RD_DIS";

    vec![
        Flow {
            chip: "esp32c3",
            name: "flash encryption",
            config: FE_CONFIG,
            lines: cat(&[
                c3_fe,
                &c3_encrypt("build/bootloader/bootloader.bin", "build/my-app.bin"),
                &[write_enc_c3],
                c3_fe_burns,
                &[c3_sdm],
            ]),
            bootloader: 0,
            secure_boot: false,
            flash_encryption: true,
        },
        // The ESP32-C3 alone is not run: the port's ESP32-C3 bootloader
        // asks for chip revision v0.3 in its header, the virtual ESP32-C3
        // is a v0.0, and esptool refuses the plain write (as on silicon);
        // the S3 runs the same lines with its own `--chip`
        Flow {
            chip: "esp32s3",
            name: "secure boot v2",
            config: SB_CONFIG,
            lines: cat(&[
                &["esptool.py --port PORT erase_flash"],
                c3_sb,
                &c3_digest("BLOCK_KEY0"),
                c3_sign,
                &["esptool.py --port PORT write_flash 0x0 bootloader-signed.bin 0x8000 build/partition_table/partition-table.bin 0x20000 my-app-signed.bin"],
                &["espefuse.py burn_efuse --port PORT DIS_PAD_JTAG 0x1"],
                &["espefuse.py --port PORT burn_efuse DIS_PAD_JTAG 0x1 DIS_USB_JTAG 0x1 DIS_DIRECT_BOOT 0x1"],
                c3_sb_burns,
                &[c3_sdm],
            ])
            .into_iter()
            .map(|l| l.replace("esp32c3", "esp32s3"))
            .collect(),
            bootloader: 0,
            secure_boot: true,
            flash_encryption: false,
        },
        Flow {
            chip: "esp32c3",
            name: "flash encryption and secure boot v2",
            config: "CONFIG_SECURE_FLASH_ENC_ENABLED=y\nCONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y\nCONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n",
            lines: cat(&[
                c3_fe,
                c3_sb,
                &c3_digest("BLOCK_KEY1"),
                c3_sign,
                &c3_encrypt("bootloader-signed.bin", "my-app-signed.bin"),
                &[write_enc_c3],
                c3_fe_burns,
                c3_sb_burns,
                &[c3_sdm],
            ]),
            bootloader: 0,
            secure_boot: true,
            flash_encryption: true,
        },
        Flow {
            chip: "esp32",
            name: "flash encryption",
            config: FE_CONFIG,
            lines: cat(&[
                e32_fe,
                &e32_encrypt(false),
                &[write_enc_e32],
                e32_fe_burns,
                &[e32_dl_dis],
            ]),
            bootloader: 0x1000,
            secure_boot: false,
            flash_encryption: true,
        },
        Flow {
            chip: "esp32",
            name: "secure boot v2",
            config: SB_CONFIG,
            lines: cat(&[
                &["esptool.py --port PORT erase_flash"],
                e32_sb,
                &[
                    "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output bootloader-signed.bin build/bootloader/bootloader.bin",
                    "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output my-app-signed.bin build/my-app.bin",
                    "espsecure.py signature_info_v2 bootloader-signed.bin",
                    "esptool.py --port PORT write_flash 0x1000 bootloader-signed.bin 0x8000 build/partition_table/partition-table.bin 0x20000 my-app-signed.bin",
                    BURN_EFUSE_PORT_AFTER,
                    "espefuse.py --port PORT burn_efuse JTAG_DISABLE 0x1",
                    e32_rd_dis,
                    e32_dl_dis,
                ],
            ]),
            bootloader: 0x1000,
            secure_boot: true,
            flash_encryption: false,
        },
        Flow {
            chip: "esp32",
            name: "flash encryption and secure boot v2",
            config: "CONFIG_SECURE_FLASH_ENC_ENABLED=y\nCONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y\nCONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n",
            lines: cat(&[
                e32_fe,
                e32_sb,
                &[
                    "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output bootloader-signed.bin build/bootloader/bootloader.bin",
                    "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output my-app-signed.bin build/my-app.bin",
                    "espsecure.py signature_info_v2 bootloader-signed.bin",
                ],
                &e32_encrypt(true),
                &[write_enc_e32],
                // JTAG_DISABLE, secure boot's step 7A on the ESP32, is in
                // flash encryption's step 6A already
                e32_fe_burns,
                &[e32_rd_dis, e32_dl_dis],
            ]),
            bootloader: 0x1000,
            secure_boot: true,
            flash_encryption: true,
        },
    ]
}

/// Whether espefuse 5.6.0 refuses the line as a usage error (exit 2).
fn usage_error(line: &str) -> bool {
    line.starts_with("espefuse.py burn_efuse --port")
        || line.contains("SECURE_BOOT_DIGEST0 digest.bin")
}

/// One side of the twin run: a device, its server, a working directory
/// with the seed's `build/` files, and the directory its tools come from.
struct Side {
    work: PathBuf,
    dev: PathBuf,
    tools: PathBuf,
    served: Option<Served>,
}

impl Side {
    /// Runs `line` with `sh` in the working directory, the side's tools
    /// first on PATH, `BURN` on stdin; killed by its process id if it
    /// overruns.
    fn run(&self, line: &str) -> (i32, String) {
        let port = self
            .served
            .as_ref()
            .map(|s| s.port_arg())
            .unwrap_or_default();
        // `$ESPPORT` is left to `sh`; `PORT` is the seed's placeholder
        let text = line
            .replace("$ESPPORT", "\u{0}")
            .replace("PORT", &port)
            .replace('\u{0}', "$ESPPORT");
        let path = format!(
            "{}:{}",
            self.tools.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new("sh")
            .args(["-c", &text])
            .current_dir(&self.work)
            .env("PATH", path)
            .env("ESPPORT", &port)
            .env("COLUMNS", "300")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            // a line that asks nothing may close stdin first
            let _ = stdin.write_all(b"BURN\n");
        }
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if start.elapsed() > Duration::from_secs(120) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{line}: did not finish in 120 s");
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("{e}"),
            }
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

/// The files directly in `dir`, by name.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seed's `build/` directory in `work`: the virtual chip's bootloader
/// built with the workflow's security options, an app signed by `imgtool`
/// (the side's) for the primary slot, and a partition table.
fn build(flow: &Flow, work: &Path, imgtool: &Path, key: &Path) {
    let conf = work.join("bootloader.conf");
    std::fs::write(
        &conf,
        format!(
            "CONFIG_ESP_SIGN_EC256=y\nCONFIG_ESP_SIGN_KEY_FILE={}\n{}",
            key.display(),
            flow.config
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b = work.join("build");
    std::fs::create_dir_all(b.join("bootloader")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(b.join("partition_table")).unwrap_or_else(|e| panic!("{e}"));
    common::run_ok(
        common::espboot()
            .args(["sim", "build-bootloader", "--target", flow.chip, "--config"])
            .arg(&conf)
            .arg("-o")
            .arg(b.join("bootloader/bootloader.bin")),
    );
    let raw = work.join("app-raw.bin");
    common::run_ok(
        common::espboot()
            .args(["sim", "build-app", "--target", flow.chip])
            .args(["--version", "1.2.3", "--size", "20000", "-o"])
            .arg(&raw),
    );
    // the primary slot's size on the port's default map (`sim new --json`)
    let sign_size = if flow.chip != "esp32c3" {
        "0x150000"
    } else {
        "0x1C0000"
    };
    let out = Command::new(imgtool)
        .args(["sign", "-k"])
        .arg(key)
        .args(["-H", "32", "--pad-header", "--align", "4", "-S", sign_size])
        .args(["-v", "1.2.3"])
        .arg(&raw)
        .arg(b.join("my-app.bin"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a partition table's size; its bytes do not matter to MCUboot
    std::fs::write(
        b.join("partition_table/partition-table.bin"),
        crate::support::serve::data(0xC00, 3),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// `espefuse --virt` summary of a device's eFuse file, as JSON.
fn summary(chip: &str, dev: &Path) -> serde_json::Value {
    let text = tool(
        "espefuse",
        &[
            "--chip".into(),
            chip.into(),
            "--virt".into(),
            "--path-efuse-file".into(),
            dev.join("efuse.bin").display().to_string(),
            "summary".into(),
            "--format".into(),
            "json".into(),
        ],
    )
    .ok();
    let start = text.find('{').unwrap_or_else(|| panic!("no JSON: {text}"));
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Every field the flow's lines burned holds its value, every protected
/// field is write-protected, every key purpose is burned.
#[track_caller]
fn assert_final_state(flow: &Flow, json: &serde_json::Value) {
    let raw = |name: &str| -> u64 {
        let v = &json[name]["raw_value"];
        let s = v.as_str().unwrap_or_else(|| panic!("{name}: {v}"));
        u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut checked = 0;
    for line in &flow.lines {
        if usage_error(line) {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |cmd: &str| {
            words
                .iter()
                .position(|w| *w == cmd)
                .map(|i| words[i + 1..].to_vec())
        };
        if let Some(pairs) = after("burn_efuse") {
            for pair in pairs.chunks(2) {
                let value = pair.get(1).map_or(1, |v| {
                    u64::from_str_radix(
                        v.trim_start_matches("0x"),
                        if v.starts_with("0x") { 16 } else { 10 },
                    )
                    .unwrap_or_else(|e| panic!("{v}: {e}"))
                });
                assert_eq!(raw(pair[0]), value, "{} {}: {line}", flow.chip, flow.name);
                checked += 1;
            }
        }
        if let Some(fields) = after("write_protect_efuse") {
            for field in fields {
                assert_eq!(json[field]["writeable"], false, "{} {line}", flow.chip);
                checked += 1;
            }
        }
        if let Some(args) = after("burn_key") {
            if let [block, _, purpose] = args[..] {
                let n = block.trim_start_matches("BLOCK_KEY");
                assert_eq!(json[format!("KEY_PURPOSE_{n}")]["value"], purpose, "{line}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3,
        "{} {}: {checked} fields checked",
        flow.chip,
        flow.name
    );
}

/// The device's next power-on boots the flashed app through the ROM's
/// checks the workflow enabled; returns the boot report.
#[track_caller]
fn assert_boots(flow: &Flow, dev: &Path) -> serde_json::Value {
    let out = common::run_ok(common::espboot().args(["sim", "boot", "--json"]).arg(dev));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let what = format!("{} {}: {v}", flow.chip, flow.name);
    assert_eq!(v["booted"], true, "{what}");
    assert_eq!(v["images"][0]["version"], "1.2.3+0", "{what}");
    assert_eq!(
        v["rom"]["bootloader_offset"],
        format!("{:#x}", flow.bootloader),
        "{what}"
    );
    assert_eq!(
        v["rom"]["flash_encryption"], flow.flash_encryption,
        "{what}"
    );
    if flow.secure_boot {
        assert_eq!(v["rom"]["secure_boot"], "verified", "{what}");
    } else {
        assert_ne!(v["rom"]["secure_boot"], "verified", "{what}");
    }
    // the boot resets nothing and burns nothing: the host did it all
    assert_eq!(v["first_boot"], serde_json::json!([]), "{what}");
    v
}

/// Runs one workflow on twin devices; returns the number of lines run.
fn run_flow(flow: &Flow, root: &Path, links: &Path, key: &Path) -> usize {
    let dir = root.join(format!("{}-{}", flow.chip, flow.name.replace(' ', "-")));
    let mut sides = Vec::new();
    for (side, tools) in [
        ("a", common::reference_bin_dir()),
        ("b", links.to_path_buf()),
    ] {
        let work = dir.join(side);
        std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
        // the same device name on both sides: the same factory MAC
        let dev = work.join("dev");
        new_device(&dev, flow.chip, None);
        build(flow, &work, &tools.join("imgtool"), key);
        let served = Served::start(&dev, &work, "download", false);
        sides.push(Side {
            work,
            dev,
            tools,
            served: Some(served),
        });
    }
    let (a, b) = (&sides[0], &sides[1]);
    // imgtool's ECDSA signature is random: B's app must verify with the
    // pinned imgtool, then both sides flash A's
    tool(
        "imgtool",
        &[
            "verify".into(),
            "-k".into(),
            key.display().to_string(),
            b.work.join("build/my-app.bin").display().to_string(),
        ],
    )
    .ok();
    // as ESP-IDF's build leaves a binary: a whole number of flash
    // encryption blocks (erased bytes after the image's TLVs)
    let app = a.work.join("build/my-app.bin");
    let mut bytes = read(&app);
    bytes.resize(bytes.len().div_ceil(0x1000) * 0x1000, 0xFF);
    std::fs::write(&app, &bytes).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(&app, b.work.join("build/my-app.bin")).unwrap_or_else(|e| panic!("{e}"));
    for line in &flow.lines {
        let expected = if usage_error(line) { 2 } else { 0 };
        let (code_a, out_a) = a.run(line);
        assert_eq!(
            code_a, expected,
            "{} {}: pinned tools: {line}\n{out_a}",
            flow.chip, flow.name
        );
        let (code_b, out_b) = b.run(line);
        assert_eq!(
            code_b, expected,
            "{} {}: espboot's names: {line}\n{out_b}",
            flow.chip, flow.name
        );
        if expected == 0 && line.starts_with("espefuse.py") {
            for out in [&out_a, &out_b] {
                assert!(out.contains("Successful."), "{line}:\n{out}");
            }
        }
        if !line.starts_with("espsecure.py") {
            continue;
        }
        // host outputs: random ones checked and replaced by A's, the
        // others identical
        let random = line.contains("generate_") || line.contains("sign_data");
        for name in files(&a.work) {
            let (fa, fb) = (a.work.join(&name), b.work.join(&name));
            let same = fb.exists() && read(&fa) == read(&fb);
            if same {
                continue;
            }
            assert!(
                random,
                "{} {}: {name} differs after {line}",
                flow.chip, flow.name
            );
            if line.contains("sign_data") {
                let out = line
                    .split_whitespace()
                    .skip_while(|w| *w != "--output")
                    .nth(1);
                if out == Some(name.as_str()) {
                    tool(
                        "espsecure",
                        &[
                            "verify-signature".into(),
                            "--version".into(),
                            "2".into(),
                            "--keyfile".into(),
                            a.work
                                .join("secure_boot_signing_key.pem")
                                .display()
                                .to_string(),
                            fb.display().to_string(),
                        ],
                    )
                    .ok();
                }
            }
            std::fs::copy(&fa, &fb).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // stop both servers (by pid), then the devices
    for side in &mut sides {
        side.served = None;
    }
    let (a, b) = (&sides[0], &sides[1]);
    let names = files(&a.dev);
    assert_eq!(names, files(&b.dev), "{} {}", flow.chip, flow.name);
    for name in names.iter().filter(|n| !n.ends_with(".lock")) {
        assert!(
            read(&a.dev.join(name)) == read(&b.dev.join(name)),
            "{} {}: dev/{name} differs between the pinned tools and espboot's names",
            flow.chip,
            flow.name
        );
    }
    let json = summary(flow.chip, &a.dev);
    assert_final_state(flow, &json);
    assert_eq!(json, summary(flow.chip, &b.dev));
    let boot_a = assert_boots(flow, &a.dev);
    let boot_b = assert_boots(flow, &b.dev);
    assert_eq!(boot_a["rom"], boot_b["rom"]);
    assert_eq!(boot_a["images"], boot_b["images"]);
    flow.lines.len()
}

/// Issue 12 and 13: seed 003's three workflows on ESP32 and ESP32-C3
/// (Secure Boot V2 alone on the ESP32-S3 instead of the C3), each
/// start to end with the pinned tools on one device and espboot's
/// `esptool.py`/`espefuse.py`/`espsecure.py`/`imgtool` names on its twin.
#[test]
fn seed_003_workflows_run_start_to_end_with_both_tool_sets() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = tmp.path();
    let links = root.join("links");
    std::fs::create_dir_all(&links).unwrap_or_else(|e| panic!("{e}"));
    for name in ["esptool.py", "espefuse.py", "espsecure.py", "imgtool"] {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), links.join(name))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // MCUboot's app signing key (the bootloader embeds its public half)
    let key = root.join("root.pem");
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
    let flows = flows();
    let lines: usize = std::thread::scope(|s| {
        let handles: Vec<_> = ["esp32c3", "esp32", "esp32s3"]
            .into_iter()
            .map(|chip| {
                let flows = &flows;
                let (links, key) = (&links, &key);
                s.spawn(move || {
                    flows
                        .iter()
                        .filter(|f| f.chip == chip)
                        .map(|f| run_flow(f, root, links, key))
                        .sum::<usize>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a workflow failed")))
            .sum()
    });
    eprintln!(
        "seed 003: {} workflows, {lines} lines, each run with both tool sets",
        flows.len()
    );
}

/// Seed 000's serial recovery example (`000_b14e26da2b907e72.txt`,
/// "MCUMGR image upload example": upload, then reset) in smpmgr's
/// spelling, `--port` on the recovery UART: with the pinned smpmgr on one
/// ESP32-C3 and espboot's `smpmgr` name on another, both end with the same
/// primary slot and boot the uploaded image after the reset. (The
/// `mcumgr` lines themselves run through espboot's `mcumgr` name in
/// `recover::seed_mcumgr_lines_run_verbatim_through_the_link`.)
#[test]
fn seed_000_recovery_upload_and_reset_with_smpmgr_and_espboots_smpmgr() {
    use super::recover::{boots, normal_boot_mode, rec_port, Fixture};
    if common::interop_skipped() {
        return;
    }
    let fx = Fixture::new();
    let links = fx.links();
    let app = fx.signed_app("esp32c3", "2.0.1", 25_000);
    let app_arg = app.display().to_string();
    let mut flashes = Vec::new();
    for (name, program) in [
        ("pinned", common::reference_bin_dir().join("smpmgr")),
        ("espboot", links.join("smpmgr")),
    ] {
        let dev = fx.device(name, "esp32c3", "");
        let served = Served::start(&dev, &fx.dir, "recovery", true);
        served.wait_log("reset: serial recovery");
        let port = rec_port(&served);
        let smpmgr = |args: &[&str]| {
            let out = Command::new(&program)
                .arg("--port")
                .arg(&port)
                .args(args)
                .env("COLUMNS", "300")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.status.success(),
                "{name} smpmgr {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        smpmgr(&["image", "upload", &app_arg]);
        normal_boot_mode(&served, &dev);
        smpmgr(&["os", "reset"]);
        served.wait_log("reset: normal boot");
        drop(served);
        boots(&dev, "2.0.1");
        flashes.push(read(&dev.join("flash.bin")));
    }
    assert!(flashes[0] == flashes[1], "the two primary slots differ");
}
