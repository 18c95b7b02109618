#!/usr/bin/env bats
# Concurrency: two commands on one id at once serialize on the container's lock and each
# gets a clear answer (exit 0, or exit 1 with one line); many lifecycles in parallel lose no
# state and leak nothing. (create x delete is in races.bats.)

load helpers

BATS_TEST_TIMEOUT=600

setup() { it_setup; }
teardown() { it_teardown; }

# answer <file> <rc>: rc 0, or rc 1 with exactly one line in <file>.
answer() {
	[ "$2" = 0 ] && return 0
	[ "$2" = 1 ] || { echo "exit $2: $(cat "$1")"; return 1; }
	one_line "$(grep -v '^time=' "$1")"
}

@test "start x kill on one id, 5 rounds: both answer clearly; delete --force leaves nothing" {
	local id i pid a b
	mk_bundle "$T/b"
	for i in 1 2 3 4 5; do
		id=$(new_id sk$i)
		create_ct "$id" "$T/b"
		pid=$(pid_of "$id")
		ur start "$id" >"$T/s.out" 2>&1 &
		a=$!
		ur kill "$id" KILL >"$T/k.out" 2>&1 &
		b=$!
		rs=0; wait "$a" || rs=$?
		rk=0; wait "$b" || rk=$?
		answer "$T/s.out" "$rs"
		answer "$T/k.out" "$rk"
		ur delete --force "$id"
		nothing_left "$id" "$pid"
	done
}

@test "delete x delete on one id, 5 rounds: one deletes, the other finds nothing or deletes too" {
	local id i pid a b
	mk_bundle "$T/b"
	for i in 1 2 3 4 5; do
		id=$(new_id dd$i)
		create_ct "$id" "$T/b"
		pid=$(pid_of "$id")
		ur delete --force "$id" >"$T/d1.out" 2>&1 &
		a=$!
		ur delete --force "$id" >"$T/d2.out" 2>&1 &
		b=$!
		r1=0; wait "$a" || r1=$?
		r2=0; wait "$b" || r2=$?
		answer "$T/d1.out" "$r1"
		answer "$T/d2.out" "$r2"
		[ "$r1" = 0 ] || [ "$r2" = 0 ] || { echo "neither delete succeeded"; false; }
		nothing_left "$id" "$pid"
	done
}

@test "100 lifecycles in parallel (16 at a time) with the fake VMM: no failure, no leak, no lost state" {
	local n=${URUNC_PARALLEL_N:-100} start end
	mk_bundle "$T/b"
	export T ROOT URUNC CG
	start=$(date +%s)
	# each: create, start, wait for the VMM's record, state says running, kill, delete
	seq "$n" | xargs -P 16 -I{} bash -c '
		id=par{}-$$
		# a bundle of its own: its own cgroup (a cgroup holding a process is refused)
		mkdir "$T/$id.b" && cp -al "$T/b/rootfs" "$T/$id.b/rootfs" &&
			jq --arg p "/$CG/$id" ".linux.cgroupsPath = \$p" "$T/b/config.json" >"$T/$id.b/config.json" ||
			{ echo "bundle $id"; exit 1; }
		"$URUNC" --root "$ROOT" create --bundle "$T/$id.b" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null || { echo "create $id: $(cat "$T/$id.err")"; exit 1; }
		"$URUNC" --root "$ROOT" start "$id" || { echo "start $id"; exit 1; }
		for _ in $(seq 400); do grep -q "^fakevmm: ready" "$T/$id.out" && break; sleep 0.05; done
		grep -q "^fakevmm: ready" "$T/$id.out" || { echo "no VMM record $id"; exit 1; }
		[ "$("$URUNC" --root "$ROOT" state "$id" | jq -r .status)" = running ] || { echo "state $id"; exit 1; }
		"$URUNC" --root "$ROOT" delete --force "$id" || { echo "delete $id"; exit 1; }
		echo ok >"$T/$id.done"
	' >"$T/failures" 2>&1 || true
	end=$(date +%s)
	eq "$(cat "$T/failures")" ""
	eq "$(find "$T" -name '*.done' | wc -l)" "$n"
	eq "$(ls -A "$ROOT")" ""
	# every container's own cgroup is gone (the shared parent $CG is teardown's: as with runc,
	# a delete removes its container's cgroup; parallel deletes may each see a sibling there)
	eq "$(find /sys/fs/cgroup -mindepth 2 -type d -path "*/$CG/par*" 2>/dev/null)" ""
	no_mounts
	eq "$(pgrep -f -- "--root $ROOT" || true)" ""
	echo "# N=$n, success $n, leaks 0, wall $((end - start)) s" >&3
}

@test "cgroup v1 cpuset: a parent another create has made but not filled in yet is filled top-down (was ENOSPC)" {
	local cs id
	cs=$(awk '$9 == "cgroup" && $NF ~ /(^|,)cpuset(,|$)/ { print $5; exit }' /proc/self/mountinfo)
	[ -n "$cs" ] || skip "no cgroup v1 cpuset hierarchy on this host"
	# the state a concurrent create leaves between its mkdir and its copy: cpus/mems empty
	mkdir "$cs/$CG"
	eq "$(cat "$cs/$CG/cpuset.cpus")" ""
	id=$(new_id cs)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	eq "$(cat "$cs/$CG/cpuset.cpus")" "$(cat "$cs/cpuset.cpus")"
	eq "$(cat "$cs/$CG/b/cpuset.mems")" "$(cat "$cs/cpuset.mems")"
	ur delete --force "$id"
}
