//! The column layout of the personalities' rich-click help panels against
//! the pinned tools': where each column of a row starts and how a name or
//! metavar cell wraps, at the widths scripts run at. The descriptions are
//! espboot's own words and are left out (`support::rich_help_layout` says
//! why the layout does not depend on them).

use std::path::Path;
use std::process::Command;

use crate::support;

/// espsecure's commands (`espsecure --help`).
const ESPSECURE_COMMANDS: &[&str] = &[
    "decrypt-flash-data",
    "digest-private-key",
    "digest-rsa-public-key",
    "digest-sbv2-public-key",
    "digest-sdc-public-key",
    "digest-secure-bootloader",
    "encrypt-flash-data",
    "extract-public-key",
    "generate-flash-encryption-key",
    "generate-sdc-certificate",
    "generate-signing-key",
    "sign-data",
    "signature-info-v2",
    "verify-signature",
];

/// espefuse's commands (`espefuse -c esp32 --help`; set-flash-voltage is
/// the ESP32's and the S2's and S3's only).
const ESPEFUSE_COMMANDS: &[&str] = &[
    "read-protect-efuse",
    "write-protect-efuse",
    "burn-efuse",
    "burn-block-data",
    "burn-bit",
    "burn-key",
    "burn-key-digest",
    "burn-custom-mac",
    "set-flash-voltage",
    "summary",
    "dump",
    "get-custom-mac",
    "adc-info",
    "check-error",
];

/// The console widths compared: rich's default and the tools' help cap.
const WIDTHS: &[usize] = &[80, 120];

/// `tool`'s stdout for `args` at `columns`, after checking it exits 0.
fn help(tool: &Path, args: &[&str], columns: usize) -> String {
    let out = Command::new(tool)
        .args(args)
        .env("COLUMNS", columns.to_string())
        .env_remove("ESPTOOL_PORT")
        .env_remove("ESPTOOL_CHIP")
        .output()
        .expect("run the help");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} {}: {out:?}",
        tool.display(),
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of `layout` that belong to the panel `title`.
fn panel_only(layout: &[String], title: &str) -> Vec<String> {
    let head = format!("panel {title}:");
    let mut inside = false;
    layout
        .iter()
        .filter(|l| {
            if l.starts_with("panel ") {
                inside = l.starts_with(&head);
            }
            inside
        })
        .cloned()
        .collect()
}

/// Compares the layout of each help page (`pages`: argv rows) of `tool`
/// with the personality's; `panels` keeps only the named panels' layout
/// (`None`: all). Returns the differences found and how many were compared.
fn compare(tool: &str, pages: &[Vec<&str>], panels: Option<&[&str]>) -> (Vec<String>, usize) {
    compare_masked(tool, pages, panels, |layout| layout)
}

/// As [`compare`], each layout passed through `mask` first.
fn compare_masked(
    tool: &str,
    pages: &[Vec<&str>],
    panels: Option<&[&str]>,
    mask: fn(Vec<String>) -> Vec<String>,
) -> (Vec<String>, usize) {
    let reference = support::reference_bin_dir().join(tool);
    let links = tempfile::tempdir().expect("tempdir");
    let ours = links.path().join(tool);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &ours).expect("link");
    let mut failures = Vec::new();
    let mut compared = 0;
    for &columns in WIDTHS {
        for page in pages {
            let layout = |bin: &Path| {
                let all = mask(support::rich_help_layout(&help(bin, page, columns)));
                match panels {
                    None => all,
                    Some(titles) => titles.iter().flat_map(|t| panel_only(&all, t)).collect(),
                }
            };
            let (theirs, mine) = (layout(&reference), layout(&ours));
            assert!(
                theirs.iter().any(|l| l.starts_with("panel Options:")),
                "{tool} {}: no Options panel in {theirs:?}",
                page.join(" ")
            );
            if theirs != mine {
                failures.push(format!(
                    "COLUMNS={columns} {tool} {}\n--- {tool}\n{}\n--- personality\n{}",
                    page.join(" "),
                    theirs.join("\n"),
                    mine.join("\n")
                ));
            }
            compared += 1;
        }
    }
    (failures, compared)
}

/// Every espsecure help page, the group's and each command's, at 80 and
/// 120 columns: the Arguments, Options and Commands panels' columns start
/// where espsecure's do and the names and metavars wrap as in espsecure
/// (a long choice metavar folded inside its column, which rich narrows).
#[test]
fn espsecure_help_panels_are_laid_out_as_espsecures() {
    if support::reference_tool("espsecure").is_none() {
        return;
    }
    let mut pages: Vec<Vec<&str>> = vec![vec!["--help"]];
    pages.extend(ESPSECURE_COMMANDS.iter().map(|c| vec![*c, "--help"]));
    let (failures, compared) = compare("espsecure", &pages, None);
    assert_eq!(compared, pages.len() * WIDTHS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// espefuse's chips: the protect commands' Arguments panel lists each
/// chip's own eFuse names.
const ESPEFUSE_CHIPS: &[&str] = &[
    "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
];

/// Every espefuse command's help page on the ESP32 and the ESP32-C3, and
/// the protect commands' on every chip, at 80 and 120 columns: the
/// Arguments and Options panels' columns start where espefuse's do, with
/// its names and metavars in them (a long argument name cut with `…`, a
/// grouped metavar, a list of blocks or the chip's protectable eFuse names
/// wrapped in its column). The group page has its own test below.
#[test]
fn espefuse_command_help_panels_are_laid_out_as_espefuses() {
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let mut pages: Vec<Vec<&str>> = Vec::new();
    for &chip in ESPEFUSE_CHIPS {
        for command in ESPEFUSE_COMMANDS {
            let every_command = matches!(chip, "esp32" | "esp32c3");
            let protect = matches!(*command, "read-protect-efuse" | "write-protect-efuse");
            if !(every_command || protect) || (chip == "esp32c3" && *command == "set-flash-voltage")
            {
                continue;
            }
            pages.push(vec!["-c", chip, command, "--help"]);
        }
    }
    let (failures, compared) = compare("espefuse", &pages, Some(&["Arguments", "Options"]));
    assert_eq!(compared, pages.len() * WIDTHS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `layout` with the words of each cell that is what the console's markup
/// left of a description shown as `…` (its column kept): on espefuse's
/// group page a choice metavar's `[…]` is read as a style tag and dropped
/// up to its `]`, so the rest of the description row it ends on is drawn
/// left of the description column (`--before`'s `the chip.`). That text is
/// each tool's own description; where it starts is the layout. Such a cell
/// is no row's first, no option (`-`), no metavar (upper case, `|`, `]`):
/// words with a lower-case letter.
fn leftover_descriptions_masked(layout: Vec<String>) -> Vec<String> {
    layout
        .into_iter()
        .map(|line| {
            if line.starts_with("panel ") {
                return line;
            }
            // cells are `COLUMN:TEXT`, joined by single spaces
            let mut cells: Vec<String> = Vec::new();
            for word in line.split(' ') {
                let starts_cell = word.split_once(':').is_some_and(|(at, _)| {
                    !at.is_empty() && at.chars().all(|c| c.is_ascii_digit())
                });
                match cells.last_mut() {
                    Some(cell) if !starts_cell => {
                        cell.push(' ');
                        cell.push_str(word);
                    }
                    _ => cells.push(word.to_owned()),
                }
            }
            cells
                .iter()
                .enumerate()
                .map(|(k, cell)| {
                    let (at, text) = cell.split_once(':').unwrap_or(("", cell));
                    let prose = k > 0
                        && !text.starts_with('-')
                        && !text.contains(['|', ']'])
                        && text.chars().any(|c| c.is_ascii_lowercase());
                    if prose {
                        format!("{at}:…")
                    } else {
                        cell.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// espefuse's group page (`--help`, `-h`, and `-c CHIP --help` on every
/// chip) at 80 and 120 columns: the Options panel's columns are espefuse's
/// although its console dropped the choice metavars that set them (and
/// the descriptions up to each `]`), the option names and metavars left
/// are espefuse's, and so are the command panels' titles, commands, order
/// and columns. Before, the personality drew the page without those
/// metavars, its description column further left.
#[test]
fn regression_espefuse_group_help_columns_ignored_the_dropped_choice_metavars() {
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let mut pages: Vec<Vec<&str>> = vec![vec!["--help"], vec!["-h"]];
    for &chip in ESPEFUSE_CHIPS {
        pages.push(vec!["-c", chip, "--help"]);
    }
    let (failures, compared) =
        compare_masked("espefuse", &pages, None, leftover_descriptions_masked);
    assert_eq!(compared, pages.len() * WIDTHS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // the usage line, banner, NOTE and every row's names, at both widths
    let reference = support::reference_bin_dir().join("espefuse");
    let (_links, ours) = support::espefuse::personality_link("espefuse");
    for &columns in WIDTHS {
        for page in &pages {
            let theirs = help(&reference, page, columns);
            let structure = |text: &str| support::rich_help_structure("espefuse", text);
            assert_eq!(
                structure(&theirs),
                structure(&help(&ours, page, columns)),
                "COLUMNS={columns} espefuse {}",
                page.join(" ")
            );
            // the markup really drops `--chip`'s metavar and description
            // (what makes this page unlike the command pages)
            let chip_row = theirs
                .lines()
                .find(|l| l.starts_with("\u{2502} --chip"))
                .expect("--chip row");
            assert!(!chip_row.contains("auto"), "{chip_row}");
        }
    }
}

/// The layout view tells layouts apart: espsecure's own
/// `generate-signing-key --help` at 80 columns (its choice metavar folded
/// in a narrowed column) is not its layout at 120, so a personality laid
/// out at the wrong widths cannot compare equal.
#[test]
fn the_layout_view_tells_column_widths_apart() {
    if support::reference_tool("espsecure").is_none() {
        return;
    }
    let reference = support::reference_bin_dir().join("espsecure");
    let page = ["generate-signing-key", "--help"];
    let (narrow, wide) = (
        support::rich_help_layout(&help(&reference, &page, 80)),
        support::rich_help_layout(&help(&reference, &page, 120)),
    );
    assert!(
        narrow.iter().any(|l| l.starts_with("panel Options:")),
        "{narrow:?}"
    );
    assert_ne!(narrow, wide);
}

/// imgtool's commands (`imgtool --help`), `create` being `sign`'s other
/// name.
const IMGTOOL_COMMANDS: &[&str] = &[
    "create",
    "dumpinfo",
    "getpriv",
    "getpub",
    "getpubhash",
    "keygen",
    "keyinfo",
    "sign",
    "verify",
    "version",
];

/// Every imgtool help page (the group's, each command's, through `--help`
/// and `-h`) at 80 and 120 columns, laid out by click's plain formatter:
/// the usage block, the sections, each option's and command's term
/// (spellings, metavar, choices) in imgtool's order, the column the
/// descriptions start at, a description moved below a long term, the
/// `[required]` and `[default: …]` markers, and every line within the
/// width click wraps to (the reference's lines too, which proves the
/// width). The descriptions are espboot's own words.
#[test]
fn imgtool_help_pages_are_laid_out_as_imgtools() {
    if support::reference_tool("imgtool").is_none() {
        return;
    }
    let reference = support::reference_bin_dir().join("imgtool");
    let links = tempfile::tempdir().expect("tempdir");
    let ours = links.path().join("imgtool");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &ours).expect("link");
    let mut pages: Vec<Vec<&str>> = vec![vec!["--help"], vec!["-h"]];
    for command in IMGTOOL_COMMANDS {
        pages.push(vec![command, "--help"]);
        pages.push(vec![command, "-h"]);
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for &columns in WIDTHS {
        let width = support::click_wrap_width(columns);
        for page in &pages {
            let (theirs, mine) = (help(&reference, page, columns), help(&ours, page, columns));
            let (a, b) = (
                support::click_help_layout(&theirs),
                support::click_help_layout(&mine),
            );
            assert!(
                a.iter().any(|l| l == "section Options:"),
                "imgtool {}: no Options section in {a:?}",
                page.join(" ")
            );
            assert!(
                support::widest_line(&theirs) <= width,
                "imgtool {} at {columns} columns is wider than {width}",
                page.join(" ")
            );
            if a != b || support::widest_line(&mine) > width {
                failures.push(format!(
                    "COLUMNS={columns} imgtool {}\n--- imgtool\n{}\n--- personality\n{}\n{mine}",
                    page.join(" "),
                    a.join("\n"),
                    b.join("\n")
                ));
            }
            compared += 1;
        }
    }
    assert_eq!(compared, pages.len() * WIDTHS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The click layout view sees what a script would: a metavar, a term
/// wider than its column (`@next`), a shifted description column, a
/// `[required]` marker and the order of the rows.
#[test]
fn the_click_layout_view_tells_terms_and_columns_apart() {
    let page = "Usage: imgtool x [OPTIONS]\n\n  About.\n\nOptions:\n  -k, --key filename  Key\n                      wrapped  [required]\n  --a-very-long-option-name [one|two]\n                      Long\n  --pad               Pad\n  -h, --help          Help\n";
    let layout = support::click_help_layout(page);
    assert_eq!(
        layout,
        [
            "usage Usage: imgtool x [OPTIONS]",
            "section Options:",
            "2:-k, --key filename [required]",
            "2:--a-very-long-option-name [one|two] @next",
            "2:--pad",
            "2:-h, --help",
            "descriptions at {22}",
            "paragraphs at {2}",
        ]
    );
    // other words, one line fewer: the same layout
    let reworded = page.replace("Key\n                      wrapped", "Other words");
    assert_eq!(support::click_help_layout(&reworded), layout);
    let swapped = page
        .replace("  --pad               Pad\n", "")
        .replace("Options:\n", "Options:\n  --pad               Pad\n");
    for changed in [
        page.replace("filename", "FILE"),
        page.replace("  [required]", ""),
        page.replace("Long\n", "")
            .replace("name [one|two]\n", "name [one|two]  Long\n"),
        page.replace("--pad               Pad", "--pad                Pad"),
        page.replace(
            "                      wrapped",
            "                       wrapped",
        ),
        swapped,
    ] {
        assert_ne!(support::click_help_layout(&changed), layout, "{changed}");
    }
    assert_eq!(support::click_wrap_width(120), 78);
    assert_eq!(support::click_wrap_width(40), 50);
}
