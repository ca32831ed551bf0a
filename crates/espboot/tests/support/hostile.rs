//! A hostile device: the virtual chip's real download loader (ROM and
//! flasher stub, `espboot_serve::loader`) on a PTY, served from a thread of
//! the test process, with one [`Fault`] injected into what it sends back.
//! Clients (espboot's esptool personality, the pinned esptool) talk to it
//! unmodified; the device counts the requests it received, so a test can
//! tell how often a client retried.
//!
//! The thread stops and the PTY link is removed when the [`Hostile`] is
//! dropped (also when the test fails).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use esp_rom_protocol::command::{Opcode, Request};
use esp_rom_protocol::response::{Failure, Response, StatusFormat};
use esp_rom_protocol::slip;
use espboot_serve::loader::{Loader, MAX_FRAME};
use espboot_serve::machine::Machine;
use espboot_serve::pty::{Pty, ReadOutcome};

/// How the device misbehaves. `from` counts the requests with opcode `op`
/// the device received since it started (0 = the first one).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answers `times` requests `op`, from the `from`th on, with the
    /// failure status of `failure` (as the ROM or stub encodes it), e.g. a
    /// data block's "bad data checksum"; a refused request changes
    /// nothing on the device.
    Status {
        op: Opcode,
        from: usize,
        times: usize,
        failure: Failure,
    },
    /// Replaces `times` replies to `op` with line noise (bytes outside any
    /// SLIP frame).
    Garbage {
        op: Opcode,
        from: usize,
        times: usize,
    },
    /// Cuts `times` replies to `op` short: a frame holding only the first 5
    /// bytes of the reply.
    Truncated {
        op: Opcode,
        from: usize,
        times: usize,
    },
    /// From the `from`th request `op` on, sends only the first `keep`
    /// frames of what it would send, then nothing more (the device hung
    /// mid-operation; `keep` > 0 lets a READ_FLASH start streaming).
    Silent {
        op: Opcode,
        from: usize,
        keep: usize,
    },
    /// Every MD5 the device reports is wrong: SPI_FLASH_MD5's digest and
    /// the digest frame that ends a stub READ_FLASH.
    WrongMd5,
}

/// A running hostile device.
pub struct Hostile {
    /// The PTY's path (a symlink to the slave).
    pub port: PathBuf,
    requests: Arc<Mutex<HashMap<u8, usize>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    /// Serves the device directory `dev` (made by `espboot sim new`) in
    /// download mode at `dir/tty-hostile-NAME`, misbehaving as `fault` says.
    pub fn start(dev: &Path, dir: &Path, name: &str, fault: Fault) -> Hostile {
        let port = dir.join(format!("tty-hostile-{name}"));
        let machine = Machine::load(dev).unwrap_or_else(|e| panic!("{}: {e}", dev.display()));
        let pty = Pty::create(&port).unwrap_or_else(|e| panic!("{}: {e}", port.display()));
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || serve(machine, pty, fault, &requests, &stop))
        };
        Hostile {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The port as an argument.
    pub fn port_arg(&self) -> String {
        self.port.display().to_string()
    }

    /// How many requests `op` the device received. Called after the
    /// client exited, whose last request may still sit unread in the PTY
    /// on a loaded machine: the count is taken once it has held still
    /// for half a second.
    pub fn requests(&self, op: Opcode) -> usize {
        let count = || {
            let counts = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            counts.get(&op.byte()).copied().unwrap_or(0)
        };
        let mut last = count();
        let mut since = std::time::Instant::now();
        let deadline = since + std::time::Duration::from_secs(5);
        while since.elapsed() < std::time::Duration::from_millis(500)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let now = count();
            if now != last {
                (last, since) = (now, std::time::Instant::now());
            }
        }
        last
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The fault's state over a run.
struct Injector {
    fault: Fault,
    /// Requests seen per opcode.
    seen: HashMap<u8, usize>,
    /// Faulty replies sent so far.
    done: usize,
    /// The device went silent.
    silent: bool,
}

impl Injector {
    /// Counts a received request; returns its index among those with
    /// its opcode.
    fn count(&mut self, op: Option<Opcode>) -> Option<usize> {
        op.map(|op| {
            let n = self.seen.entry(op.byte()).or_insert(0);
            *n += 1;
            *n - 1
        })
    }

    /// The failure reply to send instead of handling the request (a
    /// refused request changes nothing on the device).
    fn refusal(&mut self, op: Option<Opcode>, nth: Option<usize>, stub: bool) -> Option<Vec<u8>> {
        let Fault::Status {
            op: target,
            from,
            times,
            failure,
        } = self.fault
        else {
            return None;
        };
        if self.silent || op != Some(target) || nth.is_none_or(|n| n < from) || self.done >= times {
            return None;
        }
        self.done += 1;
        let format = if stub {
            StatusFormat::Stub
        } else {
            StatusFormat::Rom
        };
        Some(slip::encoded(
            &Response::failure(target, failure, format).to_bytes(format),
        ))
    }

    /// What goes on the wire for the loader's `out` (SLIP-encoded frames)
    /// after a frame whose request opcode is `op`, the `nth` of its kind
    /// (`None`: a READ_FLASH acknowledgement or noise).
    fn rewrite(&mut self, op: Option<Opcode>, nth: Option<usize>, out: Vec<u8>) -> Vec<u8> {
        if self.silent {
            return Vec::new();
        }
        let hit =
            |target: Opcode, from: usize| op == Some(target) && nth.is_some_and(|n| n >= from);
        match self.fault {
            Fault::Garbage {
                op: target,
                from,
                times,
            } if hit(target, from) && self.done < times => {
                self.done += 1;
                b"\x55\xaa line noise \x00\xff\x13".to_vec()
            }
            Fault::Truncated {
                op: target,
                from,
                times,
            } if hit(target, from) && self.done < times => {
                self.done += 1;
                frames(&out)
                    .first()
                    .map(|f| slip::encoded(f.get(..5).unwrap_or(f)))
                    .unwrap_or_default()
            }
            Fault::Silent {
                op: target,
                from,
                keep,
            } if hit(target, from) => {
                self.silent = true;
                frames(&out)
                    .iter()
                    .take(keep)
                    .flat_map(|f| slip::encoded(f))
                    .collect()
            }
            Fault::WrongMd5 => wrong_md5(out),
            _ => out,
        }
    }
}

/// The decoded frames of SLIP-encoded `bytes`.
fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = slip::Decoder::new(MAX_FRAME);
    decoder.push_all(bytes).into_iter().flatten().collect()
}

/// `out` with every MD5 flipped: SPI_FLASH_MD5 replies (the ROM's 32 hex
/// digits or the stub's 16 bytes) and READ_FLASH's 16-byte digest frame.
fn wrong_md5(out: Vec<u8>) -> Vec<u8> {
    let mut wire = Vec::new();
    for mut frame in frames(&out) {
        let is_md5_reply =
            frame.first() == Some(&1) && frame.get(1) == Some(&Opcode::SpiFlashMd5.byte());
        if is_md5_reply {
            // the digest starts after the 8-byte header; '0'..'9' and
            // 'a'..'f' stay hex digits with bit 0 flipped
            if let Some(b) = frame.get_mut(8) {
                *b ^= 1;
            }
        } else if frame.len() == 16 {
            if let Some(b) = frame.first_mut() {
                *b ^= 1;
            }
        }
        slip::encode(&frame, &mut wire);
    }
    wire
}

fn serve(
    mut machine: Machine,
    pty: Pty,
    fault: Fault,
    requests: &Mutex<HashMap<u8, usize>>,
    stop: &AtomicBool,
) {
    let mut injector = Injector {
        fault,
        seen: HashMap::new(),
        done: 0,
        silent: false,
    };
    let mut loader = Loader::new(false);
    let mut decoder = slip::Decoder::new(MAX_FRAME);
    let mut session = false;
    let mut buf = vec![0u8; 0x10000];
    while !stop.load(Ordering::SeqCst) {
        match pty.read(&mut buf) {
            ReadOutcome::Data(n) => {
                session = true;
                for frame in decoder.push_all(buf.get(..n).unwrap_or_default()) {
                    let Ok(frame) = frame else { continue };
                    let op = Request::parse(&frame).ok().map(|r| r.op);
                    if let Some(op) = op {
                        let mut counts = requests.lock().unwrap_or_else(|e| e.into_inner());
                        *counts.entry(op.byte()).or_insert(0) += 1;
                    }
                    let nth = injector.count(op);
                    let wire = match injector.refusal(op, nth, loader.is_stub()) {
                        Some(refused) => refused,
                        None => {
                            let mut out = Vec::new();
                            let _ = loader.on_frame(&mut machine, &frame, &mut out);
                            injector.rewrite(op, nth, out)
                        }
                    };
                    send(&pty, &wire, stop);
                }
            }
            ReadOutcome::Empty => std::thread::sleep(Duration::from_millis(1)),
            ReadOutcome::HungUp => {
                if session {
                    // the client closed the port: a new download-mode
                    // session, as on a board's auto-reset (the fault stays)
                    session = false;
                    loader.finish_write(&mut machine);
                    loader = Loader::new(false);
                    decoder.reset();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Writes all of `bytes` while the client reads them (gives up when the
/// client is gone or after 10 s).
fn send(pty: &Pty, mut bytes: &[u8], stop: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bytes.is_empty() && Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        match pty.write(bytes) {
            Some(0) => std::thread::sleep(Duration::from_millis(1)),
            Some(n) => bytes = bytes.get(n..).unwrap_or_default(),
            None => return,
        }
    }
}
