//! The eFuse state of one chip ([`Efuses`]) and what can be done with it:
//!
//! - [`registers`]: the controller's register image (what espefuse's
//!   virtual file holds), block words and the coding scheme;
//! - [`fields`]: reading fields ([`Efuses::raw`], [`Efuses::get`]) and
//!   their protections;
//! - [`stage`]: staging new values with espefuse's checks, and the typed
//!   [`Efuses::burn`] for library callers;
//! - [`burn`]: planning and burning what is staged (`burn_all`);
//! - [`keys`]: staging keys and digests the way `burn-key` does;
//! - [`hidden`]: read-protected bits the hardware holds but software (and
//!   the virtual file) cannot see.
//!
//! None of this produces text: what espefuse prints about it is rendered
//! from [`Note`]s by [`crate::espefuse`].

pub(crate) mod burn;
pub(crate) mod fields;
pub(crate) mod hidden;
pub(crate) mod keys;
pub(crate) mod registers;
pub(crate) mod stage;
pub(crate) mod user;

use crate::error::EfuseError;
use crate::tables::{Chip, ChipEfuses as _, ChipTable, Field, FieldCoding, FieldDef};

pub use fields::{ChipAccess, FieldValue};
pub use keys::{KeyGroup, KeyOptions};
pub use stage::{Burn, ForceWrite};
pub use user::{FieldRef, UserField};

/// The eFuses of one chip.
#[derive(Debug, Clone)]
pub struct Efuses {
    chip: Chip,
    table: &'static ChipTable,
    /// Little-endian register image of the controller, `mem_size` bytes.
    mem: Vec<u8>,
    /// Staged write data per block (block words).
    wr: Vec<Vec<u32>>,
    /// What the hardware holds behind read protection, for blocks burned in
    /// this session (the register image, like espefuse's file, shows zeros).
    hardware: Vec<Vec<u32>>,
    /// BLOCK0's protection and lock bits burn in a second pass (espefuse's
    /// `--postpone`, the default).
    postpone: bool,
    /// espefuse's `-d/--debug`: the transcripts of commands on this value
    /// carry espefuse's debug lines (register dumps, the words programmed).
    debug: bool,
    /// Fields of an eFuse CSV table (`--extend-efuse-table`), beside the
    /// chip's static table.
    custom: Vec<crate::custom_table::ChipCustomField>,
    /// The field list as espefuse settled it when it read the chip
    /// ([`Efuses::settle_as_read`]); `None`: follow the eFuses as they are.
    listing: Option<Listing>,
    /// The ESP32's CODING_SCHEME as espefuse read it: when it read the
    /// chip, and again at the end of each burn (esp32/fields.py
    /// `read_coding_scheme`, called by `burn_all`); `None`: follow the
    /// eFuses as they are. espefuse's emulator reads the scheme afresh on
    /// every read command instead, so once a burn hides it (RD_DIS bit 3
    /// read-protects CODING_SCHEME), the tool codes 3/4 while the emulator
    /// no longer decodes it.
    coding_read: Option<u32>,
}

/// What espefuse's field list depends on, read once when it builds the
/// list (`<chip>/fields.py` `EspEfuses.__init__`): burns later in the same
/// run do not change which fields it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The chip revision ([`Efuses::chip_revision`]).
    pub(crate) revision: u32,
    /// Whether the calibration group is listed.
    pub(crate) calibration: bool,
    /// The ESP32's MAC_VERSION (its CUSTOM_MAC group is listed at 1).
    pub(crate) mac_version: u64,
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
            hardware: table.blocks.iter().map(|b| vec![0; b.len_words]).collect(),
            postpone: true,
            debug: false,
            custom: Vec::new(),
            listing: None,
            coding_read: None,
        }
    }

    /// Settles what espefuse reads once when it reads the chip, on the
    /// eFuses as they read now: the field list (the fields shown and the
    /// names accepted stay those until the run ends, whatever it burns)
    /// and the ESP32's coding scheme (read again after each burn).
    pub fn settle_as_read(&mut self) {
        self.listing = None;
        self.listing = Some(self.listing());
        self.coding_read = self.esp32_coding_scheme();
    }

    /// The field list's inputs: settled, or as the eFuses read now.
    pub(crate) fn listing(&self) -> Listing {
        self.listing.unwrap_or_else(|| Listing {
            revision: self.chip_revision(),
            calibration: self.calibration_listed_now(),
            mac_version: self.raw(Field::MacVersion).unwrap_or(0),
        })
    }

    /// Adds the fields of an eFuse CSV table, placed on this chip by
    /// [`crate::custom_table::extend`]; `summary` shows them.
    pub fn set_custom_fields(&mut self, fields: Vec<crate::custom_table::ChipCustomField>) {
        self.custom = fields;
    }

    /// The fields added by [`Efuses::set_custom_fields`].
    pub fn custom_fields(&self) -> &[crate::custom_table::ChipCustomField] {
        &self.custom
    }

    /// Whether a burn postpones BLOCK0's protection and lock bits to a
    /// second pass over BLOCK0 (the default; espefuse's `--no-postpone`
    /// turns it off: one pass, the same bits burned, no "Burn postponed
    /// eFuses from BLOCK0." line).
    pub fn set_postpone(&mut self, postpone: bool) {
        self.postpone = postpone;
    }

    /// espefuse's `-d/--debug`: the commands' transcripts carry the lines
    /// espefuse prints only then (each block checked, the postponed fields,
    /// the words written to the controller, every read-back).
    pub fn set_debug(&mut self, debug: bool) {
        self.debug = debug;
    }

    /// Whether [`Efuses::set_debug`] turned the debug lines on.
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The chip.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    /// The chip's table.
    pub fn table(&self) -> &'static ChipTable {
        self.table
    }

    /// Whether the chip has `field`.
    pub fn has(&self, field: Field) -> bool {
        self.index(field).is_ok()
    }

    /// The definition of `field` (for the ESP32's key blocks, the one of the
    /// current coding scheme).
    pub fn def(&self, field: Field) -> Result<&'static FieldDef, EfuseError> {
        self.index(field).map(|i| &self.table.fields[i])
    }

    /// Position of `field`'s definition in the table.
    pub(crate) fn index(&self, field: Field) -> Result<usize, EfuseError> {
        self.table
            .fields
            .iter()
            .position(|d| d.field == field && self.coding_matches(d))
            .ok_or(EfuseError::NotOnChip {
                field,
                chip: self.chip,
            })
    }

    /// Whether a definition applies under the current coding scheme.
    pub(crate) fn coding_matches(&self, f: &FieldDef) -> bool {
        match f.coding {
            FieldCoding::Any => true,
            FieldCoding::NoneOnly => !self.coding_is_34(),
            FieldCoding::ThreeFourOnly => self.coding_is_34(),
        }
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

/// What the model did, for whoever shows it (espefuse's console lines are
/// rendered from these by [`crate::espefuse`]). Library callers do not see
/// them: their operations run with the silent observer `()`.
#[derive(Debug)]
pub(crate) enum Note<'a> {
    /// The value is already burned: nothing staged.
    AlreadyBurned(crate::error::FieldName),
    /// The value is already staged.
    AlreadyStaged(crate::error::FieldName),
    /// A check skipped because of `--force-write-always`.
    Forced(&'a crate::error::BurnCheck),
    /// The burn plan's header.
    PlanStart,
    /// A block with nothing staged (a debug line).
    BlockNothingStaged(usize),
    /// A block to burn that is empty.
    BlockEmpty(usize),
    /// A block that already holds what is staged.
    BlockSameValue(usize),
    /// A block to burn that already holds data.
    BlockNotEmpty {
        block: usize,
        written: &'a [u32],
        to_write: &'a [u32],
    },
    /// Everything staged is already set in the block.
    AllBitsSet,
    /// The block's coding scheme.
    Coding(crate::error::Coding),
    /// 3/4 coding: chunk `k` already holds the staged data.
    ChunkSame(usize),
    /// 3/4 coding: chunk `k` holds other data.
    ChunkConflict {
        k: usize,
        written: &'a [u8],
        to_write: &'a [u8],
    },
    /// Nothing left to burn.
    NothingToBurn,
    /// BLOCK0's fields held back for the second pass, with what was
    /// staged in each (a debug line).
    Postponed(&'a [(usize, crate::bits::Bits)]),
    /// The second pass with BLOCK0's protection bits.
    PostponedPass,
    /// The words about to be programmed into a block (a debug line).
    ToWrite { block: usize, words: &'a [u32] },
    /// What a block reads back after programming (a debug line).
    ReadBack { block: usize, words: &'a [u32] },
    /// A block that does not read back what was staged (debug lines).
    Mismatch {
        block: usize,
        expected: &'a [u32],
        real: &'a [u32],
    },
    /// A block burned and read back.
    BlockBurned { block: usize, exact: bool },
    /// A block burned that is read-protected: not read back.
    BurnedReadProtected {
        /// The block.
        block: usize,
        /// Whether it read back as zeros (else espefuse's fatal error follows).
        all_zero: bool,
    },
    /// The burn is done: every block as read again.
    Reading { blocks: &'a [Vec<u32>] },
    /// What programming a block on a chip reported (errors, repeats).
    Program {
        block: usize,
        event: &'a crate::backend::ProgramEvent,
    },
    /// `burn-key` starts (after its checks).
    KeysStart,
    /// ESP32 `burn-key-digest` starts.
    DigestStart,
    /// A key about to be staged (as burned, after any reversal).
    Key { name: &'static str, data: &'a [u8] },
    /// The key was reversed for the peripheral that reads it.
    Reversing(Option<crate::tables::KeyPurpose>),
    /// A block's purpose changes.
    PurposeChange {
        field: Field,
        from: String,
        to: crate::tables::KeyPurpose,
    },
    /// A block's purpose is already the one asked for.
    PurposeAlready {
        field: Field,
        purpose: crate::tables::KeyPurpose,
    },
    /// ECDSA_FORCE_USE_HARDWARE_K set with an ECDSA key (`already`: it was).
    ForceHardwareK { already: bool },
    /// The purpose field gets write-protected.
    DisablingPurposeWrite(Field),
    /// The key block gets read-protected.
    DisablingKeyRead,
    /// The key block gets write-protected.
    DisablingKeyWrite,
    /// ESP32 `burn-key-digest`: BLOCK2 gets write-protected.
    DisablingDigestWrite,
    /// One key group done.
    KeyDone,
    /// All key groups staged.
    KeysEnd {
        no_write_protect: bool,
        no_read_protect: bool,
    },
    /// ESP32-C2: only the first 128 digest bits fit.
    DigestTruncated,
    /// ESP32-C2: XTS_KEY_LENGTH_256 for a whole-block key.
    XtsKeyLength256 { already: bool },
}

/// Receives the model's [`Note`]s.
pub(crate) trait Observer {
    /// One note.
    fn note(&mut self, note: Note<'_>);
}

/// The silent observer of library callers.
impl Observer for () {
    fn note(&mut self, _: Note<'_>) {}
}
