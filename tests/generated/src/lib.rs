//! The code `rasura-codegen` generates for each fixture schema, compiled. Each module is one
//! generation (`_all`: every named type); `TYPES_<name>` lists the GraphQL types it emitted.

macro_rules! fixture {
    ($($name:ident),* $(,)?) => {$(
        #[allow(missing_docs, non_camel_case_types, non_snake_case, dead_code, clippy::all)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".rs"));
            /// The GraphQL types this generation emitted, one per line.
            pub const EMITTED_TYPES: &str =
                include_str!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".types"));
        }
    )*};
}

fixture!(
    carnet_de_bord,
    carnet_de_bord_all,
    intuition,
    intuition_all,
    aerie,
    aerie_all,
    pysura,
    pysura_all,
    current_bench,
    current_bench_all,
    tiny_all,
);
