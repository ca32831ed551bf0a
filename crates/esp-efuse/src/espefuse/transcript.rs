//! espefuse's console: the [`Transcript`] a command returns, and the
//! rendering of the model's notes into espefuse's exact lines.

use crate::backend::ProgramEvent;
use crate::error::{Coding, EfuseError};
use crate::model::{Efuses, Note, Observer};
use crate::tables::{Chip, ChipEfuses as _};

/// What an espefuse command printed, line by line, as espefuse prints it
/// (tabs expanded the way its console does). A line may hold a line break
/// where espefuse prints two lines in one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    lines: Vec<String>,
}

impl Transcript {
    /// The lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Whether nothing was printed.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// A refused espefuse command: what it printed before the refusal (espefuse
/// shows that too), and the refusal.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Failed {
    /// The lines printed before the refusal.
    pub printed: Transcript,
    /// The refusal.
    pub error: EfuseError,
}

/// The console a command writes to while it runs.
pub(crate) struct Console {
    chip: Chip,
    show_sensitive: bool,
    /// The sensitive-data notice was printed before (by
    /// [`super::burn_key_digest_start`]).
    notice_given: bool,
    /// espefuse's `--debug` ([`Efuses::set_debug`]): the debug notes print.
    debug: bool,
    lines: Vec<String>,
}

impl Console {
    pub(crate) fn new(chip: Chip) -> Console {
        Console {
            chip,
            show_sensitive: false,
            notice_given: false,
            debug: false,
            lines: Vec::new(),
        }
    }

    /// The console of a command on `efuses`: its chip, and its debug lines
    /// when [`Efuses::set_debug`] asked for them.
    pub(crate) fn of(efuses: &Efuses) -> Console {
        let mut console = Console::new(efuses.chip());
        console.debug = efuses.debug();
        console
    }

    /// Key bytes are printed (`--show-sensitive-info`).
    pub(crate) fn showing_keys(mut self, show: bool) -> Console {
        self.show_sensitive = show;
        self
    }

    pub(crate) fn notice_given(mut self) -> Console {
        self.notice_given = true;
        self
    }

    pub(crate) fn say(&mut self, line: impl AsRef<str>) {
        self.lines.push(expand_tabs(line.as_ref()));
    }

    /// Runs `f` on this console: its result with what it printed.
    pub(crate) fn run<T>(
        mut self,
        f: impl FnOnce(&mut Console) -> Result<T, EfuseError>,
    ) -> Result<(T, Transcript), Failed> {
        let r = f(&mut self);
        let printed = Transcript { lines: self.lines };
        match r {
            Ok(v) => Ok((v, printed)),
            Err(error) => Err(Failed { printed, error }),
        }
    }

    fn block_name(&self, block: usize) -> &'static str {
        self.chip.table().blocks.get(block).map_or("", |b| b.name)
    }

    fn key_text(&self, data: &[u8]) -> String {
        if self.show_sensitive {
            crate::hexify(data, " ")
        } else {
            vec!["??"; data.len()].join(" ")
        }
    }
}

impl Console {
    /// A debug line of espefuse's `print_block` for `block`.
    fn block_dump(&mut self, block: usize, comment: &str, words: &[u32]) {
        if let (true, Some(def)) = (self.debug, self.chip.table().blocks.get(block)) {
            self.say(super::errors::block_line(def, comment, words));
        }
    }

    /// espefuse's `--debug` line for a block-wide save (base_fields.py
    /// `EfuseBlockBase.save`): what the block holds, and the data ORed
    /// into what is staged, both as bit strings.
    pub(crate) fn block_save(&mut self, written: &[u32], data: &[u8]) {
        if self.debug {
            let msb: String = data.iter().rev().map(|b| format!("{b:02x}")).collect();
            self.say(format!(
                "\twritten : {} ->\n\tto write: 0x{msb}",
                block_hex(written)
            ));
        }
    }
}

/// How rich's `print` shows a dict whose one-line form is wider than its
/// 80 columns (espefuse prints the postponed fields so; their one-line
/// form never fits): one entry per line, indented by four.
fn rich_pretty_dict(entries: &[String]) -> String {
    let one_line = format!("{{{}}}", entries.join(", "));
    if one_line.chars().count() <= 80 {
        return one_line;
    }
    let body: Vec<String> = entries.iter().map(|e| format!("    {e}")).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

/// `0x` and the words most significant first.
fn block_hex(words: &[u32]) -> String {
    let mut s = String::from("0x");
    for w in words.iter().rev() {
        s.push_str(&format!("{w:08x}"));
    }
    s
}

impl Observer for Console {
    fn note(&mut self, note: Note<'_>) {
        match note {
            Note::AlreadyBurned(f) => self.say(format!(
                "\tThe same value for {f} is already burned. Do not change the eFuse."
            )),
            Note::AlreadyStaged(f) => self.say(format!(
                "\tThe same value for {f} is already prepared for the burn operation."
            )),
            Note::Forced(check) => self.say(format!(
                "{} Skipped because '--force-write-always' option.",
                check.espefuse_message()
            )),
            Note::PlanStart => {
                self.say("\nCheck all blocks for burn...");
                self.say("idx, BLOCK_NAME,          Conclusion");
            }
            Note::BlockNothingStaged(b) => {
                if self.debug {
                    self.say(format!("[{b:02}] {:<20} nothing to burn", self.block_name(b)));
                }
            }
            Note::BlockEmpty(b) => self.say(format!(
                "[{b:02}] {:<20} is empty, will burn the new value",
                self.block_name(b)
            )),
            Note::BlockSameValue(b) => self.say(format!(
                "[{b:02}] {:<20} is already written the same value, continue with EMPTY_BLOCK",
                self.block_name(b)
            )),
            Note::BlockNotEmpty {
                block,
                written,
                to_write,
            } => {
                self.say(format!(
                    "[{block:02}] {:<20} is not empty",
                    self.block_name(block)
                ));
                self.say(format!("\t(written ): {}", block_hex(written)));
                self.say(format!("\t(to write): {}", block_hex(to_write)));
            }
            Note::AllBitsSet => self.say(
                "\tAll wr_data bits are set in the written block, continue with EMPTY_BLOCK.",
            ),
            Note::Coding(c) => self.say(match c {
                Coding::ThreeFour => "\t(coding scheme = 3/4)",
                Coding::ReedSolomon => "\t(coding scheme = RS)",
                Coding::None => "\t(coding scheme = NONE)",
            }),
            Note::ChunkSame(k) => self.say(format!(
                "\twritten chunk [{k}] and wr_chunk are not empty. wr_chunk == rd_chunk. Continue with empty chunk."
            )),
            Note::ChunkConflict {
                k,
                written,
                to_write,
            } => {
                self.say(format!(
                    "\twritten chunk [{k}] and wr_chunk are not empty. wr_chunk != rd_chunk. Can not burn."
                ));
                let msb = |c: &[u8]| hex::encode(c.iter().rev().copied().collect::<Vec<u8>>());
                self.say(format!("\twritten  0x{}", msb(written)));
                self.say(format!("\tto write 0x{}", msb(to_write)));
            }
            Note::NothingToBurn => self.say("Nothing to burn, see messages above."),
            Note::Postponed(fields) => {
                if self.debug {
                    self.say("These BLOCK0 eFuses will be burned later at the very end:");
                    let table = self.chip.table();
                    let entries: Vec<String> = fields
                        .iter()
                        .map(|(i, bits)| {
                            let name = table.fields.get(*i).map_or("", |d| d.field.name());
                            format!("'{name}': BitStream('{}')", bits.python_str())
                        })
                        .collect();
                    self.say(rich_pretty_dict(&entries));
                }
            }
            Note::PostponedPass => self.say("Burn postponed eFuses from BLOCK0."),
            Note::ToWrite { block, words } => self.block_dump(block, "to_write", words),
            Note::ReadBack { block, words } => self.block_dump(block, "read_regs", words),
            Note::Mismatch {
                block,
                expected,
                real,
            } => {
                self.block_dump(block, "Expected", expected);
                self.block_dump(block, "Real    ", real);
            }
            Note::BlockBurned { block, exact } => self.say(if exact {
                format!("BURN BLOCK{block:<2} - OK (write block == read block)")
            } else {
                format!("BURN BLOCK{block:<2} - OK (all write block bits are set)")
            }),
            Note::BurnedReadProtected { block, all_zero } => {
                let def = &self.chip.table().blocks[block];
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
                if all_zero {
                    self.say("Read all '0'");
                }
            }
            Note::Reading { blocks } => {
                self.say("Reading updated eFuses...");
                for (block, words) in blocks.iter().enumerate() {
                    self.block_dump(block, "read_regs", words);
                }
            }
            // base_fields.py `burn_words`
            Note::Program { block, event } => match event {
                ProgramEvent::CodingErrors {
                    attempt,
                    fail,
                    num_errors,
                } => self.say(format!(
                    "Error in BLOCK{block}, re-burn it again (#{attempt}) to fix. fail_bit={}, num_errors={num_errors}",
                    if *fail { "True" } else { "False" }
                )),
                ProgramEvent::Repeat { next } => self.say(format!(
                    "\nRepeat burning BLOCK{block} (#{next}) because not all bits were set"
                )),
                ProgramEvent::GaveUp { attempts } => self.say(format!(
                    "\nAfter {attempts} attempts, the required data was not set to BLOCK{block}"
                )),
                ProgramEvent::DataWritten { writes } => {
                    if self.debug {
                        self.say(format!("Write data to BLOCK{block}"));
                        for (addr, word) in writes {
                            self.say(format!("Addr {addr:10x}, data={word:10x}"));
                        }
                    }
                }
                // the emulator's `log.print(blk.name, data.hex)`: the
                // registers as one bit string, last address first
                ProgramEvent::EmulatorCopied { block, words } => {
                    if self.debug {
                        let hex: String = words.iter().rev().map(|w| format!("{w:08x}")).collect();
                        self.say(format!("{} {hex}", self.block_name(*block)));
                    }
                }
            },
            Note::KeysStart => {
                if !self.show_sensitive && !self.notice_given {
                    self.say("Sensitive data will be hidden (see --show-sensitive-info)");
                }
                self.say("Burn keys to blocks:");
            }
            Note::DigestStart => {
                if !self.show_sensitive && !self.notice_given {
                    self.say("Sensitive data will be hidden (see --show-sensitive-info)");
                }
            }
            Note::Key { name, data } => {
                let shown = self.key_text(data);
                self.say(rich_markup(&format!(" - {name} -> [{shown}]")));
            }
            Note::Reversing(purpose) => match (self.chip, purpose) {
                (Chip::Esp32, _) => self.say("\tReversing the byte order..."),
                // ESP32-H2 names the purpose (esp32h2/operations.py)
                (Chip::Esp32h2, Some(p)) => self.say(format!(
                    "\tReversing byte order for {p} hardware peripheral..."
                )),
                _ => self.say("\tReversing byte order for AES-XTS hardware peripheral..."),
            },
            Note::PurposeChange { field, from, to } => {
                self.say(format!("\t'{field}': '{from}' -> '{to}'."))
            }
            Note::PurposeAlready { field, purpose } => {
                self.say(format!("\t'{field}' is already '{purpose}'."))
            }
            Note::ForceHardwareK { already: false } => {
                self.say("\tECDSA_FORCE_USE_HARDWARE_K: 0 -> 1")
            }
            Note::ForceHardwareK { already: true } => {
                self.say("\tECDSA_FORCE_USE_HARDWARE_K is already '1'")
            }
            Note::DisablingPurposeWrite(field) => {
                self.say(format!("\tDisabling write to '{field}'..."))
            }
            Note::DisablingKeyRead => self.say("\tDisabling read to key block..."),
            Note::DisablingKeyWrite => self.say("\tDisabling write to key block..."),
            Note::DisablingDigestWrite => self.say("Disabling write to eFuse BLOCK2..."),
            Note::KeyDone => self.say(""),
            Note::KeysEnd {
                no_write_protect,
                no_read_protect,
            } => {
                if self.chip == Chip::Esp32 {
                    if no_write_protect {
                        self.say("Key is left unprotected as per --no-protect-key argument.");
                        self.say("Burn keys in eFuse blocks.\nThe key block will be left readable and writeable (due to --no-protect-key). \n");
                    } else {
                        self.say("Burn keys in eFuse blocks.\nThe key block will be read and write protected (no further changes or readback). \n");
                    }
                    return;
                }
                if no_write_protect {
                    self.say("Keys will remain writeable (due to --no-write-protect).");
                }
                if no_read_protect {
                    self.say("Keys will remain readable (due to --no-read-protect).");
                }
            }
            Note::DigestTruncated => self.say("\tProgramming only left-most 128-bits from SHA256 hash of public key to highest 128-bits of BLOCK KEY0"),
            Note::XtsKeyLength256 { already: true } => {
                self.say("\t'XTS_KEY_LENGTH_256' is already '1'")
            }
            Note::XtsKeyLength256 { already: false } => self.say("\tXTS_KEY_LENGTH_256 -> 1"),
        }
    }
}

/// espefuse prints through Rich, which expands tabs to 8-column stops.
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// A line as rich's console prints it with markup on (espefuse's
/// `log.print`): a `[…]` that starts with a lowercase letter, `#`, `/` or
/// `@` and holds no `[` is a style tag and is dropped (rich's
/// `markup.py` RE_TAGS), across line ends too (espefuse's group help
/// loses its choice metavars, and the text up to their `]`, this way).
/// Only text without backslash escapes or closing tags goes through here.
pub fn rich_markup(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let is_tag_start = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || matches!(c, '#' | '/' | '@'));
        match after.find(['[', ']']) {
            Some(end) if is_tag_start && after.as_bytes()[end] == b']' => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::rich_markup;

    #[test]
    fn regression_bracketed_hex_starting_with_a_letter_was_printed() {
        assert_eq!(rich_markup("[03] B -> [ff 01]"), "[03] B -> ");
        assert_eq!(rich_markup("[03] B -> [0b ff]"), "[03] B -> [0b ff]");
        assert_eq!(rich_markup(" - K -> [?? ??]"), " - K -> [?? ??]");
        assert_eq!(rich_markup("a [b [c] d"), "a [b  d");
        assert_eq!(rich_markup("[x"), "[x");
    }
}
