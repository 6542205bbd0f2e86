//! What travels between a registry and the team's registry server: events.
//!
//! Every change that syncs is one event with a globally unique id (the id of the ledger entry
//! that recorded it where it was made), its author, when, a kind and a payload. The event's hash
//! covers all of that, so the server can tell a replay (same id, same hash: nothing to do) from a
//! collision (same id, other content: refused, both hashes shown). Approvals and releases carry
//! the signature their author made; anyone holding the event can check it offline.
//!
//! The payloads say *what happened* in terms every registry understands (prompt names, content
//! hashes, label names), never local row ids or version numbers: numbers are assigned by the
//! registry of record (the server) and come back with the event when it is pulled.
//!
//! An event kind's rules live in three places, one each: its shape and the checks that need no
//! registry here ([`SyncEvent::check`]), how a desktop registry applies it
//! (`core/src/sync/inbox/`), and how the server decides and applies it (`server/src/apply/`).

use promptdesk_content::{sha256_hex, write_canonical, PromptKind, VersionContent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::policy::Policy;
use crate::records;
pub use crate::records::{Collection, RecordChange};

/// One change, as pushed to and pulled from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEvent {
    pub id: String,
    pub author: String,
    /// RFC 3339 UTC, from the author's clock.
    pub at: String,
    #[serde(flatten)]
    pub body: EventBody,
    /// [`SyncEvent::compute_hash`] of the fields above.
    pub hash: String,
}

/// What happened. Serialised as `{"kind": "...", "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum EventBody {
    #[serde(rename = "prompt.create")]
    PromptCreate {
        name: String,
        kind: PromptKind,
        #[serde(default)]
        description: String,
        #[serde(default)]
        tags: Vec<String>,
    },
    #[serde(rename = "prompt.update")]
    PromptUpdate {
        name: String,
        description: String,
        tags: Vec<String>,
    },
    #[serde(rename = "version.create")]
    VersionCreate {
        prompt: String,
        hash: String,
        parent_hash: Option<String>,
        content: VersionContent,
        message: String,
    },
    /// A person's public signing key (the private half never leaves their keyring).
    #[serde(rename = "key.register")]
    KeyRegister { key_id: String, public_key: String },
    /// A signing key revoked by its person or an admin: nothing it signed counts from then on.
    #[serde(rename = "key.revoke")]
    KeyRevoke { key_id: String, reason: String },
    /// A label moved: a release or rollback under the label's policy (signed), or a plain move
    /// of an unprotected label. `from_hash` is what the mover saw: the server applies the move
    /// as a compare-and-swap on it.
    #[serde(rename = "label.move")]
    LabelMove {
        prompt: String,
        label: String,
        kind: MoveKind,
        from_hash: Option<String>,
        to_hash: String,
        #[serde(default)]
        changelog: String,
        /// The review request this release ships, by its id.
        #[serde(default)]
        review: Option<String>,
        #[serde(default)]
        bundle: Option<String>,
        #[serde(default)]
        key_id: Option<String>,
        #[serde(default)]
        signature: Option<String>,
        /// For a release gated by a test suite: the eval evidence its releaser's registry
        /// weighed (the server cannot run evals; the run id is covered by the signature).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<crate::policy::SuiteResult>,
    },
    #[serde(rename = "review.request")]
    ReviewRequest {
        prompt: String,
        version_hash: String,
        label: String,
        #[serde(default)]
        description: String,
    },
    /// A comment or a decision on a review request (by the request's id). Decisions are signed
    /// and bound to the content hash they approve.
    #[serde(rename = "review.event")]
    ReviewEvent {
        review: String,
        decision: ReviewEventKind,
        #[serde(default)]
        body: String,
        #[serde(default)]
        anchor: Option<Value>,
        #[serde(default)]
        reply_to: Option<String>,
        #[serde(default)]
        content_hash: Option<String>,
        #[serde(default)]
        key_id: Option<String>,
        #[serde(default)]
        signature: Option<String>,
    },
    #[serde(rename = "policy.set")]
    PolicySet { label: String, policy: Policy },
    /// A change of a prompt's test suites, ratings, incidents or postmortems (see
    /// [`records`]): the ledger entry as it was made (`kind`, `payload`) and the rows it left,
    /// which every registry applies by id, last writer (in the server's order) winning.
    #[serde(rename = "records.put")]
    RecordsPut {
        prompt: String,
        /// The ledger kind (`suite.created`, `incident.opened`, …).
        kind: String,
        /// The ledger entry's payload, as every registry records it.
        payload: Value,
        records: Vec<RecordChange>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    Release,
    Rollback,
    /// A plain move of an unprotected label (`promptdesk label`, the Langfuse API).
    Set,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Release => "release",
            MoveKind::Rollback => "rollback",
            MoveKind::Set => "set",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewEventKind {
    Comment,
    Approve,
    RequestChanges,
    Close,
    Reopen,
}

impl ReviewEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewEventKind::Comment => "comment",
            ReviewEventKind::Approve => "approve",
            ReviewEventKind::RequestChanges => "request_changes",
            ReviewEventKind::Close => "close",
            ReviewEventKind::Reopen => "reopen",
        }
    }

    pub fn is_decision(self) -> bool {
        matches!(
            self,
            ReviewEventKind::Approve | ReviewEventKind::RequestChanges
        )
    }
}

impl EventBody {
    /// The event kind as it appears on the wire (`version.create`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::PromptCreate { .. } => "prompt.create",
            EventBody::PromptUpdate { .. } => "prompt.update",
            EventBody::VersionCreate { .. } => "version.create",
            EventBody::KeyRegister { .. } => "key.register",
            EventBody::KeyRevoke { .. } => "key.revoke",
            EventBody::LabelMove { .. } => "label.move",
            EventBody::ReviewRequest { .. } => "review.request",
            EventBody::ReviewEvent { .. } => "review.event",
            EventBody::PolicySet { .. } => "policy.set",
            EventBody::RecordsPut { .. } => "records.put",
        }
    }

    /// The kind of change as the ledger names it where it was made: a record change's own kind
    /// (`suite.created`, …), else the wire kind.
    pub fn change_kind(&self) -> &str {
        match self {
            EventBody::RecordsPut { kind, .. } => kind,
            other => other.kind(),
        }
    }

    /// The prompt the event is about, when it is about one.
    pub fn prompt(&self) -> Option<&str> {
        match self {
            EventBody::PromptCreate { name, .. } | EventBody::PromptUpdate { name, .. } => {
                Some(name)
            }
            EventBody::VersionCreate { prompt, .. }
            | EventBody::LabelMove { prompt, .. }
            | EventBody::ReviewRequest { prompt, .. }
            | EventBody::RecordsPut { prompt, .. } => Some(prompt),
            _ => None,
        }
    }
}

impl SyncEvent {
    /// Makes an event with a fresh id and its hash.
    pub fn new(author: &str, at: &str, body: EventBody) -> SyncEvent {
        SyncEvent::with_id(&uuid::Uuid::new_v4().to_string(), author, at, body)
    }

    pub fn with_id(id: &str, author: &str, at: &str, body: EventBody) -> SyncEvent {
        let mut e = SyncEvent {
            id: id.into(),
            author: author.into(),
            at: at.into(),
            body,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 of the canonical JSON of `{format, id, author, at, kind, payload}`.
    pub fn compute_hash(&self) -> String {
        let body = serde_json::to_value(&self.body).unwrap_or(Value::Null);
        let mut bytes = Vec::with_capacity(512);
        write_canonical(
            &json!({
                "format": "promptdesk.event/1",
                "id": self.id, "author": self.author, "at": self.at,
                "kind": body.get("kind"), "payload": body.get("payload"),
            }),
            &mut bytes,
        );
        sha256_hex(&bytes)
    }

    /// Checks what can be checked without a registry: the hash covers the event, names are
    /// valid, a version's content hashes to its stated hash. Says what is wrong and where.
    pub fn check(&self) -> Result<(), String> {
        let at = |m: String| format!("event {} ({}): {m}", self.id, self.body.kind());
        if self.id.trim().is_empty() || self.id.len() > 100 {
            return Err(at("the id must be 1 to 100 characters".into()));
        }
        if self.author.trim().is_empty() {
            return Err(at("the author is empty".into()));
        }
        if time::OffsetDateTime::parse(&self.at, &time::format_description::well_known::Rfc3339)
            .is_err()
        {
            return Err(at(format!("'{}' is not an RFC 3339 time", self.at)));
        }
        let computed = self.compute_hash();
        if computed != self.hash {
            return Err(at(format!(
                "its hash is {} but its content hashes to {computed}",
                self.hash
            )));
        }
        if let Some(name) = self.body.prompt() {
            promptdesk_content::validate_prompt_name(name).map_err(|e| at(e.to_string()))?;
        }
        match &self.body {
            EventBody::VersionCreate { hash, content, .. } => {
                let real = content.content_hash();
                if &real != hash {
                    return Err(at(format!(
                        "the version claims hash {hash} but its content hashes to {real}"
                    )));
                }
            }
            EventBody::LabelMove { label, .. }
            | EventBody::ReviewRequest { label, .. }
            | EventBody::PolicySet { label, .. } => {
                crate::labels::check_movable(label).map_err(at)?;
            }
            EventBody::KeyRegister { key_id, public_key }
                if crate::signing::key_id(public_key) != *key_id =>
            {
                return Err(at(format!(
                    "key id {key_id} does not belong to the public key sent"
                )));
            }
            EventBody::KeyRevoke { key_id, reason } => {
                if key_id.len() != 16 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(at(format!("'{key_id}' is not a signing key id")));
                }
                if reason.trim().is_empty() || reason.chars().count() > 1000 {
                    return Err(at(
                        "a revocation gives its reason in 1 to 1000 characters".into()
                    ));
                }
            }
            _ => {}
        }
        if let EventBody::PolicySet { policy, .. } = &self.body {
            policy.validate().map_err(at)?;
        }
        if let EventBody::RecordsPut {
            kind,
            payload,
            records,
            ..
        } = &self.body
        {
            records::check_put(&self.author, kind, payload, records).map_err(at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version() -> SyncEvent {
        let content: VersionContent = serde_json::from_value(json!({
            "body": {"kind": "text", "template": "Hello {{ name }}"},
        }))
        .unwrap();
        SyncEvent::new(
            "ana",
            "2026-11-21T10:00:00Z",
            EventBody::VersionCreate {
                prompt: "support/hello".into(),
                hash: content.content_hash(),
                parent_hash: None,
                content,
                message: "First".into(),
            },
        )
    }

    #[test]
    fn an_event_round_trips_and_its_hash_covers_every_field() {
        let e = version();
        e.check().unwrap();
        let wire = serde_json::to_value(&e).unwrap();
        assert_eq!(wire["kind"], "version.create");
        assert_eq!(wire["payload"]["prompt"], "support/hello");
        let back: SyncEvent = serde_json::from_value(wire).unwrap();
        assert_eq!(back, e);

        let mut changed = e.clone();
        changed.author = "ben".into();
        assert!(changed.check().unwrap_err().contains("hashes to"));
        let mut changed = e.clone();
        if let EventBody::VersionCreate { message, .. } = &mut changed.body {
            message.push('!');
        }
        assert!(changed.check().is_err());
    }

    #[test]
    fn a_version_whose_content_does_not_match_its_hash_is_refused() {
        let e = version();
        let EventBody::VersionCreate { content, .. } = e.body else {
            unreachable!()
        };
        let forged = SyncEvent::new(
            "ana",
            "2026-11-21T10:00:00Z",
            EventBody::VersionCreate {
                prompt: "support/hello".into(),
                hash: "0".repeat(64),
                parent_hash: None,
                content,
                message: "x".into(),
            },
        );
        let err = forged.check().unwrap_err();
        assert!(err.contains("claims hash"), "{err}");
    }

    #[test]
    fn reserved_labels_and_bad_names_are_refused_with_the_event_named() {
        let e = SyncEvent::new(
            "ana",
            "2026-11-21T10:00:00Z",
            EventBody::LabelMove {
                prompt: "a".into(),
                label: "latest".into(),
                kind: MoveKind::Set,
                from_hash: None,
                to_hash: "0".repeat(64),
                changelog: String::new(),
                review: None,
                bundle: None,
                key_id: None,
                signature: None,
                evidence: None,
            },
        );
        let err = e.check().unwrap_err();
        assert!(err.contains(&e.id) && err.contains("reserved"), "{err}");
    }
}
