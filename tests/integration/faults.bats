#!/usr/bin/env bats
# Faults: create, the container init, start and delete are SIGKILLed at every step (the
# test builds' hook URUNC_TEST_KILL_AT=<step>, in the one timestamp mark function). After
# each: a state file, if any, is whole JSON; `delete --force` succeeds and leaves no state
# dir, cgroup, mount, loop device or process; a new container with the same id runs.
# The steps are read from the binary, so a new mark is covered without editing this file.
# Each step's outcome goes to $URUNC_FAULTS_TABLE when set (docs/faults.md shows one).

load helpers

# 23 steps, each a whole lifecycle or two.
BATS_TEST_TIMEOUT=900

setup() {
	it_setup
	[ "${URUNC_TEST_SEAMS:-0}" = 1 ] || skip "urunc built without -Dtest_seams=true (scripts/build.sh sets it)"
}
teardown() { it_teardown; }

# steps: every step name compiled into urunc (the kNames table of src/container/timestamps.cpp).
steps() { strings "$URUNC" | grep -E '^(CR|RX|ST|DL)\.[a-z_]+$'; }


loops_on_t() { losetup -nO NAME,BACK-FILE 2>/dev/null | grep -F " $T/" || true; }

# clean <id>: nothing of <id> is left anywhere.
clean() {
	no_state "$1" || return 1
	eq "$(cg_dirs_of "$1")" "" || return 1
	no_mounts || return 1
	eq "$(loops_on_t)" "" || return 1
	wait_for "[ -z \"\$(procs_of '$1')\" ]" 10 || { echo "processes left: $(procs_of "$1")"; return 1; }
}

# rc <command...>: run it, print its exit status (never fails).
rc() {
	local r=0
	"$@" || r=$?
	echo "$r"
}

@test "the step list comes from the binary: create, init, start and delete steps are all there" {
	local n
	n=$(steps | wc -l)
	[ "$n" -ge 23 ] || { steps; false; }
	for s in CR.invoked RX.create_invoked ST.sent_start_msg RX.execve_hypervisor DL.state_removed; do
		steps | grep -qx "$s" || { echo "step $s missing"; false; }
	done
}

@test "SIGKILL at every step of create, init, start and delete: delete --force leaves nothing; the id works again" {
	local step id n=0 c s d out who pid
	mk_bundle "$T/b"
	for step in $(steps); do
		n=$((n + 1))
		id=$(new_id "f$n")
		# Every command of the lifecycle carries the hook: the init inherits create's env.
		c=$(URUNC_TEST_KILL_AT=$step rc create_ct "$id" "$T/b")
		s=-
		if [ "$c" = 0 ]; then
			s=$(URUNC_TEST_KILL_AT=$step rc ur start "$id")
		fi
		d=$(URUNC_TEST_KILL_AT=$step rc timeout -k 2 30 "$URUNC" --root "$ROOT" delete --force "$id")
		# the step's own process died there: create, start, delete with SIGKILL's 137;
		# the init (RX) with an error from create or start, or before the VMM ran
		case $step in
		CR.*) who=create; eq "$c" 137 ;;
		ST.*) who=start; eq "$s" 137 ;;
		DL.*) who=delete; eq "$d" 137 ;;
		RX.*)
			who=init
			refute grep -q '^fakevmm: ready' "$T/$id.out"
			;;
		esac
		# a state file is whole JSON or absent
		if [ -e "$ROOT/$id/state.json" ]; then
			jq -e . "$ROOT/$id/state.json" >/dev/null || { echo "$step: half-written state.json"; false; }
		fi
		# the real delete --force: succeeds and leaves nothing
		out=$(timeout -k 2 30 "$URUNC" --root "$ROOT" delete --force "$id" 2>&1) ||
			{ echo "$step: delete --force failed: $out"; false; }
		clean "$id" || { echo "$step: something left (create $c, start $s, delete $d)"; false; }
		# the same id works again
		create_ct "$id" "$T/b" || { echo "$step: create again: $(cat "$T/$id.err")"; false; }
		pid=$(pid_of "$id")
		ur start "$id"
		wait_ready "$id"
		ur delete --force "$id"
		clean "$id" || { echo "$step: left after the second lifecycle"; false; }
		wait_for "gone $pid"
		echo "# $step: $who killed; create $c, start $s, delete $d; nothing left; id reused" >&3
		if [ -n "${URUNC_FAULTS_TABLE:-}" ]; then
			printf '| `%s` | %s | %s | %s | %s | nothing left; same id runs again |\n' \
				"$step" "$who" "$c" "$s" "$d" >>"$URUNC_FAULTS_TABLE"
		fi
	done
}

@test "run starts the VMM without a start step: SIGKILL of run or its init at each step after the fork leaves no container 'created' that start would wait on; delete --force leaves nothing" {
	local step id n=0 r s s2 out
	mk_bundle "$T/b"
	for step in CR.received_pids CR.hooks_executed CR.sent_ack CR.terminated RX.received_ack \
		RX.disk_setup_completed RX.received_start_msg RX.execve_hypervisor; do
		n=$((n + 1))
		id=$(new_id "r$n")
		r=0
		URUNC_TEST_KILL_AT=$step timeout -k 2 30 "$URUNC" --root "$ROOT" run -d --bundle "$T/b" "$id" \
			</dev/null >"$T/$id.out" 2>"$T/$id.err" || r=$?
		[ "$r" != 124 ] || { echo "$step: run hung"; false; }
		s=$(status_of "$id")
		# Not "created": nothing parks, so no start could ever reach the VMM.
		case "$s" in
		"" | creating | running | stopped) ;;
		*) echo "$step: status '$s' after run (rc $r)"; false ;;
		esac
		s2=0
		out=$(timeout -k 2 10 "$URUNC" --root "$ROOT" start "$id" 2>&1) || s2=$?
		[ "$s2" != 0 ] || { echo "$step: start of a container run already started succeeded"; false; }
		[ "$s2" != 124 ] || { echo "$step: start hung"; false; }
		out=$(timeout -k 2 30 "$URUNC" --root "$ROOT" delete --force "$id" 2>&1) ||
			{ echo "$step: delete --force failed: $out"; false; }
		clean "$id" || { echo "$step: something left (run $r, status '$s')"; false; }
		echo "# run killed at $step: run $r, status '$s', start refused, nothing left" >&3
	done
}
