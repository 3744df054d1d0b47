//! The GraphQL schema as the generator sees it, loaded from SDL or from an introspection result.
//!
//! Both inputs are parsed by real parsers (`graphql-parser` for SDL, `serde_json` for
//! introspection) into one small model, so everything after loading is format-agnostic.

use std::collections::BTreeMap;
use std::fmt;

use graphql_parser::schema as sdl;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A type reference: `T`, `[T]`, `T!`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeRef {
    /// A named type, nullable.
    Named(String),
    /// A list, nullable.
    List(Box<TypeRef>),
    /// A non-null wrapper.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The innermost named type.
    pub fn base(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.base(),
        }
    }

    /// Whether the outermost level is non-null.
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// The type without its outermost `!`.
    pub fn nullable(&self) -> &TypeRef {
        match self {
            TypeRef::NonNull(t) => t,
            t => t,
        }
    }

    fn from_sdl(t: &sdl::Type<'_, String>) -> TypeRef {
        match t {
            sdl::Type::NamedType(n) => TypeRef::Named(n.clone()),
            sdl::Type::ListType(t) => TypeRef::List(Box::new(TypeRef::from_sdl(t))),
            sdl::Type::NonNullType(t) => TypeRef::NonNull(Box::new(TypeRef::from_sdl(t))),
        }
    }

    /// Converts a type from a query document.
    pub fn from_query(t: &graphql_parser::query::Type<'_, String>) -> TypeRef {
        use graphql_parser::query::Type;
        match t {
            Type::NamedType(n) => TypeRef::Named(n.clone()),
            Type::ListType(t) => TypeRef::List(Box::new(TypeRef::from_query(t))),
            Type::NonNullType(t) => TypeRef::NonNull(Box::new(TypeRef::from_query(t))),
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// What kind of named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// `scalar`
    Scalar,
    /// `type`
    Object,
    /// `interface`
    Interface,
    /// `union`
    Union,
    /// `enum`
    Enum,
    /// `input`
    InputObject,
}

impl Kind {
    /// The SDL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Object => "type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::InputObject => "input",
        }
    }
}

/// An argument or an input field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputValue {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its type.
    pub ty: TypeRef,
    /// Its default value, as GraphQL text.
    pub default: Option<String>,
}

/// A field of an object or interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its arguments.
    pub args: Vec<InputValue>,
    /// Its type.
    pub ty: TypeRef,
    /// `@deprecated(reason: …)`, if deprecated.
    pub deprecated: Option<String>,
}

/// An enum value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumValue {
    /// The value.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
}

/// A named type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    /// The GraphQL name.
    pub name: String,
    /// The kind.
    pub kind: Kind,
    /// The description.
    pub description: Option<String>,
    /// Fields of objects and interfaces.
    pub fields: Vec<Field>,
    /// Fields of input objects.
    pub input_fields: Vec<InputValue>,
    /// Values of enums.
    pub values: Vec<EnumValue>,
    /// Members of unions.
    pub members: Vec<String>,
    /// Interfaces an object or interface implements.
    pub interfaces: Vec<String>,
}

impl TypeDef {
    fn new(name: String, kind: Kind, description: Option<String>) -> TypeDef {
        TypeDef {
            name,
            kind,
            description,
            fields: Vec::new(),
            input_fields: Vec::new(),
            values: Vec::new(),
            members: Vec::new(),
            interfaces: Vec::new(),
        }
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The built-in scalars every schema has, whether it declares them or not.
pub const BUILT_IN_SCALARS: &[&str] = &["Int", "Float", "String", "Boolean", "ID"];

/// A schema: named types and root operation types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Every named type, by name (sorted, so output is deterministic).
    pub types: BTreeMap<String, TypeDef>,
    /// The query root type.
    pub query: Option<String>,
    /// The mutation root type.
    pub mutation: Option<String>,
    /// The subscription root type.
    pub subscription: Option<String>,
}

impl Schema {
    /// A named type.
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// The kind of a named type; undeclared names are taken as scalars (built-ins and Hasura
    /// scalars that an `actions.graphql` uses without declaring).
    pub fn kind_of(&self, name: &str) -> Kind {
        self.types.get(name).map_or(Kind::Scalar, |t| t.kind)
    }

    /// Loads a schema from SDL or an introspection result (with or without the `{"data": …}`
    /// wrapper), whichever `source` is.
    pub fn parse(source: &str, origin: &str) -> Result<Schema, Error> {
        if source.trim_start().starts_with('{') {
            Schema::from_introspection(source, origin)
        } else {
            Schema::from_sdl(source, origin)
        }
    }

    /// Like [`Schema::parse`], but keeps the parsed schema in `cache_dir` keyed by a hash of the
    /// source: when only operations or handlers change, the build script reads the cache
    /// instead of parsing a large SDL again (parsing is the slow part of an unoptimised
    /// `build.rs`).
    pub fn parse_cached(
        source: &str,
        origin: &str,
        cache_dir: &std::path::Path,
    ) -> Result<Schema, Error> {
        use std::hash::{Hash, Hasher};
        #[derive(Serialize, Deserialize)]
        struct Cached {
            key: String,
            schema: Schema,
        }
        let mut hasher = std::hash::DefaultHasher::new();
        (env!("CARGO_PKG_VERSION"), origin, source).hash(&mut hasher);
        let key = format!("{:016x}-{}", hasher.finish(), source.len());
        let file = cache_dir.join("rasura_schema_cache.json");
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Ok(cached) = serde_json::from_str::<Cached>(&text) {
                if cached.key == key {
                    return Ok(cached.schema);
                }
            }
        }
        let schema = Schema::parse(source, origin)?;
        // A cache that cannot be written only costs the next build a parse.
        if let Ok(text) = serde_json::to_string(&Cached {
            key,
            schema: schema.clone(),
        }) {
            let _ = std::fs::write(&file, text);
        }
        Ok(schema)
    }

    /// Loads a schema from SDL. Types defined more than once are merged (fields appended), which
    /// also reads Hasura's `actions.graphql` with its repeated `type Mutation` blocks.
    pub fn from_sdl(source: &str, origin: &str) -> Result<Schema, Error> {
        let source = blank_schema_description(source);
        let doc = sdl::parse_schema::<String>(&source)
            .map_err(|e| Error::new(format!("{origin}: invalid GraphQL SDL: {e}")))?;
        let mut schema = Schema::default();
        for def in doc.definitions {
            match def {
                sdl::Definition::SchemaDefinition(s) => {
                    schema.query = s.query;
                    schema.mutation = s.mutation;
                    schema.subscription = s.subscription;
                }
                sdl::Definition::TypeDefinition(t) => schema.add(convert_sdl_type(t)),
                sdl::Definition::TypeExtension(t) => schema.add(convert_sdl_extension(t)),
                sdl::Definition::DirectiveDefinition(_) => {}
            }
        }
        schema.default_roots();
        Ok(schema)
    }

    fn add(&mut self, def: TypeDef) {
        match self.types.get_mut(&def.name) {
            Some(existing) => {
                existing.fields.extend(def.fields);
                existing.input_fields.extend(def.input_fields);
                existing.values.extend(def.values);
                existing.members.extend(def.members);
                existing.interfaces.extend(def.interfaces);
                if existing.description.is_none() {
                    existing.description = def.description;
                }
            }
            None => {
                self.types.insert(def.name.clone(), def);
            }
        }
    }

    fn default_roots(&mut self) {
        let pick = |names: [&str; 2], types: &BTreeMap<String, TypeDef>| {
            names
                .into_iter()
                .find(|n| types.contains_key(*n))
                .map(str::to_owned)
        };
        if self.query.is_none() {
            self.query = pick(["query_root", "Query"], &self.types);
        }
        if self.mutation.is_none() {
            self.mutation = pick(["mutation_root", "Mutation"], &self.types);
        }
        if self.subscription.is_none() {
            self.subscription = pick(["subscription_root", "Subscription"], &self.types);
        }
    }

    /// Loads a schema from an introspection result.
    pub fn from_introspection(source: &str, origin: &str) -> Result<Schema, Error> {
        #[derive(Deserialize)]
        struct Wrapped {
            data: Option<Bare>,
            #[serde(rename = "__schema")]
            schema: Option<IntrospectionSchema>,
        }
        #[derive(Deserialize)]
        struct Bare {
            #[serde(rename = "__schema")]
            schema: IntrospectionSchema,
        }
        let wrapped: Wrapped = serde_json::from_str(source)
            .map_err(|e| Error::new(format!("{origin}: invalid introspection JSON: {e}")))?;
        let raw = wrapped
            .schema
            .or(wrapped.data.map(|d| d.schema))
            .ok_or_else(|| {
                Error::new(format!(
                    "{origin}: not an introspection result: expected `__schema` or `data.__schema`"
                ))
            })?;
        let mut schema = Schema {
            query: raw.query_type.map(|t| t.name),
            mutation: raw.mutation_type.map(|t| t.name),
            subscription: raw.subscription_type.map(|t| t.name),
            ..Schema::default()
        };
        for t in raw.types {
            let kind = match t.kind.as_str() {
                "SCALAR" => Kind::Scalar,
                "OBJECT" => Kind::Object,
                "INTERFACE" => Kind::Interface,
                "UNION" => Kind::Union,
                "ENUM" => Kind::Enum,
                "INPUT_OBJECT" => Kind::InputObject,
                other => {
                    return Err(Error::new(format!(
                        "{origin}: type `{}` has unknown kind `{other}`",
                        t.name
                    )));
                }
            };
            let mut def = TypeDef::new(t.name, kind, non_empty(t.description));
            for f in t.fields.unwrap_or_default() {
                def.fields.push(Field {
                    name: f.name,
                    description: non_empty(f.description),
                    args: convert_ivs(f.args, origin)?,
                    ty: f.ty.to_ref(origin)?,
                    deprecated: if f.is_deprecated {
                        Some(f.deprecation_reason.unwrap_or_default())
                    } else {
                        None
                    },
                });
            }
            def.input_fields = convert_ivs(t.input_fields.unwrap_or_default(), origin)?;
            def.values = t
                .enum_values
                .unwrap_or_default()
                .into_iter()
                .map(|v| EnumValue {
                    name: v.name,
                    description: non_empty(v.description),
                })
                .collect();
            def.members = t
                .possible_types
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.name)
                .collect();
            if kind == Kind::Interface {
                // Introspection lists an interface's implementers, not what it implements.
                def.members.clear();
            }
            def.interfaces = t
                .interfaces
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.name)
                .collect();
            schema.add(def);
        }
        Ok(schema)
    }

    /// Adds the types of `other` that this schema lacks, and replaces those it defines again.
    pub fn merge(&mut self, other: &Schema) {
        for (name, def) in &other.types {
            self.types.insert(name.clone(), def.clone());
        }
    }
}

/// `graphql-parser` predates descriptions on `schema { … }` (GraphQL, October 2021), which
/// Hasura's exported SDL has. Blanks such a description (keeping every other byte, so error
/// positions stay right), found with a small tokenizer that knows strings, block strings and
/// comments.
fn blank_schema_description(source: &str) -> std::borrow::Cow<'_, str> {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut last_string: Option<(usize, usize)> = None;
    let mut blank = Vec::new();
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                let start = i;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    i = (i + 3).min(bytes.len());
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(bytes.len());
                }
                if depth == 0 {
                    last_string = Some((start, i));
                }
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if depth == 0 && &source[start..i] == "schema" {
                    if let Some(range) = last_string {
                        blank.push(range);
                    }
                }
                last_string = None;
                continue;
            }
            c if c.is_ascii_whitespace() || c == b',' => {}
            _ => last_string = None,
        }
        i += 1;
    }
    if blank.is_empty() {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = source.as_bytes().to_vec();
    for (start, end) in blank {
        for b in &mut out[start..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only ASCII bytes inside the string were replaced by spaces, and multi-byte characters
    // are replaced whole, so this stays UTF-8.
    std::borrow::Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| source.to_owned()))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn convert_ivs(ivs: Vec<IntrospectionInputValue>, origin: &str) -> Result<Vec<InputValue>, Error> {
    ivs.into_iter()
        .map(|iv| {
            Ok(InputValue {
                name: iv.name,
                description: non_empty(iv.description),
                ty: iv.ty.to_ref(origin)?,
                default: iv.default_value,
            })
        })
        .collect()
}

fn deprecation(directives: &[sdl::Directive<'_, String>]) -> Option<String> {
    directives.iter().find(|d| d.name == "deprecated").map(|d| {
        d.arguments
            .iter()
            .find(|(n, _)| n == "reason")
            .map(|(_, v)| match v {
                sdl::Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default()
    })
}

fn sdl_input_value(iv: sdl::InputValue<'_, String>) -> InputValue {
    InputValue {
        name: iv.name,
        description: non_empty(iv.description),
        ty: TypeRef::from_sdl(&iv.value_type),
        default: iv.default_value.map(|v| v.to_string()),
    }
}

fn sdl_field(f: sdl::Field<'_, String>) -> Field {
    Field {
        deprecated: deprecation(&f.directives),
        name: f.name,
        description: non_empty(f.description),
        args: f.arguments.into_iter().map(sdl_input_value).collect(),
        ty: TypeRef::from_sdl(&f.field_type),
    }
}

/// The parts of a type definition or extension, as the model keeps them.
#[derive(Default)]
struct Parts<'a> {
    fields: Vec<sdl::Field<'a, String>>,
    interfaces: Vec<String>,
    members: Vec<String>,
    values: Vec<sdl::EnumValue<'a, String>>,
    input_fields: Vec<sdl::InputValue<'a, String>>,
}

fn type_def(name: String, kind: Kind, description: Option<String>, parts: Parts<'_>) -> TypeDef {
    let mut def = TypeDef::new(name, kind, non_empty(description));
    def.fields = parts.fields.into_iter().map(sdl_field).collect();
    def.interfaces = parts.interfaces;
    def.members = parts.members;
    def.values = parts
        .values
        .into_iter()
        .map(|v| EnumValue {
            name: v.name,
            description: non_empty(v.description),
        })
        .collect();
    def.input_fields = parts
        .input_fields
        .into_iter()
        .map(sdl_input_value)
        .collect();
    def
}

fn convert_sdl_type(t: sdl::TypeDefinition<'_, String>) -> TypeDef {
    use sdl::TypeDefinition as T;
    let none = Parts::default;
    match t {
        T::Scalar(s) => type_def(s.name, Kind::Scalar, s.description, none()),
        T::Object(o) => type_def(
            o.name,
            Kind::Object,
            o.description,
            Parts {
                fields: o.fields,
                interfaces: o.implements_interfaces,
                ..none()
            },
        ),
        T::Interface(o) => type_def(
            o.name,
            Kind::Interface,
            o.description,
            Parts {
                fields: o.fields,
                interfaces: o.implements_interfaces,
                ..none()
            },
        ),
        T::Union(u) => type_def(
            u.name,
            Kind::Union,
            u.description,
            Parts {
                members: u.types,
                ..none()
            },
        ),
        T::Enum(e) => type_def(
            e.name,
            Kind::Enum,
            e.description,
            Parts {
                values: e.values,
                ..none()
            },
        ),
        T::InputObject(i) => type_def(
            i.name,
            Kind::InputObject,
            i.description,
            Parts {
                input_fields: i.fields,
                ..none()
            },
        ),
    }
}

/// `extend type …`: the same parts, merged into the type by [`Schema::add`].
fn convert_sdl_extension(t: sdl::TypeExtension<'_, String>) -> TypeDef {
    use sdl::TypeExtension as T;
    let none = Parts::default;
    match t {
        T::Scalar(s) => type_def(s.name, Kind::Scalar, None, none()),
        T::Object(o) => type_def(
            o.name,
            Kind::Object,
            None,
            Parts {
                fields: o.fields,
                interfaces: o.implements_interfaces,
                ..none()
            },
        ),
        T::Interface(o) => type_def(
            o.name,
            Kind::Interface,
            None,
            Parts {
                fields: o.fields,
                interfaces: o.implements_interfaces,
                ..none()
            },
        ),
        T::Union(u) => type_def(
            u.name,
            Kind::Union,
            None,
            Parts {
                members: u.types,
                ..none()
            },
        ),
        T::Enum(e) => type_def(
            e.name,
            Kind::Enum,
            None,
            Parts {
                values: e.values,
                ..none()
            },
        ),
        T::InputObject(i) => type_def(
            i.name,
            Kind::InputObject,
            None,
            Parts {
                input_fields: i.fields,
                ..none()
            },
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionSchema {
    query_type: Option<NameOnly>,
    mutation_type: Option<NameOnly>,
    subscription_type: Option<NameOnly>,
    types: Vec<IntrospectionType>,
}

#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionType {
    kind: String,
    name: String,
    description: Option<String>,
    fields: Option<Vec<IntrospectionField>>,
    input_fields: Option<Vec<IntrospectionInputValue>>,
    interfaces: Option<Vec<NameOnly>>,
    enum_values: Option<Vec<IntrospectionEnumValue>>,
    possible_types: Option<Vec<NameOnly>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionField {
    name: String,
    description: Option<String>,
    #[serde(default)]
    args: Vec<IntrospectionInputValue>,
    #[serde(rename = "type")]
    ty: IntrospectionTypeRef,
    #[serde(default)]
    is_deprecated: bool,
    deprecation_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionInputValue {
    name: String,
    description: Option<String>,
    #[serde(rename = "type")]
    ty: IntrospectionTypeRef,
    default_value: Option<String>,
}

#[derive(Deserialize)]
struct IntrospectionEnumValue {
    name: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionTypeRef {
    kind: String,
    name: Option<String>,
    of_type: Option<Box<IntrospectionTypeRef>>,
}

impl IntrospectionTypeRef {
    fn to_ref(&self, origin: &str) -> Result<TypeRef, Error> {
        let inner = || {
            self.of_type
                .as_ref()
                .ok_or_else(|| Error::new(format!("{origin}: `{}` without `ofType`", self.kind)))
        };
        Ok(match self.kind.as_str() {
            "NON_NULL" => TypeRef::NonNull(Box::new(inner()?.to_ref(origin)?)),
            "LIST" => TypeRef::List(Box::new(inner()?.to_ref(origin)?)),
            _ => TypeRef::Named(self.name.clone().ok_or_else(|| {
                Error::new(format!(
                    "{origin}: a `{}` type reference without a name",
                    self.kind
                ))
            })?),
        })
    }
}

/// Writes GraphQL SDL for a type (used to embed action definitions in generated code).
pub fn print_type(def: &TypeDef) -> String {
    let mut out = String::new();
    print_description(&mut out, def.description.as_deref(), "");
    out.push_str(def.kind.keyword());
    out.push(' ');
    out.push_str(&def.name);
    if !def.interfaces.is_empty() {
        out.push_str(" implements ");
        out.push_str(&def.interfaces.join(" & "));
    }
    match def.kind {
        Kind::Scalar => {}
        Kind::Union => {
            out.push_str(" = ");
            out.push_str(&def.members.join(" | "));
        }
        Kind::Enum => {
            out.push_str(" {\n");
            for v in &def.values {
                print_description(&mut out, v.description.as_deref(), "  ");
                out.push_str("  ");
                out.push_str(&v.name);
                out.push('\n');
            }
            out.push('}');
        }
        Kind::InputObject => {
            out.push_str(" {\n");
            for f in &def.input_fields {
                print_description(&mut out, f.description.as_deref(), "  ");
                out.push_str("  ");
                print_input_value(&mut out, f);
                out.push('\n');
            }
            out.push('}');
        }
        Kind::Object | Kind::Interface => {
            out.push_str(" {\n");
            for f in &def.fields {
                print_field(&mut out, f);
            }
            out.push('}');
        }
    }
    out
}

/// Writes one field definition (with its description), indented by two spaces.
pub fn print_field(out: &mut String, f: &Field) {
    print_description(out, f.description.as_deref(), "  ");
    out.push_str("  ");
    out.push_str(&f.name);
    if !f.args.is_empty() {
        out.push('(');
        for (i, a) in f.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if let Some(d) = &a.description {
                out.push_str(&serde_json::Value::String(d.clone()).to_string());
                out.push(' ');
            }
            print_input_value(out, a);
        }
        out.push(')');
    }
    out.push_str(": ");
    out.push_str(&f.ty.to_string());
    if let Some(reason) = &f.deprecated {
        out.push_str(&format!(
            " @deprecated(reason: {})",
            serde_json::Value::String(reason.clone())
        ));
    }
    out.push('\n');
}

fn print_input_value(out: &mut String, iv: &InputValue) {
    out.push_str(&iv.name);
    out.push_str(": ");
    out.push_str(&iv.ty.to_string());
    if let Some(d) = &iv.default {
        out.push_str(" = ");
        out.push_str(d);
    }
}

fn print_description(out: &mut String, description: Option<&str>, indent: &str) {
    if let Some(d) = description {
        out.push_str(indent);
        // A block string reads best, but cannot end in `"`, hold `"""`, or keep edge whitespace
        // and indentation exactly; those get an ordinary (JSON-compatible) string.
        let block_safe = !d.ends_with('"')
            && !d.contains("\"\"\"")
            && d.trim() == d
            && !d.lines().skip(1).any(|l| l.starts_with([' ', '\t']));
        if block_safe {
            out.push_str("\"\"\"");
            out.push_str(d);
            out.push_str("\"\"\"\n");
        } else {
            out.push_str(&serde_json::Value::String(d.to_owned()).to_string());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdl_merges_repeated_blocks_and_finds_roots() {
        let s = Schema::from_sdl(
            "type Mutation { a(x: Int!): String }\n\"\"\"doc\n input type X\"\"\"\ntype Mutation { b: [uuid!]! }\nscalar uuid",
            "t",
        )
        .unwrap();
        let m = s.get("Mutation").unwrap();
        assert_eq!(m.fields.len(), 2);
        assert_eq!(m.fields[1].ty.to_string(), "[uuid!]!");
        assert_eq!(s.mutation.as_deref(), Some("Mutation"));
        assert_eq!(s.kind_of("uuid"), Kind::Scalar);
        assert_eq!(s.kind_of("undeclared"), Kind::Scalar);
    }

    #[test]
    fn introspection_with_and_without_data() {
        let bare = r#"{"__schema":{"queryType":{"name":"query_root"},"mutationType":null,
          "types":[{"kind":"OBJECT","name":"query_root","description":"",
            "fields":[{"name":"f","args":[],"type":{"kind":"NON_NULL","name":null,
              "ofType":{"kind":"LIST","name":null,"ofType":{"kind":"SCALAR","name":"uuid","ofType":null}}},
              "isDeprecated":false,"deprecationReason":null}],
            "inputFields":null,"interfaces":[],"enumValues":null,"possibleTypes":null}]}}"#;
        let a = Schema::parse(bare, "t").unwrap();
        let wrapped = format!("{{\"data\":{bare}}}");
        let b = Schema::parse(&wrapped, "t").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.get("query_root").unwrap().fields[0].ty.to_string(),
            "[uuid]!"
        );
        assert!(a.get("query_root").unwrap().description.is_none());
        let err = Schema::parse("{\"x\":1}", "snap.json").unwrap_err();
        assert!(err.to_string().contains("snap.json"), "{err}");
    }

    #[test]
    fn schema_descriptions_are_accepted() {
        let s = Schema::from_sdl(
            "\"\"\"\nAutogenerated \"schema\" {\n\"\"\"\n# schema\nschema { query: query_root }\n\"doc\" type query_root { a: Int }",
            "t",
        )
        .unwrap();
        assert_eq!(s.query.as_deref(), Some("query_root"));
        assert_eq!(
            s.get("query_root").unwrap().description.as_deref(),
            Some("doc")
        );
    }

    #[test]
    fn the_cache_returns_the_same_schema_and_follows_changes() {
        let dir = std::env::temp_dir().join(format!("rasura-schema-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = "type query_root { a: Int }";
        let first = Schema::parse_cached(a, "s", &dir).unwrap();
        assert!(dir.join("rasura_schema_cache.json").exists());
        assert_eq!(Schema::parse_cached(a, "s", &dir).unwrap(), first);
        let b = "type query_root { b: String! }";
        let changed = Schema::parse_cached(b, "s", &dir).unwrap();
        assert_eq!(changed.get("query_root").unwrap().fields[0].name, "b");
        std::fs::write(dir.join("rasura_schema_cache.json"), "garbage").unwrap();
        assert_eq!(Schema::parse_cached(b, "s", &dir).unwrap(), changed);
        assert!(Schema::parse_cached("type {", "s", &dir).is_err());
    }

    #[test]
    fn bad_sdl_names_the_file() {
        let err = Schema::parse("type {", "schema.graphql").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("schema.graphql: invalid GraphQL SDL"),
            "{err}"
        );
    }

    #[test]
    fn prints_types_as_sdl() {
        let s = Schema::from_sdl(
            "\"The out\" type PongOutput implements X { message: String! old: Int @deprecated(reason: \"no\") }\ninput I { a: [Int!] = [1] }",
            "t",
        )
        .unwrap();
        assert_eq!(
            print_type(s.get("PongOutput").unwrap()),
            "\"\"\"The out\"\"\"\ntype PongOutput implements X {\n  message: String!\n  old: Int @deprecated(reason: \"no\")\n}"
        );
        assert_eq!(
            print_type(s.get("I").unwrap()),
            "input I {\n  a: [Int!] = [1]\n}"
        );
    }
}
