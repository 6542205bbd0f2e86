//! The prompt file format reads back exactly what it wrote, whatever the content; and the
//! files an export writes are pinned by snapshots so a format change is a visible decision.

use promptdesk_content::{Body, ChatMessage, ModelSettings, VarType, Variable};
use promptdesk_core::format::{parse, write, PromptFile};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        Just("=== user ===".to_string()),
        Just("\\=== system ===".to_string()),
        Just("---".to_string()),
        Just(String::new()),
        "[a-zé{}%# ]{0,12}\r",
    ]
}

fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..6).prop_map(|lines| lines.join("\n"))
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        template().prop_map(|template| Body::Text { template }),
        prop::collection::vec(
            (
                prop::sample::select(vec!["system", "user", "assistant"]),
                template()
            ),
            0..5
        )
        .prop_map(|messages| Body::Chat {
            messages: messages
                .into_iter()
                .map(|(role, template)| ChatMessage {
                    role: role.into(),
                    template
                })
                .collect()
        }),
    ]
}

proptest! {
    #[test]
    fn any_body_survives_write_then_parse(body in body(), description in "[ -~]{0,20}") {
        let mut file = PromptFile::new(body);
        file.description = description;
        file.variables = vec![Variable {
            name: "x".into(), ty: VarType::String, required: true, default: None, description: None,
        }];
        file.model = ModelSettings { provider: "openai".into(), model: "m".into(), parameters: Default::default() };
        let text = write(&file);
        let back = parse(&text, "roundtrip").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, file, "{}", text);
    }
}

#[test]
fn exported_files_keep_their_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = promptdesk_core::Registry::init(&dir.path().join("r.db")).unwrap();
    reg.set_clock(Box::new(|| "2026-11-20T12:00:00.000Z".to_string()));
    promptdesk_demo::seed(&mut reg).unwrap();
    let out = dir.path().join("export");
    promptdesk_core::export::export(&reg, &out).unwrap();
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    insta::assert_snapshot!(
        "refund_reply_prompt_yaml",
        read("prompts/support/refund-reply/_prompt.yaml")
    );
    insta::assert_snapshot!(
        "refund_reply_v3",
        read("prompts/support/refund-reply/_v0003.prompt")
    );
    insta::assert_snapshot!("triage_v2", read("prompts/support/triage/_v0002.prompt"));
}
