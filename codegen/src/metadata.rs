//! Reads what the generator needs from a Hasura CLI metadata directory (config v3): the event
//! triggers of each table (their `payload` columns), the tables' custom names and column names,
//! and each source's naming convention. Flat (`tables/<schema>_<table>.yaml`) and nested
//! `!include` layouts both work; a v2 directory (one `tables.yaml`) is a clear error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::Error;

/// What one table's metadata says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableMetadata {
    /// The source (`default`).
    pub source: String,
    /// The Postgres schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// `configuration.custom_name`.
    pub custom_name: Option<String>,
    /// Column name → GraphQL field name (`column_config` and `custom_column_names`).
    pub custom_column_names: BTreeMap<String, String>,
    /// Computed fields (not in event payloads).
    pub computed_fields: Vec<String>,
    /// The table's event triggers.
    pub event_triggers: Vec<EventTriggerMetadata>,
    /// Whether the source uses `graphql-default` naming.
    pub graphql_default_naming: bool,
}

/// One event trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTriggerMetadata {
    /// Its name.
    pub name: String,
    /// For each operation present, its `payload` (`None`: every column).
    pub payloads: Vec<Option<Vec<String>>>,
}

/// Every table of every source in a metadata directory.
pub fn read_tables(dir: &Path) -> Result<Vec<TableMetadata>, Error> {
    let databases = dir.join("databases").join("databases.yaml");
    if !databases.exists() {
        if dir.join("tables.yaml").exists() {
            return Err(Error::new(format!(
                "{}: this is a config v2 metadata directory (one tables.yaml); Rasura reads config v3 \
                 directories: run `hasura scripts update-project-v3` first",
                dir.display()
            )));
        }
        return Err(Error::new(format!(
            "{}: not a Hasura metadata directory (no databases/databases.yaml)",
            dir.display()
        )));
    }
    let sources = load(&databases)?;
    let mut out = Vec::new();
    for source in as_seq(&sources, &databases)? {
        let (source, source_file) = resolve(source, &databases)?;
        let name = str_at(&source, &["name"]).unwrap_or("default").to_owned();
        let naming = str_at(&source, &["customization", "naming_convention"]).or_else(|| {
            str_at(
                &source,
                &["configuration", "customization", "naming_convention"],
            )
        });
        let graphql_default = naming == Some("graphql-default");
        let Some(tables) = source.get("tables") else {
            continue;
        };
        let (tables, tables_file) = resolve(tables.clone(), &source_file)?;
        for table in as_seq(&tables, &tables_file)? {
            let (table, file) = resolve(table, &tables_file)?;
            out.push(table_metadata(&table, &name, graphql_default, &file)?);
        }
    }
    Ok(out)
}

fn load(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    serde_yaml_ng::from_str(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Follows `"!include file"` (relative to the including file); returns the value and the file it
/// came from.
fn resolve(value: Value, from: &Path) -> Result<(Value, PathBuf), Error> {
    let include = match &value {
        Value::String(s) => s
            .strip_prefix("!include ")
            .map(str::trim)
            .map(str::to_owned),
        Value::Tagged(t) if t.tag == "include" => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    match include {
        Some(rel) => {
            let path = from.parent().unwrap_or(Path::new(".")).join(rel);
            let value = load(&path)?;
            Ok((value, path))
        }
        None => Ok((value, from.to_owned())),
    }
}

fn as_seq(value: &Value, file: &Path) -> Result<Vec<Value>, Error> {
    match value {
        Value::Sequence(s) => Ok(s.clone()),
        Value::Null => Ok(Vec::new()),
        _ => Err(Error::new(format!("{}: expected a list", file.display()))),
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) if s == "*" => None,
        Value::Sequence(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn table_metadata(
    table: &Value,
    source: &str,
    graphql_default: bool,
    file: &Path,
) -> Result<TableMetadata, Error> {
    let missing = || {
        Error::new(format!(
            "{}: a table entry without `table.name`",
            file.display()
        ))
    };
    let (schema, name) = match table.get("table") {
        Some(Value::String(name)) => ("public".to_owned(), name.clone()),
        Some(t) => (
            str_at(t, &["schema"]).unwrap_or("public").to_owned(),
            str_at(t, &["name"]).ok_or_else(missing)?.to_owned(),
        ),
        None => return Err(missing()),
    };
    let mut meta = TableMetadata {
        source: source.to_owned(),
        schema,
        table: name,
        custom_name: str_at(table, &["configuration", "custom_name"]).map(str::to_owned),
        graphql_default_naming: graphql_default,
        ..TableMetadata::default()
    };
    if let Some(Value::Mapping(m)) = table
        .get("configuration")
        .and_then(|c| c.get("custom_column_names"))
    {
        for (k, v) in m {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                meta.custom_column_names.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    if let Some(Value::Mapping(m)) = table
        .get("configuration")
        .and_then(|c| c.get("column_config"))
    {
        for (k, v) in m {
            if let (Some(k), Some(v)) = (k.as_str(), str_at(v, &["custom_name"])) {
                meta.custom_column_names.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    if let Some(Value::Sequence(cfs)) = table.get("computed_fields") {
        meta.computed_fields = cfs
            .iter()
            .filter_map(|c| str_at(c, &["name"]).map(str::to_owned))
            .collect();
    }
    if let Some(Value::Sequence(triggers)) = table.get("event_triggers") {
        for t in triggers {
            let name = str_at(t, &["name"]).unwrap_or_default().to_owned();
            let mut payloads = Vec::new();
            if let Some(def) = t.get("definition") {
                for op in ["insert", "update", "delete"] {
                    if let Some(spec) = def.get(op) {
                        payloads.push(string_list(spec.get("payload")));
                    }
                }
                if def.get("enable_manual").and_then(Value::as_bool) == Some(true) {
                    payloads.push(None);
                }
            }
            meta.event_triggers
                .push(EventTriggerMetadata { name, payloads });
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/hasura-schemas")
    }

    #[test]
    fn reads_the_nested_include_layout() {
        let tables = read_tables(&fixtures().join("aerie/metadata")).unwrap();
        assert!(tables.len() > 100, "{}", tables.len());
        let with_triggers: Vec<_> = tables
            .iter()
            .filter(|t| !t.event_triggers.is_empty())
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        assert_eq!(with_triggers.len(), 2, "{with_triggers:?}");
        assert!(tables.iter().all(|t| t.source == "Aerie"));
    }

    #[test]
    fn reads_the_flat_layout_and_refuses_v2() {
        let tables = read_tables(&fixtures().join("carnet-de-bord/metadata")).unwrap();
        assert!(tables.iter().any(|t| t.table == "beneficiary"));
        let err = read_tables(&fixtures().join("current-bench/metadata")).unwrap_err();
        assert!(err.to_string().contains("config v2"), "{err}");
    }
}
