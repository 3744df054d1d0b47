//! `metadata export --dir` into copies of the fixtures' Hasura CLI metadata directories
//! (carnet-de-bord and intuition-rs flat, aerie nested): every file the export does not need
//! stays byte-identical, every unrelated entry of an edited file stays equal, and the result
//! reads back (every action of actions.yaml is in actions.graphql). A v2 directory is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rasura::metadata::dir::{self, DirError};
use rasura::metadata::{Declared, ExportOptions, sdl};
use rasura::registry::Handler;
use rasura::{Ctx, Event, EventError, event, handler};
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/hasura-schemas"
);

/// Records new accounts (carnet-de-bord's source).
#[event(table = "public.account", source = "carnet_de_bord", insert)]
async fn carnet_account_created(_ctx: Ctx, _e: Event<Value>) -> Result<(), EventError> {
    Ok(())
}

/// Records account changes (intuition's source).
#[event(table = "public.account", source = "intuition", update(columns = ["label"]))]
async fn intuition_account_changed(_ctx: Ctx, _e: Event<Value>) -> Result<(), EventError> {
    Ok(())
}

/// Records deleted mission models (aerie's nested layout, a table that has triggers already).
#[event(
    table = "merlin.mission_model",
    source = "Aerie",
    delete,
    retry(num_retries = 2)
)]
async fn aerie_model_deleted(_ctx: Ctx, _e: Event<Value>) -> Result<(), EventError> {
    Ok(())
}

fn example_handlers() -> Vec<&'static Handler> {
    vec![
        handler!(example_default::ping),
        handler!(example_default::pong),
        handler!(example_default::delay),
        handler!(example_default::upload_file),
        handler!(example_default::user_role_changed),
        handler!(example_default::user_deleted),
        handler!(example_default::welcome_user),
        handler!(example_default::update_app_message),
    ]
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(root).unwrap().to_owned();
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rasura-metadata-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn yaml(bytes: &[u8]) -> Value {
    serde_yaml_ng::from_slice(bytes).unwrap()
}

/// `list` without the entries named in `ours`.
fn without(list: &Value, ours: &[String]) -> Value {
    Value::Array(
        list.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                let name = e["name"]
                    .as_str()
                    .or_else(|| e.as_str())
                    .unwrap_or_default();
                !ours.iter().any(|o| o == name || name.ends_with(o.as_str()))
            })
            .collect(),
    )
}

/// Every action of actions.yaml is defined in actions.graphql.
fn assert_actions_read_back(dir: &Path) {
    let actions: Value = yaml(&std::fs::read(dir.join("actions.yaml")).unwrap());
    let sdl_text = std::fs::read_to_string(dir.join("actions.graphql")).unwrap();
    let definitions = sdl::parse(&sdl_text).unwrap();
    for action in actions["actions"].as_array().into_iter().flatten() {
        let name = action["name"].as_str().unwrap();
        assert!(
            definitions
                .iter()
                .any(|d| matches!(d.name.as_str(), "Query" | "Mutation")
                    && d.fields.iter().any(|f| f.name == name)),
            "action {name} of actions.yaml is not in actions.graphql"
        );
    }
    for kind in ["objects", "input_objects", "enums", "scalars"] {
        for t in actions["custom_types"][kind]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = t["name"].as_str().unwrap();
            assert!(
                definitions.iter().any(|d| d.name == name),
                "custom type {name} is not in actions.graphql"
            );
        }
    }
}

fn export_into_fixture(fixture: &str, extra: &'static Handler) {
    let original_dir = Path::new(FIXTURES).join(fixture).join("metadata");
    let dir = temp(fixture);
    copy_dir(&original_dir, &dir);
    let before = files(&dir);
    let mut handlers = example_handlers();
    handlers.push(extra);
    let options = ExportOptions::new("example_default");
    let declared = Declared::from_handlers(&handlers, &options).unwrap();
    let report = dir::export(&declared, &options, &dir).unwrap();
    let after = files(&dir);

    // Files the export did not need are byte-identical, and nothing was deleted.
    for (path, bytes) in &before {
        let new = after
            .get(path)
            .unwrap_or_else(|| panic!("{fixture}: {} was deleted", path.display()));
        if !report.written.contains(path) {
            assert!(
                new == bytes,
                "{fixture}: {} changed without being reported",
                path.display()
            );
        }
    }
    let ours: Vec<String> = declared
        .actions
        .iter()
        .map(|a| a.name.clone())
        .chain(declared.custom_types().iter().map(|t| t.name.clone()))
        .chain(declared.event_triggers.iter().map(|t| t.name().to_owned()))
        .chain(
            declared
                .cron_triggers
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned()),
        )
        .collect();
    for path in &report.written {
        let Some(old) = before.get(path) else {
            continue;
        };
        let new = &after[path];
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "actions.graphql" {
            // Every original definition is still there, byte for byte.
            let old_text = String::from_utf8(old.clone()).unwrap();
            let new_text = String::from_utf8(new.clone()).unwrap();
            for d in sdl::parse(&old_text).unwrap() {
                assert!(
                    new_text.contains(&old_text[d.span.clone()]),
                    "{fixture}: {} was edited",
                    d.name
                );
            }
            continue;
        }
        let (old, new) = (yaml(old), yaml(new));
        match name {
            "actions.yaml" => {
                assert_eq!(
                    without(&new["actions"], &ours),
                    without(&old["actions"], &ours),
                    "{fixture}"
                );
                for kind in ["objects", "input_objects", "enums", "scalars"] {
                    assert_eq!(
                        without(&new["custom_types"][kind], &ours),
                        without(&old["custom_types"][kind], &ours),
                        "{fixture}: custom_types.{kind}"
                    );
                }
            }
            "cron_triggers.yaml" => {
                assert_eq!(without(&new, &ours), without(&old, &ours), "{fixture}")
            }
            "databases.yaml" => {
                // Only a `default` source was added (the example's tables live there).
                assert_eq!(without(&new, &["default".into()]), old, "{fixture}");
            }
            "tables.yaml" => assert_eq!(
                without(&new, &["public_user.yaml".into()]),
                old,
                "{fixture}"
            ),
            _ => {
                // A table file: only its event triggers changed.
                let mut new = new.clone();
                let mut old = old.clone();
                let triggers_new = without(&new["event_triggers"], &ours);
                let triggers_old = without(&old["event_triggers"], &ours);
                assert_eq!(triggers_new, triggers_old, "{fixture}: {}", path.display());
                new.as_object_mut().unwrap().remove("event_triggers");
                old.as_object_mut().unwrap().remove("event_triggers");
                assert_eq!(new, old, "{fixture}: {}", path.display());
            }
        }
    }
    assert_actions_read_back(&dir);
    // The extra handler's trigger is in its table's existing file.
    let extra_name = extra.name;
    let holder = after
        .iter()
        .filter(|(p, _)| before.contains_key(*p))
        .find(|(_, b)| String::from_utf8_lossy(b).contains(&format!("name: {extra_name}")));
    assert!(
        holder.is_some(),
        "{fixture}: {extra_name} not written into an existing table file"
    );

    // A second export changes nothing.
    let again = dir::export(&declared, &options, &dir).unwrap();
    assert!(again.written.is_empty(), "{fixture}: {:?}", again.written);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn export_into_carnet_de_bord_keeps_everything_else() {
    export_into_fixture("carnet-de-bord", handler!(carnet_account_created));
}

#[test]
fn export_into_intuition_keeps_everything_else() {
    export_into_fixture("intuition-rs", handler!(intuition_account_changed));
}

#[test]
fn export_into_aeries_nested_layout_keeps_everything_else() {
    export_into_fixture("aerie", handler!(aerie_model_deleted));
}

#[test]
fn a_v2_directory_is_a_clear_error() {
    let dir = temp("v2");
    copy_dir(&Path::new(FIXTURES).join("current-bench/metadata"), &dir);
    let before = files(&dir);
    let options = ExportOptions::new("example_default");
    let declared = Declared::from_handlers(&example_handlers(), &options).unwrap();
    let err = dir::export(&declared, &options, &dir).unwrap_err();
    assert!(matches!(err, DirError::V2(_)), "{err:?}");
    assert!(err.to_string().contains("config v2"), "{err}");
    assert_eq!(files(&dir), before, "nothing written");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn only_this_services_entries_change_and_comments_stay() {
    // The example's own directory, hand-edited: a comment, another service's action, a stale
    // action of this service, and a changed timeout on `pong`.
    let dir = temp("edited");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/default/hasura/metadata"),
        &dir,
    );
    let path = dir.join("actions.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replacen("actions:\n", "# Maintained by hand and by Rasura.\nactions:\n", 1)
        .replacen(
            "  - name: pong\n",
            "  - name: other_service_action\n    definition:\n      kind: synchronous\n      handler: '{{OTHER}}/x'  # theirs\n    comment: not ours\n  - name: stale\n    definition:\n      kind: synchronous\n      handler: '{{RASURA_BASE_URL}}/actions/stale'\n      headers:\n        - name: X-Rasura-Service\n          value: example_default\n  - name: pong\n",
            1,
        )
        .replacen("      timeout: 30\n    permissions:\n      - role: user\n    comment: Echoes", "      timeout: 99\n    permissions:\n      - role: user\n    comment: Echoes", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    let graphql = dir.join("actions.graphql");
    let sdl_text = std::fs::read_to_string(&graphql).unwrap();
    std::fs::write(
        &graphql,
        format!("{sdl_text}\n# theirs\ntype Mutation {{\n  other_service_action: Boolean\n  stale: Boolean\n}}\n"),
    )
    .unwrap();

    let options = ExportOptions::new("example_default");
    let declared = Declared::from_handlers(&example_handlers(), &options).unwrap();
    let report = dir::export(&declared, &options, &dir).unwrap();
    assert_eq!(
        report.written,
        [
            PathBuf::from("actions.graphql"),
            PathBuf::from("actions.yaml")
        ]
    );
    let result = std::fs::read_to_string(&path).unwrap();
    assert!(
        result.starts_with("# Maintained by hand and by Rasura.\n"),
        "{result}"
    );
    assert!(
        result.contains("      handler: '{{OTHER}}/x'  # theirs\n    comment: not ours\n"),
        "{result}"
    );
    assert!(!result.contains("name: stale"), "{result}");
    assert!(!result.contains("timeout: 99"), "{result}");
    let graphql_text = std::fs::read_to_string(&graphql).unwrap();
    assert!(
        graphql_text.contains("# theirs\ntype Mutation {\n  other_service_action: Boolean\n}"),
        "{graphql_text}"
    );
    assert_actions_read_back(&dir);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn removing_every_owned_entry_leaves_empty_lists() {
    let dir = temp("emptied");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/default/hasura/metadata"),
        &dir,
    );
    // The same service without its event and cron handlers.
    let handlers: Vec<&'static Handler> = example_handlers()
        .into_iter()
        .filter(|h| h.kind_name() == "action")
        .collect();
    let options = ExportOptions::new("example_default");
    let declared = Declared::from_handlers(&handlers, &options).unwrap();
    dir::export(&declared, &options, &dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("cron_triggers.yaml")).unwrap(),
        "[]\n"
    );
    let table =
        std::fs::read_to_string(dir.join("databases/default/tables/public_user.yaml")).unwrap();
    assert!(table.contains("\nevent_triggers: []\n"), "{table}");
    let parsed = yaml(table.as_bytes());
    assert_eq!(parsed["event_triggers"], serde_json::json!([]));
    assert!(parsed["select_permissions"].is_array(), "the rest stays");
    let _ = std::fs::remove_dir_all(dir);
}
