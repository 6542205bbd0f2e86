//! Static analysis of a template, without rendering it.
//!
//! The editor needs to know, as the author types, whether the template parses, which variables
//! it reads (to compare with the declared schema, or to infer one), and which other prompts it
//! includes (so the registry can resolve and pin them). All of this comes from minijinja's own
//! parser, so it agrees with what rendering will do: an include inside a comment or a
//! `{% raw %}` block is text, not an include.

use std::collections::BTreeSet;

use minijinja::machinery::{self, ast};
use minijinja::syntax::SyntaxConfig;
use promptdesk_content::Variable;
use serde::{Deserialize, Serialize};

use crate::engine::{self, ErrorContext};
use crate::error::{ErrorKind, SourceLocation, TemplateError};

/// Checks that a template parses. The error carries the line, column and source line.
pub fn check_syntax(name: &str, source: &str) -> Result<(), TemplateError> {
    parse(name, source).map(drop)
}

/// Top-level variables the template reads (not ones it sets itself, not loop vars, not builtin
/// globals like `range`, `namespace` or `loop`). Attribute reads count as their root variable:
/// `{{ order.total }}` reads `order`.
pub fn referenced_variables(name: &str, source: &str) -> Result<BTreeSet<String>, TemplateError> {
    let env = engine::environment(None);
    let template = env
        .template_from_named_str(name, source)
        .map_err(|e| convert(name, source, &e))?;
    Ok(template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !engine::ENGINE_NAMES.contains(&v.as_str()))
        .collect())
}

/// The names a template loads through `include`, `import`, `from … import` and `extends`,
/// exactly as written (`"policies/refunds"`, `"policies/refunds@2"`), in order of first
/// appearance and without repeats. A name that is not a literal in quotes (a variable, an
/// expression) is an error of kind [`ErrorKind::Syntax`]: the registry must know statically
/// which prompts a template can load.
pub fn include_references(name: &str, source: &str) -> Result<Vec<String>, TemplateError> {
    let mut names: Vec<String> = Vec::new();
    for site in include_sites(name, source)? {
        if !names.contains(&site.name) {
            names.push(site.name);
        }
    }
    Ok(names)
}

/// How a template's variables compare with a declared schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct SchemaReport {
    /// Read by the template but not declared (sorted).
    pub undeclared: Vec<String>,
    /// Declared but never read (sorted).
    pub unused: Vec<String>,
}

impl SchemaReport {
    /// Whether template and schema agree.
    pub fn is_clean(&self) -> bool {
        self.undeclared.is_empty() && self.unused.is_empty()
    }
}

/// Compares the variables a template reads with the declared schema.
pub fn compare_with_schema(used: &BTreeSet<String>, schema: &[Variable]) -> SchemaReport {
    let declared: BTreeSet<&str> = schema.iter().map(|v| v.name.as_str()).collect();
    SchemaReport {
        undeclared: used
            .iter()
            .filter(|u| !declared.contains(u.as_str()))
            .cloned()
            .collect(),
        unused: declared
            .iter()
            .filter(|d| !used.contains(**d))
            .map(|d| d.to_string())
            .collect(),
    }
}

/// One `include` / `import` / `from` / `extends` of a template, with the byte offset of the
/// name in the source (for error locations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncludeSite {
    pub name: String,
    pub offset: usize,
}

/// Every include site of a template in source order (repeats kept).
pub(crate) fn include_sites(name: &str, source: &str) -> Result<Vec<IncludeSite>, TemplateError> {
    let ast = parse(name, source)?;
    let mut sites = Vec::new();
    walk(&ast, &mut sites).map_err(|offset| {
        TemplateError::new(
            ErrorKind::Syntax,
            "include, import and extends must name a prompt in quotes, like \"policies/refunds\", not a variable or an expression",
        )
        .at(SourceLocation::at_offset(name, source, offset))
    })?;
    Ok(sites)
}

fn parse<'s>(name: &'s str, source: &'s str) -> Result<ast::Stmt<'s>, TemplateError> {
    // The same syntax the rendering environment uses (minijinja's default).
    machinery::parse(source, name, SyntaxConfig::default()).map_err(|e| convert(name, source, &e))
}

fn convert(name: &str, source: &str, err: &minijinja::Error) -> TemplateError {
    let sources = move |n: &str| (n == name).then_some(source);
    engine::convert(
        err,
        &ErrorContext {
            sources: &sources,
            fuel: None,
            inputs: None,
        },
    )
}

/// Collects include sites below `stmt`; `Err(offset)` for a name that is not a literal.
fn walk(stmt: &ast::Stmt<'_>, out: &mut Vec<IncludeSite>) -> Result<(), usize> {
    let all = |body: &[ast::Stmt<'_>], out: &mut Vec<IncludeSite>| -> Result<(), usize> {
        body.iter().try_for_each(|s| walk(s, out))
    };
    match stmt {
        ast::Stmt::Template(t) => all(&t.children, out),
        ast::Stmt::ForLoop(s) => {
            all(&s.body, out)?;
            all(&s.else_body, out)
        }
        ast::Stmt::IfCond(s) => {
            all(&s.true_body, out)?;
            all(&s.false_body, out)
        }
        ast::Stmt::WithBlock(s) => all(&s.body, out),
        ast::Stmt::SetBlock(s) => all(&s.body, out),
        ast::Stmt::AutoEscape(s) => all(&s.body, out),
        ast::Stmt::FilterBlock(s) => all(&s.body, out),
        ast::Stmt::Block(s) => all(&s.body, out),
        ast::Stmt::Macro(s) => all(&s.body, out),
        ast::Stmt::CallBlock(s) => all(&s.macro_decl.body, out),
        ast::Stmt::Include(s) => literal_names(&s.name, out),
        ast::Stmt::Extends(s) => literal_names(&s.name, out),
        ast::Stmt::Import(s) => literal_names(&s.expr, out),
        ast::Stmt::FromImport(s) => literal_names(&s.expr, out),
        ast::Stmt::EmitExpr(_)
        | ast::Stmt::EmitRaw(_)
        | ast::Stmt::Set(_)
        | ast::Stmt::Continue(_)
        | ast::Stmt::Break(_)
        | ast::Stmt::Do(_) => Ok(()),
    }
}

/// A quoted name, or a list of quoted names (`{% include ["a", "b"] %}` tries each in turn).
fn literal_names(expr: &ast::Expr<'_>, out: &mut Vec<IncludeSite>) -> Result<(), usize> {
    match expr {
        ast::Expr::Const(c) => match c.value.as_str() {
            Some(name) => {
                out.push(IncludeSite {
                    name: name.to_string(),
                    offset: c.span().start_offset as usize,
                });
                Ok(())
            }
            None => Err(c.span().start_offset as usize),
        },
        ast::Expr::List(list) => list.items.iter().try_for_each(|e| literal_names(e, out)),
        other => Err(other.span().start_offset as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptdesk_content::VarType;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn var(name: &str) -> Variable {
        Variable {
            name: name.into(),
            ty: VarType::String,
            required: true,
            default: None,
            description: None,
        }
    }

    #[test]
    fn valid_templates_pass_the_syntax_check() {
        check_syntax("t", "Hello {{ name }}{% if x %}!{% endif %}").unwrap();
    }

    #[test]
    fn a_syntax_error_points_at_its_line_and_column() {
        let err =
            check_syntax("support/refund-reply", "Hello\n{% if x %}\n  {{ name }\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        let loc = err.location.clone().unwrap();
        assert_eq!(loc.template, "support/refund-reply");
        assert_eq!(loc.line, 3);
        assert_eq!(loc.source_line, "  {{ name }");
        insta::assert_snapshot!(err.to_string(), @r#"support/refund-reply, line 3, column 3: the {{ on line 3 ends with a single }: close it with }} — "{{ name }""#);
    }

    #[test]
    fn an_unclosed_block_is_a_syntax_error() {
        let err = check_syntax("t", "{% for x in items %}{{ x }}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        // Said in words a writer knows, at the `{% for` it is about, with the fix.
        assert_eq!(
            err.message,
            "the {% for %} on line 1 is never closed: add {% endfor %} where the repeated part should end"
        );
        assert_eq!(err.location.as_ref().map(|l| l.column), Some(1));
        let fix = err.fix.expect("a fix");
        assert_eq!(
            (fix.from, fix.to, fix.insert.as_str()),
            (27, 27, "{% endfor %}")
        );
    }

    #[test]
    fn referenced_variables_leave_out_what_the_template_sets_loops_over_and_builtins() {
        let source = "\
{% set greeting = 'Hi' %}{{ greeting }} {{ customer.name }}
{% for item in items %}{{ loop.index }} {{ item }} {{ currency }}{% endfor %}
{% set ns = namespace(total=0) %}{% for i in range(3) %}{% endfor %}
{% macro line(x) %}{{ x }} {{ caller() if caller else '' }}{% endmacro %}{{ line(tone) }}";
        assert_eq!(
            referenced_variables("t", source).unwrap(),
            set(&["currency", "customer", "items", "tone"])
        );
    }

    #[test]
    fn referenced_variables_of_a_broken_template_is_a_syntax_error() {
        let err = referenced_variables("t", "{{ a +  }}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
    }

    #[test]
    fn the_schema_report_lists_undeclared_and_unused_variables_sorted() {
        let used = set(&["zeta", "alpha", "order_total"]);
        let schema = [var("order_total"), var("tone"), var("brand")];
        assert_eq!(
            compare_with_schema(&used, &schema),
            SchemaReport {
                undeclared: vec!["alpha".into(), "zeta".into()],
                unused: vec!["brand".into(), "tone".into()],
            }
        );
        assert!(compare_with_schema(&set(&["tone"]), &[var("tone")]).is_clean());
    }

    #[test]
    fn includes_imports_and_extends_are_found_as_written() {
        let source = r#"{% extends "layouts/base" %}
{% block body %}{% include "policies/refunds@2" %}{% endblock %}
{% import "macros/format" as fmt %}{% from "macros/money" import price %}
{% if vip %}{% include ["policies/vip", "policies/refunds@2"] ignore missing %}{% endif %}
{% macro m() %}{% include "in/macro" %}{% endmacro %}"#;
        assert_eq!(
            include_references("t", source).unwrap(),
            vec![
                "layouts/base",
                "policies/refunds@2",
                "macros/format",
                "macros/money",
                "policies/vip",
                "in/macro"
            ]
        );
    }

    #[test]
    fn includes_in_comments_raw_blocks_and_strings_are_not_includes() {
        let source = r#"{# {% include "in/comment" %} #}
{% raw %}{% include "in/raw" %}{% endraw %}
{{ '{% include "in/string" %}' }}
{% include "real/one" %}"#;
        assert_eq!(include_references("t", source).unwrap(), vec!["real/one"]);
    }

    #[test]
    fn an_include_named_by_a_variable_is_refused_with_its_location() {
        let err = include_references("t", "Hi\n{% include policy_name %}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert!(err.message.contains("in quotes"), "{err}");
        let loc = err.location.unwrap();
        assert_eq!((loc.line, loc.column), (2, 12));
        let err = include_references("t", r#"{% include "a/" ~ b %}"#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        let err = include_references("t", r#"{% import helpers as h %}"#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
    }

    #[test]
    fn a_template_without_includes_has_no_references() {
        assert!(include_references("t", "plain {{ text }}")
            .unwrap()
            .is_empty());
    }
}
