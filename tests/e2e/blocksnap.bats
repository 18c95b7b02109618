#!/usr/bin/env bats
# The blocksnap test fixture (tests/fixtures/blocksnap: a proxy snapshotter with containerd
# blockfile's semantics) behind a private containerd 1.6 (containerd_private.bash): import,
# a real QEMU guest (TCG) booted from the container's block snapshot through urunc, View,
# Prepare/Commit, Remove, restarts, and a teardown that leaves no loop device or mount.

bats_require_minimum_version 1.5.0
load e2e_helpers
load containerd_private

setup_file() {
	e2e_setup_file || return 0
	cpriv_need || return 0
	e2e_need debugfs || return 0
	# containerd passes URUNC_CONFIG to the shim and urunc: the teardown test swaps in the
	# fake VMM through it, the others leave the file absent (urunc's defaults).
	export CPRIV_ENV="URUNC_CONFIG=$E2E_T/urunc.toml"
	cpriv_start || return 1
	cpriv_import_unikernel_image "$CPRIV_IMAGE"
}

teardown_file() {
	[ -n "${E2E_T:-}" ] || return 0
	cpriv_stop
	e2e_rm_tmp
}

setup() { e2e_setup; }

# Snapshots a test made by hand (keys recorded by `key`) go even when it fails, so the
# counts the next tests check start from the image's layer alone.
teardown() {
	local k
	[ -n "${E2E_T:-}" ] && [ -f "$E2E_T/keys" ] || return 0
	tac "$E2E_T/keys" | while read -r k; do bs rm "$k" >/dev/null 2>&1 || true; done
	rm -f "$E2E_T/keys"
}

# key <name>: a snapshot key unique per run, removed by teardown.
key() {
	echo "$1-$E2E_SFX" >>"$E2E_T/keys"
	echo "$1-$E2E_SFX"
}

# bs <ctr snapshots args...>: ctr snapshots on the blocksnap snapshotter.
bs() { cpriv_ctr snapshots --snapshotter "$CPRIV_SNAPSHOTTER" "$@"; }

# meta <jq filter>: blocksnap's own record of its snapshots.
meta() { jq -r "$1" "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; }

# The backend name of the image's committed layer (containerd namespaces the keys).
layer_key() { meta '.snapshots | to_entries[] | select(.value.kind == "committed") | .key' | head -n1; }
layer_file() { echo "$CPRIV_BLOCKSNAP_ROOT/snapshots/$(meta ".snapshots[\"$(layer_key)\"].id")"; }
# The image's layer as containerd names it (the chain ID).
chain_id() { bs ls | awk '$NF == "Committed" { print $1 }' | head -n1; }

nfiles() { find "$CPRIV_BLOCKSNAP_ROOT/snapshots" -type f | wc -l; }
nsnaps() { meta '.snapshots | length'; }
meta_forgot() { [ "$(meta ".snapshots | to_entries | map(select(.key | endswith(\"/$1\"))) | length")" = 0 ]; }

# nothing_left: no loop device backed by a file of this run, no mount of its files anywhere.
nothing_left() {
	local loops mounts
	# an autoclear loop device goes when its last user does, not necessarily at once
	e2e_wait 10 no_loops || true
	loops=$(cpriv_loops)
	mounts=$(cpriv_mounts)
	[ -z "$loops$mounts" ] || { printf 'left: loops:\n%s\nmounts:\n%s\n' "$loops" "$mounts"; return 1; }
}
no_loops() { [ -z "$(cpriv_loops)" ]; }

@test "image import into blocksnap: one committed ext4 file per layer, holding the layer" {
	local file
	run bs ls
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(chain_id)" != "" ] || { echo "no committed snapshot in: $output"; false; }
	[ "$(nsnaps)" = 1 ] || { cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	[ "$(nfiles)" = 1 ]
	file=$(layer_file)
	[ -f "$file" ]
	# an ext4 filesystem made from blocksnap's scratch image ...
	[ "$(blkid -o value -s TYPE "$file")" = ext4 ] || { blkid "$file"; false; }
	[ "$(blkid -o value -s LABEL "$file")" = "$CPRIV_LABEL" ]
	# ... that the unpack wrote the layer into (through containerd's loop mount)
	debugfs -R "dump /unikernel/kernel $E2E_T/kernel.out" "$file"
	cmp "$TESTKERNEL" "$E2E_T/kernel.out"
	debugfs -R "cat /urunc.json" "$file" | grep -qF '"com.urunc.unikernel.mountRootfs"'
	# sparse: the copies keep the scratch image's holes
	[ "$(($(stat -c %b "$file") * 512))" -lt "$(stat -c %s "$file")" ]
	nothing_left
}

@test "ctr run on blocksnap through urunc: the guest gets the container's block device" {
	local id=run1-$E2E_SFX
	run --separate-stderr cpriv_run --rm "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_line_has "URUNC-TESTKERNEL: booted"
	e2e_assert_line_has "disk0: ext label=$CPRIV_LABEL"
	e2e_assert_line_has "URUNC-TESTKERNEL: exiting"
	# the container's own snapshot (key = its id) was an active copy, and is gone again:
	# removed from containerd at once, from blocksnap by containerd's garbage collector
	grep -qF "Prepare \`$CPRIV_NS/" "$CPRIV_DIR/blocksnap.log"
	grep -qF "/$id\`: ok" "$CPRIV_DIR/blocksnap.log"
	e2e_wait 20 meta_forgot "$id" || { cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	[ "$(nfiles)" = 1 ]
	nothing_left
}

@test "View of the committed layer: the layer's own file, loop,ro, no copy; Remove drops only the view; Cleanup drops strays" {
	local key parent file
	key=$(key view)
	parent=$(chain_id)
	file=$(layer_file)
	run bs view "$key" "$parent"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run bs mounts /mnt/x "$key"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = "mount -t ext4 $file /mnt/x -o loop,ro" ] || { echo "$output"; false; }
	[ "$(nfiles)" = 1 ]
	run bs info "$key"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r .Kind <<<"$output")" = View ] || { echo "$output"; false; }
	[ "$(jq -r .Parent <<<"$output")" = "$parent" ] || { echo "$output"; false; }
	# the mount works as given (in a throwaway mount namespace) and shows the image
	run unshare -m --propagation private sh -c \
		'mkdir -p "$1" && mount -t ext4 -o loop,ro "$2" "$1" && cmp "$3" "$1/unikernel/kernel" && echo same' \
		sh "$E2E_T/viewmnt" "$file" "$TESTKERNEL"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = same ]

	# what a crash between writing a file and recording it leaves: a file no snapshot names
	touch "$CPRIV_BLOCKSNAP_ROOT/snapshots/999999"
	run bs rm "$key"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run bs ls
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output != *"$key"* ]] || { echo "$output"; false; }
	e2e_wait 20 meta_forgot "$key" || { cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	[ -f "$file" ] # the layer keeps its file
	# the collection that removed the view ends with Cleanup, which deletes the stray file
	e2e_wait 10 test ! -e "$CPRIV_BLOCKSNAP_ROOT/snapshots/999999" || { cat "$CPRIV_DIR/blocksnap.log"; false; }
	[ "$(nsnaps)" = 1 ]
	nothing_left
}

@test "Prepare copies the parent's file sparsely, mounts loop,rw; Commit keeps the file; Remove deletes it" {
	local act comm parent pfile afile id
	act=$(key act)
	comm=$(key comm)
	parent=$(chain_id)
	pfile=$(layer_file)
	run bs prepare "$act" "$parent"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	id=$(meta ".snapshots | to_entries[] | select(.key | endswith(\"/$act\")) | .value.id")
	afile=$CPRIV_BLOCKSNAP_ROOT/snapshots/$id
	[ "$afile" != "$pfile" ]
	run bs mounts /mnt/x "$act"
	[ "$output" = "mount -t ext4 $afile /mnt/x -o loop,rw" ] || { echo "$output"; false; }
	cmp "$pfile" "$afile"
	# no more space than the parent's data (a dense copy would take the whole size)
	[ "$(stat -c %b "$afile")" -le $(($(stat -c %b "$pfile") + 64)) ] ||
		{ stat -c '%n %b %s' "$pfile" "$afile"; false; }

	# labels (Update: containerd passes on only the containerd.io/snapshot/ ones) and Usage
	run bs label "$act" containerd.io/snapshot/blocksnap-test=yes
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(meta ".snapshots | to_entries[] | select(.key | endswith(\"/$act\")) | .value.labels[\"containerd.io/snapshot/blocksnap-test\"]")" = yes ] ||
		{ cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	run bs usage "$act"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ ${lines[1]} == "$act "* ]] || { echo "$output"; false; }

	run bs commit "$comm" "$act"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(meta ".snapshots | to_entries[] | select(.key | endswith(\"/$comm\")) | .value.kind")" = committed ]
	[ "$(meta ".snapshots | to_entries[] | select(.key | endswith(\"/$comm\")) | .value.id")" = "$id" ]
	[ -f "$afile" ]
	run bs rm "$comm"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	e2e_wait 20 meta_forgot "$comm" || { cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	[ ! -e "$afile" ]
	[ -f "$pfile" ]
	nothing_left
}

@test "restart of blocksnap and of containerd: the snapshots stay, a container runs again" {
	local before id=run2-$E2E_SFX
	before=$(bs ls)
	cpriv_restart_blocksnap
	# SIGTERM stopped it cleanly (the line follows the server's shutdown)
	grep -qxF "blocksnap: stopped" "$CPRIV_DIR/blocksnap.log" || { cat "$CPRIV_DIR/blocksnap.log"; false; }
	[ "$(bs ls)" = "$before" ]
	cpriv_restart_containerd
	[ "$(bs ls)" = "$before" ]
	run --separate-stderr cpriv_run --rm "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_line_has "disk0: ext label=$CPRIV_LABEL"
	e2e_assert_line_has "URUNC-TESTKERNEL: exiting"
	e2e_wait 20 meta_forgot "$id" || { cat "$CPRIV_BLOCKSNAP_ROOT/metadata.json"; false; }
	nothing_left
}

@test "cpriv_stop with a container still running: no process, loop device, mount or file left" {
	local id=left-$E2E_SFX log=$E2E_T/left.log dev
	# the fake VMM keeps running until signalled, holding the rootfs loop device
	printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$E2E_T/urunc.toml"
	run cpriv_run -d --log-uri="file://$log" "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	e2e_wait 20 e2e_file_has "$log" "fakevmm: ready" || { cat "$log"; false; }
	# the container's snapshot is on a loop device of ours while it runs
	dev=$(cpriv_loops | awk '{ print $1 }')
	[ -n "$dev" ] || { losetup -l; false; }

	cpriv_stop
	[ ! -e "$CPRIV_DIR" ]
	e2e_gone "$CPRIV_PID"
	e2e_gone "$CPRIV_BLOCKSNAP_PID"
	cpriv_mntns_empty "$CPRIV_MNTNS"
	[ -z "$(e2e_cgroup_dirs "$CPRIV_NS")" ]
	e2e_wait 10 no_loops || { losetup -l; false; }
	run findmnt -rn -o TARGET,SOURCE
	[[ $output != *"$CPRIV_DIR/"* ]] || { echo "$output"; false; }
}
