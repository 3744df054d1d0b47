//! Hasura-exact requests in tests, without a network: requests go through the service's real
//! routes, dispatched as its server dispatches them.
//!
//! ```
//! # async fn demo(service: rasura::Service) {
//! use rasura::testing::TestService;
//! use serde_json::json;
//!
//! let hasura = TestService::new(service);
//! let res = hasura.action("pong").role("user").user_id("42").bearer_for("user", Some("42"))
//!     .input(json!({"message": "hi", "number": 5})).send().await;
//! res.assert_status(200);
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::pipeline::Dispatch;
use crate::security::WEBHOOK_SECRET_HEADER;
use crate::security::jwt::JwtConfig;
use crate::service::Service;

/// The webhook secret of [`TestService::config`].
pub const TEST_WEBHOOK_SECRET: &str = "rasura-test-webhook-secret-0123456789";
/// The HS256 key of [`TestService::config`].
pub const TEST_JWT_KEY: &str = "rasura-test-jwt-key-0123456789abcdef";

/// A service under test: sends requests as Hasura would.
#[derive(Clone)]
pub struct TestService {
    /// The router, with the handlers' own routes answered as `serve` answers them.
    dispatch: Dispatch,
    secret: String,
    jwt_key: String,
}

impl TestService {
    /// Builds `service` with [`TestService::config`] unless it already has a configuration.
    /// Panics (it is a test helper) when the service cannot start.
    pub fn new(service: Service) -> Self {
        let dispatch = Self::configured(service)
            .dispatch()
            .unwrap_or_else(|e| panic!("service does not start: {e}"));
        Self {
            dispatch,
            secret: TEST_WEBHOOK_SECRET.into(),
            jwt_key: TEST_JWT_KEY.into(),
        }
    }

    /// Like [`TestService::new`], but starts the service as `serve` does: connects the
    /// database and applies Rasura's migrations (the `rasura_auth` tables when identity is
    /// configured).
    pub async fn start(service: Service) -> Self {
        let dispatch = Self::configured(service)
            .start_dispatch()
            .await
            .unwrap_or_else(|e| panic!("service does not start: {e}"));
        Self {
            dispatch,
            secret: TEST_WEBHOOK_SECRET.into(),
            jwt_key: TEST_JWT_KEY.into(),
        }
    }

    /// `service` with [`TestService::config`] unless it already has a configuration.
    fn configured(service: Service) -> Service {
        if service.has_config() {
            service
        } else {
            service.with_config(Self::config())
        }
    }

    /// Wraps an already built router; requests carry `secret`.
    pub fn from_router(router: Router, secret: &str) -> Self {
        Self {
            dispatch: Dispatch::router_only(router),
            secret: secret.into(),
            jwt_key: TEST_JWT_KEY.into(),
        }
    }

    /// The configuration tests use: [`TEST_WEBHOOK_SECRET`], HS256 JWTs signed with
    /// [`TEST_JWT_KEY`], and in-memory object storage.
    pub fn config() -> Config {
        Config::new(TEST_WEBHOOK_SECRET)
            .with_jwt(JwtConfig::hs256(TEST_JWT_KEY).expect("valid test key"))
            .with_storage(crate::storage::StorageLocation::Memory)
    }

    /// Identity for tests of token issuing: the service signs with [`TEST_JWT_KEY`] (HS256, kid
    /// `test`), so the tokens `ctx.tokens()` issues verify under [`TestService::config`]'s JWT
    /// configuration (`jwt` actions accept them). Add a database for refresh tokens:
    /// `TestService::config().with_identity(TestService::identity()).with_database_url(…)`.
    pub fn identity() -> crate::auth::IdentityConfig {
        use base64::Engine as _;
        let jwk = json!({"keys": [{
            "kty": "oct", "alg": "HS256", "kid": "test", "use": "sig",
            "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(TEST_JWT_KEY),
        }]});
        crate::auth::IdentityConfig {
            signing_keys: Some(std::sync::Arc::new(
                crate::auth::SigningKeys::from_json(&jwk.to_string(), None)
                    .expect("valid test signing key"),
            )),
            ..crate::auth::IdentityConfig::default()
        }
    }

    /// The router (it routes every path; the service's own server answers the handlers'
    /// routes without it, as this test kit's requests are).
    pub fn router(&self) -> Router {
        self.dispatch.router().clone()
    }

    /// A call of action `name` (as admin, input `{}`, until told otherwise).
    pub fn action(&self, name: &str) -> ActionRequestBuilder {
        ActionRequestBuilder {
            base: self.request(format!("/actions/{name}")),
            name: name.into(),
            input: json!({}),
            session: vec![("x-hasura-role".into(), "admin".into())],
            request_query: None,
        }
    }

    /// A delivery of event trigger `trigger` (table `public.<unset>` until told otherwise).
    pub fn event(&self, trigger: &str) -> EventRequestBuilder {
        EventRequestBuilder {
            base: self.request(format!("/events/{trigger}")),
            trigger: trigger.into(),
            schema: "public".into(),
            table: String::new(),
            op: "MANUAL",
            old: Value::Null,
            new: json!({}),
            session: None,
            current_retry: 0,
            max_retries: 0,
            id: None,
        }
    }

    /// A run of cron trigger `name` (payload `null` until told otherwise).
    pub fn cron(&self, name: &str) -> CronRequestBuilder {
        CronRequestBuilder {
            base: self.request(format!("/crons/{name}")),
            name: name.into(),
            payload: Value::Null,
            id: None,
        }
    }

    /// A delivery of one-off scheduled event to handler `name` (payload `null` until told
    /// otherwise).
    pub fn scheduled(&self, name: &str) -> ScheduledRequestBuilder {
        ScheduledRequestBuilder {
            base: self.request(format!("/scheduled/{name}")),
            payload: Value::Null,
            id: None,
            comment: None,
        }
    }

    /// A raw POST to `path` with the webhook secret and an arbitrary body.
    pub fn post(&self, path: &str) -> RawRequestBuilder {
        RawRequestBuilder {
            base: self.request(path.into()),
            body: Vec::new(),
        }
    }

    /// A GET of `path` without the webhook secret (health checks, `/files` URLs).
    pub async fn get(&self, path: &str) -> TestResponse {
        let request = Request::get(path)
            .body(Body::empty())
            .expect("valid request");
        let response = self.dispatch.call(request).await;
        TestResponse::read(response).await
    }

    /// A GET of the auth webhook as Hasura sends it in `GET` mode: the client's headers
    /// (add them with [`AuthWebhookRequestBuilder::bearer`], `role`, `header`), no webhook
    /// secret.
    pub fn auth_webhook_get(&self) -> AuthWebhookRequestBuilder {
        AuthWebhookRequestBuilder {
            dispatch: self.dispatch.clone(),
            post: false,
            headers: Vec::new(),
            request: Value::Null,
        }
    }

    /// A POST of the auth webhook as Hasura sends it in `POST` mode:
    /// `{"headers": {client headers}, "request": {GraphQL request} | [batch] | null}`.
    pub fn auth_webhook_post(&self) -> AuthWebhookRequestBuilder {
        AuthWebhookRequestBuilder {
            dispatch: self.dispatch.clone(),
            post: true,
            headers: Vec::new(),
            request: serde_json::json!({
                "query": "query { user { user_id } }",
                "variables": {},
                "operationName": null
            }),
        }
    }

    /// A token signed with the test key for `role` (allowed roles: just `role`).
    pub fn jwt_for(&self, role: &str, user_id: Option<&str>) -> String {
        token_for(&self.jwt_key, role, user_id)
    }

    fn request(&self, path: String) -> BaseRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static("hasura-graphql-engine/v2.48.0"),
        );
        headers.insert(
            WEBHOOK_SECRET_HEADER,
            HeaderValue::from_str(&self.secret).expect("secret is a header value"),
        );
        BaseRequest {
            dispatch: self.dispatch.clone(),
            path,
            headers,
            jwt_key: self.jwt_key.clone(),
        }
    }
}

/// An HS256 token for `role` (its only allowed role) and `user_id`.
fn token_for(key: &str, role: &str, user_id: Option<&str>) -> String {
    let mut claims = JwtClaims::new().allowed_roles([role]).default_role(role);
    if let Some(id) = user_id {
        claims = claims.user_id(id);
    }
    claims.sign_hs256(key).expect("test key signs")
}

struct BaseRequest {
    dispatch: Dispatch,
    path: String,
    headers: HeaderMap,
    jwt_key: String,
}

impl BaseRequest {
    fn header(&mut self, name: &str, value: &str) {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        self.headers.insert(
            name,
            HeaderValue::from_str(value).expect("valid header value"),
        );
    }

    async fn send(self, body: Vec<u8>) -> TestResponse {
        let mut request = Request::post(self.path)
            .body(Body::from(body))
            .expect("valid request");
        *request.headers_mut() = self.headers;
        let response = self.dispatch.call(request).await;
        TestResponse::read(response).await
    }
}

impl TestResponse {
    async fn read(response: axum::response::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }
}

macro_rules! common_methods {
    () => {
        /// Sets a request header.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.base.header(name, value);
            self
        }

        /// Sends this webhook secret instead of the right one.
        pub fn secret(self, secret: &str) -> Self {
            self.header(WEBHOOK_SECRET_HEADER, secret)
        }

        /// Sends no webhook secret.
        pub fn without_secret(mut self) -> Self {
            self.base.headers.remove(WEBHOOK_SECRET_HEADER);
            self
        }

        /// Sets the request path (to test routing).
        pub fn path(mut self, path: &str) -> Self {
            self.base.path = path.into();
            self
        }
    };
}

/// An action call being built.
pub struct ActionRequestBuilder {
    base: BaseRequest,
    name: String,
    input: Value,
    session: Vec<(String, String)>,
    request_query: Option<String>,
}

impl ActionRequestBuilder {
    common_methods!();

    /// `x-hasura-role`.
    pub fn role(self, role: &str) -> Self {
        self.session_variable("x-hasura-role", role)
    }

    /// `x-hasura-user-id`.
    pub fn user_id(self, id: &str) -> Self {
        self.session_variable("x-hasura-user-id", id)
    }

    /// Any session variable (lower-cased, as Hasura sends them).
    pub fn session_variable(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.session.retain(|(k, _)| *k != name);
        self.session.push((name, value.into()));
        self
    }

    /// The action's arguments.
    pub fn input(mut self, input: Value) -> Self {
        self.input = input;
        self
    }

    /// `action.name` in the body (defaults to the routed name).
    pub fn action_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// `request_query`.
    pub fn request_query(mut self, query: &str) -> Self {
        self.request_query = Some(query.into());
        self
    }

    /// `Authorization: Bearer <token>` (Hasura forwards it for `jwt` actions).
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A token signed with the test key for this role and user id, as the bearer.
    pub fn bearer_for(self, role: &str, user_id: Option<&str>) -> Self {
        let token = token_for(&self.base.jwt_key, role, user_id);
        self.bearer(&token)
    }

    /// The body Hasura would send.
    pub fn body(&self) -> Value {
        let session: Map<String, Value> = self
            .session
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({
            "action": { "name": self.name },
            "input": self.input,
            "session_variables": session,
            "request_query": self.request_query,
        })
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        let body = serde_json::to_vec(&self.body()).expect("JSON");
        self.base.send(body).await
    }
}

/// An event delivery being built.
pub struct EventRequestBuilder {
    base: BaseRequest,
    trigger: String,
    schema: String,
    table: String,
    op: &'static str,
    old: Value,
    new: Value,
    session: Option<Value>,
    current_retry: u32,
    max_retries: u32,
    id: Option<String>,
}

impl EventRequestBuilder {
    common_methods!();

    /// The table (`schema.table`).
    pub fn table(mut self, qualified: &str) -> Self {
        let (schema, table) = qualified.split_once('.').unwrap_or(("public", qualified));
        self.schema = schema.into();
        self.table = table.into();
        self
    }

    /// An INSERT of `new`.
    pub fn insert(mut self, new: Value) -> Self {
        (self.op, self.old, self.new) = ("INSERT", Value::Null, new);
        self
    }

    /// An UPDATE from `old` to `new`.
    pub fn update(mut self, old: Value, new: Value) -> Self {
        (self.op, self.old, self.new) = ("UPDATE", old, new);
        self
    }

    /// A DELETE of `old`.
    pub fn delete(mut self, old: Value) -> Self {
        (self.op, self.old, self.new) = ("DELETE", old, Value::Null);
        self
    }

    /// A MANUAL invocation on `new`.
    pub fn manual(mut self, new: Value) -> Self {
        (self.op, self.old, self.new) = ("MANUAL", Value::Null, new);
        self
    }

    /// The session of the change (default `null`: made outside Hasura).
    pub fn session(mut self, session: Value) -> Self {
        self.session = Some(session);
        self
    }

    /// The event id (a new random one by default; the same id again is a redelivery).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    /// `delivery_info`.
    pub fn delivery(mut self, current_retry: u32, max_retries: u32) -> Self {
        self.current_retry = current_retry;
        self.max_retries = max_retries;
        self
    }

    /// The body Hasura would send.
    pub fn body(&self) -> Value {
        json!({
            "id": self.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "table": { "schema": self.schema, "name": self.table },
            "trigger": { "name": self.trigger },
            "event": {
                "op": self.op,
                "data": { "old": self.old, "new": self.new },
                "session_variables": self.session,
                "trace_context": null,
            },
            "delivery_info": { "current_retry": self.current_retry, "max_retries": self.max_retries },
            // Hasura sends event timestamps without a time zone.
            "created_at": chrono::Utc::now().naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        })
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        let body = serde_json::to_vec(&self.body()).expect("JSON");
        self.base.send(body).await
    }
}

/// A cron run being built.
pub struct CronRequestBuilder {
    base: BaseRequest,
    name: String,
    payload: Value,
    id: Option<String>,
}

impl CronRequestBuilder {
    common_methods!();

    /// The configured payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// The scheduled event id (a new random one by default; the same id again is a
    /// redelivery).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The body Hasura would send.
    pub fn body(&self) -> Value {
        json!({
            "id": self.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "name": self.name,
            "scheduled_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "payload": self.payload,
        })
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        let body = serde_json::to_vec(&self.body()).expect("JSON");
        self.base.send(body).await
    }
}

/// A one-off scheduled event delivery being built.
pub struct ScheduledRequestBuilder {
    base: BaseRequest,
    payload: Value,
    id: Option<String>,
    comment: Option<String>,
}

impl ScheduledRequestBuilder {
    common_methods!();

    /// The event's payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// The event id (a new random one by default; the same id again is a redelivery).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The event's comment.
    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// The body Hasura would send (docs/protocol.md §3.1: no `name`, with `created_at`).
    pub fn body(&self) -> Value {
        let now = chrono::Utc::now();
        let mut body = json!({
            "id": self.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "scheduled_time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "payload": self.payload,
            "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        });
        if let Some(comment) = &self.comment {
            body["comment"] = json!(comment);
        }
        body
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        let body = serde_json::to_vec(&self.body()).expect("JSON");
        self.base.send(body).await
    }
}

/// An auth-webhook request being built (Hasura's `GET` or `POST` mode).
pub struct AuthWebhookRequestBuilder {
    dispatch: Dispatch,
    post: bool,
    headers: Vec<(String, String)>,
    request: Value,
}

impl AuthWebhookRequestBuilder {
    /// Adds a client header (as the client sent it to Hasura).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The client's `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// The client's requested role (`X-Hasura-Role`).
    pub fn role(self, role: &str) -> Self {
        self.header("X-Hasura-Role", role)
    }

    /// The GraphQL request of a `POST` (an object, a batch array, or `null`).
    pub fn request(mut self, request: Value) -> Self {
        self.request = request;
        self
    }

    /// The body a `POST` sends.
    pub fn body(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .chain([("Content-Type".to_owned(), Value::from("application/json"))])
            .collect();
        serde_json::json!({ "headers": headers, "request": self.request })
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        let request = if self.post {
            Request::post("/auth/webhook")
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::USER_AGENT, "hasura-graphql-engine/v2.48.0")
                .body(Body::from(serde_json::to_vec(&self.body()).expect("JSON")))
        } else {
            let mut builder = Request::get("/auth/webhook")
                .header(http::header::USER_AGENT, "hasura-graphql-engine/v2.48.0");
            for (name, value) in &self.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            builder.body(Body::empty())
        }
        .expect("valid request");
        let response = self.dispatch.call(request).await;
        TestResponse::read(response).await
    }
}

/// A POST with an arbitrary body.
pub struct RawRequestBuilder {
    base: BaseRequest,
    body: Vec<u8>,
}

impl RawRequestBuilder {
    common_methods!();

    /// The raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends it.
    pub async fn send(self) -> TestResponse {
        self.base.send(self.body).await
    }
}

/// A response, with assertions.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics if it is not JSON).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an error in Hasura's format: this status, `extensions.code` and a string
    /// `message`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        let body: Value = self.json();
        assert!(body["message"].is_string(), "no string `message` in {body}");
        assert_eq!(
            body["extensions"]["code"], code,
            "unexpected code in {body}"
        );
        self
    }

    /// The `message` of an error body.
    pub fn message(&self) -> String {
        self.json::<Value>()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub use crate::security::issue::JwtClaims;

/// A service binary running as a child process, for tests over real TCP.
///
/// It listens on a free loopback port (`RASURA_LISTEN=127.0.0.1:0`); the address is read from its
/// `rasura listening` log line. The process is killed when this value is dropped, unless it was
/// stopped with [`RunningService::terminate`].
pub struct RunningService {
    child: std::process::Child,
    address: std::net::SocketAddr,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl RunningService {
    /// Starts `binary` with `env` (every other `RASURA_*`/`HASURA_*` variable and `DATABASE_URL`
    /// are removed; storage is in memory unless `env` says otherwise) and waits until it listens. Panics (it is a test helper) when it does not start in 30 s.
    pub fn start(binary: &str, env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(binary);
        for (name, _) in std::env::vars() {
            if name.starts_with("RASURA_") || name.starts_with("HASURA_") || name == "DATABASE_URL"
            {
                command.env_remove(name);
            }
        }
        command
            .env("RASURA_LISTEN", "127.0.0.1:0")
            .env("RASURA_STORAGE_URL", "memory://")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let output = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("address="))
                    {
                        let _ = tx.send(addr.to_owned());
                    }
                    let mut out = output
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        let address = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                let out = output
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                panic!("{binary} did not start listening; its output:\n{out}");
            }
        };
        Self {
            child,
            address,
            output,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The listening address.
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (via `kill`) and waits for the exit status, at most `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// Manual: the captured output can hold generated development secrets.
impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService")
            .field("pid", &self.child.id())
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh Postgres database for one test, on the server of `DATABASE_URL` (which
/// `scripts/test.sh` starts). Tests that need it fail, never skip, without a server.
pub struct TestDatabase {
    url: String,
    pool: sqlx::PgPool,
    /// The server's URL (`DATABASE_URL`) and the database's name, to drop it.
    server: String,
    name: String,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase").finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// Creates a database with a unique name. Panics (it is a test helper) when `DATABASE_URL`
    /// is unset or the server is unreachable.
    pub async fn create() -> Self {
        let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!(
                "DATABASE_URL is not set: the database tests need PostgreSQL; run scripts/test.sh, \
                 which starts a private server"
            )
        });
        let admin = sqlx::PgPool::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
        let name = format!("rasura_test_{:016x}", rand::random::<u64>());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        admin.close().await;
        let mut url = url::Url::parse(&server).expect("DATABASE_URL is a URL");
        url.set_path(&name);
        let url = url.to_string();
        let pool = sqlx::PgPool::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
        Self {
            url,
            pool,
            server,
            name,
        }
    }

    /// Creates a database and applies the Hasura CLI migrations in `dir`
    /// (`<version>_<name>/up.sql`, in version order), as `hasura migrate apply` would.
    pub async fn with_migrations(dir: impl AsRef<std::path::Path>) -> Self {
        let db = Self::create().await;
        db.apply_migrations(dir).await;
        db
    }

    /// Applies every `<version>_<name>/up.sql` of `dir` in version order, each in a
    /// transaction.
    pub async fn apply_migrations(&self, dir: impl AsRef<std::path::Path>) {
        let dir = dir.as_ref();
        let mut migrations: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let version = name.split('_').next()?.parse().ok()?;
                Some((version, entry.path().join("up.sql")))
            })
            .collect();
        migrations.sort();
        for (version, up) in migrations {
            let sql = std::fs::read_to_string(&up)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", up.display()));
            let mut tx = self.pool.begin().await.expect("begin");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("migration {version} failed: {e}"));
            tx.commit().await.expect("commit");
        }
    }

    /// The database's URL (for `DATABASE_URL` or [`Config::with_database_url`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool on the database.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    /// Drops the database (`WITH (FORCE)`: connections still open are closed), so test runs
    /// leave nothing behind. `Drop` cannot await and may run on a runtime's thread, so the drop
    /// runs on a thread of its own with its own small runtime; a failure is printed, not raised.
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let admin = sqlx::PgPool::connect(&server)
                    .await
                    .map_err(|e| e.to_string())?;
                let result = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&admin)
                .await
                .map(drop)
                .map_err(|e| e.to_string());
                admin.close().await;
                result
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "rasura::testing: could not drop test database {}: {e}",
                self.name
            ),
            Err(_) => eprintln!(
                "rasura::testing: dropping test database {} panicked",
                self.name
            ),
        }
    }
}
