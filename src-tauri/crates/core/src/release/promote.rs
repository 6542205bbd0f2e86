//! Moving a protected label: releases through the policy, bundles, rollbacks, and the
//! label's release history.

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::Version;
use crate::policy::Decision;
use crate::refs::Ref;
use crate::registry::{resolve_version, Registry};
use crate::signing::Sign;
use crate::store::{labels, prompts, releases, reviews};

use super::*;
use promptdesk_protocol::statements::{release_statement, ReleaseStatement};

impl Registry {
    /// Promotes `name@reference` to `label` if its policy allows it now; otherwise refuses with
    /// every unmet condition. The move is a compare-and-swap on what the label pointed at.
    pub fn release(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        req: ReleaseRequest<'_>,
    ) -> Result<Release> {
        self.release_in(name, reference, label, req, None)
    }

    fn release_in(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        req: ReleaseRequest<'_>,
        bundle: Option<&str>,
    ) -> Result<Release> {
        check_label(label)?;
        let at_check = self.now();
        let actor = self.actor().to_string();
        let expect = match req.expect_from {
            Some(r) => Some(resolve_version(self.connection(), name, Some(r))?.hash),
            None => {
                let p = prompts::get(self.connection(), name)?;
                labels::get(self.connection(), p.id, label)?.map(|l| l.hash)
            }
        };
        let signer = self.signer.take();
        let out = self.write(|tx, ctx| {
            let target = resolve_version(tx, name, reference)?;
            let p = prompts::get(tx, name)?;
            let current = labels::get(tx, p.id, label)?;
            if current.as_ref().is_some_and(|c| c.hash == target.hash) {
                return Err(Error::Conflict(format!(
                    "{label} already serves {name}@{}",
                    target.number
                )));
            }
            if current.as_ref().map(|c| &c.hash) != expect.as_ref() {
                return Err(moved_meanwhile(name, label, current.as_ref()));
            }
            if let Some(n) = req.review {
                let r = review_by_number(tx, n)?
                    .ok_or_else(|| Error::NotFound(format!("no review #{n}")))?;
                if r.prompt != name || r.label != label || r.version_hash != target.hash {
                    return Err(Error::bad(format!(
                        "review #{n} is for {}@{} → {}, not {name}@{} → {label}",
                        r.prompt, r.version, r.label, target.number
                    )));
                }
            }
            let decision = decide(tx, &actor, &target, label, req.changelog, false, &at_check)?;
            if !decision.allowed {
                return Err(Error::Refused(format!(
                    "cannot release {name}@{} to {label}: {}",
                    target.number,
                    decision.refusal()
                )));
            }
            let review = req
                .review
                .or(open_review_for(tx, p.id, label, &target.hash)?);
            let moved = Move {
                label,
                kind: "release",
                from: current.as_ref(),
                to: &target,
                changelog: req.changelog,
                review,
                bundle,
            };
            record_release(tx, ctx, signer.as_deref(), &p, &moved, &decision)
        });
        self.signer = signer;
        out
    }

    /// Moves `label` back to its previous release (or to `req.to`), with a reason. Like a
    /// release, the move is a compare-and-swap: on what the label pointed at when the person
    /// decided (`req.expect_from`), or else when the rollback is checked.
    pub fn rollback(
        &mut self,
        name: &str,
        label: &str,
        req: RollbackRequest<'_>,
    ) -> Result<Release> {
        check_label(label)?;
        let actor = self.actor().to_string();
        let at_check = self.now();
        let expect = match req.expect_from {
            Some(r) => Some(resolve_version(self.connection(), name, Some(r))?.hash),
            None => None,
        };
        let signer = self.signer.take();
        let out = self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            let (current, target) = rollback_target(tx, name, label, req.to)?;
            if let Some(expect) = &expect {
                if &current.hash != expect {
                    return Err(moved_meanwhile(name, label, Some(&current)));
                }
            }
            let decision = decide(tx, &actor, &target, label, req.reason, true, &at_check)?;
            if !decision.allowed {
                return Err(Error::Refused(format!(
                    "cannot roll {label} of {name} back to version {}: {}",
                    target.number,
                    decision.refusal()
                )));
            }
            let moved = Move {
                label,
                kind: "rollback",
                from: Some(&current),
                to: &target,
                changelog: req.reason,
                review: None,
                bundle: None,
            };
            record_release(tx, ctx, signer.as_deref(), &p, &moved, &decision)
        });
        self.signer = signer;
        out
    }

    /// What a rollback of `label` would do now: the version it would go back to, and the
    /// policy's checklist for the acting person. Changes nothing.
    pub fn check_rollback(
        &self,
        name: &str,
        label: &str,
        reason: &str,
        to: Option<&Ref>,
    ) -> Result<RollbackCheck> {
        check_label(label)?;
        let conn = self.connection();
        let (current, target) = rollback_target(conn, name, label, to)?;
        let decision = decide(
            conn,
            self.actor(),
            &target,
            label,
            reason,
            true,
            &self.now(),
        )?;
        Ok(RollbackCheck {
            from: current.number,
            to: target.number,
            to_hash: target.hash,
            decision,
        })
    }

    /// Releases several prompts together: every item passes its policy and moves, or nothing
    /// moves.
    pub fn release_bundle(
        &mut self,
        items: &[BundleItem],
        changelog: &str,
    ) -> Result<Vec<Release>> {
        if items.is_empty() {
            return Err(Error::bad("a bundle needs at least one prompt"));
        }
        let bundle = uuid::Uuid::new_v4().to_string();
        self.batch(|reg| {
            let mut out = Vec::new();
            for item in items {
                let reference = Ref::parse(&item.reference)?;
                let log = if item.changelog.trim().is_empty() {
                    changelog
                } else {
                    item.changelog.as_str()
                };
                let r = reg
                    .release_in(
                        &item.prompt,
                        Some(&reference),
                        &item.label,
                        ReleaseRequest {
                            changelog: log,
                            ..Default::default()
                        },
                        Some(&bundle),
                    )
                    .map_err(|e| match e {
                        Error::Refused(m) => {
                            Error::Refused(format!("nothing in the bundle was released: {m}"))
                        }
                        other => other,
                    })?;
                out.push(r);
            }
            Ok(out)
        })
    }

    /// Every release and rollback of a prompt (one label when given), newest first.
    pub fn releases(&self, name: &str, label: Option<&str>) -> Result<Vec<Release>> {
        let p = prompts::get(self.connection(), name)?;
        releases_of(self.connection(), &p.name, p.id, label)
    }
}

/// What `label` serves now and the version a rollback goes back to: `to` when given, else the
/// label's previous release (what the release that put the current version there replaced).
/// Falls back to the label's history for moves made before releases were recorded (or by
/// import). Rollbacks are skipped, so rolling back twice goes further back, not forward again.
pub(crate) fn rollback_target(
    conn: &Connection,
    name: &str,
    label: &str,
    to: Option<&Ref>,
) -> Result<(crate::model::Label, Version)> {
    let p = prompts::get(conn, name)?;
    let current = labels::get(conn, p.id, label)?.ok_or_else(|| {
        Error::Conflict(format!(
            "{label} of {name} points nowhere yet: there is nothing to roll back"
        ))
    })?;
    let target = match to {
        Some(r) => {
            let v = resolve_version(conn, name, Some(r))?;
            // A rollback skips fresh approvals because it returns to something this label
            // already served; going anywhere else is a release and needs its review.
            if !labels::has_served(conn, p.id, label, &v.hash)? {
                return Err(Error::Refused(format!(
                    "{label} of {name} never served version {}: a rollback only returns to a \
                     version it served before; release version {} through review instead",
                    v.number, v.number
                )));
            }
            v
        }
        None => {
            let previous = match releases::released_from(conn, p.id, label, &current.hash)? {
                Some(from) => from,
                None => labels::moved_to_from(conn, p.id, label, &current.hash)?,
            };
            let hash = previous.ok_or_else(|| {
                Error::Conflict(format!(
                    "{label} of {name} has no earlier release to go back to; name a version with --to"
                ))
            })?;
            resolve_version(conn, name, Some(&Ref::HashPrefix(hash)))?
        }
    };
    if target.hash == current.hash {
        return Err(Error::Conflict(format!(
            "{label} already serves {name}@{}",
            target.number
        )));
    }
    Ok((current, target))
}

pub(crate) fn moved_meanwhile(
    name: &str,
    label: &str,
    current: Option<&crate::model::Label>,
) -> Error {
    Error::Conflict(match current {
        Some(c) => format!(
            "{label} of {name} moved to version {} (by {} at {}) while this release was being decided; \
             check what it serves now and release again",
            c.number, c.moved_by, c.moved_at
        ),
        None => format!("{label} of {name} changed while this release was being decided; release again"),
    })
}

/// One label move, as `record_release` writes it.
pub(crate) struct Move<'a> {
    label: &'a str,
    kind: &'a str,
    from: Option<&'a crate::model::Label>,
    to: &'a Version,
    changelog: &'a str,
    review: Option<u32>,
    bundle: Option<&'a str>,
}

pub(crate) fn record_release(
    tx: &Connection,
    ctx: &mut crate::registry::WriteContext<'_>,
    signer: Option<&dyn Sign>,
    p: &crate::model::Prompt,
    m: &Move<'_>,
    decision: &Decision,
) -> Result<Release> {
    let role = role_of(tx, ctx.actor)?;
    let changelog = m.changelog.trim();
    let from_hash = m.from.map(|f| f.hash.as_str());
    labels::set(
        tx, p.id, m.label, from_hash, &m.to.hash, ctx.actor, &ctx.at, changelog,
    )?;
    let id = ctx.new_id();
    let review_id = match m.review {
        Some(n) => Some(reviews::id_of(tx, n)?.ok_or_else(|| {
            Error::NotFound(format!("no review #{n} (see `promptdesk review list`)"))
        })?),
        None => None,
    };
    let statement = release_statement(&ReleaseStatement {
        id: &id,
        kind: m.kind,
        label: m.label,
        from_hash,
        to_hash: &m.to.hash,
        changelog,
        review_id: review_id.as_deref(),
        actor: ctx.actor,
        at: &ctx.at,
        eval_run: decision.evidence.as_ref().and_then(|e| e.run_id.as_deref()),
    });
    let (key_id, signature) = sign_statement(tx, ctx, signer, &statement)?;
    releases::insert(
        tx,
        &releases::ReleaseRow {
            id: id.clone(),
            prompt_id: p.id,
            label: m.label.to_string(),
            kind: m.kind.to_string(),
            from_hash: from_hash.map(str::to_string),
            to_hash: m.to.hash.clone(),
            changelog: changelog.to_string(),
            review: m.review,
            decision: serde_json::to_string(decision).expect("decisions serialise"),
            actor: ctx.actor.to_string(),
            actor_role: role.as_str().to_string(),
            at: ctx.at.clone(),
            bundle: m.bundle.map(str::to_string),
            key_id: key_id.clone(),
            signature: signature.clone(),
        },
    )?;
    ctx.event(
        tx,
        &format!("{}.recorded", m.kind),
        &p.name,
        json!({
            "id": id, "label": m.label, "kind": m.kind,
            "from": m.from.map(|f| json!({"number": f.number, "hash": f.hash})),
            "to": {"number": m.to.number, "hash": m.to.hash},
            "changelog": changelog, "review": m.review,
            "approvals": decision.counted_approvals, "role": role,
            "key_id": key_id, "signature": signature,
        }),
    )?;
    Ok(Release {
        id,
        prompt: p.name.clone(),
        label: m.label.to_string(),
        kind: m.kind.to_string(),
        from_version: m.from.map(|f| f.number),
        from_hash: from_hash.map(str::to_string),
        to_version: m.to.number,
        to_hash: m.to.hash.clone(),
        changelog: changelog.to_string(),
        review: m.review,
        approvals: decision.counted_approvals.clone(),
        actor: ctx.actor.to_string(),
        actor_role: role,
        at: ctx.at.clone(),
        bundle: m.bundle.map(str::to_string),
        pushed_by: None,
    })
}

pub(crate) fn releases_of(
    conn: &Connection,
    name: &str,
    prompt_id: i64,
    label: Option<&str>,
) -> Result<Vec<Release>> {
    Ok(releases::history(conn, prompt_id, label)?
        .into_iter()
        .map(|h| {
            let decision: Value = serde_json::from_str(&h.row.decision).unwrap_or(Value::Null);
            Release {
                id: h.row.id,
                prompt: name.to_string(),
                label: h.row.label,
                kind: h.row.kind,
                from_version: h.from_version,
                from_hash: h.row.from_hash,
                to_version: h.to_version,
                to_hash: h.row.to_hash,
                changelog: h.row.changelog,
                review: h.row.review,
                approvals: decision["counted_approvals"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                actor: h.row.actor,
                actor_role: role_or_least(&h.row.actor_role),
                at: h.row.at,
                bundle: h.row.bundle,
                pushed_by: h.pushed_by,
            }
        })
        .collect())
}
