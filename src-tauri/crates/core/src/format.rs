//! The single-file prompt format: YAML front matter, then the template or the chat messages.
//!
//! ```text
//! ---
//! kind: chat                      # text (the default) or chat
//! description: Answers refund questions
//! tags: [support]
//! variables:
//!   customer_name: {type: string, required: true, description: First name}
//!   order_total: {type: number, default: 0}
//!   tone: string                  # shorthand: a type alone
//! model:
//!   provider: openai
//!   model: gpt-4o-mini
//!   parameters: {temperature: 0.2}
//! samples:
//!   happy-path: {customer_name: Ada, order_total: 42}
//! ---
//! === system ===
//! You are a support agent.
//! === user ===
//! {{ question }}
//! ```
//!
//! - A file without front matter is a text prompt; its variables are inferred from the template
//!   (each an optional string).
//! - Chat messages start at a line `=== role ===`. A message line that itself looks like such a
//!   marker is written with a leading backslash (`\=== user ===`) and read back without it.
//! - The body ends with the file: one final newline is dropped on reading and added on writing,
//!   so files end with a newline while templates keep exactly what was typed.
//! - Exported version files add `version:` (number, hash, parent, author, created_at, message)
//!   and `includes:` (pins) to the front matter.
//! - Variables keep their declaration order (it is part of the version's identity).

use std::collections::BTreeMap;

use promptdesk_content::{Body, ChatMessage, ModelSettings, PromptKind, VarType, Variable};
use serde_json::{Map, Value};
use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::error::{Error, Result};
use crate::model::Samples;

/// Recorded facts about an exported version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionMeta {
    pub number: u32,
    pub hash: String,
    pub parent: Option<String>,
    pub author: String,
    pub created_at: String,
    pub message: String,
}

/// A prompt file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptFile {
    pub kind: PromptKind,
    pub description: String,
    pub tags: Vec<String>,
    pub variables: Vec<Variable>,
    /// False when the file declared no variables and they were inferred from the template.
    pub variables_declared: bool,
    pub model: ModelSettings,
    pub samples: Samples,
    pub includes: BTreeMap<String, String>,
    pub version: Option<VersionMeta>,
    pub body: Body,
}

impl PromptFile {
    /// The file of a stored version: its content, and who made it when as `version`.
    pub fn of_version(v: &crate::model::Version) -> PromptFile {
        let mut f = PromptFile::new(v.content.body.clone());
        f.variables = v.content.variables.clone();
        f.model = v.content.model.clone();
        f.includes = v.content.includes.clone();
        f.version = Some(VersionMeta {
            number: v.number,
            hash: v.hash.clone(),
            parent: v.parent_hash.clone(),
            author: v.author.clone(),
            created_at: v.created_at.clone(),
            message: v.message.clone(),
        });
        f
    }

    pub fn new(body: Body) -> Self {
        PromptFile {
            kind: body.kind(),
            description: String::new(),
            tags: Vec::new(),
            variables: Vec::new(),
            variables_declared: true,
            model: ModelSettings::default(),
            samples: Samples::new(),
            includes: BTreeMap::new(),
            version: None,
            body,
        }
    }
}

const KNOWN_KEYS: &[&str] = &[
    "kind",
    "description",
    "tags",
    "variables",
    "model",
    "samples",
    "includes",
    "version",
];

/// Parses a prompt file. `origin` (a path) is used in error messages.
pub fn parse(text: &str, origin: &str) -> Result<PromptFile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (front, body_text, body_line) = split_front_matter(text, origin)?;
    let err = |msg: String| Error::bad(format!("{origin}: {msg}"));

    let mapping = match front {
        None => Mapping::new(),
        Some(front) => match serde_yaml_ng::from_str::<Yaml>(front) {
            Ok(Yaml::Mapping(m)) => m,
            Ok(Yaml::Null) => Mapping::new(),
            Ok(_) => {
                return Err(err(
                    "the front matter must be a set of `key: value` lines".into()
                ))
            }
            Err(e) => {
                let at = e
                    .location()
                    .map(|l| format!("line {}, column {}: ", l.line() + 1, l.column()))
                    .unwrap_or_default();
                return Err(err(format!("{at}the front matter is not valid YAML: {e}")));
            }
        },
    };
    for key in mapping.keys() {
        let key = key.as_str().unwrap_or("?");
        if !KNOWN_KEYS.contains(&key) {
            return Err(err(format!(
                "unknown front-matter key '{key}' (known keys: {})",
                KNOWN_KEYS.join(", ")
            )));
        }
    }
    let get = |k: &str| mapping.get(k).filter(|v| !v.is_null());

    let kind = match get("kind") {
        None => PromptKind::Text,
        Some(Yaml::String(s)) => PromptKind::parse(s)
            .ok_or_else(|| err(format!("kind must be text or chat, got '{s}'")))?,
        Some(_) => return Err(err("kind must be text or chat".into())),
    };
    let description = match get("description") {
        None => String::new(),
        Some(Yaml::String(s)) => s.clone(),
        Some(_) => return Err(err("description must be text".into())),
    };
    let tags = match get("tags") {
        None => Vec::new(),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .map(|t| scalar_string(t).ok_or_else(|| err("tags must be a list of words".into())))
            .collect::<Result<_>>()?,
        Some(_) => return Err(err("tags must be a list, like [support, refunds]".into())),
    };
    let (variables, variables_declared) = match get("variables") {
        None => (Vec::new(), false),
        Some(Yaml::Mapping(m)) => (parse_variables(m, origin)?, true),
        Some(_) => return Err(err(
            "variables must map each name to its type or to {type, required, default, description}"
                .into(),
        )),
    };
    let model = match get("model") {
        None => ModelSettings::default(),
        Some(v @ Yaml::Mapping(_)) => serde_yaml_ng::from_value::<ModelSettings>(v.clone())
            .map_err(|e| err(format!("model: {e}")))?,
        Some(_) => return Err(err("model must have provider, model and parameters".into())),
    };
    let samples = match get("samples") {
        None => Samples::new(),
        Some(Yaml::Mapping(m)) => {
            let mut out = Samples::new();
            for (name, inputs) in m {
                let name =
                    scalar_string(name).ok_or_else(|| err("sample names must be text".into()))?;
                match to_json(inputs).map_err(|e| err(format!("samples.{name}: {e}")))? {
                    Value::Object(o) => {
                        out.insert(name, o);
                    }
                    Value::Null => {
                        out.insert(name, Map::new());
                    }
                    _ => {
                        return Err(err(format!(
                            "samples.{name} must map variable names to values"
                        )))
                    }
                }
            }
            out
        }
        Some(_) => return Err(err("samples must map each sample name to its inputs".into())),
    };
    let includes = match get("includes") {
        None => BTreeMap::new(),
        Some(v) => serde_yaml_ng::from_value::<BTreeMap<String, String>>(v.clone())
            .map_err(|e| err(format!("includes: {e}")))?,
    };
    let version = match get("version") {
        None => None,
        Some(v) => Some(parse_version_meta(v).map_err(|m| err(format!("version: {m}")))?),
    };

    let body = match kind {
        PromptKind::Text => Body::Text {
            template: body_text.to_string(),
        },
        PromptKind::Chat => Body::Chat {
            messages: parse_messages(body_text, body_line, origin)?,
        },
    };
    let mut file = PromptFile {
        kind,
        description,
        tags,
        variables,
        variables_declared,
        model,
        samples,
        includes,
        version,
        body,
    };
    if !file.variables_declared {
        // A template that does not parse yet is still a valid draft: it simply declares
        // nothing until it does (committing it is what refuses the syntax error).
        let mut used = std::collections::BTreeSet::new();
        for (place, source) in file.body.templates() {
            let name = format!("{origin} ({place})");
            if let Ok(vars) = promptdesk_template::analysis::referenced_variables(&name, source) {
                used.extend(vars);
            }
        }
        file.variables = promptdesk_template::inputs::infer_schema(&used);
        let sources: Vec<&str> = file.body.templates().into_iter().map(|(_, s)| s).collect();
        for v in &mut file.variables {
            v.ty = guess_type(&sources, &v.name);
        }
    }
    Ok(file)
}

/// The type an undeclared variable most likely has, from how the template uses it: looped
/// over → list, `x.field` → object, else string. A guess only for files that declare nothing;
/// the writer can always declare the schema in front matter.
fn guess_type(sources: &[&str], name: &str) -> VarType {
    let n = regex::escape(name);
    let looped = regex::Regex::new(&format!(r"\{{%-?\s*for\s+[\w\s,]+\s+in\s+{n}\b"))
        .expect("static pattern");
    let field = regex::Regex::new(&format!(r"\b{n}\s*\.\s*[A-Za-z_]")).expect("static pattern");
    if sources.iter().any(|s| looped.is_match(s)) {
        VarType::List
    } else if sources.iter().any(|s| field.is_match(s)) {
        VarType::Object
    } else {
        VarType::String
    }
}

/// Splits off the front matter. Returns (front matter, body, line number where the body starts).
fn split_front_matter<'a>(
    text: &'a str,
    origin: &str,
) -> Result<(Option<&'a str>, &'a str, usize)> {
    let strip_final_newline = |s: &'a str| s.strip_suffix('\n').unwrap_or(s);
    let first_line_end = text.find('\n').map_or(text.len(), |i| i + 1);
    if text[..first_line_end].trim_end() != "---" {
        return Ok((None, strip_final_newline(text), 1));
    }
    let mut offset = first_line_end;
    for (line_no, line) in (2..).zip(text[first_line_end..].split_inclusive('\n')) {
        if line.trim_end() == "---" {
            let front = &text[first_line_end..offset];
            let body = &text[offset + line.len()..];
            return Ok((Some(front), strip_final_newline(body), line_no + 1));
        }
        offset += line.len();
    }
    Err(Error::bad(format!(
        "{origin}: the front matter starting on line 1 is never closed: add a line `---` after it"
    )))
}

fn is_marker(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("=== ")?.strip_suffix(" ===")?;
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .then_some(inner)
}

/// A line that would read as a marker (possibly already escaped) once leading backslashes go.
fn is_escaped_marker(line: &str) -> bool {
    let trimmed = line.trim_start_matches('\\');
    trimmed.len() < line.len() && is_marker(trimmed).is_some()
}

fn parse_messages(body: &str, first_line: usize, origin: &str) -> Result<Vec<ChatMessage>> {
    let mut messages: Vec<ChatMessage> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for (i, raw) in body.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(role) = is_marker(line) {
            if let Some((role, lines)) = current.take() {
                messages.push(finish_message(role, lines));
            }
            promptdesk_content::validate_role(role)
                .map_err(|e| Error::bad(format!("{origin}, line {}: {e}", first_line + i)))?;
            current = Some((role.to_string(), Vec::new()));
            continue;
        }
        match current.as_mut() {
            Some((_, lines)) => lines.push(if is_escaped_marker(line) { &raw[1..] } else { raw }),
            None if line.trim().is_empty() => {}
            None => {
                return Err(Error::bad(format!(
                    "{origin}, line {}: text before the first message; start each message with a line like `=== system ===`",
                    first_line + i
                )))
            }
        }
    }
    if let Some((role, lines)) = current.take() {
        messages.push(finish_message(role, lines));
    }
    Ok(messages)
}

/// The newline before the next marker belongs to the marker, so joining the lines between two
/// markers gives back exactly what was written.
fn finish_message(role: String, lines: Vec<&str>) -> ChatMessage {
    ChatMessage {
        role,
        template: lines.join("\n"),
    }
}

fn parse_variables(m: &Mapping, origin: &str) -> Result<Vec<Variable>> {
    let err = |name: &str, msg: String| Error::bad(format!("{origin}: variables.{name}: {msg}"));
    let mut out = Vec::new();
    for (name, spec) in m {
        let name = scalar_string(name)
            .ok_or_else(|| Error::bad(format!("{origin}: variable names must be text")))?;
        promptdesk_content::validate_variable_name(&name)
            .map_err(|e| Error::bad(format!("{origin}: {e}")))?;
        let parse_type = |s: &str| -> Result<VarType> {
            serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
                err(
                    &name,
                    format!("type must be string, number, boolean, list or object, got '{s}'"),
                )
            })
        };
        let var = match spec {
            Yaml::String(ty) => Variable {
                name: name.clone(),
                ty: parse_type(ty)?,
                required: false,
                default: None,
                description: None,
            },
            Yaml::Mapping(fields) => {
                for key in fields.keys() {
                    let key = key.as_str().unwrap_or("?");
                    if !["type", "required", "default", "description"].contains(&key) {
                        return Err(err(
                            &name,
                            format!(
                                "unknown field '{key}' (use type, required, default, description)"
                            ),
                        ));
                    }
                }
                let ty = match fields.get("type") {
                    Some(Yaml::String(t)) => parse_type(t)?,
                    None => VarType::String,
                    Some(_) => return Err(err(&name, "type must be a word such as string".into())),
                };
                let required = match fields.get("required") {
                    None | Some(Yaml::Null) => false,
                    Some(Yaml::Bool(b)) => *b,
                    Some(_) => return Err(err(&name, "required must be true or false".into())),
                };
                let default = match fields.get("default") {
                    None | Some(Yaml::Null) => None,
                    Some(v) => {
                        let v = to_json(v).map_err(|e| err(&name, e))?;
                        if !ty.accepts(&v) {
                            return Err(err(
                                &name,
                                format!("default must be a {ty}, got {}", VarType::name_of(&v)),
                            ));
                        }
                        Some(v)
                    }
                };
                let description = match fields.get("description") {
                    None | Some(Yaml::Null) => None,
                    Some(Yaml::String(s)) => Some(s.clone()),
                    Some(_) => return Err(err(&name, "description must be text".into())),
                };
                Variable {
                    name: name.clone(),
                    ty,
                    required,
                    default,
                    description,
                }
            }
            _ => {
                return Err(err(
                    &name,
                    "give a type (string) or {type, required, default, description}".into(),
                ))
            }
        };
        out.push(var);
    }
    Ok(out)
}

fn parse_version_meta(v: &Yaml) -> std::result::Result<VersionMeta, String> {
    let m = v.as_mapping().ok_or("must be a mapping")?;
    let text = |k: &str| -> std::result::Result<String, String> {
        m.get(k)
            .and_then(scalar_string)
            .ok_or_else(|| format!("'{k}' is missing"))
    };
    Ok(VersionMeta {
        number: m
            .get("number")
            .and_then(Yaml::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or("'number' must be a positive whole number")?,
        hash: text("hash")?,
        parent: m.get("parent").and_then(scalar_string),
        author: text("author")?,
        created_at: text("created_at")?,
        message: text("message")?,
    })
}

fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn to_json(v: &Yaml) -> std::result::Result<Value, String> {
    serde_json::to_value(v).map_err(|e| format!("cannot be represented as JSON: {e}"))
}

fn yaml(v: &Value) -> Yaml {
    serde_yaml_ng::to_value(v).unwrap_or(Yaml::Null)
}

/// Writes a prompt file. Keys come in a fixed order and maps are sorted, so the output is
/// stable and diffs well under version control.
pub fn write(file: &PromptFile) -> String {
    let mut front = Mapping::new();
    if let Some(meta) = &file.version {
        let mut m = Mapping::new();
        m.insert("number".into(), Yaml::Number(meta.number.into()));
        m.insert("hash".into(), meta.hash.clone().into());
        m.insert(
            "parent".into(),
            meta.parent.clone().map_or(Yaml::Null, Yaml::String),
        );
        m.insert("author".into(), meta.author.clone().into());
        m.insert("created_at".into(), meta.created_at.clone().into());
        m.insert("message".into(), meta.message.clone().into());
        front.insert("version".into(), Yaml::Mapping(m));
    }
    front.insert("kind".into(), file.kind.as_str().into());
    if !file.description.is_empty() {
        front.insert("description".into(), file.description.clone().into());
    }
    if !file.tags.is_empty() {
        front.insert(
            "tags".into(),
            Yaml::Sequence(file.tags.iter().cloned().map(Yaml::String).collect()),
        );
    }
    if !file.variables.is_empty() || file.variables_declared {
        let mut vars = Mapping::new();
        for v in &file.variables {
            let mut spec = Mapping::new();
            spec.insert("type".into(), v.ty.as_str().into());
            if v.required {
                spec.insert("required".into(), true.into());
            }
            if let Some(d) = &v.default {
                spec.insert("default".into(), yaml(d));
            }
            if let Some(d) = &v.description {
                spec.insert("description".into(), d.clone().into());
            }
            vars.insert(v.name.clone().into(), Yaml::Mapping(spec));
        }
        front.insert("variables".into(), Yaml::Mapping(vars));
    }
    if !file.model.is_empty() {
        let mut m = Mapping::new();
        m.insert("provider".into(), file.model.provider.clone().into());
        m.insert("model".into(), file.model.model.clone().into());
        let mut params = Mapping::new();
        for (k, v) in &file.model.parameters {
            params.insert(k.clone().into(), yaml(v));
        }
        m.insert("parameters".into(), Yaml::Mapping(params));
        front.insert("model".into(), Yaml::Mapping(m));
    }
    if !file.samples.is_empty() {
        let mut s = Mapping::new();
        for (name, inputs) in &file.samples {
            s.insert(name.clone().into(), yaml(&Value::Object(inputs.clone())));
        }
        front.insert("samples".into(), Yaml::Mapping(s));
    }
    if !file.includes.is_empty() {
        let mut inc = Mapping::new();
        for (k, v) in &file.includes {
            inc.insert(k.clone().into(), v.clone().into());
        }
        front.insert("includes".into(), Yaml::Mapping(inc));
    }

    let mut out = String::from("---\n");
    out.push_str(
        &serde_yaml_ng::to_string(&Yaml::Mapping(front)).expect("front matter serialises"),
    );
    out.push_str("---\n");
    match &file.body {
        Body::Text { template } => {
            out.push_str(template);
            out.push('\n');
        }
        Body::Chat { messages } => {
            for m in messages {
                out.push_str(&format!("=== {} ===\n", m.role));
                for (i, line) in m.template.split('\n').enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    let bare = line.strip_suffix('\r').unwrap_or(line);
                    if is_marker(bare).is_some() || is_escaped_marker(bare) {
                        out.push('\\');
                    }
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plain_template_is_a_text_prompt_with_inferred_variables() {
        let f = parse(
            "Hello {{ name }}, your order {{ order.id }} ships soon.\n",
            "hello.txt",
        )
        .unwrap();
        assert_eq!(f.kind, PromptKind::Text);
        assert_eq!(
            f.body,
            Body::Text {
                template: "Hello {{ name }}, your order {{ order.id }} ships soon.".into()
            }
        );
        let names: Vec<_> = f.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["name", "order"]);
        assert_eq!(f.variables[0].ty, VarType::String);
        assert_eq!(f.variables[1].ty, VarType::Object, "order.id reads a field");
        assert!(!f.variables_declared);
        let f = parse("{% for item in items %}{{ item }}{% endfor %}", "loop.txt").unwrap();
        assert_eq!(f.variables[0].ty, VarType::List);
    }

    #[test]
    fn front_matter_declares_kind_variables_model_and_samples() {
        let text = "---\nkind: chat\ndescription: Refunds\ntags: [support]\nvariables:\n  zeta: {type: string, required: true}\n  alpha: number\nmodel:\n  provider: openai\n  model: gpt-4o-mini\n  parameters: {temperature: 0.2}\nsamples:\n  happy: {zeta: hi, alpha: 2}\n---\n=== system ===\nBe kind.\n=== user ===\n{{ zeta }} {{ alpha }}\n";
        let f = parse(text, "p.prompt").unwrap();
        assert_eq!(f.kind, PromptKind::Chat);
        let names: Vec<_> = f.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"], "declaration order is kept");
        assert!(f.variables[0].required);
        assert_eq!(f.variables[1].ty, VarType::Number);
        assert_eq!(f.model.parameters["temperature"], json!(0.2));
        assert_eq!(f.samples["happy"]["alpha"], json!(2));
        match &f.body {
            Body::Chat { messages } => {
                assert_eq!(messages.len(), 2);
                assert_eq!(messages[0].template, "Be kind.");
                assert_eq!(messages[1].role, "user");
            }
            other => panic!("expected chat, got {other:?}"),
        }
        assert_eq!(parse(&write(&f), "again").unwrap(), f);
    }

    #[test]
    fn a_plain_template_that_does_not_parse_yet_is_still_a_draft() {
        let f = parse("Hello {{ name }\n", "wip.txt").unwrap();
        assert!(f.variables.is_empty());
        assert_eq!(
            f.body,
            Body::Text {
                template: "Hello {{ name }".into()
            }
        );
    }

    #[test]
    fn writing_then_reading_is_lossless_for_awkward_content() {
        let messages = vec![
            ChatMessage {
                role: "system".into(),
                template: "ends with newline\n".into(),
            },
            ChatMessage {
                role: "user".into(),
                template: "=== assistant ===\n\\=== user ===\n---\n".into(),
            },
            ChatMessage {
                role: "assistant".into(),
                template: String::new(),
            },
            ChatMessage {
                role: "user".into(),
                template: "\n\nx\r\ny".into(),
            },
        ];
        let mut f = PromptFile::new(Body::Chat { messages });
        f.variables = vec![Variable {
            name: "v".into(),
            ty: VarType::Object,
            required: false,
            default: Some(json!({"b": [1, 2.5, "x"], "a": null})),
            description: Some("multi\nline: yes".into()),
        }];
        let back = parse(&write(&f), "round-trip").unwrap();
        assert_eq!(back, f);
        let text = PromptFile::new(Body::Text {
            template: "---\nno final newline".into(),
        });
        assert_eq!(parse(&write(&text), "t").unwrap(), text);
    }

    #[test]
    fn malformed_files_get_errors_that_say_where() {
        let cases = [
            ("---\nkind: text\n", "never closed"),
            ("---\nkind: poem\n---\nx", "kind must be text or chat"),
            ("---\nmodle: {}\n---\nx", "unknown front-matter key 'modle'"),
            (
                "---\nvariables:\n  n: {type: str}\n---\nx",
                "variables.n: type must be",
            ),
            (
                "---\nvariables:\n  n: {type: number, default: abc}\n---\nx",
                "default must be a number",
            ),
            (
                "---\nkind: chat\n---\nhello\n=== user ===\nx",
                "line 4: text before the first message",
            ),
            ("---\nkind: [\n---\nx", "line 2"),
        ];
        for (text, expected) in cases {
            let err = parse(text, "f.prompt").unwrap_err().to_string();
            assert!(
                err.to_lowercase().contains(&expected.to_lowercase()),
                "for {text:?} expected '{expected}' in: {err}"
            );
        }
    }
}
