#!/usr/bin/env bash
# Run every test: unit (Catch2), integration (bats + fake VMM), e2e (real QEMU/TCG, loop
# devices, containerd, docker), fuzz (libFuzzer targets), and again under ASan+UBSan+LSan:
# the unit tests (unit-asan) and the whole integration suite against a sanitized urunc and
# shim (integration-asan). Exits non-zero on any failure; the last line is exactly
# "N passed, M failed, K skipped".
#
# What counts (so that green means tested):
# * every suite's exit status is read; a non-zero status is a failure even when every
#   result line said "ok";
# * a bats file's TAP plan (`1..N`) is compared with the results it printed: results that
#   never came (a crashed or truncated run) are failures;
# * a unit binary runs under `timeout`; its exit status decides; the number of test cases
#   it ran must equal the number it lists; any sanitizer report in its output fails it;
# * under integration-asan every sanitizer report is written to a file (ASan/UBSan
#   log_path, one per process, LeakSanitizer on): any report file fails the bats file that
#   produced it, whatever its tests said;
# * every bats test has a time limit (BATS_TEST_TIMEOUT, per suite below);
# * with CI=true a skipped test is a failure unless it is listed, with its reason, in
#   tests/skips.allow (printed below). Without CI, skips are counted and listed;
# * a job (a bats file, a unit run...) that never reports, because its lane died, fails.
#
# Parallel lanes (the machine has few cores and the suites wait a lot on QEMU and daemons):
# * the sanitizer lane starts first, beside the main build, since it is the longest chain:
#   ASan build (build-asan/), unit-asan, then the integration files under ASan, which the
#   workers help with once their own queue is empty;
# * URUNC_TEST_JOBS workers (default 2) take entries from one queue: unit, each integration
#   file, each e2e file (largest first within a suite), fuzz. Every file names what it makes
#   machine-wide uniquely (cgroups, roots, sockets, netns), so files run side by side;
# * bats files that share machine-global state anyway say so with a line
#   `# urunc-test-lane: <name> -- <why>`: files with the same name form one entry and run
#   one after another in the same lane;
# * each job's output is buffered in its own file and printed whole when the job ends, so
#   lanes never interleave; the summary adds up every job, in queue order.
# URUNC_TEST_JOBS=1 runs the queue serially (the sanitizer lane still overlaps).
#
# Suites are found by glob (tests/integration/*.bats, tests/e2e/*.bats), never listed here.
# Environment: URUNC_NO_SANITIZE=1 skips the sanitizer build and both sanitizer suites;
# URUNC_TEST_SUITES="unit integration e2e fuzz integration-asan" picks suites (unit-asan
# comes with unit); URUNC_UNIT_TIMEOUT, URUNC_IT_TEST_TIMEOUT, URUNC_IT_ASAN_TEST_TIMEOUT,
# URUNC_E2E_TEST_TIMEOUT (seconds) override the limits; FUZZ_SECONDS (default 20) is the
# time each fuzz target runs; URUNC_TEST_JOBS the number of queue workers. For --self-check
# only: URUNC_TEST_TESTS_DIR (another tests/ dir), URUNC_UNIT_BIN (another unit binary),
# URUNC_TEST_NO_BUILD=1, URUNC_TEST_BUILD_CMD (another build command).
#
# Sanitizer exclusions: tests/sanitize.exclude lists integration files or tests that do not
# run under ASan, one `<file>.bats[: <test name>] -- <reason>` per line; the runner prints
# each with its reason. Slow tests get a longer limit instead (URUNC_IT_ASAN_TEST_TIMEOUT).
#
# `scripts/test.sh --self-check` proves that the runner fails what it must (see
# scripts/test-selfcheck.sh): bats files that crash, lie with their exit status, hang or
# skip, unit binaries that lie or leak, a build that fails, and the real integration tests
# against a broken urunc.
# each job counts in its own subshell, on purpose (job); sh -c and sed scripts are literal:
# shellcheck disable=SC2030,SC2031,SC2016
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

if [ "${1:-}" = --self-check ]; then
	exec scripts/test-selfcheck.sh
fi

suites=${URUNC_TEST_SUITES:-unit integration e2e fuzz integration-asan}
tests_dir=${URUNC_TEST_TESTS_DIR:-$top/tests}
allow_file=${URUNC_SKIPS_ALLOW:-$tests_dir/skips.allow}
exclude_file=${URUNC_SANITIZE_EXCLUDE:-$tests_dir/sanitize.exclude}
ci=${CI:-false}
[ "$ci" = 1 ] && ci=true
workers=${URUNC_TEST_JOBS:-2}
[[ $workers =~ ^[1-9][0-9]*$ ]] || workers=2
sanitize=1
[ "${URUNC_NO_SANITIZE:-0}" != 1 ] || sanitize=0
it_limit=${URUNC_IT_TEST_TIMEOUT:-120}
it_asan_limit=${URUNC_IT_ASAN_TEST_TIMEOUT:-$((it_limit * 3))}
e2e_limit=${URUNC_E2E_TEST_TIMEOUT:-600}

passed=0
failed=0
skipped=0
failures=()
skips=()
logdir=${URUNC_TEST_LOGDIR:-$(mktemp -d /tmp/urunc-test-logs.XXXXXX)}
jobdir=$logdir/jobs
mkdir -p "$jobdir"
started=$SECONDS

has_suite() { [[ " $suites " == *" $1 "* ]]; }
fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
}

# --- lanes ---------------------------------------------------------------------------------
# Every lane runs in its own process group (set -m), so the runner can stop exactly the
# lanes it started, with everything under them, when it is interrupted or the build fails.
lane_pids=()
stop_lanes() {
	local p
	for p in "${lane_pids[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || true
	done
}
trap 'stop_lanes; exit 130' INT TERM

# start_lane <command...>: run it in the background as a new process group.
start_lane() {
	set -m
	"$@" &
	lane_pids+=($!)
	set +m
}

# job <name> <command...>: run command in a subshell with its own counters and its output
# buffered; then print the buffer whole (under a lock, so lanes never interleave) and leave
# the counters in $jobdir/<name>.res for the summary.
job() {
	local name=$1
	shift
	(
		passed=0 failed=0 skipped=0 failures=() skips=()
		t0=$SECONDS
		"$@" >"$jobdir/$name.out" 2>&1
		echo "  ($name: $((SECONDS - t0)) s)" >>"$jobdir/$name.out"
		{
			echo "$passed $failed $skipped"
			[ ${#failures[@]} -eq 0 ] || printf 'F %s\n' "${failures[@]}"
			[ ${#skips[@]} -eq 0 ] || printf 'S %s\n' "${skips[@]}"
		} >"$jobdir/$name.res.tmp"
		mv "$jobdir/$name.res.tmp" "$jobdir/$name.res"
		flock "$jobdir/print.lock" cat "$jobdir/$name.out"
	)
}
planned=()

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

# --- sanitizer exclusions ------------------------------------------------------------------
# `<file>.bats -- <reason>` leaves a whole file out of integration-asan; `<file>.bats: <test
# name> -- <reason>` one test (run with a --filter that matches every other test name).
declare -A asan_excl_file=() asan_excl_test=()
if [ "$sanitize" = 1 ] && has_suite integration-asan; then
	echo "== sanitizer exclusions ($exclude_file)"
	if [ -f "$exclude_file" ]; then
		while IFS= read -r line; do
			line=${line%%#*}
			[[ $line =~ ^[[:space:]]*$ ]] && continue
			if [[ $line =~ ^([^:[:space:]]+\.bats)[[:space:]]+--[[:space:]](.+)$ ]]; then
				asan_excl_file[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
				echo "  excluded: ${BASH_REMATCH[1]} (whole file) -- ${BASH_REMATCH[2]}"
			elif [[ $line =~ ^([^:]+\.bats):[[:space:]]*(.+)[[:space:]]--[[:space:]](.+)$ ]]; then
				asan_excl_test["${BASH_REMATCH[1]}: ${BASH_REMATCH[2]%"${BASH_REMATCH[2]##*[![:space:]]}"}"]=${BASH_REMATCH[3]}
				echo "  excluded: $line"
			else
				echo "  malformed (want \`file.bats[: test name] -- reason\`): $line"
				fail "sanitizer exclusions: malformed line: $line"
			fi
		done <"$exclude_file"
	fi
	[ ${#asan_excl_file[@]} -gt 0 ] || [ ${#asan_excl_test[@]} -gt 0 ] ||
		echo "  (none: every integration test runs under ASan+UBSan)"
fi

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

job_unit() {
	run_unit unit "${URUNC_UNIT_BIN:-build/tests/unit/unit_tests}" "${unit_filter[@]}"
	unit_skipped "${URUNC_UNIT_BIN:-build/tests/unit/unit_tests}" unit
}

# --- bats files ----------------------------------------------------------------------------

# run_bats_file <suite> <file> <per-test timeout> [bats args...]: one bats file, TAP; the
# plan is checked against the results, the exit status is read, skips are checked against
# the allow-list.
run_bats_file() {
	local suite=$1 file=$2 limit=$3 base log rc plan=-1 ok=0 notok=0 skip=0 line name reason
	shift 3
	base=${file##*/}
	log=$logdir/$suite-${base%.bats}.log
	# The whole file is bounded too: setup_file and teardown_file have no per-test limit.
	local count
	count=$(bats --count "$@" "$file" 2>/dev/null || echo 1)
	BATS_TEST_TIMEOUT=$limit timeout -k 30 $((count * limit + 300)) bats --tap "$@" "$file" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
			plan=${BASH_REMATCH[1]}
		elif [[ $line =~ ^not\ ok\ [0-9]+\ (.*)$ ]]; then
			notok=$((notok + 1))
			echo "  not ok: $suite/$base: ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^ok\ [0-9]+\ (.*)\ \#\ skip(\ (.*))?$ ]]; then
			skip=$((skip + 1))
			name=${BASH_REMATCH[1]}
			reason=${BASH_REMATCH[3]:-no reason given}
			if [ -n "${allowed["$base: $name"]+x}" ]; then
				skips+=("$suite/$base: $name -- $reason (allowed: ${allowed["$base: $name"]})")
			elif [ "$ci" = true ]; then
				fail "$suite/$base: skipped in CI, not in $(basename "$allow_file"): $name ($reason)"
			else
				skips+=("$suite/$base: $name -- $reason")
			fi
		elif [[ $line =~ ^ok\ [0-9]+\  ]]; then
			ok=$((ok + 1))
		fi
	done <"$log"
	local seen=$((ok + notok + skip))
	printf '  %-36s plan %s, %d ok, %d not ok, %d skipped, exit %d\n' "$suite/$base" \
		"$([ "$plan" -ge 0 ] && echo "$plan" || echo none)" "$ok" "$notok" "$skip" "$rc"
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	[ "$notok" -eq 0 ] || fail "$suite/$base: $notok test(s) not ok (log: $log)" "$notok"
	if [ "$plan" -lt 0 ]; then
		fail "$suite/$base: no TAP plan (the suite did not run; log: $log)"
	elif [ "$seen" -lt "$plan" ]; then
		fail "$suite/$base: $seen result(s) of a plan of $plan: truncated (log: $log)" $((plan - seen))
	elif [ "$seen" -gt "$plan" ]; then
		fail "$suite/$base: $seen result(s) for a plan of $plan (log: $log)"
	fi
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		fail "$suite/$base: bats exited $rc with no failed test (log: $log)"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
	if [ "$notok" -ne 0 ]; then
		grep -E "^# " "$log" | head -n 40 | sed 's/^/    /'
	fi
}

# job_bats <suite> <file>: one file of a suite, with that suite's limit and environment.
job_bats() {
	local suite=$1 file=$2
	case $suite in
	integration) run_bats_file integration "$file" "$it_limit" ;;
	e2e) run_bats_file e2e "$file" "$e2e_limit" ;;
	integration-asan) job_bats_asan "$file" ;;
	esac
}

# The sanitizer run of one integration file: urunc and its fixtures from build-asan/; every
# sanitized process writes its reports to files under a directory of this file (ASan and
# UBSan `log_path`: <prefix>.<pid>), never to the stderr the tests read; any file there
# fails the bats file. LeakSanitizer is on: urunc's processes that exit through exit()
# (the verbs, create's parent) are checked; those that exec (the container init becoming
# the VMM) or _exit (forked helpers) are not, as there is nothing to check there.
job_bats_asan() {
	local file=$1 base reports filter=() names n keep r
	base=${file##*/}
	if [ ! -f "$jobdir/asan-build.ok" ]; then
		echo "  integration-asan/$base: not run (the sanitizer build failed; counted once there)"
		return
	fi
	if [ -n "${asan_excl_file[$base]+x}" ]; then
		echo "  integration-asan/$base: excluded -- ${asan_excl_file[$base]}"
		return
	fi
	# A test left out: run every other test of the file by name (an anchored alternation).
	names=$(grep -E '^@test ' "$file" | sed -E 's/^@test +"(.*)" *\{.*$/\1/')
	keep=()
	while IFS= read -r n; do
		if [ -n "${asan_excl_test["$base: $n"]+x}" ]; then
			echo "  integration-asan/$base: excluded: $n -- ${asan_excl_test["$base: $n"]}"
		else
			keep+=("$(sed 's/[][\.*^$(){}+?|/]/\\&/g' <<<"$n")")
		fi
	done <<<"$names"
	if [ "${#keep[@]}" -lt "$(grep -c . <<<"$names")" ]; then
		filter=(--filter "^($(IFS='|'; echo "${keep[*]}"))\$")
	fi
	reports=$logdir/asan-reports/${base%.bats}
	mkdir -p "$reports"
	URUNC_BUILD=$top/build-asan \
		ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:log_path=$reports/asan:log_exe_name=1" \
		LSAN_OPTIONS="report_objects=1" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:log_exe_name=1" \
		run_bats_file integration-asan "$file" "$it_asan_limit" "${filter[@]}"
	for r in "$reports"/*; do
		[ -f "$r" ] || continue
		echo "  sanitizer report $r:"
		grep -E "ERROR: .*Sanitizer|SUMMARY: .*Sanitizer|runtime error: |^    #[0-9] " "$r" | head -n 12 | sed 's/^/    /'
		fail "integration-asan/$base: sanitizer report ${r##*/} (in $reports)"
	done
}

# --- the sanitizer lane ----------------------------------------------------------------------
# build-asan/ is a test build (-Dtest_seams=true, as build/) with -Db_sanitize=address,undefined
# at -O0 with line tables only (-g1): the sanitizers find the same errors, reports still name
# file and line, and one heavy file (toml++, fmt, RapidJSON) compiles in an eighth of the CPU
# time of -O1 -g (9 s against 37 s here; -O1 -g made this build the longest step of the run):
# urunc, urunc-view-shim, the unit tests and the fixtures (the fake VMM is static and is not
# instrumented). Linked as position-dependent executables (-no-pie, no PIC in the static
# libraries): a sanitized PIE carries ~1.5 million relative relocations (every UBSan check
# site and ASan global descriptor holds a pointer), and the loader took ~0.25 s to apply
# them in every urunc command, half of a sanitized `urunc --version` (0.5 s -> 0.3 s), which
# the integration suite pays thousands of times. ASLR does not matter in a test build.
job_asan_build() {
	local targets=()
	has_suite integration-asan || targets=(tests/unit/unit_tests)
	if [ -n "${URUNC_TEST_NO_BUILD:-}" ]; then
		echo "== asan-build: not built (URUNC_TEST_NO_BUILD)"
		touch "$jobdir/asan-build.ok" "$jobdir/asan-build.done"
		return
	fi
	echo "== asan-build (build-asan/: ${targets[*]:-everything})"
	# shellcheck disable=SC2054  # the commas are meson's, inside one word
	local opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dtest_seams=true -Doptimization=0
		-Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1 -Db_staticpic=false -Dc_link_args=-no-pie
		-Dcpp_link_args=-no-pie)
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan "${opts[@]}" >"$logdir/asan-build.log" 2>&1
	elif ! meson introspect --buildoptions build-asan | jq -e 'map({(.name): .value}) | add
		| .test_seams == true and .optimization == "0" and .debug == false
		  and .b_sanitize == "address,undefined" and .b_staticpic == false
		  and .cpp_link_args == ["-no-pie"]' >/dev/null; then
		meson configure build-asan "${opts[@]}" >"$logdir/asan-build.log" 2>&1
	fi
	if ninja -j2 -C build-asan "${targets[@]}" >>"$logdir/asan-build.log" 2>&1; then
		touch "$jobdir/asan-build.ok"
		echo "  built"
	else
		tail -n 20 "$logdir/asan-build.log" | sed 's/^/  /'
		fail "asan-build: the sanitizer build failed (log: $logdir/asan-build.log)"
	fi
	touch "$jobdir/asan-build.done"
}

job_unit_asan() {
	if [ ! -f "$jobdir/asan-build.ok" ]; then
		echo "== unit-asan: not run (the sanitizer build failed; counted once there)"
		return
	fi
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1 \
		LSAN_OPTIONS=report_objects=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_unit unit-asan build-asan/tests/unit/unit_tests "${unit_filter[@]}"
	unit_skipped build-asan/tests/unit/unit_tests unit-asan
}

# --- fuzzing ---------------------------------------------------------------------------------
# scripts/fuzz.sh builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# FUZZ_SECONDS; it prints TAP (`1..N`, one `ok`/`not ok` per target). Counted like a bats file.
job_fuzz() {
	local flog=$logdir/fuzz.log frc fplan fok fnot
	echo "== fuzz (FUZZ_SECONDS=${FUZZ_SECONDS:=20} per target)"
	export FUZZ_SECONDS
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
}

# --- job specs and the queue ---------------------------------------------------------------
# A spec is `unit`, `fuzz`, `asan-build`, `unit-asan` or `<suite>:<bats file>`; its job name
# (for buffers and results) is `<suite>.<file without .bats>` or the spec itself.
job_name() {
	case $1 in
	*:*) local f=${1#*:} && echo "${1%%:*}.$(basename "$f" .bats)" ;;
	*) echo "$1" ;;
	esac
}

run_spec() {
	local spec=$1
	case $spec in
	unit) job "$(job_name "$spec")" job_unit ;;
	fuzz) job "$(job_name "$spec")" job_fuzz ;;
	asan-build) job "$(job_name "$spec")" job_asan_build ;;
	unit-asan) job "$(job_name "$spec")" job_unit_asan ;;
	*:*) job "$(job_name "$spec")" job_bats "${spec%%:*}" "${spec#*:}" ;;
	esac
}

# bats_files <suite>: the suite's files; a missing suite is a failure (counted by a job).
bats_files() {
	local f
	for f in "$tests_dir/$1"/*.bats; do
		[ -f "$f" ] && echo "$f"
	done
}

queue=()
# enqueue <spec...>: one queue entry, its specs run in order by one worker.
enqueue() {
	queue+=("$*")
	planned+=("$@")
}

# suite_entries <suite>: its files as queue entries, one line each. Files with the same
# `# urunc-test-lane: <name>` share one entry; entries go largest first (file size stands in
# for run time), so the last to start is a short one.
suite_entries() {
	local f name size
	declare -A group=() weight=()
	for f in $(bats_files "$1"); do
		name=$(sed -n 's/^# urunc-test-lane: *\([^ ]*\).*/\1/p' "$f" | head -n1)
		[ -n "$name" ] || name="file:$f"
		group[$name]+=" $1:$f"
		size=$(stat -c %s "$f")
		weight[$name]=$((${weight[$name]:-0} + size))
	done
	for name in "${!group[@]}"; do
		echo "${weight[$name]}${group[$name]}"
	done | sort -rn | cut -d' ' -f2-
}

suite_header() {
	case $1 in
	integration) echo "== integration: ${2} file(s), BATS_TEST_TIMEOUT=${it_limit}s per test" ;;
	e2e) echo "== e2e: ${2} file(s), BATS_TEST_TIMEOUT=${e2e_limit}s per test" ;;
	integration-asan) echo "== integration-asan: ${2} file(s) against build-asan/, BATS_TEST_TIMEOUT=${it_asan_limit}s per test" ;;
	esac
}

if has_suite unit; then enqueue unit; fi
for suite in integration e2e; do
	has_suite $suite || continue
	mapfile -t entries < <(suite_entries $suite)
	if [ ${#entries[@]} -eq 0 ]; then
		fail "$suite: no .bats file in $tests_dir/$suite"
		continue
	fi
	suite_header $suite "$(bats_files $suite | grep -c .)"
	for e in "${entries[@]}"; do
		# shellcheck disable=SC2086  # an entry is a space-separated list of specs
		enqueue $e
		[[ $e != *" "* ]] || echo "  one lane, in order: $(for s in $e; do printf '%s ' "${s##*/}"; done)"
	done
done
if has_suite fuzz; then enqueue fuzz; fi

# The sanitizer chain: asan-build and unit-asan in the sanitizer lane, then the
# integration-asan files in a second queue that the sanitizer lane drains, helped by every
# worker whose own queue is empty (largest files first).
asan_specs=()
aqueue=()
if [ "$sanitize" = 1 ] && { has_suite unit || has_suite integration-asan; }; then
	asan_specs+=(asan-build)
	has_suite unit && asan_specs+=(unit-asan)
	planned+=("${asan_specs[@]}")
	if has_suite integration-asan; then
		mapfile -t entries < <(suite_entries integration | sed 's/\(^\| \)integration:/\1integration-asan:/g')
		if [ ${#entries[@]} -eq 0 ]; then
			fail "integration-asan: no .bats file in $tests_dir/integration"
		else
			suite_header integration-asan "$(bats_files integration | grep -c .)"
			for e in "${entries[@]}"; do
				aqueue+=("$e")
				# shellcheck disable=SC2206  # an entry is a space-separated list of specs
				planned+=($e)
			done
		fi
	fi
else
	has_suite unit && echo "== unit-asan: not run (URUNC_NO_SANITIZE=1)"
	has_suite integration-asan && echo "== integration-asan: not run (URUNC_NO_SANITIZE=1)"
fi

# next_entry <queue name>: the next index of that queue (a counter under a lock).
echo 0 >"$jobdir/queue.next"
echo 0 >"$jobdir/aqueue.next"
next_entry() {
	flock "$jobdir/queue.lock" bash -c 'n=$(cat "$0"); echo $((n + 1)) >"$0"; echo "$n"' "$jobdir/$1.next"
}
drain_aqueue() {
	local n s
	while n=$(next_entry aqueue) && [ "$n" -lt ${#aqueue[@]} ]; do
		for s in ${aqueue[$n]}; do run_spec "$s"; done
	done
}
sanitizer_lane() {
	local s
	for s in "${asan_specs[@]}"; do run_spec "$s"; done
	drain_aqueue
}

# worker: entries of the main queue until it is empty; then, once the sanitizer build is
# over (or its lane is gone), help with the integration-asan files.
worker() {
	local n s
	while n=$(next_entry queue) && [ "$n" -lt ${#queue[@]} ]; do
		for s in ${queue[$n]}; do run_spec "$s"; done
	done
	[ ${#aqueue[@]} -gt 0 ] || return 0
	while [ ! -e "$jobdir/asan-build.done" ] && kill -0 "$sanitizer_pid" 2>/dev/null; do
		sleep 2
	done
	[ -e "$jobdir/asan-build.ok" ] && drain_aqueue
}

export URUNC_BUILD=${URUNC_BUILD:-$top/build}

# The sanitizer lane does not need the main build: it starts now.
sanitizer_pid=
if [ ${#asan_specs[@]} -gt 0 ]; then
	start_lane sanitizer_lane
	sanitizer_pid=$!
fi

if [ -z "${URUNC_TEST_NO_BUILD:-}" ]; then
	if ! ${URUNC_TEST_BUILD_CMD:-scripts/build.sh} >"$logdir/build.log" 2>&1; then
		stop_lanes
		wait
		tail -n 30 "$logdir/build.log"
		echo "build failed (log: $logdir/build.log)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
fi

echo "== lanes: $workers worker(s) over ${#queue[@]} queue entries$([ ${#asan_specs[@]} -eq 0 ] || echo ", and the sanitizer lane")"
# As many workers as either queue can use: with integration-asan alone the main queue is empty
# and the workers only help drain the sanitizer queue.
nwork=$((${#queue[@]} > ${#aqueue[@]} ? ${#queue[@]} : ${#aqueue[@]}))
for ((i = 0; i < workers && i < nwork; i++)); do
	start_lane worker
done
for p in "${lane_pids[@]}"; do
	wait "$p"
done
trap - INT TERM

# --- summary -------------------------------------------------------------------------------
for s in "${planned[@]}"; do
	name=$(job_name "$s")
	if [ ! -f "$jobdir/$name.res" ]; then
		fail "$name: no result (its lane died; output so far: $jobdir/$name.out)"
		continue
	fi
	{
		read -r p f k
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + k))
		while IFS= read -r line; do
			case $line in
			"F "*) failures+=("${line#F }") ;;
			"S "*) skips+=("${line#S }") ;;
			esac
		done
	} <"$jobdir/$name.res"
done

echo "== summary ($((SECONDS - started)) s)"
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
