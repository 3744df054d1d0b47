//! `metadata diff` and `metadata apply`: read the live metadata (`export_metadata` v2), compare
//! it with what the code declares, and send the difference as one atomic `bulk` carrying the
//! live `resource_version` (a concurrent change fails with 409 instead of being overwritten).

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{
    Declared, ExportOptions, normalize_action, normalize_cron_trigger, normalize_event_trigger,
    owned_by,
};
use crate::config::Secret;

/// A client of Hasura's `/v1/metadata` (admin only).
#[derive(Clone)]
pub struct MetadataClient {
    http: reqwest::Client,
    url: url::Url,
    admin_secret: Option<Secret>,
    /// Sent with every call (as a child span) when set.
    trace: Option<crate::trace::TraceContext>,
    /// Bounds each call.
    timeout: Duration,
}

/// A metadata call's default bound: `metadata apply` replaces large metadata at once.
pub const DEFAULT_METADATA_TIMEOUT: Duration = Duration::from_secs(60);

impl fmt::Debug for MetadataClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataClient")
            .field("url", &self.url.as_str())
            .field("admin_secret", &self.admin_secret)
            .finish()
    }
}

/// Why a metadata call failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Hasura could not be reached.
    #[error("cannot reach Hasura's metadata API: {0}")]
    Transport(String),
    /// The metadata changed between reading and applying.
    #[error(
        "Hasura's metadata changed since it was read (resource_version {0}): nothing was applied; \
         run the command again"
    )]
    Conflict(u64),
    /// Hasura refused the request.
    #[error("Hasura refused the metadata request (HTTP {status}, {code}): {message}")]
    Refused {
        /// The status.
        status: u16,
        /// Hasura's `code`.
        code: String,
        /// Hasura's `error`, with its `path`.
        message: String,
    },
    /// The answer is not what the metadata API returns.
    #[error("unexpected answer from the metadata API: {0}")]
    Decode(String),
}

/// The live metadata and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// `resource_version`.
    pub resource_version: u64,
    /// The metadata object.
    pub metadata: Value,
}

impl MetadataClient {
    /// A client of `{endpoint}/v1/metadata`.
    pub fn new(http: reqwest::Client, endpoint: &url::Url, admin_secret: Option<Secret>) -> Self {
        Self {
            http,
            url: crate::graphql::endpoint_url(endpoint, "v1/metadata"),
            admin_secret,
            trace: None,
            timeout: DEFAULT_METADATA_TIMEOUT,
        }
    }

    /// Bounds each call by `timeout` (default [`DEFAULT_METADATA_TIMEOUT`]); the service's
    /// client, which handlers' schedulers use, takes `RASURA_GRAPHQL_TIMEOUT`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Every call carries `trace` (as a child span), so Hasura's traces of the calls can be
    /// found (`metadata apply` starts a new trace and prints its id).
    pub fn with_trace(mut self, trace: crate::trace::TraceContext) -> Self {
        self.trace = Some(trace);
        self
    }

    /// The trace the calls carry.
    pub fn trace(&self) -> Option<&crate::trace::TraceContext> {
        self.trace.as_ref()
    }

    /// The `/v1/metadata` URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    pub(crate) async fn call(&self, body: &Value) -> Result<Value, SyncError> {
        let headers = self
            .trace
            .as_ref()
            .map(crate::trace::TraceContext::child_headers)
            .unwrap_or_default();
        self.call_with(body, headers).await
    }

    /// [`MetadataClient::call`] with extra headers (a handler's trace context).
    pub(crate) async fn call_with(
        &self,
        body: &Value,
        headers: http::HeaderMap,
    ) -> Result<Value, SyncError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .headers(headers)
            .json(body);
        if let Some(secret) = &self.admin_secret {
            request = request.header("x-hasura-admin-secret", secret.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| SyncError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SyncError::Transport(e.without_url().to_string()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let code = value["code"].as_str().unwrap_or("unexpected").to_owned();
        if status.as_u16() == 409 || code == "conflict" {
            return Err(SyncError::Conflict(
                body["resource_version"].as_u64().unwrap_or_default(),
            ));
        }
        let mut message = value["error"]
            .as_str()
            .or_else(|| value["message"].as_str())
            .unwrap_or("no details")
            .to_owned();
        if let Some(path) = value["path"].as_str() {
            message.push_str(&format!(" (at {path})"));
        }
        Err(SyncError::Refused {
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// `export_metadata` version 2.
    pub async fn export(&self) -> Result<Live, SyncError> {
        let value = self
            .call(&json!({"type": "export_metadata", "version": 2, "args": {}}))
            .await?;
        Ok(Live {
            resource_version: value["resource_version"]
                .as_u64()
                .ok_or_else(|| SyncError::Decode("no resource_version".into()))?,
            metadata: value
                .get("metadata")
                .cloned()
                .ok_or_else(|| SyncError::Decode("no metadata".into()))?,
        })
    }

    /// Sends `plan` as one `bulk` with `resource_version`; an empty plan sends nothing.
    pub async fn apply(&self, plan: &Plan, resource_version: u64) -> Result<(), SyncError> {
        if plan.is_empty() {
            return Ok(());
        }
        self.call(&plan.bulk(resource_version)).await.map(|_| ())
    }
}

/// What changes, per object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Added.
    Add,
    /// Changed.
    Change,
    /// Removed (`--prune`).
    Remove,
}

/// One line of the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Added, changed or removed.
    pub kind: ChangeKind,
    /// `action`, `action permission`, `custom type`, `event trigger` or `cron trigger`.
    pub object: &'static str,
    /// Its name.
    pub name: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            ChangeKind::Add => '+',
            ChangeKind::Change => '~',
            ChangeKind::Remove => '-',
        };
        write!(f, "{sign} {} {}", self.object, self.name)
    }
}

/// The difference between the code and the live metadata, and the operations that close it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// What changes, per object.
    pub changes: Vec<Change>,
    /// Objects this service owns that the code no longer declares, kept without `--prune`.
    pub kept: Vec<Change>,
    /// The operations, in the order Hasura needs.
    pub operations: Vec<Value>,
}

impl Plan {
    /// Whether Hasura already matches the code.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The `bulk` request.
    pub fn bulk(&self, resource_version: u64) -> Value {
        json!({"type": "bulk", "resource_version": resource_version, "args": self.operations})
    }
}

fn op(kind: &str, args: Value) -> Value {
    json!({"type": kind, "args": args})
}

fn by_name<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
}

/// The base type name of a GraphQL type reference (`[Foo!]!` is `Foo`).
fn base_type(ty: &str) -> &str {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// Every live event trigger: (source, schema, table, trigger).
fn live_event_triggers(metadata: &Value) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for source in metadata["sources"].as_array().into_iter().flatten() {
        let source_name = source["name"].as_str().unwrap_or("default");
        for table in source["tables"].as_array().into_iter().flatten() {
            let schema = table["table"]["schema"].as_str().unwrap_or("public");
            let name = table["table"]["name"].as_str().unwrap_or_default();
            for trigger in table["event_triggers"].as_array().into_iter().flatten() {
                out.push((
                    source_name.to_owned(),
                    schema.to_owned(),
                    name.to_owned(),
                    trigger.clone(),
                ));
            }
        }
    }
    out
}

/// Custom types as a map kind → name → entry, for comparison regardless of order.
fn type_map(custom_types: &Value) -> Vec<(&'static str, Vec<Value>)> {
    ["enums", "input_objects", "objects", "scalars"]
        .into_iter()
        .map(|kind| {
            let mut list: Vec<Value> = custom_types[kind].as_array().cloned().unwrap_or_default();
            list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            (kind, list)
        })
        .collect()
}

/// Plans the changes that make `live` match `declared`, one object kind at a time, in the
/// order Hasura needs them applied. Without `prune`, nothing is dropped; with it, only objects
/// marked as this service's are.
pub fn plan(declared: &Declared, live: &Value, options: &ExportOptions, prune: bool) -> Plan {
    let mut plan = Plan::default();
    let empty = json!([]);
    let live_actions = live.get("actions").unwrap_or(&empty);
    let pruned_actions = plan_pruned_actions(&mut plan, declared, live_actions, options, prune);
    plan_custom_types(&mut plan, declared, live, live_actions, &pruned_actions);
    plan_actions(&mut plan, declared, live_actions);
    plan_event_triggers(&mut plan, declared, live, options, prune);
    plan_cron_triggers(
        &mut plan,
        declared,
        live.get("cron_triggers").unwrap_or(&empty),
        options,
        prune,
    );
    plan
}

/// This service's live actions the code no longer declares: dropped with `prune` (returned,
/// so their types can go too), else listed as kept.
fn plan_pruned_actions(
    plan: &mut Plan,
    declared: &Declared,
    live_actions: &Value,
    options: &ExportOptions,
    prune: bool,
) -> Vec<Value> {
    let service = &options.service;
    let declared_names: BTreeSet<&str> = declared.actions.iter().map(|a| a.name.as_str()).collect();
    let mut pruned_actions = Vec::new();
    for action in live_actions.as_array().into_iter().flatten() {
        let name = action["name"].as_str().unwrap_or_default();
        if !declared_names.contains(name) && owned_by(action["definition"].get("headers"), service)
        {
            let change = Change {
                kind: ChangeKind::Remove,
                object: "action",
                name: name.to_owned(),
            };
            if prune {
                plan.operations.push(op(
                    "drop_action",
                    json!({"name": name, "clear_data": false}),
                ));
                plan.changes.push(change);
                pruned_actions.push(action.clone());
            } else {
                plan.kept.push(change);
            }
        }
    }

    pruned_actions
}

/// Custom types: the complete set (other services' types are kept, since `set_custom_types`
/// replaces them all); types only pruned actions used go with them.
fn plan_custom_types(
    plan: &mut Plan,
    declared: &Declared,
    live: &Value,
    live_actions: &Value,
    pruned_actions: &[Value],
) {
    let live_types = live
        .get("custom_types")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut types = Map::new();
    for (kind, list) in type_map(&live_types) {
        types.insert(kind.into(), Value::Array(list));
    }
    for t in declared.custom_types() {
        let list = types
            .get_mut(t.kind)
            .and_then(Value::as_array_mut)
            .unwrap_or_else(|| unreachable!("every kind is present"));
        match list
            .iter_mut()
            .find(|e| e["name"].as_str() == Some(t.name.as_str()))
        {
            Some(existing) => {
                // Relationships are configured in Hasura, not in the SDL: keep them.
                let mut merged = t.metadata.clone();
                if let (Some(rel), Some(m)) =
                    (existing.get("relationships"), merged.as_object_mut())
                {
                    m.insert("relationships".into(), rel.clone());
                }
                if *existing != merged {
                    *existing = merged;
                    plan.changes.push(Change {
                        kind: ChangeKind::Change,
                        object: "custom type",
                        name: t.name.clone(),
                    });
                }
            }
            None => {
                list.push(t.metadata.clone());
                plan.changes.push(Change {
                    kind: ChangeKind::Add,
                    object: "custom type",
                    name: t.name.clone(),
                });
            }
        }
    }
    if !pruned_actions.is_empty() {
        drop_unused_types(plan, declared, &mut types, live_actions, pruned_actions);
    }
    let new_types = Value::Object(types);
    let live_sorted = Value::Object(
        type_map(&live_types)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::Array(v)))
            .collect(),
    );
    if new_types != live_sorted {
        plan.operations.push(op("set_custom_types", new_types));
    }
}

/// Removes from `types` the types of `pruned_actions` that no remaining action, declared type or
/// field of a used type needs.
fn drop_unused_types(
    plan: &mut Plan,
    declared: &Declared,
    types: &mut Map<String, Value>,
    live_actions: &Value,
    pruned_actions: &[Value],
) {
    // Types only the pruned actions used go with them.
    let remaining: Vec<&Value> = live_actions
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| !pruned_actions.contains(a))
        .collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for a in &remaining {
        used.insert(
            base_type(a["definition"]["output_type"].as_str().unwrap_or_default()).to_owned(),
        );
        for arg in a["definition"]["arguments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            used.insert(base_type(arg["type"].as_str().unwrap_or_default()).to_owned());
        }
    }
    for t in declared.custom_types() {
        used.insert(t.name.clone());
    }
    // Field types of used types are used too.
    loop {
        let before = used.len();
        for (_, list) in types.iter() {
            for t in list.as_array().into_iter().flatten() {
                if used.contains(t["name"].as_str().unwrap_or_default()) {
                    for f in t["fields"].as_array().into_iter().flatten() {
                        used.insert(base_type(f["type"].as_str().unwrap_or_default()).to_owned());
                    }
                }
            }
        }
        if used.len() == before {
            break;
        }
    }
    let mut pruned_types: BTreeSet<String> = BTreeSet::new();
    for a in pruned_actions {
        pruned_types.insert(
            base_type(a["definition"]["output_type"].as_str().unwrap_or_default()).to_owned(),
        );
        for arg in a["definition"]["arguments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            pruned_types.insert(base_type(arg["type"].as_str().unwrap_or_default()).to_owned());
        }
    }
    for (_, list) in types.iter_mut() {
        if let Some(list) = list.as_array_mut() {
            list.retain(|t| {
                let name = t["name"].as_str().unwrap_or_default();
                let drop = pruned_types.contains(name) && !used.contains(name);
                if drop {
                    plan.changes.push(Change {
                        kind: ChangeKind::Remove,
                        object: "custom type",
                        name: name.to_owned(),
                    });
                }
                !drop
            });
        }
    }
}

/// Actions, then their permissions.
fn plan_actions(plan: &mut Plan, declared: &Declared, live_actions: &Value) {
    let mut permission_ops = Vec::new();
    for action in &declared.actions {
        let name = action.name.as_str();
        let metadata = &action.metadata;
        let args = json!({
            "name": name,
            "definition": metadata["definition"],
            "comment": metadata.get("comment").cloned().unwrap_or(Value::Null),
        });
        let live_action = by_name(live_actions, name);
        match live_action {
            None => {
                plan.operations.push(op("create_action", args));
                plan.changes.push(Change {
                    kind: ChangeKind::Add,
                    object: "action",
                    name: name.to_owned(),
                });
            }
            Some(live_action) => {
                if normalize_action(live_action) != normalize_action(metadata) {
                    plan.operations.push(op("update_action", args));
                    plan.changes.push(Change {
                        kind: ChangeKind::Change,
                        object: "action",
                        name: name.to_owned(),
                    });
                }
            }
        }
        let wanted: BTreeSet<&str> = metadata["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["role"].as_str())
            .collect();
        let existing: BTreeSet<&str> = live_action
            .and_then(|a| a["permissions"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| p["role"].as_str())
            .collect();
        for role in wanted.difference(&existing) {
            permission_ops.push(op(
                "create_action_permission",
                json!({"action": name, "role": role}),
            ));
            plan.changes.push(Change {
                kind: ChangeKind::Add,
                object: "action permission",
                name: format!("{name}/{role}"),
            });
        }
        for role in existing.difference(&wanted) {
            permission_ops.push(op(
                "drop_action_permission",
                json!({"action": name, "role": role}),
            ));
            plan.changes.push(Change {
                kind: ChangeKind::Remove,
                object: "action permission",
                name: format!("{name}/{role}"),
            });
        }
    }
    plan.operations.extend(permission_ops);
}

/// Event triggers: this service's undeclared ones (dropped with `prune`), then each declared
/// one created, replaced or moved.
fn plan_event_triggers(
    plan: &mut Plan,
    declared: &Declared,
    live: &Value,
    options: &ExportOptions,
    prune: bool,
) {
    let service = &options.service;
    let live_triggers = live_event_triggers(live);
    let mut trigger_ops = Vec::new();
    for (source, schema, table, trigger) in &live_triggers {
        let name = trigger["name"].as_str().unwrap_or_default();
        let declared_here = declared.event_triggers.iter().any(|t| t.name() == name);
        if !declared_here && owned_by(trigger.get("headers"), service) {
            let change = Change {
                kind: ChangeKind::Remove,
                object: "event trigger",
                name: format!("{name} ({source}.{schema}.{table})"),
            };
            if prune {
                trigger_ops.push(op(
                    "pg_delete_event_trigger",
                    json!({"name": name, "source": source}),
                ));
                plan.changes.push(change);
            } else {
                plan.kept.push(change);
            }
        }
    }
    for trigger in &declared.event_triggers {
        let name = trigger.name();
        let live_trigger = live_triggers
            .iter()
            .find(|(_, _, _, t)| t["name"].as_str() == Some(name));
        let mut args = Map::new();
        args.insert("name".into(), json!(name));
        args.insert("source".into(), json!(trigger.source));
        args.insert(
            "table".into(),
            json!({"schema": trigger.schema, "name": trigger.table}),
        );
        args.insert("webhook".into(), trigger.metadata["webhook"].clone());
        if let Some(def) = trigger.metadata["definition"].as_object() {
            for (k, v) in def {
                args.insert(k.clone(), v.clone());
            }
        }
        args.insert("retry_conf".into(), trigger.metadata["retry_conf"].clone());
        args.insert("headers".into(), trigger.metadata["headers"].clone());
        let label = format!(
            "{name} ({}.{}.{})",
            trigger.source, trigger.schema, trigger.table
        );
        match live_trigger {
            None => {
                args.insert("replace".into(), json!(false));
                trigger_ops.push(op("pg_create_event_trigger", Value::Object(args)));
                plan.changes.push(Change {
                    kind: ChangeKind::Add,
                    object: "event trigger",
                    name: label,
                });
            }
            Some((source, schema, table, live)) => {
                let moved =
                    (source, schema, table) != (&trigger.source, &trigger.schema, &trigger.table);
                if moved {
                    // `replace` cannot move a trigger to another table.
                    trigger_ops.push(op(
                        "pg_delete_event_trigger",
                        json!({"name": name, "source": source}),
                    ));
                    args.insert("replace".into(), json!(false));
                } else if normalize_event_trigger(live)
                    != normalize_event_trigger(&trigger.metadata)
                {
                    args.insert("replace".into(), json!(true));
                } else {
                    continue;
                }
                trigger_ops.push(op("pg_create_event_trigger", Value::Object(args)));
                plan.changes.push(Change {
                    kind: ChangeKind::Change,
                    object: "event trigger",
                    name: label,
                });
            }
        }
    }
    plan.operations.extend(trigger_ops);
}

/// Cron triggers: this service's undeclared ones (dropped with `prune`), then each declared one
/// created or replaced.
fn plan_cron_triggers(
    plan: &mut Plan,
    declared: &Declared,
    live_crons: &Value,
    options: &ExportOptions,
    prune: bool,
) {
    let service = &options.service;
    for cron in live_crons.as_array().into_iter().flatten() {
        let name = cron["name"].as_str().unwrap_or_default();
        let declared_here = declared
            .cron_triggers
            .iter()
            .any(|c| c["name"].as_str() == Some(name));
        if !declared_here && owned_by(cron.get("headers"), service) {
            let change = Change {
                kind: ChangeKind::Remove,
                object: "cron trigger",
                name: name.to_owned(),
            };
            if prune {
                plan.operations
                    .push(op("delete_cron_trigger", json!({"name": name})));
                plan.changes.push(change);
            } else {
                plan.kept.push(change);
            }
        }
    }
    for cron in &declared.cron_triggers {
        let name = cron["name"].as_str().unwrap_or_default();
        let live_cron = by_name(live_crons, name);
        let replace = match live_cron {
            None => false,
            Some(live) if normalize_cron_trigger(live) != normalize_cron_trigger(cron) => true,
            Some(_) => continue,
        };
        let mut args = cron.clone();
        if let Some(o) = args.as_object_mut() {
            o.insert("replace".into(), json!(replace));
        }
        plan.operations.push(op("create_cron_trigger", args));
        plan.changes.push(Change {
            kind: if replace {
                ChangeKind::Change
            } else {
                ChangeKind::Add
            },
            object: "cron trigger",
            name: name.to_owned(),
        });
    }
}
