//! Hashing overlapped with I/O, the costly part of signing a large image
//! (BENCHMARKS.md, "MCUboot image signing"): the image hash must be known
//! before the TLVs, but the header and payload can be written while it is
//! computed.

use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::sync_channel;
use std::vec::Vec;

use super::error::SignError;
use crate::{Digest, HashAlg, Hasher};

/// Chunk size of the streamed pipeline.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the three threads.
const BUFFERS: usize = 4;

/// Hashes `hashed` on this thread while a second one writes its prefix
/// `written` (the header and payload, which are final) to `out`.
pub(super) fn hash_while_writing(
    alg: HashAlg,
    hashed: &[u8],
    written: &[u8],
    out: &mut (dyn Write + Send),
) -> Result<Digest, SignError> {
    let (digest, wrote) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || out.write_all(written));
        let digest = alg.digest(hashed);
        let wrote = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")));
        (digest, wrote)
    });
    wrote.map_err(SignError::WriteOutput)?;
    Ok(digest)
}

/// Writes `head`, then `len` bytes of `reader` to `out`, feeding both to
/// `hasher`: one thread reads 1 MiB chunks, this one hashes them and a
/// third writes them, so reading, hashing and writing overlap and the
/// payload is never held in memory.
pub(super) fn hash_and_copy(
    hasher: &mut Hasher,
    head: &[u8],
    reader: &mut (dyn Read + Send),
    len: u64,
    out: &mut (dyn Write + Send),
) -> Result<(), SignError> {
    hasher.update(head);
    std::thread::scope(|scope| {
        let (to_hash, filled) = sync_channel::<Vec<u8>>(BUFFERS);
        let (to_write, hashed) = sync_channel::<Vec<u8>>(BUFFERS);
        let (recycle, empty) = sync_channel::<Vec<u8>>(BUFFERS);
        for _ in 0..BUFFERS {
            // Cannot fail: `empty` lives until the reader ends.
            let _ = recycle.send(Vec::with_capacity(CHUNK));
        }
        let reading = scope.spawn(move || -> Result<(), SignError> {
            let mut left = len;
            while left > 0 {
                let Ok(mut buf) = empty.recv() else {
                    return Ok(()); // the writer failed; it reports why
                };
                let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
                buf.resize(n, 0);
                reader.read_exact(&mut buf).map_err(|e| match e.kind() {
                    ErrorKind::UnexpectedEof => SignError::InputChanged,
                    _ => SignError::ReadInput(e),
                })?;
                left -= n as u64;
                if to_hash.send(buf).is_err() {
                    return Ok(());
                }
            }
            // More than announced: the header already records `len`, so
            // signing on would silently drop the rest.
            let mut probe = [0u8; 1];
            loop {
                return match reader.read(&mut probe) {
                    Ok(0) => Ok(()),
                    Ok(_) => Err(SignError::InputChanged),
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => Err(SignError::ReadInput(e)),
                };
            }
        });
        let writing = scope.spawn(move || -> std::io::Result<()> {
            out.write_all(head)?;
            for buf in hashed {
                out.write_all(&buf)?;
                // Fails only once the reader has finished.
                let _ = recycle.send(buf);
            }
            Ok(())
        });
        for buf in filled {
            hasher.update(&buf);
            if to_write.send(buf).is_err() {
                break;
            }
        }
        drop(to_write);
        let panicked = || std::io::Error::other("an image streaming thread panicked");
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(SignError::ReadInput(panicked())));
        let written = writing
            .join()
            .unwrap_or_else(|_| Err(panicked()))
            .map_err(SignError::WriteOutput);
        read.and(written)
    })
}
