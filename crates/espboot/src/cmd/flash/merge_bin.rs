//! `espboot flash merge-bin -o OUT ADDR FILE…`: esptool 5.6.0's
//! `merge-bin` (raw, Intel HEX, UF2), output byte for byte and its lines
//! as esptool prints them; the merge itself is `esp_image::merge`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use esp_image::esp_image::FlashMode;
use esp_image::merge::{
    self, split_hex_input, FlashParams, MergeEvent, MergeFormat, MergeInput, MergeOptions,
};
use esp_image::Chip;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Raw,
    Uf2,
    Hex,
}

/// `--flash-mode` (esptool's choices, `keep` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum FlashModeArg {
    Keep,
    Qio,
    Qout,
    Dio,
    Dout,
}

impl FlashModeArg {
    /// The mode to write, `None` for `keep`.
    pub(super) fn mode(self) -> Option<FlashMode> {
        match self {
            FlashModeArg::Keep => None,
            FlashModeArg::Qio => Some(FlashMode::Qio),
            FlashModeArg::Qout => Some(FlashMode::Qout),
            FlashModeArg::Dio => Some(FlashMode::Dio),
            FlashModeArg::Dout => Some(FlashMode::Dout),
        }
    }
}

/// What esptool prints while it merges, in its order: `merge-bin`'s
/// `Adding` lines (UF2, naming the input from `names`) and what
/// `_update_image_flash_params` prints (`merge-bin` and `write-flash`
/// share it): the new header bytes, the SHA-256 fix-up, or why the file
/// was left alone.
pub(super) fn print_merge_events(chip: Chip, events: &[MergeEvent], names: &[&str]) {
    for event in events {
        match event {
            MergeEvent::Adding { input, addr } => outln!(
                "Adding '{}' at {addr:#x}...",
                names.get(*input).copied().unwrap_or_default()
            ),
            MergeEvent::FlashParamsSet(value) => {
                outln!("Flash parameters set to {value:#06x}.");
            }
            MergeEvent::ShaUpdated => outln!("SHA digest in image updated."),
            MergeEvent::NotAnImage { addr } => eprintln!(
                "WARNING: Image file at {addr:#x} doesn't look like an image file, so not \
                 changing any flash settings."
            ),
            MergeEvent::NotAValidImage { addr } => eprintln!(
                "WARNING: Image file at {addr:#x} is not a valid {} image, so not changing any \
                 flash settings.",
                chip.display_name()
            ),
            _ => {}
        }
    }
}

/// esptool's `--flash-freq` choices (`add_spi_flash_options`).
pub(super) const FLASH_FREQ_CHOICES: [&str; 14] = [
    "keep", "80m", "64m", "60m", "48m", "40m", "32m", "30m", "26m", "24m", "20m", "16m", "15m",
    "12m",
];

/// esptool's `--flash-size` choices with `keep` (ESP8266-only sizes too:
/// they fail as esptool's do when used).
const FLASH_SIZE_CHOICES: [&str; 13] = [
    "keep", "256KB", "512KB", "1MB", "2MB", "2MB-c1", "4MB", "4MB-c1", "8MB", "16MB", "32MB",
    "64MB", "128MB",
];

/// esptool's `--pad-to-size` choices.
const PAD_TO_SIZE_CHOICES: [&str; 10] = [
    "256KB", "512KB", "1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB",
];

/// Arguments of `espboot flash merge-bin`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and file pairs (`0x1000 bootloader.bin 0x10000 app.bin`); an
    /// Intel HEX file brings its own addresses.
    #[arg(value_name = "ADDRESS FILENAME", num_args = 1.., required = true)]
    addr_filename: Vec<String>,
    /// Output file.
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value = "raw")]
    format: FormatArg,
    /// UF2 only: data bytes of each 512-byte block (4-byte aligned);
    /// default the largest.
    #[arg(long, value_parser = parse_chunk_size)]
    chunk_size: Option<u64>,
    /// UF2 only: no MD5 part in the blocks.
    #[arg(long)]
    md5_disable: bool,
    /// Flash address the output will be written at.
    #[arg(short = 't', long, value_parser = py_int::parse_u32, default_value = "0")]
    target_offset: u32,
    /// Raw only: pad the output with 0xFF to this flash size.
    #[arg(long, alias = "fill-flash-size", value_parser = PAD_TO_SIZE_CHOICES)]
    pad_to_size: Option<String>,
    /// SPI flash mode for a bootloader at the chip's bootloader offset.
    #[arg(
        long,
        alias = "flash_mode",
        value_enum,
        env = "ESPTOOL_FM",
        default_value = "keep"
    )]
    flash_mode: FlashModeArg,
    /// SPI flash frequency for that bootloader.
    #[arg(long, alias = "flash_freq", env = "ESPTOOL_FF", default_value = "keep", value_parser = FLASH_FREQ_CHOICES)]
    flash_freq: String,
    /// SPI flash size for that bootloader.
    #[arg(long, alias = "flash_size", env = "ESPTOOL_FS", default_value = "keep", value_parser = FLASH_SIZE_CHOICES)]
    flash_size: String,
}

/// esptool's `AutoChunkSizeType`: a number, 4-byte aligned.
fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let n = py_int::parse_u64(text).map_err(|e| e.to_string())?;
    if n & 3 != 0 {
        return Err("Chunk size should be a 4-byte aligned number.".to_owned());
    }
    Ok(n)
}

/// `flash_size_bytes` for esptool's size names (`4MB`, `256KB`).
pub(super) fn size_bytes(name: &str) -> Option<u64> {
    let (num, unit) = if let Some(n) = name.strip_suffix("MB") {
        (n, 1024 * 1024)
    } else {
        (name.strip_suffix("KB")?, 1024)
    };
    num.parse::<u64>().ok().map(|n| n * unit)
}

pub(super) fn keep_or(value: &str) -> Option<String> {
    (value != "keep").then(|| value.to_owned())
}

/// One input: the name esptool prints and its address and bytes.
struct Input {
    name: String,
    input: MergeInput,
}

/// Reads the address/file pairs as esptool's `AddrFilenamePairType` does.
fn read_inputs(pairs: &[String]) -> anyhow::Result<Vec<Input>> {
    if !pairs.len().is_multiple_of(2) {
        bail!("Must be pairs of an address and the binary filename to write there.");
    }
    let mut inputs = Vec::new();
    for pair in pairs.chunks(2) {
        let [addr, file] = pair else { continue };
        let Ok(addr) = py_int::parse_u32(addr) else {
            bail!("Address \"{addr}\" must be a number.");
        };
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
        for (at, data) in split_hex_input(bytes, Some(addr))? {
            inputs.push(Input {
                name: file.clone(),
                input: MergeInput::new(at.unwrap_or(addr), data),
            });
        }
    }
    Ok(inputs)
}

/// Runs `merge-bin`; `chip` is the group's `--chip`.
pub fn run(chip: Option<Chip>, args: &Args) -> anyhow::Result<ExitCode> {
    let inputs = read_inputs(&args.addr_filename)?;
    // click converts the pairs, and finds an overlap, before the command
    // asks for the chip
    let merge_inputs: Vec<MergeInput> = inputs.iter().map(|i| i.input.clone()).collect();
    if let Err(merge::MergeError::Overlap { input, addr }) = merge::check_overlap(&merge_inputs) {
        let name = inputs.get(input).map_or("", |i| i.name.as_str());
        return Err(
            super::BadArgument::overlap("merge-bin", super::PAIRS, u64::from(addr), name).into(),
        );
    }
    let Some(chip) = chip else {
        let names: Vec<&str> = Chip::ALL.iter().map(|c| c.name()).collect();
        bail!(
            "Specify the --chip argument (choose from {}).",
            names.join(", ")
        );
    };
    let format = match args.format {
        FormatArg::Raw => MergeFormat::Raw,
        FormatArg::Hex => MergeFormat::Hex,
        FormatArg::Uf2 => MergeFormat::Uf2,
    };
    let mode = args.flash_mode.mode();
    let mut options = MergeOptions::new(chip, format);
    options.flash_params = FlashParams {
        mode,
        freq: keep_or(&args.flash_freq),
        size: keep_or(&args.flash_size),
    };
    options.target_offset = args.target_offset;
    options.pad_to_size = args.pad_to_size.as_deref().and_then(size_bytes);
    options.chunk_size = args
        .chunk_size
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    options.md5_disable = args.md5_disable;
    let merge_inputs: Vec<MergeInput> = inputs.iter().map(|i| i.input.clone()).collect();
    match format {
        MergeFormat::Raw => outln!(
            "HINT: Consider using --format hex to avoid flashing unused 0xFF padding between \
             input regions."
        ),
        MergeFormat::Hex if inputs.len() == 1 => eprintln!(
            "WARNING: Only one input file specified, output may include additional padding if \
             input file was previously merged. Please refer to the documentation for more \
             information: https://docs.espressif.com/projects/esptool/en/latest/esptool/\
             basic-commands.html#hex-output-format"
        ),
        _ => {}
    }
    let merged = merge::merge(&merge_inputs, &options)?;
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    print_merge_events(chip, &merged.events, &names);
    crate::fsutil::write_atomic(&args.output, &merged.bytes, false)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let out = args.output.display();
    let size = merged.bytes.len();
    match format {
        MergeFormat::Uf2 => outln!(
            "Wrote {size:#x} bytes to file '{out}', ready to be flashed with any ESP USB Bridge."
        ),
        _ => outln!(
            "Wrote {size:#x} bytes to file '{out}', ready to flash to offset {:#x}.",
            args.target_offset
        ),
    }
    Ok(ExitCode::SUCCESS)
}
