#!/usr/bin/env bash
# A restarted S-CSCF still knows every registration and serves it: a UE
# registers (SIPp, IMS AKA), the S-CSCF is killed (SIGKILL, no chance to
# save anything more) and started again; a MESSAGE to the IMPU still
# reaches the registered contact, while an unknown IMPU gets 404.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_user alice sip:alice@ims.test tel:+15551230001
write_config none
start_hss
start_scscf
ue_port=$(free_port)
contact_port=$(free_port)
peer_port=$(free_port)
while [ "$contact_port" = "$ue_port" ]; do contact_port=$(free_port); done

scenario register.xml.in "$work/register.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
	EXPIRES=600 CONTACT="127.0.0.1:$contact_port"
scenario message.xml.in "$work/message.xml" IMPU=tel:+15551230001 STATUS=200
scenario message.xml.in "$work/nobody.xml" IMPU=sip:nobody@ims.test STATUS=404

sipp_run register "$work/register.xml" "$ue_port" || fail "register"
[ "$(ctl bindings | json "len(d['bindings'])")" = 1 ] || fail "no binding after the REGISTER"
echo "ok: alice registered at 127.0.0.1:$contact_port"

kill_scscf
start_scscf "$work/scscf-restarted.log"
grep -q "ready: .*1 binding(s) restored" "$work/scscf-restarted.log" || fail "nothing restored"
echo "ok: the restarted S-CSCF restored the binding"

# The contact listens; a peer sends to alice's tel URI (implicitly registered).
(cd "$work" && sipp -sf "$here/sipp/uas_message.xml" -m 1 -i 127.0.0.1 -p "$contact_port" \
	-trace_msg -message_file "$work/contact.msg" -nostdin -timeout 30 \
	>"$work/contact.out" 2>&1) &
contact_pid=$!
bg_pids+=("$contact_pid")
for i in $(seq 1 500); do
	ss -Hlnu "sport = :$contact_port" | grep -q . && break
	sleep 0.01
done
sipp_run message "$work/message.xml" "$peer_port" || fail "the MESSAGE did not get 200"
wait "$contact_pid" || fail "the contact did not get the MESSAGE"
grep -q '^MESSAGE sip:ue@127.0.0.1:'"$contact_port" "$work/contact.msg" ||
	fail "the MESSAGE did not arrive with the contact as Request-URI"
echo "ok: the MESSAGE reached the contact after the restart"
sipp_run nobody "$work/nobody.xml" "$peer_port" || fail "an unknown IMPU did not get 404"
echo "ok: an unknown IMPU gets 404"
stop_scscf
