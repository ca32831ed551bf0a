//! `summary` output: espefuse's text table and its `--format json`
//! (base_operations.py `summary`, esptool.md §4.6).

use crate::bits::Bits;
use crate::error::EfuseError;
use crate::model::fields::hexify;
use crate::model::{Efuses, FieldRef, FieldValue, UserField};
use crate::tables::{Chip, Field, FieldClass, FieldType};
use crate::wide::WideUint;

/// One row of the summary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SummaryRow {
    /// Field: one of the chip's or one of an `--extend-efuse-table` CSV.
    pub field: FieldRef,
    /// Position of a chip field's definition in the table.
    index: Option<usize>,
    /// Shown value (with `?` for unreadable zero fields).
    pub value: FieldValue,
    /// Readable.
    pub readable: bool,
    /// Writeable.
    pub writeable: bool,
}

/// What the summary shows of a row's field besides its value.
struct RowInfo {
    name: String,
    block: usize,
    description: String,
    category: String,
    efuse_type: String,
    bit_len: u32,
    word: Option<u32>,
    pos: Option<u32>,
    bytes: bool,
    bits: Bits,
    /// `[error]` after the name (base_fields.py `get_info`).
    error: bool,
    /// The key purpose line of a key block.
    purpose: Option<String>,
    /// MAC_EUI64, whose raw value is its text (a calculated field).
    eui64: bool,
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

/// The category espefuse gives the fields of an eFuse CSV table
/// (`mem_definition_base.py` `extend_efuses`).
const USER_CATEGORY: &str = "User";

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

/// [`summary_filter`] over the chip's fields and the user fields of
/// `efuses`: the fields whose canonical name is one of `names`, as
/// espefuse's `e.name in efuses_to_show` (an unknown or alternative name
/// matches nothing); `None` without names.
pub fn summary_refs(efuses: &Efuses, names: &[String]) -> Option<Vec<FieldRef>> {
    if names.is_empty() {
        return None;
    }
    let mut only = Vec::new();
    for name in names {
        if let Some(field) = efuses.table().field_by_name(name) {
            if field.name() == name {
                only.push(FieldRef::Chip(field));
            }
        }
        if let Some(u) = efuses.user_field(name) {
            let canonical = efuses.user_def(u).is_ok_and(|c| c.field.name == *name);
            if canonical && !only.contains(&FieldRef::User(u)) {
                only.push(FieldRef::User(u));
            }
        }
    }
    Some(only)
}

fn keep(only: Option<&[FieldRef]>, field: FieldRef) -> bool {
    only.is_none_or(|o| o.contains(&field))
}

fn perms(readable: bool, writeable: bool) -> &'static str {
    match (readable, writeable) {
        (true, true) => "R/W",
        (true, false) => "R/-",
        (false, true) => "-/W",
        (false, false) => "-/-",
    }
}

/// The value espefuse shows for a field software cannot read back
/// (base_operations.py `summary`): with two RD_DIS bits (the ESP32-C2's
/// BLOCK_KEY0), each half of the text whose part is protected gets `?` for
/// `0`; with one, the whole text does when every bit is 0.
fn masked(text: String, parts: Option<[bool; 2]>, zero: bool) -> String {
    match parts {
        Some(readable) => {
            let chars: Vec<char> = text.chars().collect();
            let (a, b) = chars.split_at(chars.len() / 2);
            let part = |p: &[char], ok: bool| {
                let s: String = p.iter().collect();
                if ok {
                    s
                } else {
                    s.replace('0', "?")
                }
            };
            part(a, readable[0]) + &part(b, readable[1])
        }
        None if zero => text.replace('0', "?"),
        None => text,
    }
}

impl Efuses {
    /// Fields shown by `summary`, grouped by category in espefuse's order
    /// (the fields of an eFuse CSV table in their "User" category).
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
        if !self.custom_fields().is_empty() && !cats.contains(&USER_CATEGORY) {
            cats.push(USER_CATEGORY);
        }
        cats.sort_by_key(|c| title(c));
        cats.into_iter()
            .map(|cat| {
                let mut rows: Vec<SummaryRow> = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, f)| shown[*i] && f.category == cat)
                    .map(|(i, _)| self.summary_row(i))
                    .collect();
                if cat == USER_CATEGORY {
                    rows.extend(self.user_fields().filter_map(|u| self.user_summary_row(u)));
                }
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
            let parts = (f.rd_dis.len() == 2).then(|| {
                [
                    self.is_readable_at(index, Some(0)),
                    self.is_readable_at(index, Some(1)),
                ]
            });
            let zero = self.field_bits_at(index, true).is_zero();
            value = FieldValue::Text(masked(value.to_string(), parts, zero));
        }
        SummaryRow {
            field: FieldRef::Chip(f.field),
            index: Some(index),
            value,
            readable,
            writeable,
        }
    }

    /// A user field's row: espefuse's plain `EfuseField` of type `bool`,
    /// `bytes:N` (shown as hex bytes, memory order) or `uint:N`.
    fn user_summary_row(&self, field: UserField) -> Option<SummaryRow> {
        let def = self.user_def(field).ok()?;
        let slot = self.user_slot(field).ok()?;
        let bits = self.slot_bits(&slot, true);
        let readable = self.slot_readable(&slot);
        let writeable = self.slot_writeable(&slot);
        let mut value = match def.ty() {
            FieldType::Bool => FieldValue::Bool(bits.get(0)),
            FieldType::Bytes => FieldValue::Text(hexify(bits.bytes(), " ")),
            FieldType::Uint => {
                let wide = WideUint::from_bits(&bits);
                match wide.to_u64().and_then(|v| i64::try_from(v).ok()) {
                    Some(v) => FieldValue::Int(v),
                    None => FieldValue::Wide(wide),
                }
            }
        };
        if !readable {
            let part = |p: usize| {
                def.rd_dis
                    .get(p)
                    .is_none_or(|b| self.rd_dis() & (1 << b) == 0)
            };
            let parts = (def.rd_dis.len() == 2).then(|| [part(0), part(1)]);
            value = FieldValue::Text(masked(value.to_string(), parts, bits.is_zero()));
        }
        Some(SummaryRow {
            field: FieldRef::User(field),
            index: None,
            value,
            readable,
            writeable,
        })
    }

    /// MAC_EUI64's bits: espefuse fills a calculated field's bits from its
    /// value (base_fields.py `update`), so `--active` lists it once the
    /// MAC it is made of is burned. The value is its text, `aa:bb:… (OK)`.
    fn eui64_bits(&self, index: usize) -> Bits {
        let digits = match self.get_at(index, true) {
            FieldValue::Text(t) => t.split(' ').next().unwrap_or_default().replace(':', ""),
            _ => String::new(),
        };
        hex::decode(digits)
            .map(|b| Bits::from_bytes(&b))
            .unwrap_or_else(|_| Bits::zeros(64))
    }

    fn row_info(&self, row: &SummaryRow) -> Option<RowInfo> {
        match row.field {
            FieldRef::Chip(_) => {
                let index = row.index?;
                let f = self.def_at(index);
                let purpose = if f.class == FieldClass::KeyBlock {
                    let kp = self
                        .table()
                        .blocks
                        .get(f.block as usize)
                        .and_then(|b| b.key_purpose);
                    kp.and_then(|kp| self.get(kp).ok()).map(|p| p.to_string())
                } else {
                    None
                };
                Some(RowInfo {
                    name: f.name().to_string(),
                    block: usize::from(f.block),
                    description: f.description.to_string(),
                    category: f.category.to_string(),
                    efuse_type: f.efuse_type.to_string(),
                    bit_len: u32::from(f.bit_len),
                    word: f.word.map(u32::from),
                    pos: f.pos.map(u32::from),
                    bytes: f.ty == FieldType::Bytes,
                    bits: if f.field == Field::MacEui64 {
                        self.eui64_bits(index)
                    } else {
                        self.field_bits_at(index, true)
                    },
                    error: self.field_has_error(index),
                    purpose,
                    eui64: f.field == Field::MacEui64,
                })
            }
            FieldRef::User(u) => {
                let c = self.user_def(u).ok()?;
                let slot = self.user_slot(u).ok()?;
                let f = &c.field;
                Some(RowInfo {
                    name: f.name.clone(),
                    block: f.block as usize,
                    description: f.comment.clone(),
                    category: USER_CATEGORY.to_string(),
                    efuse_type: f.efuse_type(),
                    bit_len: f.bit_count,
                    word: Some(f.bit_start / 32),
                    pos: Some(f.bit_start % 32),
                    bytes: c.ty() == FieldType::Bytes,
                    bits: self.slot_bits(&slot, true),
                    error: self.slot_has_error(slot.block, slot.offset, slot.len),
                    purpose: None,
                    eui64: false,
                })
            }
        }
    }

    /// `summary --format json` as a JSON value (keys sorted like espefuse's
    /// `sort_keys=True`), of the fields in `only` (every field when empty).
    /// An integer wider than 64 bits becomes a JSON float here;
    /// [`Efuses::summary_json_text`] writes it exactly.
    pub fn summary_json(&self, only: &[Field]) -> serde_json::Value {
        let only: Vec<FieldRef> = only.iter().map(|f| FieldRef::Chip(*f)).collect();
        self.summary_json_filtered((!only.is_empty()).then_some(only.as_slice()), false)
    }

    /// `summary --format json [--active] [NAME…]` as a JSON value; see
    /// [`Efuses::summary_json`].
    pub fn summary_json_filtered(
        &self,
        only: Option<&[FieldRef]>,
        active: bool,
    ) -> serde_json::Value {
        serde_json::from_str(&self.summary_json_text(only, active)).unwrap_or_default()
    }

    /// `summary --format json [--active] [NAME…]` as espefuse writes it
    /// (`json.dump(…, sort_keys=True, indent=4)`): with `active`, only
    /// non-zero or protected fields; with `only` (see [`summary_refs`]),
    /// only those.
    pub fn summary_json_text(&self, only: Option<&[FieldRef]>, active: bool) -> String {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (_, rows) in self.summary_rows() {
            for r in rows {
                if !keep(only, r.field) {
                    continue;
                }
                let Some(info) = self.row_info(&r) else {
                    continue;
                };
                // base_operations.py summary: --active keeps fields with
                // errors, non-zero or protected ones
                if active && r.readable && r.writeable && info.bits.is_zero() && !info.error {
                    continue;
                }
                let raw = if let (true, FieldValue::Text(text)) = (info.eui64, &r.value) {
                    // a calculated field: its raw value is the EUI-64 as shown
                    // (MAC with MAC_EXT inserted), base_fields.py `get_raw`
                    let eui64 = text.split(' ').next().unwrap_or_default();
                    format!("0x{}", eui64.replace(':', ""))
                } else if info.bytes {
                    // the text value's byte order (memory order), util.json_raw_value_hex
                    format!("0x{}", hex::encode(info.bits.bytes()))
                } else {
                    format!("0x{}", info.bits.hex_msb())
                };
                let value = match &r.value {
                    FieldValue::Bool(b) => b.to_string(),
                    FieldValue::Int(i) => i.to_string(),
                    FieldValue::Wide(w) => w.to_string(),
                    FieldValue::Float(x) => serde_json::Value::from(*x).to_string(),
                    FieldValue::Text(s) => py_json_string(s),
                };
                let opt = |v: Option<u32>| v.map_or("null".to_string(), |v| v.to_string());
                let fields = [
                    ("bit_len", info.bit_len.to_string()),
                    ("block", info.block.to_string()),
                    ("category", py_json_string(&info.category)),
                    ("description", py_json_string(&info.description)),
                    ("efuse_type", py_json_string(&info.efuse_type)),
                    ("name", py_json_string(&info.name)),
                    ("pos", opt(info.pos)),
                    ("raw_value", py_json_string(&raw)),
                    ("readable", r.readable.to_string()),
                    ("value", value),
                    ("word", opt(info.word)),
                    ("writeable", r.writeable.to_string()),
                ];
                let body: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("        \"{k}\": {v}"))
                    .collect();
                let entry = format!("{{\n{}\n    }}", body.join(",\n"));
                // a dict: a later field of the same name replaces the earlier
                match entries.iter_mut().find(|(n, _)| *n == info.name) {
                    Some(slot) => slot.1 = entry,
                    None => entries.push((info.name, entry)),
                }
            }
        }
        if entries.is_empty() {
            return "{}".to_string();
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let body: Vec<String> = entries
            .iter()
            .map(|(name, entry)| format!("    {}: {entry}", py_json_string(name)))
            .collect();
        format!("{{\n{}\n}}", body.join(",\n"))
    }

    /// The `value_only` summary: the values of the rows in `only`, one a
    /// line, as the text table shows them (with `active`, only those
    /// `--active` keeps).
    pub fn summary_values(&self, only: &[FieldRef], active: bool) -> Vec<String> {
        self.summary_rows()
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .filter(|r| only.contains(&r.field))
            .filter(|r| {
                !active
                    || !r.readable
                    || !r.writeable
                    || self
                        .row_info(r)
                        .is_some_and(|i| i.error || !i.bits.is_zero())
            })
            .map(|r| r.value.to_string())
            .collect()
    }

    /// The `value_only` summary of one field: its value as the text table
    /// shows it; `None` when no shown row is in `only`.
    pub fn summary_value(&self, only: &[Field]) -> Option<String> {
        let only: Vec<FieldRef> = only.iter().map(|f| FieldRef::Chip(*f)).collect();
        self.summary_values(&only, false).into_iter().next()
    }

    /// The summary text table (`summary [--active] [NAME…]`), without the
    /// banner lines; `only` as in [`Efuses::summary_json_text`].
    pub fn summary_text(&self, only: Option<&[FieldRef]>, active: bool) -> String {
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
                if !keep(only, r.field) {
                    continue;
                }
                let Some(info) = self.row_info(&r) else {
                    continue;
                };
                let raw = if info.bytes {
                    String::new()
                } else {
                    format!("({})", info.bits.python_str())
                };
                let mut name = format!("{} (BLOCK{})", info.name, info.block);
                if info.error {
                    name.push_str("[error]");
                }
                // --active keeps fields with errors too
                if active && info.bits.is_zero() && r.readable && r.writeable && !info.error {
                    continue;
                }
                if let Some(purpose) = &info.purpose {
                    name.push_str(&format!("\n  Purpose: {purpose}\n "));
                }
                let value = r.value.to_string();
                let chars: Vec<char> = info.description.chars().collect();
                let desc: String = chars.iter().take(50).collect();
                out.push(format!(
                    "{:<50} {:<50}{} = {} {} {}",
                    name,
                    desc,
                    if value.chars().count() > 20 {
                        "\n  "
                    } else {
                        ""
                    },
                    value,
                    perms(r.readable, r.writeable),
                    raw
                ));
                for part in chars.chunks(50).skip(1) {
                    let part: String = part.iter().collect();
                    out.push(format!("{:<50} {:<50}", "", part));
                }
            }
            if only.is_some() && out.last() == Some(&header) {
                out.pop();
            } else {
                out.push(String::new());
            }
        }
        // the chip's own summary() line: ESP32 explains VDD_SDIO, the others print ""
        out.push(match self.chip() {
            Chip::Esp32 => esp32_flash_voltage(self),
            Chip::Esp32s2 | Chip::Esp32s3 => s2_s3_flash_voltage(self),
            _ => String::new(),
        });
        out.join("\n")
    }
}

/// A string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
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
