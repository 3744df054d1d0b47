//! `rasura new` and `rasura add`, end to end: generated crates build and pass their own tests
//! (against this checkout, sharing the workspace's Cargo.lock and target directory, offline), their
//! metadata directory is exactly what the service's `metadata export --dir` writes, every
//! generator keeps them building, and the deployment files (the generated ones and
//! examples/default's) are well-formed. Docker and Kubernetes are not available here: the files
//! are parsed and their required keys checked, not run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml_ng::Value;

const RASURA: &str = env!("CARGO_BIN_EXE_rasura");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// A fresh directory for one generated crate (outside the workspace, or cargo would take the
/// crate for an unlisted member).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("rasura-new-tests-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn rasura(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new(RASURA)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

/// `rasura new` into a scratch directory with `options`, against this checkout.
fn generate(name: &str, options: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let root = workspace();
    let mut args = vec![
        "new",
        name,
        "--dir",
        dir.to_str().unwrap(),
        "--rasura-path",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(options);
    let (ok, out) = rasura(&args, &root);
    assert!(ok, "{out}");
    dir
}

/// [`generate`], ready to build offline: with the workspace's lock (the same versions, nothing
/// to download).
fn new_crate(name: &str, options: &[&str]) -> PathBuf {
    let dir = generate(name, options);
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

fn cargo(dir: &Path, args: &[&str]) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.arg(args[0]);
    if args[0] != "fmt" {
        command.arg("--offline");
    }
    command.args(&args[1..]);
    let out = command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

fn read_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The service's own `metadata export --dir` leaves the generated directory as it is.
fn export_changes_nothing(dir: &Path) {
    let metadata = dir.join("hasura/metadata");
    let before = read_tree(&metadata);
    let (ok, out) = cargo(
        dir,
        &[
            "run",
            "-q",
            "--",
            "metadata",
            "export",
            "--dir",
            "hasura/metadata",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("is up to date"), "{out}");
    assert_eq!(before, read_tree(&metadata), "{out}");
}

#[test]
fn new_crates_pass_their_tests_and_generators_keep_them_passing() {
    // The default crate.
    let dir = new_crate("scaffold-base", &[]);
    let (ok, out) = cargo(&dir, &["test"]);
    assert!(ok, "{out}");
    assert!(out.contains("test result: ok. 4 passed"), "{out}");
    export_changes_nothing(&dir);

    // Every generator; then the crate still builds, its tests (the new ones too) pass, and
    // `routes` lists the new handlers.
    for args in [
        &[
            "add",
            "action",
            "create_order",
            "--args",
            "sku: String!, quantity: Int",
        ][..],
        &[
            "add",
            "action",
            "greeting_of",
            "--query",
            "--output",
            "HelloOutput",
            "--roles",
            "user,editor",
        ],
        &["add", "action", "ping_it"],
        // A required custom scalar: no obvious value, so only the refusals are tested.
        &[
            "add",
            "action",
            "remind_at",
            "--args",
            "at: timestamptz!, note: String",
        ],
        &[
            "add",
            "event",
            "greeting_changed",
            "--table",
            "public.greeting",
            "--update",
            "--delete",
        ],
        &["add", "cron", "nightly_cleanup", "--schedule", "0 3 * * *"],
        &["add", "scheduled", "send_reminder"],
    ] {
        let (ok, out) = rasura(args, &dir);
        assert!(ok, "{args:?}: {out}");
    }
    let sdl = std::fs::read_to_string(dir.join("hasura/metadata/actions.graphql")).unwrap();
    assert!(
        sdl.starts_with("type Query {\n  hello(name: String!): HelloOutput!\n}\n"),
        "the existing text is kept: {sdl}"
    );
    for block in [
        "type Mutation {\n  create_order(sku: String!, quantity: Int): CreateOrderOutput!\n}\n",
        "type CreateOrderOutput {\n  ok: Boolean!\n}\n",
        "type Query {\n  greeting_of: HelloOutput!\n}\n",
        "type Mutation {\n  ping_it: PingItOutput!\n}\n",
    ] {
        assert!(sdl.contains(block), "{block}\nnot in\n{sdl}");
    }
    assert_eq!(
        sdl.matches("type HelloOutput").count(),
        1,
        "reused, not created again"
    );
    let (ok, out) = cargo(&dir, &["test"]);
    assert!(ok, "{out}");
    assert!(out.contains("test result: ok. 14 passed"), "{out}");
    let (ok, routes) = cargo(&dir, &["run", "-q", "--", "routes"]);
    assert!(ok, "{routes}");
    for route in [
        "/actions/create_order",
        "/actions/greeting_of",
        "/actions/ping_it",
        "/actions/remind_at",
        "/events/greeting_changed",
        "/crons/nightly_cleanup",
        "/scheduled/send_reminder",
    ] {
        assert!(routes.contains(route), "{route}:\n{routes}");
    }
    let (ok, fmt) = cargo(&dir, &["fmt", "--check"]);
    assert!(ok, "generated code is not rustfmt-clean:\n{fmt}");

    // Refused generators change nothing.
    let before = read_tree(&dir);
    for (args, says) in [
        (
            &["add", "action", "hello"][..],
            "already defines action `hello`",
        ),
        (
            &["add", "action", "x", "--args", "a: Strin!"],
            "did you mean `String`?",
        ),
        (
            &["add", "action", "x", "--args", "a: String!)"],
            "not GraphQL arguments",
        ),
        (
            &["add", "action", "x", "--roles", "a b"],
            "not a Hasura role name",
        ),
        (&["add", "action", "CreateOrder"], "use snake_case"),
        (
            &["add", "event", "x", "--table", "public.greting"],
            "did you mean `public.greeting`?",
        ),
        (
            &["add", "event", "x", "--table", "greeting"],
            "schema.table",
        ),
        (&["add", "cron", "x", "--schedule", "* *"], "five fields"),
        (
            &["add", "cron", "daily_report", "--schedule", "0 1 * * *"],
            "exists",
        ),
        (&["add", "scheduled", "self"], "keyword"),
    ] {
        let (ok, out) = rasura(args, &dir);
        assert!(!ok, "{args:?} was accepted");
        assert!(out.contains(says), "{args:?}: {out}");
    }
    assert!(before == read_tree(&dir), "a refused generator wrote");
    let (ok, out) = rasura(
        &["add", "cron", "x", "--schedule", "0 1 * * *"],
        &workspace().join("cli"),
    );
    assert!(!ok && out.contains("rasura new"), "{out}");

    // Identity in JWT mode and storage, without Redis; a name with `_`.
    let dir = new_crate("scaffold_auth", &["--auth", "--storage"]);
    let (ok, out) = cargo(&dir, &["test"]);
    assert!(ok, "{out}");
    assert!(out.contains("test result: ok. 6 passed"), "{out}");
    export_changes_nothing(&dir);
    let _ = std::fs::remove_dir_all(&dir);

    // Every option at once: identity (its test signs up against PostgreSQL), storage, Redis
    // rate limits, the auth webhook.
    let dir = new_crate(
        "scaffold-full",
        &["--auth", "--storage", "--redis", "--auth-webhook"],
    );
    let (ok, out) = cargo(&dir, &["test"]);
    assert!(ok, "{out}");
    assert!(out.contains("test result: ok. 7 passed"), "{out}");
    export_changes_nothing(&dir);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap().join("scaffold-base"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn new_refuses_bad_names_used_directories_and_non_checkouts() {
    let root = workspace();
    let dir = scratch("scaffold-refusals");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let d = dir.to_str().unwrap();
    for (args, says) in [
        (&["new", "shop", "--dir", d][..], "is not empty"),
        (&["new", "2shop"], "must start with a lowercase letter"),
        (&["new", "Shop"], "must start with a lowercase letter"),
        (&["new", "shop.api"], "`.` is not allowed"),
        (&["new", "self"], "keyword"),
        (
            &["new", "shop", "--rasura-path", "/nonexistent/rasura"],
            "--rasura-path",
        ),
        (
            &["new", "shop", "--rasura-path", "/tmp"],
            "not a Rasura checkout",
        ),
    ] {
        let (ok, out) = rasura(args, &dir);
        assert!(!ok, "{args:?} was accepted");
        assert!(out.contains(says), "{args:?}: {out}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // `--dir .` fills the current directory when it is empty.
    let here = dir.join("here");
    std::fs::create_dir_all(&here).unwrap();
    let (ok, out) = rasura(
        &[
            "new",
            "here",
            "--dir",
            ".",
            "--rasura-path",
            root.to_str().unwrap(),
        ],
        &here,
    );
    assert!(ok, "{out}");
    assert!(here.join("Cargo.toml").is_file() && here.join("hasura/schema.graphql").is_file());
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| {
        let name = e.unwrap().file_name();
        !name.to_string_lossy().contains("rasura-new")
    }));
    let empty = dir.join("empty");
    let (ok, out) = rasura(
        &[
            "new",
            "shop",
            "--rasura-git",
            "https://example.com/rasura.git",
            "--dir",
            empty.to_str().unwrap(),
        ],
        &root,
    );
    assert!(ok, "{out}");
    let manifest = std::fs::read_to_string(empty.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(
            r#"rasura = { package = "rasura-framework", git = "https://example.com/rasura.git" }"#
        ),
        "{manifest}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |v, key| {
        let next = match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(key),
        };
        next.unwrap_or_else(|| panic!("no `{path}` (at `{key}`) in {v:?}"))
    })
}

fn str_of<'a>(value: &'a Value, path: &str) -> &'a str {
    get(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("`{path}` is not a string"))
}

/// compose.yaml: the services, their health checks and start order, Hasura's mode.
fn check_compose(dir: &Path, binary: &str, redis: bool, auth: bool, webhook: bool) {
    let compose = yaml(&dir.join("compose.yaml"));
    let services = get(&compose, "services");
    let mut names = vec!["postgres", "hasura", "service"];
    if redis {
        names.push("redis");
    }
    for name in &names {
        assert!(
            get(services, &format!("{name}.healthcheck.test")).is_sequence(),
            "{name}"
        );
    }
    assert_eq!(services.as_mapping().unwrap().len(), names.len());
    let image = str_of(services, "hasura.image");
    assert!(image.starts_with("hasura/graphql-engine:v2."), "{image}");
    assert_eq!(
        str_of(services, "hasura.depends_on.postgres.condition"),
        "service_healthy"
    );
    assert_eq!(
        str_of(services, "service.depends_on.postgres.condition"),
        "service_healthy"
    );
    if redis {
        assert_eq!(
            str_of(services, "service.depends_on.redis.condition"),
            "service_healthy"
        );
    }
    let hasura_env = get(services, "hasura.environment");
    assert!(str_of(hasura_env, "HASURA_GRAPHQL_ADMIN_SECRET").starts_with("${"));
    assert!(str_of(hasura_env, "RASURA_WEBHOOK_SECRET").starts_with("${"));
    assert_eq!(str_of(hasura_env, "RASURA_BASE_URL"), "http://service:3300");
    if auth {
        // Hasura fetches the service's JWK set at start-up.
        assert_eq!(
            str_of(services, "hasura.depends_on.service.condition"),
            "service_healthy"
        );
    }
    // A local Rasura checkout is a named build context, copied where Cargo.toml points.
    if let Some(context) = get(services, "service.build").get("additional_contexts") {
        let root = str_of(context, "rasura");
        let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        assert!(
            dockerfile.contains(&format!("COPY --from=rasura [\".\", \"{root}\"]")),
            "{dockerfile}"
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("path = \"{root}/runtime\"")),
            "{manifest}"
        );
    }
    if webhook {
        assert_eq!(
            str_of(hasura_env, "HASURA_GRAPHQL_AUTH_HOOK"),
            "http://service:3300/auth/webhook"
        );
        assert!(hasura_env.get("HASURA_GRAPHQL_UNAUTHORIZED_ROLE").is_none());
        assert!(hasura_env.get("HASURA_GRAPHQL_JWT_SECRET").is_none());
    } else {
        assert!(hasura_env.get("HASURA_GRAPHQL_JWT_SECRET").is_some());
        assert_eq!(
            str_of(hasura_env, "HASURA_GRAPHQL_UNAUTHORIZED_ROLE"),
            "anonymous"
        );
    }
    let check = get(services, "service.healthcheck.test");
    let binary_path = format!("/usr/local/bin/{binary}");
    assert_eq!(
        check.get(1).and_then(Value::as_str),
        Some(binary_path.as_str())
    );
    assert_eq!(check.get(2).and_then(Value::as_str), Some("healthcheck"));
    assert_eq!(
        str_of(services, "service.environment.RASURA_LISTEN"),
        "0.0.0.0:3300"
    );
}

/// The Dockerfile: two stages, a distroless non-root runtime, a health check without a shell,
/// no secret.
fn check_dockerfile(dir: &Path, binary: &str) {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    let from: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "{from:?}");
    assert!(from[0].ends_with(" AS build"), "{from:?}");
    assert!(
        from[1].contains("distroless") && from[1].ends_with(":nonroot"),
        "{from:?}"
    );
    let runtime = &text[text.rfind("\nFROM ").unwrap()..];
    assert!(runtime.contains("\nUSER nonroot"), "{runtime}");
    assert!(runtime.contains("HEALTHCHECK "), "{runtime}");
    assert!(
        runtime.contains(&format!(
            "CMD [\"/usr/local/bin/{binary}\", \"healthcheck\"]"
        )),
        "{runtime}"
    );
    assert!(
        runtime.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]")),
        "{runtime}"
    );
    for line in text
        .lines()
        .filter(|l| l.starts_with("ENV ") || l.starts_with("ARG ") || l.starts_with("    RASURA"))
    {
        assert!(!line.contains("SECRET") && !line.contains("KEY"), "{line}");
    }
    assert!(text.contains("cargo build --release"), "{text}");
}

/// deploy/: kustomize with a Deployment (probes, grace, resources, secrets, scrape annotations),
/// a Service, an HPA and a PDB.
fn check_deploy(dir: &Path, name: &str) {
    let deploy = dir.join("deploy");
    let kustomization = yaml(&deploy.join("kustomization.yaml"));
    let resources: Vec<&str> = get(&kustomization, "resources")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let kinds: Vec<String> = resources
        .iter()
        .map(|f| str_of(&yaml(&deploy.join(f)), "kind").to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget"
        ]
    );
    assert_eq!(
        str_of(&kustomization, "secretGenerator.0.envs.0"),
        "secret.env"
    );
    assert!(deploy.join("secret.env.example").is_file());
    assert!(deploy.join("config.env").is_file());
    let deployment = yaml(&deploy.join("deployment.yaml"));
    assert_eq!(str_of(&deployment, "metadata.name"), name);
    let pod = get(&deployment, "spec.template.spec");
    let grace = get(pod, "terminationGracePeriodSeconds").as_u64().unwrap();
    let config = std::fs::read_to_string(deploy.join("config.env")).unwrap();
    let shutdown: u64 = config
        .lines()
        .find_map(|l| l.strip_prefix("RASURA_SHUTDOWN_TIMEOUT="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(grace > shutdown, "grace {grace} <= shutdown {shutdown}");
    let container = get(pod, "containers.0");
    assert_eq!(str_of(container, "livenessProbe.httpGet.path"), "/healthz");
    assert_eq!(
        str_of(container, "readinessProbe.httpGet.path"),
        "/readyz?checks=database"
    );
    for key in [
        "resources.requests.cpu",
        "resources.requests.memory",
        "resources.limits.cpu",
        "resources.limits.memory",
    ] {
        get(container, key);
    }
    assert_eq!(
        str_of(container, "envFrom.1.secretRef.name"),
        format!("{name}-secrets")
    );
    let annotations = get(&deployment, "spec.template.metadata.annotations");
    let annotation = |key: &str| annotations.get(key).and_then(Value::as_str);
    assert_eq!(annotation("prometheus.io/scrape"), Some("true"));
    assert_eq!(annotation("prometheus.io/port"), Some("3300"));
    assert_eq!(annotation("prometheus.io/path"), Some("/metrics"));
    assert_eq!(
        get(pod, "securityContext.runAsNonRoot").as_bool(),
        Some(true)
    );
    let hpa = yaml(&deploy.join("hpa.yaml"));
    assert_eq!(str_of(&hpa, "spec.scaleTargetRef.name"), name);
    assert!(get(&hpa, "spec.minReplicas").as_u64().unwrap() >= 2);
    let pdb = yaml(&deploy.join("pdb.yaml"));
    assert_eq!(str_of(&pdb, "apiVersion"), "policy/v1");
    let service = yaml(&deploy.join("service.yaml"));
    assert_eq!(get(&service, "spec.ports.0.port").as_u64(), Some(3300));
}

/// Every YAML file of the Hasura project parses; the SDL files parse.
fn check_hasura_project(dir: &Path) {
    for (path, bytes) in read_tree(&dir.join("hasura")) {
        let text = String::from_utf8(bytes).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") => {
                serde_yaml_ng::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            Some("graphql") => {
                graphql_parser::parse_schema::<String>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            _ => {}
        }
    }
    assert_eq!(
        get(&yaml(&dir.join("hasura/config.yaml")), "version").as_u64(),
        Some(3)
    );
}

/// The environment variables the runtime's sources name (`"RASURA_…"`, `"HASURA_GRAPHQL_…"`,
/// `"OTEL_…"`, `"DATABASE_URL"` string literals).
fn runtime_variables() -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for (path, bytes) in read_tree(&workspace().join("runtime/src")) {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            let is_variable = ["RASURA_", "HASURA_GRAPHQL_", "OTEL_"]
                .iter()
                .any(|p| literal.starts_with(p))
                || literal == "DATABASE_URL";
            if is_variable
                && !literal.ends_with('_')
                && literal
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                names.insert(literal.to_owned());
            }
        }
    }
    assert!(names.len() > 40, "{names:?}");
    names
}

#[test]
fn generated_and_example_deployment_files_are_well_formed() {
    let root = workspace();
    for (name, options, redis, auth, webhook) in [
        ("deploy-base", &[][..], false, false, false),
        ("deploy-auth", &["--auth", "--storage"], false, true, false),
        (
            "deploy_all",
            &["--auth", "--storage", "--redis", "--auth-webhook"],
            true,
            true,
            true,
        ),
    ] {
        let slug = name.replace('_', "-");
        let dir = generate(name, options);
        check_compose(&dir, name, redis, auth, webhook);
        check_dockerfile(&dir, name);
        check_deploy(&dir, &slug);
        assert_eq!(str_of(&yaml(&dir.join("compose.yaml")), "name"), slug);
        check_hasura_project(&dir);
        // .env holds generated secrets; .env.example lists the same settings without them.
        let env = std::fs::read_to_string(dir.join(".env")).unwrap();
        let example = std::fs::read_to_string(dir.join(".env.example")).unwrap();
        let keys = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.trim_start_matches('#'))
                .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()))
                .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                .collect()
        };
        assert_eq!(keys(&env), keys(&example));
        assert!(keys(&env).len() > 40, "{:?}", keys(&env));
        let secret = env
            .lines()
            .find_map(|l| l.strip_prefix("RASURA_WEBHOOK_SECRET="))
            .unwrap();
        assert!(secret.len() >= 64 && !example.contains(secret));
        // Every variable the runtime reads is listed.
        for variable in runtime_variables() {
            assert!(
                example.contains(&format!("{variable}=")),
                "{variable} is not in .env.example"
            );
        }
        let ignored = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
        assert!(ignored.lines().any(|l| l == ".env"));
        assert!(ignored.lines().any(|l| l == "/deploy/secret.env"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(".env"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, ".env is readable by others: {mode:o}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let example = root.join("examples/default");
    check_compose(&example, "example-default", true, true, false);
    check_dockerfile(&example, "example-default");
    check_deploy(&example, "example-default");
}
