//! Review and release: roles, per-label policies, review requests with comments and decisions
//! bound to content, promotion through the policy, rollback, and bundles. Each operation is one
//! transaction that also writes its ledger event; the policy itself is the pure function in
//! [`crate::policy`].
//!
//! One file per part: `roles`, `policies`, `reviews`, `promote` (releases, bundles,
//! rollbacks), `signatures`, and [`records`] (the same data as export, import and sync carry).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::{Decision, Role};
use crate::refs::Ref;

mod policies;
mod promote;
pub mod records;
mod reviews;
mod roles;
mod signatures;

pub(crate) use policies::*;
pub(crate) use reviews::*;
pub(crate) use roles::*;
pub(crate) use signatures::*;

pub use promptdesk_protocol::statements::{
    decision_eval_run, decision_statement, release_statement, Anchor, ReleaseStatement,
};

/// A person and their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RoleGrant {
    pub person: String,
    pub role: Role,
    pub granted_by: String,
    pub granted_at: String,
}

/// Where a review stands, derived from its events and releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    Approved,
    ChangesRequested,
    Released,
    Closed,
}

/// A request to release one version to a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Review {
    pub number: u32,
    pub id: String,
    pub prompt: String,
    pub version: u32,
    pub version_hash: String,
    pub version_author: String,
    pub label: String,
    pub description: String,
    pub requested_by: String,
    pub requested_at: String,
    pub status: ReviewStatus,
}

/// A comment or a decision on a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewEvent {
    pub id: String,
    pub kind: String,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub body: String,
    pub anchor: Option<Anchor>,
    pub reply_to: Option<String>,
    /// For decisions: the content they are bound to, and that content's version number.
    pub content_hash: Option<String>,
    pub version: Option<u32>,
    /// Who pushed it to the team server, when that was not its author (an admin carrying a
    /// registry over): shown as "pushed by … on behalf of …".
    pub pushed_by: Option<String>,
    /// A decision signed with a key revoked since: it no longer counts.
    pub key_revoked: bool,
}

/// A review with its thread and what the policy says about releasing it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewDetail {
    pub review: Review,
    pub events: Vec<ReviewEvent>,
    /// What the target label serves now (`None` when it points nowhere yet).
    pub serving: Option<u32>,
    /// The policy checklist, evaluated for the acting person as of now.
    pub decision: Decision,
    /// The latest other version of this prompt the acting person approved for this label: a
    /// reviewer coming back is shown what changed since what they approved.
    pub previously_approved: Option<u32>,
}

/// The immutable record of a label move by release or rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Release {
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
    pub approvals: Vec<String>,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub bundle: Option<String>,
    /// Who pushed it to the team server, when that was not the releaser.
    pub pushed_by: Option<String>,
}

/// One item of a release bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct BundleItem {
    pub prompt: String,
    #[serde(rename = "ref", alias = "reference")]
    pub reference: String,
    pub label: String,
    #[serde(default)]
    pub changelog: String,
}

/// What `release` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ReleaseRequest<'a> {
    pub changelog: &'a str,
    /// The version the label must still point at (compare-and-swap); when `None`, whatever it
    /// points at when the release is checked.
    pub expect_from: Option<&'a Ref>,
    pub review: Option<u32>,
}

/// What `rollback` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RollbackRequest<'a> {
    /// Why (required by every policy): it is the rollback's changelog.
    pub reason: &'a str,
    /// The version to go back to; when `None`, the label's previous release.
    pub to: Option<&'a Ref>,
    /// The version the label must still point at (compare-and-swap).
    pub expect_from: Option<&'a Ref>,
}

/// What a rollback would do now (see [`Registry::check_rollback`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RollbackCheck {
    /// The version the label serves now.
    pub from: u32,
    /// The version it would go back to.
    pub to: u32,
    pub to_hash: String,
    pub decision: Decision,
}

/// The one label check ([`promptdesk_protocol::labels::check_movable`]) as a registry error.
pub(crate) fn check_label(label: &str) -> Result<()> {
    promptdesk_protocol::labels::check_movable(label).map_err(Error::BadInput)
}
