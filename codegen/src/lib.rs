//! # rasura-codegen
//!
//! Turns a Hasura project into typed Rust at build time, offline, from committed files:
//!
//! - a schema snapshot (introspection JSON, with or without `{"data": …}`, or SDL), refreshed
//!   from a live Hasura with `rasura schema pull`;
//! - Hasura's `actions.graphql` (and `actions.yaml`): an argument struct, the output type and
//!   an [`ActionDef`](https://docs.rs/rasura/latest/rasura/generated/trait.ActionDef.html)
//!   marker per action, so `#[action]` can check the handler at compile time;
//! - event tables (named, or found in the metadata directory's event triggers): a row struct per
//!   table, with Postgres column names;
//! - `.graphql` operation documents: validated against the schema, with typed `Variables` and
//!   `ResponseData`.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), rasura_codegen::Error> {
//!     rasura_codegen::Config::new()
//!         .schema("hasura/schema.graphql")
//!         .metadata("hasura/metadata") // actions.graphql, actions.yaml, event triggers
//!         .operations("graphql")
//!         .generate()?;
//!     Ok(())
//! }
//! ```
//!
//! and at the crate root: `rasura::include_generated!();`.
//!
//! Only what the actions, event tables and operations use is generated, unless
//! [`Config::all`] asks for every named type.

pub mod actions;
mod emit;
pub mod events;
pub mod metadata;
pub mod naming;
/// Operation documents checked against the schema, and their Rust types.
pub mod operations;
pub mod schema;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;

pub use emit::known_scalar;

/// The file `generate` writes into `OUT_DIR`.
pub const GENERATED_FILE: &str = "rasura_generated.rs";
pub use rasura_manifest::{MANIFEST_ENV, MANIFEST_FILE};

/// A generation error: which file, where, what, and often "did you mean".
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with this message (for tools built on the library, such as `rasura-cli`).
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Like `Display`, so `fn main() -> Result<(), Error>` in `build.rs` prints a readable message.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `, did you mean `x`?` for the closest candidate, or nothing.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    rasura_manifest::did_you_mean(name, candidates)
        .map(|c| format!(", did you mean `{c}`?"))
        .unwrap_or_default()
}

/// What to generate from (a builder, for `build.rs` and the CLI).
#[derive(Debug, Clone, Default)]
pub struct Config {
    schema: Option<PathBuf>,
    actions: Option<PathBuf>,
    actions_yaml: Option<PathBuf>,
    metadata: Option<PathBuf>,
    operations: Vec<PathBuf>,
    event_tables: Vec<String>,
    scalars: Vec<(String, String)>,
    fields: Vec<(String, String)>,
    all: bool,
    only_actions: Option<Vec<String>>,
    module_path: Option<String>,
}

/// The result of a generation.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The Rust source.
    pub code: String,
    /// The manifest for `#[action]` (action names and kinds).
    pub manifest: String,
    /// Every file read (for `rerun-if-changed`).
    pub inputs: Vec<PathBuf>,
    /// The GraphQL types that got Rust code, by name.
    pub types: Vec<String>,
}

impl Config {
    /// An empty configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// The schema snapshot: introspection JSON or SDL.
    pub fn schema(mut self, path: impl Into<PathBuf>) -> Self {
        self.schema = Some(path.into());
        self
    }

    /// Hasura's `actions.graphql`. An `actions.yaml` beside it is read too (it says which
    /// mutations are asynchronous).
    pub fn actions(mut self, path: impl Into<PathBuf>) -> Self {
        self.actions = Some(path.into());
        self
    }

    /// An `actions.yaml` elsewhere than beside `actions.graphql`.
    pub fn actions_yaml(mut self, path: impl Into<PathBuf>) -> Self {
        self.actions_yaml = Some(path.into());
        self
    }

    /// A Hasura CLI metadata directory (config v3): its `actions.graphql` and `actions.yaml`
    /// (unless [`Config::actions`] names others), and the event triggers of its tables, whose
    /// tables become event rows.
    pub fn metadata(mut self, dir: impl Into<PathBuf>) -> Self {
        self.metadata = Some(dir.into());
        self
    }

    /// A `.graphql` operation document, or a directory of them (searched recursively).
    pub fn operations(mut self, path: impl Into<PathBuf>) -> Self {
        self.operations.push(path.into());
        self
    }

    /// A table whose rows event handlers receive: `schema.table` (`public.user`), or
    /// `source:schema.table`.
    pub fn event_table(mut self, table: impl Into<String>) -> Self {
        self.event_tables.push(table.into());
        self
    }

    /// Maps a scalar to a Rust type (a path such as `my_crate::Point`), instead of the built-in
    /// mapping or a generated newtype. The type must implement `Debug`, `Clone`, `PartialEq`,
    /// `Serialize` and `Deserialize`.
    pub fn scalar(mut self, scalar: impl Into<String>, rust_type: impl Into<String>) -> Self {
        self.scalars.push((scalar.into(), rust_type.into()));
        self
    }

    /// Maps one field (`Type.field`, GraphQL names) to a Rust type, keeping its list and
    /// nullability wrappers. Applies to the named type, event rows of its table, and selections
    /// of the field in operations.
    pub fn field(mut self, field: impl Into<String>, rust_type: impl Into<String>) -> Self {
        self.fields.push((field.into(), rust_type.into()));
        self
    }

    /// Generates every named type of the schema, not only the reachable ones.
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Generates only these actions of `actions.graphql` (for a service that implements some of
    /// the actions of a shared Hasura project). Unknown names are an error.
    pub fn only_actions<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only_actions = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Where the generated module lives, for `#[action]`'s checks (default `crate::hasura`, the
    /// module `rasura::include_generated!()` creates at the crate root).
    pub fn module_path(mut self, path: impl Into<String>) -> Self {
        self.module_path = Some(path.into());
        self
    }

    /// For `build.rs`: generates into `$OUT_DIR/rasura_generated.rs`, writes the action
    /// manifest and tells Cargo about it (`cargo:rustc-env=RASURA_ACTIONS_MANIFEST=…`), and
    /// prints `cargo:rerun-if-changed` for every input.
    pub fn generate(&self) -> Result<PathBuf, Error> {
        let out_dir = std::env::var_os("OUT_DIR")
            .map(PathBuf::from)
            .ok_or_else(|| Error::new("OUT_DIR is not set: call `generate` from build.rs (or use `generate_to_string`)"))?;
        // Register inputs first, so a broken input is re-read once fixed.
        for path in self.declared_inputs() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let generated = self.generate_with_cache(Some(&out_dir))?;
        let file = out_dir.join(GENERATED_FILE);
        write_if_changed(&file, &generated.code)?;
        let manifest = out_dir.join(MANIFEST_FILE);
        write_if_changed(&manifest, &generated.manifest)?;
        println!("cargo:rustc-env={MANIFEST_ENV}={}", manifest.display());
        Ok(file)
    }

    fn declared_inputs(&self) -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = Vec::new();
        inputs.extend(self.schema.clone());
        inputs.extend(self.actions.clone());
        inputs.extend(self.actions_yaml.clone().or_else(|| {
            // The `actions.yaml` read from beside `actions.graphql` (only if it exists: Cargo
            // reruns the build script on every build for a missing path).
            self.actions
                .as_ref()
                .map(|a| a.with_file_name("actions.yaml"))
                .filter(|p| p.exists())
        }));
        inputs.extend(self.metadata.clone());
        inputs.extend(self.operations.iter().cloned());
        inputs
    }

    /// Generates and returns the code, without touching `OUT_DIR` (for the CLI and tests).
    pub fn generate_to_string(&self) -> Result<Generated, Error> {
        self.generate_with_cache(None)
    }

    fn generate_with_cache(&self, cache_dir: Option<&Path>) -> Result<Generated, Error> {
        let mut inputs = Vec::new();
        let mut schema = match &self.schema {
            Some(path) => {
                let text = read(path, &mut inputs)?;
                let origin = path.display().to_string();
                match cache_dir {
                    Some(dir) => schema::Schema::parse_cached(&text, &origin, dir)?,
                    None => schema::Schema::parse(&text, &origin)?,
                }
            }
            None => schema::Schema::default(),
        };
        let actions_path = self.actions.clone().or_else(|| {
            self.metadata
                .as_ref()
                .map(|m| m.join("actions.graphql"))
                .filter(|p| p.exists())
        });
        let yaml_path = self.actions_yaml.clone().or_else(|| {
            actions_path
                .as_ref()
                .map(|a| a.with_file_name("actions.yaml"))
                .filter(|p| p.exists())
        });
        let actions = match &actions_path {
            Some(path) => {
                let text = read(path, &mut inputs)?;
                let yaml = match &yaml_path {
                    Some(y) => Some((read(y, &mut inputs)?, y.display().to_string())),
                    None => None,
                };
                actions::Actions::parse(
                    &text,
                    &path.display().to_string(),
                    yaml.as_ref().map(|(t, o)| (t.as_str(), o.as_str())),
                )?
            }
            None => actions::Actions::default(),
        };
        schema.merge(&actions.types);
        let mut actions = actions;
        // Code-first actions a Rasura export wrote: their handlers' own types define them;
        // generating them would make `#[action]` demand the generated types instead.
        actions.actions.retain(|a| !a.code_first);
        if let Some(only) = &self.only_actions {
            for name in only {
                if !actions.actions.iter().any(|a| &a.name == name) {
                    return Err(Error::new(format!(
                        "only_actions: no action `{name}` in actions.graphql{}",
                        did_you_mean(name, actions.actions.iter().map(|a| a.name.as_str()))
                    )));
                }
            }
            actions.actions.retain(|a| only.contains(&a.name));
        }

        let tables = match &self.metadata {
            Some(dir) => {
                inputs.push(dir.clone());
                metadata::read_tables(dir)?
            }
            None => Vec::new(),
        };
        let has_event_tables =
            !self.event_tables.is_empty() || tables.iter().any(|t| !t.event_triggers.is_empty());
        if has_event_tables && self.schema.is_none() {
            return Err(Error::new(
                "event rows need the schema snapshot: add `.schema(\"…/schema.graphql\")` (the table's columns and types come from it)",
            ));
        }
        let rows = events::rows(&schema, &self.event_tables, &tables)?;

        let mappings = self.mappings(&schema)?;
        let mut documents = Vec::new();
        for path in &self.operations {
            for file in operation_files(path)? {
                let text = read(&file, &mut inputs)?;
                documents.push((file.display().to_string(), text));
            }
        }
        let ops = operations::Operations::parse(&schema, &documents)?;

        let emitted: BTreeSet<String> = if self.all {
            schema
                .types
                .keys()
                .filter(|n| !n.starts_with("__"))
                .cloned()
                .collect()
        } else {
            let mut roots: Vec<String> = Vec::new();
            for a in &actions.actions {
                roots.extend(a.field.args.iter().map(|x| x.ty.base().to_owned()));
                roots.push(a.field.ty.base().to_owned());
            }
            for r in &rows {
                roots.extend(
                    r.columns
                        .iter()
                        .filter(|c| !c.as_string)
                        .map(|c| c.ty.base().to_owned()),
                );
            }
            roots.extend(ops.roots());
            emit::Emitter::closure(&schema, roots)
        };
        let emitter = emit::Emitter::new(&schema, &mappings, emitted);
        let types: Vec<String> = emitter
            .emitted
            .iter()
            .filter(|n| emitter.needs_code(n))
            .cloned()
            .collect();
        let types_module = emitter.types_module();
        let actions_module = emitter.actions_module(&actions);
        let events_module = emitter.events_module(&rows);
        let operations_module = ops.module(&emitter);
        let tokens = quote! {
            #types_module
            #actions_module
            #events_module
            #operations_module
        };
        let code = format_code(tokens)?;
        let module_path = self
            .module_path
            .clone()
            .unwrap_or_else(|| "crate::hasura".into());
        Ok(Generated {
            code,
            manifest: manifest(
                &module_path,
                &actions,
                events::tracked_tables(&schema, &tables, &rows),
            ),
            inputs,
            types,
        })
    }

    fn mappings(&self, schema: &schema::Schema) -> Result<emit::Mappings, Error> {
        let mut m = emit::Mappings::default();
        for (scalar, rust) in &self.scalars {
            let ty = parse_rust_type(rust, &format!("scalar `{scalar}`"))?;
            if !schema.types.contains_key(scalar) && known_scalar(scalar).is_none() {
                let scalars = schema
                    .types
                    .values()
                    .filter(|t| t.kind == schema::Kind::Scalar)
                    .map(|t| t.name.as_str());
                return Err(Error::new(format!(
                    "scalar override `{scalar}`: the schema has no such scalar{}",
                    did_you_mean(scalar, scalars)
                )));
            }
            m.scalars.insert(scalar.clone(), ty);
        }
        for (field, rust) in &self.fields {
            let ty = parse_rust_type(rust, &format!("field `{field}`"))?;
            let Some((t, f)) = field.split_once('.') else {
                return Err(Error::new(format!(
                    "field override `{field}`: expected `Type.field`"
                )));
            };
            let Some(def) = schema.get(t) else {
                return Err(Error::new(format!(
                    "field override `{field}`: the schema has no type `{t}`{}",
                    did_you_mean(t, schema.types.keys().map(String::as_str))
                )));
            };
            let names: Vec<&str> = def
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .chain(def.input_fields.iter().map(|f| f.name.as_str()))
                .collect();
            if !names.contains(&f) {
                return Err(Error::new(format!(
                    "field override `{field}`: `{t}` has no field `{f}`{}",
                    did_you_mean(f, names)
                )));
            }
            m.fields.insert(field.clone(), ty);
        }
        Ok(m)
    }
}

fn parse_rust_type(text: &str, what: &str) -> Result<syn::Type, Error> {
    syn::parse_str(text)
        .map_err(|e| Error::new(format!("{what}: `{text}` is not a Rust type: {e}")))
}

fn read(path: &Path, inputs: &mut Vec<PathBuf>) -> Result<String, Error> {
    inputs.push(path.to_owned());
    std::fs::read_to_string(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

fn operation_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    for entry in entries {
        let p = entry
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?
            .path();
        if p.is_dir() {
            out.extend(operation_files(&p)?);
        } else if p.extension().is_some_and(|e| e == "graphql" || e == "gql") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn write_if_changed(path: &Path, content: &str) -> Result<(), Error> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Formats generated tokens with `prettyplease`, under a header.
fn format_code(tokens: TokenStream) -> Result<String, Error> {
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| Error::new(format!("rasura-codegen produced invalid Rust (a bug): {e}")))?;
    Ok(format!(
        "// @generated by rasura-codegen {}: do not edit; regenerate from the schema and actions.\n\n{}",
        env!("CARGO_PKG_VERSION"),
        prettyplease::unparse(&file)
    ))
}

/// The action manifest (format owned by `rasura-manifest`): each action's name, kind and
/// marker, under the generated module's path.
fn manifest(
    module_path: &str,
    actions: &actions::Actions,
    tables: Vec<rasura_manifest::ManifestTable>,
) -> String {
    use rasura_manifest::{Manifest, ManifestAction, ManifestKind, ManifestType};
    let types = actions
        .types
        .types
        .values()
        .filter(|t| !t.name.starts_with("__"))
        .filter_map(|t| {
            let (kind, fields): (&str, Vec<(String, String)>) = match t.kind {
                schema::Kind::Object => (
                    "object",
                    t.fields
                        .iter()
                        .map(|f| (f.name.clone(), f.ty.to_string()))
                        .collect(),
                ),
                schema::Kind::InputObject => (
                    "input",
                    t.input_fields
                        .iter()
                        .map(|f| (f.name.clone(), f.ty.to_string()))
                        .collect(),
                ),
                schema::Kind::Enum => (
                    "enum",
                    t.values
                        .iter()
                        .map(|v| (v.name.clone(), String::new()))
                        .collect(),
                ),
                schema::Kind::Scalar => ("scalar", Vec::new()),
                _ => return None,
            };
            Some(ManifestType {
                name: t.name.clone(),
                kind: kind.to_owned(),
                fields,
            })
        })
        .collect();
    let markers = actions.markers();
    Manifest {
        module: module_path.to_owned(),
        actions: actions
            .actions
            .iter()
            .map(|a| ManifestAction {
                name: a.name.clone(),
                kind: match (a.action_type, a.asynchronous) {
                    (actions::ActionType::Query, _) => ManifestKind::Query,
                    (actions::ActionType::Mutation, Some(true)) => ManifestKind::Asynchronous,
                    (actions::ActionType::Mutation, Some(false)) => ManifestKind::Mutation,
                    (actions::ActionType::Mutation, None) => ManifestKind::MutationUnknown,
                },
                marker: markers[&a.name].to_string(),
            })
            .collect(),
        tables,
        types,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_picks_the_closest() {
        assert_eq!(
            did_you_mean("usr", ["user", "app"]),
            ", did you mean `user`?"
        );
        assert_eq!(did_you_mean("zzz", ["user", "app"]), "");
    }
}
