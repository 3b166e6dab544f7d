#!/usr/bin/env bash
# The HSS over a real Diameter connection: every Cx command and error
# (cx_register.cx, cx_deregister.cx), the state they leave (simreg ctl
# subscriber show), and the same data with the HSS restarted with
# keep_server_name off (cx_store_name.cx).
# Compared with cx_commands.expected; after an intended change:
#     SIMREG_REGEN=1 ctest --test-dir build -R hss_cx_commands
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
expected=$here/cx_commands.expected
out=$work/transcript
port=$(free_port)

cat >"$work/hss.yaml" <<YAML
log:
  level: info
hss:
  max_vectors: 3
  home_networks: [ ims.test ]
  scscf_names: [ "sip:scscf.ims.test:6060" ]
  diameter:
    listen: 127.0.0.1:$port
    peers: [ "scscf.ims.test realm=ims.test" ]
YAML
sed -e 's/keep_server_name.*//' -e 's/^hss:$/hss:\n  keep_server_name: false/' \
	"$work/hss.yaml" >"$work/hss-nokeep.yaml"

ctl() { "$SIMREG" ctl --data "$work/data" subscriber "$@" >/dev/null; }
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
ctl add --impi alice@ims.test --impu 'sip:alice@ims.test,tel:+15551230001' \
	--impu sip:alice-office@ims.test --k $K --opc $OPC \
	--derived-impi '{user}+{2..3}@{realm}' --max-registrations 2 \
	--barred sip:alice-office@ims.test
ctl add --impi bob@ims.test --impu sip:bob@ims.test --k 000102030405060708090a0b0c0d0e0f \
	--op 00112233445566778899aabbccddeeff --amf 0000 --roaming yes
ctl add --impi carol@ims.test --impu sip:carol@ims.test --k $K --opc $OPC \
	--barred sip:carol@ims.test
ctl add --impi dave@ims.test --impu sip:dave@ims.test --k $K --opc $OPC \
	--unregistered-services sip:dave@ims.test

client() {
	"$CX_CLIENT" --run-dir "$work/client" --address "127.0.0.1:$port" --timeout 5000 \
		<"$1" >>"$out" 2>>"$work/client.err"
}
show() {
	echo "\$ simreg ctl subscriber show $1" >>"$out"
	"$SIMREG" ctl --data "$work/data" subscriber show "$1" |
		sed -E 's/(since|refreshed)=[^ ]+/\1=TIME/g' >>"$out"
}

mkdir -p "$work/client"
start_hss "$work/hss.yaml" "$work/data" "$work/hss.log"
client "$here/cx_register.cx"
show alice@ims.test
client "$here/cx_deregister.cx"
show alice@ims.test
show bob@ims.test
stop_hss "$work/hss.log"
start_hss "$work/hss-nokeep.yaml" "$work/data" "$work/hss2.log"
client "$here/cx_store_name.cx"
show bob@ims.test
stop_hss "$work/hss2.log"

# Whatever the transcript says, the HSS never logs key material.
if grep -qi -e "$K" -e "$OPC" "$work"/hss*.log; then
	echo "key material in the HSS log" >&2
	exit 1
fi
if [ "${SIMREG_REGEN:-}" = 1 ]; then
	cp "$out" "$expected"
	echo "regenerated $expected"
	exit 0
fi
if ! diff -u "$expected" "$out"; then
	echo "--- client stderr:" >&2; cat "$work/client.err" >&2
	echo "--- hss log:" >&2; cat "$work/hss.log" >&2
	exit 1
fi
echo "hss_cx_commands: $(grep -c '^> ' "$out") requests, transcript matches"
