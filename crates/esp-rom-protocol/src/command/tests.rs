use super::*;
use alloc::vec;

#[test]
fn opcodes_round_trip() {
    for b in 0..=255u8 {
        assert_eq!(Opcode::from_byte(b).byte(), b);
    }
    assert_eq!(Opcode::from_byte(0x08), Opcode::Sync);
}

#[test]
fn checksum_is_the_rom_xor() {
    assert_eq!(checksum(&[]), 0xEF);
    assert_eq!(checksum(&[0xEF]), 0);
    assert_eq!(checksum(&[1, 2, 4]), 0xEF ^ 7);
}

#[test]
fn sync_request_is_the_measured_frame() {
    // serial.md §9: `00 08 2400 00000000 07071220 55×32`
    let mut data = vec![0x07, 0x07, 0x12, 0x20];
    data.extend([0x55; 32]);
    let bytes = Request::new(Opcode::Sync, data, 0).to_bytes();
    assert_eq!(&bytes[..8], &[0, 8, 0x24, 0, 0, 0, 0, 0]);
    let req = Request::parse(&bytes).unwrap();
    assert_eq!(Command::parse(&req), Ok(Command::Sync));
}

#[test]
fn flash_data_checks_length_and_checksum() {
    let req = Request::block(Opcode::FlashData, 3, &[1, 2, 3]);
    let Command::FlashData(b) = Command::parse(&req).unwrap() else {
        panic!()
    };
    assert_eq!(
        (b.seq, b.checksum_ok, &b.data[..]),
        (3, true, &[1u8, 2, 3][..])
    );
    let mut bad = req.clone();
    bad.checksum ^= 1;
    let Command::FlashData(b) = Command::parse(&bad).unwrap() else {
        panic!()
    };
    assert!(!b.checksum_ok);
    let mut short = req;
    short.data.pop();
    assert!(matches!(
        Command::parse(&short),
        Err(CommandError::BlockLength { .. })
    ));
}

#[test]
fn flash_begin_has_an_optional_encrypted_word() {
    let rom32 = Request::words(Opcode::FlashBegin, &[0x1000, 1, 0x400, 0x20000]);
    let c3 = Request::words(Opcode::FlashBegin, &[0x1000, 1, 0x400, 0x20000, 1]);
    assert!(matches!(
        Command::parse(&rom32),
        Ok(Command::FlashBegin(FlashBegin {
            encrypted: None,
            ..
        }))
    ));
    assert!(matches!(
        Command::parse(&c3),
        Ok(Command::FlashBegin(FlashBegin {
            encrypted: Some(1),
            ..
        }))
    ));
}

#[test]
fn write_reg_entries_apply_the_mask() {
    let w = RegWrite {
        address: 0,
        value: 0xAB,
        mask: 0xF0,
        delay_us: 0,
    };
    assert_eq!(w.apply(0x1234_5678), 0x1234_56A8);
    let req = Request::words(Opcode::WriteReg, &[1, 2, 3]);
    assert_eq!(Command::parse(&req), Err(CommandError::RegEntries(12)));
}
