//! The eval path as a user runs it: the `promptdesk eval` command (registry → render worker →
//! runner → registry sink, one transaction per batch of results) against the local fake
//! provider, and promptfoo on the config `promptdesk export-promptfoo` writes for the same
//! version and suite.
//!
//! The registry is made with the CLI itself, in a temporary directory: a text prompt
//! `bench/reply` (`Answer {{ customer }} about order {{ order }}: where is my parcel?`, model
//! `openai`/`echo`), committed as version 1; a suite `load` imported from a generated CSV (one
//! `contains: order N` assertion per case); the provider `openai` pointed at the fake. The fake
//! (`promptdesk-fakellm`'s program, run as this same binary in the `fake` role) is a process of
//! its own. Every measured command is a process of its own, measured from spawn to exit (wall
//! time) and by `wait4`'s `ru_maxrss` (peak RSS of the process and of the descendants it
//! waited for — for us the render worker, for promptfoo whatever node starts; the larger of
//! them, not their sum). The main process's own high-water mark (`VmHWM`, read from /proc every
//! 20 ms while it runs) is reported next to it.
//!
//! 1. **300 cases, concurrency 16, the fake answering in 200 ms**: `promptdesk eval
//!    bench/reply@1 --suite load --concurrency 16`, `PROMPTDESK_BENCH_REPEAT` times (default
//!    3), each on a **fresh registry** (the registry's reply cache would answer runs 2+ without
//!    a request). Medians, and the ratio to the ideal 300 / 16 × 0.2 s = 3.75 s. Where the time
//!    goes: the moment the command's "running suite …" line reaches stderr (the run is
//!    recorded and every case rendered), and the first request's arrival and the last
//!    answer at the fake (its request log, put on our clock by one calibration request); from
//!    that log also the fake's own answer time, the mean number in flight and how long a
//!    finished request's slot stayed empty before the next request arrived (refill gap). CPU
//!    time (`wait4`'s rusage) and the main process's highest RSS within each phase as well.
//! 2. **Fixed overhead**: the same command on a 1-case suite (fresh registry each time); its
//!    wall time minus the 0.2 s of the one request is what any run pays. Alternating with it,
//!    a diagnostic run with `SSL_CERT_FILE`/`SSL_CERT_DIR` pointing at an empty file and
//!    directory: what loading the system CA bundle into the provider's HTTP client costs
//!    (the provider here is plain http).
//! 3. **10,000 cases, concurrency 16, the fake answering in 1 ms**: peak RSS of that run minus
//!    peak RSS of a run of a 10-case suite (both fresh registries of the same shape) is the
//!    peak memory growth; both raw figures, the highest RSS within each phase and the
//!    10,000-case wall time are reported.
//! 4. **promptfoo** (from npm, the pinned version of the eval crate's benchmark, installed in
//!    `src-tauri/crates/eval/benches/promptfoo` with `npm install` when missing) runs `eval -c
//!    promptfooconfig.yaml --max-concurrency 16 --no-cache --no-progress-bar --no-table` in the
//!    directory `promptdesk export-promptfoo bench/reply@1 DIR --suite load` wrote, with a
//!    fresh `PROMPTFOO_CONFIG_DIR` per run (its results database lives there) and the
//!    environment that turns off its telemetry, update checks and sharing. Its runs alternate
//!    with ours (ours 1, promptfoo 1, ours 2, …) so that a change in the machine's load hits
//!    both. The fake's counts check that every run sent 300 requests, all answered 200, with
//!    16 in flight at most. `PROMPTDESK_BENCH_PROMPTFOO=0` skips it; when it cannot install
//!    or run, the figures say why and ours are still written.
//!
//! Figures go to `$CARGO_TARGET_DIR/figures/eval-cli.json` (or the workspace's `target/`).
//! `cargo bench -p promptdesk-cli --bench eval_cli` (run by tests/bench.sh).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use promptdesk_fakellm::process::FakeProcess;
use serde_json::{json, Value};

const ROLE: &str = "PROMPTDESK_EVAL_CLI_BENCH_ROLE";
const PROMPTDESK: &str = env!("CARGO_BIN_EXE_promptdesk");
const PROMPT: &str = "bench/reply";
const SPEC: &str = "bench/reply@1";
const SUITE: &str = "load";
const TEMPLATE: &str = "Answer {{ customer }} about order {{ order }}: where is my parcel?";
const CASES: usize = 300;
const CONCURRENCY: usize = 16;
const LATENCY_MS: u64 = 200;
const BIG_CASES: usize = 10_000;
const SMALL_CASES: usize = 10;
const BIG_LATENCY_MS: u64 = 1;
/// How many requests the fake's log keeps; a longer run's log misses its first requests.
const FAKE_LOG: u64 = promptdesk_fakellm::LOG_CAPACITY as u64;

fn main() -> std::process::ExitCode {
    if std::env::var(ROLE).as_deref() == Ok("fake") {
        return promptdesk_fakellm::cli::run(std::env::args_os());
    }
    orchestrate();
    std::process::ExitCode::SUCCESS
}

/// The orchestrator's clock: every time in the figures is seconds since this.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn now_s() -> f64 {
    base().elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// The fake provider

/// A fake provider in a process of its own (this binary in the `fake` role).
struct Fake {
    process: FakeProcess,
    url: String,
    /// Our clock minus the fake's (seconds): a time in its request log plus this is ours.
    offset_s: f64,
}

impl Fake {
    fn start(latency_ms: u64) -> Fake {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--port", "0", "--latency-ms"])
            .arg(latency_ms.to_string())
            .env(ROLE, "fake");
        let process = FakeProcess::spawn(command).expect("the fake starts");
        let mut fake = Fake {
            url: process.url().to_string(),
            process,
            offset_s: 0.0,
        };
        fake.calibrate();
        fake
    }

    /// One completion request, sent at a known time on our clock: where its arrival sits in the
    /// fake's log gives the offset between the clocks (to within the time a local connect
    /// takes, well under a millisecond).
    fn calibrate(&mut self) {
        self.process.reset_stats();
        let sent = now_s();
        self.process
            .http(
                "POST /v1/chat/completions",
                &json!({"model": "echo", "messages": [{"role": "user", "content": "calibrate"}]})
                    .to_string(),
            )
            .expect("the fake answers");
        let s = self.process.stats();
        let received_ms = s["requests"][0]["received_ms"]
            .as_f64()
            .expect("the fake logged the calibration request");
        self.offset_s = sent - received_ms / 1000.0;
        self.process.reset_stats();
    }

    /// What the fake saw since the last reset, then reset: counts, and (on our clock) when the
    /// first logged request arrived and the last answer was ready.
    fn take_stats(&self) -> Value {
        let s = self.process.stats();
        self.process.reset_stats();
        let log = s["requests"].as_array().cloned().unwrap_or_default();
        let total = s["total"].as_u64().unwrap_or(0);
        let first = log
            .iter()
            .filter_map(|r| r["received_ms"].as_f64())
            .fold(f64::INFINITY, f64::min);
        let last = log
            .iter()
            .filter_map(|r| r["ended_ms"].as_f64())
            .fold(f64::NEG_INFINITY, f64::max);
        let complete = total <= FAKE_LOG && !log.is_empty();
        let times = |k: &str| -> Vec<f64> {
            let mut v: Vec<f64> = log.iter().filter_map(|r| r[k].as_f64()).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (starts, ends) = (times("received_ms"), times("ended_ms"));
        let service: Vec<f64> = log
            .iter()
            .filter_map(|r| Some(r["ended_ms"].as_f64()? - r["received_ms"].as_f64()?))
            .collect();
        // How long after an answer its slot's next request arrived: the (i+16)-th request
        // after the i-th answer, when 16 are in flight.
        let gaps: Vec<f64> = (0..starts.len().saturating_sub(CONCURRENCY))
            .map(|i| starts[i + CONCURRENCY] - ends[i])
            .collect();
        let analysis = if complete && starts.len() == ends.len() {
            let window = last - first;
            let mut sorted = gaps.clone();
            sorted.sort_by(f64::total_cmp);
            let pct = |q: f64| {
                sorted
                    .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                    .map(|x| round(*x, 1))
            };
            json!({
                "answer_ms_mean": round(service.iter().sum::<f64>() / service.len() as f64, 1),
                "mean_in_flight": round(service.iter().sum::<f64>() / window, 2),
                "refill_gap_ms_median": pct(0.5),
                "refill_gap_ms_p90": pct(0.9),
                "refill_gap_ms_max": pct(1.0),
            })
        } else {
            Value::Null
        };
        json!({
            "requests": total,
            "by_status": s["by_status"],
            "max_in_flight": s["max_in_flight"],
            "aborted": s["aborted"],
            "log_has_every_request": total <= FAKE_LOG,
            "timing": analysis,
            "first_request_at_s": first.is_finite().then(|| first / 1000.0 + self.offset_s),
            "last_answer_at_s": last.is_finite().then(|| last / 1000.0 + self.offset_s),
        })
    }
}

/// Every request answered 200 and the most in flight at once.
fn fake_verdict(seen: &Value, cases: usize) -> Result<(), String> {
    let total = seen["requests"].as_u64().unwrap_or(0);
    let ok = seen["by_status"]["200"].as_u64().unwrap_or(0);
    let most = seen["max_in_flight"].as_u64().unwrap_or(0);
    if total != cases as u64 || ok != cases as u64 {
        return Err(format!(
            "the fake saw {total} request(s), {ok} answered 200, for {cases} case(s)"
        ));
    }
    if cases >= CONCURRENCY && most != CONCURRENCY as u64 {
        return Err(format!(
            "the fake saw at most {most} request(s) in flight, not {CONCURRENCY}"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring a process

/// A finished child process.
struct Measured {
    stdout: String,
    /// Each stderr line with when it arrived (seconds on our clock).
    stderr: Vec<(f64, String)>,
    success: bool,
    code: Option<i32>,
    started_at_s: f64,
    wall_s: f64,
    /// `wait4`'s ru_maxrss: the process and the descendants it waited for (the larger).
    max_rss_kb: u64,
    /// The main process's own VmHWM, last read before it exited.
    main_hwm_kb: u64,
    /// The largest VmHWM read of any child of the main process.
    children_hwm_kb: u64,
    /// How many times /proc was read.
    samples: u64,
    /// The main process's VmRSS at each read: (seconds on our clock, kB).
    rss_timeline: Vec<(f64, u64)>,
    /// CPU time (`wait4`: the process and the descendants it waited for).
    user_s: f64,
    sys_s: f64,
}

fn proc_kb(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Runs `cmd` to its end: stdout, stderr lines with their times, wall time from spawn to exit,
/// peak RSS from `wait4`, and the main process's and its children's VmHWM sampled meanwhile.
fn measure(mut cmd: Command) -> std::io::Result<Measured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started_at_s = now_s();
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let stderr_lines = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let lines = stderr_lines.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push((now_s(), line));
            }
        })
    };
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = running.clone();
        std::thread::spawn(move || {
            let (mut main, mut kids, mut n) = (0u64, 0u64, 0u64);
            let mut timeline = Vec::new();
            while running.load(Ordering::Relaxed) {
                if let Some(hwm) = proc_kb(pid, "VmHWM:") {
                    main = main.max(hwm);
                }
                if let Some(rss) = proc_kb(pid, "VmRSS:") {
                    timeline.push((now_s(), rss));
                }
                for c in children_of(pid) {
                    if let Some(hwm) = proc_kb(c, "VmHWM:") {
                        kids = kids.max(hwm);
                    }
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (main, kids, n, timeline)
        })
    };
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout)?;
    let mut status = 0;
    // SAFETY: a plain syscall on our own child; `usage` is a valid, zeroed rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let (main_hwm_kb, children_hwm_kb, samples, rss_timeline) = sampler.join().unwrap();
    let _ = reader.join();
    if waited != pid as libc::pid_t {
        return Err(std::io::Error::last_os_error());
    }
    let stderr = std::mem::take(&mut *stderr_lines.lock().unwrap());
    Ok(Measured {
        stdout,
        stderr,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        started_at_s,
        wall_s,
        max_rss_kb: usage.ru_maxrss as u64,
        main_hwm_kb,
        children_hwm_kb,
        samples,
        rss_timeline,
        user_s: seconds(usage.ru_utime),
        sys_s: seconds(usage.ru_stime),
    })
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// The main process's highest sampled RSS (MB) between each pair of consecutive marks.
fn rss_by_phase(m: &Measured, marks: &[(&str, Option<f64>)]) -> Value {
    let mut out = serde_json::Map::new();
    for pair in marks.windows(2) {
        let (name, from) = (pair[1].0, pair[0].1);
        let to = pair[1].1;
        let max = match (from, to) {
            (Some(a), Some(b)) => m
                .rss_timeline
                .iter()
                .filter(|(t, _)| *t >= a && *t <= b)
                .map(|(_, kb)| *kb)
                .max(),
            _ => None,
        };
        out.insert(
            name.to_string(),
            max.map_or(Value::Null, |kb| json!(mb(kb as f64))),
        );
    }
    Value::Object(out)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().rev().take(n).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

fn stderr_text(m: &Measured) -> String {
    m.stderr
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// A registry made with the CLI

struct Reg {
    dir: tempfile::TempDir,
    db: PathBuf,
    cases: usize,
}

impl Reg {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PROMPTDESK);
        c.arg("--registry")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path())
            .env("PROMPTDESK_USER", "bench")
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            )
            .env("OPENAI_API_KEY", "dummy")
            .env_remove("PROMPTDESK_REGISTRY")
            .env_remove("PROMPTDESK_OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("promptdesk runs");
        assert!(
            out.status.success(),
            "promptdesk {args:?} failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A fresh registry: the prompt committed, a suite of `cases` cases, the provider at `url`.
    fn new(cases: usize, fake: &Fake) -> Reg {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("registry.db");
        let reg = Reg { dir, db, cases };
        let file = reg.dir.path().join("reply.prompt");
        std::fs::write(
            &file,
            format!(
                "---\ndescription: The eval benchmark's prompt\nvariables:\n  customer: string\n  \
                 order: string\nmodel:\n  provider: openai\n  model: echo\n---\n{TEMPLATE}\n"
            ),
        )
        .unwrap();
        let mut csv = String::from("customer,order,__assert\n");
        for i in 1..=cases {
            csv.push_str(&format!("Customer {i},{i},contains: order {i}\n"));
        }
        let cases_file = reg.dir.path().join("cases.csv");
        std::fs::write(&cases_file, csv).unwrap();
        reg.ok(&["init"]);
        reg.ok(&["new", PROMPT, "--file", file.to_str().unwrap()]);
        reg.ok(&["commit", PROMPT, "-m", "Benchmark prompt"]);
        reg.ok(&[
            "suite",
            "import",
            PROMPT,
            SUITE,
            cases_file.to_str().unwrap(),
        ]);
        reg.ok(&[
            "provider",
            "set",
            "openai",
            "--base-url",
            &format!("{}/v1", fake.url),
        ]);
        reg
    }

    /// The latest run, as `promptdesk runs --json` lists it.
    fn last_run(&self) -> Value {
        let out = self.ok(&["--json", "runs", PROMPT, "--suite", SUITE, "--limit", "1"]);
        let v: Value = serde_json::from_str(&out).expect("runs --json prints JSON");
        v[0].clone()
    }
}

/// One measured `promptdesk eval` on a fresh registry of `cases` cases, with `extra_env` set
/// for the measured command only.
fn eval_once(fake: &Fake, cases: usize, extra_env: &[(&str, &Path)]) -> Value {
    let setup_started = Instant::now();
    let reg = Reg::new(cases, fake);
    let setup_s = setup_started.elapsed().as_secs_f64();
    fake.take_stats();
    let load_before = loadavg();
    let mut cmd = reg.cmd(&[
        "eval",
        SPEC,
        "--suite",
        SUITE,
        "--concurrency",
        &CONCURRENCY.to_string(),
    ]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let m = measure(cmd).expect("promptdesk eval starts");
    let seen = fake.take_stats();
    assert!(
        m.success,
        "promptdesk eval failed ({:?}): {}\n{}",
        m.code,
        m.stdout,
        stderr_text(&m)
    );
    let run = reg.last_run();
    let checks = fake_verdict(&seen, reg.cases).and_then(|()| {
        let counts = (
            run["status"].as_str(),
            run["total"].as_u64(),
            run["passed"].as_u64(),
            run["cached"].as_u64(),
        );
        if counts == (Some("completed"), Some(cases as u64), Some(cases as u64), Some(0)) {
            Ok(())
        } else {
            Err(format!(
                "the run is not {cases} fresh passing cases: status {:?}, total {:?}, passed {:?}, cached {:?}",
                counts.0, counts.1, counts.2, counts.3
            ))
        }
    });
    if let Err(why) = &checks {
        panic!("promptdesk eval on {cases} case(s): {why}");
    }
    let exit_at = m.started_at_s + m.wall_s;
    let running_line = m
        .stderr
        .iter()
        .find(|(_, l)| l.starts_with("running suite"))
        .map(|(t, _)| *t);
    let first = seen["first_request_at_s"].as_f64();
    let last = seen["last_answer_at_s"].as_f64();
    let complete_log = seen["log_has_every_request"].as_bool() == Some(true);
    let since = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => json!(round(b - a, 3)),
        _ => Value::Null,
    };
    json!({
        "cases": cases,
        "registry_setup_s_not_measured": round(setup_s, 3),
        "load_average_before": load_before,
        "wall_s": round(m.wall_s, 3),
        "cpu_user_s": round(m.user_s, 3),
        "cpu_sys_s": round(m.sys_s, 3),
        "peak_rss_kb": m.max_rss_kb,
        "main_process_hwm_kb": m.main_hwm_kb,
        "render_worker_hwm_kb": m.children_hwm_kb,
        "proc_samples": m.samples,
        "main_process_rss_mb_max_by_phase": rss_by_phase(&m, &[
            ("", Some(m.started_at_s)),
            ("until_running_line", running_line),
            ("until_last_answer", last),
            ("until_exit", Some(exit_at)),
        ]),
        "phases_s": {
            "spawn_to_running_line": since(Some(m.started_at_s), running_line),
            "running_line_to_first_request": if complete_log { since(running_line, first) } else { Value::Null },
            "first_request_to_last_answer": if complete_log { since(first, last) } else { Value::Null },
            "last_answer_to_exit": since(last, Some(exit_at)),
        },
        "stdout": m.stdout.lines().next().unwrap_or(""),
        "run": {
            "status": run["status"], "total": run["total"], "passed": run["passed"],
            "errored": run["errored"], "cached": run["cached"],
        },
        "fake_saw": seen,
    })
}

fn field(runs: &[Value], f: impl Fn(&Value) -> Option<f64>) -> Vec<f64> {
    runs.iter().filter_map(f).collect()
}

fn phase_medians(runs: &[Value]) -> Value {
    let names = [
        "spawn_to_running_line",
        "running_line_to_first_request",
        "first_request_to_last_answer",
        "last_answer_to_exit",
    ];
    Value::Object(
        names
            .iter()
            .map(|n| {
                let xs = field(runs, |r| r["phases_s"][n].as_f64());
                (
                    n.to_string(),
                    if xs.is_empty() {
                        Value::Null
                    } else {
                        json!(round(median(&xs), 3))
                    },
                )
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// promptfoo

fn promptfoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/benches/promptfoo")
}

/// promptfoo's binary, installing it first when it is missing (as the eval crate's bench does).
fn promptfoo_binary() -> Result<PathBuf, String> {
    let dir = promptfoo_dir();
    let bin = dir.join("node_modules/.bin/promptfoo");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!("eval-cli bench: installing promptfoo with npm install in the eval crate's benches/promptfoo");
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("npm could not run: {e}"))?;
    if !out.status.success() || !bin.exists() {
        return Err(format!(
            "npm install failed ({}): {}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 5)
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

/// The same environment as the eval crate's bench: no telemetry, update checks, sharing or
/// remote generation; no cache.
const PROMPTFOO_ENV: [(&str, &str); 10] = [
    ("PROMPTFOO_DISABLE_TELEMETRY", "1"),
    ("PROMPTFOO_DISABLE_UPDATE", "1"),
    ("PROMPTFOO_DISABLE_SHARING", "1"),
    ("PROMPTFOO_DISABLE_REMOTE_GENERATION", "1"),
    ("PROMPTFOO_DISABLE_RUNTIME_WARNINGS", "1"),
    ("PROMPTFOO_CACHE_ENABLED", "false"),
    ("OPENAI_API_KEY", "dummy"),
    ("NO_COLOR", "1"),
    ("CI", "1"),
    ("NODE_NO_WARNINGS", "1"),
];

/// `eval -c promptfooconfig.yaml` and these (flags of promptfoo 0.121.20's `eval`).
fn promptfoo_args() -> Vec<String> {
    [
        "--max-concurrency",
        &CONCURRENCY.to_string(),
        "--no-cache",
        "--no-progress-bar",
        "--no-table",
    ]
    .map(str::to_string)
    .to_vec()
}

/// What promptfoo needs for its runs: its binary and the exported config.
struct Peer {
    bin: PathBuf,
    work: tempfile::TempDir,
    /// What the export said (`--json`): tests written, assertions not exported.
    export: Value,
}

impl Peer {
    /// Installs promptfoo when missing; exports the config from `reg` (a 300-case registry).
    fn prepare(reg: &Reg) -> Result<Peer, String> {
        let bin = promptfoo_binary()?;
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = reg
            .cmd(&[
                "--json",
                "export-promptfoo",
                SPEC,
                work.path().join("export").to_str().unwrap(),
                "--suite",
                SUITE,
            ])
            .output()
            .map_err(|e| format!("promptdesk export-promptfoo could not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "promptdesk export-promptfoo failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let said: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(Peer {
            bin,
            work,
            export: json!({"tests": said["tests"], "prompt": said["prompt"], "not_exported": said["not_exported"]}),
        })
    }

    /// One measured promptfoo run on the exported config.
    fn run(&self, fake: &Fake, i: usize) -> Result<Value, String> {
        let dir = self.work.path().join("export");
        let config_dir = self.work.path().join(format!("promptfoo-config-{i}"));
        std::fs::create_dir_all(&config_dir).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(["eval", "-c", "promptfooconfig.yaml"])
            .args(promptfoo_args())
            .current_dir(&dir)
            .env("PROMPTFOO_CONFIG_DIR", &config_dir);
        for (k, v) in PROMPTFOO_ENV {
            cmd.env(k, v);
        }
        fake.take_stats();
        let load_before = loadavg();
        let m = measure(cmd).map_err(|e| format!("promptfoo could not run: {e}"))?;
        let seen = fake.take_stats();
        if !m.success {
            return Err(format!(
                "promptfoo run {} exited {:?}: {} | {}",
                i + 1,
                m.code,
                tail(&m.stdout, 8),
                tail(&stderr_text(&m), 8)
            ));
        }
        fake_verdict(&seen, CASES).map_err(|why| {
            format!(
                "promptfoo run {}: {why}: {} | {}",
                i + 1,
                tail(&m.stdout, 8),
                tail(&stderr_text(&m), 8)
            )
        })?;
        let summary: Vec<String> = m
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| {
                [
                    "Complete!",
                    "passed",
                    "failed",
                    "errors",
                    "Duration",
                    "Tokens",
                ]
                .iter()
                .any(|k| l.contains(k))
            })
            .map(str::to_string)
            .collect();
        if !summary
            .iter()
            .any(|l| l.contains(&format!("{CASES} passed")))
        {
            return Err(format!(
                "promptfoo run {} did not report {CASES} passing cases: {}",
                i + 1,
                tail(&m.stdout, 10)
            ));
        }
        let exit_at = m.started_at_s + m.wall_s;
        let first = seen["first_request_at_s"].as_f64();
        let last = seen["last_answer_at_s"].as_f64();
        let since = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => json!(round(b - a, 3)),
            _ => Value::Null,
        };
        Ok(json!({
            "load_average_before": load_before,
            "wall_s": round(m.wall_s, 3),
            "cpu_user_s": round(m.user_s, 3),
            "cpu_sys_s": round(m.sys_s, 3),
            "peak_rss_kb": m.max_rss_kb,
            "main_process_hwm_kb": m.main_hwm_kb,
            "children_hwm_kb": m.children_hwm_kb,
            "phases_s": {
                "spawn_to_first_request": since(Some(m.started_at_s), first),
                "first_request_to_last_answer": since(first, last),
                "last_answer_to_exit": since(last, Some(exit_at)),
            },
            "promptfoo_says": summary,
            "fake_saw": seen,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mb(kb: f64) -> f64 {
    round(kb / 1024.0, 1)
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
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

fn loadavg() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    json!(parts)
}

fn version_of(program: &Path, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

/// Medians of a set of runs: wall time, peak RSS (ru_maxrss) and the main process's VmHWM.
fn medians(runs: &[Value]) -> (f64, f64, f64) {
    (
        median(&field(runs, |r| r["wall_s"].as_f64())),
        median(&field(runs, |r| r["peak_rss_kb"].as_f64())),
        median(&field(runs, |r| r["main_process_hwm_kb"].as_f64())),
    )
}

fn orchestrate() {
    base();
    let ideal = CASES as f64 / CONCURRENCY as f64 * LATENCY_MS as f64 / 1000.0;
    let mut figures = serde_json::Map::new();
    let load_start = loadavg();
    eprintln!("eval-cli bench: promptdesk at {PROMPTDESK}; load average {load_start}");

    // 300 cases at 200 ms, alternating with promptfoo; then the 1-case overhead.
    let fake = Fake::start(LATENCY_MS);
    let skip_peer = std::env::var("PROMPTDESK_BENCH_PROMPTFOO").is_ok_and(|v| v == "0");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut peer: Result<Option<Peer>, String> = Ok(None);
    let mut export_says = Value::Null;
    for i in 0..repeat() {
        let r = eval_once(&fake, CASES, &[]);
        eprintln!(
            "eval-cli bench: promptdesk eval, 300 cases, run {}: {:.3} s, peak RSS {:.1} MB (phases {})",
            i + 1,
            r["wall_s"].as_f64().unwrap(),
            mb(r["peak_rss_kb"].as_f64().unwrap()),
            r["phases_s"]
        );
        ours.push(r);
        if skip_peer {
            continue;
        }
        if i == 0 {
            // Export from a registry of the same shape, once (every repeat's suite is the same).
            let reg = Reg::new(CASES, &fake);
            peer = Peer::prepare(&reg).map(Some);
            if let Ok(Some(p)) = &peer {
                export_says = p.export.clone();
            }
        }
        if let Ok(Some(p)) = &peer {
            match p.run(&fake, i) {
                Ok(r) => {
                    eprintln!(
                        "eval-cli bench: promptfoo, 300 cases, run {}: {:.3} s, peak RSS {:.1} MB (phases {}; {:?})",
                        i + 1,
                        r["wall_s"].as_f64().unwrap(),
                        mb(r["peak_rss_kb"].as_f64().unwrap()),
                        r["phases_s"],
                        r["promptfoo_says"]
                    );
                    theirs.push(r);
                }
                Err(why) => peer = Err(why),
            }
        }
    }
    // The 1-case runs alternate with a diagnostic: the same run with the system root store
    // (rustls-native-certs reads SSL_CERT_FILE/SSL_CERT_DIR) pointed at an empty CA file and
    // directory, to measure what building the HTTPS-capable client costs when the provider is
    // plain http (the TLS settings are otherwise the product's).
    let no_ca = tempfile::tempdir().expect("a temporary directory");
    let empty_file = no_ca.path().join("empty.pem");
    std::fs::write(&empty_file, "").unwrap();
    let no_ca_env: [(&str, &Path); 2] = [
        ("SSL_CERT_FILE", &empty_file),
        ("SSL_CERT_DIR", no_ca.path()),
    ];
    let mut overhead = Vec::new();
    let mut overhead_no_ca = Vec::new();
    for i in 0..repeat() {
        for (runs, env, what) in [
            (&mut overhead, &no_ca_env[..0], ""),
            (&mut overhead_no_ca, &no_ca_env[..], " without a CA bundle"),
        ] {
            let r = eval_once(&fake, 1, env);
            eprintln!(
                "eval-cli bench: promptdesk eval, 1 case{what}, run {}: {:.3} s (CPU {:.3} s), peak RSS {:.1} MB",
                i + 1,
                r["wall_s"].as_f64().unwrap(),
                r["cpu_user_s"].as_f64().unwrap() + r["cpu_sys_s"].as_f64().unwrap(),
                mb(r["peak_rss_kb"].as_f64().unwrap())
            );
            runs.push(r);
        }
    }
    drop(fake);

    let (wall, rss, hwm) = medians(&ours);
    let (one_wall, one_rss, _) = medians(&overhead);
    let (no_ca_wall, _, _) = medians(&overhead_no_ca);
    let cpu = |runs: &[Value]| {
        round(
            median(&field(runs, |r| {
                Some(r["cpu_user_s"].as_f64()? + r["cpu_sys_s"].as_f64()?)
            })),
            3,
        )
    };
    let fixed = one_wall - LATENCY_MS as f64 / 1000.0;
    figures.insert(
        "cases_300_concurrency_16_latency_200ms".into(),
        json!({
            "command": format!("promptdesk eval {SPEC} --suite {SUITE} --concurrency {CONCURRENCY}"),
            "ideal_s": ideal,
            "cache": "a fresh registry for every run (made with the CLI, not measured), so no reply comes from the cache; each run is checked: completed, 300 passed, 0 cached",
            "wall_s_runs": field(&ours, |r| r["wall_s"].as_f64()),
            "wall_s_median": round(wall, 3),
            "ratio_to_ideal": round(wall / ideal, 3),
            "ratio_to_ideal_aim": 1.15,
            "ratio_to_ideal_without_fixed_overhead": round((wall - fixed) / ideal, 3),
            "peak_rss_mb_median": mb(rss),
            "main_process_hwm_mb_median": mb(hwm),
            "cpu_s_median": cpu(&ours),
            "phases_s_median": phase_medians(&ours),
            "phases_meaning": {
                "spawn_to_running_line": "process start, registry opened, run recorded, every case rendered through the render worker (the 'running suite' line on stderr)",
                "running_line_to_first_request": "runtime and HTTP client up, first request at the fake",
                "first_request_to_last_answer": "the requests, as the fake saw them (ideal 3.75 s)",
                "last_answer_to_exit": "the last results stored, the run finished, results read back and printed, exit",
            },
            "runs": ours,
        }),
    );
    figures.insert(
        "fixed_overhead_1_case".into(),
        json!({
            "wall_s_runs": field(&overhead, |r| r["wall_s"].as_f64()),
            "wall_s_median": round(one_wall, 3),
            "fixed_overhead_s": round(fixed, 3),
            "meaning": "the same command on a 1-case suite, minus the one 200 ms request",
            "peak_rss_mb_median": mb(one_rss),
            "cpu_s_median": cpu(&overhead),
            "phases_s_median": phase_medians(&overhead),
            "diagnostic_without_ca_bundle": {
                "what": "the same 1-case runs (alternating with those above) with SSL_CERT_FILE an empty file and SSL_CERT_DIR an empty directory: the provider's HTTP client then has no system CA bundle to load and parse",
                "wall_s_runs": field(&overhead_no_ca, |r| r["wall_s"].as_f64()),
                "wall_s_median": round(no_ca_wall, 3),
                "cpu_s_median": cpu(&overhead_no_ca),
                "phases_s_median": phase_medians(&overhead_no_ca),
                "ca_bundle_cost_s": round(one_wall - no_ca_wall, 3),
            },
        }),
    );

    let versions_promptfoo = promptfoo_version();
    let peer_figures = match (&peer, skip_peer) {
        (_, true) => json!({"skipped": "PROMPTDESK_BENCH_PROMPTFOO=0"}),
        (Err(why), _) => {
            eprintln!("eval-cli bench: promptfoo not measured: {why}");
            json!({"error": why, "version": versions_promptfoo, "runs_before_the_error": theirs})
        }
        (Ok(_), false) => {
            let (p_wall, p_rss, p_hwm) = medians(&theirs);
            json!({
                "version": versions_promptfoo,
                "command": format!("promptfoo eval -c promptfooconfig.yaml {}", promptfoo_args().join(" ")),
                "config": format!("written by `promptdesk export-promptfoo {SPEC} DIR --suite {SUITE}`, used as is"),
                "export_said": export_says,
                "env": PROMPTFOO_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                "order": "runs alternate with ours: ours 1, promptfoo 1, ours 2, …",
                "wall_s_runs": field(&theirs, |r| r["wall_s"].as_f64()),
                "wall_s_median": round(p_wall, 3),
                "ratio_to_ideal": round(p_wall / ideal, 3),
                "peak_rss_mb_median": mb(p_rss),
                "main_process_hwm_mb_median": mb(p_hwm),
                "cpu_s_median": cpu(&theirs),
                "runs": theirs,
                "ours_over_promptfoo": {
                    "wall_time": round(wall / p_wall, 3),
                    "peak_rss": round(rss / p_rss, 3),
                },
            })
        }
    };
    figures.insert("promptfoo".into(), peer_figures);

    // 10,000 cases at 1 ms against 10 cases: peak memory growth.
    let fast = Fake::start(BIG_LATENCY_MS);
    let small = eval_once(&fast, SMALL_CASES, &[]);
    let big = eval_once(&fast, BIG_CASES, &[]);
    drop(fast);
    let growth_kb = big["peak_rss_kb"].as_f64().unwrap() - small["peak_rss_kb"].as_f64().unwrap();
    let main_growth_kb = big["main_process_hwm_kb"].as_f64().unwrap()
        - small["main_process_hwm_kb"].as_f64().unwrap();
    eprintln!(
        "eval-cli bench: 10,000 cases: {:.2} s, peak RSS {:.1} MB (10 cases: {:.1} MB), growth {:.1} MB",
        big["wall_s"].as_f64().unwrap(),
        mb(big["peak_rss_kb"].as_f64().unwrap()),
        mb(small["peak_rss_kb"].as_f64().unwrap()),
        mb(growth_kb)
    );
    figures.insert(
        "cases_10000_concurrency_16_latency_1ms".into(),
        json!({
            "peak_rss_growth_mb": mb(growth_kb),
            "peak_rss_growth_aim_mb": 50,
            "peak_rss_mb_10000_cases": mb(big["peak_rss_kb"].as_f64().unwrap()),
            "peak_rss_mb_10_cases": mb(small["peak_rss_kb"].as_f64().unwrap()),
            "main_process_hwm_growth_mb": mb(main_growth_kb),
            "render_worker_hwm_mb_10000_cases": mb(big["render_worker_hwm_kb"].as_f64().unwrap()),
            "main_process_rss_mb_max_by_phase_10000_cases": big["main_process_rss_mb_max_by_phase"],
            "main_process_rss_mb_max_by_phase_10_cases": small["main_process_rss_mb_max_by_phase"],
            "phases_meaning": "until_running_line: the run recorded, the cases loaded and rendered, the plan built; until_last_answer: the requests and the results stored as they come; until_exit: the run finished, read back and printed",
            "wall_s_10000_cases": big["wall_s"],
            "wall_s_10_cases": small["wall_s"],
            "runs": {"cases_10": small, "cases_10000": big},
        }),
    );

    let load_end = loadavg();
    figures.insert(
        "machine".into(),
        json!({
            "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average_start": load_start,
            "load_average_end": load_end,
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
            "promptdesk": version_of(Path::new(PROMPTDESK), "--version"),
            "promptdesk_build": "the bench profile (release settings), built by cargo bench",
            "promptfoo": promptfoo_version(),
            "node": version_of(Path::new("node"), "--version"),
            "fake": "promptdesk-fakellm's program (this bench binary in its fake role), its own process, model echo, OpenAI dialect",
            "repeat": repeat(),
            "measured": "each command its own process: wall time from spawn to exit; peak RSS = wait4's ru_maxrss (the larger of the process and the descendants it reaped); main_process_hwm = its VmHWM read from /proc every 20 ms",
        }),
    );

    let dir = figures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("eval-cli.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(figures.clone())).unwrap() + "\n",
    )
    .unwrap();

    // A short table.
    let pf = &figures["promptfoo"];
    let c10k = &figures["cases_10000_concurrency_16_latency_1ms"];
    println!();
    println!("eval through the CLI (median of {} runs)", repeat());
    println!("                                 wall s   ratio to 3.75 s   peak RSS MB");
    println!(
        "promptdesk eval, 300 cases       {:>6.3}   {:>15.3}   {:>11.1}",
        wall,
        wall / ideal,
        mb(rss)
    );
    if let Some(p_wall) = pf["wall_s_median"].as_f64() {
        println!(
            "promptfoo {:<9} 300 cases  {:>6.3}   {:>15.3}   {:>11.1}",
            pf["version"].as_str().unwrap_or("?"),
            p_wall,
            p_wall / ideal,
            pf["peak_rss_mb_median"].as_f64().unwrap_or(f64::NAN)
        );
        println!(
            "ours / promptfoo                 {:>6.3}   {:>15}   {:>11.3}",
            pf["ours_over_promptfoo"]["wall_time"]
                .as_f64()
                .unwrap_or(f64::NAN),
            "",
            pf["ours_over_promptfoo"]["peak_rss"]
                .as_f64()
                .unwrap_or(f64::NAN)
        );
    } else {
        println!("promptfoo: {}", pf);
    }
    println!(
        "promptdesk eval, 1 case          {:>6.3}   (fixed overhead {:.3} s)   {:>5.1}",
        one_wall,
        fixed,
        mb(one_rss)
    );
    println!(
        "  same, without a CA bundle      {:>6.3}   (the bundle costs {:.3} s)",
        no_ca_wall,
        one_wall - no_ca_wall
    );
    println!(
        "10,000 cases at 1 ms: {:.2} s, peak RSS {} MB vs {} MB at 10 cases: growth {} MB (aim ≤ 50)",
        c10k["wall_s_10000_cases"].as_f64().unwrap_or(f64::NAN),
        c10k["peak_rss_mb_10000_cases"],
        c10k["peak_rss_mb_10_cases"],
        c10k["peak_rss_growth_mb"]
    );
    println!(
        "  highest RSS (MB) by phase, 10,000 cases: {}",
        c10k["main_process_rss_mb_max_by_phase_10000_cases"]
    );
    println!("figures written to {}", path.display());
}
