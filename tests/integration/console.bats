#!/usr/bin/env bats
# process.terminal and --console-socket: the pty master handed over with SCM_RIGHTS.

load helpers

setup() {
	it_setup
	RECVTTY=$BATS_TEST_DIRNAME/recvtty.py
}
teardown() { it_teardown; }

# start_recvtty <name> [go file]: a receiver listening on $T/<name>.sock; it writes
# $T/<name>.meta and copies the console to $T/<name>.tty (see recvtty.py).
start_recvtty() {
	local name=$1 go=${2:-}
	python3 "$RECVTTY" "$T/$name.sock" "$T/$name" ${go:+"$go"} </dev/null >"$T/$name.rlog" 2>&1 3>&- &
	echo $! >"$T/$name.extra-pid"
	wait_for "[ -e '$T/$name.listening' ]" 5
}

meta() { sed -n "s/^$2=//p" "$T/$1.meta"; }

tty_bundle() {
	mk_bundle "$1"
	cfg "$1" '.process.terminal = true'
}

@test "terminal=true without --console-socket: clear error, nothing left" {
	local id
	id=$(new_id noconsole)
	tty_bundle "$T/b"
	run create_ct "$id" "$T/b"
	[ "$status" -eq 1 ]
	has "$(cat "$T/$id.err")" "cannot allocate tty"
	has "$(cat "$T/$id.err")" "console socket"
	no_state "$id"
	no_cgroup
	[ ! -e "$T/$id.pid" ]
}

@test "--console-socket without terminal: clear error, nothing left" {
	local id
	id=$(new_id notty)
	mk_bundle "$T/b"
	start_recvtty con
	run create_ct "$id" "$T/b" --console-socket "$T/con.sock"
	[ "$status" -eq 1 ]
	has "$(cat "$T/$id.err")" "console socket"
	no_state "$id"
	no_cgroup
	[ ! -e "$T/con.meta" ]
}

@test "console socket: one SCM_RIGHTS message, one fd (a pty master), a name, queued before create exits; the VMM's stdio is the tty" {
	local id pid name
	id=$(new_id tty)
	tty_bundle "$T/b"
	start_recvtty con "$T/go"
	create_ct "$id" "$T/b" --console-socket "$T/con.sock"
	# create has exited: only now may the receiver look, without waiting
	touch "$T/go"
	wait_for "[ -e '$T/con.meta' ]" 5
	cat "$T/con.meta"
	eq "$(meta con error)" ""
	eq "$(meta con messages)" 1
	eq "$(meta con cmsgs)" 1
	eq "$(meta con fds)" 1
	eq "$(meta con truncated)" 0
	eq "$(meta con isatty)" 1
	eq "$(meta con ptmx)" 1
	name=$(meta con name)
	[ -n "$name" ]

	ur start "$id"
	wait_for "grep -q 'fakevmm: ready' '$T/con.tty'" 10
	grep -q 'fakevmm: tty=1,1,1' "$T/con.tty"
	# the console went to the pty, not to create's stdout/stderr
	refute grep -q fakevmm "$T/$id.out"
	pid=$(pid_of "$id")
	[[ $name == /dev/pts/* ]] || { echo "console name \`$name\` is not a pts"; false; }
	eq "$(readlink "/proc/$pid/fd/0")" "$name"
	[[ $(readlink "/proc/$pid/fd/1") == /dev/pts/* ]]
	[[ $(readlink "/proc/$pid/fd/2") == /dev/pts/* ]]

	ur delete --force "$id"
	nothing_left "$id" "$pid"
	# the receiver saw the slave close (EIO) and ended
	wait_for "gone $(cat "$T/con.extra-pid")" 5
}

@test "terminal mode: create and start return although stdout/stderr are a pipe (the VMM does not hold it)" {
	local id out rc
	id=$(new_id pipe)
	tty_bundle "$T/b"
	start_recvtty con
	rc=0
	out=$(timeout 20 "$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/$id.pid" \
		--console-socket "$T/con.sock" "$id" 2>&1 </dev/null) || rc=$?
	[ "$rc" -eq 0 ] || { echo "create rc=$rc: $out"; false; }
	rc=0
	out=$(timeout 20 "$URUNC" --root "$ROOT" start "$id" 2>&1 </dev/null) || rc=$?
	[ "$rc" -eq 0 ] || { echo "start rc=$rc: $out"; false; }
	wait_for "grep -q 'fakevmm: ready' '$T/con.tty'" 10
	refute has "$out" fakevmm
}

@test "process.consoleSize sets the size of the VMM's terminal" {
	local id pid
	id=$(new_id size)
	tty_bundle "$T/b"
	cfg "$T/b" '.process.consoleSize = {"height": 31, "width": 101}'
	start_recvtty con
	create_ct "$id" "$T/b" --console-socket "$T/con.sock"
	ur start "$id"
	wait_for "grep -q 'fakevmm: ready' '$T/con.tty'" 10
	pid=$(pid_of "$id")
	eq "$(stty -F "/proc/$pid/fd/0" size)" "31 101"
}

@test "console socket that nobody listens on: create fails naming it, nothing left" {
	local id
	id=$(new_id nosock)
	tty_bundle "$T/b"
	run create_ct "$id" "$T/b" --console-socket "$T/missing.sock"
	[ "$status" -eq 1 ]
	has "$(cat "$T/$id.err")" "$T/missing.sock"
	no_state "$id"
	no_cgroup
	[ ! -e "$T/$id.pid" ]
}
