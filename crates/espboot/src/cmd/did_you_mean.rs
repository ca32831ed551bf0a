//! click's suggestions for an unknown command or long option: Python's
//! `difflib.get_close_matches(word, possibilities)` (at most 3, ratio at
//! least 0.6), worded by click's `_format_possibilities`.

/// Matching characters of `a` and `b` as `difflib.SequenceMatcher` counts
/// them: the longest common block (earliest in `a`, then in `b`), then
/// the same on either side of it. (Its junk heuristics only start at 200
/// characters, longer than any option or command name.)
fn matches(a: &[char], b: &[char]) -> usize {
    let mut best = (0, 0, 0);
    for i in 0..a.len() {
        for j in 0..b.len() {
            let k = a[i..]
                .iter()
                .zip(&b[j..])
                .take_while(|(x, y)| x == y)
                .count();
            if k > best.2 {
                best = (i, j, k);
            }
        }
    }
    let (i, j, k) = best;
    if k == 0 {
        return 0;
    }
    k + matches(&a[..i], &b[..j]) + matches(&a[i + k..], &b[j + k..])
}

/// `SequenceMatcher(None, candidate, word).ratio()`.
fn ratio(candidate: &str, word: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (candidate.chars().collect(), word.chars().collect());
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matches(&a, &b) as f64 / total as f64
}

/// The close matches of `word` among `possibilities`, best first (ties:
/// the larger string first, as `heapq.nlargest` on `(ratio, x)`).
pub(crate) fn close_matches<'a>(word: &str, possibilities: &[&'a str]) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = possibilities
        .iter()
        .map(|p| (ratio(p, word), *p))
        .filter(|(r, _)| *r >= 0.6)
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(y.1.cmp(x.1)));
    scored.into_iter().take(3).map(|(_, p)| p).collect()
}

/// click's message tail for `word`: `" Did you mean 'x'?"`,
/// `" (Did you mean one of: 'x', 'y'?)"`, or nothing.
pub(crate) fn suggestion(word: &str, possibilities: &[&str]) -> String {
    let mut found = close_matches(word, possibilities);
    found.sort_unstable();
    let quoted: Vec<String> = found.iter().map(|p| format!("'{p}'")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => format!(" Did you mean {}?", quoted[0]),
        _ => format!(" (Did you mean one of: {}?)", quoted.join(", ")),
    }
}

/// The long options (`--xyz`) of a command's clap `options`, with
/// click's `--help`.
pub(crate) fn clap_long_options<'a>(
    options: impl IntoIterator<Item = &'a clap::Arg>,
) -> Vec<String> {
    options
        .into_iter()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .chain(["--help".to_owned()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_match_pythons_difflib() {
        // difflib.SequenceMatcher(None, "abcd", "bcde").ratio() == 0.75
        assert!((ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        // ... ("--erased-val", "--skip-erased") == 0.64
        assert!((ratio("--erased-val", "--skip-erased") - 0.64).abs() < 1e-9);
    }

    #[test]
    fn suggestions_are_worded_like_click() {
        let commands = [
            "digest-rsa-public-key",
            "digest-sbv2-public-key",
            "digest-sdc-public-key",
            "sign-data",
        ];
        assert_eq!(
            suggestion("digest-rsa-public", &commands),
            " (Did you mean one of: 'digest-rsa-public-key', 'digest-sbv2-public-key', 'digest-sdc-public-key'?)"
        );
        assert_eq!(
            suggestion("sign-dta", &commands),
            " Did you mean 'sign-data'?"
        );
        assert_eq!(suggestion("bogus", &commands), "");
    }
}
