//! Rendering a prompt body in this process, with every limit minijinja can enforce itself.
//!
//! Strict undefined, no autoescape, a fuel limit (bounds the steps a template runs), an output
//! cap (a writer that refuses bytes past the limit), and a loader that serves only the includes
//! the caller resolved. What minijinja cannot bound — memory, and time spent inside a single
//! filter — is bounded by running this inside the worker process ([`crate::worker`]); call
//! [`render_in_process`] directly only on trusted input.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use minijinja::value::{Serde, Value as JinjaValue};
use minijinja::Environment;
use promptdesk_content::{Body, Rendered, RenderedMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::analysis::include_sites;
use crate::engine::{self, ErrorContext};
use crate::error::{ErrorKind, SourceLocation, TemplateError};

/// The limits of one render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// minijinja fuel: roughly, instructions executed per template (each chat message has its
    /// own budget). A loop that never ends stops after this many steps.
    pub fuel: u64,
    /// The most bytes of output, all chat messages together.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    /// 2,000,000 fuel and 1 MiB of output.
    fn default() -> Self {
        Limits {
            fuel: 2_000_000,
            max_output_bytes: 1024 * 1024,
        }
    }
}

/// Everything needed to render a prompt, self-contained (it is sent to the worker as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// The prompt's name, used in error locations.
    pub name: String,
    /// The templates to render.
    pub body: Body,
    /// Include name as written → template source: the whole transitive closure, resolved by
    /// the caller. Nothing else can be included.
    #[serde(default)]
    pub includes: BTreeMap<String, String>,
    /// The inputs (normally the output of [`crate::validate_inputs`]).
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Fuel and output limits.
    #[serde(default)]
    pub limits: Limits,
}

impl RenderRequest {
    /// A request with no includes and default limits.
    pub fn new(name: impl Into<String>, body: Body, vars: Map<String, Value>) -> Self {
        RenderRequest {
            name: name.into(),
            body,
            includes: BTreeMap::new(),
            vars,
            limits: Limits::default(),
        }
    }

    /// The name each template of the body is rendered (and located in errors) under: the
    /// prompt's name for a text prompt, [`message_template_name`] for each chat message.
    pub fn template_names(&self) -> Vec<(String, &str)> {
        match &self.body {
            Body::Text { template } => vec![(self.name.clone(), template.as_str())],
            Body::Chat { messages } => messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    (
                        message_template_name(&self.name, i, &m.role),
                        m.template.as_str(),
                    )
                })
                .collect(),
        }
    }
}

/// The name a chat message's template has in error locations:
/// `"support/refund-reply, message 2 (user)"` for `index` 1.
pub fn message_template_name(prompt: &str, index: usize, role: &str) -> String {
    format!("{prompt}, message {} ({role})", index + 1)
}

/// Renders in this process. Strict undefined, no autoescape, fuel limit, output capped
/// ([`ErrorKind::OutputTooLarge`]), includes served only from `req.includes`
/// ([`ErrorKind::UnknownInclude`] naming any other, [`ErrorKind::IncludeCycle`] for a cycle).
/// A chat body renders each message separately into [`Rendered::Chat`].
///
/// Memory and time inside one operation are not bounded here: only call this on trusted input
/// or inside the worker.
pub fn render_in_process(req: &RenderRequest) -> Result<Rendered, TemplateError> {
    CompiledPrompt::compile(req)?.render(&req.vars, req.limits.max_output_bytes)
}

/// A prompt body and its includes, checked and compiled once, renderable many times with
/// different inputs (the worker keeps a few of these between requests).
pub(crate) struct CompiledPrompt {
    env: Environment<'static>,
    /// Per template of the body, in order: the name it has inside `env`, the name shown in
    /// errors, and its source.
    templates: Vec<BodyTemplate>,
    /// The roles of a chat body; `None` for a text body.
    roles: Option<Vec<String>>,
    includes: BTreeMap<String, String>,
    fuel: u64,
}

struct BodyTemplate {
    internal: String,
    display: String,
    source: String,
}

impl CompiledPrompt {
    /// Checks the includes statically (all provided, no cycles) and compiles every template.
    pub(crate) fn compile(req: &RenderRequest) -> Result<Self, TemplateError> {
        let named = req.template_names();
        if !req.includes.is_empty() || named.iter().any(|(_, s)| mentions_include(s)) {
            check_includes(&named, &req.includes)?;
        }
        let templates: Vec<BodyTemplate> = named
            .into_iter()
            .map(|(display, source)| BodyTemplate {
                // A text prompt may include an (older, pinned) version of itself under its own
                // name; its body then needs a name that cannot clash with an include.
                internal: if req.includes.contains_key(&display) {
                    format!("\u{1}{display}")
                } else {
                    display.clone()
                },
                display,
                source: source.to_string(),
            })
            .collect();
        let mut compiled = CompiledPrompt {
            env: engine::environment(Some(req.limits.fuel)),
            templates,
            roles: match &req.body {
                Body::Text { .. } => None,
                Body::Chat { messages } => Some(messages.iter().map(|m| m.role.clone()).collect()),
            },
            includes: req.includes.clone(),
            fuel: req.limits.fuel,
        };
        let sources = compiled
            .includes
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .chain(
                compiled
                    .templates
                    .iter()
                    .map(|t| (t.internal.clone(), t.source.clone())),
            )
            .collect::<Vec<_>>();
        for (name, source) in sources {
            if let Err(e) = compiled.env.add_template_owned(name, source) {
                return Err(compiled.convert(&e, None));
            }
        }
        Ok(compiled)
    }

    /// Whether this was compiled from exactly these templates and limits.
    pub(crate) fn matches(&self, req: &RenderRequest) -> bool {
        self.fuel == req.limits.fuel
            && self.includes == req.includes
            && match &req.body {
                Body::Text { template } => {
                    self.roles.is_none()
                        && self.templates.len() == 1
                        && self.templates[0].display == req.name
                        && self.templates[0].source == *template
                }
                Body::Chat { messages } => {
                    self.roles.as_ref().is_some_and(|roles| {
                        roles.len() == messages.len()
                            && roles.iter().zip(messages).all(|(r, m)| *r == m.role)
                    }) && self.templates.len() == messages.len()
                        && self
                            .templates
                            .iter()
                            .enumerate()
                            .zip(messages)
                            .all(|((i, t), m)| {
                                t.source == m.template
                                    && t.display == message_template_name(&req.name, i, &m.role)
                            })
                }
            }
    }

    /// Renders with these inputs; at most `max_output_bytes` of output, all templates together.
    pub(crate) fn render(
        &self,
        vars: &Map<String, Value>,
        max_output_bytes: usize,
    ) -> Result<Rendered, TemplateError> {
        let ctx = JinjaValue::from(Serde(vars));
        let mut budget = max_output_bytes;
        let mut outputs = Vec::with_capacity(self.templates.len());
        for t in &self.templates {
            let template = self
                .env
                .get_template(&t.internal)
                .map_err(|e| self.convert(&e, None))?;
            let mut out = CappedWriter {
                buf: Vec::with_capacity(t.source.len() + 256),
                budget: &mut budget,
                exceeded: false,
            };
            let result = template.render_captured_to(ctx.clone(), &mut out);
            if out.exceeded {
                return Err(output_too_large(max_output_bytes));
            }
            if let Err(e) = result {
                return Err(self.convert(&e, Some(vars)));
            }
            let text = String::from_utf8(out.buf).map_err(|_| {
                TemplateError::new(ErrorKind::Render, "the rendered output is not valid UTF-8")
            })?;
            outputs.push(text);
        }
        Ok(match &self.roles {
            None => Rendered::Text {
                text: outputs.pop().unwrap_or_default(),
            },
            Some(roles) => Rendered::Chat {
                messages: roles
                    .iter()
                    .zip(outputs)
                    .map(|(role, content)| RenderedMessage {
                        role: role.clone(),
                        content,
                    })
                    .collect(),
            },
        })
    }

    /// `inputs`: those of the render, when the error happened while rendering.
    fn convert(
        &self,
        err: &minijinja::Error,
        inputs: Option<&Map<String, Value>>,
    ) -> TemplateError {
        let sources = |name: &str| -> Option<&str> {
            self.templates
                .iter()
                .find(|t| t.internal == name)
                .map(|t| t.source.as_str())
                .or_else(|| self.includes.get(name).map(String::as_str))
        };
        let mut error = engine::convert(
            err,
            &ErrorContext {
                sources: &sources,
                fuel: Some(self.fuel),
                inputs,
            },
        );
        for t in self.templates.iter().filter(|t| t.internal != t.display) {
            if let Some(loc) = error.location.as_mut().filter(|l| l.template == t.internal) {
                loc.template = t.display.clone();
            }
            error.message = error.message.replace(&t.internal, &t.display);
        }
        error
    }
}

/// The error for output past the cap.
fn output_too_large(limit: usize) -> TemplateError {
    TemplateError::new(
        ErrorKind::OutputTooLarge,
        format!(
            "the output grew larger than {} and was stopped",
            crate::worker::human_bytes(limit as u64)
        ),
    )
}

/// An `io::Write` that fails once the shared byte budget is spent, so a huge output stops
/// rendering instead of filling memory.
struct CappedWriter<'a> {
    buf: Vec<u8>,
    budget: &'a mut usize,
    exceeded: bool,
}

impl io::Write for CappedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.len() > *self.budget {
            self.exceeded = true;
            return Err(io::Error::other("output limit reached"));
        }
        *self.budget -= data.len();
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A cheap pre-check: could this template load anything at all?
fn mentions_include(source: &str) -> bool {
    ["include", "import", "extends"]
        .iter()
        .any(|w| source.contains(w))
}

/// Checks statically that every include the templates can reach was provided, and that no
/// chain of includes leads back to itself (a template including itself would otherwise recurse
/// until minijinja's recursion limit, with a confusing error).
fn check_includes(
    templates: &[(String, &str)],
    includes: &BTreeMap<String, String>,
) -> Result<(), TemplateError> {
    // Sites of each include (parsed once), filled as the walk reaches them.
    let mut sites: BTreeMap<&str, Vec<crate::analysis::IncludeSite>> = BTreeMap::new();
    // Includes already fully explored without finding a cycle.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for (name, source) in templates {
        let roots = include_sites(name, source)?;
        let mut path: Vec<&str> = Vec::new();
        visit(
            name, source, &roots, includes, &mut sites, &mut path, &mut done,
        )?;
    }
    Ok(())
}

/// Depth-first walk of the include graph below one template (`from`/`from_source`, whose
/// include sites are `from_sites`); `path` is the chain of include names currently open.
fn visit<'a>(
    from: &str,
    from_source: &str,
    from_sites: &[crate::analysis::IncludeSite],
    includes: &'a BTreeMap<String, String>,
    sites: &mut BTreeMap<&'a str, Vec<crate::analysis::IncludeSite>>,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Result<(), TemplateError> {
    for site in from_sites {
        let here = || SourceLocation::at_offset(from, from_source, site.offset);
        let Some((name, source)) = includes.get_key_value(site.name.as_str()) else {
            return Err(TemplateError::new(
                ErrorKind::UnknownInclude,
                format!(
                    "unknown include '{}': no such prompt was provided to include",
                    site.name
                ),
            )
            .at(here()));
        };
        let name = name.as_str();
        if let Some(pos) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<&str> = path[pos..].to_vec();
            cycle.push(name);
            return Err(TemplateError::new(
                ErrorKind::IncludeCycle,
                format!("include cycle: {}", cycle.join(" → ")),
            )
            .at(here()));
        }
        if done.contains(name) {
            continue;
        }
        if !sites.contains_key(name) {
            sites.insert(name, include_sites(name, source)?);
        }
        let below = sites.get(name).cloned().unwrap_or_default();
        path.push(name);
        visit(name, source, &below, includes, sites, path, done)?;
        path.pop();
        done.insert(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptdesk_content::ChatMessage;
    use serde_json::json;

    fn text(template: &str, vars: Value) -> RenderRequest {
        RenderRequest::new(
            "support/refund-reply",
            Body::Text {
                template: template.into(),
            },
            vars.as_object().cloned().unwrap_or_default(),
        )
    }

    fn rendered_text(req: &RenderRequest) -> String {
        match render_in_process(req).unwrap() {
            Rendered::Text { text } => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn a_text_prompt_renders_its_variables() {
        let req = text(
            "Dear {{ customer }}, your total is {{ total }}.",
            json!({"customer": "Ada", "total": 12.5}),
        );
        assert_eq!(rendered_text(&req), "Dear Ada, your total is 12.5.");
    }

    #[test]
    fn html_is_not_escaped() {
        let req = text("{{ x }}", json!({"x": "<b>&</b>"}));
        assert_eq!(rendered_text(&req), "<b>&</b>");
        let mut req = req;
        req.name = "page.html".into();
        assert_eq!(rendered_text(&req), "<b>&</b>");
    }

    #[test]
    fn an_undefined_variable_names_itself_its_line_column_and_source_line() {
        let req = text(
            "Hello,\n\nDear {{ customr }},\nThanks",
            json!({"customer": "Ada"}),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UndefinedVariable);
        assert_eq!(
            err.location,
            Some(SourceLocation {
                template: "support/refund-reply".into(),
                line: 3,
                column: 9,
                source_line: "Dear {{ customr }},".into(),
            })
        );
        insta::assert_snapshot!(err.to_string(), @r#"support/refund-reply, line 3, column 9: there is no input named 'customr' — did you mean 'customer'? — "Dear {{ customr }},""#);
        let fix = err.fix.expect("the nearest input is offered");
        assert_eq!(
            (fix.from, fix.to, fix.insert.as_str()),
            (16, 23, "customer")
        );
    }

    #[test]
    fn an_undefined_attribute_is_named_with_its_path() {
        let req = text(
            "Hi\n  {{ customer.nam }}",
            json!({"customer": {"name": "Ada"}}),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UndefinedVariable);
        assert_eq!(err.message, "'customer.nam' is undefined");
        let loc = err.location.unwrap();
        assert_eq!((loc.line, loc.column), (2, 6));
    }

    #[test]
    fn undefined_is_strict_even_in_conditions_but_is_defined_works() {
        let req = text("{% if notes %}x{% endif %}", json!({}));
        assert_eq!(
            render_in_process(&req).unwrap_err().kind,
            ErrorKind::UndefinedVariable
        );
        let req = text(
            "{% if notes is defined %}{{ notes }}{% else %}none{% endif %}",
            json!({}),
        );
        assert_eq!(rendered_text(&req), "none");
    }

    #[test]
    fn a_syntax_error_while_rendering_is_located() {
        let req = text("ok\n{% if %}", json!({}));
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.location.unwrap().line, 2);
    }

    #[test]
    fn chat_messages_are_rendered_separately_with_their_roles() {
        let req = RenderRequest::new(
            "support/chat",
            Body::Chat {
                messages: vec![
                    ChatMessage {
                        role: "system".into(),
                        template: "You help {{ brand }} customers.".into(),
                    },
                    ChatMessage {
                        role: "user".into(),
                        template: "{{ question }}".into(),
                    },
                ],
            },
            json!({"brand": "Acme", "question": "Where is my order?"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert_eq!(
            render_in_process(&req).unwrap(),
            Rendered::Chat {
                messages: vec![
                    RenderedMessage {
                        role: "system".into(),
                        content: "You help Acme customers.".into()
                    },
                    RenderedMessage {
                        role: "user".into(),
                        content: "Where is my order?".into()
                    },
                ]
            }
        );
    }

    #[test]
    fn an_error_in_a_chat_message_names_the_message() {
        let req = RenderRequest::new(
            "support/chat",
            Body::Chat {
                messages: vec![
                    ChatMessage {
                        role: "system".into(),
                        template: "fine".into(),
                    },
                    ChatMessage {
                        role: "user".into(),
                        template: "{{ questoin }}".into(),
                    },
                ],
            },
            Map::new(),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(
            err.location.unwrap().template,
            "support/chat, message 2 (user)"
        );
    }

    #[test]
    fn includes_render_from_the_map() {
        let mut req = text(
            "Policy: {% include \"policies/refunds@2\" %}\n{% from \"macros/money\" import price %}{{ price(total) }}",
            json!({"days": 30, "total": 5}),
        );
        req.includes.insert(
            "policies/refunds@2".into(),
            "refunds within {{ days }} days".into(),
        );
        req.includes.insert(
            "macros/money".into(),
            "{% macro price(x) %}${{ x }}.00{% endmacro %}".into(),
        );
        assert_eq!(rendered_text(&req), "Policy: refunds within 30 days\n$5.00");
    }

    #[test]
    fn a_template_can_extend_a_layout_from_the_map() {
        let mut req = text(
            "{% extends \"layouts/base\" %}{% block body %}Hi {{ name }}{% endblock %}",
            json!({"name": "Ada"}),
        );
        req.includes.insert(
            "layouts/base".into(),
            "[{% block body %}{% endblock %}]".into(),
        );
        assert_eq!(rendered_text(&req), "[Hi Ada]");
    }

    #[test]
    fn an_unknown_include_is_named_and_located() {
        let req = text("Hi\n{% include \"policies/missing\" %}", json!({}));
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownInclude);
        assert!(err.message.contains("'policies/missing'"), "{err}");
        assert_eq!(err.location.unwrap().line, 2);
    }

    #[test]
    fn an_unknown_include_inside_an_include_is_located_in_the_include() {
        let mut req = text("{% include \"a\" %}", json!({}));
        req.includes
            .insert("a".into(), "x\n{% include \"b\" %}".into());
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownInclude);
        let loc = err.location.unwrap();
        assert_eq!((loc.template.as_str(), loc.line), ("a", 2));
    }

    #[test]
    fn an_include_cycle_is_refused_before_rendering() {
        let mut req = text("{% include \"a\" %}", json!({}));
        req.includes
            .insert("a".into(), "{% include \"b\" %}".into());
        req.includes
            .insert("b".into(), "{% include \"a\" %}".into());
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncludeCycle);
        assert_eq!(err.message, "include cycle: a → b → a");
        assert_eq!(err.location.unwrap().template, "b");
    }

    #[test]
    fn a_template_including_itself_is_a_cycle() {
        let mut req = text("{% include \"support/refund-reply\" %}", json!({}));
        req.includes.insert(
            "support/refund-reply".into(),
            "again {% include \"support/refund-reply\" %}".into(),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncludeCycle);
    }

    #[test]
    fn the_same_include_twice_is_not_a_cycle() {
        let mut req = text("{% include \"a\" %}{% include \"b\" %}", json!({}));
        req.includes
            .insert("a".into(), "{% include \"c\" %}".into());
        req.includes
            .insert("b".into(), "{% include \"c\" %}".into());
        req.includes.insert("c".into(), "c".into());
        assert_eq!(rendered_text(&req), "cc");
    }

    #[test]
    fn an_undefined_variable_in_an_include_is_located_in_the_include() {
        let mut req = text("line one\n{% include \"policies/refunds\" %}", json!({}));
        req.includes.insert(
            "policies/refunds".into(),
            "Refunds in {{ dayz }} days".into(),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UndefinedVariable);
        let loc = err.location.clone().unwrap();
        assert_eq!(
            (loc.template.as_str(), loc.line, loc.column),
            ("policies/refunds", 1, 15)
        );
        insta::assert_snapshot!(err.to_string(), @r#"policies/refunds, line 1, column 15: undefined variable 'dayz' (included from support/refund-reply, line 2) — "Refunds in {{ dayz }} days""#);
    }

    #[test]
    fn output_past_the_cap_is_refused() {
        let mut req = text(
            "{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}",
            json!({}),
        );
        req.limits.max_output_bytes = 50_000;
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutputTooLarge);
        assert_eq!(
            err.message,
            "the output grew larger than 48.8 KiB and was stopped"
        );
        req.limits.max_output_bytes = 100_000;
        assert_eq!(rendered_text(&req).len(), 100_000);
    }

    #[test]
    fn the_output_cap_counts_all_chat_messages_together() {
        let message = |t: &str| ChatMessage {
            role: "user".into(),
            template: t.into(),
        };
        let mut req = RenderRequest::new(
            "c",
            Body::Chat {
                messages: vec![message("{{ 'a' * 600 }}"), message("{{ 'b' * 600 }}")],
            },
            Map::new(),
        );
        req.limits.max_output_bytes = 1000;
        assert_eq!(
            render_in_process(&req).unwrap_err().kind,
            ErrorKind::OutputTooLarge
        );
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel() {
        let req = text(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            json!({}),
        );
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfFuel);
        assert!(err.message.contains("2000000 steps"), "{err}");
    }

    #[test]
    fn other_render_errors_keep_minijinja_s_explanation() {
        let req = text("{{ 1 / 0 }}", json!({}));
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Render);
        assert!(err.location.is_some());
        let req = text("{{ x|nosuchfilter }}", json!({"x": 1}));
        let err = render_in_process(&req).unwrap_err();
        assert!(err.message.contains("nosuchfilter"), "{err}");
    }

    #[test]
    fn a_compiled_prompt_matches_only_the_same_templates_includes_and_fuel() {
        let mut req = text("{% include \"a\" %}", json!({}));
        req.includes.insert("a".into(), "x".into());
        let compiled = CompiledPrompt::compile(&req).unwrap();
        assert!(compiled.matches(&req));
        let mut other = req.clone();
        other.vars.insert("v".into(), json!(1));
        assert!(
            compiled.matches(&other),
            "inputs are not part of the compiled prompt"
        );
        other.includes.insert("a".into(), "y".into());
        assert!(!compiled.matches(&other));
        let mut other = req.clone();
        other.name = "else".into();
        assert!(!compiled.matches(&other));
        let mut other = req.clone();
        other.limits.fuel += 1;
        assert!(!compiled.matches(&other));
        let mut other = req.clone();
        other.body = Body::Chat {
            messages: vec![ChatMessage {
                role: "user".into(),
                template: "{% include \"a\" %}".into(),
            }],
        };
        assert!(!compiled.matches(&other));
    }

    #[test]
    fn a_text_prompt_can_include_a_pinned_version_of_its_own_name() {
        let mut req = text(
            "new: {% include \"support/refund-reply\" %}\n{{ oops }}",
            json!({}),
        );
        req.includes
            .insert("support/refund-reply".into(), "old text".into());
        let err = render_in_process(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UndefinedVariable);
        let loc = err.location.unwrap();
        assert_eq!(
            (loc.template.as_str(), loc.line),
            ("support/refund-reply", 2)
        );
        req.vars.insert("oops".into(), json!("!"));
        assert_eq!(rendered_text(&req), "new: old text\n!");
    }

    #[test]
    fn requests_round_trip_through_json_with_defaults() {
        let req: RenderRequest = serde_json::from_value(json!({
            "name": "p",
            "body": {"kind": "text", "template": "hi"}
        }))
        .unwrap();
        assert_eq!(req.limits, Limits::default());
        assert!(req.includes.is_empty() && req.vars.is_empty());
        let back: RenderRequest =
            serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        assert_eq!(back, req);
    }
}
