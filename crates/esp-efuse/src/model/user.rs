//! Fields of an eFuse CSV table (`--extend-efuse-table`) on the model, as
//! ordinary fields: looked up by name or alternative name, read, staged
//! with the same checks as the chip's fields, and protected through the
//! protection bits of their block (espefuse 5.6.0
//! `mem_definition_base.py` `extend_efuses`: a user field is a plain
//! `Field` of type `bool`, `uint:N` or `bytes:N`).

use super::fields::{bits_of, mask};
use super::stage::{ForceWrite, Slot};
use super::{Efuses, Observer};
use crate::bits::Bits;
use crate::custom_table::ChipCustomField;
use crate::error::{EfuseError, FieldName};
use crate::tables::{Field, FieldType};

/// A field of an eFuse CSV table placed on an [`Efuses`] with
/// [`Efuses::set_custom_fields`]; found with [`Efuses::user_field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserField(usize);

/// A field of an [`Efuses`]: one of the chip's table or one of an eFuse
/// CSV table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// A field of the chip's table.
    Chip(Field),
    /// A field of an eFuse CSV table.
    User(UserField),
}

impl From<Field> for FieldRef {
    fn from(field: Field) -> FieldRef {
        FieldRef::Chip(field)
    }
}

impl ChipCustomField {
    /// How the field's bits are read and written: one bit is a bool, more
    /// than 32 in whole bytes are bytes, anything else an unsigned integer
    /// ([`crate::custom_table::CustomField::efuse_type`]).
    pub fn ty(&self) -> FieldType {
        let n = self.field.bit_count;
        if n == 1 {
            FieldType::Bool
        } else if n > 32 && n.is_multiple_of(8) {
            FieldType::Bytes
        } else {
            FieldType::Uint
        }
    }
}

impl Efuses {
    /// The user field `name` (its name or one of its alternative names).
    pub fn user_field(&self, name: &str) -> Option<UserField> {
        self.custom
            .iter()
            .position(|c| c.field.name == name || c.field.alt_names.iter().any(|a| a == name))
            .map(UserField)
    }

    /// The user fields, in table order.
    pub fn user_fields(&self) -> impl Iterator<Item = UserField> {
        (0..self.custom.len()).map(UserField)
    }

    /// The definition of a user field.
    pub fn user_def(&self, field: UserField) -> Result<&ChipCustomField, EfuseError> {
        self.custom
            .get(field.0)
            .ok_or_else(|| EfuseError::UnknownField {
                name: format!("user field #{}", field.0),
                chip: self.chip,
                suggestions: Vec::new(),
            })
    }

    /// espefuse's name of `field`.
    pub fn field_name(&self, field: FieldRef) -> Result<FieldName, EfuseError> {
        Ok(match field {
            FieldRef::Chip(f) => FieldName::Chip(self.def(f)?.field),
            FieldRef::User(u) => FieldName::User(self.user_def(u)?.field.name.clone()),
        })
    }

    /// A user field's bits as read (`from_read`) or as staged.
    pub fn user_bits(&self, field: UserField, from_read: bool) -> Result<Bits, EfuseError> {
        let slot = self.user_slot(field)?;
        Ok(self.slot_bits(&slot, from_read))
    }

    /// Whether software can read a user field back (its block's RD_DIS
    /// bits are clear).
    pub fn user_readable(&self, field: UserField) -> Result<bool, EfuseError> {
        Ok(self.slot_readable(&self.user_slot(field)?))
    }

    /// Whether a user field can still be burned (its block's WR_DIS bit
    /// is clear).
    pub fn user_writeable(&self, field: UserField) -> Result<bool, EfuseError> {
        Ok(self.slot_writeable(&self.user_slot(field)?))
    }

    pub(crate) fn user_slot(&self, field: UserField) -> Result<Slot, EfuseError> {
        let c = self.user_def(field)?;
        Ok(Slot {
            name: FieldName::User(c.field.name.clone()),
            block: c.field.block as usize,
            offset: c.field.bit_start as usize,
            len: c.field.bit_count as usize,
            wr_dis: c.wr_dis,
            rd_dis: c.rd_dis.clone(),
        })
    }

    pub(crate) fn slot_bits(&self, slot: &Slot, from_read: bool) -> Bits {
        if from_read {
            bits_of(&self.block_words(slot.block), slot.offset, slot.len)
        } else {
            bits_of(&self.wr[slot.block], slot.offset, slot.len)
        }
    }

    pub(crate) fn slot_readable(&self, slot: &Slot) -> bool {
        slot.rd_dis.is_empty() || self.rd_dis() & mask(&slot.rd_dis) == 0
    }

    pub(crate) fn slot_writeable(&self, slot: &Slot) -> bool {
        slot.wr_dis.is_none_or(|b| self.wr_dis() & (1 << b) == 0)
    }

    /// Stages new bits for a user field with espefuse's checks
    /// (`EfuseFieldBase.save`).
    pub(crate) fn stage_user(
        &mut self,
        field: UserField,
        new: Bits,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let slot = self.user_slot(field)?;
        let read = self.slot_bits(&slot, true);
        let staged = self.slot_bits(&slot, false);
        let new = self.check_new_value_slot(&slot, read, staged, new, force, obs)?;
        self.save_slot(&slot, &new);
        Ok(())
    }
}

impl Efuses {
    /// Where `field` is and what protects it.
    pub(crate) fn ref_slot(&self, field: FieldRef) -> Result<Slot, EfuseError> {
        match field {
            FieldRef::Chip(f) => Ok(self.chip_slot(self.index(f)?)),
            FieldRef::User(u) => self.user_slot(u),
        }
    }

    /// `field`'s bits as read (`from_read`) or as staged.
    pub fn ref_bits(&self, field: FieldRef, from_read: bool) -> Result<Bits, EfuseError> {
        match field {
            FieldRef::Chip(f) => Ok(self.field_bits_at(self.index(f)?, from_read)),
            FieldRef::User(u) => self.user_bits(u, from_read),
        }
    }

    /// Whether software can read `field` back.
    pub fn ref_readable(&self, field: FieldRef) -> Result<bool, EfuseError> {
        match field {
            FieldRef::Chip(f) => self.is_readable(f, None),
            FieldRef::User(u) => self.user_readable(u),
        }
    }

    /// Whether `field` can still be burned.
    pub fn ref_writeable(&self, field: FieldRef) -> Result<bool, EfuseError> {
        match field {
            FieldRef::Chip(f) => self.is_writeable(f),
            FieldRef::User(u) => self.user_writeable(u),
        }
    }
}
