//! The event loop: one thread polls the PTY master(s), feeds the loader or
//! the recovery, follows resets and boot-mode requests, saves the device
//! when the line is idle, and stops on SIGINT/SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use esp_efuse::DownloadMode;
use esp_image::Chip;
use esp_rom_protocol::command::Opcode;
use esp_rom_protocol::slip;
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::boot_log;
use crate::control;
use crate::loader::{Loader, LoaderExit, MAX_FRAME};
use crate::machine::Machine;
use crate::pty::{Pty, ReadOutcome};
use crate::recovery::{self, Entry, RecoverySession};
use crate::{BootMode, ServeError, ServeOptions};

/// The poll period: how soon a hang-up of an idle port, a boot-mode
/// request or a signal is noticed.
const TICK: Duration = Duration::from_millis(20);

/// What runs on the chip now.
enum Running {
    /// The ROM's (or the stub's) download loader on UART0.
    Loader(Loader),
    /// Download mode is disabled in eFuse: the ROM answers nothing.
    Silent,
    /// The chip booted from flash (or failed to): the console is quiet.
    Booted,
    /// MCUboot's serial recovery.
    Recovery(RecoverySession),
}

/// Why the chip (re)starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reset {
    /// Power-on or a reset into the configured boot mode.
    BootMode,
    /// Boot from flash whatever the boot mode (the loader was told to run
    /// the user code).
    RunUserCode,
}

struct Port {
    pty: Pty,
    connected: bool,
    out: Vec<u8>,
}

impl Port {
    fn flush(&mut self) {
        while !self.out.is_empty() {
            match self.pty.write(&self.out) {
                Some(0) => return,
                Some(n) => {
                    self.out.drain(..n);
                }
                None => {
                    // nobody listens: the bytes are lost, as on a UART
                    self.out.clear();
                    return;
                }
            }
        }
    }
}

/// The server's state.
pub(crate) struct Server<'l> {
    machine: Machine,
    boot_mode: BootMode,
    running: Running,
    decoder: slip::Decoder,
    ports: Vec<Port>,
    /// Index of the port recovery is served on.
    recovery_port: usize,
    reset_at: Option<Instant>,
    trace: bool,
    /// The fault-injection point and how many of its requests were seen.
    pause: Option<(crate::PauseAt, u32)>,
    log: &'l mut dyn FnMut(&str),
}

impl<'l> Server<'l> {
    pub(crate) fn new(
        machine: Machine,
        options: &ServeOptions,
        main: Pty,
        recovery: Option<Pty>,
        log: &'l mut dyn FnMut(&str),
    ) -> Self {
        let mut ports = vec![Port {
            pty: main,
            connected: false,
            out: Vec::new(),
        }];
        if let Some(pty) = recovery {
            ports.push(Port {
                pty,
                connected: false,
                out: Vec::new(),
            });
        }
        let recovery_port = ports.len() - 1;
        Server {
            machine,
            boot_mode: options.boot,
            running: Running::Booted,
            decoder: slip::Decoder::new(MAX_FRAME),
            ports,
            recovery_port,
            reset_at: None,
            trace: options.trace,
            pause: options.pause_before.clone().map(|p| (p, 0)),
            log,
        }
    }

    fn chip(&self) -> Chip {
        self.machine.chip
    }

    /// Serves until `stop` is set.
    pub(crate) fn run(&mut self, stop: &AtomicBool) -> Result<(), ServeError> {
        self.reset(Reset::BootMode);
        let mut buf = vec![0u8; 0x10000];
        while !stop.load(Ordering::SeqCst) {
            if let Some((mode, reset)) = control::take_request(self.machine.dir()) {
                self.boot_mode = mode;
                (self.log)(&format!("boot mode: {}", mode.name()));
                if reset {
                    self.reset(Reset::BootMode);
                }
            }
            let mut timeout = TICK;
            if let Some(at) = self.reset_at {
                timeout = timeout.min(at.saturating_duration_since(Instant::now()));
            }
            let ready = self.poll(timeout);
            let mut active = false;
            for (index, ready) in ready.into_iter().enumerate() {
                if !ready && self.ports[index].connected {
                    continue;
                }
                loop {
                    match self.ports[index].pty.read(&mut buf) {
                        ReadOutcome::Data(n) => {
                            self.connect(index);
                            active = true;
                            self.on_bytes(index, &buf[..n]);
                        }
                        ReadOutcome::Empty => {
                            self.connect(index);
                            break;
                        }
                        ReadOutcome::HungUp => {
                            if self.ports[index].connected {
                                self.ports[index].connected = false;
                                self.hang_up(index);
                            }
                            break;
                        }
                    }
                }
                self.ports[index].flush();
            }
            if self.reset_at.is_some_and(|at| Instant::now() >= at) {
                self.reset_at = None;
                self.reset(Reset::BootMode);
            }
            if !active && self.machine.dirty() {
                self.save();
            }
        }
        self.finish_session();
        self.save();
        Ok(())
    }

    fn connect(&mut self, index: usize) {
        if !self.ports[index].connected {
            self.ports[index].connected = true;
        }
    }

    /// Waits for input on the connected ports (or writability where output
    /// is queued); returns which are ready.
    fn poll(&mut self, timeout: Duration) -> Vec<bool> {
        let mut which = Vec::new();
        let mut fds = Vec::new();
        for (i, port) in self.ports.iter().enumerate() {
            if port.connected {
                let mut flags = PollFlags::IN;
                if !port.out.is_empty() {
                    flags |= PollFlags::OUT;
                }
                fds.push(PollFd::new(&port.pty, flags));
                which.push(i);
            }
        }
        let spec = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut ready = vec![false; self.ports.len()];
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return ready;
        }
        if rustix::event::poll(&mut fds, Some(&spec)).is_ok() {
            for (fd, i) in fds.iter().zip(which) {
                ready[i] = !fd.revents().is_empty();
            }
        }
        ready
    }

    fn on_bytes(&mut self, index: usize, bytes: &[u8]) {
        let recovery_here = index == self.recovery_port;
        match &mut self.running {
            Running::Loader(loader) if index == 0 => {
                let mut exit = None;
                let mut out = Vec::new();
                for frame in self.decoder.push_all(bytes) {
                    let Ok(frame) = frame else { continue };
                    if exit.is_some() {
                        break;
                    }
                    if let [0, op, ..] = frame.as_slice() {
                        let programs = self.machine.programs();
                        pause_if(
                            &mut self.pause,
                            Opcode::from_byte(*op),
                            programs,
                            &mut *self.log,
                        );
                    }
                    exit = loader.on_frame(&mut self.machine, &frame, &mut out);
                }
                let requests = loader.take_requests();
                let programmed = self.machine.take_programmed();
                if self.trace {
                    for op in requests {
                        (self.log)(&format!("cmd {}", op.name()));
                    }
                    for block in programmed {
                        (self.log)(&format!("efuse program BLOCK{block}"));
                    }
                }
                if loader.take_save_point() && self.machine.dirty() {
                    if let Err(e) = self.machine.save() {
                        (self.log)(&format!("error: saving the device: {e}"));
                    }
                }
                self.ports[0].out.extend_from_slice(&out);
                self.ports[0].flush();
                self.follow_download_mode();
                if let Some(exit) = exit {
                    let reset = match exit {
                        LoaderExit::Reboot => Reset::BootMode,
                        LoaderExit::Watchdog => {
                            (self.log)("watchdog reset");
                            Reset::BootMode
                        }
                        LoaderExit::RunUserCode => {
                            (self.log)("run user code");
                            Reset::RunUserCode
                        }
                    };
                    self.reset(reset);
                }
            }
            Running::Recovery(session) if recovery_here => {
                let output = session.on_bytes(&mut self.machine, bytes);
                if self.trace {
                    for why in &output.dropped {
                        (self.log)(&format!("recovery: input dropped: {why}"));
                    }
                }
                if output.save_point && self.machine.dirty() {
                    if let Err(e) = self.machine.save() {
                        (self.log)(&format!("error: saving the device: {e}"));
                    }
                }
                self.ports[index].out.extend_from_slice(&output.bytes);
                self.ports[index].flush();
                if let Some(delay) = output.reset_after {
                    self.reset_at = Some(Instant::now() + delay);
                }
            }
            // the ROM is silent, the app ignores its console
            _ => {}
        }
    }

    /// Download-mode eFuses burned over the port take effect when the
    /// controller's read command loads them (serial.md §5.3; ESP32's
    /// UART_DOWNLOAD_DIS waits for the next reset, the controller decides).
    fn follow_download_mode(&mut self) {
        let Some(mode) = self.machine.take_download_mode_change() else {
            return;
        };
        let Running::Loader(loader) = &mut self.running else {
            return;
        };
        match mode {
            DownloadMode::Secure => {
                (self.log)("secure download mode enabled in eFuse");
                loader.set_secure(true);
            }
            DownloadMode::Disabled => {
                (self.log)("download mode disabled in eFuse: the ROM stops answering");
                self.running = Running::Silent;
            }
            _ => {}
        }
    }

    fn hang_up(&mut self, index: usize) {
        self.ports[index].out.clear();
        if index != 0 {
            self.save();
            return;
        }
        // Closing the port is the reset line of a board with auto-reset
        // (serial.md §1.2-4): the download loader starts over, the stub is
        // forgotten. A booted chip or a recovery keeps running.
        if matches!(self.running, Running::Loader(_)) {
            self.finish_session();
            self.reset(Reset::BootMode);
        }
        self.save();
    }

    fn finish_session(&mut self) {
        if let Running::Loader(loader) = &mut self.running {
            loader.finish_write(&mut self.machine);
        }
        self.decoder.reset();
    }

    fn save(&mut self) {
        if let Err(e) = self.machine.save() {
            (self.log)(&format!("error: saving the device: {e}"));
        }
    }

    /// Powers the chip on again.
    fn reset(&mut self, why: Reset) {
        self.finish_session();
        self.reset_at = None;
        let mode = match why {
            Reset::RunUserCode => BootMode::Normal,
            Reset::BootMode => self.boot_mode,
        };
        self.machine.reset_chip();
        self.running = match mode {
            BootMode::Download => match self.machine.download_mode() {
                DownloadMode::Disabled => {
                    (self.log)("reset: download mode (disabled in eFuse: silent)");
                    Running::Silent
                }
                DownloadMode::Secure => {
                    (self.log)("reset: secure download mode");
                    Running::Loader(Loader::new(true))
                }
                _ => {
                    (self.log)("reset: download mode");
                    Running::Loader(Loader::new(false))
                }
            },
            BootMode::Recovery => match recovery::enter(&mut self.machine) {
                Entry::Recovery(session) => {
                    let port = if self.recovery_port == 0 {
                        "the console UART"
                    } else {
                        "the recovery UART"
                    };
                    let text = boot_log::recovery_text(self.chip(), port);
                    self.console(&text);
                    (self.log)("reset: serial recovery");
                    Running::Recovery(session)
                }
                Entry::NotBuiltIn(reason) => {
                    (self.log)(&format!(
                        "reset: no serial recovery ({reason}): normal boot"
                    ));
                    self.boot()
                }
            },
            BootMode::Normal => self.boot(),
        };
        self.save();
    }

    /// One power-on from flash through the chip code, its log on UART0.
    fn boot(&mut self) -> Running {
        let report = self
            .machine
            .with_device(|device| espboot_sim::chip::boot::power_on(device, None));
        self.machine.mark_flash_dirty();
        let text = boot_log::boot_text(self.chip(), &report);
        self.console(&text);
        (self.log)(&format!(
            "reset: normal boot: {}",
            report.lines().last().cloned().unwrap_or_default()
        ));
        Running::Booted
    }

    fn console(&mut self, text: &str) {
        // after any reply still queued (FLASH_END's, then the boot)
        let port = &mut self.ports[0];
        port.out.extend_from_slice(text.as_bytes());
        port.flush();
    }
}

/// Stops this process (SIGSTOP) when request `op`, after `programs` eFuse
/// burns, is the fault-injection point, after logging it; it goes on when
/// continued (SIGCONT). Each point is taken once.
fn pause_if(
    pause: &mut Option<(crate::PauseAt, u32)>,
    op: Opcode,
    programs: u32,
    log: &mut dyn FnMut(&str),
) {
    let Some((at, seen)) = pause.as_mut() else {
        return;
    };
    let due = if at.op == crate::EFUSE_PROGRAM {
        *seen < at.nth && programs >= at.nth
    } else if op.name() == at.op {
        *seen += 1;
        *seen == at.nth
    } else {
        false
    };
    if due {
        *seen = at.nth;
        log(&format!("paused at {} #{}", at.op, at.nth));
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    }
}

/// Registers SIGINT and SIGTERM on a flag.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>, ServeError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).map_err(ServeError::Signals)?;
    }
    Ok(stop)
}
