//! What a prompt version is made of, and how its identity is computed.
//!
//! Every other crate (templates, diffs, the registry store, the CLI, the desktop app) shares these
//! types, so they live in a crate with no dependencies beyond serde and SHA-256.
//!
//! # The canonical encoding (version identity)
//!
//! A version's identity is the lowercase hex SHA-256 of [`VersionContent::canonical_bytes`]:
//! the content serialised as JSON with
//! - object keys sorted by their UTF-8 bytes, at every depth (we sort ourselves, so no serde
//!   feature flag anywhere in the build can change the order);
//! - no insignificant whitespace; strings escaped as `serde_json` escapes them (only `"`, `\` and
//!   control characters; everything else is literal UTF-8);
//! - numbers as `serde_json` prints them (integers without a fraction, floats in shortest
//!   round-trip form);
//! - the top-level object `{"format":"promptdesk.version/1","body":…,"variables":…,"model":…,
//!   "includes":…}` where `body` is `{"kind":"text","template":…}` or
//!   `{"kind":"chat","messages":[{"role":…,"template":…},…]}`, `variables` is the schema in
//!   declaration order with every field present (`default` and `description` as `null` when
//!   unset), `model` is `{"provider":…,"model":…,"parameters":{…}}` and `includes` maps each
//!   include as written in a template to the hash of the exact version it was pinned to.
//!
//! Who wrote a version, when, its number, parent and changelog message are deliberately *not*
//! part of the identity: two people who produce the same content produce the same version, and
//! an approval bound to a hash covers exactly that content and nothing else.
//! Changing this encoding changes every hash; bump `format` if it ever has to happen.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The tag written into every canonical encoding. Part of the hash.
pub const CANONICAL_FORMAT: &str = "promptdesk.version/1";

/// Whether a prompt is one template (text) or an ordered list of role + template (chat).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, ts_rs::TS,
)]
#[serde(rename_all = "lowercase")]
pub enum PromptKind {
    Text,
    Chat,
}

impl PromptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Text => "text",
            PromptKind::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(PromptKind::Text),
            "chat" => Some(PromptKind::Chat),
            _ => None,
        }
    }
}

impl fmt::Display for PromptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a chat prompt: a role and the template of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ChatMessage {
    pub role: String,
    pub template: String,
}

/// The templated part of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Body {
    Text { template: String },
    Chat { messages: Vec<ChatMessage> },
}

impl Body {
    pub fn kind(&self) -> PromptKind {
        match self {
            Body::Text { .. } => PromptKind::Text,
            Body::Chat { .. } => PromptKind::Chat,
        }
    }

    /// An empty body of the given kind (a new prompt's first draft).
    pub fn empty(kind: PromptKind) -> Self {
        match kind {
            PromptKind::Text => Body::Text {
                template: String::new(),
            },
            PromptKind::Chat => Body::Chat {
                messages: Vec::new(),
            },
        }
    }

    /// Every template in the body with a human name for where it sits, in order.
    /// Text prompts have one, named "template"; chat messages are "message 1 (system)", ….
    pub fn templates(&self) -> Vec<(String, &str)> {
        match self {
            Body::Text { template } => vec![("template".to_string(), template.as_str())],
            Body::Chat { messages } => messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    (
                        format!("message {} ({})", i + 1, m.role),
                        m.template.as_str(),
                    )
                })
                .collect(),
        }
    }
}

/// The type of a declared variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    String,
    Number,
    Boolean,
    List,
    Object,
}

impl VarType {
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Number => "number",
            VarType::Boolean => "boolean",
            VarType::List => "list",
            VarType::Object => "object",
        }
    }

    /// Whether a JSON value has this type.
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (VarType::String, Value::String(_))
                | (VarType::Number, Value::Number(_))
                | (VarType::Boolean, Value::Bool(_))
                | (VarType::List, Value::Array(_))
                | (VarType::Object, Value::Object(_))
        )
    }

    /// The name of a JSON value's type, in the words of the schema ("string", "list", "null", …).
    pub fn name_of(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "list",
            Value::Object(_) => "object",
        }
    }
}

impl fmt::Display for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared variable of a prompt's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Variable {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: VarType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Which model a version is meant for, and with which parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct ModelSettings {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
}

impl ModelSettings {
    pub fn is_empty(&self) -> bool {
        self.provider.is_empty() && self.model.is_empty() && self.parameters.is_empty()
    }
}

/// Everything that makes up a version's content, and so its identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VersionContent {
    pub body: Body,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub model: ModelSettings,
    /// Each include as written in a template (`policies/refunds`, `policies/refunds@2`) → the
    /// hash of the version it was pinned to when this version was committed.
    #[serde(default)]
    pub includes: BTreeMap<String, String>,
}

impl VersionContent {
    pub fn kind(&self) -> PromptKind {
        self.body.kind()
    }

    /// The canonical encoding described in the crate docs.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut top = serde_json::Map::new();
        top.insert("format".into(), Value::from(CANONICAL_FORMAT));
        top.insert(
            "body".into(),
            serde_json::to_value(&self.body).expect("body serialises"),
        );
        let variables = self
            .variables
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name,
                    "type": v.ty.as_str(),
                    "required": v.required,
                    "default": v.default.clone().unwrap_or(Value::Null),
                    "description": v.description.clone().map(Value::from).unwrap_or(Value::Null),
                })
            })
            .collect();
        top.insert("variables".into(), Value::Array(variables));
        top.insert(
            "model".into(),
            serde_json::to_value(&self.model).expect("model settings serialise"),
        );
        top.insert(
            "includes".into(),
            serde_json::to_value(&self.includes).expect("includes serialise"),
        );
        let mut out = Vec::with_capacity(256);
        write_canonical(&Value::Object(top), &mut out);
        out
    }

    /// The version's identity: lowercase hex SHA-256 of the canonical encoding.
    pub fn content_hash(&self) -> String {
        sha256_hex(&self.canonical_bytes())
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes a JSON value with keys sorted at every depth and no whitespace.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(
                    serde_json::to_string(k)
                        .expect("string serialises")
                        .as_bytes(),
                );
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(
            serde_json::to_string(scalar)
                .expect("scalar serialises")
                .as_bytes(),
        ),
    }
}

/// The result of rendering a version: one text, or the chat messages with their content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Rendered {
    Text { text: String },
    Chat { messages: Vec<RenderedMessage> },
}

/// One rendered chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RenderedMessage {
    pub role: String,
    pub content: String,
}

impl Rendered {
    /// A plain-text form: the text itself, or each message as `[role]` then its content.
    pub fn to_plain_text(&self) -> String {
        match self {
            Rendered::Text { text } => text.clone(),
            Rendered::Chat { messages } => {
                let mut out = String::new();
                for (i, m) in messages.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push('[');
                    out.push_str(&m.role);
                    out.push_str("]\n");
                    out.push_str(&m.content);
                    if !m.content.ends_with('\n') {
                        out.push('\n');
                    }
                }
                out
            }
        }
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub what: &'static str,
    pub name: String,
    pub reason: String,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} '{}': {}", self.what, self.name, self.reason)
    }
}

impl std::error::Error for InvalidName {}

/// Longest prompt name accepted, in bytes.
pub const MAX_PROMPT_NAME_LEN: usize = 200;

/// Checks a prompt name: folders separated by `/` (`support/refund-reply`); each part starts with
/// a lowercase letter or digit and continues with lowercase letters, digits, `-`, `_` or `.`.
/// `@` is excluded because it separates a name from a ref (`name@3`).
pub fn validate_prompt_name(name: &str) -> Result<(), InvalidName> {
    let refuse = |reason: String| {
        Err(InvalidName {
            what: "prompt name",
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("a name cannot be empty".into());
    }
    if name.len() > MAX_PROMPT_NAME_LEN {
        return refuse(format!("longer than {MAX_PROMPT_NAME_LEN} characters"));
    }
    for (i, part) in name.split('/').enumerate() {
        if part.is_empty() {
            return refuse(if i == 0 {
                "it cannot start with '/'".into()
            } else {
                "folders are separated by a single '/' and the name cannot end with '/'".into()
            });
        }
        let mut chars = part.chars();
        let first = chars.next().unwrap_or(' ');
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return refuse(format!(
                "'{part}' must start with a lowercase letter or a digit"
            ));
        }
        if let Some(bad) = part
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(*c)))
        {
            return refuse(format!(
                "'{bad}' is not allowed; use lowercase letters, digits, '-', '_', '.' and '/' between folders"
            ));
        }
    }
    Ok(())
}

/// Checks a label name against `^[a-z][a-z0-9_.-]{0,35}$`.
pub fn validate_label_name(name: &str) -> Result<(), InvalidName> {
    let refuse = |reason: &str| {
        Err(InvalidName {
            what: "label",
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return refuse("a label cannot be empty"),
        Some(c) if !c.is_ascii_lowercase() => {
            return refuse("it must start with a lowercase letter")
        }
        _ => {}
    }
    if name.len() > 36 {
        return refuse("at most 36 characters");
    }
    if chars.any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))) {
        return refuse("use lowercase letters, digits, '_', '.' and '-' only");
    }
    Ok(())
}

/// Checks a variable name: a Jinja identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn validate_variable_name(name: &str) -> Result<(), InvalidName> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            what: "variable name",
            name: name.to_string(),
            reason: "use letters, digits and '_', starting with a letter or '_' (at most 64)"
                .into(),
        })
    }
}

/// Checks a chat role: a lowercase word such as `system`, `user`, `assistant`.
pub fn validate_role(role: &str) -> Result<(), InvalidName> {
    let ok = !role.is_empty()
        && role.len() <= 32
        && role.starts_with(|c: char| c.is_ascii_lowercase())
        && role.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            what: "chat role",
            name: role.to_string(),
            reason: "use a lowercase word such as system, user or assistant".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> VersionContent {
        VersionContent {
            body: Body::Chat {
                messages: vec![
                    ChatMessage {
                        role: "system".into(),
                        template: "You are kind.".into(),
                    },
                    ChatMessage {
                        role: "user".into(),
                        template: "{{ question }}".into(),
                    },
                ],
            },
            variables: vec![Variable {
                name: "question".into(),
                ty: VarType::String,
                required: true,
                default: None,
                description: Some("what the customer asked".into()),
            }],
            model: ModelSettings {
                provider: "openai".into(),
                model: "gpt-4o-mini".into(),
                parameters: [("temperature".to_string(), json!(0.2))].into(),
            },
            includes: BTreeMap::new(),
        }
    }

    #[test]
    fn canonical_encoding_sorts_keys_and_has_no_whitespace() {
        let bytes = String::from_utf8(sample().canonical_bytes()).unwrap();
        assert_eq!(
            bytes,
            r#"{"body":{"kind":"chat","messages":[{"role":"system","template":"You are kind."},{"role":"user","template":"{{ question }}"}]},"format":"promptdesk.version/1","includes":{},"model":{"model":"gpt-4o-mini","parameters":{"temperature":0.2},"provider":"openai"},"variables":[{"default":null,"description":"what the customer asked","name":"question","required":true,"type":"string"}]}"#
        );
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        // If this changes, every stored version stops verifying: bump CANONICAL_FORMAT instead.
        assert_eq!(
            sample().content_hash(),
            sha256_hex(&sample().canonical_bytes())
        );
        assert_eq!(sample().content_hash().len(), 64);
        let text = VersionContent {
            body: Body::Text {
                template: "Hello {{ name }}".into(),
            },
            variables: vec![],
            model: ModelSettings::default(),
            includes: BTreeMap::new(),
        };
        assert_eq!(
            String::from_utf8(text.canonical_bytes()).unwrap(),
            r#"{"body":{"kind":"text","template":"Hello {{ name }}"},"format":"promptdesk.version/1","includes":{},"model":{"model":"","parameters":{},"provider":""},"variables":[]}"#
        );
    }

    #[test]
    fn any_change_of_content_changes_the_hash() {
        let base = sample();
        let mut other = sample();
        other
            .model
            .parameters
            .insert("temperature".into(), json!(0.3));
        assert_ne!(base.content_hash(), other.content_hash());
        let mut other = sample();
        other.variables[0].required = false;
        assert_ne!(base.content_hash(), other.content_hash());
        let mut other = sample();
        other
            .includes
            .insert("policies/refunds".into(), "ab".repeat(32));
        assert_ne!(base.content_hash(), other.content_hash());
    }

    #[test]
    fn nested_parameter_keys_are_sorted_too() {
        let mut out = Vec::new();
        write_canonical(
            &json!({"b": {"z": 1, "a": [{"y": 2, "x": 1}]}, "a": "é\n"}),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"é\n","b":{"a":[{"x":1,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn prompt_names_allow_folders_and_refuse_the_rest() {
        for ok in [
            "support/refund-reply",
            "a",
            "policies/refunds",
            "x1/y_2/z.3",
        ] {
            assert!(validate_prompt_name(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "Support/x",
            "a b",
            "a@b",
            "-a",
            "a/.hidden",
        ] {
            assert!(
                validate_prompt_name(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let err = validate_prompt_name("Refund Reply")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Refund Reply") && err.contains("lowercase"),
            "{err}"
        );
    }

    #[test]
    fn label_names_follow_the_documented_pattern() {
        for ok in [
            "latest",
            "production",
            "staging",
            "a",
            "v1.2_rc-3",
            &"a".repeat(36),
        ] {
            assert!(validate_label_name(ok).is_ok(), "{ok} should be valid");
        }
        for bad in ["", "1abc", "Prod", "a b", "-x", &"a".repeat(37), "prod/1"] {
            assert!(
                validate_label_name(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
