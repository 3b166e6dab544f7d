#!/usr/bin/env bash
# A registered binding whose UE does not answer: the caller gets 480
# Temporarily Unavailable (TS 24.229 5.4.3.3 leaves the answer to the
# S-CSCF; RFC 3261 21.4.18), for a MESSAGE (a non-INVITE, which without
# it would get nothing: RFC 4320 forbids 408) and for an INVITE (which
# would get 408). The UE is a UDP socket that reads and never answers;
# T1 is 50 ms so that Timers F and B end the branches in 3.2 s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_user alice sip:alice@ims.test
write_config none
sed -i 's/^    listen: \[ "udp:.*$/&\n    t1: 50ms/' "$work/deploy.yaml"
grep -q '^    t1: 50ms' "$work/deploy.yaml" || fail "t1 not set in the configuration"
start_hss
start_scscf
ue_port=$(free_port)
contact_port=$(free_port)
peer_port=$(free_port)
while [ "$contact_port" = "$ue_port" ]; do contact_port=$(free_port); done

scenario register.xml.in "$work/register.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
	EXPIRES=600 CONTACT="127.0.0.1:$contact_port"
scenario message.xml.in "$work/message.xml" IMPU=sip:alice@ims.test STATUS=480
scenario invite.xml.in "$work/invite.xml" IMPU=sip:alice@ims.test STATUS=480

sipp_ue register "$work/register.xml" "$ue_port" || fail "register"
[ "$(ctl bindings | json "len(d['bindings'])")" = 1 ] || fail "no binding after the REGISTER"
echo "ok: alice registered at 127.0.0.1:$contact_port"

# The silent UE: it says "ready" once bound, then logs each start line it gets.
python3 -u - "$contact_port" >"$work/ue.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, _ = s.recvfrom(65535)
    print(data.split(b"\r\n", 1)[0].decode(errors="replace"), flush=True)
PY
ue_pid=$!
bg_pids+=("$ue_pid")
wait_log "$work/ue.log" '^ready' "$ue_pid" "silent UE"

sipp_run message "$work/message.xml" "$peer_port" || fail "the MESSAGE did not get 480"
grep -q '^SIP/2.0 480 Temporarily Unavailable' "$work/message.msg" || fail "no 480 in the trace"
grep -q "^MESSAGE sip:ue@127.0.0.1:$contact_port" "$work/ue.log" ||
	fail "the MESSAGE did not reach the binding"
echo "ok: MESSAGE to a binding that does not answer: 480"

sipp_run invite "$work/invite.xml" "$peer_port" || fail "the INVITE did not get 480"
grep -q '^SIP/2.0 480 Temporarily Unavailable' "$work/invite.msg" || fail "no 480 in the trace"
grep -q '^SIP/2.0 408' "$work/invite.msg" && fail "a 408 went up"
grep -q "^INVITE sip:ue@127.0.0.1:$contact_port" "$work/ue.log" ||
	fail "the INVITE did not reach the binding"
echo "ok: INVITE to a binding that does not answer: 480"
grep -q 'no binding answered (1 timed out, 0 unreachable): 480' "$work/scscf.log" ||
	fail "the S-CSCF did not log its choice"

stop_scscf
echo "sipp_unanswered: ok"
