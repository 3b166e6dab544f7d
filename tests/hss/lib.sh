# Shared by the HSS script tests: a scratch directory, a free port, an HSS
# started with an explicit readiness signal (its "ready" log line), and the
# Cx client. Source it; it sets a trap that stops what it started.
: "${SIMREG:?}" "${SIMREG_BUILD_DIR:?}" "${SIMREG_SOURCE_DIR:?}"

CX_CLIENT=$SIMREG_BUILD_DIR/tests/diameter/cx_client
work=$(mktemp -d /tmp/simreg-hss-XXXXXX)
hss_pid=
cleanup() {
	if [ -n "$hss_pid" ]; then kill -9 "$hss_pid" 2>/dev/null || true; fi
	[ -n "${SIMREG_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# A TCP port nobody listens on (tests of other helpers run meanwhile).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# start_hss CONFIG DATA_DIR LOG: start it and wait for "ready" (10 s at most).
start_hss() {
	local config=$1 data=$2 log=$3 i
	"$SIMREG" hss --config "$config" --data "$data" >"$log" 2>&1 &
	hss_pid=$!
	for i in $(seq 1 1000); do
		grep -q ' ready: ' "$log" && return 0
		kill -0 "$hss_pid" 2>/dev/null || { cat "$log"; echo "hss exited" >&2; return 1; }
		sleep 0.01
	done
	cat "$log"
	echo "hss not ready after 10 s" >&2
	return 1
}

# stop_hss [LOG]: SIGTERM, and the HSS must exit 0 (in the sanitizer
# build, a leak or an error report makes it fail; LOG is shown then).
stop_hss() {
	local rc=0
	[ -n "$hss_pid" ] || return 0
	kill "$hss_pid" 2>/dev/null || true
	wait "$hss_pid" 2>/dev/null || rc=$?
	hss_pid=
	if [ "$rc" -ne 0 ]; then
		echo "hss exited with status $rc" >&2
		[ -n "${1:-}" ] && tail -40 "$1" >&2
		return 1
	fi
}
