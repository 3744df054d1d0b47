//! Operation documents: validated against the schema at build time (unknown types, fields,
//! arguments and fragments, wrong variable types, with `file:line:column` and "did you mean"),
//! then turned into typed `Variables` and `ResponseData` with only the selected fields.

use std::collections::{BTreeMap, BTreeSet};

use graphql_parser::Pos;
use graphql_parser::query as q;
use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::{self, Emitter, Place};
use crate::naming;
use crate::schema::{Kind, Schema, TypeRef};
use crate::{Error, did_you_mean};

type Doc = q::Document<'static, String>;

/// A selected field, after fragments are merged in.
#[derive(Debug, Clone)]
struct Selected {
    /// The response key (alias or name).
    key: String,
    /// The field's name (`__typename` included).
    name: String,
    /// The type that declares the field.
    parent: String,
    /// The field's type.
    ty: TypeRef,
    /// Present only sometimes (`@include`/`@skip`, or a fragment on another type).
    conditional: bool,
    /// Sub-selections (for objects, interfaces, unions).
    fields: Vec<Selected>,
}

#[derive(Debug)]
struct Operation {
    name: String,
    variables: Vec<(String, TypeRef, bool)>,
    fields: Vec<Selected>,
    document: String,
}

/// The operations of every document, checked.
#[derive(Debug, Default)]
pub struct Operations {
    operations: Vec<Operation>,
    roots: BTreeSet<String>,
}

struct Checker<'s> {
    schema: &'s Schema,
    /// Fragments by name, with the file that defines them (borrowed from the parsed documents).
    fragments: BTreeMap<String, (&'s q::FragmentDefinition<'static, String>, &'s str)>,
    errors: Vec<String>,
    roots: BTreeSet<String>,
}

fn at(file: &str, pos: Pos) -> String {
    format!("{file}:{}:{}", pos.line, pos.column)
}

/// Whether a variable of type `var` may be used where `expected` is: same named type and list
/// shape; a non-null variable fits a nullable position; a nullable one with a default value fits
/// a non-null position.
fn fits(var: &TypeRef, expected: &TypeRef, has_default: bool) -> bool {
    match (var, expected) {
        (TypeRef::NonNull(v), TypeRef::NonNull(e)) => fits(v, e, false),
        (TypeRef::NonNull(v), e) => fits(v, e, false),
        (v, TypeRef::NonNull(e)) => has_default && fits(v, e, false),
        (TypeRef::List(v), TypeRef::List(e)) => fits(v, e, false),
        (TypeRef::Named(v), TypeRef::Named(e)) => v == e,
        _ => false,
    }
}

impl Checker<'_> {
    fn error(&mut self, file: &str, pos: Pos, message: String) {
        self.errors.push(format!("{}: {message}", at(file, pos)));
    }

    fn check_type_exists(&mut self, file: &str, pos: Pos, ty: &TypeRef) -> bool {
        let base = ty.base();
        if crate::schema::BUILT_IN_SCALARS.contains(&base) || self.schema.get(base).is_some() {
            if !matches!(
                self.schema.kind_of(base),
                Kind::Scalar | Kind::Enum | Kind::InputObject
            ) {
                self.error(file, pos, format!("`{base}` is an output type; variables need input types (scalars, enums, inputs)"));
                return false;
            }
            return true;
        }
        let names = self
            .schema
            .types
            .keys()
            .map(String::as_str)
            .chain(crate::schema::BUILT_IN_SCALARS.iter().copied());
        let hint = did_you_mean(base, names);
        self.error(file, pos, format!("unknown type `{base}`{hint}"));
        false
    }

    /// Checks a value given to an argument or input field of type `expected`.
    fn check_value(
        &mut self,
        file: &str,
        pos: Pos,
        value: &q::Value<'static, String>,
        expected: &TypeRef,
        vars: &BTreeMap<String, (TypeRef, bool)>,
        used: &mut BTreeSet<String>,
    ) {
        match value {
            q::Value::Variable(v) => {
                used.insert(v.clone());
                match vars.get(v) {
                    None => {
                        let hint = did_you_mean(v, vars.keys().map(String::as_str));
                        self.error(
                            file,
                            pos,
                            format!("variable `${v}` is not defined by the operation{hint}"),
                        );
                    }
                    Some((ty, has_default)) => {
                        let known = crate::schema::BUILT_IN_SCALARS.contains(&ty.base())
                            || self.schema.get(ty.base()).is_some();
                        // An unknown variable type was reported where it is declared.
                        if known && !fits(ty, expected, *has_default) {
                            self.error(file, pos, format!("variable `${v}` has type `{ty}` but is used where `{expected}` is expected"));
                        }
                    }
                }
            }
            q::Value::Null if expected.is_non_null() => {
                self.error(
                    file,
                    pos,
                    format!("`null` given where `{expected}` is expected"),
                );
            }
            q::Value::List(items) => {
                let element = match expected.nullable() {
                    TypeRef::List(e) => (**e).clone(),
                    other => other.clone(), // a single value may stand for a list of one
                };
                for item in items {
                    self.check_value(file, pos, item, &element, vars, used);
                }
            }
            q::Value::Object(fields) => {
                let base = expected.base();
                // Borrowed from the schema, not from `self`, so errors can be recorded meanwhile.
                let schema = self.schema;
                let Some(def) = schema.get(base).filter(|d| d.kind == Kind::InputObject) else {
                    if !matches!(self.schema.kind_of(base), Kind::Scalar) {
                        self.error(
                            file,
                            pos,
                            format!("an object given where `{expected}` is expected"),
                        );
                    }
                    return;
                };
                for (name, v) in fields {
                    match def.input_fields.iter().find(|f| &f.name == name) {
                        Some(f) => self.check_value(file, pos, v, &f.ty, vars, used),
                        None => {
                            let hint = did_you_mean(
                                name,
                                def.input_fields.iter().map(|f| f.name.as_str()),
                            );
                            self.error(
                                file,
                                pos,
                                format!("input type `{base}` has no field `{name}`{hint}"),
                            );
                        }
                    }
                }
                for f in &def.input_fields {
                    if f.ty.is_non_null() && f.default.is_none() && !fields.contains_key(&f.name) {
                        self.error(
                            file,
                            pos,
                            format!("input type `{base}` requires field `{}`", f.name),
                        );
                    }
                }
            }
            q::Value::Enum(e) => {
                if let Some(def) = self
                    .schema
                    .get(expected.base())
                    .filter(|d| d.kind == Kind::Enum)
                {
                    if !def.values.iter().any(|v| &v.name == e) {
                        let hint = did_you_mean(e, def.values.iter().map(|v| v.name.as_str()));
                        let name = def.name.clone();
                        self.error(file, pos, format!("enum `{name}` has no value `{e}`{hint}"));
                    }
                }
            }
            _ => {}
        }
    }

    fn is_conditional(directives: &[q::Directive<'static, String>]) -> bool {
        directives
            .iter()
            .any(|d| d.name == "include" || d.name == "skip")
    }

    /// Resolves a selection set on `parent` into fields, merging fragments.
    #[allow(clippy::too_many_arguments)]
    fn selection(
        &mut self,
        file: &str,
        parent: &str,
        set: &q::SelectionSet<'static, String>,
        conditional: bool,
        vars: &BTreeMap<String, (TypeRef, bool)>,
        used: &mut BTreeSet<String>,
        used_fragments: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
        out: &mut Vec<Selected>,
    ) {
        for item in &set.items {
            match item {
                q::Selection::Field(f) => {
                    let field_conditional = conditional || Self::is_conditional(&f.directives);
                    for d in &f.directives {
                        for (_, v) in &d.arguments {
                            self.check_value(
                                file,
                                f.position,
                                v,
                                &TypeRef::NonNull(Box::new(TypeRef::Named("Boolean".into()))),
                                vars,
                                used,
                            );
                        }
                    }
                    let (ty, fields) = if f.name == "__typename" {
                        let string = TypeRef::Named("String".into());
                        (TypeRef::NonNull(Box::new(string)), Vec::new())
                    } else {
                        let Some(checked) =
                            self.field(file, parent, f, vars, used, used_fragments, stack)
                        else {
                            continue;
                        };
                        checked
                    };
                    merge(
                        out,
                        Selected {
                            key: f.alias.clone().unwrap_or_else(|| f.name.clone()),
                            name: f.name.clone(),
                            parent: parent.to_owned(),
                            ty,
                            conditional: field_conditional,
                            fields,
                        },
                    );
                }
                q::Selection::FragmentSpread(s) => {
                    let Some(&(fragment, fragment_file)) = self.fragments.get(&s.fragment_name)
                    else {
                        let hint = did_you_mean(
                            &s.fragment_name,
                            self.fragments.keys().map(String::as_str),
                        );
                        self.error(
                            file,
                            s.position,
                            format!("unknown fragment `{}`{hint}", s.fragment_name),
                        );
                        continue;
                    };
                    if stack.contains(&s.fragment_name) {
                        self.error(
                            file,
                            s.position,
                            format!("fragment `{}` spreads itself", s.fragment_name),
                        );
                        continue;
                    }
                    used_fragments.insert(s.fragment_name.clone());
                    let q::TypeCondition::On(on) = &fragment.type_condition;
                    let cond = self.condition(fragment_file, fragment.position, parent, on);
                    stack.push(s.fragment_name.clone());
                    let conditional = conditional || cond || Self::is_conditional(&s.directives);
                    self.selection(
                        fragment_file,
                        if cond { on } else { parent },
                        &fragment.selection_set,
                        conditional,
                        vars,
                        used,
                        used_fragments,
                        stack,
                        out,
                    );
                    stack.pop();
                }
                q::Selection::InlineFragment(i) => {
                    let (target, cond) = match &i.type_condition {
                        Some(q::TypeCondition::On(on)) => {
                            let cond = self.condition(file, i.position, parent, on);
                            (if cond { on.clone() } else { parent.to_owned() }, cond)
                        }
                        None => (parent.to_owned(), false),
                    };
                    let conditional = conditional || cond || Self::is_conditional(&i.directives);
                    self.selection(
                        file,
                        &target,
                        &i.selection_set,
                        conditional,
                        vars,
                        used,
                        used_fragments,
                        stack,
                        out,
                    );
                }
            }
        }
    }

    /// Checks a selected field (arguments, subfields) and resolves its subselection; `None`
    /// when the field does not exist (reported).
    #[allow(clippy::too_many_arguments)]
    fn field(
        &mut self,
        file: &str,
        parent: &str,
        f: &q::Field<'static, String>,
        vars: &BTreeMap<String, (TypeRef, bool)>,
        used: &mut BTreeSet<String>,
        used_fragments: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<(TypeRef, Vec<Selected>)> {
        let schema = self.schema;
        let def = schema.get(parent)?;
        let Some(field) = def.field(&f.name) else {
            let hint = did_you_mean(&f.name, def.fields.iter().map(|f| f.name.as_str()));
            self.error(
                file,
                f.position,
                format!("type `{parent}` has no field `{}`{hint}", f.name),
            );
            return None;
        };
        for (name, value) in &f.arguments {
            match field.args.iter().find(|a| &a.name == name) {
                Some(arg) => self.check_value(file, f.position, value, &arg.ty, vars, used),
                None => {
                    // Its variables count as used: one error, not a cascade.
                    collect_variables(value, used);
                    let hint = did_you_mean(name, field.args.iter().map(|a| a.name.as_str()));
                    self.error(
                        file,
                        f.position,
                        format!("field `{parent}.{}` has no argument `{name}`{hint}", f.name),
                    );
                }
            }
        }
        for arg in &field.args {
            if arg.ty.is_non_null()
                && arg.default.is_none()
                && !f.arguments.iter().any(|(n, _)| n == &arg.name)
            {
                self.error(
                    file,
                    f.position,
                    format!(
                        "field `{parent}.{}` requires argument `{}: {}`",
                        f.name, arg.name, arg.ty
                    ),
                );
            }
        }
        let base = field.ty.base().to_owned();
        let composite = matches!(
            self.schema.kind_of(&base),
            Kind::Object | Kind::Interface | Kind::Union
        );
        let mut sub = Vec::new();
        if composite {
            if f.selection_set.items.is_empty() {
                self.error(
                    file,
                    f.position,
                    format!(
                        "field `{parent}.{}` of type `{}` needs a selection of subfields",
                        f.name, field.ty
                    ),
                );
            }
            self.selection(
                file,
                &base,
                &f.selection_set,
                false,
                vars,
                used,
                used_fragments,
                stack,
                &mut sub,
            );
        } else {
            if !f.selection_set.items.is_empty() {
                self.error(
                    file,
                    f.position,
                    format!(
                        "field `{parent}.{}` of type `{}` has no subfields",
                        f.name, field.ty
                    ),
                );
            }
            self.roots.insert(base.clone());
        }
        Some((field.ty.clone(), sub))
    }

    /// Checks a type condition on `parent`; returns whether the fragment applies only sometimes
    /// (a narrower type than `parent`).
    fn condition(&mut self, file: &str, pos: Pos, parent: &str, on: &str) -> bool {
        if on == parent {
            return false;
        }
        let Some(def) = self.schema.get(on) else {
            let hint = did_you_mean(on, self.schema.types.keys().map(String::as_str));
            self.error(file, pos, format!("unknown type `{on}`{hint}"));
            return false;
        };
        if !matches!(def.kind, Kind::Object | Kind::Interface | Kind::Union) {
            self.error(
                file,
                pos,
                format!("fragments apply to objects, interfaces and unions; `{on}` is not one"),
            );
            return false;
        }
        // The parent always satisfies an interface it implements.
        let parent_def = self.schema.get(parent);
        !parent_def.is_some_and(|p| p.interfaces.iter().any(|i| i == on))
    }
}

fn collect_variables(value: &q::Value<'static, String>, used: &mut BTreeSet<String>) {
    match value {
        q::Value::Variable(v) => {
            used.insert(v.clone());
        }
        q::Value::List(items) => items.iter().for_each(|i| collect_variables(i, used)),
        q::Value::Object(fields) => fields.values().for_each(|v| collect_variables(v, used)),
        _ => {}
    }
}

/// Adds a field, merging with an earlier selection of the same response key.
fn merge(out: &mut Vec<Selected>, field: Selected) {
    if let Some(existing) = out.iter_mut().find(|f| f.key == field.key) {
        existing.conditional &= field.conditional;
        for sub in field.fields {
            merge(&mut existing.fields, sub);
        }
    } else {
        out.push(field);
    }
}

impl Operations {
    /// Parses and checks every document (`(file, text)`).
    pub fn parse(schema: &Schema, documents: &[(String, String)]) -> Result<Operations, Error> {
        let mut parsed: Vec<(String, Doc)> = Vec::new();
        for (file, text) in documents {
            let doc = q::parse_query::<String>(text)
                .map_err(|e| Error::new(format!("{file}: invalid GraphQL: {e}")))?
                .into_static();
            parsed.push((file.clone(), doc));
        }
        let mut checker = Checker {
            schema,
            fragments: BTreeMap::new(),
            errors: Vec::new(),
            roots: BTreeSet::new(),
        };
        for (file, doc) in &parsed {
            for def in &doc.definitions {
                if let q::Definition::Fragment(f) = def {
                    if checker
                        .fragments
                        .insert(f.name.clone(), (f, file.as_str()))
                        .is_some()
                    {
                        checker.error(
                            file,
                            f.position,
                            format!("fragment `{}` is defined twice", f.name),
                        );
                    }
                }
            }
        }
        let mut operations = Vec::new();
        let mut names = BTreeSet::new();
        for (file, doc) in &parsed {
            for def in &doc.definitions {
                let q::Definition::Operation(op) = def else {
                    continue;
                };
                // The same parts of each kind of operation, with the schema's root for it.
                macro_rules! parts {
                    ($o:expr, $root:expr) => {
                        (
                            $o.position,
                            &$o.name,
                            &$o.variable_definitions,
                            &$o.selection_set,
                            $root.clone(),
                        )
                    };
                }
                let (pos, name, var_defs, set, root) = match op {
                    q::OperationDefinition::Query(o) => parts!(o, schema.query),
                    q::OperationDefinition::Mutation(o) => parts!(o, schema.mutation),
                    q::OperationDefinition::Subscription(o) => parts!(o, schema.subscription),
                    q::OperationDefinition::SelectionSet(s) => {
                        checker.error(file, s.span.0, "operations need a name (`query Name { … }`): the name becomes the Rust module".into());
                        continue;
                    }
                };
                let Some(name) = name.clone() else {
                    checker.error(file, pos, "operations need a name (`query Name { … }`): the name becomes the Rust module".into());
                    continue;
                };
                if !names.insert(name.clone()) {
                    checker.error(file, pos, format!("operation `{name}` is defined twice"));
                    continue;
                }
                let Some(root) = root else {
                    checker.error(
                        file,
                        pos,
                        format!("the schema has no root type for operation `{name}`"),
                    );
                    continue;
                };
                let mut vars = BTreeMap::new();
                let mut variables = Vec::new();
                for v in var_defs {
                    let ty = TypeRef::from_query(&v.var_type);
                    if checker.check_type_exists(file, v.position, &ty) {
                        checker.roots.insert(ty.base().to_owned());
                    }
                    vars.insert(v.name.clone(), (ty.clone(), v.default_value.is_some()));
                    variables.push((v.name.clone(), ty, v.default_value.is_some()));
                }
                let mut used = BTreeSet::new();
                let mut used_fragments = BTreeSet::new();
                let mut fields = Vec::new();
                checker.selection(
                    file,
                    &root,
                    set,
                    false,
                    &vars,
                    &mut used,
                    &mut used_fragments,
                    &mut Vec::new(),
                    &mut fields,
                );
                for v in var_defs {
                    if !used.contains(&v.name) {
                        checker.error(
                            file,
                            v.position,
                            format!("variable `${}` is never used in operation `{name}`", v.name),
                        );
                    }
                }
                let mut document = op.to_string();
                for f in &used_fragments {
                    if let Some((fragment, _)) = checker.fragments.get(f) {
                        document.push('\n');
                        document.push_str(&fragment.to_string());
                    }
                }
                operations.push(Operation {
                    name,
                    variables,
                    fields,
                    document,
                });
            }
        }
        if !checker.errors.is_empty() {
            return Err(Error::new(checker.errors.join("\n")));
        }
        Ok(Operations {
            operations,
            roots: checker.roots,
        })
    }

    /// The named types the operations need (variables' types, leaf types of selections).
    pub fn roots(&self) -> impl Iterator<Item = String> + '_ {
        self.roots.iter().cloned()
    }

    /// The `operations` module.
    pub fn module(&self, emitter: &Emitter<'_>) -> TokenStream {
        let names: Vec<&str> = self.operations.iter().map(|o| o.name.as_str()).collect();
        let markers = naming::unique(&names, naming::pascal);
        let modules = naming::unique(&names, naming::snake);
        let prefix = quote!(super::super::types::);
        let items = self.operations.iter().map(|op| {
            let marker = emit::ident(&markers[&op.name]);
            let module = emit::ident(&modules[&op.name]);
            let var_names: Vec<&str> = op.variables.iter().map(|v| v.0.as_str()).collect();
            let var_idents = naming::unique(&var_names, naming::snake);
            let all_optional = op.variables.iter().all(|(_, ty, d)| !ty.is_non_null() || *d);
            let mut vars = TokenStream::new();
            let mut entries = TokenStream::new();
            for (name, ty, has_default) in &op.variables {
                let ident = &var_idents[name];
                let optional = !ty.is_non_null() || *has_default;
                let rust = emitter.rust_type(ty, Place::Variable, None, &prefix);
                let rust = if ty.is_non_null() && *has_default {
                    quote!(::core::option::Option<#rust>)
                } else {
                    rust
                };
                let fid = emit::ident(ident);
                let doc = format!(" `${name}: {ty}`{}", if optional { " (left out when `None`)" } else { "" });
                vars.extend(quote!(#[doc = #doc] pub #fid: #rust,));
                entries.extend(if optional {
                    quote!(if self.#fid.is_some() { map.serialize_entry(#name, &self.#fid)?; })
                } else {
                    quote!(map.serialize_entry(#name, &self.#fid)?;)
                });
            }
            let variable_count = op.variables.len();
            let default = if all_optional { quote!(Default,) } else { quote!() };
            let mut structs = Vec::new();
            let mut taken = BTreeSet::from(["Variables".to_owned(), "ResponseData".to_owned()]);
            let data = selection_struct(
                emitter,
                &op.fields,
                "",
                &prefix,
                &mut structs,
                &mut taken,
                &emit::ident("ResponseData"),
                " The response's `data`: the selected fields.",
            );
            let op_name = &op.name;
            let document = &op.document;
            let marker_doc = format!(" The operation `{op_name}`: run it with the context's GraphQL client.");
            quote! {
                #[doc = #marker_doc]
                #[derive(Debug, Clone, Copy)]
                pub struct #marker;

                impl ::rasura::generated::GraphqlOperation for #marker {
                    type Variables = #module::Variables;
                    type ResponseData = #module::ResponseData;
                    const OPERATION_NAME: &'static str = #op_name;
                    const QUERY: &'static str = #module::QUERY;
                }

                #[doc = #marker_doc]
                pub mod #module {
                    /// The document sent to Hasura.
                    pub const QUERY: &str = #document;

                    /// The operation's variables.
                    #[derive(Debug, Clone, PartialEq, #default)]
                    pub struct Variables { #vars }

                    // Written out rather than derived: a derive costs several times more to
                    // compile, and variables are only ever sent.
                    impl ::rasura::__private::serde::Serialize for Variables {
                        fn serialize<S: ::rasura::__private::serde::Serializer>(
                            &self,
                            serializer: S,
                        ) -> ::core::result::Result<S::Ok, S::Error> {
                            use ::rasura::__private::serde::ser::SerializeMap as _;
                            let mut map = serializer.serialize_map(::core::option::Option::Some(#variable_count))?;
                            #entries
                            map.end()
                        }
                    }

                    #data

                    #(#structs)*
                }
            }
        });
        quote! {
            /// The operations of the `.graphql` documents, checked against the schema.
            #[allow(missing_docs, non_camel_case_types, non_snake_case, clippy::all)]
            pub mod operations {
                #(#items)*
            }
        }
    }
}

/// A selection struct with a compact `Deserialize` impl (see `rasura`'s `ResponseFields`): a
/// derive would cost several times more to compile. Nested selections become structs named by
/// their path (`AdminsFiles`).
#[allow(clippy::too_many_arguments)]
fn selection_struct(
    emitter: &Emitter<'_>,
    fields: &[Selected],
    path: &str,
    prefix: &TokenStream,
    structs: &mut Vec<TokenStream>,
    taken: &mut BTreeSet<String>,
    ident: &syn::Ident,
    doc: &str,
) -> TokenStream {
    let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    let idents = naming::unique(&keys, naming::snake);
    let mut declarations = TokenStream::new();
    let mut reads = TokenStream::new();
    for (i, f) in fields.iter().enumerate() {
        let field_ident = emit::ident(&idents[&f.key]);
        let ty = if f.fields.is_empty() {
            emitter.rust_type(&f.ty, Place::Output, Some((&f.parent, &f.name)), prefix)
        } else {
            let mut name = format!("{path}{}", naming::pascal(&f.key).trim_start_matches("r#"));
            let stem = name.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{stem}{n}");
                n += 1;
            }
            let nested = emit::ident(&name);
            let nested_doc = format!(" Selected from `{}`.", f.ty.base());
            let item = selection_struct(
                emitter,
                &f.fields,
                &name,
                prefix,
                structs,
                taken,
                &nested,
                &nested_doc,
            );
            structs.push(item);
            emit::wrap(&f.ty, Place::Output, true, &quote!(#nested))
        };
        let optional = !f.ty.is_non_null() || f.conditional;
        let ty = if f.ty.is_non_null() && f.conditional {
            quote!(::core::option::Option<#ty>)
        } else {
            ty
        };
        let wire_doc = format!(" `{}`", f.key);
        declarations.extend(quote!(#[doc = #wire_doc] pub #field_ident: #ty,));
        let read = if optional {
            quote!(optional)
        } else {
            quote!(required)
        };
        reads.extend(quote!(#field_ident: fields.#read::<D::Error, _>(#i)?,));
    }
    let keys = fields.iter().map(|f| f.key.as_str());
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub struct #ident { #declarations }

        impl<'de> ::rasura::__private::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::rasura::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let mut fields = ::rasura::__private::ResponseFields::read(deserializer, &[#(#keys),*])?;
                ::core::result::Result::Ok(#ident { #reads })
            }
        }
    }
}
