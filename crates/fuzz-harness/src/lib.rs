//! One entry point per parser of untrusted bytes, for fuzzing.
//!
//! Every function here takes arbitrary bytes and runs them through the same
//! library code the CLI, the simulator and the serial server use. None may
//! panic, loop forever or allocate without bound, whatever the input: that
//! is the property the fuzzer checks. The `fuzz/` directory holds one
//! cargo-fuzz target per [`Target`] (`cargo +nightly fuzz run <name>`), and
//! this crate's test replays each target's seed corpus (`fuzz/corpus/<name>`)
//! on stable, so the corpus and the entry points stay valid in CI.
//!
//! ```
//! use fuzz_harness::Target;
//!
//! for target in Target::ALL {
//!     target.run(b"\x3d\xb8\xf3\x96 not an image");
//! }
//! assert_eq!(Target::from_name("mcuboot_image"), Some(Target::McubootImage));
//! ```

#![warn(missing_docs, unreachable_pub)]

use std::path::Path;

use esp_image::Chip;
use flash_sim::flash::SimFlash;
use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{Area, DowngradePrevention, ImageSlots, UpgradeStrategy};
use mcuboot_image::{HashAlg, SignatureKind, ValidateOptions};

/// A parser of untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// An MCUboot image: header, TLV areas, hash and signature checks.
    McubootImage,
    /// The boot core over arbitrary flash: image headers and TLVs in both
    /// slots, trailers (magic, flags, swap status) and the swap itself.
    BootFlash,
    /// A Secure Boot V2 signature sector and the data it signs.
    Sbv2Signature,
    /// An ESP image as the ROM loads it (any chip).
    EspImage,
    /// The port's app load header.
    AppLoadHeader,
    /// espefuse's virtual eFuse file, for every chip.
    EfuseFile,
    /// A `bootloader.conf` over the port's defaults, resolved to a flash map.
    BootloaderConf,
    /// Intel HEX text.
    IntelHex,
    /// A key file: PEM (any wrapping) or DER, every kind.
    KeyFile,
    /// The ROM loader's serial line: SLIP frames, requests, responses.
    RomSerial,
    /// SMP over a serial console: framing, header, bodies.
    SmpConsole,
    /// An ESP-IDF eFuse CSV table (`--extend-efuse-table`).
    EfuseCsv,
    /// espefuse's eFuse token text (`EFSR:esp32c3:…`, `dump --format token`).
    EfuseToken,
    /// An image walked as imgtool's `verify` walks it, with no key and
    /// with a P-256 public key.
    ImgtoolVerify,
    /// A JSON file read as Python's `json.load` reads it (espsecure's USC
    /// configuration).
    UscJson,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 15] = [
        Target::McubootImage,
        Target::BootFlash,
        Target::Sbv2Signature,
        Target::EspImage,
        Target::AppLoadHeader,
        Target::EfuseFile,
        Target::BootloaderConf,
        Target::IntelHex,
        Target::KeyFile,
        Target::RomSerial,
        Target::SmpConsole,
        Target::EfuseCsv,
        Target::EfuseToken,
        Target::ImgtoolVerify,
        Target::UscJson,
    ];

    /// The target's name: its cargo-fuzz target and corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Target::McubootImage => "mcuboot_image",
            Target::BootFlash => "boot_flash",
            Target::Sbv2Signature => "sbv2_signature",
            Target::EspImage => "esp_image",
            Target::AppLoadHeader => "app_load_header",
            Target::EfuseFile => "efuse_file",
            Target::BootloaderConf => "bootloader_conf",
            Target::IntelHex => "intel_hex",
            Target::KeyFile => "key_file",
            Target::RomSerial => "rom_serial",
            Target::SmpConsole => "smp_console",
            Target::EfuseCsv => "efuse_csv",
            Target::EfuseToken => "efuse_token",
            Target::ImgtoolVerify => "imgtool_verify",
            Target::UscJson => "usc_json",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs `data` through the target's parsers. Results are discarded: only
    /// a panic (or a hang, or unbounded memory) is a finding.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::McubootImage => mcuboot_image(data),
            Target::BootFlash => {
                let _ = boot_flash(data);
            }
            Target::Sbv2Signature => sbv2_signature(data),
            Target::EspImage => esp_image(data),
            Target::AppLoadHeader => {
                let _ = esp_image::load_header::LoadHeader::parse(data);
            }
            Target::EfuseFile => {
                for chip in Chip::ALL {
                    let _ = esp_efuse::VirtualFile::decode(chip, data);
                }
            }
            Target::BootloaderConf => bootloader_conf(data),
            Target::IntelHex => {
                if let Ok(text) = std::str::from_utf8(data) {
                    let _ = mcuboot_image::hexfile::read(text);
                }
            }
            Target::KeyFile => key_file(data),
            Target::RomSerial => rom_serial(data),
            Target::SmpConsole => smp_console(data),
            Target::EfuseCsv => {
                if let Ok(table) = esp_efuse::custom_table::parse("fuzz.csv", data) {
                    for chip in Chip::ALL {
                        if let Err(e) = esp_efuse::custom_table::extend(chip, "fuzz.csv", &table) {
                            let _ = e.python_exception();
                        }
                    }
                }
            }
            Target::EfuseToken => {
                // A token is text on the command line: arbitrary bytes
                // reach the decoder as Rust strings, lossily.
                let _ = esp_efuse::token::decode(&String::from_utf8_lossy(data));
            }
            Target::UscJson => {
                // the depth espsecure's stack leaves, so nesting is bounded
                if let Ok(value) = py_json::loads(data, 981) {
                    let _ = value.repr();
                }
            }
            Target::ImgtoolVerify => {
                use mcuboot_image::imgtool_verify::imgtool_verify;
                let _ = imgtool_verify(data, None);
                if let Ok(key) = key_files::KeyFile::from_der(&P256_SPKI, None) {
                    let _ = imgtool_verify(data, Some(&key));
                }
            }
        }
    }
}

/// A fixed P-256 public key (SubjectPublicKeyInfo), so signature TLVs meet
/// a key hash to compare and a key to verify with.
const P256_SPKI: [u8; 91] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1,
    0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe,
    0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b,
    0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
];

fn mcuboot_image(data: &[u8]) {
    let Ok(header) = mcuboot_image::ImageHeader::parse(data) else {
        return;
    };
    for (hash, signature) in [
        (HashAlg::Sha256, Some(SignatureKind::EcdsaP256)),
        (HashAlg::Sha384, None),
    ] {
        let mut opts = ValidateOptions::new(hash);
        opts.signature = signature;
        opts.tlv_allow_list = true;
        let mut source = data;
        let _ = mcuboot_image::validate(&mut source, &header, &[&P256_SPKI], &opts);
    }
}

/// The [`Target::BootFlash`] device: the first byte selects the strategy
/// (bits 0-1), downgrade prevention (bit 2), bootstrap (bit 3) and P-256
/// signatures (bit 4); the rest is the flash from address 0: two slots of
/// five 4 KiB sectors and a scratch sector. Small enough to boot many
/// inputs a second. Returns the reports of two boots (the second sees what
/// the first left), empty when the input is empty.
pub fn boot_flash(data: &[u8]) -> Vec<flash_sim::run::BootReport> {
    const SECTOR: u32 = 0x1000;
    const SLOT: u32 = 4 * SECTOR;
    let Some((&selector, contents)) = data.split_first() else {
        return Vec::new();
    };
    let strategy = match selector & 3 {
        0 => UpgradeStrategy::SwapScratch,
        1 => UpgradeStrategy::SwapMove,
        2 => UpgradeStrategy::SwapOffset,
        _ => UpgradeStrategy::OverwriteOnly,
    };
    // swap-move needs a spare sector in the primary slot, swap-offset one
    // in the secondary: give every slot five sectors.
    let slot = SLOT + SECTOR;
    let config = OwnedBootConfig {
        images: vec![ImageSlots {
            primary: Area::new(0, slot),
            secondary: Area::new(slot, slot),
        }],
        scratch: Some(Area::new(2 * slot, SECTOR)),
        strategy,
        downgrade: if selector & 4 != 0 {
            DowngradePrevention::Version
        } else {
            DowngradePrevention::Off
        },
        write_size: 4,
        max_align: 8,
        erased_val: 0xff,
        max_sectors: 16,
        bootstrap: selector & 8 != 0,
        keys: vec![P256_SPKI.to_vec()],
        signature: (selector & 16 != 0).then_some(SignatureKind::EcdsaP256),
        sector_runs: vec![(SECTOR, (2 * slot + SECTOR) / SECTOR)],
    };
    let Ok(geometry) = flash_sim::run::geometry(&config) else {
        return Vec::new();
    };
    let mut image = vec![0xff; (2 * slot + SECTOR) as usize];
    let n = contents.len().min(image.len());
    image[..n].copy_from_slice(&contents[..n]);
    let Ok(mut flash) = SimFlash::from_bytes(geometry, &image) else {
        return Vec::new();
    };
    (0..2)
        .map(|_| flash_sim::run::boot_with(&config, &mut flash, None))
        .collect()
}

fn sbv2_signature(data: &[u8]) {
    use esp_secure::sbv2;
    // espsecure's per-block checks with every key the sector carries, so
    // keys meet blocks of their own scheme and of others
    let keys: Vec<sbv2::PublicKey> =
        sbv2::sector_blocks(&data[data.len().saturating_sub(sbv2::SECTOR_SIZE)..])
            .into_iter()
            .filter_map(|block| block.ok()?.public_key().ok())
            .collect();
    for key in &keys {
        let _ = sbv2::report_blocks(data, key, true);
        let _ = sbv2::report_blocks(data, key, false);
    }
    let _ = sbv2::leading_valid_blocks(data);
    let _ = sbv2::sector_blocks(data);
    let _ = sbv2::signature_info(data);
    let _ = sbv2::verify_with_digests(data, &[[0u8; 32]]);
    let _ = sbv2::split_signed(data, true);
    let _ = sbv2::split_signed(data, false);
}

fn esp_image(data: &[u8]) {
    let _ = esp_image::esp_image::EspImage::parse_any_chip(data);
    for chip in Chip::ALL {
        let _ = esp_image::esp_image::EspImage::parse(data, chip);
    }
}

fn bootloader_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut config = espboot_sim::config::Target::Esp32c3.default_config();
    if config.apply_str(text, Path::new("fuzz.conf")).is_ok() {
        let _ = espboot_sim::config::FlashMap::resolve(&config, None);
    }
}

fn key_file(data: &[u8]) {
    // No password: an encrypted key is refused before any key derivation,
    // whose cost the file itself chooses.
    let _ = key_files::KeyFile::from_bytes(data, None);
    // OpenSSL's legacy PEM encryption derives its key in a fixed number of
    // MD5 rounds: decrypt each block with a password
    for block in key_files::pem::blocks(data).flatten() {
        let _ = block.decode_with(Some(b"fuzz"));
    }
    let _ = mcuboot_image::enc::DecryptionKey::from_der(data);
    // the strict reader that names cryptography's first failure walks the
    // same untrusted bytes
    for wanted in [
        key_files::strict::Wanted::PrivateKey,
        key_files::strict::Wanted::PublicKey,
    ] {
        let _ = key_files::strict::first_failure(data, wanted);
    }
}

fn rom_serial(data: &[u8]) {
    use esp_rom_protocol::{command, response, slip};
    let mut decoder = slip::Decoder::new(0x4000 + 64);
    for frame in decoder.push_all(data).into_iter().flatten() {
        if let Ok(request) = command::Request::parse(&frame) {
            let _ = command::Command::parse(&request);
        }
        for data_len in [2, 4] {
            let _ = response::Response::parse(&frame, data_len);
        }
    }
}

fn smp_console(data: &[u8]) {
    use mcumgr_smp::frame::{Decoded, Decoder, DecoderConfig};
    use mcumgr_smp::{header, image, os};
    let mut decoder = Decoder::new(DecoderConfig::MCUBOOT);
    for decoded in decoder.push(data) {
        let Decoded::Message(message) = decoded else {
            continue;
        };
        let Ok(packet) = header::Packet::decode(&message) else {
            continue;
        };
        let body = &packet.body;
        let _ = image::ImageUploadRequest::decode(body);
        let _ = image::ImageUploadResponse::decode(body);
        let _ = image::ImageStateResponse::decode(body);
        let _ = image::ImageStateWriteRequest::decode(body);
        let _ = image::SlotInfoResponse::decode(body);
        let _ = os::EchoRequest::decode(body);
        let _ = os::EchoResponse::decode(body);
    }
}
