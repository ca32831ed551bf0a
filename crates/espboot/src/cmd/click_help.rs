//! click 8's plain help layout (`click/formatting.py` `HelpFormatter`,
//! `click/core.py` `Command.format_help`): the usage line, the description,
//! `Options:` and `Commands:` as definition lists, wrapped with Python's
//! `textwrap` rules. The personalities fill it with their own rows, so the
//! layout scripts parse is click's while the words are espboot's.

/// click's help width without a terminal: `COLUMNS` (else 80) capped at
/// `max_width` 80, minus 2, at least 50 (`HelpFormatter.__init__`).
pub(crate) fn width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c > 0)
        .unwrap_or(80);
    (columns.min(80).saturating_sub(2)).max(50)
}

/// One help page.
pub(crate) struct Page<'a> {
    /// `imgtool sign`.
    pub(crate) prog: &'a str,
    /// `[OPTIONS] INFILE OUTFILE`.
    pub(crate) args: &'a str,
    /// The command's description (may be empty).
    pub(crate) description: &'a str,
    /// (`-k, --key filename`, help) rows.
    pub(crate) options: Vec<(String, String)>,
    /// (name, full help) of a group's commands; their short help is made
    /// as click makes it.
    pub(crate) commands: Vec<(String, String)>,
}

impl Page<'_> {
    /// The page as click prints it (ending in one newline).
    pub(crate) fn render(&self, width: usize) -> String {
        let mut out = String::new();
        // HelpFormatter.write_usage (indent 0)
        let prefix = format!("Usage: {} ", self.prog);
        if self.args.is_empty() {
            out.push_str(prefix.trim_end());
        } else if width >= prefix.chars().count() + 20 {
            let indent = " ".repeat(prefix.chars().count());
            out.push_str(&wrap(self.args, width, &prefix, &indent));
        } else {
            out.push_str(&prefix);
            out.push('\n');
            let indent = " ".repeat("Usage: ".len() + 4);
            out.push_str(&wrap(self.args, width, &indent, &indent));
        }
        out.push('\n');
        if !self.description.is_empty() {
            out.push('\n');
            out.push_str(&wrap_paragraphs(self.description, width, "  "));
            out.push('\n');
        }
        if !self.options.is_empty() {
            out.push_str("\nOptions:\n");
            out.push_str(&definition_list(&self.options, width));
        }
        if !self.commands.is_empty() {
            // Group.format_commands: "allow for 3 times the default spacing"
            let longest = self.commands.iter().map(|(n, _)| n.chars().count()).max();
            let limit = width.saturating_sub(6 + longest.unwrap_or(0));
            let rows: Vec<(String, String)> = self
                .commands
                .iter()
                .map(|(name, help)| (name.clone(), short_help(help, limit)))
                .collect();
            out.push_str("\nCommands:\n");
            out.push_str(&definition_list(&rows, width));
        }
        // Command.get_help strips trailing newlines; echo adds one.
        let trimmed = out.trim_end_matches('\n').len();
        out.truncate(trimmed);
        out.push('\n');
        out
    }
}

/// `HelpFormatter.write_dl` at indent 2 (inside a section): the first
/// column up to 30 characters wide plus 2 spaces, longer terms on a line
/// of their own.
fn definition_list(rows: &[(String, String)], width: usize) -> String {
    const COL_MAX: usize = 30;
    const COL_SPACING: usize = 2;
    const INDENT: usize = 2;
    let widest = rows
        .iter()
        .map(|(t, _)| t.chars().count())
        .max()
        .unwrap_or(0);
    let first_col = widest.min(COL_MAX) + COL_SPACING;
    let mut out = String::new();
    for (term, help) in rows {
        out.push_str(&" ".repeat(INDENT));
        out.push_str(term);
        if help.is_empty() {
            out.push('\n');
            continue;
        }
        let term_len = term.chars().count();
        if term_len <= first_col - COL_SPACING {
            out.push_str(&" ".repeat(first_col - term_len));
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(first_col + INDENT));
        }
        let text_width = width.saturating_sub(first_col + 2).max(10);
        let wrapped = wrap_paragraphs(help, text_width, "");
        let mut lines = wrapped.lines();
        out.push_str(lines.next().unwrap_or_default());
        out.push('\n');
        for line in lines {
            if !line.is_empty() {
                out.push_str(&" ".repeat(first_col + INDENT));
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `wrap_text(…, preserve_paragraphs=True)`: paragraphs (split at empty
/// lines) each joined into one line and wrapped, with `indent` plus the
/// paragraph's own indentation.
fn wrap_paragraphs(text: &str, width: usize, indent: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut own_indent = None;
    let mut flush = |current: &mut Vec<&str>, own: &mut Option<usize>| {
        if !current.is_empty() {
            let ind = format!("{indent}{}", " ".repeat(own.unwrap_or(0)));
            paragraphs.push(wrap(&current.join(" "), width, &ind, &ind));
            current.clear();
        }
        *own = None;
    };
    for line in text.lines() {
        if line.is_empty() {
            flush(&mut current, &mut own_indent);
        } else {
            let stripped = line.trim_start();
            own_indent.get_or_insert(line.len() - stripped.len());
            current.push(stripped);
        }
    }
    flush(&mut current, &mut own_indent);
    paragraphs.join("\n\n")
}

/// Python's `textwrap` whitespace (`textwrap._whitespace`).
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// `[^\d\W]`: a word character that is not a digit.
fn is_letter(c: char) -> bool {
    c == '_' || (c.is_alphanumeric() && !c.is_numeric())
}

/// `[\w!"'&.,?]`: what may precede an em-dash.
fn is_word_punct(c: char) -> bool {
    c == '_' || c.is_alphanumeric() || "!\"'&.,?".contains(c)
}

/// `TextWrapper._split` with `break_on_hyphens` (`wordsep_re`): runs of
/// whitespace, em-dashes between words, and words, which end after a
/// hyphen between letters (`goof-ball` → `goof-`, `ball`).
fn chunks(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let letter_at = |i: usize| c.get(i).copied().is_some_and(is_letter);
    let mut out = Vec::new();
    let mut s = 0;
    while s < c.len() {
        let end = if is_space(c[s]) {
            (s..c.len()).find(|&i| !is_space(c[i])).unwrap_or(c.len())
        } else if let Some(end) = em_dash(&c, s) {
            end
        } else {
            let mut e = s + 1;
            loop {
                if e >= c.len() || is_space(c[e]) {
                    break e;
                }
                // hyphenated word: `-` after two letters, or after
                // letter-hyphen-letter; then letter, optional `-`, letter
                if c[e] == '-' {
                    let behind = (e >= 2 && letter_at(e - 2) && letter_at(e - 1))
                        || (e >= 3 && letter_at(e - 3) && c[e - 2] == '-' && letter_at(e - 1));
                    let ahead = letter_at(e + 1)
                        && (letter_at(e + 2) || (c.get(e + 2) == Some(&'-') && letter_at(e + 3)));
                    if behind && ahead {
                        break e + 1;
                    }
                }
                if is_word_punct(c[e - 1]) && em_dash(&c, e).is_some() {
                    break e;
                }
                e += 1;
            }
        };
        out.push(c[s..end].iter().collect());
        s = end;
    }
    out
}

/// The end of an em-dash (`--` or longer, followed by a word character)
/// starting at `s` after a word character or punctuation.
fn em_dash(c: &[char], s: usize) -> Option<usize> {
    if s == 0 || !is_word_punct(c[s - 1]) {
        return None;
    }
    let end = (s..c.len()).find(|&i| c[i] != '-').unwrap_or(c.len());
    (end - s >= 2 && c.get(end).is_some_and(|&x| x == '_' || x.is_alphanumeric())).then_some(end)
}

/// click's `TextWrapper.fill` (textwrap's `_wrap_chunks` with
/// `drop_whitespace`, long words broken at the width).
pub(crate) fn wrap(text: &str, width: usize, initial: &str, subsequent: &str) -> String {
    let text = text.replace('\t', "        ");
    let mut chunks = chunks(&text);
    chunks.reverse();
    let len = |s: &str| s.chars().count();
    let mut lines: Vec<String> = Vec::new();
    while !chunks.is_empty() {
        let indent = if lines.is_empty() {
            initial
        } else {
            subsequent
        };
        let room = width.saturating_sub(len(indent));
        if !lines.is_empty() && chunks.last().is_some_and(|c| c.trim().is_empty()) {
            chunks.pop();
        }
        let mut line: Vec<String> = Vec::new();
        let mut used = 0;
        while let Some(chunk) = chunks.last() {
            if used + len(chunk) > room {
                break;
            }
            used += len(chunk);
            line.push(chunks.pop().unwrap_or_default());
        }
        if let Some(chunk) = chunks.last_mut() {
            if len(chunk) > room {
                // click's _handle_long_word: cut at the room left (at least 1)
                let left = room.saturating_sub(used).max(1);
                let head: String = chunk.chars().take(left).collect();
                *chunk = chunk.chars().skip(left).collect();
                line.push(head);
            }
        }
        if line.last().is_some_and(|c| c.trim().is_empty()) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(format!("{indent}{}", line.concat()));
        }
    }
    lines.join("\n")
}

/// `_make_default_short_help`: the first sentence of the first paragraph,
/// shortened to `limit` with `...` (`textwrap.shorten`) if longer.
pub(crate) fn short_help(help: &str, limit: usize) -> String {
    let first = help.split("\n\n").next().unwrap_or_default();
    let mut words: Vec<&str> = first.split_whitespace().collect();
    if words.first() == Some(&"\u{8}") {
        words.remove(0);
    }
    // A period ends a sentence at the end or before a word that does not
    // start in lowercase (`vs.` continues).
    if let Some(i) = (0..words.len()).find(|&i| {
        words[i].ends_with('.')
            && words
                .get(i + 1)
                .is_none_or(|n| !n.chars().next().is_some_and(char::is_lowercase))
    }) {
        words.truncate(i + 1);
    }
    let text = words.join(" ");
    if text.chars().count() <= limit {
        return text;
    }
    if limit < 3 {
        return "...".to_owned();
    }
    // textwrap.shorten(text, limit, placeholder="...", break_on_hyphens=False):
    // as many whole words as fit with the placeholder after them.
    let mut kept = String::new();
    for word in &words {
        let candidate = if kept.is_empty() {
            (*word).to_owned()
        } else {
            format!("{kept} {word}")
        };
        if candidate.chars().count() + 3 > limit {
            break;
        }
        kept = candidate;
    }
    format!("{kept}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_like_pythons_textwrap() {
        // textwrap.TextWrapper()._split("Look, goof-ball -- use the -b option!")
        assert_eq!(
            chunks("Look, goof-ball -- use the -b option!"),
            [
                "Look,", " ", "goof-", "ball", " ", "--", " ", "use", " ", "the", " ", "-b", " ",
                "option!"
            ]
        );
        // digits after the hyphen keep the word whole; --pad-header splits
        assert_eq!(chunks("rsa-2048 lang-c"), ["rsa-2048", " ", "lang-c"]);
        assert_eq!(chunks("--pad-header"), ["--pad-", "header"]);
    }

    #[test]
    fn short_help_is_clicks_first_sentence_or_shortened() {
        // click.utils._make_default_short_help
        assert_eq!(short_help("Print things. More here.", 45), "Print things.");
        assert_eq!(
            short_help(
                "Print header, TLV area and trailer information of a signed image",
                45
            ),
            "Print header, TLV area and trailer..."
        );
    }

    #[test]
    fn definition_list_wraps_and_aligns_like_click() {
        // click.HelpFormatter(width=78) with formatter.section("Options"):
        // formatter.write_dl([...]) on these rows
        let rows = vec![
            ("-k, --key filename".to_owned(), "[required]".to_owned()),
            (
                "--custom-tlv-file [tag] [filename]".to_owned(),
                "A protected TLV from a file; give the option once per TLV to add several of them to the image.".to_owned(),
            ),
        ];
        assert_eq!(
            definition_list(&rows, 78),
            "  -k, --key filename              [required]\n  \
             --custom-tlv-file [tag] [filename]\n                                  \
             A protected TLV from a file; give the option\n                                  \
             once per TLV to add several of them to the\n                                  \
             image.\n"
        );
    }
}
