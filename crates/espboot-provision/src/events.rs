//! What a run reports as it goes: one [`Event`] when the device is known,
//! one per step as it starts and as it ends, and a summary, handed to an
//! [`Observer`] the caller chooses (the CLI draws a progress bar from them,
//! or prints each as one JSON line under `--json` for factory systems).
//!
//! Events never carry key material: what a step burned or wrote is the
//! record's description of it ([`crate::record::step_detail`]: blocks,
//! purposes, eFuse values, public-key digests, firmware hashes).

use serde::Serialize;

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StepState {
    /// The step begins (the device is read, then acted on).
    Started,
    /// The device already shows the step done (an earlier, interrupted
    /// run did it); nothing is done again.
    SkippedAlreadyDone,
    /// The step acted, read back and verified, and is journaled.
    Done,
    /// The step stopped on an error; an [`Event::Error`] follows.
    Failed,
}

/// One event of a provisioning run. Serialized with its kind in `"event"`
/// (`run`, `step`, `summary`, `error`) and times as Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The device is read and the run recorded: what the steps apply to.
    Run {
        /// When (Unix milliseconds).
        time_ms: i64,
        /// The device as the caller names it (a port, a directory).
        device: String,
        /// The chip.
        chip: &'static str,
        /// The device's MAC.
        mac: String,
        /// The record's run id.
        run_id: i64,
        /// SHA-256 of the plan file (hex).
        plan_sha256: String,
        /// How many steps the plan has (host steps included).
        steps: usize,
    },
    /// A step changed state.
    Step {
        /// When (Unix milliseconds).
        time_ms: i64,
        /// The device as the caller names it.
        device: String,
        /// The device's MAC.
        mac: String,
        /// Step position (1-based), as `provision plan` numbers it.
        index: usize,
        /// How many steps the plan has.
        total: usize,
        /// `flash_encryption` or `secure_boot`.
        stage: &'static str,
        /// The seed's step number (`"3"`, `"7B-ii"`).
        seed_step: &'static str,
        /// The step type (`BurnKey`, ...), as `provision plan` shows it.
        kind: &'static str,
        /// What the step does, in words (`burn SPI_BOOT_CRYPT_CNT`).
        name: String,
        /// Whether the step changes the device (host steps do not).
        on_device: bool,
        /// Where the step is.
        state: StepState,
        /// What the step burns or writes (empty for steps that do neither).
        detail: String,
    },
    /// The run completed.
    Summary {
        /// When (Unix milliseconds).
        time_ms: i64,
        /// The device as the caller names it.
        device: String,
        /// The device's MAC.
        mac: String,
        /// The record's run id.
        run_id: i64,
        /// `complete`.
        outcome: &'static str,
        /// Steps done by this run.
        done: usize,
        /// Device steps found already done.
        already_done: usize,
        /// Milliseconds from the run event to this one.
        elapsed_ms: i64,
    },
    /// The run stopped on an error; the process exits non-zero.
    Error {
        /// When (Unix milliseconds).
        time_ms: i64,
        /// The device as the caller names it.
        device: String,
        /// The device's MAC, once it was read.
        mac: Option<String>,
        /// The step it stopped in (1-based), if one had started.
        step: Option<usize>,
        /// The error, on one line.
        message: String,
    },
}

impl Event {
    /// An [`Event::Error`] stamped now.
    pub fn error(
        device: &str,
        mac: Option<String>,
        step: Option<usize>,
        message: impl Into<String>,
    ) -> Event {
        Event::Error {
            time_ms: now_ms(),
            device: device.to_owned(),
            mac,
            step,
            message: message.into(),
        }
    }
}

/// Receives a run's events, in order. Closures taking `&Event` are
/// observers.
pub trait Observer {
    /// One event.
    fn event(&mut self, event: &Event);
}

impl<F: FnMut(&Event)> Observer for F {
    fn event(&mut self, event: &Event) {
        self(event);
    }
}

/// Now as Unix milliseconds (the records' and events' clock).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_their_kind_and_kebab_case_states() {
        let step = Event::Step {
            time_ms: 1,
            device: "/dev/pts/7".to_owned(),
            mac: "aa:bb:cc:dd:ee:ff".to_owned(),
            index: 6,
            total: 20,
            stage: "flash_encryption",
            seed_step: "4",
            kind: "BurnEfuse",
            name: "burn SPI_BOOT_CRYPT_CNT".to_owned(),
            on_device: true,
            state: StepState::SkippedAlreadyDone,
            detail: "SPI_BOOT_CRYPT_CNT=0x7".to_owned(),
        };
        let v = serde_json::to_value(&step).unwrap();
        assert_eq!(v["event"], "step");
        assert_eq!(v["state"], "skipped-already-done");
        assert_eq!(v["index"], 6);
        let err = serde_json::to_value(Event::error("p", None, Some(3), "boom")).unwrap();
        assert_eq!(err["event"], "error");
        assert_eq!(err["mac"], serde_json::Value::Null);
        assert_eq!(err["step"], 3);
        assert!(err["time_ms"].as_i64().unwrap() > 0);
    }
}
