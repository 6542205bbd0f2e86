//! Events as a Promptdesk client makes them: versions, reviews, approvals and releases signed
//! with per-person test keys.

use promptdesk_content::VersionContent;
use promptdesk_protocol::events::{EventBody, MoveKind, ReviewEventKind, SyncEvent};
use promptdesk_protocol::signing::{self, MemorySigner, Sign};
use promptdesk_protocol::statements::{decision_statement, release_statement, ReleaseStatement};
use serde_json::json;

use super::{Auth, Reply, Server};

pub const AT: &str = "2026-11-21T10:00:00Z";

pub fn content(text: &str) -> VersionContent {
    serde_json::from_value(json!({"body": {"kind": "text", "template": text}})).unwrap()
}

pub fn signer(who: &str) -> MemorySigner {
    let mut seed = [7u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    MemorySigner::from_seed(seed)
}

pub fn key_event(who: &str) -> SyncEvent {
    let pk = signer(who).public_key();
    SyncEvent::new(
        who,
        AT,
        EventBody::KeyRegister {
            key_id: signing::key_id(&pk),
            public_key: pk,
        },
    )
}

pub fn version_event(who: &str, prompt: &str, text: &str) -> (SyncEvent, String) {
    let c = content(text);
    let hash = c.content_hash();
    (
        SyncEvent::new(
            who,
            AT,
            EventBody::VersionCreate {
                prompt: prompt.into(),
                hash: hash.clone(),
                parent_hash: None,
                content: c,
                message: "a version".into(),
            },
        ),
        hash,
    )
}

pub fn approve(who: &str, review: &str, label: &str, hash: &str) -> SyncEvent {
    let id = uuid::Uuid::new_v4().to_string();
    let statement = decision_statement(&id, review, label, hash, "approve", who, AT);
    let s = signer(who);
    SyncEvent::with_id(
        &id,
        who,
        AT,
        EventBody::ReviewEvent {
            review: review.into(),
            decision: ReviewEventKind::Approve,
            body: "looks right".into(),
            anchor: None,
            reply_to: None,
            content_hash: Some(hash.into()),
            key_id: Some(signing::key_id(&s.public_key())),
            signature: Some(s.sign(&signing::statement_bytes(&statement)).unwrap()),
        },
    )
}

/// A release of `to` to `label` by `who`, signed with `key_of`'s key.
pub fn release(
    who: &str,
    key_of: &str,
    prompt: &str,
    label: &str,
    from: Option<&str>,
    to: &str,
    review: Option<&str>,
) -> SyncEvent {
    let id = uuid::Uuid::new_v4().to_string();
    let statement = release_statement(&ReleaseStatement {
        id: &id,
        kind: "release",
        label,
        from_hash: from,
        to_hash: to,
        changelog: "ship it",
        review_id: review,
        actor: who,
        at: AT,
        eval_run: None,
    });
    let s = signer(key_of);
    SyncEvent::with_id(
        &id,
        who,
        AT,
        EventBody::LabelMove {
            prompt: prompt.into(),
            label: label.into(),
            kind: MoveKind::Release,
            from_hash: from.map(Into::into),
            to_hash: to.into(),
            changelog: "ship it".into(),
            review: review.map(Into::into),
            bundle: None,
            key_id: Some(signing::key_id(&s.public_key())),
            signature: Some(s.sign(&signing::statement_bytes(&statement)).unwrap()),
            evidence: None,
        },
    )
}

pub fn push(server: &Server, token: &str, events: &[&SyncEvent]) -> Reply {
    server.request(
        "POST",
        "/v1/sync/push",
        Auth::Bearer(token),
        Some(&json!({ "events": events })),
    )
}

pub fn prompt_create(who: &str, name: &str) -> SyncEvent {
    SyncEvent::new(
        who,
        AT,
        EventBody::PromptCreate {
            name: name.into(),
            kind: promptdesk_content::PromptKind::Text,
            description: String::new(),
            tags: vec![],
        },
    )
}
