//! `promptdesk suite …`, `provider …`, `eval`, `runs`, `compare`, `rate` and
//! `export-promptfoo`: test suites and eval runs from the command line (and CI).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Mutex;

use promptdesk_api::eval_run::{self, CancellationToken, RunRequest};
use promptdesk_api::ApiError;
use promptdesk_content::ModelSettings;
use promptdesk_core::eval::{
    assertions::parse_short, import, Assertion, AssertionKind, CaseInput, ModelPrice,
    ProviderSettings, RunStatus,
};
use promptdesk_core::{parse_spec, Ref, Registry};
use promptdesk_keys::KeyStore;
use serde_json::{json, Value};

use crate::args::{ProviderCommand, SuiteCommand};
use crate::context;
use crate::output::{emit, when, Failure};

type Out = Result<(), Failure>;

fn api_failure(e: ApiError) -> Failure {
    use promptdesk_api::ApiErrorKind as K;
    match e.kind {
        K::Conflict => Failure::refused("conflict", e.message, Value::Null),
        K::PolicyRefused => Failure::refused("policy_refused", e.message, Value::Null),
        K::Internal => Failure::internal(e.message),
        _ => Failure::bad_input(e.message),
    }
}

/// The suite named, or the prompt's only suite.
fn suite_name(reg: &Registry, name: &str, given: Option<&str>) -> Result<String, Failure> {
    if let Some(s) = given {
        return Ok(s.to_string());
    }
    let suites = reg.suites(name)?;
    match suites.as_slice() {
        [only] => Ok(only.name.clone()),
        [] => Err(Failure::bad_input(format!(
            "'{name}' has no test suites yet: add cases with `promptdesk suite add {name} SUITE …`"
        ))),
        many => Err(Failure::bad_input(format!(
            "'{name}' has several suites ({}): choose one with --suite",
            many.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn spec_with_ref(spec: &str) -> Result<(String, Ref), Failure> {
    let (name, reference) = parse_spec(spec)?;
    Ok((name, reference.unwrap_or(Ref::Label("latest".into()))))
}

/// A case from `--var NAME=VALUE`, `--assert "contains: …"` and the other flags.
pub(crate) fn case_from_flags(
    description: String,
    vars: &[String],
    expected: Option<String>,
    assertions: &[String],
    tags: Vec<String>,
) -> Result<CaseInput, Failure> {
    Ok(CaseInput {
        description,
        vars: import::vars_from_pairs(vars).map_err(Failure::bad_input)?,
        expected,
        assertions: assertions
            .iter()
            .map(|a| parse_short(a).map_err(|e| Failure::bad_input(format!("--assert {a:?}: {e}"))))
            .collect::<Result<Vec<Assertion>, Failure>>()?,
        tags,
    })
}

fn print_case(c: &promptdesk_core::eval::Case) {
    println!("{}  {}", c.id, c.label());
    println!("    vars: {}", Value::Object(c.vars.clone()));
    if let Some(e) = &c.expected {
        println!("    expected: {e:?}");
    }
    for a in &c.assertions {
        println!("    assert: {}", a.describe());
    }
    if !c.tags.is_empty() {
        println!("    tags: {}", c.tags.join(", "));
    }
    if !c.origin.is_empty() {
        println!("    from: {}", c.origin);
    }
}

pub fn suite(path: &Path, json: bool, command: SuiteCommand) -> Out {
    let mut reg = context::open(path)?;
    match command {
        SuiteCommand::List { name } => {
            let suites = reg.suites(&name)?;
            emit(json, &suites, || {
                if suites.is_empty() {
                    println!("{name} has no test suites");
                }
                for s in &suites {
                    println!("{}  {} case(s)  {}", s.name, s.cases, s.description);
                }
            });
        }
        SuiteCommand::Show { name, suite } => {
            let detail = reg.suite(&name, &suite)?;
            emit(json, &detail, || {
                println!(
                    "{} of {}: {} case(s)",
                    detail.suite.name, name, detail.suite.cases
                );
                for c in &detail.cases {
                    print_case(c);
                }
            });
        }
        SuiteCommand::Add {
            name,
            suite,
            vars,
            expected,
            assertions,
            tags,
            description,
        } => {
            let case = case_from_flags(description, &vars, expected, &assertions, tags)?;
            let added = reg.add_cases(&name, &suite, vec![case], "", true)?;
            emit(json, &added, || {
                for c in &added {
                    println!("added case {} to {suite} of {name}", c.id);
                }
            });
        }
        SuiteCommand::Import { name, suite, file } => {
            let shown = file.display().to_string();
            let format = import::format_of(&shown).ok_or_else(|| {
                Failure::bad_input(format!("{shown}: use a .csv or .jsonl file of test cases"))
            })?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::bad_input(format!("cannot read {shown}: {e}")))?;
            let cases = import::parse(format, &text)
                .map_err(|e| Failure::bad_input(format!("{shown}: {e}")))?;
            if cases.is_empty() {
                return Err(Failure::bad_input(format!(
                    "{shown}: the file has no cases"
                )));
            }
            let file_name = file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or(shown.clone());
            let added =
                reg.add_cases(&name, &suite, cases, &format!("import:{file_name}"), true)?;
            emit(json, &added, || {
                println!(
                    "imported {} case(s) from {shown} into {suite} of {name}",
                    added.len()
                )
            });
        }
        SuiteCommand::Remove { name, suite, case } => {
            reg.remove_case(&name, &suite, &case)?;
            emit(json, &json!({"removed": case}), || {
                println!("removed case {case} from {suite} of {name}")
            });
        }
    }
    Ok(())
}

fn parse_price(text: &str) -> Result<(String, ModelPrice), Failure> {
    let bad = || {
        Failure::bad_input(format!(
            "--price {text:?}: write MODEL=INPUT/OUTPUT per million tokens, e.g. gpt-4o-mini=0.15/0.6"
        ))
    };
    let (model, prices) = text.split_once('=').ok_or_else(bad)?;
    let (i, o) = prices.split_once('/').ok_or_else(bad)?;
    Ok((
        model.trim().to_string(),
        ModelPrice {
            input_per_mtok: i.trim().parse().map_err(|_| bad())?,
            output_per_mtok: o.trim().parse().map_err(|_| bad())?,
        },
    ))
}

pub fn provider(path: &Path, json: bool, command: ProviderCommand) -> Out {
    let mut reg = context::open(path)?;
    let person = reg.actor().to_string();
    let store = KeyStore::from_env().map_err(|e| Failure::bad_input(e.to_string()));
    match command {
        ProviderCommand::List => {
            let all = reg.providers()?;
            let rows: Vec<Value> = all
                .iter()
                .map(|p| {
                    let kept = store
                        .as_ref()
                        .ok()
                        .and_then(|s| s.provider_key(&p.name, &p.base_url, &person).ok())
                        .flatten()
                        .is_some();
                    let env = eval_run::key_env_vars(p)
                        .into_iter()
                        .find(|v| std::env::var(v).is_ok_and(|k| !k.trim().is_empty()));
                    json!({"provider": p, "key_kept": kept, "key_from_env": env})
                })
                .collect();
            emit(json, &rows, || {
                for (p, r) in all.iter().zip(&rows) {
                    let key = match (&r["key_from_env"], r["key_kept"].as_bool()) {
                        (Value::String(v), _) => format!("key from ${v}"),
                        (_, Some(true)) => "key kept in the key store".into(),
                        _ => "no key".into(),
                    };
                    println!("{}  {}  {}  ({key})", p.name, p.kind, p.base_url);
                }
            });
        }
        ProviderCommand::Set {
            name,
            kind,
            base_url,
            prices,
            timeout,
            key_stdin,
        } => {
            let prices: BTreeMap<String, ModelPrice> = prices
                .iter()
                .map(|p| parse_price(p))
                .collect::<Result<_, _>>()?;
            reg.set_provider(ProviderSettings {
                name: name.clone(),
                kind,
                base_url,
                prices,
                timeout_s: timeout,
            })?;
            let saved = reg.provider(&name)?;
            if key_stdin {
                let mut key = String::new();
                std::io::stdin()
                    .read_to_string(&mut key)
                    .map_err(|e| Failure::bad_input(format!("cannot read the key: {e}")))?;
                let key = key.trim();
                if key.is_empty() {
                    return Err(Failure::bad_input("no API key on standard input"));
                }
                store?
                    .set_provider_key(&saved.name, &saved.base_url, &person, key)
                    .map_err(|e| Failure::bad_input(e.to_string()))?;
            }
            emit(json, &saved, || {
                println!(
                    "provider {} ({}) at {}{}",
                    saved.name,
                    saved.kind,
                    saved.base_url,
                    if key_stdin {
                        "; API key kept in the key store"
                    } else {
                        ""
                    }
                )
            });
        }
        ProviderCommand::ForgetKey { name } => {
            let p = reg.provider(&name)?;
            store?
                .forget_provider_key(&p.name, &p.base_url, &person)
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            emit(json, &json!({"forgot": name}), || {
                println!("forgot the API key of {name}")
            });
        }
        ProviderCommand::Remove { name } => {
            reg.remove_provider(&name)?;
            emit(json, &json!({"removed": name}), || {
                println!("removed provider {name}")
            });
        }
    }
    Ok(())
}

fn model_override(text: Option<&str>) -> Result<Option<ModelSettings>, Failure> {
    let Some(text) = text else { return Ok(None) };
    let (provider, model) = text.split_once('/').ok_or_else(|| {
        Failure::bad_input(format!(
            "--model {text:?}: write provider/model, e.g. openai/gpt-4o-mini"
        ))
    })?;
    Ok(Some(ModelSettings {
        provider: provider.trim().into(),
        model: model.trim().into(),
        parameters: Default::default(),
    }))
}

/// Draws the progress bar on stderr when it is a terminal.
struct Bar {
    on: bool,
    last: Mutex<Option<std::time::Instant>>,
}

impl Bar {
    fn show(&self, p: &promptdesk_eval::Progress) {
        if !self.on {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if p.done < p.total && last.is_some_and(|l| now - l < std::time::Duration::from_millis(80))
        {
            return;
        }
        *last = Some(now);
        let width = 30;
        let filled = (p.done * width as u64)
            .checked_div(p.total)
            .map_or(width, |f| f as usize)
            .min(width);
        eprint!(
            "\r[{}{}] {}/{}  cached {}  errors {}  retries {}  in flight {}   ",
            "#".repeat(filled),
            ".".repeat(width - filled),
            p.done,
            p.total,
            p.cached,
            p.failed_requests,
            p.retries,
            p.in_flight
        );
        let _ = std::io::stderr().flush();
    }
}

pub fn eval(
    path: &Path,
    json: bool,
    spec: &str,
    suite: Option<&str>,
    model: Option<&str>,
    concurrency: usize,
    fail_under: Option<f64>,
) -> Out {
    if let Some(r) = fail_under {
        if !(0.0..=1.0).contains(&r) {
            return Err(Failure::bad_input(format!(
                "--fail-under must be between 0 and 1 (got {r})"
            )));
        }
    }
    let (name, version) = spec_with_ref(spec)?;
    let mut reg = context::open(path)?;
    let suite = suite_name(&reg, &name, suite)?;
    let mut worker = context::render_worker()?;
    let keys = KeyStore::from_env().ok();
    let request = RunRequest {
        prompt: name.clone(),
        version,
        suite: suite.clone(),
        model: model_override(model)?,
        concurrency: concurrency.max(1),
    };
    let prepared =
        eval_run::prepare(&mut reg, &mut worker, keys.as_ref(), &request).map_err(api_failure)?;
    drop(worker);
    let started = prepared.run.clone();
    if !json {
        eprintln!(
            "running suite {suite} ({} case(s)) on {name}@{} with {}/{} …",
            started.total, started.version, started.model.provider, started.model.model
        );
    }

    // Ctrl-C cancels: what finished stays recorded.
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        cancel.cancel();
                    }
                });
            }
        });
    }
    let bar = Bar {
        on: !json && std::io::stderr().is_terminal(),
        last: Mutex::new(None),
    };
    let run = eval_run::execute(prepared, |p| bar.show(&p), cancel).map_err(api_failure)?;
    if bar.on {
        eprintln!();
    }
    let failures = reg.run_results(&run.id, true)?;
    let below = fail_under.is_some_and(|r| run.pass_rate + 1e-9 < r);
    let out = json!({"run": run, "failures": failures, "fail_under": fail_under});
    emit(json, &out, || {
        println!(
            "run {}: {} — {}/{} passed ({:.0}%), {} failed, {} errors, {} cached; tokens {} in / {} out{}",
            run.id,
            run.status.as_str(),
            run.passed,
            run.total,
            run.pass_rate * 100.0,
            run.failed,
            run.errored,
            run.cached,
            run.tokens_in,
            run.tokens_out,
            run.cost.map(|c| format!("; cost {c:.4}")).unwrap_or_default()
        );
        for f in &failures {
            println!("FAIL {}", f.label);
            if let Some(e) = &f.error {
                println!("    error: {e}");
            }
            for c in f.checks.iter().filter(|c| !c.passed) {
                println!("    {}: {}", c.assertion, c.message);
            }
        }
    });
    if run.status != RunStatus::Completed {
        return Err(Failure::refused(
            "eval_failed",
            format!(
                "run {} ended {} after {} of {} case(s){}",
                run.id,
                run.status.as_str(),
                run.done,
                run.total,
                run.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            Value::Null,
        ));
    }
    // A case without an answer is a failure of the run, not of the prompt: CI must notice
    // (a wrong key, a provider down) even when no threshold is given.
    if run.errored > 0 {
        let first = failures
            .iter()
            .find_map(|f| f.error.clone())
            .unwrap_or_default();
        return Err(Failure::refused(
            "eval_failed",
            format!(
                "{} of {} case(s) got no answer from the model (first: {first})",
                run.errored, run.total
            ),
            Value::Null,
        ));
    }
    if below {
        return Err(Failure::refused(
            "eval_failed",
            format!(
                "{:.0}% of the cases passed, below --fail-under {:.0}%",
                run.pass_rate * 100.0,
                fail_under.unwrap_or(0.0) * 100.0
            ),
            Value::Null,
        ));
    }
    Ok(())
}

pub fn runs(
    path: &Path,
    json: bool,
    name: &str,
    suite: Option<&str>,
    version: Option<&str>,
    show: Option<&str>,
    limit: usize,
) -> Out {
    let reg = context::open(path)?;
    let version = version.map(|v| Ref::parse(v.trim())).transpose()?;
    let runs = reg.eval_runs(name, suite, version.as_ref(), 500)?;
    if let Some(prefix) = show {
        let found: Vec<_> = runs.iter().filter(|r| r.id.starts_with(prefix)).collect();
        let run = match found.as_slice() {
            [one] => *one,
            [] => return Err(Failure::bad_input(format!("{name} has no run {prefix}"))),
            _ => {
                return Err(Failure::bad_input(format!(
                    "{prefix} matches several runs: give more of the id"
                )))
            }
        };
        let results = reg.run_results(&run.id, false)?;
        emit(json, &json!({"run": run, "results": results}), || {
            for r in &results {
                println!("{} {}", if r.passed { "PASS" } else { "FAIL" }, r.label);
                if let Some(o) = &r.output {
                    for line in o.lines().take(6) {
                        println!("    | {line}");
                    }
                }
                if let Some(e) = &r.error {
                    println!("    error: {e}");
                }
                for c in r.checks.iter().filter(|c| !c.passed) {
                    println!("    {}: {}", c.assertion, c.message);
                }
            }
        });
        return Ok(());
    }
    let shown: Vec<_> = runs.into_iter().take(limit).collect();
    emit(json, &shown, || {
        for r in &shown {
            println!(
                "{}  {}@{}  {}  {}/{} passed  {}  {}/{}{}  {}",
                &r.id[..8.min(r.id.len())],
                name,
                r.version,
                r.suite,
                r.passed,
                r.total,
                r.status.as_str(),
                r.model.provider,
                r.model.model,
                if r.suite_changed {
                    "  (suite changed since)"
                } else {
                    ""
                },
                when(&r.started_at)
            );
        }
    });
    Ok(())
}

pub fn compare(
    path: &Path,
    json: bool,
    specs: &[String],
    suite: Option<&str>,
    only_differ: bool,
    only_failures: bool,
) -> Out {
    let mut name = None;
    let mut refs = Vec::new();
    for spec in specs {
        let (n, r) = spec_with_ref(spec)?;
        if name.get_or_insert_with(|| n.clone()) != &n {
            return Err(Failure::bad_input(format!(
                "compare versions of one prompt ({} and {n} differ)",
                name.unwrap_or_default()
            )));
        }
        refs.push(r);
    }
    let name = name.unwrap_or_default();
    let reg = context::open(path)?;
    let suite = suite_name(&reg, &name, suite)?;
    let mut cmp = reg.compare(&name, &refs, &suite)?;
    cmp.rows
        .retain(|r| (!only_differ || r.differs) && (!only_failures || r.has_failure));
    emit(json, &cmp, || {
        for c in &cmp.columns {
            match &c.run {
                Some(run) => println!(
                    "v{}{}: run {} {} — {}/{} passed",
                    c.version,
                    if c.labels.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.labels.join(", "))
                    },
                    &run.id[..8.min(run.id.len())],
                    run.status.as_str(),
                    run.passed,
                    run.total
                ),
                None => println!(
                    "v{}: suite {suite} has not run on it (`promptdesk eval {name}@{} --suite {suite}`)",
                    c.version, c.version
                ),
            }
        }
        for row in &cmp.rows {
            println!(
                "\n{}{}",
                row.label,
                if row.differs { "" } else { "  (same output)" }
            );
            for (col, cell) in cmp.columns.iter().zip(&row.cells) {
                match cell {
                    None => println!("  v{}: —", col.version),
                    Some(cell) => {
                        println!(
                            "  v{} {}:",
                            col.version,
                            if cell.passed { "PASS" } else { "FAIL" }
                        );
                        let text = cell
                            .output
                            .as_deref()
                            .or(cell.error.as_deref())
                            .unwrap_or("");
                        for line in text.lines().take(8) {
                            println!("    | {line}");
                        }
                        for r in &cell.ratings {
                            println!("    rated {} by {}: {}", r.rating, r.rated_by, r.comment);
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

pub fn rate(path: &Path, json: bool, spec: &str, case: &str, rating: &str, comment: &str) -> Out {
    let (name, version) = spec_with_ref(spec)?;
    let mut reg = context::open(path)?;
    let r = reg.rate_output(&name, &version, case, rating, comment)?;
    emit(json, &r, || {
        println!(
            "rated {}@{}'s output for {} {}",
            name, r.version, r.case_label, r.rating
        )
    });
    Ok(())
}

/// A promptfoo assertion for ours, or why it has no deterministic equivalent.
fn promptfoo_assert(a: &Assertion) -> Result<Value, String> {
    let prefix = if a.not { "not-" } else { "" };
    let mut v = match &a.kind {
        AssertionKind::Equals { value }
        | AssertionKind::Contains { value }
        | AssertionKind::Icontains { value }
        | AssertionKind::StartsWith { value } => {
            json!({"type": format!("{prefix}{}", a.kind.type_name()), "value": value})
        }
        AssertionKind::ContainsAny { values } | AssertionKind::ContainsAll { values } => {
            json!({"type": format!("{prefix}{}", a.kind.type_name()), "value": values})
        }
        AssertionKind::Regex { pattern } => {
            json!({"type": format!("{prefix}regex"), "value": pattern})
        }
        AssertionKind::IsJson => json!({"type": format!("{prefix}is-json")}),
        AssertionKind::JsonSchema { schema } => {
            json!({"type": format!("{prefix}is-json"), "value": schema})
        }
        AssertionKind::Length { min, max } => {
            let mut conds = Vec::new();
            if let Some(m) = min {
                conds.push(format!("output.length >= {m}"));
            }
            if let Some(m) = max {
                conds.push(format!("output.length <= {m}"));
            }
            json!({"type": format!("{prefix}javascript"), "value": conds.join(" && ")})
        }
        AssertionKind::Latency { max_ms } => {
            if a.not {
                return Err("not-latency has no promptfoo equivalent".into());
            }
            json!({"type": "latency", "threshold": max_ms})
        }
        AssertionKind::Cost { max } => {
            if a.not {
                return Err("not-cost has no promptfoo equivalent".into());
            }
            json!({"type": "cost", "threshold": max})
        }
        AssertionKind::Similar { .. } => return Err(
            "similar (word overlap with the expected output) is not deterministic in promptfoo \
                 (its `similar` uses embeddings)"
                .into(),
        ),
        AssertionKind::Rubric { .. } => {
            return Err("rubric is model-graded (promptfoo's llm-rubric): left out".into())
        }
    };
    if a.weight != 1.0 {
        v["weight"] = json!(a.weight);
    }
    Ok(v)
}

/// The template with every `{% include "…" %}` replaced by the pinned included template: the
/// export must stand alone, and promptfoo resolves includes as files.
fn inline_includes(
    source: &str,
    includes: &promptdesk_core::includes::Resolved,
    depth: usize,
) -> String {
    let re = regex_include();
    re.replace_all(source, |caps: &regex::Captures<'_>| {
        match includes.get(&caps[1]) {
            Some(inc) if depth < 8 => inline_includes(&inc.source, includes, depth + 1),
            _ => caps[0].to_string(),
        }
    })
    .into_owned()
}

fn regex_include() -> regex::Regex {
    regex::Regex::new(r#"\{%-?\s*include\s+["']([^"']+)["']\s*-?%\}"#).expect("include pattern")
}

pub fn export_promptfoo(
    path: &Path,
    json: bool,
    spec: &str,
    dir: &Path,
    suite: Option<&str>,
) -> Out {
    let (name, version) = spec_with_ref(spec)?;
    let reg = context::open(path)?;
    let suite = suite_name(&reg, &name, suite)?;
    let v = reg.resolve(&name, Some(&version))?;
    let detail = reg.suite(&name, &suite)?;
    let includes = promptdesk_core::includes::resolve_pinned(reg.connection(), &name, &v.content)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::bad_input(format!("cannot create {}: {e}", dir.display())))?;
    let write = |file: &str, text: &str| -> Result<(), Failure> {
        std::fs::write(dir.join(file), text).map_err(|e| {
            Failure::bad_input(format!("cannot write {}: {e}", dir.join(file).display()))
        })
    };
    let prompt_file = match &v.content.body {
        promptdesk_content::Body::Text { template } => {
            write("prompt.txt", &inline_includes(template, &includes, 0))?;
            "prompt.txt"
        }
        promptdesk_content::Body::Chat { messages } => {
            let msgs: Vec<Value> = messages
                .iter()
                .map(|m| json!({"role": m.role, "content": inline_includes(&m.template, &includes, 0)}))
                .collect();
            write(
                "prompt.json",
                &serde_json::to_string_pretty(&msgs).expect("messages serialise"),
            )?;
            "prompt.json"
        }
    };
    let model = &v.content.model;
    let provider = reg.provider(&model.provider).ok();
    let provider_id = match provider.as_ref().map(|p| p.kind.as_str()) {
        Some("anthropic") => format!("anthropic:messages:{}", model.model),
        _ => format!("openai:chat:{}", model.model),
    };
    let mut config = serde_json::Map::new();
    for (k, val) in &model.parameters {
        config.insert(k.clone(), val.clone());
    }
    if let Some(p) = &provider {
        config.insert("apiBaseUrl".into(), json!(p.base_url));
    }
    let mut skipped = Vec::new();
    let tests: Vec<Value> = detail
        .cases
        .iter()
        .map(|c| {
            let mut asserts = Vec::new();
            for a in &c.assertions {
                match promptfoo_assert(a) {
                    Ok(x) => asserts.push(x),
                    Err(why) => skipped.push(format!("{}: {} ({why})", c.label(), a.describe())),
                }
            }
            let mut t = json!({"description": c.label(), "vars": c.vars, "assert": asserts});
            if let Some(e) = &c.expected {
                t["metadata"] = json!({"expected": e});
            }
            t
        })
        .collect();
    let doc = json!({
        "description": format!("{name}@{} with suite {suite} (exported by Promptdesk)", v.number),
        "prompts": [format!("file://{prompt_file}")],
        "providers": [{"id": provider_id, "config": config}],
        "tests": tests,
    });
    let yaml = serde_yaml_ng::to_string(&doc)
        .map_err(|e| Failure::internal(format!("cannot write the config: {e}")))?;
    let header = format!(
        "# {name}@{} ({}) and its test suite {suite}, exported by Promptdesk.\n\
         # Templates are Jinja rendered by minijinja in Promptdesk; promptfoo renders them with\n\
         # Nunjucks, which agrees on variables, if and for but not on every filter.\n\
         # Includes are inlined as pinned in this version.\n{}",
        v.number,
        &v.hash[..12],
        skipped
            .iter()
            .map(|s| format!("# not exported: {s}\n"))
            .collect::<String>()
    );
    write("promptfooconfig.yaml", &format!("{header}{yaml}"))?;
    emit(
        json,
        &json!({"dir": dir.display().to_string(), "tests": tests.len(), "prompt": prompt_file,
                "not_exported": skipped}),
        || {
            println!(
                "wrote {} ({} test(s), prompt {prompt_file})",
                dir.join("promptfooconfig.yaml").display(),
                tests.len()
            );
            for s in &skipped {
                println!("not exported: {s}");
            }
        },
    );
    Ok(())
}
