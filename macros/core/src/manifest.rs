//! The action manifest `rasura-codegen` writes in `build.rs` and names in
//! `RASURA_ACTIONS_MANIFEST` (set for the crate with `cargo:rustc-env`). With it, `#[action]`
//! knows every action of `actions.graphql`, suggests the closest name for a typo, checks the
//! kind, and asserts the handler's types against the generated definition. Without it (a crate
//! without codegen) handlers are not checked.

/// The environment variable naming the manifest.
pub const MANIFEST_ENV: &str = "RASURA_ACTIONS_MANIFEST";

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

/// A parsed manifest.
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
                    let kind = match *kind {
                        "query" => ManifestKind::Query,
                        "mutation" => ManifestKind::Mutation,
                        "asynchronous" => ManifestKind::Asynchronous,
                        "mutation?" => ManifestKind::MutationUnknown,
                        other => return Err(format!("action manifest: unknown kind `{other}`")),
                    };
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

    /// An action by name.
    pub fn action(&self, name: &str) -> Option<&ManifestAction> {
        self.actions.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_codegen_writes() {
        let m = Manifest::parse("module crate::hasura\naction pong mutation Pong\naction ping query Ping\naction later asynchronous Later\naction x mutation? r#X\n").unwrap();
        assert_eq!(m.module, "crate::hasura");
        assert_eq!(m.action("ping").unwrap().kind, ManifestKind::Query);
        assert_eq!(m.action("later").unwrap().kind, ManifestKind::Asynchronous);
        assert_eq!(m.action("x").unwrap().marker, "r#X");
        assert!(Manifest::parse("action a b").is_err());
        assert!(Manifest::parse("action a weird A").is_err());
    }
}
