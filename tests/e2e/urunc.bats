#!/usr/bin/env bats
# urunc driven by hand with a real QEMU (TCG): the example bundle (test kernel as a
# unikraft guest) through `run`, and through create / start / state / delete with the
# container's exit status collected the way a shim does (as a child subreaper).

bats_require_minimum_version 1.5.0
load e2e_helpers

setup_file() {
	e2e_setup_file || return 0
	[ -d "$EXAMPLE_BUNDLE" ] || { e2e_skip_file "the example bundle is not built ($EXAMPLE_BUNDLE)"; return 0; }
	mkdir "$E2E_T/state"
}

teardown_file() { e2e_rm_tmp; }

setup() {
	e2e_setup
	ID=$BATS_TEST_NUMBER-$E2E_SFX
	export ID
}

# Whatever a failed test left: the container (its VMM) and its cgroup (named after the
# id, unique per run, since the example bundle has no cgroupsPath).
teardown() {
	[ -z "${E2E_SKIP:-}" ] || return 0
	timeout -k 2 20 "$URUNC" --root "$E2E_T/state" delete --force "$ID" >/dev/null 2>&1 || true
	e2e_kill_cgroups "$ID"
}

@test "run: the example bundle boots under QEMU; args and env from config.json reach the guest" {
	run --separate-stderr timeout -k 5 60 "$URUNC" --root "$E2E_T/state" run --bundle "$EXAMPLE_BUNDLE" "$ID" </dev/null
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	# the guest's serial console is urunc's stdout; urunc's own log lines go to stderr
	e2e_assert_guest_output "hello from urunc"
	e2e_assert_line_has "URUNC=urunc"
	[[ $stderr != *URUNC-TESTKERNEL* ]] || { echo "guest output on stderr: $stderr"; false; }
	[ -z "$(ls -A "$E2E_T/state")" ] || { echo "left in the state root:"; find "$E2E_T/state"; false; }
}

@test "create, start, state, wait, delete: QEMU exits 0 and its output lands in create's stdout" {
	cat >"$E2E_T/cycle.sh" <<'EOF'
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
u() { timeout -k 2 20 "$URUNC" --root "$E2E_T/state" "$@"; }
status_is() { [ "$(u state "$ID" | jq -r .status)" = "$1" ]; }

out=$E2E_T/create.out
u create --bundle "$EXAMPLE_BUNDLE" --pid-file "$E2E_T/pid" "$ID" \
	>"$out" 2>"$E2E_T/create.err" </dev/null || fail "create: $(cat "$E2E_T/create.err")"
pid=$(cat "$E2E_T/pid")
[[ $pid =~ ^[0-9]+$ ]] || fail "pid file holds \`$pid\`"
state=$(u state "$ID")
[ "$(jq -r .status <<<"$state")" = created ] || fail "after create: $state"
[ "$(jq -r .pid <<<"$state")" = "$pid" ] || fail "state pid differs from the pid file $pid: $state"
! grep -q URUNC-TESTKERNEL "$out" || fail "the guest ran before start: $(cat "$out")"

u start "$ID" || fail "start failed"
for ((i = 0; i < 600; i++)); do status_is stopped && break; sleep 0.1; done
status_is stopped || fail "not stopped after 60 s: $(u state "$ID")"
[ "$(u state "$ID" | jq -r .pid)" = 0 ] || fail "a stopped container reports a pid"

# reap.pl (our subreaper) collected the init, i.e. QEMU, once it exited.
for ((i = 0; i < 100; i++)); do grep -q "^$pid " "$E2E_T/reaped" 2>/dev/null && break; sleep 0.1; done
code=$(sed -n "s/^$pid //p" "$E2E_T/reaped" 2>/dev/null)
[ "$code" = 0 ] || fail "exit status of the container process $pid: \`$code\` (reaped: $(cat "$E2E_T/reaped" 2>/dev/null))"

cat "$out"
u delete "$ID" || fail "delete failed"
if u state "$ID" >"$E2E_T/gone" 2>&1; then fail "state after delete: $(cat "$E2E_T/gone")"; fi
grep -q "does not exist" "$E2E_T/gone" || fail "state after delete: $(cat "$E2E_T/gone")"
EOF
	run --separate-stderr timeout -k 5 90 perl "$BATS_TEST_DIRNAME/reap.pl" "$E2E_T/reaped" bash "$E2E_T/cycle.sh"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello from urunc"
	e2e_assert_line_has "URUNC=urunc"
	[ -z "$(ls -A "$E2E_T/state")" ] || { echo "left in the state root:"; find "$E2E_T/state"; false; }
}
