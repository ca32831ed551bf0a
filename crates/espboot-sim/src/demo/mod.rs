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

mod error;
mod steps;

pub use error::DemoError;

/// How many steps a demo run has when every step behaves as documented
/// (the first, key generation, and the nine after it).
pub const DEMO_STEPS: usize = 10;

/// The device directory, in the work directory, that keeps the device as
/// it was before the power-cut step's swap (1.2.0 pending), so the step's
/// sweep can be run by hand with `espboot sim sweep`.
pub const SWAP_PENDING_DIR: &str = "device-swap-pending";

/// What to run the demo on.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The chip to run it on.
    pub chip: Chip,
    /// The work directory; must exist and be empty.
    pub dir: PathBuf,
}

/// One narrated step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Its number, from 1.
    pub number: usize,
    /// What it shows.
    pub title: String,
    /// What was done and observed, one line each.
    pub details: Vec<String>,
    /// The step behaved as the documentation says it should.
    pub ok: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The target's name.
    pub target: String,
    /// The work directory.
    pub dir: String,
    /// The steps run, in order.
    pub steps: Vec<Step>,
    /// Every step behaved as documented.
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

type StepResult = Result<Vec<String>, DemoError>;

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
/// [`DemoError::SaveDevice`] when the device cannot be saved at the end.
pub fn run_demo(
    options: &DemoOptions,
    observer: &mut dyn DemoObserver,
) -> Result<DemoReport, DemoError> {
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
            Err(reason) => (vec![reason.to_string()], false),
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
    let steps: [(&str, Action); DEMO_STEPS - 1] = [
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
    demo.device_dir
        .save(&demo.device)
        .map_err(|source| DemoError::SaveDevice {
            dir: demo.dir.clone(),
            source: Box::new(source),
        })?;
    Ok(report)
}

/// Writes one of the demo's files (keys, images, `bootloader.conf`)
/// atomically; key material with mode 0600.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), DemoError> {
    atomic_write::write_atomic(path, bytes, secret).map_err(|source| DemoError::WriteFile {
        path: path.to_owned(),
        source,
    })
}

fn version(text: &str) -> Result<ImageVersion, DemoError> {
    text.parse().map_err(|source| DemoError::Version {
        text: text.to_owned(),
        source,
    })
}

fn expect_running(report: &BootReport, expected: &str, expected_swap: SwapType) -> StepResult {
    let expected = version(expected)?;
    if !report.booted {
        return Err(DemoError::NothingBooted {
            expected,
            error: report.error.clone(),
        });
    }
    let running = report.images.first().map(|i| i.version.clone());
    if running.as_deref() != Some(expected.to_string().as_str()) || report.swap != expected_swap {
        return Err(DemoError::WrongImage {
            expected,
            expected_swap,
            running,
            swap: report.swap,
        });
    }
    Ok(vec![format!("boot: {}", report.summary())])
}

impl Demo {
    fn setup(options: &DemoOptions) -> Result<(Demo, Vec<String>), DemoError> {
        let chip = options.chip;
        let dir = options.dir.clone();
        let mut lines = Vec::new();

        let mcuboot_key = PrivateKey::generate(KeyType::EcdsaP256)?;
        let pem = mcuboot_key.to_pkcs8_pem(None)?;
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
        let sbv2_key = Sbv2Key::generate(scheme)?;
        let pem = sbv2_key.to_pem()?;
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
        let target: Target = chip.name().parse()?;
        let mut config = target.default_config();
        config.apply_file(&conf)?;
        let device = Device::from_config(target, &config, None)?;
        let device_dir = DeviceDir::create(dir.join("device"), &device).map_err(|source| {
            DemoError::CreateDeviceDir {
                source: Box::new(source),
            }
        })?;
        let slots = device
            .settings
            .map
            .images
            .first()
            .ok_or(DemoError::NoImageSlots)?;
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
            signer: KeySigner::new(mcuboot_key, false)?,
            sbv2_key,
            fe_key,
            slot_size,
            primary,
            secondary,
        };
        Ok((demo, lines))
    }

    /// The device's eFuses (every demo chip is modelled).
    fn efuses(&mut self) -> Result<&mut Efuses, DemoError> {
        self.device
            .efuses
            .as_mut()
            .ok_or(DemoError::NoEfuseModel { chip: self.chip })
    }

    /// Burns what is staged.
    fn burn(&mut self) -> Result<(), DemoError> {
        self.efuses()?.commit()?;
        Ok(())
    }

    /// A field's value as espefuse shows it.
    fn field(&mut self, field: Field) -> Result<String, DemoError> {
        let value = self.efuses()?.get(field)?;
        Ok(value.to_string())
    }
}
