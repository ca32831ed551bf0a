//! espefuse's commands as staging operations on [`Efuses`]: each one checks
//! its input and stages writes exactly as the corresponding espefuse command
//! does (`base_operations.py`, `<chip>/operations.py`; esptool.md §4.3). The
//! caller then runs [`Efuses::plan_burn`] and, once confirmed,
//! [`Efuses::execute_burn`].

use crate::bits::Bits;
use crate::error::EfuseError;
use crate::state::{hexify, Efuses, FieldId};
use crate::tables::{Chip, FieldClass};

/// One `BLOCK KEYFILE PURPOSE` group of `burn-key`.
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// Block name or alias (`BLOCK_KEY0`, `BLOCK4`, `flash_encryption`).
    pub block: String,
    /// Key (or digest) bytes as in the file.
    pub data: Vec<u8>,
    /// Purpose name (unused on ESP32).
    pub purpose: String,
}

impl Drop for KeyGroup {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

/// Options shared by the key commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyOptions {
    /// `--no-write-protect` (ESP32: `--no-protect-key`).
    pub no_write_protect: bool,
    /// `--no-read-protect`.
    pub no_read_protect: bool,
    /// `--show-sensitive-info`.
    pub show_sensitive_info: bool,
}

fn check_duplicates(names: &[String]) -> Result<(), EfuseError> {
    let dup: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, n)| names[..*i].contains(n))
        .map(|(_, n)| format!("'{n}'"))
        .collect();
    if dup.is_empty() {
        Ok(())
    } else {
        Err(EfuseError::refused(format!(
            "Found repeated [{}] in the name list.",
            dup.join(", ")
        )))
    }
}

impl Efuses {
    fn shown_key(&self, data: &[u8], show: bool) -> String {
        if show {
            hexify(data, " ")
        } else {
            vec!["??"; data.len()].join(" ")
        }
    }

    /// `burn-efuse NAME [VALUE] …`: stages the values; returns the fields and
    /// their new bits (for the post-burn check).
    pub fn burn_efuse(
        &mut self,
        pairs: &[(String, Option<String>)],
    ) -> Result<Vec<(FieldId, Bits)>, EfuseError> {
        let names: Vec<String> = pairs.iter().map(|(n, _)| n.clone()).collect();
        let mut ids = Vec::new();
        for (n, _) in pairs {
            ids.push(self.field(n)?);
        }
        check_duplicates(&names)?;
        let mut parsed = Vec::new();
        for (id, (_, v)) in ids.iter().zip(pairs) {
            parsed.push(self.parse_new_value(*id, v.as_deref())?);
        }
        let mut lines = vec!["The eFuses to burn:".to_string()];
        for b in 0..self.table().blocks.len() {
            let in_block: Vec<_> = ids
                .iter()
                .filter(|id| self.def(**id).block as usize == b)
                .collect();
            if !in_block.is_empty() {
                lines.push(format!("  from BLOCK{b}"));
                for id in in_block {
                    lines.push(format!("     - {}", self.def(*id).name()));
                }
            }
        }
        lines.push("\nBurning eFuses:".into());
        for l in lines {
            self.say_pub(l);
        }
        let mut out = Vec::new();
        for (id, new) in ids.iter().zip(parsed) {
            let f = self.def(*id);
            self.say_pub(format!(
                "    - '{}' ({}) {} -> {}",
                f.name(),
                f.description,
                self.field_bits(*id, true).python_str(),
                new.python_str()
            ));
            self.stage(*id, new.clone())?;
            out.push((*id, new));
        }
        self.say_pub("");
        if names.iter().any(|n| n == "ENABLE_SECURITY_DOWNLOAD") {
            self.say_pub("ENABLE_SECURITY_DOWNLOAD -> 1: eFuses will not be read back for confirmation because this mode disables any SRAM and register operations.");
            self.say_pub("                               espefuse will not work.");
            self.say_pub("                               esptool can read/write only flash.");
        }
        if names.iter().any(|n| n == "DIS_DOWNLOAD_MODE") {
            self.say_pub("DIS_DOWNLOAD_MODE -> 1: eFuses will not be read back for confirmation because this mode disables any communication with the chip.");
            self.say_pub("                        espefuse/esptool will not work because they will not be able to connect to the chip.");
        }
        if self.chip() == Chip::Esp32s3 {
            // esp32s3/fields.py is_efuses_incompatible_for_burn
            let both = |a: &str, b: &str| {
                let v = |n: &str| {
                    self.field(n)
                        .map(|id| self.raw(id) != 0 || !self.field_bits(id, false).is_zero())
                        .unwrap_or(false)
                };
                v(a) && v(b)
            };
            if both("DIS_USB_JTAG", "DIS_USB_SERIAL_JTAG") {
                return Err(EfuseError::refused(
                    "Incompatible eFuse settings detected, abort. (use --force flag to skip it).",
                ));
            }
        }
        Ok(out)
    }

    /// After a burn: espefuse's "Checking eFuses..." comparison.
    pub fn check_burned(&mut self, burned: &[(FieldId, Bits)]) -> Result<(), EfuseError> {
        self.say_pub("Checking eFuses...");
        let mut failed = false;
        for (id, new) in burned {
            let f = self.def(*id);
            if !self.is_readable(*id, None) {
                self.say_pub(format!(
                    "Efuse {} is read-protected. Read back the burn value is not possible.",
                    f.name()
                ));
            } else {
                let got = self.field_bits(*id, true);
                if &got != new && new.and(&got) != *new {
                    self.say_pub(format!(
                        "{} -> {} Efuse {} failed to burn. Protected?",
                        got.python_str(),
                        new.python_str(),
                        f.name()
                    ));
                    failed = true;
                }
            }
        }
        if failed {
            Err(EfuseError::refused("The burn was not successful."))
        } else {
            Ok(())
        }
    }

    /// `read-protect-efuse NAME…`.
    pub fn read_protect(&mut self, names: &[String]) -> Result<(), EfuseError> {
        check_duplicates(names)?;
        for name in names {
            let id = self.field(name)?;
            let f = self.def(id);
            if f.rd_dis.is_empty() {
                return Err(EfuseError::BadValue(format!(
                    "'{name}' has no read-protection bit"
                )));
            }
            if !self.is_readable(id, None) {
                self.say_pub(format!("Efuse {} is already read protected", f.name()));
                continue;
            }
            match self.chip() {
                Chip::Esp32 => {
                    let rev = self.chip_revision();
                    let get = |e: &Efuses, n: &str| e.field(n).map(|i| e.raw(i)).unwrap_or(0);
                    if name == "BLOCK2" && get(self, "ABS_DONE_0") == 0 && rev >= 300 {
                        if get(self, "ABS_DONE_1") != 0 {
                            return Err(EfuseError::refused(
                                "Secure Boot V2 is on (ABS_DONE_1 = True), BLOCK2 must be readable, stop this operation!",
                            ));
                        }
                        self.say_pub("If Secure Boot V2 is used, BLOCK2 must be readable, please stop this operation!");
                    }
                }
                Chip::Esp32c2 => {
                    let get = |e: &Efuses, n: &str| e.field(n).map(|i| e.raw(i)).unwrap_or(0);
                    let mut error = get(self, "XTS_KEY_LENGTH_256") == 0 && name == "BLOCK_KEY0";
                    error |= get(self, "SECURE_BOOT_EN") != 0
                        && (name == "BLOCK_KEY0" || name == "BLOCK_KEY0_HI_128");
                    if error {
                        return Err(EfuseError::refused(format!(
                            "{name} must be readable, stop this operation!"
                        )));
                    }
                }
                _ => {
                    if let Some(b) = self.table().blocks.iter().find(|b| b.name == name.as_str()) {
                        if let Some(kp) = b.key_purpose.and_then(|n| self.field(n.name()).ok()) {
                            let v = self.raw(kp);
                            let need = u8::try_from(v)
                                .ok()
                                .and_then(|v| self.table().purpose_by_value(v))
                                .is_some_and(|p| p.need_rd_protect);
                            if !need {
                                return Err(EfuseError::refused(format!(
                                    "{name} must be readable, stop this operation!"
                                )));
                            }
                        }
                    }
                }
            }
            let sharing: Vec<&str> = self
                .table()
                .fields
                .iter()
                .enumerate()
                .filter(|(i, g)| self.is_shown(FieldId(*i)) && g.rd_dis == f.rd_dis)
                .map(|(_, g)| g.name())
                .collect();
            self.say_pub(format!(
                "Permanently read-disabling eFuse{} {}",
                if sharing.len() > 1 { "s" } else { "" },
                sharing.join(", ")
            ));
            self.disable_read(id)?;
        }
        Ok(())
    }

    /// `write-protect-efuse NAME…`.
    pub fn write_protect(&mut self, names: &[String]) -> Result<(), EfuseError> {
        check_duplicates(names)?;
        for name in names {
            let id = self.field(name)?;
            let f = self.def(id);
            if f.wr_dis.is_none() {
                return Err(EfuseError::BadValue(format!(
                    "'{name}' has no write-protection bit"
                )));
            }
            if !self.is_writeable(id) {
                self.say_pub(format!("Efuse {} is already write protected.", f.name()));
                continue;
            }
            let sharing: Vec<&str> = self
                .table()
                .fields
                .iter()
                .enumerate()
                .filter(|(i, g)| self.is_shown(FieldId(*i)) && g.wr_dis == f.wr_dis)
                .map(|(_, g)| g.name())
                .collect();
            self.say_pub(format!(
                "Permanently write-disabling eFuse{} {}",
                if sharing.len() > 1 { "s" } else { "" },
                sharing.join(", ")
            ));
            self.disable_write(id)?;
        }
        Ok(())
    }

    /// After a protect command: each named field must now be protected.
    pub fn check_protected(&mut self, names: &[String], read: bool) -> Result<(), EfuseError> {
        self.say_pub("Checking eFuses...");
        let mut failed = false;
        for n in names {
            let id = self.field(n)?;
            let ok = if read {
                !self.is_readable(id, None)
            } else {
                !self.is_writeable(id)
            };
            if !ok {
                self.say_pub(format!(
                    "Efuse {} is not {}-protected.",
                    self.def(id).name(),
                    if read { "read" } else { "write" }
                ));
                failed = true;
            }
        }
        if failed {
            Err(EfuseError::refused("The burn was not successful."))
        } else {
            Ok(())
        }
    }

    /// Chip revision as espefuse computes it (major*100 + minor).
    pub fn chip_revision(&self) -> u32 {
        let get = |n: &str| self.field(n).map(|i| self.raw(i) as u32).unwrap_or(0);
        match self.chip() {
            Chip::Esp32 => {
                let major = self
                    .field("WAFER_VERSION_MAJOR")
                    .map(|i| match self.get(i) {
                        crate::FieldValue::Int(v) => v as u32,
                        _ => 0,
                    });
                let major = major.unwrap_or(0);
                major * 100 + get("WAFER_VERSION_MINOR")
            }
            _ => {
                let minor = self
                    .field("WAFER_VERSION_MINOR")
                    .map(|i| self.field_bits(i, true).to_u64() as u32);
                get("WAFER_VERSION_MAJOR") * 100 + minor.unwrap_or(0)
            }
        }
    }

    /// `burn-key` on chips with key purposes (S2/S3/C3/C6/H2); also the
    /// second half of `burn-key-digest` (then `digest` is true).
    pub fn burn_key(&mut self, groups: &[KeyGroup], opts: KeyOptions) -> Result<(), EfuseError> {
        match self.chip() {
            Chip::Esp32 => return self.burn_key_esp32(groups, opts),
            Chip::Esp32c2 => return self.burn_key_esp32c2(groups, opts),
            _ => {}
        }
        if let Some(g) = groups.iter().find(|g| g.purpose.starts_with("ECDSA_KEY")) {
            // espefuse reads a PEM private key for these and burns its raw scalar
            return Err(EfuseError::BadValue(format!(
                "key purpose {} (PEM ECDSA private keys) is not supported by espboot yet",
                g.purpose
            )));
        }
        let groups = self.split_xts_256(groups)?;
        let names: Vec<String> = groups.iter().map(|g| g.block.clone()).collect();
        check_duplicates(&names)?;
        if !opts.show_sensitive_info {
            self.say_pub("Sensitive data will be hidden (see --show-sensitive-info)");
        }
        self.say_pub("Burn keys to blocks:");
        for g in &groups {
            let block = self.block(&g.block)?;
            let bdef = &self.table().blocks[block];
            let Some(kp_name) = bdef.key_purpose else {
                return Err(EfuseError::BadValue(format!(
                    "block '{}' is not a key block (use one of {})",
                    g.block,
                    self.key_block_names().join(", ")
                )));
            };
            let efuse = self.field(bdef.name)?;
            let kp = self.field(kp_name.name())?;
            let num_bytes = self.def(efuse).bit_len as usize / 8;
            // A named purpose, or on chips with 4-bit purposes (ESP32-C6) an unused
            // value as CUSTOM_<n> / CUSTOM_DIGEST_<n> (EfuseKeyPurposeFieldBase).
            let resolved = match self
                .table()
                .purpose_by_name(&g.purpose)
                .filter(|p| !p.virtual_purpose)
            {
                Some(p) => Some((p.value as u64, p.reverse, p.need_rd_protect)),
                None => crate::state::custom_purpose_value(
                    self.table().custom_key_purpose_bits,
                    &g.purpose,
                )
                .map(|v| (u64::from(v), false, false)),
            };
            let Some((purpose_value, reversed, need_rd_protect)) = resolved else {
                // espefuse's click.Choice refuses unknown purposes before anything runs
                let allowed: Vec<String> = self
                    .table()
                    .key_purposes
                    .iter()
                    .map(|p| p.purpose.to_string())
                    .collect();
                return Err(EfuseError::BadValue(format!(
                    "invalid key purpose '{}' (choose from {})",
                    g.purpose,
                    allowed.join(", ")
                )));
            };
            let mut data = zeroize::Zeroizing::new(g.data.clone());
            if reversed {
                data.reverse();
            }
            self.say_pub(format!(
                " - {} -> [{}]",
                bdef.name,
                self.shown_key(&data, opts.show_sensitive_info)
            ));
            if reversed {
                // ESP32-H2 names the purpose (esp32h2/operations.py), the others say AES-XTS
                if self.chip() == Chip::Esp32h2 {
                    self.say_pub(format!(
                        "\tReversing byte order for {} hardware peripheral...",
                        g.purpose
                    ));
                } else {
                    self.say_pub("\tReversing byte order for AES-XTS hardware peripheral...");
                }
            }
            if data.len() != num_bytes {
                return Err(EfuseError::refused(format!(
                    "Incorrect key file size {}. Key file must be {num_bytes} bytes ({} bits) of raw binary key data.",
                    data.len(),
                    num_bytes * 8
                )));
            }
            let read_protect = need_rd_protect && !opts.no_read_protect;
            let write_protect = !opts.no_write_protect;
            self.stage(efuse, Bits::from_bytes(&data))?;
            let cur = self.get(kp).to_string();
            let protect_purpose;
            if cur != g.purpose {
                if self.is_writeable(kp) {
                    self.say_pub(format!("\t'{kp_name}': '{cur}' -> '{}'.", g.purpose));
                    let len = self.def(kp).bit_len as usize;
                    let v = Bits::from_u64(len, purpose_value).unwrap_or_else(|| Bits::zeros(len));
                    self.stage(kp, v)?;
                    protect_purpose = true;
                } else {
                    return Err(EfuseError::refused(format!(
                        "It is not possible to change '{kp_name}' to '{}' because write protection bit is set.",
                        g.purpose
                    )));
                }
            } else {
                self.say_pub(format!("\t'{kp_name}' is already '{}'.", g.purpose));
                protect_purpose = self.is_writeable(kp);
            }
            if protect_purpose {
                self.say_pub(format!("\tDisabling write to '{kp_name}'..."));
                self.disable_write(kp)?;
            }
            if read_protect {
                self.say_pub("\tDisabling read to key block...");
                self.disable_read(efuse)?;
            }
            if write_protect {
                self.say_pub("\tDisabling write to key block...");
                self.disable_write(efuse)?;
            }
            self.say_pub("");
        }
        if opts.no_write_protect {
            self.say_pub("Keys will remain writeable (due to --no-write-protect).");
        }
        if opts.no_read_protect {
            self.say_pub("Keys will remain readable (due to --no-read-protect).");
        }
        Ok(())
    }

    fn key_block_names(&self) -> Vec<&'static str> {
        self.table()
            .blocks
            .iter()
            .filter(|b| b.key_purpose.is_some())
            .map(|b| b.name)
            .collect()
    }

    /// `XTS_AES_256_KEY`: the first 32 bytes go to the given block, the last 32
    /// to the next free key block (`_split_multiblock_key`).
    fn split_xts_256(&self, groups: &[KeyGroup]) -> Result<Vec<KeyGroup>, EfuseError> {
        let mut out: Vec<KeyGroup> = groups.to_vec();
        let Some(i) = out.iter().position(|g| g.purpose == "XTS_AES_256_KEY") else {
            return Ok(out);
        };
        if self.table().purpose_by_name("XTS_AES_256_KEY_1").is_none() {
            return Err(EfuseError::BadValue(format!(
                "invalid key purpose 'XTS_AES_256_KEY' for {} (no AES-256 flash encryption)",
                self.chip()
            )));
        }
        let block = self.block(&out[i].block)?;
        if out[i].data.len() != 64 {
            return Err(EfuseError::refused(format!(
                "Incorrect key file size {}, XTS_AES_256_KEY should be 64 bytes",
                out[i].data.len()
            )));
        }
        let key_blocks: Vec<usize> = self
            .table()
            .blocks
            .iter()
            .filter(|b| b.key_purpose.is_some())
            .map(|b| b.id as usize)
            .collect();
        let start = key_blocks.iter().position(|b| *b == block).ok_or_else(|| {
            EfuseError::BadValue(format!("block '{}' is not a key block", out[i].block))
        })?;
        let names: Vec<&str> = out.iter().map(|g| g.block.as_str()).collect();
        let second = key_blocks[start..]
            .iter()
            .chain(key_blocks[..start].iter())
            .copied()
            .filter(|b| {
                let d = &self.table().blocks[*b];
                !names.contains(&d.name)
            })
            .find(|b| self.key_block_is_unused(*b));
        let Some(second) = second else {
            return Err(EfuseError::refused(
                "XTS_AES_256_KEY requires two free keyblocks",
            ));
        };
        let data = out[i].data.clone();
        out[i].purpose = "XTS_AES_256_KEY_1".into();
        out[i].data = data[..32].to_vec();
        out.insert(
            i + 1,
            KeyGroup {
                block: self.table().blocks[second].name.to_string(),
                data: data[32..].to_vec(),
                purpose: "XTS_AES_256_KEY_2".into(),
            },
        );
        Ok(out)
    }

    /// ESP32 `burn-key BLOCK FILE…`: reversed and read-protected only when the
    /// block is named `flash_encryption` / `secure_boot_v1` (esp32/operations.py).
    fn burn_key_esp32(&mut self, groups: &[KeyGroup], opts: KeyOptions) -> Result<(), EfuseError> {
        let names: Vec<String> = groups.iter().map(|g| g.block.clone()).collect();
        check_duplicates(&names)?;
        if !opts.show_sensitive_info {
            self.say_pub("Sensitive data will be hidden (see --show-sensitive-info)");
        }
        self.say_pub("Burn keys to blocks:");
        for g in groups {
            let block = self.block(&g.block)?;
            if block == 0 {
                return Err(EfuseError::BadValue(format!(
                    "'{}' is not a key block",
                    g.block
                )));
            }
            let bname = self.table().blocks[block].name;
            let efuse = self.field(bname)?;
            let mut num_bytes = self.def(efuse).bit_len as usize / 8;
            if self
                .field("CODING_SCHEME")
                .map(|i| self.raw(i))
                .unwrap_or(0)
                == 1
            {
                num_bytes = 24;
            }
            let mut data = zeroize::Zeroizing::new(g.data.clone());
            let alias_form = g.block == "flash_encryption" || g.block == "secure_boot_v1";
            if alias_form {
                data.reverse();
            }
            self.say_pub(format!(
                " - {bname} -> [{}]",
                self.shown_key(&data, opts.show_sensitive_info)
            ));
            if alias_form {
                self.say_pub("\tReversing the byte order...");
            }
            if data.len() != num_bytes {
                return Err(EfuseError::refused(format!(
                    "Incorrect key file size {}. Key file must be {num_bytes} bytes ({} bits) of raw binary key data.",
                    data.len(),
                    num_bytes * 8
                )));
            }
            self.stage(efuse, Bits::from_bytes(&data))?;
            if alias_form && !opts.no_write_protect {
                self.say_pub("\tDisabling read to key block...");
                self.disable_read(efuse)?;
            }
            if !opts.no_write_protect {
                self.say_pub("\tDisabling write to key block...");
                self.disable_write(efuse)?;
            }
            self.say_pub("");
        }
        if opts.no_write_protect {
            self.say_pub("Key is left unprotected as per --no-protect-key argument.");
            self.say_pub("Burn keys in eFuse blocks.\nThe key block will be left readable and writeable (due to --no-protect-key). \n");
        } else {
            self.say_pub("Burn keys in eFuse blocks.\nThe key block will be read and write protected (no further changes or readback). \n");
        }
        Ok(())
    }

    /// ESP32-C2 `burn-key BLOCK_KEY0 FILE PURPOSE [BLOCK_KEY0 FILE PURPOSE]`.
    fn burn_key_esp32c2(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
    ) -> Result<(), EfuseError> {
        let purposes: Vec<String> = groups.iter().map(|g| g.purpose.clone()).collect();
        check_duplicates(&purposes)?;
        for g in groups {
            if self.table().purpose_by_name(&g.purpose).is_none() || g.purpose == "USER" {
                return Err(EfuseError::BadValue(format!(
                    "invalid key purpose '{}' (choose from XTS_AES_128_KEY, XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS, SECURE_BOOT_DIGEST)",
                    g.purpose
                )));
            }
            if self.block(&g.block)? != 3 {
                return Err(EfuseError::BadValue(format!(
                    "invalid block '{}' (ESP32-C2 has one key block: BLOCK_KEY0)",
                    g.block
                )));
            }
        }
        if groups.len() > 2 {
            return Err(EfuseError::BadValue(
                "ESP32-C2 takes at most two key groups".into(),
            ));
        }
        if groups.len() == 2 {
            let permitted = [
                "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
                "SECURE_BOOT_DIGEST",
            ];
            let mut incompatible = purposes.iter().any(|p| p == "XTS_AES_128_KEY");
            incompatible |= permitted.contains(&purposes[0].as_str())
                && !permitted.contains(&purposes[1].as_str());
            if incompatible {
                return Err(EfuseError::refused(format!(
                    "These keypurposes are incompatible [{}]",
                    purposes
                        .iter()
                        .map(|p| format!("'{p}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if !opts.show_sensitive_info {
            self.say_pub("Sensitive data will be hidden (see --show-sensitive-info)");
        }
        self.say_pub("Burn keys to blocks:");
        for g in groups {
            let mut data = zeroize::Zeroizing::new(g.data.clone());
            let efuse_name = match g.purpose.as_str() {
                "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS" => "BLOCK_KEY0_LOW_128",
                "SECURE_BOOT_DIGEST" => {
                    if data.len() == 32 {
                        self.say_pub("\tProgramming only left-most 128-bits from SHA256 hash of public key to highest 128-bits of BLOCK KEY0");
                        data.truncate(16);
                    } else if data.len() != 16 {
                        return Err(EfuseError::refused(format!(
                            "Wrong length of this file for SECURE_BOOT_DIGEST. Got {} (expected 32 or 16)",
                            data.len()
                        )));
                    }
                    "BLOCK_KEY0_HI_128"
                }
                _ => "BLOCK_KEY0",
            };
            let efuse = self.field(efuse_name)?;
            let num_bytes = self.def(efuse).bit_len as usize / 8;
            let xts = g.purpose.starts_with("XTS_AES_");
            if xts {
                data.reverse();
            }
            self.say_pub(format!(
                " - {efuse_name} -> [{}]",
                self.shown_key(&data, opts.show_sensitive_info)
            ));
            if xts {
                self.say_pub("\tReversing byte order for AES-XTS hardware peripheral...");
            }
            if data.len() != num_bytes {
                return Err(EfuseError::refused(format!(
                    "Incorrect key file size {}. Key file must be {num_bytes} bytes ({} bits) of raw binary key data.",
                    data.len(),
                    num_bytes * 8
                )));
            }
            self.stage(efuse, Bits::from_bytes(&data))?;
            if g.purpose == "XTS_AES_128_KEY" {
                let f = self.field("XTS_KEY_LENGTH_256")?;
                if self.raw(f) != 0 {
                    self.say_pub("\t'XTS_KEY_LENGTH_256' is already '1'");
                } else {
                    self.say_pub("\tXTS_KEY_LENGTH_256 -> 1");
                    self.stage(f, Bits::from_u64(1, 1).unwrap_or_else(|| Bits::zeros(1)))?;
                }
            }
            if xts && !opts.no_read_protect {
                self.say_pub("\tDisabling read to key block...");
                self.disable_read(efuse)?;
            }
            if !opts.no_write_protect {
                self.say_pub("\tDisabling write to key block...");
                self.disable_write(efuse)?;
            }
            self.say_pub("");
        }
        if opts.no_write_protect {
            self.say_pub("Keys will remain writeable (due to --no-write-protect).");
        }
        if opts.no_read_protect {
            self.say_pub("Keys will remain readable (due to --no-read-protect).");
        }
        Ok(())
    }

    /// `burn-key-digest` with an already computed Secure Boot V2 public-key
    /// digest. Generic chips: `groups` carry digests and DIGEST purposes.
    pub fn burn_key_digest(
        &mut self,
        groups: &[KeyGroup],
        opts: KeyOptions,
    ) -> Result<(), EfuseError> {
        match self.chip() {
            Chip::Esp32 => {
                let Some(g) = groups.first() else {
                    return Err(EfuseError::BadValue(
                        "burn-key-digest needs a key file".into(),
                    ));
                };
                if self
                    .field("CODING_SCHEME")
                    .map(|i| self.raw(i))
                    .unwrap_or(0)
                    == 1
                {
                    return Err(EfuseError::refused(
                        "burn-key-digest only works with 'None' coding scheme",
                    ));
                }
                let rev = self.chip_revision();
                if rev < 300 {
                    return Err(EfuseError::refused(format!(
                        "Incorrect chip revision for Secure boot v2. Detected: v{}.{}. Expected: >= v3.0",
                        rev / 100,
                        rev % 100
                    )));
                }
                let efuse = self.field("BLOCK2")?;
                if !opts.show_sensitive_info {
                    self.say_pub("Sensitive data will be hidden (see --show-sensitive-info)");
                }
                self.say_pub(format!(
                    " - BLOCK2 -> [{}]",
                    self.shown_key(&g.data, opts.show_sensitive_info)
                ));
                self.stage(efuse, Bits::from_bytes(&g.data))?;
                if !opts.no_write_protect {
                    self.say_pub("Disabling write to eFuse BLOCK2...");
                    self.disable_write(efuse)?;
                }
                Ok(())
            }
            Chip::Esp32c2 => {
                // only the first 16 digest bytes fit BLOCK_KEY0_HI_128 (esp32c2/operations.py)
                let cut: Vec<KeyGroup> = groups
                    .iter()
                    .map(|g| KeyGroup {
                        block: g.block.clone(),
                        data: g.data.get(..16).unwrap_or(&g.data).to_vec(),
                        purpose: g.purpose.clone(),
                    })
                    .collect();
                self.burn_key_esp32c2(&cut, opts)
            }
            _ => {
                for g in groups {
                    let p = self.table().purpose_by_name(&g.purpose);
                    let custom_digest = g.purpose.starts_with("CUSTOM_DIGEST_")
                        && crate::state::custom_purpose_value(
                            self.table().custom_key_purpose_bits,
                            &g.purpose,
                        )
                        .is_some();
                    if !p.is_some_and(|p| p.digest) && !custom_digest {
                        let allowed: Vec<String> = self
                            .table()
                            .key_purposes
                            .iter()
                            .filter(|p| p.digest)
                            .map(|p| p.purpose.to_string())
                            .collect();
                        return Err(EfuseError::BadValue(format!(
                            "invalid key purpose '{}' for burn-key-digest (choose from {})",
                            g.purpose,
                            allowed.join(", ")
                        )));
                    }
                }
                self.burn_key(
                    groups,
                    KeyOptions {
                        no_read_protect: opts.no_read_protect,
                        ..opts
                    },
                )
            }
        }
    }

    /// `burn-bit BLOCK BIT…`.
    pub fn burn_bit(&mut self, block: &str, bits: &[u64]) -> Result<(), EfuseError> {
        let b = self.block(block)?;
        let words = self.block_len_words(b);
        let len = words * 32;
        let mut data = vec![0u32; words];
        for bit in bits {
            let bit = usize::try_from(*bit)
                .ok()
                .filter(|v| *v < len)
                .ok_or_else(|| {
                    EfuseError::refused(format!("{block} has bit_number in [0..{}]", len - 1))
                })?;
            data[bit / 32] |= 1 << (bit % 32);
        }
        let def = &self.table().blocks[b];
        let hex: String = data.iter().rev().map(|w| format!("{w:08x}")).collect();
        self.say_pub(format!(
            "bit_number:   [{:03}]........................................................[0]",
            len - 1
        ));
        self.say_pub(format!("BLOCK{:>2}   : 0x{hex}", def.id));
        let alias: String = def.aliases.join(" ").chars().take(16).collect();
        self.say_pub(format!(
            "{:<15} ({alias:<16}) [{:<2}] regs_to_write: {}",
            def.name,
            def.id,
            data.iter()
                .map(|w| format!("{w:08x}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.stage_block_bytes(b, &bytes);
        Ok(())
    }

    /// `burn-block-data BLOCK FILE … [--offset N]` (no byte reversal).
    pub fn burn_block_data(
        &mut self,
        items: &[(String, Vec<u8>)],
        offset: usize,
    ) -> Result<(), EfuseError> {
        let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
        check_duplicates(&names)?;
        if offset > 0 && items.len() > 1 {
            return Err(EfuseError::refused(
                "The 'offset' option is not applicable when a few blocks are passed. With 'offset', should only one block be used.",
            ));
        }
        for (name, data) in items {
            let b = self.block(name)?;
            let size = self.block_len_words(b) * 4;
            if offset > 0 && offset >= size {
                return Err(EfuseError::refused(format!(
                    "Invalid offset: the block{b} only holds {size} bytes."
                )));
            }
            let mut buf = data.clone();
            if offset > 0 {
                let mut v = vec![0u8; offset];
                v.extend_from_slice(data);
                if v.len() < size {
                    v.resize(size, 0);
                }
                buf = v;
            }
            if buf.len() != size {
                return Err(EfuseError::refused(format!(
                    "Data does not fit: the block{b} size is {size} bytes, data file is {} bytes, offset {offset}.",
                    buf.len()
                )));
            }
            self.say_pub(format!(
                "[{b:02}] {:<20} size={:02} bytes, offset={:02} -> [{}]",
                self.table().blocks[b].name,
                buf.len(),
                offset,
                hexify(&buf, " ")
            ));
            self.stage_block_bytes(b, &buf);
        }
        Ok(())
    }

    /// Whether a field is a key block (shown with its purpose).
    pub fn is_key_block(&self, id: FieldId) -> bool {
        self.def(id).class == FieldClass::KeyBlock
    }
}
