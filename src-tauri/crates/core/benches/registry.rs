//! Registry at scale: 10,000 prompts and 200,000 versions.
//!
//! Measures listing a folder, loading a version, a page of history, searching the current text,
//! and the commit rate with full durability. Criterion prints its statistics; the figures
//! (p50/p99 over repeated runs) are also written to `target/figures/registry.json`.
//!
//! The large registry is built once by bulk insertion (through the same store functions the
//! registry uses, in one transaction) and kept under `target/bench-data/` for later runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use promptdesk_content::{Body, ModelSettings, VarType, Variable, VersionContent};
use promptdesk_core::store::{labels, prompts, search, versions};
use promptdesk_core::{DraftContent, NewPrompt, Ref, Registry};
use serde_json::json;
use std::hint::black_box;

const PROMPTS: usize = 10_000;
const VERSIONS_PER_PROMPT: u32 = 20;
const FOLDERS: usize = 100;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target"))
}

fn prompt_name(i: usize) -> String {
    format!("team-{:03}/prompt-{i:05}", i % FOLDERS)
}

fn template(i: usize, v: u32) -> String {
    let words = [
        "refund", "shipping", "invoice", "apology", "upgrade", "welcome", "renewal",
    ];
    format!(
        "Hello {{{{ customer_name }}}},\n\nThanks for writing about {} number {i}.\n\
         {{% if order_total > 100 %}}As a valued customer you get priority handling.{{% endif %}}\n\
         Revision {v} of this answer explains the {} policy in plain words, with the steps to follow \
         and the time it takes. Reference code Q{i}X{v}.\n\nBest regards,\n{{{{ agent }}}}",
        words[i % words.len()],
        words[(i + v as usize) % words.len()]
    )
}

fn build(path: &Path) {
    let (mut reg, _) = Registry::init(path).unwrap();
    reg.set_actor("bench");
    // Create prompts through the API (one transaction each is fine for 10k), then bulk-insert
    // versions in one transaction.
    for i in 0..PROMPTS {
        reg.create_prompt(
            &prompt_name(i),
            promptdesk_content::PromptKind::Text,
            NewPrompt::default(),
        )
        .unwrap();
    }
    drop(reg);
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    let variables = vec![
        Variable {
            name: "customer_name".into(),
            ty: VarType::String,
            required: true,
            default: None,
            description: None,
        },
        Variable {
            name: "order_total".into(),
            ty: VarType::Number,
            required: false,
            default: Some(json!(0)),
            description: None,
        },
        Variable {
            name: "agent".into(),
            ty: VarType::String,
            required: false,
            default: Some(json!("Support")),
            description: None,
        },
    ];
    for i in 0..PROMPTS {
        let p = prompts::get(&tx, &prompt_name(i)).unwrap();
        let mut parent: Option<String> = None;
        for v in 1..=VERSIONS_PER_PROMPT {
            let content = VersionContent {
                body: Body::Text {
                    template: template(i, v),
                },
                variables: variables.clone(),
                model: ModelSettings {
                    provider: "openai".into(),
                    model: "gpt-4o-mini".into(),
                    parameters: Default::default(),
                },
                includes: Default::default(),
            };
            let bytes = content.canonical_bytes();
            let hash = promptdesk_content::sha256_hex(&bytes);
            versions::insert(
                &tx,
                &versions::StoredVersion {
                    prompt_id: p.id,
                    number: v,
                    hash: hash.clone(),
                    parent_hash: parent.clone(),
                    content: String::from_utf8(bytes).unwrap(),
                    author: "bench".into(),
                    message: format!("revision {v}"),
                    created_at: "2026-11-20T00:00:00.000Z".into(),
                },
            )
            .unwrap();
            labels::set(
                &tx,
                p.id,
                "latest",
                parent.as_deref(),
                &hash,
                "bench",
                "2026-11-20T00:00:00.000Z",
                "",
            )
            .unwrap();
            parent = Some(hash);
        }
        search::index(&tx, p.id, &p.name, "", &template(i, VERSIONS_PER_PROMPT)).unwrap();
    }
    tx.commit().unwrap();
}

fn big_registry() -> PathBuf {
    let dir = target_dir().join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("registry-{PROMPTS}x{VERSIONS_PER_PROMPT}-v1.db"));
    if !path.exists() {
        let tmp = path.with_extension("building");
        let _ = std::fs::remove_file(&tmp);
        let started = Instant::now();
        build(&tmp);
        std::fs::rename(&tmp, &path).unwrap();
        for ext in ["building-wal", "building-shm"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        eprintln!("built {} in {:?}", path.display(), started.elapsed());
    }
    path
}

/// p50 and p99 of `runs` timed calls, in microseconds.
fn percentiles(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

fn main() {
    let path = big_registry();
    let reg = Registry::open(&path).unwrap();
    let mut figures = serde_json::Map::new();
    let mut record = |name: &str, (p50, p99): (f64, f64)| {
        println!("{name}: p50 {:.1} µs, p99 {:.1} µs", p50, p99);
        figures.insert(name.into(), json!({"p50_us": p50, "p99_us": p99}));
    };

    let mut i = 0usize;
    let mut next = || {
        i = (i + 7919) % PROMPTS;
        i
    };
    record(
        "list_folder_100_prompts",
        percentiles(300, || {
            black_box(
                reg.list(Some(&format!("team-{:03}", next() % FOLDERS)))
                    .unwrap(),
            );
        }),
    );
    record(
        "load_version",
        percentiles(2000, || {
            let n = next();
            black_box(
                reg.resolve(&prompt_name(n), Some(&Ref::Number((n % 20) as u32 + 1)))
                    .unwrap(),
            );
        }),
    );
    record(
        "history_page_50",
        percentiles(2000, || {
            black_box(reg.history(&prompt_name(next()), None, 50).unwrap());
        }),
    );
    let queries = [
        "Q4242X20",
        "apology policy",
        "number 777.",
        "priority handling",
        "renewal number 99",
    ];
    let mut q = 0;
    record(
        "search_current_text",
        percentiles(300, || {
            q += 1;
            black_box(reg.search(queries[q % queries.len()], 50).unwrap());
        }),
    );

    // Commit rate with full durability, on a copy so the big registry stays as built.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("commit.db");
    std::fs::copy(&path, &copy).unwrap();
    let mut writer = Registry::open(&copy).unwrap();
    writer.set_actor("bench");
    let commits = 200;
    let started = Instant::now();
    for c in 0..commits {
        let name = prompt_name(c * 37 % PROMPTS);
        writer
            .save_draft(
                &name,
                DraftContent {
                    body: Body::Text {
                        template: format!("{} -- edit {c}", template(c, 99)),
                    },
                    variables: vec![],
                    model: ModelSettings::default(),
                },
            )
            .unwrap();
        writer.commit(&name, "bench commit").unwrap();
    }
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    println!("commit rate (draft save + commit, synchronous=FULL): {rate:.0} per second");
    figures.insert("commits_per_second".into(), json!(rate));
    figures.insert("prompts".into(), json!(PROMPTS));
    figures.insert(
        "versions".into(),
        json!(PROMPTS * VERSIONS_PER_PROMPT as usize),
    );

    let out = target_dir().join("figures");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("registry.json"),
        serde_json::to_string_pretty(&figures).unwrap() + "\n",
    )
    .unwrap();
    println!("figures written to {}", out.join("registry.json").display());

    // Criterion's own statistics for the same reads.
    let mut c = Criterion::default().configure_from_args().sample_size(50);
    c.bench_function("registry/list_folder", |b| {
        b.iter(|| reg.list(Some("team-042")).unwrap())
    });
    c.bench_function("registry/load_version", |b| {
        b.iter(|| {
            reg.resolve("team-042/prompt-00042", Some(&Ref::Number(7)))
                .unwrap()
        })
    });
    c.bench_function("registry/history_page", |b| {
        b.iter(|| reg.history("team-042/prompt-00042", None, 50).unwrap())
    });
    c.bench_function("registry/search", |b| {
        b.iter(|| reg.search("apology policy", 50).unwrap())
    });
    c.final_summary();
}
