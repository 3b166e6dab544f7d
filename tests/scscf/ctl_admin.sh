#!/usr/bin/env bash
# Network-initiated re-authentication and deregistration requested with
# `simreg ctl scscf`, over the wire: two accesses of alice (her IMPI and
# the derived alice+2) register with the lib/aka UE; one is asked to
# re-authenticate (expiry shortened, "shortened" in its reginfo, the other
# access untouched), one is put on probation, then the rest is rejected;
# the HSS hears of it (not registered). Bad requests are refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_user alice sip:alice@ims.test tel:+15551230001
write_config none
start_hss
start_scscf
p1=$(free_port)
p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
xsd=(--schema "$SIMREG_TESTDATA/reginfo/reginfo.xsd" --xml-schema "$SIMREG_TESTDATA/reginfo/xml.xsd")

expect() { # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
scscf() { "$SIMREG" ctl --data "$work/data" scscf "$@"; }

"$UE_CLIENT" --scscf "127.0.0.1:$sip_port" --port "$p1" --impi alice@ims.test \
	--impu sip:alice@ims.test --k "$K_HEX" --op "$OP_HEX" register:good:600 >"$work/ue1.out" ||
	fail "alice did not register"
"$UE_CLIENT" --scscf "127.0.0.1:$sip_port" --port "$p2" --impi alice+2@ims.test \
	--impu sip:alice@ims.test --k "$K_HEX" --op "$OP_HEX" register:good:600 >"$work/ue2.out" ||
	fail "alice+2 did not register"
b=$(scscf bindings sip:alice@ims.test)
expect "two bindings" "$(echo "$b" | json "len(d['bindings'])")" 2
id1=$(echo "$b" | json "[x['id'] for x in d['bindings'] if x['impi'] == 'alice@ims.test'][0]")
id2=$(echo "$b" | json "[x['id'] for x in d['bindings'] if x['impi'] == 'alice+2@ims.test'][0]")
expect "status says the HSS is connected" "$(scscf status | json "d['hss']")" connected

scscf reauth sip:alice@ims.test "binding=$id1" >"$work/reauth.out" || fail "reauth refused"
expect "reauth: one binding" "$(json "d['bindings']" <"$work/reauth.out")" 1
b=$(scscf bindings sip:alice@ims.test)
expect "reauth: the binding is shortened and marked" \
	"$(echo "$b" | json "[(x['event'], x['expires'] <= 60, x['reauth']) for x in d['bindings'] if x['id'] == $id1]")" \
	"[('shortened', True, True)]"
expect "reauth: the other access is untouched" \
	"$(echo "$b" | json "[(x['event'], x['expires'] > 500, x['reauth']) for x in d['bindings'] if x['id'] == $id2]")" \
	"[('registered', True, False)]"
scscf reginfo tel:+15551230001 | json "d['reginfo']" >"$work/reginfo.xml"
"$SIMREG" reginfo validate "${xsd[@]}" "$work/reginfo.xml" >/dev/null || fail "reginfo invalid"
grep -q 'event="shortened"' "$work/reginfo.xml" || fail "no shortened contact in the reginfo"
echo "ok: reginfo of the implicitly registered tel URI: valid, with the shortened contact"

scscf dereg sip:alice@ims.test "binding=$id2" event=probation retry=30 >/dev/null ||
	fail "dereg of one binding refused"
expect "probation: one binding left" \
	"$(scscf bindings sip:alice@ims.test | json "[x['id'] for x in d['bindings']]")" "[$id1]"
scscf dereg sip:alice@ims.test event=rejected >/dev/null || fail "dereg refused"
expect "rejected: nothing left" "$(scscf bindings | json "len(d['bindings'])")" 0
expect "the HSS has alice not registered" \
	"$("$SIMREG" ctl --data "$work/data" subscriber show alice@ims.test |
		sed -n 's/^impu: sip:alice@ims.test .*state=//p')" not-registered

rc=0; out=$(scscf dereg sip:alice@ims.test) || rc=$?
expect "dereg of nothing: exit 1" "$rc $(echo "$out" | json "d['error']")" "1 no such registration"
rc=0; scscf dereg sip:alice@ims.test event=expired >/dev/null || rc=$?
expect "an event the network cannot cause: exit 1" "$rc" 1
rc=0; scscf frobnicate >/dev/null || rc=$?
expect "an unknown request: exit 1" "$rc" 1
stop_scscf
echo "ctl_admin: ok"
