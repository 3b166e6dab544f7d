#!/usr/bin/env bash
# The userspace ESP backend on this host, in two network namespaces: a UE
# and a P-CSCF exchange SIP messages over all four SAs of a set, in IPv4
# (198.18.7.0/24) and IPv6 (2001:db8:7::/64); an attacker replays and
# tampers with captured ESP, which is dropped and counted; tshark decrypts
# the capture with the keys the P-CSCF exported and must see the SIP inside.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PEER=$SIMREG_BUILD_DIR/tests/ipsec/ipsec_peer
work=$(mktemp -d)
source "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)"; exit 1; }
lab_up

# TS 35.208 set 1 IK/CK; the peers expand them per 33.203 Annex I.
keys=(--alg hmac-sha-1-96 --ealg aes-cbc --ik f769bcd751044604127672711c6d3441
      --ck b40ba9a3c58b2a05bbf0d987b21bf8cb)

run_family() { # NAME UE PC SPIBASE PORTBASE
	local fam=$1 ue=$2 pc=$3 sb=$4 pb=$5
	local uc=$((pb + 1)) us=$((pb + 2)) pcp=$((pb + 11)) ps=$((pb + 12))
	local spi_uc=$((sb + 1)) spi_us=$((sb + 2)) spi_pc=$((sb + 11)) spi_ps=$((sb + 12))
	local sec=(--ue "$ue" --pcscf "$pc" --client "$spi_uc,$spi_us,$uc,$us"
		   --server "$spi_pc,$spi_ps,$pcp,$ps")
	echo "== $fam: UE $ue ports $uc/$us, P-CSCF $pc ports $pcp/$ps =="
	rm -f "$work/keys.$fam"
	capture_start "$ns_pc" veth-pc "$work/$fam.pcap" 4
	peer_start pc "$ns_pc" --backend userspace --side pcscf "${sec[@]}" "${keys[@]}" \
		--keylog "$work/keys.$fam"
	peer_start ue "$ns_ue" --backend userspace --side ue "${sec[@]}" "${keys[@]}"
	exchange "$ue" "$pc" "$uc" "$us" "$pcp" "$ps"
	capture_wait
	attack "$ns_ue" "$work/$fam.pcap" "$(printf %x $spi_ps)" pc "$ps"
	peer_counters pc | sed 's/^/  pcscf /'
	peer_counters ue | sed 's/^/  ue    /'
	r=$(peer_counters ue | grep '^sa3 ')
	expect "UE SA3 counted one packet, no drops" "$r" "packets=1 .*replay=0 auth=0 other=0$"
	peer_stop ue
	peer_stop pc
	expect "the key log holds the four SAs" "$(wc -l <"$work/keys.$fam")" "^4$"
	tshark_check "$work/$fam.pcap" "$work/keys.$fam" "$(printf '%s\n' \
		"$(printf 0x%08x $spi_ps) 1 $uc $ps 1 REGISTER" \
		"$(printf 0x%08x $spi_uc) 1 $ps $uc 1 200" \
		"$(printf 0x%08x $spi_us) 1 $pcp $us 1 NOTIFY" \
		"$(printf 0x%08x $spi_pc) 1 $us $pcp 1 200")"
}

run_family v4 198.18.7.2 198.18.7.1 $((0x10000)) 20000
run_family v6 2001:db8:7::2 2001:db8:7::1 $((0x20000)) 21000
echo "2 passed, 0 failed"
