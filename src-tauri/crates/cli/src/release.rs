//! `review`, `release`, `rollback`, `releases`, `policy` and `role`: the sign-off workflow.
//! Refusals come from the registry with every unmet condition; they exit with code 1.

use std::path::{Path, PathBuf};

use promptdesk_core::policy::{FreezeWindow, Policy, SuiteRequirement};
use promptdesk_core::release::{Anchor, BundleItem, ReleaseRequest, RollbackRequest};
use promptdesk_core::{parse_spec, Ref};
use serde_json::json;

use crate::args::{PolicyCommand, ReviewCommand, RoleCommand};
use crate::context;
use crate::output::{emit, short, when, Failure};

type Out = Result<(), Failure>;

fn spec_with_ref(spec: &str, what: &str) -> Result<(String, Ref), Failure> {
    let (name, reference) = parse_spec(spec)?;
    match reference {
        Some(Ref::Draft) | None => Err(Failure::bad_input(format!(
            "say which version to {what}: {name}@3, {name}@staging or {name}@#3fa9c1 (a draft cannot be released)"
        ))),
        Some(r) => Ok((name, r)),
    }
}

pub fn review(path: &Path, json: bool, command: ReviewCommand) -> Out {
    let mut reg = context::open(path)?;
    match command {
        ReviewCommand::Request {
            spec,
            label,
            message,
        } => {
            let (name, reference) = spec_with_ref(&spec, "review")?;
            let r = reg.request_review(&name, Some(&reference), &label, &message)?;
            emit(json, &r, || {
                println!(
                    "review #{} asks to release {}@{} to {} ({})",
                    r.number, r.prompt, r.version, r.label, r.requested_by
                )
            });
        }
        ReviewCommand::List { all } => {
            let list = reg.reviews(all)?;
            emit(json, &list, || {
                if list.is_empty() {
                    println!("no open reviews");
                }
                for r in &list {
                    println!(
                        "#{:<4} {:<18} {}@{} → {}  by {} {}",
                        r.number,
                        format!("{:?}", r.status).to_lowercase(),
                        r.prompt,
                        r.version,
                        r.label,
                        r.requested_by,
                        when(&r.requested_at)
                    );
                }
            });
        }
        ReviewCommand::Show { id } => {
            let d = reg.review_detail(id)?;
            emit(json, &d, || {
                let r = &d.review;
                println!(
                    "review #{}: {}@{} ({}) → {}   [{:?}]",
                    r.number,
                    r.prompt,
                    r.version,
                    short(&r.version_hash),
                    r.label,
                    r.status
                );
                println!(
                    "requested by {} {}; {} serves {}",
                    r.requested_by,
                    when(&r.requested_at),
                    r.label,
                    d.serving
                        .map_or("nothing yet".to_string(), |n| format!("version {n}"))
                );
                if !r.description.is_empty() {
                    println!("\n  {}", r.description);
                }
                println!();
                for e in &d.events {
                    let anchor = e
                        .anchor
                        .as_ref()
                        .map(|a| format!(" on {} line {}", a.template, a.line))
                        .unwrap_or_default();
                    println!(
                        "{} {} ({}) {}{anchor}: {}",
                        when(&e.at),
                        e.actor,
                        e.actor_role,
                        e.kind.replace('_', " "),
                        e.body
                    );
                }
                println!("\npolicy for {} (as of now, for {}):", r.label, reg.actor());
                for c in &d.decision.conditions {
                    println!("  [{}] {}", if c.met { "x" } else { " " }, c.message);
                }
            });
        }
        ReviewCommand::Comment {
            id,
            message,
            line,
            part,
            reply_to,
        } => {
            let anchor = line.map(|line| Anchor {
                template: part.clone(),
                line,
            });
            let e = reg.comment(id, &message, anchor.as_ref(), reply_to.as_deref())?;
            emit(json, &e, || {
                println!("commented on review #{id} ({})", e.id)
            });
        }
        ReviewCommand::Approve { id, message } => {
            context::with_signing_key(&mut reg)?;
            let e = reg.approve(id, &message)?;
            emit(json, &e, || {
                println!(
                    "approved review #{id}: version {} ({})",
                    e.version.unwrap_or(0),
                    short(e.content_hash.as_deref().unwrap_or(""))
                )
            });
        }
        ReviewCommand::RequestChanges { id, message } => {
            context::with_signing_key(&mut reg)?;
            let e = reg.request_changes(id, &message)?;
            emit(json, &e, || println!("asked for changes on review #{id}"));
        }
        ReviewCommand::Close { id, message } => {
            let e = reg.close_review(id, &message)?;
            emit(json, &e, || println!("closed review #{id}"));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn release(
    path: &Path,
    json: bool,
    spec: Option<String>,
    label: Option<String>,
    changelog: &str,
    bundle: Option<PathBuf>,
    review: Option<u32>,
    expect_from: Option<String>,
) -> Out {
    let mut reg = context::open(path)?;
    context::with_signing_key(&mut reg)?;
    if let Some(file) = bundle {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            Failure::bad_input(format!("cannot read the bundle {}: {e}", file.display()))
        })?;
        let items: Vec<BundleItem> = serde_yaml_ng::from_str(&text).map_err(|e| {
            Failure::bad_input(format!(
                "{}: not a list of {{prompt, ref, label, changelog}}: {e}",
                file.display()
            ))
        })?;
        let done = reg.release_bundle(&items, changelog)?;
        emit(json, &done, || {
            for r in &done {
                println!(
                    "released {}@{} to {} (was {})",
                    r.prompt,
                    r.to_version,
                    r.label,
                    r.from_version
                        .map_or("nothing".into(), |n| format!("version {n}"))
                );
            }
        });
        return Ok(());
    }
    let (Some(spec), Some(label)) = (spec, label) else {
        return Err(Failure::bad_input(
            "say what to release: promptdesk release NAME@REF --label LABEL -m CHANGELOG (or --bundle FILE)",
        ));
    };
    let (name, reference) = spec_with_ref(&spec, "release")?;
    let expect = expect_from.as_deref().map(Ref::parse).transpose()?;
    let r = reg.release(
        &name,
        Some(&reference),
        &label,
        ReleaseRequest {
            changelog,
            expect_from: expect.as_ref(),
            review,
        },
    )?;
    emit(json, &r, || {
        println!(
            "released {}@{} to {} (was {}){}",
            r.prompt,
            r.to_version,
            r.label,
            r.from_version
                .map_or("nothing".into(), |n| format!("version {n}")),
            if r.approvals.is_empty() {
                String::new()
            } else {
                format!(", approved by {}", r.approvals.join(", "))
            }
        )
    });
    Ok(())
}

pub fn rollback(
    path: &Path,
    json: bool,
    name: &str,
    label: &str,
    reason: &str,
    to: Option<&str>,
    expect_from: Option<&str>,
) -> Out {
    let mut reg = context::open(path)?;
    context::with_signing_key(&mut reg)?;
    let to = to.map(Ref::parse).transpose()?;
    let expect_from = expect_from.map(Ref::parse).transpose()?;
    let r = reg.rollback(
        name,
        label,
        RollbackRequest {
            reason,
            to: to.as_ref(),
            expect_from: expect_from.as_ref(),
        },
    )?;
    emit(json, &r, || {
        println!(
            "rolled {} of {} back to version {} (was {}): {}",
            r.label,
            r.prompt,
            r.to_version,
            r.from_version.unwrap_or(0),
            r.changelog
        )
    });
    Ok(())
}

pub fn releases(path: &Path, json: bool, name: &str, label: Option<&str>) -> Out {
    let reg = context::open(path)?;
    let list = reg.releases(name, label)?;
    let serving = reg.labels(name)?;
    emit(json, &json!({"serving": serving, "releases": list}), || {
        for l in serving.iter().filter(|l| l.name != "latest") {
            println!("{:12} serves version {}", l.name, l.number);
        }
        if list.is_empty() {
            println!("no releases of {name} yet");
        }
        for r in &list {
            println!(
                "{} {:8} {:12} {} → {}  by {} ({}){}: {}",
                when(&r.at),
                r.kind,
                r.label,
                r.from_version.map_or("-".into(), |n| n.to_string()),
                r.to_version,
                r.actor,
                r.actor_role,
                if r.approvals.is_empty() {
                    String::new()
                } else {
                    format!(", approved by {}", r.approvals.join(", "))
                },
                r.changelog
            );
        }
    });
    Ok(())
}

fn print_policy(label: &str, p: &Policy) {
    println!("{label}:");
    println!(
        "  approvals required:     {} (distinct reviewers, never the author)",
        p.required_approvals
    );
    println!("  changelog required:     {}", p.changelog_required);
    println!(
        "  test suite:             {}",
        p.required_suite
            .as_ref()
            .map_or("not configured".into(), |s| format!(
                "{} at {:.0}%{}",
                s.suite,
                s.min_pass_rate * 100.0,
                if s.no_regressions {
                    ", no regressions"
                } else {
                    ""
                }
            ))
    );
    println!("  who may promote:        {} and above", p.promote_role);
    println!(
        "  who may roll back:      {} and above{}",
        p.rollback_role,
        if p.rollback_needs_approvals {
            ", with approvals"
        } else {
            ", without fresh approvals"
        }
    );
    for w in &p.freeze_windows {
        println!(
            "  frozen:                 {} → {} {}",
            w.from, w.to, w.reason
        );
    }
}

pub fn policy(path: &Path, json: bool, command: PolicyCommand) -> Out {
    let mut reg = context::open(path)?;
    match command {
        PolicyCommand::Show { label: Some(label) } => {
            let p = reg.policy(&label)?;
            emit(json, &json!({"label": label, "policy": p}), || {
                print_policy(&label, &p)
            });
        }
        PolicyCommand::Show { label: None } => {
            let all = reg.policies()?;
            let out: Vec<_> = all
                .iter()
                .map(|(l, p)| json!({"label": l, "policy": p}))
                .collect();
            emit(json, &out, || {
                for (l, p) in &all {
                    print_policy(l, p);
                }
                println!("(labels not listed are unprotected: editors move them freely)");
            });
        }
        PolicyCommand::Set {
            label,
            approvals,
            changelog_required,
            suite,
            min_pass_rate,
            no_regressions,
            promote_role,
            rollback_role,
            rollback_needs_approvals,
            freeze,
            no_freeze,
        } => {
            let mut p = reg.policy(&label)?;
            if let Some(n) = approvals {
                p.required_approvals = n;
            }
            if let Some(c) = changelog_required {
                p.changelog_required = c;
            }
            if let Some(s) = suite {
                p.required_suite = (!s.trim().is_empty()).then(|| SuiteRequirement {
                    suite: s.trim().to_string(),
                    min_pass_rate,
                    no_regressions,
                });
            }
            if let Some(r) = promote_role {
                p.promote_role = r;
            }
            if let Some(r) = rollback_role {
                p.rollback_role = r;
            }
            if let Some(b) = rollback_needs_approvals {
                p.rollback_needs_approvals = b;
            }
            if no_freeze {
                p.freeze_windows.clear();
            }
            for f in &freeze {
                p.freeze_windows.push(parse_freeze(f)?);
            }
            let saved = reg.set_policy(&label, &p)?;
            emit(json, &json!({"label": label, "policy": saved}), || {
                print_policy(&label, &saved)
            });
        }
    }
    Ok(())
}

fn parse_freeze(text: &str) -> Result<FreezeWindow, Failure> {
    let bad = || {
        Failure::bad_input(format!(
            "--freeze '{text}': write FROM..TO[:REASON] with RFC 3339 times, e.g. 2026-12-20T00:00:00Z..2027-01-02T00:00:00Z:holidays"
        ))
    };
    let (from, rest) = text.split_once("..").ok_or_else(bad)?;
    // The reason follows the first ':' after the time's seconds ("…:00Z:reason").
    let (to, reason) = match rest.find("Z:") {
        Some(i) => (&rest[..=i], &rest[i + 2..]),
        None => (rest, ""),
    };
    let valid = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok()
    };
    if !valid(from) || !valid(to) {
        return Err(bad());
    }
    Ok(FreezeWindow {
        from: from.to_string(),
        to: to.to_string(),
        reason: reason.to_string(),
    })
}

pub fn role(path: &Path, json: bool, command: RoleCommand) -> Out {
    let mut reg = context::open(path)?;
    match command {
        RoleCommand::List => {
            let roles = reg.roles()?;
            emit(json, &roles, || {
                if roles.is_empty() {
                    println!("no roles set: everyone is an admin of this registry (set one with `promptdesk role set NAME admin`)");
                }
                for r in &roles {
                    println!(
                        "{:20} {:9} (set by {} {})",
                        r.person,
                        r.role,
                        r.granted_by,
                        when(&r.granted_at)
                    );
                }
            });
        }
        RoleCommand::Set { person, role } => {
            let g = reg.set_role(&person, role)?;
            emit(json, &g, || {
                println!("{} is now {}", g.person, g.role.with_article())
            });
        }
    }
    Ok(())
}

/// `promptdesk keys check`: proves the key store works and shows the acting person's key.
pub fn keys_check(path: &Path, json: bool) -> Out {
    let mut reg = context::open(path)?;
    let store =
        promptdesk_keys::KeyStore::from_env().map_err(|e| Failure::bad_input(e.to_string()))?;
    let status = store
        .canary()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    context::with_signing_key(&mut reg)?;
    let signer = store
        .signer_for(reg.actor())
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    use promptdesk_core::signing::{key_id, Sign};
    let public_key = signer.public_key();
    emit(
        json,
        &json!({"status": status, "person": reg.actor(), "key_id": key_id(&public_key), "public_key": public_key}),
        || {
            println!("{status}");
            println!(
                "{} signs with key {} ({public_key})",
                reg.actor(),
                key_id(&public_key)
            );
        },
    );
    Ok(())
}

fn key_line(k: &promptdesk_core::signing_keys::SigningKey) -> String {
    let state = match &k.revoked {
        Some(r) => format!("revoked by {} on {}: {}", r.by, r.at, r.reason),
        None => "in use".to_string(),
    };
    let carried = k
        .pushed_by
        .as_deref()
        .map(|by| format!(" (registration pushed by {by} on behalf of {})", k.person))
        .unwrap_or_default();
    format!(
        "{}  {:<20} registered {}  {state}{carried}",
        k.key_id, k.person, k.registered_at
    )
}

/// `promptdesk keys list`: every signing key in the registry and its state.
pub fn keys_list(path: &Path, json: bool) -> Out {
    let reg = context::open(path)?;
    let keys = reg.signing_keys()?;
    emit(json, &keys, || {
        if keys.is_empty() {
            println!("no signing keys yet (a key is made on your first approval or release)");
        }
        for k in &keys {
            println!("{}", key_line(k));
        }
    });
    Ok(())
}

/// `promptdesk keys rotate`: a new key in the key store, registered; the old one revoked.
pub fn keys_rotate(path: &Path, json: bool) -> Out {
    let mut reg = context::open(path)?;
    let store =
        promptdesk_keys::KeyStore::from_env().map_err(|e| Failure::bad_input(e.to_string()))?;
    use promptdesk_core::signing::Sign;
    let (old, new) = store
        .rotate(reg.actor())
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let old_public = old.as_ref().map(|o| o.public_key());
    let rotation = reg
        .rotate_signing_key(old_public.as_deref(), &new.public_key())
        .map_err(|e| {
            Failure::from(e).context(format!(
                "your new key is in the key store and signs from now on, but the registry could \
                 not record the rotation{}",
                old_public
                    .as_deref()
                    .map(|p| format!(
                        "; revoke the old key with `promptdesk keys revoke {} --reason rotated`",
                        promptdesk_core::signing::key_id(p)
                    ))
                    .unwrap_or_default()
            ))
        })?;
    emit(json, &rotation, || {
        println!(
            "{} now signs with key {}",
            reg.actor(),
            rotation.new_key.key_id
        );
        match &rotation.old_key {
            Some(old) => println!(
                "the old key {} is revoked: it signs nothing more",
                old.key_id
            ),
            None => println!("(there was no key before)"),
        }
        println!("run `promptdesk sync` to tell the team server");
    });
    Ok(())
}

/// `promptdesk keys revoke KEY --reason …`
pub fn keys_revoke(path: &Path, key_id: &str, reason: &str, json: bool) -> Out {
    let mut reg = context::open(path)?;
    let key = reg.revoke_signing_key(key_id, reason)?;
    emit(json, &key, || {
        println!("{}", key_line(&key));
        println!("nothing signed with it counts in a release decision any more; run `promptdesk sync` to tell the team server");
    });
    Ok(())
}
