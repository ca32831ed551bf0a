//! Pre-flight checks on the plan and its files, before anything is burned:
//! the mistakes that brick boards, each reported with its fix.
//!
//! Chip facts come from `esp-efuse` (key blocks, purposes, the BLOCK9
//! quirk, download-mode fields), `esp-image` (image chip ids, the app load
//! header's checks and the bootloader's RAM) and `mcuboot-image` (header,
//! TLVs, trailer layout).

use esp_efuse::{policy, ChipEfuses, Field, KeyBlock, KeyPurpose};
use esp_image::Chip;
use mcuboot_image::codec::trailer::{self, TrailerLayout};
use mcuboot_image::{ImageHeader, SliceTlvs};

use crate::plan::{FirmwareKind, KeySource, Plan, Stage};
use crate::steps::{self, block_refuses, Action, LayoutError, Step};

/// Which check found a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckKind {
    /// Secure Boot's RD_DIS write protection before the flash-encryption key.
    StageOrder,
    /// Two keys or digests in one key block.
    KeyBlockReused,
    /// A key purpose the chip does not have.
    PurposeMissing,
    /// A key length the chip does not take, or a key file of another length.
    KeyLength,
    /// A key block that cannot hold that key on this chip (BLOCK9, fixed blocks).
    BlockUnusable,
    /// More Secure Boot keys than digest slots.
    TooManyKeys,
    /// A Secure Boot key file that cannot be read or is of another scheme.
    SigningKey,
    /// A firmware file that cannot be read.
    FirmwareFile,
    /// An app not signed for an encrypted device (`--align 32`).
    AppAlignment,
    /// An app that does not fit its slot with the port's trailer (`-M 512`).
    AppTooLarge,
    /// An app whose load header fails the port loader's checks (segments
    /// over the bootloader's IRAM/DRAM, outside RAM).
    AppLoadSegments,
    /// A file that is not an MCUboot image, or has no slot size.
    AppImage,
    /// A bootloader image for another chip, or not an ESP image.
    BootloaderChip,
    /// A step after download mode is disabled (or after Secure Download
    /// Mode, an eFuse step), or an encrypted write after the ROM's manual
    /// encryption is disabled.
    DownloadModeOrder,
    /// The device read over a port is another chip than the plan's.
    DeviceChip,
    /// The device's eFuses are not in a state the plan starts from (or
    /// resumes from): a field holds bits the plan does not burn.
    DeviceState,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The check.
    pub kind: CheckKind,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Runs every file-only check; an empty list means the plan may run.
pub fn check(plan: &Plan) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |kind, message: String| out.push(Finding { kind, message });
    let chip = plan.chip;

    if let (Some(fe), Some(sb)) = (
        plan.stages
            .iter()
            .position(|s| *s == Stage::FlashEncryption),
        plan.stages.iter().position(|s| *s == Stage::SecureBoot),
    ) {
        if sb < fe {
            add(
                CheckKind::StageOrder,
                "stages: secure_boot runs before flash_encryption, so RD_DIS is write-protected \
                 (SB 7B-i) before the flash-encryption key is burned and read-protected (FE 3); \
                 fix: stages = [\"flash_encryption\", \"secure_boot\"] (seed 003's order)"
                    .to_owned(),
            );
        }
    }
    key_checks(plan, &mut add);
    let steps = match steps::steps(plan) {
        Ok(steps) => steps,
        Err(e) => {
            let (kind, fix) = match &e {
                LayoutError::KeyLength { .. } => layout_length_fix(plan),
                LayoutError::NoFreeBlock { .. } => (
                    CheckKind::BlockUnusable,
                    "fix: name free blocks with flash_encryption.block / secure_boot.blocks, or use fewer keys".to_owned(),
                ),
                LayoutError::TooManyDigests { max, .. } => (
                    CheckKind::TooManyKeys,
                    format!("fix: list at most {max} key(s) in secure_boot.keys"),
                ),
            };
            add(kind, format!("{e}; {fix}"));
            return out;
        }
    };
    step_checks(chip, &steps, &mut add);
    for fw in &plan.firmware {
        firmware_checks(plan, fw, &mut add);
    }
    out
}

/// The kind and fix of an unusable key length.
fn layout_length_fix(plan: &Plan) -> (CheckKind, String) {
    let chip = plan.chip;
    let bits = plan.flash_encryption.as_ref().map_or(0, |f| f.key_bits);
    let lengths: Vec<&str> = [(128, "128"), (256, "256"), (512, "512")]
        .into_iter()
        .filter(|(b, _)| {
            let len = match b {
                128 => policy::FlashKeyLength::Derived128,
                256 => policy::FlashKeyLength::Bits256,
                _ => policy::FlashKeyLength::Bits512,
            };
            policy::flash_encryption_key(chip, len).is_some()
        })
        .map(|(_, s)| s)
        .collect();
    let purpose = match bits {
        512 => Some(KeyPurpose::XtsAes256Key1),
        128 => Some(KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits),
        _ => None,
    };
    match purpose {
        Some(p) if chip.table().purpose_def(p).is_none() => (
            CheckKind::PurposeMissing,
            format!(
                "{} has no {p} key purpose; fix: flash_encryption.key_bits = {}",
                chip.name(),
                lengths.join(" or ")
            ),
        ),
        _ => (
            CheckKind::KeyLength,
            format!("fix: flash_encryption.key_bits = {}", lengths.join(" or ")),
        ),
    }
}

/// Key files, named blocks.
fn key_checks(plan: &Plan, add: &mut impl FnMut(CheckKind, String)) {
    let chip = plan.chip;
    if let Some(fe) = &plan.flash_encryption {
        if let Some(path) = &fe.key_file {
            match std::fs::metadata(path) {
                Ok(m) if m.len() != u64::from(fe.key_bits / 8) => add(
                    CheckKind::KeyLength,
                    format!(
                        "flash_encryption.key_file {}: {} bytes, a {}-bit key has {}; fix: \
                         espsecure generate-flash-encryption-key --keylen {} FILE, or set key_bits",
                        path.display(),
                        m.len(),
                        fe.key_bits,
                        fe.key_bits / 8,
                        fe.key_bits
                    ),
                ),
                Ok(_) => {}
                Err(e) => add(
                    CheckKind::KeyLength,
                    format!(
                        "flash_encryption.key_file {}: cannot read ({e}); fix: the path, or drop \
                         key_file to generate a key per device",
                        path.display()
                    ),
                ),
            }
        }
        if let (Some(block), Some(length)) = (plan.fe_block, plan.fe_key_length()) {
            if let Some(slot) = policy::flash_encryption_key(chip, length) {
                block_fits(
                    chip,
                    "flash_encryption.block",
                    block,
                    slot.block,
                    slot.purpose,
                    add,
                );
            }
        }
    }
    if plan.secure_boot.is_some() {
        for (index, key) in plan.sb_keys.iter().enumerate() {
            match key.sbv2_public_key() {
                Ok(k) if Some(k.scheme()) != plan.sb_scheme => add(
                    CheckKind::SigningKey,
                    format!(
                        "secure_boot.keys[{index}] {key}: a {} key, the plan's scheme is {}; \
                         fix: espsecure generate-signing-key --version 2 --scheme {} FILE",
                        k.scheme().name(),
                        plan.sb_scheme.map_or("?", |s| s.name()),
                        plan.sb_scheme.map_or("?", |s| s.name())
                    ),
                ),
                Ok(_) => {}
                Err(e) => add(
                    CheckKind::SigningKey,
                    format!(
                        "secure_boot.keys[{index}] {key}: {e}; fix: {}",
                        match key {
                            KeySource::File(_) => "a PEM Secure Boot V2 key (public or private)",
                            KeySource::Pkcs11(_) =>
                                "a pkcs11: URI naming the token, the key object and the PIN \
                                 (module-path=, pin-source=)",
                        }
                    ),
                ),
            }
        }
        if let Some(blocks) = &plan.sb_blocks {
            for (index, block) in blocks.iter().enumerate() {
                if let Some(slot) = policy::secure_boot_digest(chip, index) {
                    block_fits(
                        chip,
                        &format!("secure_boot.blocks[{index}]"),
                        *block,
                        slot.block,
                        slot.purpose,
                        add,
                    );
                }
            }
        }
    }
}

/// A block the plan names for a key: the chip's fixed block when it has
/// one, a KEY_PURPOSE block otherwise, not BLOCK9 for XTS keys.
fn block_fits(
    chip: Chip,
    what: &str,
    block: KeyBlock,
    fixed: Option<KeyBlock>,
    purpose: Option<KeyPurpose>,
    add: &mut impl FnMut(CheckKind, String),
) {
    if let Some(fixed) = fixed {
        if block != fixed {
            add(
                CheckKind::BlockUnusable,
                format!(
                    "{what}: {} keeps this key in {fixed}, not {block}; fix: {what} = \"{fixed}\" or leave it out",
                    chip.name()
                ),
            );
        }
        return;
    }
    let table = chip.table();
    let has_purpose = table
        .block_of_key(block)
        .is_some_and(|b| b.key_purpose.is_some());
    if !has_purpose {
        add(
            CheckKind::BlockUnusable,
            format!(
                "{what}: {block} has no key purpose on {}; fix: one of BLOCK_KEY0..BLOCK_KEY5",
                chip.name()
            ),
        );
        return;
    }
    let purpose = match purpose {
        Some(KeyPurpose::XtsAes256Key) => KeyPurpose::XtsAes256Key1,
        Some(p) => p,
        None => return,
    };
    if block_refuses(chip, block, purpose) {
        add(
            CheckKind::BlockUnusable,
            format!(
                "{what}: {block} (BLOCK9) cannot hold {purpose} keys on {} (seed 003: \
                 SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK); fix: one of BLOCK_KEY0..BLOCK_KEY4",
                chip.name()
            ),
        );
    }
}

/// Checks over the laid-out steps: block reuse, download-mode order.
fn step_checks(chip: Chip, steps: &[Step], add: &mut impl FnMut(CheckKind, String)) {
    let mut used: Vec<(KeyBlock, String)> = Vec::new();
    for step in steps {
        let (block, what) = match &step.action {
            Action::BurnKey { block, purpose, .. } => (
                *block,
                purpose.map_or("the flash-encryption key".to_owned(), |p| p.to_string()),
            ),
            Action::BurnKeyDigest { block, index, .. } => {
                (*block, format!("Secure Boot digest {index}"))
            }
            _ => continue,
        };
        // ESP32-C2: a 128-bit derived key in the low half, the digest in the high half
        let shares = chip == Chip::Esp32c2
            && matches!(step.action, Action::BurnKeyDigest { .. })
            && steps.iter().any(|s| {
                matches!(
                    s.action,
                    Action::BurnKey {
                        purpose: Some(KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits),
                        ..
                    }
                )
            });
        if let Some((_, first)) = used.iter().find(|(b, _)| *b == block) {
            if !shares {
                let fix = if chip == Chip::Esp32c2 {
                    "fix: flash_encryption.key_bits = 128 leaves BLOCK_KEY0's high half for the digest"
                } else {
                    "fix: name another block, or leave the blocks out to use free ones"
                };
                add(
                    CheckKind::KeyBlockReused,
                    format!("{block} is used twice: for {first} and for {what}; {fix}"),
                );
            }
        }
        used.push((block, what));
    }

    let disabled = policy::download_disable(chip);
    let secure = policy::secure_download(chip);
    let manual = policy::manual_encrypt_disable(chip);
    let mut off: Option<Field> = None;
    let mut secure_on: Option<Field> = None;
    let mut manual_off = false;
    for step in steps.iter().filter(|s| s.action.on_device()) {
        if let Some(field) = off {
            add(
                CheckKind::DownloadModeOrder,
                format!(
                    "{field} disables download mode before {} step {} ({}), which needs it; fix: \
                     choose download_mode only in the last workflow's [final] section",
                    step.stage.key(),
                    step.seed_step,
                    step.action.kind()
                ),
            );
            return;
        }
        let efuse_step = !matches!(step.action, Action::FlashWrite { .. } | Action::EraseFlash);
        if let (Some(field), true) = (secure_on, efuse_step) {
            add(
                CheckKind::DownloadModeOrder,
                format!(
                    "{field} (Secure Download Mode) stops espefuse before {} step {} ({}); fix: \
                     choose download_mode only in the last workflow's [final] section",
                    step.stage.key(),
                    step.seed_step,
                    step.action.kind()
                ),
            );
            return;
        }
        match &step.action {
            Action::BurnEfuse { field, .. } if disabled.contains(field) => off = Some(*field),
            Action::BurnEfuse { field, .. } if Some(*field) == secure => secure_on = Some(*field),
            Action::BurnEfuse { field, .. } if *field == manual => manual_off = true,
            Action::FlashWrite {
                encrypt: true,
                address,
                ..
            } if manual_off => {
                add(
                    CheckKind::DownloadModeOrder,
                    format!(
                        "{manual} is burned before the encrypted write at {address:#x}; the ROM \
                         then refuses --encrypt; fix: leave {manual} to the [final] section"
                    ),
                );
                return;
            }
            _ => {}
        }
    }
}

/// Bootloader and app file checks.
fn firmware_checks(
    plan: &Plan,
    fw: &crate::plan::Firmware,
    add: &mut impl FnMut(CheckKind, String),
) {
    let chip = plan.chip;
    let name = fw.file.display();
    let bytes = match std::fs::read(&fw.file) {
        Ok(b) => b,
        Err(e) => {
            add(
                CheckKind::FirmwareFile,
                format!(
                    "firmware {name}: cannot read ({e}); fix: the path (relative to the plan file)"
                ),
            );
            return;
        }
    };
    match fw.kind {
        FirmwareKind::Bootloader => match esp_image::esp_image::EspImage::parse_any_chip(&bytes) {
            Ok(image) => {
                if Chip::from_image_chip_id(image.chip_id) != Some(chip) {
                    let other = Chip::from_image_chip_id(image.chip_id)
                        .map_or(format!("chip id {}", image.chip_id), |c| {
                            c.name().to_owned()
                        });
                    add(
                        CheckKind::BootloaderChip,
                        format!(
                            "bootloader {name} is built for {other}, the plan is for {}; fix: \
                             build the bootloader for {}",
                            chip.name(),
                            chip.name()
                        ),
                    );
                }
            }
            Err(e) => add(
                CheckKind::BootloaderChip,
                format!("bootloader {name}: {e}; fix: the bootloader's .bin (an ESP image)"),
            ),
        },
        FirmwareKind::App => app_checks(plan, fw, &bytes, add),
        FirmwareKind::PartitionTable | FirmwareKind::Data => {}
    }
}

/// The flash write size the port uses: 32 bytes under flash encryption
/// (the AES-XTS block), else 4 (mcuboot.md §7, the port's
/// `flash_area_align`).
fn write_size(encrypted: bool) -> u32 {
    if encrypted {
        32
    } else {
        4
    }
}

fn app_checks(
    plan: &Plan,
    fw: &crate::plan::Firmware,
    bytes: &[u8],
    add: &mut impl FnMut(CheckKind, String),
) {
    let chip = plan.chip;
    let name = fw.file.display();
    let encrypted = plan.flash_encryption.is_some();
    let align = write_size(encrypted);
    let sign_hint = format!(
        "imgtool sign --align {align} -M {} -S SLOT_SIZE --pad-header -H 32",
        trailer::ESPRESSIF_MAX_SECTORS
    );
    let header = match ImageHeader::parse(bytes) {
        Ok(h) => h,
        Err(e) => {
            add(
                CheckKind::AppImage,
                format!("app {name}: not an MCUboot image ({e:?}); fix: sign it with {sign_hint}"),
            );
            return;
        }
    };
    let Some(slot_size) = fw.slot_size else {
        add(
            CheckKind::AppImage,
            format!("app {name}: no slot_size; fix: slot_size = the partition's size"),
        );
        return;
    };
    let end = match SliceTlvs::new(bytes, &header) {
        Ok(tlvs) => tlvs.bounds().end(),
        Err(e) => {
            add(
                CheckKind::AppImage,
                format!("app {name}: bad TLV area ({e:?}); fix: sign it again with {sign_hint}"),
            );
            return;
        }
    };
    // a padded image (--pad) carries the trailer magic of its --max-align
    let magic_align = bytes
        .len()
        .checked_sub(16)
        .and_then(|at| bytes.get(at..))
        .and_then(|m| <&[u8; 16]>::try_from(m).ok())
        .and_then(trailer::max_align_of_magic);
    if let Some(found) = magic_align {
        if encrypted && found != 32 {
            add(
                CheckKind::AppAlignment,
                format!(
                    "app {name}: padded for a {found}-byte trailer alignment; an encrypted device \
                     writes its trailer in 32-byte blocks; fix: sign with {sign_hint} --pad"
                ),
            );
        }
    }
    let layout = TrailerLayout::new(
        align.max(trailer::DEFAULT_MAX_ALIGN),
        align,
        trailer::ESPRESSIF_MAX_SECTORS,
    );
    let need = u64::from(end) + u64::from(layout.size());
    if need > u64::from(slot_size) {
        add(
            CheckKind::AppTooLarge,
            format!(
                "app {name}: image ends at {end:#x} and the port's trailer (-M {} with {align}-byte \
                 writes) needs {:#x} more, over the slot's {slot_size:#x}; fix: a smaller app or \
                 a larger slot, signed with {sign_hint}",
                trailer::ESPRESSIF_MAX_SECTORS,
                layout.size()
            ),
        );
    }
    let payload = bytes
        .get(usize::from(header.hdr_size)..)
        .unwrap_or_default();
    match esp_image::load_header::LoadHeader::parse(payload) {
        Ok(load) => {
            if let Err(e) = load.check(chip, &chip.memory_map(false), end) {
                add(
                    CheckKind::AppLoadSegments,
                    format!(
                        "app {name}: {e}; fix: link the app for {} outside the bootloader's \
                         iram_loader_seg/dram_seg (seed 000 memory map)",
                        chip.name()
                    ),
                );
            }
        }
        Err(e) => add(
            CheckKind::AppLoadSegments,
            format!("app {name}: {e}; fix: build the app for the MCUboot Espressif port"),
        ),
    }
}

/// The checks of a device read before a run (`provision check --port`):
/// the chip is the plan's, and every eFuse field the plan burns is blank or
/// holds only bits the plan burns (a fresh chip, or one a run of this plan
/// left part way). An empty list means the plan may run on that device.
pub fn check_device(plan: &Plan, efuses: &esp_efuse::Efuses) -> Vec<Finding> {
    let mut out = Vec::new();
    if efuses.chip() != plan.chip {
        out.push(Finding {
            kind: CheckKind::DeviceChip,
            message: format!(
                "the device is an {}, the plan is for {}: use a plan for this chip or connect the right device",
                efuses.chip().name(),
                plan.chip.name()
            ),
        });
        return out;
    }
    let Ok(steps) = steps::steps(plan) else {
        return out;
    };
    for step in &steps {
        if let Action::BurnEfuse { field, value } = &step.action {
            match efuses.raw(*field) {
                Ok(now) if now & !value != 0 => out.push(Finding {
                    kind: CheckKind::DeviceState,
                    message: format!(
                        "{field} is {now:#x} on the device, the plan burns {value:#x}: this device was provisioned otherwise; set it aside (eFuses cannot be cleared)"
                    ),
                }),
                Ok(_) => {}
                Err(e) => out.push(Finding {
                    kind: CheckKind::DeviceState,
                    message: format!("{field}: cannot be read on the device: {e}"),
                }),
            }
        }
    }
    out
}
