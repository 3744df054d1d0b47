#!/usr/bin/env bash
# Rasura's test command (README): formatting, clippy with warnings as errors, and every test
# (unit, integration, over-TCP, trybuild UI in macros/ui). Works on a fresh machine: it installs
# what the tests need. PostgreSQL and Redis are installed and started here (scripts/postgres.sh,
# scripts/redis.sh); the database and Redis tests fail, never skip, when they are unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cargo; then
  echo "error: cargo is required (the machine's Rust toolchain)" >&2
  exit 1
fi
# The over-TCP tests send SIGTERM with `kill` (procps).
if ! need kill; then
  apt-get update -qq && apt-get install -y -qq procps
fi
if [ ! -d ../shared/fixtures/hasura-schemas ]; then
  echo "error: ../shared/fixtures/hasura-schemas is missing (the shared fixtures sit beside the checkout)" >&2
  exit 1
fi

# PostgreSQL for the database tests (sets DATABASE_URL; stops the cluster on exit).
source scripts/postgres.sh
# Redis for the shared rate-limit tests (sets RASURA_TEST_REDIS_URL and
# RASURA_TEST_REDIS_SERVER; stops the server on exit).
source scripts/redis.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
