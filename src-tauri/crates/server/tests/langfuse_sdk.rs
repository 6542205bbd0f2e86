//! The real Langfuse Python SDK (from PyPI) against our server: it fetches a text and a chat
//! prompt by label, handles a 404, creates a version, and sees the new production version after
//! a release made through review. `tests/langfuse/run.sh` makes the virtualenv and runs this
//! with `PROMPTDESK_LANGFUSE_PYTHON` pointing into it.

mod common;

use std::process::Command;

use common::events::*;
use common::Server;
use promptdesk_protocol::events::{EventBody, SyncEvent};
use promptdesk_protocol::policy::Role;
use serde_json::{json, Value};

fn sdk(server: &Server, keys: &(String, String), phase: &str) -> Value {
    let python = std::env::var("PROMPTDESK_LANGFUSE_PYTHON")
        .expect("PROMPTDESK_LANGFUSE_PYTHON: run tests/langfuse/run.sh");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../tests/langfuse/sdk_check.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(format!("http://{}", server.addr))
        .arg(&keys.0)
        .arg(&keys.1)
        .arg(phase)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK script failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn review(who: &str, prompt: &str, hash: &str) -> SyncEvent {
    SyncEvent::new(
        who,
        AT,
        EventBody::ReviewRequest {
            prompt: prompt.into(),
            version_hash: hash.into(),
            label: "production".into(),
            description: String::new(),
        },
    )
}

#[test]
#[ignore = "needs the Langfuse SDK from PyPI in a virtualenv: run tests/langfuse/run.sh"]
fn the_langfuse_python_sdk_fetches_creates_and_sees_a_release() {
    let server = Server::start();
    let ana = server.token("ana", Role::Editor);
    let ben = server.token("ben", Role::Reviewer);
    let rita = server.token("rita", Role::Releaser);
    let app = server.langfuse_keys("support-app", Role::Editor);

    // The refund reply (v1 in production) and a chat triage prompt, released through review.
    let refund = "support/refund-reply";
    let (v1, h1) = version_event(
        "ana",
        refund,
        "Hello {{customer_name}}, refunds take 30 days.",
    );
    let triage_create = SyncEvent::new(
        "ana",
        AT,
        EventBody::PromptCreate {
            name: "support/triage".into(),
            kind: promptdesk_content::PromptKind::Chat,
            description: String::new(),
            tags: vec![],
        },
    );
    let triage_content: promptdesk_content::VersionContent = serde_json::from_value(json!({
        "body": {"kind": "chat", "messages": [
            {"role": "system", "template": "Sort the message about {{topic}}."},
            {"role": "user", "template": "{{topic}}"}
        ]},
        "model": {"provider": "openai", "model": "gpt-4o-mini", "parameters": {"temperature": 0}}
    }))
    .unwrap();
    let ht = triage_content.content_hash();
    let tv = SyncEvent::new(
        "ana",
        AT,
        EventBody::VersionCreate {
            prompt: "support/triage".into(),
            hash: ht.clone(),
            parent_hash: None,
            content: triage_content,
            message: "triage".into(),
        },
    );
    let (r1, rt) = (
        review("ana", refund, &h1),
        review("ana", "support/triage", &ht),
    );
    let r = push(
        &server,
        &ana,
        &[
            &prompt_create("ana", refund),
            &v1,
            &triage_create,
            &tv,
            &r1,
            &rt,
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = push(
        &server,
        &ben,
        &[
            &key_event("ben"),
            &approve("ben", &r1.id, "production", &h1),
            &approve("ben", &rt.id, "production", &ht),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = push(
        &server,
        &rita,
        &[
            &key_event("rita"),
            &release(
                "rita",
                "rita",
                refund,
                "production",
                None,
                &h1,
                Some(&r1.id),
            ),
            &release(
                "rita",
                "rita",
                "support/triage",
                "production",
                None,
                &ht,
                Some(&rt.id),
            ),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let before = sdk(&server, &app, "before");
    assert_eq!(before["auth"], true);
    assert_eq!(before["text"]["version"], 1);
    assert_eq!(
        before["text"]["compiled"],
        "Hello Ada, refunds take 30 days."
    );
    assert_eq!(before["text"]["labels"], json!(["production", "latest"]));
    assert_eq!(
        before["chat"]["compiled"],
        json!([
            {"role": "system", "content": "Sort the message about refunds."},
            {"role": "user", "content": "refunds"}
        ])
    );
    assert_eq!(before["created"]["version"], 2);
    assert_eq!(before["created"]["labels"], json!(["staging", "latest"]));
    assert_eq!(before["missing"], "NotFoundError");

    // A new refund reply goes through review and release; the SDK sees it.
    let (v2, h2) = version_event(
        "ana",
        refund,
        "Hello {{customer_name}}, refunds take 14 days.",
    );
    let r2 = review("ana", refund, &h2);
    assert_eq!(push(&server, &ana, &[&v2, &r2]).status, 200);
    assert_eq!(
        push(&server, &ben, &[&approve("ben", &r2.id, "production", &h2)]).status,
        200
    );
    let r = push(
        &server,
        &rita,
        &[&release(
            "rita",
            "rita",
            refund,
            "production",
            Some(&h1),
            &h2,
            Some(&r2.id),
        )],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let after = sdk(&server, &app, "after");
    assert_eq!(after["text"]["version"], 2);
    assert_eq!(
        after["text"]["prompt"],
        "Hello {{customer_name}}, refunds take 14 days."
    );
}
