//! ESP-IDF style eFuse CSV tables (`esp_efuse_custom_table.csv`), the file
//! espefuse's `--extend-efuse-table` takes.
//!
//! The rules are espefuse 5.6.0's (`espefuse/efuse/csv_table_parser.py`,
//! `CSVFuseTable.from_csv` and `FuseDefinition.from_csv`, and
//! `mem_definition_base.py`, `EfuseFieldsBase.extend_efuses`):
//! - a row is `field_name, efuse_block, bit_start, bit_count, comment`;
//!   blank rows and rows starting with `#` are skipped, every cell is
//!   trimmed, missing trailing cells are empty;
//! - the block is `EFUSE_BLKn` or a number (Python's `int(text, 0)` after
//!   `str.lstrip("EFUSE_BLK")`, which strips those *characters*);
//! - `bit_count` may be `MAX_BLK_LEN` (256 bits, `MAX_BITS_OF_BLOCK`);
//! - an empty name continues the previous field: rows of one name become
//!   `NAME_0`, `NAME_1`…, and `.` in a name (struct sub-fields) becomes `_`;
//! - the comment gets ` (start-end)` appended, and a leading `[ALT NAMES]`
//!   in it gives alternative names;
//! - names must be unique ("Field names must be unique").
//!
//! Deliberate differences, all on input espefuse crashes on or reads from
//! the environment: an empty `bit_start` is refused here (espefuse's
//! `from_csv` adds it to an integer and dies with a Python traceback), and
//! `$VARIABLE`s are not expanded from the environment (espefuse runs
//! `os.path.expandvars` over every row; a row that starts with an unset one
//! is its "unknown variable" error, which this parser reports for any row
//! that starts with `$NAME`).
//!
//! The parser is bounded: at most [`MAX_ROWS`] fields of at most
//! [`MAX_BITS_OF_BLOCK`] bits, and it never panics on any input (the
//! `efuse_csv` fuzz target checks that).

use std::fmt;

use crate::tables::{Chip, ChipEfuses as _};

/// Bits in one eFuse block as espefuse's CSV parser counts them
/// (`FuseDefinition.MAX_BITS_OF_BLOCK`), and what `MAX_BLK_LEN` means.
pub const MAX_BITS_OF_BLOCK: u32 = 256;

/// At most this many fields in one table: far more than the user blocks of
/// any chip can hold bit by bit (a few blocks of 256 bits), so a real table
/// never meets it, and a hostile one cannot make the name checks quadratic
/// without bound.
pub const MAX_ROWS: usize = 4096;

/// One field of a custom table, after espefuse's fix-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// Name (`USER_DATA_SERIAL`, `MODULE_VERSION_0`…).
    pub name: String,
    /// Alternative names from a leading `[A B]` in the comment.
    pub alt_names: Vec<String>,
    /// Block number (`EFUSE_BLK3` is 3). Whether the chip has it is the
    /// table's business, not the parser's.
    pub block: u32,
    /// First bit inside the block.
    pub bit_start: u32,
    /// Length in bits (1 to [`MAX_BITS_OF_BLOCK`]).
    pub bit_count: u32,
    /// The comment with ` (start-end)` appended: espefuse's description.
    pub comment: String,
    /// The 1-based line of the file the field was defined on.
    pub line: usize,
}

impl CustomField {
    /// espefuse's type string for the field (`extend_efuses`): `bool` for one
    /// bit, `bytes:N` above 32 bits in whole bytes, `uint:N` otherwise.
    pub fn efuse_type(&self) -> String {
        if self.bit_count == 1 {
            "bool".to_owned()
        } else if self.bit_count > 32 && self.bit_count.is_multiple_of(8) {
            format!("bytes:{}", self.bit_count / 8)
        } else {
            format!("uint:{}", self.bit_count)
        }
    }
}

/// A parsed custom table: its fields in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomTable {
    /// The fields.
    pub fields: Vec<CustomField>,
}

/// What is wrong with one row or with the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// The block cell is empty (espefuse's message).
    #[error("Field 'efuse_block' can't be left empty.")]
    EmptyBlock,
    /// A number cell is not a Python integer (espefuse's message).
    #[error("Invalid field value {0}")]
    InvalidValue(String),
    /// `bit_count` is empty or 0 (espefuse's message).
    #[error("Field bit_count can't be empty")]
    EmptyBitCount,
    /// `bit_start` is empty: espefuse crashes on it; refused here.
    #[error("Field bit_start can't be empty")]
    EmptyBitStart,
    /// A number is negative or too large for a block.
    #[error("{cell} {value} is out of range (expected 0 to {max})")]
    OutOfRange {
        /// `efuse_block`, `bit_start` or `bit_count`.
        cell: &'static str,
        /// The value as given.
        value: String,
        /// The largest value accepted.
        max: u32,
    },
    /// A row that starts with a `$VARIABLE` (espefuse's message).
    #[error("unknown variable '{0}'")]
    UnknownVariable(String),
    /// The first field has no name (espefuse's "missing field name").
    #[error("the first field has no name (expected a field name in the first cell)")]
    MissingFieldName,
    /// Two fields end up with the same name (espefuse's message).
    #[error("Field names must be unique: {name}")]
    DuplicateName {
        /// The first name found twice.
        name: String,
        /// The lines espefuse prints first, one per row it blames
        /// (`Field at NAME, BLOCK, START, COUNT have duplicate field_name`).
        report: Vec<String>,
    },
    /// More than [`MAX_ROWS`] fields.
    #[error("more than {MAX_ROWS} fields")]
    TooManyRows,
}

/// A custom table that cannot be used: the file, the line (when one row is
/// at fault) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {kind}", Line(*line))]
#[non_exhaustive]
pub struct CsvError {
    /// The file as named on the command line.
    pub file: String,
    /// The 1-based line at fault, if one is.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: CsvErrorKind,
}

struct Line(Option<usize>);

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, ", line {line}"),
            None => Ok(()),
        }
    }
}

/// Parses an eFuse CSV table as espefuse's `--extend-efuse-table` reads it.
/// `file` names the file in errors.
///
/// # Errors
/// [`CsvError`] naming the file, the line and what was expected.
pub fn parse(file: &str, data: &[u8]) -> Result<CustomTable, CsvError> {
    let error = |line: Option<usize>, kind| CsvError {
        file: file.to_owned(),
        line,
        kind,
    };
    let text = std::str::from_utf8(data).map_err(|_| error(None, CsvErrorKind::NotText))?;
    let mut fields: Vec<CustomField> = Vec::new();
    // Python's str.splitlines() (on the line breaks ESP-IDF files use).
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        if let Some(name) = leading_variable(row) {
            return Err(error(Some(line_no), CsvErrorKind::UnknownVariable(name)));
        }
        if fields.len() == MAX_ROWS {
            return Err(error(Some(line_no), CsvErrorKind::TooManyRows));
        }
        let field = parse_row(row, line_no).map_err(|kind| error(Some(line_no), kind))?;
        fields.push(field);
    }
    // espefuse's first duplicate check runs on the names as written, a
    // `.` name also counting as its `_` spelling (verify_duplicate_name).
    let mut written: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    written.extend(
        fields
            .iter()
            .filter(|f| f.name.contains('.'))
            .map(|f| f.name.replace('.', "_")),
    );
    let mut seen_once = std::collections::HashSet::new();
    let twice: std::collections::HashSet<&str> = written
        .iter()
        .filter(|n| !seen_once.insert(n.as_str()))
        .map(String::as_str)
        .collect();
    let blamed: Vec<&CustomField> = fields
        .iter()
        .filter(|f| !f.name.is_empty() && twice.contains(f.name.as_str()))
        .collect();
    if let Some(first) = blamed.first() {
        return Err(error(
            Some(first.line),
            CsvErrorKind::DuplicateName {
                name: first.name.clone(),
                report: blamed
                    .iter()
                    .map(|f| {
                        format!(
                            "Field at {}, {}, {}, {} have duplicate field_name",
                            f.name, f.block, f.bit_start, f.bit_count
                        )
                    })
                    .collect(),
            },
        ));
    }
    // An empty name continues the field above it.
    let mut last: Option<String> = None;
    for field in &mut fields {
        if field.name.is_empty() {
            match &last {
                Some(name) => field.name.clone_from(name),
                None => return Err(error(Some(field.line), CsvErrorKind::MissingFieldName)),
            }
        }
        last = Some(field.name.clone());
    }
    // Rows of one name are numbered in file order: NAME_0, NAME_1…
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for field in &fields {
        *counts.entry(field.name.clone()).or_default() += 1;
    }
    let mut next = std::collections::HashMap::<String, usize>::new();
    for field in &mut fields {
        if counts.get(&field.name).copied().unwrap_or(0) > 1 {
            let n = next.entry(field.name.clone()).or_default();
            field.name = format!("{}_{n}", field.name);
            for alt in &mut field.alt_names {
                *alt = format!("{alt}_{n}");
            }
            *n += 1;
        }
    }
    for field in &mut fields {
        field.name = field.name.replace('.', "_");
        for alt in &mut field.alt_names {
            *alt = alt.replace('.', "_");
        }
    }
    let mut seen = std::collections::HashSet::new();
    for field in &fields {
        if !seen.insert(field.name.as_str()) {
            return Err(error(
                Some(field.line),
                CsvErrorKind::DuplicateName {
                    name: field.name.clone(),
                    report: Vec::new(),
                },
            ));
        }
    }
    Ok(CustomTable { fields })
}

/// A custom field placed on a chip: the parsed field with the protection
/// bits espefuse gives it (`extend_efuses`: those of the chip's fields in
/// the same block; none in BLOCK0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipCustomField {
    /// The field as parsed.
    pub field: CustomField,
    /// The WR_DIS bit that protects it.
    pub wr_dis: Option<u8>,
    /// The RD_DIS bits that protect it.
    pub rd_dis: Vec<u8>,
}

/// Why a parsed table cannot extend a chip's table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtendError {
    /// A field is in a block the chip does not have (espefuse dies with an
    /// IndexError on it).
    #[error("{file}, line {line}: {chip} has no eFuse block {block} (expected EFUSE_BLK0 to EFUSE_BLK{last})")]
    UnknownBlock {
        /// The file.
        file: String,
        /// The line of the field.
        line: usize,
        /// The chip.
        chip: Chip,
        /// The block given.
        block: u32,
        /// The chip's last block.
        last: u8,
    },
    /// A field that ends past its block (espefuse dies with a ValueError,
    /// "Bit position cannot be negative", on it).
    #[error("{file}, line {line}: {name} ends at bit {end} of BLOCK{block}, which has {bits} bits (expected bit_start + bit_count <= {bits})")]
    PastBlockEnd {
        /// The file.
        file: String,
        /// The line of the field.
        line: usize,
        /// The field.
        name: String,
        /// Its block.
        block: u32,
        /// The bit after its last.
        end: u32,
        /// The bits of the block (its registers, `<chip>/mem_definition.py`).
        bits: usize,
    },
    /// Names that the chip's table already has (espefuse prints
    /// `Names that are not unique: …`, then this fatal error).
    #[error("Duplicate names found in eFuses")]
    DuplicateNames {
        /// The names, in table order.
        names: Vec<String>,
    },
}

/// Places `table`'s fields on `chip` as espefuse's `extend_efuses` does:
/// each gets the WR_DIS and RD_DIS bits of the chip's fields in its block.
/// `file` names the table in errors.
///
/// # Errors
/// [`ExtendError::UnknownBlock`] for a block the chip lacks;
/// [`ExtendError::DuplicateNames`] for names (or alternative names) the
/// chip's table already uses.
pub fn extend(
    chip: Chip,
    file: &str,
    table: &CustomTable,
) -> Result<Vec<ChipCustomField>, ExtendError> {
    let chip_table = chip.table();
    let last = chip_table.blocks.iter().map(|b| b.id).max().unwrap_or(0);
    let mut placed = Vec::with_capacity(table.fields.len());
    for field in &table.fields {
        let Some(block) = chip_table
            .blocks
            .iter()
            .find(|b| u32::from(b.id) == field.block)
        else {
            return Err(ExtendError::UnknownBlock {
                file: file.to_owned(),
                line: field.line,
                chip,
                block: field.block,
                last,
            });
        };
        let end = field.bit_start + field.bit_count;
        if end as usize > block.len_words * 32 {
            return Err(ExtendError::PastBlockEnd {
                file: file.to_owned(),
                line: field.line,
                name: field.name.clone(),
                block: field.block,
                end,
                bits: block.len_words * 32,
            });
        }
        let (mut wr_dis, mut rd_dis) = (None, None);
        if field.block != 0 {
            // espefuse scans its fields in table order and keeps the last
            // bit seen of each kind until it has both.
            for def in chip_table
                .fields
                .iter()
                .filter(|d| u32::from(d.block) == field.block)
            {
                if def.wr_dis.is_some() {
                    wr_dis = def.wr_dis;
                }
                if !def.rd_dis.is_empty() {
                    rd_dis = Some(def.rd_dis.to_vec());
                }
                if wr_dis.is_some() && rd_dis.is_some() {
                    break;
                }
            }
        }
        placed.push(ChipCustomField {
            field: field.clone(),
            wr_dis,
            rd_dis: rd_dis.unwrap_or_default(),
        });
    }
    let mut taken: std::collections::HashSet<&str> = chip_table
        .fields
        .iter()
        .flat_map(|d| std::iter::once(d.name()).chain(d.alt_names.iter().copied()))
        .collect();
    let mut duplicates = Vec::new();
    for field in &table.fields {
        for name in std::iter::once(&field.name).chain(&field.alt_names) {
            if !taken.insert(name) && !duplicates.contains(name) {
                duplicates.push(name.clone());
            }
        }
    }
    if duplicates.is_empty() {
        Ok(placed)
    } else {
        Err(ExtendError::DuplicateNames { names: duplicates })
    }
}

/// `$NAME` at the start of a row: espefuse's "unknown variable".
fn leading_variable(row: &str) -> Option<String> {
    let rest = row.strip_prefix('$')?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let first = name.chars().next()?;
    (first.is_ascii_alphabetic() || first == '_').then_some(name)
}

fn parse_row(row: &str, line: usize) -> Result<CustomField, CsvErrorKind> {
    let mut cells = row.split(',').map(str::trim);
    let mut next = || cells.next().unwrap_or("");
    let name = next().to_owned();
    let block_cell = next();
    let start_cell = next();
    let count_cell = next();
    let comment_cell = next();
    if block_cell.is_empty() {
        return Err(CsvErrorKind::EmptyBlock);
    }
    // str.lstrip("EFUSE_BLK") strips any of those characters from the left.
    let block_text = block_cell.trim_start_matches(|c| "EFUSE_BLK".contains(c));
    let block = number(block_text)?;
    let bit_start = if start_cell.is_empty() {
        None
    } else {
        Some(number(start_cell)?)
    };
    let bit_count = match count_cell {
        "" => return Err(CsvErrorKind::EmptyBitCount),
        "MAX_BLK_LEN" => i128::from(MAX_BITS_OF_BLOCK),
        text => number(text)?,
    };
    if bit_count == 0 {
        return Err(CsvErrorKind::EmptyBitCount);
    }
    let bit_start = bit_start.ok_or(CsvErrorKind::EmptyBitStart)?;
    let block = in_range("efuse_block", block, u32::from(u8::MAX))?;
    let bit_start = in_range("bit_start", bit_start, MAX_BITS_OF_BLOCK - 1)?;
    let bit_count = in_range("bit_count", bit_count, MAX_BITS_OF_BLOCK - bit_start)?;
    let mut comment = comment_cell.trim_end_matches('\\').trim_end().to_owned();
    let alt_names = comment
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(alt, _)| alt)
        .filter(|alt| !alt.is_empty())
        .map(|alt| alt.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    comment.push_str(&format!(" ({bit_start}-{})", bit_start + bit_count - 1));
    Ok(CustomField {
        name,
        alt_names,
        block,
        bit_start,
        bit_count,
        comment,
        line,
    })
}

fn number(text: &str) -> Result<i128, CsvErrorKind> {
    py_int::parse(text).map_err(|_| CsvErrorKind::InvalidValue(text.to_owned()))
}

fn in_range(cell: &'static str, value: i128, max: u32) -> Result<u32, CsvErrorKind> {
    u32::try_from(value)
        .ok()
        .filter(|v| *v <= max)
        .ok_or(CsvErrorKind::OutOfRange {
            cell,
            value: value.to_string(),
            max,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (Option<usize>, CsvErrorKind) {
        let err = parse("t.csv", text.as_bytes()).unwrap_err();
        (err.line, err.kind)
    }

    #[test]
    fn parses_idf_custom_table_with_continuations_and_struct_fields() {
        let text = "# field_name, efuse_block, bit_start, bit_count, comment\n\
                    \n\
                    MODULE_VERSION, EFUSE_BLK3, 56, 8, Module version\n\
                    DEVICE_ROLE, EFUSE_BLK3, 64, 3, Device role\n\
                    SETTING_1, EFUSE_BLK3, 67, 6, [SET1] Setting 1\n\
                    CUSTOM_SECURE_VERSION, EFUSE_BLK3, 73, 16, Custom secure version\n\
                    ID_NUM, EFUSE_BLK3, 140, 8, comment\\\n\
                    , EFUSE_BLK3, 148, 8, comment\n\
                    USER_DATA.SERIAL, 3, 0x20, MAX_BLK_LEN, x\n";
        let err = parse("t.csv", text.as_bytes());
        // 0x20 + 256 is beyond the block
        assert_eq!(
            err.unwrap_err().kind,
            CsvErrorKind::OutOfRange {
                cell: "bit_count",
                value: "256".into(),
                max: 224
            }
        );
        let text = text.replace("0x20, MAX_BLK_LEN", "0x0, MAX_BLK_LEN");
        let table = parse("t.csv", text.as_bytes()).unwrap();
        let names: Vec<_> = table.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "MODULE_VERSION",
                "DEVICE_ROLE",
                "SETTING_1",
                "CUSTOM_SECURE_VERSION",
                "ID_NUM_0",
                "ID_NUM_1",
                "USER_DATA_SERIAL"
            ]
        );
        let set = &table.fields[2];
        assert_eq!(set.alt_names, ["SET1"]);
        assert_eq!(set.comment, "[SET1] Setting 1 (67-72)");
        assert_eq!((set.block, set.bit_start, set.bit_count), (3, 67, 6));
        assert_eq!(table.fields[4].comment, "comment (140-147)");
        assert_eq!(table.fields[6].efuse_type(), "bytes:32");
        assert_eq!(table.fields[3].efuse_type(), "uint:16");
        assert_eq!(table.fields[6].line, 9);
    }

    #[test]
    fn efuse_csv_empty_block_is_refused_with_its_line() {
        assert_eq!(kind("A, , 0, 8, c\n"), (Some(1), CsvErrorKind::EmptyBlock));
    }

    #[test]
    fn efuse_csv_invalid_number_names_the_value() {
        assert_eq!(
            kind("#\nA, EFUSE_BLK3, zero, 8, c\n"),
            (Some(2), CsvErrorKind::InvalidValue("zero".into()))
        );
        // Python's int(text, 0) refuses a leading zero in decimal
        assert_eq!(
            kind("A, 3, 08, 8, c\n").1,
            CsvErrorKind::InvalidValue("08".into())
        );
        assert_eq!(
            kind("A, EFUSE_BLKX, 0, 8, c\n").1,
            CsvErrorKind::InvalidValue("X".into())
        );
    }

    #[test]
    fn efuse_csv_empty_or_zero_bit_count_is_refused() {
        assert_eq!(kind("A, 3, 0, , c\n").1, CsvErrorKind::EmptyBitCount);
        assert_eq!(kind("A, 3, 0, 0, c\n").1, CsvErrorKind::EmptyBitCount);
        assert_eq!(kind("A, 3, 0\n").1, CsvErrorKind::EmptyBitCount);
    }

    #[test]
    fn efuse_csv_empty_bit_start_is_refused_not_a_crash() {
        assert_eq!(kind("A, 3, , 8, c\n").1, CsvErrorKind::EmptyBitStart);
    }

    #[test]
    fn efuse_csv_out_of_range_values_are_refused() {
        assert!(matches!(
            kind("A, 3, -1, 8, c\n").1,
            CsvErrorKind::OutOfRange {
                cell: "bit_start",
                ..
            }
        ));
        assert!(matches!(
            kind("A, 3, 250, 8, c\n").1,
            CsvErrorKind::OutOfRange {
                cell: "bit_count",
                ..
            }
        ));
        assert!(matches!(
            kind("A, 999, 0, 8, c\n").1,
            CsvErrorKind::OutOfRange {
                cell: "efuse_block",
                ..
            }
        ));
        assert!(matches!(
            kind("A, 3, 0, 0x1000000000000000000000000000000000, c\n").1,
            CsvErrorKind::InvalidValue(_)
        ));
    }

    #[test]
    fn efuse_csv_first_row_without_name_is_refused() {
        assert_eq!(
            kind("\n, 3, 0, 8, c\n"),
            (Some(2), CsvErrorKind::MissingFieldName)
        );
    }

    #[test]
    fn efuse_csv_duplicate_names_are_refused() {
        // A.B and A_B are the same name once '.' becomes '_'
        assert_eq!(
            kind("A.B, 3, 0, 8, c\nA_B, 3, 8, 8, c\n"),
            (
                Some(2),
                CsvErrorKind::DuplicateName {
                    name: "A_B".into(),
                    report: vec!["Field at A_B, 3, 8, 8 have duplicate field_name".into()]
                }
            )
        );
    }

    #[test]
    fn efuse_csv_leading_variable_is_unknown() {
        assert_eq!(
            kind("$HOME_X, 3, 0, 8, c\n"),
            (Some(1), CsvErrorKind::UnknownVariable("HOME_X".into()))
        );
    }

    #[test]
    fn efuse_csv_non_utf8_is_refused() {
        assert_eq!(kind("A\u{0}").1, CsvErrorKind::EmptyBlock);
        let err = parse("t.csv", b"\xff\xfe").unwrap_err();
        assert_eq!(err.kind, CsvErrorKind::NotText);
        assert_eq!(err.to_string(), "t.csv: not UTF-8 text");
    }

    #[test]
    fn efuse_csv_error_names_file_and_line() {
        let err = parse("custom.csv", b"#\n#\nA, , 0, 8\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "custom.csv, line 3: Field 'efuse_block' can't be left empty."
        );
    }

    #[test]
    fn efuse_csv_too_many_rows_is_refused() {
        let text: String = (0..=MAX_ROWS).map(|i| format!("F{i}, 3, 0, 1\n")).collect();
        assert_eq!(kind(&text), (Some(MAX_ROWS + 1), CsvErrorKind::TooManyRows));
    }

    #[test]
    fn extend_takes_the_blocks_protection_bits() {
        let table = parse(
            "t.csv",
            b"MODULE_VERSION, EFUSE_BLK3, 56, 8, v\nB0, 0, 150, 1, b\n",
        )
        .unwrap();
        let placed = extend(Chip::Esp32c3, "t.csv", &table).unwrap();
        let user_data = Chip::Esp32c3
            .table()
            .fields
            .iter()
            .find(|d| d.name() == "BLOCK_USR_DATA")
            .unwrap();
        assert_eq!(placed[0].wr_dis, user_data.wr_dis);
        assert!(placed[0].wr_dis.is_some());
        assert_eq!((placed[1].wr_dis, placed[1].rd_dis.len()), (None, 0));
    }

    #[test]
    fn extend_refuses_a_block_the_chip_lacks() {
        let table = parse("t.csv", b"#\nA, EFUSE_BLK11, 0, 8, c\n").unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert!(
            matches!(
                err,
                ExtendError::UnknownBlock {
                    line: 2,
                    block: 11,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "t.csv, line 2: esp32c3 has no eFuse block 11 (expected EFUSE_BLK0 to EFUSE_BLK10)"
        );
    }

    #[test]
    fn regression_field_past_the_end_of_block0_was_accepted() {
        // the ESP32-C3's BLOCK0 has 6 registers: bits 0 to 191
        let table = parse("t.csv", b"A, EFUSE_BLK0, 180, 12, c\nB, 0, 190, 3, c\n").unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv, line 2: B ends at bit 193 of BLOCK0, which has 192 bits \
             (expected bit_start + bit_count <= 192)"
        );
    }

    #[test]
    fn extend_refuses_names_the_chip_has() {
        let table = parse(
            "t.csv",
            b"WR_DIS, EFUSE_BLK3, 0, 8, c\nX, 3, 8, 8, [USER_DATA] x\n",
        )
        .unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert_eq!(
            err,
            ExtendError::DuplicateNames {
                names: vec!["WR_DIS".into(), "USER_DATA".into()]
            }
        );
        assert_eq!(err.to_string(), "Duplicate names found in eFuses");
    }

    /// The pinned espefuse's `--chip esp32c3 --virt --extend-efuse-table
    /// T summary` on a fresh chip prints exactly these rows for T.
    #[test]
    fn summary_section_matches_espefuse_on_a_fresh_esp32c3() {
        let table = parse(
            "t.csv",
            b"MODULE_VERSION, EFUSE_BLK3, 56, 8, Module version\n\
              DEVICE_ROLE, EFUSE_BLK3, 64, 3, Device role\n\
              SETTING_1, EFUSE_BLK3, 67, 6, [SET1] Setting 1\n\
              ID_NUM, EFUSE_BLK3, 140, 8, comment\\\n\
              , EFUSE_BLK3, 148, 8, comment\n",
        )
        .unwrap();
        let placed = extend(Chip::Esp32c3, "t.csv", &table).unwrap();
        let mut efuses = crate::Efuses::new(Chip::Esp32c3);
        efuses.set_custom_fields(placed);
        let expected = "User fuses:
MODULE_VERSION (BLOCK3)                            Module version (56-63)                             = 0 R/W (0x00)
DEVICE_ROLE (BLOCK3)                               Device role (64-66)                                = 0 R/W (0b000)
SETTING_1 (BLOCK3)                                 [SET1] Setting 1 (67-72)                           = 0 R/W (0b000000)
ID_NUM_0 (BLOCK3)                                  comment (140-147)                                  = 0 R/W (0x00)
ID_NUM_1 (BLOCK3)                                  comment (148-155)                                  = 0 R/W (0x00)
";
        let text = efuses.summary_text(None, false);
        assert!(text.contains(expected), "{text}");
    }
}
