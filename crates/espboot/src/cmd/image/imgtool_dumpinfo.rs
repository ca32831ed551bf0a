//! `imgtool dumpinfo` exactly as imgtool 2.5.0 prints it
//! (imgtool/dumpinfo.py): the human frames, `-f json` (`json.dump`,
//! indent 2, bytes as hex, the name escaped as `ensure_ascii` does) and
//! `-f yaml` (PyYAML's `yaml.dump`, through the py-yaml crate), `-o FILE`
//! defaulting to YAML. The file name is Python's: `os.path.basename` of
//! the argument, with surrogate escapes for bytes that are not UTF-8.
//! Like imgtool it reads the header and TLV area without validating
//! them; `espboot image dumpinfo` keeps its own checked report.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use mcuboot_image::{ImageFlags, TlvKind};
use py_yaml::{PyStr, Value as Val};

/// `_LINE_LENGTH`.
const LINE: usize = 60;
/// `BOOT_MAGIC` and the tail of `BOOT_MAGIC_2` (dumpinfo.py).
const BOOT_MAGIC: [u8; 16] = [
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
];
const BOOT_MAGIC_2: [u8; 14] = [
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
];

/// imgtool's name of a TLV type (`TLV_VALUES` in imgtool/image.py). It
/// differs from MCUboot's `image.h` names for the signature and key
/// exchange types, and has no ECDSA224 or ANY.
fn tlv_name(code: u16) -> String {
    let renamed = [
        (0x20, "RSA2048"),
        (0x22, "ECDSASIG"),
        (0x23, "RSA3072"),
        (0x30, "ENCRSA2048"),
        (0x31, "ENCKW"),
        (0x32, "ENCEC256"),
        (0x33, "ENCX25519"),
        (0x34, "ENCX25519_SHA512"),
    ];
    if let Some((_, name)) = renamed.iter().find(|(c, _)| *c == code) {
        return (*name).to_owned();
    }
    match TlvKind::from_code(code) {
        TlvKind::Ecdsa224 | TlvKind::Any => "UNKNOWN".to_owned(),
        kind => kind.name().unwrap_or("UNKNOWN").to_owned(),
    }
}

/// The header flags imgtool knows, as (name, bit) in `IMAGE_F` order.
fn flag_names(bits: u32) -> Vec<(String, u32)> {
    (0..32)
        .map(|b| 1u32 << b)
        .filter(|bit| bits & bit != 0)
        .filter_map(|bit| {
            let name = ImageFlags::from_bits_retain(bit).names().next()?;
            // imgtool says COMPRESSED_ARM_THUMB where image.h adds _FLT.
            Some((name.trim_end_matches("_FLT").to_owned(), bit))
        })
        .collect()
}

struct Tlv {
    kind: u16,
    len: u16,
    data: Vec<u8>,
}

/// `_read_imginfo`'s structure.
struct Info {
    /// `os.path.basename(imgfile)`, as the bytes of the name.
    filename: Vec<u8>,
    magic: u32,
    load_addr: u32,
    hdr_size: u16,
    protected_tlv_size: u16,
    img_size: u32,
    flags: u32,
    version: String,
    prot_hdr: Option<(u16, u16)>,
    prot_tlvs: Vec<Tlv>,
    hdr: (u16, u16),
    tlvs: Vec<Tlv>,
    trailer: Option<Trailer>,
}

#[derive(Default)]
struct Trailer {
    magic: Vec<u8>,
    /// image_ok, copy_done, swap_info, swap_size, key_field_len (imgtool's
    /// insertion order), present when the magic gave the alignment.
    fields: Option<(u8, u8, u8, u32, Option<usize>)>,
}

/// Where Python's `struct.unpack` or indexing stops imgtool's dumpinfo
/// with an exception (exit 1, a traceback): dumpinfo reads what the
/// header says without checking the magic or the file's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truncated {
    /// The 28-byte header (`struct.unpack('IIHHIIBBHI', b[:28])`).
    Header,
    /// A TLV info or TLV header (`struct.unpack('HH', …)`).
    TlvHeader,
    /// A trailer field before the start of the file (`b[trailer_off]`).
    Trailer,
}

impl Truncated {
    /// The last line of imgtool's traceback.
    fn exception(self) -> &'static str {
        match self {
            Self::Header => "struct.error: unpack requires a buffer of 28 bytes",
            Self::TlvHeader => "struct.error: unpack requires a buffer of 4 bytes",
            Self::Trailer => "IndexError: index out of range",
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads `count` TLVs from `off` up to `end`, as imgtool (data slices are
/// cut short at the end of the file, as Python's slicing).
fn read_tlvs(b: &[u8], mut off: usize, end: usize) -> Result<Vec<Tlv>, Truncated> {
    let mut out = Vec::new();
    while off < end {
        let (Some(kind), Some(len)) = (u16_at(b, off), u16_at(b, off + 2)) else {
            return Err(Truncated::TlvHeader);
        };
        off += 4;
        let data = b
            .get(off..(off + usize::from(len)).min(b.len()))
            .unwrap_or_default()
            .to_vec();
        out.push(Tlv { kind, len, data });
        off += usize::from(len);
    }
    Ok(out)
}

/// `b[i]` for a negative Python index `i` (from the end).
fn from_end(b: &[u8], back: usize) -> Option<u8> {
    b.len().checked_sub(back).map(|at| b[at])
}

fn read_info(path: &Path, b: &[u8]) -> Result<Info, Truncated> {
    if b.len() < 28 {
        return Err(Truncated::Header);
    }
    let h32 = |at| u32_at(b, at).unwrap_or_default();
    let h16 = |at| u16_at(b, at).unwrap_or_default();
    let hdr_size = h16(8);
    let protected_tlv_size = h16(10);
    let img_size = h32(12);
    let flags = h32(16);
    let version = format!("{}.{}.{}+{}", b[20], b[21], h16(22), h32(24));
    let mut off = usize::from(hdr_size) + img_size as usize;
    let mut prot_hdr = None;
    let mut prot_tlvs = Vec::new();
    if protected_tlv_size != 0 {
        let (Some(magic), Some(tot)) = (u16_at(b, off), u16_at(b, off + 2)) else {
            return Err(Truncated::TlvHeader);
        };
        prot_hdr = Some((magic, tot));
        let end = off + usize::from(tot);
        prot_tlvs = read_tlvs(b, off + 4, end)?;
        // imgtool continues where the last TLV ended.
        off = prot_tlvs
            .iter()
            .fold(off + 4, |o, t| o + 4 + usize::from(t.len))
            .max(off + 4);
    }
    let (Some(magic), Some(tot)) = (u16_at(b, off), u16_at(b, off + 2)) else {
        return Err(Truncated::TlvHeader);
    };
    let tlv_end = off + usize::from(tot);
    let tlvs = read_tlvs(b, off + 4, tlv_end)?;
    let trailer = if b.len() != tlv_end {
        let magic: Vec<u8> = b[b.len().saturating_sub(16)..].to_vec();
        let max_align = if magic == BOOT_MAGIC {
            Some(8usize)
        } else if magic.ends_with(&BOOT_MAGIC_2) {
            Some(usize::from(u16::from_le_bytes([magic[0], magic[1]])))
        } else {
            outln!("Warning: the trailer magic value is invalid!");
            None
        };
        let mut trailer = Trailer {
            magic,
            fields: None,
        };
        if let Some(align) = max_align {
            let mut back = 16 + align.saturating_sub(16);
            let mut next = || {
                back += align;
                from_end(b, back).ok_or(Truncated::Trailer)
            };
            let image_ok = next()?;
            let copy_done = next()?;
            let swap_info = next()?;
            // swap_size is a slice, `b[trailer_off:trailer_off + 4]`,
            // which Python cuts at the file's start instead of failing
            back += align;
            let start = b.len().saturating_sub(back);
            let end = (b.len() + 4).saturating_sub(back);
            let mut raw = [0u8; 4];
            for (dst, src) in raw.iter_mut().zip(b.get(start..end).unwrap_or_default()) {
                *dst = *src;
            }
            let encrypted = ImageFlags::from_bits_retain(flags).is_encrypted();
            // image.align_up(16, max_align) * 2
            let key_field_len = encrypted.then(|| 16usize.div_ceil(align.max(1)) * align * 2);
            trailer.fields = Some((
                image_ok,
                copy_done,
                swap_info,
                u32::from_le_bytes(raw),
                key_field_len,
            ));
        }
        Some(trailer)
    } else {
        None
    };
    Ok(Info {
        filename: basename(path),
        magic: h32(0),
        load_addr: h32(4),
        hdr_size,
        protected_tlv_size,
        img_size,
        flags,
        version,
        prot_hdr,
        prot_tlvs,
        hdr: (magic, tot),
        tlvs,
        trailer,
    })
}

/// `os.path.basename`: what follows the last `/`, so `dir/` names `""`
/// where `Path::file_name` would say `dir`.
fn basename(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt as _;
    let bytes = path.as_os_str().as_bytes();
    let start = bytes
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |at| at + 1);
    bytes[start..].to_vec()
}

fn row(text: &str) -> String {
    let text = format!("#### {text} ");
    let fill = LINE.saturating_sub(text.len());
    format!("{text}{}", "#".repeat(fill))
}

fn tlv_records(tlvs: &[Tlv]) -> String {
    let indent = " ".repeat(LINE / 8);
    let mut lines = Vec::new();
    for t in tlvs {
        lines.push(format!("{indent} {}", "-".repeat(45)));
        lines.push(format!(
            "{indent} type: {} ({:#x})",
            tlv_name(t.kind),
            t.kind
        ));
        lines.push(format!("{indent} len:  {:#x}", t.len));
        let mut line = format!("{indent} data: ");
        for (j, byte) in t.data.iter().enumerate() {
            let _ = write!(line, "{byte:#04x} ");
            if (j + 1) % 8 == 0 && j + 1 != t.data.len() {
                lines.push(std::mem::replace(&mut line, " ".repeat(LINE / 8 + 7)));
            }
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn status(v: u8) -> String {
    match v {
        1 => "SET (0x1)".to_owned(),
        2 => "BAD (0x2)".to_owned(),
        3 => "UNSET (0x3)".to_owned(),
        4 => "ANY (0x4)".to_owned(),
        _ => format!("INVALID ({v:#x})"),
    }
}

/// The first line of the human format, up to the file name.
const HUMAN_TITLE: &str = "Printing content of signed image: ";

/// The human format after its title line.
fn human(i: &Info) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", row("Image header (offset: 0x0)"));
    let flags = if i.flags == 0 {
        "0x0".to_owned()
    } else {
        flag_names(i.flags)
            .iter()
            .map(|(name, bit)| format!("{name} ({bit:#x})"))
            .collect::<Vec<_>>()
            .join(&format!("\n{}", " ".repeat(20)))
    };
    for (key, value) in [
        ("magic", format!("{:#x}", i.magic)),
        ("load_addr", format!("{:#x}", i.load_addr)),
        ("hdr_size", format!("{:#x}", i.hdr_size)),
        ("protected_tlv_size", format!("{:#x}", i.protected_tlv_size)),
        ("img_size", format!("{:#x}", i.img_size)),
        ("flags", flags),
        ("version", i.version.clone()),
    ] {
        let _ = writeln!(s, "{key}:{}{value}", " ".repeat(19 - key.len()));
    }
    let _ = writeln!(s, "{}", "#".repeat(LINE));
    let mut off = usize::from(i.hdr_size);
    let content = format!("FW image (size: {:#x} Bytes)", i.img_size);
    let _ = writeln!(s, "{}", row(&format!("Payload (offset: {off:#x})")));
    let _ = writeln!(s, "|{}|", " ".repeat(LINE - 2));
    let pre = format!("|{}", " ".repeat((LINE - content.len()) / 2 - 1));
    let post = " ".repeat(LINE - pre.len() - content.len() - 1);
    let _ = writeln!(s, "{pre}{content}{post}|");
    let _ = writeln!(s, "|{}|", " ".repeat(LINE - 2));
    let _ = writeln!(s, "{}", "#".repeat(LINE));
    off += i.img_size as usize;
    if let Some((magic, tot)) = i.prot_hdr {
        let _ = writeln!(
            s,
            "{}",
            row(&format!("Protected TLV area (offset: {off:#x})"))
        );
        let _ = writeln!(s, "magic:     {magic:#x}");
        let _ = writeln!(s, "area size: {tot:#x}");
        let _ = writeln!(s, "{}", tlv_records(&i.prot_tlvs));
        let _ = writeln!(s, "{}", "#".repeat(LINE));
    }
    off += usize::from(i.protected_tlv_size);
    let _ = writeln!(s, "{}", row(&format!("TLV area (offset: {off:#x})")));
    let _ = writeln!(s, "magic:     {:#x}", i.hdr.0);
    let _ = writeln!(s, "area size: {:#x}", i.hdr.1);
    let _ = writeln!(s, "{}", tlv_records(&i.tlvs));
    let _ = writeln!(s, "{}", "#".repeat(LINE));
    if let Some(t) = &i.trailer {
        let _ = writeln!(s, "{}", row("Image trailer (offset: unknown)"));
        let notice = "(Note: some fields may not be used, depending on the update strategy)\n";
        let chunks: Vec<&str> = notice
            .as_bytes()
            .chunks(LINE)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        let _ = writeln!(s, "{}", chunks.join("\n"));
        let _ = writeln!(s, "swap status: (len: unknown)");
        let enc = match t.fields.and_then(|f| f.4) {
            Some(len) => format!("(len: {len:#x}, if BOOT_SWAP_SAVE_ENCTLV is unset)"),
            None => "Image not encrypted".to_owned(),
        };
        let _ = writeln!(s, "enc. keys:   {enc}");
        if let Some((image_ok, copy_done, swap_info, swap_size, _)) = t.fields {
            let size = if swap_size == u32::MAX {
                "unknown".to_owned()
            } else {
                format!("{swap_size:#x} octal: {swap_size}")
            };
            let _ = writeln!(s, "swap size:   {size}");
            let _ = writeln!(s, "swap_info:   {}", status(swap_info));
            let _ = writeln!(s, "copy_done:   {}", status(copy_done));
            let _ = writeln!(s, "image_ok:    {}", status(image_ok));
        }
        let mut magic = String::new();
        for (n, byte) in t.magic.iter().enumerate() {
            let _ = write!(magic, "{byte:#04x} ");
            if n == 7 {
                magic.push('\n');
                magic.push_str(&" ".repeat(13));
            }
        }
        let _ = writeln!(s, "boot magic:  {magic}");
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "{}", row("End of Image "));
    s
}

/// A dict of imgtool's, in its insertion order.
fn map(entries: Vec<(&str, Val)>) -> Val {
    Val::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn int(n: impl Into<i128>) -> Val {
    Val::Int(n.into())
}

fn tlv_val(t: &Tlv) -> Val {
    map(vec![
        ("type", int(t.kind)),
        ("type_name", Val::Str(tlv_name(t.kind).as_str().into())),
        ("len", int(t.len)),
        ("data", Val::Binary(t.data.clone())),
    ])
}

fn to_val(i: &Info) -> Val {
    let hdr = |h: Option<(u16, u16)>| {
        map(h.map_or_else(Vec::new, |(m, t)| {
            vec![("magic", int(m)), ("tlv_tot", int(t))]
        }))
    };
    let mut trailer = Vec::new();
    if let Some(t) = &i.trailer {
        trailer.push(("magic", Val::Binary(t.magic.clone())));
        if let Some((ok, done, info, size, key_len)) = t.fields {
            trailer.push(("image_ok", int(ok)));
            trailer.push(("copy_done", int(done)));
            trailer.push(("swap_info", int(info)));
            trailer.push(("swap_size", int(size)));
            if let Some(len) = key_len {
                trailer.push(("key_field_len", int(len as u64)));
            }
        }
    }
    map(vec![
        ("filename", Val::Str(PyStr::fsdecode(&i.filename))),
        (
            "header",
            map(vec![
                ("magic", int(i.magic)),
                ("load_addr", int(i.load_addr)),
                ("hdr_size", int(i.hdr_size)),
                ("protected_tlv_size", int(i.protected_tlv_size)),
                ("img_size", int(i.img_size)),
                ("flags", int(i.flags)),
                ("version", Val::Str(i.version.as_str().into())),
            ]),
        ),
        (
            "tlv_area",
            map(vec![
                ("tlv_hdr_prot", hdr(i.prot_hdr)),
                (
                    "tlvs_prot",
                    Val::List(i.prot_tlvs.iter().map(tlv_val).collect()),
                ),
                ("tlv_hdr", hdr(Some(i.hdr))),
                ("tlvs", Val::List(i.tlvs.iter().map(tlv_val).collect())),
            ]),
        ),
        ("trailer", map(trailer)),
    ])
}

/// `json.dump(…, indent=2)`.
fn json(v: &Val, level: usize, out: &mut String) {
    let pad = |l: usize| "  ".repeat(l);
    match v {
        Val::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Val::Str(s) => out.push_str(&py_json::encode_str(s)),
        Val::Binary(b) => {
            let _ = write!(out, "\"{}\"", hex::encode(b));
        }
        Val::Map(m) if m.is_empty() => out.push_str("{}"),
        Val::List(l) if l.is_empty() => out.push_str("[]"),
        Val::Map(m) => {
            out.push_str("{\n");
            for (n, (k, v)) in m.iter().enumerate() {
                let _ = write!(out, "{}\"{k}\": ", pad(level + 1));
                json(v, level + 1, out);
                out.push_str(if n + 1 < m.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}}}", pad(level));
        }
        Val::List(l) => {
            out.push_str("[\n");
            for (n, v) in l.iter().enumerate() {
                out.push_str(&pad(level + 1));
                json(v, level + 1, out);
                out.push_str(if n + 1 < l.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}]", pad(level));
        }
    }
}

/// Runs `imgtool dumpinfo` for the personality: `Ok(None)` when the image
/// file does not exist (imgtool's usage error).
pub(super) fn dumpinfo(
    imgfile: &Path,
    outfile: Option<&Path>,
    format: Option<&str>,
) -> anyhow::Result<Option<ExitCode>> {
    super::util::refuse_unopenable_as_imgtool(imgfile)?;
    let bytes = if imgfile
        .extension()
        .is_some_and(|e| e.to_string_lossy().to_lowercase() == "hex")
    {
        if super::util::is_missing(imgfile) {
            return Ok(None);
        }
        super::util::read_image("IMGFILE", imgfile)?.0
    } else {
        match std::fs::read(imgfile) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("{}", imgfile.display()))),
        }
    };
    let info = read_info(imgfile, &bytes)
        .map_err(|t| super::sign::ImgtoolRefusal::Uncaught(t.exception().to_owned()))?;
    let format = format.unwrap_or(if outfile.is_some() { "yaml" } else { "human" });
    // `if outfile:`: an empty name picked the format of a file, but the
    // text goes to stdout
    let outfile = outfile.filter(|p| !p.as_os_str().is_empty());
    let text = match format {
        "json" => {
            let mut s = String::new();
            json(&to_val(&info), 0, &mut s);
            if outfile.is_none() {
                // `print()` after the JSON document on stdout only.
                s.push('\n');
            }
            s.into_bytes()
        }
        "yaml" => py_yaml::dump(&to_val(&info)).into_bytes(),
        _ => {
            // print() writes its arguments one by one: the name is
            // written as its own bytes to stdout (Python's UTF-8 mode,
            // surrogateescape), but a file opened for text refuses a name
            // that is not UTF-8 after the title has been written
            let mut text = HUMAN_TITLE.as_bytes().to_vec();
            let name = PyStr::fsdecode(&info.filename);
            if let (Some(path), Some(error)) = (outfile, py_repr::utf8_encode_error(&name)) {
                crate::fsutil::write_atomic(path, &text, false)?;
                let line = format!("UnicodeEncodeError: {error}");
                return Err(super::sign::ImgtoolRefusal::Uncaught(line).into());
            }
            text.extend_from_slice(&info.filename);
            text.extend_from_slice(b" \n\n");
            text.extend_from_slice(human(&info).as_bytes());
            text
        }
    };
    match outfile {
        Some(path) => crate::fsutil::write_atomic(path, &text, false)?,
        None => super::util::print_bytes(&text)?,
    }
    Ok(Some(ExitCode::SUCCESS))
}
