# tests/pcscf/lib.sh - the P-CSCF's over-the-wire tests share this (sourced).
#
# Three network namespaces:
#
#   pcscf-ue-N   the UEs: 198.18.20.2 (access a), 198.18.21.2 (access b),
#                2001:db8:20::2 (access a, IPv6)
#   pcscf-p-N    the P-CSCF: 198.18.20.1 / 2001:db8:20::1 (a), 198.18.21.1 (b),
#                198.18.22.1 (core)
#   pcscf-s-N    the registrar: 198.18.22.2
#
# Processes start with a readiness wait on their "ready" log line; the
# control sockets tell every state the tests check: the P-CSCF's through
# `simreg ctl pcscf`, the harnesses' through socat. Everything is torn down
# by lab_down, which the caller's trap runs.
#
# Needs: $SIMREG, $SIMREG_BUILD_DIR, $work (a scratch directory).

ns_ue=pcscf-ue-$$
ns_p=pcscf-p-$$
ns_s=pcscf-s-$$
UE_HARNESS=$SIMREG_BUILD_DIR/tests/pcscf/pcscf_ue_harness
REG_HARNESS=$SIMREG_BUILD_DIR/tests/pcscf/pcscf_registrar_harness
# TS 35.208 test set 1.
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
declare -A pids
passed=0

fail() {
	echo "FAIL: $*"
	for f in "$work"/*.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -25 "$f"; }
	done
	exit 1
}

ok() {
	passed=$((passed + 1))
	echo "ok $passed $*"
}

lab_up() {
	local ns
	for ns in "$ns_ue" "$ns_p" "$ns_s"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add ue-a netns "$ns_ue" type veth peer name p-a netns "$ns_p"
	ip link add ue-b netns "$ns_ue" type veth peer name p-b netns "$ns_p"
	ip link add p-core netns "$ns_p" type veth peer name s-core netns "$ns_s"
	ip -n "$ns_ue" addr add 198.18.20.2/24 dev ue-a
	ip -n "$ns_ue" addr add 2001:db8:20::2/64 dev ue-a nodad
	ip -n "$ns_ue" addr add 198.18.21.2/24 dev ue-b
	ip -n "$ns_p" addr add 198.18.20.1/24 dev p-a
	ip -n "$ns_p" addr add 2001:db8:20::1/64 dev p-a nodad
	ip -n "$ns_p" addr add 198.18.21.1/24 dev p-b
	ip -n "$ns_p" addr add 198.18.22.1/24 dev p-core
	ip -n "$ns_s" addr add 198.18.22.2/24 dev s-core
	for l in "$ns_ue ue-a" "$ns_ue ue-b" "$ns_p p-a" "$ns_p p-b" "$ns_p p-core" "$ns_s s-core"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
}

lab_down() {
	local p
	for p in "${!pids[@]}"; do
		kill "${pids[$p]}" 2>/dev/null || true
	done
	for p in "${!pids[@]}"; do
		wait "${pids[$p]}" 2>/dev/null || true
	done
	[ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
	ip netns del "$ns_ue" 2>/dev/null || true
	ip netns del "$ns_p" 2>/dev/null || true
	ip netns del "$ns_s" 2>/dev/null || true
}

# start NAME NETNS CMD... : run CMD in NETNS, log to $work/NAME.log, wait for "ready".
start() {
	local name=$1 ns=$2 i
	shift 2
	: >"$work/$name.log"
	ip netns exec "$ns" "$@" >>"$work/$name.log" 2>&1 &
	pids[$name]=$!
	for i in $(seq $((${READY_SECS:-10} * 20))); do
		grep -q "ready" "$work/$name.log" && return 0
		kill -0 "${pids[$name]}" 2>/dev/null || fail "$name exited before it was ready"
		sleep 0.05
	done
	fail "$name is not ready after ${READY_SECS:-10} s"
}

# stop NAME [SIGNAL] : signal (TERM) and wait; the exit status is returned.
stop() {
	local status=0
	kill "-${2:-TERM}" "${pids[$1]}"
	wait "${pids[$1]}" || status=$?
	unset "pids[$1]"
	return $status
}

# ctl SOCKET WORDS... : one control request; prints the JSON answer. The
# P-CSCF (any socket named pcscf.ctl) is asked with `simreg ctl pcscf`, which
# fails on an answer that is not ok; a harness with socat, which sends the
# line and half-closes (lib/core/ctlsock answers before it closes).
ctl() {
	local sock=$1
	shift
	if [ "$(basename "$sock")" = pcscf.ctl ]; then
		"$SIMREG" ctl pcscf --ctl "$sock" "$@" ||
			fail "simreg ctl pcscf --ctl $sock $*: failed"
	else
		echo "$*" | socat -t 5 - "UNIX-CONNECT:$sock" | grep . ||
			fail "control socket $sock: no answer to '$*'"
	fi
}

# json JSON JQ-FILTER : the filter's raw output.
json() {
	echo "$1" | jq -r "$2"
}

# await WHAT SOCKET COMMAND JQ-CONDITION [SECONDS] : poll until the condition holds.
await() {
	local what=$1 sock=$2 cmd=$3 cond=$4 secs=${5:-${AWAIT_SECS:-10}} i ans
	for i in $(seq $((secs * 20))); do
		ans=$(ctl "$sock" "$cmd")
		if [ "$(echo "$ans" | jq -r "$cond")" = true ]; then
			ok "$what"
			return 0
		fi
		sleep 0.05
	done
	echo "last answer to '$cmd': $ans"
	fail "$what"
}

# expect WHAT VALUE REGEX
expect() {
	[[ $2 =~ $3 ]] || fail "$1: got '$2', want /$3/"
	ok "$1"
}

# ue NAME ADDR IMPI IMPU : start a UE harness in the UE namespace.
ue_start() {
	local name=$1 addr=$2 impi=$3 impu=$4 pc=$5
	start "$name" "$ns_ue" "$UE_HARNESS" --local "$addr" --pcscf "$pc" --impi "$impi" \
		--impu "$impu" --k "$K" --opc "$OPC" --ctl "$work/$name.ctl"
}

registrar_start() {
	start registrar "$ns_s" "$REG_HARNESS" --listen udp:198.18.22.2:6060 \
		--ctl "$work/registrar.ctl" --k "$K" --opc "$OPC" "$@"
}

# pcscf_config FILE BINDING [BACKEND] : the P-CSCF's deployment file for these
# namespaces (backend userspace unless named).
pcscf_config() {
	cat >"$1" <<EOF
log:
  level: info
ipsec:
  backend: ${3:-userspace}
  keylog: $work/keys.log
pcscf:
  listen: ["udp:198.18.20.1:5060", "udp:[2001:db8:20::1]:5060", "udp:198.18.21.1:5060",
           "udp:198.18.22.1:5060"]
  scscf: "sip:198.18.22.2:6060"
  advertise: "198.18.22.1:5060"
  sa_binding: $2
  sa_grace: 2s
  sa_linger: 1s
  reg_await_auth: 10s
EOF
}

pcscf_start() {
	start pcscf "$ns_p" "$SIMREG" pcscf --config "$1" --data "$2" --ctl "$work/pcscf.ctl"
}

# register UE [EXPIRES] [ATTACK] : start a registration, wait for its outcome.
register() {
	ctl "$work/$1.ctl" register "${@:2}" >/dev/null
	await_ue "$1" '.state == "registered" or .state == "failed"'
}

# await_ue UE JQ-CONDITION : poll the UE harness (quietly).
await_ue() {
	local i ans
	for i in $(seq $((${AWAIT_SECS:-10} * 20))); do
		ans=$(ctl "$work/$1.ctl" state)
		[ "$(echo "$ans" | jq -r "$2")" = true ] && { echo "$ans"; return 0; }
		sleep 0.05
	done
	echo "$ans"
}

# In the sanitizer build a report in any process's log fails the test.
no_sanitizer_reports() {
	if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log; then
		fail "sanitizer report in the logs above"
	fi
	ok "no sanitizer report in any log"
}
