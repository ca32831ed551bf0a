//! `sign` (alias `create`): imgtool 2.5.0's options, mapped onto
//! `mcuboot_image::sign` (which owns imgtool's rules), one library call,
//! and errors phrased with the flag they concern.

use mcuboot_image::hexfile::UpperAddressOverflow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use base64ct::Encoding as _;
use mcuboot_image::codec::tlv::{TlvArea, TlvWriteError};
use mcuboot_image::codec::Endian;
use mcuboot_image::enc::{AesKeyLen, EncError, HmacSha, Recipient};
use mcuboot_image::keys::{KeyFile, KeyKind, McubootKey as _, PublicKey};
use mcuboot_image::sign::{
    custom_tlv_value, parse_dependencies, parse_vid_cid, Encryption, FixedSigner, HashChoice,
    ImageBuilder, ImageSigner, Input, KeySigner, LoadAddress, OptionError, OutputFormat,
    PublicKeyFormat, SecurityCounter, SignError, SignField, SignOptions, SignWarning, Signing,
    TokenSigner, Trailer, VectorToSign,
};
use mcuboot_image::sign::{Compression, ImgtoolLayout, SaveRefusal};
use mcuboot_image::{HashAlg, ImageVersion};

use super::util::{is_hex, load_key, parse_u32, read_image, write_output};

/// `--public-key-format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KeyFormatArg {
    Hash,
    Full,
}

/// `--align`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AlignArg {
    #[value(name = "1")]
    A1,
    #[value(name = "2")]
    A2,
    #[value(name = "4")]
    A4,
    #[value(name = "8")]
    A8,
    #[value(name = "16")]
    A16,
    #[value(name = "32")]
    A32,
}

/// `--max-align`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MaxAlignArg {
    #[value(name = "8")]
    A8,
    #[value(name = "16")]
    A16,
    #[value(name = "32")]
    A32,
}

/// `-e/--endian`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum EndianArg {
    Little,
    Big,
}

/// `--encrypt-keylen`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KeyLenArg {
    #[value(name = "128")]
    Aes128,
    #[value(name = "256")]
    Aes256,
}

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum CompressionArg {
    Disabled,
    Lzma2,
    Lzma2armthumb,
}

/// `-R/--erased-val`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ErasedArg {
    #[value(name = "0")]
    Zero,
    #[value(name = "0xff")]
    Ff,
}

/// `--sha`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShaArg {
    Auto,
    #[value(name = "256")]
    Sha256,
    #[value(name = "384")]
    Sha384,
    #[value(name = "512")]
    Sha512,
}

/// `--hmac-sha`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum HmacArg {
    Auto,
    #[value(name = "256")]
    Sha256,
    #[value(name = "512")]
    Sha512,
}

/// `--vector-to-sign`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum VectorArg {
    Payload,
    Digest,
}

// `value_name`s are imgtool's metavars (imgtool/main.py `sign`: its
// `metavar=`, else click's type names TEXT and INTEGER), which the
// `imgtool` personality's help shows.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Signing key (PEM), or (`espboot image` only) a key in a PKCS#11
    /// token: `pkcs11:token=…;object=…?module-path=…&pin-source=…`.
    #[arg(short = 'k', long = "key", value_name = "filename")]
    pub(super) key: Option<PathBuf>,
    /// Put the key's hash (KEYHASH) or the full key (PUBKEY) in the image.
    #[arg(long = "public-key-format", value_enum, default_value = "hash")]
    public_key_format: KeyFormatArg,
    /// Flash write alignment used by swap updates.
    #[arg(long = "align", value_enum, default_value = "1")]
    align: AlignArg,
    /// Maximum flash alignment (default max(8, align)).
    #[arg(long = "max-align", value_enum)]
    max_align: Option<MaxAlignArg>,
    /// Image version, maj.min.rev+build.
    #[arg(short = 'v', long = "version", value_name = "TEXT")]
    pub(super) version: String,
    /// Security counter value, or `auto` (from the version).
    #[arg(short = 's', long = "security-counter", value_name = "TEXT")]
    pub(super) security_counter: Option<String>,
    /// Dependencies: "(<image_ID>,<image_version>), ...".
    #[arg(short = 'd', long = "dependencies", value_name = "TEXT")]
    pub(super) dependencies: Option<String>,
    /// Pad ECDSA signatures to a fixed length (MCUboot < 1.5).
    #[arg(long = "pad-sig")]
    pad_sig: bool,
    /// Header size (0x prefix allowed).
    #[arg(short = 'H', long = "header-size", value_name = "INTEGER")]
    pub(super) header_size: String,
    /// Prepend --header-size erased bytes to the input for the header.
    #[arg(long = "pad-header")]
    pub(super) pad_header: bool,
    /// Slot size (the secondary slot's if they differ).
    #[arg(short = 'S', long = "slot-size", value_name = "INTEGER")]
    pub(super) slot_size: String,
    /// Pad to the slot size and add the trailer magic.
    #[arg(long = "pad")]
    pub(super) pad: bool,
    /// Mark for a test swap (implies --pad).
    #[arg(long = "test")]
    pub(super) test: bool,
    /// Mark as confirmed (implies --pad).
    #[arg(long = "confirm")]
    pub(super) confirm: bool,
    /// Sectors the swap status must cover (default 128; the Espressif port uses 512).
    #[arg(short = 'M', long = "max-sectors", value_name = "INTEGER")]
    pub(super) max_sectors: Option<String>,
    /// Overwrite-only upgrades (smaller trailer).
    #[arg(long = "overwrite-only")]
    pub(super) overwrite_only: bool,
    /// Byte order (only little is supported).
    #[arg(short = 'e', long = "endian", value_enum, default_value = "little")]
    pub(super) endian: EndianArg,
    /// Encrypt for this public key (RSA-2048, P-256, X25519 PEM) or AES key-wrap KEK (base64).
    #[arg(short = 'E', long = "encrypt", value_name = "filename")]
    pub(super) encrypt: Option<PathBuf>,
    /// AES key length for -E.
    #[arg(long = "encrypt-keylen", value_enum, default_value = "128")]
    encrypt_keylen: KeyLenArg,
    /// Compress the payload with LZMA2 (with the ARM Thumb filter for
    /// `lzma2armthumb`); kept uncompressed when that is not smaller.
    #[arg(long = "compression", value_enum, default_value = "disabled")]
    pub(super) compression: CompressionArg,
    /// With -E: keep the payload clear but carry the wrapped key.
    #[arg(short = 'c', long = "clear")]
    clear: bool,
    /// Trailer sized for saving the encrypted key TLV (BOOT_SWAP_SAVE_ENCTLV).
    #[arg(long = "save-enctlv")]
    save_enctlv: bool,
    /// RAM load address.
    #[arg(short = 'L', long = "load-addr", value_name = "INTEGER")]
    pub(super) load_addr: Option<String>,
    /// Flash address the image is built for.
    #[arg(short = 'F', long = "rom-fixed", value_name = "INTEGER")]
    pub(super) rom_fixed: Option<String>,
    /// Address of the image in a .hex output.
    #[arg(short = 'x', long = "hex-addr", value_name = "INTEGER")]
    pub(super) hex_addr: Option<String>,
    /// Value of erased flash.
    #[arg(short = 'R', long = "erased-val", value_enum)]
    erased_val: Option<ErasedArg>,
    /// Custom protected TLV: TAG VALUE (0x-prefixed hex, else a string).
    #[arg(long = "custom-tlv", num_args = 2, value_names = ["tag", "value"], action = clap::ArgAction::Append)]
    pub(super) custom_tlv: Vec<String>,
    /// Custom protected TLV from a file: TAG FILE.
    #[arg(long = "custom-tlv-file", num_args = 2, value_names = ["tag", "filename"], action = clap::ArgAction::Append)]
    pub(super) custom_tlv_file: Vec<String>,
    /// Add a CBOR boot record TLV with this software type (max. 12 characters).
    #[arg(long = "boot-record", value_name = "sw_type")]
    pub(super) boot_record: Option<String>,
    /// Mark the image non-bootable.
    #[arg(long = "non-bootable")]
    non_bootable: bool,
    /// Use this signature (base64 file) instead of signing.
    #[arg(long = "fix-sig", value_name = "filename")]
    pub(super) fix_sig: Option<PathBuf>,
    /// Public key of the --fix-sig signature.
    #[arg(long = "fix-sig-pubkey", value_name = "filename")]
    fix_sig_pubkey: Option<PathBuf>,
    /// Pure signature (over the image, not its hash; Ed25519 only).
    #[arg(long = "pure")]
    pub(super) pure: bool,
    /// Also write the signature (base64) to this file.
    #[arg(long = "sig-out", value_name = "filename")]
    sig_out: Option<PathBuf>,
    /// Hash algorithm.
    #[arg(long = "sha", value_enum, default_value = "auto")]
    sha: ShaArg,
    /// HKDF/HMAC hash for ECIES key wrapping.
    #[arg(long = "hmac-sha", value_enum, default_value = "auto")]
    hmac_sha: HmacArg,
    /// Write the data to sign externally instead of an image.
    #[arg(long = "vector-to-sign", value_enum)]
    vector_to_sign: Option<VectorArg>,
    /// Vendor UUID: raw, or a domain name (UUIDv5 in the DNS namespace).
    #[arg(long = "vid", value_name = "TEXT")]
    pub(super) vid: Option<String>,
    /// Image class UUID: raw, or a name (UUIDv5 in the --vid namespace).
    #[arg(long = "cid", value_name = "TEXT")]
    pub(super) cid: Option<String>,
    /// Print the progress lines imgtool's `Image.create` prints on stdout
    /// (set by the `imgtool` personality, not an option).
    #[arg(skip)]
    pub(super) imgtool_notices: bool,
    /// What imgtool refuses once its keys are loaded, before it reads the
    /// fixed signature (imgtool/main.py sign: the custom TLVs); set by the
    /// `imgtool` personality, which found it in the arguments, so that a
    /// key that does not load is reported first.
    #[arg(skip)]
    pub(super) imgtool_after_keys: Option<ImgtoolRefusal>,
    /// What imgtool refuses after it has loaded the fixed signature's key
    /// (`--pure` with `--sha`); set by the `imgtool` personality.
    #[arg(skip)]
    pub(super) imgtool_after_fixed_key: Option<ImgtoolRefusal>,
    /// What imgtool's `Image.create` refuses after it has settled the
    /// hash, in its order, and how the protected TLV area the personality
    /// left the library differs from imgtool's; set by the `imgtool`
    /// personality.
    #[arg(skip)]
    pub(super) imgtool_in_create: CreateRefusals,
    /// imgtool's own trailer and Intel HEX placement, for values the
    /// library does not take (a negative `-M`, `-S` or `-x`, a `.hex`
    /// output at `-x`); set by the `imgtool` personality, which then
    /// leaves the library a plain image to build.
    #[arg(skip)]
    pub(super) imgtool_layout: Option<ImgtoolLayout>,
    /// Input image (binary, or Intel HEX when named *.hex).
    pub(super) infile: PathBuf,
    /// Output image (binary, or Intel HEX when named *.hex).
    pub(super) outfile: PathBuf,
}

impl SignArgs {
    /// `--sha auto` (imgtool refuses another choice with `--pure`).
    pub(super) fn sha_is_auto(&self) -> bool {
        matches!(self.sha, ShaArg::Auto)
    }
}

/// The flag that sets `field` (for messages).
fn flag(field: SignField, a: &SignArgs) -> &'static str {
    match field {
        SignField::HeaderSize => "-H/--header-size",
        SignField::SlotSize => "-S/--slot-size",
        SignField::Align => "--align",
        SignField::MaxAlign => "--max-align",
        SignField::MaxSectors => "-M/--max-sectors",
        SignField::ErasedValue => "-R/--erased-val",
        SignField::LoadAddress => "-L/--load-addr and -F/--rom-fixed",
        SignField::Hash => "--sha",
        SignField::Pure => "--pure",
        SignField::BootRecord => "--boot-record",
        SignField::Dependencies => "-d/--dependencies",
        SignField::CustomTlvs => "--custom-tlv",
        SignField::Vid => "--vid",
        SignField::Cid => "--cid",
        SignField::Signer if a.key.is_none() && a.fix_sig.is_some() => "--fix-sig-pubkey",
        SignField::Signer => "-k/--key",
        SignField::Encryption => "-E/--encrypt",
        SignField::Input => "INFILE",
        _ => "OUTFILE",
    }
}

/// An option error, naming its flag.
fn option_error(err: OptionError, a: &SignArgs) -> anyhow::Error {
    let name = flag(err.field(), a);
    anyhow::Error::new(err).context(name)
}

/// A signing error with its flag and a hint in one line; the typed error
/// stays reachable (the imgtool personality reports some in imgtool's words).
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {error}{hint}")]
pub struct HintedSignError {
    flag: &'static str,
    pub(super) error: SignError,
    hint: &'static str,
}

/// A signing error, naming its flag and adding imgtool's hints.
fn sign_error(err: SignError, a: &SignArgs) -> anyhow::Error {
    let name = match (&err, err.field()) {
        (SignError::HexAddressRequired | SignError::HexPastFourGiB(_), _) => "-x/--hex-addr",
        (SignError::Encryption(EncError::HmacSha512Unsupported(_)), _) => "--hmac-sha 512",
        (_, Some(field)) => flag(field, a),
        (_, None) => "cannot sign",
    };
    let hint = match err {
        SignError::HeaderNotZero(_) | SignError::InputTooShort { .. } => {
            "; use --pad-header to prepend a header"
        }
        _ => "",
    };
    let path = match (&err, err.field()) {
        (SignError::HexAddressRequired | SignError::HexPastFourGiB(_), _) => String::new(),
        (_, Some(SignField::Input)) => format!(" {}", a.infile.display()),
        (_, Some(SignField::Output)) => format!(" {}", a.outfile.display()),
        _ => String::new(),
    };
    if hint.is_empty() {
        anyhow::Error::new(err).context(format!("{name}{path}"))
    } else {
        anyhow::Error::new(HintedSignError {
            flag: name,
            error: err,
            hint,
        })
    }
}

/// How a warning reads on this command line.
fn warning_text(w: &SignWarning) -> String {
    match w {
        SignWarning::EspressifSectorCount {
            image,
            trailer,
            slot,
        } => format!(
            "image size ({image:#x}) + trailer ({trailer:#x}) exceeds the slot size {slot:#x} with \
             -M 512 (the Espressif port's sector count); it fits only with the default -M 128"
        ),
        other => other.to_string(),
    }
}

fn parse_custom_tlvs(a: &SignArgs, opts: &mut SignOptions) -> anyhow::Result<()> {
    let inline = a.custom_tlv.chunks(2).map(|c| (c, false));
    let files = a.custom_tlv_file.chunks(2).map(|c| (c, true));
    for (pair, is_file) in inline.chain(files) {
        let [tag, value] = pair else { continue };
        let arg = if is_file {
            "--custom-tlv-file"
        } else {
            "--custom-tlv"
        };
        let code = py_int::parse(tag)
            .ok()
            .and_then(|t| u64::try_from(t).ok())
            .with_context(|| format!("{arg}: tag '{tag}' is not a valid integer"))?;
        let bytes = if is_file {
            // a name from a word that was not UTF-8 holds stand-ins
            std::fs::read(crate::fsutil::path_of_python_str(value))
                .with_context(|| format!("{arg}: cannot read {value}"))?
        } else {
            custom_tlv_value(value).with_context(|| format!("{arg}: value '{value}'"))?
        };
        opts.custom_tlvs
            .push(code, bytes)
            .map_err(|e| anyhow::Error::new(e).context(arg))?;
    }
    Ok(())
}

fn options(a: &SignArgs) -> anyhow::Result<SignOptions> {
    let version: ImageVersion = a
        .version
        .parse()
        .with_context(|| format!("-v/--version: '{}'", a.version))?;
    let header_size = parse_u32("-H/--header-size", &a.header_size)?;
    let slot_size = parse_u32("-S/--slot-size", &a.slot_size)?;
    let mut o = SignOptions::new(version, header_size, slot_size);
    if a.imgtool_notices {
        // the personality checks the slot as imgtool does
        o.slot_check = mcuboot_image::sign::SlotCheck::Imgtool;
    }
    o.pad_header = a.pad_header;
    o.trailer = Trailer::from_flags(a.pad, a.test, a.confirm);
    o.align = match a.align {
        AlignArg::A1 => 1,
        AlignArg::A2 => 2,
        AlignArg::A4 => 4,
        AlignArg::A8 => 8,
        AlignArg::A16 => 16,
        AlignArg::A32 => 32,
    };
    o.max_align = a.max_align.map(|m| match m {
        MaxAlignArg::A8 => 8,
        MaxAlignArg::A16 => 16,
        MaxAlignArg::A32 => 32,
    });
    // click's `int`; 0 is accepted like imgtool does.
    o.max_sectors = a
        .max_sectors
        .as_deref()
        .map(|m| parse_u32("-M/--max-sectors", m))
        .transpose()?;
    o.overwrite_only = a.overwrite_only;
    let address = |flag: &str, v: &Option<String>| v.as_deref().map(|v| parse_u32(flag, v));
    o.load_address = LoadAddress::from_flags(
        address("-L/--load-addr", &a.load_addr).transpose()?,
        address("-F/--rom-fixed", &a.rom_fixed).transpose()?,
    )
    .map_err(|e| option_error(e, a))?;
    o.erased_val = match a.erased_val {
        Some(ErasedArg::Zero) => 0,
        Some(ErasedArg::Ff) | None => 0xff,
    };
    o.security_counter = match &a.security_counter {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("auto") => Some(SecurityCounter::Auto),
        Some(s) => Some(SecurityCounter::Value(parse_u32(
            "-s/--security-counter",
            s,
        )?)),
    };
    if let Some(text) = &a.dependencies {
        o.dependencies = parse_dependencies(text)
            .map_err(|e| anyhow::Error::new(e).context(format!("-d/--dependencies: '{text}'")))?;
    }
    o.boot_record = a.boot_record.clone();
    parse_custom_tlvs(a, &mut o)?;
    o.non_bootable = a.non_bootable;
    o.public_key_format = match a.public_key_format {
        KeyFormatArg::Hash => PublicKeyFormat::Hash,
        KeyFormatArg::Full => PublicKeyFormat::Full,
    };
    let hash = match a.sha {
        ShaArg::Auto => HashChoice::Auto,
        ShaArg::Sha256 => HashChoice::Sha256,
        ShaArg::Sha384 => HashChoice::Sha384,
        ShaArg::Sha512 => HashChoice::Sha512,
    };
    o.signing = Signing::from_flags(a.pure, hash).map_err(|e| option_error(e, a))?;
    o.vector_to_sign = a.vector_to_sign.map(|v| match v {
        VectorArg::Payload => VectorToSign::Payload,
        VectorArg::Digest => VectorToSign::Digest,
    });
    o.save_enctlv = a.save_enctlv;
    (o.vid, o.cid) =
        parse_vid_cid(a.vid.as_deref(), a.cid.as_deref()).map_err(|e| option_error(e, a))?;
    o.endian = match a.endian {
        EndianArg::Little => Endian::Little,
        EndianArg::Big => Endian::Big,
    };
    Ok(o)
}

/// The `-k/--key` signer: a key file, or a token key named by a PKCS#11
/// URI. Both sign through [`ImageSigner`]; imgtool has no PKCS#11, so its
/// personality reads every `-k` as a file name.
enum KeyArgSigner {
    File(KeySigner),
    Token(TokenSigner),
}

impl KeyArgSigner {
    fn as_signer(&self) -> &dyn ImageSigner {
        match self {
            Self::File(k) => k,
            Self::Token(k) => k,
        }
    }
}

/// The `-k` key's signer. Under the imgtool personality an X25519 private
/// key loads as imgtool loads it (a key class with `sign_digest`, which
/// fails only when it signs): no signer, and `x25519` is its public key.
fn load_key_signer(
    a: &SignArgs,
    x25519: &mut Option<PublicKey>,
) -> anyhow::Result<Option<KeyArgSigner>> {
    let Some(path) = &a.key else {
        return Ok(None);
    };
    if !a.imgtool_notices && crate::cmd::token::is_uri(path.as_os_str()) {
        let key = crate::cmd::token::open("-k/--key", path.as_os_str())?;
        let uri = pkcs11_keys::redact_pin(&path.to_string_lossy());
        let signer = TokenSigner::new(key, a.pad_sig).with_context(|| format!("-k/--key {uri}"))?;
        return Ok(Some(KeyArgSigner::Token(signer)));
    }
    // an empty passphrase leaves imgtool without a key: unsigned
    let Some(file) = load_key("-k/--key", path)? else {
        return Ok(None);
    };
    match file {
        KeyFile::Private(k) if a.imgtool_notices && k.kind() == KeyKind::X25519 => {
            *x25519 = Some(k.public_key());
            Ok(None)
        }
        KeyFile::Private(k) => Ok(Some(KeyArgSigner::File(
            KeySigner::new(k, a.pad_sig)
                .with_context(|| format!("-k/--key: {}", path.display()))?,
        ))),
        _ => Err(PublicOnlyKey(path.clone()).into()),
    }
}

/// Python's `f"0x{v:x}"`: the sign after `0x`.
fn py_hex(v: i128) -> String {
    if v < 0 {
        format!("0x-{:x}", v.unsigned_abs())
    } else {
        format!("0x{v:x}")
    }
}

/// [`mcuboot_image::sign::imgtool_save`], with imgtool's words for where
/// it stops: `Err` for a refusal before anything is written, else the
/// output's bytes and the exception that stopped imgtool after it had
/// written them.
fn imgtool_save(
    opts: &SignOptions,
    layout: &ImgtoolLayout,
    image: Vec<u8>,
    enc_tlv_len: Option<usize>,
    hex_output: Option<Option<i128>>,
) -> Result<(Vec<u8>, Option<ImgtoolRefusal>), ImgtoolRefusal> {
    match mcuboot_image::sign::imgtool_save(opts, layout, image, enc_tlv_len, hex_output) {
        Ok(saved) => {
            // what intelhex wrote before `array('B')` refused the byte
            let stopped = saved.stopped.map(|overflow| {
                ImgtoolRefusal::Uncaught(
                    match overflow {
                        UpperAddressOverflow::BelowZero => {
                            "OverflowError: unsigned byte integer is less than minimum"
                        }
                        _ => "OverflowError: unsigned byte integer is greater than maximum",
                    }
                    .to_owned(),
                )
            });
            Ok((saved.bytes, stopped))
        }
        Err(SaveRefusal::ExceedsSlot {
            image,
            trailer,
            slot,
        }) => Err(ImgtoolRefusal::Usage(format!(
            "Image size (0x{image:x}) + trailer ({}) exceeds requested size {}",
            py_hex(trailer),
            py_hex(slot)
        ))),
        Err(SaveRefusal::NoHexAddress) => Err(ImgtoolRefusal::Usage(
            "No address exists in input file neither was it provided by user".to_owned(),
        )),
        Err(SaveRefusal::ImageOkBeforeStart) => Err(ImgtoolRefusal::Uncaught(
            "IndexError: bytearray index out of range".to_owned(),
        )),
        Err(SaveRefusal::PaddingPastIndex) => Err(ImgtoolRefusal::Uncaught(
            "OverflowError: cannot fit 'int' into an index-sized integer".to_owned(),
        )),
        Err(SaveRefusal::PaddingOutOfMemory) => {
            Err(ImgtoolRefusal::Uncaught("MemoryError".to_owned()))
        }
    }
}

/// What `image.py` `Image.create` refuses, found by the `imgtool`
/// personality in the arguments, around the one refusal only the build
/// can find: a protected TLV area too long for the header's 16-bit field
/// (`add_header` packs the load address and the header size before it,
/// the image size and the version after it, and the protected TLVs come
/// after the header).
#[derive(Debug, Clone, Default)]
pub struct CreateRefusals {
    /// Before the protected area's size is packed.
    pub(super) before_protected_size: Option<ImgtoolRefusal>,
    /// After it.
    pub(super) after_protected_size: Option<ImgtoolRefusal>,
    /// imgtool's protected area less the one the library builds from the
    /// arguments the personality left it (values it took out because
    /// they cannot be packed, and which imgtool still counts).
    pub(super) protected_size_left_out: i64,
}

/// A refusal of imgtool's that the `imgtool` personality finds in the
/// arguments and `sign` reports where imgtool meets it
/// ([`SignArgs::imgtool_after_keys`], [`SignArgs::imgtool_in_create`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImgtoolRefusal {
    /// A `click.UsageError`: its message.
    #[error("{0}")]
    Usage(String),
    /// An exception imgtool does not catch: its traceback's last line.
    #[error("{0}")]
    Uncaught(String),
    /// The end of input at a prompt, which click reports as `Aborted!`.
    #[error("the input ended at a prompt")]
    Aborted,
}

/// `-k/--key` names a public key: signing needs the private key. Typed so
/// that the imgtool personality can report it as imgtool's usage error.
#[derive(Debug, thiserror::Error)]
#[error("-k/--key: {} holds a public key only; signing requires the private key", .0.display())]
pub struct PublicOnlyKey(std::path::PathBuf);

/// `--fix-sig` and its key, as loaded.
enum FixedSignature {
    /// No `--fix-sig`.
    Absent,
    /// The signature and its key.
    Keyed(Box<FixedSigner>),
    /// Under the imgtool personality, a key whose passphrase was empty:
    /// imgtool goes on with no `pub_key` and fails where it adds the
    /// signature.
    Keyless,
}

fn load_fixed_signer(a: &SignArgs) -> anyhow::Result<FixedSignature> {
    let Some(sig_path) = &a.fix_sig else {
        return Ok(FixedSignature::Absent);
    };
    // imgtool/main.py load_signature: open() and base64.b64decode() of
    // the bytes, lenient (stray characters skipped, complete padding ends
    // the data), neither exception caught.
    let text = match std::fs::read(sig_path) {
        Ok(text) => text,
        Err(e) if a.imgtool_notices => {
            return Err(ImgtoolRefusal::Uncaught(
                crate::fsutil::OpenFailure::of_io(&e, sig_path).exception(),
            )
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("--fix-sig: cannot read {}", sig_path.display())));
        }
    };
    let signature = match py_base64::decode(&text, py_base64::Alphabet::Standard) {
        Ok(signature) => signature,
        Err(e) if a.imgtool_notices => {
            return Err(ImgtoolRefusal::Uncaught(format!("{}: {e}", e.exception())).into());
        }
        Err(e) => bail!(
            "--fix-sig: {}: expected base64 text: {e}",
            sig_path.display()
        ),
    };
    let Some(pub_path) = &a.fix_sig_pubkey else {
        if a.imgtool_notices {
            return Err(ImgtoolRefusal::Usage(
                "public key of the fixed signature is not specified".to_owned(),
            )
            .into());
        }
        bail!("--fix-sig-pubkey: required with --fix-sig (the public key of the fixed signature)");
    };
    let Some(file) = load_key("--fix-sig-pubkey", pub_path)? else {
        return Ok(FixedSignature::Keyless);
    };
    let public_only = matches!(file, KeyFile::Public(_));
    let public = file.public_key();
    // imgtool loads an X25519 key here too, and refuses it in image.py
    // (see `imgtool_fixed_key_hash`)
    if public.signature_kind().is_none() && !a.imgtool_notices {
        bail!("--fix-sig-pubkey: an x25519 key cannot verify signatures");
    }
    Ok(FixedSignature::Keyed(Box::new(FixedSigner {
        public,
        public_only,
        signature,
    })))
}

/// imgtool's usage error for a signing key and an encryption key that do
/// not pair (imgtool/main.py `sign`).
pub(super) const KEYS_DO_NOT_PAIR: &str = "Signing and encryption must use the same type of key";

/// The `-E` encryption. Under the personality, image.py's refusal of
/// HMAC-SHA512 for a key other than X25519 comes only where it encrypts;
/// until then the key is used as with HMAC-SHA256 (header flags, the
/// plaintext build that decides compression, an exported digest).
struct EncryptionArg {
    encryption: Option<Encryption>,
    refused_when_encrypting: Option<ImgtoolRefusal>,
}

/// The `-E` key's recipient and the encryption settings; `signing` is the
/// kind of the `-k` key, which the imgtool personality pairs it with.
fn load_encryption(a: &SignArgs, signing: Option<KeyKind>) -> anyhow::Result<EncryptionArg> {
    // imgtool ignores --clear without -E; so do we.
    let Some(path) = &a.encrypt else {
        return Ok(EncryptionArg {
            encryption: None,
            refused_when_encrypting: None,
        });
    };
    let key_len = match a.encrypt_keylen {
        KeyLenArg::Aes128 => AesKeyLen::Aes128,
        KeyLenArg::Aes256 => AesKeyLen::Aes256,
    };
    let hmac = match a.hmac_sha {
        HmacArg::Auto | HmacArg::Sha256 => HmacSha::Sha256,
        HmacArg::Sha512 => HmacSha::Sha512,
    };
    let mut refused_when_encrypting = None;
    let encryption = if a.imgtool_notices {
        // imgtool/main.py sign: `-E` goes through `keys.load` as `-k`
        // does (no AES key-wrap file, a password prompt), then must pair
        // with the signing key; image.py then encrypts as that key allows.
        // an empty passphrase leaves imgtool without one: not encrypted
        let Some(file) = load_key("-E/--encrypt", path)? else {
            return Ok(EncryptionArg {
                encryption: None,
                refused_when_encrypting: None,
            });
        };
        if let Some(signing) = signing {
            if !mcuboot_image::keys::imgtool_keys_pair(signing, file.kind()) {
                return Err(ImgtoolRefusal::Usage(KEYS_DO_NOT_PAIR.to_owned()).into());
            }
        }
        let hmac = if mcuboot_image::sign::imgtool_refuses_hmac(file.kind(), hmac) {
            refused_when_encrypting = Some(ImgtoolRefusal::Usage(
                "Currently only ECIES-X25519 supports HMAC-SHA512".to_owned(),
            ));
            HmacSha::Sha256
        } else {
            hmac
        };
        Encryption::for_imgtool_key(file, key_len, hmac, a.clear)
    } else {
        let contents = std::fs::read(path)
            .with_context(|| format!("-E/--encrypt: cannot read {}", path.display()))?;
        super::util::refuse_as_cryptography("-E/--encrypt", path, &contents)?;
        let recipient = Recipient::from_file_contents(&contents)
            .with_context(|| format!("-E/--encrypt: {}", path.display()))?;
        Encryption::new(&recipient, key_len, hmac, a.clear)
    };
    match encryption {
        Ok(enc) => Ok(EncryptionArg {
            encryption: Some(enc),
            refused_when_encrypting,
        }),
        Err(e @ EncError::HmacSha512Unsupported(_)) => {
            Err(anyhow::Error::new(e).context("--hmac-sha 512"))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("-E/--encrypt: {}", path.display()))),
    }
}

pub fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    let mut opts = options(&a)?;
    let mut x25519_public = None;
    let key_signer = load_key_signer(&a, &mut x25519_public)?;
    let x25519_key = x25519_public.is_some();
    let mut encryption = None;
    let mut hmac_refusal = None;
    if a.imgtool_notices {
        // imgtool/main.py sign: the encryption key loads right after the
        // signing key, then come the pairing check and the refusals the
        // personality deferred, before the fixed signature is read.
        let signing = key_signer
            .as_ref()
            .map(|k| k.as_signer().public_key().kind())
            .or(x25519_key.then_some(KeyKind::X25519));
        let loaded = load_encryption(&a, signing)?;
        encryption = loaded.encryption;
        // image.py create refuses the HMAC only when it encrypts: after
        // the signature and its line, never when it exports a vector
        if a.vector_to_sign.is_none() {
            hmac_refusal = loaded.refused_when_encrypting;
        }
        if let Some(refusal) = &a.imgtool_after_keys {
            return Err(refusal.clone().into());
        }
    }
    let (fixed, fixed_keyless) = match load_fixed_signer(&a)? {
        FixedSignature::Absent => (None, false),
        FixedSignature::Keyed(f) => (Some(*f), false),
        FixedSignature::Keyless => (None, true),
    };
    if let Some(refusal) = &a.imgtool_after_fixed_key {
        return Err(refusal.clone().into());
    }
    // image.py takes the fixed signature's key only when no `-k` was
    // given, and an X25519 `-k` is one, though it cannot sign.
    let notice_fixed = fixed.as_ref().filter(|_| !x25519_key);
    // Under the personality an X25519 fixed signature key loads, as in
    // imgtool, and fails only where it would add the signature.
    let fixed_x25519 = notice_fixed.filter(|f| f.public.signature_kind().is_none());
    let signer: Option<&dyn ImageSigner> = match (&key_signer, &fixed) {
        // imgtool/image.py create refuses the pair only where it would
        // sign (below); a digest or payload export takes the key
        (Some(k), Some(_)) if a.imgtool_notices => Some(k.as_signer()),
        (Some(_), Some(_)) => bail!("-k/--key and --fix-sig cannot be used together"),
        (Some(k), None) => Some(k.as_signer()),
        (None, Some(_)) if x25519_key || fixed_x25519.is_some() => None,
        (None, Some(f)) => Some(f),
        (None, None) => None,
    };
    // A key that cannot sign still names the boot record's signer
    // (image.py create hashes `key` or `pub_key` alike).
    let unsigning = x25519_public.as_ref().or(fixed_x25519.map(|f| &f.public));
    if let Some(public) = unsigning {
        opts.boot_record_signer = Some(public.embedded_der()?);
    }
    // imgtool writes the image, then fails on the missing signature
    // (save_signature below); espboot refuses before writing anything.
    if a.sig_out.is_some() && !a.imgtool_notices {
        if signer.is_none() {
            bail!("--sig-out: needs -k/--key or --fix-sig (there is no signature to write)");
        }
        if a.vector_to_sign.is_some() {
            bail!("--sig-out: an exported --vector-to-sign is not signed (there is no signature to write)");
        }
    }
    if !a.imgtool_notices {
        encryption = load_encryption(&a, None)?.encryption;
    }
    let format = if is_hex(&a.outfile) {
        OutputFormat::IntelHex {
            address: a
                .hex_addr
                .as_deref()
                .map(|x| parse_u32("-x/--hex-addr", x))
                .transpose()?,
        }
    } else {
        OutputFormat::Binary
    };

    let mut file;
    let input = if is_hex(&a.infile) {
        let (data, address) = read_image("INFILE", &a.infile)?;
        Input::Bytes { data, address }
    } else {
        let cannot_read = || format!("INFILE: cannot read {}", a.infile.display());
        file = std::fs::File::open(&a.infile).with_context(cannot_read)?;
        let meta = file.metadata().with_context(cannot_read)?;
        // The header records the payload size before the payload, so only
        // a file whose size is known up front streams. Pipes, /dev/stdin
        // and procfs files (size 0 though they have content) are read
        // whole: trusting their size signed an empty payload.
        if meta.is_file() && meta.len() > 0 {
            Input::Reader {
                reader: &mut file,
                len: meta.len(),
            }
        } else {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut data).with_context(cannot_read)?;
            Input::Bytes {
                data,
                address: None,
            }
        }
    };
    if a.imgtool_notices {
        // image.py create settles the hash first (refusing one the key
        // does not allow), from `-k` or else the fixed signature's key.
        let hash = if let Some(key) = &key_signer {
            mcuboot_image::sign::select_hash(Some(key.as_signer()), opts.signing)
                .map_err(|e| sign_error(e, &a))?
        } else if x25519_key {
            x25519_hash(opts.signing)?;
            mcuboot_image::sign::select_hash(None, opts.signing)?
        } else if let Some(f) = &fixed {
            imgtool_fixed_key_hash(f, opts.signing).map_err(|e| match e {
                FixedKeyHash::Refused(refusal) => refusal.into(),
                FixedKeyHash::Sign(e) => sign_error(e, &a),
            })?
        } else {
            mcuboot_image::sign::select_hash(None, opts.signing)?
        };
        if let Some(line) = imgtool_fixed_key_notice(key_signer.is_some(), notice_fixed) {
            outln!("{line}");
        }
        imgtool_create_refusals(&a, &opts, hash)?;
        // An X25519 `-k` is a key too, though it cannot sign.
        let has_key = key_signer.is_some() || x25519_key;
        let has_fixed = fixed.is_some() || fixed_keyless;
        if has_key && has_fixed && a.vector_to_sign.is_none() {
            return Err(ImgtoolRefusal::Usage(
                "Can not sign using key and provide fixed-signature at the same time".to_owned(),
            )
            .into());
        }
        if x25519_key && a.vector_to_sign.is_none() && fixed.is_none() {
            // image.py create: the key has no `sign`, so it is asked to
            // sign the digest, which the X25519 key object cannot do
            outln!("image.py: sign the digest");
            return Err(ImgtoolRefusal::Uncaught(X25519_CANNOT_SIGN.to_owned()).into());
        }
        if fixed_keyless && !has_key && a.vector_to_sign.is_none() {
            // image.py create: `pub` was never set, or `pub_key` is None
            let line = match opts.public_key_format {
                PublicKeyFormat::Full => {
                    "UnboundLocalError: cannot access local variable 'pub' where it is not \
                     associated with a value"
                }
                _ => "AttributeError: 'NoneType' object has no attribute 'sig_tlv'",
            };
            return Err(ImgtoolRefusal::Uncaught(line.to_owned()).into());
        }
        if fixed_x25519.is_some() && a.vector_to_sign.is_none() {
            // image.py create adds `pub_key.sig_tlv()`, "X25519", which
            // TLV_VALUES does not have
            return Err(ImgtoolRefusal::Uncaught("KeyError: 'X25519'".to_owned()).into());
        }
        if let Some(line) = imgtool_notice(&a, key_signer.as_ref().map(KeyArgSigner::as_signer)) {
            outln!("{line}");
        }
        // With compression, image.py first builds without encrypting.
        if a.compression == CompressionArg::Disabled {
            if let Some(refusal) = hmac_refusal.take() {
                return Err(refusal.into());
            }
        }
    }
    // A temporary file renamed into place (never half-written), without
    // the fsync of `write_atomic`: the signed image is a derived file that
    // can be rebuilt, and fsyncing 16 MiB costs about as much as signing it
    // (scripts/bench-image).
    let (mut out, unwritable) = match crate::fsutil::AtomicFile::create(&a.outfile, false) {
        Ok(out) => (out, None),
        // imgtool opens OUTFILE only when it saves, after the builds and
        // their lines and refusals: build into a scratch file never kept,
        // and report the error there
        Err(e) if a.imgtool_notices => (
            crate::fsutil::AtomicFile::create(&std::env::temp_dir().join("espboot-scratch"), false)
                .context("OUTFILE")?,
            Some(e),
        ),
        Err(e) => return Err(anyhow::Error::new(e).context("OUTFILE")),
    };
    let commit = |out: crate::fsutil::AtomicFile| match unwritable {
        Some(e) => Err(anyhow::Error::new(e)),
        None => out.commit().context("OUTFILE"),
    };
    let compression = match a.compression {
        CompressionArg::Disabled => None,
        CompressionArg::Lzma2 => Some(Compression::Lzma2),
        CompressionArg::Lzma2armthumb => Some(Compression::Lzma2ArmThumb),
    };
    if let Some(kind) = compression {
        // imgtool finds that a .hex output has no address only when it
        // saves, after both builds and their lines: build into nothing,
        // print them, then refuse.
        let address = match &input {
            Input::Bytes { address, .. } => *address,
            Input::Reader { .. } => None,
        };
        let no_address =
            matches!(format, OutputFormat::IntelHex { address: None }) && address.is_none();
        let (signed, report) = if no_address {
            mcuboot_image::sign::sign_compressed(
                &opts,
                signer,
                encryption.as_ref(),
                input,
                kind,
                &mut std::io::sink(),
                OutputFormat::Binary,
            )
        } else {
            mcuboot_image::sign::sign_compressed(
                &opts,
                signer,
                encryption.as_ref(),
                input,
                kind,
                &mut out,
                format,
            )
        }
        .map_err(|e| match e {
            SignError::Compressed { report, error } if a.imgtool_notices => {
                // main.py prints the sizes, then the second create fails
                // where it settles its protected area
                outln!("compressed image size: {} bytes", report.compressed);
                outln!("original image size: {} bytes", report.original);
                if let Some(line) = imgtool_fixed_key_notice(key_signer.is_some(), notice_fixed) {
                    outln!("{line}");
                }
                match *error {
                    SignError::Tlv(TlvWriteError::AreaTooLong {
                        area: TlvArea::Protected,
                        len,
                    }) => {
                        let big_endian = matches!(a.endian, EndianArg::Big);
                        let size = i64::try_from(len).unwrap_or(i64::MAX);
                        let line = super::personality::protected_size_error(big_endian, size);
                        ImgtoolRefusal::Uncaught(line.unwrap_or_default().to_owned()).into()
                    }
                    error => sign_error(error, &a),
                }
            }
            SignError::Compressed { error, .. } => sign_error(*error, &a),
            e => sign_error(e, &a),
        })?;
        if a.imgtool_notices {
            // main.py prints the sizes between its two builds; the second
            // build's image.py lines follow only when it is kept.
            outln!("compressed image size: {} bytes", report.compressed);
            outln!("original image size: {} bytes", report.original);
            if report.used {
                let fixed_key_line = imgtool_fixed_key_notice(key_signer.is_some(), notice_fixed);
                let lines = imgtool_notice(&a, key_signer.as_ref().map(KeyArgSigner::as_signer));
                for line in fixed_key_line.into_iter().chain(lines) {
                    outln!("{line}");
                }
                // the compressed build encrypts: nothing is saved
                if let Some(refusal) = hmac_refusal {
                    return Err(refusal.into());
                }
            }
        }
        if no_address {
            return Err(sign_error(SignError::HexAddressRequired, &a));
        }
        commit(out)?;
        save_signature(&a, signed.signature.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(layout) = &a.imgtool_layout {
        // image.py load's base_addr: the input's lowest address, moved
        // down for a prepended header unless it is 0 (below 0 too)
        let input_address = match &input {
            Input::Bytes { address, .. } => address.map(|a| match i128::from(a) {
                0 => 0,
                a if opts.pad_header => a - i128::from(opts.header_size),
                a => a,
            }),
            Input::Reader { .. } => None,
        };
        let mut image = Vec::new();
        let signed = ImageBuilder::new(&opts)
            .signer(signer)
            .encryption(encryption.as_ref())
            .build(input)
            .and_then(|built| built.write_to(&mut image, OutputFormat::Binary))
            .map_err(|e| sign_error(e, &a))?;
        let hex_output = is_hex(&a.outfile).then_some(input_address);
        let (bytes, stopped) = imgtool_save(&opts, layout, image, signed.enc_tlv_len, hex_output)?;
        std::io::Write::write_all(&mut out, &bytes).context("OUTFILE")?;
        commit(out)?;
        if let Some(refusal) = stopped {
            return Err(refusal.into());
        }
        save_signature(&a, signed.signature.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    let signed = ImageBuilder::new(&opts)
        .signer(signer)
        .encryption(encryption.as_ref())
        .build(input)
        .and_then(|built| built.write_to(&mut out, format))
        .map_err(|e| sign_error(e, &a))?;
    commit(out)?;
    // imgtool prints no such warning; its personality stays silent.
    for w in signed.warnings.iter().filter(|_| !a.imgtool_notices) {
        eprintln!("warning: {}", warning_text(w));
    }
    save_signature(&a, signed.signature.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// `--sig-out`, after the image is saved: the signature in base64
/// (imgtool/main.py `save_signature`). An image imgtool did not sign (no
/// key, or a vector exported) has none: imgtool opens the file, which is
/// left empty, and `base64.b64encode(None)` raises a TypeError.
fn save_signature(a: &SignArgs, signature: Option<&[u8]>) -> anyhow::Result<()> {
    let Some(path) = &a.sig_out else {
        return Ok(());
    };
    match signature {
        Some(sig) => write_sig(path, sig),
        None if a.imgtool_notices => {
            write_output(Some(path), b"", false).context("--sig-out")?;
            Err(ImgtoolRefusal::Uncaught(
                "TypeError: a bytes-like object is required, not 'NoneType'".to_owned(),
            )
            .into())
        }
        // refused before anything was written (see `sign`)
        None => Ok(()),
    }
}

/// The last line of imgtool's traceback when an X25519 key signs
/// (imgtool/keys/x25519.py `sign_digest` calls a method cryptography's
/// X25519 key does not have; the class name is as the Rust binding
/// reports it).
const X25519_CANNOT_SIGN: &str =
    "AttributeError: 'cryptography.hazmat.bindings._rust.openssl.x25519.' object has no attribute 'sign'";

/// imgtool's hash choice for an X25519 signing key (image.py
/// `key_and_user_sha_to_alg_and_tlv`): `ALLOWED_KEY_SHA` lists SHA-256
/// and SHA-512 for it, `ALLOWED_PURE_KEY_SHA` nothing.
fn x25519_hash(signing: Signing) -> Result<(), ImgtoolRefusal> {
    match signing {
        Signing::Pure => Err(ImgtoolRefusal::Usage(
            "Could not find allowed hash algorithms for <class 'imgtool.keys.x25519.X25519'>"
                .to_owned(),
        )),
        Signing::Prehash(HashChoice::Sha384) => Err(ImgtoolRefusal::Usage(
            // the message's second half is not an f-string in image.py
            "Key X25519 can not be used with --sha 384; allowed sha are one of {allowed}"
                .to_owned(),
        )),
        Signing::Prehash(_) => Ok(()),
    }
}

/// The line imgtool's `Image.create` prints first, once it has settled
/// the hash, when the fixed signature's key is a private RSA or ECDSA key
/// (a class with `sign`) and no `-k` was given.
fn imgtool_fixed_key_notice(has_key: bool, fixed: Option<&FixedSigner>) -> Option<&'static str> {
    let f = fixed.filter(|f| !has_key && !f.public_only)?;
    let kind = f.public.signature_kind()?;
    (!matches!(kind, mcuboot_image::SignatureKind::Ed25519)).then_some("image.py: sign the payload")
}

/// The line imgtool's `Image.create` prints on stdout once it has built
/// the image (imgtool/image.py, named after that file): RSA and ECDSA
/// keys sign the payload, Ed25519 keys the digest; `--vector-to-sign`
/// exports instead of signing.
fn imgtool_notice(a: &SignArgs, key: Option<&dyn ImageSigner>) -> Option<&'static str> {
    use mcuboot_image::SignatureKind;
    match (a.vector_to_sign, key) {
        (Some(VectorArg::Payload), _) => Some("image.py: export payload"),
        (Some(VectorArg::Digest), _) => Some("image.py: export digest"),
        (None, Some(k)) => match k.public_key().signature_kind() {
            Some(SignatureKind::Ed25519) => Some("image.py: sign the digest"),
            _ => Some("image.py: sign the payload"),
        },
        (None, _) => None,
    }
}

/// How [`imgtool_fixed_key_hash`] refuses.
enum FixedKeyHash {
    /// imgtool's words, from its tables.
    Refused(ImgtoolRefusal),
    /// The library's hash choice, as for `-k`.
    Sign(SignError),
}

/// `image.py` `key_and_user_sha_to_alg_and_tlv` for the fixed
/// signature's key (`pub_key`, when no `-k` was given): imgtool's tables
/// are keyed by the class the key file loaded as, public or private, and
/// its pure table holds the private Ed25519 class only.
fn imgtool_fixed_key_hash(f: &FixedSigner, signing: Signing) -> Result<HashAlg, FixedKeyHash> {
    let class = mcuboot_image::keys::ImgtoolKeyClass::of(f.public.kind(), f.public_only);
    let listed = class.and_then(|c| c.allowed_hashes(matches!(signing, Signing::Pure)));
    if listed.is_none() {
        let name = class.map_or("", |c| c.python_name());
        return Err(FixedKeyHash::Refused(ImgtoolRefusal::Usage(format!(
            "Could not find allowed hash algorithms for <class '{name}'>"
        ))));
    }
    if f.public.signature_kind().is_none() {
        x25519_hash(signing).map_err(FixedKeyHash::Refused)?;
        return mcuboot_image::sign::select_hash(None, signing).map_err(FixedKeyHash::Sign);
    }
    mcuboot_image::sign::select_hash(Some(f), signing).map_err(FixedKeyHash::Sign)
}

/// What `Image.create` refuses once it has settled `hash`, in its order
/// ([`CreateRefusals`]): the checks before the header's protected area
/// size, that size, the checks after it.
fn imgtool_create_refusals(
    a: &SignArgs,
    opts: &SignOptions,
    hash: HashAlg,
) -> Result<(), ImgtoolRefusal> {
    let create = &a.imgtool_in_create;
    if let Some(refusal) = &create.before_protected_size {
        return Err(refusal.clone());
    }
    let size = i64::try_from(mcuboot_image::sign::protected_area_size(opts, hash))
        .unwrap_or(i64::MAX)
        .saturating_add(create.protected_size_left_out);
    let big_endian = matches!(a.endian, EndianArg::Big);
    if let Some(line) = super::personality::protected_size_error(big_endian, size) {
        return Err(ImgtoolRefusal::Uncaught(line.to_owned()));
    }
    match &create.after_protected_size {
        Some(refusal) => Err(refusal.clone()),
        None => Ok(()),
    }
}

fn write_sig(path: &Path, sig: &[u8]) -> anyhow::Result<()> {
    let text = base64ct::Base64::encode_string(sig);
    write_output(Some(path), text.as_bytes(), false).context("--sig-out")
}
