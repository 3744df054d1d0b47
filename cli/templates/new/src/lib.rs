//! __NAME__: a Rasura service behind Hasura. Each handler is a file in `handlers/`, registered by
//! its attribute (`#[action]`, `#[event]`, `#[cron]`); `hasura/` is the Hasura CLI project
//! (metadata, migrations and the schema snapshot the types are generated from).

// The types build.rs generated: `hasura::actions`, `hasura::types`, `hasura::events`.
rasura::include_generated!();

pub mod handlers;

/// The service: every handler linked into the binary, configured from the environment.
pub fn service() -> rasura::Service {
    rasura::Service::new()
}
