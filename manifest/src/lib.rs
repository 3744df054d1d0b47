//! The action manifest, owned here: `rasura-codegen` writes it in `build.rs` and names it in
//! `RASURA_ACTIONS_MANIFEST` (set for the crate with `cargo:rustc-env`); `#[action]` reads it,
//! so it knows every action of `actions.graphql`, suggests the closest name for a typo, checks
//! the kind, and asserts the handler's types against the generated definition. Without it (a
//! crate without codegen) handlers are not checked.
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

/// A manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where the generated module is (`crate::hasura`).
    pub module: String,
    /// The actions.
    pub actions: Vec<ManifestAction>,
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
        out
    }

    /// An action by name.
    pub fn action(&self, name: &str) -> Option<&ManifestAction> {
        self.actions.iter().find(|a| a.name == name)
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
