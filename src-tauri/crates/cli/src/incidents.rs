//! `promptdesk incident …`, `postmortem` and `actions`: from "refund answers are wrong" to a
//! rolled-back production and an exported postmortem.

use std::path::Path;

use promptdesk_core::incidents::{IncidentChange, IncidentDetail, NewIncident, PostmortemDoc};
use serde_json::json;

use crate::args::IncidentCommand;
use crate::context;
use crate::output::{emit, when, Failure};

type Out = Result<(), Failure>;

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn print_detail(d: &IncidentDetail) {
    let i = &d.incident;
    println!("incident {}  {}  {}", short(&i.id), i.severity, i.status);
    println!("  {}", i.title);
    println!(
        "  {} at {}; detected {} ({}), opened by {} {}",
        i.prompt,
        i.label,
        when(&i.detected_at),
        i.detection.replace('_', " "),
        i.opened_by,
        when(&i.opened_at)
    );
    match &d.suspected {
        Some(s) => println!(
            "  suspected release {}: version {} (was {}) by {} {}: {}",
            short(&s.id),
            s.to_version,
            s.from_version
                .map_or("nothing".to_string(), |v| v.to_string()),
            s.actor,
            when(&s.at),
            s.changelog
        ),
        None => println!("  no suspected release"),
    }
    if let Some(now) = d.serving {
        println!("  {} serves version {now} now", i.label);
    }
    match (&d.rollback, d.rollback_to) {
        (Some(r), _) => println!(
            "  rolled back from the incident: release {} to version {}",
            short(&r.id),
            r.to_version
        ),
        (None, Some(to)) => println!(
            "  `promptdesk incident rollback {}` takes {} back to version {to}",
            short(&i.id),
            i.label
        ),
        (None, None) => {}
    }
    if !d.blast_radius.labels.is_empty() || !d.blast_radius.included_by.is_empty() {
        println!(
            "  blast radius: labels {}; included by {}",
            if d.blast_radius.labels.is_empty() {
                "none".into()
            } else {
                d.blast_radius.labels.join(", ")
            },
            if d.blast_radius.included_by.is_empty() {
                "no other prompt".into()
            } else {
                d.blast_radius.included_by.join(", ")
            }
        );
    }
    if !i.notes.is_empty() {
        println!("  notes: {}", i.notes);
    }
    println!("timeline:");
    for e in &d.timeline {
        println!("  {}  {:<8} {}", when(&e.at), e.actor, e.text);
    }
}

pub fn incident(path: &Path, json: bool, command: IncidentCommand) -> Out {
    let mut reg = context::open(path)?;
    match command {
        IncidentCommand::Open {
            name,
            title,
            severity,
            detection,
            detected_at,
            label,
            suspected,
            notes,
        } => {
            let i = reg.open_incident(NewIncident {
                title,
                severity: severity.to_ascii_uppercase(),
                detection,
                detected_at: detected_at.unwrap_or_default(),
                prompt: name,
                label,
                suspected_release: suspected.unwrap_or_default(),
                notes,
            })?;
            let detail = reg.incident_detail(&i.id)?;
            emit(json, &detail, || {
                println!("opened incident {}", short(&i.id));
                print_detail(&detail);
            });
        }
        IncidentCommand::List { all } => {
            let list = reg.incidents(!all)?;
            emit(json, &list, || {
                if list.is_empty() {
                    println!(
                        "{}",
                        if all {
                            "no incidents"
                        } else {
                            "no open incidents"
                        }
                    );
                }
                for i in &list {
                    println!(
                        "{}  {}  {:<13} {}@{}  {}  {}",
                        short(&i.id),
                        i.severity,
                        i.status,
                        i.prompt,
                        i.label,
                        when(&i.opened_at),
                        i.title
                    );
                }
            });
        }
        IncidentCommand::Show { id } => {
            let d = reg.incident_detail(&id)?;
            emit(json, &d, || print_detail(&d));
        }
        IncidentCommand::Rollback { id, reason } => {
            context::with_signing_key(&mut reg)?;
            let (i, release) = reg.incident_rollback(&id, &reason)?;
            emit(json, &json!({"incident": i, "release": release}), || {
                println!(
                    "rolled {} of {} back to version {} (from {}); incident {} is {}",
                    release.label,
                    release.prompt,
                    release.to_version,
                    release.from_version.map_or("?".into(), |v| v.to_string()),
                    short(&i.id),
                    i.status
                )
            });
        }
        IncidentCommand::Update {
            id,
            title,
            severity,
            status,
            notes,
        } => {
            let i = reg.update_incident(
                &id,
                IncidentChange {
                    title,
                    severity: severity.map(|s| s.to_ascii_uppercase()),
                    status,
                    notes,
                    suspected_release: None,
                },
            )?;
            emit(json, &i, || {
                println!("incident {}: {} {}", short(&i.id), i.severity, i.status)
            });
        }
        IncidentCommand::Note { id, text, at } => {
            reg.add_incident_note(&id, at.as_deref(), &text)?;
            emit(json, &json!({"noted": id}), || {
                println!("added to the timeline")
            });
        }
        IncidentCommand::Resolve { id } => {
            let i = reg.resolve_incident(&id)?;
            emit(json, &i, || {
                println!("incident {} resolved", short(&i.id));
                println!(
                    "write its postmortem: `promptdesk postmortem {} --template > pm.yaml`, edit, `--edit pm.yaml`",
                    short(&i.id)
                );
            });
        }
        IncidentCommand::AddCase {
            id,
            suite,
            vars,
            assertions,
            expected,
            description,
        } => {
            let case =
                crate::evals::case_from_flags(description, &vars, expected, &assertions, vec![])?;
            let added = reg.add_regression_cases(&id, &suite, vec![case])?;
            emit(json, &added, || {
                for c in &added {
                    println!(
                        "added regression case {} to suite {suite} ({})",
                        c.id, c.origin
                    )
                }
            });
        }
    }
    Ok(())
}

pub fn postmortem(
    path: &Path,
    json: bool,
    id: &str,
    edit: Option<&Path>,
    template: bool,
    export: Option<&str>,
) -> Out {
    let mut reg = context::open(path)?;
    if let Some(file) = edit {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
        let doc: PostmortemDoc = serde_yaml_ng::from_str(&text).map_err(|e| {
            Failure::bad_input(format!(
                "{}: {e} (start from `promptdesk postmortem {id} --template`)",
                file.display()
            ))
        })?;
        let pm = reg.save_postmortem(id, doc)?;
        emit(json, &pm, || {
            println!(
                "saved the postmortem of incident {} ({} action item(s))",
                short(&pm.incident.id),
                pm.doc.actions.len()
            )
        });
        return Ok(());
    }
    let pm = reg.postmortem(id)?;
    if template {
        let yaml = serde_yaml_ng::to_string(&pm.doc)
            .map_err(|e| Failure::internal(format!("cannot write the template: {e}")))?;
        print!(
            "# The written parts of the postmortem of incident {} ({}).\n\
             # Edit, then: promptdesk postmortem {} --edit THIS_FILE\n\
             # actions: - text, owner, due (YYYY-MM-DD), status (open or done)\n{yaml}",
            short(&pm.incident.id),
            pm.incident.title,
            short(&pm.incident.id)
        );
        return Ok(());
    }
    let markdown = promptdesk_core::incidents::postmortem_markdown(&pm);
    if export.is_some() || !json {
        print!("{markdown}");
    } else {
        emit(json, &pm, || {});
    }
    Ok(())
}

pub fn actions(path: &Path, json: bool) -> Out {
    let reg = context::open(path)?;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let open = reg.open_actions(&today)?;
    emit(json, &open, || {
        if open.is_empty() {
            println!("no open action items");
        }
        for a in &open {
            println!(
                "{}{}  owner {}  due {}  (incident {} {}: {})",
                if a.overdue { "OVERDUE " } else { "" },
                a.action.text,
                if a.action.owner.is_empty() {
                    "—"
                } else {
                    &a.action.owner
                },
                if a.action.due.is_empty() {
                    "—"
                } else {
                    &a.action.due
                },
                short(&a.incident),
                a.severity,
                a.incident_title
            );
        }
    });
    Ok(())
}
