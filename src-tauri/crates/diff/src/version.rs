//! The structure-aware diff of two prompt versions: what a reviewer signs off on.
//!
//! Everything that is part of a version's identity (see `promptdesk_content`) shows up here, so
//! that two versions with different hashes never produce an empty diff: the body (one template,
//! or chat messages aligned as whole messages), the variable schema by name (including its
//! declaration order, which the hash covers), the model settings key by key with nested
//! parameters flattened to dotted paths, and the pinned includes. The rendered output for some
//! chosen inputs can be attached with [`VersionDiff::with_rendered`].
//!
//! One deadline covers the whole diff; see [`crate::DiffOptions`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promptdesk_content::{
    Body, ModelSettings, PromptKind, Rendered, RenderedMessage, Variable, VersionContent,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::{capture_diff_slices, Algorithm, DiffOp};

use crate::messages::{diff_messages, Message, MessageChange};
use crate::options::{Budget, DiffOptions};
use crate::text::{diff_text_within, TextDiff};

/// What happened to one item (message, variable, setting, include).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, different.
    Changed,
    /// In both, identical, at another place (messages; variables whose only change is their
    /// position).
    Moved,
    /// In both, identical (listed for chat messages so the whole conversation can be shown).
    Unchanged,
}

/// The prompt changed from text to chat or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct KindChange {
    /// The old version's kind.
    pub old: PromptKind,
    /// The new version's kind.
    pub new: PromptKind,
}

/// A field of a declared variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum VariableField {
    /// The variable's type (`string`, `number`, …).
    Type,
    /// Whether a value must be given.
    Required,
    /// The value used when none is given.
    Default,
    /// The help text.
    Description,
    /// 1-based place in the declaration order (the order is part of the version's identity).
    Position,
}

/// One field of a variable, before and after. `None` means unset (or, for an added or removed
/// variable, absent on that side). A default of JSON `null` counts as unset, as in the
/// canonical encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct FieldChange {
    /// Which field.
    pub field: VariableField,
    /// The old value; left out of the JSON when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The new value; left out of the JSON when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// What happened to one declared variable, matched by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VariableChange {
    /// The variable's name.
    pub name: String,
    /// added, removed, changed, or moved (only its position in the declaration order changed).
    pub status: ChangeStatus,
    /// The fields that differ; for an added or removed variable, every field that is set.
    pub fields: Vec<FieldChange>,
}

/// One model setting, before and after: `provider`, `model`, or `parameters.<key>` with nested
/// objects flattened to dotted paths (`parameters.response_format.type`). Keys that are not
/// plain identifiers are quoted: `parameters["a.b"]`. Arrays compare as whole values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SettingChange {
    /// The setting's path.
    pub key: String,
    /// added, removed or changed.
    pub status: ChangeStatus,
    /// The old value; left out of the JSON when unset (a JSON `null` here is a parameter set to
    /// null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The new value; left out of the JSON when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// What happened to one include pin (an include as written in a template → the hash of the
/// version it is pinned to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct IncludeChange {
    /// The include as written (`policies/refunds`, `policies/refunds@2`).
    pub include: String,
    /// added, removed or changed (pinned to another version).
    pub status: ChangeStatus,
    /// The hash it was pinned to.
    pub old_hash: Option<String>,
    /// The hash it is pinned to now.
    pub new_hash: Option<String>,
}

/// The difference between the rendered outputs of two versions for the same inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RenderedDiff {
    /// Set when one output is text and the other chat.
    pub kind: Option<KindChange>,
    /// Both text: the diff of the texts. Kinds differ: the diff of their plain-text forms
    /// (`[role]` lines before each message). `None` when equal or both chat.
    pub text: Option<TextDiff>,
    /// Both chat: the aligned messages, unchanged ones included.
    pub messages: Vec<MessageChange>,
    /// True when the deadline made any part coarser (see [`TextDiff::coarse`]).
    pub coarse: bool,
}

impl RenderedDiff {
    /// Whether the two outputs are identical.
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.text.as_ref().is_none_or(TextDiff::is_empty)
            && self
                .messages
                .iter()
                .all(|m| m.status == ChangeStatus::Unchanged)
    }
}

/// Everything that differs between two versions of a prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VersionDiff {
    /// Set when the prompt changed from text to chat or back. The body then shows as removed on
    /// one side and added on the other (`template` all deleted and `messages` all added, or the
    /// reverse).
    pub kind: Option<KindChange>,
    /// The template diff of a text prompt; `None` when equal (or both chat).
    pub template: Option<TextDiff>,
    /// The aligned messages of a chat prompt, unchanged ones included, in display order.
    pub messages: Vec<MessageChange>,
    /// Declared variables that differ, in the new declaration order (removed ones last).
    pub variables: Vec<VariableChange>,
    /// Model settings that differ: provider, model, then parameters by path.
    pub model: Vec<SettingChange>,
    /// Include pins that differ, by include.
    pub includes: Vec<IncludeChange>,
    /// The rendered outputs' diff, when attached with [`VersionDiff::with_rendered`].
    pub rendered: Option<RenderedDiff>,
    /// True when the deadline made any part coarser (see [`TextDiff::coarse`]).
    pub coarse: bool,
}

impl VersionDiff {
    /// Whether the two versions have the same content (and, if attached, the same rendered
    /// output).
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.template.as_ref().is_none_or(TextDiff::is_empty)
            && self
                .messages
                .iter()
                .all(|m| m.status == ChangeStatus::Unchanged)
            && self.variables.is_empty()
            && self.model.is_empty()
            && self.includes.is_empty()
            && self.rendered.as_ref().is_none_or(RenderedDiff::is_empty)
    }

    /// Attaches the diff of the rendered outputs (see [`diff_rendered`]).
    pub fn with_rendered(mut self, rendered: RenderedDiff) -> Self {
        self.coarse |= rendered.coarse;
        self.rendered = Some(rendered);
        self
    }
}

/// Diffs two versions part by part, within one deadline for the whole diff.
pub fn diff_versions(
    old: &VersionContent,
    new: &VersionContent,
    opts: &DiffOptions,
) -> VersionDiff {
    let budget = Budget::start(opts);
    let mut out = VersionDiff::default();
    let mut coarse = false;

    if old.kind() != new.kind() {
        out.kind = Some(KindChange {
            old: old.kind(),
            new: new.kind(),
        });
    }
    let old_messages = chat_messages(&old.body);
    let new_messages = chat_messages(&new.body);
    let old_template = text_template(&old.body);
    let new_template = text_template(&new.body);
    if old_template.is_some() || new_template.is_some() {
        let diff = diff_text_within(
            old_template.unwrap_or(""),
            new_template.unwrap_or(""),
            &budget,
        );
        coarse |= diff.coarse;
        out.template = (!diff.is_empty()).then_some(diff);
    }
    if old_messages.is_some() || new_messages.is_some() {
        let (messages, aligned_coarse) = diff_messages(
            old_messages.as_deref().unwrap_or(&[]),
            new_messages.as_deref().unwrap_or(&[]),
            &budget,
        );
        coarse |= aligned_coarse || messages.iter().any(|m| m.diff.coarse);
        out.messages = messages;
    }
    out.variables = diff_variables(&old.variables, &new.variables);
    out.model = diff_model(&old.model, &new.model);
    out.includes = diff_includes(&old.includes, &new.includes);
    out.coarse = coarse;
    out
}

/// Diffs the rendered outputs of two versions (for the same inputs), within its own deadline.
pub fn diff_rendered(old: &Rendered, new: &Rendered, opts: &DiffOptions) -> RenderedDiff {
    let budget = Budget::start(opts);
    match (old, new) {
        (Rendered::Text { text: a }, Rendered::Text { text: b }) => {
            let diff = diff_text_within(a, b, &budget);
            RenderedDiff {
                coarse: diff.coarse,
                text: (!diff.is_empty()).then_some(diff),
                ..RenderedDiff::default()
            }
        }
        (Rendered::Chat { messages: a }, Rendered::Chat { messages: b }) => {
            let (messages, aligned_coarse) =
                diff_messages(&rendered_messages(a), &rendered_messages(b), &budget);
            RenderedDiff {
                coarse: aligned_coarse || messages.iter().any(|m| m.diff.coarse),
                messages,
                ..RenderedDiff::default()
            }
        }
        _ => {
            let diff = diff_text_within(&old.to_plain_text(), &new.to_plain_text(), &budget);
            RenderedDiff {
                kind: Some(KindChange {
                    old: rendered_kind(old),
                    new: rendered_kind(new),
                }),
                coarse: diff.coarse,
                text: Some(diff),
                messages: Vec::new(),
            }
        }
    }
}

fn rendered_kind(r: &Rendered) -> PromptKind {
    match r {
        Rendered::Text { .. } => PromptKind::Text,
        Rendered::Chat { .. } => PromptKind::Chat,
    }
}

fn rendered_messages(list: &[RenderedMessage]) -> Vec<Message<'_>> {
    list.iter()
        .map(|m| Message {
            role: &m.role,
            text: &m.content,
        })
        .collect()
}

fn text_template(body: &Body) -> Option<&str> {
    match body {
        Body::Text { template } => Some(template),
        Body::Chat { .. } => None,
    }
}

fn chat_messages(body: &Body) -> Option<Vec<Message<'_>>> {
    match body {
        Body::Chat { messages } => Some(
            messages
                .iter()
                .map(|m| Message {
                    role: &m.role,
                    text: &m.template,
                })
                .collect(),
        ),
        Body::Text { .. } => None,
    }
}

/// The set fields of a variable, in display order.
fn variable_fields(v: &Variable) -> Vec<(VariableField, Option<Value>)> {
    vec![
        (VariableField::Type, Some(Value::from(v.ty.as_str()))),
        (VariableField::Required, Some(Value::Bool(v.required))),
        (
            VariableField::Default,
            v.default.clone().filter(|d| !d.is_null()),
        ),
        (
            VariableField::Description,
            v.description.clone().map(Value::from),
        ),
    ]
}

/// Variables keyed by name; a repeated name (invalid, but not ours to reject) is keyed by its
/// occurrence so nothing is silently dropped.
fn keyed_variables(vars: &[Variable]) -> Vec<(String, &Variable)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    vars.iter()
        .map(|v| {
            let n = seen.entry(v.name.as_str()).or_insert(0);
            *n += 1;
            let key = if *n == 1 {
                v.name.clone()
            } else {
                format!("{} (#{n})", v.name)
            };
            (key, v)
        })
        .collect()
}

fn diff_variables(old: &[Variable], new: &[Variable]) -> Vec<VariableChange> {
    let old_keyed = keyed_variables(old);
    let new_keyed = keyed_variables(new);
    let old_by_key: HashMap<&str, (usize, &Variable)> = old_keyed
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (k.as_str(), (i, *v)))
        .collect();
    let new_keys: BTreeSet<&str> = new_keyed.iter().map(|(k, _)| k.as_str()).collect();

    // Variables kept on both sides whose relative order changed: the ones a sequence diff of the
    // common names cannot keep in place.
    let common_old: Vec<&str> = old_keyed
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| new_keys.contains(k))
        .collect();
    let common_new: Vec<&str> = new_keyed
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| old_by_key.contains_key(k))
        .collect();
    let mut moved: BTreeSet<&str> = BTreeSet::new();
    if common_old != common_new {
        for op in capture_diff_slices(Algorithm::Myers, &common_old, &common_new) {
            if !matches!(op, DiffOp::Equal { .. }) {
                moved.extend(common_new[op.new_range()].iter().copied());
            }
        }
    }

    let mut out = Vec::new();
    for (new_pos, (key, new_var)) in new_keyed.iter().enumerate() {
        let Some(&(old_pos, old_var)) = old_by_key.get(key.as_str()) else {
            out.push(VariableChange {
                name: key.clone(),
                status: ChangeStatus::Added,
                fields: variable_fields(new_var)
                    .into_iter()
                    .filter(|(_, v)| v.is_some())
                    .map(|(field, v)| FieldChange {
                        field,
                        old: None,
                        new: v,
                    })
                    .collect(),
            });
            continue;
        };
        let mut fields: Vec<FieldChange> = variable_fields(old_var)
            .into_iter()
            .zip(variable_fields(new_var))
            .filter(|((_, a), (_, b))| a != b)
            .map(|((field, a), (_, b))| FieldChange {
                field,
                old: a,
                new: b,
            })
            .collect();
        let is_moved = moved.contains(key.as_str());
        if is_moved {
            fields.push(FieldChange {
                field: VariableField::Position,
                old: Some(Value::from(old_pos + 1)),
                new: Some(Value::from(new_pos + 1)),
            });
        }
        if fields.is_empty() {
            continue;
        }
        let only_moved = fields.len() == 1 && is_moved;
        out.push(VariableChange {
            name: key.clone(),
            status: if only_moved {
                ChangeStatus::Moved
            } else {
                ChangeStatus::Changed
            },
            fields,
        });
    }
    for (key, old_var) in &old_keyed {
        if !new_keys.contains(key.as_str()) {
            out.push(VariableChange {
                name: key.clone(),
                status: ChangeStatus::Removed,
                fields: variable_fields(old_var)
                    .into_iter()
                    .filter(|(_, v)| v.is_some())
                    .map(|(field, v)| FieldChange {
                        field,
                        old: v,
                        new: None,
                    })
                    .collect(),
            });
        }
    }
    out
}

/// Nesting deeper than this is compared as one value (keeps recursion bounded on any input).
const MAX_FLATTEN_DEPTH: usize = 32;

/// A settings path segment: plain identifiers as they are, anything else quoted.
fn path_segment(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", Value::from(key))
    }
}

fn flatten(path: String, value: &Value, depth: usize, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() && depth < MAX_FLATTEN_DEPTH => {
            for (k, v) in map {
                flatten(format!("{path}{}", path_segment(k)), v, depth + 1, out);
            }
        }
        _ => {
            out.insert(path, value.clone());
        }
    }
}

fn flat_parameters(model: &ModelSettings) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (k, v) in &model.parameters {
        flatten(format!("parameters{}", path_segment(k)), v, 0, &mut out);
    }
    out
}

fn setting_change(key: String, old: Option<Value>, new: Option<Value>) -> Option<SettingChange> {
    let status = match (&old, &new) {
        (a, b) if a == b => return None,
        (None, _) => ChangeStatus::Added,
        (_, None) => ChangeStatus::Removed,
        _ => ChangeStatus::Changed,
    };
    Some(SettingChange {
        key,
        status,
        old,
        new,
    })
}

fn diff_model(old: &ModelSettings, new: &ModelSettings) -> Vec<SettingChange> {
    let unset_if_empty = |s: &str| (!s.is_empty()).then(|| Value::from(s));
    let mut out: Vec<SettingChange> = [
        ("provider", &old.provider, &new.provider),
        ("model", &old.model, &new.model),
    ]
    .into_iter()
    .filter_map(|(key, a, b)| setting_change(key.to_string(), unset_if_empty(a), unset_if_empty(b)))
    .collect();
    let mut old_params = flat_parameters(old);
    let new_params = flat_parameters(new);
    let keys: BTreeSet<String> = old_params
        .keys()
        .chain(new_params.keys())
        .cloned()
        .collect();
    for key in keys {
        let a = old_params.remove(&key);
        let b = new_params.get(&key).cloned();
        out.extend(setting_change(key, a, b));
    }
    out
}

fn diff_includes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<IncludeChange> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (old.get(k), new.get(k));
            let status = match (a, b) {
                (a, b) if a == b => return None,
                (None, _) => ChangeStatus::Added,
                (_, None) => ChangeStatus::Removed,
                _ => ChangeStatus::Changed,
            };
            Some(IncludeChange {
                include: k.clone(),
                status,
                old_hash: a.cloned(),
                new_hash: b.cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptdesk_content::VarType;
    use serde_json::json;

    fn var(name: &str) -> Variable {
        Variable {
            name: name.into(),
            ty: VarType::String,
            required: true,
            default: None,
            description: None,
        }
    }

    #[test]
    fn variables_that_only_swapped_places_are_moved_and_the_rest_stay_quiet() {
        let old = [var("a"), var("b"), var("c")];
        let new = [var("b"), var("a"), var("c")];
        let changes = diff_variables(&old, &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].status, ChangeStatus::Moved);
        assert_eq!(changes[0].fields[0].field, VariableField::Position);
    }

    #[test]
    fn adding_a_variable_in_front_does_not_move_the_others() {
        let old = [var("a"), var("b")];
        let new = [var("z"), var("a"), var("b")];
        let changes = diff_variables(&old, &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].status, ChangeStatus::Added);
    }

    #[test]
    fn a_null_default_is_the_same_as_no_default_like_in_the_canonical_encoding() {
        let with_null = Variable {
            default: Some(Value::Null),
            ..var("a")
        };
        assert!(diff_variables(&[var("a")], &[with_null]).is_empty());
    }

    #[test]
    fn a_repeated_variable_name_is_not_silently_dropped() {
        let changes = diff_variables(&[var("a")], &[var("a"), var("a")]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "a (#2)");
    }

    #[test]
    fn setting_keys_with_dots_are_quoted_so_they_cannot_collide_with_nesting() {
        let mut model = ModelSettings::default();
        model.parameters.insert("a.b".into(), json!(1));
        model.parameters.insert("a".into(), json!({"b": 2}));
        let keys: Vec<String> = flat_parameters(&model).into_keys().collect();
        assert_eq!(keys, ["parameters.a.b", "parameters[\"a.b\"]"]);
    }

    #[test]
    fn an_empty_object_is_a_value_so_removing_it_is_a_change() {
        let mut old = ModelSettings::default();
        old.parameters.insert("extra".into(), json!({}));
        let changes = diff_model(&old, &ModelSettings::default());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key, "parameters.extra");
        assert_eq!(changes[0].status, ChangeStatus::Removed);
    }

    #[test]
    fn very_deep_parameters_are_compared_without_unbounded_recursion() {
        let mut deep = json!(1);
        for _ in 0..1_000 {
            deep = json!({ "x": deep });
        }
        let mut model = ModelSettings::default();
        model.parameters.insert("deep".into(), deep);
        let changes = diff_model(&ModelSettings::default(), &model);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key.matches(".x").count(), MAX_FLATTEN_DEPTH);
    }
}
