//! The Intel HEX text imgtool writes for a `.hex` output, for addresses
//! the library's writer does not take: imgtool puts the image's bytes into
//! an `IntelHex` object at Python integers (below 0 or past 4 GiB when
//! `-x` or `-S` say so) and `write_hex_file` turns them into records as
//! it finds them (the `intelhex` package, `IntelHex.write_hex_file`).

use std::collections::BTreeMap;

/// Data bytes per record (`write_hex_file`'s `byte_count`).
const BYTE_COUNT: i128 = 16;

/// The text `write_hex_file` writes for `bytes` (address to byte), and
/// the exception that stops it part way, as Python's last traceback line:
/// an extended address record whose upper address does not fit in two
/// bytes makes `array('B')` refuse the value. What was written before the
/// exception stays in the file.
pub(super) fn write(bytes: &BTreeMap<i128, u8>) -> (String, Option<String>) {
    let mut text = String::new();
    let addresses: Vec<i128> = bytes.keys().copied().collect();
    let (Some(&min), Some(&max)) = (addresses.first(), addresses.last()) else {
        text.push_str(":00000001FF\n");
        return (text, None);
    };
    let need_offset_record = max > 0xffff;
    let mut high_ofs: i128 = 0;
    let mut cur_addr = min;
    let mut cur_ix = 0usize;
    while cur_addr <= max {
        if need_offset_record {
            // Python's `>>` and `divmod` round towards minus infinity
            high_ofs = cur_addr >> 16;
            let (hi, lo) = (high_ofs.div_euclid(256), high_ofs.rem_euclid(256));
            let hi = match u8::try_from(hi) {
                Ok(hi) => hi,
                Err(_) if hi < 0 => {
                    let last = "OverflowError: unsigned byte integer is less than minimum";
                    return (text, Some(last.to_owned()));
                }
                Err(_) => {
                    let last = "OverflowError: unsigned byte integer is greater than maximum";
                    return (text, Some(last.to_owned()));
                }
            };
            record(&mut text, 0, 4, &[hi, lo as u8]);
        }
        loop {
            let low_addr = cur_addr & 0xffff;
            // one less than the record's length, as intelhex counts it
            let chain = (BYTE_COUNT - 1).min(0xffff - low_addr).min(max - cur_addr);
            let mut chain_len = if chain > 0 {
                let stop = cur_addr + chain;
                let end = (cur_ix + chain as usize + 1).min(addresses.len());
                addresses[cur_ix..end].partition_point(|a| *a <= stop)
            } else {
                1
            };
            // a hole inside the chain ends the record there
            let mut data = Vec::with_capacity(chain_len);
            for i in 0..chain_len {
                match bytes.get(&(cur_addr + i as i128)) {
                    Some(b) => data.push(*b),
                    None => {
                        chain_len = i;
                        break;
                    }
                }
            }
            record(&mut text, low_addr as u16, 0, &data);
            cur_ix += chain_len;
            match addresses.get(cur_ix) {
                Some(next) => cur_addr = *next,
                None => {
                    cur_addr = max + 1;
                    break;
                }
            }
            if cur_addr >> 16 > high_ofs {
                break;
            }
        }
    }
    text.push_str(":00000001FF\n");
    (text, None)
}

/// One record: length, address, type, data and checksum, in upper-case
/// hex.
fn record(text: &mut String, address: u16, kind: u8, data: &[u8]) {
    let [a_hi, a_lo] = address.to_be_bytes();
    let mut raw = vec![data.len() as u8, a_hi, a_lo, kind];
    raw.extend_from_slice(data);
    let sum = raw.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    raw.push(sum.wrapping_neg());
    text.push(':');
    for b in raw {
        text.push_str(&format!("{b:02X}"));
    }
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(at: i128, data: &[u8]) -> BTreeMap<i128, u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| (at + i as i128, *b))
            .collect()
    }

    #[test]
    fn records_follow_the_library_writer_in_the_32_bit_range() {
        let data: Vec<u8> = (0..=255u8).cycle().take(0x2345).collect();
        for at in [0i128, 0x10, 0xfff0, 0x1_0000, 0x2_fff7] {
            let (text, error) = write(&map(at, &data));
            assert!(error.is_none());
            let runs = mcuboot_image::hexfile::read_runs(&text).unwrap();
            assert_eq!(runs, vec![(at as u32, data.clone())], "at {at:#x}");
        }
    }

    #[test]
    fn negative_addresses_wrap_into_the_low_64k_without_offset_records() {
        // intelhex writes `address & 0xffff` and a one-byte record where
        // the 64 KiB page ends
        let (text, error) = write(&map(-1, &[0xaa, 0xbb]));
        assert!(error.is_none());
        assert_eq!(text, ":01FFFF00AA57\n:01000000BB44\n:00000001FF\n");
    }

    #[test]
    fn an_upper_address_past_two_bytes_stops_the_file_there() {
        let (text, error) = write(&map(0xffff_fffe, &[1, 2, 3]));
        assert_eq!(text, ":02000004FFFFFC\n:02FFFE000102FE\n");
        assert_eq!(
            error.as_deref(),
            Some("OverflowError: unsigned byte integer is greater than maximum")
        );
        let (text, error) = write(&map(-2, &[1, 2, 3, 4].repeat(0x8000)));
        assert_eq!(text, "");
        assert_eq!(
            error.as_deref(),
            Some("OverflowError: unsigned byte integer is less than minimum")
        );
    }
}
