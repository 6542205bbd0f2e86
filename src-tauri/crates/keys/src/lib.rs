//! Where each person's Ed25519 signing key lives: the OS keyring (Secret Service on Linux, the
//! Keychain on macOS, Credential Manager on Windows), through the `keyring` crate with its real
//! backends enabled in the workspace manifest (keyring 3 without backend features is an
//! in-memory mock that "stores" nothing).
//!
//! Before anything is signed, a canary write/read/delete proves the keyring works. When it does
//! not, signing is refused with the reason; nothing falls back to a file on its own. A person
//! may choose, knowingly, to keep keys in plain files (`PROMPTDESK_KEYSTORE=file:DIR`, meant for
//! CI machines and throwaway setups); that choice is announced every time a key is used.

use std::path::PathBuf;

use promptdesk_core::signing::{random_seed, MemorySigner};

const SERVICE: &str = "dev.promptdesk.signing-key";
const CANARY_USER: &str = "promptdesk-canary";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the OS keyring is not available ({0}). Approvals and releases are signed with a key kept \
         there: start a keyring (on Linux a Secret Service such as gnome-keyring, unlocked), or \
         choose to keep keys in plain files with PROMPTDESK_KEYSTORE=file:DIR"
    )]
    Unavailable(String),
    #[error("the signing key of {person} in the keyring is damaged ({detail}); remove it to make a new one")]
    Damaged { person: String, detail: String },
    #[error("the key store setting '{0}' is not understood: use `os` or `file:DIR`")]
    BadSetting(String),
    #[error("cannot use the key file {path}: {detail}")]
    File { path: String, detail: String },
}

/// Where keys are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// The OS keyring (the default).
    Os,
    /// Plain files in a directory, chosen explicitly.
    Files(PathBuf),
}

impl KeyStore {
    /// `PROMPTDESK_KEYSTORE`: unset or `os` for the OS keyring, `file:DIR` for plain files.
    pub fn from_env() -> Result<KeyStore, KeyError> {
        Ok(Self::from_env_if_set()?.unwrap_or(KeyStore::Os))
    }

    /// `PROMPTDESK_KEYSTORE` when it is set (a choice made outside the app), else `None`.
    pub fn from_env_if_set() -> Result<Option<KeyStore>, KeyError> {
        match std::env::var("PROMPTDESK_KEYSTORE") {
            Err(_) => Ok(None),
            Ok(v) if v.is_empty() => Ok(None),
            Ok(v) => KeyStore::parse(&v).map(Some),
        }
    }

    /// The setting's text form: `os` or `file:DIR` (as in `PROMPTDESK_KEYSTORE` and the desktop
    /// app's settings file).
    pub fn parse(text: &str) -> Result<KeyStore, KeyError> {
        if text == "os" {
            return Ok(KeyStore::Os);
        }
        match text.strip_prefix("file:") {
            Some(dir) if !dir.is_empty() => Ok(KeyStore::Files(PathBuf::from(dir))),
            _ => Err(KeyError::BadSetting(text.into())),
        }
    }

    /// The inverse of [`KeyStore::parse`].
    pub fn setting(&self) -> String {
        match self {
            KeyStore::Os => "os".into(),
            KeyStore::Files(dir) => format!("file:{}", dir.display()),
        }
    }

    /// Where keys go when a person chooses plain files: `keys/` in the platform's data
    /// directory (`~/.local/share/promptdesk/keys` on Linux), never next to a registry file
    /// that might be copied or shared.
    pub fn default_files_dir() -> Option<PathBuf> {
        promptdesk_core::default_registry_path().and_then(|p| p.parent().map(|d| d.join("keys")))
    }

    /// Where keys live, in words for a person.
    pub fn describe(&self) -> String {
        match self {
            KeyStore::Os => "the OS keyring".into(),
            KeyStore::Files(dir) => format!("plain files in {}", dir.display()),
        }
    }

    /// Proves the store works: a canary is written, read back and removed.
    pub fn canary(&self) -> Result<String, KeyError> {
        match self {
            KeyStore::Os => {
                let entry = keyring::Entry::new(SERVICE, CANARY_USER)
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                let value = hex::encode(random_seed().map_err(KeyError::Unavailable)?);
                entry
                    .set_password(&value)
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                let back = entry
                    .get_password()
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                let _ = entry.delete_credential();
                if back != value {
                    return Err(KeyError::Unavailable(
                        "it returned something other than what was stored".into(),
                    ));
                }
                Ok("the OS keyring works".into())
            }
            KeyStore::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| KeyError::File {
                    path: dir.display().to_string(),
                    detail: e.to_string(),
                })?;
                Ok(format!(
                    "keys are kept in plain files in {}, not in the OS keyring (chosen explicitly)",
                    dir.display()
                ))
            }
        }
    }

    /// The signing key of `person`, made and stored on first use.
    pub fn signer_for(&self, person: &str) -> Result<MemorySigner, KeyError> {
        self.canary()?;
        match self.load(person)? {
            Some(seed) => Ok(MemorySigner::from_seed(seed)),
            None => {
                let signer = MemorySigner::generate().map_err(KeyError::Unavailable)?;
                if let Err(e) = self.store(person, &signer.seed()) {
                    // Another process made this person's key at the same moment: use theirs.
                    if let Some(seed) = self.load(person)? {
                        return Ok(MemorySigner::from_seed(seed));
                    }
                    return Err(e);
                }
                // Read it back: a store that accepts writes but keeps nothing must not pass.
                match self.load(person)? {
                    Some(seed) if seed == signer.seed() => Ok(signer),
                    _ => Err(KeyError::Unavailable(
                        "the new key could not be read back after storing it".into(),
                    )),
                }
            }
        }
    }

    /// Replaces `person`'s signing key with a new one (rotation) and returns the old one, if
    /// there was one, with the new. The new key is stored and read back before this returns;
    /// the old private half is gone from the store afterwards (its public half stays in the
    /// registry, revoked).
    pub fn rotate(&self, person: &str) -> Result<(Option<MemorySigner>, MemorySigner), KeyError> {
        self.canary()?;
        let old = self.load(person)?.map(MemorySigner::from_seed);
        let signer = MemorySigner::generate().map_err(KeyError::Unavailable)?;
        self.replace(person, &signer.seed())?;
        match self.load(person)? {
            Some(seed) if seed == signer.seed() => Ok((old, signer)),
            _ => Err(KeyError::Unavailable(
                "the new key could not be read back after storing it".into(),
            )),
        }
    }

    fn load(&self, person: &str) -> Result<Option<[u8; 32]>, KeyError> {
        let text = match self {
            KeyStore::Os => {
                let entry = keyring::Entry::new(SERVICE, person)
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                match entry.get_password() {
                    Ok(t) => t,
                    Err(keyring::Error::NoEntry) => return Ok(None),
                    Err(e) => return Err(KeyError::Unavailable(e.to_string())),
                }
            }
            KeyStore::Files(dir) => {
                let path = key_file(dir, person);
                match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(KeyError::File {
                            path: path.display().to_string(),
                            detail: e.to_string(),
                        })
                    }
                }
            }
        };
        let bytes = hex::decode(text.trim()).map_err(|e| KeyError::Damaged {
            person: person.into(),
            detail: e.to_string(),
        })?;
        let seed = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Damaged {
            person: person.into(),
            detail: format!("{} bytes instead of 32", bytes.len()),
        })?;
        Ok(Some(seed))
    }

    /// Stores `seed` as `person`'s key in place of the one there: the keyring overwrites; a key
    /// file is written beside the old one and renamed over it, so a crash leaves one whole key.
    fn replace(&self, person: &str, seed: &[u8; 32]) -> Result<(), KeyError> {
        let KeyStore::Files(dir) = self else {
            return self.store(person, seed);
        };
        let path = key_file(dir, person);
        let fresh = path.with_extension("key.new");
        let failed = |e: std::io::Error| KeyError::File {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, &hex::encode(seed)).map_err(failed)?;
        std::fs::rename(&fresh, &path).map_err(failed)
    }

    fn store(&self, person: &str, seed: &[u8; 32]) -> Result<(), KeyError> {
        let text = hex::encode(seed);
        match self {
            KeyStore::Os => keyring::Entry::new(SERVICE, person)
                .and_then(|e| e.set_password(&text))
                .map_err(|e| KeyError::Unavailable(e.to_string())),
            KeyStore::Files(dir) => {
                let path = key_file(dir, person);
                write_private(&path, &text).map_err(|e| KeyError::File {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })
            }
        }
    }
}

/// Where the token for a registry server is kept: beside the signing keys, under its own
/// service name, one entry per person and server URL (two people may share one machine's
/// keyring, each with their own registry). Never in the registry file.
const TOKEN_SERVICE: &str = "dev.promptdesk.server-token";
/// Where model providers' API keys are kept: one entry per person, provider and base URL, so a
/// key is only ever sent to the endpoint it was given for (changing a provider's URL asks for
/// its key again).
const PROVIDER_KEY_SERVICE: &str = "dev.promptdesk.provider-key";

impl KeyStore {
    /// The token `person` keeps for the server at `url`, if any.
    pub fn server_token(&self, url: &str, person: &str) -> Result<Option<String>, KeyError> {
        self.secret(TOKEN_SERVICE, &token_account(url, person))
    }

    /// Keeps `person`'s `token` for the server at `url`, replacing any earlier one, and reads it
    /// back.
    pub fn set_server_token(&self, url: &str, person: &str, token: &str) -> Result<(), KeyError> {
        self.set_secret(TOKEN_SERVICE, &token_account(url, person), token, "token")
    }

    /// Forgets `person`'s token for the server at `url` (nothing to do when there is none).
    pub fn forget_server_token(&self, url: &str, person: &str) -> Result<(), KeyError> {
        self.forget_secret(TOKEN_SERVICE, &token_account(url, person))
    }

    /// The API key `person` keeps for `provider` at `base_url`, if any.
    pub fn provider_key(
        &self,
        provider: &str,
        base_url: &str,
        person: &str,
    ) -> Result<Option<String>, KeyError> {
        self.secret(
            PROVIDER_KEY_SERVICE,
            &provider_account(provider, base_url, person),
        )
    }

    /// Keeps `person`'s API key for `provider` at `base_url` and reads it back.
    pub fn set_provider_key(
        &self,
        provider: &str,
        base_url: &str,
        person: &str,
        key: &str,
    ) -> Result<(), KeyError> {
        self.set_secret(
            PROVIDER_KEY_SERVICE,
            &provider_account(provider, base_url, person),
            key,
            "API key",
        )
    }

    /// Forgets `person`'s API key for `provider` at `base_url`.
    pub fn forget_provider_key(
        &self,
        provider: &str,
        base_url: &str,
        person: &str,
    ) -> Result<(), KeyError> {
        self.forget_secret(
            PROVIDER_KEY_SERVICE,
            &provider_account(provider, base_url, person),
        )
    }

    fn secret(&self, service: &str, account: &str) -> Result<Option<String>, KeyError> {
        match self {
            KeyStore::Os => {
                let entry = keyring::Entry::new(service, account)
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                match entry.get_password() {
                    Ok(t) => Ok(Some(t)),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(KeyError::Unavailable(e.to_string())),
                }
            }
            KeyStore::Files(dir) => {
                let path = secret_file(dir, service, account);
                match std::fs::read_to_string(&path) {
                    Ok(t) => Ok(Some(t.trim().to_string())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(KeyError::File {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    }),
                }
            }
        }
    }

    fn set_secret(
        &self,
        service: &str,
        account: &str,
        secret: &str,
        what: &str,
    ) -> Result<(), KeyError> {
        self.canary()?;
        match self {
            KeyStore::Os => keyring::Entry::new(service, account)
                .and_then(|e| e.set_password(secret))
                .map_err(|e| KeyError::Unavailable(e.to_string()))?,
            KeyStore::Files(dir) => {
                let path = secret_file(dir, service, account);
                let fail = |e: std::io::Error| KeyError::File {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                };
                std::fs::create_dir_all(dir).map_err(fail)?;
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
                    _ => {}
                }
                write_private(&path, secret).map_err(fail)?;
            }
        }
        match self.secret(service, account)? {
            Some(t) if t == secret => Ok(()),
            _ => Err(KeyError::Unavailable(format!(
                "the {what} could not be read back after storing it"
            ))),
        }
    }

    fn forget_secret(&self, service: &str, account: &str) -> Result<(), KeyError> {
        match self {
            KeyStore::Os => {
                let entry = keyring::Entry::new(service, account)
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(KeyError::Unavailable(e.to_string())),
                }
            }
            KeyStore::Files(dir) => {
                let path = secret_file(dir, service, account);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(KeyError::File {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    }),
                    _ => Ok(()),
                }
            }
        }
    }
}

fn token_account(url: &str, person: &str) -> String {
    format!("{person} at {url}")
}

fn provider_account(provider: &str, base_url: &str, person: &str) -> String {
    format!("{person} for {provider} at {base_url}")
}

/// Server tokens keep the file names they always had (`<hex of account>.token`); other
/// secrets are named by service too, so a provider key never collides with a token.
fn secret_file(dir: &std::path::Path, service: &str, account: &str) -> PathBuf {
    if service == TOKEN_SERVICE {
        dir.join(format!("{}.token", hex::encode(account.as_bytes())))
    } else {
        dir.join(format!(
            "{}.{}.secret",
            service.rsplit('.').next().unwrap_or(service),
            hex::encode(account.as_bytes())
        ))
    }
}

/// One file per person; the name is hex so any person's name is a safe file name.
fn key_file(dir: &std::path::Path, person: &str) -> PathBuf {
    dir.join(format!("{}.key", hex::encode(person.as_bytes())))
}

/// Creates `path` (readable by its owner only) holding `text`, failing if it exists. The file
/// appears whole or not at all: it is written under a name of its own (process and call) and linked
/// into place, so another process making the same person's key at the same moment never reads
/// a file that is still empty (it sees theirs or ours, and `signer_for` then uses that one).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let staged = path.with_extension(format!(
        "{}.{}-{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("file"),
        std::process::id(),
        STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&staged);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&staged).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    // A hard link never replaces what is there: like `create_new`, it fails if `path` exists.
    let linked = written.and_then(|()| std::fs::hard_link(&staged, path));
    let _ = std::fs::remove_file(&staged);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptdesk_core::signing::Sign;

    #[test]
    fn people_making_the_same_key_at_once_all_get_one_whole_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::Files(dir.path().join("keys"));
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        for round in 0..20 {
            let person = format!("rita{round}");
            let keys: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|_| s.spawn(|| store.signer_for(&person).map(|k| k.public_key())))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            assert!(
                keys.iter().all(|k| k == &keys[0]),
                "round {round}: {keys:?}"
            );
        }
        let left: Vec<_> = std::fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "staged files left behind: {left:?}");
    }

    #[test]
    fn a_provider_key_is_bound_to_its_provider_url_and_person() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::Files(dir.path().join("keys"));
        let url = "http://127.0.0.1:9/v1";
        store
            .set_provider_key("openai", url, "ana", "sk-1")
            .unwrap();
        assert_eq!(
            store.provider_key("openai", url, "ana").unwrap().as_deref(),
            Some("sk-1")
        );
        // Another URL, person or provider does not get it.
        assert_eq!(
            store
                .provider_key("openai", "http://evil.example/v1", "ana")
                .unwrap(),
            None
        );
        assert_eq!(store.provider_key("openai", url, "ben").unwrap(), None);
        assert_eq!(store.provider_key("anthropic", url, "ana").unwrap(), None);
        // It is not a server token either.
        assert_eq!(store.server_token(url, "ana").unwrap(), None);
        store.forget_provider_key("openai", url, "ana").unwrap();
        assert_eq!(store.provider_key("openai", url, "ana").unwrap(), None);
    }

    #[test]
    fn a_file_store_keeps_one_key_per_person() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::Files(dir.path().join("keys"));
        let a = store.signer_for("ana").unwrap();
        assert_eq!(
            store.signer_for("ana").unwrap().public_key(),
            a.public_key()
        );
        assert_ne!(
            store.signer_for("ben").unwrap().public_key(),
            a.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = key_file(&dir.path().join("keys"), "ana");
            assert_eq!(
                std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_server_token_is_kept_per_person_and_url_replaced_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::Files(dir.path().join("keys"));
        let url = "http://127.0.0.1:8600";
        assert_eq!(store.server_token(url, "ana").unwrap(), None);
        store.set_server_token(url, "ana", "pdt_one").unwrap();
        store.set_server_token(url, "ana", "pdt_two").unwrap();
        // Two people on one machine: ben's token does not replace ana's.
        store.set_server_token(url, "ben", "pdt_ben").unwrap();
        assert_eq!(
            store.server_token(url, "ana").unwrap().as_deref(),
            Some("pdt_two")
        );
        assert_eq!(
            store.server_token(url, "ben").unwrap().as_deref(),
            Some("pdt_ben")
        );
        assert_eq!(store.server_token("http://elsewhere", "ana").unwrap(), None);
        store.forget_server_token(url, "ana").unwrap();
        assert_eq!(store.server_token(url, "ana").unwrap(), None);
        assert_eq!(
            store.server_token(url, "ben").unwrap().as_deref(),
            Some("pdt_ben")
        );
    }

    #[test]
    fn rotating_replaces_the_key_and_returns_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::Files(dir.path().to_path_buf());
        let first = store.signer_for("ana").unwrap().public_key();
        let (old, new) = store.rotate("ana").unwrap();
        assert_eq!(old.map(|o| o.public_key()), Some(first.clone()));
        assert_ne!(new.public_key(), first);
        assert_eq!(
            store.signer_for("ana").unwrap().public_key(),
            new.public_key()
        );
        // Someone without a key yet gets one and no old one.
        let (old, _) = store.rotate("ben").unwrap();
        assert!(old.is_none());
    }

    #[test]
    fn a_damaged_key_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(key_file(dir.path(), "ana"), "not hex").unwrap();
        let err = KeyStore::Files(dir.path().into())
            .signer_for("ana")
            .unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
