//! ESP-IDF style eFuse CSV tables (`esp_efuse_custom_table.csv`), the file
//! espefuse's `--extend-efuse-table` takes.
//!
//! The rules are espefuse 5.6.0's (`espefuse/efuse/csv_table_parser.py`,
//! `CSVFuseTable.from_csv` and `FuseDefinition.from_csv`, and
//! `mem_definition_base.py`, `EfuseFieldsBase.extend_efuses`):
//! - a row is `field_name, efuse_block, bit_start, bit_count, comment`;
//!   the file is read and split into lines as Python does (universal
//!   newlines, `str.splitlines()`), blank rows and rows starting with `#`
//!   are skipped, every cell is stripped (`str.strip()`), missing trailing
//!   cells are empty;
//! - the block is `EFUSE_BLKn` or a number (Python's `int(text, 0)` after
//!   `str.lstrip("EFUSE_BLK")`, which strips those *characters*);
//! - `bit_count` may be `MAX_BLK_LEN` (256 bits, `MAX_BITS_OF_BLOCK`);
//! - an empty name continues the previous field: rows of one name become
//!   `NAME_0`, `NAME_1`…, and `.` in a name (struct sub-fields) becomes `_`;
//! - the comment gets ` (start-end)` appended, and a leading `[ALT NAMES]`
//!   in it gives alternative names;
//! - names must be unique ("Field names must be unique").
//!
//! Where espefuse dies with a Python traceback (an empty `bit_start`, a
//! block the chip lacks, bits outside their block), this parser and
//! [`extend`] refuse the table, and [`CsvError::python_exception`] and
//! [`ExtendError::python_exception`] give the traceback's last line.
//! Deliberate differences, on input espefuse reads from the environment or
//! takes by accident: `$VARIABLE`s are not expanded from the environment
//! (espefuse runs `os.path.expandvars` over every row; a row that starts
//! with an unset one is its "unknown variable" error, which this parser
//! reports for any row that starts with `$NAME`), a negative block number
//! is refused (Python indexes its block list from the end with it), and
//! numbers past 128 bits are invalid values.
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
    /// The numbers as written when they do not fit a block (then `block`,
    /// `bit_start` and `bit_count` are 0): espefuse reads such a row and
    /// fails only when it places the field ([`extend`]).
    unplaced: Option<Placement>,
}

/// A field's block and bits as written: Python integers, any sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The block number.
    pub block: i128,
    /// The first bit.
    pub bit_start: i128,
    /// The length in bits.
    pub bit_count: i128,
}

impl CustomField {
    /// The field's block and bits as the table wrote them.
    pub fn written(&self) -> Placement {
        self.unplaced.unwrap_or(Placement {
            block: i128::from(self.block),
            bit_start: i128::from(self.bit_start),
            bit_count: i128::from(self.bit_count),
        })
    }

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
    /// The file is not UTF-8 text; Python's UnicodeDecodeError message.
    #[error("not UTF-8 text ({0})")]
    NotText(String),
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

impl CsvError {
    /// The last line of the traceback espefuse dies with on this table
    /// (csv_table_parser.py: its `InputError`s, "Error at line N: …" for a
    /// row's own; Python's own exceptions for the rest). `None` where
    /// espefuse's line cannot be told (a row without a name names a Python
    /// object's address) or espefuse has no such limit.
    pub fn python_exception(&self) -> Option<String> {
        const INPUT_ERROR: &str = "espefuse.efuse.csv_table_parser.InputError";
        let at_line = |message: &str| {
            self.line
                .map(|line| format!("{INPUT_ERROR}: Error at line {line}: {message}"))
        };
        match &self.kind {
            CsvErrorKind::NotText(python) => Some(format!("UnicodeDecodeError: {python}")),
            CsvErrorKind::EmptyBlock
            | CsvErrorKind::InvalidValue(_)
            | CsvErrorKind::EmptyBitCount => at_line(&self.kind.to_string()),
            // `from_csv` appends " (start-end)" to the comment with
            // bit_start still None
            CsvErrorKind::EmptyBitStart => Some(
                "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'".to_owned(),
            ),
            // raised outside the row's try: no line
            CsvErrorKind::UnknownVariable(name) => {
                Some(format!("{INPUT_ERROR}: unknown variable '{name}'"))
            }
            CsvErrorKind::DuplicateName { .. } => {
                Some(format!("{INPUT_ERROR}: Field names must be unique"))
            }
            CsvErrorKind::MissingFieldName | CsvErrorKind::TooManyRows => None,
        }
    }
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
    // a click.File("r"): a Python text file, split by str.splitlines()
    let text = py_repr::text::read_text(data)
        .map_err(|python| error(None, CsvErrorKind::NotText(python)))?;
    let mut fields: Vec<CustomField> = Vec::new();
    for (index, raw) in py_repr::text::splitlines(&text).into_iter().enumerate() {
        let line_no = index + 1;
        // the variable check runs on the line before it is stripped
        if let Some(name) = leading_variable(raw) {
            return Err(error(Some(line_no), CsvErrorKind::UnknownVariable(name)));
        }
        let row = py_repr::text::strip(raw);
        if row.is_empty() || row.starts_with('#') {
            continue;
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
                        let at = f.written();
                        format!(
                            "Field at {}, {}, {}, {} have duplicate field_name",
                            f.name, at.block, at.bit_start, at.bit_count
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
    /// IndexError on it, or, for a negative number that Python takes as an
    /// index from the end, reads that block: refused here).
    #[error("{file}, line {line}: {chip} has no eFuse block {block} (expected EFUSE_BLK0 to EFUSE_BLK{last})")]
    UnknownBlock {
        /// The file.
        file: String,
        /// The line of the field.
        line: usize,
        /// The chip.
        chip: Chip,
        /// The block given.
        block: i128,
        /// The chip's last block.
        last: u8,
    },
    /// A field whose bits are not inside its block: a negative start or
    /// count, or an end past the block (espefuse dies in its bitstring
    /// code on it; [`ExtendError::python_exception`]).
    #[error("{file}, line {line}: {name} takes bits {bit_start} to {} of BLOCK{block}, which has {bits} bits (expected 0 <= bit_start and bit_start + bit_count <= {bits})", bit_start.saturating_add(*bit_count).saturating_sub(1))]
    OutsideBlock {
        /// The file.
        file: String,
        /// The line of the field.
        line: usize,
        /// The field.
        name: String,
        /// Its block.
        block: u8,
        /// Its first bit as written.
        bit_start: i128,
        /// Its length as written.
        bit_count: i128,
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

impl ExtendError {
    /// The last line of the traceback espefuse dies with where a field
    /// cannot be placed: `EfuseFieldBase.__init__` makes the field's
    /// bitstring and `update` reads it from its block's bitstring of
    /// `bits` bits, at position `bits - (bit_start + bit_count)`
    /// (espefuse/efuse/bitstring.py: the length, the position setter, then
    /// `read`). `None` for what espefuse reports itself (duplicate names)
    /// and for a negative block number that Python would take.
    pub fn python_exception(&self) -> Option<String> {
        match self {
            ExtendError::UnknownBlock { block, last, .. } => {
                let blocks = i128::from(*last) + 1;
                (*block >= blocks || *block < -blocks)
                    .then(|| "IndexError: list index out of range".to_owned())
            }
            ExtendError::OutsideBlock {
                bit_start,
                bit_count,
                bits,
                ..
            } => {
                let bits = i128::try_from(*bits).unwrap_or(i128::MAX);
                let (start, count) = (*bit_start, *bit_count);
                let position = bits.saturating_sub(start.saturating_add(count));
                Some(if count < 0 {
                    format!("ValueError: Can't create bitstring of negative length {count}.")
                } else if position < 0 {
                    "ValueError: Bit position cannot be negative.".to_owned()
                } else if position > bits {
                    "ValueError: Cannot seek past the end of the data.".to_owned()
                } else {
                    format!(
                        "espefuse.efuse.bitstring.ReadError: Cannot read {count} bits, only {} available.",
                        bits - position
                    )
                })
            }
            ExtendError::DuplicateNames { .. } => None,
        }
    }
}

/// Places `table`'s fields on `chip` as espefuse's `extend_efuses` does:
/// each gets the WR_DIS and RD_DIS bits of the chip's fields in its block.
/// `file` names the table in errors. As in espefuse, names the chip has
/// are found before a field that does not fit its block (that fails only
/// when espefuse makes its fields, after it has checked the names).
///
/// # Errors
/// [`ExtendError::DuplicateNames`] for names (or alternative names) the
/// chip's table already uses; then, for the first field that cannot be
/// placed, [`ExtendError::UnknownBlock`] or [`ExtendError::OutsideBlock`].
pub fn extend(
    chip: Chip,
    file: &str,
    table: &CustomTable,
) -> Result<Vec<ChipCustomField>, ExtendError> {
    let chip_table = chip.table();
    let mut placed = Vec::with_capacity(table.fields.len());
    let mut unplaceable = None;
    for field in &table.fields {
        match place(chip, file, field) {
            Ok(()) => {
                let (wr_dis, rd_dis) = block_protection(chip, field.block);
                placed.push(ChipCustomField {
                    field: field.clone(),
                    wr_dis,
                    rd_dis,
                });
            }
            Err(e) => {
                unplaceable.get_or_insert(e);
            }
        }
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
    if !duplicates.is_empty() {
        return Err(ExtendError::DuplicateNames { names: duplicates });
    }
    match unplaceable {
        Some(e) => Err(e),
        None => Ok(placed),
    }
}

/// Whether `field` lies inside one of `chip`'s blocks.
fn place(chip: Chip, file: &str, field: &CustomField) -> Result<(), ExtendError> {
    let chip_table = chip.table();
    let written = field.written();
    let Some(block) = chip_table
        .blocks
        .iter()
        .find(|b| i128::from(b.id) == written.block)
    else {
        return Err(ExtendError::UnknownBlock {
            file: file.to_owned(),
            line: field.line,
            chip,
            block: written.block,
            last: chip_table.blocks.iter().map(|b| b.id).max().unwrap_or(0),
        });
    };
    let bits = block.len_words * 32;
    let inside = written.bit_start >= 0
        && written.bit_count >= 0
        && written.bit_start.saturating_add(written.bit_count)
            <= i128::try_from(bits).unwrap_or(i128::MAX);
    if field.unplaced.is_some() || !inside {
        return Err(ExtendError::OutsideBlock {
            file: file.to_owned(),
            line: field.line,
            name: field.name.clone(),
            block: block.id,
            bit_start: written.bit_start,
            bit_count: written.bit_count,
            bits,
        });
    }
    Ok(())
}

/// The WR_DIS and RD_DIS bits a custom field in `block` gets: those of the
/// chip's fields in the same block, none in BLOCK0 (espefuse scans its
/// fields in table order and keeps the last bit seen of each kind until it
/// has both).
fn block_protection(chip: Chip, block: u32) -> (Option<u8>, Vec<u8>) {
    let (mut wr_dis, mut rd_dis) = (None, None);
    if block != 0 {
        for def in chip
            .table()
            .fields
            .iter()
            .filter(|d| u32::from(d.block) == block)
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
    (wr_dis, rd_dis.unwrap_or_default())
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
    let mut cells = row.split(',').map(py_repr::text::strip);
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
    let written = Placement {
        block,
        bit_start,
        bit_count,
    };
    // numbers that fit some block; whether the chip's block holds the
    // field is `extend`'s business, as it is espefuse's
    let fits = u32::try_from(block)
        .ok()
        .filter(|b| *b <= u32::from(u8::MAX));
    let placed = fits.and_then(|block| {
        let start = u32::try_from(bit_start).ok()?;
        let count = u32::try_from(bit_count).ok()?;
        (start.checked_add(count)? <= MAX_BITS_OF_BLOCK).then_some((block, start, count))
    });
    let (block, bit_start_u, bit_count_u, unplaced) = match placed {
        Some((block, start, count)) => (block, start, count, None),
        None => (0, 0, 0, Some(written)),
    };
    let mut comment = comment_cell
        .trim_end_matches('\\')
        .trim_end_matches(py_repr::text::is_space)
        .to_owned();
    let alt_names = comment
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(alt, _)| alt)
        .filter(|alt| !alt.is_empty())
        .map(|alt| alt.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    // Python's integers: the sum of two i128 cells cannot overflow an i128
    // by more than one bit, so saturate (only the comment shows it)
    let last = bit_start.saturating_add(bit_count).saturating_sub(1);
    comment.push_str(&format!(" ({bit_start}-{last})"));
    Ok(CustomField {
        name,
        alt_names,
        block,
        bit_start: bit_start_u,
        bit_count: bit_count_u,
        comment,
        line,
        unplaced,
    })
}

fn number(text: &str) -> Result<i128, CsvErrorKind> {
    py_int::parse(text).map_err(|_| CsvErrorKind::InvalidValue(text.to_owned()))
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
        // 0x20 + 256 is beyond the block: read, refused when placed
        let table = parse("t.csv", text.as_bytes()).unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert!(
            matches!(
                err,
                ExtendError::OutsideBlock {
                    bit_start: 32,
                    bit_count: 256,
                    line: 9,
                    ..
                }
            ),
            "{err:?}"
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
    fn efuse_csv_numbers_outside_a_block_fail_where_espefuse_places_them() {
        // (row, espefuse 5.6.0's last traceback line on an ESP32-C3)
        let cases = [
            (
                "A, 3, -1, 8, c",
                "espefuse.efuse.bitstring.ReadError: Cannot read 8 bits, only 7 available.",
            ),
            (
                "A, 3, -9, 8, c",
                "ValueError: Cannot seek past the end of the data.",
            ),
            (
                "A, 3, 250, 8, c",
                "ValueError: Bit position cannot be negative.",
            ),
            (
                "A, 3, 2, -3, c",
                "ValueError: Can't create bitstring of negative length -3.",
            ),
            (
                "A, 0, 190, 4, c",
                "ValueError: Bit position cannot be negative.",
            ),
            ("A, 999, 0, 8, c", "IndexError: list index out of range"),
            (
                "A, EFUSE_BLK-12, 0, 8, c",
                "IndexError: list index out of range",
            ),
        ];
        for (row, python) in cases {
            let table = parse("t.csv", row.as_bytes()).unwrap();
            let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
            assert_eq!(err.python_exception().as_deref(), Some(python), "{row}");
        }
        // Python indexes its blocks from the end: refused, espboot's words
        let table = parse("t.csv", b"A, EFUSE_BLK-1, 0, 8, c").unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert_eq!(err.python_exception(), None);
        assert!(err.to_string().contains("has no eFuse block -1"), "{err}");
        assert!(matches!(
            kind("A, 3, 0, 0x1000000000000000000000000000000000, c\n").1,
            CsvErrorKind::InvalidValue(_)
        ));
    }

    #[test]
    fn regression_names_the_chip_has_were_reported_after_a_misplaced_field() {
        // espefuse checks the names before it makes its fields
        let table = parse("t.csv", b"A, 3, 300, 8, c\nWR_DIS, 3, 8, 8, c\n").unwrap();
        let err = extend(Chip::Esp32c3, "t.csv", &table).unwrap_err();
        assert!(matches!(err, ExtendError::DuplicateNames { .. }), "{err:?}");
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
        let python = "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte";
        assert_eq!(err.kind, CsvErrorKind::NotText(python.into()));
        assert_eq!(err.to_string(), format!("t.csv: not UTF-8 text ({python})"));
        assert_eq!(
            err.python_exception(),
            Some(format!("UnicodeDecodeError: {python}"))
        );
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
            "t.csv, line 2: B takes bits 190 to 192 of BLOCK0, which has 192 bits \
             (expected 0 <= bit_start and bit_start + bit_count <= 192)"
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
