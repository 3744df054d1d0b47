//! YAML for the Hasura CLI metadata directory: an emitter in the CLI's style (two-space
//! indentation, sequences indented under their key), and a locator of block-sequence items by
//! `name`, so an export rewrites only the items it owns and leaves every other byte alone.

use std::ops::Range;

use serde_json::Value;

/// A YAML scalar, quoted only when it must be (serde_yaml_ng decides).
fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let text = serde_yaml_ng::to_string(s).unwrap_or_else(|_| format!("{s:?}"));
            text.trim_end_matches('\n').to_owned()
        }
        _ => unreachable!("only scalars"),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// `value` as block YAML at `indent` spaces (a mapping's keys, or a sequence's items).
pub(crate) fn emit(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    emit_into(&mut out, value, indent);
    out
}

fn emit_into(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                out.push_str(&pad);
                emit_entry(out, key, v, indent);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                emit_item(out, item, indent);
            }
        }
        scalar_value => {
            out.push_str(&pad);
            out.push_str(&scalar(scalar_value));
            out.push('\n');
        }
    }
}

/// `key: value` (the indentation is already written).
fn emit_entry(out: &mut String, key: &str, value: &Value, indent: usize) {
    out.push_str(&scalar(&Value::String(key.to_owned())));
    out.push(':');
    match value {
        Value::Array(a) if a.is_empty() => out.push_str(" []\n"),
        Value::Object(o) if o.is_empty() => out.push_str(" {}\n"),
        Value::Array(_) | Value::Object(_) => {
            out.push('\n');
            emit_into(out, value, indent + 2);
        }
        v => {
            out.push(' ');
            push_scalar(out, v, indent + 2);
        }
    }
}

fn push_scalar(out: &mut String, value: &Value, continuation_indent: usize) {
    let text = scalar(value);
    // Block scalars (`|-`) continue on indented lines.
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        out.push('\n');
        out.push_str(&" ".repeat(continuation_indent));
        out.push_str(line.trim_start());
    }
    out.push('\n');
}

/// `- item` (the indentation is already written).
fn emit_item(out: &mut String, item: &Value, indent: usize) {
    out.push_str("- ");
    match item {
        Value::Object(map) if !map.is_empty() => {
            let inner = indent + 2;
            for (i, (key, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(inner));
                }
                emit_entry(out, key, v, inner);
            }
        }
        v if is_scalar(v) => push_scalar(out, v, indent + 2),
        Value::Array(a) if a.is_empty() => out.push_str("[]\n"),
        Value::Object(_) => out.push_str("{}\n"),
        nested => {
            out.push('\n');
            emit_into(out, nested, indent + 2);
        }
    }
}

/// One line of a text, with its byte range (newline included) and indentation.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    indent: usize,
}

impl Line<'_> {
    fn is_blank_or_comment(&self) -> bool {
        let t = self.text.trim();
        t.is_empty() || t.starts_with('#')
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let content = raw.trim_end_matches(['\n', '\r']);
        out.push(Line {
            text: content,
            start,
            end: start + raw.len(),
            indent: content.len() - content.trim_start_matches(' ').len(),
        });
        start += raw.len();
    }
    out
}

/// An item of a block sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// Its `name`, when it is a mapping with one.
    pub name: Option<String>,
    /// Its bytes: whole lines, from the `- ` line to before the next item (trailing blank and
    /// comment lines excluded).
    pub range: Range<usize>,
}

/// Where a sequence is, in a YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// A block sequence: its items, their indentation, and where a new item goes.
    Block {
        items: Vec<Item>,
        item_indent: usize,
        insert_at: usize,
        /// The `key:` line (`None` for a document that is the sequence).
        key_line: Option<Range<usize>>,
    },
    /// `key: []`, `key: [a, b]` or a bare `[]`: the whole value's line, rewritten as a block.
    Flow {
        line: Range<usize>,
        key_indent: usize,
    },
    /// The key is absent from its mapping: where to add it.
    Missing { insert_at: usize, key_indent: usize },
}

/// The block that follows line `from` and is indented more than `parent_indent` (or is a
/// sequence at the same indentation), as line indices `[from, to)`.
fn block_end(
    all: &[Line<'_>],
    from: usize,
    parent_indent: usize,
    allow_same_indent_items: bool,
) -> usize {
    let mut to = from;
    for (i, line) in all.iter().enumerate().skip(from) {
        if line.is_blank_or_comment() {
            continue;
        }
        let t = line.text.trim_start();
        let item_at_same = allow_same_indent_items
            && line.indent == parent_indent
            && (t.starts_with("- ") || t == "-");
        if line.indent > parent_indent || item_at_same {
            to = i + 1;
        } else {
            break;
        }
    }
    to
}

/// Items of the block sequence on lines `[from, to)`.
fn items_of(all: &[Line<'_>], from: usize, to: usize) -> (Vec<Item>, usize) {
    let item_indent = all[from..to]
        .iter()
        .find(|l| !l.is_blank_or_comment())
        .map_or(0, |l| l.indent);
    let starts: Vec<usize> = (from..to)
        .filter(|&i| {
            all[i].indent == item_indent && {
                let t = all[i].text.trim_start();
                t.starts_with("- ") || t == "-"
            }
        })
        .collect();
    let mut items = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let next = starts.get(k + 1).copied().unwrap_or(to);
        let last = (s..next)
            .rev()
            .find(|&i| !all[i].is_blank_or_comment())
            .unwrap_or(s);
        let name = (s..=last).find_map(|i| {
            let t = all[i].text.trim_start().trim_start_matches("- ");
            let in_item = i == s || all[i].indent == item_indent + 2;
            if !in_item {
                return None;
            }
            t.strip_prefix("name:").map(|v| {
                serde_yaml_ng::from_str::<String>(v.trim()).unwrap_or_else(|_| v.trim().to_owned())
            })
        });
        items.push(Item {
            name,
            range: all[s].start..all[last].end,
        });
    }
    (items, item_indent)
}

/// The sequence under top-level key `key` (or, with `None`, the document's top-level
/// sequence). `within` limits the search to a mapping nested under another key: `(range,
/// indent)` of that mapping's keys.
pub(crate) fn find_sequence(
    text: &str,
    key: Option<&str>,
    within: Option<(Range<usize>, usize)>,
) -> Sequence {
    let all = lines(text);
    let (scope_from, scope_to, key_indent) = match &within {
        Some((range, indent)) => {
            let from = all
                .iter()
                .position(|l| l.start >= range.start)
                .unwrap_or(all.len());
            let to = all
                .iter()
                .position(|l| l.start >= range.end)
                .unwrap_or(all.len());
            (from, to, *indent)
        }
        None => (0, all.len(), 0),
    };
    let Some(key) = key else {
        // The document is the sequence.
        let first = (scope_from..scope_to).find(|&i| !all[i].is_blank_or_comment());
        return match first {
            Some(i) if all[i].text.trim_start().starts_with('[') => Sequence::Flow {
                line: all[i].start..all[i].end,
                key_indent: 0,
            },
            Some(i) => {
                let (items, item_indent) = items_of(&all, i, scope_to);
                let insert_at = items.last().map_or(all[i].start, |it| it.range.end);
                Sequence::Block {
                    items,
                    item_indent,
                    insert_at,
                    key_line: None,
                }
            }
            None => Sequence::Flow {
                line: text.len()..text.len(),
                key_indent: 0,
            },
        };
    };
    let prefix = format!("{key}:");
    for i in scope_from..scope_to {
        let line = &all[i];
        if line.indent != key_indent || !line.text.trim_start().starts_with(&prefix) {
            continue;
        }
        let rest = line.text.trim_start()[prefix.len()..].trim();
        if rest.starts_with('[') {
            return Sequence::Flow {
                line: line.start..line.end,
                key_indent,
            };
        }
        let to = block_end(&all, i + 1, key_indent, true).max(i + 1);
        let (items, item_indent) = items_of(&all, i + 1, to);
        let item_indent = if items.is_empty() {
            key_indent + 2
        } else {
            item_indent
        };
        let insert_at = items.last().map_or(line.end, |it| it.range.end);
        return Sequence::Block {
            items,
            item_indent,
            insert_at,
            key_line: Some(line.start..line.end),
        };
    }
    // Absent: add the key at the end of the scope (after its last meaningful line).
    let last = (scope_from..scope_to)
        .rev()
        .find(|&i| !all[i].is_blank_or_comment());
    Sequence::Missing {
        insert_at: last.map_or(within.as_ref().map_or(text.len(), |(r, _)| r.end), |i| {
            all[i].end
        }),
        key_indent,
    }
}

/// The byte range of the mapping under top-level key `key` (its nested lines), and the
/// indentation of its keys.
pub(crate) fn find_mapping(text: &str, key: &str) -> Option<(Range<usize>, usize)> {
    let all = lines(text);
    let prefix = format!("{key}:");
    let i = all
        .iter()
        .position(|l| l.indent == 0 && l.text.starts_with(&prefix))?;
    let to = block_end(&all, i + 1, 0, false);
    let indent = all[i + 1..to]
        .iter()
        .find(|l| !l.is_blank_or_comment())
        .map_or(2, |l| l.indent);
    let end = if to > i + 1 {
        all[to - 1].end
    } else {
        all[i].end
    };
    Some((all[i].end..end, indent))
}

/// Rewrites a one-line flow mapping under top-level key `key` (`custom_types: {}`) as a block
/// mapping, so block entries can be added under it. `Ok(None)`: nothing to rewrite.
pub(crate) fn expand_flow_mapping(
    text: &str,
    key: &str,
    empty: &Value,
) -> Result<Option<String>, String> {
    let prefix = format!("{key}:");
    let Some(line) = lines(text)
        .into_iter()
        .find(|l| l.indent == 0 && l.text.starts_with(&prefix))
    else {
        return Ok(None);
    };
    let value = line.text[prefix.len()..].trim();
    if !value.starts_with('{') {
        return Ok(None);
    }
    let parsed: Value = serde_yaml_ng::from_str(value).map_err(|e| {
        format!(
            "`{key}` is a flow mapping Rasura cannot rewrite ({e}); write it as a block mapping"
        )
    })?;
    let parsed = match parsed {
        Value::Object(o) if o.is_empty() => empty.clone(),
        Value::Object(o) => Value::Object(o),
        _ => return Err(format!("`{key}` is not a mapping")),
    };
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..line.start]);
    out.push_str(&emit(&serde_json::json!({ key: parsed }), 0));
    out.push_str(&text[line.end..]);
    Ok(Some(out))
}

/// A block-sequence item (`- key: …`, at `indent`) as a standalone mapping document.
pub(crate) fn item_to_document(item: &str, indent: usize) -> String {
    let mut out = String::with_capacity(item.len());
    for (i, line) in item.split_inclusive('\n').enumerate() {
        let line = if i == 0 {
            // `- ` becomes two spaces: every line is then indented by `indent + 2`.
            let (lead, rest) = line.split_at(indent.min(line.len()));
            let rest = rest
                .strip_prefix("- ")
                .or_else(|| rest.strip_prefix('-'))
                .unwrap_or(rest);
            format!("{lead}  {rest}")
        } else {
            line.to_owned()
        };
        let strip = (indent + 2).min(line.len() - line.trim_start_matches(' ').len());
        out.push_str(&line[strip..]);
    }
    out
}

/// The inverse of [`item_to_document`].
pub(crate) fn document_to_item(document: &str, indent: usize) -> String {
    let mut out = String::with_capacity(document.len() + 16);
    for (i, line) in document.split_inclusive('\n').enumerate() {
        if i == 0 {
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(line);
        } else if line.trim().is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&" ".repeat(indent + 2));
            out.push_str(line);
        }
    }
    out
}

/// Makes sure `text` ends with a newline before appending.
pub(crate) fn ensure_newline(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// Parses one block-sequence item's text (`- name: …`) into JSON.
pub(crate) fn parse_item(text: &str) -> Option<Value> {
    let list: Vec<Value> = serde_yaml_ng::from_str(&dedent(text)).ok()?;
    list.into_iter().next()
}

fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_become_documents_and_back() {
        let item = "- table:\n    name: t\n    schema: public\n  event_triggers: []\n";
        let doc = item_to_document(item, 0);
        assert_eq!(
            doc,
            "table:\n  name: t\n  schema: public\nevent_triggers: []\n"
        );
        assert_eq!(document_to_item(&doc, 0), item);
        let nested = "  - a: 1\n    b: 2\n";
        assert_eq!(document_to_item(&item_to_document(nested, 2), 2), nested);
    }

    #[test]
    fn flow_mappings_become_blocks() {
        let empty = json!({"enums": [], "objects": []});
        let out = expand_flow_mapping("actions: []\ncustom_types: {}\n", "custom_types", &empty)
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "actions: []\ncustom_types:\n  enums: []\n  objects: []\n"
        );
        let out = expand_flow_mapping(
            "custom_types: {objects: [{name: A}]}\n",
            "custom_types",
            &empty,
        )
        .unwrap()
        .unwrap();
        assert_eq!(out, "custom_types:\n  objects:\n    - name: A\n");
        assert_eq!(
            expand_flow_mapping("custom_types:\n  enums: []\n", "custom_types", &empty),
            Ok(None)
        );
        assert!(expand_flow_mapping("custom_types: {a: [}\n", "custom_types", &empty).is_err());
    }

    #[test]
    fn emits_in_the_hasura_cli_style() {
        let v = json!({
            "actions": [{
                "name": "pong",
                "definition": {"kind": "synchronous", "handler": "{{RASURA_BASE_URL}}/actions/pong",
                               "headers": [{"name": "X-S", "value_from_env": "S"}], "timeout": 30},
                "permissions": [{"role": "user"}],
            }],
            "custom_types": {"enums": [], "objects": [{"name": "PongOutput"}]},
            "columns": "*",
        });
        assert_eq!(
            emit(&v, 0),
            "actions:\n  - name: pong\n    definition:\n      kind: synchronous\n      handler: '{{RASURA_BASE_URL}}/actions/pong'\n      headers:\n        - name: X-S\n          value_from_env: S\n      timeout: 30\n    permissions:\n      - role: user\ncustom_types:\n  enums: []\n  objects:\n    - name: PongOutput\ncolumns: '*'\n"
        );
        let round: serde_json::Value = serde_yaml_ng::from_str(&emit(&v, 0)).unwrap();
        assert_eq!(round, v);
    }

    #[test]
    fn finds_items_by_name() {
        let text = "version: 1\nactions:\n  - name: a\n    x: 1\n\n  # note\n  - name: 'b'\n    x: 2\ncustom_types:\n  objects:\n  - name: T\n";
        let Sequence::Block {
            items,
            item_indent,
            insert_at,
            ..
        } = find_sequence(text, Some("actions"), None)
        else {
            panic!()
        };
        assert_eq!(item_indent, 2);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name.as_deref(), Some("a"));
        assert_eq!(&text[items[0].range.clone()], "  - name: a\n    x: 1\n");
        assert_eq!(items[1].name.as_deref(), Some("b"));
        assert_eq!(&text[items[1].range.clone()], "  - name: 'b'\n    x: 2\n");
        assert_eq!(insert_at, items[1].range.end);
        assert_eq!(
            parse_item(&text[items[1].range.clone()]).unwrap(),
            json!({"name": "b", "x": 2})
        );

        let scope = find_mapping(text, "custom_types").unwrap();
        let Sequence::Block {
            items, item_indent, ..
        } = find_sequence(text, Some("objects"), Some(scope.clone()))
        else {
            panic!()
        };
        assert_eq!((items.len(), item_indent), (1, 2));
        assert!(matches!(
            find_sequence(text, Some("enums"), Some(scope)),
            Sequence::Missing { key_indent: 2, .. }
        ));
        assert!(matches!(
            find_sequence("[]\n", None, None),
            Sequence::Flow { .. }
        ));
        assert!(matches!(
            find_sequence(
                "table:\n  name: t\nevent_triggers: []\n",
                Some("event_triggers"),
                None
            ),
            Sequence::Flow { key_indent: 0, .. }
        ));
        assert!(matches!(
            find_sequence("table:\n  name: t\n", Some("event_triggers"), None),
            Sequence::Missing {
                insert_at: 17,
                key_indent: 0
            }
        ));
        let Sequence::Block { items, .. } =
            find_sequence("- name: a\n  x: 1\n- name: b\n", None, None)
        else {
            panic!()
        };
        assert_eq!(items.len(), 2);
    }
}
