//! The GraphQL client for calling Hasura from a handler (`ctx.graphql()`): one pooled `reqwest`
//! client, three ways to authenticate (docs/protocol.md §4.1, §6.1), typed operations from the codegen
//! and raw queries, and Hasura's errors (which arrive with HTTP 200) as a typed error.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::config::Secret;
use crate::generated::GraphqlOperation;
use crate::protocol::SessionVariables;

/// How many times a query is sent at most when the connection fails (mutations: once).
pub const QUERY_ATTEMPTS: u32 = 3;

static ADMIN_SECRET: HeaderName = HeaderName::from_static("x-hasura-admin-secret");
static ROLE: HeaderName = HeaderName::from_static("x-hasura-role");
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client of Hasura's `/v1/graphql`, shared by every handler (cloning shares the pool).
#[derive(Clone)]
pub struct GraphqlClient {
    http: reqwest::Client,
    url: url::Url,
    health_url: url::Url,
    admin_secret: Option<Secret>,
    timeout: Duration,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl fmt::Debug for GraphqlClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphqlClient")
            .field("url", &self.url.as_str())
            .field("admin_secret", &self.admin_secret)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `base` with `path` appended (`http://h/prefix` + `v1/graphql` = `http://h/prefix/v1/graphql`).
pub(crate) fn endpoint_url(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path.split('/'));
    }
    url
}

impl GraphqlClient {
    /// A client of `{endpoint}/v1/graphql` on the shared `http` client; `timeout` bounds each
    /// call.
    pub fn new(
        http: reqwest::Client,
        endpoint: &url::Url,
        admin_secret: Option<Secret>,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            url: endpoint_url(endpoint, "v1/graphql"),
            health_url: endpoint_url(endpoint, "healthz"),
            admin_secret,
            timeout,
            metrics: None,
        }
    }

    /// Counts calls in `rasura_graphql_calls_total{status}`.
    pub(crate) fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, status: u16) {
        if let Some(metrics) = &self.metrics {
            metrics.graphql_call(status);
        }
    }

    /// The `/v1/graphql` URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Hasura's `/healthz` URL (beside `/v1/graphql`, under the same base path).
    pub fn health_url(&self) -> &url::Url {
        &self.health_url
    }

    fn call(&self, headers: HeaderMap) -> GraphqlCall<'_> {
        GraphqlCall {
            client: self,
            headers,
        }
    }

    fn admin_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(secret) = &self.admin_secret {
            if let Ok(mut value) = HeaderValue::from_str(secret.expose()) {
                value.set_sensitive(true);
                headers.insert(ADMIN_SECRET.clone(), value);
            }
        }
        headers
    }

    /// Calls as admin: with the admin secret (Hasura applies no permission).
    pub fn as_admin(&self) -> GraphqlCall<'_> {
        self.call(self.admin_headers())
    }

    /// Calls as `session`'s role: the admin secret plus `x-hasura-role` and every other session
    /// variable as a header, so Hasura applies that role's permissions to that user
    /// (docs/protocol.md §4.1, "act as a role").
    pub fn as_role(&self, session: &SessionVariables) -> Result<GraphqlCall<'_>, GraphqlError> {
        let role = session.role().ok_or(GraphqlError::NoCallerRole)?;
        let mut headers = self.admin_headers();
        for (name, value) in session.iter() {
            let name = name.to_ascii_lowercase();
            // Hasura strips these from sessions; never forward one as a header.
            if name == "x-hasura-admin-secret" || name == "x-hasura-access-key" {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        headers.insert(
            ROLE.clone(),
            HeaderValue::from_str(role).map_err(|_| GraphqlError::NoCallerRole)?,
        );
        Ok(self.call(headers))
    }

    /// Calls with the caller's own `Authorization` header (and role), so Hasura verifies the
    /// caller's token itself.
    pub fn with_authorization(
        &self,
        authorization: &HeaderValue,
        role: Option<&str>,
    ) -> GraphqlCall<'_> {
        let mut headers = HeaderMap::new();
        let mut authorization = authorization.clone();
        authorization.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, authorization);
        if let Some(role) = role.and_then(|r| HeaderValue::from_str(r).ok()) {
            headers.insert(ROLE.clone(), role);
        }
        self.call(headers)
    }
}

/// One prepared way of calling Hasura (its headers); run operations with it.
#[derive(Debug)]
pub struct GraphqlCall<'a> {
    client: &'a GraphqlClient,
    headers: HeaderMap,
}

#[derive(serde::Serialize)]
struct RequestBody<'a, V> {
    query: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variables: Option<&'a V>,
    #[serde(rename = "operationName", skip_serializing_if = "Option::is_none")]
    operation_name: Option<&'a str>,
}

#[derive(Deserialize)]
struct ResponseBody<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

impl GraphqlCall<'_> {
    /// Adds `x-request-id` so Hasura's logs and the handler's share an id.
    pub fn request_id(mut self, id: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(id) {
            self.headers.insert(REQUEST_ID.clone(), value);
        }
        self
    }

    /// Adds `headers` (trace context) to the call.
    pub(crate) fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers.extend(headers);
        self
    }

    /// The headers this call sends (the secret ones are marked sensitive).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Runs a typed operation generated by the codegen: variables in, typed data out.
    pub async fn execute<Op: GraphqlOperation>(
        &self,
        variables: &Op::Variables,
    ) -> Result<Op::ResponseData, GraphqlError> {
        let data = self
            .send(Op::QUERY, Some(variables), Some(Op::OPERATION_NAME))
            .await?;
        serde_json::from_str(data.get()).map_err(|e| GraphqlError::Decode {
            message: format!(
                "the data of `{}` does not match its generated type: {e}",
                Op::OPERATION_NAME
            ),
        })
    }

    /// Runs a query string with JSON variables; returns `data`.
    pub async fn execute_raw(
        &self,
        query: &str,
        variables: Option<&Value>,
        operation_name: Option<&str>,
    ) -> Result<Value, GraphqlError> {
        self.execute_named(query, variables, operation_name).await
    }

    /// Runs a query string and deserializes `data` into `T`.
    pub async fn execute_as<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Option<&Value>,
    ) -> Result<T, GraphqlError> {
        self.execute_named(query, variables, None).await
    }

    async fn execute_named<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Option<&Value>,
        operation_name: Option<&str>,
    ) -> Result<T, GraphqlError> {
        let data = self.send(query, variables, operation_name).await?;
        serde_json::from_str(data.get()).map_err(|e| GraphqlError::Decode {
            message: e.to_string(),
        })
    }

    async fn send<V: serde::Serialize>(
        &self,
        query: &str,
        variables: Option<&V>,
        operation_name: Option<&str>,
    ) -> Result<Box<RawValue>, GraphqlError> {
        let body = serde_json::to_vec(&RequestBody {
            query,
            variables,
            operation_name,
        })
        .map_err(|e| GraphqlError::Decode {
            message: format!("variables do not serialize: {e}"),
        })?;
        // A mutation is sent once: a retried mutation could apply twice.
        let attempts = if is_query_only(query, operation_name) {
            QUERY_ATTEMPTS
        } else {
            1
        };
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            let result = self
                .client
                .http
                .post(self.client.url.clone())
                .timeout(self.client.timeout)
                .headers(self.headers.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(response) => break response,
                Err(e) if attempt < attempts && connection_failed(&e) => {
                    tracing::debug!(attempt, error = %e, "GraphQL connection failed; retrying the query");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    self.client.count(0);
                    return Err(GraphqlError::Transport {
                        message: transport_message(e),
                        attempts: attempt,
                    });
                }
            }
        };
        let status = response.status();
        self.client.count(status.as_u16());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GraphqlError::Transport {
                message: transport_message(e),
                attempts: attempt,
            })?;
        let parsed: Result<ResponseBody<'_>, _> = serde_json::from_slice(&bytes);
        if !status.is_success() {
            // `/v1/graphql` answers 200 even for errors; anything else (a proxy, an older
            // endpoint, a wrong admin secret on some versions) keeps whatever errors it has.
            let errors = match &parsed {
                Ok(ResponseBody {
                    errors: Some(errors),
                    ..
                }) => errors.iter().map(GraphqlErrorItem::from_json).collect(),
                _ => serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .filter(Value::is_object)
                    .map(|v| vec![GraphqlErrorItem::from_json(&v)])
                    .unwrap_or_default(),
            };
            return Err(GraphqlError::Status {
                status: status.as_u16(),
                errors,
            });
        }
        let parsed = parsed.map_err(|e| GraphqlError::Decode {
            message: format!("Hasura's answer is not a GraphQL response: {e}"),
        })?;
        match parsed.errors {
            Some(errors) if !errors.is_empty() => Err(GraphqlError::Response {
                errors: errors.iter().map(GraphqlErrorItem::from_json).collect(),
                data: parsed
                    .data
                    .and_then(|d| serde_json::from_str::<Value>(d.get()).ok())
                    .filter(|d| !d.is_null()),
            }),
            _ => match parsed.data {
                Some(data) => Ok(data.to_owned()),
                None => Err(GraphqlError::Decode {
                    message: "Hasura's answer has neither data nor errors".into(),
                }),
            },
        }
    }
}

/// Connection failures worth retrying for a query: nothing was answered.
fn connection_failed(e: &reqwest::Error) -> bool {
    !e.is_timeout() && (e.is_connect() || (e.is_request() && e.status().is_none()))
}

/// The error with its causes, without the URL's query (which never holds a secret here, but
/// the rule is simple: errors carry what failed, not request data).
fn transport_message(e: reqwest::Error) -> String {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if timed_out {
        message.push_str(" (timed out)");
    }
    message
}

/// Whether the operation run is a query: the named operation (or the only one) starts with
/// `query` or `{`. Anything unclear counts as a mutation, which is never retried.
pub(crate) fn is_query_only(document: &str, operation_name: Option<&str>) -> bool {
    // Top-level definitions: (keyword, name). A `{` at depth 0 that no keyword announced is a
    // shorthand query.
    let mut definitions: Vec<(&str, Option<&str>)> = Vec::new();
    let bytes = document.as_bytes();
    let (mut i, mut braces, mut parens, mut announced) = (0, 0usize, 0usize, false);
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => parens += 1,
            b')' => parens = parens.saturating_sub(1),
            b'{' => {
                if braces == 0 && parens == 0 {
                    if announced {
                        announced = false;
                    } else {
                        definitions.push(("query", None));
                    }
                }
                braces += 1;
            }
            b'}' => braces = braces.saturating_sub(1),
            _ if braces == 0 && parens == 0 && (c.is_ascii_alphabetic() || c == b'_') => {
                let word_at = |mut j: usize| {
                    let start = j;
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
                    {
                        j += 1;
                    }
                    (&document[start..j], j)
                };
                let (word, end) = word_at(i);
                i = end;
                if !announced && matches!(word, "query" | "mutation" | "subscription" | "fragment")
                {
                    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    let (name, end) = word_at(i);
                    i = end;
                    definitions.push((word, (!name.is_empty()).then_some(name)));
                    announced = true;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let operations: Vec<_> = definitions
        .into_iter()
        .filter(|(kind, _)| *kind != "fragment")
        .collect();
    let chosen = match operation_name {
        Some(wanted) => operations.iter().find(|(_, name)| *name == Some(wanted)),
        None if operations.len() == 1 => operations.first(),
        None => None,
    };
    matches!(chosen, Some(("query", _)))
}

/// One GraphQL error, whichever shape Hasura used (docs/protocol.md §0.3, §1.4): `extensions.code`
/// and `extensions.path`, an action handler's verbatim `extensions`, a legacy root `code`, or a
/// REST-style `{"error", "code", "path"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphqlErrorItem {
    /// The message.
    pub message: String,
    /// `extensions.code` (or a legacy root `code`); `None` when the handler sent none.
    pub code: Option<String>,
    /// `extensions.path` (or the root `path`, a JSON path or a GraphQL path list).
    pub path: Option<String>,
    /// The whole `extensions` object (an action handler's own object arrives verbatim).
    pub extensions: Map<String, Value>,
}

impl GraphqlErrorItem {
    /// Reads one error object.
    pub fn from_json(value: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let path_text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(parts)) => Some(parts.iter().fold(String::from("$"), |mut p, x| {
                match x {
                    Value::Number(n) => p.push_str(&format!("[{n}]")),
                    Value::String(s) => {
                        p.push('.');
                        p.push_str(s);
                    }
                    _ => {}
                }
                p
            })),
            _ => None,
        };
        let extensions = value
            .get("extensions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let message = text(value.get("message"))
            .or_else(|| text(value.get("error")))
            .unwrap_or_else(|| value.to_string());
        let code = text(extensions.get("code")).or_else(|| {
            // Only when the handler sent no extensions object at all does a root code count.
            if value.get("extensions").is_none() {
                text(value.get("code"))
            } else {
                None
            }
        });
        let path = path_text(extensions.get("path")).or_else(|| path_text(value.get("path")));
        Self {
            message,
            code,
            path,
            extensions,
        }
    }
}

impl fmt::Display for GraphqlErrorItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.code, &self.path) {
            (Some(code), Some(path)) => write!(f, " ({code} at {path})"),
            (Some(code), None) => write!(f, " ({code})"),
            (None, Some(path)) => write!(f, " (at {path})"),
            (None, None) => Ok(()),
        }
    }
}

/// A failed GraphQL call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphqlError {
    /// Hasura answered with `errors` (HTTP 200); any partial `data` is kept.
    #[error("Hasura answered with errors: {}", list(errors))]
    Response {
        /// Every error, in order.
        errors: Vec<GraphqlErrorItem>,
        /// The partial data, when Hasura sent some.
        data: Option<Value>,
    },
    /// A non-2xx HTTP status, with whatever errors its body held.
    #[error("Hasura answered HTTP {status}: {}", list(errors))]
    Status {
        /// The status.
        status: u16,
        /// The errors in the body.
        errors: Vec<GraphqlErrorItem>,
    },
    /// The connection failed or timed out.
    #[error("cannot reach Hasura after {attempts} attempt(s): {message}")]
    Transport {
        /// What failed.
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The answer is not a GraphQL response, or its data does not match the expected type.
    #[error("unexpected GraphQL answer: {message}")]
    Decode {
        /// What does not match.
        message: String,
    },
    /// `as_role` without a role in the caller's session (crons have none).
    #[error("the caller has no role to act as (no x-hasura-role in the session)")]
    NoCallerRole,
    /// `as_caller` in a handler that did not verify the caller's JWT.
    #[error("no verified caller token to forward: only `jwt` actions can call as the caller")]
    NoCallerToken,
}

fn list(errors: &[GraphqlErrorItem]) -> String {
    if errors.is_empty() {
        return "(no error details)".into();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl GraphqlError {
    /// The errors Hasura reported (empty for transport and decoding failures).
    pub fn errors(&self) -> &[GraphqlErrorItem] {
        match self {
            Self::Response { errors, .. } | Self::Status { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The first error's code, such as `constraint-violation` or an action's own code.
    pub fn code(&self) -> Option<&str> {
        self.errors().first().and_then(|e| e.code.as_deref())
    }

    /// The partial data that came with the errors.
    pub fn partial_data(&self) -> Option<&Value> {
        match self {
            Self::Response { data, .. } => data.as_ref(),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (Hasura unreachable or failing with 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// How this module's errors answer an event or cron delivery: `graphql-error`, transient when
/// Hasura is unreachable or answers 5xx/429 ([`GraphqlError::is_transient`]).
pub(crate) fn classify(any: &dyn std::any::Any) -> Option<crate::error::DeliveryFailure> {
    any.downcast_ref::<GraphqlError>()
        .map(|e| crate::error::DeliveryFailure {
            code: "graphql-error",
            transient: e.is_transient(),
        })
}

impl From<GraphqlError> for crate::ActionError {
    /// Hasura's own error reaches the action's caller with its message and code (minus
    /// `extensions.internal`, which holds admin-only details); other failures become
    /// `unexpected`, with the details in the log only.
    fn from(error: GraphqlError) -> Self {
        if let Some(first) = error.errors().first() {
            let mut action_error = crate::ActionError::bad_request(
                first.code.clone().unwrap_or_else(|| "unexpected".into()),
                first.message.clone(),
            );
            for (key, value) in &first.extensions {
                if key != "code" && key != "internal" && key != "path" {
                    action_error = action_error.with_extension(key.clone(), value.clone());
                }
            }
            return action_error;
        }
        tracing::error!(error = %error, "GraphQL call to Hasura failed");
        match error {
            GraphqlError::NoCallerRole | GraphqlError::NoCallerToken => {
                crate::ActionError::bad_request("unexpected", error.to_string())
            }
            _ => crate::ActionError::bad_request("unexpected", "a call to Hasura failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_plain_queries_are_retried() {
        assert!(is_query_only("query Q { a }", None));
        assert!(is_query_only("{ a }", None));
        assert!(is_query_only(
            "  # comment mutation\n query Q($x: String = \"mutation {\") { a(x: $x) }",
            Some("Q")
        ));
        assert!(is_query_only(
            "fragment F on T { a } query Q { ...F }",
            None
        ));
        assert!(!is_query_only("mutation M { a }", None));
        assert!(!is_query_only("query Q { a } mutation M { b }", None));
        assert!(!is_query_only("query Q { a } mutation M { b }", Some("M")));
        assert!(is_query_only("query Q { a } mutation M { b }", Some("Q")));
        assert!(!is_query_only("subscription S { a }", None));
        assert!(!is_query_only("query Q { a }", Some("Other")));
        assert!(is_query_only(
            "query Q { a(s: \"\"\" } mutation \"\"\") { b { c } } }",
            None
        ));
        assert!(is_query_only(
            "query Q($i: In = {a: {b: 1}}) { a(i: $i) }",
            None
        ));
        assert!(!is_query_only(
            "mutation($i: In = {a: 1}) { a(i: $i) }",
            None
        ));
    }

    #[test]
    fn reads_every_error_shape() {
        let standard = GraphqlErrorItem::from_json(&json!({
            "message": "field 'foo' not found in type: 'query_root'",
            "extensions": {"path": "$.selectionSet.foo", "code": "validation-failed"}
        }));
        assert_eq!(standard.code.as_deref(), Some("validation-failed"));
        assert_eq!(standard.path.as_deref(), Some("$.selectionSet.foo"));

        let verbatim = GraphqlErrorItem::from_json(&json!({
            "message": "m", "code": "ignored", "extensions": {"foo": "bar", "code": "x"}
        }));
        assert_eq!(verbatim.code.as_deref(), Some("x"));
        assert_eq!(verbatim.path, None);
        assert_eq!(verbatim.extensions["foo"], "bar");

        let empty = GraphqlErrorItem::from_json(&json!({"message": "m", "extensions": {}}));
        assert_eq!(empty.code, None);

        let legacy = GraphqlErrorItem::from_json(&json!({"message": "m", "code": "c"}));
        assert_eq!(legacy.code.as_deref(), Some("c"));

        let rest = GraphqlErrorItem::from_json(&json!({
            "path": "$.args", "error": "not allowed", "code": "access-denied"
        }));
        assert_eq!(rest.message, "not allowed");
        assert_eq!(rest.code.as_deref(), Some("access-denied"));
        assert_eq!(rest.path.as_deref(), Some("$.args"));

        let spec =
            GraphqlErrorItem::from_json(&json!({"message": "m", "path": ["user", 0, "name"]}));
        assert_eq!(spec.path.as_deref(), Some("$.user[0].name"));
    }

    #[test]
    fn endpoint_paths_are_appended() {
        let base = url::Url::parse("http://h:8080").unwrap();
        assert_eq!(
            endpoint_url(&base, "v1/graphql").as_str(),
            "http://h:8080/v1/graphql"
        );
        let prefixed = url::Url::parse("http://h/hasura/").unwrap();
        assert_eq!(
            endpoint_url(&prefixed, "v1/metadata").as_str(),
            "http://h/hasura/v1/metadata"
        );
    }
}
