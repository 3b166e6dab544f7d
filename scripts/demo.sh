#!/usr/bin/env bash
# scripts/demo.sh - the demo on a fresh Debian 12 machine: installs the
# packages simreg needs (scripts/deps.sh), builds it, and runs
# `simreg lab demo` as root (network namespaces need it). Arguments go to
# the demo (`simreg lab demo --help`); its files go to /tmp/simreg-demo
# unless --dir says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
simreg=$PWD/build/src/simreg
if [ "$(id -u)" -eq 0 ]; then
	exec "$simreg" lab demo "$@"
fi
command -v sudo >/dev/null || { echo "demo: run me as root (or install sudo)" >&2; exit 1; }
exec sudo "$simreg" lab demo "$@"
