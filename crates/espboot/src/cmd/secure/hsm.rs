//! `--hsm --hsm-config FILE` of `sign-data` and `verify-signature`: the
//! Secure Boot V2 key is in a PKCS#11 token. `pkcs11-keys` reads the file
//! and opens the key, `esp_secure::sbv2::TokenSigner` signs through the
//! same path as a key file; this module prints espsecure 5.6.0's progress
//! lines and failure texts (`espsecure/esp_hsm_sign/__init__.py`:
//! `establish_session`, `get_privkey_info`, `get_pubkey`, `sign_payload`,
//! `close_connection`, and `exceptions.py` `handle_exceptions`).

use esp_secure::sbv2::TokenSigner;
use pkcs11_keys::{
    HsmConfig, HsmConfigError, HsmConfigFile, HsmUse, KeyClass, KeyLocator, ObjectSelector, Pin,
    Pkcs11Error, Pkcs11Key,
};

use super::*;

/// A failure espsecure reports with `log.err` / `log.die` (one `ERROR: …`
/// line each, exit status 1) rather than as a `FatalError`. The
/// `espboot secure` names print `ours`, one line naming the config file.
#[derive(Debug, thiserror::Error)]
#[error("{ours}")]
pub(super) struct Died {
    ours: String,
    lines: Vec<String>,
}

impl Died {
    /// espsecure's `ERROR:` lines, in order.
    pub(super) fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// The `--hsm-config` file and the key it names. espsecure reads each
/// value when it needs it (configparser interpolates it then), so a value
/// that cannot be read fails only when its operation reaches it: each
/// operation resolves the values it reads ([`Hsm::stage_config`]).
pub(super) struct Hsm {
    path: PathBuf,
    file: HsmConfigFile,
    /// The PIN asked for when the file has no `credentials`.
    prompted_pin: Option<Pin>,
}

/// Which operation of espsecure's a token failure interrupted: it decides
/// the progress lines printed before it and espsecure's closing `ERROR:`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    PublicKey,
    PrivateKey,
}

/// Whose words a malformed `--hsm-config` gets: espsecure's signing
/// commands' (`Incorrect HSM config file format (…).`) or esp_sdc's
/// (`Invalid HSM config file format: …`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ConfigWords {
    Espsecure,
    Sdc,
}

impl ConfigWords {
    fn bad_format(self, python: &str) -> String {
        match self {
            Self::Espsecure => format!("Incorrect HSM config file format ({python})."),
            Self::Sdc => format!("Invalid HSM config file format: {python}"),
        }
    }
}

impl Hsm {
    /// Reads `--hsm-config`; `missing` is espsecure's fatal message when
    /// `--hsm` came without it, `words` those for a malformed file. Asks
    /// for the PIN when the file has no `credentials`, as espsecure does
    /// (`$ESPBOOT_PASSWORD`, else the terminal).
    pub(super) fn read(
        path: Option<&Path>,
        missing: &str,
        words: ConfigWords,
    ) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Err(fatal(
                "--hsm needs --hsm-config FILE (the HSM's PKCS#11 module, slot, key label and PIN)",
                missing,
            ));
        };
        let file = HsmConfigFile::read(path).map_err(|e| {
            // esp_sdc catches configparser's errors only: a file that is not
            // UTF-8 is a UnicodeDecodeError, a ValueError, whose handler in
            // espsecure's `_main` trips over its bytes argument
            if words == ConfigWords::Sdc {
                if let HsmConfigError::InFile { source, .. } = &e {
                    if let HsmConfigError::NotUtf8 { .. } = source.as_ref() {
                        return uncaught(
                            format!("--hsm-config {e}"),
                            "TypeError: a bytes-like object is required, not 'str'",
                        );
                    }
                }
            }
            // Python's configparser wording inside espsecure's message
            let python = e
                .configparser_message(&path.to_string_lossy())
                .unwrap_or_else(|| match &e {
                    HsmConfigError::InFile { source, .. } => source.to_string(),
                    other => other.to_string(),
                });
            fatal(format!("--hsm-config {e}"), words.bad_format(&python))
        })?;
        // read_hsm_config asks for the PIN when the option is absent
        let mut prompted_pin = None;
        if !file.has_option("credentials") {
            let prompt = "Please enter the PIN of your HSM:\n";
            let pin = match crate::cmd::key_file::read_password(prompt, false)? {
                Some(pin) => pin,
                // Python's getpass falls back to a line of stdin when there
                // is no terminal; scripts pipe the PIN in that way.
                None => read_pin_line(prompt).with_context(|| {
                    format!(
                        "--hsm-config {}: no `credentials` (the PIN); add it, set {} or pipe it on stdin",
                        path.display(),
                        crate::cmd::key_file::PASSWORD_ENV
                    )
                })?,
            };
            let pin = String::from_utf8(pin.to_vec()).map_err(|_| {
                anyhow::anyhow!("--hsm-config {}: the PIN is not UTF-8", path.display())
            })?;
            prompted_pin = Some(Pin::new(pin));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            prompted_pin,
        })
    }

    /// The values `stage` reads, in espsecure's order, with the PIN asked
    /// for when the file has none; or the first that cannot be read.
    fn stage_config(&self, stage: Stage) -> Result<HsmConfig, HsmConfigError> {
        let operation = match stage {
            Stage::PrivateKey => HsmUse::Signing,
            Stage::PublicKey => HsmUse::PublicKey,
        };
        let mut config = self.file.config_for(operation)?;
        if config.credentials.is_none() {
            config.credentials = self.prompted_pin.clone();
        }
        Ok(config)
    }

    /// The configuration `stage` uses, or the failure espsecure meets
    /// where it reads the value it cannot read.
    fn config_for(&self, stage: Stage) -> anyhow::Result<HsmConfig> {
        self.stage_config(stage)
            .map_err(|e| self.value_failure(stage, e))
    }

    /// espsecure's run up to a value it cannot read (`e`): the session's
    /// first line, then what `establish_session` meets before it reads
    /// that value (a missing module, no token), and the value's exception
    /// (configparser's, or `int()`'s for the slot) as the traceback's last
    /// line. A negative slot is an integer espsecure takes (and falls back
    /// to the last slot); espboot reports no such token.
    fn value_failure(&self, stage: Stage, e: HsmConfigError) -> anyhow::Error {
        outln!("Trying to establish a session with the HSM...");
        let ours = |e: &HsmConfigError| format!("--hsm-config {}: {e}", self.path.display());
        let raise = |e: &HsmConfigError| match e.python_exception() {
            Some(line) => uncaught(ours(e), line),
            None => self.died(
                &ours(e),
                vec![
                    "No such token found.".into(),
                    "Session establishment failed.".into(),
                ],
            ),
        };
        let lib = match self.file.value("pkcs11_lib") {
            Ok(Some(lib)) => PathBuf::from(lib.as_str()),
            Ok(None) => return raise(&e),
            Err(lib_error) => return raise(&lib_error),
        };
        if !lib.exists() {
            return self.died(
                &ours(&e),
                vec![format!("LIB file does not exist at \"{}\".", lib.display())],
            );
        }
        let slots = match pkcs11_keys::slots_with_token(&lib) {
            Ok(slots) => slots,
            Err(module) => {
                return self.died(
                    &format!("--hsm-config {}: {module}", self.path.display()),
                    vec![
                        "<class 'pkcs11.exceptions.PKCS11Error'>: ".into(),
                        "Session establishment failed.".into(),
                    ],
                )
            }
        };
        if slots.is_empty() {
            // `for slot in lib.get_slots(...)` ran no round: `slot` is unbound
            return uncaught(
                format!("--hsm-config {}: no slot holds a token", self.path.display()),
                "UnboundLocalError: cannot access local variable 'slot' where it is not associated with a value",
            );
        }
        let slot = match self.file.slot() {
            Ok(slot) => slot,
            Err(slot_error) => return raise(&slot_error),
        };
        let pin = match self.file.credentials() {
            Ok(pin) => pin.or_else(|| self.prompted_pin.clone()),
            Err(pin_error) => return raise(&pin_error),
        };
        // Only a label is left: the session opens (or fails) first. Opening
        // it with a label no token holds tells which, before the label is read.
        let mut probe = KeyLocator::new(
            &lib,
            pkcs11_keys::TokenSelector::with_slot_id(slot),
            ObjectSelector::with_label("\u{0}espboot: no key has this label"),
        );
        probe.pin = pin;
        let facts = SessionFacts {
            slot,
            label_pubkey_missing: !self.file.has_option("label_pubkey"),
        };
        match Pkcs11Key::open(&probe) {
            Err(Pkcs11Error::NoSuchKey { .. }) => {}
            Err(session) => return self.failure(stage, &facts, session),
            Ok(_) => {}
        }
        facts.session_opened();
        if stage == Stage::PublicKey {
            facts.extracting_public_key();
        }
        raise(&e)
    }

    fn died(&self, ours: &str, lines: Vec<String>) -> anyhow::Error {
        anyhow::Error::new(Died {
            ours: ours.to_owned(),
            lines,
        })
    }

    /// The token's public key (`extract_pubkey_from_hsm`), with
    /// espsecure's lines.
    pub(super) fn public_key(&self) -> anyhow::Result<sbv2::PublicKey> {
        let config = self.config_for(Stage::PublicKey)?;
        let facts = SessionFacts::of(&config);
        outln!("Trying to establish a session with the HSM...");
        let locator = config.locator();
        let public = pkcs11_keys::read_public_key(&locator)
            .map_err(|e| self.failure(Stage::PublicKey, &facts, e))?;
        facts.session_opened();
        facts.extracting_public_key();
        let label = config.label_pubkey.as_deref().unwrap_or(&config.label);
        outln!("Got public key with label {label}.");
        outln!("Connection closed successfully.");
        sbv2::PublicKey::try_from(public).map_err(|e| {
            anyhow::Error::new(e).context(format!("--hsm-config {}", self.path.display()))
        })
    }

    /// Opens the private key for signing (`get_privkey_info`); its lines
    /// are printed when it signs ([`HsmSigner`]), where espsecure prints
    /// them. `public` is the key the block carries: the token's, or the
    /// `--pub-key` given with `--hsm` (espsecure then reads none from the
    /// token, and a signature it does not verify is refused).
    pub(super) fn signer(&self, public: Option<sbv2::PublicKey>) -> anyhow::Result<HsmSigner> {
        let config = self.config_for(Stage::PrivateKey)?;
        let facts = SessionFacts::of(&config);
        let key = Pkcs11Key::open(&config.locator()).map_err(|e| {
            outln!("Trying to establish a session with the HSM...");
            self.failure(Stage::PrivateKey, &facts, e)
        })?;
        let token = TokenSigner::try_from(key).map_err(|e| {
            anyhow::Error::new(e).context(format!("--hsm-config {}", self.path.display()))
        })?;
        let public = public.unwrap_or_else(|| token.public_key());
        Ok(HsmSigner {
            facts,
            label: config.label,
            token,
            public,
        })
    }

    /// The error for a token failure at `stage`, after the progress lines
    /// espsecure prints before that failure.
    fn failure(&self, stage: Stage, facts: &SessionFacts, e: Pkcs11Error) -> anyhow::Error {
        let closing = match stage {
            Stage::PublicKey => "Failed to extract the public key.",
            Stage::PrivateKey => "Failed to get the private key.",
        };
        let session = "Session establishment failed.";
        let lines: Vec<String> = match &e {
            Pkcs11Error::ModuleLoad { path, .. } if !path.exists() => {
                vec![format!(
                    "LIB file does not exist at \"{}\".",
                    path.display()
                )]
            }
            Pkcs11Error::NoSuchToken { .. } | Pkcs11Error::AmbiguousToken { .. } => {
                vec!["No such token found.".into(), session.into()]
            }
            Pkcs11Error::WrongPin { .. } => vec![
                "<class 'pkcs11.exceptions.PinIncorrect'>: ".into(),
                session.into(),
            ],
            Pkcs11Error::PinLocked { .. } => vec![
                "<class 'pkcs11.exceptions.PinLocked'>: ".into(),
                session.into(),
            ],
            // python-pkcs11 raises its base class for a file that is no
            // PKCS#11 module.
            Pkcs11Error::ModuleLoad { .. } | Pkcs11Error::ModuleInit { .. } => vec![
                "<class 'pkcs11.exceptions.PKCS11Error'>: ".into(),
                session.into(),
            ],
            Pkcs11Error::PinRequired { .. } => vec![e.to_string(), session.into()],
            Pkcs11Error::NoSuchKey { class, .. } => {
                facts.session_opened();
                if *class == KeyClass::Public {
                    facts.extracting_public_key();
                }
                vec!["No such key found.".into(), closing.into()]
            }
            _ => {
                facts.session_opened();
                if stage == Stage::PublicKey {
                    facts.extracting_public_key();
                }
                vec![e.to_string(), closing.into()]
            }
        };
        self.died(&format!("--hsm-config {}: {e}", self.path.display()), lines)
    }
}

/// What espsecure's progress lines say about a session: its slot and
/// whether `get_pubkey` falls back to `label`.
struct SessionFacts {
    slot: u64,
    label_pubkey_missing: bool,
}

impl SessionFacts {
    fn of(config: &HsmConfig) -> Self {
        Self {
            slot: config.slot,
            label_pubkey_missing: config.label_pubkey.is_none(),
        }
    }

    fn session_opened(&self) {
        outln!("Session creation successful with HSM slot {}.", self.slot);
    }

    fn extracting_public_key(&self) {
        outln!("Trying to extract public key from the HSM...");
        if self.label_pubkey_missing {
            outln!("Config option 'label_pubkey' not found, using config option 'label' for public key.");
        }
    }
}

/// getpass's fallback without a terminal: the prompt on stderr, one line
/// of stdin without its line end.
fn read_pin_line(prompt: &str) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::BufRead;
    eprint!("{prompt}");
    let mut line = zeroize::Zeroizing::new(String::new());
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "stdin is empty",
        ));
    }
    let pin = line.trim_end_matches(['\n', '\r']);
    Ok(zeroize::Zeroizing::new(pin.as_bytes().to_vec()))
}

/// The token key as a Secure Boot V2 signer that prints espsecure's lines
/// around the token's signature (`get_privkey_info`, `sign_payload`,
/// `close_connection`).
pub(super) struct HsmSigner {
    facts: SessionFacts,
    /// The private key's label.
    label: String,
    token: TokenSigner,
    public: sbv2::PublicKey,
}

impl Sbv2Signer for HsmSigner {
    fn public_key(&self) -> sbv2::PublicKey {
        self.public.clone()
    }

    fn sign_prehash(&self, image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        outln!("Trying to establish a session with the HSM...");
        self.facts.session_opened();
        outln!("Got private key metadata with label {}.", self.label);
        outln!("Signing payload using the HSM...");
        let signature = self.token.sign_prehash(image_digest)?;
        outln!("Signature generation successful.");
        outln!("Connection closed successfully.");
        Ok(signature)
    }
}
