//! `summary` output: espefuse's text table and its `--format json`
//! (base_operations.py `summary`, esptool.md §4.6).

use crate::state::{Efuses, FieldId, FieldValue};
use crate::tables::FieldType;

/// One row of the summary.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// Field.
    pub id: FieldId,
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

impl Efuses {
    /// Fields shown by `summary`, grouped by category in espefuse's order.
    pub fn summary_rows(&self) -> Vec<(String, Vec<SummaryRow>)> {
        let fields = self.table().fields;
        let shown: Vec<bool> = (0..fields.len())
            .map(|i| self.is_shown(FieldId(i)))
            .collect();
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
                    .map(|(i, _)| self.summary_row(FieldId(i)))
                    .collect();
                (cat.to_string(), rows)
            })
            .collect()
    }

    fn summary_row(&self, id: FieldId) -> SummaryRow {
        let f = self.def(id);
        let readable = self.is_readable(id, None);
        let writeable = self.is_writeable(id);
        let mut value = self.meaning(id);
        if !readable {
            let s = value.to_string();
            let shown = if f.rd_dis.len() == 2 {
                let half = s.len() / 2;
                let (a, b) = s.split_at(half);
                let a = if self.is_readable(id, Some(0)) {
                    a.to_string()
                } else {
                    a.replace('0', "?")
                };
                let b = if self.is_readable(id, Some(1)) {
                    b.to_string()
                } else {
                    b.replace('0', "?")
                };
                a + &b
            } else if self.field_bits(id, true).is_zero() {
                s.replace('0', "?")
            } else {
                s
            };
            value = FieldValue::Text(shown);
        }
        SummaryRow {
            id,
            value,
            readable,
            writeable,
        }
    }

    /// `summary --format json` as a JSON value (keys sorted like espefuse's `sort_keys=True`).
    pub fn summary_json(&self, only: &[String]) -> serde_json::Value {
        self.summary_json_filtered(only, false)
    }

    /// `summary --format json [--active]`: with `active`, only non-zero or
    /// protected fields.
    pub fn summary_json_filtered(&self, only: &[String], active: bool) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (_, rows) in self.summary_rows() {
            for r in rows {
                let f = self.def(r.id);
                if !only.is_empty() && !only.iter().any(|n| n == f.name()) {
                    continue;
                }
                if active && r.readable && r.writeable && self.field_bits(r.id, true).is_zero() {
                    continue;
                }
                let bits = self.field_bits(r.id, true);
                let raw = if f.ty == FieldType::Bytes {
                    // the text value's byte order (memory order), util.json_raw_value_hex
                    format!("0x{}", crate::state::hexify(bits.bytes(), ""))
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

    /// The summary text table (`summary`), without the banner lines.
    pub fn summary_text(&self, only: &[String], active: bool) -> String {
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
            let header = format!("{} fuses:", title(&cat));
            out.push(header.clone());
            for r in rows {
                let f = self.def(r.id);
                let bits = self.field_bits(r.id, true);
                if active && bits.is_zero() && r.readable && r.writeable {
                    continue;
                }
                if !only.is_empty() && !only.iter().any(|n| n == f.name()) {
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
                if f.class == crate::tables::FieldClass::KeyBlock {
                    let kp = self
                        .table()
                        .blocks
                        .get(f.block as usize)
                        .and_then(|b| b.key_purpose);
                    if let Some(kp) = kp.and_then(|n| self.field(n.name()).ok()) {
                        info.push_str(&format!("\n  Purpose: {}\n ", self.get(kp)));
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
            if !only.is_empty() && out.last() == Some(&header) {
                out.pop();
            } else {
                out.push(String::new());
            }
        }
        // the chip's own summary() line: ESP32 explains VDD_SDIO, the others print ""
        out.push(match self.chip() {
            crate::Chip::Esp32 => esp32_flash_voltage(self),
            crate::Chip::Esp32s2 | crate::Chip::Esp32s3 => s2_s3_flash_voltage(self),
            _ => String::new(),
        });
        out.join("\n")
    }
}

fn esp32_flash_voltage(e: &Efuses) -> String {
    // esp32/fields.py `summary()`: where the flash voltage comes from.
    let get = |n: &str| e.field(n).map(|id| e.raw(id)).unwrap_or(0);
    if get("XPD_SDIO_FORCE") == 0 {
        "Flash voltage (VDD_SDIO) determined by GPIO12 on reset (High for 1.8V, Low/NC for 3.3V)"
            .into()
    } else if get("XPD_SDIO_REG") == 0 {
        "Flash voltage (VDD_SDIO) internal regulator disabled by efuse.".into()
    } else if get("XPD_SDIO_TIEH") == 0 {
        "Flash voltage (VDD_SDIO) set to 1.8V by efuse.".into()
    } else {
        "Flash voltage (VDD_SDIO) set to 3.3V by efuse.".into()
    }
}

fn s2_s3_flash_voltage(e: &Efuses) -> String {
    // esp32s2/fields.py and esp32s3/fields.py `summary()`.
    let get = |n: &str| e.field(n).map(|id| e.raw(id)).unwrap_or(0);
    if get("VDD_SPI_FORCE") == 0 {
        "Flash voltage (VDD_SPI) determined by GPIO45 on reset (GPIO45=High: VDD_SPI pin is powered from internal 1.8V LDO\nGPIO45=Low or NC: VDD_SPI pin is powered directly from VDD3P3_RTC_IO via resistor Rspi. Typically this voltage is 3.3 V).".into()
    } else if get("VDD_SPI_XPD") == 0 {
        "Flash voltage (VDD_SPI) internal regulator disabled by efuse.".into()
    } else if get("VDD_SPI_TIEH") == 0 {
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
