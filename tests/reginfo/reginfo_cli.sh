#!/usr/bin/env bash
# `simreg reginfo` against stored documents, with xmllint (libxml2-utils)
# as an outside check that what `rebuild` prints is valid against the
# schema of RFC 3680 section 6.
set -euo pipefail
: "${SIMREG:?}" "${SIMREG_TESTDATA:?}"
d=$SIMREG_TESTDATA
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   $1"; }
bad() { fails=$((fails + 1)); echo "FAIL $1"; }

# xmllint resolves the schema's import of the XML namespace through a
# catalog pointing at the local schema; --nonet forbids anything else.
cat > "$work/catalog.xml" <<CAT
<?xml version="1.0"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <system systemId="http://www.w3.org/2001/03/xml.xsd" uri="file://$d/reginfo/xml.xsd"/>
</catalog>
CAT
xmllint_valid() {
  XML_CATALOG_FILES=$work/catalog.xml xmllint --nonet --noout \
    --schema "$d/reginfo/reginfo.xsd" "$1" >"$work/xmllint.log" 2>&1
}

for name in reginfo_full reginfo_partial_flow_expired; do
  in=$d/examples/$name.xml
  if "$SIMREG" reginfo parse "$in" >"$work/$name.txt" &&
     cmp -s "$work/$name.txt" "$d/reginfo/expected/$name.txt"; then
    ok "parse $name"
  else
    bad "parse $name"; diff "$d/reginfo/expected/$name.txt" "$work/$name.txt" || true
  fi
  if "$SIMREG" reginfo rebuild - <"$in" >"$work/$name.xml" &&
     cmp -s "$work/$name.xml" "$d/reginfo/expected/$name.rebuilt.xml"; then
    ok "rebuild $name (from stdin)"
  else
    bad "rebuild $name"
  fi
  if xmllint_valid "$work/$name.xml"; then ok "xmllint accepts rebuilt $name"
  else bad "xmllint refuses rebuilt $name"; cat "$work/xmllint.log"; fi
  if "$SIMREG" reginfo validate --schema "$d/reginfo/reginfo.xsd" \
       --xml-schema "$d/reginfo/xml.xsd" "$in" >/dev/null; then ok "validate $name"
  else bad "validate $name"; fi
done

# The outside check must be able to say no.
if xmllint_valid "$d/reginfo/hostile/bad_doc_state.xml"; then bad "xmllint accepts bad_doc_state"
else ok "xmllint refuses bad_doc_state"; fi

# Refusals: exit status 1 and the reason on standard error.
expect_refusal() { # name args... ; reason
  local name=$1 reason=$2; shift 2
  local rc=0
  "$SIMREG" reginfo "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$reason" "$work/err" && [ ! -s "$work/out" ]; then
    ok "$name refused: $reason"
  else
    bad "$name: exit $rc, stderr: $(cat "$work/err")"
  fi
}
expect_refusal billion_laughs "DOCTYPE not allowed" parse "$d/reginfo/hostile/billion_laughs.xml"
expect_refusal illegal_transition "event expired leads to terminated (RFC 3680 5.1.2)" \
  rebuild "$d/reginfo/hostile/illegal_transition.xml"
expect_refusal bad_doc_state "line 2:" validate --schema "$d/reginfo/reginfo.xsd" \
  --xml-schema "$d/reginfo/xml.xsd" "$d/reginfo/hostile/bad_doc_state.xml"
expect_refusal missing_file "No such file or directory" parse "$work/absent.xml"
head -c 300000 /dev/zero | tr '\0' ' ' >"$work/huge.xml"
expect_refusal huge "more than 262144" parse "$work/huge.xml"

# Usage errors: exit status 2.
rc=0; "$SIMREG" reginfo frobnicate 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && ok "unknown subcommand: exit 2" || bad "unknown subcommand: exit $rc"
rc=0; "$SIMREG" reginfo validate "$d/examples/reginfo_full.xml" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && ok "validate without schemas: exit 2" || bad "validate without schemas: exit $rc"
if "$SIMREG" reginfo --help | grep -q '^SYNOPSIS'; then ok "--help"; else bad "--help"; fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
