//! `sign` (alias `create`): imgtool 2.5.0's options and semantics.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use base64ct::Encoding as _;
use mcuboot_image::enc::{self, AesKeyLen, HmacSha, Recipient};
use mcuboot_image::keys::{KeyFile, McubootKey as _, PublicKey};
use mcuboot_image::sign::{
    self, Encryption, FixedSigner, ImageSigner, KeySigner, PublicKeyFormat, SecurityCounter,
    ShaChoice, SignOptions, VectorToSign,
};
use mcuboot_image::{Dependency, ImageVersion, TlvKind};

use super::util::{is_hex, load_key, parse_u32, read_image, write_output};

/// imgtool's `TLV_VENDOR_RES_MIN`/`MAX` (`image.py`): the custom TLV range.
const CUSTOM_TLV_MIN: u16 = 0x00a0;
const CUSTOM_TLV_MAX: u16 = 0xfffe;
/// Type codes imgtool predefines (`image.py` `TLV_VALUES`); custom TLVs may not reuse them.
const PREDEFINED_TLVS: [u16; 24] = [
    0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33, 0x34, 0x40,
    0x50, 0x60, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
];

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Signing key (PEM).
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: Option<PathBuf>,
    /// Put the key's hash (KEYHASH) or the full key (PUBKEY) in the image.
    #[arg(long = "public-key-format", default_value = "hash", value_parser = ["hash", "full"])]
    public_key_format: String,
    /// Flash write alignment used by swap updates.
    #[arg(long = "align", default_value = "1", value_parser = ["1", "2", "4", "8", "16", "32"])]
    align: String,
    /// Maximum flash alignment (default max(8, align)).
    #[arg(long = "max-align", value_parser = ["8", "16", "32"])]
    max_align: Option<String>,
    /// Image version, maj.min.rev+build.
    #[arg(short = 'v', long = "version")]
    version: String,
    /// Security counter value, or `auto` (from the version).
    #[arg(short = 's', long = "security-counter")]
    security_counter: Option<String>,
    /// Dependencies: "(<image_ID>,<image_version>), ...".
    #[arg(short = 'd', long = "dependencies")]
    dependencies: Option<String>,
    /// Pad ECDSA signatures to a fixed length (MCUboot < 1.5).
    #[arg(long = "pad-sig")]
    pad_sig: bool,
    /// Header size (0x prefix allowed).
    #[arg(short = 'H', long = "header-size")]
    header_size: String,
    /// Prepend --header-size erased bytes to the input for the header.
    #[arg(long = "pad-header")]
    pad_header: bool,
    /// Slot size (the secondary slot's if they differ).
    #[arg(short = 'S', long = "slot-size")]
    slot_size: String,
    /// Pad to the slot size and add the trailer magic.
    #[arg(long = "pad")]
    pad: bool,
    /// Mark for a test swap (implies --pad).
    #[arg(long = "test")]
    test: bool,
    /// Mark as confirmed (implies --pad).
    #[arg(long = "confirm")]
    confirm: bool,
    /// Sectors the swap status must cover (default 128; the Espressif port uses 512).
    #[arg(short = 'M', long = "max-sectors")]
    max_sectors: Option<String>,
    /// Overwrite-only upgrades (smaller trailer).
    #[arg(long = "overwrite-only")]
    overwrite_only: bool,
    /// Byte order (only little is supported).
    #[arg(short = 'e', long = "endian", default_value = "little", value_parser = ["little", "big"])]
    endian: String,
    /// Encrypt for this public key (RSA-2048, P-256, X25519 PEM) or AES key-wrap KEK (base64).
    #[arg(short = 'E', long = "encrypt", value_name = "filename")]
    encrypt: Option<PathBuf>,
    /// AES key length for -E.
    #[arg(long = "encrypt-keylen", default_value = "128", value_parser = ["128", "256"])]
    encrypt_keylen: String,
    /// Compression (not supported).
    #[arg(long = "compression", default_value = "disabled", value_parser = ["disabled", "lzma2", "lzma2armthumb"])]
    compression: String,
    /// With -E: keep the payload clear but carry the wrapped key.
    #[arg(short = 'c', long = "clear")]
    clear: bool,
    /// Trailer sized for saving the encrypted key TLV (BOOT_SWAP_SAVE_ENCTLV).
    #[arg(long = "save-enctlv")]
    save_enctlv: bool,
    /// RAM load address.
    #[arg(short = 'L', long = "load-addr")]
    load_addr: Option<String>,
    /// Flash address the image is built for.
    #[arg(short = 'F', long = "rom-fixed")]
    rom_fixed: Option<String>,
    /// Address of the image in a .hex output.
    #[arg(short = 'x', long = "hex-addr")]
    hex_addr: Option<String>,
    /// Value of erased flash.
    #[arg(short = 'R', long = "erased-val", value_parser = ["0", "0xff"])]
    erased_val: Option<String>,
    /// Custom protected TLV: TAG VALUE (0x-prefixed hex, else a string).
    #[arg(long = "custom-tlv", num_args = 2, value_names = ["tag", "value"], action = clap::ArgAction::Append)]
    custom_tlv: Vec<String>,
    /// Custom protected TLV from a file: TAG FILE.
    #[arg(long = "custom-tlv-file", num_args = 2, value_names = ["tag", "filename"], action = clap::ArgAction::Append)]
    custom_tlv_file: Vec<String>,
    /// Add a CBOR boot record TLV with this software type (max. 12 characters).
    #[arg(long = "boot-record", value_name = "sw_type")]
    boot_record: Option<String>,
    /// Mark the image non-bootable.
    #[arg(long = "non-bootable")]
    non_bootable: bool,
    /// Use this signature (base64 file) instead of signing.
    #[arg(long = "fix-sig", value_name = "filename")]
    fix_sig: Option<PathBuf>,
    /// Public key of the --fix-sig signature.
    #[arg(long = "fix-sig-pubkey", value_name = "filename")]
    fix_sig_pubkey: Option<PathBuf>,
    /// Pure signature (over the image, not its hash; Ed25519 only).
    #[arg(long = "pure")]
    pure: bool,
    /// Also write the signature (base64) to this file.
    #[arg(long = "sig-out", value_name = "filename")]
    sig_out: Option<PathBuf>,
    /// Hash algorithm.
    #[arg(long = "sha", default_value = "auto", value_parser = ["auto", "256", "384", "512"])]
    sha: String,
    /// HKDF/HMAC hash for ECIES key wrapping.
    #[arg(long = "hmac-sha", default_value = "auto", value_parser = ["auto", "256", "512"])]
    hmac_sha: String,
    /// Write the data to sign externally instead of an image.
    #[arg(long = "vector-to-sign", value_parser = ["payload", "digest"])]
    vector_to_sign: Option<String>,
    /// Vendor UUID: raw, or a domain name (UUIDv5 in the DNS namespace).
    #[arg(long = "vid")]
    vid: Option<String>,
    /// Image class UUID: raw, or a name (UUIDv5 in the --vid namespace).
    #[arg(long = "cid")]
    cid: Option<String>,
    /// Input image (binary, or Intel HEX when named *.hex).
    infile: PathBuf,
    /// Output image (binary, or Intel HEX when named *.hex).
    outfile: PathBuf,
}

/// Parses `-d` like imgtool's `get_dependencies`: image ids from `\((\d+)`,
/// versions from `,\s*([0-9.+]+)\)`.
pub fn parse_dependencies(text: &str) -> anyhow::Result<Vec<Dependency>> {
    let chars: Vec<char> = text.chars().collect();
    let mut ids = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '(' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j > start {
                ids.push(chars[start..j].iter().collect::<String>());
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let mut versions = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ',' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let start = j;
            while j < chars.len()
                && (chars[j].is_ascii_digit() || chars[j] == '.' || chars[j] == '+')
            {
                j += 1;
            }
            if j > start && chars.get(j) == Some(&')') {
                versions.push(chars[start..j].iter().collect::<String>());
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    if ids.is_empty() {
        bail!(
            "-d/--dependencies: '{text}' is not of the form \"(<image_ID>,<image_version>), ...\""
        );
    }
    if ids.len() != versions.len() {
        bail!(
            "-d/--dependencies: '{text}' has {} image ids but {} versions; expected \"(<image_ID>,<image_version>), ...\"",
            ids.len(),
            versions.len()
        );
    }
    ids.iter()
        .zip(&versions)
        .map(|(id, v)| {
            let image_id: u8 = id.parse().map_err(|_| {
                anyhow::anyhow!("-d/--dependencies: image id {id} is out of range (0..=255)")
            })?;
            let version: ImageVersion = v
                .parse()
                .with_context(|| format!("-d/--dependencies: version '{v}'"))?;
            Ok(Dependency { image_id, version })
        })
        .collect()
}

fn parse_custom_tlvs(a: &SignArgs) -> anyhow::Result<Vec<(u16, Vec<u8>)>> {
    let mut out: Vec<(u16, Vec<u8>)> = Vec::new();
    let inline = a
        .custom_tlv
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default(), false));
    let files = a
        .custom_tlv_file
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default(), true));
    for (tag_text, value, is_file) in inline.chain(files) {
        let arg = if is_file {
            "--custom-tlv-file"
        } else {
            "--custom-tlv"
        };
        let tag = py_int::parse(&tag_text)
            .ok()
            .with_context(|| format!("{arg}: tag '{tag_text}' is not a valid integer"))?;
        let tag = u16::try_from(tag)
            .ok()
            .filter(|t| (CUSTOM_TLV_MIN..=CUSTOM_TLV_MAX).contains(t))
            .with_context(|| {
                format!("{arg}: tag {tag_text} is outside the custom range {CUSTOM_TLV_MIN:#06x}..={CUSTOM_TLV_MAX:#06x}")
            })?;
        if out.iter().any(|(t, _)| *t == tag) {
            bail!("{arg}: custom TLV {tag:#x} already exists");
        }
        if PREDEFINED_TLVS.contains(&tag) {
            bail!("{arg}: custom TLV {tag:#x} conflicts with a predefined TLV");
        }
        let bytes = if is_file {
            std::fs::read(&value).with_context(|| format!("{arg}: cannot read {value}"))?
        } else if let Some(hex) = value.strip_prefix("0x") {
            if hex.len() % 2 != 0 {
                bail!("{arg}: value '{value}' has an odd number of hex digits");
            }
            decode_hex(hex).with_context(|| format!("{arg}: value '{value}' is not valid hex"))?
        } else {
            value.into_bytes()
        };
        if bytes.len() > usize::from(u16::MAX) {
            bail!(
                "{arg}: TLV {tag:#x} value is {} bytes; a TLV holds at most 65535",
                bytes.len()
            );
        }
        out.push((tag, bytes));
    }
    Ok(out)
}

/// Python's `bytes.fromhex` on an even-length string (whitespace between bytes allowed).
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

fn load_fixed_signer(a: &SignArgs) -> anyhow::Result<Option<FixedSigner>> {
    let Some(sig_path) = &a.fix_sig else {
        return Ok(None);
    };
    let text = std::fs::read(sig_path)
        .with_context(|| format!("--fix-sig: cannot read {}", sig_path.display()))?;
    let compact: Vec<u8> = text
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let signature =
        base64ct::Base64::decode_vec(std::str::from_utf8(&compact).map_err(|_| {
            anyhow::anyhow!("--fix-sig: {} is not base64 text", sig_path.display())
        })?)
        .map_err(|_| anyhow::anyhow!("--fix-sig: {} is not valid base64", sig_path.display()))?;
    let Some(pub_path) = &a.fix_sig_pubkey else {
        bail!("--fix-sig-pubkey: required with --fix-sig (the public key of the fixed signature)");
    };
    let file = load_key("--fix-sig-pubkey", pub_path)?;
    let public_only = matches!(file, KeyFile::Public(_));
    let public = file.public_key();
    if public.signature_kind().is_none() {
        bail!("--fix-sig-pubkey: an x25519 key cannot verify signatures");
    }
    Ok(Some(FixedSigner {
        public,
        public_only,
        signature,
    }))
}

fn load_encryption(
    a: &SignArgs,
    signer: Option<&dyn ImageSigner>,
) -> anyhow::Result<Option<Encryption>> {
    // imgtool ignores --clear without -E; so do we.
    let Some(path) = &a.encrypt else {
        return Ok(None);
    };
    let contents = std::fs::read(path)
        .with_context(|| format!("-E/--encrypt: cannot read {}", path.display()))?;
    let recipient = Recipient::from_file_contents(&contents)
        .with_context(|| format!("-E/--encrypt: {}", path.display()))?;
    // imgtool: "Signing and encryption must use the same type of key" for EC and RSA signers.
    if let Some(s) = signer {
        let mismatch = match (s.public_key(), &recipient) {
            (PublicKey::P256(_), r) => !matches!(r, Recipient::EcP256(_)),
            (PublicKey::P384(_), _) => true,
            (PublicKey::Rsa(_), r) => !matches!(r, Recipient::Rsa2048(_)),
            _ => false,
        };
        if mismatch {
            bail!(
                "-E/--encrypt: a {} encryption key cannot be combined with a {} signing key (imgtool requires the same key type)",
                recipient.kind_name(),
                s.public_key().kind()
            );
        }
    }
    let key_len = if a.encrypt_keylen == "256" {
        AesKeyLen::Aes256
    } else {
        AesKeyLen::Aes128
    };
    let hmac = match a.hmac_sha.as_str() {
        // imgtool ignores --hmac-sha for RSA; only ECIES-P256 refuses 512.
        "512" => {
            if matches!(recipient, Recipient::EcP256(_)) {
                bail!("--hmac-sha 512: only ECIES-X25519 supports HMAC-SHA512");
            }
            HmacSha::Sha512
        }
        _ => HmacSha::Sha256,
    };
    let (aes_key, kind, value) =
        enc::wrap_new_key(&recipient, key_len, hmac, &mut rand_core::OsRng)
            .with_context(|| format!("-E/--encrypt: {}", path.display()))?;
    Ok(Some(Encryption {
        aes_key,
        tlv_kind: TlvKind::from_code(kind.type_code()),
        tlv_value: value,
        clear: a.clear,
    }))
}

fn options(a: &SignArgs) -> anyhow::Result<SignOptions> {
    let version: ImageVersion = a
        .version
        .parse()
        .with_context(|| format!("-v/--version: '{}'", a.version))?;
    let header_size = parse_u32("-H/--header-size", &a.header_size)?;
    let slot_size = parse_u32("-S/--slot-size", &a.slot_size)?;
    let mut o = SignOptions::new(version, header_size, slot_size);
    o.pad_header = a.pad_header;
    o.confirm = a.confirm;
    o.test = a.test;
    o.pad = a.pad || a.confirm || a.test;
    o.align = a.align.parse().unwrap_or(1);
    o.max_align = a.max_align.as_deref().and_then(|m| m.parse().ok());
    // click's `int` (decimal); 0 is accepted like imgtool does.
    o.max_sectors = match &a.max_sectors {
        Some(m) => Some(
            py_int::parse_u32(m)
                .ok()
                .with_context(|| format!("-M/--max-sectors: '{m}' is not a sector count"))?,
        ),
        None => None,
    };
    o.overwrite_only = a.overwrite_only;
    o.load_addr = a
        .load_addr
        .as_deref()
        .map(|v| parse_u32("-L/--load-addr", v))
        .transpose()?;
    o.rom_fixed = a
        .rom_fixed
        .as_deref()
        .map(|v| parse_u32("-F/--rom-fixed", v))
        .transpose()?;
    o.erased_val = if a.erased_val.as_deref() == Some("0") {
        0
    } else {
        0xff
    };
    o.security_counter = match &a.security_counter {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("auto") => Some(SecurityCounter::Auto),
        Some(s) => Some(SecurityCounter::Value(parse_u32(
            "-s/--security-counter",
            s,
        )?)),
    };
    o.dependencies = a
        .dependencies
        .as_deref()
        .map(parse_dependencies)
        .transpose()?
        .unwrap_or_default();
    o.boot_record = a.boot_record.clone();
    o.custom_tlvs = parse_custom_tlvs(a)?;
    o.non_bootable = a.non_bootable;
    o.public_key_format = if a.public_key_format == "full" {
        PublicKeyFormat::Full
    } else {
        PublicKeyFormat::Hash
    };
    o.sha = match a.sha.as_str() {
        "256" => ShaChoice::Sha256,
        "384" => ShaChoice::Sha384,
        "512" => ShaChoice::Sha512,
        _ => ShaChoice::Auto,
    };
    o.pure = a.pure;
    o.vector_to_sign = match a.vector_to_sign.as_deref() {
        Some("payload") => Some(VectorToSign::Payload),
        Some("digest") => Some(VectorToSign::Digest),
        _ => None,
    };
    o.save_enctlv = a.save_enctlv;
    o.vid = a
        .vid
        .as_deref()
        .map(|v| sign::parse_uuid(Some(&sign::UUID_NAMESPACE_DNS), v))
        .transpose()
        .context("--vid")?;
    o.cid = a
        .cid
        .as_deref()
        .map(|c| sign::parse_uuid(o.vid.as_ref(), c))
        .transpose()
        .context("--cid")?;
    Ok(o)
}

pub fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    if a.endian != "little" {
        bail!("-e/--endian: only little-endian images are supported");
    }
    if a.compression != "disabled" {
        bail!("--compression: compressed images are not supported yet");
    }
    let opts = options(&a)?;
    // A plain binary image (the common case) streams: read, hashed and
    // written in overlapping chunks, never held in memory.
    let streaming = !is_hex(&a.infile)
        && !is_hex(&a.outfile)
        && a.encrypt.is_none()
        && !opts.pure
        && opts.vector_to_sign.is_none();
    let (mut input, input_base, mut stream_in) = if streaming {
        let (head, file, len) = open_streamed_input(&a.infile, &opts)?;
        (head, None, Some((file, len)))
    } else {
        let (input, base) = read_input(&a.infile, &opts)?;
        (input, base, None)
    };

    let key_signer = match &a.key {
        Some(path) => match load_key("-k/--key", path)? {
            KeyFile::Private(k) => Some(
                KeySigner::new(k, a.pad_sig)
                    .with_context(|| format!("-k/--key: {}", path.display()))?,
            ),
            _ => bail!(
                "-k/--key: {} holds a public key only; signing requires the private key",
                path.display()
            ),
        },
        None => None,
    };
    let fixed = load_fixed_signer(&a)?;
    if key_signer.is_some() && fixed.is_some() {
        bail!("-k/--key and --fix-sig cannot be used together");
    }
    let signer: Option<&dyn ImageSigner> = match (&key_signer, &fixed) {
        (Some(k), _) => Some(k),
        (None, Some(f)) => Some(f),
        (None, None) => None,
    };
    if a.sig_out.is_some() && signer.is_none() {
        bail!("--sig-out: needs -k/--key or --fix-sig (there is no signature to write)");
    }
    let encryption = load_encryption(&a, signer)?;

    // A binary output is written while the image hash is computed (the
    // header and payload go out on a second thread); a .hex output is
    // produced from the finished image.
    let mut early_out = if is_hex(&a.outfile) {
        None
    } else {
        Some(crate::fsutil::AtomicFile::create(&a.outfile, false).context("OUTFILE")?)
    };
    let (built, written) = match (early_out.as_mut(), stream_in.as_mut()) {
        (Some(out), Some((file, len))) => sign::build_streaming(
            std::mem::take(&mut input),
            &opts,
            signer,
            sign::PayloadStream {
                reader: file,
                len: *len,
                out,
            },
        )
        .map(|built| (built, opts.header_size as usize)),
        (Some(out), None) => sign::build_with_header_area_writing(
            std::mem::take(&mut input),
            &opts,
            signer,
            encryption.as_ref(),
            out,
        ),
        (None, _) => sign::build_with_header_area(
            std::mem::take(&mut input),
            &opts,
            signer,
            encryption.as_ref(),
        )
        .map(|built| (built, 0)),
    }
    .map_err(|e| match e {
        sign::SignError::Io(io) => {
            let what = if io.kind() == std::io::ErrorKind::UnexpectedEof {
                format!("INFILE: {} changed while it was read", a.infile.display())
            } else {
                format!(
                    "cannot stream {} to OUTFILE {}",
                    a.infile.display(),
                    a.outfile.display()
                )
            };
            anyhow::Error::new(io).context(what)
        }
        other => anyhow::Error::new(other).context(format!("cannot sign {}", a.infile.display())),
    })?;
    // Streamed, the payload is not in `built.bytes` but was written.
    let streamed_len = stream_in.as_ref().map_or(0, |(_, len)| *len);
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    let signature = built.signature.clone();
    let enc_tlv_len = built.enc_tlv_len;
    let mut bytes = built.bytes;

    if is_hex(&a.outfile) {
        let base = match a.hex_addr.as_deref() {
            Some(x) => parse_u32("-x/--hex-addr", x)?,
            None => match input_base {
                // imgtool moves the base down for the prepended header only when it is non-zero.
                Some(b) if opts.pad_header && b != 0 => b.wrapping_sub(opts.header_size),
                Some(b) => b,
                None => bail!("-x/--hex-addr: required for a .hex output from a binary input (no address in the input)"),
            },
        };
        let mut segments: Vec<(u64, Vec<u8>)> = vec![(u64::from(base), std::mem::take(&mut bytes))];
        if opts.pad {
            for (off, data) in sign::hex_trailer(&opts) {
                segments.push((u64::from(base) + u64::from(off), data));
            }
        }
        let refs: Vec<(u64, &[u8])> = segments.iter().map(|(a, d)| (*a, d.as_slice())).collect();
        let text = mcuboot_image::hexfile::write(&refs);
        write_output(Some(&a.outfile), text.as_bytes(), false).context("OUTFILE")?;
    } else {
        // The image, then the slot padding streamed (never held in memory).
        let pad = opts
            .pad
            .then(|| sign::padding(bytes.len() + streamed_len, &opts, enc_tlv_len));
        // A temporary file renamed into place (never half-written), without
        // the fsync of `write_atomic`: the signed image is a derived file
        // that can be rebuilt, and fsyncing 16 MiB costs about as much as
        // signing it (scripts/bench-image); the same trade-off as
        // `encrypt-flash-data` (fsutil::AtomicFile::commit).
        let Some(mut out) = early_out else {
            bail!("OUTFILE: internal error: no output file");
        };
        let rest = bytes.get(written..).unwrap_or_default();
        let finished = (|| -> std::io::Result<()> {
            out.write_all(rest)?;
            if let Some(p) = &pad {
                let chunk = vec![opts.erased_val; p.erased_run.min(1 << 16)];
                let mut left = p.erased_run;
                while left > 0 {
                    let n = left.min(chunk.len());
                    out.write_all(&chunk[..n])?;
                    left -= n;
                }
                out.write_all(&p.tail)?;
            }
            out.flush()
        })();
        finished
            .with_context(|| format!("cannot write {}", a.outfile.display()))
            .context("OUTFILE")?;
        out.commit().context("OUTFILE")?;
    }
    if let Some(path) = &a.sig_out {
        if let Some(sig) = signature {
            write_sig(path, &sig)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens INFILE for [`sign::build_streaming`]: the header area (erased
/// bytes with `--pad-header`, else the file's first `header_size` bytes),
/// the file positioned after it, and how many payload bytes follow.
fn open_streamed_input(
    path: &Path,
    opts: &SignOptions,
) -> anyhow::Result<(Vec<u8>, std::fs::File, usize)> {
    use std::io::Read;
    let header_size = opts.header_size as usize;
    let open = || -> std::io::Result<(Vec<u8>, std::fs::File, usize)> {
        let mut file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
        if opts.pad_header {
            return Ok((vec![opts.erased_val; header_size], file, len));
        }
        // The header area is part of the input (it must be zeros).
        let mut head = Vec::with_capacity(header_size);
        (&mut file)
            .take(header_size as u64)
            .read_to_end(&mut head)?;
        let rest = len.saturating_sub(head.len());
        Ok((head, file, rest))
    };
    open().with_context(|| format!("INFILE: cannot read {}", path.display()))
}

/// Reads INFILE into a buffer that already holds the `--pad-header` area and
/// has room for the TLVs and slot padding, so the image is never copied.
fn read_input(path: &Path, opts: &SignOptions) -> anyhow::Result<(Vec<u8>, Option<u32>)> {
    let prefix = if opts.pad_header {
        opts.header_size as usize
    } else {
        0
    };
    if is_hex(path) {
        let (data, base) = read_image("INFILE", path)?;
        let mut buf = Vec::with_capacity(sign::output_capacity(data.len(), opts));
        buf.resize(prefix, opts.erased_val);
        buf.extend_from_slice(&data);
        return Ok((buf, base));
    }
    let len = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
    let buf = crate::fsutil::read_file_with_room(
        path,
        prefix,
        opts.erased_val,
        sign::output_capacity(len, opts).saturating_sub(prefix + len),
    )
    .with_context(|| format!("INFILE: cannot read {}", path.display()))?;
    Ok((buf, None))
}

fn write_sig(path: &Path, sig: &[u8]) -> anyhow::Result<()> {
    let text = base64ct::Base64::encode_string(sig);
    write_output(Some(path), text.as_bytes(), false).context("--sig-out")
}
