//! HTTP to the registry server: JSON in, JSON out, the token as a Bearer header. Transport
//! failures, 5xx and 429 answers are "offline" (try again later); other answers are returned
//! with their status for the caller to read.

use std::time::Duration;

use serde_json::Value;

use crate::SyncError;

/// A registry server and the token to use with it. The token is never printed: `Debug` shows
/// only the URL.
#[derive(Clone)]
pub struct Remote {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Remote {
    pub fn new(url: &str, token: &str) -> Remote {
        Remote {
            url: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(5))
                .timeout(Duration::from_secs(120))
                .build(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn get(&self, path: &str) -> Result<(u16, Value), SyncError> {
        let request = self
            .agent
            .get(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.token));
        self.answer(request.call())
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), SyncError> {
        let request = self
            .agent
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
            Err(ureq::Error::Transport(t)) => return Err(offline(t.to_string())),
        };
        let status = response.status();
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
