//! Loading a PKCS#11 module once per process, choosing a token, logging in.
//!
//! `C_Initialize` may run once per module and process until `C_Finalize`
//! (PKCS#11 2.40 §5.4), so every key opened from the same module file
//! shares one [`Module`]; the last key dropped finalizes it. A module
//! initialised by someone else in the process (`CKR_CRYPTOKI_ALREADY_
//! INITIALIZED`) is used as is and left initialised.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};

use crate::error::Pkcs11Error;
use crate::locator::TokenSelector;
use crate::pin::Pin;

/// One loaded and initialised module.
pub(crate) struct Module {
    path: PathBuf,
    /// Registry key: the canonical path (symlinks resolved), so two
    /// spellings of one file share the module.
    canonical: PathBuf,
    /// `None` only while dropping.
    ctx: Option<Pkcs11>,
    /// Whether we initialised it (and so finalize it).
    owns_initialization: bool,
}

/// The modules open in this process.
static REGISTRY: Mutex<Vec<(PathBuf, Weak<Module>)>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<(PathBuf, Weak<Module>)>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token chosen by a [`TokenSelector`].
pub(crate) struct Token {
    pub(crate) slot: Slot,
    pub(crate) info: TokenInfo,
}

impl Module {
    /// Loads and initialises the module at `path`, or returns the one
    /// already open from the same file.
    pub(crate) fn open(path: &Path) -> Result<Arc<Self>, Pkcs11Error> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        loop {
            let mut modules = registry();
            match modules.iter().find(|(p, _)| *p == canonical) {
                Some((_, weak)) => match weak.upgrade() {
                    Some(module) => return Ok(module),
                    // Its last user is finalizing it (Drop removes the
                    // entry when done): wait rather than initialise twice.
                    None => {
                        drop(modules);
                        std::thread::yield_now();
                        continue;
                    }
                },
                None => {
                    let module = Arc::new(Self::load(path, canonical.clone())?);
                    modules.push((canonical, Arc::downgrade(&module)));
                    return Ok(module);
                }
            }
        }
    }

    fn load(path: &Path, canonical: PathBuf) -> Result<Self, Pkcs11Error> {
        let ctx = Pkcs11::new(path).map_err(|source| Pkcs11Error::ModuleLoad {
            path: path.to_path_buf(),
            source,
        })?;
        let args = CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK);
        let owns_initialization = match ctx.initialize(args) {
            Ok(()) => true,
            Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
            Err(CryptokiError::Pkcs11(rv, _)) => {
                return Err(Pkcs11Error::ModuleInit {
                    path: path.to_path_buf(),
                    rv,
                })
            }
            Err(source) => {
                return Err(Pkcs11Error::ModuleLoad {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            canonical,
            ctx: Some(ctx),
            owns_initialization,
        })
    }

    fn ctx(&self) -> &Pkcs11 {
        self.ctx.as_ref().expect("the context lives until drop")
    }

    fn module_error(&self, error: CryptokiError) -> Pkcs11Error {
        Pkcs11Error::from_cryptoki("module query", "", error)
    }

    /// The ids of the slots that hold a token (`C_GetSlotList` with
    /// `tokenPresent`).
    pub(crate) fn slots_with_token(&self) -> Result<Vec<u64>, Pkcs11Error> {
        let slots = self
            .ctx()
            .get_slots_with_token()
            .map_err(|e| self.module_error(e))?;
        Ok(slots.iter().map(|s| s.id()).collect())
    }

    /// The one token matching `selector`.
    pub(crate) fn find_token(&self, selector: &TokenSelector) -> Result<Token, Pkcs11Error> {
        let ctx = self.ctx();
        let no_such_token = |present: String| Pkcs11Error::NoSuchToken {
            selector: selector.to_string(),
            module: self.path.clone(),
            present,
        };
        let info = ctx.get_library_info().map_err(|e| self.module_error(e))?;
        let version = info.library_version();
        let library_matches = selector
            .library_manufacturer
            .as_ref()
            .is_none_or(|m| m == info.manufacturer_id())
            && selector
                .library_description
                .as_ref()
                .is_none_or(|d| d == info.library_description())
            && selector
                .library_version
                .is_none_or(|v| v == (version.major(), version.minor()));
        if !library_matches {
            return Err(no_such_token(format!(
                "none: the module is library-manufacturer={};library-description={};library-version={}.{}",
                info.manufacturer_id(),
                info.library_description(),
                version.major(),
                version.minor()
            )));
        }

        let mut present = Vec::new();
        let mut matches = Vec::new();
        for slot in ctx
            .get_slots_with_token()
            .map_err(|e| self.module_error(e))?
        {
            let slot_info = ctx.get_slot_info(slot).map_err(|e| self.module_error(e))?;
            let token_info = ctx.get_token_info(slot).map_err(|e| self.module_error(e))?;
            if !token_info.token_initialized() {
                continue;
            }
            present.push(format!("`{}` (slot-id={})", token_info.label(), slot.id()));
            let text_matches =
                |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| w == have);
            if text_matches(&selector.label, token_info.label())
                && text_matches(&selector.serial, token_info.serial_number())
                && text_matches(&selector.manufacturer, token_info.manufacturer_id())
                && text_matches(&selector.model, token_info.model())
                && selector.slot_id.is_none_or(|id| id == slot.id())
                && text_matches(&selector.slot_description, slot_info.slot_description())
                && text_matches(&selector.slot_manufacturer, slot_info.manufacturer_id())
            {
                matches.push(Token {
                    slot,
                    info: token_info,
                });
            }
        }
        match matches.len() {
            0 if present.is_empty() => Err(no_such_token("none".into())),
            0 => Err(no_such_token(present.join(", "))),
            1 => Ok(matches.remove(0)),
            count => Err(Pkcs11Error::AmbiguousToken {
                selector: selector.to_string(),
                module: self.path.clone(),
                count,
            }),
        }
    }

    /// A read-only session on `token`, without a login.
    pub(crate) fn open_session(&self, token: &Token) -> Result<Session, CryptokiError> {
        self.ctx().open_ro_session(token.slot)
    }

    /// Opens a session on `token` (read-write when `rw`) and logs the user
    /// in with `pin`, through the PIN pad when there is no PIN and the token
    /// has one, or not at all when the token needs no login.
    pub(crate) fn login(
        &self,
        token: &Token,
        pin: Option<&Pin>,
        rw: bool,
    ) -> Result<Session, Pkcs11Error> {
        let label = token.info.label();
        let ctx = self.ctx();
        let session = if rw {
            ctx.open_rw_session(token.slot)
        } else {
            ctx.open_ro_session(token.slot)
        }
        .map_err(|e| Pkcs11Error::from_cryptoki("open session", label, e))?;
        let result = match pin {
            Some(pin) => session.login(UserType::User, Some(&pin.auth_pin())),
            None if token.info.protected_authentication_path() => {
                session.login(UserType::User, None)
            }
            None if token.info.login_required() => {
                return Err(Pkcs11Error::PinRequired {
                    token: label.to_owned(),
                })
            }
            None => Ok(()),
        };
        match result {
            Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => Err(login_error(label, e)),
        }
    }

    /// The module's mechanisms for `token`.
    pub(crate) fn mechanisms(
        &self,
        token: &Token,
    ) -> Result<Vec<cryptoki::mechanism::MechanismType>, Pkcs11Error> {
        self.ctx()
            .get_mechanism_list(token.slot)
            .map_err(|e| Pkcs11Error::from_cryptoki("mechanism list", token.info.label(), e))
    }
}

fn login_error(token: &str, error: CryptokiError) -> Pkcs11Error {
    match error {
        CryptokiError::Pkcs11(
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
            _,
        ) => Pkcs11Error::WrongPin {
            token: token.to_owned(),
        },
        CryptokiError::Pkcs11(RvError::PinLocked, _) => Pkcs11Error::PinLocked {
            token: token.to_owned(),
        },
        other => Pkcs11Error::from_cryptoki("login", token, other),
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // Hold the registry so no one initialises this module again before
        // C_Finalize has run, then drop our entry.
        let mut modules = registry();
        if let Some(ctx) = self.ctx.take() {
            if self.owns_initialization {
                // Nothing to do about a failure while dropping; the module
                // is unloaded when the last cryptoki handle goes.
                let _ = ctx.finalize();
            }
        }
        modules.retain(|(p, weak)| !(*p == self.canonical && weak.strong_count() == 0));
    }
}
