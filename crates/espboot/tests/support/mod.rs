//! Shared test harness: runs the `espboot` binary under test and the pinned
//! reference tools (imgtool, espsecure, espefuse, esptool) installed in the
//! workspace's `.venv/` by `scripts/test`.
//!
//! Interop tests must prove compatibility against the real tools, so a
//! missing tool is a test failure, not a skip. Only `ESPBOOT_SKIP_INTEROP=1`,
//! set on purpose, turns the interop tests into no-ops.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `espboot` binary built for this test run.
pub fn espboot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_espboot"))
}

/// Directory holding the reference tools: `$ESPBOOT_REFERENCE_BIN`, else the
/// workspace's `.venv/bin`.
pub fn reference_bin_dir() -> PathBuf {
    match std::env::var_os("ESPBOOT_REFERENCE_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
    }
}

/// True when the developer deliberately turned interop tests off.
pub fn interop_skipped() -> bool {
    std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1")
}

/// A command for reference tool `name` (e.g. `"imgtool"`), or `None` when
/// interop tests are deliberately skipped.
///
/// # Panics
/// When the tool is not installed and interop was not skipped: the test
/// fails and says how to install the tools.
pub fn reference_tool(name: &str) -> Option<Command> {
    if interop_skipped() {
        eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the {name} interop check");
        return None;
    }
    let path = reference_bin_dir().join(name);
    assert!(
        path.is_file(),
        "reference tool {name} not found at {} (run scripts/test, which installs \
         the pinned tools into .venv/, or set ESPBOOT_SKIP_INTEROP=1 on purpose)",
        path.display()
    );
    Some(Command::new(path))
}

/// Runs a reference tool if interop is enabled; returns early from the
/// calling test otherwise.
#[macro_export]
macro_rules! reference_tool {
    ($name:expr) => {
        match $crate::support::reference_tool($name) {
            Some(cmd) => cmd,
            None => return,
        }
    };
}

/// Runs `cmd`, asserting success; returns its output.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("failed to start command");
    assert!(
        out.status.success(),
        "command failed: {cmd:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, asserting failure; returns its output.
#[track_caller]
pub fn run_fail(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("failed to start command");
    assert!(
        !out.status.success(),
        "command unexpectedly succeeded: {cmd:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts an error is one line that names `needle` (an argument or file).
#[track_caller]
pub fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{stderr}");
    assert!(
        lines[0].contains(needle),
        "error should mention {needle:?}: {}",
        lines[0]
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

/// The events `provision run --json` printed, one JSON document a line
/// (every line must parse).
pub fn provision_events(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

/// The summary event that ends a successful `provision run --json`.
pub fn provision_summary(stdout: &[u8]) -> serde_json::Value {
    let events = provision_events(stdout);
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["event"], "summary", "last event: {last}");
    last
}

pub mod espefuse;
pub mod hostile;
pub mod secure;
pub mod serve;
pub mod sim;
pub mod smp_fake;
pub mod tool_server;

/// The frame of a rich-click help text, which does not depend on the
/// descriptions: each panel's top rule (with its title) and bottom rule,
/// in order, then the widths of the lines outside the panels (rich pads
/// the usage, description and blank lines to the page width). The rows
/// inside the panels are left out: how many there are depends on the
/// wrapping of the descriptions.
///
/// In the command panels the name column's width does not depend on the
/// descriptions either (esptool's 1:3 column ratio): each row's name, as
/// shown (cut with `…` when too long), and where its description starts
/// are part of the frame.
pub fn rich_help_frame(text: &str) -> Vec<String> {
    let mut rules = Vec::new();
    let mut widths = std::collections::BTreeSet::new();
    let mut commands = false;
    for line in text.lines() {
        if line.starts_with('\u{256d}') || line.starts_with('\u{2570}') {
            rules.push(line.to_owned());
            commands = line.starts_with('\u{256d}')
                && line
                    .trim_end_matches(['\u{2500}', '\u{256e}'])
                    .trim_end()
                    .ends_with("ommands");
        } else if let Some(row) = line.strip_prefix("\u{2502} ") {
            let chars: Vec<char> = row.chars().collect();
            if commands && chars.first().is_some_and(|c| *c != ' ') {
                let name_end = chars.iter().position(|c| *c == ' ').unwrap_or(chars.len());
                let help_at = chars[name_end..]
                    .iter()
                    .position(|c| *c != ' ')
                    .map_or(chars.len(), |k| name_end + k);
                let name: String = chars[..name_end].iter().collect();
                rules.push(format!("row {name} help at {help_at}"));
            }
        } else {
            widths.insert(line.chars().count());
        }
    }
    rules.extend(widths.into_iter().map(|w| format!("width {w}")));
    rules
}

/// Whether a help row's word after the names is click's metavar (`FILE`,
/// `INTEGER`, `[1|2]`) rather than the first word of the description.
fn is_metavar(word: &str) -> bool {
    (word.starts_with('[') && !matches!(word, "[required]" | "[deprecated]"))
        || (word.len() > 1
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c == '-'))
}

/// A metavar as compared: a choice list only up to its first choice,
/// because rich folds a long list (`[rsa3072|ecdsa192|ecdsa256|ec` /
/// `dsa384]`) onto rows this per-row view does not join;
/// [`rich_help_layout`] compares the folded cells.
fn metavar_shown(word: &str) -> String {
    match word.split_once('|') {
        Some((first, _)) if word.starts_with('[') => format!("{first}|…"),
        _ => word.to_owned(),
    }
}

/// The column layout of a rich-click help text's panels: per panel, where
/// its description column starts, then per row what lies left of it, each
/// cell with the column it starts at (`0:--scheme 11:-s 15:[rsa3072|ec`,
/// then a folded cell's continuation `15:dsa384]`). Cells are told apart
/// by rich's padding: two spaces or more between columns, one inside a
/// cell. Only the descriptions are left out: they are the personality's
/// own words. Everything kept depends only on the names and metavars,
/// because rich-click's description cells are `Columns`, which rich
/// cannot measure: the description column counts as wide as the panel
/// whatever its text, so rich narrows it first, and the other columns'
/// widths come from their own cells alone (`rich/table.py`,
/// `_calculate_column_widths`).
pub fn rich_help_layout(text: &str) -> Vec<String> {
    fn cells(row: &str) -> Vec<(usize, String)> {
        let chars: Vec<char> = row.chars().collect();
        let mut out: Vec<(usize, String)> = Vec::new();
        let mut k = 0;
        while k < chars.len() {
            if chars[k] == ' ' {
                k += 1;
                continue;
            }
            let start = k;
            // a cell runs on over single spaces
            while k < chars.len()
                && (chars[k] != ' ' || chars.get(k + 1).is_some_and(|c| *c != ' '))
            {
                k += 1;
            }
            out.push((start, chars[start..k].iter().collect()));
        }
        out
    }
    let mut out = Vec::new();
    type Row = Vec<(usize, String)>;
    let mut panel: Option<(String, Vec<Row>)> = None;
    let flush = |out: &mut Vec<String>, title: &str, rows: &[Row]| {
        // the description column: where `--help`'s description starts in
        // an Options panel (click's row, always there), else the furthest
        // last cell of a row that starts with a name
        let help_at = if title == "Options" {
            rows.iter()
                .find(|r| r.first().is_some_and(|(_, t)| t == "--help"))
                .and_then(|r| r.last().filter(|_| r.len() > 1))
                .map(|(at, _)| *at)
        } else {
            rows.iter()
                .filter(|r| r.len() > 1 && r[0].0 <= 3)
                .map(|r| r[r.len() - 1].0)
                .max()
        };
        out.push(format!(
            "panel {title}: descriptions at {}",
            help_at.map_or_else(|| "-".to_owned(), |h| h.to_string())
        ));
        for row in rows {
            let kept: Vec<String> = row
                .iter()
                .filter(|(at, _)| help_at.is_none_or(|h| *at < h))
                .map(|(at, t)| format!("{at}:{t}"))
                .collect();
            if !kept.is_empty() {
                out.push(kept.join(" "));
            }
        }
    };
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("\u{256d}\u{2500}") {
            if let Some((t, rows)) = panel.take() {
                flush(&mut out, &t, &rows);
            }
            let title = title
                .trim_matches(|c| c == '\u{2500}' || c == '\u{256e}' || c == ' ')
                .to_owned();
            panel = Some((title, Vec::new()));
        } else if let Some(row) = line.strip_prefix("\u{2502} ") {
            if let Some((_, rows)) = panel.as_mut() {
                rows.push(cells(
                    row.trim_end().trim_end_matches('\u{2502}').trim_end(),
                ));
            }
        } else if line.starts_with('\u{2570}') {
            if let Some((t, rows)) = panel.take() {
                flush(&mut out, &t, &rows);
            }
        }
    }
    out
}

/// What a script reads from a rich-click help text of `tool`: the banner,
/// the NOTE, the usage line, the panels' titles and, per row, the names it starts with
/// (`*`, option spellings, the argument or command name, and the metavar
/// that follows an option or argument). The
/// descriptions are left out: the personality's are espboot's own words.
pub fn rich_help_structure(tool: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut panel = String::new();
    for line in text.lines().map(str::trim) {
        let banner = line.starts_with(&format!("{tool} v")) && line.split(' ').count() == 2;
        if banner || line.starts_with("Usage:") || line.starts_with("NOTE:") {
            out.push(line.to_owned());
        } else if let Some(title) = line.strip_prefix("\u{256d}\u{2500}") {
            panel = title
                .trim_matches(|c| c == '\u{2500}' || c == '\u{256e}' || c == ' ')
                .to_owned();
            out.push(format!("panel {panel}"));
        } else if let Some(row) = line.strip_prefix('\u{2502}') {
            let mut words = row
                .trim_end_matches('\u{2502}')
                .split_whitespace()
                .peekable();
            let mut names: Vec<String> = Vec::new();
            if words.peek() == Some(&"*") {
                names.push("*".to_owned());
                words.next();
            }
            // a wrapped help's continuation row is indented past the
            // names (a name row: at most the `*` column's four spaces)
            let indent = row.len() - row.trim_start().len();
            match panel.as_str() {
                _ if indent > 4 => {}
                // options: their spellings, up to the metavar or the help
                // (of a `--x/--no-x` pair the first: rich folds the pair
                // to its column's width)
                "Options" => {
                    while let Some(w) = words.next_if(|w| w.starts_with('-')) {
                        names.push(w.split('/').next().unwrap_or(w).to_owned());
                    }
                    names.extend(words.next_if(|w| is_metavar(w)).map(metavar_shown));
                }
                _ => {
                    names.extend(words.next().map(str::to_owned));
                    if panel == "Arguments" {
                        names.extend(words.next_if(|w| is_metavar(w)).map(metavar_shown));
                    }
                }
            }
            if !names.is_empty() {
                out.push(names.join(" "));
            }
        }
    }
    out
}

/// The layout of a help page from click's plain formatter (imgtool's):
/// the usage block as printed, each section heading, and per row of a
/// definition list (options, commands) the term with the column it starts
/// at and where its description goes (`2:-k, --key filename` with `@next`
/// when click moves the description to the next line because the term is
/// wider than its column), the column the section's descriptions start at
/// (and any wrapped line indented elsewhere), the `[required]` and
/// `[default: …]` markers scripts read, the paragraphs' indentation, and
/// (the width lines keep within is [`click_wrap_width`]'s). The descriptions' words
/// are left out: they are the personality's own, and click's columns
/// depend only on the terms (`HelpFormatter.write_dl`).
pub fn click_help_layout(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    // the usage block: up to the first empty line
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        out.push(format!("usage {line}"));
    }
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut section: Option<String> = None;
    let mut desc_columns = std::collections::BTreeSet::new();
    let mut wrap_columns = std::collections::BTreeSet::new();
    let mut paragraph_columns = std::collections::BTreeSet::new();
    let flush = |out: &mut Vec<String>,
                 descs: &mut std::collections::BTreeSet<usize>,
                 wraps: &mut std::collections::BTreeSet<usize>| {
        if !descs.is_empty() {
            out.push(format!("descriptions at {descs:?}"));
        }
        // click indents wrapped lines to the description column; whether
        // a description wraps at all depends on its words
        let off: Vec<&usize> = wraps.difference(descs).collect();
        if !off.is_empty() {
            out.push(format!("wrapped lines at {off:?}"));
        }
        descs.clear();
        wraps.clear();
    };
    let mut rows: Vec<String> = Vec::new();
    let mut row_text = String::new();
    let finish_row = |rows: &mut Vec<String>, row_text: &mut String| {
        if let Some(last) = rows.last_mut() {
            let joined = row_text.split_whitespace().collect::<Vec<_>>().join(" ");
            for marker in ["[required]", "[deprecated]"] {
                if joined.contains(marker) {
                    last.push_str(&format!(" {marker}"));
                }
            }
            if let Some(at) = joined.find("[default: ") {
                let end = joined[at..].find(']').map_or(joined.len(), |e| at + e + 1);
                last.push_str(&format!(" {}", &joined[at..end]));
            }
        }
        row_text.clear();
    };
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            finish_row(&mut rows, &mut row_text);
            out.append(&mut rows);
            flush(&mut out, &mut desc_columns, &mut wrap_columns);
            out.push(format!("section {line}"));
            section = Some(line.to_owned());
            continue;
        }
        if section.is_none() {
            // the command's description paragraphs
            paragraph_columns.insert(indent(line));
            continue;
        }
        let at = indent(line);
        if at == 2 {
            finish_row(&mut rows, &mut row_text);
            // a term runs on over single spaces; two end it
            let row = &line[2..];
            let term = row.split("  ").next().unwrap_or_default();
            let rest = &row[term.len()..];
            let text = rest.trim_start();
            let mut shown = format!("2:{term}");
            if text.is_empty() {
                // the description (if any) follows on the next line
                if lines.peek().is_some_and(|next| indent(next) > 2) {
                    shown.push_str(" @next");
                }
            } else {
                desc_columns.insert(2 + term.len() + rest.len() - text.len());
                row_text.push_str(text);
                row_text.push(' ');
            }
            rows.push(shown);
        } else {
            // a wrapped description line (or one moved below a long term)
            if rows.last().is_some_and(|r| r.ends_with(" @next")) && row_text.is_empty() {
                desc_columns.insert(at);
            } else {
                wrap_columns.insert(at);
            }
            row_text.push_str(line.trim_start());
            row_text.push(' ');
        }
    }
    finish_row(&mut rows, &mut row_text);
    out.append(&mut rows);
    flush(&mut out, &mut desc_columns, &mut wrap_columns);
    if !paragraph_columns.is_empty() {
        out.push(format!("paragraphs at {paragraph_columns:?}"));
    }
    out
}

/// The width click wraps a help page to at `columns` console columns:
/// `max(min(columns, max_width) - 2, 50)` with `max_width` 80
/// (`click/formatting.py`, `HelpFormatter.__init__`).
pub fn click_wrap_width(columns: usize) -> usize {
    (columns.min(80).saturating_sub(2)).max(50)
}

/// The widest line of `text`, in characters.
pub fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}
