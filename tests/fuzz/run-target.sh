#!/usr/bin/env bash
# run-target.sh BINARY SECONDS REGRESSION_DIR CORPUS_DIR...
#
# Replays every stored regression input (crashes found earlier), then fuzzes
# for SECONDS from the seed corpus in a scratch copy, so the repository's
# corpus is never modified by a test run. A crash leaves its input in the
# scratch directory and is printed so it can be added to REGRESSION_DIR.
set -euo pipefail
bin=$1 secs=$2 regress=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
for d in "$@"; do
  [ -d "$d" ] && find "$d" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
done
if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
  echo "replaying $(ls "$regress" | wc -l) regression inputs"
  "$bin" -runs=0 "$regress"/*
fi
echo "fuzzing $(basename "$bin") for ${secs}s over $(ls "$work/corpus" | wc -l) seeds"
if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>"$work/log"; then
  tail -50 "$work/log"
  for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    echo "crash input (add it to $regress): $(basename "$f") base64:"
    base64 -w0 "$f"; echo
  done
  exit 1
fi
grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$work/log" || true
