//! Shared by the integration tests: rebuilding a new text from an old one and a diff.

use promptdesk_diff::{LineTag, TextDiff};

/// Applies a diff's hunks to `old`, checking that every context and deleted line matches the old
/// text at the line number the diff claims. Returns `None` when the diff does not apply.
pub fn apply(old: &str, diff: &TextDiff) -> Option<String> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next_old = 0;
    for hunk in &diff.hunks {
        let first_old = if hunk.old_len == 0 {
            hunk.old_start
        } else {
            hunk.old_start.checked_sub(1)?
        };
        if first_old < next_old {
            return None;
        }
        out.extend(old_lines.get(next_old..first_old)?.iter().copied());
        next_old = first_old;
        let mut new_count = 0;
        let mut old_count = 0;
        for line in &hunk.lines {
            let raw = format!("{}{}", line.text(), line.ending.as_str());
            match line.tag {
                LineTag::Equal | LineTag::Delete => {
                    if *old_lines.get(next_old)? != raw || line.old_line != Some(next_old + 1) {
                        return None;
                    }
                    next_old += 1;
                    old_count += 1;
                    if line.tag == LineTag::Equal {
                        new_count += 1;
                        out.push_str(&raw);
                    }
                }
                LineTag::Insert => {
                    new_count += 1;
                    out.push_str(&raw);
                }
            }
        }
        if (old_count, new_count) != (hunk.old_len, hunk.new_len) {
            return None;
        }
    }
    out.extend(old_lines.get(next_old..)?.iter().copied());
    Some(out)
}
