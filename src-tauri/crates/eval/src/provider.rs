//! LLM provider clients: OpenAI Chat Completions and Anthropic Messages over HTTP.
//!
//! A [`Provider`] is built once from a [`ProviderConfig`] and keeps one `reqwest` client, so its
//! connections are pooled and reused across requests. A [`ChatRequest`] is dialect-neutral
//! (model, messages, parameters); [`Provider::wire_body`] turns it into the dialect's JSON:
//!
//! - OpenAI: `{model, messages: [{role, content}], ...parameters}` to
//!   `{base}/v1/chat/completions`, with `Authorization: Bearer KEY`.
//! - Anthropic: system messages move to the top-level `system` (joined by a blank line, in
//!   order), `max_tokens` is 1024 unless the version set it, a `stop` parameter becomes
//!   `stop_sequences`; sent to `{base}/v1/messages` with `x-api-key` and `anthropic-version:
//!   2023-06-01`.
//!
//! Parameters never override `model`, `messages`, `system` or `stream` (replies are read whole,
//! never streamed).
//!
//! **Base URLs** are accepted with or without a trailing `/v1` (and slashes): Ollama users paste
//! `http://localhost:11434/v1`, others `https://host` or `https://host/v1/`. The `/v1` is
//! stripped and put back on every route, so all of those reach `{host}/v1/chat/completions`.
//! A path before it is kept (`https://host/api/v1` → `https://host/api/v1/chat/completions`).
//!
//! **The API key** is sent only in its header (marked sensitive), never appears in `Debug`
//! output (ours is written by hand) nor in errors: a provider message that quotes it has it
//! replaced by `[redacted]`, and transport errors do not carry the URL.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use promptdesk_content::{ModelSettings, Rendered};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The `anthropic-version` header sent with every Anthropic request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `max_tokens` of an Anthropic request whose version did not set it (the API requires one).
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u64 = 1024;
/// How much of a provider's error body is kept when it is not JSON.
const ERROR_BODY_EXCERPT: usize = 300;

/// Which API dialect a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI Chat Completions, also served by Ollama, vLLM and llama.cpp's server.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

/// A model's price, in currency units per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Where a provider is and how to talk to it. `Debug` never shows the API key.
#[derive(Clone, PartialEq)]
pub struct ProviderConfig {
    /// The name people gave it (`openai`, `local-ollama`), used in messages.
    pub name: String,
    pub kind: ProviderKind,
    /// With or without a trailing `/v1` (see the module docs).
    pub base_url: String,
    pub api_key: Option<String>,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// Prices by model name; a reply's cost is known only for models listed here.
    pub prices: BTreeMap<String, Price>,
}

impl ProviderConfig {
    /// A config with no key, no prices and a 60 s timeout.
    pub fn new(name: impl Into<String>, kind: ProviderKind, base_url: impl Into<String>) -> Self {
        ProviderConfig {
            name: name.into(),
            kind,
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            prices: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("prices", &self.prices)
            .finish()
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// A dialect-neutral request: what a rendered version and its model settings ask of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    /// Sampling and length parameters as the version sets them (`temperature`, `max_tokens`,
    /// `top_p`, `stop`, …), passed through to the provider.
    pub parameters: BTreeMap<String, Value>,
}

impl ChatRequest {
    /// The request for a rendered version: a text prompt becomes one user message, a chat
    /// prompt's messages go as they are; model and parameters come from `settings`.
    pub fn from_rendered(rendered: &Rendered, settings: &ModelSettings) -> ChatRequest {
        let messages = match rendered {
            Rendered::Text { text } => vec![Message {
                role: "user".into(),
                content: text.clone(),
            }],
            Rendered::Chat { messages } => messages
                .iter()
                .map(|m| Message {
                    role: m.role.clone(),
                    content: m.content.clone(),
                })
                .collect(),
        };
        ChatRequest {
            model: settings.model.clone(),
            messages,
            parameters: settings.parameters.clone(),
        }
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    /// As the provider reported them (0 when it did not).
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// From sending the request to having read the whole answer.
    pub latency_ms: u64,
    /// From the provider's price table; None when the model has no price there.
    pub cost: Option<f64>,
    /// `stop`, `length`, `end_turn`, `max_tokens`, … as the provider said.
    pub finish_reason: Option<String>,
}

/// Why a provider gave no reply. Messages are the provider's own (from its error JSON) with
/// the API key redacted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// 429. `retry_after` is the provider's `Retry-After` (or `retry-after-ms`), when given.
    #[error("rate limited by the provider{}: {message}", retry_after.map(|d| format!(" (retry after {:.1} s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// A 5xx (Anthropic's 529 "overloaded" included), or 408/409, which providers ask clients
    /// to retry.
    #[error("the provider failed with HTTP {status}: {message}")]
    Server { status: u16, message: String },
    /// No complete answer within the timeout.
    #[error("no answer within {:.1} s", after.as_secs_f64())]
    Timeout { after: Duration },
    /// The connection failed (refused, reset, DNS, TLS).
    #[error("could not reach the provider: {message}")]
    Transport { message: String },
    /// 401 or 403: a missing, wrong or underprivileged key.
    #[error("the provider refused the credentials (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// Another 4xx: the request itself is wrong (unknown model, bad parameter, too long).
    #[error("the provider refused the request (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    /// A 2xx answer that is not what the dialect promises, or an unexpected status.
    #[error("the provider's answer could not be read: {message}")]
    Protocol { message: String },
    /// The provider's configuration is unusable (a base URL that is not http(s)).
    #[error("the provider is misconfigured: {message}")]
    Config { message: String },
}

impl ProviderError {
    /// Whether trying the same request again may succeed: rate limits, server errors,
    /// timeouts and transport failures.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
                | ProviderError::Timeout { .. }
                | ProviderError::Transport { .. }
        )
    }

    /// How long the provider asked to wait before retrying, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A stable name for the kind, for storage and the UI: `rate_limited`, `server`,
    /// `timeout`, `transport`, `unauthorized`, `bad_request`, `protocol`, `config`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Server { .. } => "server",
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::Transport { .. } => "transport",
            ProviderError::Unauthorized { .. } => "unauthorized",
            ProviderError::BadRequest { .. } => "bad_request",
            ProviderError::Protocol { .. } => "protocol",
            ProviderError::Config { .. } => "config",
        }
    }
}

/// A boxed completion future (what [`Complete`] returns, so it can be a trait object).
pub type CompleteFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Reply, ProviderError>> + Send + 'a>>;

/// Something that answers chat requests: a [`Provider`], or a stand-in in tests. The runner
/// holds it as `Arc<dyn Complete>`.
pub trait Complete: Send + Sync {
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> CompleteFuture<'a>;
}

/// A provider client: its config, normalised endpoint and one pooled HTTP client.
#[derive(Clone)]
pub struct Provider {
    config: ProviderConfig,
    endpoint: String,
    client: reqwest::Client,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// `base_url` without trailing slashes or a trailing `/v1`; an error unless it is an http(s)
/// URL with a host.
pub fn normalize_base_url(base_url: &str) -> Result<String, String> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    let trimmed = trimmed.trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| format!("the base URL {trimmed:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "the base URL {trimmed:?} must start with http:// or https:// and name a host"
        ));
    }
    Ok(trimmed.to_string())
}

impl Provider {
    /// A client for `config`. Fails only on a base URL that is not http(s), or when the TLS
    /// backend cannot start.
    pub fn new(config: ProviderConfig) -> Result<Provider, ProviderError> {
        let base = normalize_base_url(&config.base_url)
            .map_err(|message| ProviderError::Config { message })?;
        let path = match config.kind {
            ProviderKind::OpenAi => "/v1/chat/completions",
            ProviderKind::Anthropic => "/v1/messages",
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("promptdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config {
                message: format!("cannot start the HTTP client: {}", error_chain(&e)),
            })?;
        Ok(Provider {
            endpoint: format!("{base}{path}"),
            config,
            client,
        })
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The URL requests are sent to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The cost of a call from the price table, when `model` has a price.
    pub fn cost(&self, model: &str, tokens_in: u64, tokens_out: u64) -> Option<f64> {
        let p = self.config.prices.get(model)?;
        Some((tokens_in as f64 * p.input_per_mtok + tokens_out as f64 * p.output_per_mtok) / 1e6)
    }

    /// The JSON body this provider's dialect gets for `request`.
    pub fn wire_body(&self, request: &ChatRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(request.model));
        for (k, v) in &request.parameters {
            if !matches!(k.as_str(), "model" | "messages" | "system" | "stream") {
                body.insert(k.clone(), v.clone());
            }
        }
        match self.config.kind {
            ProviderKind::OpenAi => {
                body.insert("messages".into(), json!(request.messages));
            }
            ProviderKind::Anthropic => {
                let system: Vec<&str> = request
                    .messages
                    .iter()
                    .filter(|m| m.role == "system")
                    .map(|m| m.content.as_str())
                    .collect();
                if !system.is_empty() {
                    body.insert("system".into(), json!(system.join("\n\n")));
                }
                let messages: Vec<&Message> = request
                    .messages
                    .iter()
                    .filter(|m| m.role != "system")
                    .collect();
                body.insert("messages".into(), json!(messages));
                body.entry("max_tokens")
                    .or_insert(json!(ANTHROPIC_DEFAULT_MAX_TOKENS));
                if let Some(stop) = body.remove("stop") {
                    let stop = match stop {
                        Value::String(s) => json!([s]),
                        other => other,
                    };
                    body.entry("stop_sequences").or_insert(stop);
                }
            }
        }
        Value::Object(body)
    }

    /// Sends `request` once and reads the whole answer. No retries here: the runner decides.
    pub async fn complete(&self, request: &ChatRequest) -> Result<Reply, ProviderError> {
        let body =
            serde_json::to_vec(&self.wire_body(request)).map_err(|e| ProviderError::Protocol {
                message: format!("the request could not be encoded: {e}"),
            })?;
        let mut send = self
            .client
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        match self.config.kind {
            ProviderKind::OpenAi => {
                if let Some(key) = self.key() {
                    send = send.bearer_auth(key);
                }
            }
            ProviderKind::Anthropic => {
                send = send.header("anthropic-version", ANTHROPIC_VERSION);
                if let Some(key) = self.key() {
                    let mut value =
                        HeaderValue::from_str(key).map_err(|_| ProviderError::Config {
                            message: "the API key contains characters a header cannot carry".into(),
                        })?;
                    value.set_sensitive(true);
                    send = send.header("x-api-key", value);
                }
            }
        }
        let started = Instant::now();
        let response = send.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        let latency_ms = started.elapsed().as_millis() as u64;
        if !status.is_success() {
            return Err(self.status_error(status.as_u16(), &headers, &bytes));
        }
        let answer: Value =
            serde_json::from_slice(&bytes).map_err(|e| ProviderError::Protocol {
                message: format!("the answer is not JSON ({e}): {}", self.excerpt(&bytes)),
            })?;
        let (text, finish_reason, tokens_in, tokens_out) = match self.config.kind {
            ProviderKind::OpenAi => self.read_openai(&answer)?,
            ProviderKind::Anthropic => self.read_anthropic(&answer)?,
        };
        let answered_model = answer.get("model").and_then(Value::as_str).unwrap_or("");
        let cost = self
            .cost(&request.model, tokens_in, tokens_out)
            .or_else(|| self.cost(answered_model, tokens_in, tokens_out));
        Ok(Reply {
            text,
            tokens_in,
            tokens_out,
            latency_ms,
            cost,
            finish_reason,
        })
    }

    fn key(&self) -> Option<&str> {
        self.config.api_key.as_deref().filter(|k| !k.is_empty())
    }

    fn read_openai(
        &self,
        answer: &Value,
    ) -> Result<(String, Option<String>, u64, u64), ProviderError> {
        let Some(choice) = answer.pointer("/choices/0") else {
            let message = match answer.get("error") {
                Some(_) => format!(
                    "an error instead of choices: {}",
                    self.redact(&error_message(answer).unwrap_or_default())
                ),
                None => "the answer has no choices".to_string(),
            };
            return Err(ProviderError::Protocol { message });
        };
        let text = match choice.pointer("/message/content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            Some(other) => {
                return Err(ProviderError::Protocol {
                    message: format!("choices[0].message.content is {other}, not text"),
                })
            }
        };
        let finish = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        let usage = |k: &str| {
            answer
                .pointer(&format!("/usage/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Ok((
            text,
            finish,
            usage("prompt_tokens"),
            usage("completion_tokens"),
        ))
    }

    fn read_anthropic(
        &self,
        answer: &Value,
    ) -> Result<(String, Option<String>, u64, u64), ProviderError> {
        let Some(Value::Array(blocks)) = answer.get("content") else {
            return Err(ProviderError::Protocol {
                message: "the answer has no content blocks".into(),
            });
        };
        let text = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("");
        let finish = answer
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        let usage = |k: &str| {
            answer
                .pointer(&format!("/usage/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Ok((text, finish, usage("input_tokens"), usage("output_tokens")))
    }

    fn transport(&self, e: reqwest::Error) -> ProviderError {
        if e.is_timeout() {
            return ProviderError::Timeout {
                after: self.config.timeout,
            };
        }
        // The URL stays out: a base URL may carry a key in its query.
        let e = e.without_url();
        ProviderError::Transport {
            message: self.redact(&format!("{} ({})", error_chain(&e), self.config.name)),
        }
    }

    fn status_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
        let message = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| error_message(&v))
            .unwrap_or_else(|| self.excerpt(body));
        let message = if message.trim().is_empty() {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_string()
        } else {
            self.redact(&message)
        };
        match status {
            429 => ProviderError::RateLimited {
                retry_after: retry_after(headers),
                message,
            },
            401 | 403 => ProviderError::Unauthorized { status, message },
            408 | 409 | 500..=599 => ProviderError::Server { status, message },
            400..=499 => ProviderError::BadRequest { status, message },
            _ => ProviderError::Protocol {
                message: format!("unexpected HTTP {status}: {message}"),
            },
        }
    }

    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let cut = text
            .char_indices()
            .nth(ERROR_BODY_EXCERPT)
            .map_or(text.len(), |(i, _)| i);
        let mut out = self.redact(&text[..cut]);
        if cut < text.len() {
            out.push('…');
        }
        out
    }

    /// `text` with the API key replaced, in case a provider quotes it back.
    fn redact(&self, text: &str) -> String {
        match self.key() {
            Some(key) if key.len() >= 4 => text.replace(key, "[redacted]"),
            _ => text.to_string(),
        }
    }
}

impl Complete for Provider {
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> CompleteFuture<'a> {
        Box::pin(Provider::complete(self, request))
    }
}

/// The provider's own message from an error body: `error.message` (OpenAI, Anthropic),
/// `error` as a string (Ollama), `message` (vLLM) or `detail` (FastAPI servers).
fn error_message(v: &Value) -> Option<String> {
    let found = v
        .pointer("/error/message")
        .or_else(|| v.get("error").filter(|e| e.is_string()))
        .or_else(|| v.get("message"))
        .or_else(|| v.get("detail"))?;
    match found {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `retry-after-ms` (OpenAI) or `Retry-After` in seconds. An HTTP-date `Retry-After` is not
/// read (None: the runner's own backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// An error and its sources, `: `-separated.
/// TLS of provider calls: rustls with ring (the workspace's one crypto provider) trusting the
/// system's root certificates (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured), read once per
/// process.
fn tls_config() -> Result<rustls::ClientConfig, ProviderError> {
    static ROOTS: std::sync::OnceLock<std::sync::Arc<rustls::RootCertStore>> =
        std::sync::OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        std::sync::Arc::new(roots)
    });
    #[allow(deprecated)] // ring lacks post-quantum key exchange; see the workspace's Cargo.toml
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProviderError::Config {
            message: format!("cannot start TLS: {e}"),
        })?
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    Ok(config)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: ProviderKind, key: Option<&str>) -> Provider {
        let mut c = ProviderConfig::new("test", kind, "http://127.0.0.1:9/v1/");
        c.api_key = key.map(str::to_string);
        Provider::new(c).unwrap()
    }

    fn request(messages: &[(&str, &str)], params: Value) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: messages
                .iter()
                .map(|(r, c)| Message {
                    role: r.to_string(),
                    content: c.to_string(),
                })
                .collect(),
            parameters: serde_json::from_value(params).unwrap(),
        }
    }

    #[test]
    fn base_urls_with_or_without_v1_reach_the_same_endpoint() {
        for url in [
            "http://localhost:11434",
            "http://localhost:11434/",
            "http://localhost:11434/v1",
            "http://localhost:11434/v1/",
            " http://localhost:11434/v1// ",
        ] {
            assert_eq!(
                normalize_base_url(url).as_deref(),
                Ok("http://localhost:11434"),
                "{url:?}"
            );
        }
        assert_eq!(
            normalize_base_url("https://example.test/api/v1").as_deref(),
            Ok("https://example.test/api")
        );
        assert!(normalize_base_url("localhost:11434").is_err());
        assert!(normalize_base_url("ftp://example.test").is_err());
        let p = provider(ProviderKind::OpenAi, None);
        assert_eq!(p.endpoint(), "http://127.0.0.1:9/v1/chat/completions");
        let p = provider(ProviderKind::Anthropic, None);
        assert_eq!(p.endpoint(), "http://127.0.0.1:9/v1/messages");
    }

    #[test]
    fn a_text_prompt_becomes_one_user_message_and_a_chat_prompt_keeps_its_messages() {
        let settings: ModelSettings = serde_json::from_value(
            json!({"provider": "openai", "model": "gpt-x", "parameters": {"temperature": 0.2}}),
        )
        .unwrap();
        let text = ChatRequest::from_rendered(&Rendered::Text { text: "Hi".into() }, &settings);
        assert_eq!(text.model, "gpt-x");
        assert_eq!(
            text.messages,
            [Message {
                role: "user".into(),
                content: "Hi".into()
            }]
        );
        assert_eq!(text.parameters["temperature"], json!(0.2));
        let chat: Rendered = serde_json::from_value(json!({"kind": "chat", "messages": [
            {"role": "system", "content": "S"}, {"role": "user", "content": "U"}]}))
        .unwrap();
        let chat = ChatRequest::from_rendered(&chat, &settings);
        assert_eq!(chat.messages.len(), 2);
        assert_eq!(chat.messages[0].role, "system");
    }

    #[test]
    fn anthropic_bodies_move_system_messages_to_the_top_and_default_max_tokens() {
        let p = provider(ProviderKind::Anthropic, None);
        let body = p.wire_body(&request(
            &[("system", "A"), ("user", "Q"), ("system", "B")],
            json!({"stop": "END", "stream": true, "temperature": 0}),
        ));
        assert_eq!(body["system"], "A\n\nB");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "Q"}]));
        assert_eq!(body["max_tokens"], 1024);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(body.get("stop"), None);
        assert_eq!(body.get("stream"), None, "replies are never streamed");
        assert_eq!(body["temperature"], 0);
        let set = p.wire_body(&request(&[("user", "Q")], json!({"max_tokens": 7})));
        assert_eq!(set["max_tokens"], 7, "a version's own max_tokens is kept");
        assert_eq!(set.get("system"), None);
    }

    #[test]
    fn openai_bodies_carry_messages_as_they_are_and_parameters_cannot_replace_the_model() {
        let p = provider(ProviderKind::OpenAi, None);
        let body = p.wire_body(&request(
            &[("system", "A"), ("user", "Q")],
            json!({"model": "other", "max_tokens": 5}),
        ));
        assert_eq!(body["model"], "m");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "A"})
        );
        assert_eq!(body["max_tokens"], 5);
        let plain = p.wire_body(&request(&[("user", "Q")], json!({})));
        assert_eq!(
            plain.get("max_tokens"),
            None,
            "OpenAI gets no default max_tokens"
        );
    }

    #[test]
    fn error_bodies_give_the_providers_message_with_the_key_redacted() {
        let p = provider(ProviderKind::OpenAi, Some("sk-very-secret-0042"));
        let e = p.status_error(
            401,
            &HeaderMap::new(),
            br#"{"error":{"message":"Incorrect API key provided: sk-very-secret-0042.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert_eq!(
            e,
            ProviderError::Unauthorized {
                status: 401,
                message: "Incorrect API key provided: [redacted].".into()
            }
        );
        let e = p.status_error(
            503,
            &HeaderMap::new(),
            b"<html>upstream sk-very-secret-0042 down</html>",
        );
        assert!(!e.to_string().contains("sk-very-secret-0042"), "{e}");
        assert!(e.retryable());
        let e = p.status_error(
            404,
            &HeaderMap::new(),
            br#"{"error":"model 'x' not found"}"#,
        );
        assert_eq!(e.kind(), "bad_request");
        assert!(e.to_string().contains("model 'x' not found"), "{e}");
        assert!(!e.retryable());
    }

    #[test]
    fn retry_after_is_read_from_seconds_or_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut d = HeaderMap::new();
        d.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&d), None);
    }

    #[test]
    fn cost_comes_from_the_price_table_only() {
        let mut c = ProviderConfig::new("p", ProviderKind::OpenAi, "http://h");
        c.prices.insert(
            "gpt-x".into(),
            Price {
                input_per_mtok: 2.0,
                output_per_mtok: 8.0,
            },
        );
        let p = Provider::new(c).unwrap();
        assert_eq!(p.cost("gpt-x", 1_000_000, 500_000), Some(6.0));
        assert_eq!(p.cost("unknown", 10, 10), None);
    }
}
