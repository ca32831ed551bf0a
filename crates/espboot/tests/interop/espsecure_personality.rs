//! The `espsecure` personality against espsecure 5.6.0 as scripts see it:
//! one table of command lines, each run through the pinned tool (a fork of
//! one espsecure that imported itself, see `support/tool_server.rs`) and
//! through a link named `espsecure` to the espboot binary under test, in two copies
//! of the same fixture directory. Compared: exit status, stdout, stderr,
//! and the bytes of every file the rows write (files named `rand_*` hold
//! randomized output — keys, ECDSA/PSS signatures — and are instead
//! cross-verified: ours by espsecure, espsecure's by ours).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::support::secure::pattern;
use crate::support::tool_server::{Request, ToolServer};
use esp_image::esp_image::{EspImageBuilder, Segment};
use esp_image::Chip;

/// `--verbose` output with the values of lines that print random data
/// replaced by `<random>`.
/// The device nonce and the chip_info derived from it are random only
/// with `--mac` (`with_mac`); a `--chip-info` file fixes them.
fn normalize_random_lines(text: &str, with_mac: bool) -> String {
    let random: &[&str] = if with_mac {
        &[
            "  - Certificate hash: ",
            "  Nonce (32 bytes): ",
            "  Chip info (32 bytes): ",
        ]
    } else {
        &["  - Certificate hash: "]
    };
    text.split_inclusive('\n')
        .map(|line| match random.iter().find(|p| line.starts_with(*p)) {
            Some(p) => format!("{p}<random>\n"),
            None => line.to_owned(),
        })
        .collect()
}

/// One result: exit status, stdout, stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `rows` in order through the pinned espsecure in `cwd` (one fork
/// of an espsecure that imported itself once per row: no row sees
/// another's state).
fn reference_runs(cwd: &Path, rows: &[Vec<String>]) -> Option<Vec<Run>> {
    let mut espsecure = ToolServer::start("espsecure", &[("COLUMNS", Some("80"))])?;
    Some(
        rows.iter()
            .map(|argv| {
                let out = espsecure.run(&Request::new(argv).cwd(cwd));
                Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8(out.stdout).unwrap(),
                    stderr: String::from_utf8(out.stderr).unwrap(),
                }
            })
            .collect(),
    )
}

/// Runs one argv through the `espsecure` link in `cwd`.
fn personality_run(link: &Path, cwd: &Path, argv: &[String]) -> Run {
    let out = std::process::Command::new(link)
        .args(argv)
        .current_dir(cwd)
        .output()
        .expect("run the espsecure link");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn is_help_row(argv: &[String]) -> bool {
    argv.is_empty() || argv.iter().any(|a| a == "-h" || a == "--help")
}

fn row(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// The fixtures both sides start from: keys made by espsecure itself,
/// deterministic data, and files signed by espsecure.
const FIXTURE_ROWS: &[&str] = &[
    "generate-signing-key -v 2 -s rsa3072 rsa.pem",
    "generate-signing-key -v 2 -s ecdsa192 ec192.pem",
    "generate-signing-key -v 2 -s ecdsa256 ec256.pem",
    "generate-signing-key -v 2 -s ecdsa384 ec384.pem",
    "generate-signing-key -v 2 -s ecdsa256 other.pem",
    "extract-public-key -v 2 -k ec256.pem ec256.pub",
    "sign-data -v 2 -k ec256.pem -o signed_ec256.bin data.bin",
    "sign-data -v 2 -k rsa.pem ec384.pem -o signed_two.bin data.bin",
    // Secure Boot V1 (ESP32): a P-256 key, its public forms, a signed file.
    "generate-signing-key -v 1 v1.pem",
    "extract-public-key -v 2 -k v1.pem v1.pub",
    "extract-public-key -v 1 -k v1.pem v1.raw",
    "sign-data -v 1 -k v1.pem -o v1_signed.bin data.bin",
];

/// Every row: espsecure's commands and options, their error paths, and
/// the deprecated spellings.
const ROWS: &[&str] = &[
    // Help: the group (also for no command) and every command's, in
    // rich-click's layout (compared by `support::rich_help_structure` and
    // `support::rich_help_layout`: the descriptions are espboot's own
    // words); -h anywhere after the command.
    "",
    "--help",
    "-h",
    "digest-secure-bootloader --help",
    "generate-signing-key --help",
    "sign-data --help",
    "verify-signature --help",
    "extract-public-key --help",
    "digest-rsa-public-key --help",
    "digest-sbv2-public-key --help",
    "signature-info-v2 --help",
    "digest-private-key --help",
    "generate-flash-encryption-key --help",
    "decrypt-flash-data --help",
    "encrypt-flash-data --help",
    "generate-sdc-certificate --help",
    "digest-sdc-public-key --help",
    "sign_data -h",
    "encrypt-flash-data -k fek32.bin -h",
    // Group-level errors, with click's suggestions.
    "bogus",
    "--foo",
    "--hepl",
    "sign-dta",
    "digest-rsa-public",
    "sign-data --keyfle x",
    "generate-sdc-certificate --enable-jtg",
    "verify-signature -v 2 -k ec256.pem --json signed_ec256.bin",
    "signature-info-v2 --json signed_ec256.bin",
    // Usage errors of commands.
    "sign-data data.bin",
    "sign-data -v 3 data.bin",
    "sign-data --bogus",
    "sign-data -v 2 -k nofile data.bin",
    "sign-data -v 2 -k ec256.pem data.bin nofile",
    "verify-signature -v 2 -k ec256.pem",
    "encrypt-flash-data -k fek32.bin -o enc.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a 0 d4k.bin",
    "digest-sbv2-public-key -k ec256.pem",
    "signature-info-v2 nofile",
    "generate-signing-key -v 2 -s ecdsa999 x.pem",
    // Signing (randomized output: cross-verified below).
    "sign-data -v 2 -k rsa.pem -o rand_rsa.bin data.bin",
    "sign_data -v 2 -k ec256.pem -o rand_ec256.bin data.bin",
    "sign-data -v 2 -k ec192.pem --skip-padding -o rand_skip.bin data.bin",
    "sign-data -v 2 -k ec256.pem rsa.pem ec384.pem -o rand_three.bin data.bin",
    "sign-data -v 2 -a -k ec384.pem -o rand_app.bin signed_ec256.bin",
    "sign-data -v 2 --append_signatures -k rsa.pem -o rand_app2.bin signed_ec256.bin",
    "sign-data -v 2 -a -k ec384.pem -o rand_app3.bin data.bin",
    "sign-data -v 2 -k ec256.pem rsa.pem ec384.pem other.pem -o x.bin data.bin",
    "sign-data -v 2 --pub-key ec256.pub -o x.bin d4k.bin",
    "sign-data -v 2 -k ec256.pem -o data.bin data.bin",
    "sign-data -v 2 -k ec256.pem -o ./data.bin data.bin",
    // Verification.
    "verify-signature -v 2 -k ec256.pem signed_ec256.bin",
    "verify-signature -v 2 -k ec256.pub signed_ec256.bin",
    "verify-signature -v 2 -k other.pem signed_ec256.bin",
    "verify_signature -v 2 -k ec256.pem signed_ec256.bin",
    "verify-signature -v 2 -k ec256.pem data.bin",
    "verify-signature -v 2 -k ec256.pem --skip-padding small.bin",
    "verify-signature -v 2 -k ec256.pem tampered.bin",
    "verify-signature -v 2 -k ec256.pem rand_ec256.bin",
    "verify-signature -v 2 -k ec192.pem --skip-padding rand_skip.bin",
    // Keys and digests (deterministic).
    "extract-public-key -v 2 -k rsa.pem rsa.pub",
    "extract_public_key -v 2 -k ec384.pem ec384.pub",
    "extract-public-key -v 2 -k ec256.pem ec256.pem",
    "digest-sbv2-public-key -k rsa.pem -o dig_rsa.bin",
    "digest-sbv2-public-key -k ec256.pub -o dig_ec256.bin",
    "digest_sbv2_public_key -k ec192.pem -o dig_ec192.bin",
    "digest-rsa-public-key -k rsa.pem -o dig_rsa2.bin",
    "digest-sbv2-public-key -k rsa.pem -o rsa.pem",
    "generate-signing-key -v 2 -s ecdsa256 ec256.pem",
    "generate-signing-key -v 2 -s ecdsa384 rand_gen.pem",
    // signature-info-v2.
    "signature-info-v2 signed_ec256.bin",
    "signature-info-v2 signed_two.bin",
    "signature_info_v2 rand_three.bin",
    "signature-info-v2 data.bin",
    "signature-info-v2 tampered.bin",
    // Flash encryption (ESP32 algorithm and XTS-AES are deterministic).
    "generate-flash-encryption-key rand_fek.bin",
    "generate-flash-encryption-key -l 512 rand_fek512.bin",
    "generate_flash_encryption_key --keylen 128 rand_fek128.bin",
    "generate-flash-encryption-key -l 100 rand_fek100.bin",
    "generate-flash-encryption-key -l 0 fek0.bin",
    "encrypt-flash-data -k fek32.bin -a 0x10000 -o enc32.bin d4k.bin",
    "encrypt-flash-data -k fek24.bin -a 0x1000 -o enc24.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a 0x10000 --flash-crypt-conf 0x3 -o enc_conf.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a 0x10000 --flash_crypt_conf 0 -o enc_conf0.bin d4k.bin",
    "encrypt-flash-data -k fek64.bin -a 0x20000 --aes-xts -o xts64.bin d4k.bin",
    "encrypt_flash_data -k fek32.bin -a 0x20000 -x -o xts32.bin d4k.bin",
    "encrypt-flash-data -k fek16.bin -a 0x20000 --aes_xts -o xts16.bin d4k.bin",
    "decrypt-flash-data -k fek32.bin -a 0x10000 -o dec32.bin enc32.bin",
    "decrypt-flash-data -k fek64.bin -a 0x20000 --aes-xts -o dec64.bin xts64.bin",
    "decrypt_flash_data -k fek16.bin -a 0x20000 -x -o dec16.bin xts16.bin",
    "encrypt-flash-data -k fek32.bin -a 0 -o d4k.bin d4k.bin",
    // Secure Boot V1: keys, signing (deterministic, RFC 6979), verification.
    "generate-signing-key -v 1 rand_v1gen.pem",
    "generate-signing-key --version 1 -s ecdsa256 rand_v1gen2.pem",
    "generate-signing-key -v 1 -s ecdsa384 x.pem",
    "generate-signing-key v1.pem",
    "sign-data -v 1 -k v1.pem -o v1_out.bin data.bin",
    "sign-data -v 1 -k v1.pem v1_inplace.bin",
    "sign-data -v 1 -k v1.pem ec256.pem -o x.bin data.bin",
    "sign-data -v 1 -k ec384.pem -o x.bin data.bin",
    "sign-data -v 1 -k ec256.pub -o x.bin data.bin",
    "sign-data -v 1 --hsm -k v1.pem -o x.bin data.bin",
    "sign-data -v 1 -k v1.pem -o v1.pem data.bin",
    "verify-signature -v 1 -k v1.pem v1_signed.bin",
    "verify-signature -v 1 -k v1.pub v1_signed.bin",
    "verify-signature -v 1 -k v1.raw v1_signed.bin",
    "verify-signature -v 1 -k v1.pem v1_out.bin",
    "verify-signature -v 1 -k ec256.pem v1_signed.bin",
    "verify-signature -v 1 -k ec384.pem v1_signed.bin",
    "verify-signature -v 1 -k rsa.pem v1_signed.bin",
    "verify-signature -v 1 -k data.bin v1_signed.bin",
    "verify-signature -v 1 -k v1.pem v1_badver.bin",
    "verify-signature -v 1 -k v1.pem v1_tampered.bin",
    "extract-public-key -v 1 -k v1.pem v1_pub.raw",
    "extract-public-key -k v1.pem v1_default.raw",
    "extract-public-key -v 1 -k ec384.pem x.raw",
    "extract-public-key -v 1 -k ec256.pub x.raw",
    // Secure Boot V1 key digest and bootloader digest.
    "digest-private-key -k v1.pem dpk.bin",
    "digest-private-key -k v1.pem -l 192 dpk192.bin",
    "digest_private_key --keyfile v1.pem --keylen 100 dpk100.bin",
    "digest-private-key -k ec384.pem x.bin",
    "digest-private-key -k v1.pem v1.pem",
    "digest-private-key -k nofile x.bin",
    "digest-private-key dpk.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o dsb32.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o dsb32cut.bin boot80.bin",
    "digest-secure-bootloader -k sbkey24.bin --iv iv.bin -o dsb24.bin boot80.bin",
    "digest_secure_bootloader -k sbkey16.bin --iv iv.bin -o dsb16.bin bootnosha.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv iv.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin -o rand_dsb.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o x.bin data.bin",
    "digest-secure-bootloader -k data.bin --iv iv.bin -o x.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o boot40.bin boot40.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv nofile -o x.bin boot40.bin",
    "digest-secure-bootloader --iv iv.bin -o x.bin boot40.bin",
    // Secure Debug Controller: the key digest (deterministic).
    "digest-sdc-public-key -k ec256.pem -o sdcd.bin",
    "digest-sdc-public-key --pub-key ec256.pub -o sdcd2.bin",
    "digest_sdc_public_key -k ec256.pem",
    "digest-sdc-public-key -k ec384.pem -o x.bin",
    "digest-sdc-public-key --pub-key ec384.pub -o x.bin",
    "digest-sdc-public-key -k rsa.pem -o x.bin",
    "digest-sdc-public-key --pub-key data.bin -o x.bin",
    "digest-sdc-public-key",
    "digest-sdc-public-key -k ec256.pem --pub-key ec256.pub",
    "digest-sdc-public-key --hsm",
    "digest-sdc-public-key -k nofile",
    "digest-sdc-public-key -k ec256.pem -o sub/dir/sdcd3.bin",
    // SDC certificates (ECDSA with a random nonce: checked below).
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin -o rand_sdc1.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --enable-jtag --enable-force-spi-boot -o rand_sdc2.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --usc usc.json --enable-download-reuse -o rand_sdc3.bin",
    "generate-sdc-certificate -k ec256.pem --pub-key ec256.pub --chip-info chipinfo.bin -o rand_sdc4.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --mac 11 --sdc-session-counter 0x3 -o rand_sdc5.bin",
    "generate-sdc-certificate -k ec256.pem --mac 00:11:22:33:44:55 --sdc-session-counter 3 -o rand_sdc6.bin",
    "generate-sdc-certificate -k ec256.pem --mac mac.bin -o rand_sdc7.bin",
    "generate-sdc-certificate -k ec256.pem --mac mac.hex --enable-download-reuse -o rand_sdc8.bin",
    "generate-sdc-certificate -k ec256.pem --mac 00-11-22-33-44-55 --sdc-session-counter 2 -o x.bin",
    "generate-sdc-certificate -k ec256.pem --mac zz:11:22:33:44:55 -o x.bin",
    "generate-sdc-certificate -k ec256.pem --mac 1122 -o x.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info data.bin -o x.bin",
    "generate-sdc-certificate -k ec384.pem --mac 001122334455 -o x.bin",
    "generate-sdc-certificate -k rsa.pem --mac 001122334455 -o x.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --usc badusc.json -o x.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin -o ec256.pem",
    "generate-sdc-certificate",
    "generate-sdc-certificate -k ec256.pem",
    "generate-sdc-certificate -k ec256.pem --hsm",
    "generate-sdc-certificate --hsm",
    "generate-sdc-certificate --hsm-config data.bin",
    "generate-sdc-certificate -k nofile --mac 001122334455",
    "generate-sdc-certificate -k ec256.pem --chip-info nofile",
    // --verbose: espsecure's debug lines (random values normalized below).
    "digest-sdc-public-key -k ec256.pem --verbose -o sdcd_v.bin",
    "digest-sdc-public-key --verbose --pub-key ec256.pub -o sdcd_v2.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --verbose -o rand_sdc_v1.bin",
    "generate-sdc-certificate -k ec256.pem --chip-info chipinfo.bin --usc usc.json --verbose -o rand_sdc_v2.bin",
    "generate-sdc-certificate -k ec256.pem --mac mac.hex --sdc-session-counter 7 --verbose -o rand_sdc_v3.bin",
    // Flash encryption keys and addresses espsecure refuses, in its words;
    // FLASH_CRYPT_CONF beyond 4 bits (only bits 0-3 count).
    "encrypt-flash-data -k fek16.bin -a 0 -o x.bin d4k.bin",
    "encrypt-flash-data -k fek24.bin -x -a 0 -o x.bin d4k.bin",
    "encrypt-flash-data -k fek20.bin -a 0 -o x.bin d4k.bin",
    "decrypt-flash-data -k fek64.bin -a 0 -o x.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a 8 -o x.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a zz -o x.bin d4k.bin",
    "encrypt-flash-data -k fek32.bin -a 0x10000 --flash-crypt-conf 0x13 -o enc_conf13.bin d4k.bin",
    // XTS-AES data whose length is not a multiple of 16: espsecure's words.
    "encrypt-flash-data -k fek32.bin -x -a 0 -o x.bin small.bin",
    "decrypt-flash-data -k fek32.bin -x -a 0 -o x.bin small.bin",
    // Keys that are no PEM key, integers that are none, a short test IV.
    "digest-sbv2-public-key -k data.bin -o x.bin",
    "verify-signature -v 2 -k data.bin signed_ec256.bin",
    "digest-private-key -k v1.pem -l abc x.bin",
    "digest-secure-bootloader -k sbkey32.bin --iv small.bin -o dsb_shortiv.bin boot40.bin",
    // Headers cryptography ignores: another name, a public key's Proc-Type.
    "digest-sbv2-public-key -k hdr_comment.pem -o dig_hdr_comment.bin",
    "digest-sbv2-public-key -k hdr_pub_proc.pem -o dig_hdr_pub_proc.bin",
    "verify-signature -v 2 -k hdr_pub_proc.pem signed_ec256.bin",
    // An RSA public key with an even modulus: cryptography loads it.
    "digest-sbv2-public-key -k num_rsa_pub_even.pem -o dig_rsa_even.bin",
];

/// Key files espsecure refuses, made with the `cryptography` package the
/// pinned espsecure loads them with: other RSA sizes, other curves,
/// Ed25519, public keys where a private one is needed, an encrypted key,
/// an empty file and a PEM cut in half.
const BAD_KEYS: &str = r#"
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
from cryptography.hazmat.primitives import serialization as s
E, F, N = s.Encoding.PEM, s.PrivateFormat, s.NoEncryption()
SPKI = s.PublicFormat.SubjectPublicKeyInfo
def w(name, data):
    open(name, "wb").write(data)
keys = {
    "rsa2048": rsa.generate_private_key(65537, 2048),
    "rsa4096": rsa.generate_private_key(65537, 4096),
    "p521": ec.generate_private_key(ec.SECP521R1()),
    "k256": ec.generate_private_key(ec.SECP256K1()),
    "ed": ed25519.Ed25519PrivateKey.generate(),
}
for name, key in keys.items():
    w(f"bad_{name}.pem", key.private_bytes(E, F.PKCS8, N))
    w(f"bad_{name}.pub", key.public_key().public_bytes(E, SPKI))
w("bad_k256.pem", keys["k256"].private_bytes(E, F.TraditionalOpenSSL, N))
w("bad_rsa4096.pem", keys["rsa4096"].private_bytes(E, F.TraditionalOpenSSL, N))
p256 = ec.generate_private_key(ec.SECP256R1())
w("bad_enc.pem", p256.private_bytes(E, F.PKCS8, s.BestAvailableEncryption(b"pw")))
pem = p256.private_bytes(E, F.PKCS8, N)
w("bad_trunc.pem", pem[: len(pem) // 2])
w("bad_empty.pem", b"")
# Broken key files in PEM framing: DER cut short, a wrong outer tag, an
# over-long length, trailing bytes, an empty body, a version too large,
# the wrong label for the DER inside, and bodies that are no base64.
import base64
def framed(label, der):
    b = base64.b64encode(der).decode()
    body = "\n".join(b[i : i + 64] for i in range(0, len(b), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()
def raw(label, body):
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()
der8 = p256.private_bytes(s.Encoding.DER, F.PKCS8, N)
sec1 = p256.private_bytes(s.Encoding.DER, F.TraditionalOpenSSL, N)
spki = p256.public_key().public_bytes(s.Encoding.DER, SPKI)
w("brk_trunc.pem", framed("PRIVATE KEY", der8[: len(der8) // 2]))
w("brk_tag.pem", framed("PRIVATE KEY", b"\x31" + der8[1:]))
w("brk_len.pem", framed("PRIVATE KEY", der8[:1] + b"\x85" + der8[2:]))
w("brk_trail.pem", framed("PRIVATE KEY", der8 + b"\x00\x00"))
w("brk_empty.pem", b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
w("brk_ver.pem", framed("PRIVATE KEY", bytes([0x30, 4, 2, 2, 1, 0])))
w("brk_label.pem", framed("PRIVATE KEY", sec1))
w("brk_b64.pem", raw("PRIVATE KEY", "MIIB!x=="))
w("brk_pad.pem", raw("PRIVATE KEY", "MII"))
w("brk_last.pem", raw("PRIVATE KEY", "MAB="))
w("brk_ec_trunc.pem", framed("EC PRIVATE KEY", sec1[:40]))
w("brk_ec_label.pem", framed("EC PRIVATE KEY", der8))
w("brk_ec_b64.pem", raw("EC PRIVATE KEY", "AAAA*"))
w("brk_pub_trunc.pem", framed("PUBLIC KEY", spki[:50]))
w("brk_pub_tag.pem", framed("PUBLIC KEY", b"\x31" + spki[1:]))
w("brk_pub_trail.pem", framed("PUBLIC KEY", spki + b"\x00"))
w("brk_pub_b64.pem", raw("PUBLIC KEY", "M"))
# RFC 1421 headers and blank lines: cryptography's PEM reader takes the
# text before the first blank line as headers, and a private key's
# Proc-Type/DEK-Info headers decide before its DER is read.
def headed(label, der, headers):
    return framed(label, der).replace(b"-----\n", f"-----\n{headers}".encode(), 1)
lines = pem.decode().split("\n")
w("hdr_blank.pem", "\n".join(lines[:2] + [""] + lines[2:]).encode())
w("hdr_noblank.pem", headed("PRIVATE KEY", der8, "Comment: made by hand\n"))
w("hdr_comment.pem", headed("PRIVATE KEY", der8, "Comment: made by hand\n\n"))
w("hdr_proc.pem", headed("PRIVATE KEY", der8, "Proc-Type: 1,MIC-ONLY\n\n"))
w("hdr_nodek.pem", headed("EC PRIVATE KEY", sec1, "Proc-Type: 4,ENCRYPTED\n\n"))
w("hdr_dek.pem", headed("EC PRIVATE KEY", sec1, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"))
w("hdr_utf8.pem", headed("PRIVATE KEY", der8, "Comment: caf\xe9\n\n").replace("\xe9".encode(), b"\xe9"))
pub_lines = framed("PUBLIC KEY", spki).decode().split("\n")
w("hdr_pub_blank.pem", "\n".join(pub_lines[:2] + [""] + pub_lines[2:]).encode())
w("hdr_pub_proc.pem", headed("PUBLIC KEY", spki, "Proc-Type: 4,ENCRYPTED\n\n"))
# Keys whose DER reads but whose numbers OpenSSL refuses: RSA parts that
# disagree (a wrong CRT coefficient, an even exponent), an RSA public
# exponent of 1, EC scalars of 0 and of the group order, a public point
# that is not the scalar's, off the curve, or at infinity, and a named
# curve OID that is no valid OID.
def tlv(tag, body):
    n = len(body)
    head = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + head + body
def integer(v):
    return tlv(2, v.to_bytes(v.bit_length() // 8 + 1, "big"))
def seq(*xs):
    return tlv(0x30, b"".join(xs))
rsa3072 = rsa.generate_private_key(65537, 3072).private_numbers()
pn = rsa3072.public_numbers
def rsa_der(e=pn.e, iqmp=rsa3072.iqmp):
    v = rsa3072
    return seq(*map(integer, [0, pn.n, e, v.d, v.p, v.q, v.dmp1, v.dmq1, iqmp]))
w("num_rsa_qi.pem", framed("RSA PRIVATE KEY", rsa_der(iqmp=rsa3072.iqmp + 1)))
w("num_rsa_e.pem", framed("RSA PRIVATE KEY", rsa_der(e=65538)))
rsa_alg = bytes.fromhex("300d06092a864886f70d0101010500")
w("num_rsa_pub_e1.pem", framed("PUBLIC KEY", seq(rsa_alg, tlv(3, b"\0" + seq(integer(pn.n), integer(1))))))
# an even modulus: OpenSSL loads the public key (espsecure digests it) and
# refuses the private key
even = pn.n - 1
w("num_rsa_pub_even.pem", framed("PUBLIC KEY", seq(rsa_alg, tlv(3, b"\0" + seq(integer(even), integer(pn.e))))))
# Ed25519 and X25519 keys whose key octets are not 32 bytes: OpenSSL's
# raw key setup fails for the private ones (cryptography's InternalError),
# cryptography says "Invalid key" for the public ones
ed_oid, x_oid = bytes.fromhex("06032b6570"), bytes.fromhex("06032b656e")
def raw_private(oid, n):
    return seq(integer(0), seq(oid), tlv(4, tlv(4, bytes(range(1, n + 1)))))
w("num_ed_short.pem", framed("PRIVATE KEY", raw_private(ed_oid, 31)))
w("num_ed_long.pem", framed("PRIVATE KEY", raw_private(ed_oid, 33)))
w("num_x_short.pem", framed("PRIVATE KEY", raw_private(x_oid, 16)))
w("num_ed_pub_short.pem", framed("PUBLIC KEY", seq(seq(ed_oid), tlv(3, b"\0" + bytes(31)))))
w("num_rsa_even.pem", framed("RSA PRIVATE KEY", seq(*map(integer, [0, even, pn.e, rsa3072.d, rsa3072.p, rsa3072.q, rsa3072.dmp1, rsa3072.dmq1, rsa3072.iqmp]))))
point = p256.public_key().public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)
scalar = p256.private_numbers().private_value.to_bytes(32, "big")
other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)
off_curve = point[:-1] + bytes([point[-1] ^ 1])
order = bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
w("num_ec_zero.pem", framed("EC PRIVATE KEY", sec1.replace(scalar, bytes(32))))
w("num_ec_order.pem", framed("PRIVATE KEY", der8.replace(scalar, order)))
w("num_ec_other.pem", framed("EC PRIVATE KEY", sec1.replace(point, other)))
w("num_pub_off.pem", framed("PUBLIC KEY", spki.replace(point, off_curve)))
ec_alg = spki[2 : 2 + 2 + spki[3]]
w("num_pub_inf.pem", framed("PUBLIC KEY", seq(ec_alg, tlv(3, b"\0\0"))))
p256_oid = bytes.fromhex("06082a8648ce3d030107")
w("num_ec_oid.pem", framed("EC PRIVATE KEY", sec1.replace(p256_oid, p256_oid[:-1] + b"\x87")))
w("num_pub_oid.pem", framed("PUBLIC KEY", spki.replace(p256_oid, p256_oid[:-1] + b"\x87")))
# a public key after a block of another label, and before one
foo = b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"
w("bad_foo_pub.pem", foo + keys["p521"].public_key().public_bytes(E, SPKI))
w("ord_pub_foo.pem", ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(E, SPKI) + foo)
"#;

/// Writes [`BAD_KEYS`] into `dir` with the pinned tools' Python (the
/// imgtool personality's tests read the same files).
pub(crate) fn write_bad_keys(dir: &Path) {
    let python = crate::support::reference_bin_dir().join("python");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(BAD_KEYS)
        .current_dir(dir)
        .output()
        .expect("start the reference Python");
    assert!(
        out.status.success(),
        "making the bad key fixtures failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Key files espsecure refuses, through every command that reads a key:
/// its message (cryptography's, for files it cannot load), what it prints
/// first, and its exit status. Rows where espsecure dies with a Python
/// exception compare the traceback's last line (see [`same_run`]).
const BAD_KEY_ROWS: &[&str] = &[
    // Not PEM, empty, cut short: cryptography's MalformedFraming; sign-data
    // counts its keys first.
    "sign-data -v 2 -k fek32.bin -o x.bin data.bin",
    "sign-data -v 2 -k bad_empty.pem -o x.bin data.bin",
    "extract-public-key -v 2 -k bad_trunc.pem x.pem",
    "digest-sdc-public-key -k fek32.bin -o x.bin",
    "generate-sdc-certificate -k bad_empty.pem --mac 001122334455 -o x.bin",
    // A public key where a private one is needed.
    "sign-data -v 2 -k ec256.pub -o x.bin data.bin",
    "extract-public-key -v 2 -k ec256.pub x.pem",
    "sign-data -v 2 -k bad_p521.pub -o x.bin data.bin",
    "digest-sdc-public-key -k ec256.pub -o x.bin",
    "generate-sdc-certificate -k ec256.pub --mac 001122334455 -o x.bin",
    // An encrypted key: espsecure never asks for the password.
    "sign-data -v 2 -k bad_enc.pem -o x.bin data.bin",
    "verify-signature -v 2 -k bad_enc.pem signed_ec256.bin",
    "digest-sdc-public-key -k bad_enc.pem -o x.bin",
    // Sizes, curves and types Secure Boot V2 refuses: private keys
    // (`_load_private_key_unified`), public keys (`_load_sbv2_pub_key`).
    "sign-data -v 2 -k bad_rsa2048.pem -o x.bin data.bin",
    "sign-data -v 2 -k bad_p521.pem -o x.bin data.bin",
    "sign-data -v 2 -k bad_ed.pem -o x.bin data.bin",
    "verify-signature -v 2 -k bad_rsa4096.pem signed_ec256.bin",
    "verify-signature -v 2 -k bad_k256.pem signed_ec256.bin",
    "verify-signature -v 2 -k bad_rsa2048.pub signed_ec256.bin",
    "verify-signature -v 2 -k bad_p521.pub signed_ec256.bin",
    "verify-signature -v 2 -k bad_ed.pub signed_ec256.bin",
    "extract-public-key -v 2 -k bad_ed.pem x.pem",
    "digest-sbv2-public-key -k bad_k256.pem -o x.bin",
    "digest-sbv2-public-key -k bad_rsa4096.pub -o x.bin",
    // Secure Debug Controller keys: P-256 only.
    "digest-sdc-public-key -k bad_p521.pem -o x.bin",
    "digest-sdc-public-key --pub-key bad_k256.pub -o x.bin",
    "generate-sdc-certificate -k bad_ed.pem --mac 001122334455 -o x.bin",
    "generate-sdc-certificate -k bad_rsa2048.pem --mac 001122334455 -o x.bin",
    // Secure Boot V1: other curves; keys that are not EC and encrypted
    // keys are uncaught Python exceptions (exit status 1).
    "sign-data -v 1 -k bad_p521.pem -o x.bin data.bin",
    "digest-private-key -k bad_k256.pem x.bin",
    "verify-signature -v 1 -k bad_p521.pub v1_signed.bin",
    "verify-signature -v 1 -k bad_k256.pem v1_signed.bin",
    "sign-data -v 1 -k bad_rsa2048.pem -o x.bin data.bin",
    "digest-private-key -k bad_ed.pem x.bin",
    "extract-public-key -v 1 -k bad_enc.pem x.raw",
    "verify-signature -v 1 -k bad_rsa2048.pub v1_signed.bin",
    "verify-signature -v 1 -k bad_ed.pub v1_signed.bin",
    // Broken DER and base64 inside PEM framing: cryptography's details.
    "sign-data -v 2 -k brk_trunc.pem -o x.bin data.bin",
    "extract-public-key -v 2 -k brk_tag.pem x.pem",
    "digest-sbv2-public-key -k brk_len.pem -o x.bin",
    "digest-sdc-public-key -k brk_trail.pem -o x.bin",
    "generate-sdc-certificate -k brk_empty.pem --mac 001122334455 -o x.bin",
    "sign-data -v 2 -k brk_ver.pem -o x.bin data.bin",
    "sign-data -v 2 -k brk_label.pem -o x.bin data.bin",
    "sign-data -v 2 -k brk_b64.pem -o x.bin data.bin",
    "verify-signature -v 2 -k brk_pad.pem signed_ec256.bin",
    "extract-public-key -v 2 -k brk_last.pem x.pem",
    "sign-data -v 2 -k brk_pub_b64.pem -o x.bin data.bin",
    "verify-signature -v 2 -k brk_pub_trunc.pem signed_ec256.bin",
    "digest-sbv2-public-key -k brk_pub_tag.pem -o x.bin",
    "verify-signature -v 2 -k brk_pub_b64.pem signed_ec256.bin",
    "sign-data -v 1 -k brk_ec_trunc.pem -o x.bin data.bin",
    "extract-public-key -v 1 -k brk_tag.pem x.raw",
    "digest-private-key -k brk_b64.pem x.bin",
    // verify-signature -v 1 does not catch cryptography's ValueError.
    "verify-signature -v 1 -k brk_ec_trunc.pem v1_signed.bin",
    "verify-signature -v 1 -k brk_ec_label.pem v1_signed.bin",
    "verify-signature -v 1 -k brk_ec_b64.pem v1_signed.bin",
    "verify-signature -v 1 -k brk_pub_trail.pem v1_signed.bin",
    "verify-signature -v 1 -k brk_pub_tag.pem v1_signed.bin",
    "verify-signature -v 1 -k brk_trunc.pem v1_signed.bin",
    // PEM headers and blank lines: cryptography's PEM reader and its
    // encryption headers (our loader reads some of these files).
    "sign-data -v 2 -k hdr_blank.pem -o x.bin data.bin",
    "extract-public-key -v 2 -k hdr_noblank.pem x.pem",
    "digest-sdc-public-key -k hdr_proc.pem -o x.bin",
    "generate-sdc-certificate -k hdr_nodek.pem --mac 001122334455 -o x.bin",
    "digest-sbv2-public-key -k hdr_utf8.pem -o x.bin",
    "sign-data -v 2 -k hdr_dek.pem -o x.bin data.bin",
    "sign-data -v 1 -k hdr_blank.pem -o x.bin data.bin",
    "digest-private-key -k hdr_proc.pem x.bin",
    "extract-public-key -v 1 -k hdr_dek.pem x.raw",
    "verify-signature -v 1 -k hdr_nodek.pem v1_signed.bin",
    "verify-signature -v 1 -k hdr_pub_blank.pem v1_signed.bin",
    "verify-signature -v 2 -k hdr_pub_blank.pem signed_ec256.bin",
    "digest-sbv2-public-key -k hdr_pub_blank.pem -o x.bin",
    // Keys whose numbers OpenSSL refuses: cryptography's words.
    "sign-data -v 2 -k num_rsa_qi.pem -o x.bin data.bin",
    "extract-public-key -v 2 -k num_rsa_e.pem x.pem",
    "verify-signature -v 2 -k num_rsa_pub_e1.pem signed_ec256.bin",
    "sign-data -v 2 -k num_ed_short.pem -o x.bin data.bin",
    "extract-public-key -v 2 -k num_ed_long.pem x.pem",
    "digest-sdc-public-key -k num_x_short.pem -o x.bin",
    "sign-data -v 1 -k num_ed_short.pem -o x.bin data.bin",
    "verify-signature -v 2 -k num_ed_pub_short.pem signed_ec256.bin",
    "verify-signature -v 1 -k num_ed_pub_short.pem v1_signed.bin",
    "digest-sbv2-public-key -k num_ed_pub_short.pem -o x.bin",
    "verify-signature -v 2 -k num_rsa_pub_even.pem signed_ec256.bin",
    "sign-data -v 2 -k num_rsa_even.pem -o x.bin data.bin",
    "verify-signature -v 2 -k num_rsa_even.pem signed_two.bin",
    "extract-public-key -v 2 -k num_rsa_even.pem x.pem",
    "digest-sbv2-public-key -k num_rsa_even.pem -o x.bin",
    "digest-sbv2-public-key -k num_pub_inf.pem -o x.bin",
    "verify-signature -v 2 -k num_pub_off.pem signed_ec256.bin",
    "digest-sdc-public-key -k num_ec_zero.pem -o x.bin",
    "generate-sdc-certificate -k num_ec_order.pem --mac 001122334455 -o x.bin",
    "sign-data -v 2 -k num_ec_other.pem -o x.bin data.bin",
    "sign-data -v 2 -k num_ec_oid.pem -o x.bin data.bin",
    "digest-sbv2-public-key -k num_pub_oid.pem -o x.bin",
    "sign-data -v 1 -k num_ec_zero.pem -o x.bin data.bin",
    "digest-private-key -k num_rsa_qi.pem x.bin",
    "verify-signature -v 1 -k num_ec_other.pem v1_signed.bin",
    "verify-signature -v 1 -k num_pub_inf.pem v1_signed.bin",
    "verify-signature -v 1 -k num_pub_off.pem v1_signed.bin",
    "verify-signature -v 1 -k num_pub_oid.pem v1_signed.bin",
];

/// Whether the personality's `ours` is what espsecure's `reference` is;
/// where espsecure died with a traceback, the personality prints what
/// came before it and its last lines (the exception, with any note under
/// it) instead of the frames, with the same exit status.
fn same_run(ours: &Run, reference: &Run) -> bool {
    const HEADER: &str = "Traceback (most recent call last):\n";
    if let Some(at) = reference.stderr.find(HEADER) {
        let lines: Vec<&str> = reference.stderr[at..].lines().collect();
        let last_frame = crate::imgtool_personality::exception_start(&lines);
        let exception: String = lines[last_frame + 1..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        return ours.code == reference.code
            && ours.stdout == reference.stdout
            && ours.stderr == format!("{}{exception}", &reference.stderr[..at]);
    }
    ours == reference
}

/// Writes the deterministic inputs both sides share.
/// A temporary directory with a `fixtures` directory of [`write_inputs`].
fn fixture_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = tmp.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    write_inputs(&fixtures);
    (tmp, fixtures)
}

fn write_inputs(dir: &Path) {
    let data = pattern(5000, 1);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    std::fs::write(dir.join("d4k.bin"), pattern(4096, 2)).unwrap();
    std::fs::write(dir.join("small.bin"), pattern(100, 3)).unwrap();
    for (name, len) in [
        ("fek16.bin", 16),
        ("fek24.bin", 24),
        ("fek32.bin", 32),
        ("fek64.bin", 64),
        ("fek20.bin", 20),
    ] {
        std::fs::write(dir.join(name), pattern(len, len as u32)).unwrap();
    }
    // Secure Boot V1: raw secure boot keys, a test IV, ESP32 bootloaders
    // (with an appended SHA-256 that the engine reads past or not, and
    // without one).
    for (name, len) in [
        ("sbkey16.bin", 16),
        ("sbkey24.bin", 24),
        ("sbkey32.bin", 32),
    ] {
        std::fs::write(dir.join(name), pattern(len, 100 + len as u32)).unwrap();
    }
    std::fs::write(dir.join("iv.bin"), pattern(128, 7)).unwrap();
    for (name, len, sha) in [
        ("boot40.bin", 40, true),
        ("boot80.bin", 80, true),
        ("bootnosha.bin", 200, false),
    ] {
        let image = EspImageBuilder::new(Chip::Esp32, 0x4008_0400)
            .segment(Segment::new(0x4008_0000, pattern(len, 9)))
            .hash_appended(sha)
            .build();
        std::fs::write(dir.join(name), image).unwrap();
    }
    // Secure Debug Controller inputs: chip_info ‖ nonce, MAC files, USC.
    std::fs::write(dir.join("chipinfo.bin"), pattern(64, 11)).unwrap();
    std::fs::write(dir.join("mac.bin"), [0x30, 0xed, 0xa0, 0xed, 0x78, 0x9c]).unwrap();
    std::fs::write(dir.join("mac.hex"), "30:ed:a0:ed:78:9d\n").unwrap();
    std::fs::write(
        dir.join("usc.json"),
        r#"{"version": 1, "groups": [{"group": "config_flags", "entries": [{"key": "enable_jtag", "value": true}, {"key": "enable_download_reuse", "value": false}]}, {"group": "pma_config", "entries": 3}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("badusc.json"), r#"{"groups": []}"#).unwrap();
}

/// SDC certificates differ only in the ECDSA signature (random nonce `k`)
/// and so in the CRC and hash over it; with `--mac` the device nonce is
/// random too. Both must verify for the chip_info they were made for, and
/// agree in the header, USC data, public key (and the nonce from a
/// `--chip-info` file).
fn sdc_difference(dir: &Path, name: &str, theirs: &[u8], ours: &[u8]) -> Option<String> {
    use esp_secure::sdc;
    let from_file = [
        "rand_sdc_v1.bin",
        "rand_sdc_v2.bin",
        "rand_sdc1.bin",
        "rand_sdc2.bin",
        "rand_sdc3.bin",
        "rand_sdc4.bin",
        "rand_sdc5.bin",
    ]
    .contains(&name);
    let chip_info = |cert: &[u8]| -> [u8; 32] {
        if from_file {
            let file = std::fs::read(dir.join("chipinfo.bin")).unwrap();
            file[..32].try_into().unwrap()
        } else {
            let nonce: [u8; 32] = cert[cert.len() - 32..].try_into().unwrap();
            let (mac, counter) = match name {
                "rand_sdc6.bin" => ([0x00, 0x11, 0x22, 0x33, 0x44, 0x55], 3),
                "rand_sdc7.bin" => ([0x30, 0xed, 0xa0, 0xed, 0x78, 0x9c], 0),
                "rand_sdc_v3.bin" => ([0x30, 0xed, 0xa0, 0xed, 0x78, 0x9d], 7),
                _ => ([0x30, 0xed, 0xa0, 0xed, 0x78, 0x9d], 0),
            };
            sdc::chip_info(&mac, counter, &nonce).unwrap()
        }
    };
    let check = |who: &str, cert: &[u8]| {
        sdc::verify_certificate(cert, &chip_info(cert))
            .map_err(|e| format!("{name}: {who}'s certificate: {e}"))
    };
    let (a, b) = match (check("espsecure", theirs), check("the personality", ours)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Some(e),
    };
    let same_nonce = !from_file || a.nonce == b.nonce;
    (theirs[..12] != ours[..12] || a.usc != b.usc || a.public_key != b.public_key || !same_nonce)
        .then(|| format!("{name}: header, USC, key or nonce differ"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn espsecure_personality_matches_espsecure_row_by_row() {
    let (tmp, fixtures) = fixture_dir();
    let setup: Vec<Vec<String>> = FIXTURE_ROWS.iter().map(|l| row(l)).collect();
    let Some(runs) = reference_runs(&fixtures, &setup) else {
        return;
    };
    for (line, run) in FIXTURE_ROWS.iter().zip(&runs) {
        assert_eq!(run.code, 0, "fixture `{line}` failed: {run:?}");
    }
    write_bad_keys(&fixtures);
    // A file whose first data byte changed after signing.
    let mut tampered = std::fs::read(fixtures.join("signed_ec256.bin")).unwrap();
    tampered[7] ^= 0x01;
    std::fs::write(fixtures.join("tampered.bin"), tampered).unwrap();
    // V1: an unsigned copy to sign in place, a flipped data byte, and a
    // signature block version other than 0.
    std::fs::copy(fixtures.join("data.bin"), fixtures.join("v1_inplace.bin")).unwrap();
    let v1_signed = std::fs::read(fixtures.join("v1_signed.bin")).unwrap();
    let mut v1_tampered = v1_signed.clone();
    v1_tampered[3] ^= 0x80;
    std::fs::write(fixtures.join("v1_tampered.bin"), v1_tampered).unwrap();
    let mut v1_badver = v1_signed;
    let at = v1_badver.len() - 68;
    v1_badver[at] = 1;
    std::fs::write(fixtures.join("v1_badver.bin"), v1_badver).unwrap();

    let ref_dir = tmp.path().join("ref");
    let our_dir = tmp.path().join("our");
    copy_dir(&fixtures, &ref_dir);
    copy_dir(&fixtures, &our_dir);
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();

    // The bad-key rows, then the table (each row a fresh espsecure).
    let all: Vec<&str> = BAD_KEY_ROWS.iter().chain(ROWS).copied().collect();
    let rows: Vec<Vec<String>> = all.iter().map(|l| row(l)).collect();
    let theirs = reference_runs(&ref_dir, &rows).unwrap();
    let mut failures = Vec::new();
    for ((line, argv), reference) in all.iter().zip(&rows).zip(&theirs) {
        let mut ours = personality_run(&link, &our_dir, argv);
        let mut reference = reference.clone();
        if argv.iter().any(|a| a == "--verbose") {
            // Values drawn at random: the device nonce (with --mac), the
            // chip_info derived from it, and the hash over the signature.
            let with_mac = argv.iter().any(|a| a == "--mac");
            for run in [&mut ours, &mut reference] {
                run.stdout = normalize_random_lines(&run.stdout, with_mac);
            }
        }
        let differ = if is_help_row(argv) {
            (
                ours.code,
                &ours.stderr,
                crate::support::rich_help_structure("espsecure", &ours.stdout),
                crate::support::rich_help_layout(&ours.stdout),
            ) != (
                reference.code,
                &reference.stderr,
                crate::support::rich_help_structure("espsecure", &reference.stdout),
                crate::support::rich_help_layout(&reference.stdout),
            )
        } else {
            !same_run(&ours, &reference)
        };
        if differ {
            failures.push(format!(
                "`espsecure {line}`\n--- espsecure: exit {}\n{}{}\n--- personality: exit {}\n{}{}",
                reference.code,
                reference.stdout,
                reference.stderr,
                ours.code,
                ours.stdout,
                ours.stderr
            ));
        }
    }

    // Every file written: same names; same bytes unless randomized.
    // (Files in directories the rows create: `sub/dir/…`.)
    fn names_under(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().into_string().unwrap());
            if entry.file_type().unwrap().is_dir() {
                names_under(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }
    let names = |dir: &Path| {
        let mut v = Vec::new();
        names_under(dir, "", &mut v);
        v.sort();
        v
    };
    let (ref_names, our_names) = (names(&ref_dir), names(&our_dir));
    if ref_names != our_names {
        failures.push(format!(
            "files written differ: espsecure {ref_names:?}, personality {our_names:?}"
        ));
    }
    for name in ref_names.iter().filter(|n| our_names.contains(n)) {
        let a = std::fs::read(ref_dir.join(name)).unwrap();
        let b = std::fs::read(our_dir.join(name)).unwrap();
        if name.starts_with("rand_sdc") {
            if let Some(diff) = sdc_difference(&ref_dir, name, &a, &b) {
                failures.push(diff);
            }
        } else if name.starts_with("rand_") {
            assert_eq!(a.len(), b.len(), "{name}: lengths differ");
        } else if a != b {
            failures.push(format!("{name}: bytes differ"));
        }
    }

    // Randomized signatures cross-verify: ours with espsecure, theirs with
    // the personality.
    let cross = [
        "verify-signature -v 2 -k rsa.pem rand_rsa.bin",
        "verify-signature -v 2 -k ec256.pem rand_ec256.bin",
        "verify-signature -v 2 -k ec192.pem --skip-padding rand_skip.bin",
        "verify-signature -v 2 -k rsa.pem rand_app2.bin",
        "verify-signature -v 2 -k ec384.pem rand_app.bin",
    ];
    let cross_rows: Vec<Vec<String>> = cross.iter().map(|l| row(l)).collect();
    let by_espsecure = reference_runs(&our_dir, &cross_rows).unwrap();
    for ((line, argv), theirs_on_ours) in cross.iter().zip(&cross_rows).zip(&by_espsecure) {
        if theirs_on_ours.code != 0 {
            failures.push(format!(
                "espsecure rejects our `{line}` output: {theirs_on_ours:?}"
            ));
        }
        let ours_on_theirs = personality_run(&link, &ref_dir, argv);
        if ours_on_theirs.code != 0 {
            failures.push(format!(
                "the personality rejects espsecure's `{line}` output: {ours_on_theirs:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

/// Missing required parameters are reported in click's processing order
/// (`Command.parse_args` over `iter_params_for_processing`): the options
/// given on the command line, then the arguments (always in click's
/// invocation order, given or not), then the options not given, in
/// declaration order. So a missing argument is named before a missing
/// required option, and an unreadable argument file before a missing
/// option. Every espsecure command, with nothing given and with one of
/// its required parameters missing.
#[test]
fn regression_missing_parameters_follow_clicks_processing_order() {
    const MISSING_ROWS: &[&str] = &[
        "digest-secure-bootloader",
        "digest-secure-bootloader -k sbkey32.bin",
        "digest-secure-bootloader boot40.bin",
        "digest-secure-bootloader nofile",
        "digest-secure-bootloader -o out.bin boot40.bin",
        "generate-signing-key",
        "generate-signing-key -v 2",
        "sign-data",
        "sign-data -v 1",
        "sign-data data.bin",
        "sign-data nofile",
        "sign-data -k sbkey32.bin data.bin",
        "verify-signature",
        "verify-signature -v 1",
        "verify-signature data.bin",
        "verify-signature -k nofile",
        "extract-public-key",
        "extract-public-key -k sbkey32.bin",
        "extract-public-key pub.pem",
        "digest-rsa-public-key",
        "digest-rsa-public-key -k sbkey32.bin",
        "digest-rsa-public-key -o out.bin",
        "digest-sbv2-public-key",
        "digest-sbv2-public-key -k sbkey32.bin",
        "digest-sbv2-public-key -o out.bin",
        "signature-info-v2",
        "digest-private-key",
        "digest-private-key -k sbkey32.bin",
        "digest-private-key digest.bin",
        "generate-flash-encryption-key",
        "generate-flash-encryption-key -l 256",
        "decrypt-flash-data",
        "decrypt-flash-data -k fek32.bin",
        "decrypt-flash-data -o out.bin",
        "decrypt-flash-data -a 0",
        "decrypt-flash-data d4k.bin",
        "decrypt-flash-data nofile",
        "decrypt-flash-data -a 0 -o out.bin d4k.bin",
        "decrypt-flash-data -k fek32.bin -a 0 d4k.bin",
        "decrypt-flash-data -k fek32.bin -o out.bin d4k.bin",
        "encrypt-flash-data",
        "encrypt-flash-data -k fek32.bin",
        "encrypt-flash-data -o out.bin",
        "encrypt-flash-data -a 0",
        "encrypt-flash-data d4k.bin",
        "encrypt-flash-data -a 0 -o out.bin d4k.bin",
        "encrypt-flash-data -k fek32.bin -a 0 d4k.bin",
        "generate-sdc-certificate",
        "digest-sdc-public-key",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let ref_dir = tmp.path().join("ref");
    let our_dir = tmp.path().join("our");
    for dir in [&ref_dir, &our_dir] {
        std::fs::create_dir_all(dir).unwrap();
        write_inputs(dir);
    }
    let rows: Vec<Vec<String>> = MISSING_ROWS.iter().map(|l| row(l)).collect();
    let Some(theirs) = reference_runs(&ref_dir, &rows) else {
        return;
    };
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let mut failures = Vec::new();
    for ((line, argv), reference) in MISSING_ROWS.iter().zip(&rows).zip(&theirs) {
        // every row is a usage error in espsecure
        assert_eq!(reference.code, 2, "`espsecure {line}`: {reference:?}");
        let ours = personality_run(&link, &our_dir, argv);
        if &ours != reference {
            failures.push(format!(
                "`espsecure {line}`\n--- espsecure: exit {}\n{}{}\n--- personality: exit {}\n{}{}",
                reference.code,
                reference.stdout,
                reference.stderr,
                ours.code,
                ours.stdout,
                ours.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        MISSING_ROWS.len(),
        failures.join("\n")
    );
}

/// Runs `lines` through the pinned espsecure and the personality on
/// copies of the fixture inputs and bad keys: the rows that differ (see
/// [`same_run`]). Every line must fail in espsecure. `None` without the
/// pinned espsecure.
fn bad_key_differences(lines: &[&str]) -> Option<Vec<String>> {
    key_differences(lines, true, &[])
}

/// [`bad_key_differences`] for lines espsecure may accept too
/// (`must_fail` unset), and the files named in `outputs`, which must be
/// there with the same bytes on both sides.
fn key_differences(lines: &[&str], must_fail: bool, outputs: &[&str]) -> Option<Vec<String>> {
    crate::support::reference_tool("espsecure")?;
    let (tmp, fixtures) = fixture_dir();
    write_bad_keys(&fixtures);
    let twins = twin_runs(tmp.path(), &fixtures, lines);
    let (ref_dir, our_dir) = (&twins.ref_dir, &twins.our_dir);
    let mut failures = Vec::new();
    for (line, reference, ours) in &twins.runs {
        if must_fail {
            assert_ne!(reference.code, 0, "espsecure accepted `{line}`");
        }
        if !same_run(ours, reference) {
            failures.push(format!("`espsecure {line}`\n{reference:?}\n{ours:?}"));
        }
    }
    for name in outputs {
        let theirs = std::fs::read(ref_dir.join(name)).ok();
        if theirs.is_none() || theirs != std::fs::read(our_dir.join(name)).ok() {
            failures.push(format!("{name}: missing or not the same bytes"));
        }
    }
    Some(failures)
}

/// Both tools' runs of some lines, each in its own copy of a fixture
/// directory.
struct TwinRuns {
    ref_dir: std::path::PathBuf,
    our_dir: std::path::PathBuf,
    /// Each line, espsecure's run and the personality's.
    runs: Vec<(String, Run, Run)>,
}

/// Copies `fixtures` to two directories under `tmp` and runs `lines`, in
/// order, through the pinned espsecure in one and through a link named
/// `espsecure` in the other.
fn twin_runs(tmp: &Path, fixtures: &Path, lines: &[&str]) -> TwinRuns {
    let (ref_dir, our_dir) = (tmp.join("ref"), tmp.join("our"));
    copy_dir(fixtures, &ref_dir);
    copy_dir(fixtures, &our_dir);
    let link = tmp.join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let rows: Vec<Vec<String>> = lines.iter().map(|l| row(l)).collect();
    let theirs = reference_runs(&ref_dir, &rows).unwrap();
    let runs = lines
        .iter()
        .zip(&rows)
        .zip(theirs)
        .map(|((line, argv), reference)| {
            (
                (*line).to_owned(),
                reference,
                personality_run(&link, &our_dir, argv),
            )
        })
        .collect();
    TwinRuns {
        ref_dir,
        our_dir,
        runs,
    }
}

/// The personality used to print espboot's own key-loading messages
/// (`--keyfile: x.pem: not a PEM key file…`, OIDs for curves), succeed on
/// `extract-public-key -v 2` of a public key, skip sign-data's key count
/// before the failure, and turn espsecure's tracebacks into fatal errors
/// with exit status 2.
#[test]
fn regression_espsecure_bad_key_messages_were_espboots_own() {
    let Some(failures) = bad_key_differences(&[
        "sign-data -v 2 -k fek32.bin -o x.bin data.bin",
        "sign-data -v 2 -k bad_p521.pub -o x.bin data.bin",
        "extract-public-key -v 2 -k bad_p521.pub x.pem",
        "sign-data -v 2 -k bad_rsa2048.pem -o x.bin data.bin",
        "verify-signature -v 2 -k bad_ed.pub d4k.bin",
        "digest-sdc-public-key -k bad_p521.pem -o x.bin",
        "sign-data -v 1 -k bad_p521.pem -o x.bin data.bin",
        "sign-data -v 1 -k bad_rsa2048.pem -o x.bin data.bin",
        "digest-private-key -k bad_enc.pem x.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// cryptography ends its message for a key it cannot decode with its
/// ASN.1 parser's first failure (`Details: ASN.1 parsing error: …`), and
/// for a PEM body that is no base64 says so (`InvalidData(…)`); the
/// personality printed the bare "Could not deserialize" sentence for all.
#[test]
fn regression_cryptography_key_errors_lacked_their_details() {
    let Some(failures) = bad_key_differences(&[
        "sign-data -v 2 -k brk_trunc.pem -o x.bin data.bin",
        "extract-public-key -v 2 -k brk_tag.pem x.pem",
        "digest-sbv2-public-key -k brk_len.pem -o x.bin",
        "digest-sdc-public-key -k brk_trail.pem -o x.bin",
        "generate-sdc-certificate -k brk_empty.pem --mac 001122334455 -o x.bin",
        "sign-data -v 2 -k brk_ver.pem -o x.bin data.bin",
        "sign-data -v 2 -k brk_label.pem -o x.bin data.bin",
        "sign-data -v 2 -k brk_b64.pem -o x.bin data.bin",
        "verify-signature -v 2 -k brk_pad.pem d4k.bin",
        "extract-public-key -v 2 -k brk_last.pem x.pem",
        "sign-data -v 2 -k brk_pub_b64.pem -o x.bin data.bin",
        "verify-signature -v 2 -k brk_pub_trunc.pem d4k.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `verify-signature -v 1` does not catch cryptography's `ValueError` for
/// a broken `EC PRIVATE KEY` or `PUBLIC KEY`: espsecure's note, then the
/// traceback (with Python's note on the PKCS#8 label under the exception),
/// exit status 1. The personality printed espboot's own fatal error.
#[test]
fn regression_verify_signature_v1_broken_key_was_a_fatal_error() {
    let Some(failures) = bad_key_differences(&[
        "verify-signature -v 1 -k brk_ec_trunc.pem d4k.bin",
        "verify-signature -v 1 -k brk_ec_label.pem d4k.bin",
        "verify-signature -v 1 -k brk_ec_b64.pem d4k.bin",
        "verify-signature -v 1 -k brk_pub_trail.pem d4k.bin",
        "verify-signature -v 1 -k brk_pub_b64.pem d4k.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// cryptography's PEM reader takes the lines before a blank line as RFC
/// 1421 headers (each needs a `:`), reads a header without that blank line
/// as base64, and checks a private key's `Proc-Type`/`DEK-Info` before its
/// DER. The personality read such files with the lenient loader (signing
/// with a key espsecure refuses) or printed the bare "Could not
/// deserialize" sentence, and refused a public key for its `Proc-Type`.
#[test]
fn regression_pem_headers_and_blank_lines_were_not_cryptographys() {
    let Some(failures) = bad_key_differences(&[
        "sign-data -v 2 -k hdr_blank.pem -o x.bin data.bin",
        "extract-public-key -v 2 -k hdr_noblank.pem x.pem",
        "digest-sdc-public-key -k hdr_proc.pem -o x.bin",
        "generate-sdc-certificate -k hdr_nodek.pem --mac 001122334455 -o x.bin",
        "digest-sbv2-public-key -k hdr_utf8.pem -o x.bin",
        "sign-data -v 2 -k hdr_dek.pem -o x.bin data.bin",
        "sign-data -v 1 -k hdr_blank.pem -o x.bin data.bin",
        "extract-public-key -v 1 -k hdr_dek.pem x.raw",
        "verify-signature -v 1 -k hdr_nodek.pem d4k.bin",
        "verify-signature -v 2 -k hdr_pub_blank.pem d4k.bin",
        "verify-signature -v 2 -k hdr_pub_proc.pem signed_ec256.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Keys whose DER reads but whose numbers OpenSSL refuses: cryptography
/// says "Invalid key", "Invalid private key", "Cannot load an EC public
/// key where the point is at infinity" or "e must be >= 3 and < n.", and
/// an invalid named-curve OID is an ASN.1 "invalid value". The personality
/// printed the bare "Could not deserialize" sentence or espboot's own
/// message, and signed with an RSA key whose CRT coefficient was wrong.
#[test]
fn regression_unusable_key_numbers_lacked_cryptographys_message() {
    let Some(failures) = bad_key_differences(&[
        "sign-data -v 2 -k num_rsa_qi.pem -o x.bin data.bin",
        "extract-public-key -v 2 -k num_rsa_e.pem x.pem",
        "verify-signature -v 2 -k num_rsa_pub_e1.pem d4k.bin",
        "digest-sbv2-public-key -k num_pub_inf.pem -o x.bin",
        "verify-signature -v 2 -k num_pub_off.pem d4k.bin",
        "digest-sdc-public-key -k num_ec_zero.pem -o x.bin",
        "generate-sdc-certificate -k num_ec_order.pem --mac 001122334455 -o x.bin",
        "sign-data -v 2 -k num_ec_other.pem -o x.bin data.bin",
        "sign-data -v 2 -k num_ec_oid.pem -o x.bin data.bin",
        "sign-data -v 1 -k num_rsa_qi.pem -o x.bin data.bin",
        "verify-signature -v 1 -k num_ec_other.pem d4k.bin",
        "verify-signature -v 1 -k num_pub_inf.pem d4k.bin",
        "verify-signature -v 1 -k num_pub_oid.pem d4k.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// cryptography loads an RSA public key whose modulus is even (OpenSSL
/// does not check it), so espsecure digests it (its `_modinv` of an even
/// modulus modulo 2^32 included) and finds it signed no block; the
/// personality refused it with the "Could not deserialize" sentence
/// because the `rsa` crate requires an odd modulus. The private key with
/// an even modulus stays refused, as cryptography refuses it.
#[test]
fn regression_rsa_public_key_with_even_modulus_was_refused() {
    assert_key_rows_match(
        &[
            "digest-sbv2-public-key -k num_rsa_pub_even.pem -o dig_even.bin",
            "verify-signature -v 2 -k num_rsa_pub_even.pem d4k.bin",
            "sign-data -v 2 -k num_rsa_even.pem -o x.bin data.bin",
            "verify-signature -v 2 -k num_rsa_even.pem d4k.bin",
        ],
        &["dig_even.bin"],
    );
}

/// [`key_differences`] for lines espsecure may accept, asserting that
/// none differ (skipped without the pinned espsecure).
fn assert_key_rows_match(lines: &[&str], outputs: &[&str]) {
    let Some(failures) = key_differences(lines, false, outputs) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// cryptography loads a PKCS#8 Ed25519 or X25519 private key whose key
/// octets are not 32 bytes into OpenSSL, whose raw key setup fails: an
/// `InternalError` ("Unknown OpenSSL error", with OpenSSL's error queue),
/// which espsecure words as its loading error or, where it catches only
/// `ValueError` (Secure Boot V1 signing), does not catch; such a public
/// key is cryptography's "Invalid key". The personality printed the bare
/// "Could not deserialize" sentence, or its own message.
#[test]
fn regression_ed25519_key_of_wrong_length_lacked_cryptographys_error() {
    let Some(failures) = bad_key_differences(&[
        "sign-data -v 2 -k num_ed_short.pem -o x.bin data.bin",
        "verify-signature -v 2 -k num_ed_long.pem d4k.bin",
        "generate-sdc-certificate -k num_x_short.pem --mac 001122334455 -o x.bin",
        "sign-data -v 1 -k num_ed_long.pem -o x.bin data.bin",
        "digest-private-key -k num_ed_short.pem x.bin",
        "verify-signature -v 2 -k num_ed_pub_short.pem d4k.bin",
        "verify-signature -v 1 -k num_ed_pub_short.pem d4k.bin",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Sets byte `at` of signature block `slot` of the signed file `from`,
/// recomputes the block's CRC32 (zlib's, as espsecure checks it) and
/// writes the result to `to`.
fn rewrite_block(dir: &Path, from: &str, to: &str, slot: usize, at: usize, value: u8) {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut image = std::fs::read(dir.join(from)).unwrap();
    let start = image.len() - 4096 + slot * 1216;
    let block = &mut image[start..start + 1216];
    block[at] = value;
    let crc = CRC32.checksum(&block[..1196]);
    block[1196..1200].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join(to), image).unwrap();
}

/// espsecure reads a signature block where the kind of key says and
/// stops with an uncaught exception where the block does not fit it: an
/// RSA key on a SHA-384 ECDSA block (cryptography's digest length
/// `ValueError`, even after a block verified), an ECDSA key on an RSA
/// block whose modulus's low byte is no curve id (`AssertionError`) or is
/// P-384's, an ECDSA block whose hash type byte is unknown
/// (`UnboundLocalError`). It calls a block with an unknown curve valid,
/// and `signature-info-v2` digests its key field. The personality
/// reported such blocks as not signed by the key, or as invalid.
#[test]
fn regression_verify_signature_with_a_key_of_another_kind_went_on_where_espsecure_stops() {
    let mut lines = Vec::new();
    for key in ["rsa.pem", "ec192.pem", "ec256.pem", "ec384.pem"] {
        for image in REWRITTEN_IMAGES {
            lines.push(format!("verify-signature -v 2 -k {key} {image}"));
        }
    }
    for image in [
        "hash5.bin",
        "p384_as_p256.bin",
        "p384_as_none.bin",
        "p256_as_p384.bin",
    ] {
        lines.push(format!("signature-info-v2 {image}"));
    }
    let Some((theirs, failures)) = rewritten_block_differences(&lines) else {
        return;
    };
    // The table covers each way espsecure ends.
    for needle in [
        "verification successful",
        "is not signed by the supplied key",
        "ValueError: The provided data must be the same length",
        "AssertionError",
        "UnboundLocalError",
    ] {
        assert!(
            theirs
                .iter()
                .any(|r| r.stdout.contains(needle) || r.stderr.contains(needle)),
            "no row of espsecure's ends with `{needle}`"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n\n")
    );
}

/// `sign-data --append-signatures` keeps the leading blocks that
/// espsecure calls valid, an ECDSA block of an unknown curve among them;
/// the personality dropped that block and those after it.
#[test]
fn regression_append_signatures_dropped_a_block_of_an_unknown_curve() {
    let lines = [
        "sign-data -v 2 -a -k ec256.pem -o app_none.bin rsa_as_none.bin",
        "signature-info-v2 app_none.bin",
        "sign-data -v 2 -a -k ec256.pem -o app_hash5.bin hash5.bin",
        "signature-info-v2 app_hash5.bin",
        "sign-data -v 2 -a -k ec256.pem -o app_p384none.bin p384_as_none.bin",
    ];
    let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let Some((_, failures)) = rewritten_block_differences(&lines) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The signed files of [`rewritten_block_differences`]: signed by
/// espsecure, then blocks rewritten (CRC kept valid) so their fields no
/// longer fit their scheme or the key.
const REWRITTEN_IMAGES: [&str; 9] = [
    "rsa_p384.bin",
    "p256_rsa.bin",
    "rsa_as_p256.bin",
    "rsa_as_p384.bin",
    "rsa_as_none.bin",
    "hash5.bin",
    "p384_as_p256.bin",
    "p384_as_none.bin",
    "p256_as_p384.bin",
];

/// Runs `lines` through the pinned espsecure and the personality, each in
/// its own copy of keys and [`REWRITTEN_IMAGES`]: espsecure's runs and the
/// rows that differ. `None` without the pinned espsecure.
fn rewritten_block_differences(lines: &[String]) -> Option<(Vec<Run>, Vec<String>)> {
    let mut espsecure = ToolServer::start("espsecure", &[("COLUMNS", Some("80"))])?;
    let (tmp, fixtures) = fixture_dir();
    for line in [
        "generate-signing-key -v 2 -s rsa3072 rsa.pem",
        "generate-signing-key -v 2 -s ecdsa192 ec192.pem",
        "generate-signing-key -v 2 -s ecdsa256 ec256.pem",
        "generate-signing-key -v 2 -s ecdsa384 ec384.pem",
        "sign-data -v 2 -k rsa.pem ec384.pem -o rsa_p384.bin data.bin",
        "sign-data -v 2 -k ec256.pem rsa.pem -o p256_rsa.bin data.bin",
    ] {
        let out = espsecure.run(&Request::new(row(line)).cwd(&fixtures));
        assert!(out.status.success(), "fixture `{line}`: {out:?}");
    }
    drop(espsecure);
    // The RSA block's byte 36 (the modulus's low byte) as a curve id; an
    // unknown hash type byte; a P-384 block claiming P-256 or no curve; a
    // P-256 block claiming P-384.
    rewrite_block(&fixtures, "rsa_p384.bin", "rsa_as_p256.bin", 0, 36, 2);
    rewrite_block(&fixtures, "rsa_p384.bin", "rsa_as_p384.bin", 0, 36, 3);
    rewrite_block(&fixtures, "rsa_p384.bin", "rsa_as_none.bin", 0, 36, 9);
    rewrite_block(&fixtures, "p256_rsa.bin", "hash5.bin", 0, 2, 5);
    rewrite_block(&fixtures, "rsa_p384.bin", "p384_as_p256.bin", 1, 52, 2);
    rewrite_block(&fixtures, "rsa_p384.bin", "p384_as_none.bin", 1, 52, 0);
    rewrite_block(&fixtures, "p256_rsa.bin", "p256_as_p384.bin", 0, 36, 3);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    let failures = twins
        .runs
        .iter()
        .filter(|(_, reference, ours)| !same_run(ours, reference))
        .map(|(line, reference, ours)| format!("`espsecure {line}`\n{reference:?}\n{ours:?}"))
        .collect();
    let theirs = twins
        .runs
        .into_iter()
        .map(|(_, reference, _)| reference)
        .collect();
    Some((theirs, failures))
}

/// cryptography's `load_pem_public_key` reads a PEM file's first block
/// only: espsecure's public key loaders end with its ValueError for a
/// public key after a block of another label (and read one before such a
/// block). The personality loaded the key and went on.
#[test]
fn regression_sbv2_public_key_after_another_pem_block_was_loaded() {
    assert_key_rows_match(
        &[
            "verify-signature -v 2 -k bad_foo_pub.pem d4k.bin",
            "digest-sbv2-public-key -k bad_foo_pub.pem -o x.bin",
            "verify-signature -v 2 -k ord_pub_foo.pem d4k.bin",
            "digest-sbv2-public-key -k ord_pub_foo.pem -o dig_ord.bin",
        ],
        &["dig_ord.bin"],
    );
}

/// espsecure takes `--address` and `--flash-crypt-conf` as any Python
/// integer: the ESP32 algorithm encrypts at a negative address or one past
/// 4 GiB (its key tweak works on Python integers), XTS dies packing such
/// an address into 32 bits, and a negative FLASH_CRYPT_CONF is read by its
/// low bits. The personality refused a negative number as an unknown
/// option and an address past 4 GiB with its own line.
#[test]
fn regression_flash_address_outside_the_flash_was_refused() {
    assert_key_rows_match(
        &[
            "encrypt-flash-data -k fek32.bin -a -16 -o e1.bin d4k.bin",
            "decrypt-flash-data -k fek32.bin -a -0x1000 -o e2.bin d4k.bin",
            "encrypt-flash-data -k fek32.bin -a 0x100000000 -o e3.bin d4k.bin",
            "encrypt-flash-data -k fek24.bin -a 0xFFFFFF00 -o e4.bin d4k.bin",
            "encrypt-flash-data -k fek32.bin -a 0x1234567890abcdef0123456789abcd0 --flash-crypt-conf -1 -o e5.bin d4k.bin",
            "encrypt-flash-data -k fek32.bin -a 0x100 --flash-crypt-conf -16 -o e6.bin d4k.bin",
            "encrypt-flash-data --aes-xts -k fek32.bin -a -16 -o x.bin d4k.bin",
            "encrypt-flash-data --aes-xts -k fek64.bin -a 0xFFFFFF00 -o x.bin d4k.bin",
            "encrypt-flash-data --aes-xts -k fek32.bin -a -1 -o x.bin d4k.bin",
            "decrypt-flash-data --aes-xts -k fek32.bin -a -0x20 -o x.bin data.bin",
            "encrypt-flash-data -k fek32.bin -a -24 -o x.bin d4k.bin",
        ],
        &["e1.bin", "e2.bin", "e3.bin", "e4.bin", "e5.bin", "e6.bin"],
    );
}

/// An output espsecure cannot create: a `click.File` output (opened at the
/// first write) ends in click's "Could not open file" panel, an output
/// opened with a bare `open()` in Python's OSError; exit status 1 either
/// way. The personality printed espboot's fatal error, exit status 2.
#[test]
fn regression_unwritable_output_was_a_fatal_error() {
    assert_key_rows_match(
        &[
            "generate-signing-key -v 2 -s ecdsa256 k.pem",
            "generate-signing-key -v 2 -s ecdsa256 missing/k.pem",
            "generate-signing-key -v 1 .",
            "generate-flash-encryption-key missing/k.bin",
            "encrypt-flash-data -k fek32.bin -a 0 -o missing/o.bin d4k.bin",
            "decrypt-flash-data --aes-xts -k fek32.bin -a 0 -o . d4k.bin",
            "sign-data -v 2 -k k.pem -o missing/o.bin data.bin",
            "sign-data -v 2 -k k.pem -o . data.bin",
            "extract-public-key -v 2 -k k.pem missing/p.pem",
            "digest-private-key -k k.pem missing/d.bin",
            "digest-sbv2-public-key -k k.pem -o missing/d.bin",
            "digest-secure-bootloader -k sbkey32.bin -o missing/d.bin boot40.bin",
        ],
        &[],
    );
}

/// A directory given for one of espsecure's click.File inputs: click's
/// "Invalid value for …: '.': Is a directory." usage error. Rust opens a
/// directory, so the personality went on and failed to read it later with
/// its own fatal error.
#[test]
fn regression_directory_as_input_file_was_read() {
    let Some(failures) = bad_key_differences(&[
        "verify-signature -v 2 -k . d4k.bin",
        "signature-info-v2 .",
        "encrypt-flash-data -k fek32.bin -a 0 -o x.bin .",
        "encrypt-flash-data -k . -a 0 -o x.bin d4k.bin",
        "digest-sbv2-public-key -k . -o x.bin",
        "extract-public-key -v 2 -k . x.pem",
    ]) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `encrypt-flash-data` / `decrypt-flash-data` with `-o` naming the key
/// file: espsecure refuses (`_check_output_is_not_input(keyfile, output)`
/// comes first), so the key survives. The personality checked only the
/// input and wrote the ciphertext over the key.
#[test]
fn regression_flash_encryption_output_over_the_key_file_replaced_the_key() {
    assert_key_rows_match(
        &[
            "encrypt-flash-data -k fek32.bin -a 0 -o fek32.bin d4k.bin",
            "decrypt-flash-data -k fek32.bin -a 0x1000 -o ./fek32.bin d4k.bin",
            "encrypt-flash-data -x -k fek64.bin -a 0 -o fek64.bin d4k.bin",
            "decrypt-flash-data --aes-xts -k fek16.bin -a 0 -o fek16.bin fek16.bin",
        ],
        &["fek32.bin", "fek64.bin", "fek16.bin"],
    );
}

/// click keeps the last value of a repeated single-value option and takes
/// a repeated flag; clap refused both ("cannot be used multiple times").
#[test]
fn regression_repeated_option_was_refused() {
    assert_key_rows_match(
        &[
            "encrypt-flash-data -k fek32.bin -a 0 -a 0x1000 -o e1.bin d4k.bin",
            "encrypt-flash-data -x -x -k fek16.bin -a 0 -o e2.bin d4k.bin",
            "decrypt-flash-data -k fek24.bin -k fek32.bin -a 0 -o e3.bin d4k.bin",
            "encrypt-flash-data -k fek32.bin -a 0 -o x.bin -o e4.bin --flash-crypt-conf 0 --flash-crypt-conf 15 d4k.bin",
        ],
        &["e1.bin", "e2.bin", "e3.bin", "e4.bin"],
    );
}

/// espsecure's ESP32 flash-encryption algorithm writes its output (a lazy
/// `click.File`) block by block: an empty input leaves no output file.
/// The personality created an empty one.
#[test]
fn regression_empty_input_created_an_output_file() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    std::fs::write(fixtures.join("empty.bin"), b"").unwrap();
    let lines = [
        "encrypt-flash-data -k fek32.bin -a 0 -o e1.bin empty.bin",
        "decrypt-flash-data -k fek24.bin -a 0x1000 -o e2.bin empty.bin",
        "encrypt-flash-data -x -k fek32.bin -a 0 -o e3.bin empty.bin",
    ];
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    assert_eq!(twins.runs.len(), lines.len());
    for (line, reference, ours) in &twins.runs {
        // the ESP32 algorithm succeeds; XTS refuses an empty input
        let xts = line.contains(" -x ");
        assert_eq!(reference.code == 0, !xts, "espsecure {line}: {reference:?}");
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    for name in ["e1.bin", "e2.bin", "e3.bin"] {
        assert_eq!(
            twins.ref_dir.join(name).exists(),
            twins.our_dir.join(name).exists(),
            "{name}"
        );
    }
    assert!(
        !twins.ref_dir.join("e1.bin").exists(),
        "espsecure wrote no e1.bin"
    );
}

/// esptool's group replaces deprecated option spellings, with their
/// warnings, before it resolves the command: the option warnings come
/// before the command's. The personality printed the command's first.
#[test]
fn regression_deprecated_command_warning_came_before_the_option_warnings() {
    assert_key_rows_match(
        &[
            "encrypt_flash_data -k fek32.bin -a 0 --flash_crypt_conf 3 -o e1.bin d4k.bin",
            "decrypt_flash_data --aes_xts -k fek32.bin -a 0 -o e2.bin d4k.bin",
        ],
        &["e1.bin", "e2.bin"],
    );
}

/// Where espsecure stops with an uncaught Python exception (a traceback,
/// exit status 1), the personality printed a fatal error and exited 2: a
/// 512-bit secure boot key, a bootloader shorter than its header, a V1
/// signed file shorter than a signature block, a missing `--keyfile`, an
/// invalid pre-calculated V1 signature, `--append-signatures` on an empty
/// file, and key lengths `os.urandom` refuses. click's `int` also takes
/// `_` separators and a sign for `--keylen`.
#[test]
fn regression_python_exceptions_ended_as_fatal_errors() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    std::fs::write(fixtures.join("empty.bin"), b"").unwrap();
    // an image magic, then the file ends inside the 8-byte header
    std::fs::write(fixtures.join("short.bin"), [0xE9, 1, 2, 3, 4]).unwrap();
    let lines = [
        "generate-signing-key -v 1 v1.pem",
        "extract-public-key -v 2 -k v1.pem v1.pub",
        "digest-secure-bootloader -k fek64.bin -o o1.bin boot40.bin",
        "digest-secure-bootloader -k sbkey32.bin -o o2.bin short.bin",
        "verify-signature -v 1 -k v1.pub short.bin",
        "verify-signature -v 1 data.bin",
        "verify-signature -v 2 data.bin",
        "sign-data -v 1 -o o3.bin data.bin",
        "sign-data -v 1 --pub-key v1.pub --signature small.bin -o o4.bin data.bin",
        "sign-data -v 2 -a -k v1.pem -o o5.bin empty.bin",
        "generate-flash-encryption-key -l -128 k1.bin",
        "generate-flash-encryption-key -l -1 k2.bin",
        "generate-flash-encryption-key -l 99999999999999999999999 k3.bin",
        "generate-flash-encryption-key -l +0_8 k4.bin",
        "digest-private-key -k v1.pem -l 1_92 k5.bin",
    ];
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs {
        let keys_only = line.starts_with("generate-signing-key")
            || line.starts_with("extract-public-key")
            || line.contains("+0_8")
            || line.contains("1_92");
        assert_eq!(
            reference.code,
            if keys_only { 0 } else { 1 },
            "espsecure {line}: {reference:?}"
        );
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    // random bytes: compare the lengths
    for (name, len) in [("k4.bin", 1), ("k5.bin", 24)] {
        for dir in [&twins.ref_dir, &twins.our_dir] {
            assert_eq!(std::fs::read(dir.join(name)).unwrap().len(), len, "{name}");
        }
    }
}

/// click passes an empty word as a value, and espsecure's `click.File`
/// then fails to open `''` (click's usage error), as `open('')` does for
/// its other paths. The personality's parser refused every empty path.
#[test]
fn regression_empty_file_names_were_refused_by_the_parser() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    let rows: Vec<Vec<String>> = [
        &[
            "encrypt-flash-data",
            "-k",
            "",
            "-a",
            "0",
            "-o",
            "o.bin",
            "data.bin",
        ][..],
        &[
            "encrypt-flash-data",
            "-k",
            "fek32.bin",
            "-a",
            "0",
            "-o",
            "",
            "d4k.bin",
        ],
        &[
            "decrypt-flash-data",
            "-k",
            "fek32.bin",
            "-a",
            "0",
            "-o",
            "o.bin",
            "",
        ],
        &["sign-data", "-v", "2", "-k", "", "-o", "o.bin", "d4k.bin"],
        &["verify-signature", "-v", "2", "-k", "", "d4k.bin"],
        &["extract-public-key", "-v", "2", "-k", "", "o.pem"],
        &["generate-flash-encryption-key", ""],
        &["generate-signing-key", "-v", "2", ""],
        &["signature-info-v2", ""],
        &[
            "digest-secure-bootloader",
            "-k",
            "sbkey32.bin",
            "-o",
            "",
            "boot40.bin",
        ],
        &[
            "digest-secure-bootloader",
            "-k",
            "sbkey32.bin",
            "--iv",
            "",
            "boot40.bin",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|w| (*w).to_owned()).collect())
    .collect();
    let (ref_dir, our_dir) = (tmp.path().join("ref"), tmp.path().join("our"));
    copy_dir(&fixtures, &ref_dir);
    copy_dir(&fixtures, &our_dir);
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let theirs = reference_runs(&ref_dir, &rows).unwrap();
    for (argv, reference) in rows.iter().zip(theirs) {
        let ours = personality_run(&link, &our_dir, argv);
        assert_ne!(reference.code, 0, "espsecure {argv:?}: {reference:?}");
        assert!(
            same_run(&ours, &reference),
            "`espsecure {argv:?}`\n{reference:?}\n{ours:?}"
        );
    }
}

/// espsecure counts the signing keys before it reads a pre-calculated
/// signature, and refuses one of the wrong shape as it refuses a wrong one
/// (its verification fails either way); and it compares a USC file's
/// version with Python's `!=`, where `true` and `1.0` equal 1 (and names
/// another with `repr`). The personality refused the shape first, without
/// the count, and read the version as an integer only.
#[test]
fn regression_precalculated_signature_shape_and_usc_version_were_judged_strictly() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    for (name, version) in [
        ("u_true.json", "true"),
        ("u_float.json", "1.0"),
        ("u_text.json", "\"1\""),
        ("u_list.json", "[1, 2.5]"),
        ("u_null.json", "null"),
    ] {
        std::fs::write(fixtures.join(name), format!("{{\"version\": {version}}}")).unwrap();
    }
    let lines = [
        "generate-signing-key -v 2 -s ecdsa256 ec.pem",
        "extract-public-key -v 2 -k ec.pem ec.pub",
        "generate-signing-key -v 2 -s rsa3072 rsa.pem",
        "extract-public-key -v 2 -k rsa.pem rsa.pub",
        "sign-data -v 2 --pub-key ec.pub --signature small.bin -o o1.bin d4k.bin",
        "sign-data -v 2 --pub-key rsa.pub --signature small.bin -o o2.bin d4k.bin",
        "sign-data -v 2 --pub-key ec.pub rsa.pub --signature small.bin small.bin -o o3.bin d4k.bin",
        "generate-sdc-certificate --usc u_true.json -k ec.pem --chip-info chipinfo.bin -o c1.bin",
        "generate-sdc-certificate --usc u_float.json -k ec.pem --chip-info chipinfo.bin -o c2.bin",
        "generate-sdc-certificate --usc u_text.json -k ec.pem --chip-info chipinfo.bin -o c3.bin",
        "generate-sdc-certificate --usc u_list.json -k ec.pem --chip-info chipinfo.bin -o c4.bin",
        "generate-sdc-certificate --usc u_null.json -k ec.pem --chip-info chipinfo.bin -o c5.bin",
    ];
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs {
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    // the accepted versions wrote certificates (random signatures)
    for name in ["c1.bin", "c2.bin"] {
        assert!(twins.ref_dir.join(name).is_file(), "espsecure wrote {name}");
        assert!(
            twins.our_dir.join(name).is_file(),
            "the personality wrote {name}"
        );
    }
}

/// cryptography loads an EC key with explicit P-256 parameters as a P-256
/// key, and so does espsecure; the personality refused it.
#[test]
fn regression_ec_key_with_explicit_curve_parameters_was_refused() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    std::fs::write(
        fixtures.join("explicit.pem"),
        crate::imgtool_personality::EXPLICIT_P256_KEY,
    )
    .unwrap();
    std::fs::write(
        fixtures.join("explicit.pub.pem"),
        crate::imgtool_personality::EXPLICIT_P256_PUBLIC,
    )
    .unwrap();
    let lines = [
        "extract-public-key -v 2 -k explicit.pem pub.pem",
        "digest-sbv2-public-key -k explicit.pub.pem -o digest.bin",
        "sign-data -v 2 -k explicit.pem -o signed.bin d4k.bin",
        "verify-signature -v 2 -k explicit.pub.pem signed.bin",
    ];
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs {
        assert_eq!(reference.code, 0, "espsecure {line}: {reference:?}");
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    for name in ["pub.pem", "digest.bin"] {
        assert_eq!(
            std::fs::read(twins.ref_dir.join(name)).unwrap(),
            std::fs::read(twins.our_dir.join(name)).unwrap(),
            "{name}"
        );
    }
}

/// click opens a `click.File` argument given as `-` on standard input
/// (`"rb"`) or output (`"wb"`): espsecure then reads its data, keys and
/// IVs from stdin, writes keys, digests and ciphertext to stdout, names
/// stdin `<stdin>` (and, without `-o`, signs into a file of that name),
/// and fails on the bootloader image it seeks in. Its several-value
/// options stop before `-`. The personality took `-` for a file name.
#[test]
fn regression_dash_was_a_file_name_not_stdin_or_stdout() {
    let Some(mut espsecure) = ToolServer::start("espsecure", &[("COLUMNS", Some("80"))]) else {
        return;
    };
    let (tmp, fixtures) = fixture_dir();
    // keys and signed files made once, the same for both sides
    for line in [
        "generate-signing-key -v 1 v1.pem",
        "generate-signing-key -v 2 -s ecdsa256 ec.pem",
        "sign-data -v 1 -k v1.pem -o v1_signed.bin data.bin",
        "sign-data -v 2 -k ec.pem -o v2_signed.bin d4k.bin",
    ] {
        let out = espsecure.run(&Request::new(row(line)).cwd(&fixtures));
        assert!(out.status.success(), "{line}");
    }
    // (command, the fixture on stdin, outputs compared byte for byte)
    let rows: &[(&str, &str, &[&str])] = &[
        ("verify-signature -v 1 -k v1.pem -", "v1_signed.bin", &[]),
        ("verify-signature -v 2 -k ec.pem -", "v2_signed.bin", &[]),
        ("signature-info-v2 -", "v2_signed.bin", &[]),
        ("sign-data -v 1 -k - -o s1.bin data.bin", "v1.pem", &[]),
        ("sign-data -v 1 -k v1.pem -", "data.bin", &[]),
        ("sign-data -v 2 -k ec.pem -", "d4k.bin", &[]),
        (
            "sign-data -v 2 -k - ec.pem -o s2.bin d4k.bin",
            "ec.pem",
            &[],
        ),
        ("sign-data -v 1 -k - data.bin -o s3.bin", "v1.pem", &[]),
        (
            "digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o b1.bin -",
            "boot40.bin",
            &[],
        ),
        (
            "digest-secure-bootloader -k - --iv iv.bin -o b2.bin boot40.bin",
            "sbkey32.bin",
            &["b2.bin"],
        ),
        (
            "digest-secure-bootloader -k sbkey16.bin --iv - -o b3.bin boot80.bin",
            "iv.bin",
            &["b3.bin"],
        ),
        (
            "encrypt-flash-data --aes-xts -k fek64.bin -a 0x1000 -o - -",
            "d4k.bin",
            &[],
        ),
        (
            "encrypt-flash-data -k - -a 0x1000 -o e1.bin d4k.bin",
            "fek32.bin",
            &["e1.bin"],
        ),
        (
            "decrypt-flash-data -k fek32.bin -a 0 -o - -",
            "d4k.bin",
            &[],
        ),
        ("extract-public-key -v 2 -k - -", "ec.pem", &[]),
        ("extract-public-key -v 1 -k v1.pem -", "data.bin", &[]),
        ("digest-private-key -k - -", "v1.pem", &[]),
        (
            "digest-sbv2-public-key -k - -o d1.bin",
            "ec.pem",
            &["d1.bin"],
        ),
        ("sign-data -v 2 -k ec.pem -o - d4k.bin", "data.bin", &[]),
    ];
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let mut differences = Vec::new();
    for (i, (line, stdin, outputs)) in rows.iter().enumerate() {
        let (ref_dir, our_dir) = (
            tmp.path().join(format!("r{i}")),
            tmp.path().join(format!("o{i}")),
        );
        copy_dir(&fixtures, &ref_dir);
        copy_dir(&fixtures, &our_dir);
        let input = std::fs::read(fixtures.join(stdin)).unwrap();
        let theirs = espsecure.run(&Request::new(row(line)).cwd(&ref_dir).stdin(Some(&input)));
        let mut child = std::process::Command::new(&link)
            .args(row(line))
            .current_dir(&our_dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // a run that stops before it reads closes the pipe early
        let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input);
        let ours = child.wait_with_output().unwrap();
        // ECDSA signatures and the signed files they end are random: the
        // signing rows compare all but the bytes of a signature
        let signs = line.starts_with("sign-data");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let same_stdout = if signs && line.contains("-o -") {
            ours.stdout.len() == theirs.stdout.len()
        } else {
            ours.stdout == theirs.stdout
        };
        let last = |b: &[u8]| {
            text(b)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .map(str::to_owned)
        };
        if ours.status.code() != theirs.status.code()
            || !same_stdout
            || last(&ours.stderr) != last(&theirs.stderr)
        {
            differences.push(format!(
                "{line}\n  espsecure: {:?} {:?} {:?}\n  espboot:   {:?} {:?} {:?}",
                theirs.status.code(),
                text(&theirs.stdout),
                last(&theirs.stderr),
                ours.status.code(),
                text(&ours.stdout),
                last(&ours.stderr),
            ));
        }
        for name in *outputs {
            if std::fs::read(ref_dir.join(name)).ok() != std::fs::read(our_dir.join(name)).ok() {
                differences.push(format!("{line}: {name} differs"));
            }
        }
        // the file named "<stdin>" that signing without -o writes
        let stdin_file = |d: &Path| std::fs::read(d.join("<stdin>")).ok().map(|b| b.len());
        if stdin_file(&ref_dir) != stdin_file(&our_dir) {
            differences.push(format!("{line}: the file <stdin> differs"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// click splits a short option's value off the option itself (`-a=0` is
/// the value `=0`, `-kkey.pem` the file `key.pem`), refuses a value given
/// to a flag (`--skip-padding=1`, click's panel alone), and espsecure's
/// several-value options go on taking words after `--keyfile=a.pem`. The
/// personality dropped the `=`, and took the word after `--keyfile=…` for
/// the data file.
#[test]
fn regression_short_option_equals_and_joined_values_were_read_by_clap() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    let lines = [
        "generate-signing-key -v 2 -s ecdsa256 ec.pem",
        "generate-signing-key -v 2 -s ecdsa384 ec384.pem",
        "encrypt-flash-data -k fek32.bin -o o1.bin -a=0 d4k.bin",
        "encrypt-flash-data --aes-xts -kfek32.bin -a0x1000 -oo2.bin d4k.bin",
        "encrypt-flash-data -xk fek32.bin -a 0 -o o3.bin d4k.bin",
        "digest-sbv2-public-key -k ec.pem -o=d.bin",
        "sign-data -v=2 -k ec.pem -o s1.bin d4k.bin",
        "sign-data -v 2 -k ec.pem --skip-padding=1 -o s2.bin d4k.bin",
        "sign-data -v 2 --keyfile=ec.pem ec384.pem -o s3.bin d4k.bin",
        "sign-data -v 2 -k=ec.pem ec384.pem -o s4.bin d4k.bin",
        "verify-signature -v 2 -k=ec.pem s1.bin",
        "digest-private-key -l=16 -k ec.pem p.bin",
        "generate-flash-encryption-key -l=256 k.bin",
    ];
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs {
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    for name in ["o1.bin", "o2.bin", "o3.bin"] {
        assert_eq!(
            std::fs::read(twins.ref_dir.join(name)).ok(),
            std::fs::read(twins.our_dir.join(name)).ok(),
            "{name}"
        );
    }
    // the digest of each side's own key, in a file named `=d.bin`
    assert!(twins.ref_dir.join("=d.bin").is_file());
    assert!(twins.our_dir.join("=d.bin").is_file());
}

/// Python's stdin can seek when it is a regular file (`< image.bin`):
/// `digest-secure-bootloader` then digests it; only a pipe fails on the
/// seek. The personality failed on both.
#[test]
fn regression_seekable_stdin_image_was_refused() {
    let Some(reference) = crate::support::reference_tool("espsecure") else {
        return;
    };
    let reference = std::path::PathBuf::from(reference.get_program());
    let (tmp, fixtures) = fixture_dir();
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let args = row("digest-secure-bootloader -k sbkey32.bin --iv iv.bin -o out.bin -");
    let mut outputs = Vec::new();
    for (program, dir) in [(&reference, "ref"), (&link, "our")] {
        let dir = tmp.path().join(dir);
        copy_dir(&fixtures, &dir);
        let image = std::fs::File::open(dir.join("boot40.bin")).unwrap();
        let out = std::process::Command::new(program)
            .args(&args)
            .current_dir(&dir)
            .stdin(image)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((out.stdout, std::fs::read(dir.join("out.bin")).unwrap()));
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// A malformed `--hsm-config` ends in configparser's own message inside
/// espsecure's (`File contains no section headers.` with the line's repr,
/// `Source contains parsing errors:` listing every bad line, tab-indented
/// and expanded by rich's console, `While reading from 'FILE' [line  N]: …`
/// for a repeated section or option); a file that is not UTF-8 gets the
/// codec's message, or, where esp_sdc does not catch it, the TypeError of
/// espsecure's ValueError handler. The personality gave espboot's words.
#[test]
fn regression_malformed_hsm_config_had_espboots_own_words() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    let configs: [(&str, &[u8]); 7] = [
        ("header.ini", b"key = v\n[hsm_config]\n"),
        (
            "syntax.ini",
            b"[hsm_config]\npkcs11_lib=x\nbad line\nslot=1\nalso bad\n",
        ),
        ("last.ini", b"[hsm_config]\nbad"),
        ("section.ini", b"[hsm_config]\r\nbad\r\n[hsm_config]\r\n"),
        ("option.ini", b"[hsm_config]\nslot=1\nSLOT=2\n"),
        ("latin1.ini", b"[hsm_config]\nlabel=caf\xe9\n"),
        ("nosection.ini", b"[other]\nslot=1\n"),
    ];
    let mut lines = Vec::new();
    for (name, bytes) in configs {
        std::fs::write(fixtures.join(name), bytes).unwrap();
        lines.push(format!(
            "sign-data -v 2 --hsm --hsm-config {name} -o out.bin data.bin"
        ));
        lines.push(format!(
            "generate-sdc-certificate --hsm --hsm-config {name} --chip-info chipinfo.bin -o c.bin"
        ));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs {
        assert_ne!(reference.code, 0, "espsecure {line}: {reference:?}");
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
}

/// A USC file is read with Python's `json.load`: its decoder's messages
/// (position in characters, the BOM, trailing commas), the values serde
/// refused (NaN, Infinity, numbers past f64), and what json raises outside
/// its decoder (an integer past 4300 digits, nesting past the recursion
/// limit, bytes that are not UTF-8: a traceback, exit 1). The personality
/// gave serde_json's words, and exit 2 where espsecure exits 1.
#[test]
fn regression_usc_json_was_read_by_serde_not_by_pythons_json() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let (tmp, fixtures) = fixture_dir();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty.json", b"".to_vec()),
        ("open.json", b"{".to_vec()),
        ("trailing.json", b"{\"version\": 1, \"groups\": [1,]}".to_vec()),
        ("colon.json", "{\"vé\" 1}".as_bytes().to_vec()),
        ("lines.json", b"{\n  \"version\": 1\n  \"groups\": []\n}".to_vec()),
        ("escape.json", b"{\"a\": \"\\x\"}".to_vec()),
        ("control.json", b"{\"a\": \"\t\"}".to_vec()),
        ("extra.json", b"{} []".to_vec()),
        ("bom.json", b"\xef\xbb\xbf{}".to_vec()),
        ("nan.json", b"{\"version\": NaN}".to_vec()),
        ("inf.json", b"{\"version\": -Infinity}".to_vec()),
        ("huge.json", b"{\"version\": 1e400}".to_vec()),
        ("bigint.json", b"{\"version\": 123456789012345678901234567890}".to_vec()),
        ("small.json", b"{\"version\": 2.5e-7}".to_vec()),
        ("digits.json", format!("{{\"version\": {}}}", "9".repeat(4301)).into_bytes()),
        // the limit depends on the frames below json.load: 981 levels
        // through the espsecure command (measured by hand), fewer through
        // the tool server these tests run espsecure in
        ("deep.json", deep(1500).into_bytes()),
        ("deep-ok.json", deep(500).into_bytes()),
        ("latin1.json", b"{\"version\": \"caf\xe9\"}".to_vec()),
        (
            "dupes.json",
            b"{\"version\": 2, \"version\": 1, \"groups\": [{\"group\": \"config_flags\", \"entries\": [{\"key\": [1, {\"a\": null}], \"value\": true}]}]}".to_vec(),
        ),
    ];
    let mut lines = vec!["generate-signing-key -v 2 -s ecdsa256 ec.pem".to_owned()];
    for (name, bytes) in &files {
        std::fs::write(fixtures.join(name), bytes).unwrap();
        lines.push(format!(
            "generate-sdc-certificate --usc {name} -k ec.pem --chip-info chipinfo.bin -o out.bin"
        ));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    let mut failed = 0;
    for (line, reference, ours) in &twins.runs[1..] {
        assert_ne!(reference.code, 0, "espsecure {line}: {reference:?}");
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
        failed += usize::from(reference.code == 1);
    }
    // the digits, the depth and the file that is not UTF-8 end in a traceback
    assert_eq!(failed, 3);
}

/// esp_sdc's USC checks name the JSON value's Python type ("…, got
/// list"), refuse a group that is not an object, report an entry's key of
/// any type as unknown (with Python's repr), `digest-sdc-public-key`
/// refuses an empty `-o`, an empty `--mac` is none, a MAC's length is
/// counted in characters, and a malformed HSM config gets esp_sdc's words
/// (`Invalid HSM config file format: …`). The personality left out the types, skipped
/// such groups, called such keys malformed entries, opened `''`, and
/// counted bytes.
#[test]
fn regression_usc_and_sdc_output_checks_had_espboots_own_words() {
    let (tmp, fixtures) = fixture_dir();
    let usc = [
        ("u_list.json", r#"[1]"#),
        ("u_groups.json", r#"{"version": 1, "groups": {"a": 1}}"#),
        ("u_group.json", r#"{"version": 1, "groups": ["x"]}"#),
        (
            "u_entries.json",
            r#"{"version": 1, "groups": [{"group": "config_flags", "entries": null}]}"#,
        ),
        (
            "u_key_int.json",
            r#"{"version": 1, "groups": [{"group": "config_flags", "entries": [{"key": 5, "value": true}]}]}"#,
        ),
        (
            "u_key_list.json",
            r#"{"version": 1, "groups": [{"group": "config_flags", "entries": [{"key": ["a"], "value": true}]}]}"#,
        ),
        (
            "u_value.json",
            r#"{"version": 1, "groups": [{"group": "config_flags", "entries": [{"key": "enable_jtag", "value": 1.5}]}]}"#,
        ),
    ];
    for (name, text) in usc {
        std::fs::write(fixtures.join(name), text).unwrap();
    }
    let Some(setup) = reference_runs(
        &fixtures,
        &[row("generate-signing-key -v 2 -s ecdsa256 ec.pem")],
    ) else {
        return;
    };
    assert_eq!(setup[0].code, 0);
    let mut rows: Vec<Vec<String>> = usc
        .iter()
        .map(|(name, _)| {
            row(&format!(
                "generate-sdc-certificate -k ec.pem --chip-info chipinfo.bin --usc {name} -o c.bin"
            ))
        })
        .collect();
    let mut empty_output = row("digest-sdc-public-key -k ec.pem -o");
    empty_output.push(String::new());
    rows.push(empty_output);
    // an HSM config without pkcs11_lib: esp_sdc's own words
    std::fs::write(fixtures.join("nolib.ini"), "[hsm_config]\na=1\n").unwrap();
    rows.push(row(
        "digest-sdc-public-key --hsm --hsm-config nolib.ini -o d.bin",
    ));
    rows.push(row(
        "generate-sdc-certificate --hsm --hsm-config nolib.ini --chip-info chipinfo.bin -o c.bin",
    ));
    // MACs: an empty one is none; Python counts characters, not bytes
    std::fs::write(fixtures.join("bom.hex"), "\u{feff}001122334455\n").unwrap();
    std::fs::write(fixtures.join("digit.hex"), "0011223344\u{665}\n").unwrap();
    for mac in [
        "",
        "0011223344\u{665}\u{665}",
        "\u{ff10}01122334455",
        "bom.hex",
        "digit.hex",
    ] {
        let mut argv = row("generate-sdc-certificate -k ec.pem -o c.bin --mac");
        argv.push(mac.to_owned());
        rows.push(argv);
    }
    let theirs = reference_runs(&fixtures, &rows).unwrap();
    let link = tmp.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    for (argv, reference) in rows.iter().zip(&theirs) {
        let ours = personality_run(&link, &fixtures, argv);
        assert_ne!(reference.code, 0, "{argv:?}");
        assert!(
            same_run(&ours, reference),
            "{argv:?}\n{reference:?}\n{ours:?}"
        );
    }
}

/// Python's `json` keeps a lone surrogate escape (`"\ud800"`) in the
/// string it reads, and esp_sdc's messages quote it with `repr()`
/// (`'\ud800'`); the personality read it as U+FFFD and quoted `'�'`.
#[test]
fn regression_lone_surrogates_in_usc_json_were_read_as_replacement_characters() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let files: [(&str, &[u8]); 3] = [
        ("version.json", br#"{"version": "\ud800"}"#),
        ("pair.json", br#"{"version": "\ud83d\ude00\udfff"}"#),
        (
            "key.json",
            br#"{"version": 1, "groups": [{"group": "config_flags", "entries": [{"key": "a\udcffb", "value": true}]}]}"#,
        ),
    ];
    let twins = sdc_runs_on_files(&files, |name| {
        format!(
            "generate-sdc-certificate --usc {name} -k ec.pem --chip-info chipinfo.bin -o out.bin"
        )
    });
    for (line, reference, _) in &twins.runs[1..] {
        assert_ne!(reference.code, 0, "espsecure {line}: {reference:?}");
    }
}

/// espsecure reads a `--mac` `.hex` file as a Python text file: UTF-8
/// strictly (an invalid byte is a UnicodeDecodeError, whose handler in
/// `_main` then fails on the error's bytes), line ends translated (`\r\n`
/// and `\r` become `\n`, which the MAC's normalization drops), and
/// `str.strip()` blanks (which include U+001C..U+001F). The personality
/// read it lossily, kept each `\r` as a character and trimmed only Rust's
/// whitespace, so a MAC file saved with Windows line ends was refused.
#[test]
fn regression_mac_hex_files_were_not_read_as_python_text_files() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let files: [(&str, &[u8]); 7] = [
        ("crlf.hex", b"30:ed:a0\r\ned:78:9d\r\n"),
        ("cr.hex", b"30ed\ra0ed\r789d\r"),
        ("crcr.hex", b"30eda0ed789d\r\r\n"),
        ("sep.hex", b"\x1c30eda0ed789d\x1f\x1d"),
        ("nel.hex", "\u{85}30eda0ed789d\u{2029}".as_bytes()),
        ("latin1.hex", b"30eda0ed789d\xe9\n"),
        ("vt.hex", b"30eda0ed78\x0b9d"),
    ];
    sdc_runs_on_files(&files, |name| {
        format!("generate-sdc-certificate -k ec.pem --mac {name} -o rand_c-{name}.bin")
    });
}

/// espsecure's `json.load` reads the USC file as a text file: `\r\n` and a
/// lone `\r` are one `\n` before the decoder counts lines, columns and
/// characters. The personality decoded the bytes, so a file saved with
/// Windows line ends had its errors one character further per line, and
/// with old Mac line ends all on line 1.
#[test]
fn regression_usc_json_positions_counted_carriage_returns() {
    if crate::support::reference_tool("espsecure").is_none() {
        return;
    }
    let files: [(&str, &[u8]); 4] = [
        ("crlf.json", b"{\r\n  \"version\": 1,\r\n  \"groups\": [x]\r\n}\r\n"),
        ("cr.json", b"{\r  \"version\": 1,\r  \"groups\": [x]\r}\r"),
        ("control.json", b"{\r\n\"version\": \"a\rb\"}"),
        (
            "good.json",
            b"{\r\n\"version\": 1,\r\"groups\": [{\"group\": \"config_flags\", \"entries\": [{\"key\": \"enable_jtag\", \"value\": true}]}]\r\n}",
        ),
    ];
    let twins = sdc_runs_on_files(&files, |name| {
        format!("generate-sdc-certificate --usc {name} -k ec.pem --chip-info chipinfo.bin -o out-{name}.bin")
    });
    assert_eq!(twins.runs[4].1.code, 0, "{:?}", twins.runs[4].1);
}

/// Writes each of `files` into a fresh fixture directory and runs, after a
/// P-256 key `ec.pem` is made, `command(name)` for each file through
/// espsecure and through the personality; each run must agree
/// ([`same_run`]). Returns the runs, the key's first.
fn sdc_runs_on_files(files: &[(&str, &[u8])], command: impl Fn(&str) -> String) -> TwinRuns {
    let (tmp, fixtures) = fixture_dir();
    let mut lines = vec!["generate-signing-key -v 2 -s ecdsa256 ec.pem".to_owned()];
    for (name, bytes) in files {
        std::fs::write(fixtures.join(name), bytes).unwrap();
        lines.push(command(name));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let twins = twin_runs(tmp.path(), &fixtures, &lines);
    for (line, reference, ours) in &twins.runs[1..] {
        assert!(
            same_run(ours, reference),
            "`espsecure {line}`\n{reference:?}\n{ours:?}"
        );
    }
    twins
}
