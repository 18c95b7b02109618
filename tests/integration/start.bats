#!/usr/bin/env bats
# start: created -> running, once.

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "start: created -> running; the VMM runs as pid 1 of the container with the spec's hostname" {
	local id
	id=$(new_id s)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	eq "$(status_of "$id")" created
	run ur start "$id"
	[ "$status" -eq 0 ]
	eq "$output" ""
	wait_ready "$id"
	eq "$(status_of "$id")" running
	eq "$(vmm "$id" pid)" 1
	eq "$(vmm "$id" hostname)" urunc-example
	eq "$(vmm "$id" cwd)" /
	# the exec fifo (the created marker) is gone
	[ ! -e "$ROOT/$id/exec.fifo" ]
}

@test "start twice: 'cannot start an already running container', without effect" {
	local id pid
	id=$(new_id twice)
	run_ct "$id"
	pid=$(pid_of "$id")
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot start an already running container"
	alive "$pid"
	eq "$(grep -c '^fakevmm: ready' "$T/$id.out")" 1
	eq "$(status_of "$id")" running
}

@test "two concurrent starts: exactly one succeeds, the VMM starts once" {
	local id rc1=0 rc2=0 p1
	id=$(new_id cstart)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	(rc=0; ur start "$id" >"$T/s1" 2>&1 3>&- || rc=$?; echo "$rc" >"$T/s1.rc") &
	p1=$!
	(rc=0; ur start "$id" >"$T/s2" 2>&1 3>&- || rc=$?; echo "$rc" >"$T/s2.rc") &
	wait $p1 $!
	rc1=$(cat "$T/s1.rc")
	rc2=$(cat "$T/s2.rc")
	eq "$((rc1 + rc2))" 1
	has "$(cat "$T/s1" "$T/s2")" "cannot start an already running container"
	wait_ready "$id"
	eq "$(grep -c '^fakevmm: ready' "$T/$id.out")" 1
}

@test "start of a stopped container: 'cannot start a container that has stopped'" {
	local id pid
	id=$(new_id stopped)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill "$id" KILL
	wait_for "gone $pid"
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot start a container that has stopped"
}

@test "start after the parked init was killed: fails, container stopped" {
	local id pid
	id=$(new_id deadinit)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	kill -KILL "$pid"
	wait_for "gone $pid"
	eq "$(status_of "$id")" stopped
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot start a container that has stopped"
	refute grep -q fakevmm "$T/$id.out"
}

@test "start of a missing container: 'container does not exist'" {
	run ur start "$(new_id missing)"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
}

@test "start, state, ps, kill and delete return promptly with stdout/stderr on a pipe (go-runc's combined output)" {
	local id out
	id=$(new_id pipes)
	mk_bundle "$T/b"
	# a chatty hook: its output is captured by urunc, not passed to the caller
	cfg "$T/b" '.hooks.poststart = [{"path": "/bin/sh", "args": ["sh", "-c", "echo to-stdout; echo to-stderr >&2"]}]'
	create_ct "$id" "$T/b"
	# each command substitution ends only when no process holds the pipe any more
	out=$(timeout 20 "$URUNC" --root "$ROOT" start "$id" 2>&1) || { echo "start: $? $out"; false; }
	eq "$out" ""
	wait_ready "$id"
	out=$(timeout 20 "$URUNC" --root "$ROOT" state "$id" 2>&1)
	eq "$(jq -r .status <<<"$out")" running
	out=$(timeout 20 "$URUNC" --root "$ROOT" ps --format json "$id" 2>&1)
	eq "$out" "[$(pid_of "$id")]"
	out=$(timeout 20 "$URUNC" --root "$ROOT" kill "$id" USR1 2>&1)
	eq "$out" ""
	out=$(timeout 20 "$URUNC" --root "$ROOT" delete --force "$id" 2>&1)
	eq "$out" ""
	no_state "$id"
}

@test "runc's default capabilities (ambient without inheritable) start, with one warning per capability" {
	local id
	id=$(new_id ambient)
	mk_bundle "$T/b"
	cfg "$T/b" '.process.capabilities = {
		bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
		effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
		permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
		ambient: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]}'
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	run ur start "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_ready "$id"
	eq "$(status_of "$id")" running
	# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
	eq "$(vmm "$id" capeff)" 0000000020000420
	eq "$(grep -c 'ambient capability CAP_[A-Z_]* not raised' "$T/$id.err")" 3
}
