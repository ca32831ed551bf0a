//! `verify` and `dumpinfo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use mcuboot_image::codec::trailer::{max_align_of_magic, TrailerLayout, MAGIC_SIZE};
use mcuboot_image::imgtool_verify::{imgtool_verify, ImgtoolVerdict};
use mcuboot_image::keys::{KeyFile, McubootKey as _};
use mcuboot_image::sign::allowed_hashes;
use mcuboot_image::{
    validate, HashAlg, ImageHeader, SignatureKind, SliceTlvs, TlvKind, ValidateError,
    ValidateOptions,
};
use serde_json::json;

use super::util::{load_key, read_image};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Public or private key (PEM) the image must be signed with.
    #[arg(short = 'k', long = "key", value_name = "filename")]
    pub(super) key: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long = "json")]
    pub(super) json: bool,
    /// The image (binary, or Intel HEX when named *.hex).
    pub(super) imgfile: PathBuf,
}

/// A verified image, and what verified it.
struct Verified {
    version: String,
    hash_alg: HashAlg,
    digest: Option<Vec<u8>>,
    pure: bool,
    signature_checked: bool,
    signature: Option<Vec<u8>>,
}

/// The `-k` key, loaded first (as imgtool does), and the image's bytes.
fn verify_inputs(a: &VerifyArgs) -> anyhow::Result<(Option<KeyFile>, Vec<u8>)> {
    // imgtool verifies without the key when its passphrase was empty
    let key = match &a.key {
        Some(path) => load_key("-k/--key", path)?,
        None => None,
    };
    let (image, _) = read_image("IMGFILE", &a.imgfile)?;
    Ok((key, image))
}

/// Checks the image; `Err` for unreadable input, `Ok(Err(…))` for an image
/// that does not verify (with espboot's own explanation).
fn check(a: &VerifyArgs) -> anyhow::Result<Result<Verified, String>> {
    let file = a.imgfile.display().to_string();
    let (key, image) = verify_inputs(a)?;
    let refuse = |message: String| Ok(Err(message));
    let hdr = match ImageHeader::parse(&image) {
        Ok(h) => h,
        Err(e) => return refuse(format!("{file}: not an MCUboot image: {e}")),
    };
    let tlvs: Vec<_> = match SliceTlvs::new(&image, &hdr).and_then(|it| it.collect()) {
        Ok(t) => t,
        Err(e) => return refuse(format!("{file}: invalid TLV area: {e}")),
    };
    let pure = tlvs
        .iter()
        .any(|(e, _)| e.kind == TlvKind::SigPure && !e.protected);
    let Some(hash_alg) = tlvs
        .iter()
        .filter(|(e, _)| !e.protected)
        .find_map(|(e, _)| HashAlg::from_tlv(e.kind))
    else {
        return refuse(format!("{file}: the image has no hash TLV"));
    };

    let mut opts = ValidateOptions::new(hash_alg).pure(pure);
    let mut key_der = Vec::new();
    if let Some(k) = &key {
        let public = k.public_key();
        let kind = public.signature_kind().with_context(|| {
            format!("-k/--key: a {} key cannot verify signatures", public.kind())
        })?;
        if !pure && !allowed_hashes(kind, matches!(k, KeyFile::Public(_))).contains(&hash_alg) {
            return refuse(format!(
                "-k/--key: a {} key does not match the image's {} hash TLV",
                public.kind(),
                hash_alg.name()
            ));
        }
        if pure && kind != SignatureKind::Ed25519 {
            return refuse(
                "-k/--key: the image has a pure signature, which only ed25519 keys make".into(),
            );
        }
        key_der = public.embedded_der()?;
        opts = opts.with_signature(kind);
    }
    let mut src = &image[..];
    let keys: Vec<&[u8]> = if key.is_some() {
        vec![&key_der]
    } else {
        Vec::new()
    };
    match validate(&mut src, &hdr, &keys, &opts) {
        Ok(v) => Ok(Ok(Verified {
            version: hdr.version.to_string(),
            hash_alg,
            digest: v.hash.map(|h| h.as_bytes().to_vec()),
            pure,
            signature_checked: opts.signature.is_some(),
            signature: tlvs
                .iter()
                .find(|(e, _)| Some(e.kind) == opts.signature.map(SignatureKind::tlv))
                .map(|(_, s)| s.to_vec()),
        })),
        Err(ValidateError::HashMismatch) => refuse(format!(
            "{file}: image hash does not match (the image is corrupted or was modified)"
        )),
        Err(ValidateError::NoMatchingKey) => {
            refuse(format!("{file}: no signature found for the given key"))
        }
        Err(ValidateError::SignatureInvalid) => {
            refuse(format!("{file}: signature verification failed"))
        }
        Err(e) => bail!("{file}: {e}"),
    }
}

/// The verified image as imgtool prints it.
fn verified_text(v: &Verified) -> String {
    let mut text = format!(
        "Image was correctly validated\nImage version: {}\n",
        v.version
    );
    if let Some(h) = &v.digest {
        text += &format!("Image digest: {}\n", hex::encode(h));
    } else if let Some(sig) = &v.signature {
        text += &format!("Image signature over image: {}\n", hex::encode(sig));
    }
    text
}

/// `espboot image verify`: the verdict, or a one-line error saying why.
pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let v = match check(&a)? {
        Ok(v) => v,
        Err(message) => bail!("{message}"),
    };
    if a.json {
        let doc = json!({
            "valid": true,
            "version": v.version,
            "hash_alg": v.hash_alg.name(),
            "digest": v.digest.as_deref().map(hex::encode),
            "pure": v.pure,
            "signature_checked": v.signature_checked,
            "signature": v.signature.as_deref().map(hex::encode),
        });
        super::util::print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        super::util::print(&verified_text(&v))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `imgtool verify`: imgtool's verdict lines on stdout (exit 1 when the
/// image does not verify), from imgtool's own walk of the image
/// ([`imgtool_verify`]), or the last line of its exception.
pub fn verify_as_imgtool(a: VerifyArgs) -> ExitCode {
    let verdict = verify_inputs(&a).map(|(key, image)| imgtool_verify(&image, key.as_ref()));
    let line = match verdict {
        Ok(ImgtoolVerdict::Ok {
            version: [major, minor, revision, build],
            digest,
            signature,
        }) => {
            // imgtool/main.py verify
            outln!("Image was correctly validated");
            outln!("Image version: {major}.{minor}.{revision}+{build}");
            match (digest, signature) {
                (Some(digest), _) if !digest.is_empty() => {
                    outln!("Image digest: {}", hex::encode(digest));
                }
                (None, Some(sig)) if !sig.is_empty() => {
                    outln!("Image signature over image: {}", hex::encode(sig));
                }
                _ => {}
            }
            return ExitCode::SUCCESS;
        }
        Ok(ImgtoolVerdict::InvalidMagic) => "Invalid image magic; is this an MCUboot image?",
        Ok(ImgtoolVerdict::InvalidTlvInfoMagic) => {
            "Invalid TLV info magic; is this an MCUboot image?"
        }
        Ok(ImgtoolVerdict::InvalidHash) => "Image has an invalid hash",
        Ok(ImgtoolVerdict::InvalidSignature) => "No signature found for the given key",
        Ok(ImgtoolVerdict::KeyMismatch) => "Key type does not match TLV record",
        Ok(ImgtoolVerdict::Exception(last_line)) => {
            eprintln!("{last_line}");
            return ExitCode::FAILURE;
        }
        Ok(other) => {
            eprintln!("Error: imgtool verify: {other:?}");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            if let Some(refusal) = err.downcast_ref::<super::sign::ImgtoolRefusal>() {
                return super::personality::refusal_exit("verify", refusal);
            }
            let exception = super::personality::unframed_key_exception(&err)
                .or_else(|| super::util::intelhex_exception(&err));
            match exception {
                Some(last_line) => eprintln!("{last_line}"),
                None => eprintln!("Error: {}", crate::one_line(&err)),
            }
            return ExitCode::FAILURE;
        }
    };
    outln!("{line}");
    ExitCode::FAILURE
}

/// `dumpinfo -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DumpFormat {
    Human,
    Yaml,
    Json,
}

impl DumpFormat {
    /// imgtool's name of the format.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Yaml => "yaml",
            Self::Json => "json",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct DumpinfoArgs {
    /// The image (binary, or Intel HEX when named *.hex).
    pub(super) imgfile: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long = "json")]
    pub(super) json: bool,
    /// Output format (`json` = --json; `yaml` prints the same JSON, which is valid YAML).
    #[arg(short = 'f', long = "format", value_enum)]
    pub(super) format: Option<DumpFormat>,
    /// Write to this file instead of stdout.
    #[arg(
        short = 'o',
        long = "outfile",
        value_name = "filename",
        allow_hyphen_values = true
    )]
    pub(super) outfile: Option<PathBuf>,
    /// Print nothing (only check that the image parses).
    #[arg(short = 's', long = "silent")]
    silent: bool,
}

/// The trailer as imgtool writes it: magic variant (→ max-align) and image_ok.
fn trailer_info(image: &[u8], image_end: usize) -> serde_json::Value {
    let magic_len = MAGIC_SIZE as usize;
    let Some(magic) = image
        .len()
        .checked_sub(magic_len)
        .filter(|start| *start >= image_end)
        .and_then(|start| image.get(start..))
        .and_then(|m| <&[u8; 16]>::try_from(m).ok())
    else {
        return json!({ "present": false });
    };
    let max_align = max_align_of_magic(magic);
    let erased = magic.iter().all(|b| *b == 0xff) || magic.iter().all(|b| *b == 0);
    let state = match (max_align, erased) {
        (Some(_), _) => "good",
        (None, true) => "unset",
        (None, false) => "bad",
    };
    let mut out = json!({
        "present": true,
        "slot_size": image.len(),
        "magic": hex::encode(magic),
        "magic_state": state,
    });
    if let Some(a) = max_align.filter(|a| matches!(a, 8 | 16 | 32)) {
        let from_end = TrailerLayout::new(a, 1, 0).image_ok_from_end() as usize;
        let off = image.len().checked_sub(from_end);
        if let Some((off, b)) = off.and_then(|o| image.get(o).map(|b| (o, b))) {
            out["max_align"] = json!(a);
            out["image_ok_offset"] = json!(off);
            out["image_ok"] = json!(match b {
                0x01 => "set",
                0xff | 0x00 => "unset",
                _ => "bad",
            });
        }
    }
    out
}

pub fn dumpinfo(a: DumpinfoArgs) -> anyhow::Result<ExitCode> {
    let file = a.imgfile.display().to_string();
    let (image, base) = read_image("IMGFILE", &a.imgfile)?;
    let hdr =
        ImageHeader::parse(&image).with_context(|| format!("{file}: not an MCUboot image"))?;
    let it = SliceTlvs::new(&image, &hdr).with_context(|| format!("{file}: invalid TLV area"))?;
    let (tlv_start, prot_end, image_end) = (
        it.bounds().start(),
        it.bounds().protected_end(),
        it.bounds().end(),
    );
    let tlvs: Vec<_> = it
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{file}: invalid TLV area"))?;
    let flags: Vec<&str> = hdr.flags.names().collect();
    let tlv_json: Vec<_> = tlvs
        .iter()
        .map(|(e, d)| {
            json!({
                "type": e.kind.code(),
                "name": e.kind.name().map_or_else(|| match e.kind { TlvKind::Vendor(_) => "vendor".to_string(), _ => "unknown".to_string() }, str::to_string),
                "protected": e.protected,
                "offset": e.offset,
                "len": e.len,
                "value": hex::encode(d),
            })
        })
        .collect();
    let info = json!({
        "file": file,
        "base_address": base,
        "header": {
            "magic": format!("{:#010x}", hdr.magic),
            "load_addr": hdr.load_addr,
            "hdr_size": hdr.hdr_size,
            "protect_tlv_size": hdr.protect_tlv_size,
            "img_size": hdr.img_size,
            "flags": hdr.flags.bits(),
            "flag_names": flags,
            "version": hdr.version.to_string(),
        },
        "tlv_area": {
            "offset": tlv_start,
            "protected_end": prot_end,
            "end": image_end,
        },
        "tlvs": tlv_json,
        "trailer": trailer_info(&image, image_end as usize),
    });
    if a.silent {
        return Ok(ExitCode::SUCCESS);
    }
    // JSON is also valid YAML, so `-f yaml` gets the same document.
    let text = if a.json || matches!(a.format, Some(DumpFormat::Json | DumpFormat::Yaml)) {
        serde_json::to_string_pretty(&info)? + "\n"
    } else {
        human(&hdr, &tlvs, &info)
    };
    super::util::write_output(a.outfile.as_deref(), text.as_bytes(), false)
        .context("-o/--outfile")?;
    Ok(ExitCode::SUCCESS)
}

fn human(
    hdr: &ImageHeader,
    tlvs: &[(mcuboot_image::TlvEntry, &[u8])],
    info: &serde_json::Value,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Image header:");
    let _ = writeln!(s, "  magic:            {:#010x}", hdr.magic);
    let _ = writeln!(s, "  load_addr:        {:#x}", hdr.load_addr);
    let _ = writeln!(s, "  hdr_size:         {:#x}", hdr.hdr_size);
    let _ = writeln!(s, "  protect_tlv_size: {:#x}", hdr.protect_tlv_size);
    let _ = writeln!(s, "  img_size:         {:#x}", hdr.img_size);
    let names: Vec<&str> = hdr.flags.names().collect();
    let _ = writeln!(
        s,
        "  flags:            {:#010x} {}",
        hdr.flags.bits(),
        names.join("|")
    );
    let _ = writeln!(s, "  version:          {}", hdr.version);
    let _ = writeln!(s, "TLVs:");
    for (e, d) in tlvs {
        let area = if e.protected {
            "protected"
        } else {
            "unprotected"
        };
        let shown: String = hex::encode(&d[..d.len().min(32)]);
        let more = if d.len() > 32 { "..." } else { "" };
        let _ = writeln!(
            s,
            "  {:<18} {:#06x} {area:<11} len {:>4}  {shown}{more}",
            e.kind.to_string(),
            e.kind.code(),
            e.len
        );
    }
    let t = &info["trailer"];
    let _ = writeln!(s, "Trailer:");
    if t["present"] == json!(true) {
        let _ = writeln!(
            s,
            "  magic:    {} ({})",
            t["magic"].as_str().unwrap_or(""),
            t["magic_state"].as_str().unwrap_or("")
        );
        if let Some(a) = t.get("max_align") {
            let _ = writeln!(s, "  max_align: {a}");
        }
        if let Some(ok) = t.get("image_ok") {
            let _ = writeln!(s, "  image_ok: {}", ok.as_str().unwrap_or(""));
        }
    } else {
        let _ = writeln!(s, "  none (the image is not padded to a slot)");
    }
    s
}
