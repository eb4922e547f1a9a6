#!/usr/bin/env bash
# Builds and runs hutch's cargo-fuzz targets (documents, plan_arguments) for a bounded time each.
#
#   server/fuzz/run.sh [SECONDS]     default 30 s a target (what `.ci/dev test` runs); e.g. 3600 for a soak
#
# Installs what is missing first: the nightly toolchain (cargo-fuzz needs -Zsanitizer) and
# cargo-fuzz. Seeds: the bluesky document fixtures (as batches) and seeds/; the corpus
# grows in server/fuzz/corpus/ (not tracked). A crash leaves its input in server/fuzz/artifacts/ and fails.
# An allocation over 512 MiB counts as a crash: input must not make hutch allocate without bound.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-30}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build -O
mkdir -p corpus/documents corpus/plan_arguments
for f in ../tests/fixtures/bluesky-docs/*.jsonl; do
  { printf '['; paste -sd, "$f"; printf ']'; } > "corpus/documents/$(basename "$f" .jsonl).json"
done
cp seeds/plan_arguments/*.json corpus/plan_arguments/
for target in documents plan_arguments; do
  echo "fuzzing $target for ${SECONDS_EACH}s"
  log=$(mktemp /tmp/hutch-fuzz-$target-XXXXXX.log)
  if ! cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -malloc_limit_mb=512 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -80 "$log"
    echo "fuzz target $target failed (log $log); its input is in server/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$log"
  rm -f "$log"
done
echo "fuzz targets: no crash"
