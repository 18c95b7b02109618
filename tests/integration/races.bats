#!/usr/bin/env bats
# create and delete racing on one id. delete waits on the state dir's lock, so it either
# finds nothing yet ("container does not exist", the container then exists whole), or waits
# for create and deletes the whole container it made, or falls between create's mkdir and
# its lock (then create fails cleanly). Never half a container, never a hang.
# The window between create's mkdir of the state dir and its lock is opened on purpose with
# the test-build seam URUNC_TEST_CREATE_PAUSE (urunc built with -Dtest_seams=true).

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

# outcome <id> <create rc> <create err> <delete rc> <delete out>: one round's result is one of
# the three allowed ones; leaves no container behind.
outcome() {
	local id=$1 crc=$2 cerr=$3 drc=$4 dout=$5
	if [ "$crc" -ne 0 ]; then
		# delete fell between create's mkdir and its lock: it removed the empty dir, and
		# create, finding its dir gone, failed with one line naming it; nothing is left
		eq "$crc" 1
		has "$(cat "$cerr")" "$ROOT/$id"
		eq "$drc" 1
		has "$dout" "container does not exist"
		no_state "$id"
		no_cgroup
		return 0
	fi
	if [ "$drc" -eq 0 ]; then
		# delete came second: everything create made is gone
		nothing_left "$id" "$(pid_of "$id")"
	else
		has "$dout" "container does not exist"
		# delete came first: the container is whole (created, its init alive)
		eq "$(status_of "$id")" created
		alive "$(pid_of "$id")"
		ur delete --force "$id"
		nothing_left "$id" "$(pid_of "$id")"
	fi
}

@test "create x delete on one id, 5 rounds: delete finds nothing or deletes all of it" {
	local id i crc drc dout
	id=$(new_id cxd)
	mk_bundle "$T/b"
	for i in 1 2 3 4 5; do
		(rc=0
		create_ct "$id" "$T/b" || rc=$?
		echo "$rc" >"$T/crc") &
		local cp=$!
		drc=0
		dout=$(ur delete "$id" 2>&1) || drc=$?
		wait "$cp"
		crc=$(cat "$T/crc")
		outcome "$id" "$crc" "$T/$id.err" "$drc" "$dout"
	done
}

@test "delete x create on one id, 5 rounds (delete started first)" {
	local id i crc drc dp
	id=$(new_id dxc)
	mk_bundle "$T/b"
	for i in 1 2 3 4 5; do
		(rc=0
		ur delete "$id" >"$T/dout" 2>&1 || rc=$?
		echo "$rc" >"$T/drc") &
		dp=$!
		crc=0
		create_ct "$id" "$T/b" || crc=$?
		wait "$dp"
		drc=$(cat "$T/drc")
		outcome "$id" "$crc" "$T/$id.err" "$drc" "$(cat "$T/dout")"
	done
}

@test "a delete between create's mkdir and its lock: create fails cleanly, nothing is left" {
	[ "${URUNC_TEST_SEAMS:-0}" = 1 ] || skip "urunc lacks the test seam (-Dtest_seams=true)"
	local id cp crc drc dout
	id=$(new_id gap)
	mk_bundle "$T/b"
	mkfifo "$T/paused" "$T/resume"
	(rc=0
	URUNC_TEST_CREATE_PAUSE=$T create_ct "$id" "$T/b" || rc=$?
	echo "$rc" >"$T/crc") &
	cp=$!
	# create made the state dir and stopped before locking it
	timeout 10 head -c 1 "$T/paused" >/dev/null
	[ -d "$ROOT/$id" ]
	drc=0
	dout=$(ur delete "$id" 2>&1) || drc=$?
	printf x >"$T/resume"
	wait "$cp"
	crc=$(cat "$T/crc")
	# delete took the empty dir for a create that died: "does not exist", dir removed
	eq "$drc" 1
	has "$dout" "container does not exist"
	# create then finds its dir gone: it fails with one clear line, and leaves nothing
	eq "$crc" 1
	has "$(cat "$T/$id.err")" "$ROOT/$id"
	no_state "$id"
	no_cgroup
	no_mounts
	[ ! -s "$T/$id.pid" ]
	# the id is free again
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	eq "$(status_of "$id")" created
	ur delete --force "$id"
	nothing_left "$id" "$(pid_of "$id")"
}
