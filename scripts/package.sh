#!/usr/bin/env bash
# Packages the published crates together, as `cargo publish` would: Cargo resolves the siblings
# through a temporary local registry and builds each package from its .crate file (the
# verification). `--no-verify` (passed through) only checks the manifests and file lists.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo package "$@" \
  -p rasura-manifest -p rasura-macros-core -p rasura-macros \
  -p rasura-framework -p rasura-codegen -p rasura-cli
