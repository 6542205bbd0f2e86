//! A postmortem as Markdown: the document a team files, with the written parts and what the
//! registry knows (timeline, root-cause diff, durations, regression cases).

use super::Postmortem;

fn section(out: &mut String, title: &str, body: &str) {
    out.push_str(&format!("\n## {title}\n\n"));
    let body = body.trim();
    if body.is_empty() {
        out.push_str("_Not written yet._\n");
    } else {
        out.push_str(body);
        out.push('\n');
    }
}

/// Text that goes in a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

fn duration(minutes: Option<i64>) -> String {
    match minutes {
        None => "not yet".into(),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) if m < 60 * 24 => format!("{} h {} min", m / 60, m % 60),
        Some(m) => format!("{} d {} h", m / (60 * 24), (m / 60) % 24),
    }
}

pub fn postmortem_markdown(pm: &Postmortem) -> String {
    let i = &pm.incident;
    let mut out = format!("# Postmortem: {}\n\n", i.title.trim());
    out.push_str("_Blameless: this document is about what happened and how the system let it, not about who._\n\n");
    out.push_str("| | |\n|---|---|\n");
    for (k, v) in [
        ("Incident", i.id.as_str()),
        ("Severity", i.severity.as_str()),
        ("Status", i.status.as_str()),
        ("Prompt", i.prompt.as_str()),
        ("Label", i.label.as_str()),
        ("Detected", i.detected_at.as_str()),
        ("Opened by", i.opened_by.as_str()),
    ] {
        out.push_str(&format!("| {k} | {} |\n", cell(v)));
    }
    out.push_str(&format!(
        "| Detection | {} |\n| Time to mitigate | {} |\n| Time to resolve | {} |\n",
        i.detection.replace('_', " "),
        duration(pm.minutes_to_mitigate),
        duration(pm.minutes_to_resolve)
    ));
    if let (Some(bad), Some(good)) = (pm.bad_version, pm.good_version) {
        out.push_str(&format!(
            "| Bad version | {bad} |\n| Restored version | {good} |\n"
        ));
    }

    section(&mut out, "Summary", &pm.doc.summary);

    out.push_str("\n## Timeline\n\n");
    if pm.timeline.is_empty() {
        out.push_str("_Nothing recorded._\n");
    } else {
        out.push_str("| When (UTC) | Who | What |\n|---|---|---|\n");
        for e in &pm.timeline {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&e.at),
                cell(&e.actor),
                cell(&e.text)
            ));
        }
    }

    section(&mut out, "Root cause", &pm.doc.root_cause);
    if let (Some(diff), Some(bad), Some(good)) = (&pm.diff, pm.bad_version, pm.good_version) {
        out.push_str(&format!(
            "\nThe change that shipped (version {good} → version {bad}):\n\n```diff\n"
        ));
        let text = diff.to_unified(
            &format!("{}@{good}", i.prompt),
            &format!("{}@{bad}", i.prompt),
            false,
        );
        out.push_str(text.trim_end());
        out.push_str("\n```\n");
    }

    section(&mut out, "Impact", &pm.doc.impact);
    section(&mut out, "What went well", &pm.doc.went_well);
    section(&mut out, "What went badly", &pm.doc.went_badly);

    out.push_str("\n## Corrective actions\n\n");
    if pm.doc.actions.is_empty() {
        out.push_str("_None yet._\n");
    } else {
        out.push_str("| Action | Owner | Due | Status |\n|---|---|---|---|\n");
        for a in &pm.doc.actions {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&a.text),
                cell(if a.owner.is_empty() { "—" } else { &a.owner }),
                cell(if a.due.is_empty() { "—" } else { &a.due }),
                cell(&a.status)
            ));
        }
    }

    section(&mut out, "Preventive learning", &pm.doc.learning);
    if !pm.regression_cases.is_empty() {
        out.push_str(&format!(
            "\nRegression cases added to the prompt's suite from this postmortem ({}):\n\n",
            pm.regression_cases.len()
        ));
        for c in &pm.regression_cases {
            let asserts: Vec<String> = c.assertions.iter().map(|a| a.describe()).collect();
            out.push_str(&format!(
                "- {} — {}\n",
                c.label(),
                if asserts.is_empty() {
                    "no assertions".into()
                } else {
                    asserts.join("; ")
                }
            ));
        }
    }
    out
}
