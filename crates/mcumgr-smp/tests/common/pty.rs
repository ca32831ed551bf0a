//! A test-only serial line: a pseudo-terminal whose master side a thread
//! pumps through [`Recovery`] over an `espboot_sim` device, so unmodified
//! clients (smpmgr, mcumgr) can open the slave as their serial port.
//!
//! PTY rules from serial.md §1.2: the slave is put in raw mode once and not
//! kept open by the server, so master reads fail with `EIO` while no client
//! has it open (then the thread waits and retries).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use espboot_sim::device::Device;
use espboot_sim::recovery_device::SimRecoveryDevice;
use mcumgr_smp::recovery::{Event, Recovery};
use rustix::fd::OwnedFd;
use rustix::io::Errno;

/// What the server thread saw, for assertions.
#[derive(Debug, Default)]
pub struct Log {
    /// `(off in request, next off, rc)` of every upload chunk.
    pub uploads: Vec<(u32, u32, i64)>,
    /// `(offset, len)` of every erase.
    pub erases: Vec<(u32, u32)>,
    /// Requests answered: `(group, id, rc)`.
    pub requests: Vec<(u16, u8, Option<i64>)>,
    /// Frames or requests dropped.
    pub dropped: usize,
    /// Device failures.
    pub device_errors: Vec<String>,
}

/// A recovery UART on a PTY.
pub struct RecoveryPty {
    /// The slave's path: the client's `--port`.
    pub path: PathBuf,
    /// The device (shared with the server thread).
    pub device: Arc<Mutex<Device>>,
    /// What happened.
    pub log: Arc<Mutex<Log>>,
    /// Resets performed.
    pub resets: Arc<AtomicUsize>,
    server: Server,
}

/// The server thread, stopped and joined when dropped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join()
                .unwrap_or_else(|_| panic!("server thread panicked"));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_master() -> (OwnedFd, PathBuf) {
    espboot_serve::pty::open_raw().unwrap_or_else(|e| panic!("opening a PTY: {e}"))
}

fn write_all(master: &OwnedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match rustix::io::write(master, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::AGAIN) => std::thread::sleep(Duration::from_millis(1)),
            // The client went away: the reply is lost, as on a real UART.
            Err(_) => return,
        }
    }
}

fn record(log: &Mutex<Log>, events: Vec<Event>) {
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    for event in events {
        match event {
            Event::Upload { off, next, rc, .. } => log.uploads.push((off, next, rc)),
            Event::Erased { offset, len, .. } => log.erases.push((offset, len)),
            Event::Request { header, rc } => log.requests.push((header.group, header.id, rc)),
            Event::Dropped(_) => log.dropped += 1,
            Event::DeviceFailed { error, .. } => log.device_errors.push(error.to_string()),
            _ => {}
        }
    }
}

impl RecoveryPty {
    /// Serves `device` in serial recovery (the detect GPIO held) on a new PTY.
    pub fn start(device: Device) -> Self {
        let (master, path) = open_master();
        let device = Arc::new(Mutex::new(device));
        let log = Arc::new(Mutex::new(Log::default()));
        let resets = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (device, log, resets, stop) =
                (device.clone(), log.clone(), resets.clone(), stop.clone());
            std::thread::spawn(move || serve(master, device, log, resets, stop))
        };
        RecoveryPty {
            path,
            device,
            log,
            resets,
            server: Server {
                stop,
                thread: Some(thread),
            },
        }
    }

    /// The slave path as a string argument.
    pub fn port(&self) -> String {
        self.path.display().to_string()
    }

    /// A snapshot of `f` of the log.
    pub fn log<T>(&self, f: impl FnOnce(&Log) -> T) -> T {
        f(&self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Clears the log.
    pub fn clear_log(&self) {
        *self.log.lock().unwrap_or_else(|e| e.into_inner()) = Log::default();
    }

    /// Stops the server and returns the device.
    pub fn stop(mut self) -> Device {
        self.server.join();
        let device = Arc::try_unwrap(self.device)
            .unwrap_or_else(|_| panic!("the device is still shared after the server stopped"));
        device.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

fn serve(
    master: OwnedFd,
    device: Arc<Mutex<Device>>,
    log: Arc<Mutex<Log>>,
    resets: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let config = {
        let mut dev = device.lock().unwrap_or_else(|e| e.into_inner());
        SimRecoveryDevice::new(&mut dev)
            .unwrap_or_else(|e| panic!("recovery device: {e}"))
            .recovery_config()
    };
    let mut recovery = Recovery::new(config);
    let mut buf = vec![0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let n = match rustix::io::read(&master, &mut buf) {
            Ok(n) => n,
            Err(Errno::AGAIN) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            // No client has the slave open.
            Err(Errno::IO) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(e) => panic!("reading the PTY master: {e}"),
        };
        let output = {
            let mut dev = device.lock().unwrap_or_else(|e| e.into_inner());
            let mut target =
                SimRecoveryDevice::new(&mut dev).unwrap_or_else(|e| panic!("recovery device: {e}"));
            recovery.on_bytes(&buf[..n], &mut target)
        };
        record(&log, recovery.take_events());
        write_all(&master, &output.bytes);
        if let Some(delay) = output.reset_after {
            std::thread::sleep(delay);
            resets.fetch_add(1, Ordering::SeqCst);
            // The detect GPIO is still held: the device comes back up in
            // recovery, with a fresh upload state.
            recovery = Recovery::new(config);
        }
    }
}
