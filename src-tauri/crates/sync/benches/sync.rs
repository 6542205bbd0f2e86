//! Sync against a real in-process server (SQLite, on loopback):
//!
//! 1. a fresh client pushes a registry of 100 prompts × 100 versions (10,100 events with the
//!    prompts' creation) to a fresh server, end to end (`promptdesk_sync::sync`: push, pull
//!    back, summary check); then a second fresh client pulls all of it;
//! 2. a one-change round trip with both synced: A commits one version and syncs, B syncs and
//!    has it. Median and p95 over 50 repetitions.
//!
//! Figures go to `$CARGO_TARGET_DIR/figures/sync.json` (or the workspace's `target/`).
//! `PROMPTDESK_BENCH_SYNC_PROMPTS` and `PROMPTDESK_BENCH_SYNC_VERSIONS` change the size.
//!
//! `cargo bench -p promptdesk-sync --bench sync` (a release build; run by tests/bench.sh).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{text, Member, Server};
use promptdesk_content::PromptKind;
use promptdesk_core::policy::Role;
use promptdesk_core::{NewPrompt, Ref};
use serde_json::json;

const ROUND_TRIPS: usize = 50;

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `$CARGO_TARGET_DIR/figures`, or `target/figures` at the workspace root.
fn figures_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("figures"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/figures"),
    }
}

fn prompt_name(i: usize) -> String {
    format!("team-{:02}/prompt-{i:03}", i % 10)
}

fn template(prompt: usize, version: usize) -> String {
    format!(
        "Hello {{{{ name }}}},\n\nThis is prompt {prompt}, revision {version}. Thank you for \
         contacting us about order {{{{ order_id }}}}.\n\nBest regards,\nThe support team"
    )
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    let prompts = size("PROMPTDESK_BENCH_SYNC_PROMPTS", 100);
    let versions = size("PROMPTDESK_BENCH_SYNC_VERSIONS", 100);
    let server = Server::start();
    let mut a = Member::join(&server, "ana", Role::Editor);
    let mut b = Member::join(&server, "ben", Role::Editor);

    let started = Instant::now();
    a.reg
        .batch(|reg| {
            for p in 0..prompts {
                let name = prompt_name(p);
                reg.create_prompt(&name, PromptKind::Text, NewPrompt::default())?;
                for v in 1..=versions {
                    reg.save_draft(&name, text(&template(p, v)))?;
                    reg.commit(&name, &format!("revision {v}"))?;
                }
            }
            Ok(())
        })
        .unwrap();
    let build = started.elapsed();
    let events = a.reg.sync_state().unwrap().pending;
    println!(
        "built {prompts} prompts × {versions} versions locally ({events} events to push) in {:.2} s",
        build.as_secs_f64()
    );

    let started = Instant::now();
    let report = a.sync();
    let push = started.elapsed();
    assert_eq!(report.pushed, events, "{report:?}");
    assert!(report.refused.is_empty(), "{report:?}");
    let push_rate = events as f64 / push.as_secs_f64();
    println!(
        "push: {events} events in {:.2} s ({push_rate:.0} events/s), end to end",
        push.as_secs_f64()
    );

    // What a round costs before it sends anything, once everything is pushed: how much is
    // pending, and the (empty) first batch.
    let mut scans = Vec::new();
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        assert_eq!(a.reg.sync_state().unwrap().pending, 0);
        assert!(a.reg.sync_pending(200).unwrap().is_empty());
        scans.push(started.elapsed());
    }
    scans.sort();
    let scan = percentile(&scans, 0.5);
    println!("nothing pending: state and first batch in {scan:.2} ms (median)");

    let started = Instant::now();
    let report = b.sync();
    let pull = started.elapsed();
    assert_eq!(report.pulled, events, "{report:?}");
    let pull_rate = events as f64 / pull.as_secs_f64();
    println!(
        "pull: {events} events in {:.2} s ({pull_rate:.0} events/s), a fresh client",
        pull.as_secs_f64()
    );

    // One change, one way: A commits and syncs, B syncs and has it.
    let name = prompt_name(0);
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    let (mut commits, mut a_syncs, mut b_syncs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..ROUND_TRIPS {
        a.reg
            .save_draft(
                &name,
                text(&format!("Round trip {i}: hello {{{{ name }}}}.")),
            )
            .unwrap();
        let started = Instant::now();
        let made = a.reg.commit(&name, "one change").unwrap();
        let committed = Instant::now();
        let pushed = a.sync();
        let a_synced = Instant::now();
        let pulled = b.sync();
        let b_synced = Instant::now();
        assert_eq!(
            (pushed.pushed, pulled.pulled),
            (1, 1),
            "{pushed:?} {pulled:?}"
        );
        let there = b
            .reg
            .resolve(&name, Some(&Ref::Number(made.number)))
            .unwrap();
        assert_eq!(there.hash, made.hash);
        times.push(b_synced - started);
        commits.push(committed - started);
        a_syncs.push(a_synced - committed);
        b_syncs.push(b_synced - a_synced);
    }
    // Where a round's time goes that grows with the history: the hash summary of every event
    // exchanged so far, here and on the server.
    let cursor = b.reg.sync_cursor().unwrap();
    let (mut local_summaries, mut server_summaries) = (Vec::new(), Vec::new());
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        b.reg.sync_summary(cursor).unwrap();
        local_summaries.push(started.elapsed());
        let started = Instant::now();
        let (status, _) = b
            .remote
            .get(&format!("/v1/sync/summary?upto={cursor}"))
            .unwrap();
        assert_eq!(status, 200);
        server_summaries.push(started.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        percentile(v, 0.5)
    };
    let breakdown = json!({
        "commit_ms": median(&mut commits),
        "a_sync_ms": median(&mut a_syncs),
        "b_sync_ms": median(&mut b_syncs),
        "local_summary_ms": median(&mut local_summaries),
        "server_summary_request_ms": median(&mut server_summaries),
    });
    times.sort();
    let (median, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
    println!(
        "one-change round trip (commit, A syncs, B syncs) with {events} events on record: \
         median {median:.1} ms, p95 {p95:.1} ms over {ROUND_TRIPS}"
    );
    println!("  medians: {breakdown}");

    let figures = json!({
        "prompts": prompts,
        "versions_per_prompt": versions,
        "events": events,
        "build_local_registry_s": build.as_secs_f64(),
        "push_fresh_server": {
            "seconds": push.as_secs_f64(),
            "events_per_second": push_rate,
            "then_nothing_pending_check_ms": scan,
        },
        "pull_fresh_client": {
            "seconds": pull.as_secs_f64(),
            "events_per_second": pull_rate,
        },
        "one_change_round_trip": {
            "repetitions": ROUND_TRIPS,
            "median_ms": median,
            "p95_ms": p95,
            "medians": breakdown,
        },
    });
    let out = figures_dir();
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("sync.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&figures).unwrap() + "\n",
    )
    .unwrap();
    println!("figures written to {}", path.display());
}
