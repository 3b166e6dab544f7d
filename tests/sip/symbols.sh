#!/usr/bin/env bash
# symbols.sh LIBRARY - every symbol lib/sip exports carries the sip_ prefix.
#
# A static library's non-static functions and objects are global to the
# program that links it: a generic name (htab_insert, slots_get, txn_new)
# would collide with the same name in another library or in the component
# itself, and the linker would pick one silently or fail. Names the
# compiler or a sanitizer makes (starting with "__" or ".") are not ours.
set -euo pipefail
lib=${1:?usage: symbols.sh LIBRARY}
[ -f "$lib" ] || { echo "symbols: $lib not found" >&2; exit 1; }

# Defined symbols with external linkage: text, data, bss, read-only, weak.
nm --defined-only --extern-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRVWC]$/ { print $3 }' |
	sort -u >"${TMPDIR:-/tmp}/symbols.$$"
trap 'rm -f "${TMPDIR:-/tmp}/symbols.$$"' EXIT
total=$(wc -l <"${TMPDIR:-/tmp}/symbols.$$")
bad=$(grep -v -e '^sip_' -e '^__' -e '^\.' "${TMPDIR:-/tmp}/symbols.$$" || true)
[ "$total" -gt 50 ] || { echo "symbols: only $total symbols in $lib: wrong file?" >&2; exit 1; }
if [ -n "$bad" ]; then
	echo "symbols: exported from $(basename "$lib") without the sip_ prefix:" >&2
	echo "$bad" | sed 's/^/  /' >&2
	exit 1
fi
echo "symbols: all $total exported symbols of $(basename "$lib") start with sip_"
