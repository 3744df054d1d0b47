//! Generates code for every fixture schema, in reachable mode (with its actions, event tables
//! and operations) and with `--all`, into `OUT_DIR/<name>.rs`; `src/lib.rs` includes each one as
//! a module, so `cargo build` proves it compiles with `rasura` as its only dependency.

use std::path::{Path, PathBuf};

use rasura_codegen::Config;

fn main() -> Result<(), rasura_codegen::Error> {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/hasura-schemas");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed={}", fixtures.display());
    println!("cargo:rerun-if-changed=graphql");
    let f = |p: &str| fixtures.join(p);
    let variants: Vec<(&str, Config)> = vec![
        (
            "carnet_de_bord",
            Config::new()
                .schema(f("carnet-de-bord/schema.graphql"))
                .metadata(f("carnet-de-bord/metadata")),
        ),
        (
            "carnet_de_bord_all",
            Config::new()
                .schema(f("carnet-de-bord/schema.graphql"))
                .metadata(f("carnet-de-bord/metadata"))
                .all(true),
        ),
        (
            "intuition",
            Config::new()
                .schema(f("intuition-rs/schema.graphql"))
                .metadata(f("intuition-rs/metadata")),
        ),
        (
            "intuition_all",
            Config::new()
                .schema(f("intuition-rs/schema.graphql"))
                .metadata(f("intuition-rs/metadata"))
                .all(true),
        ),
        (
            "aerie",
            Config::new().actions(f("aerie/metadata/actions.graphql")),
        ),
        (
            "aerie_all",
            Config::new()
                .actions(f("aerie/metadata/actions.graphql"))
                .all(true),
        ),
        (
            "pysura",
            Config::new()
                .schema(f("pysura/schema.graphql"))
                .operations(f("pysura/actions.graphql"))
                .operations(Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql"))
                .event_table("public.user"),
        ),
        (
            "pysura_all",
            Config::new().schema(f("pysura/schema.graphql")).all(true),
        ),
        (
            "current_bench",
            Config::new()
                .schema(f("current-bench/graphql_schema.json"))
                .actions(f("current-bench/metadata/actions.graphql")),
        ),
        (
            "current_bench_all",
            Config::new()
                .schema(f("current-bench/graphql_schema.json"))
                .all(true),
        ),
        (
            "tiny_all",
            Config::new()
                .schema(f("graphql-client-tiny/schema.graphql"))
                .all(true),
        ),
    ];
    for (name, config) in variants {
        let generated = config.generate_to_string()?;
        let file = out.join(format!("{name}.rs"));
        if std::fs::read_to_string(&file).ok() != Some(generated.code.clone()) {
            std::fs::write(&file, &generated.code).expect("write generated code");
        }
        let types = out.join(format!("{name}.types"));
        std::fs::write(types, generated.types.join("\n")).expect("write type list");
    }
    Ok(())
}
