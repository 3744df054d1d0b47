#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each (default 60), with cargo-fuzz and
# libFuzzer on the nightly toolchain, starting from the committed seeds (fuzz/seeds/<target>;
# the growing corpus in fuzz/corpus/ is not committed). Installs nightly and cargo-fuzz when
# missing. Prints a table: target, seconds, executions, coverage, corpus size, crashes. A crash
# is saved under fuzz/artifacts/<target>/; once fixed, copy it to fuzz/regressions/<target>/,
# where tests/tests/fuzz_regressions.rs replays it in the normal suite.
#   scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
all=(action_envelope event_envelope cron_envelope jwt_decode jwt_config schema_sdl
     schema_introspection operations metadata_yaml metadata_sdl)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# No sanitizer: the code under test is safe Rust (AddressSanitizer finds memory errors, which
# safe code cannot make) and runs about twice as fast without it; debug assertions (overflow
# checks) stay on.
flags=(--sanitizer none --fuzz-dir fuzz)
echo "== building the fuzz targets"
cargo +nightly fuzz build "${flags[@]}"

mkdir -p fuzz/out
printf '%-22s %8s %12s %8s %8s %8s\n' target seconds execs cov corpus crashes
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  cp -n "fuzz/seeds/$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
  before=$(ls "fuzz/artifacts/$target" | wc -l)
  set +e
  cargo +nightly fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 >"fuzz/out/$target.log" 2>&1
  set -e
  after=$(ls "fuzz/artifacts/$target" | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/out/$target.log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "fuzz/out/$target.log" | tail -1 | grep -o '[0-9]*')
  corpus=$(ls "fuzz/corpus/$target" | wc -l)
  printf '%-22s %8s %12s %8s %8s %8s\n' "$target" "$seconds" "${execs:-?}" "${cov:-?}" "$corpus" "$((after - before))"
done
echo "logs: fuzz/out/<target>.log; crashes: fuzz/artifacts/<target>/"
