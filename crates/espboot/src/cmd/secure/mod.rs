//! `espboot secure` (and the `espsecure` link): Secure Boot V2 and flash
//! encryption, with espsecure 5.6.0's command line (commands and options in
//! both dash and underscore spellings). All cryptography lives in the
//! `esp-secure` crate; this module parses arguments, reads and writes files
//! and prints espsecure-style messages.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use esp_secure::flash_encryption::{
    Direction, Esp32FlashCrypt, FlashCrypt, FlashEncryptionKey, XtsFlashCrypt, XtsKeyKind,
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
}

/// `--version` of the Secure Boot commands: only V2 is implemented.
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
    /// Generate a Secure Boot V2 signing key (PEM, mode 0600).
    #[command(name = "generate-signing-key", alias = "generate_signing_key")]
    GenerateSigningKey {
        /// Secure Boot version (only 2 is supported; espsecure defaults to 1).
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
        /// Secure Boot version (only 2 is supported).
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
        /// Sign with an external HSM (not supported by espboot).
        #[arg(long)]
        hsm: bool,
        /// HSM configuration file (not supported by espboot).
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
        /// Secure Boot version (only 2 is supported).
        #[arg(short = 'v', long = "version")]
        version: SbVersion,
        /// Verify with an external HSM (not supported by espboot).
        #[arg(long)]
        hsm: bool,
        /// HSM configuration file (not supported by espboot).
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
        /// Secure Boot version (only 2 is supported; espsecure defaults to 1).
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
        #[arg(short = 'l', long, default_value_t = 256)]
        keylen: u32,
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
    /// Secure Boot V1 (not supported by espboot).
    #[command(name = "digest-secure-bootloader", alias = "digest_secure_bootloader")]
    DigestSecureBootloader {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Secure Boot V1 private key digest (not supported by espboot).
    #[command(name = "digest-private-key", alias = "digest_private_key")]
    DigestPrivateKey {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

mod personality;
pub use personality::personality;

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

/// An error with espboot's message and espsecure's reference message.
fn fatal(ours: impl Into<String>, espsecure: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fatal {
        ours: ours.into(),
        espsecure: espsecure.into(),
    })
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
    #[arg(short = 'a', long, value_parser = py_int::parse_u64)]
    address: u64,
    /// FLASH_CRYPT_CONFIG eFuse value (ESP32 algorithm only).
    #[arg(long = "flash-crypt-conf", alias = "flash_crypt_conf", value_parser = py_int::parse_u64, default_value = "0xF")]
    flash_crypt_conf: u64,
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
        } => {
            require_v2(version, "generate-signing-key")?;
            generate_signing_key(scheme.map_or(SigningScheme::Rsa3072, Into::into), &keyfile)
        }
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
            require_v2(version, "sign-data")?;
            reject_hsm(hsm || hsm_config.is_some())?;
            sign_data(
                &keyfile,
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
            require_v2(version, "verify-signature")?;
            reject_hsm(hsm || hsm_config.is_some())?;
            let Some(keyfile) = keyfile else {
                bail!("--keyfile is required (a PEM public or private key)");
            };
            verify_signature(&keyfile, skip_padding, json, &datafile)
        }
        Command::ExtractPublicKey {
            version,
            keyfile,
            public_keyfile,
        } => {
            check_not_same(&keyfile, &public_keyfile)?;
            require_v2(version, "extract-public-key")?;
            let key = load_public_key("--keyfile", &keyfile)?;
            let pem = key.to_pem().context("cannot encode the public key")?;
            write_atomic(&public_keyfile, pem.as_bytes(), false)?;
            outln!(
                "\"{}\" public key extracted to \"{}\".",
                keyfile.display(),
                public_keyfile.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::DigestSbv2PublicKey { keyfile, output } => {
            check_not_same(&keyfile, &output)?;
            let key = load_public_key("--keyfile", &keyfile)?;
            write_atomic(&output, &key.digest(), false)?;
            outln!(
                "Writing the public key digest of \"{}\" to \"{}\".",
                keyfile.display(),
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
            write_atomic(&key_file, key.as_bytes(), true)?;
            outln!(
                "Writing {keylen} random bits to key file \"{}\".",
                key_file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::EncryptFlashData {
            crypt,
            plaintext_file,
        } => flash_crypt(&crypt, &plaintext_file, Direction::Encrypt),
        Command::DecryptFlashData {
            crypt,
            encrypted_file,
        } => flash_crypt(&crypt, &encrypted_file, Direction::Decrypt),
        Command::DigestSecureBootloader { .. } => {
            bail!("digest-secure-bootloader is Secure Boot V1, which espboot does not support; use Secure Boot V2 (sign-data --version 2)")
        }
        Command::DigestPrivateKey { .. } => {
            bail!("digest-private-key is Secure Boot V1, which espboot does not support; use Secure Boot V2 (sign-data --version 2)")
        }
    }
}

fn require_v2(version: SbVersion, command: &str) -> anyhow::Result<()> {
    if version == SbVersion::V1 {
        bail!(
            "{command} --version 1: Secure Boot V1 is not supported by espboot; pass --version 2"
        );
    }
    Ok(())
}

fn reject_hsm(hsm: bool) -> anyhow::Result<()> {
    if hsm {
        bail!("--hsm: PKCS#11 HSM signing is not supported by espboot; sign on the HSM and pass --pub-key and --signature");
    }
    Ok(())
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Reads the data file for `sign-data` into a buffer with room for the
/// padding and the signature sector, so signing appends in place (no copy
/// or reallocation of a large image).
/// The data file of `sign-data`: its length and last sector are known
/// before signing (espsecure prints its padding and kept-block messages
/// first), and its bytes are streamed through the signer afterwards. A
/// regular file is not read into memory; anything else (a pipe) is.
enum DataFile {
    Regular {
        file: std::fs::File,
        len: usize,
        last_sector: Vec<u8>,
    },
    Buffered(Vec<u8>),
}

impl DataFile {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let context = || format!("cannot read data file {}", path.display());
        let file = std::fs::File::open(path).with_context(context)?;
        let meta = file.metadata().with_context(context)?;
        if !meta.is_file() {
            let mut data = Vec::new();
            (&file).read_to_end(&mut data).with_context(context)?;
            return Ok(DataFile::Buffered(data));
        }
        let len = usize::try_from(meta.len()).with_context(context)?;
        let tail = len.min(sbv2::SECTOR_SIZE);
        let mut last_sector = vec![0; tail];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut last_sector, (len - tail) as u64)
            .with_context(context)?;
        Ok(DataFile::Regular {
            file,
            len,
            last_sector,
        })
    }

    fn len(&self) -> usize {
        match self {
            DataFile::Regular { len, .. } => *len,
            DataFile::Buffered(data) => data.len(),
        }
    }

    fn last_sector(&self) -> &[u8] {
        match self {
            DataFile::Regular { last_sector, .. } => last_sector,
            DataFile::Buffered(data) => &data[data.len().saturating_sub(sbv2::SECTOR_SIZE)..],
        }
    }

    /// Signs the data into `out` (see [`sbv2::sign_stream`]).
    fn sign_into(
        self,
        out: &mut impl Write,
        signers: &[&dyn Sbv2Signer],
        options: SignOptions,
    ) -> Result<sbv2::SignSummary, sbv2::SignStreamError> {
        match self {
            DataFile::Regular { file, len, .. } => {
                // The length the messages were printed for.
                sbv2::sign_stream(file.take(len as u64), out, signers, options)
            }
            DataFile::Buffered(data) => sbv2::sign_stream(&data[..], out, signers, options),
        }
    }
}

/// Loads a Secure Boot V2 signing key through the shared loader (a
/// password is asked for when the key is encrypted).
fn load_signing_key(arg: &str, path: &Path) -> anyhow::Result<SigningKey> {
    let file = crate::cmd::key_file::load(arg, path)?;
    SigningKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// Loads a Secure Boot V2 verification key: a public key, or the public
/// half of a private key (`_get_sbv2_pub_key`).
fn load_public_key(arg: &str, path: &Path) -> anyhow::Result<sbv2::PublicKey> {
    let file = crate::cmd::key_file::load(arg, path)?;
    sbv2::PublicKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
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

fn generate_signing_key(scheme: SigningScheme, keyfile: &Path) -> anyhow::Result<ExitCode> {
    if keyfile.symlink_metadata().is_ok() {
        return Err(fatal(
            format!(
                "key file {} already exists; refusing to overwrite it",
                keyfile.display()
            ),
            format!("ERROR: Key file {} already exists.", keyfile.display()),
        ));
    }
    let key = SigningKey::generate(scheme).context("key generation failed")?;
    let pem = key.to_pem().context("cannot encode the key")?;
    write_atomic(keyfile, pem.as_bytes(), true)?;
    let what = match scheme {
        SigningScheme::Rsa3072 => "RSA 3072",
        SigningScheme::Ecdsa192 => "ECDSA NIST192p",
        SigningScheme::Ecdsa256 => "ECDSA NIST256p",
        _ => "ECDSA NIST384p",
    };
    outln!(
        "{what} private key in PEM format written to \"{}\".",
        keyfile.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sign_data(
    keyfiles: &[PathBuf],
    output: Option<&Path>,
    options: SignOptions,
    pub_keys: &[PathBuf],
    signatures: &[PathBuf],
    datafile: &Path,
) -> anyhow::Result<ExitCode> {
    // espsecure's order: input/output checks, padding (or the blocks kept
    // for --append-signatures), key counts, then signing.
    for key in keyfiles {
        if let Some(out) = output {
            check_not_same(key, out)?;
        }
    }
    // Deliberately unlike espsecure, `-o` may name the data file itself
    // (signing in place, as without `-o`).
    let data = DataFile::open(datafile)?;
    let precalculated = !signatures.is_empty();
    let mut kept = 0;
    if data.len() % sbv2::SECTOR_SIZE != 0 {
        if precalculated {
            return Err(fatal(
                format!(
                    "{}: pre-calculated signatures need data that is a multiple of 4096 bytes (got {}); sign the padded file",
                    datafile.display(),
                    data.len()
                ),
                "Secure Boot V2 requires the signature block to start from a 4KB aligned sector but the datafile supplied is not sector aligned.",
            ));
        } else if options.skip_padding {
            outln!("Skipping sector padding. Data contents are not sector aligned.");
        } else {
            outln!(
                "Padding data contents by {} bytes so signature sector aligns at sector boundary.",
                sbv2::SECTOR_SIZE - data.len() % sbv2::SECTOR_SIZE
            );
        }
    } else if options.append_signatures {
        let sector = data.last_sector();
        for block in sbv2::sector_blocks(sector)
            .into_iter()
            .map_while(Result::ok)
        {
            outln!(
                "Signature block {kept} is valid ({}).",
                scheme_family(block.scheme())
            );
            kept += 1;
        }
        if kept == 0 {
            outln!("No valid signature blocks found. Discarding --append-signature and proceeding to sign the image afresh.");
        } else {
            outln!("{kept} valid signature block(s) already present in the signature sector.");
            if kept == sbv2::MAX_BLOCKS {
                return Err(fatal(
                    format!(
                        "{}: the signature sector already holds {kept} blocks; up to 3 signature blocks are supported (1 on ESP32)",
                        datafile.display()
                    ),
                    "Up to 3 signature blocks are supported (For ESP32-ECO3 only 1 signature block is supported).",
                ));
            }
        }
    }
    let key_count = if precalculated {
        outln!("Pre-calculated signatures found...");
        if pub_keys.len() != signatures.len() {
            return Err(fatal(
                format!(
                    "--pub-key: the number of public keys ({}) is not equal to the number of signatures ({})",
                    pub_keys.len(),
                    signatures.len()
                ),
                format!(
                    "Number of public keys ({}) not equal to the number of signatures ({}).",
                    pub_keys.len(),
                    signatures.len()
                ),
            ));
        }
        pub_keys.len()
    } else {
        keyfiles.len()
    };
    let free = sbv2::MAX_BLOCKS - kept;
    if key_count > free {
        return Err(fatal(
            format!(
                "{}: the signature sector has room for {free} more block(s) but {key_count} key(s) were given; up to 3 signature blocks are supported (1 on ESP32)",
                datafile.display()
            ),
            format!("Number of keys ({key_count}) more than the empty signature blocks ({free})."),
        ));
    }
    let mut signers: Vec<Box<dyn Sbv2Signer>> = Vec::new();
    if precalculated {
        for (key_path, sig_path) in pub_keys.iter().zip(signatures) {
            let public_key = load_public_key("--pub-key", key_path)?;
            let raw = read_file(sig_path, "--signature")?;
            let signature =
                Sbv2Signature::from_external(public_key.scheme(), &raw).map_err(|_| {
                    anyhow::anyhow!(
                        "--signature {}: not a {} signature ({})",
                        sig_path.display(),
                        public_key.scheme(),
                        if public_key.scheme() == SigningScheme::Rsa3072 {
                            "expected 384 raw big-endian bytes"
                        } else {
                            "expected a DER ECDSA-Sig-Value"
                        }
                    )
                })?;
            signers.push(Box::new(PrecalculatedSignature {
                public_key,
                signature,
            }));
        }
    } else {
        for path in keyfiles {
            signers.push(Box::new(load_signing_key("--keyfile", path)?));
        }
    }
    outln!("{key_count} signing key(s) found.");
    if signers.is_empty() {
        return Err(fatal(
            "--keyfile: no signing key given (or pass --pub-key with --signature)",
            "Signature Block generation failed.",
        ));
    }
    let refs: Vec<&dyn Sbv2Signer> = signers.iter().map(|s| s.as_ref()).collect();
    let sign_error = |e: sbv2::SignStreamError| match e {
        sbv2::SignStreamError::Sign(sbv2::SignError::BadSignature { index, .. })
            if !signatures.is_empty() =>
        {
            anyhow::anyhow!(
                "--signature {}: signature verification failed: the pre-calculated signature was not made with the given public key over the SHA-256 (SHA-384 for P-384) digest of the data, or not with RSA-PSS salt 32 (a PKCS#1 v1.5 signature from `openssl dgst -sign` does not work)",
                signatures.get(index).map_or_else(String::new, |p| p.display().to_string())
            )
        }
        sbv2::SignStreamError::Sign(sbv2::SignError::TooManyBlocks { free, requested }) => {
            anyhow::anyhow!(
                "{}: the signature sector has room for {free} more block(s) but {requested} key(s) were given; up to 3 signature blocks are supported (1 on ESP32)",
                datafile.display()
            )
        }
        sbv2::SignStreamError::Read(e) => {
            anyhow::Error::new(e).context(format!("cannot read data file {}", datafile.display()))
        }
        other => anyhow::Error::new(other),
    };
    // The data streams from the input into a temporary file renamed over
    // the output. Replacing the input itself also flushes it to disk first
    // (the original is gone after the rename); a separate output is
    // derived data and skips the fsync, which would cost a quarter of the
    // whole 16 MiB signing (scripts/bench-secure).
    let target = output.unwrap_or(datafile);
    let in_place = same_file(target, datafile);
    let mut file = AtomicFile::create(target, false)?;
    let signed = data
        .sign_into(&mut file, &refs, options)
        .map_err(sign_error)?;
    file.flush()
        .with_context(|| format!("cannot write {}", target.display()))?;
    if in_place {
        file.commit_synced()?;
    } else {
        file.commit()?;
    }
    outln!(
        "Signed {} bytes of data from \"{}\". Signature sector now has {} signature blocks.",
        signed.data_len,
        datafile.display(),
        signed.total_blocks
    );
    Ok(ExitCode::SUCCESS)
}

fn scheme_family(scheme: SigningScheme) -> &'static str {
    if scheme.is_ecdsa() {
        "ECDSA"
    } else {
        "RSA"
    }
}

fn verify_signature(
    keyfile: &Path,
    skip_padding: bool,
    json: bool,
    datafile: &Path,
) -> anyhow::Result<ExitCode> {
    let key = load_public_key("--keyfile", keyfile)?;
    let image = read_file(datafile, "data file")?;
    let report = match sbv2::report_blocks(&image, &key, !skip_padding) {
        Ok(report) => report,
        Err(e @ sbv2::VerifyError::Size(_)) => {
            return Err(fatal(
                format!("{}: {e}", datafile.display()),
                if skip_padding {
                    "Invalid datafile. File too small (must be at least 4096 bytes)."
                } else {
                    "Invalid datafile. Data size should be non-zero & a multiple of 4096."
                },
            ));
        }
        Err(e) => return Err(anyhow::Error::new(e).context(datafile.display().to_string())),
    };
    if json {
        if report.mismatch.is_some() || !report.verified() {
            return Err(verify_failure(&report, keyfile, datafile));
        }
        let blocks: Vec<serde_json::Value> = report
            .outcomes
            .iter()
            .enumerate()
            .map(|(n, outcome)| match outcome {
                BlockOutcome::Verified(s) => {
                    serde_json::json!({ "index": n, "status": "verified", "scheme": s.name() })
                }
                BlockOutcome::OtherKey(s) => {
                    serde_json::json!({ "index": n, "status": "other_key", "scheme": s.name() })
                }
                _ => serde_json::json!({ "index": n, "status": "invalid" }),
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "verified": true, "blocks": blocks })
        );
        return Ok(ExitCode::SUCCESS);
    }
    // espsecure reports each slot as it checks it, then fails.
    for (n, outcome) in report.outcomes.iter().enumerate() {
        match outcome {
            BlockOutcome::Verified(s) => {
                outln!("Signature block {n} is valid ({}).", scheme_family(*s));
                outln!(
                    "Signature block {n} verification successful using the supplied key ({}).",
                    scheme_family(*s)
                );
            }
            BlockOutcome::OtherKey(s) => {
                outln!("Signature block {n} is valid ({}).", scheme_family(*s));
                outln!("Signature block {n} is not signed by the supplied key. Checking the next block...");
            }
            _ => outln!("Signature block {n} invalid. Skipping."),
        }
    }
    if let Some(m) = &report.mismatch {
        outln!(
            "Signature block {} is valid ({}).",
            m.index,
            scheme_family(m.scheme)
        );
    }
    if report.mismatch.is_some() || !report.verified() {
        return Err(verify_failure(&report, keyfile, datafile));
    }
    Ok(ExitCode::SUCCESS)
}

/// Python's `repr()` of a bytes object (espsecure prints digests that way).
fn py_bytes_repr(bytes: &[u8]) -> String {
    // Python quotes with " when the bytes hold ' but no ".
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

fn verify_failure(report: &sbv2::BlockReport, keyfile: &Path, datafile: &Path) -> anyhow::Error {
    match &report.mismatch {
        Some(m) => fatal(
            format!(
                "{}: signature block {} image digest does not match the actual image digest",
                datafile.display(),
                m.index
            ),
            format!(
                "Signature block image digest does not match the actual image digest {}. Expected {}.",
                py_bytes_repr(&m.actual),
                py_bytes_repr(&m.stored)
            ),
        ),
        None => fatal(
            format!(
                "{}: checked all blocks; the signature could not be verified with the key {}",
                datafile.display(),
                keyfile.display()
            ),
            "Checked all blocks. Signature could not be verified with the provided key.",
        ),
    }
}

fn print_block_info(info: &sbv2::BlockInfo) {
    outln!(
        "Signature block {} is valid ({}).",
        info.index,
        scheme_family(info.scheme)
    );
    outln!(
        "Public key digest for block {}: {}",
        info.index,
        esp_efuse::hexify(&info.key_digest, " ")
    );
}

fn signature_info(datafile: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let image = read_file(datafile, "data file")?;
    let infos = sbv2::signature_info(&image).map_err(|e| match e {
        sbv2::VerifyError::Size(_) => fatal(
            format!("{}: {e}", datafile.display()),
            "Invalid datafile. Data size should be non-zero & a multiple of 4096.",
        ),
        other => anyhow::Error::new(other).context(datafile.display().to_string()),
    })?;
    if let Some(bad) = infos.iter().find(|i| !i.image_digest_ok) {
        // espsecure reports the blocks before the bad one first.
        if !json {
            for info in infos.iter().take_while(|i| i.image_digest_ok) {
                print_block_info(info);
            }
            outln!(
                "Signature block {} is valid ({}).",
                bad.index,
                scheme_family(bad.scheme)
            );
        }
        return Err(fatal(
            format!(
                "{}: the image digest in signature block {} does not match the data",
                datafile.display(),
                bad.index
            ),
            format!(
                "Digest in signature block {} doesn't match the image digest.",
                bad.index
            ),
        ));
    }
    if json {
        let blocks: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                serde_json::json!({
                    "index": i.index,
                    "scheme": i.scheme.name(),
                    "key_digest": hex::encode(i.key_digest),
                })
            })
            .collect();
        outln!("{}", serde_json::json!({ "blocks": blocks }));
        return Ok(ExitCode::SUCCESS);
    }
    for info in &infos {
        print_block_info(info);
    }
    if infos.len() < sbv2::MAX_BLOCKS {
        outln!(
            "Signature block {} absent/invalid. Skipping checking next blocks...",
            infos.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn flash_crypt(args: &CryptArgs, input: &Path, direction: Direction) -> anyhow::Result<ExitCode> {
    check_not_same(input, &args.output)?;
    let raw = Zeroizing::new(read_file(&args.keyfile, "--keyfile")?);
    let key = FlashEncryptionKey::from_bytes(&raw);
    let address = u32::try_from(args.address).map_err(|_| {
        anyhow::anyhow!(
            "--address {:#x}: beyond the 32-bit flash address space",
            args.address
        )
    })?;
    if address % 16 != 0 {
        bail!("--address {address:#x}: must be a multiple of 16");
    }
    let crypt: Box<dyn FlashCrypt> = if args.aes_xts {
        if !matches!(raw.len(), 16 | 32 | 64) {
            bail!(
                "--keyfile {}: {} bits; XTS-AES (--aes-xts) takes 128-, 256- or 512-bit keys",
                args.keyfile.display(),
                raw.len() * 8
            );
        }
        let xts = XtsFlashCrypt::new(&key)
            .with_context(|| format!("--keyfile {}", args.keyfile.display()))?;
        outln!(
            "{}",
            match xts.kind() {
                XtsKeyKind::Aes128Derived => "Using 128-bit key (extended).",
                XtsKeyKind::Aes128 => "Using 256-bit key.",
                _ => "Using 512-bit key.",
            }
        );
        Box::new(xts)
    } else {
        if !matches!(raw.len(), 24 | 32) {
            bail!(
                "--keyfile {}: {} bits; the ESP32 algorithm takes 192- or 256-bit keys (use --aes-xts for ESP32-S2/S3/C2/C3/C6/H2 and later)",
                args.keyfile.display(),
                raw.len() * 8
            );
        }
        let conf = u32::try_from(args.flash_crypt_conf).unwrap_or(u32::MAX);
        if conf > 0xF {
            bail!(
                "--flash-crypt-conf {:#x}: expected a 4-bit value 0x0..0xF",
                args.flash_crypt_conf
            );
        }
        if conf == 0 {
            eprintln!("WARNING: Setting FLASH_CRYPT_CONF to zero is not recommended.");
        }
        outln!(
            "{}",
            if raw.len() == 24 {
                "Using 192-bit key (extended)."
            } else {
                "Using 256-bit key."
            }
        );
        Box::new(
            Esp32FlashCrypt::new(&key, conf)
                .with_context(|| format!("--keyfile {}", args.keyfile.display()))?,
        )
    };
    drop(key);
    let cannot_read = || format!("cannot read {}", input.display());
    let mut file = File::open(input).with_context(cannot_read)?;
    let meta = file.metadata().with_context(cannot_read)?;
    // The length checks come first (as espsecure's), so a pipe or a procfs
    // file, whose size says 0, is read whole; a regular file streams.
    let (total, source): (u64, Box<dyn std::io::Read + Send>) = if meta.is_file() && meta.len() > 0
    {
        (meta.len(), Box::new(file))
    } else {
        let mut data = Vec::new();
        file.read_to_end(&mut data).with_context(cannot_read)?;
        (data.len() as u64, Box::new(std::io::Cursor::new(data)))
    };
    if args.aes_xts || direction == Direction::Decrypt {
        if total % 16 != 0 {
            bail!(
                "{}: data length {total} must be a multiple of 16",
                input.display()
            );
        }
        if args.aes_xts && total == 0 {
            bail!(
                "{}: input data must be longer than 0 bytes",
                input.display()
            );
        }
    }
    if u64::from(address) + total > 1 << 32 {
        bail!(
            "{}: {total} bytes at --address {address:#x} extend past the 4 GiB flash address space",
            input.display()
        );
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, source);
    let mut out = AtomicFile::create(&args.output, false)?;
    let bar = progress_bar(total);
    let written = crypt
        .stream(direction, address, &mut reader, &mut out, &mut |done| {
            if let Some(bar) = &bar {
                bar.set_position(done);
            }
        })
        .with_context(|| input.display().to_string())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.commit()?;
    if direction == Direction::Encrypt && written > total {
        outln!(
            "Note: Padding with {} bytes of random data (encrypted data must be multiple of 16 bytes long).",
            written - total
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || total < (8 << 20) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style);
    }
    Some(bar)
}
