//! GraphQL names to Rust identifiers: PascalCase types and variants, snake_case fields,
//! keywords escaped, and collisions (`uuid` and `UUID`, `userId` and `user_id`) resolved
//! deterministically. Wire names are always kept with `serde(rename)`.

use std::collections::{BTreeMap, HashSet};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Names that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Makes `name` a valid identifier: keywords become raw (`r#type`), the few words that cannot be
/// raw get a trailing `_`.
pub fn escape(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// Splits a GraphQL name into words at `_` and at case changes (`userBoolExp`, `HTTPServer`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_uppercase()
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || (chars[i - 1].is_uppercase()
                        && chars.get(i + 1).is_some_and(|n| n.is_lowercase())));
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// `user_bool_exp` → `UserBoolExp`, `ENUM_ROLE_enum` → `EnumRoleEnum`, `PongOutput` stays.
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    for w in words(name) {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    if out.is_empty() {
        out.push_str("Underscore");
    }
    escape(&out)
}

/// `userId` → `user_id`, `_eq` → `_eq`, `__typename` → `typename`.
pub fn snake(name: &str) -> String {
    let lead = if name.starts_with('_') && !name.starts_with("__") {
        "_"
    } else {
        ""
    };
    let body = words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    let out = if body.is_empty() {
        "underscore".to_owned()
    } else {
        format!("{lead}{body}")
    };
    escape(&out)
}

/// Picks unique identifiers for a set of GraphQL names: the preferred form (`convert`) when it is
/// unique, else the GraphQL name itself (escaped), else a numbered form. Deterministic: the
/// result depends only on the set of names.
pub fn unique(names: &[&str], convert: impl Fn(&str) -> String) -> BTreeMap<String, String> {
    let mut by_candidate: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for n in names {
        by_candidate.entry(convert(n)).or_default().push(n);
    }
    let mut taken: HashSet<String> = by_candidate
        .iter()
        .filter(|(_, v)| v.len() == 1)
        .map(|(k, _)| k.clone())
        .collect();
    let mut out = BTreeMap::new();
    for (candidate, mut originals) in by_candidate {
        if originals.len() == 1 {
            out.insert(originals[0].to_owned(), candidate);
            continue;
        }
        originals.sort_unstable();
        for original in originals {
            let mut ident = escape(original);
            let mut n = 2;
            while !taken.insert(ident.clone()) {
                ident = format!("{}{n}", escape(original).trim_start_matches("r#"));
                n += 1;
            }
            out.insert(original.to_owned(), ident);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("user_bool_exp"), "UserBoolExp");
        assert_eq!(pascal("ENUM_ROLE_enum"), "EnumRoleEnum");
        assert_eq!(pascal("PongOutput"), "PongOutput");
        assert_eq!(pascal("UsersInsertInput"), "UsersInsertInput");
        assert_eq!(pascal("uuid"), "Uuid");
        assert_eq!(pascal("UUID"), "Uuid");
        assert_eq!(pascal("asc_nulls_first"), "AscNullsFirst");
        assert_eq!(pascal("DESC_NULLS_LAST"), "DescNullsLast");
        assert_eq!(pascal("HTTPServer"), "HttpServer");
        assert_eq!(pascal("_text"), "Text");
        assert_eq!(pascal("self"), "Self_");
    }

    #[test]
    fn snake_case() {
        assert_eq!(snake("userId"), "user_id");
        assert_eq!(snake("user_id"), "user_id");
        assert_eq!(snake("_eq"), "_eq");
        assert_eq!(snake("__typename"), "typename");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("insertUsersOne"), "insert_users_one");
        assert_eq!(snake("pkColumns"), "pk_columns");
        assert_eq!(snake("planId2"), "plan_id2");
    }

    #[test]
    fn collisions_fall_back_to_the_graphql_name() {
        let names = unique(&["uuid", "UUID", "user"], pascal);
        assert_eq!(names["uuid"], "uuid");
        assert_eq!(names["UUID"], "UUID");
        assert_eq!(names["user"], "User");
        let fields = unique(&["userId", "user_id", "type"], snake);
        assert_eq!(fields["userId"], "userId");
        assert_eq!(fields["user_id"], "user_id");
        assert_eq!(fields["type"], "r#type");
    }
}
