//! `--extend-efuse-table` user fields as ordinary fields of every espefuse
//! command, against the pinned espefuse 5.6.0 on every chip: one CSV with
//! fields of 1 to 128 bits, a multi-row field, an alternative name and a
//! whole block, then command sequences run through both tools on twin
//! virtual eFuse files; exit status, stdout, stderr (temp paths
//! normalized) and the eFuse files after every step must agree.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support;

const CHIPS: [&str; 7] = [
    "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
];

/// A realistic custom table for `chip`: user data in its user block, a
/// whole key block, and a field of a read-protectable key block.
fn table(chip: &str) -> String {
    // (user block, a whole key block, a key block that can be read-protected)
    let (user, whole, key) = match chip {
        "esp32" => (3, 1, 2),
        "esp32c2" => (2, 3, 3),
        _ => (3, 5, 4),
    };
    format!(
        "# field_name, efuse_block, bit_start, bit_count, comment
USER_FLAG,      EFUSE_BLK{user}, 0,   1,  [UFLAG] User flag
MODULE_VERSION, EFUSE_BLK{user}, 8,   8,  Module version
BOARD_ID,       EFUSE_BLK{user}, 16,  16, Board id
SERIAL_NO,      EFUSE_BLK{user}, 32,  32, Serial number
MFG_STAMP,      EFUSE_BLK{user}, 64,  64, Manufacturing stamp
DEVICE_UUID,    EFUSE_BLK{user}, 128, 64, Device UUID part\\
,               EFUSE_BLK{user}, 192, 56, Device UUID part
KEY_BLOB,       EFUSE_BLK{whole}, 0, MAX_BLK_LEN, Whole key block
KEY_TAG,        EFUSE_BLK{key}, 0, 128, Key tag
"
    )
}

/// The command sequences (arguments after the global options).
fn scenarios() -> Vec<Vec<Vec<&'static str>>> {
    vec![
        vec![
            vec![
                "burn-efuse",
                "USER_FLAG",
                "MODULE_VERSION",
                "5",
                "WR_DIS",
                "1",
            ],
            vec![
                "burn-efuse",
                "USER_FLAG",
                "MODULE_VERSION",
                "5",
                "WR_DIS",
                "1",
            ],
            vec![
                "burn-efuse",
                "UFLAG",
                "1",
                "BOARD_ID",
                "0x1234",
                "SERIAL_NO",
                "0x11223344",
            ],
            vec!["burn-efuse", "MFG_STAMP", "0x0102030405060708"],
            vec!["burn-efuse", "BOARD_ID", "0x0001"],
            vec!["burn-efuse", "MODULE_VERSION", "4"],
            vec!["summary"],
            vec!["dump"],
            vec!["write-protect-efuse", "SERIAL_NO"],
            vec!["write-protect-efuse", "SERIAL_NO"],
            vec!["burn-efuse", "DEVICE_UUID_0", "0x0a0b0c0d0e0f1011"],
            vec!["summary"],
        ],
        vec![
            vec!["burn-efuse", "USER_FLAG", "2"],
            vec!["burn-efuse", "MODULE_VERSION", "0"],
            vec!["burn-efuse", "MODULE_VERSION"],
            vec!["burn-efuse", "MFG_STAMP", "0x01"],
            vec!["burn-efuse", "NO_SUCH_FIELD", "1"],
            vec!["read-protect-efuse", "NO_SUCH_FIELD"],
            vec!["write-protect-efuse", "NO_SUCH_FIELD"],
            vec!["burn-efuse", "KEY_TAG", "00112233445566778899aabbccddeeff"],
            vec!["read-protect-efuse", "KEY_TAG"],
            vec!["read-protect-efuse", "KEY_TAG"],
            vec![
                "burn-efuse",
                "DEVICE_UUID_1",
                "0x0102030405060708",
                "MODULE_VERSION",
                "3",
            ],
            vec!["summary"],
        ],
    ]
}

fn text(bytes: &[u8], dir: &Path) -> String {
    String::from_utf8_lossy(bytes).replace(&dir.display().to_string(), "<dir>")
}

#[test]
fn espefuse_user_fields_burn_and_protect_like_chip_fields_on_every_chip() {
    let reference = support::reference_bin_dir().join("espefuse");
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let links = tempfile::tempdir().expect("tempdir");
    let ours = links.path().join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &ours).expect("link");
    let mut compared = 0;
    for chip in CHIPS {
        for (n, scenario) in scenarios().into_iter().enumerate() {
            let dirs = [
                tempfile::tempdir().expect("tempdir"),
                tempfile::tempdir().expect("tempdir"),
            ];
            for d in &dirs {
                std::fs::write(d.path().join("t.csv"), table(chip)).expect("csv");
            }
            for args in &scenario {
                let mut outputs = Vec::new();
                for (tool, dir) in [(&reference, &dirs[0]), (&ours, &dirs[1])] {
                    let out = Command::new(tool)
                        .env("COLUMNS", "80")
                        .args(["--virt", "-c", chip, "--path-efuse-file"])
                        .arg(dir.path().join("efuse.bin"))
                        .arg("--extend-efuse-table")
                        .arg(dir.path().join("t.csv"))
                        .arg("--do-not-confirm")
                        .args(args)
                        .stdin(Stdio::null())
                        .output()
                        .expect("run");
                    outputs.push((
                        out.status.code(),
                        text(&out.stdout, dir.path()),
                        text(&out.stderr, dir.path()),
                        std::fs::read(dir.path().join("efuse.bin")).ok(),
                    ));
                }
                let what = format!("{chip} scenario {n}: espefuse {}", args.join(" "));
                let (r, o) = (&outputs[0], &outputs[1]);
                assert_eq!(r.0, o.0, "{what}: exit status\n{}\n{}", r.2, o.2);
                assert_eq!(r.1, o.1, "{what}: stdout");
                assert_eq!(r.2, o.2, "{what}: stderr");
                assert!(r.3 == o.3, "{what}: the eFuse files differ");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, CHIPS.len() * 24);
}

/// A user field's name is click's `Invalid value` (exit 2) without the
/// table, and a field with it.
#[test]
fn regression_user_field_names_were_unknown_outside_summary() {
    let reference = support::reference_bin_dir().join("espefuse");
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let links = tempfile::tempdir().expect("tempdir");
    let ours = links.path().join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &ours).expect("link");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("t.csv"), table("esp32c3")).expect("csv");
    let csv = dir.path().join("t.csv");
    for with_table in [false, true] {
        let mut statuses = Vec::new();
        for tool in [&reference, &ours] {
            let mut cmd = Command::new(tool);
            cmd.env("COLUMNS", "80")
                .args(["--virt", "-c", "esp32c3", "--do-not-confirm"]);
            if with_table {
                cmd.arg("--extend-efuse-table").arg(&csv);
            }
            let out = cmd
                .args(["burn-efuse", "MODULE_VERSION", "5"])
                .stdin(Stdio::null())
                .output()
                .expect("run");
            statuses.push((out.status.code(), text(&out.stdout, dir.path())));
        }
        assert_eq!(statuses[0], statuses[1], "with table: {with_table}");
        assert_eq!(statuses[1].0, Some(if with_table { 0 } else { 2 }));
    }
}
