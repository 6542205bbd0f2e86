//! OpenAI's Chat Completions dialect (`POST /v1/chat/completions`, `GET /v1/models`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::behaviour::{answer, content_text, Conversation};
use crate::stats::Exchange;
use crate::{Fault, Shared};

/// The models `GET /v1/models` lists (any other name behaves like `echo`).
const MODELS: [&str; 6] = [
    "echo",
    "json-echo",
    "grader",
    "grader-fenced",
    "grader-prose",
    "hang",
];

/// An error in OpenAI's shape.
fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": kind, "param": null, "code": code}})),
    )
        .into_response()
}

/// OpenAI shows a key it refuses with its middle masked.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// None when the request may go on; the 401 otherwise.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    if shared.key_ok(presented) {
        return None;
    }
    Some(match presented {
        None | Some("") => error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
        ),
        Some(k) => error(
            StatusCode::UNAUTHORIZED,
            &format!("Incorrect API key provided: {}.", mask(k)),
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
    })
}

pub(crate) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let exchange = Exchange::begin(&shared, "/v1/models");
    if let Some(refused) = authenticate(&shared, &headers) {
        return exchange.finish(refused);
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(
            |m| json!({"id": m, "object": "model", "created": 0, "owned_by": "promptdesk-fakellm"}),
        )
        .collect();
    exchange.finish(Json(json!({"object": "list", "data": data})).into_response())
}

pub(crate) async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut exchange = Exchange::begin(&shared, "/v1/chat/completions");
    if let Some(refused) = authenticate(&shared, &headers) {
        return exchange.finish(refused);
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return exchange.finish(error(
                StatusCode::BAD_REQUEST,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                "invalid_request_error",
                None,
            ))
        }
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    exchange.model = model.to_string();
    match shared.admit(model) {
        Some(Fault::Hang) => {
            shared.hang().await;
            return exchange.finish(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is shutting down.",
                "server_error",
                None,
            ));
        }
        Some(fault) => {
            shared.delay().await;
            return exchange.finish(match fault {
                Fault::RateLimited { retry_after_s } => {
                    let mut r = error(
                        StatusCode::TOO_MANY_REQUESTS,
                        &format!("Rate limit reached for requests. Please try again in {retry_after_s}s."),
                        "requests",
                        Some("rate_limit_exceeded"),
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, retry_after_s.into());
                    r
                }
                _ => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                ),
            });
        }
        None => {}
    }
    if !shared.delay().await {
        return exchange.finish(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    let response = match conversation(&body) {
        Err(message) => error(
            StatusCode::BAD_REQUEST,
            &message,
            "invalid_request_error",
            None,
        ),
        Ok(c) => {
            let a = answer(model, &c, &body);
            Json(json!({
                "id": format!("chatcmpl-fake{}", shared.next_id()),
                "object": "chat.completion",
                "created": unix_now(),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": a.text},
                    "logprobs": null,
                    "finish_reason": if a.truncated { "length" } else { "stop" },
                }],
                "usage": {
                    "prompt_tokens": a.tokens_in,
                    "completion_tokens": a.tokens_out,
                    "total_tokens": a.tokens_in + a.tokens_out,
                },
            }))
            .into_response()
        }
    };
    exchange.finish(response)
}

/// The request's messages, checked as OpenAI checks them.
fn conversation(body: &Value) -> Result<Conversation, String> {
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("you must provide a model parameter".into());
    }
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => return Err("[] is too short - 'messages'".into()),
        _ => return Err("Missing required parameter: 'messages'.".into()),
    };
    let mut system = Vec::new();
    let mut rest = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let text = m
            .get("content")
            .and_then(content_text)
            .ok_or_else(|| format!("Invalid type for 'messages[{i}].content'."))?;
        match role {
            "system" | "developer" => system.push(text),
            "user" | "assistant" | "tool" => rest.push((role.to_string(), text)),
            other => {
                return Err(format!(
                    "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                ))
            }
        }
    }
    let max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64);
    Ok(Conversation {
        system: system.join("\n\n"),
        messages: rest,
        max_tokens,
    })
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn a_refused_key_is_shown_with_its_middle_masked() {
        assert_eq!(mask("sk-secret-1234"), "sk-*******1234");
        assert_eq!(mask("short"), "*****");
    }
}
