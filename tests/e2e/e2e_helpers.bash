# Helpers for urunc.bats, containerd.bats and docker.bats: real QEMU (TCG) behind urunc,
# containerd 1.6 (ctr) and dockerd 20.10.
#
# Why /dev/kvm is hidden: on the project's machines /dev/kvm exists but QEMU cannot use it
# (`-cpu host` fails), so everything that starts QEMU (urunc, and containerd or dockerd
# which call urunc) runs in a private mount namespace where /dev/kvm is /dev/null; urunc
# then falls back to TCG. Mounts made in that namespace (snapshots, bundle rootfs) die
# with its last process.
#
# Everything a file creates lives under $E2E_T (unique per run) and is named with
# $E2E_SFX, so teardown can find and remove exactly what this run made: daemons by pid +
# start time, their helpers (shims, urunc calls) by the cgroup the daemon was started in,
# containers by cgroup name (tests/lib/testlib.bash).

# A test that hangs fails after this long (QEMU under TCG is slow; scripts/test.sh sets it
# too); teardown still runs.
: "${BATS_TEST_TIMEOUT:=600}"

# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"

# The command prefix for a daemon in its own mount namespace (its mounts die with it; the
# tests enter it with nsenter). /dev/kvm stays as the host has it: urunc probes it.
E2E_MNTNS=(unshare -m --propagation private)

# Checks shared by every e2e file; sets URUNC, the fixture paths, E2E_T and E2E_SFX.
# Use as `e2e_setup_file || return 0` in setup_file, and e2e_setup in setup: bats 1.8
# reports a `skip` in setup_file as a failure, so a missing prerequisite is remembered in
# E2E_SKIP (e2e_skip_file) and every test skips with it.
e2e_setup_file() {
	[ "$(id -u)" = 0 ] || { e2e_skip_file "needs root (namespaces, mounts, cgroups)"; return 1; }
	[ -n "${URUNC_BUILD:-}" ] || { e2e_skip_file "URUNC_BUILD is not set (run through scripts/test.sh)"; return 1; }
	[ -f "$URUNC_BUILD/tests/fixtures/paths.env" ] || { e2e_skip_file "fixtures not built"; return 1; }
	# shellcheck disable=SC1091
	. "$URUNC_BUILD/tests/fixtures/paths.env"
	URUNC=$URUNC_BUILD/src/cli/urunc
	[ -x "$URUNC" ] || { e2e_skip_file "urunc is not built ($URUNC)"; return 1; }
	e2e_need unshare nsenter timeout jq qemu-system-x86_64 perl sha256sum base64 tar gzip findmnt || return 1
	E2E_T=$(mktemp -d /tmp/urunc-e2e.XXXXXX)
	E2E_SFX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	export URUNC TESTKERNEL FAKEVMM EXAMPLE_BUNDLE MAKE_BUNDLE E2E_T E2E_SFX
}

# e2e_skip_file <reason>: every test of this file will skip with reason.
e2e_skip_file() {
	E2E_SKIP=$1
	export E2E_SKIP
}

# e2e_need <command...>: all are installed, else e2e_skip_file and return 1.
e2e_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { e2e_skip_file "\`$t\` is not installed"; return 1; }
	done
}

# e2e_setup: from each test's setup; skips when the file's prerequisites are missing.
e2e_setup() {
	[ -z "${E2E_SKIP:-}" ] || skip "$E2E_SKIP"
}

# e2e_wait <seconds> <command...>: run command every 0.1 s until it succeeds.
# Returns 1 when the deadline passes first.
e2e_wait() { tl_wait "$@"; }

# e2e_wait_daemon <pid> <seconds> <ready command...>: wait until the daemon answers; fail
# at once if it exits (a bad configuration), or after the deadline.
e2e_wait_daemon() {
	local pid=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		kill -0 "$pid" 2>/dev/null || { echo "the daemon (pid $pid) exited"; return 1; }
		((SECONDS < deadline)) || { echo "the daemon (pid $pid) did not answer in time"; return 1; }
		sleep 0.1
	done
}

# e2e_file_has <file> <fixed string>: a line of file contains the string.
e2e_file_has() { [ -f "$1" ] && grep -qF -- "$2" "$1"; }

# e2e_assert_line_has <string>: some line of $output (bats `run`) contains it.
e2e_assert_line_has() {
	grep -qF -- "$1" <<<"$output" && return 0
	printf 'expected a line containing `%s` in:\n%s\n' "$1" "$output"
	# With `run --separate-stderr`, what went to stderr tells which side lost the rest.
	[ -z "${stderr-}" ] || printf 'its stderr:\n%s\n' "$stderr"
	# Through a private containerd: its log (the shim's lines too) says whether the output was
	# lost on the way (CI saw a guest's output lost whole or after its first byte, status 0).
	if [ -n "${CPRIV_DIR-}" ] && [ -f "$CPRIV_DIR/containerd.log" ]; then
		echo "containerd's log, last lines:"
		tail -n 40 "$CPRIV_DIR/containerd.log"
	fi
	return 1
}

# e2e_assert_guest_output <args text>: in $output, the test kernel booted, its command line
# ends with the application arguments (`... -- <args>`), and it exited.
e2e_assert_guest_output() {
	local l found=
	e2e_assert_line_has "URUNC-TESTKERNEL: booted"
	while IFS= read -r l; do
		[[ $l == cmdline:*" -- $1" ]] && found=1
	done <<<"$output"
	[ -n "$found" ] || { printf 'no `cmdline: ... -- %s` line in:\n%s\n' "$1" "$output"; return 1; }
	e2e_assert_line_has "URUNC-TESTKERNEL: exiting"
}

# e2e_doc_block <name>: the fenced code block that follows the line `<!-- e2e:<name> -->` in
# docs/integrations.md, so the tests use the configuration the documentation shows.
e2e_doc_block() {
	local doc=$BATS_TEST_DIRNAME/../../docs/integrations.md block
	block=$(awk -v m="<!-- e2e:$1 -->" '
		$0 == m { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2 { print }' "$doc")
	[ -n "$block" ] || { echo "no \`e2e:$1\` block in $doc" >&2; return 1; }
	printf '%s\n' "$block"
}

# --- images ---------------------------------------------------------------------------------

# e2e_image_rootfs <dir> [binary|-]: what a urunc image holds: unikernel/kernel (the test
# kernel) and urunc.json with base64 values, as image builders (bunny, pun) write it; the
# `binary` entry is /unikernel/kernel unless given; `-`: no urunc.json at all.
e2e_image_rootfs() {
	local dir=$1
	mkdir -p "$dir/unikernel"
	cp "$TESTKERNEL" "$dir/unikernel/kernel"
	[ "${2:-}" != - ] || return 0
	jq -cn --arg t "$(printf unikraft | base64 -w0)" --arg h "$(printf qemu | base64 -w0)" \
		--arg b "$(printf %s "${2:-/unikernel/kernel}" | base64 -w0)" \
		'{"com.urunc.unikernel.unikernelType": $t, "com.urunc.unikernel.hypervisor": $h,
		  "com.urunc.unikernel.binary": $b}' >"$dir/urunc.json"
}

# e2e_blob <layout> <file>: move file into <layout>/blobs/sha256/; prints "<digest> <size>".
e2e_blob() {
	local hex size
	hex=$(sha256sum <"$2" | cut -d' ' -f1)
	size=$(stat -c %s "$2")
	mkdir -p "$1/blobs/sha256"
	mv "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

# e2e_oci_image <rootfs dir> <out.tar> <name> <image config JSON>: an OCI image layout
# tarball made by hand (no registry, no builder): one gzip layer, the image config with
# the given "config" object (Cmd, Env...), a manifest and index.json naming the image.
e2e_oci_image() {
	local rootfs=$1 out=$2 name=$3 cfg=$4 work layout diff_id layer config manifest
	work=$(mktemp -d "$E2E_T/oci.XXXXXX")
	layout=$work/layout
	tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 -cf "$work/layer.tar" .
	diff_id=sha256:$(sha256sum <"$work/layer.tar" | cut -d' ' -f1)
	gzip -n "$work/layer.tar"
	layer=$(e2e_blob "$layout" "$work/layer.tar.gz")
	jq -cn --arg d "$diff_id" --argjson c "$cfg" \
		'{architecture: "amd64", os: "linux", config: $c,
		  rootfs: {type: "layers", diff_ids: [$d]}}' >"$work/config.json"
	config=$(e2e_blob "$layout" "$work/config.json")
	jq -cn --arg cd "${config% *}" --argjson cs "${config#* }" \
		--arg ld "${layer% *}" --argjson ls "${layer#* }" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
		  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' \
		>"$work/manifest.json"
	manifest=$(e2e_blob "$layout" "$work/manifest.json")
	jq -cn --arg md "${manifest% *}" --argjson ms "${manifest#* }" --arg n "$name" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		  digest: $md, size: $ms, platform: {architecture: "amd64", os: "linux"},
		  annotations: {"io.containerd.image.name": $n,
		                "org.opencontainers.image.ref.name": ($n | sub(".*:"; ""))}}]}' \
		>"$layout/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
	tar -C "$layout" -cf "$out" oci-layout index.json blobs
	rm -rf "$work"
}

# --- daemons and cleanup --------------------------------------------------------------------

# e2e_mntns <pid>: the mount namespace of pid ("mnt:[N]"), empty if it is gone. For checks
# of what a daemon's namespace holds, never to find processes to kill.
e2e_mntns() { readlink "/proc/$1/ns/mnt" 2>/dev/null || true; }

# e2e_pin_mntns <pid>: hold the daemon's mount namespace open (an fd in the bats file's
# process) until the file ends, so the checks that list its processes keep meaning it.
e2e_pin_mntns() { exec {E2E_MNTNS_PIN}<"/proc/$1/ns/mnt"; }

# e2e_pids_in_mntns <ns>: pids of the processes in that mount namespace (checks only).
e2e_pids_in_mntns() {
	local p
	[ -n "$1" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

# e2e_start_daemon <pid file> <cgroup dir> <command...>: start a daemon in the background in
# the cgroup (it and whatever it forks: containerd, shims, urunc calls), stdin from
# /dev/null; its "pid starttime" goes to the pid file. Output goes where the caller's goes.
e2e_start_daemon() {
	local pidfile=$1 cg=$2
	shift 2
	"${TL_IN_CGROUP[@]}" "$cg" "$@" </dev/null 3>&- &
	tl_record_pid $! "$pidfile"
}

# e2e_stop_daemon <pid file> <seconds> [cgroup dir]: SIGTERM the recorded daemon (pid and
# start time must still match), SIGKILL after the delay; then kill what is left in its
# cgroup and remove the cgroup.
e2e_stop_daemon() {
	tl_stop_recorded "$1" "$2" || true
	[ -z "${3:-}" ] || tl_kill_cgroup "$3"
}

# e2e_stop_pid <pid file> <seconds>: tl_stop_recorded, for daemons started by
# e2e_start_daemon (or recorded with tl_record_pid). Given a bare pid instead of a file (a
# child of this very shell, not yet reaped, so its pid cannot have been reused): SIGTERM,
# wait, SIGKILL.
e2e_stop_pid() {
	local pid=$1
	if [ -f "$pid" ]; then
		tl_stop_recorded "$@"
		return
	fi
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	e2e_wait "$2" e2e_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	e2e_wait 5 e2e_gone "$pid" || true
}

# e2e_gone <pid>: the process no longer exists (a zombie still counts as existing).
e2e_gone() { ! kill -0 "$1" 2>/dev/null; }

# e2e_cgroup_dirs <name>: the cgroup directories called <name> in any hierarchy (the
# per-run parent of every container this run started).
e2e_cgroup_dirs() {
	tl_cgroup_find -mindepth 1 -type d -name "$1" 2>/dev/null || true
}

# e2e_kill_cgroups <name>: SIGKILL the processes (VMMs that outlived their shim) in the
# cgroups called <name>, then remove those cgroups, deepest first.
e2e_kill_cgroups() { tl_rm_cgroups_named "$1"; }

# e2e_rmdir <dir>: remove an (empty) directory; true when it is gone.
e2e_rmdir() { tl_rmdir "$1"; }

# e2e_note_absent <path>: a host-wide path the daemons create (e.g. /run/containerd/s):
# if this run is the first to need it absent, e2e_rm_tmp removes it again once no other
# test run uses it (tests/lib: tl_hostpath_use).
e2e_note_absent() { tl_hostpath_use "$1" "$E2E_T"; }

# e2e_rm_tmp: unmount whatever is still mounted under $E2E_T (deepest first), leave the
# noted host-wide paths, remove $E2E_T without crossing into another file system.
e2e_rm_tmp() {
	[ -n "${E2E_T:-}" ] && [ -d "$E2E_T" ] || return 0
	tl_umount_under "$E2E_T"
	tl_hostpath_release "$E2E_T"
	rm -rf --one-file-system "$E2E_T"
}
