//! `summary` output: espefuse's text table and its `--format json`
//! (base_operations.py `summary`, esptool.md §4.6).

use crate::error::EfuseError;
use crate::model::{Efuses, FieldValue};
use crate::tables::{Chip, Field, FieldClass, FieldType};

/// One row of the summary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SummaryRow {
    /// Field.
    pub field: Field,
    /// Position of its definition in the table.
    index: usize,
    /// Shown value (with `?` for unreadable zero fields).
    pub value: FieldValue,
    /// Readable.
    pub readable: bool,
    /// Writeable.
    pub writeable: bool,
}

fn title(s: &str) -> String {
    // Python str.title(): upper-case the first letter of every alphabetic run.
    let mut out = String::new();
    let mut prev_alpha = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if prev_alpha {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_alpha = true;
        } else {
            out.push(c);
            prev_alpha = false;
        }
    }
    out
}

/// The fields `summary NAME…` shows: espefuse filters on the canonical
/// names given (an alternative name is accepted but matches no row);
/// `None` without names (every field). Unknown names are refused.
pub fn summary_filter(chip: Chip, names: &[String]) -> Result<Option<Vec<Field>>, EfuseError> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut only = Vec::new();
    for name in names {
        let field = super::field(chip, name)?;
        if field.name() == name {
            only.push(field);
        }
    }
    Ok(Some(only))
}

fn keep(only: Option<&[Field]>, field: Field) -> bool {
    only.is_none_or(|o| o.contains(&field))
}

impl Efuses {
    /// Fields shown by `summary`, grouped by category in espefuse's order.
    pub fn summary_rows(&self) -> Vec<(String, Vec<SummaryRow>)> {
        let fields = self.table().fields;
        let shown: Vec<bool> = (0..fields.len()).map(|i| self.is_shown_at(i)).collect();
        let mut cats: Vec<&str> = Vec::new();
        for f in fields
            .iter()
            .enumerate()
            .filter(|(i, _)| shown[*i])
            .map(|(_, f)| f)
        {
            if !cats.contains(&f.category) {
                cats.push(f.category);
            }
        }
        cats.sort_by_key(|c| title(c));
        cats.into_iter()
            .map(|cat| {
                let rows = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, f)| shown[*i] && f.category == cat)
                    .map(|(i, _)| self.summary_row(i))
                    .collect();
                (cat.to_string(), rows)
            })
            .collect()
    }

    fn summary_row(&self, index: usize) -> SummaryRow {
        let f = self.def_at(index);
        let readable = self.is_readable_at(index, None);
        let writeable = self.is_writeable_at(index);
        let mut value = self.meaning_at(index);
        if !readable {
            let s = value.to_string();
            let shown = if f.rd_dis.len() == 2 {
                let half = s.len() / 2;
                let (a, b) = s.split_at(half);
                let a = if self.is_readable_at(index, Some(0)) {
                    a.to_string()
                } else {
                    a.replace('0', "?")
                };
                let b = if self.is_readable_at(index, Some(1)) {
                    b.to_string()
                } else {
                    b.replace('0', "?")
                };
                a + &b
            } else if self.field_bits_at(index, true).is_zero() {
                s.replace('0', "?")
            } else {
                s
            };
            value = FieldValue::Text(shown);
        }
        SummaryRow {
            field: f.field,
            index,
            value,
            readable,
            writeable,
        }
    }

    /// `summary --format json` as a JSON value (keys sorted like espefuse's
    /// `sort_keys=True`), of the fields in `only` (every field when empty).
    pub fn summary_json(&self, only: &[Field]) -> serde_json::Value {
        self.summary_json_filtered((!only.is_empty()).then_some(only), false)
    }

    /// `summary --format json [--active] [NAME…]`: with `active`, only
    /// non-zero or protected fields; with `only` (see [`summary_filter`]),
    /// only those.
    pub fn summary_json_filtered(&self, only: Option<&[Field]>, active: bool) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (_, rows) in self.summary_rows() {
            for r in rows {
                let f = self.def_at(r.index);
                if !keep(only, r.field) {
                    continue;
                }
                let bits = self.field_bits_at(r.index, true);
                if active && r.readable && r.writeable && bits.is_zero() {
                    continue;
                }
                let raw = if let (Field::MacEui64, FieldValue::Text(text)) = (f.field, &r.value) {
                    // a calculated field: its raw value is the EUI-64 as shown
                    // (MAC with MAC_EXT inserted), base_fields.py `get_raw`
                    let eui64 = text.split(' ').next().unwrap_or_default();
                    format!("0x{}", eui64.replace(':', ""))
                } else if f.ty == FieldType::Bytes {
                    // the text value's byte order (memory order), util.json_raw_value_hex
                    format!("0x{}", hex::encode(bits.bytes()))
                } else {
                    format!("0x{}", bits.hex_msb())
                };
                let value = match &r.value {
                    FieldValue::Bool(b) => serde_json::Value::Bool(*b),
                    FieldValue::Int(i) => serde_json::Value::from(*i),
                    FieldValue::Float(x) => serde_json::Value::from(*x),
                    FieldValue::Text(s) => serde_json::Value::String(s.clone()),
                };
                let opt =
                    |v: Option<u8>| v.map_or(serde_json::Value::Null, serde_json::Value::from);
                let mut e = serde_json::Map::new();
                e.insert("bit_len".into(), f.bit_len.into());
                e.insert("block".into(), f.block.into());
                e.insert("category".into(), f.category.into());
                e.insert("description".into(), f.description.into());
                e.insert("efuse_type".into(), f.efuse_type.into());
                e.insert("name".into(), f.name().into());
                e.insert("pos".into(), opt(f.pos));
                e.insert("raw_value".into(), raw.into());
                e.insert("readable".into(), r.readable.into());
                e.insert("value".into(), value);
                e.insert("word".into(), opt(f.word));
                e.insert("writeable".into(), r.writeable.into());
                map.insert(f.name().to_string(), serde_json::Value::Object(e));
            }
        }
        serde_json::Value::Object(map)
    }

    /// The `value_only` summary of one field: its value as the text table
    /// shows it; `None` when no shown row is in `only`.
    pub fn summary_value(&self, only: &[Field]) -> Option<String> {
        self.summary_rows()
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .find(|r| only.contains(&r.field))
            .map(|r| r.value.to_string())
    }

    /// The summary text table (`summary [--active] [NAME…]`), without the
    /// banner lines; `only` as in [`Efuses::summary_json_filtered`].
    pub fn summary_text(&self, only: Option<&[Field]>, active: bool) -> String {
        // the fields of an --extend-efuse-table CSV, in their "User"
        // category where espefuse's title-sorted categories put it
        let mut user = (only.is_none() && !active && !self.custom_fields().is_empty())
            .then(|| crate::custom_table::summary_section(self, self.custom_fields()));
        let mut out: Vec<String> = Vec::new();
        out.push(format!(
            "{:<12} {:<12}{} = {} {} {}",
            "EFUSE_NAME (Block)",
            "Description",
            "",
            "[Meaningful Value]",
            "[Readable/Writeable]",
            "(Hex Value)"
        ));
        out.push("-".repeat(88));
        for (cat, rows) in self.summary_rows() {
            if title(&cat).as_str() > "User" {
                out.extend(user.take().unwrap_or_default());
            }
            let header = format!("{} fuses:", title(&cat));
            out.push(header.clone());
            for r in rows {
                let f = self.def_at(r.index);
                let bits = self.field_bits_at(r.index, true);
                if !keep(only, r.field) {
                    continue;
                }
                let raw = if f.ty == FieldType::Bytes {
                    String::new()
                } else {
                    format!("({})", bits.python_str())
                };
                let perms = match (r.readable, r.writeable) {
                    (true, true) => "R/W",
                    (true, false) => "R/-",
                    (false, true) => "-/W",
                    (false, false) => "-/-",
                };
                let mut info = format!("{} (BLOCK{})", f.name(), f.block);
                let error = self.field_has_error(r.index);
                if error {
                    info.push_str("[error]");
                }
                // --active keeps fields with errors too
                if active && bits.is_zero() && r.readable && r.writeable && !error {
                    continue;
                }
                if f.class == FieldClass::KeyBlock {
                    let kp = self
                        .table()
                        .blocks
                        .get(f.block as usize)
                        .and_then(|b| b.key_purpose);
                    if let Some(purpose) = kp.and_then(|kp| self.get(kp).ok()) {
                        info.push_str(&format!("\n  Purpose: {purpose}\n "));
                    }
                }
                let value = r.value.to_string();
                let desc: String = f.description.chars().take(50).collect();
                out.push(format!(
                    "{:<50} {:<50}{} = {} {} {}",
                    info,
                    desc,
                    if value.chars().count() > 20 {
                        "\n  "
                    } else {
                        ""
                    },
                    value,
                    perms,
                    raw
                ));
                let chars: Vec<char> = f.description.chars().collect();
                let mut i = 50;
                while i < chars.len() {
                    let part: String = chars[i..(i + 50).min(chars.len())].iter().collect();
                    out.push(format!("{:<50} {:<50}", "", part));
                    i += 50;
                }
            }
            if only.is_some() && out.last() == Some(&header) {
                out.pop();
            } else {
                out.push(String::new());
            }
        }
        out.extend(user.take().unwrap_or_default());
        // the chip's own summary() line: ESP32 explains VDD_SDIO, the others print ""
        out.push(match self.chip() {
            Chip::Esp32 => esp32_flash_voltage(self),
            Chip::Esp32s2 | Chip::Esp32s3 => s2_s3_flash_voltage(self),
            _ => String::new(),
        });
        out.join("\n")
    }
}

fn esp32_flash_voltage(e: &Efuses) -> String {
    // esp32/fields.py `summary()`: where the flash voltage comes from.
    let get = |f: Field| e.raw_present(f);
    if get(Field::XpdSdioForce) == 0 {
        "Flash voltage (VDD_SDIO) determined by GPIO12 on reset (High for 1.8V, Low/NC for 3.3V)"
            .into()
    } else if get(Field::XpdSdioReg) == 0 {
        "Flash voltage (VDD_SDIO) internal regulator disabled by efuse.".into()
    } else if get(Field::XpdSdioTieh) == 0 {
        "Flash voltage (VDD_SDIO) set to 1.8V by efuse.".into()
    } else {
        "Flash voltage (VDD_SDIO) set to 3.3V by efuse.".into()
    }
}

fn s2_s3_flash_voltage(e: &Efuses) -> String {
    // esp32s2/fields.py and esp32s3/fields.py `summary()`.
    let get = |f: Field| e.raw_present(f);
    if get(Field::VddSpiForce) == 0 {
        "Flash voltage (VDD_SPI) determined by GPIO45 on reset (GPIO45=High: VDD_SPI pin is powered from internal 1.8V LDO\nGPIO45=Low or NC: VDD_SPI pin is powered directly from VDD3P3_RTC_IO via resistor Rspi. Typically this voltage is 3.3 V).".into()
    } else if get(Field::VddSpiXpd) == 0 {
        "Flash voltage (VDD_SPI) internal regulator disabled by efuse.".into()
    } else if get(Field::VddSpiTieh) == 0 {
        "Flash voltage (VDD_SPI) set to 1.8V by efuse.".into()
    } else {
        "Flash voltage (VDD_SPI) set to 3.3V by efuse.".into()
    }
}

/// Serialises like Python's `json.dumps(obj, sort_keys=True, indent=4)`
/// (ASCII-only output, 4-space indent).
pub fn python_json(v: &serde_json::Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(v, &mut ser).is_err() {
        return String::new();
    }
    let s = String::from_utf8_lossy(&buf);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}
