//! `write-flash ADDRESS FILE [ADDRESS FILE …]`: esptool 5.6.0's
//! `write_flash` (`et:cmds.py:1311-1960`): the safety checks against the
//! chip's eFuses, `--encrypt`/`--encrypt-files`, the flash size set and
//! checked, a bootloader's header rewritten for `--flash-mode/-freq/-size`
//! (`esp_image::merge::update_image_flash_params`), then each file
//! compressed unless `--no-compress` and checked by MD5 unless encrypted.

use anyhow::{bail, Context};
use esp_efuse::backend::Port;
use esp_efuse::{Efuses, Field};
use esp_image::merge::{update_image_flash_params, FlashParams};
use esp_image::Chip;
use esp_serial_client::flash::WriteEvent;
use esp_serial_client::wire::Deflation;
use esp_serial_client::{Client, WriteOptions};

use super::connect::Session;
use super::merge_bin::{keep_or, print_merge_events, size_bytes, FlashModeArg};
use super::progress::Progress;

/// esptool's `--flash-size` choices for `write-flash` (`detect` and `keep`
/// first; `add_spi_flash_options(allow_keep=True, auto_detect=True)`).
const FLASH_SIZE_CHOICES: [&str; 14] = [
    "detect", "keep", "256KB", "512KB", "1MB", "2MB", "2MB-c1", "4MB", "4MB-c1", "8MB", "16MB",
    "32MB", "64MB", "128MB",
];

/// The size esptool assumes when `detect` finds no known flash id.
const FALLBACK_FLASH_SIZE: &str = "4MB";

/// Flash sizes above this need 32-bit addresses, which only some stubs
/// have (`FLASH_32BIT_ADDR_SUPPORTED`).
const SIZE_24BIT_LIMIT: u64 = 16 * 1024 * 1024;

/// Arguments of `write-flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Erase the whole flash first.
    #[arg(short = 'e', long)]
    erase_all: bool,
    /// Send the data uncompressed (FLASH_BEGIN/FLASH_DATA).
    #[arg(short = 'u', long, conflicts_with = "compress")]
    no_compress: bool,
    /// Compress (the default with the stub).
    #[arg(short = 'z', long)]
    compress: bool,
    /// Accepted for esptool compatibility: 5.6.0 always verifies.
    #[arg(long, hide = true)]
    verify: bool,
    /// Have the chip encrypt every file with its flash-encryption key.
    #[arg(long)]
    encrypt: bool,
    /// ADDRESS FILE pairs to write encrypted (the positional ones stay
    /// plain).
    #[arg(long, value_name = "ADDRESS FILE", num_args = 2..)]
    encrypt_files: Option<Vec<String>>,
    /// Write encrypted even when the eFuses say it cannot work.
    #[arg(long)]
    ignore_flash_enc_efuse: bool,
    /// Skip the safety and image checks.
    #[arg(long)]
    force: bool,
    /// SPI flash mode for a bootloader at the chip's bootloader offset.
    #[arg(long, value_enum, env = "ESPTOOL_FM", default_value = "keep")]
    flash_mode: FlashModeArg,
    /// SPI flash frequency for that bootloader.
    #[arg(long, env = "ESPTOOL_FF", default_value = "keep",
          value_parser = super::merge_bin::FLASH_FREQ_CHOICES)]
    flash_freq: String,
    /// SPI flash size: set on the chip, written into that bootloader
    /// (`detect`: the flash's own size; `keep`: leave the header).
    #[arg(long, env = "ESPTOOL_FS", default_value = "keep", value_parser = FLASH_SIZE_CHOICES)]
    flash_size: String,
    /// ADDRESS FILE pairs.
    #[arg(value_name = "ADDRESS FILE", num_args = 2.., required = true)]
    pairs: Vec<String>,
}

/// One file to write.
#[derive(Debug)]
pub struct FileArg {
    pub address: u32,
    pub name: String,
    pub data: Vec<u8>,
    /// The compression of `data`, started when the file was read.
    pub deflation: Option<Deflation>,
}

/// The files of a `write-flash`, read before connecting (esptool reads
/// them while parsing its command line).
#[derive(Debug)]
pub struct Files {
    plain: Vec<FileArg>,
    encrypted: Option<Vec<FileArg>>,
}

/// The pairs as files (an Intel HEX file as its runs), sorted by address,
/// overlaps refused as esptool's `AddrFilenamePairType` does (a usage
/// error of `command`'s parameter `param`).
pub fn load_pairs(
    command: &'static str,
    param: &'static str,
    pairs: &[String],
) -> anyhow::Result<Vec<FileArg>> {
    if !pairs.len().is_multiple_of(2) {
        bail!("Must be pairs of an address and the binary filename to write there");
    }
    let mut out = Vec::new();
    for pair in pairs.chunks_exact(2) {
        let [addr, name] = pair else { continue };
        let address = super::parse_address(addr).map_err(anyhow::Error::msg)?;
        let data = std::fs::read(name).with_context(|| format!("cannot read {name}"))?;
        // an Intel HEX file is its runs, each at its own address
        for (at, data) in esp_image::merge::split_hex_input(data, Some(address))? {
            out.push(FileArg {
                address: at.unwrap_or(address),
                name: name.clone(),
                data,
                deflation: None,
            });
        }
    }
    out.sort_by_key(|f| f.address);
    let mut end = 0u64;
    for f in &out {
        let sector_start = u64::from(f.address & !0xFFF);
        if sector_start < end {
            return Err(
                super::BadArgument::overlap(command, param, u64::from(f.address), &f.name).into(),
            );
        }
        end = u64::from(f.address) + f.data.len() as u64;
    }
    Ok(out)
}

/// Reads the files and refuses `--encrypt` with `--encrypt-files`
/// (`write_flash_cli`), before any connection. When the write will likely
/// be compressed (the stub's default, or `--compress`), starts compressing
/// each file (padded to 4 bytes, as most writes send it), so that the
/// compression runs while the client connects and uploads the stub.
pub fn load(args: &Args, no_stub: bool) -> anyhow::Result<Files> {
    let mut plain = load_pairs("write-flash", super::PAIRS, &args.pairs)?;
    let mut encrypted = args
        .encrypt_files
        .as_deref()
        .map(|pairs| load_pairs("write-flash", "--encrypt-files", pairs))
        .transpose()?;
    if args.encrypt && encrypted.as_ref().is_some_and(|e| !e.is_empty()) {
        bail!("Options --encrypt and --encrypt-files must not be specified at the same time.");
    }
    if !args.no_compress && (args.compress || !no_stub) {
        for file in plain.iter_mut().chain(encrypted.iter_mut().flatten()) {
            let mut image = file.data.clone();
            image.resize(image.len().next_multiple_of(4), 0xFF);
            file.deflation = Some(Deflation::start(image));
        }
    }
    Ok(Files { plain, encrypted })
}

/// What esptool reads from the chip before writing.
struct ChipState {
    chip: Chip,
    stub: bool,
    secure_download: bool,
    /// `None` in Secure Download Mode (no register reads there).
    efuses: Option<Efuses>,
}

impl ChipState {
    fn read(client: &mut Client) -> anyhow::Result<ChipState> {
        let Some(chip) = client.chip() else {
            bail!("{}: the chip is not detected", client.port_name());
        };
        let secure_download = client.secure_download_mode()?;
        let efuses = if secure_download {
            None
        } else {
            Some(
                Port::new(&mut *client)
                    .load_blocks(chip, &Efuses::flash_write_check_blocks(chip))?,
            )
        };
        Ok(ChipState {
            chip,
            stub: client.is_stub(),
            secure_download,
            efuses,
        })
    }

    fn field(&self, field: Field) -> u64 {
        self.efuses
            .as_ref()
            .and_then(|e| e.raw(field).ok())
            .unwrap_or(0)
    }
}

/// `_validate_image_compatibility` (`et:cmds.py:1229-1308`): an image for
/// another chip or chip revision is refused at the bootloader offset and
/// noted elsewhere; what does not parse as an image is not looked at.
fn check_images(state: &ChipState, files: &[FileArg]) -> anyhow::Result<()> {
    let chip = state.chip;
    let revision = state.efuses.as_ref().map_or(0, Efuses::chip_revision);
    for f in files {
        let Some(problem) = image_incompatibility(chip, revision, f) else {
            continue;
        };
        if f.address == chip.bootloader_offset() {
            bail!("{problem}. Use --force to flash anyway.");
        }
        outln!("NOTE: {problem}");
    }
    Ok(())
}

/// `_get_image_incompatibility`: why `file` cannot run on `chip` at
/// `revision` (major * 100 + minor), if it is an image at all.
fn image_incompatibility(chip: Chip, revision: u32, file: &FileArg) -> Option<String> {
    let header = file.data.get(..24)?;
    if header[0] != esp_image::esp_image::ESP_IMAGE_MAGIC {
        return None;
    }
    let image_chip_id = u16::from_le_bytes([header[12], header[13]]);
    // esptool loads it as an image of the connected chip's kind and skips
    // what does not parse
    let as_chip = Chip::from_image_chip_id(image_chip_id).unwrap_or(chip);
    let info = esp_image::image_info::ImageInfo::read(&file.data, as_chip).ok()?;
    let name = &file.name;
    if image_chip_id != chip.image_chip_id() {
        return Some(format!("'{name}' is not an {} image", chip.esptool_name()));
    }
    let (min_full, max_full) = (u32::from(info.min_rev_full), u32::from(info.max_rev_full));
    let use_full_fields = match max_full {
        0 => false,
        0xFFFF => !(min_full == 0 && info.min_rev != 0),
        _ => true,
    };
    let v = |r: u32| format!("v{}.{}", r / 100, r % 100);
    if use_full_fields {
        if (min_full..=max_full).contains(&revision) {
            return None;
        }
        let requirement = if max_full == 0xFFFF {
            format!("{} or higher", v(min_full))
        } else if min_full == 0 {
            format!("{} or lower", v(max_full))
        } else {
            format!("in range {} - {}", v(min_full), v(max_full))
        };
        return Some(format!(
            "'{name}' requires chip revision {requirement} (this chip is revision {})",
            v(revision)
        ));
    }
    // the legacy byte is the minor revision on the ESP32-C3, the major
    // one elsewhere
    let rev = if chip == Chip::Esp32c3 {
        revision % 100
    } else {
        revision / 100
    };
    (rev < u32::from(info.min_rev)).then(|| {
        format!(
            "'{name}' requires chip revision {} or higher (this chip is revision {rev})",
            info.min_rev
        )
    })
}

/// The checks esptool makes before an encrypted write (`et:cmds.py:1471-1530`).
fn check_encrypted(state: &ChipState, args: &Args, files: &Files) -> anyhow::Result<()> {
    let chip = state.chip;
    if chip == Chip::Esp32 && !state.stub {
        bail!(
            "ESP32 ROM bootloader does not support encrypted writes. Encrypted writing is only \
             supported by the flasher stub. Do not use --no-stub when writing encrypted data."
        );
    }
    let mut can_write = true;
    if let Some(efuses) = &state.efuses {
        if !efuses.manual_encrypt_allowed() {
            bail!(
                "This chip has encrypt functionality in UART download mode disabled. This is \
                 the Flash Encryption configuration for Production mode instead of Development \
                 mode."
            );
        }
        if let Some(config) = efuses.flash_crypt_config_for_write() {
            if config != 0xF {
                outln!("Unexpected FLASH_CRYPT_CONFIG value: {config:#x}");
                can_write = false;
            }
        }
        if !efuses.flash_encryption_key_burned() {
            outln!("Flash encryption key is not programmed.");
            can_write = false;
        }
    }
    // esptool checks the alignment of the positional files here, also
    // when only `--encrypt-files` is given (`files_to_encrypt`)
    let align = chip.encrypted_write_align();
    for f in &files.plain {
        if !f.address.is_multiple_of(align) {
            eprintln!(
                "WARNING: '{}' (address {:#x}) is not {align} byte aligned, can't flash encrypted.",
                f.name, f.address
            );
            can_write = false;
        }
    }
    if !can_write && !args.ignore_flash_enc_efuse {
        bail!(
            "Can't perform encrypted flash write, consult Flash Encryption documentation for \
             more information."
        );
    }
    Ok(())
}

/// The checks esptool makes before a plain write on a chip whose flash is
/// encrypted (`et:cmds.py:1531-1562`).
fn check_plain(client: &mut Client, state: &ChipState) -> anyhow::Result<()> {
    if state.chip != Chip::Esp32
        && state.secure_download
        && client.security_info_decoded()?.flash_crypt_cnt.count_ones() % 2 != 0
    {
        bail!(
            "Detected flash encryption and secure download mode enabled.\nFlashing plaintext \
             binary may brick your device! Use the force argument to override the warning."
        );
    }
    if let Some(efuses) = &state.efuses {
        if !efuses.manual_encrypt_allowed() && efuses.flash_encryption_enabled() {
            bail!(
                "Detected flash encryption enabled and download manual encrypt disabled.\nData \
                 must be encrypted appropriately before flashing.\nFlashing plaintext data may \
                 brick your device! Use the force argument to override the warning."
            );
        }
    }
    Ok(())
}

/// `_set_flash_parameters`: the flash size to set on the chip (SPI_SET_PARAMS)
/// and the name to write into a bootloader (`None`: keep). Returns that
/// name and the flash's detected size name.
fn set_flash_size(
    client: &mut Client,
    state: &ChipState,
    flash_size: &str,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    outln!("Configuring flash size...");
    let detected = if state.secure_download {
        None
    } else {
        super::flash_id::detected_flash_size(client.flash_jedec_id()? >> 16)
    };
    let (to_set, header) = match flash_size {
        "detect" => {
            if state.secure_download {
                bail!(
                    "Detecting flash size is not supported in secure download mode. Need to \
                     manually specify flash size."
                );
            }
            let size = match &detected {
                Some(size) => {
                    outln!("Auto-detected flash size: {size}");
                    size.clone()
                }
                None => {
                    eprintln!(
                        "WARNING: Could not auto-detect flash size, defaulting to \
                         {FALLBACK_FLASH_SIZE}."
                    );
                    FALLBACK_FLASH_SIZE.to_owned()
                }
            };
            (Some(size.clone()), Some(size))
        }
        "keep" => {
            if !state.stub {
                outln!("NOTE: In case of failure, please set a specific flash size.");
            }
            (detected.clone(), None)
        }
        other => (Some(other.to_owned()), Some(other.to_owned())),
    };
    if let Some(size) = &to_set {
        let bytes = size_bytes(size).unwrap_or(0);
        client.spi_set_params(u32::try_from(bytes).unwrap_or(u32::MAX))?;
        let addr32 = state.stub && state.chip == Chip::Esp32s3;
        if !addr32 && bytes > SIZE_24BIT_LIMIT {
            outln!(
                "NOTE: Flash sizes larger than 16MB are not fully supported. Change the flash \
                 size argument in case of a failure."
            );
        }
    }
    Ok((header, detected))
}

/// Refuses a file that runs past the flash (the set size, or the detected
/// one if smaller).
fn check_fit(
    files: &[FileArg],
    header_size: Option<&str>,
    detected: Option<&str>,
    secure_download: bool,
) -> anyhow::Result<()> {
    let set = header_size.and_then(size_bytes);
    let flash_end = if secure_download {
        set
    } else {
        let real = detected.and_then(size_bytes);
        if let (Some(s), Some(r), Some(name), Some(real_name)) = (set, real, header_size, detected)
        {
            if s > r {
                eprintln!(
                    "WARNING: Set flash_size {name} is larger than the available flash size of \
                     {real_name}."
                );
            }
        }
        match (set, real) {
            (Some(s), Some(r)) => Some(s.min(r)),
            (_, r) => r,
        }
    };
    let Some(flash_end) = flash_end else {
        return Ok(());
    };
    for f in files {
        if u64::from(f.address) + f.data.len() as u64 > flash_end {
            bail!(
                "File '{}' (length {}) at offset {:#010x} will not fit in {flash_end} bytes of \
                 flash. Change the flash_size argument or flashing address.",
                f.name,
                f.data.len(),
                f.address
            );
        }
    }
    Ok(())
}

pub fn run(session: &mut Session, args: &Args, files: Files) -> anyhow::Result<()> {
    let client = &mut session.client;
    outln!();
    client.spi_attach()?;
    let state = ChipState::read(client)?;
    let chip = state.chip;
    let encrypting = args.encrypt || files.encrypted.is_some();
    if !args.force && !state.secure_download {
        // Secure Boot V1 keeps its key in eFuse: the bootloader stays
        if state.field(Field::AbsDone0) != 0 && files.plain.iter().any(|f| f.address < 0x8000) {
            bail!(
                "Secure Boot V1 detected, writing to flash regions < 0x8000 is disabled to \
                 protect the bootloader. Use the force argument to override, please use with \
                 caution, otherwise it may brick your device!"
            );
        }
        check_images(&state, &files.plain)?;
    }
    if encrypting {
        check_encrypted(&state, args, &files)?;
    } else if !args.force {
        check_plain(client, &state)?;
    }
    let (header_size, detected) = set_flash_size(client, &state, &args.flash_size)?;
    check_fit(
        &files.plain,
        header_size.as_deref(),
        detected.as_deref(),
        state.secure_download,
    )?;
    if args.erase_all {
        super::erase::erase_all(client)?;
    }
    let params = FlashParams {
        mode: args.flash_mode.mode(),
        freq: keep_or(&args.flash_freq),
        size: header_size,
    };
    let secure_boot = state
        .efuses
        .as_ref()
        .is_some_and(Efuses::secure_boot_enabled_any);
    // plain and encrypted files in address order (a stable sort, as
    // esptool's `sorted`)
    let mut all: Vec<(FileArg, bool)> =
        files.plain.into_iter().map(|f| (f, args.encrypt)).collect();
    all.extend(files.encrypted.into_iter().flatten().map(|f| (f, true)));
    all.sort_by_key(|(f, _)| f.address);
    let last_encrypted = all.last().is_some_and(|(_, e)| *e);
    let several = all.len() > 1;
    let mut compress = !args.no_compress && (args.compress || state.stub);
    for (file, encrypted) in &mut all {
        let (address, name) = (file.address, &file.name);
        if several {
            outln!();
            outln!("Writing '{name}' at {address:#010x}...");
        }
        if file.data.is_empty() {
            eprintln!("WARNING: '{name}' is empty.");
            continue;
        }
        let align = if *encrypted {
            chip.encrypted_write_align() as usize
        } else {
            4
        };
        let mut image = file.data.clone();
        image.resize(image.len().next_multiple_of(align), 0xFF);
        if !state.secure_download && !secure_boot {
            let mut events = Vec::new();
            image = update_image_flash_params(chip, address, &params, &image, &mut events)?;
            print_merge_events(chip, &events, &[]);
        } else {
            eprintln!("WARNING: Security features enabled, so not changing any flash settings.");
        }
        let options = WriteOptions::new(compress)
            .encrypted(*encrypted)
            .ending_as_uncompressed(last_encrypted);
        let mut compression_useless = false;
        write_one(
            client,
            (address, name),
            &image,
            file.deflation.take(),
            options,
            args.erase_all,
            &mut || {
                compression_useless = true;
            },
        )?;
        // esptool stops compressing for the rest of the command
        if compression_useless {
            compress = false;
        }
    }
    Ok(())
}

/// One file through the client, with esptool's lines.
fn write_one(
    client: &mut Client,
    (address, name): (u32, &str),
    image: &[u8],
    deflation: Option<Deflation>,
    options: WriteOptions,
    erase_all: bool,
    on_useless_compression: &mut dyn FnMut(),
) -> anyhow::Result<()> {
    let progress = Progress::new(image.len());
    let mut on = |event: WriteEvent| match event {
        WriteEvent::WillErase {
            start,
            end,
            bytes_before,
        } if !erase_all => {
            if bytes_before != 0 {
                outln!(
                    "NOTE: Flash address {address:#010x} is not aligned to a 0x1000 byte flash sector. {bytes_before:#x} bytes before this address will be erased."
                );
            }
            outln!("Flash will be erased from {start:#010x} to {end:#010x}...");
        }
        WriteEvent::CompressionUseless {
            compressed,
            uncompressed,
        } => {
            on_useless_compression();
            outln!(
                "NOTE: Cannot compress file '{name}' more than the original size, will flash uncompressed. Compressed size {compressed} bytes >= uncompressed {uncompressed} bytes."
            )
        }
        WriteEvent::RomErasing => outln!("Erasing flash..."),
        WriteEvent::Compressed { size, compressed } => {
            outln!("Compressed {size} bytes to {compressed}...")
        }
        WriteEvent::RomErased { seconds } => {
            outln!("Took {seconds:.2}s to erase flash block.")
        }
        WriteEvent::Progress { sent, at, .. } => {
            progress.update(sent, format!("Writing at {at:#010x}"))
        }
        WriteEvent::Wrote(report) => {
            progress.finish();
            let t = report.seconds;
            let speed = |n: usize| {
                if t > 0.0 {
                    format!(" ({:.1} kbit/s)", n as f64 / t * 8.0 / 1000.0)
                } else {
                    String::new()
                }
            };
            if report.compressed {
                outln!(
                    "Wrote {} bytes ({} compressed) at {:#010x} in {t:.1} seconds{}.",
                    report.written,
                    report.sent,
                    report.address,
                    speed(report.written)
                );
            } else {
                outln!(
                    "Wrote {} bytes at {:#010x} in {t:.1} seconds{}.",
                    report.written,
                    report.address,
                    speed(report.written)
                );
            }
        }
        WriteEvent::Verifying => outln!("Verifying written data..."),
        WriteEvent::Verified => outln!("Hash of data verified."),
        WriteEvent::CannotVerify => {
            outln!("Cannot verify written data if encrypted or in secure download mode.")
        }
        _ => {}
    };
    client.write_flash_deflated(address, image, options, deflation, &mut on)?;
    Ok(())
}
