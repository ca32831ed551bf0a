// @generated from espefuse 5.6.0 by scripts/gen-efuse-tables -- do not edit.
// Source: espefuse/efuse_defs/<chip>.yaml and espefuse/efuse/<chip>/{mem_definition,fields}.py,
// as loaded by espefuse itself in --virt mode; controller registers observed in its emulator.

/// Every eFuse field espefuse knows on the supported chips, by its
/// canonical name. A field exists on the chips listed in its
/// documentation; [`crate::Efuses`] refuses the others with
/// [`crate::EfuseError::NotOnChip`]. Command-line names (and
/// espefuse's alternative names) become a `Field` through
/// [`crate::espefuse::field`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `WR_DIS` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    WrDis,
    /// `RD_DIS` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    RdDis,
    /// `FLASH_CRYPT_CNT` (esp32)
    FlashCryptCnt,
    /// `UART_DOWNLOAD_DIS` (esp32)
    UartDownloadDis,
    /// `MAC` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    Mac,
    /// `MAC_CRC` (esp32)
    MacCrc,
    /// `DISABLE_APP_CPU` (esp32)
    DisableAppCpu,
    /// `DISABLE_BT` (esp32)
    DisableBt,
    /// `CHIP_PACKAGE_4BIT` (esp32)
    ChipPackage4bit,
    /// `DIS_CACHE` (esp32)
    DisCache,
    /// `SPI_PAD_CONFIG_HD` (esp32, esp32s2, esp32s3, esp32c3)
    SpiPadConfigHd,
    /// `CHIP_PACKAGE` (esp32)
    ChipPackage,
    /// `CHIP_CPU_FREQ_LOW` (esp32)
    ChipCpuFreqLow,
    /// `CHIP_CPU_FREQ_RATED` (esp32)
    ChipCpuFreqRated,
    /// `BLK3_PART_RESERVE` (esp32)
    Blk3PartReserve,
    /// `CHIP_VER_REV1` (esp32)
    ChipVerRev1,
    /// `CLK8M_FREQ` (esp32)
    Clk8mFreq,
    /// `ADC_VREF` (esp32)
    AdcVref,
    /// `XPD_SDIO_REG` (esp32)
    XpdSdioReg,
    /// `XPD_SDIO_TIEH` (esp32)
    XpdSdioTieh,
    /// `XPD_SDIO_FORCE` (esp32)
    XpdSdioForce,
    /// `SPI_PAD_CONFIG_CLK` (esp32, esp32s2, esp32s3, esp32c3)
    SpiPadConfigClk,
    /// `SPI_PAD_CONFIG_Q` (esp32, esp32s2, esp32s3, esp32c3)
    SpiPadConfigQ,
    /// `SPI_PAD_CONFIG_D` (esp32, esp32s2, esp32s3, esp32c3)
    SpiPadConfigD,
    /// `SPI_PAD_CONFIG_CS0` (esp32)
    SpiPadConfigCs0,
    /// `CHIP_VER_REV2` (esp32)
    ChipVerRev2,
    /// `VOL_LEVEL_HP_INV` (esp32)
    VolLevelHpInv,
    /// `WAFER_VERSION_MINOR` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    WaferVersionMinor,
    /// `FLASH_CRYPT_CONFIG` (esp32)
    FlashCryptConfig,
    /// `CODING_SCHEME` (esp32)
    CodingScheme,
    /// `CONSOLE_DEBUG_DISABLE` (esp32)
    ConsoleDebugDisable,
    /// `DISABLE_SDIO_HOST` (esp32)
    DisableSdioHost,
    /// `ABS_DONE_0` (esp32)
    AbsDone0,
    /// `ABS_DONE_1` (esp32)
    AbsDone1,
    /// `JTAG_DISABLE` (esp32)
    JtagDisable,
    /// `DISABLE_DL_ENCRYPT` (esp32)
    DisableDlEncrypt,
    /// `DISABLE_DL_DECRYPT` (esp32)
    DisableDlDecrypt,
    /// `DISABLE_DL_CACHE` (esp32)
    DisableDlCache,
    /// `KEY_STATUS` (esp32)
    KeyStatus,
    /// `SECURE_VERSION` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    SecureVersion,
    /// `MAC_VERSION` (esp32)
    MacVersion,
    /// `BLOCK1` (esp32)
    Block1,
    /// `BLOCK2` (esp32)
    Block2,
    /// `BLOCK3` (esp32)
    Block3,
    /// `WAFER_VERSION_MAJOR` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    WaferVersionMajor,
    /// `PKG_VERSION` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    PkgVersion,
    /// `CUSTOM_MAC_CRC` (esp32)
    CustomMacCrc,
    /// `CUSTOM_MAC` (esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    CustomMac,
    /// `ADC1_TP_LOW` (esp32)
    Adc1TpLow,
    /// `ADC1_TP_HIGH` (esp32)
    Adc1TpHigh,
    /// `ADC2_TP_LOW` (esp32)
    Adc2TpLow,
    /// `ADC2_TP_HIGH` (esp32)
    Adc2TpHigh,
    /// `DIS_ICACHE` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    DisIcache,
    /// `DIS_DCACHE` (esp32s2, esp32s3)
    DisDcache,
    /// `DIS_DOWNLOAD_ICACHE` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6)
    DisDownloadIcache,
    /// `DIS_DOWNLOAD_DCACHE` (esp32s2, esp32s3)
    DisDownloadDcache,
    /// `DIS_FORCE_DOWNLOAD` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    DisForceDownload,
    /// `DIS_USB` (esp32s2)
    DisUsb,
    /// `DIS_TWAI` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    DisTwai,
    /// `DIS_BOOT_REMAP` (esp32s2)
    DisBootRemap,
    /// `SOFT_DIS_JTAG` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    SoftDisJtag,
    /// `HARD_DIS_JTAG` (esp32s2)
    HardDisJtag,
    /// `DIS_DOWNLOAD_MANUAL_ENCRYPT` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisDownloadManualEncrypt,
    /// `USB_EXCHG_PINS` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    UsbExchgPins,
    /// `USB_EXT_PHY_ENABLE` (esp32s2, esp32s3)
    UsbExtPhyEnable,
    /// `USB_FORCE_NOPERSIST` (esp32s2)
    UsbForceNopersist,
    /// `BLOCK0_VERSION` (esp32s2)
    Block0Version,
    /// `VDD_SPI_XPD` (esp32s2, esp32s3)
    VddSpiXpd,
    /// `VDD_SPI_TIEH` (esp32s2, esp32s3)
    VddSpiTieh,
    /// `VDD_SPI_FORCE` (esp32s2, esp32s3)
    VddSpiForce,
    /// `WDT_DELAY_SEL` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    WdtDelaySel,
    /// `SPI_BOOT_CRYPT_CNT` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    SpiBootCryptCnt,
    /// `SECURE_BOOT_KEY_REVOKE0` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    SecureBootKeyRevoke0,
    /// `SECURE_BOOT_KEY_REVOKE1` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    SecureBootKeyRevoke1,
    /// `SECURE_BOOT_KEY_REVOKE2` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    SecureBootKeyRevoke2,
    /// `KEY_PURPOSE_0` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose0,
    /// `KEY_PURPOSE_1` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose1,
    /// `KEY_PURPOSE_2` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose2,
    /// `KEY_PURPOSE_3` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose3,
    /// `KEY_PURPOSE_4` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose4,
    /// `KEY_PURPOSE_5` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    KeyPurpose5,
    /// `SECURE_BOOT_EN` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    SecureBootEn,
    /// `SECURE_BOOT_AGGRESSIVE_REVOKE` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    SecureBootAggressiveRevoke,
    /// `FLASH_TPUW` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    FlashTpuw,
    /// `DIS_DOWNLOAD_MODE` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisDownloadMode,
    /// `DIS_LEGACY_SPI_BOOT` (esp32s2)
    DisLegacySpiBoot,
    /// `UART_PRINT_CHANNEL` (esp32s2)
    UartPrintChannel,
    /// `DIS_USB_DOWNLOAD_MODE` (esp32s2)
    DisUsbDownloadMode,
    /// `ENABLE_SECURITY_DOWNLOAD` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    EnableSecurityDownload,
    /// `UART_PRINT_CONTROL` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    UartPrintControl,
    /// `PIN_POWER_SELECTION` (esp32s2, esp32s3)
    PinPowerSelection,
    /// `FLASH_TYPE` (esp32s2, esp32s3)
    FlashType,
    /// `FORCE_SEND_RESUME` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    ForceSendResume,
    /// `DISABLE_WAFER_VERSION_MAJOR` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisableWaferVersionMajor,
    /// `DISABLE_BLK_VERSION_MAJOR` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisableBlkVersionMajor,
    /// `SPI_PAD_CONFIG_CS` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigCs,
    /// `SPI_PAD_CONFIG_WP` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigWp,
    /// `SPI_PAD_CONFIG_DQS` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigDqs,
    /// `SPI_PAD_CONFIG_D4` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigD4,
    /// `SPI_PAD_CONFIG_D5` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigD5,
    /// `SPI_PAD_CONFIG_D6` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigD6,
    /// `SPI_PAD_CONFIG_D7` (esp32s2, esp32s3, esp32c3)
    SpiPadConfigD7,
    /// `WAFER_VERSION_MINOR_HI` (esp32s2, esp32s3, esp32c3)
    WaferVersionMinorHi,
    /// `FLASH_VERSION` (esp32s2)
    FlashVersion,
    /// `BLK_VERSION_MAJOR` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    BlkVersionMajor,
    /// `PSRAM_VERSION` (esp32s2)
    PsramVersion,
    /// `WAFER_VERSION_MINOR_LO` (esp32s2, esp32s3, esp32c3)
    WaferVersionMinorLo,
    /// `OPTIONAL_UNIQUE_ID` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    OptionalUniqueId,
    /// `BLK_VERSION_MINOR` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    BlkVersionMinor,
    /// `BLOCK_USR_DATA` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockUsrData,
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
    /// `BLOCK_SYS_DATA2` (esp32s2, esp32s3, esp32c3, esp32c6, esp32h2)
    BlockSysData2,
    /// `ADC_CALIB` (esp32s2)
    AdcCalib,
    /// `TEMP_CALIB` (esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    TempCalib,
    /// `RTCCALIB_V1IDX_A10H` (esp32s2)
    RtccalibV1idxA10h,
    /// `RTCCALIB_V1IDX_A11H` (esp32s2)
    RtccalibV1idxA11h,
    /// `RTCCALIB_V1IDX_A12H` (esp32s2)
    RtccalibV1idxA12h,
    /// `RTCCALIB_V1IDX_A13H` (esp32s2)
    RtccalibV1idxA13h,
    /// `RTCCALIB_V1IDX_A20H` (esp32s2)
    RtccalibV1idxA20h,
    /// `RTCCALIB_V1IDX_A21H` (esp32s2)
    RtccalibV1idxA21h,
    /// `RTCCALIB_V1IDX_A22H` (esp32s2)
    RtccalibV1idxA22h,
    /// `RTCCALIB_V1IDX_A23H` (esp32s2)
    RtccalibV1idxA23h,
    /// `RTCCALIB_V1IDX_A10L` (esp32s2)
    RtccalibV1idxA10l,
    /// `RTCCALIB_V1IDX_A11L` (esp32s2)
    RtccalibV1idxA11l,
    /// `RTCCALIB_V1IDX_A12L` (esp32s2)
    RtccalibV1idxA12l,
    /// `RTCCALIB_V1IDX_A13L` (esp32s2)
    RtccalibV1idxA13l,
    /// `RTCCALIB_V1IDX_A20L` (esp32s2)
    RtccalibV1idxA20l,
    /// `RTCCALIB_V1IDX_A21L` (esp32s2)
    RtccalibV1idxA21l,
    /// `RTCCALIB_V1IDX_A22L` (esp32s2)
    RtccalibV1idxA22l,
    /// `RTCCALIB_V1IDX_A23L` (esp32s2)
    RtccalibV1idxA23l,
    /// `DIS_USB_OTG` (esp32s3)
    DisUsbOtg,
    /// `DIS_APP_CPU` (esp32s3)
    DisAppCpu,
    /// `DIS_PAD_JTAG` (esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisPadJtag,
    /// `DIS_USB_JTAG` (esp32s3, esp32c3, esp32c6, esp32h2)
    DisUsbJtag,
    /// `DIS_USB_SERIAL_JTAG` (esp32s3, esp32c3, esp32c6)
    DisUsbSerialJtag,
    /// `STRAP_JTAG_SEL` (esp32s3)
    StrapJtagSel,
    /// `USB_PHY_SEL` (esp32s3)
    UsbPhySel,
    /// `DIS_DIRECT_BOOT` (esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    DisDirectBoot,
    /// `DIS_USB_SERIAL_JTAG_ROM_PRINT` (esp32s3, esp32c3, esp32c6, esp32h2)
    DisUsbSerialJtagRomPrint,
    /// `FLASH_ECC_MODE` (esp32s3)
    FlashEccMode,
    /// `DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE` (esp32s3, esp32c3, esp32c6, esp32h2)
    DisUsbSerialJtagDownloadMode,
    /// `FLASH_PAGE_SIZE` (esp32s3)
    FlashPageSize,
    /// `FLASH_ECC_EN` (esp32s3)
    FlashEccEn,
    /// `DIS_USB_OTG_DOWNLOAD_MODE` (esp32s3)
    DisUsbOtgDownloadMode,
    /// `FLASH_CAP` (esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    FlashCap,
    /// `FLASH_TEMP` (esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    FlashTemp,
    /// `FLASH_VENDOR` (esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)
    FlashVendor,
    /// `PSRAM_CAP` (esp32s3)
    PsramCap,
    /// `PSRAM_TEMP` (esp32s3)
    PsramTemp,
    /// `PSRAM_VENDOR` (esp32s3)
    PsramVendor,
    /// `PSRAM_CAP_3` (esp32s3)
    PsramCap3,
    /// `PSRAM_CAPACITY` (esp32s3)
    PsramCapacity,
    /// `K_RTC_LDO` (esp32s3, esp32c3)
    KRtcLdo,
    /// `K_DIG_LDO` (esp32s3, esp32c3)
    KDigLdo,
    /// `V_RTC_DBIAS20` (esp32s3, esp32c3)
    VRtcDbias20,
    /// `V_DIG_DBIAS20` (esp32s3, esp32c3)
    VDigDbias20,
    /// `DIG_DBIAS_HVT` (esp32s3, esp32c2, esp32c3)
    DigDbiasHvt,
    /// `ADC2_CAL_VOL_ATTEN3` (esp32s3)
    Adc2CalVolAtten3,
    /// `OCODE` (esp32s3, esp32c2, esp32c3, esp32c6)
    Ocode,
    /// `ADC1_INIT_CODE_ATTEN0` (esp32s3, esp32c2, esp32c3, esp32c6)
    Adc1InitCodeAtten0,
    /// `ADC1_INIT_CODE_ATTEN1` (esp32s3, esp32c3, esp32c6)
    Adc1InitCodeAtten1,
    /// `ADC1_INIT_CODE_ATTEN2` (esp32s3, esp32c3, esp32c6)
    Adc1InitCodeAtten2,
    /// `ADC1_INIT_CODE_ATTEN3` (esp32s3, esp32c2, esp32c3, esp32c6)
    Adc1InitCodeAtten3,
    /// `ADC2_INIT_CODE_ATTEN0` (esp32s3)
    Adc2InitCodeAtten0,
    /// `ADC2_INIT_CODE_ATTEN1` (esp32s3)
    Adc2InitCodeAtten1,
    /// `ADC2_INIT_CODE_ATTEN2` (esp32s3)
    Adc2InitCodeAtten2,
    /// `ADC2_INIT_CODE_ATTEN3` (esp32s3)
    Adc2InitCodeAtten3,
    /// `ADC1_CAL_VOL_ATTEN0` (esp32s3, esp32c2, esp32c3, esp32c6)
    Adc1CalVolAtten0,
    /// `ADC1_CAL_VOL_ATTEN1` (esp32s3, esp32c3, esp32c6)
    Adc1CalVolAtten1,
    /// `ADC1_CAL_VOL_ATTEN2` (esp32s3, esp32c3, esp32c6)
    Adc1CalVolAtten2,
    /// `ADC1_CAL_VOL_ATTEN3` (esp32s3, esp32c2, esp32c3, esp32c6)
    Adc1CalVolAtten3,
    /// `ADC2_CAL_VOL_ATTEN0` (esp32s3)
    Adc2CalVolAtten0,
    /// `ADC2_CAL_VOL_ATTEN1` (esp32s3)
    Adc2CalVolAtten1,
    /// `ADC2_CAL_VOL_ATTEN2` (esp32s3)
    Adc2CalVolAtten2,
    /// `XTS_KEY_LENGTH_256` (esp32c2)
    XtsKeyLength256,
    /// `CUSTOM_MAC_USED` (esp32c2)
    CustomMacUsed,
    /// `BLOCK_KEY0_LOW_128` (esp32c2)
    BlockKey0Low128,
    /// `BLOCK_KEY0_HI_128` (esp32c2)
    BlockKey0Hi128,
    /// `DIG_LDO_SLP_DBIAS2` (esp32c2)
    DigLdoSlpDbias2,
    /// `DIG_LDO_SLP_DBIAS26` (esp32c2)
    DigLdoSlpDbias26,
    /// `DIG_LDO_ACT_DBIAS26` (esp32c2)
    DigLdoActDbias26,
    /// `DIG_LDO_ACT_STEPD10` (esp32c2)
    DigLdoActStepd10,
    /// `RTC_LDO_SLP_DBIAS13` (esp32c2)
    RtcLdoSlpDbias13,
    /// `RTC_LDO_SLP_DBIAS29` (esp32c2)
    RtcLdoSlpDbias29,
    /// `RTC_LDO_SLP_DBIAS31` (esp32c2)
    RtcLdoSlpDbias31,
    /// `RTC_LDO_ACT_DBIAS31` (esp32c2)
    RtcLdoActDbias31,
    /// `RTC_LDO_ACT_DBIAS13` (esp32c2)
    RtcLdoActDbias13,
    /// `ADC_CALIBRATION_3` (esp32c2)
    AdcCalibration3,
    /// `VDD_SPI_AS_GPIO` (esp32c3, esp32c6, esp32h2)
    VddSpiAsGpio,
    /// `ERR_RST_ENABLE` (esp32c3)
    ErrRstEnable,
    /// `THRES_HVT` (esp32c3)
    ThresHvt,
    /// `SWAP_UART_SDIO_EN` (esp32c6)
    SwapUartSdioEn,
    /// `SPI_DOWNLOAD_MSPI_DIS` (esp32c6, esp32h2)
    SpiDownloadMspiDis,
    /// `JTAG_SEL_ENABLE` (esp32c6, esp32h2)
    JtagSelEnable,
    /// `SEC_DPA_LEVEL` (esp32c6, esp32h2)
    SecDpaLevel,
    /// `CRYPT_DPA_ENABLE` (esp32c6, esp32h2)
    CryptDpaEnable,
    /// `SECURE_BOOT_DISABLE_FAST_WAKE` (esp32c6, esp32h2)
    SecureBootDisableFastWake,
    /// `MAC_EXT` (esp32c6, esp32h2)
    MacExt,
    /// `MAC_EUI64` (esp32c6, esp32h2)
    MacEui64,
    /// `ACTIVE_HP_DBIAS` (esp32c6, esp32h2)
    ActiveHpDbias,
    /// `ACTIVE_LP_DBIAS` (esp32c6, esp32h2)
    ActiveLpDbias,
    /// `LSLP_HP_DBG` (esp32c6)
    LslpHpDbg,
    /// `LSLP_HP_DBIAS` (esp32c6, esp32h2)
    LslpHpDbias,
    /// `DSLP_LP_DBG` (esp32c6)
    DslpLpDbg,
    /// `DSLP_LP_DBIAS` (esp32c6)
    DslpLpDbias,
    /// `DBIAS_VOL_GAP` (esp32c6, esp32h2)
    DbiasVolGap,
    /// `ADC1_INIT_CODE_ATTEN0_CH0` (esp32c6)
    Adc1InitCodeAtten0Ch0,
    /// `ADC1_INIT_CODE_ATTEN0_CH1` (esp32c6)
    Adc1InitCodeAtten0Ch1,
    /// `ADC1_INIT_CODE_ATTEN0_CH2` (esp32c6)
    Adc1InitCodeAtten0Ch2,
    /// `ADC1_INIT_CODE_ATTEN0_CH3` (esp32c6)
    Adc1InitCodeAtten0Ch3,
    /// `ADC1_INIT_CODE_ATTEN0_CH4` (esp32c6)
    Adc1InitCodeAtten0Ch4,
    /// `ADC1_INIT_CODE_ATTEN0_CH5` (esp32c6)
    Adc1InitCodeAtten0Ch5,
    /// `ADC1_INIT_CODE_ATTEN0_CH6` (esp32c6)
    Adc1InitCodeAtten0Ch6,
    /// `POWERGLITCH_EN` (esp32h2)
    PowerglitchEn,
    /// `ECDSA_CURVE_MODE` (esp32h2)
    EcdsaCurveMode,
    /// `ECC_FORCE_CONST_TIME` (esp32h2)
    EccForceConstTime,
    /// `XTS_DPA_PSEUDO_LEVEL` (esp32h2)
    XtsDpaPseudoLevel,
    /// `POWERGLITCH_EN1` (esp32h2)
    PowerglitchEn1,
    /// `HYS_EN_PAD0` (esp32h2)
    HysEnPad0,
    /// `HYS_EN_PAD1` (esp32h2)
    HysEnPad1,
    /// `RXIQ_VERSION` (esp32h2)
    RxiqVersion,
    /// `RXIQ_0` (esp32h2)
    Rxiq0,
    /// `RXIQ_1` (esp32h2)
    Rxiq1,
    /// `ECDSA_FORCE_USE_HARDWARE_K` (esp32h2)
    EcdsaForceUseHardwareK,
    /// `DSLP_DBIAS` (esp32h2)
    DslpDbias,
    /// `ADC1_AVE_INITCODE_ATTEN0` (esp32h2)
    Adc1AveInitcodeAtten0,
    /// `ADC1_AVE_INITCODE_ATTEN1` (esp32h2)
    Adc1AveInitcodeAtten1,
    /// `ADC1_AVE_INITCODE_ATTEN2` (esp32h2)
    Adc1AveInitcodeAtten2,
    /// `ADC1_AVE_INITCODE_ATTEN3` (esp32h2)
    Adc1AveInitcodeAtten3,
    /// `ADC1_HI_DOUT_ATTEN0` (esp32h2)
    Adc1HiDoutAtten0,
    /// `ADC1_HI_DOUT_ATTEN1` (esp32h2)
    Adc1HiDoutAtten1,
    /// `ADC1_HI_DOUT_ATTEN2` (esp32h2)
    Adc1HiDoutAtten2,
    /// `ADC1_HI_DOUT_ATTEN3` (esp32h2)
    Adc1HiDoutAtten3,
    /// `ADC1_CH0_ATTEN0_INITCODE_DIFF` (esp32h2)
    Adc1Ch0Atten0InitcodeDiff,
    /// `ADC1_CH1_ATTEN0_INITCODE_DIFF` (esp32h2)
    Adc1Ch1Atten0InitcodeDiff,
    /// `ADC1_CH2_ATTEN0_INITCODE_DIFF` (esp32h2)
    Adc1Ch2Atten0InitcodeDiff,
    /// `ADC1_CH3_ATTEN0_INITCODE_DIFF` (esp32h2)
    Adc1Ch3Atten0InitcodeDiff,
    /// `ADC1_CH4_ATTEN0_INITCODE_DIFF` (esp32h2)
    Adc1Ch4Atten0InitcodeDiff,
}

impl Field {
    /// espefuse's canonical name.
    pub const fn name(self) -> &'static str {
        match self {
            Field::WrDis => "WR_DIS",
            Field::RdDis => "RD_DIS",
            Field::FlashCryptCnt => "FLASH_CRYPT_CNT",
            Field::UartDownloadDis => "UART_DOWNLOAD_DIS",
            Field::Mac => "MAC",
            Field::MacCrc => "MAC_CRC",
            Field::DisableAppCpu => "DISABLE_APP_CPU",
            Field::DisableBt => "DISABLE_BT",
            Field::ChipPackage4bit => "CHIP_PACKAGE_4BIT",
            Field::DisCache => "DIS_CACHE",
            Field::SpiPadConfigHd => "SPI_PAD_CONFIG_HD",
            Field::ChipPackage => "CHIP_PACKAGE",
            Field::ChipCpuFreqLow => "CHIP_CPU_FREQ_LOW",
            Field::ChipCpuFreqRated => "CHIP_CPU_FREQ_RATED",
            Field::Blk3PartReserve => "BLK3_PART_RESERVE",
            Field::ChipVerRev1 => "CHIP_VER_REV1",
            Field::Clk8mFreq => "CLK8M_FREQ",
            Field::AdcVref => "ADC_VREF",
            Field::XpdSdioReg => "XPD_SDIO_REG",
            Field::XpdSdioTieh => "XPD_SDIO_TIEH",
            Field::XpdSdioForce => "XPD_SDIO_FORCE",
            Field::SpiPadConfigClk => "SPI_PAD_CONFIG_CLK",
            Field::SpiPadConfigQ => "SPI_PAD_CONFIG_Q",
            Field::SpiPadConfigD => "SPI_PAD_CONFIG_D",
            Field::SpiPadConfigCs0 => "SPI_PAD_CONFIG_CS0",
            Field::ChipVerRev2 => "CHIP_VER_REV2",
            Field::VolLevelHpInv => "VOL_LEVEL_HP_INV",
            Field::WaferVersionMinor => "WAFER_VERSION_MINOR",
            Field::FlashCryptConfig => "FLASH_CRYPT_CONFIG",
            Field::CodingScheme => "CODING_SCHEME",
            Field::ConsoleDebugDisable => "CONSOLE_DEBUG_DISABLE",
            Field::DisableSdioHost => "DISABLE_SDIO_HOST",
            Field::AbsDone0 => "ABS_DONE_0",
            Field::AbsDone1 => "ABS_DONE_1",
            Field::JtagDisable => "JTAG_DISABLE",
            Field::DisableDlEncrypt => "DISABLE_DL_ENCRYPT",
            Field::DisableDlDecrypt => "DISABLE_DL_DECRYPT",
            Field::DisableDlCache => "DISABLE_DL_CACHE",
            Field::KeyStatus => "KEY_STATUS",
            Field::SecureVersion => "SECURE_VERSION",
            Field::MacVersion => "MAC_VERSION",
            Field::Block1 => "BLOCK1",
            Field::Block2 => "BLOCK2",
            Field::Block3 => "BLOCK3",
            Field::WaferVersionMajor => "WAFER_VERSION_MAJOR",
            Field::PkgVersion => "PKG_VERSION",
            Field::CustomMacCrc => "CUSTOM_MAC_CRC",
            Field::CustomMac => "CUSTOM_MAC",
            Field::Adc1TpLow => "ADC1_TP_LOW",
            Field::Adc1TpHigh => "ADC1_TP_HIGH",
            Field::Adc2TpLow => "ADC2_TP_LOW",
            Field::Adc2TpHigh => "ADC2_TP_HIGH",
            Field::DisIcache => "DIS_ICACHE",
            Field::DisDcache => "DIS_DCACHE",
            Field::DisDownloadIcache => "DIS_DOWNLOAD_ICACHE",
            Field::DisDownloadDcache => "DIS_DOWNLOAD_DCACHE",
            Field::DisForceDownload => "DIS_FORCE_DOWNLOAD",
            Field::DisUsb => "DIS_USB",
            Field::DisTwai => "DIS_TWAI",
            Field::DisBootRemap => "DIS_BOOT_REMAP",
            Field::SoftDisJtag => "SOFT_DIS_JTAG",
            Field::HardDisJtag => "HARD_DIS_JTAG",
            Field::DisDownloadManualEncrypt => "DIS_DOWNLOAD_MANUAL_ENCRYPT",
            Field::UsbExchgPins => "USB_EXCHG_PINS",
            Field::UsbExtPhyEnable => "USB_EXT_PHY_ENABLE",
            Field::UsbForceNopersist => "USB_FORCE_NOPERSIST",
            Field::Block0Version => "BLOCK0_VERSION",
            Field::VddSpiXpd => "VDD_SPI_XPD",
            Field::VddSpiTieh => "VDD_SPI_TIEH",
            Field::VddSpiForce => "VDD_SPI_FORCE",
            Field::WdtDelaySel => "WDT_DELAY_SEL",
            Field::SpiBootCryptCnt => "SPI_BOOT_CRYPT_CNT",
            Field::SecureBootKeyRevoke0 => "SECURE_BOOT_KEY_REVOKE0",
            Field::SecureBootKeyRevoke1 => "SECURE_BOOT_KEY_REVOKE1",
            Field::SecureBootKeyRevoke2 => "SECURE_BOOT_KEY_REVOKE2",
            Field::KeyPurpose0 => "KEY_PURPOSE_0",
            Field::KeyPurpose1 => "KEY_PURPOSE_1",
            Field::KeyPurpose2 => "KEY_PURPOSE_2",
            Field::KeyPurpose3 => "KEY_PURPOSE_3",
            Field::KeyPurpose4 => "KEY_PURPOSE_4",
            Field::KeyPurpose5 => "KEY_PURPOSE_5",
            Field::SecureBootEn => "SECURE_BOOT_EN",
            Field::SecureBootAggressiveRevoke => "SECURE_BOOT_AGGRESSIVE_REVOKE",
            Field::FlashTpuw => "FLASH_TPUW",
            Field::DisDownloadMode => "DIS_DOWNLOAD_MODE",
            Field::DisLegacySpiBoot => "DIS_LEGACY_SPI_BOOT",
            Field::UartPrintChannel => "UART_PRINT_CHANNEL",
            Field::DisUsbDownloadMode => "DIS_USB_DOWNLOAD_MODE",
            Field::EnableSecurityDownload => "ENABLE_SECURITY_DOWNLOAD",
            Field::UartPrintControl => "UART_PRINT_CONTROL",
            Field::PinPowerSelection => "PIN_POWER_SELECTION",
            Field::FlashType => "FLASH_TYPE",
            Field::ForceSendResume => "FORCE_SEND_RESUME",
            Field::DisableWaferVersionMajor => "DISABLE_WAFER_VERSION_MAJOR",
            Field::DisableBlkVersionMajor => "DISABLE_BLK_VERSION_MAJOR",
            Field::SpiPadConfigCs => "SPI_PAD_CONFIG_CS",
            Field::SpiPadConfigWp => "SPI_PAD_CONFIG_WP",
            Field::SpiPadConfigDqs => "SPI_PAD_CONFIG_DQS",
            Field::SpiPadConfigD4 => "SPI_PAD_CONFIG_D4",
            Field::SpiPadConfigD5 => "SPI_PAD_CONFIG_D5",
            Field::SpiPadConfigD6 => "SPI_PAD_CONFIG_D6",
            Field::SpiPadConfigD7 => "SPI_PAD_CONFIG_D7",
            Field::WaferVersionMinorHi => "WAFER_VERSION_MINOR_HI",
            Field::FlashVersion => "FLASH_VERSION",
            Field::BlkVersionMajor => "BLK_VERSION_MAJOR",
            Field::PsramVersion => "PSRAM_VERSION",
            Field::WaferVersionMinorLo => "WAFER_VERSION_MINOR_LO",
            Field::OptionalUniqueId => "OPTIONAL_UNIQUE_ID",
            Field::BlkVersionMinor => "BLK_VERSION_MINOR",
            Field::BlockUsrData => "BLOCK_USR_DATA",
            Field::BlockKey0 => "BLOCK_KEY0",
            Field::BlockKey1 => "BLOCK_KEY1",
            Field::BlockKey2 => "BLOCK_KEY2",
            Field::BlockKey3 => "BLOCK_KEY3",
            Field::BlockKey4 => "BLOCK_KEY4",
            Field::BlockKey5 => "BLOCK_KEY5",
            Field::BlockSysData2 => "BLOCK_SYS_DATA2",
            Field::AdcCalib => "ADC_CALIB",
            Field::TempCalib => "TEMP_CALIB",
            Field::RtccalibV1idxA10h => "RTCCALIB_V1IDX_A10H",
            Field::RtccalibV1idxA11h => "RTCCALIB_V1IDX_A11H",
            Field::RtccalibV1idxA12h => "RTCCALIB_V1IDX_A12H",
            Field::RtccalibV1idxA13h => "RTCCALIB_V1IDX_A13H",
            Field::RtccalibV1idxA20h => "RTCCALIB_V1IDX_A20H",
            Field::RtccalibV1idxA21h => "RTCCALIB_V1IDX_A21H",
            Field::RtccalibV1idxA22h => "RTCCALIB_V1IDX_A22H",
            Field::RtccalibV1idxA23h => "RTCCALIB_V1IDX_A23H",
            Field::RtccalibV1idxA10l => "RTCCALIB_V1IDX_A10L",
            Field::RtccalibV1idxA11l => "RTCCALIB_V1IDX_A11L",
            Field::RtccalibV1idxA12l => "RTCCALIB_V1IDX_A12L",
            Field::RtccalibV1idxA13l => "RTCCALIB_V1IDX_A13L",
            Field::RtccalibV1idxA20l => "RTCCALIB_V1IDX_A20L",
            Field::RtccalibV1idxA21l => "RTCCALIB_V1IDX_A21L",
            Field::RtccalibV1idxA22l => "RTCCALIB_V1IDX_A22L",
            Field::RtccalibV1idxA23l => "RTCCALIB_V1IDX_A23L",
            Field::DisUsbOtg => "DIS_USB_OTG",
            Field::DisAppCpu => "DIS_APP_CPU",
            Field::DisPadJtag => "DIS_PAD_JTAG",
            Field::DisUsbJtag => "DIS_USB_JTAG",
            Field::DisUsbSerialJtag => "DIS_USB_SERIAL_JTAG",
            Field::StrapJtagSel => "STRAP_JTAG_SEL",
            Field::UsbPhySel => "USB_PHY_SEL",
            Field::DisDirectBoot => "DIS_DIRECT_BOOT",
            Field::DisUsbSerialJtagRomPrint => "DIS_USB_SERIAL_JTAG_ROM_PRINT",
            Field::FlashEccMode => "FLASH_ECC_MODE",
            Field::DisUsbSerialJtagDownloadMode => "DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE",
            Field::FlashPageSize => "FLASH_PAGE_SIZE",
            Field::FlashEccEn => "FLASH_ECC_EN",
            Field::DisUsbOtgDownloadMode => "DIS_USB_OTG_DOWNLOAD_MODE",
            Field::FlashCap => "FLASH_CAP",
            Field::FlashTemp => "FLASH_TEMP",
            Field::FlashVendor => "FLASH_VENDOR",
            Field::PsramCap => "PSRAM_CAP",
            Field::PsramTemp => "PSRAM_TEMP",
            Field::PsramVendor => "PSRAM_VENDOR",
            Field::PsramCap3 => "PSRAM_CAP_3",
            Field::PsramCapacity => "PSRAM_CAPACITY",
            Field::KRtcLdo => "K_RTC_LDO",
            Field::KDigLdo => "K_DIG_LDO",
            Field::VRtcDbias20 => "V_RTC_DBIAS20",
            Field::VDigDbias20 => "V_DIG_DBIAS20",
            Field::DigDbiasHvt => "DIG_DBIAS_HVT",
            Field::Adc2CalVolAtten3 => "ADC2_CAL_VOL_ATTEN3",
            Field::Ocode => "OCODE",
            Field::Adc1InitCodeAtten0 => "ADC1_INIT_CODE_ATTEN0",
            Field::Adc1InitCodeAtten1 => "ADC1_INIT_CODE_ATTEN1",
            Field::Adc1InitCodeAtten2 => "ADC1_INIT_CODE_ATTEN2",
            Field::Adc1InitCodeAtten3 => "ADC1_INIT_CODE_ATTEN3",
            Field::Adc2InitCodeAtten0 => "ADC2_INIT_CODE_ATTEN0",
            Field::Adc2InitCodeAtten1 => "ADC2_INIT_CODE_ATTEN1",
            Field::Adc2InitCodeAtten2 => "ADC2_INIT_CODE_ATTEN2",
            Field::Adc2InitCodeAtten3 => "ADC2_INIT_CODE_ATTEN3",
            Field::Adc1CalVolAtten0 => "ADC1_CAL_VOL_ATTEN0",
            Field::Adc1CalVolAtten1 => "ADC1_CAL_VOL_ATTEN1",
            Field::Adc1CalVolAtten2 => "ADC1_CAL_VOL_ATTEN2",
            Field::Adc1CalVolAtten3 => "ADC1_CAL_VOL_ATTEN3",
            Field::Adc2CalVolAtten0 => "ADC2_CAL_VOL_ATTEN0",
            Field::Adc2CalVolAtten1 => "ADC2_CAL_VOL_ATTEN1",
            Field::Adc2CalVolAtten2 => "ADC2_CAL_VOL_ATTEN2",
            Field::XtsKeyLength256 => "XTS_KEY_LENGTH_256",
            Field::CustomMacUsed => "CUSTOM_MAC_USED",
            Field::BlockKey0Low128 => "BLOCK_KEY0_LOW_128",
            Field::BlockKey0Hi128 => "BLOCK_KEY0_HI_128",
            Field::DigLdoSlpDbias2 => "DIG_LDO_SLP_DBIAS2",
            Field::DigLdoSlpDbias26 => "DIG_LDO_SLP_DBIAS26",
            Field::DigLdoActDbias26 => "DIG_LDO_ACT_DBIAS26",
            Field::DigLdoActStepd10 => "DIG_LDO_ACT_STEPD10",
            Field::RtcLdoSlpDbias13 => "RTC_LDO_SLP_DBIAS13",
            Field::RtcLdoSlpDbias29 => "RTC_LDO_SLP_DBIAS29",
            Field::RtcLdoSlpDbias31 => "RTC_LDO_SLP_DBIAS31",
            Field::RtcLdoActDbias31 => "RTC_LDO_ACT_DBIAS31",
            Field::RtcLdoActDbias13 => "RTC_LDO_ACT_DBIAS13",
            Field::AdcCalibration3 => "ADC_CALIBRATION_3",
            Field::VddSpiAsGpio => "VDD_SPI_AS_GPIO",
            Field::ErrRstEnable => "ERR_RST_ENABLE",
            Field::ThresHvt => "THRES_HVT",
            Field::SwapUartSdioEn => "SWAP_UART_SDIO_EN",
            Field::SpiDownloadMspiDis => "SPI_DOWNLOAD_MSPI_DIS",
            Field::JtagSelEnable => "JTAG_SEL_ENABLE",
            Field::SecDpaLevel => "SEC_DPA_LEVEL",
            Field::CryptDpaEnable => "CRYPT_DPA_ENABLE",
            Field::SecureBootDisableFastWake => "SECURE_BOOT_DISABLE_FAST_WAKE",
            Field::MacExt => "MAC_EXT",
            Field::MacEui64 => "MAC_EUI64",
            Field::ActiveHpDbias => "ACTIVE_HP_DBIAS",
            Field::ActiveLpDbias => "ACTIVE_LP_DBIAS",
            Field::LslpHpDbg => "LSLP_HP_DBG",
            Field::LslpHpDbias => "LSLP_HP_DBIAS",
            Field::DslpLpDbg => "DSLP_LP_DBG",
            Field::DslpLpDbias => "DSLP_LP_DBIAS",
            Field::DbiasVolGap => "DBIAS_VOL_GAP",
            Field::Adc1InitCodeAtten0Ch0 => "ADC1_INIT_CODE_ATTEN0_CH0",
            Field::Adc1InitCodeAtten0Ch1 => "ADC1_INIT_CODE_ATTEN0_CH1",
            Field::Adc1InitCodeAtten0Ch2 => "ADC1_INIT_CODE_ATTEN0_CH2",
            Field::Adc1InitCodeAtten0Ch3 => "ADC1_INIT_CODE_ATTEN0_CH3",
            Field::Adc1InitCodeAtten0Ch4 => "ADC1_INIT_CODE_ATTEN0_CH4",
            Field::Adc1InitCodeAtten0Ch5 => "ADC1_INIT_CODE_ATTEN0_CH5",
            Field::Adc1InitCodeAtten0Ch6 => "ADC1_INIT_CODE_ATTEN0_CH6",
            Field::PowerglitchEn => "POWERGLITCH_EN",
            Field::EcdsaCurveMode => "ECDSA_CURVE_MODE",
            Field::EccForceConstTime => "ECC_FORCE_CONST_TIME",
            Field::XtsDpaPseudoLevel => "XTS_DPA_PSEUDO_LEVEL",
            Field::PowerglitchEn1 => "POWERGLITCH_EN1",
            Field::HysEnPad0 => "HYS_EN_PAD0",
            Field::HysEnPad1 => "HYS_EN_PAD1",
            Field::RxiqVersion => "RXIQ_VERSION",
            Field::Rxiq0 => "RXIQ_0",
            Field::Rxiq1 => "RXIQ_1",
            Field::EcdsaForceUseHardwareK => "ECDSA_FORCE_USE_HARDWARE_K",
            Field::DslpDbias => "DSLP_DBIAS",
            Field::Adc1AveInitcodeAtten0 => "ADC1_AVE_INITCODE_ATTEN0",
            Field::Adc1AveInitcodeAtten1 => "ADC1_AVE_INITCODE_ATTEN1",
            Field::Adc1AveInitcodeAtten2 => "ADC1_AVE_INITCODE_ATTEN2",
            Field::Adc1AveInitcodeAtten3 => "ADC1_AVE_INITCODE_ATTEN3",
            Field::Adc1HiDoutAtten0 => "ADC1_HI_DOUT_ATTEN0",
            Field::Adc1HiDoutAtten1 => "ADC1_HI_DOUT_ATTEN1",
            Field::Adc1HiDoutAtten2 => "ADC1_HI_DOUT_ATTEN2",
            Field::Adc1HiDoutAtten3 => "ADC1_HI_DOUT_ATTEN3",
            Field::Adc1Ch0Atten0InitcodeDiff => "ADC1_CH0_ATTEN0_INITCODE_DIFF",
            Field::Adc1Ch1Atten0InitcodeDiff => "ADC1_CH1_ATTEN0_INITCODE_DIFF",
            Field::Adc1Ch2Atten0InitcodeDiff => "ADC1_CH2_ATTEN0_INITCODE_DIFF",
            Field::Adc1Ch3Atten0InitcodeDiff => "ADC1_CH3_ATTEN0_INITCODE_DIFF",
            Field::Adc1Ch4Atten0InitcodeDiff => "ADC1_CH4_ATTEN0_INITCODE_DIFF",
        }
    }

    /// The field with this canonical name (alternative names are per chip:
    /// see `ChipTable::field_by_name`).
    pub fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "WR_DIS" => Field::WrDis,
            "RD_DIS" => Field::RdDis,
            "FLASH_CRYPT_CNT" => Field::FlashCryptCnt,
            "UART_DOWNLOAD_DIS" => Field::UartDownloadDis,
            "MAC" => Field::Mac,
            "MAC_CRC" => Field::MacCrc,
            "DISABLE_APP_CPU" => Field::DisableAppCpu,
            "DISABLE_BT" => Field::DisableBt,
            "CHIP_PACKAGE_4BIT" => Field::ChipPackage4bit,
            "DIS_CACHE" => Field::DisCache,
            "SPI_PAD_CONFIG_HD" => Field::SpiPadConfigHd,
            "CHIP_PACKAGE" => Field::ChipPackage,
            "CHIP_CPU_FREQ_LOW" => Field::ChipCpuFreqLow,
            "CHIP_CPU_FREQ_RATED" => Field::ChipCpuFreqRated,
            "BLK3_PART_RESERVE" => Field::Blk3PartReserve,
            "CHIP_VER_REV1" => Field::ChipVerRev1,
            "CLK8M_FREQ" => Field::Clk8mFreq,
            "ADC_VREF" => Field::AdcVref,
            "XPD_SDIO_REG" => Field::XpdSdioReg,
            "XPD_SDIO_TIEH" => Field::XpdSdioTieh,
            "XPD_SDIO_FORCE" => Field::XpdSdioForce,
            "SPI_PAD_CONFIG_CLK" => Field::SpiPadConfigClk,
            "SPI_PAD_CONFIG_Q" => Field::SpiPadConfigQ,
            "SPI_PAD_CONFIG_D" => Field::SpiPadConfigD,
            "SPI_PAD_CONFIG_CS0" => Field::SpiPadConfigCs0,
            "CHIP_VER_REV2" => Field::ChipVerRev2,
            "VOL_LEVEL_HP_INV" => Field::VolLevelHpInv,
            "WAFER_VERSION_MINOR" => Field::WaferVersionMinor,
            "FLASH_CRYPT_CONFIG" => Field::FlashCryptConfig,
            "CODING_SCHEME" => Field::CodingScheme,
            "CONSOLE_DEBUG_DISABLE" => Field::ConsoleDebugDisable,
            "DISABLE_SDIO_HOST" => Field::DisableSdioHost,
            "ABS_DONE_0" => Field::AbsDone0,
            "ABS_DONE_1" => Field::AbsDone1,
            "JTAG_DISABLE" => Field::JtagDisable,
            "DISABLE_DL_ENCRYPT" => Field::DisableDlEncrypt,
            "DISABLE_DL_DECRYPT" => Field::DisableDlDecrypt,
            "DISABLE_DL_CACHE" => Field::DisableDlCache,
            "KEY_STATUS" => Field::KeyStatus,
            "SECURE_VERSION" => Field::SecureVersion,
            "MAC_VERSION" => Field::MacVersion,
            "BLOCK1" => Field::Block1,
            "BLOCK2" => Field::Block2,
            "BLOCK3" => Field::Block3,
            "WAFER_VERSION_MAJOR" => Field::WaferVersionMajor,
            "PKG_VERSION" => Field::PkgVersion,
            "CUSTOM_MAC_CRC" => Field::CustomMacCrc,
            "CUSTOM_MAC" => Field::CustomMac,
            "ADC1_TP_LOW" => Field::Adc1TpLow,
            "ADC1_TP_HIGH" => Field::Adc1TpHigh,
            "ADC2_TP_LOW" => Field::Adc2TpLow,
            "ADC2_TP_HIGH" => Field::Adc2TpHigh,
            "DIS_ICACHE" => Field::DisIcache,
            "DIS_DCACHE" => Field::DisDcache,
            "DIS_DOWNLOAD_ICACHE" => Field::DisDownloadIcache,
            "DIS_DOWNLOAD_DCACHE" => Field::DisDownloadDcache,
            "DIS_FORCE_DOWNLOAD" => Field::DisForceDownload,
            "DIS_USB" => Field::DisUsb,
            "DIS_TWAI" => Field::DisTwai,
            "DIS_BOOT_REMAP" => Field::DisBootRemap,
            "SOFT_DIS_JTAG" => Field::SoftDisJtag,
            "HARD_DIS_JTAG" => Field::HardDisJtag,
            "DIS_DOWNLOAD_MANUAL_ENCRYPT" => Field::DisDownloadManualEncrypt,
            "USB_EXCHG_PINS" => Field::UsbExchgPins,
            "USB_EXT_PHY_ENABLE" => Field::UsbExtPhyEnable,
            "USB_FORCE_NOPERSIST" => Field::UsbForceNopersist,
            "BLOCK0_VERSION" => Field::Block0Version,
            "VDD_SPI_XPD" => Field::VddSpiXpd,
            "VDD_SPI_TIEH" => Field::VddSpiTieh,
            "VDD_SPI_FORCE" => Field::VddSpiForce,
            "WDT_DELAY_SEL" => Field::WdtDelaySel,
            "SPI_BOOT_CRYPT_CNT" => Field::SpiBootCryptCnt,
            "SECURE_BOOT_KEY_REVOKE0" => Field::SecureBootKeyRevoke0,
            "SECURE_BOOT_KEY_REVOKE1" => Field::SecureBootKeyRevoke1,
            "SECURE_BOOT_KEY_REVOKE2" => Field::SecureBootKeyRevoke2,
            "KEY_PURPOSE_0" => Field::KeyPurpose0,
            "KEY_PURPOSE_1" => Field::KeyPurpose1,
            "KEY_PURPOSE_2" => Field::KeyPurpose2,
            "KEY_PURPOSE_3" => Field::KeyPurpose3,
            "KEY_PURPOSE_4" => Field::KeyPurpose4,
            "KEY_PURPOSE_5" => Field::KeyPurpose5,
            "SECURE_BOOT_EN" => Field::SecureBootEn,
            "SECURE_BOOT_AGGRESSIVE_REVOKE" => Field::SecureBootAggressiveRevoke,
            "FLASH_TPUW" => Field::FlashTpuw,
            "DIS_DOWNLOAD_MODE" => Field::DisDownloadMode,
            "DIS_LEGACY_SPI_BOOT" => Field::DisLegacySpiBoot,
            "UART_PRINT_CHANNEL" => Field::UartPrintChannel,
            "DIS_USB_DOWNLOAD_MODE" => Field::DisUsbDownloadMode,
            "ENABLE_SECURITY_DOWNLOAD" => Field::EnableSecurityDownload,
            "UART_PRINT_CONTROL" => Field::UartPrintControl,
            "PIN_POWER_SELECTION" => Field::PinPowerSelection,
            "FLASH_TYPE" => Field::FlashType,
            "FORCE_SEND_RESUME" => Field::ForceSendResume,
            "DISABLE_WAFER_VERSION_MAJOR" => Field::DisableWaferVersionMajor,
            "DISABLE_BLK_VERSION_MAJOR" => Field::DisableBlkVersionMajor,
            "SPI_PAD_CONFIG_CS" => Field::SpiPadConfigCs,
            "SPI_PAD_CONFIG_WP" => Field::SpiPadConfigWp,
            "SPI_PAD_CONFIG_DQS" => Field::SpiPadConfigDqs,
            "SPI_PAD_CONFIG_D4" => Field::SpiPadConfigD4,
            "SPI_PAD_CONFIG_D5" => Field::SpiPadConfigD5,
            "SPI_PAD_CONFIG_D6" => Field::SpiPadConfigD6,
            "SPI_PAD_CONFIG_D7" => Field::SpiPadConfigD7,
            "WAFER_VERSION_MINOR_HI" => Field::WaferVersionMinorHi,
            "FLASH_VERSION" => Field::FlashVersion,
            "BLK_VERSION_MAJOR" => Field::BlkVersionMajor,
            "PSRAM_VERSION" => Field::PsramVersion,
            "WAFER_VERSION_MINOR_LO" => Field::WaferVersionMinorLo,
            "OPTIONAL_UNIQUE_ID" => Field::OptionalUniqueId,
            "BLK_VERSION_MINOR" => Field::BlkVersionMinor,
            "BLOCK_USR_DATA" => Field::BlockUsrData,
            "BLOCK_KEY0" => Field::BlockKey0,
            "BLOCK_KEY1" => Field::BlockKey1,
            "BLOCK_KEY2" => Field::BlockKey2,
            "BLOCK_KEY3" => Field::BlockKey3,
            "BLOCK_KEY4" => Field::BlockKey4,
            "BLOCK_KEY5" => Field::BlockKey5,
            "BLOCK_SYS_DATA2" => Field::BlockSysData2,
            "ADC_CALIB" => Field::AdcCalib,
            "TEMP_CALIB" => Field::TempCalib,
            "RTCCALIB_V1IDX_A10H" => Field::RtccalibV1idxA10h,
            "RTCCALIB_V1IDX_A11H" => Field::RtccalibV1idxA11h,
            "RTCCALIB_V1IDX_A12H" => Field::RtccalibV1idxA12h,
            "RTCCALIB_V1IDX_A13H" => Field::RtccalibV1idxA13h,
            "RTCCALIB_V1IDX_A20H" => Field::RtccalibV1idxA20h,
            "RTCCALIB_V1IDX_A21H" => Field::RtccalibV1idxA21h,
            "RTCCALIB_V1IDX_A22H" => Field::RtccalibV1idxA22h,
            "RTCCALIB_V1IDX_A23H" => Field::RtccalibV1idxA23h,
            "RTCCALIB_V1IDX_A10L" => Field::RtccalibV1idxA10l,
            "RTCCALIB_V1IDX_A11L" => Field::RtccalibV1idxA11l,
            "RTCCALIB_V1IDX_A12L" => Field::RtccalibV1idxA12l,
            "RTCCALIB_V1IDX_A13L" => Field::RtccalibV1idxA13l,
            "RTCCALIB_V1IDX_A20L" => Field::RtccalibV1idxA20l,
            "RTCCALIB_V1IDX_A21L" => Field::RtccalibV1idxA21l,
            "RTCCALIB_V1IDX_A22L" => Field::RtccalibV1idxA22l,
            "RTCCALIB_V1IDX_A23L" => Field::RtccalibV1idxA23l,
            "DIS_USB_OTG" => Field::DisUsbOtg,
            "DIS_APP_CPU" => Field::DisAppCpu,
            "DIS_PAD_JTAG" => Field::DisPadJtag,
            "DIS_USB_JTAG" => Field::DisUsbJtag,
            "DIS_USB_SERIAL_JTAG" => Field::DisUsbSerialJtag,
            "STRAP_JTAG_SEL" => Field::StrapJtagSel,
            "USB_PHY_SEL" => Field::UsbPhySel,
            "DIS_DIRECT_BOOT" => Field::DisDirectBoot,
            "DIS_USB_SERIAL_JTAG_ROM_PRINT" => Field::DisUsbSerialJtagRomPrint,
            "FLASH_ECC_MODE" => Field::FlashEccMode,
            "DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE" => Field::DisUsbSerialJtagDownloadMode,
            "FLASH_PAGE_SIZE" => Field::FlashPageSize,
            "FLASH_ECC_EN" => Field::FlashEccEn,
            "DIS_USB_OTG_DOWNLOAD_MODE" => Field::DisUsbOtgDownloadMode,
            "FLASH_CAP" => Field::FlashCap,
            "FLASH_TEMP" => Field::FlashTemp,
            "FLASH_VENDOR" => Field::FlashVendor,
            "PSRAM_CAP" => Field::PsramCap,
            "PSRAM_TEMP" => Field::PsramTemp,
            "PSRAM_VENDOR" => Field::PsramVendor,
            "PSRAM_CAP_3" => Field::PsramCap3,
            "PSRAM_CAPACITY" => Field::PsramCapacity,
            "K_RTC_LDO" => Field::KRtcLdo,
            "K_DIG_LDO" => Field::KDigLdo,
            "V_RTC_DBIAS20" => Field::VRtcDbias20,
            "V_DIG_DBIAS20" => Field::VDigDbias20,
            "DIG_DBIAS_HVT" => Field::DigDbiasHvt,
            "ADC2_CAL_VOL_ATTEN3" => Field::Adc2CalVolAtten3,
            "OCODE" => Field::Ocode,
            "ADC1_INIT_CODE_ATTEN0" => Field::Adc1InitCodeAtten0,
            "ADC1_INIT_CODE_ATTEN1" => Field::Adc1InitCodeAtten1,
            "ADC1_INIT_CODE_ATTEN2" => Field::Adc1InitCodeAtten2,
            "ADC1_INIT_CODE_ATTEN3" => Field::Adc1InitCodeAtten3,
            "ADC2_INIT_CODE_ATTEN0" => Field::Adc2InitCodeAtten0,
            "ADC2_INIT_CODE_ATTEN1" => Field::Adc2InitCodeAtten1,
            "ADC2_INIT_CODE_ATTEN2" => Field::Adc2InitCodeAtten2,
            "ADC2_INIT_CODE_ATTEN3" => Field::Adc2InitCodeAtten3,
            "ADC1_CAL_VOL_ATTEN0" => Field::Adc1CalVolAtten0,
            "ADC1_CAL_VOL_ATTEN1" => Field::Adc1CalVolAtten1,
            "ADC1_CAL_VOL_ATTEN2" => Field::Adc1CalVolAtten2,
            "ADC1_CAL_VOL_ATTEN3" => Field::Adc1CalVolAtten3,
            "ADC2_CAL_VOL_ATTEN0" => Field::Adc2CalVolAtten0,
            "ADC2_CAL_VOL_ATTEN1" => Field::Adc2CalVolAtten1,
            "ADC2_CAL_VOL_ATTEN2" => Field::Adc2CalVolAtten2,
            "XTS_KEY_LENGTH_256" => Field::XtsKeyLength256,
            "CUSTOM_MAC_USED" => Field::CustomMacUsed,
            "BLOCK_KEY0_LOW_128" => Field::BlockKey0Low128,
            "BLOCK_KEY0_HI_128" => Field::BlockKey0Hi128,
            "DIG_LDO_SLP_DBIAS2" => Field::DigLdoSlpDbias2,
            "DIG_LDO_SLP_DBIAS26" => Field::DigLdoSlpDbias26,
            "DIG_LDO_ACT_DBIAS26" => Field::DigLdoActDbias26,
            "DIG_LDO_ACT_STEPD10" => Field::DigLdoActStepd10,
            "RTC_LDO_SLP_DBIAS13" => Field::RtcLdoSlpDbias13,
            "RTC_LDO_SLP_DBIAS29" => Field::RtcLdoSlpDbias29,
            "RTC_LDO_SLP_DBIAS31" => Field::RtcLdoSlpDbias31,
            "RTC_LDO_ACT_DBIAS31" => Field::RtcLdoActDbias31,
            "RTC_LDO_ACT_DBIAS13" => Field::RtcLdoActDbias13,
            "ADC_CALIBRATION_3" => Field::AdcCalibration3,
            "VDD_SPI_AS_GPIO" => Field::VddSpiAsGpio,
            "ERR_RST_ENABLE" => Field::ErrRstEnable,
            "THRES_HVT" => Field::ThresHvt,
            "SWAP_UART_SDIO_EN" => Field::SwapUartSdioEn,
            "SPI_DOWNLOAD_MSPI_DIS" => Field::SpiDownloadMspiDis,
            "JTAG_SEL_ENABLE" => Field::JtagSelEnable,
            "SEC_DPA_LEVEL" => Field::SecDpaLevel,
            "CRYPT_DPA_ENABLE" => Field::CryptDpaEnable,
            "SECURE_BOOT_DISABLE_FAST_WAKE" => Field::SecureBootDisableFastWake,
            "MAC_EXT" => Field::MacExt,
            "MAC_EUI64" => Field::MacEui64,
            "ACTIVE_HP_DBIAS" => Field::ActiveHpDbias,
            "ACTIVE_LP_DBIAS" => Field::ActiveLpDbias,
            "LSLP_HP_DBG" => Field::LslpHpDbg,
            "LSLP_HP_DBIAS" => Field::LslpHpDbias,
            "DSLP_LP_DBG" => Field::DslpLpDbg,
            "DSLP_LP_DBIAS" => Field::DslpLpDbias,
            "DBIAS_VOL_GAP" => Field::DbiasVolGap,
            "ADC1_INIT_CODE_ATTEN0_CH0" => Field::Adc1InitCodeAtten0Ch0,
            "ADC1_INIT_CODE_ATTEN0_CH1" => Field::Adc1InitCodeAtten0Ch1,
            "ADC1_INIT_CODE_ATTEN0_CH2" => Field::Adc1InitCodeAtten0Ch2,
            "ADC1_INIT_CODE_ATTEN0_CH3" => Field::Adc1InitCodeAtten0Ch3,
            "ADC1_INIT_CODE_ATTEN0_CH4" => Field::Adc1InitCodeAtten0Ch4,
            "ADC1_INIT_CODE_ATTEN0_CH5" => Field::Adc1InitCodeAtten0Ch5,
            "ADC1_INIT_CODE_ATTEN0_CH6" => Field::Adc1InitCodeAtten0Ch6,
            "POWERGLITCH_EN" => Field::PowerglitchEn,
            "ECDSA_CURVE_MODE" => Field::EcdsaCurveMode,
            "ECC_FORCE_CONST_TIME" => Field::EccForceConstTime,
            "XTS_DPA_PSEUDO_LEVEL" => Field::XtsDpaPseudoLevel,
            "POWERGLITCH_EN1" => Field::PowerglitchEn1,
            "HYS_EN_PAD0" => Field::HysEnPad0,
            "HYS_EN_PAD1" => Field::HysEnPad1,
            "RXIQ_VERSION" => Field::RxiqVersion,
            "RXIQ_0" => Field::Rxiq0,
            "RXIQ_1" => Field::Rxiq1,
            "ECDSA_FORCE_USE_HARDWARE_K" => Field::EcdsaForceUseHardwareK,
            "DSLP_DBIAS" => Field::DslpDbias,
            "ADC1_AVE_INITCODE_ATTEN0" => Field::Adc1AveInitcodeAtten0,
            "ADC1_AVE_INITCODE_ATTEN1" => Field::Adc1AveInitcodeAtten1,
            "ADC1_AVE_INITCODE_ATTEN2" => Field::Adc1AveInitcodeAtten2,
            "ADC1_AVE_INITCODE_ATTEN3" => Field::Adc1AveInitcodeAtten3,
            "ADC1_HI_DOUT_ATTEN0" => Field::Adc1HiDoutAtten0,
            "ADC1_HI_DOUT_ATTEN1" => Field::Adc1HiDoutAtten1,
            "ADC1_HI_DOUT_ATTEN2" => Field::Adc1HiDoutAtten2,
            "ADC1_HI_DOUT_ATTEN3" => Field::Adc1HiDoutAtten3,
            "ADC1_CH0_ATTEN0_INITCODE_DIFF" => Field::Adc1Ch0Atten0InitcodeDiff,
            "ADC1_CH1_ATTEN0_INITCODE_DIFF" => Field::Adc1Ch1Atten0InitcodeDiff,
            "ADC1_CH2_ATTEN0_INITCODE_DIFF" => Field::Adc1Ch2Atten0InitcodeDiff,
            "ADC1_CH3_ATTEN0_INITCODE_DIFF" => Field::Adc1Ch3Atten0InitcodeDiff,
            "ADC1_CH4_ATTEN0_INITCODE_DIFF" => Field::Adc1Ch4Atten0InitcodeDiff,
            _ => return None,
        })
    }

    /// Every field, in the order of the chips' tables.
    pub const ALL: &'static [Field] = &[
        Field::WrDis,
        Field::RdDis,
        Field::FlashCryptCnt,
        Field::UartDownloadDis,
        Field::Mac,
        Field::MacCrc,
        Field::DisableAppCpu,
        Field::DisableBt,
        Field::ChipPackage4bit,
        Field::DisCache,
        Field::SpiPadConfigHd,
        Field::ChipPackage,
        Field::ChipCpuFreqLow,
        Field::ChipCpuFreqRated,
        Field::Blk3PartReserve,
        Field::ChipVerRev1,
        Field::Clk8mFreq,
        Field::AdcVref,
        Field::XpdSdioReg,
        Field::XpdSdioTieh,
        Field::XpdSdioForce,
        Field::SpiPadConfigClk,
        Field::SpiPadConfigQ,
        Field::SpiPadConfigD,
        Field::SpiPadConfigCs0,
        Field::ChipVerRev2,
        Field::VolLevelHpInv,
        Field::WaferVersionMinor,
        Field::FlashCryptConfig,
        Field::CodingScheme,
        Field::ConsoleDebugDisable,
        Field::DisableSdioHost,
        Field::AbsDone0,
        Field::AbsDone1,
        Field::JtagDisable,
        Field::DisableDlEncrypt,
        Field::DisableDlDecrypt,
        Field::DisableDlCache,
        Field::KeyStatus,
        Field::SecureVersion,
        Field::MacVersion,
        Field::Block1,
        Field::Block2,
        Field::Block3,
        Field::WaferVersionMajor,
        Field::PkgVersion,
        Field::CustomMacCrc,
        Field::CustomMac,
        Field::Adc1TpLow,
        Field::Adc1TpHigh,
        Field::Adc2TpLow,
        Field::Adc2TpHigh,
        Field::DisIcache,
        Field::DisDcache,
        Field::DisDownloadIcache,
        Field::DisDownloadDcache,
        Field::DisForceDownload,
        Field::DisUsb,
        Field::DisTwai,
        Field::DisBootRemap,
        Field::SoftDisJtag,
        Field::HardDisJtag,
        Field::DisDownloadManualEncrypt,
        Field::UsbExchgPins,
        Field::UsbExtPhyEnable,
        Field::UsbForceNopersist,
        Field::Block0Version,
        Field::VddSpiXpd,
        Field::VddSpiTieh,
        Field::VddSpiForce,
        Field::WdtDelaySel,
        Field::SpiBootCryptCnt,
        Field::SecureBootKeyRevoke0,
        Field::SecureBootKeyRevoke1,
        Field::SecureBootKeyRevoke2,
        Field::KeyPurpose0,
        Field::KeyPurpose1,
        Field::KeyPurpose2,
        Field::KeyPurpose3,
        Field::KeyPurpose4,
        Field::KeyPurpose5,
        Field::SecureBootEn,
        Field::SecureBootAggressiveRevoke,
        Field::FlashTpuw,
        Field::DisDownloadMode,
        Field::DisLegacySpiBoot,
        Field::UartPrintChannel,
        Field::DisUsbDownloadMode,
        Field::EnableSecurityDownload,
        Field::UartPrintControl,
        Field::PinPowerSelection,
        Field::FlashType,
        Field::ForceSendResume,
        Field::DisableWaferVersionMajor,
        Field::DisableBlkVersionMajor,
        Field::SpiPadConfigCs,
        Field::SpiPadConfigWp,
        Field::SpiPadConfigDqs,
        Field::SpiPadConfigD4,
        Field::SpiPadConfigD5,
        Field::SpiPadConfigD6,
        Field::SpiPadConfigD7,
        Field::WaferVersionMinorHi,
        Field::FlashVersion,
        Field::BlkVersionMajor,
        Field::PsramVersion,
        Field::WaferVersionMinorLo,
        Field::OptionalUniqueId,
        Field::BlkVersionMinor,
        Field::BlockUsrData,
        Field::BlockKey0,
        Field::BlockKey1,
        Field::BlockKey2,
        Field::BlockKey3,
        Field::BlockKey4,
        Field::BlockKey5,
        Field::BlockSysData2,
        Field::AdcCalib,
        Field::TempCalib,
        Field::RtccalibV1idxA10h,
        Field::RtccalibV1idxA11h,
        Field::RtccalibV1idxA12h,
        Field::RtccalibV1idxA13h,
        Field::RtccalibV1idxA20h,
        Field::RtccalibV1idxA21h,
        Field::RtccalibV1idxA22h,
        Field::RtccalibV1idxA23h,
        Field::RtccalibV1idxA10l,
        Field::RtccalibV1idxA11l,
        Field::RtccalibV1idxA12l,
        Field::RtccalibV1idxA13l,
        Field::RtccalibV1idxA20l,
        Field::RtccalibV1idxA21l,
        Field::RtccalibV1idxA22l,
        Field::RtccalibV1idxA23l,
        Field::DisUsbOtg,
        Field::DisAppCpu,
        Field::DisPadJtag,
        Field::DisUsbJtag,
        Field::DisUsbSerialJtag,
        Field::StrapJtagSel,
        Field::UsbPhySel,
        Field::DisDirectBoot,
        Field::DisUsbSerialJtagRomPrint,
        Field::FlashEccMode,
        Field::DisUsbSerialJtagDownloadMode,
        Field::FlashPageSize,
        Field::FlashEccEn,
        Field::DisUsbOtgDownloadMode,
        Field::FlashCap,
        Field::FlashTemp,
        Field::FlashVendor,
        Field::PsramCap,
        Field::PsramTemp,
        Field::PsramVendor,
        Field::PsramCap3,
        Field::PsramCapacity,
        Field::KRtcLdo,
        Field::KDigLdo,
        Field::VRtcDbias20,
        Field::VDigDbias20,
        Field::DigDbiasHvt,
        Field::Adc2CalVolAtten3,
        Field::Ocode,
        Field::Adc1InitCodeAtten0,
        Field::Adc1InitCodeAtten1,
        Field::Adc1InitCodeAtten2,
        Field::Adc1InitCodeAtten3,
        Field::Adc2InitCodeAtten0,
        Field::Adc2InitCodeAtten1,
        Field::Adc2InitCodeAtten2,
        Field::Adc2InitCodeAtten3,
        Field::Adc1CalVolAtten0,
        Field::Adc1CalVolAtten1,
        Field::Adc1CalVolAtten2,
        Field::Adc1CalVolAtten3,
        Field::Adc2CalVolAtten0,
        Field::Adc2CalVolAtten1,
        Field::Adc2CalVolAtten2,
        Field::XtsKeyLength256,
        Field::CustomMacUsed,
        Field::BlockKey0Low128,
        Field::BlockKey0Hi128,
        Field::DigLdoSlpDbias2,
        Field::DigLdoSlpDbias26,
        Field::DigLdoActDbias26,
        Field::DigLdoActStepd10,
        Field::RtcLdoSlpDbias13,
        Field::RtcLdoSlpDbias29,
        Field::RtcLdoSlpDbias31,
        Field::RtcLdoActDbias31,
        Field::RtcLdoActDbias13,
        Field::AdcCalibration3,
        Field::VddSpiAsGpio,
        Field::ErrRstEnable,
        Field::ThresHvt,
        Field::SwapUartSdioEn,
        Field::SpiDownloadMspiDis,
        Field::JtagSelEnable,
        Field::SecDpaLevel,
        Field::CryptDpaEnable,
        Field::SecureBootDisableFastWake,
        Field::MacExt,
        Field::MacEui64,
        Field::ActiveHpDbias,
        Field::ActiveLpDbias,
        Field::LslpHpDbg,
        Field::LslpHpDbias,
        Field::DslpLpDbg,
        Field::DslpLpDbias,
        Field::DbiasVolGap,
        Field::Adc1InitCodeAtten0Ch0,
        Field::Adc1InitCodeAtten0Ch1,
        Field::Adc1InitCodeAtten0Ch2,
        Field::Adc1InitCodeAtten0Ch3,
        Field::Adc1InitCodeAtten0Ch4,
        Field::Adc1InitCodeAtten0Ch5,
        Field::Adc1InitCodeAtten0Ch6,
        Field::PowerglitchEn,
        Field::EcdsaCurveMode,
        Field::EccForceConstTime,
        Field::XtsDpaPseudoLevel,
        Field::PowerglitchEn1,
        Field::HysEnPad0,
        Field::HysEnPad1,
        Field::RxiqVersion,
        Field::Rxiq0,
        Field::Rxiq1,
        Field::EcdsaForceUseHardwareK,
        Field::DslpDbias,
        Field::Adc1AveInitcodeAtten0,
        Field::Adc1AveInitcodeAtten1,
        Field::Adc1AveInitcodeAtten2,
        Field::Adc1AveInitcodeAtten3,
        Field::Adc1HiDoutAtten0,
        Field::Adc1HiDoutAtten1,
        Field::Adc1HiDoutAtten2,
        Field::Adc1HiDoutAtten3,
        Field::Adc1Ch0Atten0InitcodeDiff,
        Field::Adc1Ch1Atten0InitcodeDiff,
        Field::Adc1Ch2Atten0InitcodeDiff,
        Field::Adc1Ch3Atten0InitcodeDiff,
        Field::Adc1Ch4Atten0InitcodeDiff,
    ];
}
