#!/usr/bin/env bats
# A real Linux guest on QEMU/TCG whose root is the container rootfs shared over 9p.
#
# Debian's cloud kernel (linux_guest.bats) has no 9p at all, so these tests boot Debian's
# generic kernel, fetched once into /var/cache/urunc-test by scripts/setup.sh
# (matrix_linux_generic.sh --fetch) with the 9p/virtio modules beside it. Its 9p and
# virtio-pci are modules: the bundle carries an initrd (shared_root_initrd.sh) that is
# only early userspace, as a distro initramfs is: it loads them, mounts the share named on
# the kernel command line and switch_root's into it. urunc gives a Linux guest that initrd
# *and* the share as root when the bundle has an initrd annotation and mountRootfs on a
# rootfs that is not a block device (docs/design.md, "Guest rootfs and boot artifacts").
#
# The container rootfs holds the kernel and initrd at /boot, a static busybox at /bin, the
# app /app.sh (process.args[0], run by the initrd as init=) and a marker file the app
# prints from the share before it powers the VM off.
#
# virtiofs: with [extra_binaries.virtiofsd] path in the host config (a file of the test's
# own, sr_virtiofs_config), urunc shares the rootfs over virtiofs instead: the init starts
# virtiofsd in the monitor root and the initrd mounts rootfstype=virtiofs.

load matrix_e2e_helpers

setup() {
	me_setup
	command -v cpio >/dev/null || skip "\`cpio\` is not installed"
	# The kernel is fetched by scripts/setup.sh, never here. CI ran setup: missing is a failure.
	if ! SR_GENERIC=$("$BATS_TEST_DIRNAME/matrix_linux_generic.sh" 2>"$ME_T/kernel.err"); then
		[ "${CI:-}" != true ] || { cat "$ME_T/kernel.err"; return 1; }
		skip "no Debian generic kernel: $(tail -n 1 "$ME_T/kernel.err")"
	fi
}
teardown() { me_teardown; }

# sr_bundle <bundle>: the rootfs described in the header, linux on qemu, initrd annotation
# and mountRootfs=true, args [/app.sh, arg1], no network namespace.
sr_bundle() {
	local b=$1 a
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=linux hypervisor=qemu \
		binary=/boot/vmlinuz initrd=/boot/initrd mountRootfs=true unikernelVersion >/dev/null
	rm -r "$b/rootfs/unikernel"
	mkdir -p "$b/rootfs/boot" "$b/rootfs/bin" "$b/rootfs/proc"
	cp "$SR_GENERIC/vmlinuz" "$b/rootfs/boot/vmlinuz"
	"$BATS_TEST_DIRNAME/shared_root_initrd.sh" "$b/rootfs/boot/initrd" "$SR_GENERIC"
	cp "${BUSYBOX:-/bin/busybox}" "$b/rootfs/bin/busybox"
	for a in sh cat mount awk poweroff; do ln -s busybox "$b/rootfs/bin/$a"; done
	echo "hello from the container rootfs $(basename "$b")" >"$b/rootfs/urunc-marker.txt"
	cat >"$b/rootfs/app.sh" <<'APP'
#!/bin/busybox sh
# The container's init, started from the shared root by the initrd.
export PATH=/bin
mount -t proc proc /proc
echo "SRAPP: argv1=$1"
echo "SRAPP: root fstype=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)"
echo "SRAPP: marker=$(cat /urunc-marker.txt)"
if echo "written by the guest" >/urunc-guest.txt; then
	echo "SRAPP: wrote /urunc-guest.txt"
else
	echo "SRAPP: cannot write /"
fi
poweroff -f
APP
	chmod 0755 "$b/rootfs/app.sh"
	me_jq "$b" '.process.args = ["/app.sh", "arg1"]
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]'
}

# sr_nothing_left <id>: me_nothing_left, and no mount, loop device or process of the test's
# directory (the bundle, the state root) anywhere on the host.
sr_nothing_left() {
	local id=$1 p
	me_nothing_left "$id" || return 1
	if grep -F "$ME_T" /proc/self/mountinfo; then
		echo "mounts left behind"
		return 1
	fi
	if ss -xa 2>/dev/null | grep -F "$ME_T"; then
		echo "sockets left behind"
		return 1
	fi
	if losetup -a 2>/dev/null | grep -F "$ME_T"; then
		echo "loop devices left behind"
		return 1
	fi
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/root" 2>/dev/null)" in "$ME_T"/*)
			echo "process ${p#/proc/} still has its root under $ME_T"
			return 1
			;;
		esac
	done
}

@test "9pfs: linux guest with an initrd mounts the container rootfs over 9p as root and prints a file from it" {
	local id b
	id=$(me_id sr9p)
	b=$ME_T/$id
	sr_bundle "$b"
	me_run "$id" "$b" 240
	echo "# 9p root: urunc run took ${ME_SECONDS}s" >&3
	[ "$ME_STATUS" -eq 0 ] # poweroff -f: ACPI S5, QEMU exits 0
	# root.readonly (the bundle's default): urunc shares it read-only and says `ro`.
	me_has_line "$id" "SRINIT: mounted fs0 (9p, ro) as root, exec /app.sh"
	me_has_line "$id" "SRAPP: argv1=arg1"
	me_has_line "$id" "SRAPP: root fstype=9p"
	me_has_line "$id" "SRAPP: marker=hello from the container rootfs $id"
	me_has_line "$id" "SRAPP: cannot write /"
	[ ! -e "$b/rootfs/urunc-guest.txt" ]
	# The choice is logged.
	grep -qF "guest rootfs 9pfs: the container rootfs is shared with the guest as its root, the initrd annotation's initrd boots first" "$ME_T/$id.err"
	sr_nothing_left "$id"
}

@test "9pfs: the choice is recorded in state.json; delete leaves nothing" {
	local id b choice
	id=$(me_id sr9p-state)
	b=$ME_T/$id
	sr_bundle "$b"
	echo "$id" >>"$ME_T/ids"
	timeout -k 5 60 "$URUNC" --root "$ME_ROOT" create --bundle "$b" --pid-file "$ME_T/$id.pid" "$id"
	choice=$(jq -r .rootfsChoice "$ME_ROOT/$id/state.json")
	echo "rootfsChoice: $choice"
	[[ $choice == "9pfs: the container rootfs is shared with the guest as its root, the initrd annotation's initrd boots first"* ]]
	timeout -k 5 60 "$URUNC" --root "$ME_ROOT" delete --force "$id"
	sr_nothing_left "$id"
}

@test "9pfs: with root.readonly false the guest writes through the share to the container rootfs" {
	local id b
	id=$(me_id sr9p-rw)
	b=$ME_T/$id
	sr_bundle "$b"
	me_jq "$b" '.root.readonly = false'
	me_run "$id" "$b" 240
	echo "# 9p root, writable: urunc run took ${ME_SECONDS}s" >&3
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "SRINIT: mounted fs0 (9p, rw) as root, exec /app.sh"
	me_has_line "$id" "SRAPP: wrote /urunc-guest.txt"
	[ "$(cat "$b/rootfs/urunc-guest.txt")" = "written by the guest" ]
	sr_nothing_left "$id"
}

# sr_virtiofs_config: this test's host config, the suite's plus the virtiofsd opt-in.
sr_virtiofs_config() {
	local vfsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
	[ -x "$vfsd" ] || skip "no virtiofsd at $vfsd"
	cp "$ME_T/urunc.toml" "$ME_T/virtiofs.toml"
	printf '\n[extra_binaries.virtiofsd]\npath = "%s"\n' "$vfsd" >>"$ME_T/virtiofs.toml"
	export URUNC_CONFIG=$ME_T/virtiofs.toml
}

# sr_no_virtiofsd: no virtiofsd of urunc's (its socket name) runs, no such socket listens.
sr_no_virtiofsd() {
	local p
	for p in $(pgrep -x virtiofsd || true); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF urunc-virtiofs.sock; then
			echo "virtiofsd $p left behind"
			return 1
		fi
	done
	if ss -xa 2>/dev/null | grep -F urunc-virtiofs.sock; then
		echo "virtiofsd socket left behind"
		return 1
	fi
}

@test "virtiofs: with [extra_binaries.virtiofsd] the linux guest mounts the container rootfs over virtiofs as root" {
	local id b
	sr_virtiofs_config
	id=$(me_id srvfs)
	b=$ME_T/$id
	sr_bundle "$b"
	me_run "$id" "$b" 240
	echo "# virtiofs root: urunc run took ${ME_SECONDS}s" >&3
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "SRINIT: mounted fs0 (virtiofs, ro) as root, exec /app.sh"
	me_has_line "$id" "SRAPP: argv1=arg1"
	me_has_line "$id" "SRAPP: root fstype=virtiofs"
	me_has_line "$id" "SRAPP: marker=hello from the container rootfs $id"
	me_has_line "$id" "SRAPP: cannot write /"
	[ ! -e "$b/rootfs/urunc-guest.txt" ]
	grep -qF "guest rootfs virtiofs: the container rootfs is shared with the guest as its root, the initrd annotation's initrd boots first" "$ME_T/$id.err"
	sr_nothing_left "$id"
	sr_no_virtiofsd
}

@test "virtiofs: rootfsChoice says virtiofs; virtiofsd runs beside QEMU; nothing is left after" {
	local id b choice pid= i vfsd= runpid
	sr_virtiofs_config
	id=$(me_id srvfs-state)
	b=$ME_T/$id
	sr_bundle "$b"
	me_jq "$b" '.root.readonly = false'
	echo "$id" >>"$ME_T/ids"
	# `run` in the background: it reaps QEMU (this machine's PID 1 may not), and the test
	# looks at the container while the guest boots.
	timeout -k 5 240 "$URUNC" --root "$ME_ROOT" run --bundle "$b" --pid-file "$ME_T/$id.pid" "$id" \
		>"$ME_T/$id.out" 2>"$ME_T/$id.err" </dev/null &
	runpid=$!
	# The VMM's child, started by the init before it became QEMU.
	for i in $(seq 100); do
		[ -n "$pid" ] || pid=$(cat "$ME_T/$id.pid" 2>/dev/null || true)
		[ -z "$pid" ] || vfsd=$(pgrep -P "$pid" -x virtiofsd || true)
		[ -z "$vfsd" ] || break
		sleep 0.1
	done
	choice=$(jq -r .rootfsChoice "$ME_ROOT/$id/state.json" 2>/dev/null || true)
	echo "virtiofsd: ${vfsd:-none}; rootfsChoice: $choice"
	wait "$runpid" || { echo "urunc run: status $?"; false; }
	sed -i 's/\r$//' "$ME_T/$id.out"
	cat "$ME_T/$id.out" "$ME_T/$id.err"
	[ -n "$vfsd" ]
	[[ $choice == "virtiofs: the container rootfs is shared with the guest as its root, the initrd annotation's initrd boots first"* ]]
	[[ $choice == *" by virtiofsd \`"*"virtiofsd\`" ]]
	me_has_line "$id" "SRINIT: mounted fs0 (virtiofs, rw) as root, exec /app.sh"
	me_has_line "$id" "SRAPP: wrote /urunc-guest.txt"
	[ "$(cat "$b/rootfs/urunc-guest.txt")" = "written by the guest" ]
	! kill -0 "$vfsd" 2>/dev/null || { echo "virtiofsd $vfsd still runs"; false; }
	sr_nothing_left "$id"
	sr_no_virtiofsd
}
