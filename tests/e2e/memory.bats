#!/usr/bin/env bats
# Memory that holds: a Linux guest on QEMU/TCG under a 512 MiB memory limit uses the RAM it
# was given (all but 48 MiB of what its kernel sees, written into a tmpfs) and keeps running;
# the VMM is not OOM-killed and the container's cgroup limit is still the one asked for.
#
# The guest is Debian's cloud kernel with the busybox initrd of linux_guest.bats, plus the
# /memfill init of memfill_initrd.sh. It idles after the fill (`hold`), so that the cgroup is
# read while the container runs; the test then kills it through `urunc kill`.
# KVM is hidden (bind of /dev/null, in a private mount namespace) when the host has it, so
# the overhead is TCG's, the one the default reserve was measured for.

load matrix_e2e_helpers

setup() {
	me_setup
	command -v cpio >/dev/null || skip "\`cpio\` is not installed"
	LX_KERNEL=$("$BATS_TEST_DIRNAME/matrix_linux_kernel.sh" 2>"$ME_T/kernel.err") ||
		skip "no Debian cloud kernel: $(tail -n 1 "$ME_T/kernel.err")"
	MEM_BG=
}

teardown() {
	# `urunc run` in the background: me_teardown's delete --force ends its QEMU, then it
	# returns; it is waited for so that nothing outlives the test.
	me_teardown
	if [ -n "${MEM_BG:-}" ]; then
		kill -KILL "$MEM_BG" 2>/dev/null || true
		wait "$MEM_BG" 2>/dev/null || true
	fi
}

# mem_bundle <bundle> <cgroup path>: the memfill guest, 512 MiB limit, its own cgroup path.
mem_bundle() {
	local b=$1 cg=$2
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=linux hypervisor=qemu \
		binary=/boot/vmlinuz initrd=/boot/initrd unikernelVersion >/dev/null
	rm -r "$b/rootfs/unikernel"
	mkdir "$b/rootfs/boot"
	cp "$LX_KERNEL" "$b/rootfs/boot/vmlinuz"
	"$BATS_TEST_DIRNAME/memfill_initrd.sh" "$b/rootfs/boot/initrd"
	me_jq "$b" --arg cg "$cg" '.process.args = ["/memfill", "48", "hold"]
		| .process.env = []
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
		| .linux.cgroupsPath = $cg
		| .linux.resources.memory.limit = 536870912'
}

# mem_cgroup_dir <cgroup path>: the directory of the memory controller for that path
# (cgroup v1 memory hierarchy, else cgroup2 with the memory controller).
mem_cgroup_dir() {
	local r
	r=$(cg_root memory) || { echo "no memory hierarchy" >&2; return 1; }
	if [ -f "$r$1/memory.limit_in_bytes" ] || [ -f "$r$1/memory.max" ]; then
		echo "$r$1"
	else
		echo "no memory cgroup for $1 under $r" >&2
		return 1
	fi
}

# mem_oom_kills <dir>: the cgroup's count of OOM kills (v1 memory.oom_control, v2
# memory.events).
mem_oom_kills() {
	local f=$1/memory.oom_control
	[ -f "$f" ] || f=$1/memory.events
	awk '$1 == "oom_kill" { print $2; found = 1 } END { if (!found) exit 1 }' "$f"
}

# mem_limit <dir>: the cgroup's memory limit in bytes.
mem_limit() {
	if [ -f "$1/memory.limit_in_bytes" ]; then cat "$1/memory.limit_in_bytes"; else cat "$1/memory.max"; fi
}

@test "linux on qemu/TCG, 512 MiB limit: the guest fills all but 48 MiB of its RAM, QEMU survives, the limit holds" {
	local id b cg dir pid deadline
	id=$(me_id mem)
	b=$ME_T/$id
	cg=/urunc-e2e-$id
	mem_bundle "$b" "$cg"
	echo "$id" >>"$ME_T/ids"
	timeout -k 5 300 "$URUNC" --root "$ME_ROOT" run --bundle "$b" --pid-file "$ME_T/$id.pid" "$id" \
		>"$ME_T/$id.out" 2>"$ME_T/$id.err" </dev/null &
	MEM_BG=$!
	# Until the guest reports the end of its fill, or `urunc run` ends (QEMU died).
	deadline=$(($(date +%s) + 280))
	until grep -aq 'MEMFILL: alive\|MEMFILL: error' "$ME_T/$id.out" 2>/dev/null; do
		kill -0 "$MEM_BG" 2>/dev/null || break
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.2
	done
	echo "--- guest console:"
	tr -d '\r' <"$ME_T/$id.out"
	echo "--- urunc:"
	cat "$ME_T/$id.err"

	# The guest filled MemTotal - 48 MiB and still runs.
	local want got
	want=$(tr -d '\r' <"$ME_T/$id.out" | sed -n 's/^MEMFILL: memtotal_kib=[0-9]* fill_mib=//p')
	[ -n "$want" ]
	[ "$want" -gt 0 ]
	got=$(tr -d '\r' <"$ME_T/$id.out" | sed -n 's/^MEMFILL: filled \([0-9]*\) MiB$/\1/p')
	[ "$got" = "$want" ]
	tr -d '\r' <"$ME_T/$id.out" | grep -qx 'MEMFILL: alive'
	# QEMU still runs, as the container's process.
	pid=$(cat "$ME_T/$id.pid")
	[ "$(cat "/proc/$pid/comm")" = qemu-system-x86 ]
	# The cgroup: limit as asked, no OOM kill.
	dir=$(mem_cgroup_dir "$cg")
	echo "cgroup $dir: limit $(mem_limit "$dir"), oom kills $(mem_oom_kills "$dir")"
	[ "$(mem_limit "$dir")" = 536870912 ]
	[ "$(mem_oom_kills "$dir")" = 0 ]

	# Done: kill it, `run` returns and deletes the container.
	"$URUNC" --root "$ME_ROOT" kill "$id" KILL
	wait "$MEM_BG" || true
	MEM_BG=
	me_nothing_left "$id"
}
