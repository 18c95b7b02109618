#!/usr/bin/env bats
# Hostile images and bundles: whatever an image layer, a bundle or its annotations carry,
# create answers with one error line naming what and where, exits 1, never blocks, and
# creates nothing: no state dir, no cgroup, no mount, no loop device, no copied file, no
# process. Each test is the attack; the fake VMM stands in for QEMU.

load helpers

# Some tests try 50 bundles in a row.
BATS_TEST_TIMEOUT=300

setup() {
	it_setup
	ID=$(new_id hostile)
	mk_bundle "$T/b"
	# The state root exists beforehand, so "nothing created" can compare $T's whole tree.
	mkdir -m 0711 -p "$ROOT"
	LOOPS_BEFORE=$(loops_on_t)
}
teardown() { it_teardown; }

# loops_on_t: loop devices whose backing file is under $T.
loops_on_t() { losetup -nO NAME,BACK-FILE 2>/dev/null | grep -F " $T/" || true; }

# tree: everything under $T except what create's own output and the test's files are.
tree() { find "$T" -path "$T/out" -prune -o -path "$T/out.log" -prune -o -print | sort; }

# refused <bundle> <expected substring...>: create of $ID from <bundle> exits 1 within 20 s
# (a FIFO that blocked would be a timeout, 124), prints exactly one line holding every
# substring, and creates nothing anywhere.
refused() {
	local b=$1 rc=0 before err
	shift
	before=$(tree)
	# (log records to a file, as containerd asks: stderr then holds the error alone)
	timeout -k 2 20 "$URUNC" --root "$ROOT" --log "$T/out.log" create --bundle "$b" \
		--pid-file "$T/$ID.pid" "$ID" </dev/null >"$T/out" 2>&1 || rc=$?
	err=$(cat "$T/out")
	[ "$rc" -eq 1 ] || { echo "create exited $rc: $err"; return 1; }
	one_line "$err" || return 1
	for s in "$@"; do
		has "$err" "$s" || return 1
	done
	[[ $err != *fakevmm* ]] || return 1
	# nothing created: same tree under $T (no state dir, pid file, copy), no cgroup,
	# no mount, no loop device, no process of this container
	eq "$(tree)" "$before" || return 1
	# (ids like `..` name no state dir of their own: the tree check covers them)
	if [[ $ID != *..* && $ID != */* ]]; then no_state "$ID" || return 1; fi
	no_cgroup && no_mounts || return 1
	eq "$(loops_on_t)" "$LOOPS_BEFORE" || return 1
	eq "$(procs_of "$ID")" "" || return 1
}


# refused_quick <bundle> <expected substring...>: as refused, checking only the exit status,
# the one line and the state dir (for loops over many fields; each ends with one `refused`).
refused_quick() {
	local b=$1 rc=0 err
	shift
	timeout -k 2 20 "$URUNC" --root "$ROOT" --log "$T/out.log" create --bundle "$b" "$ID" \
		</dev/null >"$T/out" 2>&1 || rc=$?
	err=$(cat "$T/out")
	[ "$rc" -eq 1 ] || { echo "create exited $rc: $err"; return 1; }
	one_line "$err" || return 1
	for s in "$@"; do
		has "$err" "$s" || return 1
	done
	no_state "$ID"
}

# unix_socket <path>: a bound unix socket file at <path> (the binder exits; the file stays).
unix_socket() {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$1"
}

# plain_bundle <dir>: no urunc annotations, so urunc.json in the rootfs decides.
plain_bundle() {
	mk_bundle "$1" unikernelType hypervisor binary unikernelVersion
}

K=rootfs/unikernel/kernel

# --- boot artifacts that are not regular files -----------------------------------------

@test "a kernel or initrd that is a FIFO: refused at once, never opened for reading" {
	rm "$T/b/$K"
	mkfifo "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "is not a regular file (it is a FIFO)"
	mk_bundle "$T/c" initrd=/unikernel/initrd
	mkfifo "$T/c/rootfs/unikernel/initrd"
	refused "$T/c" "initrd" "/unikernel/initrd" "is not a regular file (it is a FIFO)"
}

@test "a kernel or initrd that is a socket: refused" {
	rm "$T/b/$K"
	unix_socket "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "is not a regular file (it is a socket)"
	mk_bundle "$T/c" initrd=/unikernel/initrd
	unix_socket "$T/c/rootfs/unikernel/initrd"
	refused "$T/c" "initrd" "/unikernel/initrd" "is not a regular file (it is a socket)"
}

@test "a kernel or initrd that is a directory: refused" {
	rm "$T/b/$K"
	mkdir "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "is not a regular file (it is a directory)"
	mk_bundle "$T/c" initrd=/unikernel
	refused "$T/c" "initrd" "/unikernel" "is not a regular file (it is a directory)"
}

@test "a kernel or initrd that is a device node (mknod 8 0, mknod c 1 3): refused, never opened" {
	# A node with no driver behind it (c 511:511): any real open fails ENXIO, so the
	# message shows the node was only looked at (O_PATH), never opened.
	rm "$T/b/$K"
	mknod "$T/b/$K" b 8 0
	refused "$T/b" "kernel" "/unikernel/kernel" "is not a regular file (it is a block device)"
	mk_bundle "$T/c" initrd=/unikernel/initrd
	mknod "$T/c/rootfs/unikernel/initrd" c 1 3
	refused "$T/c" "initrd" "/unikernel/initrd" "is not a regular file (it is a character device)"
	rm "$T/b/$K"
	mknod "$T/b/$K" c 511 511
	refused "$T/b" "kernel" "is not a regular file (it is a character device)"
}

@test "a sparse kernel or initrd claiming terabytes: refused by size, unread" {
	truncate -s 4T "$T/b/$K" || truncate -s 1T "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "bytes, more than the 4294967296 a boot artifact may be"
	mk_bundle "$T/c" initrd=/unikernel/initrd
	truncate -s 1T "$T/c/rootfs/unikernel/initrd"
	refused "$T/c" "initrd" "/unikernel/initrd" "1099511627776 bytes, more than the"
}

# --- paths that leave the rootfs ------------------------------------------------------

@test "a kernel path through a symlinked directory out of the rootfs (absolute and relative): refused" {
	mkdir -p "$T/outside"
	cp "$TESTKERNEL" "$T/outside/kernel"
	rm -rf "$T/b/rootfs/unikernel"
	ln -s "$T/outside" "$T/b/rootfs/unikernel"
	refused "$T/b" "kernel" "/unikernel/kernel" "$T/b/rootfs" "escapes it"
	ln -sfn ../../outside "$T/b/rootfs/unikernel"
	refused "$T/b" "kernel" "/unikernel/kernel" "escapes it"
}

@test "a kernel path with .. climbing out of the rootfs: refused" {
	mkdir -p "$T/outside"
	cp "$TESTKERNEL" "$T/outside/kernel"
	mk_bundle "$T/c" binary=/unikernel/../../../outside/kernel
	# refused by the annotation check already, before any path is resolved
	refused "$T/c" "com.urunc.unikernel.binary" "/unikernel/../../../outside/kernel" "not a normalised path"
	mk_bundle "$T/d" initrd=/../../outside/kernel
	refused "$T/d" "com.urunc.unikernel.initrd" "/../../outside/kernel" "not a normalised path"
	# a .. inside a symlink target is resolved, and refused, at open
	ln -sf ../../../outside/kernel "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "escapes it"
}

@test "absolute symlinks: to the host, and even to a path that exists inside the rootfs: refused" {
	ln -sf /etc/passwd "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "escapes it"
	cp "$TESTKERNEL" "$T/b/rootfs/unikernel/real"
	ln -sf /unikernel/real "$T/b/$K"
	refused "$T/b" "kernel" "/unikernel/kernel" "escapes it"
	mk_bundle "$T/c" initrd=/unikernel/initrd
	ln -s /etc/shadow "$T/c/rootfs/unikernel/initrd"
	refused "$T/c" "initrd" "/unikernel/initrd" "escapes it"
}

# --- urunc.json and config.json that balloon or nest ------------------------------------

@test "a urunc.json of 100 MB (real bytes): refused by size, unread" {
	plain_bundle "$T/b"
	{
		printf '{"com.urunc.unikernel.cmdline":"'
		head -c 104857600 /dev/zero | tr '\0' 'A'
		printf '"}'
	} >"$T/b/rootfs/urunc.json"
	refused "$T/b" "urunc.json\` is 1048576" "more than the 16384 allowed"
}

@test "a urunc.json nested 10,000 deep, and a config.json nested 10,000 deep: JSON errors, no crash" {
	plain_bundle "$T/b"
	# 10,000 levels are 20 KB of brackets: over the 16 KiB cap already; 8,000 fit in it
	python3 -c 'import sys; n = int(sys.argv[2]); open(sys.argv[1], "w").write(
		"{\"com.urunc.unikernel.cmdline\":" + "[" * n + "]" * n + "}")' "$T/b/rootfs/urunc.json" 10000
	refused "$T/b" "urunc.json\` is 20032 bytes, more than the 16384 allowed"
	python3 -c 'import sys; n = int(sys.argv[2]); open(sys.argv[1], "w").write(
		"{\"com.urunc.unikernel.cmdline\":" + "[" * n + "]" * n + "}")' "$T/b/rootfs/urunc.json" 8000
	refused "$T/b" "urunc.json: \`com.urunc.unikernel.cmdline\`: value must be a string"
	mk_bundle "$T/b"
	python3 - "$T/b/config.json" <<-'EOF'
		import json, sys
		c = json.load(open(sys.argv[1]))
		deep = 1
		for _ in range(10000):
		    deep = {"a": [deep]}
		c["annotations"]["x.deep"] = "y"
		c["linux"]["deep"] = deep
		sys.setrecursionlimit(100000)
		open(sys.argv[1], "w").write(json.dumps(c))
	EOF
	refused "$T/b" "config.json: linux.deep" "nested deeper than 64 levels"
}

# --- non-UTF-8 and NUL in every string field ------------------------------------------

# set_raw <bundle> <path> <nul|ff>: set a string field of config.json (path: keys and
# array indexes joined by `/`) to a value holding a NUL (\u0000) or the raw bytes ff fe.
# (Python writes the bytes: jq would repair invalid UTF-8.)
set_raw() {
	python3 - "$1/config.json" "$2" "$3" <<-'EOF'
		import json, sys
		p, path, raw = sys.argv[1:]
		c = json.load(open(p + ".orig"))
		keys = [int(k) if k.isdigit() else k for k in path.split("/")]
		o = c
		for k in keys[:-1]:
		    o = o[k] if isinstance(o, list) else o.setdefault(k, {})
		o[keys[-1]] = "@@RAW@@"
		rep = {"nul": b"a\\u0000b", "ff": b"a\xff\xfeb"}[raw]
		open(p, "wb").write(json.dumps(c).encode().replace(b"@@RAW@@", rep))
	EOF
}

@test "NUL (\\u0000) and non-UTF-8 bytes in every string field of config.json: refused, naming the field" {
	local f raw s a=annotations/com.urunc.unikernel.
	cp "$T/b/config.json" "$T/b/config.json.orig"
	for f in ociVersion hostname root/path process/cwd process/args/0 process/env/0 \
		process/user/username process/apparmorProfile process/selinuxLabel \
		${a}unikernelType ${a}hypervisor ${a}binary ${a}cmdline ${a}unikernelVersion \
		${a}initrd ${a}block ${a}blkMntPoint ${a}mountRootfs ${a}solo5NetDev ${a}solo5BlkDev \
		${a}snapshotView annotations/org.example.other linux/cgroupsPath linux/mountLabel \
		linux/namespaces/0/path; do
		for raw in nul ff; do
			set_raw "$T/b" "$f" "$raw"
			case $raw in
			nul) refused_quick "$T/b" "config.json: $(sed -E 's#/([0-9]+)#[\1]#g; s#/#.#g' <<<"$f"): " \
				"contains a NUL byte" ;;
			ff) refused_quick "$T/b" "config.json: " "a string is not valid UTF-8" ;;
			esac
		done
	done
	# the whole "nothing created" check once
	refused "$T/b" "config.json: " "a string is not valid UTF-8"
}

@test "NUL and non-UTF-8 in every urunc.json field: refused, naming the key" {
	local k raw v
	for k in unikernelType hypervisor binary cmdline unikernelVersion initrd block blkMntPoint \
		mountRootfs solo5NetDev solo5BlkDev; do
		for raw in nul ff; do
			plain_bundle "$T/b"
			python3 - "$T/b/rootfs/urunc.json" "$k" "$raw" <<-'EOF'
				import base64, sys
				p, k, raw = sys.argv[1:]
				base = {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"}
				val = {"nul": b"a\\u0000b", "ff": b"a\xff\xfeb"}[raw]
				parts = []
				for key, v in base.items():
				    if key != k:
				        parts.append(b'"com.urunc.unikernel.%s":"%s"' % (key.encode(), base64.b64encode(v.encode())))
				parts.append(b'"com.urunc.unikernel.%s":"%s"' % (k.encode(), val))
				open(p, "wb").write(b"{" + b",".join(parts) + b"}")
			EOF
			case $raw in
			nul) refused_quick "$T/b" "urunc.json: \`com.urunc.unikernel.$k\`" "contains a NUL byte" ;;
			ff) refused_quick "$T/b" "urunc.json: a string is not valid UTF-8" ;;
			esac
		done
	done
	refused "$T/b" "urunc.json: a string is not valid UTF-8"
}

# --- resources ---------------------------------------------------------------------------

@test "huge or negative memory and vCPU values: refused at create, naming the field" {
	cfg "$T/b" '.linux.resources.memory.limit = -5'
	refused "$T/b" "linux.resources.memory.limit: -5 is negative"
	cfg "$T/b" '.linux.resources.memory.limit = 1e30'
	refused "$T/b" "linux.resources.memory.limit"
	# (jq rounds integers through doubles: the exact INT64_MAX goes in with sed)
	cfg "$T/b" '.linux.resources.memory.limit = 12345'
	sed -i 's/12345/9223372036854775807/' "$T/b/config.json"
	refused "$T/b" "linux.resources.memory.limit" "would give the guest" "more than the host's"
	cfg "$T/b" 'del(.linux.resources.memory) | .linux.resources.memory.swap = -7'
	refused "$T/b" "linux.resources.memory.swap: -7 is negative"
	cfg "$T/b" 'del(.linux.resources.memory) | .linux.resources.cpu = {quota: -5, period: 100000}'
	refused "$T/b" "linux.resources.cpu.quota: -5 is out of range"
	cfg "$T/b" '.linux.resources.cpu = {quota: 100000, period: 5}'
	refused "$T/b" "linux.resources.cpu.period: 5 is out of range"
	cfg "$T/b" '.linux.resources.cpu = {quota: 12345, period: 100000}'
	sed -i 's/12345/9223372036854775807/' "$T/b/config.json"
	refused "$T/b" "linux.resources.cpu.quota: 9223372036854775807" "more than 65536 CPUs"
	cfg "$T/b" '.linux.resources.cpu = {quota: 100000, period: 12345}'
	sed -i 's/12345/18446744073709551615/' "$T/b/config.json"
	refused "$T/b" "linux.resources.cpu.period: 18446744073709551615 is out of range"
	cfg "$T/b" '.linux.resources.cpu = {quota: 100000, period: 1e40}'
	refused "$T/b" "linux.resources.cpu.period"
}

# --- the rootfs and the id ----------------------------------------------------------------

@test "a rootfs that is itself a symlink (to a directory in the bundle, or to /): refused" {
	mv "$T/b/rootfs" "$T/b/real"
	ln -s real "$T/b/rootfs"
	refused "$T/b" "root.path" "$T/b/rootfs" "symlink"
	ln -sfn / "$T/b/rootfs"
	refused "$T/b" "root.path" "$T/b/rootfs" "symlink"
	cfg "$T/b" --arg p "$T/b/rootfs" '.root.path = $p'
	refused "$T/b" "root.path" "$T/b/rootfs" "symlink"
}

@test "ids with /, .. or 1,000 characters: refused, nothing created" {
	local long
	long=$(printf 'a%.0s' $(seq 1000))
	for ID in "a/b" "../x" ".." "$long"; do
		refused "$T/b" "invalid container id"
	done
}

# --- a bundle that changes between create and start -------------------------------------

@test "config.json and the kernel replaced between create and start: start runs what create validated" {
	local pid kernel
	create_ct "$ID" "$T/b" || { cat "$T/$ID.err"; false; }
	pid=$(pid_of "$ID")
	# The bundle now says something else, and is even unreadable as a config
	cfg "$T/b" '.process.args = ["edited"] | .annotations["com.urunc.unikernel.hypervisor"] = "firecracker"'
	mv "$T/b/config.json" "$T/b/config.edited"
	mkfifo "$T/b/config.json"
	rm "$T/b/$K"
	ln -s /etc/shadow "$T/b/$K"
	timeout -k 2 20 "$URUNC" --root "$ROOT" start "$ID"
	wait_ready "$ID"
	has "$(grep -A1 '^fakevmm: argv\[[0-9]*\]=-append$' "$T/$ID.out" | tail -n1)" "hello from urunc"
	# the kernel the VMM got is the one create opened (the test kernel), not /etc/shadow
	kernel=$(grep -A1 '^fakevmm: argv\[[0-9]*\]=-kernel$' "$T/$ID.out" | tail -n1 | sed 's/^fakevmm: argv\[[0-9]*\]=//')
	[ -n "$kernel" ]
	cmp "$TESTKERNEL" "/proc/$pid/root$kernel"
	timeout -k 2 20 "$URUNC" --root "$ROOT" delete --force "$ID"
	nothing_left "$ID" "$pid"
}
