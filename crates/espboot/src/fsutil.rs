//! File output helpers shared by every command: nothing is ever half-written.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed, then renamed over the target. With `secret`, the file
/// is created with mode 0600 (private keys).
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".espboot-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    if !secret {
        set_mode(tmp.path(), 0o644)?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// A large output written as a stream: a temporary file in the target's
/// directory that becomes `path` only on [`AtomicFile::commit`]. Dropped
/// without commit (an error on the way), the temporary file is removed, so
/// nothing half-written is ever left at `path`.
pub struct AtomicFile {
    path: std::path::PathBuf,
    tmp: std::io::BufWriter<EarlyWriteback>,
}

/// The temporary file, asking the kernel to start writing each finished
/// stretch back to disk while the rest is still being produced. A rename
/// over an existing file makes ext4 write the whole new file back inside the
/// rename (`auto_da_alloc`, the protection against empty files after a
/// crash); started early, that work overlaps the hashing and encryption
/// instead of adding ~5-8 ms per 16 MiB at the end. Nothing is waited for
/// and nothing about atomicity or durability changes.
struct EarlyWriteback {
    file: tempfile::NamedTempFile,
    written: u64,
    started: u64,
}

/// How much finished output to hand to writeback at a time.
const WRITEBACK_STRIDE: u64 = 4 << 20;

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STRIDE {
            #[cfg(target_os = "linux")]
            {
                // POSIX_FADV_DONTNEED starts asynchronous writeback of the
                // range's dirty pages (mm/fadvise.c); a failure only loses
                // the head start.
                let len = std::num::NonZeroU64::new(self.written - self.started);
                let _ = rustix::fs::fadvise(
                    self.file.as_file(),
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
        self.file.flush()
    }
}

impl AtomicFile {
    /// Starts writing `path` (mode 0644, or 0600 with `secret`).
    pub fn create(path: &Path, secret: bool) -> anyhow::Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".espboot-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        if !secret {
            set_mode(tmp.path(), 0o644)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
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
    pub fn commit(self) -> anyhow::Result<()> {
        let path = self.path;
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", path.display()))?;
        tmp.file
            .persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
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

/// Reads the whole file at `path` into a new buffer after `prefix` bytes of
/// `prefix_byte`, with `room` bytes of spare capacity for what the caller
/// appends (signature sector, TLVs), so a large image is never copied or
/// reallocated. (Reading on two threads was tried: no faster on this VM,
/// page faults and page-cache copies of the two halves contend.)
pub fn read_file_with_room(
    path: &Path,
    prefix: usize,
    prefix_byte: u8,
    room: usize,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    let total = prefix
        .checked_add(len)
        .and_then(|n| n.checked_add(room))
        .ok_or_else(|| std::io::Error::other("file too large"))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(total)
        .map_err(std::io::Error::other)?;
    buf.resize(prefix, prefix_byte);
    // A file that changed size meanwhile is read to its end, as `fs::read`.
    file.read_to_end(&mut buf)?;
    Ok(buf)
}
