//! The eFuse state of one chip: block contents (as the controller's register
//! image, exactly what espefuse's virtual file holds), staged writes, and the
//! burn engine with espefuse's checks (base_fields.py `check_new_value`,
//! `check_wr_data`, `burn_all`; esptool.md §4.3-§4.5).

use crate::bits::Bits;
use crate::error::EfuseError;
use crate::rs::rs_parity;
use crate::tables::ChipEfuses as _;
use crate::tables::{BlockDef, Chip, ChipTable, FieldClass, FieldCoding, FieldDef, FieldType};

/// Handle to a field of the chip's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldId(pub(crate) usize);

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
pub enum FieldValue {
    /// `True`/`False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (calibration fields).
    Float(f64),
    /// Text (dictionary meanings, hex bytes, MAC addresses, key purposes).
    Text(String),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Bool(true) => f.write_str("True"),
            FieldValue::Bool(false) => f.write_str("False"),
            FieldValue::Int(v) => write!(f, "{v}"),
            FieldValue::Float(v) => write!(f, "{v:?}"),
            FieldValue::Text(s) => f.write_str(s),
        }
    }
}

/// The eFuses of one chip.
#[derive(Debug, Clone)]
pub struct Efuses {
    chip: Chip,
    table: &'static ChipTable,
    /// Little-endian register image of the controller, `mem_size` bytes.
    mem: Vec<u8>,
    /// Staged write data per block (block words).
    wr: Vec<Vec<u32>>,
    /// espefuse's `force_write_always`: None for commands without the option.
    force_write_always: Option<bool>,
    log: Vec<String>,
    /// What the hardware holds behind read protection, for blocks burned in
    /// this session (the register image, like espefuse's file, shows zeros).
    hardware: Vec<Vec<u32>>,
}

impl Efuses {
    /// A fresh chip: everything zero (espefuse's virtual chip v0.0).
    pub fn new(chip: Chip) -> Efuses {
        let table = chip.table();
        Efuses {
            chip,
            table,
            mem: vec![0; table.mem_size],
            wr: table.blocks.iter().map(|b| vec![0; b.len_words]).collect(),
            force_write_always: None,
            log: Vec::new(),
            hardware: table.blocks.iter().map(|b| vec![0; b.len_words]).collect(),
        }
    }

    /// The chip.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    /// The chip's table.
    pub fn table(&self) -> &'static ChipTable {
        self.table
    }

    /// Sets espefuse's `--force-write-always` state for the current command
    /// (None: the command has no such option).
    pub fn set_force_write_always(&mut self, v: Option<bool>) {
        self.force_write_always = v;
    }

    /// Messages produced since the last call (espefuse's console lines).
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    fn say(&mut self, s: impl Into<String>) {
        self.log.push(s.into());
    }

    pub(crate) fn say_pub(&mut self, s: impl Into<String>) {
        self.say(s);
    }

    // ---- register image ------------------------------------------------------

    /// Raw controller register image (little-endian words from the base).
    pub fn register_image(&self) -> &[u8] {
        &self.mem
    }

    /// Replaces the register image (used by the virtual-file loader).
    pub(crate) fn set_register_image(&mut self, mem: Vec<u8>) {
        self.mem = mem;
    }

    /// Reads the register at `offset` from the base.
    pub fn read_reg(&self, offset: usize) -> u32 {
        match self.mem.get(offset..offset + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    fn write_reg(&mut self, offset: usize, v: u32) {
        if let Some(b) = self.mem.get_mut(offset..offset + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// ESP32 with the 3/4 coding scheme (CODING_SCHEME = 1; 3 reads as NONE,
    /// esp32/fields.py `read_coding_scheme`).
    pub fn coding_is_34(&self) -> bool {
        if self.chip != Chip::Esp32 {
            return false;
        }
        // CODING_SCHEME is word 6 bits 0-1 of BLOCK0 (esptool.md §4.2 esp32 table)
        self.table
            .field_index("CODING_SCHEME")
            .and_then(|i| self.table.fields[i].bit_offset())
            .map(|off| {
                let w = self.read_reg(self.table.blocks[0].rd_offset + 4 * (off / 32));
                (w >> (off % 32)) & 3 == 1
            })
            .unwrap_or(false)
    }

    /// Words a block holds under the current coding scheme (3/4 keeps 24 of 32 bytes).
    pub fn block_len_words(&self, block: usize) -> usize {
        let n = self.table.blocks[block].len_words;
        if block != 0 && self.coding_is_34() {
            n * 3 / 4
        } else {
            n
        }
    }

    fn coding_matches(&self, f: &FieldDef) -> bool {
        match f.coding {
            FieldCoding::Any => true,
            FieldCoding::NoneOnly => !self.coding_is_34(),
            FieldCoding::ThreeFourOnly => self.coding_is_34(),
        }
    }

    /// Whether `summary` lists the field in the current state.
    pub fn is_shown(&self, id: FieldId) -> bool {
        let f = self.def(id);
        self.coding_matches(f) && (f.shown || f.coding == FieldCoding::ThreeFourOnly)
    }

    /// The read words of a block.
    pub fn block_words(&self, block: usize) -> Vec<u32> {
        let b = &self.table.blocks[block];
        (0..self.block_len_words(block))
            .map(|i| self.read_reg(b.rd_offset + 4 * i))
            .collect()
    }

    fn set_block_words(&mut self, block: usize, words: &[u32]) {
        let off = self.table.blocks[block].rd_offset;
        for (i, w) in words.iter().enumerate() {
            self.write_reg(off + 4 * i, *w);
        }
    }

    /// The block's bytes in memory order.
    pub fn block_bytes(&self, block: usize) -> Vec<u8> {
        self.block_words(block)
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect()
    }

    // ---- lookup --------------------------------------------------------------

    /// Field handle by name or alternative name.
    pub fn field(&self, name: &str) -> Result<FieldId, EfuseError> {
        self.named(name).ok_or_else(|| EfuseError::UnknownField {
            name: name.to_string(),
            chip: self.chip,
            suggestions: self.closest_field_names(name),
        })
    }

    /// Up to three field names closest to `name` (edit distance).
    pub fn closest_field_names(&self, name: &str) -> Vec<String> {
        let up = name.to_ascii_uppercase().replace('-', "_");
        let mut scored: Vec<(usize, &str)> = self
            .table
            .fields
            .iter()
            .flat_map(|f| std::iter::once(f.name()).chain(f.alt_names.iter().copied()))
            .map(|n| {
                let d = if n.contains(up.as_str()) && up.len() >= 3 {
                    1
                } else {
                    edit_distance(&up, n)
                };
                (d, n)
            })
            .collect();
        scored.sort();
        scored.dedup_by(|a, b| a.1 == b.1);
        let limit = (up.len() / 2).max(2);
        scored
            .into_iter()
            .filter(|(d, _)| *d <= limit)
            .take(3)
            .map(|(_, n)| n.to_string())
            .collect()
    }

    /// The definition behind a handle.
    pub fn def(&self, id: FieldId) -> &'static FieldDef {
        &self.table.fields[id.0]
    }

    /// Block index by name or alias.
    pub fn block(&self, name: &str) -> Result<usize, EfuseError> {
        self.table
            .block_by_name(name)
            .map(|b| b.id as usize)
            .ok_or_else(|| EfuseError::UnknownBlock {
                name: name.to_string(),
                chip: self.chip,
            })
    }

    fn named(&self, name: &str) -> Option<FieldId> {
        let f = self.table.fields;
        f.iter()
            .position(|d| d.name() == name && self.coding_matches(d))
            .or_else(|| {
                f.iter()
                    .position(|d| d.alt_names.contains(&name) && self.coding_matches(d))
            })
            .map(FieldId)
    }

    // ---- field bits ----------------------------------------------------------

    fn bits_of(words: &[u32], offset: usize, len: usize) -> Bits {
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

    /// The field's bits as read (`from_read`) or as staged for burning.
    pub fn field_bits(&self, id: FieldId, from_read: bool) -> Bits {
        let f = self.def(id);
        let Some(off) = f.bit_offset() else {
            // calculated fields have no storage of their own
            let v = self.calc_value(id, from_read);
            return Bits::from_u64(f.bit_len as usize, v)
                .unwrap_or_else(|| Bits::zeros(f.bit_len as usize));
        };
        let words = if from_read {
            self.block_words(f.block as usize)
        } else {
            self.wr[f.block as usize].clone()
        };
        Self::bits_of(&words, off, f.bit_len as usize)
    }

    /// The raw integer value of a (≤ 64-bit) field as read.
    pub fn raw(&self, id: FieldId) -> u64 {
        self.field_bits(id, true).to_u64()
    }

    fn raw_by_name(&self, name: &str, from_read: bool) -> u64 {
        self.named(name)
            .map(|id| self.field_bits(id, from_read).to_u64())
            .unwrap_or(0)
    }

    fn calc_value(&self, id: FieldId, from_read: bool) -> u64 {
        let f = self.def(id);
        let g = |n: &str| self.raw_by_name(n, from_read);
        match f.class {
            FieldClass::Wafer if self.chip == Chip::Esp32 => {
                // rev_bit2 comes from APB_CTL_DATE, which espefuse's emulator
                // always reports as set (esp32/emulate_efuse_controller.py).
                let combined = 4 | g("CHIP_VER_REV2") << 1 | g("CHIP_VER_REV1");
                if combined == 7 {
                    3
                } else {
                    0
                }
            }
            FieldClass::Wafer => (g("WAFER_VERSION_MINOR_HI") << 3) + g("WAFER_VERSION_MINOR_LO"),
            FieldClass::Package => (g("CHIP_PACKAGE_4BIT") << 3) + g("CHIP_PACKAGE"),
            FieldClass::PsramCap => (g("PSRAM_CAP_3") << 2) + g("PSRAM_CAP"),
            _ => 0,
        }
    }

    /// RD_DIS as read.
    pub fn rd_dis(&self) -> u64 {
        self.raw_by_name("RD_DIS", true)
    }

    /// WR_DIS as read.
    pub fn wr_dis(&self) -> u64 {
        self.raw_by_name("WR_DIS", true)
    }

    fn mask(bits: &[u8]) -> u64 {
        bits.iter().fold(0, |m, b| m | 1u64 << b)
    }

    /// Whether the field can be read back (`part` selects one of ESP32-C2
    /// BLOCK_KEY0's two read-protection bits).
    pub fn is_readable(&self, id: FieldId, part: Option<usize>) -> bool {
        let f = self.def(id);
        if f.rd_dis.is_empty() {
            return true;
        }
        let m = match part {
            Some(i) => f.rd_dis.get(i).map_or(0, |b| 1u64 << b),
            None => Self::mask(f.rd_dis),
        };
        self.rd_dis() & m == 0
    }

    /// Whether the field can still be burned.
    pub fn is_writeable(&self, id: FieldId) -> bool {
        match self.def(id).wr_dis {
            None => true,
            Some(b) => self.wr_dis() & (1 << b) == 0,
        }
    }

    /// Whether the whole block can be read back.
    pub fn is_block_readable(&self, block: usize) -> bool {
        let b = &self.table.blocks[block];
        b.rd_dis.is_empty() || self.rd_dis() & Self::mask(b.rd_dis) == 0
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
        for name in self.chip.download_disable_fields() {
            if self.raw_by_name(name, true) != 0 {
                return Err(EfuseError::DownloadModeDisabled(name));
            }
        }
        if let Some(name) = self.chip.secure_download_field() {
            if self.raw_by_name(name, true) != 0 {
                return Err(EfuseError::SecureDownloadMode);
            }
        }
        Ok(())
    }

    // ---- values --------------------------------------------------------------

    /// espefuse's `get()`: the value without the dictionary meaning.
    pub fn get(&self, id: FieldId) -> FieldValue {
        self.get_from(id, true)
    }

    fn get_from(&self, id: FieldId, from_read: bool) -> FieldValue {
        let f = self.def(id);
        let bits = self.field_bits(id, from_read);
        match f.class {
            FieldClass::KeyPurpose => {
                let v = bits.to_u64();
                let name = u8::try_from(v)
                    .ok()
                    .and_then(|v| self.table.purpose_by_value(v))
                    .map(|p| p.purpose.to_string().to_string())
                    .or_else(|| custom_purpose_name(self.table.custom_key_purpose_bits, v))
                    .unwrap_or_else(|| "FORBIDDEN_STATE".to_string());
                FieldValue::Text(name)
            }
            FieldClass::Mac => FieldValue::Text(self.mac_text(id, from_read)),
            // sign-magnitude, 0.1 degree steps (base_fields.py EfuseTempSensor)
            FieldClass::TempSensor => {
                let v = bits.to_u64();
                let n = f.bit_len as u32;
                let sign = if v >> (n - 1) & 1 == 1 { -1.0 } else { 1.0 };
                let mag = v & ((1u64 << (n - 1)) - 1);
                FieldValue::Float(sign * mag as f64 * 0.1)
            }
            // two's-complement delta around TP_xxxx_OFFSET, 4 mV steps
            // (esp32/fields.py EfuseAdcPointCalibration)
            FieldClass::AdcPoint if self.chip == Chip::Esp32 => {
                let raw = bits.to_u64() as i64;
                let (sign_bit, offset) = match f.name() {
                    "ADC1_TP_LOW" => (0x40, 278),
                    "ADC2_TP_LOW" => (0x40, 421),
                    "ADC1_TP_HIGH" => (0x100, 3265),
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

    /// espefuse's `get_meaning()`: the dictionary meaning if there is one.
    pub fn meaning(&self, id: FieldId) -> FieldValue {
        let f = self.def(id);
        if !f.meanings.is_empty() && f.ty != FieldType::Bytes {
            let raw = self.field_bits(id, true).to_u64();
            if let Some((_, m)) = f.meanings.iter().find(|(k, _)| *k == raw) {
                return FieldValue::Text((*m).to_string());
            }
        }
        self.get(id)
    }

    fn mac_text(&self, id: FieldId, from_read: bool) -> String {
        let f = self.def(id);
        let mac: Vec<u8> = match f.name() {
            // CUSTOM_MAC is shown in memory order, MAC most significant byte first
            // (EfuseMacFieldBase.get / esp32 EfuseMacField.get: `get_raw()[::-1]` vs `get_raw()`)
            "CUSTOM_MAC" => self.field_bits(id, from_read).bytes().to_vec(),
            "MAC_EUI64" => {
                // MAC with MAC_EXT inserted after the third byte (base_fields.py).
                let mac = self
                    .named("MAC")
                    .map(|m| self.field_bits(m, from_read).bytes().to_vec())
                    .unwrap_or_default();
                let ext = self
                    .named("MAC_EXT")
                    .map(|m| self.field_bits(m, from_read).bytes().to_vec())
                    .unwrap_or_default();
                let mut msb_mac = mac.clone();
                msb_mac.reverse();
                let mut msb_ext = ext.clone();
                msb_ext.reverse();
                let mut v = Vec::new();
                v.extend_from_slice(msb_mac.get(..3).unwrap_or(&[]));
                v.extend_from_slice(&msb_ext);
                v.extend_from_slice(msb_mac.get(3..).unwrap_or(&[]));
                v
            }
            _ => {
                let mut b = self.field_bits(id, from_read).bytes().to_vec();
                b.reverse();
                b
            }
        };
        if self.chip == Chip::Esp32 {
            let crc_name = if f.name() == "CUSTOM_MAC" {
                "CUSTOM_MAC_CRC"
            } else {
                "MAC_CRC"
            };
            let stored = self.raw_by_name(crc_name, from_read) as u8;
            let computed = esp32_mac_crc(&mac);
            let msg = if computed == stored {
                format!("(CRC {stored:#04x} OK)")
            } else {
                format!("(CRC {stored:#04x} invalid - calculated {computed:#04x})")
            };
            return format!("{} {msg}", hexify(&mac, ":"));
        }
        format!("{} (OK)", hexify(&mac, ":"))
    }

    // ---- staging -------------------------------------------------------------

    fn print_error_msg(&mut self, msg: String) -> Result<(), EfuseError> {
        let mut msg = msg;
        if self.force_write_always == Some(false) {
            msg.push_str("(use '--force-write-always' option to ignore it)");
        }
        if self.force_write_always == Some(true) {
            self.say(format!(
                "{msg} Skipped because '--force-write-always' option."
            ));
            Ok(())
        } else {
            Err(EfuseError::refused(msg))
        }
    }

    fn check_wr_rd_protect_field(&mut self, id: FieldId) -> Result<(), EfuseError> {
        let name = self.def(id).name();
        if !self.is_readable(id, None) {
            self.print_error_msg(format!(
                "\t{name} is read-protected. The written value can not be read, the eFuse/block looks as all 0.\n\tBurn in this case may damage an already written value."
            ))?;
        }
        if !self.is_writeable(id) {
            self.print_error_msg(format!(
                "\t{name} is write-protected. Burn is not possible."
            ))?;
        }
        Ok(())
    }

    /// Turns a command-line value into the field's new bits, as espefuse's
    /// `CheckArgValue` + `check_format` + `convert_to_bitstring` do. `None`
    /// means the value was omitted (bools take 1, bit counters the next bit).
    pub fn parse_new_value(
        &mut self,
        id: FieldId,
        value: Option<&str>,
    ) -> Result<Bits, EfuseError> {
        let f = self.def(id);
        let len = f.bit_len as usize;
        if f.class == FieldClass::Mac && (f.name() != "CUSTOM_MAC" || self.chip == Chip::Esp32) {
            if f.name() == "CUSTOM_MAC" {
                // ESP32 also burns MAC_VERSION and a CRC with it (esp32/fields.py)
                return Err(EfuseError::BadValue(
                    "burning the ESP32 CUSTOM_MAC is not supported by espboot yet".into(),
                ));
            }
            return Err(EfuseError::refused(format!(
                "Burning {} is not supported.",
                f.name()
            )));
        }
        if f.word.is_none() {
            return Err(EfuseError::refused(format!(
                "Burning {} is not supported.",
                f.name()
            )));
        }
        match f.ty {
            FieldType::Bool => {
                let v = match value {
                    None => 1,
                    Some(s) => py_int::parse_u64(s).map_err(|_| {
                        EfuseError::BadValue(format!(
                            "invalid value '{s}' for eFuse '{}': expected an integer",
                            f.name()
                        ))
                    })?,
                };
                if v != 1 {
                    return Err(EfuseError::refused(format!(
                        "New value is not accepted for eFuse '{}' (will always burn 0->1), given value={v}",
                        f.name()
                    )));
                }
                Ok(Bits::from_u64(1, 1).unwrap_or_else(|| Bits::zeros(1)))
            }
            FieldType::Uint => {
                let v = if f.class == FieldClass::KeyPurpose {
                    let s = value.ok_or_else(|| {
                        EfuseError::refused(format!(
                            "New value required for eFuse '{}' (given None)",
                            f.name()
                        ))
                    })?;
                    self.key_purpose_value(s)? as u64
                } else if f.class == FieldClass::BitCount && value.is_none() {
                    let old = self.field_bits(id, true).to_u64();
                    let mut bit = 1u64;
                    let mut new = old;
                    while new == old && bit != 0 {
                        new = bit | old;
                        bit <<= 1;
                    }
                    new
                } else {
                    let s = value.ok_or_else(|| {
                        EfuseError::refused(format!(
                            "New value required for eFuse '{}' (given None)",
                            f.name()
                        ))
                    })?;
                    let s = if f.class == FieldClass::SpiPin {
                        spi_pin_format(s)?
                    } else {
                        s.to_string()
                    };
                    let v = py_int::parse_u64(&s).map_err(|_| {
                        EfuseError::BadValue(format!(
                            "invalid value '{s}' for eFuse '{}': expected an integer",
                            f.name()
                        ))
                    })?;
                    if v == 0 && f.class != FieldClass::BitCount {
                        return Err(EfuseError::refused(format!(
                            "New value should not be 0 for '{}' (given value= 0)",
                            f.name()
                        )));
                    }
                    v
                };
                Bits::from_u64(len, v).ok_or_else(|| {
                    let max = if len >= 64 { u64::MAX } else { (1u64 << len) - 1 };
                    EfuseError::BadValue(format!(
                        "{v} is too large an unsigned integer for a bitstring of length {len}. The allowed range is [0, {max}]."
                    ))
                })
            }
            FieldType::Bytes => {
                let s = value.ok_or_else(|| {
                    EfuseError::refused(format!(
                        "New value required for eFuse '{}' (given None)",
                        f.name()
                    ))
                })?;
                let bytes = if f.class == FieldClass::Mac {
                    // the MAC as written ends up in memory order
                    parse_mac(s)?
                } else if let Some(h) = s.strip_prefix("0x") {
                    let mut b = hex_decode(h).ok_or_else(|| {
                        EfuseError::BadValue(format!(
                            "invalid hex value '{s}' for eFuse '{}'",
                            f.name()
                        ))
                    })?;
                    b.reverse();
                    b
                } else {
                    hex_decode(s).ok_or_else(|| {
                        EfuseError::BadValue(format!(
                            "invalid hex value '{s}' for eFuse '{}'",
                            f.name()
                        ))
                    })?
                };
                if bytes.len() * 8 != len {
                    return Err(EfuseError::BadValue(format!(
                        "The length of eFuse '{}' ({len} bits) (given len of the new value= {} bits)",
                        f.name(),
                        bytes.len() * 8
                    )));
                }
                Ok(Bits::from_bytes(&bytes))
            }
        }
    }

    /// The numeric value for a key purpose name or number (`check_format` of
    /// `EfuseKeyPurposeFieldBase`).
    pub fn key_purpose_value(&self, s: &str) -> Result<u8, EfuseError> {
        if let Some(p) = self.table.purpose_by_name(s) {
            if !p.virtual_purpose && p.value > 0 {
                return Ok(p.value as u8);
            }
            return Err(EfuseError::refused(format!(
                "'{}' can not be set (value out of range)",
                p.value
            )));
        }
        let bits = self.table.custom_key_purpose_bits;
        if bits > 0 {
            if let Some(v) = custom_purpose_value(bits, s) {
                return Ok(v);
            }
        }
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            let v: u64 = s.parse().unwrap_or(u64::MAX);
            let known = u8::try_from(v).ok().filter(|v| {
                *v > 0
                    && (self.table.purpose_by_value(*v).is_some()
                        || (bits > 0 && u32::from(*v) < (1u32 << bits)))
            });
            return known.ok_or_else(|| {
                EfuseError::refused(format!("'{s}' can not be set (value out of range)"))
            });
        }
        Err(EfuseError::refused(format!("'{s}' unknown name")))
    }

    /// Stages a field's new bits with espefuse's checks (`EfuseFieldBase.save`).
    pub fn stage(&mut self, id: FieldId, new: Bits) -> Result<(), EfuseError> {
        let f = self.def(id);
        if f.class == FieldClass::KeyPurpose && f.name() == "KEY_PURPOSE_5" {
            let v = new.to_u64();
            if let Some(p) = u8::try_from(v)
                .ok()
                .and_then(|v| self.table.purpose_by_value(v))
            {
                if self.chip.block9_refuses(p.purpose) {
                    return Err(EfuseError::refused(format!(
                        "KEY_PURPOSE_5 can not have {} key due to a hardware bug (please see TRM for more details)",
                        p.purpose
                    )));
                }
            }
        }
        let new = self.check_new_value(id, new)?;
        self.save_to_block(id, &new);
        Ok(())
    }

    fn check_new_value(&mut self, id: FieldId, new: Bits) -> Result<Bits, EfuseError> {
        let f = self.def(id);
        let read = self.field_bits(id, true);
        let staged = self.field_bits(id, false);
        let old = read.or(&staged);
        if new.is_zero() && old.is_zero() {
            return Ok(new);
        }
        if new.len() != old.len() {
            return Err(EfuseError::refused(format!(
                "For {} eFuse, the length of the new value is wrong, expected {} bits, was {} bits.",
                f.name(),
                old.len(),
                new.len()
            )));
        }
        if new == old || new.and(&read) == new {
            self.say(format!(
                "\tThe same value for {} is already burned. Do not change the eFuse.",
                f.name()
            ));
            return Ok(Bits::zeros(new.len()));
        }
        if new == staged {
            self.say(format!(
                "\tThe same value for {} is already prepared for the burn operation.",
                f.name()
            ));
            return Ok(Bits::zeros(new.len()));
        }
        if f.name() != "WR_DIS" && f.name() != "RD_DIS" && new.or(&old) != new {
            self.print_error_msg(format!(
                "\tNew value contains some bits that cannot be cleared (value will be {})",
                old.or(&new).python_str()
            ))?;
        }
        self.check_wr_rd_protect_field(id)?;
        Ok(new)
    }

    fn save_to_block(&mut self, id: FieldId, bits: &Bits) {
        let f = self.def(id);
        let Some(off) = f.bit_offset() else { return };
        let words = &mut self.wr[f.block as usize];
        for i in 0..bits.len() {
            if bits.get(i) {
                let bit = off + i;
                if let Some(w) = words.get_mut(bit / 32) {
                    *w |= 1 << (bit % 32);
                }
            }
        }
    }

    fn reset_staged(&mut self, id: FieldId) {
        let f = self.def(id);
        let Some(off) = f.bit_offset() else { return };
        let words = &mut self.wr[f.block as usize];
        for i in 0..f.bit_len as usize {
            let bit = off + i;
            if let Some(w) = words.get_mut(bit / 32) {
                *w &= !(1 << (bit % 32));
            }
        }
    }

    /// Stages raw bytes (memory order) into a block, OR-ed into what is staged
    /// (`EfuseBlockBase.save`); checked when the burn is planned.
    pub fn stage_block_bytes(&mut self, block: usize, bytes: &[u8]) {
        let words = &mut self.wr[block];
        for (i, b) in bytes.iter().enumerate() {
            if let Some(w) = words.get_mut(i / 4) {
                *w |= u32::from(*b) << (8 * (i % 4));
            }
        }
    }

    /// Stages the read-protection of a field (`disable_read`).
    pub fn disable_read(&mut self, id: FieldId) -> Result<(), EfuseError> {
        let f = self.def(id);
        if f.rd_dis.is_empty() {
            return Err(EfuseError::refused("This eFuse cannot be read-disabled"));
        }
        let rd = self.field("RD_DIS")?;
        if !self.is_writeable(rd) {
            return Err(EfuseError::refused(
                "This eFuse cannot be read-disabled due to the RD_DIS field being already write-disabled",
            ));
        }
        let len = self.def(rd).bit_len as usize;
        let m = Bits::from_u64(len, Self::mask(f.rd_dis)).unwrap_or_else(|| Bits::zeros(len));
        self.stage(rd, m)
    }

    /// Stages the write-protection of a field (`disable_write`).
    pub fn disable_write(&mut self, id: FieldId) -> Result<(), EfuseError> {
        let Some(bit) = self.def(id).wr_dis else {
            return Err(EfuseError::refused("This eFuse cannot be write-disabled"));
        };
        let wr = self.field("WR_DIS")?;
        if !self.is_writeable(wr) {
            return Err(EfuseError::refused(
                "This eFuse cannot be write-disabled due to the WR_DIS field being already write-disabled",
            ));
        }
        let len = self.def(wr).bit_len as usize;
        let m = Bits::from_u64(len, 1u64 << bit).unwrap_or_else(|| Bits::zeros(len));
        self.stage(wr, m)
    }

    /// Whether anything is staged.
    pub fn has_staged(&self) -> bool {
        self.wr.iter().any(|w| w.iter().any(|x| *x != 0))
    }

    /// Drops everything staged.
    pub fn clear_staged(&mut self) {
        for w in &mut self.wr {
            w.iter_mut().for_each(|x| *x = 0);
        }
    }

    /// The staged words of a block.
    pub fn staged_words(&self, block: usize) -> &[u32] {
        &self.wr[block]
    }

    // ---- burn ----------------------------------------------------------------

    fn coding_is_rs(&self, block: usize) -> bool {
        self.chip != Chip::Esp32 && block != 0
    }

    fn block_hex(words: &[u32]) -> String {
        let mut s = String::from("0x");
        for w in words.iter().rev() {
            s.push_str(&format!("{w:08x}"));
        }
        s
    }

    /// Checks every staged block (`check_wr_data`) and decides what will be
    /// burned. Returns false if there is nothing to burn. This is the "plan"
    /// that is shown before the confirmation; nothing is written yet.
    pub fn plan_burn(&mut self) -> Result<bool, EfuseError> {
        self.say("\nCheck all blocks for burn...");
        self.say("idx, BLOCK_NAME,          Conclusion");
        let mut any = false;
        for block in 0..self.table.blocks.len() {
            let len = self.block_len_words(block);
            if self.wr[block][len..].iter().any(|w| *w != 0) {
                return Err(EfuseError::refused(format!(
                    "Data does not fit: block{block} size {} bytes, data {} bytes",
                    len * 4,
                    self.wr[block].len() * 4
                )));
            }
            let wr = self.wr[block][..len].to_vec();
            if wr.iter().all(|w| *w == 0) {
                continue;
            }
            let name = self.table.blocks[block].name;
            if !self.is_block_readable(block) {
                self.print_error_msg(format!(
                    "\t{name} is read-protected. The written value can not be read, the eFuse/block looks as all 0.\n\tBurn in this case may damage an already written value."
                ))?;
            }
            if !self.is_block_writeable(block) {
                self.print_error_msg(format!(
                    "\t{name} is write-protected. Burn is not possible."
                ))?;
            }
            let rd = self.block_words(block);
            if rd.iter().all(|w| *w == 0) {
                self.say(format!(
                    "[{block:02}] {name:<20} is empty, will burn the new value"
                ));
            } else if rd == wr {
                self.say(format!("[{block:02}] {name:<20} is already written the same value, continue with EMPTY_BLOCK"));
                self.wr[block].iter_mut().for_each(|w| *w = 0);
            } else {
                self.say(format!("[{block:02}] {name:<20} is not empty"));
                self.say(format!("\t(written ): {}", Self::block_hex(&rd)));
                self.say(format!("\t(to write): {}", Self::block_hex(&wr)));
                if rd.iter().zip(&wr).all(|(r, w)| r & w == *w) {
                    self.say("\tAll wr_data bits are set in the written block, continue with EMPTY_BLOCK.");
                    self.wr[block].iter_mut().for_each(|w| *w = 0);
                } else if block != 0 && self.coding_is_34() {
                    self.say("\t(coding scheme = 3/4)");
                    self.check_34_chunks(block, &rd)?;
                } else if self.coding_is_rs(block) {
                    self.say("\t(coding scheme = RS)");
                    self.print_error_msg(format!(
                        "\tBurn into {name} is forbidden (RS coding scheme does not allow this)."
                    ))?;
                } else {
                    self.say("\t(coding scheme = NONE)");
                }
            }
            if self.wr[block].iter().any(|w| *w != 0) {
                any = true;
            }
        }
        if !any {
            self.say("Nothing to burn, see messages above.");
        }
        Ok(any)
    }

    /// 3/4 coding: each 6-byte chunk carries its own check bytes, so a chunk
    /// can only be written while empty (`check_wr_data`, base_fields.py).
    fn check_34_chunks(&mut self, block: usize, rd: &[u32]) -> Result<(), EfuseError> {
        let rd_bytes: Vec<u8> = rd.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut wr_bytes: Vec<u8> = self.wr[block][..rd.len()]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let chunks = rd_bytes.len() / 6;
        let mut refused = false;
        // espefuse walks the MSB-first bitstring, i.e. the last chunk in memory first
        for k in 0..chunks {
            let m = chunks - 1 - k;
            let r = &rd_bytes[m * 6..m * 6 + 6];
            let w = &wr_bytes[m * 6..m * 6 + 6];
            if r.iter().any(|b| *b != 0) && w.iter().any(|b| *b != 0) {
                if r == w {
                    self.say(format!("\twritten chunk [{k}] and wr_chunk are not empty. wr_chunk == rd_chunk. Continue with empty chunk."));
                    wr_bytes[m * 6..m * 6 + 6].iter_mut().for_each(|b| *b = 0);
                } else {
                    self.say(format!("\twritten chunk [{k}] and wr_chunk are not empty. wr_chunk != rd_chunk. Can not burn."));
                    let msb = |c: &[u8]| {
                        c.iter()
                            .rev()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    };
                    self.say(format!("\twritten  0x{}", msb(r)));
                    self.say(format!("\tto write 0x{}", msb(w)));
                    refused = true;
                }
            }
        }
        for (i, w) in self.wr[block].iter_mut().enumerate().take(rd.len()) {
            *w = u32::from_le_bytes([
                wr_bytes[4 * i],
                wr_bytes[4 * i + 1],
                wr_bytes[4 * i + 2],
                wr_bytes[4 * i + 3],
            ]);
        }
        if refused {
            let name = self.table.blocks[block].name;
            self.print_error_msg(format!(
                "\tBurn into {name} is forbidden (3/4 coding scheme does not allow this)."
            ))?;
        }
        Ok(())
    }

    /// Burns everything staged, blocks from last to first, with BLOCK0's
    /// protection and lock bits postponed to a second pass (`burn_all`).
    /// Call [`Efuses::plan_burn`] first.
    /// All or nothing: on a refusal the state is left as it was before the call.
    pub fn execute_burn(&mut self) -> Result<(), EfuseError> {
        let saved_mem = self.mem.clone();
        let saved_wr = self.wr.clone();
        let saved_hw = self.hardware.clone();
        let r = self.execute_burn_inner();
        if r.is_err() {
            self.mem = saved_mem;
            self.wr = saved_wr;
            self.hardware = saved_hw;
        }
        r
    }

    fn execute_burn_inner(&mut self) -> Result<(), EfuseError> {
        for block in (0..self.table.blocks.len()).rev() {
            // espefuse always takes the postponed path for BLOCK0: its test
            // `any(value != 0 ...)` compares bitstrings with the int 0, which is
            // always true, so the second pass (and its "same value" notes) always runs.
            let mut postponed: Vec<(FieldId, Bits)> = Vec::new();
            if block == 0 {
                for name in self.chip.postponed_fields() {
                    if let Some(id) = self.named(name) {
                        postponed.push((id, self.field_bits(id, false)));
                    }
                }
                for (id, _) in &postponed {
                    self.reset_staged(*id);
                }
            }
            self.burn_block(block)?;
            if block == 0 && !postponed.is_empty() {
                self.say("Burn postponed eFuses from BLOCK0.");
                for (id, bits) in postponed {
                    self.stage(id, bits)?;
                }
                self.burn_block(0)?;
            }
        }
        self.say("Reading updated eFuses...");
        Ok(())
    }

    /// One block through espefuse's emulator: coding, write-protection mask,
    /// OR into the read registers, read-protection zeroing, controller registers.
    fn burn_block(&mut self, block: usize) -> Result<(), EfuseError> {
        let wr = self.wr[block][..self.block_len_words(block)].to_vec();
        if wr.iter().all(|w| *w == 0) {
            return Ok(());
        }
        let before = self.block_words(block);
        if let (true, Some(chk)) = (self.coding_is_rs(block), self.table.check_value_offset) {
            let mut data: Vec<u8> = wr.iter().flat_map(|w| w.to_le_bytes()).collect();
            data.resize(32, 0);
            let parity = rs_parity(&data);
            for i in 0..3 {
                let w = u32::from_le_bytes([
                    parity[4 * i],
                    parity[4 * i + 1],
                    parity[4 * i + 2],
                    parity[4 * i + 3],
                ]);
                self.write_reg(chk + 4 * i, w);
            }
        }
        let masked = self.mask_write_protected(block, &wr);
        let merged: Vec<u32> = before.iter().zip(&masked).map(|(r, w)| r | w).collect();
        self.set_block_words(block, &merged);
        for (h, m) in self.hardware[block].iter_mut().zip(&merged) {
            *h |= m;
        }
        self.apply_read_protection();
        for &(off, v) in self.table.controller_regs {
            let cur = self.read_reg(off);
            self.write_reg(off, cur | v);
        }
        let after = self.block_words(block);
        let def: &BlockDef = &self.table.blocks[block];
        if !self.is_block_readable(block) {
            let alias = def
                .aliases
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ");
            self.say(format!(
                "{} ([{alias}]) is read-protected. Read back the burn value is not possible.",
                def.name
            ));
            self.say("Read all '0'");
        } else if after == wr {
            self.say(format!(
                "BURN BLOCK{block:<2} - OK (write block == read block)"
            ));
        } else if after.iter().zip(&wr).all(|(a, w)| a & w == *w)
            && after.iter().zip(&before).all(|(a, b)| a & b == *b)
        {
            self.say(format!(
                "BURN BLOCK{block:<2} - OK (all write block bits are set)"
            ));
        } else if block != 0 {
            return Err(EfuseError::refused(format!(
                "Burn {} ({:?}) was not successful.",
                def.name, def.aliases
            )));
        }
        self.wr[block].iter_mut().for_each(|w| *w = 0);
        Ok(())
    }

    /// espefuse emulator `check_wr_protection_area`.
    fn mask_write_protected(&self, block: usize, wr: &[u32]) -> Vec<u32> {
        let wr_dis = self.wr_dis();
        let def = &self.table.blocks[block];
        if def.wr_dis.is_some_and(|b| wr_dis & (1 << b) != 0) {
            return vec![0; wr.len()];
        }
        let mut out = wr.to_vec();
        for f in self
            .table
            .fields
            .iter()
            .filter(|f| f.emulator_protects && f.block as usize == block)
        {
            if let (Some(bit), Some(off)) = (f.wr_dis, f.bit_offset()) {
                if wr_dis & (1 << bit) != 0 {
                    clear_bits(&mut out, off, f.bit_len as usize);
                }
            }
        }
        out
    }

    /// espefuse emulator `check_rd_protection_area`: read-protected data is
    /// zero in memory (and so absent from the virtual file).
    fn apply_read_protection(&mut self) {
        let rd_dis = self.rd_dis();
        for block in 0..self.table.blocks.len() {
            let def = &self.table.blocks[block];
            let mut words = self.block_words(block);
            let m = Self::mask(def.rd_dis);
            if !def.rd_dis.is_empty() && rd_dis & m != 0 {
                if def.rd_dis.len() == 2 {
                    // ESP32-C2 BLOCK_KEY0: first bit hides the low half, second the high half.
                    let half = def.len_words * 32 / 2;
                    if rd_dis & (1 << def.rd_dis[0]) != 0 {
                        clear_bits(&mut words, 0, half);
                    }
                    if rd_dis & (1 << def.rd_dis[1]) != 0 {
                        clear_bits(&mut words, half, half);
                    }
                } else {
                    words.iter_mut().for_each(|w| *w = 0);
                }
            } else {
                for f in self
                    .table
                    .fields
                    .iter()
                    .filter(|f| f.emulator_protects && f.block as usize == block)
                {
                    if !f.rd_dis.is_empty() && rd_dis & Self::mask(f.rd_dis) != 0 {
                        if let Some(off) = f.bit_offset() {
                            clear_bits(&mut words, off, f.bit_len as usize);
                        }
                    }
                }
            }
            self.set_block_words(block, &words);
        }
    }

    /// The block as the hardware sees it: peripherals (AES-XTS, HMAC) still
    /// read keys that software cannot. Read-protected data is only known for
    /// blocks burned through this value; loaded from a virtual file it reads as
    /// zeros, because espefuse's file does not keep it.
    pub fn hardware_block_bytes(&self, block: usize) -> Vec<u8> {
        let len = self.block_len_words(block);
        self.block_words(block)
            .iter()
            .zip(self.hardware[block].iter().take(len))
            .flat_map(|(r, h)| (r | h).to_le_bytes())
            .collect()
    }

    /// Read-protected bits the hardware holds but the register image (and so
    /// espefuse's virtual file) shows as zeros: `(block, bytes)` for every
    /// block with such bits. A simulator keeps these beside the virtual file
    /// so the chip's peripherals still find their keys after a reload.
    pub fn hidden_blocks(&self) -> Vec<(usize, Vec<u8>)> {
        (0..self.hardware.len())
            .filter(|&block| {
                let visible = self.block_words(block);
                self.hardware[block]
                    .iter()
                    .zip(visible.iter().chain(std::iter::repeat(&0)))
                    .any(|(h, v)| h & !v != 0)
            })
            .map(|block| {
                let bytes = self.hardware[block]
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect();
                (block, bytes)
            })
            .collect()
    }

    /// Restores what [`Efuses::hidden_blocks`] returned after the register
    /// image was loaded from a virtual file. Bits are ORed in (eFuse bits only
    /// go 0→1); a block number or length that does not fit the chip is refused.
    pub fn restore_hidden_block(&mut self, block: usize, bytes: &[u8]) -> Result<(), EfuseError> {
        if block >= self.hardware.len() {
            return Err(EfuseError::BadValue(format!(
                "hidden eFuse data for block {block}: the chip has no such block"
            )));
        }
        let len = self.block_len_words(block);
        let words = &mut self.hardware[block];
        if bytes.len() != len * 4 || words.len() < len {
            return Err(EfuseError::BadValue(format!(
                "hidden eFuse data for block {block}: expected {} bytes, got {}",
                len * 4,
                bytes.len()
            )));
        }
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w |= u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok(())
    }

    /// Whether the controller's coding-error registers report errors (never
    /// the case for files written by espefuse's emulator or this model, but a
    /// file can be edited or come from a token dump).
    pub fn has_coding_errors(&self) -> bool {
        self.table
            .error_regs
            .iter()
            .any(|off| self.read_reg(*off) != 0)
    }

    /// Whether a key block is free for a new key (`_key_block_is_unused`).
    pub fn key_block_is_unused(&self, block: usize) -> bool {
        let def = &self.table.blocks[block];
        let Some(kp) = def.key_purpose.and_then(|n| self.named(n.name())) else {
            return false;
        };
        self.is_block_readable(block)
            && self.is_block_writeable(block)
            && self.raw(kp) == 0
            && self.is_writeable(kp)
            && self.block_words(block).iter().all(|w| *w == 0)
    }
}

impl Drop for Efuses {
    /// Staged words and the register image may hold key material.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.mem.zeroize();
        for w in self.wr.iter_mut().chain(self.hardware.iter_mut()) {
            w.zeroize();
        }
    }
}

fn clear_bits(words: &mut [u32], off: usize, len: usize) {
    for i in 0..len {
        let bit = off + i;
        if let Some(w) = words.get_mut(bit / 32) {
            *w &= !(1 << (bit % 32));
        }
    }
}

/// Bytes as lowercase hex joined by `sep` (espefuse `util.hexify`).
pub fn hexify(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn parse_mac(s: &str) -> Result<Vec<u8>, EfuseError> {
    if s.matches(':').count() != 5 {
        return Err(EfuseError::BadValue(
            "MAC Address needs to be a 6-byte hexadecimal format separated by colons (:)!".into(),
        ));
    }
    let h: String = s.replace(':', "");
    let b = hex_decode(&h).filter(|b| b.len() == 6).ok_or_else(|| {
        EfuseError::BadValue(
            "MAC Address needs to be a 6-byte hexadecimal number (12 hexadecimal characters)!"
                .into(),
        )
    })?;
    if b[0] & 1 != 0 {
        return Err(EfuseError::refused("Custom MAC must be a unicast MAC!"));
    }
    Ok(b)
}

fn spi_pin_format(s: &str) -> Result<String, EfuseError> {
    let v = py_int::parse_u64(s)
        .map_err(|_| EfuseError::BadValue(format!("invalid pin number '{s}'")))?;
    match v {
        30 | 31 => Err(EfuseError::refused(
            "IO pins 30 & 31 cannot be set for SPI flash. 0-29, 32 & 33 only.",
        )),
        32 | 33 => Ok((v - 2).to_string()),
        v if v > 33 => Err(EfuseError::refused(format!(
            "IO pin {v} cannot be set for SPI flash. 0-29, 32 & 33 only."
        ))),
        _ => Ok(s.to_string()),
    }
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

fn custom_purpose_name(bits: u8, v: u64) -> Option<String> {
    if bits == 0 || v >= 1u64 << bits {
        return None;
    }
    // espefuse lists CUSTOM_<n> before CUSTOM_MAX, so an unused 15 reads as CUSTOM_15.
    Some(format!("CUSTOM_{v}"))
}

pub(crate) fn custom_purpose_value(bits: u8, s: &str) -> Option<u8> {
    if bits == 0 {
        return None;
    }
    let max = (1u16 << bits) - 1;
    if s == "CUSTOM_MAX" || s == "CUSTOM_DIGEST_MAX" {
        return u8::try_from(max).ok();
    }
    let n = s
        .strip_prefix("CUSTOM_DIGEST_")
        .or_else(|| s.strip_prefix("CUSTOM_"))?;
    n.parse::<u8>().ok().filter(|v| u16::from(*v) <= max)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}
