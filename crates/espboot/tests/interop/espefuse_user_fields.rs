//! `--extend-efuse-table` user fields as ordinary fields of every espefuse
//! command, against the pinned espefuse 5.6.0 on every chip: one CSV with
//! fields of 1 to 256 bits (`bool`, `uint:N` up to 100 bits, `bytes:N`), a
//! multi-row field, alternative names, a whole block and a BLOCK0 field,
//! then command sequences run through both tools on twin virtual eFuse
//! files; exit status, stdout, stderr (temp paths normalized), the eFuse
//! files and any summary file after every step must agree.

use crate::support;
use crate::support::espefuse::{per_chip, step, text, Espefuse, Step, Twins, CHIPS};
use crate::support::tool_server::Request;

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
ODD,            EFUSE_BLK{user}, 248, 7,  Odd width
KEY_BLOB,       EFUSE_BLK{whole}, 0, MAX_BLK_LEN, Whole key block
KEY_TAG,        EFUSE_BLK{key}, 0, 128, Key tag
WIDE,           EFUSE_BLK{key}, 128, 100, [WIDE_ALT] A wide unsigned integer field whose description is longer than fifty characters
B0F,            EFUSE_BLK0, 60, 3, [B0ALT] A field of BLOCK0
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

/// `summary` in every form over the user fields (names, alternative and
/// unknown names, `--active`, json, value_only, `--file`).
fn summaries() -> Vec<Vec<&'static str>> {
    let mut rows = vec![
        vec![
            "summary",
            "MODULE_VERSION",
            "WIDE",
            "KEY_TAG",
            "UFLAG",
            "NOPE",
            "B0F",
        ],
        vec!["summary", "--active"],
        vec!["summary", "--active", "KEY_TAG", "SERIAL_NO", "USER_FLAG"],
        vec!["summary", "--format", "json"],
        vec!["summary", "--format", "json", "--active"],
        vec![
            "summary", "--format", "json", "WIDE", "KEY_BLOB", "B0ALT", "B0F",
        ],
        vec!["summary", "--format", "json", "--file", "s.json"],
        vec!["summary", "--file", "s.txt", "DEVICE_UUID_1", "ODD"],
    ];
    for name in [
        "USER_FLAG",
        "UFLAG",
        "MODULE_VERSION",
        "BOARD_ID",
        "SERIAL_NO",
        "MFG_STAMP",
        "DEVICE_UUID_0",
        "ODD",
        "KEY_BLOB",
        "KEY_TAG",
        "WIDE",
        "WIDE_ALT",
        "B0F",
        "NOPE",
    ] {
        rows.push(vec!["summary", "--format", "value_only", name]);
    }
    rows
}

/// Summaries of a fresh chip, then after burns and protections.
fn summary_scenario() -> Vec<Vec<&'static str>> {
    let mut steps = summaries();
    steps.push(vec![
        "burn-efuse",
        "USER_FLAG",
        "1",
        "MODULE_VERSION",
        "5",
        "BOARD_ID",
        "0x1234",
        "SERIAL_NO",
        "0x11223344",
        "MFG_STAMP",
        "0x0102030405060708",
        "ODD",
        "0x45",
    ]);
    steps.push(vec!["burn-efuse", "B0F", "5"]);
    steps.push(vec![
        "burn-efuse",
        "WIDE",
        "0xf_0000_0000_0000_0000_0000_0001",
        "KEY_TAG",
        "0x00112233445566778899aabbccddeeff",
    ]);
    steps.push(vec!["burn-efuse", "DEVICE_UUID_1", "01020304050607"]);
    steps.push(vec!["read-protect-efuse", "KEY_TAG"]);
    steps.push(vec!["write-protect-efuse", "SERIAL_NO"]);
    steps.extend(summaries());
    steps
}

/// Values a field cannot take: refused with espefuse's text, the list of
/// eFuses to burn first when the integer is too wide or negative.
fn value_scenario() -> Vec<Vec<&'static str>> {
    vec![
        vec!["burn-efuse", "MODULE_VERSION", "0x100"],
        vec!["burn-efuse", "BOARD_ID", "5", "MODULE_VERSION", "300"],
        vec!["burn-efuse", "ODD", "0x80"],
        vec!["burn-efuse", "B0F", "8"],
        vec!["burn-efuse", "WIDE", "0x1f_0000_0000_0000_0000_0000_0001"],
        vec!["burn-efuse", "WIDE", " -5"],
        vec!["burn-efuse", "WIDE", "0x_dead_beef"],
        vec!["burn-efuse", "MFG_STAMP", "0x0102"],
        vec!["burn-efuse", "KEY_TAG", "0011"],
        vec!["burn-efuse", "SPI_BOOT_CRYPT_CNT", "8"],
        vec!["burn-efuse", "WIDE", "1267650600228229401496703205375"],
        vec!["summary", "--format", "value_only", "WIDE"],
        vec!["summary", "--format", "json", "WIDE"],
        vec!["burn-efuse", "WIDE", "1267650600228229401496703205375"],
    ]
}

/// Runs each scenario on `chips` through espefuse and the `espefuse`
/// personality on twin directories and asserts that every step agrees;
/// returns the number of steps compared (0 when interop is skipped).
fn compare(chips: &[&str], scenarios: &[Vec<Vec<&str>>]) -> usize {
    per_chip(chips, |tools, chip| {
        let mut compared = 0;
        let csv = table(chip);
        let twins = Twins {
            global: &["--extend-efuse-table", "{dir}/t.csv"],
            files: &[("t.csv", csv.as_bytes())],
            outputs: &["s.json", "s.txt"],
        };
        for (n, scenario) in scenarios.iter().enumerate() {
            let steps: Vec<Step> = scenario.iter().map(|args| step(args)).collect();
            compared += tools.compare_steps(chip, &format!("scenario {n}"), &twins, &steps);
        }
        compared
    })
}

/// [`compare`] on every chip, asserting every step of `scenarios` ran.
fn compare_on_every_chip(scenarios: &[Vec<Vec<&str>>]) {
    let compared = compare(&CHIPS, scenarios);
    let steps: usize = scenarios.iter().map(Vec::len).sum();
    assert!(
        support::interop_skipped() || compared == CHIPS.len() * steps,
        "{compared}"
    );
}

#[test]
fn espefuse_user_fields_burn_and_protect_like_chip_fields_on_every_chip() {
    compare_on_every_chip(&scenarios());
}

#[test]
fn espefuse_user_fields_in_summary_filters_and_formats_on_every_chip() {
    compare_on_every_chip(&[summary_scenario()]);
}

#[test]
fn espefuse_user_field_values_are_checked_like_espefuse_on_every_chip() {
    compare_on_every_chip(&[value_scenario()]);
}

/// `summary NAME`, `--active`, json and value_only left the user fields
/// out (only the plain text summary had them).
#[test]
fn regression_user_fields_were_missing_from_summary_names_active_json_and_value_only() {
    compare(
        &["esp32c3"],
        &[vec![
            vec!["burn-efuse", "MODULE_VERSION", "5"],
            vec!["summary", "MODULE_VERSION"],
            vec!["summary", "--active"],
            vec!["summary", "--format", "json", "MODULE_VERSION"],
            vec!["summary", "--format", "value_only", "MODULE_VERSION"],
        ]],
    );
}

/// A value too wide for its field was refused before espefuse's list of
/// eFuses to burn and its "New value … is not suitable" line.
#[test]
fn regression_too_wide_value_was_refused_before_the_burn_listing() {
    compare(
        &["esp32c3"],
        &[vec![
            vec!["burn-efuse", "BOARD_ID", "5", "MODULE_VERSION", "0x100"],
            vec!["burn-efuse", "SPI_BOOT_CRYPT_CNT", "8"],
        ]],
    );
}

/// On the ESP32 and ESP32-C2 a `WR_DIS` value wider than the field failed
/// while the arguments were read, before the `=== Run` listing espefuse
/// prints ahead of its "is not suitable" error (found by the sweep).
#[test]
fn regression_too_wide_wr_dis_failed_before_the_burn_listing() {
    compare(
        &["esp32", "esp32c2"],
        &[vec![vec!["burn-efuse", "WR_DIS", "0x1ffffff"]]],
    );
}

/// A `uint:N` user field wider than 64 bits took only 64-bit values.
#[test]
fn regression_wide_uint_user_field_took_only_64_bit_values() {
    compare(
        &["esp32c3"],
        &[vec![
            vec!["burn-efuse", "WIDE", "0xf_0000_0000_0000_0000_0000_0001"],
            vec!["summary", "--format", "value_only", "WIDE"],
            vec!["summary", "--format", "json", "WIDE"],
        ]],
    );
}

/// `summary --format value_only` with an alternative or unknown name was
/// an error; espefuse prints nothing, successfully. `--file` left out the
/// closing "Done".
#[test]
fn regression_value_only_alt_name_failed_and_summary_file_lacked_done() {
    compare(
        &["esp32c3"],
        &[vec![
            vec!["summary", "--format", "value_only", "DIS_CAN"],
            vec!["summary", "--format", "value_only", "UFLAG"],
            vec!["summary", "--format", "value_only", "NOPE"],
            vec!["summary", "--file", "s.txt", "MODULE_VERSION"],
            vec!["summary", "--format", "json", "--file", "s.json"],
        ]],
    );
}

/// A user field's name is click's `Invalid value` (exit 2) without the
/// table, and a field with it.
#[test]
fn regression_user_field_names_were_unknown_outside_summary() {
    let Some(mut tools) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, table("esp32c3")).expect("csv");
    for with_table in [false, true] {
        let mut req = Request::new(["--virt", "-c", "esp32c3", "--do-not-confirm"]);
        if with_table {
            req = req.args(["--extend-efuse-table".as_ref(), csv.as_os_str()]);
        }
        let req = req.args(["burn-efuse", "MODULE_VERSION", "5"]);
        let statuses = tools
            .both(&req)
            .map(|out| (out.status.code(), text(&out.stdout, dir.path())));
        assert_eq!(statuses[0], statuses[1], "with table: {with_table}");
        assert_eq!(statuses[1].0, Some(if with_table { 0 } else { 2 }));
    }
}

/// A CSV field that ends past its block was taken (and read as zeros);
/// espefuse dies on it (a Python traceback, exit 1): the same status,
/// and the traceback's last line (the `espboot efuse` words name the
/// file, the line and the limit).
#[test]
fn regression_field_past_its_block_end_was_accepted() {
    let Some(mut tools) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("past.csv");
    for row in ["F, EFUSE_BLK0, 190, 3, c", "F, EFUSE_BLK1, 180, 20, c"] {
        std::fs::write(&csv, format!("# past the end\n{row}\n")).expect("csv");
        let req = Request::new(["--virt", "-c", "esp32c3", "--extend-efuse-table"])
            .args([&csv])
            .args(["summary"]);
        let statuses = tools
            .both(&req)
            .map(|out| (out.status.code(), text(&out.stderr, dir.path())));
        assert_eq!(statuses[0].0, statuses[1].0, "{row}: exit status");
        assert_eq!(statuses[1].0, Some(1), "{row}");
        let ours_err = &statuses[1].1;
        assert_eq!(
            ours_err.as_str(),
            "ValueError: Bit position cannot be negative.\n",
            "{row}"
        );
        assert_eq!(
            statuses[0].1.lines().last(),
            ours_err.lines().last(),
            "{row}"
        );
    }
}

/// espefuse places the `--extend-efuse-table` fields for `--help` too: a
/// command's help lists them among `burn-efuse`'s allowed names and the
/// protect commands' choices (in the Arguments panel), and a table it
/// cannot place fails the help as it fails a run. The personality drew
/// the chip's names only and printed the help whatever the table held.
#[test]
fn regression_help_pages_left_out_the_extend_table_fields() {
    let compared = per_chip(&CHIPS, |t, chip| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), table(chip)).unwrap();
        std::fs::write(dir.path().join("dup.csv"), "MAC, EFUSE_BLK3, 0, 8, dup\n").unwrap();
        std::fs::write(dir.path().join("bad.csv"), "X, EFUSE_BLK3, 0\n").unwrap();
        let run = |t: &mut Espefuse, csv: &str, command: &str| {
            let req = Request::new(["-c", chip, "--virt", "--extend-efuse-table", csv, command])
                .args(["--help"])
                .cwd(dir.path());
            t.both(&req)
        };
        // the text from `start` to the line that closes it
        let section = |out: &std::process::Output, start: &str, end: &str| -> String {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let Some(at) = text.find(start) else {
                return String::new();
            };
            let rest = &text[at..];
            let stop = rest.find(end).map_or(rest.len(), |e| e + end.len());
            rest[..stop].to_owned()
        };
        let [theirs, ours] = run(t, "t.csv", "burn-efuse");
        let allowed = section(&theirs, " Allowed options", "].");
        assert!(allowed.contains("USER_FLAG"), "{chip}: {allowed}");
        assert_eq!(allowed, section(&ours, " Allowed options", "]."), "{chip}");
        for command in ["read-protect-efuse", "write-protect-efuse"] {
            let [theirs, ours] = run(t, "t.csv", command);
            let panel = section(&theirs, "╭─ Arguments", "╰");
            // the choices wrap inside the panel's column
            let joined: String = panel.chars().filter(|c| !"│ \n".contains(*c)).collect();
            assert!(joined.contains("|KEY_TAG|"), "{chip} {command}: {panel}");
            assert_eq!(
                panel,
                section(&ours, "╭─ Arguments", "╰"),
                "{chip} {command}"
            );
        }
        for csv in ["dup.csv", "bad.csv"] {
            let [theirs, ours] = run(t, csv, "burn-efuse");
            let last = |o: &std::process::Output| {
                let err = String::from_utf8_lossy(&o.stderr).into_owned();
                err.lines().last().unwrap_or("").to_owned()
            };
            assert_ne!(theirs.status.code(), Some(0), "{chip} {csv}");
            assert_eq!(theirs.status.code(), ours.status.code(), "{chip} {csv}");
            let shown = |o: &std::process::Output| text(&o.stdout, dir.path());
            assert_eq!(shown(&theirs), shown(&ours), "{chip} {csv}");
            assert_eq!(last(&theirs), last(&ours), "{chip} {csv}");
        }
        1
    });
    assert!(
        support::interop_skipped() || compared == CHIPS.len(),
        "{compared}"
    );
}

/// espefuse reads the `--extend-efuse-table` CSV as a Python text file and
/// splits it with `str.splitlines()`: `\r\n` and a lone `\r` end a line, so
/// do a form feed and U+2028, and `str.strip()` takes U+001F as a blank.
/// Its unknown-variable check runs on the line before stripping. The
/// personality split on `\n` only, trimmed Rust's whitespace and checked
/// the stripped line, so such tables failed or named other fields.
#[test]
fn regression_csv_tables_were_not_split_into_lines_as_python_splits_them() {
    let Some(mut tools) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let tables: [&[u8]; 7] = [
        b"# crlf\r\nUSER_A, EFUSE_BLK3, 0, 8, A field\r\nUSER_B, EFUSE_BLK3, 8, 8, B\r\n",
        b"# cr\rUSER_A, EFUSE_BLK3, 0, 8, A field\rUSER_B, EFUSE_BLK3, 8, 8, B\r",
        b"USER_A, EFUSE_BLK3, 0, 8, A\x0cUSER_B, EFUSE_BLK3, 8, 8, B\x0b\x1d",
        "USER_A, EFUSE_BLK3, 0, 8, A\u{2028}USER_B, EFUSE_BLK3, 8, 8, B\u{85}".as_bytes(),
        b"USER_A,\x1fEFUSE_BLK3\x1f, 0 ,\x1f8, A\x1f\nUSER_B, EFUSE_BLK3, 8, 8, B \x1f\\\x1f\n",
        b"  $NOPE_VAR, EFUSE_BLK3, 0, 8, x\n",
        b"$NOPE_VAR, EFUSE_BLK3, 0, 8, x\n",
    ];
    for (i, table) in tables.iter().enumerate() {
        let csv = dir.path().join(format!("t{i}.csv"));
        std::fs::write(&csv, table).expect("csv");
        let req = Request::new(["--virt", "-c", "esp32c3", "--extend-efuse-table"])
            .args([&csv])
            .args(["summary", "USER_A", "USER_B"]);
        let [theirs, ours] = tools.both(&req).map(|out| {
            let stderr = text(&out.stderr, dir.path());
            let last = stderr.lines().last().unwrap_or_default().to_owned();
            (out.status.code(), text(&out.stdout, dir.path()), last)
        });
        assert_eq!(
            theirs,
            ours,
            "table {i}: {:?}",
            String::from_utf8_lossy(table)
        );
    }
}
