//! The pinned espsecure and imgtool agree with what token-held keys sign:
//!
//! - espsecure's own `sign-data --hsm --hsm-config` signs with the token key
//!   this crate opens from the same file, and its output verifies with the
//!   public key this crate reads;
//! - Secure Boot V2 signatures this crate makes are accepted by espsecure's
//!   pre-calculated-signature path and verify with `verify-signature --hsm`
//!   (espsecure reading the key from the token itself);
//! - MCUboot images whose digest this crate signed (`imgtool sign
//!   --vector-to-sign digest`, then `--fix-sig`) pass `imgtool verify`.

mod support;

use std::path::Path;

use base64ct::{Base64, Encoding};
use pkcs11_keys::{HsmConfig, KeyAlgorithm, Pkcs11Key, TypedKey};
use sha2::{Digest, Sha256, Sha384};
use signature::hazmat::{PrehashSigner, RandomizedPrehashSigner};
use signature::{SignatureEncoding, Signer};
use spki::EncodePublicKey;
use support::{python_generate, reference_tool, run, Kind, SoftHsm, USER_PIN};

const TOKEN: &str = "factory";

/// Fails with the fix when the reference venv cannot run `--hsm`.
fn require_python_pkcs11() {
    let out = reference_tool("python")
        .args(["-c", "import pkcs11"])
        .output()
        .expect("start python");
    assert!(
        out.status.success(),
        "the reference venv lacks python-pkcs11, which espsecure --hsm imports: \
         scripts/requirements-test.txt pins it (asn1crypto, python-pkcs11); rerun \
         scripts/test, or set ESPBOOT_SKIP_INTEROP=1 on purpose"
    );
}

fn write_public_pem(key: &Pkcs11Key, path: &Path) {
    let pem = key
        .public_key()
        .to_public_key_pem(spki::der::pem::LineEnding::LF)
        .expect("PEM");
    std::fs::write(path, pem).expect("write PEM");
}

/// A signature over `digest` in the file format the reference tools take
/// (raw RSA, DER ECDSA, raw Ed25519).
fn sign_digest(key: Pkcs11Key, digest: &[u8]) -> Vec<u8> {
    match TypedKey::from(key) {
        TypedKey::Rsa(k) => k
            .sign_prehash_with_rng(&mut rand_core::OsRng, digest)
            .expect("sign")
            .to_vec(),
        TypedKey::EcdsaP192(k) => {
            let s: ecdsa::Signature<p192::NistP192> = k.sign_prehash(digest).expect("sign");
            s.to_der().as_bytes().to_vec()
        }
        TypedKey::EcdsaP256(k) => {
            let s: p256::ecdsa::Signature = k.sign_prehash(digest).expect("sign");
            s.to_der().as_bytes().to_vec()
        }
        TypedKey::EcdsaP384(k) => {
            let s: p384::ecdsa::Signature = k.sign_prehash(digest).expect("sign");
            s.to_der().as_bytes().to_vec()
        }
        TypedKey::Ed25519(k) => k.sign(digest).to_bytes().to_vec(),
        other => panic!("unexpected key {other:?}"),
    }
}

/// Where the signature starts in a Secure Boot V2 block (reference
/// esptool.md §1.2-1.3): everything before it (magic, version, digest,
/// key) must be the same whoever signed.
fn sbv2_signature_offset(algorithm: KeyAlgorithm) -> usize {
    match algorithm {
        KeyAlgorithm::Rsa { .. } => 812,
        KeyAlgorithm::EcdsaP384 => 149,
        _ => 101,
    }
}

#[test]
fn espsecure_sign_data_hsm_and_precalculated_signatures_agree() {
    skip_without_interop!();
    require_python_pkcs11();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    // A 4 KiB-aligned image (pre-calculated signatures need alignment).
    let image: Vec<u8> = (0..3 * 4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let input = hsm.path("bootloader.bin");
    std::fs::write(&input, &image).expect("write image");

    let cases = [
        (Kind::Rsa3072, KeyAlgorithm::Rsa { bits: 3072 }, true),
        (Kind::P256, KeyAlgorithm::EcdsaP256, true),
        (Kind::P384, KeyAlgorithm::EcdsaP384, false),
        (Kind::P192, KeyAlgorithm::EcdsaP192, true),
    ];
    for (index, (kind, algorithm, imported)) in cases.into_iter().enumerate() {
        let label = format!("sbv2-{}", kind.name());
        if imported {
            let pem = hsm.path(&format!("{label}.pem"));
            python_generate(kind, &pem);
            hsm.import(&pem, TOKEN, &label, &[0x5b, index as u8]);
        } else {
            Pkcs11Key::generate(&hsm.locator(TOKEN, &label), algorithm).expect("generate");
        }
        let config = hsm.path(&format!("{label}.ini"));
        std::fs::write(
            &config,
            format!(
                "[hsm_config]\npkcs11_lib = {}\ncredentials = {USER_PIN}\nslot = {slot}\nlabel = {label}\n",
                hsm.module.display()
            ),
        )
        .expect("write config");

        // espsecure signs with the token key.
        let by_espsecure = hsm.path(&format!("{label}-espsecure.bin"));
        run(reference_tool("espsecure")
            .env("SOFTHSM2_CONF", &hsm.conf)
            .args(["sign-data", "--version", "2", "--hsm", "--hsm-config"])
            .arg(&config)
            .arg("-o")
            .arg(&by_espsecure)
            .arg(&input));

        // We open the same key from the same file.
        let key =
            Pkcs11Key::open(&HsmConfig::read(&config).expect("config").locator()).expect("open");
        assert_eq!(key.algorithm(), algorithm);
        let public_pem = hsm.path(&format!("{label}.pub.pem"));
        write_public_pem(&key, &public_pem);
        run(reference_tool("espsecure")
            .args(["verify-signature", "--version", "2", "--keyfile"])
            .arg(&public_pem)
            .arg(&by_espsecure));

        // We sign; espsecure builds the block from our signature (it
        // verifies it first) and verifies the result with the token's key.
        let digest = if algorithm == KeyAlgorithm::EcdsaP384 {
            Sha384::digest(&image).to_vec()
        } else {
            Sha256::digest(&image).to_vec()
        };
        let signature = hsm.path(&format!("{label}.sig"));
        std::fs::write(&signature, sign_digest(key, &digest)).expect("write signature");
        let by_us = hsm.path(&format!("{label}-ours.bin"));
        run(reference_tool("espsecure")
            .args(["sign-data", "--version", "2", "--pub-key"])
            .arg(&public_pem)
            .arg("--signature")
            .arg(&signature)
            .arg("-o")
            .arg(&by_us)
            .arg(&input));
        run(reference_tool("espsecure")
            .env("SOFTHSM2_CONF", &hsm.conf)
            .args([
                "verify-signature",
                "--version",
                "2",
                "--hsm",
                "--hsm-config",
            ])
            .arg(&config)
            .arg(&by_us));

        // Same data, digest and key field; only the (randomised) signature
        // and CRC differ.
        let theirs = std::fs::read(&by_espsecure).expect("read");
        let ours = std::fs::read(&by_us).expect("read");
        let block_head = image.len() + sbv2_signature_offset(algorithm);
        assert_eq!(theirs.len(), ours.len(), "{label}");
        assert_eq!(theirs[..block_head], ours[..block_head], "{label}");
    }
}

#[test]
fn imgtool_verifies_images_signed_in_the_token() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
    let input = hsm.path("app.bin");
    std::fs::write(&input, &payload).expect("write app");
    let layout = [
        "--header-size",
        "0x20",
        "--pad-header",
        "--align",
        "4",
        "--version",
        "1.2.3",
        "--slot-size",
        "0x10000",
    ];

    for (algorithm, sha) in [
        (KeyAlgorithm::Rsa { bits: 2048 }, "256"),
        (KeyAlgorithm::Rsa { bits: 3072 }, "256"),
        (KeyAlgorithm::EcdsaP256, "256"),
        (KeyAlgorithm::EcdsaP384, "384"),
        (KeyAlgorithm::Ed25519, "256"),
    ] {
        let label = format!("mcuboot-{}", algorithm.to_string().replace(' ', "-"));
        let key = Pkcs11Key::generate(&hsm.locator(TOKEN, &label), algorithm).expect("generate");
        let public_pem = hsm.path(&format!("{label}.pub.pem"));
        write_public_pem(&key, &public_pem);

        // imgtool exports the digest to sign...
        let digest_file = hsm.path(&format!("{label}.digest"));
        run(reference_tool("imgtool")
            .arg("sign")
            .args(layout)
            .args(["--sha", sha, "--vector-to-sign", "digest"])
            .arg(&input)
            .arg(&digest_file));
        let digest = std::fs::read(&digest_file).expect("read digest");
        assert_eq!(digest.len(), if sha == "384" { 48 } else { 32 });

        // ...the token signs it, imgtool embeds and verifies the signature.
        let signature = hsm.path(&format!("{label}.sig.b64"));
        std::fs::write(
            &signature,
            Base64::encode_string(&sign_digest(key, &digest)),
        )
        .expect("write signature");
        let signed = hsm.path(&format!("{label}.signed.bin"));
        run(reference_tool("imgtool")
            .arg("sign")
            .args(layout)
            .args(["--sha", sha, "--fix-sig"])
            .arg(&signature)
            .arg("--fix-sig-pubkey")
            .arg(&public_pem)
            .arg(&input)
            .arg(&signed));
        let out = run(reference_tool("imgtool")
            .args(["verify", "-k"])
            .arg(&public_pem)
            .arg(&signed));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Image was correctly validated"),
            "{label}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
