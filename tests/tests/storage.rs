//! `ctx.storage()` on the local filesystem and in memory, the signed `/files` URLs (valid,
//! expired, tampered), the example's `upload_file`, and typed user state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rasura::storage::{Storage, StorageError, StorageLocation};
use rasura::testing::TestService;
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::Serialize;
use serde_json::{Value, json};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rasura-storage-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        .into()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A service with the example's `upload_file`, storing in `location`.
fn service(location: StorageLocation, upload_limit: usize) -> TestService {
    TestService::new(
        Service::with_handlers([handler!(example_default::upload_file)]).with_config(
            TestService::config()
                .with_storage(location)
                .with_upload_limit(upload_limit)
                .with_public_url(url::Url::parse("https://files.example.test/svc").unwrap()),
        ),
    )
}

fn upload(
    s: &TestService,
    name: &str,
    kind: &str,
    data: &str,
) -> rasura::testing::ActionRequestBuilder {
    s.action("upload_file")
        .role("user")
        .user_id("u1")
        .input(json!({"file_name": name, "file_type": kind, "file_data": data}))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The path and query of an absolute URL (what the router sees).
fn local_path(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    let path = url.path().strip_prefix("/svc").unwrap().to_owned();
    format!("{path}?{}", url.query().unwrap_or_default())
}

#[tokio::test]
async fn upload_file_stores_on_the_local_filesystem_and_serves_a_signed_url() {
    let dir = temp_dir("local");
    let s = service(StorageLocation::Local { root: dir.clone() }, 1024);
    let content = b"hello, file";
    let r = upload(&s, "notes.txt", "text/plain", &b64(content))
        .send()
        .await;
    r.assert_status(200);
    let out: Value = r.json();
    let url = out["file_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://files.example.test/svc/files/uploads/u1/"),
        "{url}"
    );
    assert_eq!(out["size"], content.len());
    let file_id = out["file_id"].as_str().unwrap();
    assert_eq!(
        std::fs::read(dir.join("uploads/u1").join(file_id).join("notes.txt")).unwrap(),
        content
    );

    let file = s.get(&local_path(url)).await;
    file.assert_status(200);
    assert_eq!(file.body, content);
    // The local backend keeps no attributes: the type comes from the extension.
    assert_eq!(
        file.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(file.header("content-disposition"), None);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn signed_urls_refuse_expired_tampered_and_unsigned_requests() {
    // Upload through the service, so the URL is signed with the service's key.
    let router = service(StorageLocation::Memory, 1 << 20);
    let r = upload(&router, "page.html", "text/html", &b64(b"<h1>hi</h1>"))
        .send()
        .await;
    r.assert_status(200);
    let url = r.json::<Value>()["file_url"].as_str().unwrap().to_owned();
    let path = local_path(&url);

    // Valid: served, but HTML is an attachment (it must not run on the service's origin).
    let ok = router.get(&path).await;
    ok.assert_status(200);
    assert_eq!(ok.body, b"<h1>hi</h1>");
    assert_eq!(ok.header("content-type"), Some("text/html"));
    assert_eq!(ok.header("content-disposition"), Some("attachment"));
    assert_eq!(ok.header("x-content-type-options"), Some("nosniff"));

    let (file_path, query) = path.split_once('?').unwrap();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let expires: u64 = params[0].1.parse().unwrap();
    let signature = params[1].1.clone();
    assert!(expires > now() && expires <= now() + 3600);

    // Tampered signature, expiry, or key.
    let mut flipped = signature.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for (path, why) in [
        (
            format!("{file_path}?expires={expires}&signature={flipped}"),
            "invalid URL signature",
        ),
        (
            format!("{file_path}?expires={}&signature={signature}", expires + 1),
            "invalid URL signature",
        ),
        (
            format!("{}x?expires={expires}&signature={signature}", file_path),
            "invalid URL signature",
        ),
        (
            format!("{file_path}?expires={expires}&signature=zz"),
            "invalid URL signature",
        ),
        (file_path.to_owned(), "not signed"),
        (format!("{file_path}?expires={expires}"), "not signed"),
    ] {
        let r = router.get(&path).await;
        r.assert_error(403, "access-denied");
        assert!(r.message().contains(why), "{path}: {}", r.message());
    }

    // Expired: a correctly signed URL whose time has passed.
    let expired = expired_url_for_service().await;
    let r = expired.0.get(&expired.1).await;
    r.assert_error(403, "access-denied");
    assert!(r.message().contains("expired"), "{}", r.message());

    // A signed URL for a key that does not exist.
    let missing = expired.0.get(&expired.2).await;
    missing.assert_error(404, "not-exists");
}

#[derive(Serialize, rasura::CustomType)]
struct Links {
    expired: String,
    missing: String,
}

/// Signs URLs with the service's own storage: one already expired, one for a missing key.
#[action(query, roles = ["user"])]
async fn sign_links(ctx: Ctx) -> Result<Links, ActionError> {
    let storage = ctx.storage()?;
    storage.upload("k/old.txt", "old", "text/plain").await?;
    let past = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| ActionError::bad_request("clock", e.to_string()))?
        .as_secs()
        - 1;
    Ok(Links {
        expired: storage.files_url("k/old.txt", past).to_string(),
        missing: storage
            .url("k/missing.txt", Duration::from_secs(60))
            .await?
            .to_string(),
    })
}

async fn expired_url_for_service() -> (TestService, String, String) {
    let s = TestService::new(
        Service::with_handlers([handler!(sign_links)]).with_config(
            TestService::config()
                .with_public_url(url::Url::parse("https://files.example.test/svc").unwrap()),
        ),
    );
    let r = s.action("sign_links").role("user").send().await;
    r.assert_status(200);
    let links: Value = r.json();
    let expired = local_path(links["expired"].as_str().unwrap());
    let missing = local_path(links["missing"].as_str().unwrap());
    (s, expired, missing)
}

#[tokio::test]
async fn upload_file_refuses_bad_input_with_clear_errors() {
    let s = service(StorageLocation::Memory, 16);
    upload(&s, "a.txt", "text/plain", "***not base64***")
        .send()
        .await
        .assert_error(400, "invalid-file-data");
    upload(&s, "a.txt", "not a type", &b64(b"x"))
        .send()
        .await
        .assert_error(400, "invalid-file-type");
    let r = upload(&s, "a.txt", "text/plain", &b64(&[b'x'; 17]))
        .send()
        .await;
    r.assert_error(413, "payload-too-large");
    assert!(r.message().contains("limit of 16 bytes"), "{}", r.message());
    upload(&s, "a.txt", "text/plain", &b64(&[b'x'; 16]))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_storage_api_round_trips_on_both_backends() {
    let dir = temp_dir("api");
    let base = url::Url::parse("http://svc.test").unwrap();
    let backends = [
        Storage::memory(base.clone(), 1 << 10),
        Storage::open(
            StorageLocation::Local { root: dir.clone() },
            [7; 32],
            base.clone(),
            1 << 10,
        )
        .unwrap(),
    ];
    for storage in backends {
        let stored = storage
            .upload("a/b/photo.png", vec![1u8, 2, 3], "image/png")
            .await
            .unwrap();
        assert_eq!(stored.size, 3);
        let got = storage.download("a/b/photo.png").await.unwrap();
        assert_eq!(got.bytes.as_ref(), [1, 2, 3]);
        assert_eq!(got.content_type.as_deref(), Some("image/png"));
        // Replacing keeps one object.
        storage
            .upload("a/b/photo.png", vec![9u8], "image/png")
            .await
            .unwrap();
        assert_eq!(
            storage
                .download("a/b/photo.png")
                .await
                .unwrap()
                .bytes
                .as_ref(),
            [9]
        );
        storage.delete("a/b/photo.png").await.unwrap();
        assert!(matches!(
            storage.download("a/b/photo.png").await,
            Err(StorageError::NotFound(_))
        ));
        // Deleting a missing object is fine; bad keys and lifetimes are clear errors.
        storage.delete("a/b/photo.png").await.unwrap();
        for bad in ["../etc/passwd", "/abs", "a//b", ""] {
            assert!(matches!(
                storage.upload(bad, vec![1u8], "text/plain").await,
                Err(StorageError::InvalidKey { .. })
            ));
        }
        assert!(matches!(
            storage.upload("big", vec![0u8; 1025], "text/plain").await,
            Err(StorageError::TooLarge {
                size: 1025,
                limit: 1024
            })
        ));
        assert!(matches!(
            storage.url("x", Duration::from_secs(8 * 24 * 3600)).await,
            Err(StorageError::InvalidLifetime)
        ));
        let url = storage
            .url("dir/a file.txt", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            url.as_str()
                .starts_with("http://svc.test/files/dir/a%20file.txt?expires="),
            "{url}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Shared user state.
struct Greeting(String);

#[derive(Serialize, rasura::CustomType)]
struct Said {
    said: String,
}

/// Reads the state given to the service.
#[action(query, roles = ["user"])]
async fn greet(ctx: Ctx) -> Result<Said, ActionError> {
    let greeting = ctx.state::<Greeting>()?;
    Ok(Said {
        said: greeting.0.clone(),
    })
}

#[tokio::test]
async fn user_state_is_typed_and_missing_state_is_a_clear_error() {
    let s = TestService::new(
        Service::with_handlers([handler!(greet)]).with_state(Greeting("bonjour".into())),
    );
    let r = s.action("greet").role("user").send().await;
    r.assert_status(200);
    assert_eq!(r.json::<Value>(), json!({"said": "bonjour"}));

    let s = TestService::new(Service::with_handlers([handler!(greet)]));
    let r = s.action("greet").role("user").send().await;
    r.assert_error(400, "not-configured");
    assert!(r.message().contains("Greeting"), "{}", r.message());
}

#[tokio::test]
async fn health_needs_no_secret_and_readiness_reports_unconfigured_resources() {
    let s = TestService::new(Service::with_handlers([handler!(greet)]));
    let r = s.get("/healthz").await;
    r.assert_status(200);
    assert_eq!(r.json::<Value>(), json!({"status": "alive"}));
    let r = s.get("/readyz").await;
    r.assert_status(200);
    assert_eq!(
        r.json::<Value>(),
        json!({"status": "ready", "checks": {"database": "not-configured", "hasura": "not-configured"}})
    );
    // The webhook routes still need the secret.
    s.post("/actions/greet")
        .without_secret()
        .send()
        .await
        .assert_error(401, "access-denied");
}
