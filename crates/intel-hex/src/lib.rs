//! Intel HEX input and output exactly as the `intelhex` 2.3 Python package
//! does it, which both imgtool (`IntelHex.tobinarray`, `write_hex_file`) and
//! esptool (`merge-bin --format hex`, HEX inputs split at their gaps by
//! `intel_hex_to_bin`) use: one implementation for `mcuboot-image` and
//! `esp-image`.
//!
//! ```
//! let text = intel_hex::write(&[(0x1_0000, &[1u8, 2, 3][..]), (0x1_0010, &[4u8][..])])?;
//! assert!(text.starts_with(":020000040001F9\n"));
//! let runs = intel_hex::read_runs(&text)?;
//! assert_eq!(runs, vec![(0x1_0000, vec![1, 2, 3]), (0x1_0010, vec![4])]);
//! let (base, filled) = intel_hex::read(&text)?;
//! assert_eq!((base, filled.len(), filled[3]), (0x1_0000, 0x11, 0xff));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

/// Why an Intel HEX file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A record is malformed.
    #[error("line {line}: {error}")]
    Record {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        #[source]
        error: ihex::ReaderError,
    },
    /// No data records.
    #[error("no data records")]
    Empty,
    /// Data beyond the 32-bit address space.
    #[error("addresses beyond 4 GiB")]
    BeyondFourGiB,
    /// The data spans more addresses than a slot image can (the gaps
    /// would be filled).
    #[error("data spans {span:#x} bytes (from {start:#x}); at most {MAX_SPAN:#x} are supported")]
    SpanTooLarge {
        /// The lowest address.
        start: u32,
        /// Bytes from the lowest to the highest address.
        span: u64,
    },
}

/// Largest address span read from a HEX file (larger than any flash slot).
const MAX_SPAN: usize = 256 << 20;

/// The data records of `text` as (absolute address, bytes), in file order.
fn data_records(text: &str) -> Result<Vec<(u64, Vec<u8>)>, HexError> {
    use ihex::Record;
    let mut segments: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut base: u64 = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let rec = Record::from_record_string(line)
            .map_err(|error| HexError::Record { line: i + 1, error })?;
        match rec {
            Record::Data { offset, value } => segments.push((base + u64::from(offset), value)),
            Record::EndOfFile => break,
            Record::ExtendedSegmentAddress(seg) => base = u64::from(seg) * 16,
            Record::ExtendedLinearAddress(hi) => base = u64::from(hi) << 16,
            Record::StartSegmentAddress { .. } | Record::StartLinearAddress(_) => {}
        }
    }
    Ok(segments)
}

/// Reads Intel HEX text: returns the lowest address and the bytes from it
/// to the highest address, gaps filled with 0xff (`tobinarray`).
///
/// # Errors
/// [`HexError`] for malformed records.
pub fn read(text: &str) -> Result<(u32, Vec<u8>), HexError> {
    let segments = data_records(text)?;
    let min = segments
        .iter()
        .map(|(a, _)| *a)
        .min()
        .ok_or(HexError::Empty)?;
    let max = segments
        .iter()
        .map(|(a, d)| a + d.len() as u64)
        .max()
        .ok_or(HexError::Empty)?;
    let min32 = u32::try_from(min).map_err(|_| HexError::BeyondFourGiB)?;
    if max > 1 << 32 {
        return Err(HexError::BeyondFourGiB);
    }
    // The gaps are filled, so a sparse file could ask for gigabytes.
    let span = usize::try_from(max - min)
        .ok()
        .filter(|s| *s <= MAX_SPAN)
        .ok_or(HexError::SpanTooLarge {
            start: min32,
            span: max - min,
        })?;
    let mut out = vec![0xffu8; span];
    for (a, d) in segments {
        let at = (a - min) as usize;
        out[at..at + d.len()].copy_from_slice(&d);
    }
    Ok((min32, out))
}

/// Reads Intel HEX text as its contiguous runs of data, lowest address
/// first, as esptool's `intel_hex_to_bin` splits a HEX input (one binary per
/// run of consecutive addresses; a later record overwrites an earlier one at
/// the same address, as `IntelHex.loadhex` does).
///
/// # Errors
/// [`HexError`] for malformed records, no data, or data beyond 4 GiB.
pub fn read_runs(text: &str) -> Result<Vec<(u32, Vec<u8>)>, HexError> {
    let mut bytes = std::collections::BTreeMap::new();
    for (addr, data) in data_records(text)? {
        for (i, b) in data.into_iter().enumerate() {
            let at = u32::try_from(addr + i as u64).map_err(|_| HexError::BeyondFourGiB)?;
            bytes.insert(at, b);
        }
    }
    let mut runs: Vec<(u32, Vec<u8>)> = Vec::new();
    for (addr, b) in bytes {
        match runs.last_mut() {
            Some((start, data)) if u64::from(*start) + data.len() as u64 == u64::from(addr) => {
                data.push(b);
            }
            _ => runs.push((addr, vec![b])),
        }
    }
    if runs.is_empty() {
        return Err(HexError::Empty);
    }
    Ok(runs)
}

/// An extended linear address record that `write_hex_file` cannot store:
/// it puts the upper 16 bits of an address, as two bytes from Python's
/// `divmod(address >> 16, 256)`, into an `array('B')`, which refuses a
/// byte below 0 or above 255 with an `OverflowError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpperAddressOverflow {
    /// An address below 0 in a file that needs extended address records.
    #[error("an address below 0 cannot be written in an extended address record")]
    BelowZero,
    /// An address at or past 4 GiB.
    #[error("an address at or past 4 GiB cannot be written in an extended address record")]
    PastFourGiB,
}

/// The records `write_hex_file` had written when an address stopped it:
/// `intelhex` leaves them in the file, without the end-of-file record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{overflow}")]
pub struct TruncatedHex {
    /// The text written before the failing record.
    pub text: String,
    /// Why it stopped.
    pub overflow: UpperAddressOverflow,
}

/// Writes `segments` (address, bytes) as Intel HEX text exactly as
/// `intelhex` 2.3 `write_hex_file` does: 16-byte records that never cross a
/// 64 KiB boundary or a gap, type-04 records only when the highest address
/// exceeds 0xffff, no start address, `\n` line ends. Later segments
/// overwrite earlier ones where they overlap.
///
/// Addresses are Python integers, as imgtool hands them over: below 0 they
/// keep their low 16 bits in a file without extended address records.
///
/// # Errors
/// [`TruncatedHex`] with the records written so far when a type-04 record
/// would need an address below 0 or at or past 4 GiB.
pub fn write(segments: &[(i128, &[u8])]) -> Result<String, TruncatedHex> {
    // Merge into sorted, non-overlapping runs.
    let mut runs: Vec<(i128, Vec<u8>)> = Vec::new();
    let mut sorted: Vec<(usize, i128, &[u8])> = segments
        .iter()
        .enumerate()
        .filter(|(_, (_, d))| !d.is_empty())
        .map(|(i, (a, d))| (i, *a, *d))
        .collect();
    sorted.sort_by_key(|(i, a, _)| (*a, *i));
    for (_, a, d) in sorted {
        if let Some((ra, rd)) = runs.last_mut() {
            let rend = *ra + rd.len() as i128;
            if a <= rend {
                let off = (a - *ra) as usize;
                let overlap = rd.len().saturating_sub(off).min(d.len());
                rd[off..off + overlap].copy_from_slice(&d[..overlap]);
                rd.extend_from_slice(&d[overlap..]);
                continue;
            }
        }
        runs.push((a, d.to_vec()));
    }
    let mut out = String::new();
    let Some(maxaddr) = runs.last().map(|(a, d)| a + d.len() as i128 - 1) else {
        out.push_str(":00000001FF\n");
        return Ok(out);
    };
    let need_offset = maxaddr > 0xffff;
    let mut high: Option<i128> = None;
    for (start, data) in &runs {
        let mut pos = 0usize;
        while pos < data.len() {
            let addr = start + pos as i128;
            // `>>` and `&` on i128 round as Python's do on its integers
            if need_offset && high != Some(addr >> 16) {
                high = Some(addr >> 16);
                let upper = match u16::try_from(addr >> 16) {
                    Ok(upper) => upper,
                    Err(_) => {
                        let overflow = if addr < 0 {
                            UpperAddressOverflow::BelowZero
                        } else {
                            UpperAddressOverflow::PastFourGiB
                        };
                        return Err(TruncatedHex {
                            text: out,
                            overflow,
                        });
                    }
                };
                push_record(&mut out, 0, 4, &upper.to_be_bytes());
            }
            let low = (addr & 0xffff) as usize;
            let n = 16.min(0x10000 - low).min(data.len() - pos);
            push_record(&mut out, low as u16, 0, &data[pos..pos + n]);
            pos += n;
        }
    }
    out.push_str(":00000001FF\n");
    Ok(out)
}

fn push_record(out: &mut String, offset: u16, kind: u8, data: &[u8]) {
    use std::fmt::Write as _;
    let mut sum: u8 = data.len() as u8;
    sum = sum
        .wrapping_add((offset >> 8) as u8)
        .wrapping_add(offset as u8)
        .wrapping_add(kind);
    let _ = write!(out, ":{:02X}{:04X}{:02X}", data.len(), offset, kind);
    for b in data {
        sum = sum.wrapping_add(*b);
        let _ = write!(out, "{b:02X}");
    }
    let _ = writeln!(out, "{:02X}", sum.wrapping_neg());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_64k_boundary_with_gap() {
        let a: Vec<u8> = (0..40u8).collect();
        let b = [0xaa_u8; 5];
        let text = write(&[(0xfff0, &a[..]), (0x1_0040, &b[..])]).unwrap();
        // A type-04 record opens each 64 KiB page; data records never cross one.
        let recs: Vec<ihex::Record> = text
            .lines()
            .map(|l| ihex::Record::from_record_string(l).unwrap())
            .collect();
        let pages: Vec<u16> = recs
            .iter()
            .filter_map(|r| match r {
                ihex::Record::ExtendedLinearAddress(p) => Some(*p),
                _ => None,
            })
            .collect();
        assert_eq!(pages, [0, 1]);
        for r in &recs {
            if let ihex::Record::Data { offset, value } = r {
                assert!(value.len() <= 16 && usize::from(*offset) + value.len() <= 0x10000);
            }
        }
        let (base, data) = read(&text).unwrap();
        assert_eq!(base, 0xfff0);
        assert_eq!(&data[..40], &a[..]);
        assert!(data[40..0x50].iter().all(|x| *x == 0xff));
        assert_eq!(&data[0x50..], &b[..]);
    }

    #[test]
    fn sparse_file_spanning_gigabytes_is_refused() {
        let text = write(&[(0, &[1u8][..]), (0xf000_0000, &[2u8][..])]).unwrap();
        assert!(matches!(
            read(&text),
            Err(HexError::SpanTooLarge {
                start: 0,
                span: 0xf000_0001
            })
        ));
    }

    #[test]
    fn negative_addresses_wrap_into_the_low_64k_without_offset_records() {
        // intelhex writes `address & 0xffff`, and a one-byte record where
        // the 64 KiB page ends
        let text = write(&[(-1, &[0xaa, 0xbb][..])]).unwrap();
        assert_eq!(text, ":01FFFF00AA57\n:01000000BB44\n:00000001FF\n");
    }

    #[test]
    fn an_upper_address_outside_two_bytes_stops_the_file_there() {
        let err = write(&[(0xffff_fffe, &[1u8, 2, 3][..])]).unwrap_err();
        assert_eq!(err.text, ":02000004FFFFFC\n:02FFFE000102FE\n");
        assert_eq!(err.overflow, UpperAddressOverflow::PastFourGiB);
        let data = [1u8, 2, 3, 4].repeat(0x8000);
        let err = write(&[(-2, &data[..])]).unwrap_err();
        assert_eq!(err.text, "");
        assert_eq!(err.overflow, UpperAddressOverflow::BelowZero);
    }
}
