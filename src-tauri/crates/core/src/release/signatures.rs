//! Signatures on decisions and releases: signing as the acting person, and checking every
//! stored signature against its signer's registered key.

use rusqlite::Connection;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::signing::{self, Sign};
use crate::store::{prompts, releases, reviews, signing_keys};

use promptdesk_protocol::statements::{
    decision_eval_run, decision_statement, release_statement, ReleaseStatement,
};

/// Signs `statement` as the acting person, registering their public key on first use.
pub(crate) fn sign_statement(
    tx: &Connection,
    ctx: &mut crate::registry::WriteContext<'_>,
    signer: Option<&dyn Sign>,
    statement: &Value,
) -> Result<(String, String)> {
    let signer = signer.ok_or_else(|| {
        Error::Refused(format!(
            "approvals and releases are signed, and no signing key is available for {}; \
             `promptdesk keys check` says why",
            ctx.actor
        ))
    })?;
    let key_id = crate::signing_keys::ready_to_sign(tx, ctx, &signer.public_key())?;
    let signature = signer
        .sign(&signing::statement_bytes(statement))
        .map_err(|e| Error::Refused(format!("could not sign as {}: {e}", ctx.actor)))?;
    Ok((key_id, signature))
}

pub(crate) type KeyRow = Option<(String, String)>;

pub(crate) fn key_of(conn: &Connection, key_id: Option<&str>) -> Result<KeyRow> {
    let Some(k) = key_id else { return Ok(None) };
    Ok(signing_keys::get(conn, k)?.map(|k| (k.person, k.public_key)))
}

/// Checks every signed decision and release against its signer's registered key; one line per
/// problem.
pub(crate) fn verify_signatures(conn: &Connection) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for e in reviews::events(conn)? {
        if !matches!(e.kind.as_str(), "approve" | "request_changes") {
            continue;
        }
        let Some(review) = reviews::get(conn, e.review)? else {
            continue;
        };
        let what = format!(
            "review #{}: {}'s {} ({})",
            e.review,
            e.actor,
            e.kind.replace('_', " "),
            e.id
        );
        let statement = decision_statement(
            &e.id,
            &review.id,
            &review.label,
            e.content_hash.as_deref().unwrap_or(""),
            &e.kind,
            &e.actor,
            &e.at,
        );
        let key = key_of(conn, e.key_id.as_deref())?;
        problems.extend(signature_problem(
            &what,
            &e.actor,
            key,
            &statement,
            e.signature.as_deref(),
        ));
    }
    for s in releases::all(conn)? {
        let Some(prompt) = prompts::name_of(conn, s.prompt_id)? else {
            continue;
        };
        let what = format!(
            "{} of {prompt} to {} by {} ({})",
            s.kind, s.label, s.actor, s.id
        );
        let decision: Value = serde_json::from_str(&s.decision).unwrap_or(Value::Null);
        let review_id = match s.review {
            Some(n) => reviews::id_of(conn, n)?,
            None => None,
        };
        let statement = release_statement(&ReleaseStatement {
            id: &s.id,
            kind: &s.kind,
            label: &s.label,
            from_hash: s.from_hash.as_deref(),
            to_hash: &s.to_hash,
            changelog: &s.changelog,
            review_id: review_id.as_deref(),
            actor: &s.actor,
            at: &s.at,
            eval_run: decision_eval_run(&decision),
        });
        let key = key_of(conn, Some(&s.key_id))?;
        problems.extend(signature_problem(
            &what,
            &s.actor,
            key,
            &statement,
            Some(&s.signature),
        ));
    }
    Ok(problems)
}

/// What is wrong with one signed record, if anything.
pub(crate) fn signature_problem(
    what: &str,
    actor: &str,
    key: KeyRow,
    statement: &Value,
    signature: Option<&str>,
) -> Option<String> {
    let (Some((owner, public_key)), Some(signature)) = (key, signature) else {
        return Some(format!("{what} is not signed"));
    };
    if owner != actor {
        Some(format!("{what} is signed with {owner}'s key"))
    } else if !signing::verify(&public_key, &signing::statement_bytes(statement), signature) {
        Some(format!(
            "{what}: the signature does not match what is recorded"
        ))
    } else {
        None
    }
}
