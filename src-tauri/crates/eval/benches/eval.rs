//! Eval runs against the local fake provider, and promptfoo on the same load.
//!
//! 1. **300 cases, concurrency 16, the fake answering in 200 ms**: the ideal is 300/16 × 0.2 s
//!    = 3.75 s; we report the run's wall time and its ratio to that, with an in-memory sink and
//!    with a sink writing each result to a SQLite file (a plain results table and a reply
//!    cache, WAL, `synchronous=FULL`, one transaction per result — standing in for the
//!    registry's store until it lands), and the same sink committing once per batch the runner
//!    hands over ([`Sink::record_many`]).
//! 2. **10,000 cases, concurrency 16, the fake answering in 1 ms**: peak RSS growth during the
//!    run (VmHWM after the run minus VmRSS before it, with VmHWM reset through
//!    `/proc/self/clear_refs` first), with both SQLite sinks and with a sink that only counts.
//!    The plan (10,000 jobs) is built before the baseline is taken.
//! 3. **promptfoo** (from npm, pinned in `benches/promptfoo/package.json`, installed there with
//!    `npm install` when missing; `node_modules` is git-ignored) evaluates the same 300 prompts
//!    against the same fake (`openai:chat:echo` with `apiBaseUrl`), `--max-concurrency 16
//!    --no-cache`, results into its own SQLite database in a temporary config dir. Our side of
//!    the comparison is the SQLite-sink runs of (1). Both are separate processes measured the
//!    same way: wall time from spawn to exit, peak RSS from `wait4`. promptfoo runs with
//!    `PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_DISABLE_SHARING=1
//!    PROMPTFOO_DISABLE_REMOTE_GENERATION=1`; even so it sends one "telemetry disabled" event
//!    to its own server (its telemetry module does so whenever telemetry is disabled); the
//!    figures note it. `PROMPTDESK_BENCH_PROMPTFOO=0` skips promptfoo; when it cannot install
//!    or run, the figures say why and ours are still written.
//!
//! Every measured run is its own process (this binary again, in a role chosen by
//! `PROMPTDESK_EVAL_BENCH_ROLE`), so one run's memory never counts in another's, and the fake
//! runs in a process of its own (the same binary in the `fake` role, i.e. promptdesk-fakellm).
//! Each 300-case configuration runs `PROMPTDESK_BENCH_REPEAT` times (default 3); medians are
//! reported. The fake's own counts (`/_stats`) check that every request was answered 200 and
//! how many were in flight at once.
//!
//! Figures go to `$CARGO_TARGET_DIR/figures/eval.json` (or the workspace's `target/`).
//! `cargo bench -p promptdesk-eval --bench eval` (run by tests/bench.sh).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promptdesk_eval::{
    run, CancellationToken, ChatRequest, Job, JobOutcome, MemorySink, Message, Plan, Provider,
    ProviderConfig, ProviderKind, Reply, RunEnd, Sink, SinkError,
};
use promptdesk_fakellm::process::FakeProcess;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

const ROLE: &str = "PROMPTDESK_EVAL_BENCH_ROLE";
const CASES: usize = 300;
const CONCURRENCY: usize = 16;
const LATENCY_MS: u64 = 200;
const BIG_CASES: usize = 10_000;
const BIG_LATENCY_MS: u64 = 1;

fn main() -> std::process::ExitCode {
    match std::env::var(ROLE).as_deref() {
        Ok("fake") => return promptdesk_fakellm::cli::run(std::env::args_os()),
        Ok("ours") => ours(),
        _ => orchestrate(),
    }
    std::process::ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// The measured run (role "ours")

/// The prompt both tools send for case `i` (promptfoo renders it from its template).
fn prompt(i: usize) -> String {
    format!("Answer the customer: question {i}: where is my order?")
}

fn plan(cases: usize, concurrency: usize) -> Plan {
    let jobs = (0..cases)
        .map(|i| Job {
            case_id: format!("case-{i}"),
            request: ChatRequest {
                model: "echo".into(),
                messages: vec![Message {
                    role: "user".into(),
                    content: prompt(i),
                }],
                parameters: BTreeMap::from([("temperature".to_string(), json!(0))]),
            },
            cache_key: format!("bench-{i}"),
            rubrics: Vec::new(),
        })
        .collect();
    Plan {
        concurrency,
        ..Plan::new(jobs)
    }
}

/// Results in a SQLite file with a reply cache: what the registry's store will do, minus its
/// schema. One transaction per result, or (`batched`) one per batch the runner hands over.
struct SqliteSink {
    db: Connection,
    batched: bool,
}

impl SqliteSink {
    fn open(path: &Path, batched: bool) -> rusqlite::Result<SqliteSink> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS results (
                 case_id TEXT PRIMARY KEY, cache_key TEXT NOT NULL, output TEXT, error TEXT,
                 tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
                 latency_ms INTEGER NOT NULL, cost REAL, cached INTEGER NOT NULL,
                 attempts INTEGER NOT NULL, verdicts TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cache (
                 key TEXT PRIMARY KEY, output TEXT NOT NULL, tokens_in INTEGER NOT NULL,
                 tokens_out INTEGER NOT NULL, latency_ms INTEGER NOT NULL, cost REAL,
                 finish_reason TEXT);
             CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, ended TEXT NOT NULL);",
        )?;
        Ok(SqliteSink { db, batched })
    }

    fn write(tx: &rusqlite::Transaction<'_>, o: JobOutcome) -> rusqlite::Result<()> {
        let (output, error) = match &o.result {
            Ok(r) => (Some(r.text.as_str()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let reply = o.result.as_ref().ok();
        let verdicts: Vec<Value> = o
            .rubric_verdicts
            .iter()
            .map(|v| match v {
                Ok(v) => json!({"pass": v.pass, "score": v.score, "reason": v.reason}),
                Err(e) => json!({"error": e.to_string()}),
            })
            .collect();
        tx.prepare_cached(
            "INSERT OR REPLACE INTO results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            o.case_id,
            o.cache_key,
            output,
            error,
            reply.map_or(0, |r| r.tokens_in as i64),
            reply.map_or(0, |r| r.tokens_out as i64),
            reply.map_or(0, |r| r.latency_ms as i64),
            reply.and_then(|r| r.cost),
            o.cached,
            o.attempts,
            Value::Array(verdicts).to_string(),
        ])?;
        if let (Some(r), false) = (reply, o.cached) {
            tx.prepare_cached("INSERT OR REPLACE INTO cache VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
                .execute(params![
                    o.cache_key,
                    r.text,
                    r.tokens_in as i64,
                    r.tokens_out as i64,
                    r.latency_ms as i64,
                    r.cost,
                    r.finish_reason
                ])?;
        }
        Ok(())
    }
}

impl Sink for SqliteSink {
    fn cached(&mut self, key: &str) -> Option<Reply> {
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT output, tokens_in, tokens_out, latency_ms, cost, finish_reason
                 FROM cache WHERE key = ?1",
            )
            .ok()?;
        stmt.query_row([key], |r| {
            Ok(Reply {
                text: r.get(0)?,
                tokens_in: r.get::<_, i64>(1)? as u64,
                tokens_out: r.get::<_, i64>(2)? as u64,
                latency_ms: r.get::<_, i64>(3)? as u64,
                cost: r.get(4)?,
                finish_reason: r.get(5)?,
            })
        })
        .optional()
        .ok()
        .flatten()
    }

    fn record(&mut self, o: JobOutcome) -> Result<(), SinkError> {
        let tx = self.db.transaction()?;
        Self::write(&tx, o)?;
        tx.commit()?;
        Ok(())
    }

    fn record_many(&mut self, outcomes: Vec<JobOutcome>) -> Result<(), SinkError> {
        if !self.batched {
            for o in outcomes {
                self.record(o)?;
            }
            return Ok(());
        }
        let tx = self.db.transaction()?;
        for o in outcomes {
            Self::write(&tx, o)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn finish(&mut self, end: RunEnd) -> Result<(), SinkError> {
        self.db
            .execute("INSERT INTO runs (ended) VALUES (?1)", [format!("{end:?}")])?;
        Ok(())
    }
}

/// Counts results and keeps nothing: the runner's own footprint.
struct CountingSink(u64);

impl Sink for CountingSink {
    fn cached(&mut self, _: &str) -> Option<Reply> {
        None
    }
    fn record(&mut self, _: JobOutcome) -> Result<(), SinkError> {
        self.0 += 1;
        Ok(())
    }
    fn finish(&mut self, _: RunEnd) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the orchestrator"))
}

/// Role "ours": one run, configured through the environment; prints one JSON line.
fn ours() {
    let url = env("PROMPTDESK_EVAL_BENCH_URL");
    let cases: usize = env("PROMPTDESK_EVAL_BENCH_CASES").parse().unwrap();
    let sink_kind = env("PROMPTDESK_EVAL_BENCH_SINK");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let provider =
        Arc::new(Provider::new(ProviderConfig::new("fake", ProviderKind::OpenAi, url)).unwrap());
    let plan = plan(cases, CONCURRENCY);
    let sqlite = match sink_kind.as_str() {
        "sqlite" | "sqlite-batched" => Some(
            SqliteSink::open(
                Path::new(&env("PROMPTDESK_EVAL_BENCH_DB")),
                sink_kind == "sqlite-batched",
            )
            .unwrap(),
        ),
        _ => None,
    };

    let clear_refs_ok = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kb("VmRSS:");
    let sampling = Arc::new(AtomicBool::new(true));
    let highest = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (sampling, highest) = (sampling.clone(), highest.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut tick = 0u64;
            while sampling.load(Ordering::Relaxed) {
                let now = status_kb("VmRSS:");
                highest.fetch_max(now, Ordering::Relaxed);
                if tick % 20 == 0 {
                    samples.push(now);
                }
                tick += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            samples
        })
    };
    let provider: Arc<dyn promptdesk_eval::Complete> = provider;
    let started = Instant::now();
    let summary = rt.block_on(async {
        let cancel = CancellationToken::new();
        match (sink_kind.as_str(), sqlite) {
            (_, Some(s)) => run(plan, provider, s, |_| {}, cancel).await,
            ("count", _) => run(plan, provider, CountingSink(0), |_| {}, cancel).await,
            _ => run(plan, provider, MemorySink::new(), |_| {}, cancel).await,
        }
    });
    let eval_s = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let hwm = status_kb("VmHWM:");
    let out = json!({
        "eval_s": eval_s,
        "summary": summary,
        "clear_refs_ok": clear_refs_ok,
        "rss_before_kb": rss_before,
        "hwm_kb": hwm,
        "sampled_max_kb": highest.load(Ordering::Relaxed),
        "rss_after_kb": status_kb("VmRSS:"),
        "rss_samples_every_500ms_kb": samples,
    });
    println!("{out}");
}

// ---------------------------------------------------------------------------------------------
// The orchestrator

/// A fake provider in a process of its own (this binary in the `fake` role).
struct Fake {
    process: FakeProcess,
    url: String,
}

impl Fake {
    fn start(latency_ms: u64) -> Fake {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--port", "0", "--latency-ms"])
            .arg(latency_ms.to_string())
            .env(ROLE, "fake");
        let process = FakeProcess::spawn(command).expect("the fake starts");
        let url = process.url().to_string();
        Fake { process, url }
    }

    /// The counts that matter for a run, then reset.
    fn take_stats(&self) -> Value {
        let s = self.process.stats();
        self.process.reset_stats();
        json!({
            "requests": s["total"],
            "by_status": s["by_status"],
            "max_in_flight": s["max_in_flight"],
        })
    }
}

/// A finished child process: its stdout, exit status, wall time and peak RSS.
struct Measured {
    stdout: String,
    success: bool,
    wall_s: f64,
    max_rss_kb: u64,
}

/// Runs `cmd` to its end, measuring wall time and peak RSS (`wait4`'s ru_maxrss: the process
/// and any descendants it waited for).
fn measure(mut cmd: Command) -> std::io::Result<Measured> {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn()?;
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain syscall on our own child; `usage` is a valid, zeroed rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    if waited != pid {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Measured {
        stdout,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        wall_s,
        max_rss_kb: usage.ru_maxrss as u64,
    })
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mb(kb: u64) -> f64 {
    (kb as f64 / 1024.0 * 10.0).round() / 10.0
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// One of our runs in a child process.
fn run_ours(fake: &Fake, cases: usize, sink: &str, db: Option<&Path>) -> Value {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(ROLE, "ours")
        .env("PROMPTDESK_EVAL_BENCH_URL", &fake.url)
        .env("PROMPTDESK_EVAL_BENCH_CASES", cases.to_string())
        .env("PROMPTDESK_EVAL_BENCH_SINK", sink);
    if let Some(db) = db {
        let _ = std::fs::remove_file(db);
        cmd.env("PROMPTDESK_EVAL_BENCH_DB", db);
    }
    let m = measure(cmd).expect("our run starts");
    assert!(m.success, "our run failed: {}", m.stdout);
    let mut out: Value = serde_json::from_str(m.stdout.trim()).expect("our run prints JSON");
    out["process_wall_s"] = json!(m.wall_s);
    out["process_max_rss_kb"] = json!(m.max_rss_kb);
    out["fake"] = fake.take_stats();
    out
}

fn repeat() -> usize {
    std::env::var("PROMPTDESK_BENCH_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

fn figures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("figures");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .join("target")
        .join("figures")
}

/// The 300-case runs with one sink: each run's figures and the medians.
fn three_hundred(fake: &Fake, sink: &str, db: Option<&Path>) -> (Value, Vec<Value>) {
    let ideal = CASES as f64 / CONCURRENCY as f64 * LATENCY_MS as f64 / 1000.0;
    let runs: Vec<Value> = (0..repeat())
        .map(|i| {
            let r = run_ours(fake, CASES, sink, db);
            eprintln!(
                "eval bench: 300 cases, {sink} sink, run {}: {:.3} s (process {:.3} s, peak RSS {:.1} MB)",
                i + 1,
                r["eval_s"].as_f64().unwrap(),
                r["process_wall_s"].as_f64().unwrap(),
                mb(r["process_max_rss_kb"].as_u64().unwrap())
            );
            r
        })
        .collect();
    let evals: Vec<f64> = runs.iter().map(|r| r["eval_s"].as_f64().unwrap()).collect();
    let walls: Vec<f64> = runs
        .iter()
        .map(|r| r["process_wall_s"].as_f64().unwrap())
        .collect();
    let rss: Vec<f64> = runs
        .iter()
        .map(|r| r["process_max_rss_kb"].as_f64().unwrap())
        .collect();
    let summary = json!({
        "eval_s_runs": evals.iter().map(|x| round(*x, 3)).collect::<Vec<_>>(),
        "eval_s_median": round(median(&evals), 3),
        "ratio_to_ideal": round(median(&evals) / ideal, 3),
        "process_wall_s_median": round(median(&walls), 3),
        "process_peak_rss_mb_median": mb(median(&rss) as u64),
        "failed_jobs": runs.iter().map(|r| r["summary"]["failed"].as_u64().unwrap_or(0)).sum::<u64>(),
        "fake_saw": runs.iter().map(|r| r["fake"].clone()).collect::<Vec<_>>(),
    });
    (summary, runs)
}

fn ten_thousand(fake: &Fake, sink: &str, db: Option<&Path>) -> Value {
    let r = run_ours(fake, BIG_CASES, sink, db);
    let before = r["rss_before_kb"].as_u64().unwrap();
    let hwm = r["hwm_kb"].as_u64().unwrap();
    let eval_s = r["eval_s"].as_f64().unwrap();
    let out = json!({
        "eval_s": round(eval_s, 3),
        "cases_per_s": round(BIG_CASES as f64 / eval_s, 1),
        "failed_jobs": r["summary"]["failed"],
        "clear_refs_worked": r["clear_refs_ok"],
        "rss_before_mb": mb(before),
        "peak_rss_mb": mb(hwm),
        "peak_rss_growth_mb": mb(hwm.saturating_sub(before)),
        "sampled_peak_growth_mb": mb(r["sampled_max_kb"].as_u64().unwrap().saturating_sub(before)),
        "rss_after_mb": mb(r["rss_after_kb"].as_u64().unwrap()),
        "rss_samples_every_500ms_mb": r["rss_samples_every_500ms_kb"]
            .as_array()
            .map(|a| a.iter().map(|k| mb(k.as_u64().unwrap_or(0))).collect::<Vec<_>>()),
        "fake_saw": r["fake"],
    });
    eprintln!(
        "eval bench: 10,000 cases, {sink} sink: {:.2} s, peak RSS growth {} MB",
        eval_s, out["peak_rss_growth_mb"]
    );
    out
}

fn promptfoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/promptfoo")
}

/// promptfoo's binary, installing it first when it is missing.
fn promptfoo_binary() -> Result<PathBuf, String> {
    let dir = promptfoo_dir();
    let bin = dir.join("node_modules/.bin/promptfoo");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "eval bench: installing promptfoo with npm install in {}",
        dir.display()
    );
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("npm could not run: {e}"))?;
    if !out.status.success() || !bin.exists() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!(
            "npm install failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok(bin)
}

fn promptfoo_version() -> Option<String> {
    let text = std::fs::read_to_string(promptfoo_dir().join("node_modules/promptfoo/package.json"))
        .ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["version"].as_str().map(str::to_string)
}

const PROMPTFOO_ENV: [(&str, &str); 10] = [
    ("PROMPTFOO_DISABLE_TELEMETRY", "1"),
    ("PROMPTFOO_DISABLE_UPDATE", "1"),
    ("PROMPTFOO_DISABLE_SHARING", "1"),
    ("PROMPTFOO_DISABLE_REMOTE_GENERATION", "1"),
    ("PROMPTFOO_DISABLE_RUNTIME_WARNINGS", "1"),
    ("PROMPTFOO_CACHE_ENABLED", "false"),
    ("OPENAI_API_KEY", "dummy-key-for-the-local-fake"),
    ("NO_COLOR", "1"),
    ("CI", "1"),
    ("NODE_NO_WARNINGS", "1"),
];

/// promptfoo on the 300 cases, `repeat()` times.
fn promptfoo(fake: &Fake) -> Result<Value, String> {
    let bin = promptfoo_binary()?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = json!({
        "description": "promptdesk eval benchmark",
        "prompts": ["Answer the customer: {{question}}"],
        "providers": [{
            "id": "openai:chat:echo",
            "config": {"apiBaseUrl": format!("{}/v1", fake.url), "temperature": 0}
        }],
        "tests": (0..CASES)
            .map(|i| json!({"vars": {"question": format!("question {i}: where is my order?")}}))
            .collect::<Vec<_>>(),
    });
    // JSON is YAML.
    let config_path = work.path().join("promptfooconfig.yaml");
    std::fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for i in 0..repeat() {
        let config_dir = work.path().join(format!("config-{i}"));
        std::fs::create_dir_all(&config_dir).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&bin);
        cmd.args(["eval", "-c"])
            .arg(&config_path)
            .args([
                "--max-concurrency",
                &CONCURRENCY.to_string(),
                "--no-cache",
                "--no-progress-bar",
                "--no-table",
            ])
            .current_dir(work.path())
            .env("PROMPTFOO_CONFIG_DIR", &config_dir)
            .stderr(Stdio::null());
        for (k, v) in PROMPTFOO_ENV {
            cmd.env(k, v);
        }
        let m = measure(cmd).map_err(|e| format!("promptfoo could not run: {e}"))?;
        let seen = fake.take_stats();
        let answered = seen["by_status"]["200"].as_u64().unwrap_or(0);
        if !m.success || answered != CASES as u64 {
            let tail: Vec<&str> = m.stdout.lines().rev().take(8).collect();
            return Err(format!(
                "promptfoo run {} did not complete ({} of {CASES} requests answered 200; success {}): {}",
                i + 1,
                answered,
                m.success,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        let reported = m
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("Duration:"))
            .map(|l| l.trim().to_string());
        eprintln!(
            "eval bench: promptfoo run {}: process {:.3} s, peak RSS {:.1} MB ({})",
            i + 1,
            m.wall_s,
            mb(m.max_rss_kb),
            reported.as_deref().unwrap_or("no duration line")
        );
        runs.push(json!({
            "process_wall_s": round(m.wall_s, 3),
            "process_peak_rss_mb": mb(m.max_rss_kb),
            "promptfoo_reported": reported,
            "fake_saw": seen,
        }));
    }
    let walls: Vec<f64> = runs
        .iter()
        .map(|r| r["process_wall_s"].as_f64().unwrap())
        .collect();
    let rss: Vec<f64> = runs
        .iter()
        .map(|r| r["process_peak_rss_mb"].as_f64().unwrap())
        .collect();
    Ok(json!({
        "version": promptfoo_version(),
        "node": Command::new("node").arg("--version").output().ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()),
        "command": format!("promptfoo eval -c promptfooconfig.yaml --max-concurrency {CONCURRENCY} --no-cache --no-progress-bar --no-table"),
        "env": PROMPTFOO_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "phones_home": "yes, even with PROMPTFOO_DISABLE_TELEMETRY=1: its telemetry module then sends one 'telemetry disabled' event (user id, versions, platform) to its events endpoint (seen with strace on 0.121.20 as a DNS lookup of r.promptfoo.app); no machine here has a route there, so the request fails in the background. Update checks are off (PROMPTFOO_DISABLE_UPDATE=1)",
        "runs": runs,
        "process_wall_s_median": round(median(&walls), 3),
        "process_peak_rss_mb_median": round(median(&rss), 1),
    }))
}

fn orchestrate() {
    let mut figures = serde_json::Map::new();
    let db_dir = tempfile::tempdir().expect("a temporary directory");
    let db = db_dir.path().join("results.db");
    figures.insert(
        "setup".into(),
        json!({
            "machine_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "fake": "promptdesk-fakellm in its own process, model echo, OpenAI dialect",
            "each_run": "its own process; medians over PROMPTDESK_BENCH_REPEAT runs",
            "repeat": repeat(),
        }),
    );

    let fake = Fake::start(LATENCY_MS);
    let ideal = CASES as f64 / CONCURRENCY as f64 * LATENCY_MS as f64 / 1000.0;
    let (memory, _) = three_hundred(&fake, "memory", None);
    let (sqlite, _) = three_hundred(&fake, "sqlite", Some(&db));
    let (batched, _) = three_hundred(&fake, "sqlite-batched", Some(&db));
    figures.insert(
        "cases_300_concurrency_16_latency_200ms".into(),
        json!({
            "ideal_s": ideal,
            "memory_sink": memory,
            "sqlite_sink_transaction_per_result": sqlite,
            "sqlite_sink_transaction_per_batch": batched,
        }),
    );

    let skip = std::env::var("PROMPTDESK_BENCH_PROMPTFOO").is_ok_and(|v| v == "0");
    let peer = if skip {
        json!({"skipped": "PROMPTDESK_BENCH_PROMPTFOO=0"})
    } else {
        match promptfoo(&fake) {
            Ok(p) => {
                let theirs_wall = p["process_wall_s_median"].as_f64().unwrap();
                let theirs_rss = p["process_peak_rss_mb_median"].as_f64().unwrap();
                let versus = |ours: &Value| {
                    let wall = ours["process_wall_s_median"].as_f64().unwrap();
                    let rss = ours["process_peak_rss_mb_median"].as_f64().unwrap();
                    json!({
                        "wall_time_ratio_ours_over_promptfoo": round(wall / theirs_wall, 3),
                        "peak_rss_ratio_ours_over_promptfoo": round(rss / theirs_rss, 3),
                        "ours_process_wall_s": wall,
                        "ours_peak_rss_mb": rss,
                    })
                };
                figures.insert(
                    "ours_vs_promptfoo".into(),
                    json!({
                        "ours": "the 300-case SQLite-sink runs above, as processes (promptfoo also writes its results to SQLite)",
                        "promptfoo_process_wall_s": theirs_wall,
                        "promptfoo_peak_rss_mb": theirs_rss,
                        "transaction_per_result": versus(&sqlite),
                        "transaction_per_batch": versus(&batched),
                    }),
                );
                p
            }
            Err(why) => {
                eprintln!("eval bench: promptfoo not measured: {why}");
                json!({"error": why, "version": promptfoo_version()})
            }
        }
    };
    figures.insert("promptfoo".into(), peer);
    drop(fake);

    let fast = Fake::start(BIG_LATENCY_MS);
    figures.insert(
        "cases_10000_concurrency_16_latency_1ms".into(),
        json!({
            "sqlite_sink_transaction_per_result": ten_thousand(&fast, "sqlite", Some(&db)),
            "sqlite_sink_transaction_per_batch": ten_thousand(&fast, "sqlite-batched", Some(&db)),
            "counting_sink": ten_thousand(&fast, "count", None),
        }),
    );
    drop(fast);

    let dir = figures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("eval.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(figures)).unwrap() + "\n",
    )
    .unwrap();
    println!("figures written to {}", path.display());
}
