//! A scripted SMP serial-recovery device on a PTY, for the client's
//! failure paths that a faithful device never shows: it answers upload
//! chunks as MCUboot does (writes whole alignment units, replies with the
//! next offset), and can go silent, send a stale offset, garbage lines or
//! a frame with a bad CRC. The PTY follows serial.md §1.2 (raw slave, not
//! held open by the server).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mcumgr_smp::frame::{self, Decoded, Decoder, DecoderConfig, LineChars};
use mcumgr_smp::header::{Header, Packet};
use mcumgr_smp::image::{ImageUploadRequest, ImageUploadResponse};
use rustix::fd::OwnedFd;
use rustix::io::Errno;

/// What the fake does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Script {
    /// Flash write alignment: chunks are taken in whole units (MCUboot's
    /// `flash_area_align`, 32 with flash encryption).
    pub align: usize,
    /// Go silent after answering this many upload requests.
    pub silent_after: Option<usize>,
    /// Answer this upload request (0-based) with the previous offset.
    pub stale_at: Option<usize>,
    /// Before answering this request, send a garbage line and a frame whose
    /// CRC is wrong.
    pub noise_at: Option<usize>,
}

/// What the fake received.
#[derive(Debug, Default)]
pub struct Seen {
    /// The image as written.
    pub image: Vec<u8>,
    /// `off` of every upload request, in order.
    pub offsets: Vec<u32>,
}

/// A running fake device.
pub struct FakeDevice {
    /// The port path (the PTY slave).
    pub path: PathBuf,
    /// What it received.
    pub seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDevice {
    /// Starts serving `script` on a new PTY.
    pub fn start(script: Script) -> FakeDevice {
        let (master, path) =
            espboot_serve::pty::open_raw().unwrap_or_else(|e| panic!("opening a PTY: {e}"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || serve(master, script, seen, stop))
        };
        FakeDevice {
            path,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The port as an argument.
    pub fn port(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_all(master: &OwnedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match rustix::io::write(master, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::AGAIN) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return,
        }
    }
}

fn serve(master: OwnedFd, script: Script, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let align = script.align.max(1);
    let mut decoder = Decoder::new(DecoderConfig::MCUBOOT);
    let mut buf = vec![0u8; 4096];
    let (mut answered, mut curr, mut prev, mut total) = (0usize, 0u32, 0u32, 0u32);
    while !stop.load(Ordering::SeqCst) {
        let n = match rustix::io::read(&master, &mut buf) {
            Ok(n) => n,
            Err(Errno::AGAIN) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            // no client has the slave open
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        for decoded in decoder.push(&buf[..n]) {
            let Decoded::Message(message) = decoded else {
                continue;
            };
            let (Ok(header), Ok(packet)) = (Header::decode(&message), Packet::decode(&message))
            else {
                continue;
            };
            let Ok(req) = ImageUploadRequest::decode(&packet.body) else {
                continue;
            };
            let index = answered;
            if script.silent_after.is_some_and(|n| index >= n) {
                continue;
            }
            answered += 1;
            {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.offsets.push(req.off);
                if req.off == 0 {
                    total = req.len.unwrap_or(0);
                    seen.image.clear();
                    curr = 0;
                }
                if req.off == curr {
                    let end = (curr as usize + req.data.len()).min(total as usize);
                    let whole = if end == total as usize {
                        req.data.len()
                    } else {
                        req.data.len() / align * align
                    };
                    seen.image.extend_from_slice(&req.data[..whole]);
                    prev = curr;
                    curr += whole as u32;
                }
            }
            let off = if script.stale_at == Some(index) {
                prev
            } else {
                curr
            };
            if script.noise_at == Some(index) {
                write_all(&master, b"\x06\x09!!not base64!!\n");
                let mut bad = frame::encode(&message, LineChars::MCUBOOT).unwrap_or_default();
                // flip a base64 character of the CRC
                let at = bad.len().saturating_sub(4);
                if let Some(c) = bad.get_mut(at) {
                    *c = if *c == b'A' { b'B' } else { b'A' };
                }
                write_all(&master, &bad);
            }
            let body = ImageUploadResponse {
                rc: Some(0),
                off: Some(off),
                matched: None,
            }
            .encode_zcbor();
            let len = u16::try_from(body.len()).unwrap_or(0);
            let reply = Packet::new(header.response(len), body)
                .map(|p| p.encode())
                .unwrap_or_default();
            write_all(
                &master,
                &frame::encode(&reply, LineChars::MCUBOOT).unwrap_or_default(),
            );
        }
    }
}
