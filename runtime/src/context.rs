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
    pub(crate) request_id: Arc<str>,
    pub(crate) headers: Arc<HeaderMap>,
    pub(crate) claims: Option<Arc<VerifiedClaims>>,
    pub(crate) handler: &'static str,
}

impl Ctx {
    /// The caller's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This request's id (`x-request-id`, generated when Hasura did not send one).
    pub fn request_id(&self) -> &str {
        &self.request_id
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
        Self {
            shared: Arc::new(Shared::default()),
            identity,
            request_id: Arc::from("test"),
            headers: Arc::new(HeaderMap::new()),
            claims: None,
            handler: "test",
        }
    }
}
