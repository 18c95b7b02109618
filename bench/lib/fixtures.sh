# shellcheck shell=bash disable=SC2034 # STEPRUN, NSEXEC and R_* are read by the other parts
# Bundles, images and state roots for the bench (sourced by run.sh).
# Expects: T, REPO, URUNC, TESTKERNEL, FAKEVMM, MAKE_BUNDLE (from paths.env).

# All state roots live on one tmpfs, as /run does on a normal host (here /run is
# on disk): urunc, runc and crun keep their state on the same kind of storage,
# and the bytes a container writes show as that tmpfs's used space.
setup_common() {
	cc -O2 -Wall -Wextra -o "$T/steprun" "$BENCH/steprun.c" || die "cannot build bench/steprun.c"
	STEPRUN=$T/steprun
	cc -O2 -static -Wall -Wextra -o "$T/nsexec" "$BENCH/nsexec.c" || die "cannot build bench/nsexec.c"
	NSEXEC=$T/nsexec
	# A private copy: the tree is shared, and a rebuild in the middle of a run
	# would otherwise mix two binaries in one table.
	URUNC_SRC=$URUNC
	URUNC_BUILT=$(date -u -r "$URUNC" '+%Y-%m-%d %H:%M UTC')
	URUNC_TREE=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
	cp "$URUNC" "$T/urunc"
	URUNC=$T/urunc
	mkdir -p "$T/run"
	mount -t tmpfs -o size=2g,mode=0755 "urunc-bench-$PREFIX" "$T/run"
	register_mount "$T/run"
	R_URUNC=$T/run/urunc R_RUNC=$T/run/runc R_CRUN=$T/run/crun
	mkdir -p "$R_URUNC" "$R_RUNC" "$R_CRUN"
	register_root "$URUNC" "$R_URUNC"
	register_root runc "$R_RUNC"
	register_root crun "$R_CRUN"

	# The fake VMM stands in for QEMU; urunc reads this through URUNC_CONFIG.
	# Views may lie only under views_dir (an empty allowed_prefixes no longer means
	# anywhere): the bench mounts its view at $T/view.
	tl_monitor_config "$T/fake.toml" qemu "$FAKEVMM"
	printf '[snapshot_view]\nviews_dir = "%s"\n' "$T" >>"$T/fake.toml"

	# fb: the fake VMM keeps running; fx: it exits 0 at once.
	tl_make_bundle "$T/fb"
	tl_make_bundle "$T/fx"
	tl_jq_edit "$T/fx/config.json" '.process.args = ["fakevmm:exit=0"]'

	# rb: busybox-static /bin/true for runc and crun, from `runc spec`, with the
	# same namespaces as the urunc bundle (pid, ipc, uts, mount, network).
	mkdir -p "$T/rb/rootfs/bin"
	cp /bin/busybox "$T/rb/rootfs/bin/busybox"
	ln -s busybox "$T/rb/rootfs/bin/true"
	(cd "$T/rb" && runc spec)
	jq '.process.args = ["/bin/true"] | .process.terminal = false
	    | .linux.namespaces = [{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"network"}]' \
		"$T/rb/config.json" >"$T/rb/c" && mv "$T/rb/c" "$T/rb/config.json"
	# rs: the same, running `sleep 300` (state and kill of a running container, section 2b).
	cp -a "$T/rb" "$T/rs"
	ln -s busybox "$T/rs/rootfs/bin/sleep"
	jq '.process.args = ["/bin/sleep", "300"]' "$T/rs/config.json" >"$T/rs/c" &&
		mv "$T/rs/c" "$T/rs/config.json"
}

# Kernel-size fixtures: one ext4 image holding kernel-<S> (the test kernel padded
# with zeros to S MiB) and initrd-64, attached read-write as the container
# rootfs, and a copy of it on a read-only loop device mounted read-only as the
# snapshot view. Both images live on a tmpfs, so no disk speed is measured.
# The padding is written as real blocks (cp --sparse=never into the mounted
# filesystem), not holes: mkfs -d would turn zero runs into holes.
setup_block() {
	local s
	mkdir -p "$T/img" "$T/blk/rootfs" "$T/view" "$T/src"
	mount -t tmpfs -o size=1400m "urunc-bench-img-$PREFIX" "$T/img"
	register_mount "$T/img"
	for s in $SIZES; do
		cp "$TESTKERNEL" "$T/src/kernel-$s"
		dd if=/dev/zero bs=1M count="$s" status=none >>"$T/src/kernel-$s"
		truncate -s "${s}M" "$T/src/kernel-$s"
	done
	dd if=/dev/zero of="$T/src/initrd-64" bs=1M count=64 status=none
	truncate -s 600M "$T/img/rootfs.ext4"
	mkfs.ext4 -q -F -L urunc-bench "$T/img/rootfs.ext4"
	LOOP_RW=$(losetup -f --show "$T/img/rootfs.ext4") || die "losetup failed"
	register_loop "$LOOP_RW"
	register_mount "$T/blk/rootfs"
	mount "$LOOP_RW" "$T/blk/rootfs"
	mkdir -p "$T/blk/rootfs/unikernel"
	cp --sparse=never "$T/src"/* "$T/blk/rootfs/unikernel/"
	umount "$T/blk/rootfs"
	rm -rf "$T/src"
	cp "$T/img/rootfs.ext4" "$T/img/view.ext4"
	LOOP_RO=$(losetup -f --show -r "$T/img/view.ext4") || die "losetup failed"
	register_loop "$LOOP_RO"
	register_mount "$T/view"
	mount -o ro "$LOOP_RO" "$T/view"
}

# block_bundle DIR KERNEL_MIB INITRD_MIB MODE(view|copy): a config-only bundle
# whose root.path is the shared block mountpoint; linux guest (it takes an ext4
# block rootfs) with mountRootfs=true, the fake VMM exiting at once.
block_bundle() {
	local dir=$1 ks=$2 is=$3 mode=$4 args=()
	args=(unikernelType=linux unikernelVersion mountRootfs=true "binary=/unikernel/kernel-$ks")
	[ "$is" = 0 ] || args+=("initrd=/unikernel/initrd-$is")
	[ "$mode" = view ] && args+=("snapshotView=$T/view")
	tl_make_bundle "$dir" "${args[@]}"
	rm -rf "$dir/rootfs"
	jq --arg r "$T/blk/rootfs" '.root.path = $r | .process.args = ["/sbin/init", "fakevmm:exit=0"]' \
		"$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}

# The block rootfs leaves the host in `create`; each iteration mounts it back.
remount_cmd() { echo "mountpoint -q $T/blk/rootfs || mount $LOOP_RW $T/blk/rootfs"; }

machine_description() {
	local mem cpu
	mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf '| nproc | %s |\n' "$(nproc)"
	printf '| memory | %s |\n' "$mem"
	printf '| kernel | %s |\n' "$(uname -r)"
	printf '| CPU (/proc/cpuinfo) | %s, %s MHz |\n' "$cpu" \
		"$(awk -F': ' '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo)"
	printf '| virtualisation | %s |\n' "$(systemd-detect-virt 2>/dev/null || echo unknown)"
	printf '| urunc | tree at %s; binary %s built %s, build type %s |\n' \
		"$URUNC_TREE" "${URUNC_SRC#"$REPO"/}" "$URUNC_BUILT" "$(jq -r '.[] | select(.name == "buildtype") | .value' \
			"$(dirname "$URUNC_SRC")/../../meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')"
	printf '| runc | %s |\n' "$(runc --version | head -1)"
	printf '| crun | %s |\n' "$(crun --version | head -1)"
	printf '| QEMU | %s |\n' "$(qemu-system-x86_64 --version | head -1)"
	printf '| load average (1/5/15 min) | at start %s; at end %s (the machine is shared) |\n' \
		"${LOAD_START:-?}" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
