//! Secure Boot V1 (ESP32): `--version 1` of generate-signing-key,
//! sign-data, verify-signature and extract-public-key, and the V1-only
//! digest-private-key and digest-secure-bootloader, with espsecure 5.6.0's
//! messages and checks in its order (espsecure/__init__.py L115-L1375).
//! The cryptography is `esp_secure::sbv1`.

use esp_image::image_info::ImageInfoError;
use esp_secure::sbv1;
use key_files::{KeyFile, PrivateKey, PublicKey as AnyPublicKey};

use super::*;

/// espsecure's refusal of a key on another curve (`_load_ecdsa_signing_key`).
const WRONG_CURVE: &str = "Signing key uses incorrect curve. ESP32 Secure Boot only supports NIST256p (openssl calls this curve 'prime256v1').";

/// Loads a V1 signing key as `_load_ecdsa_signing_key`: a PEM private key
/// on NIST P-256.
pub(super) fn load_signing_key(path: &Path) -> anyhow::Result<p256::SecretKey> {
    match super::keys::load_for(super::keys::Loader::EcdsaSigning, "--keyfile", path)? {
        KeyFile::Private(PrivateKey::P256(k)) => Ok(k),
        // load_for lets only ECDSA P-192/P-256/P-384 private keys through.
        _ => Err(fatal(
            format!(
                "--keyfile {}: Secure Boot V1 signs with ECDSA NIST P-256 (prime256v1) keys only",
                path.display()
            ),
            WRONG_CURVE,
        )),
    }
}

/// Loads the public key of pre-calculated V1 signatures
/// (`_load_ecdsa_verifying_key`).
fn load_verifying_key(path: &Path) -> anyhow::Result<p256::PublicKey> {
    let pem = read_file(path, "--pub-key")?;
    match KeyFile::from_pem(&pem, None) {
        Ok(KeyFile::Public(AnyPublicKey::P256(k))) => Ok(k),
        Ok(KeyFile::Public(_)) => Err(fatal(
            format!(
                "--pub-key {}: Secure Boot V1 verifies with ECDSA NIST P-256 (prime256v1) keys only",
                path.display()
            ),
            WRONG_CURVE,
        )),
        _ => Err(fatal(
            format!(
                "--pub-key {}: not a PEM public key (Secure Boot V1 takes ECDSA NIST P-256)",
                path.display()
            ),
            "Incorrect ECDSA public key specified. Please check algorithm and/or format.",
        )),
    }
}

/// `sign-data --version 1`: the data, then the 68-byte signature block,
/// into `output` or appended to the data file.
pub(super) fn sign_data(
    keyfiles: &[PathBuf],
    hsm: bool,
    output: Option<&Path>,
    pub_keys: &[PathBuf],
    signatures: &[PathBuf],
    datafile: &Path,
) -> anyhow::Result<ExitCode> {
    for key in keyfiles {
        if let Some(out) = output {
            check_not_same(key, out)?;
        }
    }
    if let Some(out) = output {
        check_not_same(datafile, out)?;
    }
    let data = read_file(datafile, "the data file")?;
    if hsm {
        return Err(fatal(
            "Secure Boot V1 cannot sign with a key in an HSM (--hsm)",
            "Secure Boot V1 does not support signing using an external Hardware Security Module (HSM)",
        ));
    }
    let one_key = || {
        fatal(
            "Secure Boot V1 signs with exactly one key",
            "Secure Boot V1 only supports one signing key.",
        )
    };
    let block = if let Some(signature) = signatures.first() {
        outln!("Pre-calculated signatures found...");
        if pub_keys.len() > 1 {
            return Err(one_key());
        }
        let Some(pub_key) = pub_keys.first() else {
            bail!("--signature needs the signer's public key (--pub-key)");
        };
        let raw = read_file(signature, "--signature")?;
        let key = load_verifying_key(pub_key)?;
        // espsecure's back-verification of a pre-calculated signature lets
        // cryptography's `InvalidSignature` through (it has no message)
        sbv1::block_from_raw_signature(&key, &data, &raw).map_err(|e| {
            uncaught(
                format!(
                    "--signature {}: {e} (over {} with the key in {})",
                    signature.display(),
                    datafile.display(),
                    pub_key.display()
                ),
                "cryptography.exceptions.InvalidSignature",
            )
        })?
    } else {
        if keyfiles.len() > 1 {
            return Err(one_key());
        }
        let Some(keyfile) = keyfiles.first() else {
            // espsecure takes `keyfile[0]` of an empty tuple
            return Err(uncaught(
                "sign-data --version 1 needs a signing key (--keyfile) or --signature with --pub-key",
                "IndexError: tuple index out of range",
            ));
        };
        sbv1::sign(&load_signing_key(keyfile)?, &data)
    };
    let mut signed = data;
    let len = signed.len();
    signed.extend_from_slice(&block);
    let from_stdin = super::click_file::name(datafile) == super::click_file::STDIN_NAME;
    match output {
        Some(output) => write_atomic(output, &signed, false)?,
        // espsecure appends the block to `datafile.name`, the file
        // "<stdin>" here
        None if from_stdin => {
            let target = Path::new(super::click_file::STDIN_NAME);
            let mut appended = std::fs::read(target).unwrap_or_default();
            appended.extend_from_slice(&block);
            write_atomic(target, &appended, false)?;
        }
        None => write_atomic(datafile, &signed, false)?,
    }
    outln!(
        "Signed {len} bytes of data from \"{}\".",
        super::click_file::name(datafile)
    );
    Ok(ExitCode::SUCCESS)
}

/// The verification key of `verify-signature --version 1`: a SEC1 private
/// key, an SPKI public key, or the 64 raw bytes `extract-public-key`
/// writes, chosen as `verify_signature_v1` does (by the PEM label, then by
/// the length).
fn load_v1_verification_key(path: &Path) -> anyhow::Result<p256::PublicKey> {
    let data = read_file(path, "--keyfile")?;
    let has = |label: &[u8]| data.windows(label.len()).any(|w| w == label);
    let unsupported = || {
        fatal(
            format!(
                "--keyfile {}: not an EC key in PEM format nor a 64-byte raw P-256 public key",
                path.display()
            ),
            "Verification key does not appear to be an EC key in PEM format or binary EC public key data. Unsupported.",
        )
    };
    let wrong_curve = || {
        fatal(
            format!(
                "--keyfile {}: Secure Boot V1 verifies with ECDSA NIST P-256 (prime256v1) keys only",
                path.display()
            ),
            "Public key uses incorrect curve. ESP32 Secure Boot only supports NIST256p (openssl calls this curve 'prime256v1').",
        )
    };
    let ec_private = has(b"-BEGIN EC PRIVATE KEY");
    if ec_private || has(b"-BEGIN PUBLIC KEY") {
        let pem = Zeroizing::new(data);
        let wanted = if ec_private {
            key_files::strict::Wanted::PrivateKey
        } else {
            key_files::strict::Wanted::PublicKey
        };
        // cryptography's exception for a file it cannot load is not
        // caught (some of these files our loader reads: a header or blank
        // line in the block, encryption headers, unusable key numbers).
        if key_files::strict::first_failure(&pem, wanted).is_some() {
            return Err(super::keys::refused(
                super::keys::Undecodable::of(&pem, wanted).uncaught(),
                format!(
                    "--keyfile {}: a PEM key block strict readers refuse (a stray header, blank line or encryption header, or inconsistent key numbers)",
                    path.display()
                ),
            ));
        }
        return match KeyFile::from_pem(&pem, None) {
            Ok(KeyFile::Private(PrivateKey::P256(k))) => Ok(k.public_key()),
            Ok(KeyFile::Public(AnyPublicKey::P256(k))) => Ok(k),
            Ok(KeyFile::Private(PrivateKey::P192(_) | PrivateKey::P384(_)))
            | Ok(KeyFile::Public(AnyPublicKey::P192(_) | AnyPublicKey::P384(_))) => {
                Err(wrong_curve())
            }
            // espsecure asks the key for its curve: an AttributeError.
            Ok(file) => Err(super::keys::refused(
                super::keys::no_curve_attribute(file.kind()),
                format!(
                    "--keyfile {}: {} keys cannot verify for Secure Boot V1 (ECDSA NIST P-256 only)",
                    path.display(),
                    file.kind()
                ),
            )),
            // cryptography loads other curves; espsecure then refuses them.
            Err(key_files::KeyFileError::UnsupportedCurve { .. }) => Err(wrong_curve()),
            // load_pem_private_key's TypeError is not caught.
            Err(e @ key_files::KeyFileError::PasswordRequired) if ec_private => Err(super::keys::refused(
                super::keys::Refusal::uncaught(
                    "TypeError: Password was not given but private key is encrypted",
                ),
                format!("--keyfile {}: {e}", path.display()),
            )),
            // cryptography's ValueError for a block it cannot decode is
            // not caught either.
            Err(
                e @ (key_files::KeyFileError::BadBase64 { .. }
                | key_files::KeyFileError::Malformed { .. }
                | key_files::KeyFileError::NotDer),
            ) => Err(super::keys::refused(
                    super::keys::Undecodable::of(&pem, wanted).uncaught(),
                    format!("--keyfile {}: {e}", path.display()),
                )),
            Err(e) => Err(e).with_context(|| format!("--keyfile {}", path.display())),
        };
    }
    let raw: [u8; 64] = data.as_slice().try_into().map_err(|_| unsupported())?;
    sbv1::public_key_from_raw(&raw).with_context(|| format!("--keyfile {}", path.display()))
}

/// `verify-signature --version 1`.
pub(super) fn verify_signature(
    keyfile: Option<&Path>,
    datafile: &Path,
) -> anyhow::Result<ExitCode> {
    let Some(keyfile) = keyfile else {
        return Err(uncaught(
            "verify-signature --version 1 needs the public key (--keyfile)",
            super::NO_KEYFILE_READ,
        ));
    };
    let key = load_v1_verification_key(keyfile)?;
    let signed = read_file(datafile, "the data file")?;
    let data = sbv1::signed_data(&signed).map_err(|e| {
        // espsecure unpacks the file's last 68 bytes
        uncaught(
            format!("{}: {e}", datafile.display()),
            format!(
                "struct.error: unpack requires a buffer of {} bytes",
                sbv1::SIGNATURE_BLOCK_LEN
            ),
        )
    })?;
    let as_fatal =
        |e: sbv1::Sbv1Error| fatal(format!("{}: {e}", datafile.display()), e.to_string());
    // The version word is checked before the "Verifying" line.
    if let Err(e @ sbv1::Sbv1Error::Version(_)) = sbv1::verify(&key, &signed) {
        return Err(as_fatal(e));
    }
    outln!("Verifying {} bytes of data...", data.len());
    sbv1::verify(&key, &signed).map_err(as_fatal)?;
    outln!("Signature is valid.");
    Ok(ExitCode::SUCCESS)
}

/// `extract-public-key --version 1`: the raw 64-byte `x ‖ y`.
pub(super) fn extract_public_key(
    keyfile: &Path,
    public_keyfile: &Path,
) -> anyhow::Result<ExitCode> {
    let key = load_signing_key(keyfile)?;
    super::click_file::write(
        public_keyfile,
        &sbv1::public_key_raw(&key.public_key()),
        false,
    )?;
    outln!(
        "\"{}\" public key extracted to \"{}\".",
        super::click_file::name(keyfile),
        public_keyfile.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `digest-private-key`: the secure boot key for BLOCK2, derived from the
/// signing key (secret: written 0600).
pub(super) fn digest_private_key(
    keyfile: &Path,
    keylen: i128,
    digest_file: &Path,
) -> anyhow::Result<ExitCode> {
    check_not_same(keyfile, digest_file)?;
    let key = load_signing_key(keyfile)?;
    let digest = sbv1::private_key_digest(&key);
    // espsecure truncates only for 192 but names any length other than 256
    // "truncated to 192 bits".
    let len = if keylen == 192 { 24 } else { 32 };
    super::click_file::write(digest_file, &digest[..len], true)?;
    let note = if keylen == 256 {
        ""
    } else {
        " (truncated to 192 bits)"
    };
    outln!(
        "SHA-256 digest of private key \"{}\"{note} written to \"{}\".",
        super::click_file::name(keyfile),
        digest_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `digest-secure-bootloader`: `IV ‖ digest ‖ 0xFF… ‖ image` for flashing
/// at 0x0 with the secure boot key preloaded.
pub(super) fn digest_secure_bootloader(
    keyfile: &Path,
    output: Option<&Path>,
    iv_file: Option<&Path>,
    image: &Path,
) -> anyhow::Result<ExitCode> {
    // espsecure compares each input with the output, None with None too:
    // without --iv and -o it stops here.
    let name = |p: Option<&Path>| p.map_or_else(|| "None".to_owned(), super::click_file::name);
    for input in [Some(keyfile), Some(image), iv_file] {
        let same = match (input, output) {
            (Some(i), Some(o)) => same_file(i, o),
            (None, None) => true,
            _ => false,
        };
        if same {
            let ours = if output.is_none() {
                "digest-secure-bootloader: give -o FILE (espsecure refuses a call without both -o and --iv)".to_owned()
            } else {
                format!(
                    "the input \"{}\" and output \"{}\" should not be the same",
                    name(input),
                    name(output)
                )
            };
            return Err(fatal(
                ours,
                format!(
                    "The input \"{}\" and output \"{}\" should not be the same!",
                    name(input),
                    name(output)
                ),
            ));
        }
    }
    let iv = match iv_file {
        Some(path) => {
            eprintln!("WARNING: --iv argument is for TESTING PURPOSES ONLY");
            let mut bytes = read_file(path, "--iv")?;
            bytes.truncate(sbv1::BOOTLOADER_IV_LEN);
            bytes
        }
        None => {
            let mut iv = vec![0u8; sbv1::BOOTLOADER_IV_LEN];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut iv);
            iv
        }
    };
    let plain = read_file(image, "the bootloader image")?;
    if super::click_file::is_unseekable_stdin(image) {
        // espsecure reads the image, then seeks back to its start
        return Err(uncaught(
            "the bootloader image: standard input cannot be read twice",
            "io.UnsupportedOperation: File or stream is not seekable.",
        ));
    }
    let info =
        esp_image::image_info::ImageInfo::read(&plain, esp_image::Chip::Esp32).map_err(|e| {
            let ours = format!("{}: {e}", image.display());
            match e {
                // esptool's image loader lets struct.error through
                ImageInfoError::TruncatedHeader { needed, .. } => uncaught(
                    ours,
                    format!("struct.error: unpack requires a buffer of {needed} bytes"),
                ),
                _ => fatal(ours, e.to_string()),
            }
        })?;
    let raw_key = Zeroizing::new(read_file(keyfile, "--keyfile")?);
    let key = sbv1::bootloader_digest_key(&raw_key).map_err(|e| {
        let ours = format!("--keyfile {}: {e}", keyfile.display());
        if e == sbv1::Sbv1Error::Key512 {
            // espsecure reads the key, says which it uses, then
            // cryptography refuses AES with 512 bits
            outln!("Using 512-bit key.");
            uncaught(
                ours,
                "ValueError: Only 128, 192, and 256 bit keys are allowed for this AES mode",
            )
        } else {
            fatal(ours, e.to_string())
        }
    })?;
    outln!(
        "{}",
        match raw_key.len() {
            16 => "Using 128-bit key (extended).",
            24 => "Using 192-bit key (extended).",
            _ => "Using 256-bit key.",
        }
    );
    let out = sbv1::digest_secure_bootloader(&key, &iv, &plain, info.digest.is_some());
    // espsecure's default name: the image's name without extension.
    let output = output.map_or_else(
        || {
            let stem = image.with_extension("");
            PathBuf::from(format!("{}-digest-0x0000.bin", stem.display()))
        },
        Path::to_path_buf,
    );
    write_atomic(&output, &out, false)?;
    outln!("Digest + image written to \"{}\"", output.display());
    Ok(ExitCode::SUCCESS)
}
