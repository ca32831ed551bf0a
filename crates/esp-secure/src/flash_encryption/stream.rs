//! The constant-memory streaming pipeline behind [`FlashCrypt::stream`]:
//! a reader thread, worker threads for the cipher, and the calling thread
//! writing, each on its own 1 MiB buffer.

use std::io::{Read, Write};

use zeroize::Zeroizing;

use super::{
    check_aligned_address, check_range, Direction, FlashCrypt, FlashCryptError, XTS_DATA_UNIT,
};

/// [`FlashCrypt::stream`]: runs `direction` over everything `input` yields,
/// writing to `output`; returns the bytes written.
pub(super) fn run<T: FlashCrypt + ?Sized>(
    crypt: &T,
    direction: Direction,
    address: u32,
    input: &mut (dyn Read + Send),
    output: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, FlashCryptError> {
    check_aligned_address(address)?;
    // A multiple of the XTS data unit, so chunks never split a unit
    // needlessly (correct either way).
    const CHUNK: usize = 1 << 20;
    const BUFFERS: usize = 3;
    type Filled = std::io::Result<(Zeroizing<Vec<u8>>, usize)>;
    let threads = crypt_threads();
    std::thread::scope(|scope| {
        // A reader thread fills the next buffer while this one is
        // encrypted and the previous one written.
        let (to_crypt, filled_buffers) = std::sync::mpsc::sync_channel::<Filled>(1);
        let (recycle, empty_buffers) = std::sync::mpsc::sync_channel::<Zeroizing<Vec<u8>>>(BUFFERS);
        scope.spawn(move || {
            while let Ok(mut buf) = empty_buffers.recv() {
                let result = read_full(input, &mut buf);
                let last = !matches!(result, Ok(n) if n == buf.len());
                if to_crypt.send(result.map(|n| (buf, n))).is_err() || last {
                    break;
                }
            }
        });
        for _ in 0..BUFFERS {
            // Cannot fail: the reader holds the receiver until it ends.
            let _ = recycle.send(Zeroizing::new(vec![0u8; CHUNK]));
        }
        let mut done: u64 = 0;
        let mut at = address;
        // The encrypted chunk not yet written: (buffer, bytes to
        // write, input bytes done once it is written).
        let mut pending: Option<(Zeroizing<Vec<u8>>, usize, u64)> = None;
        // The reader stops (dropping its sender) after the last chunk.
        while let Ok(filled) = filled_buffers.recv() {
            let (mut buf, filled) = filled?;
            if filled == 0 {
                break;
            }
            let mut len = filled;
            if filled % 16 != 0 {
                // Only the very last read can be short.
                let total = done + filled as u64;
                if direction == Direction::Encrypt && crypt.pads_partial_block() {
                    use rand_core::RngCore;
                    let padded = filled.next_multiple_of(16);
                    rand_core::OsRng.fill_bytes(&mut buf[filled..padded]);
                    len = padded;
                } else {
                    return Err(FlashCryptError::UnalignedLength(total));
                }
            }
            check_range(address, done + len as u64)?;
            // Encrypt this chunk on the worker threads while this
            // thread writes the previous one.
            let previous = pending.take();
            parallel_apply(crypt, direction, at, &mut buf[..len], threads, || {
                if let Some((written, n, done_then)) = previous {
                    output.write_all(&written[..n])?;
                    progress(done_then);
                    // Fails only once the reader has finished.
                    let _ = recycle.send(written);
                }
                Ok(())
            })?;
            done += filled as u64;
            // check_range above guarantees this stays within u32 (or
            // ends exactly at 4 GiB, after which nothing more is read).
            at = at.wrapping_add(len as u32);
            pending = Some((buf, len, done));
        }
        if let Some((written, n, done_then)) = pending {
            output.write_all(&written[..n])?;
            progress(done_then);
        }
        if done == 0 && !crypt.pads_partial_block() {
            return Err(FlashCryptError::Empty);
        }
        Ok(done.next_multiple_of(16))
    })
}

/// Worker threads for the streaming API: one per core, at most four.
fn crypt_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Runs `direction` over `chunk` on `threads` worker threads, each on a
/// part aligned to the XTS data unit (both algorithms are
/// position-independent beyond their 16/32/128-byte blocks, so parts give
/// the same bytes), while the calling thread runs `meanwhile` (writing the
/// previous chunk).
fn parallel_apply<T: FlashCrypt + ?Sized>(
    crypt: &T,
    direction: Direction,
    address: u32,
    chunk: &mut [u8],
    threads: usize,
    meanwhile: impl FnOnce() -> Result<(), FlashCryptError>,
) -> Result<(), FlashCryptError> {
    let apply = |at: u32, part: &mut [u8]| match direction {
        Direction::Encrypt => crypt.encrypt(at, part),
        Direction::Decrypt => crypt.decrypt(at, part),
    };
    // Below 256 KiB threads cost more than they save.
    if threads < 2 || chunk.len() < 256 << 10 {
        meanwhile()?;
        return apply(address, chunk);
    }
    let part_len = (chunk.len() / threads).next_multiple_of(XTS_DATA_UNIT);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks_mut(part_len)
            .enumerate()
            .map(|(i, part)| {
                let at = address.wrapping_add((i * part_len) as u32);
                scope.spawn(move || apply(at, part))
            })
            .collect();
        let written = meanwhile();
        let crypted = handles
            .into_iter()
            .try_for_each(|h| h.join().unwrap_or(Err(FlashCryptError::WorkerPanicked)));
        written.and(crypted)
    })
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
