#!/usr/bin/env bats
# Load with real guests: LOAD_N (20) containers of the test kernel under QEMU, all created
# in parallel, then all started in parallel; each guest's console must show its own
# arguments; all are deleted. Nothing may fail, leak (state dir, cgroup, mount, loop
# device, tap, process) or be lost (every container answers `state` until its delete).
# The figures are in docs/faults.md ("Load").

bats_require_minimum_version 1.5.0
load e2e_helpers

setup_file() {
	e2e_setup_file || return 0
	mkdir "$E2E_T/state"
}

teardown_file() { e2e_rm_tmp; }

setup() {
	e2e_setup
	N=${LOAD_N:-20}
	export N
}

# Whatever a failed run left: each container (its VMM) and its cgroup (named after the id).
teardown() {
	[ -z "${E2E_SKIP:-}" ] || return 0
	local i
	for ((i = 0; i < N; i++)); do
		timeout -k 2 20 "$URUNC" --root "$E2E_T/state" delete --force "load$i-$E2E_SFX" >/dev/null 2>&1 || true
		e2e_kill_cgroups "load$i-$E2E_SFX"
	done
}

# The urunc taps in this network namespace, one per line.
taps() { ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^tap[0-9]+_urunc$' || true; }

@test "load: 20 (LOAD_N) QEMU/TCG guests created and started in parallel all boot, answer state, and leave nothing" {
	local i taps_before
	taps_before=$(taps)
	for ((i = 0; i < N; i++)); do
		"$MAKE_BUNDLE" "$E2E_T/b$i" "$TESTKERNEL" >/dev/null
		tl_jq_edit "$E2E_T/b$i/config.json" --arg a "$i" '.process.args = ["load", $a]'
	done
	cat >"$E2E_T/one.sh" <<'EOF1'
# one.sh <i> <phase>: one container's half of the lifecycle; a line on stderr says what failed.
set -uo pipefail
i=$1 id=load$1-$E2E_SFX d=$E2E_T/c$1
fail() { echo "FAIL $id: $*" >&2; exit 1; }
u() { timeout -k 2 60 "$URUNC" --root "$E2E_T/state" "$@"; }
status() { u state "$id" | jq -r .status; }
case $2 in
create)
	mkdir -p "$d"
	u create --bundle "$E2E_T/b$i" --pid-file "$d/pid" "$id" >"$d/out" 2>"$d/create.err" </dev/null ||
		fail "create: $(cat "$d/create.err")"
	[ "$(status)" = created ] || fail "after create: $(u state "$id" 2>&1)"
	;;
start)
	u start "$id" 2>"$d/start.err" || fail "start: $(cat "$d/start.err")"
	# Until the guest's QEMU exits (TCG on a loaded machine: allow minutes).
	for ((t = 0; t < 2400; t++)); do [ "$(status)" = stopped ] && break; sleep 0.1; done
	[ "$(status)" = stopped ] || fail "not stopped after 240 s: $(u state "$id" 2>&1)"
	;;
delete)
	u delete "$id" 2>"$d/delete.err" || fail "delete: $(cat "$d/delete.err")"
	if u state "$id" >"$d/gone" 2>&1; then fail "state after delete: $(cat "$d/gone")"; fi
	grep -q "does not exist" "$d/gone" || fail "state after delete: $(cat "$d/gone")"
	;;
esac
EOF1
	cat >"$E2E_T/load.sh" <<'EOF1'
# Each phase for all containers at once; every container must pass each phase.
set -uo pipefail
for phase in create start delete; do
	pids=()
	for ((i = 0; i < N; i++)); do bash "$E2E_T/one.sh" "$i" "$phase" & pids+=($!); done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	[ "$bad" -eq 0 ] || { echo "$phase: $bad of $N failed" >&2; exit 1; }
	echo "$phase: $N ok at $SECONDS s"
done
EOF1
	# Every QEMU is a child of a create under reap.pl, the subreaper that collects it,
	# and all of it is bounded.
	run --separate-stderr timeout -k 5 420 perl "$BATS_TEST_DIRNAME/reap.pl" "$E2E_T/reaped" bash "$E2E_T/load.sh"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	echo "$output"

	# Each guest booted, saw its own arguments and exited; QEMU exited 0.
	for ((i = 0; i < N; i++)); do
		output=$(tr -d '\r' <"$E2E_T/c$i/out")
		e2e_assert_guest_output "load $i"
		pid=$(cat "$E2E_T/c$i/pid")
		code=$(sed -n "s/^$pid //p" "$E2E_T/reaped")
		[ "$code" = 0 ] || { echo "load$i: QEMU $pid exit status \`$code\`"; false; }
	done

	# Nothing left: state dirs, processes, cgroups, mounts, loop devices, taps.
	[ -z "$(ls -A "$E2E_T/state")" ] || { echo "left in the state root:"; find "$E2E_T/state"; false; }
	for ((i = 0; i < N; i++)); do
		pid=$(cat "$E2E_T/c$i/pid")
		e2e_gone "$pid" || { echo "load$i: process $pid still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")"; false; }
		[ -z "$(e2e_cgroup_dirs "load$i-$E2E_SFX")" ] || { echo "cgroup left: $(e2e_cgroup_dirs "load$i-$E2E_SFX")"; false; }
	done
	[ -z "$(pgrep -f -- "-$E2E_SFX" || true)" ] || { echo "processes left:"; pgrep -af -- "-$E2E_SFX"; false; }
	[ -z "$(findmnt -rn -o TARGET | grep -F "$E2E_T" || true)" ] || { echo "mounts left:"; findmnt -rn -o TARGET | grep -F "$E2E_T"; false; }
	[ -z "$(losetup -a | grep -F "$E2E_T" || true)" ] || { echo "loop devices left:"; losetup -a | grep -F "$E2E_T"; false; }
	[ "$(taps)" = "$taps_before" ] || { printf 'taps before:\n%s\nafter:\n%s\n' "$taps_before" "$(taps)"; false; }
}
