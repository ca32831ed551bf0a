//! Keys named by a PKCS#11 URI (`pkcs11:…`) where a command takes a key
//! file: the URI is resolved by `pkcs11-keys`; this module only recognises
//! the argument and phrases errors with the option and the URI, never the
//! PIN.

use anyhow::Context;
use pkcs11_keys::Pkcs11Key;

/// True when a key argument is a PKCS#11 URI rather than a file name (the
/// scheme is case-insensitive, RFC 7512 §2.3).
pub fn is_uri(arg: &std::ffi::OsStr) -> bool {
    arg.to_str()
        .and_then(|s| s.get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
}

/// Opens the token key `uri` names; errors read `ARG URI: why`.
pub fn open(arg: &str, uri: &std::ffi::OsStr) -> anyhow::Result<Pkcs11Key> {
    let text = uri.to_string_lossy();
    Pkcs11Key::open_uri(&text).with_context(|| format!("{arg} {}", pkcs11_keys::redact_pin(&text)))
}
