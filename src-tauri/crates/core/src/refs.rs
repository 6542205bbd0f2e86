//! `NAME@REF` parsing. A ref is a version number (`@3`), a label (`@production`), the draft
//! (`@draft`), or a hash prefix written so that it cannot be read as either (`@#3fa9c1` or
//! `@sha256:3fa9c1`, at least 4 hex digits).

use std::fmt;

use promptdesk_content::{validate_label_name, validate_prompt_name};

use crate::error::{Error, Result};

pub use promptdesk_protocol::labels::RESERVED_LABELS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// The prompt's working copy.
    Draft,
    Number(u32),
    Label(String),
    HashPrefix(String),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Draft => f.write_str("draft"),
            Ref::Number(n) => write!(f, "{n}"),
            Ref::Label(l) => f.write_str(l),
            Ref::HashPrefix(h) => write!(f, "#{h}"),
        }
    }
}

impl Ref {
    pub fn parse(text: &str) -> Result<Ref> {
        if text == "draft" {
            return Ok(Ref::Draft);
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Ref::Number(n)),
                _ => Err(Error::bad(format!(
                    "'{text}' is not a valid version number (versions are numbered from 1)"
                ))),
            };
        }
        if let Some(hex) = text
            .strip_prefix('#')
            .or_else(|| text.strip_prefix("sha256:"))
        {
            let hex = hex.to_ascii_lowercase();
            if hex.len() >= 4 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(Ref::HashPrefix(hex));
            }
            return Err(Error::bad(format!(
                "'{text}' is not a hash prefix: write at least 4 hex digits after '#', like #3fa9c1"
            )));
        }
        if validate_label_name(text).is_ok() {
            return Ok(Ref::Label(text.to_string()));
        }
        Err(Error::bad(format!(
            "'{text}' is not a version number (3), a label (production) or a hash (#3fa9c1)"
        )))
    }
}

/// Splits `NAME@REF` (or `NAME`) and checks both parts.
pub fn parse_spec(spec: &str) -> Result<(String, Option<Ref>)> {
    let (name, reference) = match spec.split_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (spec, None),
    };
    validate_prompt_name(name)?;
    let reference = reference
        .map(|r| {
            if r.is_empty() {
                Err(Error::bad(format!(
                    "'{spec}' ends with '@': add a version number, a label or a hash after it"
                )))
            } else {
                Ref::parse(r)
            }
        })
        .transpose()?;
    Ok((name.to_string(), reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_numbers_labels_drafts_or_marked_hashes() {
        assert_eq!(Ref::parse("3").unwrap(), Ref::Number(3));
        assert_eq!(
            Ref::parse("production").unwrap(),
            Ref::Label("production".into())
        );
        assert_eq!(Ref::parse("draft").unwrap(), Ref::Draft);
        assert_eq!(
            Ref::parse("#3FA9c1").unwrap(),
            Ref::HashPrefix("3fa9c1".into())
        );
        assert_eq!(
            Ref::parse("sha256:abcd").unwrap(),
            Ref::HashPrefix("abcd".into())
        );
        // A hex-looking word is a label: hashes must be marked.
        assert_eq!(
            Ref::parse("deadbeef").unwrap(),
            Ref::Label("deadbeef".into())
        );
    }

    #[test]
    fn bad_refs_say_what_forms_are_accepted() {
        for bad in ["0", "#12", "#xyz1", "Prod", "a b", "99999999999"] {
            let err = Ref::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn specs_split_at_the_at_sign() {
        assert_eq!(
            parse_spec("support/refund-reply@2").unwrap(),
            ("support/refund-reply".into(), Some(Ref::Number(2)))
        );
        assert_eq!(parse_spec("a").unwrap(), ("a".into(), None));
        assert!(parse_spec("a@")
            .unwrap_err()
            .to_string()
            .contains("ends with '@'"));
        assert!(parse_spec("Bad Name@1").is_err());
    }
}
