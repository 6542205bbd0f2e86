//! The render worker as a client sees it: same results as rendering in process, kept warm,
//! restarted transparently whenever it had to be stopped or died.

mod common;

use std::time::{Duration, Instant};

use common::*;
use promptdesk_content::{Rendered, RenderedMessage};
use promptdesk_template::{render_in_process, ErrorKind, RenderWorker};
use serde_json::json;

#[test]
fn a_text_prompt_renders_through_the_worker_like_in_process() {
    let mut worker = warm_worker();
    let req = text(
        "Dear {{ customer }},\n{% for item in items %}- {{ item.name }}: {{ item.price }}\n{% endfor %}Total: {{ total }} — ünïcödé ✓",
        json!({"customer": "Ada", "items": [{"name": "Book", "price": 12.5}, {"name": "Pen", "price": 2}], "total": 14.5}),
    );
    let through_worker = worker.render(&req).unwrap();
    assert_eq!(through_worker, render_in_process(&req).unwrap());
    assert_eq!(
        text_of(through_worker),
        "Dear Ada,\n- Book: 12.5\n- Pen: 2\nTotal: 14.5 — ünïcödé ✓"
    );
}

#[test]
fn a_chat_prompt_renders_each_message_through_the_worker() {
    let mut worker = warm_worker();
    let req = chat(
        &[
            ("system", "You answer for {{ brand }}."),
            ("user", "{{ question }}"),
        ],
        json!({"brand": "Acme", "question": "Where is my parcel?"}),
    );
    assert_eq!(
        worker.render(&req).unwrap(),
        Rendered::Chat {
            messages: vec![
                RenderedMessage {
                    role: "system".into(),
                    content: "You answer for Acme.".into()
                },
                RenderedMessage {
                    role: "user".into(),
                    content: "Where is my parcel?".into()
                },
            ]
        }
    );
}

#[test]
fn includes_are_served_from_the_request_through_the_worker() {
    let mut worker = warm_worker();
    let mut req = text("{% include \"policies/refunds@2\" %}", json!({"days": 14}));
    req.includes.insert(
        "policies/refunds@2".into(),
        "Refunds within {{ days }} days.".into(),
    );
    assert_eq!(
        text_of(worker.render(&req).unwrap()),
        "Refunds within 14 days."
    );
    let err = worker
        .render(&text("{% include \"policies/nope\" %}", json!({})))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownInclude);
}

#[test]
fn the_worker_is_started_once_and_kept_warm() {
    let mut worker = RenderWorker::new(config());
    assert_eq!(worker.starts(), 0);
    assert_eq!(worker.process_id(), None);
    worker.warm_up().unwrap();
    let pid = worker.process_id();
    for i in 0..200 {
        let out = worker
            .render(&text("n={{ n }}", json!({ "n": i })))
            .unwrap();
        assert_eq!(text_of(out), format!("n={i}"));
    }
    assert_eq!(worker.starts(), 1);
    assert_eq!(worker.process_id(), pid);
}

#[test]
fn the_first_render_starts_the_worker_lazily() {
    let mut worker = RenderWorker::new(config());
    assert_normal_render_works(&mut worker);
    assert_eq!(worker.starts(), 1);
}

#[test]
fn template_errors_come_back_located_and_keep_the_worker() {
    let mut worker = warm_worker();
    let err = worker
        .render(&text(
            "Hello,\n\nDear {{ customr }},",
            json!({"customer": "Ada"}),
        ))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UndefinedVariable);
    assert_eq!(
        err.to_string(),
        "tests/prompt, line 3, column 9: there is no input named 'customr' — did you mean 'customer'? — \"Dear {{ customr }},\""
    );
    // The fix comes back through the worker too.
    assert_eq!(err.fix.map(|f| f.insert), Some("customer".to_string()));
    let err = worker.render(&text("{% if %}", json!({}))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_normal_render_works(&mut worker);
    assert_eq!(worker.starts(), 1);
}

#[test]
fn a_timeout_kills_the_worker_and_the_next_render_starts_a_fresh_one() {
    let _serial = serial();
    let mut config = config();
    config.timeout = Duration::from_millis(300);
    let mut worker = RenderWorker::new(config);
    worker.warm_up().unwrap();
    let first_pid = worker.process_id();
    let mut req = text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        json!({}),
    );
    req.limits.fuel = u64::MAX / 2;
    let started = Instant::now();
    let err = worker.render(&req).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(
        err.message,
        "tests/prompt: rendering took longer than 300 ms and was stopped — is there a loop that never ends?"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(worker.process_id(), None, "the stuck worker is gone");
    assert_normal_render_works(&mut worker);
    assert_eq!(worker.starts(), 2);
    assert_ne!(worker.process_id(), first_pid);
}

#[cfg(unix)]
#[test]
fn a_worker_killed_while_idle_is_replaced_transparently() {
    let mut worker = warm_worker();
    let pid = worker.process_id().unwrap() as libc::pid_t;
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    std::thread::sleep(Duration::from_millis(50));
    assert_normal_render_works(&mut worker);
    assert_eq!(worker.starts(), 2);
}

#[cfg(unix)]
#[test]
fn a_worker_that_dies_mid_render_is_reported_and_replaced() {
    let _serial = serial();
    let mut worker = warm_worker();
    let pid = worker.process_id().unwrap() as libc::pid_t;
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    });
    let mut req = text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        json!({}),
    );
    req.limits.fuel = u64::MAX / 2;
    let err = worker.render(&req).unwrap_err();
    killer.join().unwrap();
    assert_eq!(err.kind, ErrorKind::WorkerFailed);
    assert!(
        err.message.starts_with(
            "tests/prompt: the render worker stopped unexpectedly (killed by signal 15)"
        ),
        "{err}"
    );
    assert_normal_render_works(&mut worker);
    assert_eq!(worker.starts(), 2);
}

#[cfg(target_os = "linux")]
#[test]
fn dropping_the_client_kills_the_worker() {
    let worker = warm_worker();
    let pid = worker.process_id().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(worker);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn output_just_under_the_cap_comes_through_whole() {
    let mut worker = warm_worker();
    let req = text(
        "{% for i in range(1000) %}{{ 'é' * 500 }}{% endfor %}",
        json!({}),
    );
    let out = text_of(worker.render(&req).unwrap());
    assert_eq!(out.len(), 1_000_000);
}

#[cfg(target_os = "linux")]
#[test]
fn the_worker_runs_with_an_address_space_limit() {
    let mut config = config();
    config.memory_limit_bytes = 256 * 1024 * 1024;
    let mut worker = RenderWorker::new(config);
    worker.warm_up().unwrap();
    let pid = worker.process_id().unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap();
    let soft: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(
        soft > 256 * 1024 * 1024 && soft < 512 * 1024 * 1024,
        "{line}"
    );
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
}

#[test]
fn two_clients_render_side_by_side() {
    let handles: Vec<_> = (0..2)
        .map(|n| {
            std::thread::spawn(move || {
                let mut worker = warm_worker();
                for i in 0..50 {
                    let out = worker
                        .render(&text("{{ n }}-{{ i }}", json!({"n": n, "i": i})))
                        .unwrap();
                    assert_eq!(text_of(out), format!("{n}-{i}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn a_changed_template_or_include_is_never_served_from_the_worker_s_cache() {
    let mut worker = warm_worker();
    let mut req = text("A {{ x }} {% include \"p\" %}", json!({"x": 1}));
    req.includes.insert("p".into(), "one".into());
    assert_eq!(text_of(worker.render(&req).unwrap()), "A 1 one");
    req.vars.insert("x".into(), json!(2));
    assert_eq!(text_of(worker.render(&req).unwrap()), "A 2 one");
    req.includes.insert("p".into(), "two".into());
    assert_eq!(text_of(worker.render(&req).unwrap()), "A 2 two");
    req.body = promptdesk_content::Body::Text {
        template: "B {{ x }} {% include \"p\" %}".into(),
    };
    assert_eq!(text_of(worker.render(&req).unwrap()), "B 2 two");
    req.name = "tests/other".into();
    req.body = promptdesk_content::Body::Text {
        template: "{{ y }}".into(),
    };
    let err = worker.render(&req).unwrap_err();
    assert_eq!(err.location.unwrap().template, "tests/other");
    req.limits.max_output_bytes = 1;
    req.vars.insert("y".into(), json!("long"));
    assert_eq!(
        worker.render(&req).unwrap_err().kind,
        ErrorKind::OutputTooLarge
    );
    // Many different templates (more than the cache holds) still render correctly.
    for i in 0..40 {
        let out = worker
            .render(&text(&format!("{i}-{{{{ v }}}}"), json!({"v": i})))
            .unwrap();
        assert_eq!(text_of(out), format!("{i}-{i}"));
    }
    assert_eq!(worker.starts(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn the_cpu_backstop_stops_a_worker_whose_client_stopped_watching() {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    let _serial = serial();
    // Started by hand, as if the client had gone away without killing it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_promptdesk-render-worker"))
        .env(promptdesk_template::CPU_LIMIT_ENV, "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut req = text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        json!({}),
    );
    req.limits.fuel = u64::MAX / 2;
    let line = serde_json::to_string(&json!({"id": 1, "request": req})).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{line}").unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("the CPU limit did not stop the worker");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(libc::SIGXCPU), "{status:?}");
}
