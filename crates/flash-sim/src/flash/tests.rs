//! Tests of the simulated flash.

#![allow(clippy::unwrap_used)]

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};

use super::*;
use proptest::prelude::*;

fn esp(write_size: u32, erased: u8) -> SimFlash {
    SimFlash::new(Geometry::uniform(0x1000, 8, write_size, erased).unwrap())
}

#[test]
fn erase_sets_erased_value_by_sector() {
    for erased in [0xff, 0x00] {
        let mut f = esp(4, erased);
        f.write(0x1000, &[0x5a; 8]).unwrap();
        assert_eq!(f.data()[0x1000], 0x5a);
        assert_eq!(
            f.erase(0x1000, 0x1800),
            Err(FlashError::NotSectorAligned {
                from: 0x1000,
                to: 0x1800
            })
        );
        f.erase(0x1000, 0x2000).unwrap();
        assert!(f.data()[0x1000..0x2000].iter().all(|&b| b == erased));
        assert_eq!(f.total_counters().erases, 1);
    }
}

#[test]
fn program_twice_without_erase_is_refused() {
    for erased in [0xff, 0x00] {
        let mut f = esp(1, erased);
        let other = !erased;
        f.write(0x10, &[other]).unwrap();
        assert_eq!(
            f.write(0x10, &[other]),
            Err(FlashError::NotErased { address: 0x10 })
        );
        f.erase(0, 0x1000).unwrap();
        f.write(0x10, &[other]).unwrap();
    }
}

/// Programming the erased value changes no bit, so the cell can still be
/// programmed afterwards, as on real NOR flash (MCUboot copies whole
/// sectors, erased trailer bytes included, then sets flags in them).
#[test]
fn programming_the_erased_value_leaves_the_cell_programmable() {
    for erased in [0xff, 0x00] {
        let mut f = esp(1, erased);
        f.write(0x10, &[erased]).unwrap();
        f.write(0x10, &[0x01]).unwrap();
        assert_eq!(f.data()[0x10], 0x01);
    }
}

#[test]
fn alignment_is_enforced() {
    let mut f = esp(8, 0xff);
    assert!(matches!(
        f.write(4, &[0; 8]),
        Err(FlashError::NotAligned { .. })
    ));
    assert!(matches!(
        f.write(8, &[0; 4]),
        Err(FlashError::NotAligned { .. })
    ));
    f.write(8, &[0; 16]).unwrap();
    assert!(matches!(
        f.write(0x8000, &[0; 8]),
        Err(FlashError::OutOfBounds { .. })
    ));
    assert!(matches!(
        f.erase(0x8000, 0x9000),
        Err(FlashError::OutOfBounds { .. })
    ));
}

#[test]
fn non_uniform_sector_map() {
    // STM32F4-like: 4 x 16K, 64K, 3 x 128K (MCUboot sim Stm32f4 device).
    let g = Geometry::from_runs(&[(0x4000, 4), (0x10000, 1), (0x20000, 3)], 4, 0xff).unwrap();
    assert_eq!(g.capacity(), 0x80000);
    assert_eq!(g.sector_index(0x10000), 4);
    assert_eq!(g.sector_index(0x1ffff), 4);
    assert_eq!(g.sector_index(0x20000), 5);
    assert!(g.is_sector_boundary(0xc000));
    assert!(!g.is_sector_boundary(0x30000));
    assert_eq!(
        g.area_sectors(0x0, 0x20000),
        Some(vec![0x4000, 0x4000, 0x4000, 0x4000, 0x10000])
    );
    assert_eq!(g.area_sectors(0x0, 0x18000), None);
    let mut f = SimFlash::new(g);
    f.write(0x10000, &[1; 4]).unwrap();
    assert!(f.erase(0x10000, 0x18000).is_err());
    f.erase(0xc000, 0x20000).unwrap();
    assert_eq!(f.total_counters().erases, 2);
}

#[test]
fn clean_cut_stops_at_the_cut_operation() {
    let mut f = esp(4, 0xff);
    f.arm_power_cut(2, CutMode::Clean);
    f.write(0, &[1; 4]).unwrap();
    assert_eq!(f.write(4, &[2; 4]), Err(FlashError::PowerLost { op: 2 }));
    assert_eq!(&f.data()[4..8], &[0xff; 4]);
    let mut buf = [0u8; 4];
    assert!(
        f.read(0, &mut buf).is_err(),
        "reads fail while power is off"
    );
    f.power_cycle();
    f.read(0, &mut buf).unwrap();
    assert_eq!(buf, [1; 4]);
    f.write(4, &[2; 4]).unwrap();
}

#[test]
fn torn_write_programs_a_prefix_and_torn_erase_half_a_sector() {
    let mut f = esp(1, 0xff);
    f.write(0x1000, &[7; 0x1000]).unwrap();
    f.arm_power_cut(1, CutMode::Torn);
    assert!(f.write(0, &[1, 2, 3, 4]).is_err());
    assert_eq!(&f.data()[0..4], &[1, 2, 0xff, 0xff]);
    f.power_cycle();
    f.arm_power_cut(1, CutMode::Torn);
    assert!(f.erase(0x1000, 0x2000).is_err());
    assert!(f.data()[0x1000..0x1800].iter().all(|&b| b == 0xff));
    assert!(f.data()[0x1800..0x2000].iter().all(|&b| b == 7));
    f.power_cycle();
    // The erased half may be programmed again; the other half may not.
    f.write(0x1000, &[1]).unwrap();
    assert!(f.write(0x1800, &[1]).is_err());
}

#[test]
fn multi_sector_erase_counts_one_operation_per_sector() {
    let mut f = esp(4, 0xff);
    f.arm_power_cut(3, CutMode::Clean);
    f.write(0x2000, &[0; 4]).unwrap();
    assert!(f.erase(0, 0x3000).is_err());
    assert_eq!(f.total_counters().erases, 1);
    assert_eq!(f.data()[0x2000], 0, "third sector not erased");
}

#[test]
fn counters_per_region_and_timing() {
    let mut f = esp(4, 0xff);
    f.add_region("primary", 0..0x4000);
    f.add_region("secondary", 0x4000..0x8000);
    f.erase(0, 0x2000).unwrap();
    f.write(0, &[0; 256]).unwrap();
    f.write(0x4000, &[0; 8]).unwrap();
    let c = f.region_counters();
    assert_eq!(c[0].0, "primary");
    assert_eq!((c[0].1.erases, c[0].1.bytes_written), (2, 256));
    assert_eq!((c[1].1.erases, c[1].1.bytes_written), (0, 8));
    assert_eq!(c[2].0, "other");
    // 2 x 45 ms + one full page 0.4 ms.
    assert!((c[0].1.time_us - 90_400.0).abs() < 1e-6);
    // 8 bytes: 30 + 7 x 2.5 µs.
    assert!((c[1].1.time_us - 47.5).abs() < 1e-6);
    let t = TimingModel::default();
    assert_eq!(t.erase_us(0x20000), 300_000.0);
    assert_eq!(t.erase_us(0x4000), 180_000.0);
}

#[test]
fn restore_returns_to_snapshot() {
    let mut f = esp(4, 0xff);
    f.write(0, &[1; 4]).unwrap();
    let snap = f.snapshot();
    f.erase(0, 0x1000).unwrap();
    f.write(0x3000, &[2; 4]).unwrap();
    f.restore(&snap);
    assert_eq!(f.data(), snap.data());
    assert!(
        f.write(0, &[3; 4]).is_err(),
        "programmed state restored too"
    );
    assert_eq!(f.total_counters(), Counters::default());
}

/// The page-wise program time: partial first and last pages, whole
/// pages in between (the reference is the page-by-page definition).
#[test]
fn program_time_is_the_sum_over_pages() {
    let t = TimingModel {
        first_byte_us: 0.3,
        next_byte_us: 0.1,
        page_program_us: 7.7,
        page_size: 16,
        ..TimingModel::default()
    };
    for offset in 0..40u32 {
        for len in 0..70u32 {
            let mut want = 0.0;
            let mut at = offset;
            while at < offset + len {
                let page_end = ((at / 16 + 1) * 16).min(offset + len);
                let n = page_end - at;
                want += (0.3 + f64::from(n - 1) * 0.1).min(7.7);
                at = page_end;
            }
            assert_eq!(
                t.program_us(offset, len).to_bits(),
                want.to_bits(),
                "{offset}+{len}"
            );
        }
    }
}

#[test]
fn update_snapshot_moves_the_restore_point() {
    let mut f = esp(4, 0xff);
    let mut snap = f.snapshot();
    f.write(0x1000, &[1; 4]).unwrap();
    f.update_snapshot(&mut snap);
    assert_eq!(&snap.data()[0x1000..0x1004], &[1; 4]);
    f.erase(0x1000, 0x2000).unwrap();
    f.write(0x2000, &[2; 4]).unwrap();
    f.restore(&snap);
    assert_eq!(f.data(), snap.data());
    assert_eq!(&f.data()[0x1000..0x1004], &[1; 4]);
    assert_eq!(&f.data()[0x2000..0x2004], &[0xff; 4]);
}

/// Replaying a recording on the starting state reproduces the end
/// state; the cut operation is not recorded, and a replayed operation
/// obeys an armed cut like the original call.
#[test]
fn replay_reproduces_recorded_operations() {
    let mut f = esp(4, 0xff);
    f.write(0x3000, &[9; 8]).unwrap();
    let start = f.clone();
    f.start_recording();
    f.erase(0x3000, 0x5000).unwrap();
    f.write(0x3000, &[1; 8]).unwrap();
    f.arm_power_cut(1, CutMode::Torn);
    assert!(f.write(0x4000, &[2; 8]).is_err());
    let log = f.take_recording();
    assert_eq!(
        log,
        vec![
            FlashOp::Erase { sector: 3 },
            FlashOp::Erase { sector: 4 },
            FlashOp::Write {
                offset: 0x3000,
                bytes: vec![1; 8]
            },
        ]
    );
    let mut g = start.clone();
    for op in &log {
        g.replay(op).unwrap();
    }
    g.arm_power_cut(1, CutMode::Torn);
    assert!(g
        .replay(&FlashOp::Write {
            offset: 0x4000,
            bytes: vec![2; 8]
        })
        .is_err());
    assert_eq!(f.data(), g.data());
    assert!(g.replay(&FlashOp::Erase { sector: 8 }).is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Erase(usize),
    Write(u32, Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4).prop_map(Op::Erase),
        (0u32..0x4000, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(o, b)| Op::Write(o, b)),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Erase(usize),
    Write(u32, Vec<u8>),
    TornErase(usize),
    TornWrite(u32, Vec<u8>),
    Snapshot,
    Restore,
}

fn step() -> impl Strategy<Value = Step> {
    let bytes =
        || proptest::collection::vec(prop_oneof![Just(0xffu8), Just(0x00), any::<u8>()], 0..48);
    // Offsets cluster at the start and the end of the sectors, so
    // writes overlap each other and cross sector boundaries.
    let offset =
        || (0u32..4, prop_oneof![0u32..96, 0xfa0u32..0x1000]).prop_map(|(s, o)| s * 0x1000 + o);
    prop_oneof![
        (0usize..4).prop_map(Step::Erase),
        (offset(), bytes()).prop_map(|(o, b)| Step::Write(o, b)),
        (0usize..4).prop_map(Step::TornErase),
        (offset(), bytes()).prop_map(|(o, b)| Step::TornWrite(o, b)),
        Just(Step::Snapshot),
        Just(Step::Restore),
    ]
}

proptest! {
    /// A write is accepted exactly when every cell it covers holds the
    /// erased value (the definition; the flash short-cuts the check
    /// with per-sector marks), through torn operations, snapshots and
    /// restores.
    #[test]
    fn write_acceptance_matches_the_erased_value_rule(
        steps in proptest::collection::vec(step(), 1..60),
        erased in prop_oneof![Just(0xffu8), Just(0x00)],
    ) {
        let g = Geometry::uniform(0x1000, 4, 1, erased).unwrap();
        let mut f = SimFlash::new(g);
        let mut model = vec![erased; 0x4000];
        let mut snap = (f.snapshot(), model.clone());
        for st in &steps {
            match st {
                Step::Erase(s) | Step::TornErase(s) => {
                    let torn = matches!(st, Step::TornErase(_));
                    if torn { f.arm_power_cut(1, CutMode::Torn); }
                    let r = f.erase(*s as u32 * 0x1000, (*s as u32 + 1) * 0x1000);
                    prop_assert_eq!(r.is_err(), torn);
                    let n = if torn { 0x800 } else { 0x1000 };
                    model[s * 0x1000..s * 0x1000 + n].fill(erased);
                }
                Step::Write(o, b) | Step::TornWrite(o, b) => {
                    let torn = matches!(st, Step::TornWrite(..));
                    let o = *o as usize;
                    let fits = o + b.len() <= 0x4000;
                    let ok = fits && model[o..o + b.len()].iter().all(|&c| c == erased);
                    if torn { f.arm_power_cut(1, CutMode::Torn); }
                    let r = f.write(o as u32, b);
                    if !ok {
                        let refused = r.is_err() && !matches!(r, Err(FlashError::PowerLost { .. }));
                        prop_assert!(refused, "{:?}", r);
                    } else if torn && !b.is_empty() {
                        let lost = matches!(r, Err(FlashError::PowerLost { .. }));
                        prop_assert!(lost);
                        model[o..o + b.len() / 2].copy_from_slice(&b[..b.len() / 2]);
                    } else {
                        prop_assert!(r.is_ok(), "{:?}", r);
                        model[o..o + b.len()].copy_from_slice(b);
                    }
                }
                Step::Snapshot => snap = (f.snapshot(), model.clone()),
                Step::Restore => {
                    f.restore(&snap.0);
                    model.clone_from(&snap.1);
                }
            }
            f.power_cycle();
            prop_assert_eq!(f.data(), &model[..]);
            // Every erased mark holds, and a loaded copy's marks too.
            let loaded = SimFlash::from_bytes(f.geometry().clone(), f.data()).unwrap();
            for g in [&f, &loaded] {
                for (index, &mark) in g.erased_from.iter().enumerate() {
                    let end = g.geometry.sector(index).end;
                    prop_assert!(g.data[mark as usize..end as usize].iter().all(|&b| b == erased));
                }
            }
        }
    }
}

proptest! {
    /// The flash behaves like a reference model: erase resets a sector,
    /// a write succeeds iff aligned, in bounds and over unprogrammed
    /// cells; a power cut at op k leaves exactly ops 1..k-1 applied.
    #[test]
    fn matches_reference_model(ops in proptest::collection::vec(op(), 1..40),
                               ws in prop_oneof![Just(1u32), Just(4), Just(8), Just(32)],
                               erased in prop_oneof![Just(0xffu8), Just(0x00)],
                               cut in 1u64..50) {
        let g = Geometry::uniform(0x1000, 4, ws, erased).unwrap();
        let mut f = SimFlash::new(g.clone());
        let mut model = vec![erased; 0x4000];
        let mut prog = vec![false; 0x4000];
        f.arm_power_cut(cut, CutMode::Clean);
        let mut performed = 0u64;
        for op in &ops {
            let r = match op {
                Op::Erase(s) => f.erase(*s as u32 * 0x1000, (*s as u32 + 1) * 0x1000),
                Op::Write(o, b) => f.write(*o, b),
            };
            let lost = performed + 1 >= cut;
            match op {
                Op::Erase(s) => {
                    if lost { let was_lost = matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(was_lost); break; }
                    prop_assert!(r.is_ok());
                    performed += 1;
                    model[s * 0x1000..(s + 1) * 0x1000].fill(erased);
                    prog[s * 0x1000..(s + 1) * 0x1000].fill(false);
                }
                Op::Write(o, b) => {
                    let o = *o as usize;
                    let ok = o.is_multiple_of(ws as usize) && b.len() % ws as usize == 0
                        && o + b.len() <= 0x4000 && !prog[o..o + b.len()].iter().any(|&p| p);
                    if !ok { let refused = r.is_err() && !matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(refused); continue; }
                    if b.is_empty() { prop_assert!(r.is_ok()); continue; }
                    if lost { let was_lost = matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(was_lost); break; }
                    prop_assert!(r.is_ok());
                    performed += 1;
                    model[o..o + b.len()].copy_from_slice(b);
                    prog[o..o + b.len()].fill(true);
                }
            }
        }
        prop_assert_eq!(f.data(), &model[..]);
    }
}
