//! The layout rich-click gives the Python tools' help and usage errors
//! (espsecure, espefuse): lines padded to the console width, boxed panels
//! with a title, and tables whose columns rich sizes ([`column_widths`],
//! a port of rich's own computation) and whose cells wrap.
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
//! rich::table(&mut text, "Options", &[rich::help_row()]);
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

/// How rich ends a cell's line that is wider than its column (rich's
/// `OverflowMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The word is cut into pieces of the column's width (rich-click's
    /// metavars, help texts and joined option spellings).
    Fold,
    /// The line is cut, its last character replaced by `…` (a rich table
    /// column's default, which a single option or argument name gets).
    Ellipsis,
}

/// One column of a rich `Table`, as `Table._calculate_column_widths`
/// (`rich/table.py`) sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The widest line of the column's cells, in characters (the maximum
    /// of rich's `Text.__rich_measure__`); `None` when the cells are
    /// renderables rich cannot measure, which count as wide as the table:
    /// rich-click's help cells are `Columns` (`rich_help_rendering.py`,
    /// `get_help_parameter`), measured by `Measurement.get`'s fallback.
    pub widest: Option<usize>,
    /// The cells' left plus right padding (`Table._get_padding_width`).
    pub padding: usize,
    /// `Column.ratio`: the column's share of an expanding table.
    pub ratio: Option<usize>,
    /// `Column.no_wrap`: rich never narrows such a column to fit.
    pub no_wrap: bool,
}

impl ColumnSpec {
    /// rich's `Table._measure_column` maximum for this column when the
    /// table has `width` characters (a cell is wrapped in a `Padding`,
    /// whose measure is the content's plus the padding, at most `width`).
    fn maximum(&self, width: usize) -> usize {
        if width < 1 {
            return 0;
        }
        if width < self.padding + 1 {
            return width;
        }
        match self.widest {
            None => width,
            Some(widest) => (widest + self.padding).min(width),
        }
    }
}

/// `round(n / d)` as Python computes it for the small integers rich
/// divides (half to even); `d` > 0.
fn round_half_even(n: i64, d: i64) -> i64 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// `ceil(n / d)`; `d` > 0.
fn ceil_div(n: i64, d: i64) -> i64 {
    -(-n).div_euclid(d)
}

/// rich's `ratio_reduce` (`rich/_ratio.py`): `total` taken from `values`
/// in proportion to `ratios`, no slot losing more than its maximum.
fn ratio_reduce(total: i64, ratios: &[i64], maximums: &[i64], values: &[i64]) -> Vec<i64> {
    let ratios: Vec<i64> = ratios
        .iter()
        .zip(maximums)
        .map(|(&r, &m)| if m != 0 { r } else { 0 })
        .collect();
    let mut total_ratio: i64 = ratios.iter().sum();
    if total_ratio == 0 {
        return values.to_vec();
    }
    let mut remaining = total;
    let mut out = Vec::with_capacity(values.len());
    for ((&ratio, &maximum), &value) in ratios.iter().zip(maximums).zip(values) {
        if ratio != 0 && total_ratio > 0 {
            let distributed = maximum.min(round_half_even(ratio * remaining, total_ratio));
            out.push(value - distributed);
            remaining -= distributed;
            total_ratio -= ratio;
        } else {
            out.push(value);
        }
    }
    out
}

/// rich's `ratio_distribute` (`rich/_ratio.py`): `total` shared out in
/// proportion to `ratios`, each slot at least its minimum.
fn ratio_distribute(total: i64, ratios: &[i64], minimums: Option<&[i64]>) -> Vec<i64> {
    let ratios: Vec<i64> = match minimums {
        Some(m) => ratios
            .iter()
            .zip(m)
            .map(|(&r, &m)| if m != 0 { r } else { 0 })
            .collect(),
        None => ratios.to_vec(),
    };
    let mut total_ratio: i64 = ratios.iter().sum();
    if total_ratio <= 0 {
        // rich asserts a positive sum; nothing to share out
        return vec![0; ratios.len()];
    }
    let mut remaining = total;
    let mut out = Vec::with_capacity(ratios.len());
    for (k, &ratio) in ratios.iter().enumerate() {
        let minimum = minimums.map_or(0, |m| m[k]);
        let distributed = if total_ratio > 0 {
            minimum.max(ceil_div(ratio * remaining, total_ratio))
        } else {
            remaining
        };
        out.push(distributed);
        total_ratio -= ratio;
        remaining -= distributed;
    }
    out
}

/// rich's `Table._collapse_widths`: the widest wrappable columns narrowed
/// together, down to the next widest, until the table fits `max_width`.
fn collapse_widths(widths: &[i64], wrapable: &[bool], max_width: i64) -> Vec<i64> {
    let mut widths = widths.to_vec();
    let mut total: i64 = widths.iter().sum();
    let mut excess = total - max_width;
    if !wrapable.iter().any(|&w| w) {
        return widths;
    }
    while total != 0 && excess > 0 {
        let max_column = widths
            .iter()
            .zip(wrapable)
            .filter(|(_, &w)| w)
            .map(|(&w, _)| w)
            .max()
            .unwrap_or(0);
        let second = widths
            .iter()
            .zip(wrapable)
            .map(|(&w, &a)| if a && w != max_column { w } else { 0 })
            .max()
            .unwrap_or(0);
        let difference = max_column - second;
        let ratios: Vec<i64> = widths
            .iter()
            .zip(wrapable)
            .map(|(&w, &a)| i64::from(a && w == max_column))
            .collect();
        if !ratios.iter().any(|&r| r != 0) || difference == 0 {
            break;
        }
        let max_reduce = vec![excess.min(difference); widths.len()];
        widths = ratio_reduce(excess, &ratios, &max_reduce, &widths);
        total = widths.iter().sum();
        excess = total - max_width;
    }
    widths
}

/// The width of each column, padding included, of a rich table drawn in
/// `max_width` characters (borders excluded): rich's
/// `Table._calculate_column_widths`. Each column starts as wide as its
/// widest cell; an expanding table shares its width out among the columns
/// with a ratio; a table too wide narrows its widest wrappable columns
/// first (`_collapse_widths`), then all evenly; an expanding table too
/// narrow widens every column in proportion to its width.
pub fn column_widths(columns: &[ColumnSpec], max_width: usize, expand: bool) -> Vec<usize> {
    let to_i = |n: usize| i64::try_from(n).unwrap_or(i64::MAX / 4);
    let max_i = to_i(max_width);
    let measured: Vec<i64> = columns.iter().map(|c| to_i(c.maximum(max_width))).collect();
    let mut widths: Vec<i64> = measured.iter().map(|&m| m.max(1)).collect();
    let flexible = |c: &ColumnSpec| c.ratio.is_some();
    if expand {
        let ratios: Vec<i64> = columns
            .iter()
            .filter(|c| flexible(c))
            .map(|c| to_i(c.ratio.unwrap_or(0)))
            .collect();
        if ratios.iter().any(|&r| r != 0) {
            let fixed: Vec<i64> = columns
                .iter()
                .zip(&measured)
                .map(|(c, &m)| if flexible(c) { 0 } else { m })
                .collect();
            let minimums: Vec<i64> = columns
                .iter()
                .filter(|c| flexible(c))
                .map(|c| 1 + to_i(c.padding))
                .collect();
            let flexible_width = max_i - fixed.iter().sum::<i64>();
            let mut shares = ratio_distribute(flexible_width, &ratios, Some(&minimums)).into_iter();
            for (k, c) in columns.iter().enumerate() {
                if flexible(c) {
                    widths[k] = fixed[k] + shares.next().unwrap_or(0);
                }
            }
        }
    }
    let mut table_width: i64 = widths.iter().sum();
    if table_width > max_i {
        let wrapable: Vec<bool> = columns.iter().map(|c| !c.no_wrap).collect();
        widths = collapse_widths(&widths, &wrapable, max_i);
        table_width = widths.iter().sum();
        if table_width > max_i {
            let ones = vec![1; widths.len()];
            widths = ratio_reduce(table_width - max_i, &ones, &widths, &widths);
            table_width = widths.iter().sum();
        }
        widths = columns
            .iter()
            .zip(&widths)
            .map(|(c, &w)| to_i(c.maximum(usize::try_from(w).unwrap_or(0))))
            .collect();
    }
    if table_width < max_i && expand {
        let pads = ratio_distribute(max_i - table_width, &widths, None);
        for (w, p) in widths.iter_mut().zip(pads) {
            *w += p;
        }
    }
    widths
        .into_iter()
        .map(|w| usize::try_from(w).unwrap_or(0))
        .collect()
}

/// A cell's text on rows of `width` as rich wraps a `Text`: words fill
/// each row greedily; with [`Overflow::Fold`] a longer word is cut into
/// pieces, with [`Overflow::Ellipsis`] it keeps a row of its own, cut to
/// the width and ending in `…`.
pub fn wrap_cell_text(text: &str, width: usize, overflow: Overflow) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    match overflow {
        Overflow::Fold => wrap(text, width),
        Overflow::Ellipsis => {
            let width = width.max(1);
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
                row = word.to_string();
            }
            rows.push(row);
            rows.into_iter().map(|r| ellipsized(&r, width)).collect()
        }
    }
}

/// One row of a rich-click parameter panel (Options or Arguments), in
/// rich-click's column order (`options_table_column_types`: required,
/// opt_long, opt_short, metavar, help).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParamRow {
    /// Drawn as `*`.
    pub required: bool,
    /// The long spellings (`--a/--no-a` for a flag pair), or an
    /// argument's name.
    pub long: String,
    /// The short spellings.
    pub short: String,
    /// click's metavar (`FILENAME`, `[1|2]`).
    pub metavar: String,
    /// The description (espboot's words).
    pub help: String,
}

/// How rich-click renders a name cell: one spelling is a plain `Text`
/// (the column's ellipsis overflow), several are joined into a folding
/// one (`_get_parameter_help_opt`).
fn name_overflow(cell: &str) -> Overflow {
    if cell.contains(['/', ',']) {
        Overflow::Fold
    } else {
        Overflow::Ellipsis
    }
}

/// A column of a parameter panel: its cells and how each overflows.
struct TableColumn<'a> {
    cells: Vec<&'a str>,
    overflow: fn(&str) -> Overflow,
}

/// Appends a panel of parameter rows as rich-click draws it: a table
/// without borders or header, cells padded by one space on each side but
/// not at the table's edges, expanding to the panel's inner width
/// (rich-click's `style_options_table_*` defaults), the columns no row
/// uses left out (`RichOptionPanel.get_table`), the widths rich's
/// ([`column_widths`]).
pub fn table(out: &mut String, title: &str, rows: &[ParamRow]) {
    let inner = width().saturating_sub(4);
    let fold: fn(&str) -> Overflow = |_| Overflow::Fold;
    let cells = [
        TableColumn {
            cells: rows
                .iter()
                .map(|r| if r.required { "*" } else { "" })
                .collect(),
            overflow: name_overflow,
        },
        TableColumn {
            cells: rows.iter().map(|r| r.long.as_str()).collect(),
            overflow: name_overflow,
        },
        TableColumn {
            cells: rows.iter().map(|r| r.short.as_str()).collect(),
            overflow: name_overflow,
        },
        TableColumn {
            cells: rows.iter().map(|r| r.metavar.as_str()).collect(),
            overflow: fold,
        },
    ];
    let mut columns: Vec<TableColumn> = cells
        .into_iter()
        .filter(|c| c.cells.iter().any(|s| !s.is_empty()))
        .collect();
    // the help cells: rich-click keeps the column even when empty (its
    // cells are `Columns`, never falsy)
    let help: Vec<&str> = rows.iter().map(|r| r.help.as_str()).collect();
    let n = columns.len() + 1;
    let pad = |k: usize| (usize::from(k > 0), usize::from(k + 1 < n));
    let mut specs: Vec<ColumnSpec> = columns
        .iter()
        .enumerate()
        .map(|(k, c)| ColumnSpec {
            widest: c.cells.iter().map(|s| s.chars().count()).max(),
            padding: pad(k).0 + pad(k).1,
            ratio: None,
            no_wrap: false,
        })
        .collect();
    specs.push(ColumnSpec {
        widest: None,
        padding: pad(n - 1).0 + pad(n - 1).1,
        ratio: None,
        no_wrap: false,
    });
    let widths = column_widths(&specs, inner, true);
    columns.push(TableColumn {
        cells: help,
        overflow: fold,
    });
    let mut lines = Vec::new();
    for r in 0..rows.len() {
        let pieces: Vec<Vec<String>> = columns
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (left, right) = pad(k);
                let room = widths[k].saturating_sub(left + right);
                wrap_cell_text(c.cells[r], room, (c.overflow)(c.cells[r]))
            })
            .collect();
        let height = pieces.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            let mut text = String::new();
            for (k, cell) in pieces.iter().enumerate() {
                let (left, _) = pad(k);
                text.push_str(&" ".repeat(left));
                let piece = cell.get(line).map_or("", String::as_str);
                text.push_str(&padded(piece, widths[k].saturating_sub(left)));
            }
            lines.push(text.trim_end().to_string());
        }
    }
    panel(out, title, &lines);
}

/// Appends a panel of commands as the esptool family draws it: esptool
/// sets rich-click's commands table column ratio to 1:3
/// (`esptool/__init__.py`, `STYLE_COMMANDS_TABLE_COLUMN_WIDTH_RATIO`), so
/// rich ([`column_widths`]) shares the panel's inner width out 1:3
/// whatever the names and descriptions. The name column does not wrap
/// (`RichCommandPanel.get_table`): names longer than it end in `…`; the
/// descriptions wrap in the rest.
pub fn commands_table(out: &mut String, title: &str, rows: &[(String, String)]) {
    let inner = width().saturating_sub(4);
    let specs = [
        ColumnSpec {
            widest: rows.iter().map(|(n, _)| n.chars().count()).max(),
            padding: 1,
            ratio: Some(1),
            no_wrap: true,
        },
        ColumnSpec {
            widest: None,
            padding: 1,
            ratio: Some(3),
            no_wrap: false,
        },
    ];
    let widths = column_widths(&specs, inner, true);
    // the name column, with its right padding
    let first = widths[0].max(1);
    let name_width = first - 1;
    let help_width = widths[1].saturating_sub(1).max(1);
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
pub fn help_row() -> ParamRow {
    ParamRow {
        long: "--help".to_string(),
        short: "-h".to_string(),
        help: "Show this help and exit.".to_string(),
        ..ParamRow::default()
    }
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
    command_help_with_arguments(out, description, sub, hidden, None);
}

/// [`command_help`], the Arguments panel's rows given by the caller when
/// `arguments` is `Some` (click's parameter names and metavars where the
/// clap definitions do not carry them).
pub fn command_help_with_arguments(
    out: &mut String,
    description: &[String],
    sub: &clap::Command,
    hidden: &[&str],
    arguments: Option<Vec<ParamRow>>,
) {
    line(out, "");
    for paragraph in description {
        // rich-click keeps a paragraph's own line breaks
        for part in paragraph.split('\n') {
            for row in wrap(part, width().saturating_sub(2)) {
                line(out, &format!(" {row}"));
            }
        }
        line(out, "");
    }
    // click names an argument panel row by the parameter's name, `-` for
    // `_`, then its type's metavar when a value name gives one
    let arguments: Vec<ParamRow> = arguments.unwrap_or_else(|| {
        sub.get_positionals()
            .map(|a| {
                let required = a.is_required_set();
                let metavar = a
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                ParamRow {
                    required,
                    long: a.get_id().as_str().to_uppercase().replace('_', "-"),
                    short: String::new(),
                    metavar,
                    help: if required { "[required]" } else { "" }.to_string(),
                }
            })
            .collect()
    });
    if !arguments.is_empty() {
        table(out, "Arguments", &arguments);
    }
    let mut options: Vec<ParamRow> = sub
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
            ParamRow {
                required,
                long: a.get_long().map(|l| format!("--{l}")).unwrap_or_default(),
                short: a.get_short().map(|s| format!("-{s}")).unwrap_or_default(),
                metavar,
                help,
            }
        })
        .collect();
    options.push(help_row());
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

/// rich-click's usage line (`Usage: prog args`) as it draws it in a help
/// page and above a usage error, at the console width: rich `Columns` of
/// (`Usage:`, `prog`, `args`), one space between cells, as many per row as
/// fit in the padded width; an `args` cell too wide for a row is wrapped,
/// a word too wide for it cut with `…`.
pub fn usage_lines(out: &mut String, prog: &str, args: &str) {
    let width = width();
    // rich Columns of (`Usage:`, prog, args) with one space between
    // cells, as many per row as fit in the padded width
    let room = width.saturating_sub(2);
    let (n_usage, n_prog, n_args) = ("Usage:".len(), prog.chars().count(), args.chars().count());
    if n_usage + 1 + n_prog + 1 + n_args <= room {
        line(out, &format!(" Usage: {prog} {args}"));
    } else if n_usage.max(n_args) + 1 + n_prog <= room {
        line(
            out,
            &format!(" {} {}", padded("Usage:", n_usage.max(n_args)), prog),
        );
        line(out, &format!(" {args}"));
    } else {
        line(out, " Usage:");
        line(out, &format!(" {prog}"));
        // a word longer than a row is cut to it, ending in `…` (rich's
        // ellipsis overflow)
        for row in wrap_cell_text(args, room, Overflow::Ellipsis) {
            line(out, &format!(" {row}"));
        }
    }
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
        usage_lines(&mut out, u.prog, u.args);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference tools' Python (`$ESPBOOT_REFERENCE_BIN`, else the
    /// workspace's `.venv/bin`), whose rich is the one the pinned tools
    /// draw with; `None` when interop checks are deliberately skipped.
    fn reference_python() -> Option<std::path::PathBuf> {
        if std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1") {
            eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the rich interop check");
            return None;
        }
        let dir = std::env::var_os("ESPBOOT_REFERENCE_BIN").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
            std::path::PathBuf::from,
        );
        let python = dir.join("python");
        assert!(
            python.exists(),
            "the reference tools' python not found at {} (run scripts/test, or set \
             ESPBOOT_SKIP_INTEROP=1 on purpose)",
            python.display()
        );
        Some(python)
    }

    /// Runs `script` with the reference Python, `input` (JSON) on its
    /// stdin; its stdout parsed as JSON.
    fn run_python(
        python: &std::path::Path,
        script: &str,
        input: &serde_json::Value,
    ) -> serde_json::Value {
        use std::io::Write;
        let mut child = std::process::Command::new(python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run the reference python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.to_string().as_bytes())
            .expect("write the cases");
        let out = child.wait_with_output().expect("python's output");
        assert!(out.status.success(), "python failed: {out:?}");
        serde_json::from_slice(&out.stdout).expect("python's JSON")
    }

    /// A rich `Table` set up as rich-click sets up its panels' tables
    /// (`rich_panel.py`: no box, no header, padding (0, 1) without the
    /// edges): each column's cells are `Text`s of the given widths, or a
    /// `Columns` (what rich-click puts in the help column) for `null`;
    /// `_calculate_column_widths` printed per case.
    const RICH_WIDTHS: &str = r#"
import json, sys
from rich.console import Console
from rich.columns import Columns
from rich.table import Table
from rich.text import Text
console = Console(width=200)
out = []
for case in json.load(sys.stdin):
    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False, expand=case["expand"])
    rows = max([len(c["cells"] or [0]) for c in case["columns"]] or [0])
    for c in case["columns"]:
        table.add_column(ratio=c["ratio"], no_wrap=c["no_wrap"])
    for r in range(rows):
        cells = []
        for c in case["columns"]:
            if c["cells"] is None:
                cells.append(Columns([Text("x y")]))
            else:
                n = c["cells"][r] if r < len(c["cells"]) else 0
                cells.append(Text("x" * n))
        table.add_row(*cells)
    options = console.options.update_width(case["max_width"])
    out.append(table._calculate_column_widths(console, options))
print(json.dumps(out))
"#;

    #[test]
    fn column_widths_are_richs() {
        let Some(python) = reference_python() else {
            return;
        };
        // deterministic pseudo-random tables around the shapes the
        // personalities draw: a few name and metavar columns of any width,
        // a help column rich cannot measure, or a 1:3 commands table
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from((seed >> 33) % n).unwrap_or(0)
        };
        let mut cases = Vec::new();
        let mut ours = Vec::new();
        for case in 0..400 {
            let max_width = [36, 76, 116, 20, 5][case % 5];
            let ratio = case % 7 == 0;
            let n = if ratio { 2 } else { 1 + next(5) };
            let unmeasured = !ratio && next(4) != 0;
            let mut json_columns = Vec::new();
            let mut specs = Vec::new();
            for k in 0..n {
                let last = k + 1 == n;
                let padding = usize::from(k > 0) + usize::from(!last);
                let (cells, widest) = if last && (unmeasured || ratio) {
                    (None, None)
                } else {
                    let cells: Vec<usize> = (0..1 + next(4))
                        .map(|_| if next(6) == 0 { 0 } else { next(140) })
                        .collect();
                    let widest = cells.iter().copied().max();
                    (Some(cells), widest)
                };
                let (column_ratio, no_wrap) = if ratio {
                    (Some(if k == 0 { 1 } else { 3 }), k == 0)
                } else {
                    (None, next(9) == 0)
                };
                json_columns.push(serde_json::json!({
                    "cells": cells, "ratio": column_ratio, "no_wrap": no_wrap,
                }));
                specs.push(ColumnSpec {
                    widest,
                    padding,
                    ratio: column_ratio,
                    no_wrap,
                });
            }
            let expand = ratio || next(5) != 0;
            cases.push(serde_json::json!({
                "columns": json_columns, "max_width": max_width, "expand": expand,
            }));
            ours.push((
                column_widths(&specs, max_width, expand),
                specs,
                max_width,
                expand,
            ));
        }
        let theirs = run_python(&python, RICH_WIDTHS, &serde_json::Value::Array(cases));
        let theirs = theirs.as_array().expect("a list of width lists");
        assert_eq!(theirs.len(), ours.len());
        for (t, (o, specs, max_width, expand)) in theirs.iter().zip(&ours) {
            let t: Vec<usize> = serde_json::from_value(t.clone()).expect("widths");
            assert_eq!(&t, o, "{specs:?} in {max_width} (expand {expand})");
        }
    }

    /// rich's `Text.wrap` of single-word and several-word cells, folded
    /// and cut with an ellipsis, as rich-click's name and metavar cells
    /// wrap in a narrowed column.
    #[test]
    fn cells_wrap_like_richs_text() {
        let Some(python) = reference_python() else {
            return;
        };
        const RICH_WRAP: &str = r#"
import json, sys
from rich.console import Console
from rich.text import Text
console = Console(width=200)
out = []
for text, width, overflow in json.load(sys.stdin):
    lines = Text(text, overflow=overflow).wrap(console, width, overflow=overflow)
    out.append([line.plain.rstrip() for line in lines])
print(json.dumps(out))
"#;
        let texts = [
            "--postpone/--no-postpone",
            "[rsa3072|ecdsa192|ecdsa256|ecdsa384]",
            "[<BLOCK> <KEYFILE> <KEYPURPOSE>] ... (max 12 groups)",
            "--extend-efuse-table",
            "BLOCK_KEYFILE_KEYPURPOSE",
            "-c",
        ];
        let mut cases = Vec::new();
        let mut ours = Vec::new();
        for text in texts {
            for width in [1, 2, 5, 9, 18, 22, 23, 27, 29, 40] {
                for (overflow, name) in [(Overflow::Fold, "fold"), (Overflow::Ellipsis, "ellipsis")]
                {
                    cases.push(serde_json::json!([text, width, name]));
                    let rows: Vec<String> = wrap_cell_text(text, width, overflow)
                        .into_iter()
                        .map(|r| r.trim_end().to_string())
                        .collect();
                    ours.push((rows, text, width, name));
                }
            }
        }
        let theirs = run_python(&python, RICH_WRAP, &serde_json::Value::Array(cases));
        for (t, (o, text, width, name)) in theirs.as_array().expect("a list").iter().zip(&ours) {
            let t: Vec<String> = serde_json::from_value(t.clone()).expect("rows");
            assert_eq!(&t, o, "{text:?} in {width} ({name})");
        }
    }

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
            ParamRow {
                required: true,
                long: "--version".to_string(),
                short: "-v".to_string(),
                metavar: "[1|2]".to_string(),
                help: "word ".repeat(30),
            },
            ParamRow {
                long: "--a-very-long-option-name-indeed".to_string(),
                help: "short".to_string(),
                ..ParamRow::default()
            },
        ];
        table(&mut out, "Options", &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() == width()), "{out}");
        // a name whole, or, where rich narrowed its column, cut and ending
        // in `…` (a single name's ellipsis overflow); the help wrapped
        let name = "--a-very-long-option-name-indeed";
        let row = lines.iter().find(|l| l.contains("--a-very")).expect(&out);
        let cell = row.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            cell == name
                || cell
                    .strip_suffix('\u{2026}')
                    .is_some_and(|c| name.starts_with(c)),
            "{out}"
        );
        assert!(lines[0].starts_with("\u{256d}\u{2500} Options "), "{out}");
        assert!(lines[1].starts_with("\u{2502} *  --version"), "{out}");
        assert!(lines.len() > 4, "{out}");
    }
}
