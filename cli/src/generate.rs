//! `rasura add action|event|cron|scheduled NAME`: a handler file with its test, registered in
//! `src/handlers/mod.rs`, and for actions the definition in `hasura/metadata/actions.graphql`
//! (appended as Hasura's console does, one `type Query`/`type Mutation` block per action; the
//! rest of the file is left byte for byte). Nothing is written until every check passed.

use std::path::{Path, PathBuf};

use graphql_parser::schema::{Definition, Type, TypeDefinition};

use rasura_codegen::actions::Actions;
use rasura_codegen::naming;

/// The project a generator edits: the crate root holding `src/handlers/mod.rs`.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

/// A file to write: its path and new contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The path, relative to the project.
    pub path: PathBuf,
    /// The whole new contents.
    pub contents: String,
}

const BUILTIN_SCALARS: &[&str] = &["String", "Int", "Float", "Boolean", "ID"];

/// A handler name: a Rust function, module and GraphQL field name at once.
pub fn validate_handler_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64;
    if !ok {
        return Err(format!(
            "invalid handler name `{}`: use snake_case (a-z, 0-9, `_`, starting with a letter, at most 64 characters): it names the Rust function, its module and the Hasura object",
            name.escape_default()
        ));
    }
    if crate::scaffold::validate_name(name).is_err() || name == "mod" {
        return Err(format!(
            "invalid handler name `{name}`: it is a Rust keyword or a reserved crate name"
        ));
    }
    Ok(())
}

impl Project {
    /// The project at `root`, checked to be a Rasura service made by `rasura new`.
    pub fn open(root: &Path) -> Result<Self, String> {
        let project = Self {
            root: root.to_owned(),
        };
        for needed in ["Cargo.toml", "src/handlers/mod.rs", "hasura/metadata"] {
            if !root.join(needed).exists() {
                return Err(format!(
                    "{} has no {needed}: run `rasura add` in a crate made by `rasura new` (or pass --dir)",
                    root.display()
                ));
            }
        }
        Ok(project)
    }

    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(self.root.join(path)).map_err(|e| format!("{path}: {e}"))
    }

    /// The edits registering a new handler module, after checking the name is free.
    fn handler_edits(&self, name: &str, file: String) -> Result<Vec<Edit>, String> {
        validate_handler_name(name)?;
        let path = format!("src/handlers/{name}.rs");
        if self.root.join(&path).exists() {
            return Err(format!("{path} exists: choose another name"));
        }
        let registry = self.read("src/handlers/mod.rs")?;
        Ok(vec![
            Edit {
                path: path.into(),
                contents: file,
            },
            Edit {
                path: "src/handlers/mod.rs".into(),
                contents: register_module(&registry, name)?,
            },
        ])
    }

    /// Writes `edits`: each through a temporary file and a rename.
    pub fn apply(&self, edits: &[Edit]) -> Result<(), String> {
        for edit in edits {
            let target = self.root.join(&edit.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let temporary = target.with_extension("rasura-tmp");
            std::fs::write(&temporary, &edit.contents)
                .and_then(|()| std::fs::rename(&temporary, &target))
                .map_err(|e| format!("{}: {e}", edit.path.display()))?;
        }
        Ok(())
    }

    /// `rasura add action`.
    pub fn add_action(&self, spec: &ActionSpec) -> Result<Vec<Edit>, String> {
        validate_handler_name(&spec.name)?;
        if spec.roles.is_empty() {
            return Err("--roles: give at least one role".into());
        }
        if let Some(bad) = spec.roles.iter().find(|r| {
            r.len() > 64
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }) {
            return Err(format!(
                "--roles: `{}` is not a Hasura role name (letters, digits, `_`, `-`)",
                bad.escape_default()
            ));
        }
        let sdl_path = "hasura/metadata/actions.graphql";
        let sdl = if self.root.join(sdl_path).exists() {
            self.read(sdl_path)?
        } else {
            String::new()
        };
        let existing = Actions::parse(&sdl, sdl_path, None).map_err(|e| e.to_string())?;
        if existing.actions.iter().any(|a| a.name == spec.name) {
            return Err(format!("{sdl_path} already defines action `{}`", spec.name));
        }
        let output = spec
            .output
            .clone()
            .unwrap_or_else(|| format!("{}Output", naming::pascal(&spec.name)));
        if !is_graphql_name(&output) || output.starts_with("__") {
            return Err(format!(
                "--output `{}` is not a GraphQL type name",
                output.escape_default()
            ));
        }
        if BUILTIN_SCALARS.contains(&output.as_str()) {
            return Err(format!(
                "--output {output}: a scalar; give an object type (created with `ok: Boolean!` when it does not exist)"
            ));
        }
        // Reused when `actions.graphql` defines it, else created with one field.
        let create_output = !existing.types.types.contains_key(&output);
        let root = if spec.query { "Query" } else { "Mutation" };
        let args = spec.args.trim();
        let field = if args.is_empty() {
            format!("  {}: {output}!", spec.name)
        } else {
            format!("  {}({args}): {output}!", spec.name)
        };
        // Checked alone first, so an error points at the arguments rather than the whole file.
        let block = format!("type {root} {{\n{field}\n}}\n");
        let parsed = graphql_parser::parse_schema::<String>(&block)
            .map_err(|e| format!("--args `{args}`: not GraphQL arguments ({e})"))?;
        let arguments = action_arguments(&parsed);
        let known_types: Vec<&str> = existing.types.types.keys().map(String::as_str).collect();
        let snapshot_scalars = self.snapshot_types();
        for (arg, ty) in &arguments {
            let named = base_type(ty);
            if !BUILTIN_SCALARS.contains(&named)
                && !known_types.contains(&named)
                && !snapshot_scalars.iter().any(|s| s == named)
            {
                let candidates: Vec<&str> = BUILTIN_SCALARS
                    .iter()
                    .copied()
                    .chain(known_types.iter().copied())
                    .chain(snapshot_scalars.iter().map(String::as_str))
                    .collect();
                let hint = rasura_manifest::did_you_mean(named, candidates.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "--args: argument `{arg}` has type `{named}`, which neither {sdl_path} nor the schema snapshot defines{hint}"
                ));
            }
        }
        let mut new_sdl = sdl.clone();
        if !new_sdl.is_empty() && !new_sdl.ends_with('\n') {
            new_sdl.push('\n');
        }
        if !new_sdl.trim().is_empty() {
            new_sdl.push('\n');
        }
        new_sdl.push_str(&block);
        if create_output {
            new_sdl.push_str(&format!("\ntype {output} {{\n  ok: Boolean!\n}}\n"));
        }
        // The whole file must still parse as actions (catches a clash with an existing name).
        let after = Actions::parse(&new_sdl, sdl_path, None).map_err(|e| e.to_string())?;
        let marker = after
            .markers()
            .get(&spec.name)
            .cloned()
            .unwrap_or_else(|| naming::pascal(&spec.name));
        let file = action_file(spec, &output, &marker, create_output, &arguments);
        let mut edits = self.handler_edits(&spec.name, file)?;
        edits.push(Edit {
            path: sdl_path.into(),
            contents: new_sdl,
        });
        Ok(edits)
    }

    /// The scalars and input types of the schema snapshot, when there is one.
    fn snapshot_types(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.root.join("hasura/schema.graphql")) else {
            return Vec::new();
        };
        let Ok(doc) = graphql_parser::parse_schema::<String>(&text) else {
            return Vec::new();
        };
        doc.definitions
            .iter()
            .filter_map(|d| match d {
                Definition::TypeDefinition(TypeDefinition::Scalar(s)) => Some(s.name.clone()),
                Definition::TypeDefinition(TypeDefinition::InputObject(i)) => Some(i.name.clone()),
                Definition::TypeDefinition(TypeDefinition::Enum(e)) => Some(e.name.clone()),
                _ => None,
            })
            .collect()
    }

    /// `rasura add event`.
    pub fn add_event(&self, spec: &EventSpec) -> Result<Vec<Edit>, String> {
        validate_handler_name(&spec.name)?;
        let (schema, table) = spec.table.split_once('.').ok_or_else(|| {
            format!(
                "--table `{}`: give it as schema.table, such as public.greeting",
                spec.table.escape_default()
            )
        })?;
        let tables = rasura_codegen::metadata::read_tables(&self.root.join("hasura/metadata"))
            .map_err(|e| e.to_string())?;
        if !tables
            .iter()
            .any(|t| t.schema == schema && t.table == table)
        {
            let names: Vec<String> = tables
                .iter()
                .map(|t| format!("{}.{}", t.schema, t.table))
                .collect();
            let hint = rasura_manifest::did_you_mean(&spec.table, names.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "; tracked: {}",
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    )
                });
            return Err(format!(
                "--table {}: not a table tracked in hasura/metadata{hint} (track it first: a migration, then `hasura metadata export`)",
                spec.table
            ));
        }
        let file = event_file(spec);
        self.handler_edits(&spec.name, file)
    }

    /// `rasura add cron`.
    pub fn add_cron(&self, name: &str, schedule: &str) -> Result<Vec<Edit>, String> {
        let fields = schedule.split_whitespace().count();
        if fields != 5
            || schedule
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            return Err(format!(
                "--schedule `{}`: Hasura's cron dialect has five fields (minute hour day month weekday, UTC), such as '0 3 * * *'",
                schedule.escape_default()
            ));
        }
        self.handler_edits(name, cron_file(name, schedule))
    }

    /// `rasura add scheduled`.
    pub fn add_scheduled(&self, name: &str) -> Result<Vec<Edit>, String> {
        self.handler_edits(name, scheduled_file(name))
    }
}

fn is_graphql_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `pub mod name;` added to the block of module declarations, in order (as rustfmt sorts it).
fn register_module(registry: &str, name: &str) -> Result<String, String> {
    let line = format!("pub mod {name};");
    if registry.lines().any(|l| l.trim() == line) {
        return Err(format!("src/handlers/mod.rs already declares `{name}`"));
    }
    let mut lines: Vec<&str> = registry.lines().collect();
    let position = lines
        .iter()
        .position(|l| {
            l.strip_prefix("pub mod ")
                .and_then(|rest| rest.strip_suffix(';'))
                .is_some_and(|existing| existing > name)
        })
        .or_else(|| {
            lines
                .iter()
                .rposition(|l| l.starts_with("pub mod "))
                .map(|i| i + 1)
        })
        .unwrap_or(lines.len());
    lines.insert(position, &line);
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

fn action_arguments(
    doc: &graphql_parser::schema::Document<'_, String>,
) -> Vec<(String, Type<'static, String>)> {
    let mut out = Vec::new();
    for definition in &doc.definitions {
        if let Definition::TypeDefinition(TypeDefinition::Object(object)) = definition {
            for field in &object.fields {
                for arg in &field.arguments {
                    out.push((arg.name.clone(), static_type(&arg.value_type)));
                }
            }
        }
    }
    out
}

fn static_type(ty: &Type<'_, String>) -> Type<'static, String> {
    match ty {
        Type::NamedType(n) => Type::NamedType(n.clone()),
        Type::ListType(inner) => Type::ListType(Box::new(static_type(inner))),
        Type::NonNullType(inner) => Type::NonNullType(Box::new(static_type(inner))),
    }
}

fn base_type<'a>(ty: &'a Type<'_, String>) -> &'a str {
    match ty {
        Type::NamedType(n) => n,
        Type::ListType(inner) | Type::NonNullType(inner) => base_type(inner),
    }
}

/// A JSON value of type `ty` for the generated test, when one is obvious.
fn sample(ty: &Type<'_, String>) -> Option<String> {
    let builtin = |name: &str| match name {
        "String" | "ID" => Some("\"text\"".to_owned()),
        "Int" => Some("1".to_owned()),
        "Float" => Some("1.5".to_owned()),
        "Boolean" => Some("true".to_owned()),
        _ => None,
    };
    match ty {
        Type::ListType(_) => Some("[]".into()),
        // A nullable custom type can be null; a required one has no obvious value.
        Type::NamedType(n) => builtin(n).or_else(|| Some("null".into())),
        Type::NonNullType(inner) => match &**inner {
            Type::NamedType(n) => builtin(n),
            other => sample(other),
        },
    }
}

/// `rasura add action`'s options.
#[derive(Debug, Clone)]
pub struct ActionSpec {
    /// The action's name.
    pub name: String,
    /// A query (else a mutation).
    pub query: bool,
    /// Its arguments, as GraphQL: `a: String!, b: Int`.
    pub args: String,
    /// Its output type (default `<Name>Output`).
    pub output: Option<String>,
    /// The roles allowed to call it.
    pub roles: Vec<String>,
}

/// `rasura add event`'s options.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The trigger's name.
    pub name: String,
    /// `schema.table`.
    pub table: String,
    /// Operations (insert when none is given).
    pub insert: bool,
    /// Updates.
    pub update: bool,
    /// Deletes.
    pub delete: bool,
}

fn roles_list(roles: &[String]) -> String {
    roles
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn action_file(
    spec: &ActionSpec,
    output: &str,
    marker: &str,
    created_output: bool,
    arguments: &[(String, Type<'static, String>)],
) -> String {
    let name = &spec.name;
    let kind = if spec.query { "query" } else { "mutation" };
    let roles = roles_list(&spec.roles);
    let first_role = spec.roles.first().map_or("user", String::as_str);
    let has_args = !arguments.is_empty();
    let args_type = format!("{marker}Args");
    let mut imports = String::new();
    imports.push_str("use rasura::{ActionError, Ctx, action};\n\n");
    if has_args {
        imports.push_str(&format!("use crate::hasura::actions::{args_type};\n"));
    }
    imports.push_str(&format!("use crate::hasura::types::{output};\n"));
    let signature = if has_args {
        format!(
            "pub async fn {name}(_ctx: Ctx, input: {args_type}) -> Result<{output}, ActionError> {{\n    let _ = input;\n"
        )
    } else {
        format!("pub async fn {name}(_ctx: Ctx) -> Result<{output}, ActionError> {{\n")
    };
    let body = if created_output {
        format!("    Ok({output} {{ ok: true }})\n")
    } else {
        format!(
            "    Err(ActionError::bad_request(\n        \"not-implemented\",\n        \"`{name}` is not implemented yet\",\n    ))\n"
        )
    };
    let samples: Option<Vec<String>> = arguments
        .iter()
        .map(|(arg, ty)| sample(ty).map(|v| format!("{arg:?}: {v}")))
        .collect();
    let input = match &samples {
        Some(pairs) => format!("json!({{{}}})", pairs.join(", ")),
        None => "json!({})".into(),
    };
    let answer_test = match (&samples, created_output) {
        (Some(_), true) => format!(
            r#"
    #[tokio::test]
    async fn answers() {{
        let res = hasura()
            .action("{name}")
            .role("{first_role}")
            .user_id("42")
            .input({input})
            .send()
            .await;
        res.assert_status(200);
        assert_eq!(res.json::<serde_json::Value>(), json!({{"ok": true}}));
    }}
"#
        ),
        (Some(_), false) => format!(
            r#"
    #[tokio::test]
    async fn is_not_implemented_yet() {{
        hasura()
            .action("{name}")
            .role("{first_role}")
            .user_id("42")
            .input({input})
            .send()
            .await
            .assert_error(400, "not-implemented");
    }}
"#
        ),
        (None, _) => String::new(),
    };
    format!(
        r#"//! `{name}`: a {kind} action, typed by `hasura/metadata/actions.graphql`.

{imports}
/// The `{name}` action (this comment becomes its comment in Hasura's metadata).
#[action({kind}, roles = [{roles}])]
{signature}{body}}}

#[cfg(test)]
mod tests {{
    use rasura::testing::TestService;
    use rasura::{{Service, handler}};
    use serde_json::json;

    fn hasura() -> TestService {{
        TestService::new(Service::with_handlers([handler!(super::{name})]))
    }}
{answer_test}
    #[tokio::test]
    async fn refuses_other_roles_and_forged_calls() {{
        let hasura = hasura();
        hasura
            .action("{name}")
            .role("not-a-role-of-{name}")
            .input({input})
            .send()
            .await
            .assert_status(403);
        hasura
            .action("{name}")
            .role("{first_role}")
            .secret("wrong")
            .input({input})
            .send()
            .await
            .assert_error(401, "access-denied");
    }}
}}
"#
    )
}

fn event_file(spec: &EventSpec) -> String {
    let name = &spec.name;
    let table = &spec.table;
    let (insert, update, delete) = if spec.insert || spec.update || spec.delete {
        (spec.insert, spec.update, spec.delete)
    } else {
        (true, false, false)
    };
    let ops: Vec<&str> = [("insert", insert), ("update", update), ("delete", delete)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(op, _)| *op)
        .collect();
    let (op, send) = match (insert, update) {
        (true, _) => ("insert", ".insert(json!({\"id\": 1}))"),
        (false, true) => ("update", ".update(json!({\"id\": 1}), json!({\"id\": 1}))"),
        (false, false) => ("delete", ".delete(json!({\"id\": 1}))"),
    };
    format!(
        r#"//! `{name}`: an event trigger on {ops_text} of `{table}`.

use rasura::{{Ctx, Event, EventError, Operation, event}};

/// Runs for each {ops_text} of `{table}` (Hasura retries it until it answers 2xx).
// The row is JSON until the trigger is in the metadata: after
// `cargo run -- metadata export --dir hasura/metadata`, the build generates the table's row
// type, and `Event<crate::hasura::events::…Row>` types it.
#[event(table = "{table}", {ops_list})]
pub async fn {name}(_ctx: Ctx, event: Event<serde_json::Value>) -> Result<(), EventError> {{
    match event.operation {{
        Operation::Insert {{ new }} => tracing::info!(%new, "inserted"),
        Operation::Update {{ old, new }} => tracing::info!(%old, %new, "updated"),
        Operation::Delete {{ old }} => tracing::info!(%old, "deleted"),
        Operation::Manual {{ new }} => tracing::info!(%new, "invoked from the console"),
    }}
    Ok(())
}}

#[cfg(test)]
mod tests {{
    use rasura::testing::TestService;
    use rasura::{{Service, handler}};
    use serde_json::json;

    #[tokio::test]
    async fn acknowledges_{op}s() {{
        let hasura = TestService::new(Service::with_handlers([handler!(super::{name})]));
        hasura
            .event("{name}")
            .table("{table}")
            {send}
            .send()
            .await
            .assert_status(200);
        hasura
            .event("{name}")
            .table("{table}")
            {send}
            .secret("wrong")
            .send()
            .await
            .assert_error(401, "access-denied");
    }}
}}
"#,
        ops_text = ops
            .join(", ")
            .replace("insert", "inserts")
            .replace("update", "updates")
            .replace("delete", "deletes"),
        ops_list = ops.join(", "),
    )
}

fn cron_file(name: &str, schedule: &str) -> String {
    format!(
        r#"//! `{name}`: a cron trigger, `{schedule}` (UTC).

use rasura::{{Cron, Ctx, EventError, cron}};

/// The `{name}` cron trigger (this comment becomes its comment in Hasura's metadata).
// Hasura's cron dialect: five fields, UTC, 0 = Sunday.
#[cron(schedule = "{schedule}")]
pub async fn {name}(_ctx: Ctx, tick: Cron) -> Result<(), EventError> {{
    tracing::info!(scheduled_time = %tick.scheduled_time, "{name}");
    Ok(())
}}

#[cfg(test)]
mod tests {{
    use rasura::testing::TestService;
    use rasura::{{Service, handler}};

    #[tokio::test]
    async fn runs_on_schedule() {{
        let hasura = TestService::new(Service::with_handlers([handler!(super::{name})]));
        hasura.cron("{name}").send().await.assert_status(200);
        hasura
            .cron("{name}")
            .secret("wrong")
            .send()
            .await
            .assert_error(401, "access-denied");
    }}
}}
"#
    )
}

fn scheduled_file(name: &str) -> String {
    let payload = format!("{}Payload", naming::pascal(name));
    format!(
        r#"//! `{name}`: a one-off scheduled event, created with
//! `ctx.scheduler()?.schedule::<{marker}>(at, &{payload} {{ … }})`.

use rasura::{{Ctx, EventError, Scheduled, scheduled}};
use serde::{{Deserialize, Serialize}};

/// What `{name}` is scheduled with.
#[derive(Debug, Serialize, Deserialize)]
pub struct {payload} {{
    /// A message for the handler.
    pub message: String,
}}

/// Runs when a `{name}` event falls due (Hasura retries it until it answers 2xx).
#[scheduled(name = "{name}", retry(num_retries = 3))]
pub async fn {name}(_ctx: Ctx, event: Scheduled<{payload}>) -> Result<(), EventError> {{
    tracing::info!(event_id = %event.id, message = %event.payload.message, "{name}");
    Ok(())
}}

#[cfg(test)]
mod tests {{
    use rasura::testing::TestService;
    use rasura::{{Service, handler}};
    use serde_json::json;

    #[tokio::test]
    async fn runs_when_due() {{
        let hasura = TestService::new(Service::with_handlers([handler!(super::{name})]));
        hasura
            .scheduled("{name}")
            .payload(json!({{"message": "hi"}}))
            .send()
            .await
            .assert_status(200);
        // A payload that is not a {payload} is refused for good: 4xx, no Retry-After.
        let res = hasura
            .scheduled("{name}")
            .payload(json!({{"message": 7}}))
            .send()
            .await;
        assert!(res.status.is_client_error());
        assert!(res.header("retry-after").is_none());
    }}
}}
"#,
        marker = naming::pascal(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_registered_in_order_once() {
        let registry = "//! Handlers.\n\npub mod b;\npub mod d;\n";
        assert_eq!(
            register_module(registry, "c").unwrap(),
            "//! Handlers.\n\npub mod b;\npub mod c;\npub mod d;\n"
        );
        assert_eq!(
            register_module(registry, "z").unwrap(),
            "//! Handlers.\n\npub mod b;\npub mod d;\npub mod z;\n"
        );
        assert_eq!(
            register_module(registry, "a").unwrap(),
            "//! Handlers.\n\npub mod a;\npub mod b;\npub mod d;\n"
        );
        assert!(register_module(registry, "b").is_err());
    }

    #[test]
    fn samples_exist_only_for_obvious_values() {
        let arg_type = |text: &str| {
            let sdl = format!("type Query {{ f(a: {text}): T }}");
            let doc = graphql_parser::parse_schema::<String>(&sdl).unwrap();
            action_arguments(&doc).remove(0).1
        };
        assert_eq!(sample(&arg_type("String!")).as_deref(), Some("\"text\""));
        assert_eq!(sample(&arg_type("Int")).as_deref(), Some("1"));
        assert_eq!(sample(&arg_type("uuid")).as_deref(), Some("null"));
        assert_eq!(sample(&arg_type("uuid!")), None);
        assert_eq!(sample(&arg_type("[uuid!]!")).as_deref(), Some("[]"));
    }

    #[test]
    fn handler_names_are_snake_case_rust_and_graphql_names() {
        assert!(validate_handler_name("create_order").is_ok());
        for bad in ["CreateOrder", "2x", "_x", "a-b", "self", "mod", "", "ä"] {
            assert!(validate_handler_name(bad).is_err(), "{bad}");
        }
    }
}
