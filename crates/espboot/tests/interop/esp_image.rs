//! ESP images written by `esp-image` are accepted by `esptool image-info`,
#![allow(clippy::unwrap_used)]
//! and esptool's verdicts on corrupted copies match ours.

use esp_image::esp_image::{EspImage, EspImageBuilder, Segment};
use esp_image::Chip;

fn sample(chip: Chip) -> Vec<u8> {
    let map = chip.memory_map(false);
    // Odd lengths exercise the 4-byte segment padding; varied bytes make the
    // checksum non-trivial.
    let dram: Vec<u8> = (0..37u32).map(|i| (i * 7 + 3) as u8).collect();
    let iram: Vec<u8> = (0..301u32).map(|i| (i * 13 + 1) as u8).collect();
    EspImageBuilder::new(chip, map.iram.start + 0x100)
        .segment(Segment::new(map.dram.start, dram))
        .segment(Segment::new(map.iram.start, iram))
        .build()
}

#[test]
fn esptool_image_info_accepts_our_images_for_every_chip() {
    let dir = tempfile::tempdir().unwrap();
    for chip in Chip::ALL {
        let bytes = sample(chip);
        let path = dir.path().join(format!("{chip}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        let mut esptool = reference_tool!("esptool");
        let out = crate::support::run_ok(
            esptool
                .args(["--chip", chip.name(), "image-info"])
                .arg(&path),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let ours = EspImage::parse(&bytes, chip).unwrap();
        assert!(
            text.contains(&format!(
                "Checksum: {:#04x} (valid)",
                bytes[ours.checksum_offset]
            )),
            "{chip}:\n{text}"
        );
        assert!(
            text.contains("Validation hash:") && text.contains("(valid)"),
            "{chip}:\n{text}"
        );
        assert!(
            text.contains(&format!("Entry point: {:#010x}", ours.entry)),
            "{chip}:\n{text}"
        );

        // A flipped segment byte: esptool reports the checksum invalid, we refuse.
        let mut bad = bytes.clone();
        bad[24 + 8 + 5] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let mut esptool = reference_tool!("esptool");
        let out = esptool
            .args(["--chip", chip.name(), "image-info"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("(invalid"),
            "{chip}: esptool accepted a corrupted image:\n{text}"
        );
        assert!(EspImage::parse(&bad, chip).is_err());
    }
}
