//! Object storage for handlers (`ctx.storage()`), on the `object_store` crate: the local
//! filesystem by default, memory for tests, and S3, Google Cloud Storage and Azure Blob behind the
//! `storage-s3`, `storage-gcs` and `storage-azure` features.
//!
//! Clients get URLs: the cloud backends sign them themselves; for the local and memory backends
//! the service serves `GET /files/{key}?expires=…&signature=…`, signed with HMAC-SHA256.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::Sha256;

/// The longest validity of a URL: 7 days, the limit of S3's signed URLs.
pub const MAX_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where objects live, parsed from `RASURA_STORAGE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// `file://<dir>` (`file://./data/storage` is relative to the working directory).
    Local {
        /// The directory (created at start-up).
        root: PathBuf,
    },
    /// `memory://`: kept in the process (tests, demos).
    Memory,
    /// `s3://<bucket>[/<prefix>]`; credentials and region from the standard `AWS_*` variables.
    S3 {
        /// The bucket.
        bucket: String,
        /// Key prefix inside the bucket (may be empty).
        prefix: String,
    },
    /// `gs://<bucket>[/<prefix>]`; credentials from `GOOGLE_SERVICE_ACCOUNT` and friends.
    Gcs {
        /// The bucket.
        bucket: String,
        /// Key prefix inside the bucket (may be empty).
        prefix: String,
    },
    /// `az://<container>[/<prefix>]`; account and credentials from the `AZURE_STORAGE_*`
    /// variables.
    Azure {
        /// The container.
        container: String,
        /// Key prefix inside the container (may be empty).
        prefix: String,
    },
}

impl Default for StorageLocation {
    fn default() -> Self {
        Self::Local {
            root: PathBuf::from("./data/storage"),
        }
    }
}

impl StorageLocation {
    /// Parses a storage URL: `file://<dir>`, `memory://`, `s3://bucket/prefix`,
    /// `gs://bucket/prefix` or `az://container/prefix`.
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        let invalid = |why: &str| StorageError::InvalidUrl(why.to_owned());
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected <scheme>://…, such as file://./data/storage"))?;
        let bucket_and_prefix = |what: &str| -> Result<(String, String), StorageError> {
            let rest = rest.trim_end_matches('/');
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid(&format!(
                    "missing the {what} name after {scheme}://"
                )));
            }
            if !prefix.is_empty() {
                validate_key(prefix).map_err(|_| invalid("invalid prefix"))?;
            }
            Ok((bucket.to_owned(), prefix.to_owned()))
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if rest.is_empty() {
                    return Err(invalid(
                        "file:// needs a directory, such as file://./data/storage",
                    ));
                }
                Ok(Self::Local {
                    root: PathBuf::from(rest),
                })
            }
            "memory" => Ok(Self::Memory),
            "s3" | "s3a" => {
                let (bucket, prefix) = bucket_and_prefix("bucket")?;
                Ok(Self::S3 { bucket, prefix })
            }
            "gs" => {
                let (bucket, prefix) = bucket_and_prefix("bucket")?;
                Ok(Self::Gcs { bucket, prefix })
            }
            "az" | "azure" => {
                let (container, prefix) = bucket_and_prefix("container")?;
                Ok(Self::Azure { container, prefix })
            }
            other => Err(invalid(&format!(
                "unsupported scheme `{other}`; use file, memory, s3, gs or az"
            ))),
        }
    }

    /// Whether the service serves this backend's URLs itself (`GET /files/{key}`).
    pub fn served_by_service(&self) -> bool {
        matches!(self, Self::Local { .. } | Self::Memory)
    }
}

impl fmt::Display for StorageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_prefix = |f: &mut fmt::Formatter<'_>, scheme: &str, bucket: &str, prefix: &str| {
            if prefix.is_empty() {
                write!(f, "{scheme}://{bucket}")
            } else {
                write!(f, "{scheme}://{bucket}/{prefix}")
            }
        };
        match self {
            Self::Local { root } => write!(f, "file://{}", root.display()),
            Self::Memory => f.write_str("memory://"),
            Self::S3 { bucket, prefix } => with_prefix(f, "s3", bucket, prefix),
            Self::Gcs { bucket, prefix } => with_prefix(f, "gs", bucket, prefix),
            Self::Azure { container, prefix } => with_prefix(f, "az", container, prefix),
        }
    }
}

/// A storage failure. Never contains credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// `RASURA_STORAGE_URL` is not a storage URL Rasura understands.
    #[error("invalid storage URL: {0}")]
    InvalidUrl(String),
    /// The backend needs a cargo feature this build does not have.
    #[error("{scheme}:// storage needs rasura's `{feature}` cargo feature")]
    FeatureDisabled {
        /// The URL scheme.
        scheme: &'static str,
        /// The feature to enable.
        feature: &'static str,
    },
    /// A key that is empty, absolute, or has `.`/`..`/empty segments or control characters.
    #[error("invalid object key `{key}`: {reason}")]
    InvalidKey {
        /// The key (user input, not a secret).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The object is larger than the upload limit.
    #[error("object of {size} bytes is larger than the upload limit of {limit} bytes")]
    TooLarge {
        /// The object's size.
        size: usize,
        /// The limit (`RASURA_UPLOAD_LIMIT`).
        limit: usize,
    },
    /// No object has this key.
    #[error("no object `{0}`")]
    NotFound(String),
    /// A URL lifetime of zero or over [`MAX_URL_LIFETIME`].
    #[error("URL lifetime must be between 1 second and 7 days")]
    InvalidLifetime,
    /// The backend failed (network, permissions, disk).
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StorageError {
    fn backend(key: &str, e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound(key.to_owned()),
            other => Self::Backend(other.to_string()),
        }
    }
}

/// How this module's errors answer an event or cron delivery: `storage-error`, transient when
/// the backend failed (not for a missing object, an invalid key or a size limit).
pub(crate) fn classify(any: &dyn std::any::Any) -> Option<crate::error::DeliveryFailure> {
    any.downcast_ref::<StorageError>()
        .map(|e| crate::error::DeliveryFailure {
            code: "storage-error",
            transient: matches!(e, StorageError::Backend(_)),
        })
}

impl From<StorageError> for crate::ActionError {
    fn from(e: StorageError) -> Self {
        use http::StatusCode;
        match &e {
            StorageError::TooLarge { .. } => crate::ActionError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                e.to_string(),
            ),
            StorageError::NotFound(_) => crate::ActionError::not_found(e.to_string()),
            StorageError::InvalidKey { .. } | StorageError::InvalidLifetime => {
                crate::ActionError::validation(e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "storage failed");
                crate::ActionError::bad_request("storage-error", "object storage failed")
            }
        }
    }
}

/// Checks an object key: `users/42/avatar.png` style, relative, without `.`/`..` or empty
/// segments, without control characters or backslashes, at most 1024 bytes.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let bad = |reason| {
        Err(StorageError::InvalidKey {
            key: key.chars().take(200).collect(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return bad("control characters and backslashes are not allowed");
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("segments must be non-empty and not `.` or `..` (no leading or trailing /)");
    }
    Ok(())
}

/// A stored object, as returned by [`Storage::upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its content type.
    pub content_type: String,
}

/// A downloaded object.
#[derive(Debug, Clone)]
pub struct Download {
    /// The content.
    pub bytes: Bytes,
    /// The content type, when the backend keeps it (the local backend guesses it from the
    /// key's extension).
    pub content_type: Option<String>,
}

type HmacSha256 = Hmac<Sha256>;

/// A cloud backend's URL signer (`object_store::signer::Signer` exists only with a cloud
/// feature).
type UrlSigner = Arc<
    dyn Fn(
            ObjectPath,
            Duration,
        ) -> futures_util::future::BoxFuture<'static, object_store::Result<url::Url>>
        + Send
        + Sync,
>;

#[cfg(any(
    feature = "storage-s3",
    feature = "storage-gcs",
    feature = "storage-azure"
))]
fn url_signer<S: object_store::signer::Signer>(store: Arc<S>) -> UrlSigner {
    Arc::new(move |path, expires_in| {
        let store = store.clone();
        Box::pin(async move { store.signed_url(http::Method::GET, &path, expires_in).await })
    })
}

/// The object storage handle: cheap to clone, shared by every handler.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    location: StorageLocation,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    signer: Option<UrlSigner>,
    /// Key of the service-served URLs (`/files`).
    url_key: [u8; 32],
    /// Base of the service-served URLs (`http://host:port`).
    public_base: url::Url,
    upload_limit: usize,
    /// The local backend cannot store attributes such as the content type.
    keeps_attributes: bool,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.inner.location.to_string())
            .field("upload_limit", &self.inner.upload_limit)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens the backend at `location` (creating the local directory). `url_key` signs the
    /// `/files` URLs the service serves; `public_base` is the service's URL as clients see it.
    pub fn open(
        location: StorageLocation,
        url_key: [u8; 32],
        public_base: url::Url,
        upload_limit: usize,
    ) -> Result<Self, StorageError> {
        #[allow(unused_mut)] // assigned only by the cloud backends
        let mut signer: Option<UrlSigner> = None;
        let (store, prefix, keeps_attributes): (Arc<dyn ObjectStore>, String, bool) =
            match &location {
                StorageLocation::Local { root } => {
                    std::fs::create_dir_all(root).map_err(|e| {
                        StorageError::Backend(format!("cannot create {}: {e}", root.display()))
                    })?;
                    let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
                        .map_err(|e| StorageError::Backend(e.to_string()))?;
                    (Arc::new(fs), String::new(), false)
                }
                StorageLocation::Memory => (
                    Arc::new(object_store::memory::InMemory::new()),
                    String::new(),
                    true,
                ),
                #[cfg(feature = "storage-s3")]
                StorageLocation::S3 { bucket, prefix } => {
                    let s3 = Arc::new(
                        object_store::aws::AmazonS3Builder::from_env()
                            .with_bucket_name(bucket)
                            .build()
                            .map_err(|e| StorageError::Backend(e.to_string()))?,
                    );
                    signer = Some(url_signer(s3.clone()));
                    (s3, prefix.clone(), true)
                }
                #[cfg(feature = "storage-gcs")]
                StorageLocation::Gcs { bucket, prefix } => {
                    let gcs = Arc::new(
                        object_store::gcp::GoogleCloudStorageBuilder::from_env()
                            .with_bucket_name(bucket)
                            .build()
                            .map_err(|e| StorageError::Backend(e.to_string()))?,
                    );
                    signer = Some(url_signer(gcs.clone()));
                    (gcs, prefix.clone(), true)
                }
                #[cfg(feature = "storage-azure")]
                StorageLocation::Azure { container, prefix } => {
                    let az = Arc::new(
                        object_store::azure::MicrosoftAzureBuilder::from_env()
                            .with_container_name(container)
                            .build()
                            .map_err(|e| StorageError::Backend(e.to_string()))?,
                    );
                    signer = Some(url_signer(az.clone()));
                    (az, prefix.clone(), true)
                }
                #[allow(unreachable_patterns)] // reachable when a cloud feature is off
                other => return Err(feature_disabled(other)),
            };
        Ok(Self {
            inner: Arc::new(Inner {
                location,
                store,
                prefix,
                signer,
                url_key,
                public_base,
                upload_limit,
                keeps_attributes,
            }),
        })
    }

    /// An in-memory store (for tests), with a random URL key.
    pub fn memory(public_base: url::Url, upload_limit: usize) -> Self {
        Self::open(
            StorageLocation::Memory,
            rand::random(),
            public_base,
            upload_limit,
        )
        .unwrap_or_else(|_| unreachable!("the memory backend always opens"))
    }

    /// Where objects are stored.
    pub fn location(&self) -> &StorageLocation {
        &self.inner.location
    }

    /// The largest object [`Storage::upload`] accepts.
    pub fn upload_limit(&self) -> usize {
        self.inner.upload_limit
    }

    fn path(&self, key: &str) -> Result<ObjectPath, StorageError> {
        validate_key(key)?;
        let full = if self.inner.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.inner.prefix)
        };
        ObjectPath::parse(&full).map_err(|_| StorageError::InvalidKey {
            key: key.to_owned(),
            reason: "not a valid object path",
        })
    }

    /// Stores `bytes` under `key` with `content_type`, replacing any object with that key.
    /// Objects over the upload limit are refused before anything is written.
    pub async fn upload(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        content_type: &str,
    ) -> Result<StoredObject, StorageError> {
        let bytes = bytes.into();
        if bytes.len() > self.inner.upload_limit {
            return Err(StorageError::TooLarge {
                size: bytes.len(),
                limit: self.inner.upload_limit,
            });
        }
        let path = self.path(key)?;
        let size = bytes.len();
        let mut options = object_store::PutOptions::default();
        if self.inner.keeps_attributes {
            options.attributes.insert(
                object_store::Attribute::ContentType,
                content_type.to_owned().into(),
            );
        }
        self.inner
            .store
            .put_opts(&path, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(|e| StorageError::backend(key, e))?;
        Ok(StoredObject {
            key: key.to_owned(),
            size,
            content_type: content_type.to_owned(),
        })
    }

    /// Reads the object under `key`.
    pub async fn download(&self, key: &str) -> Result<Download, StorageError> {
        let (result, content_type) = self.get_stream(key).await?;
        let bytes = result
            .bytes()
            .await
            .map_err(|e| StorageError::backend(key, e))?;
        Ok(Download {
            bytes,
            content_type,
        })
    }

    fn content_type_of(&self, key: &str, attributes: &object_store::Attributes) -> Option<String> {
        if self.inner.keeps_attributes {
            attributes
                .get(&object_store::Attribute::ContentType)
                .map(|v| v.to_string())
        } else {
            guess_content_type(key).map(str::to_owned)
        }
    }

    /// Deletes the object under `key` (deleting a missing object is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match self.inner.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::backend(key, e)),
        }
    }

    /// A URL a client can download the object from, valid for `expires_in` (1 s to 7 days).
    /// Cloud backends sign it themselves; the local and memory backends give a `/files` URL of
    /// this service with an HMAC-signed, expiring query string.
    pub async fn url(&self, key: &str, expires_in: Duration) -> Result<url::Url, StorageError> {
        if expires_in.is_zero() || expires_in > MAX_URL_LIFETIME {
            return Err(StorageError::InvalidLifetime);
        }
        let path = self.path(key)?;
        if let Some(signer) = &self.inner.signer {
            return signer(path, expires_in)
                .await
                .map_err(|e| StorageError::backend(key, e));
        }
        let expires = crate::unix_now().saturating_add(expires_in.as_secs().max(1));
        Ok(self.files_url(key, expires))
    }

    /// The service's own `/files` URL of `key`, valid until `expires` (Unix seconds): what
    /// [`Storage::url`] gives on the local and memory backends.
    pub fn files_url(&self, key: &str, expires: u64) -> url::Url {
        let mut url = self.inner.public_base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("files").extend(key.split('/'));
        }
        url.query_pairs_mut()
            .append_pair("expires", &expires.to_string())
            .append_pair("signature", &self.signature(key, expires));
        url
    }

    fn mac(&self, key: &str, expires: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.inner.url_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    fn signature(&self, key: &str, expires: u64) -> String {
        hex(&self.mac(key, expires).finalize().into_bytes())
    }

    /// Checks a `/files` request's `expires` and `signature` (in constant time).
    pub(crate) fn verify(
        &self,
        key: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<(), UrlRejection> {
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Err(UrlRejection::Unsigned);
        };
        let expires: u64 = expires.parse().map_err(|_| UrlRejection::BadSignature)?;
        let signature = unhex(signature).ok_or(UrlRejection::BadSignature)?;
        self.mac(key, expires)
            .verify_slice(&signature)
            .map_err(|_| UrlRejection::BadSignature)?;
        if expires <= crate::unix_now() {
            return Err(UrlRejection::Expired);
        }
        Ok(())
    }

    /// The object under `key`, unread, with its content type (for `download` and for
    /// streaming `GET /files/{key}`).
    pub(crate) async fn get_stream(
        &self,
        key: &str,
    ) -> Result<(object_store::GetResult, Option<String>), StorageError> {
        let path = self.path(key)?;
        let result = self
            .inner
            .store
            .get(&path)
            .await
            .map_err(|e| StorageError::backend(key, e))?;
        let content_type = self.content_type_of(key, &result.attributes);
        Ok((result, content_type))
    }
}

/// Why a `/files` request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlRejection {
    Unsigned,
    BadSignature,
    Expired,
}

#[allow(dead_code)] // used only when a cloud feature is off
fn feature_disabled(location: &StorageLocation) -> StorageError {
    let (scheme, feature) = match location {
        StorageLocation::S3 { .. } => ("s3", "storage-s3"),
        StorageLocation::Gcs { .. } => ("gs", "storage-gcs"),
        StorageLocation::Azure { .. } => ("az", "storage-azure"),
        StorageLocation::Local { .. } | StorageLocation::Memory => ("file", "default"),
    };
    StorageError::FeatureDisabled { scheme, feature }
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The content type of well-known extensions (the local backend keeps no attributes).
pub fn guess_content_type(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        _ => return None,
    })
}

/// Whether a browser may show this content type inline from the service's origin. Anything that
/// can run script (HTML, SVG, XML) is served as an attachment instead.
pub(crate) fn inline_safe(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (essence.starts_with("image/") && essence != "image/svg+xml")
        || essence.starts_with("video/")
        || essence.starts_with("audio/")
        || essence == "application/pdf"
        || essence == "text/plain"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_backend_url() {
        assert_eq!(
            StorageLocation::parse("file://./data/storage").unwrap(),
            StorageLocation::Local {
                root: "./data/storage".into()
            }
        );
        assert_eq!(
            StorageLocation::parse("file:///var/lib/rasura").unwrap(),
            StorageLocation::Local {
                root: "/var/lib/rasura".into()
            }
        );
        assert_eq!(
            StorageLocation::parse("memory://").unwrap(),
            StorageLocation::Memory
        );
        assert_eq!(
            StorageLocation::parse("s3://my-bucket/uploads/").unwrap(),
            StorageLocation::S3 {
                bucket: "my-bucket".into(),
                prefix: "uploads".into()
            }
        );
        assert_eq!(
            StorageLocation::parse("gs://b").unwrap(),
            StorageLocation::Gcs {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StorageLocation::parse("az://files/a/b").unwrap(),
            StorageLocation::Azure {
                container: "files".into(),
                prefix: "a/b".into()
            }
        );
        for url in [
            "s3://my-bucket/uploads",
            "gs://b",
            "az://files/a/b",
            "memory://",
        ] {
            assert_eq!(StorageLocation::parse(url).unwrap().to_string(), url);
        }
        for (bad, why) in [
            ("./data", "expected <scheme>://"),
            ("ftp://x", "unsupported scheme `ftp`"),
            ("s3://", "missing the bucket name"),
            ("file://", "needs a directory"),
            ("s3://b/../x", "invalid prefix"),
        ] {
            let e = StorageLocation::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn cloud_backends_need_their_feature() {
        let base = url::Url::parse("http://localhost").unwrap();
        for (url, feature) in [
            ("s3://b", "storage-s3"),
            ("gs://b", "storage-gcs"),
            ("az://c", "storage-azure"),
        ] {
            let location = StorageLocation::parse(url).unwrap();
            assert!(!location.served_by_service());
            let enabled = match feature {
                "storage-s3" => cfg!(feature = "storage-s3"),
                "storage-gcs" => cfg!(feature = "storage-gcs"),
                _ => cfg!(feature = "storage-azure"),
            };
            if !enabled {
                let e = Storage::open(location, [0; 32], base.clone(), 1).unwrap_err();
                assert!(e.to_string().contains(feature), "{e}");
            }
        }
    }

    #[test]
    fn keys_are_checked() {
        for ok in ["a", "users/42/avatar.png", "ünïcode/file name.txt"] {
            validate_key(ok).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "trailing/",
            "a//b",
            "../etc/passwd",
            "a/./b",
            "a\\b",
            "a\nb",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn only_inert_types_are_inline() {
        assert!(inline_safe("image/png"));
        assert!(inline_safe("text/plain; charset=utf-8"));
        assert!(!inline_safe("image/svg+xml"));
        assert!(!inline_safe("text/html"));
        assert!(!inline_safe("application/octet-stream"));
    }
}
