//! The layout rich-click gives the Python tools' help and usage errors
//! (espsecure, espefuse): lines padded to the console width, boxed panels
//! with a title, and tables whose last column wraps.
//!
//! rich renders `COLUMNS` wide when its output is not a terminal, 80 when
//! that is unset (rich's default console width), which is how scripts and
//! tests see the tools.
//! What scripts read from a help text is its structure: the usage line,
//! the panels, the command, option and argument names. The descriptions
//! in the rows are espboot's own words.
//!
//! ```ignore
//! let mut text = String::new();
//! rich::line(&mut text, " Usage: espsecure [OPTIONS] COMMAND [ARGS]...");
//! rich::table(&mut text, "Options", &[vec!["--help".into(), "-h".into(), "Show this help.".into()]]);
//! ```

/// rich's console width when `COLUMNS` is not set.
const DEFAULT_WIDTH: usize = 80;

/// The `max_content_width` of the Python tools' click context
/// (`context_settings` of the `cli` group in `espsecure/__init__.py`,
/// `espefuse/__init__.py`, `esptool/__init__.py`): rich-click renders help
/// no wider than this, whatever the console width (usage errors are not
/// capped).
pub const HELP_MAX_WIDTH: usize = 120;

std::thread_local! {
    /// The cap [`help_width`] sets while a help page renders.
    static MAX_WIDTH: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// rich's console width when the output is not a terminal: `COLUMNS` when
/// it is a number (rich's `Console.__init__`), else 80; while a help page
/// renders (see [`help_width`]), no more than its cap.
pub fn width() -> usize {
    let console = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 4)
        .unwrap_or(DEFAULT_WIDTH);
    MAX_WIDTH
        .with(|m| m.get())
        .map_or(console, |m| console.min(m))
}

/// Renders a help page with `f`, at most [`HELP_MAX_WIDTH`] wide, as
/// rich-click formats help for a context with `max_content_width`.
pub fn help_width<T>(f: impl FnOnce() -> T) -> T {
    let before = MAX_WIDTH.with(|m| m.replace(Some(HELP_MAX_WIDTH)));
    let out = f();
    MAX_WIDTH.with(|m| m.set(before));
    out
}

/// `s` padded with spaces to `width` characters.
pub fn padded(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(s.chars().count())))
}

/// Appends `s` padded to the console width, as rich prints a line.
pub fn line(out: &mut String, s: &str) {
    out.push_str(&padded(s, width()));
    out.push('\n');
}

/// rich's word wrap of one paragraph: words fill each row greedily, a
/// leading indentation is kept on the first row, and a word longer than a
/// row is folded (rich's `fold` overflow).
pub fn wrap(paragraph: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let body = paragraph.trim_start_matches(' ');
    let mut row = paragraph[..paragraph.len() - body.len()].to_string();
    let indent = row.len();
    // a folded word keeps its trailing space: when its last piece fills a
    // row, the space starts the next row and separates the next word
    let mut glued = false;
    let mut words = body.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(word) = words.next() {
        let (rn, wn) = (row.chars().count(), word.chars().count());
        let sep = usize::from(rn > indent && !std::mem::take(&mut glued));
        if rn + sep + wn <= width {
            if sep == 1 {
                row.push(' ');
            }
            row.push_str(word);
            continue;
        }
        if rn > 0 {
            rows.push(std::mem::take(&mut row));
        }
        let mut chars: Vec<char> = word.chars().collect();
        while chars.len() > width {
            let tail = chars.split_off(width);
            rows.push(chars.into_iter().collect());
            chars = tail;
        }
        if wn > width && chars.len() == width && words.peek().is_some() {
            rows.push(chars.into_iter().collect());
            row = " ".to_string();
            glued = true;
        } else {
            row = chars.into_iter().collect();
        }
    }
    rows.push(row);
    rows
}

/// `s` cut to `width` characters, ending in `…` when it was longer (rich's
/// ellipsis overflow, which rich-click uses for command names).
pub fn ellipsized(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let cut: String = s.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}\u{2026}")
}

/// Appends a panel: `title` in the top rule, then `rows` (already fitted
/// to the panel's inner width) between the side rules.
pub fn panel(out: &mut String, title: &str, rows: &[String]) {
    let width = width();
    let inner = width.saturating_sub(4);
    let head = format!("\u{256d}\u{2500} {title} ");
    let rule = width.saturating_sub(1 + head.chars().count());
    out.push_str(&head);
    out.push_str(&"\u{2500}".repeat(rule));
    out.push_str("\u{256e}\n");
    for row in rows {
        out.push_str("\u{2502} ");
        out.push_str(&padded(row, inner));
        out.push_str(" \u{2502}\n");
    }
    out.push('\u{2570}');
    out.push_str(&"\u{2500}".repeat(width.saturating_sub(2)));
    out.push_str("\u{256f}\n");
}

/// Appends a panel holding a table: every column but the last is as wide
/// as its widest cell (names are never cut: scripts read them), two
/// spaces apart; the last column takes the rest of the row, at least
/// a quarter of the console, and wraps. Empty columns are left out, as rich-click leaves
/// out a column no row uses.
pub fn table(out: &mut String, title: &str, rows: &[Vec<String>]) {
    let width = width();
    let inner = width.saturating_sub(4);
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let used: Vec<usize> = (0..columns.saturating_sub(1))
        .filter(|&c| rows.iter().any(|r| r.get(c).is_some_and(|s| !s.is_empty())))
        .collect();
    let widths: Vec<usize> = used
        .iter()
        .map(|&c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lead: usize = widths.iter().map(|w| w + 2).sum();
    let last_width = inner.saturating_sub(lead).max(width / 4);
    let mut lines = Vec::new();
    for row in rows {
        let mut first = String::new();
        for (&c, &w) in used.iter().zip(&widths) {
            let cell = row.get(c).map_or("", String::as_str);
            first.push_str(&padded(cell, w));
            first.push_str("  ");
        }
        let last = if columns > 0 {
            row.get(columns - 1).map_or("", String::as_str)
        } else {
            ""
        };
        for (k, piece) in wrap(last, last_width).into_iter().enumerate() {
            let lead_cells = if k == 0 {
                first.clone()
            } else {
                " ".repeat(lead)
            };
            lines.push(format!("{lead_cells}{piece}").trim_end().to_string());
        }
    }
    panel(out, title, &lines);
}

/// Appends a panel of commands as the esptool family draws it: esptool
/// sets rich-click's commands table column ratio to 1:3
/// (`esptool/__init__.py`, `STYLE_COMMANDS_TABLE_COLUMN_WIDTH_RATIO`), so
/// rich (`Table._calculate_column_widths`, `ratio_distribute`) gives the
/// name column a quarter of the panel's inner width, rounded up, whatever
/// the names and descriptions: names longer than that end in `…`, and the
/// descriptions wrap in the rest (after one space of padding).
pub fn commands_table(out: &mut String, title: &str, rows: &[(String, String)]) {
    let inner = width().saturating_sub(4);
    // the name column, with its right padding
    let first = inner.div_ceil(4).max(1);
    let name_width = first - 1;
    let help_width = inner.saturating_sub(first + 1).max(1);
    let mut lines = Vec::new();
    for (name, help) in rows {
        let name = padded(&ellipsized(name, name_width), first + 1);
        let pieces = wrap(help, help_width);
        if pieces.is_empty() {
            lines.push(name.trim_end().to_string());
        }
        for (k, piece) in pieces.into_iter().enumerate() {
            let lead = if k == 0 {
                name.clone()
            } else {
                " ".repeat(first + 1)
            };
            lines.push(format!("{lead}{piece}").trim_end().to_string());
        }
    }
    panel(out, title, &lines);
}

/// click's `--help` option row: long, short, help.
pub fn help_row() -> Vec<String> {
    vec![
        "--help".to_string(),
        "-h".to_string(),
        "Show this help and exit.".to_string(),
    ]
}

/// Appends a command's help after its usage line: a blank line, the
/// `description` paragraphs, then the Arguments and Options panels built
/// from `sub`'s clap definitions (options whose id is in `hidden` left
/// out: espboot's own), click's `--help` row last.
pub fn command_help(
    out: &mut String,
    description: &[String],
    sub: &clap::Command,
    hidden: &[&str],
) {
    line(out, "");
    for paragraph in description {
        for row in wrap(paragraph, width().saturating_sub(2)) {
            line(out, &format!(" {row}"));
        }
        line(out, "");
    }
    // click names an argument panel row by the parameter's name, `-` for
    // `_`, then its type's metavar when a value name gives one
    let arguments: Vec<Vec<String>> = sub
        .get_positionals()
        .map(|a| {
            let required = a.is_required_set();
            let metavar = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(ToString::to_string)
                .unwrap_or_default();
            vec![
                if required { "*" } else { "" }.to_string(),
                a.get_id().as_str().to_uppercase().replace('_', "-"),
                metavar,
                if required { "[required]" } else { "" }.to_string(),
            ]
        })
        .collect();
    if !arguments.is_empty() {
        table(out, "Arguments", &arguments);
    }
    let mut options: Vec<Vec<String>> = sub
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter(|a| a.get_id() != "help" && !hidden.contains(&a.get_id().as_str()))
        .map(|a| {
            let required = a.is_required_set();
            let choices: Vec<String> = a
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            let metavar = if !a.get_action().takes_values() {
                String::new()
            } else if !choices.is_empty() {
                format!("[{}]", choices.join("|"))
            } else {
                a.get_value_names()
                    .and_then(|v| v.first())
                    .map_or_else(|| a.get_id().as_str().to_uppercase(), |v| v.to_string())
            };
            let mut help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            if required {
                help.push_str(" [required]");
            }
            vec![
                if required { "*" } else { "" }.to_string(),
                a.get_long().map(|l| format!("--{l}")).unwrap_or_default(),
                a.get_short().map(|s| format!("-{s}")).unwrap_or_default(),
                metavar,
                help,
            ]
        })
        .collect();
    let mut help = help_row();
    help.insert(0, String::new());
    help.insert(3, String::new());
    options.push(help);
    table(out, "Options", &options);
}

/// The usage lines rich-click prints above a usage error's panel.
pub struct Usage<'a> {
    /// `espefuse burn-bit`.
    pub prog: &'a str,
    /// `[OPTIONS] BLOCK BIT_NUMBER...`.
    pub args: &'a str,
    /// `espefuse burn-bit -h`, shown as `Try '…' for help`.
    pub help: &'a str,
}

/// A click usage error as rich-click draws it without a terminal
/// (`rich_format_error`): the usage line and the help hint, then the
/// message in an `Error` panel and a blank line. `usage` is `None` for an
/// error raised without a click context, which rich-click draws as the
/// panel alone.
pub fn usage_error(usage: Option<&Usage>, message: &str) -> String {
    let width = width();
    let mut out = String::new();
    if let Some(u) = usage {
        line(&mut out, "");
        // rich Columns of (`Usage:`, prog, args) with one space between
        // cells, as many per row as fit in the padded width
        let room = width.saturating_sub(2);
        let (n_usage, n_prog, n_args) = (
            "Usage:".len(),
            u.prog.chars().count(),
            u.args.chars().count(),
        );
        if n_usage + 1 + n_prog + 1 + n_args <= room {
            line(&mut out, &format!(" Usage: {} {}", u.prog, u.args));
        } else if n_usage.max(n_args) + 1 + n_prog <= room {
            line(
                &mut out,
                &format!(" {} {}", padded("Usage:", n_usage.max(n_args)), u.prog),
            );
            line(&mut out, &format!(" {}", u.args));
        } else {
            line(&mut out, " Usage:");
            line(&mut out, &format!(" {}", u.prog));
            for row in wrap_cell(u.args, room) {
                line(&mut out, &format!(" {row}"));
            }
        }
        line(&mut out, "");
        line(&mut out, &format!(" Try '{}' for help", u.help));
    }
    let inner = width.saturating_sub(4).max(1);
    let rows: Vec<String> = expand_tabs(message)
        .split('\n')
        .flat_map(|paragraph| wrap(paragraph, inner))
        .collect();
    panel(&mut out, "Error", &rows);
    line(&mut out, "");
    out
}

/// Tabs expanded to the next multiple of 8 columns on each line, as rich
/// prints them.
pub fn expand_tabs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                let n = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', n));
                column += n;
            }
            '\n' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// A usage cell on rows of `width`: words fill each row greedily; a word
/// longer than a row is cut to it, ending in `…` (rich's ellipsis overflow).
fn wrap_cell(text: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let (rn, wn) = (row.chars().count(), word.chars().count());
        if rn > 0 && rn + 1 + wn <= width {
            row.push(' ');
            row.push_str(word);
            continue;
        }
        if rn > 0 {
            rows.push(std::mem::take(&mut row));
        }
        if wn > width {
            rows.push(ellipsized(word, width));
        } else {
            row = word.to_string();
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_folded_word_filling_its_last_row_kept_its_space_on_the_next() {
        // rich folds "word " (its trailing space too): a word of exactly two
        // rows leaves the space to start the third, before the next word
        let word = "x".repeat(8);
        assert_eq!(
            wrap(&format!("{word} ab cd"), 4),
            ["xxxx", "xxxx", " ab", "cd"]
        );
        assert_eq!(
            wrap(&format!("{word} next"), 4),
            ["xxxx", "xxxx", " ", "next"]
        );
        assert_eq!(wrap(&format!("a {word}"), 4), ["a", "xxxx", "xxxx"]);
    }

    #[test]
    fn wrap_splits_long_words_like_rich() {
        let long = format!("'{}': x", "a".repeat(90));
        let lines = wrap(&format!("Invalid value: {long}"), 76);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.chars().count() <= 76));
    }

    #[test]
    fn a_table_fits_the_console_and_wraps_its_last_column() {
        let mut out = String::new();
        let rows = vec![
            vec![
                "*".to_string(),
                "--version".to_string(),
                "-v".to_string(),
                "[1|2]".to_string(),
                "word ".repeat(30),
            ],
            vec![
                String::new(),
                "--a-very-long-option-name-indeed".to_string(),
                String::new(),
                String::new(),
                "short".to_string(),
            ],
        ];
        table(&mut out, "Options", &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() == width()), "{out}");
        // every name whole, the help wrapped onto more rows
        assert!(out.contains("--a-very-long-option-name-indeed"), "{out}");
        assert!(lines[0].starts_with("\u{256d}\u{2500} Options "), "{out}");
        assert!(lines[1].starts_with("\u{2502} *  --version"), "{out}");
        assert!(lines.len() > 4, "{out}");
    }
}
