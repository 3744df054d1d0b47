//! The webhook routes the server answers without axum's router: `POST` to a handler's own path
//! (`/actions/pong`). Hasura calls nothing else on the hot path, and these routes have no
//! parameters, layers or extractors for the router to apply, so a lookup of the exact path
//! replaces its matching, method routing and boxed service call (and the code they bring into
//! the instruction cache on every request). Everything else, including every other method on
//! these paths, goes through the router; the answers are the same either way (the router also
//! routes these paths, for `Service::router` and the test kit).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use http::Method;

use super::{Action, App, Cron, Event, Route, Scheduled, handle};
use crate::registry::{Handler, HandlerKind};

/// The handlers' own paths, each with its handler.
pub(crate) struct DirectRoutes {
    app: Arc<App>,
    posts: PostRoutes<&'static Handler>,
}

/// Exact paths answered for `POST` only.
struct PostRoutes<T> {
    by_path: HashMap<String, T>,
}

impl<T: Copy> PostRoutes<T> {
    /// What `method path` is for: only a `POST` to one of the paths exactly (its query aside,
    /// nothing decoded, no trailing slash forgiven: as the router matches).
    fn find(&self, method: &Method, path: &str) -> Option<T> {
        if method == Method::POST {
            self.by_path.get(path).copied()
        } else {
            None
        }
    }
}

impl DirectRoutes {
    /// The routes of `handlers`, served with `app`.
    pub(crate) fn new(app: Arc<App>, handlers: &[&'static Handler]) -> Self {
        let by_path = handlers.iter().map(|h| (h.route(), *h)).collect();
        Self {
            app,
            posts: PostRoutes { by_path },
        }
    }

    /// The handler `POST path` is for, if the path is a handler's own.
    pub(crate) fn find(&self, method: &Method, path: &str) -> Option<&'static Handler> {
        self.posts.find(method, path)
    }

    /// Answers `request` with `handler`, as the router's route for it would.
    pub(crate) async fn serve(&self, handler: &'static Handler, request: Request) -> Response {
        let (app, route) = (Arc::clone(&self.app), Route::Handler(handler));
        match handler.kind {
            HandlerKind::Action(_) => handle::<Action>(app, route, request).await,
            HandlerKind::Event(_) => handle::<Event>(app, route, request).await,
            HandlerKind::Cron(_) => handle::<Cron>(app, route, request).await,
            HandlerKind::Scheduled(_) => handle::<Scheduled>(app, route, request).await,
        }
    }
}

/// What the server (and the test kit) calls for every request: a handler's own route
/// directly, anything else through the router.
#[derive(Clone)]
pub(crate) struct Dispatch {
    router: axum::Router,
    direct: Option<Arc<DirectRoutes>>,
}

impl Dispatch {
    /// `router` for everything but the handlers' own routes, which `direct` answers.
    pub(crate) fn new(router: axum::Router, direct: DirectRoutes) -> Self {
        Self {
            router,
            direct: Some(Arc::new(direct)),
        }
    }

    /// Everything through `router` (one built elsewhere, as `TestService::from_router` takes).
    #[cfg(feature = "testing")]
    pub(crate) fn router_only(router: axum::Router) -> Self {
        Self {
            router,
            direct: None,
        }
    }

    /// The router alone (it routes every path, the handlers' own included).
    pub(crate) fn router(&self) -> &axum::Router {
        &self.router
    }

    /// Answers `request`.
    pub(crate) async fn call(&self, request: Request) -> Response {
        if let Some(direct) = &self.direct {
            if let Some(handler) = direct.find(request.method(), request.uri().path()) {
                let mut response = direct.serve(handler, request).await;
                set_content_length(&mut response);
                return response;
            }
        }
        match tower::Service::call(&mut self.router.clone(), request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// `Content-Length` from a body of known size, as axum's router sets it (hyper would on the
/// wire; the test kit has no hyper).
fn set_content_length(response: &mut Response) {
    use axum::body::HttpBody as _;
    if response
        .headers()
        .contains_key(http::header::CONTENT_LENGTH)
    {
        return;
    }
    if let Some(size) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(size));
    }
}

#[cfg(test)]
mod tests {
    use http::{Method, Uri};

    use super::PostRoutes;

    #[test]
    fn only_a_post_to_an_exact_path_is_answered_directly() {
        let routes = PostRoutes {
            by_path: [
                ("/actions/pong".to_owned(), 1u8),
                ("/events/x".to_owned(), 2),
            ]
            .into(),
        };
        let find = |method: Method, target: &str| {
            let uri: Uri = target.parse().unwrap();
            routes.find(&method, uri.path())
        };
        assert_eq!(find(Method::POST, "/actions/pong"), Some(1));
        assert_eq!(find(Method::POST, "/actions/pong?x=1"), Some(1));
        assert_eq!(find(Method::POST, "http://h/events/x"), Some(2));
        for (method, target) in [
            (Method::GET, "/actions/pong"),
            (Method::HEAD, "/actions/pong"),
            (Method::PUT, "/actions/pong"),
            (Method::POST, "/actions/pong/"),
            (Method::POST, "/actions/p%6Fng"),
            (Method::POST, "/actions/Pong"),
            (Method::POST, "/actions"),
            (Method::POST, "/actions/"),
            (Method::POST, "//actions/pong"),
        ] {
            assert_eq!(find(method.clone(), target), None, "{method} {target}");
        }
    }
}
