//! What a board prints on UART0 when it boots from flash: the ROM's
//! banner and reset line, then the MCUboot port's log lines
//! (`[<chip>] [INF] …` as `boot/espressif` logs them), built from the
//! report of one power-on through the existing chip code
//! ([`espboot_sim::chip::boot::power_on`]).

use esp_image::Chip;
use espboot_sim::chip::boot::ChipBootReport;

/// ROM lines before the second stage runs: banner, reset cause and boot
/// mode (strapping: SPI flash boot).
pub fn rom_lines(chip: Chip) -> Vec<String> {
    vec![
        chip.rom_banner().to_owned(),
        "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)".to_owned(),
    ]
}

/// The MCUboot port's log prefix of `level` (`INF`, `ERR`) on `chip`.
fn prefix(chip: Chip, level: &str) -> String {
    format!("[{}] [{level}]", chip.name())
}

/// The whole console text of a boot: ROM lines, then one MCUboot line per
/// stage of `report`, a failed boot's error as one error line (not also in
/// the summary). Lines end in `\r\n`
/// as the port's console does.
pub fn boot_text(chip: Chip, report: &ChipBootReport) -> String {
    let mut lines = rom_lines(chip);
    let inf = prefix(chip, "INF");
    lines.push(format!(
        "{inf} *** Booting MCUboot (espboot virtual chip) ***"
    ));
    // `terminal_lines` leaves the failure out of the summary line, so it is
    // printed once, as the error line.
    let (report_lines, error) = report.terminal_lines();
    for line in report_lines {
        lines.push(format!("{inf} {line}"));
    }
    if let Some(error) = error {
        lines.push(format!("{} {error}", prefix(chip, "ERR")));
    }
    join(&lines)
}

/// The console text of a boot that enters MCUboot's serial recovery.
pub fn recovery_text(chip: Chip, port: &str) -> String {
    let mut lines = rom_lines(chip);
    let inf = prefix(chip, "INF");
    lines.push(format!(
        "{inf} *** Booting MCUboot (espboot virtual chip) ***"
    ));
    lines.push(format!(
        "{inf} Serial recovery: detect pin held, waiting for SMP on {port}"
    ));
    join(&lines)
}

fn join(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}
