//! The one check of a label name that a person may move, review or release: a valid name, and
//! not one of the labels Promptdesk moves itself.

use promptdesk_content::validate_label_name;

/// Labels that name something other than a movable pointer and so cannot be set by hand.
pub const RESERVED_LABELS: &[&str] = &["latest", "draft"];

/// Refuses a label that is not a valid name, or that is reserved, saying why.
pub fn check_movable(label: &str) -> Result<(), String> {
    validate_label_name(label).map_err(|e| e.to_string())?;
    if RESERVED_LABELS.contains(&label) {
        return Err(format!(
            "'{label}' is reserved: Promptdesk moves it itself (latest follows every commit, \
             draft is the working copy), so it is never set, reviewed or released by hand"
        ));
    }
    Ok(())
}
