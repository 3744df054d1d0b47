//! `hello(name)`: a query action, typed by `hasura/metadata/actions.graphql`.

use rasura::{ActionError, Ctx, action};

use crate::hasura::actions::HelloArgs;
use crate::hasura::types::HelloOutput;

/// Greets the caller by name.
%if redis
#[action(query, roles = ["user"], rate = "5/s, burst 10")]
%else
#[action(query, roles = ["user"])]
%end
pub async fn hello(ctx: Ctx, input: HelloArgs) -> Result<HelloOutput, ActionError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(ActionError::bad_request(
            "empty-name",
            "name must not be empty",
        ));
    }
    let who = ctx.identity().user_id().unwrap_or("anonymous");
    Ok(HelloOutput {
        greeting: format!("Hello, {name}! (user {who})"),
    })
}

#[cfg(test)]
mod tests {
    use rasura::testing::TestService;
    use rasura::{Service, handler};
    use serde_json::json;

    fn hasura() -> TestService {
        TestService::new(Service::with_handlers([handler!(super::hello)]))
    }

    #[tokio::test]
    async fn greets_the_caller() {
        let res = hasura()
            .action("hello")
            .role("user")
            .user_id("42")
            .input(json!({"name": "Ada"}))
            .send()
            .await;
        res.assert_status(200);
        assert_eq!(
            res.json::<serde_json::Value>(),
            json!({"greeting": "Hello, Ada! (user 42)"})
        );
    }

    #[tokio::test]
    async fn refuses_bad_input_roles_and_secrets() {
        let hasura = hasura();
        hasura
            .action("hello")
            .role("user")
            .input(json!({"name": " "}))
            .send()
            .await
            .assert_error(400, "empty-name");
        hasura
            .action("hello")
            .role("user")
            .input(json!({"name": 7}))
            .send()
            .await
            .assert_error(400, "validation-failed");
        hasura
            .action("hello")
            .role("anonymous")
            .input(json!({"name": "Ada"}))
            .send()
            .await
            .assert_status(403);
        hasura
            .action("hello")
            .role("user")
            .secret("wrong")
            .input(json!({"name": "Ada"}))
            .send()
            .await
            .assert_error(401, "access-denied");
    }
%if redis

    #[tokio::test]
    async fn is_rate_limited_per_caller() {
        let hasura = hasura();
        let mut limited = 0;
        for _ in 0..40 {
            let res = hasura
                .action("hello")
                .role("user")
                .user_id("42")
                .input(json!({"name": "Ada"}))
                .send()
                .await;
            if res.status == 429 {
                assert!(res.header("retry-after").is_some());
                limited += 1;
            }
        }
        // 40 calls exceed a burst of 10 unless they took over 6 s.
        assert!(limited > 0, "40 calls in a row exceed a burst of 10");
    }
%end
}
