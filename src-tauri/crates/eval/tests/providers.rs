//! The provider clients against the fake over real HTTP: both dialects round-trip, errors are
//! sorted into kinds with the provider's own message, and the API key never leaks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use promptdesk_content::{ModelSettings, Rendered};
use promptdesk_eval::{
    ChatRequest, Message, Price, Provider, ProviderConfig, ProviderError, ProviderKind,
};
use promptdesk_fakellm::{Config, FakeLlm};
use serde_json::{json, Value};

const KEY: &str = "sk-live-SECRETVALUE-1234";

fn provider(fake: &FakeLlm, kind: ProviderKind, key: Option<&str>) -> Provider {
    // The way an Ollama user pastes it: with /v1 and a trailing slash.
    let mut c = ProviderConfig::new("fake", kind, format!("{}/v1/", fake.base_url()));
    c.api_key = key.map(str::to_string);
    c.timeout = Duration::from_secs(20);
    Provider::new(c).unwrap()
}

fn chat(model: &str, messages: &[(&str, &str)]) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: messages
            .iter()
            .map(|(role, content)| Message {
                role: role.to_string(),
                content: content.to_string(),
            })
            .collect(),
        parameters: BTreeMap::new(),
    }
}

fn keyed_fake() -> FakeLlm {
    FakeLlm::start(Config {
        api_key: Some(KEY.into()),
        ..Config::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_round_trips_text_tokens_finish_reason_and_cost() {
    let fake = keyed_fake();
    let mut config = ProviderConfig::new("fake", ProviderKind::OpenAi, fake.base_url());
    config.api_key = Some(KEY.into());
    config.prices.insert(
        "echo".into(),
        Price {
            input_per_mtok: 2.0,
            output_per_mtok: 10.0,
        },
    );
    let p = Provider::new(config).unwrap();
    let settings: ModelSettings = serde_json::from_value(
        json!({"provider": "fake", "model": "echo", "parameters": {"temperature": 0}}),
    )
    .unwrap();
    let rendered: Rendered = serde_json::from_value(json!({"kind": "chat", "messages": [
        {"role": "system", "content": "Refunds within 30 days."},
        {"role": "user", "content": "Can I return it?"}]}))
    .unwrap();
    let reply = p
        .complete(&ChatRequest::from_rendered(&rendered, &settings))
        .await
        .unwrap();
    assert_eq!(reply.text, "Refunds within 30 days.\n\nCan I return it?");
    assert_eq!((reply.tokens_in, reply.tokens_out), (8, 8));
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    let expected = (8.0 * 2.0 + 8.0 * 10.0) / 1e6;
    assert!(
        (reply.cost.unwrap() - expected).abs() < 1e-12,
        "cost {:?} from the price table, expected {expected}",
        reply.cost
    );

    let unpriced = provider(&fake, ProviderKind::OpenAi, Some(KEY));
    let text = Rendered::Text {
        text: "Hello".into(),
    };
    let reply = unpriced
        .complete(&ChatRequest::from_rendered(&text, &settings))
        .await
        .unwrap();
    assert_eq!(
        reply.text, "Hello",
        "a text prompt goes as one user message"
    );
    assert_eq!(reply.cost, None, "no price, no cost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_round_trips_with_system_on_top_and_a_default_max_tokens() {
    let fake = keyed_fake();
    let p = provider(&fake, ProviderKind::Anthropic, Some(KEY));
    // The fake, like Anthropic, refuses a system role inside messages and a missing
    // anthropic-version or max_tokens: a reply at all shows the mapping.
    let reply = p
        .complete(&chat(
            "claude-fake",
            &[("system", "Be brief."), ("user", "Where is my parcel?")],
        ))
        .await
        .unwrap();
    assert_eq!(reply.text, "Be brief.\n\nWhere is my parcel?");
    assert_eq!((reply.tokens_in, reply.tokens_out), (6, 6));
    assert_eq!(reply.finish_reason.as_deref(), Some("end_turn"));

    let echoed = p
        .complete(&chat(
            "json-echo",
            &[("system", "S1"), ("system", "S2"), ("user", "U")],
        ))
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&echoed.text).unwrap();
    assert_eq!(body["system"], "S1\n\nS2");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["messages"], json!([{"role": "user", "content": "U"}]));

    let mut short = chat("echo", &[("user", "one two three four five")]);
    short.parameters.insert("max_tokens".into(), json!(2));
    let cut = p.complete(&short).await.unwrap();
    assert_eq!(cut.text, "one two");
    assert_eq!(cut.finish_reason.as_deref(), Some("max_tokens"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_unauthorized_with_the_providers_message_in_both_dialects() {
    let fake = keyed_fake();
    let openai = provider(&fake, ProviderKind::OpenAi, Some("sk-wrong-0000-9999"));
    match openai.complete(&chat("echo", &[("user", "hi")])).await {
        Err(ProviderError::Unauthorized { status, message }) => {
            assert_eq!(status, 401);
            assert!(
                message.starts_with("Incorrect API key provided"),
                "{message}"
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let anthropic = provider(&fake, ProviderKind::Anthropic, None);
    match anthropic.complete(&chat("echo", &[("user", "hi")])).await {
        Err(e @ ProviderError::Unauthorized { .. }) => {
            assert!(
                e.to_string().contains("x-api-key header is required"),
                "{e}"
            );
            assert!(!e.retryable());
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_appears_in_debug_output_or_errors() {
    let fake = FakeLlm::start(Config {
        api_key: Some("sk-some-other-key".into()),
        ..Config::default()
    })
    .unwrap();
    let p = provider(&fake, ProviderKind::OpenAi, Some(KEY));
    let mut seen = vec![format!("{:?}", p.config()), format!("{p:?}")];
    let refused = p
        .complete(&chat("echo", &[("user", "hi")]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "unauthorized");
    seen.push(format!("{refused} {refused:?}"));
    let a = provider(&fake, ProviderKind::Anthropic, Some(KEY));
    let refused = a
        .complete(&chat("echo", &[("user", "hi")]))
        .await
        .unwrap_err();
    seen.push(format!("{refused} {refused:?}"));
    // Nothing listens on the port of a stopped fake: a transport error.
    let gone = {
        let f = FakeLlm::start(Config::default()).unwrap();
        provider(&f, ProviderKind::OpenAi, Some(KEY))
    };
    let unreachable = gone
        .complete(&chat("echo", &[("user", "hi")]))
        .await
        .unwrap_err();
    assert_eq!(unreachable.kind(), "transport", "{unreachable}");
    assert!(unreachable.retryable());
    seen.push(format!("{unreachable} {unreachable:?}"));
    for text in &seen {
        assert!(!text.contains(KEY), "the key leaked into: {text}");
        assert!(
            !text.contains("SECRETVALUE"),
            "part of the key leaked into: {text}"
        );
    }
    assert!(
        seen[0].contains("[redacted]"),
        "Debug shows that a key is set: {}",
        seen[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_in_time_is_a_timeout() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let mut c = ProviderConfig::new("fake", ProviderKind::OpenAi, fake.base_url());
    c.timeout = Duration::from_millis(300);
    let p = Provider::new(c).unwrap();
    let started = Instant::now();
    let e = p
        .complete(&chat("hang", &[("user", "hi")]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::Timeout { after } if after == Duration::from_millis(300)),
        "{e:?}"
    );
    assert!(e.retryable());
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The client hung up: the fake sees the request aborted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.stats().aborted < 1 {
        assert!(
            Instant::now() < deadline,
            "the fake saw the request dropped: {:?}",
            fake.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_base_url_is_refused_up_front() {
    let e = Provider::new(ProviderConfig::new(
        "ollama",
        ProviderKind::OpenAi,
        "localhost:11434/v1",
    ))
    .unwrap_err();
    assert_eq!(e.kind(), "config", "{e}");
}
