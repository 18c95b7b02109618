# A private containerd 1.6 for e2e tests, with the blocksnap proxy snapshotter
# (tests/fixtures/blocksnap) plugged in. Never the machine's containerd: own root, state,
# gRPC and ttrpc sockets, all under one directory named per run.
#
# Use from a bats file (after e2e_helpers, whose e2e_setup_file sets E2E_T, E2E_SFX, URUNC,
# TESTKERNEL, FAKEVMM):
#
#   load e2e_helpers
#   load containerd_private
#   setup_file()    { e2e_setup_file || return 0; cpriv_need || return 0; cpriv_start; }
#   teardown_file() { cpriv_stop; e2e_rm_tmp; }
#
# A plain bash script (bench/) can use it too: source both files, set URUNC_BUILD, call
# e2e_setup_file, then as above.
#
# Functions
#   cpriv_need                     e2e_need of what the rest needs (containerd, ctr, shim,
#                                  python3-grpcio...); skips the file (E2E_SKIP) when missing.
#   cpriv_start                    start blocksnap, then containerd; wait until both answer.
#                                  Sets and exports the CPRIV_* variables below. Returns 1
#                                  (with the daemons' last log lines) if either fails.
#   cpriv_ctr <args...>            ctr against the private containerd, namespace $CPRIV_NS,
#                                  under `timeout ${CTR_TIMEOUT:-60}`.
#   cpriv_import_unikernel_image [--snapshotter S] <ref> [key=value...]
#                                  build an OCI image (the test kernel, or $CPRIV_KERNEL, at
#                                  /unikernel/kernel, and urunc.json) and `ctr image import`
#                                  it, unpacked into S (default $CPRIV_SNAPSHOTTER). urunc.json
#                                  holds unikernelType=linux hypervisor=qemu
#                                  binary=/unikernel/kernel mountRootfs=true (a guest that
#                                  takes the block rootfs), each overridable by key=value
#                                  (key without the com.urunc.unikernel. prefix; an empty
#                                  value drops the key). Cmd is ["hello", "image"] unless
#                                  $CPRIV_IMAGE_CONFIG gives the image config's "config" JSON.
#   cpriv_run [--flag[=v]...] <id> [args...]
#                                  `ctr run` of $CPRIV_IMAGE through io.containerd.runc.v2
#                                  with ${CPRIV_RUNC_BINARY:-$URUNC} as its runc binary,
#                                  snapshotter $CPRIV_SNAPSHOTTER, --runc-root $CPRIV_RUNC_ROOT;
#                                  the id is recorded for cleanup. Per call, e.g.
#                                  `CPRIV_IMAGE=x CPRIV_SNAPSHOTTER=overlayfs cpriv_run ...`
#                                  runs another image, or on containerd's overlayfs.
#   cpriv_track_id <id>            record a container id created another way (cleanup
#                                  removes a killed shim's socket by it).
#   cpriv_restart_containerd       SIGTERM containerd (bounded wait), start it again on the
#                                  same root, state and sockets; wait until it answers.
#   cpriv_restart_blocksnap        the same for the snapshotter; waits until containerd
#                                  reaches it again (`ctr snapshots ls` succeeds).
#   cpriv_loops                    loop devices whose backing file is under $CPRIV_DIR
#                                  ("<dev> <backing file>" lines).
#   cpriv_mounts                   mounts of files or paths under $CPRIV_DIR, in every mount
#                                  namespace this run's containerd ever had, and the host's.
#   cpriv_stop                     teardown, safe to call twice and after a failed start:
#                                  stop containerd and blocksnap (by pid + start time), kill
#                                  what is left in containerd's own cgroup (shims, urunc)
#                                  and in the cgroups /$CPRIV_NS/* (VMMs), unmount what is under
#                                  $CPRIV_DIR, detach loop devices backed by files under it,
#                                  remove killed shims' sockets and $CPRIV_DIR itself.
#
# Variables (exported by cpriv_start)
#   CPRIV_DIR              everything: $E2E_T/cpriv
#   CPRIV_SOCK             containerd's gRPC socket ($CPRIV_DIR/containerd.sock)
#   CPRIV_TTRPC_SOCK       its ttrpc socket, "$CPRIV_SOCK.ttrpc" (set explicitly, and equal to
#                          containerd's default, so stripping ".ttrpc" gives the gRPC one)
#   CPRIV_NS               ctr namespace and cgroup parent: urunc-cpriv-$E2E_SFX
#   CPRIV_SNAPSHOTTER      the proxy plugin's name: blocksnap
#   CPRIV_BLOCKSNAP_ROOT   blocksnap's root: snapshots/<id> (one ext4 file each), scratch,
#                          metadata.json
#   CPRIV_BLOCKSNAP_SOCK   blocksnap's socket
#   CPRIV_LABEL            ext4 label of every blocksnap filesystem (bs + 8 hex digits): the
#                          test kernel prints `disk0: ext label=$CPRIV_LABEL`
#   CPRIV_RUNC_ROOT        --runc-root for ctr run (urunc's --root is <it>/<ns>)
#   CPRIV_PID, CPRIV_MNTNS containerd's pid and mount namespace (it runs in a private one
#                          where /dev/kvm is hidden, as every e2e daemon does); the
#                          namespace is for checks of what it holds, never for killing
#   CPRIV_CGROUP           the cgroup containerd runs in, with everything it forks
#   CPRIV_BLOCKSNAP_PID    the snapshotter's pid (it runs in the host's mount namespace: it
#                          only writes files)
# Inputs (optional, read by cpriv_start and the restarts)
#   CPRIV_ENV              extra "NAME=value" words for containerd's environment (the shim
#                          and the runc binary inherit it), e.g. "URUNC_CONFIG=/x/urunc.toml"
#   CPRIV_TOML_EXTRA       TOML appended to containerd's config (e.g. runtime options)
#   CPRIV_IMAGE            image for cpriv_run (default localhost/urunc-cpriv:$E2E_SFX)
#   CPRIV_KERNEL           kernel put in images (default $TESTKERNEL)
#   CPRIV_SCRATCH_SIZE     size of blocksnap's filesystems (default 64M; an image's layer
#                          must fit: e.g. 512M for a 256 MiB kernel)
#
# Logs: $CPRIV_DIR/containerd.log, $CPRIV_DIR/blocksnap.log.
# containerd's garbage collector runs after every deletion (deletion_threshold = 1), so a
# removed snapshot leaves blocksnap within seconds; wait for it with e2e_wait, bounded.
# containerd 1.6 puts shim sockets in /run/containerd/s whatever its config says; their
# names hash our socket path, so they cannot clash with the machine's; cpriv_stop removes
# those of shims that were killed, e2e_rm_tmp the directories if this run created them.

CPRIV_BLOCKSNAP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/blocksnap" && pwd)/blocksnap

cpriv_need() {
	e2e_need containerd ctr containerd-shim-runc-v2 losetup mkfs.ext4 blkid /usr/bin/python3 || return 1
	/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
		{ e2e_skip_file "python3-grpcio and python3-grpc-tools are not installed"; return 1; }
	[ -d /usr/share/gocode/src/github.com/containerd/containerd/api ] ||
		{ e2e_skip_file "golang-github-containerd-containerd-dev is not installed"; return 1; }
	[ -e /dev/loop-control ] || { e2e_skip_file "no loop device support"; return 1; }
}

cpriv_start() {
	CPRIV_DIR=$E2E_T/cpriv
	CPRIV_SOCK=$CPRIV_DIR/containerd.sock
	CPRIV_TTRPC_SOCK=$CPRIV_SOCK.ttrpc
	CPRIV_NS=urunc-cpriv-$E2E_SFX
	CPRIV_SNAPSHOTTER=blocksnap
	CPRIV_BLOCKSNAP_ROOT=$CPRIV_DIR/blocksnap
	CPRIV_BLOCKSNAP_SOCK=$CPRIV_DIR/blocksnap.sock
	CPRIV_LABEL=bs$E2E_SFX
	CPRIV_RUNC_ROOT=$CPRIV_DIR/runc
	CPRIV_IMAGE=${CPRIV_IMAGE:-localhost/urunc-cpriv:$E2E_SFX}
	export CPRIV_DIR CPRIV_SOCK CPRIV_TTRPC_SOCK CPRIV_NS CPRIV_SNAPSHOTTER CPRIV_BLOCKSNAP_ROOT \
		CPRIV_BLOCKSNAP_SOCK CPRIV_LABEL CPRIV_RUNC_ROOT CPRIV_IMAGE
	CPRIV_CGROUP=$(tl_daemon_cgroup "urunc-cpriv-daemons-$E2E_SFX") || return 1
	echo "$CPRIV_CGROUP" >"$E2E_T/cpriv.cgroup"
	export CPRIV_CGROUP
	mkdir -p "$CPRIV_DIR/fifo"
	: >>"$CPRIV_DIR/ids"
	: >>"$CPRIV_DIR/mntns"
	e2e_note_absent /run/containerd
	e2e_note_absent /run/containerd/s
	cat >"$CPRIV_DIR/config.toml" <<EOF
version = 2
root = "$CPRIV_DIR/root"
state = "$CPRIV_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CPRIV_SOCK"
[ttrpc]
  address = "$CPRIV_TTRPC_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CPRIV_DIR/opt"
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "$CPRIV_DIR/runc-v1"
# every deletion schedules a collection at once, so a removed snapshot leaves the backend
# within the test (by default only the first deletion after a quiet period does)
[plugins."io.containerd.gc.v1.scheduler"]
  deletion_threshold = 1
[proxy_plugins]
  [proxy_plugins.$CPRIV_SNAPSHOTTER]
    type = "snapshot"
    address = "$CPRIV_BLOCKSNAP_SOCK"
${CPRIV_TOML_EXTRA:-}
EOF
	cpriv_start_blocksnap || return 1
	cpriv_start_containerd
}

# Internal: start the snapshotter, wait for its socket (it removes a stale one first).
cpriv_start_blocksnap() {
	"$CPRIV_BLOCKSNAP" --root "$CPRIV_BLOCKSNAP_ROOT" --address "$CPRIV_BLOCKSNAP_SOCK" \
		--label "$CPRIV_LABEL" --size "${CPRIV_SCRATCH_SIZE:-64M}" \
		</dev/null >>"$CPRIV_DIR/blocksnap.log" 2>&1 3>&- &
	CPRIV_BLOCKSNAP_PID=$!
	tl_record_pid "$CPRIV_BLOCKSNAP_PID" "$CPRIV_DIR/blocksnap.pid"
	export CPRIV_BLOCKSNAP_PID
	e2e_wait_daemon "$CPRIV_BLOCKSNAP_PID" 30 cpriv_blocksnap_ready ||
		{ tail -n 20 "$CPRIV_DIR/blocksnap.log"; return 1; }
}

cpriv_blocksnap_ready() { grep -qF "blocksnap: serving" "$CPRIV_DIR/blocksnap.log" && [ -S "$CPRIV_BLOCKSNAP_SOCK" ]; }

# Internal: start containerd in its cgroup and a new private mount namespace.
cpriv_start_containerd() {
	local env=()
	read -ra env <<<"${CPRIV_ENV:-}"
	e2e_start_daemon "$CPRIV_DIR/containerd.pid" "$CPRIV_CGROUP" \
		env "${env[@]}" "${E2E_MNTNS[@]}" containerd --config "$CPRIV_DIR/config.toml" \
		>>"$CPRIV_DIR/containerd.log" 2>&1
	read -r CPRIV_PID _ <"$CPRIV_DIR/containerd.pid"
	if ! e2e_wait_daemon "$CPRIV_PID" 30 cpriv_ready; then
		tail -n 20 "$CPRIV_DIR/containerd.log"
		return 1
	fi
	CPRIV_MNTNS=$(e2e_mntns "$CPRIV_PID")
	echo "$CPRIV_MNTNS" >>"$CPRIV_DIR/mntns"
	# Held open while the caller lives: a namespace's inode number is handed to the next new
	# namespace as soon as the last user leaves, and checks still compare against this one
	# (e.g. after containerd was restarted by another test of the file).
	e2e_pin_mntns "$CPRIV_PID"
	export CPRIV_PID CPRIV_MNTNS
	# the namespace must be containerd's own, or its mounts would be the host's
	[ "$CPRIV_MNTNS" != "$(e2e_mntns $$)" ] || { echo "containerd runs in the host's mount namespace"; return 1; }
}

cpriv_ready() { [ -S "$CPRIV_SOCK" ] && ctr -a "$CPRIV_SOCK" version >/dev/null 2>&1; }

cpriv_ctr() { timeout -k 5 "${CTR_TIMEOUT:-60}" ctr -a "$CPRIV_SOCK" -n "$CPRIV_NS" "$@"; }

cpriv_track_id() { echo "$1" >>"$CPRIV_DIR/ids"; }

cpriv_import_unikernel_image() {
	local snapshotter=$CPRIV_SNAPSHOTTER ref kv k v work json
	local cfg='{"Cmd": ["hello", "image"], "Env": ["PATH=/bin"]}'
	if [ "$1" = --snapshotter ]; then
		snapshotter=$2
		shift 2
	fi
	ref=$1
	shift
	work=$(mktemp -d "$E2E_T/cpriv-image.XXXXXX")
	mkdir -p "$work/rootfs/unikernel"
	cp "${CPRIV_KERNEL:-$TESTKERNEL}" "$work/rootfs/unikernel/kernel"
	json='{"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel", "mountRootfs": "true"}'
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		json=$(jq -c --arg k "$k" --arg v "$v" 'if $v == "" then del(.[$k]) else .[$k] = $v end' <<<"$json")
	done
	# image builders (bunny, pun) write base64 values under the full annotation names
	jq -c 'with_entries(.key = "com.urunc.unikernel." + .key | .value |= @base64)' \
		<<<"$json" >"$work/rootfs/urunc.json"
	e2e_oci_image "$work/rootfs" "$work/image.tar" "$ref" "${CPRIV_IMAGE_CONFIG:-$cfg}"
	cpriv_ctr images import --snapshotter "$snapshotter" "$work/image.tar" >/dev/null ||
		{ echo "ctr images import of $ref into $snapshotter failed"; rm -rf "$work"; return 1; }
	rm -rf "$work"
}

cpriv_run() {
	local flags=()
	while [[ $1 == -* ]]; do
		flags+=("$1")
		shift
	done
	cpriv_track_id "$1"
	cpriv_ctr run "${flags[@]}" --snapshotter "$CPRIV_SNAPSHOTTER" \
		--runtime io.containerd.runc.v2 --runc-binary "${CPRIV_RUNC_BINARY:-$URUNC}" \
		--runc-root "$CPRIV_RUNC_ROOT" --fifo-dir "$CPRIV_DIR/fifo" "$CPRIV_IMAGE" "$@"
}

cpriv_restart_containerd() {
	tl_stop_recorded "$CPRIV_DIR/containerd.pid" 10 || { echo "containerd (pid $CPRIV_PID) did not stop"; return 1; }
	cpriv_start_containerd
}

cpriv_restart_blocksnap() {
	tl_stop_recorded "$CPRIV_DIR/blocksnap.pid" 10 || { echo "blocksnap (pid $CPRIV_BLOCKSNAP_PID) did not stop"; return 1; }
	cpriv_start_blocksnap || return 1
	# containerd's connection to the plugin redials with a backoff: poll, bounded
	e2e_wait 30 cpriv_snapshotter_answers || { echo "containerd does not reach blocksnap again"; return 1; }
}

cpriv_snapshotter_answers() { cpriv_ctr snapshots --snapshotter "$CPRIV_SNAPSHOTTER" ls >/dev/null 2>&1; }

cpriv_loops() {
	[ -n "${CPRIV_DIR:-}" ] || return 0
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v d="$CPRIV_DIR/" 'index($2, d) == 1'
}

cpriv_mounts() {
	local ns pid
	[ -n "${CPRIV_DIR:-}" ] || return 0
	findmnt -rn -o TARGET,SOURCE | grep -F "$CPRIV_DIR/" || true
	while read -r ns; do
		pid=$(cpriv_pids_in_mntns "$ns" | head -n1)
		[ -n "$pid" ] || continue
		nsenter -t "$pid" -m findmnt -rn -o TARGET,SOURCE | grep -F "$CPRIV_DIR/" | sed "s/^/$ns /" || true
	done <"$CPRIV_DIR/mntns"
}

# cpriv_pids_in_mntns <ns>: pids of the processes in that mount namespace ("mnt:[N]"); for
# checks of what the namespace holds (teardown kills by cgroup).
# One find for all of /proc: a readlink per process costs seconds on a loaded machine.
cpriv_pids_in_mntns() {
	local pat
	[ -n "$1" ] || return 0
	pat=${1//[/\\[}
	pat=${pat//]/\\]}
	find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$pat" 2>/dev/null | cut -d/ -f3
}

cpriv_mntns_empty() { [ -z "$(cpriv_pids_in_mntns "$1")" ]; }

cpriv_stop() {
	local id m dev
	[ -n "${CPRIV_DIR:-}" ] && [ -d "$CPRIV_DIR" ] || return 0
	# containerd, then what is left in its cgroup: shims, urunc calls (their mounts go with
	# their mount namespaces)
	e2e_stop_daemon "$CPRIV_DIR/containerd.pid" 10 "$(cat "$E2E_T/cpriv.cgroup" 2>/dev/null)"
	e2e_kill_cgroups "$CPRIV_NS" # VMMs
	tl_stop_recorded "$CPRIV_DIR/blocksnap.pid" 10 || true
	# sockets of shims that were killed: /run/containerd/s/sha256(<address>/<ns>/<id>)
	while read -r id; do
		[ -n "$id" ] && rm -f "/run/containerd/s/$(printf '%s' "$CPRIV_SOCK/$CPRIV_NS/$id" | sha256sum | cut -d' ' -f1)"
	done <"$CPRIV_DIR/ids"
	findmnt -rn -o TARGET | grep -F "$CPRIV_DIR/" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	# autoclear devices go with their last mount; the others are detached here
	cpriv_loops | while read -r dev _; do
		losetup -d "$dev" 2>/dev/null || true
	done
	rm -rf --one-file-system "$CPRIV_DIR"
}
