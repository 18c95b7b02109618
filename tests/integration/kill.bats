#!/usr/bin/env bats
# kill: the asked signal reaches the VMM (never replaced by SIGKILL); containerd's rules.

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "kill ID: SIGTERM by default, delivered to the VMM (signal=15), not replaced by SIGKILL" {
	local id pid
	id=$(new_id term)
	run_ct "$id"
	pid=$(pid_of "$id")
	run ur kill "$id"
	[ "$status" -eq 0 ]
	wait_for "grep -q '^fakevmm: signal=15' '$T/$id.out'"
	wait_for "gone $pid"
	eq "$(status_of "$id")" stopped
}

@test "kill: the VMM's exit status is 143 after SIGTERM (seen through a foreground run)" {
	local id runpid rc
	id=$(new_id term143)
	mk_bundle "$T/b"
	(rc=0; "$URUNC" --root "$ROOT" run --bundle "$T/b" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null 3>&- || rc=$?; echo "$rc" >"$T/run.rc") &
	runpid=$!
	wait_ready "$id"
	ur kill "$id" 15
	wait "$runpid"
	eq "$(cat "$T/run.rc")" 143
	grep -q '^fakevmm: signal=15' "$T/$id.out"
}

@test "kill: signals by number and by name, with or without SIG, any case" {
	local id pid sig n
	id=$(new_id names)
	run_ct "$id"
	pid=$(pid_of "$id")
	n=0
	for sig in 10 USR1 SIGUSR1 usr1 sigusr1 12 SIGUSR2; do
		ur kill "$id" "$sig"
		n=$((n + 1))
		wait_for "[ \$(grep -c '^fakevmm: signal=1[02]' '$T/$id.out') -eq $n ]"
	done
	eq "$(grep -c '^fakevmm: signal=10' "$T/$id.out")" 5
	eq "$(grep -c '^fakevmm: signal=12' "$T/$id.out")" 2
	alive "$pid"
	ur kill "$id" SIGHUP
	wait_for "grep -q '^fakevmm: signal=1$' '$T/$id.out'"
	wait_for "gone $pid"
}

@test "kill KILL / 9: the VMM dies without a word" {
	local id pid
	id=$(new_id k9)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill "$id" 9
	wait_for "gone $pid"
	refute grep -q '^fakevmm: signal=' "$T/$id.out"
	eq "$(status_of "$id")" stopped
}

@test "kill --all / -a: delivered like kill" {
	local id pid
	id=$(new_id all)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill --all "$id" USR2
	wait_for "grep -q '^fakevmm: signal=12' '$T/$id.out'"
	ur kill -a "$id" TERM
	wait_for "grep -q '^fakevmm: signal=15' '$T/$id.out'"
	wait_for "gone $pid"
}

@test "kill of a created container: the parked init dies, the container is stopped, the VMM never ran" {
	local id pid
	id=$(new_id parked)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	ur kill "$id" TERM
	wait_for "gone $pid"
	eq "$(status_of "$id")" stopped
	refute grep -q fakevmm "$T/$id.out"
	ur delete "$id"
	nothing_left "$id" "$pid"
}

@test "kill ID 15 on a stopped container: 'container not running', rc 1" {
	local id pid
	id=$(new_id stop15)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill "$id" KILL
	wait_for "gone $pid"
	run ur kill "$id" 15
	[ "$status" -eq 1 ]
	has "$output" "container not running"
}

@test "kill --all ID 9 on a stopped container: rc 0 (containerd/CRI delete path)" {
	local id pid
	id=$(new_id stopall)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill "$id" KILL
	wait_for "gone $pid"
	run ur kill --all "$id" 9
	[ "$status" -eq 0 ]
	eq "$output" ""
}

@test "kill of a missing container: 'container does not exist', rc 1" {
	run ur kill "$(new_id missing)" 9
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
	run ur kill --all "$(new_id missing)" 9
	[ "$status" -eq 1 ]
	has "$output" "does not exist"
}

@test "kill with an unknown signal: error, nothing delivered" {
	local id pid
	id=$(new_id badsig)
	run_ct "$id"
	pid=$(pid_of "$id")
	for sig in NOPE SIGFOO 0x9 -1 65 99999999999; do
		run ur kill "$id" "$sig"
		[ "$status" -eq 1 ] || { echo "signal \`$sig\` accepted (rc $status)"; false; }
	done
	# a good signal as a barrier: once it is printed, nothing else came before it
	ur kill "$id" USR1
	wait_for "grep -q '^fakevmm: signal=' '$T/$id.out'"
	eq "$(grep '^fakevmm: signal=' "$T/$id.out")" "fakevmm: signal=10"
	alive "$pid"
}
