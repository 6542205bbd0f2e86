//! Anthropic's Messages dialect (`POST /v1/messages`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::behaviour::{answer, content_text, Conversation};
use crate::stats::Exchange;
use crate::{Fault, Shared};

/// An error in Anthropic's shape.
fn error(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({"type": "error", "error": {"type": kind, "message": message}})),
    )
        .into_response()
}

pub(crate) async fn messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut exchange = Exchange::begin(&shared, "/v1/messages");
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if !shared.key_ok(key) {
        let message = match key {
            None => "x-api-key header is required",
            Some(_) => "invalid x-api-key",
        };
        return exchange.finish(error(401, "authentication_error", message));
    }
    if headers.get("anthropic-version").is_none() {
        return exchange.finish(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return exchange.finish(error(
                400,
                "invalid_request_error",
                "There was an issue with your request body: it is not a JSON object",
            ))
        }
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    exchange.model = model.to_string();
    match shared.admit(model) {
        Some(Fault::Hang) => {
            shared.hang().await;
            return exchange.finish(error(529, "overloaded_error", "Overloaded"));
        }
        Some(fault) => {
            shared.delay().await;
            return exchange.finish(match fault {
                Fault::RateLimited { retry_after_s } => {
                    let mut r = error(
                        429,
                        "rate_limit_error",
                        "This request would exceed your organization's rate limit. Please try again later.",
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, retry_after_s.into());
                    r
                }
                _ => error(500, "api_error", "Internal server error"),
            });
        }
        None => {}
    }
    if !shared.delay().await {
        return exchange.finish(error(529, "overloaded_error", "Overloaded"));
    }
    let id = shared.next_id();
    let mut response = match conversation(&body) {
        Err(message) => error(400, "invalid_request_error", &message),
        Ok(c) => {
            let a = answer(model, &c, &body);
            Json(json!({
                "id": format!("msg_fake{id:020}"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": a.text}],
                "stop_reason": if a.truncated { "max_tokens" } else { "end_turn" },
                "stop_sequence": null,
                "usage": {"input_tokens": a.tokens_in, "output_tokens": a.tokens_out},
            }))
            .into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&format!("req_fake{id:020}")) {
        response.headers_mut().insert("request-id", v);
    }
    exchange.finish(response)
}

/// The request's system text and messages, checked as Anthropic checks them.
fn conversation(body: &Value) -> Result<Conversation, String> {
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("model: Field required".into());
    }
    let max_tokens = match body.get("max_tokens") {
        None => return Err("max_tokens: Field required".into()),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or("max_tokens: Input should be a valid integer greater than or equal to 1")?,
    };
    let system = match body.get("system") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Array(_)) => content_text(v)
            .ok_or("system: Input should be a valid string or a list of text blocks")?,
        Some(_) => {
            return Err("system: Input should be a valid string or a list of text blocks".into())
        }
    };
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => return Err("messages: at least one message is required".into()),
        _ => return Err("messages: Field required".into()),
    };
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "system" {
            return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.".into());
        }
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        let text = m
            .get("content")
            .filter(|c| !c.is_null())
            .and_then(content_text)
            .ok_or_else(|| format!("messages.{i}.content: Input should be a valid string or a list of content blocks"))?;
        out.push((role.to_string(), text));
    }
    Ok(Conversation {
        system,
        messages: out,
        max_tokens: Some(max_tokens),
    })
}
