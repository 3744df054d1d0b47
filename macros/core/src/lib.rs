//! Expansion logic of `#[action]`, `#[event]`, `#[cron]` and `handler!`, as a normal library
//! (unit-testable with `proc_macro2`). `rasura-macros` is the proc-macro shim.
//!
//! Every expansion re-emits the user's function unchanged, so the IDE keeps working even when
//! the options are wrong; mistakes become `compile_error!`s pointing at the offending tokens,
//! all of them in one report.
//!
//! A valid expansion adds a hidden `static __rasura_handler_<fn>` (a `rasura::registry::Handler`: plain
//! data and fn pointers) submitted to `inventory`, plus trait assertions spanned on the user's
//! types so a wrong type is reported where it is written. When the crate uses codegen (the
//! action manifest, see [`manifest`]), an action also asserts that its input and output types
//! are the ones generated from its SDL definition.

pub use rasura_manifest as manifest;
pub mod custom_type;
pub mod delivery;
pub mod event_table;
pub mod options;
pub mod rate;
pub mod schedule;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, ReturnType, Type};

use manifest::{Manifest, ManifestKind};
use options::{Errors, Opt};

const ACTION_OPTIONS: &[&str] = &[
    "name",
    "query",
    "mutation",
    "asynchronous",
    "roles",
    "jwt",
    "timeout",
    "require",
    "rate",
    "rate_key",
];
const EVENT_OPTIONS: &[&str] = &[
    "trigger",
    "table",
    "source",
    "insert",
    "update",
    "delete",
    "manual",
    "retry",
    "timeout",
    "concurrency",
    "rate",
    "once",
    "dead_letter",
];
const EVENT_OP_OPTIONS: &[&str] = &["columns", "payload"];
const CRON_OPTIONS: &[&str] = &[
    "name",
    "schedule",
    "payload",
    "comment",
    "retry",
    "timeout",
    "rate",
    "once",
    "dead_letter",
];
const SCHEDULED_OPTIONS: &[&str] = &["name", "retry", "timeout", "rate", "once", "dead_letter"];

/// Expands `#[action(args)] item`, checking it against the action manifest named by
/// `RASURA_ACTIONS_MANIFEST` when the crate uses codegen.
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    match Manifest::from_env() {
        Ok(manifest) => action_with_manifest(args, item, manifest.as_ref()),
        Err(message) => {
            let error = syn::Error::new(Span::call_site(), message).to_compile_error();
            quote!(#item #error)
        }
    }
}

/// Expands `#[action(args)] item` against a given manifest (`None`: no codegen, no checks).
pub fn action_with_manifest(
    args: TokenStream,
    item: TokenStream,
    manifest: Option<&Manifest>,
) -> TokenStream {
    expand(item, |f, errors| expand_action(args, f, manifest, errors))
}

/// Expands `#[event(args)] item`.
pub fn event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(item, |f, errors| expand_event(args, f, errors))
}

/// Expands `#[cron(args)] item`.
pub fn cron(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(item, |f, errors| expand_cron(args, f, errors))
}

/// Expands `#[scheduled(args)] item`.
pub fn scheduled(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(item, |f, errors| expand_scheduled(args, f, errors))
}

/// Expands `handler!(path::to::function)` to `&path::to::__rasura_handler_function`.
pub fn handler_ref(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::Path>(input) {
        Ok(mut path) => {
            if let Some(last) = path.segments.last_mut() {
                last.ident =
                    format_ident!("__rasura_handler_{}", last.ident, span = last.ident.span());
            }
            quote!(&#path)
        }
        Err(e) => syn::Error::new(
            e.span(),
            "expected the path of an `#[action]`, `#[event]` or `#[cron]` function",
        )
        .to_compile_error(),
    }
}

/// Parses the item, runs `f`, and always re-emits the item.
fn expand(item: TokenStream, f: impl FnOnce(&ItemFn, &mut Errors) -> TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(e) => {
            let error = syn::Error::new(e.span(), "Rasura handlers are `async fn` items");
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Errors::default();
    let generated = f(&function, &mut errors);
    if errors.is_empty() {
        quote!(#function #generated)
    } else {
        let compile_errors = errors.to_compile_errors();
        quote!(#function #compile_errors)
    }
}

/// What the signature checks found.
struct Signature<'a> {
    context: Option<&'a Type>,
    second: Option<&'a Type>,
    output: Option<&'a Type>,
}

/// Checks `async fn name(ctx: Ctx[, second: T]) -> Result<…>`. `second` says whether the second
/// parameter is required (events, crons) or optional (actions).
fn check_signature<'a>(
    f: &'a ItemFn,
    what: &str,
    second: (&str, bool),
    errors: &mut Errors,
) -> Signature<'a> {
    let sig = &f.sig;
    let expected_params = if second.1 {
        format!("(ctx: Ctx, {})", second.0)
    } else {
        format!("(ctx: Ctx) or (ctx: Ctx, {})", second.0)
    };
    if sig.asyncness.is_none() {
        errors.push(
            sig.fn_token.span,
            format!("{what} handlers must be `async fn`; add `async` before `fn`"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            sig.generics.span(),
            format!("{what} handlers cannot be generic"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic.span(), "variadic parameters are not supported");
    }
    let mut types = Vec::new();
    for (i, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => {
                errors.push(r.span(), format!("{what} handlers are free functions, not methods; expected {expected_params}"));
            }
            FnArg::Typed(pat) if i < 2 => types.push(&*pat.ty),
            FnArg::Typed(pat) => {
                errors.push(
                    pat.span(),
                    format!("unexpected parameter: {what} handlers take {expected_params}"),
                );
            }
        }
    }
    let min = if second.1 { 2 } else { 1 };
    if sig.inputs.len() < min {
        errors.push(
            sig.paren_token.span.join(),
            format!("missing parameters: {what} handlers take {expected_params}"),
        );
    }
    let output = match &sig.output {
        ReturnType::Default => {
            let expected = if what == "action" {
                "Result<Out, ActionError>"
            } else {
                "Result<(), EventError>"
            };
            errors.push(
                sig.ident.span(),
                format!("missing return type: {what} handlers return `{expected}`"),
            );
            None
        }
        ReturnType::Type(_, ty) => {
            if !looks_like_result(ty) {
                let expected = if what == "action" {
                    "Result<Out, ActionError>"
                } else {
                    "Result<(), EventError>"
                };
                errors.push(
                    ty.span(),
                    format!("bad return type: {what} handlers return `{expected}`"),
                );
            }
            Some(&**ty)
        }
    };
    Signature {
        context: types.first().copied(),
        second: types.get(1).copied(),
        output,
    }
}

/// `Result<…>`, `rasura::Result<…>` or an alias ending in `Result`: the exact type is checked
/// by a trait assertion after expansion.
fn looks_like_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().ends_with("Result")),
        Type::Paren(p) => looks_like_result(&p.elem),
        Type::Group(g) => looks_like_result(&g.elem),
        _ => false,
    }
}

fn doc_comment(f: &ItemFn) -> TokenStream {
    let lines: Vec<String> = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    if text.is_empty() {
        quote!(::core::option::Option::None)
    } else {
        quote!(::core::option::Option::Some(#text))
    }
}

/// A GraphQL name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_graphql_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Hasura's trigger-name rule: `[A-Za-z][A-Za-z0-9_-]*`, at most 42 characters.
pub fn trigger_name_problem(s: &str) -> Option<String> {
    let mut chars = s.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        Some(format!(
            "invalid trigger name `{s}`: expected a letter followed by letters, digits, `_` or `-`"
        ))
    } else if s.len() > 42 {
        Some(format!(
            "invalid trigger name `{s}`: Hasura allows at most 42 characters, this has {}",
            s.len()
        ))
    } else {
        None
    }
}

/// The handler's name: the option's value or the function's name.
fn handler_name(opt: Option<LitStr>, f: &ItemFn) -> (String, Span) {
    match opt {
        Some(lit) => (lit.value(), lit.span()),
        None => (f.sig.ident.to_string(), f.sig.ident.span()),
    }
}

/// The `name = "…"` of a cron or scheduled handler (default: the function's name), which must
/// fit in a route segment.
fn route_name(opts: &[Opt], f: &ItemFn, what: &str, errors: &mut Errors) -> String {
    let (name, name_span) = handler_name(
        find(opts, "name").and_then(|o| options::string(o, errors)),
        f,
    );
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.push(
            name_span,
            format!("invalid {what} name `{name}`: expected letters, digits, `_` or `-` (it is part of the route)"),
        );
    }
    name
}

fn find<'a>(opts: &'a [Opt], name: &str) -> Option<&'a Opt> {
    opts.iter().find(|o| o.name == name)
}

/// The parts every handler shares: span fn, location, static and registration.
fn registration(
    f: &ItemFn,
    name: &str,
    kind: &str,
    spec: TokenStream,
    guards: TokenStream,
    assertions: TokenStream,
) -> TokenStream {
    let vis = &f.vis;
    let function = &f.sig.ident;
    let function_name = function.to_string();
    let static_name = format_ident!("__rasura_handler_{}", function);
    let doc = doc_comment(f);
    let name_lit = LitStr::new(name, Span::call_site());
    let kind_lit = LitStr::new(kind, Span::call_site());
    let unique = unique_name_check(kind, name, function.span());
    quote! {
        #unique
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis static #static_name: ::rasura::__private::Handler = {
            fn span(fields: &::rasura::__private::SpanFields<'_>) -> ::rasura::__private::tracing::Span {
                ::rasura::__handler_span!(#name_lit, #kind_lit, fields)
            }
            ::rasura::__private::Handler {
                name: #name_lit,
                function: #function_name,
                doc: #doc,
                location: ::rasura::__private::SourceLocation {
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                },
                kind: #spec,
                span,
                guards: &[#guards],
            }
        };
        ::rasura::__private::inventory::submit! {
            ::rasura::__private::Registration(&#static_name)
        }
        const _: fn() = || { #assertions };
    }
}

/// The identifier that makes two handlers of one kind and name in one crate a build error:
/// `#[macro_export]` puts a macro at the crate root, where two of one name collide (E0428,
/// "the name `__rasura_unique_action_name_pong` is defined multiple times"), pointing at both.
/// Across crates nothing collides: `serve`, `routes` and `metadata export` refuse those.
pub fn unique_name_ident(kind: &str, name: &str) -> String {
    let mut ident = format!("__rasura_unique_{kind}_name_");
    // `_` doubles and anything else becomes `_x<hex>_`, so two names never give one identifier.
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            ident.push(c);
        } else if c == '_' {
            ident.push_str("__");
        } else {
            ident.push_str(&format!("_x{:x}_", c as u32));
        }
    }
    ident
}

fn unique_name_check(kind: &str, name: &str, span: Span) -> TokenStream {
    let ident = syn::Ident::new(&unique_name_ident(kind, name), span);
    quote! {
        #[doc(hidden)]
        #[allow(non_local_definitions)]
        #[macro_export]
        macro_rules! #ident { () => {} }
    }
}

/// A type as readable text (`Event<UserRow>`, not `Event < UserRow >`).
fn type_text(ty: &Type) -> String {
    let raw = quote!(#ty).to_string();
    raw.replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// The success type of `Result<T, E>` (or the whole type when it is not spelled that way).
/// The span of `T` in `Result<T, E>` (where a wrong output type is reported), else of the
/// whole type.
fn ok_type_span(ty: &Type) -> Span {
    if let Type::Path(p) = ty {
        if let Some(syn::PathArguments::AngleBracketed(args)) =
            p.path.segments.last().map(|s| &s.arguments)
        {
            if let Some(syn::GenericArgument::Type(ok)) = args.args.first() {
                return ok.span();
            }
        }
    }
    ty.span()
}

fn ok_type_text(ty: &Type) -> String {
    if let Type::Path(p) = ty {
        if let Some(syn::PathArguments::AngleBracketed(args)) =
            p.path.segments.last().map(|s| &s.arguments)
        {
            if let Some(syn::GenericArgument::Type(ok)) = args.args.first() {
                return type_text(ok);
            }
        }
    }
    type_text(ty)
}

fn assert_with(ty: &Type, check: &str) -> TokenStream {
    let check = format_ident!("{}", check);
    quote_spanned!(ty.span()=> ::rasura::__private::#check::<#ty>();)
}

fn timeout(opts: &[Opt], errors: &mut Errors) -> TokenStream {
    match find(opts, "timeout").and_then(|o| {
        let n = options::integer(o, errors)?;
        if n == 0 {
            errors.push(o.span, "`timeout` must be at least 1 second");
        }
        Some(n)
    }) {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}

fn expand_action(
    args: TokenStream,
    f: &ItemFn,
    manifest: Option<&Manifest>,
    errors: &mut Errors,
) -> TokenStream {
    let opts = options::parse(args, ACTION_OPTIONS, "#[action]", errors);
    let sig = check_signature(f, "action", ("input: In", false), errors);
    let (name, name_span) = handler_name(
        find(&opts, "name").and_then(|o| options::string(o, errors)),
        f,
    );
    if !is_graphql_name(&name) {
        errors.push(name_span, format!("invalid action name `{name}`: expected a GraphQL name (letters, digits, `_`, not starting with a digit)"));
    }
    for flag in ["query", "mutation", "asynchronous", "jwt"] {
        if let Some(o) = find(&opts, flag) {
            options::flag(o, errors);
        }
    }
    let query = find(&opts, "query");
    if let (Some(_), Some(m)) = (query, find(&opts, "mutation")) {
        errors.push(
            m.span,
            "an action is either `query` or `mutation`, not both",
        );
    }
    if let (Some(_), Some(a)) = (query, find(&opts, "asynchronous")) {
        errors.push(
            a.span,
            "only mutations can be `asynchronous` (Hasura runs query actions synchronously)",
        );
    }
    let roles: Vec<String> = find(&opts, "roles")
        .and_then(|o| options::string_list(o, errors))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let role = r.value();
            if role.is_empty() || role.chars().any(char::is_whitespace) {
                errors.push(r.span(), format!("invalid role `{role}`"));
                None
            } else {
                Some(role)
            }
        })
        .collect();
    let timeout = timeout(&opts, errors);
    let requirements = find(&opts, "require")
        .map(|o| requirement_paths(o, errors))
        .unwrap_or_default();
    let rate = find(&opts, "rate").and_then(|o| rate_option(o, errors));
    let rate_key = find(&opts, "rate_key").and_then(|o| rate_key_option(o, errors));
    if let Some(o) = find(&opts, "rate_key") {
        if find(&opts, "rate").is_none() {
            errors.push(
                o.span,
                "`rate_key` keys a rate limit: add `rate = \"…\"`, e.g. `rate = \"5/min\"`",
            );
        }
        if sig.second.is_none() {
            errors.push(
                o.span,
                "`rate_key` names a field of the action's input, but this action takes no input",
            );
        }
    }
    // Schema-first when actions.graphql defines the action (generated definitions win);
    // code-first otherwise, from the types' `#[derive(CustomType)]`.
    let definition = match manifest {
        Some(m) if m.action(&name).is_some() => {
            check_definition(m, &name, name_span, &opts, errors)
        }
        Some(m) if uses_generated_types(&sig) && m.closest(&name).is_some() => {
            check_definition(m, &name, name_span, &opts, errors)
        }
        _ => None,
    };
    if !errors.is_empty() {
        return TokenStream::new();
    }
    let function = &f.sig.ident;
    let action_type = if query.is_some() {
        quote!(Query)
    } else {
        quote!(Mutation)
    };
    let asynchronous = find(&opts, "asynchronous").is_some();
    let jwt = find(&opts, "jwt").is_some();
    let mut assertions = TokenStream::new();
    if let Some(ty) = sig.context {
        assertions.extend(assert_with(ty, "assert_context"));
    }
    if let Some(ty) = sig.output {
        assertions.extend(assert_with(ty, "assert_action_result"));
    }
    let limit = rate.map(|r| {
        let (count, period, burst) = (r.count, r.period_secs, r.burst);
        quote!(::rasura::rate::RateLimit::new(#count, ::core::time::Duration::from_secs(#period)).with_burst(#burst))
    });
    let mut guards = TokenStream::new();
    if !requirements.is_empty() {
        let entries = requirements.iter().map(|path| {
            let text = type_text_of_path(path);
            quote_spanned!(path.span()=> (::rasura::__private::requirement(#path), #text))
        });
        guards.extend(quote! {
            {
                fn require(ctx: &::rasura::Ctx) -> ::rasura::pipeline::GuardFuture<'_> {
                    static REQUIREMENTS: &[(::rasura::policy::Requirement, &str)] = &[#(#entries),*];
                    ::rasura::__private::require_guard(ctx, REQUIREMENTS)
                }
                require
            },
        });
    }
    if let (Some(limit), None) = (&limit, &rate_key) {
        guards.extend(quote! {
            {
                fn rate(ctx: &::rasura::Ctx) -> ::rasura::pipeline::GuardFuture<'_> {
                    static LIMIT: ::rasura::rate::RateLimit = #limit;
                    ::rasura::__private::rate_guard(ctx, &LIMIT)
                }
                rate
            },
        });
    }
    let (call, input_type) = match sig.second {
        Some(ty) if rate_key.is_some() => {
            assertions.extend(assert_with(ty, "assert_action_input"));
            let fields = rate_key
                .as_ref()
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            let key_span = rate_key.as_ref().map_or(Span::call_site(), |(_, s)| *s);
            let key = quote_spanned!(key_span=> |input: &#ty| ::std::string::ToString::to_string(&input.#(#fields).*));
            (
                quote! {{
                    static LIMIT: ::rasura::rate::RateLimit = #limit;
                    ::rasura::__private::call_action_keyed(ctx, input, #function, &LIMIT, #key)
                }},
                type_text(ty),
            )
        }
        Some(ty) => {
            assertions.extend(assert_with(ty, "assert_action_input"));
            (
                quote!(::rasura::__private::call_action(ctx, input, #function)),
                type_text(ty),
            )
        }
        None => (
            quote!(::rasura::__private::call_action_without_input(ctx, input, #function)),
            "()".to_owned(),
        ),
    };
    let output_type = sig.output.map(ok_type_text).unwrap_or_default();
    let definition_value = match &definition {
        Some((marker, checks)) => {
            if let Some(ty) = sig.second {
                let input_check = quote_spanned!(ty.span()=> input::<#ty>(););
                assertions.extend(quote! {
                    fn input<T: #checks::Input>() {}
                    #input_check
                });
            }
            if let Some(ty) = sig.output {
                let output_check = quote_spanned!(ty.span()=>
                    output::<<#ty as ::rasura::__private::ActionResult>::Output>();
                );
                assertions.extend(quote! {
                    fn output<T: #checks::Output>() {}
                    #output_check
                });
            }
            quote!(::rasura::__private::ActionSchema::Generated(::rasura::generated::ActionDefinition::of::<#marker>()))
        }
        None => {
            let query = query.is_some();
            // One generic call per type, spanned on it: a type that does not derive
            // `CustomType` is reported once, where it is written.
            let arguments = sig
                .second
                .map(|input| quote_spanned!(input.span()=> .arguments::<#input>()));
            let build = match sig.output {
                Some(ty) => {
                    let output = quote_spanned!(ok_type_span(ty)=>
                        .output::<<#ty as ::rasura::__private::ActionResult>::Output>()
                    );
                    quote!(::rasura::custom_types::DefinitionBuilder::new(#name, #query) #arguments #output)
                }
                // The signature check has already reported a missing output.
                None => quote!(::core::unreachable!()),
            };
            quote! {
                ::rasura::__private::ActionSchema::Derived({
                    fn derived() -> ::rasura::custom_types::DerivedDefinition {
                        #build
                    }
                    derived
                })
            }
        }
    };
    let rate_value = match &limit {
        Some(limit) => quote!(::core::option::Option::Some(#limit)),
        None => quote!(::core::option::Option::None),
    };
    let spec = quote! {
        ::rasura::__private::HandlerKind::Action(::rasura::__private::ActionSpec {
            action_type: ::rasura::__private::ActionType::#action_type,
            asynchronous: #asynchronous,
            roles: &[#(#roles),*],
            jwt: #jwt,
            timeout_secs: #timeout,
            rate: #rate_value,
            input_type: #input_type,
            output_type: #output_type,
            definition: #definition_value,
            call: {
                fn call(
                    ctx: ::rasura::Ctx,
                    input: &::rasura::__private::serde_json::value::RawValue,
                ) -> ::core::result::Result<
                    ::rasura::__private::BoxFuture<::core::result::Result<::rasura::__private::Bytes, ::rasura::ActionError>>,
                    ::rasura::__private::InputError,
                > {
                    #call
                }
                call
            },
        })
    };
    registration(f, &name, "action", spec, guards, assertions)
}

/// Whether the handler's input or output type is one rasura-codegen generated (a path through
/// the generated `hasura` module): with a name close to one of actions.graphql, the action is
/// then meant to be schema-first and the name is a typo to report with "did you mean"; with no
/// close name it is a code-first action reusing generated types.
fn uses_generated_types(sig: &Signature<'_>) -> bool {
    let generated = |ty: &Type| {
        let text = type_text(ty);
        text.match_indices("hasura::").any(|(i, _)| {
            text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    };
    sig.second.is_some_and(generated) || sig.output.is_some_and(generated)
}

/// `require = path` or `require = [path, …]`: functions `fn(&Caller<'_>) -> bool`.
fn requirement_paths(opt: &Opt, errors: &mut Errors) -> Vec<syn::Path> {
    let expected = "`require` takes a function or a list of functions `fn(&rasura::policy::Caller<'_>) -> bool`, e.g. `require = [is_manager]`";
    let syn::Meta::NameValue(nv) = &opt.meta else {
        errors.push(opt.span, expected);
        return Vec::new();
    };
    let items: Vec<&syn::Expr> = match &nv.value {
        syn::Expr::Array(array) => array.elems.iter().collect(),
        other => vec![other],
    };
    let mut paths = Vec::new();
    for item in items {
        match item {
            syn::Expr::Path(p) if p.qself.is_none() => paths.push(p.path.clone()),
            other => errors.push(other.span(), expected),
        }
    }
    if paths.is_empty() && errors.is_empty() {
        errors.push(nv.value.span(), expected);
    }
    paths
}

fn type_text_of_path(path: &syn::Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

/// `rate = "10/s, burst 20"`.
fn rate_option(opt: &Opt, errors: &mut Errors) -> Option<rate::Rate> {
    let lit = options::string(opt, errors)?;
    match rate::Rate::parse(&lit.value()) {
        Ok(rate) => Some(rate),
        Err(why) => {
            errors.push(
                lit.span(),
                format!("invalid rate \"{}\": {why}", lit.value()),
            );
            None
        }
    }
}

/// `rate_key = "username"` (or a dotted path into the input, `"credentials.email"`).
fn rate_key_option(opt: &Opt, errors: &mut Errors) -> Option<(Vec<syn::Ident>, Span)> {
    let lit = options::string(opt, errors)?;
    let value = lit.value();
    let fields: Option<Vec<syn::Ident>> = value
        .split('.')
        .map(|part| syn::parse_str::<syn::Ident>(part.trim()).ok())
        .map(|ident| ident.map(|i| syn::Ident::new(&i.to_string(), lit.span())))
        .collect();
    match fields {
        Some(fields) if !fields.is_empty() => Some((fields, lit.span())),
        _ => {
            errors.push(
                lit.span(),
                format!("invalid `rate_key` \"{value}\": expected a field of the input, e.g. \"username\" or \"credentials.email\""),
            );
            None
        }
    }
}

/// Checks the action against the manifest: its name exists and its kind matches. Returns the
/// paths of its marker and of its check traits.
fn check_definition(
    manifest: &Manifest,
    name: &str,
    name_span: Span,
    opts: &[Opt],
    errors: &mut Errors,
) -> Option<(TokenStream, TokenStream)> {
    let Some(action) = manifest.action(name) else {
        let names: Vec<&str> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
        let hint = match options::did_you_mean(name, &names) {
            Some(close) => format!("; did you mean `{close}`?"),
            None if names.is_empty() => "; actions.graphql defines none".to_owned(),
            None => String::new(),
        };
        errors.push(
            name_span,
            format!("no action `{name}` in actions.graphql (the codegen manifest){hint}"),
        );
        return None;
    };
    let query = find(opts, "query");
    let asynchronous = find(opts, "asynchronous");
    let option_span = |o: Option<&Opt>| o.map_or(name_span, |o| o.span);
    match action.kind {
        ManifestKind::Query if query.is_none() => errors.push(
            option_span(find(opts, "mutation")),
            format!("action `{name}` is a query in actions.graphql: add `query` to `#[action(…)]`"),
        ),
        ManifestKind::Mutation | ManifestKind::Asynchronous | ManifestKind::MutationUnknown
            if query.is_some() =>
        {
            errors.push(
                option_span(query),
                format!("action `{name}` is a mutation in actions.graphql: remove `query`"),
            );
        }
        ManifestKind::Asynchronous if asynchronous.is_none() => errors.push(
            name_span,
            format!("action `{name}` is asynchronous in actions.yaml: add `asynchronous` to `#[action(…)]`"),
        ),
        ManifestKind::Mutation if asynchronous.is_some() => errors.push(
            option_span(asynchronous),
            format!("action `{name}` is synchronous in actions.yaml: remove `asynchronous`"),
        ),
        _ => {}
    }
    let module: syn::Path = match syn::parse_str(&manifest.module) {
        Ok(p) => p,
        Err(_) => {
            errors.push(
                name_span,
                format!(
                    "action manifest: `{}` is not a module path",
                    manifest.module
                ),
            );
            return None;
        }
    };
    let marker = match action.marker.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, Span::call_site()),
        None => format_ident!("{}", action.marker),
    };
    Some((
        quote!(#module::actions::#marker),
        quote!(#module::actions::__check::#marker),
    ))
}

fn columns(lits: &[LitStr]) -> TokenStream {
    if lits.len() == 1 && lits[0].value() == "*" {
        quote!(::rasura::__private::Columns::All)
    } else {
        let names = lits.iter().map(LitStr::value);
        quote!(::rasura::__private::Columns::Only(&[#(#names),*]))
    }
}

fn operation(opts: &[Opt], op: &str, errors: &mut Errors) -> TokenStream {
    let Some(opt) = find(opts, op) else {
        return quote!(::core::option::Option::None);
    };
    let nested = options::nested(&opt.meta, EVENT_OP_OPTIONS, &format!("`{op}(…)`"), errors);
    let mut list = |name: &str| -> Option<Vec<LitStr>> {
        let o = find(&nested, name)?;
        let lits = options::string_list(o, errors)?;
        if lits.is_empty() {
            errors.push(
                o.span,
                format!("`{name}` cannot be empty (use \"*\" for every column)"),
            );
        }
        Some(lits)
    };
    let cols = list("columns");
    let payload = list("payload");
    if op != "update" {
        if let (Some(_), Some(o)) = (&cols, find(&nested, "columns")) {
            if cols
                .as_ref()
                .is_some_and(|c| !(c.len() == 1 && c[0].value() == "*"))
            {
                errors.push(
                    o.span,
                    format!("`{op}` always fires on every column: only `update` takes `columns`"),
                );
            }
        }
    }
    let cols = cols.map_or(quote!(::rasura::__private::Columns::All), |c| columns(&c));
    let payload = match payload {
        Some(p) => {
            let p = columns(&p);
            quote!(::core::option::Option::Some(#p))
        }
        None => quote!(::core::option::Option::None),
    };
    quote!(::core::option::Option::Some(::rasura::__private::OperationSpec { columns: #cols, payload: #payload }))
}

fn expand_event(args: TokenStream, f: &ItemFn, errors: &mut Errors) -> TokenStream {
    let attr_span = args.span();
    let opts = options::parse(args, EVENT_OPTIONS, "#[event]", errors);
    let sig = check_signature(f, "event", ("event: Event<Row>", true), errors);
    let (name, name_span) = handler_name(
        find(&opts, "trigger").and_then(|o| options::string(o, errors)),
        f,
    );
    if let Some(problem) = trigger_name_problem(&name) {
        errors.push(name_span, problem);
    }
    let mut table_span = attr_span;
    let (schema, table) = match find(&opts, "table") {
        None => {
            errors.push(
                attr_span,
                "missing `table = \"schema.table\"`: the table whose changes fire the trigger",
            );
            (String::new(), String::new())
        }
        Some(o) => match options::string(o, errors) {
            Some(lit) => {
                let value = lit.value();
                table_span = lit.span();
                let (schema, table) = value.split_once('.').unwrap_or(("public", value.as_str()));
                if schema.is_empty() || table.is_empty() || table.contains('.') {
                    errors.push(
                        lit.span(),
                        format!("invalid table `{value}`: expected `schema.table` or `table`"),
                    );
                }
                (schema.to_owned(), table.to_owned())
            }
            None => (String::new(), String::new()),
        },
    };
    let source = find(&opts, "source")
        .and_then(|o| options::string(o, errors))
        .map_or("default".to_owned(), |s| s.value());
    let insert = operation(&opts, "insert", errors);
    let update = operation(&opts, "update", errors);
    let delete = operation(&opts, "delete", errors);
    let manual = find(&opts, "manual").is_some();
    if let Some(o) = find(&opts, "manual") {
        options::flag(o, errors);
    }
    if !["insert", "update", "delete", "manual"]
        .iter()
        .any(|op| find(&opts, op).is_some())
    {
        errors.push(
            attr_span,
            "enable at least one of `insert`, `update(…)`, `delete` or `manual`",
        );
    }
    let retry = delivery::retry(find(&opts, "retry"), delivery::Keys::Event, errors);
    let (once, dead_letter) = delivery::flags(&opts, errors);
    let timeout = timeout(&opts, errors);
    let concurrency = match find(&opts, "concurrency").and_then(|o| {
        let n = options::integer_u32(o, errors)?;
        if n == 0 {
            errors.push(o.span, "`concurrency` must be at least 1");
        }
        Some(n)
    }) {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    if errors.is_empty() {
        // With codegen, the table, its columns and the row type are checked now rather than
        // when Hasura applies the metadata.
        match Manifest::from_env() {
            Ok(Some(manifest)) => event_table::check(
                &manifest,
                &event_table::TableRef {
                    source: &source,
                    schema: &schema,
                    table: &table,
                    span: table_span,
                },
                &opts,
                sig.second,
                errors,
            ),
            Ok(None) => {}
            Err(message) => errors.push(Span::call_site(), message),
        }
    }
    if let Some(o) = find(&opts, "rate") {
        errors.push(
            o.span,
            "events are never rate-limited (Hasura would only retry the delivery); bound concurrent runs with `concurrency = N` instead",
        );
    }
    if !errors.is_empty() {
        return TokenStream::new();
    }
    let function = &f.sig.ident;
    let mut assertions = TokenStream::new();
    if let Some(ty) = sig.context {
        assertions.extend(assert_with(ty, "assert_context"));
    }
    if let Some(ty) = sig.output {
        assertions.extend(assert_with(ty, "assert_delivery_result"));
    }
    let row_type = sig.second.map(|ty| {
        assertions.extend(assert_with(ty, "assert_event_param"));
        type_text(ty)
    });
    let (num_retries, interval_sec, timeout_sec) =
        (retry.num_retries, retry.interval, retry.timeout);
    let policy = delivery::policy_tokens(&retry, once, dead_letter);
    let spec = quote! {
        ::rasura::__private::HandlerKind::Event(::rasura::__private::EventSpec {
            source: #source,
            schema: #schema,
            table: #table,
            insert: #insert,
            update: #update,
            delete: #delete,
            manual: #manual,
            retry: ::rasura::__private::EventRetry { num_retries: #num_retries, interval_sec: #interval_sec, timeout_sec: #timeout_sec },
            timeout_secs: #timeout,
            row_type: #row_type,
            concurrency: #concurrency,
            policy: #policy,
            call: {
                fn call(
                    ctx: ::rasura::Ctx,
                    request: ::rasura::__private::EventRequest<::rasura::__private::RawBox>,
                ) -> ::core::result::Result<
                    ::rasura::__private::BoxFuture<::core::result::Result<(), ::rasura::EventError>>,
                    ::rasura::__private::InputError,
                > {
                    ::rasura::__private::call_event(ctx, request, #function)
                }
                call
            },
        })
    };
    registration(f, &name, "event", spec, TokenStream::new(), assertions)
}

fn expand_cron(args: TokenStream, f: &ItemFn, errors: &mut Errors) -> TokenStream {
    let attr_span = args.span();
    let opts = options::parse(args, CRON_OPTIONS, "#[cron]", errors);
    let sig = check_signature(f, "cron", ("tick: Cron<P>", true), errors);
    let name = route_name(&opts, f, "cron trigger", errors);
    let schedule = match find(&opts, "schedule") {
        None => {
            errors.push(
                attr_span,
                "missing `schedule = \"…\"`, e.g. `schedule = \"0 8 * * *\"` (five fields, UTC)",
            );
            String::new()
        }
        Some(o) => match options::string(o, errors) {
            Some(lit) => {
                let value = lit.value();
                if let Err(why) = schedule::Schedule::parse(&value) {
                    errors.push(
                        lit.span(),
                        format!("invalid cron schedule `{value}`: {why}"),
                    );
                }
                value
            }
            None => String::new(),
        },
    };
    let payload = match find(&opts, "payload").and_then(|o| options::string(o, errors)) {
        Some(lit) => match serde_json::from_str::<serde_json::Value>(&lit.value()) {
            Ok(v) => {
                let text = v.to_string();
                quote!(::core::option::Option::Some(#text))
            }
            Err(e) => {
                errors.push(lit.span(), format!("`payload` is not valid JSON: {e}"));
                quote!(::core::option::Option::None)
            }
        },
        None => quote!(::core::option::Option::None),
    };
    let comment = match find(&opts, "comment").and_then(|o| options::string(o, errors)) {
        Some(c) => quote!(::core::option::Option::Some(#c)),
        None => quote!(::core::option::Option::None),
    };
    let (retry, once, dead_letter) = delivery::scheduled_options(&opts, errors);
    let timeout = timeout(&opts, errors);
    if let Some(o) = find(&opts, "rate") {
        errors.push(
            o.span,
            "crons are never rate-limited (Hasura would only retry the delivery)",
        );
    }
    if !errors.is_empty() {
        return TokenStream::new();
    }
    let function = &f.sig.ident;
    let mut assertions = TokenStream::new();
    if let Some(ty) = sig.context {
        assertions.extend(assert_with(ty, "assert_context"));
    }
    if let Some(ty) = sig.output {
        assertions.extend(assert_with(ty, "assert_delivery_result"));
    }
    let payload_type = sig.second.map(|ty| {
        assertions.extend(assert_with(ty, "assert_cron_param"));
        type_text(ty)
    });
    let (num_retries, retry_interval_seconds, timeout_seconds, tolerance_seconds) = (
        retry.num_retries,
        retry.interval,
        retry.timeout,
        retry.tolerance,
    );
    let policy = delivery::policy_tokens(&retry, once, dead_letter);
    let spec = quote! {
        ::rasura::__private::HandlerKind::Cron(::rasura::__private::CronSpec {
            schedule: #schedule,
            payload: #payload,
            retry: ::rasura::__private::CronRetry {
                num_retries: #num_retries,
                retry_interval_seconds: #retry_interval_seconds,
                timeout_seconds: #timeout_seconds,
                tolerance_seconds: #tolerance_seconds,
            },
            comment: #comment,
            timeout_secs: #timeout,
            payload_type: #payload_type,
            policy: #policy,
            call: {
                fn call(
                    ctx: ::rasura::Ctx,
                    request: ::rasura::__private::CronRequest<::rasura::__private::RawBox>,
                ) -> ::core::result::Result<
                    ::rasura::__private::BoxFuture<::core::result::Result<(), ::rasura::EventError>>,
                    ::rasura::__private::InputError,
                > {
                    ::rasura::__private::call_cron(ctx, request, #function)
                }
                call
            },
        })
    };
    registration(f, &name, "cron", spec, TokenStream::new(), assertions)
}

fn expand_scheduled(args: TokenStream, f: &ItemFn, errors: &mut Errors) -> TokenStream {
    let opts = options::parse(args, SCHEDULED_OPTIONS, "#[scheduled]", errors);
    let sig = check_signature(f, "scheduled", ("event: Scheduled<P>", true), errors);
    let name = route_name(&opts, f, "scheduled-event handler", errors);
    let (retry, once, dead_letter) = delivery::scheduled_options(&opts, errors);
    let timeout = timeout(&opts, errors);
    if let Some(o) = find(&opts, "rate") {
        errors.push(
            o.span,
            "scheduled events are never rate-limited (Hasura would only retry the delivery)",
        );
    }
    if !errors.is_empty() {
        return TokenStream::new();
    }
    let function = &f.sig.ident;
    let vis = &f.vis;
    let mut assertions = TokenStream::new();
    if let Some(ty) = sig.context {
        assertions.extend(assert_with(ty, "assert_context"));
    }
    if let Some(ty) = sig.output {
        assertions.extend(assert_with(ty, "assert_delivery_result"));
    }
    let Some(param) = sig.second else {
        return TokenStream::new();
    };
    assertions.extend(assert_with(param, "assert_scheduled_param"));
    let payload_type = type_text(param);
    let (num_retries, retry_interval_seconds, timeout_seconds, tolerance_seconds) = (
        retry.num_retries,
        retry.interval,
        retry.timeout,
        retry.tolerance,
    );
    let retry_conf = quote! {
        ::rasura::__private::CronRetry {
            num_retries: #num_retries,
            retry_interval_seconds: #retry_interval_seconds,
            timeout_seconds: #timeout_seconds,
            tolerance_seconds: #tolerance_seconds,
        }
    };
    let policy = delivery::policy_tokens(&retry, once, dead_letter);
    let spec = quote! {
        ::rasura::__private::HandlerKind::Scheduled(::rasura::__private::ScheduledSpec {
            retry: #retry_conf,
            timeout_secs: #timeout,
            payload_type: #payload_type,
            policy: #policy,
            call: {
                fn call(
                    ctx: ::rasura::Ctx,
                    request: ::rasura::__private::ScheduledRequest<::rasura::__private::RawBox>,
                ) -> ::core::result::Result<
                    ::rasura::__private::BoxFuture<::core::result::Result<(), ::rasura::EventError>>,
                    ::rasura::__private::InputError,
                > {
                    ::rasura::__private::call_scheduled(ctx, request, #function)
                }
                call
            },
        })
    };
    let marker = format_ident!(
        "{}",
        marker_name(&function.to_string()),
        span = function.span()
    );
    let marker_doc = format!(
        "The `#[scheduled]` handler [`{function}`]: `ctx.scheduler().schedule::<{marker}>(at, &payload)`."
    );
    let payload = quote_spanned! {param.span()=>
        <#param as ::rasura::__private::ScheduledParam>::Payload
    };
    let mut out = registration(f, &name, "scheduled", spec, TokenStream::new(), assertions);
    out.extend(quote! {
        #[doc = #marker_doc]
        #[derive(Debug, Clone, Copy)]
        #vis struct #marker;
        impl ::rasura::__private::ScheduledHandler for #marker {
            const NAME: &'static str = #name;
            type Payload = #payload;
            const RETRY: ::rasura::__private::CronRetry = #retry_conf;
        }
    });
    out
}

/// `send_reminder` → `SendReminder`: the marker type of a `#[scheduled]` handler.
pub fn marker_name(function: &str) -> String {
    function
        .trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(tokens: TokenStream) -> Vec<String> {
        let text = tokens.to_string();
        text.split("compile_error !")
            .skip(1)
            .map(|s| s.to_owned())
            .collect()
    }

    #[test]
    fn valid_action_registers_and_keeps_the_item() {
        let out = action(
            quote!(query, roles = ["user"], jwt),
            quote!(
                async fn ping(ctx: Ctx) -> Result<Out, ActionError> {
                    todo()
                }
            ),
        )
        .to_string();
        assert!(out.contains("async fn ping"));
        assert!(out.contains("static __rasura_handler_ping"));
        assert!(out.contains("ActionType :: Query"));
        assert!(out.contains("call_action_without_input"));
        assert!(out.contains("jwt : true"));
        assert!(!out.contains("compile_error"));
    }

    #[test]
    fn three_mistakes_three_errors_and_the_item_survives() {
        let out = cron(
            quote!(schedule = "0 0 8 * * *", paylod = "{}"),
            quote!(
                fn tick(ctx: Ctx, t: Cron) -> Result<(), EventError> {
                    Ok(())
                }
            ),
        );
        let errors = errors_of(out.clone());
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(out.to_string().contains("fn tick"));
        assert!(!out.to_string().contains("__rasura_handler_tick"));
    }

    #[test]
    fn unique_name_identifiers_never_collide() {
        let a = unique_name_ident("event", "user-created");
        let b = unique_name_ident("event", "user_x2d_created");
        assert_ne!(a, b);
        assert!(
            syn::parse_str::<syn::Ident>(&a).is_ok() && syn::parse_str::<syn::Ident>(&b).is_ok()
        );
        assert_eq!(
            unique_name_ident("action", "ping"),
            "__rasura_unique_action_name_ping"
        );
    }

    #[test]
    fn trigger_names_follow_hasura() {
        assert!(trigger_name_problem("user_role-changed2").is_none());
        assert!(trigger_name_problem("2fast").is_some());
        assert!(trigger_name_problem("has space").is_some());
        assert!(
            trigger_name_problem(&"a".repeat(43))
                .unwrap()
                .contains("42")
        );
        assert!(trigger_name_problem(&"a".repeat(42)).is_none());
    }

    #[test]
    fn event_requires_a_table_and_an_operation() {
        let out = event(
            quote!(trigger = "t"),
            quote!(
                async fn on(ctx: Ctx, e: Event<Row>) -> Result<(), EventError> {
                    Ok(())
                }
            ),
        );
        let errors = errors_of(out);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn handler_ref_rewrites_the_last_segment() {
        assert_eq!(
            handler_ref(quote!(a::b::pong)).to_string(),
            "& a :: b :: __rasura_handler_pong"
        );
    }

    #[test]
    fn action_signature_errors() {
        let out = action(
            quote!(),
            quote!(
                async fn a(ctx: Ctx, i: In, extra: u8) -> String {
                    x
                }
            ),
        );
        let errors = errors_of(out);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("unexpected parameter"));
        assert!(errors[1].contains("bad return type"));
    }
}
