//! The service: registered handlers become axum routes behind Rasura's request pipeline
//! (webhook secret, body limit, parsing, JWT, roles, timeout, panic guard, span, request id).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};

use crate::config::{self, Config, ConfigError};
use crate::context::{REQUEST_ID_HEADER, RequestId, Shared, StateMap};
use crate::error::{Rejection, json_response};
use crate::pipeline::{self, App, DirectRoutes, Dispatch, Observer, Route};
use crate::registry::{self, EventSpec, Handler, HandlerKind};

/// Which handlers a service serves.
#[derive(Clone)]
enum HandlerSource {
    Registry,
    Explicit(Vec<&'static Handler>),
}

/// A Rasura service: the handlers linked into the binary (or an explicit list), served over HTTP
/// with Hasura's protocol.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     rasura::Service::new().run().await
/// }
/// ```
#[derive(Clone)]
pub struct Service {
    handlers: HandlerSource,
    config: Option<Config>,
    development_defaults: bool,
    state: StateMap,
    observers: Vec<Arc<dyn Observer>>,
    auth_mapping: Option<crate::auth::AuthMapping>,
    audit_sinks: Vec<Arc<dyn crate::audit::AuditSink>>,
    rate_store: Option<Arc<dyn crate::rate::RateLimitStore>>,
    principal_variables: crate::policy::PrincipalVariables,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field(
                "handlers",
                &self.handlers().iter().map(|h| h.name).collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .field("development_defaults", &self.development_defaults)
            .finish()
    }
}

impl Default for Service {
    fn default() -> Self {
        Self::new()
    }
}

impl Service {
    /// Every handler linked into the binary; configuration from the environment (strict: a
    /// missing webhook secret is a start-up error).
    pub fn new() -> Self {
        Self {
            handlers: HandlerSource::Registry,
            config: None,
            development_defaults: false,
            state: StateMap::default(),
            observers: Vec::new(),
            auth_mapping: None,
            audit_sinks: Vec::new(),
            rate_store: None,
            principal_variables: crate::policy::PrincipalVariables::new(),
        }
    }

    /// Like [`Service::new`], but generates missing secrets for local development and prints them
    /// once to stderr (outside the log stream) as ready-to-paste lines, with a development JWT.
    pub fn development_defaults() -> Self {
        Self {
            development_defaults: true,
            ..Self::new()
        }
    }

    /// Serves exactly these handlers instead of the registry (for tests); see
    /// [`crate::handler!`].
    pub fn with_handlers(handlers: impl IntoIterator<Item = &'static Handler>) -> Self {
        Self {
            handlers: HandlerSource::Explicit(handlers.into_iter().collect()),
            ..Self::new()
        }
    }

    /// Adds user state, built once and shared by every handler: `ctx.state::<T>()` returns it
    /// (one value per type; a second value of the same type replaces the first).
    ///
    /// ```no_run
    /// struct Prices { vat: f64 }
    /// # async fn run() {
    /// rasura::Service::new().with_state(Prices { vat: 0.2 }).run().await;
    /// # }
    /// ```
    pub fn with_state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// Adds an observer: it sees every answered webhook request (kind, handler, status,
    /// duration, request id), after the response is built. See [`pipeline::Observer`].
    pub fn with_observer(mut self, observer: impl Observer) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Adds an audit sink: it receives every audit event (see [`crate::audit`]), besides the
    /// `tracing` event under `rasura::audit` and the database (`RASURA_AUDIT_DATABASE`).
    pub fn with_audit_sink(mut self, sink: impl crate::audit::AuditSink) -> Self {
        self.audit_sinks.push(Arc::new(sink));
        self
    }

    /// Makes the session variable `variable` a policy principal of kind `kind`
    /// (`x-hasura-school-id: 7` → `school:7`), besides those of `RASURA_PRINCIPAL_VARIABLES`.
    ///
    /// # Panics
    /// When `variable` is not an `x-hasura-*` name or `kind` is not a valid, unreserved kind
    /// (`role`, `user`, `everyone` and `authenticated` are Rasura's): a mistake in the code,
    /// reported at start-up.
    pub fn with_principal_variable(mut self, variable: &str, kind: &str) -> Self {
        if let Err(e) = crate::policy::PrincipalVariables::parse(&format!("{variable}={kind}")) {
            panic!("Service::with_principal_variable: {e}");
        }
        self.principal_variables = self.principal_variables.with(variable, kind);
        self
    }

    /// Keeps rate-limit counters in `store` instead of memory or Redis
    /// (`RASURA_RATE_LIMIT_REDIS_URL`).
    pub fn with_rate_limit_store(mut self, store: impl crate::rate::RateLimitStore) -> Self {
        self.rate_store = Some(Arc::new(store));
        self
    }

    /// Maps verified tokens to sessions with your own rules in the auth webhook
    /// (`RASURA_AUTH_WEBHOOK`), instead of the `rasura_auth.role_mapping` table.
    ///
    /// ```no_run
    /// use rasura::auth::AuthSession;
    /// # async fn run() {
    /// rasura::Service::new()
    ///     .auth_webhook(async |_ctx, claims| {
    ///         let role = if claims.subject.ends_with("@example.com") { "staff" } else { "user" };
    ///         Ok(AuthSession::new(role, claims.subject))
    ///     })
    ///     .run()
    ///     .await;
    /// # }
    /// ```
    pub fn auth_webhook<F, Fut>(mut self, mapping: F) -> Self
    where
        F: Fn(crate::Ctx, crate::auth::webhook::WebhookClaims) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<crate::auth::AuthSession, crate::ActionError>> + Send + 'static,
    {
        self.auth_mapping = Some(Arc::new(move |ctx, claims| Box::pin(mapping(ctx, claims))));
        self
    }

    /// Uses this configuration instead of reading the environment.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Whether a configuration was given with [`Service::with_config`].
    #[cfg(feature = "testing")]
    pub fn has_config(&self) -> bool {
        self.config.is_some()
    }

    /// The handlers this service serves, sorted by kind and name.
    pub fn handlers(&self) -> Vec<&'static Handler> {
        match &self.handlers {
            HandlerSource::Registry => registry::registered(),
            HandlerSource::Explicit(list) => list.clone(),
        }
    }

    /// Whether unset secrets are generated at start-up ([`Service::development_defaults`]).
    pub fn uses_development_defaults(&self) -> bool {
        self.development_defaults
    }

    /// The configuration: the explicit one, or the environment's (with generated development
    /// secrets when asked for).
    pub fn load_config(&self) -> Result<Config, StartupError> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        if self.development_defaults {
            crate::devdefaults::load().map_err(StartupError::Config)
        } else {
            Config::from_env().map_err(StartupError::Config)
        }
    }

    /// Checks the handlers against each other and the configuration, and builds the router.
    /// The database pool, if configured, connects on first use; [`Service::start`] connects it
    /// now and fails when the database is unreachable.
    pub fn router(&self) -> Result<Router, StartupError> {
        Ok(self.dispatch()?.router().clone())
    }

    /// [`Service::router`] with the handlers' own routes answered directly, as `serve` does
    /// (for the test kit).
    pub(crate) fn dispatch(&self) -> Result<Dispatch, StartupError> {
        let config = self.load_config()?;
        let shared = self.build_shared(&config, None)?;
        build_dispatch(self.handlers(), config, shared, self.observers.clone())
    }

    /// Like [`Service::router`], but connects the database first: an unreachable database is a
    /// start-up error, not a failure of the first request.
    pub async fn start(&self) -> Result<Router, StartupError> {
        let config = self.load_config()?;
        self.start_with(config).await
    }

    /// [`Service::start`] with the handlers' own routes answered directly, as `serve` does
    /// (for the test kit).
    #[cfg(feature = "testing")]
    pub(crate) async fn start_dispatch(&self) -> Result<Dispatch, StartupError> {
        let config = self.load_config()?;
        Ok(self.start_serving(config).await?.dispatch)
    }

    pub(crate) async fn start_with(&self, config: Config) -> Result<Router, StartupError> {
        Ok(self.start_serving(config).await?.dispatch.router().clone())
    }

    /// [`Service::start_with`], also returning the audit trail to flush once serving stops.
    pub(crate) async fn start_serving(&self, config: Config) -> Result<Serving, StartupError> {
        let pool = match &config.database_url {
            Some(url) => Some(
                crate::db::connect(url, config.database_max_connections)
                    .await
                    .map_err(StartupError::Database)?,
            ),
            None => None,
        };
        if let Some(pool) = &pool {
            let mut needed = Vec::new();
            if config.identity.enabled() {
                needed.push(crate::migrations::AUTH);
            }
            if config.audit_database {
                needed.push(crate::migrations::AUDIT);
            }
            if !needed.is_empty() {
                crate::migrations::apply(pool, &needed)
                    .await
                    .map_err(StartupError::Migrations)?;
            }
        }
        let shared = self.build_shared(&config, pool)?;
        let audit = shared.audit.clone();
        let metrics = shared.metrics.clone();
        let metrics_listen = config.metrics_listen;
        let dispatch = build_dispatch(self.handlers(), config, shared, self.observers.clone())?;
        Ok(Serving {
            dispatch,
            audit,
            metrics,
            metrics_listen,
        })
    }

    fn build_shared(
        &self,
        config: &Config,
        pool: Option<sqlx::PgPool>,
    ) -> Result<Shared, StartupError> {
        let mut shared = build_shared_with(
            config,
            self.state.clone(),
            pool,
            self.auth_mapping.clone(),
            self.audit_sinks.clone(),
            self.rate_store.clone(),
        )?;
        for (variable, kind) in self.principal_variables.entries() {
            shared.principal_variables =
                std::mem::take(&mut shared.principal_variables).with(variable, kind);
        }
        Ok(shared)
    }

    /// Serves on `listener` until SIGTERM or Ctrl-C, then stops accepting connections and lets
    /// in-flight requests finish (up to the shutdown timeout).
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> Result<(), StartupError> {
        let mut config = self.load_config()?;
        // Links to `/files` use the address actually bound (the configured port may be 0).
        config.listen = listener.local_addr().map_err(StartupError::Io)?;
        let grace = config.shutdown_timeout;
        let limits = crate::server::Limits::of(&config);
        let serving = self.start_serving(config).await?;
        serving.spawn_metrics_listener().await?;
        let served =
            crate::server::serve(listener, serving.dispatch, limits, grace, shutdown_signal())
                .await
                .map_err(StartupError::Io);
        serving.audit.flush(AUDIT_FLUSH_TIMEOUT).await;
        served
    }

    /// The service binary's entry point: parses the command line (`serve`, the default,
    /// `routes` or `metadata export|diff|apply`), loads `.env` and the configuration, and runs. Errors are printed as one clear
    /// message, without a panic trace.
    pub async fn run(self) -> std::process::ExitCode {
        crate::cli::run(self).await
    }
}

/// A service ready to serve: its routes (router and direct), and what outlives the requests.
pub(crate) struct Serving {
    /// The router, and the handlers' own routes answered without it.
    pub(crate) dispatch: Dispatch,
    pub(crate) audit: crate::audit::Audit,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
}

impl Serving {
    /// With `RASURA_METRICS_LISTEN`, serves `GET /metrics` on that address (in the background,
    /// for the life of the process); the main router then has no `/metrics`.
    pub(crate) async fn spawn_metrics_listener(&self) -> Result<(), StartupError> {
        let Some(address) = self.metrics_listen else {
            return Ok(());
        };
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(StartupError::Io)?;
        let router = metrics_router(self.metrics.clone());
        tracing::info!(address = %address, "metrics listening");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        Ok(())
    }
}

/// How long a stopping service waits for its audit sinks to finish writing.
pub(crate) const AUDIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a service cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Missing or invalid settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Two handlers of the same kind share a name (the message `routes` and `metadata export`
    /// give too).
    #[error(transparent)]
    DuplicateHandler(crate::metadata::ExportError),
    /// `jwt` actions exist but `HASURA_GRAPHQL_JWT_SECRET` is not set.
    #[error(
        "invalid configuration (1 problem):\n  - {}: missing: the actions {} verify the caller's JWT",
        config::JWT_SECRET,
        actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingJwtConfig {
        /// The actions that verify JWTs.
        actions: Vec<&'static str>,
    },
    /// The database is unreachable or its URL is invalid.
    #[error("cannot start: {0}")]
    Database(#[source] crate::db::DatabaseError),
    /// The object storage cannot be opened.
    #[error("cannot start: {0} ({storage_url})", storage_url = config::STORAGE_URL)]
    Storage(#[source] crate::storage::StorageError),
    /// The framework's migrations could not be applied.
    #[error("cannot start: applying Rasura's migrations failed: {0}")]
    Migrations(#[source] sqlx::Error),
    /// The auth webhook maps roles from the database, but none is configured.
    #[error(
        "invalid configuration (1 problem):\n  - {}: `role_mapping` reads rasura_auth.role_mapping: set DATABASE_URL, set \"role_mapping\": false, or map roles with Service::auth_webhook",
        crate::auth::AUTH_WEBHOOK
    )]
    AuthWebhookNeedsDatabase,
    /// The listener failed.
    #[error("cannot serve: {0}")]
    Io(#[source] std::io::Error),
}

/// Builds the resources every handler shares, once: the HTTP client, the GraphQL client, the
/// database pool (connected already, or lazily when `pool` is `None`) and the object storage.
pub(crate) fn build_shared_with(
    config: &Config,
    state: StateMap,
    pool: Option<sqlx::PgPool>,
    auth_mapping: Option<crate::auth::AuthMapping>,
    audit_sinks: Vec<Arc<dyn crate::audit::AuditSink>>,
    rate_store: Option<Arc<dyn crate::rate::RateLimitStore>>,
) -> Result<Shared, StartupError> {
    if config
        .identity
        .webhook
        .as_ref()
        .is_some_and(|w| w.role_mapping)
        && auth_mapping.is_none()
        && config.database_url.is_none()
    {
        return Err(StartupError::AuthWebhookNeedsDatabase);
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(config.handler_timeout)
        .user_agent(concat!("rasura/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StartupError::Io(std::io::Error::other(e)))?;
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let graphql = config.hasura_endpoint.as_ref().map(|endpoint| {
        crate::graphql::GraphqlClient::new(
            http.clone(),
            endpoint,
            config.admin_secret.clone(),
            config.graphql_timeout,
        )
        .with_metrics(metrics.clone())
    });
    let metadata = config.hasura_endpoint.as_ref().map(|endpoint| {
        crate::metadata::sync::MetadataClient::new(
            http.clone(),
            endpoint,
            config.admin_secret.clone(),
        )
        // A scheduler call inside a handler is bounded like its GraphQL calls.
        .with_timeout(config.graphql_timeout)
    });
    let db = match (pool, &config.database_url) {
        (Some(pool), _) => Some(pool),
        (None, Some(url)) => Some(
            crate::db::connect_lazy(url, config.database_max_connections)
                .map_err(StartupError::Database)?,
        ),
        (None, None) => None,
    };
    let url_key = match &config.storage_signing_key {
        Some(key) => {
            use sha2::Digest;
            sha2::Sha256::digest(key.expose().as_bytes()).into()
        }
        None => config
            .webhook_secrets
            .derive_key("rasura storage URLs")
            .unwrap_or_else(rand::random),
    };
    let public_base = config.public_url.clone().unwrap_or_else(|| {
        url::Url::parse(&format!("http://{}", config.listen))
            .unwrap_or_else(|_| unreachable!("a socket address makes a valid URL"))
    });
    let storage = crate::storage::Storage::open(
        config.storage.clone(),
        url_key,
        public_base,
        config.upload_limit,
    )
    .map_err(StartupError::Storage)?;
    let mut audit_sinks = audit_sinks;
    if let (true, Some(pool)) = (config.audit_database, &db) {
        audit_sinks.push(Arc::new(crate::audit::postgres::PostgresAuditSink::new(
            pool.clone(),
        )));
    }
    let audit = crate::audit::Audit::new(audit_sinks);
    let rate_store = match rate_store {
        Some(store) => crate::rate::Store::Remote(store),
        None => crate::rate::RateLimiter::store_for(&config.rate_limit),
    };
    let rate = crate::rate::RateLimiter::new(rate_store, &config.rate_limit, audit.clone());
    Ok(Shared {
        http,
        graphql,
        db,
        storage: Some(storage),
        state,
        auth: Arc::new(crate::auth::AuthState::new(
            config.identity.clone(),
            auth_mapping,
        )),
        principal_variables: config.principal_variables.clone(),
        rate: Arc::new(rate),
        audit,
        deliveries_ready: tokio::sync::OnceCell::new(),
        connections: std::sync::OnceLock::new(),
        metrics,
        deliveries_pruned_at: std::sync::atomic::AtomicU64::new(0),
        delivery_retention: config.delivery_retention,
        metadata,
        base_url_env: config.base_url_env.clone(),
    })
}

/// `GET /metrics`: every metric of this service, OpenMetrics text, without the webhook secret
/// (keep it off the public network, or on its own listener with `RASURA_METRICS_LISTEN`).
pub(crate) fn metrics_router(metrics: Arc<crate::metrics::Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    StatusCode::OK,
                    [(http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
                    metrics.encode(),
                )
                    .into_response()
            }
        })
        .fallback(method_not_allowed),
    )
}

/// Validates the handler set and builds the router, and the handlers' own routes answered
/// without it.
pub(crate) fn build_dispatch(
    handlers: Vec<&'static Handler>,
    config: Config,
    shared: Shared,
    observers: Vec<Arc<dyn Observer>>,
) -> Result<Dispatch, StartupError> {
    if let Some(duplicate) = crate::metadata::duplicate_handler(&handlers) {
        return Err(StartupError::DuplicateHandler(duplicate));
    }
    let jwt_actions: Vec<_> = handlers
        .iter()
        .filter(|h| matches!(&h.kind, HandlerKind::Action(a) if a.jwt))
        .map(|h| h.name)
        .collect();
    if !jwt_actions.is_empty() && config.jwt.is_none() {
        return Err(StartupError::MissingJwtConfig {
            actions: jwt_actions,
        });
    }
    if config.webhook_secrets.is_empty() {
        return Err(StartupError::Config(ConfigError {
            problems: vec![config::Problem::new(
                config::WEBHOOK_SECRET,
                "missing: a service without a webhook secret does not start",
            )],
        }));
    }

    let actions = handlers
        .iter()
        .filter(|h| matches!(h.kind, HandlerKind::Action(_)))
        .map(|h| (h.name, *h))
        .collect();
    let concurrency = handlers
        .iter()
        .filter_map(|h| match &h.kind {
            HandlerKind::Event(EventSpec {
                concurrency: Some(n),
                ..
            }) => Some((
                ("event", h.name),
                Arc::new(tokio::sync::Semaphore::new(*n as usize)),
            )),
            _ => None,
        })
        .collect();
    let handler_metrics = handlers
        .iter()
        .map(|h| {
            (
                crate::pipeline::handler_key(h),
                shared.metrics.handler(h.kind_name(), h.name),
            )
        })
        .collect();
    let metrics_here = config.metrics_listen.is_none();
    let app = Arc::new(App {
        config,
        shared: Arc::new(shared),
        actions,
        observers,
        concurrency,
        handler_metrics,
    });

    let mut router = Router::new();
    if metrics_here {
        router = router.merge(metrics_router(app.shared.metrics.clone()));
    }
    let mut router = router
        .route(
            "/healthz",
            get(|headers: HeaderMap| async move {
                let alive = json_response(
                    StatusCode::OK,
                    &serde_json::json!({"status": "alive"}),
                    None,
                );
                with_request_id(&headers, alive)
            })
            .fallback(get_only),
        )
        .route(
            "/readyz",
            get(readyz)
                .with_state(app.shared.clone())
                .fallback(get_only),
        );
    let serves_files = app
        .shared
        .storage
        .as_ref()
        .is_some_and(|s| s.location().served_by_service());
    if serves_files {
        router = router.route(
            "/files/{*key}",
            get(serve_file)
                .with_state(app.shared.clone())
                .fallback(get_only),
        );
    }
    let direct = DirectRoutes::new(app.clone(), &handlers);
    for h in handlers {
        let app = app.clone();
        let route = Route::Handler(h);
        let serve = match h.kind {
            HandlerKind::Action(_) => {
                post(move |req: Request| pipeline::handle::<pipeline::Action>(app, route, req))
            }
            HandlerKind::Event(_) => {
                post(move |req: Request| pipeline::handle::<pipeline::Event>(app, route, req))
            }
            HandlerKind::Cron(_) => {
                post(move |req: Request| pipeline::handle::<pipeline::Cron>(app, route, req))
            }
            HandlerKind::Scheduled(_) => {
                post(move |req: Request| pipeline::handle::<pipeline::Scheduled>(app, route, req))
            }
        };
        router = router.route(&h.route(), serve.fallback(method_not_allowed));
    }
    for (what, prefix) in [
        ("action", "/actions"),
        ("event trigger", "/events"),
        ("cron trigger", "/crons"),
        ("scheduled-event", "/scheduled"),
    ] {
        let app = app.clone();
        router = router.route(
            &format!("{prefix}/{{name}}"),
            post(move |headers: HeaderMap| async move {
                let request_id = RequestId::from_headers(&headers);
                let answer = match pipeline::admission_check(
                    &app.config,
                    &app.shared.audit,
                    &headers,
                    &request_id,
                ) {
                    Err(refused) => refused,
                    Ok(()) => Rejection::not_exists(format!("no {what} handler at this route")),
                };
                with_request_id(&headers, answer.into_response())
            })
            .fallback(method_not_allowed),
        );
    }
    if app.shared.auth.webhook.is_some() {
        let app = app.clone();
        router = router.route(
            "/auth/webhook",
            axum::routing::on(
                axum::routing::MethodFilter::GET.or(axum::routing::MethodFilter::POST),
                move |request: Request| crate::auth::webhook::serve(app, request),
            )
            .fallback(method_not_allowed),
        );
    }
    if let Some(keys) = &app.config.identity.signing_keys {
        let jwks = bytes::Bytes::from(keys.public_jwks().to_string());
        router = router.route(
            "/.well-known/jwks.json",
            get(move |headers: HeaderMap| {
                let jwks = jwks.clone();
                async move {
                    let mut response = (
                        StatusCode::OK,
                        [(http::header::CONTENT_TYPE, "application/json")],
                        jwks,
                    )
                        .into_response();
                    response.headers_mut().insert(
                        http::header::CACHE_CONTROL,
                        http::HeaderValue::from_str(&format!(
                            "public, max-age={}",
                            crate::auth::JWKS_MAX_AGE.as_secs()
                        ))
                        .unwrap_or_else(|_| unreachable!("ASCII digits")),
                    );
                    with_request_id(&headers, response)
                }
            })
            .fallback(get_only),
        );
    }
    let dispatch = app.clone();
    router = router.route(
        "/actions",
        post(move |req: Request| {
            pipeline::handle::<pipeline::Action>(dispatch, Route::ByName, req)
        })
        .fallback(method_not_allowed),
    );
    let router = router.fallback(|headers: HeaderMap| async move {
        let missing = Rejection::not_exists(
            "no such route; Rasura serves POST /actions, /actions/{name}, /events/{trigger} and /crons/{name}",
        );
        with_request_id(&headers, missing.into_response())
    });
    Ok(Dispatch::new(router, direct))
}

/// `/readyz`: ready when the database (if configured) answers `SELECT 1` and Hasura (if
/// configured) answers its `/healthz`. `?checks=database` (comma-separated: `database`,
/// `hasura`) selects the checks, so a Kubernetes readiness probe can leave Hasura out (Hasura
/// calls the service: its outage must not take every replica out of the Service). Failures are
/// logged; the answer only names the check.
async fn readyz(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    uri: http::Uri,
) -> Response {
    let answer = match ReadyChecks::from_query(uri.query()) {
        Ok(checks) => readiness(&shared, checks).await,
        Err(rejection) => rejection.into_response(),
    };
    with_request_id(&headers, answer)
}

/// The checks `/readyz` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReadyChecks {
    database: bool,
    hasura: bool,
}

impl ReadyChecks {
    const NAMES: &'static str = "database, hasura";

    /// Every check, or those `checks=` names (repeatable, comma-separated).
    fn from_query(query: Option<&str>) -> Result<Self, Rejection> {
        let mut selected: Option<Self> = None;
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if name != "checks" {
                return Err(Rejection::validation_failed(format!(
                    "unknown parameter `{}`: /readyz takes `checks` ({})",
                    truncate_for_message(&name),
                    Self::NAMES
                )));
            }
            let checks = selected.get_or_insert(Self {
                database: false,
                hasura: false,
            });
            for check in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                match check {
                    "database" => checks.database = true,
                    "hasura" => checks.hasura = true,
                    other => {
                        return Err(Rejection::validation_failed(format!(
                            "unknown check `{}`: /readyz checks {}",
                            truncate_for_message(other),
                            Self::NAMES
                        )));
                    }
                }
            }
        }
        match selected {
            Some(checks) if !checks.database && !checks.hasura => Err(
                Rejection::validation_failed(format!("`checks` is empty: name {}", Self::NAMES)),
            ),
            Some(checks) => Ok(checks),
            None => Ok(Self {
                database: true,
                hasura: true,
            }),
        }
    }
}

/// At most 64 characters of user input in an error message.
fn truncate_for_message(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

async fn readiness(shared: &Shared, selected: ReadyChecks) -> Response {
    const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
    let database = async {
        match &shared.db {
            _ if !selected.database => "skipped",
            None => "not-configured",
            Some(pool) => match crate::db::ping(pool, CHECK_TIMEOUT).await {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::warn!(error = %e, "readiness: database unreachable");
                    "unreachable"
                }
            },
        }
    };
    let hasura = async {
        match &shared.graphql {
            _ if !selected.hasura => "skipped",
            None => "not-configured",
            Some(client) => {
                let url = client.health_url().clone();
                match shared.http.get(url).timeout(CHECK_TIMEOUT).send().await {
                    Ok(r) if r.status().is_success() => "ok",
                    Ok(r) => {
                        tracing::warn!(
                            status = r.status().as_u16(),
                            "readiness: Hasura is not healthy"
                        );
                        "unhealthy"
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.without_url(), "readiness: Hasura unreachable");
                        "unreachable"
                    }
                }
            }
        }
    };
    let (database, hasura) = tokio::join!(database, hasura);
    let ready = [database, hasura]
        .iter()
        .all(|c| matches!(*c, "ok" | "not-configured" | "skipped"));
    json_response(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &serde_json::json!({
            "status": if ready { "ready" } else { "not-ready" },
            "checks": { "database": database, "hasura": hasura },
        }),
        None,
    )
}

/// `GET /files/{key}?expires=…&signature=…`: an object of the local or memory backend, for a
/// URL made by `Storage::url`.
async fn serve_file(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    axum::extract::Path(key): axum::extract::Path<String>,
    headers: HeaderMap,
    uri: http::Uri,
) -> Response {
    with_request_id(&headers, file_response(&shared, &key, &uri).await)
}

async fn file_response(shared: &Shared, key: &str, uri: &http::Uri) -> Response {
    use crate::storage::{StorageError, UrlRejection};
    let Some(storage) = shared.storage.as_ref() else {
        return Rejection::not_exists("no storage").into_response();
    };
    let (mut expires, mut signature) = (None, None);
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match &*name {
            "expires" => expires = Some(value.into_owned()),
            "signature" => signature = Some(value.into_owned()),
            _ => {}
        }
    }
    if let Err(why) = storage.verify(key, expires.as_deref(), signature.as_deref()) {
        let message = match why {
            UrlRejection::Unsigned => "this URL is not signed (expires and signature are required)",
            UrlRejection::BadSignature => "invalid URL signature",
            UrlRejection::Expired => "this URL has expired",
        };
        return Rejection::access_denied(StatusCode::FORBIDDEN, message).into_response();
    }
    match storage.get_stream(key).await {
        Ok((result, content_type)) => {
            let size = result.meta.size;
            let content_type =
                content_type.unwrap_or_else(|| "application/octet-stream".to_owned());
            let mut response = Response::new(Body::from_stream(result.into_stream()));
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            headers.insert(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-transform"),
            );
            if !crate::storage::inline_safe(&content_type) {
                headers.insert(
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment"),
                );
            }
            response
        }
        Err(StorageError::NotFound(_)) => Rejection::not_exists("no such file").into_response(),
        Err(e @ StorageError::InvalidKey { .. }) => {
            Rejection::validation_failed(e.to_string()).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "serving a file failed");
            Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-error",
                "storage failed",
            )
            .into_response()
        }
    }
}

/// Hasura calls every webhook with POST; anything else gets a Hasura-format 405.
async fn method_not_allowed(headers: HeaderMap) -> Response {
    wrong_method(&headers, "POST", "Rasura webhooks are called with POST")
}

/// `/healthz`, `/readyz` and `/files` answer GET; anything else gets a Hasura-format 405.
async fn get_only(headers: HeaderMap) -> Response {
    wrong_method(&headers, "GET, HEAD", "this endpoint answers GET")
}

fn wrong_method(headers: &HeaderMap, allow: &'static str, message: &'static str) -> Response {
    let mut response = Rejection::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        message,
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    with_request_id(headers, response)
}

/// Sets `x-request-id` on a response outside the pipeline (which sets its own).
fn with_request_id(headers: &HeaderMap, mut response: Response) -> Response {
    response.headers_mut().insert(
        REQUEST_ID_HEADER.clone(),
        RequestId::from_headers(headers).header_value(),
    );
    response
}

/// SIGTERM or Ctrl-C. The handlers are installed now, not when the future is first polled, so a
/// signal that arrives right after the "listening" log line is not lost (or fatal).
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(terminate) => {}
                () = wait(interrupt) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
