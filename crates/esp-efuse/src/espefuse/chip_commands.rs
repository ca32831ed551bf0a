//! espefuse's MAC, ADC and flash-voltage commands (`get-custom-mac`,
//! `burn-custom-mac`, `adc-info`, `set-flash-voltage`; espefuse 5.6.0
//! `efuse/base_operations.py` and `efuse/<chip>/operations.py`), over the
//! one field table: what each prints and stages.

use super::transcript::{Console, Failed, Transcript};
use crate::bits::Bits;
use crate::error::EfuseError;
use crate::model::fields::esp32_mac_crc;
use crate::model::{Efuses, ForceWrite};
use crate::tables::{Chip, Field};

/// `burn-custom-mac`'s argument (click's `CustomMACType`, which runs
/// `CheckArgValue(efuses, "CUSTOM_MAC")`): six colon-separated hex bytes of
/// a unicast address, in the order written.
pub fn custom_mac(efuses: &Efuses, text: &str) -> Result<[u8; 6], EfuseError> {
    // the field must exist on the chip, as espefuse's lookup requires
    efuses.def(Field::CustomMac)?;
    let bytes = super::values::parse_mac(text)?;
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&bytes);
    Ok(mac)
}

/// `get-custom-mac`. The ESP32 keeps a version byte with its custom MAC
/// (esp32/operations.py `get_custom_mac`); the other chips print the field
/// with its block's coding check (base_operations.py).
pub fn get_custom_mac(efuses: &Efuses) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            let mac = efuses.get(Field::CustomMac)?;
            if efuses.chip() == Chip::Esp32 {
                let version = efuses.raw(Field::MacVersion)?;
                if version > 0 {
                    out.say(format!("Custom MAC Address version {version}: {mac}"));
                } else {
                    out.say("Custom MAC Address is not set in the device.");
                }
            } else {
                out.say(format!("Custom MAC Address: {mac}"));
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// `burn-custom-mac MAC`: stages CUSTOM_MAC with what goes along with it on
/// the chip. ESP32 (esp32/fields.py `EfuseMacField.save`): MAC_VERSION 1
/// (refused when it holds another version, unless forced) and
/// CUSTOM_MAC_CRC, the ROM's CRC-8 of the address; ESP32-C2
/// (esp32c2/operations.py): CUSTOM_MAC_USED; the others the field alone.
/// After the burn, [`get_custom_mac`] prints the result.
pub fn burn_custom_mac(
    efuses: &mut Efuses,
    mac: &[u8; 6],
    force: ForceWrite,
) -> Result<Transcript, Failed> {
    let chip = efuses.chip();
    Console::new(chip)
        .run(|out| {
            save_custom_mac(efuses, mac, force, out)?;
            if chip == Chip::Esp32c2 {
                let i = efuses.index(Field::CustomMacUsed)?;
                efuses.stage_at(i, bits(1, 1), force, out)?;
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// CUSTOM_MAC's `save` (what `burn-efuse CUSTOM_MAC` runs too): it prints
/// the field (base_fields.py `EfuseMacFieldBase.save`); the ESP32's also
/// sets MAC_VERSION and the CRC (esp32/fields.py `EfuseMacField.save`).
pub(super) fn save_custom_mac(
    efuses: &mut Efuses,
    mac: &[u8],
    force: ForceWrite,
    out: &mut Console,
) -> Result<(), EfuseError> {
    // `print_field`: the field's bits as read -> the new value
    let line = |efuses: &Efuses, field: Field, new: String| -> Result<String, EfuseError> {
        let i = efuses.index(field)?;
        let f = efuses.def_at(i);
        Ok(format!(
            "    - '{}' ({}) {} -> {new}",
            f.name(),
            f.description,
            efuses.field_bits_at(i, true).python_str()
        ))
    };
    let stage = |efuses: &mut Efuses, field: Field, bits: Bits, out: &mut Console| {
        let i = efuses.index(field)?;
        efuses.stage_at(i, bits, force, out)
    };
    let new = Bits::from_bytes(mac);
    if efuses.chip() == Chip::Esp32 {
        let version = efuses.raw(Field::MacVersion)?;
        if version == 0 {
            out.say(line(efuses, Field::MacVersion, "0x1".to_string())?);
            stage(efuses, Field::MacVersion, bits(8, 1), out)?;
        } else if version != 1 && force != ForceWrite::On {
            return Err(EfuseError::MacVersion { version });
        }
        out.say(line(efuses, Field::CustomMac, new.python_str())?);
        stage(efuses, Field::CustomMac, new, out)?;
        let crc = esp32_mac_crc(mac);
        out.say(line(efuses, Field::CustomMacCrc, format!("{crc:#x}"))?);
        stage(efuses, Field::CustomMacCrc, bits(8, u64::from(crc)), out)?;
    } else {
        out.say(line(efuses, Field::CustomMac, new.python_str())?);
        stage(efuses, Field::CustomMac, new, out)?;
    }
    Ok(())
}

fn bits(len: usize, value: u64) -> Bits {
    Bits::from_u64(len, value).unwrap_or_else(|| Bits::zeros(len))
}

/// `set-flash-voltage`'s choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashVoltage {
    /// `1.8V`.
    V1_8,
    /// `3.3V`.
    V3_3,
    /// `OFF`: the flash is powered from outside.
    Off,
}

impl FlashVoltage {
    /// The choices as espefuse spells them (its click.Choice).
    pub const NAMES: [&'static str; 3] = ["1.8V", "3.3V", "OFF"];

    /// The choice spelled `name`.
    pub fn from_name(name: &str) -> Option<FlashVoltage> {
        match name {
            "1.8V" => Some(FlashVoltage::V1_8),
            "3.3V" => Some(FlashVoltage::V3_3),
            "OFF" => Some(FlashVoltage::Off),
            _ => None,
        }
    }
}

/// The internal flash regulator's eFuses (force, enable, 3.3V) and the
/// regulator's name: esp32/operations.py (`XPD_SDIO_*`, VDD_SDIO) and
/// esp32s2/esp32s3 operations.py (`VDD_SPI_*`, VDD_SPI). The other chips
/// have no `set-flash-voltage`.
fn flash_regulator(chip: Chip) -> Option<([Field; 3], &'static str)> {
    match chip {
        Chip::Esp32 => Some((
            [Field::XpdSdioForce, Field::XpdSdioReg, Field::XpdSdioTieh],
            "VDD_SDIO",
        )),
        Chip::Esp32s2 | Chip::Esp32s3 => Some((
            [Field::VddSpiForce, Field::VddSpiXpd, Field::VddSpiTieh],
            "VDD_SPI",
        )),
        _ => None,
    }
}

/// Whether `chip`'s espefuse has `set-flash-voltage`.
pub fn has_set_flash_voltage(chip: Chip) -> bool {
    flash_regulator(chip).is_some()
}

/// `set-flash-voltage VOLTAGE`: stages the regulator eFuses with espefuse's
/// checks and messages; `force_write` is the chain's `--force-write-always`
/// (see [`super::burn_efuse`]).
pub fn set_flash_voltage(
    efuses: &mut Efuses,
    voltage: FlashVoltage,
    force_write: ForceWrite,
) -> Result<Transcript, Failed> {
    let chip = efuses.chip();
    Console::new(chip)
        .run(|out| {
            let Some(([force, reg, tieh], vdd)) = flash_regulator(chip) else {
                return Err(EfuseError::NotOnChip {
                    field: Field::XpdSdioForce,
                    chip,
                });
            };
            // the ESP32's sentences end with a full stop, the S2/S3's not
            let stop = if chip == Chip::Esp32 { "." } else { "" };
            let tieh_burned = efuses.raw(tieh)? != 0;
            if voltage == FlashVoltage::Off && efuses.raw(reg)? != 0 {
                return Err(EfuseError::FlashVoltageBlocked {
                    chip,
                    off: true,
                    field: reg,
                });
            }
            if voltage == FlashVoltage::V1_8 && tieh_burned {
                return Err(EfuseError::FlashVoltageBlocked {
                    chip,
                    off: false,
                    field: tieh,
                });
            }
            out.say(match voltage {
                // "regulator" and "to …" run together: espefuse's own text
                FlashVoltage::Off => format!(
                    "Disable internal flash voltage regulator ({vdd}). SPI flash will need to be powered from an external source.\nThe following eFuse is burned: {force}.\nIt is possible to later re-enable the internal regulator{}by burning an additional eFuse{stop}",
                    if tieh_burned { "to 3.3V" } else { "to 1.8V or 3.3V" }
                ),
                FlashVoltage::V1_8 => format!(
                    "Set internal flash voltage regulator ({vdd}) to 1.8V.\nThe following eFuses are burned: {force}, {reg}.\nIt is possible to later increase the voltage to 3.3V (permanently) by burning additional eFuse {tieh}{stop}"
                ),
                FlashVoltage::V3_3 => format!(
                    "Enable internal flash voltage regulator ({vdd}) to 3.3V.\nThe following eFuses are burned: {force}, {reg}, {tieh}."
                ),
            });
            let mut set = |field: Field, out: &mut Console| {
                let i = efuses.index(field)?;
                efuses.stage_at(i, bits(1, 1), force_write, out)
            };
            set(force, out)?;
            if voltage != FlashVoltage::Off {
                set(reg, out)?;
            }
            if voltage == FlashVoltage::V3_3 {
                set(tieh, out)?;
            }
            out.say(format!("{vdd} setting complete."));
            Ok(())
        })
        .map(|((), t)| t)
}

/// One `adc-info` line: text before the field's value, the field (`None`:
/// a heading line), text after.
type AdcRow = (&'static str, Option<Field>, &'static str);

/// `log.print("NAME = ", value)`: print's separator adds a second space.
macro_rules! rows {
    ($($label:literal $(=> $field:ident)?),* $(,)?) => {
        &[$(($label, rows!(@field $($field)?), "")),*]
    };
    (@field $field:ident) => { Some(Field::$field) };
    (@field) => { None };
}

const TEMP: AdcRow = (
    "Temperature Sensor Calibration = ",
    Some(Field::TempCalib),
    "C",
);

/// The calibration rows of `adc-info` per chip, after the block version
/// (`adc_info` in efuse/<chip>/operations.py).
fn adc_rows(chip: Chip) -> Vec<AdcRow> {
    let mut rows = vec![TEMP];
    let rest: &[AdcRow] = match chip {
        Chip::Esp32s2 => {
            rows.push(("TADC_CALIB          = ", Some(Field::AdcCalib), "C"));
            rows!(
                    "RTCCALIB_V1IDX_A10H =  " => RtccalibV1idxA10h,
                    "RTCCALIB_V1IDX_A11H =  " => RtccalibV1idxA11h,
                    "RTCCALIB_V1IDX_A12H =  " => RtccalibV1idxA12h,
                    "RTCCALIB_V1IDX_A13H =  " => RtccalibV1idxA13h,
                    "RTCCALIB_V1IDX_A20H =  " => RtccalibV1idxA20h,
                    "RTCCALIB_V1IDX_A21H =  " => RtccalibV1idxA21h,
                    "RTCCALIB_V1IDX_A22H =  " => RtccalibV1idxA22h,
                    "RTCCALIB_V1IDX_A23H =  " => RtccalibV1idxA23h,
                    "RTCCALIB_V1IDX_A10L =  " => RtccalibV1idxA10l,
                    "RTCCALIB_V1IDX_A11L =  " => RtccalibV1idxA11l,
                    "RTCCALIB_V1IDX_A12L =  " => RtccalibV1idxA12l,
                    "RTCCALIB_V1IDX_A13L =  " => RtccalibV1idxA13l,
                    "RTCCALIB_V1IDX_A20L =  " => RtccalibV1idxA20l,
                    "RTCCALIB_V1IDX_A21L =  " => RtccalibV1idxA21l,
                    "RTCCALIB_V1IDX_A22L =  " => RtccalibV1idxA22l,
                    "RTCCALIB_V1IDX_A23L =  " => RtccalibV1idxA23l,
            )
        }
        Chip::Esp32s3 => rows!(
            "ADC OCode        =  " => Ocode,
            "ADC1:",
            "INIT_CODE_ATTEN0 =  " => Adc1InitCodeAtten0,
            "INIT_CODE_ATTEN1 =  " => Adc1InitCodeAtten1,
            "INIT_CODE_ATTEN2 =  " => Adc1InitCodeAtten2,
            "INIT_CODE_ATTEN3 =  " => Adc1InitCodeAtten3,
            "CAL_VOL_ATTEN0   =  " => Adc1CalVolAtten0,
            "CAL_VOL_ATTEN1   =  " => Adc1CalVolAtten1,
            "CAL_VOL_ATTEN2   =  " => Adc1CalVolAtten2,
            "CAL_VOL_ATTEN3   =  " => Adc1CalVolAtten3,
            "ADC2:",
            "INIT_CODE_ATTEN0 =  " => Adc2InitCodeAtten0,
            "INIT_CODE_ATTEN1 =  " => Adc2InitCodeAtten1,
            "INIT_CODE_ATTEN2 =  " => Adc2InitCodeAtten2,
            "INIT_CODE_ATTEN3 =  " => Adc2InitCodeAtten3,
            "CAL_VOL_ATTEN0   =  " => Adc2CalVolAtten0,
            "CAL_VOL_ATTEN1   =  " => Adc2CalVolAtten1,
            "CAL_VOL_ATTEN2   =  " => Adc2CalVolAtten2,
        ),
        Chip::Esp32c2 => rows!(
            "ADC OCode        =  " => Ocode,
            "ADC1:",
            "INIT_CODE_ATTEN0 =  " => Adc1InitCodeAtten0,
            "INIT_CODE_ATTEN3 =  " => Adc1InitCodeAtten3,
            "CAL_VOL_ATTEN0   =  " => Adc1CalVolAtten0,
            "CAL_VOL_ATTEN3   =  " => Adc1CalVolAtten3,
        ),
        Chip::Esp32c3 => rows!(
            "ADC OCode        =  " => Ocode,
            "ADC1:",
            "INIT_CODE_ATTEN0 =  " => Adc1InitCodeAtten0,
            "INIT_CODE_ATTEN1 =  " => Adc1InitCodeAtten1,
            "INIT_CODE_ATTEN2 =  " => Adc1InitCodeAtten2,
            "INIT_CODE_ATTEN3 =  " => Adc1InitCodeAtten3,
            "CAL_VOL_ATTEN0   =  " => Adc1CalVolAtten0,
            "CAL_VOL_ATTEN1   =  " => Adc1CalVolAtten1,
            "CAL_VOL_ATTEN2   =  " => Adc1CalVolAtten2,
            "CAL_VOL_ATTEN3   =  " => Adc1CalVolAtten3,
        ),
        Chip::Esp32c6 => rows!(
            "ADC OCode             =  " => Ocode,
            "ADC1:",
            "INIT_CODE_ATTEN0     =  " => Adc1InitCodeAtten0,
            "INIT_CODE_ATTEN1     =  " => Adc1InitCodeAtten1,
            "INIT_CODE_ATTEN2     =  " => Adc1InitCodeAtten2,
            "INIT_CODE_ATTEN3     =  " => Adc1InitCodeAtten3,
            "CAL_VOL_ATTEN0       =  " => Adc1CalVolAtten0,
            "CAL_VOL_ATTEN1       =  " => Adc1CalVolAtten1,
            "CAL_VOL_ATTEN2       =  " => Adc1CalVolAtten2,
            "CAL_VOL_ATTEN3       =  " => Adc1CalVolAtten3,
            "INIT_CODE_ATTEN0_CH0 =  " => Adc1InitCodeAtten0Ch0,
            "INIT_CODE_ATTEN0_CH1 =  " => Adc1InitCodeAtten0Ch1,
            "INIT_CODE_ATTEN0_CH2 =  " => Adc1InitCodeAtten0Ch2,
            "INIT_CODE_ATTEN0_CH3 =  " => Adc1InitCodeAtten0Ch3,
            "INIT_CODE_ATTEN0_CH4 =  " => Adc1InitCodeAtten0Ch4,
            "INIT_CODE_ATTEN0_CH5 =  " => Adc1InitCodeAtten0Ch5,
            "INIT_CODE_ATTEN0_CH6 =  " => Adc1InitCodeAtten0Ch6,
        ),
        Chip::Esp32h2 => rows!(
            "",
            "ADC1:",
            "AVE_INITCODE_ATTEN0      =  " => Adc1AveInitcodeAtten0,
            "AVE_INITCODE_ATTEN1      =  " => Adc1AveInitcodeAtten1,
            "AVE_INITCODE_ATTEN2      =  " => Adc1AveInitcodeAtten2,
            "AVE_INITCODE_ATTEN3      =  " => Adc1AveInitcodeAtten3,
            "HI_DOUT_ATTEN0           =  " => Adc1HiDoutAtten0,
            "HI_DOUT_ATTEN1           =  " => Adc1HiDoutAtten1,
            "HI_DOUT_ATTEN2           =  " => Adc1HiDoutAtten2,
            "HI_DOUT_ATTEN3           =  " => Adc1HiDoutAtten3,
            "CH0_ATTEN0_INITCODE_DIFF =  " => Adc1Ch0Atten0InitcodeDiff,
            "CH1_ATTEN0_INITCODE_DIFF =  " => Adc1Ch1Atten0InitcodeDiff,
            "CH2_ATTEN0_INITCODE_DIFF =  " => Adc1Ch2Atten0InitcodeDiff,
            "CH3_ATTEN0_INITCODE_DIFF =  " => Adc1Ch3Atten0InitcodeDiff,
            "CH4_ATTEN0_INITCODE_DIFF =  " => Adc1Ch4Atten0InitcodeDiff,
        ),
        _ => &[],
    };
    rows.extend_from_slice(rest);
    rows
}

/// `adc-info`: the ADC calibration data as espefuse prints it from the
/// eFuse fields. ESP32: the ADC reference voltage and, when BLOCK3 holds
/// them, the two-point readings; the other chips: the block version
/// (`BLK_VERSION_MAJOR` * 100 + `BLK_VERSION_MINOR`) and, from the version
/// the chip's calibration format starts at, the calibration fields.
pub fn adc_info(efuses: &Efuses) -> Result<Transcript, Failed> {
    let chip = efuses.chip();
    Console::new(chip)
        .run(|out| {
            if chip == Chip::Esp32 {
                if efuses.raw(Field::AdcVref)? == 0 {
                    out.say("ADC VRef calibration: None (1100mV nominal)");
                } else {
                    out.say(format!(
                        "ADC VRef calibration: {}mV",
                        efuses.get(Field::AdcVref)?
                    ));
                }
                if efuses.raw(Field::Blk3PartReserve)? != 0 {
                    out.say("ADC readings stored in eFuse BLOCK3:");
                    for (label, field) in [
                        ("ADC1 Low reading  (150mV)", Field::Adc1TpLow),
                        ("ADC1 High reading (850mV)", Field::Adc1TpHigh),
                        ("ADC2 Low reading  (150mV)", Field::Adc2TpLow),
                        ("ADC2 High reading (850mV)", Field::Adc2TpHigh),
                    ] {
                        out.say(format!("    {label}: {}", efuses.get(field)?));
                    }
                }
                return Ok(());
            }
            // esp32s3/operations.py prints an empty line first
            if chip == Chip::Esp32s3 {
                out.say("");
            }
            let version = efuses.block_version();
            out.say(format!("Block version: {version}"));
            // the rows are the calibration group's, printed when espefuse lists it
            if efuses.calibration_listed() {
                for (label, field, unit) in adc_rows(chip) {
                    match field {
                        Some(field) => out.say(format!("{label}{}{unit}", efuses.get(field)?)),
                        None => out.say(label),
                    }
                }
            }
            Ok(())
        })
        .map(|((), t)| t)
}
