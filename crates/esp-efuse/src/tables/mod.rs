//! Per-chip eFuse tables (blocks, fields, key purposes, emulator registers).
//!
//! The data files next to this module are generated from espefuse 5.6.0 by
//! `scripts/gen-efuse-tables` (kept out of rustfmt so that regenerating them
//! gives no diff); only the types live here.

#[rustfmt::skip]
mod esp32;
#[rustfmt::skip]
mod esp32c2;
#[rustfmt::skip]
mod esp32c3;
#[rustfmt::skip]
mod esp32c6;
#[rustfmt::skip]
mod esp32h2;
#[rustfmt::skip]
mod esp32s2;
#[rustfmt::skip]
mod esp32s3;
#[rustfmt::skip]
mod fields;
#[rustfmt::skip]
mod key_blocks;
#[rustfmt::skip]
mod purposes;

pub use fields::Field;
pub use key_blocks::KeyBlock;
pub use purposes::KeyPurpose;

/// The chips, shared with the rest of espboot (`esp_image::Chip`); this
/// crate adds their eFuse facts through [`ChipEfuses`].
pub use esp_image::Chip;

impl core::fmt::Display for Field {
    /// espefuse's canonical name.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::fmt::Display for KeyBlock {
    /// espefuse's spelling.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// eFuse facts of each [`Chip`].
pub trait ChipEfuses: Sized {
    /// The generated table of this chip.
    fn table(self) -> &'static ChipTable;

    /// The chips whose KEY_PURPOSE_5 (BLOCK9) cannot hold XTS keys
    /// (SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK; espefuse `<chip>/fields.py`
    /// `EfuseKeyPurposeField.save`). H2 only refuses XTS_AES_128_KEY and ECDSA_KEY.
    fn block9_refuses(self, purpose: KeyPurpose) -> bool;

    /// The BLOCK0 fields espefuse burns in a second pass, after everything
    /// else (`postpone_efuses_from_block0_to_burn`, base_fields.py).
    fn postponed_fields(self) -> &'static [Field];
}

impl ChipEfuses for Chip {
    /// The generated table of this chip.
    fn table(self) -> &'static ChipTable {
        match self {
            Chip::Esp32 => &esp32::ESP32,
            Chip::Esp32s2 => &esp32s2::ESP32S2,
            Chip::Esp32s3 => &esp32s3::ESP32S3,
            Chip::Esp32c2 => &esp32c2::ESP32C2,
            Chip::Esp32c3 => &esp32c3::ESP32C3,
            Chip::Esp32c6 => &esp32c6::ESP32C6,
            Chip::Esp32h2 => &esp32h2::ESP32H2,
        }
    }

    /// The chips whose KEY_PURPOSE_5 (BLOCK9) cannot hold XTS keys
    /// (SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK; espefuse `<chip>/fields.py`
    /// `EfuseKeyPurposeField.save`). H2 only refuses XTS_AES_128_KEY and ECDSA_KEY.
    fn block9_refuses(self, purpose: KeyPurpose) -> bool {
        match self {
            Chip::Esp32s3 | Chip::Esp32c3 | Chip::Esp32c6 => matches!(
                purpose,
                KeyPurpose::XtsAes128Key
                    | KeyPurpose::XtsAes256Key
                    | KeyPurpose::XtsAes256Key1
                    | KeyPurpose::XtsAes256Key2
                    | KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits
            ),
            Chip::Esp32h2 => matches!(purpose, KeyPurpose::XtsAes128Key | KeyPurpose::EcdsaKey),
            _ => false,
        }
    }

    /// The BLOCK0 fields espefuse burns in a second pass, after everything
    /// else (`postpone_efuses_from_block0_to_burn`, base_fields.py).
    fn postponed_fields(self) -> &'static [Field] {
        match self {
            Chip::Esp32 => &[
                Field::WrDis,
                Field::RdDis,
                Field::UartDownloadDis,
                Field::AbsDone1,
                Field::FlashCryptCnt,
            ],
            _ => &[
                Field::WrDis,
                Field::RdDis,
                Field::EnableSecurityDownload,
                Field::DisDownloadMode,
                Field::SpiBootCryptCnt,
                Field::SecureBootEn,
            ],
        }
    }
}

/// One chip's eFuse layout.
#[derive(Debug)]
pub struct ChipTable {
    /// Bytes of controller register space the virtual file holds (`EFUSE_MEM_SIZE`).
    pub mem_size: usize,
    /// `DR_REG_EFUSE_BASE`.
    pub base_addr: u32,
    /// Blocks in id order.
    pub blocks: &'static [BlockDef],
    /// The blocks `burn-key` accepts, under every spelling it accepts.
    pub key_blocks: &'static [KeyBlockDef],
    /// Fields in espefuse's order (summary order within a category).
    pub fields: &'static [FieldDef],
    /// Named key purposes with their numeric values.
    pub key_purposes: &'static [KeyPurposeDef],
    /// Width of KEY_PURPOSE_n when unused values are accepted as `CUSTOM_<n>` (0: none).
    pub custom_key_purpose_bits: u8,
    /// Controller registers (offset, value) the emulator leaves set after a burn.
    pub controller_regs: &'static [(usize, u32)],
    /// Coding-error status registers (offsets), non-zero when a block read back with errors.
    pub error_regs: &'static [usize],
    /// Where the three RS parity words of the last RS-coded burn stay (None on ESP32).
    pub check_value_offset: Option<usize>,
}

/// One eFuse block.
#[derive(Debug)]
pub struct BlockDef {
    /// `BLOCK_KEY0`.
    pub name: &'static str,
    /// `BLOCK4`, `flash_encryption`...
    pub aliases: &'static [&'static str],
    /// Block number.
    pub id: u8,
    /// Offset of the read registers from the controller base.
    pub rd_offset: usize,
    /// Offset of the write registers.
    pub wr_offset: usize,
    /// WR_DIS bit protecting the whole block.
    pub wr_dis: Option<u8>,
    /// RD_DIS bits (ESP32-C2 BLOCK_KEY0 has two: low and high half).
    pub rd_dis: &'static [u8],
    /// Length in 32-bit words.
    pub len_words: usize,
    /// The KEY_PURPOSE_n field of a key block.
    pub key_purpose: Option<Field>,
}

/// A spelling of a key block `burn-key` accepts.
#[derive(Debug)]
pub struct KeyBlockDef {
    /// The spelling (`BLOCK_KEY0`, `BLOCK4`, `flash_encryption`).
    pub name: &'static str,
    /// The key block it names.
    pub key_block: KeyBlock,
    /// Block number.
    pub block: u8,
}

/// How a field's bits are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One bit.
    Bool,
    /// Unsigned integer up to 64 bits.
    Uint,
    /// Byte string (block memory order).
    Bytes,
}

/// espefuse's field class, which decides how the value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    /// Plain value (or dictionary meaning).
    Plain,
    /// A whole key block.
    KeyBlock,
    /// KEY_PURPOSE_n.
    KeyPurpose,
    /// MAC address.
    Mac,
    /// Counter burned one bit at a time (FLASH_CRYPT_CNT...).
    BitCount,
    /// Signed-magnitude temperature, 0.1 degree steps.
    TempSensor,
    /// Signed ADC calibration point.
    AdcPoint,
    /// Calculated wafer version.
    Wafer,
    /// Calculated package version (ESP32).
    Package,
    /// Calculated PSRAM capacity (ESP32-S3).
    PsramCap,
    /// ESP32 SPI pad config pin number.
    SpiPin,
    /// ESP32 ADC Vref.
    VRef,
}

/// One named eFuse field.
#[derive(Debug)]
pub struct FieldDef {
    /// The field.
    pub field: Field,
    /// Alternative names.
    pub alt_names: &'static [&'static str],
    /// Block number.
    pub block: u8,
    /// Word inside the block (None for calculated fields).
    pub word: Option<u8>,
    /// First bit inside the word (None for calculated fields).
    pub pos: Option<u8>,
    /// Length in bits.
    pub bit_len: u16,
    /// espefuse's type string (`uint:4`, `bool`, `bytes:32`).
    pub efuse_type: &'static str,
    /// Parsed type.
    pub ty: FieldType,
    /// Display class.
    pub class: FieldClass,
    /// WR_DIS bit.
    pub wr_dis: Option<u8>,
    /// RD_DIS bits.
    pub rd_dis: &'static [u8],
    /// Category (`security`, `config`...).
    pub category: &'static str,
    /// Description.
    pub description: &'static str,
    /// Value meanings from the YAML `dict`.
    pub meanings: &'static [(u64, &'static str)],
    /// Whether espefuse's emulator masks writes/reads of this field individually.
    pub emulator_protects: bool,
    /// Whether `summary` shows it on a fresh chip (calibration fields need a block version).
    pub shown: bool,
    /// The coding scheme the definition applies to (ESP32 key blocks).
    pub coding: FieldCoding,
}

/// Which coding scheme a field definition belongs to (ESP32: BLOCK1-3 are
/// 256 bits under NONE, 192 bits under 3/4; esp32/mem_definition.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldCoding {
    /// Every coding scheme.
    Any,
    /// Only with coding scheme NONE.
    NoneOnly,
    /// Only with the 3/4 coding scheme.
    ThreeFourOnly,
}

impl FieldDef {
    /// espefuse's canonical name.
    pub fn name(&self) -> &'static str {
        self.field.name()
    }

    /// The last chip revision (major * 100 + minor) that has the field, for
    /// the fields only early revisions have. espefuse 5.6.0 adds the
    /// ESP32-H2's `efuse_defs/esp32h2_v0.0_v1.1.yaml` (one field,
    /// ECDSA_FORCE_USE_HARDWARE_K, on a bit later revisions reserve) when
    /// the chip reads as v1.1 or older (esp32h2/fields.py
    /// `EspEfuses.__init__`: `get_chip_version() <= 101`); no other chip of
    /// 5.6.0 has revision-dependent fields.
    pub fn last_revision(&self) -> Option<u32> {
        (self.field == Field::EcdsaForceUseHardwareK).then_some(101)
    }

    /// Absolute bit offset inside the block, if the field is stored.
    pub fn bit_offset(&self) -> Option<usize> {
        Some(self.word? as usize * 32 + self.pos? as usize)
    }
}

/// A key purpose as a chip encodes it.
#[derive(Debug, Clone, Copy)]
pub struct KeyPurposeDef {
    /// The purpose.
    pub purpose: KeyPurpose,
    /// Numeric value in KEY_PURPOSE_n (-1 for virtual purposes).
    pub value: i8,
    /// A Secure Boot digest purpose.
    pub digest: bool,
    /// A purpose that only exists on the command line (`XTS_AES_256_KEY`).
    pub virtual_purpose: bool,
    /// Key bytes are burned reversed (AES-XTS / ECDSA peripherals).
    pub reverse: bool,
    /// burn-key read-protects it by default.
    pub need_rd_protect: bool,
}

impl ChipTable {
    /// Field index by name or alternative name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name() == name)
            .or_else(|| self.fields.iter().position(|f| f.alt_names.contains(&name)))
    }

    /// The field a name or alternative name stands for on this chip.
    pub fn field_by_name(&self, name: &str) -> Option<Field> {
        self.field_index(name).map(|i| self.fields[i].field)
    }

    /// Block by name or alias.
    pub fn block_by_name(&self, name: &str) -> Option<&'static BlockDef> {
        self.blocks
            .iter()
            .find(|b| b.name == name || b.aliases.contains(&name))
    }

    /// The key block `burn-key` accepts under `name` on this chip.
    pub fn key_block_by_name(&self, name: &str) -> Option<KeyBlock> {
        self.key_blocks
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.key_block)
    }

    /// Where a key block is on this chip.
    pub fn key_block_def(&self, block: KeyBlock) -> Option<&'static KeyBlockDef> {
        self.key_blocks.iter().find(|d| d.key_block == block)
    }

    /// The block a key block is (BLOCK2 for the ESP32's `secure_boot_v2`).
    pub fn block_of_key(&self, block: KeyBlock) -> Option<&'static BlockDef> {
        self.key_block_def(block)
            .and_then(|d| self.blocks.get(usize::from(d.block)))
    }

    /// The key block named after block number `block` (`BLOCK_KEY0` for
    /// BLOCK4 on the ESP32-C3).
    pub fn canonical_key_block(&self, block: u8) -> Option<KeyBlock> {
        let name = self.blocks.get(usize::from(block))?.name;
        self.key_blocks
            .iter()
            .find(|d| d.block == block && d.name == name)
            .map(|d| d.key_block)
    }

    /// How this chip encodes `purpose`: a named purpose, or one of
    /// espefuse's `CUSTOM_<n>` names for a value no named purpose uses
    /// (base_fields.py `EfuseKeyPurposeFieldBase.__init_subclass__`).
    pub fn purpose_def(&self, purpose: KeyPurpose) -> Option<KeyPurposeDef> {
        if let Some(p) = self.key_purposes.iter().find(|p| p.purpose == purpose) {
            return Some(*p);
        }
        let bits = self.custom_key_purpose_bits;
        if bits == 0 {
            return None;
        }
        let max = u8::try_from((1u16 << bits) - 1).ok()?;
        let (value, digest) = match purpose {
            KeyPurpose::Custom(v) => (v, false),
            KeyPurpose::CustomDigest(v) => (v, true),
            KeyPurpose::CustomMax => (max, false),
            KeyPurpose::CustomDigestMax => (max, true),
            _ => return None,
        };
        let named = |v: u8| {
            self.key_purposes
                .iter()
                .any(|p| p.value >= 0 && p.value as u8 == v)
        };
        let custom_value = matches!(purpose, KeyPurpose::Custom(_) | KeyPurpose::CustomDigest(_));
        if value > max || (custom_value && named(value)) {
            return None;
        }
        Some(KeyPurposeDef {
            purpose,
            value: i8::try_from(value).ok()?,
            digest,
            virtual_purpose: false,
            reverse: false,
            need_rd_protect: false,
        })
    }

    /// Every purpose name espefuse accepts on this chip, in its order: the
    /// named purposes, then on chips with custom purposes `CUSTOM_<n>` and
    /// `CUSTOM_DIGEST_<n>` for each value no named purpose uses, then
    /// `CUSTOM_MAX` and `CUSTOM_DIGEST_MAX` (base_fields.py
    /// `EfuseKeyPurposeFieldBase.__init_subclass__`).
    pub fn listed_purposes(&self) -> Vec<KeyPurposeDef> {
        let mut listed: Vec<KeyPurposeDef> = self.key_purposes.to_vec();
        if self.custom_key_purpose_bits == 0 {
            return listed;
        }
        let max = (1u16 << self.custom_key_purpose_bits) - 1;
        let custom = (0..=max)
            .filter_map(|v| u8::try_from(v).ok())
            .flat_map(|v| [KeyPurpose::Custom(v), KeyPurpose::CustomDigest(v)]);
        let extremes = [KeyPurpose::CustomMax, KeyPurpose::CustomDigestMax];
        listed.extend(custom.chain(extremes).filter_map(|p| self.purpose_def(p)));
        listed
    }

    /// Key purpose definition by numeric value (named, non-virtual).
    pub fn purpose_by_value(&self, value: u8) -> Option<&'static KeyPurposeDef> {
        self.key_purposes
            .iter()
            .find(|p| !p.virtual_purpose && p.value >= 0 && p.value as u8 == value)
    }

    /// What a KEY_PURPOSE_n value reads as: a named purpose, else (on chips
    /// with custom purposes) `CUSTOM_<n>` (espefuse lists `CUSTOM_<n>`
    /// before `CUSTOM_MAX`, so an unused maximum reads as `CUSTOM_15`).
    pub fn purpose_from_value(&self, value: u8) -> Option<KeyPurpose> {
        if let Some(p) = self.purpose_by_value(value) {
            return Some(p.purpose);
        }
        let bits = self.custom_key_purpose_bits;
        (bits > 0 && u16::from(value) < 1u16 << bits).then_some(KeyPurpose::Custom(value))
    }
}
