//! Snapshot tests: what a reviewer sees (unified text, plain and coloured) and what the UI gets
//! (JSON), for each kind of change. Snapshots live in `tests/snapshots/`; review changes to them
//! like code.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use promptdesk_content::{
    Body, ChatMessage, ModelSettings, Rendered, RenderedMessage, VarType, Variable, VersionContent,
};
use promptdesk_diff::{
    diff_rendered, diff_text, diff_versions, ChangeStatus, DiffOptions, LineTag, VersionDiff,
};
use serde_json::json;

fn opts() -> DiffOptions {
    DiffOptions::default()
}

/// Makes ANSI escapes readable in snapshots.
fn show_escapes(s: &str) -> String {
    s.replace('\u{1b}', "<ESC>")
}

fn chat(messages: &[(&str, &str)]) -> VersionContent {
    VersionContent {
        body: Body::Chat {
            messages: messages
                .iter()
                .map(|(role, template)| ChatMessage {
                    role: role.to_string(),
                    template: template.to_string(),
                })
                .collect(),
        },
        variables: vec![],
        model: ModelSettings::default(),
        includes: BTreeMap::new(),
    }
}

fn text(template: &str) -> VersionContent {
    VersionContent {
        body: Body::Text {
            template: template.into(),
        },
        variables: vec![],
        model: ModelSettings::default(),
        includes: BTreeMap::new(),
    }
}

fn variable(name: &str, ty: VarType, required: bool) -> Variable {
    Variable {
        name: name.into(),
        ty,
        required,
        default: None,
        description: None,
    }
}

const REFUND_V1: &str = "\
You are a support agent for {{ company }}.
Answer the customer's question about refunds.
Keep the answer under 120 words.
Always be polite.
Sign as {{ agent_name }}.
";

const REFUND_V2: &str = "\
You are a support agent for {{ company }}.
Answer the customer's question about refunds and returns.
Keep the answer under 80 words.
Always be polite.
Sign as {{ agent_name }}.
";

#[test]
fn word_highlights_mark_only_the_changed_words_inside_a_changed_line() {
    let diff = diff_text(REFUND_V1, REFUND_V2, &opts());
    let changed: Vec<_> = diff.hunks[0]
        .lines
        .iter()
        .filter(|l| l.tag != LineTag::Equal)
        .map(|l| {
            let words: Vec<_> = l
                .spans
                .iter()
                .filter(|s| s.changed)
                .map(|s| s.text.as_str())
                .collect();
            format!("{:?} {}: {:?}", l.tag, l.text(), words)
        })
        .collect();
    insta::assert_snapshot!(changed.join("\n"), @r#"
    Delete Answer the customer's question about refunds.: []
    Delete Keep the answer under 120 words.: ["120"]
    Insert Answer the customer's question about refunds and returns.: [" and returns"]
    Insert Keep the answer under 80 words.: ["80"]
    "#);
    insta::assert_json_snapshot!("word_highlights_json", diff);
}

#[test]
fn context_lines_and_pure_insertions_are_never_refined() {
    let old = "one\ntwo\nthree\n";
    let new = "one\ntwo\ninserted line\nthree\n";
    let diff = diff_text(old, new, &opts());
    for line in diff.hunks.iter().flat_map(|h| &h.lines) {
        assert_eq!(
            line.spans.len(),
            1,
            "line {:?} should be one unhighlighted span",
            line.text()
        );
        assert!(!line.spans[0].changed);
    }
    insta::assert_snapshot!(diff.to_unified("a@1", "a@2", false), @r"
    --- a@1
    +++ a@2
    @@ -1,3 +1,4 @@
     one
     two
    +inserted line
     three
    ");
}

#[test]
fn a_missing_trailing_newline_is_marked_like_git() {
    let added_newline = diff_text("first\nlast", "first\nlast\n", &opts());
    let changed_last_line = diff_text("first\nlast", "first\nfinal", &opts());
    insta::assert_snapshot!(
        format!(
            "{}{}",
            added_newline.to_unified("a@1", "a@2", false),
            changed_last_line.to_unified("b@1", "b@2", false)
        ),
        @r"
    --- a@1
    +++ a@2
    @@ -1,2 +1,2 @@
     first
    -last
    \ No newline at end of file
    +last
    --- b@1
    +++ b@2
    @@ -1,2 +1,2 @@
     first
    -last
    \ No newline at end of file
    +final
    \ No newline at end of file
    "
    );
    assert_eq!(
        support::apply("first\nlast", &added_newline).as_deref(),
        Some("first\nlast\n")
    );
}

#[test]
fn unified_output_is_plain_without_color_and_ansi_with_it() {
    let diff = diff_text(REFUND_V1, REFUND_V2, &opts());
    let plain = diff.to_unified("refund-reply@1", "refund-reply@2", false);
    assert!(!plain.contains('\u{1b}'), "plain output has no ANSI codes");
    insta::assert_snapshot!("unified_plain", plain);
    insta::assert_snapshot!(
        "unified_color",
        show_escapes(&diff.to_unified("refund-reply@1", "refund-reply@2", true))
    );
}

#[test]
fn a_zero_deadline_gives_whole_line_changes_that_still_apply() {
    let zero = DiffOptions {
        deadline: Duration::ZERO,
        ..opts()
    };
    let diff = diff_text(REFUND_V1, REFUND_V2, &zero);
    assert!(diff.coarse, "a zero deadline must report a coarse diff");
    assert!(diff
        .hunks
        .iter()
        .flat_map(|h| &h.lines)
        .all(|l| !l.has_highlights()));
    assert_eq!(support::apply(REFUND_V1, &diff).as_deref(), Some(REFUND_V2));
    insta::assert_snapshot!(diff.to_unified("refund-reply@1", "refund-reply@2", false), @r"
    --- refund-reply@1
    +++ refund-reply@2
    @@ -1,5 +1,5 @@
     You are a support agent for {{ company }}.
    -Answer the customer's question about refunds.
    -Keep the answer under 120 words.
    +Answer the customer's question about refunds and returns.
    +Keep the answer under 80 words.
     Always be polite.
     Sign as {{ agent_name }}.
    ");

    let old = chat(&[("system", "Be brief."), ("user", "{{ q }}")]);
    let new = chat(&[("system", "Be very brief."), ("user", "{{ q }}")]);
    let version = diff_versions(&old, &new, &zero);
    assert!(
        version.coarse,
        "a coarse part makes the whole version diff coarse"
    );
    assert!(version
        .to_unified("p@1", "p@2", false)
        .contains("ran out of time"));
}

#[test]
fn a_chat_message_added_in_the_middle_leaves_the_others_unchanged() {
    let old = chat(&[("system", "You are kind."), ("user", "{{ question }}")]);
    let new = chat(&[
        ("system", "You are kind."),
        ("assistant", "Example: I can help with that."),
        ("user", "{{ question }}"),
    ]);
    let diff = diff_versions(&old, &new, &opts());
    let statuses: Vec<_> = diff.messages.iter().map(|m| m.status).collect();
    assert_eq!(
        statuses,
        [
            ChangeStatus::Unchanged,
            ChangeStatus::Added,
            ChangeStatus::Unchanged
        ]
    );
    insta::assert_snapshot!(diff.to_unified("support/reply@1", "support/reply@2", false), @r"
    --- support/reply@1
    +++ support/reply@2
    === message 2 (assistant): added
    @@ -0,0 +1 @@
    +Example: I can help with that.
    \ No newline at end of file
    ");
}

#[test]
fn a_removed_chat_message_shows_its_old_text_as_deleted() {
    let old = chat(&[
        ("system", "You are kind."),
        ("assistant", "Example answer."),
        ("user", "{{ q }}"),
    ]);
    let new = chat(&[("system", "You are kind."), ("user", "{{ q }}")]);
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === old message 2 (assistant): removed
    @@ -1 +0,0 @@
    -Example answer.
    \ No newline at end of file
    ");
}

#[test]
fn reordered_chat_messages_are_moves_not_removals_and_additions() {
    let old = chat(&[
        ("system", "Rules."),
        ("user", "Example question"),
        ("assistant", "Example answer"),
        ("user", "{{ q }}"),
    ]);
    let new = chat(&[
        ("system", "Rules."),
        ("assistant", "Example answer"),
        ("user", "Example question"),
        ("user", "{{ q }}"),
    ]);
    let diff = diff_versions(&old, &new, &opts());
    assert!(diff
        .messages
        .iter()
        .all(|m| matches!(m.status, ChangeStatus::Unchanged | ChangeStatus::Moved)));
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === message 2 (assistant): moved (was message 3)
    ");
}

#[test]
fn a_changed_role_is_shown_even_when_the_text_is_the_same() {
    let old = chat(&[("system", "Answer in French."), ("user", "{{ q }}")]);
    let new = chat(&[("developer", "Answer in French."), ("user", "{{ q }}")]);
    let diff = diff_versions(&old, &new, &opts());
    assert_eq!(diff.messages[0].status, ChangeStatus::Changed);
    assert!(diff.messages[0].role_changed());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === message 1 (system -> developer): role changed
    ");
}

#[test]
fn switching_from_text_to_chat_shows_the_template_removed_and_the_messages_added() {
    let old = text("Summarise {{ doc }}.");
    let new = chat(&[("system", "You summarise."), ("user", "{{ doc }}")]);
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === kind: text -> chat
    === template
    @@ -1 +0,0 @@
    -Summarise {{ doc }}.
    \ No newline at end of file
    === message 1 (system): added
    @@ -0,0 +1 @@
    +You summarise.
    \ No newline at end of file
    === message 2 (user): added
    @@ -0,0 +1 @@
    +{{ doc }}
    \ No newline at end of file
    ");
}

#[test]
fn variable_changes_list_each_changed_field() {
    let mut old = text("{{ question }} {{ tone }}");
    old.variables = vec![
        Variable {
            description: Some("what the customer asked".into()),
            ..variable("question", VarType::String, true)
        },
        variable("tone", VarType::String, true),
        variable("legacy_id", VarType::Number, false),
    ];
    let mut new = old.clone();
    new.variables = vec![
        Variable {
            description: Some("the customer's question, verbatim".into()),
            ..variable("question", VarType::String, true)
        },
        Variable {
            default: Some(json!("friendly")),
            ..variable("tone", VarType::String, false)
        },
        variable("max_words", VarType::Number, false),
    ];
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r#"
    --- p@1
    +++ p@2
    === variables
    ~ question: description "what the customer asked" -> "the customer's question, verbatim"
    ~ tone: required true -> false, default (unset) -> "friendly"
    + max_words: type number, required false
    - legacy_id: type number, required false
    "#);
    insta::assert_json_snapshot!("variables_json", diff.variables);
}

#[test]
fn model_settings_are_compared_key_by_key_with_nested_paths() {
    let mut old = text("Hi");
    old.model = ModelSettings {
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        parameters: [
            ("temperature".to_string(), json!(0.2)),
            (
                "response_format".to_string(),
                json!({"type": "json_schema", "json_schema": {"name": "reply", "strict": true}}),
            ),
            ("stop".to_string(), json!(["\n\n"])),
            ("top_p".to_string(), json!(1)),
        ]
        .into(),
    };
    let mut new = old.clone();
    new.model.model = "gpt-4o".into();
    new.model.parameters = [
        ("temperature".to_string(), json!(0.3)),
        (
            "response_format".to_string(),
            json!({"type": "json_schema", "json_schema": {"name": "reply", "strict": false}}),
        ),
        ("stop".to_string(), json!(["\n\n", "END"])),
        ("max_tokens".to_string(), json!(512)),
    ]
    .into();
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r#"
    --- p@1
    +++ p@2
    === model settings
    ~ model: "gpt-4o-mini" -> "gpt-4o"
    + parameters.max_tokens: 512
    ~ parameters.response_format.json_schema.strict: true -> false
    ~ parameters.stop: ["\n\n"] -> ["\n\n","END"]
    ~ parameters.temperature: 0.2 -> 0.3
    - parameters.top_p: 1
    "#);
}

#[test]
fn include_pins_added_removed_and_repinned_are_listed() {
    let mut old = text("{% include 'policies/refunds' %}");
    old.includes = [
        ("policies/refunds".to_string(), "1a".repeat(32)),
        ("policies/legacy".to_string(), "2b".repeat(32)),
    ]
    .into();
    let mut new = old.clone();
    new.includes = [
        ("policies/refunds".to_string(), "3c".repeat(32)),
        ("policies/tone@2".to_string(), "4d".repeat(32)),
    ]
    .into();
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === includes
    - policies/legacy: 2b2b2b2b2b2b
    ~ policies/refunds: 1a1a1a1a1a1a -> 3c3c3c3c3c3c
    + policies/tone@2: 4d4d4d4d4d4d
    ");
}

#[test]
fn rendered_outputs_are_diffed_per_message() {
    let old = Rendered::Chat {
        messages: vec![
            RenderedMessage {
                role: "system".into(),
                content: "You work for ACME.".into(),
            },
            RenderedMessage {
                role: "user".into(),
                content: "Where is my refund?".into(),
            },
        ],
    };
    let new = Rendered::Chat {
        messages: vec![
            RenderedMessage {
                role: "system".into(),
                content: "You work for ACME Corp.".into(),
            },
            RenderedMessage {
                role: "user".into(),
                content: "Where is my refund?".into(),
            },
        ],
    };
    let rendered = diff_rendered(&old, &new, &opts());
    let version = diff_versions(&text("x"), &text("x"), &opts()).with_rendered(rendered.clone());
    assert!(!version.is_empty(), "a rendered difference is a difference");
    insta::assert_snapshot!(version.to_unified("p@1", "p@2", false), @r"
    --- p@1
    +++ p@2
    === rendered output
    === rendered message 1 (system): changed
    @@ -1 +1 @@
    -You work for ACME.
    \ No newline at end of file
    +You work for ACME Corp.
    \ No newline at end of file
    ");

    let text_diff = diff_rendered(
        &Rendered::Text {
            text: "Dear Ann,\nyour refund is on its way.\n".into(),
        },
        &Rendered::Text {
            text: "Dear Ann,\nyour refund was sent today.\n".into(),
        },
        &opts(),
    );
    insta::assert_json_snapshot!("rendered_text_json", text_diff);

    let kind_changed = diff_rendered(
        &Rendered::Text {
            text: "Hello".into(),
        },
        &new,
        &opts(),
    );
    assert!(kind_changed.kind.is_some());
    assert!(kind_changed.text.is_some());
}

fn review_example() -> (VersionContent, VersionContent) {
    let mut old = chat(&[
        (
            "system",
            "You are a support agent for {{ company }}.\nBe polite.\n",
        ),
        ("user", "{{ question }}"),
    ]);
    old.variables = vec![
        variable("company", VarType::String, true),
        variable("question", VarType::String, true),
    ];
    old.model = ModelSettings {
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        parameters: [("temperature".to_string(), json!(0.2))].into(),
    };
    let mut new = chat(&[
        (
            "system",
            "You are a support agent for {{ company }}.\nBe polite and concise.\n",
        ),
        ("user", "{{ question }}"),
    ]);
    new.variables = vec![
        variable("company", VarType::String, true),
        Variable {
            default: Some(json!("Where is my order?")),
            ..variable("question", VarType::String, false)
        },
    ];
    new.model = ModelSettings {
        parameters: [("temperature".to_string(), json!(0.1))].into(),
        ..old.model.clone()
    };
    (old, new)
}

#[test]
fn a_version_diff_reads_well_in_a_terminal_with_and_without_color() {
    let (old, new) = review_example();
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_snapshot!(
        "version_unified_plain",
        diff.to_unified("support/reply@1", "support/reply@2", false)
    );
    insta::assert_snapshot!(
        "version_unified_color",
        show_escapes(&diff.to_unified("support/reply@1", "support/reply@2", true))
    );
}

#[test]
fn the_json_of_a_version_diff_is_what_the_ui_renders() {
    let (old, new) = review_example();
    let diff = diff_versions(&old, &new, &opts());
    insta::assert_json_snapshot!("version_diff_json", diff);
    let back: VersionDiff = serde_json::from_value(serde_json::to_value(&diff).unwrap())
        .expect("the JSON reads back into a VersionDiff");
    assert_eq!(back, diff);
}

#[test]
fn equal_versions_say_so() {
    let (old, _) = review_example();
    let diff = diff_versions(&old, &old.clone(), &opts());
    assert!(diff.is_empty());
    insta::assert_snapshot!(diff.to_unified("p@1", "p@1", false), @r"
    --- p@1
    +++ p@1
    no changes
    ");
}
