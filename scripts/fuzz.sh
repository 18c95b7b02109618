#!/usr/bin/env bash
# Build the libFuzzer targets (build-fuzz/: clang, ASan+UBSan, -Dfuzz=true, -O1 with line
# tables only: a quarter of the compile time of -O2 -g, reports still name file and line) and run each
# for FUZZ_SECONDS (default 30) from its seed corpus in tests/fuzz/corpus/<target>/.
# Output is TAP: one `ok N - fuzz <target>: <execs> execs, <n> crashes` line per target,
# the plan `1..N`, then `fuzz: P passed, F failed`. Exits non-zero on any crash, leak,
# UB report, timeout or out-of-memory; the input that caused it is kept in
# build-fuzz/fuzz-artifacts/<target>/ and named in the output.
#
#   scripts/fuzz.sh                  every target, 30 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh spec state    two targets, 10 min each
#   FUZZ_ARGS=-print_coverage=1 ...  more libFuzzer flags (the log is build-fuzz/fuzz-<target>.log)
#
# New inputs found while fuzzing go to build-fuzz/fuzz-corpus/<target>/, never into the
# committed seeds (docs/fuzzing.md says how to add a reproducer there).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD:-build-fuzz}
all=(spec annotations urunc_json host_config state mountinfo guest_cmdline shim_args shim_config)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

declare -A dict=([spec]=json [urunc_json]=json [shim_config]=json [state]=json [annotations]=annotations
                 [host_config]=toml [mountinfo]=mountinfo)

echo "1..${#targets[@]}"
if [ ! -f "$build/build.ninja" ]; then
  setup_log=$(mktemp /tmp/urunc-fuzz-setup.XXXXXX)
  if ! CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false \
      -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
      -Doptimization=1 -Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1 >"$setup_log" 2>&1; then
    sed 's/^/# /' "$setup_log" | tail -n 20
    rm -f "$setup_log"
    echo "fuzz: 0 passed, ${#targets[@]} failed (meson setup of $build failed)"
    exit 1
  fi
  rm -f "$setup_log"
fi
if ! ninja -C "$build" -j "${NINJA_JOBS:-2}" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") \
    >"$build/fuzz-build.log" 2>&1; then
  sed 's/^/# /' "$build/fuzz-build.log" | tail -n 20
  echo "fuzz: 0 passed, ${#targets[@]} failed (build failed)"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp}

passed=0
failed=0
n=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  bin=$build/tests/fuzz/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  work=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  log=$build/fuzz-$t.log
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "not ok $n - fuzz $t: no such target"
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$work" "$artifacts"
  find "$artifacts" -mindepth 1 -delete
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="tests/fuzz/dict/${dict[$t]}.dict")
  # shellcheck disable=SC2206 # word splitting of FUZZ_ARGS is wanted
  args+=(${FUZZ_ARGS:-})
  # The work corpus comes first: libFuzzer adds what it finds to the first directory.
  "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1)
  found=$(find "$artifacts" -type f | wc -l)
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi  # died without an artifact
  if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ] && [ -n "$execs" ]; then
    echo "ok $n - fuzz $t: $execs execs, 0 crashes ($cov)"
    passed=$((passed + 1))
  else
    echo "not ok $n - fuzz $t: ${execs:-?} execs, $found crashes (exit $rc, log $log)"
    grep -E 'ERROR: |SUMMARY: |runtime error|check failed|Test unit written|uncaught exception|terminate called' \
      "$log" | head -n 12 | sed 's/^/# /'
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
