//! `generate-sdc-certificate` and `digest-sdc-public-key`: Secure Debug
//! Controller certificates, with espsecure 5.6.0's checks, messages and
//! their order (`generate_sdc_certificate_cli`, `digest_sdc_public_key_cli`
//! and espsecure/esp_sdc). The cryptography is `esp_secure::sdc`.

use esp_secure::sdc::{self, UscFlags};
use key_files::{KeyFile, PrivateKey, PublicKey as AnyPublicKey};

use super::keys::load_public_key;
use super::*;

/// A usage error espsecure raises as click's `BadParameter` after parsing
/// (`Invalid value for <hint>: <message>`, exit status 2); the personality
/// renders it as click's panel.
#[derive(Debug, thiserror::Error)]
#[error("{hint}: {message}")]
pub(super) struct BadParameter {
    pub(super) hint: &'static str,
    pub(super) message: &'static str,
}

fn bad_parameter(hint: &'static str, message: &'static str) -> anyhow::Error {
    anyhow::Error::new(BadParameter { hint, message })
}

/// The options of `generate-sdc-certificate`.
#[derive(Debug, clap::Args)]
pub(super) struct CertificateArgs {
    /// ECDSA P-256 private key (PEM) that signs the certificate.
    #[arg(short = 'k', long)]
    keyfile: Option<PathBuf>,
    /// Certificate file to write.
    #[arg(short = 'o', long, default_value = "sdc_cert.bin")]
    output: PathBuf,
    /// Sign with a key in a PKCS#11 token, named by --hsm-config.
    #[arg(long)]
    hsm: bool,
    /// espsecure's HSM configuration file.
    #[arg(long = "hsm-config", alias = "hsm_config")]
    hsm_config: Option<PathBuf>,
    /// Public key of the HSM key (ignored with --keyfile).
    #[arg(long = "pub-key", alias = "pub_key")]
    pub_key: Option<PathBuf>,
    /// Unlock JTAG.
    #[arg(long = "enable-jtag")]
    enable_jtag: bool,
    /// Unlock download mode reuse.
    #[arg(long = "enable-download-reuse")]
    enable_download_reuse: bool,
    /// Unlock force SPI boot.
    #[arg(long = "enable-force-spi-boot")]
    enable_force_spi_boot: bool,
    /// Device MAC (aa:bb:cc:dd:ee:ff, aa-bb-…, 12 hex digits, or a .bin/.hex file).
    #[arg(long, allow_hyphen_values = true)]
    mac: Option<String>,
    /// SDC_SESSION_COUNTER burned in the device (0, 1, 3 or 7).
    #[arg(long = "sdc-session-counter", value_parser = py_int::parse, default_value = "0", allow_hyphen_values = true)]
    sdc_session_counter: i128,
    /// 64-byte file: chip_info then the nonce (instead of --mac).
    #[arg(long = "chip-info")]
    chip_info: Option<PathBuf>,
    /// USC JSON configuration (overrides the --enable-* flags).
    #[arg(long)]
    usc: Option<PathBuf>,
    /// Print the intermediate steps and values, as espsecure's --verbose.
    #[arg(long)]
    verbose: bool,
}

/// The options of `digest-sdc-public-key`.
#[derive(Debug, clap::Args)]
pub(super) struct DigestArgs {
    /// ECDSA P-256 private key (PEM).
    #[arg(short = 'k', long)]
    keyfile: Option<PathBuf>,
    /// ECDSA P-256 public key (PEM).
    #[arg(long = "pub-key", alias = "pub_key")]
    pub_key: Option<PathBuf>,
    /// Read the public key from a PKCS#11 token, named by --hsm-config.
    #[arg(long)]
    hsm: bool,
    /// espsecure's HSM configuration file.
    #[arg(long = "hsm-config", alias = "hsm_config")]
    hsm_config: Option<PathBuf>,
    /// Print the intermediate steps and values, as espsecure's --verbose.
    #[arg(long)]
    verbose: bool,
    /// Digest file to write.
    #[arg(short = 'o', long, default_value = "sdc_pub_key_digest.bin")]
    output: PathBuf,
}

/// The signing key as `_load_private_key_unified(…, key_type_hint="sdc")`.
fn load_sdc_private_key(path: &Path) -> anyhow::Result<p256::SecretKey> {
    match super::keys::load_for(super::keys::Loader::SdcPrivate, "--keyfile", path)? {
        KeyFile::Private(PrivateKey::P256(k)) => Ok(k),
        // load_for lets only ECDSA P-256 private keys through.
        _ => bail!(
            "--keyfile {}: SDC certificates take ECDSA P-256 keys",
            path.display()
        ),
    }
}

/// `_parse_input_data(mac, 6, "MAC")`: a hex string (separators `:`/`-`
/// and whitespace dropped), or an existing `.bin` (raw) / `.hex` (text)
/// file.
fn parse_mac(input: &str, verbose: bool) -> anyhow::Result<[u8; 6]> {
    const LEN: usize = 6;
    let lower = input.to_lowercase();
    let looks_like_file = input.contains('/') || lower.ends_with(".bin") || lower.ends_with(".hex");
    let path = Path::new(input);
    let normalize = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '\n' | '\t' | ':' | '-'))
            .collect::<String>()
            .to_uppercase()
    };
    let from_hex = |hex: &str, bad: String| -> anyhow::Result<[u8; 6]> {
        let mut out = [0u8; LEN];
        hex::decode_to_slice(hex, &mut out).map_err(|_| fatal(bad.clone(), bad))?;
        Ok(out)
    };
    let string_length = |hex: &str| {
        let text = format!(
            "MAC hex string has {} hex characters, expected {} hex characters",
            hex.chars().count(),
            LEN * 2
        );
        fatal(text.clone(), text)
    };
    if looks_like_file && path.exists() {
        if lower.ends_with(".bin") {
            debug(
                verbose,
                format_args!("Reading MAC from binary file: {input}"),
            );
            let data = read_file(path, "--mac")?;
            return data.as_slice().try_into().map_err(|_| {
                let text = format!(
                    "Invalid MAC file size: '{input}' contains {} bytes, expected {LEN} bytes",
                    data.len()
                );
                fatal(text.clone(), text)
            });
        }
        if lower.ends_with(".hex") {
            debug(verbose, format_args!("Reading MAC from hex file: {input}"));
            // a Python text file: UTF-8, universal newlines, str.strip()
            let text = py_repr::text::read_text(&read_file(path, "--mac")?).map_err(|e| {
                // a UnicodeDecodeError is a ValueError, whose handler in
                // `_main` tests `"…" in arg` on the error's bytes
                uncaught(
                    format!("--mac {input}: {e}"),
                    "TypeError: a bytes-like object is required, not 'str'",
                )
            })?;
            let hex = normalize(py_repr::text::strip(&text));
            // Python counts characters (a BOM is one)
            if hex.chars().count() != LEN * 2 {
                let text = format!(
                    "MAC hex file '{input}' contains {} hex characters, expected {} hex characters",
                    hex.chars().count(),
                    LEN * 2
                );
                return Err(fatal(text.clone(), text));
            }
            return from_hex(
                &hex,
                format!(
                    "Invalid hex format in file '{input}': MAC must contain valid hex characters"
                ),
            );
        }
    }
    if looks_like_file && path.exists() {
        debug(
            verbose,
            format_args!("File '{input}' exists but is not .bin or .hex, treating as hex string"),
        );
    } else {
        debug(verbose, "Parsing MAC from hex string");
    }
    let hex = normalize(input);
    if hex.chars().count() != LEN * 2 {
        return Err(string_length(&hex));
    }
    from_hex(
        &hex,
        "Invalid MAC hex format: must contain valid hex characters".to_owned(),
    )
}

/// The USC `config_flags` keys espsecure knows (`USC_CONFIG_FLAG_KEYS`).
const USC_KEYS: [&str; 3] = [
    "enable_jtag",
    "enable_download_reuse",
    "enable_force_spi_boot",
];

/// How deep `json.load` nests arrays and objects in espsecure's
/// `generate-sdc-certificate` before Python's recursion limit: measured
/// against espsecure 5.6.0 (981 nested arrays read, 982 raise
/// RecursionError; Python's limit of 1000 less the frames on its stack).
const USC_MAX_DEPTH: usize = 981;

/// `_load_usc_config_from_json`: version 1, groups of entries; only the
/// `config_flags` group is read.
fn load_usc(path: &Path, mut flags: UscFlags, verbose: bool) -> anyhow::Result<UscFlags> {
    // The flags read, in first-seen order (espsecure logs the dict).
    let mut active: Vec<(String, bool)> = Vec::new();
    let fail = |text: String| fatal(format!("--usc {}: {text}", path.display()), text);
    // `json.load` of a text file: universal newlines count in positions
    let bytes = read_file(path, "--usc")?;
    let text = py_repr::text::read_text(&bytes).map_or(bytes, String::into_bytes);
    let config = py_json::loads(&text, USC_MAX_DEPTH).map_err(|e| match e {
        // json.load's own error, which espsecure catches
        py_json::Error::Decode { .. } => fail(format!("Invalid JSON in USC config file: {e}")),
        // what espsecure does not catch: a traceback. A UnicodeDecodeError
        // is a ValueError, whose handler in `_main` tests `"…" in arg` on
        // each argument; one is the file's bytes, so a TypeError ends it.
        py_json::Error::NotUtf8(_) => uncaught(
            format!("--usc {}: {e}", path.display()),
            "TypeError: a bytes-like object is required, not 'str'",
        ),
        other => uncaught(
            format!("--usc {}: {other}", path.display()),
            other.python_exception(),
        ),
    })?;
    let py_json::Value::Object(_) = &config else {
        return Err(fail(format!(
            "USC JSON file must contain a JSON object, got {}",
            config.python_type()
        )));
    };
    // `version != 1` in Python: `true` and `1.0` equal 1 there
    let version = config.get("version").unwrap_or(&py_json::Value::Null);
    if !version.equals_one() {
        return Err(fail(format!(
            "Unsupported USC JSON version: {}. This espsecure supports version 1; add '\"version\": 1' to the configuration file.",
            version.repr()
        )));
    }
    let groups = match config.get("groups") {
        None => &[][..],
        Some(py_json::Value::Array(g)) => g.as_slice(),
        Some(other) => {
            return Err(fail(format!(
                "'groups' must be a JSON array, got {}",
                other.python_type()
            )))
        }
    };
    for group in groups {
        if !matches!(group, py_json::Value::Object(_)) {
            return Err(fail(format!(
                "Each USC group must be a JSON object, got {}",
                group.python_type()
            )));
        }
        if group.get("group") != Some(&py_json::Value::Str("config_flags".to_owned())) {
            continue;
        }
        let entries = match group.get("entries") {
            None => &[][..],
            Some(py_json::Value::Array(e)) => e.as_slice(),
            Some(other) => {
                return Err(fail(format!(
                    "'entries' must be a JSON array, got {}",
                    other.python_type()
                )))
            }
        };
        for entry in entries {
            let (Some(key), Some(value)) = (entry.get("key"), entry.get("value")) else {
                return Err(fail(
                    "Each USC entry must be a JSON object with 'key' and 'value' fields".to_owned(),
                ));
            };
            let known = match key {
                py_json::Value::Str(k) => USC_KEYS.iter().copied().find(|u| u == k),
                _ => None,
            };
            let Some(key) = known else {
                return Err(fail(format!(
                    "Unknown USC config_flags key: {}. Expected one of {}.",
                    key.repr(),
                    USC_KEYS.join(", ")
                )));
            };
            let py_json::Value::Bool(value) = *value else {
                return Err(fail(format!(
                    "Invalid value for '{key}' in USC JSON: expected boolean, got {}",
                    value.python_type()
                )));
            };
            match active.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => active.push((key.to_owned(), value)),
            }
            match key {
                "enable_jtag" => flags.jtag = value,
                "enable_download_reuse" => flags.download_reuse = value,
                _ => flags.force_spi_boot = value,
            }
        }
    }
    debug(
        verbose,
        format_args!("Loaded USC configuration from {}", path.display()),
    );
    let dict: Vec<String> = active
        .iter()
        .map(|(k, v)| format!("'{k}': {}", if *v { "True" } else { "False" }))
        .collect();
    debug(
        verbose,
        format_args!("Configuration: {{{}}}", dict.join(", ")),
    );
    Ok(flags)
}

/// espsecure's `log.debug` lines, shown with `--verbose` (on stdout).
fn debug(verbose: bool, line: impl std::fmt::Display) {
    if verbose {
        outln!("{line}");
    }
}

fn enabled(on: bool) -> &'static str {
    if on {
        "Enabled"
    } else {
        "Disabled"
    }
}

/// An SDC key must be ECDSA P-256 (`_get_sdc_public_key_bytes`).
fn sdc_p256(key: sbv2::PublicKey, whose: &str) -> anyhow::Result<p256::PublicKey> {
    let curve = match key {
        sbv2::PublicKey::Ecdsa256(k) => return Ok(k),
        sbv2::PublicKey::Ecdsa192(_) => "secp192r1",
        sbv2::PublicKey::Ecdsa384(_) => "secp384r1",
        _ => {
            return Err(fatal(
                format!("{whose}: SDC takes ECDSA P-256 keys"),
                "SDC certificates only support ECDSA keys",
            ))
        }
    };
    Err(fatal(
        format!("{whose}: SDC takes ECDSA P-256 keys, not {curve}"),
        format!("Unsupported curve: {curve}. Only SECP256R1 (P-256) is supported"),
    ))
}

/// `--hsm`: the token signs `USC ‖ chip_info` (espsecure's
/// `_generate_sdc_certificate_data` HSM path); the public key is
/// `--pub-key`'s, else the token's.
fn hsm_certificate(
    args: &CertificateArgs,
    flags: UscFlags,
    chip_info: &[u8; 32],
    nonce: &[u8; sdc::NONCE_LEN],
) -> anyhow::Result<Vec<u8>> {
    let hsm = super::hsm::Hsm::read(
        args.hsm_config.as_deref(),
        "HSM config file is required when using HSM",
        super::hsm::ConfigWords::Sdc,
    )?;
    let public = match &args.pub_key {
        Some(path) => load_public_key("--pub-key", path)?,
        None => hsm.public_key()?,
    };
    let p256_key = sdc_p256(public.clone(), "--hsm-config")?;
    debug(args.verbose, "Public key hash calculated successfully");
    debug(args.verbose, "Certificate message prepared successfully");
    let signer = hsm.signer(Some(public))?;
    let signature = signer
        .sign_prehash(&sdc::message_digest(flags, chip_info))
        .map_err(|e| {
            fatal(
                format!("--hsm: signing failed: {e}"),
                format!("HSM signing failed: {e}"),
            )
        })?;
    let Sbv2Signature::Ecdsa256(sig) = signature else {
        return Err(fatal(
            "--hsm: the token key is not ECDSA P-256",
            "SDC certificates only support ECDSA signatures, not RSA signatures.",
        ));
    };
    let cert =
        sdc::certificate_with_signature(&p256_key, &sig, flags, chip_info, nonce).map_err(|e| {
            fatal(
                format!("--hsm: {e}"),
                "HSM signature verification failed: . The signature from HSM cannot be verified with the extracted public key. Check that the HSM key pair is correct.",
            )
        })?;
    for line in [
        "Signature verified successfully with public key",
        "ECDSA signature generated successfully using HSM",
        "Certificate integrity hash calculated successfully",
    ] {
        debug(args.verbose, line);
    }
    Ok(cert)
}

/// `generate-sdc-certificate`.
pub(super) fn generate_certificate(args: CertificateArgs) -> anyhow::Result<ExitCode> {
    if args.keyfile.is_some() && (args.hsm || args.hsm_config.is_some()) {
        return Err(bad_parameter(
            "",
            "Illegal usage: --keyfile is mutually exclusive with arguments: --hsm, --hsm-config.",
        ));
    }
    if args.hsm && args.hsm_config.is_none() {
        return Err(bad_parameter(
            "--hsm-config",
            "--hsm-config is required when --hsm is used",
        ));
    }
    if args.hsm_config.is_some() && !args.hsm {
        return Err(bad_parameter(
            "--hsm",
            "--hsm-config requires --hsm to be used",
        ));
    }
    if !args.hsm && args.keyfile.is_none() {
        return Err(bad_parameter(
            "--keyfile or --hsm",
            "Either --keyfile or --hsm with --hsm-config must be provided",
        ));
    }
    if args.keyfile.is_some() && args.pub_key.is_some() {
        eprintln!("WARNING: Public key file is ignored when private key file is provided. Public key will be derived from the private key.");
    }
    if args.chip_info.is_some() {
        if args.mac.is_some() || args.sdc_session_counter != 0 {
            eprintln!(
                "WARNING: --mac and --sdc-session-counter are ignored when --chip-info is provided"
            );
        }
    } else if args.mac.as_deref().is_none_or(str::is_empty) {
        // `if not mac`: an empty one is none
        return Err(bad_parameter(
            "--mac",
            "--mac is required when --chip-info is not provided",
        ));
    }
    for input in [
        &args.keyfile,
        &args.chip_info,
        &args.usc,
        &args.pub_key,
        &args.hsm_config,
    ]
    .into_iter()
    .flatten()
    {
        check_not_same(input, &args.output)?;
    }
    let mut flags = UscFlags::new(
        args.enable_jtag,
        args.enable_download_reuse,
        args.enable_force_spi_boot,
    );
    let v = args.verbose;
    if let Some(usc) = &args.usc {
        debug(
            v,
            format_args!("Loading USC configuration from: {}", usc.display()),
        );
        flags = load_usc(usc, flags, v)?;
    }
    let (chip_info, nonce) = if let Some(path) = &args.chip_info {
        debug(
            v,
            format_args!("Reading chip_info from file: {}", path.display()),
        );
        let data = read_file(path, "--chip-info")?;
        let Ok(data) = <[u8; sdc::CHIP_INFO_FILE_LEN]>::try_from(data.as_slice()) else {
            let text = format!(
                "Invalid chip_info file size: expected 64 bytes (32 bytes chip_info + 32 bytes nonce), got {} bytes.",
                data.len()
            );
            return Err(fatal(
                format!("--chip-info {}: {text}", path.display()),
                text,
            ));
        };
        let mut info = [0u8; 32];
        let mut nonce = [0u8; sdc::NONCE_LEN];
        info.copy_from_slice(&data[..32]);
        nonce.copy_from_slice(&data[32..]);
        debug(v, "Extracted chip_info and nonce from chip_info.bin file");
        debug(
            v,
            format_args!("  Chip info (32 bytes): {}", hex::encode(info)),
        );
        debug(
            v,
            format_args!("  Nonce (32 bytes): {}", hex::encode(nonce)),
        );
        (info, nonce)
    } else {
        let mut nonce = [0u8; sdc::NONCE_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        debug(v, "Auto-generated 32-byte nonce");
        debug(
            v,
            format_args!("  Nonce (32 bytes): {}", hex::encode(nonce)),
        );
        let mac = parse_mac(args.mac.as_deref().unwrap_or_default(), v)?;
        debug(v, "Deriving device unique identifier from MAC address");
        let info = sdc::chip_info(&mac, args.sdc_session_counter, &nonce)
            .map_err(|e| fatal(format!("--sdc-session-counter: {e}"), e.to_string()))?;
        let counter = args.sdc_session_counter;
        debug(
            v,
            format_args!(
                "SDC session counter: {counter} (eFuse-tail byte 0x{:02x})",
                counter << 4
            ),
        );
        debug(v, "Calculating chip info");
        debug(
            v,
            format_args!("  Chip info (32 bytes): {}", hex::encode(info)),
        );
        (info, nonce)
    };
    debug(v, "USC data generated successfully");
    debug(v, format_args!("  JTAG: {}", enabled(flags.jtag)));
    debug(
        v,
        format_args!("  Download reuse: {}", enabled(flags.download_reuse)),
    );
    debug(
        v,
        format_args!("  Force SPI boot: {}", enabled(flags.force_spi_boot)),
    );
    let cert = if args.hsm {
        hsm_certificate(&args, flags, &chip_info, &nonce)?
    } else {
        let Some(keyfile) = &args.keyfile else {
            bail!("--keyfile: the signing key is required");
        };
        let key = load_sdc_private_key(keyfile)?;
        let cert = sdc::certificate(&key, flags, &chip_info, &nonce);
        for line in [
            "Public key extracted successfully",
            "Public key hash calculated successfully",
            "Certificate message prepared successfully",
            "ECDSA signature generated successfully",
            "Signature verified successfully with public key",
            "Certificate integrity hash calculated successfully",
        ] {
            debug(v, line);
        }
        cert
    };
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "-o {}: cannot create {}",
                args.output.display(),
                dir.display()
            )
        })?;
    }
    write_atomic(&args.output, &cert, false)?;
    if v {
        // The key hash covers the raw key; the certificate hash ends the body.
        let body = &cert[sdc::HEADER_LEN..sdc::HEADER_LEN + sdc::BODY_LEN];
        let key_hash = esp_secure::sdc::raw_key_hash(&body[sdc::USC_LEN..sdc::USC_LEN + 64]);
        let rule = "=".repeat(60);
        for line in [
            format!("SDC certificate written to {}", args.output.display()),
            "\nSDC Certificate Details".to_owned(),
            rule.clone(),
            format!("Certificate size: {} bytes", cert.len()),
            format!(
                "  - Certificate body: {} bytes",
                cert.len() - sdc::NONCE_LEN
            ),
            format!("  - Nonce: {} bytes", sdc::NONCE_LEN),
            "\nUSC Configuration:".to_owned(),
            format!("  - JTAG access: {}", enabled(flags.jtag)),
            format!("  - Download reuse: {}", enabled(flags.download_reuse)),
            format!("  - Force SPI boot: {}", enabled(flags.force_spi_boot)),
            "\nCryptographic Details:".to_owned(),
            format!("  - Public key hash: {}", hex::encode(key_hash)),
            format!(
                "  - Certificate hash: {}",
                hex::encode(&body[sdc::BODY_LEN - 32..])
            ),
            rule,
        ] {
            outln!("{line}");
        }
    }
    outln!(
        "\nSDC certificate generated successfully: \"{}\"",
        args.output.display()
    );
    outln!("Certificate size: {} bytes", cert.len());
    let enabled: Vec<&str> = [
        (flags.jtag, "JTAG"),
        (flags.download_reuse, "Download Reuse"),
        (flags.force_spi_boot, "Force SPI Boot"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if enabled.is_empty() {
        outln!("No additional features enabled (default security configuration)");
    } else {
        outln!("Enabled features: {}", enabled.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// `digest-sdc-public-key`.
pub(super) fn digest_public_key(args: DigestArgs) -> anyhow::Result<ExitCode> {
    const HINT: &str = "--keyfile/--pub-key/--hsm";
    if args.keyfile.is_none() && args.pub_key.is_none() && !args.hsm {
        return Err(bad_parameter(
            HINT,
            "One of --keyfile, --pub-key, or --hsm must be provided",
        ));
    }
    if args.hsm && args.hsm_config.is_none() {
        return Err(bad_parameter(
            "--hsm-config",
            "--hsm-config is required when using --hsm",
        ));
    }
    let given = usize::from(args.keyfile.is_some())
        + usize::from(args.pub_key.is_some())
        + usize::from(args.hsm);
    if given > 1 {
        return Err(bad_parameter(
            HINT,
            "Only one of --keyfile, --pub-key, or --hsm can be provided",
        ));
    }
    // esp_sdc digest_sdc_public_key: `if not output_file`
    if args.output.as_os_str().is_empty() {
        return Err(fatal(
            "--output: an output file is required",
            "Output file is required. Please specify --output/-o option.",
        ));
    }
    let v = args.verbose;
    let key = if args.hsm {
        debug(v, "Extracting public key from HSM...");
        let hsm = super::hsm::Hsm::read(
            args.hsm_config.as_deref(),
            "--hsm-config is required when using --hsm",
            super::hsm::ConfigWords::Sdc,
        )?;
        sdc_p256(hsm.public_key()?, "--hsm-config")?
    } else if let Some(path) = &args.pub_key {
        debug(
            v,
            format_args!("Loading public key from {}...", path.display()),
        );
        let pem = read_file(path, "--pub-key")?;
        let has = |label: &[u8]| pem.windows(label.len()).any(|w| w == label);
        if !has(b"-BEGIN PUBLIC KEY") && !has(b"-BEGIN EC PUBLIC KEY") {
            return Err(fatal(
                format!("--pub-key {}: not a PEM public key", path.display()),
                "Unsupported public key format. Expected PEM format.",
            ));
        }
        let curve = |name: &str| {
            fatal(
                format!(
                    "--pub-key {}: SDC takes ECDSA P-256 keys, not {name}",
                    path.display()
                ),
                format!("Unsupported curve: {name}. Only SECP256R1 (P-256) is supported"),
            )
        };
        let loaded = match KeyFile::from_pem(&pem, None) {
            // cryptography loads keys on other curves; espsecure names them.
            Err(key_files::KeyFileError::UnsupportedCurve { oid }) => {
                return Err(curve(
                    key_files::oid::curve_name(&oid).unwrap_or(&oid.to_string()),
                ))
            }
            other => other.with_context(|| format!("--pub-key {}", path.display()))?,
        };
        match loaded {
            KeyFile::Public(AnyPublicKey::P256(k)) => k,
            KeyFile::Public(AnyPublicKey::P192(_)) => return Err(curve("secp192r1")),
            KeyFile::Public(AnyPublicKey::P384(_)) => return Err(curve("secp384r1")),
            _ => {
                return Err(fatal(
                    format!("--pub-key {}: SDC takes ECDSA P-256 keys", path.display()),
                    "SDC certificates only support ECDSA keys",
                ))
            }
        }
    } else if let Some(path) = &args.keyfile {
        debug(
            v,
            format_args!(
                "Extracting public key from private key file {}...",
                path.display()
            ),
        );
        load_sdc_private_key(path)?.public_key()
    } else {
        bail!("--keyfile, --pub-key or --hsm is required");
    };
    let digest = sdc::public_key_digest(&key);
    let raw = esp_secure::sbv1::public_key_raw(&key);
    debug(
        v,
        format_args!("Public key bytes (64 bytes): {}", hex::encode(raw)),
    );
    debug(
        v,
        format_args!("Public key hash: {}", hex::encode(sdc::raw_key_hash(&raw))),
    );
    debug(
        v,
        format_args!("Public key digest (reversed): {}", hex::encode(digest)),
    );
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "-o {}: cannot create {}",
                args.output.display(),
                dir.display()
            )
        })?;
    }
    write_atomic(&args.output, &digest, false)?;
    debug(
        v,
        format_args!("Public key digest written to {}", args.output.display()),
    );
    outln!(
        "\nSDC public key digest generated successfully: \"{}\"",
        args.output.display()
    );
    outln!("Digest size: {} bytes", digest.len());
    outln!("This digest must be burned to the device eFuse using 'espefuse burn-key <BLOCK> <digest_file> SDC_KEY_DIGEST'.");
    Ok(ExitCode::SUCCESS)
}
