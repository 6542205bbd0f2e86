//! Incidents and postmortems: a production regression tied to the release suspected of causing
//! it, the rollback taken from it, a timeline assembled from the ledger (plus what people
//! write), and a blameless postmortem whose timeline, root-cause diff and impact durations come
//! from the registry. Regression cases added from a postmortem go to the prompt's suite with
//! `postmortem:ID` as their origin.

mod markdown;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::eval::{Case, CaseInput};
use crate::refs::Ref;
use crate::registry::Registry;
use crate::release::{Release, RollbackRequest};
use crate::store::incidents::{self as store, IncidentRow, NoteRow, PostmortemRow};
use crate::store::{labels, ledger, prompts, versions};

pub use markdown::postmortem_markdown;

pub use promptdesk_protocol::incidents::{
    ActionItem, PostmortemDoc, DETECTIONS, SEVERITIES, STATUSES,
};

/// What opening an incident takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct NewIncident {
    pub title: String,
    /// SEV1 (worst) to SEV4.
    pub severity: String,
    /// user_reports, monitoring, eval or other.
    pub detection: String,
    /// When it was noticed (RFC 3339); now when empty.
    #[serde(default)]
    pub detected_at: String,
    pub prompt: String,
    /// The label serving the regression (production when empty).
    #[serde(default)]
    pub label: String,
    /// The release suspected of causing it; the label's latest release when empty.
    #[serde(default)]
    pub suspected_release: String,
    #[serde(default)]
    pub notes: String,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub detection: String,
    pub detected_at: String,
    pub prompt: String,
    pub label: String,
    pub suspected_release: Option<String>,
    pub rollback_release: Option<String>,
    pub notes: String,
    pub opened_by: String,
    pub opened_at: String,
    pub mitigated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub updated_at: String,
}

/// Changes to an incident's fields (absent ones stay).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct IncidentChange {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub suspected_release: Option<String>,
}

/// One moment of an incident's story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct TimelineEntry {
    pub at: String,
    /// version.created, review.requested, review.approve, release.recorded, incident.opened,
    /// rollback.recorded, incident.resolved, note, …
    pub kind: String,
    pub actor: String,
    /// One line, in words.
    pub text: String,
    /// The ledger entry it comes from (none for a note someone wrote).
    pub ledger_seq: Option<i64>,
}

/// Where the regression reaches: the labels serving the suspected version, and the prompts that
/// include this one (they render its text too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct BlastRadius {
    pub labels: Vec<String>,
    pub included_by: Vec<String>,
}

/// An incident with everything its page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub suspected: Option<Release>,
    pub rollback: Option<Release>,
    /// What the label serves now.
    pub serving: Option<u32>,
    /// The version a rollback from the incident goes back to (the suspected release's `from`),
    /// when the label still serves the suspected release.
    pub rollback_to: Option<u32>,
    pub blast_radius: BlastRadius,
    pub timeline: Vec<TimelineEntry>,
    pub has_postmortem: bool,
}

/// A postmortem: the written part and what the registry knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Postmortem {
    pub incident: Incident,
    pub doc: PostmortemDoc,
    /// Saved at least once.
    pub saved: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    /// The root cause's diff: the version the suspected release replaced → the one it shipped.
    pub bad_version: Option<u32>,
    pub good_version: Option<u32>,
    pub diff: Option<promptdesk_diff::VersionDiff>,
    /// Detected → mitigated and opened → resolved, in minutes.
    pub minutes_to_mitigate: Option<i64>,
    pub minutes_to_resolve: Option<i64>,
    /// Cases added from this postmortem.
    pub regression_cases: Vec<Case>,
}

/// An open corrective action, wherever it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct OpenAction {
    pub incident: String,
    pub incident_title: String,
    pub severity: String,
    pub action: ActionItem,
    /// Its due date has passed.
    pub overdue: bool,
}

/// A stored incident as the app shows it, its prompt by name.
fn incident_of(conn: &Connection, row: IncidentRow) -> Result<Incident> {
    let prompt = prompts::get_by_id(conn, row.prompt_id)?.name;
    Ok(Incident {
        id: row.id,
        title: row.title,
        severity: row.severity,
        status: row.status,
        detection: row.detection,
        detected_at: row.detected_at,
        prompt,
        label: row.label,
        suspected_release: row.suspected_release,
        rollback_release: row.rollback_release,
        notes: row.notes,
        opened_by: row.opened_by,
        opened_at: row.opened_at,
        mitigated_at: row.mitigated_at,
        resolved_at: row.resolved_at,
        updated_at: row.updated_at,
    })
}

/// The row of the incident whose id is `id` or starts with it.
fn find_row(conn: &Connection, id: &str) -> Result<IncidentRow> {
    let id = id.trim();
    if id.len() < 4 {
        return Err(Error::bad(format!(
            "incident {id:?}: give at least 4 characters of its id"
        )));
    }
    let mut found = store::matching(conn, id)?;
    match found.as_slice() {
        [] => Err(Error::NotFound(format!("there is no incident {id}"))),
        [_] => Ok(found.remove(0)),
        [first, ..] if first.id == id => Ok(found.remove(0)),
        _ => Err(Error::bad(format!(
            "{id} matches several incidents: give more of the id"
        ))),
    }
}

/// The incident whose id is `id` or starts with it.
pub(crate) fn find(conn: &Connection, id: &str) -> Result<Incident> {
    let row = find_row(conn, id)?;
    incident_of(conn, row)
}

fn check_choice(what: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "{what} must be one of {} (got {value:?})",
            allowed.join(", ")
        )))
    }
}

fn parse_time(at: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
}

fn minutes_between(from: &str, to: &str) -> Option<i64> {
    Some((parse_time(to)? - parse_time(from)?).whole_minutes())
}

fn release_by_id(reg: &Registry, prompt: &str, id: &str) -> Result<Option<Release>> {
    Ok(reg.releases(prompt, None)?.into_iter().find(|r| r.id == id))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// A ledger entry of a prompt told in words, when it belongs in an incident's story.
fn story_line(kind: &str, p: &Value, label: &str) -> Option<String> {
    let version = |k: &str| p[k]["number"].as_u64().or_else(|| p[k].as_u64());
    Some(match kind {
        "version.created" => format!(
            "version {} saved: {}",
            p["number"],
            p["message"].as_str().unwrap_or("")
        ),
        "review.requested" if p["label"] == label => format!(
            "review #{} requested: version {} for {label}",
            p["review"], p["version"]
        ),
        "review.approve" => format!("review #{} approved", p["review"]),
        "review.request_changes" => format!("review #{}: changes requested", p["review"]),
        "release.recorded" if p["label"] == label => format!(
            "released version {} to {label} (was {}): {}",
            version("to")?,
            version("from").map_or("nothing".into(), |v| v.to_string()),
            p["changelog"].as_str().unwrap_or("")
        ),
        "rollback.recorded" if p["label"] == label => format!(
            "rolled {label} back to version {} (from {}): {}",
            version("to")?,
            version("from").map_or("?".into(), |v| v.to_string()),
            p["changelog"].as_str().unwrap_or("")
        ),
        "label.moved" if p["label"] == label => {
            format!("{label} moved to version {}", version("to")?)
        }
        "incident.opened" => format!(
            "incident opened ({}): {}",
            p["severity"].as_str().unwrap_or(""),
            p["title"].as_str().unwrap_or("")
        ),
        "incident.updated" => {
            let mut parts = Vec::new();
            if let Some(s) = p["after"]["status"].as_str() {
                if p["before"]["status"] != p["after"]["status"] {
                    parts.push(format!("status {s}"));
                }
            }
            if p["before"]["severity"] != p["after"]["severity"] {
                parts.push(format!(
                    "severity {}",
                    p["after"]["severity"].as_str().unwrap_or("")
                ));
            }
            if parts.is_empty() {
                return None;
            }
            format!("incident updated: {}", parts.join(", "))
        }
        "incident.rolled_back" => format!(
            "rollback taken from the incident (release {})",
            short(p["release"].as_str().unwrap_or(""))
        ),
        "incident.resolved" => "incident resolved".into(),
        "suite.cases_added"
            if p["origin"]
                .as_str()
                .is_some_and(|o| o.starts_with("postmortem:")) =>
        {
            format!(
                "{} regression case(s) added to suite {}",
                p["cases"].as_array().map_or(0, |c| c.len()),
                p["suite"].as_str().unwrap_or("")
            )
        }
        "eval.finished" => format!(
            "suite {} ran on version {}: {}/{} passed",
            p["suite"].as_str().unwrap_or(""),
            p["version"],
            p["passed"],
            p["total"]
        ),
        _ => return None,
    })
}

impl Registry {
    /// Opens an incident on a prompt's label; the suspected release defaults to the label's
    /// latest release.
    pub fn open_incident(&mut self, new: NewIncident) -> Result<Incident> {
        let title = new.title.trim().to_string();
        if title.is_empty() {
            return Err(Error::bad(
                "an incident needs a title (what is wrong, in a line)",
            ));
        }
        check_choice("severity", &new.severity, SEVERITIES)?;
        check_choice("detection", &new.detection, DETECTIONS)?;
        let label = if new.label.trim().is_empty() {
            "production".to_string()
        } else {
            new.label.trim().to_string()
        };
        if !new.detected_at.is_empty() && parse_time(&new.detected_at).is_none() {
            return Err(Error::bad(format!(
                "detected at {:?}: write an RFC 3339 time such as 2026-11-21T09:30:00Z",
                new.detected_at
            )));
        }
        let releases = self.releases(&new.prompt, Some(&label))?;
        let suspected = if new.suspected_release.trim().is_empty() {
            releases.iter().find(|r| r.kind == "release").cloned()
        } else {
            let s = new.suspected_release.trim();
            Some(
                releases
                    .iter()
                    .find(|r| r.id.starts_with(s))
                    .cloned()
                    .ok_or_else(|| {
                        Error::NotFound(format!("{} has no release {s} to {label}", new.prompt))
                    })?,
            )
        };
        self.write(|tx, ctx| {
            let p = prompts::get(tx, &new.prompt)?;
            let id = ctx.new_id();
            let detected = if new.detected_at.is_empty() {
                ctx.at.clone()
            } else {
                new.detected_at.clone()
            };
            store::insert(
                tx,
                &IncidentRow {
                    id: id.clone(),
                    title: title.clone(),
                    severity: new.severity.clone(),
                    status: "investigating".into(),
                    detection: new.detection.clone(),
                    detected_at: detected,
                    prompt_id: p.id,
                    label: label.clone(),
                    suspected_release: suspected.as_ref().map(|r| r.id.clone()),
                    rollback_release: None,
                    notes: new.notes.trim().to_string(),
                    opened_by: ctx.actor.to_string(),
                    opened_at: ctx.at.clone(),
                    mitigated_at: None,
                    resolved_at: None,
                    updated_at: ctx.at.clone(),
                },
            )?;
            let incident = find(tx, &id)?;
            ctx.event(
                tx,
                "incident.opened",
                &new.prompt,
                json!({"incident": incident.id, "title": incident.title,
                       "severity": incident.severity, "detection": incident.detection,
                       "detected_at": incident.detected_at, "label": incident.label,
                       "suspected_release": incident.suspected_release,
                       "notes": incident.notes}),
            )?;
            Ok(incident)
        })
    }

    /// Incidents, newest first; only those not resolved when `open_only`.
    pub fn incidents(&self, open_only: bool) -> Result<Vec<Incident>> {
        let conn = self.connection();
        store::list(conn, open_only)?
            .into_iter()
            .map(|row| incident_of(conn, row))
            .collect()
    }

    pub fn incident(&self, id: &str) -> Result<Incident> {
        find(self.connection(), id)
    }

    /// An incident with its releases, blast radius and timeline.
    pub fn incident_detail(&self, id: &str) -> Result<IncidentDetail> {
        let incident = find(self.connection(), id)?;
        let suspected = match &incident.suspected_release {
            Some(r) => release_by_id(self, &incident.prompt, r)?,
            None => None,
        };
        let rollback = match &incident.rollback_release {
            Some(r) => release_by_id(self, &incident.prompt, r)?,
            None => None,
        };
        let p = prompts::get(self.connection(), &incident.prompt)?;
        let serving = labels::get(self.connection(), p.id, &incident.label)?;
        let rollback_to = match (&suspected, &serving) {
            (Some(s), Some(now)) if now.hash == s.to_hash => s.from_version,
            _ => None,
        };
        let bad_hash = suspected.as_ref().map(|s| s.to_hash.clone());
        let labels_serving = labels::list(self.connection(), p.id)?
            .into_iter()
            .filter(|l| Some(&l.hash) == bad_hash.as_ref() && l.name != "latest")
            .map(|l| l.name)
            .collect();
        let blast_radius = BlastRadius {
            labels: labels_serving,
            included_by: self.included_by(&incident.prompt)?,
        };
        let has_postmortem = store::postmortem(self.connection(), &incident.id)?.is_some();
        Ok(IncidentDetail {
            timeline: self.incident_timeline(&incident, suspected.as_ref())?,
            serving: serving.map(|l| l.number),
            incident,
            suspected,
            rollback,
            rollback_to,
            blast_radius,
            has_postmortem,
        })
    }

    /// The story from the suspected version's creation to now: the prompt's ledger entries
    /// that matter to this label, this incident's own entries, and the notes people wrote.
    fn incident_timeline(
        &self,
        incident: &Incident,
        suspected: Option<&Release>,
    ) -> Result<Vec<TimelineEntry>> {
        let conn = self.connection();
        // Start at the creation of the version the suspected release shipped (its review and
        // approvals come after); without one, at the incident.
        let start: String = match suspected {
            Some(s) => match prompts::find(conn, &incident.prompt)? {
                Some(p) => versions::by_hash(conn, p.id, &s.to_hash)?.map(|v| v.created_at),
                None => None,
            }
            .unwrap_or_else(|| s.at.clone()),
            None => incident.opened_at.clone(),
        };
        // The story is the bad version's: its creation, its reviews, and the label's moves
        // from its release on (other versions' reviews in the same hours are not).
        let bad_hash = suspected.map(|s| s.to_hash.as_str());
        let released_at = suspected.map_or(incident.opened_at.as_str(), |s| s.at.as_str());
        let mut bad_reviews = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = ledger::list(conn, Some(&incident.prompt), after, 1000)?;
            if page.is_empty() {
                break;
            }
            after = page.last().map_or(after, |e| e.seq);
            for e in page {
                if e.at < start {
                    continue;
                }
                let about_other_incident = (e.kind.starts_with("incident.")
                    || e.kind == "postmortem.saved")
                    && e.payload["incident"].as_str() != Some(incident.id.as_str());
                if about_other_incident {
                    continue;
                }
                let relevant = match e.kind.as_str() {
                    "version.created" => e.payload["hash"].as_str() == bad_hash,
                    "review.requested" => {
                        let ours = e.payload["hash"].as_str() == bad_hash;
                        if ours {
                            bad_reviews.insert(e.payload["review"].to_string());
                        }
                        ours
                    }
                    k if k.starts_with("review.") => {
                        bad_reviews.contains(&e.payload["review"].to_string())
                    }
                    "release.recorded" | "rollback.recorded" | "label.moved" => {
                        e.at.as_str() >= released_at
                    }
                    _ => true,
                };
                if !relevant {
                    continue;
                }
                if let Some(text) = story_line(&e.kind, &e.payload, &incident.label) {
                    out.push(TimelineEntry {
                        at: e.at.clone(),
                        kind: e.kind.clone(),
                        actor: e.actor.clone(),
                        text,
                        ledger_seq: Some(e.seq),
                    });
                }
            }
        }
        for n in store::notes(conn, &incident.id)? {
            out.push(TimelineEntry {
                at: n.at,
                kind: "note".into(),
                text: n.text,
                actor: n.author,
                ledger_seq: None,
            });
        }
        out.push(TimelineEntry {
            at: incident.detected_at.clone(),
            kind: "detected".into(),
            actor: incident.opened_by.clone(),
            text: format!("detected ({})", incident.detection.replace('_', " ")),
            ledger_seq: None,
        });
        out.sort_by(|a, b| {
            a.at.cmp(&b.at).then(
                a.ledger_seq
                    .unwrap_or(i64::MAX)
                    .cmp(&b.ledger_seq.unwrap_or(i64::MAX)),
            )
        });
        Ok(out)
    }

    /// Changes an incident's fields; moving to mitigated or resolved stamps the time.
    pub fn update_incident(&mut self, id: &str, change: IncidentChange) -> Result<Incident> {
        if let Some(s) = &change.severity {
            check_choice("severity", s, SEVERITIES)?;
        }
        if let Some(s) = &change.status {
            check_choice("status", s, STATUSES)?;
        }
        if change.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(Error::bad("an incident needs a title"));
        }
        let suspected = match &change.suspected_release {
            Some(s) => {
                let before = self.incident(id)?;
                Some(
                    self.releases(&before.prompt, Some(&before.label))?
                        .into_iter()
                        .find(|r| r.id.starts_with(s.trim()))
                        .ok_or_else(|| {
                            Error::NotFound(format!(
                                "{} has no release {s} to {}",
                                before.prompt, before.label
                            ))
                        })?
                        .id,
                )
            }
            None => None,
        };
        self.write(|tx, ctx| {
            let row = find_row(tx, id)?;
            let before = incident_of(tx, row.clone())?;
            let status = change.status.clone().unwrap_or(before.status.clone());
            let mitigated_at = match (status.as_str(), &before.mitigated_at) {
                ("mitigated" | "resolved", None) => Some(ctx.at.clone()),
                _ => before.mitigated_at.clone(),
            };
            let resolved_at = match status.as_str() {
                "resolved" => before.resolved_at.clone().or(Some(ctx.at.clone())),
                _ => None,
            };
            store::update(
                tx,
                &IncidentRow {
                    title: change
                        .title
                        .as_deref()
                        .map(str::trim)
                        .unwrap_or(&before.title)
                        .to_string(),
                    severity: change.severity.clone().unwrap_or(before.severity.clone()),
                    status,
                    notes: change.notes.clone().unwrap_or(before.notes.clone()),
                    suspected_release: suspected.clone().or(before.suspected_release.clone()),
                    mitigated_at,
                    resolved_at,
                    updated_at: ctx.at.clone(),
                    ..row
                },
            )?;
            let after = find(tx, &before.id)?;
            let kind = if after.status == "resolved" && before.status != "resolved" {
                "incident.resolved"
            } else {
                "incident.updated"
            };
            ctx.event(
                tx,
                kind,
                &after.prompt,
                json!({"incident": after.id, "before": before, "after": after}),
            )?;
            Ok(after)
        })
    }

    pub fn resolve_incident(&mut self, id: &str) -> Result<Incident> {
        self.update_incident(
            id,
            IncidentChange {
                status: Some("resolved".into()),
                ..Default::default()
            },
        )
    }

    /// Adds a line to the incident's timeline.
    pub fn add_incident_note(&mut self, id: &str, at: Option<&str>, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::bad("the note is empty"));
        }
        if let Some(at) = at.filter(|a| !a.is_empty()) {
            if parse_time(at).is_none() {
                return Err(Error::bad(format!(
                    "{at:?}: write an RFC 3339 time such as 2026-11-21T09:30:00Z"
                )));
            }
        }
        self.write(|tx, ctx| {
            let incident = find(tx, id)?;
            let note_id = ctx.new_id();
            let when = at.filter(|a| !a.is_empty()).unwrap_or(&ctx.at).to_string();
            store::insert_note(
                tx,
                &NoteRow {
                    id: note_id.clone(),
                    incident_id: incident.id.clone(),
                    at: when.clone(),
                    text: text.trim().to_string(),
                    author: ctx.actor.to_string(),
                    written_at: ctx.at.clone(),
                },
            )?;
            ctx.event(
                tx,
                "incident.noted",
                &incident.prompt,
                json!({"incident": incident.id, "id": note_id, "at": when, "text": text.trim()}),
            )
        })
    }

    /// Rolls the incident's label back to what the suspected release replaced, in one action,
    /// and records the rollback on the incident (status mitigated). Refused when the label no
    /// longer serves the suspected release: then someone already moved it, and a person must
    /// decide.
    pub fn incident_rollback(&mut self, id: &str, reason: &str) -> Result<(Incident, Release)> {
        let detail = self.incident_detail(id)?;
        let incident = detail.incident.clone();
        let suspected = detail.suspected.clone().ok_or_else(|| {
            Error::Conflict(format!(
                "incident {} has no suspected release to undo; name one first",
                short(&incident.id)
            ))
        })?;
        let to = detail.rollback_to.ok_or_else(|| {
            Error::Conflict(match (detail.serving, suspected.from_version) {
                (_, None) => format!(
                    "the suspected release put the first version on {}: there is nothing to go back to",
                    incident.label
                ),
                (Some(now), _) => format!(
                    "{} no longer serves the suspected release (it serves version {now}); roll back by hand if needed",
                    incident.label
                ),
                (None, _) => format!("{} points nowhere", incident.label),
            })
        })?;
        let reason = if reason.trim().is_empty() {
            format!("incident {}: {}", short(&incident.id), incident.title)
        } else {
            reason.trim().to_string()
        };
        let to_ref = Ref::Number(to);
        let from_ref = Ref::HashPrefix(suspected.to_hash.clone());
        self.batch(|reg| {
            let release = reg.rollback(
                &incident.prompt,
                &incident.label,
                RollbackRequest {
                    reason: &reason,
                    to: Some(&to_ref),
                    expect_from: Some(&from_ref),
                },
            )?;
            let updated = reg.write(|tx, ctx| {
                let status = if incident.status == "resolved" {
                    "resolved"
                } else {
                    "mitigated"
                };
                store::set_rollback(tx, &incident.id, &release.id, status, &ctx.at)?;
                ctx.event(
                    tx,
                    "incident.rolled_back",
                    &incident.prompt,
                    json!({"incident": incident.id, "release": release.id,
                           "from": release.from_version, "to": release.to_version}),
                )?;
                find(tx, &incident.id)
            })?;
            Ok((updated, release))
        })
    }

    /// The postmortem of an incident (an empty one until saved), with what the registry knows.
    pub fn postmortem(&self, id: &str) -> Result<Postmortem> {
        let detail = self.incident_detail(id)?;
        let conn = self.connection();
        let (doc, saved, updated_by, updated_at) =
            match store::postmortem(conn, &detail.incident.id)? {
                Some(m) => (
                    serde_json::from_str(&m.doc).map_err(|e| {
                        Error::Integrity(format!("the postmortem does not parse: {e}"))
                    })?,
                    true,
                    Some(m.updated_by),
                    Some(m.updated_at),
                ),
                None => (PostmortemDoc::default(), false, None, None),
            };
        let (good, bad) = match &detail.suspected {
            Some(s) => (s.from_version, Some(s.to_version)),
            None => (None, None),
        };
        let diff = match (good, bad) {
            (Some(g), Some(b)) => {
                let old = self.resolve(&detail.incident.prompt, Some(&Ref::Number(g)))?;
                let new = self.resolve(&detail.incident.prompt, Some(&Ref::Number(b)))?;
                Some(promptdesk_diff::diff_versions(
                    &old.content,
                    &new.content,
                    &promptdesk_diff::DiffOptions::default(),
                ))
            }
            _ => None,
        };
        let i = &detail.incident;
        let regression_cases = self.cases_from_postmortem(&i.prompt, &i.id)?;
        Ok(Postmortem {
            minutes_to_mitigate: i
                .mitigated_at
                .as_deref()
                .and_then(|m| minutes_between(&i.detected_at, m)),
            minutes_to_resolve: i
                .resolved_at
                .as_deref()
                .and_then(|r| minutes_between(&i.opened_at, r)),
            incident: detail.incident.clone(),
            doc,
            saved,
            updated_by,
            updated_at,
            timeline: detail.timeline,
            bad_version: bad,
            good_version: good,
            diff,
            regression_cases,
        })
    }

    fn cases_from_postmortem(&self, prompt: &str, incident_id: &str) -> Result<Vec<Case>> {
        let origin = format!("postmortem:{incident_id}");
        let mut out = Vec::new();
        for s in self.suites(prompt)? {
            out.extend(
                self.suite(prompt, &s.name)?
                    .cases
                    .into_iter()
                    .filter(|c| c.origin == origin),
            );
        }
        Ok(out)
    }

    /// Saves what people wrote in the postmortem; action items get ids.
    pub fn save_postmortem(&mut self, id: &str, mut doc: PostmortemDoc) -> Result<Postmortem> {
        for (i, a) in doc.actions.iter_mut().enumerate() {
            if a.status.trim().is_empty() {
                a.status = "open".into();
            }
            if a.text.trim().is_empty() {
                return Err(Error::bad(format!(
                    "action {}: say what is to be done",
                    i + 1
                )));
            }
            check_choice(
                &format!("action {} status", i + 1),
                &a.status,
                &["open", "done"],
            )?;
            if !a.due.is_empty()
                && time::Date::parse(
                    &a.due,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .is_err()
            {
                return Err(Error::bad(format!(
                    "action {}: the due date {:?} is not YYYY-MM-DD",
                    i + 1,
                    a.due
                )));
            }
        }
        self.write(|tx, ctx| {
            let incident = find(tx, id)?;
            for a in doc.actions.iter_mut() {
                if a.id.is_empty() {
                    a.id = ctx.new_id();
                }
                a.text = a.text.trim().to_string();
                a.owner = a.owner.trim().to_string();
            }
            let text = serde_json::to_string(&doc).expect("postmortems serialise");
            store::put_postmortem(
                tx,
                &PostmortemRow {
                    incident_id: incident.id.clone(),
                    doc: text,
                    updated_by: ctx.actor.to_string(),
                    updated_at: ctx.at.clone(),
                },
            )?;
            ctx.event(
                tx,
                "postmortem.saved",
                &incident.prompt,
                json!({"incident": incident.id, "doc": doc}),
            )
        })?;
        self.postmortem(id)
    }

    /// Turns the inputs that exposed the problem into cases of the prompt's suite (created when
    /// missing), marked as coming from this postmortem.
    pub fn add_regression_cases(
        &mut self,
        id: &str,
        suite: &str,
        cases: Vec<CaseInput>,
    ) -> Result<Vec<Case>> {
        let incident = self.incident(id)?;
        let mut cases = cases;
        for c in &mut cases {
            if !c.tags.iter().any(|t| t == "regression") {
                c.tags.push("regression".into());
            }
        }
        self.add_cases(
            &incident.prompt,
            suite,
            cases,
            &format!("postmortem:{}", incident.id),
            true,
        )
    }

    /// Corrective actions not done yet, over every postmortem; overdue ones first.
    pub fn open_actions(&self, today: &str) -> Result<Vec<OpenAction>> {
        let mut out = Vec::new();
        for (i, m) in store::postmortems(self.connection())? {
            let (incident, title, severity) = (i.id, i.title, i.severity);
            let doc: PostmortemDoc = serde_json::from_str(&m.doc).unwrap_or_default();
            for a in doc.actions.into_iter().filter(|a| a.status != "done") {
                out.push(OpenAction {
                    overdue: !a.due.is_empty() && a.due.as_str() < today,
                    incident: incident.clone(),
                    incident_title: title.clone(),
                    severity: severity.clone(),
                    action: a,
                });
            }
        }
        out.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(a.action.due.is_empty().cmp(&b.action.due.is_empty()))
                .then(a.action.due.cmp(&b.action.due))
        });
        Ok(out)
    }

    /// The postmortem as Markdown.
    pub fn export_postmortem(&self, id: &str) -> Result<String> {
        Ok(postmortem_markdown(&self.postmortem(id)?))
    }
}
