#!/usr/bin/env bash
# failure.sh - a lab that goes wrong half-way leaves nothing behind.
#
# The process under supervision here is `sleep 60`, which never prints
# "ready": it is the supervisor that is under test, not a network function.
#   1. readiness timeout: `up` fails, says why, and undoes everything;
#   2. a process that dies at start: `up` quotes the end of its log, undoes;
#   3. SIGTERM to `up` while it waits: undone;
#   4. SIGKILL to `up` while it waits (a crash): everything is still there,
#      and `down` removes it using lab.json;
#   5. the same with lab.json deleted: `down` finds the lab by name prefix.
# After each: no namespace of the lab, no process it started, and every
# capture a complete pcap file. Needs root (exit 77 otherwise).
set -euo pipefail
: "${SIMREG:?}"
if [ "$(id -u)" != 0 ]; then
	echo "lab_failure needs root: skipped"
	exit 77
fi
work=$(mktemp -d /tmp/simreg-lab-failure.XXXXXX)
cleanup() {
	for d in "$work"/*/; do
		"$SIMREG" lab down --dir "$d" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
fails=0 checks=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
runs() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}
sleeper=(--exec sleeper core ready sleep 60 ';')

# Everything of lab DIR is gone: namespaces, the pids named in FILE, and the
# captures are complete pcap files.
assert_clean() {
	local what=$1 dir=$2 pids=$3 id left pid pcap
	id=$(jq -r .id "$work/ids/$(basename "$dir")")
	left=$(ip netns list | grep -c "^simreg-$id-" || true)
	checks=$((checks + 1))
	[ "$left" = 0 ] || fail "$what: $left namespaces of lab $id left"
	for pid in $pids; do
		checks=$((checks + 1))
		if runs "$pid"; then
			fail "$what: pid $pid ($(cat /proc/$pid/comm)) still runs"
		fi
	done
	for pcap in "$dir"/*.pcap; do
		[ -e "$pcap" ] || continue
		checks=$((checks + 1))
		tshark -r "$pcap" >/dev/null 2>&1 || fail "$what: $pcap is not a complete capture"
	done
}

# The lab id of a directory, taken from `simreg lab plan`-independent
# ground truth: the namespaces `up` announces on stderr.
mkdir -p "$work/ids"
remember_id() { # DIR ERRFILE
	local id
	id=$(sed -n 's/.*lab \([0-9a-f]\{6\}\): building.*/\1/p' "$2" | head -1)
	printf '{"id":"%s"}' "$id" >"$work/ids/$(basename "$1")"
}
# pids the lab started, from its "started pid N" lines
started_pids() { sed -n 's/.*: started pid \([0-9]*\):.*/\1/p' "$1"; }

# ---- 1. readiness timeout ---------------------------------------------------
dir=$work/timeout
set +e
"$SIMREG" lab up --topology t1 --dir "$dir" --ready-timeout 500 "${sleeper[@]}" 2>"$work/err"
rc=$?
set -e
remember_id "$dir" "$work/err"
[ $rc = 1 ] || fail "timeout: up exited $rc, expected 1"
grep -q 'sleeper (pid [0-9]*) did not print "ready" within 500 ms' "$work/err" ||
	fail "timeout: no explanation in: $(cat "$work/err")"
grep -q "undone" "$work/err" || fail "timeout: not undone: $(cat "$work/err")"
jq -e '.state == "failed" and (.error | test("not become ready"))' "$dir/lab.json" >/dev/null ||
	fail "timeout: lab.json does not record the failure"
[ "$(started_pids "$work/err" | wc -l)" = 7 ] || fail "timeout: expected 6 captures + sleeper"
assert_clean timeout "$dir" "$(started_pids "$work/err")"
echo "1. readiness timeout: undone"

# ---- 2. early death -----------------------------------------------------------
dir=$work/death
set +e
"$SIMREG" lab up --topology t2 --dir "$dir" \
	--exec broken pcscf-b ready sh -c 'echo "no configuration in /nonexistent" >&2; exit 3' ';' \
	2>"$work/err"
rc=$?
set -e
remember_id "$dir" "$work/err"
[ $rc = 1 ] || fail "death: up exited $rc, expected 1"
grep -q "broken (pid [0-9]*) exited with status 3 before it was ready" "$work/err" ||
	fail "death: no explanation in: $(cat "$work/err")"
grep -q "| no configuration in /nonexistent" "$work/err" ||
	fail "death: the log's last lines are not quoted: $(cat "$work/err")"
assert_clean death "$dir" "$(started_pids "$work/err")"
echo "2. early death: undone"

# ---- 3-5: interrupt and crash while `up` waits for the sleeper ------------------
# Start `up` in the background and follow its stderr until the sleeper has
# been started (an event, not a delay).
start_up_and_wait() { # DIR
	mkfifo "$work/fifo"
	"$SIMREG" lab up --topology t1 --dir "$1" --ready-timeout 60000 "${sleeper[@]}" \
		2>"$work/fifo" &
	up_pid=$!
	exec 3<"$work/fifo"
	: >"$work/err"
	while IFS= read -r -t 30 line <&3; do
		printf '%s\n' "$line" >>"$work/err"
		# logged once lab.json names the sleeper
		[[ $line == *"sleeper: waiting up to"* ]] && break
	done
	cat <&3 >>"$work/err" &
	drain_pid=$!
	rm -f "$work/fifo"
	remember_id "$1" "$work/err"
	grep -q "sleeper: waiting up to" "$work/err" || fail "up never started the sleeper"
}
finish_up() {
	set +e
	wait "$up_pid"
	rc=$?
	wait "$drain_pid"
	set -e
	exec 3<&-
}

dir=$work/interrupt
start_up_and_wait "$dir"
kill -TERM "$up_pid"
finish_up
[ $rc = 1 ] || fail "interrupt: up exited $rc, expected 1"
grep -q "interrupted; undoing" "$work/err" || fail "interrupt: $(cat "$work/err")"
assert_clean interrupt "$dir" "$(started_pids "$work/err")"
echo "3. SIGTERM during up: undone"

for variant in crash crash-no-json; do
	dir=$work/$variant
	start_up_and_wait "$dir"
	kill -KILL "$up_pid"
	finish_up 2>/dev/null
	pids=$(started_pids "$work/err")
	id=$(jq -r .id "$work/ids/$variant")
	# A crash undoes nothing: it is all still there ...
	[ "$(ip netns list | grep -c "^simreg-$id-")" = 5 ] || fail "$variant: namespaces missing"
	for pid in $pids; do
		runs "$pid" || fail "$variant: pid $pid died with up"
	done
	# ... lab.json already names the sleeper ...
	jq -e '.state == "building" and (.processes[0].pid > 0)' "$dir/lab.json" >/dev/null ||
		fail "$variant: lab.json does not record the sleeper"
	[ $variant = crash-no-json ] && rm "$dir/lab.json"
	# ... and down removes it all.
	"$SIMREG" lab down --dir "$dir" >"$work/out" 2>"$work/down.err" ||
		fail "$variant: down failed: $(cat "$work/down.err")"
	if [ $variant = crash-no-json ]; then
		grep -q "removing by name prefix simreg-$id-" "$work/down.err" ||
			fail "$variant: down did not fall back to the prefix: $(cat "$work/down.err")"
		# Without lab.json the captures are found inside the namespaces
		# and stopped there; the sleeper with them.
		grep -q "strays stopped" "$work/out" || fail "$variant: $(cat "$work/out")"
	else
		grep -q "1 processes, 6 captures, 0 strays stopped; 5 namespaces removed" \
			"$work/out" || fail "$variant: down said: $(cat "$work/out")"
	fi
	assert_clean "$variant" "$dir" "$pids"
	"$SIMREG" lab down --dir "$dir" >/dev/null 2>&1 || fail "$variant: second down failed"
	echo "$( [ $variant = crash ] && echo 4 || echo 5 ). SIGKILL during up ($variant): down cleans up"
done

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
