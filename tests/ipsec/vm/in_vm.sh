#!/usr/bin/env bash
# Runs inside the test VM (Debian's stock kernel, with ESP), chrooted into
# the host's filesystem; see vm_kernel_esp.sh. $1 is the results directory,
# which holds `env` (paths of the binaries under test).
set -euo pipefail
results=$1
source "$results/env"
here=$SIMREG_SOURCE_DIR/tests/ipsec
work=$(mktemp -d)
source "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT
echo "kernel: $(uname -r)"

echo "== simreg ipsec probe =="
out=$("$SIMREG" ipsec probe)
echo "$out"
expect "auto picks xfrm on a kernel with ESP" "$out" $'auto: +xfrm'

lab_up
# Kernel ESP at both ends.
run_pair xfrm xfrm xfrm-xfrm-v4 198.18.7.2 198.18.7.1 $((0x30000)) 22000
run_pair xfrm xfrm xfrm-xfrm-v6 2001:db8:7::2 2001:db8:7::1 $((0x31000)) 22100
# Kernel at one end, simreg's userspace ESP at the other, both ways round.
run_pair xfrm userspace xfrm-user-v4 198.18.7.2 198.18.7.1 $((0x32000)) 22200
run_pair xfrm userspace xfrm-user-v6 2001:db8:7::2 2001:db8:7::1 $((0x33000)) 22300
run_pair userspace xfrm user-xfrm-v4 198.18.7.2 198.18.7.1 $((0x34000)) 22400
run_pair userspace xfrm user-xfrm-v6 2001:db8:7::2 2001:db8:7::1 $((0x35000)) 22500
# TCP over the SAs: the kernel's TCP at both ends, ESP by the kernel or by
# simreg through its TUN (lib.sh, run_tcp_pair), both ways round.
run_tcp_pair xfrm xfrm tcp-xfrm-xfrm-v4 198.18.7.2 198.18.7.1 $((0x36000)) 22600
run_tcp_pair xfrm userspace tcp-xfrm-user-v4 198.18.7.2 198.18.7.1 $((0x37000)) 22700
run_tcp_pair xfrm userspace tcp-xfrm-user-v6 2001:db8:7::2 2001:db8:7::1 $((0x38000)) 22800
run_tcp_pair userspace xfrm tcp-user-xfrm-v4 198.18.7.2 198.18.7.1 $((0x39000)) 22900
run_tcp_pair userspace xfrm tcp-user-xfrm-v6 2001:db8:7::2 2001:db8:7::1 $((0x3a000)) 23100

echo "== restart: list and adopt only our own SAs =="
# Somebody else's SA in the same namespace: never listed, never removed.
ip -n "$ns_pc" xfrm state add src 198.18.7.9 dst 198.18.7.1 proto esp spi 0x4242 \
	reqid 7 mode transport auth-trunc 'hmac(sha1)' 0x0000000000000000000000000000000000000000 96 \
	enc 'cbc(aes)' 0x00000000000000000000000000000000
# A P-CSCF that dies with its set installed (--keep: no removal on exit).
peer_start pc "$ns_pc" --backend xfrm --side pcscf --keep --ue 198.18.7.2 --pcscf 198.18.7.1 \
	--client 401,402,23001,23002 --server 411,412,23011,23012 "${keys[@]}"
peer_stop pc
out=$(ip netns exec "$ns_pc" "$SIMREG" ipsec list)
echo "$out"
expect "a new process finds the set it left" "$out" \
	"^set [0-9]+ pcscf ue 198.18.7.2 ports 23001/23002 spis 0x00000191/0x00000192 pcscf 198.18.7.1 ports 23011/23012 spis 0x0000019b/0x0000019c hmac-sha-1-96 aes-cbc"$'\n'"1 set$"
ip netns exec "$ns_pc" "$SIMREG" ipsec remove --all
left=$(ip -n "$ns_pc" xfrm state | grep -c '^src' || true)
expect "remove --all leaves only the foreign SA" "$left" "^1$"
expect "the foreign SA is untouched" "$(ip -n "$ns_pc" xfrm state)" "spi 0x00004242 reqid 7"
expect "no policy is left" "$(ip -n "$ns_pc" xfrm policy | grep -c . || true)" "^0$"

echo "== errors are read back =="
peer_start pc "$ns_pc" --backend xfrm --side pcscf --ue 198.18.7.2 --pcscf 198.18.7.1 \
	--client 501,502,24001,24002 --server 511,512,24011,24012 "${keys[@]}"
# The same spi_ps again: the kernel refuses SA1 and the set is not half-installed.
: >"$work/dup.err"
set +e
ip netns exec "$ns_pc" "$PEER" --backend xfrm --side pcscf --ue 198.18.7.3 \
	--pcscf 198.18.7.1 --client 601,602,24001,24002 --server 511,512,24011,24012 \
	"${keys[@]}" </dev/null >"$work/dup.out" 2>>"$work/dup.err"
rc=$?
set -e
cat "$work/dup.err"
expect "a clash fails" "$rc" "^2$"
expect "the error names SPI, addresses and the kernel's errno" "$(cat "$work/dup.err")" \
	"xfrm NEWSA for SA1 of set 1 \(spi 0x00000200 198.18.7.3 port 24001 -> 198.18.7.1 port 24012\): File exists"
expect "nothing of the failed set stays" "$(ip -n "$ns_pc" xfrm state | grep -c '^src' || true)" "^5$"
echo "== SPIs unique among everything the host holds =="
expect "somebody else's SPI is seen as taken" "$(peer_cmd pc "spi 4242")" "^spi 0x00004242 in use$"
expect "so is ours" "$(peer_cmd pc "spi 200")" "^spi 0x00000200 in use$"
expect "a free one is free" "$(peer_cmd pc "spi 4243")" "^spi 0x00004243 free$"
echo "alloc 2" >&"${peer_in[pc]}"
got=$(while read -t 30 -r line <&"${peer_out[pc]}" && [ "$line" != end ]; do echo "$line"; done)
echo "$got"
expect "the allocator skips the kernel's SPI 0x4242" "$got" \
	"^alloc spi_c=0x00004243 spi_s=0x00004244"$'\n'"alloc spi_c=0x00004245 spi_s=0x00004246$"
peer_stop pc
expect "the first set is gone with its peer" "$(ip -n "$ns_pc" xfrm state | grep -c '^src' || true)" "^1$"
echo "6 pairs, 5 TCP pairs, adoption, error reporting, SPI vetoes: all passed"
lab_down

# The same boot serves the P-CSCF's restart with kernel ESP (issue 8 §4).
echo "== the P-CSCF restarts with the xfrm backend =="
SIMREG=$SIMREG SIMREG_BUILD_DIR=$SIMREG_BUILD_DIR SIMREG_SOURCE_DIR=$SIMREG_SOURCE_DIR \
	bash "$SIMREG_SOURCE_DIR/tests/pcscf/vm_xfrm_restart.sh"

# SIP over protected TCP with kernel ESP at both ends: the UE's netns test
# (tests/ue/netns_tcp.sh, userspace ESP in the suite) with the xfrm backend.
echo "== SIP over protected TCP, xfrm at the UE and the P-CSCF =="
SIMREG=$SIMREG SIMREG_BUILD_DIR=$SIMREG_BUILD_DIR SIMREG_SOURCE_DIR=$SIMREG_SOURCE_DIR \
	UE_TEST_BACKEND=xfrm bash "$SIMREG_SOURCE_DIR/tests/ue/netns_tcp.sh"
