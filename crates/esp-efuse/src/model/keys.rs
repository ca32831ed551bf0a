//! Staging keys and Secure Boot digests the way espefuse's `burn-key` and
//! `burn-key-digest` do (`<chip>/operations.py`): byte order for the
//! peripheral that reads the key, the block's purpose, and protections.

use zeroize::Zeroizing;

use super::{Efuses, ForceWrite, Note, Observer};
use crate::bits::Bits;
use crate::error::{EfuseError, KeyError, Repeated};
use crate::tables::{Chip, Field, KeyBlock, KeyPurpose, KeyPurposeDef};

/// One key (or digest) for one key block: a `BLOCK KEYFILE PURPOSE` group
/// of `burn-key`.
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// The block.
    pub block: KeyBlock,
    /// The purpose; `None` on the ESP32, whose blocks have fixed roles.
    pub purpose: Option<KeyPurpose>,
    /// Key (or digest) bytes as in the key file.
    pub data: Zeroizing<Vec<u8>>,
}

impl KeyGroup {
    /// A key for `block` with `purpose`.
    pub fn new(block: KeyBlock, purpose: KeyPurpose, data: &[u8]) -> KeyGroup {
        KeyGroup {
            block,
            purpose: Some(purpose),
            data: Zeroizing::new(data.to_vec()),
        }
    }

    /// An ESP32 key: the block's name says what it is for.
    pub fn esp32(block: KeyBlock, data: &[u8]) -> KeyGroup {
        KeyGroup {
            block,
            purpose: None,
            data: Zeroizing::new(data.to_vec()),
        }
    }
}

/// How keys are protected once burned.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyOptions {
    /// Leave the key block writeable (`--no-write-protect`; ESP32
    /// `--no-protect-key`, which also leaves it readable).
    pub no_write_protect: bool,
    /// Leave the key block readable (`--no-read-protect`).
    pub no_read_protect: bool,
}

/// An ECDSA_KEY group's data is the key's private scalar (big-endian, the
/// curve's size); a P-192 scalar (24 bytes) fills a 32-byte key block
/// after 8 zero bytes (`base_operations.py` `_adjust_key_data_for_blocks`).
/// Other sizes pass unchanged, and a P-384 scalar then fails the block's
/// size check as in espefuse.
fn pad_ecdsa_scalar(mut g: KeyGroup) -> KeyGroup {
    if g.purpose == Some(KeyPurpose::EcdsaKey) && g.data.len() == P192_SCALAR_LEN {
        let mut data = Zeroizing::new(vec![0u8; 32 - P192_SCALAR_LEN]);
        data.extend_from_slice(&g.data);
        g.data = data;
    }
    g
}

/// Bytes of a NIST P-192 private scalar.
const P192_SCALAR_LEN: usize = 24;

/// The repeated items, as espefuse lists them (`check_duplicate_name_in_list`).
pub(crate) fn repeated<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, x)| items[..*i].contains(x))
        .map(|(_, x)| x.clone())
        .collect()
}

impl Efuses {
    /// Stages keys as `burn-key` does: reversed for AES-XTS, the block's
    /// purpose set and write-protected, the key read- and write-protected
    /// (see [`KeyOptions`]). Burn them with [`Efuses::commit`].
    ///
    /// ```
    /// use esp_efuse::{Chip, Efuses, Field, KeyBlock, KeyGroup, KeyOptions, KeyPurpose};
    ///
    /// let mut efuses = Efuses::new(Chip::Esp32c3);
    /// let key = KeyGroup::new(KeyBlock::BlockKey0, KeyPurpose::XtsAes128Key, &[0x11; 32]);
    /// efuses.stage_keys(&[key], KeyOptions::default())?;
    /// efuses.commit()?;
    /// assert_eq!(efuses.get(Field::KeyPurpose0)?.to_string(), "XTS_AES_128_KEY");
    /// assert!(!efuses.is_readable(Field::BlockKey0, None)?);
    /// # Ok::<(), esp_efuse::EfuseError>(())
    /// ```
    pub fn stage_keys(&mut self, groups: &[KeyGroup], opts: KeyOptions) -> Result<(), EfuseError> {
        self.stage_keys_with(groups, opts, ForceWrite::Unavailable, &mut ())
    }

    /// Stages Secure Boot V2 public-key digests as `burn-key-digest` does
    /// (ESP32: BLOCK2, chip v3.0 and the NONE coding scheme; ESP32-C2: the
    /// first 128 bits in BLOCK_KEY0's high half; the others: a key block
    /// with a SECURE_BOOT_DIGESTn purpose). Where they go:
    /// [`crate::policy::secure_boot_digest_groups`].
    pub fn stage_key_digests(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
    ) -> Result<(), EfuseError> {
        self.stage_key_digests_with(groups, opts, ForceWrite::Unavailable, &mut ())
    }

    /// Key blocks free for a new key, in block order (`_key_block_is_unused`:
    /// readable, writeable, purpose USER and writeable, all zero).
    pub fn free_key_blocks(&self) -> Vec<KeyBlock> {
        self.table
            .blocks
            .iter()
            .filter(|b| self.key_block_is_unused(b.id as usize))
            .filter_map(|b| self.table.canonical_key_block(b.id))
            .collect()
    }

    pub(crate) fn key_block_is_unused(&self, block: usize) -> bool {
        let def = &self.table.blocks[block];
        let Some(kp) = def.key_purpose.and_then(|f| self.index(f).ok()) else {
            return false;
        };
        self.is_block_readable(block)
            && self.is_block_writeable(block)
            && self.field_bits_at(kp, true).is_zero()
            && self.is_writeable_at(kp)
            && self.block_words(block).iter().all(|w| *w == 0)
    }

    /// The block a key group names on this chip.
    fn key_block_number(&self, block: KeyBlock) -> Result<usize, EfuseError> {
        self.table
            .key_block_def(block)
            .map(|d| usize::from(d.block))
            .ok_or(EfuseError::KeyBlockNotOnChip {
                block,
                chip: self.chip,
            })
    }

    fn purpose_def(&self, purpose: KeyPurpose) -> Result<KeyPurposeDef, EfuseError> {
        self.table
            .purpose_def(purpose)
            .ok_or(EfuseError::PurposeNotOnChip {
                purpose,
                chip: self.chip,
            })
    }

    fn purpose_of(&self, g: &KeyGroup) -> Result<KeyPurpose, EfuseError> {
        g.purpose.ok_or(
            KeyError::PurposeRequired {
                block: g.block,
                chip: self.chip,
            }
            .into(),
        )
    }

    pub(crate) fn stage_keys_with(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        match self.chip {
            Chip::Esp32 => self.stage_keys_esp32(groups, opts, force, obs),
            Chip::Esp32c2 => self.stage_keys_esp32c2(groups, opts, force, obs),
            _ => self.stage_keys_generic(groups, opts, force, obs),
        }
    }

    /// Chips with KEY_PURPOSE_n fields (S2/S3/C3/C6/H2).
    fn stage_keys_generic(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let groups = self.split_xts_256(groups)?;
        let groups: Vec<KeyGroup> = groups.into_iter().map(pad_ecdsa_scalar).collect();
        obs.note(Note::KeysStart);
        for g in &groups {
            let purpose = self.purpose_of(g)?;
            let block = self.key_block_number(g.block)?;
            let bdef = &self.table.blocks[block];
            let (Some(kp_field), Some(key_field)) = (bdef.key_purpose, Field::from_name(bdef.name))
            else {
                return Err(EfuseError::KeyBlockNotOnChip {
                    block: g.block,
                    chip: self.chip,
                });
            };
            let kp = self.index(kp_field)?;
            let efuse = self.index(key_field)?;
            let num_bytes = self.def_at(efuse).bit_len as usize / 8;
            let def = self.purpose_def(purpose)?;
            let mut data = g.data.clone();
            if def.reverse {
                data.reverse();
            }
            obs.note(Note::Key {
                name: bdef.name,
                data: &data,
            });
            if def.reverse {
                obs.note(Note::Reversing(Some(purpose)));
            }
            if data.len() != num_bytes {
                return Err(KeyError::Size {
                    got: data.len(),
                    expected: num_bytes,
                }
                .into());
            }
            self.stage_at(efuse, Bits::from_bytes(&data), force, obs)?;
            let current = self.get_at(kp, true).to_string();
            let protect_purpose = if current != purpose.to_string() {
                if !self.is_writeable_at(kp) {
                    return Err(KeyError::PurposeLocked {
                        field: kp_field,
                        purpose,
                    }
                    .into());
                }
                obs.note(Note::PurposeChange {
                    field: kp_field,
                    from: current,
                    to: purpose,
                });
                let len = self.def_at(kp).bit_len as usize;
                let value = u64::try_from(def.value).unwrap_or(0);
                let bits = Bits::from_u64(len, value).unwrap_or_else(|| Bits::zeros(len));
                self.stage_at(kp, bits, force, obs)?;
                true
            } else {
                obs.note(Note::PurposeAlready {
                    field: kp_field,
                    purpose,
                });
                self.is_writeable_at(kp)
            };
            if purpose == KeyPurpose::EcdsaKey {
                self.force_hardware_k(force, obs)?;
            }
            if protect_purpose {
                obs.note(Note::DisablingPurposeWrite(kp_field));
                self.disable_write(kp, force, obs)?;
            }
            if def.need_rd_protect && !opts.no_read_protect {
                obs.note(Note::DisablingKeyRead);
                self.disable_read(efuse, force, obs)?;
            }
            if !opts.no_write_protect {
                obs.note(Note::DisablingKeyWrite);
                self.disable_write(efuse, force, obs)?;
            }
            obs.note(Note::KeyDone);
        }
        obs.note(Note::KeysEnd {
            no_write_protect: opts.no_write_protect,
            no_read_protect: opts.no_read_protect,
        });
        Ok(())
    }

    /// An ECDSA key on a chip revision with ECDSA_FORCE_USE_HARDWARE_K (the
    /// ESP32-H2 up to v1.1) also sets that bit, so the peripheral always
    /// draws k from the hardware generator (esp32h2/operations.py
    /// `burn_key`, which looks at the bit as read, not as staged).
    fn force_hardware_k(
        &mut self,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let Ok(f) = self.index(Field::EcdsaForceUseHardwareK) else {
            return Ok(());
        };
        if !self.in_revision(self.def_at(f)) {
            return Ok(());
        }
        let set = self.field_bits_at(f, true).to_u64() != 0;
        obs.note(Note::ForceHardwareK { already: set });
        if !set {
            let len = self.def_at(f).bit_len as usize;
            let one = Bits::from_u64(len, 1).unwrap_or_else(|| Bits::zeros(len));
            self.stage_at(f, one, force, obs)?;
        }
        Ok(())
    }

    /// `XTS_AES_256_KEY`: the first 32 bytes go to the given block, the last 32
    /// to the next free key block (`_split_multiblock_key`).
    fn split_xts_256(&self, groups: &[KeyGroup]) -> Result<Vec<KeyGroup>, EfuseError> {
        let mut out: Vec<KeyGroup> = groups.to_vec();
        let Some(i) = out
            .iter()
            .position(|g| g.purpose == Some(KeyPurpose::XtsAes256Key))
        else {
            return Ok(out);
        };
        if self.table.purpose_def(KeyPurpose::XtsAes256Key1).is_none() {
            return Err(EfuseError::PurposeNotOnChip {
                purpose: KeyPurpose::XtsAes256Key,
                chip: self.chip,
            });
        }
        let block = self.key_block_number(out[i].block)?;
        if out[i].data.len() != 64 {
            return Err(KeyError::Xts256Size {
                got: out[i].data.len(),
            }
            .into());
        }
        let key_blocks: Vec<usize> = self
            .table
            .blocks
            .iter()
            .filter(|b| b.key_purpose.is_some())
            .map(|b| b.id as usize)
            .collect();
        let start =
            key_blocks
                .iter()
                .position(|b| *b == block)
                .ok_or(EfuseError::KeyBlockNotOnChip {
                    block: out[i].block,
                    chip: self.chip,
                })?;
        let named: Vec<usize> = out
            .iter()
            .filter_map(|g| self.key_block_number(g.block).ok())
            .collect();
        let second = key_blocks[start..]
            .iter()
            .chain(key_blocks[..start].iter())
            .copied()
            .filter(|b| !named.contains(b))
            .find(|b| self.key_block_is_unused(*b))
            .and_then(|b| u8::try_from(b).ok())
            .and_then(|b| self.table.canonical_key_block(b))
            .ok_or(KeyError::Xts256NoSecondBlock)?;
        let data = out[i].data.clone();
        out[i].purpose = Some(KeyPurpose::XtsAes256Key1);
        out[i].data = Zeroizing::new(data[..32].to_vec());
        out.insert(
            i + 1,
            KeyGroup::new(second, KeyPurpose::XtsAes256Key2, &data[32..]),
        );
        Ok(out)
    }

    /// ESP32 `burn-key BLOCK FILE…`: reversed and read-protected only when the
    /// block is named `flash_encryption` / `secure_boot_v1` (esp32/operations.py).
    fn stage_keys_esp32(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        obs.note(Note::KeysStart);
        for g in groups {
            let block = self.key_block_number(g.block)?;
            let bname = self.table.blocks[block].name;
            let efuse = Field::from_name(bname)
                .ok_or(EfuseError::KeyBlockNotOnChip {
                    block: g.block,
                    chip: self.chip,
                })
                .and_then(|f| self.index(f))?;
            let mut num_bytes = self.def_at(efuse).bit_len as usize / 8;
            if self.raw_present(Field::CodingScheme) == 1 {
                num_bytes = 24;
            }
            let mut data = g.data.clone();
            let alias_form = matches!(g.block, KeyBlock::FlashEncryption | KeyBlock::SecureBootV1);
            if alias_form {
                data.reverse();
            }
            obs.note(Note::Key {
                name: bname,
                data: &data,
            });
            if alias_form {
                obs.note(Note::Reversing(None));
            }
            if data.len() != num_bytes {
                return Err(KeyError::Size {
                    got: data.len(),
                    expected: num_bytes,
                }
                .into());
            }
            self.stage_at(efuse, Bits::from_bytes(&data), force, obs)?;
            // espefuse's --no-protect-key leaves the alias forms readable too
            if alias_form && !opts.no_write_protect {
                obs.note(Note::DisablingKeyRead);
                self.disable_read(efuse, force, obs)?;
            }
            if !opts.no_write_protect {
                obs.note(Note::DisablingKeyWrite);
                self.disable_write(efuse, force, obs)?;
            }
            obs.note(Note::KeyDone);
        }
        obs.note(Note::KeysEnd {
            no_write_protect: opts.no_write_protect,
            no_read_protect: opts.no_read_protect,
        });
        Ok(())
    }

    /// ESP32-C2 `burn-key BLOCK_KEY0 FILE PURPOSE [BLOCK_KEY0 FILE PURPOSE]`:
    /// one key block shared by a 128-bit key and a 128-bit digest.
    fn stage_keys_esp32c2(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let mut purposes = Vec::new();
        for g in groups {
            purposes.push(self.purpose_of(g)?);
        }
        let dup = repeated(&purposes);
        if !dup.is_empty() {
            return Err(EfuseError::Repeated(Repeated::Purposes(dup)));
        }
        for (g, purpose) in groups.iter().zip(&purposes) {
            // USER is one of the ESP32-C2's choices: the whole BLOCK_KEY0,
            // write-protected only (esp32c2/operations.py burn_key)
            if self.table.purpose_def(*purpose).is_none() {
                return Err(EfuseError::PurposeNotOnChip {
                    purpose: *purpose,
                    chip: self.chip,
                });
            }
            self.key_block_number(g.block)?;
        }
        if groups.len() > 2 {
            return Err(KeyError::TooManyGroups.into());
        }
        if let [first, second] = purposes[..] {
            let permitted = [
                KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits,
                KeyPurpose::SecureBootDigest,
            ];
            let incompatible = purposes.contains(&KeyPurpose::XtsAes128Key)
                || (permitted.contains(&first) && !permitted.contains(&second));
            if incompatible {
                return Err(KeyError::IncompatiblePurposes { purposes }.into());
            }
        }
        obs.note(Note::KeysStart);
        for (g, purpose) in groups.iter().zip(purposes) {
            let mut data = g.data.clone();
            let field = match purpose {
                KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits => Field::BlockKey0Low128,
                KeyPurpose::SecureBootDigest => {
                    if data.len() == 32 {
                        obs.note(Note::DigestTruncated);
                        data.truncate(16);
                    } else if data.len() != 16 {
                        return Err(KeyError::DigestSize { got: data.len() }.into());
                    }
                    Field::BlockKey0Hi128
                }
                _ => Field::BlockKey0,
            };
            let efuse = self.index(field)?;
            let num_bytes = self.def_at(efuse).bit_len as usize / 8;
            let xts = matches!(
                purpose,
                KeyPurpose::XtsAes128Key | KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits
            );
            if xts {
                data.reverse();
            }
            obs.note(Note::Key {
                name: field.name(),
                data: &data,
            });
            if xts {
                obs.note(Note::Reversing(Some(purpose)));
            }
            if data.len() != num_bytes {
                return Err(KeyError::Size {
                    got: data.len(),
                    expected: num_bytes,
                }
                .into());
            }
            self.stage_at(efuse, Bits::from_bytes(&data), force, obs)?;
            if purpose == KeyPurpose::XtsAes128Key {
                let len256 = self.index(Field::XtsKeyLength256)?;
                if !self.field_bits_at(len256, true).is_zero() {
                    obs.note(Note::XtsKeyLength256 { already: true });
                } else {
                    obs.note(Note::XtsKeyLength256 { already: false });
                    let one = Bits::from_u64(1, 1).unwrap_or_else(|| Bits::zeros(1));
                    self.stage_at(len256, one, force, obs)?;
                }
            }
            if xts && !opts.no_read_protect {
                obs.note(Note::DisablingKeyRead);
                self.disable_read(efuse, force, obs)?;
            }
            if !opts.no_write_protect {
                obs.note(Note::DisablingKeyWrite);
                self.disable_write(efuse, force, obs)?;
            }
            obs.note(Note::KeyDone);
        }
        obs.note(Note::KeysEnd {
            no_write_protect: opts.no_write_protect,
            no_read_protect: opts.no_read_protect,
        });
        Ok(())
    }

    /// The ESP32's checks before it reads a digest's key file: the `None`
    /// coding scheme and Secure Boot V2's chip revision (v3.0).
    pub(crate) fn digest_preconditions(&self) -> Result<(), EfuseError> {
        if self.chip != Chip::Esp32 {
            return Ok(());
        }
        if self.raw_present(Field::CodingScheme) == 1 {
            return Err(KeyError::DigestNeedsCodingNone.into());
        }
        let revision = self.chip_revision();
        if revision < 300 {
            return Err(KeyError::ChipRevision { revision }.into());
        }
        Ok(())
    }

    pub(crate) fn stage_key_digests_with(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        match self.chip {
            Chip::Esp32 => {
                let g = groups.first().ok_or(KeyError::NoGroups)?;
                self.digest_preconditions()?;
                let efuse = self.index(Field::Block2)?;
                obs.note(Note::DigestStart);
                obs.note(Note::Key {
                    name: "BLOCK2",
                    data: &g.data,
                });
                self.stage_at(efuse, Bits::from_bytes(&g.data), force, obs)?;
                if !opts.no_write_protect {
                    obs.note(Note::DisablingDigestWrite);
                    self.disable_write(efuse, force, obs)?;
                }
                Ok(())
            }
            Chip::Esp32c2 => {
                // only the first 16 digest bytes fit BLOCK_KEY0_HI_128 (esp32c2/operations.py)
                let cut: Vec<KeyGroup> = groups
                    .iter()
                    .map(|g| KeyGroup {
                        data: Zeroizing::new(g.data.get(..16).unwrap_or(&g.data).to_vec()),
                        ..g.clone()
                    })
                    .collect();
                self.stage_keys_esp32c2(&cut, opts, force, obs)
            }
            _ => {
                for g in groups {
                    let purpose = self.purpose_of(g)?;
                    if !self.table.purpose_def(purpose).is_some_and(|p| p.digest) {
                        return Err(KeyError::NotADigestPurpose {
                            purpose,
                            chip: self.chip,
                        }
                        .into());
                    }
                }
                self.stage_keys_generic(groups, opts, force, obs)
            }
        }
    }
}
