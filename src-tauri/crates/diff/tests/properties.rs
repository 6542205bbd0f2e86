//! Invariants checked on generated inputs: a diff always applies, whatever the deadline, and a
//! version diff is empty exactly when the two versions have the same identity.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use promptdesk_content::{Body, ChatMessage, ModelSettings, VarType, Variable, VersionContent};
use promptdesk_diff::{diff_text, diff_versions, DiffOptions, LineTag};
use proptest::prelude::*;
use serde_json::json;

/// Texts made of a few recurring lines, so old and new share most of them, with mixed line
/// endings and sometimes no final newline.
fn text() -> impl Strategy<Value = String> {
    let line = prop::sample::select(vec![
        "a",
        "b",
        "a b",
        "the quick brown fox",
        "",
        " ",
        "tab\there",
        "héllo wörld",
        "{{ name }}",
        "我喜欢猫",
        "x\ry",
    ]);
    let ending = prop::sample::select(vec!["\n", "\n", "\n", "\r\n"]);
    (prop::collection::vec((line, ending), 0..40), any::<bool>()).prop_map(|(lines, cut)| {
        let mut s: String = lines.into_iter().map(|(l, e)| format!("{l}{e}")).collect();
        if cut && s.ends_with('\n') {
            s.pop();
        }
        s
    })
}

/// A new text derived from an old one by a few line edits, like a real revision.
fn revision() -> impl Strategy<Value = (String, String)> {
    (
        text(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[a-c ]{0,6}"), 0..6),
    )
        .prop_map(|(old, edits)| {
            let mut lines: Vec<String> = old.split_inclusive('\n').map(String::from).collect();
            for (at, kind, word) in edits {
                let i = if lines.is_empty() {
                    0
                } else {
                    at.index(lines.len())
                };
                match kind {
                    0 => lines.insert(i, format!("{word}\n")),
                    1 if !lines.is_empty() => {
                        lines.remove(i);
                    }
                    2 if !lines.is_empty() => {
                        lines[i] = lines[i].replacen(' ', &format!(" {word} "), 1)
                    }
                    _ => lines.insert(i, format!("{word} b\n")),
                }
            }
            (old, lines.concat())
        })
}

fn options() -> impl Strategy<Value = DiffOptions> {
    (
        prop::sample::select(vec![
            Duration::ZERO,
            Duration::from_millis(200),
            Duration::MAX,
        ]),
        0usize..5,
    )
        .prop_map(|(deadline, context)| DiffOptions { deadline, context })
}

fn check_applies(old: &str, new: &str, opts: &DiffOptions) -> Result<(), TestCaseError> {
    let diff = diff_text(old, new, opts);
    let applied = support::apply(old, &diff);
    prop_assert_eq!(applied.as_deref(), Some(new), "diff: {:#?}", diff);
    let lines = || diff.hunks.iter().flat_map(|h| &h.lines);
    prop_assert_eq!(
        diff.added,
        lines().filter(|l| l.tag == LineTag::Insert).count()
    );
    prop_assert_eq!(
        diff.removed,
        lines().filter(|l| l.tag == LineTag::Delete).count()
    );
    prop_assert_eq!(diff.is_empty(), old == new);
    prop_assert!(
        lines().all(|l| !l.spans.is_empty()),
        "every line has a span"
    );
    prop_assert!(
        lines()
            .filter(|l| l.tag == LineTag::Equal)
            .all(|l| !l.has_highlights()),
        "context lines are never highlighted"
    );
    let plain = diff.to_unified("old", "new", false);
    prop_assert!(
        !plain.contains('\u{1b}'),
        "plain output has no escape codes"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn applying_the_diff_to_the_old_text_gives_the_new_text((old, new) in revision(), opts in options()) {
        check_applies(&old, &new, &opts)?;
    }

    #[test]
    fn unrelated_texts_diff_correctly_too(old in text(), new in text(), opts in options()) {
        check_applies(&old, &new, &opts)?;
    }

    #[test]
    fn arbitrary_unicode_never_panics_and_still_applies(old in "[\\PC\\r\\n\\t\\x1b]*", new in "[\\PC\\r\\n\\t\\x1b]*", opts in options()) {
        check_applies(&old, &new, &opts)?;
    }

    #[test]
    fn a_version_diff_is_empty_exactly_when_the_hashes_match(old in version(), new in version(), opts in options()) {
        let diff = diff_versions(&old, &new, &opts);
        prop_assert_eq!(
            diff.is_empty(),
            old.content_hash() == new.content_hash(),
            "diff: {:#?}", diff
        );
        let _ = diff.to_unified("p@1", "p@2", true);
    }
}

/// Long texts where most lines change in place: big replace blocks, refined line by line.
fn bulk_edit() -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(
        ("[a-e ]{80,120}", prop::bool::weighted(0.995), "[a-e]{1,5}"),
        200..400,
    )
    .prop_map(|lines| {
        let mut old = String::new();
        let mut new = String::new();
        for (line, edit, word) in lines {
            old.push_str(&line);
            old.push('\n');
            if edit {
                new.push_str(&line.replacen(' ', &format!(" {word} "), 1));
            } else {
                new.push_str(&line);
            }
            new.push('\n');
        }
        (old, new)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn bulk_edits_of_long_texts_apply_too((old, new) in bulk_edit(), opts in options()) {
        check_applies(&old, &new, &opts)?;
    }
}

fn version() -> impl Strategy<Value = VersionContent> {
    let role = prop::sample::select(vec!["system", "user", "assistant"]);
    let template = prop::sample::select(vec![
        "Hi {{ name }}",
        "Be brief.",
        "",
        "Be brief.\nBe kind.\n",
    ]);
    let body = prop_oneof![
        template.clone().prop_map(|t| Body::Text {
            template: t.to_string()
        }),
        prop::collection::vec((role, template), 0..4).prop_map(|ms| Body::Chat {
            messages: ms
                .into_iter()
                .map(|(r, t)| ChatMessage {
                    role: r.into(),
                    template: t.into()
                })
                .collect()
        }),
    ];
    let variable = (
        prop::sample::select(vec!["name", "tone", "question"]),
        prop::sample::select(vec![VarType::String, VarType::Number]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            json!("x"),
            json!(1),
            json!(1.0),
            json!([1]),
        ])),
        prop::option::of(prop::sample::select(vec!["who", "how"])),
    )
        .prop_map(|(name, ty, required, default, description)| Variable {
            name: name.into(),
            ty,
            required,
            default,
            description: description.map(String::from),
        });
    let parameter = prop::sample::select(vec![
        ("temperature", json!(0.2)),
        ("temperature", json!(0.3)),
        ("response_format", json!({"type": "json"})),
        ("response_format", json!({"type": "text", "schema": {}})),
        ("stop", json!(["\n"])),
        ("a.b", json!(1)),
        ("a", json!({"b": 1})),
    ]);
    let model = (
        prop::sample::select(vec!["", "openai"]),
        prop::sample::select(vec!["", "gpt-4o", "gpt-4o-mini"]),
        prop::collection::vec(parameter, 0..3),
    )
        .prop_map(|(provider, model, params)| ModelSettings {
            provider: provider.into(),
            model: model.into(),
            parameters: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        });
    let includes = prop::collection::vec(
        (
            prop::sample::select(vec!["policies/refunds", "tone"]),
            prop::sample::select(vec!["aa", "bb"]),
        ),
        0..2,
    )
    .prop_map(|pins| {
        pins.into_iter()
            .map(|(k, v)| (k.to_string(), v.repeat(32)))
            .collect::<BTreeMap<_, _>>()
    });
    (body, prop::collection::vec(variable, 0..4), model, includes).prop_map(
        |(body, variables, model, includes)| VersionContent {
            body,
            variables,
            model,
            includes,
        },
    )
}
