//! One progress style for every command (issue 15): a bar counting bytes or
//! items with rate and ETA when the length is known, a spinner with the
//! elapsed time while it is not. Drawn on stderr only when stderr is a
//! terminal; piped or redirected, nothing is drawn, so stdout keeps only
//! the command's result lines (and `--json` its one document) and the
//! reference tools' personalities keep their own lines.
//!
//! Every bar and spinner of the CLI goes through [`Progress`]: `demo`,
//! `sim sweep`, `flash write-flash`/`read-flash`, `recover` uploads and
//! `secure encrypt/decrypt-flash-data` on large files.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes: shown as `1.5 MiB/4.0 MiB`, rate in bytes per second.
    Bytes,
    /// Items (steps, cut points): shown as `500/1578`, rate per second.
    Items,
}

/// The template for `unit` with a known length (a bar) or not (a spinner).
fn template(unit: Unit, known_length: bool) -> &'static str {
    match (unit, known_length) {
        (Unit::Bytes, true) => {
            "{prefix} {bar:25} {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {wide_msg}"
        }
        (Unit::Items, true) => {
            "{prefix} {bar:25} {percent:>3}% {human_pos}/{human_len} {per_sec} ETA {eta} {wide_msg}"
        }
        (Unit::Bytes, false) => "{prefix} {spinner} {bytes} {bytes_per_sec} [{elapsed}] {wide_msg}",
        (Unit::Items, false) => "{prefix} {spinner} {human_pos} [{elapsed}] {wide_msg}",
    }
}

fn style(unit: Unit, known_length: bool) -> ProgressStyle {
    ProgressStyle::with_template(template(unit, known_length))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A progress bar or spinner on stderr, or nothing when stderr is not a
/// terminal. Cheap to clone and `Sync`: worker threads may update it.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    unit: Unit,
}

impl Progress {
    /// A bar over `total` units labelled `label` (`None`: a spinner until
    /// [`Progress::set_length`] gives the length).
    pub fn new(unit: Unit, total: Option<u64>, label: &str) -> Progress {
        Progress::drawn_if(std::io::stderr().is_terminal(), unit, total, label)
    }

    /// Draws nothing (e.g. under `--json`).
    pub fn hidden() -> Progress {
        Progress::drawn_if(false, Unit::Items, None, "")
    }

    /// [`Progress::new`], drawn only when `terminal`.
    fn drawn_if(terminal: bool, unit: Unit, total: Option<u64>, label: &str) -> Progress {
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            bar.set_style(style(unit, total.is_some()));
            bar.set_prefix(label.to_owned());
            if total.is_none() {
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            bar
        });
        Progress { bar, unit }
    }

    /// Whether anything is drawn.
    #[cfg(test)]
    fn is_drawn(&self) -> bool {
        self.bar.as_ref().is_some_and(|bar| !bar.is_hidden())
    }

    /// Sets the length; a spinner becomes a bar with rate and ETA.
    pub fn set_length(&self, total: u64) {
        if let Some(bar) = &self.bar {
            if bar.length() != Some(total) {
                if bar.length().is_none() {
                    bar.disable_steady_tick();
                    bar.set_style(style(self.unit, true));
                }
                bar.set_length(total);
            }
        }
    }

    /// Sets how much is done.
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Length and position at once (the sweeps report both).
    pub fn update(&self, done: u64, total: u64) {
        self.set_length(total);
        self.set_position(done);
    }

    /// Counts one more unit done.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// The text after the counts (e.g. the address being written).
    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// Runs `print` with the bar cleared and redraws it afterwards, so lines
    /// printed while the bar is shown do not run into it.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Done: the bar leaves the screen, the command's result lines follow.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Stopped by an error: the bar stays where it stopped.
    pub fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_a_known_length_shows_rate_and_eta() {
        for unit in [Unit::Bytes, Unit::Items] {
            for known in [true, false] {
                let t = template(unit, known);
                assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
                assert!(t.contains("{prefix}") && t.contains("{wide_msg}"), "{t}");
                if known {
                    assert!(t.contains("{bar:25}") && t.contains("{eta}"), "{t}");
                    assert!(t.contains("per_sec}"), "{t}");
                } else {
                    assert!(t.contains("{spinner}") && t.contains("{elapsed}"), "{t}");
                    assert!(!t.contains("{eta}") && !t.contains("{bar"), "{t}");
                }
            }
            let counts = if unit == Unit::Bytes {
                "{bytes}/{total_bytes}"
            } else {
                "{human_pos}/{human_len}"
            };
            assert!(template(unit, true).contains(counts));
        }
    }

    #[test]
    fn nothing_is_drawn_off_a_terminal() {
        let progress = Progress::drawn_if(false, Unit::Items, None, "sweep");
        assert!(!progress.is_drawn());
        // every call is a no-op, and suspend still runs what it is given
        progress.update(1, 10);
        progress.set_message("x");
        progress.inc();
        assert_eq!(progress.suspend(|| 7), 7);
        progress.finish();
        assert!(!progress.is_drawn());
    }

    #[test]
    fn a_spinner_becomes_a_bar_when_the_length_is_known() {
        // drawn on a terminal target, here stderr (hidden by indicatif when
        // the test's stderr is not a terminal): the bar's state is checked,
        // not the screen
        let progress = Progress::drawn_if(true, Unit::Items, None, "sweep");
        let bar = progress.bar.clone().unwrap();
        assert_eq!(bar.length(), None);
        progress.update(3, 12);
        assert_eq!((bar.position(), bar.length()), (3, Some(12)));
        progress.finish();
        assert!(bar.is_finished());
    }
}
