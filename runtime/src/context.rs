//! What every handler receives: the caller's identity and request details, and the service's
//! shared resources (built once at start-up).

use std::sync::Arc;

use http::HeaderMap;

use crate::protocol::SessionVariables;
use crate::security::jwt::VerifiedClaims;

/// Who called: the session Hasura sent (for actions and for events caused by a Hasura request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    session: SessionVariables,
}

impl Identity {
    /// An identity from session variables.
    pub fn new(session: SessionVariables) -> Self {
        Self { session }
    }

    /// `x-hasura-role` (always present for actions; `None` for crons and for events caused
    /// outside Hasura).
    pub fn role(&self) -> Option<&str> {
        self.session.role()
    }

    /// `x-hasura-user-id`, if the session has one.
    pub fn user_id(&self) -> Option<&str> {
        self.session.user_id()
    }

    /// Any session variable, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.session.get(name)
    }

    /// Every session variable.
    pub fn session_variables(&self) -> &SessionVariables {
        &self.session
    }
}

/// `x-request-id`: read from Hasura's request, sent back on every response.
pub(crate) static REQUEST_ID_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-request-id");

/// A request id: Hasura's `x-request-id`, or 128 random bits in hex. Kept as the header value
/// it is sent back as, so it is allocated at most once per request.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(http::HeaderValue);

impl RequestId {
    /// The incoming `x-request-id` when it is short visible ASCII, else a new random id.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        match headers.get(&REQUEST_ID_HEADER) {
            Some(id)
                if !id.is_empty()
                    && id.len() <= 128
                    && id.as_bytes().iter().all(u8::is_ascii_graphic) =>
            {
                Self(id.clone())
            }
            // The thread-local generator (no syscall), hex-encoded without `fmt`.
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = rand::random::<u128>();
                let mut id = [0u8; 32];
                for (i, digit) in id.iter_mut().enumerate() {
                    *digit = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
                }
                Self(
                    http::HeaderValue::from_bytes(&id)
                        .unwrap_or_else(|_| http::HeaderValue::from_static("invalid")),
                )
            }
        }
    }

    pub(crate) fn from_text(text: String) -> Self {
        let value = http::HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
            .unwrap_or_else(|_| http::HeaderValue::from_static("invalid"));
        Self(value)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only visible ASCII gets here (checked above, or hex).
        self.0.to_str().unwrap_or_default()
    }

    pub(crate) fn header_value(&self) -> http::HeaderValue {
        self.0.clone()
    }
}

/// State shared by every request of one service.
#[derive(Debug, Default)]
pub(crate) struct Shared {}

/// The handler context: identity, request details and shared resources.
///
/// Cheap to clone; built by Rasura for every call.
#[derive(Debug, Clone)]
pub struct Ctx {
    #[allow(dead_code)] // resources arrive with the context work; the Arc is how they are shared
    pub(crate) shared: Arc<Shared>,
    pub(crate) identity: Identity,
    pub(crate) request_id: RequestId,
    pub(crate) headers: Arc<HeaderMap>,
    pub(crate) claims: Option<Arc<VerifiedClaims>>,
    pub(crate) handler: &'static str,
}

impl Ctx {
    pub(crate) fn new(
        shared: Arc<Shared>,
        identity: Identity,
        request_id: &RequestId,
        headers: HeaderMap,
        claims: Option<Arc<VerifiedClaims>>,
        handler: &'static str,
    ) -> Self {
        Self {
            shared,
            identity,
            request_id: request_id.clone(),
            headers: Arc::new(headers),
            claims,
            handler,
        }
    }

    /// The caller's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This request's id (`x-request-id`, generated when Hasura did not send one).
    pub fn request_id(&self) -> &str {
        self.request_id.as_str()
    }

    /// The request headers Hasura sent (for `jwt` actions these include the client's forwarded
    /// headers, such as `Authorization`).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The verified JWT claims, for `jwt` actions.
    pub fn jwt_claims(&self) -> Option<&VerifiedClaims> {
        self.claims.as_deref()
    }

    /// The name of the handler being run.
    pub fn handler_name(&self) -> &'static str {
        self.handler
    }

    /// A context for unit-testing a handler function directly.
    pub fn for_tests(identity: Identity) -> Self {
        let request_id = RequestId::from_text("test".into());
        Self::new(
            Arc::default(),
            identity,
            &request_id,
            HeaderMap::new(),
            None,
            "test",
        )
    }
}
