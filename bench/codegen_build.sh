#!/usr/bin/env bash
# The `cargo build` time a crate pays for generated code: rasura-codegen (build.rs, reachable
# mode) side by side with graphql_client (#[derive(GraphQLQuery)]), for the same five operations
# on the same schema (intuition-rs, 203 KB SDL), with the same derives (Debug, Clone, PartialEq,
# which rasura-codegen always emits). Dependencies are prebuilt; each run touches the
# operations and lib.rs and times `cargo build` (dev profile: what developers pay on every
# change); median of 3.
#
# bench/codegen_build.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/codegen-build
SCHEMA=$ROOT/../shared/fixtures/hasura-schemas/intuition-rs/schema.graphql
OPS=$ROOT/bench/codegen/intuition.graphql
export CARGO_TARGET_DIR=$OUT/target
rm -rf "$OUT/rasura_ops" "$OUT/graphql_client_ops"
mkdir -p "$OUT/rasura_ops/src" "$OUT/graphql_client_ops/src"

for crate in rasura_ops graphql_client_ops; do
  cp "$SCHEMA" "$OUT/$crate/schema.graphql"
  cp "$OPS" "$OUT/$crate/operations.graphql"
done

cat > "$OUT/rasura_ops/Cargo.toml" <<TOML
[package]
name = "rasura_ops"
version = "0.0.0"
edition = "2024"
[dependencies]
rasura-framework = { path = "$ROOT/runtime" }
[build-dependencies]
rasura-codegen = { path = "$ROOT/codegen" }
[workspace]
TOML
cat > "$OUT/rasura_ops/build.rs" <<'RS'
fn main() -> Result<(), rasura_codegen::Error> {
    rasura_codegen::Config::new()
        .schema("schema.graphql")
        .operations("operations.graphql")
        .generate()?;
    Ok(())
}
RS
cat > "$OUT/rasura_ops/src/lib.rs" <<'RS'
rasura::include_generated!();
pub use hasura::operations::*;
RS

cat > "$OUT/graphql_client_ops/Cargo.toml" <<TOML
[package]
name = "graphql_client_ops"
version = "0.0.0"
edition = "2024"
[dependencies]
graphql_client = "0.14"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
[workspace]
TOML
{
  echo '#![allow(non_camel_case_types)]'
  echo 'use graphql_client::GraphQLQuery;'
  echo '// graphql_client needs a Rust type in scope for every custom scalar it meets.'
  for s in numeric bigint bytea atom_type account_type jsonb timestamptz; do echo "pub type $s = serde_json::Value;"; done
  for op in GetAccount ListAtoms AtomsByCreator GetClaim AccountPositions; do
    cat <<RS
#[derive(GraphQLQuery)]
#[graphql(schema_path = "schema.graphql", query_path = "operations.graphql", response_derives = "Debug, Clone, PartialEq", variables_derives = "Debug, Clone, PartialEq")]
pub struct $op;
RS
  done
} > "$OUT/graphql_client_ops/src/lib.rs"

for crate in rasura_ops graphql_client_ops; do
  echo "prebuilding $crate's dependencies…"
  (cd "$OUT/$crate" && cargo build -q)
done

# One build: touch the inputs, time `cargo build` (non-incremental, so a change pays full price).
one_build() {
  local crate=$1 start end
  if [ "${2:-}" = lib-only ]; then
    touch "$OUT/$crate/src/lib.rs"
  else
    touch "$OUT/$crate/operations.graphql" "$OUT/$crate/src/lib.rs"
  fi
  start=$(date +%s.%N)
  (cd "$OUT/$crate" && CARGO_INCREMENTAL=0 cargo build -q 2>/dev/null)
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median3() {
  local crate=$1 times=()
  (cd "$OUT/$crate" && CARGO_INCREMENTAL=0 cargo build -q 2>/dev/null)
  for _ in 1 2 3; do times+=("$(one_build "$crate" "${2:-}")"); done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

# The same crates without the generated code: only lib.rs changes, so rasura's build script does
# not run and no derive expands; what remains is what merely depending on `rasura` or
# `graphql_client` costs.
baseline() {
  local crate=$1 saved
  saved=$(cat "$OUT/$crate/src/lib.rs")
  case $crate in
    rasura_ops) echo 'use rasura as _;' > "$OUT/$crate/src/lib.rs" ;;
    graphql_client_ops) printf 'use graphql_client as _;\nuse serde as _;\nuse serde_json as _;\n' > "$OUT/$crate/src/lib.rs" ;;
  esac
  local t
  t=$(median3 "$crate" lib-only)
  printf '%s\n' "$saved" > "$OUT/$crate/src/lib.rs"
  echo "$t"
}

report() {
  local label=$1
  local r g rb gb
  r=$(median3 rasura_ops); rb=$(baseline rasura_ops)
  g=$(median3 graphql_client_ops); gb=$(baseline graphql_client_ops)
  echo "== $label"
  printf '%-16s total %6.3f s   without the operations %6.3f s   paid for generated code %6.3f s\n' \
    rasura-codegen "$r" "$rb" "$(echo "$r - $rb" | bc)" graphql_client "$g" "$gb" "$(echo "$g - $gb" | bc)"
  echo "graphql_client / rasura-codegen: total $(echo "scale=2; $g / $r" | bc)x, generated code $(echo "scale=2; ($g - $gb) / ($r - $rb)" | bc)x"
}

report "dev profile (build scripts and proc macros unoptimised, Cargo's default)"
for crate in rasura_ops graphql_client_ops; do
  printf '\n[profile.dev.build-override]\nopt-level = 3\n' >> "$OUT/$crate/Cargo.toml"
  (cd "$OUT/$crate" && CARGO_INCREMENTAL=0 cargo build -q 2>/dev/null)
done
report "dev profile with [profile.dev.build-override] opt-level = 3 (both)"
