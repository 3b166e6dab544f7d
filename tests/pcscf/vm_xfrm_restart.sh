#!/usr/bin/env bash
# The P-CSCF restarts with the xfrm backend (issue 8 §4): simreg adopts its
# own SAs already in the kernel and never flushes anyone else's. Runs inside
# the kernel-ESP VM (tests/ipsec/vm, Debian's stock kernel), in the same
# boot as ipsec_vm_kernel_esp: tests/ipsec/vm/in_vm.sh calls it.
#
# The P-CSCF does ESP in the kernel; the UE harness does it in userspace
# (the pair ipsec_vm_kernel_esp shows interoperating). Another owner's SA
# and policy sit in the P-CSCF's namespace all along. A registered UE keeps
# working, without registering again, across
#   - a clean stop: the kernel kept the SAs; the new process adopts them;
#   - a crash (SIGKILL): the same;
#   - a restart after the kernel lost our SAs (`simreg ipsec remove --all`
#     while the P-CSCF is down): installed again from the store, the
#     outbound sequence numbers continuing (or the UE's replay window would
#     drop what the P-CSCF sends);
# and the other owner's SA and policy are byte for byte what they were.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT
# Emulated (TCG) and busy: give processes and polls more time.
READY_SECS=60
AWAIT_SECS=30

lab_up
registrar_start
pcscf_config "$work/pcscf.yaml" registration xfrm
pcscf_start "$work/pcscf.yaml" "$work/data"
P=$work/pcscf.ctl
R=$work/registrar.ctl
expect "the P-CSCF runs the xfrm backend" "$(json "$(ctl "$P" status)" .backend)" '^xfrm$'

# Somebody else's SA and policy (an IKE daemon, say), reqid 7.
ip -n "$ns_p" xfrm state add src 198.18.20.9 dst 198.18.20.1 proto esp spi 0x4242 reqid 7 \
	mode transport auth-trunc 'hmac(sha1)' 0x0000000000000000000000000000000000000000 96 \
	enc 'cbc(aes)' 0x00000000000000000000000000000000
ip -n "$ns_p" xfrm policy add src 198.18.20.9 dst 198.18.20.1 dir in \
	tmpl src 198.18.20.9 dst 198.18.20.1 proto esp reqid 7 mode transport
foreign() {
	ip -n "$ns_p" xfrm state get src 198.18.20.9 dst 198.18.20.1 proto esp spi 0x4242 |
		grep -v 'lastused\|use [0-9]'
	ip -n "$ns_p" xfrm policy get src 198.18.20.9 dst 198.18.20.1 dir in | grep -v 'lastused'
}
foreign_before=$(foreign)
# The SPIs in the kernel's SA table of the P-CSCF's namespace.
spis() {
	ip -n "$ns_p" xfrm state | sed -n 's/.* spi \(0x[0-9a-f]*\) reqid.*/\1/p' | sort
}
# The P-CSCF's outbound SAs (SA2, SA3): SPI and the last sequence number sent.
oseqs() {
	ip -s -n "$ns_p" xfrm state | awk '/^src/ { src = $2 } /proto esp spi/ { spi = $4 }
		/oseq 0x/ { for (i = 1; i < NF; i++) if ($i == "oseq") o = $(i + 1)
			    if (src == "198.18.20.1") print spi, o }' | sort
}

ue_start alice 198.18.20.2 alice@ims.test sip:alice@ims.test 198.18.20.1
s=$(register alice)
expect "alice registers (kernel ESP at the P-CSCF, userspace at the UE)" "$(json "$s" .state)" \
	'^registered$'
flow() {
	json "$(ctl "$P" flows)" '.flows[0] | "\(.id) \(.token) \(.sets[0].spi_pc) \(.sets[0].spi_ps) \(.sets[0].port_pc) \(.sets[0].port_ps) \(.sets[0].state)"'
}
set_before=$(flow)
spis_before=$(spis)
expect "the kernel holds her four SAs next to the foreign one" \
	"$(echo "$spis_before" | wc -l) $(echo "$spis_before" | grep -c '^0x00004242$')" '^5 1$'

# round N WHAT : alice sends over SA1 (answered over SA3), the core reaches her over SA2.
round() {
	local n=$1 s
	ctl "$work/alice.ctl" message sip:bob@ims.test >/dev/null
	s=$(await_ue alice '.message_status != 0')
	expect "$2: alice's MESSAGE is answered 200" "$(json "$s" .message_status)" '^200$'
	ctl "$R" message sip:alice@ims.test >/dev/null
	await "$2: the core reaches alice down her Path (over SA2)" "$work/alice.ctl" state \
		".incoming == $n"
}
# same WHAT : the flow and its set are the ones from before, in the kernel as before.
same() {
	expect "$1: same flow, token, SPIs, ports, established" "$(flow)" "^$set_before$"
	expect "$1: the kernel holds the same SAs" "$(spis)" "^$spis_before$"
}
round 1 "before any restart"

echo "== a clean stop"
stop pcscf || fail "the P-CSCF did not stop cleanly"
expect "the SAs stay in the kernel while the P-CSCF is down" "$(spis)" "^$spis_before$"
pcscf_start "$work/pcscf.yaml" "$work/data"
grep -q "SA set [0-9]* adopted from the kernel" "$work/pcscf.log" || fail "no adoption in the log"
ok "the set is adopted from the kernel"
same "after a clean stop"
round 2 "after a clean stop"

echo "== a crash"
stop pcscf KILL || true
pcscf_start "$work/pcscf.yaml" "$work/data"
grep -q "(unclean stop before)" "$work/pcscf.log" || fail "the crash was not noticed"
grep -q "SA set [0-9]* adopted from the kernel" "$work/pcscf.log" || fail "no adoption in the log"
ok "after the crash the set is adopted from the kernel"
same "after a crash"
round 3 "after a crash"

echo "== the kernel lost our SAs"
stop pcscf || fail "the P-CSCF did not stop cleanly"
oseq_before=$(oseqs)
echo "$oseq_before"
expect "SA2 and SA3 have sent packets" "$(echo "$oseq_before" | grep -vc ' 0x0$')" '^2$'
ip netns exec "$ns_p" "$SIMREG" ipsec remove --all >/dev/null
expect "simreg ipsec remove --all leaves only the foreign SA" "$(spis)" '^0x00004242$'
pcscf_start "$work/pcscf.yaml" "$work/data"
grep -q "restored from the store, outbound sequence numbers continue" "$work/pcscf.log" ||
	fail "no re-installation in the log"
ok "the set is installed again from the store"
same "after the kernel lost the set"
[ "$(oseqs)" = "$oseq_before" ] || fail "SA2/SA3 sequence numbers: $(oseqs)"
ok "the kernel's SA2 and SA3 number on from where they were (the UE's replay window remembers)"
round 4 "after the kernel lost the set"

expect "alice never registered again" "$(json "$(ctl "$R" status)" .registers)" '^2$'
[ "$(foreign)" = "$foreign_before" ] || fail "the foreign SA or policy changed: $(foreign)"
ok "the foreign SA and policy are untouched"
stop pcscf || fail "the P-CSCF did not stop cleanly"
no_sanitizer_reports
echo "all $passed checks passed"
