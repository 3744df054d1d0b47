//! Code-first actions: Hasura custom types from Rust types.
//!
//! `#[derive(rasura::CustomType)]`, beside serde's derives, on a struct or an enum implements
//! [`CustomType`] and [`GraphqlType`]: a struct becomes an object type (or an input object
//! where it is an argument's type), an enum of unit variants a GraphQL enum. An `#[action]`
//! whose input struct and output type derive it needs no `actions.graphql`: its arguments are
//! the input struct's fields, its output the output type (nullable, as Hasura's console writes
//! it), and `metadata export` writes the action and its custom types.
//!
//! ```
//! use rasura::CustomType;
//! use serde::{Deserialize, Serialize};
//!
//! /// A greeting request.
//! #[derive(Deserialize, CustomType)]
//! #[serde(rename_all = "camelCase")]
//! pub struct GreetInput {
//!     /// Who to greet.
//!     pub first_name: String,
//!     pub times: Option<i32>,
//! }
//!
//! #[derive(Serialize, CustomType)]
//! pub struct GreetOutput {
//!     pub greeting: String,
//!     pub mood: Mood,
//! }
//!
//! #[derive(Serialize, CustomType)]
//! #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
//! pub enum Mood { Happy, NotSure }
//!
//! let definition = rasura::custom_types::action_definition::<GreetInput, GreetOutput>("greet", true);
//! assert_eq!(
//!     definition.sdl,
//!     "type Query {\n  greet(\n    \"Who to greet.\"\n    firstName: String!\n    times: Int\n  ): GreetOutput\n}\n"
//! );
//! assert!(definition.types_sdl.contains("enum Mood {\n  HAPPY\n  NOT_SURE\n}"));
//! ```
//!
//! Field types map from Rust as the table says; [`GraphqlType`] is implemented for each.
//!
//! | Rust | GraphQL |
//! |---|---|
//! | `String`, `&str`, `Box<str>`, `Cow<str>` | `String!` |
//! | `bool` | `Boolean!` |
//! | `i8`, `i16`, `i32`, `u8`, `u16` | `Int!` |
//! | `i64`, `u32`, `u64` (up to `i64::MAX`), [`BigInt`](crate::types::BigInt) | `bigint!` |
//! | `f32`, `f64` | `Float!` |
//! | [`Float8`](crate::types::Float8) | `float8!` |
//! | [`Uuid`](crate::types::Uuid) | `uuid!` |
//! | [`Timestamptz`](crate::types::Timestamptz), [`Timestamp`](crate::types::Timestamp), [`Date`](crate::types::Date), [`Time`](crate::types::Time) | `timestamptz!`, `timestamp!`, `date!`, `time!` |
//! | [`Numeric`](crate::types::Numeric), [`Decimal`](crate::types::Decimal) | `numeric!` |
//! | [`Json`](crate::types::Json) (`serde_json::Value`) | `jsonb!` |
//! | `Option<T>`, [`Nullable<T>`](crate::types::Nullable) | `T` without `!` |
//! | `Vec<T>`, `[T]`, `Box<[T]>` | `[T!]!` |
//! | `Box<T>`, `Arc<T>` | `T` |
//!
//! Hasura's own scalars (`uuid`, `jsonb`, …) come from the database the action sits beside, so
//! no `scalar` definition is exported for them.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

/// Where a type is used: an argument's (input objects) or the output's (objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// An argument of the action, or a field of an input object.
    Input,
    /// The action's output, or a field of an object.
    Output,
}

/// A Rust type with a GraphQL type: the scalars of the module table, and every type that
/// derives [`CustomType`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Hasura custom type",
    label = "neither generated from actions.graphql nor `#[derive(rasura::CustomType)]`",
    note = "code-first: add `#[derive(rasura::CustomType)]` to `{Self}` (beside serde's derives)",
    note = "schema-first: define the action in actions.graphql and use the type rasura-codegen generates for it"
)]
pub trait GraphqlType {
    /// The type reference in SDL, non-null unless the type is optional (`String!`, `[Tag!]!`,
    /// `uuid`).
    fn type_ref(position: Position) -> String;

    /// Adds the custom types it needs (itself and its fields' types) to `types`.
    fn collect(position: Position, types: &mut TypeSet) {
        let _ = (position, types);
    }
}

/// A derived custom type: `#[derive(rasura::CustomType)]` implements it (with
/// [`GraphqlType`]); it is not meant to be implemented by hand.
pub trait CustomType: GraphqlType {
    /// The GraphQL name (the Rust name, or `#[serde(rename = "…")]`).
    const NAME: &'static str;

    /// Its definition where used at `position`; the types its fields use go into `types`.
    fn definition(position: Position, types: &mut TypeSet) -> TypeDefinition;
}

/// A struct whose fields are an action's arguments: `#[derive(rasura::CustomType)]` on a struct
/// with named fields implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the input of a code-first action",
    label = "the action's arguments come from a struct that derives `rasura::CustomType`",
    note = "code-first: add `#[derive(rasura::CustomType)]` to `{Self}` (a struct with named fields: they become the action's arguments)",
    note = "schema-first: define the action in actions.graphql and use the argument struct rasura-codegen generates for it"
)]
pub trait ActionArguments: CustomType {}

/// A custom type's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDefinition {
    /// The GraphQL name.
    pub name: String,
    /// The doc comment.
    pub description: Option<String>,
    /// What it is.
    pub kind: TypeKind,
}

/// The kind of a [`TypeDefinition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// `type` (output) or `input` (argument), by position.
    Object(Position, Vec<FieldDefinition>),
    /// `enum`.
    Enum(Vec<EnumValue>),
    /// `scalar` (a custom scalar of actions.graphql; Hasura's own need no definition).
    Scalar,
}

/// A field of an object or input object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDefinition {
    /// The GraphQL name (serde's, after `rename`/`rename_all`).
    pub name: String,
    /// The type reference (`String!`).
    pub ty: String,
    /// The doc comment.
    pub description: Option<String>,
}

/// A value of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// The value (serde's name of the variant).
    pub name: String,
    /// The doc comment.
    pub description: Option<String>,
}

/// The custom types an action uses, each once, in the order first met.
#[derive(Debug, Default)]
pub struct TypeSet {
    entries: Vec<Entry>,
    problems: Vec<String>,
}

#[derive(Debug)]
struct Entry {
    name: &'static str,
    rust: &'static str,
    position: Option<Position>,
    definition: Option<TypeDefinition>,
}

impl TypeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `T` (and, through its definition, the types of its fields) as used at `position`.
    pub fn add<T: CustomType>(&mut self, position: Position) {
        let rust = std::any::type_name::<T>();
        if let Some(e) = self.entries.iter().find(|e| e.name == T::NAME) {
            if e.rust != rust {
                self.problem(format!(
                    "two Rust types are the GraphQL type `{}`: `{}` and `{rust}`; rename one with `#[serde(rename = \"…\")]`",
                    T::NAME,
                    e.rust
                ));
            } else if e.position.is_some_and(|p| p != position) && !is_enum(e) {
                self.problem(format!(
                    "`{rust}` is used both in arguments and in an output: Hasura needs an input object and an object of different names; use two Rust types"
                ));
            }
            return;
        }
        // The placeholder first, so a recursive type refers to itself instead of looping.
        self.entries.push(Entry {
            name: T::NAME,
            rust,
            position: Some(position),
            definition: None,
        });
        let index = self.entries.len() - 1;
        let definition = T::definition(position, self);
        match &definition.kind {
            // A generated type has the kind `actions.graphql` gave it, whatever the position.
            TypeKind::Object(own, _) if *own != position => self.problem(format!(
                "`{}` is {} of actions.graphql but is used {}: Hasura needs an {} there",
                T::NAME,
                if *own == Position::Input {
                    "an input object"
                } else {
                    "an object type"
                },
                if position == Position::Input {
                    "in arguments"
                } else {
                    "in an output"
                },
                if position == Position::Input {
                    "input object"
                } else {
                    "object type"
                },
            )),
            TypeKind::Object(_, fields) if fields.is_empty() => self.problem(format!(
                "`{}` has no fields: a GraphQL type needs at least one",
                T::NAME
            )),
            TypeKind::Enum(values) if values.is_empty() => self.problem(format!(
                "`{}` has no values: a GraphQL enum needs at least one",
                T::NAME
            )),
            _ => {}
        }
        self.entries[index].definition = Some(definition);
    }

    /// Records a problem (reported by `metadata export` against the action).
    pub fn problem(&mut self, message: impl Into<String>) {
        let message = message.into();
        if !self.problems.contains(&message) {
            self.problems.push(message);
        }
    }

    /// The definitions, in the order first met.
    pub fn definitions(&self) -> impl Iterator<Item = &TypeDefinition> {
        self.entries.iter().filter_map(|e| e.definition.as_ref())
    }

    /// What could not be expressed.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The definitions as SDL, one after another.
    pub fn sdl(&self) -> String {
        let mut out = String::new();
        for (i, d) in self.definitions().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&d.sdl());
        }
        out
    }
}

fn is_enum(e: &Entry) -> bool {
    matches!(
        e.definition.as_ref().map(|d| &d.kind),
        Some(TypeKind::Enum(_) | TypeKind::Scalar)
    )
}

/// A description as SDL: a one-line string, or a block string when it has several lines.
fn description(out: &mut String, text: Option<&str>, indent: &str) {
    let Some(text) = text else { return };
    if text.contains('\n') {
        let _ = writeln!(out, "{indent}\"\"\"");
        for line in text.lines() {
            let _ = writeln!(out, "{indent}{}", line.replace("\"\"\"", "\\\"\"\""));
        }
        let _ = writeln!(out, "{indent}\"\"\"");
    } else {
        let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(out, "{indent}\"{escaped}\"");
    }
}

impl TypeDefinition {
    /// The definition as SDL (`type X {…}`, `input X {…}`, `enum X {…}`).
    pub fn sdl(&self) -> String {
        let mut out = String::new();
        description(&mut out, self.description.as_deref(), "");
        match &self.kind {
            TypeKind::Object(position, fields) => {
                let keyword = match position {
                    Position::Input => "input",
                    Position::Output => "type",
                };
                let _ = writeln!(out, "{keyword} {} {{", self.name);
                for f in fields {
                    description(&mut out, f.description.as_deref(), "  ");
                    let _ = writeln!(out, "  {}: {}", f.name, f.ty);
                }
            }
            TypeKind::Enum(values) => {
                let _ = writeln!(out, "enum {} {{", self.name);
                for v in values {
                    description(&mut out, v.description.as_deref(), "  ");
                    let _ = writeln!(out, "  {}", v.name);
                }
            }
            TypeKind::Scalar => {
                let _ = writeln!(out, "scalar {}", self.name);
                return out;
            }
        }
        out.push_str("}\n");
        out
    }
}

/// An action's definition from derived types: the same shape rasura-codegen embeds for a
/// schema-first action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedDefinition {
    /// `type Query {\n  name(args): Output\n}\n` (or `type Mutation`).
    pub sdl: String,
    /// The custom types it uses, as SDL.
    pub types_sdl: String,
    /// What could not be expressed (the action is then not exported).
    pub problems: Vec<String>,
}

/// The definition of action `name` taking `I`'s fields as arguments and returning `O`.
pub fn action_definition<I: ActionArguments, O: GraphqlType>(
    name: &str,
    query: bool,
) -> DerivedDefinition {
    DefinitionBuilder::new(name, query)
        .arguments::<I>()
        .output::<O>()
}

/// The definition of action `name` taking no arguments and returning `O`.
pub fn action_definition_without_input<O: GraphqlType>(
    name: &str,
    query: bool,
) -> DerivedDefinition {
    DefinitionBuilder::new(name, query).output::<O>()
}

/// Builds a [`DerivedDefinition`] one type at a time (what `#[action]` generates, so a type
/// that does not derive `CustomType` is reported once, at that type).
#[derive(Debug)]
pub struct DefinitionBuilder {
    name: String,
    query: bool,
    types: TypeSet,
    arguments: Vec<FieldDefinition>,
}

impl DefinitionBuilder {
    /// Action `name`, a query or a mutation.
    pub fn new(name: &str, query: bool) -> Self {
        Self {
            name: name.to_owned(),
            query,
            types: TypeSet::new(),
            arguments: Vec::new(),
        }
    }

    /// The arguments: `I`'s fields.
    pub fn arguments<I: ActionArguments>(mut self) -> Self {
        if let TypeKind::Object(_, fields) = I::definition(Position::Input, &mut self.types).kind {
            self.arguments = fields;
        }
        self
    }

    /// The output, `O`, and the definition.
    pub fn output<O: GraphqlType>(mut self) -> DerivedDefinition {
        let types = &mut self.types;
        O::collect(Position::Output, types);
        let output = O::type_ref(Position::Output);
        // Hasura's console writes the output nullable: an error then leaves `null` in `data`.
        let output = output.strip_suffix('!').unwrap_or(&output);
        let root = if self.query { "Query" } else { "Mutation" };
        let mut sdl = format!("type {root} {{\n  {}", self.name);
        if !self.arguments.is_empty() {
            sdl.push_str("(\n");
            for a in &self.arguments {
                description(&mut sdl, a.description.as_deref(), "    ");
                let _ = writeln!(sdl, "    {}: {}", a.name, a.ty);
            }
            sdl.push_str("  )");
        }
        let _ = write!(sdl, ": {output}\n}}\n");
        DerivedDefinition {
            sdl,
            types_sdl: types.sdl(),
            problems: types.problems().to_vec(),
        }
    }
}

macro_rules! scalar {
    ($name:literal: $($ty:ty),+) => {
        $(impl GraphqlType for $ty {
            fn type_ref(_: Position) -> String {
                concat!($name, "!").to_owned()
            }
        })+
    };
}

scalar!("String": String, str, Cow<'_, str>);
scalar!("Boolean": bool);
scalar!("Int": i8, i16, i32, u8, u16);
scalar!("bigint": i64, u32, u64, crate::types::BigInt);
scalar!("Float": f32, f64);
scalar!("float8": crate::types::Float8);
scalar!("uuid": crate::types::Uuid);
scalar!("timestamptz": crate::types::Timestamptz);
scalar!("timestamp": crate::types::Timestamp);
scalar!("date": crate::types::Date);
scalar!("time": crate::types::Time);
scalar!("numeric": crate::types::Numeric, crate::types::Decimal);
scalar!("jsonb": crate::types::Json);

impl<T: GraphqlType + ?Sized> GraphqlType for &T {
    fn type_ref(position: Position) -> String {
        T::type_ref(position)
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

impl<T: GraphqlType + ?Sized> GraphqlType for Box<T> {
    fn type_ref(position: Position) -> String {
        T::type_ref(position)
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

impl<T: GraphqlType + ?Sized> GraphqlType for Arc<T> {
    fn type_ref(position: Position) -> String {
        T::type_ref(position)
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

fn nullable(reference: String) -> String {
    match reference.strip_suffix('!') {
        Some(inner) => inner.to_owned(),
        None => reference,
    }
}

impl<T: GraphqlType> GraphqlType for Option<T> {
    fn type_ref(position: Position) -> String {
        nullable(T::type_ref(position))
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

impl<T: GraphqlType> GraphqlType for crate::types::Nullable<T> {
    fn type_ref(position: Position) -> String {
        nullable(T::type_ref(position))
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

impl<T: GraphqlType> GraphqlType for Vec<T> {
    fn type_ref(position: Position) -> String {
        format!("[{}]!", T::type_ref(position))
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

impl<T: GraphqlType> GraphqlType for [T] {
    fn type_ref(position: Position) -> String {
        format!("[{}]!", T::type_ref(position))
    }
    fn collect(position: Position, types: &mut TypeSet) {
        T::collect(position, types);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;
    impl GraphqlType for Empty {
        fn type_ref(_: Position) -> String {
            "Empty!".into()
        }
        fn collect(position: Position, types: &mut TypeSet) {
            types.add::<Self>(position);
        }
    }
    impl CustomType for Empty {
        const NAME: &'static str = "Empty";
        fn definition(_: Position, _: &mut TypeSet) -> TypeDefinition {
            TypeDefinition {
                name: "Empty".into(),
                description: None,
                kind: TypeKind::Object(Position::Output, Vec::new()),
            }
        }
    }

    #[test]
    fn empty_types_and_misplaced_generated_types_are_problems() {
        let d = action_definition_without_input::<Empty>("a", true);
        assert_eq!(
            d.problems,
            ["`Empty` has no fields: a GraphQL type needs at least one"]
        );
        let mut types = TypeSet::new();
        types.add::<Empty>(Position::Input);
        assert!(
            types.problems()[0]
                .contains("is an object type of actions.graphql but is used in arguments"),
            "{:?}",
            types.problems()
        );
    }

    #[test]
    fn references_follow_the_table() {
        assert_eq!(String::type_ref(Position::Input), "String!");
        assert_eq!(<Option<i32>>::type_ref(Position::Input), "Int");
        assert_eq!(<Vec<String>>::type_ref(Position::Output), "[String!]!");
        assert_eq!(
            <Option<Vec<Option<i64>>>>::type_ref(Position::Output),
            "[bigint]"
        );
        assert_eq!(<crate::types::Json>::type_ref(Position::Output), "jsonb!");
        assert_eq!(
            <crate::types::Timestamptz>::type_ref(Position::Output),
            "timestamptz!"
        );
        assert_eq!(<&str>::type_ref(Position::Output), "String!");
    }

    #[test]
    fn descriptions_escape_quotes_and_keep_lines() {
        let d = TypeDefinition {
            name: "T".into(),
            description: Some("say \"hi\"".into()),
            kind: TypeKind::Enum(vec![EnumValue {
                name: "A".into(),
                description: Some("one\ntwo".into()),
            }]),
        };
        assert_eq!(
            d.sdl(),
            "\"say \\\"hi\\\"\"\nenum T {\n  \"\"\"\n  one\n  two\n  \"\"\"\n  A\n}\n"
        );
    }
}
