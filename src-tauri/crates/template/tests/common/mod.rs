//! Helpers shared by the integration tests: a worker config pointing at the standalone worker
//! binary, request builders, and a lock so tests that time things do not compete for the CPU.

#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, PoisonError};

use promptdesk_content::{Body, ChatMessage, Rendered};
use promptdesk_template::{RenderRequest, RenderWorker, WorkerConfig};
use serde_json::{Map, Value};

/// The standalone worker binary built with this crate.
pub fn config() -> WorkerConfig {
    WorkerConfig::new(env!("CARGO_BIN_EXE_promptdesk-render-worker"), vec![])
}

/// A warm worker with the default limits.
pub fn warm_worker() -> RenderWorker {
    let mut worker = RenderWorker::new(config());
    worker.warm_up().expect("the worker starts");
    worker
}

pub fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

pub fn text(template: &str, v: Value) -> RenderRequest {
    RenderRequest::new(
        "tests/prompt",
        Body::Text {
            template: template.into(),
        },
        vars(v),
    )
}

pub fn chat(messages: &[(&str, &str)], v: Value) -> RenderRequest {
    RenderRequest::new(
        "tests/chat",
        Body::Chat {
            messages: messages
                .iter()
                .map(|(role, template)| ChatMessage {
                    role: role.to_string(),
                    template: template.to_string(),
                })
                .collect(),
        },
        vars(v),
    )
}

pub fn text_of(rendered: Rendered) -> String {
    match rendered {
        Rendered::Text { text } => text,
        other => panic!("expected a text rendering, got {other:?}"),
    }
}

/// A normal render that must work (after a bomb, a kill, …).
pub fn assert_normal_render_works(worker: &mut RenderWorker) {
    let rendered = worker
        .render(&text(
            "Hello {{ name }}!",
            serde_json::json!({"name": "Ada"}),
        ))
        .expect("a normal render works");
    assert_eq!(text_of(rendered), "Hello Ada!");
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs timing-sensitive tests one at a time (the machine may have only two cores).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}
