#!/usr/bin/env bash
# Two contacts per IMPU under each simultaneous-registration policy, with
# SIPp as the UE's two accesses. Access A registers (IMS AKA), subscribes
# to its reg event from the same contact and answers every NOTIFY; then
# access B registers. Checked per policy: the contacts in B's 200 OK (and
# Require: outbound where RFC 5626 applies), the NOTIFY bodies A received
# (each valid against the RFC 3680 schema, the last one with the expected
# state and event of both contacts), the probe of regevent-probe, and the
# S-CSCF's bindings.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_user alice sip:alice@ims.test tel:+15551230001
write_config none
start_hss
xsd=(--schema "$SIMREG_TESTDATA/reginfo/reginfo.xsd" --xml-schema "$SIMREG_TESTDATA/reginfo/xml.xsd")
instance='"<urn:gsma:imei:35209900-176148-0>"'

expect() { # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

# policy NAME B_IMPI OUTBOUND(yes|no) B_CONTACTS_IN_200 A_LAST B_LAST NOTIFIES
#   A_LAST, B_LAST: "state event" of each contact in A's last NOTIFY
policy() {
	local name=$1 b_impi=$2 ob=$3 want_200=$4 want_a=$5 want_b=$6 want_n=$7
	local pa pb sup= pa_params= pb_params= n got
	pa=$(free_port)
	pb=$(free_port)
	while [ "$pb" = "$pa" ]; do pb=$(free_port); done
	echo "--- policy $name"
	stop_scscf
	rm -f "$work/data/scscf.db"*
	write_config "$name"
	start_scscf "$work/scscf-$name.log"
	if [ "$ob" = yes ]; then
		sup=", outbound"
		pa_params=";+sip.instance=$instance;reg-id=1"
		pb_params=";+sip.instance=$instance;reg-id=2"
	fi
	scenario watcher.xml.in "$work/a-$name.xml" IMPI=alice@ims.test IMPU=sip:alice@ims.test \
		SUPPORTED="$sup" CONTACT_PARAMS="$pa_params" NOTIFIES="$want_n"
	scenario register.xml.in "$work/b-$name.xml" IMPI="$b_impi" IMPU=sip:alice@ims.test \
		EXPIRES=600 SUPPORTED="$sup" CONTACT_PARAMS="$pb_params"
	sipp_run "a-$name" "$work/a-$name.xml" "$pa" &
	local a_pid=$!
	bg_pids+=("$a_pid")
	# B registers once A's subscription is in place.
	for n in $(seq 1 1000); do
		[ "$(ctl subscriptions sip:alice@ims.test | json "len(d['subscriptions'])")" = 1 ] && break
		kill -0 "$a_pid" 2>/dev/null || fail "$name: access A gave up before subscribing"
		sleep 0.02
	done
	expect "$name: A subscribed as the UE" \
		"$(ctl subscriptions sip:alice@ims.test | json "d['subscriptions'][0]['kind']")" ue
	sipp_run "b-$name" "$work/b-$name.xml" "$pb" || fail "$name: B did not register"
	wait "$a_pid" || fail "$name: access A failed"

	got=$($SIPPLOG headers "$work/b-$name.msg" 200 Contact | sed -E "s/;expires=[0-9]+.*//" |
		sed -e "s/:$pa>/:A>/" -e "s/:$pb>/:B>/" | tr '\n' ' ')
	expect "$name: contacts in B's 200 OK" "$got" "$want_200"
	got=$($SIPPLOG headers "$work/b-$name.msg" 200 Require | tr '\n' ' ')
	expect "$name: Require in B's 200 OK" "$got" "$([ "$ob" = yes ] && echo 'outbound ')"
	mkdir -p "$work/n-$name"
	n=$($SIPPLOG notifies "$work/a-$name.msg" "$work/n-$name")
	expect "$name: NOTIFYs received by A" "$n" "$want_n"
	for f in "$work/n-$name"/notify-*.xml; do
		"$SIMREG" reginfo validate "${xsd[@]}" "$f" >/dev/null ||
			fail "$name: $f does not validate"
	done
	echo "ok: $name: every NOTIFY body valid against the RFC 3680 schema"
	got=$($SIPPLOG contacts "$work/n-$name/notify-$n.xml" sip:alice@ims.test |
		sed -e "s/:$pa /:A /" -e "s/:$pb /:B /" | LC_ALL=C sort | tr '\n' ';')
	expect "$name: A's last NOTIFY" "$got" \
		"sip:ue@127.0.0.1:A $want_a;sip:ue@127.0.0.1:B $want_b;version $((n - 1)) full;"
	if [ "$want_n" = 3 ]; then
		got=$($SIPPLOG contacts "$work/n-$name/notify-2.xml" sip:alice@ims.test |
			sed -e "s/:$pa /:A /" | LC_ALL=C sort | tr '\n' ';')
		expect "$name: the probe NOTIFY shows A alone" "$got" \
			"sip:ue@127.0.0.1:A active registered;version 1 full;"
		grep -q "regevent-probe: binding [0-9]* answered: both stay" "$work/scscf-$name.log" ||
			fail "$name: the probe decision is not logged"
		echo "ok: $name: the decision is logged"
	fi
	got=$(ctl bindings sip:alice@ims.test | json "len(d['bindings'])")
	expect "$name: bindings at the S-CSCF" "$got" "$(echo "$want_200" | wc -w)"
}

policy none alice@ims.test no "<sip:ue@127.0.0.1:B> " \
	"terminated unregistered" "active registered" 2
policy outbound alice@ims.test yes "<sip:ue@127.0.0.1:A> <sip:ue@127.0.0.1:B> " \
	"active registered" "active registered" 2
policy regevent-probe alice@ims.test no "<sip:ue@127.0.0.1:A> <sip:ue@127.0.0.1:B> " \
	"active registered" "active registered" 3
policy modified-impi alice+2@ims.test no "<sip:ue@127.0.0.1:A> <sip:ue@127.0.0.1:B> " \
	"active registered" "active registered" 2
policy modified-impi+outbound alice+2@ims.test yes \
	"<sip:ue@127.0.0.1:A> <sip:ue@127.0.0.1:B> " "active registered" "active registered" 2
policy modified-impi+regevent-probe alice+2@ims.test no \
	"<sip:ue@127.0.0.1:A> <sip:ue@127.0.0.1:B> " "active registered" "active registered" 2
stop_scscf
echo "sipp_policies: ok"
