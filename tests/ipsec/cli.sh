#!/usr/bin/env bash
# `simreg ipsec`: the probe's report, listing and removal in a scratch
# network namespace, usage errors, the manual.
set -uo pipefail
passed=0 failures=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failures=$((failures + 1)); }

out=$("$SIMREG" ipsec probe); status=$?
echo "$out"
kernel=$(sed -n 's/^kernel ESP: //p' <<<"$out")
auto=$(sed -n 's/^auto: *//p' <<<"$out")
case $kernel in
accepted*) want=xfrm ;;
refused*) want=userspace ;;
*) want=? ;;
esac
[ $status -eq 0 ] && [ "$auto" = "$want" ] && grep -q "^reason: *$want: " <<<"$out" &&
	ok "probe: the kernel ${kernel%%:*}, so auto is $want, with a reason" ||
	bad "probe (status $status, kernel '$kernel', auto '$auto')"

# A namespace of our own: the host's SAs are never listed or touched.
out=$(unshare -n "$SIMREG" ipsec list 2>&1); status=$?
[ $status -eq 0 ] && [ "$out" = "0 sets" ] && ok "list in an empty namespace" || bad "list: $out"
out=$(unshare -n "$SIMREG" ipsec remove --all 2>&1); status=$?
[ $status -eq 0 ] && ok "remove --all with nothing to remove" || bad "remove --all: $out"
out=$(unshare -n "$SIMREG" ipsec remove 7 2>&1); status=$?
[ $status -eq 1 ] && grep -q "set 7: No such file or directory" <<<"$out" &&
	ok "removing an unknown set fails and says which" || bad "remove 7 ($status): $out"

for args in "" "frob" "remove" "remove 0" "remove x" "list --backend auto" "list --nope"; do
	"$SIMREG" ipsec $args >/dev/null 2>"$SIMREG_BUILD_DIR/ipsec-cli.err"; status=$?
	[ $status -eq 2 ] && grep -q "simreg ipsec:" "$SIMREG_BUILD_DIR/ipsec-cli.err" &&
		ok "usage error: ipsec $args" || bad "ipsec $args exited $status"
done
rm -f "$SIMREG_BUILD_DIR/ipsec-cli.err"
"$SIMREG" ipsec --help | grep -q '^SYNOPSIS' && ok "--help prints a manual" || bad "--help"
"$SIMREG" --help | grep -q '^ *ipsec ' && ok "listed in simreg --help" || bad "simreg --help"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
