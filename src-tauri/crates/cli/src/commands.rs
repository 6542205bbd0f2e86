//! One function per command: parse arguments into core calls, print the result.

use std::path::Path;

use promptdesk_content::{PromptKind, Rendered, VersionContent};
use promptdesk_core::export;
use promptdesk_core::format::{self, PromptFile};
use promptdesk_core::{parse_spec, DraftContent, Identity, NewPrompt, Ref, Registry, RenderTarget};
use promptdesk_diff::{diff_rendered, diff_versions, DiffOptions};
use serde_json::{json, Map, Value};

use crate::args::{Cli, Command, InputArgs, KindArg};
use crate::context;
use crate::output::{emit, short, use_color, when, Failure};

type Out = Result<(), Failure>;

pub fn run(cli: Cli) -> Out {
    let json = cli.json;
    let color = use_color(cli.color);
    if let Command::RenderWorker = cli.command {
        std::process::exit(promptdesk_template::serve_stdio());
    }
    let path = context::registry_path(cli.registry)?;
    match cli.command {
        Command::Init => init(&path, json),
        Command::Demo => demo(&path, json),
        Command::Identity { name, email } => identity(&path, json, name, email),
        Command::New {
            name,
            kind,
            file,
            description,
            tags,
        } => new_prompt(&path, json, &name, kind, file.as_deref(), description, tags),
        Command::Draft { name, file } => draft(&path, json, &name, &file),
        Command::Check { name } => check(&path, json, &name),
        Command::Commit { name, message } => commit(&path, json, &name, &message),
        Command::List { folder } => list(&path, json, folder.as_deref()),
        Command::Search { query, limit } => search(&path, json, &query, limit),
        Command::Log {
            name,
            limit,
            before,
        } => log(&path, json, &name, limit, before),
        Command::Show { spec } => show(&path, json, &spec),
        Command::Render { spec, inputs } => render(&path, json, &spec, &inputs),
        Command::Diff {
            old,
            new,
            rendered,
            inputs,
        } => diff(&path, json, color, &old, &new, rendered, &inputs),
        Command::Label {
            spec,
            label,
            reason,
        } => move_label(&path, json, &spec, &label, &reason),
        Command::Labels { name } => labels(&path, json, &name),
        Command::Samples { name } => samples(&path, json, &name),
        Command::Sample {
            name,
            sample,
            inputs,
        } => save_sample(&path, json, &name, &sample, &inputs),
        Command::Ledger { name, limit } => ledger(&path, json, name.as_deref(), limit),
        Command::Export { dir } => export_dir(&path, json, &dir),
        Command::Import { dir } => import_dir(&path, json, &dir),
        Command::Verify => verify(&path, json),
        Command::Ui { port, ui_dir } => crate::web::run(&path, json, port, ui_dir),
        Command::Serve {
            database,
            addr,
            tls_cert,
            tls_key,
        } => {
            let tls = tls_cert.zip(tls_key);
            crate::serve::serve(json, &database, &addr, tls.as_ref())
        }
        Command::Server { database, command } => crate::serve::admin(json, &database, command),
        Command::Remote { command } => crate::sync::remote(&path, json, command),
        Command::Sync { status } => crate::sync::sync(&path, json, status),
        Command::Suite { command } => crate::evals::suite(&path, json, command),
        Command::Incident { command } => crate::incidents::incident(&path, json, command),
        Command::Postmortem {
            id,
            edit,
            template,
            export,
        } => crate::incidents::postmortem(
            &path,
            json,
            &id,
            edit.as_deref(),
            template,
            export.as_deref(),
        ),
        Command::Actions => crate::incidents::actions(&path, json),
        Command::Provider { command } => crate::evals::provider(&path, json, command),
        Command::Eval {
            spec,
            suite,
            model,
            concurrency,
            fail_under,
        } => crate::evals::eval(
            &path,
            json,
            &spec,
            suite.as_deref(),
            model.as_deref(),
            concurrency,
            fail_under,
        ),
        Command::Runs {
            name,
            suite,
            version,
            show,
            limit,
        } => crate::evals::runs(
            &path,
            json,
            &name,
            suite.as_deref(),
            version.as_deref(),
            show.as_deref(),
            limit,
        ),
        Command::Compare {
            specs,
            suite,
            only_differ,
            only_failures,
        } => crate::evals::compare(
            &path,
            json,
            &specs,
            suite.as_deref(),
            only_differ,
            only_failures,
        ),
        Command::Rate {
            spec,
            case,
            rating,
            comment,
        } => crate::evals::rate(&path, json, &spec, &case, &rating, &comment),
        Command::ExportPromptfoo { spec, dir, suite } => {
            crate::evals::export_promptfoo(&path, json, &spec, &dir, suite.as_deref())
        }
        Command::Review { command } => crate::release::review(&path, json, command),
        Command::Release {
            spec,
            label,
            message,
            bundle,
            review,
            expect_from,
        } => crate::release::release(
            &path,
            json,
            spec,
            label,
            &message,
            bundle,
            review,
            expect_from,
        ),
        Command::Rollback {
            name,
            label,
            reason,
            to,
            expect_from,
        } => crate::release::rollback(
            &path,
            json,
            &name,
            &label,
            &reason,
            to.as_deref(),
            expect_from.as_deref(),
        ),
        Command::Releases { name, label } => {
            crate::release::releases(&path, json, &name, label.as_deref())
        }
        Command::Policy { command } => crate::release::policy(&path, json, command),
        Command::Role { command } => crate::release::role(&path, json, command),
        Command::Keys { command } => match command {
            crate::args::KeysCommand::Check => crate::release::keys_check(&path, json),
            crate::args::KeysCommand::List => crate::release::keys_list(&path, json),
            crate::args::KeysCommand::Rotate => crate::release::keys_rotate(&path, json),
            crate::args::KeysCommand::Revoke { key_id, reason } => {
                crate::release::keys_revoke(&path, &key_id, &reason, json)
            }
        },
        Command::RenderWorker => unreachable!("handled above"),
    }
}

fn init(path: &Path, json: bool) -> Out {
    let (_, created) = Registry::init(path)?;
    emit(json, &json!({"registry": path, "created": created}), || {
        if created {
            println!("Created a registry at {}", path.display());
        } else {
            println!(
                "A registry already exists at {}; nothing changed",
                path.display()
            );
        }
    });
    Ok(())
}

fn demo(path: &Path, json: bool) -> Out {
    let (mut reg, _) = Registry::init(path)?;
    let who = context::actor(&reg);
    reg.set_actor(who);
    if !reg.list(None)?.is_empty() {
        return Err(Failure::refused(
            "conflict",
            format!(
                "{} already holds prompts; the demo only goes into an empty registry",
                path.display()
            ),
            Value::Null,
        ));
    }
    promptdesk_demo::seed(&mut reg)?;
    let prompts = reg.list(None)?;
    emit(json, &json!({"registry": path, "prompts": prompts}), || {
        println!("Seeded the demo into {}:", path.display());
        for p in &prompts {
            println!("  {}", p.name);
        }
    });
    Ok(())
}

fn identity(path: &Path, json: bool, name: Option<String>, email: Option<String>) -> Out {
    let mut reg = context::open(path)?;
    if name.is_some() || email.is_some() {
        let current = reg.identity()?.unwrap_or_default();
        reg.set_identity(&Identity {
            name: name.unwrap_or(current.name),
            email: email.unwrap_or(current.email),
        })?;
    }
    let identity = reg.identity()?;
    let acting = context::actor(&reg);
    emit(
        json,
        &json!({"identity": identity, "acting_as": acting}),
        || {
            match &identity {
                Some(i) if i.email.is_empty() => println!("{}", i.name),
                Some(i) => println!("{} <{}>", i.name, i.email),
                None => println!("No identity configured (set one with --name and --email)"),
            }
            if identity.as_ref().map(|i| &i.name) != Some(&acting) {
                println!("Acting as {acting} (from PROMPTDESK_USER or the system user)");
            }
        },
    );
    Ok(())
}

fn read_prompt_file(file: &Path) -> Result<PromptFile, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
    Ok(format::parse(&text, &file.display().to_string())?)
}

fn draft_of(file: &PromptFile) -> DraftContent {
    DraftContent {
        body: file.body.clone(),
        variables: file.variables.clone(),
        model: file.model.clone(),
    }
}

fn new_prompt(
    path: &Path,
    json: bool,
    name: &str,
    kind: Option<KindArg>,
    file: Option<&Path>,
    description: Option<String>,
    tags: Vec<String>,
) -> Out {
    let mut reg = context::open(path)?;
    let kind_flag = kind.map(|k| match k {
        KindArg::Text => PromptKind::Text,
        KindArg::Chat => PromptKind::Chat,
    });
    let parsed = file.map(read_prompt_file).transpose()?;
    let kind = match (&parsed, kind_flag) {
        (Some(f), Some(k)) if f.kind != k => {
            return Err(Failure::bad_input(format!(
                "--kind {k} does not match the file, which is a {} prompt",
                f.kind
            )))
        }
        (Some(f), _) => f.kind,
        (None, k) => k.unwrap_or(PromptKind::Text),
    };
    let new = NewPrompt {
        description: description
            .or_else(|| parsed.as_ref().map(|f| f.description.clone()))
            .unwrap_or_default(),
        tags: if tags.is_empty() {
            parsed.as_ref().map(|f| f.tags.clone()).unwrap_or_default()
        } else {
            tags
        },
        draft: parsed.as_ref().map(draft_of),
        samples: parsed
            .as_ref()
            .map(|f| f.samples.clone())
            .unwrap_or_default(),
    };
    let prompt = reg.create_prompt(name, kind, new)?;
    emit(json, &prompt, || {
        println!("Created {} ({} prompt)", prompt.name, prompt.kind);
        println!(
            "Next: `promptdesk draft {} --file FILE`, then `promptdesk commit {} -m \"…\"`",
            prompt.name, prompt.name
        );
    });
    Ok(())
}

fn draft(path: &Path, json: bool, name: &str, file: &Path) -> Out {
    let mut reg = context::open(path)?;
    let parsed = read_prompt_file(file)?;
    let prompt = reg.prompt(name)?;
    if parsed.kind != prompt.kind {
        return Err(Failure::bad_input(format!(
            "{} is a {} prompt file but '{name}' is a {} prompt",
            file.display(),
            parsed.kind,
            prompt.kind
        )));
    }
    // The draft, its samples and its description change together or not at all.
    let saved = reg.batch(|reg| {
        let saved = reg.save_draft(name, draft_of(&parsed))?;
        for (sample, inputs) in &parsed.samples {
            reg.save_sample(name, sample, inputs)?;
        }
        if !parsed.description.is_empty() || !parsed.tags.is_empty() {
            let description = if parsed.description.is_empty() {
                prompt.description.clone()
            } else {
                parsed.description.clone()
            };
            let tags = if parsed.tags.is_empty() {
                prompt.tags.clone()
            } else {
                parsed.tags.clone()
            };
            reg.update_prompt(name, &description, &tags)?;
        }
        Ok(saved)
    })?;
    let analysis = reg.analyse_draft(name)?;
    emit(json, &json!({"draft": saved, "analysis": analysis}), || {
        println!("Saved the draft of {name}");
        print_analysis(&analysis);
    });
    Ok(())
}

fn print_analysis(a: &promptdesk_core::DraftAnalysis) {
    for e in &a.errors {
        println!("  error: {e}");
    }
    if !a.schema.undeclared.is_empty() {
        println!(
            "  warning: used but not declared: {}",
            a.schema.undeclared.join(", ")
        );
    }
    if !a.schema.unused.is_empty() {
        println!(
            "  warning: declared but not used: {}",
            a.schema.unused.join(", ")
        );
    }
    for (inc, n) in &a.includes {
        println!("  includes \"{inc}\" (version {n})");
    }
}

fn check(path: &Path, json: bool, name: &str) -> Out {
    let reg = context::open(path)?;
    let analysis = reg.analyse_draft(name)?;
    if json && !analysis.errors.is_empty() {
        // The failure below carries the analysis as its details: one JSON document only.
        return Err(Failure {
            kind: "invalid_template",
            message: format!("{name}: {} problem(s) in the draft", analysis.errors.len()),
            details: serde_json::to_value(&analysis).unwrap_or(Value::Null),
        });
    }
    emit(json, &analysis, || {
        if analysis.errors.is_empty()
            && analysis.schema.undeclared.is_empty()
            && analysis.schema.unused.is_empty()
        {
            println!("{name}: no problems found");
        }
        print_analysis(&analysis);
    });
    match analysis.errors.first() {
        Some(first) => Err(Failure::from(first.clone())),
        None => Ok(()),
    }
}

fn commit(path: &Path, json: bool, name: &str, message: &str) -> Out {
    let mut reg = context::open(path)?;
    let v = reg.commit(name, message)?;
    emit(
        json,
        &json!({"prompt": v.prompt, "version": v.number, "hash": v.hash, "parent": v.parent_hash,
                "author": v.author, "created_at": v.created_at, "includes": v.content.includes}),
        || {
            println!(
                "Committed {}@{} {}: {}",
                v.prompt,
                v.number,
                short(&v.hash),
                v.message
            )
        },
    );
    Ok(())
}

fn list(path: &Path, json: bool, folder: Option<&str>) -> Out {
    let reg = context::open(path)?;
    let prompts = reg.list(folder)?;
    emit(json, &prompts, || print_listing(&prompts));
    Ok(())
}

fn print_listing(prompts: &[promptdesk_core::PromptListing]) {
    if prompts.is_empty() {
        println!("No prompts yet. Create one with `promptdesk new NAME`.");
        return;
    }
    let width = prompts.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in prompts {
        let version = p.latest.map_or("-".to_string(), |n| format!("v{n}"));
        let labels = p
            .labels
            .iter()
            .filter(|(l, _)| l.as_str() != "latest")
            .map(|(l, n)| format!("{l}@{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let changed = if p.has_changes { "*" } else { " " };
        println!(
            "{:width$} {changed} {:4} {:5} {:28} {}",
            p.name,
            p.kind.as_str(),
            version,
            labels,
            p.description
        );
    }
}

fn search(path: &Path, json: bool, query: &str, limit: usize) -> Out {
    let reg = context::open(path)?;
    let found = reg.search(query, limit)?;
    emit(json, &found, || {
        if found.is_empty() {
            println!("Nothing matches \"{query}\"");
        } else {
            print_listing(&found);
        }
    });
    Ok(())
}

fn log(path: &Path, json: bool, name: &str, limit: usize, before: Option<u32>) -> Out {
    let reg = context::open(path)?;
    let page = reg.history(name, before, limit)?;
    emit(json, &page, || {
        if page.is_empty() {
            println!("{name} has no versions yet");
        }
        for v in &page {
            let labels = if v.labels.is_empty() {
                String::new()
            } else {
                format!("  [{}]", v.labels.join(", "))
            };
            println!(
                "{:>4}  {}  {}  {:10}  {}{labels}",
                v.number,
                short(&v.hash),
                when(&v.created_at),
                v.author,
                v.message
            );
        }
        if let Some(last) = page.last() {
            if page.len() == limit && last.number > 1 {
                println!(
                    "… older versions: promptdesk log {name} --before {}",
                    last.number
                );
            }
        }
    });
    Ok(())
}

fn show(path: &Path, json: bool, spec: &str) -> Out {
    let reg = context::open(path)?;
    let (name, reference) = parse_spec(spec)?;
    match reference {
        None | Some(Ref::Draft) => {
            let prompt = reg.prompt(&name)?;
            let draft = reg.draft(&name)?;
            let labels = reg.labels(&name)?;
            let samples = reg.samples(&name)?;
            emit(
                json,
                &json!({"prompt": prompt, "draft": draft, "labels": labels, "samples": samples}),
                || {
                    let mut f = PromptFile::new(draft.content.body.clone());
                    f.description = prompt.description.clone();
                    f.tags = prompt.tags.clone();
                    f.variables = draft.content.variables.clone();
                    f.model = draft.content.model.clone();
                    f.samples = samples.clone();
                    let labels = labels
                        .iter()
                        .map(|l| format!("{}@{}", l.name, l.number))
                        .collect::<Vec<_>>()
                        .join(" ");
                    println!(
                        "# {} — draft (labels: {})",
                        prompt.name,
                        if labels.is_empty() { "none" } else { &labels }
                    );
                    print!("{}", format::write(&f));
                },
            );
        }
        Some(r) => {
            let v = reg.resolve(&name, Some(&r))?;
            emit(json, &v, || {
                print!("{}", format::write(&PromptFile::of_version(&v)))
            });
        }
    }
    Ok(())
}

fn read_inputs(
    reg: &Registry,
    name: &str,
    inputs: &InputArgs,
) -> Result<Map<String, Value>, Failure> {
    let parse = |text: &str, origin: &str| -> Result<Map<String, Value>, Failure> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(Failure::bad_input(format!(
                "{origin} must be a JSON object like {{\"name\": \"Ada\"}}, got {}",
                promptdesk_content::VarType::name_of(&other)
            ))),
            Err(e) => Err(Failure::bad_input(format!(
                "{origin} is not valid JSON: {e}"
            ))),
        }
    };
    if let Some(text) = &inputs.vars {
        return parse(text, "--vars");
    }
    if let Some(file) = &inputs.vars_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
        return parse(&text, &file.display().to_string());
    }
    if let Some(sample) = &inputs.sample {
        let samples = reg.samples(name)?;
        return samples.get(sample).cloned().ok_or_else(|| {
            let known = samples.keys().cloned().collect::<Vec<_>>().join(", ");
            Failure::bad_input(if known.is_empty() {
                format!("'{name}' has no sample inputs (save one with `promptdesk sample {name} NAME --vars JSON`)")
            } else {
                format!("'{name}' has no sample named '{sample}' (it has: {known})")
            })
        });
    }
    Ok(Map::new())
}

/// Renders the draft (no ref or `@draft`) or a version of a prompt through the worker.
fn render_spec(
    reg: &Registry,
    worker: &mut promptdesk_template::RenderWorker,
    name: &str,
    reference: Option<&Ref>,
    vars: &Map<String, Value>,
) -> Result<Rendered, Failure> {
    let request = match reference {
        None | Some(Ref::Draft) => reg.render_request(RenderTarget::Draft(name), vars)?,
        Some(r) => {
            let v = reg.resolve(name, Some(r))?;
            reg.render_request(RenderTarget::Version(&v), vars)?
        }
    };
    Ok(worker.render(&request)?)
}

fn render(path: &Path, json: bool, spec: &str, inputs: &InputArgs) -> Out {
    let reg = context::open(path)?;
    let (name, reference) = parse_spec(spec)?;
    let vars = read_inputs(&reg, &name, inputs)?;
    let mut worker = context::render_worker()?;
    let rendered = render_spec(&reg, &mut worker, &name, reference.as_ref(), &vars)?;
    emit(json, &rendered, || match &rendered {
        Rendered::Text { text } => println!("{text}"),
        Rendered::Chat { .. } => print!("{}", rendered.to_plain_text()),
    });
    Ok(())
}

/// One side of a diff: a version's content, or the draft's with its includes pinned as they
/// would be if it were committed now.
fn side(
    reg: &Registry,
    spec: &str,
) -> Result<(String, Option<Ref>, VersionContent, String), Failure> {
    let (name, reference) = parse_spec(spec)?;
    match &reference {
        Some(Ref::Draft) => {
            let content = reg.draft_as_version_content(&name)?;
            Ok((name.clone(), reference, content, format!("{name}@draft")))
        }
        None => Err(Failure::bad_input(format!(
            "say which version of '{name}' to compare: {name}@3, {name}@production or {name}@draft"
        ))),
        Some(r) => {
            let v = reg.resolve(&name, Some(r))?;
            let label = format!("{name}@{}", v.number);
            Ok((name, reference, v.content, label))
        }
    }
}

fn diff(
    path: &Path,
    json: bool,
    color: bool,
    old: &str,
    new: &str,
    rendered: bool,
    inputs: &InputArgs,
) -> Out {
    let reg = context::open(path)?;
    let (old_name, old_ref, old_content, old_label) = side(&reg, old)?;
    let (new_name, new_ref, new_content, new_label) = side(&reg, new)?;
    let opts = DiffOptions::default();
    let mut result = diff_versions(&old_content, &new_content, &opts);
    let wants_render =
        rendered || inputs.vars.is_some() || inputs.vars_file.is_some() || inputs.sample.is_some();
    if wants_render {
        let vars = read_inputs(&reg, &new_name, inputs)?;
        let mut worker = context::render_worker()?;
        let a = render_spec(&reg, &mut worker, &old_name, old_ref.as_ref(), &vars)?;
        let b = render_spec(&reg, &mut worker, &new_name, new_ref.as_ref(), &vars)?;
        result = result.with_rendered(diff_rendered(&a, &b, &opts));
    }
    emit(
        json,
        &json!({"old": old_label, "new": new_label, "diff": result}),
        || {
            if result.is_empty() {
                println!("{old_label} and {new_label} have the same content");
            } else {
                print!("{}", result.to_unified(&old_label, &new_label, color));
            }
        },
    );
    Ok(())
}

fn move_label(path: &Path, json: bool, spec: &str, label: &str, reason: &str) -> Out {
    let mut reg = context::open(path)?;
    let (name, reference) = parse_spec(spec)?;
    if reference.is_none() {
        return Err(Failure::bad_input(format!(
            "say which version gets the label: {name}@3, {name}@latest or {name}@#3fa9c1"
        )));
    }
    let m = reg.set_label(&name, reference.as_ref(), label, reason)?;
    emit(json, &m, || {
        let from = m
            .from_number
            .map_or("nothing".to_string(), |n| format!("version {n}"));
        println!(
            "{label} of {name} now points at version {} (was {from})",
            m.to_number
        );
    });
    Ok(())
}

fn labels(path: &Path, json: bool, name: &str) -> Out {
    let reg = context::open(path)?;
    let current = reg.labels(name)?;
    let history = reg.label_history(name, None)?;
    emit(
        json,
        &json!({"labels": current, "history": history}),
        || {
            if current.is_empty() {
                println!("{name} has no labels yet");
                return;
            }
            for l in &current {
                println!(
                    "{:12} → {}@{} {}  (moved {} by {})",
                    l.name,
                    name,
                    l.number,
                    short(&l.hash),
                    when(&l.moved_at),
                    l.moved_by
                );
            }
            println!("\nHistory:");
            for m in &history {
                let from = m.from_number.map_or("—".to_string(), |n| n.to_string());
                let reason = if m.reason.is_empty() {
                    String::new()
                } else {
                    format!("  \"{}\"", m.reason)
                };
                println!(
                    "  {}  {:12} {from:>3} → {:<3} by {}{reason}",
                    when(&m.at),
                    m.label,
                    m.to_number,
                    m.actor
                );
            }
        },
    );
    Ok(())
}

fn samples(path: &Path, json: bool, name: &str) -> Out {
    let reg = context::open(path)?;
    let all = reg.samples(name)?;
    emit(json, &all, || {
        if all.is_empty() {
            println!("{name} has no sample inputs");
        }
        for (sample, inputs) in &all {
            println!("{sample}: {}", Value::Object(inputs.clone()));
        }
    });
    Ok(())
}

fn save_sample(path: &Path, json: bool, name: &str, sample: &str, inputs: &InputArgs) -> Out {
    let mut reg = context::open(path)?;
    if inputs.vars.is_none() && inputs.vars_file.is_none() {
        return Err(Failure::bad_input(
            "give the inputs with --vars JSON or --vars-file FILE",
        ));
    }
    let vars = read_inputs(&reg, name, inputs)?;
    reg.save_sample(name, sample, &vars)?;
    emit(
        json,
        &json!({"prompt": name, "sample": sample, "inputs": vars}),
        || println!("Saved sample '{sample}' of {name}"),
    );
    Ok(())
}

fn ledger(path: &Path, json: bool, name: Option<&str>, limit: usize) -> Out {
    let reg = context::open(path)?;
    let entries = reg.ledger(name, 0, limit)?;
    emit(json, &entries, || {
        for e in &entries {
            println!(
                "{:>5}  {}  {:10} {:18} {}  {}",
                e.seq,
                when(&e.at),
                e.actor,
                e.kind,
                e.subject,
                e.payload
            );
        }
    });
    Ok(())
}

fn export_dir(path: &Path, json: bool, dir: &Path) -> Out {
    let reg = context::open(path)?;
    let summary = export::export(&reg, dir)?;
    emit(json, &summary, || {
        println!(
            "Exported {} prompts, {} versions and {} label moves to {}",
            summary.prompts,
            summary.versions,
            summary.label_moves,
            dir.display()
        )
    });
    Ok(())
}

fn import_dir(path: &Path, json: bool, dir: &Path) -> Out {
    export::check_export_dir(dir)?;
    let (mut reg, _) = Registry::init(path)?;
    let who = context::actor(&reg);
    reg.set_actor(who);
    let summary = export::import(&mut reg, dir)?;
    emit(json, &summary, || {
        println!(
            "Imported {} prompts, {} versions and {} label moves from {}",
            summary.prompts,
            summary.versions,
            summary.label_moves,
            dir.display()
        )
    });
    Ok(())
}

fn verify(path: &Path, json: bool) -> Out {
    let reg = context::open(path)?;
    let report = reg.verify()?;
    if report.problems.is_empty() {
        emit(json, &report, || {
            println!(
                "ok: {} versions re-hashed, {} ledger entries verified and replayed (every table \
                 matches the ledger, every release its policy), signatures and SQLite integrity ok",
                report.versions, report.ledger_entries
            );
        });
        return Ok(());
    }
    if !json {
        // One line per differing row, each naming its table and key, on stdout so it can be
        // filtered; the one-line summary follows on stderr.
        for problem in &report.problems {
            println!("{problem}");
        }
    }
    Err(Failure::refused(
        "verify_failed",
        format!(
            "verify found {} problem(s): {}",
            report.problems.len(),
            report.problems.join("; ")
        ),
        serde_json::to_value(&report).unwrap_or(Value::Null),
    ))
}
