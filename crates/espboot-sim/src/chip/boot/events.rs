//! What the port's first boot did, as typed events: eFuses burned, keys
//! generated, regions encrypted. Each renders as the line `espboot sim
//! boot` prints after `first boot: ` (and as a string in `--json`).

use std::fmt;

use esp_efuse::{Field, KeyBlock, KeyPurpose};
use serde::{Serialize, Serializer};

use super::hex_digest;

/// One thing the port's first boot did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstBootEvent {
    /// The port reset the chip (after enabling flash encryption).
    Reset,
    /// ESP32-C2: the Secure Boot digest waits for the flash-encryption
    /// key's eFuse batch (one shared key block).
    DigestDeferred,
    /// A Secure Boot V2 key digest was burned.
    DigestBurned {
        /// The digest (SHA-256 of the public key).
        digest: [u8; 32],
        /// The block it went to (`BLOCK2` for the ESP32's
        /// `secure_boot_v2`).
        block: &'static str,
        /// Burned in one batch with the flash-encryption key (ESP32-C2).
        with_key: bool,
    },
    /// The Secure Boot V2 key digests already in eFuse are used.
    DigestsInEfuse,
    /// Secure boot was enabled; these fields were burned.
    SecureBootEnabled {
        /// The fields burned (enable bit, JTAG, ROM BASIC, download mode,
        /// revoked digest slots).
        burned: Vec<Field>,
    },
    /// The flash-encryption key the host burned is used.
    FlashKeyInEfuse,
    /// The chip generated its flash-encryption key and burned it read- and
    /// write-protected.
    FlashKeyGenerated {
        /// Key length in bits.
        bits: usize,
        /// The key block it went to.
        block: KeyBlock,
        /// Its key purpose (`None` on the ESP32).
        purpose: Option<KeyPurpose>,
    },
    /// An image's primary slot holds no plaintext app and was left as is.
    PrimaryLeftPlain {
        /// The image.
        image: usize,
    },
    /// A flash region was encrypted in place.
    RegionEncrypted {
        /// Which region.
        region: FlashRegion,
        /// Its first address.
        start: u32,
        /// Its end (exclusive).
        end: u64,
    },
    /// Flash encryption was enabled: the crypt counter and restrictions
    /// burned.
    FlashEncryptionEnabled {
        /// Release mode (otherwise development mode).
        release: bool,
        /// The crypt counter field.
        counter: Field,
        /// Its raw value afterwards.
        counter_value: u64,
        /// The restriction fields burned.
        burned: Vec<Field>,
        /// The counter was write-protected (release mode).
        counter_write_protected: bool,
    },
}

/// A region the first boot encrypts in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashRegion {
    /// The second-stage bootloader (and its signature sector).
    Bootloader,
    /// An image's primary slot.
    Primary(usize),
    /// An image's secondary slot.
    Secondary(usize),
    /// The swap-scratch area.
    Scratch,
}

impl fmt::Display for FlashRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashRegion::Bootloader => f.write_str("bootloader"),
            FlashRegion::Primary(i) => write!(f, "image {i} primary slot"),
            FlashRegion::Secondary(i) => write!(f, "image {i} secondary slot"),
            FlashRegion::Scratch => f.write_str("scratch"),
        }
    }
}

impl fmt::Display for FirstBootEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |fields: &[Field]| {
            fields
                .iter()
                .map(|field| field.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            FirstBootEvent::Reset => f.write_str("reset"),
            FirstBootEvent::DigestDeferred => f.write_str(
                "Secure Boot V2 key digest deferred to the flash-encryption key's eFuse batch",
            ),
            FirstBootEvent::DigestBurned {
                digest,
                block,
                with_key,
            } => write!(
                f,
                "burned Secure Boot V2 key digest {} into {block}{}",
                hex_digest(digest),
                if *with_key { " with the key" } else { "" }
            ),
            FirstBootEvent::DigestsInEfuse => {
                f.write_str("using the Secure Boot V2 key digests already in eFuse")
            }
            FirstBootEvent::SecureBootEnabled { burned } => {
                write!(f, "secure boot enabled (burned {})", names(burned))
            }
            FirstBootEvent::FlashKeyInEfuse => {
                f.write_str("flash encryption: using the key already in eFuse")
            }
            FirstBootEvent::FlashKeyGenerated {
                bits,
                block,
                purpose,
            } => write!(
                f,
                "flash encryption: generated a {bits}-bit key on chip and burned it into {block}{} (read- and write-protected)",
                purpose.map(|p| format!(" ({p})")).unwrap_or_default()
            ),
            FirstBootEvent::PrimaryLeftPlain { image } => write!(
                f,
                "flash encryption: image {image} primary slot holds no plaintext app (no load header at +0x20), left as is"
            ),
            FirstBootEvent::RegionEncrypted { region, start, end } => write!(
                f,
                "flash encryption: encrypted {region} {start:#x}..{end:#x} in place"
            ),
            FirstBootEvent::FlashEncryptionEnabled {
                release,
                counter,
                counter_value,
                burned,
                counter_write_protected,
            } => {
                let mut list: Vec<&str> = burned.iter().map(|field| field.name()).collect();
                if *counter_write_protected {
                    list.push("write protection of the counter");
                }
                write!(
                    f,
                    "flash encryption enabled in {} mode ({counter} = {counter_value:#b}{}{})",
                    if *release { "release" } else { "development" },
                    if list.is_empty() { "" } else { "; burned " },
                    list.join(", ")
                )
            }
        }
    }
}

/// In `--json`, an event is the line it prints.
impl Serialize for FirstBootEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
