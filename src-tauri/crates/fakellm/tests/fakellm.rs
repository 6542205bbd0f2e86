//! The fake over real HTTP, from plain threads (no async runtime) and from inside one.

use std::time::Duration;

use promptdesk_fakellm::{Config, FakeLlm, Stats};
use serde_json::{json, Value};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

/// (status, Retry-After, body) of a POST.
fn post(url: &str, headers: &[(&str, &str)], body: Value) -> (u16, Option<String>, Value) {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.send_json(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error from the fake: {e}"),
    };
    let status = resp.status();
    let retry_after = resp.header("retry-after").map(str::to_string);
    let body: Value = resp.into_json().expect("the fake answers JSON");
    (status, retry_after, body)
}

fn chat(fake: &FakeLlm, model: &str) -> (u16, Option<String>, Value) {
    post(
        &format!("{}/v1/chat/completions", fake.base_url()),
        &[],
        json!({"model": model, "messages": [{"role": "user", "content": "hello"}]}),
    )
}

#[test]
fn openai_chat_echoes_the_system_text_then_the_last_user_message() {
    let fake = FakeLlm::start(Config {
        api_key: Some("sk-test-key".into()),
        ..Config::default()
    })
    .unwrap();
    let (status, _, body) = post(
        &format!("{}/v1/chat/completions", fake.base_url()),
        &[("authorization", "Bearer sk-test-key")],
        json!({"model": "echo", "temperature": 0, "messages": [
            {"role": "system", "content": "Refunds within 30 days."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "Where is my money?"}
        ]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "echo");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Refunds within 30 days.\n\nWhere is my money?"
    );
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 12);
    assert_eq!(body["usage"]["completion_tokens"], 8);
    assert_eq!(body["usage"]["total_tokens"], 20);
}

#[test]
fn a_wrong_key_gets_openais_401_shape_with_the_key_masked() {
    let fake = FakeLlm::start(Config {
        api_key: Some("sk-right-key".into()),
        ..Config::default()
    })
    .unwrap();
    let (status, _, body) = post(
        &format!("{}/v1/chat/completions", fake.base_url()),
        &[("authorization", "Bearer sk-wrong-key-9999")],
        json!({"model": "echo", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Incorrect API key provided"),
        "{message}"
    );
    assert!(
        !message.contains("sk-wrong-key-9999"),
        "the key is masked: {message}"
    );
    assert_eq!(fake.stats().count(401), 1);
}

#[test]
fn anthropic_messages_need_a_version_header_and_max_tokens() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let url = format!("{}/v1/messages", fake.base_url());
    let msg = json!({"model": "echo", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, body) = post(&url, &[("x-api-key", "k")], msg.clone());
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("anthropic-version"));

    let v = ("anthropic-version", "2023-06-01");
    let (status, _, body) = post(
        &url,
        &[v],
        json!({"model": "echo", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "max_tokens: Field required");

    let (status, _, body) = post(
        &url,
        &[v],
        json!({"model": "echo", "max_tokens": 10, "messages": [
            {"role": "system", "content": "no"}, {"role": "user", "content": "hi"}]}),
    );
    assert_eq!(
        status, 400,
        "a system role inside messages is refused: {body}"
    );

    let (status, _, body) = post(
        &url,
        &[v],
        json!({"model": "claude-x", "max_tokens": 100,
               "system": [{"type": "text", "text": "Be brief."}],
               "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["content"][0]["text"], "Be brief.\n\nHello there");
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert_eq!(body["usage"]["input_tokens"], 4);
    assert_eq!(body["usage"]["output_tokens"], 4);
}

#[test]
fn the_fault_schedule_fails_every_nth_and_rate_limits_a_fraction_with_retry_after() {
    let fake = FakeLlm::start(Config {
        fail_every: Some(3),
        rate_limit_fraction: 0.5,
        retry_after_s: 7,
        ..Config::default()
    })
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, retry_after, body) = chat(&fake, "echo");
        if status == 429 {
            assert_eq!(retry_after.as_deref(), Some("7"));
            assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        }
        if status == 500 {
            assert_eq!(body["error"]["type"], "server_error");
        }
        statuses.push(status);
    }
    // n=1 ok; 2 → 429 (⌊1⌋ > ⌊0.5⌋); 3 → 500; 4 → 429; 5 ok; 6 → 500.
    assert_eq!(statuses, [200, 429, 500, 429, 200, 500]);
    let stats = fake.stats();
    assert_eq!(stats.total, 6);
    assert_eq!(
        (stats.count(200), stats.count(429), stats.count(500)),
        (2, 2, 2)
    );
}

#[test]
fn latency_delays_each_answer_as_the_server_logs_it() {
    let fake = FakeLlm::start(Config {
        latency: Duration::from_millis(120),
        ..Config::default()
    })
    .unwrap();
    chat(&fake, "echo");
    let r = &fake.stats().requests[0];
    assert!(
        r.ended_ms - r.received_ms >= 120.0,
        "the answer waited at least the latency: {r:?}"
    );
}

#[test]
fn the_grader_model_replies_with_a_json_verdict() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let (_, _, body) = post(
        &format!("{}/v1/chat/completions", fake.base_url()),
        &[],
        json!({"model": "grader", "messages": [{"role": "user", "content":
            "<rubric>\nmust contain: refund\nmust contain: 30 days\n</rubric>\n<output>\nA refund within 30 days.\n</output>\n"}]}),
    );
    let verdict: Value =
        serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(verdict["pass"], true, "{verdict}");
    assert_eq!(verdict["score"], 1.0);
}

#[test]
fn stats_are_served_over_http_and_reset() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    chat(&fake, "echo");
    let stats: Stats = agent()
        .get(&format!("{}/_stats", fake.base_url()))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stats.total, 1);
    assert_eq!(stats.count(200), 1);
    assert_eq!(stats.max_in_flight, 1);
    assert_eq!(stats.requests[0].model, "echo");
    agent()
        .delete(&format!("{}/_stats", fake.base_url()))
        .call()
        .unwrap();
    assert_eq!(fake.stats().total, 0);
}

#[test]
fn a_hanging_request_counts_in_flight_and_stopping_the_fake_ends_it() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let url = format!("{}/v1/chat/completions", fake.base_url());
    let client = std::thread::spawn(move || {
        agent()
            .post(&url)
            .send_json(json!({"model": "hang", "messages": [{"role": "user", "content": "hi"}]}))
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fake.stats().in_flight == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the request reached the fake"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(fake);
    let answer = client.join().unwrap();
    assert!(
        matches!(answer, Err(ref e) if e.contains("503")),
        "the hanging request ends with a 503 when the fake stops: {answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_starts_and_stops_inside_an_async_runtime() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let url = fake.base_url();
    let status = tokio::task::spawn_blocking(move || {
        agent()
            .get(&format!("{url}/v1/models"))
            .call()
            .unwrap()
            .status()
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    drop(fake);
}
