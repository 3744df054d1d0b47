//! The action manifest, owned here: `rasura-codegen` writes it in `build.rs` and names it in
//! `RASURA_ACTIONS_MANIFEST` (set for the crate with `cargo:rustc-env`); `#[action]` reads it,
//! so it knows every action of `actions.graphql`, suggests the closest name for a typo, checks
//! the kind, and asserts the handler's types against the generated definition. An action it does
//! not list (or any action of a crate without codegen) is code-first: its types must derive
//! `CustomType`.
//!
//! The format is one line per item:
//!
//! ```text
//! module crate::hasura
//! action pong mutation Pong
//! action ping query Ping
//! action later asynchronous Later
//! action undecided mutation? Undecided
//! ```
//!
//! `mutation?` is a mutation no `actions.yaml` said was synchronous or asynchronous.
//!
//! With a schema and a metadata directory, the manifest also lists the tracked tables (so
//! `#[event]` checks its table and columns) and the custom types of `actions.graphql` (so
//! `#[derive(CustomType)]` refuses a type that contradicts them):
//!
//! ```text
//! table default public user UserRow id,name,email
//! table default public note - id,body
//! type PongOutput object message:String!,number:Int!
//! type Mood enum HAPPY,SAD
//! ```
//!
//! A table's row type is `-` when none is generated, its columns `?` when they are not known
//! for sure (`graphql-default` naming, or no object type found); names are percent-encoded where
//! they hold whitespace, `,`, `:` or `%` (and a name that is just `-`).

use std::fmt::Write as _;

/// The environment variable naming the manifest.
pub const MANIFEST_ENV: &str = "RASURA_ACTIONS_MANIFEST";
/// The manifest's file name in `OUT_DIR`.
pub const MANIFEST_FILE: &str = "rasura_actions.manifest";

/// The kind of an action, as the manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// `type Query`.
    Query,
    /// `type Mutation`, synchronous per `actions.yaml`.
    Mutation,
    /// `type Mutation`, asynchronous per `actions.yaml`.
    Asynchronous,
    /// `type Mutation`, no `actions.yaml` to say which.
    MutationUnknown,
}

impl ManifestKind {
    /// The word written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestKind::Query => "query",
            ManifestKind::Mutation => "mutation",
            ManifestKind::Asynchronous => "asynchronous",
            ManifestKind::MutationUnknown => "mutation?",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [
            ManifestKind::Query,
            ManifestKind::Mutation,
            ManifestKind::Asynchronous,
            ManifestKind::MutationUnknown,
        ]
        .into_iter()
        .find(|k| k.as_str() == word)
    }
}

/// One action of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestAction {
    /// The action's name.
    pub name: String,
    /// Its kind.
    pub kind: ManifestKind,
    /// The marker type's identifier in `<module>::actions`.
    pub marker: String,
}

/// A tracked table of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestTable {
    /// The source (`default`).
    pub source: String,
    /// The Postgres schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The generated row struct (`UserRow`), if any.
    pub row: Option<String>,
    /// The Postgres column names (`None`: not known for sure, so not checked).
    pub columns: Option<Vec<String>>,
}

/// A custom type of `actions.graphql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestType {
    /// The GraphQL name.
    pub name: String,
    /// `object`, `input`, `enum` or `scalar`.
    pub kind: String,
    /// Fields as `(name, type)` (enum values with an empty type).
    pub fields: Vec<(String, String)>,
}

/// A manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where the generated module is (`crate::hasura`).
    pub module: String,
    /// The actions.
    pub actions: Vec<ManifestAction>,
    /// The tracked tables (empty: unknown, nothing is checked).
    pub tables: Vec<ManifestTable>,
    /// The custom types of `actions.graphql`.
    pub types: Vec<ManifestType>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    if s == "-" {
        // `-` alone means "none" in the manifest.
        return "%2D".into();
    }
    for c in s.chars() {
        if c == ',' || c == ':' || c == '%' || c.is_whitespace() {
            // Every byte of the character, so any whitespace `split_whitespace` knows survives.
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(value)) => {
                bytes.push(value);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn list(s: &str) -> Vec<String> {
    if s == "-" {
        Vec::new()
    } else {
        s.split(',').map(decode).collect()
    }
}

fn render_list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}

impl Manifest {
    /// Reads the manifest named by the environment, if any.
    pub fn from_env() -> Result<Option<Manifest>, String> {
        let Some(path) = std::env::var_os(MANIFEST_ENV) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read the action manifest {} ({MANIFEST_ENV}): {e}; rebuild so build.rs regenerates it",
                std::path::Path::new(&path).display()
            )
        })?;
        Manifest::parse(&text).map(Some)
    }

    /// Parses `module <path>` and `action <name> <kind> <Marker>` lines.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest {
            module: "crate::hasura".into(),
            actions: Vec::new(),
            tables: Vec::new(),
            types: Vec::new(),
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["module", path] => manifest.module = (*path).to_owned(),
                ["action", name, kind, marker] => {
                    let kind = ManifestKind::parse(kind)
                        .ok_or_else(|| format!("action manifest: unknown kind `{kind}`"))?;
                    manifest.actions.push(ManifestAction {
                        name: (*name).to_owned(),
                        kind,
                        marker: (*marker).to_owned(),
                    });
                }
                ["table", source, schema, table, row, columns] => {
                    manifest.tables.push(ManifestTable {
                        source: decode(source),
                        schema: decode(schema),
                        table: decode(table),
                        row: (*row != "-").then(|| (*row).to_owned()),
                        columns: (*columns != "?").then(|| list(columns)),
                    });
                }
                ["type", name, kind, fields] => {
                    manifest.types.push(ManifestType {
                        name: (*name).to_owned(),
                        kind: (*kind).to_owned(),
                        fields: list(fields)
                            .into_iter()
                            .map(|f| match f.split_once(':') {
                                Some((n, t)) => (n.to_owned(), t.to_owned()),
                                None => (f, String::new()),
                            })
                            .collect(),
                    });
                }
                _ => return Err(format!("action manifest: unexpected line `{line}`")),
            }
        }
        Ok(manifest)
    }

    /// The manifest as text, in the format [`Manifest::parse`] reads.
    pub fn render(&self) -> String {
        let mut out = format!("module {}\n", self.module);
        for a in &self.actions {
            let _ = writeln!(out, "action {} {} {}", a.name, a.kind.as_str(), a.marker);
        }
        for t in &self.tables {
            let _ = writeln!(
                out,
                "table {} {} {} {} {}",
                encode(&t.source),
                encode(&t.schema),
                encode(&t.table),
                t.row.as_deref().unwrap_or("-"),
                match &t.columns {
                    Some(columns) => render_list(columns.iter().map(|c| encode(c))),
                    None => "?".to_owned(),
                }
            );
        }
        for t in &self.types {
            let fields = t.fields.iter().map(|(n, ty)| {
                if ty.is_empty() {
                    encode(n)
                } else {
                    format!("{}:{ty}", encode(n))
                }
            });
            let _ = writeln!(out, "type {} {} {}", t.name, t.kind, render_list(fields));
        }
        out
    }

    /// An action by name.
    pub fn action(&self, name: &str) -> Option<&ManifestAction> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// A tracked table.
    pub fn table(&self, source: &str, schema: &str, table: &str) -> Option<&ManifestTable> {
        self.tables
            .iter()
            .find(|t| t.source == source && t.schema == schema && t.table == table)
    }

    /// A custom type of `actions.graphql`.
    pub fn custom_type(&self, name: &str) -> Option<&ManifestType> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The action name closest to a misspelt `name`, if one is close enough.
    pub fn closest(&self, name: &str) -> Option<&str> {
        did_you_mean(name, self.actions.iter().map(|a| a.name.as_str()))
    }
}

/// The candidate closest to `word` (Jaro-Winkler above 0.8), if any: the "did you mean" of
/// Rasura's diagnostics.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "module crate::hasura\naction pong mutation Pong\naction ping query Ping\naction later asynchronous Later\naction x mutation? r#X\n";

    #[test]
    fn parses_what_it_renders() {
        let m = Manifest::parse(TEXT).unwrap();
        assert_eq!(m.module, "crate::hasura");
        assert_eq!(m.action("ping").unwrap().kind, ManifestKind::Query);
        assert_eq!(m.action("later").unwrap().kind, ManifestKind::Asynchronous);
        assert_eq!(m.action("x").unwrap().kind, ManifestKind::MutationUnknown);
        assert_eq!(m.action("x").unwrap().marker, "r#X");
        assert_eq!(m.render(), TEXT);
        assert_eq!(Manifest::parse(&m.render()).unwrap(), m);
        assert!(Manifest::parse("action a b").is_err());
        assert!(Manifest::parse("action a weird A").is_err());
    }

    #[test]
    fn tables_and_types_round_trip_with_odd_names() {
        let text = "module crate::hasura\ntable default public user UserRow id,first%20name,a%2Cb,a%C2%A0b,%2D\ntable other app note - -\ntable other app odd - ?\ntype PongOutput object message:String!,tags:[String!]!\ntype Mood enum HAPPY,SAD\n";
        let m = Manifest::parse(text).unwrap();
        let user = m.table("default", "public", "user").unwrap();
        assert_eq!(user.row.as_deref(), Some("UserRow"));
        assert_eq!(
            user.columns.as_deref().unwrap(),
            ["id", "first name", "a,b", "a\u{a0}b", "-"]
        );
        assert!(
            m.table("other", "app", "note")
                .unwrap()
                .columns
                .as_ref()
                .unwrap()
                .is_empty()
        );
        assert!(m.table("other", "app", "odd").unwrap().columns.is_none());
        assert_eq!(
            m.custom_type("PongOutput").unwrap().fields[1],
            ("tags".to_owned(), "[String!]!".to_owned())
        );
        assert_eq!(m.custom_type("Mood").unwrap().fields[0].1, "");
        assert_eq!(m.render(), text);
    }

    #[test]
    fn suggests_close_names_only() {
        let m = Manifest::parse(TEXT).unwrap();
        assert_eq!(m.closest("ponk"), Some("pong"));
        assert_eq!(m.closest("upload"), None);
        assert_eq!(
            did_you_mean("rolse", ["name", "roles", "jwt"]),
            Some("roles")
        );
    }
}
