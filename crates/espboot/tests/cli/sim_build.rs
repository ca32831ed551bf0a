//! `espboot sim build-bootloader`, `sim build-app`, the bootloader `sim new`
//! flashes, and the checks `sim write` makes before writing. The bootloader
//! is checked against esptool's `image-info` and espsecure's Secure Boot V2
//! signing; the app payload against imgtool's signing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{assert_one_line_error, espboot, run_fail, run_ok};
use esp_image::esp_image::EspImage;
use esp_image::load_header::LoadHeader;
use esp_image::Chip;

fn sim(args: &[&str]) -> Command {
    let mut c = espboot();
    c.arg("sim").args(args);
    c
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn build_bootloader(dir: &Path, target: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{target}-bootloader.bin"));
    run_ok(sim(&["build-bootloader", "--target", target, "-o", s(&out)]).args(extra));
    out
}

/// The `image-info` text esptool prints for each (chip, file), from one
/// Python process.
fn esptool_image_info(files: &[(Chip, PathBuf)]) -> Option<Vec<String>> {
    let python = crate::support::reference_tool("python")?;
    let script = r#"
import contextlib, io, json, sys
import esptool
results = []
for chip, path in zip(sys.argv[1::2], sys.argv[2::2]):
    buf = io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(buf):
            esptool.main(["--chip", chip, "image-info", path])
    except SystemExit as e:
        code = e.code
    except Exception as e:
        code = repr(e)
    results.append(buf.getvalue() + "\nexit: " + str(code))
print(json.dumps(results))
"#;
    let mut python = python;
    python.arg("-c").arg(script);
    for (chip, path) in files {
        python.arg(chip.name()).arg(path);
    }
    let out = run_ok(&mut python);
    Some(serde_json::from_slice(&out.stdout).expect("JSON from the esptool script"))
}

#[test]
fn esptool_accepts_the_bootloader_for_every_chip_and_espsecure_signs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let files: Vec<(Chip, PathBuf)> = Chip::ALL
        .into_iter()
        .map(|chip| (chip, build_bootloader(d, chip.name(), &[])))
        .collect();
    let Some(infos) = esptool_image_info(&files) else {
        return;
    };
    assert_eq!(infos.len(), files.len());
    for ((chip, path), info) in files.iter().zip(&infos) {
        let bytes = std::fs::read(path).expect("bootloader");
        let ours = EspImage::parse(&bytes, *chip).expect("our parser");
        assert!(info.contains("exit: 0"), "{chip}:\n{info}");
        assert!(
            info.contains(&format!("Chip ID: {} (", chip.image_chip_id())),
            "{chip}:\n{info}"
        );
        assert!(
            info.contains(&format!("Entry point: {:#010x}", ours.entry)),
            "{chip}:\n{info}"
        );
        assert!(info.contains("Flash mode: DIO"), "{chip}:\n{info}");
        assert!(info.contains("Segments: 2"), "{chip}:\n{info}");
        let expected_size = if *chip == Chip::Esp32c2 { "2MB" } else { "4MB" };
        assert!(
            info.contains(&format!("Flash size: {expected_size}")),
            "{chip}:\n{info}"
        );
        let min_rev = if matches!(chip, Chip::Esp32 | Chip::Esp32c3) {
            3
        } else {
            0
        };
        assert!(
            info.contains(&format!("(legacy min_rev = {min_rev})")),
            "{chip}:\n{info}"
        );
        assert!(
            info.contains(&format!(
                "Checksum: {:#04x} (valid)",
                bytes[ours.checksum_offset]
            )),
            "{chip}:\n{info}"
        );
        assert!(
            info.lines()
                .any(|l| l.starts_with("Validation hash:") && l.ends_with("(valid)")),
            "{chip}:\n{info}"
        );
    }

    // The signed bootloader is what users flash: espsecure signs it with
    // Secure Boot V2 and verifies it, and `sim write` takes it.
    let key = d.join("sbv2.pem");
    let mut keygen = reference_tool!("espsecure");
    run_ok(
        keygen
            .args([
                "generate-signing-key",
                "--version",
                "2",
                "--scheme",
                "ecdsa256",
            ])
            .arg(&key),
    );
    let (_, unsigned) = &files[4];
    assert_eq!(files[4].0, Chip::Esp32c3);
    let signed = d.join("signed.bin");
    let mut sign = reference_tool!("espsecure");
    run_ok(
        sign.args(["sign-data", "--version", "2", "--keyfile"])
            .arg(&key)
            .arg("-o")
            .arg(&signed)
            .arg(unsigned),
    );
    let mut verify = reference_tool!("espsecure");
    run_ok(
        verify
            .args(["verify-signature", "--version", "2", "--keyfile"])
            .arg(&key)
            .arg(&signed),
    );
    // Signed by espboot's own espsecure: the real espsecure verifies it
    // (ECDSA signatures are randomized, so both directions are checked).
    let ours = d.join("ours-signed.bin");
    run_ok(
        espboot()
            .args(["secure", "sign-data", "--version", "2", "--keyfile"])
            .arg(&key)
            .arg("-o")
            .arg(&ours)
            .arg(unsigned),
    );
    let mut verify = reference_tool!("espsecure");
    run_ok(
        verify
            .args(["verify-signature", "--version", "2", "--keyfile"])
            .arg(&key)
            .arg(&ours),
    );
    run_ok(
        espboot()
            .args(["secure", "verify-signature", "--version", "2", "--keyfile"])
            .arg(&key)
            .arg(&signed),
    );
    let signed_bytes = std::fs::read(&signed).expect("signed");
    assert_eq!(signed_bytes.len(), 0x2000);
    let dev = d.join("dev");
    run_ok(&mut sim(&["new", s(&dev), "--target", "esp32c3"]));
    run_ok(&mut sim(&["write", s(&dev), "0x0", s(&signed)]));
    let flash = std::fs::read(dev.join("flash.bin")).expect("flash");
    assert_eq!(&flash[..0x2000], &signed_bytes[..]);
    run_ok(&mut sim(&["write", s(&dev), "0x0", s(&ours)]));
    let flash = std::fs::read(dev.join("flash.bin")).expect("flash");
    assert_eq!(&flash[..0x2000], &std::fs::read(&ours).expect("ours")[..]);
}

#[test]
fn sim_new_flashes_the_bootloader_build_bootloader_makes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let conf = d.join("move.conf");
    std::fs::write(&conf, "CONFIG_ESP_BOOT_SWAP_USING_MOVE=y\n").expect("conf");
    for (target, offset) in [("esp32", 0x1000usize), ("esp32s3", 0x0)] {
        let built = build_bootloader(d, target, &["--config", s(&conf), "--flash-size", "8MB"]);
        let built = std::fs::read(&built).expect("bootloader");
        let dev = d.join(format!("dev-{target}"));
        run_ok(&mut sim(&[
            "new",
            s(&dev),
            "--target",
            target,
            "--config",
            s(&conf),
            "--flash-size",
            "8MB",
        ]));
        let back = d.join(format!("{target}-read.bin"));
        run_ok(&mut sim(&[
            "read",
            s(&dev),
            &format!("{offset:#x}"),
            "0x1000",
            "-o",
            s(&back),
        ]));
        let back = std::fs::read(&back).expect("read back");
        assert_eq!(&back[..built.len()], &built[..], "{target}");
        assert!(back[built.len()..].iter().all(|&b| b == 0xff));
        // 8MB in the header's flash size nibble (esptool.md §5.1).
        assert_eq!(built[3] >> 4, 3, "{target}");
    }
    // The other targets of the port have no chip model: no bootloader.
    let dev = d.join("dev-p4");
    run_ok(&mut sim(&["new", s(&dev), "--target", "esp32p4"]));
    let flash = std::fs::read(dev.join("flash.bin")).expect("flash");
    assert!(flash.iter().all(|&b| b == 0xff));
}

#[test]
fn build_bootloader_bad_input_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out = d.join("bl.bin");
    let overlap = d.join("overlap.conf");
    std::fs::write(
        &overlap,
        "CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x100000\n",
    )
    .expect("conf");
    let missing_key = d.join("key.conf");
    std::fs::write(&missing_key, "CONFIG_ESP_SIGN_KEY_FILE=nope.pem\n").expect("conf");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--target", "esp32c3", "--config", s(&overlap)],
            "image 0 primary slot 0x20000..0x1e0000 overlaps image 0 secondary slot 0x100000..0x2c0000",
        ),
        (
            vec!["--target", "esp32c3", "--flash-size", "2MB"],
            "image 0 secondary slot 0x1e0000..0x3a0000 ends beyond the flash size 0x200000",
        ),
        (
            vec!["--target", "esp32c3", "--flash-size", "6MB"],
            "flash size 0x600000 cannot be encoded",
        ),
        (vec!["--target", "esp32c5"], "esp32c5 is not modelled by the virtual chip"),
        (vec!["--target", "esp8266"], "esp8266"),
        (
            vec!["--target", "esp32c3", "--config", s(&missing_key)],
            "cannot read signing key",
        ),
        (vec!["--target", "esp32c3", "--config", "/nonexistent.conf"], "/nonexistent.conf"),
    ];
    for (args, needle) in cases {
        let result = run_fail(sim(&["build-bootloader", "-o", s(&out)]).args(&args));
        assert_one_line_error(&result, needle);
        assert!(!out.exists(), "{args:?} left an output file");
    }
}

#[test]
fn app_payload_signed_by_imgtool_verifies_and_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let payload = d.join("app.bin");
    run_ok(&mut sim(&[
        "build-app",
        "--target",
        "esp32c3",
        "--version",
        "1.2.3",
        "--size",
        "0x10000",
        "-o",
        s(&payload),
    ]));
    assert_eq!(std::fs::metadata(&payload).expect("payload").len(), 0x10000);
    let key = d.join("key.pem");
    run_ok(
        espboot()
            .args(["image", "keygen", "-t", "ecdsa-p256", "-k"])
            .arg(&key),
    );
    let signed = d.join("signed.bin");
    let mut imgtool = reference_tool!("imgtool");
    run_ok(
        imgtool
            .args(["sign", "-k"])
            .arg(&key)
            .args([
                "-H",
                "32",
                "--pad-header",
                "--align",
                "4",
                "-S",
                "0x1C0000",
                "-v",
                "1.2.3",
            ])
            .arg(&payload)
            .arg(&signed),
    );
    let out = run_ok(
        espboot()
            .args(["image", "verify", "-k"])
            .arg(&key)
            .arg(&signed),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1.2.3"));

    // The load header sits at slot + 0x20 and passes the port loader's
    // checks, with offsets counted from the slot start.
    let image = std::fs::read(&signed).expect("signed");
    let header = LoadHeader::parse(&image[0x20..]).expect("load header");
    let chip = Chip::Esp32c3;
    header
        .check(chip, &chip.memory_map(false), image.len() as u32)
        .expect("loader checks");
    let iram = header.iram.flash_offset as usize;
    assert!(image[iram..].starts_with(b"espboot sim app\0"));

    // A device takes it at the primary slot and boots it.
    let dev = d.join("dev");
    run_ok(&mut sim(&["new", s(&dev), "--target", "esp32c3"]));
    run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&signed)]));
    let out = run_ok(&mut sim(&["boot", s(&dev), "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["booted"], true, "{report}");
}

#[test]
fn build_app_refuses_bad_layouts_unless_unchecked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out = d.join("app.bin");
    let map = Chip::Esp32c3.memory_map(false);
    let [iram_loader_seg, dram_seg] = &map.bootloader_regions;
    let loader_iram = format!("{:#x}", iram_loader_seg.iram.as_ref().expect("iram").start);
    let loader_dram = format!("{:#x}", dram_seg.dram.as_ref().expect("dram").start);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--iram-addr", &loader_iram],
            "overlaps the bootloader's iram_loader_seg",
        ),
        (
            vec!["--dram-addr", &loader_dram],
            "overlaps the bootloader's dram_seg",
        ),
        (vec!["--iram-addr", "0x42000000"], "IRAM region 0x42000000"),
        (vec!["--size", "16"], "--size 16"),
        (vec!["--multi-processor"], "--multi-processor"),
        (vec!["--image", "2"], "--image 2"),
        (vec!["--iram-addr", "zz"], "--iram-addr"),
    ];
    for (args, needle) in cases {
        let result = run_fail(
            sim(&[
                "build-app",
                "--target",
                "esp32c3",
                "--version",
                "1.0.0",
                "-o",
                s(&out),
            ])
            .args(&args),
        );
        assert_one_line_error(&result, needle);
        assert!(!out.exists(), "{args:?} left an output file");
    }
    let result = run_fail(&mut sim(&[
        "build-app",
        "--target",
        "esp32c3",
        "--version",
        "one",
        "-o",
        s(&out),
    ]));
    assert_one_line_error(&result, "--version \"one\"");
    let result = run_fail(&mut sim(&[
        "build-app",
        "--target",
        "esp32p4",
        "--version",
        "1",
        "-o",
        s(&out),
    ]));
    assert_one_line_error(&result, "not modelled");

    // --unchecked builds the bad app, and the loader's check names the region.
    for (flag, addr, region) in [
        ("--iram-addr", &loader_iram, "iram_loader_seg"),
        ("--dram-addr", &loader_dram, "dram_seg"),
    ] {
        run_ok(&mut sim(&[
            "build-app",
            "--target",
            "esp32c3",
            "--version",
            "1.0.0",
            flag,
            addr,
            "--unchecked",
            "-o",
            s(&out),
        ]));
        let payload = std::fs::read(&out).expect("payload");
        let err = LoadHeader::parse(&payload)
            .expect("header")
            .check(Chip::Esp32c3, &map, 0x10000)
            .expect_err("overlapping app");
        assert!(err.to_string().contains(region), "{err}");
    }
}

#[test]
fn sim_write_refuses_misplaced_data_and_leaves_the_flash_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let dev = d.join("dev");
    run_ok(&mut sim(&["new", s(&dev), "--target", "esp32c3"]));
    let c3_boot = build_bootloader(d, "esp32c3", &[]);
    let s3_boot = build_bootloader(d, "esp32s3", &[]);
    let payload = d.join("app.bin");
    run_ok(&mut sim(&[
        "build-app",
        "--target",
        "esp32c3",
        "--version",
        "1.0.0",
        "-o",
        s(&payload),
    ]));
    let signed = d.join("signed.bin");
    run_ok(
        espboot()
            .args([
                "image",
                "sign",
                "-H",
                "32",
                "--pad-header",
                "--align",
                "4",
                "-S",
                "0x1C0000",
                "-v",
                "1.0.0",
            ])
            .arg(&payload)
            .arg(&signed),
    );
    let blob = d.join("blob.bin");
    std::fs::write(&blob, vec![0x5Au8; 0x2000]).expect("blob");
    let erased = d.join("erased.bin");
    std::fs::write(&erased, vec![0xFFu8; 64]).expect("erased");

    let cases: Vec<(&str, &Path, &str)> = vec![
        ("0x0", &s3_boot, "is for esp32s3, this device is an esp32c3"),
        ("0x0", &erased, "not an ESP image"),
        ("0x20000", &c3_boot, "loads its bootloader from 0x0 only"),
        ("0x20000", &payload, "start of the image 0 primary slot 0x20000..0x1e0000 is not an MCUboot image"),
        ("0x30000", &signed, "not an image start (images start at 0x20000 (image 0 primary slot), 0x1e0000 (image 0 secondary slot))"),
        ("0x1F000", &blob, "crosses the boundary of the image 0 primary slot 0x20000..0x1e0000"),
    ];
    let before = std::fs::read(dev.join("flash.bin")).expect("flash");
    for (addr, file, needle) in &cases {
        let out = run_fail(&mut sim(&["write", s(&dev), addr, s(file)]));
        assert_one_line_error(&out, needle);
        assert_one_line_error(&out, "--force");
        assert_eq!(
            std::fs::read(dev.join("flash.bin")).expect("flash"),
            before,
            "{addr} {file:?} changed the flash"
        );
    }
    let out = run_fail(&mut sim(&["write", s(&dev), "0x3FF000", s(&blob)]));
    assert_one_line_error(
        &out,
        "write 0x3ff000..0x401000 ends beyond the flash size 0x400000",
    );
    assert_eq!(std::fs::read(dev.join("flash.bin")).expect("flash"), before);
    // A good pair followed by a bad one: nothing is written.
    let out = run_fail(&mut sim(&[
        "write",
        s(&dev),
        "0x20000",
        s(&signed),
        "0x0",
        s(&s3_boot),
    ]));
    assert_one_line_error(&out, "esp32s3");
    assert_eq!(std::fs::read(dev.join("flash.bin")).expect("flash"), before);

    // What belongs where is written; --force writes anything in the flash.
    run_ok(&mut sim(&[
        "write",
        s(&dev),
        "0x0",
        s(&c3_boot),
        "0x20000",
        s(&signed),
        "0x10000",
        s(&blob),
    ]));
    run_ok(&mut sim(&[
        "write",
        s(&dev),
        "--force",
        "0x1F000",
        s(&blob),
    ]));
    let flash = std::fs::read(dev.join("flash.bin")).expect("flash");
    assert_eq!(&flash[0x1F000..0x21000], &[0x5Au8; 0x2000][..]);
    // Beyond the flash stays impossible, even forced.
    let out = run_fail(&mut sim(&[
        "write",
        s(&dev),
        "--force",
        "0x3FF000",
        s(&blob),
    ]));
    assert_one_line_error(&out, "beyond the flash size");
}
