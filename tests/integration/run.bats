#!/usr/bin/env bats
# run: create + start (+ wait + delete in the foreground).

load helpers

setup() { it_setup; }

# create_or_run <urunc args...>: stdout/stderr to $T/out and $T/err (files, see helpers).
create_or_run() { "$URUNC" --root "$ROOT" "$@" >"$T/out" 2>"$T/err" </dev/null; }
teardown() { it_teardown; }

@test "run in the foreground exits with the VMM's status (fakevmm:exit=3 -> 3) and deletes the container" {
	local id rc=0
	id=$(new_id fg)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.args = ["fakevmm:exit=3"]'
	timeout 30 "$URUNC" --root "$ROOT" run --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?
	eq "$rc" 3
	grep -q '^fakevmm: ready' "$T/$id.out"
	nothing_left "$id" "$(pid_of "$id")"
}

@test "run in the foreground: exit 0 is 0" {
	local id rc=0
	id=$(new_id fg0)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.args = ["fakevmm:exit=0"]'
	timeout 30 "$URUNC" --root "$ROOT" run -b "$T/$id" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?
	eq "$rc" 0
	no_state "$id"
}

@test "run in the foreground forwards SIGTERM/SIGINT to the VMM and exits 128+N" {
	local id runpid sig
	for sig in TERM INT; do
		id=$(new_id "fwd$sig")
		mk_bundle "$T/$id"
		(rc=0; "$URUNC" --root "$ROOT" run --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
			>"$T/$id.out" 2>"$T/$id.err" </dev/null 3>&- || rc=$?; echo "$rc" >"$T/$id.rc") &
		wait_ready "$id"
		# the urunc run process: parent of the VMM
		runpid=$(awk '/^PPid:/ {print $2}' "/proc/$(pid_of "$id")/status")
		eq "$(readlink "/proc/$runpid/exe")" "$URUNC"
		kill -"$sig" "$runpid"
		wait_for "[ -s '$T/$id.rc' ]" 10
		case $sig in
		TERM) eq "$(cat "$T/$id.rc")" 143; grep -q '^fakevmm: signal=15' "$T/$id.out" ;;
		INT) eq "$(cat "$T/$id.rc")" 130; grep -q '^fakevmm: signal=2' "$T/$id.out" ;;
		esac
		no_state "$id"
	done
}

@test "run --keep: the stopped container stays until delete" {
	local id rc=0
	id=$(new_id keep)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.args = ["fakevmm:exit=5"]'
	timeout 30 "$URUNC" --root "$ROOT" run --keep --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?
	eq "$rc" 5
	eq "$(status_of "$id")" stopped
	ur delete "$id"
	nothing_left "$id" "$(pid_of "$id")"
}

@test "run --detach / -d: returns 0 with the VMM running; pid file written" {
	local id pid
	id=$(new_id det)
	mk_bundle "$T/$id"
	# (never bats' `run` here: it would hand the VMM a pipe to hold)
	"$URUNC" --root "$ROOT" run --detach --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null
	pid=$(pid_of "$id")
	wait_ready "$id"
	eq "$(status_of "$id")" running
	eq "$(jq -r .pid <<<"$(ur state "$id")")" "$pid"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
}

@test "run: a failing create leaves nothing behind" {
	local id
	id=$(new_id runfail)
	mk_bundle "$T/$id" binary=/unikernel/missing
	run create_or_run run -d --bundle "$T/$id" "$id"
	[ "$status" -eq 1 ]
	has "$(cat "$T/err")" "/unikernel/missing"
	no_state "$id"
	no_cgroup
}

@test "run: a failing start (startContainer hook) deletes the container" {
	local id
	id=$(new_id startfail)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 7"]}]'
	run create_or_run run -d --bundle "$T/$id" --pid-file "$T/$id.pid" "$id"
	[ "$status" -eq 1 ]
	has "$(cat "$T/err")" "startContainer"
	has "$(cat "$T/err")" "nope"
	no_state "$id"
	no_cgroup
	wait_for "gone $(pid_of "$id")"
}

@test "run in the foreground: a VMM killed with SIGKILL gives 137" {
	local id
	id=$(new_id fg137)
	mk_bundle "$T/$id"
	(rc=0; "$URUNC" --root "$ROOT" run --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null 3>&- || rc=$?; echo "$rc" >"$T/$id.rc") &
	wait_ready "$id"
	ur kill "$id" KILL
	wait_for "[ -s '$T/$id.rc' ]" 10
	eq "$(cat "$T/$id.rc")" 137
	no_state "$id"
}

@test "run in the foreground with process.terminal: the VMM gets a tty, run exits with its status" {
	local id rc=0
	command -v script >/dev/null || skip "script(1) is not installed"
	id=$(new_id fgtty)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.terminal = true | .process.args = ["fakevmm:exit=3"]'
	# script(1) gives urunc a terminal of its own, as a human's shell would
	timeout 30 script -qec "'$URUNC' --root '$ROOT' run --bundle '$T/$id' '$id'" "$T/typescript" \
		</dev/null >"$T/$id.out" 2>&1 || rc=$?
	eq "$rc" 3
	grep -q 'fakevmm: tty=1,1,1' "$T/$id.out"
	no_state "$id"
}
