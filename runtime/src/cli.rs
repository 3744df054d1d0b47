//! The service binary is also its CLI: `serve` (default), `routes`,
//! `metadata export|diff|apply`, `migrations export`, `keys generate` and
//! `dead-letters list|show|replay|drop`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Secret;
use crate::metadata::sync::{self, MetadataClient};
use crate::metadata::{Declared, ExportOptions, default_service_name};
use crate::registry::{Columns, Handler, HandlerKind, OperationSpec};
use crate::service::{Service, StartupError};

#[derive(Parser)]
#[command(about = "A Rasura service: Hasura actions, event triggers and cron triggers")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the handlers over HTTP (the default).
    Serve,
    /// Print a table of every handler: kind, name, route, roles and what it requires.
    Routes,
    /// Hasura metadata from the handlers: export it, compare it with Hasura, apply it.
    #[command(subcommand)]
    Metadata(MetadataCommand),
    /// The framework's own tables (rasura_auth, …): write them as Hasura CLI migrations.
    #[command(subcommand)]
    Migrations(MigrationsCommand),
    /// Signing keys for issued tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Development tokens for this service's JWT configuration.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// Check the configuration without serving: secrets, JWT, database, Redis, Hasura, metadata
    /// drift, base URL. One line per check; exit status 1 on any error.
    Doctor,
    /// Ask a running service's /healthz (for a container HEALTHCHECK without a shell or curl):
    /// exit status 0 when it answers 200, else 1.
    Healthcheck {
        /// The URL to ask [default: http://<RASURA_LISTEN>/healthz, loopback for 0.0.0.0].
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 2)]
        timeout: u64,
    },
    /// Deliveries whose last attempt failed in a `dead_letter` handler (rasura.dead_letter;
    /// needs DATABASE_URL). IDs are delivery ids.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLettersCommand),
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// One line per dead letter, oldest first, starting with its id.
    List {
        /// Only this handler's.
        #[arg(long)]
        handler: Option<String>,
    },
    /// One dead letter in full (JSON), with Hasura's request body.
    Show {
        /// The delivery id.
        id: String,
    },
    /// Runs the handler again with the stored body (past `once`); on success records the
    /// delivery as processed and deletes the letter.
    Replay {
        /// The delivery id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter (of --handler, if given), oldest first.
        #[arg(long)]
        all: bool,
        /// With --all: only this handler's.
        #[arg(long, requires = "all")]
        handler: Option<String>,
    },
    /// Deletes a dead letter without replaying it.
    Drop {
        /// The delivery id.
        id: String,
    },
}

#[derive(Subcommand)]
enum MigrationsCommand {
    /// Write Rasura's migrations into a Hasura CLI migrations directory (each `up.sql` records
    /// its version, so the service applies nothing twice).
    Export {
        /// For example `hasura/migrations/default`.
        #[arg(long)]
        dir: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum JwtCommand {
    /// Print a token (alone, on one line) valid for HASURA_GRAPHQL_JWT_SECRET: signed with its
    /// HMAC key, or with the service's own key (RASURA_TOKEN_KEYS) when its jwk_url is the
    /// service's JWK set.
    Mint {
        /// x-hasura-default-role.
        #[arg(long)]
        role: String,
        /// x-hasura-user-id (and `sub`).
        #[arg(long)]
        user_id: Option<String>,
        /// x-hasura-allowed-roles, comma-separated (default: the role alone).
        #[arg(long, value_delimiter = ',')]
        allowed_roles: Vec<String>,
        /// Extra x-hasura-* claims, as a JSON object: '{"x-hasura-org-id": "7"}'.
        #[arg(long)]
        claims: Option<String>,
        /// How long it is valid: 90s, 15m, 1h (the default), 7d.
        #[arg(long, default_value = "1h")]
        lifetime: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new private JWK (put it in RASURA_TOKEN_KEYS' `keys` array).
    Generate {
        /// EdDSA (Ed25519, the default), ES256 or HS256.
        #[arg(long, default_value = "EdDSA")]
        alg: String,
        /// The key id published in the JWK set and in issued tokens' headers.
        #[arg(long)]
        kid: String,
    },
}

#[derive(Subcommand)]
enum MetadataCommand {
    /// Print the metadata the handlers declare (JSON), write it into a Hasura CLI metadata
    /// directory (--dir), or print the `bulk` request `apply` would send (--json).
    Export {
        /// A Hasura CLI metadata directory (config v3) to merge this service's objects into.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Print the exact `bulk` request `apply` would send (against the live metadata when
        /// HASURA_GRAPHQL_ENDPOINT is set, else against an empty Hasura).
        #[arg(long, conflicts_with = "dir")]
        json: bool,
        #[command(flatten)]
        common: MetadataArgs,
    },
    /// Compare the live metadata with the code and print what `apply` would change.
    Diff {
        /// Exit with status 1 when Hasura differs from the code (for CI).
        #[arg(long)]
        check: bool,
        /// Also list this service's objects that the code no longer declares as removals.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        common: MetadataArgs,
    },
    /// Apply the difference in one atomic `bulk` (with the live resource_version).
    Apply {
        /// Also drop this service's objects that the code no longer declares.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        common: MetadataArgs,
    },
}

#[derive(clap::Args)]
struct MetadataArgs {
    /// This service's name, marked on its objects (header X-Rasura-Service) [default: the
    /// handlers' crate name].
    #[arg(long, env = "RASURA_SERVICE_NAME")]
    service: Option<String>,
    /// The variable holding this service's base URL in Hasura's environment.
    #[arg(long, env = "RASURA_BASE_URL_ENV", default_value = "RASURA_BASE_URL")]
    base_url_env: String,
}

pub(crate) async fn run(service: Service) -> ExitCode {
    // An absent .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("error: .env: {e}");
            return ExitCode::from(2);
        }
    }
    let cli = match Cli::try_parse() {
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
    match cli.command.unwrap_or(Command::Serve) {
        Command::Routes => {
            let handlers = service.handlers();
            if let Some(duplicate) = crate::metadata::duplicate_handler(&handlers) {
                eprintln!("error: {duplicate}");
                return ExitCode::from(1);
            }
            print!("{}", routes_table(&handlers));
            ExitCode::SUCCESS
        }
        Command::Metadata(command) => match metadata(&service, command).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Migrations(MigrationsCommand::Export { dir }) => {
            match crate::migrations::export(&dir, crate::migrations::MIGRATIONS) {
                Ok(written) => {
                    for path in written {
                        println!("wrote {}", path.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", dir.display());
                    ExitCode::from(1)
                }
            }
        }
        Command::Jwt(JwtCommand::Mint {
            role,
            user_id,
            allowed_roles,
            claims,
            lifetime,
        }) => match mint(role, user_id, allowed_roles, claims, &lifetime).await {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Keys(KeysCommand::Generate { alg, kid }) => {
            let key = crate::auth::SigningAlgorithm::parse(&alg)
                .and_then(|alg| crate::auth::SigningKey::generate(alg, &kid));
            match key {
                Ok(jwk) => {
                    println!("{jwk}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: --alg: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::DeadLetters(command) => match dead_letters(&service, command).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Doctor => {
            let handlers = service.handlers();
            let checks = crate::doctor::Doctor::new(
                &handlers,
                |name| std::env::var(name).ok(),
                service.uses_development_defaults(),
            )
            .run()
            .await;
            crate::doctor::print(&checks)
        }
        Command::Healthcheck { url, timeout } => healthcheck(url, timeout).await,
        Command::Serve => match serve(service).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

async fn dead_letters(service: &Service, command: DeadLettersCommand) -> Result<ExitCode, String> {
    use crate::dead_letters;
    let config = service.load_config().map_err(|e| e.to_string())?;
    let url = config.database_url.clone().ok_or_else(|| {
        "DATABASE_URL is not set: dead letters live in rasura.dead_letter".to_owned()
    })?;
    let pool = crate::db::connect(&url, 2)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    dead_letters::prepare(&pool)
        .await
        .map_err(|e| format!("preparing rasura.dead_letter: {e}"))?;
    let missing = |id: &str| format!("no dead letter with id `{id}`");
    match command {
        DeadLettersCommand::List { handler } => {
            let letters = dead_letters::list(&pool, handler.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            for letter in &letters {
                println!("{}", dead_letters::summary(letter));
            }
            if letters.is_empty() {
                eprintln!("no dead letters");
            }
            Ok(ExitCode::SUCCESS)
        }
        DeadLettersCommand::Show { id } => {
            let letter = dead_letters::get(&pool, &id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| missing(&id))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&letter).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        DeadLettersCommand::Drop { id } => {
            if !dead_letters::remove(&pool, &id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(missing(&id));
            }
            println!("dropped {id}");
            Ok(ExitCode::SUCCESS)
        }
        DeadLettersCommand::Replay { id, all, handler } => {
            let letters = match id {
                Some(id) => vec![
                    dead_letters::get(&pool, &id)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| missing(&id))?,
                ],
                None if all => dead_letters::list(&pool, handler.as_deref())
                    .await
                    .map_err(|e| e.to_string())?,
                None => return Err("give a delivery id or --all".into()),
            };
            crate::telemetry::init(&config);
            let serving = service
                .start_serving(config)
                .await
                .map_err(|e| e.to_string())?;
            let (router, audit) = (serving.dispatch.router().clone(), serving.audit);
            let handlers = service.handlers();
            let mut failed = 0usize;
            for letter in &letters {
                match dead_letters::replay(&router, &handlers, letter).await {
                    Ok(()) => println!("replayed {}", letter.id),
                    Err(e) => {
                        failed += 1;
                        println!("failed {}: {e}", letter.id);
                    }
                }
            }
            audit.flush(crate::service::AUDIT_FLUSH_TIMEOUT).await;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// `healthcheck`: GET the service's `/healthz`; 0 when it answers 200.
async fn healthcheck(url: Option<String>, timeout: u64) -> ExitCode {
    let url = match url {
        Some(url) => url,
        None => {
            let listen = std::env::var(crate::config::LISTEN)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| crate::config::DEFAULT_LISTEN.to_owned());
            let Ok(mut addr) = listen.trim().parse::<std::net::SocketAddr>() else {
                eprintln!(
                    "error: {}: not an address such as 0.0.0.0:3300",
                    crate::config::LISTEN
                );
                return ExitCode::from(1);
            };
            // A wildcard listener is reached on loopback.
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            format!("http://{addr}/healthz")
        }
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout.max(1)))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match client.get(&url).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("unhealthy: {url} answered HTTP {}", r.status().as_u16());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {}", e.without_url());
            ExitCode::from(1)
        }
    }
}

async fn serve(service: Service) -> Result<(), StartupError> {
    let mut config = service.load_config()?;
    crate::telemetry::init(&config);
    let grace = config.shutdown_timeout;
    let limits = crate::server::Limits::of(&config);
    let count = service.handlers().len();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(StartupError::Io)?;
    let local = listener.local_addr().map_err(StartupError::Io)?;
    config.listen = local;
    let serving = service.start_serving(config).await?;
    serving.spawn_metrics_listener().await?;
    let shutdown = crate::service::shutdown_signal();
    if count == 0 {
        tracing::warn!("{NO_HANDLERS}");
    }
    tracing::info!(address = %local, handlers = count, "rasura listening");
    let served = crate::server::serve(listener, serving.dispatch, limits, grace, shutdown)
        .await
        .map_err(StartupError::Io);
    // Queued audit events are written before the process exits.
    serving
        .audit
        .flush(crate::service::AUDIT_FLUSH_TIMEOUT)
        .await;
    // Queued spans are exported too (`otel`; the exporter blocks).
    tokio::task::spawn_blocking(crate::telemetry::flush)
        .await
        .ok();
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Hasura's metadata API, from `HASURA_GRAPHQL_ENDPOINT` and `HASURA_GRAPHQL_ADMIN_SECRET`.
fn metadata_client() -> Result<Option<MetadataClient>, String> {
    let Some(endpoint) = std::env::var(crate::config::HASURA_ENDPOINT)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let endpoint = url::Url::parse(endpoint.trim())
        .map_err(|_| format!("{}: not a URL", crate::config::HASURA_ENDPOINT))?;
    let secret = std::env::var(crate::config::ADMIN_SECRET)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|s| Secret::new(s.trim()));
    Ok(Some(
        MetadataClient::new(reqwest::Client::new(), &endpoint, secret)
            .with_trace(crate::trace::TraceContext::new_root()),
    ))
}

fn need_client() -> Result<MetadataClient, String> {
    metadata_client()?.ok_or_else(|| {
        format!(
            "{} is not set: diff and apply read Hasura's live metadata",
            crate::config::HASURA_ENDPOINT
        )
    })
}

async fn metadata(service: &Service, command: MetadataCommand) -> Result<ExitCode, String> {
    let handlers = service.handlers();
    let options = |common: &MetadataArgs| {
        ExportOptions::new(
            common
                .service
                .clone()
                .unwrap_or_else(|| default_service_name(&handlers)),
        )
        .base_url_env(common.base_url_env.clone())
    };
    match command {
        MetadataCommand::Export { dir, json, common } => {
            let options = options(&common);
            let declared =
                Declared::from_handlers(&handlers, &options).map_err(|e| e.to_string())?;
            if let Some(dir) = dir {
                let report = crate::metadata::dir::export(&declared, &options, &dir)
                    .map_err(|e| e.to_string())?;
                if report.written.is_empty() {
                    println!("{} is up to date", dir.display());
                }
                for file in report.written {
                    println!("wrote {}", dir.join(file).display());
                }
            } else if json {
                let (live, version) = match metadata_client()? {
                    Some(client) => {
                        let live = client.export().await.map_err(|e| e.to_string())?;
                        (live.metadata, live.resource_version)
                    }
                    None => {
                        eprintln!(
                            "note: {} is not set: the request is planned against an empty Hasura",
                            crate::config::HASURA_ENDPOINT
                        );
                        (serde_json::json!({}), 0)
                    }
                };
                let plan = sync::plan(&declared, &live, &options, false);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plan.bulk(version)).unwrap_or_default()
                );
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&declared.to_json()).unwrap_or_default()
                );
            }
            Ok(report_skipped(&declared))
        }
        MetadataCommand::Diff {
            check,
            prune,
            common,
        } => {
            let (plan, _, _) = plan_against_live(&handlers, &options(&common), prune).await?;
            print_plan(&plan);
            Ok(if check && !plan.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        MetadataCommand::Apply { prune, common } => {
            let (plan, client, version) =
                plan_against_live(&handlers, &options(&common), prune).await?;
            print_plan(&plan);
            if plan.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            client
                .apply(&plan, version)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "applied {} operation(s) in one bulk (trace {})",
                plan.operations.len(),
                client.trace().map_or("-", |t| t.trace_id())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `jwt mint`, from the environment (and `.env`).
async fn mint(
    role: String,
    user_id: Option<String>,
    allowed_roles: Vec<String>,
    claims: Option<String>,
    lifetime: &str,
) -> Result<String, String> {
    use crate::security::mint;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let secret = env(crate::config::JWT_SECRET).ok_or_else(|| {
        format!(
            "{} is not set: `jwt mint` signs for the service's JWT configuration",
            crate::config::JWT_SECRET
        )
    })?;
    let request = mint::MintRequest {
        role,
        user_id,
        allowed_roles: allowed_roles
            .into_iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect(),
        claims: match claims {
            Some(text) => mint::parse_claims(&text)?,
            None => serde_json::Map::new(),
        },
        lifetime: mint::parse_lifetime(lifetime)?,
    };
    // The set `jwk_url` publishes, when it answers: it must hold the key that signs.
    let published = match serde_json::from_str::<serde_json::Value>(&secret)
        .ok()
        .and_then(|v| v["jwk_url"].as_str().map(str::to_owned))
    {
        Some(url) => {
            let fetched = async {
                reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(3))
                    .build()
                    .ok()?
                    .get(&url)
                    .send()
                    .await
                    .ok()?
                    .json::<serde_json::Value>()
                    .await
                    .ok()
            }
            .await;
            if fetched.is_none() {
                eprintln!(
                    "note: {url} did not answer: signed with the service's own key without confirming the set publishes it"
                );
            }
            fetched
        }
        None => None,
    };
    mint::mint(
        &secret,
        env(crate::auth::TOKEN_KEYS).as_deref(),
        env(crate::auth::TOKEN_SIGNING_KID)
            .as_deref()
            .map(str::trim),
        published.as_ref(),
        &request,
    )
}

/// Says on stderr what could not be exported, and why; exit status 1 if anything was
/// skipped (the rest was exported), so a CI notices.
fn report_skipped(declared: &Declared) -> ExitCode {
    for skipped in &declared.skipped {
        eprintln!("warning: {skipped}");
    }
    if declared.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The plan from the live metadata to the declared one, the client, and the live version.
async fn plan_against_live(
    handlers: &[&'static Handler],
    options: &ExportOptions,
    prune: bool,
) -> Result<(sync::Plan, MetadataClient, u64), String> {
    let declared = Declared::from_handlers(handlers, options).map_err(|e| e.to_string())?;
    // A partial plan with `--prune` could drop what was only left out: refuse instead.
    if !declared.skipped.is_empty() {
        report_skipped(&declared);
        return Err(format!(
            "{} object(s) cannot be exported (above): fix them before diffing or applying",
            declared.skipped.len()
        ));
    }
    let client = need_client()?;
    let live = client.export().await.map_err(|e| e.to_string())?;
    let plan = sync::plan(&declared, &live.metadata, options, prune);
    Ok((plan, client, live.resource_version))
}

fn print_plan(plan: &crate::metadata::sync::Plan) {
    if plan.changes.is_empty() {
        println!("Hasura matches the code: nothing to change");
    }
    for change in &plan.changes {
        println!("{change}");
    }
    for kept in &plan.kept {
        println!(
            "! {} {}: this service's, no longer in the code (kept; --prune drops it)",
            kept.object, kept.name
        );
    }
}

fn columns(c: &Columns) -> String {
    match c {
        Columns::All => "*".into(),
        Columns::Only(list) => list.join(","),
    }
}

fn operation(name: &str, op: &Option<OperationSpec>) -> Option<String> {
    op.as_ref()
        .map(|o| format!("{name}({})", columns(&o.columns)))
}

/// The `routes` table.
/// What to say when a binary links no handler: the usual cause is a `main.rs` that does not
/// use the library holding them, so the linker drops their registrations.
pub(crate) const NO_HANDLERS: &str = "no handlers are linked into this binary: if they live in \
    your library crate, add `use your_crate as _;` to main.rs (or call something from it) so the \
    linker keeps their registrations";

/// `; once; dead letters; backoff 10s..600s` for a delivery handler's options.
fn policy_details(policy: &crate::registry::DeliveryPolicy) -> String {
    let mut out = String::new();
    if policy.once {
        out.push_str("; once");
    }
    if policy.dead_letter {
        out.push_str("; dead letters");
    }
    if let crate::delivery::Backoff::Exponential { base_sec, max_sec } = policy.backoff {
        out.push_str(&format!("; backoff {base_sec}s..{max_sec}s"));
    }
    out
}

pub(crate) fn routes_table(handlers: &[&'static Handler]) -> String {
    if handlers.is_empty() {
        return format!("{NO_HANDLERS}\n");
    }
    let mut rows =
        vec![["KIND", "NAME", "ROUTE", "ROLES", "REQUIRES", "DETAILS"].map(String::from)];
    for h in handlers {
        let (roles, requires, details) = match &h.kind {
            HandlerKind::Action(a) => {
                let mut roles = vec!["admin"];
                roles.extend(a.roles.iter().filter(|r| **r != "admin"));
                let requires = if a.jwt {
                    "webhook secret, JWT"
                } else {
                    "webhook secret"
                };
                let kind = match (a.action_type, a.asynchronous) {
                    (crate::registry::ActionType::Query, _) => "query",
                    (_, true) => "mutation (async)",
                    (_, false) => "mutation",
                };
                let guards = if h.guards.is_empty() {
                    String::new()
                } else {
                    format!("; guards: {}", h.guards.len())
                };
                let rate = a.rate.map_or(String::new(), |r| {
                    format!(
                        "; rate {}/{}s burst {}",
                        r.count(),
                        r.period().as_secs(),
                        r.burst()
                    )
                });
                (
                    roles.join(","),
                    requires,
                    format!(
                        "{kind}; input {}; output {}; {}{rate}{guards}",
                        a.input_type,
                        a.output_type,
                        a.definition.source()
                    ),
                )
            }
            HandlerKind::Event(e) => {
                let ops: Vec<String> = [
                    operation("insert", &e.insert),
                    operation("update", &e.update),
                    operation("delete", &e.delete),
                ]
                .into_iter()
                .flatten()
                .chain(e.manual.then(|| "manual".to_string()))
                .collect();
                (
                    "-".into(),
                    "webhook secret",
                    format!(
                        "{}:{}.{} {}{}{}",
                        e.source,
                        e.schema,
                        e.table,
                        ops.join(" "),
                        e.concurrency
                            .map_or(String::new(), |n| format!("; concurrency {n}")),
                        policy_details(&e.policy),
                    ),
                )
            }
            HandlerKind::Cron(c) => (
                "-".into(),
                "webhook secret",
                format!(
                    "schedule `{}` (UTC){}",
                    c.schedule,
                    policy_details(&c.policy)
                ),
            ),
            HandlerKind::Scheduled(s) => (
                "-".into(),
                "webhook secret",
                format!(
                    "one-off; payload {}{}",
                    s.payload_type,
                    policy_details(&s.policy)
                ),
            ),
        };
        rows.push([
            h.kind_name().into(),
            h.name.into(),
            h.route(),
            roles,
            requires.into(),
            details,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_of_a_binary_without_handlers_names_the_likely_cause() {
        let table = routes_table(&[]);
        assert!(table.contains("no handlers are linked"), "{table}");
        assert!(table.contains("use your_crate as _;"), "{table}");
    }
}
