//! Staging new values with espefuse's checks (base_fields.py
//! `EfuseFieldBase.save`, `check_new_value`, `check_wr_rd_protect`;
//! esptool.md §4.3), and the typed [`Efuses::burn`] for library callers.

use super::fields::mask;
use super::{Efuses, Note, Observer};
use crate::bits::Bits;
use crate::error::{BurnCheck, EfuseError, ProtectBlocker, Protected};
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
                value: v,
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

    fn check_wr_rd_protect_field(
        &self,
        i: usize,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let what = Protected::Field(self.def_at(i).field);
        if !self.is_readable_at(i, None) {
            self.refuse_unless_forced(BurnCheck::ReadProtected(what), force, obs)?;
        }
        if !self.is_writeable_at(i) {
            self.refuse_unless_forced(BurnCheck::WriteProtected(what), force, obs)?;
        }
        Ok(())
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
        let f = self.def_at(i);
        let read = self.field_bits_at(i, true);
        let staged = self.field_bits_at(i, false);
        let old = read.or(&staged);
        if new.is_zero() && old.is_zero() {
            return Ok(new);
        }
        if new.len() != old.len() {
            return Err(EfuseError::NewValueLength {
                field: f.field,
                expected: old.len(),
                got: new.len(),
            });
        }
        if new == old || new.and(&read) == new {
            obs.note(Note::AlreadyBurned(f.field));
            return Ok(Bits::zeros(new.len()));
        }
        if new == staged {
            obs.note(Note::AlreadyStaged(f.field));
            return Ok(Bits::zeros(new.len()));
        }
        if f.field != Field::WrDis && f.field != Field::RdDis && new.or(&old) != new {
            let check = BurnCheck::BitsCannotBeCleared {
                field: f.field,
                value_after: old.or(&new),
            };
            self.refuse_unless_forced(check, force, obs)?;
        }
        self.check_wr_rd_protect_field(i, force, obs)?;
        Ok(new)
    }

    fn save_to_block(&mut self, i: usize, bits: &Bits) {
        let f = self.def_at(i);
        let Some(off) = f.bit_offset() else { return };
        let words = &mut self.wr[f.block as usize];
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
        let f = self.def_at(i);
        if f.rd_dis.is_empty() {
            return Err(EfuseError::CannotReadProtect {
                field: f.field,
                reason: ProtectBlocker::NoBit,
            });
        }
        let rd = self.index(Field::RdDis)?;
        if !self.is_writeable_at(rd) {
            return Err(EfuseError::CannotReadProtect {
                field: f.field,
                reason: ProtectBlocker::Locked,
            });
        }
        let len = self.def_at(rd).bit_len as usize;
        let m = Bits::from_u64(len, mask(f.rd_dis)).unwrap_or_else(|| Bits::zeros(len));
        self.stage_at(rd, m, force, obs)
    }

    /// Stages the write protection of a field (`disable_write`).
    pub(crate) fn disable_write(
        &mut self,
        i: usize,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let f = self.def_at(i);
        let Some(bit) = f.wr_dis else {
            return Err(EfuseError::CannotWriteProtect {
                field: f.field,
                reason: ProtectBlocker::NoBit,
            });
        };
        let wr = self.index(Field::WrDis)?;
        if !self.is_writeable_at(wr) {
            return Err(EfuseError::CannotWriteProtect {
                field: f.field,
                reason: ProtectBlocker::Locked,
            });
        }
        let len = self.def_at(wr).bit_len as usize;
        let m = Bits::from_u64(len, 1u64 << bit).unwrap_or_else(|| Bits::zeros(len));
        self.stage_at(wr, m, force, obs)
    }
}
