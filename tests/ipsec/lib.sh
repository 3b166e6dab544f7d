# tests/ipsec/lib.sh - shared by the namespace test and the VM test (sourced).
#
# Two network namespaces joined by a veth pair, a scriptable ipsec_peer in
# each (one the UE, one the P-CSCF), SIP messages over all four SAs of a
# set, an attacker replaying and tampering with captured ESP, and tshark
# decrypting the capture with the keys simreg exported.
#
# Needs: $PEER (the ipsec_peer binary), $work (a scratch directory), and
# the caller's trap to call lab_down.

# A test may name its namespaces after itself (ns_prefix) before sourcing.
ns_ue=${ns_prefix:-ipsec}-ue-$$
ns_pc=${ns_prefix:-ipsec}-pc-$$
declare -A peer_in peer_out peer_pid

fail() {
	echo "FAIL: $*"
	for f in "$work"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
	done
	exit 1
}

lab_up() {
	ip netns add "$ns_ue"
	ip netns add "$ns_pc"
	ip link add veth-ue netns "$ns_ue" type veth peer name veth-pc netns "$ns_pc"
	for ns in "$ns_ue" "$ns_pc"; do
		ip -n "$ns" link set lo up
	done
	# Lab addresses: 198.18.0.0/15 and 2001:db8::/32 only. nodad: usable at once.
	ip -n "$ns_ue" addr add 198.18.7.2/24 dev veth-ue
	ip -n "$ns_pc" addr add 198.18.7.1/24 dev veth-pc
	ip -n "$ns_ue" addr add 2001:db8:7::2/64 dev veth-ue nodad
	ip -n "$ns_pc" addr add 2001:db8:7::1/64 dev veth-pc nodad
	ip -n "$ns_ue" link set veth-ue up
	ip -n "$ns_pc" link set veth-pc up
}

lab_down() {
	local p
	for p in "${!peer_pid[@]}"; do
		kill "${peer_pid[$p]}" 2>/dev/null || true
	done
	[ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
	ip netns del "$ns_ue" 2>/dev/null || true
	ip netns del "$ns_pc" 2>/dev/null || true
}

# peer_start NAME NETNS ARGS... : start ipsec_peer and wait for "ready".
peer_start() {
	local name=$1 ns=$2 fdi fdo line
	shift 2
	mkfifo "$work/$name.in" "$work/$name.out"
	# Append: the peer's log and its own stderr writes share the file.
	: >"$work/$name.err"
	ip netns exec "$ns" "$PEER" "$@" <"$work/$name.in" >"$work/$name.out" 2>>"$work/$name.err" &
	peer_pid[$name]=$!
	exec {fdi}>"$work/$name.in"
	exec {fdo}<"$work/$name.out"
	peer_in[$name]=$fdi
	peer_out[$name]=$fdo
	read -t 30 -r line <&"$fdo" || fail "$name did not start"
	case $line in ready*) echo "$name: $line" ;; *) fail "$name: $line" ;; esac
}

# peer_cmd NAME COMMAND : one command, its one-line answer on stdout.
peer_cmd() {
	local line
	echo "$2" >&"${peer_in[$1]}"
	read -t 30 -r line <&"${peer_out[$1]}" || fail "$1 did not answer '$2'"
	echo "$line"
}

# peer_counters NAME : the five lines of "counters", without "end".
peer_counters() {
	local line
	echo counters >&"${peer_in[$1]}"
	while read -t 30 -r line <&"${peer_out[$1]}"; do
		[ "$line" = end ] && return 0
		echo "$line"
	done
	fail "$1 did not answer counters"
}

peer_stop() {
	local status=0
	echo quit >&"${peer_in[$1]}"
	wait "${peer_pid[$1]}" || status=$?
	exec {peer_in[$1]}>&- {peer_out[$1]}<&-
	unset "peer_pid[$1]"
	rm -f "$work/$1.in" "$work/$1.out"
	[ $status -eq 0 ] || fail "$1 exited $status"
}

expect() { # WHAT TEXT REGEX
	[[ $2 =~ $3 ]] || fail "$1: got '$2', want /$3/"
	echo "ok $1"
}

# SIP messages as they would cross the SAs (CRLF line ends).
sip_messages() {
	local ue=$1 pc=$2 uc=$3 us=$4 pcp=$5 ps=$6 host=$1
	[[ $ue == *:* ]] && host="[$ue]"
	local pchost=$pc
	[[ $pc == *:* ]] && pchost="[$pc]"
	printf '%s\r\n' "REGISTER sip:ims.example.net SIP/2.0" \
		"Via: SIP/2.0/UDP $host:$uc;branch=z9hG4bK-reg-$uc;rport" \
		"Max-Forwards: 70" "From: <sip:alice@ims.example.net>;tag=a1" \
		"To: <sip:alice@ims.example.net>" "Call-ID: reg-$uc@simreg" "CSeq: 2 REGISTER" \
		"Contact: <sip:alice@$host:$us>" "Expires: 600000" \
		"Security-Verify: ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=1;spi-s=2;port-c=$pcp;port-s=$ps" \
		"Content-Length: 0" "" >"$work/register.sip"
	printf '%s\r\n' "SIP/2.0 200 OK" \
		"Via: SIP/2.0/UDP $host:$uc;branch=z9hG4bK-reg-$uc;rport=$uc" \
		"From: <sip:alice@ims.example.net>;tag=a1" "To: <sip:alice@ims.example.net>;tag=s1" \
		"Call-ID: reg-$uc@simreg" "CSeq: 2 REGISTER" "Content-Length: 0" "" >"$work/ok-register.sip"
	printf '%s\r\n' "NOTIFY sip:alice@$host:$us SIP/2.0" \
		"Via: SIP/2.0/UDP $pchost:$pcp;branch=z9hG4bK-ntf-$pcp" "Max-Forwards: 70" \
		"From: <sip:alice@ims.example.net>;tag=n1" "To: <sip:alice@ims.example.net>;tag=u1" \
		"Call-ID: sub-$us@simreg" "CSeq: 1 NOTIFY" "Event: reg" "Subscription-State: active" \
		"Content-Length: 0" "" >"$work/notify.sip"
	printf '%s\r\n' "SIP/2.0 200 OK" "Via: SIP/2.0/UDP $pchost:$pcp;branch=z9hG4bK-ntf-$pcp" \
		"From: <sip:alice@ims.example.net>;tag=n1" "To: <sip:alice@ims.example.net>;tag=u1" \
		"Call-ID: sub-$us@simreg" "CSeq: 1 NOTIFY" "Content-Length: 0" "" >"$work/ok-notify.sip"
}

# exchange UE_ADDR PC_ADDR PORT_UC PORT_US PORT_PC PORT_PS
# A request and its response over each SA pair, in both directions.
exchange() {
	local ue=$1 pc=$2 uc=$3 us=$4 pcp=$5 ps=$6 r n
	sip_messages "$ue" "$pc" "$uc" "$us" "$pcp" "$ps"
	n=$(stat -c %s "$work/register.sip")
	r=$(peer_cmd ue "sendfile $uc $ps $work/register.sip")
	expect "UE sends REGISTER from port_uc to port_ps" "$r" "^sent $n$"
	r=$(peer_cmd pc "recv $ps 5000")
	expect "P-CSCF gets it over SA1" "$r" "^rx sa=1 set=[0-9]+ from=$ue:$uc to=$pc:$ps len=$n line=REGISTER sip:ims.example.net SIP/2.0$"
	r=$(peer_cmd pc "sendfile $ps $uc $work/ok-register.sip")
	expect "P-CSCF answers from port_ps" "$r" "^sent [0-9]+$"
	r=$(peer_cmd ue "recv $uc 5000")
	expect "UE gets the 200 over SA3" "$r" "^rx sa=3 set=[0-9]+ from=$pc:$ps to=$ue:$uc len=[0-9]+ line=SIP/2.0 200 OK$"
	r=$(peer_cmd pc "sendfile $pcp $us $work/notify.sip")
	expect "P-CSCF sends NOTIFY from port_pc to port_us" "$r" "^sent [0-9]+$"
	r=$(peer_cmd ue "recv $us 5000")
	expect "UE gets it over SA2" "$r" "^rx sa=2 set=[0-9]+ from=$pc:$pcp to=$ue:$us len=[0-9]+ line=NOTIFY sip:alice@"
	r=$(peer_cmd ue "sendfile $us $pcp $work/ok-notify.sip")
	expect "UE answers from port_us" "$r" "^sent [0-9]+$"
	r=$(peer_cmd pc "recv $pcp 5000")
	expect "P-CSCF gets the 200 over SA4" "$r" "^rx sa=4 set=[0-9]+ from=$ue:$us to=$pc:$pcp len=[0-9]+ line=SIP/2.0 200 OK$"
	# No SA carries port_uc -> port_pc: refused, nothing leaves in the clear.
	r=$(peer_cmd ue "send $uc $pcp stray")
	expect "UE cannot send outside the SAs' selectors" "$r" "^error send: No such file or directory$"
}

# capture_start NETNS IFACE FILE COUNT : capture COUNT ESP packets, then stop.
# (Stopping on a count, not a signal: a signal may lose packets still in
# the kernel's capture ring.)
capture_start() {
	: >"$work/cap.err"
	ip netns exec "$1" dumpcap -q -i "$2" -P -w "$3" -c "$4" \
		-f "ip proto 50 or ip6 proto 50" 2>"$work/cap.err" &
	cap_pid=$!
	capture_ready
}

# capture_ready : wait until the dumpcap of $cap_pid reports the capture
# start on stderr ($work/cap.err).
capture_ready() {
	local i
	for i in $(seq 100); do
		grep -q "Capturing on" "$work/cap.err" 2>/dev/null && return 0
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/cap.err"
	fail "dumpcap did not start"
}

capture_wait() {
	local i
	for i in $(seq 100); do
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$cap_pid" 2>/dev/null && { cat "$work/cap.err"; fail "the capture did not see all packets"; }
	wait "$cap_pid" || true
	cap_pid=
}

# attack NETNS_OF_SENDER PCAP SPI RECEIVER_PEER LPORT : replay one captured
# packet, re-send it with a fresh sequence number (ICV no longer matches),
# and with a fresh sequence number and a flipped ciphertext byte. The
# receiver must deliver none of them and count one replay and two ICV
# failures on SA1.
attack() {
	local ns=$1 pcap=$2 spi=$3 rx=$4 lport=$5 before after r
	before=$(peer_counters "$rx" | grep '^sa1 ')
	ip netns exec "$ns" "$PEER" inject --pcap "$pcap" --spi "$spi" --nth 0 >/dev/null ||
		fail "inject replay"
	ip netns exec "$ns" "$PEER" inject --pcap "$pcap" --spi "$spi" --nth 0 --seq 1000 >/dev/null ||
		fail "inject seq"
	ip netns exec "$ns" "$PEER" inject --pcap "$pcap" --spi "$spi" --nth 0 --seq 1001 --flip 40 >/dev/null ||
		fail "inject flip"
	r=$(peer_cmd "$rx" "recv $lport 1500")
	expect "nothing replayed or tampered is delivered" "$r" "^timeout$"
	after=$(peer_counters "$rx" | grep '^sa1 ')
	echo "  SA1 before: $before"
	echo "  SA1 after:  $after"
	expect "SA1 accepted nothing new" "$after" "packets=1 "
	expect "SA1 counted the replay" "$after" "replay=1 "
	expect "SA1 counted two ICV failures" "$after" "auth=2 "
}

# tshark_check PCAP KEYLOG ROWS : tshark decrypts with the exported keys;
# ROWS lines "spi sport dport sip" must be what it decodes, in order.
tshark_check() {
	local pcap=$1 keylog=$2 want=$3 line got
	local -a uat=()
	while IFS= read -r line; do
		uat+=(-o "uat:esp_sa:$line")
	done <"$keylog"
	got=$(tshark -r "$pcap" -o esp.enable_encryption_decode:TRUE \
		-o esp.enable_authentication_check:TRUE -o udp.check_checksum:TRUE "${uat[@]}" \
		-Y esp -T fields -E separator=' ' -e esp.spi -e esp.icv_good -e udp.srcport \
		-e udp.dstport -e udp.checksum.status -e sip.Method -e sip.Status-Code \
		2>"$work/tshark.err" | sed 's/  */ /g; s/ $//')
	if [ "$got" != "$want" ]; then
		echo "tshark decoded:"
		echo "$got"
		echo "expected:"
		echo "$want"
		cat "$work/tshark.err"
		fail "tshark's view of the decrypted capture"
	fi
	echo "ok tshark decrypts $(echo "$got" | wc -l) ESP packets with the exported keys:"
	echo "$got" | sed 's/^/  /'
}

# TS 35.208 set 1 IK/CK; the peers expand them per 33.203 Annex I.
keys=(--alg hmac-sha-1-96 --ealg aes-cbc --ik f769bcd751044604127672711c6d3441
      --ck b40ba9a3c58b2a05bbf0d987b21bf8cb)

# run_pair UE_BACKEND PCSCF_BACKEND NAME UE_ADDR PC_ADDR SPI_BASE PORT_BASE
# One registration's SA set between the namespaces: SIP both ways over all
# four SAs, the attack on SA1 at the P-CSCF, counters, tshark's decryption.
run_pair() {
	local ueb=$1 pcb=$2 name=$3 ue=$4 pc=$5 sb=$6 pb=$7 r
	local uc=$((pb + 1)) us=$((pb + 2)) pcp=$((pb + 11)) ps=$((pb + 12))
	local spi_uc=$((sb + 1)) spi_us=$((sb + 2)) spi_pc=$((sb + 11)) spi_ps=$((sb + 12))
	local sec=(--ue "$ue" --pcscf "$pc" --client "$spi_uc,$spi_us,$uc,$us"
		   --server "$spi_pc,$spi_ps,$pcp,$ps")
	echo "== $name: UE ($ueb) $ue ports $uc/$us, P-CSCF ($pcb) $pc ports $pcp/$ps =="
	rm -f "$work/keys.$name"
	capture_start "$ns_pc" veth-pc "$work/$name.pcap" 4
	peer_start pc "$ns_pc" --backend "$pcb" --side pcscf "${sec[@]}" "${keys[@]}" \
		--keylog "$work/keys.$name"
	peer_start ue "$ns_ue" --backend "$ueb" --side ue "${sec[@]}" "${keys[@]}"
	exchange "$ue" "$pc" "$uc" "$us" "$pcp" "$ps"
	r=$(peer_cmd pc "spi $(printf %x $spi_ps)")
	expect "the P-CSCF's backend knows spi_ps is taken" "$r" "^spi 0x[0-9a-f]{8} in use$"
	r=$(peer_cmd pc "spi $(printf %x $((spi_ps + 100)))")
	expect "and another SPI is free" "$r" "^spi 0x[0-9a-f]{8} free$"
	capture_wait
	attack "$ns_ue" "$work/$name.pcap" "$(printf %x $spi_ps)" pc "$ps"
	peer_counters pc | sed 's/^/  pcscf /'
	peer_counters ue | sed 's/^/  ue    /'
	r=$(peer_counters ue | grep '^sa3 ')
	expect "UE SA3 counted one packet, no drops" "$r" "packets=1 .*replay=0 auth=0 other=0$"
	peer_stop ue
	peer_stop pc
	expect "the key log holds the four SAs" "$(wc -l <"$work/keys.$name")" "^4$"
	tshark_check "$work/$name.pcap" "$work/keys.$name" "$(printf '%s\n' \
		"$(printf 0x%08x $spi_ps) 1 $uc $ps 1 REGISTER" \
		"$(printf 0x%08x $spi_uc) 1 $ps $uc 1 200" \
		"$(printf 0x%08x $spi_us) 1 $pcp $us 1 NOTIFY" \
		"$(printf 0x%08x $spi_pc) 1 $us $pcp 1 200")"
}

# ---- TCP over the SAs (sockets bound with ipsec_backend_tcp_bind()) ----

# tcapture_start NETNS IFACE FILE : everything on the link, written through
# a pipe, so each packet is in FILE as soon as dumpcap has it.
tcapture_start() {
	: >"$work/cap.err"
	ip netns exec "$1" dumpcap -q -i "$2" -P -w - 2>"$work/cap.err" >"$3" &
	cap_pid=$!
	capture_ready
}

# tcapture_stop FILE N : wait until FILE holds N ESP packets, then stop.
tcapture_stop() {
	local i n=0
	for i in $(seq 100); do
		n=$(tshark -r "$1" -Y esp 2>/dev/null | wc -l)
		[ "$n" -ge "$2" ] && break
		sleep 0.1
	done
	kill -INT "$cap_pid" 2>/dev/null || true
	wait "$cap_pid" || true
	cap_pid=
	[ "$n" -ge "$2" ] || fail "the capture holds $n ESP packets, the P-CSCF's SAs counted $2"
}

# sa_total NAME : packets over all four SAs of a peer.
sa_total() {
	peer_counters "$1" | sed -n 's/.* packets=\([0-9]*\) .*/\1/p' | awk '{ n += $1 } END { print n }'
}

stat_of() { # LINE KEY
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"
}

# run_tcp_pair UE_BACKEND PCSCF_BACKEND NAME UE_ADDR PC_ADDR SPI_BASE PORT_BASE
# One registration's SA set carrying TCP: a connection port_uc -> port_ps
# and one port_pc -> port_us, SIP both ways on each, then (for each end
# with the userspace backend, whose TUN enforces it) a connection no SA
# selects stays off the link and cleartext connections to the protected
# server port are refused; counters; tshark's decryption of the capture.
# (With xfrm the kernel's policies cover the SA's selectors only: a TCP
# socket on a protected port talking to another port, or a cleartext
# connection from another source port, is none of their business.)
run_tcp_pair() {
	local ueb=$1 pcb=$2 name=$3 ue=$4 pc=$5 sb=$6 pb=$7 r n st refused=0
	local uc=$((pb + 1)) us=$((pb + 2)) pcp=$((pb + 11)) ps=$((pb + 12))
	local spi_uc=$((sb + 1)) spi_us=$((sb + 2)) spi_pc=$((sb + 11)) spi_ps=$((sb + 12))
	local sec=(--ue "$ue" --pcscf "$pc" --client "$spi_uc,$spi_us,$uc,$us"
		   --server "$spi_pc,$spi_ps,$pcp,$ps")
	local pcap=$work/$name.pcap
	echo "== $name: UE ($ueb) $ue ports $uc/$us, P-CSCF ($pcb) $pc ports $pcp/$ps, TCP =="
	rm -f "$work/keys.$name"
	tcapture_start "$ns_pc" veth-pc "$pcap"
	peer_start pc "$ns_pc" --backend "$pcb" --side pcscf "${sec[@]}" "${keys[@]}" \
		--keylog "$work/keys.$name"
	peer_start ue "$ns_ue" --backend "$ueb" --side ue "${sec[@]}" "${keys[@]}"
	sip_messages "$ue" "$pc" "$uc" "$us" "$pcp" "$ps"
	sed -i 's|SIP/2.0/UDP|SIP/2.0/TCP|' "$work"/*.sip

	# Servers listen on their protected server ports (TS 24.229 §5.1.1.2, §5.2.2.1).
	expect "P-CSCF listens on port_ps" "$(peer_cmd pc "tlisten $ps")" "^listening $ps$"
	expect "UE listens on port_us" "$(peer_cmd ue "tlisten $us")" "^listening $us$"

	# UE -> P-CSCF: port_uc to port_ps, over SA1 and SA3.
	r=$(peer_cmd ue "tconnect $uc $ps 5000")
	expect "UE connects from port_uc to port_ps" "$r" "^connected $uc $ps$"
	n=$(stat -c %s "$work/register.sip")
	r=$(peer_cmd ue "tsendfile $uc $ps $work/register.sip")
	expect "UE writes REGISTER" "$r" "^sent $n$"
	r=$(peer_cmd pc "trecv $ps 5000")
	expect "P-CSCF reads it on port_ps" "$r" "^trx from=$ue:$uc to=$pc:$ps len=$n line=REGISTER sip:ims.example.net SIP/2.0$"
	r=$(peer_cmd pc "tsendfile $ps $uc $work/ok-register.sip")
	expect "P-CSCF answers on the same connection" "$r" "^sent [0-9]+$"
	r=$(peer_cmd ue "trecv $uc 5000")
	expect "UE reads the 200" "$r" "^trx from=$pc:$ps to=$ue:$uc len=[0-9]+ line=SIP/2.0 200 OK$"

	# P-CSCF -> UE: port_pc to port_us, over SA2 and SA4.
	r=$(peer_cmd pc "tconnect $pcp $us 5000")
	expect "P-CSCF connects from port_pc to port_us" "$r" "^connected $pcp $us$"
	r=$(peer_cmd pc "tsendfile $pcp $us $work/notify.sip")
	expect "P-CSCF writes NOTIFY" "$r" "^sent [0-9]+$"
	r=$(peer_cmd ue "trecv $us 5000")
	expect "UE reads it on port_us" "$r" "^trx from=$pc:$pcp to=$ue:$us len=[0-9]+ line=NOTIFY sip:alice@"
	r=$(peer_cmd ue "tsendfile $us $pcp $work/ok-notify.sip")
	expect "UE answers" "$r" "^sent [0-9]+$"
	r=$(peer_cmd pc "trecv $pcp 5000")
	expect "P-CSCF reads the 200" "$r" "^trx from=$ue:$us to=$pc:$pcp len=[0-9]+ line=SIP/2.0 200 OK$"

	if [ "$ueb" = userspace ]; then
		# No SA selects port_uc -> port_pc: the SYN is dropped at the UE's TUN.
		r=$(peer_cmd ue "tconnect $uc $pcp 1500")
		expect "a connection no SA selects does not come up" "$r" "^error tconnect: Connection timed out$"
		st=$(peer_cmd ue stats)
		echo "  ue    $st"
		[ "$(stat_of "$st" tcp_dropped)" -ge 1 ] || fail "the UE counted no dropped segment: $st"
		echo "ok the UE dropped and counted its SYNs"
		# A protected port takes protected traffic only: a cleartext
		# connection from the link finds no socket (listeners are bound to the TUN).
		r=$(ip netns exec "$ns_pc" timeout 5 bash -c "exec 3<>/dev/tcp/$ue/$us" 2>&1 || true)
		expect "a cleartext connection to the UE's port_us is refused" "$r" "Connection refused"
		refused=$((refused + 1))
	fi
	if [ "$pcb" = userspace ]; then
		r=$(ip netns exec "$ns_ue" timeout 5 bash -c "exec 3<>/dev/tcp/$pc/$ps" 2>&1 || true)
		expect "a cleartext connection to the P-CSCF's port_ps is refused" "$r" "Connection refused"
		r=$(peer_cmd pc "trecv $ps 300")
		expect "and nothing reached the P-CSCF's listener" "$r" "^timeout$"
		refused=$((refused + 1))
	fi

	# Counters: segments both ways through TUN and ESP, on every SA.
	if [ "$pcb" = userspace ]; then
		st=$(peer_cmd pc stats)
		echo "  pcscf $st"
		[ "$(stat_of "$st" tcp_in)" -ge 6 ] && [ "$(stat_of "$st" tcp_out)" -ge 6 ] ||
			fail "the P-CSCF's TCP counters did not move: $st"
		expect "the P-CSCF dropped no segment, carried no UDP" "$st" "udp_in=0 udp_out=0 udp_dropped=0 .*tcp_dropped=0 unknown_spi=0 malformed=0$"
	fi
	peer_counters pc | sed 's/^/  pcscf /'
	r=$(peer_counters pc | grep -c 'packets=0 ' || true)
	expect "every SA of the P-CSCF carried segments" "$r" "^0$"

	n=$(sa_total pc)
	tcapture_stop "$pcap" "$n"
	peer_stop ue
	peer_stop pc
	expect "the key log holds the four SAs" "$(wc -l <"$work/keys.$name")" "^4$"
	tshark_tcp_check "$pcap" "$work/keys.$name" \
		"$(printf 0x%08x $spi_ps) $uc $ps" "$(printf 0x%08x $spi_uc) $ps $uc" \
		"$(printf 0x%08x $spi_us) $pcp $us" "$(printf 0x%08x $spi_pc) $us $pcp"
	cleartext_check "$pcap" "$ps" "$us" "$refused"
}

# tshark_tcp_check PCAP KEYLOG "SPI SPORT DPORT" x4 (SA1 SA3 SA2 SA4):
# every ESP packet decrypts with a good ICV to a TCP segment with a good
# checksum whose ports are those of its SA; each SA carried a SYN; and the
# SIP messages are the four sent, each over its SA.
tshark_tcp_check() {
	local pcap=$1 keylog=$2 line got bad sip
	shift 2
	local -a uat=()
	while IFS= read -r line; do
		uat+=(-o "uat:esp_sa:$line")
	done <"$keylog"
	got=$(tshark -r "$pcap" -o esp.enable_encryption_decode:TRUE \
		-o esp.enable_authentication_check:TRUE -o tcp.check_checksum:TRUE "${uat[@]}" \
		-Y esp -T fields -E separator=' ' -E occurrence=f -e esp.spi -e esp.icv_good \
		-e tcp.srcport -e tcp.dstport -e tcp.checksum.status -e tcp.flags.syn \
		-e sip.Method -e sip.Status-Code 2>"$work/tshark.err" | sed 's/  */ /g; s/ $//')
	echo "$got" >"$work/tshark.out"
	bad=$(awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" '
		{ sa = $1 " " $3 " " $4 }
		sa != a && sa != b && sa != c && sa != d { print "wrong SA or ports: " $0; next }
		$2 != "True" && $2 != "1" { print "ICV not good: " $0; next }
		$5 != 1 { print "TCP checksum not good: " $0 }' <<<"$got")
	if [ -n "$bad" ]; then
		echo "$bad"
		cat "$work/tshark.err"
		fail "tshark's view of the decrypted capture"
	fi
	echo "ok tshark decrypts $(wc -l <<<"$got") ESP packets: TCP, ports of their SA, good ICV and checksum"
	for line in "$@"; do
		awk -v sa="$line" '$1 " " $3 " " $4 == sa && $6 == 1 { found = 1 }
			END { exit !found }' <<<"$got" || { echo "$got"; fail "no SYN over the SA of $line"; }
	done
	echo "ok a SYN (or SYN-ACK) over each of the four SAs"
	sip=$(awk 'NF > 6 { print $1, $3, $4, $7, $8 }' <<<"$got" | sed 's/ $//')
	expect "tshark finds the four SIP messages, each over its SA" "$sip" \
		"^$1 REGISTER
$2 200
$3 NOTIFY
$4 200$"
	echo "$sip" | sed 's/^/  /'
}

# cleartext_check PCAP PORT_PS PORT_US N : the only cleartext TCP on the
# link is the N refused attempts: SYNs to the protected server ports and
# the RSTs.
cleartext_check() {
	local got bad
	got=$(tshark -r "$1" -Y "tcp && !esp" -T fields -E separator=' ' -e tcp.srcport \
		-e tcp.dstport -e tcp.flags.syn -e tcp.flags.reset 2>/dev/null)
	bad=$(awk -v ps="$2" -v us="$3" '
		$1 != ps && $1 != us && $2 != ps && $2 != us { print; next }
		$3 != 1 && $4 != 1 { print }' <<<"$got")
	[ -z "$bad" ] || { echo "$bad"; fail "cleartext TCP other than the refused attempts"; }
	expect "cleartext TCP on the link: the $4 refused SYNs and their RSTs only" \
		"$(grep -c . <<<"$got" || true)" "^$(($4 * 2))$"
	[ -z "$(tshark -r "$1" -Y "sip && !esp" 2>/dev/null)" ] || fail "cleartext SIP on the link"
}
