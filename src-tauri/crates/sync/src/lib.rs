//! The sync client: pushes this registry's changes to the team's registry server, then pulls
//! everyone else's.
//!
//! One round is: push every pending change in batches (each answer is recorded before the next
//! batch goes, so an interrupted push resumes where it stopped and a replay is harmless); pull
//! from the cursor to the head in pages, applying each page in one transaction; compare the
//! server's hash summary with ours and, on a mismatch, pull again from the start (applying is
//! idempotent) to fill the gap; finally put back any label whose move the server refused, so
//! this registry serves what the team's server serves.
//!
//! The core crate decides what an event means for a registry (`promptdesk_core::sync`); this
//! crate only moves them over HTTP and keeps the token where it belongs (the OS keyring).
//!
//! Nothing crosses a network in clear: `https://` is verified with rustls against the system's
//! roots plus an optional private CA file ([`RemoteOptions`], kept next to the remote's URL in
//! the registry's settings; `PROMPTDESK_CA_FILE` overrides it), and plain `http://` is refused
//! for any host but this machine unless the remote was set with `--insecure` ([`tls`]).

mod http;
pub mod tls;

use promptdesk_core::sync::inbox::{Acknowledged, PullReport, Pulled, RefusedChange};
use promptdesk_core::sync::outbox::Pending;
use promptdesk_core::sync::EventBody;
use promptdesk_core::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use http::{Remote, RemoteOptions};
pub use tls::SetupError;

/// How many events go in one push request.
const PUSH_BATCH: usize = 200;
/// How many events one pull page asks for.
const PULL_PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server cannot be reached (or answered 5xx, or cut an answer short): try again later.
    #[error("the server at {url} cannot be reached: {detail}")]
    Offline { url: String, detail: String },
    #[error("the server at {url} does not accept the token: {detail}. Set a new one with `promptdesk remote set {url}`")]
    Unauthorized { url: String, detail: String },
    /// The TLS handshake failed (a certificate not trusted, of another name, expired, …): not
    /// "offline", since trying again later fails the same way.
    #[error("no secure connection to {url}: {detail}")]
    Tls { url: String, detail: String },
    /// The remote's setup is refused before connecting (plain http to another machine, an
    /// unusable CA file).
    #[error("{0}")]
    Setup(SetupError),
    #[error("no server is set for this registry: `promptdesk remote set URL`")]
    NoRemote,
    #[error("no token is kept for {url}: `promptdesk remote set {url}` (or PROMPTDESK_TOKEN)")]
    NoToken { url: String },
    #[error("the server's answer is not what this client understands: {0}")]
    Protocol(String),
    #[error("the pulled events do not match the server's summary even after pulling again from the start ({0})")]
    Gap(String),
    #[error(transparent)]
    Registry(#[from] promptdesk_core::Error),
    #[error("{0}")]
    Keys(String),
}

impl SyncError {
    /// `offline`, `unauthorized`, … — what the app's sync state shows.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Offline { .. } => "offline",
            SyncError::Unauthorized { .. } => "unauthorized",
            SyncError::Tls { .. } => "tls",
            SyncError::Setup(SetupError::Insecure { .. }) => "insecure",
            SyncError::Setup(SetupError::CaFile { .. }) => "tls",
            SyncError::Setup(SetupError::BadUrl { .. }) => "not_configured",
            SyncError::NoRemote | SyncError::NoToken { .. } => "not_configured",
            SyncError::Protocol(_) | SyncError::Gap(_) => "protocol",
            SyncError::Registry(_) => "registry",
            SyncError::Keys(_) => "keys",
        }
    }
}

impl From<SetupError> for SyncError {
    fn from(e: SetupError) -> Self {
        SyncError::Setup(e)
    }
}

/// Where a round is, for a progress bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Progress {
    Pushing { done: u64, total: u64 },
    Pulling { cursor: i64, head: i64 },
    Checking,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub pushed: u64,
    /// Pushed events the server already had (a replay after an interrupted push).
    pub duplicates: u64,
    pub refused: Vec<RefusedChange>,
    pub pulled: u64,
    pub renumbered: u64,
    /// Labels put back where the server has them after it refused a move made here.
    pub restored: Vec<String>,
    /// Whether the summary found a gap that pulling again filled.
    pub gap_filled: bool,
    pub cursor: i64,
}

/// One full round: push, pull, check, restore. Records its outcome in the registry (for the
/// app's sync state) whether it succeeds or not.
pub fn sync(
    reg: &mut Registry,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, SyncError> {
    let result = round(reg, remote, progress);
    let outcome = match &result {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    reg.set_sync_outcome(outcome.as_deref())?;
    result
}

fn round(
    reg: &mut Registry,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, SyncError> {
    let mut report = Report::default();
    let refused_moves = push(reg, remote, progress, &mut report)?;
    pull(reg, remote, progress, &mut report)?;
    progress(Progress::Checking);
    let cursor = reg.sync_cursor()?;
    if !summary_matches(reg, remote, cursor)? {
        reg.reset_sync_cursor()?;
        pull(reg, remote, progress, &mut report)?;
        let cursor = reg.sync_cursor()?;
        if !summary_matches(reg, remote, cursor)? {
            let (n, _) = reg.sync_summary(cursor)?;
            return Err(SyncError::Gap(format!("{n} events here up to #{cursor}")));
        }
        report.gap_filled = true;
    }
    // The server's log agreed with this registry up to here: keep its summary as a witness,
    // so that `verify` can tell if what was pulled is later cut from the file.
    let upto = reg.sync_cursor()?;
    let (count, digest) = reg.sync_summary(upto)?;
    reg.sync_keep_witness(upto, count, &digest)?;
    restore_refused_labels(reg, remote, &refused_moves, &mut report)?;
    report.cursor = upto;
    Ok(report)
}

#[derive(Deserialize)]
struct PushAnswer {
    #[serde(default)]
    results: Vec<Acknowledged>,
    error: Option<PushError>,
}

#[derive(Deserialize)]
struct PushError {
    id: Option<String>,
    kind: String,
    message: String,
}

fn push(
    reg: &mut Registry,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
    report: &mut Report,
) -> Result<Vec<RefusedMove>, SyncError> {
    let total = reg.sync_state()?.pending;
    let mut done = 0;
    let mut refused_moves = Vec::new();
    loop {
        let batch = reg.sync_pending(PUSH_BATCH)?;
        if batch.is_empty() {
            return Ok(refused_moves);
        }
        progress(Progress::Pushing { done, total });
        let events: Vec<&promptdesk_core::sync::SyncEvent> =
            batch.iter().map(|p| &p.event).collect();
        let (status, body) = remote.post("/v1/sync/push", &json!({ "events": events }))?;
        let answer: PushAnswer = serde_json::from_value(body.clone())
            .map_err(|e| SyncError::Protocol(format!("push answered {status}: {e}: {body}")))?;
        if answer.results.len() > batch.len() {
            return Err(SyncError::Protocol(format!(
                "{} answers to {} pushed events",
                answer.results.len(),
                batch.len()
            )));
        }
        let acks: Vec<(Pending, Acknowledged)> =
            batch.iter().cloned().zip(answer.results).collect();
        report.duplicates += acks.iter().filter(|(_, a)| a.status == "duplicate").count() as u64;
        report.pushed += acks.len() as u64;
        report.renumbered += reg.sync_acknowledge(&acks)?;
        done += acks.len() as u64;
        let Some(error) = answer.error else {
            if status >= 400 {
                return Err(SyncError::Protocol(format!(
                    "push answered {status}: {body}"
                )));
            }
            continue;
        };
        match error.kind.as_str() {
            "unauthorized" => {
                return Err(SyncError::Unauthorized {
                    url: remote.url().into(),
                    detail: error.message,
                })
            }
            "bad_input" | "policy_refused" | "conflict" | "not_found" => {
                let refused = error
                    .id
                    .as_deref()
                    .and_then(|id| batch.iter().find(|p| p.event.id == id))
                    .ok_or_else(|| {
                        SyncError::Protocol(format!(
                            "the server refused the push ({}) without naming an event we sent",
                            error.message
                        ))
                    })?;
                reg.sync_refused(refused, &error.message)?;
                if let EventBody::LabelMove { prompt, label, .. } = &refused.event.body {
                    refused_moves.push(RefusedMove {
                        prompt: prompt.clone(),
                        label: label.clone(),
                        message: error.message.clone(),
                    });
                }
                report.refused.push(RefusedChange {
                    event_id: refused.event.id.clone(),
                    kind: refused.event.body.kind().into(),
                    subject: refused.event.body.prompt().unwrap_or_default().to_string(),
                    message: error.message,
                    at: refused.event.at.clone(),
                });
                done += 1;
            }
            _ => {
                return Err(SyncError::Offline {
                    url: remote.url().into(),
                    detail: format!("{} ({})", error.message, error.kind),
                })
            }
        }
    }
}

#[derive(Deserialize)]
struct PullAnswer {
    head: i64,
    events: Vec<Pulled>,
}

fn pull(
    reg: &mut Registry,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
    report: &mut Report,
) -> Result<(), SyncError> {
    loop {
        let cursor = reg.sync_cursor()?;
        let (status, body) =
            remote.get(&format!("/v1/sync/pull?after={cursor}&limit={PULL_PAGE}"))?;
        if status != 200 {
            return Err(SyncError::Protocol(format!(
                "pull answered {status}: {body}"
            )));
        }
        let page: PullAnswer =
            serde_json::from_value(body).map_err(|e| SyncError::Protocol(format!("pull: {e}")))?;
        progress(Progress::Pulling {
            cursor,
            head: page.head,
        });
        if page.events.is_empty() {
            return Ok(());
        }
        let done: PullReport = reg.sync_apply_pulled(&page.events)?;
        report.pulled += done.applied;
        report.renumbered += done.renumbered;
    }
}

fn summary_matches(reg: &Registry, remote: &Remote, upto: i64) -> Result<bool, SyncError> {
    let (status, body) = remote.get(&format!("/v1/sync/summary?upto={upto}"))?;
    if status != 200 {
        return Err(SyncError::Protocol(format!(
            "summary answered {status}: {body}"
        )));
    }
    let (count, digest) = reg.sync_summary(upto)?;
    Ok(body["count"].as_u64() == Some(count) && body["digest"].as_str() == Some(digest.as_str()))
}

/// A label move the server refused in this round.
struct RefusedMove {
    prompt: String,
    label: String,
    message: String,
}

/// For every label move the server refused in this round: what does the server serve now?
/// This registry serves the same.
fn restore_refused_labels(
    reg: &mut Registry,
    remote: &Remote,
    moves: &[RefusedMove],
    report: &mut Report,
) -> Result<(), SyncError> {
    let mut seen = std::collections::BTreeSet::new();
    for m in moves {
        if !seen.insert((m.prompt.as_str(), m.label.as_str())) {
            continue;
        }
        let (status, body) = remote.get(&format!(
            "/v1/prompts/{}?label={}",
            http::encode(&m.prompt),
            http::encode(&m.label)
        ))?;
        let server_hash = match status {
            200 => body["hash"].as_str().map(str::to_string),
            404 => None,
            other => {
                return Err(SyncError::Protocol(format!(
                    "label lookup answered {other}: {body}"
                )))
            }
        };
        let why = format!("the server refused this registry's move: {}", m.message);
        if reg.sync_restore_label(&m.prompt, &m.label, server_hash.as_deref(), &why)? {
            report.restored.push(format!("{} {}", m.prompt, m.label));
        }
    }
    Ok(())
}

/// Checks the token with the server: who it belongs to and their role there.
pub fn whoami(remote: &Remote) -> Result<(String, String), SyncError> {
    let (status, body) = remote.get("/v1/me")?;
    if status != 200 {
        return Err(SyncError::Protocol(format!(
            "/v1/me answered {status}: {body}"
        )));
    }
    let user = body["user"].as_str().unwrap_or_default().to_string();
    let role = body["role"].as_str().unwrap_or_default().to_string();
    Ok((user, role))
}

/// `person`'s token for `url`: `PROMPTDESK_TOKEN` when set (CI, scripts; never stored), else
/// the one kept in the key store.
pub fn token_for(
    store: &promptdesk_keys::KeyStore,
    url: &str,
    person: &str,
) -> Result<String, SyncError> {
    if let Ok(t) = std::env::var("PROMPTDESK_TOKEN") {
        if !t.trim().is_empty() {
            return Ok(t.trim().to_string());
        }
    }
    store
        .server_token(url, person)
        .map_err(|e| SyncError::Keys(e.to_string()))?
        .ok_or_else(|| SyncError::NoToken { url: url.into() })
}

/// The remote of `reg`, with the acting person's token and the options kept with it, ready to
/// sync.
pub fn remote_of(reg: &Registry, store: &promptdesk_keys::KeyStore) -> Result<Remote, SyncError> {
    let url = reg.sync_remote()?.ok_or(SyncError::NoRemote)?;
    let token = token_for(store, &url, reg.actor())?;
    remote_for(reg, &url, &token)
}

/// A remote for `url` with `token` and the options `reg` keeps for that URL.
pub fn remote_for(reg: &Registry, url: &str, token: &str) -> Result<Remote, SyncError> {
    Remote::with_options(url, token, &remote_options(reg, url)?)
}

/// The registry setting holding the options of the remote (a JSON object with the URL they are
/// for, so options set for one server never apply to another).
const OPTIONS_SETTING: &str = "sync.remote_options";

#[derive(Serialize, Deserialize)]
struct KeptOptions {
    url: String,
    #[serde(flatten)]
    options: RemoteOptions,
}

/// The options kept for `url` (the defaults when none are, or they are another URL's).
pub fn remote_options(reg: &Registry, url: &str) -> Result<RemoteOptions, SyncError> {
    let url = url.trim().trim_end_matches('/');
    let Some(text) = promptdesk_core::store::settings::get(reg.connection(), OPTIONS_SETTING)?
    else {
        return Ok(RemoteOptions::default());
    };
    let kept: KeptOptions = serde_json::from_str(&text)
        .map_err(|e| SyncError::Protocol(format!("the kept remote options are unreadable: {e}")))?;
    Ok(if kept.url == url {
        kept.options
    } else {
        RemoteOptions::default()
    })
}

/// Keeps `options` for `url` (a path and a flag, never a secret).
pub fn set_remote_options(
    reg: &Registry,
    url: &str,
    options: &RemoteOptions,
) -> Result<(), SyncError> {
    let kept = KeptOptions {
        url: url.trim().trim_end_matches('/').to_string(),
        options: options.clone(),
    };
    let text = serde_json::to_string(&kept).map_err(|e| SyncError::Protocol(e.to_string()))?;
    promptdesk_core::store::settings::set(reg.connection(), OPTIONS_SETTING, &text)?;
    Ok(())
}

/// A value for JSON output: the state plus the last round's report.
pub fn report_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}
