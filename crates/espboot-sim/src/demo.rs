//! `espboot demo`: the whole MCUboot-on-Espressif chain on a fresh virtual
//! device, narrated step by step, each step checked against what the seed
//! documents say should happen.
//!
//! Everything runs through the same libraries as the CLI: keys and signing
//! from `mcuboot-image` and `esp-secure`, eFuse burns from `esp-efuse`, and
//! every power-on through the virtual chip ([`crate::chip::boot`]: the ROM's
//! Secure Boot V2 check and flash decryption, MCUboot over the port's
//! encrypted flash backend, app loading). The work directory keeps every
//! file a user would have (keys, `bootloader.conf`, signed images, the
//! device directory `device/` with `flash.bin`, `device.json` and
//! `efuse.bin`), so the same state can be inspected afterwards with
//! `espboot sim`, `espboot efuse` or the reference tools.

use std::path::{Path, PathBuf};

use esp_efuse::{policy, Burn, Efuses, Field, KeyGroup, KeyOptions};
use esp_image::Chip;
use esp_secure::flash_encryption::{FlashCrypt, FlashEncryptionKey};
use esp_secure::sbv2;
use esp_secure::sbv2::{SigningKey as Sbv2Key, SigningScheme};
use mcuboot_boot::SwapType;
use mcuboot_image::keys::{KeyType, PrivateKey};
use mcuboot_image::sign::{ImageBuilder, KeySigner, SignOptions, Trailer};
use mcuboot_image::ImageVersion;
use serde::Serialize;

use crate::chip::app::{build_app, AppOptions};
use crate::chip::boot::{self as chip_boot, AppCall, ChipBootReport};
use crate::chip::bootloader::build_bootloader;
use crate::chip::fuses;
use crate::config::{ConfigFile, Target};
use crate::device::{Device, DeviceDir};
use flash_sim::flash::CutMode;
use flash_sim::run::BootReport;

/// What to run the demo on.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub chip: Chip,
    /// The work directory; must exist and be empty.
    pub dir: PathBuf,
}

/// One narrated step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub number: usize,
    pub title: String,
    /// What was done and observed, one line each.
    pub details: Vec<String>,
    /// The step behaved as the documentation says it should.
    pub ok: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub target: String,
    pub dir: String,
    pub steps: Vec<Step>,
    pub ok: bool,
}

/// Narration and progress hooks of a run. `Sync` because the power-cut
/// sweep reports progress from its worker threads.
pub trait DemoObserver: Sync {
    /// A step is starting.
    fn start(&mut self, number: usize, title: &str);
    /// A step finished.
    fn finish(&mut self, step: &Step);
    /// Power-cut sweep progress: points done, total.
    fn sweep_progress(&self, done: u64, total: u64);
}

type StepResult = Result<Vec<String>, String>;

/// The key and slot facts shared by the steps.
struct Demo {
    chip: Chip,
    dir: PathBuf,
    device: Device,
    /// `device/` in the work directory, locked for the whole run.
    device_dir: DeviceDir,
    /// The merged bootloader configuration (port defaults + bootloader.conf).
    config: ConfigFile,
    /// The MCUboot image signer (the key in `mcuboot-signing-key.pem`).
    signer: KeySigner,
    sbv2_key: Sbv2Key,
    fe_key: FlashEncryptionKey,
    slot_size: u32,
    primary: u32,
    secondary: u32,
}

/// The MCUboot port's bootloader configuration used by the demo: ECDSA
/// P-256 image signatures (`imgtool keygen -t ecdsa-p256`), version-based
/// downgrade prevention (seed 000 "Downgrade prevention"), and Secure Boot
/// V2 with flash encryption in release mode, provisioned from the host
/// before the first boot (seed 003), so the port finds them enabled.
const BOOTLOADER_CONF: &str = "\
# espboot demo: MCUboot port configuration (see bootloader.conf of the port)
CONFIG_ESP_SIGN_EC256=y
CONFIG_ESP_SIGN_KEY_FILE=mcuboot-signing-key.pem
CONFIG_ESP_DOWNGRADE_PREVENTION=y
CONFIG_SECURE_BOOT=y
CONFIG_SECURE_BOOT_V2_ENABLED=y
CONFIG_SECURE_FLASH_ENC_ENABLED=y
CONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y
";

/// Runs the demo. Returns `Err` only when the demo itself cannot proceed
/// (e.g. the work directory cannot be written); a step that does not behave
/// as documented is reported in the [`DemoReport`] with `ok = false`, and the
/// run stops there.
///
/// # Errors
/// A one-line description of what could not be set up.
pub fn run_demo(
    options: &DemoOptions,
    observer: &mut dyn DemoObserver,
) -> Result<DemoReport, String> {
    let mut report = DemoReport {
        target: options.chip.name().to_owned(),
        dir: options.dir.display().to_string(),
        steps: Vec::new(),
        ok: true,
    };
    let step = |report: &mut DemoReport,
                observer: &mut dyn DemoObserver,
                title: &str,
                body: &mut dyn FnMut(&dyn DemoObserver) -> StepResult|
     -> bool {
        let number = report.steps.len() + 1;
        observer.start(number, title);
        let (details, ok) = match body(&*observer) {
            Ok(details) => (details, true),
            Err(reason) => (vec![reason], false),
        };
        let s = Step {
            number,
            title: title.to_owned(),
            details,
            ok,
        };
        observer.finish(&s);
        report.ok &= ok;
        report.steps.push(s);
        ok
    };

    let mut demo: Option<Demo> = None;
    let ok = step(
        &mut report,
        observer,
        "Generate the keys: MCUboot image signing, Secure Boot V2 signing, flash encryption",
        &mut |_| {
            let (d, lines) = Demo::setup(options)?;
            demo = Some(d);
            Ok(lines)
        },
    );
    let Some(mut demo) = demo.filter(|_| ok) else {
        return Ok(report);
    };
    type Action = fn(&mut Demo, &dyn DemoObserver) -> StepResult;
    let steps: [(&str, Action); 9] = [
        (
            "Provision flash encryption from the host (seed 003: burn the key, then the crypt counter)",
            Demo::provision_flash_encryption,
        ),
        (
            "Provision Secure Boot V2 from the host (seed 003: burn the key digest, then enable)",
            Demo::provision_secure_boot,
        ),
        (
            "Build, sign and encrypt the bootloader; the ROM refuses a tampered one",
            Demo::bootloader,
        ),
        (
            "Flash the signed, encrypted app 1.0.0 and power on",
            Demo::first_boot,
        ),
        (
            "Test upgrade to 1.1.0 that is not confirmed: it reverts",
            Demo::test_upgrade_reverts,
        ),
        ("Upgrade to 1.1.0 and confirm it: it stays", Demo::confirmed_upgrade),
        ("Try to downgrade to 1.0.5: refused", Demo::downgrade_refused),
        ("Try a tampered 1.2.0: refused", Demo::tampered_refused),
        (
            "Cut the power in the middle of the 1.2.0 swap: the next boot recovers",
            Demo::power_cut_recovers,
        ),
    ];
    for (title, action) in steps {
        let ok = step(&mut report, observer, title, &mut |obs| {
            action(&mut demo, obs)
        });
        if !ok {
            break;
        }
    }
    demo.save()
        .map_err(|e| format!("cannot save the device in {}: {e}", demo.dir.display()))?;
    Ok(report)
}

/// Writes one of the demo's files (keys, images, `bootloader.conf`)
/// atomically; key material with mode 0600.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    atomic_write::write_atomic(path, bytes, secret).map_err(|e| error_chain(&e))
}

/// An error and its sources on one line (`a: b: c`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn version(text: &str) -> Result<ImageVersion, String> {
    text.parse().map_err(|e| format!("version {text}: {e:?}"))
}

fn expect_running(report: &BootReport, version: &str, swap: &str) -> StepResult {
    if !report.booted {
        return Err(format!(
            "expected {version} to boot, nothing booted: {}",
            report.error.as_deref().unwrap_or("no error reported")
        ));
    }
    let running = report.images.first().map(|i| i.version.as_str());
    if running != Some(version) || report.swap.name() != swap {
        return Err(format!(
            "expected {version} after a '{swap}' boot, got {} after '{}'",
            running.unwrap_or("nothing"),
            report.swap.name()
        ));
    }
    Ok(vec![format!("boot: {}", report.summary())])
}

impl Demo {
    fn setup(options: &DemoOptions) -> Result<(Demo, Vec<String>), String> {
        let chip = options.chip;
        let dir = options.dir.clone();
        let mut lines = Vec::new();

        let mcuboot_key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|e| e.to_string())?;
        let pem = mcuboot_key.to_pkcs8_pem(None).map_err(|e| e.to_string())?;
        write_file(&dir.join("mcuboot-signing-key.pem"), pem.as_bytes(), true)?;
        lines.push(
            "mcuboot-signing-key.pem: ECDSA P-256 (imgtool keygen -t ecdsa-p256); \
             its public key goes into the bootloader (CONFIG_ESP_SIGN_KEY_FILE)"
                .into(),
        );

        // ESP32-C2 verifies only ECDSA signatures in ROM; the others here
        // support RSA-3072, the seed's default scheme.
        let scheme = if chip == Chip::Esp32c2 {
            SigningScheme::Ecdsa256
        } else {
            SigningScheme::Rsa3072
        };
        let sbv2_key = Sbv2Key::generate(scheme).map_err(|e| e.to_string())?;
        let pem = sbv2_key.to_pem().map_err(|e| e.to_string())?;
        write_file(
            &dir.join("secure-boot-signing-key.pem"),
            pem.as_bytes(),
            true,
        )?;
        lines.push(format!(
            "secure-boot-signing-key.pem: {} (espsecure generate-signing-key --version 2 --scheme {})",
            scheme.name(),
            scheme.name()
        ));

        // ESP32-C2 has a single key block: a 128-bit flash encryption key in
        // its low half leaves the high half for the Secure Boot digest
        // (seed 003, "For burning both keys together").
        let (fe_bits, fe_kind) = match chip {
            Chip::Esp32 => (256, "ESP32 AES-256"),
            Chip::Esp32c2 => (128, "XTS-AES-128 derived from 128 eFuse bits"),
            _ => (256, "XTS-AES-128"),
        };
        let fe_key = FlashEncryptionKey::generate(fe_bits);
        write_file(
            &dir.join("flash-encryption-key.bin"),
            fe_key.as_bytes(),
            true,
        )?;
        lines.push(format!(
            "flash-encryption-key.bin: {fe_bits} bits ({fe_kind})"
        ));

        let conf = dir.join("bootloader.conf");
        write_file(&conf, BOOTLOADER_CONF.as_bytes(), false)?;
        let target: Target = chip
            .name()
            .parse()
            .map_err(|e: crate::config::ConfigError| e.to_string())?;
        let mut config = target.default_config();
        config.apply_file(&conf).map_err(|e| e.to_string())?;
        let device = Device::from_config(target, &config, None).map_err(|e| e.to_string())?;
        let device_dir =
            DeviceDir::create(dir.join("device"), &device).map_err(|e| error_chain(&e))?;
        let slots = device
            .settings
            .map
            .images
            .first()
            .ok_or("the flash map has no image slots")?;
        let (primary, secondary, slot_size) = (
            slots.primary.offset,
            slots.secondary.offset,
            slots.primary.size,
        );
        lines.push(format!(
            "virtual {chip}: primary slot {primary:#x}, secondary {secondary:#x}, {slot_size:#x} bytes each"
        ));
        let demo = Demo {
            chip,
            dir,
            device,
            device_dir,
            config,
            signer: KeySigner::new(mcuboot_key, false).map_err(|e| e.to_string())?,
            sbv2_key,
            fe_key,
            slot_size,
            primary,
            secondary,
        };
        Ok((demo, lines))
    }

    /// The device's eFuses (every demo chip is modelled).
    fn efuses(&mut self) -> Result<&mut Efuses, String> {
        self.device
            .efuses
            .as_mut()
            .ok_or_else(|| format!("{} has no eFuse model", self.chip))
    }

    /// Burns what is staged.
    fn burn(&mut self) -> Result<(), String> {
        self.efuses()?.commit().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// A field's value as espefuse shows it.
    fn field(&mut self, field: Field) -> Result<String, String> {
        let value = self.efuses()?.get(field).map_err(|e| e.to_string())?;
        Ok(value.to_string())
    }

    fn provision_flash_encryption(&mut self, _: &dyn DemoObserver) -> StepResult {
        let counter = policy::crypt_counter(self.chip);
        let mut lines = Vec::new();
        if self.chip == Chip::Esp32c2 {
            // One key block for both keys: once the flash encryption key is
            // burned the block is write-protected, so the seed burns the
            // Secure Boot digest in the same espefuse run.
            let group = self.digest_group()?;
            self.efuses()?
                .stage_key_digests(&[group], KeyOptions::default())
                .map_err(|e| e.to_string())?;
            lines.push(
                "espefuse burn-key-digest secure-boot-signing-key.pem, in the same run as:".into(),
            );
        }
        let key = zeroize::Zeroizing::new(self.fe_key.as_bytes().to_vec());
        let efuses = self.efuses()?;
        let group = policy::flash_encryption_key_group(efuses, &key).map_err(|e| e.to_string())?;
        efuses
            .stage_keys(std::slice::from_ref(&group), KeyOptions::default())
            .map_err(|e| e.to_string())?;
        self.burn()?;
        let efuses = self.efuses()?;
        efuses.burn(counter, Burn::All).map_err(|e| e.to_string())?;
        let max = efuses.raw(counter).map_err(|e| e.to_string())?;
        lines.push(
            format!(
                "espefuse burn-key {} flash-encryption-key.bin {}",
                group.block,
                group.purpose.map(|p| p.to_string()).unwrap_or_default()
            )
            .trim_end()
            .to_owned(),
        );
        lines.push(format!(
            "espefuse burn-efuse {counter} {max}: {counter} = {}",
            self.field(counter)?
        ));
        let efuses = self.efuses()?;
        let key_field = efuses
            .table()
            .block_of_key(group.block)
            .and_then(|b| Field::from_name(b.name));
        if let Some(field) = key_field {
            if efuses.is_readable(field, None).map_err(|e| e.to_string())? {
                return Err("the flash encryption key is still readable after burn-key".into());
            }
            lines.push("the key is read-protected: software reads it back as zeros".into());
        }
        Ok(lines)
    }

    /// The Secure Boot V2 digest as `burn-key-digest` stages it, in its
    /// slot ([`policy::secure_boot_digest_groups`]).
    fn digest_group(&mut self) -> Result<KeyGroup, String> {
        let digest = self.sbv2_key.public_key().digest();
        write_file(&self.dir.join("secure-boot-digest.bin"), &digest, false)?;
        policy::secure_boot_digest_groups(self.efuses()?, &[digest])
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or_else(|| "no Secure Boot V2 digest slot".to_string())
    }

    fn provision_secure_boot(&mut self, _: &dyn DemoObserver) -> StepResult {
        let mut lines =
            vec!["espsecure digest-sbv2-public-key -> secure-boot-digest.bin".to_owned()];
        if self.chip == Chip::Esp32c2 {
            lines.push("the digest went into BLOCK_KEY0 with the flash encryption key".into());
        } else {
            let group = self.digest_group()?;
            lines.push(
                format!(
                    "espefuse burn-key {} secure-boot-digest.bin {}",
                    group.block,
                    group.purpose.map(|p| p.to_string()).unwrap_or_default()
                )
                .trim_end()
                .to_owned(),
            );
            // ESP32 takes the digest file through `burn-key secure_boot_v2`
            // (seed 003); `burn-key-digest` there needs an ECO3 revision.
            let esp32 = self.chip == Chip::Esp32;
            let efuses = self.efuses()?;
            let staged = if esp32 {
                efuses.stage_keys(&[group], KeyOptions::default())
            } else {
                efuses.stage_key_digests(&[group], KeyOptions::default())
            };
            staged.map_err(|e| e.to_string())?;
            self.burn()?;
        }
        let enable = policy::secure_boot_enable(self.chip);
        self.efuses()?
            .burn(enable, Burn::All)
            .map_err(|e| e.to_string())?;
        lines.push(format!(
            "espefuse burn-efuse {enable}: {enable} = {}",
            self.field(enable)?
        ));
        Ok(lines)
    }

    /// The chip's flash encryption as the eFuses configure it (what the
    /// host uses with `espsecure encrypt-flash-data` and the same key file).
    fn crypt(&mut self) -> Result<Box<dyn FlashCrypt>, String> {
        let efuses = self.efuses()?;
        fuses::flash_crypt(efuses)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "flash encryption is not enabled in eFuse".to_string())
    }

    fn power_on(&mut self) -> ChipBootReport {
        chip_boot::power_on(&mut self.device, None)
    }

    fn bootloader(&mut self, _: &dyn DemoObserver) -> StepResult {
        let keys = self.config.embedded_keys().map_err(|e| e.to_string())?;
        let image = build_bootloader(self.device.settings.target, &self.config, &keys)
            .map_err(|e| e.to_string())?;
        write_file(&self.dir.join("bootloader.bin"), &image, false)?;
        let signed = sbv2::sign_image(&image, &[&self.sbv2_key], sbv2::SignOptions::default())
            .map_err(|e| e.to_string())?;
        write_file(
            &self.dir.join("bootloader-signed.bin"),
            &signed.bytes,
            false,
        )?;
        let offset = self.chip.bootloader_offset();
        let crypt = self.crypt()?;
        let encrypt = |bytes: &[u8]| -> Result<Vec<u8>, String> {
            let mut out = bytes.to_vec();
            crypt.encrypt(offset, &mut out).map_err(|e| e.to_string())?;
            Ok(out)
        };
        let encrypted = encrypt(&signed.bytes)?;
        write_file(
            &self.dir.join("bootloader-signed-enc.bin"),
            &encrypted,
            false,
        )?;
        // An attacker's bootloader first: rebuilt without downgrade
        // prevention, carrying the genuine signature sector. The ROM must
        // refuse it.
        let mut weakened = self.config.clone();
        weakened.keys.remove("CONFIG_ESP_DOWNGRADE_PREVENTION");
        let mut tampered = build_bootloader(self.device.settings.target, &weakened, &keys)
            .map_err(|e| e.to_string())?;
        tampered.resize(signed.data_len, 0xff);
        tampered.extend_from_slice(signed.bytes.get(signed.data_len..).unwrap_or(&[]));
        self.flash(offset, &encrypt(&tampered)?)?;
        let refused = self.power_on();
        if refused.boot.booted {
            return Err("the ROM ran a tampered bootloader".into());
        }
        self.flash(offset, &encrypted)?;
        Ok(vec![
            format!(
                "bootloader.bin: ESP image carrying bootloader.conf and the MCUboot public key, {} bytes",
                image.len()
            ),
            format!(
                "espsecure sign-data --version 2: signature sector at {:#x}",
                signed.data_len
            ),
            format!("espsecure encrypt-flash-data --address {offset:#x}: bootloader-signed-enc.bin"),
            format!(
                "a rebuilt bootloader without downgrade prevention, with the genuine signature sector: {}",
                refused.boot.error.as_deref().unwrap_or("refused")
            ),
            format!("write bootloader-signed-enc.bin at {offset:#x}"),
        ])
    }

    /// An app payload with the port's load header (`espboot sim
    /// build-app`), signed like the seed's `imgtool sign --align 4 -v V -H 32
    /// --pad-header -S SLOT`, plus `--max-align 32` (flash encryption) and
    /// `-M 512` to match the port.
    fn app(&self, ver: &str, confirm: bool, pad: bool) -> Result<Vec<u8>, String> {
        let payload = build_app(self.chip, &AppOptions::new(ver)).map_err(|e| e.to_string())?;
        write_file(&self.dir.join(format!("app-{ver}.bin")), &payload, false)?;
        let mut opts = SignOptions::new(version(ver)?, 0x20, self.slot_size);
        opts.pad_header = true;
        opts.align = 4;
        opts.max_align = Some(32);
        opts.max_sectors = Some(512);
        opts.trailer = Trailer::from_flags(pad, false, confirm);
        let bytes = ImageBuilder::new(&opts)
            .signer(Some(&self.signer))
            .to_vec(payload)
            .map_err(|e| e.to_string())?;
        write_file(
            &self.dir.join(format!("app-{ver}-signed.bin")),
            &bytes,
            false,
        )?;
        Ok(bytes)
    }

    /// Writes `image` at `at` encrypted with the chip's key, as
    /// `espsecure encrypt-flash-data` then `esptool write_flash` does.
    fn flash_encrypted(&mut self, at: u32, image: &[u8]) -> Result<(), String> {
        let mut bytes = image.to_vec();
        bytes.resize(image.len().div_ceil(32) * 32, 0xff);
        self.crypt()?
            .encrypt(at, &mut bytes)
            .map_err(|e| e.to_string())?;
        self.flash(at, &bytes)
    }

    /// What the running app's update agent does with a new image: erase the
    /// secondary slot and write the image, both through the port's flash
    /// backend (`flash_area_erase`/`flash_area_write`), so the slot reads
    /// as erased through the decrypting cache and the image lands encrypted.
    fn download_update(&mut self, image: &[u8]) -> Result<(), String> {
        chip_boot::app_write_update(&mut self.device, 0, image)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn flash(&mut self, at: u32, image: &[u8]) -> Result<(), String> {
        self.device
            .write_flash(at, image)
            .map_err(|e| e.to_string())
    }

    fn app_call(&mut self, call: AppCall) -> Result<(), String> {
        chip_boot::app_call(&mut self.device, 0, call).map_err(|e| e.to_string())
    }

    fn first_boot(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.0.0", true, true)?;
        self.flash_encrypted(self.primary, &image)?;
        let mut lines = vec![format!(
            "write app-1.0.0-signed.bin encrypted for {:#x}",
            self.primary
        )];
        let report = self.power_on();
        let rom = report
            .rom
            .as_ref()
            .ok_or("the chip reported no ROM stage")?;
        if rom.secure_boot != "verified" || !rom.flash_encryption {
            return Err(format!(
                "expected the ROM to verify the bootloader and decrypt the flash, got secure boot '{}', flash encryption {}",
                rom.secure_boot, rom.flash_encryption
            ));
        }
        if !report.first_boot.is_empty() {
            return Err(format!(
                "the host provisioned everything, yet the port's first boot acted: {}",
                report.first_boot.join("; ")
            ));
        }
        lines.extend(
            report
                .lines()
                .into_iter()
                .take(report.lines().len().saturating_sub(1)),
        );
        lines.extend(expect_running(&report.boot, "1.0.0+0", "none")?);
        Ok(lines)
    }

    fn test_upgrade_reverts(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.1.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: false })?;
        let mut lines = vec![format!(
            "the running app downloads app-1.1.0-signed.bin into the secondary slot {:#x} (encrypted by the flash backend) and marks it pending (test)",
            self.secondary
        )];
        lines.extend(expect_running(&self.power_on().boot, "1.1.0+0", "test")?);
        lines.push("the app does not confirm; reset".into());
        lines.extend(expect_running(&self.power_on().boot, "1.0.0+0", "revert")?);
        Ok(lines)
    }

    fn confirmed_upgrade(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.1.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: false })?;
        let mut lines = expect_running(&self.power_on().boot, "1.1.0+0", "test")?;
        self.app_call(AppCall::Confirm)?;
        lines.push("the app confirms itself (boot_set_confirmed); reset".into());
        lines.extend(expect_running(&self.power_on().boot, "1.1.0+0", "none")?);
        Ok(lines)
    }

    fn downgrade_refused(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.0.5", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let report = self.power_on().boot;
        let running = report.images.first().map(|i| i.version.as_str());
        if running != Some("1.1.0+0") || report.swap == SwapType::Perm {
            return Err(format!(
                "the downgrade was not refused: running {}, swap '{}'",
                running.unwrap_or("nothing"),
                report.swap.name()
            ));
        }
        Ok(vec![
            "write app-1.0.5-signed.bin to the secondary slot, mark it pending (permanent)".into(),
            format!(
                "boot: {} (CONFIG_ESP_DOWNGRADE_PREVENTION)",
                report.summary()
            ),
        ])
    }

    fn tampered_refused(&mut self, _: &dyn DemoObserver) -> StepResult {
        let mut image = self.app("1.2.0", false, false)?;
        // One bit of the payload, inside the hashed region.
        let at = 0x20 + 96 + 10;
        image[at] ^= 0x01;
        write_file(&self.dir.join("app-1.2.0-tampered.bin"), &image, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let report = self.power_on().boot;
        let running = report.images.first().map(|i| i.version.as_str());
        if running != Some("1.1.0+0") {
            return Err(format!(
                "the tampered image was not refused: running {}",
                running.unwrap_or("nothing")
            ));
        }
        Ok(vec![
            format!(
                "flip one bit at offset {at:#x} of app-1.2.0-signed.bin, flash it, mark it pending"
            ),
            format!(
                "boot: {} (hash check failed; the slot is erased)",
                report.summary()
            ),
        ])
    }

    fn power_cut_recovers(&mut self, observer: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.2.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let sweep = chip_boot::sweep(&self.device, false, &|done, total| {
            observer.sweep_progress(done, total)
        })
        .map_err(|e| e.to_string())?;
        // With flash encryption the port erases a whole sector before each
        // encrypted write; cuts in that window lose the sector on silicon
        // too. Anything else is a failure of the demo.
        let hazards = sweep.failures.iter().filter(|f| f.hazard.is_some()).count();
        if let Some(other) = sweep.failures.iter().find(|f| f.hazard.is_none()) {
            return Err(format!(
                "{} of {} cut points broke the upgrade, first: {other}",
                sweep.failures.len() - hazards,
                sweep.cut_points
            ));
        }
        // a cut in the middle of the swap, at a point outside that window
        let failing: Vec<u64> = sweep.failures.iter().map(|f| f.operation).collect();
        let cut_at = (sweep.boot_ops / 2..sweep.boot_ops)
            .find(|k| !failing.contains(&(k + 1)))
            .ok_or("no cut point recovers")?;
        let cut = chip_boot::power_on(&mut self.device, Some((cut_at, CutMode::Clean)));
        if !cut.boot.interrupted {
            return Err("the power cut did not interrupt the swap".into());
        }
        let mut lines = vec![format!(
            "power cut after flash operation {cut_at} of {}: nothing booted",
            sweep.boot_ops
        )];
        let resumed = self.power_on().boot;
        let running = resumed.images.first().map(|i| i.version.as_str());
        if running != Some("1.2.0+0") {
            return Err(format!(
                "after the power cut, expected 1.2.0 to boot, got {}: {}",
                running.unwrap_or("nothing"),
                resumed.error.as_deref().unwrap_or("")
            ));
        }
        lines.push(format!(
            "power back: {} (the swap resumed from its status records)",
            resumed.summary()
        ));
        lines.push(format!(
            "at every one of the {} cut points: {} recover ({:.0} cut points/s)",
            sweep.cut_points,
            sweep.cut_points - hazards as u64,
            sweep.points_per_second
        ));
        if hazards > 0 {
            lines.push(format!(
                "{hazards} cut points land between the port's sector erase and its encrypted \
                 write-back (esp_mcuboot.c erases before every encrypted write) and lose that \
                 sector, as they would on silicon"
            ));
        }
        Ok(lines)
    }

    fn save(&self) -> Result<(), String> {
        self.device_dir
            .save(&self.device)
            .map_err(|e| error_chain(&e))
    }
}
