//! espsecure's `--hsm-config` file.
//!
//! espsecure 5.6.0 reads it with Python's `configparser.ConfigParser`
//! (`espsecure/esp_hsm_sign/__init__.py`, `read_hsm_config`, L32-L51) and
//! uses section `[hsm_config]`:
//!
//! | option | required | use (same file) |
//! |---|---|---|
//! | `pkcs11_lib` | yes | module path (`establish_session`, L57-L58) |
//! | `slot` | yes | `CK_SLOT_ID`, read with `int()` (L61-L62) |
//! | `label` | yes | `CKA_LABEL` of the private key (`get_privkey_info`, L79-L80) |
//! | `credentials` | no | user PIN; espsecure prompts when absent (L45-L49) |
//! | `label_pubkey` | no | `CKA_LABEL` of the public key, else `label` (`get_pubkey`, L110-L117) |
//!
//! This parser follows `configparser`'s defaults (CPython 3.11
//! `Lib/configparser.py`, `RawConfigParser._read` and
//! `BasicInterpolation`): `=` or `:` delimiters, `#`/`;` whole-line
//! comments, case-insensitive option names, case-sensitive section names,
//! `[DEFAULT]` options inherited, duplicate sections or options refused,
//! indented continuation lines, and `%%` / `%(name)s` interpolation (so a
//! PIN with a `%` must be written `%%`, as espsecure needs it too).
//!
//! espsecure interpolates a value only when it reads it, so a value that
//! cannot be read fails at that point, as configparser's exception:
//! [`HsmConfigFile`] checks the file's structure as `read_hsm_config` does
//! and hands out values one by one ([`HsmConfigFile::value`],
//! [`HsmConfigError::python_exception`]); [`HsmConfig`] is every value
//! resolved.
//!
//! One deliberate difference: espsecure falls back to the *last* slot
//! with a token when no slot has the configured id (its loop leaves the
//! last slot bound); espboot refuses with [`crate::Pkcs11Error::NoSuchToken`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::locator::{KeyLocator, ObjectSelector, TokenSelector};
use crate::pin::Pin;

/// The section espsecure reads (`read_hsm_config`, L36).
pub(crate) const SECTION: &str = "hsm_config";
/// configparser's `default_section`.
const DEFAULT_SECTION: &str = "DEFAULT";
/// configparser's `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// The contents of an espsecure `--hsm-config` file.
#[derive(Debug, Clone)]
pub struct HsmConfig {
    /// `pkcs11_lib`: the vendor's PKCS#11 module.
    pub pkcs11_lib: PathBuf,
    /// `credentials`: the user PIN; `None` when the file has none (the
    /// caller prompts, as espsecure does).
    pub credentials: Option<Pin>,
    /// `slot`: the `CK_SLOT_ID`.
    pub slot: u64,
    /// `label`: the private key's `CKA_LABEL`.
    pub label: String,
    /// `label_pubkey`: the public key's `CKA_LABEL` when it differs.
    pub label_pubkey: Option<String>,
}

/// Why an `--hsm-config` file cannot be used. Messages name the line or
/// option, never the `credentials` value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmConfigError {
    /// An error inside a named file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<HsmConfigError>,
    },
    /// The file cannot be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text ({python})")]
    NotUtf8 {
        /// Python's UnicodeDecodeError message for the bytes.
        python: String,
    },
    /// An option before any `[section]` line.
    #[error("line {line}: an option before any [section] header (expected [{SECTION}] first)")]
    MissingSectionHeader {
        /// 1-based line number.
        line: usize,
        /// The line as Python reads it (with its `\n`), for configparser's
        /// message. It may hold a secret a user mistyped: wiped on drop.
        text: Secret,
    },
    /// A line that is no header, option, comment or continuation.
    #[error("line {line}: expected `[section]`, `name = value`, or a `#` comment")]
    Syntax {
        /// 1-based line number of the first.
        line: usize,
        /// Every such line of the file (configparser lists them all):
        /// its number and its text as Python reads it.
        lines: Vec<(usize, Secret)>,
    },
    /// A section given twice.
    #[error("line {line}: section [{section}] appears twice")]
    DuplicateSection {
        /// The section.
        section: String,
        /// 1-based line number of the second.
        line: usize,
    },
    /// An option given twice in one section.
    #[error("line {line}: option `{option}` appears twice in [{section}]")]
    DuplicateOption {
        /// The section.
        section: String,
        /// The option (lower case).
        option: String,
        /// 1-based line number of the second.
        line: usize,
    },
    /// No `[hsm_config]` section.
    #[error("no [{SECTION}] section")]
    MissingSection,
    /// A required option is absent.
    #[error("[{SECTION}] has no `{option}` option")]
    MissingOption {
        /// The option.
        option: &'static str,
    },
    /// A `%` that is not `%%` or `%(name)s`, a reference to a missing
    /// option, or references nested too deeply.
    #[error("option `{option}`: {problem} (write a literal % as %%)")]
    Interpolation {
        /// The option whose value is wrong.
        option: String,
        /// What is wrong.
        problem: InterpolationProblem,
        /// The option's value as written, for configparser's message (it
        /// may be the PIN: wiped on drop, never in this error's text).
        raw: Secret,
    },
    /// `slot` is not a non-negative decimal integer.
    #[error("option `slot` must be a decimal CK_SLOT_ID (a non-negative integer), got `{value}`")]
    Slot {
        /// The value given.
        value: String,
    },
}

impl HsmConfigError {
    /// `str()` of the exception Python's configparser (and `read_file`'s
    /// decoding) raises for this error, as espsecure quotes it inside its
    /// own message; `file` is the config file's name as espsecure was given
    /// it. `None` for what configparser does not check (the slot's digits,
    /// a file that cannot be read) and for interpolation, which espsecure
    /// meets only when it reads the value.
    pub fn configparser_message(&self, file: &str) -> Option<String> {
        if let HsmConfigError::InFile { source, .. } = self {
            return source.configparser_message(file);
        }
        let file = py_repr::str(file);
        Some(match self {
            HsmConfigError::InFile { .. } => return None,
            HsmConfigError::NotUtf8 { python } => python.clone(),
            HsmConfigError::MissingSectionHeader { line, text } => format!(
                "File contains no section headers.\nfile: {file}, line: {line}\n{}",
                py_repr::str(text)
            ),
            HsmConfigError::Syntax { lines, .. } => {
                let mut message = format!("Source contains parsing errors: {file}");
                for (line, text) in lines {
                    message.push_str(&format!("\n\t[line {line:2}]: {}", py_repr::str(text)));
                }
                message
            }
            HsmConfigError::DuplicateSection { section, line } => format!(
                "While reading from {file} [line {line:2}]: section {} already exists",
                py_repr::str(section)
            ),
            HsmConfigError::DuplicateOption {
                section,
                option,
                line,
            } => format!(
                "While reading from {file} [line {line:2}]: option {} in section {} already exists",
                py_repr::str(option),
                py_repr::str(section)
            ),
            HsmConfigError::MissingSection => format!("No section: {}", py_repr::str(SECTION)),
            HsmConfigError::MissingOption { option } => format!(
                "No option {} in section: {}",
                py_repr::str(option),
                py_repr::str(SECTION)
            ),
            HsmConfigError::Read(_)
            | HsmConfigError::Interpolation { .. }
            | HsmConfigError::Slot { .. } => return None,
        })
    }

    /// The last line of the traceback espsecure ends with when it reads a
    /// value that fails: configparser's interpolation errors (raised by
    /// `section[option]`) and `int()`'s ValueError for a `slot` that is not
    /// an integer. `None` for the errors espsecure reports itself.
    pub fn python_exception(&self) -> Option<String> {
        match self {
            HsmConfigError::InFile { source, .. } => source.python_exception(),
            HsmConfigError::Interpolation {
                option,
                problem,
                raw,
            } => {
                let (option, section) = (py_repr::str(option), py_repr::str(SECTION));
                let raw = py_repr::str(raw);
                Some(match problem {
                    InterpolationProblem::Syntax { rest } => format!(
                        "configparser.InterpolationSyntaxError: '%' must be followed by '%' or '(', found: {}",
                        py_repr::str(rest)
                    ),
                    InterpolationProblem::BadReference { rest } => format!(
                        "configparser.InterpolationSyntaxError: bad interpolation variable reference {}",
                        py_repr::str(rest)
                    ),
                    InterpolationProblem::MissingOption(name) => format!(
                        "configparser.InterpolationMissingOptionError: Bad value substitution: \
                         option {option} in section {section} contains an interpolation key {} \
                         which is not a valid option name. Raw value: {raw}",
                        py_repr::str(name)
                    ),
                    InterpolationProblem::TooDeep => format!(
                        "configparser.InterpolationDepthError: Recursion limit exceeded in value \
                         substitution: option {option} in section {section} contains an \
                         interpolation key which cannot be substituted in \
                         {MAX_INTERPOLATION_DEPTH} steps. Raw value: {raw}"
                    ),
                })
            }
            HsmConfigError::Slot { value } if py_int::parse_decimal(value).is_err() => {
                Some(format!(
                    "ValueError: invalid literal for int() with base 10: {}",
                    py_repr::str(value)
                ))
            }
            _ => None,
        }
    }
}

/// What is wrong with a `%` in a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterpolationProblem {
    /// `%` followed by neither `%` nor `(`: `rest` is the value from that
    /// `%` on (it may be part of the PIN: not in this error's text).
    #[error("`%` must be followed by `%` or `(name)s`")]
    Syntax {
        /// The text from the `%` on.
        rest: Secret,
    },
    /// `%(` that is not `%(name)s`.
    #[error("`%(` must be written `%(name)s`")]
    BadReference {
        /// The text from the `%` on (it may be part of the PIN).
        rest: Secret,
    },
    /// `%(name)s` naming no option of the section or `[DEFAULT]`.
    #[error("`%({0})s` names no option")]
    MissingOption(String),
    /// More than configparser's ten levels of references.
    #[error("references nest more than {MAX_INTERPOLATION_DEPTH} deep")]
    TooDeep,
}

/// A value that may be the PIN: wiped when dropped.
pub type Secret = zeroize::Zeroizing<String>;

/// One parsed section: option (lower case) → raw value.
type Section = BTreeMap<String, Secret>;

impl HsmConfig {
    /// Reads and parses an `--hsm-config` file, every value resolved.
    ///
    /// # Errors
    /// [`HsmConfigError::InFile`] naming `path`.
    pub fn read(path: &Path) -> Result<Self, HsmConfigError> {
        let file = HsmConfigFile::read(path)?;
        file.config().map_err(|source| HsmConfigError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Parses the text of an `--hsm-config` file, every value resolved.
    ///
    /// # Errors
    /// [`HsmConfigError`] naming the line or option.
    pub fn parse(text: &str) -> Result<Self, HsmConfigError> {
        HsmConfigFile::parse(text)?.config()
    }

    /// The key this configuration names: private key `label` and public key
    /// `label_pubkey` (else `label`) on the token in slot `slot` of module
    /// `pkcs11_lib`, with the `credentials` PIN.
    pub fn locator(&self) -> KeyLocator {
        let mut locator = KeyLocator::new(
            &self.pkcs11_lib,
            TokenSelector::with_slot_id(self.slot),
            ObjectSelector::with_label(&self.label),
        );
        locator.public_key = self.label_pubkey.as_ref().map(ObjectSelector::with_label);
        locator.pin = self.credentials.clone();
        locator
    }
}

/// An `--hsm-config` file as espsecure's `read_hsm_config` leaves it:
/// read, its `[hsm_config]` section and required options checked, and
/// each value interpolated only when asked for ([`HsmConfigFile::value`]),
/// as configparser does when espsecure reads `config[option]`.
#[derive(Debug, Clone)]
pub struct HsmConfigFile {
    defaults: Section,
    section: Section,
}

impl HsmConfigFile {
    /// Reads an `--hsm-config` file and checks its structure.
    ///
    /// # Errors
    /// [`HsmConfigError::InFile`] naming `path`.
    pub fn read(path: &Path) -> Result<Self, HsmConfigError> {
        let in_file = |source| HsmConfigError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(path).map_err(|e| in_file(HsmConfigError::Read(e)))?,
        );
        // a Python text file: UTF-8, universal newlines
        let text = zeroize::Zeroizing::new(
            py_repr::text::read_text(&bytes)
                .map_err(|python| in_file(HsmConfigError::NotUtf8 { python }))?,
        );
        Self::parse(&text).map_err(in_file)
    }

    /// Parses the text of an `--hsm-config` file and checks its structure.
    ///
    /// # Errors
    /// [`HsmConfigError`] naming the line, section or option.
    pub fn parse(text: &str) -> Result<Self, HsmConfigError> {
        let (defaults, mut sections) = parse_ini(text)?;
        let section = sections
            .remove(SECTION)
            .ok_or(HsmConfigError::MissingSection)?;
        // espsecure checks these three are present before reading any
        // value (`section_options`, L40-L43)
        let file = Self { defaults, section };
        for option in ["pkcs11_lib", "slot", "label"] {
            if !file.has_option(option) {
                return Err(HsmConfigError::MissingOption { option });
            }
        }
        Ok(file)
    }

    /// configparser's `option in section` (`[DEFAULT]` included).
    pub fn has_option(&self, option: &str) -> bool {
        self.section.contains_key(option) || self.defaults.contains_key(option)
    }

    /// configparser's `section[option]`: the value interpolated; `None`
    /// when the option is absent.
    ///
    /// # Errors
    /// [`HsmConfigError::Interpolation`].
    pub fn value(&self, option: &str) -> Result<Option<Secret>, HsmConfigError> {
        let raw = self
            .section
            .get(option)
            .or_else(|| self.defaults.get(option));
        raw.map(|raw| {
            // configparser's `before_get` starts at depth 1.
            interpolate(raw, &self.section, &self.defaults, 1).map_err(|problem| {
                HsmConfigError::Interpolation {
                    option: option.to_owned(),
                    problem,
                    raw: raw.clone(),
                }
            })
        })
        .transpose()
    }

    /// `int(section["slot"])`, as a `CK_SLOT_ID`.
    ///
    /// # Errors
    /// [`HsmConfigError::Interpolation`], or [`HsmConfigError::Slot`] for
    /// a value that is not a non-negative base-10 integer.
    pub fn slot(&self) -> Result<u64, HsmConfigError> {
        let text = self
            .value("slot")?
            .ok_or(HsmConfigError::MissingOption { option: "slot" })?;
        py_int::parse_decimal(&text)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| HsmConfigError::Slot {
                value: text.to_string(),
            })
    }

    /// `section["credentials"]` as the user PIN; `None` when the file has
    /// none.
    ///
    /// # Errors
    /// [`HsmConfigError::Interpolation`].
    pub fn credentials(&self) -> Result<Option<Pin>, HsmConfigError> {
        Ok(self.value("credentials")?.map(Pin::from_zeroizing))
    }

    /// Every value resolved, in the order espsecure reads them
    /// (`establish_session`, `get_privkey_info`, `get_pubkey`).
    ///
    /// # Errors
    /// The first value's [`HsmConfigError::Interpolation`] or
    /// [`HsmConfigError::Slot`].
    pub fn config(&self) -> Result<HsmConfig, HsmConfigError> {
        let mut config = self.config_for(HsmUse::Signing)?;
        config.label_pubkey = self.value("label_pubkey")?.map(|l| l.to_string());
        Ok(config)
    }

    /// The values one of espsecure's operations reads, in its order: the
    /// session's (`pkcs11_lib`, `slot`, `credentials`), then the private
    /// key's `label` (`get_privkey_info`), or the public key's
    /// `label_pubkey`, else `label` (`get_pubkey`, which leaves `label`
    /// unread when `label_pubkey` is there: the returned `label` is then
    /// `label_pubkey`).
    ///
    /// # Errors
    /// The first of those values' [`HsmConfigError::Interpolation`] or
    /// [`HsmConfigError::Slot`].
    pub fn config_for(&self, operation: HsmUse) -> Result<HsmConfig, HsmConfigError> {
        let required = |option: &'static str| {
            self.value(option)?
                .ok_or(HsmConfigError::MissingOption { option })
        };
        let pkcs11_lib = PathBuf::from(required("pkcs11_lib")?.as_str());
        let slot = self.slot()?;
        let credentials = self.credentials()?;
        let (label, label_pubkey) = match operation {
            HsmUse::Signing => (required("label")?.to_string(), None),
            HsmUse::PublicKey => match self.value("label_pubkey")? {
                Some(public) => (public.to_string(), Some(public.to_string())),
                None => (required("label")?.to_string(), None),
            },
        };
        Ok(HsmConfig {
            pkcs11_lib,
            credentials,
            slot,
            label,
            label_pubkey,
        })
    }
}

/// Which of espsecure's HSM operations reads an `--hsm-config`'s values
/// ([`HsmConfigFile::config_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HsmUse {
    /// `get_privkey_info`, then signing.
    Signing,
    /// `get_pubkey`.
    PublicKey,
}

/// `RawConfigParser._read` with the default options: returns the
/// `[DEFAULT]` options and the other sections, values joined and raw.
fn parse_ini(text: &str) -> Result<(Section, BTreeMap<String, Section>), HsmConfigError> {
    let mut defaults = Section::new();
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    // Values as lists of lines until the end, as configparser joins them.
    let mut lines_of: BTreeMap<(String, String), Vec<Secret>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut option: Option<String> = None;
    let mut indent_level = usize::MAX;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut syntax_errors: Vec<(usize, Secret)> = Vec::new();
    // a line as configparser holds it: with its `\n`
    let python_line = |line: &str, newline: bool| {
        Secret::new(format!("{line}{}", if newline { "\n" } else { "" }))
    };

    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let newline = raw.ends_with('\n');
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let stripped = py_repr::text::strip(line);
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        if is_comment || stripped.is_empty() {
            // An empty line inside a value is kept (empty_lines_in_values);
            // a comment line is not.
            if !is_comment {
                if let (Some(section), Some(option)) = (&current, &option) {
                    if let Some(lines) = lines_of.get_mut(&(section.clone(), option.clone())) {
                        lines.push(Secret::default());
                    }
                }
            }
            continue;
        }
        let indent = line.len() - line.trim_start_matches(py_repr::text::is_space).len();
        if current.is_some() && option.is_some() && indent > indent_level {
            if let (Some(section), Some(option)) = (&current, &option) {
                if let Some(lines) = lines_of.get_mut(&(section.clone(), option.clone())) {
                    lines.push(Secret::new(stripped.to_owned()));
                }
            }
            continue;
        }
        indent_level = indent;
        if let Some(header) = section_header(stripped) {
            if header != DEFAULT_SECTION {
                if seen_sections.iter().any(|s| s == header) {
                    return Err(HsmConfigError::DuplicateSection {
                        section: header.to_owned(),
                        line: number,
                    });
                }
                seen_sections.push(header.to_owned());
                sections.entry(header.to_owned()).or_default();
            }
            current = Some(header.to_owned());
            option = None;
            continue;
        }
        let Some(section) = current.clone() else {
            return Err(HsmConfigError::MissingSectionHeader {
                line: number,
                text: python_line(line, newline),
            });
        };
        // OPTCRE: the name runs to the first `=` or `:`.
        let name = stripped
            .find(['=', ':'])
            .map(|split| {
                let name = stripped[..split].trim_end_matches(py_repr::text::is_space);
                (split, name.to_lowercase())
            })
            .filter(|(_, name)| !name.is_empty());
        let Some((split, name)) = name else {
            syntax_errors.push((number, python_line(line, newline)));
            continue;
        };
        let key = (section.clone(), name.clone());
        if lines_of.contains_key(&key) {
            return Err(HsmConfigError::DuplicateOption {
                section,
                option: name,
                line: number,
            });
        }
        lines_of.insert(
            key,
            vec![Secret::new(
                py_repr::text::strip(&stripped[split + 1..]).to_owned(),
            )],
        );
        option = Some(name);
    }
    // configparser collects parsing errors and raises them after the loop.
    if let Some((line, _)) = syntax_errors.first() {
        return Err(HsmConfigError::Syntax {
            line: *line,
            lines: syntax_errors,
        });
    }
    for ((section, option), lines) in lines_of {
        let joined = Secret::new(
            lines
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let value = Secret::new(joined.trim_end_matches(py_repr::text::is_space).to_owned());
        if section == DEFAULT_SECTION {
            defaults.insert(option, value);
        } else if let Some(options) = sections.get_mut(&section) {
            options.insert(option, value);
        }
    }
    Ok((defaults, sections))
}

/// SECTCRE `\[(?P<header>.+)\]`, matched at the start of the stripped line
/// (greedy: the header runs to the last `]`, text after it is ignored).
fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// `BasicInterpolation._interpolate_some`.
fn interpolate(
    raw: &str,
    section: &Section,
    defaults: &Section,
    depth: usize,
) -> Result<Secret, InterpolationProblem> {
    if depth > MAX_INTERPOLATION_DEPTH {
        return Err(InterpolationProblem::TooDeep);
    }
    // Room for a few references, so growing rarely leaves a copy behind.
    let mut out = Secret::new(String::with_capacity(raw.len() + 256));
    let mut rest = raw;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(") {
            // KEYCRE `%\(([^)]+)\)s`
            let bad = || InterpolationProblem::BadReference {
                rest: Secret::new(rest.to_owned()),
            };
            let close = after.find(')').ok_or_else(bad)?;
            let name = &after[..close];
            if name.is_empty() || !after[close + 1..].starts_with('s') {
                return Err(bad());
            }
            rest = &after[close + 2..];
            let name = name.to_lowercase();
            let value = section
                .get(&name)
                .or_else(|| defaults.get(&name))
                .ok_or_else(|| InterpolationProblem::MissingOption(name.clone()))?;
            if value.contains('%') {
                out.push_str(&interpolate(value, section, defaults, depth + 1)?);
            } else {
                out.push_str(value);
            }
        } else {
            return Err(InterpolationProblem::Syntax {
                rest: Secret::new(rest.to_owned()),
            });
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[path = "hsm_config_tests.rs"]
mod tests;
