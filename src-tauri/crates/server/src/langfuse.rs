//! The Langfuse-compatible prompt API, so existing Langfuse SDKs fetch and create prompts here.
//!
//! Differences a Langfuse user should know: Promptdesk templates are Jinja, and the SDKs'
//! `compile()` only substitutes `{{ var }}` — control flow (`{% if %}`, includes) reaches them
//! as literal text. Versions are immutable, so `DELETE` is refused. Every label change goes
//! through the release policy: a protected label (`production` by default) moves only by a
//! signed release that meets its policy, so moving it here is a 403 that says why.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::Router;
use promptdesk_content::{Body, ChatMessage, ModelSettings, VersionContent};
use promptdesk_protocol::events::{EventBody, MoveKind, SyncEvent};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::apply::{self, Principal};
use crate::error::{Result, ServerError};
use crate::http::{blocking, fetch_cached, principal_or_refuse, PickQuery, ServerState};
use crate::store::{Pick, PromptFilter, PromptRow, Tx, VersionRow};

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/api/public/health", get(health))
        .route("/api/public/projects", get(projects))
        .route("/api/public/v2/prompts", get(list).post(create))
        .route("/api/public/v2/prompts/{name}", get(fetch).delete(delete))
        .route(
            "/api/public/v2/prompts/{name}/versions/{version}",
            patch(update_labels),
        )
}

/// Langfuse's error body: `{message, error}`.
fn lf_error(e: &ServerError) -> Response {
    let name = match e {
        ServerError::BadInput(_) => "InvalidRequestError",
        ServerError::Unauthorized(_) => "UnauthorizedError",
        ServerError::Forbidden(_) => "AccessDeniedError",
        ServerError::NotFound(_) => "LangfuseNotFoundError",
        ServerError::Conflict(_) => "ConflictError",
        ServerError::RateLimited(_) => "RateLimitError",
        ServerError::Internal(_) => "InternalServerError",
    };
    (
        e.status(),
        axum::Json(json!({ "message": e.to_string(), "error": name })),
    )
        .into_response()
}

async fn health() -> Response {
    axum::Json(json!({ "status": "OK", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn projects(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer, lf_error);
    axum::Json(json!({ "data": [{
        "id": "promptdesk", "name": "Promptdesk", "metadata": {},
        "organization": { "id": "promptdesk", "name": "Promptdesk" },
    }] }))
    .into_response()
}

/// The Langfuse prompt object for a version.
fn prompt_object(tx: &mut dyn Tx, p: &PromptRow, v: &VersionRow) -> Result<Value> {
    let content: VersionContent = serde_json::from_value(v.content.clone())?;
    let mut labels: Vec<String> = tx
        .labels(&p.name)?
        .into_iter()
        .filter(|l| l.hash == v.hash)
        .map(|l| l.label)
        .collect();
    if tx.version(&p.name, &Pick::Latest)?.map(|l| l.number) == Some(v.number) {
        labels.push("latest".into());
    }
    let (kind, prompt) = match &content.body {
        Body::Text { template } => ("text", Value::from(template.clone())),
        Body::Chat { messages } => (
            "chat",
            Value::Array(
                messages
                    .iter()
                    .map(|m| json!({ "role": m.role, "content": m.template }))
                    .collect(),
            ),
        ),
    };
    Ok(json!({
        "name": p.name,
        "version": v.number,
        "type": kind,
        "prompt": prompt,
        "config": config_of(&content.model),
        "labels": labels,
        "tags": p.tags,
        "commitMessage": v.message,
        "createdAt": v.created_at,
        "updatedAt": v.created_at,
        "createdBy": v.author,
    }))
}

/// Model settings as a Langfuse `config` object (always an object: the Python SDK needs one).
fn config_of(m: &ModelSettings) -> Value {
    let mut out = Map::new();
    if !m.provider.is_empty() {
        out.insert("provider".into(), m.provider.clone().into());
    }
    if !m.model.is_empty() {
        out.insert("model".into(), m.model.clone().into());
    }
    for (k, v) in &m.parameters {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

fn settings_of(config: Option<&Value>) -> Result<ModelSettings> {
    let mut m = ModelSettings::default();
    let Some(config) = config else { return Ok(m) };
    let Value::Object(map) = config else {
        return Err(ServerError::BadInput("config must be an object".into()));
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("model", Value::String(s)) => m.model = s.clone(),
            ("provider", Value::String(s)) => m.provider = s.clone(),
            _ => {
                m.parameters.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(m)
}

async fn fetch(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<PickQuery>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer, lf_error);
    fetch_cached(&state, &headers, "lf", name, &q, prompt_object)
        .await
        .unwrap_or_else(|e| lf_error(&e))
}

#[derive(Deserialize)]
struct ListQuery {
    name: Option<String>,
    label: Option<String>,
    tag: Option<String>,
    page: Option<u32>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer, lf_error);
    let filter = PromptFilter {
        name: q.name,
        label: q.label,
        tag: q.tag,
        page: q.page.unwrap_or(1).max(1),
        limit: q.limit.unwrap_or(50).clamp(1, 100),
    };
    let store = state.store.clone();
    let out = blocking(move || {
        store.read(|tx| {
            let (rows, total) = tx.prompts(&filter)?;
            let mut data = Vec::new();
            for p in rows {
                let versions = tx.version_numbers(&p.name)?;
                let mut labels: Vec<String> =
                    tx.labels(&p.name)?.into_iter().map(|l| l.label).collect();
                let latest = tx.version(&p.name, &Pick::Latest)?;
                if latest.is_some() {
                    labels.push("latest".into());
                }
                let config = match &latest {
                    Some(v) => serde_json::from_value::<VersionContent>(v.content.clone())
                        .map(|c| config_of(&c.model))
                        .unwrap_or_else(|_| json!({})),
                    None => json!({}),
                };
                data.push(json!({
                    "name": p.name,
                    "type": p.kind,
                    "versions": versions,
                    "labels": labels,
                    "tags": p.tags,
                    "lastUpdatedAt": latest.as_ref().map(|v| v.created_at.clone()).unwrap_or(p.updated_at.clone()),
                    "lastConfig": config,
                }));
            }
            let pages = total.div_ceil(u64::from(filter.limit));
            Ok(json!({
                "data": data,
                "meta": { "page": filter.page, "limit": filter.limit, "totalItems": total, "totalPages": pages },
            }))
        })
    })
    .await;
    match out {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => lf_error(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    prompt: Value,
    config: Option<Value>,
    #[serde(default)]
    labels: Vec<String>,
    tags: Option<Vec<String>>,
    commit_message: Option<String>,
}

/// Creates the next version (and the prompt, the first time), then moves the labels it names;
/// all in one transaction, so a refused label leaves nothing behind.
async fn create(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = principal_or_refuse!(state, headers, peer, lf_error);
    let req: CreateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return lf_error(&ServerError::BadInput(format!("invalid prompt: {e}"))),
    };
    let store = state.store.clone();
    let out = blocking(move || {
        let content = content_of(&req)?;
        let now = crate::now();
        store.write(|tx| {
            let kind = content.kind();
            let existing = tx.prompt(&req.name)?;
            if existing.is_none() {
                record(
                    tx,
                    &who,
                    &now,
                    EventBody::PromptCreate {
                        name: req.name.clone(),
                        kind,
                        description: String::new(),
                        tags: req.tags.clone().unwrap_or_default(),
                    },
                )?;
            } else if let (Some(p), Some(tags)) = (&existing, &req.tags) {
                if &p.tags != tags {
                    record(
                        tx,
                        &who,
                        &now,
                        EventBody::PromptUpdate {
                            name: req.name.clone(),
                            description: p.description.clone(),
                            tags: tags.clone(),
                        },
                    )?;
                }
            }
            let parent = tx.version(&req.name, &Pick::Latest)?.map(|v| v.hash);
            let hash = content.content_hash();
            record(
                tx,
                &who,
                &now,
                EventBody::VersionCreate {
                    prompt: req.name.clone(),
                    hash: hash.clone(),
                    parent_hash: parent,
                    content: content.clone(),
                    message: req.commit_message.clone().unwrap_or_default(),
                },
            )?;
            move_labels(tx, &who, &now, &req.name, &hash, &req.labels)?;
            let p = tx.prompt(&req.name)?.ok_or_else(|| {
                ServerError::Internal("the prompt vanished while it was created".into())
            })?;
            let v = tx
                .version(&req.name, &Pick::Hash(hash))?
                .ok_or_else(|| ServerError::Internal("the new version vanished".into()))?;
            prompt_object(tx, &p, &v)
        })
    })
    .await;
    match out {
        Ok(v) => {
            state.changed();
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        Err(e) => lf_error(&e),
    }
}

fn content_of(req: &CreateBody) -> Result<VersionContent> {
    promptdesk_content::validate_prompt_name(&req.name)
        .map_err(|e| ServerError::BadInput(e.to_string()))?;
    let chat = match req.kind.as_deref() {
        None | Some("text") => false,
        Some("chat") => true,
        Some(other) => {
            return Err(ServerError::BadInput(format!(
                "type must be text or chat, not {other}"
            )))
        }
    };
    let body = match (&req.prompt, chat) {
        (Value::String(t), false) => Body::Text {
            template: t.clone(),
        },
        (Value::Array(items), true) => {
            let mut messages = Vec::new();
            for (i, m) in items.iter().enumerate() {
                if m.get("type").and_then(Value::as_str) == Some("placeholder") {
                    return Err(ServerError::BadInput(format!(
                        "message {i} is a placeholder; Promptdesk chat prompts have no placeholders"
                    )));
                }
                let role = m
                    .get("role")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ServerError::BadInput(format!("message {i} has no role")))?;
                promptdesk_content::validate_role(role)
                    .map_err(|e| ServerError::BadInput(format!("message {i}: {e}")))?;
                let content = m.get("content").and_then(Value::as_str).ok_or_else(|| {
                    ServerError::BadInput(format!("message {i} has no text content"))
                })?;
                messages.push(ChatMessage {
                    role: role.into(),
                    template: content.into(),
                });
            }
            Body::Chat { messages }
        }
        (_, false) => {
            return Err(ServerError::BadInput(
                "a text prompt is a string (send type: chat for a list of messages)".into(),
            ))
        }
        (_, true) => {
            return Err(ServerError::BadInput(
                "a chat prompt is a list of {role, content} messages".into(),
            ))
        }
    };
    Ok(VersionContent {
        body,
        variables: Vec::new(),
        model: settings_of(req.config.as_ref())?,
        includes: Default::default(),
    })
}

/// Records an event made on the caller's behalf, through the same checks as a pushed one.
fn record(tx: &mut dyn Tx, who: &Principal, now: &str, body: EventBody) -> Result<()> {
    let event = SyncEvent::new(&who.user, now, body);
    apply::apply(tx, who, &event, now).map(|_| ())
}

fn move_labels(
    tx: &mut dyn Tx,
    who: &Principal,
    now: &str,
    prompt: &str,
    hash: &str,
    labels: &[String],
) -> Result<()> {
    for label in labels.iter().filter(|l| l.as_str() != "latest") {
        let current = tx.label(prompt, label)?;
        if current.as_ref().is_some_and(|c| c.hash == hash) {
            continue;
        }
        record(
            tx,
            who,
            now,
            EventBody::LabelMove {
                prompt: prompt.into(),
                label: label.clone(),
                kind: MoveKind::Set,
                from_hash: current.map(|c| c.hash),
                to_hash: hash.into(),
                changelog: String::new(),
                review: None,
                bundle: None,
                key_id: None,
                signature: None,
                evidence: None,
            },
        )?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelsBody {
    new_labels: Vec<String>,
}

async fn update_labels(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, u32)>,
    body: Bytes,
) -> Response {
    let who = principal_or_refuse!(state, headers, peer, lf_error);
    let req: LabelsBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return lf_error(&ServerError::BadInput(format!(
                "expected {{newLabels: [...]}}: {e}"
            )))
        }
    };
    let store = state.store.clone();
    let out = blocking(move || {
        let now = crate::now();
        store.write(|tx| {
            let p = tx
                .prompt(&name)?
                .ok_or_else(|| ServerError::NotFound(format!("Prompt not found: '{name}'")))?;
            let v = tx.version(&name, &Pick::Number(version))?.ok_or_else(|| {
                ServerError::NotFound(format!("Prompt not found: '{name}' version {version}"))
            })?;
            move_labels(tx, &who, &now, &name, &v.hash, &req.new_labels)?;
            prompt_object(tx, &p, &v)
        })
    })
    .await;
    match out {
        Ok(v) => {
            state.changed();
            axum::Json(v).into_response()
        }
        Err(e) => lf_error(&e),
    }
}

async fn delete(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer, lf_error);
    lf_error(&ServerError::Forbidden(format!(
        "Promptdesk keeps every version of {name}: versions cannot be deleted (move or roll back a label instead)"
    )))
}
