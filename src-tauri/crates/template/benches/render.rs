//! How long a preview render takes through the warm worker, compared with rendering in process.
//!
//! Criterion measures a ~2 KB template with 10 variables both ways. Then 5,000 sequential
//! renders through the worker give p50 / p99 / mean latencies (what the editor's live preview
//! feels), written to `<target dir>/figures/render.json`, along with the same for a template
//! that changes on every render (the worker's compile cache never hits, as while typing) and
//! for rendering in process. Targets: p50 ≤ 0.5 ms, p99 ≤ 2 ms.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use promptdesk_content::Body;
use promptdesk_template::{render_in_process, RenderRequest, RenderWorker, WorkerConfig};
use serde_json::json;

const TEMPLATE: &str = r#"You are {{ agent_name }}, a customer support agent for {{ brand }}.
Write in a {{ tone }} tone. Keep the reply under 200 words and never promise what the policy
does not allow. Address the customer by name and refer to the order by its number.

Customer: {{ customer_name }}{% if is_vip %} (VIP customer — offer priority handling){% endif %}
Order: #{{ order_id }}
Items in the order:
{% for item in items %}
  {{ loop.index }}. {{ item.name }} × {{ item.quantity }} at {{ item.price }} {{ currency }}{% if item.returned %} (returned){% endif %}
{% endfor %}
Order total: {{ order_total }} {{ currency }}

Refund policy (summarised): items can be returned within {{ policy_days }} days of delivery in
their original packaging. Refunds go back to the original payment method within five business
days of the return arriving at our warehouse. Shipping costs are refunded only when the item
was faulty or we sent the wrong one.{% if is_vip %} VIP customers get free return shipping on
every order, and their refunds are processed on the day the return arrives.{% endif %}

{% set returned = items | selectattr("returned") | list %}
{% if returned %}
The customer has already returned {{ returned | length }} item{{ "s" if returned | length != 1 else "" }}:
{% for item in returned %}- {{ item.name }}
{% endfor %}
Confirm that each return was received and say when the refund will arrive.
{% else %}
The customer has not returned anything yet. Explain how to start a return, step by step:
1. Open the order page and choose "Return items".
2. Pick the items and the reason for the return.
3. Print the label and drop the parcel at any partner location.
{% endif %}

Things to avoid: legal language, blaming the customer, internal ticket numbers, discounts that
are not in the policy, and promises about delivery dates we cannot keep. If you are unsure,
say that a colleague from the {{ brand }} returns team will follow up within one business day.

Sign the reply as {{ agent_name }}, {{ brand }} Customer Care.
"#;

fn request() -> RenderRequest {
    let vars = json!({
        "agent_name": "Sam",
        "brand": "Acme Outdoor",
        "tone": "warm and concise",
        "customer_name": "Ada Lovelace",
        "is_vip": true,
        "order_id": 482_913,
        "currency": "EUR",
        "order_total": 249.9,
        "policy_days": 30,
        "items": [
            {"name": "Trail running shoes", "quantity": 1, "price": 129.9, "returned": true},
            {"name": "Rain jacket", "quantity": 1, "price": 99.0, "returned": false},
            {"name": "Wool socks", "quantity": 3, "price": 7.0, "returned": false},
        ],
    });
    RenderRequest::new(
        "support/refund-reply",
        Body::Text {
            template: TEMPLATE.into(),
        },
        vars.as_object().cloned().unwrap_or_default(),
    )
}

fn worker() -> RenderWorker {
    let mut worker = RenderWorker::new(WorkerConfig::new(
        env!("CARGO_BIN_EXE_promptdesk-render-worker"),
        vec![],
    ));
    worker.warm_up().expect("the render worker starts");
    worker
}

fn criterion_benches(c: &mut Criterion) {
    let req = request();
    let mut worker = worker();
    let mut group = c.benchmark_group("render");
    group.bench_function("through_warm_worker", |b| {
        b.iter(|| black_box(worker.render(black_box(&req)).expect("renders")))
    });
    group.bench_function("in_process", |b| {
        b.iter(|| black_box(render_in_process(black_box(&req)).expect("renders")))
    });
    group.finish();
}

struct Stats {
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
    max_us: f64,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pct = |p: f64| us(samples[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]);
    Stats {
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        mean_us: samples.iter().map(|d| us(*d)).sum::<f64>() / n as f64,
        max_us: us(samples[n - 1]),
        n,
    }
}

fn sample(n: usize, mut render: impl FnMut()) -> Stats {
    for _ in 0..200 {
        render(); // warm caches and the allocator
    }
    let samples = (0..n)
        .map(|_| {
            let started = Instant::now();
            render();
            started.elapsed()
        })
        .collect();
    stats(samples)
}

fn figures_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../target"));
    target.join("figures").join("render.json")
}

fn write_figures() {
    const N: usize = 5_000;
    let req = request();
    let mut worker = worker();
    let through_worker = sample(N, || {
        black_box(worker.render(&req).expect("renders"));
    });
    let in_process = sample(N, || {
        black_box(render_in_process(&req).expect("renders"));
    });
    // As while typing: the template differs every time, so the worker's cache never helps.
    let mut edits = 0u64;
    let mut edited = req.clone();
    let through_worker_edited = sample(N, || {
        edits += 1;
        edited.body = Body::Text {
            template: format!("{TEMPLATE}{{# edit {edits} #}}"),
        };
        black_box(worker.render(&edited).expect("renders"));
    });
    let figures = json!({
        "benchmark": "render a ~2 KB template with 10 variables, sequentially",
        "template_bytes": TEMPLATE.len(),
        "variables": req.vars.len(),
        "worker": {
            "p50_us": round(through_worker.p50_us),
            "p99_us": round(through_worker.p99_us),
            "mean_us": round(through_worker.mean_us),
            "max_us": round(through_worker.max_us),
            "n": through_worker.n,
            "worker_starts": worker.starts(),
        },
        "worker_template_changed_every_render": {
            "p50_us": round(through_worker_edited.p50_us),
            "p99_us": round(through_worker_edited.p99_us),
            "mean_us": round(through_worker_edited.mean_us),
            "n": through_worker_edited.n,
        },
        "in_process": {
            "p50_us": round(in_process.p50_us),
            "p99_us": round(in_process.p99_us),
            "mean_us": round(in_process.mean_us),
            "n": in_process.n,
        },
        "p50_us": round(through_worker.p50_us),
        "p99_us": round(through_worker.p99_us),
        "mean_us": round(through_worker.mean_us),
        "n": through_worker.n,
        "in_process_p50_us": round(in_process.p50_us),
        "targets": {"p50_us": 500, "p99_us": 2000},
    });
    let path = figures_path();
    let written = std::fs::create_dir_all(path.parent().unwrap_or(&path)).and_then(|()| {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&figures).unwrap_or_default() + "\n",
        )
    });
    match written {
        Ok(()) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
    println!(
        "through the warm worker: p50 {:.0} µs, p99 {:.0} µs, mean {:.0} µs (n = {}); \
         template changed every render: p50 {:.0} µs, p99 {:.0} µs; in process: p50 {:.0} µs",
        through_worker.p50_us,
        through_worker.p99_us,
        through_worker.mean_us,
        through_worker.n,
        through_worker_edited.p50_us,
        through_worker_edited.p99_us,
        in_process.p50_us
    );
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs each benchmark once in test mode; skip the long sampling then.
    let test_mode = std::env::args().any(|a| a == "--test" || a == "--list");
    if !test_mode {
        write_figures();
    }
}
