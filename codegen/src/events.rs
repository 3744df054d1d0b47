//! Event rows: what Postgres puts in `event.data.old/new` (`row_to_json`), per event table.
//!
//! The schema gives the columns and their types (the table's object type, minus relationships
//! and computed fields); the metadata gives the Postgres column names where they differ from the
//! GraphQL names (`custom_column_names`, `column_config`, `graphql-default` naming) and the
//! triggers' `payload` columns (outside them a column may be missing, so it is optional).

use std::collections::BTreeSet;

use crate::metadata::TableMetadata;
use crate::naming;
use crate::schema::{Kind, Schema, TypeDef, TypeRef};
use crate::{Error, did_you_mean};

/// One event table's row.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The source.
    pub source: String,
    /// The Postgres schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The Rust struct's name (`UserRow`).
    pub rust_name: String,
    /// The table's GraphQL object type.
    pub graphql_type: String,
    /// Its columns.
    pub columns: Vec<Column>,
}

/// A column of an event row.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The Postgres column name (the JSON key in event payloads).
    pub column: String,
    /// The GraphQL field name.
    pub field: String,
    /// The GraphQL type.
    pub ty: TypeRef,
    /// The column's description.
    pub description: Option<String>,
    /// Whether every trigger's payload includes it.
    pub always_present: bool,
    /// An enum column whose GraphQL values differ from Postgres's (`graphql-default`): a string.
    pub as_string: bool,
}

/// A table named in the builder: `schema.table` or `source:schema.table`.
pub fn parse_table_name(name: &str) -> Result<(Option<String>, String, String), Error> {
    let (source, rest) = match name.split_once(':') {
        Some((s, r)) => (Some(s.to_owned()), r),
        None => (None, name),
    };
    let (schema, table) = rest.split_once('.').unwrap_or(("public", rest));
    if table.is_empty() || schema.is_empty() {
        return Err(Error::new(format!(
            "event table `{name}`: expected `schema.table` (or `source:schema.table`)"
        )));
    }
    Ok((source, schema.to_owned(), table.to_owned()))
}

/// Builds the rows of the event tables: the tables named in the builder plus every table with
/// an event trigger in the metadata.
pub fn rows(
    schema: &Schema,
    named: &[String],
    metadata: &[TableMetadata],
) -> Result<Vec<EventRow>, Error> {
    let mut wanted: Vec<TableMetadata> = Vec::new();
    for name in named {
        let (source, s, t) = parse_table_name(name)?;
        let meta = metadata
            .iter()
            .find(|m| {
                m.schema == s && m.table == t && source.as_ref().is_none_or(|src| *src == m.source)
            })
            .cloned()
            .unwrap_or_else(|| TableMetadata {
                source: source.clone().unwrap_or_else(|| "default".to_owned()),
                schema: s.clone(),
                table: t.clone(),
                ..TableMetadata::default()
            });
        push_unique(&mut wanted, meta);
    }
    for m in metadata.iter().filter(|m| !m.event_triggers.is_empty()) {
        push_unique(&mut wanted, m.clone());
    }
    let base_names: Vec<String> = wanted
        .iter()
        .map(|m| {
            let base = if m.schema == "public" {
                naming::pascal(&m.table)
            } else {
                naming::pascal(&format!("{}_{}", m.schema, m.table))
            };
            format!("{}Row", base.trim_start_matches("r#"))
        })
        .collect();
    wanted
        .iter()
        .zip(base_names)
        .map(|(m, rust_name)| row(schema, m, rust_name))
        .collect()
}

fn push_unique(list: &mut Vec<TableMetadata>, m: TableMetadata) {
    if !list
        .iter()
        .any(|x| x.source == m.source && x.schema == m.schema && x.table == m.table)
    {
        list.push(m);
    }
}

fn graphql_type_of<'s>(schema: &'s Schema, m: &TableMetadata) -> Result<&'s TypeDef, Error> {
    let default = if m.schema == "public" {
        m.table.clone()
    } else {
        format!("{}_{}", m.schema, m.table)
    };
    let name = m.custom_name.clone().unwrap_or(default);
    let squash = |s: &str| s.replace('_', "").to_lowercase();
    if let Some(t) = schema.get(&name).filter(|t| t.kind == Kind::Object) {
        return Ok(t);
    }
    let matches: Vec<&TypeDef> = schema
        .types
        .values()
        .filter(|t| t.kind == Kind::Object && squash(&t.name) == squash(&name))
        .collect();
    if let [one] = matches.as_slice() {
        return Ok(one);
    }
    let objects: Vec<&str> = schema
        .types
        .values()
        .filter(|t| t.kind == Kind::Object)
        .map(|t| t.name.as_str())
        .collect();
    Err(Error::new(format!(
        "event table `{}.{}`: the schema has no object type `{name}`{}",
        m.schema,
        m.table,
        did_you_mean(&name, objects)
    )))
}

/// `userId` → `user_id` without escaping keywords (a column name, not an identifier).
fn column_of_field(field: &str) -> String {
    naming::snake(field)
        .trim_start_matches("r#")
        .trim_end_matches('_')
        .to_owned()
}

fn row(schema: &Schema, m: &TableMetadata, rust_name: String) -> Result<EventRow, Error> {
    let def = graphql_type_of(schema, m)?;
    // Columns every trigger's payload carries (`None`: all of them).
    let mut present: Option<BTreeSet<&str>> = None;
    for t in &m.event_triggers {
        for p in t.payloads.iter().flatten() {
            let set: BTreeSet<&str> = p.iter().map(String::as_str).collect();
            present = Some(match present {
                None => set,
                Some(prev) => prev.intersection(&set).copied().collect(),
            });
        }
    }
    let mut columns = Vec::new();
    for f in &def.fields {
        let kind = schema.kind_of(f.ty.base());
        if !matches!(kind, Kind::Scalar | Kind::Enum) || m.computed_fields.contains(&f.name) {
            continue;
        }
        if f.name.ends_with("_aggregate") && kind != Kind::Scalar {
            continue;
        }
        let column = m
            .custom_column_names
            .iter()
            .find(|(_, gql)| **gql == f.name)
            .map(|(col, _)| col.clone())
            .unwrap_or_else(|| {
                if m.graphql_default_naming {
                    column_of_field(&f.name)
                } else {
                    f.name.clone()
                }
            });
        columns.push(Column {
            always_present: present.as_ref().is_none_or(|p| p.contains(column.as_str())),
            as_string: kind == Kind::Enum && m.graphql_default_naming,
            column,
            field: f.name.clone(),
            ty: f.ty.clone(),
            description: f.description.clone(),
        });
    }
    Ok(EventRow {
        source: m.source.clone(),
        schema: m.schema.clone(),
        table: m.table.clone(),
        rust_name,
        graphql_type: def.name.clone(),
        columns,
    })
}

/// Every tracked table with its Postgres columns, and its row struct where one is generated:
/// what `#[event]` checks its table and columns against (through the action manifest). Tables
/// the schema has no object type for are left out; with no schema, nothing is listed.
pub fn tracked_tables(
    schema: &Schema,
    metadata: &[TableMetadata],
    rows: &[EventRow],
) -> Vec<rasura_manifest::ManifestTable> {
    // Without a metadata directory the tracked tables are unknown: nothing is listed (a list
    // of only the named event tables would make every other table an error).
    if schema.types.is_empty() || metadata.is_empty() {
        return Vec::new();
    }
    // Under `graphql-default` naming the Postgres names are rebuilt from camelCase, which
    // loses information (`line_2` → `line2`): such columns are not checked.
    let certain = |source: &str| {
        !metadata
            .iter()
            .any(|m| m.source == source && m.graphql_default_naming)
    };
    let mut tables: Vec<rasura_manifest::ManifestTable> = rows
        .iter()
        .map(|r| rasura_manifest::ManifestTable {
            source: r.source.clone(),
            schema: r.schema.clone(),
            table: r.table.clone(),
            row: Some(r.rust_name.clone()),
            columns: certain(&r.source)
                .then(|| r.columns.iter().map(|c| c.column.clone()).collect()),
        })
        .collect();
    for m in metadata {
        let known = tables
            .iter()
            .any(|t| t.source == m.source && t.schema == m.schema && t.table == m.table);
        if known {
            continue;
        }
        // A table whose object type is not found (a customised type name) is still tracked:
        // listed, with its columns unknown.
        let columns = row(schema, m, String::new())
            .ok()
            .filter(|_| certain(&m.source))
            .map(|r| r.columns.iter().map(|c| c.column.clone()).collect());
        tables.push(rasura_manifest::ManifestTable {
            source: m.source.clone(),
            schema: m.schema.clone(),
            table: m.table.clone(),
            row: None,
            columns,
        });
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::EventTriggerMetadata;

    fn schema() -> Schema {
        Schema::from_sdl(
            "type query_root { user: [user!]! }
             type user { user_id: String! role: ENUM_ROLE_enum! user_phone: String app: app userMessage: String }
             type app { id: Int! }
             enum ENUM_ROLE_enum { user admin }
             type auth_account { id: uuid! }",
            "t",
        )
        .unwrap()
    }

    #[test]
    fn columns_skip_relationships_and_follow_payloads() {
        let meta = TableMetadata {
            source: "default".into(),
            schema: "public".into(),
            table: "user".into(),
            custom_column_names: [("user_message".to_owned(), "userMessage".to_owned())].into(),
            event_triggers: vec![EventTriggerMetadata {
                name: "t".into(),
                payloads: vec![Some(vec!["user_id".into(), "role".into()]), None],
            }],
            ..TableMetadata::default()
        };
        let rows = rows(&schema(), &[], &[meta]).unwrap();
        let row = &rows[0];
        assert_eq!(row.rust_name, "UserRow");
        let cols: Vec<_> = row
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.always_present))
            .collect();
        assert_eq!(
            cols,
            [
                ("user_id", true),
                ("role", true),
                ("user_phone", false),
                ("user_message", false)
            ]
        );
    }

    #[test]
    fn named_tables_outside_public_and_unknown_ones() {
        let rows = rows(&schema(), &["auth.account".into()], &[]).unwrap();
        assert_eq!(rows[0].graphql_type, "auth_account");
        assert_eq!(rows[0].rust_name, "AuthAccountRow");
        let err = super::rows(&schema(), &["public.usr".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("did you mean `user`"), "{err}");
        assert!(parse_table_name("public.").is_err());
        assert_eq!(
            parse_table_name("db:s.t").unwrap(),
            (Some("db".into()), "s".into(), "t".into())
        );
    }
}
