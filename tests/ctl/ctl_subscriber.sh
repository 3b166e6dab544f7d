#!/usr/bin/env bash
# simreg ctl subscriber: every verb with good and bad input, as a transcript
# compared with tests/ctl/subscriber.expected. Regenerate after an intended
# change with: SIMREG_REGEN=1 ctest -R ctl_subscriber
set -euo pipefail
: "${SIMREG:?}" "${SIMREG_TESTDATA:?}" "${SIMREG_SOURCE_DIR:?}"

work=$(mktemp -d /tmp/simreg-ctl-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
data="$SIMREG_TESTDATA/ctl"
out="$work/transcript"
expected="$SIMREG_SOURCE_DIR/tests/ctl/subscriber.expected"

# Run simreg with the arguments, record the command line, its output and
# its exit status. Paths of the scratch directory and test data are
# replaced so the transcript does not depend on where it ran.
run() {
	local rc=0
	echo "\$ simreg $*" >"$work/o"
	"$SIMREG" "$@" >>"$work/o" 2>&1 || rc=$?
	sed -e "s#$data#DATA#g" -e "s#$work#WORK#g" "$work/o" >>"$out"
	echo "[rc=$rc]" >>"$out"
}

K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf

# Reading a database that does not exist creates nothing.
run ctl subscriber show alice@ims.test
test ! -e simreg-data

run ctl subscriber add --impi alice@ims.test \
	--impu 'sip:alice@ims.test,tel:+15551230001' --impu sip:alice-work@ims.test \
	--k $K --opc $OPC --sqn 1e0 --derived-impi '{user}+{2..3}@{realm}' \
	--max-registrations 2 --barred sip:alice-work@ims.test
run ctl subscriber show alice+3@ims.test
run ctl subscriber show alice@ims.test --keys

# Every bad field is named, and nothing is written.
run ctl subscriber add --impi bob --impu sip:bob@ims.test --k $K --opc $OPC
run ctl subscriber add --impi bob@ims.test --impu bob@ims.test --k $K --opc $OPC
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k 1234 --opc $OPC
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --op $OPC
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --amf 8
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --sqn 1000000000000
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --derived-impi '{user}+{5..1}@{realm}'
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --max-registrations many
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --barred sip:carol@ims.test
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --roaming maybe
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --colour blue
run ctl subscriber add --impi bob@ims.test --impu sip:alice@ims.test --k $K --opc $OPC
run ctl subscriber add --impi alice+2@ims.test --impu sip:bob@ims.test --k $K --opc $OPC
run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --opc $OPC --derived-impi 'alice+{2..2}@{realm}'
run ctl subscriber list

run ctl subscriber add --impi bob@ims.test --impu sip:bob@ims.test --k $K --op $OPC --amf 0000
run ctl subscriber set bob@ims.test --sqn 40 --roaming yes --unregistered-services sip:bob@ims.test
run ctl subscriber set alice+2@ims.test --sqn 40
run ctl subscriber set --impi bob@ims.test --impu 'sip:bob@ims.test|sip:bob2@ims.test' --barred sip:bob2@ims.test
run ctl subscriber set bob@ims.test --derived-impi '{user}-{1..1}@{realm}'
run ctl subscriber set bob@ims.test --k nothex
run ctl subscriber set bob@ims.test
run ctl subscriber show bob@ims.test

# Import: a good file, then a bad one that changes nothing.
run ctl subscriber import "$data/good.csv"
run ctl subscriber show dave.2@ims.test
cp simreg-data/hss.db before.db
"$SIMREG" ctl subscriber list >before.list
run ctl subscriber import "$data/bad.csv"
run ctl subscriber import "$data/badheader.csv"
run ctl subscriber import "$data/badquote.csv"
run ctl subscriber import "$work/missing.csv"
"$SIMREG" ctl subscriber list >after.list
cmp before.list after.list
run ctl subscriber list

run ctl subscriber delete alice+2@ims.test
run ctl subscriber delete alice@ims.test
run ctl subscriber show alice+2@ims.test
run ctl subscriber delete alice@ims.test
run ctl --data "$work/elsewhere" subscriber list

if [ "${SIMREG_REGEN:-}" = 1 ]; then
	cp "$out" "$expected"
	echo "regenerated $expected"
	exit 0
fi
diff -u "$expected" "$out"
echo "ctl_subscriber: transcript matches ($(grep -c '^\$ ' "$out") commands)"
