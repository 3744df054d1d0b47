//! `#[derive(CustomType)]`: a struct or enum's Hasura custom type, read beside serde's
//! attributes so the GraphQL names are the JSON names (`rename`, `rename_all`, `skip`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr};

use crate::options::Errors;

/// Expands `#[derive(CustomType)]`.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let tokens = expand(&input, &mut errors);
    if errors.is_empty() {
        tokens
    } else {
        errors.to_compile_errors()
    }
}

/// serde's `rename_all` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameRule {
    /// `lowercase`
    Lower,
    /// `UPPERCASE`
    Upper,
    /// `PascalCase`
    Pascal,
    /// `camelCase`
    Camel,
    /// `snake_case`
    Snake,
    /// `SCREAMING_SNAKE_CASE`
    ScreamingSnake,
    /// `kebab-case`
    Kebab,
    /// `SCREAMING-KEBAB-CASE`
    ScreamingKebab,
}

const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

impl RenameRule {
    fn parse(s: &str) -> Option<Self> {
        RULES.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }

    /// A field name (written in snake_case) under this rule, as serde renames it.
    pub fn field(self, name: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => name.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => name.to_ascii_uppercase(),
            RenameRule::Pascal => name.split('_').map(capitalise).collect(),
            RenameRule::Camel => {
                let pascal: String = name.split('_').map(capitalise).collect();
                lower_first(&pascal)
            }
            RenameRule::Kebab => name.replace('_', "-"),
            RenameRule::ScreamingKebab => name.replace('_', "-").to_ascii_uppercase(),
        }
    }

    /// A variant name (written in PascalCase) under this rule, as serde renames it.
    pub fn variant(self, name: &str) -> String {
        match self {
            RenameRule::Pascal => name.to_owned(),
            RenameRule::Lower => name.to_ascii_lowercase(),
            RenameRule::Upper => name.to_ascii_uppercase(),
            RenameRule::Camel => lower_first(name),
            RenameRule::Snake => snake(name),
            RenameRule::ScreamingSnake => snake(name).to_ascii_uppercase(),
            RenameRule::Kebab => snake(name).replace('_', "-"),
            RenameRule::ScreamingKebab => snake(name).replace('_', "-").to_ascii_uppercase(),
        }
    }
}

fn capitalise(part: &str) -> String {
    let mut chars = part.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.char_indices() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A GraphQL name that is not reserved for introspection (`__…`).
fn is_graphql_name(s: &str) -> bool {
    crate::is_graphql_name(s) && !s.starts_with("__")
}

/// The serde attributes the derive reads, of one item.
#[derive(Default)]
struct Serde {
    rename: Option<LitStr>,
    rename_all: Option<(RenameRule, Span)>,
    skip: bool,
    skip_serializing: bool,
    skip_deserializing: bool,
    /// `skip_serializing_if`: the field may be absent from the output, so it is nullable there.
    skip_serializing_if: bool,
}

/// serde attributes that change the JSON shape in ways a GraphQL type cannot express.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "flatten",
        "a flattened field has no GraphQL equivalent: declare its fields here, or nest the type",
    ),
    (
        "tag",
        "an internally tagged enum is not a GraphQL enum: derive `CustomType` on unit-variant enums only",
    ),
    (
        "untagged",
        "an untagged enum is not a GraphQL enum: derive `CustomType` on unit-variant enums only",
    ),
    (
        "content",
        "an adjacently tagged enum is not a GraphQL enum: derive `CustomType` on unit-variant enums only",
    ),
    (
        "transparent",
        "a transparent newtype has its inner type's GraphQL type: use that type directly",
    ),
    (
        "from",
        "the JSON is another type's: derive `CustomType` on that type and use it directly",
    ),
    (
        "try_from",
        "the JSON is another type's: derive `CustomType` on that type and use it directly",
    ),
    (
        "into",
        "the JSON is another type's: derive `CustomType` on that type and use it directly",
    ),
];

fn serde_attributes(attrs: &[Attribute], errors: &mut Errors) -> Serde {
    let mut serde = Serde::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let result = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("rename") {
                if meta.input.peek(syn::token::Paren) {
                    errors.push(
                        path.span(),
                        "`rename(serialize = …, deserialize = …)`: a custom type has one GraphQL name; use `rename = \"…\"`",
                    );
                    let _ = meta.parse_nested_meta(|m| {
                        let _ = m.value()?.parse::<LitStr>()?;
                        Ok(())
                    });
                } else {
                    serde.rename = Some(meta.value()?.parse()?);
                }
            } else if path.is_ident("rename_all") {
                if meta.input.peek(syn::token::Paren) {
                    errors.push(
                        path.span(),
                        "`rename_all(serialize = …, deserialize = …)`: a custom type has one GraphQL name per field; use `rename_all = \"…\"`",
                    );
                    let _ = meta.parse_nested_meta(|m| {
                        let _ = m.value()?.parse::<LitStr>()?;
                        Ok(())
                    });
                } else {
                    let lit: LitStr = meta.value()?.parse()?;
                    match RenameRule::parse(&lit.value()) {
                        Some(rule) => serde.rename_all = Some((rule, lit.span())),
                        None => errors.push(
                            lit.span(),
                            format!(
                                "unknown `rename_all` rule \"{}\": expected one of {}",
                                lit.value(),
                                RULES
                                    .iter()
                                    .map(|(n, _)| format!("\"{n}\""))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    }
                }
            } else if path.is_ident("skip") {
                serde.skip = true;
            } else if path.is_ident("skip_serializing") {
                serde.skip_serializing = true;
            } else if path.is_ident("skip_deserializing") {
                serde.skip_deserializing = true;
            } else if path.is_ident("skip_serializing_if") {
                serde.skip_serializing_if = true;
            } else if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| path.is_ident(n)) {
                errors.push(
                    path.span(),
                    format!(
                        "`#[serde({})]` is not supported by `CustomType`: {why}",
                        quote!(#path)
                    ),
                );
            }
            // Anything else (`default`, `alias`, `with`, `skip_serializing_if`, …) does not
            // change the names or the shape; its value, if any, is skipped.
            if meta.input.peek(syn::Token![=]) {
                let _ = meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.input.parse::<proc_macro2::Group>();
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e.span(), e.to_string());
        }
    }
    serde
}

/// The doc comment of an item, its lines joined and trimmed, if any.
fn doc(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_owned())
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn option_string(s: Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(::std::string::String::from(#s))),
        None => quote!(::core::option::Option::None),
    }
}

/// What the derive sees of a type, for the check against `actions.graphql`.
struct Shape<'a> {
    enum_values: Option<Vec<String>>,
    fields: Vec<(String, &'a syn::Type, Span)>,
}

fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let mut shape = Shape {
        enum_values: None,
        fields: Vec::new(),
    };
    let tokens = expand_shape(input, errors, &mut shape);
    if errors.is_empty() {
        match crate::manifest::Manifest::from_env() {
            Ok(Some(manifest)) => check_against_manifest(&manifest, input, &shape, errors),
            Ok(None) => {}
            Err(message) => errors.push(Span::call_site(), message),
        }
    }
    tokens
}

/// The GraphQL type a Rust field type maps to, as text, where the derive can tell from the
/// tokens (`None` for a path it does not know: another custom type, perhaps renamed).
pub fn graphql_text(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else {
        return match ty {
            syn::Type::Reference(r) => graphql_text(&r.elem),
            syn::Type::Slice(s) => Some(format!("[{}]!", graphql_text(&s.elem)?)),
            _ => None,
        };
    };
    let last = p.path.segments.last()?;
    let inner = || match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    };
    let scalar = |name: &str| Some(format!("{name}!"));
    match last.ident.to_string().as_str() {
        "Option" | "Nullable" => {
            let t = graphql_text(inner()?)?;
            Some(t.strip_suffix('!').map(str::to_owned).unwrap_or(t))
        }
        "Vec" => Some(format!("[{}]!", graphql_text(inner()?)?)),
        "Box" | "Arc" => graphql_text(inner()?),
        "String" | "str" | "Cow" => scalar("String"),
        "bool" => scalar("Boolean"),
        "i8" | "i16" | "i32" | "u8" | "u16" => scalar("Int"),
        "i64" | "u32" | "u64" | "BigInt" => scalar("bigint"),
        "f32" | "f64" => scalar("Float"),
        "Float8" => scalar("float8"),
        "Uuid" => scalar("uuid"),
        "Timestamptz" => scalar("timestamptz"),
        "Numeric" | "Decimal" => scalar("numeric"),
        "Json" | "Value" => scalar("jsonb"),
        _ => None,
    }
}

/// Only the wrappers of a type reference: `[X!]!` for `[String!]!`.
fn wrappers(reference: &str) -> String {
    let mut out = String::new();
    let mut in_name = false;
    for c in reference.chars() {
        if c == '[' || c == ']' || c == '!' {
            out.push(c);
            in_name = false;
        } else if !in_name {
            out.push('X');
            in_name = true;
        }
    }
    out
}

fn check_against_manifest(
    manifest: &crate::manifest::Manifest,
    input: &DeriveInput,
    shape: &Shape<'_>,
    errors: &mut Errors,
) {
    let container = serde_attributes(&input.attrs, &mut Errors::default());
    let name = container
        .rename
        .map(|l| l.value())
        .unwrap_or_else(|| input.ident.to_string());
    let Some(defined) = manifest.custom_type(&name) else {
        return;
    };
    let fix = "use the type rasura-codegen generates for it, make the two agree, or give this one another name with `#[serde(rename = \"…\")]`";
    let span = input.ident.span();
    match (&shape.enum_values, defined.kind.as_str()) {
        (Some(values), "enum") => {
            let theirs: Vec<&str> = defined.fields.iter().map(|(n, _)| n.as_str()).collect();
            let ours: Vec<&str> = values.iter().map(String::as_str).collect();
            if theirs != ours {
                errors.push(
                    span,
                    format!(
                        "`{name}` is also defined in actions.graphql, differently: its values are {} there, {} here; {fix}",
                        theirs.join(", "),
                        ours.join(", ")
                    ),
                );
            }
        }
        (None, "object" | "input") => {
            for (field, ty, field_span) in &shape.fields {
                match defined.fields.iter().find(|(n, _)| n == field) {
                    None => errors.push(
                        *field_span,
                        format!("`{name}` is also defined in actions.graphql, without a field `{field}`; {fix}"),
                    ),
                    Some((_, theirs)) => {
                        let differs = match graphql_text(ty) {
                            Some(ours) if crate::custom_type::known_base(&ours) => ours != *theirs,
                            Some(ours) => wrappers(&ours) != wrappers(theirs),
                            None => false,
                        };
                        if differs {
                            errors.push(
                                ty.span(),
                                format!(
                                    "`{name}.{field}` is `{theirs}` in actions.graphql, `{}` here; {fix}",
                                    graphql_text(ty).unwrap_or_default()
                                ),
                            );
                        }
                    }
                }
            }
            for (theirs, _) in &defined.fields {
                if !shape.fields.iter().any(|(f, _, _)| f == theirs) {
                    errors.push(
                        span,
                        format!("`{name}` is also defined in actions.graphql, with a field `{theirs}` this type lacks; {fix}"),
                    );
                }
            }
        }
        (values, kind) => errors.push(
            span,
            format!(
                "`{name}` is {} in actions.graphql, {} here; {fix}",
                match kind {
                    "enum" => "an enum",
                    "scalar" => "a scalar",
                    _ => "an object type",
                },
                if values.is_some() {
                    "an enum"
                } else {
                    "a struct"
                }
            ),
        ),
    }
}

/// Whether a reference's named type is one the derive maps itself (a scalar), so the names
/// can be compared, not only the wrappers.
pub fn known_base(reference: &str) -> bool {
    let base: String = reference
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '!'))
        .collect();
    [
        "String",
        "Boolean",
        "Int",
        "bigint",
        "Float",
        "float8",
        "uuid",
        "timestamptz",
        "numeric",
        "jsonb",
    ]
    .contains(&base.as_str())
}

fn expand_shape<'a>(
    input: &'a DeriveInput,
    errors: &mut Errors,
    shape: &mut Shape<'a>,
) -> TokenStream {
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        errors.push(
            input.generics.span(),
            "`CustomType` cannot be derived for a generic type: a GraphQL type has one definition; use a concrete type",
        );
        return TokenStream::new();
    }
    let container = serde_attributes(&input.attrs, errors);
    let raw_name = ident.to_string();
    let raw_name = raw_name.strip_prefix("r#").unwrap_or(&raw_name).to_owned();
    let (name, name_span) = match &container.rename {
        Some(lit) => (lit.value(), lit.span()),
        None => (raw_name, ident.span()),
    };
    if !is_graphql_name(&name) {
        errors.push(
            name_span,
            format!("`{name}` is not a GraphQL name (letters, digits and `_`, not starting with a digit or `__`)"),
        );
    }
    let description = option_string(doc(&input.attrs));
    let rt = quote!(::rasura::custom_types);
    let rename_all = container.rename_all;
    let (definition, arguments) = match &input.data {
        Data::Struct(data) => {
            let Fields::Named(named) = &data.fields else {
                errors.push(
                    data.fields.span().join(ident.span()).unwrap_or(ident.span()),
                    "`CustomType` needs named fields (`struct T { a: String }`): they become the GraphQL fields",
                );
                return TokenStream::new();
            };
            let mut seen: Vec<String> = Vec::new();
            let fields = named.named.iter().filter_map(|field| {
                let attrs = serde_attributes(&field.attrs, errors);
                if attrs.skip {
                    return None;
                }
                let field_ident = field.ident.as_ref()?;
                let rust = field_ident.to_string();
                let rust = rust.strip_prefix("r#").unwrap_or(&rust).to_owned();
                let (field_name, span) = match (&attrs.rename, rename_all) {
                    (Some(lit), _) => (lit.value(), lit.span()),
                    (None, Some((rule, span))) => (rule.field(&rust), span),
                    (None, None) => (rust, field_ident.span()),
                };
                if !is_graphql_name(&field_name) {
                    errors.push(
                        span,
                        format!(
                            "`{field_name}` is not a GraphQL field name (letters, digits and `_`)"
                        ),
                    );
                } else if seen.contains(&field_name) {
                    errors.push(
                        span,
                        format!("two fields are named `{field_name}` in GraphQL"),
                    );
                }
                seen.push(field_name.clone());
                let ty = &field.ty;
                if !(attrs.skip_serializing || attrs.skip_deserializing) {
                    shape.fields.push((field_name.clone(), ty, span));
                }
                let field_description = option_string(doc(&field.attrs));
                let condition = match (attrs.skip_serializing, attrs.skip_deserializing) {
                    (true, true) => return None,
                    (true, false) => quote!(position == #rt::Position::Input),
                    (false, true) => quote!(position == #rt::Position::Output),
                    (false, false) => quote!(true),
                };
                let type_ref =
                    quote_spanned!(ty.span()=> <#ty as #rt::GraphqlType>::type_ref(position));
                let type_ref = if attrs.skip_serializing_if {
                    // Left out of the JSON when the condition holds: nullable in an output.
                    quote! {{
                        let reference = #type_ref;
                        match (position, reference.strip_suffix('!')) {
                            (#rt::Position::Output, ::core::option::Option::Some(inner)) => ::std::string::String::from(inner),
                            _ => reference,
                        }
                    }}
                } else {
                    type_ref
                };
                let collect =
                    quote_spanned!(ty.span()=> <#ty as #rt::GraphqlType>::collect(position, types));
                Some(quote! {
                    if #condition {
                        #collect;
                        fields.push(#rt::FieldDefinition {
                            name: ::std::string::String::from(#field_name),
                            ty: #type_ref,
                            description: #field_description,
                        });
                    }
                })
            });
            let fields: Vec<TokenStream> = fields.collect();
            (
                quote! {
                    let mut fields = ::std::vec::Vec::new();
                    #(#fields)*
                    #rt::TypeDefinition {
                        name: ::std::string::String::from(#name),
                        description: #description,
                        kind: #rt::TypeKind::Object(position, fields),
                    }
                },
                quote!(#[automatically_derived] #[diagnostic::do_not_recommend] impl #rt::ActionArguments for #ident {}),
            )
        }
        Data::Enum(data) => {
            shape.enum_values = Some(Vec::new());
            let mut seen: Vec<String> = Vec::new();
            let values: Vec<TokenStream> = data
                .variants
                .iter()
                .filter_map(|variant| {
                    let attrs = serde_attributes(&variant.attrs, errors);
                    if attrs.skip || (attrs.skip_serializing && attrs.skip_deserializing) {
                        return None;
                    }
                    if !matches!(variant.fields, Fields::Unit) {
                        errors.push(
                            variant.fields.span(),
                            format!("variant `{}` has data: a GraphQL enum's values are names only; derive `CustomType` on enums of unit variants", variant.ident),
                        );
                        return None;
                    }
                    let rust = variant.ident.to_string();
                    let (value, span) = match (&attrs.rename, rename_all) {
                        (Some(lit), _) => (lit.value(), lit.span()),
                        (None, Some((rule, span))) => (rule.variant(&rust), span),
                        (None, None) => (rust, variant.ident.span()),
                    };
                    if !is_graphql_name(&value) || ["true", "false", "null"].contains(&value.as_str()) {
                        errors.push(span, format!("`{value}` is not a GraphQL enum value (letters, digits and `_`; not `true`, `false` or `null`)"));
                    } else if seen.contains(&value) {
                        errors.push(span, format!("two variants are the GraphQL value `{value}`"));
                    }
                    seen.push(value.clone());
                    shape.enum_values.get_or_insert_with(Vec::new).push(value.clone());
                    let value_description = option_string(doc(&variant.attrs));
                    Some(quote! {
                        #rt::EnumValue {
                            name: ::std::string::String::from(#value),
                            description: #value_description,
                        }
                    })
                })
                .collect();
            if values.is_empty() && errors.is_empty() {
                errors.push(
                    ident.span(),
                    "a GraphQL enum needs at least one value (none is left after `skip`)",
                );
            }
            (
                quote! {
                    let _ = (position, types);
                    #rt::TypeDefinition {
                        name: ::std::string::String::from(#name),
                        description: #description,
                        kind: #rt::TypeKind::Enum(::std::vec![#(#values),*]),
                    }
                },
                TokenStream::new(),
            )
        }
        Data::Union(u) => {
            errors.push(
                u.union_token.span(),
                "`CustomType` is derived on structs and enums, not unions",
            );
            return TokenStream::new();
        }
    };
    let non_null = format!("{name}!");
    quote! {
        #[automatically_derived]
        impl #rt::GraphqlType for #ident {
            fn type_ref(_: #rt::Position) -> ::std::string::String {
                ::std::string::String::from(#non_null)
            }
            fn collect(position: #rt::Position, types: &mut #rt::TypeSet) {
                types.add::<Self>(position);
            }
        }
        #[automatically_derived]
        impl #rt::CustomType for #ident {
            const NAME: &'static str = #name;
            fn definition(position: #rt::Position, types: &mut #rt::TypeSet) -> #rt::TypeDefinition {
                #definition
            }
        }
        #arguments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(input: TokenStream) -> Vec<String> {
        let out = derive(input).to_string();
        out.split("compile_error !")
            .skip(1)
            .map(|s| s.to_owned())
            .collect()
    }

    #[test]
    fn rename_rules_follow_serde() {
        assert_eq!(RenameRule::Camel.field("first_name"), "firstName");
        assert_eq!(RenameRule::Pascal.field("first_name"), "FirstName");
        assert_eq!(RenameRule::ScreamingSnake.field("first_name"), "FIRST_NAME");
        assert_eq!(RenameRule::ScreamingSnake.variant("NotSure"), "NOT_SURE");
        assert_eq!(RenameRule::Snake.variant("NotSure"), "not_sure");
        assert_eq!(RenameRule::Camel.variant("NotSure"), "notSure");
        assert_eq!(RenameRule::Lower.variant("NotSure"), "notsure");
    }

    #[test]
    fn derives_objects_enums_and_arguments() {
        let out = derive(quote! {
            /// A thing.
            #[serde(rename_all = "camelCase")]
            struct Thing { first_name: String, #[serde(skip)] hidden: u8 }
        })
        .to_string();
        assert!(out.contains("\"firstName\""), "{out}");
        assert!(!out.contains("hidden"), "{out}");
        assert!(out.contains("ActionArguments"), "{out}");
        assert!(out.contains("\"A thing.\""), "{out}");
        let out = derive(quote!(
            enum Mood {
                Happy,
                Sad,
            }
        ))
        .to_string();
        assert!(out.contains("\"Happy\"") && !out.contains("ActionArguments"));
    }

    #[test]
    fn refuses_what_graphql_cannot_express() {
        assert_eq!(
            errors_of(quote!(
                struct T(String);
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                struct T<X> {
                    a: X,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                enum E {
                    A(u8),
                    B,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                #[serde(tag = "t")]
                enum E {
                    A,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                struct T {
                    #[serde(flatten)]
                    a: Other,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                #[serde(rename_all = "kebab-case")]
                struct T {
                    a_b: String,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                #[serde(rename_all = "camel")]
                struct T {
                    a: String,
                }
            ))
            .len(),
            1
        );
        assert_eq!(
            errors_of(quote!(
                struct T {
                    #[serde(rename = "a")]
                    b: String,
                    a: String,
                }
            ))
            .len(),
            1
        );
    }
}
