#!/usr/bin/env bash
# scripts/test.sh - the whole test suite, as CI runs it.
#
# Installs missing Debian packages, then builds and runs every test twice:
# a normal build (gcc, build/) and an AddressSanitizer +
# UndefinedBehaviorSanitizer build (clang, build-asan/) that also holds the
# libFuzzer targets. Extra arguments go to ctest (e.g. -R sip, -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== normal build =="
scripts/build.sh build
ctest --test-dir build --output-on-failure -j"$jobs" "$@"

echo "== sanitizer build (ASan + UBSan, fuzz targets) =="
CC=clang scripts/build.sh build-asan -DSIMREG_SANITIZE=ON -DSIMREG_FUZZ=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" "$@"
echo "== all tests passed (normal and sanitizer builds) =="
