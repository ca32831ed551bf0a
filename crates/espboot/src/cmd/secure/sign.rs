//! `sign-data`: Secure Boot V2 signature blocks appended to an image.

use super::keys::{load_public_key, load_signing_key};
use super::*;

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

/// espsecure's FatalError when a pre-calculated signature does not verify
/// with its public key (`sign_secure_boot_v2`, `except InvalidSignature`).
const PRECALCULATED_SIGNATURE_REFUSED: &str = "Signature verification failed: Invalid Signature\nThe pre-calculated signature has not been signed using the given public key.";

/// `hsm` is `Some(--hsm-config)` with `--hsm`: the one key is in a PKCS#11
/// token (espsecure then ignores `--keyfile`).
#[allow(clippy::too_many_arguments)] // sign-data's options, one each
pub(super) fn sign_data(
    keyfiles: &[PathBuf],
    hsm: Option<Option<&Path>>,
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
    // Unlike espsecure, `espboot secure sign-data` lets `-o` name the data
    // file itself (signing in place, as without `-o`); the espsecure
    // personality refuses it as espsecure does.
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
        if data.len() == 0 {
            // espsecure slices an empty signature sector and trips its
            // `assert len(sig_blk) == SIG_BLOCK_SIZE`
            return Err(super::uncaught(
                format!(
                    "{}: --append-signatures needs a signed image; the file is empty",
                    datafile.display()
                ),
                "AssertionError",
            ));
        }
        let sector = data.last_sector();
        for scheme in sbv2::leading_valid_blocks(sector) {
            outln!(
                "Signature block {kept} is valid ({}).",
                scheme_family(scheme)
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
    // espsecure talks to the HSM here, after the padding and kept-block
    // lines, and prints its "found" lines only once the token has signed.
    let hsm = hsm
        .map(|path| {
            super::hsm::Hsm::read(
                path,
                "Config file is required to generate signature using an external HSM.",
                super::hsm::ConfigWords::Espsecure,
            )
        })
        .transpose()?;
    let mut given_public = None;
    if let Some(hsm) = &hsm {
        match pub_keys {
            [] => {
                hsm.public_key()?;
            }
            [path] => given_public = Some(load_public_key("--pub-key", path)?),
            _ => {
                return Err(fatal(
                    format!(
                        "--pub-key: {} public keys given for the one HSM signature",
                        pub_keys.len()
                    ),
                    format!(
                        "Number of public keys ({}) not equal to the number of signatures (1).",
                        pub_keys.len()
                    ),
                ))
            }
        }
    }
    let hsm_signer = hsm
        .as_ref()
        .map(|hsm| hsm.signer(given_public))
        .transpose()?;
    let key_count = if hsm_signer.is_some() {
        1
    } else if precalculated {
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
    // espsecure counts the keys before it loads any of them.
    if hsm_signer.is_none() {
        outln!("{key_count} signing key(s) found.");
    }
    let mut signers: Vec<Box<dyn Sbv2Signer>> = Vec::new();
    if hsm_signer.is_some() {
        // The token signs below.
    } else if precalculated {
        for (key_path, sig_path) in pub_keys.iter().zip(signatures) {
            let public_key = load_public_key("--pub-key", key_path)?;
            let raw = read_file(sig_path, "--signature")?;
            let signature =
                Sbv2Signature::from_external(public_key.scheme(), &raw).map_err(|_| {
                    // espsecure's verification refuses a signature of
                    // another shape as it refuses a wrong one
                    fatal(
                        format!(
                            "--signature {}: not a {} signature ({})",
                            sig_path.display(),
                            public_key.scheme(),
                            if public_key.scheme() == SigningScheme::Rsa3072 {
                                "expected 384 raw big-endian bytes"
                            } else {
                                "expected a DER ECDSA-Sig-Value"
                            }
                        ),
                        PRECALCULATED_SIGNATURE_REFUSED,
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
    if signers.is_empty() && hsm_signer.is_none() {
        return Err(fatal(
            "--keyfile: no signing key given (or pass --pub-key with --signature)",
            "Signature Block generation failed.",
        ));
    }
    let mut refs: Vec<&dyn Sbv2Signer> = signers.iter().map(|s| s.as_ref()).collect();
    if let Some(signer) = &hsm_signer {
        refs.push(signer);
    }
    let sign_error = |e: sbv2::SignStreamError| {
        match e {
        sbv2::SignStreamError::Sign(sbv2::SignError::BadSignature { .. })
            if hsm_signer.is_some() =>
        {
            // espsecure reaches its pre-calculated-signature check.
            outln!("Pre-calculated signatures found...");
            outln!("1 signing key(s) found.");
            fatal(
                format!(
                    "--pub-key {}: not the public key of the HSM key (its signature does not verify with it)",
                    pub_keys.first().map_or_else(String::new, |p| p.display().to_string())
                ),
                PRECALCULATED_SIGNATURE_REFUSED,
            )
        }
        sbv2::SignStreamError::Sign(sbv2::SignError::BadSignature { index, .. })
            if !signatures.is_empty() =>
        {
            fatal(
                format!(
                    "--signature {}: signature verification failed: the pre-calculated signature was not made with the given public key over the SHA-256 (SHA-384 for P-384) digest of the data, or not with RSA-PSS salt 32 (a PKCS#1 v1.5 signature from `openssl dgst -sign` does not work)",
                    signatures.get(index).map_or_else(String::new, |p| p.display().to_string())
                ),
                PRECALCULATED_SIGNATURE_REFUSED,
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
    }
    };
    // The data streams from the input into a temporary file renamed over
    // the output. Replacing the input itself also flushes it to disk first
    // (the original is gone after the rename); a separate output is
    // derived data and skips the fsync, which would cost a quarter of the
    // whole 16 MiB signing (scripts/bench-secure).
    // without -o espsecure writes `datafile.name`: the file "<stdin>" for
    // standard input
    let from_stdin = super::click_file::name(datafile) == super::click_file::STDIN_NAME;
    let stdin_name = Path::new(super::click_file::STDIN_NAME);
    let target = match output {
        Some(output) => output,
        None if from_stdin => stdin_name,
        None => datafile,
    };
    let in_place = same_file(target, datafile);
    let mut file = AtomicFile::create(target, false)?;
    let signed = data
        .sign_into(&mut file, &refs, options)
        .map_err(sign_error)?;
    file.flush()
        .with_context(|| format!("cannot write {}", target.display()))?;
    if hsm_signer.is_some() {
        // espsecure signs with the HSM first, then builds the block on its
        // pre-calculated-signature path.
        outln!("Pre-calculated signatures found...");
        outln!("{key_count} signing key(s) found.");
    }
    if in_place {
        file.commit_synced()?;
    } else {
        file.commit()?;
    }
    outln!(
        "Signed {} bytes of data from \"{}\". Signature sector now has {} signature blocks.",
        signed.data_len,
        super::click_file::name(datafile),
        signed.total_blocks
    );
    Ok(ExitCode::SUCCESS)
}
