//! Unit tests over a RAM NOR flash that enforces NOR semantics (sector
//! erase, program only erased cells once, write alignment) and can cut the
//! power before any operation.

#![allow(clippy::unwrap_used)]

extern crate std;

use std::vec;
use std::vec::Vec;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use sha2::{Digest, Sha256};

use crate::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestFlashError {
    PowerCut,
    NotAligned,
    OutOfBounds,
    NotErased,
}

impl NorFlashError for TestFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            TestFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            TestFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// RAM NOR flash: uniform sectors, runtime write size, programming only
/// cells that read as erased (a byte that received a non-erased value cannot
/// be programmed again before an erase, as on NOR; writing the erased value
/// is physically a no-op and leaves the cell programmable), counts
/// operations and cuts the power before operation `cut_at`.
#[derive(Clone)]
struct TestFlash {
    mem: Vec<u8>,
    programmed: Vec<bool>,
    sector: u32,
    /// Non-uniform sector map; `sector` is used when empty.
    runs: Vec<SectorRun>,
    write_size: u32,
    erased: u8,
    ops: u64,
    cut_at: Option<u64>,
    /// (address, erase?, bytes) of every operation, when recording.
    log: Option<Vec<(u32, bool, u32)>>,
}

impl TestFlash {
    fn new(size: usize, sector: u32, write_size: u32, erased: u8) -> Self {
        TestFlash {
            mem: vec![erased; size],
            programmed: vec![false; size],
            sector,
            runs: Vec::new(),
            write_size,
            erased,
            ops: 0,
            cut_at: None,
            log: None,
        }
    }

    fn op(&mut self) -> Result<(), TestFlashError> {
        self.ops += 1;
        if self.cut_at == Some(self.ops) {
            return Err(TestFlashError::PowerCut);
        }
        Ok(())
    }

    /// Programs bytes as the host would (esptool write_flash): erases the
    /// covered sectors first.
    /// (start, size) of the sector holding `addr`.
    fn sector_of(&self, addr: u32) -> (u32, u32) {
        for r in &self.runs {
            if addr >= r.start && addr < r.start + r.sector_size * r.count {
                return (
                    r.start + (addr - r.start) / r.sector_size * r.sector_size,
                    r.sector_size,
                );
            }
        }
        (addr / self.sector * self.sector, self.sector)
    }

    fn load(&mut self, addr: u32, data: &[u8]) {
        let start = self.sector_of(addr).0 as usize;
        let (l, ls) = self.sector_of(addr + data.len() as u32 - 1);
        let end = (l + ls) as usize;
        self.mem[start..end].fill(self.erased);
        self.programmed[start..end].fill(false);
        let a = addr as usize;
        self.mem[a..a + data.len()].copy_from_slice(data);
        for (p, &b) in self.programmed[a..a + data.len()].iter_mut().zip(data) {
            *p = b != self.erased;
        }
    }
}

impl ErrorType for TestFlash {
    type Error = TestFlashError;
}

impl ReadNorFlash for TestFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let o = offset as usize;
        let src = self
            .mem
            .get(o..o + bytes.len())
            .ok_or(TestFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for TestFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 1;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        // Exactly one sector per erase, as MCUboot issues them.
        let (start, size) = self.sector_of(from);
        if from != start || to != start + size {
            return Err(TestFlashError::NotAligned);
        }
        if to as usize > self.mem.len() {
            return Err(TestFlashError::OutOfBounds);
        }
        self.op()?;
        if let Some(l) = &mut self.log {
            l.push((from, true, to - from));
        }
        self.mem[from as usize..to as usize].fill(self.erased);
        self.programmed[from as usize..to as usize].fill(false);
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if !offset.is_multiple_of(self.write_size)
            || !(bytes.len() as u32).is_multiple_of(self.write_size)
        {
            return Err(TestFlashError::NotAligned);
        }
        let o = offset as usize;
        if o + bytes.len() > self.mem.len() {
            return Err(TestFlashError::OutOfBounds);
        }
        if self.programmed[o..o + bytes.len()].iter().any(|&p| p) {
            return Err(TestFlashError::NotErased);
        }
        self.op()?;
        if let Some(l) = &mut self.log {
            l.push((offset, false, bytes.len() as u32));
        }
        self.mem[o..o + bytes.len()].copy_from_slice(bytes);
        for (p, &b) in self.programmed[o..o + bytes.len()].iter_mut().zip(bytes) {
            *p = b != self.erased;
        }
        Ok(())
    }
}

/// Options for a hand-built test image (hash-only, SHA-256).
#[derive(Clone, Copy)]
struct Img {
    version: (u8, u8, u16, u32),
    payload: usize,
    seed: u8,
    sec_cnt: Option<u32>,
    dep: Option<(u8, (u8, u8, u16, u32))>,
    corrupt: bool,
    /// Ed25519 signing key seed: adds KEYHASH + ED25519 TLVs.
    signer: Option<[u8; 32]>,
    /// `ih_flags` (compression and encryption flags as imgtool sets them).
    flags: mcuboot_image::ImageFlags,
}

/// Ed25519 SubjectPublicKeyInfo prefix (RFC 8410), as `imgtool getpub` embeds it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn ed25519_spki(seed: &[u8; 32]) -> Vec<u8> {
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    let mut v = ED25519_SPKI_PREFIX.to_vec();
    v.extend_from_slice(sk.verifying_key().as_bytes());
    v
}

impl Img {
    fn new(major: u8, minor: u8, payload: usize, seed: u8) -> Self {
        Img {
            version: (major, minor, 0, 0),
            payload,
            seed,
            sec_cnt: None,
            dep: None,
            corrupt: false,
            signer: None,
            flags: mcuboot_image::ImageFlags::empty(),
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut prot = Vec::new();
        if let Some(c) = self.sec_cnt {
            prot.extend_from_slice(&[0x50, 0, 4, 0]);
            prot.extend_from_slice(&c.to_le_bytes());
        }
        if let Some((id, (a, b, c, d))) = self.dep {
            prot.extend_from_slice(&[0x40, 0, 12, 0, id, 0, 0, 0, a, b]);
            prot.extend_from_slice(&c.to_le_bytes());
            prot.extend_from_slice(&d.to_le_bytes());
        }
        let prot_size = if prot.is_empty() { 0 } else { prot.len() + 4 };
        let hdr = ImageHeader {
            magic: mcuboot_image::IMAGE_MAGIC,
            hdr_size: 32,
            img_size: self.payload as u32,
            protect_tlv_size: prot_size as u16,
            flags: self.flags,
            version: ImageVersion {
                major: self.version.0,
                minor: self.version.1,
                revision: self.version.2,
                build: self.version.3,
            },
            ..ImageHeader::default()
        };
        let mut v = hdr.to_bytes().to_vec();
        let mut x = u32::from(self.seed)
            .wrapping_mul(2_654_435_761)
            .wrapping_add(12345);
        for _ in 0..self.payload {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            v.push((x >> 16) as u8);
        }
        if prot_size > 0 {
            v.extend_from_slice(&[0x08, 0x69]);
            v.extend_from_slice(&(prot_size as u16).to_le_bytes());
            v.extend_from_slice(&prot);
        }
        let hash = Sha256::digest(&v);
        let unprot_len: u16 = if self.signer.is_some() {
            4 + 36 + 36 + 68
        } else {
            40
        };
        v.extend_from_slice(&[0x07, 0x69]);
        v.extend_from_slice(&unprot_len.to_le_bytes());
        v.extend_from_slice(&[0x10, 0, 32, 0]);
        v.extend_from_slice(&hash);
        if let Some(seed) = self.signer {
            // Non-pure Ed25519 signs the 32-byte image digest (mcuboot.md §1.6).
            use ed25519_dalek::Signer;
            let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
            v.extend_from_slice(&[0x01, 0, 32, 0]);
            v.extend_from_slice(&Sha256::digest(ed25519_spki(&seed)));
            v.extend_from_slice(&[0x24, 0, 64, 0]);
            v.extend_from_slice(&sk.sign(&hash).to_bytes());
        }
        if self.corrupt {
            v[40] ^= 1;
        }
        v
    }
}

const SECTOR: u32 = 1024;

struct Dev {
    images: Vec<ImageSlots>,
    scratch: Area,
    strategy: UpgradeStrategy,
    write_size: u32,
    max_align: u32,
    erased: u8,
    downgrade: DowngradePrevention,
    bootstrap: bool,
}

impl Dev {
    /// Two 16-sector slots (+ a second image's) and a 1-sector scratch.
    fn new(strategy: UpgradeStrategy, write_size: u32, erased: u8) -> Self {
        let slot = 16 * SECTOR;
        Dev {
            images: vec![ImageSlots {
                primary: Area::new(0, slot),
                secondary: Area::new(slot, slot),
            }],
            scratch: Area::new(4 * slot, SECTOR),
            strategy,
            write_size,
            max_align: 8.max(write_size),
            erased,
            downgrade: DowngradePrevention::Off,
            bootstrap: false,
        }
    }

    fn two_images(mut self) -> Self {
        let slot = 16 * SECTOR;
        self.images.push(ImageSlots {
            primary: Area::new(2 * slot, slot),
            secondary: Area::new(3 * slot, slot),
        });
        self
    }

    fn cfg(&self) -> BootConfig<'_> {
        BootConfig {
            images: &self.images,
            scratch: Some(self.scratch),
            strategy: self.strategy,
            downgrade: self.downgrade,
            write_size: self.write_size,
            sectors: SectorLayout::Uniform(SECTOR),
            max_align: self.max_align,
            erased_val: self.erased,
            max_sectors: 16,
            bootstrap: self.bootstrap,
            keys: &[],
            signature: None,
            encryption: None,
        }
    }

    fn flash(&self) -> TestFlash {
        TestFlash::new(
            (4 * 16 + 1) * SECTOR as usize,
            SECTOR,
            self.write_size,
            self.erased,
        )
    }
}

fn version_of(flash: &mut TestFlash, cfg: &BootConfig<'_>, image: usize, slot: Slot) -> Option<u8> {
    slot_header(flash, cfg, image, slot)
        .unwrap()
        .map(|h| h.version.major)
}

fn booted_major(r: &BootResponse, image: usize) -> u8 {
    r.images[image].unwrap().header.version.major
}

fn slot_bytes(flash: &TestFlash, area: Area, len: usize) -> Vec<u8> {
    flash.mem[area.offset as usize..area.offset as usize + len].to_vec()
}

// ------------------------------------------------------------------ trailer

#[test]
fn trailer_offsets_match_mcuboot_for_every_max_align() {
    // mcuboot.md §2.2: image_ok at S-24 / S-32 / S-64 for A = 8 / 16 / 32.
    for (a, image_ok) in [(8u32, 24u32), (16, 32), (32, 64)] {
        let cfg = Dev {
            max_align: a,
            ..Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff)
        };
        let l = trailer::Layout::for_area(&cfg.cfg(), Area::new(0, 0x4000), false);
        assert_eq!(0x4000 - l.image_ok_off(), image_ok, "A={a}");
        assert_eq!(l.image_ok_off() - l.copy_done_off(), a);
        assert_eq!(l.copy_done_off() - l.swap_info_off(), a);
        assert_eq!(l.swap_info_off() - l.swap_size_off(), a);
    }
    // ESP defaults (mcuboot.md §7): M=512, W=4, A=8 -> trailer 6192 bytes;
    // offsets in a 0x150000 slot.
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let mut cfg = dev.cfg();
    cfg.max_sectors = 512;
    let l = trailer::Layout::for_area(&cfg, Area::new(0, 0x150000), false);
    assert_eq!(l.trailer_size(), 6192);
    assert_eq!(l.status_off(), 0x14E7D0);
    assert_eq!(l.swap_size_off(), 0x14FFD0);
    assert_eq!(l.swap_info_off(), 0x14FFD8);
    assert_eq!(l.scratch_trailer_size(), 60);
}

#[test]
fn set_pending_permanent_writes_what_boot_set_pending_writes() {
    for (a, w, erased) in [
        (8u32, 4u32, 0xffu8),
        (8, 1, 0x00),
        (32, 32, 0xff),
        (16, 8, 0xff),
    ] {
        let dev = Dev {
            max_align: a,
            ..Dev::new(UpgradeStrategy::SwapScratch, w, erased)
        };
        let cfg = dev.cfg();
        let mut f = dev.flash();
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let sec = dev.images[0].secondary;
        let end = (sec.offset + sec.size) as usize;
        // Magic in the last 16 bytes, erased padding before it up to A.
        assert_eq!(f.mem[end - 16..end], magic_for(a));
        if a == 32 {
            assert_eq!(&f.mem[end - 32..end - 16], &[erased; 16][..]);
            assert_eq!(&f.mem[end - 16..end - 14], &[0x20, 0x00]);
        }
        let ok = end
            - if a == 8 {
                24
            } else if a == 16 {
                32
            } else {
                64
            };
        assert_eq!(f.mem[ok], 0x01);
        assert!(f.mem[ok + 1..ok + w as usize].iter().all(|&b| b == erased));
        // Only W bytes are written per flag.
        assert!(f.mem[ok + w as usize..ok + a as usize]
            .iter()
            .all(|&b| b == erased));
        let info = ok - 2 * a as usize;
        assert_eq!(f.mem[info], 0x03, "swap_info = image 0, PERM");
        let st = read_trailer(&mut f, &cfg, 0, Slot::Secondary).unwrap();
        assert_eq!(st.magic, MagicState::Good);
        assert_eq!(st.image_ok, FlagState::Set);
        assert_eq!(st.swap_type, SwapType::Perm);
        // Already pending: nothing more is written.
        let ops = f.ops;
        set_pending(&mut f, &cfg, 0, false).unwrap();
        assert_eq!(f.ops, ops);
    }
}

#[test]
fn set_pending_refuses_a_corrupt_magic_and_confirm_ignores_erased() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    let sec = dev.images[0].secondary;
    f.load(sec.offset + sec.size - 16, &[0x12; 16]);
    assert_eq!(
        set_pending(&mut f, &cfg, 0, false),
        Err(BootError::BadTrailerMagic { image: 0 })
    );
    let ops = f.ops;
    set_confirmed(&mut f, &cfg, 0).unwrap();
    assert_eq!(f.ops, ops, "nothing written on an erased primary trailer");
    assert!(matches!(
        set_pending(&mut f, &cfg, 5, false),
        Err(BootError::Config(ConfigError::ImageIndex(5)))
    ));
}

fn st(magic: MagicState, image_ok: FlagState, copy_done: FlagState) -> TrailerState {
    TrailerState {
        magic,
        swap_type: SwapType::None,
        image_num: 0,
        copy_done,
        image_ok,
    }
}

#[test]
fn decision_table_rows() {
    use FlagState::{Bad, Set, Unset};
    use MagicState::{Good, Unset as MU};
    let s = UpgradeStrategy::SwapScratch;
    let none = st(MU, Unset, Unset);
    assert_eq!(decide_swap_type(&none, &none, s), SwapType::None);
    assert_eq!(
        decide_swap_type(&none, &st(Good, Unset, Unset), s),
        SwapType::Test
    );
    assert_eq!(
        decide_swap_type(&none, &st(Good, Set, Unset), s),
        SwapType::Perm
    );
    // A BAD image_ok in the secondary matches no row.
    assert_eq!(
        decide_swap_type(&none, &st(Good, Bad, Unset), s),
        SwapType::None
    );
    // Row 3: a swapped, unconfirmed test image reverts.
    assert_eq!(
        decide_swap_type(&st(Good, Unset, Set), &none, s),
        SwapType::Revert
    );
    assert_eq!(
        decide_swap_type(&st(Good, Set, Set), &none, s),
        SwapType::None
    );
    assert_eq!(
        decide_swap_type(&st(Good, Unset, Unset), &none, s),
        SwapType::None
    );
    // The secondary takes priority over a primary asking for revert.
    assert_eq!(
        decide_swap_type(&st(Good, Unset, Set), &st(Good, Unset, Unset), s),
        SwapType::Test
    );
    // Row 0 exists only with swap-offset.
    let sec = st(Good, Unset, Set);
    assert_eq!(decide_swap_type(&none, &sec, s), SwapType::Test);
    assert_eq!(
        decide_swap_type(&none, &sec, UpgradeStrategy::SwapOffset),
        SwapType::Revert
    );
}

// ---------------------------------------------------------------- upgrades

fn install(dev: &Dev, f: &mut TestFlash, image: usize, slot: Slot, img: &Img) -> Vec<u8> {
    let bytes = img.build();
    f.load(image_addr(dev, image, slot), &bytes);
    bytes
}

/// Where a new image goes: swap-offset wants it one sector into the secondary.
fn image_addr(dev: &Dev, image: usize, slot: Slot) -> u32 {
    match slot {
        Slot::Primary => dev.images[image].primary.offset,
        Slot::Secondary if dev.strategy == UpgradeStrategy::SwapOffset => {
            dev.images[image].secondary.offset + SECTOR
        }
        Slot::Secondary => dev.images[image].secondary.offset,
    }
}

#[test]
fn empty_device_has_nothing_to_boot() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let mut f = dev.flash();
    assert_eq!(
        boot(&mut f, &dev.cfg()),
        Err(BootError::NoBootableImage { image: 0 })
    );
}

fn test_upgrade_then_revert(strategy: UpgradeStrategy, w: u32, erased: u8) {
    let dev = Dev::new(strategy, w, erased);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    let old = install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
    let new = install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 7000, 2));
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!(r.swap[0], SwapType::None, "no pending request yet");
    assert_eq!(booted_major(&r, 0), 1);

    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!(r.swap[0], SwapType::Test);
    assert_eq!(booted_major(&r, 0), 2);
    assert_eq!(slot_bytes(&f, dev.images[0].primary, new.len()), new);
    let pri = read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap();
    if strategy == UpgradeStrategy::OverwriteOnly {
        // The whole slot is copied, trailer included; copy_done is not
        // written in overwrite-only mode.
        assert_eq!(
            (pri.magic, pri.image_ok, pri.copy_done),
            (MagicState::Good, FlagState::Unset, FlagState::Unset)
        );
        // The secondary is consumed; nothing to revert to.
        assert_eq!(version_of(&mut f, &cfg, 0, Slot::Secondary), None);
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 2));
        return;
    }
    assert_eq!(
        (pri.magic, pri.image_ok, pri.copy_done),
        (MagicState::Good, FlagState::Unset, FlagState::Set)
    );
    assert_eq!(slot_bytes(&f, dev.images[0].secondary, old.len()), old);
    let sec = read_trailer(&mut f, &cfg, 0, Slot::Secondary).unwrap();
    assert_eq!(
        (sec.magic, sec.image_ok, sec.copy_done),
        (MagicState::Unset, FlagState::Unset, FlagState::Unset)
    );

    // Not confirmed: the next boot reverts.
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!(r.swap[0], SwapType::Revert);
    assert_eq!(booted_major(&r, 0), 1);
    assert_eq!(slot_bytes(&f, dev.images[0].primary, old.len()), old);
    let sec_new = Area::new(image_addr(&dev, 0, Slot::Secondary), new.len() as u32);
    assert_eq!(slot_bytes(&f, sec_new, new.len()), new);
    let pri = read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap();
    assert_eq!(
        (pri.magic, pri.image_ok),
        (MagicState::Good, FlagState::Set)
    );
    // And stays reverted.
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
}

#[test]
fn swap_scratch_test_upgrade_then_revert() {
    for (w, erased) in [(1, 0xff), (4, 0xff), (8, 0x00), (32, 0xff)] {
        test_upgrade_then_revert(UpgradeStrategy::SwapScratch, w, erased);
    }
}

#[test]
fn swap_move_test_upgrade_then_revert() {
    for (w, erased) in [(1, 0xff), (4, 0x00), (8, 0xff), (32, 0xff)] {
        test_upgrade_then_revert(UpgradeStrategy::SwapMove, w, erased);
    }
}

#[test]
fn swap_offset_test_upgrade_then_revert() {
    for (w, erased) in [(1, 0xff), (4, 0x00), (8, 0xff), (32, 0xff)] {
        test_upgrade_then_revert(UpgradeStrategy::SwapOffset, w, erased);
    }
}

#[test]
fn swap_offset_refuses_an_image_at_sector_zero() {
    // "Wrong upload address": a new image must start at secondary sector 1.
    let dev = Dev::new(UpgradeStrategy::SwapOffset, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    f.load(
        dev.images[0].secondary.offset,
        &Img::new(2, 0, 3000, 2).build(),
    );
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
}

#[test]
fn overwrite_only_upgrade() {
    for (w, erased) in [(1, 0x00), (4, 0xff), (32, 0xff)] {
        test_upgrade_then_revert(UpgradeStrategy::OverwriteOnly, w, erased);
    }
}

#[test]
fn confirmed_test_image_stays() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 3000, 2));
    set_pending(&mut f, &cfg, 0, false).unwrap();
    assert_eq!(booted_major(&boot(&mut f, &cfg).unwrap(), 0), 2);
    set_confirmed(&mut f, &cfg, 0).unwrap();
    for _ in 0..3 {
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 2));
    }
}

#[test]
fn permanent_upgrade_does_not_revert() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 3000, 2));
    set_pending(&mut f, &cfg, 0, true).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Perm, 2));
    let pri = read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap();
    assert_eq!(
        (pri.magic, pri.image_ok, pri.copy_done),
        (MagicState::Good, FlagState::Set, FlagState::Set)
    );
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 2));
}

#[test]
fn invalid_upgrade_is_refused_and_erased() {
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::OverwriteOnly,
    ] {
        let dev = Dev::new(strategy, 4, 0xff);
        let cfg = dev.cfg();
        let mut f = dev.flash();
        let old = install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
        let bad = Img {
            corrupt: true,
            ..Img::new(2, 0, 3000, 2)
        };
        install(&dev, &mut f, 0, Slot::Secondary, &bad);
        set_pending(&mut f, &cfg, 0, false).unwrap();
        let pri_before = read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap();
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
        assert_eq!(slot_bytes(&f, dev.images[0].primary, old.len()), old);
        assert_eq!(
            read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap(),
            pri_before
        );
        let sec = dev.images[0].secondary;
        assert!(
            slot_bytes(&f, sec, sec.size as usize)
                .iter()
                .all(|&b| b == 0xff),
            "{strategy:?}"
        );
    }
}

/// `imgtool sign --compression` (with and without `-E`) sets these flags.
/// MCUboot decompresses only in builds with `MCUBOOT_DECOMPRESS_IMAGES`
/// (and decrypts only with `MCUBOOT_ENC_IMAGES`); the Espressif port has
/// neither, so `boot_image_check` fails such an upgrade: it is refused and
/// erased, and the primary keeps booting, untouched.
#[test]
fn compressed_upgrades_are_refused_and_the_primary_keeps_booting() {
    use mcuboot_image::ImageFlags;
    let lzma2 = ImageFlags::COMPRESSED_LZMA2;
    let thumb = ImageFlags::COMPRESSED_LZMA2 | ImageFlags::COMPRESSED_ARM_THUMB_FLT;
    let encrypted = ImageFlags::COMPRESSED_LZMA2 | ImageFlags::ENCRYPTED_AES128;
    for (flags, refusal) in [
        (lzma2, SlotRefusal::Compressed),
        (thumb, SlotRefusal::Compressed),
        (encrypted, SlotRefusal::Encrypted),
    ] {
        for strategy in [
            UpgradeStrategy::SwapScratch,
            UpgradeStrategy::SwapMove,
            UpgradeStrategy::OverwriteOnly,
        ] {
            let dev = Dev::new(strategy, 4, 0xff);
            let cfg = dev.cfg();
            let mut f = dev.flash();
            let old = install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
            let compressed = Img {
                flags,
                ..Img::new(2, 0, 2000, 2)
            };
            install(&dev, &mut f, 0, Slot::Secondary, &compressed);
            set_pending(&mut f, &cfg, 0, false).unwrap();
            let r = boot(&mut f, &cfg).unwrap();
            assert_eq!(
                (r.swap[0], booted_major(&r, 0)),
                (SwapType::None, 1),
                "{strategy:?} {flags:?}"
            );
            // the boot reports why it erased the upgrade
            assert_eq!(r.refused[0], Some(refusal), "{strategy:?} {flags:?}");
            assert_eq!(slot_bytes(&f, dev.images[0].primary, old.len()), old);
            let sec = dev.images[0].secondary;
            assert!(
                slot_bytes(&f, sec, sec.size as usize)
                    .iter()
                    .all(|&b| b == 0xff),
                "{strategy:?} {flags:?}: the refused upgrade is erased"
            );

            // The same image found in the primary slot is not booted, and
            // the reason is the flag.
            let mut f = dev.flash();
            install(&dev, &mut f, 0, Slot::Primary, &compressed);
            assert!(
                matches!(
                    boot(&mut f, &cfg),
                    Err(BootError::NoBootableImage { image: 0 })
                ),
                "{strategy:?} {flags:?}"
            );
            assert_eq!(
                primary_slot_refusal(&mut f, &cfg, 0).unwrap(),
                Some(refusal),
                "{strategy:?} {flags:?}"
            );
        }
    }
}

#[test]
fn signed_upgrades_need_an_embedded_key() {
    let (good, other) = ([7u8; 32], [9u8; 32]);
    let spki = ed25519_spki(&good);
    let keys: [&[u8]; 1] = [&spki];
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let mut cfg = dev.cfg();
    cfg.keys = &keys;
    cfg.signature = Some(SignatureKind::Ed25519);
    let mut f = dev.flash();
    let signed = |major, seed, signer| Img {
        signer: Some(signer),
        ..Img::new(major, 0, 3000, seed)
    };
    install(&dev, &mut f, 0, Slot::Primary, &signed(1, 1, good));
    assert_eq!(booted_major(&boot(&mut f, &cfg).unwrap(), 0), 1);
    // Signed by an unknown key: refused and erased.
    install(&dev, &mut f, 0, Slot::Secondary, &signed(2, 2, other));
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
    assert_eq!(version_of(&mut f, &cfg, 0, Slot::Secondary), None);
    // Unsigned (hash only): refused.
    install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 3000, 3));
    set_pending(&mut f, &cfg, 0, false).unwrap();
    assert_eq!(boot(&mut f, &cfg).unwrap().swap[0], SwapType::None);
    // Signed by the embedded key: accepted.
    install(&dev, &mut f, 0, Slot::Secondary, &signed(2, 4, good));
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Test, 2));
    // A primary that fails validation does not boot (validated on every boot).
    set_confirmed(&mut f, &cfg, 0).unwrap();
    let pri = dev.images[0].primary;
    let mut byte = [0u8; 1];
    byte[0] = f.mem[pri.offset as usize + 100] ^ 0xff;
    f.mem[pri.offset as usize + 100] = byte[0];
    assert_eq!(
        boot(&mut f, &cfg),
        Err(BootError::NoBootableImage { image: 0 })
    );
}

#[test]
fn swap_scratch_on_non_uniform_sectors() {
    // STM32F4-like, scaled down: the primary has 1K/4K/8K sectors, the
    // secondary 8K ones, the scratch one 8K sector.
    let runs = [
        SectorRun {
            start: 0,
            sector_size: 1024,
            count: 4,
        },
        SectorRun {
            start: 4096,
            sector_size: 4096,
            count: 1,
        },
        SectorRun {
            start: 8192,
            sector_size: 8192,
            count: 4,
        },
    ];
    let images = [ImageSlots {
        primary: Area::new(0, 0x4000),
        secondary: Area::new(0x4000, 0x4000),
    }];
    // (Swap-move/offset need equal sectors; MCUboot's simulator excludes
    // them on such devices.)
    {
        let strategy = UpgradeStrategy::SwapScratch;
        let cfg = BootConfig {
            images: &images,
            scratch: Some(Area::new(0x8000, 0x2000)),
            strategy,
            downgrade: DowngradePrevention::Off,
            write_size: 4,
            sectors: SectorLayout::Runs(&runs),
            max_align: 8,
            erased_val: 0xff,
            max_sectors: 16,
            bootstrap: false,
            keys: &[],
            signature: None,
            encryption: None,
        };
        let mut base = TestFlash::new(0xa000, 1024, 4, 0xff);
        base.runs = runs.to_vec();
        let max = max_image_size(&mut base, &cfg, 0).unwrap();
        assert_eq!(max, 0x4000 - 240);
        // The new image reaches the trailer's sector: the top region keeps
        // its status in the scratch trailer.
        let old = Img::new(1, 0, 7000, 1).build();
        let new = Img::new(2, 0, 12000, 2).build();
        base.load(0, &old);
        base.load(0x4000, &new);
        set_pending(&mut base, &cfg, 0, true).unwrap();
        let mut clean = base.clone();
        clean.ops = 0;
        assert_eq!(boot(&mut clean, &cfg).unwrap().swap[0], SwapType::Perm);
        assert_eq!(clean.mem[..new.len()], new[..]);
        assert_eq!(clean.mem[0x4000..0x4000 + old.len()], old[..]);
        let want = clean.mem[..0x8000].to_vec();
        for n in 1..=clean.ops {
            let mut f = base.clone();
            f.ops = 0;
            f.cut_at = Some(n);
            assert!(boot(&mut f, &cfg).is_err());
            f.cut_at = None;
            assert_eq!(booted_major(&boot(&mut f, &cfg).unwrap(), 0), 2, "cut {n}");
            assert!(f.mem[..0x8000] == want[..], "cut {n}");
        }
    }
}

#[test]
fn esp32c3_default_layout_upgrade() {
    // port/esp32c3/bootloader.conf: slots of 0x1C0000 at 0x20000/0x1E0000,
    // scratch 0x1F000 at 0x3E0000, 4 KiB sectors, M=512, W=4.
    let images = [ImageSlots {
        primary: Area::new(0x20000, 0x1C0000),
        secondary: Area::new(0x1E0000, 0x1C0000),
    }];
    let cfg = BootConfig {
        images: &images,
        scratch: Some(Area::new(0x3E0000, 0x1F000)),
        strategy: UpgradeStrategy::SwapScratch,
        downgrade: DowngradePrevention::Off,
        write_size: 4,
        sectors: SectorLayout::Uniform(4096),
        max_align: 8,
        erased_val: 0xff,
        max_sectors: 512,
        bootstrap: false,
        keys: &[],
        signature: None,
        encryption: None,
    };
    let mut f = TestFlash::new(0x400000, 4096, 4, 0xff);
    let old = Img::new(1, 0, 150_000, 1).build();
    let new = Img::new(2, 0, 300_000, 2).build();
    f.load(0x20000, &old);
    f.load(0x1E0000, &new);
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Test, 2));
    assert_eq!(r.images[0].unwrap().area.offset, 0x20000);
    assert_eq!(f.mem[0x20000..0x20000 + new.len()], new[..]);
    assert_eq!(f.mem[0x1E0000..0x1E0000 + old.len()], old[..]);
    // Trailer at the port's documented offsets (mcuboot.md §7): copy_done
    // at slot+0x1BFFE0 is set, magic at slot+0x1BFFF0.
    assert_eq!(f.mem[0x20000 + 0x1BFFE0], 0x01);
    assert_eq!(f.mem[0x20000 + 0x1BFFF0..0x20000 + 0x1C0000], MAGIC_ALIGN8);
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Revert, 1));
}

#[test]
fn oversized_upgrade_is_refused() {
    // Swap-scratch: the image must end before the trailer (16 records * 3 * 4 + 48).
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    let max = max_image_size(&mut f, &cfg, 0).unwrap();
    assert_eq!(max, 16 * SECTOR - (16 * 3 * 4 + 48));
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    // 32 header + payload + 40 TLV bytes = max + 1.
    let big = Img::new(2, 0, max as usize - 72 + 1, 2);
    install(&dev, &mut f, 0, Slot::Secondary, &big);
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
    // Exactly the maximum is accepted.
    let fits = Img::new(2, 0, max as usize - 72, 3);
    install(&dev, &mut f, 0, Slot::Secondary, &fits);
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Test, 2));
}

#[test]
fn leftover_secondary_trailer_is_erased() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    set_pending(&mut f, &cfg, 0, false).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
    let sec = read_trailer(&mut f, &cfg, 0, Slot::Secondary).unwrap();
    assert_eq!(sec.magic, MagicState::Unset);
}

#[test]
fn padded_primary_with_empty_secondary_does_nothing() {
    // imgtool --pad puts the magic in the primary trailer: no revert.
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 3000, 1));
    let pri = dev.images[0].primary;
    f.load(pri.offset + pri.size - 16, &MAGIC_ALIGN8);
    let ops = f.ops;
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
    assert_eq!(f.ops, ops, "no flash operation");
}

#[test]
fn bootstrap_fills_an_empty_primary() {
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::OverwriteOnly,
    ] {
        let dev = Dev {
            bootstrap: true,
            ..Dev::new(strategy, 4, 0xff)
        };
        let cfg = dev.cfg();
        let mut f = dev.flash();
        let img = install(&dev, &mut f, 0, Slot::Secondary, &Img::new(3, 0, 4000, 1));
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!(
            (r.swap[0], booted_major(&r, 0)),
            (SwapType::Revert, 3),
            "{strategy:?}"
        );
        assert_eq!(slot_bytes(&f, dev.images[0].primary, img.len()), img);
        // Without bootstrap nothing boots.
        let dev = Dev::new(strategy, 4, 0xff);
        let mut f = dev.flash();
        install(&dev, &mut f, 0, Slot::Secondary, &Img::new(3, 0, 4000, 1));
        assert_eq!(
            boot(&mut f, &dev.cfg()),
            Err(BootError::NoBootableImage { image: 0 })
        );
    }
}

#[test]
fn downgrade_prevention_by_version_and_security_counter() {
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::OverwriteOnly,
    ] {
        // Version: lower refused (and erased), equal allowed.
        let dev = Dev {
            downgrade: DowngradePrevention::Version,
            ..Dev::new(strategy, 4, 0xff)
        };
        let cfg = dev.cfg();
        let mut f = dev.flash();
        install(&dev, &mut f, 0, Slot::Primary, &Img::new(2, 1, 3000, 1));
        install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 3000, 2));
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!(r.swap[0], SwapType::None, "{strategy:?}");
        assert_eq!(r.images[0].unwrap().header.version.minor, 1);
        assert_eq!(version_of(&mut f, &cfg, 0, Slot::Secondary), None);
        install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 1, 3000, 3));
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!(
            r.swap[0],
            SwapType::Perm,
            "{strategy:?}: equal versions allowed"
        );
    }
    // Security counter (swap modes): lower counter refused even with a higher version.
    let dev = Dev {
        downgrade: DowngradePrevention::SecurityCounter,
        ..Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff)
    };
    let cfg = dev.cfg();
    let mut f = dev.flash();
    install(
        &dev,
        &mut f,
        0,
        Slot::Primary,
        &Img {
            sec_cnt: Some(5),
            ..Img::new(1, 0, 3000, 1)
        },
    );
    install(
        &dev,
        &mut f,
        0,
        Slot::Secondary,
        &Img {
            sec_cnt: Some(4),
            ..Img::new(9, 0, 3000, 2)
        },
    );
    set_pending(&mut f, &cfg, 0, true).unwrap();
    assert_eq!(boot(&mut f, &cfg).unwrap().swap[0], SwapType::None);
    // Missing counter in the upgrade: refused.
    install(&dev, &mut f, 0, Slot::Secondary, &Img::new(9, 0, 3000, 3));
    set_pending(&mut f, &cfg, 0, true).unwrap();
    assert_eq!(boot(&mut f, &cfg).unwrap().swap[0], SwapType::None);
    // Equal counter, lower version: allowed.
    install(
        &dev,
        &mut f,
        0,
        Slot::Secondary,
        &Img {
            sec_cnt: Some(5),
            ..Img::new(0, 1, 3000, 4)
        },
    );
    set_pending(&mut f, &cfg, 0, true).unwrap();
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Perm, 0));
}

#[test]
fn dependencies_gate_all_upgrades() {
    let v = |a: u8| (a, 0u8, 0u16, 0u32);
    // Image 0 v2 needs image 1 >= 2; image 1 upgrade to v2 pending too: both go.
    let run = |img1_new: Option<u8>| {
        let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff).two_images();
        let cfg = dev.cfg();
        let mut f = dev.flash();
        install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 2000, 1));
        install(&dev, &mut f, 1, Slot::Primary, &Img::new(1, 0, 2000, 2));
        install(
            &dev,
            &mut f,
            0,
            Slot::Secondary,
            &Img {
                dep: Some((1, v(2))),
                ..Img::new(2, 0, 2000, 3)
            },
        );
        set_pending(&mut f, &cfg, 0, true).unwrap();
        if let Some(m) = img1_new {
            install(&dev, &mut f, 1, Slot::Secondary, &Img::new(m, 0, 2000, 4));
            set_pending(&mut f, &cfg, 1, true).unwrap();
        }
        let r = boot(&mut f, &cfg).unwrap();
        (r.swap, booted_major(&r, 0), booted_major(&r, 1))
    };
    assert_eq!(run(Some(2)), ([SwapType::Perm, SwapType::Perm], 2, 2));
    // Unmet: neither image is upgraded (MCUboot disables all upgrades).
    assert_eq!(run(Some(1)), ([SwapType::None, SwapType::None], 1, 1));
    assert_eq!(run(None), ([SwapType::None, SwapType::None], 1, 1));
}

// -------------------------------------------------------------- resumption

/// Flash contents that must match after any interrupted-then-resumed boot:
/// every slot (whole area). The scratch area is excluded.
fn slots_snapshot(dev: &Dev, f: &TestFlash) -> Vec<u8> {
    let mut v = Vec::new();
    for s in &dev.images {
        for a in [s.primary, s.secondary] {
            v.extend_from_slice(&slot_bytes(f, a, a.size as usize));
        }
    }
    v
}

/// What must equal the uninterrupted outcome after a cut and resumption.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    /// Every byte of every slot.
    Slots,
    /// MCUboot's simulator invariant: the slot contents below the trailer
    /// and the magic/image_ok/copy_done of both trailers (swap_info and the
    /// status records may legitimately differ).
    Semantic,
    /// The primary slot's contents and trailer flags only.
    PrimaryOnly,
}

/// Runs `prepare`, then one boot cut before operation n for every n, then
/// uninterrupted boots; the outcome must equal the uninterrupted one.
fn every_cut_point(dev: &Dev, prepare: &dyn Fn(&mut TestFlash), follow_up_boots: usize) -> u64 {
    every_cut_point_with(dev, prepare, follow_up_boots, Compare::Slots)
}

fn every_cut_point_with(
    dev: &Dev,
    prepare: &dyn Fn(&mut TestFlash),
    follow_up_boots: usize,
    compare: Compare,
) -> u64 {
    let snapshot = |f: &mut TestFlash| {
        if compare == Compare::Slots {
            return slots_snapshot(dev, f);
        }
        let cfg = dev.cfg();
        let mut v = Vec::new();
        for (i, s) in dev.images.iter().enumerate() {
            for (slot, a) in [(Slot::Primary, s.primary), (Slot::Secondary, s.secondary)] {
                if compare == Compare::PrimaryOnly && slot == Slot::Secondary {
                    continue;
                }
                let tr = trailer::Layout::for_area(&cfg, a, false).trailer_size();
                v.extend_from_slice(&slot_bytes(f, a, (a.size - tr) as usize));
                let t = read_trailer(f, &cfg, i, slot).unwrap();
                v.extend_from_slice(&[t.magic as u8, t.image_ok as u8, t.copy_done as u8]);
            }
        }
        v
    };
    let cfg = dev.cfg();
    let mut base = dev.flash();
    prepare(&mut base);
    let mut clean = base.clone();
    clean.ops = 0;
    let want_rsp = boot(&mut clean, &cfg).unwrap();
    let total = clean.ops;
    for _ in 0..follow_up_boots {
        boot(&mut clean, &cfg).unwrap();
    }
    let want = snapshot(&mut clean);
    assert!(total > 10, "the scenario should do work ({total} ops)");
    for n in 1..=total {
        let mut f = base.clone();
        f.ops = 0;
        f.cut_at = Some(n);
        assert_eq!(
            boot(&mut f, &cfg),
            Err(BootError::Flash(TestFlashError::PowerCut)),
            "cut {n}"
        );
        f.cut_at = None;
        let snap = f.clone();
        let r = match boot(&mut f, &cfg) {
            Ok(r) => r,
            Err(e) => {
                let mut snap = snap;
                report_difference(dev, &mut clean, &mut snap, n);
                panic!("resume after cut {n}: {e:?}")
            }
        };
        assert_eq!(
            r.images.map(|i| i.map(|b| b.header)),
            want_rsp.images.map(|i| i.map(|b| b.header)),
            "cut {n}"
        );
        for _ in 0..follow_up_boots {
            boot(&mut f, &cfg).unwrap();
        }
        if snapshot(&mut f) != want {
            report_difference(dev, &mut clean, &mut f, n);
            panic!("cut at op {n} of {total}: slots differ");
        }
    }
    total
}

/// Prints what differs between the clean and the resumed outcome.
fn report_difference(dev: &Dev, clean: &mut TestFlash, f: &mut TestFlash, n: u64) {
    let cfg = dev.cfg();
    for (i, s) in dev.images.iter().enumerate() {
        for (slot, a) in [(Slot::Primary, s.primary), (Slot::Secondary, s.secondary)] {
            std::eprintln!(
                "cut {n}: image {i} {slot:?}: trailer clean {:?} / resumed {:?}; version clean {:?} / resumed {:?}",
                read_trailer(clean, &cfg, i, slot).unwrap(),
                read_trailer(f, &cfg, i, slot).unwrap(),
                slot_header(clean, &cfg, i, slot).unwrap().map(|h| h.version.major),
                slot_header(f, &cfg, i, slot).unwrap().map(|h| h.version.major),
            );
            let x = slot_bytes(clean, a, a.size as usize);
            let y = slot_bytes(f, a, a.size as usize);
            if let Some(k) = x.iter().zip(&y).position(|(p, q)| p != q) {
                std::eprintln!("  first difference at {k:#x}");
            }
        }
    }
}

#[test]
fn swap_scratch_resumes_after_a_cut_at_every_operation() {
    for (w, erased, payload) in [
        (4, 0xff, 9000),
        (1, 0x00, 14000),
        (8, 0xff, 16 * 1024),
        (32, 0xff, 6000),
        // W=32: the trailer (1696 bytes) spans two sectors; largest image.
        (32, 0xff, 16 * 1024),
    ] {
        for permanent in [false, true] {
            let dev = Dev::new(UpgradeStrategy::SwapScratch, w, erased);
            let cfg = dev.cfg();
            let max = {
                let mut f = dev.flash();
                max_image_size(&mut f, &cfg, 0).unwrap() as usize
            };
            let payload = payload.min(max - 72);
            let prepare = |f: &mut TestFlash| {
                install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 7000, 1));
                install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, payload, 2));
                set_pending(f, &cfg, 0, permanent).unwrap();
            };
            every_cut_point(&dev, &prepare, 0);
        }
    }
}

#[test]
fn swap_move_resumes_after_a_cut_at_every_operation() {
    for (w, erased, payload) in [(4, 0xff, 9000), (1, 0x00, 14336 - 72), (32, 0xff, 3000)] {
        for permanent in [false, true] {
            let dev = Dev::new(UpgradeStrategy::SwapMove, w, erased);
            let cfg = dev.cfg();
            let max = max_image_size(&mut dev.flash(), &cfg, 0).unwrap() as usize;
            let payload = payload.min(max - 72);
            let prepare = |f: &mut TestFlash| {
                install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 12000, 1));
                install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, payload, 2));
                set_pending(f, &cfg, 0, permanent).unwrap();
            };
            every_cut_point(&dev, &prepare, 0);
        }
    }
}

#[test]
fn swap_move_revert_resumes_after_a_cut_at_every_operation() {
    let dev = Dev::new(UpgradeStrategy::SwapMove, 4, 0xff);
    let cfg = dev.cfg();
    let prepare = |f: &mut TestFlash| {
        install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 11000, 1));
        install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, 6000, 2));
        set_pending(f, &cfg, 0, false).unwrap();
        assert_eq!(boot(f, &cfg).unwrap().swap[0], SwapType::Test);
    };
    // A cut between fixup_revert and the primary trailer's re-initialisation
    // resumes as a PERM swap (swap_info 3 instead of 4), by design.
    every_cut_point_with(&dev, &prepare, 1, Compare::Semantic);
}

#[test]
fn swap_offset_resumes_after_a_cut_at_every_operation() {
    for (w, erased, payload) in [(4, 0xff, 9000), (1, 0x00, 15360 - 72), (32, 0xff, 3000)] {
        for permanent in [false, true] {
            let dev = Dev::new(UpgradeStrategy::SwapOffset, w, erased);
            let cfg = dev.cfg();
            let max = max_image_size(&mut dev.flash(), &cfg, 0).unwrap() as usize;
            let payload = payload.min(max - 72);
            let prepare = |f: &mut TestFlash| {
                install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 12000, 1));
                install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, payload, 2));
                set_pending(f, &cfg, 0, permanent).unwrap();
            };
            every_cut_point(&dev, &prepare, 0);
        }
    }
}

#[test]
fn swap_offset_revert_resumes_after_a_cut_at_every_operation() {
    let dev = Dev::new(UpgradeStrategy::SwapOffset, 4, 0xff);
    let cfg = dev.cfg();
    let prepare = |f: &mut TestFlash| {
        install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 11000, 1));
        install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, 6000, 2));
        set_pending(f, &cfg, 0, false).unwrap();
        assert_eq!(boot(f, &cfg).unwrap().swap[0], SwapType::Test);
    };
    every_cut_point_with(&dev, &prepare, 1, Compare::Semantic);
}

#[test]
fn two_image_upgrades_resume_after_a_cut_at_every_operation() {
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::SwapOffset,
    ] {
        for permanent in [false, true] {
            let dev = Dev::new(strategy, 4, 0xff).two_images();
            let cfg = dev.cfg();
            let prepare = |f: &mut TestFlash| {
                install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
                install(&dev, f, 1, Slot::Primary, &Img::new(1, 0, 4000, 2));
                let dep = Some((1, (2, 0, 0, 0)));
                install(
                    &dev,
                    f,
                    0,
                    Slot::Secondary,
                    &Img {
                        dep,
                        ..Img::new(2, 0, 6000, 3)
                    },
                );
                install(&dev, f, 1, Slot::Secondary, &Img::new(2, 0, 3000, 4));
                set_pending(f, &cfg, 0, permanent).unwrap();
                set_pending(f, &cfg, 1, permanent).unwrap();
            };
            // Two boots after the cut: a cut between the two images'
            // swaps must not turn into a revert of the first.
            let compare = if permanent {
                Compare::Slots
            } else {
                Compare::Semantic
            };
            every_cut_point_with(&dev, &prepare, 1, compare);
        }
    }
}

#[test]
fn swap_scratch_revert_resumes_after_a_cut_at_every_operation() {
    let dev = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let cfg = dev.cfg();
    let prepare = |f: &mut TestFlash| {
        install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 11000, 1));
        install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, 6000, 2));
        set_pending(f, &cfg, 0, false).unwrap();
        assert_eq!(boot(f, &cfg).unwrap().swap[0], SwapType::Test);
    };
    every_cut_point(&dev, &prepare, 1);
}

/// A cut before the last operation (erasing the secondary's last sector)
/// leaves the secondary trailer behind: overwrite-only MCUboot does not
/// scramble the trailer of an erased-header secondary (that is under
/// `MCUBOOT_SWAP_USING_*` in `boot_validate_slot`), so only the primary slot
/// is compared.
#[test]
fn overwrite_only_resumes_after_a_cut_at_every_operation() {
    let dev = Dev::new(UpgradeStrategy::OverwriteOnly, 4, 0xff);
    let cfg = dev.cfg();
    let prepare = |f: &mut TestFlash| {
        install(&dev, f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
        install(&dev, f, 0, Slot::Secondary, &Img::new(2, 0, 9000, 2));
        set_pending(f, &cfg, 0, false).unwrap();
    };
    every_cut_point_with(&dev, &prepare, 0, Compare::PrimaryOnly);
}

// ------------------------------------------------ images made by imgtool 2.5.0

/// Fixtures from `tests/data` (see its README for the imgtool commands).
mod imgtool {
    pub const PUBKEY: &[u8] = include_bytes!("../tests/data/ed25519-pub.der");
    pub const PRI_CONFIRMED: &[u8] = include_bytes!("../tests/data/pri-confirmed.bin");
    pub const SEC_TEST: &[u8] = include_bytes!("../tests/data/sec-test.bin");
    pub const SEC_PERM: &[u8] = include_bytes!("../tests/data/sec-perm.bin");
    pub const SEC_PERM_A32: &[u8] = include_bytes!("../tests/data/sec-perm-a32.bin");
    pub const SEC_PLAIN_DEPS: &[u8] = include_bytes!("../tests/data/sec-plain-deps.bin");
    pub const IMG_V04: &[u8] = include_bytes!("../tests/data/img-v0.4.bin");
}

/// The image part of an imgtool output (without `--pad` padding).
fn image_only(file: &[u8]) -> &[u8] {
    let hdr = ImageHeader::parse(file).unwrap();
    let mut src = file;
    let it = mcuboot_image::TlvIter::begin(&mut src, &hdr, None, false).unwrap();
    &file[..it.end() as usize]
}

fn signed_cfg(dev: &Dev) -> BootConfig<'_> {
    let mut cfg = dev.cfg();
    cfg.signature = Some(SignatureKind::Ed25519);
    cfg
}

#[test]
fn imgtool_pad_and_confirm_trailers_drive_the_swap() {
    let keys: [&[u8]; 1] = [imgtool::PUBKEY];
    for (sec, want) in [
        (imgtool::SEC_TEST, SwapType::Test),
        (imgtool::SEC_PERM, SwapType::Perm),
    ] {
        for strategy in [
            UpgradeStrategy::SwapScratch,
            UpgradeStrategy::SwapMove,
            UpgradeStrategy::OverwriteOnly,
        ] {
            let dev = Dev::new(strategy, 4, 0xff);
            let mut cfg = signed_cfg(&dev);
            cfg.keys = &keys;
            let mut f = dev.flash();
            // A full-slot `--pad --confirm` primary: magic and image_ok set,
            // no swap requested.
            f.load(dev.images[0].primary.offset, imgtool::PRI_CONFIRMED);
            let t = read_trailer(&mut f, &cfg, 0, Slot::Primary).unwrap();
            assert_eq!((t.magic, t.image_ok), (MagicState::Good, FlagState::Set));
            let r = boot(&mut f, &cfg).unwrap();
            assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::None, 1));
            f.load(dev.images[0].secondary.offset, sec);
            let r = boot(&mut f, &cfg).unwrap();
            assert_eq!((r.swap[0], booted_major(&r, 0)), (want, 2), "{strategy:?}");
            let r = boot(&mut f, &cfg).unwrap();
            let after = match (strategy, want) {
                (UpgradeStrategy::OverwriteOnly, _) | (_, SwapType::Perm) => (SwapType::None, 2),
                _ => (SwapType::Revert, 1),
            };
            assert_eq!(
                (r.swap[0], booted_major(&r, 0)),
                after,
                "{strategy:?} {want:?}"
            );
        }
    }
}

#[test]
fn imgtool_max_align_32_trailer() {
    let keys: [&[u8]; 1] = [imgtool::PUBKEY];
    let dev = Dev {
        max_align: 32,
        ..Dev::new(UpgradeStrategy::SwapScratch, 32, 0xff)
    };
    let mut cfg = signed_cfg(&dev);
    cfg.keys = &keys;
    let mut f = dev.flash();
    f.load(
        dev.images[0].primary.offset,
        image_only(imgtool::PRI_CONFIRMED),
    );
    f.load(dev.images[0].secondary.offset, imgtool::SEC_PERM_A32);
    let t = read_trailer(&mut f, &cfg, 0, Slot::Secondary).unwrap();
    assert_eq!((t.magic, t.image_ok), (MagicState::Good, FlagState::Set));
    let r = boot(&mut f, &cfg).unwrap();
    assert_eq!((r.swap[0], booted_major(&r, 0)), (SwapType::Perm, 2));
    // The 8-byte-align magic is not the 32 variant.
    let dev8 = Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff);
    let mut f = dev8.flash();
    f.load(dev8.images[0].secondary.offset, imgtool::SEC_PERM_A32);
    let t = read_trailer(&mut f, &dev8.cfg(), 0, Slot::Secondary).unwrap();
    assert_eq!(t.magic, MagicState::Bad);
}

#[test]
fn imgtool_dependency_and_security_counter() {
    let keys: [&[u8]; 1] = [imgtool::PUBKEY];
    // Image 0's upgrade needs image 1 >= 0.5.0.
    for (img1, upgraded) in [
        (image_only(imgtool::PRI_CONFIRMED), true),
        (imgtool::IMG_V04, false),
    ] {
        let dev = Dev {
            downgrade: DowngradePrevention::SecurityCounter,
            ..Dev::new(UpgradeStrategy::SwapScratch, 4, 0xff).two_images()
        };
        let mut cfg = signed_cfg(&dev);
        cfg.keys = &keys;
        let mut f = dev.flash();
        f.load(
            dev.images[0].primary.offset,
            image_only(imgtool::PRI_CONFIRMED),
        );
        f.load(dev.images[1].primary.offset, img1);
        f.load(dev.images[0].secondary.offset, imgtool::SEC_PLAIN_DEPS);
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let r = boot(&mut f, &cfg).unwrap();
        let want = if upgraded {
            (SwapType::Perm, 2)
        } else {
            (SwapType::None, 1)
        };
        assert_eq!((r.swap[0], booted_major(&r, 0)), want);
    }
}

// ------------------------------------------------------------- robustness

/// Corrupted trailers, status records and headers must never make `boot`
/// panic (overflow, out-of-range index): it returns a result either way.
#[test]
fn garbage_trailers_and_headers_never_panic() {
    let mut x: u32 = 0x1234_5678;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::SwapOffset,
        UpgradeStrategy::OverwriteOnly,
    ] {
        for _ in 0..150 {
            let dev = Dev::new(strategy, 4, 0xff);
            let cfg = dev.cfg();
            let mut f = dev.flash();
            install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
            install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 6000, 2));
            set_pending(&mut f, &cfg, 0, rnd() % 2 == 0).unwrap();
            // Optionally interrupt a swap first, then corrupt bytes in the
            // trailers (fields and status records), the scratch and headers.
            if rnd() % 2 == 0 {
                f.cut_at = Some(u64::from(rnd() % 60 + 1));
                let _ = boot(&mut f, &cfg);
                f.cut_at = None;
                f.ops = 0;
            }
            for _ in 0..(rnd() % 6 + 1) {
                let s = &dev.images[0];
                let (area, window) = match rnd() % 4 {
                    0 => (s.primary, 256),
                    1 => (s.secondary, 256),
                    2 => (dev.scratch, 256),
                    _ => (
                        if rnd() % 2 == 0 {
                            s.primary
                        } else {
                            s.secondary
                        },
                        0,
                    ),
                };
                let off = if window == 0 {
                    rnd() % 32
                        + if strategy == UpgradeStrategy::SwapOffset {
                            SECTOR * (rnd() % 2)
                        } else {
                            0
                        }
                } else {
                    area.size - 1 - rnd() % window
                };
                let i = (area.offset + off) as usize;
                f.mem[i] = rnd() as u8;
                f.programmed[i] = f.mem[i] != 0xff;
            }
            for _ in 0..3 {
                let _ = boot(&mut f, &cfg);
            }
        }
    }
}

// ------------------------------------------------- MCUboot's TEST_DEPS table

#[derive(Clone, Copy, PartialEq)]
enum Dep {
    Nothing,
    NoUpgrade,
    Correct,
    OldCorrect,
    Newer,
}

/// `sim/tests/core.rs` `TEST_DEPS` with `sim/src/depends.rs` versions:
/// image n, slot s has version (20n + s).0.1; the upgrade of image n
/// depends on the other image at its upgrade version (Correct), at its
/// current version (OldCorrect) or at a version nobody has (Newer).
#[test]
fn mcuboot_dependency_combinations() {
    use Dep::*;
    let table: [([Dep; 2], [bool; 2]); 11] = [
        ([Nothing, Nothing], [true, true]),
        ([Correct, Correct], [true, true]),
        ([Newer, Newer], [false, false]),
        ([Newer, Correct], [false, false]),
        ([Correct, Newer], [false, false]),
        ([Nothing, NoUpgrade], [true, false]),
        ([OldCorrect, NoUpgrade], [true, false]),
        ([Newer, NoUpgrade], [false, false]),
        ([NoUpgrade, Nothing], [false, true]),
        ([NoUpgrade, OldCorrect], [false, true]),
        ([NoUpgrade, Newer], [false, false]),
    ];
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::SwapOffset,
    ] {
        for (deps, upgraded) in table {
            let dev = Dev::new(strategy, 4, 0xff).two_images();
            let cfg = dev.cfg();
            let mut f = dev.flash();
            let version = |n: usize, s: u8| (20 * n as u8 + s, 0u8, 1u16, 0u32);
            for (n, d) in deps.iter().enumerate() {
                let mut pri = Img::new(0, 0, 3000 + 500 * n, 10 + n as u8);
                pri.version = version(n, 0);
                install(&dev, &mut f, n, Slot::Primary, &pri);
                if *d == NoUpgrade {
                    continue;
                }
                let other = 1 - n;
                let dep = match d {
                    Correct => Some((other as u8, version(other, 1))),
                    OldCorrect => Some((other as u8, version(other, 0))),
                    Newer => Some((other as u8, (20 * other as u8 + 1, 1, 1, 0))),
                    _ => None,
                };
                let mut sec = Img {
                    dep,
                    ..Img::new(0, 0, 4000 + 500 * n, 20 + n as u8)
                };
                sec.version = version(n, 1);
                install(&dev, &mut f, n, Slot::Secondary, &sec);
                set_pending(&mut f, &cfg, n, true).unwrap();
            }
            let r = boot(&mut f, &cfg).unwrap();
            for (n, up) in upgraded.iter().enumerate() {
                let want = 20 * n as u8 + u8::from(*up);
                assert_eq!(
                    booted_major(&r, n),
                    want,
                    "{strategy:?} image {n}, row {:?}",
                    upgraded
                );
            }
        }
    }
}

// ------------------------------------------------------- MCUboot's op counts

/// (erases, bytes written) per area from a recorded operation log.
fn cost(log: &[(u32, bool, u32)], area: Area) -> (u32, u32) {
    let inside = |a: u32| a >= area.offset && a < area.offset + area.size;
    let erases = log.iter().filter(|(a, e, _)| *e && inside(*a)).count() as u32;
    let bytes = log
        .iter()
        .filter(|(a, e, _)| !*e && inside(*a))
        .map(|(_, _, n)| n)
        .sum();
    (erases, bytes)
}

/// The per-area erase and write counts MCUboot's own simulator measured for
/// a permanent upgrade on its K64F layout (4 KiB sectors, 32-sector slots,
/// 1-sector scratch, align 4, M = 128) with 12-sector images
/// (reference/mcuboot.md §3.10).
#[test]
fn upgrade_costs_match_mcuboot_simulator_counts() {
    let slot = 32 * 4096;
    let images = [ImageSlots {
        primary: Area::new(0, slot),
        secondary: Area::new(slot, slot),
    }];
    let scratch = Area::new(2 * slot, 4096);
    // (strategy, image size, primary (erases, bytes), secondary, scratch).
    // 47 072 bytes span 12 sectors; the others are each strategy's largest
    // image (N = 32 with the trailer in the last region, N = 30, N = 30).
    let expected = [
        (
            UpgradeStrategy::SwapScratch,
            47_072,
            (13, 49328),
            (13, 49152),
            (13, 49180),
        ),
        (
            UpgradeStrategy::SwapScratch,
            131_072 - 1584,
            (32, 129904),
            (32, 129488),
            (33, 129524),
        ),
        (
            UpgradeStrategy::SwapMove,
            47_072,
            (25, 98480),
            (13, 49152),
            (0, 0),
        ),
        (
            UpgradeStrategy::SwapMove,
            30 * 4096,
            (61, 246152),
            (31, 122880),
            (0, 0),
        ),
        (
            UpgradeStrategy::SwapOffset,
            47_072,
            (13, 49284),
            (13, 49152),
            (0, 0),
        ),
        (
            UpgradeStrategy::SwapOffset,
            30 * 4096,
            (31, 123156),
            (31, 122880),
            (0, 0),
        ),
        (
            UpgradeStrategy::OverwriteOnly,
            47_072,
            (32, 131072),
            (2, 0),
            (0, 0),
        ),
    ];
    for (strategy, size, pri, sec, scr) in expected {
        let cfg = BootConfig {
            images: &images,
            scratch: Some(scratch),
            strategy,
            downgrade: DowngradePrevention::Off,
            write_size: 4,
            sectors: SectorLayout::Uniform(4096),
            max_align: 8,
            erased_val: 0xff,
            max_sectors: 128,
            bootstrap: false,
            keys: &[],
            signature: None,
            encryption: None,
        };
        let mut f = TestFlash::new((2 * slot + 4096) as usize, 4096, 4, 0xff);
        let payload = size as usize - 72;
        assert!(
            max_image_size(&mut f, &cfg, 0).unwrap() >= size,
            "{strategy:?}"
        );
        f.load(0, &Img::new(1, 0, payload, 1).build());
        let sec_addr = if strategy == UpgradeStrategy::SwapOffset {
            slot + 4096
        } else {
            slot
        };
        f.load(sec_addr, &Img::new(2, 0, payload, 2).build());
        set_pending(&mut f, &cfg, 0, true).unwrap();
        f.log = Some(Vec::new());
        let r = boot(&mut f, &cfg).unwrap();
        assert_eq!(
            (r.swap[0], booted_major(&r, 0)),
            (SwapType::Perm, 2),
            "{strategy:?}"
        );
        let log = f.log.take().unwrap();
        assert_eq!(cost(&log, images[0].primary), pri, "{strategy:?} primary");
        assert_eq!(
            cost(&log, images[0].secondary),
            sec,
            "{strategy:?} secondary"
        );
        assert_eq!(cost(&log, scratch), scr, "{strategy:?} scratch");
    }
}

/// Regression: resuming a swap-offset upgrade at its last sector must still
/// copy the old (larger) image's last sector to the secondary. MCUboot's
/// header lookup (`bs->idx <= last_idx`, 1-based against 0-based) reads the
/// new image's header there and skips that copy.
#[test]
fn swap_offset_resume_at_last_sector_keeps_the_old_image_tail() {
    let dev = Dev::new(UpgradeStrategy::SwapOffset, 4, 0xff);
    let cfg = dev.cfg();
    let mut base = dev.flash();
    let old = install(&dev, &mut base, 0, Slot::Primary, &Img::new(1, 0, 12000, 1));
    install(
        &dev,
        &mut base,
        0,
        Slot::Secondary,
        &Img::new(2, 0, 9000, 2),
    );
    set_pending(&mut base, &cfg, 0, true).unwrap();
    let mut clean = base.clone();
    clean.ops = 0;
    clean.log = Some(Vec::new());
    boot(&mut clean, &cfg).unwrap();
    // The erase of secondary sector 11 (the old image's last sector) in the
    // upgrade's last step.
    let sec = dev.images[0].secondary;
    let log = clean.log.take().unwrap();
    let n = log
        .iter()
        .position(|&(a, erase, _)| erase && a == sec.offset + 11 * SECTOR)
        .unwrap() as u64
        + 1;
    let mut f = base.clone();
    f.ops = 0;
    f.cut_at = Some(n);
    assert!(boot(&mut f, &cfg).is_err());
    f.cut_at = None;
    assert_eq!(booted_major(&boot(&mut f, &cfg).unwrap(), 0), 2);
    assert_eq!(slot_bytes(&f, sec, old.len()), old);
}

/// A [`ValidationCache`] that remembers nothing and notes what it is
/// asked and told.
#[derive(Default)]
struct NotingCache {
    lookups: Vec<core::ops::Range<u32>>,
    stored: Vec<(core::ops::Range<u32>, bool)>,
}

impl ValidationCache<TestFlash> for NotingCache {
    fn lookup(&mut self, _: &mut TestFlash, image: core::ops::Range<u32>) -> Option<bool> {
        self.lookups.push(image);
        None
    }
    fn store(&mut self, _: &mut TestFlash, image: core::ops::Range<u32>, valid: bool) {
        self.stored.push((image, valid));
    }
}

/// `boot_cached` performs what `boot` performs, and asks the cache about
/// exactly the flash range header..end of TLVs of each image it validates
/// (the upgrade in the secondary, then the new primary), valid or not.
#[test]
fn boot_cached_asks_about_whole_images_and_changes_nothing_else() {
    for strategy in [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::SwapOffset,
        UpgradeStrategy::OverwriteOnly,
    ] {
        let dev = Dev::new(strategy, 4, 0xff);
        let cfg = dev.cfg();
        let mut f = dev.flash();
        install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
        let new = install(&dev, &mut f, 0, Slot::Secondary, &Img::new(2, 0, 7000, 2));
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let mut plain = f.clone();
        let want = boot(&mut plain, &cfg);
        let mut cache = NotingCache::default();
        let got = boot_cached(&mut f, &cfg, &mut cache);
        assert_eq!(got, want, "{strategy:?}");
        assert!(f.mem == plain.mem, "{strategy:?}: flash differs");
        let sec = image_addr(&dev, 0, Slot::Secondary);
        let pri = dev.images[0].primary.offset;
        let len = new.len() as u32;
        assert_eq!(
            cache.stored,
            vec![(sec..sec + len, true), (pri..pri + len, true)],
            "{strategy:?}"
        );
        assert_eq!(cache.lookups, vec![sec..sec + len, pri..pri + len]);

        // A corrupt upgrade is asked about and remembered as invalid.
        let mut f = dev.flash();
        install(&dev, &mut f, 0, Slot::Primary, &Img::new(1, 0, 5000, 1));
        let mut bad = Img::new(2, 0, 7000, 2);
        bad.corrupt = true;
        let bad = install(&dev, &mut f, 0, Slot::Secondary, &bad);
        set_pending(&mut f, &cfg, 0, true).unwrap();
        let mut cache = NotingCache::default();
        let r = boot_cached(&mut f, &cfg, &mut cache).unwrap();
        assert_eq!(booted_major(&r, 0), 1);
        assert_eq!(cache.stored[0], (sec..sec + bad.len() as u32, false));
    }
}

mod serial_recovery;
