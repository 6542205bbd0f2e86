//! Tokens and who they belong to.
//!
//! Native tokens are `pdt_` + 40 hex digits, sent as `Authorization: Bearer`. Langfuse-style
//! pairs are a public key `pk-lf-…` and a secret key `sk-lf-…`, sent as HTTP Basic — and only
//! so: a Langfuse secret is not a Bearer token, and a native token is not a Basic password. Only
//! the SHA-256 of a secret is stored; the secret is shown once, when it is created.
//!
//! Failed sign-ins are limited per address and, for key pairs, per account (the public key), so
//! guessing from many addresses at one account is slowed down too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use promptdesk_protocol::policy::Role;
use sha2::{Digest, Sha256};

use crate::apply::Principal;
use crate::error::{Result, ServerError};
use crate::store::{Store, TokenRow};

pub const TOKEN_PREFIX: &str = "pdt_";

/// A token made for a person: the row kept and the secret to hand over (once).
pub struct NewToken {
    pub row: TokenRow,
    /// For a native token, the token; for a Langfuse pair, the secret key.
    pub secret: String,
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| ServerError::Internal(format!("no random numbers for a token: {e}")))?;
    Ok(hex::encode(buf))
}

pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token for `user` (giving them `role` on this server). `langfuse` makes a
/// public/secret key pair for the Langfuse-compatible API instead.
pub fn create_token(
    store: &Store,
    user: &str,
    role: Role,
    langfuse: bool,
    now: &str,
) -> Result<NewToken> {
    let user = user.trim();
    if user.is_empty() || user.len() > 100 || user.chars().any(char::is_control) {
        return Err(ServerError::BadInput(
            "a user name must be 1 to 100 printable characters".into(),
        ));
    }
    let id = random_hex(8)?;
    let (secret, public_key, display) = if langfuse {
        let pk = format!("pk-lf-{}", random_hex(16)?);
        (format!("sk-lf-{}", random_hex(24)?), Some(pk.clone()), pk)
    } else {
        let token = format!("{TOKEN_PREFIX}{}", random_hex(20)?);
        let display = format!("{}…", &token[..TOKEN_PREFIX.len() + 6]);
        (token, None, display)
    };
    let row = TokenRow {
        id,
        kind: if langfuse { "langfuse" } else { "token" }.into(),
        display,
        public_key,
        user: user.into(),
        created_at: now.into(),
        revoked_at: None,
    };
    store.write(|tx| {
        tx.set_role(user, role, now)?;
        tx.insert_token(&row, &secret_hash(&secret))
    })?;
    Ok(NewToken { row, secret })
}

/// What an `Authorization` header claims.
pub enum Credentials {
    Bearer(String),
    Basic { public: String, secret: String },
}

pub fn parse_authorization(value: &str) -> Option<Credentials> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Credentials::Bearer(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (public, secret) = text.split_once(':')?;
        return Some(Credentials::Basic {
            public: public.into(),
            secret: secret.into(),
        });
    }
    None
}

/// The person behind the credentials, or why not.
pub fn authenticate(store: &Store, creds: &Credentials) -> Result<Principal> {
    let found = store.read(|tx| {
        let token = match creds {
            Credentials::Bearer(t) => tx.token_by_secret(&secret_hash(t), None)?,
            Credentials::Basic { public, secret } => {
                tx.token_by_secret(&secret_hash(secret), Some(public))?
            }
        };
        // Each kind of credential opens only its own kind of token.
        let expected = match creds {
            Credentials::Bearer(_) => "token",
            Credentials::Basic { .. } => "langfuse",
        };
        match token {
            Some(t) if t.kind == expected => Ok(Some((t.user.clone(), tx.role_of(&t.user)?))),
            _ => Ok(None),
        }
    })?;
    match found {
        Some((user, Some(role))) => Ok(Principal { user, role }),
        Some((user, None)) => Ok(Principal {
            user,
            role: Role::Viewer,
        }),
        None => Err(ServerError::Unauthorized("unknown or revoked token".into())),
    }
}

/// What failed sign-ins are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// The address the attempt came from.
    Address(IpAddr),
    /// The account it tried: a key pair's public key.
    Account(String),
}

impl Credentials {
    /// The account these credentials name, when they name one (a Bearer token names none: it
    /// is all secret).
    pub fn account(&self) -> Option<Attempt> {
        match self {
            Credentials::Bearer(_) => None,
            Credentials::Basic { public, .. } => Some(Attempt::Account(public.clone())),
        }
    }
}

/// Slows down guessing: after `max_failures` failed authentications from one address (or at
/// one account) within `window`, further attempts from it (or at it) are refused (429) until
/// the window has passed.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    seen: Mutex<HashMap<Attempt, (u32, Instant)>>,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter {
            max_failures,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when attempts from (or at) `who` must wait.
    pub fn blocked(&self, who: &Attempt) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = seen.get(who)?;
        let elapsed = since.elapsed();
        if *count >= self.max_failures && elapsed < self.window {
            Some((self.window - elapsed).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn failed(&self, who: Attempt) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old entries now and then so the map cannot grow without bound.
        if seen.len() > 10_000 {
            let window = self.window;
            seen.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = seen.entry(who).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}
