#!/usr/bin/env bats
# create: the parked init (namespaces, cgroup, pid file), and what the VMM it becomes gets.

load helpers

setup() { it_setup; }
teardown() {
	# a loop device a test attached (its backing file is under $T)
	[ ! -f "${T:-}/loopdev" ] || losetup -d "$(cat "$T/loopdev")" 2>/dev/null || true
	it_teardown
}

@test "create: state created, pid file holds digits only (no newline) equal to state's pid; the VMM has not run" {
	local id pid
	id=$(new_id c)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	[[ $(cat "$T/$id.pid") =~ ^[0-9]+$ ]]
	# no trailing newline: the file's size is the number of digits
	pid=$(cat "$T/$id.pid")
	eq "$(stat -c %s "$T/$id.pid")" "${#pid}"
	run ur state "$id"
	[ "$status" -eq 0 ]
	eq "$(jq -r .status <<<"$output")" created
	eq "$(jq -r .pid <<<"$output")" "$pid"
	alive "$pid"
	# parked: still the urunc binary, the VMM has written nothing
	eq "$(readlink "/proc/$pid/exe")" "$URUNC"
	refute grep -q fakevmm "$T/$id.out"
}

@test "create: the parked init is already in the spec's namespaces, and the same pid becomes the VMM" {
	local id pid ns
	id=$(new_id ns)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	declare -A before
	for ns in net ipc uts pid mnt; do
		before[$ns]=$(readlink "/proc/$pid/ns/$ns")
		# every one of them is the container's own, not the host's
		[ "${before[$ns]}" != "$(readlink "/proc/self/ns/$ns")" ] || { echo "init shares the host's $ns namespace"; false; }
	done
	# pid 1 of its own pid namespace
	eq "$(awk '/^NSpid:/ {print $3}' "/proc/$pid/status")" 1
	ur start "$id"
	wait_ready "$id"
	# the VMM reports exactly the namespaces the parked init had
	for ns in net ipc uts pid mnt; do
		eq "$(vmm "$id" "ns.$ns")" "${before[$ns]}"
	done
	eq "$(vmm "$id" pid)" 1
	# same host pid: the init exec'd the VMM
	eq "$(awk '/^NSpid:/ {print $2}' "/proc/$pid/status")" "$pid"
	eq "$(readlink "/proc/$pid/exe")" "$FAKEVMM"
	eq "$(jq -r .pid <<<"$(ur state "$id")")" "$pid"
}

@test "create: namespaces the spec leaves out stay the host's; a namespace path is joined" {
	local id pid
	# a network namespace to join, held by a process of ours
	unshare -n sleep 300 </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$T/holder.extra-pid"
	local holder=$!
	wait_for "[ \"\$(readlink /proc/$holder/ns/net)\" != '$IT_HOSTNS_NET' ]" 5
	id=$(new_id nsp)
	mk_bundle "$T/b"
	cfg "$T/b" --arg p "/proc/$holder/ns/net" \
		'.linux.namespaces = [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": $p}] | del(.hostname)'
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	pid=$(pid_of "$id")
	eq "$(readlink "/proc/$pid/ns/net")" "$(readlink "/proc/$holder/ns/net")"
	eq "$(readlink "/proc/$pid/ns/ipc")" "$(readlink /proc/self/ns/ipc)"
	eq "$(readlink "/proc/$pid/ns/uts")" "$(readlink /proc/self/ns/uts)"
	ur start "$id"
	wait_ready "$id"
	eq "$(vmm "$id" ns.net)" "$(readlink "/proc/$holder/ns/net")"
	ur delete --force "$id"
	# the joined namespace is not ours to destroy
	alive "$holder"
	kill "$holder"
}

@test "create: the init sits in the cgroup of linux.cgroupsPath (cgroupfs) before start; delete removes it" {
	local id pid line n
	id=$(new_id cg)
	mk_bundle "$T/$id"
	eq "$(jq -r .linux.cgroupsPath "$T/$id/config.json")" "/$CG/$id"
	create_ct "$id" "$T/$id"
	pid=$(pid_of "$id")
	n=0
	while IFS= read -r line; do
		[[ $line == *":/$CG/$id" ]] || { echo "not in /$CG/$id: $line"; false; }
		n=$((n + 1))
	done <"/proc/$pid/cgroup"
	[ "$n" -gt 0 ]
	# the directories exist and hold exactly the init
	for d in $(cg_dirs_of "$id"); do
		eq "$(cat "$d/cgroup.procs")" "$pid"
	done
	[ -n "$(cg_dirs_of "$id")" ]
	ur start "$id"
	wait_ready "$id"
	has "$(vmm "$id" cgroup)" "/$CG/$id"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
}

@test "create --systemd-cgroup: slice:prefix:name becomes <slice>/<prefix>-<name>.scope; a later delete --force without the flag removes it" {
	local id pid line slice n=0
	id=$(new_id sd)
	# a slice of this run's own (no '-' in it: that would nest it under urunc.slice)
	slice=uruncit${SFX//-/x}.slice
	mk_bundle "$T/b"
	cfg "$T/b" --arg p "$slice:urunc-test:$id" '.linux.cgroupsPath = $p'
	"$URUNC" --systemd-cgroup --root "$ROOT" create --bundle "$T/b" --pid-file "$T/$id.pid" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" || { cat "$T/$id.err"; false; }
	pid=$(pid_of "$id")
	while IFS= read -r line; do
		n=$((n + 1))
		[[ $line == *":/$slice/urunc-test-$id.scope" ]] || { echo "not in the scope: $line"; false; }
	done <"/proc/$pid/cgroup"
	[ "$n" -ge 1 ] || false
	# never a directory literally named after the cgroupsPath
	[ -z "$(tl_cgroup_find -name "*:urunc-test:*")" ]
	# containerd's cleanup comes without --systemd-cgroup
	ur delete --force "$id"
	no_state "$id"
	no_cgroup "urunc-test-$id.scope"
	# urunc made the slice, so it goes too
	no_cgroup "$slice"
	wait_for "gone $pid"
}

@test "create: a cgroup that already holds a process is refused, and left as it was" {
	local id d
	id=$(new_id busy)
	mk_bundle "$T/$id"
	d=$(cg_root pids)/$CG/$id
	mkdir -p "$d"
	sleep 300 >/dev/null 2>&1 3>&- &
	echo $! >"$T/sleeper.extra-pid"
	echo $! >"$d/cgroup.procs"
	run create_ct "$id" "$T/$id"
	[ "$status" -eq 1 ]
	has "$(cat "$T/$id.err")" "not empty"
	no_state "$id"
	[ -d "$d" ]
	eq "$(cat "$d/cgroup.procs")" "$(cat "$T/sleeper.extra-pid")"
	kill "$(cat "$T/sleeper.extra-pid")"
	echo "$(cat "$T/sleeper.extra-pid")" >"$(cg_root pids)/cgroup.procs" 2>/dev/null || true
}

@test "after start no urunc process is left: the cgroup holds only the VMM" {
	local id pid d p dirs vmns pat same n=0
	id=$(new_id only)
	run_ct "$id"
	pid=$(pid_of "$id")
	eq "$(readlink "/proc/$pid/exe")" "$FAKEVMM"
	dirs=$(cg_dirs_of "$id")
	[ -n "$dirs" ] || { echo "no cgroup dir found for $id"; false; }
	for d in $dirs; do
		eq "$(cat "$d/cgroup.procs")" "$pid"
	done
	# no process anywhere still runs urunc inside the container's namespaces: one find over
	# /proc (a loop of readlinks per process outlasts the time limit on a busy host; a process
	# that exits meanwhile is no finding)
	vmns=$(readlink "/proc/$pid/ns/net")
	pat=${vmns//\[/\\[}
	pat=${pat//\]/\\]}
	mapfile -t same < <(find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -lname "$pat" 2>/dev/null || true)
	for p in "${same[@]}"; do
		p=${p%/ns/net}
		n=$((n + 1))
		[ "$(readlink "$p/exe" 2>/dev/null || true)" != "$URUNC" ] || { echo "urunc left: ${p#/proc/}"; false; }
	done
	# the loop saw the VMM itself at least
	[ "$n" -ge 1 ] || false
}

@test "the VMM: fds 0,1,2 only; stdio inherited from create (no terminal); env is PATH only; process.env and args reach the guest command line" {
	local id pid append
	id=$(new_id env)
	mk_bundle "$T/b"
	cfg "$T/b" '.process.env += ["FOO=bar baz"] | .process.args = ["arg1", "arg2"]'
	echo hello >"$T/stdin"
	"$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/$id.pid" "$id" \
		<"$T/stdin" >"$T/$id.out" 2>"$T/$id.err"
	ur start "$id"
	wait_ready "$id"
	pid=$(pid_of "$id")
	eq "$(vmm "$id" fds)" "0,1,2"
	eq "$(vmm "$id" tty)" "0,0,0"
	eq "$(readlink "/proc/$pid/fd/0")" "$T/stdin"
	eq "$(readlink "/proc/$pid/fd/1")" "$T/$id.out"
	eq "$(readlink "/proc/$pid/fd/2")" "$T/$id.err"
	# the VMM's environment: PATH and nothing else
	grep -q '^fakevmm: env\[0\]=PATH=' "$T/$id.out"
	eq "$(grep -c '^fakevmm: env\[' "$T/$id.out")" 1
	# the container's env and args go to the guest (the -append value)
	append=$(grep -A1 '^fakevmm: argv\[[0-9]*\]=-append$' "$T/$id.out" | sed -n '2s/^fakevmm: argv\[[0-9]*\]=//p')
	has "$append" "URUNC=urunc"
	has "$append" "FOO=bar baz"
	has "$append" "-- arg1 arg2"
}

@test "create snapshots config.json: later edits of the bundle do not matter" {
	local id append
	id=$(new_id snap)
	mk_bundle "$T/b"
	cfg "$T/b" '.process.args = ["original"]'
	create_ct "$id" "$T/b"
	cfg "$T/b" '.process.args = ["edited"] | .hostname = "edited"'
	ur start "$id"
	wait_ready "$id"
	append=$(grep -A1 '^fakevmm: argv\[[0-9]*\]=-append$' "$T/$id.out" | tail -n1)
	has "$append" "-- original"
	eq "$(vmm "$id" hostname)" urunc-example
}

@test "create: --no-pivot, --no-new-keyring, --detach accepted; no --pid-file; bundle defaults to the cwd; relative --pid-file is made absolute" {
	local id
	mk_bundle "$T/b"
	id=$(new_id flags)
	ur create --bundle "$T/b" --no-pivot --no-new-keyring --pid-file "$T/$id.pid" "$id" >"$T/o1" 2>"$T/e1"
	eq "$(status_of "$id")" created
	ur delete "$id"
	id=$(new_id nopid)
	ur create --bundle "$T/b" --detach "$id" >"$T/o2" 2>"$T/e2"
	eq "$(status_of "$id")" created
	ur delete "$id"
	id=$(new_id cwd)
	(cd "$T/b" && "$URUNC" --root "$ROOT" create --pid-file rel.pid "$id" >"$T/o3" 2>"$T/e3")
	eq "$(jq -r .bundle <<<"$(ur state "$id")")" "$T/b"
	eq "$(cat "$T/b/rel.pid")" "$(jq -r .pid <<<"$(ur state "$id")")"
	ur delete "$id"
}

@test "create of an existing id fails with 'container with id exists' and leaves the first untouched" {
	local id pid
	id=$(new_id dup)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	run "$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/second.pid" "$id"
	[ "$status" -eq 1 ]
	has "$output" "container with id exists"
	[ ! -e "$T/second.pid" ]
	eq "$(status_of "$id")" created
	eq "$(jq -r .pid <<<"$(ur state "$id")")" "$pid"
	alive "$pid"
	ur start "$id"
	wait_ready "$id"
}

@test "concurrent creates of one id: exactly one succeeds, the others fail with 'container with id exists'" {
	local id i ok=0 exists=0 rc d dirs pids=()
	id=$(new_id race)
	mk_bundle "$T/b"
	for i in 1 2 3 4 5 6 7 8; do
		# (errexit holds in the subshell too: capture the status without tripping it)
		(rc=0
		"$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/race$i.pid" "$id" \
			>"$T/race$i.out" 2>"$T/race$i.err" </dev/null 3>&- || rc=$?
		echo "$rc" >"$T/race$i.rc") &
		pids+=($!)
	done
	# (never a bare `wait`: it would also wait for bats' timeout watchdog)
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6 7 8; do
		rc=$(cat "$T/race$i.rc")
		if [ "$rc" -eq 0 ]; then
			ok=$((ok + 1))
			cp "$T/race$i.pid" "$T/$id.pid"
		elif grep -q "container with id exists" "$T/race$i.err"; then
			exists=$((exists + 1))
		else
			echo "create $i: rc=$rc: $(cat "$T/race$i.err")"
		fi
	done
	eq "$ok" 1
	eq "$exists" 7
	eq "$(status_of "$id")" created
	eq "$(jq -r .pid <<<"$(ur state "$id")")" "$(pid_of "$id")"
	# one cgroup with one process
	dirs=$(cg_dirs_of b)
	[ -n "$dirs" ] || { echo "no cgroup dir found for the bundle's cgroup"; false; }
	for d in $dirs; do
		eq "$(cat "$d/cgroup.procs")" "$(pid_of "$id")"
	done
	ur delete "$id"
	nothing_left "$id" "$(pid_of "$id")"
}

@test "create: the pid file is written atomically (no temp file left next to it); a pid file that cannot be written fails create and leaves nothing" {
	local id
	id=$(new_id pidf)
	mk_bundle "$T/$id"
	mkdir "$T/pids"
	ur create --bundle "$T/$id" --pid-file "$T/pids/init.pid" "$id" >"$T/$id.out" 2>"$T/$id.err"
	eq "$(ls -A "$T/pids")" init.pid
	ur delete "$id"
	run ur create --bundle "$T/$id" --pid-file "$T/missing-dir/init.pid" "$id"
	[ "$status" -eq 1 ]
	has "$output" "$T/missing-dir"
	no_state "$id"
	no_cgroup
	[ ! -e "$T/missing-dir" ]
}

@test "the host sees no mount of the container's (monitor root, binds) while it is created or running" {
	local id
	id=$(new_id mnt)
	mk_bundle "$T/$id"
	create_ct "$id" "$T/$id"
	no_mounts
	# the monitor root's mount point is an empty directory on the host
	[ -z "$(ls -A "$ROOT/$id/root")" ]
	ur start "$id"
	wait_ready "$id"
	no_mounts
	# while the VMM sees its minimal root
	has "$(vmm "$id" root)" ".urunc"
}

@test "process.user, noNewPrivileges and capabilities apply to the VMM" {
	local id
	id=$(new_id user)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [5, 6]}
		| .process.noNewPrivileges = true'
	create_ct "$id" "$T/$id"
	ur start "$id"
	wait_ready "$id"
	eq "$(vmm "$id" uid)" 1000
	eq "$(vmm "$id" gid)" 1001
	eq "$(vmm "$id" groups)" 5,6
	eq "$(vmm "$id" nonewprivs)" 1
	# root keeps exactly the listed capabilities: CAP_KILL (5) and CAP_NET_ADMIN (12)
	id=$(new_id caps)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.process.capabilities = {"bounding": ["CAP_NET_ADMIN", "CAP_KILL"],
		"effective": ["CAP_NET_ADMIN", "CAP_KILL"], "permitted": ["CAP_NET_ADMIN", "CAP_KILL"]}'
	create_ct "$id" "$T/$id"
	ur start "$id"
	wait_ready "$id"
	eq "$(vmm "$id" uid)" 0
	eq "$(vmm "$id" capeff)" 0000000000001020
	eq "$(vmm "$id" nonewprivs)" 0
}

@test "create: pid, network, ipc and uts namespaces given by path are joined (the VMM is not pid 1 there)" {
	local id holder unsh
	# the holder: pid 1 of new pid/net/ipc/uts namespaces (a child of unshare -f)
	unshare -p -f -n -i -u sleep 300 </dev/null >/dev/null 2>&1 3>&- &
	unsh=$!
	disown "$unsh" # no "Killed" job report on the TAP stream when we kill it below
	echo "$unsh" >"$T/unshare.extra-pid"
	wait_for "[ -n \"\$(cat /proc/$unsh/task/$unsh/children 2>/dev/null)\" ]" 5
	holder=$(tr -d ' ' <"/proc/$unsh/task/$unsh/children")
	echo "$holder" >"$T/holder.extra-pid"
	id=$(new_id join)
	mk_bundle "$T/$id"
	cfg "$T/$id" --arg p "/proc/$holder/ns" '.linux.namespaces = [
		{"type": "pid", "path": ($p + "/pid")}, {"type": "network", "path": ($p + "/net")},
		{"type": "ipc", "path": ($p + "/ipc")}, {"type": "uts", "path": ($p + "/uts")},
		{"type": "mount"}]'
	# the hooks create runs after the init is cloned belong to the runtime's pid namespace
	cfg "$T/$id" --arg d "$T" '.hooks.prestart = [{"path": "/bin/sh",
		"args": ["sh", "-c", "readlink /proc/self/ns/pid > \($d)/prestart.pidns"]}]
		| .hooks.createRuntime = [{"path": "/bin/sh",
		"args": ["sh", "-c", "readlink /proc/self/ns/pid > \($d)/createRuntime.pidns"]}]'
	create_ct "$id" "$T/$id" || { cat "$T/$id.err"; false; }
	eq "$(cat "$T/prestart.pidns")" "$(readlink /proc/self/ns/pid)"
	eq "$(cat "$T/createRuntime.pidns")" "$(readlink /proc/self/ns/pid)"
	ur start "$id"
	wait_ready "$id"
	for ns in pid net ipc uts; do
		eq "$(vmm "$id" "ns.$ns")" "$(readlink "/proc/$holder/ns/$ns")"
	done
	[ "$(vmm "$id" pid)" != 1 ]
	eq "$(awk '/^NSpid:/ {print $2}' "/proc/$(pid_of "$id")/status")" "$(pid_of "$id")"
	ur delete --force "$id"
	# joined namespaces are not ours: the holder lives on
	alive "$holder"
	# (pid 1 of a namespace and unshare -f both ignore SIGTERM)
	kill -KILL "$holder" "$unsh" 2>/dev/null || true
}

@test "create without a pid namespace: the VMM sees its host pid" {
	local id
	id=$(new_id nopidns)
	mk_bundle "$T/$id"
	cfg "$T/$id" '.linux.namespaces = [{"type": "mount"}, {"type": "network"}, {"type": "uts"}]'
	create_ct "$id" "$T/$id"
	ur start "$id"
	wait_ready "$id"
	eq "$(vmm "$id" pid)" "$(pid_of "$id")"
	eq "$(vmm "$id" ns.pid)" "$(readlink /proc/self/ns/pid)"
	run ur ps --format json "$id"
	eq "$output" "[$(pid_of "$id")]"
}

# The init builds the monitor root's mounts while create still places it in its cgroups
# (no prestart or createRuntime hooks) or after (hooks): either way the cgroup namespace
# must be rooted at the container's cgroup, i.e. unshared only once the init is placed.
@test "create: a cgroup namespace is rooted at the container's cgroup, with and without prestart hooks" {
	local id pid line n hooks
	for hooks in none prestart; do
		id=$(new_id "cgns-$hooks")
		mk_bundle "$T/$id"
		cfg "$T/$id" '.linux.namespaces += [{"type": "cgroup"}]'
		[ "$hooks" = none ] || cfg "$T/$id" '.hooks.prestart = [{"path": "/bin/true"}]'
		create_ct "$id" "$T/$id" || { cat "$T/$id.err"; false; }
		pid=$(pid_of "$id")
		[ "$(readlink "/proc/$pid/ns/cgroup")" != "$(readlink /proc/self/ns/cgroup)" ]
		# Read from inside that namespace, every hierarchy's path of the init is its root.
		n=0
		while IFS= read -r line; do
			[[ $line == *":/" ]] || { echo "$hooks: not the namespace's root: $line"; false; }
			n=$((n + 1))
		done < <(nsenter -t "$pid" -C cat "/proc/$pid/cgroup")
		[ "$n" -gt 0 ]
		ur delete --force "$id"
	done
}

# The nodes of linux.devices are made by the init under the container's device rules, not
# its caller's: a caller whose devices cgroup forbids mknod of block devices still creates
# a container whose (unrestricted) cgroup allows it.
@test "create: linux.devices nodes are made under the container's device cgroup, not the caller's; a masked one is masked; a read-only /dev still gets them" {
	[ -d /sys/fs/cgroup/devices ] || skip "no cgroup v1 devices hierarchy"
	local id pid caller lo
	truncate -s 1M "$T/disk.img"
	lo=$(losetup -f --show "$T/disk.img")
	echo "$lo" >"$T/loopdev"
	id=$(new_id devrules)
	mk_bundle "$T/$id"
	cfg "$T/$id" --argjson maj "$((0x$(stat -c %t "$lo")))" --argjson min "$((0x$(stat -c %T "$lo")))" \
		'.linux.devices = [{path: "/dev/xvdz", type: "b", major: $maj, minor: $min, fileMode: 432, uid: 0, gid: 0},
		                   {path: "/dev/xvdy", type: "b", major: $maj, minor: $min, fileMode: 432, uid: 0, gid: 0}]
		 | .linux.maskedPaths = ["/dev/xvdy"] | .linux.readonlyPaths = ["/dev"]'
	caller=/sys/fs/cgroup/devices/$CG/caller
	mkdir -p "$caller"
	echo 'b *:* m' >"$caller/devices.deny"
	# the control: in that cgroup, mknod of a block device is refused
	run bash -c "echo \$\$ >'$caller/cgroup.procs' && exec mknod '$T/blk' b 7 0"
	[ "$status" -ne 0 ]
	has "$output" "Operation not permitted"
	run bash -c "echo \$\$ >'$caller/cgroup.procs' && exec \"\$URUNC\" --root '$ROOT' create --bundle '$T/$id' --pid-file '$T/$id.pid' '$id' >'$T/$id.out' 2>'$T/$id.err' </dev/null"
	[ "$status" -eq 0 ] || { cat "$T/$id.err"; false; }
	pid=$(pid_of "$id")
	eq "$(stat -c '%F %t:%T' "/proc/$pid/root/dev/xvdz")" "block special file $(stat -c '%t:%T' "$lo")"
	# masked: /dev/null bound over it
	eq "$(stat -c '%F %t:%T' "/proc/$pid/root/dev/xvdy")" "character special file 1:3"
	# /dev made read-only once its nodes are there (readonlyPaths)
	has "$(awk '$5 == "/dev" { print $6 }' "/proc/$pid/mountinfo")" ro
	ur delete --force "$id"
}

# execve keeps ignored signals and the blocked mask: a caller's (a shell's SIGPIPE, a shim's
# mask) must not reach the VMM. Only the ignored ones need resetting, the caught ones exec
# resets itself.
@test "the VMM starts with no signal ignored or blocked, whatever its caller ignored and blocked" {
	local id
	id=$(new_id sigs)
	mk_bundle "$T/$id"
	python3 - "$URUNC" "$ROOT" "$T/$id" "$T/$id.pid" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null <<-'PY'
		import os, signal, sys
		urunc, root, bundle, pidfile, cid = sys.argv[1:]
		for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGUSR1, signal.SIGTERM, signal.SIGCHLD):
		    signal.signal(s, signal.SIG_IGN)
		signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGHUP, signal.SIGALRM})
		os.execv(urunc, [urunc, "--root", root, "create", "--bundle", bundle, "--pid-file", pidfile, cid])
	PY
	ur start "$id"
	wait_ready "$id"
	eq "$(vmm "$id" sigign)" 0000000000000000
	eq "$(vmm "$id" sigblk)" 0000000000000000
}

@test "the init and the VMM run on the CPUs of the caller or of the spec's cpuset: create's pin of the init does not stay" {
	local mine cpus
	mine=$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)
	# the pin needs a second CPU (create pins its init to another CPU than its own)
	[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs"; false; }
	# cpus_are <id> <expected list> [cpuset]: the parked init and then the VMM run on
	# exactly the expected CPUs
	cpus_are() {
		local id=$1 want=$2 pid
		mk_bundle "$T/$id"
		[ -z "${3:-}" ] || cfg "$T/$id" --arg c "$3" '.linux.resources.cpu.cpus = $c'
		create_ct "$id" "$T/$id" || { cat "$T/$id.err"; return 1; }
		pid=$(pid_of "$id")
		eq "$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$pid/status")" "$want" || return 1
		ur start "$id" && wait_ready "$id" || return 1
		eq "$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$pid/status")" "$want" || return 1
		ur delete --force "$id"
	}
	cpus_are "$(new_id cpu)" "$mine"
	# a cpuset of one CPU: exactly that one, whichever CPU create pinned the init to
	for cpus in 0 1; do
		cpus_are "$(new_id cpu$cpus)" "$cpus" "$cpus"
	done
}
