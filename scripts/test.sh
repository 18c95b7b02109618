#!/usr/bin/env bash
# Run every test: unit (Catch2, then again under ASan+UBSan+LSan), integration (bats + fake
# VMM), e2e (real QEMU/TCG, loop devices, containerd, docker), fuzz (libFuzzer targets). Exits non-zero on any failure;
# the last line is exactly "N passed, M failed, K skipped".
#
# What counts (so that green means tested):
# * every suite's exit status is read; a non-zero status is a failure even when every
#   result line said "ok";
# * a bats file's TAP plan (`1..N`) is compared with the results it printed: results that
#   never came (a crashed or truncated run) are failures;
# * a unit binary runs under `timeout`; its exit status decides; the number of test cases
#   it ran must equal the number it lists; any sanitizer report in its output fails it;
# * every bats test has a time limit (BATS_TEST_TIMEOUT, per suite below);
# * with CI=true a skipped test is a failure unless it is listed, with its reason, in
#   tests/skips.allow (printed below). Without CI, skips are counted and listed.
#
# Suites are found by glob (tests/integration/*.bats, tests/e2e/*.bats), never listed here.
# Environment: URUNC_NO_SANITIZE=1 skips the sanitizer build; URUNC_TEST_SUITES="unit
# integration e2e" picks suites; URUNC_UNIT_TIMEOUT, URUNC_IT_TEST_TIMEOUT,
# URUNC_E2E_TEST_TIMEOUT (seconds) override the limits; FUZZ_SECONDS (default 20) is the
# time each fuzz target runs. For --self-check only:
# URUNC_TEST_TESTS_DIR (another tests/ dir), URUNC_UNIT_BIN (another unit binary),
# URUNC_TEST_NO_BUILD=1.
#
# `scripts/test.sh --self-check` proves that the runner fails what it must: it runs the
# runner on a throw-away tests dir holding a bats file that dies after its first result, one
# that exits non-zero after all "ok", an unlisted skip under CI=true and a unit binary that
# prints "All tests passed" but exits 1 (and one whose LeakSanitizer finds a leak when a
# compiler is at hand), and checks that each run ends "…, N failed" with N > 0.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "${1:-}" = --self-check ]; then
	exec scripts/test-selfcheck.sh
fi

suites=${URUNC_TEST_SUITES:-unit integration e2e fuzz}
tests_dir=${URUNC_TEST_TESTS_DIR:-$top/tests}
allow_file=${URUNC_SKIPS_ALLOW:-$tests_dir/skips.allow}
ci=${CI:-false}
[ "$ci" = 1 ] && ci=true

passed=0
failed=0
skipped=0
failures=()
skips=()
logdir=${URUNC_TEST_LOGDIR:-$(mktemp -d /tmp/urunc-test-logs.XXXXXX)}
mkdir -p "$logdir"

has_suite() { [[ " $suites " == *" $1 "* ]]; }
fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
}

if [ -z "${URUNC_TEST_NO_BUILD:-}" ]; then
	if ! scripts/build.sh >"$logdir/build.log" 2>&1; then
		tail -n 30 "$logdir/build.log"
		echo "build failed (log: $logdir/build.log)"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

# --- skip allow-list ---------------------------------------------------------------------
# One line per allowed skip: `<file>.bats: <test name> -- <reason>`; `#` starts a comment.
declare -A allowed=()
echo "== skip allow-list ($allow_file)"
if [ -f "$allow_file" ]; then
	while IFS= read -r line; do
		line=${line%%#*}
		[[ $line =~ ^[[:space:]]*$ ]] && continue
		if [[ $line =~ ^([^:]+\.bats):[[:space:]]*(.+)[[:space:]]--[[:space:]](.+)$ ]]; then
			allowed["${BASH_REMATCH[1]}: ${BASH_REMATCH[2]%"${BASH_REMATCH[2]##*[![:space:]]}"}"]=${BASH_REMATCH[3]}
			echo "  $line"
		else
			echo "  malformed (want \`file.bats: test name -- reason\`): $line"
			fail "skip allow-list: malformed line: $line"
		fi
	done <"$allow_file"
fi
[ ${#allowed[@]} -gt 0 ] || echo "  (empty: no skip is allowed in CI)"

# --- unit tests ----------------------------------------------------------------------------

# run_unit <name> <binary> [catch args...]: under a timeout; the exit status decides; the
# test-case count must match the listing; a sanitizer report anywhere fails the run.
run_unit() {
	local name=$1 bin=$2 log=$logdir/$1.log rc want ran p f summary
	shift 2
	echo "== $name"
	if [ ! -x "$bin" ]; then
		fail "$name: $bin is not built"
		return
	fi
	want=$("$bin" --list-test-names-only "$@" 2>/dev/null | grep -c .)
	timeout -k 10 "${URUNC_UNIT_TIMEOUT:-900}" "$bin" "$@" >"$log" 2>&1
	rc=$?
	summary=$(grep -E "^(All tests passed|test cases:)" "$log" | tail -n1)
	echo "  $summary"
	if [[ $summary == "All tests passed"* ]]; then
		ran=$(sed -n 's/.*in \([0-9]*\) test case.*/\1/p' <<<"$summary")
		p=${ran:-0}
		f=0
	else
		ran=$(sed -n 's/^test cases: *\([0-9]*\).*/\1/p' <<<"$summary")
		p=$(sed -n 's/.*| *\([0-9]*\) passed.*/\1/p' <<<"$summary")
		f=$(sed -n 's/.*| *\([0-9]*\) failed.*/\1/p' <<<"$summary")
		p=${p:-0}
		f=${f:-0}
	fi
	passed=$((passed + p))
	[ "$f" -eq 0 ] || fail "$name: $f test case(s) failed" "$f"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$name: timed out after ${URUNC_UNIT_TIMEOUT:-900}s"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "$name: exit status $rc"
	fi
	if [ "${ran:-0}" != "$want" ]; then
		fail "$name: ran ${ran:-0} test case(s) of $want listed" $((want > ${ran:-0} ? want - ${ran:-0} : 1))
	fi
	if grep -qE "^(==[0-9]+==ERROR: (Address|Leak|Memory|Thread)Sanitizer|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)|: runtime error: " "$log"; then
		grep -E "ERROR: .*Sanitizer|SUMMARY: .*Sanitizer|: runtime error: " "$log" | head -n 10 | sed 's/^/  /'
		fail "$name: sanitizer report (log: $log)"
	fi
	if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
		grep -B2 -A12 -E "FAILED:|^-{70,}" "$log" | head -n 60 | sed 's/^/  /'
	fi
}

# Root-only unit tests are tagged [privileged]; a non-root run leaves them out explicitly
# (counted as skipped, and a failure under CI=true).
unit_filter=()
if [ "$(id -u)" != 0 ]; then
	unit_filter=("~[privileged]")
fi
unit_skipped() {
	local n
	[ ${#unit_filter[@]} -eq 0 ] && return
	n=$("$1" --list-test-names-only "[privileged]" 2>/dev/null | grep -c .)
	if [ "$ci" = true ]; then
		fail "$2: $n [privileged] test case(s) not run (not root)" "$n"
	else
		skipped=$((skipped + n))
		skips+=("$2: $n [privileged] test case(s) (not root)")
	fi
}

# The sanitizer build and run overlap with the other suites (different build dir, no
# machine-global state); its result is collected at the end. LSan is on (detect_leaks=1)
# and every sanitizer stops at its first report.
asan_pid=
if has_suite unit && [ "${URUNC_NO_SANITIZE:-0}" != 1 ]; then
	(
		if [ ! -f build-asan/build.ninja ]; then
			meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 2
		fi
		nice -n 10 ninja -j2 -C build-asan tests/unit/unit_tests || exit 2
	) >"$logdir/asan-build.log" 2>&1 &
	asan_pid=$!
fi

if has_suite unit; then
	run_unit unit "${URUNC_UNIT_BIN:-build/tests/unit/unit_tests}" "${unit_filter[@]}"
	unit_skipped "${URUNC_UNIT_BIN:-build/tests/unit/unit_tests}" unit
fi

# --- bats suites ---------------------------------------------------------------------------

# run_bats_file <suite> <file> <per-test timeout>: one bats file, TAP; the plan is checked
# against the results, the exit status is read, skips are checked against the allow-list.
run_bats_file() {
	local suite=$1 file=$2 limit=$3 base log rc plan=-1 ok=0 notok=0 skip=0 line name reason
	base=${file##*/}
	log=$logdir/$suite-${base%.bats}.log
	# The whole file is bounded too: setup_file and teardown_file have no per-test limit.
	local count
	count=$(bats --count "$file" 2>/dev/null || echo 1)
	BATS_TEST_TIMEOUT=$limit timeout -k 30 $((count * limit + 300)) bats --tap "$file" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
			plan=${BASH_REMATCH[1]}
		elif [[ $line =~ ^not\ ok\ [0-9]+\ (.*)$ ]]; then
			notok=$((notok + 1))
			echo "  not ok: $base: ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^ok\ [0-9]+\ (.*)\ \#\ skip(\ (.*))?$ ]]; then
			skip=$((skip + 1))
			name=${BASH_REMATCH[1]}
			reason=${BASH_REMATCH[3]:-no reason given}
			if [ -n "${allowed["$base: $name"]+x}" ]; then
				skips+=("$base: $name -- $reason (allowed: ${allowed["$base: $name"]})")
			elif [ "$ci" = true ]; then
				fail "$base: skipped in CI, not in $(basename "$allow_file"): $name ($reason)"
			else
				skips+=("$base: $name -- $reason")
			fi
		elif [[ $line =~ ^ok\ [0-9]+\  ]]; then
			ok=$((ok + 1))
		fi
	done <"$log"
	local seen=$((ok + notok + skip))
	printf '  %-28s plan %s, %d ok, %d not ok, %d skipped, exit %d\n' "$base" \
		"$([ "$plan" -ge 0 ] && echo "$plan" || echo none)" "$ok" "$notok" "$skip" "$rc"
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	[ "$notok" -eq 0 ] || fail "$base: $notok test(s) not ok (log: $log)" "$notok"
	if [ "$plan" -lt 0 ]; then
		fail "$base: no TAP plan (the suite did not run; log: $log)"
	elif [ "$seen" -lt "$plan" ]; then
		fail "$base: $seen result(s) of a plan of $plan: truncated (log: $log)" $((plan - seen))
	elif [ "$seen" -gt "$plan" ]; then
		fail "$base: $seen result(s) for a plan of $plan (log: $log)"
	fi
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		fail "$base: bats exited $rc with no failed test (log: $log)"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
	if [ "$notok" -ne 0 ]; then
		grep -E "^# " "$log" | head -n 40 | sed 's/^/    /'
	fi
}

run_bats_suite() {
	local suite=$1 limit=$2 f any=
	echo "== $suite (BATS_TEST_TIMEOUT=${limit}s per test)"
	for f in "$tests_dir/$suite"/*.bats; do
		[ -f "$f" ] || continue
		any=1
		run_bats_file "$suite" "$f" "$limit"
	done
	[ -n "$any" ] || fail "$suite: no .bats file in $tests_dir/$suite"
}

export URUNC_BUILD=${URUNC_BUILD:-$top/build}
has_suite integration && run_bats_suite integration "${URUNC_IT_TEST_TIMEOUT:-120}"
has_suite e2e && run_bats_suite e2e "${URUNC_E2E_TEST_TIMEOUT:-600}"

# --- fuzzing ---------------------------------------------------------------------------------
# scripts/fuzz.sh builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# FUZZ_SECONDS; it prints TAP (`1..N`, one `ok`/`not ok` per target). Counted like a bats file.
if has_suite fuzz; then
	echo "== fuzz (FUZZ_SECONDS=${FUZZ_SECONDS:=20} per target)"
	export FUZZ_SECONDS
	flog=$logdir/fuzz.log
	timeout -k 30 3600 scripts/fuzz.sh >"$flog" 2>&1
	frc=$?
	fplan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$flog" | tail -n1)
	fok=$(grep -cE "^ok " "$flog")
	fnot=$(grep -cE "^not ok " "$flog")
	grep -E "^(ok|not ok) " "$flog" | sed 's/^/  /'
	passed=$((passed + fok))
	[ "$fnot" -eq 0 ] || fail "fuzz: $fnot target(s) failed (log: $flog)" "$fnot"
	if [ -z "$fplan" ]; then
		fail "fuzz: no TAP plan (log: $flog)"
		tail -n 15 "$flog" | sed 's/^/    /'
	elif [ $((fok + fnot)) -ne "$fplan" ]; then
		fail "fuzz: $((fok + fnot)) result(s) of a plan of $fplan (log: $flog)"
	fi
	[ "$frc" -eq 0 ] || [ "$fnot" -ne 0 ] || fail "fuzz: scripts/fuzz.sh exited $frc (log: $flog)"
fi

# --- the sanitizer run ---------------------------------------------------------------------
if [ -n "$asan_pid" ]; then
	if wait "$asan_pid"; then
		ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1 \
			LSAN_OPTIONS=report_objects=1 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			run_unit unit-asan build-asan/tests/unit/unit_tests "${unit_filter[@]}"
		unit_skipped build-asan/tests/unit/unit_tests unit-asan
	else
		echo "== unit-asan"
		tail -n 20 "$logdir/asan-build.log" | sed 's/^/  /'
		fail "unit-asan: the sanitizer build failed (log: $logdir/asan-build.log)"
	fi
elif has_suite unit; then
	echo "== unit-asan: not run (URUNC_NO_SANITIZE=1)"
fi

echo "== summary"
if [ ${#skips[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
