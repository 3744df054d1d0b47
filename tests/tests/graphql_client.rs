//! `ctx.graphql()` against a real HTTP GraphQL server on loopback (axum), which records the
//! headers and bodies it receives and answers with data, errors and partial data.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use rasura::config::Secret;
use rasura::graphql::{GraphqlClient, GraphqlError};
use rasura::testing::TestService;
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN_SECRET: &str = "hasura-admin-secret-for-tests";

/// What the fake Hasura received.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Value,
}

#[derive(Clone, Default)]
struct FakeHasura {
    received: Arc<Mutex<Vec<Received>>>,
    /// The answer to each operation, by the first word of its query after the keyword
    /// (operation name), else the default echo.
    answers: Arc<Mutex<Vec<(String, u16, Value)>>>,
}

impl FakeHasura {
    async fn start() -> (Self, url::Url) {
        let fake = Self::default();
        let app = axum::Router::new()
            .route("/v1/graphql", axum::routing::post(answer))
            .route("/healthz", axum::routing::get(|| async { "OK" }))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, url::Url::parse(&format!("http://{addr}")).unwrap())
    }

    fn answer(&self, operation: &str, status: u16, body: Value) {
        self.answers
            .lock()
            .unwrap()
            .push((operation.into(), status, body));
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn answer(
    State(fake): State<FakeHasura>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (http::StatusCode, Json<Value>) {
    fake.received.lock().unwrap().push(Received {
        headers,
        body: body.clone(),
    });
    let name = body["operationName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let query = body["query"].as_str().unwrap_or_default();
    for (operation, status, answer) in fake.answers.lock().unwrap().iter() {
        if *operation == name || query.contains(operation.as_str()) {
            return (
                http::StatusCode::from_u16(*status).unwrap(),
                Json(answer.clone()),
            );
        }
    }
    (
        http::StatusCode::OK,
        Json(json!({"data": {"echo": body["variables"]}})),
    )
}

fn header<'a>(r: &'a Received, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn client(endpoint: &url::Url) -> GraphqlClient {
    GraphqlClient::new(
        reqwest::Client::new(),
        endpoint,
        Some(Secret::new(ADMIN_SECRET)),
        Duration::from_secs(5),
    )
}

fn service_with_hasura(endpoint: &url::Url) -> TestService {
    TestService::new(
        Service::with_handlers([
            handler!(example_default::pong),
            handler!(query_as),
            handler!(query_as_caller),
        ])
        .with_config(TestService::config().with_hasura(endpoint.clone(), Some(ADMIN_SECRET))),
    )
}

#[derive(Deserialize, rasura::CustomType)]
struct QueryInput {
    mode: String,
    query: String,
}

#[derive(Serialize, rasura::CustomType)]
struct QueryOutput {
    data: Value,
}

/// Runs `query` as admin or as the caller's role.
#[action(query, roles = ["user"])]
async fn query_as(ctx: Ctx, input: QueryInput) -> Result<QueryOutput, ActionError> {
    let graphql = ctx.graphql()?;
    let call = match input.mode.as_str() {
        "admin" => graphql.as_admin(),
        "role" => graphql.as_role()?,
        _ => graphql.as_caller()?,
    };
    let data = call.execute_raw(&input.query, None, None).await?;
    Ok(QueryOutput { data })
}

/// Runs `query` as the caller, after verifying their JWT.
#[action(query, roles = ["user"], jwt)]
async fn query_as_caller(ctx: Ctx, input: QueryInput) -> Result<QueryOutput, ActionError> {
    let data = ctx
        .graphql()?
        .as_caller()?
        .execute_raw(&input.query, Some(&json!({"mode": input.mode})), None)
        .await?;
    Ok(QueryOutput { data })
}

#[tokio::test]
async fn pong_stores_the_message_as_the_callers_role() {
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "SetLastMessage",
        200,
        json!({"data": {"update_user": {"affected_rows": 1}}}),
    );
    let s = service_with_hasura(&endpoint);
    let response = s
        .action("pong")
        .role("user")
        .user_id("u-42")
        .bearer_for("user", Some("u-42"))
        .header("x-request-id", "req-pong-1")
        .input(json!({"message": "hello", "number": 7}))
        .send()
        .await;
    response.assert_status(200);
    // The answer stays the echo of the input.
    assert_eq!(
        response.json::<Value>(),
        json!({"message": "hello", "number": 7})
    );
    let received = fake.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(header(r, "x-hasura-admin-secret"), Some(ADMIN_SECRET));
    assert_eq!(header(r, "x-hasura-role"), Some("user"));
    assert_eq!(header(r, "x-hasura-user-id"), Some("u-42"));
    assert_eq!(
        header(r, "authorization"),
        None,
        "as the role, not the caller"
    );
    assert_eq!(header(r, "x-request-id"), Some("req-pong-1"));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    assert_eq!(r.body["operationName"], "SetLastMessage");
    assert_eq!(
        r.body["variables"],
        json!({"user_id": "u-42", "message": "hello"})
    );
    assert!(
        r.body["query"]
            .as_str()
            .unwrap()
            .starts_with("mutation SetLastMessage")
    );
}

#[tokio::test]
async fn pong_reports_hasuras_permission_error_with_its_code() {
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "SetLastMessage",
        200,
        json!({"errors": [{"message": "field 'update_user' not found in type: 'mutation_root'",
            "extensions": {"path": "$.selectionSet.update_user", "code": "validation-failed",
                           "internal": {"sql": "secret details"}}}]}),
    );
    let s = service_with_hasura(&endpoint);
    let response = s
        .action("pong")
        .role("user")
        .user_id("u-42")
        .bearer_for("user", Some("u-42"))
        .input(json!({"message": "hello", "number": 7}))
        .send()
        .await;
    response.assert_error(400, "validation-failed");
    let body: Value = response.json();
    assert_eq!(
        body["message"],
        "field 'update_user' not found in type: 'mutation_root'"
    );
    // Admin-only details never reach the caller.
    assert!(!body.to_string().contains("secret details"), "{body}");
}

#[tokio::test]
async fn each_call_mode_sends_hasuras_headers() {
    let (fake, endpoint) = FakeHasura::start().await;
    let s = service_with_hasura(&endpoint);
    let query = "query Q { user { user_id } }";

    s.action("query_as")
        .role("user")
        .user_id("7")
        .session_variable("x-hasura-org-id", "acme")
        .input(json!({"mode": "admin", "query": query}))
        .send()
        .await
        .assert_status(200);
    s.action("query_as")
        .role("user")
        .user_id("7")
        .session_variable("x-hasura-org-id", "acme")
        .input(json!({"mode": "role", "query": query}))
        .send()
        .await
        .assert_status(200);
    let token = s.jwt_for("user", Some("7"));
    s.action("query_as_caller")
        .role("user")
        .user_id("7")
        .bearer(&token)
        .input(json!({"mode": "caller", "query": query}))
        .send()
        .await
        .assert_status(200);

    let received = fake.received();
    assert_eq!(received.len(), 3);
    let (admin, role, caller) = (&received[0], &received[1], &received[2]);

    assert_eq!(header(admin, "x-hasura-admin-secret"), Some(ADMIN_SECRET));
    assert_eq!(header(admin, "x-hasura-role"), None);
    assert_eq!(header(admin, "x-hasura-user-id"), None);

    assert_eq!(header(role, "x-hasura-admin-secret"), Some(ADMIN_SECRET));
    assert_eq!(header(role, "x-hasura-role"), Some("user"));
    assert_eq!(header(role, "x-hasura-user-id"), Some("7"));
    assert_eq!(header(role, "x-hasura-org-id"), Some("acme"));

    assert_eq!(header(caller, "x-hasura-admin-secret"), None);
    let bearer = format!("Bearer {token}");
    assert_eq!(header(caller, "authorization"), Some(bearer.as_str()));
    assert_eq!(header(caller, "x-hasura-role"), Some("user"));
    assert_eq!(caller.body["variables"], json!({"mode": "caller"}));
}

#[tokio::test]
async fn calling_as_the_caller_needs_a_verified_token() {
    let (fake, endpoint) = FakeHasura::start().await;
    let s = service_with_hasura(&endpoint);
    // `query_as` does not verify JWTs: a forwarded Authorization is not the caller's proof.
    let response = s
        .action("query_as")
        .role("user")
        .header("authorization", "Bearer forged")
        .input(json!({"mode": "caller", "query": "{ a }"}))
        .send()
        .await;
    response.assert_error(400, "unexpected");
    assert!(fake.received().is_empty());
}

#[tokio::test]
async fn an_unconfigured_client_is_a_clear_error() {
    let s = TestService::new(Service::with_handlers([handler!(query_as)]));
    let response = s
        .action("query_as")
        .role("user")
        .input(json!({"mode": "admin", "query": "{ a }"}))
        .send()
        .await;
    response.assert_error(400, "not-configured");
    assert!(
        response.message().contains("HASURA_GRAPHQL_ENDPOINT"),
        "{}",
        response.message()
    );
}

#[tokio::test]
async fn errors_keep_code_path_and_partial_data() {
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "Partial",
        200,
        json!({"data": {"ok": 1, "broken": null},
               "errors": [{"message": "boom", "extensions": {"code": "unexpected", "path": "$.selectionSet.broken"}},
                          {"message": "second", "path": ["broken", 0]}]}),
    );
    let err = client(&endpoint)
        .as_admin()
        .execute_raw("query Partial { ok broken }", None, None)
        .await
        .unwrap_err();
    let GraphqlError::Response { errors, data } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].message, "boom");
    assert_eq!(errors[0].code.as_deref(), Some("unexpected"));
    assert_eq!(errors[0].path.as_deref(), Some("$.selectionSet.broken"));
    assert_eq!(errors[1].path.as_deref(), Some("$.broken[0]"));
    assert_eq!(data.as_ref().unwrap()["ok"], 1);
    assert_eq!(err.partial_data().unwrap()["ok"], 1);
    assert!(!err.is_transient());
}

#[tokio::test]
async fn another_actions_error_arrives_with_its_own_code() {
    // docs/protocol.md §1.4: a handler's `extensions` reach the client verbatim (no `path`).
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "CallsAction",
        200,
        json!({"errors": [{"message": "Email address is not valid: random-email",
            "extensions": {"code": "invalid-email", "validation_error": "random-email is not a valid email"}}]}),
    );
    fake.answer(
        "EmptyExtensions",
        200,
        json!({"errors": [{"message": "m", "extensions": {}}]}),
    );
    let c = client(&endpoint);
    let err = c
        .as_admin()
        .execute_raw("mutation CallsAction { create_user }", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid-email"));
    let action_error = ActionError::from(err);
    assert_eq!(action_error.code(), "invalid-email");
    assert_eq!(
        action_error.extensions()["validation_error"],
        "random-email is not a valid email"
    );
    let err = c
        .as_admin()
        .execute_raw("mutation EmptyExtensions { x }", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), None);
    assert_eq!(ActionError::from(err).code(), "unexpected");
}

#[tokio::test]
async fn a_non_200_answer_keeps_its_errors() {
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "Denied",
        401,
        json!({"path": "$", "error": "invalid x-hasura-admin-secret/x-hasura-access-key", "code": "access-denied"}),
    );
    fake.answer("Down", 503, json!("unavailable"));
    let c = client(&endpoint);
    let err = c
        .as_admin()
        .execute_raw("query Denied { a }", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphqlError::Status { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), Some("access-denied"));
    assert_eq!(
        err.errors()[0].message,
        "invalid x-hasura-admin-secret/x-hasura-access-key"
    );
    assert!(!err.is_transient());
    let err = c
        .as_admin()
        .execute_raw("query Down { a }", None, None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn typed_operations_send_their_variables_and_read_their_data() {
    let (fake, endpoint) = FakeHasura::start().await;
    fake.answer(
        "SetLastMessage",
        200,
        json!({"data": {"update_user": {"affected_rows": 3}}}),
    );
    let data = client(&endpoint)
        .as_admin()
        .execute::<example_default::SetLastMessage>(&example_default::set_last_message::Variables {
            user_id: "u1".into(),
            message: "m".into(),
        })
        .await
        .unwrap();
    assert_eq!(data.update_user.unwrap().affected_rows, 3);
    // Data that does not match the generated type is a decoding error, not a panic.
    fake.answers.lock().unwrap().clear();
    fake.answer(
        "SetLastMessage",
        200,
        json!({"data": {"update_user": {"affected_rows": "many"}}}),
    );
    let err = client(&endpoint)
        .as_admin()
        .execute::<example_default::SetLastMessage>(&example_default::set_last_message::Variables {
            user_id: "u1".into(),
            message: "m".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, GraphqlError::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("SetLastMessage"), "{err}");
}

/// A server that drops the first `drop_first` connections without answering, then answers
/// every request with `{"data": {"ok": true}}`; counts connections.
async fn flaky_server(drop_first: usize) -> (Arc<Mutex<usize>>, url::Url) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let n = {
                let mut c = seen.lock().unwrap();
                *c += 1;
                *c
            };
            if n <= drop_first {
                drop(socket);
                continue;
            }
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut read = 0;
                // Read the headers and the declared body, then answer.
                loop {
                    let k = socket.read(&mut buf[read..]).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    read += k;
                    let text = String::from_utf8_lossy(&buf[..read]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if read >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"data":{"ok":true}}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (count, url::Url::parse(&format!("http://{addr}")).unwrap())
}

#[tokio::test]
async fn a_query_is_retried_on_connection_errors_a_mutation_never() {
    let (count, endpoint) = flaky_server(1).await;
    let data = client(&endpoint)
        .as_admin()
        .execute_raw("query Q { ok }", None, None)
        .await
        .unwrap();
    assert_eq!(data, json!({"ok": true}));
    assert_eq!(
        *count.lock().unwrap(),
        2,
        "one dropped connection, one retry"
    );

    let (count, endpoint) = flaky_server(1).await;
    let err = client(&endpoint)
        .as_admin()
        .execute_raw("mutation M { ok }", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphqlError::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(*count.lock().unwrap(), 1, "a mutation is sent once");

    // The retries are bounded.
    let (count, endpoint) = flaky_server(usize::MAX).await;
    let err = client(&endpoint)
        .as_admin()
        .execute_raw("{ ok }", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphqlError::Transport { attempts, .. } if attempts == rasura::graphql::QUERY_ATTEMPTS),
        "{err:?}"
    );
    assert_eq!(
        *count.lock().unwrap(),
        rasura::graphql::QUERY_ATTEMPTS as usize
    );
}

#[tokio::test]
async fn the_admin_secret_never_shows_in_debug_output() {
    let (_fake, endpoint) = FakeHasura::start().await;
    let c = client(&endpoint);
    assert!(!format!("{c:?}").contains(ADMIN_SECRET));
    let config = TestService::config()
        .with_hasura(endpoint, Some(ADMIN_SECRET))
        .with_database_url("postgres://u:db-password-123@localhost/app");
    let text = format!("{config:?}");
    assert!(!text.contains(ADMIN_SECRET), "{text}");
    assert!(!text.contains("db-password-123"), "{text}");
}

#[tokio::test]
async fn readiness_checks_that_hasura_answers() {
    let (_fake, endpoint) = FakeHasura::start().await;
    let r = service_with_hasura(&endpoint).get("/readyz").await;
    r.assert_status(200);
    assert_eq!(
        r.json::<Value>()["checks"],
        json!({"database": "not-configured", "hasura": "ok"})
    );

    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let down = url::Url::parse(&format!("http://{closed}")).unwrap();
    let r = service_with_hasura(&down).get("/readyz").await;
    r.assert_status(503);
    assert_eq!(
        r.json::<Value>(),
        json!({"status": "not-ready", "checks": {"database": "not-configured", "hasura": "unreachable"}})
    );

    // A Kubernetes readiness probe leaves Hasura out: a Hasura outage keeps replicas in.
    let down_service = service_with_hasura(&down);
    let r = down_service.get("/readyz?checks=database").await;
    r.assert_status(200);
    assert_eq!(
        r.json::<Value>(),
        json!({"status": "ready", "checks": {"database": "not-configured", "hasura": "skipped"}})
    );
    let r = down_service.get("/readyz?checks=database,hasura").await;
    r.assert_status(503);
    let r = down_service
        .get("/readyz?checks=hasura&checks=database")
        .await;
    r.assert_status(503);

    // Unknown, empty, forged and oversized selections are 400s in Hasura's format.
    let long = format!("/readyz?checks={}", "x".repeat(10_000));
    for (query, says) in [
        ("/readyz?checks=redis", "unknown check `redis`"),
        ("/readyz?checks=", "`checks` is empty"),
        ("/readyz?checks=,,", "`checks` is empty"),
        ("/readyz?check=database", "unknown parameter `check`"),
        ("/readyz?checks=%FF%FE", "unknown check"),
        (long.as_str(), "…"),
    ] {
        let r = down_service.get(query).await;
        r.assert_status(400);
        let body = r.json::<Value>();
        assert_eq!(body["extensions"]["code"], "validation-failed", "{query}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
        assert!(message.len() < 200, "{query}: {message}");
    }
}
