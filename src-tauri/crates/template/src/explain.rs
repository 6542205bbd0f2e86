//! The template mistakes writers make most, said in plain words, placed at the construct that
//! is wrong, with a fix the app can apply in one click.
//!
//! minijinja reports where it noticed a problem, in its own vocabulary ("unexpected end of
//! input, expected end of block", at the end of the text). For an `{% if %}` left open that is
//! the wrong place and the wrong words: the writer needs to hear which `{% if %}` and what to
//! add. So on a syntax error the source is scanned here for the usual causes (a block never
//! closed, an `{% end… %}` that closes nothing, a `{{` or `{%` without its closing half, an
//! `{% if %}` without a condition); a misspelt input or filter gets the nearest known name.
//! Whatever is not recognised keeps minijinja's message.

use serde::{Deserialize, Serialize};

/// A change to the template's source that fixes the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Fix {
    /// What applying it does, for its button ("Add {% endif %} at the end").
    pub label: String,
    /// Replace the source from `from` to `to` with `insert`. Offsets count UTF-16 code units
    /// (what JavaScript strings and the editor count) from the template's start.
    pub from: u32,
    pub to: u32,
    pub insert: String,
}

/// What to tell the writer: the message, the byte offset of the construct it is about, and the
/// fix when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advice {
    pub message: String,
    pub offset: usize,
    pub fix: Option<Fix>,
}

/// Blocks that need an end tag, with it.
const BLOCKS: &[(&str, &str)] = &[
    ("if", "endif"),
    ("for", "endfor"),
    ("macro", "endmacro"),
    ("call", "endcall"),
    ("filter", "endfilter"),
    ("with", "endwith"),
    ("block", "endblock"),
    ("autoescape", "endautoescape"),
    ("set", "endset"),
];

/// minijinja's built-in filters, for suggesting the one a writer meant.
const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
];

/// UTF-16 length of `s`.
fn utf16(s: &str) -> u32 {
    u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// A fix replacing bytes `from..to` of `source` with `insert`.
fn fix(source: &str, from: usize, to: usize, insert: &str, label: String) -> Fix {
    Fix {
        label,
        from: utf16(&source[..from]),
        to: utf16(&source[..to]),
        insert: insert.to_string(),
    }
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

/// One `{% … %}` statement found by [`scan`].
struct Statement<'a> {
    start: usize,
    word: &'a str,
}

/// Looks for the usual causes of a syntax error in `source`; the first found, in source order
/// (an unclosed block is found at the end, so a problem inside it comes first).
pub(crate) fn syntax(source: &str) -> Option<Advice> {
    let mut open: Vec<Statement<'_>> = Vec::new();
    let mut at = 0;
    while let Some(found) = source[at..].find('{') {
        let start = at + found;
        let opener = source.get(start..start + 2).unwrap_or("");
        let closer = match opener {
            "{{" => "}}",
            "{%" => "%}",
            "{#" => "#}",
            _ => {
                at = start + 1;
                continue;
            }
        };
        let body_start = start + 2;
        let close = source[body_start..].find(closer).map(|i| body_start + i);
        // A `{{` or `{%` that reaches the next opening (or the end) before its closing half.
        // (Only as far as the next one: a scan to the end for every tag would be quadratic.)
        let next_open = source[body_start..]
            .match_indices('{')
            .map(|(i, _)| body_start + i)
            .find(|&i| matches!(source.as_bytes().get(i + 1), Some(b'{' | b'%')));
        let unclosed = match (close, next_open) {
            (None, _) => true,
            (Some(c), Some(n)) => closer != "#}" && n < c,
            _ => false,
        };
        if unclosed {
            if closer == "#}" {
                return Some(Advice {
                    message: format!(
                        "the comment that starts on line {} is never closed: end it with #}}",
                        line_of(source, start)
                    ),
                    offset: start,
                    fix: Some(fix(
                        source,
                        source.len(),
                        source.len(),
                        " #}",
                        "Add #} at the end".into(),
                    )),
                });
            }
            // The closing half belongs after what was typed on this line.
            let line_end = source[body_start..]
                .find('\n')
                .map_or(source.len(), |i| body_start + i);
            let until = next_open.unwrap_or(source.len()).min(line_end);
            let typed = source[body_start..until].trim_end();
            let insert_at = body_start + typed.len();
            // `{{ name }` or `{% if x %`: the first half of the closing is there already.
            let half = &closer[..1];
            if typed.ends_with(half) && !typed.ends_with(closer) {
                return Some(Advice {
                    message: format!(
                        "the {opener} on line {} ends with a single {half}: close it with {closer}",
                        line_of(source, start)
                    ),
                    offset: start,
                    fix: Some(fix(
                        source,
                        insert_at,
                        insert_at,
                        "}",
                        format!("Make it {closer}"),
                    )),
                });
            }
            let shown = if opener == "{{" {
                "{{ … }}"
            } else {
                "{% … %}"
            };
            return Some(Advice {
                message: format!(
                    "the {opener} on line {} is never closed: add {closer} after {}",
                    line_of(source, start),
                    if typed.trim().is_empty() {
                        format!("what goes inside {shown}")
                    } else {
                        format!("`{}`", typed.trim())
                    }
                ),
                offset: start,
                fix: Some(fix(
                    source,
                    insert_at,
                    insert_at,
                    &format!(" {closer}"),
                    format!("Add {closer}"),
                )),
            });
        }
        let end = close.map_or(source.len(), |c| c + 2);
        at = end;
        if opener != "{%" {
            continue;
        }
        let inner = source[body_start..end - 2]
            .trim_start_matches(['-', '+'])
            .trim_end_matches(['-', '+'])
            .trim();
        let word_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let (word, rest) = (&inner[..word_len], inner[word_len..].trim());
        let statement = Statement { start, word };
        if word == "raw" {
            // Nothing inside a raw block is a tag.
            match source[end..].find("endraw") {
                Some(i) => {
                    at = end + i;
                    continue;
                }
                None => return Some(unclosed_block(source, &statement, "endraw")),
            }
        }
        if matches!(word, "if" | "elif" | "for") && rest.is_empty() {
            return Some(Advice {
                message: format!(
                    "{{% {word} %}} on line {} needs {}, like {{% {word} {} %}}",
                    line_of(source, start),
                    if word == "for" {
                        "something to go through"
                    } else {
                        "a condition"
                    },
                    if word == "for" {
                        "item in items"
                    } else {
                        "customer_name"
                    }
                ),
                offset: start,
                fix: None,
            });
        }
        if BLOCKS.iter().any(|(w, _)| *w == word) {
            // `{% set x = … %}` is a whole statement; only `{% set x %}…{% endset %}` is a block.
            if !(word == "set" && rest.contains('=')) {
                open.push(statement);
            }
            continue;
        }
        if let Some(opening) = word.strip_prefix("end") {
            if BLOCKS.iter().all(|(w, _)| *w != opening) {
                continue;
            }
            match open.iter().rposition(|s| s.word == opening) {
                Some(i) if i + 1 == open.len() => {
                    open.pop();
                }
                Some(_) => {
                    // Something opened inside it is still open: it must end first.
                    let inner = open.last().expect("deeper than i");
                    let needed = end_of(inner.word);
                    return Some(Advice {
                        message: format!(
                            "the {{% {} %}} on line {} is never closed: add {{% {needed} %}} before this {{% {word} %}} on line {}",
                            inner.word,
                            line_of(source, inner.start),
                            line_of(source, start)
                        ),
                        offset: inner.start,
                        fix: Some(fix(
                            source,
                            start,
                            start,
                            &format!("{{% {needed} %}}"),
                            format!("Add {{% {needed} %}}"),
                        )),
                    });
                }
                None => {
                    return Some(Advice {
                        message: format!(
                            "this {{% {word} %}} on line {} closes nothing: there is no {{% {opening} %}} open before it",
                            line_of(source, start)
                        ),
                        offset: start,
                        fix: Some(fix(
                            source,
                            start,
                            end,
                            "",
                            format!("Remove this {{% {word} %}}"),
                        )),
                    });
                }
            }
        }
    }
    open.last()
        .map(|s| unclosed_block(source, s, end_of(s.word)))
}

fn end_of(word: &str) -> &'static str {
    BLOCKS
        .iter()
        .find(|(w, _)| *w == word)
        .map_or("end", |(_, e)| e)
}

fn unclosed_block(source: &str, s: &Statement<'_>, end_word: &str) -> Advice {
    let what = match s.word {
        "if" => "where the conditional part should end",
        "for" => "where the repeated part should end",
        _ => "where it should end",
    };
    Advice {
        message: format!(
            "the {{% {} %}} on line {} is never closed: add {{% {end_word} %}} {what}",
            s.word,
            line_of(source, s.start)
        ),
        offset: s.start,
        fix: Some(fix(
            source,
            source.len(),
            source.len(),
            &format!("{{% {end_word} %}}"),
            format!("Add {{% {end_word} %}} at the end"),
        )),
    }
}

/// What people coming from other template languages type for a filter, and the one meant.
const FILTER_ALIASES: &[(&str, &str)] = &[
    ("upcase", "upper"),
    ("uppercase", "upper"),
    ("downcase", "lower"),
    ("lowercase", "lower"),
    ("capitalise", "capitalize"),
    ("titlecase", "title"),
    ("strip", "trim"),
    ("len", "length"),
    ("size", "length"),
    ("json", "tojson"),
];

/// The filter meant by `typed`: a known alias, or the nearest built-in name.
fn meant_filter(typed: &str) -> Option<&'static str> {
    FILTER_ALIASES
        .iter()
        .find(|(a, _)| *a == typed)
        .map(|(_, f)| *f)
        .or_else(|| nearest(typed, FILTERS.iter().copied()))
}

/// The known name closest to `typed` (one or two letters off), if any.
pub(crate) fn nearest<'a>(
    typed: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = if typed.chars().count() <= 4 { 1 } else { 2 };
    known
        .into_iter()
        .filter(|k| *k != typed)
        .map(|k| (distance(typed, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (a swap of two neighbours counts as one edit).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// An input read at byte `offset` of `source` under a name no input has, when a known one is
/// a letter or two off.
pub(crate) fn misspelt_input<'a>(
    source: &str,
    offset: usize,
    typed: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<Advice> {
    let meant = nearest(typed, known)?;
    let end = offset + typed.len();
    (source.get(offset..end) == Some(typed)).then(|| Advice {
        message: format!("there is no input named '{typed}' — did you mean '{meant}'?"),
        offset,
        fix: Some(fix(
            source,
            offset,
            end,
            meant,
            format!("Change it to {meant}"),
        )),
    })
}

/// A filter that does not exist, used at byte `offset` of `source` (its name starts there or
/// shortly after, inside the excerpt minijinja points at).
pub(crate) fn unknown_filter(source: &str, offset: usize, excerpt: &str) -> Option<Advice> {
    // The excerpt is the filter call, `| upcase` or `upcase(…)`.
    let name_at = excerpt.find(|c: char| c.is_ascii_alphabetic())?;
    let rest = &excerpt[name_at..];
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let typed = &rest[..name_len];
    let start = source[offset..].find(typed).map(|i| offset + i)?;
    let end = start + typed.len();
    let meant = meant_filter(typed);
    let message = match meant {
        Some(meant) => format!("there is no filter called '{typed}' — did you mean '{meant}'?"),
        None => format!(
            "there is no filter called '{typed}'; filters you can use include upper, lower, title, trim, default and join"
        ),
    };
    let fix = meant.map(|meant| fix(source, start, end, meant, format!("Change it to {meant}")));
    Some(Advice {
        message,
        offset: start,
        fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `source` with `fix` applied (offsets are UTF-16, as the editor applies them).
    fn apply(source: &str, fix: &Fix) -> String {
        let units: Vec<u16> = source.encode_utf16().collect();
        let mut out: Vec<u16> = units[..fix.from as usize].to_vec();
        out.extend(fix.insert.encode_utf16());
        out.extend(&units[fix.to as usize..]);
        String::from_utf16(&out).unwrap()
    }

    fn advice(source: &str) -> Advice {
        syntax(source).unwrap_or_else(|| panic!("no advice for {source:?}"))
    }

    #[test]
    fn an_unclosed_if_is_named_where_it_opens_and_closed_at_the_end() {
        let source = "Hi {{ name }}! 😊\n{% if order %}Your order {{ order }}.";
        let a = advice(source);
        assert_eq!(
            a.message,
            "the {% if %} on line 2 is never closed: add {% endif %} where the conditional part should end"
        );
        assert_eq!(&source[a.offset..a.offset + 5], "{% if");
        let fixed = apply(source, a.fix.as_ref().unwrap());
        assert!(fixed.ends_with("{{ order }}.{% endif %}"), "{fixed}");
        assert!(syntax(&fixed).is_none());
    }

    #[test]
    fn a_stray_end_closes_nothing_and_can_be_removed() {
        let source = "Thanks!{% endif %} Bye";
        let a = advice(source);
        assert_eq!(
            a.message,
            "this {% endif %} on line 1 closes nothing: there is no {% if %} open before it"
        );
        assert_eq!(apply(source, a.fix.as_ref().unwrap()), "Thanks! Bye");
    }

    #[test]
    fn a_block_left_open_inside_another_must_end_first() {
        let source = "{% for o in orders %}{% if o.late %}late{% endfor %}";
        let a = advice(source);
        assert!(
            a.message.starts_with(
                "the {% if %} on line 1 is never closed: add {% endif %} before this {% endfor %}"
            ),
            "{}",
            a.message
        );
        let fixed = apply(source, a.fix.as_ref().unwrap());
        assert_eq!(
            fixed,
            "{% for o in orders %}{% if o.late %}late{% endif %}{% endfor %}"
        );
    }

    #[test]
    fn a_missing_closing_half_is_added_after_what_was_typed() {
        let source = "Hi {{ name !\nBye";
        let a = advice(source);
        assert_eq!(
            a.message,
            "the {{ on line 1 is never closed: add }} after `name !`"
        );
        assert_eq!(
            apply(source, a.fix.as_ref().unwrap()),
            "Hi {{ name ! }}\nBye"
        );
        let source = "Hello\n{% if x %}\n  {{ name }\n{% endif %}";
        let a = advice(source);
        assert_eq!(line_of(source, a.offset), 3);
        assert_eq!(
            a.message,
            "the {{ on line 3 ends with a single }: close it with }}"
        );
        let fixed = apply(source, a.fix.as_ref().unwrap());
        assert_eq!(fixed, "Hello\n{% if x %}\n  {{ name }}\n{% endif %}");
        assert!(syntax(&fixed).is_none());
    }

    #[test]
    fn an_if_without_a_condition_says_it_needs_one() {
        let a = advice("ok\n{% if %}");
        assert_eq!(
            a.message,
            "{% if %} on line 2 needs a condition, like {% if customer_name %}"
        );
        assert!(a.fix.is_none());
    }

    #[test]
    fn well_formed_templates_get_no_advice() {
        for source in [
            "Hi {{ name }}",
            "{% if a %}x{% elif b %}y{% else %}z{% endif %}",
            "{% set x = 1 %}{{ x }}",
            "{% raw %}{% if %}{{{% endraw %}",
            "{# a {{ comment #} {{ y }}",
            "{%- for i in items -%}{{ i }}{%- endfor %}",
            "a { b } c",
        ] {
            assert!(syntax(source).is_none(), "{source}: {:?}", syntax(source));
        }
    }

    #[test]
    fn a_misspelt_input_gets_the_name_it_is_closest_to() {
        let source = "Dear {{ customr }},";
        let at = source.find("customr").unwrap();
        let a = misspelt_input(source, at, "customr", ["customer", "order"]).unwrap();
        assert_eq!(
            a.message,
            "there is no input named 'customr' — did you mean 'customer'?"
        );
        assert_eq!(
            apply(source, a.fix.as_ref().unwrap()),
            "Dear {{ customer }},"
        );
        assert!(misspelt_input(source, at, "customr", ["order"]).is_none());
        assert_eq!(
            nearest("ordre", ["order"]),
            Some("order"),
            "a swap is one edit"
        );
        assert_eq!(nearest("ab", ["xy"]), None);
    }

    #[test]
    fn an_unknown_filter_gets_the_filter_it_is_closest_to() {
        let source = "{{ name | upcase }}";
        let a = unknown_filter(source, source.find('|').unwrap(), "| upcase").unwrap();
        assert_eq!(
            a.message,
            "there is no filter called 'upcase' — did you mean 'upper'?"
        );
        assert_eq!(apply(source, a.fix.as_ref().unwrap()), "{{ name | upper }}");
        let source = "{{ name | zzzzzz }}";
        let a = unknown_filter(source, 0, "zzzzzz").unwrap();
        assert!(a.fix.is_none());
        assert!(
            a.message.starts_with("there is no filter called 'zzzzzz'"),
            "{}",
            a.message
        );
    }
}
