//! Review and release records as data: read out of a registry in a stable order, and applied to
//! another registry exactly as they were made. Export and import use this today; a sync server
//! will apply records made elsewhere the same way.
//!
//! A record is applied verbatim, never re-decided: the policy that allowed a release, the role a
//! reviewer had when deciding and the signatures are history, not something to re-evaluate
//! against this registry's settings. What is checked is that a record fits what is already here
//! (the version a review names exists and has that hash, a decision is bound to its review's
//! content, a release's review is for what it released, the signer's key is registered) and,
//! once the records are in, that every new signature verifies, with the check `verify` runs.
//!
//! Applying is idempotent: a record that is already here (same id, same content) is left as it
//! is; a record whose id is taken by different content is a conflict. Roles and policies are
//! settings rather than events: the same role or policy set here by someone else, at another
//! time, counts as already here; a different one is a conflict. Likewise a signing key already
//! registered to the same person.
//!
//! Applying trusts its source for everything signatures do not cover (roles, policies, comments,
//! review requests): the role checks of the operations that make records do not run. It is for
//! copying a registry the caller trusts (an export they made, the team's server), not for
//! accepting changes from anyone.

use std::collections::BTreeSet;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::LedgerEntry;
use crate::policy::{Policy, Role};
use crate::registry::Registry;
use crate::release::{check_label, Anchor};
use crate::signing;
use crate::store::{policies, prompts, releases, reviews, roles, signing_keys, versions};

/// A public signing key (the private half never leaves its owner's keyring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    pub key_id: String,
    pub person: String,
    pub public_key: String,
    pub registered_at: String,
}

/// A signing key's revocation: from then on nothing signed with it counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevocationRecord {
    pub key_id: String,
    pub revoked_by: String,
    pub revoked_at: String,
    pub reason: String,
}

/// A person's role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRecord {
    pub person: String,
    pub role: Role,
    pub granted_by: String,
    pub granted_at: String,
}

/// A label's configured release policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    pub label: String,
    pub policy: Policy,
    pub updated_by: String,
    pub updated_at: String,
}

/// A request to release one version (named by number and content hash) to a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRecord {
    pub number: u32,
    pub id: String,
    pub prompt: String,
    pub version: u32,
    pub version_hash: String,
    pub label: String,
    pub description: String,
    pub requested_by: String,
    pub requested_at: String,
}

/// A comment or a decision on a review; decisions carry the content hash they are bound to and
/// their signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewEventRecord {
    pub id: String,
    pub review: u32,
    pub kind: String,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub body: String,
    pub anchor: Option<Anchor>,
    pub reply_to: Option<String>,
    pub content_hash: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
}

/// A signed release or rollback: one label move, why, and the policy decision that allowed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRecord {
    pub id: String,
    pub prompt: String,
    pub label: String,
    pub kind: String,
    pub from_version: Option<u32>,
    pub from_hash: Option<String>,
    pub to_version: u32,
    pub to_hash: String,
    /// The changelog (release) or the reason (rollback).
    pub changelog: String,
    pub review: Option<u32>,
    /// The policy decision as recorded (its `counted_approvals` are the release's approvals).
    pub decision: Value,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub bundle: Option<String>,
    pub key_id: String,
    pub signature: String,
}

/// Any one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Key(KeyRecord),
    KeyRevocation(KeyRevocationRecord),
    Role(RoleRecord),
    Policy(PolicyRecord),
    Review(ReviewRecord),
    ReviewEvent(ReviewEventRecord),
    Release(ReleaseRecord),
}

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    /// The registry already had it; nothing was written.
    AlreadyPresent,
}

/// Every review and release record of a registry, each kind in its stable order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    /// By registration time, then key id.
    pub keys: Vec<KeyRecord>,
    /// By revocation time, then key id.
    pub key_revocations: Vec<KeyRevocationRecord>,
    /// By person.
    pub roles: Vec<RoleRecord>,
    /// By label.
    pub policies: Vec<PolicyRecord>,
    /// By number.
    pub reviews: Vec<ReviewRecord>,
    /// In the order they were made (the latest decision of a reviewer is the one that counts).
    pub review_events: Vec<ReviewEventRecord>,
    /// In the order they were made.
    pub releases: Vec<ReleaseRecord>,
}

impl Records {
    /// All of them in an order they can be applied in: keys before what they sign, reviews
    /// before their events, events before the replies to them.
    pub fn into_ordered(self) -> Vec<Record> {
        let mut out = Vec::new();
        out.extend(self.keys.into_iter().map(Record::Key));
        out.extend(self.roles.into_iter().map(Record::Role));
        out.extend(self.policies.into_iter().map(Record::Policy));
        out.extend(self.reviews.into_iter().map(Record::Review));
        out.extend(self.review_events.into_iter().map(Record::ReviewEvent));
        out.extend(self.releases.into_iter().map(Record::Release));
        // Revocations last: what a key signed before it was revoked is history, applied (and
        // pushed, by an admin moving a registry over) before the revocation.
        out.extend(self.key_revocations.into_iter().map(Record::KeyRevocation));
        out
    }
}

const DECISIONS: [&str; 2] = ["approve", "request_changes"];
const EVENT_KINDS: [&str; 5] = ["comment", "approve", "request_changes", "close", "reopen"];

impl Record {
    /// What identifies the record: a key id, a person, a label, or the id of a review, event or
    /// release.
    pub fn id(&self) -> &str {
        match self {
            Record::Key(k) => &k.key_id,
            Record::KeyRevocation(k) => &k.key_id,
            Record::Role(r) => &r.person,
            Record::Policy(p) => &p.label,
            Record::Review(r) => &r.id,
            Record::ReviewEvent(e) => &e.id,
            Record::Release(r) => &r.id,
        }
    }

    /// The record in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Record::Key(k) => format!("{}'s signing key {}", k.person, k.key_id),
            Record::KeyRevocation(k) => {
                format!(
                    "the revocation of signing key {} by {}",
                    k.key_id, k.revoked_by
                )
            }
            Record::Role(r) => format!("the role of {}", r.person),
            Record::Policy(p) => format!("the release policy of {}", p.label),
            Record::Review(r) => format!("review #{} ({})", r.number, r.id),
            Record::ReviewEvent(e) => format!(
                "{}'s {} on review #{} ({})",
                e.actor,
                e.kind.replace('_', " "),
                e.review,
                e.id
            ),
            Record::Release(r) => format!(
                "{} of {} to {} by {} ({})",
                r.kind, r.prompt, r.label, r.actor, r.id
            ),
        }
    }

    fn to_json(&self) -> Value {
        let v = match self {
            Record::Key(r) => serde_json::to_value(r),
            Record::KeyRevocation(r) => serde_json::to_value(r),
            Record::Role(r) => serde_json::to_value(r),
            Record::Policy(r) => serde_json::to_value(r),
            Record::Review(r) => serde_json::to_value(r),
            Record::ReviewEvent(r) => serde_json::to_value(r),
            Record::Release(r) => serde_json::to_value(r),
        };
        v.expect("records serialise")
    }

    /// The ledger event this registry records when it applies the record. Its payload is the
    /// whole record, so an export of this registry can be checked against its ledger too.
    fn imported_kind(&self) -> &'static str {
        match self {
            Record::Key(_) => "key.imported",
            Record::KeyRevocation(_) => "key_revocation.imported",
            Record::Role(_) => "role.imported",
            Record::Policy(_) => "policy.imported",
            Record::Review(_) => "review.imported",
            Record::ReviewEvent(_) => "review_event.imported",
            Record::Release(_) => "release.imported",
        }
    }

    /// Which ledger events can record this record: see [`witness_key`].
    pub fn witness_key(&self) -> (WitnessKind, String) {
        let kind = match self {
            Record::Key(_) => WitnessKind::Key,
            Record::KeyRevocation(_) => WitnessKind::KeyRevocation,
            Record::Role(_) => WitnessKind::Role,
            Record::Policy(_) => WitnessKind::Policy,
            Record::Review(_) => WitnessKind::Review,
            Record::ReviewEvent(_) => WitnessKind::ReviewEvent,
            Record::Release(_) => WitnessKind::Release,
        };
        (kind, self.id().to_string())
    }
}

// ---- reading ---------------------------------------------------------------------------------

/// A stored role. Unlike the readers that decide permissions (which read anything odd as the
/// least role), a copy must not quietly change what it copies.
fn strict_role(text: &str, what: &str) -> Result<Role> {
    Role::parse(text)
        .ok_or_else(|| Error::Integrity(format!("{what} has an unknown role '{text}'")))
}

fn role_record(r: roles::RoleRow) -> Result<RoleRecord> {
    let role = Role::parse(&r.role).ok_or_else(|| {
        Error::Integrity(format!(
            "the role of {} has an unknown role '{}'",
            r.person, r.role
        ))
    })?;
    Ok(RoleRecord {
        role,
        person: r.person,
        granted_by: r.granted_by,
        granted_at: r.granted_at,
    })
}

fn policy_record(p: &policies::PolicyRow) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        label: p.label.clone(),
        policy: crate::release::parse_policy(p)?,
        updated_by: p.updated_by.clone(),
        updated_at: p.updated_at.clone(),
    })
}

fn review_record(h: reviews::ReviewHead) -> ReviewRecord {
    ReviewRecord {
        number: h.row.number,
        id: h.row.id,
        prompt: h.prompt,
        version: h.version,
        version_hash: h.row.version_hash,
        label: h.row.label,
        description: h.row.description,
        requested_by: h.row.requested_by,
        requested_at: h.row.requested_at,
    }
}

fn event_record(e: reviews::EventRow) -> Result<ReviewEventRecord> {
    let anchor = match &e.anchor {
        None => None,
        Some(text) => Some(serde_json::from_str(text).map_err(|err| {
            Error::Integrity(format!(
                "review event {}: the stored anchor does not parse: {err}",
                e.id
            ))
        })?),
    };
    Ok(ReviewEventRecord {
        actor_role: strict_role(&e.actor_role, &format!("review event {}", e.id))?,
        review: e.review,
        kind: e.kind,
        actor: e.actor,
        at: e.at,
        body: e.body,
        anchor,
        reply_to: e.reply_to,
        content_hash: e.content_hash,
        key_id: e.key_id,
        signature: e.signature,
        id: e.id,
    })
}

fn release_record(h: releases::ReleaseHead) -> Result<ReleaseRecord> {
    let r = h.row;
    let decision = serde_json::from_str(&r.decision).map_err(|e| {
        Error::Integrity(format!(
            "release {}: the stored decision does not parse: {e}",
            r.id
        ))
    })?;
    Ok(ReleaseRecord {
        actor_role: strict_role(&r.actor_role, &format!("release {}", r.id))?,
        prompt: h.prompt,
        label: r.label,
        kind: r.kind,
        from_version: h.from_version,
        from_hash: r.from_hash,
        to_version: h.to_version,
        to_hash: r.to_hash,
        changelog: r.changelog,
        review: r.review,
        decision,
        actor: r.actor,
        at: r.at,
        bundle: r.bundle,
        key_id: r.key_id,
        signature: r.signature,
        id: r.id,
    })
}

/// Every review and release record of the registry behind `conn`.
pub fn read(conn: &Connection) -> Result<Records> {
    Ok(Records {
        keys: signing_keys::all(conn)?,
        key_revocations: signing_keys::revocations(conn)?,
        roles: roles::list(conn)?
            .into_iter()
            .map(role_record)
            .collect::<Result<_>>()?,
        policies: policies::list(conn)?
            .into_iter()
            .map(|p| policy_record(&p))
            .collect::<Result<_>>()?,
        reviews: reviews::heads(conn)?
            .into_iter()
            .map(review_record)
            .collect(),
        review_events: reviews::events(conn)?
            .into_iter()
            .map(event_record)
            .collect::<Result<_>>()?,
        releases: releases::heads(conn)?
            .into_iter()
            .map(release_record)
            .collect::<Result<_>>()?,
    })
}

// ---- applying --------------------------------------------------------------------------------

/// Applies one record made elsewhere, in the caller's transaction: inserts it verbatim, or
/// finds it already here. Does not record a ledger event and does not check signatures: see
/// [`Registry::apply_records`], which does both.
pub fn apply(conn: &Connection, record: &Record) -> Result<Applied> {
    match record {
        Record::Key(k) => apply_key(conn, k),
        Record::KeyRevocation(k) => apply_revocation(conn, k),
        Record::Role(r) => apply_role(conn, r),
        Record::Policy(p) => apply_policy(conn, p),
        Record::Review(r) => apply_review(conn, r),
        Record::ReviewEvent(e) => apply_event(conn, e),
        Record::Release(r) => apply_release(conn, r),
    }
}

fn non_empty(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::bad(format!("{what} is empty")));
    }
    Ok(())
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A conflict that says which fields differ, here and in the incoming record.
fn conflict<T: Serialize>(what: &str, here: &T, incoming: &T) -> Error {
    let (a, b) = (
        serde_json::to_value(here).unwrap_or(Value::Null),
        serde_json::to_value(incoming).unwrap_or(Value::Null),
    );
    let mut diffs = Vec::new();
    if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let (x, y) = (
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
            );
            if x != y {
                diffs.push(format!("{k}: {} here, {} incoming", short(x), short(y)));
            }
        }
    }
    Error::Conflict(format!(
        "{what} is already in this registry with different content ({})",
        diffs.join("; ")
    ))
}

/// A value for a message: JSON, cut short.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn apply_key(conn: &Connection, k: &KeyRecord) -> Result<Applied> {
    non_empty(&k.person, "the key's person")?;
    if !is_hash(&k.public_key) {
        return Err(Error::bad(format!(
            "signing key {}: the public key must be 64 lowercase hex digits",
            k.key_id
        )));
    }
    let expected = signing::key_id(&k.public_key);
    if expected != k.key_id {
        return Err(Error::bad(format!(
            "signing key {}: that is not the id of its public key (which is {expected})",
            k.key_id
        )));
    }
    if let Some(here) = signing_keys::get(conn, &k.key_id)? {
        // The same key of the same person, registered here at another time, is the same key.
        if here.person == k.person && here.public_key == k.public_key {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(&format!("signing key {}", k.key_id), &here, k));
    }
    signing_keys::insert(conn, k)?;
    Ok(Applied::Inserted)
}

fn apply_revocation(conn: &Connection, k: &KeyRevocationRecord) -> Result<Applied> {
    non_empty(&k.revoked_by, "who revoked the key")?;
    non_empty(&k.reason, "the reason the key was revoked")?;
    key_exists(conn, &k.key_id)?;
    if signing_keys::revocation(conn, &k.key_id)?.is_some() {
        // Revoked here too (by someone else, or at another time): a key is revoked once, and
        // the first revocation stands.
        return Ok(Applied::AlreadyPresent);
    }
    signing_keys::insert_revocation(conn, k)?;
    Ok(Applied::Inserted)
}

fn apply_role(conn: &Connection, r: &RoleRecord) -> Result<Applied> {
    non_empty(&r.person, "the role's person")?;
    if let Some(here) = roles::get(conn, &r.person)? {
        let here = role_record(here)?;
        if here.role == r.role {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(&format!("the role of {}", r.person), &here, r));
    }
    roles::insert(
        conn,
        &roles::RoleRow {
            person: r.person.clone(),
            role: r.role.as_str().to_string(),
            granted_by: r.granted_by.clone(),
            granted_at: r.granted_at.clone(),
        },
    )?;
    Ok(Applied::Inserted)
}

fn apply_policy(conn: &Connection, p: &PolicyRecord) -> Result<Applied> {
    check_label(&p.label)?;
    p.policy
        .validate()
        .map_err(|e| Error::bad(format!("the release policy of {}: {e}", p.label)))?;
    if let Some(here) = policies::get(conn, &p.label)? {
        let here = policy_record(&here)?;
        if here.policy == p.policy {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(
            &format!("the release policy of {}", p.label),
            &here,
            p,
        ));
    }
    policies::insert(
        conn,
        &policies::PolicyRow {
            label: p.label.clone(),
            policy: serde_json::to_string(&p.policy).expect("policies serialise"),
            updated_by: p.updated_by.clone(),
            updated_at: p.updated_at.clone(),
        },
    )?;
    Ok(Applied::Inserted)
}

/// The prompt id of `name`, and checks that its version `number` has `hash`.
fn version_of(conn: &Connection, name: &str, number: u32, hash: &str) -> Result<i64> {
    let p = prompts::find(conn, name)?
        .ok_or_else(|| Error::bad(format!("the prompt '{name}' is not in this registry")))?;
    match versions::by_number(conn, p.id, number)? {
        Some(v) if v.hash == hash => Ok(p.id),
        Some(v) => Err(Error::bad(format!(
            "{name}@{number} is #{} here, not #{}",
            &v.hash[..12.min(v.hash.len())],
            hash.get(..12).unwrap_or(hash)
        ))),
        None => Err(Error::bad(format!(
            "{name} has no version {number} in this registry"
        ))),
    }
}

fn key_exists(conn: &Connection, key_id: &str) -> Result<()> {
    signing_keys::get(conn, key_id)?.map(|_| ()).ok_or_else(|| {
        Error::bad(format!(
            "it is signed with the key {key_id}, which is not registered in this registry"
        ))
    })
}

fn review_here(conn: &Connection, number: u32) -> Result<Option<ReviewRecord>> {
    Ok(reviews::head(conn, number)?.map(review_record))
}

fn apply_review(conn: &Connection, r: &ReviewRecord) -> Result<Applied> {
    non_empty(&r.id, "the review's id")?;
    if r.number == 0 {
        return Err(Error::bad("review numbers start at 1"));
    }
    check_label(&r.label)?;
    let by_id = reviews::head_by_id(conn, &r.id)?.map(review_record);
    if let Some(here) = by_id {
        if &here == r {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(&format!("review {}", r.id), &here, r));
    }
    if let Some(here) = review_here(conn, r.number)? {
        return Err(Error::Conflict(format!(
            "review #{} is already a different review in this registry ({}, {}@{} for {}, \
             requested by {})",
            r.number, here.id, here.prompt, here.version, here.label, here.requested_by
        )));
    }
    let prompt_id = version_of(conn, &r.prompt, r.version, &r.version_hash)?;
    reviews::insert(
        conn,
        &reviews::ReviewRow {
            number: r.number,
            id: r.id.clone(),
            prompt_id,
            version_hash: r.version_hash.clone(),
            label: r.label.clone(),
            description: r.description.clone(),
            requested_by: r.requested_by.clone(),
            requested_at: r.requested_at.clone(),
        },
    )?;
    Ok(Applied::Inserted)
}

fn apply_event(conn: &Connection, e: &ReviewEventRecord) -> Result<Applied> {
    non_empty(&e.id, "the event's id")?;
    non_empty(&e.actor, "the event's actor")?;
    if !EVENT_KINDS.contains(&e.kind.as_str()) {
        return Err(Error::bad(format!(
            "'{}' is not a kind of review event (one of: {})",
            e.kind,
            EVENT_KINDS.join(", ")
        )));
    }
    let here = reviews::event(conn, &e.id)?.map(event_record).transpose()?;
    if let Some(here) = here {
        if &here == e {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(&format!("review event {}", e.id), &here, e));
    }
    let review = review_here(conn, e.review)?.ok_or_else(|| {
        Error::bad(format!(
            "it belongs to review #{}, which is not in this registry",
            e.review
        ))
    })?;
    if DECISIONS.contains(&e.kind.as_str()) {
        // A decision is bound to exactly the content its review asks about.
        if e.content_hash.as_deref() != Some(review.version_hash.as_str()) {
            return Err(Error::bad(format!(
                "the decision is bound to {} but review #{} is for {}@{} (#{})",
                e.content_hash
                    .as_deref()
                    .map_or("no content".to_string(), |h| format!(
                        "#{}",
                        h.get(..12).unwrap_or(h)
                    )),
                review.number,
                review.prompt,
                review.version,
                &review.version_hash[..12.min(review.version_hash.len())]
            )));
        }
        let (Some(key_id), Some(_)) = (&e.key_id, &e.signature) else {
            return Err(Error::bad(
                "a decision must be signed (key_id and signature)",
            ));
        };
        key_exists(conn, key_id)?;
    } else if e.content_hash.is_some() || e.key_id.is_some() || e.signature.is_some() {
        return Err(Error::bad(format!(
            "a {} carries no content hash, key or signature",
            e.kind
        )));
    }
    if let Some(parent) = &e.reply_to {
        if !reviews::is_event_of(conn, parent, e.review)? {
            return Err(Error::bad(format!(
                "it replies to {parent}, which is not an earlier event of review #{}",
                e.review
            )));
        }
    }
    reviews::insert_event(
        conn,
        &reviews::EventRow {
            id: e.id.clone(),
            review: e.review,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            actor_role: e.actor_role.as_str().to_string(),
            at: e.at.clone(),
            body: e.body.clone(),
            anchor: e
                .anchor
                .as_ref()
                .map(|a| serde_json::to_string(a).expect("anchors serialise")),
            reply_to: e.reply_to.clone(),
            content_hash: e.content_hash.clone(),
            key_id: e.key_id.clone(),
            signature: e.signature.clone(),
        },
    )?;
    Ok(Applied::Inserted)
}

fn apply_release(conn: &Connection, r: &ReleaseRecord) -> Result<Applied> {
    non_empty(&r.id, "the release's id")?;
    non_empty(&r.actor, "the release's actor")?;
    if !matches!(r.kind.as_str(), "release" | "rollback") {
        return Err(Error::bad(format!(
            "'{}' is not a kind of release (release or rollback)",
            r.kind
        )));
    }
    check_label(&r.label)?;
    if !r.decision.is_object() {
        return Err(Error::bad(
            "the release's policy decision must be an object",
        ));
    }
    let here = releases::head(conn, &r.id)?
        .map(release_record)
        .transpose()?;
    if let Some(here) = here {
        if &here == r {
            return Ok(Applied::AlreadyPresent);
        }
        return Err(conflict(&format!("release {}", r.id), &here, r));
    }
    let prompt_id = version_of(conn, &r.prompt, r.to_version, &r.to_hash)?;
    match (r.from_version, &r.from_hash) {
        (None, None) => {}
        (Some(n), Some(h)) => {
            version_of(conn, &r.prompt, n, h)?;
        }
        _ => {
            return Err(Error::bad(
                "from_version and from_hash must both be given, or neither",
            ))
        }
    }
    if let Some(n) = r.review {
        let review = review_here(conn, n)?.ok_or_else(|| {
            Error::bad(format!(
                "it releases review #{n}, which is not in this registry"
            ))
        })?;
        if review.prompt != r.prompt || review.label != r.label || review.version_hash != r.to_hash
        {
            return Err(Error::bad(format!(
                "review #{n} is for {}@{} → {}, not {}@{} → {}",
                review.prompt, review.version, review.label, r.prompt, r.to_version, r.label
            )));
        }
    }
    key_exists(conn, &r.key_id)?;
    releases::insert(
        conn,
        &releases::ReleaseRow {
            id: r.id.clone(),
            prompt_id,
            label: r.label.clone(),
            kind: r.kind.clone(),
            from_hash: r.from_hash.clone(),
            to_hash: r.to_hash.clone(),
            changelog: r.changelog.clone(),
            review: r.review,
            decision: r.decision.to_string(),
            actor: r.actor.clone(),
            actor_role: r.actor_role.as_str().to_string(),
            at: r.at.clone(),
            bundle: r.bundle.clone(),
            key_id: r.key_id.clone(),
            signature: r.signature.clone(),
        },
    )?;
    Ok(Applied::Inserted)
}

/// The subject of the ledger event for an applied record: the prompt, person or label it is
/// about, like the events of the operations that make such records.
fn subject_of(conn: &Connection, record: &Record) -> Result<String> {
    Ok(match record {
        Record::Key(k) => k.person.clone(),
        Record::KeyRevocation(k) => signing_keys::get(conn, &k.key_id)?
            .map(|k| k.person)
            .unwrap_or_default(),
        Record::Role(r) => r.person.clone(),
        Record::Policy(p) => p.label.clone(),
        Record::Review(r) => r.prompt.clone(),
        Record::ReviewEvent(e) => review_here(conn, e.review)?
            .map(|r| r.prompt)
            .unwrap_or_default(),
        Record::Release(r) => r.prompt.clone(),
    })
}

/// Puts `origin` (where the record came from, such as `FILE:LINE`) in front of an error about
/// it. Errors the database raises on a record (a constraint it breaks) are the record's fault.
fn located(origin: &str, record: &Record, e: Error) -> Error {
    let what = record.describe();
    match e {
        Error::BadInput(m) => Error::BadInput(format!("{origin}: {what}: {m}")),
        Error::InvalidName(n) => Error::BadInput(format!("{origin}: {what}: {n}")),
        Error::NotFound(m) => Error::BadInput(format!("{origin}: {what}: {m}")),
        Error::Conflict(m) => Error::Conflict(format!("{origin}: {m}")),
        Error::Storage(s)
            if s.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            Error::BadInput(format!("{origin}: {what}: the registry refuses it ({s})"))
        }
        other => other,
    }
}

/// How many records of each kind [`Registry::apply_records`] inserted, and how many were
/// already here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedCounts {
    pub keys: usize,
    pub key_revocations: usize,
    pub roles: usize,
    pub policies: usize,
    pub reviews: usize,
    pub review_events: usize,
    pub releases: usize,
    pub already_present: usize,
}

impl Registry {
    /// Applies records made elsewhere, each with where it came from (for messages, such as
    /// `review-events.jsonl:3`), in one transaction: all of them are applied, or none. Each
    /// inserted record gets a ledger event (`key.imported`, `review_event.imported`, …) whose
    /// payload is the record. Once they are in, every signature among them must verify against
    /// its signer's registered key, exactly as `verify` checks them.
    pub fn apply_records(&mut self, records: &[(String, Record)]) -> Result<AppliedCounts> {
        self.write(|tx, ctx| {
            let mut counts = AppliedCounts::default();
            let mut signed = BTreeSet::new();
            for (origin, record) in records {
                if let Record::KeyRevocation(k) = record {
                    // Revocations carry no signature: the one who revoked must have been allowed
                    // to, as this registry's roles have it.
                    let owner = subject_of(tx, record)?;
                    let role = crate::release::role_of(tx, &k.revoked_by)?;
                    crate::policy::check_key_revocation(&k.revoked_by, role, &owner).map_err(
                        |why| Error::bad(format!("{origin}: {}: {why}", record.describe())),
                    )?;
                }
                match apply(tx, record).map_err(|e| located(origin, record, e))? {
                    Applied::AlreadyPresent => counts.already_present += 1,
                    Applied::Inserted => {
                        let subject = subject_of(tx, record)?;
                        ctx.event(tx, record.imported_kind(), &subject, record.to_json())?;
                        match record {
                            Record::Key(_) => counts.keys += 1,
                            Record::KeyRevocation(_) => counts.key_revocations += 1,
                            Record::Role(_) => counts.roles += 1,
                            Record::Policy(_) => counts.policies += 1,
                            Record::Review(_) => counts.reviews += 1,
                            Record::ReviewEvent(e) => {
                                counts.review_events += 1;
                                if e.signature.is_some() {
                                    signed.insert(e.id.as_str());
                                }
                            }
                            Record::Release(r) => {
                                counts.releases += 1;
                                signed.insert(r.id.as_str());
                            }
                        }
                    }
                }
            }
            if !signed.is_empty() {
                // `verify`'s own check, so what is accepted here is exactly what `verify` later
                // passes. Its problems name the record's id in parentheses; problems with records
                // that were here before are not this import's to report.
                for problem in crate::release::verify_signatures(tx)? {
                    let culprit = records.iter().find(|(_, r)| {
                        signed.contains(r.id()) && problem.contains(&format!("({})", r.id()))
                    });
                    if let Some((origin, _)) = culprit {
                        return Err(Error::bad(format!("{origin}: {problem}")));
                    }
                }
            }
            Ok(counts)
        })
    }
}

// ---- the ledger as witness -------------------------------------------------------------------

/// The kinds of record a ledger event can witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WitnessKind {
    Key,
    KeyRevocation,
    Role,
    Policy,
    Review,
    ReviewEvent,
    Release,
}

fn payload_str<'a>(e: &'a LedgerEntry, field: &str) -> Option<&'a str> {
    e.payload.get(field).and_then(Value::as_str)
}

/// Which record a ledger event made or applied, if any: its kind and id (a key id, a person, a
/// label, a review, event or release id). For roles and policies, which change, the latest
/// event is the one that must agree with the record.
pub fn witness_key(e: &LedgerEntry) -> Option<(WitnessKind, String)> {
    let kind = e.kind.as_str();
    let found = match kind {
        "key.registered" | "key.imported" => (WitnessKind::Key, payload_str(e, "key_id")?),
        "key.revoked" | "key_revocation.imported" => {
            (WitnessKind::KeyRevocation, payload_str(e, "key_id")?)
        }
        "role.set" => (WitnessKind::Role, e.subject.as_str()),
        "role.imported" => (WitnessKind::Role, payload_str(e, "person")?),
        "policy.set" => (WitnessKind::Policy, e.subject.as_str()),
        "policy.imported" => (WitnessKind::Policy, payload_str(e, "label")?),
        "review.requested" | "review.imported" => (WitnessKind::Review, payload_str(e, "id")?),
        "review_event.imported" => (WitnessKind::ReviewEvent, payload_str(e, "id")?),
        "release.recorded" | "rollback.recorded" | "release.imported" => {
            (WitnessKind::Release, payload_str(e, "id")?)
        }
        _ => match kind.strip_prefix("review.") {
            Some(k) if EVENT_KINDS.contains(&k) => {
                (WitnessKind::ReviewEvent, payload_str(e, "id")?)
            }
            _ => return None,
        },
    };
    Some((found.0, found.1.to_string()))
}

/// What differs between a record and the ledger event that witnessed it (`None` when they
/// agree). The event that made a record holds only some of its fields (a decision's signature,
/// a comment's `reply_to`, a release's bundle are not in it); the event of an applied record
/// holds all of them.
pub fn witness_mismatch(record: &Record, e: &LedgerEntry) -> Option<String> {
    if e.kind.ends_with(".imported") {
        let mut expected = record.to_json();
        let mut found = e.payload.clone();
        // The prompt's name may have changed since (a rename); its versions' hashes have not.
        for v in [&mut expected, &mut found] {
            if let Some(o) = v.as_object_mut() {
                o.remove("prompt");
            }
        }
        return compare_objects(&expected, &found);
    }
    let (actor, at, fields): (&str, &str, Vec<(&str, Value)>) = match record {
        Record::Key(k) => (
            &k.person,
            &k.registered_at,
            vec![
                ("key_id", json!(k.key_id)),
                ("public_key", json!(k.public_key)),
            ],
        ),
        Record::KeyRevocation(k) => (
            &k.revoked_by,
            &k.revoked_at,
            vec![("key_id", json!(k.key_id)), ("reason", json!(k.reason))],
        ),
        Record::Role(r) => (&r.granted_by, &r.granted_at, vec![("role", json!(r.role))]),
        Record::Policy(p) => (&p.updated_by, &p.updated_at, vec![("to", json!(p.policy))]),
        Record::Review(r) => (
            &r.requested_by,
            &r.requested_at,
            vec![
                ("review", json!(r.number)),
                // Not the version's number: a synced registry renumbers versions made offline
                // to the server's numbers; the hash is what the review is about.
                ("hash", json!(r.version_hash)),
                ("label", json!(r.label)),
                ("description", json!(r.description)),
            ],
        ),
        Record::ReviewEvent(ev) => {
            if e.kind != format!("review.{}", ev.kind) {
                return Some(format!(
                    "it is a {} but the ledger recorded a {}",
                    ev.kind,
                    e.kind.trim_start_matches("review.")
                ));
            }
            (
                &ev.actor,
                &ev.at,
                vec![
                    ("review", json!(ev.review)),
                    ("body", json!(ev.body)),
                    ("anchor", json!(ev.anchor)),
                    ("hash", json!(ev.content_hash)),
                    ("role", json!(ev.actor_role)),
                ],
            )
        }
        Record::Release(r) => {
            if e.kind != format!("{}.recorded", r.kind) {
                return Some(format!(
                    "it is a {} but the ledger recorded a {}",
                    r.kind,
                    e.kind.trim_end_matches(".recorded")
                ));
            }
            (
                &r.actor,
                &r.at,
                vec![
                    ("label", json!(r.label)),
                    ("kind", json!(r.kind)),
                    // Hashes, not numbers (which follow the server after a sync).
                    ("from", json!(r.from_hash)),
                    ("to", json!(r.to_hash)),
                    ("changelog", json!(r.changelog)),
                    ("review", json!(r.review)),
                    (
                        "approvals",
                        r.decision
                            .get("counted_approvals")
                            .cloned()
                            .unwrap_or(Value::Null),
                    ),
                    ("role", json!(r.actor_role)),
                    ("key_id", json!(r.key_id)),
                    ("signature", json!(r.signature)),
                ],
            )
        }
    };
    if e.actor != actor {
        return Some(format!(
            "it says {actor} but the ledger recorded {}",
            e.actor
        ));
    }
    if e.at != at {
        return Some(format!("its time is {at} but the ledger recorded {}", e.at));
    }
    let mut expected = serde_json::Map::new();
    let mut found = serde_json::Map::new();
    for (name, value) in fields {
        let mut recorded = e.payload.get(name).cloned().unwrap_or(Value::Null);
        if matches!(record, Record::Release(_)) && matches!(name, "from" | "to") {
            recorded = recorded.get("hash").cloned().unwrap_or(Value::Null);
        }
        found.insert(name.to_string(), recorded);
        expected.insert(name.to_string(), value);
    }
    compare_objects(&Value::Object(expected), &Value::Object(found))
}

fn compare_objects(expected: &Value, found: &Value) -> Option<String> {
    let (Value::Object(a), Value::Object(b)) = (expected, found) else {
        return (expected != found).then(|| "it is not what the ledger recorded".to_string());
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().find_map(|k| {
        let (x, y) = (
            a.get(k).unwrap_or(&Value::Null),
            b.get(k).unwrap_or(&Value::Null),
        );
        (x != y).then(|| {
            format!(
                "its {k} is {} but the ledger recorded {}",
                short(x),
                short(y)
            )
        })
    })
}
