//! The `rasura` command (`cargo install --path cli`): `rasura new` (a service crate with its
//! Hasura project, local stack and deployment files), `rasura add` (handler generators),
//! `rasura codegen` (the `build.rs` generation, for inspection or a `--check` in CI) and
//! `rasura schema pull` (introspect a live Hasura into the committed snapshot, or `--check` that
//! the snapshot is current). The code generation itself is the `rasura-codegen` library.

pub mod generate;
pub mod scaffold;
pub mod template;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use rasura_codegen::schema::{self, Schema};
use rasura_codegen::{Config, Error};

/// Rasura's code generation and schema tools.
#[derive(Debug, Parser)]
#[command(name = "rasura", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a service crate: handlers with tests, its Hasura project, .env, compose.yaml,
    /// Dockerfile and Kubernetes files.
    New(NewArgs),
    /// Adds a handler to a crate made by `rasura new`: its file with a test, its module, and for
    /// actions its definition in hasura/metadata/actions.graphql.
    #[command(subcommand)]
    Add(AddCommand),
    /// Generates the Rust code `build.rs` would, into a file.
    Codegen(CodegenArgs),
    /// The schema snapshot.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

#[derive(Debug, Subcommand)]
enum AddCommand {
    /// An action (a mutation unless --query).
    Action {
        /// Its name (snake_case).
        name: String,
        /// A query instead of a mutation.
        #[arg(long)]
        query: bool,
        /// Its arguments, in GraphQL: 'sku: String!, quantity: Int'.
        #[arg(long, default_value = "")]
        args: String,
        /// Its output type [default: <Name>Output, created with `ok: Boolean!` unless
        /// actions.graphql defines it].
        #[arg(long)]
        output: Option<String>,
        /// The roles allowed to call it, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "user")]
        roles: Vec<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An event trigger on a tracked table.
    Event {
        /// Its name (snake_case).
        name: String,
        /// The table, schema.table.
        #[arg(long)]
        table: String,
        /// On inserts (the default when no operation is given).
        #[arg(long)]
        insert: bool,
        /// On updates.
        #[arg(long)]
        update: bool,
        /// On deletes.
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A cron trigger.
    Cron {
        /// Its name (snake_case).
        name: String,
        /// Hasura's cron schedule (five fields, UTC): '0 3 * * *'.
        #[arg(long)]
        schedule: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A one-off scheduled event's handler.
    Scheduled {
        /// Its name (snake_case).
        name: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Args)]
struct ProjectArgs {
    /// The crate to add to [default: the current directory].
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The crate name (also the service's name in Hasura's metadata, `-` read as `_`).
    name: String,
    /// Where to create it [default: ./NAME]; must not exist or be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Take Rasura from this checkout (the directory holding runtime/ and codegen/)
    /// [default: the checkout this CLI was built from].
    #[arg(long, conflicts_with = "rasura_git")]
    rasura_path: Option<PathBuf>,
    /// Take Rasura from this git repository.
    #[arg(long)]
    rasura_git: Option<String>,
    /// Identity: signup, login, refresh and logout with the service's own tokens and JWK set.
    #[arg(long)]
    auth: bool,
    /// Object storage: an upload action, a storage volume in compose.
    #[arg(long)]
    storage: bool,
    /// Redis: rate limits shared by every replica, a Redis service in compose.
    #[arg(long)]
    redis: bool,
    /// Hasura in auth-webhook mode (the service's /auth/webhook) instead of JWT mode; implies
    /// --auth.
    #[arg(long)]
    auth_webhook: bool,
}

#[derive(Debug, Args)]
struct CodegenArgs {
    /// The schema snapshot (introspection JSON or SDL).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Hasura's actions.graphql (an actions.yaml beside it is read too).
    #[arg(long)]
    actions: Option<PathBuf>,
    /// A Hasura metadata directory (actions and event triggers).
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// An operation document or a directory of them (repeatable).
    #[arg(long)]
    operations: Vec<PathBuf>,
    /// An event table, `schema.table` (repeatable).
    #[arg(long = "event-table")]
    event_tables: Vec<String>,
    /// A scalar mapping, `scalar=rust::Type` (repeatable).
    #[arg(long = "scalar", value_parser = parse_pair)]
    scalars: Vec<(String, String)>,
    /// A field mapping, `Type.field=rust::Type` (repeatable).
    #[arg(long = "field", value_parser = parse_pair)]
    fields: Vec<(String, String)>,
    /// Every named type, not only the reachable ones.
    #[arg(long)]
    all: bool,
    /// Where to write the code (`-` for standard output).
    #[arg(long)]
    out: PathBuf,
    /// Do not write: exit 1 when the file differs from what would be generated.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Introspects a live Hasura and writes the snapshot (SDL for `.graphql`, else JSON).
    Pull(PullArgs),
}

#[derive(Debug, Args)]
struct PullArgs {
    /// Hasura's base URL (`http://localhost:8080`); `/v1/graphql` is appended.
    #[arg(long, env = "HASURA_GRAPHQL_ENDPOINT")]
    endpoint: String,
    /// The admin secret.
    #[arg(long, env = "HASURA_GRAPHQL_ADMIN_SECRET", hide_env_values = true)]
    admin_secret: Option<String>,
    /// Introspect as this role (`x-hasura-role`): the schema that role sees.
    #[arg(long)]
    role: Option<String>,
    /// The snapshot file: `.graphql` writes SDL, anything else introspection JSON.
    #[arg(long)]
    out: PathBuf,
    /// Do not write: exit 1 when the live schema differs from the snapshot.
    #[arg(long)]
    check: bool,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .ok_or_else(|| format!("expected `name=rust::Type`, got `{s}`"))
}

/// Runs the command line `args` (the first item is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::New(args) => new(args).map_err(Error::new),
        Command::Add(command) => add(command).map_err(Error::new),
        Command::Codegen(args) => codegen(args),
        Command::Schema(SchemaCommand::Pull(args)) => pull(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn new(args: NewArgs) -> Result<ExitCode, String> {
    use scaffold::{NewProject, RasuraSource};
    let rasura = match (args.rasura_path, args.rasura_git) {
        (Some(path), _) => RasuraSource::path(&path)?,
        (None, Some(url)) => RasuraSource::Git(url),
        (None, None) => RasuraSource::built_from()?,
    };
    let project = NewProject {
        dir: args.dir.unwrap_or_else(|| PathBuf::from(&args.name)),
        name: args.name,
        rasura,
        auth: args.auth,
        storage: args.storage,
        redis: args.redis,
        auth_webhook: args.auth_webhook,
    };
    let files = project.create()?;
    println!(
        "created {} ({} files): a Rasura service with its Hasura project",
        project.dir.display(),
        files.len()
    );
    println!("\nnext:\n  cd {}", project.dir.display());
    println!("  cargo test            # the handlers' tests");
    println!("  cargo run -- routes   # what it serves");
    println!("  docker compose up -d  # Postgres, Hasura and the service (see README.md)");
    Ok(ExitCode::SUCCESS)
}

fn add(command: AddCommand) -> Result<ExitCode, String> {
    use generate::{ActionSpec, EventSpec, Project};
    let (project_dir, what) = match &command {
        AddCommand::Action { project, name, .. } => (&project.dir, format!("action `{name}`")),
        AddCommand::Event { project, name, .. } => (&project.dir, format!("event `{name}`")),
        AddCommand::Cron { project, name, .. } => (&project.dir, format!("cron `{name}`")),
        AddCommand::Scheduled { project, name } => {
            (&project.dir, format!("scheduled event `{name}`"))
        }
    };
    let project = Project::open(project_dir)?;
    let edits = match &command {
        AddCommand::Action {
            name,
            query,
            args,
            output,
            roles,
            ..
        } => project.add_action(&ActionSpec {
            name: name.clone(),
            query: *query,
            args: args.clone(),
            output: output.clone(),
            roles: roles
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
        })?,
        AddCommand::Event {
            name,
            table,
            insert,
            update,
            delete,
            ..
        } => project.add_event(&EventSpec {
            name: name.clone(),
            table: table.clone(),
            insert: *insert,
            update: *update,
            delete: *delete,
        })?,
        AddCommand::Cron { name, schedule, .. } => project.add_cron(name, schedule)?,
        AddCommand::Scheduled { name, .. } => project.add_scheduled(name)?,
    };
    project.apply(&edits)?;
    for edit in &edits {
        let path = project_dir.join(&edit.path);
        // Formatted as `cargo fmt` would (best effort: without rustfmt the file is still valid).
        if path.extension().is_some_and(|e| e == "rs") {
            let _ = std::process::Command::new("rustfmt")
                .args(["--edition", "2024"])
                .arg(&path)
                .stderr(std::process::Stdio::null())
                .status();
        }
        println!("wrote {}", path.display());
    }
    println!(
        "added {what}: `cargo test` runs its test; `cargo run -- metadata export --dir hasura/metadata` writes its Hasura metadata"
    );
    Ok(ExitCode::SUCCESS)
}

fn codegen(args: CodegenArgs) -> Result<ExitCode, Error> {
    let mut config = Config::new().all(args.all);
    if let Some(s) = args.schema {
        config = config.schema(s);
    }
    if let Some(a) = args.actions {
        config = config.actions(a);
    }
    if let Some(m) = args.metadata {
        config = config.metadata(m);
    }
    for o in args.operations {
        config = config.operations(o);
    }
    for t in args.event_tables {
        config = config.event_table(t);
    }
    for (s, t) in args.scalars {
        config = config.scalar(s, t);
    }
    for (f, t) in args.fields {
        config = config.field(f, t);
    }
    let generated = config.generate_to_string()?;
    write_or_check(&args.out, &generated.code, args.check, "rasura codegen")
}

fn write_or_check(
    out: &PathBuf,
    content: &str,
    check: bool,
    what: &str,
) -> Result<ExitCode, Error> {
    if out.as_os_str() == "-" {
        print!("{content}");
        return Ok(ExitCode::SUCCESS);
    }
    if check {
        let current = std::fs::read_to_string(out).unwrap_or_default();
        if current == content {
            eprintln!("{} is up to date", out.display());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{} is out of date: run `{what}` without --check to update it",
            out.display()
        );
        return Ok(ExitCode::from(1));
    }
    std::fs::write(out, content).map_err(|e| Error::new(format!("{}: {e}", out.display())))?;
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The standard introspection query (with descriptions, deprecations and default values).
pub const INTROSPECTION_QUERY: &str = r"query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description
  type { ...TypeRef }
  defaultValue
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";

/// `rasura schema pull` without writing: the snapshot (introspection JSON) of the Hasura at
/// `endpoint`, or the error `schema pull` prints (for tools and tests).
pub fn pull_to_string(
    endpoint: &str,
    admin_secret: Option<&str>,
    timeout_secs: u64,
) -> Result<String, Error> {
    let args = PullArgs {
        endpoint: endpoint.to_owned(),
        admin_secret: admin_secret.map(str::to_owned),
        role: None,
        out: PathBuf::from("schema.json"),
        check: false,
        timeout: timeout_secs,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the runtime: {e}")))?
        .block_on(introspect(&args))
}

fn pull(args: PullArgs) -> Result<ExitCode, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the runtime: {e}")))?;
    let snapshot = runtime.block_on(introspect(&args))?;
    write_or_check(&args.out, &snapshot, args.check, "rasura schema pull")
}

fn graphql_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/graphql") {
        base.to_owned()
    } else {
        format!("{base}/v1/graphql")
    }
}

/// Why a request got no answer, in words: refused, unresolved, timed out, TLS, or the chain of
/// causes.
fn why_unreachable(e: &reqwest::Error, timeout: u64) -> String {
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let chain = causes.join(": ");
    let lower = chain.to_ascii_lowercase();
    if e.is_timeout() {
        format!("no answer within {timeout} s (--timeout)")
    } else if lower.contains("connection refused") {
        "connection refused: nothing listens there (is Hasura running, and is the port right?)"
            .to_owned()
    } else if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        format!("the host name does not resolve ({chain})")
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("ssl")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
    {
        format!("TLS failed ({chain}); for a plain-HTTP Hasura use http://")
    } else if e.is_connect() {
        format!("cannot connect ({chain})")
    } else if chain.is_empty() {
        e.to_string()
    } else {
        format!("{e}: {chain}")
    }
}

async fn introspect(args: &PullArgs) -> Result<String, Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(|e| Error::new(format!("HTTP client: {e}")))?;
    let url = graphql_url(&args.endpoint);
    let mut request = client.post(&url).json(
        &serde_json::json!({"query": INTROSPECTION_QUERY, "operationName": "IntrospectionQuery"}),
    );
    if let Some(secret) = &args.admin_secret {
        request = request.header("x-hasura-admin-secret", secret);
    }
    if let Some(role) = &args.role {
        request = request.header("x-hasura-role", role);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Error::new(format!("{url}: {}", why_unreachable(&e, args.timeout))))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| {
        Error::new(format!(
            "{url}: HTTP {status}, the body did not arrive: {}",
            why_unreachable(&e, args.timeout)
        ))
    })?;
    let body: serde_json::Value = match serde_json::from_str(&text) {
        Ok(body) => body,
        Err(_) => {
            let start: String = text.chars().take(200).collect();
            return Err(Error::new(format!(
                "{url}: HTTP {status}, not a JSON response (is this Hasura's endpoint?): {start}"
            )));
        }
    };
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        // Hasura's own error body: {"error": "...", "code": "access-denied", "path": "$"}.
        let message = body
            .get("error")
            .or_else(|| body.pointer("/errors/0/message"))
            .and_then(|m| m.as_str())
            .unwrap_or("no message");
        let hint = if args.admin_secret.is_some() {
            "check --admin-secret (HASURA_GRAPHQL_ADMIN_SECRET)"
        } else {
            "pass --admin-secret (or HASURA_GRAPHQL_ADMIN_SECRET)"
        };
        return Err(Error::new(format!(
            "{url}: HTTP {status}: Hasura says \"{message}\"; {hint}"
        )));
    }
    if let Some(errors) = body.get("errors").and_then(|e| e.as_array()) {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| {
                let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("?");
                match e.pointer("/extensions/code").and_then(|c| c.as_str()) {
                    Some(code) => format!("{message} ({code})"),
                    None => message.to_owned(),
                }
            })
            .collect();
        // Hasura answers a wrong admin secret on /v1/graphql with HTTP 200 and this code.
        let denied = errors.iter().any(|e| {
            e.pointer("/extensions/code").and_then(|c| c.as_str()) == Some("access-denied")
        });
        let hint = match (denied, args.admin_secret.is_some()) {
            (false, _) => "",
            (true, true) => "; check --admin-secret (HASURA_GRAPHQL_ADMIN_SECRET)",
            (true, false) => "; pass --admin-secret (or HASURA_GRAPHQL_ADMIN_SECRET)",
        };
        return Err(Error::new(format!(
            "{url}: introspection failed: {}{hint}",
            messages.join("; ")
        )));
    }
    let Some(data) = body.get("data").filter(|d| d.get("__schema").is_some()) else {
        return Err(Error::new(format!(
            "{url}: HTTP {status}: no `data.__schema` in the response"
        )));
    };
    let mut data = data.clone();
    // Sorted types make the snapshot stable across Hasura restarts, so `--check` is meaningful.
    if let Some(types) = data
        .pointer_mut("/__schema/types")
        .and_then(|t| t.as_array_mut())
    {
        types.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    let json = serde_json::to_string_pretty(&data).map_err(|e| Error::new(e.to_string()))?;
    if args
        .out
        .extension()
        .is_some_and(|e| e == "graphql" || e == "gql")
    {
        let schema = Schema::from_introspection(&json, &url)?;
        Ok(print_schema(&schema))
    } else {
        Ok(json + "\n")
    }
}

/// The schema as SDL: the schema definition, then every type but the introspection ones, by
/// name.
pub fn print_schema(schema: &Schema) -> String {
    let mut out = String::from("schema {\n");
    for (op, root) in [
        ("query", &schema.query),
        ("mutation", &schema.mutation),
        ("subscription", &schema.subscription),
    ] {
        if let Some(root) = root {
            out.push_str(&format!("  {op}: {root}\n"));
        }
    }
    out.push_str("}\n");
    for def in schema.types.values() {
        if def.name.starts_with("__") || schema::BUILT_IN_SCALARS.contains(&def.name.as_str()) {
            continue;
        }
        out.push('\n');
        out.push_str(&schema::print_type(def));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_the_graphql_path_once() {
        assert_eq!(graphql_url("http://h:8080"), "http://h:8080/v1/graphql");
        assert_eq!(graphql_url("http://h:8080/"), "http://h:8080/v1/graphql");
        assert_eq!(graphql_url("http://h/v1/graphql"), "http://h/v1/graphql");
    }

    #[test]
    fn printed_sdl_parses_back_to_the_same_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/hasura-schemas/current-bench/graphql_schema.json"
        );
        let json = std::fs::read_to_string(path).unwrap();
        let schema = Schema::parse(&json, path).unwrap();
        let sdl = print_schema(&schema);
        let back = Schema::from_sdl(&sdl, "printed").unwrap();
        for (name, def) in &back.types {
            assert_eq!(schema.types.get(name), Some(def), "{name}");
        }
        assert_eq!(back.query, schema.query);
    }
}
