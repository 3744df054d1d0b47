//! `rasura new NAME`: a service crate that builds and passes its tests at once, offline, with its
//! Hasura project, local stack, container and Kubernetes files. The files are templates under
//! `cli/templates/new/` (see [`crate::template`] for the two rules they use).

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::template::Context;

/// Where the generated crate takes Rasura from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RasuraSource {
    /// The root of a Rasura checkout (holding `runtime/` and `codegen/`).
    Path(PathBuf),
    /// A git repository URL.
    Git(String),
}

impl RasuraSource {
    /// The checkout this CLI was built from, while it still exists.
    pub fn built_from() -> Result<Self, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Self::path(&root).map_err(|_| {
            format!(
                "the Rasura checkout this CLI was built from ({}) is gone: pass --rasura-path DIR (a Rasura checkout) or --rasura-git URL",
                root.display()
            )
        })
    }

    /// A checkout at `root`, checked to hold the crates.
    pub fn path(root: &Path) -> Result<Self, String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("--rasura-path {}: {e}", root.display()))?;
        for crate_dir in ["runtime", "codegen"] {
            if !root.join(crate_dir).join("Cargo.toml").is_file() {
                return Err(format!(
                    "--rasura-path {}: not a Rasura checkout (no {crate_dir}/Cargo.toml)",
                    root.display()
                ));
            }
        }
        Ok(Self::Path(root))
    }
}

/// What `rasura new` creates.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// The crate name.
    pub name: String,
    /// Where (default `./NAME`).
    pub dir: PathBuf,
    /// Where Rasura comes from.
    pub rasura: RasuraSource,
    /// Identity: signup, login, refresh, logout, the JWK set.
    pub auth: bool,
    /// Object storage: an upload action.
    pub storage: bool,
    /// Redis: shared rate limits.
    pub redis: bool,
    /// Hasura in auth-webhook mode (implies `auth`).
    pub auth_webhook: bool,
}

/// One template: where it goes, its text, the condition under which it is written.
struct Template {
    path: &'static str,
    text: &'static str,
    when: &'static str,
}

macro_rules! templates {
    ($($path:literal from $file:literal $(if $when:literal)?),* $(,)?) => {
        &[$(Template {
            path: $path,
            text: include_str!(concat!("../templates/new/", $file)),
            when: templates!(@when $($when)?),
        }),*]
    };
    (@when) => { "" };
    (@when $when:literal) => { $when };
}

const TEMPLATES: &[Template] = templates![
    "Cargo.toml" from "Cargo.toml",
    "build.rs" from "build.rs",
    "src/main.rs" from "src/main.rs",
    "src/lib.rs" from "src/lib.rs",
    "src/handlers/mod.rs" from "src/handlers/mod.rs",
    "src/handlers/hello.rs" from "src/handlers/hello.rs",
    "src/handlers/greeting_created.rs" from "src/handlers/greeting_created.rs",
    "src/handlers/daily_report.rs" from "src/handlers/daily_report.rs",
    "src/handlers/upload_text.rs" from "src/handlers/upload_text.rs" if "storage",
    "src/handlers/auth.rs" from "src/handlers/auth.rs" if "auth",
    "hasura/config.yaml" from "hasura/config.yaml",
    "hasura/schema.graphql" from "hasura/schema.graphql",
    "hasura/metadata/version.yaml" from "hasura/metadata/version.yaml",
    "hasura/metadata/actions.graphql" from "hasura/metadata/actions.graphql",
    "hasura/metadata/actions.yaml" from "hasura/metadata/actions.yaml",
    "hasura/metadata/cron_triggers.yaml" from "hasura/metadata/cron_triggers.yaml",
    "hasura/metadata/databases/databases.yaml" from "hasura/metadata/databases/databases.yaml",
    "hasura/metadata/databases/default/tables/tables.yaml" from "hasura/metadata/databases/default/tables/tables.yaml",
    "hasura/metadata/databases/default/tables/public_greeting.yaml" from "hasura/metadata/databases/default/tables/public_greeting.yaml",
    "hasura/migrations/default/1700000000000_init/up.sql" from "hasura/migrations/default/1700000000000_init/up.sql",
    "hasura/migrations/default/1700000000000_init/down.sql" from "hasura/migrations/default/1700000000000_init/down.sql",
    "hasura/migrations/default/1700000000001_account/up.sql" from "hasura/migrations/default/1700000000001_account/up.sql" if "auth",
    "hasura/migrations/default/1700000000001_account/down.sql" from "hasura/migrations/default/1700000000001_account/down.sql" if "auth",
    ".env" from "env",
    ".env.example" from "env",
    ".gitignore" from "gitignore",
    ".dockerignore" from "dockerignore",
    "README.md" from "README.md",
    "Dockerfile" from "Dockerfile",
    "compose.yaml" from "compose.yaml",
    "deploy/kustomization.yaml" from "deploy/kustomization.yaml",
    "deploy/config.env" from "deploy/config.env",
    "deploy/secret.env.example" from "deploy/secret.env.example",
    "deploy/deployment.yaml" from "deploy/deployment.yaml",
    "deploy/service.yaml" from "deploy/service.yaml",
    "deploy/hpa.yaml" from "deploy/hpa.yaml",
    "deploy/pdb.yaml" from "deploy/pdb.yaml",
];

/// Names a crate may not have: Rust keywords, the standard crates, and the dependencies the
/// generated crate uses under those names.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "test",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "build",
    "rasura",
    "rasura_codegen",
    "serde",
    "serde_json",
    "tokio",
    "tracing",
];

/// Checks `name` as a crate name and as a Hasura (GraphQL) name: the crate's identifier
/// (`-` → `_`) names the service on its metadata objects.
pub fn validate_name(name: &str) -> Result<String, String> {
    let why = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if name.len() > 50 {
        Some(
            "it is longer than 50 characters (Kubernetes names derived from it are limited)"
                .to_owned(),
        )
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("it must start with a lowercase letter (a-z)".to_owned())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        Some(format!(
            "`{}` is not allowed: use lowercase letters, digits, `_` and `-` (it also names the container and the Kubernetes objects)",
            c.escape_default()
        ))
    } else if name.ends_with(['-', '_']) {
        Some("it must end with a letter or a digit".to_owned())
    } else if RESERVED.contains(&name.replace('-', "_").as_str()) {
        Some("it is a Rust keyword or the name of a crate the service depends on".to_owned())
    } else {
        None
    };
    match why {
        Some(why) => Err(format!(
            "invalid name `{}`: {why} (the name is the crate's, and its `{}` identifier names the service in Hasura's metadata)",
            name.escape_default(),
            name.replace('-', "_").escape_default()
        )),
        None => Ok(name.replace('-', "_")),
    }
}

/// `value` as a TOML basic string's contents.
fn toml_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::rng(), &mut buffer[..]);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JWK set of one new Ed25519 private key (the format of `RASURA_TOKEN_KEYS`).
fn token_keys() -> String {
    let mut seed = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut seed[..]);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k1",
        "d": b64.encode(seed), "x": b64.encode(key.verifying_key().as_bytes()),
    }]})
    .to_string()
}

impl NewProject {
    fn context(&self, crate_ident: &str) -> Context {
        let mut context = Context::default();
        let values = &mut context.values;
        values.insert("NAME", self.name.clone());
        values.insert("CRATE", crate_ident.to_owned());
        // Kubernetes object names, hostnames and image names: DNS labels (no `_`).
        values.insert("SLUG", self.name.replace('_', "-"));
        match &self.rasura {
            RasuraSource::Path(root) => {
                let root_text = root.display().to_string();
                values.insert(
                    "RASURA_SOURCE",
                    format!(
                        "path = \"{}\"",
                        toml_escape(&root.join("runtime").display().to_string())
                    ),
                );
                values.insert(
                    "CODEGEN_SOURCE",
                    format!(
                        "path = \"{}\"",
                        toml_escape(&root.join("codegen").display().to_string())
                    ),
                );
                values.insert("RASURA_DOCS", format!("{root_text}/README.md"));
                values.insert("RASURA_ROOT", root_text);
                context.flags.insert("path");
            }
            RasuraSource::Git(url) => {
                values.insert("RASURA_SOURCE", format!("git = \"{}\"", toml_escape(url)));
                values.insert("CODEGEN_SOURCE", format!("git = \"{}\"", toml_escape(url)));
                values.insert("RASURA_DOCS", url.clone());
                values.insert("RASURA_ROOT", String::new());
                context.flags.insert("git");
            }
        }
        values.insert("WEBHOOK_SECRET", random_hex(32));
        values.insert("ADMIN_SECRET", random_hex(24));
        values.insert("JWT_KEY", random_hex(32));
        values.insert("POSTGRES_PASSWORD", random_hex(16));
        values.insert("TOKEN_KEYS", token_keys());
        for (flag, on) in [
            ("auth", self.auth || self.auth_webhook),
            ("storage", self.storage),
            ("redis", self.redis),
            ("webhook", self.auth_webhook),
        ] {
            if on {
                context.flags.insert(flag);
            }
        }
        context
    }

    /// Renders every file: (path in the project, contents).
    pub fn render(&self) -> Result<Vec<(&'static str, String)>, String> {
        let crate_ident = validate_name(&self.name)?;
        let context = self.context(&crate_ident);
        let mut example = context.clone();
        example.flags.insert("example");
        let mut files = Vec::new();
        for template in TEMPLATES {
            if !template.when.is_empty() && !context.flags.contains(template.when) {
                continue;
            }
            let using = if template.path == ".env.example" {
                &example
            } else {
                &context
            };
            let text = using
                .render(template.path, template.text)
                .map_err(|e| format!("template {e}"))?;
            files.push((template.path, text));
        }
        Ok(files)
    }

    /// Writes the project: into a temporary sibling directory, renamed into place at the end, so
    /// a failure leaves nothing half-written. Refuses a non-empty directory.
    pub fn create(&self) -> Result<Vec<&'static str>, String> {
        let files = self.render()?;
        let exists = self.dir.exists();
        // `.` or `$PWD` name the directory itself: work from its canonical path.
        let dir = if exists {
            self.dir
                .canonicalize()
                .map_err(|e| format!("{}: {e}", self.dir.display()))?
        } else {
            self.dir.clone()
        };
        if exists {
            let mut entries =
                std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if entries.next().is_some() {
                return Err(format!(
                    "{} is not empty: choose another --dir, or remove it",
                    self.dir.display()
                ));
            }
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let staging = parent.join(format!(".{}.rasura-new-{}", self.name, std::process::id()));
        let written = (|| -> std::io::Result<()> {
            for (path, text) in &files {
                let target = staging.join(path);
                if let Some(p) = target.parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::fs::write(&target, text)?;
                if *path == ".env" {
                    restrict_to_owner(&target)?;
                }
            }
            if exists {
                // An existing (empty) directory stays: the files move into it.
                for entry in std::fs::read_dir(&staging)? {
                    let entry = entry?;
                    std::fs::rename(entry.path(), dir.join(entry.file_name()))?;
                }
                std::fs::remove_dir(&staging)
            } else {
                std::fs::rename(&staging, &dir)
            }
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(format!("writing {}: {e}", self.dir.display()));
        }
        Ok(files.into_iter().map(|(path, _)| path).collect())
    }
}

/// `.env` holds secrets: readable by its owner only.
#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(flags: &[&str]) -> NewProject {
        NewProject {
            name: "shop_api".into(),
            dir: PathBuf::from("shop_api"),
            rasura: if flags.contains(&"path") {
                RasuraSource::Path("/opt/rasura checkout".into())
            } else {
                RasuraSource::Git("https://example.com/rasura.git".into())
            },
            auth: flags.contains(&"auth"),
            storage: flags.contains(&"storage"),
            redis: flags.contains(&"redis"),
            auth_webhook: flags.contains(&"webhook"),
        }
    }

    #[test]
    fn names_are_checked_as_crate_and_hasura_names() {
        assert_eq!(validate_name("shop-api").unwrap(), "shop_api");
        assert_eq!(validate_name("shop_2").unwrap(), "shop_2");
        for (bad, says) in [
            ("", "empty"),
            ("2shop", "start with a lowercase letter"),
            ("_shop", "start with a lowercase letter"),
            ("Shop", "start with a lowercase letter"),
            ("shopApi", "`A` is not allowed"),
            ("shop-", "end with a letter or a digit"),
            ("shop.api", "`.` is not allowed"),
            ("shop api", "` ` is not allowed"),
            ("café", "is not allowed"),
            ("self", "keyword"),
            ("rasura", "crate the service depends on"),
            ("test", "keyword"),
        ] {
            let e = validate_name(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(validate_name(&"a".repeat(51)).unwrap_err().contains("50"));
    }

    #[test]
    fn every_template_renders_with_every_option() {
        for flags in [
            &[][..],
            &["auth"],
            &["storage"],
            &["redis"],
            &["webhook"],
            &["auth", "storage", "redis", "webhook"],
            &["path"],
            &["path", "auth", "storage", "redis", "webhook"],
        ] {
            let files = project(flags).render().unwrap();
            for (path, text) in &files {
                // No placeholder or directive is left.
                let leftover = text.match_indices("__").any(|(at, _)| {
                    let after = &text[at + 2..];
                    let end = after
                        .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                        .unwrap_or(after.len());
                    let word = &after[..end];
                    word.len() > 2
                        && word.ends_with("__")
                        && word.starts_with(|c: char| c.is_ascii_uppercase())
                });
                assert!(!leftover, "{path}: a placeholder is left");
                assert!(
                    !text.lines().any(|l| l.starts_with('%')),
                    "{path}: a directive is left"
                );
                // Kubernetes and compose names are DNS labels: no `_`.
                if path.starts_with("deploy/") {
                    assert!(!text.contains("shop_api"), "{path}");
                }
            }
            let has = |p: &str| files.iter().any(|(path, _)| *path == p);
            assert_eq!(
                has("src/handlers/auth.rs"),
                flags.contains(&"auth") || flags.contains(&"webhook")
            );
            assert_eq!(
                has("src/handlers/upload_text.rs"),
                flags.contains(&"storage")
            );
        }
    }

    #[test]
    fn secrets_are_generated_in_env_and_absent_from_env_example() {
        let files = project(&["auth"]).render().unwrap();
        let get = |p: &str| files.iter().find(|(path, _)| *path == p).unwrap().1.clone();
        let env = get(".env");
        let example = get(".env.example");
        let secret = env
            .lines()
            .find_map(|l| l.strip_prefix("RASURA_WEBHOOK_SECRET="))
            .unwrap();
        assert_eq!(secret.len(), 64);
        assert!(example.contains("RASURA_WEBHOOK_SECRET=\n"));
        assert!(!example.contains(secret));
        assert!(env.contains("RASURA_TOKEN_KEYS='{\"keys\""));
        // Two projects never share a secret.
        let again = project(&["auth"]).render().unwrap();
        assert!(!again.iter().any(|(_, text)| text.contains(secret)));
    }
}
