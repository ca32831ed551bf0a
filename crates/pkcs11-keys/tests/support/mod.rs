//! SoftHSM2 tokens and the pinned reference tools for the interop tests.
//!
//! Every test gets its own token directory and configuration file. SoftHSM2
//! reads `$SOFTHSM2_CONF` when the module is initialised, which happens in
//! this process, so the tests that use a token run one at a time (a global
//! lock held by [`SoftHsm`]); keys must be dropped before their `SoftHsm`
//! (declare the `SoftHsm` first) so the module is finalized and the next
//! test's configuration is read.
//!
//! A missing SoftHSM2 or reference tool fails the test; only
//! `ESPBOOT_SKIP_INTEROP=1`, set on purpose, skips these tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pkcs11_keys::{KeyLocator, ObjectSelector, Pin, TokenSelector};

/// The user PIN of every test token.
pub const USER_PIN: &str = "fa57-u5er-pin";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "fa57-s0-pin";

static TOKEN_LOCK: Mutex<()> = Mutex::new(());

/// True when the developer deliberately turned interop tests off.
pub fn interop_skipped() -> bool {
    std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1")
}

/// Returns from the calling test when interop tests are deliberately off.
#[macro_export]
macro_rules! skip_without_interop {
    () => {
        if $crate::support::interop_skipped() {
            eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping a SoftHSM2 interop test");
            return;
        }
    };
}

/// Where Debian's `softhsm2` package puts the module, for runs outside
/// `scripts/test` (which exports `ESPBOOT_SOFTHSM2_MODULE`).
const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 module.
///
/// # Panics
/// When SoftHSM2 is not installed.
pub fn softhsm_module() -> PathBuf {
    if let Some(path) = std::env::var_os("ESPBOOT_SOFTHSM2_MODULE") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "ESPBOOT_SOFTHSM2_MODULE={} is not a file",
            path.display()
        );
        return path;
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed (no libsofthsm2.so in {MODULE_CANDIDATES:?}): \
                 run scripts/test, which installs the Debian package softhsm2, or \
                 `apt-get install softhsm2`, or set ESPBOOT_SKIP_INTEROP=1 on purpose"
            )
        })
}

/// Directory of the pinned reference tools.
pub fn reference_bin_dir() -> PathBuf {
    match std::env::var_os("ESPBOOT_REFERENCE_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
    }
}

/// A pinned reference tool (`python`, `espsecure`, `imgtool`).
///
/// # Panics
/// When it is not installed.
pub fn reference_tool(name: &str) -> Command {
    let path = reference_bin_dir().join(name);
    assert!(
        path.is_file(),
        "reference tool {name} not found at {} (run scripts/test, which installs \
         the pinned tools into .venv/, or set ESPBOOT_SKIP_INTEROP=1 on purpose)",
        path.display()
    );
    Command::new(path)
}

/// Runs `cmd`, panicking with its output when it fails.
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A private SoftHSM2 token directory and configuration.
pub struct SoftHsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub module: PathBuf,
    _lock: MutexGuard<'static, ()>,
}

impl SoftHsm {
    /// A fresh token directory, made the one this process's SoftHSM2 uses.
    pub fn new() -> Self {
        Self::with_config("")
    }

    /// [`SoftHsm::new`] with extra `softhsm2.conf` lines (e.g.
    /// `slots.mechanisms = -CKM_ECDSA` to take a mechanism away).
    pub fn with_config(extra: &str) -> Self {
        let lock = TOKEN_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let module = softhsm_module();
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("token dir");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n{extra}\n",
                tokens.display()
            ),
        )
        .expect("softhsm2.conf");
        // SoftHSM2 reads it at C_Initialize; the lock keeps other tests'
        // tokens out until this one's keys are dropped.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        Self {
            dir,
            conf,
            module,
            _lock: lock,
        }
    }

    /// `softhsm2-util` with this token directory.
    pub fn util(&self) -> Command {
        let mut cmd = Command::new("softhsm2-util");
        cmd.env("SOFTHSM2_CONF", &self.conf);
        cmd
    }

    /// Initialises a token with [`SO_PIN`] and [`USER_PIN`]; returns its
    /// slot id.
    pub fn init_token(&self, label: &str) -> u64 {
        let out = run(self.util().args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            USER_PIN,
        ]));
        // "The token has been initialized and is reassigned to slot N"
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no slot number in softhsm2-util output: {text}"))
    }

    /// Imports a PKCS#8 PEM key pair into `token` as `label` / `id`.
    pub fn import(&self, pem: &Path, token: &str, label: &str, id: &[u8]) {
        run(self.util().args([
            "--import",
            &pem.display().to_string(),
            "--token",
            token,
            "--label",
            label,
            "--id",
            &hex::encode(id),
            "--pin",
            USER_PIN,
        ]));
    }

    /// A locator for key `label` on `token`, with the user PIN.
    pub fn locator(&self, token: &str, label: &str) -> KeyLocator {
        let mut locator = KeyLocator::new(
            &self.module,
            TokenSelector::with_label(token),
            ObjectSelector::with_label(label),
        );
        locator.pin = Some(Pin::new(USER_PIN.into()));
        locator
    }

    /// A path in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The algorithms the reference Python makes keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rsa2048,
    Rsa3072,
    P192,
    P256,
    P384,
    Ed25519,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rsa2048 => "rsa2048",
            Kind::Rsa3072 => "rsa3072",
            Kind::P192 => "p192",
            Kind::P256 => "p256",
            Kind::P384 => "p384",
            Kind::Ed25519 => "ed25519",
        }
    }
}

/// The pinned Python `cryptography`, generating keys and checking
/// signatures independently of RustCrypto.
const PYTHON_CRYPTO: &str = r#"
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

op = sys.argv[1]
if op == "generate":
    kind, path = sys.argv[2], sys.argv[3]
    key = {
        "rsa2048": lambda: rsa.generate_private_key(65537, 2048),
        "rsa3072": lambda: rsa.generate_private_key(65537, 3072),
        "p192": lambda: ec.generate_private_key(ec.SECP192R1()),
        "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
    }[kind]()
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    sys.stdout.write(key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo).hex())
elif op == "verify":
    scheme, spki, data, sig = sys.argv[2], bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
    key = serialization.load_der_public_key(spki)
    if scheme == "rsa-pss-sha256":
        # Exactly salt 32 with MGF1-SHA-256, as espsecure and imgtool verify.
        key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                   utils.Prehashed(hashes.SHA256()))
    elif scheme in ("ecdsa-sha256", "ecdsa-sha384"):
        # r || s, as the token returns it; DER-encoded here by Python.
        half = len(sig) // 2
        der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                         int.from_bytes(sig[half:], "big"))
        digest = hashes.SHA256() if scheme == "ecdsa-sha256" else hashes.SHA384()
        key.verify(der, data, ec.ECDSA(utils.Prehashed(digest)))
    elif scheme == "ed25519":
        key.verify(sig, data)
    else:
        raise SystemExit("unknown scheme " + scheme)
    print("valid")
"#;

/// Generates a key with the reference Python into `path` (PKCS#8 PEM);
/// returns its SubjectPublicKeyInfo DER.
pub fn python_generate(kind: Kind, path: &Path) -> Vec<u8> {
    let out = run(reference_tool("python").args([
        "-c",
        PYTHON_CRYPTO,
        "generate",
        kind.name(),
        &path.display().to_string(),
    ]));
    hex::decode(String::from_utf8_lossy(&out.stdout).trim()).expect("hex SPKI")
}

/// Whether the reference Python `cryptography` accepts `signature`
/// (raw RSA, `r || s` ECDSA, raw Ed25519) over `data` (a digest, or the message
/// for Ed25519) with the key `spki`.
pub fn python_verifies(scheme: &str, spki: &[u8], data: &[u8], signature: &[u8]) -> bool {
    let out = reference_tool("python")
        .args([
            "-c",
            PYTHON_CRYPTO,
            "verify",
            scheme,
            &hex::encode(spki),
            &hex::encode(data),
            &hex::encode(signature),
        ])
        .output()
        .expect("start python");
    out.status.success() && out.stdout.starts_with(b"valid")
}
