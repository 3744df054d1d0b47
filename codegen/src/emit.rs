//! Rust code for named types, actions and event rows.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::actions::{Action, ActionType, Actions};
use crate::events::EventRow;
use crate::naming;
use crate::schema::{self, Kind, Schema, TypeDef, TypeRef};

/// Where a type reference appears: decides how nullability is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Object fields and selections: nullable is `Option<T>`.
    Output,
    /// Input object fields: nullable is `Nullable<T>` (absent, null or a value).
    Input,
    /// Action arguments: nullable is `Option<T>` (absent and null read the same).
    Argument,
    /// Operation variables: nullable is `Option<T>`, left out when `None`.
    Variable,
    /// Event row columns: nullable is `Option<T>`.
    Row,
}

/// How scalars and fields become Rust types.
#[derive(Debug, Clone, Default)]
pub struct Mappings {
    /// Scalar name → Rust type.
    pub scalars: BTreeMap<String, syn::Type>,
    /// `Type.field` → Rust type of the field's named type.
    pub fields: BTreeMap<String, syn::Type>,
}

/// The Rust type of a scalar Hasura and GraphQL define, by its (case-insensitive) name.
pub fn known_scalar(name: &str) -> Option<TokenStream> {
    match name {
        "Int" => return Some(quote!(i32)),
        "Float" => return Some(quote!(f64)),
        "String" | "ID" => return Some(quote!(::std::string::String)),
        "Boolean" => return Some(quote!(bool)),
        _ => {}
    }
    let lower = name.to_ascii_lowercase();
    if let Some(element) = lower.strip_prefix('_') {
        return postgres_scalar(element).map(|t| quote!(::rasura::types::PgArray<#t>));
    }
    postgres_scalar(&lower)
}

fn postgres_scalar(lower: &str) -> Option<TokenStream> {
    Some(match lower {
        "uuid" => quote!(::rasura::types::Uuid),
        "timestamptz" => quote!(::rasura::types::Timestamptz),
        "timestamp" => quote!(::rasura::types::Timestamp),
        "date" => quote!(::rasura::types::Date),
        "time" => quote!(::rasura::types::Time),
        "numeric" | "decimal" => quote!(::rasura::types::Numeric),
        "bigint" | "int8" | "bigserial" => quote!(::rasura::types::BigInt),
        "float8" | "double precision" => quote!(::rasura::types::Float8),
        "smallint" | "int2" => quote!(i16),
        "int" | "int4" | "integer" => quote!(i32),
        "float" | "float4" | "real" => quote!(f64),
        "json" | "jsonb" => quote!(::rasura::types::Json),
        "string" | "id" | "text" | "citext" | "bpchar" | "varchar" | "name" | "character" => {
            quote!(::std::string::String)
        }
        "boolean" | "bool" => quote!(bool),
        _ => return None,
    })
}

/// Generates the Rust code for a schema's types.
pub struct Emitter<'a> {
    /// The schema (with the actions' custom types merged in).
    pub schema: &'a Schema,
    mappings: &'a Mappings,
    /// The named types that get a Rust type.
    pub emitted: BTreeSet<String>,
    idents: BTreeMap<String, String>,
    boxed: HashSet<(String, String)>,
}

impl<'a> Emitter<'a> {
    /// Plans the output: `emitted` are the GraphQL types to generate.
    pub fn new(schema: &'a Schema, mappings: &'a Mappings, emitted: BTreeSet<String>) -> Self {
        let names: Vec<&str> = emitted.iter().map(String::as_str).collect();
        let idents = naming::unique(&names, naming::pascal);
        let mut emitter = Emitter {
            schema,
            mappings,
            emitted,
            idents,
            boxed: HashSet::new(),
        };
        emitter.boxed = emitter.recursive_fields();
        emitter
    }

    /// The Rust type of a scalar, or `None` when it needs a generated newtype.
    fn scalar(&self, name: &str) -> Option<TokenStream> {
        if let Some(t) = self.mappings.scalars.get(name) {
            return Some(quote!(#t));
        }
        known_scalar(name)
    }

    /// Whether a named type needs generated code.
    pub fn needs_code(&self, name: &str) -> bool {
        if name.starts_with("__") {
            return false;
        }
        match self.schema.kind_of(name) {
            Kind::Scalar => self.scalar(name).is_none(),
            _ => true,
        }
    }

    /// The named types reachable from `roots` (fields of objects, inputs, union members).
    pub fn closure(schema: &Schema, roots: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut work: Vec<String> = roots.into_iter().collect();
        while let Some(name) = work.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(def) = schema.get(&name) {
                for f in &def.fields {
                    work.push(f.ty.base().to_owned());
                }
                for f in &def.input_fields {
                    work.push(f.ty.base().to_owned());
                }
                work.extend(def.members.iter().cloned());
                work.extend(def.interfaces.iter().cloned());
            }
        }
        seen
    }

    /// Fields that must be boxed: a field without a list that refers back (directly or through
    /// other such fields) to its own type would make the type infinitely large.
    fn recursive_fields(&self) -> HashSet<(String, String)> {
        // Tarjan's strongly connected components over "contains without indirection" edges.
        let nodes: Vec<&TypeDef> = self
            .emitted
            .iter()
            .filter_map(|n| self.schema.get(n))
            .filter(|d| {
                matches!(
                    d.kind,
                    Kind::Object | Kind::Interface | Kind::InputObject | Kind::Union
                )
            })
            .collect();
        let index_of: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i))
            .collect();
        let direct = |ty: &TypeRef| -> bool { !matches!(ty.nullable(), TypeRef::List(_)) };
        let edges: Vec<Vec<(usize, String)>> = nodes
            .iter()
            .map(|d| {
                let mut out = Vec::new();
                for f in &d.fields {
                    if direct(&f.ty) {
                        if let Some(&j) = index_of.get(f.ty.base()) {
                            out.push((j, f.name.clone()));
                        }
                    }
                }
                for f in &d.input_fields {
                    if direct(&f.ty) {
                        if let Some(&j) = index_of.get(f.ty.base()) {
                            out.push((j, f.name.clone()));
                        }
                    }
                }
                // A union's variant holds its member directly: labelled by the member's name.
                for m in &d.members {
                    if let Some(&j) = index_of.get(m.as_str()) {
                        out.push((j, m.clone()));
                    }
                }
                out
            })
            .collect();
        let component = tarjan(nodes.len(), &edges);
        let mut boxed = HashSet::new();
        for (i, d) in nodes.iter().enumerate() {
            for (j, label) in &edges[i] {
                if component[i] == component[*j] {
                    boxed.insert((d.name.clone(), label.clone()));
                }
            }
        }
        boxed
    }

    /// The path of a named type from a module `prefix` (`super::types::`).
    pub fn named(&self, name: &str, prefix: &TokenStream) -> TokenStream {
        if self.schema.kind_of(name) == Kind::Scalar {
            if let Some(t) = self.scalar(name) {
                return t;
            }
        }
        let ident = self.ident(name);
        quote!(#prefix #ident)
    }

    /// The Rust identifier of an emitted named type.
    pub fn ident(&self, name: &str) -> syn::Ident {
        let text = self
            .idents
            .get(name)
            .cloned()
            .unwrap_or_else(|| naming::pascal(name));
        ident(&text)
    }

    /// The Rust type for a field or argument of type `ty` appearing in `place`; `owner` is
    /// `(type, field)` for per-field overrides and boxing.
    pub fn rust_type(
        &self,
        ty: &TypeRef,
        place: Place,
        owner: Option<(&str, &str)>,
        prefix: &TokenStream,
    ) -> TokenStream {
        let base = match owner.and_then(|(t, f)| self.mappings.fields.get(&format!("{t}.{f}"))) {
            Some(t) => quote!(#t),
            None => self.named(ty.base(), prefix),
        };
        let boxed = owner.is_some_and(|(t, f)| self.boxed.contains(&(t.to_owned(), f.to_owned())));
        let base = if boxed {
            quote!(::std::boxed::Box<#base>)
        } else {
            base
        };
        wrap(ty, place, true, &base)
    }

    /// Field attributes: wire name, doc, and serde defaults for the place.
    pub fn field_attrs(
        wire: &str,
        ident: &str,
        description: Option<&str>,
        nullable: bool,
        place: Place,
    ) -> TokenStream {
        let mut attrs = doc(description);
        if ident.trim_start_matches("r#") != wire {
            attrs.extend(quote!(#[serde(rename = #wire)]));
        }
        if nullable {
            attrs.extend(match place {
                Place::Input => quote!(#[serde(default, skip_serializing_if = "::rasura::types::Nullable::is_absent")]),
                // Variables and selections have hand-written serde impls (see `operations`).
                Place::Variable | Place::Output | Place::Argument | Place::Row => quote!(#[serde(default)]),
            });
        }
        attrs
    }

    /// The `types` module.
    pub fn types_module(&self) -> TokenStream {
        let items = self
            .emitted
            .iter()
            .filter(|n| self.needs_code(n))
            .map(|n| self.type_item(n));
        quote! {
            /// The GraphQL types used by the actions, event rows and operations.
            #[allow(missing_docs, non_camel_case_types, non_snake_case, clippy::all)]
            pub mod types {
                #(#items)*
            }
        }
    }

    fn type_item(&self, name: &str) -> TokenStream {
        let item = self.type_item_only(name);
        let custom = self.custom_type_impl(name);
        quote!(#item #custom)
    }

    /// `rasura::custom_types::CustomType` for a generated type, with its exact GraphQL
    /// definition, so a generated type can also be used by a code-first action.
    fn custom_type_impl(&self, name: &str) -> TokenStream {
        let ident = self.ident(name);
        let rt = quote!(::rasura::custom_types);
        let description = |d: Option<&str>| match d {
            Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
            None => quote!(::core::option::Option::None),
        };
        let def = self.schema.get(name);
        let type_description = description(def.and_then(|d| d.description.as_deref()));
        let kind = match def.map(|d| d.kind) {
            None | Some(Kind::Scalar) => quote!(#rt::TypeKind::Scalar),
            Some(Kind::Enum) => {
                let values = def.into_iter().flat_map(|d| &d.values).map(|v| {
                    let value = &v.name;
                    let d = description(v.description.as_deref());
                    quote!(#rt::EnumValue { name: ::std::string::String::from(#value), description: #d })
                });
                quote!(#rt::TypeKind::Enum(::std::vec![#(#values),*]))
            }
            Some(Kind::InputObject) => {
                let fields = def.into_iter().flat_map(|d| &d.input_fields).map(|f| {
                    let (field, ty) = (&f.name, f.ty.to_string());
                    let d = description(f.description.as_deref());
                    quote!(#rt::FieldDefinition { name: ::std::string::String::from(#field), ty: ::std::string::String::from(#ty), description: #d })
                });
                quote!(#rt::TypeKind::Object(#rt::Position::Input, ::std::vec![#(#fields),*]))
            }
            Some(Kind::Object | Kind::Interface) => {
                let fields = def.into_iter().flat_map(|d| &d.fields).map(|f| {
                    let (field, ty) = (&f.name, f.ty.to_string());
                    let d = description(f.description.as_deref());
                    quote!(#rt::FieldDefinition { name: ::std::string::String::from(#field), ty: ::std::string::String::from(#ty), description: #d })
                });
                quote!(#rt::TypeKind::Object(#rt::Position::Output, ::std::vec![#(#fields),*]))
            }
            Some(Kind::Union) => return TokenStream::new(),
        };
        // Hasura's own scalars come from the database: they need no definition.
        let builtin = matches!(def.map(|d| d.kind), None | Some(Kind::Scalar))
            && (known_scalar(name).is_some()
                || ["String", "Int", "Float", "Boolean", "ID"].contains(&name));
        let collect = if builtin {
            quote!(let _ = (position, types);)
        } else {
            quote!(types.add::<Self>(position);)
        };
        let non_null = format!("{name}!");
        let nested = self.nested_types(name);
        quote! {
            impl #rt::GraphqlType for #ident {
                fn type_ref(_: #rt::Position) -> ::std::string::String {
                    ::std::string::String::from(#non_null)
                }
                fn collect(position: #rt::Position, types: &mut #rt::TypeSet) {
                    #collect
                }
            }
            impl #rt::CustomType for #ident {
                const NAME: &'static str = #name;
                fn definition(position: #rt::Position, types: &mut #rt::TypeSet) -> #rt::TypeDefinition {
                    let _ = (position, &types);
                    #nested
                    #rt::TypeDefinition {
                        name: ::std::string::String::from(#name),
                        description: #type_description,
                        kind: #kind,
                    }
                }
            }
        }
    }

    /// Adds the generated types a type's fields use (`types.add`), in field order.
    fn nested_types(&self, name: &str) -> TokenStream {
        let Some(def) = self.schema.get(name) else {
            return TokenStream::new();
        };
        let (refs, position): (Vec<&TypeRef>, TokenStream) = match def.kind {
            Kind::InputObject => (
                def.input_fields.iter().map(|f| &f.ty).collect(),
                quote!(::rasura::custom_types::Position::Input),
            ),
            Kind::Object | Kind::Interface => (
                def.fields.iter().map(|f| &f.ty).collect(),
                quote!(::rasura::custom_types::Position::Output),
            ),
            _ => return TokenStream::new(),
        };
        let mut seen = BTreeSet::new();
        let adds = refs
            .into_iter()
            .map(TypeRef::base)
            .filter(|base| self.needs_code(base) && seen.insert(base.to_owned()))
            .map(|base| {
                let id = self.ident(base);
                quote!(<#id as ::rasura::custom_types::GraphqlType>::collect(#position, types);)
            });
        quote!(#(#adds)*)
    }

    fn type_item_only(&self, name: &str) -> TokenStream {
        let ident = self.ident(name);
        let Some(def) = self.schema.get(name) else {
            // An undeclared scalar (an `actions.graphql` may use Hasura's without declaring).
            return newtype(&ident, None, name);
        };
        let docs = doc(def.description.as_deref());
        let prefix = TokenStream::new();
        match def.kind {
            Kind::Scalar => newtype(&ident, def.description.as_deref(), name),
            Kind::Enum => {
                let names: Vec<&str> = def.values.iter().map(|v| v.name.as_str()).collect();
                let variant_names = naming::unique(&names, naming::pascal);
                let variants = def.values.iter().map(|v| {
                    let variant = &variant_names[&v.name];
                    let attrs = doc(v.description.as_deref());
                    let wire = &v.name;
                    let v_ident = self::ident(variant);
                    quote!(#attrs #[serde(rename = #wire)] #v_ident,)
                });
                quote! {
                    #docs
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                        ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                    #[serde(crate = "::rasura::__private::serde")]
                    pub enum #ident { #(#variants)* }
                }
            }
            Kind::InputObject => {
                let names: Vec<&str> = def.input_fields.iter().map(|f| f.name.as_str()).collect();
                let field_names = naming::unique(&names, naming::snake);
                let all_optional = def.input_fields.iter().all(|f| !f.ty.is_non_null());
                let fields = def.input_fields.iter().map(|f| {
                    let fname = &field_names[&f.name];
                    let attrs = Self::field_attrs(
                        &f.name,
                        fname,
                        f.description.as_deref(),
                        !f.ty.is_non_null(),
                        Place::Input,
                    );
                    let ty = self.rust_type(&f.ty, Place::Input, Some((name, &f.name)), &prefix);
                    let fid = self::ident(fname);
                    quote!(#attrs pub #fid: #ty,)
                });
                let default = if all_optional {
                    quote!(Default,)
                } else {
                    quote!()
                };
                quote! {
                    #docs
                    #[derive(Debug, Clone, PartialEq, #default
                        ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                    #[serde(crate = "::rasura::__private::serde")]
                    pub struct #ident { #(#fields)* }
                }
            }
            Kind::Object | Kind::Interface => {
                let names: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
                let field_names = naming::unique(&names, naming::snake);
                let fields = def.fields.iter().map(|f| {
                    let fname = &field_names[&f.name];
                    let description = match (&f.description, &f.deprecated) {
                        (d, Some(reason)) => Some(format!(
                            "{}Deprecated: {reason}",
                            d.as_deref().map(|d| format!("{d}\n\n")).unwrap_or_default()
                        )),
                        (d, None) => d.clone(),
                    };
                    let attrs = Self::field_attrs(
                        &f.name,
                        fname,
                        description.as_deref(),
                        !f.ty.is_non_null(),
                        Place::Output,
                    );
                    let ty = self.rust_type(&f.ty, Place::Output, Some((name, &f.name)), &prefix);
                    let fid = self::ident(fname);
                    quote!(#attrs pub #fid: #ty,)
                });
                quote! {
                    #docs
                    #[derive(Debug, Clone, PartialEq,
                        ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                    #[serde(crate = "::rasura::__private::serde")]
                    pub struct #ident { #(#fields)* }
                }
            }
            Kind::Union => {
                let variants = def.members.iter().map(|m| {
                    let v = self.ident(m);
                    let inner = if self.boxed.contains(&(name.to_owned(), m.clone())) {
                        quote!(::std::boxed::Box<#v>)
                    } else {
                        quote!(#v)
                    };
                    quote!(#[serde(rename = #m)] #v(#inner),)
                });
                quote! {
                    #docs
                    #[derive(Debug, Clone, PartialEq,
                        ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                    #[serde(crate = "::rasura::__private::serde", tag = "__typename")]
                    pub enum #ident { #(#variants)* }
                }
            }
        }
    }

    /// The `actions` module: argument structs, markers implementing `ActionDef`, and the traits
    /// `#[action]` uses to check handlers.
    pub fn actions_module(&self, actions: &Actions) -> TokenStream {
        let prefix = quote!(super::types::);
        let markers = actions.markers();
        let mut items = Vec::new();
        let mut checks = Vec::new();
        for action in &actions.actions {
            let marker_text = &markers[&action.name];
            let marker = ident(marker_text);
            let args_text = format!("{}Args", marker_text.trim_start_matches("r#"));
            let args = ident(&args_text);
            let arg_names: Vec<&str> = action.field.args.iter().map(|a| a.name.as_str()).collect();
            let arg_fields = naming::unique(&arg_names, naming::snake);
            let fields = action.field.args.iter().map(|a| {
                let fname = &arg_fields[&a.name];
                let attrs = Self::field_attrs(
                    &a.name,
                    fname,
                    a.description.as_deref(),
                    !a.ty.is_non_null(),
                    Place::Argument,
                );
                let ty = self.rust_type(&a.ty, Place::Argument, None, &prefix);
                let fid = ident(fname);
                quote!(#attrs pub #fid: #ty,)
            });
            let name = &action.name;
            let args_default = if action.field.args.iter().all(|a| !a.ty.is_non_null()) {
                quote!(Default,)
            } else {
                quote!()
            };
            let args_doc = format!(" The arguments of action `{name}`.");
            let args_custom_type = {
                let rt = quote!(::rasura::custom_types);
                let arguments = action.field.args.iter().map(|a| {
                    let (field, ty) = (&a.name, a.ty.to_string());
                    let d = match a.description.as_deref() {
                        Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
                        None => quote!(::core::option::Option::None),
                    };
                    quote!(#rt::FieldDefinition { name: ::std::string::String::from(#field), ty: ::std::string::String::from(#ty), description: #d })
                });
                let mut seen = BTreeSet::new();
                let adds = action
                    .field
                    .args
                    .iter()
                    .map(|a| a.ty.base())
                    .filter(|base| self.needs_code(base) && seen.insert(base.to_owned()))
                    .map(|base| {
                        let id = self.named(base, &prefix);
                        quote!(<#id as #rt::GraphqlType>::collect(#rt::Position::Input, types);)
                    });
                let args_name = &args_text;
                let non_null = format!("{args_text}!");
                quote! {
                    impl #rt::GraphqlType for #args {
                        fn type_ref(_: #rt::Position) -> ::std::string::String {
                            ::std::string::String::from(#non_null)
                        }
                    }
                    impl #rt::CustomType for #args {
                        const NAME: &'static str = #args_name;
                        fn definition(_: #rt::Position, types: &mut #rt::TypeSet) -> #rt::TypeDefinition {
                            let _ = &types;
                            #(#adds)*
                            #rt::TypeDefinition {
                                name: ::std::string::String::from(#args_name),
                                description: ::core::option::Option::None,
                                kind: #rt::TypeKind::Object(#rt::Position::Input, ::std::vec![#(#arguments),*]),
                            }
                        }
                    }
                    impl #rt::ActionArguments for #args {}
                }
            };
            // The handler returns the output type itself; for a nullable output `Option` of it is
            // accepted too (see `__check`).
            let bare = TypeRef::NonNull(Box::new(action.field.ty.nullable().clone()));
            let output = wrap(
                &bare,
                Place::Output,
                true,
                &self.named(action.field.ty.base(), &prefix),
            );
            let kind = match (action.action_type, action.asynchronous) {
                (ActionType::Query, _) => quote!(::rasura::generated::Query),
                (ActionType::Mutation, Some(true)) => {
                    quote!(::rasura::generated::AsynchronousMutation)
                }
                (ActionType::Mutation, _) => quote!(::rasura::generated::Mutation),
            };
            let sdl = action_sdl(action);
            let types_sdl = types_sdl(actions, action);
            let marker_doc = action_doc(action);
            items.push(quote! {
                #[doc = #args_doc]
                #[derive(Debug, Clone, PartialEq, #args_default
                    ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                #[serde(crate = "::rasura::__private::serde")]
                pub struct #args { #(#fields)* }

                #args_custom_type

                #[doc = #marker_doc]
                #[derive(Debug, Clone, Copy)]
                pub struct #marker;

                impl ::rasura::generated::ActionDef for #marker {
                    type Input = #args;
                    type Output = #output;
                    type Kind = #kind;
                    const NAME: &'static str = #name;
                    const SDL: &'static str = #sdl;
                    const TYPES_SDL: &'static str = #types_sdl;
                }
            });
            let expected_output = type_text(&output);
            let input_message =
                format!("action `{name}` expects input `{args_text}`, found `{{Self}}`");
            let output_message =
                format!("action `{name}` returns `{expected_output}`, found `{{Self}}`");
            let check_prefix = quote!(super::super::super::types::);
            let output_in_check = wrap(
                &bare,
                Place::Output,
                true,
                &self.named(action.field.ty.base(), &check_prefix),
            );
            let nullable_output = if action.field.ty.is_non_null() {
                quote!()
            } else {
                quote!(impl Output for ::core::option::Option<#output_in_check> {})
            };
            checks.push(quote! {
                pub mod #marker {
                    #[diagnostic::on_unimplemented(message = #input_message, label = "the action's input, as generated from actions.graphql")]
                    pub trait Input {}
                    impl Input for super::super::#args {}
                    #[diagnostic::on_unimplemented(message = #output_message, label = "the action's output, as generated from actions.graphql")]
                    pub trait Output {}
                    impl Output for #output_in_check {}
                    #nullable_output
                }
            });
        }
        quote! {
            /// The actions of `actions.graphql`: argument structs and `ActionDef` markers.
            #[allow(missing_docs, non_camel_case_types, non_snake_case, clippy::all)]
            pub mod actions {
                #(#items)*

                /// Checks `#[action]` emits against the definitions (not public API).
                #[doc(hidden)]
                pub mod __check {
                    #(#checks)*
                }
            }
        }
    }

    /// The `events` module: a row struct per event table.
    pub fn events_module(&self, rows: &[EventRow]) -> TokenStream {
        let prefix = quote!(super::types::);
        let items = rows.iter().map(|row| {
            let ident = ident(&row.rust_name);
            let names: Vec<&str> = row.columns.iter().map(|c| c.column.as_str()).collect();
            let field_names = naming::unique(&names, naming::snake);
            let fields = row.columns.iter().map(|c| {
                let fname = &field_names[&c.column];
                let optional = !c.ty.is_non_null() || !c.always_present;
                let attrs = Self::field_attrs(&c.column, fname, c.description.as_deref(), optional, Place::Row);
                let ty = if c.as_string {
                    wrap(&c.ty, Place::Row, true, &quote!(::std::string::String))
                } else {
                    self.rust_type(&c.ty, Place::Row, Some((&row.graphql_type, &c.field)), &prefix)
                };
                let ty = if c.ty.is_non_null() && !c.always_present {
                    quote!(::core::option::Option<#ty>)
                } else {
                    ty
                };
                let fid = self::ident(fname);
                quote!(#attrs pub #fid: #ty,)
            });
            let doc = format!(
                " A row of `{}.{}` (source `{}`) as Postgres encodes it in event payloads: Postgres column names, \
                 numbers never stringified. Columns outside some trigger's `payload` are optional.",
                row.schema, row.table, row.source
            );
            let (source, schema, table) = (&row.source, &row.schema, &row.table);
            quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq,
                    ::rasura::__private::serde::Serialize, ::rasura::__private::serde::Deserialize)]
                #[serde(crate = "::rasura::__private::serde")]
                pub struct #ident { #(#fields)* }

                impl ::rasura::generated::EventTable for #ident {
                    const SOURCE: &'static str = #source;
                    const SCHEMA: &'static str = #schema;
                    const TABLE: &'static str = #table;
                }
            }
        });
        quote! {
            /// Rows of the event tables, as event payloads carry them.
            #[allow(missing_docs, non_camel_case_types, non_snake_case, clippy::all)]
            pub mod events {
                #(#items)*
            }
        }
    }
}

/// Wraps a base type in `Vec`, `Option` and `Nullable` as `ty` says; `top` is the field level.
pub fn wrap(ty: &TypeRef, place: Place, top: bool, base: &TokenStream) -> TokenStream {
    match ty {
        TypeRef::NonNull(inner) => match &**inner {
            TypeRef::List(element) => {
                let element = wrap(element, place, false, base);
                quote!(::std::vec::Vec<#element>)
            }
            _ => base.clone(),
        },
        nullable => {
            let inner = match nullable {
                TypeRef::List(element) => {
                    let element = wrap(element, place, false, base);
                    quote!(::std::vec::Vec<#element>)
                }
                _ => base.clone(),
            };
            if !top {
                quote!(::core::option::Option<#inner>)
            } else if place == Place::Input {
                quote!(::rasura::types::Nullable<#inner>)
            } else {
                quote!(::core::option::Option<#inner>)
            }
        }
    }
}

/// A syn identifier from text that may be raw (`r#type`).
pub fn ident(text: &str) -> syn::Ident {
    match text.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => format_ident!("{}", text),
    }
}

/// `#[doc]` attributes for a description.
pub fn doc(description: Option<&str>) -> TokenStream {
    match description {
        Some(d) => {
            let lines = d.lines().map(|l| format!(" {}", l.trim_end()));
            quote!(#(#[doc = #lines])*)
        }
        None => quote!(),
    }
}

fn newtype(ident: &syn::Ident, description: Option<&str>, name: &str) -> TokenStream {
    let docs = match description {
        Some(_) => doc(description),
        None => {
            let text = format!(" The `{name}` scalar, as Hasura sends it (any JSON value).");
            quote!(#[doc = #text])
        }
    };
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub struct #ident(pub ::rasura::types::Json);

        // Transparent, written out (cheaper to compile than `#[serde(transparent)]` derives).
        impl ::rasura::__private::serde::Serialize for #ident {
            fn serialize<S: ::rasura::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                ::rasura::__private::serde::Serialize::serialize(&self.0, serializer)
            }
        }

        impl<'de> ::rasura::__private::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::rasura::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                <::rasura::types::Json as ::rasura::__private::serde::Deserialize<'de>>::deserialize(deserializer).map(#ident)
            }
        }

        impl #ident {
            /// The value as a string, when it is one (Postgres enums are).
            pub fn as_str(&self) -> ::core::option::Option<&str> {
                self.0.as_str()
            }
        }

        impl ::core::convert::From<&str> for #ident {
            fn from(s: &str) -> Self {
                #ident(::rasura::types::Json::String(s.into()))
            }
        }
    }
}

/// Tokens as readable text: `Vec<types::X>`.
pub fn type_text(tokens: &TokenStream) -> String {
    let raw = tokens.to_string();
    let text = raw
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",");
    text.replace("::std::vec::", "")
        .replace("::core::option::", "")
        .replace("::std::string::", "")
        .replace("::rasura::types::", "rasura::types::")
        .replace("super::types::", "")
}

fn action_doc(action: &Action) -> String {
    let kind = match (action.action_type, action.asynchronous) {
        (ActionType::Query, _) => "query",
        (ActionType::Mutation, Some(true)) => "asynchronous mutation",
        _ => "mutation",
    };
    let mut text = format!(" Action `{}` ({kind}).", action.name);
    if let Some(d) = &action.field.description {
        text.push_str("\n\n");
        text.push_str(d);
    }
    text
}

/// `type Mutation {\n  pong(…): PongOutput\n}`.
pub fn action_sdl(action: &Action) -> String {
    let root = match action.action_type {
        ActionType::Query => "Query",
        ActionType::Mutation => "Mutation",
    };
    let mut out = format!("type {root} {{\n");
    schema::print_field(&mut out, &action.field);
    out.push('}');
    out
}

/// The custom types an action uses (transitively), as SDL in name order.
pub fn types_sdl(actions: &Actions, action: &Action) -> String {
    let mut roots: Vec<String> = action
        .field
        .args
        .iter()
        .map(|a| a.ty.base().to_owned())
        .collect();
    roots.push(action.field.ty.base().to_owned());
    Emitter::closure(&actions.types, roots)
        .iter()
        .filter_map(|n| actions.types.get(n))
        .map(schema::print_type)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Strongly connected components (Tarjan); returns each node's component id.
fn tarjan(n: usize, edges: &[Vec<(usize, String)>]) -> Vec<usize> {
    struct State<'e> {
        edges: &'e [Vec<(usize, String)>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        component: Vec<usize>,
        components: usize,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &(w, _) in &s.edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                s.component[w] = s.components;
                if w == v {
                    break;
                }
            }
            s.components += 1;
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        component: vec![0; n],
        components: 0,
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.component
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &TokenStream) -> String {
        type_text(t)
    }

    #[test]
    fn hasura_scalars_map_to_real_types_in_either_naming_convention() {
        let cases = [
            ("uuid", "rasura::types::Uuid"),
            ("Uuid", "rasura::types::Uuid"),
            ("timestamptz", "rasura::types::Timestamptz"),
            ("Timestamptz", "rasura::types::Timestamptz"),
            ("timestamp", "rasura::types::Timestamp"),
            ("date", "rasura::types::Date"),
            ("time", "rasura::types::Time"),
            ("numeric", "rasura::types::Numeric"),
            ("bigint", "rasura::types::BigInt"),
            ("Bigint", "rasura::types::BigInt"),
            ("float8", "rasura::types::Float8"),
            ("smallint", "i16"),
            ("json", "rasura::types::Json"),
            ("jsonb", "rasura::types::Json"),
            ("citext", "String"),
            ("bpchar", "String"),
            ("_text", "rasura::types::PgArray<String>"),
            ("_int4", "rasura::types::PgArray<i32>"),
            ("_uuid", "rasura::types::PgArray<rasura::types::Uuid>"),
            ("Int", "i32"),
            ("Float", "f64"),
            ("String", "String"),
            ("ID", "String"),
            ("Boolean", "bool"),
        ];
        for (scalar, rust) in cases {
            assert_eq!(
                known_scalar(scalar).map(|t| text(&t)).as_deref(),
                Some(rust),
                "{scalar}"
            );
        }
        for unknown in [
            "geometry",
            "vector",
            "atom_type",
            "_geometry",
            "timetz",
            "money",
        ] {
            assert!(known_scalar(unknown).is_none(), "{unknown}");
        }
    }

    fn ty(sdl_type: &str) -> TypeRef {
        let s = Schema::from_sdl(&format!("type T {{ f: {sdl_type} }}"), "t").unwrap();
        s.get("T").unwrap().fields[0].ty.clone()
    }

    #[test]
    fn nullability_depends_on_the_place() {
        let base = quote!(X);
        let w = |t: &str, place| text(&wrap(&ty(t), place, true, &base));
        assert_eq!(w("X!", Place::Output), "X");
        assert_eq!(w("X", Place::Output), "Option<X>");
        assert_eq!(w("X", Place::Input), "rasura::types::Nullable<X>");
        assert_eq!(w("X", Place::Argument), "Option<X>");
        assert_eq!(w("X", Place::Variable), "Option<X>");
        assert_eq!(w("[X!]!", Place::Output), "Vec<X>");
        assert_eq!(w("[X]!", Place::Input), "Vec<Option<X>>");
        assert_eq!(w("[X!]", Place::Input), "rasura::types::Nullable<Vec<X>>");
        assert_eq!(w("[[X!]]", Place::Output), "Option<Vec<Option<Vec<X>>>>");
    }

    #[test]
    fn recursive_inputs_are_boxed_only_where_needed() {
        let s = Schema::from_sdl(
            "input user_bool_exp { _and: [user_bool_exp!] _not: user_bool_exp role: String_comparison_exp }
             input String_comparison_exp { _eq: String }
             type a { b: b } type b { a: a! c: Int }",
            "t",
        )
        .unwrap();
        let mappings = Mappings::default();
        let emitter = Emitter::new(&s, &mappings, s.types.keys().cloned().collect());
        let field = |t: &str, f: &str| {
            let def = s.get(t).unwrap();
            let fty = def
                .input_fields
                .iter()
                .map(|x| (&x.name, &x.ty, Place::Input))
                .chain(def.fields.iter().map(|x| (&x.name, &x.ty, Place::Output)))
                .find(|(n, _, _)| *n == f)
                .unwrap();
            text(&emitter.rust_type(fty.1, fty.2, Some((t, f)), &TokenStream::new()))
        };
        assert_eq!(
            field("user_bool_exp", "_not"),
            "rasura::types::Nullable<::std::boxed::Box<UserBoolExp>>"
        );
        assert_eq!(
            field("user_bool_exp", "_and"),
            "rasura::types::Nullable<Vec<UserBoolExp>>"
        );
        assert_eq!(
            field("user_bool_exp", "role"),
            "rasura::types::Nullable<StringComparisonExp>"
        );
        assert_eq!(field("a", "b"), "Option<::std::boxed::Box<B>>");
        assert_eq!(field("b", "a"), "::std::boxed::Box<A>");
    }
}
