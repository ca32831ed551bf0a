//! The one PEM scanner: finds `-----BEGIN …-----` blocks anywhere in a
//! file and decodes them whatever their line width.
//!
//! RFC 7468 §2 asks parsers to be lenient, and the tools that write key
//! files are: OpenSSL wraps at 64 columns, many HSM exports and esptool's
//! own test keys at 76, Windows tools end lines with CRLF, and
//! `openssl pkcs12` puts `Bag Attributes` text before the block. The
//! RustCrypto decoder (`pem-rfc7468`) accepts only strict 64-column
//! bodies, so the scanner normalises each body to that once and lets
//! `pem-rfc7468` do the base64.

use zeroize::Zeroizing;

use crate::{KeyFileError, KeyFormat};

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";
/// RFC 7468 §2: encoders wrap at exactly 64 characters.
const LINE_WIDTH: usize = 64;

/// One `-----BEGIN label-----` … `-----END label-----` block, not yet decoded.
#[derive(Clone, Copy)]
pub struct PemBlock<'a> {
    label: &'a str,
    body: &'a [u8],
}

impl core::fmt::Debug for PemBlock<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The body may be a private key.
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl<'a> PemBlock<'a> {
    /// The block's label (`PRIVATE KEY`, `EC PARAMETERS`, …).
    #[must_use]
    pub fn label(&self) -> &'a str {
        self.label
    }

    /// The raw text between the `BEGIN` and `END` lines.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The key format the label names, if any.
    #[must_use]
    pub fn format(&self) -> Option<KeyFormat> {
        KeyFormat::from_pem_label(self.label)
    }

    /// True for a private key block under OpenSSL's legacy encryption
    /// (a `Proc-Type: 4,ENCRYPTED` header).
    #[must_use]
    pub fn is_legacy_encrypted(&self) -> bool {
        let public = self.format().is_some_and(|f| !f.is_private());
        !public
            && self
                .headers()
                .any(|(name, value)| name == b"Proc-Type" && contains(value, b"ENCRYPTED"))
    }

    /// The RFC 1421 headers before the base64 ("Name: value", trimmed):
    /// ':' is not in the base64 alphabet, so any line with one is a
    /// header.
    fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.body.split(|&b| b == b'\n').filter_map(|line| {
            let line = line.trim_ascii();
            let colon = line.iter().position(|&b| b == b':')?;
            Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
        })
    }

    /// Decodes the body: any line width, CRLF or LF, blanks around lines.
    ///
    /// # Errors
    /// [`KeyFileError::PasswordRequired`] for a block under OpenSSL's
    /// legacy encryption (see [`Self::decode_with`]),
    /// [`KeyFileError::BadBase64`] when the body is not base64.
    pub fn decode(&self) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        self.decode_with(None)
    }

    /// [`Self::decode`], decrypting a private key block under OpenSSL's
    /// legacy encryption (`Proc-Type: 4,ENCRYPTED`, `DEK-Info`) with
    /// `password`. Public key blocks are never encrypted: readers (Python
    /// `cryptography` among them) ignore their headers.
    ///
    /// # Errors
    /// As [`Self::decode`]; [`KeyFileError::WrongPassword`] when the
    /// password does not decrypt the block,
    /// [`KeyFileError::UnsupportedLegacyCipher`] for a cipher this crate
    /// does not decrypt.
    pub fn decode_with(&self, password: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        let bad = || KeyFileError::BadBase64 {
            label: self.label.to_owned(),
        };
        let encrypted = self.is_legacy_encrypted();
        let dek_info = self
            .headers()
            .filter(|(name, _)| *name == b"DEK-Info")
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
            .last();
        let mut base64 = Zeroizing::new(Vec::with_capacity(self.body.len()));
        for line in self.body.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.contains(&b':') {
                continue; // a header
            }
            for &b in line {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => base64.push(b),
                    b' ' | b'\t' => {}
                    _ => return Err(bad()),
                }
            }
        }
        // cryptography's order: a missing DEK-Info, then no password, then
        // the cipher and IV
        let encryption = match dek_info {
            _ if !encrypted => None,
            None => {
                return Err(KeyFileError::UnsupportedLegacyCipher {
                    cipher: String::new(),
                })
            }
            Some(info) => {
                let password = password.ok_or(KeyFileError::PasswordRequired)?;
                Some((crate::legacy::DekInfo::parse(&info)?, password))
            }
        };
        let mut normalised = Zeroizing::new(Vec::with_capacity(base64.len() * 65 / 64 + 80));
        push_boundary(&mut normalised, BEGIN, self.label);
        for chunk in base64.chunks(LINE_WIDTH) {
            normalised.extend_from_slice(chunk);
            normalised.push(b'\n');
        }
        push_boundary(&mut normalised, END, self.label);
        let (_, der) = pem_rfc7468::decode_vec(&normalised).map_err(|_| bad())?;
        let der = Zeroizing::new(der);
        match encryption {
            None => Ok(der),
            Some((info, password)) => info.decrypt(password, &der),
        }
    }
}

fn push_boundary(out: &mut Vec<u8>, which: &[u8], label: &str) {
    out.extend_from_slice(which);
    out.extend_from_slice(label.as_bytes());
    out.extend_from_slice(DASHES);
    out.push(b'\n');
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// The PEM blocks of `input`, in file order; text around them is ignored.
/// A block that never ends is an error and ends the iteration.
#[must_use]
pub fn blocks(input: &[u8]) -> Blocks<'_> {
    Blocks { rest: input }
}

/// Iterator returned by [`blocks`].
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<PemBlock<'a>, KeyFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let start = find(self.rest, BEGIN)? + BEGIN.len();
            let after = &self.rest[start..];
            let line_end = after
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(after.len());
            // `-----BEGIN label-----` must close on its own line; otherwise
            // this is prose that mentions a boundary: keep looking.
            let Some(label_len) = find(&after[..line_end], DASHES) else {
                self.rest = after;
                continue;
            };
            let Ok(label) = core::str::from_utf8(&after[..label_len]) else {
                self.rest = after;
                continue;
            };
            let body_start = label_len + DASHES.len();
            let mut end_marker = END.to_vec();
            end_marker.extend_from_slice(label.as_bytes());
            end_marker.extend_from_slice(DASHES);
            let Some(body_len) = find(&after[body_start..], &end_marker) else {
                self.rest = &[];
                return Some(Err(KeyFileError::UnterminatedPem {
                    label: label.to_owned(),
                }));
            };
            let body = &after[body_start..body_start + body_len];
            self.rest = &after[body_start + body_len + end_marker.len()..];
            return Some(Ok(PemBlock { label, body }));
        }
    }
}

/// `der` as PEM the way OpenSSL and Python `cryptography` write it: the
/// format's label, 64-column base64, LF line ends.
///
/// # Errors
/// Only if the encoder fails (not expected).
pub fn encode(format: KeyFormat, der: &[u8]) -> Result<Zeroizing<String>, KeyFileError> {
    pem_rfc7468::encode_string(format.pem_label(), pem_rfc7468::LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|_| KeyFileError::Encode {
            format,
            source: der::ErrorKind::Failed.into(),
        })
}

/// The start of input that holds no PEM block, for an error message: at
/// most 16 characters of its first line, and only when that line is plain
/// text that cannot be key material (not base64 or hex, not binary).
pub(crate) fn harmless_prefix(input: &[u8]) -> Option<String> {
    let text = core::str::from_utf8(input).ok()?;
    let line = text.trim_start().lines().next()?.trim_end();
    let looks_encoded = line
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if line.is_empty() || looks_encoded || !line.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return None;
    }
    Some(line.chars().take(16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_among_text_in_order() {
        let text = b"Bag Attributes\n    localKeyID: 01\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\nsome words\r\n-----BEGIN PUBLIC KEY-----\r\nAAEC\r\n-----END PUBLIC KEY-----\r\ntrailing";
        let found: Vec<_> = blocks(text).map(|b| b.map(|b| b.label())).collect();
        assert_eq!(
            found
                .iter()
                .map(|r| *r.as_ref().unwrap())
                .collect::<Vec<_>>(),
            ["EC PARAMETERS", "PUBLIC KEY"]
        );
        let public = blocks(text).nth(1).unwrap().unwrap();
        assert_eq!(public.format(), Some(KeyFormat::Spki));
        assert_eq!(*public.decode().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn any_line_width_decodes_to_the_same_bytes() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let strict = encode(KeyFormat::Pkcs8, &der).unwrap();
        let body: String = strict.lines().filter(|l| !l.starts_with("-----")).collect();
        for width in [1, 63, 64, 65, 76, 80, 1000] {
            let mut pem = String::from("-----BEGIN PRIVATE KEY-----\r\n");
            for chunk in body.as_bytes().chunks(width) {
                pem.push_str("  ");
                pem.push_str(core::str::from_utf8(chunk).unwrap());
                pem.push_str(" \r\n");
            }
            pem.push_str("-----END PRIVATE KEY-----");
            let block = blocks(pem.as_bytes()).next().unwrap().unwrap();
            assert_eq!(*block.decode().unwrap(), der, "width {width}");
        }
    }

    #[test]
    fn broken_blocks_are_typed_errors() {
        let unterminated = b"-----BEGIN PRIVATE KEY-----\nAAAA\n";
        assert!(matches!(
            blocks(unterminated).next(),
            Some(Err(KeyFileError::UnterminatedPem { label })) if label == "PRIVATE KEY"
        ));
        let mismatched = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            blocks(mismatched).next(),
            Some(Err(KeyFileError::UnterminatedPem { .. }))
        ));
        let not_base64 = b"-----BEGIN PRIVATE KEY-----\nAA*A\n-----END PRIVATE KEY-----\n";
        let block = blocks(not_base64).next().unwrap().unwrap();
        assert!(matches!(
            block.decode(),
            Err(KeyFileError::BadBase64 { .. })
        ));
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let block = blocks(legacy).next().unwrap().unwrap();
        assert!(matches!(
            block.decode_with(Some(b"pw")),
            Err(KeyFileError::UnsupportedLegacyCipher { .. })
        ));
        let no_dek_info = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let block = blocks(no_dek_info).next().unwrap().unwrap();
        assert!(matches!(
            block.decode(),
            Err(KeyFileError::UnsupportedLegacyCipher { .. })
        ));
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,000102030405060708090a0b0c0d0e0f\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let block = blocks(legacy).next().unwrap().unwrap();
        assert!(matches!(
            block.decode(),
            Err(KeyFileError::PasswordRequired)
        ));
        assert!(matches!(
            block.decode_with(Some(b"pw")),
            Err(KeyFileError::WrongPassword)
        ));
    }

    #[test]
    fn prose_mentioning_a_boundary_is_not_a_block() {
        let text = b"see -----BEGIN the docs\n-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n";
        let all: Vec<_> = blocks(text).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap().label(), "PUBLIC KEY");
    }

    #[test]
    fn only_plain_text_is_quoted() {
        assert_eq!(
            harmless_prefix(b"not a key\n").as_deref(),
            Some("not a key")
        );
        assert_eq!(
            harmless_prefix(b"  a very long line of plain words\n").as_deref(),
            Some("a very long line")
        );
        // Base64 or hex could be a raw secret; binary is not text.
        assert_eq!(harmless_prefix(b"0VoElcTCqP8weM5Jtfyy3Q==\n"), None);
        assert_eq!(harmless_prefix(b"00112233445566778899aabbccddeeff"), None);
        assert_eq!(harmless_prefix(&[0x30, 0x82, 0x01, 0xff, 0x80]), None);
        assert_eq!(harmless_prefix(b""), None);
    }
}
