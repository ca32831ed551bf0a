//! Writes to the port with a deadline.
//!
//! serialport opens the descriptor blocking and bounds only the wait for
//! the port to become writable, so a single `write` of a large frame blocks
//! until the device has taken every byte: a device that stops reading
//! (hung, paused, unplugged mid-transfer on a bridge that keeps the port)
//! would hang the host forever. The writes therefore run on a thread that
//! owns a clone of the port; the caller waits for each with a deadline and
//! gives up when it passes. After a write has timed out the port is
//! considered dead: later writes fail at once rather than queue behind it.
//!
//! Handing each write to that thread costs two thread wake-ups per request,
//! which on a request-per-register protocol (espefuse's burns: thousands of
//! READ_REG/WRITE_REG round trips) is most of a round trip's time on a busy
//! host. So a write is first tried on a second, non-blocking descriptor of
//! the same port: what the driver takes at once (a whole request, usually)
//! is done without the thread, and only the rest goes to it with the
//! deadline. A non-blocking write cannot hang, so the guarantee stands.

use std::io::{ErrorKind, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Extra time the caller waits beyond the writer's own deadline, so a write
/// that the writer abandons cleanly reports as the writer saw it.
const REPORT_MARGIN: Duration = Duration::from_millis(200);

/// Why a write failed.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// The deadline passed before the device took all bytes.
    TimedOut,
    /// The port failed.
    Io(std::io::Error),
}

/// Opens `port` a second time, non-blocking, for [`PortWriter`]'s direct
/// writes; `None` where that is not possible (the writes then all go
/// through the thread).
#[cfg(unix)]
pub(crate) fn open_direct(port: &str) -> Option<std::fs::File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = (OFlags::NONBLOCK | OFlags::NOCTTY).bits();
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(i32::try_from(flags).ok()?)
        .open(port)
        .ok()
}

/// Opens `port` a second time for direct writes: not on this platform.
#[cfg(not(unix))]
pub(crate) fn open_direct(_port: &str) -> Option<std::fs::File> {
    None
}

/// The writer thread's handle.
pub(crate) struct PortWriter {
    /// The port opened non-blocking, for writes the driver takes at once.
    direct: Option<std::fs::File>,
    jobs: Option<Sender<(Vec<u8>, Instant)>>,
    done: Receiver<std::io::Result<()>>,
    /// A write timed out and may still be blocked in the thread.
    dead: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PortWriter {
    /// Starts the writer thread on `port`.
    pub(crate) fn spawn(
        mut port: Box<dyn serialport::SerialPort>,
        direct: Option<std::fs::File>,
    ) -> PortWriter {
        let (jobs, job_rx) = mpsc::channel::<(Vec<u8>, Instant)>();
        let (done_tx, done) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for (bytes, deadline) in job_rx {
                let result = write_until(port.as_mut(), &bytes, deadline);
                if done_tx.send(result).is_err() {
                    break;
                }
            }
        });
        PortWriter {
            direct,
            jobs: Some(jobs),
            done,
            dead: false,
            thread: Some(thread),
        }
    }

    /// Writes all of `bytes` within `timeout`.
    pub(crate) fn write(
        &mut self,
        mut bytes: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), WriteFailure> {
        if self.dead {
            return Err(WriteFailure::TimedOut);
        }
        if let Some(direct) = &mut self.direct {
            loop {
                match direct.write(&bytes) {
                    Ok(n) if n >= bytes.len() => return Ok(()),
                    Ok(0) => break,
                    Ok(n) => {
                        bytes.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // the driver's buffer is full: the thread waits for room
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(WriteFailure::Io(e)),
                }
            }
        }
        let deadline = Instant::now() + timeout;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((bytes, deadline)).is_ok());
        if !sent {
            return Err(WriteFailure::Io(std::io::Error::new(
                ErrorKind::BrokenPipe,
                "the port writer has stopped",
            )));
        }
        match self.done.recv_timeout(timeout + REPORT_MARGIN) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.kind() == ErrorKind::TimedOut => {
                self.dead = true;
                Err(WriteFailure::TimedOut)
            }
            Ok(Err(e)) => Err(WriteFailure::Io(e)),
            Err(RecvTimeoutError::Timeout) => {
                self.dead = true;
                Err(WriteFailure::TimedOut)
            }
            Err(RecvTimeoutError::Disconnected) => Err(WriteFailure::Io(std::io::Error::new(
                ErrorKind::BrokenPipe,
                "the port writer has stopped",
            ))),
        }
    }
}

impl Drop for PortWriter {
    fn drop(&mut self) {
        // closing the job channel ends an idle thread; wait for it so its
        // copy of the port (and the port's exclusive lock) is gone when the
        // client is, and the port can be opened again at once. A thread
        // stuck in a write is left behind.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            if !self.dead {
                let _ = thread.join();
            }
        }
    }
}

/// Writes `bytes`, retrying while the port is not writable, until
/// `deadline`. serialport's `write` waits its own (short) timeout for the
/// port to become writable and reports `TimedOut` if it does not.
fn write_until(port: &mut dyn Write, bytes: &[u8], deadline: Instant) -> std::io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match port.write(rest) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                if Instant::now() >= deadline {
                    return Err(ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes `accept` bytes, then never becomes writable.
    struct Stalls {
        accept: usize,
    }

    impl Write for Stalls {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.accept == 0 {
                std::thread::sleep(Duration::from_millis(5));
                return Err(ErrorKind::TimedOut.into());
            }
            let n = buf.len().min(self.accept);
            self.accept -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_until_gives_up_at_the_deadline_when_the_reader_stops() {
        let started = Instant::now();
        let mut sink = Stalls { accept: 10 };
        let err = write_until(
            &mut sink,
            &[0u8; 100],
            Instant::now() + Duration::from_millis(100),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
        let mut sink = Stalls { accept: 100 };
        write_until(&mut sink, &[0u8; 100], Instant::now()).unwrap();
    }
}
