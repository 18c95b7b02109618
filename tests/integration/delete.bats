#!/usr/bin/env bats
# delete [--force]: containerd's rules, and nothing left behind.

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "delete of a created container succeeds and kills the parked init; nothing left" {
	local id pid
	id=$(new_id created)
	mk_bundle "$T/$id"
	create_ct "$id" "$T/$id"
	pid=$(pid_of "$id")
	[ -n "$(cg_dirs_of "$id")" ]
	run ur delete "$id"
	[ "$status" -eq 0 ]
	nothing_left "$id" "$pid"
	refute grep -q fakevmm "$T/$id.out"
}

@test "delete of a running container without --force: 'cannot delete container ID that is not stopped: running', nothing changes" {
	local id pid
	id=$(new_id running)
	run_ct "$id"
	pid=$(pid_of "$id")
	run ur delete "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot delete container $id that is not stopped: running"
	alive "$pid"
	eq "$(status_of "$id")" running
	[ -d "$ROOT/$id" ]
	refute grep -q '^fakevmm: signal=' "$T/$id.out"
}

@test "delete --force of a running container: VMM killed; no state dir, cgroups, mounts or process left" {
	local id pid
	id=$(new_id force)
	run_ct "$id"
	pid=$(pid_of "$id")
	[ -n "$(cg_dirs_of "$id")" ]
	run ur delete --force "$id"
	[ "$status" -eq 0 ]
	nothing_left "$id" "$pid"
	run ur state "$id"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
}

@test "delete of a stopped container: rc 0, nothing left" {
	local id pid
	id=$(new_id stopped)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur kill "$id"
	wait_for "gone $pid"
	run ur delete "$id"
	[ "$status" -eq 0 ]
	nothing_left "$id" "$pid"
}

@test "delete of a VMM that exited by itself: rc 0, nothing left" {
	local id pid
	id=$(new_id exited)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.args = ["fakevmm:exit=0"]'
	create_ct "$id" "$T/$id"
	pid=$(pid_of "$id")
	ur start "$id"
	wait_for "gone $pid"
	ur delete "$id"
	nothing_left "$id" "$pid"
}

@test "delete of a missing container: 'container does not exist' rc 1; with --force / -f rc 0" {
	local id
	id=$(new_id missing)
	run ur delete "$id"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
	run ur delete --force "$id"
	[ "$status" -eq 0 ]
	eq "$output" ""
	run ur delete -f "$id"
	[ "$status" -eq 0 ]
	# a root that does not exist at all
	run "$URUNC" --root "$T/state-none" delete --force "$id"
	[ "$status" -eq 0 ]
}

@test "delete: a state dir without state.json (a create that died early) is removed" {
	local id
	id=$(new_id leftover)
	mkdir -p "$ROOT/$id"
	run ur delete "$id"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
	no_state "$id"
	mkdir -p "$ROOT/$id"
	run ur delete --force "$id"
	[ "$status" -eq 0 ]
	no_state "$id"
}

@test "delete twice: the second says 'container does not exist'" {
	local id
	id=$(new_id twice)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	ur delete "$id"
	run ur delete "$id"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
}

@test "delete removes only what create made: the bundle, rootfs and a pre-existing parent cgroup stay" {
	local id pid pids
	id=$(new_id only)
	mk_bundle "$T/$id"
	pids=$(cg_root pids)
	mkdir -p "$pids/$CG"
	create_ct "$id" "$T/$id"
	pid=$(pid_of "$id")
	ur start "$id"
	wait_ready "$id"
	ur delete --force "$id"
	no_state "$id"
	wait_for "gone $pid"
	[ -f "$T/$id/config.json" ]
	[ -f "$T/$id/rootfs/unikernel/kernel" ]
	# the parent we made ourselves is still there (in pids), the ones urunc made are gone
	[ -d "$pids/$CG" ]
	[ ! -d "$pids/$CG/$id" ]
	[ -z "$(tl_cgroup_find -mindepth 2 -name "$CG" ! -path "$pids/*")" ]
	no_mounts
}

@test "concurrent delete --force of one container: both rc 0, VMM gone, nothing left" {
	local id pid p1
	id=$(new_id cdel)
	run_ct "$id"
	pid=$(pid_of "$id")
	(rc=0; ur delete --force "$id" >"$T/d1" 2>&1 3>&- || rc=$?; echo "$rc" >"$T/d1.rc") &
	p1=$!
	(rc=0; ur delete --force "$id" >"$T/d2" 2>&1 3>&- || rc=$?; echo "$rc" >"$T/d2.rc") &
	wait $p1 $!
	eq "$(cat "$T/d1.rc") $(cat "$T/d2.rc")" "0 0"
	nothing_left "$id" "$pid"
}

@test "delete of a container whose create made the shared parent cgroup leaves a sibling's cgroup alone" {
	local a b pb d
	a=$(new_id sa)
	b=$(new_id sb)
	# /$CG does not exist yet: a's create makes it, b's only adds its leaf
	mk_bundle "$T/$a"
	create_ct "$a" "$T/$a"
	run_ct "$b"
	pb=$(pid_of "$b")
	run ur delete "$a"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# b's cgroup is intact and still holds b's VMM
	[ -n "$(cg_dirs_of "$b")" ]
	for d in $(cg_dirs_of "$b"); do
		eq "$(cat "$d/cgroup.procs")" "$pb"
	done
	eq "$(status_of "$b")" running
	run ur delete --force "$b"
	[ "$status" -eq 0 ]
	no_state "$b"
}

# killed_create <id>: a create SIGKILLed (as a dying shim's Pdeathsig does) while its
# createRuntime hook runs, i.e. after the init was cloned and put in its cgroup.
killed_create() {
	local id=$1 cpid
	mk_bundle "$T/$id"
	cfg "$T/$id" --arg m "$T/hook.extra-pid" \
		'.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "echo $$ > \($m); exec sleep 60"]}]'
	"$URUNC" --root "$ROOT" create --bundle "$T/$id" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null 3>&- &
	cpid=$!
	disown "$cpid"
	wait_for "[ -s '$T/hook.extra-pid' ]" 10
	# the init is in its cgroup by now
	[ -n "$(cg_dirs_of "$id")" ]
	kill -KILL "$cpid"
	wait_for "gone $cpid"
	kill -KILL "$(cat "$T/hook.extra-pid")"
}

@test "delete --force after create was SIGKILLed mid-way: rc 0, state dir gone, the parked init died with create" {
	local id
	id=$(new_id killed)
	killed_create "$id"
	[ ! -e "$T/$id.pid" ]
	run ur delete --force "$id"
	[ "$status" -eq 0 ]
	no_state "$id"
	# no process of ours left in the container's cgroup
	for d in $(cg_dirs_of "$id"); do
		eq "$(cat "$d/cgroup.procs")" ""
	done
}

@test "delete --force after create was SIGKILLed mid-way removes the container's cgroup too" {
	local id
	id=$(new_id killedcg)
	killed_create "$id"
	ur delete --force "$id"
	no_state "$id"
	no_cgroup
}

@test "delete and delete --force work after the bundle is gone (containerd removes it early)" {
	local a b pa pb
	# (one after the other: siblings under one parent cgroup would meet the bug above)
	a=$(new_id nobundle1)
	mk_bundle "$T/$a"
	create_ct "$a" "$T/$a"
	pa=$(pid_of "$a")
	rm -rf "${T:?}/$a"
	eq "$(status_of "$a")" created
	run ur delete "$a"
	[ "$status" -eq 0 ]
	nothing_left "$a" "$pa"
	b=$(new_id nobundle2)
	run_ct "$b"
	pb=$(pid_of "$b")
	rm -rf "${T:?}/$b"
	eq "$(status_of "$b")" running
	run ur delete --force "$b"
	[ "$status" -eq 0 ]
	nothing_left "$b" "$pb"
}
