# Helpers for the block-rootfs / snapshot-view e2e tests (block_view.bats, view_errors.bats).
#
# Why every test body runs as one script in a private mount namespace:
# * /dev/kvm exists on the project's machines but QEMU cannot use it, so it is hidden by a
#   bind of /dev/null there and QEMU boots under TCG;
# * urunc refuses to hand the guest a device that is still mounted in some other mount
#   namespace (that is the safety check under test), so the container rootfs must be
#   mounted only inside the namespace urunc runs in.
# When the namespace dies, its mounts go with it. What outlives it, loop devices and a
# container process that a failed body left running, is recorded in $BV_T and removed by
# bv_teardown (outside) and by the body's own EXIT trap (inside).
#
# Used from bats:   load block_helpers; setup() { bv_setup; }; teardown() { bv_teardown; }
#                   bv_body <<'EOF' ... EOF; bv_run_body; bv_assert_ok
# Used in a body:   everything prefixed `ns_` below (the body script sources this file).

# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"

# A test that hangs fails after this long (QEMU under TCG is slow; scripts/test.sh sets it
# too); teardown still runs.
: "${BATS_TEST_TIMEOUT:=600}"

# --- outside the namespace (bats side) ------------------------------------------------------

bv_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (loop devices, mounts)"
	[ -n "${URUNC_BUILD:-}" ] || skip "URUNC_BUILD is not set (run through scripts/test.sh)"
	[ -f "$URUNC_BUILD/tests/fixtures/paths.env" ] || skip "fixtures not built"
	# shellcheck disable=SC1091
	. "$URUNC_BUILD/tests/fixtures/paths.env"
	local t
	for t in losetup mkfs.ext4 unshare mountpoint findmnt timeout qemu-system-x86_64; do
		command -v "$t" >/dev/null || skip "\`$t\` is not installed"
	done
	[ -e /dev/loop-control ] || skip "no loop device support"
	BV_T=$(mktemp -d /tmp/urunc-bv.XXXXXX)
	: >"$BV_T/loops"
	: >"$BV_T/pids"
	: >"$BV_T/ids"
	# ext4 labels hold 16 bytes: "bv" + 8 hex digits, unique per test run.
	BV_LABEL=bv$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	export BV_T BV_LABEL TESTKERNEL FAKEVMM MAKE_BUNDLE
	export URUNC="$URUNC_BUILD/src/cli/urunc"
	export BV_HELPERS="$BATS_TEST_DIRNAME/block_helpers.bash"
}

bv_teardown() {
	[ -n "${BV_T:-}" ] && [ -d "$BV_T" ] || return 0
	local id root dir dirs pid dev back i
	# A container left by a failed body (its init or VMM): ids are unique per run, so the
	# processes in cgroups named after them are ours; then the (empty) cgroups go too.
	while read -r id root; do
		[ -n "$id" ] || continue
		dirs=$(tl_cgroup_find -type d -name "$id" 2>/dev/null)
		[ -n "$dirs" ] || continue
		while read -r dir; do
			while read -r pid; do
				kill -KILL "$pid" 2>/dev/null || true
			done <"$dir/cgroup.procs"
		done <<<"$dirs"
		# A killed process leaves its cgroups when it is reaped: retry, bounded.
		while read -r dir; do
			for ((i = 0; i < 100; i++)); do
				rmdir "$dir" 2>/dev/null && break
				[ -d "$dir" ] || break
				sleep 0.02
			done
		done <<<"$dirs"
	done <"$BV_T/ids"
	# Other processes a body started and recorded (only if the pid still runs what we ran).
	while read -r pid; do
		[ -n "$pid" ] || continue
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		fakevmm | qemu-system-x86 | urunc | sleep) kill -KILL "$pid" 2>/dev/null || true ;;
		esac
	done <"$BV_T/pids"
	# Loop devices: only those still backed by a file of ours (numbers are reused).
	while read -r dev; do
		[ -n "$dev" ] || continue
		back=$(losetup -n -O BACK-FILE "$dev" 2>/dev/null || true)
		case $back in
		"$BV_T"/*) losetup -d "$dev" 2>/dev/null || true ;;
		esac
	done <"$BV_T/loops"
	# Mounts lived only in the (now dead) private namespace; never cross into another fs.
	rm -rf --one-file-system "$BV_T"
}

# Reads a test body from stdin and wraps it: strict mode, helpers, cleanup trap.
bv_body() {
	{
		printf 'set -euo pipefail\n'
		printf '. "$BV_HELPERS"\n'
		printf 'trap ns_cleanup EXIT\ntrap "exit 143" TERM INT\n'
		# Views may lie only under the views directory (an empty allowed_prefixes no longer
		# means anywhere): these tests mount theirs under $BV_T.
		printf 'printf "[snapshot_view]\\nviews_dir = \\"%%s\\"\\n" "$BV_T" >"$BV_T/base.toml"\n'
		printf 'export URUNC_CONFIG=$BV_T/base.toml\n'
		cat
	} >"$BV_T/body.sh"
}

# Runs the body in a private mount namespace (its mounts die with it); bounded in time.
bv_run_body() {
	run timeout -k 5 "${BV_TIMEOUT:-120}" unshare -m --propagation private bash "$BV_T/body.sh"
}

bv_assert_ok() {
	# BV_VERBOSE=1 shows the body's output of passing tests too.
	[ -z "${BV_VERBOSE:-}" ] || printf '# %s\n' "${lines[@]}" >&3
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output"
		echo "body exited with status $status"
		return 1
	fi
}

# --- inside the namespace (body side) -------------------------------------------------------

ns_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Everything a body may leave: containers (by id), mounts (reverse order), loop devices.
ns_cleanup() {
	local rc=$? id m dev
	while read -r id root; do
		"$URUNC" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	done <"$BV_T/ids"
	if [ -f "$BV_T/mounts" ]; then
		tac "$BV_T/mounts" | while read -r m; do
			umount "$m" 2>/dev/null || true
		done
	fi
	while read -r dev; do
		if [ -n "$dev" ]; then losetup -d "$dev" 2>/dev/null || true; fi
	done <"$BV_T/loops"
	return $rc
}

# ns_id <name>: a container id unique per run (cgroups are named after ids, host-wide).
ns_id() { echo "$1-$BV_LABEL"; }

# ns_track_container <id> <state root>: delete --force it on exit.
ns_track_container() { echo "$1 $2" >>"$BV_T/ids"; }

# ns_urunc <out> <seconds> <state root> <verb> [args...] <id>: run urunc with its output in
# a file, never a pipe (a container left running would hold a pipe open forever), bounded
# in time; the container (last argument) is deleted by force on exit. Returns urunc's status.
ns_urunc() {
	local out=$1 secs=$2 root=$3
	shift 3
	ns_track_container "${!#}" "$root"
	timeout -k 2 "$secs" "$URUNC" --root "$root" "$@" >"$out" 2>&1 </dev/null
}

# ns_mount [mount args...] <target>: mount, and unmount it on exit.
ns_mount() {
	mount "$@"
	echo "${!#}" >>"$BV_T/mounts"
}

# ns_image <img> <label> <srcdir> [size]: an ext4 image holding a copy of srcdir.
ns_image() {
	rm -f "$1"
	truncate -s "${4:-16M}" "$1"
	mkfs.ext4 -q -F -L "$2" -d "$3" "$1"
}

# ns_attach [-r] <img>: a fresh loop device for img (recorded for cleanup); prints it.
ns_attach() {
	local dev
	dev=$(losetup -f --show "$@")
	echo "$dev" >>"$BV_T/loops"
	echo "$dev"
}

# ns_kernel_dir <dir> [kernel]: <dir>/unikernel/kernel, the image's content.
ns_kernel_dir() {
	mkdir -p "$1/unikernel"
	cp "${2:-$TESTKERNEL}" "$1/unikernel/kernel"
}

# ns_rootfs_image [size]: the container's ext4 image (label $BV_LABEL) holding $BV_T/src
# (by default just unikernel/kernel = the test kernel). Sets ROOT_IMG.
ns_rootfs_image() {
	[ -d "$BV_T/src" ] || ns_kernel_dir "$BV_T/src"
	ROOT_IMG=$BV_T/rootfs.img
	ns_image "$ROOT_IMG" "$BV_LABEL" "$BV_T/src" "${1:-16M}"
}

# ns_view <dir> [img]: what a shim does for a view: a copy of the image (default ROOT_IMG,
# copied before the rootfs is mounted, like a view of a committed snapshot) on a read-only
# loop device, mounted read-only without journal replay (noload) at <dir>. Sets VIEW_DEV.
ns_view() {
	local img
	img="$BV_T/view-$(basename "$1").img"
	cp --reflink=auto "${2:-$ROOT_IMG}" "$img"
	VIEW_DEV=$(ns_attach -r "$img")
	mkdir -p "$1"
	ns_mount -o ro,noload "$VIEW_DEV" "$1"
}

# ns_block_bundle <bundle> [annotation overrides...]: a linux-on-qemu bundle with
# mountRootfs=true whose rootfs directory is the mountpoint of ROOT_IMG on a loop device
# (read-write, as a snapshotter mounts it). Sets ROOT_DEV.
ns_block_bundle() {
	local bundle=$1
	shift
	"$MAKE_BUNDLE" "$bundle" "$TESTKERNEL" unikernelType=linux hypervisor=qemu mountRootfs=true "$@"
	rm -rf "$bundle/rootfs"
	mkdir "$bundle/rootfs"
	ROOT_DEV=$(ns_attach "$ROOT_IMG")
	ns_mount "$ROOT_DEV" "$bundle/rootfs"
}

# ns_padded_kernel <out> <MiB>: the test kernel followed by MiB of real data (not a hole:
# a sparse-aware copy would cost no space and the free-space checks would prove nothing).
# The multiboot loader only reads the ELF segments, so it still boots.
ns_padded_kernel() {
	cp "$TESTKERNEL" "$1"
	head -c "$(($2 * 1024 * 1024))" /dev/zero | tr '\0' U >>"$1"
}

# ns_mount_state <path>: "<source> <options>" of the mount at path, or "" when none.
ns_mount_state() { findmnt -n -o SOURCE,OPTIONS --mountpoint "$1" 2>/dev/null || true; }

# ns_avail_kib <path>: free space of the filesystem holding path, in KiB.
ns_avail_kib() { df -k --output=avail "$1" | tail -n1 | tr -d ' '; }
