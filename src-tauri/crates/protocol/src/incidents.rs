//! What people write about an incident, as it syncs: the choices an incident's fields take and
//! the postmortem document. How incidents are opened, timed and linked to releases is the
//! registry's (`core/src/incidents/`).

use serde::{Deserialize, Serialize};

pub const SEVERITIES: &[&str] = &["SEV1", "SEV2", "SEV3", "SEV4"];
pub const STATUSES: &[&str] = &["investigating", "mitigated", "resolved"];
pub const DETECTIONS: &[&str] = &["user_reports", "monitoring", "eval", "other"];

/// A corrective action of a postmortem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ActionItem {
    #[serde(default)]
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub owner: String,
    /// YYYY-MM-DD, or empty.
    #[serde(default)]
    pub due: String,
    /// open or done.
    #[serde(default = "open")]
    pub status: String,
}

fn open() -> String {
    "open".into()
}

impl Default for ActionItem {
    fn default() -> Self {
        ActionItem {
            id: String::new(),
            text: String::new(),
            owner: String::new(),
            due: String::new(),
            status: open(),
        }
    }
}

/// What people write in a postmortem (the rest is computed from the registry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct PostmortemDoc {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub root_cause: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub went_well: String,
    #[serde(default)]
    pub went_badly: String,
    #[serde(default)]
    pub learning: String,
    #[serde(default)]
    pub actions: Vec<ActionItem>,
}
