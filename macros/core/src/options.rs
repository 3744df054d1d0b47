//! Attribute options (`name = "x"`, `query`, `roles = ["a"]`, `retry(num_retries = 3)`), with
//! every mistake collected rather than stopping at the first.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Collects errors so one expansion reports every mistake.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error at `span`.
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records a syn error.
    pub fn push_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// One `compile_error!` per error.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }

    /// The messages (for tests).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    rasura_manifest::did_you_mean(word, candidates.iter().copied())
}

/// One parsed option.
pub struct Opt {
    /// Its name.
    pub name: String,
    /// Where its name is.
    pub span: Span,
    /// The whole option.
    pub meta: Meta,
}

/// Parses `args` as comma-separated options, reporting unknown (with "did you mean") and
/// duplicate ones. `what` names the attribute in messages (`#[action]`).
pub fn parse(args: TokenStream, known: &[&str], what: &str, errors: &mut Errors) -> Vec<Opt> {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(m) => m,
        Err(e) => {
            errors.push_error(syn::Error::new(
                e.span(),
                format!("{e}; {what} takes options such as `name = \"…\"`, `flag` or `option(…)`"),
            ));
            return Vec::new();
        }
    };
    check(metas, known, what, errors)
}

/// Parses the nested options of `name(…)`.
pub fn nested(meta: &Meta, known: &[&str], what: &str, errors: &mut Errors) -> Vec<Opt> {
    match meta {
        Meta::List(list) => {
            match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
                Ok(metas) => check(metas, known, what, errors),
                Err(e) => {
                    errors.push_error(e);
                    Vec::new()
                }
            }
        }
        Meta::Path(_) => Vec::new(),
        Meta::NameValue(nv) => {
            errors.push(nv.eq_token.span, format!("expected `{what}(…)`"));
            Vec::new()
        }
    }
}

fn check(
    metas: Punctuated<Meta, Token![,]>,
    known: &[&str],
    what: &str,
    errors: &mut Errors,
) -> Vec<Opt> {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for meta in metas {
        let path = meta.path();
        let name = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_else(|| {
                path.segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::")
            });
        let span = path.span();
        if !known.contains(&name.as_str()) {
            let hint = match did_you_mean(&name, known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", known.join(", ")),
            };
            errors.push(span, format!("unknown option `{name}` for {what}; {hint}"));
            continue;
        }
        if seen.contains_key(&name) {
            errors.push(span, format!("duplicate option `{name}` for {what}"));
            continue;
        }
        seen.insert(name.clone(), span);
        out.push(Opt { name, span, meta });
    }
    out
}

fn value(opt: &Opt, errors: &mut Errors, example: &str) -> Option<Expr> {
    match &opt.meta {
        Meta::NameValue(nv) => Some(nv.value.clone()),
        _ => {
            errors.push(
                opt.span,
                format!("`{}` needs a value, e.g. `{example}`", opt.name),
            );
            None
        }
    }
}

/// `name = "text"`.
pub fn string(opt: &Opt, errors: &mut Errors) -> Option<LitStr> {
    let expr = value(opt, errors, &format!("{} = \"…\"", opt.name))?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        other => {
            errors.push(
                other.span(),
                format!("expected a string literal for `{}`", opt.name),
            );
            None
        }
    }
}

/// `name = 10`.
pub fn integer(opt: &Opt, errors: &mut Errors) -> Option<u64> {
    let expr = value(opt, errors, &format!("{} = 10", opt.name))?;
    match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<u64>() {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(i.span(), e);
                None
            }
        },
        other => {
            errors.push(
                other.span(),
                format!("expected an integer for `{}`", opt.name),
            );
            None
        }
    }
}

/// `name = 10` that must fit in `u32`.
pub fn integer_u32(opt: &Opt, errors: &mut Errors) -> Option<u32> {
    let n = integer(opt, errors)?;
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(opt.span, format!("`{}` is too large", opt.name));
            None
        }
    }
}

/// A bare flag: `query`.
pub fn flag(opt: &Opt, errors: &mut Errors) {
    if !matches!(opt.meta, Meta::Path(_)) {
        errors.push(
            opt.meta.span(),
            format!("`{}` is a flag and takes no value", opt.name),
        );
    }
}

/// `name = ["a", "b"]` or `name = "a"`.
pub fn string_list(opt: &Opt, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let expr = value(opt, errors, &format!("{} = [\"…\"]", opt.name))?;
    string_list_expr(&expr, &opt.name, errors)
}

/// A string or an array of strings.
pub fn string_list_expr(expr: &Expr, name: &str, errors: &mut Errors) -> Option<Vec<LitStr>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(vec![s.clone()]),
        Expr::Array(array) => {
            let mut out = Vec::new();
            for elem in &array.elems {
                match elem {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => out.push(s.clone()),
                    other => errors.push(
                        other.span(),
                        format!("expected a string literal in `{name}`"),
                    ),
                }
            }
            Some(out)
        }
        other => {
            errors.push(other.span(), format!("expected `[\"…\", …]` for `{name}`"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn did_you_mean_finds_typos_only() {
        assert_eq!(
            did_you_mean("rolse", &["name", "roles", "jwt"]),
            Some("roles")
        );
        assert_eq!(did_you_mean("qurey", &["query", "mutation"]), Some("query"));
        assert_eq!(did_you_mean("zzz", &["query", "mutation"]), None);
    }

    #[test]
    fn unknown_and_duplicate_options_are_all_reported() {
        let mut errors = Errors::default();
        let opts = parse(
            quote!(query, rolse = ["a"], query, jwt),
            &["query", "roles", "jwt"],
            "#[action]",
            &mut errors,
        );
        assert_eq!(opts.len(), 2);
        let messages = errors.messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("did you mean `roles`"));
        assert!(messages[1].contains("duplicate option `query`"));
    }
}
