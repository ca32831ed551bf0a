//! Replays every fuzz target's seed corpus (`fuzz/corpus/<target>/`) on
//! stable, plus deterministic one-byte mutations of each seed: the short
//! smoke run of the fuzz targets that CI can always do (the coverage-guided
//! runs need nightly: `scripts/fuzz`).

use std::path::PathBuf;

use fuzz_harness::Target;

fn corpus(target: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target.name());
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fuzz-corpus)", dir.display()))
        .map(|entry| {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn every_target_has_seeds_and_survives_them_and_their_mutations() {
    for target in Target::ALL {
        let seeds = corpus(target);
        assert!(!seeds.is_empty(), "{}: no seeds", target.name());
        for (_, seed) in &seeds {
            target.run(seed);
            // One byte changed at a spread of positions, with values that
            // tend to matter (zero, all ones, off by one): lengths, offsets,
            // magic numbers and counts become wrong in every field.
            let step = (seed.len() / 64).max(1);
            let mut mutated = seed.clone();
            for at in (0..seed.len()).step_by(step) {
                for value in [0x00, 0xff, seed[at].wrapping_add(1), seed[at] ^ 0x80] {
                    mutated[at] = value;
                    target.run(&mutated);
                }
                mutated[at] = seed[at];
            }
            // Truncations.
            for len in [0, 1, seed.len() / 2, seed.len().saturating_sub(1)] {
                target.run(&seed[..len]);
            }
        }
    }
}

#[test]
fn names_round_trip_and_match_the_fuzz_targets() {
    let targets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for target in Target::ALL {
        assert_eq!(Target::from_name(target.name()), Some(target));
        let file = targets.join(format!("{}.rs", target.name()));
        assert!(file.is_file(), "no cargo-fuzz target {}", file.display());
    }
}

/// The boot target's seeds are real devices, so the fuzzer starts from
/// flash the boot core acts on: each strategy performs the staged test
/// upgrade and boots.
#[test]
fn boot_seeds_upgrade_under_every_strategy() {
    for (path, seed) in corpus(Target::BootFlash) {
        let reports = fuzz_harness::boot_flash(&seed);
        assert_eq!(reports.len(), 2, "{}", path.display());
        assert!(reports[0].booted, "{}: {:?}", path.display(), reports[0]);
        assert!(
            reports[0].erases > 0,
            "{}: no upgrade: {:?}",
            path.display(),
            reports[0]
        );
    }
}
