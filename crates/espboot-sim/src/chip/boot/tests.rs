use super::sweep::{sweep_chip, ChipSweepOptions};
use super::*;
use crate::chip::app::{build_app, AppOptions};
use crate::chip::bootloader::build_bootloader;
use crate::config::Target;
use crate::device::EmbeddedKey;
use esp_secure::sbv2::{SigningKey as Sbv2Key, SigningScheme};
use mcuboot_image::keys::{KeyType, McubootKey as _, PrivateKey};
use mcuboot_image::sign::{ImageBuilder, KeySigner, SignOptions, Trailer};

/// A device of `target` whose flashed (unsigned) bootloader was built
/// with the port defaults plus `conf`, and the MCUboot signer whose key
/// it embeds.
struct Bench {
    device: Device,
    chip: Chip,
    config: ConfigFile,
    mcuboot: KeySigner,
    key: EmbeddedKey,
}

impl Bench {
    fn new(target: Target, conf: &str) -> Bench {
        let mut config = target.default_config();
        config
            .apply_str(
                &format!("CONFIG_ESP_SIGN_EC256=y\n{conf}"),
                std::path::Path::new("test.conf"),
            )
            .unwrap();
        let private = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let key = EmbeddedKey {
            source: "test".into(),
            der: private.public_key().embedded_der().unwrap(),
        };
        let mut device = Device::from_config(target, &config, None).unwrap();
        let chip = target.chip().unwrap();
        let bootloader = build_bootloader(target, &config, std::slice::from_ref(&key)).unwrap();
        device
            .write_flash(chip.bootloader_offset(), &bootloader)
            .unwrap();
        Bench {
            device,
            chip,
            config,
            mcuboot: KeySigner::new(private, false).unwrap(),
            key,
        }
    }

    fn bootloader(&self) -> Vec<u8> {
        build_bootloader(
            self.device.settings.target,
            &self.config,
            std::slice::from_ref(&self.key),
        )
        .unwrap()
    }

    fn flash_bootloader(&mut self, bytes: &[u8]) {
        let at = self.chip.bootloader_offset();
        self.device.write_flash(at, bytes).unwrap();
    }

    fn slot(&self, image: usize, primary: bool) -> (u32, u32) {
        let s = &self.device.settings.map.images[image];
        let span = if primary { s.primary } else { s.secondary };
        (span.offset, span.size)
    }

    /// `imgtool sign -H 32 --pad-header --align 4 [--max-align 32] -M 512 -v V -S SLOT [--pad --confirm]`
    fn app(&self, version: &str, image: usize, confirm: bool) -> Vec<u8> {
        self.app_sized(version, image, confirm, None)
    }

    /// [`Self::app`] with `size` bytes of payload.
    fn app_sized(
        &self,
        version: &str,
        image: usize,
        confirm: bool,
        size: Option<usize>,
    ) -> Vec<u8> {
        let multi = self.config.is_set("CONFIG_ESP_MULTI_PROCESSOR_BOOT");
        let mut options = AppOptions::new(version);
        options.size = size;
        options.image = image;
        options.multi_processor = multi;
        let payload = build_app(self.chip, &options).unwrap();
        let (_, slot_size) = self.slot(image, true);
        let mut opts = SignOptions::new(version.parse().unwrap(), 32, slot_size);
        opts.pad_header = true;
        opts.align = 4;
        opts.max_sectors = Some(512);
        if self.config.is_set("CONFIG_SECURE_FLASH_ENC_ENABLED") {
            opts.max_align = Some(32);
        }
        opts.trailer = Trailer::from_flags(false, false, confirm);
        ImageBuilder::new(&opts)
            .signer(Some(&self.mcuboot))
            .to_vec(payload)
            .unwrap()
    }

    fn boot(&mut self) -> ChipBootReport {
        power_on(&mut self.device, None)
    }
}

/// Two Secure Boot V2 keys of a scheme the chip's ROM verifies (RSA-3072
/// keys are slow to generate: made once per test binary).
fn sb_keys(chip: Chip) -> &'static [Sbv2Key; 2] {
    static RSA: std::sync::OnceLock<[Sbv2Key; 2]> = std::sync::OnceLock::new();
    static ECDSA: std::sync::OnceLock<[Sbv2Key; 2]> = std::sync::OnceLock::new();
    let (cell, scheme) = if chip == Chip::Esp32c2 {
        (&ECDSA, SigningScheme::Ecdsa256)
    } else {
        (&RSA, SigningScheme::Rsa3072)
    };
    cell.get_or_init(|| [0, 1].map(|_| Sbv2Key::generate(scheme).unwrap()))
}

fn sbv2_signed(bootloader: &[u8], key: &Sbv2Key) -> Vec<u8> {
    sbv2::sign_image(bootloader, &[key], sbv2::SignOptions::default())
        .unwrap()
        .bytes
}

fn running(report: &ChipBootReport) -> Option<&str> {
    report.boot.images.first().map(|i| i.version.as_str())
}

#[test]
fn plain_chip_runs_the_rom_then_mcuboot_then_starts_the_app() {
    let mut bench = Bench::new(Target::Esp32c3, "");
    let (primary, _) = bench.slot(0, true);
    let app = bench.app("1.0.0", 0, true);
    bench.device.write_flash(primary, &app).unwrap();
    let report = bench.boot();
    assert!(report.boot.booted, "{:?}", report.boot.error);
    let rom = report.rom.as_ref().unwrap();
    assert_eq!(
        (rom.secure_boot, rom.flash_encryption),
        (RomSecureBoot::Disabled, false)
    );
    assert_eq!(report.cpus.len(), 1);
    assert_eq!((report.cpus[0].cpu, report.cpus[0].image), (Cpu::Pro, 0));
    assert!(report.first_boot.is_empty());

    // an erased bootloader region: the ROM finds nothing to run
    bench.device.write_flash(0, &[0xff; 0x1000]).unwrap();
    let report = bench.boot();
    assert!(!report.boot.booted);
    assert!(report
        .boot
        .error
        .unwrap()
        .contains("ROM: no valid bootloader at 0x0"));
}

#[test]
fn secure_boot_first_boot_burns_the_digest_then_the_rom_enforces_it() {
    // ESP32: BLOCK2 and ABS_DONE_1; ESP32-C2: the digest's first 128
    // bits in BLOCK_KEY0; the others: a SECURE_BOOT_DIGEST0 key block
    for target in [Target::Esp32c3, Target::Esp32, Target::Esp32c2] {
        secure_boot_first_boot_on(target);
    }
}

fn secure_boot_first_boot_on(target: Target) {
    let mut bench = Bench::new(
        target,
        "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n",
    );
    let (primary, _) = bench.slot(0, true);
    let app = bench.app("1.0.0", 0, true);
    bench.device.write_flash(primary, &app).unwrap();

    // unsigned: the port refuses to enable secure boot, nothing burned
    let report = bench.boot();
    assert!(!report.boot.booted);
    assert!(report
        .boot
        .error
        .unwrap()
        .contains("no valid Secure Boot V2 signature block"));
    assert!(!bench
        .device
        .efuses
        .as_ref()
        .unwrap()
        .secure_boot_v2_enabled());

    let [key, other] = sb_keys(bench.chip);
    if bench.chip != Chip::Esp32c2 {
        // an ECDSA-signed bootloader: this ROM only verifies RSA-3072
        let ecdsa = &sb_keys(Chip::Esp32c2)[0];
        bench.flash_bootloader(&sbv2_signed(&bench.bootloader(), ecdsa));
        let error = bench.boot().boot.error.unwrap();
        assert!(error.contains("ROM verifies RSA-3072"), "{error}");
    }
    let signed = sbv2_signed(&bench.bootloader(), key);
    bench.flash_bootloader(&signed);
    let report = bench.boot();
    assert!(report.boot.booted, "{:?}", report.boot.error);
    assert!(report
        .first_boot
        .iter()
        .any(|a| matches!(a, FirstBootEvent::DigestBurned { .. })));
    let efuses = bench.device.efuses.as_ref().unwrap();
    assert!(efuses.secure_boot_v2_enabled());
    assert!(fuses::digest_trusted(
        &fuses::trusted_digests(efuses),
        &key.public_key().digest()
    ));
    if target == Target::Esp32c3 {
        // unused digest slots were revoked
        assert_eq!(efuses.raw(Field::SecureBootKeyRevoke1).unwrap(), 1);
    }

    let report = bench.boot();
    assert_eq!(
        report.rom.as_ref().unwrap().secure_boot,
        RomSecureBoot::Verified
    );
    assert!(report.first_boot.is_empty());

    // signed by a key whose digest is not burned: refused by the ROM
    bench.flash_bootloader(&sbv2_signed(&bench.bootloader(), other));
    let report = bench.boot();
    assert!(!report.boot.booted);
    let error = report.boot.error.unwrap();
    assert!(error.contains("ROM: secure boot check failed"), "{error}");
    assert!(error.contains("unburned or revoked"), "{error}");

    // one flipped byte in the signed data: refused
    let mut tampered = signed.clone();
    tampered[0x40] ^= 1;
    bench.flash_bootloader(&tampered);
    assert!(!bench.boot().boot.booted);

    // the burned key, revoked: refused
    bench.flash_bootloader(&signed);
    assert!(bench.boot().boot.booted);
    if target != Target::Esp32c3 {
        // one digest, no revocation bits
        return;
    }
    let efuses = bench.device.efuses.as_mut().unwrap();
    efuses.burn(Field::SecureBootKeyRevoke0, Burn::All).unwrap();
    let report = bench.boot();
    assert!(!report.boot.booted);
    assert!(report
        .boot
        .error
        .unwrap()
        .contains("secure boot check failed"));
}

#[test]
fn flash_encryption_first_boot_encrypts_in_place_and_resets() {
    for target in [
        Target::Esp32,
        Target::Esp32c3,
        Target::Esp32c2,
        Target::Esp32s3,
    ] {
        let mut bench = Bench::new(target, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
        let (primary, slot_size) = bench.slot(0, true);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();
        let bootloader = bench.bootloader();
        let report = bench.boot();
        assert!(report.boot.booted, "{target:?}: {:?}", report.boot.error);
        assert_eq!(report.resets, 1, "{target:?}");
        assert!(report.rom.as_ref().unwrap().flash_encryption);
        let efuses = bench.device.efuses.as_ref().unwrap();
        assert!(efuses.flash_encryption_enabled());
        // the physical slot is the plaintext encrypted for its address
        let key = fuses::flash_encryption_key(efuses).unwrap().unwrap();
        let crypt = fuses::crypt_for(efuses, &key).unwrap();
        let mut expected = app.clone();
        expected.resize(slot_size as usize, 0xff);
        crypt.encrypt(primary, &mut expected).unwrap();
        let physical = bench.device.read_flash(primary, slot_size).unwrap();
        assert!(physical == expected, "{target:?}: slot ciphertext");
        let at = bench.chip.bootloader_offset();
        let mut expected = bootloader.clone();
        expected.resize(bootloader.len().div_ceil(0x1000) * 0x1000, 0xff);
        crypt.encrypt(at, &mut expected).unwrap();
        let physical = bench.device.read_flash(at, expected.len() as u32).unwrap();
        assert!(physical == expected, "{target:?}: bootloader ciphertext");
        // the next power-on boots straight through the decrypting reads
        let report = bench.boot();
        assert!(report.boot.booted && report.resets == 0 && report.first_boot.is_empty());
    }
}

#[test]
fn power_cut_during_first_boot_encryption_leaves_an_unbootable_chip() {
    let mut bench = Bench::new(Target::Esp32c3, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
    let (primary, _) = bench.slot(0, true);
    let app = bench.app("1.0.0", 0, true);
    bench.device.write_flash(primary, &app).unwrap();
    let mut cut_early = bench.device.clone();
    // after the first bootloader sector was erased and rewritten encrypted
    let report = power_on(&mut bench.device, Some((2, CutMode::Clean)));
    assert!(report.boot.interrupted);
    let efuses = bench.device.efuses.as_ref().unwrap();
    assert!(
        fuses::flash_encryption_key(efuses).unwrap().is_some(),
        "key burned first"
    );
    assert!(!efuses.flash_encryption_enabled(), "counter not yet burned");
    let report = bench.boot();
    assert!(!report.boot.booted);
    assert!(report
        .boot
        .error
        .unwrap()
        .contains("ROM: no valid bootloader"));

    // cut before anything was encrypted: the next boot reuses the burned key
    let report = power_on(&mut cut_early, Some((0, CutMode::Clean)));
    assert!(report.boot.interrupted);
    let report = power_on(&mut cut_early, None);
    assert!(report.boot.booted, "{:?}", report.boot.error);
    assert!(report.first_boot.contains(&FirstBootEvent::FlashKeyInEfuse));
}

#[test]
fn app_overlapping_the_loader_is_refused_with_the_region_named() {
    let mut bench = Bench::new(Target::Esp32c3, "");
    let (primary, slot_size) = bench.slot(0, true);
    let loader = bench.chip.memory_map(false).bootloader_regions[0].clone();
    let iram = loader.iram.clone().unwrap();
    let mut options = AppOptions::new("1.0.0");
    options.iram_addr = Some(iram.start);
    options.unchecked = true;
    let payload = build_app(bench.chip, &options).unwrap();
    let mut opts = SignOptions::new("1.0.0".parse().unwrap(), 32, slot_size);
    opts.pad_header = true;
    opts.align = 4;
    let image = ImageBuilder::new(&opts)
        .signer(Some(&bench.mcuboot))
        .to_vec(payload)
        .unwrap();
    bench.device.write_flash(primary, &image).unwrap();
    let report = bench.boot();
    assert!(!report.boot.booted);
    let error = report.boot.error.unwrap();
    assert!(error.contains("the loader refuses the app"), "{error}");
    assert!(error.contains(loader.name), "{error}");
}

#[test]
fn esp32_multi_processor_boot_starts_image_1_on_the_app_cpu_first() {
    let conf = "CONFIG_ESP_IMAGE_NUMBER=2\nCONFIG_ESP_MULTI_PROCESSOR_BOOT=y\n\
                CONFIG_ESP_APPLICATION_SIZE=0x80000\n\
                CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS=0x10000\n\
                CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x90000\n\
                CONFIG_ESP_IMAGE1_PRIMARY_START_ADDRESS=0x110000\n\
                CONFIG_ESP_IMAGE1_SECONDARY_START_ADDRESS=0x190000\n\
                CONFIG_ESP_SCRATCH_OFFSET=0x210000\nCONFIG_ESP_SCRATCH_SIZE=0x40000\n";
    let mut bench = Bench::new(Target::Esp32, conf);
    for image in [0, 1] {
        let (at, _) = bench.slot(image, true);
        let app = bench.app("1.0.0", image, true);
        bench.device.write_flash(at, &app).unwrap();
    }
    let report = bench.boot();
    assert!(report.boot.booted, "{:?}", report.boot.error);
    let order: Vec<(Cpu, usize)> = report.cpus.iter().map(|c| (c.cpu, c.image)).collect();
    assert_eq!(order, [(Cpu::App, 1), (Cpu::Pro, 0)]);
    assert_eq!(running(&report), Some("1.0.0+0"));
}

/// An ESP32-C3 with flash encryption on, running 1.0.0 and with 1.1.0
/// staged (encrypted, as the OTA agent writes it) for a permanent upgrade
/// under `conf`'s strategy.
fn encrypted_upgrade_bench(conf: &str) -> Bench {
    let mut bench = Bench::new(
        Target::Esp32c3,
        &format!("CONFIG_SECURE_FLASH_ENC_ENABLED=y\n{conf}"),
    );
    let (primary, _) = bench.slot(0, true);
    let app = bench.app("1.0.0", 0, true);
    bench.device.write_flash(primary, &app).unwrap();
    assert!(bench.boot().boot.booted);
    // the upgrade is written through the encrypted flash, as an OTA agent does
    let update = bench.app("1.1.0", 0, false);
    app_write_update(&mut bench.device, 0, &update).unwrap();
    app_call(
        &mut bench.device,
        0,
        AppCall::SetPending { permanent: true },
    )
    .unwrap();
    bench
}

#[test]
fn encrypted_swap_sweep_finds_only_the_port_erase_before_write_hazard() {
    let bench = encrypted_upgrade_bench("");
    let report = sweep(&bench.device, false, &|_, _| {}).unwrap();
    assert!(report.cut_points > 1000);
    assert_eq!(report.reference.images[0].version, "1.1.0+0");
    // every failure is a cut inside one of the port's encrypted backend
    // operations (esp_mcuboot.c), after its sector erase and before the
    // write-back: rare but real, on silicon too
    assert!(!report.failures.is_empty());
    assert!(report.failures.len() * 100 < report.cut_points as usize);
    for failure in &report.failures {
        assert!(
            matches!(
                failure.hazard,
                Some(Hazard::EraseBeforeWrite { .. } | Hazard::EraseWriteBack { .. })
            ),
            "{failure}"
        );
    }
    let classified: u64 = report.classes.iter().map(|c| c.count).sum();
    assert_eq!(classified, report.failures.len() as u64);
}

/// The opt-in fix of the port (program erased cells without erasing,
/// erase without writing 0xff back) makes every backend operation one
/// physical operation again: the same sweep finds no failure at all.
#[test]
fn regression_port_fix_removes_the_erase_before_write_hazard() {
    let bench = encrypted_upgrade_bench("");
    let shipped = sweep(&bench.device, false, &|_, _| {}).unwrap();
    assert!(!shipped.failures.is_empty());
    let fixed = sweep_with(
        &bench.device,
        false,
        EncryptedWrites::ProgramErased,
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(fixed.reference.images[0].version, "1.1.0+0");
    assert!(fixed.cut_points > 100);
    assert!(fixed.failures.is_empty(), "{}", fixed.class_summary());
}

#[test]
fn esp32c2_burns_digest_and_flash_encryption_key_into_its_one_block() {
    let both = "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n\
                CONFIG_SECURE_FLASH_ENC_ENABLED=y\n";
    for (extra, works) in [
        ("", false),
        (
            "CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER=y\n\
             CONFIG_SECURE_FLASH_ENCRYPTION_AES128_DERIVED=y\n",
            true,
        ),
    ] {
        let mut bench = Bench::new(Target::Esp32c2, &format!("{both}{extra}"));
        let (primary, _) = bench.slot(0, true);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();
        let key = Sbv2Key::generate(SigningScheme::Ecdsa256).unwrap();
        let signed = sbv2_signed(&bench.bootloader(), &key);
        bench.flash_bootloader(&signed);
        let report = bench.boot();
        if !works {
            assert!(!report.boot.booted);
            let error = report.boot.error.unwrap();
            assert!(
                error.contains("CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER"),
                "{error}"
            );
            continue;
        }
        assert!(
            report.boot.booted,
            "{:?} {:?}",
            report.boot.error, report.first_boot
        );
        assert_eq!(report.resets, 1);
        let efuses = bench.device.efuses.as_ref().unwrap();
        assert!(efuses.secure_boot_v2_enabled() && efuses.flash_encryption_enabled());
        assert_eq!(
            fuses::flash_encryption_key(efuses).unwrap().unwrap().bits(),
            128
        );
        assert_eq!(
            bench.boot().rom.unwrap().secure_boot,
            RomSecureBoot::Verified
        );
    }
}

/// Issue 15: on an encrypted device whose secondary slot is physically
/// erased, MCUboot reads garbage through the port's decrypting backend;
/// `set-pending` says so (erased flash reads as garbage) instead of calling
/// it a corrupt trailer or a bad header.
#[test]
fn set_pending_on_encrypted_erased_secondary_says_it_reads_as_garbage() {
    let mut bench = Bench::new(Target::Esp32c3, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
    let (primary, _) = bench.slot(0, true);
    let app = bench.app("1.0.0", 0, true);
    bench.device.write_flash(primary, &app).unwrap();
    assert!(bench.boot().boot.booted);
    // erase the secondary's first sector physically (a host-side erase)
    let (secondary, _) = bench.slot(0, false);
    bench.device.write_flash(secondary, &[0xff; 32]).unwrap();
    let error = app_call(
        &mut bench.device,
        0,
        AppCall::SetPending { permanent: false },
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ChipError::NoUpgradeImage {
                why: NoUpgradeImage::ErasedEncrypted,
                ..
            }
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("erased flash reads back as garbage") && !text.contains("trailer"),
        "{text}"
    );
}

/// A small layout (128 KiB slots, one 4 KiB scratch sector) so that whole
/// power-on sweeps stay short in a debug build.
const SMALL_LAYOUT: &str = "CONFIG_ESP_FLASH_SIZE=1MB\n\
    CONFIG_ESP_APPLICATION_SIZE=0x20000\n\
    CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS=0x20000\n\
    CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x40000\n\
    CONFIG_ESP_SCRATCH_OFFSET=0x60000\n\
    CONFIG_ESP_SCRATCH_SIZE=0x1000\n";

/// The port's strategies: name, bootloader.conf lines.
const STRATEGY_CONFS: [(&str, &str); 4] = [
    ("swap-scratch", ""),
    ("swap-move", "CONFIG_ESP_BOOT_SWAP_USING_MOVE=y\n"),
    ("swap-offset", "CONFIG_ESP_BOOT_SWAP_USING_OFFSET=y\n"),
    ("overwrite-only", "CONFIG_ESP_BOOT_UPGRADE_ONLY=y\n"),
];

/// [`encrypted_upgrade_bench`] on [`SMALL_LAYOUT`] under `strategy`, with
/// Secure Boot V2 on as well when `secure_boot` (the demo's chip: the
/// first boot enables both, then the upgrade is staged).
fn small_encrypted_upgrade(strategy: &str, secure_boot: bool) -> Bench {
    let sb = if secure_boot {
        "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n"
    } else {
        ""
    };
    let mut bench = Bench::new(
        Target::Esp32c3,
        &format!("CONFIG_SECURE_FLASH_ENC_ENABLED=y\n{sb}{SMALL_LAYOUT}{strategy}"),
    );
    if secure_boot {
        let key = &sb_keys(bench.chip)[0];
        let signed = sbv2_signed(&bench.bootloader(), key);
        bench.flash_bootloader(&signed);
    }
    let (primary, _) = bench.slot(0, true);
    // 64 KiB apps: with the 12-sector trailer (room for 512 x 3 status
    // records of 32 bytes) the slot is nearly full, so the swap's status
    // writes reach several trailer sectors, as on the default layout
    let app = bench.app_sized("1.0.0", 0, true, Some(0x10000));
    bench.device.write_flash(primary, &app).unwrap();
    let first = bench.boot();
    assert!(first.boot.booted, "{:?}", first.boot.error);
    let update = bench.app_sized("1.1.0", 0, false, Some(0x10000));
    app_write_update(&mut bench.device, 0, &update).unwrap();
    app_call(
        &mut bench.device,
        0,
        AppCall::SetPending { permanent: true },
    )
    .unwrap();
    bench
}

/// Every eFuse block as the hardware reads it.
fn fuse_blocks(device: &Device) -> Vec<Vec<u8>> {
    let efuses = device.efuses.as_ref().unwrap();
    (0..efuses.table().blocks.len())
        .map(|block| efuses.hardware_block_bytes(block))
        .collect()
}

/// With flash encryption on (and Secure Boot V2 with swap-scratch, as in
/// the demo), the state a whole power-on cut at operation k leaves (flash
/// and eFuses) is the state of replaying the recorded physical operations
/// 1..k-1 of the uninterrupted power-on and issuing operation k under the
/// cut: the premise of the chip sweep's `SweepMethod::Replay`. Whole
/// power-ons from the start cost O(k) each, so a spread of operations is
/// checked (both cut modes), including the first and the last.
#[test]
fn replayed_encrypted_cut_state_is_the_cut_power_ons() {
    for (name, conf) in STRATEGY_CONFS {
        let bench = small_encrypted_upgrade(conf, name == "swap-scratch");
        let mut reference = bench.device.clone();
        reference.flash.start_recording();
        let report = power_on(&mut reference, None);
        let log = reference.flash.take_recording();
        assert!(report.boot.booted, "{name}: {:?}", report.boot.error);
        assert!(report.first_boot.is_empty() && report.resets == 0, "{name}");
        assert_eq!(log.len() as u64, report.boot.flash_ops, "{name}");
        let fuses = fuse_blocks(&bench.device);
        let n = log.len();
        let mut picks: Vec<usize> = (1..=n).step_by((n / 24).max(1)).collect();
        picks.extend([2, 3, n - 1, n]);
        picks.sort_unstable();
        picks.dedup();
        let mut prefix = bench.device.flash.clone();
        let mut applied = 0;
        for k in picks {
            while applied + 1 < k {
                prefix.replay(&log[applied]).unwrap();
                applied += 1;
            }
            for mode in [CutMode::Clean, CutMode::Torn] {
                let mut cut = bench.device.clone();
                let r = power_on(&mut cut, Some((k as u64 - 1, mode)));
                assert!(r.boot.interrupted, "{name} op {k} {mode:?}");
                let mut replayed = prefix.clone();
                replayed.arm_power_cut(1, mode);
                assert!(matches!(
                    replayed.replay(&log[k - 1]),
                    Err(flash_sim::flash::FlashError::PowerLost { .. })
                ));
                assert!(
                    cut.flash.data() == replayed.data(),
                    "{name} op {k} {mode:?}: flash states differ"
                );
                assert!(fuse_blocks(&cut) == fuses, "{name} op {k}: eFuses changed");
            }
        }
        for op in &log[applied..] {
            prefix.replay(op).unwrap();
        }
        assert!(prefix.data() == reference.flash.data(), "{name}");
    }
}

/// With flash encryption on, the replaying chip sweep and the sweep of
/// whole power-ons report the same cut points and the same typed failures
/// (kind, class and tag, safety), on every strategy, clean and torn.
#[test]
fn replay_and_power_on_chip_sweeps_agree() {
    for (name, conf) in STRATEGY_CONFS {
        let bench = small_encrypted_upgrade(conf, name == "swap-scratch");
        let run = |method| {
            let options = ChipSweepOptions::new(true)
                .with_method(method)
                .with_threads(2);
            sweep_chip(&bench.device, &options, &|_, _| {}).unwrap()
        };
        let replay = run(flash_sim::sweep::SweepMethod::Replay);
        let whole = run(flash_sim::sweep::SweepMethod::Rerun);
        eprintln!(
            "{name}: {} points, replay {:.2} s, power-ons {:.2} s; {}",
            replay.cut_points,
            replay.seconds,
            whole.seconds,
            replay.class_summary()
        );
        assert!(replay.cut_points > 100, "{name}: {}", replay.cut_points);
        assert_eq!(replay.cut_points, whole.cut_points, "{name}");
        assert_eq!(replay.failures, whole.failures, "{name}");
        assert_eq!(replay.classes, whole.classes, "{name}");
    }
}
