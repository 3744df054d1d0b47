//! Hasura's `actions.graphql` (repeated `type Query` / `type Mutation` blocks plus custom types)
//! and, optionally, `actions.yaml` (which says whether a mutation is asynchronous).

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use crate::Error;
use crate::schema::{Field, Schema};

/// Query or mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    /// Defined in `type Query`.
    Query,
    /// Defined in `type Mutation`.
    Mutation,
}

/// One action.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The action's name (the field's name).
    pub name: String,
    /// Query or mutation.
    pub action_type: ActionType,
    /// `Some(true)` when `actions.yaml` says `kind: asynchronous`; `None` without `actions.yaml`.
    pub asynchronous: Option<bool>,
    /// The field: arguments, output type, description.
    pub field: Field,
    /// Exported by a Rasura service from a code-first handler (its `actions.yaml` entry carries
    /// `X-Rasura-Definition: code`): its types are the handler's, nothing is generated for it.
    pub code_first: bool,
}

/// The header a Rasura export puts on code-first actions (see [`Action::code_first`]).
pub const CODE_FIRST_HEADER: &str = "X-Rasura-Definition";

/// The actions and the custom types of an `actions.graphql`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actions {
    /// The actions, in document order.
    pub actions: Vec<Action>,
    /// The custom types (everything but `Query` and `Mutation`).
    pub types: Schema,
}

impl Actions {
    /// Parses an `actions.graphql` (possibly empty) and, optionally, an `actions.yaml`.
    pub fn parse(
        graphql: &str,
        origin: &str,
        yaml: Option<(&str, &str)>,
    ) -> Result<Actions, Error> {
        let mut types = if graphql.trim().is_empty() {
            Schema::default()
        } else {
            Schema::from_sdl(graphql, origin)?
        };
        let kinds = match yaml {
            Some((text, yaml_origin)) => Some(parse_kinds(text, yaml_origin)?),
            None => None,
        };
        let mut actions = Vec::new();
        for (root, action_type) in [
            ("Query", ActionType::Query),
            ("Mutation", ActionType::Mutation),
        ] {
            if let Some(def) = types.types.remove(root) {
                for field in def.fields {
                    let entry = kinds.as_ref().and_then(|k| k.get(&field.name));
                    let asynchronous = kinds
                        .as_ref()
                        .map(|_| entry.is_some_and(|(k, _)| k == "asynchronous"));
                    actions.push(Action {
                        name: field.name.clone(),
                        action_type,
                        asynchronous,
                        code_first: entry.is_some_and(|(_, code)| *code),
                        field,
                    });
                }
            }
        }
        let mut seen = BTreeMap::new();
        for a in &actions {
            if seen.insert(a.name.as_str(), ()).is_some() {
                return Err(Error::new(format!(
                    "{origin}: action `{}` is defined twice",
                    a.name
                )));
            }
        }
        types.query = None;
        types.mutation = None;
        types.subscription = None;
        Ok(Actions { actions, types })
    }
}

impl Actions {
    /// Action name → the identifier of its marker type (`pong` → `Pong`), unique among the
    /// actions. The generated module and the manifest `#[action]` reads both use it.
    pub fn markers(&self) -> BTreeMap<String, String> {
        let names: Vec<&str> = self.actions.iter().map(|a| a.name.as_str()).collect();
        crate::naming::unique(&names, crate::naming::pascal)
    }
}

/// `actions.yaml`: action name → `definition.kind`, and whether it is code-first.
fn parse_kinds(text: &str, origin: &str) -> Result<BTreeMap<String, (String, bool)>, Error> {
    let value: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| Error::new(format!("{origin}: invalid YAML: {e}")))?;
    let mut out = BTreeMap::new();
    if let Some(Value::Sequence(actions)) = value.get("actions") {
        for a in actions {
            if let Some(name) = a.get("name").and_then(Value::as_str) {
                let kind = a
                    .get("definition")
                    .and_then(|d| d.get("kind"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let code_first = a
                    .get("definition")
                    .and_then(|d| d.get("headers"))
                    .and_then(Value::as_sequence)
                    .is_some_and(|headers| {
                        headers.iter().any(|h| {
                            h.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.eq_ignore_ascii_case(CODE_FIRST_HEADER))
                                && h.get("value").and_then(Value::as_str) == Some("code")
                        })
                    });
                out.insert(name.to_owned(), (kind.to_owned(), code_first));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_blocks_and_kinds() {
        let a = Actions::parse(
            "type Query { ping: PingOutput }\ntype Mutation { pong(m: String!): PongOutput }\ntype Mutation { later: uuid! }\ntype PingOutput { m: String! }",
            "actions.graphql",
            Some((
                "actions:\n- name: later\n  definition:\n    kind: asynchronous\n- name: ping\n  definition:\n    kind: \"\"\n",
                "actions.yaml",
            )),
        )
        .unwrap();
        let names: Vec<_> = a
            .actions
            .iter()
            .map(|a| (a.name.as_str(), a.action_type, a.asynchronous))
            .collect();
        assert_eq!(
            names,
            [
                ("ping", ActionType::Query, Some(false)),
                ("pong", ActionType::Mutation, Some(false)),
                ("later", ActionType::Mutation, Some(true))
            ]
        );
        assert!(a.types.get("PingOutput").is_some());
        assert!(a.types.get("Mutation").is_none());
    }

    #[test]
    fn empty_and_duplicate() {
        assert!(
            Actions::parse("\n\n", "a", None)
                .unwrap()
                .actions
                .is_empty()
        );
        let err = Actions::parse(
            "type Query { a: Int }\ntype Query { a: Int }",
            "a.graphql",
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
    }
}
