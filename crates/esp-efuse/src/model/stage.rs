//! Staging new values with espefuse's checks (base_fields.py
//! `EfuseFieldBase.save`, `check_new_value`, `check_wr_rd_protect`;
//! esptool.md §4.3), and the typed [`Efuses::burn`] for library callers.

use super::fields::mask;
use super::{Efuses, Note, Observer};
use crate::bits::Bits;
use crate::error::{BurnCheck, EfuseError, FieldName, ProtectBlocker, Protected};
use crate::tables::{ChipEfuses as _, Field, FieldClass};

/// espefuse's `--force-write-always` for the command being run: with it,
/// the protection and coding checks only print a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForceWrite {
    /// The command has no such option (and library callers).
    #[default]
    Unavailable,
    /// The option exists and was not given: refusals mention it.
    Off,
    /// The option was given.
    On,
}

/// What to burn into a field with [`Efuses::burn`]. eFuse bits only go
/// from 0 to 1: the bits given are set, the others keep what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Burn {
    /// Every bit of the field: a bool becomes true, a counter its maximum.
    All,
    /// The set bits of this integer.
    Bits(u64),
    /// The lowest bit not yet burned: one more step of a bit counter (the
    /// development-mode way of making the flash-encryption counter odd).
    NextBit,
}

impl Efuses {
    /// Stages `value` for `field` and burns it, with the checks espefuse
    /// makes (write protection, coding scheme); returns whether anything
    /// changed. For several fields at once: [`Efuses::stage`] each, then
    /// [`Efuses::commit`].
    ///
    /// ```
    /// use esp_efuse::{Burn, Chip, Efuses, Field};
    ///
    /// let mut efuses = Efuses::new(Chip::Esp32c3);
    /// assert!(efuses.burn(Field::SpiBootCryptCnt, Burn::NextBit)?);
    /// assert_eq!(efuses.raw(Field::SpiBootCryptCnt)?, 0b001);
    /// assert!(efuses.burn(Field::SpiBootCryptCnt, Burn::NextBit)?);
    /// assert_eq!(efuses.raw(Field::SpiBootCryptCnt)?, 0b011);
    /// assert!(!efuses.burn(Field::SpiBootCryptCnt, Burn::Bits(0b001))?, "already burned");
    /// # Ok::<(), esp_efuse::EfuseError>(())
    /// ```
    pub fn burn(&mut self, field: Field, value: Burn) -> Result<bool, EfuseError> {
        let changed = self.stage(field, value)?;
        if changed {
            self.commit()?;
        }
        Ok(changed)
    }

    /// Stages `value` for `field` (see [`Burn`]); returns whether it changes
    /// anything. Nothing is burned before [`Efuses::commit`].
    pub fn stage(&mut self, field: Field, value: Burn) -> Result<bool, EfuseError> {
        let i = self.index(field)?;
        let len = self.def_at(i).bit_len as usize;
        let current = self
            .field_bits_at(i, true)
            .or(&self.field_bits_at(i, false));
        let wanted = match value {
            Burn::All => {
                let mut all = Bits::zeros(len);
                (0..len).for_each(|b| all.set(b, true));
                all
            }
            Burn::Bits(v) => Bits::from_u64(len, v).ok_or(crate::error::ValueError::TooLarge {
                value: crate::wide::WideUint::from_u64(v),
                bits: len,
            })?,
            Burn::NextBit => {
                let mut next = Bits::zeros(len);
                if let Some(b) = (0..len).find(|b| !current.get(*b)) {
                    next.set(b, true);
                }
                next
            }
        };
        let new = current.or(&wanted);
        if new == current {
            return Ok(false);
        }
        self.stage_at(i, new, ForceWrite::Unavailable, &mut ())?;
        Ok(true)
    }

    /// Stages the write protection of `field` (its WR_DIS bit).
    pub fn stage_write_protect(&mut self, field: Field) -> Result<(), EfuseError> {
        self.disable_write(self.index(field)?, ForceWrite::Unavailable, &mut ())
    }

    /// Stages the read protection of `field` (its RD_DIS bits).
    pub fn stage_read_protect(&mut self, field: Field) -> Result<(), EfuseError> {
        self.disable_read(self.index(field)?, ForceWrite::Unavailable, &mut ())
    }

    /// Whether anything is staged.
    pub fn has_staged(&self) -> bool {
        self.wr.iter().any(|w| w.iter().any(|x| *x != 0))
    }

    /// espefuse's `print_error_msg`: a refusal, or with `--force-write-always`
    /// a note and on.
    pub(crate) fn refuse_unless_forced(
        &self,
        check: BurnCheck,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        match force {
            ForceWrite::On => {
                obs.note(Note::Forced(&check));
                Ok(())
            }
            ForceWrite::Off => Err(EfuseError::Check { check, hint: true }),
            ForceWrite::Unavailable => Err(EfuseError::Check { check, hint: false }),
        }
    }

    fn check_wr_rd_protect_slot(
        &self,
        slot: &Slot,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let what = match &slot.name {
            FieldName::Chip(f) => Protected::Field(*f),
            FieldName::User(name) => Protected::User(name.clone()),
        };
        if !self.slot_readable(slot) {
            self.refuse_unless_forced(BurnCheck::ReadProtected(what.clone()), force, obs)?;
        }
        if !self.slot_writeable(slot) {
            self.refuse_unless_forced(BurnCheck::WriteProtected(what), force, obs)?;
        }
        Ok(())
    }

    /// Where a chip field is and what protects it.
    pub(crate) fn chip_slot(&self, i: usize) -> Slot {
        let f = self.def_at(i);
        Slot {
            name: FieldName::Chip(f.field),
            block: f.block as usize,
            offset: f.bit_offset().unwrap_or(0),
            len: f.bit_len as usize,
            wr_dis: f.wr_dis,
            rd_dis: f.rd_dis.to_vec(),
        }
    }

    /// Stages a field's new bits with espefuse's checks (`EfuseFieldBase.save`).
    pub(crate) fn stage_at(
        &mut self,
        i: usize,
        new: Bits,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let f = self.def_at(i);
        if f.class == FieldClass::KeyPurpose && f.field == Field::KeyPurpose5 {
            let purpose = u8::try_from(new.to_u64())
                .ok()
                .and_then(|v| self.table.purpose_by_value(v));
            if let Some(p) = purpose {
                if self.chip.block9_refuses(p.purpose) {
                    return Err(EfuseError::Block9Quirk { purpose: p.purpose });
                }
            }
        }
        let new = self.check_new_value(i, new, force, obs)?;
        self.save_to_block(i, &new);
        Ok(())
    }

    fn check_new_value(
        &self,
        i: usize,
        new: Bits,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<Bits, EfuseError> {
        let read = self.field_bits_at(i, true);
        let staged = self.field_bits_at(i, false);
        self.check_new_value_slot(&self.chip_slot(i), read, staged, new, force, obs)
    }

    /// espefuse's `check_new_value` and `check_wr_rd_protect` over one
    /// field, chip's or user's: the bits to stage (none when they are
    /// already burned or staged).
    pub(crate) fn check_new_value_slot(
        &self,
        slot: &Slot,
        read: Bits,
        staged: Bits,
        new: Bits,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<Bits, EfuseError> {
        let old = read.or(&staged);
        if new.is_zero() && old.is_zero() {
            return Ok(new);
        }
        if new.len() != old.len() {
            return Err(EfuseError::NewValueLength {
                field: slot.name.clone(),
                expected: old.len(),
                got: new.len(),
            });
        }
        if new == old || new.and(&read) == new {
            obs.note(Note::AlreadyBurned(slot.name.clone()));
            return Ok(Bits::zeros(new.len()));
        }
        if new == staged {
            obs.note(Note::AlreadyStaged(slot.name.clone()));
            return Ok(Bits::zeros(new.len()));
        }
        if slot.name != Field::WrDis && slot.name != Field::RdDis && new.or(&old) != new {
            let check = BurnCheck::BitsCannotBeCleared {
                field: slot.name.clone(),
                value_after: old.or(&new),
            };
            self.refuse_unless_forced(check, force, obs)?;
        }
        self.check_wr_rd_protect_slot(slot, force, obs)?;
        Ok(new)
    }

    fn save_to_block(&mut self, i: usize, bits: &Bits) {
        if self.def_at(i).bit_offset().is_none() {
            return;
        }
        self.save_slot(&self.chip_slot(i), bits);
    }

    pub(crate) fn save_slot(&mut self, slot: &Slot, bits: &Bits) {
        let off = slot.offset;
        let words = &mut self.wr[slot.block];
        for b in 0..bits.len() {
            if bits.get(b) {
                let bit = off + b;
                if let Some(w) = words.get_mut(bit / 32) {
                    *w |= 1 << (bit % 32);
                }
            }
        }
    }

    /// Un-stages a field (BLOCK0's postponed protection bits).
    pub(crate) fn reset_staged(&mut self, i: usize) {
        let f = self.def_at(i);
        let Some(off) = f.bit_offset() else { return };
        super::registers::clear_bits(&mut self.wr[f.block as usize], off, f.bit_len as usize);
    }

    /// Stages raw bytes (memory order) into a block, OR-ed into what is staged
    /// (`EfuseBlockBase.save`); checked when the burn is planned.
    pub(crate) fn stage_block_bytes(&mut self, block: usize, bytes: &[u8]) {
        let words = &mut self.wr[block];
        for (i, b) in bytes.iter().enumerate() {
            if let Some(w) = words.get_mut(i / 4) {
                *w |= u32::from(*b) << (8 * (i % 4));
            }
        }
    }

    /// Stages the read protection of a field (`disable_read`).
    pub(crate) fn disable_read(
        &mut self,
        i: usize,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        self.disable_read_slot(&self.chip_slot(i), force, obs)
    }

    pub(crate) fn disable_read_slot(
        &mut self,
        slot: &Slot,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        if slot.rd_dis.is_empty() {
            return Err(EfuseError::CannotReadProtect {
                field: slot.name.clone(),
                reason: ProtectBlocker::NoBit,
            });
        }
        let rd = self.index(Field::RdDis)?;
        if !self.is_writeable_at(rd) {
            return Err(EfuseError::CannotReadProtect {
                field: slot.name.clone(),
                reason: ProtectBlocker::Locked,
            });
        }
        let len = self.def_at(rd).bit_len as usize;
        let m = Bits::from_u64(len, mask(&slot.rd_dis)).unwrap_or_else(|| Bits::zeros(len));
        self.stage_at(rd, m, force, obs)
    }

    /// Stages the write protection of a field (`disable_write`).
    pub(crate) fn disable_write(
        &mut self,
        i: usize,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        self.disable_write_slot(&self.chip_slot(i), force, obs)
    }

    pub(crate) fn disable_write_slot(
        &mut self,
        slot: &Slot,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let Some(bit) = slot.wr_dis else {
            return Err(EfuseError::CannotWriteProtect {
                field: slot.name.clone(),
                reason: ProtectBlocker::NoBit,
            });
        };
        let wr = self.index(Field::WrDis)?;
        if !self.is_writeable_at(wr) {
            return Err(EfuseError::CannotWriteProtect {
                field: slot.name.clone(),
                reason: ProtectBlocker::Locked,
            });
        }
        let len = self.def_at(wr).bit_len as usize;
        let m = Bits::from_u64(len, 1u64 << bit).unwrap_or_else(|| Bits::zeros(len));
        self.stage_at(wr, m, force, obs)
    }
}

/// Where one field's bits are and what protects them: a chip field's
/// definition or a user field's, for the checks both share.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) name: FieldName,
    pub(crate) block: usize,
    pub(crate) offset: usize,
    pub(crate) len: usize,
    pub(crate) wr_dis: Option<u8>,
    pub(crate) rd_dis: Vec<u8>,
}
