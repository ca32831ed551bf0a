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
    /// A record intelhex refuses, as its `loadhex` refuses it.
    #[error(transparent)]
    Record(#[from] RecordError),
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

/// Why intelhex 2.3's `IntelHex.loadhex` refuses a file
/// (`intelhex/__init__.py` `_decode_record`): its exception, with the
/// 1-based line number it names. The message is the exception's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Not `:` followed by an even number of hex digits, or fewer than 5
    /// bytes.
    #[error("Hex file contains invalid record at line {line}")]
    Invalid {
        /// The line.
        line: usize,
    },
    /// The length byte disagrees with the record's length.
    #[error("Record at line {line} has invalid length")]
    Length {
        /// The line.
        line: usize,
    },
    /// A record type above 5.
    #[error("Record at line {line} has invalid record type")]
    Type {
        /// The line.
        line: usize,
    },
    /// The bytes do not sum to 0 modulo 256.
    #[error("Record at line {line} has invalid checksum")]
    Checksum {
        /// The line.
        line: usize,
    },
    /// An end-of-file record with data.
    #[error("File has invalid End-of-File record")]
    EndOfFile,
    /// An extended segment address record of the wrong shape.
    #[error("Invalid Extended Segment Address Record at line {line}")]
    ExtendedSegmentAddress {
        /// The line.
        line: usize,
    },
    /// An extended linear address record of the wrong shape.
    #[error("Invalid Extended Linear Address Record at line {line}")]
    ExtendedLinearAddress {
        /// The line.
        line: usize,
    },
    /// A start segment address record of the wrong shape.
    #[error("Invalid Start Segment Address Record at line {line}")]
    StartSegmentAddress {
        /// The line.
        line: usize,
    },
    /// A start linear address record of the wrong shape.
    #[error("Invalid Start Linear Address Record at line {line}")]
    StartLinearAddress {
        /// The line.
        line: usize,
    },
    /// A second start address record.
    #[error("Start Address Record appears twice at line {line}")]
    DuplicateStartAddress {
        /// The line.
        line: usize,
    },
    /// A data byte at an address an earlier record filled.
    #[error("Hex file has data overlap at address 0x{address:X} on line {line}")]
    AddressOverlap {
        /// The address.
        address: u64,
        /// The line.
        line: usize,
    },
}

impl RecordError {
    /// The exception's class, as a traceback names it (`intelhex.…`).
    #[must_use]
    pub fn python_class(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "intelhex.HexRecordError",
            Self::Length { .. } => "intelhex.RecordLengthError",
            Self::Type { .. } => "intelhex.RecordTypeError",
            Self::Checksum { .. } => "intelhex.RecordChecksumError",
            Self::EndOfFile => "intelhex.EOFRecordError",
            Self::ExtendedSegmentAddress { .. } => "intelhex.ExtendedSegmentAddressRecordError",
            Self::ExtendedLinearAddress { .. } => "intelhex.ExtendedLinearAddressRecordError",
            Self::StartSegmentAddress { .. } => "intelhex.StartSegmentAddressRecordError",
            Self::StartLinearAddress { .. } => "intelhex.StartLinearAddressRecordError",
            Self::DuplicateStartAddress { .. } => "intelhex.DuplicateStartAddressRecordError",
            Self::AddressOverlap { .. } => "intelhex.AddressOverlapError",
        }
    }
}

/// The lines of `text` as Python's text-mode iteration yields them
/// (universal newlines: `\n`, `\r\n` and `\r` end a line), without their
/// line ends.
fn python_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let after = &rest[end..];
        rest = after
            .strip_prefix("\r\n")
            .or_else(|| after.strip_prefix('\n'))
            .or_else(|| after.strip_prefix('\r'))
            .unwrap_or(after);
        Some(line)
    })
}

/// The data of `text` as runs of consecutive addresses (start, bytes),
/// lowest first, as intelhex's `loadhex` reads it (`_decode_record`):
/// every check in its order, an address filled twice refused, and nothing
/// read after the end-of-file record.
fn data_runs(text: &str) -> Result<Vec<(u64, Vec<u8>)>, RecordError> {
    // the runs by start address; they never overlap or touch
    let mut runs: std::collections::BTreeMap<u64, Vec<u8>> = std::collections::BTreeMap::new();
    let mut offset: u64 = 0;
    let mut start_address = false;
    for (i, s) in python_lines(text).enumerate() {
        let line = i + 1;
        if s.is_empty() {
            continue;
        }
        let invalid = RecordError::Invalid { line };
        let hex = s.strip_prefix(':').ok_or(invalid)?;
        // binascii.unhexlify: pairs of hex digits, nothing else
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid);
        }
        let bin: Vec<u8> = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                digit(pair[0]) * 16 + digit(pair[1])
            })
            .collect();
        if bin.len() < 5 {
            return Err(invalid);
        }
        let record_length = usize::from(bin[0]);
        if bin.len() != 5 + record_length {
            return Err(RecordError::Length { line });
        }
        let address = u64::from(bin[1]) * 256 + u64::from(bin[2]);
        let record_type = bin[3];
        if record_type > 5 {
            return Err(RecordError::Type { line });
        }
        if bin.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) != 0 {
            return Err(RecordError::Checksum { line });
        }
        let value16 = || u64::from(bin[4]) * 256 + u64::from(bin[5]);
        match record_type {
            0 => {
                // no wrap at 64 KiB (intelhex's own FIXME)
                let data = &bin[4..4 + record_length];
                add_run(&mut runs, offset + address, data, line)?;
            }
            1 if record_length != 0 => return Err(RecordError::EndOfFile),
            1 => break,
            2 if record_length != 2 || address != 0 => {
                return Err(RecordError::ExtendedSegmentAddress { line })
            }
            2 => offset = value16() * 16,
            4 if record_length != 2 || address != 0 => {
                return Err(RecordError::ExtendedLinearAddress { line })
            }
            4 => offset = value16() * 65536,
            3 | 5 if record_length != 4 || address != 0 => {
                return Err(if record_type == 3 {
                    RecordError::StartSegmentAddress { line }
                } else {
                    RecordError::StartLinearAddress { line }
                })
            }
            _ => {
                if start_address {
                    return Err(RecordError::DuplicateStartAddress { line });
                }
                start_address = true;
            }
        }
    }
    Ok(runs.into_iter().collect())
}

/// Adds `data` at `start` to `runs`, joining the runs it touches; refuses
/// its first byte (in address order, as intelhex fills them) that a run
/// already holds.
fn add_run(
    runs: &mut std::collections::BTreeMap<u64, Vec<u8>>,
    start: u64,
    data: &[u8],
    line: usize,
) -> Result<(), RecordError> {
    if data.is_empty() {
        return Ok(());
    }
    let end = start + data.len() as u64;
    // the run at or before `start`, then any that begin inside the data
    let before = runs
        .range(..=start)
        .next_back()
        .filter(|(s, d)| **s + d.len() as u64 > start)
        .map(|_| start);
    let inside = runs.range(start..end).next().map(|(s, _)| *s);
    if let Some(address) = before.or(inside) {
        return Err(RecordError::AddressOverlap { address, line });
    }
    let mut merged_start = start;
    let mut merged = Vec::new();
    // a run that ends where the data begins
    if let Some((&s, d)) = runs.range(..start).next_back() {
        if s + d.len() as u64 == start {
            merged_start = s;
            merged = runs.remove(&s).unwrap_or_default();
        }
    }
    merged.extend_from_slice(data);
    // a run that begins where the data ends
    if let Some(after) = runs.remove(&end) {
        merged.extend(after);
    }
    runs.insert(merged_start, merged);
    Ok(())
}

/// The data records of `text` as (absolute address, bytes), lowest first:
/// each run of consecutive addresses.
fn data_records(text: &str) -> Result<Vec<(u64, Vec<u8>)>, HexError> {
    Ok(data_runs(text)?)
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
/// run of consecutive addresses; `IntelHex.loadhex` refuses an address
/// filled twice).
///
/// # Errors
/// [`HexError`] for malformed records, no data, or data beyond 4 GiB.
pub fn read_runs(text: &str) -> Result<Vec<(u32, Vec<u8>)>, HexError> {
    let runs = data_records(text)?;
    if runs.is_empty() {
        return Err(HexError::Empty);
    }
    runs.into_iter()
        .map(|(addr, data)| {
            let end = addr + data.len() as u64;
            match u32::try_from(addr) {
                Ok(addr) if end <= 1 << 32 => Ok((addr, data)),
                _ => Err(HexError::BeyondFourGiB),
            }
        })
        .collect()
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
    /// Each row was checked against intelhex 2.3's `IntelHex(path)` (a
    /// file, so universal newlines): its exception class and message.
    #[test]
    fn records_are_refused_as_intelhex_refuses_them() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "10000000\n",
                "intelhex.HexRecordError",
                "Hex file contains invalid record at line 1",
            ),
            (
                ":0\n",
                "intelhex.HexRecordError",
                "Hex file contains invalid record at line 1",
            ),
            (
                ":00000001\n",
                "intelhex.HexRecordError",
                "Hex file contains invalid record at line 1",
            ),
            (
                " :00000001FF\n",
                "intelhex.HexRecordError",
                "Hex file contains invalid record at line 1",
            ),
            (
                ":00000001FF \n",
                "intelhex.HexRecordError",
                "Hex file contains invalid record at line 1",
            ),
            (
                ":00000006FA\n",
                "intelhex.RecordTypeError",
                "Record at line 1 has invalid record type",
            ),
            (
                ":0100000001FF\n",
                "intelhex.RecordChecksumError",
                "Record at line 1 has invalid checksum",
            ),
            (
                ":0100000100FE\n",
                "intelhex.EOFRecordError",
                "File has invalid End-of-File record",
            ),
            (
                ":0200000212\n",
                "intelhex.RecordLengthError",
                "Record at line 1 has invalid length",
            ),
            (
                ":020001040000F9\n",
                "intelhex.ExtendedLinearAddressRecordError",
                "Invalid Extended Linear Address Record at line 1",
            ),
            (
                ":0400000300000000F9\n:0400000300000000F9\n",
                "intelhex.DuplicateStartAddressRecordError",
                "Start Address Record appears twice at line 2",
            ),
            (
                ":03000005000000F8\n",
                "intelhex.StartLinearAddressRecordError",
                "Invalid Start Linear Address Record at line 1",
            ),
            (
                ":0100000001FE\n\n:0100000002FD\n",
                "intelhex.AddressOverlapError",
                "Hex file has data overlap at address 0x0 on line 3",
            ),
            (
                ":0100000001FE\r:0100000002FD\r",
                "intelhex.AddressOverlapError",
                "Hex file has data overlap at address 0x0 on line 2",
            ),
        ];
        for (text, class, message) in cases {
            let Err(super::HexError::Record(e)) = super::read(text) else {
                panic!("{text:?} was read");
            };
            assert_eq!(
                (e.python_class(), e.to_string().as_str()),
                (*class, *message),
                "{text:?}"
            );
        }
        // the first byte filled twice, in the later record's order
        for (text, message) in [
            (
                ":020000000102FB\n:020001000304F6\n",
                "Hex file has data overlap at address 0x1 on line 2",
            ),
            (
                ":0100050001F9\n:0400030001020304EF\n",
                "Hex file has data overlap at address 0x5 on line 2",
            ),
        ] {
            let Err(super::HexError::Record(e)) = super::read(text) else {
                panic!("{text:?} was read");
            };
            assert_eq!(e.to_string(), message);
        }
        // runs join across records in any order
        let text = ":0100000001FE\n:0100020001FC\n:0100010009F5\n:020004000909E8\n";
        assert_eq!(
            super::read_runs(text).unwrap(),
            vec![(0, vec![1, 9, 1]), (4, vec![9, 9])]
        );
        // nothing after the end-of-file record is read; lower-case digits
        assert_eq!(
            super::read(":01000000aa55\n:00000001FF\nGARBAGE\n").unwrap(),
            (0, vec![0xaa])
        );
        assert!(matches!(
            super::read(":00000001FF\n"),
            Err(super::HexError::Empty)
        ));
    }

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
