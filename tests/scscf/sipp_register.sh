#!/usr/bin/env bash
# SIPp's AKA client (sip-tester) against simreg scscf and simreg hss:
# register, refresh, deregister, an unknown IMPI refused with 403, and a
# registration over TCP. The
# 200 OKs are checked (Service-Route, P-Associated-URI, Contact with its
# expiry), and so are the S-CSCF's bindings (control socket) and the
# HSS's registration state (simreg ctl subscriber show).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_user alice sip:alice@ims.test tel:+15551230001
write_config none
start_hss
start_scscf
ue_port=$(free_port)

scenario register.xml.in "$work/register.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
	EXPIRES=600
scenario register.xml.in "$work/refresh.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
	EXPIRES=3600
scenario register.xml.in "$work/deregister.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
	EXPIRES=0
scenario unknown.xml.in "$work/unknown.xml"

hss_state() {
	"$SIMREG" ctl --data "$work/data" subscriber show alice@ims.test |
		sed -n 's/^impu: sip:alice@ims.test .*state=//p'
}
expect() { # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

sipp_run register "$work/register.xml" "$ue_port" || fail "register (expected 401, 200)"
expect "register: 401 then 200" "$($SIPPLOG status "$work/register.msg" | tr '\n' ' ')" "401 200 "
expect "200: Contact with its expiry" "$($SIPPLOG headers "$work/register.msg" 200 Contact)" \
	"<sip:ue@127.0.0.1:$ue_port>;expires=600"
expect "200: P-Associated-URI" \
	"$($SIPPLOG headers "$work/register.msg" 200 P-Associated-URI | tr '\n' ' ')" \
	"<sip:alice@ims.test> <tel:+15551230001> "
sr=$($SIPPLOG headers "$work/register.msg" 200 Service-Route)
[[ "$sr" =~ ^\<sip:orig-[0-9]+@127\.0\.0\.1:$sip_port\;lr\>$ ]] || fail "Service-Route '$sr'"
echo "ok: 200: Service-Route $sr"
b=$(ctl bindings sip:alice@ims.test)
expect "one binding" "$(echo "$b" | json "len(d['bindings'])")" 1
id=$(echo "$b" | json "d['bindings'][0]['id']")
expect "the binding is the contact" "$(echo "$b" | json "d['bindings'][0]['contact']")" \
	"sip:ue@127.0.0.1:$ue_port"
expect "its Service-Route" "$(echo "$b" | json "d['bindings'][0]['service_route']")" "$sr"
expect "the HSS has alice registered" "$(hss_state)" "registered"

sipp_run refresh "$work/refresh.xml" "$ue_port" || fail "refresh (expected 401, 200)"
expect "refresh: Contact with its new expiry" \
	"$($SIPPLOG headers "$work/refresh.msg" 200 Contact)" "<sip:ue@127.0.0.1:$ue_port>;expires=3600"
b=$(ctl bindings sip:alice@ims.test)
expect "refresh: the same binding" "$(echo "$b" | json "[x['id'] for x in d['bindings']]")" "[$id]"
expect "refresh: event refreshed" "$(echo "$b" | json "d['bindings'][0]['event']")" "refreshed"

sipp_run deregister "$work/deregister.xml" "$ue_port" || fail "deregister (expected 401, 200)"
expect "deregister: no Contact left in the 200" \
	"$($SIPPLOG headers "$work/deregister.msg" 200 Contact)" ""
expect "deregister: no binding left" \
	"$(ctl bindings sip:alice@ims.test | json "len(d['bindings'])")" 0
expect "the HSS has alice not registered" "$(hss_state)" "not-registered"

sipp_run unknown "$work/unknown.xml" "$ue_port" || fail "unknown IMPI (expected 403)"
expect "unknown IMPI: 403" "$($SIPPLOG status "$work/unknown.msg")" 403

# The same over TCP: SIPp connects to the S-CSCF's TCP listener.
sipp_run register-tcp "$work/register.xml" "$ue_port" -t t1 || fail "register over TCP"
expect "TCP: 401 then 200" "$($SIPPLOG status "$work/register-tcp.msg" | tr '\n' ' ')" "401 200 "
grep -q '^Via: SIP/2.0/TCP' "$work/register-tcp.msg" || fail "SIPp did not use TCP"
expect "TCP: one binding" "$(ctl bindings sip:alice@ims.test | json "len(d['bindings'])")" 1

stop_scscf
grep -q 'shutdown complete' "$work/scscf.log" || fail "no clean shutdown"
echo "sipp_register: ok"
