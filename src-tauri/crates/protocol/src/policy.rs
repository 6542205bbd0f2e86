//! Who may do what, and whether a label may move: the release policy as a pure function.
//!
//! The registry (and, later, the server) gathers the facts — the acting person's role, the
//! version's author and content hash, the approvals on record, the changelog, the time, the
//! test-suite result — into a [`Situation`], and [`check_release`] decides. Keeping the decision
//! free of storage means the desktop app, the CLI and the server enforce exactly the same rules,
//! and the table test in this module's tests pins them down.
//!
//! A decision never stops at the first problem: it lists every condition with its state, so a
//! refusal says exactly what is missing and the UI can show the whole checklist.

use serde::{Deserialize, Serialize};

/// A person's role. Each role can do everything the roles before it can.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Reviewer,
    Releaser,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Editor,
        Role::Reviewer,
        Role::Releaser,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Reviewer => "reviewer",
            Role::Releaser => "releaser",
            Role::Admin => "admin",
        }
    }

    /// "a reviewer", "an admin": for messages.
    pub fn with_article(self) -> String {
        match self {
            Role::Editor | Role::Admin => format!("an {self}"),
            _ => format!("a {self}"),
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Actions gated by role alone (releases and rollbacks also go through [`check_release`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    EditDraft,
    CommitVersion,
    RequestReview,
    Comment,
    Approve,
    RequestChanges,
    SetPolicy,
    SetRole,
}

impl Action {
    /// The least role that may take this action.
    pub fn minimum_role(self) -> Role {
        match self {
            Action::Comment => Role::Viewer,
            Action::EditDraft | Action::CommitVersion | Action::RequestReview => Role::Editor,
            Action::Approve | Action::RequestChanges => Role::Reviewer,
            Action::SetPolicy | Action::SetRole => Role::Admin,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Action::EditDraft => "edit drafts",
            Action::CommitVersion => "save versions",
            Action::RequestReview => "request reviews",
            Action::Comment => "comment on reviews",
            Action::Approve => "approve",
            Action::RequestChanges => "request changes",
            Action::SetPolicy => "change release policies",
            Action::SetRole => "assign roles",
        }
    }
}

/// Refuses `action` unless `role` is high enough, saying who may.
pub fn check_action(actor: &str, role: Role, action: Action) -> Result<(), String> {
    let needed = action.minimum_role();
    if role >= needed {
        Ok(())
    } else {
        Err(format!(
            "{actor} is {}; only {} or above may {}",
            role.with_article(),
            needed.with_article(),
            action.describe()
        ))
    }
}

/// Whether `actor` (holding `role`) may revoke a signing key of `owner`: owners revoke their
/// own keys (after rotating, on losing a machine), admins anyone's (a person leaving, a key
/// thought stolen). The same rule on the desktop and on the server.
pub fn check_key_revocation(actor: &str, role: Role, owner: &str) -> Result<(), String> {
    if actor == owner || role == Role::Admin {
        Ok(())
    } else {
        Err(format!(
            "{actor} is {}; a signing key of {owner} is revoked by {owner} or by an admin",
            role.with_article()
        ))
    }
}

/// A required test suite: the pass rate its latest complete run on the candidate must reach
/// and, with `no_regressions`, no case that passes on what the label serves now may fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SuiteRequirement {
    pub suite: String,
    /// Between 0 and 1.
    pub min_pass_rate: f64,
    #[serde(default)]
    pub no_regressions: bool,
}

/// A period in which a label may not be promoted (rollbacks stay allowed: an incident must
/// never wait for a freeze to end). RFC 3339 times (any offset; compared as instants, never as
/// text); `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct FreezeWindow {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

/// The release policy of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Policy {
    /// Approvals needed from distinct reviewers, none of them the version's author.
    pub required_approvals: u32,
    pub changelog_required: bool,
    pub required_suite: Option<SuiteRequirement>,
    /// The least role that may promote a version to this label.
    pub promote_role: Role,
    /// The least role that may roll this label back.
    pub rollback_role: Role,
    /// Whether a rollback needs the same approvals as a promotion. Off for `production` by
    /// default: during an incident the previous release is already known good.
    pub rollback_needs_approvals: bool,
    #[serde(default)]
    pub freeze_windows: Vec<FreezeWindow>,
}

impl Policy {
    /// What applies to a label nobody configured: `production` is protected, others are not.
    pub fn default_for(label: &str) -> Policy {
        if label == "production" {
            Policy {
                required_approvals: 1,
                changelog_required: true,
                required_suite: None,
                promote_role: Role::Releaser,
                rollback_role: Role::Releaser,
                rollback_needs_approvals: false,
                freeze_windows: Vec::new(),
            }
        } else {
            Policy::unprotected()
        }
    }

    /// Anyone who can edit may move the label; nothing else is asked.
    pub fn unprotected() -> Policy {
        Policy {
            required_approvals: 0,
            changelog_required: false,
            required_suite: None,
            promote_role: Role::Editor,
            rollback_role: Role::Editor,
            rollback_needs_approvals: false,
            freeze_windows: Vec::new(),
        }
    }

    /// A label is protected when moving it needs more than an editor's say-so.
    pub fn is_protected(&self) -> bool {
        self.required_approvals > 0
            || self.changelog_required
            || self.required_suite.is_some()
            || self.promote_role > Role::Editor
            || !self.freeze_windows.is_empty()
    }

    /// Refuses a policy that cannot work (a pass rate outside 0..1, a window that ends before
    /// it starts).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(s) = &self.required_suite {
            if s.suite.trim().is_empty() {
                return Err("a required test suite needs a name".into());
            }
            if !(0.0..=1.0).contains(&s.min_pass_rate) {
                return Err(format!(
                    "the minimum pass rate must be between 0 and 1 (got {})",
                    s.min_pass_rate
                ));
            }
        }
        if self.required_approvals > 20 {
            return Err("at most 20 approvals can be required".into());
        }
        for w in &self.freeze_windows {
            let (from, to) = w.instants()?;
            if to <= from {
                return Err(format!(
                    "freeze window {} → {} ends before it starts",
                    w.from, w.to
                ));
            }
        }
        Ok(())
    }
}

/// An RFC 3339 time as an instant, or what is wrong with it.
pub fn parse_instant(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("'{text}' is not an RFC 3339 time (like 2026-12-24T18:00:00Z)"))
}

impl FreezeWindow {
    /// Its start and end as instants.
    pub fn instants(&self) -> Result<(time::OffsetDateTime, time::OffsetDateTime), String> {
        let from = parse_instant(&self.from).map_err(|e| format!("freeze window start: {e}"))?;
        let to = parse_instant(&self.to).map_err(|e| format!("freeze window end: {e}"))?;
        Ok((from, to))
    }

    /// Whether `now` falls in the window. A window or a clock that cannot be read counts as in
    /// force: a freeze nobody can read must not let a release through.
    fn holds_at(&self, now: Result<time::OffsetDateTime, String>) -> bool {
        match (self.instants(), now) {
            (Ok((from, to)), Ok(now)) => from <= now && now < to,
            _ => true,
        }
    }
}

/// An approval on record: who decided, with which role at the time, for which content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ApprovalFact {
    pub reviewer: String,
    pub reviewer_role: Role,
    /// The content hash the approval is bound to.
    pub content_hash: String,
    /// The version number that hash had, for messages.
    pub version: u32,
}

/// What the gate knows of a suite on the candidate version: the run it counts (frozen into the
/// release record as evidence), its pass rate and failing cases, the cases that regressed
/// against the label's current version, or why no run counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SuiteResult {
    pub suite: String,
    pub content_hash: String,
    pub pass_rate: f64,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub passed: u32,
    #[serde(default)]
    pub total: u32,
    /// The failing cases, by label.
    #[serde(default)]
    pub failing: Vec<String>,
    /// Cases that pass on the label's current version and fail on the candidate.
    #[serde(default)]
    pub regressions: Vec<String>,
    /// The run of the label's current version the regressions were found against.
    #[serde(default)]
    pub baseline_run: Option<String>,
    #[serde(default)]
    pub baseline_version: Option<u32>,
    /// Why no run counts (never ran, still running, the suite changed since, …).
    #[serde(default)]
    pub problem: Option<String>,
    /// Who ran the run weighed: its outputs (the model's answers) are that runner's word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_by: Option<String>,
    /// Of its verdicts, how many come from checks anyone can run again on the stored outputs
    /// (the team server does, at release) …
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rerun_checks: u32,
    /// … and how many (model-graded rubrics, latency and cost limits) are taken as recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recorded_checks: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A promotion or rollback, and everything the policy looks at.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub label: &'a str,
    pub actor: &'a str,
    pub actor_role: Role,
    /// The version to be served: its number, content hash and author.
    pub version: u32,
    pub version_hash: &'a str,
    pub version_author: &'a str,
    pub changelog: &'a str,
    pub approvals: &'a [ApprovalFact],
    pub suite_results: &'a [SuiteResult],
    /// RFC 3339: the clock of whoever decides (the server's, for a release it accepts).
    pub now: &'a str,
    pub rollback: bool,
}

/// One condition of a policy and whether it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Condition {
    /// A stable identifier (`role`, `approvals`, `changelog`, `suite`, `freeze`).
    pub code: String,
    pub met: bool,
    /// Says what is required and, when unmet, what is missing.
    pub message: String,
}

/// Every condition, in a stable order; allowed when all are met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Decision {
    pub allowed: bool,
    pub conditions: Vec<Condition>,
    /// The reviewers whose approvals count towards this release.
    pub counted_approvals: Vec<String>,
    /// The eval evidence the suite condition weighed (its run id is what a release records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<SuiteResult>,
}

impl Decision {
    /// The unmet conditions' messages, one per line: what a refusal says.
    pub fn refusal(&self) -> String {
        self.conditions
            .iter()
            .filter(|c| !c.met)
            .map(|c| c.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn condition(code: &str, met: bool, message: String) -> Condition {
    Condition {
        code: code.into(),
        met,
        message,
    }
}

/// Decides whether `s` may happen under `policy`, listing every condition.
pub fn check_release(policy: &Policy, s: &Situation<'_>) -> Decision {
    let mut conditions = Vec::new();
    let mut evidence = None;
    let what = if s.rollback {
        "roll back"
    } else {
        "promote to"
    };

    let needed = if s.rollback {
        policy.rollback_role
    } else {
        policy.promote_role
    };
    conditions.push(condition(
        "role",
        s.actor_role >= needed,
        if s.actor_role >= needed {
            format!("{} ({}) may {what} {}", s.actor, s.actor_role, s.label)
        } else {
            format!(
                "{} is {}; only {} or above may {what} {}",
                s.actor,
                s.actor_role.with_article(),
                needed.with_article(),
                s.label
            )
        },
    ));

    // Approvals: distinct reviewers with a reviewer role, for exactly this content, never the
    // author of the content (approving your own change is no review).
    let approvals_apply = !s.rollback || policy.rollback_needs_approvals;
    let mut counted: Vec<String> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for a in s.approvals {
        if a.content_hash != s.version_hash {
            ignored.push(format!(
                "{} approved version {}, not version {}",
                a.reviewer, a.version, s.version
            ));
        } else if a.reviewer == s.version_author {
            ignored.push(format!(
                "{} wrote version {} and cannot approve it",
                a.reviewer, s.version
            ));
        } else if a.reviewer_role < Role::Reviewer {
            ignored.push(format!(
                "{} was {} when approving, not a reviewer",
                a.reviewer,
                a.reviewer_role.with_article()
            ));
        } else if !counted.contains(&a.reviewer) {
            counted.push(a.reviewer.clone());
        }
    }
    counted.sort();
    if approvals_apply && policy.required_approvals > 0 {
        let have = counted.len() as u32;
        let need = policy.required_approvals;
        let met = have >= need;
        let mut message = format!(
            "{need} approval{} of version {} from reviewers other than its author {}: {have} so far{}",
            if need == 1 { "" } else { "s" },
            s.version,
            s.version_author,
            if counted.is_empty() {
                String::new()
            } else {
                format!(" ({})", counted.join(", "))
            }
        );
        if !met && !ignored.is_empty() {
            message.push_str(&format!(" — not counted: {}", ignored.join("; ")));
        }
        conditions.push(condition("approvals", met, message));
    } else if s.rollback && policy.required_approvals > 0 {
        conditions.push(condition(
            "approvals",
            true,
            format!(
                "a rollback of {} needs no fresh approvals under its policy",
                s.label
            ),
        ));
    }

    let changelog_needed = policy.changelog_required || s.rollback;
    if changelog_needed {
        let met = !s.changelog.trim().is_empty();
        let noun = if s.rollback {
            "a reason"
        } else {
            "a changelog"
        };
        conditions.push(condition(
            "changelog",
            met,
            if met {
                format!("{noun} is given")
            } else {
                format!("{noun} is required to {what} {}", s.label)
            },
        ));
    }

    match &policy.required_suite {
        None => conditions.push(condition(
            "suite",
            true,
            "test suite: not configured for this label".into(),
        )),
        Some(_) if s.rollback => conditions.push(condition(
            "suite",
            true,
            "test suite: not required for a rollback to an earlier release".into(),
        )),
        Some(req) => {
            let result = s
                .suite_results
                .iter()
                .find(|r| r.suite == req.suite && r.content_hash == s.version_hash);
            let (met, message) = suite_condition(req, result, s.version);
            evidence = result.cloned();
            conditions.push(condition("suite", met, message));
        }
    }

    if !s.rollback {
        let now = parse_instant(s.now);
        if let Some(w) = policy
            .freeze_windows
            .iter()
            .find(|w| w.holds_at(now.clone()))
        {
            conditions.push(condition(
                "freeze",
                false,
                format!(
                    "{} is frozen until {}{}",
                    s.label,
                    w.to,
                    if w.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", w.reason)
                    }
                ),
            ));
        }
    }

    Decision {
        allowed: conditions.iter().all(|c| c.met),
        conditions,
        // A rollback that needs no approvals is not allowed by any: recording the approvals of
        // the version it returns to would read as if someone had signed off the rollback.
        counted_approvals: if approvals_apply { counted } else { Vec::new() },
        evidence,
    }
}

/// The suite condition: the run's pass rate against the requirement, the failing cases named,
/// and regressions against the label's current version when the policy forbids them.
fn suite_condition(
    req: &SuiteRequirement,
    result: Option<&SuiteResult>,
    version: u32,
) -> (bool, String) {
    let Some(r) = result else {
        return (
            false,
            format!("test suite {} has not run on version {version}", req.suite),
        );
    };
    if let Some(problem) = &r.problem {
        return (false, problem.clone());
    }
    let list = |labels: &[String]| {
        let mut s = labels
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if labels.len() > 10 {
            s.push_str(&format!("; and {} more", labels.len() - 10));
        }
        s
    };
    let rate_met = r.pass_rate + 1e-9 >= req.min_pass_rate;
    let mut message = format!(
        "test suite {} passed {}/{} ({:.0}%) on version {version} (needs {:.0}%)",
        req.suite,
        r.passed,
        r.total,
        r.pass_rate * 100.0,
        req.min_pass_rate * 100.0
    );
    if !rate_met && !r.failing.is_empty() {
        message.push_str(&format!("; failing: {}", list(&r.failing)));
    }
    let regressed = req.no_regressions && !r.regressions.is_empty();
    if regressed {
        message.push_str(&format!(
            "; {} case(s) that pass on version {} fail here: {}",
            r.regressions.len(),
            r.baseline_version.unwrap_or(0),
            list(&r.regressions)
        ));
    }
    (rate_met && !regressed, message)
}

#[cfg(test)]
mod tests;
