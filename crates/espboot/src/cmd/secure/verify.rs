//! `verify-signature` and `signature-info-v2`: checking and describing the
//! Secure Boot V2 signature blocks of an image.

use esp_secure::sbv2::{EspsecureStop, KeyVerdict};

use super::keys::load_verification_key;
use super::*;

/// The key `verify-signature` checks with.
pub(super) enum VerifyKey {
    /// `--keyfile`: a PEM public or private key.
    File(PathBuf),
    /// `--hsm --hsm-config`: the public key of a key in a PKCS#11 token.
    Hsm(Option<PathBuf>),
}

/// `verify-signature --version 2`. `as_espsecure`: stop where espsecure
/// 5.6.0 stops with an exception (a block that does not fit the kind of
/// key); espboot reports such a block as not signed by the key and goes on.
pub(super) fn verify_signature(
    key: &VerifyKey,
    skip_padding: bool,
    json: bool,
    datafile: &Path,
    as_espsecure: bool,
) -> anyhow::Result<ExitCode> {
    let (key, keyfile) = match key {
        VerifyKey::File(path) => (load_verification_key("--keyfile", path)?, path.as_path()),
        VerifyKey::Hsm(config) => {
            let hsm = super::hsm::Hsm::read(
                config.as_deref(),
                "Config file is required to extract public key from an external HSM.",
                super::hsm::ConfigWords::Espsecure,
            )?;
            let key = hsm.public_key()?;
            (key, config.as_deref().unwrap_or(Path::new("--hsm-config")))
        }
    };
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
                BlockOutcome::Valid(block) => serde_json::json!({
                    "index": n,
                    "status": if outcome.is_verified() { "verified" } else { "other_key" },
                    "scheme": block.scheme.map(SigningScheme::name),
                }),
                _ => serde_json::json!({ "index": n, "status": "invalid" }),
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "verified": true, "blocks": blocks })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let key_family = scheme_family(Some(key.scheme()));
    // espsecure reports each slot as it checks it, then fails.
    for (n, outcome) in report.outcomes.iter().enumerate() {
        let BlockOutcome::Valid(block) = outcome else {
            outln!("Signature block {n} invalid. Skipping.");
            continue;
        };
        outln!(
            "Signature block {n} is valid ({}).",
            scheme_family(block.scheme)
        );
        match block.verdict {
            KeyVerdict::Verified => outln!(
                "Signature block {n} verification successful using the supplied key ({key_family})."
            ),
            KeyVerdict::EspsecureStops(stop) if as_espsecure => {
                return Err(keys::refused(
                    keys::Refusal::uncaught(espsecure_exception(stop)),
                    format!(
                        "{}: signature block {n} does not fit a {key_family} key",
                        datafile.display()
                    ),
                ));
            }
            _ => outln!(
                "Signature block {n} is not signed by the supplied key. Checking the next block..."
            ),
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

/// The last line of the traceback espsecure 5.6.0 ends with at `stop`.
fn espsecure_exception(stop: EspsecureStop) -> &'static str {
    match stop {
        // cryptography's `_check_prehashed`
        EspsecureStop::DigestLength => "ValueError: The provided data must be the same length as the hash algorithm's digest size.",
        // `assert curve_id in (CURVE_ID_P192, CURVE_ID_P256, CURVE_ID_P384)`
        EspsecureStop::CurveId(_) => "AssertionError",
        // Python 3.11's wording for a local read before assignment
        EspsecureStop::HashType(_) => "UnboundLocalError: cannot access local variable 'curve_id' where it is not associated with a value",
    }
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
                py_repr::bytes(&m.actual),
                py_repr::bytes(&m.stored)
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

pub(super) fn signature_info(datafile: &Path, json: bool) -> anyhow::Result<ExitCode> {
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
                    "scheme": i.scheme.map(SigningScheme::name),
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
