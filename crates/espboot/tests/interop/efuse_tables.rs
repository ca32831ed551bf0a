//! The generated eFuse tables against espefuse 5.6.0: for every chip, a fresh
//! virtual chip's `summary --format json` (names, values, raw values, block,
//! word, position, type, length, category, description, permissions) must be
//! exactly what the `esp-efuse` tables produce, and what `espboot efuse` prints.

use crate::support::{espboot, run_ok};
use esp_efuse::{Chip, ChipEfuses, Efuses};

fn espefuse_fresh_json(chip: Chip, dir: &std::path::Path) -> Option<serde_json::Value> {
    let out = dir.join(format!("{}.json", chip.name()));
    let mut t = crate::support::reference_tool("espefuse")?;
    t.args([
        "--chip",
        chip.name(),
        "--virt",
        "summary",
        "--format",
        "json",
        "--file",
    ])
    .arg(&out);
    run_ok(&mut t);
    Some(serde_json::from_slice(&std::fs::read(&out).expect("json")).expect("espefuse json"))
}

#[test]
fn tables_match_espefuse_summary_json_for_every_chip() {
    let dir = tempfile::tempdir().expect("tempdir");
    for chip in Chip::ALL {
        let Some(theirs) = espefuse_fresh_json(chip, dir.path()) else {
            return;
        };
        let lib = Efuses::new(chip).summary_json(&[]);
        let (a, b) = (
            lib.as_object().expect("object"),
            theirs.as_object().expect("object"),
        );
        let mut ka: Vec<&String> = a.keys().collect();
        let mut kb: Vec<&String> = b.keys().collect();
        ka.sort();
        kb.sort();
        assert_eq!(ka, kb, "{chip}: field names differ");
        for (k, v) in a {
            assert_eq!(Some(v), b.get(k), "{chip}: field {k} differs");
        }
        // The CLI prints the same thing, byte for byte, in espefuse's JSON style.
        let out = dir.path().join("ours.json");
        run_ok(
            espboot()
                .args([
                    "efuse",
                    "--chip",
                    chip.name(),
                    "--virt",
                    "summary",
                    "--format",
                    "json",
                    "--file",
                ])
                .arg(&out),
        );
        let ours: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("json")).expect("our json");
        assert_eq!(ours, theirs, "{chip}: CLI json differs");
        let theirs_text = std::fs::read_to_string(dir.path().join(format!("{}.json", chip.name())))
            .expect("json");
        let ours_text = std::fs::read_to_string(&out).expect("json");
        assert_eq!(
            ours_text.trim_end(),
            theirs_text.trim_end(),
            "{chip}: JSON text layout differs"
        );
    }
}

/// Key purposes: the numeric values espefuse burns (checked through a fresh
/// chip: every named, non-virtual purpose maps back to its own name).
#[test]
fn key_purpose_values_round_trip() {
    for chip in Chip::ALL {
        let t = chip.table();
        for p in t.key_purposes.iter().filter(|p| !p.virtual_purpose) {
            let v = u8::try_from(p.value).expect("non-negative");
            assert_eq!(
                t.purpose_by_value(v).map(|q| q.purpose),
                Some(p.purpose),
                "{chip}: {:?}",
                p.purpose
            );
        }
    }
}
