#!/usr/bin/env bash
# Wireshark as the second oracle for tests/data/ipsec/esp_vectors.tsv: every
# packet is wrapped in an IPv4/IPv6 header by text2pcap, then tshark, given
# the SA in its esp_sa table format, must find the ICV good, decrypt, and
# show the UDP ports, a good UDP checksum and the exact UDP payload of the
# vector. test_ipsec_esp holds lib/ipsec to the same bytes.
set -euo pipefail
vectors=$SIMREG_TESTDATA/ipsec/esp_vectors.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A enc_name=([aes-cbc]="AES-CBC [RFC3602]" [des-ede3-cbc]="TripleDES-CBC [RFC2451]" [null]="NULL")
declare -A auth_name=([hmac-sha-1-96]="HMAC-SHA-1-96 [RFC2404]" [hmac-md5-96]="HMAC-MD5-96 [RFC2403]")

n=0
while IFS=$'\t' read -r name src dst spi seq alg ealg akey ekey iv sport dport udp esp; do
	case $name in ''|'#'*|name) continue ;; esac
	fam=-4 proto=IPv4
	case $src in *:*) fam=-6 proto=IPv6 ;; esac
	echo "$esp" | sed 's/../& /g; s/^/000000 /' >"$work/$name.txt"
	text2pcap -q -i 50 "$fam" "$src,$dst" "$work/$name.txt" "$work/$name.pcap" >/dev/null 2>&1
	[ "$ekey" = - ] && ekey= || ekey=0x$ekey
	uat="\"$proto\",\"$src\",\"$dst\",\"0x$spi\",\"${enc_name[$ealg]}\",\"$ekey\",\"${auth_name[$alg]}\",\"0x$akey\""
	got=$(tshark -r "$work/$name.pcap" -o esp.enable_encryption_decode:TRUE \
		-o esp.enable_authentication_check:TRUE -o udp.check_checksum:TRUE \
		-o "uat:esp_sa:$uat" -T fields -E separator=, \
		-e esp.sequence -e esp.icv_good -e esp.pad_len -e udp.srcport -e udp.dstport \
		-e udp.checksum.status -e udp.payload 2>"$work/tshark.err")
	IFS=, read -r gseq good padlen gsport gdport csum payload <<<"$got"
	want_payload=${udp:16}
	if [ "$gseq" != "$seq" ] || [ "$good" != 1 ] || [ -z "$padlen" ] || [ "$gsport" != "$sport" ] ||
	   [ "$gdport" != "$dport" ] || [ "$csum" != 1 ] || [ "${payload//:/}" != "$want_payload" ]; then
		echo "FAIL $name: tshark saw: $got"; cat "$work/tshark.err"
		exit 1
	fi
	echo "ok $name: seq $gseq icv good, pad $padlen, udp $gsport -> $gdport checksum good, ${#want_payload} hex digits of payload match"
	n=$((n + 1))
done <"$vectors"
[ $n -ge 6 ] || { echo "FAIL: only $n vectors"; exit 1; }
echo "$n passed, 0 failed"
