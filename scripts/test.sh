#!/usr/bin/env bash
# Run every test: unit (Catch2), integration (bats + fake VMM), e2e (real QEMU/TCG, loop
# devices, containerd, docker). Ends with "N passed, M failed" and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
skipped=0
logdir=$(mktemp -d /tmp/urunc-test-logs.XXXXXX)

# Catch2 v2 summary: "All tests passed (A assertions in N test cases)" or
# "test cases: T | P passed | F failed".
run_unit() {
  local name=$1 bin=$2
  echo "== $name"
  "$bin" 2>&1 | tee "$logdir/$name.log" | tail -n 3
  if grep -q "All tests passed" "$logdir/$name.log"; then
    n=$(sed -n 's/.*in \([0-9]*\) test case.*/\1/p' "$logdir/$name.log" | tail -n1)
    passed=$((passed + ${n:-0}))
  else
    line=$(grep -E "^test cases:" "$logdir/$name.log" | tail -n1)
    p=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
  fi
}
run_unit unit build/tests/unit/unit_tests

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer
# (URUNC_NO_SANITIZE=1 skips this build).
if [ "${URUNC_NO_SANITIZE:-0}" != 1 ]; then
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  if ninja -C build-asan tests/unit/unit_tests >"$logdir/asan-build.log" 2>&1; then
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_unit unit-asan build-asan/tests/unit/unit_tests
  else
    tail -n 20 "$logdir/asan-build.log"; failed=$((failed + 1))
  fi
fi

run_bats() {
  local name=$1 dir=$2
  [ -d "$dir" ] || return 0
  ls "$dir"/*.bats >/dev/null 2>&1 || return 0
  echo "== $name"
  bats --tap "$dir" 2>&1 | tee "$logdir/$name.log" | grep -E "^(not ok|# )" || true
  local ok notok skip
  ok=$(grep -cE "^ok " "$logdir/$name.log")
  notok=$(grep -cE "^not ok " "$logdir/$name.log")
  skip=$(grep -cE "^ok .* # skip" "$logdir/$name.log")
  # a suite that died before reporting counts as one failure
  if [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ]; then notok=1; fi
  echo "$name: $((ok - skip)) passed, $notok failed, $skip skipped"
  passed=$((passed + ok - skip)); failed=$((failed + notok)); skipped=$((skipped + skip))
}

export URUNC_BUILD="$top/build"
run_bats integration tests/integration
run_bats e2e tests/e2e

echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
