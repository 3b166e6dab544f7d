# Shared by the S-CSCF script tests: a scratch directory, free ports, the
# HSS and the S-CSCF started with explicit readiness signals (their
# "ready" log lines), the control socket, and SIPp helpers. Source it; it
# sets a trap that stops what it started.
: "${SIMREG:?}" "${SIMREG_BUILD_DIR:?}" "${SIMREG_SOURCE_DIR:?}" "${SIMREG_TESTDATA:?}"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
UE_CLIENT=$SIMREG_BUILD_DIR/tests/scscf/ue_client
SIPP_RANDS=$SIMREG_BUILD_DIR/tests/scscf/sipp_rands
work=$(mktemp -d /tmp/simreg-scscf-XXXXXX)
hss_pid= scscf_pid=
declare -a bg_pids=()
cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$scscf_pid" ]; then kill -9 "$scscf_pid" 2>/dev/null || true; fi
	if [ -n "$hss_pid" ]; then kill -9 "$hss_pid" 2>/dev/null || true; fi
	if [ "${SIMREG_KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A port nobody uses, TCP and UDP (tests of other helpers run meanwhile).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Hlntu "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

hss_port=$(free_port)
sip_port=$(free_port)

# The subscriber keys: 16 (AMF: 2) characters whose bytes are K and OP.
# SIPp 3.6 reads 0x keys into bytes and parses them again as message text,
# so a key byte like '[' would break it; plain characters do not.
K_TEXT='simreg-scscf-K!!' OP_TEXT='simreg-scscf-OP!' AMF_TEXT='AK'
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
K_HEX=$(hex "$K_TEXT") OP_HEX=$(hex "$OP_TEXT") AMF_HEX=$(hex "$AMF_TEXT")

# The HSS's RANDs (hss.test.rand_file): SIPp 3.6.1 computes a wrong
# response when RES holds a 0x00 octet (about 3% of random RANDs), so the
# HSS hands out only RANDs whose RES under these keys has none, the same
# ones in every run. More than any of these tests uses.
"$SIPP_RANDS" --k "$K_HEX" --op "$OP_HEX" --count 500 >"$work/rands"

# add_user NAME [IMPU...]: a subscription NAME@ims.test with its derived
# IMPIs NAME+2, NAME+3 (modified-impi).
add_user() {
	local name=$1 impus
	shift
	impus=${*:-sip:$name@ims.test}
	"$SIMREG" ctl --data "$work/data" subscriber add --impi "$name@ims.test" \
		--impu "${impus// /,}" --k "$K_HEX" --op "$OP_HEX" --amf "$AMF_HEX" \
		--derived-impi '{user}+{2..3}@{realm}' >/dev/null
}

# write_config [POLICY] [EXTRA YAML lines for the scscf section]
write_config() {
	local policy=${1:-none}
	cat >"$work/deploy.yaml" <<YAML
log:
  level: info
loop:
  shutdown_grace: 1s
hss:
  test:
    rand_file: $work/rands
  diameter:
    listen: 127.0.0.1:$hss_port
    peers: [ "scscf.ims.test realm=ims.test" ]
scscf:
  policy: $policy
  server_name: "sip:scscf.ims.test:$sip_port"
${2:-}
  sip:
    listen: [ "udp:127.0.0.1:$sip_port", "tcp:127.0.0.1:$sip_port" ]
  diameter:
    hss_address: 127.0.0.1:$hss_port
    client: ${SCSCF_CX_CLIENT:-loop}
YAML
}

# wait_log FILE PATTERN PID WHAT: until PATTERN is in FILE (20 s at most).
wait_log() {
	local i
	for i in $(seq 1 2000); do
		grep -q -- "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || { cat "$1" >&2; echo "$4 exited" >&2; return 1; }
		sleep 0.01
	done
	cat "$1" >&2
	echo "$4: no '$2' after 20 s" >&2
	return 1
}

start_hss() {
	"$SIMREG" hss --config "$work/deploy.yaml" --data "$work/data" >>"$work/hss.log" 2>&1 &
	hss_pid=$!
	wait_log "$work/hss.log" ' ready: ' "$hss_pid" hss
}

# start_scscf [LOG]: ready means SIP listens and the HSS is connected.
start_scscf() {
	local log=${1:-$work/scscf.log}
	: >"$log"
	"$SIMREG" scscf --config "$work/deploy.yaml" --data "$work/data" >>"$log" 2>&1 &
	scscf_pid=$!
	wait_log "$log" 'ready: .*HSS hss.ims.test connected' "$scscf_pid" scscf
}

# stop_scscf: SIGTERM, and the exit must be clean (status 0, nothing from
# the sanitizers in the sanitizer build).
stop_scscf() {
	local rc=0
	[ -n "$scscf_pid" ] || return 0
	kill "$scscf_pid" 2>/dev/null || true
	wait "$scscf_pid" 2>/dev/null || rc=$?
	scscf_pid=
	[ "$rc" = 0 ] || fail "scscf exited with status $rc after SIGTERM"
	if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/scscf*.log; then
		fail "sanitizer report in the S-CSCF's log"
	fi
}

kill_scscf() {
	[ -n "$scscf_pid" ] || return 0
	kill -9 "$scscf_pid" 2>/dev/null || true
	wait "$scscf_pid" 2>/dev/null || true
	scscf_pid=
}

stop_hss() {
	[ -n "$hss_pid" ] || return 0
	kill "$hss_pid" 2>/dev/null || true
	wait "$hss_pid" 2>/dev/null || true
	hss_pid=
}

# ctl WORDS...: one request on the S-CSCF's control socket (simreg ctl
# scscf), the JSON answer.
ctl() {
	"$SIMREG" ctl --data "$work/data" scscf "$@" || true
}

# json FILTER: read JSON on stdin with python3 and print the filter's value.
json() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; } >&2
	done
	exit 1
}

# --- SIPp ------------------------------------------------------------------

command -v sipp >/dev/null || { echo "sipp is not installed (scripts/deps.sh)" >&2; exit 1; }
SIPPLOG="python3 $here/sipplog.py"

# scenario NAME.xml.in OUT VAR=VALUE...: fill in a SIPp scenario template.
scenario() {
	local in=$here/sipp/$1 out=$2 kv
	shift 2
	local args=(-e "s#@K@#$K_TEXT#g" -e "s#@OP@#$OP_TEXT#g" -e "s#@AMF@#$AMF_TEXT#g")
	for kv in "$@"; do args+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
	# Defaults for what the caller did not give; every other @VAR@ is empty.
	args+=(-e 's#@CONTACT@#[local_ip]:[local_port]#g')
	sed "${args[@]}" -e 's#@[A-Z_]*@##g' "$in" >"$out"
}

# sipp_run NAME SCENARIO PORT [SIPP ARGS]: one call; the messages go to
# $work/NAME.msg.
sipp_run() {
	local name=$1 xml=$2 port=$3
	shift 3
	rm -f "$work/$name.msg" "$work/$name.err"
	(cd "$work" && sipp -sf "$xml" -m 1 -i 127.0.0.1 -p "$port" "127.0.0.1:$sip_port" \
		-trace_msg -message_file "$work/$name.msg" -trace_err -error_file "$work/$name.err" \
		-nostdin -timeout 90 "$@" >"$work/$name.out" 2>&1)
}
