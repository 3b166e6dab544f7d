#!/usr/bin/env bash
# scripts/deps.sh - install the Debian 12 packages simreg needs to build,
# test and run its lab. Installs only what is missing; safe to run again.
#
#   scripts/deps.sh            build + test + lab packages
#   scripts/deps.sh --check    list what is missing, install nothing
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev libsqlite3-dev libxml2-dev libyaml-dev libmnl-dev
  libfreediameter-dev libcmocka-dev libjemalloc-dev
  # peers and oracles used by the tests and benchmarks
  sip-tester tshark libosmocore-utils libosmocore-dev libosip2-dev
  coturn  # turnutils_stunclient: STUN against the SIP UDP ports
  kamailio kamailio-ims-modules kamailio-presence-modules freediameter
  sqlite3 libxml2-utils python3
  # lab: namespaces, and the qemu VM that runs kernel ESP
  iproute2 qemu-system-x86 busybox-static kmod
  procps iputils-ping socat jq
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  printf '%s\n' "${missing[@]}"
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
