#!/usr/bin/env bash
# The shutdown path with real signals: loop_signal_prog is started, its
# "ready" line awaited (printed by a work item that a thread handed to the
# loop), then signalled. Every case must end with exit status 0 and the
# expected transcript of shutdown hooks.
set -euo pipefail
prog=$SIMREG_BUILD_DIR/tests/core/loop_signal_prog
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  exec 3<&- 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
failures=0 passed=0

# start ARGS... : run the program with stdout on a fifo read through fd 3.
start() {
  rm -f "$dir/out"
  mkfifo "$dir/out"
  "$prog" "$@" >"$dir/out" 2>"$dir/err" &
  pid=$!
  exec 3<"$dir/out"
  : >"$dir/transcript"
}

# expect LINE : read lines (10 s at most each) until LINE arrives.
expect() {
  local line
  while IFS= read -r -t 10 line <&3; do
    echo "$line" >>"$dir/transcript"
    [ "$line" = "$1" ] && return 0
  done
  echo "  did not see '$1'; got:"; sed 's/^/    /' "$dir/transcript" "$dir/err"
  return 1
}

# finish NAME EXPECTED_TRANSCRIPT : read to the end, check status and lines.
finish() {
  local name=$1 want=$2 status=0 line
  while IFS= read -r -t 10 line <&3; do echo "$line" >>"$dir/transcript"; done
  wait "$pid" || status=$?
  pid=
  exec 3<&-
  if [ "$status" -eq 0 ] && [ "$(cat "$dir/transcript")" = "$want" ]; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (exit status $status)"
    echo "  expected:"; printf '%s\n' "$want" | sed 's/^/    /'
    echo "  got:"; sed 's/^/    /' "$dir/transcript"
    echo "  stderr:"; sed 's/^/    /' "$dir/err"
    failures=$((failures + 1))
  fi
}

# SIGTERM: the listener closes, in-flight work finishes within the grace.
start 200 5000
expect ready
kill -TERM "$pid"
finish "SIGTERM finishes in-flight work" "ready
listener: closed
transactions: finishing in-flight work
transactions: finished in-flight work
exit clean"

# SIGINT with a component that never finishes: failed when the grace ends;
# the slower in-flight work is failed too.
start 60000 300 stuck
expect ready
kill -INT "$pid"
finish "SIGINT fails what outlives the grace period" "ready
listener: closed
transactions: finishing in-flight work
stuck: begin
transactions: failed in-flight work
stuck: failed in-flight work
exit clean"

# SIGHUP reloads and keeps running; a second SIGTERM cuts the (one minute)
# grace period short.
start 60000 60000 stuck
expect ready
kill -HUP "$pid"
expect reload
kill -TERM "$pid"
expect "stuck: begin"
kill -TERM "$pid"
finish "SIGHUP reloads, second SIGTERM ends the grace period" "ready
reload
listener: closed
transactions: finishing in-flight work
stuck: begin
transactions: failed in-flight work
stuck: failed in-flight work
exit clean"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
