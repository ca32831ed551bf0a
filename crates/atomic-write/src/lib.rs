//! Outputs that appear complete or not at all.
//!
//! Every file espboot writes (keys, images, virtual eFuse files, device
//! directories) goes through a temporary file in the target's directory that
//! is renamed over the target once complete, so a crash, a full disk or an
//! error on the way never leaves a half-written file behind.
//!
//! - [`write_atomic`]: a small output held in memory, flushed to disk
//!   (`fsync`) before the rename: keys, eFuse files, device state.
//! - [`AtomicFile`]: a large output produced as a stream (signed or
//!   encrypted images), renamed into place by [`AtomicFile::commit`].
//! - [`FileLock`]: an exclusive lock for a read-modify-write of a shared
//!   file (a device directory, a virtual eFuse file), so concurrent runs
//!   do not lose each other's updates.
//!
//! With `secret`, the file is created with mode 0600 (key material);
//! otherwise a new file gets the usual 0644, whatever the umask, and a file
//! that is replaced keeps its mode.
//!
//! What the path names decides how it is written, as the reference tools'
//! `open(path, "wb")` writes into whatever the path names: a regular file
//! is replaced atomically; a symlink's target is, and the link stays; a
//! device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO) is written
//! in place, since replacing it would not write to it at all. An existing
//! file in a directory where no temporary can be created is written in
//! place too (not atomic, as the reference tools always write).
//!
//! On Linux the temporary file is anonymous (`O_TMPFILE`): it has no name
//! until it is complete, so a process killed mid-write (SIGKILL, or SIGINT
//! and SIGTERM with their default action) leaves nothing behind; the kernel
//! frees the inode with the process. The finished file is linked under a
//! short-lived name and renamed over the target. Where `O_TMPFILE` is not
//! available the temporary is a named file from the start. Either way its
//! name, `.espboot-<pid>-…`, says which process owns it, and the next write
//! into the same directory removes the temporaries of processes that no
//! longer exist.
//!
//! ```
//! use std::io::Write as _;
//!
//! let dir = tempfile::tempdir()?;
//! let key = dir.path().join("key.bin");
//! atomic_write::write_atomic(&key, &[0x11; 32], true)?;
//! assert_eq!(std::fs::read(&key)?, [0x11; 32]);
//!
//! let image = dir.path().join("image.bin");
//! let mut out = atomic_write::AtomicFile::create(&image, false)?;
//! out.write_all(b"payload")?;
//! assert!(!image.exists(), "nothing appears before the commit");
//! out.commit()?;
//! assert_eq!(std::fs::read(&image)?, b"payload");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

mod lock;
pub use lock::{FileLock, LockError};

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written. The target is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The temporary file next to the target could not be created.
    #[error("cannot create a temporary file in {}", dir.display())]
    TempFile {
        /// The target's directory.
        dir: PathBuf,
        /// The target, as given.
        target: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The temporary file's permissions could not be set.
    #[error("cannot set permissions on {}", path.display())]
    Permissions {
        /// The temporary file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Writing, flushing or renaming into place failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The target.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target (the file a
/// symlink names; a device or pipe is written in place, see the crate's
/// overview). With `secret`, the file is created with mode 0600 (private
/// keys).
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), WriteError> {
    let (tmp, target) = Temp::for_target(path, secret)?;
    let write_error = |source| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tmp.file();
    file.write_all(bytes)
        .and_then(|()| file.sync_all().or_else(ignore_unsyncable))
        .map_err(write_error)?;
    tmp.persist(&target).map_err(write_error)
}

/// `fsync` of a device or pipe written in place may be refused (EINVAL):
/// there is nothing on disk to flush.
fn ignore_unsyncable(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        Ok(())
    } else {
        Err(e)
    }
}

/// How an output reaches what its path names.
enum Destination {
    /// Replace the regular file (or a new one) at this path atomically,
    /// with this mode.
    Replace(PathBuf, u32),
    /// Write into it: a device, a pipe, a socket.
    InPlace,
}

/// What writing `path` means: the file a symlink names (the link stays),
/// the mode of the file being replaced (never looser than 0600 for a
/// secret), or, for anything but a regular file, writing in place.
fn destination(path: &Path, secret: bool) -> Destination {
    let default_mode = if secret { 0o600 } else { 0o644 };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            let target = if is_symlink(path) {
                std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
            } else {
                path.to_path_buf()
            };
            let mode = if secret {
                default_mode
            } else {
                file_mode(&meta).map_or(default_mode, |m| m & 0o777)
            };
            Destination::Replace(target, mode)
        }
        // a directory: the rename fails and reports it
        Ok(meta) if meta.is_dir() => Destination::Replace(path.to_path_buf(), default_mode),
        Ok(_) => Destination::InPlace,
        // a dangling symlink: open() creates the file it names
        Err(_) if is_symlink(path) => match std::fs::read_link(path) {
            Ok(link) => Destination::Replace(dir_of(path).join(link), default_mode),
            Err(_) => Destination::Replace(path.to_path_buf(), default_mode),
        },
        Err(_) => Destination::Replace(path.to_path_buf(), default_mode),
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

/// The directory a target lives in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What every temporary of ours is called: `.espboot-<pid>-<suffix>`, so
/// a later run can tell whether its owner is still alive.
const TEMP_PREFIX: &str = ".espboot-";

fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// A temporary file in the target's directory, with its final mode.
#[derive(Debug)]
enum Temp {
    /// An `O_TMPFILE` inode: no name until [`Temp::persist`].
    #[cfg(target_os = "linux")]
    Anonymous {
        /// The open file.
        file: std::fs::File,
        /// Where it will be linked.
        dir: PathBuf,
    },
    /// A named temporary (no `O_TMPFILE` here): removed when dropped.
    Named(tempfile::NamedTempFile),
    /// No temporary: the target itself, opened for writing (a device, a
    /// pipe, or a file whose directory takes no temporary).
    InPlace(std::fs::File),
}

impl Temp {
    /// What writing `path` goes through ([`destination`]), and the path
    /// the finished file is to replace.
    fn for_target(path: &Path, secret: bool) -> Result<(Self, PathBuf), WriteError> {
        // the target itself, opened for writing (no temporary, not atomic)
        let in_place = |at: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(at)
                .map(Temp::InPlace)
                .map_err(|source| WriteError::Write {
                    path: path.to_path_buf(),
                    source,
                })
        };
        match destination(path, secret) {
            Destination::InPlace => Ok((in_place(path)?, path.to_path_buf())),
            Destination::Replace(target, mode) => match Temp::create(&target, mode) {
                Ok(tmp) => Ok((tmp, target)),
                // a file that can be written where no temporary can be
                // created: written in place, as the reference tools write
                Err(WriteError::TempFile { source, .. })
                    if source.kind() == std::io::ErrorKind::PermissionDenied
                        && target.is_file() =>
                {
                    Ok((in_place(&target)?, target))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// A temporary for `path` with `mode`. First removes temporaries that
    /// dead processes left in the same directory.
    fn create(path: &Path, mode: u32) -> Result<Self, WriteError> {
        let dir = dir_of(path);
        remove_stale_temporaries(dir);
        let temp_error = |source| WriteError::TempFile {
            dir: dir.to_path_buf(),
            target: path.to_path_buf(),
            source,
        };
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
            match rustix::fs::open(dir, flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => {
                    let file = std::fs::File::from(fd);
                    // The umask applied to open's mode; set it exactly.
                    set_mode(&file, mode, dir)?;
                    return Ok(Temp::Anonymous {
                        file,
                        dir: dir.to_path_buf(),
                    });
                }
                // Filesystems without O_TMPFILE answer EOPNOTSUPP (or
                // EISDIR/EINVAL on old kernels): fall back to a named file.
                Err(e)
                    if e == rustix::io::Errno::OPNOTSUPP
                        || e == rustix::io::Errno::ISDIR
                        || e == rustix::io::Errno::INVAL => {}
                Err(e) => return Err(temp_error(e.into())),
            }
        }
        let named = tempfile::Builder::new()
            .prefix(&temp_prefix())
            .tempfile_in(dir)
            .map_err(temp_error)?;
        set_mode(named.as_file(), mode, named.path())?;
        Ok(Temp::Named(named))
    }

    fn file(&self) -> &std::fs::File {
        match self {
            #[cfg(target_os = "linux")]
            Temp::Anonymous { file, .. } => file,
            Temp::Named(named) => named.as_file(),
            Temp::InPlace(file) => file,
        }
    }

    /// Makes the complete file appear at `path`, replacing what was there.
    fn persist(self, path: &Path) -> std::io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Temp::Anonymous { file, dir } => link_and_rename(&file, &dir, path),
            Temp::Named(named) => named.persist(path).map(drop).map_err(|e| e.error),
            Temp::InPlace(_) => Ok(()),
        }
    }
}

/// Gives an `O_TMPFILE` inode a name (through its `/proc/self/fd` link, as
/// open(2) documents), then renames that name over `path`. Only between
/// these two calls does a name exist that a kill could leave behind.
#[cfg(target_os = "linux")]
fn link_and_rename(file: &std::fs::File, dir: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let proc_link = format!("/proc/self/fd/{}", file.as_raw_fd());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0u32..16 {
        let name = dir.join(format!("{}{stamp:08x}{attempt:x}", temp_prefix()));
        match rustix::fs::linkat(
            rustix::fs::CWD,
            proc_link.as_str(),
            rustix::fs::CWD,
            &name,
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        ) {
            Ok(()) => {
                return std::fs::rename(&name, path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&name);
                });
            }
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

/// Removes `.espboot-<pid>-…` files in `dir` whose process is gone: what a
/// run killed between link and rename, or one without `O_TMPFILE`, left
/// behind. Best effort: a directory that cannot be listed is left alone.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_exists(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists (signal 0 probes without
/// sending; EPERM means it exists but is not ours).
#[cfg(target_os = "linux")]
fn process_exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Without a way to probe, assume every owner is alive: never remove a
/// temporary that may still be written.
#[cfg(not(target_os = "linux"))]
fn process_exists(_pid: u32) -> bool {
    true
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32, path: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|source| WriteError::Permissions {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _mode: u32, _path: &Path) -> Result<(), WriteError> {
    Ok(())
}

/// A large output written as a stream: a temporary file in the target's
/// directory that becomes `path` only on [`AtomicFile::commit`]. Dropped
/// without commit (an error on the way), the temporary file is removed, so
/// nothing half-written is ever left at `path`.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: std::io::BufWriter<EarlyWriteback>,
}

/// The temporary file, asking the kernel to start writing each finished
/// stretch back to disk while the rest is still being produced. A rename
/// over an existing file makes ext4 write the whole new file back inside the
/// rename (`auto_da_alloc`, the protection against empty files after a
/// crash); started early, that work overlaps the hashing and encryption
/// instead of adding ~5-8 ms per 16 MiB at the end. Nothing is waited for
/// and nothing about atomicity or durability changes.
#[derive(Debug)]
struct EarlyWriteback {
    file: Temp,
    written: u64,
    started: u64,
}

/// How much finished output to hand to writeback at a time.
const WRITEBACK_STRIDE: u64 = 4 << 20;

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.file().write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STRIDE {
            #[cfg(target_os = "linux")]
            {
                // POSIX_FADV_DONTNEED starts asynchronous writeback of the
                // range's dirty pages (mm/fadvise.c); a failure only loses
                // the head start.
                let len = std::num::NonZeroU64::new(self.written - self.started);
                let _ = rustix::fs::fadvise(
                    self.file.file(),
                    self.started,
                    len,
                    rustix::fs::Advice::DontNeed,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.file().flush()
    }
}

impl AtomicFile {
    /// Starts writing `path` (mode 0644, or 0600 with `secret`).
    pub fn create(path: &Path, secret: bool) -> Result<Self, WriteError> {
        let (tmp, target) = Temp::for_target(path, secret)?;
        Ok(Self {
            path: target,
            tmp: std::io::BufWriter::with_capacity(
                1 << 20,
                EarlyWriteback {
                    file: tmp,
                    written: 0,
                    started: 0,
                },
            ),
        })
    }

    /// Flushes and renames the file into place. Unlike [`write_atomic`]
    /// it does not fsync: these are large derived files (encrypted images)
    /// that can be regenerated, and a 16 MiB fsync costs more than the
    /// whole encryption (scripts/bench-secure). The rename still makes the
    /// output appear complete or not at all.
    pub fn commit(self) -> Result<(), WriteError> {
        self.finish(false)
    }

    /// [`commit`](Self::commit), flushing the file to disk (`fsync`) before
    /// the rename, as [`write_atomic`] does: for an output that replaces
    /// its own input, which cannot be regenerated.
    pub fn commit_synced(self) -> Result<(), WriteError> {
        self.finish(true)
    }

    fn finish(self, sync: bool) -> Result<(), WriteError> {
        let path = self.path;
        let write_error = |source| WriteError::Write {
            path: path.clone(),
            source,
        };
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| write_error(e.into_error()))?;
        if sync {
            tmp.file
                .file()
                .sync_all()
                .or_else(ignore_unsyncable)
                .map_err(write_error)?;
        }
        tmp.file.persist(&path).map_err(write_error)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn secrets_are_private_and_other_outputs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        let public = dir.path().join("public");
        write_atomic(&key, b"k", true).unwrap();
        write_atomic(&public, b"p", false).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&public), 0o644);
    }

    #[test]
    fn a_dropped_stream_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old").unwrap();
        let mut out = AtomicFile::create(&path, false).unwrap();
        out.write_all(b"new, unfinished").unwrap();
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_stream_has_no_name_in_the_directory_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut out = AtomicFile::create(&path, false).unwrap();
        out.write_all(&[0x5a; 3 << 20]).unwrap();
        out.flush().unwrap();
        // O_TMPFILE: a kill at this point would leave nothing to clean up.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        out.commit().unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out"]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A process that has certainly exited (and been reaped).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!("{TEMP_PREFIX}{dead}-0001"));
        let live = dir.path().join(format!("{}0002", temp_prefix()));
        let unrelated = dir.path().join(".espboot-notapid-0003");
        for p in [&stale, &live, &unrelated] {
            std::fs::write(p, b"left behind").unwrap();
        }
        write_atomic(&dir.path().join("key"), b"k", true).unwrap();
        assert!(!stale.exists(), "a dead run's temporary is removed");
        assert!(live.exists(), "a running process's temporary is kept");
        assert!(unrelated.exists(), "names that are not ours are kept");
    }

    /// `open(path, "wb")` writes into what the path names; a rename
    /// replaced a FIFO (and, as root, `/dev/null`) with a regular file and
    /// wrote nothing to it.
    #[test]
    #[cfg(target_os = "linux")]
    fn regression_devices_and_pipes_were_replaced_not_written() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe", false).unwrap();
        // checked before joining: a replaced FIFO leaves the reader waiting
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO is still a FIFO");
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        // the streaming writer too
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let mut out = AtomicFile::create(&fifo, false).unwrap();
        out.write_all(b"streamed").unwrap();
        out.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"streamed");
    }

    /// A symlink's target is replaced and the link kept; a dangling link
    /// creates its target; a replaced file keeps its mode (a secret never
    /// gets looser than 0600).
    #[test]
    #[cfg(unix)]
    fn regression_links_and_modes_were_replaced_by_a_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.bin");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink("target.bin", &link).unwrap();
        write_atomic(&link, b"new", false).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o755);
        let dangling = dir.path().join("dangling.bin");
        std::os::unix::fs::symlink("made.bin", &dangling).unwrap();
        write_atomic(&dangling, b"made", false).unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.bin")).unwrap(), b"made");
        assert!(std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
        write_atomic(&target, b"key", true).unwrap();
        assert_eq!(mode(&target), 0o600);
    }

    #[test]
    fn a_missing_directory_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out");
        let err = write_atomic(&path, b"x", false).unwrap_err();
        assert!(matches!(err, WriteError::TempFile { .. }), "{err}");
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
}
