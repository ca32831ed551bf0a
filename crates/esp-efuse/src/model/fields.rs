//! Reading fields: raw bits, espefuse's values and meanings
//! (base_fields.py `get`, `get_meaning`), protections, and what the ROM
//! still lets a port read.

use super::Efuses;
use crate::bits::Bits;
use crate::error::EfuseError;
use crate::tables::{Chip, Field, FieldClass, FieldDef, FieldType};

/// How the eFuses are reached: a plain virtual file stays readable whatever is
/// burned, while a chip behind a port (later: the simulated chip) refuses
/// access once Secure Download Mode / download-disable bits are burned, as the ROM does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChipAccess {
    /// `--virt --path-efuse-file`: file access, no ROM in the way.
    VirtualFile,
    /// Through the ROM serial protocol.
    Port,
}

/// A value as espefuse shows it (`get_meaning()`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// `True`/`False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (calibration fields).
    Float(f64),
    /// Text (dictionary meanings, hex bytes, MAC addresses, key purposes).
    Text(String),
    /// An integer wider than `i64` (a `uint:N` field of an eFuse CSV table
    /// can have up to 255 bits).
    Wide(crate::WideUint),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Bool(true) => f.write_str("True"),
            FieldValue::Bool(false) => f.write_str("False"),
            FieldValue::Int(v) => write!(f, "{v}"),
            FieldValue::Float(v) => write!(f, "{v:?}"),
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::Wide(v) => write!(f, "{v}"),
        }
    }
}

impl Efuses {
    /// The field's bits as read.
    ///
    /// Fields are typed handles, so a misspelt name does not compile:
    ///
    /// ```compile_fail
    /// let efuses = esp_efuse::Efuses::new(esp_efuse::Chip::Esp32c3);
    /// efuses.bits("SPI_BOOT_CRYPTCNT");
    /// ```
    pub fn bits(&self, field: Field) -> Result<Bits, EfuseError> {
        Ok(self.field_bits_at(self.index(field)?, true))
    }

    /// The raw integer value of a (≤ 64-bit) field as read. A field the chip
    /// does not have is an error, never a 0 that reads as "not burned".
    pub fn raw(&self, field: Field) -> Result<u64, EfuseError> {
        Ok(self.bits(field)?.to_u64())
    }

    /// espefuse's `get()`: the value without the dictionary meaning.
    pub fn get(&self, field: Field) -> Result<FieldValue, EfuseError> {
        Ok(self.get_at(self.index(field)?, true))
    }

    /// espefuse's `get_meaning()`: the dictionary meaning if there is one.
    pub fn meaning(&self, field: Field) -> Result<FieldValue, EfuseError> {
        Ok(self.meaning_at(self.index(field)?))
    }

    /// Whether the field can be read back (`part` selects one of ESP32-C2
    /// BLOCK_KEY0's two read-protection bits).
    pub fn is_readable(&self, field: Field, part: Option<usize>) -> Result<bool, EfuseError> {
        Ok(self.is_readable_at(self.index(field)?, part))
    }

    /// Whether the field can still be burned.
    pub fn is_writeable(&self, field: Field) -> Result<bool, EfuseError> {
        Ok(self.is_writeable_at(self.index(field)?))
    }

    /// A field's raw value for the fields every chip of its kind has: the
    /// inputs of calculated fields, and the ones [`crate::policy`] names
    /// (`policy::tests` checks each exists on its chips). Reads 0 for a
    /// field the chip lacks, which those tests rule out.
    pub(crate) fn raw_present(&self, field: Field) -> u64 {
        self.raw(field).unwrap_or(0)
    }

    /// RD_DIS as read.
    pub fn rd_dis(&self) -> u64 {
        self.raw_present(Field::RdDis)
    }

    /// WR_DIS as read.
    pub fn wr_dis(&self) -> u64 {
        self.raw_present(Field::WrDis)
    }

    pub(crate) fn def_at(&self, i: usize) -> &'static FieldDef {
        &self.table.fields[i]
    }

    /// Whether `summary` lists the definition in the current state: the
    /// calibration group (the fields a blank chip does not list) only once
    /// [`Efuses::calibration_listed`].
    pub(crate) fn is_shown_at(&self, i: usize) -> bool {
        let f = self.def_at(i);
        self.coding_matches(f)
            && self.in_revision(f)
            && (f.shown
                || f.coding == crate::tables::FieldCoding::ThreeFourOnly
                || self.calibration_listed())
    }

    /// The fields of `block` espefuse lists now, in its list's order (the
    /// table's): what `check-error` walks for BLOCK0's errors.
    pub(crate) fn listed_block_fields(&self, block: usize) -> Vec<usize> {
        (0..self.table.fields.len())
            .filter(|&i| usize::from(self.def_at(i).block) == block && self.is_shown_at(i))
            .collect()
    }

    /// Whether the chip's revision has the field ([`FieldDef::last_revision`]).
    pub(crate) fn in_revision(&self, f: &FieldDef) -> bool {
        f.last_revision()
            .is_none_or(|last| self.listing().revision <= last)
    }

    /// Whether espefuse lists the chip's calibration group
    /// (`<chip>/fields.py` `EspEfuses.__init__`): from the block version
    /// the chip's calibration format starts at (ESP32-S2, C2, C6: 1; H2:
    /// 2; S3, C3: 100); on the ESP32 when BLK3_PART_RESERVE says BLOCK3
    /// holds the ADC readings. Once [`Efuses::settle_as_read`] ran, as the
    /// eFuses read then.
    pub fn calibration_listed(&self) -> bool {
        self.listing().calibration
    }

    pub(crate) fn calibration_listed_now(&self) -> bool {
        let from = match self.chip {
            Chip::Esp32 => return self.raw_present(Field::Blk3PartReserve) != 0,
            Chip::Esp32s2 | Chip::Esp32c2 | Chip::Esp32c6 => 1,
            Chip::Esp32h2 => 2,
            _ => 100,
        };
        self.block_version() >= from
    }

    /// The field's bits as read (`from_read`) or as staged for burning.
    pub(crate) fn field_bits_at(&self, i: usize, from_read: bool) -> Bits {
        let f = self.def_at(i);
        let Some(off) = f.bit_offset() else {
            // calculated fields have no storage of their own
            let v = self.calc_value(f, from_read);
            return Bits::from_u64(f.bit_len as usize, v)
                .unwrap_or_else(|| Bits::zeros(f.bit_len as usize));
        };
        let staged;
        let words: &[u32] = if from_read {
            staged = self.block_words(f.block as usize);
            &staged
        } else {
            &self.wr[f.block as usize]
        };
        bits_of(words, off, f.bit_len as usize)
    }

    fn raw_from(&self, field: Field, from_read: bool) -> u64 {
        self.index(field)
            .map(|i| self.field_bits_at(i, from_read).to_u64())
            .unwrap_or(0)
    }

    fn calc_value(&self, f: &FieldDef, from_read: bool) -> u64 {
        // The inputs exist wherever the calculated field does (tests::
        // calculated_fields_have_their_inputs).
        let g = |field: Field| self.raw_from(field, from_read);
        match f.class {
            FieldClass::Wafer if self.chip == Chip::Esp32 => {
                // rev_bit2 comes from APB_CTL_DATE, which espefuse's emulator
                // always reports as set (esp32/emulate_efuse_controller.py).
                let combined = 4 | g(Field::ChipVerRev2) << 1 | g(Field::ChipVerRev1);
                if combined == 7 {
                    3
                } else {
                    0
                }
            }
            FieldClass::Wafer => {
                (g(Field::WaferVersionMinorHi) << 3) + g(Field::WaferVersionMinorLo)
            }
            FieldClass::Package => (g(Field::ChipPackage4bit) << 3) + g(Field::ChipPackage),
            FieldClass::PsramCap => (g(Field::PsramCap3) << 2) + g(Field::PsramCap),
            _ => 0,
        }
    }

    pub(crate) fn get_at(&self, i: usize, from_read: bool) -> FieldValue {
        let f = self.def_at(i);
        let bits = self.field_bits_at(i, from_read);
        match f.class {
            FieldClass::KeyPurpose => {
                let v = bits.to_u64();
                let name = u8::try_from(v)
                    .ok()
                    .and_then(|v| self.table.purpose_from_value(v))
                    .map_or_else(|| "FORBIDDEN_STATE".to_string(), |p| p.to_string());
                FieldValue::Text(name)
            }
            FieldClass::Mac => FieldValue::Text(self.mac_text(f, &bits, from_read)),
            // sign-magnitude, 0.1 degree steps (base_fields.py EfuseTempSensor:
            // `sig * int(mag) * 0.1`, the sign applied to the integer first, so
            // a set sign bit over a zero magnitude reads 0.0, not -0.0)
            FieldClass::TempSensor => {
                let v = bits.to_u64();
                let n = f.bit_len as u32;
                let sign = if v >> (n - 1) & 1 == 1 { -1 } else { 1 };
                let mag = (v & ((1u64 << (n - 1)) - 1)) as i64;
                FieldValue::Float((sign * mag) as f64 * 0.1)
            }
            // two's-complement delta around TP_xxxx_OFFSET, 4 mV steps
            // (esp32/fields.py EfuseAdcPointCalibration)
            FieldClass::AdcPoint if self.chip == Chip::Esp32 => {
                let raw = bits.to_u64() as i64;
                let (sign_bit, offset) = match f.field {
                    Field::Adc1TpLow => (0x40, 278),
                    Field::Adc2TpLow => (0x40, 421),
                    Field::Adc1TpHigh => (0x100, 3265),
                    _ => (0x100, 3406),
                };
                let delta = (raw & (sign_bit - 1)) - (raw & sign_bit);
                FieldValue::Int(offset + delta * 4)
            }
            // sign-magnitude, 4 mV steps (base_fields.py EfuseAdcPointCalibration)
            FieldClass::AdcPoint => {
                let v = bits.to_u64();
                let n = f.bit_len as u32;
                let sign = if v >> (n - 1) & 1 == 1 { -1 } else { 1 };
                FieldValue::Int(sign * (v & ((1u64 << (n - 1)) - 1)) as i64 * 4)
            }
            // pins 30/31 encode GPIO32/33 (esp32/fields.py EfuseSpiPinField)
            FieldClass::SpiPin => {
                let v = bits.to_u64();
                FieldValue::Int(if v >= 30 { v + 2 } else { v } as i64)
            }
            // 1100 mV + sign-magnitude 7 mV steps (esp32/fields.py EfuseVRefField)
            FieldClass::VRef => {
                let v = bits.to_u64() as i64;
                let mag = if v & 0x10 != 0 { -(v & 0x0f) } else { v & 0x0f };
                FieldValue::Int(1100 + mag * 7)
            }
            _ => match f.ty {
                FieldType::Bool => FieldValue::Bool(bits.get(0)),
                FieldType::Uint => FieldValue::Int(bits.to_u64() as i64),
                FieldType::Bytes => FieldValue::Text(hexify(bits.bytes(), " ")),
            },
        }
    }

    pub(crate) fn meaning_at(&self, i: usize) -> FieldValue {
        let f = self.def_at(i);
        if !f.meanings.is_empty() && f.ty != FieldType::Bytes {
            let raw = self.field_bits_at(i, true).to_u64();
            if let Some((_, m)) = f.meanings.iter().find(|(k, _)| *k == raw) {
                return FieldValue::Text((*m).to_string());
            }
        }
        self.get_at(i, true)
    }

    fn mac_text(&self, f: &FieldDef, bits: &Bits, from_read: bool) -> String {
        let bytes_of = |field: Field| {
            self.index(field)
                .map(|i| self.field_bits_at(i, from_read).bytes().to_vec())
                .unwrap_or_default()
        };
        let mac: Vec<u8> = match f.field {
            // CUSTOM_MAC is shown in memory order, MAC most significant byte first
            // (EfuseMacFieldBase.get / esp32 EfuseMacField.get: `get_raw()[::-1]` vs `get_raw()`)
            Field::CustomMac => bits.bytes().to_vec(),
            Field::MacEui64 => {
                // MAC with MAC_EXT inserted after the third byte (base_fields.py).
                let mut msb_mac = bytes_of(Field::Mac);
                msb_mac.reverse();
                let mut msb_ext = bytes_of(Field::MacExt);
                msb_ext.reverse();
                let mut v = Vec::new();
                v.extend_from_slice(msb_mac.get(..3).unwrap_or(&[]));
                v.extend_from_slice(&msb_ext);
                v.extend_from_slice(msb_mac.get(3..).unwrap_or(&[]));
                v
            }
            _ => bits.bytes().iter().rev().copied().collect(),
        };
        if self.chip == Chip::Esp32 {
            let crc_field = if f.field == Field::CustomMac {
                Field::CustomMacCrc
            } else {
                Field::MacCrc
            };
            let stored = self.raw_from(crc_field, from_read) as u8;
            let computed = esp32_mac_crc(&mac);
            let msg = if computed == stored {
                format!("(CRC {stored:#04x} OK)")
            } else {
                format!("(CRC {stored:#04x} invalid - calculated {computed:#04x})")
            };
            return format!("{} {msg}", hexify(&mac, ":"));
        }
        // base_fields.py EfuseMacFieldBase.check: the block's coding errors
        let block = usize::from(f.block);
        let check = match self.block_errors().into_iter().find(|e| e.block == block) {
            Some(e) => format!(
                "Block{block} has ERRORS:{} FAIL:{}",
                e.num_errors,
                if e.fail { "True" } else { "False" }
            ),
            None => "OK".to_string(),
        };
        format!("{} ({check})", hexify(&mac, ":"))
    }

    pub(crate) fn is_readable_at(&self, i: usize, part: Option<usize>) -> bool {
        let f = self.def_at(i);
        if f.rd_dis.is_empty() {
            return true;
        }
        let m = match part {
            Some(p) => f.rd_dis.get(p).map_or(0, |b| 1u64 << b),
            None => mask(f.rd_dis),
        };
        self.rd_dis() & m == 0
    }

    pub(crate) fn is_writeable_at(&self, i: usize) -> bool {
        match self.def_at(i).wr_dis {
            None => true,
            Some(b) => self.wr_dis() & (1 << b) == 0,
        }
    }

    /// Whether the whole block can be read back.
    pub fn is_block_readable(&self, block: usize) -> bool {
        let b = &self.table.blocks[block];
        b.rd_dis.is_empty() || self.rd_dis() & mask(b.rd_dis) == 0
    }

    /// Whether the whole block can still be burned.
    pub fn is_block_writeable(&self, block: usize) -> bool {
        match self.table.blocks[block].wr_dis {
            None => true,
            Some(b) => self.wr_dis() & (1 << b) == 0,
        }
    }

    /// Refuses access the way the ROM does once Secure Download Mode or the
    /// download-disable bits are burned; a plain virtual file is always readable.
    pub fn check_access(&self, access: ChipAccess) -> Result<(), EfuseError> {
        if access == ChipAccess::VirtualFile {
            return Ok(());
        }
        for field in crate::policy::download_disable(self.chip) {
            if self.raw_present(*field) != 0 {
                return Err(EfuseError::DownloadModeDisabled(*field));
            }
        }
        if let Some(field) = crate::policy::secure_download(self.chip) {
            if self.raw_present(field) != 0 {
                return Err(EfuseError::SecureDownloadMode);
            }
        }
        Ok(())
    }

    /// BLOCK2's calibration format version as espefuse computes it
    /// (base_fields.py `get_block_version`: `BLK_VERSION_MAJOR` * 100 +
    /// `BLK_VERSION_MINOR`, a field the chip lacks counting 0).
    pub fn block_version(&self) -> u32 {
        let major = u32::try_from(self.raw_present(Field::BlkVersionMajor)).unwrap_or(0);
        let minor = u32::try_from(self.raw_present(Field::BlkVersionMinor)).unwrap_or(0);
        major * 100 + minor
    }

    /// Chip revision as espefuse computes it (major * 100 + minor).
    pub fn chip_revision(&self) -> u32 {
        let major = match self.get(Field::WaferVersionMajor) {
            Ok(FieldValue::Int(v)) => u32::try_from(v).unwrap_or(0),
            _ => 0,
        };
        let minor = u32::try_from(self.raw_present(Field::WaferVersionMinor)).unwrap_or(0);
        major * 100 + minor
    }
}

/// A field's bits out of block words.
pub(crate) fn bits_of(words: &[u32], offset: usize, len: usize) -> Bits {
    let mut b = Bits::zeros(len);
    for i in 0..len {
        let bit = offset + i;
        if let Some(w) = words.get(bit / 32) {
            if w >> (bit % 32) & 1 == 1 {
                b.set(i, true);
            }
        }
    }
    b
}

/// The mask of a list of protection bits.
pub(crate) fn mask(bits: &[u8]) -> u64 {
    bits.iter().fold(0, |m, b| m | 1u64 << b)
}

/// Bytes as lowercase hex joined by `sep` (espefuse `util.hexify`).
pub fn hexify(bytes: &[u8], sep: &str) -> String {
    if sep.is_empty() {
        return hex::encode(bytes);
    }
    bytes
        .iter()
        .map(|b| hex::encode([*b]))
        .collect::<Vec<_>>()
        .join(sep)
}

/// ESP32 MAC CRC-8 (polynomial 0x8C reflected, init 0; `esp_crc8` in the ESP32 ROM,
/// espefuse esp32/fields.py `calc_crc`).
pub fn esp32_mac_crc(mac: &[u8]) -> u8 {
    let mut r = 0u8;
    for &b in mac {
        r ^= b;
        for _ in 0..8 {
            let lsb = r & 1;
            r >>= 1;
            if lsb != 0 {
                r ^= 0x8c;
            }
        }
    }
    r
}
