#!/usr/bin/env bash
# Run every test: unit (Catch2), integration (bats + fake VMM), e2e (real QEMU/TCG, loop
# devices, containerd, docker). Ends with "N passed, M failed" and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
logdir=$(mktemp -d /tmp/urunc-test-logs.XXXXXX)

# Catch2 v2 summary: "All tests passed (A assertions in N test cases)" or
# "test cases: T | P passed | F failed".
echo "== unit"
build/tests/unit/unit_tests 2>&1 | tee "$logdir/unit.log" | tail -n 3
if grep -q "All tests passed" "$logdir/unit.log"; then
  n=$(sed -n 's/.*in \([0-9]*\) test case.*/\1/p' "$logdir/unit.log" | tail -n1)
  passed=$((passed + ${n:-0}))
else
  line=$(grep -E "^test cases:" "$logdir/unit.log" | tail -n1)
  p=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
fi

run_bats() {
  local name=$1 dir=$2
  [ -d "$dir" ] || return 0
  ls "$dir"/*.bats >/dev/null 2>&1 || return 0
  echo "== $name"
  bats --tap "$dir" 2>&1 | tee "$logdir/$name.log" | grep -E "^(not ok|# )" || true
  local ok notok
  ok=$(grep -cE "^ok " "$logdir/$name.log")
  notok=$(grep -cE "^not ok " "$logdir/$name.log")
  # a suite that died before reporting counts as one failure
  if [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ]; then notok=1; fi
  echo "$name: $ok passed, $notok failed"
  passed=$((passed + ok)); failed=$((failed + notok))
}

export URUNC_BUILD="$top/build"
run_bats integration tests/integration
run_bats e2e tests/e2e

echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
