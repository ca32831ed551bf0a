//! A pseudo-terminal as the device's serial port (serial.md §1.2): the
//! master stays with the server, the slave is published as a symlink at
//! the user's path, in raw mode, and not kept open, so a read on the
//! master fails with `EIO` exactly while no client has the port open —
//! the only way to see a client hang up.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::OpenptFlags;

/// Why a port cannot be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PtyError {
    /// The path exists and is not a link to a PTY of ours.
    #[error("{}: exists and is not a serial port link made by espboot sim serve; remove it or choose another path", path.display())]
    PathTaken {
        /// The path.
        path: PathBuf,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

fn sys(what: &'static str) -> impl FnOnce(Errno) -> PtyError {
    move |e| PtyError::Sys {
        what,
        source: e.into(),
    }
}

/// What a read from the master found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes from the client.
    Data(usize),
    /// Nothing now.
    Empty,
    /// No client has the port open.
    HungUp,
}

/// A published PTY.
pub struct Pty {
    master: OwnedFd,
    link: PathBuf,
    slave: PathBuf,
}

impl Pty {
    /// Opens a PTY and links `link` to its slave. An existing `link` is
    /// replaced only when it is a symlink into `/dev/pts` whose target no
    /// longer exists or is not open (a server that died left it);
    /// anything else is [`PtyError::PathTaken`].
    pub fn create(link: &Path) -> Result<Self, PtyError> {
        check_link_free(link)?;
        let (master, slave) = open_raw()?;
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(link).map_err(|source| PtyError::Sys {
                what: "removing a stale link",
                source,
            })?;
        }
        std::os::unix::fs::symlink(&slave, link).map_err(|source| PtyError::Sys {
            what: "creating the link",
            source,
        })?;
        Ok(Pty {
            master,
            link: link.to_path_buf(),
            slave,
        })
    }

    /// The user's path.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Reads what the client sent.
    pub fn read(&self, buf: &mut [u8]) -> ReadOutcome {
        match rustix::io::read(&self.master, buf) {
            Ok(0) => ReadOutcome::HungUp,
            Ok(n) => ReadOutcome::Data(n),
            Err(Errno::AGAIN) | Err(Errno::INTR) => ReadOutcome::Empty,
            // EIO: no client has the slave open.
            Err(_) => ReadOutcome::HungUp,
        }
    }

    /// Writes as much of `bytes` as the line takes now; returns how much.
    /// `None` when no client can receive (the bytes are lost, as on a
    /// UART with nobody listening).
    pub fn write(&self, bytes: &[u8]) -> Option<usize> {
        match rustix::io::write(&self.master, bytes) {
            Ok(n) => Some(n),
            Err(Errno::AGAIN) | Err(Errno::INTR) => Some(0),
            Err(_) => None,
        }
    }
}

impl AsFd for Pty {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Only our own link: the path may have been replaced meanwhile.
        if std::fs::read_link(&self.link).is_ok_and(|t| t == self.slave) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// Opens a PTY pair: the master, non-blocking, and the path of its slave,
/// already in raw mode and not held open, so the master reads `EIO` while
/// no client has the port (serial.md §1.2). [`Pty::create`] publishes one
/// at the user's path; tests that play a device on a port use it directly.
pub fn open_raw() -> Result<(OwnedFd, PathBuf), PtyError> {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(sys("openpt"))?;
    rustix::pty::grantpt(&master).map_err(sys("grantpt"))?;
    rustix::pty::unlockpt(&master).map_err(sys("unlockpt"))?;
    let name = rustix::pty::ptsname(&master, Vec::new()).map_err(sys("ptsname"))?;
    let slave = PathBuf::from(name.to_string_lossy().into_owned());
    // Raw mode now: clients write before they configure the line, and
    // a cooked line would echo the server's replies back to it.
    {
        let fd = rustix::fs::open(
            &slave,
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys("opening the PTY slave"))?;
        let mut termios = rustix::termios::tcgetattr(&fd).map_err(sys("tcgetattr"))?;
        termios.make_raw();
        rustix::termios::tcsetattr(&fd, rustix::termios::OptionalActions::Now, &termios)
            .map_err(sys("tcsetattr"))?;
    }
    rustix::fs::fcntl_setfl(&master, OFlags::NONBLOCK | OFlags::RDWR).map_err(sys("fcntl"))?;
    Ok((master, slave))
}

/// `link` may be (re)created: it does not exist, or it is a dangling link
/// into `/dev/pts` left by a server that is gone.
fn check_link_free(link: &Path) -> Result<(), PtyError> {
    let Ok(meta) = link.symlink_metadata() else {
        return Ok(());
    };
    let taken = || PtyError::PathTaken {
        path: link.to_path_buf(),
    };
    if !meta.file_type().is_symlink() {
        return Err(taken());
    }
    let target = std::fs::read_link(link).map_err(|_| taken())?;
    if !target.starts_with("/dev/pts") {
        return Err(taken());
    }
    // A live PTY of another server keeps its slave node; a dead server's
    // node is gone (or reused by someone else: refuse then too).
    if target.exists() {
        return Err(taken());
    }
    Ok(())
}
