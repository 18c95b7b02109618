#!/usr/bin/env bash
# `scripts/test.sh --self-check`: run the runner on deliberately broken suites and check that
# each run fails (last line "N passed, M failed, K skipped" with M > 0, non-zero exit), and
# that a healthy suite passes. Nothing here touches the real tests or the build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
w=$(mktemp -d /tmp/urunc-selfcheck.XXXXXX)
trap 'rm -rf "$w"' EXIT
bad=0

# expect <fail|pass> <what> <env...>: run the runner with env; check its verdict.
expect() {
	local want=$1 what=$2 out rc last
	shift 2
	out=$(env URUNC_TEST_LOGDIR="$(mktemp -d "$w/logs.XXXXXX")" URUNC_TEST_NO_BUILD=1 URUNC_NO_SANITIZE=1 URUNC_SKIPS_ALLOW="$w/skips.allow" "$@" \
		scripts/test.sh 2>&1)
	rc=$?
	last=$(tail -n1 <<<"$out")
	if ! [[ $last =~ ^[0-9]+\ passed,\ ([0-9]+)\ failed,\ [0-9]+\ skipped$ ]]; then
		echo "FAIL  $what: last line is not the summary: $last"
		bad=1
		return
	fi
	if [ "$want" = fail ] && [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
		echo "ok    $what: runner failed as it must ($last)"
	elif [ "$want" = pass ] && [ "$rc" -eq 0 ] && [ "${BASH_REMATCH[1]}" -eq 0 ]; then
		echo "ok    $what: runner passed ($last)"
	else
		echo "FAIL  $what: expected the runner to $want, got exit $rc: $last"
		sed 's/^/      /' <<<"$out" | tail -n 20
		bad=1
	fi
}

# bats_case <name> <body of the file>: a tests dir whose integration suite is that file.
bats_case() {
	mkdir -p "$w/$1/integration"
	printf '%s\n' "$2" >"$w/$1/integration/case.bats"
}

: >"$w/skips.allow"
bats_case healthy '@test "one" { true; }
@test "two" { [ 1 = 1 ]; }'
expect pass "two passing tests" URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/healthy"

bats_case crash '@test "first" { true; }
@test "second kills the bats run" { kill -KILL $(ps -o ppid= -p $$) $PPID; }
@test "third" { true; }'
expect fail "a bats run that dies after its first result" \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/crash"

bats_case badexit '@test "one" { true; }
teardown_file() { return 3; }'
expect fail "a bats file whose teardown_file fails after every test said ok" \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/badexit"

bats_case hang '@test "hangs" { sleep 30; }'
expect fail "a test that outlives BATS_TEST_TIMEOUT" \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/hang" URUNC_IT_TEST_TIMEOUT=2

bats_case skip '@test "needs something" { skip "something is missing"; }'
expect fail "an unlisted skip under CI=true" CI=true \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/skip"
echo 'case.bats: needs something -- allowed by the self-check' >"$w/skips.allow"
expect pass "the same skip, listed in the allow-list" CI=true \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/skip"
: >"$w/skips.allow"

mkdir -p "$w/empty/integration"
expect fail "a suite with no .bats file" URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/empty"

# A unit binary that prints Catch2's success line but exits 1.
cat >"$w/liar" <<'EOF'
#!/bin/sh
case "$*" in *--list-test-names-only*) printf 'a\nb\n'; exit 0 ;; esac
echo "All tests passed (2 assertions in 2 test cases)"
exit 1
EOF
chmod +x "$w/liar"
expect fail "a unit binary that says 'All tests passed' and exits 1" \
	URUNC_TEST_SUITES=unit URUNC_UNIT_BIN="$w/liar"

# A unit binary that stops after 2 of its 3 test cases.
cat >"$w/short" <<'EOF'
#!/bin/sh
case "$*" in *--list-test-names-only*) printf 'a\nb\nc\n'; exit 0 ;; esac
echo "All tests passed (2 assertions in 2 test cases)"
EOF
chmod +x "$w/short"
expect fail "a unit binary that runs fewer test cases than it lists" \
	URUNC_TEST_SUITES=unit URUNC_UNIT_BIN="$w/short"

# A leak that only LeakSanitizer sees: the program's own logic says it passed.
if command -v g++ >/dev/null; then
	cat >"$w/leak.cpp" <<'EOF'
#include <cstdio>
#include <cstring>
int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--list-test-names-only") == 0) {
        std::puts("leaks");
        return 0;
    }
    static volatile char *p;
    p = new char[64];
    p = nullptr;
    std::puts("All tests passed (1 assertion in 1 test case)");
    return 0;
}
EOF
	if g++ -fsanitize=address -g -o "$w/leak" "$w/leak.cpp" 2>/dev/null; then
		expect fail "a unit binary whose only problem is a leak LeakSanitizer reports" \
			URUNC_TEST_SUITES=unit URUNC_UNIT_BIN="$w/leak" ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	fi
fi

# A build that does not compile: the runner stops at once, with the summary line.
expect fail "a build that fails" URUNC_TEST_NO_BUILD= URUNC_TEST_BUILD_CMD=false \
	URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/healthy"

# A sanitizer report from a process the tests ran, while every test passed: the
# integration-asan suite fails on the report file alone.
mkdir -p "$w/asan/integration"
cat >"$w/asan/integration/case.bats" <<'EOF'
@test "a sanitized process reports, the test passes" {
	p=${ASAN_OPTIONS##*log_path=}
	p=${p%%:*}
	printf '==4242==ERROR: AddressSanitizer: heap-use-after-free\nSUMMARY: AddressSanitizer: heap-use-after-free\n' >"$p.urunc.4242"
}
EOF
expect fail "a sanitizer report file under integration-asan, all tests ok" URUNC_NO_SANITIZE=0 \
	URUNC_TEST_SUITES=integration-asan URUNC_TEST_TESTS_DIR="$w/asan"
bats_case asanok '@test "clean" { true; }'
expect pass "integration-asan with no report" URUNC_NO_SANITIZE=0 \
	URUNC_TEST_SUITES=integration-asan URUNC_TEST_TESTS_DIR="$w/asanok"

# A deliberately broken build: the real tests/integration/state.bats against a urunc whose
# `state` reports every running container as stopped (everything else is build/'s real
# binary). The suite must catch it. Needs root and build/ (scripts/build.sh).
if [ "$(id -u)" = 0 ] && [ -x build/src/cli/urunc ] && [ -f build/tests/fixtures/paths.env ]; then
	mkdir -p "$w/broken/src/cli" "$w/broken/tests/fixtures" "$w/brokentests/integration" "$w/brokentests/lib"
	cp build/tests/fixtures/paths.env "$w/broken/tests/fixtures/"
	cat >"$w/broken/src/cli/urunc" <<EOF
#!/bin/bash
for a in "\$@"; do
	if [ "\$a" = state ]; then
		"$top/build/src/cli/urunc" "\$@" | sed 's/"running"/"stopped"/'
		exit "\${PIPESTATUS[0]}"
	fi
done
exec "$top/build/src/cli/urunc" "\$@"
EOF
	chmod +x "$w/broken/src/cli/urunc"
	cp tests/integration/state.bats tests/integration/helpers.bash "$w/brokentests/integration/"
	cp tests/lib/* "$w/brokentests/lib/"
	expect fail "the real state.bats against a urunc whose \`state\` says stopped for running" \
		URUNC_BUILD="$w/broken" URUNC_TEST_SUITES=integration URUNC_TEST_TESTS_DIR="$w/brokentests"
else
	echo "--    the real state.bats against a broken urunc: not run (needs root and build/)"
fi

if [ "$bad" -eq 0 ]; then
	echo "self-check: the runner fails every broken suite it was shown"
else
	echo "self-check: FAILED"
fi
exit "$bad"
