//! `encrypt-flash-data` and `decrypt-flash-data`: flash encryption of a file
//! for a given flash address.

use super::*;
use crate::progress::{Progress, Unit};

/// `encrypt-flash-data` / `decrypt-flash-data`. `as_espsecure`: an
/// address outside the 4 GiB flash address space is taken as espsecure
/// takes it (any Python integer) instead of refused.
pub(super) fn flash_crypt(
    args: &CryptArgs,
    input: &Path,
    direction: Direction,
    as_espsecure: bool,
) -> anyhow::Result<ExitCode> {
    // espsecure checks the key file first: an output over it would lose the key
    check_not_same(&args.keyfile, &args.output)?;
    check_not_same(input, &args.output)?;
    let raw = Zeroizing::new(read_file(&args.keyfile, "--keyfile")?);
    let key = FlashEncryptionKey::from_bytes(&raw);
    // espsecure's order (`_load_hardware_key`, then the address, then the
    // FLASH_CRYPT_CONF warning) and its texts.
    let bits = raw.len() * 8;
    let keyfile = args.keyfile.display();
    if !matches!(raw.len(), 16 | 24 | 32 | 64) {
        return Err(fatal(
            format!("--keyfile {keyfile}: {bits} bits; flash encryption keys are 128, 192, 256 or 512 bits"),
            format!(
                "Key file contains wrong length ({} bytes), 16, 24, 32 or 64 expected.",
                raw.len()
            ),
        ));
    }
    if args.aes_xts && !matches!(raw.len(), 16 | 32 | 64) {
        return Err(fatal(
            format!("--keyfile {keyfile}: {bits} bits; XTS-AES (--aes-xts) takes 128-, 256- or 512-bit keys"),
            format!("AES_XTS supports only 128, 256, and 512-bit keys. Provided key is {bits} bits."),
        ));
    }
    if !args.aes_xts && !matches!(raw.len(), 24 | 32) {
        return Err(fatal(
            format!("--keyfile {keyfile}: {bits} bits; the ESP32 algorithm takes 192- or 256-bit keys (use --aes-xts for ESP32-S2/S3/C2/C3/C6/H2 and later)"),
            format!("ESP32 supports only 192 and 256-bit keys. Provided key is {bits} bits. Use --aes_xts for other chips."),
        ));
    }
    outln!(
        "{}",
        match raw.len() {
            16 => "Using 128-bit key (extended).",
            24 => "Using 192-bit key (extended).",
            32 => "Using 256-bit key.",
            _ => "Using 512-bit key.",
        }
    );
    if args.address.rem_euclid(16) != 0 {
        let address = py_repr::hex(args.address);
        return Err(fatal(
            format!("--address {address}: must be a multiple of 16"),
            format!("Starting flash address {address} must be a multiple of 16."),
        ));
    }
    let mut esp32 = None;
    let crypt: Box<dyn FlashCrypt> = if args.aes_xts {
        Box::new(
            XtsFlashCrypt::new(&key)
                .with_context(|| format!("--keyfile {}", args.keyfile.display()))?,
        )
    } else {
        // Only the low 4 bits are FLASH_CRYPT_CONF (espsecure's
        // `_flash_encryption_tweak_range_bits` tests bits 0-3, of a
        // negative integer too).
        let conf = (args.flash_crypt_conf & 0xF) as u32;
        if args.flash_crypt_conf == 0 {
            eprintln!("WARNING: Setting FLASH_CRYPT_CONF to zero is not recommended.");
        }
        let crypt = Esp32FlashCrypt::new(&key, conf)
            .with_context(|| format!("--keyfile {}", args.keyfile.display()))?;
        esp32 = Some(crypt.clone());
        Box::new(crypt)
    };
    drop(key);
    let cannot_read = || format!("cannot read {}", input.display());
    let mut file = File::open(input).with_context(cannot_read)?;
    let meta = file.metadata().with_context(cannot_read)?;
    // The length checks come first (as espsecure's), so a pipe or a procfs
    // file, whose size says 0, is read whole; a regular file streams.
    let (total, source): (u64, Box<dyn std::io::Read + Send>) = if meta.is_file() && meta.len() > 0
    {
        (meta.len(), Box::new(file))
    } else {
        let mut data = Vec::new();
        file.read_to_end(&mut data).with_context(cannot_read)?;
        (data.len() as u64, Box::new(std::io::Cursor::new(data)))
    };
    if args.aes_xts || direction == Direction::Decrypt {
        if total % 16 != 0 {
            let ours = format!(
                "{}: data length {total} must be a multiple of 16",
                input.display()
            );
            // espsecure/__init__.py: _flash_encryption_operation_aes_xts
            // checks the length up front; the ESP32 algorithm fails at the
            // short last block.
            return Err(if args.aes_xts {
                fatal(
                    ours,
                    format!("Input data length ({total}) must be a multiple of 16."),
                )
            } else {
                fatal(ours, "Data length is not a multiple of 16 bytes.")
            });
        }
        if args.aes_xts && total == 0 {
            return Err(fatal(
                format!(
                    "{}: input data must be longer than 0 bytes",
                    input.display()
                ),
                "Input data must be longer than 0.",
            ));
        }
    }
    let in_flash = u32::try_from(args.address)
        .ok()
        .filter(|a| u64::from(*a) + total <= 1 << 32);
    let Some(address) = in_flash else {
        let outside = format!(
            "{}: {total} bytes at --address {} are outside the 4 GiB flash address space",
            input.display(),
            py_repr::hex(args.address)
        );
        return match esp32 {
            Some(crypt) if as_espsecure => {
                esp32_outside_flash(&crypt, args, direction, source, &outside)
            }
            // espsecure packs each XTS block's address as a 32-bit word:
            // the first block's fails below zero, a later one's past 4 GiB
            _ if as_espsecure => Err(keys::refused(
                keys::Refusal::uncaught(if args.address < 0 {
                    "struct.error: argument out of range"
                } else {
                    "struct.error: 'I' format requires 0 <= number <= 4294967295"
                }),
                outside,
            )),
            _ => Err(anyhow::anyhow!(outside)),
        };
    };
    if total == 0 && !args.aes_xts {
        // espsecure's ESP32 algorithm writes its output (a lazy
        // click.File) block by block: an empty input leaves no file
        return Ok(ExitCode::SUCCESS);
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, source);
    let mut out = super::click_file::create(&args.output)?;
    let bar = progress_bar(total);
    let written = crypt
        .stream(direction, address, &mut reader, &mut out, &mut |done| {
            if let Some(bar) = &bar {
                bar.set_position(done);
            }
        })
        .with_context(|| input.display().to_string())?;
    if let Some(bar) = bar {
        bar.finish();
    }
    out.commit()?;
    if direction == Direction::Encrypt && written > total {
        outln!(
            "Note: Padding with {} bytes of random data (encrypted data must be multiple of 16 bytes long).",
            written - total
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The ESP32 algorithm at an address outside the flash, as espsecure
/// computes it for any integer (the key tweak is taken modulo 2^256): in
/// memory, since no flash this large exists to stream it into.
fn esp32_outside_flash(
    crypt: &Esp32FlashCrypt,
    args: &CryptArgs,
    direction: Direction,
    mut source: Box<dyn std::io::Read + Send>,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let mut data = Zeroizing::new(Vec::new());
    source.read_to_end(&mut data).context(what.to_owned())?;
    let padding = (16 - data.len() % 16) % 16;
    if padding > 0 {
        // only encryption gets here with a partial block (espsecure pads
        // it with random bytes)
        let mut random = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random[..padding]);
        data.extend_from_slice(&random[..padding]);
    }
    crypt
        .crypt_at_any_address(direction, args.address, &mut data)
        .context(what.to_owned())?;
    // as in the flash: an empty input leaves no file
    if !data.is_empty() || args.aes_xts {
        super::click_file::write(&args.output, &data, false)?;
    }
    if padding > 0 {
        outln!("Note: Padding with {padding} bytes of random data (encrypted data must be multiple of 16 bytes long).");
    }
    Ok(ExitCode::SUCCESS)
}

/// A byte bar for files large enough to take a while (8 MiB and more).
fn progress_bar(total: u64) -> Option<Progress> {
    (total >= (8 << 20)).then(|| Progress::new(Unit::Bytes, Some(total), ""))
}
