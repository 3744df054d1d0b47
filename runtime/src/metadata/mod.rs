//! Hasura metadata from the code: the registry (and the action definitions the codegen
//! embedded) becomes Hasura's metadata objects (docs/protocol.md §5), written into a Hasura CLI
//! metadata directory, or compared with a live Hasura and applied in one atomic `bulk`.
//!
//! Every exported object carries the header `X-Rasura-Service: <service>`: that is how Rasura
//! knows which live objects it owns (it survives `hasura metadata export`/`apply`), so `--prune`
//! only ever drops this service's objects.

pub mod dir;
pub mod sdl;
pub mod sync;
mod yaml;

use serde_json::{Map, Value, json};

use crate::registry::{ActionSchema, Columns, Handler, HandlerKind, OperationSpec};

/// The header that marks an object as owned by a service.
pub const OWNER_HEADER: &str = "X-Rasura-Service";
/// The header (value `code`) that marks an action as code-first, so rasura-codegen does not
/// generate types for it when it reads the exported directory.
pub const CODE_FIRST_HEADER: &str = "X-Rasura-Definition";
/// Hasura's action timeout when the handler has none of its own.
pub const DEFAULT_ACTION_TIMEOUT: u64 = 30;

/// How handlers become metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// This service's name, in the ownership header.
    pub service: String,
    /// The environment variable holding the service's base URL in Hasura's environment
    /// (`{{RASURA_BASE_URL}}/actions/pong`); one per service, so two services on one Hasura do
    /// not collide.
    pub base_url_env: String,
    /// The environment variable holding the webhook secret in Hasura's environment.
    pub secret_env: String,
}

impl ExportOptions {
    /// Options for `service`, with `RASURA_BASE_URL` and `RASURA_WEBHOOK_SECRET`.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            base_url_env: "RASURA_BASE_URL".into(),
            secret_env: crate::config::WEBHOOK_SECRET.into(),
        }
    }

    /// Sets the base-URL variable.
    pub fn base_url_env(mut self, name: impl Into<String>) -> Self {
        self.base_url_env = name.into();
        self
    }

    fn url(&self, route: &str) -> String {
        format!("{{{{{}}}}}{route}", self.base_url_env)
    }

    fn headers(&self) -> Value {
        json!([
            {"name": "X-Rasura-Webhook-Secret", "value_from_env": self.secret_env},
            {"name": OWNER_HEADER, "value": self.service},
        ])
    }
}

/// The name a service gets by default: the crate of its first handler.
pub fn default_service_name(handlers: &[&'static Handler]) -> String {
    handlers
        .first()
        .map(|h| {
            h.location
                .module_path
                .split("::")
                .next()
                .unwrap_or("rasura")
                .to_owned()
        })
        .unwrap_or_else(|| "rasura".into())
}

/// One action: its metadata object and its SDL.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredAction {
    /// The name.
    pub name: String,
    /// `Query` or `Mutation`.
    pub root: &'static str,
    /// The field's SDL (`pong(message: String!): PongOutput!`).
    pub field_sdl: String,
    /// The metadata object, as `export_metadata` writes it.
    pub metadata: Value,
    /// The custom types it uses.
    pub types: Vec<CustomType>,
}

/// A custom type, from the action definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomType {
    /// `objects`, `input_objects`, `enums` or `scalars`.
    pub kind: &'static str,
    /// The name.
    pub name: String,
    /// Its entry of `set_custom_types`.
    pub metadata: Value,
    /// Its SDL definition.
    pub sdl: String,
}

/// One event trigger, with its table.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredEventTrigger {
    /// The source (`default`).
    pub source: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// The trigger as exported metadata writes it (operations under `definition`).
    pub metadata: Value,
}

impl DeclaredEventTrigger {
    /// The trigger's name.
    pub fn name(&self) -> &str {
        self.metadata["name"].as_str().unwrap_or_default()
    }
}

/// What a service declares: the metadata Hasura should hold for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Declared {
    /// Actions, by name.
    pub actions: Vec<DeclaredAction>,
    /// Event triggers, by name.
    pub event_triggers: Vec<DeclaredEventTrigger>,
    /// Cron triggers (`create_cron_trigger` args without `replace`), by name.
    pub cron_triggers: Vec<Value>,
    /// What could not be exported, and why.
    pub skipped: Vec<Skipped>,
}

/// Why handlers cannot be exported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Two handlers of one kind share a name (the message `serve` gives).
    #[error(
        "two {kind} handlers are named `{name}` ({} and {}); rename one (the name is its route)",
        locations[0], locations[1]
    )]
    DuplicateHandler {
        /// `action`, `event`, `cron` or `scheduled`.
        kind: &'static str,
        /// The shared name.
        name: &'static str,
        /// Where each is defined.
        locations: [String; 2],
    },
}

/// An object that could not be exported, and why (the rest of the metadata still is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The object, e.g. ``action `pong` ``.
    pub object: String,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} not exported: {}", self.object, self.why)
    }
}

/// The first pair of handlers of one kind sharing a name, as `serve` reports it.
pub fn duplicate_handler(handlers: &[&'static Handler]) -> Option<ExportError> {
    let mut seen: std::collections::HashMap<(&str, &str), &Handler> =
        std::collections::HashMap::new();
    for h in handlers {
        if let Some(other) = seen.insert((h.kind_name(), h.name), h) {
            let at = |h: &Handler| {
                format!(
                    "{}::{} at {}:{}",
                    h.location.module_path, h.function, h.location.file, h.location.line
                )
            };
            return Some(ExportError::DuplicateHandler {
                kind: h.kind_name(),
                name: h.name,
                locations: [at(other), at(h)],
            });
        }
    }
    None
}

fn columns(c: &Columns) -> Value {
    match c {
        Columns::All => json!("*"),
        Columns::Only(list) => json!(list),
    }
}

fn operation(op: &OperationSpec) -> Value {
    let mut spec = Map::new();
    spec.insert("columns".into(), columns(&op.columns));
    if let Some(payload) = &op.payload {
        spec.insert("payload".into(), columns(payload));
    }
    Value::Object(spec)
}

/// The first paragraph of a doc comment, on one line.
fn comment(doc: Option<&str>) -> Option<String> {
    let doc = doc?.trim();
    let first = doc.split("\n\n").next().unwrap_or(doc);
    let text = first.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

fn input_values(values: &[sdl::InputValue]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| {
                let mut o = Map::new();
                o.insert("name".into(), json!(v.name));
                o.insert("type".into(), json!(v.ty));
                if let Some(d) = &v.description {
                    o.insert("description".into(), json!(d));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// Fields (or enum values) as `set_custom_types` writes them: `{name, type, description,
/// arguments}` (or `{value, description}`).
fn members(fields: &[sdl::Field], key: &str, typed: bool) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|f| {
                let mut member = Map::new();
                member.insert(key.into(), json!(f.name));
                if typed {
                    member.insert("type".into(), json!(f.ty));
                }
                if let Some(d) = &f.description {
                    member.insert("description".into(), json!(d));
                }
                if !f.arguments.is_empty() {
                    member.insert("arguments".into(), input_values(&f.arguments));
                }
                Value::Object(member)
            })
            .collect(),
    )
}

/// A custom type's `set_custom_types` entry, from its SDL definition.
fn custom_type(definition: &sdl::Definition, src: &str) -> Option<CustomType> {
    let mut o = Map::new();
    o.insert("name".into(), json!(definition.name));
    if let Some(d) = &definition.description {
        o.insert("description".into(), json!(d));
    }
    let kind = match definition.keyword.as_str() {
        "type" => {
            o.insert("fields".into(), members(&definition.fields, "name", true));
            "objects"
        }
        "input" => {
            o.insert("fields".into(), members(&definition.fields, "name", true));
            "input_objects"
        }
        "enum" => {
            o.insert("values".into(), members(&definition.fields, "value", false));
            "enums"
        }
        "scalar" => "scalars",
        _ => return None,
    };
    Some(CustomType {
        kind,
        name: definition.name.clone(),
        metadata: Value::Object(o),
        sdl: src[definition.span.clone()].to_owned(),
    })
}

fn hasura_timeout(own: Option<u64>) -> u64 {
    // Rasura's own timeout answers first: Hasura's is 5 s longer (25 s + 5 s = Hasura's 30 s).
    own.map_or(DEFAULT_ACTION_TIMEOUT, |t| t + 5)
}

impl Declared {
    /// The metadata `handlers` declare.
    pub fn from_handlers(
        handlers: &[&'static Handler],
        options: &ExportOptions,
    ) -> Result<Self, ExportError> {
        if let Some(duplicate) = duplicate_handler(handlers) {
            return Err(duplicate);
        }
        let mut declared = Declared::default();
        // In name order, so which of two conflicting actions is skipped does not depend on the
        // link order.
        let mut handlers = handlers.to_vec();
        handlers.sort_by_key(|h| (h.kind_name(), h.name));
        for h in &handlers {
            match &h.kind {
                HandlerKind::Action(spec) => {
                    let skip = |declared: &mut Declared, why: String| {
                        declared.skipped.push(Skipped {
                            object: format!("action `{}`", h.name),
                            why,
                        });
                    };
                    let definition = spec.definition.resolve();
                    if !definition.problems.is_empty() {
                        skip(&mut declared, definition.problems.join("; "));
                        continue;
                    }
                    let roots = match sdl::parse(&definition.sdl) {
                        Ok(roots) => roots,
                        Err(e) => {
                            skip(&mut declared, format!("its definition does not parse: {e}"));
                            continue;
                        }
                    };
                    let Some((root, field)) = roots.iter().find_map(|d| {
                        d.fields
                            .iter()
                            .find(|f| f.name == h.name)
                            .map(|f| (d.name.as_str(), f))
                    }) else {
                        skip(
                            &mut declared,
                            format!("no field `{}` in its definition", h.name),
                        );
                        continue;
                    };
                    let root = if root == "Query" { "Query" } else { "Mutation" };
                    let types = match sdl::parse(&definition.types_sdl) {
                        Ok(types) => types,
                        Err(e) => {
                            skip(&mut declared, format!("its custom types do not parse: {e}"));
                            continue;
                        }
                    };
                    let types: Vec<CustomType> = types
                        .iter()
                        .filter_map(|d| custom_type(d, &definition.types_sdl))
                        .collect();
                    // One name, one definition: a type two actions define differently (a
                    // derived type and actions.graphql, or two Rust types) cannot be exported.
                    let clash = types.iter().find_map(|t| {
                        declared
                            .actions
                            .iter()
                            .flat_map(|a| a.types.iter().map(move |u| (a, u)))
                            .find(|(_, u)| {
                                u.name == t.name && (u.kind != t.kind || u.metadata != t.metadata)
                            })
                            .map(|(a, _)| (t.name.clone(), a.name.clone()))
                    });
                    if let Some((ty, other)) = clash {
                        skip(
                            &mut declared,
                            format!(
                                "its custom type `{ty}` differs from the `{ty}` of action `{other}`: one name, one definition"
                            ),
                        );
                        continue;
                    }
                    let mut def = Map::new();
                    def.insert("handler".into(), json!(options.url(&h.route())));
                    def.insert("output_type".into(), json!(field.ty));
                    def.insert("arguments".into(), input_values(&field.arguments));
                    if root == "Query" {
                        def.insert("type".into(), json!("query"));
                    } else {
                        def.insert("type".into(), json!("mutation"));
                        def.insert(
                            "kind".into(),
                            json!(if spec.asynchronous {
                                "asynchronous"
                            } else {
                                "synchronous"
                            }),
                        );
                    }
                    let mut headers = options.headers();
                    if let (ActionSchema::Derived(_), Some(list)) =
                        (&spec.definition, headers.as_array_mut())
                    {
                        // Tells rasura-codegen, reading this directory later, that the handler's
                        // types define the action (nothing to generate; see docs/protocol.md §5).
                        list.push(json!({"name": CODE_FIRST_HEADER, "value": "code"}));
                    }
                    def.insert("headers".into(), headers);
                    // `jwt` actions verify the caller's token, which Hasura forwards only then;
                    // rate-limited ones may key on the load balancer's client-address header.
                    def.insert(
                        "forward_client_headers".into(),
                        json!(spec.jwt || spec.rate.is_some()),
                    );
                    def.insert("timeout".into(), json!(hasura_timeout(spec.timeout_secs)));
                    let mut action = Map::new();
                    action.insert("name".into(), json!(h.name));
                    action.insert("definition".into(), Value::Object(def));
                    let permissions: Vec<Value> = spec
                        .roles
                        .iter()
                        .filter(|r| **r != "admin")
                        .map(|r| json!({"role": r}))
                        .collect();
                    action.insert("permissions".into(), Value::Array(permissions));
                    if let Some(c) = comment(h.doc) {
                        action.insert("comment".into(), json!(c));
                    }
                    declared.actions.push(DeclaredAction {
                        name: h.name.to_owned(),
                        root,
                        field_sdl: definition.sdl[field.span.clone()].to_owned(),
                        metadata: Value::Object(action),
                        types,
                    });
                }
                HandlerKind::Event(spec) => {
                    // Keys in the Hasura CLI's (alphabetical) order.
                    let mut definition = Map::new();
                    if let Some(delete) = &spec.delete {
                        definition.insert("delete".into(), operation(delete));
                    }
                    definition.insert("enable_manual".into(), json!(spec.manual));
                    if let Some(insert) = &spec.insert {
                        definition.insert("insert".into(), operation(insert));
                    }
                    if let Some(update) = &spec.update {
                        definition.insert("update".into(), operation(update));
                    }
                    declared.event_triggers.push(DeclaredEventTrigger {
                        source: spec.source.to_owned(),
                        schema: spec.schema.to_owned(),
                        table: spec.table.to_owned(),
                        metadata: json!({
                            "name": h.name,
                            "definition": definition,
                            "retry_conf": {
                                "interval_sec": spec.retry.interval_sec,
                                "num_retries": spec.retry.num_retries,
                                "timeout_sec": spec.retry.timeout_sec,
                            },
                            "webhook": options.url(&h.route()),
                            "headers": options.headers(),
                        }),
                    });
                }
                // One-off scheduled events are created at run time (`ctx.scheduler()`); the
                // metadata has nothing of them.
                HandlerKind::Scheduled(_) => {}
                HandlerKind::Cron(spec) => {
                    let mut cron = Map::new();
                    cron.insert("name".into(), json!(h.name));
                    cron.insert("webhook".into(), json!(options.url(&h.route())));
                    cron.insert("schedule".into(), json!(spec.schedule));
                    cron.insert("include_in_metadata".into(), json!(true));
                    if let Some(payload) = spec.payload {
                        let payload: Value =
                            serde_json::from_str(payload).unwrap_or(Value::String(payload.into()));
                        cron.insert("payload".into(), payload);
                    }
                    cron.insert(
                        "retry_conf".into(),
                        json!({
                            "num_retries": spec.retry.num_retries,
                            "retry_interval_seconds": spec.retry.retry_interval_seconds,
                            "timeout_seconds": spec.retry.timeout_seconds,
                            "tolerance_seconds": spec.retry.tolerance_seconds,
                        }),
                    );
                    cron.insert("headers".into(), options.headers());
                    if let Some(c) = spec.comment.map(str::to_owned).or_else(|| comment(h.doc)) {
                        cron.insert("comment".into(), json!(c));
                    }
                    declared.cron_triggers.push(Value::Object(cron));
                }
            }
        }
        // Stable output whatever the handlers' order.
        declared.actions.sort_by(|a, b| a.name.cmp(&b.name));
        declared
            .event_triggers
            .sort_by(|a, b| a.name().cmp(b.name()));
        declared
            .cron_triggers
            .sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(declared)
    }

    /// The declared objects as JSON: actions, custom types, event triggers (with their
    /// tables) and cron triggers.
    pub fn to_json(&self) -> Value {
        let mut types = Map::new();
        for kind in ["enums", "input_objects", "objects", "scalars"] {
            let list: Vec<Value> = self
                .custom_types()
                .into_iter()
                .filter(|t| t.kind == kind)
                .map(|t| t.metadata.clone())
                .collect();
            types.insert(kind.into(), Value::Array(list));
        }
        json!({
            "actions": self.actions.iter().map(|a| a.metadata.clone()).collect::<Vec<_>>(),
            "custom_types": types,
            "event_triggers": self.event_triggers.iter().map(|t| json!({
                "source": t.source,
                "table": {"schema": t.schema, "name": t.table},
                "trigger": t.metadata,
            })).collect::<Vec<_>>(),
            "cron_triggers": self.cron_triggers,
        })
    }

    /// Every custom type the actions use, once each, sorted by kind and name.
    pub fn custom_types(&self) -> Vec<&CustomType> {
        let mut types: Vec<&CustomType> = Vec::new();
        for action in &self.actions {
            for t in &action.types {
                if !types.iter().any(|known| known.name == t.name) {
                    types.push(t);
                }
            }
        }
        types.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        types
    }
}

/// Hasura's defaults made explicit, so a live object and a declared one compare equal when
/// Hasura would treat them the same (export omits defaults, docs/protocol.md §5.3).
pub(crate) fn normalize_action(action: &Value) -> Value {
    let mut a = action.clone();
    if let Some(def) = a.get_mut("definition").and_then(Value::as_object_mut) {
        let ty = def
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("mutation")
            .to_owned();
        def.insert("type".into(), json!(ty));
        if ty == "mutation" {
            def.entry("kind").or_insert(json!("synchronous"));
        } else {
            def.remove("kind");
        }
        def.entry("arguments").or_insert(json!([]));
        def.entry("headers").or_insert(json!([]));
        def.entry("forward_client_headers").or_insert(json!(false));
        def.entry("timeout")
            .or_insert(json!(DEFAULT_ACTION_TIMEOUT));
        strip_empty_descriptions(def.get_mut("arguments"));
    }
    if let Some(o) = a.as_object_mut() {
        o.remove("permissions");
        let comment = o.get("comment").cloned().unwrap_or(Value::Null);
        o.insert("comment".into(), comment);
    }
    a
}

fn strip_empty_descriptions(list: Option<&mut Value>) {
    if let Some(Value::Array(items)) = list {
        for item in items {
            if let Some(o) = item.as_object_mut() {
                if o.get("description").is_some_and(Value::is_null) {
                    o.remove("description");
                }
            }
        }
    }
}

pub(crate) fn normalize_event_trigger(trigger: &Value) -> Value {
    let mut t = trigger.clone();
    if let Some(o) = t.as_object_mut() {
        let retry = o.entry("retry_conf").or_insert(json!({}));
        if let Some(r) = retry.as_object_mut() {
            r.entry("num_retries").or_insert(json!(0));
            r.entry("interval_sec").or_insert(json!(10));
            r.entry("timeout_sec").or_insert(json!(60));
        }
        o.entry("headers").or_insert(json!([]));
        if let Some(def) = o.get_mut("definition").and_then(Value::as_object_mut) {
            def.entry("enable_manual").or_insert(json!(false));
        }
        o.remove("request_transform");
        o.remove("response_transform");
        o.remove("cleanup_config");
    }
    t
}

pub(crate) fn normalize_cron_trigger(cron: &Value) -> Value {
    let mut c = cron.clone();
    if let Some(o) = c.as_object_mut() {
        let retry = o.entry("retry_conf").or_insert(json!({}));
        if let Some(r) = retry.as_object_mut() {
            r.entry("num_retries").or_insert(json!(0));
            r.entry("retry_interval_seconds").or_insert(json!(10));
            r.entry("timeout_seconds").or_insert(json!(60));
            r.entry("tolerance_seconds").or_insert(json!(21600));
        }
        o.entry("headers").or_insert(json!([]));
        o.entry("payload").or_insert(Value::Null);
        o.entry("comment").or_insert(Value::Null);
        o.entry("include_in_metadata").or_insert(json!(true));
        o.remove("replace");
    }
    c
}

/// Whether a live object's headers carry this service's ownership mark.
pub(crate) fn owned_by(headers: Option<&Value>, service: &str) -> bool {
    headers.and_then(Value::as_array).is_some_and(|headers| {
        headers.iter().any(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(OWNER_HEADER))
                && h["value"].as_str() == Some(service)
        })
    })
}
