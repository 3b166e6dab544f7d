#!/usr/bin/env bash
# `simreg hss` and `simreg scscf` with no configuration file find each
# other: the S-CSCF (scscf.ims.test) dials the HSS on 127.0.0.1:3868, the
# HSS admits it, and our lib/aka UE (ue_client) registers on 127.0.0.1:6060.
# Only the data directories are given. The test runs in a network
# namespace of its own (unshare --net: it and its links go when the test
# ends), so the default ports are free whatever else runs on the machine.
set -euo pipefail
if [ -z "${SIMREG_DEFAULTS_NETNS:-}" ]; then
	exec unshare --net env SIMREG_DEFAULTS_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
# freeDiameter 1.2.1 refuses to start (EINVAL from fd_servers_start) on a
# host whose only addresses are loopback ones, even when told to listen on
# 127.0.0.1: one veth pair with a test address (RFC 2544) satisfies it.
ip link add hssfix0 type veth peer name hssfix1
ip addr add 198.18.77.1/32 dev hssfix0
ip link set hssfix0 up
ip link set hssfix1 up
. "$(dirname "$0")/lib.sh"

"$SIMREG" ctl --data "$work/hss" subscriber add --impi alice@ims.test --impu sip:alice@ims.test \
	--k "$K_HEX" --op "$OP_HEX" --amf "$AMF_HEX" >/dev/null

"$SIMREG" hss --data "$work/hss" >"$work/hss.log" 2>&1 &
hss_pid=$!
wait_log "$work/hss.log" ' ready: hss.ims.test (realm ims.test) on 127.0.0.1 port 3868' \
	"$hss_pid" hss || fail "the HSS did not start with its defaults"

"$SIMREG" scscf --data "$work/scscf" >"$work/scscf.log" 2>&1 &
scscf_pid=$!
# The S-CSCF says ready once the HSS connection is open, or after 10 s
# without it ("HSS NOT connected yet").
wait_log "$work/scscf.log" 'ready: ' "$scscf_pid" scscf || fail "the S-CSCF did not start"
grep -q 'ready: .*HSS hss.ims.test connected' "$work/scscf.log" ||
	fail "the S-CSCF's default HSS connection was not admitted"
grep -q 'peer scscf.ims.test connected' "$work/hss.log" || fail "the HSS does not list the S-CSCF"

"$UE_CLIENT" --scscf 127.0.0.1:6060 --port 5060 --impi alice@ims.test --impu sip:alice@ims.test \
	--k "$K_HEX" --op "$OP_HEX" register:good:600 >"$work/ue.out" 2>&1 || true
cat "$work/ue.out"
grep -q '^<- 200 OK' "$work/ue.out" || fail "alice did not register through the defaults"
[ "$("$SIMREG" ctl --data "$work/scscf" scscf bindings sip:alice@ims.test |
	json 'len(d["bindings"])')" = 1 ] ||
	fail "the S-CSCF holds no binding for alice"
# Not in lib.sh's stop_hss: the HSS must stop cleanly too.
stop_scscf
kill "$hss_pid"
rc=0
wait "$hss_pid" || rc=$?
hss_pid=
[ "$rc" = 0 ] || fail "hss exited with status $rc after SIGTERM"
grep -q '^impu: sip:alice@ims.test .*state=registered' \
	<("$SIMREG" ctl --data "$work/hss" subscriber show alice@ims.test) ||
	fail "the HSS does not show alice registered"
echo "defaults: the HSS and the S-CSCF connected with their defaults; alice registered"
