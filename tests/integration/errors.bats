#!/usr/bin/env bats
# Failed creates: exit 1, one error line naming what and where, nothing left behind.
# Errors raised inside the init child reach the create caller with the child's message.

load helpers

setup() {
	it_setup
	ID=$(new_id err)
	mk_bundle "$T/b"
}
teardown() { it_teardown; }

# fails_cleanly <expected substring...>: create of $ID from $T/b, logging as containerd
# asks (--log FILE --log-format json), fails with exit 1, exactly one line on stderr
# containing every given substring, the same message as the log's error record, and
# leaves nothing behind: no state dir, no cgroup, no pid file, no mount, no VMM output.
fails_cleanly() {
	local err s
	rm -f "$T/log.json"
	# (bats' run: stdout and stderr in $output; create fails, so no VMM holds the pipe)
	run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json create --bundle "$T/b" \
		--pid-file "$T/$ID.pid" "$ID" </dev/null
	[ "$status" -eq 1 ] || { echo "create exited $status: $output"; return 1; }
	err=$output
	one_line "$err" || return 1
	json_log_ok "$T/log.json" || return 1
	eq "$(jq -r 'select(.level == "error") | .msg' "$T/log.json" | tail -n1)" "$err" || return 1
	for s in "$@"; do
		has "$err" "$s" || return 1
	done
	no_state "$ID" && no_cgroup && no_mounts || return 1
	[ ! -e "$T/$ID.pid" ] || { echo "pid file written"; return 1; }
	refute has "$err" fakevmm
}

@test "malformed config.json" {
	echo '{"ociVersion": "1.0.2", "process": {' >"$T/b/config.json"
	fails_cleanly "config.json" "invalid JSON"
}

@test "config.json missing" {
	rm "$T/b/config.json"
	fails_cleanly "$T/b/config.json" "No such file or directory"
}

@test "bundle directory missing" {
	rm -rf "$T/b"
	fails_cleanly "$T/b"
}

@test "process missing" {
	cfg "$T/b" 'del(.process)'
	fails_cleanly "config.json" "process" "missing"
}

@test "process.args of the wrong type" {
	cfg "$T/b" '.process.args = 5'
	fails_cleanly "config.json" "process.args"
}

@test "linux missing" {
	cfg "$T/b" 'del(.linux)'
	fails_cleanly "config.json" "linux"
}

@test "bad annotation: unknown unikernel type" {
	mk_bundle "$T/b" unikernelType=nope
	fails_cleanly "com.urunc.unikernel.unikernelType" "nope"
}

@test "bad annotation: a required one missing while others are set" {
	mk_bundle "$T/b" binary
	fails_cleanly "com.urunc.unikernel.binary"
}

@test "unknown hypervisor" {
	mk_bundle "$T/b" hypervisor=nope
	fails_cleanly "com.urunc.unikernel.hypervisor" "nope"
}

@test "missing kernel: names the path and the rootfs" {
	mk_bundle "$T/b" binary=/unikernel/missing
	fails_cleanly "/unikernel/missing" "$T/b/rootfs" "No such file or directory"
}

@test "kernel symlink pointing out of the rootfs (absolute and relative)" {
	ln -sf /etc/passwd "$T/b/rootfs/unikernel/kernel"
	fails_cleanly "/unikernel/kernel" "$T/b/rootfs" "escapes"
	ln -sfn ../../../../../../../../etc/passwd "$T/b/rootfs/unikernel/kernel"
	fails_cleanly "/unikernel/kernel" "$T/b/rootfs" "escapes"
}

@test "root.path missing" {
	cfg "$T/b" '.root.path = "nonexistent"'
	fails_cleanly "$T/b/nonexistent"
}

@test "user namespace requested: refused" {
	cfg "$T/b" '.linux.namespaces += [{"type": "user"}]'
	fails_cleanly "user namespaces are not supported"
}

@test "VMM binary from the host config missing: names the monitor and the path" {
	printf '[monitors.qemu]\npath = "%s"\n' "$T/nonexistent-qemu" >"$URUNC_CONFIG"
	fails_cleanly "qemu" "$T/nonexistent-qemu"
}

@test "malformed host config (URUNC_CONFIG): names the file and the line" {
	printf '[monitors.qemu\npath = \n' >"$URUNC_CONFIG"
	fails_cleanly "$URUNC_CONFIG" "line 1"
}

@test "firecracker without a usable /dev/kvm: 'firecracker needs /dev/kvm'" {
	mk_bundle "$T/b" hypervisor=firecracker
	printf '[monitors.firecracker]\npath = "%s"\n' "$FAKEVMM" >>"$URUNC_CONFIG"
	# (a host without /dev/kvm already looks like that)
	run hide_kvm \
		"$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/$ID.pid" "$ID"
	[ "$status" -eq 1 ]
	# One line: the refusal, then the probe's reason (no device, or not a KVM device).
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[[ $output == "firecracker needs /dev/kvm, which cannot run a guest here: /dev/kvm: "* ]] || false
	no_state "$ID"
	no_cgroup
}

@test "systemd cgroupsPath not of the form slice:prefix:name: refused, nothing left" {
	cfg "$T/b" '.linux.cgroupsPath = "a:b"'
	run "$URUNC" --systemd-cgroup --root "$ROOT" --log "$T/log.json" --log-format json \
		create --bundle "$T/b" --pid-file "$T/$ID.pid" "$ID" </dev/null
	[ "$status" -eq 1 ]
	has "$output" 'slice:prefix:name'
	no_state "$ID"
	[ ! -e "$T/$ID.pid" ]
}

@test "error inside the init child reaches create: rootfsPropagation shared is refused" {
	cfg "$T/b" '.linux.rootfsPropagation = "shared"'
	run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json create --bundle "$T/b" \
		--pid-file "$T/$ID.pid" "$ID" </dev/null
	[ "$status" -eq 1 ]
	# stderr: exactly the child's message
	eq "$output" 'linux.rootfsPropagation `shared` is not supported (use rslave, slave, rprivate or private)'
	json_log_ok "$T/log.json"
	eq "$(jq -r 'select(.level == "error") | .msg' "$T/log.json")" "$output"
	no_state "$ID"
	no_cgroup
	no_mounts
	[ ! -e "$T/$ID.pid" ]
}

@test "error inside the init child reaches create even when the init exits with create's go unread" {
	# The init reports its error and waits until create's early second go has reached it,
	# then exits without reading it; create reads only once the init has hung up (test seam):
	# the kernel gives create ECONNRESET ahead of the queued report, the order in which CI
	# once lost the message.
	cfg "$T/b" '.linux.rootfsPropagation = "shared"'
	URUNC_TEST_SYNC_RESET=1 run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json \
		create --bundle "$T/b" --pid-file "$T/$ID.pid" "$ID" </dev/null
	[ "$status" -eq 1 ]
	eq "$output" 'linux.rootfsPropagation `shared` is not supported (use rslave, slave, rprivate or private)'
	no_state "$ID"
	no_cgroup
	no_mounts
	[ ! -e "$T/$ID.pid" ]
}

@test "error inside the init child reaches create: failing createContainer hook" {
	cfg "$T/b" '.hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "echo cc-broke >&2; exit 9"]}]'
	fails_cleanly "error running createContainer hook #0" "exit status 9" "cc-broke"
}

@test "failed creates leave an existing root untouched (other containers unaffected)" {
	local other
	other=$(new_id other)
	mk_bundle "$T/$other"
	create_ct "$other" "$T/$other"
	# every entry with its type, mode, owner, size and mtime; the root's own mtime moves when
	# a failed create makes and removes its state dir, which is not something left behind
	root_listing() { find "$ROOT" -mindepth 1 -printf '%P %y %m %u %s %T@\n' | sort; }
	root_listing >"$T/before"
	[ -s "$T/before" ]
	mk_bundle "$T/b" binary=/unikernel/missing
	run create_ct "$ID" "$T/b"
	[ "$status" -eq 1 ]
	root_listing >"$T/after"
	diff "$T/before" "$T/after"
	eq "$(status_of "$other")" created
}

@test "hostname without a uts namespace is refused, as runc does; nothing left" {
	local id
	id=$(new_id nouts)
	mk_bundle "$T/b"
	cfg "$T/b" '.linux.namespaces = [{"type": "pid"}, {"type": "mount"}]'
	run ur create --bundle "$T/b" "$id"
	[ "$status" -eq 1 ]
	has "$output" "hostname: setting it needs a uts namespace"
	no_state "$id"
}
