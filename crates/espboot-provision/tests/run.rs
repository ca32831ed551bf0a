//! The resumable executor on virtual device directories: interrupted after
//! every device action and resumed, a device ends byte for byte as an
//! uninterrupted run leaves it, and nothing is done twice.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use esp_efuse::{Field, KeyPurpose};
use espboot_provision::device::{DeviceError, VirtualDevice};
use espboot_provision::events::Event;
use espboot_provision::fixtures::{self, FeSbPlan};
use espboot_provision::plan::Plan;
use espboot_provision::record::{RecordStore, SqliteStore};
use espboot_provision::run::{run, run_observed, RunError, RunOptions};
use espboot_sim::config::Target;
use espboot_sim::device::{Device, DeviceDir};

/// A fresh virtual device of `target` in `path`.
fn new_device(path: &Path, target: Target) {
    let device = Device::create(target, &[], None).unwrap();
    drop(DeviceDir::create(path, &device).unwrap());
}

/// Every file of a device directory but its lock, by name.
fn device_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    fixtures::device_files(path).unwrap()
}

/// Fixed keys and firmware files, and a plan using them.
fn write_inputs(
    dir: &Path,
    chip: &str,
    fe: &str,
    sb_scheme: &str,
    final_fe: &str,
    final_sb: &str,
) -> PathBuf {
    std::fs::write(
        dir.join("fe.bin"),
        fixtures::flash_encryption_key(fe_len(fe)),
    )
    .unwrap();
    let scheme = match sb_scheme {
        "rsa3072" => esp_secure::sbv2::SigningScheme::Rsa3072,
        _ => esp_secure::sbv2::SigningScheme::Ecdsa256,
    };
    let key = esp_secure::sbv2::SigningKey::generate(scheme).unwrap();
    std::fs::write(dir.join("sb0.pem"), key.public_key().to_pem().unwrap()).unwrap();
    std::fs::write(dir.join("table.bin"), vec![0xAA; 0xC00]).unwrap();
    std::fs::write(
        dir.join("data.bin"),
        (0..0x2000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let plan = FeSbPlan {
        chip,
        flash_encryption: fe,
        flash_encryption_final: final_fe,
        secure_boot_scheme: sb_scheme,
        secure_boot_final: final_sb,
        firmware: r#"
[[firmware]]
kind = "partition_table"
file = "table.bin"
address = 0x8000
[[firmware]]
kind = "data"
file = "data.bin"
address = 0x20000
"#,
    }
    .text();
    let path = dir.join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    path
}

fn fe_len(fe: &str) -> usize {
    if fe.contains("512") {
        64
    } else if fe.contains("128") {
        16
    } else {
        32
    }
}

#[test]
fn a_run_interrupted_after_any_device_action_resumes_to_the_uninterrupted_state() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let plan_path = write_inputs(
        d,
        "esp32c3",
        "mode = \"release\"\nkey_bits = 256",
        "ecdsa256",
        "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }\nwrite_protect = true",
        "efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }\nwrite_protect_rd_dis = true\ndownload_mode = \"secure\"",
    );
    let plan = Plan::load(&plan_path).unwrap();

    // the uninterrupted run
    let reference = d.join("reference");
    new_device(&reference, Target::Esp32c3);
    let mut store = SqliteStore::open(&d.join("records.db")).unwrap();
    let full = run(
        &plan,
        &mut VirtualDevice::new(&reference),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();
    let actions = full.done;
    assert_eq!(full.already_done, 0);
    assert!(actions >= 15, "{actions} device steps");
    let want = device_files(&reference);
    let efuses = VirtualDevice::new(&reference);
    let e = espboot_provision::device::Device::efuses(&mut efuses.clone()).unwrap();
    assert!(e.flash_encryption_enabled());
    assert_eq!(e.raw(Field::SpiBootCryptCnt).unwrap(), 7);
    assert_eq!(e.raw(Field::SecureBootEn).unwrap(), 1);
    assert_eq!(e.raw(Field::EnableSecurityDownload).unwrap(), 1);
    assert_eq!(e.blocks_with_purpose(KeyPurpose::XtsAes128Key), [4]);
    assert_eq!(e.blocks_with_purpose(KeyPurpose::SecureBootDigest0), [5]);
    assert!(!e.is_writeable(Field::RdDis).unwrap());
    assert_eq!(e.raw(Field::SecureBootKeyRevoke1).unwrap(), 1);
    // a second run finds everything done and changes nothing
    let again = run(
        &plan,
        &mut VirtualDevice::new(&reference),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();
    assert_eq!((again.done, again.already_done), (0, actions));
    assert_eq!(device_files(&reference), want);

    for k in 1..=actions {
        let dev = d.join(format!("dev{k}"));
        new_device(&dev, Target::Esp32c3);
        let err = run(
            &plan,
            &mut VirtualDevice::new(&dev),
            &mut store,
            RunOptions {
                stop_after: Some(k),
                ..RunOptions::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Interrupted(n) if n == k), "{err}");
        let resumed = run(
            &plan,
            &mut VirtualDevice::new(&dev),
            &mut store,
            RunOptions::default(),
        )
        .unwrap();
        // the interrupted step was done but not journaled: the device says so
        // (the erase, first, shows only through the key burned after it, so
        // an interruption right after it erases again: harmless)
        let found = if k == 1 { 0 } else { k };
        assert_eq!(
            (resumed.already_done, resumed.done),
            (found, actions - found),
            "k = {k}"
        );
        let steps = store.run_steps(resumed.run_id).unwrap();
        assert_eq!(
            steps.iter().filter(|s| s.result == "already_done").count(),
            found
        );
        assert_eq!(
            device_files(&dev),
            want,
            "k = {k}: device differs from the uninterrupted run"
        );
        std::fs::remove_dir_all(&dev).unwrap();
    }
}

#[test]
fn each_chips_flow_burns_its_key_layout() {
    let cases: [(Target, &str, &str, &str); 3] = [
        (
            Target::Esp32,
            "esp32",
            "mode = \"development\"\nkey_bits = 256",
            "rsa3072",
        ),
        (
            Target::Esp32s3,
            "esp32s3",
            "mode = \"release\"\nkey_bits = 512",
            "rsa3072",
        ),
        (
            Target::Esp32c2,
            "esp32c2",
            "mode = \"release\"\nkey_bits = 128",
            "ecdsa256",
        ),
    ];
    for (target, chip, fe, scheme) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let plan = Plan::load(&write_inputs(
            d,
            chip,
            fe,
            scheme,
            "write_protect = true",
            "write_protect_rd_dis = true",
        ))
        .unwrap();
        let dev = d.join("dev");
        new_device(&dev, target);
        let mut store = SqliteStore::open(&d.join("records.db")).unwrap();
        let report = run(
            &plan,
            &mut VirtualDevice::new(&dev),
            &mut store,
            RunOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{chip}: {e}"));
        assert_eq!(report.already_done, 0);
        let e = espboot_provision::device::Device::efuses(&mut VirtualDevice::new(&dev)).unwrap();
        assert!(e.flash_encryption_enabled(), "{chip}");
        let key = e.flash_encryption_key().unwrap().unwrap();
        let fe_key = std::fs::read(d.join("fe.bin")).unwrap();
        assert_eq!(
            key.as_slice(),
            fe_key.as_slice(),
            "{chip}: the AES block reads the plan's key"
        );
        let digests = e.secure_boot_digests();
        assert!(
            !digests.is_empty() && digests[0].iter().any(|b| *b != 0),
            "{chip}"
        );
        assert!(!e.is_writeable(Field::RdDis).unwrap(), "{chip}");
        // the firmware the host encrypted is what the chip's AES block
        // makes of it with the burned key (the device's own `--encrypt`)
        for (file, address) in [("table.bin", 0x8000), ("data.bin", 0x20000)] {
            let data = std::fs::read(d.join(file)).unwrap();
            assert!(
                espboot_provision::device::Device::flash_matches(
                    &mut VirtualDevice::new(&dev),
                    address,
                    &data,
                    true
                )
                .unwrap(),
                "{chip}: {file} as the device would encrypt it"
            );
        }
        if chip == "esp32s3" {
            assert_eq!(e.blocks_with_purpose(KeyPurpose::XtsAes256Key1), [4]);
            assert_eq!(e.blocks_with_purpose(KeyPurpose::XtsAes256Key2), [5]);
        }
    }
}

#[test]
fn a_generated_key_is_never_stored_and_a_run_that_lost_it_reports_the_device_stranded() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let plan_path = write_inputs(
        d,
        "esp32c3",
        "mode = \"release\"\nkey_bits = 256",
        "ecdsa256",
        "write_protect = true",
        "write_protect_rd_dis = true",
    );
    let text = std::fs::read_to_string(&plan_path).unwrap();
    std::fs::write(&plan_path, text.replace("key_file = \"fe.bin\"\n", "")).unwrap();
    std::fs::remove_file(d.join("fe.bin")).unwrap();
    let plan = Plan::load(&plan_path).unwrap();
    let listing = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let mut store = SqliteStore::open(&d.join("records.db")).unwrap();

    // uninterrupted: complete, and a second run finds every step done
    // (the writes through the steps after them: their key is gone)
    let dev = d.join("dev");
    new_device(&dev, Target::Esp32c3);
    let before = listing(d);
    let full = run(
        &plan,
        &mut VirtualDevice::new(&dev),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();
    assert_eq!(listing(d), before, "a key file was written");
    let e = espboot_provision::device::Device::efuses(&mut VirtualDevice::new(&dev)).unwrap();
    assert!(e.flash_encryption_enabled());
    let key = e.flash_encryption_key().unwrap();
    assert!(key.is_some_and(|k| k.iter().any(|b| *b != 0)));
    let again = run(
        &plan,
        &mut VirtualDevice::new(&dev),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();
    assert_eq!((again.done, again.already_done), (0, full.done));

    // killed after the key burn (erase, key): the key is lost, the
    // firmware cannot be encrypted for it; the report lists the burn and
    // nothing more is done
    let lost = d.join("lost");
    new_device(&lost, Target::Esp32c3);
    let err = run(
        &plan,
        &mut VirtualDevice::new(&lost),
        &mut store,
        RunOptions {
            stop_after: Some(2),
            ..RunOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, RunError::Interrupted(2)), "{err}");
    let files = device_files(&lost);
    let err = run(
        &plan,
        &mut VirtualDevice::new(&lost),
        &mut store,
        RunOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, RunError::Stranded { burned, .. } if burned.len() == 1),
        "{text}"
    );
    assert!(text.contains("cannot reach the plan's end state"), "{text}");
    assert!(
        text.contains("burn-key BLOCK_KEY0 my_flash_encryption_key.bin XTS_AES_128_KEY"),
        "{text}"
    );
    assert!(
        device_files(&lost) == files,
        "a stranded run changed the device"
    );
}

/// The events of one run, each as JSON (what `provision run --json` prints).
fn observed(
    plan: &Plan,
    dev: &Path,
    store: &mut SqliteStore,
    opts: RunOptions,
) -> (Result<usize, RunError>, Vec<serde_json::Value>) {
    let mut events = Vec::new();
    let result = run_observed(
        plan,
        &mut VirtualDevice::new(dev),
        store,
        opts,
        "dev",
        &mut |e: &Event| events.push(serde_json::to_value(e).unwrap()),
    );
    (result.map(|r| r.done), events)
}

/// Checks the order of a run's events: the run, then each step started and
/// ended in plan order, `ends` giving each step's end state.
fn assert_sequence(events: &[serde_json::Value], total: usize, ends: &[&str]) {
    assert_eq!(events[0]["event"], "run", "{}", events[0]);
    assert_eq!(events[0]["steps"], total);
    let steps: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "step").collect();
    assert_eq!(steps.len(), 2 * ends.len(), "{steps:?}");
    for (i, (pair, end)) in steps.chunks(2).zip(ends).enumerate() {
        assert_eq!(pair[0]["index"], i + 1);
        assert_eq!(pair[0]["state"], "started", "{}", pair[0]);
        assert_eq!(pair[1]["index"], i + 1);
        assert_eq!(pair[1]["state"], *end, "{}", pair[1]);
        assert_eq!(pair[0]["mac"], events[0]["mac"]);
        assert!(pair[0]["time_ms"].as_i64() <= pair[1]["time_ms"].as_i64());
    }
}

#[test]
fn run_observed_reports_each_step_started_and_ended_then_a_summary_for_a_full_and_a_resumed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let plan_path = write_inputs(
        d,
        "esp32c3",
        "mode = \"release\"\nkey_bits = 256",
        "ecdsa256",
        "",
        "",
    );
    let plan = Plan::load(&plan_path).unwrap();
    let total = espboot_provision::steps::steps(&plan).unwrap().len();
    let on_device: Vec<bool> = espboot_provision::steps::steps(&plan)
        .unwrap()
        .iter()
        .map(|s| s.action.on_device())
        .collect();
    let mut store = SqliteStore::open(&d.join("records.db")).unwrap();

    // a full run: every step started then done, the summary last
    let full = d.join("full");
    new_device(&full, Target::Esp32c3);
    let (result, events) = observed(&plan, &full, &mut store, RunOptions::default());
    let done = result.unwrap();
    assert_sequence(&events, total, &vec!["done"; total]);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["outcome"], "complete");
    assert_eq!(summary["done"], done);
    assert_eq!(summary["already_done"], 0);
    // what was burned: the record's words, never key bytes
    let burn = events
        .iter()
        .find(|e| e["kind"] == "BurnKey" && e["state"] == "done")
        .unwrap();
    assert_eq!(
        burn["detail"],
        "BLOCK_KEY0 XTS_AES_128_KEY (flash encryption)"
    );
    assert_eq!(
        burn["name"],
        "burn the flash-encryption key into BLOCK_KEY0"
    );

    // interrupted after the fourth device action: that step fails, no summary
    let dev = d.join("dev");
    new_device(&dev, Target::Esp32c3);
    let (result, events) = observed(
        &plan,
        &dev,
        &mut store,
        RunOptions {
            stop_after: Some(4),
            ..RunOptions::default()
        },
    );
    assert!(matches!(result, Err(RunError::Interrupted(4))));
    let last = events.last().unwrap();
    assert_eq!(
        (&last["event"], &last["state"]),
        (&"step".into(), &"failed".into())
    );
    let fourth_device_step = on_device
        .iter()
        .enumerate()
        .filter(|(_, d)| **d)
        .nth(3)
        .unwrap()
        .0;
    assert_eq!(last["index"], fourth_device_step + 1);

    // resumed: the device steps it finished are skipped, the rest done
    let (result, events) = observed(&plan, &dev, &mut store, RunOptions::default());
    result.unwrap();
    let ends: Vec<&str> = on_device
        .iter()
        .enumerate()
        .map(|(i, on)| match (on, i <= fourth_device_step) {
            (true, true) => "skipped-already-done",
            _ => "done",
        })
        .collect();
    assert_sequence(&events, total, &ends);
    let summary = events.last().unwrap();
    assert_eq!(summary["already_done"], 4);
    assert_eq!(device_files(&dev), device_files(&full));
}

/// A virtual device that stops answering at its `fail_at`th change (as a
/// port that vanishes does), and answers again afterwards.
struct Vanishing {
    inner: VirtualDevice,
    changes: usize,
    fail_at: usize,
}

impl Vanishing {
    fn change<T>(
        &mut self,
        f: impl FnOnce(&mut VirtualDevice) -> Result<T, DeviceError>,
    ) -> Result<T, DeviceError> {
        self.changes += 1;
        if self.changes == self.fail_at {
            return Err(DeviceError::Disconnected);
        }
        f(&mut self.inner)
    }
}

impl espboot_provision::device::Device for Vanishing {
    fn efuses(&mut self) -> Result<esp_efuse::Efuses, DeviceError> {
        self.inner.efuses()
    }
    fn burn_keys(
        &mut self,
        keys: &[esp_efuse::KeyGroup],
        digests: &[esp_efuse::KeyGroup],
    ) -> Result<(), DeviceError> {
        self.change(|d| d.burn_keys(keys, digests))
    }
    fn burn_field(&mut self, field: Field, value: u64) -> Result<(), DeviceError> {
        self.change(|d| d.burn_field(field, value))
    }
    fn write_protect(&mut self, field: Field) -> Result<(), DeviceError> {
        self.change(|d| d.write_protect(field))
    }
    fn erase_flash(&mut self) -> Result<(), DeviceError> {
        self.change(|d| d.erase_flash())
    }
    fn write_flash(&mut self, address: u32, data: &[u8], encrypt: bool) -> Result<(), DeviceError> {
        self.change(|d| d.write_flash(address, data, encrypt))
    }
    fn flash_matches(
        &mut self,
        address: u32,
        data: &[u8],
        encrypt: bool,
    ) -> Result<bool, DeviceError> {
        self.inner.flash_matches(address, data, encrypt)
    }
}

/// Regression (fault14): a device that stopped answering in a step was
/// reported as the step's type and the transport's words ("read register
/// failed: Broken pipe"); it is now `RunError::Lost`, naming the device and
/// the step in words, the step's event says failed, and running again
/// resumes to the uninterrupted state.
#[test]
fn a_device_that_stops_answering_in_a_step_is_reported_lost_with_the_step_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let plan_path = write_inputs(
        d,
        "esp32c3",
        "mode = \"release\"\nkey_bits = 256",
        "ecdsa256",
        "",
        "",
    );
    let plan = Plan::load(&plan_path).unwrap();
    let steps = espboot_provision::steps::steps(&plan).unwrap();
    let mut store = SqliteStore::open(&d.join("records.db")).unwrap();
    let full = d.join("full");
    new_device(&full, Target::Esp32c3);
    run(
        &plan,
        &mut VirtualDevice::new(&full),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();

    let dev = d.join("dev");
    new_device(&dev, Target::Esp32c3);
    // the third change: SPI_BOOT_CRYPT_CNT's burn (after the erase and the key)
    let mut vanishing = Vanishing {
        inner: VirtualDevice::new(&dev),
        changes: 0,
        fail_at: 3,
    };
    let mut events = Vec::new();
    let err = run_observed(
        &plan,
        &mut vanishing,
        &mut store,
        RunOptions::default(),
        "/dev/pts/7",
        &mut |e: &Event| events.push(serde_json::to_value(e).unwrap()),
    )
    .unwrap_err();
    let RunError::Lost { index, name, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(steps[index - 1].name(), *name);
    assert_eq!(err.step(), Some(*index));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "/dev/pts/7: the device stopped answering during step {index} ({name}): "
        )),
        "{text}"
    );
    let last = events.last().unwrap();
    assert_eq!(
        (&last["state"], &last["index"]),
        (&"failed".into(), &(*index).into())
    );
    assert_eq!(last["name"], *name);

    // what the CLI does with a failed run: its record ends, its claim goes
    store.abandon(&format!("failed: {err}")).unwrap();
    let resumed = run(
        &plan,
        &mut VirtualDevice::new(&dev),
        &mut store,
        RunOptions::default(),
    )
    .unwrap();
    assert!(resumed.already_done > 0, "{resumed:?}");
    assert_eq!(device_files(&dev), device_files(&full));
}
