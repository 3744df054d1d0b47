//! `metadata export --dir`: merges a service's objects into a Hasura CLI metadata directory
//! (config v3, docs/protocol.md §5.4). Only this service's entries change: files it does not need
//! stay byte-identical, and in the files it edits every other entry keeps its text, comments
//! and formatting. Objects marked as this service's that the code no longer declares are
//! removed.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::yaml::{self, Sequence};
use super::{Declared, ExportOptions, OWNER_HEADER, owned_by, sdl};

/// Why the directory cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// A config v2 directory (one `tables.yaml` at the root).
    #[error(
        "{0} is a Hasura config v2 metadata directory (tables.yaml at its root); Rasura writes \
         config v3: run `hasura scripts update-project-v3` first"
    )]
    V2(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A file is not what the Hasura CLI writes.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> DirError {
    DirError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> DirError {
    DirError::Invalid {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// The files an export changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirReport {
    /// Files written (created or edited), relative to the directory.
    pub written: Vec<PathBuf>,
}

/// Edits of one text: byte ranges replaced, applied back to front.
#[derive(Default)]
struct Edits(Vec<(Range<usize>, String)>);

impl Edits {
    fn replace(&mut self, range: Range<usize>, text: String) {
        self.0.push((range, text));
    }

    fn apply(mut self, text: &str) -> String {
        self.0
            .sort_by(|a, b| b.0.start.cmp(&a.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut out = text.to_owned();
        for (range, replacement) in self.0 {
            out.replace_range(range, &replacement);
        }
        out
    }
}

struct Files {
    root: PathBuf,
    /// New contents, by absolute path (written at the end, only when changed).
    pending: BTreeMap<PathBuf, String>,
}

impl Files {
    fn read(&self, path: &Path) -> Result<Option<String>, DirError> {
        if let Some(text) = self.pending.get(path) {
            return Ok(Some(text.clone()));
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path, e)),
        }
    }

    fn set(&mut self, path: PathBuf, text: String) {
        self.pending.insert(path, text);
    }

    /// Writes the changed files, each through a temporary file renamed over the old one, after
    /// every one of them parsed again as the Hasura CLI would read it: a bad edit is an error
    /// and leaves the directory untouched.
    fn commit(self) -> Result<DirReport, DirError> {
        let mut changed = Vec::new();
        for (path, text) in &self.pending {
            let old = std::fs::read_to_string(path).ok();
            if old.as_deref() == Some(text.as_str()) {
                continue;
            }
            reparse(path, text)?;
            changed.push((path, text));
        }
        let mut report = DirReport::default();
        for (path, text) in changed {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            let mut temporary = path.clone().into_os_string();
            temporary.push(".rasura-tmp");
            let temporary = PathBuf::from(temporary);
            std::fs::write(&temporary, text).map_err(|e| io(&temporary, e))?;
            std::fs::rename(&temporary, path).map_err(|e| io(path, e))?;
            report
                .written
                .push(path.strip_prefix(&self.root).unwrap_or(path).to_owned());
        }
        Ok(report)
    }
}

/// Parses an edited file again: YAML for `.yaml`, SDL for `.graphql`.
fn reparse(path: &Path, text: &str) -> Result<(), DirError> {
    let bug = |e: String| {
        invalid(
            path,
            format!(
                "the edited file does not parse ({e}); nothing was written (please report this)"
            ),
        )
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
            .map(drop)
            .map_err(|e| bug(e.to_string())),
        Some("graphql") => sdl::parse(text).map(drop).map_err(|e| bug(e.to_string())),
        _ => Ok(()),
    }
}

/// Reads the edited directory back (pending contents first) and checks it holds every
/// declared object as intended; a difference is a bug in the editing, reported before
/// anything is written.
fn verify(declared: &Declared, files: &Files) -> Result<(), DirError> {
    let mismatch = |path: &Path, what: String| {
        invalid(
            path,
            format!("after editing, {what}; nothing was written (please report this)"),
        )
    };
    let yaml_of = |path: &Path| -> Result<Value, DirError> {
        let text = files.read(path)?.unwrap_or_default();
        serde_yaml_ng::from_str::<Value>(&text).map_err(|e| mismatch(path, e.to_string()))
    };
    let path = files.root.join("actions.yaml");
    let actions = yaml_of(&path)?;
    for action in &declared.actions {
        let wanted = action_item(&action.metadata);
        let found = actions["actions"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["name"] == wanted["name"]));
        if found != Some(&wanted) {
            return Err(mismatch(
                &path,
                format!("action `{}` is not as declared", action.name),
            ));
        }
    }
    for t in declared.custom_types() {
        let listed = actions["custom_types"][t.kind]
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["name"] == t.name.as_str()));
        if !listed {
            return Err(mismatch(
                &path,
                format!("custom type `{}` is not listed under `{}`", t.name, t.kind),
            ));
        }
    }
    let path = files.root.join("actions.graphql");
    let text = files.read(&path)?.unwrap_or_default();
    let definitions = sdl::parse(&text).map_err(|e| mismatch(&path, e.to_string()))?;
    for action in &declared.actions {
        let present = definitions.iter().any(|d| {
            d.name == action.root
                && d.fields.iter().any(|f| {
                    f.name == action.name
                        && sdl::normalized(&text[f.span.clone()])
                            == sdl::normalized(&action.field_sdl)
                })
        });
        if !present {
            return Err(mismatch(
                &path,
                format!("the SDL of action `{}` is not as declared", action.name),
            ));
        }
    }
    for t in declared.custom_types() {
        if !definitions.iter().any(|d| !d.extend && d.name == t.name) {
            return Err(mismatch(
                &path,
                format!("custom type `{}` is not defined", t.name),
            ));
        }
    }
    let path = files.root.join("cron_triggers.yaml");
    let crons = yaml_of(&path)?;
    for cron in &declared.cron_triggers {
        let found = crons
            .as_array()
            .and_then(|list| list.iter().find(|c| c["name"] == cron["name"]));
        if found != Some(cron) {
            return Err(mismatch(
                &path,
                format!("cron trigger {} is not as declared", cron["name"]),
            ));
        }
    }
    let (tables, _) = table_files(files)?;
    for trigger in &declared.event_triggers {
        let table = tables.iter().find(|t| {
            t.source == trigger.source && t.schema == trigger.schema && t.name == trigger.table
        });
        let found = table.and_then(|t| {
            let table: Value = serde_yaml_ng::from_str(&t.text).ok()?;
            table["event_triggers"]
                .as_array()?
                .iter()
                .find(|e| e["name"] == trigger.name())
                .cloned()
        });
        if found.as_ref() != Some(&trigger.metadata) {
            let path = table.map_or(files.root.clone(), |t| t.path.clone());
            return Err(mismatch(
                &path,
                format!("event trigger `{}` is not as declared", trigger.name()),
            ));
        }
    }
    Ok(())
}

/// Writes `declared` into the metadata directory `dir` (created when missing).
pub fn export(
    declared: &Declared,
    options: &ExportOptions,
    dir: &Path,
) -> Result<DirReport, DirError> {
    if dir.join("tables.yaml").exists() {
        return Err(DirError::V2(dir.to_owned()));
    }
    let mut files = Files {
        root: dir.to_owned(),
        pending: BTreeMap::new(),
    };
    let version_path = dir.join("version.yaml");
    match files.read(&version_path)? {
        Some(text) => {
            let version: Value = serde_yaml_ng::from_str(&text)
                .map_err(|e| invalid(&version_path, e.to_string()))?;
            match version["version"].as_u64() {
                Some(3) => {}
                Some(2) => return Err(DirError::V2(dir.to_owned())),
                other => {
                    return Err(invalid(
                        &version_path,
                        format!("unsupported metadata version {other:?}; Rasura writes version 3"),
                    ));
                }
            }
        }
        None => files.set(version_path, "version: 3\n".into()),
    }
    let stale_actions = write_actions_yaml(declared, options, &mut files)?;
    write_actions_graphql(declared, &stale_actions, &mut files)?;
    write_cron_triggers(declared, options, &mut files)?;
    write_event_triggers(declared, options, &mut files)?;
    verify(declared, &files)?;
    files.commit()
}

/// Rewrites the items of a block sequence: replaces the declared ones that differ, appends the
/// missing ones, removes the owned ones no longer declared. Returns the names removed.
fn merge_items(
    text: &str,
    sequence: Sequence,
    wanted: &[Value],
    service: &str,
    owner_headers: impl Fn(&Value) -> Option<&Value>,
    key: Option<&str>,
    keep: &[String],
) -> (String, Vec<String>) {
    let mut removed = Vec::new();
    match sequence {
        Sequence::Block {
            items,
            item_indent,
            insert_at,
            key_line,
        } => {
            let mut edits = Edits::default();
            for item in &items {
                let Some(name) = &item.name else { continue };
                let old = yaml::parse_item(&text[item.range.clone()]);
                match wanted.iter().find(|w| w["name"].as_str() == Some(name)) {
                    Some(new) => {
                        if old.as_ref() != Some(new) {
                            edits.replace(
                                item.range.clone(),
                                yaml::emit(&json!([new]), item_indent),
                            );
                        }
                    }
                    None => {
                        if !keep.contains(name)
                            && old
                                .as_ref()
                                .is_some_and(|o| owned_by(owner_headers(o), service))
                        {
                            edits.replace(item.range.clone(), String::new());
                            removed.push(name.clone());
                        }
                    }
                }
            }
            let missing: Vec<Value> = wanted
                .iter()
                .filter(|w| {
                    !items
                        .iter()
                        .any(|i| i.name.as_deref() == w["name"].as_str())
                })
                .cloned()
                .collect();
            let remaining = items.len() - removed.len() + missing.len();
            if remaining == 0 && !removed.is_empty() {
                // The list is now empty: an empty flow list, not a null.
                match &key_line {
                    Some(line) => edits.replace(
                        line.clone(),
                        format!(
                            "{}: []\n",
                            &text[line.clone()].trim_end().trim_end_matches(':')
                        ),
                    ),
                    None => edits.replace(0..0, "[]\n".into()),
                }
            }
            if !missing.is_empty() {
                let mut addition = String::new();
                if insert_at > 0 && !text[..insert_at].ends_with('\n') {
                    addition.push('\n');
                }
                addition.push_str(&yaml::emit(&Value::Array(missing), item_indent));
                edits.replace(insert_at..insert_at, addition);
            }
            (edits.apply(text), removed)
        }
        Sequence::Flow { line, key_indent } => {
            // `key: []` (or a bare `[]`): the declared items replace it as a block.
            let head = text[line.clone()].split_once('[').map_or("", |(h, _)| h);
            let existing: Vec<Value> = serde_yaml_ng::from_str::<Value>(
                text[line.clone()]
                    .trim_start()
                    .trim_start_matches(head.trim_start()),
            )
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
            let mut all: Vec<Value> = existing
                .into_iter()
                .filter(|e| {
                    let name = e["name"].as_str();
                    let declared = wanted.iter().any(|w| w["name"].as_str() == name);
                    let stale = !declared
                        && !name.is_some_and(|n| keep.iter().any(|k| k == n))
                        && owned_by(owner_headers(e), service);
                    if stale {
                        removed.extend(name.map(str::to_owned));
                    }
                    !declared && !stale
                })
                .collect();
            all.extend(wanted.iter().cloned());
            if all.is_empty() {
                return (text.to_owned(), removed);
            }
            let body = if head.trim().is_empty() {
                yaml::emit(&Value::Array(all), 0)
            } else {
                format!(
                    "{}\n{}",
                    head.trim_end(),
                    yaml::emit(&Value::Array(all), key_indent + 2)
                )
            };
            let mut edits = Edits::default();
            edits.replace(line, body);
            (edits.apply(text), removed)
        }
        Sequence::Missing {
            insert_at,
            key_indent,
        } => {
            if wanted.is_empty() {
                return (text.to_owned(), removed);
            }
            let mut addition = String::new();
            if insert_at > 0 && !text[..insert_at].ends_with('\n') {
                addition.push('\n');
            }
            addition.push_str(&" ".repeat(key_indent));
            addition.push_str(key.unwrap_or_default());
            addition.push_str(":\n");
            addition.push_str(&yaml::emit(&Value::Array(wanted.to_vec()), key_indent + 2));
            let mut edits = Edits::default();
            edits.replace(insert_at..insert_at, addition);
            (edits.apply(text), removed)
        }
    }
}

fn action_headers(item: &Value) -> Option<&Value> {
    item.get("definition").and_then(|d| d.get("headers"))
}

fn no_headers(_: &Value) -> Option<&Value> {
    None
}

fn top_headers(item: &Value) -> Option<&Value> {
    item.get("headers")
}

/// An action's `actions.yaml` entry (everything but the SDL), in the CLI's key order.
fn action_item(metadata: &Value) -> Value {
    let def = &metadata["definition"];
    let mut d = Map::new();
    let kind = if def["type"] == "query" {
        json!("")
    } else {
        def["kind"].clone()
    };
    d.insert("kind".into(), kind);
    d.insert("handler".into(), def["handler"].clone());
    if def["forward_client_headers"] == true {
        d.insert("forward_client_headers".into(), json!(true));
    }
    if def["headers"].as_array().is_some_and(|h| !h.is_empty()) {
        d.insert("headers".into(), def["headers"].clone());
    }
    d.insert("timeout".into(), def["timeout"].clone());
    let mut item = Map::new();
    item.insert("name".into(), metadata["name"].clone());
    item.insert("definition".into(), Value::Object(d));
    if metadata["permissions"]
        .as_array()
        .is_some_and(|p| !p.is_empty())
    {
        item.insert("permissions".into(), metadata["permissions"].clone());
    }
    if let Some(comment) = metadata.get("comment") {
        item.insert("comment".into(), comment.clone());
    }
    Value::Object(item)
}

/// The actions `metadata export` could not export: their entries stay as they are.
fn skipped_actions(declared: &Declared) -> Vec<String> {
    declared
        .skipped
        .iter()
        .filter_map(|s| s.object.strip_prefix("action `")?.strip_suffix('`'))
        .map(str::to_owned)
        .collect()
}

const EMPTY_ACTIONS_YAML: &str =
    "actions: []\ncustom_types:\n  enums: []\n  input_objects: []\n  objects: []\n  scalars: []\n";

/// `actions.yaml`: the actions' entries and the custom types' names. Returns the owned actions
/// removed (their SDL goes too).
fn write_actions_yaml(
    declared: &Declared,
    options: &ExportOptions,
    files: &mut Files,
) -> Result<Vec<String>, DirError> {
    let path = files.root.join("actions.yaml");
    let text = files
        .read(&path)?
        .unwrap_or_else(|| EMPTY_ACTIONS_YAML.into());
    let wanted: Vec<Value> = declared
        .actions
        .iter()
        .map(|a| action_item(&a.metadata))
        .collect();
    // `custom_types: {}` (as some tools write it) becomes a block mapping first: block entries
    // cannot go under a flow mapping.
    let empty_types = json!({"enums": [], "input_objects": [], "objects": [], "scalars": []});
    let text = if declared.custom_types().is_empty() {
        text
    } else {
        match yaml::expand_flow_mapping(&text, "custom_types", &empty_types) {
            Ok(Some(expanded)) => expanded,
            Ok(None) => text,
            Err(message) => return Err(invalid(&path, message)),
        }
    };
    let sequence = yaml::find_sequence(&text, Some("actions"), None);
    let (mut text, removed) = merge_items(
        &text,
        sequence,
        &wanted,
        &options.service,
        action_headers,
        Some("actions"),
        &skipped_actions(declared),
    );
    // Custom types: each used type is listed by name (fields live in actions.graphql; existing
    // entries may carry relationships, and are kept as they are).
    for kind in ["enums", "input_objects", "objects", "scalars"] {
        let names: Vec<&str> = declared
            .custom_types()
            .into_iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.name.as_str())
            .collect();
        if names.is_empty() {
            continue;
        }
        let scope = match yaml::find_mapping(&text, "custom_types") {
            Some(scope) => scope,
            None => {
                yaml::ensure_newline(&mut text);
                text.push_str("custom_types:\n");
                let end = text.len();
                (end..end, 2)
            }
        };
        let sequence = yaml::find_sequence(&text, Some(kind), Some(scope));
        let present: Vec<String> = match &sequence {
            Sequence::Block { items, .. } => items.iter().filter_map(|i| i.name.clone()).collect(),
            Sequence::Flow { line, .. } => serde_yaml_ng::from_str::<Value>(
                text[line.clone()].split_once(':').map_or("[]", |(_, v)| v),
            )
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect(),
            Sequence::Missing { .. } => Vec::new(),
        };
        let missing: Vec<Value> = names
            .iter()
            .filter(|n| !present.iter().any(|p| p == *n))
            .map(|n| json!({"name": n}))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let mut all_wanted = missing;
        if let Sequence::Flow { .. } = sequence {
            // A flow list is rewritten whole: keep what it had.
            for p in &present {
                all_wanted.insert(0, json!({"name": p}));
            }
        }
        text = merge_items(
            &text,
            sequence,
            &all_wanted,
            &options.service,
            no_headers,
            Some(kind),
            &[],
        )
        .0;
    }
    files.set(path, text);
    Ok(removed)
}

/// `actions.graphql`: each action's field in `type Query`/`type Mutation`, and its custom
/// types, edited in place by definition span.
fn write_actions_graphql(
    declared: &Declared,
    stale: &[String],
    files: &mut Files,
) -> Result<(), DirError> {
    let path = files.root.join("actions.graphql");
    let text = files.read(&path)?.unwrap_or_default();
    let definitions = sdl::parse(&text).map_err(|e| invalid(&path, e.to_string()))?;
    let mut edits = Edits::default();
    let mut appended = String::new();
    let field_line = |span: &Range<usize>| -> Range<usize> {
        // The field's whole line(s), when nothing else shares them.
        let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let end = text[span.end..]
            .find('\n')
            .map_or(text.len(), |i| span.end + i + 1);
        if text[start..span.start].trim().is_empty() && text[span.end..end].trim().is_empty() {
            start..end
        } else {
            span.clone()
        }
    };
    for action in &declared.actions {
        let mut found = false;
        for d in definitions
            .iter()
            .filter(|d| d.keyword == "type" && matches!(d.name.as_str(), "Query" | "Mutation"))
        {
            for f in d.fields.iter().filter(|f| f.name == action.name) {
                if d.name == action.root && !found {
                    found = true;
                    if sdl::normalized(&text[f.span.clone()]) != sdl::normalized(&action.field_sdl)
                    {
                        edits.replace(f.span.clone(), action.field_sdl.clone());
                    }
                } else {
                    edits.replace(field_line(&f.span), String::new());
                }
            }
        }
        if !found {
            appended.push_str(&format!(
                "\ntype {} {{\n  {}\n}}\n",
                action.root, action.field_sdl
            ));
        }
    }
    for name in stale {
        for d in definitions
            .iter()
            .filter(|d| d.keyword == "type" && matches!(d.name.as_str(), "Query" | "Mutation"))
        {
            for f in d.fields.iter().filter(|f| &f.name == name) {
                edits.replace(field_line(&f.span), String::new());
            }
        }
    }
    for t in declared.custom_types() {
        let keyword = match t.kind {
            "objects" => "type",
            "input_objects" => "input",
            "enums" => "enum",
            _ => "scalar",
        };
        match definitions
            .iter()
            .find(|d| !d.extend && d.keyword == keyword && d.name == t.name)
        {
            Some(d) => {
                // Compared without the description, which the snapshot may not carry.
                let old = &text[d.span.clone()];
                if sdl::normalized(old) != sdl::normalized(&t.sdl) {
                    edits.replace(d.span.clone(), t.sdl.clone());
                }
            }
            None => appended.push_str(&format!("\n{}\n", t.sdl)),
        }
    }
    let mut out = edits.apply(&text);
    if !appended.is_empty() {
        if out.is_empty() {
            appended = appended.trim_start_matches('\n').to_owned();
        } else {
            yaml::ensure_newline(&mut out);
        }
        out.push_str(&appended);
    }
    files.set(path, out);
    Ok(())
}

/// `cron_triggers.yaml`.
fn write_cron_triggers(
    declared: &Declared,
    options: &ExportOptions,
    files: &mut Files,
) -> Result<(), DirError> {
    let path = files.root.join("cron_triggers.yaml");
    let text = files.read(&path)?.unwrap_or_else(|| "[]\n".into());
    let sequence = yaml::find_sequence(&text, None, None);
    let (text, _) = merge_items(
        &text,
        sequence,
        &declared.cron_triggers,
        &options.service,
        top_headers,
        None,
        &[],
    );
    files.set(path, text);
    Ok(())
}

/// A tracked table: its file, or its inline entry in a `tables.yaml`.
struct TableFile {
    source: String,
    schema: String,
    name: String,
    /// Its own file, or the `tables.yaml` holding it inline.
    path: PathBuf,
    /// For an inline entry: its byte range in `path` and the items' indentation.
    inline: Option<(Range<usize>, usize)>,
    /// Its text (for an inline entry, as a standalone mapping document), read once.
    text: String,
}

/// Follows `!include`s from `databases/databases.yaml` to every table file.
fn table_files(files: &Files) -> Result<(Vec<TableFile>, BTreeMap<String, PathBuf>), DirError> {
    let databases = files.root.join("databases").join("databases.yaml");
    let Some(text) = files.read(&databases)? else {
        return Ok((Vec::new(), BTreeMap::new()));
    };
    let sources: Value =
        serde_yaml_ng::from_str(&text).map_err(|e| invalid(&databases, e.to_string()))?;
    let mut tables = Vec::new();
    let mut tables_yaml = BTreeMap::new();
    for source in sources.as_array().into_iter().flatten() {
        let source_name = source["name"].as_str().unwrap_or("default").to_owned();
        let base = databases.parent().unwrap_or(&files.root).to_owned();
        let include = match &source["tables"] {
            Value::String(s) => s.strip_prefix("!include ").map(str::trim),
            Value::Array(a) if a.is_empty() => None,
            Value::Null => None,
            _ => {
                return Err(invalid(
                    &databases,
                    format!(
                        "source `{source_name}` lists its tables inline; Rasura edits the Hasura CLI layout (`tables: \"!include …\"`)"
                    ),
                ));
            }
        };
        let Some(include) = include else { continue };
        let list_path = base.join(include);
        tables_yaml.insert(source_name.clone(), list_path.clone());
        let list_text = files.read(&list_path)?.unwrap_or_else(|| "[]\n".into());
        let list: Value =
            serde_yaml_ng::from_str(&list_text).map_err(|e| invalid(&list_path, e.to_string()))?;
        let list_dir = list_path.parent().unwrap_or(&base).to_owned();
        // Inline entries (a table's mapping written in tables.yaml itself) are edited in
        // place, located by their position among the sequence's items.
        let items = match yaml::find_sequence(&list_text, None, None) {
            yaml::Sequence::Block {
                items, item_indent, ..
            } => Some((items, item_indent)),
            _ => None,
        };
        for (index, entry) in list.as_array().into_iter().flatten().enumerate() {
            let table_of = |table: &Value| {
                (
                    table["table"]["schema"]
                        .as_str()
                        .unwrap_or("public")
                        .to_owned(),
                    table["table"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            };
            let Some(file) = entry.as_str().and_then(|s| s.strip_prefix("!include ")) else {
                if !entry.is_object() {
                    return Err(invalid(
                        &list_path,
                        format!(
                            "entry {} is neither `!include <file>` nor a table",
                            index + 1
                        ),
                    ));
                }
                let Some((item, indent)) = items
                    .as_ref()
                    .and_then(|(items, indent)| Some((items.get(index)?, *indent)))
                else {
                    return Err(invalid(
                        &list_path,
                        "inline table entries must be a block sequence (`- table: …`)",
                    ));
                };
                let (schema, name) = table_of(entry);
                tables.push(TableFile {
                    source: source_name.clone(),
                    schema,
                    name,
                    path: list_path.clone(),
                    inline: Some((item.range.clone(), indent)),
                    text: yaml::item_to_document(&list_text[item.range.clone()], indent),
                });
                continue;
            };
            let table_path = list_dir.join(file.trim());
            let table_text = files
                .read(&table_path)?
                .ok_or_else(|| invalid(&table_path, "included but missing"))?;
            let table: Value = serde_yaml_ng::from_str(&table_text)
                .map_err(|e| invalid(&table_path, e.to_string()))?;
            let (schema, name) = table_of(&table);
            tables.push(TableFile {
                source: source_name.clone(),
                schema,
                name,
                path: table_path,
                inline: None,
                text: table_text,
            });
        }
    }
    Ok((tables, tables_yaml))
}

/// Event triggers, each in its table's file (created and included when the table is new).
fn write_event_triggers(
    declared: &Declared,
    options: &ExportOptions,
    files: &mut Files,
) -> Result<(), DirError> {
    let (mut tables, tables_yaml) = table_files(files)?;
    // New tables first: a file and its `!include`.
    for trigger in &declared.event_triggers {
        let known = tables.iter().any(|t| {
            t.source == trigger.source && t.schema == trigger.schema && t.name == trigger.table
        });
        if known {
            continue;
        }
        let list_path = match tables_yaml.get(&trigger.source) {
            Some(p) => p.clone(),
            None => {
                // No such source: add it, with Hasura's default database variable.
                let databases = files.root.join("databases").join("databases.yaml");
                let mut text = files.read(&databases)?.unwrap_or_default();
                if text.trim() == "[]" {
                    text.clear();
                }
                yaml::ensure_newline(&mut text);
                let source = json!([{
                    "name": trigger.source,
                    "kind": "postgres",
                    "configuration": {"connection_info": {
                        "database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"},
                        "isolation_level": "read-committed",
                        "use_prepared_statements": false,
                    }},
                    "tables": format!("!include {}/tables/tables.yaml", trigger.source),
                }]);
                text.push_str(&yaml::emit(&source, 0));
                files.set(databases.clone(), text);
                let p = files
                    .root
                    .join("databases")
                    .join(&trigger.source)
                    .join("tables")
                    .join("tables.yaml");
                files.set(p.clone(), "[]\n".into());
                p
            }
        };
        let file_name = format!("{}_{}.yaml", trigger.schema, trigger.table);
        let table_path = list_path.parent().unwrap_or(&files.root).join(&file_name);
        let table_text = yaml::emit(
            &json!({"table": {"name": trigger.table, "schema": trigger.schema}}),
            0,
        );
        files.set(table_path.clone(), table_text.clone());
        let list_text = files.read(&list_path)?.unwrap_or_else(|| "[]\n".into());
        let include = json!(format!("!include {file_name}"));
        let mut list_text = list_text;
        if list_text.trim() == "[]" {
            list_text = yaml::emit(&json!([include]), 0);
        } else {
            yaml::ensure_newline(&mut list_text);
            list_text.push_str(&yaml::emit(&json!([include]), 0));
        }
        files.set(list_path.clone(), list_text);
        tables.push(TableFile {
            source: trigger.source.clone(),
            schema: trigger.schema.clone(),
            name: trigger.table.clone(),
            path: table_path,
            inline: None,
            text: table_text,
        });
    }
    // Then every table file: its declared triggers, and the removal of stale owned ones.
    let mut inline_edits: BTreeMap<PathBuf, Edits> = BTreeMap::new();
    for table in &tables {
        let wanted: Vec<Value> = declared
            .event_triggers
            .iter()
            .filter(|t| {
                t.source == table.source && t.schema == table.schema && t.table == table.name
            })
            .map(|t| t.metadata.clone())
            .collect();
        let text = &table.text;
        if wanted.is_empty() && !text.contains(OWNER_HEADER) {
            continue;
        }
        let sequence = yaml::find_sequence(text, Some("event_triggers"), None);
        let (new_text, _) = merge_items(
            text,
            sequence,
            &wanted,
            &options.service,
            top_headers,
            Some("event_triggers"),
            &[],
        );
        if new_text == *text {
            continue;
        }
        match &table.inline {
            None => files.set(table.path.clone(), new_text),
            Some((range, indent)) => inline_edits
                .entry(table.path.clone())
                .or_default()
                .replace(range.clone(), yaml::document_to_item(&new_text, *indent)),
        }
    }
    for (path, edits) in inline_edits {
        let text = files.read(&path)?.unwrap_or_default();
        files.set(path, edits.apply(&text));
    }
    Ok(())
}
