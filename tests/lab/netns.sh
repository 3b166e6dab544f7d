#!/usr/bin/env bash
# netns.sh - `simreg lab up` for T1 and T2 with real namespaces, links,
# captures and supervised processes (a socat UDP responder in every P-CSCF
# namespace), then:
#   - lab.json parses (jq) and names every namespace, capture and process;
#   - from the UE, each access reaches its own P-CSCF address (ping over
#     IPv4 and IPv6, and a UDP exchange that says which P-CSCF answered);
#   - no access reaches the other access's P-CSCF address, and the UE never
#     reaches the core, even with a route forced through the wrong access;
#   - the captures hold that traffic on the right links only (tshark -r),
#     and end with the lab's end-of-capture marker;
#   - `down` leaves no namespace, veth or process, and a second `down` is
#     harmless.
# Needs root (exit 77, "skipped", otherwise).
set -euo pipefail
: "${SIMREG:?}"
if [ "$(id -u)" != 0 ]; then
	echo "lab_netns needs root: skipped"
	exit 77
fi
work=$(mktemp -d /tmp/simreg-lab-netns.XXXXXX)
cleanup() {
	for t in t1 t2; do
		[ -d "$work/$t" ] && "$SIMREG" lab down --dir "$work/$t" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
fails=0 checks=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
check() { # check DESCRIPTION COMMAND... : the command must succeed
	local what=$1
	shift
	checks=$((checks + 1))
	"$@" >/dev/null 2>&1 || fail "$what"
}
check_not() { # the command must fail
	local what=$1
	shift
	checks=$((checks + 1))
	! "$@" >/dev/null 2>&1 || fail "$what"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# A process runs if it exists and is not a zombie (an orphan's exit status
# waits for init to collect it, which is not the lab's business).
runs() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

for t in t1 t2; do
	dir=$work/$t
	# One dual-stack UDP responder per P-CSCF namespace; it answers with
	# its own name so the test knows which P-CSCF it reached.
	if [ $t = t1 ]; then pcscfs=(pcscf); else pcscfs=(pcscf-a pcscf-b); fi
	execs=()
	for p in "${pcscfs[@]}"; do
		execs+=(--exec "echo-$p" "$p" "receiving on" socat -d -d UDP6-RECVFROM:7,fork
			"SYSTEM:read x; echo $p \$x" ';')
	done
	"$SIMREG" lab up --topology $t --dir "$dir" "${execs[@]}" 2>"$work/up.err" ||
		{ cat "$work/up.err" >&2; fail "$t: up"; continue; }
	json=$dir/lab.json
	id=$(jq -r .id "$json")
	ns() { echo "simreg-$id-$1"; }

	# ---- lab.json --------------------------------------------------------
	check "$t: lab.json is JSON" jq -e . "$json"
	check "$t: state up" jq -e '.state == "up" and .topology == "'$t'"' "$json"
	want_ns=$("$SIMREG" lab plan --topology $t | sed -n 's/^simreg-ID-\([a-z-]*\):.*/\1/p' | sort)
	have_ns=$(jq -r '.namespaces[].role' "$json" | sort)
	[ "$want_ns" = "$have_ns" ] || fail "$t: namespaces $have_ns, expected $want_ns"
	for name in $(jq -r '.namespaces[].name' "$json"); do
		checks=$((checks + 1))
		[[ $name == simreg-$id-* ]] || fail "$t: namespace $name lacks the lab prefix"
		ip netns list | grep -qw "^$name" || fail "$t: namespace $name does not exist"
	done
	nlinks=$(jq '.links | length' "$json")
	check "$t: one capture per link and the core loopback" \
		jq -e "(.captures | length) == $nlinks + 1" "$json"
	for f in $(jq -r '.captures[].file' "$json"); do
		check "$t: capture $f exists" test -s "$f"
	done
	for pid in $(jq -r '.captures[].pid, .processes[].pid' "$json"); do
		check "$t: pid $pid runs" runs "$pid"
	done
	check "$t: every process has a log" \
		jq -e 'all(.processes[]; (.log | test("/echo-pcscf")) and .pid > 0)' "$json"
	check "$t: status says all is well" "$SIMREG" lab status --dir "$dir"

	# ---- reachability -----------------------------------------------------
	for acc in wlan umts; do
		other=umts
		[ $acc = umts ] && other=wlan
		svc=$(jq -c ".services[] | select(.access == \"$acc\")" "$json")
		role=$(jq -r .role <<<"$svc")
		v4=$(jq -r .ipv4 <<<"$svc")
		v6=$(jq -r .ipv6 <<<"$svc")
		wrong=$(jq -r ".services[] | select(.access == \"$other\") | .ipv4" "$json")
		ue_v4=$(jq -r ".namespaces[] | select(.role == \"ue\") | .interfaces[] |
			select(.name == \"$acc\") | .ipv4 | sub(\"/.*\"; \"\")" "$json")
		gw=$(jq -r ".links[] | select(.name == \"ue-$acc\") | .b.ipv4" "$json")
		ue=$(ns ue)

		check "$t: ue pings $role at $v4 over $acc" \
			ip netns exec "$ue" ping -c1 -W2 -I "$acc" "$v4"
		check "$t: ue pings $role at $v6 over $acc" \
			ip netns exec "$ue" ping -c1 -W2 -I "$acc" "$v6"
		for addr in "UDP4:$v4" "UDP6:[$v6]"; do
			reply=$(echo "hello-$acc" | ip netns exec "$ue" socat -T3 - \
				"$addr:7" 2>/dev/null || true)
			checks=$((checks + 1))
			[ "$reply" = "$role hello-$acc" ] ||
				fail "$t: UDP to $addr over $acc: got '$reply', expected '$role hello-$acc'"
		done

		# The wrong P-CSCF address over this access: no route, and even a
		# forced route dies at this access's router.
		check_not "$t: ue reaches $wrong over $acc" \
			ip netns exec "$ue" ping -c1 -W1 -I "$acc" "$wrong"
		ip -n "$ue" route add "$wrong/32" via "$gw" dev "$acc"
		check_not "$t: a forced route over $acc reaches $wrong" \
			ip netns exec "$ue" ping -c1 -W1 "$wrong"
		ip -n "$ue" route del "$wrong/32" via "$gw" dev "$acc"
	done
	for core in $(jq -r '.services[] | select(.role == "core") | .ipv4, .ipv6' "$json"); do
		check_not "$t: ue reaches the core at $core" \
			ip netns exec "$(ns ue)" ping -c1 -W1 "$core"
	done
	# The P-CSCFs do reach the core's service addresses.
	for p in "${pcscfs[@]}"; do
		for core in $(jq -r '.services[] | select(.role == "core") | .ipv4, .ipv6' "$json"); do
			check "$t: $p reaches the core at $core" \
				ip netns exec "$(ns "$p")" ping -c1 -W2 "$core"
		done
	done

	# ---- down ---------------------------------------------------------------
	pids=$(jq -r '.captures[].pid, .processes[].pid' "$json")
	check "$t: down" "$SIMREG" lab down --dir "$dir"
	left=$(ip netns list | grep -c "^simreg-$id-" || true)
	[ "$left" = 0 ] || fail "$t: $left namespaces left after down"
	for pid in $pids; do
		check_not "$t: pid $pid still runs after down" runs "$pid"
	done
	# Veths are made inside the namespaces, so none may show up here.
	for ifname in $(jq -r '.namespaces[].interfaces[].name' "$json" | sort -u); do
		[ "$ifname" = lo ] && continue
		check_not "$t: interface $ifname in the root namespace" ip link show dev "$ifname"
	done
	out=$("$SIMREG" lab down --dir "$dir" 2>&1) || fail "$t: second down failed: $out"
	[[ $out == *"nothing to take down"* ]] || fail "$t: second down: $out"
	check_not "$t: status after down" "$SIMREG" lab status --dir "$dir"

	# ---- captures -------------------------------------------------------------
	# The exchange over each access is on that access's links, and only there.
	for acc in wlan umts; do
		other=umts
		[ $acc = umts ] && other=wlan
		pattern=$(hex "hello-$acc")
		for link in $(jq -r ".links[] | select(.name | test(\"(^ue-$acc\$)|(^$acc-)\")) |
				.name" "$json"); do
			pcap=$dir/$link.pcap
			n=$(tshark -r "$pcap" -Y "udp.port == 7" -T fields -e udp.payload 2>/dev/null |
				grep -c "$pattern" || true)
			# two requests (IPv4, IPv6) and two answers carry the text
			[ "$n" = 4 ] || fail "$t: $link.pcap has $n datagrams with hello-$acc, expected 4"
			n=$(tshark -r "$pcap" -Y "icmp.type == 8 || icmpv6.type == 128" 2>/dev/null |
				wc -l)
			[ "$n" -ge 2 ] || fail "$t: $link.pcap has $n echo requests, expected >= 2"
			n=$(tshark -r "$pcap" -T fields -e udp.payload 2>/dev/null |
				grep -c "$(hex "hello-$other")" || true)
			[ "$n" = 0 ] || fail "$t: $link.pcap carries traffic of $other"
			checks=$((checks + 3))
		done
	done
	for pcap in $(jq -r '.captures[].file' "$json"); do
		marker=$(tshark -r "$pcap" -Y "udp.dstport == 9 && !icmp" -T fields -e udp.payload \
			2>/dev/null | xxd -r -p)
		checks=$((checks + 1))
		[[ $marker == "simreg-lab end of capture $id "* ]] ||
			fail "$t: $pcap does not end with the marker (got '$marker')"
	done
	echo "$t: done"
done

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
