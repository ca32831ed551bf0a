//! esptool's flasher stub images, embedded at build time.
//!
//! The images are esp-flasher-stub v1.4.1 as esptool 5.6.0 ships them
//! (`esptool/targets/stub_flasher/2/<chip>.json`, the directory esptool
//! prefers, `StubFlasher.STUB_SUBDIRS`); they are MIT/Apache-2.0 (see
//! `stubs/README.md`), so embedding them keeps espboot's license and lets
//! the binary work without Python.

use esp_image::Chip;

/// One stub image: a text and a data segment loaded to RAM, and the entry
/// point MEM_END jumps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stub {
    /// Entry point.
    pub entry: u32,
    /// Code segment and its load address.
    pub text: (u32, Vec<u8>),
    /// Data segment and its load address, if the image has one.
    pub data: Option<(u32, Vec<u8>)>,
}

#[derive(serde::Deserialize)]
struct StubJson {
    entry: u32,
    text: String,
    text_start: u32,
    data: Option<String>,
    data_start: Option<u32>,
}

fn json(chip: Chip) -> &'static str {
    match chip {
        Chip::Esp32 => include_str!("../stubs/esp32.json"),
        Chip::Esp32s2 => include_str!("../stubs/esp32s2.json"),
        Chip::Esp32s3 => include_str!("../stubs/esp32s3.json"),
        Chip::Esp32c2 => include_str!("../stubs/esp32c2.json"),
        Chip::Esp32c3 => include_str!("../stubs/esp32c3.json"),
        Chip::Esp32c6 => include_str!("../stubs/esp32c6.json"),
        Chip::Esp32h2 => include_str!("../stubs/esp32h2.json"),
    }
}

impl Stub {
    /// The stub esptool uploads to `chip`; `None` only if the embedded
    /// image does not decode (a build defect, covered by this module's
    /// test).
    pub fn for_chip(chip: Chip) -> Option<Stub> {
        use base64ct::{Base64, Encoding};
        let parsed: StubJson = serde_json::from_str(json(chip)).ok()?;
        let text = Base64::decode_vec(&parsed.text).ok()?;
        let data = match (parsed.data, parsed.data_start) {
            (Some(d), Some(start)) => Some((start, Base64::decode_vec(&d).ok()?)),
            _ => None,
        };
        Some(Stub {
            entry: parsed.entry,
            text: (parsed.text_start, text),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chip_has_a_decodable_stub() {
        for chip in Chip::ALL {
            let stub = Stub::for_chip(chip).unwrap_or_else(|| panic!("{chip}"));
            assert!(!stub.text.1.is_empty(), "{chip}");
            assert!(stub.entry >= stub.text.0, "{chip}");
        }
    }
}
