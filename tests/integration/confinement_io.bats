#!/usr/bin/env bats
# Confinement of what urunc reads, trusts and hands over (issue "confinement as the spec
# says", items 3, 5-10): untrusted files that would block or balloon, a state root another
# user could plant, a host network namespace joined by path, read-only rootfs and volumes,
# a swapped rootfs, copies that do not fit. Each test is the attack; the fake VMM stands in
# for QEMU and reports the argv it got.

load helpers

setup() { it_setup; }
teardown() {
	# Undo what a test did to the state root or a state dir before the common teardown,
	# which needs to trust them to delete the containers.
	if [ -n "${T:-}" ] && [ -d "${ROOT:-/nonexistent}" ]; then
		chown -R 0:0 "$ROOT" 2>/dev/null || true
		chmod 0700 "$ROOT" 2>/dev/null || true
		find "$ROOT" -mindepth 1 -maxdepth 1 -type d -exec chmod 0711 {} + 2>/dev/null || true
	fi
	if [ -n "${IO_TMPFS:-}" ]; then
		umount "$IO_TMPFS" 2>/dev/null || true
	fi
	it_teardown
}

# plain_bundle <dir>: a unikraft/qemu bundle without urunc annotations (urunc.json decides).
plain_bundle() {
	mk_bundle "$1" unikernelType hypervisor binary unikernelVersion
}

# expect_create_fails <id> <bundle> <text>: create exits 1 (not a crash, not a timeout) within
# 10 s, leaves no state dir, and its message holds <text>.
# (Output to a file, never a pipe: a create that wrongly succeeds leaves a parked init holding
# its stdout, and bats would wait for that pipe forever.)
expect_create_fails() {
	local rc=0
	timeout -k 2 10 "$URUNC" --root "$ROOT" create --bundle "$2" "$1" </dev/null >"$T/$1.fail" 2>&1 || rc=$?
	cat "$T/$1.fail"
	eq "$rc" 1
	has "$(cat "$T/$1.fail")" "$3"
	no_state "$1"
}

# --- 7. untrusted reads never block or balloon ------------------------------------------

@test "a FIFO as urunc.json: create fails at once, naming it, instead of blocking" {
	local id
	id=$(new_id fifojson)
	plain_bundle "$T/b"
	mkfifo "$T/b/rootfs/urunc.json"
	expect_create_fails "$id" "$T/b" "urunc.json\` is not a regular file (it is a FIFO)"
}

@test "a 1 GiB sparse urunc.json is refused unread (16 KiB cap)" {
	local id
	id=$(new_id bigjson)
	plain_bundle "$T/b"
	truncate -s 1G "$T/b/rootfs/urunc.json"
	expect_create_fails "$id" "$T/b" "urunc.json\` is 1073741824 bytes, more than the 16384 allowed"
}

@test "200 KB of [ in config.json is a JSON error, not a crash; 16000 [ in urunc.json too" {
	local id
	id=$(new_id deep)
	mk_bundle "$T/b"
	head -c 200000 /dev/zero | tr '\0' '[' >"$T/b/config.json"
	expect_create_fails "$id" "$T/b" "config.json: invalid JSON"
	plain_bundle "$T/c"
	head -c 16000 /dev/zero | tr '\0' '[' >"$T/c/rootfs/urunc.json"
	expect_create_fails "$id" "$T/c" "urunc.json: "
}

@test "a FIFO as config.json or as a 5 MiB config.json: refused" {
	local id
	id=$(new_id fifocfg)
	mkdir -p "$T/b"
	mkfifo "$T/b/config.json"
	expect_create_fails "$id" "$T/b" "config.json\` is not a regular file (it is a FIFO)"
	rm "$T/b/config.json"
	truncate -s 5M "$T/b/config.json"
	expect_create_fails "$id" "$T/b" "more than the 4194304 allowed"
}

@test "a FIFO as the /etc/resolv.conf mount source: create fails at once, naming it" {
	local id
	id=$(new_id fiforesolv)
	mk_bundle "$T/b"
	mkfifo "$T/resolv.fifo"
	cfg "$T/b" --arg s "$T/resolv.fifo" \
		'.mounts += [{destination: "/etc/resolv.conf", type: "bind", source: $s, options: ["rbind", "ro"]}]'
	expect_create_fails "$id" "$T/b" "mount \`/etc/resolv.conf\`: \`$T/resolv.fifo\` is not a regular file (it is a FIFO)"
}

# --- 8. the state root is trusted only when nobody else can write it -------------------

@test "a state root writable by others (mode 0777) is refused, naming path and mode" {
	local id
	id=$(new_id root777)
	mkdir -p "$ROOT"
	chmod 0777 "$ROOT"
	mk_bundle "$T/b"
	expect_create_fails "$id" "$T/b" "state directory \`$ROOT\` is owned by uid 0 with mode 0777"
	run ur list
	[ "$status" -eq 1 ]
	has "$output" "mode 0777"
}

@test "a state dir handed to another user (nobody) is refused by state, kill and delete --force" {
	local id pid
	id=$(new_id planted)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	chown nobody "$ROOT/$id"
	for verb in "state $id" "kill $id KILL" "delete --force $id"; do
		# shellcheck disable=SC2086
		run ur $verb
		[ "$status" -eq 1 ]
		has "$output" "state directory \`$ROOT/$id\` is owned by uid $(id -u nobody)"
	done
	# nothing was acted on: the parked init lives, the state dir is still there
	alive "$pid"
	[ -d "$ROOT/$id" ]
	chown 0 "$ROOT/$id"
	chmod 0777 "$ROOT/$id"
	run ur delete --force "$id"
	[ "$status" -eq 1 ]
	has "$output" "with mode 0777"
	chmod 0711 "$ROOT/$id"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
}

@test "a copyDir in state.json pointing outside the state dir is never removed by delete" {
	local id pid
	id=$(new_id victim)
	mkdir -p "$T/victim/sub"
	echo precious >"$T/victim/sub/file"
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	jq -c --arg v "$T/victim" '.copyDir = $v' "$ROOT/$id/state.json" >"$T/state.new"
	cat "$T/state.new" >"$ROOT/$id/state.json"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
	eq "$(cat "$T/victim/sub/file")" precious
}

# --- 3. the host's network namespace, joined by path, is never redirected to a tap -----

# net_holder: a process in a new network namespace with a dummy "host interface" that has
# an address and the default route (a veth: no dummy module needed) (what the guest network would take over); sets HOLDER.
net_holder() {
	unshare -n sh -c 'ip link add d0 type veth peer name d1 && ip addr add 10.250.0.2/24 dev d0 &&
		ip link set d1 up && ip link set d0 up && ip route add default via 10.250.0.1 &&
		exec sleep 300' \
		</dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	echo "$HOLDER" >"$T/holder.extra-pid"
	wait_for "nsenter --net=/proc/$HOLDER/ns/net ip route show default | grep -q d0" 5
}

@test "a spec joining urunc's own network namespace by another path: no tap, no tc, no network" {
	local id before after
	net_holder
	id=$(new_id ownns)
	mk_bundle "$T/b"
	cfg "$T/b" --arg p "/proc/$HOLDER/ns/net" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
	before=$(nsenter --net="/proc/$HOLDER/ns/net" sh -c 'ip -o link; tc qdisc show; tc filter show dev d0 ingress')
	# urunc runs in that namespace itself: it is urunc's own
	nsenter --net="/proc/$HOLDER/ns/net" "$URUNC" --root "$ROOT" create --bundle "$T/b" \
		--pid-file "$T/$id.pid" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null
	nsenter --net="/proc/$HOLDER/ns/net" "$URUNC" --root "$ROOT" start "$id"
	wait_ready "$id"
	after=$(nsenter --net="/proc/$HOLDER/ns/net" sh -c 'ip -o link; tc qdisc show; tc filter show dev d0 ingress')
	eq "$after" "$before"
	eq "$(vmm "$id" ns.net)" "$(readlink "/proc/$HOLDER/ns/net")"
	grep -q "network namespace \`/proc/$HOLDER/ns/net\` is the host's: the guest gets no network" "$T/$id.err"
	eq "$(grep -c "is the host's" "$T/$id.err")" 1
	grep -qx -- "fakevmm: argv\[[0-9]*\]=none" "$T/$id.out"
	refute grep -q "fakevmm: argv\[[0-9]*\]=.*tap0_urunc" "$T/$id.out"
}

@test "a spec joining PID 1's network namespace (/proc/1/ns/net): the host keeps its interfaces, qdiscs and filters" {
	local id pid before after
	id=$(new_id hostns)
	mk_bundle "$T/b"
	cfg "$T/b" '.linux.namespaces |= map(if .type == "network" then .path = "/proc/1/ns/net" else . end)'
	before=$(ip -o link | sed 's/^[0-9]*: //; s/ state .*//'; tc qdisc show | grep ingress || true)
	if stat -L /proc/1/ns/net >/dev/null 2>&1; then
		# PID 1's namespace can be joined: it is `--net=host`, the guest gets no network
		create_ct "$id" "$T/b"
		ur start "$id"
		wait_ready "$id"
		pid=$(pid_of "$id")
		eq "$(vmm "$id" ns.net)" "$(readlink /proc/1/ns/net)"
		grep -q "network namespace \`/proc/1/ns/net\` is the host's" "$T/$id.err"
		# no /dev/net/tun for a VMM without a network of its own
		[ ! -e "/proc/$pid/root/dev/net/tun" ]
	else
		# PID 1 is more privileged than we are (a sandboxed CI): it cannot be joined at all
		expect_create_fails "$id" "$T/b" "stat network namespace \`/proc/1/ns/net\`: Permission denied"
	fi
	after=$(ip -o link | sed 's/^[0-9]*: //; s/ state .*//'; tc qdisc show | grep ingress || true)
	eq "$after" "$before"
	refute ip link show tap0_urunc
}

# --- 10. every copy checks free space first ----------------------------------------------

@test "the urunit initrd copy into a state root without room: a space message, nothing left" {
	local id root
	id=$(new_id space)
	IO_TMPFS=$T/tiny
	mkdir "$IO_TMPFS"
	mount -t tmpfs -o size=256k,mode=0700 tmpfs "$IO_TMPFS"
	root=$IO_TMPFS/state
	# a linux guest with an initrd whose init is urunit: its config is appended to a copy
	# of the initrd in the state dir; 1 MiB does not fit in 256 KiB
	mk_bundle "$T/b" unikernelType=linux initrd=/unikernel/initrd
	head -c 1048576 /dev/urandom >"$T/b/rootfs/unikernel/initrd"
	cfg "$T/b" '.process.args = ["/urunit", "x"]'
	local rc=0
	timeout -k 2 10 "$URUNC" --root "$root" create --bundle "$T/b" "$id" </dev/null >"$T/out" 2>&1 || rc=$?
	cat "$T/out"
	eq "$rc" 1
	has "$(cat "$T/out")" "not enough space in \`$root/$id/\`: need "
	[ ! -e "$root/$id" ]
	eq "$(find "$IO_TMPFS" -mindepth 1 -not -path "$root")" ""
}

# --- 5. root.readonly reaches the guest; an image's device nodes never open ---------------

# share_bundle <dir> <readonly: true|false>: a linux guest on qemu whose rootfs (a plain
# directory) is shared over 9p, with a regular file and a device node (/dev/null's numbers)
# shipped in the image.
share_bundle() {
	mk_bundle "$1" unikernelType=linux mountRootfs=true
	cfg "$1" --argjson ro "$2" '.root.readonly = $ro'
	echo data >"$1/rootfs/file"
	mknod -m 666 "$1/rootfs/devnode" c 1 3
}

# share_mount_opts <pid>: the mount options of /cntrRootfs in the VMM's mount namespace.
share_mount_opts() { awk '$5 == "/cntrRootfs" {print $6}' "/proc/$1/mountinfo"; }

@test "root.readonly with a 9p rootfs: readonly=on, ro on the guest command line, the bind ro,nodev,nosuid" {
	local id pid
	id=$(new_id ro9p)
	share_bundle "$T/b" true
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	ur start "$id"
	wait_ready "$id"
	pid=$(pid_of "$id")
	grep -qx -- "fakevmm: argv\[[0-9]*\]=local,id=rootfs9p,security_model=none,readonly=on,path=/cntrRootfs" "$T/$id.out"
	grep -q -- "fakevmm: argv\[[0-9]*\]=.* root=fs0 ro rootfstype=9p " "$T/$id.out"
	has ",$(share_mount_opts "$pid")," ",ro,"
	has ",$(share_mount_opts "$pid")," ",nosuid,"
	has ",$(share_mount_opts "$pid")," ",nodev,"
	# what QEMU would do on the guest's behalf: write a file, open the image's device node
	run sh -c "echo x >>/proc/$pid/root/cntrRootfs/file"
	[ "$status" -ne 0 ]
	has "$output" "Read-only file system"
	run sh -c "head -c1 /proc/$pid/root/cntrRootfs/devnode"
	[ "$status" -ne 0 ]
	has "$output" "Permission denied"
	eq "$(cat "$T/b/rootfs/file")" data
}

@test "a writable 9p rootfs is still nodev,nosuid: the image's device node cannot be opened" {
	local id pid
	id=$(new_id rw9p)
	share_bundle "$T/b" false
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	ur start "$id"
	wait_ready "$id"
	pid=$(pid_of "$id")
	grep -qx -- "fakevmm: argv\[[0-9]*\]=local,id=rootfs9p,security_model=none,path=/cntrRootfs" "$T/$id.out"
	grep -q -- "fakevmm: argv\[[0-9]*\]=.* root=fs0 rw rootfstype=9p " "$T/$id.out"
	has ",$(share_mount_opts "$pid")," ",rw,"
	has ",$(share_mount_opts "$pid")," ",nodev,"
	echo more >>"/proc/$pid/root/cntrRootfs/file"
	run sh -c "head -c1 /proc/$pid/root/cntrRootfs/devnode"
	[ "$status" -ne 0 ]
	has "$output" "Permission denied"
}

# --- 9. the share is the directory checked at create, not the path resolved later ------

@test "a rootfs swapped for a symlink after create: the VMM still shares the directory create checked" {
	local id pid
	id=$(new_id swap)
	share_bundle "$T/b" true
	mkdir -p "$T/b/other"
	echo other >"$T/b/other/file"
	# (a rootfs that is a symlink at create is refused: hostile.bats)
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	mv "$T/b/rootfs" "$T/b/real"
	ln -s other "$T/b/rootfs"
	ur start "$id"
	wait_ready "$id"
	pid=$(pid_of "$id")
	eq "$(cat "/proc/$pid/root/cntrRootfs/file")" data
}
