#!/usr/bin/env bats
# The verbs beyond create/start/kill/delete: for a plain busybox bundle urunc hands every one
# to runc (compared with runc running the same bundle); for a unikernel (fake VMM) urunc
# implements pause/resume (cgroup freezer), update, events and refuses exec.

load helpers

setup() {
	it_setup
	command -v runc >/dev/null || skip "runc is not installed"
	RROOT=$T/state-runc # runc's own root for the reference container (teardown finds it)
	BB=$T/bb
	mkdir -p "$BB/rootfs/bin"
	cp /bin/busybox "$BB/rootfs/bin/"
	local c
	for c in sh sleep cat echo true false id pwd; do ln -s busybox "$BB/rootfs/bin/$c"; done
	(cd "$BB" && runc spec)
	cfg "$BB" '.process.args = ["sleep", "300"] | .process.terminal = false'
}
teardown() { it_teardown; }

# bb_run <runtime-cmd...> -- <root> <id>: run -d the busybox bundle with cgroup /$CG/<id>.
bb_run() {
	local root=$1 id=$2 rt=$3
	cfg "$BB" --arg p "/$CG/$id" '.linux.cgroupsPath = $p'
	"$rt" --root "$root" run -d --bundle "$BB" "$id" </dev/null >"$T/$id.out" 2>"$T/$id.err" || {
		cat "$T/$id.err"
		return 1
	}
}

# both <args...>: the same verb through urunc (container $UID_) and runc ($RID), @ID@ in an
# argument standing for the id; same exit status (in $BOTH_RC), stdout of each in
# $T/u.out / $T/r.out.
both() {
	local urc=0 rrc=0 a ua=() ra=()
	for a in "$@"; do
		ua+=("${a//@ID@/$UID_}")
		ra+=("${a//@ID@/$RID}")
	done
	"$URUNC" --root "$ROOT" "${ua[@]}" </dev/null >"$T/u.out" 2>"$T/u.err" || urc=$?
	runc --root "$RROOT" "${ra[@]}" </dev/null >"$T/r.out" 2>"$T/r.err" || rrc=$?
	eq "$urc" "$rrc" || {
		echo "urunc: $(cat "$T/u.err")"
		echo "runc: $(cat "$T/r.err")"
		return 1
	}
	BOTH_RC=$urc
}

ustatus() { "$URUNC" --root "$ROOT" state "$UID_" | jq -r .status; }
rstatus() { runc --root "$RROOT" state "$RID" | jq -r .status; }

start_pair() {
	UID_=$(new_id bbu)
	RID=$(new_id bbr)
	bb_run "$ROOT" "$UID_" "$URUNC"
	bb_run "$RROOT" "$RID" runc
	# urunc made nothing of its own: runc's state is in the shared root
	refute jq -e .urunc "$ROOT/$UID_/state.json"
}

@test "busybox through urunc: exec with its flags behaves as runc" {
	start_pair
	both exec @ID@ sh -c 'echo hi; exit 3'
	eq "$BOTH_RC" 3
	eq "$(cat "$T/u.out")" hi
	eq "$(cat "$T/u.out")" "$(cat "$T/r.out")"
	both exec -e FOO=bar --cwd /bin --user 1:2 @ID@ sh -c 'echo $FOO $(pwd) $(id -u):$(id -g)'
	eq "$BOTH_RC" 0
	eq "$(cat "$T/u.out")" "bar /bin 1:2"
	eq "$(cat "$T/u.out")" "$(cat "$T/r.out")"
	# --process FILE --detach --pid-file, as containerd's shim calls it
	jq '.process | .args = ["sh", "-c", "echo detached"] | .terminal = false' "$BB/config.json" >"$T/proc.json"
	"$URUNC" --root "$ROOT" exec --process "$T/proc.json" --detach --pid-file "$T/exec.pid" "$UID_" </dev/null >"$T/u.out" 2>"$T/u.err"
	[[ $(cat "$T/exec.pid") =~ ^[0-9]+$ ]] || false
	# a flag runc does not know: runc's error and status, not CLI11's
	both exec --no-such-flag @ID@ true
	eq "$BOTH_RC" 1
	has "$(cat "$T/u.err")" "flag provided but not defined"
	# a missing container: runc answers
	both exec "$(new_id none)" true
	[ "$BOTH_RC" -ne 0 ]
}

@test "busybox through urunc: pause/resume/state/kill/delete of a paused container as runc" {
	start_pair
	both pause @ID@
	eq "$BOTH_RC" 0
	eq "$(ustatus)" paused
	eq "$(rstatus)" paused
	both pause @ID@
	eq "$BOTH_RC" 1
	both exec @ID@ true
	eq "$BOTH_RC" 255
	both delete @ID@
	eq "$BOTH_RC" 1
	both resume @ID@
	eq "$BOTH_RC" 0
	eq "$(ustatus)" running
	both resume @ID@
	eq "$BOTH_RC" 1
	both pause @ID@
	both kill @ID@ KILL
	eq "$BOTH_RC" 0
	wait_for '[ "$(ustatus)" = stopped ]' 10
	wait_for '[ "$(rstatus)" = stopped ]' 10
	both delete @ID@
	eq "$BOTH_RC" 0
	[ ! -e "$ROOT/$UID_" ]
}

@test "busybox through urunc: update (flags, -r FILE, --resources -) reaches the cgroup as with runc" {
	start_pair
	local u r
	u=$(cg_dirs_of "$UID_" | grep /memory/)
	r=$(cg_dirs_of "$RID" | grep /memory/)
	both update --memory 64m --pids-limit 20 --cpu-quota 50000 --cpu-period 100000 @ID@
	eq "$BOTH_RC" 0
	eq "$(cat "$u/memory.limit_in_bytes")" 67108864
	eq "$(cat "$u/memory.limit_in_bytes")" "$(cat "$r/memory.limit_in_bytes")"
	eq "$(cat "${u/memory/pids}/pids.max")" 20
	eq "$(cat "${u/memory/cpu}/cpu.cfs_quota_us")" 50000
	echo '{"memory": {"limit": 33554432}, "pids": {"limit": 7}}' >"$T/res.json"
	both update -r "$T/res.json" @ID@
	eq "$BOTH_RC" 0
	eq "$(cat "$u/memory.limit_in_bytes")" 33554432
	eq "$(cat "${u/memory/pids}/pids.max")" 7
	"$URUNC" --root "$ROOT" update --resources - "$UID_" <<<'{"pids": {"limit": 9}}'
	eq "$(cat "${u/memory/pids}/pids.max")" 9
	both update --memory bogus @ID@
	eq "$BOTH_RC" 1
}

@test "busybox through urunc: events --stats and ps have runc's JSON shape; checkpoint fails as runc's" {
	start_pair
	both events --stats @ID@
	eq "$BOTH_RC" 0
	# (runc leaves out zero fields such as memory.cache: compare the fixed parts)
	eq "$(jq -c '[.type, (.data | keys), (.data.memory.usage | keys), (.data.cpu.usage | keys)]' "$T/u.out")" \
		"$(jq -c '[.type, (.data | keys), (.data.memory.usage | keys), (.data.cpu.usage | keys)]' "$T/r.out")"
	eq "$(jq -r .id "$T/u.out")" "$UID_"
	# streaming: a stats line per interval. Waited for (bounded) rather than a fixed 1 s
	# window: an ASan build of urunc alone takes about a second to start.
	"$URUNC" --root "$ROOT" events --interval 200ms "$UID_" >"$T/stream" 2>"$T/stream.err" </dev/null 3>&- &
	local ev=$!
	wait_for "[ \"\$(jq -s 'map(select(.type == \"stats\")) | length' '$T/stream' 2>/dev/null)\" -ge 2 ]" 10 ||
		{ kill "$ev"; cat "$T/stream" "$T/stream.err"; false; }
	kill "$ev"
	wait "$ev" || true
	both ps --format json @ID@
	eq "$(jq length "$T/u.out")" "$(jq length "$T/r.out")"
	both checkpoint --image-path "$T/img" @ID@
	eq "$BOTH_RC" 1
}

@test "spec: plain = runc spec (and --bundle); --unikernel writes a validated unikernel bundle that runs" {
	mkdir -p "$T/s1" "$T/s2"
	"$URUNC" spec --bundle "$T/s1"
	runc spec --bundle "$T/s2"
	cmp "$T/s1/config.json" "$T/s2/config.json"
	# runc refuses to overwrite; so does urunc (runc's status)
	run "$URUNC" spec --bundle "$T/s1"
	[ "$status" -eq 1 ]
	(cd "$T/s1" && rm config.json && "$URUNC" spec --rootless)
	jq -e '.linux.uidMappings | length > 0' "$T/s1/config.json" >/dev/null

	mkdir -p "$T/uk/rootfs/unikernel"
	cp "$TESTKERNEL" "$T/uk/rootfs/unikernel/kernel"
	"$URUNC" spec --bundle "$T/uk" --unikernel unikraft --hypervisor qemu --binary /unikernel/kernel \
		--cmdline "hello world"
	local a
	a=$(jq -c '.annotations' "$T/uk/config.json")
	eq "$(jq -r '.["com.urunc.unikernel.unikernelType"]' <<<"$a")" unikraft
	eq "$(jq -r '.["com.urunc.unikernel.hypervisor"]' <<<"$a")" qemu
	eq "$(jq -r '.["com.urunc.unikernel.binary"]' <<<"$a")" /unikernel/kernel
	eq "$(jq -r '.["com.urunc.unikernel.cmdline"]' <<<"$a")" "hello world"
	eq "$(jq -r .process.terminal "$T/uk/config.json")" false
	# it is a bundle urunc runs (with the fake VMM)
	local id
	id=$(new_id spec)
	cfg "$T/uk" --arg p "/$CG/$id" '.linux.cgroupsPath = $p'
	create_ct "$id" "$T/uk" || { cat "$T/$id.err"; false; }
	ur start "$id"
	wait_ready "$id"
	# the guest command line (qemu's -append value) carries --cmdline
	has "$(grep -A1 '^fakevmm: argv\[[0-9]*\]=-append$' "$T/$id.out" | sed -n '2s/^fakevmm: argv\[[0-9]*\]=//p')" "hello world"
	# unknown guest or monitor: refused, nothing written
	mkdir -p "$T/bad"
	run "$URUNC" spec --bundle "$T/bad" --unikernel nosuchguest --hypervisor qemu --binary /k
	[ "$status" -eq 1 ]
	has "$output" nosuchguest
	run "$URUNC" spec --bundle "$T/bad" --unikernel unikraft --hypervisor nosuchvmm --binary /k
	[ "$status" -eq 1 ]
	has "$output" nosuchvmm
	run "$URUNC" spec --bundle "$T/bad" --hypervisor qemu
	[ "$status" -eq 1 ]
	[ ! -e "$T/bad/config.json" ]
}

# --- unikernels ------------------------------------------------------------------------------

@test "unikernel: pause freezes the VMM (freezer FROZEN, task in D), state paused; resume thaws" {
	local id pid fz
	id=$(new_id pz)
	run_ct "$id"
	pid=$(pid_of "$id")
	fz=$(cg_dirs_of "$id" | grep /freezer/)
	ur pause "$id"
	eq "$(status_of "$id")" paused
	eq "$(cat "$fz/freezer.state")" FROZEN
	grep -q '^State:[[:space:]]*D' "/proc/$pid/status" || { grep State "/proc/$pid/status"; false; }
	# a frozen VMM does not handle signals: SIGUSR1 gets no answer until thawed
	kill -USR1 "$pid"
	run ur pause "$id"
	[ "$status" -eq 1 ]
	has "$output" "container not running"
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot start a container in the paused state"
	ur resume "$id"
	eq "$(status_of "$id")" running
	eq "$(cat "$fz/freezer.state")" THAWED
	wait_for "grep -q '^fakevmm: signal=10' '$T/$id.out'" 5
	run ur resume "$id"
	[ "$status" -eq 1 ]
	has "$output" "container not paused"
	# list shows it too
	ur pause "$id"
	eq "$(ur list --format json | jq -r --arg i "$id" '.[] | select(.id == $i) | .status')" paused
	ur resume "$id"
}

@test "unikernel: a created container can be paused; pause of a stopped one fails" {
	local id
	id=$(new_id pc)
	mk_bundle "$T/$id"
	create_ct "$id" "$T/$id"
	ur pause "$id"
	eq "$(status_of "$id")" paused
	ur resume "$id"
	eq "$(status_of "$id")" created
	ur kill "$id" KILL
	wait_for "[ \"\$(status_of $id)\" = stopped ]" 5
	run ur pause "$id"
	[ "$status" -eq 1 ]
	has "$output" "container not running"
}

@test "unikernel: delete of a paused container is refused; kill KILL and delete --force work" {
	local id pid
	id=$(new_id pd)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur pause "$id"
	run ur delete "$id"
	[ "$status" -eq 1 ]
	has "$output" "that is not stopped: paused"
	alive "$pid"
	ur kill "$id" KILL
	wait_for "gone $pid" 5
	eq "$(status_of "$id")" stopped
	ur delete "$id"
	nothing_left "$id" "$pid"

	id=$(new_id pf)
	run_ct "$id"
	pid=$(pid_of "$id")
	ur pause "$id"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
}

@test "unikernel: update changes the cgroup (flags, -r FILE, stdin); guest memory shrink and unsupported flags refused" {
	local id d
	id=$(new_id up)
	run_ct "$id"
	d=$(cg_dirs_of "$id" | grep /memory/)
	ur update --memory 512m --pids-limit 12 --cpu-quota 40000 --cpu-period 100000 --cpu-share 512 --cpuset-cpus 0 "$id"
	eq "$(cat "$d/memory.limit_in_bytes")" 536870912
	eq "$(cat "${d/memory/pids}/pids.max")" 12
	eq "$(cat "${d/memory/cpu}/cpu.cfs_quota_us")" 40000
	eq "$(cat "${d/memory/cpu}/cpu.shares")" 512
	eq "$(cat "${d/memory/cpuset}/cpuset.cpus")" 0
	echo '{"memory": {"limit": 402653184}, "cpu": {"quota": 30000}, "pids": {"limit": 5}}' >"$T/r.json"
	ur update -r "$T/r.json" "$id"
	eq "$(cat "$d/memory.limit_in_bytes")" 402653184
	eq "$(cat "${d/memory/cpu}/cpu.cfs_quota_us")" 30000
	eq "$(cat "${d/memory/pids}/pids.max")" 5
	# as containerd 2.x sends it
	ur update --resources=- "$id" <<<'{"pids": {"limit": 6}}'
	eq "$(cat "${d/memory/pids}/pids.max")" 6
	# the guest got 256 MiB (the qemu default) at start: below that is refused, nothing changed
	run ur update --memory 64m "$id"
	[ "$status" -eq 1 ]
	one_line "$output"
	has "$output" "guest's memory (256 MiB)"
	eq "$(cat "$d/memory.limit_in_bytes")" 402653184
	run ur update --blkio-weight 500 "$id"
	[ "$status" -eq 1 ]
	has "$output" "--blkio-weight: not supported for unikernel containers"
	run ur update --memory lots "$id"
	[ "$status" -eq 1 ]
	has "$output" "--memory"
	eq "$(status_of "$id")" running
}

@test "unikernel: events --stats is runc's JSON with the VMM's memory usage; streaming ends when it stops" {
	local id d out
	id=$(new_id ev)
	run_ct "$id"
	d=$(cg_dirs_of "$id" | grep /memory/)
	out=$(ur events --stats "$id")
	one_line "$out"
	eq "$(jq -r .type <<<"$out")" stats
	eq "$(jq -r .id <<<"$out")" "$id"
	eq "$(jq -c '.data | keys' <<<"$out")" '["blkio","cpu","hugetlb","intel_rdt","memory","network_interfaces","pids"]'
	jq -e '.data.memory.usage.usage > 0 and .data.pids.current == 1 and .data.cpu.usage.total > 0' <<<"$out" >/dev/null
	# the VMM's memory: what its cgroup reports (usage_in_bytes moves a little; max bounds it)
	[ "$(jq .data.memory.usage.usage <<<"$out")" -le "$(cat "$d/memory.max_usage_in_bytes")" ] || false
	# same shape as runc's for a container (the memory keys runc prints)
	eq "$(jq -c '.data.memory.usage | keys' <<<"$out")" '["failcnt","limit","max","usage"]'
	# streaming: stats lines, and the stream ends once the container stops
	"$URUNC" --root "$ROOT" events --interval 100ms "$id" >"$T/stream" 2>"$T/stream.err" &
	local ev=$!
	wait_for "[ \$(grep -c '\"type\":\"stats\"' '$T/stream') -ge 2 ]" 5
	ur kill "$id" KILL
	wait_for "! kill -0 $ev 2>/dev/null" 5
	wait "$ev"
	run ur events --stats "$id"
	[ "$status" -eq 1 ]
	has "$output" "is not running"
}

@test "unikernel: events reports an OOM kill of the VMM" {
	local id d
	id=$(new_id oom)
	run_ct "$id"
	d=$(cg_dirs_of "$id" | grep /memory/)
	grep -q '^oom_kill ' "$d/memory.oom_control"
	"$URUNC" --root "$ROOT" events --interval 100ms "$id" >"$T/stream" 2>"$T/stream.err" &
	local ev=$!
	wait_for "[ -s '$T/stream' ]" 5
	# a process in the VMM's cgroup exceeding a small limit is OOM-killed
	echo $((8 * 1024 * 1024)) >"$d/memory.limit_in_bytes"
	echo 0 >"$d/memory.swappiness" 2>/dev/null || true
	# shellcheck disable=SC2016
	python3 -c 'import os,sys; open(sys.argv[1]+"/cgroup.procs","w").write(str(os.getpid())); b=bytearray(64<<20)' "$d" 2>/dev/null || true
	wait_for "grep -q '\"type\":\"oom\"' '$T/stream'" 5
	kill "$ev"
	wait "$ev" || true
	eq "$(grep '"type":"oom"' "$T/stream" | head -n1 | jq -r .id)" "$id"
}

@test "unikernel: exec and checkpoint refused in one line, exit 1, console socket and pid file untouched" {
	local id
	id=$(new_id ex)
	run_ct "$id"
	run "$URUNC" --root "$ROOT" exec --process /tmp/nonexistent --console-socket "$T/none.sock" --detach --pid-file "$T/x.pid" "$id"
	[ "$status" -eq 1 ]
	one_line "$output"
	has "$output" "exec is not supported for unikernel containers"
	[ ! -e "$T/x.pid" ]
	run "$URUNC" --root "$ROOT" --log "$T/l.json" --log-format json exec "$id" sh
	[ "$status" -eq 1 ]
	json_log_ok "$T/l.json"
	run "$URUNC" --root "$ROOT" checkpoint --image-path "$T/img" "$id"
	[ "$status" -eq 1 ]
	has "$output" "checkpoint is not supported for unikernel containers"
	run "$URUNC" --root "$ROOT" restore --detach --pid-file "$T/r.pid" -no-subreaper --bundle "$T/$id" "$(new_id rs)"
	[ "$status" -eq 1 ]
	has "$output" "restore is not supported for unikernel containers"
	[ ! -e "$T/r.pid" ]
	eq "$(status_of "$id")" running
}

@test "features names the verbs and flags that work for unikernels" {
	run "$URUNC" features
	[ "$status" -eq 0 ]
	local a
	a=$(jq -r '.annotations["io.urunc.unikernel.verbs"]' <<<"$output")
	has "$a" pause
	has "$a" "update"
	has "$a" "events --stats --interval"
	eq "$(jq -r '.annotations["io.urunc.unikernel.unsupported"]' <<<"$output")" "exec,checkpoint,restore"
}
