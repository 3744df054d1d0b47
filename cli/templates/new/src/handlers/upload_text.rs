//! `upload_text(name, content)`: stores a text file in object storage (`RASURA_STORAGE_URL`)
//! and answers a signed URL to read it.

use std::time::Duration;

use rasura::{ActionError, Ctx, action};

use crate::hasura::actions::UploadTextArgs;
use crate::hasura::types::UploadTextOutput;

/// How long the answered URL stays valid.
pub const URL_LIFETIME: Duration = Duration::from_secs(3600);

/// Stores `content` as `uploads/<user>/<name>` and answers a URL valid for an hour.
#[action(mutation, roles = ["user"])]
pub async fn upload_text(ctx: Ctx, input: UploadTextArgs) -> Result<UploadTextOutput, ActionError> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !s.starts_with('.')
    };
    if !valid(&input.name) {
        return Err(ActionError::bad_request(
            "invalid-name",
            "name must be 1 to 128 characters among a-z, A-Z, 0-9, '-', '_' and '.', not starting with '.'",
        ));
    }
    let owner = ctx.identity().user_id().unwrap_or("anonymous");
    if !valid(owner) {
        return Err(ActionError::bad_request(
            "invalid-user",
            "unusable x-hasura-user-id",
        ));
    }
    let key = format!("uploads/{owner}/{}", input.name);
    let storage = ctx.storage()?;
    storage
        .upload(
            &key,
            input.content.into_bytes(),
            "text/plain; charset=utf-8",
        )
        .await?;
    let url = storage.url(&key, URL_LIFETIME).await?;
    Ok(UploadTextOutput {
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use rasura::testing::TestService;
    use rasura::{Service, handler};
    use serde_json::json;

    #[tokio::test]
    async fn stores_the_text_and_answers_a_url_that_reads_it() {
        let hasura = TestService::new(Service::with_handlers([handler!(super::upload_text)]));
        let res = hasura
            .action("upload_text")
            .role("user")
            .user_id("42")
            .input(json!({"name": "note.txt", "content": "hi"}))
            .send()
            .await;
        res.assert_status(200);
        let url = res.json::<serde_json::Value>()["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = &url[url.find("/files/").unwrap()..];
        let file = hasura.get(path).await;
        file.assert_status(200);
        assert_eq!(file.body, b"hi");

        hasura
            .action("upload_text")
            .role("user")
            .user_id("42")
            .input(json!({"name": "../escape", "content": "x"}))
            .send()
            .await
            .assert_error(400, "invalid-name");
    }
}
