//! HTTP to the registry server: JSON in, JSON out, the token as a Bearer header. Transport
//! failures, 5xx and 429 answers are "offline" (try again later); a failed TLS handshake is not
//! (it will fail the same way until someone changes a certificate or a setting); other answers
//! are returned with their status for the caller to read.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tls::{self, SetupError};
use crate::SyncError;

/// How the client may reach a remote, kept with its URL (never a secret: a path and a flag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteOptions {
    /// A PEM file of CA certificates trusted besides the system's (a private CA).
    /// `PROMPTDESK_CA_FILE` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Plain `http://` to a host that is not this machine is allowed.
    #[serde(default)]
    pub insecure: bool,
}

/// A registry server and the token to use with it. The token is never printed: `Debug` shows
/// only the URL.
#[derive(Clone)]
pub struct Remote {
    url: String,
    token: String,
    /// The agent, or what is wrong with the setup (reported by every request).
    agent: Result<ureq::Agent, SetupError>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Remote {
    /// A remote with the default options (`PROMPTDESK_CA_FILE` still applies). A setup
    /// problem (plain http to another machine, an unusable CA file) is reported by the first
    /// request, before anything is sent.
    pub fn new(url: &str, token: &str) -> Remote {
        Remote::build(url, token, &RemoteOptions::default())
    }

    /// A remote with `options`, or what is wrong with them (checked before any connection).
    pub fn with_options(
        url: &str,
        token: &str,
        options: &RemoteOptions,
    ) -> Result<Remote, SyncError> {
        let remote = Remote::build(url, token, options);
        match &remote.agent {
            Ok(_) => Ok(remote),
            Err(e) => Err(e.clone().into()),
        }
    }

    fn build(url: &str, token: &str, options: &RemoteOptions) -> Remote {
        let url = url.trim().trim_end_matches('/').to_string();
        let agent = tls::check_url(&url, options.insecure).and_then(|()| {
            let ca_file = tls::effective_ca_file(options.ca_file.as_deref());
            let config = tls::client_config(ca_file.as_deref())?;
            Ok(ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(5))
                .timeout(Duration::from_secs(120))
                // A redirect is reported, never followed: following one could take the
                // token and the changes somewhere the checks above never looked at (from
                // https:// to plain http://, to another host).
                .redirects(0)
                .tls_config(config)
                .build())
        });
        Remote {
            url,
            token: token.to_string(),
            agent,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn agent(&self) -> Result<&ureq::Agent, SyncError> {
        self.agent.as_ref().map_err(|e| e.clone().into())
    }

    pub fn get(&self, path: &str) -> Result<(u16, Value), SyncError> {
        let request = self
            .agent()?
            .get(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.token));
        self.answer(request.call())
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), SyncError> {
        let request = self
            .agent()?
            .post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.token));
        self.answer(request.send_json(body))
    }

    fn answer(
        &self,
        outcome: Result<ureq::Response, ureq::Error>,
    ) -> Result<(u16, Value), SyncError> {
        let offline = |detail: String| SyncError::Offline {
            url: self.url.clone(),
            detail,
        };
        let response = match outcome {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                if let Some(cause) = tls::tls_cause(&t) {
                    return Err(SyncError::Tls {
                        url: self.url.clone(),
                        detail: tls::describe(&self.host(), cause),
                    });
                }
                return Err(offline(t.to_string()));
            }
        };
        let status = response.status();
        if (300..400).contains(&status) {
            let to = response.header("Location").unwrap_or("nowhere").to_string();
            return Err(SyncError::Protocol(format!(
                "{} answers HTTP {status}, a redirect to {to}, which is not followed: if that is \
                 the server's address, set it with `promptdesk remote set URL`",
                self.url
            )));
        }
        // A body cut short (the server died mid-answer) fails here: nothing of it is used.
        let text = response
            .into_string()
            .map_err(|e| offline(format!("the answer was cut short ({e})")))?;
        let body: Value = serde_json::from_str(&text).map_err(|e| {
            if status >= 500 || status == 429 {
                offline(format!("HTTP {status}"))
            } else {
                SyncError::Protocol(format!("HTTP {status}, not JSON ({e})"))
            }
        })?;
        if status >= 500 || status == 429 {
            let message = body["message"].as_str().unwrap_or("no message").to_string();
            return Err(offline(format!("HTTP {status}: {message}")));
        }
        if status == 401 {
            return Err(SyncError::Unauthorized {
                url: self.url.clone(),
                detail: body["message"].as_str().unwrap_or("401").to_string(),
            });
        }
        Ok((status, body))
    }
}

impl Remote {
    /// The host of the URL (the name its certificate must hold), for messages.
    fn host(&self) -> String {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| self.url.clone())
    }
}

/// Percent-encodes a path segment or query value (prompt names hold `/`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
