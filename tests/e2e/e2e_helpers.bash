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
# $E2E_SFX, so teardown can find and remove exactly what this run made: daemons by pid,
# their helpers by mount namespace, containers by cgroup name.

# A test that hangs fails after this long (QEMU under TCG is slow; scripts/test.sh sets it
# too); teardown still runs.
: "${BATS_TEST_TIMEOUT:=600}"

# shellcheck disable=SC2016  # the sh -c script is single-quoted on purpose
E2E_HIDEKVM=(unshare -m --propagation private sh -c
	'if [ -e /dev/kvm ]; then mount --bind /dev/null /dev/kvm || exit 125; fi; exec "$@"'
	e2e-hidekvm)

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
e2e_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

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

# e2e_mntns <pid>: the mount namespace of pid ("mnt:[N]"), empty if it is gone.
e2e_mntns() { readlink "/proc/$1/ns/mnt" 2>/dev/null || true; }

# e2e_pin_mntns <pid>: hold the daemon's mount namespace open (an fd in the bats file's
# process) until the file ends, so its inode cannot be reused by someone else's namespace
# while teardown still kills by it. Call from setup_file right after recording the ns.
e2e_pin_mntns() { exec {E2E_MNTNS_PIN}<"/proc/$1/ns/mnt"; }

# e2e_pids_in_mntns <ns>: pids of the processes in that mount namespace.
e2e_pids_in_mntns() {
	local p
	[ -n "$1" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

# e2e_stop_pid <pid> <seconds>: SIGTERM, wait (bounded), then SIGKILL. Only for pids
# this run started (the daemons; read from our own pid files).
e2e_stop_pid() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	e2e_wait "$2" e2e_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	e2e_wait 5 e2e_gone "$pid" || true
}

# e2e_gone <pid>: the process no longer exists (a zombie still counts as existing).
e2e_gone() { ! kill -0 "$1" 2>/dev/null; }

# e2e_kill_mntns <ns>: SIGKILL every process left in the daemon's namespace (shims,
# urunc calls). The namespace was created by this run, so all of them are ours.
e2e_kill_mntns() {
	local pid
	[ -n "$1" ] && [ "$1" != "$(e2e_mntns $$)" ] || return 0
	for pid in $(e2e_pids_in_mntns "$1"); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	e2e_wait 5 e2e_mntns_empty "$1" || true
}

# e2e_mntns_empty <ns>: no process is left in that mount namespace.
e2e_mntns_empty() { [ -z "$(e2e_pids_in_mntns "$1")" ]; }

# e2e_cgroup_dirs <name>: the cgroup directories called <name> right under each
# hierarchy root (the per-run parent of every container this run started).
e2e_cgroup_dirs() {
	find /sys/fs/cgroup -mindepth 1 -type d -name "$1" 2>/dev/null || true
}

# e2e_kill_cgroups <name>: SIGKILL the processes (VMMs that outlived their shim) in the
# cgroups under <name>, then remove those cgroups, deepest first; bounded retries since a
# killed process leaves its cgroup only once reaped.
e2e_kill_cgroups() {
	local top dir pid
	[ -n "$1" ] || return 0
	for top in $(e2e_cgroup_dirs "$1"); do
		while read -r dir; do
			while read -r pid; do
				kill -KILL "$pid" 2>/dev/null || true
			done <"$dir/cgroup.procs"
		done < <(find "$top" -type d 2>/dev/null)
		while read -r dir; do
			e2e_wait 5 e2e_rmdir "$dir" || true
		done < <(find "$top" -depth -type d 2>/dev/null)
	done
}

# e2e_rmdir <dir>: remove an (empty) directory; true when it is gone.
e2e_rmdir() { rmdir "$1" 2>/dev/null || [ ! -d "$1" ]; }

# e2e_note_absent <path>: remember that path did not exist before this run (the daemons
# create a few host-wide paths, e.g. /run/containerd/s); e2e_rm_tmp removes it again:
# a directory only if empty (someone else may have started using it), a file always.
e2e_note_absent() {
	[ -e "$1" ] || echo "$1" >>"$E2E_T/absent"
}

# e2e_rm_tmp: unmount whatever is still mounted under $E2E_T (deepest first), remove it
# without crossing into another file system, then the noted host-wide paths.
e2e_rm_tmp() {
	local m p noted
	[ -n "${E2E_T:-}" ] && [ -d "$E2E_T" ] || return 0
	noted=$(cat "$E2E_T/absent" 2>/dev/null || true)
	findmnt -rn -o TARGET | grep -F "$E2E_T/" | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$E2E_T"
	# deepest first, so a parent is empty by the time it is tried
	sort -r <<<"$noted" | while read -r p; do
		[ -n "$p" ] || continue
		if [ -d "$p" ]; then rmdir "$p" 2>/dev/null || true; else rm -f "$p"; fi
	done
}
