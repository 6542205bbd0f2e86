//! How fast are diffs on the inputs that could hurt?
//!
//! - `prose_500k_50_word_edits`: two 0.5 MB prose-like documents with ~50 scattered word edits,
//!   word-refined (aim: ≤ 30 ms);
//! - `two_lines_30k_arbitrary` / `two_lines_30k_alternating`: 30,000 lines made of only two
//!   distinct lines, with ~30 scattered edits: every line matches half the other document, the
//!   classic way to make a line diff quadratic (aim: ≤ 100 ms).
//!
//! Besides criterion's report, each input is timed call by call and the median and maximum are
//! written to `$CARGO_TARGET_DIR/figures/diff.json` (or the workspace's `target/`), so CI can
//! compare figures without parsing criterion's output.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use promptdesk_diff::{diff_text, DiffOptions, TextDiff};

/// A small deterministic PRNG (xorshift64*), so every run diffs the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A vocabulary of pseudo-words built from syllables, with short words more frequent.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ta", "re", "mon", "ex", "pli", "sta", "ver", "co", "lu", "an", "dis", "ro", "qui", "ne",
        "sol", "pra", "em", "tu", "gi", "for", "al", "bre", "vo", "ki",
    ];
    let mut words: Vec<String> = [
        "the", "a", "of", "to", "and", "in", "is", "for", "with", "on",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    while words.len() < 400 {
        let n = 1 + rng.below(3);
        let w: String = (0..n)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        words.push(w);
    }
    words
}

/// About `size` bytes of prose: sentences of 5–20 words wrapped at ~80 columns, paragraphs
/// separated by blank lines.
fn prose(rng: &mut Rng, words: &[String], size: usize) -> String {
    let mut text = String::with_capacity(size + 128);
    let mut column = 0;
    while text.len() < size {
        let sentence_len = 5 + rng.below(16);
        for i in 0..sentence_len {
            // Skewed choice: frequent function words, long tail of others.
            let w = if rng.below(3) == 0 {
                &words[rng.below(10)]
            } else {
                &words[rng.below(words.len())]
            };
            let mut token = if i == 0 {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            } else {
                w.clone()
            };
            if i + 1 == sentence_len {
                token.push('.');
            } else if rng.below(12) == 0 {
                token.push(',');
            }
            if column + token.len() + 1 > 80 {
                text.push('\n');
                column = 0;
            } else if column > 0 {
                text.push(' ');
                column += 1;
            }
            text.push_str(&token);
            column += token.len();
        }
        if rng.below(6) == 0 {
            text.push_str("\n\n");
            column = 0;
        }
    }
    text.push('\n');
    text
}

/// Replaces one word on each of `edits` random lines.
fn scatter_word_edits(rng: &mut Rng, text: &str, words: &[String], edits: usize) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut done = 0;
    while done < edits {
        let i = rng.below(lines.len());
        let mut line_words: Vec<&str> = lines[i].split(' ').collect();
        if line_words.len() < 3 {
            continue;
        }
        let at = rng.below(line_words.len());
        let replacement = &words[rng.below(words.len())];
        if line_words[at] == replacement {
            continue;
        }
        line_words[at] = replacement;
        lines[i] = line_words.join(" ");
        done += 1;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

const LINE_A: &str = "You are a helpful assistant.";
const LINE_B: &str = "Answer in one short paragraph.";

/// 30,000 lines of only two distinct lines, in `alternating` or arbitrary order.
fn two_lines(rng: &mut Rng, alternating: bool) -> Vec<&'static str> {
    (0..30_000)
        .map(|i| {
            let a = if alternating {
                i % 2 == 0
            } else {
                rng.below(2) == 0
            };
            if a {
                LINE_A
            } else {
                LINE_B
            }
        })
        .collect()
}

/// ~30 scattered edits that keep the document made of the same two lines: flips, insertions,
/// deletions.
fn scatter_line_edits(rng: &mut Rng, lines: &[&'static str], edits: usize) -> Vec<&'static str> {
    let mut out = lines.to_vec();
    for _ in 0..edits {
        let i = rng.below(out.len());
        match rng.below(3) {
            0 => out[i] = if out[i] == LINE_A { LINE_B } else { LINE_A },
            1 => out.insert(i, if rng.below(2) == 0 { LINE_A } else { LINE_B }),
            _ => {
                out.remove(i);
            }
        }
    }
    out
}

fn join_lines(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

struct Case {
    name: &'static str,
    old: String,
    new: String,
    aim_ms: f64,
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_CAFE_F00D_D1FF);
    let words = vocabulary(&mut rng);
    let old = prose(&mut rng, &words, 512 * 1024);
    let new = scatter_word_edits(&mut rng, &old, &words, 50);
    let arbitrary = two_lines(&mut rng, false);
    let arbitrary_new = scatter_line_edits(&mut rng, &arbitrary, 30);
    let alternating = two_lines(&mut rng, true);
    let alternating_new = scatter_line_edits(&mut rng, &alternating, 30);
    vec![
        Case {
            name: "prose_500k_50_word_edits",
            old,
            new,
            aim_ms: 30.0,
        },
        Case {
            name: "two_lines_30k_arbitrary",
            old: join_lines(&arbitrary),
            new: join_lines(&arbitrary_new),
            aim_ms: 100.0,
        },
        Case {
            name: "two_lines_30k_alternating",
            old: join_lines(&alternating),
            new: join_lines(&alternating_new),
            aim_ms: 100.0,
        },
    ]
}

/// Times single calls: returns (median, max) in milliseconds and the last diff.
fn time_calls(case: &Case, runs: usize) -> (f64, f64, TextDiff) {
    let opts = DiffOptions::default();
    let mut diff = diff_text(&case.old, &case.new, &opts); // warm-up
    let mut times: Vec<f64> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        diff = black_box(diff_text(black_box(&case.old), black_box(&case.new), &opts));
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times.last().copied().unwrap_or(0.0);
    (median, max, diff)
}

/// `$CARGO_TARGET_DIR/figures`, or `target/figures` at the workspace root.
fn figures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("figures");
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .map(PathBuf::from)
        .unwrap_or(manifest);
    root.join("target").join("figures")
}

fn write_figures(cases: &[Case], runs: usize) {
    let mut entries = Vec::new();
    for case in cases {
        let (median, max, diff) = time_calls(case, runs);
        let mut entry = String::new();
        let _ = write!(
            entry,
            "  \"{}\": {{\"median_ms\": {median:.3}, \"max_ms\": {max:.3}, \"aim_ms\": {}, \"runs\": {runs}, \
             \"old_bytes\": {}, \"new_bytes\": {}, \"hunks\": {}, \"added\": {}, \"removed\": {}, \
             \"word_highlights\": {}, \"coarse\": {}}}",
            case.name,
            case.aim_ms,
            case.old.len(),
            case.new.len(),
            diff.hunks.len(),
            diff.added,
            diff.removed,
            diff.hunks
                .iter()
                .flat_map(|h| &h.lines)
                .filter(|l| l.has_highlights())
                .count(),
            diff.coarse,
        );
        println!(
            "{}: median {median:.3} ms, max {max:.3} ms over {runs} calls (aim {} ms); {} hunks, +{} -{}, coarse {}",
            case.name,
            case.aim_ms,
            diff.hunks.len(),
            diff.added,
            diff.removed,
            diff.coarse
        );
        entries.push(entry);
    }
    let json = format!("{{\n{}\n}}\n", entries.join(",\n"));
    let dir = figures_dir();
    let path = dir.join("diff.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        Ok(()) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

fn main() {
    let cases = cases();
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let opts = DiffOptions::default();
    for case in &cases {
        criterion.bench_function(case.name, |b| {
            b.iter(|| diff_text(black_box(&case.old), black_box(&case.new), &opts))
        });
    }
    criterion.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` runs this once as a smoke test and
    // should neither spend time timing nor overwrite the figures.
    if std::env::args().any(|a| a == "--bench") {
        write_figures(&cases, 30);
    }
}
