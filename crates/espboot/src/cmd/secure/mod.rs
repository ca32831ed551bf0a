//! `espboot secure` (and the `espsecure` link): Secure Boot V1 and V2,
//! Secure Debug Controller certificates and flash encryption, with espsecure 5.6.0's command line (commands and options in
//! both dash and underscore spellings). All cryptography lives in the
//! `esp-secure` crate; this module parses arguments, reads and writes files
//! and prints espsecure-style messages.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use esp_secure::flash_encryption::{
    Direction, Esp32FlashCrypt, FlashCrypt, FlashEncryptionKey, XtsFlashCrypt,
};
use esp_secure::sbv2::{
    self, BlockOutcome, PrecalculatedSignature, Sbv2Signature, Sbv2Signer, SignOptions, SigningKey,
    SigningScheme,
};
use zeroize::Zeroizing;

use crate::fsutil::{write_atomic, AtomicFile};

/// Arguments of `espboot secure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Set by the `espsecure` personality: where espsecure 5.6.0 ends
    /// with an exception that espboot survives, stop there as it does.
    #[arg(skip)]
    as_espsecure: bool,
}

/// `--version` of the Secure Boot commands: V1 (ESP32) or V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SbVersion {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemeArg {
    Rsa3072,
    Ecdsa192,
    Ecdsa256,
    Ecdsa384,
}

impl From<SchemeArg> for SigningScheme {
    fn from(s: SchemeArg) -> Self {
        match s {
            SchemeArg::Rsa3072 => SigningScheme::Rsa3072,
            SchemeArg::Ecdsa192 => SigningScheme::Ecdsa192,
            SchemeArg::Ecdsa256 => SigningScheme::Ecdsa256,
            SchemeArg::Ecdsa384 => SigningScheme::Ecdsa384,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Generate a Secure Boot signing key (PEM, mode 0600).
    #[command(name = "generate-signing-key", alias = "generate_signing_key")]
    GenerateSigningKey {
        /// Secure Boot version: 1 (ESP32, ECDSA P-256) or 2; espsecure defaults to 1.
        #[arg(short = 'v', long = "version", default_value = "1")]
        version: SbVersion,
        /// Signing scheme (default rsa3072).
        #[arg(short = 's', long)]
        scheme: Option<SchemeArg>,
        /// Private key file to create.
        keyfile: PathBuf,
    },
    /// Sign a binary for Secure Boot V2 (signature sector with up to 3 blocks).
    #[command(name = "sign-data", alias = "sign_data")]
    SignData {
        /// Secure Boot version: 1 (ESP32, ECDSA P-256) or 2.
        #[arg(short = 'v', long = "version")]
        version: SbVersion,
        /// Private key file(s), one signature block each (up to 3).
        #[arg(short = 'k', long = "keyfile", num_args = 1.., action = clap::ArgAction::Append)]
        keyfile: Vec<PathBuf>,
        /// Output file (default: overwrite the input).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Keep existing valid signature blocks and add new ones after them.
        #[arg(short = 'a', long = "append-signatures", alias = "append_signatures")]
        append_signatures: bool,
        /// Sign with a key in a PKCS#11 token (HSM), named by --hsm-config.
        #[arg(long)]
        hsm: bool,
        /// espsecure's HSM configuration file ([hsm_config]: pkcs11_lib, slot, label, credentials, label_pubkey).
        #[arg(long = "hsm-config", alias = "hsm_config")]
        hsm_config: Option<PathBuf>,
        /// Public key(s) of pre-calculated signatures (PEM).
        #[arg(long = "pub-key", alias = "pub_key", num_args = 1.., action = clap::ArgAction::Append)]
        pub_key: Vec<PathBuf>,
        /// Pre-calculated signature(s): raw RSA-PSS (384 bytes, big-endian) or DER ECDSA.
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        signature: Vec<PathBuf>,
        /// Do not pad the data to a 4 KiB boundary.
        #[arg(long = "skip-padding", alias = "skip_padding")]
        skip_padding: bool,
        /// File to sign.
        datafile: PathBuf,
    },
    /// Verify a Secure Boot V2 signed file with a public or private key.
    #[command(name = "verify-signature", alias = "verify_signature")]
    VerifySignature {
        /// Secure Boot version: 1 (ESP32, ECDSA P-256) or 2.
        #[arg(short = 'v', long = "version")]
        version: SbVersion,
        /// Verify with the public key of a key in a PKCS#11 token (HSM), named by --hsm-config.
        #[arg(long)]
        hsm: bool,
        /// espsecure's HSM configuration file ([hsm_config]: pkcs11_lib, slot, label, credentials, label_pubkey).
        #[arg(long = "hsm-config", alias = "hsm_config")]
        hsm_config: Option<PathBuf>,
        /// Public or private key (PEM).
        #[arg(short = 'k', long = "keyfile")]
        keyfile: Option<PathBuf>,
        /// The file was signed with --skip-padding.
        #[arg(long = "skip-padding", alias = "skip_padding")]
        skip_padding: bool,
        /// Machine-readable output (per-block outcome).
        #[arg(long)]
        json: bool,
        /// Signed file.
        datafile: PathBuf,
    },
    /// Write the public key of a private key as PEM.
    #[command(name = "extract-public-key", alias = "extract_public_key")]
    ExtractPublicKey {
        /// Secure Boot version: 1 (ESP32, ECDSA P-256) or 2; espsecure defaults to 1.
        #[arg(short = 'v', long = "version", default_value = "1")]
        version: SbVersion,
        /// Private key (PEM).
        #[arg(short = 'k', long = "keyfile")]
        keyfile: PathBuf,
        /// Public key file to write.
        public_keyfile: PathBuf,
    },
    /// Write the SHA-256 public key digest to burn into eFuse (32 bytes).
    #[command(
        name = "digest-sbv2-public-key",
        alias = "digest_sbv2_public_key",
        alias = "digest-rsa-public-key",
        alias = "digest_rsa_public_key"
    )]
    DigestSbv2PublicKey {
        /// Public or private key (PEM).
        #[arg(short = 'k', long = "keyfile")]
        keyfile: PathBuf,
        /// Digest file to write.
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// List the signature blocks of a signed file and their key digests.
    #[command(name = "signature-info-v2", alias = "signature_info_v2")]
    SignatureInfoV2 {
        /// Signed file.
        datafile: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Generate a random flash encryption key (mode 0600).
    #[command(
        name = "generate-flash-encryption-key",
        alias = "generate_flash_encryption_key"
    )]
    GenerateFlashEncryptionKey {
        /// Key length in bits: 128 (ESP32-C2 derived), 192 or 256 (ESP32), 256 or 512 (XTS-AES).
        #[arg(short = 'l', long, default_value_t = 256, allow_hyphen_values = true, value_parser = crate::cmd::click_int)]
        keylen: i128,
        /// Key file to write.
        key_file: PathBuf,
    },
    /// Encrypt a binary as the chip stores it at a flash address.
    #[command(name = "encrypt-flash-data", alias = "encrypt_flash_data")]
    EncryptFlashData {
        #[command(flatten)]
        crypt: CryptArgs,
        /// Plaintext input file.
        plaintext_file: PathBuf,
    },
    /// Decrypt data read from encrypted flash.
    #[command(name = "decrypt-flash-data", alias = "decrypt_flash_data")]
    DecryptFlashData {
        #[command(flatten)]
        crypt: CryptArgs,
        /// Encrypted input file.
        encrypted_file: PathBuf,
    },
    /// Secure Boot V1: the flashable digest of a bootloader (`IV ‖ digest ‖ image`).
    #[command(name = "digest-secure-bootloader", alias = "digest_secure_bootloader")]
    DigestSecureBootloader {
        /// 256-bit secure boot key (raw bytes; 192-bit keys are extended).
        #[arg(short = 'k', long = "keyfile")]
        keyfile: PathBuf,
        /// Output file (default: IMAGE without extension + `-digest-0x0000.bin`).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// 128-byte IV file, for tests only (default: random).
        #[arg(long)]
        iv: Option<PathBuf>,
        /// Bootloader image.
        image: PathBuf,
    },
    /// Secure Boot V1: the secure boot key derived from the signing key (SHA-256).
    #[command(name = "digest-private-key", alias = "digest_private_key")]
    DigestPrivateKey {
        /// ECDSA P-256 private key (PEM).
        #[arg(short = 'k', long = "keyfile")]
        keyfile: PathBuf,
        /// Digest length in bits: 256, or 192 for the 3/4 coding scheme.
        #[arg(short = 'l', long, default_value_t = 256, allow_hyphen_values = true, value_parser = crate::cmd::click_int)]
        keylen: i128,
        /// Digest file to write (mode 0600).
        digest_file: PathBuf,
    },
    /// Generate a Secure Debug Controller certificate for one device and session.
    #[command(name = "generate-sdc-certificate", alias = "generate_sdc_certificate")]
    GenerateSdcCertificate(sdc::CertificateArgs),
    /// Write the SDC public key digest to burn as SDC_KEY_DIGEST.
    #[command(name = "digest-sdc-public-key", alias = "digest_sdc_public_key")]
    DigestSdcPublicKey(sdc::DigestArgs),
}

mod click_file;
mod crypt;
mod hsm;
pub(crate) mod keys;
mod personality;
mod sdc;
mod sign;
mod v1;
mod verify;
pub use personality::personality;

use crypt::flash_crypt;
use keys::{generate_signing_key, load_verification_key};
use sign::sign_data;
use verify::{signature_info, verify_signature, VerifyKey};

/// A failure that espsecure 5.6.0 words differently from espboot: the
/// `espboot secure` names print `ours`, the `espsecure` personality prints
/// espsecure's own text (scripts match on it).
#[derive(Debug, thiserror::Error)]
#[error("{ours}")]
struct Fatal {
    ours: String,
    espsecure: String,
}

impl Fatal {
    fn espsecure(&self) -> &str {
        &self.espsecure
    }
}

/// espsecure's exception when a command reads a key file option that was
/// not given (`keyfile.read()` on `None`).
const NO_KEYFILE_READ: &str = "AttributeError: 'NoneType' object has no attribute 'read'";

/// An error with espboot's message and espsecure's reference message.
fn fatal(ours: impl Into<String>, espsecure: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fatal {
        ours: ours.into(),
        espsecure: espsecure.into(),
    })
}

/// An error with espboot's message where espsecure 5.6.0 stops with an
/// uncaught Python exception: the personality prints the traceback's last
/// line, `exception` (for example `struct.error: unpack requires a buffer
/// of 68 bytes`), and exits 1.
fn uncaught(ours: impl Into<String>, exception: impl Into<String>) -> anyhow::Error {
    keys::refused(keys::Refusal::uncaught(exception), ours.into())
}

#[derive(Debug, clap::Args)]
struct CryptArgs {
    /// Flash encryption key file (raw bytes).
    #[arg(short = 'k', long = "keyfile")]
    keyfile: PathBuf,
    /// Output file.
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Flash address of the data (decimal or 0x hex; a multiple of 16).
    // Any Python integer, as espsecure takes it: a negative one too.
    #[arg(short = 'a', long, value_parser = py_int::parse, allow_hyphen_values = true)]
    address: i128,
    /// FLASH_CRYPT_CONFIG eFuse value (ESP32 algorithm only).
    #[arg(long = "flash-crypt-conf", alias = "flash_crypt_conf", value_parser = py_int::parse, allow_hyphen_values = true, default_value = "0xF")]
    flash_crypt_conf: i128,
    /// Use XTS-AES (ESP32-S2, S3, C2, C3, C6, H2 and later) instead of the ESP32 algorithm.
    #[arg(short = 'x', long = "aes-xts", alias = "aes_xts")]
    aes_xts: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::GenerateSigningKey {
            version,
            scheme,
            keyfile,
        } => generate_signing_key(version == SbVersion::V1, scheme.map(Into::into), &keyfile),
        Command::SignData {
            version,
            keyfile,
            output,
            append_signatures,
            hsm,
            hsm_config,
            pub_key,
            signature,
            skip_padding,
            datafile,
        } => {
            if version == SbVersion::V1 {
                return v1::sign_data(
                    &keyfile,
                    hsm,
                    output.as_deref(),
                    &pub_key,
                    &signature,
                    &datafile,
                );
            }
            sign_data(
                &keyfile,
                // espsecure reads --hsm-config only with --hsm.
                hsm.then_some(hsm_config.as_deref()),
                output.as_deref(),
                SignOptions {
                    append_signatures,
                    skip_padding,
                },
                &pub_key,
                &signature,
                &datafile,
            )
        }
        Command::VerifySignature {
            version,
            hsm,
            hsm_config,
            keyfile,
            skip_padding,
            json,
            datafile,
        } => {
            if version == SbVersion::V1 {
                return v1::verify_signature(keyfile.as_deref(), &datafile);
            }
            let key = if hsm {
                VerifyKey::Hsm(hsm_config)
            } else {
                let Some(keyfile) = keyfile else {
                    // espsecure reads from the missing click.File
                    return Err(uncaught(
                        "--keyfile is required (a PEM public or private key), or --hsm with --hsm-config",
                        NO_KEYFILE_READ,
                    ));
                };
                VerifyKey::File(keyfile)
            };
            verify_signature(&key, skip_padding, json, &datafile, args.as_espsecure)
        }
        Command::ExtractPublicKey {
            version,
            keyfile,
            public_keyfile,
        } => {
            check_not_same(&keyfile, &public_keyfile)?;
            if version == SbVersion::V1 {
                return v1::extract_public_key(&keyfile, &public_keyfile);
            }
            // espsecure reads a private key here (a public key is refused).
            let key = keys::load_signing_key("--keyfile", &keyfile)?.public_key();
            let pem = key.to_pem().context("cannot encode the public key")?;
            click_file::write(&public_keyfile, pem.as_bytes(), false)?;
            outln!(
                "\"{}\" public key extracted to \"{}\".",
                click_file::name(&keyfile),
                public_keyfile.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::DigestSbv2PublicKey { keyfile, output } => {
            check_not_same(&keyfile, &output)?;
            let key = load_verification_key("--keyfile", &keyfile)?;
            write_atomic(&output, &key.digest(), false)?;
            outln!(
                "Writing the public key digest of \"{}\" to \"{}\".",
                click_file::name(&keyfile),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::SignatureInfoV2 { datafile, json } => signature_info(&datafile, json),
        Command::GenerateFlashEncryptionKey { keylen, key_file } => {
            if ![128, 192, 256, 512].contains(&keylen) {
                bail!(
                    "--keylen {keylen}: expected 128 (ESP32-C2), 192 or 256 (ESP32), or 256 or 512 (XTS-AES)"
                );
            }
            let key = FlashEncryptionKey::generate(keylen as usize);
            // espsecure says so before its (lazily opened) file is written
            outln!(
                "Writing {keylen} random bits to key file \"{}\".",
                key_file.display()
            );
            click_file::write(&key_file, key.as_bytes(), true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::EncryptFlashData {
            crypt,
            plaintext_file,
        } => flash_crypt(
            &crypt,
            &plaintext_file,
            Direction::Encrypt,
            args.as_espsecure,
        ),
        Command::DecryptFlashData {
            crypt,
            encrypted_file,
        } => flash_crypt(
            &crypt,
            &encrypted_file,
            Direction::Decrypt,
            args.as_espsecure,
        ),
        Command::DigestSecureBootloader {
            keyfile,
            output,
            iv,
            image,
        } => v1::digest_secure_bootloader(&keyfile, output.as_deref(), iv.as_deref(), &image),
        Command::DigestPrivateKey {
            keyfile,
            keylen,
            digest_file,
        } => v1::digest_private_key(&keyfile, keylen, &digest_file),
        Command::GenerateSdcCertificate(args) => sdc::generate_certificate(args),
        Command::DigestSdcPublicKey(args) => sdc::digest_public_key(args),
    }
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn check_not_same(input: &Path, output: &Path) -> anyhow::Result<()> {
    if same_file(input, output) {
        return Err(fatal(
            format!(
                "the input \"{}\" and output \"{}\" should not be the same",
                input.display(),
                output.display()
            ),
            format!(
                "The input \"{}\" and output \"{}\" should not be the same!",
                input.display(),
                output.display()
            ),
        ));
    }
    Ok(())
}

/// espsecure's name for a block's or key's kind of signature. `None` is
/// an ECDSA block of a hash type or curve no scheme has.
fn scheme_family(scheme: Option<SigningScheme>) -> &'static str {
    match scheme {
        Some(SigningScheme::Rsa3072) => "RSA",
        _ => "ECDSA",
    }
}
