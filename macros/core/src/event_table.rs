//! `#[event]` against the codegen manifest's tracked tables: the table exists, the `columns` and
//! `payload` name its columns, and `Event<Row>` is its generated row (when `Row` is one of the
//! generated rows), each with "did you mean".

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{LitStr, Type};

use crate::manifest::Manifest;
use crate::options::{self, Errors, Opt};

/// Where the table was written, for the errors.
pub struct TableRef<'a> {
    /// The source (`default`).
    pub source: &'a str,
    /// The schema.
    pub schema: &'a str,
    /// The table.
    pub table: &'a str,
    /// The span of `table = "…"`'s value.
    pub span: Span,
}

/// Checks an event handler's table, columns and row type against `manifest`; does nothing
/// when the manifest lists no tables (no schema or metadata directory given to the codegen).
pub fn check(
    manifest: &Manifest,
    table: &TableRef<'_>,
    opts: &[Opt],
    row: Option<&Type>,
    errors: &mut Errors,
) {
    if manifest.tables.is_empty() {
        return;
    }
    let qualified = format!("{}.{}", table.schema, table.table);
    let Some(known) = manifest.table(table.source, table.schema, table.table) else {
        let names: Vec<String> = manifest
            .tables
            .iter()
            .filter(|t| t.source == table.source)
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        let hint = match options::did_you_mean(
            &qualified,
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        ) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => String::new(),
        };
        errors.push(
            table.span,
            format!(
                "no table `{qualified}` in source `{}` of the schema (the tables the metadata tracks){hint}",
                table.source
            ),
        );
        return;
    };
    let columns: Vec<&str> = known.columns.iter().flatten().map(String::as_str).collect();
    for op in ["insert", "update", "delete"] {
        if known.columns.is_none() {
            break;
        }
        let Some(opt) = opts.iter().find(|o| o.name == op) else {
            continue;
        };
        // Re-read quietly: the option's own mistakes were reported when it was parsed.
        let mut quiet = Errors::default();
        let nested = options::nested(&opt.meta, &["columns", "payload"], op, &mut quiet);
        for o in &nested {
            let Some(lits) = options::string_list(o, &mut quiet) else {
                continue;
            };
            for lit in lits.iter().filter(|l| l.value() != "*") {
                check_column(lit, &columns, &qualified, &o.name, errors);
            }
        }
    }
    if let Some(row) = row.and_then(row_type_name) {
        let (name, span) = row;
        let owner = manifest
            .tables
            .iter()
            .find(|t| t.row.as_deref() == Some(name.as_str()));
        if let Some(owner) = owner {
            if owner.source != known.source
                || owner.schema != known.schema
                || owner.table != known.table
            {
                let fix = match &known.row {
                    Some(right) => format!("use `Event<{right}>`"),
                    None => format!(
                        "no row type is generated for `{qualified}`: add `.event_table(\"{qualified}\")` to the codegen in build.rs, or declare an event trigger on it in the metadata"
                    ),
                };
                errors.push(
                    span,
                    format!(
                        "`{name}` is the row of `{}.{}`, but this trigger's table is `{qualified}`; {fix}",
                        owner.schema, owner.table
                    ),
                );
            }
        }
    }
}

fn check_column(lit: &LitStr, columns: &[&str], table: &str, option: &str, errors: &mut Errors) {
    let column = lit.value();
    if columns.contains(&column.as_str()) {
        return;
    }
    let hint = match options::did_you_mean(&column, columns) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!("; its columns: {}", columns.join(", ")),
    };
    errors.push(
        lit.span(),
        format!("`{option}`: no column `{column}` in `{table}`{hint}"),
    );
}

/// `Row` of `Event<Row>` (its last path segment), with its span.
fn row_type_name(ty: &Type) -> Option<(String, Span)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let Some(syn::GenericArgument::Type(Type::Path(row))) = args.args.first() else {
        return None;
    };
    let segment = row.path.segments.last()?;
    Some((segment.ident.to_string(), row.span()))
}
