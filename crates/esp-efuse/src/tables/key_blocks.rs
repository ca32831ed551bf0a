// @generated from espefuse 5.6.0 by scripts/gen-efuse-tables -- do not edit.
// Source: espefuse/efuse_defs/<chip>.yaml and espefuse/efuse/<chip>/{mem_definition,fields}.py,
// as loaded by espefuse itself in --virt mode; controller registers observed in its emulator.

/// The key blocks `burn-key` writes, by the name espefuse gives them. A
/// block's `BLOCK<n>` alias is the same [`KeyBlock`]; the ESP32's named
/// aliases are variants of their own because espefuse treats them
/// differently (`flash_encryption` and `secure_boot_v1` keys are burned
/// reversed and read-protected). Which blocks a chip has: `ChipTable::key_blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyBlock {
    /// `BLOCK1` (esp32)
    Block1,
    /// `flash_encryption` (esp32)
    FlashEncryption,
    /// `BLOCK2` (esp32)
    Block2,
    /// `secure_boot_v1` (esp32)
    SecureBootV1,
    /// `secure_boot_v2` (esp32)
    SecureBootV2,
    /// `BLOCK3` (esp32)
    Block3,
    /// `BLOCK_KEY0` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    BlockKey0,
    /// `BLOCK_KEY1` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockKey1,
    /// `BLOCK_KEY2` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockKey2,
    /// `BLOCK_KEY3` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockKey3,
    /// `BLOCK_KEY4` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockKey4,
    /// `BLOCK_KEY5` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockKey5,
}

impl KeyBlock {
    /// espefuse's spelling.
    pub const fn name(self) -> &'static str {
        match self {
            KeyBlock::Block1 => "BLOCK1",
            KeyBlock::FlashEncryption => "flash_encryption",
            KeyBlock::Block2 => "BLOCK2",
            KeyBlock::SecureBootV1 => "secure_boot_v1",
            KeyBlock::SecureBootV2 => "secure_boot_v2",
            KeyBlock::Block3 => "BLOCK3",
            KeyBlock::BlockKey0 => "BLOCK_KEY0",
            KeyBlock::BlockKey1 => "BLOCK_KEY1",
            KeyBlock::BlockKey2 => "BLOCK_KEY2",
            KeyBlock::BlockKey3 => "BLOCK_KEY3",
            KeyBlock::BlockKey4 => "BLOCK_KEY4",
            KeyBlock::BlockKey5 => "BLOCK_KEY5",
        }
    }

    /// Every key block.
    pub const ALL: &'static [KeyBlock] = &[
        KeyBlock::Block1,
        KeyBlock::FlashEncryption,
        KeyBlock::Block2,
        KeyBlock::SecureBootV1,
        KeyBlock::SecureBootV2,
        KeyBlock::Block3,
        KeyBlock::BlockKey0,
        KeyBlock::BlockKey1,
        KeyBlock::BlockKey2,
        KeyBlock::BlockKey3,
        KeyBlock::BlockKey4,
        KeyBlock::BlockKey5,
    ];
}
