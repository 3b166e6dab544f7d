#!/usr/bin/env bash
# hss.test.rand_file, the HSS's RAND seam for tests (docs/hss.md, "Test
# RANDs"): the file's RANDs go out in order, one per vector, then random
# ones again; the HSS warns loudly while it is on; a bad file stops the
# start with an error naming the line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
port=$(free_port)
fails=0 checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }

R1=000102030405060708090a0b0c0d0e0f
R2=F0E1D2C3B4A5968778695A4B3C2D1E0F
r2=$(tr 'A-F' 'a-f' <<<"$R2")
cat >"$work/rands" <<EOF
# two RANDs, the second in capitals
$R1

  $R2
EOF

config() { # RAND_FILE
	cat <<YAML
log:
  level: info
hss:
  test:
    rand_file: $1
  diameter:
    listen: 127.0.0.1:$port
    peers: [ "scscf.ims.test realm=ims.test" ]
YAML
}
config "$work/rands" >"$work/hss.yaml"

K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
"$SIMREG" ctl --data "$work/data" subscriber add --impi alice@ims.test \
	--impu sip:alice@ims.test --k $K --opc $OPC >/dev/null

mkdir -p "$work/client"
start_hss "$work/hss.yaml" "$work/data" "$work/hss.log"
grep -q "hss warn: TEST RANDs ACTIVE: hss.test.rand_file=$work/rands gives the next 2 RANDs" \
	"$work/hss.log" && ok "the HSS warns that test RANDs are active" ||
	bad "no warning in the log"

"$CX_CLIENT" --run-dir "$work/client" --address "127.0.0.1:$port" --timeout 5000 --show-rand \
	>"$work/out" 2>"$work/client.err" <<EOF
keys impi=alice@ims.test k=$K opc=$OPC
mar impi=alice@ims.test impu=sip:alice@ims.test n=3
mar impi=alice@ims.test impu=sip:alice@ims.test n=1
EOF
cat "$work/out"
rand_of() { sed -n "$1p" "$work/out" | grep -o 'rand=[0-9a-f]*' | cut -d= -f2; }
items=$(grep -c 'item .* usim=ok res=match ck=match ik=match' "$work/out" || true)
[ "$items" = 4 ] && ok "four vectors, each accepted by the USIM" || bad "$items good vectors, want 4"
mapfile -t rands < <(grep -o 'rand=[0-9a-f]*' "$work/out" | cut -d= -f2)
[ "${rands[0]:-}" = "$R1" ] && ok "vector 1 has the file's first RAND" || bad "vector 1: ${rands[0]:-}"
[ "${rands[1]:-}" = "$r2" ] && ok "vector 2 has the file's second RAND" || bad "vector 2: ${rands[1]:-}"
if [ -n "${rands[2]:-}" ] && [ -n "${rands[3]:-}" ] && [ "${rands[2]}" != "$R1" ] &&
	[ "${rands[2]}" != "$r2" ] && [ "${rands[3]}" != "${rands[2]}" ]; then
	ok "then random RANDs again"
else
	bad "vectors 3 and 4: ${rands[2]:-} ${rands[3]:-}"
fi
grep -q "hss warn: the 2 test RANDs of $work/rands are used up" "$work/hss.log" &&
	ok "the HSS says when the file is used up" || bad "no used-up warning"
stop_hss "$work/hss.log" && ok "clean stop" || bad "unclean stop"

# Without the key: no warning, and the RANDs are not the file's.
config '""' >"$work/plain.yaml"
start_hss "$work/plain.yaml" "$work/data" "$work/plain.log"
"$CX_CLIENT" --run-dir "$work/client" --address "127.0.0.1:$port" --timeout 5000 --show-rand \
	>"$work/plain.out" 2>>"$work/client.err" <<EOF
mar impi=alice@ims.test impu=sip:alice@ims.test n=1
EOF
stop_hss "$work/plain.log" || bad "unclean stop"
if ! grep -q 'TEST RANDs' "$work/plain.log" && grep -q 'rand=' "$work/plain.out" &&
	! grep -q "rand=$R1" "$work/plain.out"; then
	ok "off by default"
else
	bad "without the key: $(cat "$work/plain.out")"
fi

# Bad files: the HSS does not start (exit 1) and says why; the store is untouched.
sqn_before=$("$SIMREG" ctl --data "$work/data" subscriber show alice@ims.test | grep '^sqn:')
refused() { # NAME EXPECTED-LOG-TEXT
	local rc=0
	config "$work/$1" >"$work/$1.yaml"
	"$SIMREG" hss --config "$work/$1.yaml" --data "$work/data" >"$work/$1.log" 2>&1 || rc=$?
	if [ "$rc" = 1 ] && grep -qF -- "$2" "$work/$1.log"; then
		ok "$1: refused with '$2'"
	else
		bad "$1: status $rc, log: $(cat "$work/$1.log")"
	fi
}
printf '%s\n# fine so far\n0001020304\n' "$R1" >"$work/short"
refused short "$work/short:3: not a RAND (32 hex digits)"
printf '%s\nzz0102030405060708090a0b0c0d0e0f\n' "$R1" >"$work/nothex"
refused nothex "$work/nothex:2: not a RAND (32 hex digits)"
printf '# nothing\n\n' >"$work/empty"
refused empty "$work/empty holds no RAND"
refused missing "hss.test.rand_file: $work/missing: No such file or directory"
sqn_after=$("$SIMREG" ctl --data "$work/data" subscriber show alice@ims.test | grep '^sqn:')
[ "$sqn_before" = "$sqn_after" ] && ok "refused starts changed nothing" ||
	bad "sqn moved: $sqn_before -> $sqn_after"

echo "test_rands: $checks checks, $fails failed"
[ "$fails" = 0 ]
