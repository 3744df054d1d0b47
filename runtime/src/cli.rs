//! The service binary is also its CLI: `serve` (default) and `routes`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::registry::{Columns, Handler, HandlerKind, OperationSpec};
use crate::service::{Service, StartupError, serve_until_signal};

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
            print!("{}", routes_table(&service.handlers()));
            ExitCode::SUCCESS
        }
        Command::Serve => match serve(service).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

async fn serve(service: Service) -> Result<(), StartupError> {
    let mut config = service.load_config()?;
    crate::telemetry::init(&config);
    let grace = config.shutdown_timeout;
    let count = service.handlers().len();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(StartupError::Io)?;
    let local = listener.local_addr().map_err(StartupError::Io)?;
    config.listen = local;
    let router = service.start_with(config).await?;
    let shutdown = crate::service::shutdown_signal();
    tracing::info!(address = %local, handlers = count, "rasura listening");
    serve_until_signal(listener, router, grace, shutdown)
        .await
        .map_err(StartupError::Io)?;
    tracing::info!("stopped");
    Ok(())
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
pub(crate) fn routes_table(handlers: &[&'static Handler]) -> String {
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
                (
                    roles.join(","),
                    requires,
                    format!(
                        "{kind}; input {}; output {}; {}",
                        a.input_type,
                        a.output_type,
                        if a.definition.is_some() {
                            "checked against actions.graphql"
                        } else {
                            "unchecked (no codegen)"
                        }
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
                    format!("{}:{}.{} {}", e.source, e.schema, e.table, ops.join(" ")),
                )
            }
            HandlerKind::Cron(c) => (
                "-".into(),
                "webhook secret",
                format!("schedule `{}` (UTC)", c.schedule),
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
