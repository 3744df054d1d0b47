//! Hasura v2 webhook payloads: what Hasura sends to actions, event triggers and scheduled
//! triggers (docs/protocol.md §1.1, §2.1, §3.1).
//!
//! Every type ignores unknown keys, so a newer Hasura that adds fields keeps working.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Session variables of the Hasura request that caused a webhook call (`x-hasura-*`).
///
/// Keys are case-insensitive (Hasura lower-cases them when it serialises a session); values are
/// always strings. Lookups accept any case: `get("X-Hasura-User-Id")` finds `x-hasura-user-id`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SessionVariables {
    // A handful of entries at most: a vector beats a hash map here. The usual names are
    // borrowed statics, so parsing a session allocates only its values.
    entries: Vec<(Cow<'static, str>, String)>,
}

/// The most session variables a request may carry (keys counted as they arrive, duplicates
/// included). Hasura sessions hold a handful; the bound keeps a forged body cheap to refuse.
pub const MAX_SESSION_VARIABLES: usize = 256;

/// Collects session variables in arrival order, a repeated name replacing the earlier value,
/// in linear time: a name index takes over once the session is larger than a scan is cheap.
#[derive(Default)]
pub(crate) struct SessionBuilder {
    entries: Vec<(Cow<'static, str>, String)>,
    index: Option<std::collections::HashMap<Cow<'static, str>, usize>>,
    seen: usize,
}

impl SessionBuilder {
    const SCAN_LIMIT: usize = 16;

    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n.min(Self::SCAN_LIMIT)),
            ..Self::default()
        }
    }

    /// Adds a (lower-cased) name; `Err` once more than [`MAX_SESSION_VARIABLES`] were given.
    #[inline]
    pub(crate) fn push(
        &mut self,
        name: Cow<'static, str>,
        value: String,
    ) -> Result<(), TooManyVariables> {
        self.seen += 1;
        if self.seen > MAX_SESSION_VARIABLES {
            return Err(TooManyVariables);
        }
        self.insert(name, value);
        Ok(())
    }

    /// Adds a (lower-cased) name without the bound.
    #[inline]
    fn insert(&mut self, name: Cow<'static, str>, value: String) {
        let found = match &self.index {
            Some(index) => index.get(&name).copied(),
            None => self.entries.iter().position(|(k, _)| *k == name),
        };
        match found {
            Some(i) => self.entries[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(name.clone(), self.entries.len());
                } else if self.entries.len() == Self::SCAN_LIMIT {
                    let mut index = std::collections::HashMap::with_capacity(2 * Self::SCAN_LIMIT);
                    for (i, (k, _)) in self.entries.iter().enumerate() {
                        index.insert(k.clone(), i);
                    }
                    index.insert(name.clone(), self.entries.len());
                    self.index = Some(index);
                }
                self.entries.push((name, value));
            }
        }
    }

    pub(crate) fn finish(self) -> SessionVariables {
        SessionVariables {
            entries: self.entries,
        }
    }
}

/// More than [`MAX_SESSION_VARIABLES`] session variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many session variables (at most {MAX_SESSION_VARIABLES})")]
pub struct TooManyVariables;

const WELL_KNOWN: [&str; 3] = ["x-hasura-role", "x-hasura-user-id", "x-hasura-org-id"];

/// The lower-cased name, without allocating for the usual ones.
fn session_key(name: &str) -> Cow<'static, str> {
    match WELL_KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(name.to_ascii_lowercase()),
    }
}

/// [`session_key`] for a name already owned: lower-cased in place, no new allocation.
pub(crate) fn session_key_owned(mut name: String) -> Cow<'static, str> {
    match WELL_KNOWN.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
        Some(k) => Cow::Borrowed(k),
        None => {
            name.make_ascii_lowercase();
            Cow::Owned(name)
        }
    }
}

impl SessionVariables {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable, replacing any existing one with the same (case-insensitive) name.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl Into<String>) {
        let name = session_key(name.as_ref());
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// The value of a variable, looked up case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `x-hasura-role`: the role Hasura resolved for the caller.
    pub fn role(&self) -> Option<&str> {
        self.get("x-hasura-role")
    }

    /// `x-hasura-user-id`, when the session has one.
    pub fn user_id(&self) -> Option<&str> {
        self.get("x-hasura-user-id")
    }

    /// Every variable, names lower-cased, in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the session has no variables.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for SessionVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl SessionVariables {
    /// Builds a session from name/value pairs in linear time (a repeated name, in any case,
    /// keeps the last value); more than [`MAX_SESSION_VARIABLES`] pairs is an error.
    pub fn try_from_pairs<K: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, TooManyVariables> {
        let pairs = pairs.into_iter();
        let mut builder = SessionBuilder::with_capacity(pairs.size_hint().0);
        for (k, v) in pairs {
            builder.push(session_key(k.as_ref()), v.into())?;
        }
        Ok(builder.finish())
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for SessionVariables {
    /// Like [`SessionVariables::try_from_pairs`] without the bound (for sessions built in code).
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut builder = SessionBuilder::default();
        for (k, v) in iter {
            builder.insert(session_key(k.as_ref()), v.into());
        }
        builder.finish()
    }
}

impl Serialize for SessionVariables {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for SessionVariables {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SessionVisitor;
        impl<'de> Visitor<'de> for SessionVisitor {
            type Value = SessionVariables;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string session variables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut session = SessionBuilder::with_capacity(map.size_hint().unwrap_or(2));
                while let Some(name) = map.next_key::<SessionKey>()? {
                    let value = map.next_value::<String>()?;
                    session.push(name.0, value).map_err(de::Error::custom)?;
                }
                Ok(session.finish())
            }
        }
        deserializer.deserialize_map(SessionVisitor)
    }
}

/// A session variable name, lower-cased; the usual ones without allocating (serde's `Cow`
/// always allocates, a borrowed `&str` fails on escapes: this takes whichever comes).
struct SessionKey(Cow<'static, str>);

impl<'de> Deserialize<'de> for SessionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = SessionKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session variable name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SessionKey, E> {
                Ok(SessionKey(session_key(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// `{"name": …}`: the `action` object of an action request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionName<'a> {
    /// The action's name (borrowed from the body unless it holds escapes).
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

/// The body Hasura POSTs to an action handler (docs/protocol.md §1.1), exactly as the service
/// reads it: the name and input borrowed from the body, the input left raw so it is parsed once,
/// straight into the handler's input type.
///
/// ```
/// let body = br#"{"action":{"name":"pong"},"input":{"n":1},
///     "session_variables":{"x-hasura-role":"user"},"request_query":"mutation { pong }"}"#;
/// let request: rasura::protocol::ActionRequest<'_> = serde_json::from_slice(body).unwrap();
/// assert_eq!(request.action.name, "pong");
/// assert_eq!(request.input.unwrap().get(), r#"{"n":1}"#);
/// assert_eq!(request.request_query().as_deref(), Some("mutation { pong }"));
/// ```
#[derive(Debug, Deserialize)]
pub struct ActionRequest<'a> {
    /// Which action is called.
    #[serde(borrow)]
    pub action: ActionName<'a>,
    /// The action's arguments, keyed by argument name, as raw JSON (Hasura always sends it;
    /// a missing one reads as `{}` to the handler).
    #[serde(borrow, default)]
    pub input: Option<&'a RawValue>,
    /// The caller's session (lower-case keys, string values).
    pub session_variables: SessionVariables,
    /// The GraphQL document the client sent, as raw JSON: a string, or `null` for
    /// asynchronous actions. Kept raw so it is not copied on every call; see
    /// [`ActionRequest::request_query`].
    #[serde(borrow, default)]
    pub request_query: Option<&'a RawValue>,
}

impl ActionRequest<'_> {
    /// The GraphQL document the client sent, if any.
    pub fn request_query(&self) -> Option<String> {
        self.request_query
            .and_then(|raw| serde_json::from_str::<Option<String>>(raw.get()).ok())
            .flatten()
    }
}

/// `{"schema": …, "name": …}`: a Postgres table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableName {
    /// Schema, e.g. `public`.
    pub schema: String,
    /// Table name.
    pub name: String,
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// `{"name": …}`: the trigger of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerName {
    /// The trigger's name.
    pub name: String,
}

/// The database operation that fired an event trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OpKind {
    /// A row was inserted.
    Insert,
    /// A row was updated.
    Update,
    /// A row was deleted.
    Delete,
    /// The trigger was invoked by hand (console or `pg_invoke_event_trigger`).
    Manual,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpKind::Insert => "INSERT",
            OpKind::Update => "UPDATE",
            OpKind::Delete => "DELETE",
            OpKind::Manual => "MANUAL",
        })
    }
}

/// `{"old": …, "new": …}` rows of an event (each may be `null`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowData<Row> {
    /// The row before the change (UPDATE, DELETE).
    #[serde(default = "none")]
    pub old: Option<Row>,
    /// The row after the change (INSERT, UPDATE, MANUAL).
    #[serde(default = "none")]
    pub new: Option<Row>,
}

fn none<T>() -> Option<T> {
    None
}

/// Trace context Hasura recorded with the change, when there was one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// Trace id (hex).
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Span id (hex).
    #[serde(default)]
    pub span_id: Option<String>,
    /// Sampling decision.
    #[serde(default)]
    pub sampling_state: Option<String>,
}

/// The `event` object of an event-trigger request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventData<Row> {
    /// The operation.
    pub op: OpKind,
    /// Old and new rows (Postgres `row_to_json` encodings).
    pub data: RowData<Row>,
    /// Session of the Hasura request that made the change; `None` for changes made outside Hasura.
    #[serde(default)]
    pub session_variables: Option<SessionVariables>,
    /// Trace context; absent or `null` when none was recorded.
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
}

/// Delivery attempt counters of an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// Previous attempts: 0 on the first delivery.
    #[serde(default)]
    pub current_retry: u32,
    /// The trigger's `num_retries`.
    #[serde(default)]
    pub max_retries: u32,
}

/// The body Hasura POSTs to an event-trigger webhook (docs/protocol.md §2.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRequest<Row> {
    /// Event id: the idempotency key (delivery is at-least-once).
    pub id: String,
    /// The table whose row changed.
    pub table: TableName,
    /// The trigger.
    pub trigger: TriggerName,
    /// Operation, rows and session.
    pub event: EventData<Row>,
    /// Retry counters.
    #[serde(default)]
    pub delivery_info: DeliveryInfo,
    /// When the change happened (Hasura sends it without a time zone; it is read as UTC).
    #[serde(with = "lenient_timestamp")]
    pub created_at: DateTime<Utc>,
}

/// A typed event operation, as a handler sees it: each variant carries exactly the rows
/// Hasura guarantees for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation<Row> {
    /// INSERT: the new row.
    Insert {
        /// The inserted row.
        new: Row,
    },
    /// UPDATE: the row before and after.
    Update {
        /// Before.
        old: Row,
        /// After.
        new: Row,
    },
    /// DELETE: the deleted row.
    Delete {
        /// The deleted row.
        old: Row,
    },
    /// MANUAL: the row the trigger was invoked on.
    Manual {
        /// The row.
        new: Row,
    },
}

impl<Row> Operation<Row> {
    /// The operation's kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Operation::Insert { .. } => OpKind::Insert,
            Operation::Update { .. } => OpKind::Update,
            Operation::Delete { .. } => OpKind::Delete,
            Operation::Manual { .. } => OpKind::Manual,
        }
    }

    /// The row after the change (`None` for DELETE).
    pub fn new_row(&self) -> Option<&Row> {
        match self {
            Operation::Insert { new }
            | Operation::Update { new, .. }
            | Operation::Manual { new } => Some(new),
            Operation::Delete { .. } => None,
        }
    }

    /// The row before the change (UPDATE and DELETE only).
    pub fn old_row(&self) -> Option<&Row> {
        match self {
            Operation::Update { old, .. } | Operation::Delete { old } => Some(old),
            Operation::Insert { .. } | Operation::Manual { .. } => None,
        }
    }
}

/// An event-trigger delivery as a handler receives it: [`EventRequest`] with a typed
/// [`Operation`].
#[derive(Debug, Clone)]
pub struct Event<Row> {
    /// Event id: dedupe on it, Hasura delivers at least once.
    pub id: String,
    /// The table whose row changed.
    pub table: TableName,
    /// The trigger's name.
    pub trigger: String,
    /// What happened, with its rows.
    pub operation: Operation<Row>,
    /// Session of the change; `None` when it was made outside Hasura.
    pub session_variables: Option<SessionVariables>,
    /// Trace context of the change, if any.
    pub trace_context: Option<TraceContext>,
    /// Retry counters.
    pub delivery_info: DeliveryInfo,
    /// When the change happened (UTC).
    pub created_at: DateTime<Utc>,
}

/// Why an [`EventRequest`] does not make a valid [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} event without its `{which}` row")]
pub struct MissingRow {
    /// The operation.
    pub op: OpKind,
    /// `"old"` or `"new"`.
    pub which: &'static str,
}

impl<Row> TryFrom<EventRequest<Row>> for Event<Row> {
    type Error = MissingRow;

    fn try_from(req: EventRequest<Row>) -> Result<Self, Self::Error> {
        let op = req.event.op;
        let RowData { old, new } = req.event.data;
        let missing = |which| MissingRow { op, which };
        let operation = match op {
            OpKind::Insert => Operation::Insert {
                new: new.ok_or_else(|| missing("new"))?,
            },
            OpKind::Update => Operation::Update {
                old: old.ok_or_else(|| missing("old"))?,
                new: new.ok_or_else(|| missing("new"))?,
            },
            OpKind::Delete => Operation::Delete {
                old: old.ok_or_else(|| missing("old"))?,
            },
            OpKind::Manual => Operation::Manual {
                new: new.ok_or_else(|| missing("new"))?,
            },
        };
        Ok(Event {
            id: req.id,
            table: req.table,
            trigger: req.trigger.name,
            operation,
            session_variables: req.event.session_variables,
            trace_context: req.event.trace_context,
            delivery_info: req.delivery_info,
            created_at: req.created_at,
        })
    }
}

/// The body Hasura POSTs for a cron trigger (docs/protocol.md §3.1). `P` is the configured payload
/// (`null` when none was configured, so `()` or `Option<_>` work for "no payload").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CronRequest<P = serde_json::Value> {
    /// Scheduled event id: dedupe on it, delivery is at-least-once.
    pub id: String,
    /// The cron trigger's name.
    pub name: String,
    /// The time this run was scheduled for (UTC).
    #[serde(with = "lenient_timestamp")]
    pub scheduled_time: DateTime<Utc>,
    /// The configured payload.
    pub payload: P,
    /// The trigger's comment, if any.
    #[serde(default)]
    pub comment: Option<String>,
}

/// What a `#[cron]` handler receives: one run of a cron trigger.
pub type Cron<P = serde_json::Value> = CronRequest<P>;

/// The body Hasura POSTs for a one-off scheduled event (docs/protocol.md §3.1): like a cron's,
/// without `name`, with `created_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledRequest<P = serde_json::Value> {
    /// Scheduled event id (what `ctx.scheduler().schedule` returned): dedupe on it, delivery
    /// is at-least-once.
    pub id: String,
    /// The time the event was scheduled for (UTC).
    #[serde(with = "lenient_timestamp")]
    pub scheduled_time: DateTime<Utc>,
    /// The payload it was created with.
    pub payload: P,
    /// When it was created, if Hasura sent it.
    #[serde(default, with = "lenient_optional_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    /// Its comment, if any.
    #[serde(default)]
    pub comment: Option<String>,
}

/// What a `#[scheduled]` handler receives: one delivery of a one-off scheduled event.
pub type Scheduled<P = serde_json::Value> = ScheduledRequest<P>;

/// Parses Hasura timestamps leniently: RFC 3339 with an offset or `Z`, or without any time zone
/// (event-trigger `created_at`, read as UTC), with any number of fractional digits.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    // Postgres may also print `+00` (no minutes) or a space instead of `T`.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

mod lenient_optional_timestamp {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::lenient_timestamp::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.map(|text| {
            parse_timestamp(&text).ok_or_else(|| {
                de::Error::custom(format_args!(
                    "invalid timestamp `{text}`, expected RFC 3339"
                ))
            })
        })
        .transpose()
    }
}

mod lenient_timestamp {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        parse_timestamp(&text).ok_or_else(|| {
            de::Error::custom(format_args!(
                "invalid timestamp `{text}`, expected RFC 3339"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session_body(keys: impl Iterator<Item = String>) -> String {
        let mut body = String::from("{");
        for (i, k) in keys.enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"{k}\":\"v{i}\""));
        }
        body.push('}');
        body
    }

    #[test]
    fn many_session_variables_keep_order_last_value_wins_and_are_bounded() {
        // Past the scan limit the index takes over; duplicates in other cases still replace.
        let mut keys: Vec<String> = (0..200).map(|i| format!("x-hasura-k{i}")).collect();
        keys.push("X-HASURA-K3".into());
        keys.push("x-hasura-k150".into());
        let s: SessionVariables = serde_json::from_str(&session_body(keys.into_iter())).unwrap();
        assert_eq!(s.len(), 200);
        assert_eq!(s.get("x-hasura-k3"), Some("v200"));
        assert_eq!(s.get("x-hasura-k150"), Some("v201"));
        assert_eq!(s.iter().nth(3), Some(("x-hasura-k3", "v200")));
        assert_eq!(s.iter().last(), Some(("x-hasura-k199", "v199")));

        let over = (0..=MAX_SESSION_VARIABLES).map(|i| format!("x-hasura-k{i}"));
        let err = serde_json::from_str::<SessionVariables>(&session_body(over)).unwrap_err();
        assert!(
            err.to_string().contains("too many session variables"),
            "{err}"
        );
        // Duplicates count too: one name repeated is not a way around the bound.
        let repeated = std::iter::repeat_n("x-hasura-role".to_owned(), 100_000);
        assert!(serde_json::from_str::<SessionVariables>(&session_body(repeated)).is_err());

        let pairs = (0..300).map(|i| (format!("x-hasura-k{i}"), "v"));
        assert_eq!(
            SessionVariables::try_from_pairs(pairs.clone()),
            Err(TooManyVariables)
        );
        assert_eq!(pairs.collect::<SessionVariables>().len(), 300);
    }

    #[test]
    fn session_keys_are_case_insensitive_and_values_strings() {
        let s: SessionVariables =
            serde_json::from_value(json!({"X-Hasura-Role": "user", "x-hasura-user-id": "42"}))
                .unwrap();
        assert_eq!(s.role(), Some("user"));
        assert_eq!(s.get("X-HASURA-USER-ID"), Some("42"));
        assert_eq!(s.iter().next(), Some(("x-hasura-role", "user")));
        assert!(
            serde_json::from_value::<SessionVariables>(json!({"x-hasura-user-id": 42})).is_err()
        );
    }

    #[test]
    fn action_request_accepts_null_or_missing_request_query_and_unknown_keys() {
        let text = json!({
            "action": {"name": "a"}, "input": {}, "session_variables": {"x-hasura-role": "admin"},
            "request_query": null, "extra": 1
        })
        .to_string();
        let r: ActionRequest<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(r.request_query(), None);
        let text = json!({
            "action": {"name": "a"}, "input": {}, "session_variables": {}
        })
        .to_string();
        let r: ActionRequest<'_> = serde_json::from_str(&text).unwrap();
        assert!(r.request_query.is_none());
        assert_eq!(r.action.name, "a");
        // An escaped name still reads (owned instead of borrowed).
        let r: ActionRequest<'_> = serde_json::from_str(
            r#"{"action":{"name":"p\u006fng"},"input":{},"session_variables":{}}"#,
        )
        .unwrap();
        assert_eq!(r.action.name, "pong");
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        let a = parse_timestamp("2018-09-05T07:14:21.601701").unwrap();
        let b = parse_timestamp("2018-09-05T07:14:21.601701Z").unwrap();
        let c = parse_timestamp("2018-09-05T09:14:21.601701+02:00").unwrap();
        let d = parse_timestamp("2018-09-05 07:14:21.601701+00").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(c, d);
        assert!(parse_timestamp("2018-09-05T07:14:21").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn event_operations_carry_their_rows() {
        let req: EventRequest<serde_json::Value> = serde_json::from_value(json!({
            "id": "85558393-c75d-4d2f-9c15-e80591b83894",
            "table": {"schema": "public", "name": "users"},
            "trigger": {"name": "t"},
            "event": {"op": "UPDATE", "data": {"old": {"a": 1}, "new": {"a": 2}},
                      "session_variables": null},
            "delivery_info": {"current_retry": 0, "max_retries": 0},
            "created_at": "2018-09-05T07:14:21.601701"
        }))
        .unwrap();
        let ev = Event::try_from(req.clone()).unwrap();
        assert_eq!(
            ev.operation,
            Operation::Update {
                old: json!({"a": 1}),
                new: json!({"a": 2})
            }
        );
        assert!(ev.session_variables.is_none() && ev.trace_context.is_none());
        let mut bad = req;
        bad.event.data.old = None;
        assert_eq!(
            Event::try_from(bad).unwrap_err(),
            MissingRow {
                op: OpKind::Update,
                which: "old"
            }
        );
    }

    #[test]
    fn cron_and_one_off_shapes() {
        let c: CronRequest<serde_json::Value> = serde_json::from_value(json!({
            "id": "b918cd10-8853-4e66-91b8-81b5cd16e44b", "name": "eod",
            "scheduled_time": "2024-05-01T22:00:00Z", "payload": {"k": "v"}
        }))
        .unwrap();
        assert_eq!(c.name, "eod");
        assert!(c.comment.is_none());
        // A one-off body is not a cron body: it has no name.
        assert!(
            serde_json::from_value::<CronRequest>(json!({
                "id": "x", "scheduled_time": "2024-05-01T22:00:00Z", "payload": null,
                "created_at": "2024-05-01T21:59:58Z"
            }))
            .is_err()
        );
    }
}
