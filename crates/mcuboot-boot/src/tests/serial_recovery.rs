//! `validate_slot_image` and `status_offset`, what serial recovery asks.

use super::*;

#[test]
fn validate_slot_image_lists_only_valid_signed_images() {
    let (good, other) = ([7u8; 32], [9u8; 32]);
    let spki = ed25519_spki(&good);
    let keys: [&[u8]; 1] = [&spki];
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let mut cfg = dev.cfg();
    cfg.keys = &keys;
    cfg.signature = Some(SignatureKind::Ed25519);
    let mut f = dev.flash();
    // Erased slots: nothing.
    assert_eq!(
        validate_slot_image(&mut f, &cfg, 0, Slot::Primary),
        Ok(None)
    );
    let signed = |major, seed, signer| Img {
        signer: Some(signer),
        ..Img::new(major, 0, 3000, seed)
    };
    let bytes = install(&dev, &mut f, 0, Slot::Primary, &signed(1, 1, good));
    let found = validate_slot_image(&mut f, &cfg, 0, Slot::Primary)
        .unwrap()
        .unwrap();
    assert_eq!(found.header.version.major, 1);
    // The hash is the image's SHA-256 TLV.
    let hash = found.validated.hash.unwrap();
    let tlv_at = 32 + 3000 + 4 + 4;
    assert_eq!(hash.as_bytes(), &bytes[tlv_at..tlv_at + 32]);
    // Signed by a key the bootloader does not embed: not listed.
    install(&dev, &mut f, 0, Slot::Secondary, &signed(2, 2, other));
    assert_eq!(
        validate_slot_image(&mut f, &cfg, 0, Slot::Secondary),
        Ok(None)
    );
    // Corrupt: not listed.
    install(
        &dev,
        &mut f,
        0,
        Slot::Secondary,
        &Img {
            corrupt: true,
            ..signed(2, 3, good)
        },
    );
    assert_eq!(
        validate_slot_image(&mut f, &cfg, 0, Slot::Secondary),
        Ok(None)
    );
    // No such image: a configuration error.
    assert!(validate_slot_image(&mut f, &cfg, 1, Slot::Primary).is_err());
}

#[test]
fn swap_offset_secondary_is_looked_for_one_sector_in() {
    let dev = Dev::new(UpgradeStrategy::SwapOffset, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Secondary, &Img::new(3, 0, 2000, 5));
    let found = validate_slot_image(&mut f, &cfg, 0, Slot::Secondary).unwrap();
    assert_eq!(found.map(|f| f.header.version.major), Some(3));
}

/// The ESP port's trailer (mcuboot.md §2.3): W=4, A=8, M=512 gives 0x1830
/// bytes; with flash encryption W=A=32 gives 0xC0A0.
#[test]
fn status_offset_matches_the_esp_trailer_sizes() {
    let images = [ImageSlots {
        primary: Area::new(0x20000, 0x1C0000),
        secondary: Area::new(0x1E0000, 0x1C0000),
    }];
    let mut cfg = BootConfig {
        images: &images,
        scratch: Some(Area::new(0x3E0000, 0x1F000)),
        strategy: UpgradeStrategy::SwapScratch,
        downgrade: DowngradePrevention::Off,
        write_size: 4,
        sectors: SectorLayout::Uniform(0x1000),
        max_align: 8,
        erased_val: 0xff,
        max_sectors: 512,
        bootstrap: false,
        keys: &[],
        signature: None,
        encryption: None,
    };
    assert_eq!(status_offset(&cfg, 0, Slot::Primary), Ok(0x1C0000 - 0x1830));
    cfg.write_size = 32;
    cfg.max_align = 32;
    assert_eq!(status_offset(&cfg, 0, Slot::Primary), Ok(0x1C0000 - 0xC0A0));
    assert_eq!(
        status_offset(&cfg, 1, Slot::Primary),
        Err(ConfigError::ImageIndex(1))
    );
}
