//! `espboot flash image-info FILE`: esptool 5.6.0's `image-info` text for
//! an ESP image (`esptool/cmds.py` `image_info`, `_print_image_info`),
//! line for line; an Intel HEX file with several runs is described run by
//! run as esptool does for merged images.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use esp_image::image_info::{self, Description, ImageInfo, ImageInfoError};
use esp_image::merge::split_hex_input;
use esp_image::Chip;

/// Arguments of `espboot flash image-info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image (binary or Intel HEX).
    filename: PathBuf,
}

/// esptool's `FLASH_MODES` names for header byte 2.
const FLASH_MODE_NAMES: [&str; 4] = ["QIO", "QOUT", "DIO", "DOUT"];

/// Prints `title` underlined with `=` as esptool does.
fn heading(title: &str) {
    outln!("{title}");
    outln!("{}", "=".repeat(title.chars().count()));
}

/// `2**log2 // 1024` in decimal, for any byte value (Python integers are
/// unbounded; `mmu_page_size` is a raw byte).
fn kib_of_power_of_two(log2: u8) -> String {
    if log2 < 10 {
        return "0".to_owned();
    }
    // Decimal digits, least significant first, doubled (log2 - 10) times.
    let mut digits = vec![1u8];
    for _ in 0..(log2 - 10) {
        let mut carry = 0;
        for d in &mut digits {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// Prints everything after the size and chip lines (`_print_image_info`).
fn print_info(info: &ImageInfo) -> Result<(), ImageInfoError> {
    let chip = info.chip;
    let name = chip.display_name();
    outln!();
    heading(&format!("{name} Image Header"));
    outln!("Image version: 1");
    if info.entry == 0 {
        outln!("Entry point not set");
    } else {
        outln!("Entry point: {:#8x}", info.entry);
    }
    outln!("Segments: {}", info.segments.len());
    let size_bits = info.flash_size_freq & 0xF0;
    match esp_image::esp_image::FlashSize::from_nibble(size_bits >> 4) {
        Some(size) => outln!("Flash size: {}", size.name()),
        None => eprintln!("WARNING: Invalid flash size ({size_bits:#x})"),
    }
    let freq_bits = info.flash_size_freq & 0x0F;
    match chip
        .flash_frequencies()
        .iter()
        .find(|(_, c)| *c == freq_bits)
    {
        Some((freq, _)) => outln!("Flash freq: {freq}"),
        None => eprintln!("WARNING: Invalid flash frequency ({freq_bits:#x})"),
    }
    match FLASH_MODE_NAMES.get(usize::from(info.flash_mode)) {
        Some(mode) => outln!("Flash mode: {mode}"),
        None => eprintln!("WARNING: Invalid flash mode ({})", info.flash_mode),
    }
    outln!();
    heading(&format!("{name} Extended Image Header"));
    if info.wp_pin == esp_image::esp_image::WP_PIN_DISABLED {
        outln!("WP pin: {:#x} (disabled)", info.wp_pin);
    } else {
        outln!("WP pin: {:#x}", info.wp_pin);
    }
    let [clk, q, d, cs, hd, wp] = info.drive;
    outln!(
        "Flash pins drive settings: clk_drv: {clk:#x}, q_drv: {q:#x}, d_drv: {d:#x}, \
         cs0_drv: {cs:#x}, hd_drv: {hd:#x}, wp_drv: {wp:#x}"
    );
    match image_info::esptool_chip_name(info.chip_id) {
        Some(chip_name) => outln!("Chip ID: {} ({chip_name})", info.chip_id),
        None => outln!("Chip ID: {} (Unknown ID)", info.chip_id),
    }
    outln!(
        "Minimal chip revision: v{}.{}, (legacy min_rev = {})",
        info.min_rev_full / 100,
        info.min_rev_full % 100,
        info.min_rev
    );
    outln!(
        "Maximal chip revision: v{}.{}",
        info.max_rev_full / 100,
        info.max_rev_full % 100
    );
    outln!();
    heading("Segments Information");
    outln!(
        "{:>7}  {:>7}  {:>10}  {:>10}  {:10}",
        "Segment",
        "Length",
        "Load addr",
        "File offs",
        "Memory types"
    );
    outln!(
        "{}  {}  {}  {}  {}",
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(12)
    );
    for (idx, seg) in info.segments.iter().enumerate() {
        outln!(
            "{idx:7}  {:#07x}  {:#010x}  {:#010x}  {}",
            seg.data.len(),
            seg.addr,
            seg.file_offset,
            seg.memory_types(chip).join(", ")
        );
    }
    outln!();
    heading(&format!("{name} Image Footer"));
    if info.stored_checksum == info.calculated_checksum {
        outln!("Checksum: {:#04x} (valid)", info.stored_checksum);
    } else {
        outln!(
            "Checksum: {:#04x} (invalid - calculated {:#04x})",
            info.stored_checksum,
            info.calculated_checksum
        );
    }
    if let Some(digest) = &info.digest {
        outln!(
            "Validation hash: {} ({})",
            hex::encode(digest.calculated),
            if digest.is_valid() {
                "valid"
            } else {
                "invalid"
            }
        );
    }
    match info.description()? {
        Some(Description::App(app)) => {
            outln!();
            heading("Application Information");
            outln!("Project name: {}", app.project_name);
            outln!("App version: {}", app.version);
            outln!("Compile time: {} {}", app.date, app.time);
            outln!("ELF file SHA256: {}", hex::encode(app.app_elf_sha256));
            outln!("ESP-IDF: {}", app.idf_ver);
            outln!(
                "Minimal eFuse block revision: {}.{}",
                app.min_efuse_blk_rev_full / 100,
                app.min_efuse_blk_rev_full % 100
            );
            outln!(
                "Maximal eFuse block revision: {}.{}",
                app.max_efuse_blk_rev_full / 100,
                app.max_efuse_blk_rev_full % 100
            );
            if app.mmu_page_size_log2 != 0 {
                outln!(
                    "MMU page size: {} KB",
                    kib_of_power_of_two(app.mmu_page_size_log2)
                );
            }
            outln!("Secure version: {}", app.secure_version);
        }
        Some(Description::Bootloader(boot)) => {
            outln!();
            heading("Bootloader Information");
            outln!("Bootloader version: {}", boot.version);
            outln!("ESP-IDF: {}", boot.idf_ver);
            outln!("Compile time: {}", boot.date_time);
        }
        _ => {}
    }
    Ok(())
}

/// The chip an image is read as: `--chip`, else the header's (after the
/// magic check esptool makes either way).
fn chip_for(data: &[u8], chip: Option<Chip>) -> Result<Chip, ImageInfoError> {
    image_info::check_magic(data)?;
    match chip {
        Some(chip) => Ok(chip),
        None => image_info::detect_chip(data),
    }
}

/// Runs `image-info`; `chip` is the group's `--chip`.
pub fn run(chip: Option<Chip>, args: &Args) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.filename)
        .with_context(|| format!("cannot read {}", args.filename.display()))?;
    let files = split_hex_input(bytes, None)?;
    if let [(_, data)] = files.as_slice() {
        let detected = chip_for(data, chip)?;
        outln!("Image size: {} bytes", data.len());
        if chip.is_none() {
            outln!("Detected image type: {}", detected.display_name());
        }
        print_info(&ImageInfo::read(data, detected)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Merged binary image detected. Processing each file individually.");
    let mut chip = chip;
    let count = files.len();
    for (i, (addr, data)) in files.iter().enumerate() {
        let offset = addr.map_or_else(|| "unknown".to_owned(), |a| format!("{a:#x}"));
        let line = format!(
            "Processing file {}/{count}, offset: {offset}, size: {} bytes",
            i + 1,
            data.len()
        );
        outln!();
        outln!("{}", "=".repeat(line.len()));
        outln!("{line}");
        outln!("{}", "=".repeat(line.len()));
        let detected = match chip_for(data, chip) {
            Ok(detected) => detected,
            Err(err) => {
                eprintln!("ERROR: Error processing file {}/{count}: {err}", i + 1);
                eprintln!("ERROR: Probably not a valid firmware image (e.g. partition table).");
                continue;
            }
        };
        if i == 0 && chip.is_none() {
            outln!("Detected image type: {}", detected.display_name());
            chip = Some(detected);
        }
        print_info(&ImageInfo::read(data, detected)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::kib_of_power_of_two;

    #[test]
    fn page_sizes_as_python_prints_them() {
        assert_eq!(kib_of_power_of_two(16), "64");
        assert_eq!(kib_of_power_of_two(3), "0");
        assert_eq!(kib_of_power_of_two(74), "18446744073709551616");
    }
}
