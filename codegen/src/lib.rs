//! Build-time code generation from Hasura schemas for Rasura.
//!
//! This crate is a placeholder until the codegen work lands: it exposes only the version of the
//! generator, so the workspace layout (`macros/`, `runtime/`, `codegen/`) is stable from day one.
//! It deliberately generates nothing yet; handlers use hand-written serde types meanwhile.

/// The version of the generator (the crate's version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(super::VERSION, "0.1.0");
    }
}
